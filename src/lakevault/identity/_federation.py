"""OIDC federation, the pure part: provider settings, ID token validation, teams and roles.

A tenant registers an external OpenID Connect identity provider (its issuer, the client
lakevault is at the IdP, the audiences it accepts, the claim that lists a user's groups, and an
ordered mapping of teams — the IdP's groups — to the tenant's roles). A person signs in at the
IdP; lakevault validates the ID token, maps the token's groups to a team and the team to a
role, and asks the gate whether the role's trust policy lets this web identity assume it
(``sts:AssumeRoleWithWebIdentity``).

ID token validation follows OpenID Connect Core 1.0 §3.1.3.7, with every check mandatory:

* the signature, with a key from the IdP's JWKS, under an algorithm the provider allows
  (asymmetric only: ``none`` and HMAC are never accepted, so a public key can never be used
  as an HMAC secret);
* ``iss`` equal to the registered issuer, character for character;
* ``aud`` naming one of the provider's allowed audiences; when it names several, ``azp`` must
  be present; when ``azp`` is present it must be an allowed audience;
* ``exp`` in the future and ``iat`` not in the future, both within ``LEEWAY_SECONDS``;
  ``nbf``, when present, passed;
* ``sub`` present; ``nonce`` equal to the sign-in's nonce when one is expected.

Nothing here touches the network or the database: keys, times and expectations are arguments.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import orjson
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    InvalidKeyIdError,
    JoseError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet

from lakevault.core.errors import ValidationError
from lakevault.identity._errors import (
    ExpiredIdentityToken,
    FederatedSignInFailed,
    FederationFailure,
    InvalidIdentityToken,
)
from lakevault.identity._names import EntityKind, check_name

#: Allowed clock difference between lakevault and the identity provider.
LEEWAY_SECONDS = 60
#: The largest ID token accepted (AWS accepts 20,000 characters for a web identity token).
MAX_TOKEN_CHARACTERS = 20000
MAX_AUDIENCES = 10
MAX_TEAMS = 100
MAX_GROUPS_IN_TOKEN = 500
DEFAULT_GROUP_CLAIM = "groups"
DEFAULT_SCOPES = ("openid", "profile", "email")
_CLAIM_NAME = re.compile(r"[A-Za-z0-9_:./-]{1,128}")
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}")
_SESSION_NAME_CHARACTER = re.compile(r"[^\w+=,.@-]")


class SigningAlgorithm(StrEnum):
    """The ID token signature algorithms a provider may be allowed: asymmetric ones only."""

    RS256 = "RS256"
    RS384 = "RS384"
    RS512 = "RS512"
    PS256 = "PS256"
    PS384 = "PS384"
    PS512 = "PS512"
    ES256 = "ES256"
    ES384 = "ES384"
    ES512 = "ES512"
    EDDSA = "EdDSA"


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamRole:
    """One entry of a provider's mapping: members of ``team`` (an IdP group) get ``role_name``."""

    team: str
    role_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OIDCProviderInfo:
    """A registered identity provider, as the API shows it (never with its client secret)."""

    provider_id: str
    account_id: str
    arn: str
    issuer: str
    client_id: str
    has_client_secret: bool
    audiences: tuple[str, ...]
    group_claim: str
    team_roles: tuple[TeamRole, ...]
    signing_algorithms: tuple[SigningAlgorithm, ...]
    scopes: tuple[str, ...]
    redirect_uri: str
    created_at: datetime

    @property
    def condition_prefix(self) -> str:
        return issuer_condition_prefix(self.issuer)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebIdentity:
    """What a validated ID token says about the person, as far as lakevault uses it."""

    issuer: str
    subject: str
    audience: str
    groups: tuple[str, ...]
    display_name: str
    expires_at: datetime


# --- provider settings --------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, parameter: str, allow_http_loopback: bool) -> str:
    """An absolute ``https`` URL without query, fragment or credentials; returned unchanged.

    ``http`` is accepted only for a loopback host and only when ``allow_http_loopback`` is set
    (development and tests: docs/decisions/0102). Raises ``ValidationError`` naming
    ``parameter``.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError as exc:
        raise ValidationError(
            f"{parameter} must be an absolute https URL such as 'https://login.example.com'"
        ) from exc
    is_http_allowed = parts.scheme == "http" and allow_http_loopback and _is_loopback(host)
    if (
        (parts.scheme != "https" and not is_http_allowed)
        or not host
        or parts.query
        or parts.fragment
        or parts.username is not None
        or len(url) > 1024
    ):
        raise ValidationError(
            f"{parameter} must be an absolute https URL (at most 1024 characters) without "
            "query, fragment or user name, such as 'https://login.example.com/realms/corp'"
        )
    return url


def issuer_condition_prefix(issuer: str) -> str:
    """The issuer as condition keys name it: without scheme and trailing slash.

    ``https://login.example.com/realms/corp`` gives ``login.example.com/realms/corp``, so a trust
    policy conditions on ``login.example.com/realms/corp:aud`` (AWS's convention).
    """
    return issuer.split("://", 1)[-1].rstrip("/")


def oidc_provider_arn(account_id: str, issuer: str) -> str:
    """``arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH``, the name a trust policy's
    ``Federated`` principal uses."""
    return f"arn:aws:iam::{account_id}:oidc-provider/{issuer_condition_prefix(issuer)}"


def check_provider_settings(
    *,
    issuer: str,
    client_id: str,
    audiences: Sequence[str],
    group_claim: str,
    team_roles: Sequence[TeamRole],
    signing_algorithms: Sequence[str],
    scopes: Sequence[str],
    redirect_uri: str,
    allow_http_loopback: bool,
) -> tuple[tuple[str, ...], tuple[SigningAlgorithm, ...]]:
    """Validate a provider's settings; return its audiences and algorithms, normalised.

    The client id is always an allowed audience (it is the audience of tokens issued to
    lakevault's own sign-in). Raises ``ValidationError`` naming the first bad parameter.
    """
    check_url(issuer, parameter="issuerUrl", allow_http_loopback=allow_http_loopback)
    check_url(redirect_uri, parameter="redirectUri", allow_http_loopback=allow_http_loopback)
    if not 1 <= len(client_id) <= 255 or not client_id.isprintable():
        raise ValidationError("clientId must be 1 to 255 printable characters")
    allowed = tuple(dict.fromkeys([client_id, *audiences]))
    if len(allowed) > MAX_AUDIENCES or any(
        not 1 <= len(a) <= 255 or not a.isprintable() for a in allowed
    ):
        raise ValidationError(
            f"audiences must be at most {MAX_AUDIENCES} values of 1 to 255 printable characters"
        )
    if not _CLAIM_NAME.fullmatch(group_claim):
        raise ValidationError(
            "groupClaim must be a claim name of 1 to 128 letters, digits and _ : . / -, such "
            "as 'groups'"
        )
    if len(team_roles) > MAX_TEAMS:
        raise ValidationError(f"teamRoles has {len(team_roles)} entries; at most {MAX_TEAMS}")
    teams = [entry.team for entry in team_roles]
    if len(set(teams)) != len(teams):
        raise ValidationError("teamRoles names a team twice; give each team one role")
    for entry in team_roles:
        if not 1 <= len(entry.team) <= 128 or not entry.team.isprintable():
            raise ValidationError("a team in teamRoles must be 1 to 128 printable characters")
        check_name(EntityKind.ROLE, entry.role_name, parameter="teamRoles.roleName")
    if not signing_algorithms:
        raise ValidationError("signingAlgorithms must name at least one algorithm")
    try:
        algorithms = tuple(dict.fromkeys(SigningAlgorithm(a) for a in signing_algorithms))
    except ValueError as exc:
        names = ", ".join(a.value for a in SigningAlgorithm)
        raise ValidationError(
            f"signingAlgorithms may hold only asymmetric algorithms: {names}"
        ) from exc
    if "openid" not in scopes or any(not _SCOPE.fullmatch(s) for s in scopes):
        raise ValidationError("scopes must include 'openid' and hold valid OAuth scope tokens")
    return allowed, algorithms


# --- teams and roles ----------------------------------------------------------------------


def choose_team(
    groups: Sequence[str], team_roles: Sequence[TeamRole], requested: str | None
) -> TeamRole:
    """The team (and its role) a sign-in acts as.

    With ``requested``, that team, which the person must belong to. Without, the first entry of
    the mapping whose team the person belongs to: the mapping is ordered, so the administrator
    decides which role wins for members of several teams. Raises ``FederatedSignInFailed``.
    """
    member_of = set(groups)
    if requested is not None:
        for entry in team_roles:
            if entry.team == requested and requested in member_of:
                return entry
        raise FederatedSignInFailed(
            "sign-in refused: you are not a member of the requested team, or the team has no "
            "role; sign in again without choosing a team, or ask your administrator",
            reason=FederationFailure.TEAM_NOT_A_MEMBER,
        )
    for entry in team_roles:
        if entry.team in member_of:
            return entry
    raise FederatedSignInFailed(
        "sign-in refused: none of your identity provider groups is mapped to a role of this "
        "tenant; ask your administrator to map your team to a role",
        reason=FederationFailure.NO_MAPPED_TEAM,
    )


def web_identity_context(identity: WebIdentity) -> dict[str, str | Sequence[str]]:
    """The condition keys a trust policy can test: ``<issuer>:aud``, ``<issuer>:sub``,
    ``<issuer>:groups`` (every group in the token's group claim)."""
    prefix = issuer_condition_prefix(identity.issuer)
    return {
        f"{prefix}:aud": identity.audience,
        f"{prefix}:sub": identity.subject,
        f"{prefix}:groups": list(identity.groups),
    }


def session_name_for(identity: WebIdentity) -> str:
    """A role session name from the person's name at the IdP: 2 to 64 characters of
    ``[\\w+=,.@-]``, other characters replaced by ``-``."""
    name = _SESSION_NAME_CHARACTER.sub("-", identity.display_name)[:64]
    if len(name) >= 2:
        return name
    return ("web-" + _SESSION_NAME_CHARACTER.sub("-", identity.subject))[:64]


# --- ID token validation ------------------------------------------------------------------


def read_unverified_header(token: str) -> Mapping[str, Any]:
    """The JOSE header of ``token`` WITHOUT verifying anything: only for choosing a key.

    Raises ``InvalidIdentityToken`` when the token is not a compact JWS of acceptable size.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARACTERS or token.count(".") != 2:
        raise InvalidIdentityToken(FederationFailure.MALFORMED_TOKEN)
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, TypeError, UnicodeError) as exc:
        raise InvalidIdentityToken(FederationFailure.MALFORMED_TOKEN) from exc
    return dict(header)


def read_unverified_issuer(token: str) -> str:
    """The ``iss`` claim of ``token`` WITHOUT verifying anything: only for finding which
    registered provider must then verify it. Raises ``InvalidIdentityToken``."""
    read_unverified_header(token)
    try:
        payload = jws.extract_compact(token.encode("ascii")).payload
        issuer = orjson.loads(payload).get("iss")
    except (JoseError, ValueError, TypeError, AttributeError, UnicodeError) as exc:
        raise InvalidIdentityToken(FederationFailure.MALFORMED_TOKEN) from exc
    if not isinstance(issuer, str) or not issuer:
        raise InvalidIdentityToken(FederationFailure.MALFORMED_TOKEN)
    return issuer


def validate_id_token(
    token: str,
    *,
    key_set: KeySet,
    issuer: str,
    audiences: Sequence[str],
    algorithms: Sequence[SigningAlgorithm],
    group_claim: str,
    now: datetime,
    expected_nonce: str | None = None,
) -> WebIdentity:
    """Verify ``token`` (see the module docstring) and return who it speaks for.

    Raises ``ExpiredIdentityToken`` for an expired token and ``InvalidIdentityToken`` (with the
    precise reason on it, for the audit log) for every other failure.
    """
    header = read_unverified_header(token)
    if header.get("alg") not in {a.value for a in algorithms}:
        raise InvalidIdentityToken(FederationFailure.UNSUPPORTED_ALGORITHM)
    try:
        decoded = jwt.decode(token, key_set, algorithms=[a.value for a in algorithms])
    except UnsupportedAlgorithmError as exc:
        raise InvalidIdentityToken(FederationFailure.UNSUPPORTED_ALGORITHM) from exc
    except InvalidKeyIdError as exc:
        raise InvalidIdentityToken(FederationFailure.UNKNOWN_KEY) from exc
    except BadSignatureError as exc:
        raise InvalidIdentityToken(FederationFailure.BAD_SIGNATURE) from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidIdentityToken(FederationFailure.MALFORMED_TOKEN) from exc
    claims = decoded.claims
    if claims.get("iss") != issuer:
        raise InvalidIdentityToken(FederationFailure.WRONG_ISSUER)
    audience = _check_audience(claims, audiences)
    _check_times(claims, now)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 1 <= len(subject) <= 255:
        raise InvalidIdentityToken(FederationFailure.MISSING_CLAIM)
    if expected_nonce is not None:
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(
            nonce.encode("utf-8"), expected_nonce.encode("utf-8")
        ):
            raise InvalidIdentityToken(FederationFailure.NONCE_MISMATCH)
    display = next(
        (
            value
            for value in (claims.get("preferred_username"), claims.get("email"), subject)
            if isinstance(value, str) and value
        ),
        subject,
    )
    return WebIdentity(
        issuer=issuer,
        subject=subject,
        audience=audience,
        groups=_groups(claims, group_claim),
        display_name=display,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


def _check_audience(claims: Mapping[str, Any], audiences: Sequence[str]) -> str:
    raw = claims.get("aud")
    named = [raw] if isinstance(raw, str) else raw
    if not isinstance(named, list) or not named or not all(isinstance(a, str) for a in named):
        raise InvalidIdentityToken(FederationFailure.WRONG_AUDIENCE)
    matching = [a for a in named if a in audiences]
    if not matching:
        raise InvalidIdentityToken(FederationFailure.WRONG_AUDIENCE)
    authorized_party = claims.get("azp")
    if authorized_party is None:
        if len(named) > 1:
            raise InvalidIdentityToken(FederationFailure.WRONG_AUTHORIZED_PARTY)
        return str(matching[0])
    if not isinstance(authorized_party, str) or authorized_party not in matching:
        raise InvalidIdentityToken(FederationFailure.WRONG_AUTHORIZED_PARTY)
    return str(authorized_party)


def _timestamp(claims: Mapping[str, Any], name: str) -> int:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidIdentityToken(FederationFailure.MISSING_CLAIM)
    return int(value)


def _check_times(claims: Mapping[str, Any], now: datetime) -> None:
    current = int(now.timestamp())
    if current >= _timestamp(claims, "exp") + LEEWAY_SECONDS:
        raise ExpiredIdentityToken()
    if _timestamp(claims, "iat") > current + LEEWAY_SECONDS:
        raise InvalidIdentityToken(FederationFailure.ISSUED_IN_FUTURE)
    if "nbf" in claims and _timestamp(claims, "nbf") > current + LEEWAY_SECONDS:
        raise InvalidIdentityToken(FederationFailure.NOT_YET_VALID)


def _groups(claims: Mapping[str, Any], group_claim: str) -> tuple[str, ...]:
    value = claims.get(group_claim)
    if value is None:
        return ()
    groups = [value] if isinstance(value, str) else value
    if (
        not isinstance(groups, list)
        or len(groups) > MAX_GROUPS_IN_TOKEN
        or not all(isinstance(g, str) for g in groups)
    ):
        raise InvalidIdentityToken(FederationFailure.MALFORMED_GROUPS)
    return tuple(dict.fromkeys(groups))
