"""Credentials through the gate: access keys (``iam:*AccessKey*``) and STS (``sts:AssumeRole``,
``sts:GetSessionToken``).

``AssumeRole`` is decided like AWS decides it: the role's trust policy is the resource policy
of the request, the caller's identity policies take part, and a cross-tenant assumption needs
both sides to allow. ``sts:ExternalId`` and the session name reach the trust policy's
conditions; session tags need ``sts:TagSession`` as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import select

from lakevault import iam, identity
from lakevault.audit import EventResource, IdentityType, append_in
from lakevault.core.errors import (
    AccessDenied,
    InvalidParameterValue,
    NoSuchEntity,
    ValidationError,
)
from lakevault.db import models
from lakevault.directory._context import CallContext
from lakevault.directory._directory import DirectoryCore
from lakevault.directory._role_sessions import RoleSessionIssuer, role_account
from lakevault.gate import Request
from lakevault.identity import EntityKind


class CredentialOperations(RoleSessionIssuer):
    """Access keys and temporary credentials."""

    def __init__(
        self,
        *,
        session_token_max_seconds: int = identity.SESSION_TOKEN_MAX_SECONDS,
        **core: Any,
    ) -> None:
        """``session_token_max_seconds`` caps GetSessionToken's DurationSeconds (settings)."""
        super().__init__(**core)
        self.session_token_max_seconds = session_token_max_seconds

    def _user_arn(self, account_id: str, name: str) -> str:
        with self.database.read_session() as session:
            arn = session.scalar(
                select(models.User.arn).where(
                    models.User.account_id == account_id, models.User.name == name
                )
            )
        return arn if arn is not None else identity.entity_arn(account_id, EntityKind.USER, name)

    def _key_call(
        self,
        call: CallContext,
        action: str,
        account_id: str,
        user_name: str,
        operation: Any,
        *,
        read_only: bool,
        parameters: Mapping[str, Any] | None = None,
        response: Any = None,
    ) -> Any:
        return self.perform(
            call,
            action=action,
            resource=self._user_arn(account_id, user_name),
            resource_account=account_id,
            resource_type="User",
            operation=operation,
            read_only=read_only,
            parameters={"userName": user_name, **(parameters or {})},
            response=response,
        )

    def create_access_key(
        self, call: CallContext, account_id: str, user_name: str
    ) -> identity.NewAccessKey:
        """A new key; its secret is in the returned value and nowhere else, ever again."""
        self.require_unnarrowed(call, "iam:CreateAccessKey")
        created: identity.NewAccessKey = self._key_call(
            call,
            "iam:CreateAccessKey",
            account_id,
            user_name,
            lambda s: identity.create_access_key(
                s,
                account_id,
                user_name,
                root_key=self.root_key(),
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            response=lambda k: {"accessKeyId": k.key.access_key_id},
        )
        return created

    def list_access_keys(
        self, call: CallContext, account_id: str, user_name: str
    ) -> list[identity.AccessKeyInfo]:
        found: list[identity.AccessKeyInfo] = self._key_call(
            call,
            "iam:ListAccessKeys",
            account_id,
            user_name,
            lambda s: identity.list_access_keys(s, account_id, user_name),
            read_only=True,
        )
        return found

    def update_access_key(
        self,
        call: CallContext,
        account_id: str,
        user_name: str,
        key_id: str,
        status: identity.AccessKeyStatus,
    ) -> None:
        self._key_call(
            call,
            "iam:UpdateAccessKey",
            account_id,
            user_name,
            lambda s: identity.update_access_key(s, account_id, user_name, key_id, status),
            read_only=False,
            parameters={"accessKeyId": key_id, "status": status.value},
        )

    def delete_access_key(
        self, call: CallContext, account_id: str, user_name: str, key_id: str
    ) -> None:
        self._key_call(
            call,
            "iam:DeleteAccessKey",
            account_id,
            user_name,
            lambda s: identity.delete_access_key(s, account_id, user_name, key_id),
            read_only=False,
            parameters={"accessKeyId": key_id},
        )

    # --- STS ------------------------------------------------------------------------------

    def assume_role(
        self,
        call: CallContext,
        *,
        role_arn: str,
        session_name: str,
        duration_seconds: int = 3600,
        external_id: str | None = None,
        policy: str | Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        transitive_tag_keys: Sequence[str] = (),
    ) -> identity.TemporaryCredentials:
        """Temporary credentials for ``role_arn`` if its trust policy (and, across tenants,
        the caller's own policies) allow the caller to assume it.

        A caller that is itself a role session chains roles: its transitive session tags carry
        into the new session (and cannot be overridden), and the new session lasts at most one
        hour, as in AWS.
        """
        role_account(role_arn)
        caller = call.principal
        is_chained = caller.identity_type is IdentityType.ASSUMED_ROLE
        if is_chained and duration_seconds > identity.ROLE_CHAINING_MAX_DURATION_SECONDS:
            raise ValidationError(
                f"The requested DurationSeconds ({duration_seconds}) exceeds the 1 hour session "
                "limit for roles assumed by role chaining; ask for 3600 seconds or less."
            )
        requested = dict(tags or {})
        session_tags = identity.chain_session_tags(
            requested=requested,
            transitive_keys=list(transitive_tag_keys),
            inherited=caller.tags if is_chained else {},
            inherited_transitive_keys=caller.transitive_tag_keys if is_chained else (),
        )
        context: dict[str, Any] = {"sts:RoleSessionName": session_name}
        if external_id is not None:
            context["sts:ExternalId"] = external_id
        for key, value in requested.items():
            context[f"aws:RequestTag/{key}"] = value
        if requested:
            context["aws:TagKeys"] = sorted(requested)
        if transitive_tag_keys:
            context["sts:TransitiveTagKeys"] = sorted(transitive_tag_keys)
        parameters = {
            "roleArn": role_arn,
            "roleSessionName": session_name,
            "durationSeconds": duration_seconds,
            "externalIdGiven": external_id is not None,
            "transitiveTagKeys": sorted(session_tags.transitive_keys),
        }
        return self._issue_role_session(
            call,
            principal=caller,
            actions=["sts:AssumeRole"] + (["sts:TagSession"] if requested else []),
            role_arn=role_arn,
            context=context,
            parameters=parameters,
            session_name=session_name,
            source_arn=caller.arn,
            duration_seconds=duration_seconds,
            policy=identity.session_policy_text(policy),
            tags=session_tags,
        )

    def get_session_token(
        self,
        call: CallContext,
        *,
        duration_seconds: int = identity.SESSION_TOKEN_DEFAULT_SECONDS,
        serial_number: str | None = None,
        token_code: str | None = None,
    ) -> identity.SessionCredentials:
        """Temporary credentials of the calling IAM user (``sts:GetSessionToken``).

        Only a user with long-term credentials may ask (not a role session, another session
        token, or an API key). With ``serial_number`` and ``token_code`` — the ARN of the
        user's MFA device and a current code of it — the session carries
        ``aws:MultiFactorAuthPresent = true``. Like AWS, no policy needs to allow the action;
        the gate decides it with a resource policy that allows the user itself, so an explicit
        deny (or a guardrail) still stops it.
        """
        caller = call.principal
        if caller.identity_type is not IdentityType.IAM_USER or caller.is_temporary:
            raise AccessDenied(
                "GetSessionToken needs the long-term credentials of an IAM user (a password "
                "token or an access key); temporary credentials cannot ask for more"
            )
        self.require_unnarrowed(call, "sts:GetSessionToken")
        identity.check_session_token_duration(
            duration_seconds, max_seconds=self.session_token_max_seconds
        )
        parameters = {"durationSeconds": duration_seconds, "serialNumber": serial_number}
        self.gate.require(
            Request(
                principal=caller,
                action="sts:GetSessionToken",
                resource=caller.arn,
                resource_account=caller.account_id,
                resource_type="User",
                resource_policy=_self_policy(caller.arn),
                request_id=call.request_id,
                source_ip=call.source_ip,
                user_agent=call.user_agent,
                secure_transport=call.secure_transport,
                request_parameters=parameters,
            )
        )
        now = self.clock.now()
        with self.database.session() as session:
            user = session.get(models.User, caller.principal_id)
            if user is None:
                raise NoSuchEntity(f"The user with name {caller.username} cannot be found.")
            credentials = identity.create_user_session(
                session,
                user,
                serial_number=serial_number,
                token_code=token_code,
                duration_seconds=duration_seconds,
                root_key=self.root_key(),
                now=now,
                random=self.random,
            )
            append_in(
                session,
                self.events.change(
                    call,
                    action="sts:GetSessionToken",
                    resource=EventResource(
                        arn=caller.arn, account_id=caller.account_id, type="User"
                    ),
                    parameters=parameters,
                    elements={
                        "accessKeyId": credentials.access_key_id,
                        "expiration": credentials.expiration.isoformat(),
                        "mfaAuthenticated": token_code is not None,
                    },
                ),
            )
        return credentials

    def revoke_role_sessions(self, call: CallContext, account_id: str, role_name: str) -> None:
        """Every session of the role issued until now stops working."""

        def operation(session: Any) -> None:
            identity.revoke_role_sessions(
                session, identity.role_row(session, account_id, role_name), now=self.clock.now()
            )

        with self.database.read_session() as session:
            arn = session.scalar(
                select(models.Role.arn).where(
                    models.Role.account_id == account_id, models.Role.name == role_name
                )
            )
        self.perform(
            call,
            action="lakevault:RevokeRoleSessions",
            resource=arn or identity.entity_arn(account_id, EntityKind.ROLE, role_name),
            resource_account=account_id,
            resource_type="Role",
            operation=operation,
            read_only=False,
            parameters={"roleName": role_name},
        )


def api_key_arn(account_id: str, name: str) -> str:
    return f"arn:aws:lakevault::{account_id}:api-key/{name}"


class ApiKeyOperations(DirectoryCore):
    """API keys for ingestion endpoints (``lakevault:*ApiKey*``)."""

    def _api_key_call(
        self,
        call: CallContext,
        action: str,
        account_id: str,
        name: str,
        operation: Any,
        *,
        read_only: bool,
        response: Any = None,
    ) -> Any:
        return self.perform(
            call,
            action=action,
            resource=api_key_arn(account_id, name),
            resource_account=account_id,
            resource_type="ApiKey",
            operation=operation,
            read_only=read_only,
            parameters={"name": name},
            response=response,
        )

    def create_api_key(
        self,
        call: CallContext,
        account_id: str,
        *,
        name: str,
        actions: list[str],
        resources: list[str],
        source_cidrs: list[str],
        allowed_origins: list[str],
        ttl_days: int,
    ) -> identity.NewApiKey:
        """A key acting as the calling user within its scope; shown once."""
        self.require_unnarrowed(call, "lakevault:CreateApiKey")
        if call.principal.identity_type is not IdentityType.IAM_USER:
            raise InvalidParameterValue(
                "API keys act as the user who creates them; sign in as a user (not a role "
                "session or another API key) to create one"
            )
        user_name = call.principal.username or ""
        created: identity.NewApiKey = self._api_key_call(
            call,
            "lakevault:CreateApiKey",
            account_id,
            name,
            lambda s: identity.create_api_key(
                s,
                account_id=account_id,
                user_name=user_name,
                name=name,
                actions=actions,
                resources=resources,
                source_cidrs=source_cidrs,
                allowed_origins=allowed_origins,
                ttl_days=ttl_days,
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            response=lambda k: {"keyId": k.info.key_id, "expiresAt": k.info.expires_at.isoformat()},
        )
        return created

    def list_api_keys(self, call: CallContext, account_id: str) -> list[identity.ApiKeyInfo]:
        found: list[identity.ApiKeyInfo] = self._api_key_call(
            call,
            "lakevault:ListApiKeys",
            account_id,
            "*",
            lambda s: identity.list_api_keys(s, account_id),
            read_only=True,
        )
        return found

    def delete_api_key(self, call: CallContext, account_id: str, name: str) -> None:
        self._api_key_call(
            call,
            "lakevault:DeleteApiKey",
            account_id,
            name,
            lambda s: identity.delete_api_key(s, account_id, name),
            read_only=False,
        )

    def rotate_api_key(
        self, call: CallContext, account_id: str, name: str, *, new_name: str, grace_seconds: int
    ) -> identity.NewApiKey:
        self.require_unnarrowed(call, "lakevault:RotateApiKey")
        rotated: identity.NewApiKey = self._api_key_call(
            call,
            "lakevault:RotateApiKey",
            account_id,
            name,
            lambda s: identity.rotate_api_key(
                s,
                account_id,
                name,
                new_name=new_name,
                grace_seconds=grace_seconds,
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            response=lambda k: {"keyId": k.info.key_id},
        )
        return rotated


def _self_policy(user_arn: str) -> iam.Policy:
    """A resource policy that lets a user get its own session token (AWS needs no grant)."""
    return iam.parse_policy(
        orjson.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "SessionTokenOfOneself",
                        "Effect": "Allow",
                        "Principal": {"AWS": user_arn},
                        "Action": "sts:GetSessionToken",
                        "Resource": user_arn,
                    }
                ],
            }
        ).decode("utf-8"),
        kind=iam.PolicyKind.RESOURCE,
        policy_id="sts:GetSessionToken#self",
    )
