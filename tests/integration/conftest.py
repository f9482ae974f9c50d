"""Running the ``lakevault`` command and server as a user would, for the integration tests."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest


def lakevault_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEVAULT_")}
    env.update({"LAKEVAULT_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"})
    env.update(extra)
    return env


def run(
    args: list[str], home: Path, cwd: Path, *, stdin: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakevault", *args],
        cwd=cwd,
        env=lakevault_env(home, **extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[str]] = []

    def start(home: Path, *args: str, **extra: str) -> tuple[Server, str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "lakevault", "serve", "--port", "0", *args],
            cwd=tmp_path,
            env=lakevault_env(home, **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stderr is not None
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            seen.append(line)
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                return Server(process, found.group(1)), "".join(seen)
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"server did not start: {''.join(seen)}{err}\nstdout: {out}")

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def printed_password(server: Server) -> str:
    """The administrator's one-time password that ``serve --init`` prints on stdout."""
    assert server.process.stdout is not None
    for _ in range(12):
        found = re.search(r"password {2,}(\S+)", server.process.stdout.readline())
        if found:
            return found.group(1)
    raise AssertionError("serve --init printed no administrator password")


def tenant_headers(server: Server, name: str) -> dict[str, str]:
    """Create tenant ``name`` over HTTP as the platform administrator (after ``serve --init``);
    the Authorization header of the new tenant's administrator."""
    url = server.url
    admin = httpx.post(
        f"{url}/api/v1/sessions",
        json={
            "accountId": "000000000000",
            "userName": "admin",
            "password": printed_password(server),
        },
    ).json()["accessToken"]
    tenant = httpx.post(
        f"{url}/api/v1/tenants", json={"name": name}, headers={"Authorization": f"Bearer {admin}"}
    ).json()
    token = httpx.post(
        f"{url}/api/v1/sessions",
        json={
            "accountId": tenant["tenant"]["accountId"],
            "userName": "admin",
            "password": tenant["adminPassword"],
        },
    ).json()["accessToken"]
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class TenantShell:
    """A running platform, and the ``lakevault`` command signed in as a new tenant's admin."""

    server: Server
    account_id: str
    admin_password: str
    home: Path
    cwd: Path
    config: Path

    def cli(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        result = run(list(args), self.home, self.cwd, stdin=stdin, XDG_CONFIG_HOME=str(self.config))
        return result.returncode, result.stdout, result.stderr

    def login(self, account: str, password: str) -> None:
        code, _, err = self.cli(
            "login",
            "--account",
            account,
            "--user",
            "admin",
            "--endpoint",
            self.server.url,
            "--password-stdin",
            stdin=password + "\n",
        )
        assert code == 0, err


@pytest.fixture
def tenant_shell(tmp_path: Path, start_server: Any) -> Callable[[str], TenantShell]:
    """Start ``lakevault serve --init``, sign in as the platform administrator with the
    password it prints once, create tenant ``name`` and sign in as its administrator."""

    def make(name: str) -> TenantShell:
        home, config = tmp_path / "home", tmp_path / "config"
        server, _ = start_server(home, "--init", XDG_CONFIG_HOME=str(config))
        password = printed_password(server)
        shell = TenantShell(
            server=server, account_id="", admin_password="", home=home, cwd=tmp_path, config=config
        )
        shell.login("000000000000", password)
        code, out, err = shell.cli("tenants", "create", name)
        assert code == 0, err
        created = json.loads(out)
        account, secret = created["tenant"]["accountId"], created["adminPassword"]
        shell.login(account, secret)
        return replace(shell, account_id=account, admin_password=secret)

    return make
