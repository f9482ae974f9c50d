"""Checkpoints in C2SP tlog-checkpoint form, chained by the previous note's hash."""

from __future__ import annotations

import pytest

from lakevault.audit import (
    EMPTY_ROOT,
    Checkpoint,
    InvalidCheckpoint,
    NoteSigner,
    open_checkpoint,
    origin_for,
    sign_checkpoint,
)

SIGNER = NoteSigner.generate("lakevault-audit")


def test_text_has_origin_size_root_and_previous_lines() -> None:
    first = sign_checkpoint(
        Checkpoint(origin=origin_for("123456789012"), tree_size=0, root_hash=EMPTY_ROOT), SIGNER
    )
    assert first.note.startswith(
        b"lakevault.local/audit/123456789012\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"
        b"\xe2\x80\x94 lakevault-audit "
    )
    second = sign_checkpoint(
        Checkpoint(
            origin=origin_for("123456789012"),
            tree_size=5,
            root_hash=b"\x01" * 32,
            previous=first.link(),
        ),
        SIGNER,
    )
    lines = second.note.decode().split("\n")
    assert lines[3].startswith("previous 0 ")
    opened = open_checkpoint(second.note, SIGNER.verifier, origin=origin_for("123456789012"))
    assert opened.checkpoint == second.checkpoint
    assert opened.checkpoint.previous is not None
    assert opened.checkpoint.previous.note_hash == first.note_hash


def test_a_checkpoint_of_another_log_is_refused() -> None:
    signed = sign_checkpoint(
        Checkpoint(origin=origin_for("123456789012"), tree_size=0, root_hash=EMPTY_ROOT), SIGNER
    )
    with pytest.raises(InvalidCheckpoint, match="expected a checkpoint of"):
        open_checkpoint(signed.note, SIGNER.verifier, origin=origin_for("210987654321"))


def test_a_forged_tree_size_is_refused() -> None:
    signed = sign_checkpoint(
        Checkpoint(origin=origin_for("123456789012"), tree_size=7, root_hash=b"\x02" * 32), SIGNER
    )
    with pytest.raises(InvalidCheckpoint, match="does not verify"):
        open_checkpoint(signed.note.replace(b"\n7\n", b"\n8\n"), SIGNER.verifier)


def test_a_root_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidCheckpoint, match="expected 32"):
        Checkpoint(origin="o", tree_size=1, root_hash=b"short")
