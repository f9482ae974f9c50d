"""Inclusion and consistency proofs served from the log verify against signed checkpoints."""

from __future__ import annotations

import pytest

from lakevault.audit import AuditProofs, InvalidCheckpoint, InvalidProof, NoteSigner, append_in
from lakevault.core.errors import NoSuchEntity
from lakevault.db import Database
from tests.unit.audit.helpers import ACCOUNT, make_checkpointer, make_event


def test_inclusion_and_consistency_proofs_verify(database: Database) -> None:
    checkpointer = make_checkpointer(database)
    with database.session() as session:
        for number in range(6):
            append_in(session, make_event(number))
    checkpointer.checkpoint(ACCOUNT)
    with database.session() as session:
        for number in range(6, 13):
            append_in(session, make_event(number))
    checkpointer.checkpoint(ACCOUNT)
    proofs = AuditProofs(database, checkpointer.verifier)
    sequence = proofs.sequence_of(ACCOUNT, make_event(4).event_id)
    for tree_size in (6, 13):
        proof = proofs.inclusion(ACCOUNT, sequence, tree_size=tree_size)
        proof.verify(checkpointer.verifier)
    proofs.consistency(ACCOUNT, 6, 13).verify(checkpointer.verifier)
    proofs.consistency(ACCOUNT, 13, 13).verify(checkpointer.verifier)
    with pytest.raises(InvalidCheckpoint):
        proofs.inclusion(ACCOUNT, sequence).verify(NoteSigner.generate("x").verifier)


def test_an_event_after_the_newest_checkpoint_is_not_yet_provable(database: Database) -> None:
    checkpointer = make_checkpointer(database)
    with database.session() as session:
        append_in(session, make_event(0))
    checkpointer.checkpoint(ACCOUNT)
    with database.session() as session:
        append_in(session, make_event(1))
    with pytest.raises(InvalidProof, match="make a newer checkpoint"):
        AuditProofs(database, checkpointer.verifier).inclusion(ACCOUNT, 1)


def test_unknown_events_and_checkpoints_are_named(database: Database) -> None:
    proofs = AuditProofs(database, make_checkpointer(database).verifier)
    with pytest.raises(NoSuchEntity, match="no event with eventID nope"):
        proofs.sequence_of(ACCOUNT, "nope")
    with pytest.raises(InvalidCheckpoint, match="no checkpoint yet"):
        proofs.inclusion(ACCOUNT, 0)
    with pytest.raises(InvalidCheckpoint, match="no checkpoint of tree size 1"):
        proofs.consistency(ACCOUNT, 1, 3)
