"""The ``lakevault`` command as a user runs it: real processes, real files, real servers.

Each test runs the CLI in a fresh working directory with a clean environment, so neither the
developer's shell nor a ``lakevault.toml`` in the repository can change the outcome.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
from pathlib import Path

import httpx
import pytest

from lakevault.db import Database, head_revision
from lakevault.identity import authenticate_password
from tests.integration.conftest import free_port, run

PASSWORD_LINE = re.compile(r"password {2,}(\S+)")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_init_prints_credentials_once_and_they_sign_in(home: Path, tmp_path: Path) -> None:
    first = run(["init"], home, tmp_path)
    assert first.returncode == 0, first.stderr
    passwords = PASSWORD_LINE.findall(first.stdout)
    assert len(passwords) == 1
    assert "shown ONCE" in first.stdout
    assert passwords[0] not in first.stderr
    second = run(["init"], home, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "password" not in second.stdout
    assert passwords[0] not in second.stdout + second.stderr
    database = Database(f"sqlite:///{home / 'metadata.db'}")
    principal = authenticate_password(
        database, account_id="000000000000", user_name="admin", password=passwords[0]
    )
    database.dispose()
    assert principal.username == "admin"
    assert oct(home.stat().st_mode & 0o777) == "0o700"


def test_serve_init_starts_the_platform_and_stops_gracefully(
    database_url: str, home: Path, start_server: object
) -> None:
    server, early_stderr = start_server(home, "--init", LAKEVAULT_DATABASE_URL=database_url)  # type: ignore[operator]
    health = httpx.get(server.url + "/healthz", timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = httpx.get(server.url + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    server.process.send_signal(signal.SIGTERM)
    stdout, stderr = server.process.communicate(timeout=30)
    assert server.process.returncode == 0, stderr
    passwords = PASSWORD_LINE.findall(stdout)
    assert len(passwords) == 1
    assert passwords[0] not in early_stderr + stderr  # never in the logs


def test_serve_refuses_an_uninitialised_home(home: Path, tmp_path: Path) -> None:
    result = run(["serve", "--port", str(free_port())], home, tmp_path)
    assert result.returncode == 3
    assert "lakevault init" in result.stderr
    assert not home.exists()


def test_serve_refuses_a_missing_database_without_creating_one(home: Path, tmp_path: Path) -> None:
    home.mkdir()
    result = run(["serve", "--port", str(free_port())], home, tmp_path)
    assert result.returncode == 3
    assert "no metadata database" in result.stderr
    assert not (home / "metadata.db").exists()


def test_serve_refuses_a_database_newer_than_the_code(home: Path, tmp_path: Path) -> None:
    assert run(["init"], home, tmp_path).returncode == 0
    database = Database(f"sqlite:///{home / 'metadata.db'}")
    with database.session() as session:
        session.execute(
            __import__("sqlalchemy").text("UPDATE alembic_version SET version_num='9999'")
        )
    database.dispose()
    result = run(["serve", "--port", str(free_port())], home, tmp_path)
    assert result.returncode == 3
    assert "newer than this lakevault" in result.stderr


def test_port_in_use_is_one_clear_sentence(home: Path, tmp_path: Path) -> None:
    assert run(["init"], home, tmp_path).returncode == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(["serve", "--port", str(port)], home, tmp_path)
    assert result.returncode == 3
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_config_key_exits_3_naming_it(home: Path, tmp_path: Path) -> None:
    (tmp_path / "lakevault.toml").write_text("prot = 8080\n")
    result = run(["config", "show"], home, tmp_path)
    assert result.returncode == 3
    assert "unknown setting 'prot'" in result.stderr


def test_unwritable_data_dir_exits_3_and_says_how_to_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run(["init"], blocker / "home", tmp_path)
    assert result.returncode == 3
    assert "cannot be created or written" in result.stderr
    assert "LAKEVAULT_HOME" in result.stderr
    assert blocker.read_text() == "not a directory"


def test_unreachable_database_exits_4_without_the_password(home: Path, tmp_path: Path) -> None:
    url = f"postgresql://lv:pa55-w0rd-x@127.0.0.1:{free_port()}/lv"
    result = run(["db", "upgrade"], home, tmp_path, LAKEVAULT_DATABASE_URL=url)
    assert result.returncode == 4
    assert "cannot use the PostgreSQL database" in result.stderr
    assert "pa55-w0rd-x" not in result.stderr + result.stdout


def test_corrupted_sqlite_file_exits_3_and_is_left_untouched(home: Path, tmp_path: Path) -> None:
    home.mkdir()
    path = home / "metadata.db"
    path.write_bytes(os.urandom(64 * 1024))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for args in (["serve", "--port", str(free_port())], ["init"], ["db", "upgrade"]):
        result = run(args, home, tmp_path)
        assert result.returncode == 3, (args, result.stderr)
        assert "not a SQLite database or is damaged" in result.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_config_show_masks_the_database_password(home: Path, tmp_path: Path) -> None:
    url = "postgresql://lv:v3ry-s3cret@db.example:5432/lv"
    result = run(["config", "show", "--json"], home, tmp_path, LAKEVAULT_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "v3ry-s3cret" not in result.stdout
    assert "postgresql+psycopg://lv:***@db.example:5432/lv" in result.stdout


def test_db_upgrade_then_status(database_url: str, home: Path, tmp_path: Path) -> None:
    home.mkdir()
    upgraded = run(["db", "upgrade"], home, tmp_path, LAKEVAULT_DATABASE_URL=database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "upgraded the database" in upgraded.stdout
    status = run(["db", "status"], home, tmp_path, LAKEVAULT_DATABASE_URL=database_url)
    assert status.returncode == 0
    assert head_revision(Database(database_url)) in status.stdout


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["init"],
        ["db"],
        ["db", "upgrade"],
        ["db", "status"],
        ["config", "show"],
        ["version"],
    ],
    ids=lambda c: " ".join(c) or "root",
)
def test_every_command_has_help(command: list[str], home: Path, tmp_path: Path) -> None:
    result = run([*command, "--help"], home, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_unknown_command_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    assert run(["frobnicate"], home, tmp_path).returncode == 2
