"""The key ceremony as an operator and a tenant run it: real processes, real files.

* ``init`` with a passphrase-wrapped root key, ``serve`` refusing to start without it or with
  a wrong one, ``root-key protect`` and ``root-key check``;
* ``serve`` refusing another installation's root key (the check value);
* ``key-agent init``/``certs``/``run`` on the tenant's side and ``attach``/``status``/``detach``
  on the operator's, through the ``lakevault`` command.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lakevault.core import load_settings
from lakevault.db import Database, models
from lakevault.runtime import Platform
from tests.integration.conftest import lakevault_env, run

PASSPHRASE = "an operator passphrase of some length"
TENANT = "123456789012"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_init_with_a_passphrase_then_serve_needs_it(
    home: Path, tmp_path: Path, start_server: Any
) -> None:
    created = run(
        ["init", "--passphrase"], home, tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE
    )
    assert created.returncode == 0, created.stderr
    key_file = home / "keys" / "platform-root.key"
    assert key_file.read_bytes().startswith(b"LVKEYPW")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    missing = run(["serve", "--port", "0"], home, tmp_path)
    assert missing.returncode == 3
    assert "wrapped by a passphrase and none was given" in missing.stderr
    wrong = run(
        ["serve", "--port", "0"], home, tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE="not the phrase"
    )
    assert wrong.returncode == 3
    assert "the passphrase does not open the key file" in wrong.stderr
    assert "not the phrase" not in wrong.stderr

    server, _ = start_server(home, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE)
    server.process.terminate()
    server.process.wait(timeout=30)

    checked = run(["root-key", "check"], home, tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE)
    assert checked.returncode == 0, checked.stderr
    assert "matches this installation" in checked.stdout


def test_protect_wraps_an_existing_key_file_and_serve_uses_the_passphrase(
    home: Path, tmp_path: Path
) -> None:
    assert run(["init"], home, tmp_path).returncode == 0
    before = run(["root-key", "check"], home, tmp_path)
    assert before.returncode == 0, before.stderr
    (tmp_path / "phrase").write_text(PASSPHRASE + "\n")
    protected = run(
        ["root-key", "protect", "--passphrase-file", str(tmp_path / "phrase")], home, tmp_path
    )
    assert protected.returncode == 0, protected.stderr
    assert run(["root-key", "check"], home, tmp_path).returncode == 3
    after = run(["root-key", "check"], home, tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE)
    assert after.returncode == 0, after.stderr
    assert "matches this installation" in after.stdout


def test_serve_refuses_a_missing_or_foreign_root_key(home: Path, tmp_path: Path) -> None:
    assert run(["init"], home, tmp_path).returncode == 0
    key_file = home / "keys" / "platform-root.key"
    original = key_file.read_bytes()

    key_file.write_bytes(os.urandom(32))
    foreign = run(["serve", "--port", "0"], home, tmp_path)
    assert foreign.returncode == 3
    assert "is not the key of this installation's database" in foreign.stderr

    key_file.unlink()
    missing = run(["serve", "--port", "0"], home, tmp_path)
    assert missing.returncode == 3
    assert "platform-root.key is missing" in missing.stderr

    key_file.write_bytes(original)
    assert run(["root-key", "check"], home, tmp_path).returncode == 0


def test_the_env_provider_refuses_another_key_than_the_databases(
    home: Path, tmp_path: Path
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    env = {"LAKEVAULT_ROOT_KEY_PROVIDER": "env", "LAKEVAULT_ROOT_KEY": key}
    created = run(["init"], home, tmp_path, **env)
    assert created.returncode == 0, created.stderr
    assert not (home / "keys" / "platform-root.key").exists()
    assert run(["root-key", "check"], home, tmp_path, **env).returncode == 0
    other = {**env, "LAKEVAULT_ROOT_KEY": base64.b64encode(os.urandom(32)).decode()}
    refused = run(["serve", "--port", "0"], home, tmp_path, **other)
    assert refused.returncode == 3
    assert "LAKEVAULT_ROOT_KEY is not the key of this installation" in refused.stderr
    assert other["LAKEVAULT_ROOT_KEY"] not in refused.stderr


def test_the_agent_commands_from_init_to_detach(home: Path, tmp_path: Path) -> None:
    agent = tmp_path / "tenant" / "agent"
    made = run(["key-agent", "init", "--dir", str(agent), "--tenant", TENANT], home, tmp_path)
    assert made.returncode == 0, made.stderr
    again = run(["key-agent", "init", "--dir", str(agent), "--tenant", TENANT], home, tmp_path)
    assert again.returncode == 3
    assert "never overwritten" in again.stderr
    certs = run(["key-agent", "certs", "--dir", str(agent), "--host", "127.0.0.1"], home, tmp_path)
    assert certs.returncode == 0, certs.stderr
    for name in ("tls/ca.key", "tls/server.key", "platform/client.key", "agent-root.key"):
        assert stat.S_IMODE((agent / name).stat().st_mode) == 0o600, name

    process = subprocess.Popen(
        [sys.executable, "-m", "lakevault", "key-agent", "run", "--dir", str(agent), "--port", "0"],
        env=lakevault_env(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.search(r"listening on (https://\S+);", line)
        assert found, line
        url = found.group(1)

        assert run(["init"], home, tmp_path).returncode == 0
        platform = Platform.build(load_settings({"LAKEVAULT_HOME": str(home)}))
        database: Database = platform.database
        with database.session() as session:
            session.add(
                models.Tenant(account_id=TENANT, name="blind", created_at=platform.clock.now())
            )
        platform.close()

        bundle = agent / "platform"
        attach = ["key-agent", "attach", "--tenant", TENANT, "--url", url, "--bundle", str(bundle)]
        attached = run(attach, home, tmp_path)
        assert attached.returncode == 0, attached.stderr
        status = run(["key-agent", "status", "--tenant", TENANT], home, tmp_path)
        assert status.returncode == 0, status.stderr
        assert TENANT in status.stdout

        other = ["key-agent", "attach", "--tenant", "000000000000", "--url", url]
        wrong_tenant = run([*other, "--bundle", str(bundle)], home, tmp_path)
        assert wrong_tenant.returncode == 3
        assert f"serves tenant {TENANT}" in wrong_tenant.stderr

        process.terminate()
        process.wait(timeout=15)
        down = run(["key-agent", "status", "--tenant", TENANT], home, tmp_path)
        assert down.returncode == 4
        assert "KMSInvalidStateException" in down.stderr
        assert "cannot be reached" in down.stderr

        detached = run(["key-agent", "detach", "--tenant", TENANT], home, tmp_path)
        assert detached.returncode == 0, detached.stderr
        assert run(["key-agent", "status", "--tenant", TENANT], home, tmp_path).returncode == 3

        # The operator's commands bypass the gate, so the tenant's own log records them.
        platform = Platform.build(load_settings({"LAKEVAULT_HOME": str(home)}))
        events = [dict(e) for e in platform.audit.read(TENANT, limit=1000)]
        platform.close()
        by_operator = [
            (e["eventName"], e["userIdentity"]["accountId"])
            for e in events
            if e["eventName"] in ("PutKeyAgent", "DeleteKeyAgent")
        ]
        assert by_operator == [("PutKeyAgent", "000000000000"), ("DeleteKeyAgent", "000000000000")]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    "command",
    [
        ["key-agent"],
        ["key-agent", "init"],
        ["key-agent", "certs"],
        ["key-agent", "run"],
        ["key-agent", "attach"],
        ["key-agent", "detach"],
        ["key-agent", "status"],
        ["root-key", "check"],
        ["root-key", "protect"],
    ],
    ids=" ".join,
)
def test_every_key_command_has_help(command: list[str], home: Path, tmp_path: Path) -> None:
    result = run([*command, "--help"], home, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def _on_a_terminal(
    args: list[str], home: Path, cwd: Path, answers: list[str], until: str
) -> tuple[int, str]:
    """Run ``lakevault ARGS`` on a pseudo-terminal, answering each prompt in turn; return the
    pid and everything printed until ``until`` appears (the process is then left running)."""
    import pty
    import select

    pid, descriptor = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "lakevault", *args], lakevault_env(home))
    seen = ""
    pending = list(answers)
    deadline = time.monotonic() + 90
    while until not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([descriptor], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(descriptor, 4096).decode(errors="replace")
        except OSError:
            break
        seen += chunk
        # Answer once getpass has written its own prompt (the space after the colon): it has
        # turned echo off and flushed the input by then.
        if pending and seen.endswith(": "):
            os.write(descriptor, (pending.pop(0) + "\n").encode())
    if until not in seen:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError(f"{until!r} did not appear; the terminal showed: {seen}")
    return pid, seen


def test_the_passphrase_is_asked_on_a_terminal_and_never_echoed(home: Path, tmp_path: Path) -> None:
    pid, seen = _on_a_terminal(
        ["init", "--passphrase"], home, tmp_path, [PASSPHRASE, PASSPHRASE], "installation ready"
    )
    os.waitpid(pid, 0)
    assert "installation ready" in seen, seen
    assert PASSPHRASE not in seen
    assert (home / "keys" / "platform-root.key").read_bytes().startswith(b"LVKEYPW")

    pid, seen = _on_a_terminal(
        ["serve", "--port", "0"], home, tmp_path, [PASSPHRASE], "listening on"
    )
    try:
        assert "listening on" in seen, seen
        assert PASSPHRASE not in seen
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
