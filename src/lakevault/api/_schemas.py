"""Request and response bodies of the management API (JSON, AWS-style camelCase names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lakevault import identity


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignIn(Body):
    accountId: str = Field(pattern=r"^[0-9]{12}$", examples=["000000000000"])
    userName: str = Field(min_length=1, max_length=64)
    password: SecretStr


class Session(BaseModel):
    accessToken: str
    tokenType: str = "Bearer"
    expiresAt: datetime


class NewOrganization(Body):
    name: str


class Organization(BaseModel):
    organizationId: str
    name: str
    createdAt: datetime

    @classmethod
    def of(cls, value: identity.OrganizationInfo) -> Organization:
        return cls(
            organizationId=value.organization_id, name=value.name, createdAt=value.created_at
        )


class NewTenant(Body):
    name: str
    organizationId: str | None = None
    adminUserName: str = identity.ADMIN_USER_NAME


class Tenant(BaseModel):
    accountId: str
    name: str
    organizationId: str | None
    createdAt: datetime

    @classmethod
    def of(cls, value: identity.TenantInfo) -> Tenant:
        return cls(
            accountId=value.account_id,
            name=value.name,
            organizationId=value.organization_id,
            createdAt=value.created_at,
        )


class CreatedTenant(BaseModel):
    """The tenant and its administrator's password, which is shown in this response only."""

    tenant: Tenant
    adminUserName: str
    adminPassword: str


class PolicyReference(Body):
    policyArn: str


class NewUser(Body):
    userName: str
    path: str = "/"
    tags: dict[str, str] = Field(default_factory=dict)


class User(BaseModel):
    userId: str
    userName: str
    path: str
    arn: str
    tags: dict[str, str]
    permissionsBoundary: str | None
    createDate: datetime

    @classmethod
    def of(cls, value: identity.UserInfo) -> User:
        return cls(
            userId=value.user_id,
            userName=value.name,
            path=value.path,
            arn=value.arn,
            tags=dict(value.tags),
            permissionsBoundary=value.permissions_boundary_arn,
            createDate=value.created_at,
        )


class NewPassword(Body):
    password: SecretStr


class NewGroup(Body):
    groupName: str
    path: str = "/"


class Group(BaseModel):
    groupId: str
    groupName: str
    path: str
    arn: str
    createDate: datetime

    @classmethod
    def of(cls, value: identity.GroupInfo) -> Group:
        return cls(
            groupId=value.group_id,
            groupName=value.name,
            path=value.path,
            arn=value.arn,
            createDate=value.created_at,
        )


class GroupWithMembers(BaseModel):
    group: Group
    users: list[User]


class NewRole(Body):
    roleName: str
    assumeRolePolicyDocument: dict[str, Any] | str
    path: str = "/"
    description: str = ""
    maxSessionDuration: int = 3600


class TrustPolicy(Body):
    policyDocument: dict[str, Any] | str


class Role(BaseModel):
    roleId: str
    roleName: str
    path: str
    arn: str
    description: str
    assumeRolePolicyDocument: str
    maxSessionDuration: int
    permissionsBoundary: str | None
    createDate: datetime

    @classmethod
    def of(cls, value: identity.RoleInfo) -> Role:
        return cls(
            roleId=value.role_id,
            roleName=value.name,
            path=value.path,
            arn=value.arn,
            description=value.description,
            assumeRolePolicyDocument=value.trust_policy,
            maxSessionDuration=value.max_session_duration_seconds,
            permissionsBoundary=value.permissions_boundary_arn,
            createDate=value.created_at,
        )


class NewPolicy(Body):
    policyName: str
    policyDocument: dict[str, Any] | str
    path: str = "/"
    description: str = ""


class Policy(BaseModel):
    policyId: str
    policyName: str
    path: str
    arn: str
    description: str
    defaultVersionId: str
    createDate: datetime
    updateDate: datetime

    @classmethod
    def of(cls, value: identity.PolicyInfo) -> Policy:
        return cls(
            policyId=value.policy_id,
            policyName=value.name,
            path=value.path,
            arn=value.arn,
            description=value.description,
            defaultVersionId=value.default_version_id,
            createDate=value.created_at,
            updateDate=value.updated_at,
        )


class NewPolicyVersion(Body):
    policyDocument: dict[str, Any] | str
    setAsDefault: bool = False


class DefaultVersion(Body):
    versionId: str


class PolicyVersion(BaseModel):
    versionId: str
    document: str
    isDefaultVersion: bool
    createDate: datetime

    @classmethod
    def of(cls, value: identity.PolicyVersionInfo) -> PolicyVersion:
        return cls(
            versionId=value.version_id,
            document=value.document,
            isDefaultVersion=value.is_default,
            createDate=value.created_at,
        )


class InlinePolicy(Body):
    policyDocument: dict[str, Any] | str


class InlinePolicyDocument(BaseModel):
    policyName: str
    policyDocument: str


class AccessKey(BaseModel):
    accessKeyId: str
    userName: str
    status: str
    createDate: datetime
    lastUsedDate: datetime | None

    @classmethod
    def of(cls, value: identity.AccessKeyInfo) -> AccessKey:
        return cls(
            accessKeyId=value.access_key_id,
            userName=value.user_name,
            status=value.status.value,
            createDate=value.created_at,
            lastUsedDate=value.last_used_at,
        )


class CreatedAccessKey(AccessKey):
    """The new key with its secret, which is shown in this response only."""

    secretAccessKey: str


class AccessKeyStatusUpdate(Body):
    status: identity.AccessKeyStatus


class AssumeRole(Body):
    roleArn: str
    roleSessionName: str
    durationSeconds: int = 3600
    externalId: str | None = None
    policy: dict[str, Any] | str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    transitiveTagKeys: list[str] = Field(default_factory=list, max_length=50)


class GetSessionToken(Body):
    durationSeconds: int = 43_200
    serialNumber: str | None = Field(default=None, max_length=256)
    tokenCode: SecretStr | None = None


class SessionCredentials(BaseModel):
    """GetSessionToken's credentials: secret and session token are shown in this response only."""

    accessKeyId: str
    secretAccessKey: str
    sessionToken: str
    expiration: datetime


class Credentials(BaseModel):
    """Temporary credentials: secret and session token are shown in this response only."""

    accessKeyId: str
    secretAccessKey: str
    sessionToken: str
    expiration: datetime
    assumedRoleArn: str
    assumedRoleId: str


class CallerIdentity(BaseModel):
    account: str
    arn: str
    userId: str


class NewApiKey(Body):
    name: str
    actions: list[str]
    resources: list[str]
    sourceCidrs: list[str] = Field(default_factory=list)
    allowedOrigins: list[str] = Field(default_factory=list)
    ttlDays: int = 90


class ApiKey(BaseModel):
    keyId: str
    name: str
    userName: str
    actions: list[str]
    resources: list[str]
    sourceCidrs: list[str]
    allowedOrigins: list[str]
    createDate: datetime
    expiresAt: datetime

    @classmethod
    def of(cls, value: identity.ApiKeyInfo) -> ApiKey:
        return cls(
            keyId=value.key_id,
            name=value.name,
            userName=value.user_name,
            actions=list(value.actions),
            resources=list(value.resources),
            sourceCidrs=list(value.source_cidrs),
            allowedOrigins=list(value.allowed_origins),
            createDate=value.created_at,
            expiresAt=value.expires_at,
        )


class CreatedApiKey(ApiKey):
    """The new key; ``apiKey`` is shown in this response only."""

    apiKey: str


class RotateApiKey(Body):
    newName: str
    graceSeconds: int = 3600
