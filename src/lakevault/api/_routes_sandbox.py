"""The sandbox API under ``/api/v1/sandbox``: the runtime's metrics.

``GET /metrics`` is decided by the gate as ``lakevault:GetSandboxMetrics`` on the platform's
sandbox runtime (an ARN in the platform account), so by default only platform administrators
may read it; reading never starts the supervisor (docs/sandbox.md, "Metrics").
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to the router factory, as an evaluated annotation.

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from lakevault.api._auth import caller_dependency
from lakevault.directory import CallContext
from lakevault.runtime import Platform


class SandboxMetrics(BaseModel):
    status: str
    """``not-started``, ``ready``, ``insecure`` or ``unavailable``."""
    detail: str
    zygotes: int
    invocations: int
    byStatus: dict[str, int]
    killsByReason: dict[str, int]
    coldStarts: int
    """Invocations that waited for a zygote to start."""
    warmStarts: int
    """Sandboxes forked from an already running zygote."""
    preparedStarts: int
    throttled: int
    medianDurationMs: float | None


def sandbox_router(platform: Platform) -> APIRouter:
    """Observing the sandbox runtime."""
    router = APIRouter(prefix="/api/v1/sandbox", tags=["sandbox"])
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    @router.get("/metrics", response_model=SandboxMetrics)
    def get_metrics(call: Caller) -> SandboxMetrics:
        """Invocations, durations, cold vs warm starts and kills by reason (platform admin)."""
        return SandboxMetrics(**platform.sandbox.metrics(call))

    return router
