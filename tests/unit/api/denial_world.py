"""One real API app per backend, shared by the HTTP and CLI denial matrices.

The ``world`` fixture of ``conftest.py`` builds a fresh platform for every test; the denial
matrices make the same tenants, users and keys for dozens of cases, none of which may change
anything. The ``denial_world`` fixture (``conftest.py``) builds one platform per backend with
:func:`module_world` (SQLite and PostgreSQL, as ``database`` does) for the whole session; each
matrix module makes its own tenants on it once, and each case asserts that it left the shared
state as it found it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lakevault.api import create_app
from lakevault.core import FixedClock, load_settings
from lakevault.db import Database, models, upgrade
from lakevault.runtime import Platform, initialise
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.unit.api.conftest import World

PASSWORD = "Corr3ct-horse-battery"


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    """A tenant made over the API, with its admin signed in."""

    account: str
    admin: dict[str, str]


@contextmanager
def module_world(request: pytest.FixtureRequest) -> Iterator[World]:
    """A signed-in world on ``request.param``'s backend, for a module-scoped fixture."""
    home = request.getfixturevalue("tmp_path_factory").mktemp("lakevault")
    server = url = None
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'metadata.db'}"
        database = Database(url)
        upgrade(database)
        database.dispose()
    else:
        server = request.getfixturevalue("postgres_server_url")
        url = create_postgres_database(
            server, template=request.getfixturevalue("postgres_template")
        )
    settings = load_settings({"LAKEVAULT_HOME": str(home), "LAKEVAULT_DATABASE_URL": url})
    clock = FixedClock()
    platform = Platform.build(settings, clock=clock)
    credentials = initialise(platform).credentials
    assert credentials is not None
    try:
        with TestClient(create_app(platform), raise_server_exceptions=False) as client:
            yield World(client, platform, clock, credentials.password)
    finally:
        platform.close()
        if server is not None:
            drop_postgres_database(server, url)


#: The platform admin's sign-in per world (each sign-in is an Argon2 verification).
_OPERATORS: dict[int, dict[str, str]] = {}


def new_tenant(world: World, name: str) -> Tenant:
    """A new tenant (``name`` is unique per world) with its admin signed in."""
    operator = _OPERATORS.get(id(world))
    if operator is None:
        operator = _OPERATORS[id(world)] = world.platform_admin()
    created = world.client.post("/api/v1/tenants", json={"name": name}, headers=operator)
    assert created.status_code == 201, created.text
    body = created.json()
    account = body["tenant"]["accountId"]
    admin = world.sign_in(account, "admin", body["adminPassword"])
    return Tenant(account=account, admin=admin)


def new_user(world: World, tenant: Tenant, name: str, policy: dict[str, Any]) -> dict[str, str]:
    """A user of ``tenant`` holding the inline identity ``policy``, signed in."""
    base = f"/api/v1/tenants/{tenant.account}/users"
    for method, path, body in (
        ("POST", "", {"userName": name}),
        ("PUT", f"/{name}/policies/inline", {"policyDocument": policy}),
        ("PUT", f"/{name}/password", {"password": PASSWORD}),
    ):
        answer = world.client.request(method, base + path, json=body, headers=tenant.admin)
        assert answer.status_code in (201, 204), (path, answer.text)
    return world.sign_in(tenant.account, name, PASSWORD)


def events(world: World, account: str) -> list[dict[str, Any]]:
    return [dict(e) for e in world.platform.audit.read(account, limit=100000)]


def audit_text(world: World, *accounts: str) -> str:
    return "".join(json.dumps(events(world, account)) for account in accounts)


KMS_TABLES = (
    "kms_keys",
    "kms_key_versions",
    "kms_aliases",
    "kms_key_tags",
    "kms_grants",
    "kms_key_tombstones",
    "kms_rewrap_progress",
)
SECRETS_TABLES = (
    "secrets",
    "secret_versions",
    "secret_version_stages",
    "secret_rotation_functions",
)


def rows(
    world: World, tables: tuple[str, ...], *, skip: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Every row of ``tables``, sorted: what a refused call must leave exactly as it was
    (without the columns whose names contain one of ``skip``)."""
    found: dict[str, list[str]] = {}
    with world.platform.database.read_session() as session:
        for name in tables:
            table = models.Base.metadata.tables[name]
            columns = [c for c in table.columns if not any(part in c.name for part in skip)]
            found[name] = sorted(repr(tuple(row)) for row in session.execute(select(*columns)))
    return found
