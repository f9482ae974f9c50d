"""The directory's operations, one method per API action.

Resources are named the way AWS names them, so existing IAM policies work unchanged: an IAM
action on a user is decided against ``arn:aws:iam::ACCOUNT:user/PATH/NAME``. An entity's ARN
(with its path) is looked up before asking the gate; when the entity does not exist the ARN
without a path is used, so a caller who may not see it gets ``AccessDenied`` — never
``NoSuchEntity`` — and cannot probe other tenants for names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault import identity
from lakevault.core import PLATFORM_ACCOUNT_ID
from lakevault.db import models
from lakevault.directory._context import CallContext
from lakevault.directory._credentials import ApiKeyOperations, CredentialOperations
from lakevault.directory._directory import organization_arn, tenant_arn
from lakevault.directory._federation import FederationOperations
from lakevault.identity import EntityKind

_ROW_FOR_KIND: dict[EntityKind, type[models.User] | type[models.Group] | type[models.Role]] = {
    EntityKind.USER: models.User,
    EntityKind.GROUP: models.Group,
    EntityKind.ROLE: models.Role,
}
T = TypeVar("T")

_KIND_WORD = {EntityKind.USER: "User", EntityKind.GROUP: "Group", EntityKind.ROLE: "Role"}


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTenant:
    """A created tenant and its first administrator's one-time credentials."""

    tenant: identity.TenantInfo
    admin: identity.UserInfo
    admin_password: str

    def __repr__(self) -> str:
        return f"NewTenant(tenant={self.tenant!r}, admin={self.admin.arn!r})"


class Directory(CredentialOperations, ApiKeyOperations, FederationOperations):
    """Organizations, tenants and IAM entities, every call decided by the gate."""

    # --- lookups -------------------------------------------------------------------------

    def _entity_arn(self, kind: EntityKind, account_id: str, name: str) -> str:
        with self.database.read_session() as session:
            if kind is EntityKind.POLICY:
                return identity.entity_arn(account_id, kind, name)
            row_type = _ROW_FOR_KIND[kind]
            arn = session.scalar(
                select(row_type.arn).where(row_type.account_id == account_id, row_type.name == name)
            )
        return arn if arn is not None else identity.entity_arn(account_id, kind, name)

    # --- organizations and tenants (platform administration) ------------------------------

    def create_organization(self, call: CallContext, *, name: str) -> identity.OrganizationInfo:
        return self.perform(
            call,
            action="lakevault:CreateOrganization",
            resource=organization_arn("*"),
            resource_account=PLATFORM_ACCOUNT_ID,
            resource_type="Organization",
            operation=lambda s: identity.create_organization(
                s, name=name, now=self.clock.now(), random=self.random
            ),
            read_only=False,
            parameters={"name": name},
            response=lambda o: {"organizationId": o.organization_id},
        )

    def list_organizations(self, call: CallContext) -> list[identity.OrganizationInfo]:
        return self.perform(
            call,
            action="lakevault:ListOrganizations",
            resource=organization_arn("*"),
            resource_account=PLATFORM_ACCOUNT_ID,
            resource_type="Organization",
            operation=identity.list_organizations,
            read_only=True,
        )

    def create_tenant(
        self,
        call: CallContext,
        *,
        name: str,
        organization_id: str | None = None,
        admin_user_name: str = identity.ADMIN_USER_NAME,
    ) -> NewTenant:
        """Create a tenant with its own administrator, whose password is returned once.

        The platform operator creates tenants but holds no identity inside them: the tenant's
        administrator, not the operator, manages its users from then on.
        """
        password = identity.generate_password(self.random)

        def operation(session: Any) -> NewTenant:
            now = self.clock.now()
            tenant = identity.create_tenant(
                session, name=name, organization_id=organization_id, now=now, random=self.random
            )
            admin = identity.create_user(
                session,
                account_id=tenant.account_id,
                name=admin_user_name,
                now=now,
                random=self.random,
            )
            identity.set_user_password(session, tenant.account_id, admin.name, password)
            policy = identity.create_policy(
                session,
                account_id=tenant.account_id,
                name=identity.ADMINISTRATOR_POLICY_NAME,
                document=identity.ADMINISTRATOR_POLICY_DOCUMENT,
                description="Full access to this tenant (created with the tenant).",
                now=now,
                random=self.random,
            )
            identity.attach_policy(
                session, EntityKind.USER, tenant.account_id, admin.name, policy.arn
            )
            return NewTenant(tenant=tenant, admin=admin, admin_password=password)

        return self.perform(
            call,
            action="lakevault:CreateTenant",
            resource=tenant_arn("*"),
            resource_account=PLATFORM_ACCOUNT_ID,
            resource_type="Tenant",
            operation=operation,
            read_only=False,
            parameters={"name": name, "organizationId": organization_id},
            response=lambda t: {
                "accountId": t.tenant.account_id,
                "adminUserName": t.admin.name,
            },
        )

    def list_tenants(self, call: CallContext) -> list[identity.TenantInfo]:
        return self.perform(
            call,
            action="lakevault:ListTenants",
            resource=tenant_arn("*"),
            resource_account=PLATFORM_ACCOUNT_ID,
            resource_type="Tenant",
            operation=identity.list_tenants,
            read_only=True,
        )

    def describe_tenant(self, call: CallContext, account_id: str) -> identity.TenantInfo:
        return self.perform(
            call,
            action="lakevault:DescribeTenant",
            resource=tenant_arn(account_id),
            resource_account=PLATFORM_ACCOUNT_ID,
            resource_type="Tenant",
            operation=lambda s: identity.get_tenant(s, account_id),
            read_only=True,
        )

    def attach_guardrail(
        self, call: CallContext, *, target_kind: str, target_id: str, policy_arn: str
    ) -> None:
        resource = (
            organization_arn(target_id) if target_kind == "organization" else tenant_arn(target_id)
        )
        self.perform(
            call,
            action="lakevault:AttachGuardrail",
            resource=resource,
            resource_account=PLATFORM_ACCOUNT_ID,
            resource_type=target_kind.capitalize(),
            operation=lambda s: identity.attach_guardrail(s, target_kind, target_id, policy_arn),
            read_only=False,
            parameters={"policyArn": policy_arn},
        )

    def detach_guardrail(
        self, call: CallContext, *, target_kind: str, target_id: str, policy_arn: str
    ) -> None:
        resource = (
            organization_arn(target_id) if target_kind == "organization" else tenant_arn(target_id)
        )
        self.perform(
            call,
            action="lakevault:DetachGuardrail",
            resource=resource,
            resource_account=PLATFORM_ACCOUNT_ID,
            resource_type=target_kind.capitalize(),
            operation=lambda s: identity.detach_guardrail(s, target_kind, target_id, policy_arn),
            read_only=False,
            parameters={"policyArn": policy_arn},
        )

    # --- users and groups -------------------------------------------------------------------

    def create_user(
        self,
        call: CallContext,
        account_id: str,
        *,
        name: str,
        path: str = "/",
        tags: dict[str, str] | None = None,
    ) -> identity.UserInfo:
        return self.perform(
            call,
            action="iam:CreateUser",
            resource=identity.entity_arn(account_id, EntityKind.USER, name, path),
            resource_account=account_id,
            resource_type="User",
            operation=lambda s: identity.create_user(
                s,
                account_id=account_id,
                name=name,
                path=path,
                tags=tags,
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            parameters={"userName": name, "path": path},
            response=lambda u: {"userId": u.user_id, "arn": u.arn},
        )

    def get_user(self, call: CallContext, account_id: str, name: str) -> identity.UserInfo:
        return self._principal_call(
            call,
            "Get{kind}",
            lambda s: identity.get_user(s, account_id, name),
            kind=EntityKind.USER,
            account_id=account_id,
            name=name,
            read_only=True,
        )

    def list_users(self, call: CallContext, account_id: str) -> list[identity.UserInfo]:
        return self._list_call(call, EntityKind.USER, account_id, identity.list_users)

    def delete_user(self, call: CallContext, account_id: str, name: str) -> None:
        self._principal_call(
            call,
            "Delete{kind}",
            lambda s: identity.delete_user(s, account_id, name),
            kind=EntityKind.USER,
            account_id=account_id,
            name=name,
            read_only=False,
        )

    def set_login_password(
        self, call: CallContext, account_id: str, name: str, password: str
    ) -> None:
        """``iam:CreateLoginProfile``: give a user a password (never recorded anywhere)."""
        self.require_unnarrowed(call, "iam:CreateLoginProfile")
        self.perform(
            call,
            action="iam:CreateLoginProfile",
            resource=self._entity_arn(EntityKind.USER, account_id, name),
            resource_account=account_id,
            resource_type="User",
            operation=lambda s: identity.set_user_password(s, account_id, name, password),
            read_only=False,
            parameters={"userName": name},
        )

    def create_group(
        self, call: CallContext, account_id: str, *, name: str, path: str = "/"
    ) -> identity.GroupInfo:
        return self.perform(
            call,
            action="iam:CreateGroup",
            resource=identity.entity_arn(account_id, EntityKind.GROUP, name, path),
            resource_account=account_id,
            resource_type="Group",
            operation=lambda s: identity.create_group(
                s,
                account_id=account_id,
                name=name,
                path=path,
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            parameters={"groupName": name, "path": path},
            response=lambda g: {"groupId": g.group_id, "arn": g.arn},
        )

    def get_group(
        self, call: CallContext, account_id: str, name: str
    ) -> tuple[identity.GroupInfo, list[identity.UserInfo]]:
        return self._principal_call(
            call,
            "Get{kind}",
            lambda s: identity.get_group(s, account_id, name),
            kind=EntityKind.GROUP,
            account_id=account_id,
            name=name,
            read_only=True,
        )

    def list_groups(self, call: CallContext, account_id: str) -> list[identity.GroupInfo]:
        return self._list_call(call, EntityKind.GROUP, account_id, identity.list_groups)

    def delete_group(self, call: CallContext, account_id: str, name: str) -> None:
        self._principal_call(
            call,
            "Delete{kind}",
            lambda s: identity.delete_group(s, account_id, name),
            kind=EntityKind.GROUP,
            account_id=account_id,
            name=name,
            read_only=False,
        )

    def add_user_to_group(
        self, call: CallContext, account_id: str, *, group_name: str, user_name: str
    ) -> None:
        self.perform(
            call,
            action="iam:AddUserToGroup",
            resource=self._entity_arn(EntityKind.GROUP, account_id, group_name),
            resource_account=account_id,
            resource_type="Group",
            operation=lambda s: identity.add_user_to_group(s, account_id, group_name, user_name),
            read_only=False,
            parameters={"groupName": group_name, "userName": user_name},
        )

    def remove_user_from_group(
        self, call: CallContext, account_id: str, *, group_name: str, user_name: str
    ) -> None:
        self.perform(
            call,
            action="iam:RemoveUserFromGroup",
            resource=self._entity_arn(EntityKind.GROUP, account_id, group_name),
            resource_account=account_id,
            resource_type="Group",
            operation=lambda s: identity.remove_user_from_group(
                s, account_id, group_name, user_name
            ),
            read_only=False,
            parameters={"groupName": group_name, "userName": user_name},
        )

    # --- roles ----------------------------------------------------------------------------

    def create_role(
        self,
        call: CallContext,
        account_id: str,
        *,
        name: str,
        trust_policy: str | Mapping[str, Any],
        path: str = "/",
        description: str = "",
        max_session_duration_seconds: int = 3600,
    ) -> identity.RoleInfo:
        return self.perform(
            call,
            action="iam:CreateRole",
            resource=identity.entity_arn(account_id, EntityKind.ROLE, name, path),
            resource_account=account_id,
            resource_type="Role",
            operation=lambda s: identity.create_role(
                s,
                account_id=account_id,
                name=name,
                trust_policy=trust_policy,
                path=path,
                description=description,
                max_session_duration_seconds=max_session_duration_seconds,
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            parameters={"roleName": name, "path": path},
            response=lambda r: {"roleId": r.role_id, "arn": r.arn},
        )

    def get_role(self, call: CallContext, account_id: str, name: str) -> identity.RoleInfo:
        return self._principal_call(
            call,
            "Get{kind}",
            lambda s: identity.get_role(s, account_id, name),
            kind=EntityKind.ROLE,
            account_id=account_id,
            name=name,
            read_only=True,
        )

    def list_roles(self, call: CallContext, account_id: str) -> list[identity.RoleInfo]:
        return self._list_call(call, EntityKind.ROLE, account_id, identity.list_roles)

    def update_trust_policy(
        self, call: CallContext, account_id: str, name: str, trust_policy: str | Mapping[str, Any]
    ) -> identity.RoleInfo:
        return self.perform(
            call,
            action="iam:UpdateAssumeRolePolicy",
            resource=self._entity_arn(EntityKind.ROLE, account_id, name),
            resource_account=account_id,
            resource_type="Role",
            operation=lambda s: identity.update_trust_policy(s, account_id, name, trust_policy),
            read_only=False,
            parameters={"roleName": name},
        )

    def delete_role(self, call: CallContext, account_id: str, name: str) -> None:
        self._principal_call(
            call,
            "Delete{kind}",
            lambda s: identity.delete_role(s, account_id, name),
            kind=EntityKind.ROLE,
            account_id=account_id,
            name=name,
            read_only=False,
        )

    # --- managed policies --------------------------------------------------------------------

    def create_policy(
        self,
        call: CallContext,
        account_id: str,
        *,
        name: str,
        document: str | Mapping[str, Any],
        path: str = "/",
        description: str = "",
    ) -> identity.PolicyInfo:
        return self.perform(
            call,
            action="iam:CreatePolicy",
            resource=identity.entity_arn(account_id, EntityKind.POLICY, name, path),
            resource_account=account_id,
            resource_type="Policy",
            operation=lambda s: identity.create_policy(
                s,
                account_id=account_id,
                name=name,
                document=document,
                path=path,
                description=description,
                now=self.clock.now(),
                random=self.random,
            ),
            read_only=False,
            parameters={"policyName": name, "path": path},
            response=lambda p: {"policyId": p.policy_id, "arn": p.arn},
        )

    def _policy_call(
        self,
        call: CallContext,
        action: str,
        policy_arn: str,
        operation: Callable[[Session], T],
        *,
        read_only: bool,
        parameters: dict[str, Any] | None = None,
    ) -> T:
        account_id, _path, _name = identity.parse_policy_arn(policy_arn)
        return self.perform(
            call,
            action=action,
            resource=policy_arn,
            resource_account=account_id,
            resource_type="Policy",
            operation=operation,
            read_only=read_only,
            parameters={"policyArn": policy_arn, **(parameters or {})},
        )

    def get_policy(self, call: CallContext, policy_arn: str) -> identity.PolicyInfo:
        return self._policy_call(
            call,
            "iam:GetPolicy",
            policy_arn,
            lambda s: identity.get_policy(s, policy_arn),
            read_only=True,
        )

    def list_policies(self, call: CallContext, account_id: str) -> list[identity.PolicyInfo]:
        return self.perform(
            call,
            action="iam:ListPolicies",
            resource=f"arn:aws:iam::{account_id}:policy/*",
            resource_account=account_id,
            resource_type="Policy",
            operation=lambda s: identity.list_policies(s, account_id),
            read_only=True,
        )

    def delete_policy(self, call: CallContext, policy_arn: str) -> None:
        self._policy_call(
            call,
            "iam:DeletePolicy",
            policy_arn,
            lambda s: identity.delete_policy(s, policy_arn),
            read_only=False,
        )

    def create_policy_version(
        self,
        call: CallContext,
        policy_arn: str,
        document: str | Mapping[str, Any],
        *,
        set_as_default: bool,
    ) -> identity.PolicyVersionInfo:
        return self._policy_call(
            call,
            "iam:CreatePolicyVersion",
            policy_arn,
            lambda s: identity.create_policy_version(
                s, policy_arn, document, set_as_default=set_as_default, now=self.clock.now()
            ),
            read_only=False,
            parameters={"setAsDefault": set_as_default},
        )

    def get_policy_version(
        self, call: CallContext, policy_arn: str, version_id: str
    ) -> identity.PolicyVersionInfo:
        return self._policy_call(
            call,
            "iam:GetPolicyVersion",
            policy_arn,
            lambda s: identity.get_policy_version(s, policy_arn, version_id),
            read_only=True,
            parameters={"versionId": version_id},
        )

    def list_policy_versions(
        self, call: CallContext, policy_arn: str
    ) -> list[identity.PolicyVersionInfo]:
        return self._policy_call(
            call,
            "iam:ListPolicyVersions",
            policy_arn,
            lambda s: identity.list_policy_versions(s, policy_arn),
            read_only=True,
        )

    def set_default_policy_version(
        self, call: CallContext, policy_arn: str, version_id: str
    ) -> None:
        self._policy_call(
            call,
            "iam:SetDefaultPolicyVersion",
            policy_arn,
            lambda s: identity.set_default_policy_version(
                s, policy_arn, version_id, now=self.clock.now()
            ),
            read_only=False,
            parameters={"versionId": version_id},
        )

    def delete_policy_version(self, call: CallContext, policy_arn: str, version_id: str) -> None:
        self._policy_call(
            call,
            "iam:DeletePolicyVersion",
            policy_arn,
            lambda s: identity.delete_policy_version(s, policy_arn, version_id),
            read_only=False,
            parameters={"versionId": version_id},
        )

    # --- attachments, inline policies, boundaries (users, groups, roles) -------------------

    def _list_call(
        self,
        call: CallContext,
        kind: EntityKind,
        account_id: str,
        operation: Callable[[Session, str], T],
    ) -> T:
        """``iam:List{Users,Groups,Roles}`` on ``arn:aws:iam::ACCOUNT:{kind}/*``."""
        word = _KIND_WORD[kind]
        return self.perform(
            call,
            action=f"iam:List{word}s",
            resource=f"arn:aws:iam::{account_id}:{kind.value}/*",
            resource_account=account_id,
            resource_type=word,
            operation=lambda s: operation(s, account_id),
            read_only=True,
        )

    def _principal_call(
        self,
        call: CallContext,
        verb: str,
        operation: Callable[[Session], T],
        *,
        kind: EntityKind,
        account_id: str,
        name: str,
        read_only: bool,
        parameters: dict[str, Any] | None = None,
    ) -> T:
        word = _KIND_WORD[kind]
        return self.perform(
            call,
            action=f"iam:{verb.format(kind=word)}",
            resource=self._entity_arn(kind, account_id, name),
            resource_account=account_id,
            resource_type=word,
            operation=operation,
            read_only=read_only,
            parameters={f"{kind.value}Name": name, **(parameters or {})},
        )

    def attach_policy(
        self, call: CallContext, kind: EntityKind, account_id: str, name: str, policy_arn: str
    ) -> None:
        self._principal_call(
            call,
            "Attach{kind}Policy",
            lambda s: identity.attach_policy(s, kind, account_id, name, policy_arn),
            kind=kind,
            account_id=account_id,
            name=name,
            read_only=False,
            parameters={"policyArn": policy_arn},
        )

    def detach_policy(
        self, call: CallContext, kind: EntityKind, account_id: str, name: str, policy_arn: str
    ) -> None:
        self._principal_call(
            call,
            "Detach{kind}Policy",
            lambda s: identity.detach_policy(s, kind, account_id, name, policy_arn),
            kind=kind,
            account_id=account_id,
            name=name,
            read_only=False,
            parameters={"policyArn": policy_arn},
        )

    def list_attached_policies(
        self, call: CallContext, kind: EntityKind, account_id: str, name: str
    ) -> list[identity.PolicyInfo]:
        return self._principal_call(
            call,
            "ListAttached{kind}Policies",
            lambda s: identity.list_attached_policies(s, kind, account_id, name),
            kind=kind,
            account_id=account_id,
            name=name,
            read_only=True,
        )

    def put_inline_policy(
        self,
        call: CallContext,
        kind: EntityKind,
        account_id: str,
        name: str,
        *,
        policy_name: str,
        document: str | Mapping[str, Any],
    ) -> None:
        self._principal_call(
            call,
            "Put{kind}Policy",
            lambda s: identity.put_inline_policy(
                s,
                kind,
                account_id,
                name,
                policy_name=policy_name,
                document=document,
                now=self.clock.now(),
            ),
            kind=kind,
            account_id=account_id,
            name=name,
            read_only=False,
            parameters={"policyName": policy_name},
        )

    def get_inline_policy(
        self, call: CallContext, kind: EntityKind, account_id: str, name: str, policy_name: str
    ) -> str:
        return self._principal_call(
            call,
            "Get{kind}Policy",
            lambda s: identity.get_inline_policy(s, kind, account_id, name, policy_name),
            kind=kind,
            account_id=account_id,
            name=name,
            read_only=True,
            parameters={"policyName": policy_name},
        )

    def list_inline_policies(
        self, call: CallContext, kind: EntityKind, account_id: str, name: str
    ) -> list[str]:
        return self._principal_call(
            call,
            "List{kind}Policies",
            lambda s: identity.list_inline_policies(s, kind, account_id, name),
            kind=kind,
            account_id=account_id,
            name=name,
            read_only=True,
        )

    def delete_inline_policy(
        self, call: CallContext, kind: EntityKind, account_id: str, name: str, policy_name: str
    ) -> None:
        self._principal_call(
            call,
            "Delete{kind}Policy",
            lambda s: identity.delete_inline_policy(s, kind, account_id, name, policy_name),
            kind=kind,
            account_id=account_id,
            name=name,
            read_only=False,
            parameters={"policyName": policy_name},
        )

    def set_permissions_boundary(
        self,
        call: CallContext,
        kind: EntityKind,
        account_id: str,
        name: str,
        policy_arn: str | None,
    ) -> None:
        verb = "Put{kind}PermissionsBoundary" if policy_arn else "Delete{kind}PermissionsBoundary"
        self._principal_call(
            call,
            verb,
            lambda s: identity.set_permissions_boundary(s, kind, account_id, name, policy_arn),
            kind=kind,
            account_id=account_id,
            name=name,
            read_only=False,
            parameters={"permissionsBoundary": policy_arn} if policy_arn else None,
        )
