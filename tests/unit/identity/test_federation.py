"""ID token validation, provider settings and team mapping: one named test per rule.

Tokens are made here with keys generated for the test (joserfc), so every rule can be broken
on its own; the end-to-end tests against a real identity provider are in
``tests/unit/api/test_federation_api.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from lakevault import identity
from lakevault.core.errors import ValidationError
from lakevault.identity import (
    FederationFailure,
    SigningAlgorithm,
    TeamRole,
)
from lakevault.identity._federation import LEEWAY_SECONDS, check_provider_settings

ISSUER = "https://login.example.com/realms/corp"
CLIENT = "lakevault"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SIGNER = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})
KEYS = KeySet([RSAKey.import_key(SIGNER.as_dict(private=False))])


def claims(**changes: Any) -> dict[str, Any]:
    now = int(NOW.timestamp())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "248289761001",
        "iat": now - 10,
        "exp": now + 300,
        "nonce": "n-123",
        "email": "jane@example.com",
        "groups": ["data-eng", "everyone"],
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def token(body: dict[str, Any] | None = None, *, key: Any = SIGNER, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "idp-1"}, claims() if body is None else body, key)


def validate(value: str, **overrides: Any) -> identity.WebIdentity:
    arguments: dict[str, Any] = {
        "key_set": KEYS,
        "issuer": ISSUER,
        "audiences": (CLIENT, "cli"),
        "algorithms": (SigningAlgorithm.RS256,),
        "group_claim": "groups",
        "now": NOW,
        "expected_nonce": "n-123",
    }
    arguments.update(overrides)
    return identity.validate_id_token(value, **arguments)


def reason_of(value: str, **overrides: Any) -> FederationFailure:
    with pytest.raises(identity.InvalidIdentityToken) as caught:
        validate(value, **overrides)
    assert caught.value.message == identity.InvalidIdentityToken(FederationFailure.EXPIRED).message
    return caught.value.reason


def test_a_valid_token_gives_the_web_identity() -> None:
    found = validate(token())
    assert (found.subject, found.audience, found.groups) == (
        "248289761001",
        CLIENT,
        ("data-eng", "everyone"),
    )
    assert found.display_name == "jane@example.com"


def test_signature_with_another_key_is_refused() -> None:
    forger = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})
    assert reason_of(token(key=forger)) is FederationFailure.BAD_SIGNATURE


def test_unknown_key_id_is_refused() -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "other"})
    forged = jwt.encode({"alg": "RS256", "kid": "other"}, claims(), other)
    assert reason_of(forged) is FederationFailure.UNKNOWN_KEY


def test_alg_none_is_refused() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).decode().rstrip("=")
    assert reason_of(f"{header}.{body}.") is FederationFailure.UNSUPPORTED_ALGORITHM


def test_hmac_with_the_public_key_as_secret_is_refused() -> None:
    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).decode().rstrip("=")

    public_pem = SIGNER.as_pem(private=False)
    signing_input = (
        part(b'{"alg":"HS256","kid":"idp-1"}') + "." + part(json.dumps(claims()).encode())
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert reason_of(f"{signing_input}.{part(mac)}") is FederationFailure.UNSUPPORTED_ALGORITHM


def test_an_algorithm_the_provider_does_not_allow_is_refused() -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "idp-1"})
    signed = jwt.encode({"alg": "ES256", "kid": "idp-1"}, claims(), ec)
    assert reason_of(signed) is FederationFailure.UNSUPPORTED_ALGORITHM


def test_wrong_issuer_is_refused() -> None:
    assert reason_of(token(claims(iss=ISSUER + "/"))) is FederationFailure.WRONG_ISSUER


def test_wrong_audience_is_refused() -> None:
    assert reason_of(token(claims(aud="someone-else"))) is FederationFailure.WRONG_AUDIENCE


def test_empty_audience_is_refused() -> None:
    assert reason_of(token(claims(aud=[]))) is FederationFailure.WRONG_AUDIENCE


def test_several_audiences_need_an_authorized_party() -> None:
    body = claims(aud=[CLIENT, "another"])
    assert reason_of(token(body)) is FederationFailure.WRONG_AUTHORIZED_PARTY
    assert validate(token({**body, "azp": CLIENT})).audience == CLIENT


def test_an_authorized_party_that_is_not_allowed_is_refused() -> None:
    assert reason_of(token(claims(azp="another"))) is FederationFailure.WRONG_AUTHORIZED_PARTY


def test_an_expired_token_is_told_apart() -> None:
    late = NOW + timedelta(seconds=300 + LEEWAY_SECONDS)
    with pytest.raises(identity.ExpiredIdentityToken) as caught:
        validate(token(), now=late)
    assert caught.value.code == "ExpiredTokenException"
    # Within the leeway it is still accepted.
    validate(token(), now=late - timedelta(seconds=1))


def test_a_token_issued_in_the_future_is_refused() -> None:
    future = int((NOW + timedelta(minutes=5)).timestamp())
    assert reason_of(token(claims(iat=future))) is FederationFailure.ISSUED_IN_FUTURE


def test_a_token_not_yet_valid_is_refused() -> None:
    future = int((NOW + timedelta(minutes=5)).timestamp())
    assert reason_of(token(claims(nbf=future))) is FederationFailure.NOT_YET_VALID


@pytest.mark.parametrize("claim", ["sub", "exp", "iat"])
def test_a_missing_required_claim_is_refused(claim: str) -> None:
    assert reason_of(token(claims(**{claim: None}))) is FederationFailure.MISSING_CLAIM


def test_a_nonce_from_another_sign_in_is_refused() -> None:
    assert reason_of(token(claims(nonce="n-999"))) is FederationFailure.NONCE_MISMATCH
    assert reason_of(token(claims(nonce=None))) is FederationFailure.NONCE_MISMATCH
    # Without an expected nonce (AssumeRoleWithWebIdentity), none is checked.
    validate(token(claims(nonce=None)), expected_nonce=None)


def test_a_group_claim_that_is_not_strings_is_refused() -> None:
    assert reason_of(token(claims(groups=[1, 2]))) is FederationFailure.MALFORMED_GROUPS
    assert validate(token(claims(groups="solo"))).groups == ("solo",)
    assert validate(token(claims(groups=None))).groups == ()


@pytest.mark.parametrize("value", ["", "a.b", "a.b.c.d", "x" * 20001 + ".a.b", "@@@.###.$$$"])
def test_malformed_tokens_are_refused(value: str) -> None:
    assert reason_of(value) is FederationFailure.MALFORMED_TOKEN


def test_the_unverified_issuer_is_read_only_to_find_the_provider() -> None:
    assert identity.read_unverified_issuer(token()) == ISSUER
    with pytest.raises(identity.InvalidIdentityToken):
        identity.read_unverified_issuer(token(claims(iss=None)))


# --- provider settings, names, mapping -------------------------------------------------------


def test_provider_arn_and_condition_prefix_follow_aws() -> None:
    assert identity.oidc_provider_arn("123456789012", ISSUER) == (
        "arn:aws:iam::123456789012:oidc-provider/login.example.com/realms/corp"
    )
    assert identity.issuer_condition_prefix("https://accounts.example.com/") == (
        "accounts.example.com"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://login.example.com",
        "ftp://login.example.com",
        "https://",
        "https://login.example.com/?q=1",
        "https://login.example.com/#f",
        "https://user@login.example.com",
        "https://login.example.com:notaport",
    ],
)
def test_insecure_or_odd_issuers_are_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        check(issuer=url)


def test_http_is_accepted_on_loopback_only_when_allowed() -> None:
    with pytest.raises(ValidationError):
        check(issuer="http://localhost:8080")
    check(issuer="http://localhost:8080", allow_http_loopback=True)
    check(issuer="http://127.0.0.1:8080", allow_http_loopback=True)
    with pytest.raises(ValidationError):
        check(issuer="http://10.0.0.1", allow_http_loopback=True)


def check(**changes: Any) -> tuple[tuple[str, ...], tuple[SigningAlgorithm, ...]]:
    arguments: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT,
        "audiences": ["cli"],
        "group_claim": "groups",
        "team_roles": [TeamRole(team="data-eng", role_name="DataEngineer")],
        "signing_algorithms": ["RS256"],
        "scopes": ["openid", "email"],
        "redirect_uri": "https://lakevault.example.com/api/v1/federation/callback",
        "allow_http_loopback": False,
    }
    arguments.update(changes)
    return check_provider_settings(**arguments)


def test_the_client_id_is_always_an_allowed_audience() -> None:
    audiences, algorithms = check()
    assert audiences == (CLIENT, "cli") and algorithms == (SigningAlgorithm.RS256,)


@pytest.mark.parametrize(
    "changes",
    [
        {"signing_algorithms": ["HS256"]},
        {"signing_algorithms": ["none"]},
        {"signing_algorithms": []},
        {"scopes": ["email"]},
        {"group_claim": "groups with spaces"},
        {"team_roles": [TeamRole(team="a", role_name="R"), TeamRole(team="a", role_name="S")]},
        {"team_roles": [TeamRole(team="a", role_name="bad role")]},
        {"client_id": ""},
    ],
)
def test_bad_provider_settings_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        check(**changes)


MAPPING = (
    TeamRole(team="admins", role_name="Admin"),
    TeamRole(team="data-eng", role_name="DataEngineer"),
)


def test_the_first_mapped_team_wins() -> None:
    assert identity.choose_team(["data-eng", "admins"], MAPPING, None).role_name == "Admin"
    assert identity.choose_team(["data-eng"], MAPPING, None).role_name == "DataEngineer"


def test_a_requested_team_must_be_one_of_the_persons() -> None:
    chosen = identity.choose_team(["data-eng", "admins"], MAPPING, "data-eng")
    assert chosen.role_name == "DataEngineer"
    with pytest.raises(identity.FederatedSignInFailed) as caught:
        identity.choose_team(["data-eng"], MAPPING, "admins")
    assert caught.value.reason is FederationFailure.TEAM_NOT_A_MEMBER


def test_no_mapped_team_means_no_role() -> None:
    with pytest.raises(identity.FederatedSignInFailed) as caught:
        identity.choose_team(["marketing"], MAPPING, None)
    assert caught.value.reason is FederationFailure.NO_MAPPED_TEAM
    assert caught.value.code == "AccessDenied"


def test_condition_keys_name_the_issuer() -> None:
    found = validate(token())
    context = identity.web_identity_context(found)
    assert context == {
        "login.example.com/realms/corp:aud": CLIENT,
        "login.example.com/realms/corp:sub": "248289761001",
        "login.example.com/realms/corp:groups": ["data-eng", "everyone"],
    }


def test_session_names_are_made_safe() -> None:
    found = validate(token(claims(email=None, preferred_username="Jane Doe/ü")))
    assert identity.session_name_for(found) == "Jane-Doe-ü"
    short = validate(token(claims(email=None, preferred_username="j")))
    assert identity.session_name_for(short) == "web-248289761001"
    long = validate(token(claims(email="x" * 100)))
    assert identity.session_name_for(long) == "x" * 64
