"""``lakevault audit ...`` end to end on a real installation directory (SQLite)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakevault.audit import SIGNING_KEY_FILE, DatabaseAuditLog, DecisionRecord
from lakevault.cli import _audit
from lakevault.core import load_settings
from lakevault.db import Database
from lakevault.runtime import Platform, initialise
from tests.unit.audit.helpers import ACCOUNT, make_event

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("LAKEVAULT_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    platform = Platform.build(load_settings({"LAKEVAULT_HOME": str(home)}))
    initialise(platform)
    platform.close()
    database = Database(f"sqlite:///{home / 'metadata.db'}")
    log = DatabaseAuditLog(database)
    for number in range(12):
        denied = DecisionRecord(effect="ExplicitlyDenied", statements=({"sid": "Deny"},))
        log.append(make_event(number, **({"decision": denied} if number % 3 == 0 else {})))
    log.close()
    database.dispose()
    return home


def test_init_creates_the_private_signing_key(home: Path) -> None:
    assert stat.S_IMODE(os.stat(home / SIGNING_KEY_FILE).st_mode) == 0o600


def test_checkpoint_export_verify_and_prove(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(_audit.app, ["checkpoint", "--tenant", ACCOUNT])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"lakevault.local/audit/{ACCOUNT}\n12\n")
    result = runner.invoke(_audit.app, ["export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"{ACCOUNT}: events 0 to 11" in result.output
    key = home / "keys" / "audit-signing.pub"
    result = runner.invoke(_audit.app, ["verify", str(tmp_path / "out"), "--key", str(key)])
    assert result.exit_code == 0, result.output
    assert f"{ACCOUNT}: OK" in result.output and "000000000000: OK" in result.output
    result = runner.invoke(_audit.app, ["prove", make_event(5).event_id, "--tenant", ACCOUNT])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["leafIndex"] == 5


def test_verify_reports_the_first_inconsistency_and_fails(home: Path, tmp_path: Path) -> None:
    assert (
        runner.invoke(_audit.app, ["export", "--tenant", ACCOUNT, str(tmp_path / "out")]).exit_code
        == 0
    )
    segment = next((tmp_path / "out" / ACCOUNT / "segments").glob("*.jsonl"))
    segment.write_bytes(segment.read_bytes().replace(b"key-3", b"key-4", 1))
    result = runner.invoke(_audit.app, ["verify", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "AuditExportInvalid" in result.output and segment.name in result.output


def test_events_lists_pages_and_json(home: Path) -> None:
    result = runner.invoke(
        _audit.app,
        ["events", "--tenant", ACCOUNT, "--decision", "denied", "--limit", "2", "--json"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [e["sequence"] for e in document["events"]] == [0, 3]
    result = runner.invoke(
        _audit.app,
        [
            "events",
            "--tenant",
            ACCOUNT,
            "--next-token",
            document["nextToken"],
            "--decision",
            "denied",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.split()[0] == "6" and "ExplicitlyDenied" in result.output


def test_a_missing_signing_key_is_a_configuration_error(home: Path) -> None:
    (home / SIGNING_KEY_FILE).unlink()
    result = runner.invoke(_audit.app, ["checkpoint"])
    assert result.exit_code == 3
    assert "lakevault init" in result.output


def test_consistency_between_two_checkpoints(home: Path) -> None:
    first = runner.invoke(_audit.app, ["checkpoint", "--tenant", ACCOUNT])
    assert first.exit_code == 0, first.output
    database = Database(f"sqlite:///{home / 'metadata.db'}")
    log = DatabaseAuditLog(database)
    log.append(make_event(100))
    log.close()
    database.dispose()
    assert runner.invoke(_audit.app, ["checkpoint", "--tenant", ACCOUNT]).exit_code == 0
    result = runner.invoke(_audit.app, ["consistency", "12", "13", "--tenant", ACCOUNT])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["oldSize"], document["newSize"]) == (12, 13)
    assert document["proof"] and document["newCheckpoint"].startswith("lakevault.local/audit/")
    missing = runner.invoke(_audit.app, ["consistency", "5", "13", "--tenant", ACCOUNT])
    assert missing.exit_code == 1 and "no checkpoint of tree size 5" in missing.output


def test_rotate_key_keeps_old_checkpoints_verifiable(home: Path, tmp_path: Path) -> None:
    assert runner.invoke(_audit.app, ["checkpoint", "--tenant", ACCOUNT]).exit_code == 0
    old_public = (home / "keys" / "audit-signing.pub").read_text()
    result = runner.invoke(_audit.app, ["rotate-key"])
    assert result.exit_code == 0, result.output
    assert "2 key(s)" in result.output
    assert (home / "keys" / "audit-signing.pub").read_text() != old_public
    assert stat.S_IMODE(os.stat(home / SIGNING_KEY_FILE).st_mode) == 0o600
    result = runner.invoke(_audit.app, ["prove", make_event(5).event_id, "--tenant", ACCOUNT])
    assert result.exit_code == 0, result.output
    assert runner.invoke(_audit.app, ["export", str(tmp_path / "out")]).exit_code == 0
    keyring = home / "keys" / "audit-verifiers.pub"
    result = runner.invoke(_audit.app, ["verify", str(tmp_path / "out"), "--key", str(keyring)])
    assert result.exit_code == 0, result.output
    assert f"{ACCOUNT}: OK" in result.output
    # Only the new key: the checkpoint signed before the rotation is refused.
    new_only = home / "keys" / "audit-signing.pub"
    result = runner.invoke(_audit.app, ["verify", str(tmp_path / "out"), "--key", str(new_only)])
    assert result.exit_code == 1
    assert "00000000000000000012.checkpoint" in result.output


def test_expire_removes_old_segments_and_the_export_still_verifies(
    home: Path, tmp_path: Path
) -> None:
    assert (
        runner.invoke(_audit.app, ["export", "--tenant", ACCOUNT, str(tmp_path / "out")]).exit_code
        == 0
    )
    # The events are from January 2026; with a retention of 2500 days nothing expires.
    kept = runner.invoke(_audit.app, ["expire", str(tmp_path / "out"), "--retention-days", "2500"])
    assert kept.exit_code == 0, kept.output
    assert "0 segment(s)" in kept.output
    too_long = runner.invoke(
        _audit.app, ["expire", str(tmp_path / "out"), "--retention-days", "3000"]
    )
    assert too_long.exit_code == 2
    # The default retention (90 days, the audit_retention_days setting) expires them.
    result = runner.invoke(_audit.app, ["expire", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"{ACCOUNT}: 1 segment(s), 12 event(s) expired" in result.output
    assert not list((tmp_path / "out" / ACCOUNT / "segments").iterdir())
    verified = runner.invoke(_audit.app, ["verify", str(tmp_path / "out")])
    assert verified.exit_code == 0, verified.output
