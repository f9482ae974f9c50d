"""Inclusion and consistency proofs served from the log, each tied to signed checkpoints.

A proof is only as good as the root it leads to, so every proof here carries the signed
checkpoint(s) it is against, and :meth:`verify` checks the signatures as well as the hashes.

Cost: a proof is computed from the leaf hashes of the whole tree it is against (one indexed
column read and about one SHA-256 per leaf), which is fine for logs of millions of events and
for on-demand use; storing interior tiles is the step if proofs become frequent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from lakevault.audit._checkpoint import SignedCheckpoint, open_checkpoint, origin_for
from lakevault.audit._checkpointer import CheckpointStore
from lakevault.audit._errors import InvalidCheckpoint, InvalidProof
from lakevault.audit._merkle import (
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from lakevault.audit._note import Verifier
from lakevault.core.errors import NoSuchEntity
from lakevault.db import Database, models


@dataclass(frozen=True, slots=True, kw_only=True)
class InclusionProof:
    """Proof that the event with ``sequence`` (leaf hash ``leaf_hash``) is in ``checkpoint``."""

    account_id: str
    sequence: int
    leaf_hash: bytes
    checkpoint: SignedCheckpoint
    hashes: tuple[bytes, ...]

    def verify(self, verifier: Verifier) -> None:
        """Raise ``InvalidCheckpoint`` or ``InvalidProof`` unless the proof holds."""
        signed = open_checkpoint(
            self.checkpoint.note, verifier, origin=origin_for(self.account_id)
        ).checkpoint
        verify_inclusion(
            leaf=self.leaf_hash,
            index=self.sequence,
            tree_size=signed.tree_size,
            proof=self.hashes,
            root=signed.root_hash,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsistencyProof:
    """Proof that checkpoint ``new`` extends checkpoint ``old`` (nothing was rewritten)."""

    account_id: str
    old: SignedCheckpoint
    new: SignedCheckpoint
    hashes: tuple[bytes, ...]

    def verify(self, verifier: Verifier) -> None:
        """Raise ``InvalidCheckpoint`` or ``InvalidProof`` unless the proof holds."""
        origin = origin_for(self.account_id)
        old = open_checkpoint(self.old.note, verifier, origin=origin).checkpoint
        new = open_checkpoint(self.new.note, verifier, origin=origin).checkpoint
        verify_consistency(
            old_size=old.tree_size,
            new_size=new.tree_size,
            proof=self.hashes,
            old_root=old.root_hash,
            new_root=new.root_hash,
        )


class AuditProofs:
    """Computes proofs for the logs in the metadata store."""

    def __init__(self, database: Database, verifier: Verifier) -> None:
        self._database = database
        self._store = CheckpointStore(database, verifier)

    @property
    def checkpoints(self) -> CheckpointStore:
        """The verified checkpoints these proofs are against."""
        return self._store

    def sequence_of(self, account_id: str, event_id: str) -> int:
        """The sequence number of an event in its account's log."""
        with self._database.read_session() as session:
            sequence = session.scalar(
                select(models.AuditEvent.sequence)
                .where(models.AuditEvent.account_id == account_id)
                .where(models.AuditEvent.event_id == event_id)
            )
        if sequence is None:
            raise NoSuchEntity(
                f"the audit log of account {account_id} has no event with eventID {event_id}"
            )
        return sequence

    def inclusion(
        self, account_id: str, sequence: int, *, tree_size: int | None = None
    ) -> InclusionProof:
        """Prove the event ``sequence`` against the checkpoint of ``tree_size`` (default: newest).

        Raises ``InvalidCheckpoint`` when there is no such checkpoint and ``InvalidProof`` when
        the event is not covered by it (make a checkpoint first).
        """
        checkpoint = self._checkpoint(account_id, tree_size)
        size = checkpoint.checkpoint.tree_size
        if not 0 <= sequence < size:
            raise InvalidProof(
                f"event {sequence} of account {account_id} is not covered by the checkpoint of "
                f"tree size {size}; make a newer checkpoint ('lakevault audit checkpoint')"
            )
        leaves = self._store.leaf_hashes(account_id, 0, size)
        return InclusionProof(
            account_id=account_id,
            sequence=sequence,
            leaf_hash=leaves[sequence],
            checkpoint=checkpoint,
            hashes=inclusion_proof(leaves, sequence),
        )

    def consistency(self, account_id: str, old_size: int, new_size: int) -> ConsistencyProof:
        """Prove that the checkpoint of ``new_size`` extends the one of ``old_size``."""
        old = self._store.at_size(account_id, old_size)
        new = self._store.at_size(account_id, new_size)
        if old_size == new_size:
            return ConsistencyProof(account_id=account_id, old=old, new=new, hashes=())
        leaves = self._store.leaf_hashes(account_id, 0, new_size)
        return ConsistencyProof(
            account_id=account_id,
            old=old,
            new=new,
            hashes=consistency_proof(leaves, old_size),
        )

    def _checkpoint(self, account_id: str, tree_size: int | None) -> SignedCheckpoint:
        if tree_size is not None:
            return self._store.at_size(account_id, tree_size)
        latest = self._store.latest(account_id)
        if latest is None:
            raise InvalidCheckpoint(
                f"the audit log of account {account_id} has no checkpoint yet; make one with "
                "'lakevault audit checkpoint'"
            )
        return latest
