"""The operator cannot read secrets from the database: no value is stored, logged or recorded
in plaintext (README claim).

After a scenario that creates, updates, reads, rotates, fails and deletes secrets, every byte
the operator holds without the keys — the database file (and its WAL), everything under the
data directory, every log record — is searched for the values, as text and in the encodings a
careless write would use (UTF-8, UTF-16, base64, hex).
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from lakevault.db import Database, upgrade
from lakevault.secrets import AWSPENDING, InvalidRequestException
from tests.unit.secrets.conftest import build_world

VALUES = (
    "plaintext-canary-7f3a9c-db-password",
    "plaintext-canary-second-version-4411",
)
BINARY = b"plaintext-canary-binary-\x00\x01\x02-9d"


def _encodings(value: bytes) -> list[bytes]:
    return [
        value,
        value.decode("latin-1").encode("utf-16-le"),
        base64.b64encode(value),
        base64.b64encode(value).rstrip(b"="),
        value.hex().encode(),
    ]


def _operator_files(home: Path) -> list[Path]:
    return [path for path in home.rglob("*") if path.is_file()]


def test_no_value_is_in_the_database_the_data_directory_or_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    home = tmp_path / "home"
    home.mkdir()
    database = Database(f"sqlite:///{home / 'metadata.db'}")
    upgrade(database)
    world = build_world(database)
    call = world.call()

    world.secrets.create_secret(call, "db/password", secret_string=VALUES[0])
    world.secrets.put_secret_value(call, "db/password", secret_string=VALUES[1])
    world.secrets.create_secret(call, "cert", secret_binary=BINARY)
    for _ in range(3):
        assert world.secrets.get_secret_value(call, "db/password").secret_string == VALUES[1]
    world.secrets.get_secret_value(call, "db/password", version_stage="AWSPREVIOUS")
    world.secrets.get_secret_value(call, "cert")
    with pytest.raises(InvalidRequestException):
        world.secrets.rotate_secret(
            call, "db/password", rotation_hook="flaky", client_request_token="c" * 32
        )
    world.secrets.get_secret_value(call, "db/password", version_stage=AWSPENDING)
    world.secrets.delete_secret(call, "cert", recovery_window_in_days=7)
    database.dispose()

    canaries = [value.encode() for value in VALUES] + [BINARY, f"rotated-{'c' * 32}".encode()]
    files = _operator_files(home)
    assert any(path.name == "metadata.db" for path in files)
    for path in files:
        content = path.read_bytes()
        for canary in canaries:
            for form in _encodings(canary):
                assert form not in content, f"a secret value is readable in {path.name}"
    log_text = caplog.text.encode("utf-8", "replace")
    for canary in canaries:
        for form in _encodings(canary):
            assert form not in log_text
    events = world.audit_text().encode()
    for canary in canaries:
        for form in _encodings(canary):
            assert form not in events
