"""Parsing the sizes and durations operators type, and the bounds of a limit."""

from __future__ import annotations

import pytest

from lakevault.sandbox import (
    InvalidSandboxRequest,
    InvocationType,
    Limits,
    parse_duration,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("256M", 256 << 20),
        ("1G", 1 << 30),
        ("512Mi", 512 << 20),
        ("64k", 64 << 10),
        ("1048576", 1 << 20),
    ],
)
def test_sizes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("2s", 2.0), ("500ms", 0.5), ("1m", 60.0), ("30", 30.0)]
)
def test_durations(text: str, expected: float) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1M", "1X", ""])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(InvalidSandboxRequest, match="is not like 256M"):
        parse_size(text)


@pytest.mark.parametrize("text", ["soon", "2h", "-1s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidSandboxRequest, match="is not like 2s"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timeout_seconds": 0.5}, "timeout must be between 1s and 15m; got 0.5s"),
        ({"timeout_seconds": 901}, "timeout must be between 1s and 15m; got 901s"),
        ({"memory_bytes": 1 << 20}, "memory must be between 16M and 16G"),
        ({"cpu_fraction": 0}, "cpu must be between 0.01 and 64"),
        ({"pids": 0}, "pids must be >= 1"),
    ],
)
def test_limits_out_of_bounds(fields: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidSandboxRequest, match=message.replace("(", r"\(")):
        Limits(**fields)  # type: ignore[arg-type]


def test_defaults_follow_the_issue() -> None:
    limits = Limits()
    assert limits.timeout_seconds == 30.0
    assert limits.open_files == 1024
    assert InvocationType.SYNC.payload_limit_bytes == 6_000_000
    assert InvocationType.ASYNC.payload_limit_bytes == 1_000_000
