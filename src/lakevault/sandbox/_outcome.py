"""What an invocation came to: the one JSON object ``lakevault sandbox run`` prints."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Status(enum.Enum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    KILLED = "killed"


class KillReason(enum.Enum):
    MEMORY = "memory"
    DEADLINE = "deadline"
    SIGNAL = "signal"


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The status, the handler's result or error, the captured logs and the wall time.

    ``error`` is ``None`` or ``{"type": ..., "message": ...}`` (plus ``reason`` for kills and
    ``traceback`` for exceptions the handler raised). ``logs_truncated`` tells whether the
    function wrote more than the log cap.
    """

    status: Status
    result: Any = None
    error: dict[str, Any] | None = None
    logs: str = ""
    duration_ms: float = 0.0
    logs_truncated: bool = False
    kill_reason: KillReason | None = None

    def to_json(self) -> dict[str, Any]:
        """The stable shape external checks read: exactly these five keys."""
        return {
            "status": self.status.value,
            "result": self.result,
            "error": self.error,
            "logs": self.logs,
            "duration_ms": round(self.duration_ms, 3),
        }
