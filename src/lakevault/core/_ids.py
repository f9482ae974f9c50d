"""Identifiers: request ids, entity ids, tenant (account) ids.

Ids are random, not sequential, so they leak no counts. They are built from an injected
:class:`RandomSource` and are plain ``str`` subtypes (``NewType``) so that a tenant id cannot be
passed where a request id is expected without the type checker noticing.
"""

from __future__ import annotations

import base64
import re
from typing import NewType

from lakevault.core._clock import RandomSource
from lakevault.core.errors import InvalidParameterValue

RequestId = NewType("RequestId", str)
AccountId = NewType("AccountId", str)
EntityId = NewType("EntityId", str)

_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_ENTITY_PREFIX = re.compile(r"[A-Z]{4}")

#: The account that owns the platform itself (its administrators, its own background jobs).
PLATFORM_ACCOUNT_ID = AccountId("000000000000")


def new_request_id(random: RandomSource) -> RequestId:
    """A request id in the 36-character UUID shape AWS uses for ``x-amz-request-id``."""
    raw = bytearray(random.token_bytes(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.hex()
    return RequestId(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")


def new_entity_id(prefix: str, random: RandomSource) -> EntityId:
    """An AWS-style unique id: a four-letter prefix and 16 base32 characters (80 random bits).

    AWS uses prefixes such as ``AIDA`` (user) and ``AROA`` (role); lakevault uses its own
    (``LVUS`` for users, ...). Raises ``InvalidParameterValue`` for a malformed prefix.
    """
    if not _ENTITY_PREFIX.fullmatch(prefix):
        raise InvalidParameterValue(
            f"entity id prefix must be four capital letters such as 'LVUS', got {len(prefix)} "
            "characters"
        )
    body = base64.b32encode(random.token_bytes(10)).decode("ascii")
    return EntityId(prefix + body)


def new_account_id(random: RandomSource) -> AccountId:
    """A random 12-digit account (tenant) id that is never the platform's own."""
    while True:
        number = int.from_bytes(random.token_bytes(8), "big") % 10**12
        candidate = f"{number:012d}"
        if candidate != PLATFORM_ACCOUNT_ID:
            return AccountId(candidate)


def parse_account_id(value: str) -> AccountId:
    """Check that ``value`` is a 12-digit account id; raise ``InvalidParameterValue`` otherwise."""
    if not _ACCOUNT_ID.fullmatch(value):
        raise InvalidParameterValue(
            f"account id must be exactly 12 digits, for example '123456789012'; got "
            f"{len(value)} characters"
        )
    return AccountId(value)
