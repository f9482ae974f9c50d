"""The platform's sandbox runtime: built on first use, optional, stopped with the platform.

The supervisor forks zygotes and needs namespaces, cgroups and seccomp; many machines that run
the rest of lakevault (a laptop, a container without privileges) allow none of that. So building
the platform starts nothing: the supervisor is started by the first invocation, and a host that
refuses is *reported* (``status``, shown in ``/readyz`` details and logged once), never a reason
for the platform not to start. Settings: ``sandbox_*`` (docs/configuration.md, ADR 0176).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakevault.core import PLATFORM_ACCOUNT_ID, Settings
from lakevault.core.errors import LakevaultError
from lakevault.directory import CallContext
from lakevault.gate import Gate, Request
from lakevault.sandbox import (
    ConcurrencyLimits,
    Dispatcher,
    FunctionCode,
    LayerReport,
    Limits,
    MetricsSnapshot,
    NetworkPolicy,
    Outcome,
    Supervisor,
    SupervisorSettings,
    probe_layers,
)

logger = logging.getLogger(__name__)

GET_METRICS = "lakevault:GetSandboxMetrics"
RESOURCE_TYPE = "sandbox"

MIB = 1024 * 1024


def sandbox_arn(region: str) -> str:
    """The platform's sandbox runtime as a resource (in the platform account)."""
    return f"arn:lakevault:sandbox:{region}:{PLATFORM_ACCOUNT_ID}:runtime"


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxStatus:
    """Whether sandboxed functions can run here, and why not."""

    state: str
    """``not-started`` (nothing asked for it yet), ``ready``, ``insecure`` or ``unavailable``."""
    detail: str


class SandboxRuntime:
    """One supervisor and its dispatcher for the process, made on first use. Thread-safe."""

    def __init__(
        self,
        settings: Settings,
        *,
        gate: Gate,
        probe: Callable[[], LayerReport] = probe_layers,
    ) -> None:
        self.settings = settings
        self.gate = gate
        self.probe = probe
        self.limits = Limits(
            memory_bytes=settings.sandbox_default_memory_mb * MIB,
            timeout_seconds=settings.sandbox_default_timeout_seconds,
        )
        self.concurrency = ConcurrencyLimits(
            per_function=settings.sandbox_concurrency_per_function,
            per_tenant=settings.sandbox_concurrency_per_tenant,
            queue_size=settings.sandbox_queue_size,
        )
        self._lock = threading.Lock()
        self._supervisor: Supervisor | None = None
        self._dispatcher: Dispatcher | None = None
        self._status = SandboxStatus(state="not-started", detail="no function has run yet")
        if settings.sandbox_insecure_development:
            logger.warning(
                "SANDBOX INSECURE DEVELOPMENT MODE is on (sandbox_insecure_development): "
                "functions will run even where confinement layers are missing; never use this "
                "with untrusted code"
            )

    @property
    def status(self) -> SandboxStatus:
        return self._status

    def dispatcher(self) -> Dispatcher:
        """The dispatcher, starting the supervisor now if needed.

        Raises ``SandboxUnavailable`` (naming the missing layers) when the host refuses; the
        next call tries again, so a host fixed while the platform runs is picked up.
        """
        with self._lock:
            if self._dispatcher is not None:
                return self._dispatcher
            supervisor = Supervisor(
                SupervisorSettings(
                    zygotes=self.settings.sandbox_zygotes,
                    insecure_development=self.settings.sandbox_insecure_development,
                )
            )
            try:
                supervisor.start(self.probe())
            except LakevaultError as exc:
                supervisor.close()
                self._status = SandboxStatus(state="unavailable", detail=str(exc))
                logger.error("sandboxed functions are unavailable: %s", exc)
                raise
            missing = supervisor.report.missing
            self._status = (
                SandboxStatus(
                    state="insecure",
                    detail="running WITHOUT " + ", ".join(s.layer for s in missing),
                )
                if missing
                else SandboxStatus(state="ready", detail=f"{len(supervisor.zygote_pids)} zygotes")
            )
            self._supervisor = supervisor
            self._dispatcher = Dispatcher(supervisor, self.concurrency)
            return self._dispatcher

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
    ) -> Outcome:
        """Run one invocation under the concurrency limits, with the settings' default limits
        (``sandbox_default_memory_mb``, ``sandbox_default_timeout_seconds``) unless given."""
        return self.dispatcher().invoke(
            tenant=tenant,
            function=function,
            code=code,
            event=event,
            limits=limits if limits is not None else self.limits,
            context=context,
            network_policy=network_policy,
        )

    def metrics(self, call: CallContext) -> dict[str, Any]:
        """The counters, if the gate allows ``lakevault:GetSandboxMetrics`` (platform admin).

        Reading metrics never starts the supervisor: before the first invocation they are zero.
        """
        self.gate.require(
            Request(
                principal=call.principal,
                action=GET_METRICS,
                resource=sandbox_arn(self.settings.region),
                resource_account=PLATFORM_ACCOUNT_ID,
                resource_type=RESOURCE_TYPE,
                request_id=call.request_id,
                source_ip=call.source_ip,
                user_agent=call.user_agent,
                secure_transport=call.secure_transport,
                read_only=True,
            )
        )
        supervisor = self._supervisor
        snapshot = supervisor.metrics.snapshot() if supervisor is not None else _EMPTY
        return {
            "status": self._status.state,
            "detail": self._status.detail,
            "zygotes": self.settings.sandbox_zygotes,
            "invocations": snapshot.invocations,
            "byStatus": snapshot.by_status,
            "killsByReason": snapshot.kills_by_reason,
            "coldStarts": snapshot.cold_starts,
            "warmStarts": snapshot.warm_starts,
            "preparedStarts": snapshot.prepared_starts,
            "throttled": snapshot.throttled,
            "medianDurationMs": snapshot.median_duration_ms,
        }

    def close(self) -> None:
        """Stop the zygotes (if they were ever started)."""
        with self._lock:
            if self._supervisor is not None:
                self._supervisor.close()
            self._supervisor = None
            self._dispatcher = None


_EMPTY = MetricsSnapshot(
    invocations=0,
    by_status={},
    kills_by_reason={},
    cold_starts=0,
    warm_starts=0,
    prepared_starts=0,
    throttled=0,
    median_duration_ms=None,
)
