"""The KMS and secrets routes that name the caller's account, not a key or a secret, refused.

The key-agent routes (``put``/``get``/``delete-key-agent``: the tenant's operator-blind
agent) and the rotation-function routes (``/secrets/rotation-functions``: code the platform
runs with a secret's value) act on the caller's own account; the matrices of
``test_kms_http_denials.py`` and ``test_secrets_http_denials.py`` cover the routes that name a
key or a secret. Here each of these routes is refused for a user of the tenant whom no policy
allows it (implicit deny), for a user who holds ``kms:*`` and ``secretsmanager:*`` but whose
identity policy denies the action (explicit deny), and — for the routes that name a function
by ARN — for another tenant's admin. Each case asserts the status and AWS code, that no row of
the key-agent and rotation-function tables changed, and the refusal in the audit log under the
call's own event name (in both tenants' logs when the call crosses them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakevault.kms import AgentConnection
from tests.unit.api.conftest import World
from tests.unit.api.denial_world import Tenant, events, new_tenant, new_user, rows
from tests.unit.kms.agent_process import make_agent_directory

ROTATOR = "def handler(event, context):\n    return None\n"
TABLES = ("tenant_key_agents", "secret_rotation_functions")
ALLOW_ALL_BUT_ACCOUNT_ROUTES = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["kms:*", "secretsmanager:*"], "Resource": "*"},
        {
            "Sid": "NoAccountRoutes",
            "Effect": "Deny",
            "Action": [
                "kms:PutKeyAgent",
                "kms:GetKeyAgent",
                "kms:DeleteKeyAgent",
                "secretsmanager:PutRotationFunction",
                "secretsmanager:GetRotationFunction",
                "secretsmanager:ListRotationFunctions",
                "secretsmanager:DeleteRotationFunction",
            ],
            "Resource": "*",
        },
    ],
}
#: Allows reading secrets only: none of the routes under test.
SECRETS_READER = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    world: World
    owner: Tenant
    other: Tenant
    reader: dict[str, str]  # no policy allows it any of these routes
    denied: dict[str, str]  # allowed kms:* and secretsmanager:*, these actions denied
    function_arn: str
    bundle: dict[str, str]  # a well-formed agent bundle (certificates of the owner's tenant)


@pytest.fixture(scope="module")
def setup(denial_world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    world = denial_world
    owner, other = new_tenant(world, "acct-owner"), new_tenant(world, "acct-other")
    put = world.client.put(
        "/api/v1/secrets/rotation-functions/rotator",
        json={"source": ROTATOR},
        headers=owner.admin,
    )
    assert put.status_code == 200, put.text
    connection: AgentConnection = make_agent_directory(
        tmp_path_factory.mktemp("agent") / "agent", tenant_id=owner.account
    )
    yield Setup(
        world=world,
        owner=owner,
        other=other,
        reader=new_user(world, owner, "reader", SECRETS_READER),
        denied=new_user(world, owner, "denied", ALLOW_ALL_BUT_ACCOUNT_ROUTES),
        function_arn=put.json()["arn"],
        bundle={
            # Nothing listens there: a call the gate let through would fail with 400, not 403.
            "url": "https://127.0.0.1:1",
            "caCertificate": connection.ca_certificate.decode(),
            "clientCertificate": connection.client_certificate.decode(),
            "clientKey": connection.client_key.decode(),
        },
    )


Call = tuple[str, str, dict[str, Any]]

#: Each route under test: event name -> the request, given the setup.
ROUTES: dict[str, Callable[[Setup], Call]] = {
    "PutKeyAgent": lambda s: ("POST", "/api/v1/kms/put-key-agent", {"json": s.bundle}),
    "GetKeyAgent": lambda s: ("POST", "/api/v1/kms/get-key-agent", {"json": {}}),
    "DeleteKeyAgent": lambda s: ("POST", "/api/v1/kms/delete-key-agent", {"json": {}}),
    "PutRotationFunction": lambda s: (
        "PUT",
        "/api/v1/secrets/rotation-functions/rotator",
        {"json": {"source": ROTATOR + "# replaced\n"}},
    ),
    "ListRotationFunctions": lambda s: ("GET", "/api/v1/secrets/rotation-functions", {}),
    "GetRotationFunction": lambda s: (
        "GET",
        f"/api/v1/secrets/rotation-functions/{s.function_arn}",
        {"params": {"includeSource": "true"}},
    ),
    "DeleteRotationFunction": lambda s: (
        "DELETE",
        f"/api/v1/secrets/rotation-functions/{s.function_arn}",
        {},
    ),
}
#: The routes that can name another tenant's resource (a function by its ARN).
CROSS_TENANT = ("GetRotationFunction", "DeleteRotationFunction")


def _refused(
    s: Setup, name: str, headers: dict[str, str], *, accounts: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Make route ``name`` as ``headers``: 403 AccessDenied, nothing changed, the refusal
    recorded under ``name`` in each of ``accounts``; the new events of the first account."""
    method, path, options = ROUTES[name](s)
    before = rows(s.world, TABLES)
    counts = {account: len(events(s.world, account)) for account in accounts}
    answer = s.world.client.request(method, path, headers=headers, **options)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "AccessDenied", answer.text
    assert rows(s.world, TABLES) == before, "a refused call changed something"
    assert "PRIVATE KEY" not in answer.text and "def handler" not in answer.text
    found = []
    for account in accounts:
        new = events(s.world, account)[counts[account] :]
        named = [(e["eventName"], e.get("errorCode")) for e in new]
        assert (name, "AccessDenied") in named, f"{account} recorded {named}"
        found.append(new)
    return found[0]


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_a_user_no_policy_allows_is_refused_every_account_route(setup: Setup, name: str) -> None:
    new = _refused(setup, name, setup.reader, accounts=(setup.owner.account,))
    assert [e["eventName"] for e in new] == [name]  # one decision, nothing asked before it


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_an_identity_policy_deny_refuses_every_account_route(setup: Setup, name: str) -> None:
    new = _refused(setup, name, setup.denied, accounts=(setup.owner.account,))
    assert "NoAccountRoutes" in [st["sid"] for st in new[-1]["decision"]["statements"]]


@pytest.mark.parametrize("name", CROSS_TENANT)
def test_another_tenant_is_refused_a_function_named_by_arn(setup: Setup, name: str) -> None:
    new = _refused(
        setup, name, setup.other.admin, accounts=(setup.owner.account, setup.other.account)
    )
    assert new[-1]["userIdentity"]["accountId"] == setup.other.account


def test_another_tenants_account_routes_see_only_its_own_account(setup: Setup) -> None:
    """The routes without a resource name act on the caller's account: the other tenant's
    admin lists none of the owner's functions, reads no agent, and its PUT of the same name
    registers a function of its own (the owner's is untouched)."""
    s, other = setup, setup.other.admin
    listed = s.world.client.get("/api/v1/secrets/rotation-functions", headers=other)
    assert listed.status_code == 200 and listed.json() == {"functions": []}
    agent = s.world.client.post("/api/v1/kms/get-key-agent", json={}, headers=other)
    assert agent.status_code == 200 and agent.json() == {"keyAgent": None}
    before = rows(s.world, TABLES)
    put = s.world.client.put(
        "/api/v1/secrets/rotation-functions/rotator", json={"source": ROTATOR}, headers=other
    )
    assert put.status_code == 200, put.text
    try:
        assert put.json()["arn"] != s.function_arn
        assert f":{s.other.account}:" in put.json()["arn"]
        owners = s.world.client.get(
            f"/api/v1/secrets/rotation-functions/{s.function_arn}",
            params={"includeSource": "true"},
            headers=s.owner.admin,
        )
        assert owners.json()["source"] == ROTATOR
    finally:
        gone = s.world.client.delete(f"/api/v1/secrets/rotation-functions/{put.json()['arn']}",
                                     headers=other)  # fmt: skip
        assert gone.status_code == 204
    assert rows(s.world, TABLES) == before


def test_the_owner_is_answered_on_the_same_routes(setup: Setup, tmp_path: Path) -> None:
    """The success side of the matrix: the same calls by the tenant's admin are answered (the
    agent bundle points at no agent, so PutKeyAgent passes the gate and is refused by the
    agent check with 400, not 403)."""
    s, admin = setup, setup.owner.admin
    for name in ("GetKeyAgent", "ListRotationFunctions", "GetRotationFunction"):
        method, path, options = ROUTES[name](s)
        answer = s.world.client.request(method, path, headers=admin, **options)
        assert answer.status_code == 200, (name, answer.text)
    method, path, options = ROUTES["PutKeyAgent"](s)
    refused = s.world.client.request(method, path, headers=admin, **options)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "InvalidParameterValue"
