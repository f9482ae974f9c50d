from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from lakevault.core import LogFormat, configure_logging, current_request_id

_NAMES = ("lakevault", "uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    saved = {
        n: (
            logging.getLogger(n).handlers[:],
            logging.getLogger(n).level,
            logging.getLogger(n).propagate,
        )
        for n in _NAMES
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def _log_line(log_format: LogFormat, **extra: object) -> str:
    stream = io.StringIO()
    configure_logging(level="info", log_format=log_format, stream=stream)
    token = current_request_id.set("req-123")
    try:
        logging.getLogger("lakevault.test").info("hello %s", "world", extra=extra)
    finally:
        current_request_id.reset(token)
    return stream.getvalue()


def test_json_lines_carry_the_request_id_and_extras() -> None:
    entry = json.loads(_log_line(LogFormat.JSON, bucket="b1", color_message="\x1b[36mx"))
    assert entry["message"] == "hello world"
    assert entry["requestId"] == "req-123"
    assert entry["level"] == "info"
    assert entry["logger"] == "lakevault.test"
    assert entry["bucket"] == "b1"
    assert "color_message" not in entry


def test_console_lines_are_readable() -> None:
    line = _log_line(LogFormat.CONSOLE)
    assert "INFO" in line and "[req-123]" in line and line.rstrip().endswith("hello world")
