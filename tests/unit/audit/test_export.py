"""Export, then verify offline; every kind of tampering is found and named with its position."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakevault.audit import (
    Checkpointer,
    ExportVerificationFailed,
    NoteSigner,
    NoteVerifier,
    append_in,
    export_log,
    verify_export,
)
from lakevault.core.errors import Conflict
from lakevault.db import Database
from tests.unit.audit.helpers import ACCOUNT, OTHER_ACCOUNT, START, make_checkpointer, make_event

SEGMENT_EVENTS = 8


def fill(database: Database, checkpointer: Checkpointer, total: int, *, every: int = 7) -> None:
    """Append ``total`` events with a checkpoint after every ``every`` of them."""
    for start in range(0, total, every):
        with database.session() as session:
            for number in range(start, min(start + every, total)):
                append_in(session, make_event(number))
        checkpointer.checkpoint(ACCOUNT)


@pytest.fixture
def exported(database: Database, tmp_path: Path) -> tuple[Path, Checkpointer]:
    checkpointer = make_checkpointer(database)
    fill(database, checkpointer, 30)
    export_log(database, checkpointer, tmp_path / "export", ACCOUNT, segment_events=SEGMENT_EVENTS)
    return tmp_path / "export" / ACCOUNT, checkpointer


def segment(directory: Path, first: int) -> Path:
    return directory / "segments" / f"{first:020d}.jsonl"


def failure(directory: Path, verifier: NoteVerifier) -> ExportVerificationFailed:
    with pytest.raises(ExportVerificationFailed) as info:
        verify_export(directory.parent, verifier=verifier)
    return info.value


def test_an_untouched_export_verifies(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    (log,) = verify_export(directory.parent, verifier=checkpointer.verifier)
    assert (log.first_sequence, log.tree_size, log.segments) == (0, 30, 4)
    assert log.checkpoints == 5
    assert verify_export(directory.parent)[0].tree_size == 30  # with the export's own key


def test_a_changed_byte_is_found(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    path = segment(directory, 8)
    path.write_bytes(path.read_bytes().replace(b"key-9", b"key-X", 1))
    error = failure(directory, checkpointer.verifier)
    assert error.position == "segments/00000000000000000008.jsonl"
    assert "bytes of the segment were changed" in error.message


def test_a_deleted_event_is_found(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    path = segment(directory, 8)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3] + lines[4:]))
    error = failure(directory, checkpointer.verifier)
    assert error.position == "segments/00000000000000000008.jsonl line 4"
    assert "event 11 is missing (deleted)" in error.message


def test_a_reordered_pair_is_found(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    path = segment(directory, 16)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2], lines[3] = lines[3], lines[2]
    path.write_bytes(b"".join(lines))
    error = failure(directory, checkpointer.verifier)
    assert error.position == "segments/00000000000000000016.jsonl line 3"
    assert "events 18 and 19 are in the wrong order" in error.message


def test_a_reordered_pair_with_renumbered_lines_is_found(
    exported: tuple[Path, Checkpointer],
) -> None:
    directory, checkpointer = exported
    path = segment(directory, 16)
    lines = path.read_bytes().splitlines(keepends=True)
    body = [line.split(b',"event":', 1) for line in lines]
    body[2][1], body[3][1] = body[3][1], body[2][1]
    path.write_bytes(b"".join(prefix + b',"event":' + rest for prefix, rest in body))
    error = failure(directory, checkpointer.verifier)
    assert "bytes of the segment were changed" in error.message


def test_a_truncated_tail_is_found(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    path = segment(directory, 24)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-2]))
    error = failure(directory, checkpointer.verifier)
    assert error.position == "segments/00000000000000000024.jsonl"
    assert "ends after event 27" in error.message and "tail was truncated" in error.message


def test_a_removed_last_segment_is_found(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    segment(directory, 24).unlink()
    (directory / "segments" / f"{24:020d}.digest").unlink()
    error = failure(directory, checkpointer.verifier)
    assert "events 24 to 29 are missing (the tail was truncated)" in error.message


def test_a_line_cut_in_the_middle_is_found(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    path = segment(directory, 24)
    path.write_bytes(path.read_bytes()[:-10])
    error = failure(directory, checkpointer.verifier)
    assert error.position == "segments/00000000000000000024.jsonl line 6"
    assert "middle of a line" in error.message


def test_a_replaced_checkpoint_is_found(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    path = directory / "checkpoints" / f"{14:020d}.checkpoint"
    forger = NoteSigner.generate(checkpointer.verifier.name)
    text, _, _ = path.read_bytes().partition(b"\n\n")
    path.write_bytes(forger.sign(text + b"\n"))
    error = failure(directory, checkpointer.verifier)
    assert error.position == "checkpoints/00000000000000000014.checkpoint"
    assert "no signature by the trusted key" in error.message


def test_a_checkpoint_replaced_by_a_validly_signed_other_one_breaks_the_chain(
    exported: tuple[Path, Checkpointer],
) -> None:
    directory, checkpointer = exported
    checkpoints = directory / "checkpoints"
    shutil.copy(checkpoints / f"{21:020d}.checkpoint", checkpoints / f"{14:020d}.checkpoint")
    error = failure(directory, checkpointer.verifier)
    assert error.position == "checkpoints/00000000000000000014.checkpoint"
    assert "checkpoints were renamed or replaced" in error.message


def test_a_removed_checkpoint_breaks_the_chain(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    (directory / "checkpoints" / f"{14:020d}.checkpoint").unlink()
    error = failure(directory, checkpointer.verifier)
    assert error.position == "checkpoints/00000000000000000021.checkpoint"
    assert "does not name the checkpoint of tree size 7 as its predecessor" in error.message


def test_an_export_signed_by_another_key_fails_when_the_key_is_pinned(
    exported: tuple[Path, Checkpointer],
) -> None:
    directory, _ = exported
    error = failure(directory, NoteSigner.generate("lakevault-audit").verifier)
    assert "no signature by the trusted key" in error.message


def test_an_export_since_a_time_verifies_from_its_start_range(
    database: Database, tmp_path: Path
) -> None:
    checkpointer = make_checkpointer(database)
    fill(database, checkpointer, 30)
    exported = export_log(
        database,
        checkpointer,
        tmp_path,
        ACCOUNT,
        since=START + timedelta(seconds=13),
        segment_events=SEGMENT_EVENTS,
    )
    assert exported.first_sequence == 13
    (log,) = verify_export(tmp_path, verifier=checkpointer.verifier)
    assert (log.first_sequence, log.tree_size) == (13, 30)


def test_an_export_is_never_overwritten(
    exported: tuple[Path, Checkpointer], database: Database
) -> None:
    directory, checkpointer = exported
    with pytest.raises(Conflict, match="already exists"):
        export_log(database, checkpointer, directory.parent, ACCOUNT)
    assert not [p for p in directory.parent.iterdir() if p.name.startswith(".")]


def test_an_empty_log_exports_and_verifies(database: Database, tmp_path: Path) -> None:
    checkpointer = make_checkpointer(database)
    export_log(database, checkpointer, tmp_path, OTHER_ACCOUNT)
    (log,) = verify_export(tmp_path, verifier=checkpointer.verifier)
    assert (log.tree_size, log.segments) == (0, 0)


@pytest.fixture(scope="module")
def pristine_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, NoteVerifier]:
    from lakevault.db import upgrade

    base = tmp_path_factory.mktemp("pristine")
    database = Database(f"sqlite:///{base / 'metadata.db'}")
    upgrade(database)
    checkpointer = make_checkpointer(database)
    fill(database, checkpointer, 20, every=6)
    export_log(database, checkpointer, base / "export", ACCOUNT, segment_events=SEGMENT_EVENTS)
    database.dispose()
    return base / "export", checkpointer.verifier


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_in_any_file_is_detected(
    pristine_export: tuple[Path, NoteVerifier], data: st.DataObject
) -> None:
    source, verifier = pristine_export
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "export"
        shutil.copytree(source, copy)
        files = sorted(p for p in copy.rglob("*") if p.is_file() and p.name != "audit-signing.pub")
        target = data.draw(st.sampled_from(files), label="file")
        content = bytearray(target.read_bytes())
        position = data.draw(st.integers(0, len(content) - 1), label="byte")
        content[position] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        target.write_bytes(bytes(content))
        with pytest.raises(ExportVerificationFailed):
            verify_export(copy, verifier=verifier)


def test_a_manifest_claiming_another_size_is_found(exported: tuple[Path, Checkpointer]) -> None:
    directory, checkpointer = exported
    manifest = directory / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"treeSize": 30', b'"treeSize": 31'))
    error = failure(directory, checkpointer.verifier)
    assert error.position.endswith("manifest.json")
    assert "covers 31 events, its newest checkpoint 30" in error.message


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExportVerificationFailed, match="no such directory") as info:
        verify_export(tmp_path / "nowhere")
    assert info.value.position == str(tmp_path / "nowhere")
