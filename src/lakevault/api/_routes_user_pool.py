"""The user pool over HTTP: the public flows, the signed-in user's self-service, and the
administrator's operations.

* Public (no credentials, like Cognito's unauthenticated APIs), under
  ``/api/v1/user-pools/{pool_id}/``: sign-up, confirmation, sign-in, password reset; and under
  ``/api/v1/sessions/``: answering an MFA challenge, refreshing, revoking a refresh token.
* Self-service with the user's own access token: associating and verifying an authenticator,
  signing out everywhere.
* Administration (decided by the gate): ``/api/v1/tenants/{account}/user-pool...`` and
  ``/api/v1/tenants/{account}/users/{name}/unlock|sign-out``.

Handlers are plain functions, so FastAPI runs them in its thread pool: argon2 and database work
never block the event loop.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to each router factory, as an evaluated annotation.

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from lakevault import identity
from lakevault.api import _schemas_user_pool as schemas
from lakevault.api._auth import caller_dependency
from lakevault.directory import CallContext
from lakevault.runtime import Platform


def client_info(request: Request) -> identity.ClientInfo:
    """The request's address, user agent and id, for rate limits and audit events."""
    return identity.ClientInfo(
        source_ip=request.client.host if request.client is not None else None,
        user_agent=request.headers.get("user-agent"),
        request_id=str(request.scope.get("state", {}).get("request_id", "")),
    )


def _client_of(call: CallContext) -> identity.ClientInfo:
    return identity.ClientInfo(
        source_ip=call.source_ip, user_agent=call.user_agent, request_id=call.request_id
    )


def user_pool_router(platform: Platform) -> APIRouter:
    """Sign-up, confirmation, sign-in, reset, challenges, refresh and self-service."""
    router = APIRouter(prefix="/api/v1", tags=["user pool"])
    pool = platform.user_pool
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]
    base = "/user-pools/{pool_id}"

    @router.post(base + "/sign-up", response_model=schemas.CodeDeliveryDetails)
    def sign_up(
        pool_id: str, body: schemas.SignUp, request: Request
    ) -> schemas.CodeDeliveryDetails:
        delivery = pool.sign_up(
            pool_id=pool_id,
            user_name=body.userName,
            password=body.password.get_secret_value(),
            email=body.email,
            client=client_info(request),
        )
        return schemas.CodeDeliveryDetails.of(delivery)

    @router.post(base + "/confirm-sign-up", status_code=204)
    def confirm_sign_up(pool_id: str, body: schemas.ConfirmSignUp, request: Request) -> Response:
        pool.confirm_sign_up(
            pool_id=pool_id,
            user_name=body.userName,
            code=body.code.get_secret_value(),
            client=client_info(request),
        )
        return Response(status_code=204)

    @router.post(base + "/resend-confirmation-code", response_model=schemas.CodeDeliveryDetails)
    def resend_code(
        pool_id: str, body: schemas.UserNameOnly, request: Request
    ) -> schemas.CodeDeliveryDetails:
        delivery = pool.resend_confirmation_code(
            pool_id=pool_id, user_name=body.userName, client=client_info(request)
        )
        return schemas.CodeDeliveryDetails.of(delivery)

    @router.post(base + "/sign-in", response_model=schemas.SignInResponse)
    def sign_in(pool_id: str, body: schemas.PoolSignIn, request: Request) -> schemas.SignInResponse:
        result = pool.pool_sign_in(
            pool_id=pool_id,
            user_name=body.userName,
            password=body.password.get_secret_value(),
            mfa_code=body.mfaCode.get_secret_value() if body.mfaCode is not None else None,
            client=client_info(request),
        )
        return schemas.SignInResponse.of(result)

    @router.post(base + "/forgot-password", response_model=schemas.CodeDeliveryDetails)
    def forgot_password(
        pool_id: str, body: schemas.UserNameOnly, request: Request
    ) -> schemas.CodeDeliveryDetails:
        delivery = pool.forgot_password(
            pool_id=pool_id, user_name=body.userName, client=client_info(request)
        )
        return schemas.CodeDeliveryDetails.of(delivery)

    @router.post(base + "/confirm-forgot-password", status_code=204)
    def confirm_forgot_password(
        pool_id: str, body: schemas.ConfirmForgotPassword, request: Request
    ) -> Response:
        pool.confirm_forgot_password(
            pool_id=pool_id,
            user_name=body.userName,
            code=body.code.get_secret_value(),
            new_password=body.newPassword.get_secret_value(),
            client=client_info(request),
        )
        return Response(status_code=204)

    @router.post("/sessions/challenge", response_model=schemas.SignInResponse)
    def respond_to_challenge(
        body: schemas.ChallengeAnswer, request: Request
    ) -> schemas.SignInResponse:
        result = pool.respond_to_challenge(
            session_token=body.session.get_secret_value(),
            mfa_code=body.mfaCode.get_secret_value() if body.mfaCode is not None else None,
            new_password=body.newPassword.get_secret_value()
            if body.newPassword is not None
            else None,
            client=client_info(request),
        )
        return schemas.SignInResponse.of(result)

    @router.post("/sessions/refresh", response_model=schemas.SignInResponse)
    def refresh(body: schemas.RefreshRequest, request: Request) -> schemas.SignInResponse:
        result = pool.refresh(
            refresh_token=body.refreshToken.get_secret_value(), client=client_info(request)
        )
        return schemas.SignInResponse.of(result)

    @router.post("/sessions/revoke", status_code=204)
    def revoke(body: schemas.RefreshRequest, request: Request) -> Response:
        pool.revoke_token(
            refresh_token=body.refreshToken.get_secret_value(), client=client_info(request)
        )
        return Response(status_code=204)

    @router.post("/sessions/mfa/associate", response_model=schemas.SoftwareToken)
    def associate(body: schemas.AssociateSoftwareToken, call: Caller) -> schemas.SoftwareToken:
        enrollment = pool.associate_software_token(
            session_token=body.session.get_secret_value() if body.session is not None else None,
            principal=None if call.principal.is_anonymous else call.principal,
            client=_client_of(call),
        )
        return schemas.SoftwareToken(
            secretCode=enrollment.secret, otpauthUri=enrollment.provisioning_uri
        )

    @router.post("/sessions/mfa/verify", status_code=204)
    def verify(body: schemas.VerifySoftwareToken, call: Caller) -> Response:
        pool.verify_software_token(
            principal=call.principal,
            mfa_code=body.mfaCode.get_secret_value(),
            client=_client_of(call),
        )
        return Response(status_code=204)

    @router.post("/sessions/sign-out-everywhere", status_code=204)
    def sign_out_everywhere(call: Caller) -> Response:
        pool.global_sign_out(principal=call.principal, client=_client_of(call))
        return Response(status_code=204)

    return router


def user_pool_admin_router(platform: Platform) -> APIRouter:
    """The tenant administrator's side: the pool, its groups, the outbox, lockouts."""
    router = APIRouter(prefix="/api/v1/tenants/{account_id}", tags=["user pool"])
    admin = platform.user_pool_admin
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    @router.post("/user-pool", status_code=201, response_model=schemas.UserPool)
    def create_pool(account_id: str, body: schemas.NewUserPool, call: Caller) -> schemas.UserPool:
        created = admin.create_user_pool(
            call,
            account_id,
            name=body.poolName,
            mfa_configuration=body.mfaConfiguration,
            allow_self_sign_up=body.allowSelfSignUp,
            password_policy=body.passwordPolicy.value() if body.passwordPolicy else None,
        )
        return schemas.UserPool.of(created)

    @router.get("/user-pool", response_model=schemas.UserPool)
    def describe_pool(account_id: str, call: Caller) -> schemas.UserPool:
        return schemas.UserPool.of(admin.describe_user_pool(call, account_id))

    @router.put("/user-pool", response_model=schemas.UserPool)
    def update_pool(
        account_id: str, body: schemas.UserPoolUpdate, call: Caller
    ) -> schemas.UserPool:
        updated = admin.update_user_pool(
            call,
            account_id,
            mfa_configuration=body.mfaConfiguration,
            allow_self_sign_up=body.allowSelfSignUp,
            password_policy=body.passwordPolicy.value(),
        )
        return schemas.UserPool.of(updated)

    @router.post("/user-pool/groups", status_code=201, response_model=schemas.PoolGroup)
    def create_group(
        account_id: str, body: schemas.NewPoolGroup, call: Caller
    ) -> schemas.PoolGroup:
        created = admin.create_pool_group(
            call,
            account_id,
            name=body.groupName,
            iam_group_name=body.iamGroupName,
            mfa_required=body.mfaRequired,
        )
        return schemas.PoolGroup.of(created)

    @router.get("/user-pool/groups", response_model=list[schemas.PoolGroup])
    def list_groups(account_id: str, call: Caller) -> list[schemas.PoolGroup]:
        return [schemas.PoolGroup.of(g) for g in admin.list_pool_groups(call, account_id)]

    @router.put("/user-pool/groups/{group_name}/members/{user_name}", status_code=204)
    def add_member(account_id: str, group_name: str, user_name: str, call: Caller) -> Response:
        admin.add_user_to_pool_group(call, account_id, group_name, user_name)
        return Response(status_code=204)

    @router.delete("/user-pool/groups/{group_name}/members/{user_name}", status_code=204)
    def remove_member(account_id: str, group_name: str, user_name: str, call: Caller) -> Response:
        admin.remove_user_from_pool_group(call, account_id, group_name, user_name)
        return Response(status_code=204)

    @router.post("/user-pool/users", status_code=201, response_model=schemas.AdminCreatedUser)
    def admin_create_user(
        account_id: str, body: schemas.AdminCreateUser, call: Caller
    ) -> schemas.AdminCreatedUser:
        """Create a pool user with a temporary password (shown in this answer only)."""
        created = admin.admin_create_user(
            call,
            account_id,
            user_name=body.userName,
            email=body.email,
            temporary_password=body.temporaryPassword.get_secret_value()
            if body.temporaryPassword is not None
            else None,
            resend=body.messageAction == "RESEND",
        )
        return schemas.AdminCreatedUser.of(created)

    @router.get("/user-pool/outbox", response_model=list[schemas.OutboxMessage])
    def outbox(
        account_id: str, call: Caller, limit: int = Query(100, ge=1, le=1000)
    ) -> list[schemas.OutboxMessage]:
        return [
            schemas.OutboxMessage.of(m) for m in admin.list_outbox(call, account_id, limit=limit)
        ]

    @router.post("/users/{user_name}/unlock", status_code=204)
    def unlock(account_id: str, user_name: str, call: Caller) -> Response:
        admin.unlock_user(call, account_id, user_name)
        return Response(status_code=204)

    @router.post("/users/{user_name}/sign-out", status_code=204)
    def sign_out(account_id: str, user_name: str, call: Caller) -> Response:
        admin.sign_out_user(call, account_id, user_name)
        return Response(status_code=204)

    return router
