"""Liveness and readiness.

``/healthz`` answers while the process serves HTTP at all (for restarts by a supervisor);
``/readyz`` answers 200 only when the metadata database is reachable and at this code's schema
(for load balancers), and otherwise the usual error shape with status 503.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from lakevault.core.errors import LakevaultError, ServiceUnavailable
from lakevault.runtime import Platform


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schemaRevision: str
    sandbox: str
    """Sandboxed functions: ``not-started``, ``ready``, ``insecure: ...`` or ``unavailable: ...``.
    Informational: a host without sandbox support is still ready for everything else."""


def health_router(platform: Platform) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health, summary="Liveness")
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        response_model=Readiness,
        summary="Readiness: database reachable and migrated",
        responses={503: {"description": "not ready; the error says why"}},
    )
    async def readyz() -> Readiness:
        try:
            revision = await run_in_threadpool(platform.check_ready)
        except LakevaultError as exc:
            raise ServiceUnavailable(f"not ready: {exc.message}") from exc
        sandbox = platform.sandbox.status
        return Readiness(
            status="ready",
            database=platform.database.dialect,
            schemaRevision=revision,
            sandbox=sandbox.state
            if sandbox.state in {"not-started", "ready"}
            else f"{sandbox.state}: {sandbox.detail}",
        )

    return router
