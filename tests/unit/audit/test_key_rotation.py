"""Rotating the checkpoint signing key: old checkpoints keep verifying, exports carry every key.

A rotation writes a new private key (the old one is gone) and keeps every public key in the
keyring ``keys/audit-verifiers.pub``; chains continue across the rotation; proofs against old
and new checkpoints verify with the keyring; an export carries the whole keyring, so it
verifies alone, and a verifier pinned to a single key names the checkpoint it cannot check.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lakevault.audit import (
    SIGNING_KEY_FILE,
    VERIFIER_KEY_FILE,
    VERIFIERS_FILE,
    AuditProofs,
    Checkpointer,
    ExportVerificationFailed,
    InvalidCheckpoint,
    NoteVerifiers,
    append_in,
    ensure_signing_key,
    export_log,
    load_signing_key,
    load_verifier,
    rotate_signing_key,
    verify_export,
)
from lakevault.core import FixedClock
from lakevault.db import Database
from tests.unit.audit.helpers import ACCOUNT, make_event


def _append(database: Database, numbers: range) -> None:
    with database.session() as session:
        for number in numbers:
            append_in(session, make_event(number))


def _checkpointer(database: Database, home: Path) -> Checkpointer:
    return Checkpointer(
        database, load_signing_key(home), FixedClock(), verifiers=load_verifier(home)
    )


def test_rotation_replaces_the_private_key_and_keeps_every_public_key(tmp_path: Path) -> None:
    first = ensure_signing_key(tmp_path)
    old_private = (tmp_path / SIGNING_KEY_FILE).read_bytes()
    second = rotate_signing_key(tmp_path)
    third = rotate_signing_key(tmp_path)
    assert len({first.key_id, second.key_id, third.key_id}) == 3
    assert load_signing_key(tmp_path).verifier == third
    assert (tmp_path / SIGNING_KEY_FILE).read_bytes() != old_private
    assert stat.S_IMODE(os.stat(tmp_path / SIGNING_KEY_FILE).st_mode) == 0o600
    assert (tmp_path / VERIFIER_KEY_FILE).read_text().strip() == third.verifier_key
    assert load_verifier(tmp_path).keys == (first, second, third)
    assert NoteVerifiers.from_text((tmp_path / VERIFIERS_FILE).read_text()).keys == (
        first,
        second,
        third,
    )
    # Repeating init keeps the new key and the keyring as they are.
    assert ensure_signing_key(tmp_path) == third
    assert load_verifier(tmp_path).keys == (first, second, third)


def test_a_keyring_verifies_notes_of_each_of_its_keys_and_no_others(tmp_path: Path) -> None:
    ensure_signing_key(tmp_path)
    old_note = load_signing_key(tmp_path).sign(b"before\n")
    rotate_signing_key(tmp_path)
    new_note = load_signing_key(tmp_path).sign(b"after\n")
    ring = load_verifier(tmp_path)
    assert ring.verify(old_note) == b"before\n"
    assert ring.verify(new_note) == b"after\n"
    with pytest.raises(InvalidCheckpoint, match="no signature by a trusted key"):
        NoteVerifiers((ring.keys[1],)).verify(old_note)
    with pytest.raises(InvalidCheckpoint, match="does not verify"):
        ring.verify(old_note.replace(b"before", b"bef0re"))


def test_the_chain_and_the_proofs_continue_across_a_rotation(
    database: Database, tmp_path: Path
) -> None:
    ensure_signing_key(tmp_path)
    _append(database, range(5))
    before = _checkpointer(database, tmp_path).checkpoint(ACCOUNT)
    rotate_signing_key(tmp_path)
    _append(database, range(5, 9))
    after = _checkpointer(database, tmp_path).checkpoint(ACCOUNT)
    assert after.checkpoint.previous == before.link()
    ring = load_verifier(tmp_path)
    proofs = AuditProofs(database, ring)
    proofs.inclusion(ACCOUNT, 2, tree_size=5).verify(ring)
    proofs.inclusion(ACCOUNT, 7).verify(ring)
    proofs.consistency(ACCOUNT, 5, 9).verify(ring)
    # With the new key alone, the old checkpoint cannot be read back: hence the keyring.
    only_new = Checkpointer(database, load_signing_key(tmp_path), FixedClock())
    with pytest.raises(InvalidCheckpoint):
        only_new.history(ACCOUNT)


def test_an_export_after_rotation_carries_every_key_and_verifies_alone(
    database: Database, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    first = ensure_signing_key(home)
    _append(database, range(4))
    _checkpointer(database, home).checkpoint(ACCOUNT)
    second = rotate_signing_key(home)
    _append(database, range(4, 7))
    exported = export_log(database, _checkpointer(database, home), tmp_path / "out", ACCOUNT)
    keys = NoteVerifiers.from_text((exported.directory / "audit-signing.pub").read_text())
    assert keys.keys == (first, second)
    [log] = verify_export(tmp_path / "out")
    assert log.tree_size == 7 and log.checkpoints == 2
    assert log.key_id == f"{first.key_id.hex()},{second.key_id.hex()}"
    verify_export(tmp_path / "out", verifier=load_verifier(home))
    # Pinned to one key only, the checkpoint signed by the other is named.
    with pytest.raises(ExportVerificationFailed, match=r"00000000000000000004\.checkpoint"):
        verify_export(tmp_path / "out", verifier=NoteVerifiers((second,)))
    with pytest.raises(ExportVerificationFailed, match=r"00000000000000000007\.checkpoint"):
        verify_export(tmp_path / "out", verifier=NoteVerifiers((first,)))
