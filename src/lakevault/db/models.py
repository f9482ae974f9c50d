"""Every table of the metadata store, one namespace: ``from lakevault.db import models``.

Tables live in one module per concept (``_models.py`` for tenants, identities and the audit
log; further capabilities add ``_models_<concept>.py``), all on the same ``Base`` so that one
Alembic migration tree covers them. Add a new module's names here.
"""

from lakevault.db._models import (
    AuditEvent,
    AuditHead,
    Base,
    PlatformState,
    Policy,
    PolicyVersion,
    Tenant,
    User,
    UserPolicyAttachment,
)
from lakevault.db._models_alarms import (
    AuditAlarmCount,
    AuditAlarmCursor,
    AuditAlarmDelivery,
    AuditAlarmState,
    AuditAlarmSubscription,
    AuditLogPolicy,
)
from lakevault.db._models_audit import AuditCheckpoint
from lakevault.db._models_audit_export import AuditBucketExport
from lakevault.db._models_federation import OIDCProvider, OIDCSignIn
from lakevault.db._models_identity import (
    AccessKey,
    ApiKey,
    Group,
    GroupMembership,
    GroupPolicyAttachment,
    GuardrailAttachment,
    InlinePolicy,
    Organization,
    Role,
    RolePolicyAttachment,
    RoleSession,
)
from lakevault.db._models_jobs import Job, JobEffect, JobFailure, JobIdempotencyKey
from lakevault.db._models_key_agent import PlatformRootKeyCheck, TenantKeyAgent
from lakevault.db._models_key_generation import KeyGeneration
from lakevault.db._models_keys import (
    KMSAlias,
    KMSGrant,
    KMSKey,
    KMSKeyTag,
    KMSKeyTombstone,
    KMSKeyVersion,
    KMSRewrapProgress,
)
from lakevault.db._models_policy_generation import PolicyGeneration
from lakevault.db._models_presign import BucketLimits, OrganizationPublicBuckets, PresignedUrl
from lakevault.db._models_rate_limits import RateLimitCounter, RateLimitEntry
from lakevault.db._models_secret_functions import SecretRotationFunction
from lakevault.db._models_secrets import Secret, SecretVersion, SecretVersionStage
from lakevault.db._models_storage import BlobJournal, Bucket, InlineObjectData, ObjectVersion
from lakevault.db._models_storage_generation import StorageGeneration
from lakevault.db._models_storage_lock import BucketLifecycle, BucketObjectLock, ObjectVersionLock
from lakevault.db._models_storage_multipart import MultipartPart, MultipartUpload
from lakevault.db._models_sts import UserSession
from lakevault.db._models_user_pool import (
    RefreshToken,
    SignInChallenge,
    UserMFADevice,
    UserPool,
    UserPoolCode,
    UserPoolGroup,
    UserPoolMail,
    UserPoolMember,
    UserSignInState,
)

__all__ = [
    "AccessKey",
    "ApiKey",
    "AuditAlarmCount",
    "AuditAlarmCursor",
    "AuditAlarmDelivery",
    "AuditAlarmState",
    "AuditAlarmSubscription",
    "AuditBucketExport",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "AuditLogPolicy",
    "Base",
    "BlobJournal",
    "Bucket",
    "BucketLifecycle",
    "BucketLimits",
    "BucketObjectLock",
    "Group",
    "GroupMembership",
    "GroupPolicyAttachment",
    "GuardrailAttachment",
    "InlineObjectData",
    "InlinePolicy",
    "Job",
    "JobEffect",
    "JobFailure",
    "JobIdempotencyKey",
    "KMSAlias",
    "KMSGrant",
    "KMSKey",
    "KMSKeyTag",
    "KMSKeyTombstone",
    "KMSKeyVersion",
    "KMSRewrapProgress",
    "KeyGeneration",
    "MultipartPart",
    "MultipartUpload",
    "OIDCProvider",
    "OIDCSignIn",
    "ObjectVersion",
    "ObjectVersionLock",
    "Organization",
    "OrganizationPublicBuckets",
    "PlatformRootKeyCheck",
    "PlatformState",
    "Policy",
    "PolicyGeneration",
    "PolicyVersion",
    "PresignedUrl",
    "RateLimitCounter",
    "RateLimitEntry",
    "RefreshToken",
    "Role",
    "RolePolicyAttachment",
    "RoleSession",
    "Secret",
    "SecretRotationFunction",
    "SecretVersion",
    "SecretVersionStage",
    "SignInChallenge",
    "StorageGeneration",
    "Tenant",
    "TenantKeyAgent",
    "User",
    "UserMFADevice",
    "UserPolicyAttachment",
    "UserPool",
    "UserPoolCode",
    "UserPoolGroup",
    "UserPoolMail",
    "UserPoolMember",
    "UserSession",
    "UserSignInState",
]
