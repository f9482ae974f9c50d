"""Concurrency limits per function and per tenant, with a bounded queue (backpressure).

An invocation runs at once when its function and its tenant are both under their limits;
otherwise it waits in a queue of bounded size for at most ``queue_timeout_seconds``. When the
queue is full, or the wait times out, the caller gets :class:`SandboxBusy` (HTTP 429,
``TooManyRequestsException``) right away instead of piling up work the host cannot do. The
supervisor's slots bound the total on top of this.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lakevault.sandbox._errors import InvalidSandboxRequest, SandboxBusy
from lakevault.sandbox._limits import InvocationType, Limits
from lakevault.sandbox._network import Endpoint, NetworkPolicy
from lakevault.sandbox._outcome import Outcome
from lakevault.sandbox._supervisor import FunctionCode, Supervisor


@dataclass(frozen=True, slots=True, kw_only=True)
class ConcurrencyLimits:
    """How many invocations may run at once per function and per tenant, and how many wait."""

    per_function: int = 4
    per_tenant: int = 8
    queue_size: int = 32
    queue_timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.per_function < 1 or self.per_tenant < 1 or self.queue_size < 0:
            raise InvalidSandboxRequest(
                "concurrency limits must be >= 1 (per function and tenant) and the queue >= 0"
            )


class Dispatcher:
    """Admits invocations to a :class:`Supervisor` under :class:`ConcurrencyLimits`."""

    def __init__(self, supervisor: Supervisor, limits: ConcurrencyLimits | None = None) -> None:
        self.supervisor = supervisor
        self.limits = limits or ConcurrencyLimits()
        self._condition = threading.Condition()
        self._running_by_function: Counter[tuple[str, str]] = Counter()
        self._running_by_tenant: Counter[str] = Counter()
        self._waiting = 0

    def _has_room(self, tenant: str, function: str) -> bool:
        return (
            self._running_by_function[(tenant, function)] < self.limits.per_function
            and self._running_by_tenant[tenant] < self.limits.per_tenant
        )

    def _admit(self, tenant: str, function: str) -> None:
        with self._condition:
            if not self._has_room(tenant, function):
                if self._waiting >= self.limits.queue_size:
                    self.supervisor.metrics.record_throttled()
                    raise SandboxBusy(
                        f"function {function!r} of tenant {tenant} is at its concurrency limit "
                        f"and the queue is full ({self.limits.queue_size}); retry with backoff"
                    )
                self._waiting += 1
                deadline = time.monotonic() + self.limits.queue_timeout_seconds
                try:
                    admitted = self._condition.wait_for(
                        lambda: self._has_room(tenant, function),
                        timeout=max(0.0, deadline - time.monotonic()),
                    )
                finally:
                    self._waiting -= 1
                if not admitted:
                    self.supervisor.metrics.record_throttled()
                    raise SandboxBusy(
                        f"function {function!r} of tenant {tenant} waited "
                        f"{self.limits.queue_timeout_seconds:g}s for a free slot; retry later"
                    )
            self._running_by_function[(tenant, function)] += 1
            self._running_by_tenant[tenant] += 1

    def _release(self, tenant: str, function: str) -> None:
        with self._condition:
            self._running_by_function[(tenant, function)] -= 1
            self._running_by_tenant[tenant] -= 1
            self._condition.notify_all()

    @property
    def waiting(self) -> int:
        with self._condition:
            return self._waiting

    def invoke(
        self,
        *,
        tenant: str,
        function: str,
        code: FunctionCode,
        event: Any,
        limits: Limits | None = None,
        context: dict[str, Any] | None = None,
        network_policy: NetworkPolicy | None = None,
        invocation_type: InvocationType = InvocationType.SYNC,
        endpoints: Sequence[Endpoint] = (),
    ) -> Outcome:
        """Wait for room (bounded), then run the invocation; raises :class:`SandboxBusy`."""
        self._admit(tenant, function)
        try:
            return self.supervisor.invoke(
                code,
                event,
                limits=limits,
                context=context,
                network_policy=network_policy,
                invocation_type=invocation_type,
                endpoints=endpoints,
            )
        finally:
            self._release(tenant, function)
