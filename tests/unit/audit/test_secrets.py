"""A scenario around known secret values: nothing secret reaches the log, the database or an export.

The scenario records events next to a password, an access key's secret, a session token and the
checkpoint signing key, tries to log them under every parameter name that may carry one,
bootstraps the platform (whose audited state change creates a one-time password), then greps
every byte lakevault wrote (SQLite database and WAL, or a PostgreSQL dump of the audit tables,
and the export directory) for each secret.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select

from lakevault.audit import (
    DatabaseAuditLog,
    NoteSigner,
    export_log,
    verify_export,
)
from lakevault.core import PLATFORM_ACCOUNT_ID, FixedClock, SystemRandom
from lakevault.core.errors import InvalidParameterValue
from lakevault.db import Database, models
from lakevault.identity import bootstrap_platform
from tests.unit.audit.helpers import ACCOUNT, make_checkpointer, make_event

PASSWORD = "Correct-Horse-Battery-Staple-7731"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0000000000"


def test_no_secret_reaches_the_log_or_an_export(database: Database, tmp_path: Path) -> None:
    signer = NoteSigner.generate("lakevault-audit")
    signing_seed = signer.signer_key_text_unsafe().split("+", 4)[4]  # the base64 may hold "+"
    log = DatabaseAuditLog(database)
    secrets = [PASSWORD, SECRET_ACCESS_KEY, SESSION_TOKEN, signing_seed]
    number = 0
    for key, value in [
        ("password", PASSWORD),
        ("newPassword", PASSWORD),
        ("SecretAccessKey", SECRET_ACCESS_KEY),
        ("sessionToken", SESSION_TOKEN),
        ("Credentials", {"SecretAccessKey": SECRET_ACCESS_KEY}),
        ("privateKey", signing_seed),
        ("Body", PASSWORD),
    ]:
        for field in ("request_parameters", "response_elements", "additional"):
            number += 1
            with pytest.raises(InvalidParameterValue, match="never recorded"):
                log.append(make_event(number, **{field: {key: value}}))
    # What the services do instead: record a non-secret fact about the secret.
    log.append(
        make_event(100, event_name="ChangePassword", request_parameters={"userName": "alice"})
    )
    log.append(
        make_event(
            101, event_name="CreateAccessKey", response_elements={"accessKeyId": "LVAKEXAMPLE"}
        )
    )
    log.close()

    # A real state change with a secret: the administrator's one-time password at bootstrap.
    credentials = bootstrap_platform(
        database, clock=FixedClock(), random=SystemRandom(), region="local"
    )
    assert credentials is not None
    secrets.append(credentials.password)

    checkpointer = make_checkpointer(database, signer)
    for account in (ACCOUNT, PLATFORM_ACCOUNT_ID):
        export_log(database, checkpointer, tmp_path / "export", account)
    logs = verify_export(tmp_path / "export", verifier=signer.verifier)
    assert [log.tree_size for log in logs] == [1, 2]  # platform: bootstrap; tenant: 2 events

    written = b"".join(
        path.read_bytes() for path in (tmp_path / "export").rglob("*") if path.is_file()
    )
    written += _database_bytes(database)
    for secret in secrets:
        for form in (secret.encode(), base64.b64encode(secret.encode())):
            assert form not in written, "a secret value reached the audit trail"


def _database_bytes(database: Database) -> bytes:
    if database.sqlite_path is not None:
        files = [database.sqlite_path, Path(f"{database.sqlite_path}-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    with database.read_session() as session:
        rows = [row.body for row in session.scalars(select(models.AuditEvent))]
        rows += [row.note for row in session.scalars(select(models.AuditCheckpoint))]
    return "\n".join(rows).encode()
