"""Sign-in: ``POST /api/v1/sessions`` exchanges a password for a short-lived access token.

Every attempt, successful or not, is an audit event (CloudTrail's ``ConsoleLogin`` shape) in
the log of the account named (or the platform's, when no such account exists), without the
password. The answer to a failure is the same whichever part was wrong.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from lakevault import identity
from lakevault.api._schemas import Session, SignIn
from lakevault.audit import AuditEvent, IdentityType, UserIdentity
from lakevault.core import PLATFORM_ACCOUNT_ID, new_request_id
from lakevault.core.errors import AccessDenied
from lakevault.db import models
from lakevault.runtime import Platform


def sessions_router(platform: Platform) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["sessions"])

    @router.post("/sessions", response_model=Session, summary="Sign in with a password")
    def sign_in(body: SignIn, request: Request) -> Session:
        try:
            principal = identity.authenticate_password(
                platform.database,
                account_id=body.accountId,
                user_name=body.userName,
                password=body.password.get_secret_value(),
            )
        except AccessDenied:
            _record(platform, request, body, succeeded=False)
            raise
        issued = platform.tokens.issue(principal)
        _record(platform, request, body, succeeded=True)
        return Session(accessToken=issued.token, expiresAt=issued.expires_at)

    @router.get("/.well-known/jwks.json", summary="Public keys that sign access tokens")
    def jwks() -> dict[str, Any]:
        return platform.tokens.keys.public_jwks()

    return router


def _record(platform: Platform, request: Request, body: SignIn, *, succeeded: bool) -> None:
    with platform.database.read_session() as session:
        known = session.get(models.Tenant, body.accountId) is not None
    account = body.accountId if known else PLATFORM_ACCOUNT_ID
    platform.audit.append(
        AuditEvent(
            event_id=new_request_id(platform.random),
            event_time=platform.clock.now(),
            event_source="signin.amazonaws.com",
            event_name="ConsoleLogin",
            region=platform.settings.region,
            source_ip_address=request.client.host if request.client is not None else None,
            user_agent=request.headers.get("user-agent"),
            user_identity=UserIdentity(
                type=IdentityType.IAM_USER,
                principal_id="",
                arn=f"arn:aws:iam::{body.accountId}:user/{body.userName}",
                account_id=body.accountId,
            ),
            request_id=str(request.scope.get("state", {}).get("request_id", "")),
            read_only=False,
            recipient_account_id=account,
            response_elements={"ConsoleLogin": "Success" if succeeded else "Failure"},
            error_code=None if succeeded else AccessDenied.code,
            error_message=None if succeeded else "sign-in failed",
        )
    )
