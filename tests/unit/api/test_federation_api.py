"""OIDC federation end to end against a real identity provider running in the test process.

The IdP is Canaille, started by pytest-iam on a loopback port; lakevault talks to it over real
HTTP (discovery, JWKS, token endpoint), on SQLite and PostgreSQL. Security tests assert the
refusal and its code, that no credentials were issued, that the audit log names the reason
(or the deciding trust statement), and that no secret reaches a response or the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import func, select
from typer.testing import CliRunner

from lakevault import identity
from lakevault.api import create_app
from lakevault.cli import app as cli_app
from lakevault.cli._client import ApiClient
from lakevault.core import FixedClock, load_settings
from lakevault.db import Database, models
from lakevault.runtime import Platform, initialise
from tests.unit.api.conftest import World, error
from tests.unit.api.test_credentials_api import signed_call

CALLBACK = "http://127.0.0.1/api/v1/federation/callback"
#: What the test IdP may sign ID tokens with (its key is RSA; Canaille picks the algorithm).
IDP_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}],
}


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    """The API on each backend, allowing the loopback (http) identity provider."""
    settings = load_settings(
        {
            "LAKEVAULT_HOME": str(tmp_path),
            "LAKEVAULT_DATABASE_URL": database.url,
            "LAKEVAULT_FEDERATION_ALLOW_HTTP_LOOPBACK": "true",
        }
    )
    # The IdP signs with the real time; lakevault's clock starts there and moves when told.
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    platform = Platform.build(settings, clock=clock)
    credentials = initialise(platform).credentials
    assert credentials is not None
    with TestClient(
        create_app(platform), base_url="http://127.0.0.1", raise_server_exceptions=False
    ) as client:
        yield World(client, platform, clock, credentials.password)


@dataclass
class IdP:
    """The in-process identity provider and one OIDC client registered at it."""

    server: Any
    issuer: str
    client_id: str
    client_secret: str

    def register_client(
        self, redirect_uri: str = CALLBACK, *, public: bool = False
    ) -> tuple[str, str]:
        client_id, client_secret = "lv-" + secrets.token_hex(6), secrets.token_urlsafe(24)
        client = self.server.models.Client(
            client_id=client_id,
            client_secret=None if public else client_secret,
            client_name="lakevault",
            client_uri="http://127.0.0.1",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code"],
            response_types=["code"],
            token_endpoint_auth_method="none" if public else "client_secret_basic",
            scope=["openid", "profile", "email", "groups"],
        )
        self.server.backend.save(client)
        # The ID token's audience is the client's audience list (Canaille's model).
        client.audience = [client]
        self.server.backend.save(client)
        return client_id, client_secret

    def person(self, *groups: str) -> Any:
        """A person at the IdP in ``groups``, signed in there and consenting to every client."""
        suffix = secrets.token_hex(4)
        members = [self.server.random_group(display_name=f"{g}") for g in groups]
        user = self.server.random_user(user_name=f"person-{suffix}", groups=members)
        self.server.login(user)
        self.server.consent(user)
        return user

    def authorize(self, authorization_url: str) -> str:
        """Follow the IdP's authorization endpoint (the person is signed in there); return
        the URL it redirects the browser to."""
        answer = httpx.get(authorization_url, follow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    def id_token(self, client_id: str, client_secret: str, *, nonce: str = "n-0") -> str:
        """An ID token obtained the way a web app would (code flow with PKCE) for ``client_id``."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "scope": "openid profile email groups",
                "state": secrets.token_urlsafe(8),
                "nonce": nonce,
                "code_challenge": challenge.decode().rstrip("="),
                "code_challenge_method": "S256",
            }
        )
        location = self.authorize(f"{self.issuer}/oauth/authorize?{query}")
        code = parse_qs(urlsplit(location).query)["code"][0]
        answer = httpx.post(
            f"{self.issuer}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
            auth=(client_id, client_secret),
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["id_token"])


@pytest.fixture
def idp(iam_server: Any) -> IdP:
    issuer = iam_server.url.rstrip("/")
    facade = IdP(server=iam_server, issuer=issuer, client_id="", client_secret="")
    facade.client_id, facade.client_secret = facade.register_client()
    return facade


@dataclass
class Tenant:
    account: str
    admin: dict[str, str]
    provider: dict[str, Any]
    prefix: str


def register(
    world: World,
    idp: IdP,
    *,
    teams: dict[str, str],
    name: str = "fed",
    client_id: str = "",
    client_secret: str | None = "",
) -> Tenant:
    account, admin, _ = world.new_tenant(name)
    created = world.client.post(
        f"/api/v1/tenants/{account}/oidc-providers",
        json={
            "issuerUrl": idp.issuer,
            "clientId": client_id or idp.client_id,
            "clientSecret": idp.client_secret if client_secret == "" else client_secret,
            "redirectUri": CALLBACK,
            "groupClaim": "groups",
            "teamRoles": [{"team": team, "roleName": role} for team, role in teams.items()],
            "scopes": ["openid", "profile", "email", "groups"],
            "signingAlgorithms": IDP_ALGORITHMS,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    return Tenant(account, admin, created.json(), identity.issuer_condition_prefix(idp.issuer))


def web_trust(tenant: Tenant, audience: str, group: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TeamMembersOfTheIdP",
                "Effect": "Allow",
                "Principal": {"Federated": tenant.provider["arn"]},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{tenant.prefix}:aud": audience},
                    "ForAnyValue:StringEquals": {f"{tenant.prefix}:groups": group},
                },
            }
        ],
    }


def role(world: World, tenant: Tenant, name: str, trust: dict[str, Any]) -> str:
    created = world.client.post(
        f"/api/v1/tenants/{tenant.account}/roles",
        json={"roleName": name, "assumeRolePolicyDocument": trust},
        headers=tenant.admin,
    )
    assert created.status_code == 201, created.text
    policy = world.client.post(
        f"/api/v1/tenants/{tenant.account}/policies",
        json={"policyName": f"{name}Read", "policyDocument": READ_ONLY},
        headers=tenant.admin,
    ).json()
    world.client.put(
        f"/api/v1/tenants/{tenant.account}/roles/{name}/attached-policies",
        json={"policyArn": policy["arn"]},
        headers=tenant.admin,
    )
    return str(created.json()["arn"])


def start(world: World, tenant: Tenant, **query: str) -> str:
    suffix = f"?{urlencode(query)}" if query else ""
    answer = world.client.get(
        f"/api/v1/federation/{tenant.account}/{tenant.provider['providerId']}/sign-in{suffix}",
        follow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def callback(world: World, location: str) -> httpx.Response:
    parts = urlsplit(location)
    return world.client.get(f"{parts.path}?{parts.query}")


def sessions(world: World) -> int:
    with world.platform.database.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(models.RoleSession)) or 0)


def audit_records(world: World, account: str) -> list[dict[str, Any]]:
    return list(world.platform.audit.read(account, limit=100000))


def failure_reasons(world: World, account: str) -> list[str]:
    return [
        record["additionalEventData"]["failureReason"]
        for record in audit_records(world, account)
        if (record.get("additionalEventData") or {}).get("failureReason")
    ]


def assert_no_secrets(world: World, account: str, *texts: str, secrets_: tuple[str, ...]) -> None:
    audit = world.audit_text(account) + world.audit_text("000000000000")
    for secret in secrets_:
        assert secret not in audit
        for text in texts:
            assert secret not in text


def query_value(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


# --- the code flow --------------------------------------------------------------------------


def test_sign_in_through_the_identity_provider_gives_the_mapped_roles_credentials(
    world: World, idp: IdP
) -> None:
    team = "data-eng-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "DataEngineer"})
    assert "clientSecret" not in json.dumps(tenant.provider)
    assert tenant.provider["arn"] == identity.oidc_provider_arn(tenant.account, idp.issuer)
    role_arn = role(world, tenant, "DataEngineer", web_trust(tenant, idp.client_id, team))
    person = idp.person(team, "unrelated-" + secrets.token_hex(3))

    authorization = start(world, tenant)
    assert authorization.startswith(f"{idp.issuer}/oauth/authorize?")
    assert query_value(authorization, "code_challenge_method") == "S256"
    assert len(query_value(authorization, "nonce")) >= 32
    location = idp.authorize(authorization)
    answer = callback(world, location)
    assert answer.status_code == 200, answer.text
    credentials = answer.json()
    assert credentials["roleArn"] == role_arn and credentials["team"] == team
    assert credentials["providerArn"] == tenant.provider["arn"]
    # The session is named after the person (preferred_username, else email, else sub).
    assert credentials["assumedRoleArn"] == (
        f"arn:aws:sts::{tenant.account}:assumed-role/DataEngineer/{person.emails[0]}"
    )

    def call(path: str) -> httpx.Response:
        return signed_call(
            world,
            "GET",
            path,
            key_id=credentials["accessKeyId"],
            secret=credentials["secretAccessKey"],
            token=credentials["sessionToken"],
        )

    assert call(f"/api/v1/tenants/{tenant.account}/users").status_code == 200
    assert call("/api/v1/sts/caller-identity").json()["arn"] == credentials["assumedRoleArn"]

    records = audit_records(world, tenant.account)
    decisions = [
        r for r in records if r["eventName"] == "AssumeRoleWithWebIdentity" and r.get("decision")
    ]
    assert decisions and decisions[-1]["decision"]["effect"] == "Allowed"
    assert any(s["sid"] == "TeamMembersOfTheIdP" for s in decisions[-1]["decision"]["statements"])
    change = [
        r
        for r in records
        if r["eventName"] == "AssumeRoleWithWebIdentity" and not r.get("decision")
    ][-1]
    assert change["userIdentity"]["arn"] == tenant.provider["arn"]
    assert change["requestParameters"]["team"] == team
    code = query_value(location, "code")
    state = query_value(location, "state")
    assert_no_secrets(
        world,
        tenant.account,
        answer.text,
        json.dumps(tenant.provider),
        secrets_=(idp.client_secret, code, state, query_value(authorization, "nonce")),
    )


def test_a_callback_with_a_state_lakevault_never_issued_is_refused(world: World, idp: IdP) -> None:
    team = "ops-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "Ops"})
    role(world, tenant, "Ops", web_trust(tenant, idp.client_id, team))
    idp.person(team)
    location = idp.authorize(start(world, tenant))
    parts = urlsplit(location)
    forged = parse_qs(parts.query)
    forged["state"] = [secrets.token_urlsafe(32)]
    # A browser presenting, consistently, a state lakevault never issued.
    world.client.cookies.clear()
    world.client.cookies.set("lakevault_oidc_state", forged["state"][0])
    answer = callback(world, urlunsplit(parts._replace(query=urlencode(forged, doseq=True))))
    assert error(answer) == (403, "AccessDenied")
    assert sessions(world) == 0
    assert "unknown-state" in failure_reasons(world, "000000000000")


def test_a_callback_in_a_browser_that_did_not_start_the_sign_in_is_refused(
    world: World, idp: IdP
) -> None:
    team = "ops-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "Ops"})
    role(world, tenant, "Ops", web_trust(tenant, idp.client_id, team))
    idp.person(team)
    location = idp.authorize(start(world, tenant))
    world.client.cookies.clear()
    assert error(callback(world, location)) == (403, "AccessDenied")
    assert sessions(world) == 0
    assert failure_reasons(world, tenant.account) == ["state-not-bound"]
    # The state is used up: the same callback from the right browser no longer works either.
    assert error(callback(world, location)) == (403, "AccessDenied")


def test_an_answer_naming_another_issuer_is_refused(world: World, idp: IdP) -> None:
    """RFC 9207: the IdP names itself in the redirect; a mixed-up answer is refused."""
    team = "ops-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "Ops"})
    role(world, tenant, "Ops", web_trust(tenant, idp.client_id, team))
    idp.person(team)
    location = urlsplit(idp.authorize(start(world, tenant)))
    query = parse_qs(location.query)
    assert query["iss"] == [idp.issuer]
    query["iss"] = ["https://idp.attacker.example"]
    answer = callback(world, urlunsplit(location._replace(query=urlencode(query, doseq=True))))
    assert error(answer) == (403, "AccessDenied")
    assert sessions(world) == 0
    assert failure_reasons(world, tenant.account) == ["wrong-issuer"]


def test_a_person_may_choose_among_their_mapped_teams(world: World, idp: IdP) -> None:
    admins, engineers = "admins-" + secrets.token_hex(3), "eng-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={admins: "Admin", engineers: "Engineer"})
    role(world, tenant, "Admin", web_trust(tenant, idp.client_id, admins))
    role(world, tenant, "Engineer", web_trust(tenant, idp.client_id, engineers))
    idp.person(engineers, admins)
    # The first mapped team the person is in wins ...
    first = callback(world, idp.authorize(start(world, tenant)))
    assert first.status_code == 200, first.text
    assert first.json()["team"] == admins and first.json()["roleArn"].endswith(":role/Admin")
    # ... unless they ask for another of their teams.
    chosen = callback(world, idp.authorize(start(world, tenant, team=engineers)))
    assert chosen.json()["roleArn"].endswith(":role/Engineer")
    unmapped = world.client.get(
        f"/api/v1/federation/{tenant.account}/{tenant.provider['providerId']}/sign-in?team=x",
        follow_redirects=False,
    )
    assert error(unmapped) == (400, "InvalidParameterValue")
    assert sessions(world) == 2


def test_a_public_client_signs_in_with_pkce_alone(world: World, idp: IdP) -> None:
    public_client, _ = idp.register_client(public=True)
    team = "ops-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "Ops"}, client_id=public_client, client_secret=None)
    assert tenant.provider["isConfidentialClient"] is False
    role(world, tenant, "Ops", web_trust(tenant, public_client, team))
    idp.person(team)
    answer = callback(world, idp.authorize(start(world, tenant)))
    assert answer.status_code == 200, answer.text


def test_an_identity_provider_refusal_is_reported_without_credentials(
    world: World, idp: IdP
) -> None:
    team = "ops-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "Ops"})
    state = query_value(start(world, tenant), "state")
    refused = world.client.get(
        "/api/v1/federation/callback",
        params={"state": state, "error": "access_denied", "iss": idp.issuer},
    )
    assert error(refused) == (403, "AccessDenied")
    assert sessions(world) == 0
    assert failure_reasons(world, tenant.account) == ["provider-error"]


def test_a_sign_in_completes_once_and_expires(world: World, idp: IdP) -> None:
    team = "ops-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "Ops"})
    role(world, tenant, "Ops", web_trust(tenant, idp.client_id, team))
    idp.person(team)
    location = idp.authorize(start(world, tenant))
    assert callback(world, location).status_code == 200
    cookie_jar = dict(world.client.cookies)
    world.client.cookies.set("lakevault_oidc_state", query_value(location, "state"))
    assert error(callback(world, location)) == (403, "AccessDenied")
    assert "lakevault_oidc_state" not in cookie_jar
    world.client.cookies.clear()
    late = idp.authorize(start(world, tenant))
    world.clock.advance(seconds=identity.SIGN_IN_TTL_SECONDS + 1)
    assert error(callback(world, late)) == (403, "AccessDenied")
    assert sessions(world) == 1
    assert failure_reasons(world, tenant.account)[-1] == "expired-state"


def test_an_id_token_carrying_another_sign_ins_nonce_is_refused(world: World, idp: IdP) -> None:
    team = "ops-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "Ops"})
    role(world, tenant, "Ops", web_trust(tenant, idp.client_id, team))
    idp.person(team)
    first = start(world, tenant)
    assert callback(world, idp.authorize(first)).status_code == 200
    # A second sign-in whose IdP round trip is made to carry the first sign-in's nonce: the
    # code is genuine and bound to the second sign-in's PKCE challenge, the nonce is replayed.
    second = urlsplit(start(world, tenant))
    query = parse_qs(second.query)
    query["nonce"] = [query_value(first, "nonce")]
    replayed = idp.authorize(urlunsplit(second._replace(query=urlencode(query, doseq=True))))
    answer = callback(world, replayed)
    assert error(answer) == (400, "InvalidIdentityToken")
    assert sessions(world) == 1
    assert failure_reasons(world, tenant.account) == ["nonce-mismatch"]
    assert_no_secrets(
        world,
        tenant.account,
        answer.text,
        secrets_=(query_value(first, "nonce"), idp.client_secret),
    )


def test_a_person_in_no_mapped_team_gets_no_role(world: World, idp: IdP) -> None:
    team = "data-eng-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "DataEngineer"})
    role(world, tenant, "DataEngineer", web_trust(tenant, idp.client_id, team))
    idp.person("marketing-" + secrets.token_hex(3))
    answer = callback(world, idp.authorize(start(world, tenant)))
    assert error(answer) == (403, "AccessDenied")
    assert sessions(world) == 0
    assert failure_reasons(world, tenant.account) == ["no-mapped-team"]


def test_the_trust_policy_decides_even_for_a_mapped_team(world: World, idp: IdP) -> None:
    team = "data-eng-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "DataEngineer"})
    # The mapping names the team, but the trust policy only admits another group.
    role(world, tenant, "DataEngineer", web_trust(tenant, idp.client_id, "admins-only"))
    idp.person(team)
    answer = callback(world, idp.authorize(start(world, tenant)))
    assert error(answer) == (403, "AccessDenied")
    assert sessions(world) == 0
    denied = [
        r
        for r in audit_records(world, tenant.account)
        if r["eventName"] == "AssumeRoleWithWebIdentity" and r.get("decision")
    ]
    assert denied[-1]["errorCode"] == "AccessDenied"


# --- AssumeRoleWithWebIdentity --------------------------------------------------------------


def exchange(world: World, role_arn: str, token: str, name: str = "web-app") -> httpx.Response:
    return world.client.post(
        "/api/v1/sts/assume-role-with-web-identity",
        json={"roleArn": role_arn, "roleSessionName": name, "webIdentityToken": token},
    )


@pytest.fixture
def web_role(world: World, idp: IdP) -> tuple[Tenant, str, str]:
    team = "pipelines-" + secrets.token_hex(3)
    tenant = register(world, idp, teams={team: "Pipeline"})
    role_arn = role(world, tenant, "Pipeline", web_trust(tenant, idp.client_id, team))
    idp.person(team)
    return tenant, role_arn, team


def test_assume_role_with_web_identity_exchanges_an_id_token_for_role_credentials(
    world: World, idp: IdP, web_role: tuple[Tenant, str, str]
) -> None:
    tenant, role_arn, _ = web_role
    token = idp.id_token(idp.client_id, idp.client_secret)
    answer = exchange(world, role_arn, token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["assumedRoleArn"] == (
        f"arn:aws:sts::{tenant.account}:assumed-role/Pipeline/web-app"
    )
    assert answer.json()["providerArn"] == tenant.provider["arn"]
    assert_no_secrets(world, tenant.account, answer.text, secrets_=(token, idp.client_secret))


def test_a_token_signed_with_another_key_is_refused(
    world: World, idp: IdP, web_role: tuple[Tenant, str, str]
) -> None:
    tenant, role_arn, team = web_role
    genuine = idp.id_token(idp.client_id, idp.client_secret)
    header = json.loads(base64.urlsafe_b64decode(genuine.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(genuine.split(".")[1] + "=="))
    forger = RSAKey.generate_key(2048, parameters={"kid": header["kid"]})
    forged = jwt.encode({"alg": "RS256", "kid": header["kid"]}, claims, forger)
    assert error(exchange(world, role_arn, forged)) == (400, "InvalidIdentityToken")
    unsigned = genuine.rsplit(".", 1)[0].split(".", 1)[1]
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    assert error(exchange(world, role_arn, f"{none_header}.{unsigned}.")) == (
        400,
        "InvalidIdentityToken",
    )
    assert sessions(world) == 0
    assert failure_reasons(world, tenant.account) == ["bad-signature", "unsupported-algorithm"]
    assert team  # the genuine token would have been accepted (previous test)


def test_a_token_for_another_audience_is_refused(
    world: World, idp: IdP, web_role: tuple[Tenant, str, str]
) -> None:
    tenant, role_arn, _ = web_role
    other_client, other_secret = idp.register_client()
    token = idp.id_token(other_client, other_secret)
    assert error(exchange(world, role_arn, token)) == (400, "InvalidIdentityToken")
    assert sessions(world) == 0
    assert failure_reasons(world, tenant.account) == ["wrong-audience"]


def test_an_expired_token_is_refused(
    world: World, idp: IdP, web_role: tuple[Tenant, str, str]
) -> None:
    tenant, role_arn, _ = web_role
    token = idp.id_token(idp.client_id, idp.client_secret)
    expires = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]
    world.clock.current = datetime.fromtimestamp(expires + 61, UTC)
    assert error(exchange(world, role_arn, token)) == (400, "ExpiredTokenException")
    assert sessions(world) == 0
    assert failure_reasons(world, tenant.account) == ["expired"]


def test_a_token_from_an_issuer_the_tenant_did_not_register_is_refused(
    world: World, idp: IdP, web_role: tuple[Tenant, str, str]
) -> None:
    tenant, role_arn, _ = web_role
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    now = int(world.clock.now().timestamp())
    claims = {"iss": "https://idp.attacker.example", "aud": idp.client_id, "sub": "x"}
    token = jwt.encode({"alg": "RS256", "kid": "k1"}, {**claims, "iat": now, "exp": now + 300}, key)
    assert error(exchange(world, role_arn, token)) == (400, "InvalidIdentityToken")
    assert failure_reasons(world, tenant.account) == ["unknown-issuer"]
    assert sessions(world) == 0


def test_a_tenants_provider_never_opens_another_tenants_role(
    world: World, idp: IdP, web_role: tuple[Tenant, str, str]
) -> None:
    owner, _, team = web_role
    token = idp.id_token(idp.client_id, idp.client_secret)
    # Another tenant whose role trusts the first tenant's provider by name, without
    # registering the issuer itself: the token's issuer is unknown in that tenant.
    account, admin, _ = world.new_tenant("other")
    other = Tenant(account, admin, owner.provider, owner.prefix)
    victim_role = role(world, other, "Victim", web_trust(other, idp.client_id, team))
    assert error(exchange(world, victim_role, token)) == (400, "InvalidIdentityToken")
    assert failure_reasons(world, account) == ["unknown-issuer"]
    # Registering the same IdP with its own client id does not make the first tenant's
    # tokens valid there: the audience is the other client's.
    second = world.client.post(
        f"/api/v1/tenants/{account}/oidc-providers",
        json={
            "issuerUrl": idp.issuer,
            "clientId": idp.register_client()[0],
            "redirectUri": CALLBACK,
            "signingAlgorithms": IDP_ALGORITHMS,
        },
        headers=admin,
    )
    assert second.status_code == 201, second.text
    assert error(exchange(world, victim_role, token)) == (400, "InvalidIdentityToken")
    assert failure_reasons(world, account)[-1] == "wrong-audience"
    # And a trust policy naming the first tenant's provider is a cross-tenant grant the
    # engine refuses even for a token that tenant accepts.
    cross = role(world, other, "CrossTrust", web_trust(owner, idp.client_id, team))
    with_own_audience = world.client.post(
        f"/api/v1/tenants/{account}/oidc-providers",
        json={"issuerUrl": idp.issuer, "clientId": idp.client_id, "redirectUri": CALLBACK},
        headers=admin,
    )
    assert error(with_own_audience) == (409, "EntityAlreadyExists")
    assert error(exchange(world, cross, token)) == (400, "InvalidIdentityToken")
    assert sessions(world) == 0


def test_the_cli_registers_lists_and_deletes_a_provider(
    world: World, idp: IdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, admin, _ = world.new_tenant("cli")
    cli = ApiClient("http://127.0.0.1")
    # The CLI's HTTP client, pointed at the in-process API with the tenant admin's token.
    world.client.headers.update(admin)
    cli._client = world.client
    monkeypatch.setattr(ApiClient, "from_saved_session", classmethod(lambda cls: cli))
    created = CliRunner().invoke(
        cli_app,
        [
            "iam", "oidc-provider", "create", "--account", account,
            "--issuer-url", idp.issuer, "--client-id", idp.client_id,
            "--redirect-uri", CALLBACK, "--client-secret-stdin",
            "--team-role", "data-eng=DataEngineer", "--team-role", "ops=Operator",
        ],
        input=idp.client_secret + "\n",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    provider = json.loads(created.stdout)
    assert provider["isConfidentialClient"] is True
    assert [e["team"] for e in provider["teamRoles"]] == ["data-eng", "ops"]
    assert idp.client_secret not in created.output
    listed = CliRunner().invoke(cli_app, ["iam", "oidc-provider", "list", "--account", account])
    assert [p["providerId"] for p in json.loads(listed.stdout)] == [provider["providerId"]]
    bad = CliRunner().invoke(
        cli_app,
        ["iam", "oidc-provider", "create", "--account", account, "--issuer-url", idp.issuer,
         "--client-id", "x", "--redirect-uri", CALLBACK, "--team-role", "no-role-given"],
    )  # fmt: skip
    assert bad.exit_code != 0
    deleted = CliRunner().invoke(
        cli_app, ["iam", "oidc-provider", "delete", provider["providerId"], "--account", account]
    )
    assert deleted.exit_code == 0, deleted.output
    assert world.client.get(f"/api/v1/tenants/{account}/oidc-providers").json() == []


# --- providers ------------------------------------------------------------------------------


def test_providers_are_managed_through_the_gate_and_keep_the_secret_sealed(
    world: World, idp: IdP
) -> None:
    tenant = register(world, idp, teams={"t": "R"})
    provider_id = tenant.provider["providerId"]
    base = f"/api/v1/tenants/{tenant.account}/oidc-providers"
    listed = world.client.get(base, headers=tenant.admin)
    assert [p["providerId"] for p in listed.json()] == [provider_id]
    assert world.client.get(f"{base}/{provider_id}", headers=tenant.admin).status_code == 200
    with world.platform.database.read_session() as session:
        row = session.get(models.OIDCProvider, provider_id)
        assert row is not None and row.sealed_client_secret is not None
        assert idp.client_secret.encode() not in row.sealed_client_secret
    _, intruder, _ = world.new_tenant("intruder")
    for method, path in (
        ("get", base),
        ("get", f"{base}/{provider_id}"),
        ("delete", f"{base}/{provider_id}"),
    ):
        assert error(world.client.request(method, path, headers=intruder)) == (403, "AccessDenied")
    body = {"issuerUrl": "https://idp.example", "clientId": "c", "redirectUri": CALLBACK}
    assert error(world.client.post(base, json=body, headers=intruder)) == (403, "AccessDenied")
    insecure = {"issuerUrl": "http://idp.example", "clientId": "c", "redirectUri": CALLBACK}
    assert error(world.client.post(base, json=insecure, headers=tenant.admin)) == (
        400,
        "ValidationError",
    )
    assert world.client.delete(f"{base}/{provider_id}", headers=tenant.admin).status_code == 204
    assert world.client.get(base, headers=tenant.admin).json() == []
    assert_no_secrets(world, tenant.account, listed.text, secrets_=(idp.client_secret,))
