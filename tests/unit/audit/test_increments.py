"""The incremental (bucket) export format: names, selection by the newest manifest, adoption
of a crashed run's segment, and moving the start over expired segments."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakevault.audit import (
    ExportVerificationFailed,
    adopt_segment,
    advance_start,
    append_in,
    build_segment,
    checkpoint_key,
    digest_key,
    export_log,
    keyring,
    keyring_key,
    manifest_bytes,
    manifest_key,
    materialize,
    parse_manifest_key,
    segment_key,
    selected_names,
    verify_log,
)
from lakevault.db import Database
from tests.unit.audit.helpers import ACCOUNT, make_checkpointer, make_event


def _log(database: Database, count: int) -> None:
    with database.session() as session:
        for number in range(count):
            append_in(session, make_event(number))


def test_names_sort_by_number_and_parse_back() -> None:
    assert segment_key(8) == "segments/00000000000000000008.jsonl"
    assert digest_key(8) == "segments/00000000000000000008.digest"
    assert checkpoint_key(12) == "checkpoints/00000000000000000012.checkpoint"
    assert keyring_key(2) == "keys/0002.pub"
    assert parse_manifest_key(manifest_key(12, 8)) == (12, 8)
    for wrong in (
        "manifests/12-8.json",
        "manifests/x.json",
        "segments/0.json",
        manifest_key(1, 0)[:-1],
    ):
        assert parse_manifest_key(wrong) is None
    assert manifest_key(100, 0) > manifest_key(99, 50) > manifest_key(99, 0)


def test_the_newest_manifest_decides_and_later_objects_are_pending() -> None:
    names = [
        manifest_key(8, 0),
        manifest_key(12, 4),
        segment_key(0),  # expired: before the newest manifest's first sequence
        segment_key(4),
        digest_key(4),
        segment_key(12),  # a run in progress
        checkpoint_key(12),
        checkpoint_key(16),
        keyring_key(1),
        keyring_key(2),
    ]
    chosen, pending = selected_names(names)
    assert set(chosen) == {
        manifest_key(12, 4),
        keyring_key(2),
        segment_key(4),
        digest_key(4),
        checkpoint_key(12),
    }
    assert set(pending) == {segment_key(12), checkpoint_key(16)}
    with pytest.raises(ExportVerificationFailed, match="no manifest"):
        selected_names([segment_key(0)])


def test_pieces_written_one_by_one_verify_like_a_directory_export(
    database: Database, tmp_path: Path
) -> None:
    _log(database, 10)
    checkpointer = make_checkpointer(database)
    checkpointer.checkpoint(ACCOUNT)
    objects: dict[str, bytes] = {}
    for first, last in ((0, 4), (4, 10)):
        piece = build_segment(database, checkpointer, ACCOUNT, first, last)
        objects[segment_key(first)] = piece.data
        objects[digest_key(first)] = piece.digest
    for signed in checkpointer.history(ACCOUNT):
        objects[checkpoint_key(signed.checkpoint.tree_size)] = signed.note
    count, text = keyring(checkpointer)
    objects[keyring_key(count)] = text
    objects[manifest_key(10, 0)] = manifest_bytes(
        ACCOUNT, first_sequence=0, tree_size=10, start_range=[]
    )
    materialized = materialize(objects, tmp_path / "bucket")
    assert verify_log(materialized.directory).tree_size == 10
    # The same bytes as a directory export of the same log.
    exported = export_log(database, checkpointer, tmp_path / "dir", ACCOUNT, segment_events=4)
    assert (exported.directory / "segments" / "00000000000000000000.jsonl").read_bytes() == (
        objects[segment_key(0)]
    )
    # Expiring the first segment: the start moves, the rest still verifies.
    first, frontier = advance_start(0, [], [objects[segment_key(0)]])
    assert first == 4
    moved = {
        name: data
        for name, data in objects.items()
        if not name.startswith("segments/0000000000000000000")
    }
    moved.update({segment_key(4): objects[segment_key(4)], digest_key(4): objects[digest_key(4)]})
    moved[manifest_key(10, 4)] = manifest_bytes(
        ACCOUNT, first_sequence=4, tree_size=10, start_range=frontier
    )
    log = verify_log(materialize(moved, tmp_path / "expired").directory)
    assert (log.first_sequence, log.tree_size) == (4, 10)


def test_a_crashed_runs_segment_is_adopted_only_if_it_is_exactly_the_log(
    database: Database,
) -> None:
    _log(database, 6)
    checkpointer = make_checkpointer(database)
    piece = build_segment(database, checkpointer, ACCOUNT, 2, 6)
    assert adopt_segment(database, ACCOUNT, 2, piece.data) == 4
    with pytest.raises(ExportVerificationFailed, match="differs"):
        adopt_segment(database, ACCOUNT, 2, piece.data.replace(b"GetObject", b"PutObject", 1))
    with pytest.raises(ExportVerificationFailed, match="does not start with event 3"):
        adopt_segment(database, ACCOUNT, 3, piece.data)


def test_moving_the_start_refuses_a_gap(database: Database) -> None:
    _log(database, 8)
    checkpointer = make_checkpointer(database)
    later = build_segment(database, checkpointer, ACCOUNT, 4, 8)
    with pytest.raises(ExportVerificationFailed, match="expected event 0, found 4"):
        advance_start(0, [], [later.data])
