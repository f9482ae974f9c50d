"""Request and response bodies of the KMS API (``/api/v1/kms``): AWS KMS's fields, camelCase.

Binary values (plaintext, ciphertext blobs) travel as base64, as in AWS KMS's JSON API.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from lakevault import keys
from lakevault.core.errors import InvalidParameterValue


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def decode_base64(value: str, *, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameterValue(f"{field} must be base64") from exc


def encode_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


class KeyMetadata(BaseModel):
    keyId: str
    arn: str
    awsAccountId: str
    description: str
    keyState: str
    enabled: bool
    creationDate: datetime
    keyUsage: str = "ENCRYPT_DECRYPT"
    keySpec: str = "SYMMETRIC_DEFAULT"
    origin: str = "AWS_KMS"
    keyManager: str
    currentKeyVersion: int
    keyRotationEnabled: bool
    rotationPeriodInDays: int
    nextRotationDate: datetime | None
    deletionDate: datetime | None

    @classmethod
    def of(cls, meta: keys.KeyMetadata) -> KeyMetadata:
        return cls(
            keyId=meta.key_id,
            arn=meta.arn,
            awsAccountId=meta.account_id,
            description=meta.description,
            keyState=meta.state.value,
            enabled=meta.is_enabled,
            creationDate=meta.creation_date,
            keyManager="AWS" if meta.is_service_key else "CUSTOMER",
            currentKeyVersion=meta.current_version,
            keyRotationEnabled=meta.rotation_enabled,
            rotationPeriodInDays=meta.rotation_period_days,
            nextRotationDate=meta.next_rotation_date,
            deletionDate=meta.deletion_date,
        )


class KeyMetadataResponse(BaseModel):
    keyMetadata: KeyMetadata


class NewKey(Body):
    description: str = Field(default="", max_length=8192)
    policy: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    bypassPolicyLockoutSafetyCheck: bool = False


class KeyRef(Body):
    keyId: str = Field(min_length=1, max_length=2048)


class ScheduleDeletion(KeyRef):
    pendingWindowInDays: int = 30


class EnableRotation(KeyRef):
    rotationPeriodInDays: int = 365


class EncryptRequest(KeyRef):
    plaintext: str
    encryptionContext: dict[str, str] = Field(default_factory=dict)
    grantTokens: list[str] = Field(default_factory=list, max_length=10)


class CiphertextResponse(BaseModel):
    ciphertextBlob: str
    keyId: str
    keyVersion: int
    encryptionAlgorithm: str = "SYMMETRIC_DEFAULT"


class DecryptRequest(Body):
    ciphertextBlob: str
    encryptionContext: dict[str, str] = Field(default_factory=dict)
    keyId: str | None = None
    grantTokens: list[str] = Field(default_factory=list, max_length=10)


class DecryptResponse(BaseModel):
    plaintext: str
    keyId: str
    keyVersion: int
    encryptionAlgorithm: str = "SYMMETRIC_DEFAULT"


class ReEncryptRequest(Body):
    ciphertextBlob: str
    sourceEncryptionContext: dict[str, str] = Field(default_factory=dict)
    destinationKeyId: str
    destinationEncryptionContext: dict[str, str] = Field(default_factory=dict)
    grantTokens: list[str] = Field(default_factory=list, max_length=10)


class GenerateDataKeyRequest(KeyRef):
    numberOfBytes: int = 32
    encryptionContext: dict[str, str] = Field(default_factory=dict)
    grantTokens: list[str] = Field(default_factory=list, max_length=10)


class GenerateDataKeyResponse(BaseModel):
    ciphertextBlob: str
    plaintext: str | None = None
    keyId: str
    keyVersion: int


class KeyPolicy(KeyRef):
    policy: str
    bypassPolicyLockoutSafetyCheck: bool = False


class KeyPolicyResponse(BaseModel):
    policy: str


class NewAlias(Body):
    aliasName: str
    targetKeyId: str


class KeyVersion(BaseModel):
    keyId: str
    keyVersion: int
    rotationDate: datetime

    @classmethod
    def of(cls, version: keys.KeyVersion) -> KeyVersion:
        return cls(
            keyId=version.key_id, keyVersion=version.version, rotationDate=version.created_at
        )


class AliasRef(Body):
    aliasName: str


class Alias(BaseModel):
    aliasName: str
    aliasArn: str
    targetKeyId: str
    creationDate: datetime

    @classmethod
    def of(cls, alias: keys.Alias) -> Alias:
        return cls(
            aliasName=alias.alias_name,
            aliasArn=alias.alias_arn,
            targetKeyId=alias.target_key_id,
            creationDate=alias.creation_date,
        )


class TagRequest(KeyRef):
    tags: dict[str, str]


class UntagRequest(KeyRef):
    tagKeys: list[str]


class TagsResponse(BaseModel):
    tags: dict[str, str]


class GrantConstraints(Body):
    encryptionContextEquals: dict[str, str] | None = None
    encryptionContextSubset: dict[str, str] | None = None


class NewGrant(KeyRef):
    granteePrincipal: str
    operations: list[str]
    constraints: GrantConstraints | None = None
    retiringPrincipal: str | None = None
    name: str | None = None


class Grant(BaseModel):
    grantId: str
    keyId: str
    name: str | None
    granteePrincipal: str
    retiringPrincipal: str | None
    operations: list[str]
    constraints: GrantConstraints | None
    issuingAccount: str
    creationDate: datetime
    grantToken: str | None = None
    """Only in ``CreateGrant``'s answer (accepted, never needed: docs/keys.md)."""

    @classmethod
    def of(cls, grant: keys.Grant) -> Grant:
        constraints = None
        if grant.encryption_context_equals is not None:
            constraints = GrantConstraints(
                encryptionContextEquals=dict(grant.encryption_context_equals)
            )
        elif grant.encryption_context_subset is not None:
            constraints = GrantConstraints(
                encryptionContextSubset=dict(grant.encryption_context_subset)
            )
        return cls(
            grantId=grant.grant_id,
            keyId=grant.key_id,
            name=grant.name,
            granteePrincipal=grant.grantee_principal,
            retiringPrincipal=grant.retiring_principal,
            operations=list(grant.operations),
            constraints=constraints,
            issuingAccount=grant.issuing_account,
            creationDate=grant.creation_date,
        )


class RevokeGrant(KeyRef):
    grantId: str


class RewrapRequest(KeyRef):
    maxBatches: int | None = Field(default=None, ge=1)
    batchSize: int = Field(default=500, ge=1, le=10000)


class RewrapProgress(BaseModel):
    keyId: str
    registry: str
    targetKeyVersion: int
    rewrapped: int
    failed: int
    done: bool

    @classmethod
    def of(cls, progress: keys.RewrapProgress) -> RewrapProgress:
        return cls(
            keyId=progress.key_id,
            registry=progress.registry,
            targetKeyVersion=progress.target_version,
            rewrapped=progress.rewrapped,
            failed=progress.failed,
            done=progress.is_done,
        )
