"""Request and response bodies of the secrets API (``/api/v1/secrets``), AWS's field names in
camelCase. Values travel only in ``secretString``/``secretBinary`` (base64) of the two calls
that carry them; every other body names versions and labels, never values."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lakevault import secrets
from lakevault.core.errors import InvalidParameterValue


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def decode_binary(value: SecretStr | None) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value.get_secret_value(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameterValue("secretBinary must be base64") from exc


def plain(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


class NewSecret(Body):
    name: str = Field(min_length=1, max_length=512)
    description: str = Field(default="", max_length=2048)
    kmsKeyId: str | None = None
    secretString: SecretStr | None = None
    secretBinary: SecretStr | None = Field(default=None, description="base64")
    tags: dict[str, str] = Field(default_factory=dict)
    clientRequestToken: str | None = Field(default=None, min_length=32, max_length=64)


class NewValue(Body):
    secretId: str = Field(min_length=1, max_length=2048)
    secretString: SecretStr | None = None
    secretBinary: SecretStr | None = Field(default=None, description="base64")
    clientRequestToken: str | None = Field(default=None, min_length=32, max_length=64)
    versionStages: list[str] | None = None


class SecretUpdate(Body):
    secretId: str = Field(min_length=1, max_length=2048)
    description: str | None = Field(default=None, max_length=2048)
    kmsKeyId: str | None = Field(default=None, max_length=2048)
    secretString: SecretStr | None = None
    secretBinary: SecretStr | None = Field(default=None, description="base64")
    clientRequestToken: str | None = Field(default=None, min_length=32, max_length=64)


class VersionIds(BaseModel):
    arn: str
    name: str
    versions: list[dict[str, Any]]


class SecretReference(Body):
    secretId: str = Field(min_length=1, max_length=2048)


class StageMove(Body):
    secretId: str = Field(min_length=1, max_length=2048)
    versionStage: str = Field(min_length=1, max_length=256)
    removeFromVersionId: str | None = None
    moveToVersionId: str | None = None


class ResourcePolicy(Body):
    secretId: str = Field(min_length=1, max_length=2048)
    resourcePolicy: str = Field(min_length=1)


class Tags(Body):
    secretId: str = Field(min_length=1, max_length=2048)
    tags: dict[str, str]


class Rotation(Body):
    secretId: str = Field(min_length=1, max_length=2048)
    rotationHook: str | None = None
    rotationLambdaArn: str | None = Field(
        default=None, description="a rotation function's ARN (same as rotationHook)"
    )
    automaticallyAfterDays: int | None = None
    rotateImmediately: bool = True
    clientRequestToken: str | None = Field(default=None, min_length=32, max_length=64)


class Version(BaseModel):
    arn: str
    name: str
    versionId: str | None
    versionStages: list[str]

    @classmethod
    def of(cls, value: secrets.NewVersion) -> Version:
        return cls(
            arn=value.arn,
            name=value.name,
            versionId=value.version_id,
            versionStages=list(value.version_stages),
        )


class Value(BaseModel):
    arn: str
    name: str
    versionId: str
    versionStages: list[str]
    createdDate: datetime
    secretString: str | None = None
    secretBinary: str | None = None

    @classmethod
    def of(cls, value: secrets.SecretValue) -> Value:
        return cls(
            arn=value.arn,
            name=value.name,
            versionId=value.version_id,
            versionStages=list(value.version_stages),
            createdDate=value.created_date,
            secretString=value.secret_string,
            secretBinary=base64.b64encode(value.secret_binary).decode("ascii")
            if value.secret_binary is not None
            else None,
        )


class Description(BaseModel):
    arn: str
    name: str
    description: str
    kmsKeyId: str | None
    rotationEnabled: bool
    rotationHook: str | None
    rotationRules: dict[str, int] | None
    lastRotatedDate: datetime | None
    lastChangedDate: datetime
    lastAccessedDate: datetime | None
    createdDate: datetime
    deletedDate: datetime | None
    deletionDate: datetime | None
    tags: dict[str, str]
    versionIdsToStages: dict[str, list[str]]
    hasResourcePolicy: bool

    @classmethod
    def of(cls, value: secrets.SecretDescription) -> Description:
        return cls(
            arn=value.arn,
            name=value.name,
            description=value.description,
            kmsKeyId=value.kms_key_id,
            rotationEnabled=value.rotation_enabled,
            rotationHook=value.rotation_hook,
            rotationRules={"automaticallyAfterDays": value.rotation_days}
            if value.rotation_days is not None
            else None,
            lastRotatedDate=value.last_rotated_date,
            lastChangedDate=value.last_changed_date,
            lastAccessedDate=value.last_accessed_date,
            createdDate=value.created_date,
            deletedDate=value.deleted_date,
            deletionDate=value.purge_date,
            tags=dict(value.tags),
            versionIdsToStages={k: list(v) for k, v in value.version_ids_to_stages.items()},
            hasResourcePolicy=value.has_policy,
        )


class SecretList(BaseModel):
    secretList: list[Description]


class PolicyAnswer(BaseModel):
    arn: str
    name: str
    resourcePolicy: str | None
