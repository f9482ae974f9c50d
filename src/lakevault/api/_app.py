"""The HTTP API application factory.

Routers are built by functions that receive the platform and are listed here explicitly:
nothing registers itself into a global app (STYLE.md §8).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import lakevault
from lakevault.api._direct_dispatch import install_direct_dispatch
from lakevault.api._errors import install_error_handlers
from lakevault.api._health import health_router
from lakevault.api._request_id import RequestIdMiddleware
from lakevault.api._routes_audit import audit_alarms_router, audit_router
from lakevault.api._routes_credentials import credentials_router
from lakevault.api._routes_federation import federation_router
from lakevault.api._routes_kms import kms_router
from lakevault.api._routes_policies import attachments_router, policies_router
from lakevault.api._routes_principals import principals_router, roles_router
from lakevault.api._routes_sandbox import sandbox_router
from lakevault.api._routes_secrets import secrets_router
from lakevault.api._routes_storage import buckets_router, objects_router
from lakevault.api._routes_storage_batch import batch_delete_router
from lakevault.api._routes_storage_lock import storage_lock_router
from lakevault.api._routes_storage_multipart import multipart_router
from lakevault.api._routes_storage_presign import presign_router
from lakevault.api._routes_storage_public import public_access_router
from lakevault.api._routes_tenants import tenants_router
from lakevault.api._routes_user_pool import user_pool_admin_router, user_pool_router
from lakevault.api._sessions import sessions_router
from lakevault.api._streaming import BodyLimitMiddleware
from lakevault.runtime import Platform


def create_app(platform: Platform, *, direct_dispatch: bool = True) -> FastAPI:
    """Build the API for ``platform``. The caller owns the platform and closes it.

    ``direct_dispatch=False`` leaves every request to the router (the tests compare both).
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # A serving process checkpoints SQLite's log outside the write lock (ADR 0273).
        platform.database.start_wal_checkpoints()
        yield
        platform.database.dispose()

    app = FastAPI(
        title="lakevault",
        version=lakevault.__version__,
        description="Multi-tenant data platform: datasets, keys, audit, pipelines.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # The object routes first: FastAPI tries routes in order, and a PUT of an object walked ~100
    # routes of other prefixes before its own (a tenth of a small PUT's CPU, ADR 0177). No route
    # outside these five matches a path under /api/v1/buckets/, so the order changes no match.
    for router in (
        buckets_router,
        objects_router,
        batch_delete_router,
        storage_lock_router,
        multipart_router,
    ):
        app.include_router(router(platform))
    app.include_router(health_router(platform))
    app.include_router(sessions_router(platform))
    for router in (
        tenants_router,
        principals_router,
        roles_router,
        policies_router,
        attachments_router,
        credentials_router,
        user_pool_router,
        user_pool_admin_router,
        federation_router,
        presign_router,
        public_access_router,
        kms_router,
        secrets_router,
        audit_router,
        audit_alarms_router,
        sandbox_router,
    ):
        app.include_router(router(platform))
    # The object PUT (a DirectRoute) skips the walk over the route table (ADR 0225).
    if direct_dispatch:
        install_direct_dispatch(app)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RequestIdMiddleware, random=platform.random)
    return app
