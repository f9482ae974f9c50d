"""Retention: expiry removes whole old segments of an export, which still verifies after."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from lakevault.audit import (
    ExportVerificationFailed,
    append_in,
    expire_export,
    export_log,
    verify_export,
)
from lakevault.core.errors import InvalidParameterValue
from lakevault.db import Database
from tests.unit.audit.helpers import ACCOUNT, START, make_checkpointer, make_event

NOW = START + timedelta(days=200)


def _export(database: Database, tmp_path: Path, times: list[int]) -> Path:
    """Events at ``START + days``, four to a segment, checkpointed twice on the way."""
    checkpointer = make_checkpointer(database)
    for part in (range(min(6, len(times))), range(6, len(times))):
        with database.session() as session:
            for number in part:
                event_time = START + timedelta(days=times[number])
                append_in(session, make_event(number, event_time=event_time))
        checkpointer.checkpoint(ACCOUNT)
    exported = export_log(database, checkpointer, tmp_path / "out", ACCOUNT, segment_events=4)
    return exported.directory


def _segments(directory: Path) -> list[str]:
    return sorted(p.name for p in (directory / "segments").iterdir())


def test_old_whole_segments_expire_and_the_export_still_verifies(
    database: Database, tmp_path: Path
) -> None:
    # Segments [0-3] and [4-7] are older than 90 days at NOW; [8-11] has one recent event.
    directory = _export(database, tmp_path, [1] * 8 + [1, 1, 1, 150])
    checkpoints = sorted((directory / "checkpoints").iterdir())
    result = expire_export(directory, now=NOW, retention_days=90)
    assert (result.expired_segments, result.expired_events, result.first_sequence) == (2, 8, 8)
    assert _segments(directory) == [
        "00000000000000000008.digest",
        "00000000000000000008.jsonl",
    ]
    assert sorted((directory / "checkpoints").iterdir()) == checkpoints
    [log] = verify_export(tmp_path / "out")
    assert (log.first_sequence, log.tree_size) == (8, 12)
    manifest = orjson.loads((directory / "manifest.json").read_bytes())
    assert manifest["firstSequence"] == 8 and manifest["expiredBefore"].endswith("Z")
    # Nothing more is old enough: a second run changes nothing.
    again = expire_export(directory, now=NOW, retention_days=90)
    assert again.expired_segments == 0 and _segments(directory) == _segments(directory)


def test_a_segment_with_any_event_inside_the_retention_is_kept_whole(
    database: Database, tmp_path: Path
) -> None:
    directory = _export(database, tmp_path, [1, 1, 1, 150] + [1] * 4)
    result = expire_export(directory, now=NOW, retention_days=90)
    # The first segment holds a recent event, so nothing after it expires either.
    assert result.expired_segments == 0
    assert len(_segments(directory)) == 4


def test_a_log_may_expire_entirely_and_still_verify(database: Database, tmp_path: Path) -> None:
    directory = _export(database, tmp_path, [1] * 6)
    result = expire_export(directory, now=NOW, retention_days=30)
    assert (result.expired_segments, result.first_sequence) == (2, 6)
    assert _segments(directory) == []
    [log] = verify_export(tmp_path / "out")
    assert (log.first_sequence, log.tree_size, log.segments) == (6, 6, 0)


def test_a_tampered_export_is_never_expired(database: Database, tmp_path: Path) -> None:
    directory = _export(database, tmp_path, [1] * 12)
    segment = directory / "segments" / "00000000000000000004.jsonl"
    segment.write_bytes(segment.read_bytes().replace(b"key-5", b"key-6", 1))
    before = {p.name: p.read_bytes() for p in (directory / "segments").iterdir()}
    manifest = (directory / "manifest.json").read_bytes()
    with pytest.raises(ExportVerificationFailed, match="SHA-256"):
        expire_export(directory, now=NOW, retention_days=90)
    assert {p.name: p.read_bytes() for p in (directory / "segments").iterdir()} == before
    assert (directory / "manifest.json").read_bytes() == manifest


def test_an_interrupted_expiry_is_finished_by_the_next_run(
    database: Database, tmp_path: Path
) -> None:
    directory = _export(database, tmp_path, [1] * 4 + [150] * 4)
    kept = {p.name: p.read_bytes() for p in (directory / "segments").iterdir()}
    expire_export(directory, now=NOW, retention_days=90)
    # Simulate a crash after the manifest moved but before the old files were removed.
    for name in ("00000000000000000000.jsonl", "00000000000000000000.digest"):
        (directory / "segments" / name).write_bytes(kept[name])
    with pytest.raises(ExportVerificationFailed):
        verify_export(tmp_path / "out")
    result = expire_export(directory, now=NOW, retention_days=90)
    assert result.first_sequence == 4
    assert _segments(directory) == ["00000000000000000004.digest", "00000000000000000004.jsonl"]
    verify_export(tmp_path / "out")


@pytest.mark.parametrize("days", [0, -1, 7 * 366])
def test_retention_is_one_day_to_seven_years(database: Database, tmp_path: Path, days: int) -> None:
    directory = _export(database, tmp_path, [1] * 4)
    with pytest.raises(InvalidParameterValue, match="7 years"):
        expire_export(directory, now=NOW, retention_days=days)
