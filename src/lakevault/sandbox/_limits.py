"""Limits of one invocation, and parsing of the sizes and durations operators type.

The defaults and bounds follow the issue: a SIGKILL deadline between 1 s and 15 min (default
30 s); payload caps of 6 MB for synchronous and 1 MB for asynchronous invocations; 1,024 open
files; core dumps off.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from lakevault.sandbox._errors import InvalidSandboxRequest

MIB = 1024 * 1024

MIN_TIMEOUT_SECONDS = 1.0
MAX_TIMEOUT_SECONDS = 15 * 60.0
MIN_MEMORY_BYTES = 16 * MIB
MAX_MEMORY_BYTES = 16 * 1024 * MIB


class InvocationType(enum.Enum):
    SYNC = "sync"
    ASYNC = "async"

    @property
    def payload_limit_bytes(self) -> int:
        return 6 * 1000 * 1000 if self is InvocationType.SYNC else 1000 * 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What one sandbox may use. Every field is enforced by the kernel or the supervisor."""

    memory_bytes: int = 256 * MIB
    timeout_seconds: float = 30.0
    cpu_fraction: float = 1.0
    pids: int = 64
    open_files: int = 1024
    file_size_bytes: int = 64 * MIB
    tmp_bytes: int = 64 * MIB
    log_bytes: int = 256 * 1024
    result_bytes: int = 6 * 1000 * 1000

    def __post_init__(self) -> None:
        if not MIN_TIMEOUT_SECONDS <= self.timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise InvalidSandboxRequest(
                f"timeout must be between 1s and 15m; got {self.timeout_seconds:g}s"
            )
        if not MIN_MEMORY_BYTES <= self.memory_bytes <= MAX_MEMORY_BYTES:
            raise InvalidSandboxRequest(
                f"memory must be between 16M and 16G; got {self.memory_bytes} bytes"
            )
        if not 0.01 <= self.cpu_fraction <= 64:
            raise InvalidSandboxRequest(f"cpu must be between 0.01 and 64; got {self.cpu_fraction}")
        if self.pids < 1 or self.open_files < 16:
            raise InvalidSandboxRequest("pids must be >= 1 and open files >= 16")


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``256M``, ``1G``, ``512Mi``, ``1048576`` → bytes (K/M/G/T are powers of 1,024)."""
    match = _SIZE.match(text)
    if match is None:
        raise InvalidSandboxRequest(f"size {text!r} is not like 256M, 1G or 1048576")
    number, unit = float(match.group(1)), match.group(2).lower()
    power = " kmgt".index(unit) if unit else 0
    return int(number * 1024**power)


def parse_duration(text: str) -> float:
    """``2s``, ``500ms``, ``1m``, ``30`` (seconds) → seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidSandboxRequest(f"duration {text!r} is not like 2s, 500ms, 1m or 30")
    number, unit = float(match.group(1)), (match.group(2) or "s").lower()
    return number * {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0}[unit]
