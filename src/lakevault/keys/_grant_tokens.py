"""Grant tokens (AWS ``GrantTokens``): accepted and checked, never needed here.

In AWS a new grant takes a while to reach every KMS host (eventual consistency); a grant token
returned by ``CreateGrant`` lets a request use the grant at once. lakevault decides every use
from the database it just wrote (the grant is a statement of the key policy the moment
``CreateGrant`` commits, ADR 0125), so a grant is effective immediately and a token adds no
permission: the key policy with its grants alone decides. Tokens are still accepted on the
cryptographic operations, for AWS clients that send them, and checked: at most 10, each
well formed, naming the key of the request and a grant that exists on it — so a stale or
foreign token is an error (``InvalidGrantTokenException``) rather than silently ignored.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from lakevault.core.errors import InvalidInput
from lakevault.keys._records import KeyRecord

MAX_GRANT_TOKENS = 10
_PREFIX = "lvgt1."


class InvalidGrantTokenException(InvalidInput):
    """A grant token that is malformed or names no grant of the key."""

    code = "InvalidGrantTokenException"


def grant_token(key_id: str, grant_id: str) -> str:
    """The token ``CreateGrant`` answers for a grant (opaque to clients)."""
    raw = f"{key_id}:{grant_id}".encode("ascii")
    return _PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _parse(token: str) -> tuple[str, str] | None:
    if not token.startswith(_PREFIX) or len(token) > 8192:
        return None
    body = token.removeprefix(_PREFIX)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    key_id, separator, grant_id = raw.partition(":")
    return (key_id, grant_id) if separator and key_id and grant_id else None


def grant_token_names(token: str, key_id: str) -> bool:
    """Whether ``token`` is (well formed and) about the key ``key_id``."""
    parsed = _parse(token)
    return parsed is not None and parsed[0] == key_id


def check_grant_tokens(tokens: Sequence[str], record: KeyRecord) -> None:
    """Raise unless every token names a current grant of ``record``'s key."""
    if len(tokens) > MAX_GRANT_TOKENS:
        raise InvalidGrantTokenException(
            f"GrantTokens holds at most {MAX_GRANT_TOKENS} tokens; got {len(tokens)}"
        )
    grants = {grant.grant_id for grant in record.grants}
    for position, token in enumerate(tokens):
        parsed = _parse(token)
        if parsed is None or parsed[0] != record.key_id or parsed[1] not in grants:
            raise InvalidGrantTokenException(
                f"grant token {position + 1} is not a token of a current grant of {record.arn}; "
                "use the token CreateGrant returned for this key (grants here are effective at "
                "once, so a token is never needed)"
            )
