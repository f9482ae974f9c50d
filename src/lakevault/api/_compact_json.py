"""The hot routes' JSON responses and HTTP dates, the same bytes for less work (ADR 0226).

``JSONResponse.render`` calls ``json.dumps`` with non-default options, which builds a new
``JSONEncoder`` for every response; ``email.utils.format_datetime`` goes through a time tuple
and a ``%`` format. Per 4 KiB object PUT the two were ~5 % of the event loop's CPU
(docs/performance.md, "Session 6, the HTTP layer"). :class:`CompactJSONResponse` renders with
one shared encoder configured exactly as Starlette's call (so the bytes are the same), and
:func:`http_date` formats a UTC datetime as ``format_datetime(value, usegmt=True)`` does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from starlette.responses import JSONResponse

#: ``json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
#: separators=(",", ":"))`` — Starlette's JSONResponse.render — as one reusable encoder.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class CompactJSONResponse(JSONResponse):
    """A ``JSONResponse`` whose body is rendered by one shared encoder (the same bytes)."""

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("utf-8")


def http_date(value: datetime) -> str:
    """``format_datetime(value, usegmt=True)``: ``Sun, 29 Nov 2026 10:00:00 GMT`` (a
    non-UTC ``value`` is refused by ``format_datetime`` itself, as before)."""
    if value.tzinfo is not UTC:
        return format_datetime(value, usegmt=True)
    return (
        f"{_DAYS[value.weekday()]}, {value.day:02d} {_MONTHS[value.month - 1]} "
        f"{value.year:04d} {value.hour:02d}:{value.minute:02d}:{value.second:02d} GMT"
    )
