"""Structured logging with request ids, on the standard library.

Every record becomes one JSON object per line (``log_format = "json"``, the default) or a
readable line (``"console"``). The request id of the request being served travels in a
:class:`contextvars.ContextVar`, so code deep in the stack logs it without being passed it.

Never log secrets: callers name the field, not the value. Bootstrap credentials are printed to
the terminal by the CLI and never pass through here.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

import orjson

#: The id of the request currently being served, or ``None`` outside a request.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "lakevault_request_id", default=None
)

#: Record attributes that are not extras; ``color_message`` is uvicorn's ANSI-coloured copy.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}
)


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class JSONFormatter(logging.Formatter):
    """Formats a record as one JSON line with time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            entry["requestId"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode("utf-8")


class ConsoleFormatter(logging.Formatter):
    """A human-readable line: ``time level logger [request id] message``."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = current_request_id.get()
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        prefix = f"{stamp} {record.levelname:<7} {record.name}"
        if request_id is not None:
            prefix += f" [{request_id}]"
        line = f"{prefix} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(
    *, level: str = "info", log_format: LogFormat = LogFormat.JSON, stream: TextIO | None = None
) -> None:
    """Send lakevault's and uvicorn's logs to ``stream`` (stderr by default) in one format."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    formatter: logging.Formatter = (
        JSONFormatter() if log_format is LogFormat.JSON else ConsoleFormatter()
    )
    handler.setFormatter(formatter)
    for name in ("lakevault", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
