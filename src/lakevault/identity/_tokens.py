"""Access tokens: short-lived JWTs signed with ES256 keys kept in their own file.

* Signing keys (P-256, joserfc) live in ``LAKEVAULT_HOME/keys/token-signing.jwks`` (mode
  0600, written atomically), apart from the database: a copy of the database alone cannot mint
  tokens. The newest key signs; older keys keep verifying until every token they signed has
  expired, then ``rotate`` drops them.
* Verification pins the algorithm (ES256 only — never ``none``, never HMAC with a public key),
  requires ``kid``, ``iss``, ``aud``, ``sub``, ``exp``, ``iat`` and ``jti``, and allows 30 s of
  clock skew. Every failure is one ``AccessDenied`` ("the access token is not valid"), with
  ``ExpiredToken`` as the only distinguishable reason, so a client can refresh.
* ID tokens (``token_use`` "id", audience the user pool's id) tell a client who signed in, with
  the user's pool groups in ``cognito:groups``; they never authorise an API call.
* Rotation (``SigningKeys.rotate_due``, run daily as a job) adds a key when the newest is old
  enough and drops a retired key only once every token it can have signed has expired: a key
  is retired when its successor is made (the time is in the successor's ``kid``), so it is kept
  for the longest token lifetime (plus the clock skew) after that. A running ``TokenService``
  rereads the key file when it changes, so every process signs with the newest key. It looks
  at the file (one ``stat``) at most once per :data:`KEY_FILE_CHECK_SECONDS`, not per request,
  and at once when a token does not verify: a key another process added is accepted at once,
  a replaced file revokes the old keys' tokens within that interval (ADR 0245).
* Verified access tokens are remembered per process (``VERIFIED_TOKEN_CACHE_SIZE``, ADR 0218):
  a token seen again is answered without its ECDSA verification, but only while the clock is
  inside the window the claim checks accept (never past ``exp`` plus the skew) and only under
  the same signing keys (a changed key file forgets every entry). Revocation is not decided
  here: the principal lookup after verification (``principal_for_token``) reads the user and
  the token generation on every request.
"""

from __future__ import annotations

import base64
import itertools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import ECKey, KeySet

from lakevault.core import Clock, RandomSource, write_atomically
from lakevault.core.errors import AccessDenied, ConfigurationError, InvalidParameterValue
from lakevault.identity._principal import Principal

ALGORITHM = "ES256"
AUDIENCE = "lakevault-api"
LEEWAY_SECONDS = 30
MIN_TTL_SECONDS = 300
MAX_TTL_SECONDS = 86400
KEY_FILE_NAME = "token-signing.jwks"
_KID_TIME_FORMAT = "%Y%m%dT%H%M%S"
#: The ``amr`` (RFC 8176) values of a token: a password, and a one-time password as well.
AMR_PASSWORD = "pwd"  # noqa: S105 - an RFC 8176 method name
AMR_MFA = "otp"
#: Access tokens whose verification one ``TokenService`` remembers (least recently used first
#: out). A token is a few hundred bytes, so the cache stays around a megabyte.
VERIFIED_TOKEN_CACHE_SIZE = 4096
#: The longest a ``TokenService`` uses the keys it read without looking at the key file again:
#: the bound on how late a replaced key file revokes the tokens of the keys it dropped (ADR
#: 0245). A token that does not verify makes the service look at once, so a key another
#: process added never waits for it.
KEY_FILE_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedToken:
    """A freshly issued token. ``repr`` never shows the token itself."""

    token: str = field(repr=False)
    expires_at: datetime
    token_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenClaims:
    """What a verified access token says about its bearer."""

    principal_id: str
    principal_arn: str
    account_id: str
    user_name: str
    token_id: str
    issued_at: datetime
    expires_at: datetime
    mfa_authenticated: bool = False
    """Whether the sign-in that issued the token passed a second factor (``amr`` has "otp")."""
    token_generation: int = 1
    """The user's token generation at issue (1 until the first "sign out everywhere")."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IdTokenClaims:
    """What a verified ID token says: who signed in, when, and in which pool groups."""

    principal_id: str
    user_name: str
    account_id: str
    audience: str
    groups: tuple[str, ...]
    email: str | None
    email_verified: bool
    authenticated_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class _VerifiedToken:
    """A verified access token's claims, the keys that verified it, and the times (seconds
    since the epoch, as the claim checks compare them) between which the checks accept it."""

    keys: SigningKeys
    claims: TokenClaims
    accepted_from: float
    """The token is accepted at ``now >= accepted_from`` (``nbf``/``iat`` less the skew)."""
    accepted_until: float
    """The token is accepted at ``now < accepted_until`` (``exp`` plus the skew)."""


def _key_path(home: Path) -> Path:
    return home / "keys" / KEY_FILE_NAME


def _new_key(random: RandomSource, now: datetime) -> ECKey:
    kid = now.strftime(_KID_TIME_FORMAT) + "-" + random.token_bytes(4).hex()
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})


class SigningKeys:
    """The token signing keys of an installation, newest last."""

    def __init__(self, keys: list[ECKey], path: Path) -> None:
        if not keys:
            raise ConfigurationError(
                f"the token key file {path} holds no key; delete it and restart"
            )
        self._keys = keys
        self._path = path
        self._key_set = KeySet(list(keys))
        self._file_version = _file_version(path)

    @classmethod
    def load_or_create(cls, home: Path, *, random: RandomSource, clock: Clock) -> SigningKeys:
        """Read the key file, creating it with one fresh key when it does not exist."""
        path = _key_path(home)
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            key = _new_key(random, clock.now())
            write_atomically(path, _serialise([key]), mode=0o600)
        try:
            document = orjson.loads(path.read_bytes())
            keys = [ECKey.import_key(entry) for entry in document["keys"]]
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, JoseError, ValueError) as exc:
            raise ConfigurationError(
                f"the token key file {path} cannot be read or is damaged; restore it from a "
                "backup, or delete it to create a new key (every issued token then stops "
                "working)"
            ) from exc
        return cls(keys, path)

    @property
    def signing_key(self) -> ECKey:
        return self._keys[-1]

    @property
    def key_set(self) -> KeySet:
        return self._key_set

    def public_jwks(self) -> dict[str, Any]:
        """The public keys, for a JWKS endpoint."""
        return {"keys": [key.as_dict(private=False) for key in self._keys]}

    def rotate(self, *, random: RandomSource, clock: Clock, keep: int = 2) -> SigningKeys:
        """Add a new signing key and keep the ``keep`` newest (older tokens must have expired)."""
        keys = [*self._keys, _new_key(random, clock.now())][-keep:]
        write_atomically(self._path, _serialise(keys), mode=0o600)
        return SigningKeys(keys, self._path)

    @property
    def kids(self) -> tuple[str, ...]:
        """The key ids, oldest first (the last one signs)."""
        return tuple(str(key.kid) for key in self._keys)

    def is_stale(self) -> bool:
        """Whether the key file changed since these keys were read (another process rotated)."""
        return _file_version(self._path) != self._file_version

    def rotate_due(
        self,
        *,
        random: RandomSource,
        clock: Clock,
        rotate_after_seconds: int,
        max_token_seconds: int,
    ) -> SigningKeys:
        """Rotate when the signing key is ``rotate_after_seconds`` old; drop expired keys.

        A retired key stays until ``max_token_seconds`` (the longest token lifetime) plus the
        allowed clock skew have passed since its successor was made, so no token that is still
        valid loses its key. Returns ``self`` when nothing changed (the file is not rewritten).
        """
        now = clock.now()
        keys = list(self._keys)
        newest_made = _made_at(keys[-1])
        if newest_made is None or (now - newest_made).total_seconds() >= rotate_after_seconds:
            keys.append(_new_key(random, now))
        grace = max_token_seconds + LEEWAY_SECONDS
        kept = []
        for key, successor in itertools.pairwise(keys):
            retired_at = _made_at(successor)
            if retired_at is None or (now - retired_at).total_seconds() <= grace:
                kept.append(key)
        kept.append(keys[-1])
        if [key.kid for key in kept] == [key.kid for key in self._keys]:
            return self
        write_atomically(self._path, _serialise(kept), mode=0o600)
        return SigningKeys(kept, self._path)


def _made_at(key: ECKey) -> datetime | None:
    """When a key was made, from its ``kid`` (``None`` for a kid in another format)."""
    try:
        return datetime.strptime(str(key.kid).partition("-")[0], _KID_TIME_FORMAT).replace(
            tzinfo=UTC
        )
    except ValueError:
        return None


def _file_version(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_ino)


def _serialise(keys: list[ECKey]) -> bytes:
    return orjson.dumps({"keys": [key.as_dict(private=True) for key in keys]})


class TokenService:
    """Issues and verifies access tokens for principals.

    The signing keys are read on first use (``keys`` is a loader), so building the service
    touches no file; ``lakevault init`` creates the key file ahead of the first request.
    """

    def __init__(
        self,
        keys: Callable[[], SigningKeys],
        *,
        clock: Clock,
        random: RandomSource,
        issuer: str,
        ttl_seconds: int = 3600,
        key_check_seconds: float = KEY_FILE_CHECK_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS:
            raise InvalidParameterValue(
                f"token lifetime must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds; got "
                f"{ttl_seconds}"
            )
        self._load_keys = keys
        self._loaded: SigningKeys | None = None
        self._lock = threading.Lock()
        self._key_check_seconds = key_check_seconds
        self._monotonic = monotonic
        #: Until then (``monotonic``) the loaded keys are used without looking at the file.
        self._next_key_check = 0.0
        self._clock = clock
        self._random = random
        self._issuer = issuer
        self._ttl = ttl_seconds
        # Claim registries are built once per (audience, token use): building one costs far
        # more than validating with it, and each reads the injected clock when it validates.
        self._registries: dict[tuple[str, str], jwt.JWTClaimsRegistry] = {}
        self._verified: OrderedDict[str, _VerifiedToken] = OrderedDict()
        self._verified_lock = threading.Lock()

    @property
    def keys(self) -> SigningKeys:
        """The signing keys, reread when the key file changed; the file is looked at (a
        ``stat``) at most once per ``key_check_seconds``: that per-request ``stat`` was ~5 %
        of the event loop's time per small upload (docs/decisions/0245)."""
        loaded = self._loaded
        if loaded is not None and self._monotonic() < self._next_key_check:
            return loaded
        return self._reread_if_changed()

    def _reread_if_changed(self) -> SigningKeys:
        """Look at the key file now; reread it if it changed since the keys were loaded."""
        with self._lock:
            if self._loaded is None or self._loaded.is_stale():
                self._loaded = self._load_keys()
            self._next_key_check = self._monotonic() + self._key_check_seconds
            return self._loaded

    @property
    def issuer(self) -> str:
        return self._issuer

    def issue(
        self,
        principal: Principal,
        *,
        ttl_seconds: int | None = None,
        token_generation: int = 1,
        groups: tuple[str, ...] = (),
    ) -> IssuedToken:
        """An access token for ``principal``; ``ttl_seconds`` overrides the service's lifetime.

        ``principal.mfa_authenticated`` becomes ``amr`` ["pwd", "otp"], which the verifier
        turns back into ``aws:MultiFactorAuthPresent``. ``groups`` are the user's pool groups.
        """
        now = self._clock.now()
        ttl = self._ttl if ttl_seconds is None else _checked_ttl(ttl_seconds)
        expires = now + timedelta(seconds=ttl)
        token_id = base64.urlsafe_b64encode(self._random.token_bytes(16)).decode().rstrip("=")
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": AUDIENCE,
            "sub": principal.principal_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": token_id,
            "token_use": "access",
            "lakevault:arn": principal.arn,
            "lakevault:account": principal.account_id,
            "username": principal.username or "",
            "amr": [AMR_PASSWORD, AMR_MFA] if principal.mfa_authenticated else [AMR_PASSWORD],
            "lakevault:gen": token_generation,
        }
        if groups:
            claims["cognito:groups"] = list(groups)
        return IssuedToken(token=self._sign(claims), expires_at=expires, token_id=token_id)

    def issue_id_token(
        self,
        principal: Principal,
        *,
        audience: str,
        groups: tuple[str, ...],
        email: str | None,
        email_verified: bool,
        authenticated_at: datetime,
        ttl_seconds: int,
    ) -> IssuedToken:
        """An OpenID Connect ID token for a pool user, with ``cognito:groups``.

        It identifies the user to a client application; the API refuses it as a bearer token
        (its ``token_use`` is "id").
        """
        now = self._clock.now()
        expires = now + timedelta(seconds=_checked_ttl(ttl_seconds))
        token_id = base64.urlsafe_b64encode(self._random.token_bytes(16)).decode().rstrip("=")
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": audience,
            "sub": principal.principal_id,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "auth_time": int(authenticated_at.timestamp()),
            "jti": token_id,
            "token_use": "id",
            "cognito:username": principal.username or "",
            "cognito:groups": list(groups),
            "lakevault:account": principal.account_id,
            "email_verified": email_verified,
        }
        if email is not None:
            claims["email"] = email
        return IssuedToken(token=self._sign(claims), expires_at=expires, token_id=token_id)

    def _sign(self, claims: dict[str, Any]) -> str:
        key = self.keys.signing_key
        return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}, claims, key)

    def verify_id_token(self, token: str, *, audience: str) -> IdTokenClaims:
        """Check an ID token like an access token (pinned algorithm, issuer, times), for
        ``audience``; raise ``AccessDenied`` (``InvalidToken`` or ``ExpiredToken``)."""
        claims = self._decode(
            token,
            audience=audience,
            expected_use="id",
            invalid=AccessDenied("the ID token is not valid", code="InvalidToken"),
        )
        zone = self._clock.now().tzinfo
        try:
            return IdTokenClaims(
                principal_id=str(claims["sub"]),
                user_name=str(claims["cognito:username"]),
                account_id=str(claims["lakevault:account"]),
                audience=audience,
                groups=tuple(str(group) for group in claims.get("cognito:groups", [])),
                email=str(claims["email"]) if "email" in claims else None,
                email_verified=bool(claims.get("email_verified", False)),
                authenticated_at=datetime.fromtimestamp(int(claims["auth_time"]), zone),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), zone),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise AccessDenied("the ID token is not valid", code="InvalidToken") from exc

    def verify(self, token: str) -> TokenClaims:
        """Check signature, algorithm, issuer, audience and times; return the claims.

        A token this service verified before under the same signing keys is answered from the
        cache while the current time is inside the window the claim checks accept; outside it
        (expired, or a clock set back before ``nbf``) the token is verified afresh, so the
        answer — claims, ``InvalidToken`` or ``ExpiredToken`` — is always the uncached one.
        """
        keys = self.keys
        now = int(self._clock.now().timestamp())
        with self._verified_lock:
            remembered = self._verified.get(token)
            if remembered is not None:
                if (
                    remembered.keys is keys
                    and remembered.accepted_from <= now < remembered.accepted_until
                ):
                    self._verified.move_to_end(token)
                    return remembered.claims
                del self._verified[token]
        invalid = AccessDenied("the access token is not valid; sign in again", code="InvalidToken")
        claims = self._decode(
            token, audience=AUDIENCE, expected_use="access", invalid=invalid, keys=keys
        )
        verified = self._access_claims(claims, invalid)
        # The window of the claim checks (JWTClaimsRegistry: exp > now - leeway, nbf and iat
        # <= now + leeway); _decode validated these claims as numbers.
        starts = [float(claims[name]) for name in ("nbf", "iat") if name in claims]
        remembered = _VerifiedToken(
            keys=keys,
            claims=verified,
            accepted_from=max(starts) - LEEWAY_SECONDS,
            accepted_until=float(claims["exp"]) + LEEWAY_SECONDS,
        )
        with self._verified_lock:
            self._verified[token] = remembered
            self._verified.move_to_end(token)
            while len(self._verified) > VERIFIED_TOKEN_CACHE_SIZE:
                self._verified.popitem(last=False)
        return verified

    def _access_claims(self, claims: dict[str, Any], invalid: AccessDenied) -> TokenClaims:
        try:
            amr = claims.get("amr", [])
            return TokenClaims(
                principal_id=str(claims["sub"]),
                principal_arn=str(claims["lakevault:arn"]),
                account_id=str(claims["lakevault:account"]),
                user_name=str(claims.get("username", "")),
                token_id=str(claims["jti"]),
                issued_at=datetime.fromtimestamp(int(claims["iat"]), self._clock.now().tzinfo),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), self._clock.now().tzinfo),
                mfa_authenticated=isinstance(amr, list) and AMR_MFA in amr,
                token_generation=int(claims.get("lakevault:gen", 1)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise invalid from exc

    def _registry(self, audience: str, token_use: str) -> jwt.JWTClaimsRegistry:
        registry = self._registries.get((audience, token_use))
        if registry is None:
            registry = jwt.JWTClaimsRegistry(
                now=lambda: int(self._clock.now().timestamp()),
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": audience},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                jti={"essential": True},
                token_use={"essential": True, "value": token_use},
            )
            self._registries[(audience, token_use)] = registry
        return registry

    def _decode(
        self,
        token: str,
        *,
        audience: str,
        expected_use: str,
        invalid: AccessDenied,
        keys: SigningKeys | None = None,
    ) -> dict[str, Any]:
        """Verify signature, pinned algorithm, ``kid`` and registered claims; return them.

        A token that does not verify under the loaded keys is tried once more under the key
        file's current keys if the file changed (another process rotated and signed with its
        new key); an unchanged file refuses it at once.
        """
        keys = keys or self.keys
        try:
            decoded = jwt.decode(token, keys.key_set, algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError) as exc:
            current = self._reread_if_changed()
            if current is keys:
                raise invalid from exc
            return self._decode(
                token, audience=audience, expected_use=expected_use, invalid=invalid, keys=current
            )
        if decoded.header.get("alg") != ALGORITHM or "kid" not in decoded.header:
            raise invalid
        try:
            self._registry(audience, expected_use).validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise AccessDenied(
                f"the {'access' if expected_use == 'access' else 'ID'} token has expired; sign in "
                "again",
                code="ExpiredToken",
            ) from exc
        except JoseError as exc:
            raise invalid from exc
        return dict(decoded.claims)


def _checked_ttl(ttl_seconds: int) -> int:
    if not MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidParameterValue(
            f"token lifetime must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds; got "
            f"{ttl_seconds}"
        )
    return ttl_seconds
