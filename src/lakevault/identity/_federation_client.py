"""Talking to an OIDC identity provider: discovery, keys, and the authorization code flow.

The flow is the ``authorization_code`` grant with PKCE (S256), a nonce and a state, built with
Authlib's RFC 6749 / RFC 7636 helpers over lakevault's own ``httpx`` client (so that the
network rules below hold for every call); the ID token it returns is then verified by
:func:`validate_id_token` with the IdP's keys. Network rules, because the issuer URL comes
from a tenant administrator:

* only the discovery document, the JWKS and the token endpoint are ever fetched; each must be
  ``https`` (``http`` on loopback only when the platform allows it for development);
* no redirects are followed, every call has a timeout, and documents larger than
  ``MAX_DOCUMENT_BYTES`` are refused;
* the discovery document's ``issuer`` must equal the registered issuer exactly (OpenID
  Connect Discovery §4.3), so a document cannot speak for another issuer.

Discovery documents and key sets are cached for ``cache_seconds``; a token signed with a key
id the cache does not know triggers one refetch (key rotation at the IdP), at most once per
``MIN_REFRESH_SECONDS`` per issuer, so forged key ids cannot make lakevault hammer the IdP.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from lakevault.core import Clock
from lakevault.core.errors import ValidationError
from lakevault.identity._errors import (
    FederationFailure,
    IDPCommunicationError,
    InvalidIdentityToken,
)
from lakevault.identity._federation import (
    OIDCProviderInfo,
    WebIdentity,
    check_url,
    read_unverified_header,
    validate_id_token,
)

MAX_DOCUMENT_BYTES = 512 * 1024
MIN_REFRESH_SECONDS = 60
_UNREACHABLE = "the identity provider did not answer usefully; try again later"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderMetadata:
    """The parts of an IdP's discovery document lakevault uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(slots=True)
class _Cached:
    value: Any
    fetched_at: float


class OIDCClient:
    """The IdP-facing side of federation; one per process, thread-safe.

    ``transport`` is for the test suite's in-process identity provider and for proxies; the
    default is a plain HTTPS client.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        allow_http_loopback: bool = False,
        timeout_seconds: float = 10.0,
        cache_seconds: int = 300,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._clock = clock
        self.allow_http_loopback = allow_http_loopback
        self._timeout = timeout_seconds
        self._cache_seconds = cache_seconds
        self._transport = transport
        self._lock = threading.Lock()
        self._metadata: dict[str, _Cached] = {}
        self._keys: dict[str, _Cached] = {}

    # --- documents ------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        return httpx.Client(
            timeout=self._timeout, follow_redirects=False, transport=self._transport
        )

    def _fetch_json(self, url: str, *, what: str) -> Mapping[str, Any]:
        self._secure(url, what)
        try:
            with self._http() as http, http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise IDPCommunicationError(
                        _UNREACHABLE, reason=FederationFailure.PROVIDER_UNREACHABLE
                    )
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise IDPCommunicationError(
                            _UNREACHABLE, reason=FederationFailure.PROVIDER_UNREACHABLE
                        )
            document = orjson.loads(bytes(body))
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            raise IDPCommunicationError(
                _UNREACHABLE, reason=FederationFailure.PROVIDER_UNREACHABLE
            ) from exc
        if not isinstance(document, dict):
            raise IDPCommunicationError(_UNREACHABLE, reason=FederationFailure.PROVIDER_UNREACHABLE)
        return document

    def _secure(self, url: str, what: str) -> None:
        try:
            check_url(url, parameter=what, allow_http_loopback=self.allow_http_loopback)
        except ValidationError as exc:
            raise IDPCommunicationError(
                "the identity provider's discovery document names an endpoint that is not "
                "https; lakevault refuses to call it",
                reason=FederationFailure.DISCOVERY_MISMATCH,
            ) from exc

    def _cached(
        self, cache: dict[str, _Cached], key: str, load: Callable[[], Any], *, force: bool
    ) -> Any:
        now = self._clock.now().timestamp()
        with self._lock:
            entry = cache.get(key)
            if entry is not None:
                age = now - entry.fetched_at
                if age < self._cache_seconds and not (force and age >= MIN_REFRESH_SECONDS):
                    return entry.value
        value = load()
        with self._lock:
            cache[key] = _Cached(value, now)
        return value

    def metadata(self, issuer: str) -> ProviderMetadata:
        """The IdP's discovery document (cached), checked to speak for ``issuer``."""

        def load() -> ProviderMetadata:
            url = issuer.rstrip("/") + "/.well-known/openid-configuration"
            document = self._fetch_json(url, what="the discovery document URL")
            fields = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
            if not all(isinstance(document.get(name), str) for name in fields):
                raise IDPCommunicationError(
                    _UNREACHABLE, reason=FederationFailure.DISCOVERY_MISMATCH
                )
            if document["issuer"] != issuer:
                raise IDPCommunicationError(
                    "the identity provider's discovery document names another issuer than "
                    "the one registered; register the issuer exactly as the IdP spells it",
                    reason=FederationFailure.DISCOVERY_MISMATCH,
                )
            for name in fields[1:]:
                self._secure(document[name], name)
            return ProviderMetadata(
                issuer=issuer,
                authorization_endpoint=document["authorization_endpoint"],
                token_endpoint=document["token_endpoint"],
                jwks_uri=document["jwks_uri"],
            )

        metadata: ProviderMetadata = self._cached(self._metadata, issuer, load, force=False)
        return metadata

    def key_set(self, issuer: str, *, key_id: str | None) -> KeySet:
        """The IdP's public keys; refetched once when ``key_id`` is not among them."""

        def load() -> KeySet:
            document = self._fetch_json(self.metadata(issuer).jwks_uri, what="jwks_uri")
            try:
                return KeySet.import_key_set(
                    {
                        "keys": [
                            key
                            for key in document.get("keys", [])
                            if isinstance(key, dict) and key.get("kty") in {"RSA", "EC", "OKP"}
                        ]
                    }
                )
            except (JoseError, ValueError, TypeError) as exc:
                raise IDPCommunicationError(
                    _UNREACHABLE, reason=FederationFailure.PROVIDER_UNREACHABLE
                ) from exc

        keys: KeySet = self._cached(self._keys, issuer, load, force=False)
        if key_id is not None and all(key.kid != key_id for key in keys.keys):
            keys = self._cached(self._keys, issuer, load, force=True)
        return keys

    # --- tokens ---------------------------------------------------------------------------

    def verify(
        self,
        token: str,
        provider: OIDCProviderInfo,
        *,
        now: datetime,
        expected_nonce: str | None = None,
    ) -> WebIdentity:
        """Validate an ID token of ``provider`` (see :mod:`._federation`)."""
        header = read_unverified_header(token)
        key_id = header.get("kid")
        if key_id is not None and not isinstance(key_id, str):
            raise InvalidIdentityToken(FederationFailure.MALFORMED_TOKEN)
        return validate_id_token(
            token,
            key_set=self.key_set(provider.issuer, key_id=key_id),
            issuer=provider.issuer,
            audiences=provider.audiences,
            algorithms=provider.signing_algorithms,
            group_claim=provider.group_claim,
            now=now,
            expected_nonce=expected_nonce,
        )

    def authorization_url(
        self, provider: OIDCProviderInfo, *, state: str, nonce: str, code_verifier: str
    ) -> str:
        """Where to send the person: the IdP's authorization endpoint with PKCE (S256), state
        and nonce (Authlib's RFC 6749 and RFC 7636 helpers)."""
        metadata = self.metadata(provider.issuer)
        url: str = prepare_grant_uri(
            metadata.authorization_endpoint,
            client_id=provider.client_id,
            response_type="code",
            redirect_uri=provider.redirect_uri,
            scope=" ".join(provider.scopes),
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
        return url

    def exchange_code(
        self,
        provider: OIDCProviderInfo,
        *,
        code: str,
        code_verifier: str,
        client_secret: str | None,
    ) -> str:
        """Redeem an authorization code at the token endpoint; return the ID token.

        A confidential client authenticates with ``client_secret_basic`` (RFC 6749 §2.3.1), a
        public one sends its ``client_id``; both send the PKCE verifier. Raises
        ``IDPCommunicationError`` when the IdP refuses the code or does not answer.
        """
        metadata = self.metadata(provider.issuer)
        extra = {} if client_secret else {"client_id": provider.client_id}
        body: str = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=provider.redirect_uri,
            code_verifier=code_verifier,
            **extra,
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        if client_secret:
            pair = f"{quote(provider.client_id, safe='')}:{quote(client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        refused = IDPCommunicationError(
            "the identity provider refused the authorization code; sign in again",
            reason=FederationFailure.PROVIDER_ERROR,
        )
        try:
            with self._http() as http:
                response = http.post(
                    metadata.token_endpoint, content=body.encode("ascii"), headers=headers
                )
            answer = orjson.loads(response.content[: MAX_DOCUMENT_BYTES + 1])
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            raise refused from exc
        if response.status_code != 200 or not isinstance(answer, dict):
            raise refused
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise IDPCommunicationError(
                "the identity provider returned no ID token; check that the provider's scopes "
                "include 'openid'",
                reason=FederationFailure.PROVIDER_ERROR,
            )
        return id_token
