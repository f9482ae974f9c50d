"""Crypto-shredding survives restoring an old database backup (issue #5, item 5).

The operator backs the live database up, a tenant's key is then scheduled for deletion and
destroyed, and the operator restores the whole backup — the key's wrapped material and the
database's own tombstone are back to their state before the destruction. What still remembers
the destruction is the tombstone journal beside the root key (docs/keys.md, "Backups"). Real
``lakevault serve`` processes and the ``lakevault`` command, as an operator would run them.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from lakevault.core import load_settings
from lakevault.runtime import Platform
from tests.integration.conftest import Server, TenantShell

SECRET = b"payroll 2026"


def _stop(server: Server) -> None:
    server.process.terminate()
    server.process.wait(timeout=30)


def _restore(database: Path, backup: Path) -> None:
    """What an operator does to restore: the server stopped, the old file put back whole."""
    for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        leftover.unlink(missing_ok=True)
    database.write_bytes(backup.read_bytes())


def _decrypt(shell: TenantShell, blob: str) -> tuple[int, str, str]:
    return shell.cli("kms", "decrypt", "--ciphertext-blob", blob, "--context", "team=payroll")


def test_a_destroyed_key_stays_destroyed_after_the_database_is_restored_from_a_backup(
    tenant_shell: Any, start_server: Any
) -> None:
    shell: TenantShell = tenant_shell("acme")
    code, out, err = shell.cli("kms", "create-key", "--description", "payroll")
    assert code == 0, err
    key_id = json.loads(out)["keyMetadata"]["keyId"]
    code, out, err = shell.cli(
        "kms",
        "encrypt",
        key_id,
        "--plaintext",
        base64.b64encode(SECRET).decode(),
        "--context",
        "team=payroll",
    )
    assert code == 0, err
    blob = json.loads(out)["ciphertextBlob"]

    # A backup of the live database, with SQLite's online backup (the server keeps running).
    database = shell.home / "metadata.db"
    backup = shell.cwd / "metadata-backup.db"
    with sqlite3.connect(database) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)

    code, _, err = shell.cli("kms", "schedule-key-deletion", key_id, "--days", "7")
    assert code == 0, err
    _stop(shell.server)
    # The waiting period ends: the deletion job's own call, at a time past the deletion date.
    settings = load_settings({"LAKEVAULT_HOME": str(shell.home)})
    platform = Platform.build(settings)
    try:
        later = platform.clock.now() + timedelta(days=8)
        assert platform.keys.destroy_due_keys(now=later) == 1
    finally:
        platform.close()

    _restore(database, backup)
    with sqlite3.connect(database) as restored:
        (versions,) = restored.execute(
            "SELECT count(*) FROM kms_key_versions WHERE key_id = ?", (key_id,)
        ).fetchone()
    assert versions == 1, "the backup should hold the key's wrapped material"

    server, _ = start_server(shell.home, XDG_CONFIG_HOME=str(shell.config))
    shell = replace(shell, server=server)
    shell.login(shell.account_id, shell.admin_password)
    code, out, err = _decrypt(shell, blob)
    assert code != 0 and SECRET not in out.encode()
    assert "KMSInvalidStateException" in err and "backup" in err, err
    _stop(server)

    # Only the explicit override lets the operator recover from such a backup.
    server, _ = start_server(
        shell.home,
        XDG_CONFIG_HOME=str(shell.config),
        LAKEVAULT_KMS_ALLOW_RESTORED_DESTROYED_KEYS="true",
    )
    shell = replace(shell, server=server)
    shell.login(shell.account_id, shell.admin_password)
    code, out, err = _decrypt(shell, blob)
    assert code == 0, err
    assert out.encode() == SECRET
