"""Helpers for tests of operator-blind mode: a tenant's key agent directory and its process.

The agent runs as a real process (``python -m lakevault key-agent run``) on 127.0.0.1 with a
free port, exactly as a tenant would run it; tests stop it with SIGTERM or SIGKILL.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lakevault.core import SystemRandom
from lakevault.kms import (
    AgentConnection,
    AgentIdentity,
    certificate_fingerprint,
    initialise_agent_directory,
    issue_agent_certificates,
)

TENANT = "210987654321"


def make_agent_directory(
    directory: Path, *, tenant_id: str = TENANT, passphrase: str | None = None
) -> AgentConnection:
    """A key agent directory with key and certificates; returns the platform's connection
    material (URL not yet known: ``https://127.0.0.1:0``)."""
    identity = initialise_agent_directory(
        directory, tenant_id=tenant_id, random=SystemRandom(), passphrase=passphrase
    )
    issued = issue_agent_certificates(
        tenant_id=tenant_id, hosts=["127.0.0.1", "localhost"], now=datetime.now(UTC)
    )
    tls = directory / "tls"
    tls.mkdir(mode=0o700)
    (tls / "ca.pem").write_bytes(issued.ca_certificate)
    (tls / "ca.key").write_bytes(issued.ca_key)
    (tls / "server.pem").write_bytes(issued.server_certificate)
    (tls / "server.key").write_bytes(issued.server_key)
    AgentIdentity(
        tenant_id=identity.tenant_id,
        key_id=identity.key_id,
        allowed_client_fingerprints=(certificate_fingerprint(issued.client_certificate),),
    ).write(directory)
    return AgentConnection(
        tenant_id=tenant_id,
        url="https://127.0.0.1:0",
        ca_certificate=issued.ca_certificate,
        client_certificate=issued.client_certificate,
        client_key=issued.client_key,
    )


@dataclass
class AgentProcess:
    """A running ``lakevault key-agent run``; everything it logs goes to ``log_path``."""

    process: subprocess.Popen[bytes]
    url: str
    directory: Path
    log_path: Path

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.process.wait(timeout=15)

    def log(self) -> bytes:
        return self.log_path.read_bytes()


def start_agent(directory: Path, *, extra: list[str] | None = None) -> AgentProcess:
    """Start the agent on a free port of 127.0.0.1 and wait until it listens."""
    log_path = directory.parent / f"{directory.name}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "lakevault", "key-agent", "run", "--dir", str(directory)),
                *("--host", "127.0.0.1", "--port", "0", *(extra or [])),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(rb"listening on (https://127\.0\.0\.1:\d+)", log_path.read_bytes())
        if found:
            return AgentProcess(
                process=process, url=found.group(1).decode(), directory=directory, log_path=log_path
            )
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    seen = log_path.read_bytes().decode(errors="replace")[-2000:]
    raise RuntimeError(f"the key agent did not start: {seen}")


def with_url(connection: AgentConnection, url: str) -> AgentConnection:
    return AgentConnection(
        tenant_id=connection.tenant_id,
        url=url,
        ca_certificate=connection.ca_certificate,
        client_certificate=connection.client_certificate,
        client_key=connection.client_key,
    )
