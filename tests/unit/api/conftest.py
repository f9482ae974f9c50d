"""The ``world`` fixture of the API tests: a real app on SQLite or PostgreSQL, signed in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lakevault.api import create_app
from lakevault.core import FixedClock, load_settings
from lakevault.db import Database
from lakevault.runtime import Platform, initialise


@dataclass
class World:
    client: TestClient
    platform: Platform
    clock: FixedClock
    admin_password: str

    def sign_in(self, account: str, user: str, password: str) -> dict[str, str]:
        response = self.client.post(
            "/api/v1/sessions", json={"accountId": account, "userName": user, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['accessToken']}"}

    def platform_admin(self) -> dict[str, str]:
        return self.sign_in("000000000000", "admin", self.admin_password)

    def new_tenant(self, name: str) -> tuple[str, dict[str, str], str]:
        response = self.client.post(
            "/api/v1/tenants", json={"name": name}, headers=self.platform_admin()
        )
        assert response.status_code == 201, response.text
        body = response.json()
        account = body["tenant"]["accountId"]
        return account, self.sign_in(account, "admin", body["adminPassword"]), body["adminPassword"]

    def audit_text(self, account: str) -> str:
        return json.dumps(self.platform.audit.read(account, limit=100000))


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    settings = load_settings(
        {"LAKEVAULT_HOME": str(tmp_path), "LAKEVAULT_DATABASE_URL": database.url}
    )
    clock = FixedClock()
    platform = Platform.build(settings, clock=clock)
    credentials = initialise(platform).credentials
    assert credentials is not None
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield World(client, platform, clock, credentials.password)


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def denial_world(request: pytest.FixtureRequest) -> Iterator[World]:
    """One signed-in world per backend for the whole session, shared by the denial matrices
    (``denial_world.py``): each module makes its own tenants on it once; no case may change
    anything, which each asserts."""
    from tests.unit.api.denial_world import module_world

    with module_world(request) as world:
        yield world
