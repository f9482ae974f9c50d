"""The HTTP API skeleton: health, readiness, OpenAPI, one error shape, request ids."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lakevault.api import create_app
from lakevault.core import current_request_id, load_settings
from lakevault.db import Database
from lakevault.runtime import Platform

REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _client(url: str, home: Path) -> TestClient:
    settings = load_settings({"LAKEVAULT_HOME": str(home), "LAKEVAULT_DATABASE_URL": url})
    return TestClient(create_app(Platform.build(settings)), raise_server_exceptions=False)


@pytest.fixture
def client(database: Database, tmp_path: Path) -> Iterator[TestClient]:
    with _client(database.url, tmp_path) as test_client:
        yield test_client


def test_healthz_answers_with_a_request_id(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert REQUEST_ID.fullmatch(response.headers["x-amz-request-id"])
    assert response.headers["x-request-id"] == response.headers["x-amz-request-id"]


def test_every_request_gets_a_fresh_id(client: TestClient) -> None:
    first = client.get("/healthz", headers={"x-request-id": "client-chosen"})
    second = client.get("/healthz")
    assert first.headers["x-request-id"] != "client-chosen"
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_readyz_reports_the_database_and_schema(client: TestClient, database: Database) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["database"] == database.dialect


def test_readyz_is_503_in_the_error_shape_on_an_unmigrated_database(
    database_url: str, tmp_path: Path
) -> None:
    empty = Database(database_url)
    empty.ping()  # an existing, empty database (for SQLite: the file exists)
    empty.dispose()
    with _client(database_url, tmp_path) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "ServiceUnavailable"
    assert "lakevault db upgrade" in error["message"]
    assert error["requestId"] == response.headers["x-amz-request-id"]


def test_openapi_is_served_under_api(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    assert document["info"]["title"] == "lakevault"
    assert "/healthz" in document["paths"] and "/readyz" in document["paths"]


def test_unknown_path_gets_the_error_shape(client: TestClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "NotFound"
    assert error["requestId"] == response.headers["x-amz-request-id"]


def test_unexpected_failure_is_500_without_details(database: Database, tmp_path: Path) -> None:
    settings = load_settings(
        {"LAKEVAULT_HOME": str(tmp_path), "LAKEVAULT_DATABASE_URL": database.url}
    )
    app = create_app(Platform.build(settings))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail /etc/secret-path")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "InternalFailure"
    assert "secret-path" not in response.text
    # The message asks the client to quote the request id: it is in the body and both headers.
    request_id = response.json()["error"]["requestId"]
    assert request_id
    assert response.headers["x-amz-request-id"] == request_id
    assert response.headers["x-request-id"] == request_id


class _RequestIdsAtEmit(logging.Handler):
    """The request id each record was logged under (the JSON formatter reads the same)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[tuple[str, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), current_request_id.get()))


def test_unexpected_failure_is_logged_once_with_its_request_id(
    database: Database, tmp_path: Path
) -> None:
    settings = load_settings(
        {"LAKEVAULT_HOME": str(tmp_path), "LAKEVAULT_DATABASE_URL": database.url}
    )
    app = create_app(Platform.build(settings))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail")

    handler = _RequestIdsAtEmit()
    logger = logging.getLogger("lakevault.api")
    logger.addHandler(handler)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/boom")
    finally:
        logger.removeHandler(handler)
    failures = [seen for seen in handler.seen if seen[0] == "unexpected failure"]
    assert failures == [("unexpected failure", response.headers["x-request-id"])]


def test_readyz_says_to_run_init_when_there_is_no_database_file(tmp_path: Path) -> None:
    with _client(f"sqlite:///{tmp_path / 'absent.db'}", tmp_path) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "lakevault init" in response.json()["error"]["message"]
    assert not (tmp_path / "absent.db").exists()
