"""Bad databases give one clear sentence and are never damaged."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from lakevault.core.errors import ConfigurationError, SchemaMismatch, ServiceUnavailable
from lakevault.db import Database, check_schema, upgrade


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corrupted_sqlite_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    before = _digest(path)
    database = Database(f"sqlite:///{path}")
    with pytest.raises(ConfigurationError, match="not a SQLite database or is damaged"):
        check_schema(database)
    with pytest.raises(ConfigurationError, match="it was not modified"):
        upgrade(database)
    database.dispose()
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata.db"]


def test_missing_directory_says_to_run_init(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nowhere' / 'metadata.db'}")
    with pytest.raises(ConfigurationError, match="lakevault init"):
        database.ping()


def test_unreachable_postgres_names_the_url_without_password_and_what_to_check() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = Database(f"postgresql+psycopg://lv:sup3r-secret@127.0.0.1:{port}/lv")
    with pytest.raises(ServiceUnavailable) as caught:
        database.ping()
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "sup3r-secret" not in caught.value.message
    assert "check that the server runs" in caught.value.message.lower()


def test_wrong_postgres_database_name_is_unavailable_not_a_crash(postgres_server_url: str) -> None:
    url = postgres_server_url.rsplit("/", 1)[0] + "/no_such_database"
    database = Database(url)
    with pytest.raises(ServiceUnavailable, match="no_such_database"):
        database.ping()


def test_malformed_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a database URL"):
        Database("::::")


def test_an_empty_postgres_database_is_not_at_the_schema(database_url: str) -> None:
    database = Database(database_url)
    with pytest.raises(SchemaMismatch):
        check_schema(database)
    database.dispose()
