"""The checks on a secrets request's inputs: version ids, values and tags (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakevault.secrets._errors import InvalidParameterException
from lakevault.secrets._values import MAX_VALUE_BYTES

MAX_TAGS = 50


def check_version_id(version_id: str) -> str:
    if not 32 <= len(version_id) <= 64:
        raise InvalidParameterException(
            f"ClientRequestToken must be 32 to 64 characters, got {len(version_id)}"
        )
    return version_id


def value_bytes(secret_string: str | None, secret_binary: bytes | None) -> tuple[bytes, bool]:
    """The value to store and whether it is binary; exactly one of the two must be given."""
    if (secret_string is None) == (secret_binary is None):
        raise InvalidParameterException("pass exactly one of SecretString and SecretBinary")
    data = secret_binary if secret_binary is not None else (secret_string or "").encode("utf-8")
    if not 1 <= len(data) <= MAX_VALUE_BYTES:
        raise InvalidParameterException(
            f"the secret value must be 1 to {MAX_VALUE_BYTES} bytes, got {len(data)}"
        )
    return data, secret_binary is not None


def check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise InvalidParameterException(f"a secret has at most {MAX_TAGS} tags, got {len(tags)}")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise InvalidParameterException(
                f"tag key {key!r}: keys are 1-128 characters and values at most 256"
            )
        if key.lower().startswith("aws:"):
            raise InvalidParameterException(f"tag key {key!r} uses the reserved prefix 'aws:'")
    return dict(tags)


def tag_context(tags: Mapping[str, str]) -> dict[str, Any]:
    context: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    if tags:
        context["aws:TagKeys"] = sorted(tags)
    return context
