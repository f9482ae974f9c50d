"""Sign-in: ``POST /api/v1/sessions`` exchanges a password for a short-lived access token.

Every attempt, successful or not, is an audit event (CloudTrail's ``ConsoleLogin`` shape) in
the log of the account named (or the platform's, when no such account exists), without the
password. The answer to a failure is the same whichever part was wrong. Sign-in honours the
lockout and MFA rules of the user pool service (docs/user-pool.md): a user with an
authenticator sends ``mfaCode`` too, or answers the returned challenge at
``POST /api/v1/sessions/challenge``; the response also carries a refresh token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from lakevault.api._routes_user_pool import client_info
from lakevault.api._schemas_user_pool import PasswordSignIn, SignInResponse
from lakevault.runtime import Platform


def sessions_router(platform: Platform) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["sessions"])

    @router.post("/sessions", response_model=SignInResponse, summary="Sign in with a password")
    def sign_in(body: PasswordSignIn, request: Request) -> SignInResponse:
        result = platform.user_pool.sign_in(
            account_id=body.accountId,
            user_name=body.userName,
            password=body.password.get_secret_value(),
            mfa_code=body.mfaCode.get_secret_value() if body.mfaCode is not None else None,
            client=client_info(request),
        )
        return SignInResponse.of(result)

    @router.get("/.well-known/jwks.json", summary="Public keys that sign access tokens")
    def jwks() -> dict[str, Any]:
        return platform.tokens.keys.public_jwks()

    return router
