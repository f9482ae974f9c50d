"""The IdP-facing rules of ``OIDCClient`` (docs/decisions/0102): what it fetches and refuses.

The identity provider here is a small in-test HTTP handler behind ``httpx.MockTransport`` that
serves what a misbehaving or hostile IdP could serve; lakevault's client is the real one. The
happy path against a real IdP is in ``tests/unit/api/test_federation_api.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from lakevault import identity
from lakevault.core import FixedClock
from lakevault.identity import FederationFailure, SigningAlgorithm, TeamRole

ISSUER = "https://login.example.com"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class FakeIdP:
    """Serves discovery and JWKS documents, counting the requests it gets."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.discovery: dict[str, Any] = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks",
        }
        self.requests: list[str] = []
        self.override: Callable[[httpx.Request], httpx.Response] | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self.override is not None:
            return self.override(request)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, content=orjson.dumps(self.discovery))
        if request.url.path == "/jwks":
            document = {"keys": [k.as_dict(private=False) for k in self.keys]}
            return httpx.Response(200, content=orjson.dumps(document))
        return httpx.Response(404)

    def token(self, kid: str = "k1") -> str:
        key = next(k for k in self.keys if k.kid == kid)
        now = int(NOW.timestamp())
        claims = {"iss": ISSUER, "aud": "lv", "sub": "s", "iat": now, "exp": now + 300}
        return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)


PROVIDER = identity.OIDCProviderInfo(
    provider_id="LVOPAAAAAAAAAAAAAAAA",
    account_id="123456789012",
    arn=identity.oidc_provider_arn("123456789012", ISSUER),
    issuer=ISSUER,
    client_id="lv",
    has_client_secret=False,
    audiences=("lv",),
    group_claim="groups",
    team_roles=(TeamRole(team="t", role_name="R"),),
    signing_algorithms=(SigningAlgorithm.RS256,),
    scopes=("openid",),
    redirect_uri="https://lakevault.example.com/api/v1/federation/callback",
    created_at=NOW,
)


@pytest.fixture
def idp() -> FakeIdP:
    return FakeIdP()


def client_for(idp: FakeIdP, clock: FixedClock | None = None) -> identity.OIDCClient:
    return identity.OIDCClient(
        clock=clock or FixedClock(NOW), transport=httpx.MockTransport(idp.handle)
    )


def refused(call: Callable[[], object]) -> FederationFailure:
    with pytest.raises(identity.IDPCommunicationError) as caught:
        call()
    return caught.value.reason


def test_a_token_verifies_with_the_published_keys(idp: FakeIdP) -> None:
    found = client_for(idp).verify(idp.token(), PROVIDER, now=NOW)
    assert found.subject == "s"


def test_a_discovery_document_for_another_issuer_is_refused(idp: FakeIdP) -> None:
    idp.discovery["issuer"] = "https://login.attacker.example"
    assert refused(lambda: client_for(idp).metadata(ISSUER)) is (
        FederationFailure.DISCOVERY_MISMATCH
    )


def test_an_endpoint_that_is_not_https_is_never_called(idp: FakeIdP) -> None:
    idp.discovery["jwks_uri"] = "http://169.254.169.254/latest/meta-data"
    assert refused(lambda: client_for(idp).metadata(ISSUER)) is (
        FederationFailure.DISCOVERY_MISMATCH
    )
    assert idp.requests == ["/.well-known/openid-configuration"]


def test_redirects_are_not_followed(idp: FakeIdP) -> None:
    idp.override = lambda request: httpx.Response(302, headers={"location": "https://x.example"})
    assert refused(lambda: client_for(idp).metadata(ISSUER)) is (
        FederationFailure.PROVIDER_UNREACHABLE
    )
    assert len(idp.requests) == 1


def test_an_oversized_document_is_refused(idp: FakeIdP) -> None:
    idp.override = lambda request: httpx.Response(200, content=b"[" + b"0," * 400_000 + b"0]")
    assert refused(lambda: client_for(idp).metadata(ISSUER)) is (
        FederationFailure.PROVIDER_UNREACHABLE
    )


def test_an_unknown_key_id_refetches_the_keys_once(idp: FakeIdP) -> None:
    clock = FixedClock(NOW)
    client = client_for(idp, clock)
    client.verify(idp.token(), PROVIDER, now=NOW)
    # The IdP rotates its key: a token with the new kid triggers one refetch and verifies.
    idp.keys.append(RSAKey.generate_key(2048, parameters={"kid": "k2"}))
    clock.advance(seconds=61)
    assert client.verify(idp.token("k2"), PROVIDER, now=NOW).subject == "s"
    fetches = idp.requests.count("/jwks")
    assert fetches == 2
    # Forged key ids right after do not make lakevault fetch again (at most once a minute).
    with pytest.raises(identity.InvalidIdentityToken) as caught:
        forged = RSAKey.generate_key(2048, parameters={"kid": "k3"})
        now = int(NOW.timestamp())
        body = {"iss": ISSUER, "aud": "lv", "sub": "s", "iat": now, "exp": now + 300}
        client.verify(jwt.encode({"alg": "RS256", "kid": "k3"}, body, forged), PROVIDER, now=NOW)
    assert caught.value.reason is FederationFailure.UNKNOWN_KEY
    assert idp.requests.count("/jwks") == fetches


def test_the_authorization_url_carries_pkce_state_and_nonce(idp: FakeIdP) -> None:
    url = client_for(idp).authorization_url(
        PROVIDER, state="s" * 43, nonce="n" * 40, code_verifier="v" * 80
    )
    query = httpx.URL(url).params
    assert url.startswith(f"{ISSUER}/authorize?")
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] != "v" * 80 and len(query["code_challenge"]) == 43
    assert (query["state"], query["nonce"], query["response_type"]) == ("s" * 43, "n" * 40, "code")
    assert "code_verifier" not in query
