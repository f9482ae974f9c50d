"""A gate sink whose deferred decisions (ADR 0230) the test commits or fails by hand.

The tests of the deferred PutObject decision need a decision that is late, or lost while the
key use is durable, on purpose. They run the real gate, key service and log, and swap only the
gate's sink for :class:`HeldDecisions`: plain appends go straight to the log, a queued
decision waits until the test calls :meth:`HeldDecision.commit` or :meth:`HeldDecision.fail`.
"""

from __future__ import annotations

import threading

from lakevault.audit import AuditEvent, DatabaseAuditLog
from lakevault.core.errors import LakevaultError, ServiceUnavailable


class HeldDecision:
    """A queued decision: written to the real log when the test lets it commit."""

    def __init__(self, log: DatabaseAuditLog, event: AuditEvent) -> None:
        self._log = log
        self.event = event
        self._done = threading.Event()
        self._error: LakevaultError | None = None

    def commit(self) -> None:
        self._log.append(self.event)
        self._done.set()

    def fail(self) -> None:
        self._error = ServiceUnavailable("the decision's transaction failed")
        self._done.set()

    def result(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise TimeoutError("not durable yet")
        if self._error is not None:
            raise self._error
        return 0


class HeldDecisions:
    """The gate's sink: appends go to the log, queued decisions wait for the test."""

    def __init__(self, log: DatabaseAuditLog) -> None:
        self._log = log
        self.queued: list[HeldDecision] = []

    def append(self, event: AuditEvent) -> int:
        return self._log.append(event)

    def submit(self, event: AuditEvent) -> HeldDecision:
        decision = HeldDecision(self._log, event)
        self.queued.append(decision)
        return decision
