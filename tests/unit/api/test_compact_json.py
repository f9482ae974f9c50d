"""``CompactJSONResponse`` and ``http_date`` (ADR 0226) give exactly what Starlette's
``JSONResponse`` and ``format_datetime(..., usegmt=True)`` give, refusals included."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.responses import JSONResponse

from lakevault.api._compact_json import CompactJSONResponse, http_date

CONTENTS: list[Any] = [
    {},
    [],
    None,
    {"key": "été/日本語/\u2028", "size": 4096, "versionId": None, "metadata": {"a": "b"}},
    {"nested": [1, 2.5, True, False, None, {"x": ["y", "z"]}], "quote": '"\\\n\t'},
    {"emoji": "\U0001f600", "control": "\x00\x1f", "big": 2**70, "neg": -0.0},
]


@pytest.mark.parametrize("content", CONTENTS)
def test_the_bytes_and_headers_are_starlette_s(content: Any) -> None:
    headers = {"ETag": '"abc"', "Content-Type": "text/plain", "x-amz-meta-owner": "ada"}
    for extra in ({}, {"headers": headers}, {"status_code": 201}, {"status_code": 204}):
        ours = CompactJSONResponse(content, **extra)
        theirs = JSONResponse(content, **extra)
        assert ours.body == theirs.body
        assert ours.raw_headers == theirs.raw_headers
        assert ours.status_code == theirs.status_code


@pytest.mark.parametrize("bad", [math.nan, math.inf, {"a": -math.inf}, {1j: 1}, object()])
def test_what_starlette_refuses_is_refused_alike(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError)) as theirs:
        JSONResponse(bad)
    with pytest.raises(type(theirs.value)):
        CompactJSONResponse(bad)


def test_http_dates_are_format_datetime_s() -> None:
    rng = random.Random(6)
    start = datetime(1, 1, 1, tzinfo=UTC)
    for _ in range(5000):
        value = start + timedelta(
            seconds=rng.randrange(0, 10**11), microseconds=rng.randrange(10**6)
        )
        assert http_date(value) == format_datetime(value, usegmt=True)
    assert http_date(datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)) == "Sun, 29 Nov 2026 01:02:03 GMT"


def test_a_date_that_is_not_utc_is_handled_by_format_datetime() -> None:
    # An equal-offset timezone object is accepted, as by format_datetime.
    same = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(0)))
    assert http_date(same) == format_datetime(same, usegmt=True)
    for value in (
        datetime(2026, 1, 2, 3, 4, 5),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1))),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=ZoneInfo("Europe/Paris")),
    ):
        with pytest.raises(ValueError, match="usegmt"):
            format_datetime(value, usegmt=True)
        with pytest.raises(ValueError, match="usegmt"):
            http_date(value)
