"""Names, paths and ARNs of IAM entities, validated with AWS's rules and messages.

AWS answers a bad name with ``ValidationError`` ("1 validation error detected: Value at
'userName' failed to satisfy constraint: ..."); lakevault gives the same code and says which
characters are allowed — without echoing the value, which may be pasted from somewhere secret.
"""

from __future__ import annotations

import re
from enum import StrEnum

from lakevault.core.errors import InvalidParameterValue, ValidationError


class EntityKind(StrEnum):
    """The IAM entity kinds and the resource-type word in their ARN."""

    USER = "user"
    GROUP = "group"
    ROLE = "role"
    POLICY = "policy"


_NAME = re.compile(r"[\w+=,.@-]+")
_MAX_NAME = {
    EntityKind.USER: 64,
    EntityKind.GROUP: 128,
    EntityKind.ROLE: 64,
    EntityKind.POLICY: 128,
}
_PATH = re.compile(r"/|/[\x21-\x7e]*/")
_TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_POLICY_ARN = re.compile(
    r"arn:aws:iam::(?P<account>[0-9]{12}):policy(?P<path>/(?:[\x21-\x7e]*/)?)(?P<name>[\w+=,.@-]+)"
)


def check_name(kind: EntityKind, value: str, *, parameter: str) -> str:
    """Return ``value`` when it is a valid name of ``kind``; raise ``ValidationError`` otherwise."""
    limit = _MAX_NAME[kind]
    if not 1 <= len(value) <= limit or not _NAME.fullmatch(value):
        raise ValidationError(
            f"1 validation error detected: Value at '{parameter}' failed to satisfy constraint: "
            f"Member must have length between 1 and {limit} and match [\\w+=,.@-]+ (letters, "
            "digits and + = , . @ _ -)"
        )
    return value


def check_path(value: str, *, parameter: str = "path") -> str:
    """Paths start and end with ``/`` and hold printable ASCII; at most 512 characters."""
    if len(value) > 512 or not _PATH.fullmatch(value):
        raise ValidationError(
            f"1 validation error detected: Value at '{parameter}' failed to satisfy constraint: "
            "a path begins and ends with '/', for example '/engineering/'"
        )
    return value


def check_tenant_name(value: str) -> str:
    if not _TENANT_NAME.fullmatch(value):
        raise ValidationError(
            "tenant and organization names are 2 to 63 lower-case letters, digits and '-', "
            "starting with a letter or digit, for example 'research-team'"
        )
    return value


def entity_arn(account_id: str, kind: EntityKind, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account_id}:{kind.value}{path}{name}"


def parse_policy_arn(arn: str) -> tuple[str, str, str]:
    """Split a managed policy ARN into (account id, path, name); raise for anything else."""
    found = _POLICY_ARN.fullmatch(arn)
    if found is None:
        raise InvalidParameterValue(
            "policyArn must be a managed policy ARN such as "
            "'arn:aws:iam::123456789012:policy/ReadReports'"
        )
    return found["account"], found["path"], found["name"]


def validate_tags(tags: dict[str, str]) -> dict[str, str]:
    """AWS tag rules: at most 50 tags, keys 1 to 128 and values 0 to 256 characters, no ``aws:``."""
    if len(tags) > 50:
        raise ValidationError(f"at most 50 tags are allowed, got {len(tags)}")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise ValidationError("tag keys are 1 to 128 characters and may not start with 'aws:'")
        if len(value) > 256:
            raise ValidationError(f"the value of tag {key!r} is longer than 256 characters")
    return dict(tags)
