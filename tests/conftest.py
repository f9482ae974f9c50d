"""Fixtures shared by every test.

* ``LAKEVAULT_*`` variables of the developer's shell never leak into a test (autouse).
* ``conformance_dir`` finds ``../shared/conformance`` beside the repository; tests that need it
  skip with a clear message when it is absent (a user's clone has no ``../shared``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import argon2
import pytest
import sqlalchemy

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE_DIR = Path(
    os.environ.get("LAKEVAULT_CONFORMANCE_DIR", REPO_ROOT.parent / "shared" / "conformance")
)


def conformance_path(*parts: str) -> Path:
    """Return a path under the shared conformance data, or skip the test when it is absent."""
    path = CONFORMANCE_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"conformance data not found at {path}: clone the project with ../shared beside it "
            "or set LAKEVAULT_CONFORMANCE_DIR"
        )
    return path


@pytest.fixture(autouse=True)
def _clean_lakevault_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("LAKEVAULT_") and not name.startswith("LAKEVAULT_TEST_"):
            if name == "LAKEVAULT_CONFORMANCE_DIR":
                continue
            monkeypatch.delenv(name)
    yield


# Passwords are hashed at argon2id's lowest cost in tests (ADR 0011): at the production cost
# (t=3, m=64 MiB) each sign-in and each new user took ~0.3 s, most of an API test's time.
# Verification reads the cost from the hash, so a production-cost hash still verifies;
# tests/unit/identity/test_user_pool_rules.py pins the production parameters, and processes the
# tests start (``lakevault serve``) hash at the production cost.
_TEST_PASSWORD_HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from lakevault.identity import _passwords

    monkeypatch.setattr(_passwords, "_HASHER", _TEST_PASSWORD_HASHER)


# --- Databases: every database-touching test runs on SQLite and on a real PostgreSQL. ---------


IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL_VARIABLE = "LAKEVAULT_TEST_POSTGRES_URL"


def _with_database_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the test PostgreSQL server (started by scripts/test.sh).

    Outside CI a missing server skips the PostgreSQL half of the suite; in CI it is a failure.
    """
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        message = (
            f"{POSTGRES_URL_VARIABLE} is not set: run the suite with 'make test', which starts a "
            "throwaway PostgreSQL"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except sqlalchemy.exc.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"the test PostgreSQL at {url} does not answer: {exc}")
        pytest.skip(f"the test PostgreSQL at {url} does not answer")
    finally:
        engine.dispose()
    return url


def create_postgres_database(server_url: str, *, template: str | None = None) -> str:
    """Create a fresh, uniquely named database and return its URL."""
    name = "lv_" + secrets.token_hex(6)
    engine = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            suffix = f" TEMPLATE {template}" if template else ""
            connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}{suffix}"))
    finally:
        engine.dispose()
    return _with_database_name(server_url, name)


def drop_postgres_database(server_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    engine = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> Iterator[str]:
    """A database migrated to head once; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    from lakevault.db import Database, upgrade

    url = create_postgres_database(postgres_server_url)
    database = Database(url)
    upgrade(database)
    database.dispose()
    name = urlsplit(url).path.lstrip("/")
    yield name
    drop_postgres_database(postgres_server_url, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty (unmigrated) database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'metadata.db'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server)
    yield url
    drop_postgres_database(server, url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test copies it (ADR 0011).

    Migrating takes ~0.4 s; a copy under a millisecond. The template is checkpointed and
    closed first, so the copy is one self-contained file.
    """
    import sqlite3

    from lakevault.db import Database, upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "metadata.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A fresh database at the head schema revision, on each backend."""
    from lakevault.db import Database

    if request.param == "sqlite":
        target = tmp_path / "metadata.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        db = Database(f"sqlite:///{target}")
        yield db
        db.dispose()
        return
    server = request.getfixturevalue("postgres_server_url")
    template = request.getfixturevalue("postgres_template")
    url = create_postgres_database(server, template=template)
    db = Database(url)
    yield db
    db.dispose()
    drop_postgres_database(server, url)
