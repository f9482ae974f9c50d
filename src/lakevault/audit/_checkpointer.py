"""Signed checkpoints of the logs in the metadata store: make them, read them back verified.

A checkpoint is made under the account's head row lock (the same lock the appenders take), so
it covers exactly the committed prefix of the log, and two processes can never make two
different successors of one checkpoint: the chain stays linear. Each checkpoint stores the
compact range of its tree, so the next one hashes only the leaves appended since.

Checkpoints read back from the database are verified against the signing key before use: a
row changed in the database fails closed with ``InvalidCheckpoint`` instead of being trusted.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lakevault.audit._checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    open_checkpoint,
    origin_for,
    sign_checkpoint,
)
from lakevault.audit._errors import InvalidCheckpoint
from lakevault.audit._merkle import HASH_SIZE, TreeBuilder
from lakevault.audit._note import NoteSigner, Verifier
from lakevault.core import Clock
from lakevault.core.errors import InternalFailure
from lakevault.db import Database, models


class CheckpointStore:
    """Reads an account's checkpoints and leaf hashes, verifying every checkpoint it returns."""

    def __init__(self, database: Database, verifier: Verifier) -> None:
        self._database = database
        self.verifier = verifier

    def latest(self, account_id: str) -> SignedCheckpoint | None:
        """The newest checkpoint of the account's log, or ``None`` before the first one."""
        with self._database.read_session() as session:
            row = _latest_row(session, account_id)
            return None if row is None else self._open(row)

    def history(self, account_id: str, *, min_tree_size: int = 0) -> list[SignedCheckpoint]:
        """Every checkpoint of the log with ``tree_size >= min_tree_size``, oldest first."""
        with self._database.read_session() as session:
            rows = session.scalars(
                select(models.AuditCheckpoint)
                .where(models.AuditCheckpoint.account_id == account_id)
                .where(models.AuditCheckpoint.tree_size >= min_tree_size)
                .order_by(models.AuditCheckpoint.tree_size)
            ).all()
            return [self._open(row) for row in rows]

    def at_size(self, account_id: str, tree_size: int) -> SignedCheckpoint:
        """The checkpoint of exactly ``tree_size``; ``InvalidCheckpoint`` if there is none."""
        with self._database.read_session() as session:
            row = session.get(models.AuditCheckpoint, (account_id, tree_size))
            if row is None:
                raise InvalidCheckpoint(
                    f"the audit log of account {account_id} has no checkpoint of tree size "
                    f"{tree_size}; proofs are against existing checkpoints ('lakevault audit "
                    "checkpoint' signs the current size)"
                )
            return self._open(row)

    def leaf_hashes(self, account_id: str, start: int, end: int) -> list[bytes]:
        """The leaf hashes of sequences ``[start, end)``; raises if any is missing."""
        with self._database.read_session() as session:
            return _leaf_hashes(session, account_id, start, end)

    def _open(self, row: models.AuditCheckpoint) -> SignedCheckpoint:
        signed = open_checkpoint(
            row.note.encode("utf-8"), self.verifier, origin=origin_for(row.account_id)
        )
        if signed.checkpoint.tree_size != row.tree_size:
            raise InvalidCheckpoint(
                f"the stored checkpoint of account {row.account_id} at tree size "
                f"{row.tree_size} signs size {signed.checkpoint.tree_size}: the row was changed"
            )
        return signed


class Checkpointer(CheckpointStore):
    """Makes signed checkpoints on demand (and for the writer, at an interval)."""

    def __init__(
        self,
        database: Database,
        signer: NoteSigner,
        clock: Clock,
        *,
        verifiers: Verifier | None = None,
    ) -> None:
        """``verifiers``: every key the log's checkpoints may be signed with (after a rotation,
        the retired keys too: ``load_verifier(home)``); default: the signer's key alone."""
        super().__init__(database, verifiers if verifiers is not None else signer.verifier)
        self.signer = signer
        self._clock = clock

    def grown_accounts(self) -> list[str]:
        """Accounts whose log has events that no checkpoint covers yet, whoever appended them."""
        newest = (
            select(
                models.AuditCheckpoint.account_id,
                func.max(models.AuditCheckpoint.tree_size).label("tree_size"),
            )
            .group_by(models.AuditCheckpoint.account_id)
            .subquery()
        )
        with self._database.read_session() as session:
            return list(
                session.scalars(
                    select(models.AuditHead.account_id)
                    .outerjoin(newest, newest.c.account_id == models.AuditHead.account_id)
                    .where(
                        (newest.c.tree_size.is_(None) & (models.AuditHead.size > 0))
                        | (models.AuditHead.size > newest.c.tree_size)
                    )
                    .order_by(models.AuditHead.account_id)
                )
            )

    def checkpoint(self, account_id: str) -> SignedCheckpoint:
        """Sign the log's current committed size, unless the newest checkpoint already does.

        Returns the checkpoint covering every event committed before the call. The first
        checkpoint of an empty log has tree size 0 and the empty root.
        """
        with self._database.session() as session:
            size = _lock_head(session, account_id)
            row = _latest_row(session, account_id)
            previous = None if row is None else self._open(row)
            if previous is not None and previous.checkpoint.tree_size == size:
                return previous
            if row is None or previous is None:
                builder = TreeBuilder()
            else:
                builder = TreeBuilder(
                    size=previous.checkpoint.tree_size, frontier=_split(row.frontier)
                )
                if builder.root() != previous.checkpoint.root_hash:
                    raise InvalidCheckpoint(
                        f"the stored compact range of account {account_id} at tree size "
                        f"{builder.size} does not match its signed root: the row was changed"
                    )
            builder.extend(_leaf_hashes(session, account_id, builder.size, size))
            signed = sign_checkpoint(
                Checkpoint(
                    origin=origin_for(account_id),
                    tree_size=size,
                    root_hash=builder.root(),
                    previous=None if previous is None else previous.link(),
                ),
                self.signer,
            )
            session.add(
                models.AuditCheckpoint(
                    account_id=account_id,
                    tree_size=size,
                    root_hash=signed.checkpoint.root_hash,
                    frontier=b"".join(builder.frontier()),
                    note=signed.note.decode("utf-8"),
                    created_at=self._clock.now(),
                )
            )
        return signed


def _lock_head(session: Session, account_id: str) -> int:
    """Take the account's head row lock (creating the row for an empty log); return its size."""
    upsert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        upsert(models.AuditHead).values(account_id=account_id, size=0).on_conflict_do_nothing()
    )
    size: int = session.execute(
        select(models.AuditHead.size)
        .where(models.AuditHead.account_id == account_id)
        .with_for_update()
    ).scalar_one()
    return size


def _latest_row(session: Session, account_id: str) -> models.AuditCheckpoint | None:
    return session.scalars(
        select(models.AuditCheckpoint)
        .where(models.AuditCheckpoint.account_id == account_id)
        .order_by(models.AuditCheckpoint.tree_size.desc())
        .limit(1)
    ).first()


def _leaf_hashes(session: Session, account_id: str, start: int, end: int) -> list[bytes]:
    hashes = list(
        session.scalars(
            select(models.AuditEvent.leaf_hash)
            .where(models.AuditEvent.account_id == account_id)
            .where(models.AuditEvent.sequence >= start)
            .where(models.AuditEvent.sequence < end)
            .order_by(models.AuditEvent.sequence)
        ).all()
    )
    if len(hashes) != max(end - start, 0):
        raise InternalFailure(
            f"the audit log of account {account_id} is missing events between sequences "
            f"{start} and {end} ({end - start} expected, {len(hashes)} found): the database "
            "was changed outside lakevault"
        )
    return [bytes(h) for h in hashes]


def _split(frontier: bytes) -> list[bytes]:
    data = bytes(frontier)
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
