"""User pool administration through the gate: the pool, its groups, the outbox, lockouts.

Actions are Cognito's where Cognito has one (``cognito-idp:CreateUserPool``,
``cognito-idp:AdminAddUserToGroup``, ``cognito-idp:AdminUserGlobalSignOut``...) on the pool's
ARN ``arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID``; lakevault's own are
``lakevault:ListUserPoolOutbox`` (the outbox holds codes, so reading it is its own permission)
and ``lakevault:UnlockUser`` (on the user's ARN). Each is decided by the gate and recorded with
its change, like every directory operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault import identity
from lakevault.core.errors import NoSuchEntity
from lakevault.db import models
from lakevault.directory._context import CallContext
from lakevault.directory._directory import DirectoryCore
from lakevault.identity import EntityKind

T = TypeVar("T")


class UserPoolAdministration(DirectoryCore):
    """What a tenant administrator does with the tenant's user pool."""

    def __init__(self, *, default_password_policy: identity.PasswordPolicy, **core: Any) -> None:
        super().__init__(**core)
        self.default_password_policy = default_password_policy

    def _pool_arn(self, account_id: str) -> str:
        with self.database.read_session() as session:
            pool = identity.pool_for_account(session, account_id)
        return identity.user_pool_arn(self.region, account_id, pool.pool_id if pool else "*")

    def _on_pool(
        self,
        call: CallContext,
        action: str,
        account_id: str,
        operation: Callable[[Session, models.UserPool], T],
        *,
        read_only: bool,
        parameters: dict[str, Any] | None = None,
    ) -> T:
        def run(session: Session) -> T:
            pool = identity.pool_for_account(session, account_id)
            if pool is None:
                raise NoSuchEntity(
                    f"tenant {account_id} has no user pool; create one first",
                    code="ResourceNotFoundException",
                )
            return operation(session, pool)

        return self.perform(
            call,
            action=action,
            resource=self._pool_arn(account_id),
            resource_account=account_id,
            resource_type="UserPool",
            operation=run,
            read_only=read_only,
            parameters=parameters,
        )

    def create_user_pool(
        self,
        call: CallContext,
        account_id: str,
        *,
        name: str,
        mfa_configuration: identity.MFAConfiguration = identity.MFAConfiguration.OPTIONAL,
        allow_self_sign_up: bool = True,
        password_policy: identity.PasswordPolicy | None = None,
    ) -> identity.UserPoolInfo:
        policy = password_policy or self.default_password_policy
        return self.perform(
            call,
            action="cognito-idp:CreateUserPool",
            resource=identity.user_pool_arn(self.region, account_id, "*"),
            resource_account=account_id,
            resource_type="UserPool",
            operation=lambda s: identity.create_user_pool(
                s,
                account_id=account_id,
                name=name,
                region=self.region,
                password_policy=policy,
                mfa_configuration=mfa_configuration,
                allow_self_sign_up=allow_self_sign_up,
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            parameters={"poolName": name, "mfaConfiguration": mfa_configuration.value},
            response=lambda p: {"userPoolId": p.pool_id},
        )

    def describe_user_pool(self, call: CallContext, account_id: str) -> identity.UserPoolInfo:
        return self._on_pool(
            call,
            "cognito-idp:DescribeUserPool",
            account_id,
            lambda _s, pool: identity.pool_info(pool, self.region),
            read_only=True,
        )

    def update_user_pool(
        self,
        call: CallContext,
        account_id: str,
        *,
        mfa_configuration: identity.MFAConfiguration,
        allow_self_sign_up: bool,
        password_policy: identity.PasswordPolicy,
    ) -> identity.UserPoolInfo:
        return self._on_pool(
            call,
            "cognito-idp:UpdateUserPool",
            account_id,
            lambda s, pool: identity.update_user_pool(
                s,
                pool.pool_id,
                region=self.region,
                password_policy=password_policy,
                mfa_configuration=mfa_configuration,
                allow_self_sign_up=allow_self_sign_up,
                now=self.clock.now(),
            ),
            read_only=False,
            parameters={
                "mfaConfiguration": mfa_configuration.value,
                "allowSelfSignUp": allow_self_sign_up,
                "minimumLength": password_policy.min_length,
            },
        )

    def create_pool_group(
        self,
        call: CallContext,
        account_id: str,
        *,
        name: str,
        iam_group_name: str | None = None,
        mfa_required: bool = False,
    ) -> identity.UserPoolGroupInfo:
        return self._on_pool(
            call,
            "cognito-idp:CreateGroup",
            account_id,
            lambda s, pool: identity.create_pool_group(
                s,
                pool.pool_id,
                name=name,
                iam_group_name=iam_group_name,
                mfa_required=mfa_required,
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            parameters={"groupName": name, "iamGroupName": iam_group_name or name},
        )

    def list_pool_groups(
        self, call: CallContext, account_id: str
    ) -> list[identity.UserPoolGroupInfo]:
        return self._on_pool(
            call,
            "cognito-idp:ListGroups",
            account_id,
            lambda s, pool: identity.list_pool_groups(s, pool.pool_id),
            read_only=True,
        )

    def add_user_to_pool_group(
        self, call: CallContext, account_id: str, group_name: str, user_name: str
    ) -> None:
        self._membership(call, account_id, group_name, user_name, is_adding=True)

    def remove_user_from_pool_group(
        self, call: CallContext, account_id: str, group_name: str, user_name: str
    ) -> None:
        self._membership(call, account_id, group_name, user_name, is_adding=False)

    def _membership(
        self,
        call: CallContext,
        account_id: str,
        group_name: str,
        user_name: str,
        *,
        is_adding: bool,
    ) -> None:
        """Pool group membership is membership of the mapped IAM group."""

        def operation(session: Session, pool: models.UserPool) -> None:
            group = identity.pool_group_row(session, pool.pool_id, group_name)
            iam_group = session.get(models.Group, group.group_id)
            if iam_group is None:  # pragma: no cover - the foreign key cascades
                raise NoSuchEntity(f"the IAM group of pool group {group_name} is gone")
            change = identity.add_user_to_group if is_adding else identity.remove_user_from_group
            change(session, account_id, iam_group.name, user_name)

        self._on_pool(
            call,
            "cognito-idp:AdminAddUserToGroup"
            if is_adding
            else "cognito-idp:AdminRemoveUserFromGroup",
            account_id,
            operation,
            read_only=False,
            parameters={"groupName": group_name, "userName": user_name},
        )

    def admin_create_user(
        self,
        call: CallContext,
        account_id: str,
        *,
        user_name: str,
        email: str,
        temporary_password: str | None = None,
        resend: bool = False,
    ) -> identity.AdminCreatedUser:
        """A pool user created by the administrator (``cognito-idp:AdminCreateUser``), with a
        temporary password shown once in the answer (never in the audit event) that must be
        changed at the first sign-in within 7 days; ``resend`` renews it."""
        self.require_unnarrowed(call, "cognito-idp:AdminCreateUser")
        return self._on_pool(
            call,
            "cognito-idp:AdminCreateUser",
            account_id,
            lambda s, pool: identity.admin_create_member(
                s,
                pool,
                user_name=user_name,
                email=email,
                temporary_password=temporary_password,
                resend=resend,
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            parameters={
                "userName": user_name,
                "generated": temporary_password is None,
                "messageAction": "RESEND" if resend else None,
            },
        )

    def list_outbox(
        self, call: CallContext, account_id: str, *, limit: int = 100
    ) -> list[identity.MailMessage]:
        """The pool's mail as delivered by the outbox sender, codes included: the permission
        ``lakevault:ListUserPoolOutbox`` is as sensitive as reading users' mailboxes."""
        return self._on_pool(
            call,
            "lakevault:ListUserPoolOutbox",
            account_id,
            lambda s, _pool: identity.list_outbox(s, account_id, limit=limit),
            read_only=True,
        )

    # --- any user of the tenant ------------------------------------------------------------

    def _user_arn(self, account_id: str, user_name: str) -> str:
        with self.database.read_session() as session:
            arn = session.scalar(
                select(models.User.arn).where(
                    models.User.account_id == account_id, models.User.name == user_name
                )
            )
        return arn or identity.entity_arn(account_id, EntityKind.USER, user_name)

    def unlock_user(self, call: CallContext, account_id: str, user_name: str) -> None:
        """End a user's sign-in lockout at once (the administrator's recovery)."""
        self.perform(
            call,
            action="lakevault:UnlockUser",
            resource=self._user_arn(account_id, user_name),
            resource_account=account_id,
            resource_type="User",
            operation=lambda s: identity.unlock_user(
                s, identity.user_id_of(s, account_id, user_name)
            ),
            read_only=False,
            parameters={"userName": user_name},
        )

    def sign_out_user(self, call: CallContext, account_id: str, user_name: str) -> None:
        """Every access and refresh token of the user stops now (``AdminUserGlobalSignOut``)."""
        self.perform(
            call,
            action="cognito-idp:AdminUserGlobalSignOut",
            resource=self._user_arn(account_id, user_name),
            resource_account=account_id,
            resource_type="User",
            operation=lambda s: identity.sign_out_everywhere(
                s, identity.user_id_of(s, account_id, user_name), now=self.clock.now()
            ),
            read_only=False,
            parameters={"userName": user_name},
        )
