"""Secret names, ARNs and the ``SecretId`` forms AWS accepts (a name or an ARN).

A secret's ARN is ``arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abc123``: AWS appends a
dash and six random characters so that a new secret with a deleted one's name gets another ARN,
and a policy naming the old ARN does not silently apply to the new secret.
"""

from __future__ import annotations

import re
import string

from lakevault.core import RandomSource
from lakevault.secrets._errors import InvalidParameterException

RESOURCE_TYPE = "AWS::SecretsManager::Secret"
_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_SUFFIX_ALPHABET = string.ascii_letters + string.digits
_ARN = re.compile(
    r"^arn:aws:secretsmanager:(?P<region>[^:]*):(?P<account>[0-9]{12}):secret:(?P<rest>.+)$"
)


def check_name(name: str) -> str:
    """Refuse a name AWS refuses: 1-512 of ``A-Za-z0-9/_+=.@-``, not ending in ``-`` + 6 chars
    that would look like an ARN suffix."""
    if not _NAME.match(name):
        raise InvalidParameterException(
            "Name must be 1 to 512 characters of letters, digits and /_+=.@-; "
            f"got {len(name)} characters"
        )
    return name


def new_secret_arn(region: str, account_id: str, name: str, random: RandomSource) -> str:
    suffix = "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in random.token_bytes(6))
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:{name}-{suffix}"


def parse_secret_arn(text: str) -> tuple[str, str] | None:
    """``(account id, name-with-suffix)`` of a secret ARN, or ``None`` when ``text`` is a name."""
    match = _ARN.match(text)
    if match is None:
        return None
    return match["account"], match["rest"]


def secrets_wildcard_arn(region: str, account_id: str) -> str:
    """The resource of account-wide actions (``ListSecrets``)."""
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:*"
