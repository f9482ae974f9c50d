"""Access tokens: short-lived JWTs signed with ES256 keys kept in their own file.

* Signing keys (P-256, joserfc) live in ``LAKEVAULT_HOME/keys/token-signing.jwks`` (mode
  0600, written atomically), apart from the database: a copy of the database alone cannot mint
  tokens. The newest key signs; older keys keep verifying until every token they signed has
  expired, then ``rotate`` drops them.
* Verification pins the algorithm (ES256 only — never ``none``, never HMAC with a public key),
  requires ``kid``, ``iss``, ``aud``, ``sub``, ``exp``, ``iat`` and ``jti``, and allows 30 s of
  clock skew. Every failure is one ``AccessDenied`` ("the access token is not valid"), with
  ``ExpiredToken`` as the only distinguishable reason, so a client can refresh.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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


def _key_path(home: Path) -> Path:
    return home / "keys" / KEY_FILE_NAME


def _new_key(random: RandomSource, now: datetime) -> ECKey:
    kid = now.strftime("%Y%m%dT%H%M%S") + "-" + random.token_bytes(4).hex()
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
    ) -> None:
        if not MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS:
            raise InvalidParameterValue(
                f"token lifetime must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds; got "
                f"{ttl_seconds}"
            )
        self._load_keys = keys
        self._loaded: SigningKeys | None = None
        self._lock = threading.Lock()
        self._clock = clock
        self._random = random
        self._issuer = issuer
        self._ttl = ttl_seconds

    @property
    def keys(self) -> SigningKeys:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load_keys()
        return self._loaded

    def issue(self, principal: Principal) -> IssuedToken:
        now = self._clock.now()
        expires = now + timedelta(seconds=self._ttl)
        token_id = base64.urlsafe_b64encode(self._random.token_bytes(16)).decode().rstrip("=")
        claims = {
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
        }
        key = self.keys.signing_key
        token = jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}, claims, key)
        return IssuedToken(token=token, expires_at=expires, token_id=token_id)

    def verify(self, token: str) -> TokenClaims:
        """Check signature, algorithm, issuer, audience and times; return the claims."""
        invalid = AccessDenied("the access token is not valid; sign in again", code="InvalidToken")
        try:
            decoded = jwt.decode(token, self.keys.key_set, algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError) as exc:
            raise invalid from exc
        if decoded.header.get("alg") != ALGORITHM or "kid" not in decoded.header:
            raise invalid
        now = int(self._clock.now().timestamp())
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": AUDIENCE},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
            token_use={"essential": True, "value": "access"},
        )
        try:
            registry.validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise AccessDenied(
                "the access token has expired; sign in again", code="ExpiredToken"
            ) from exc
        except JoseError as exc:
            raise invalid from exc
        claims = decoded.claims
        try:
            return TokenClaims(
                principal_id=str(claims["sub"]),
                principal_arn=str(claims["lakevault:arn"]),
                account_id=str(claims["lakevault:account"]),
                user_name=str(claims.get("username", "")),
                token_id=str(claims["jti"]),
                issued_at=datetime.fromtimestamp(int(claims["iat"]), self._clock.now().tzinfo),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), self._clock.now().tzinfo),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise invalid from exc
