"""Appending events to the per-account audit log in the metadata store.

Every account has its own dense sequence of events (0, 1, 2, ...), and each event is a leaf
of that account's RFC 9162 Merkle tree: leaf ``i`` is the event with sequence ``i``, its leaf
data the canonical event bytes (:func:`encode_event`), stored with its leaf hash.

Appends increment the account's head row under a row lock and insert the events in the same
transaction. Two paths share that head (docs/decisions/0061-one-head-two-appenders.md):

* :class:`DatabaseAuditLog` — the single group-commit writer of this process
  (:mod:`lakevault.audit._writer`): events of many threads become durable in one transaction;
* :func:`append_in` — inside the caller's transaction, for an event that must exist if and only
  if a state change commits.

Because a sequence number is taken under the head's row lock and the lock is held until commit,
the committed sequences of an account are always a dense prefix 0..n-1, whichever path wrote
them. The tree, and every checkpoint, is computed over exactly that committed prefix.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import orjson
from sqlalchemy import select

from lakevault.audit._append import encode_for_log
from lakevault.audit._checkpointer import Checkpointer
from lakevault.audit._events import AuditEvent
from lakevault.audit._writer import AppendReceipt, CompanionRow, GroupCommitWriter
from lakevault.core.errors import LakevaultError
from lakevault.db import Database, models


class AuditSink(Protocol):
    """Where the gate and the services record events. Returns each event's sequence number.

    ``append`` returns only once the event is durable: a decision that is not recorded is
    never acted on.
    """

    def append(self, event: AuditEvent) -> int: ...


class DatabaseAuditLog:
    """The audit log kept in the metadata database, one sequence per recipient account.

    Appends go through one group-commit writer thread (started on first use, stopped by
    :meth:`close`). ``max_batch`` bounds how many events share one transaction. With a
    ``checkpointer`` and ``checkpoint_interval_seconds``, every log that grew gets a signed
    checkpoint at that interval (on demand: ``checkpointer.checkpoint(account_id)``).
    """

    def __init__(
        self,
        database: Database,
        *,
        max_batch: int = 8192,
        checkpointer: Checkpointer | None = None,
        checkpoint_interval_seconds: float | None = None,
    ) -> None:
        self._database = database
        self._writer = GroupCommitWriter(
            database,
            max_batch=max_batch,
            checkpointer=checkpointer,
            checkpoint_interval_seconds=checkpoint_interval_seconds,
        )

    @property
    def batch_sizes(self) -> list[int]:
        """How many events each committed transaction carried (observability, benchmark)."""
        return self._writer.batch_sizes

    def append(self, event: AuditEvent) -> int:
        """Durably record ``event``; return its sequence number in its account's log.

        Blocks until the transaction holding the event has committed (with SQLite, synced to
        disk). Raises what the writer raised for that transaction; the event is then not logged.
        """
        return self._writer.submit(encode_for_log(event)).result()

    @property
    def database(self) -> Database:
        """Where the log is kept (a :class:`CompanionRow` must belong to the same database)."""
        return self._database

    def submit(self, event: AuditEvent, *, companion: CompanionRow | None = None) -> AppendReceipt:
        """Queue ``event`` and return at once; ``receipt.result()`` waits until it is durable.

        ``companion``: a row inserted in the event's transaction (durable with it, ADR 0195).
        """
        return self._writer.submit(encode_for_log(event), companion)

    async def append_async(self, event: AuditEvent) -> int:
        """``append`` for async code: awaits durability without blocking the event loop."""
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[int] = loop.create_future()

        def settle(receipt: AppendReceipt) -> None:
            if outcome.cancelled():
                return
            try:
                outcome.set_result(receipt.result(timeout=0))
            except LakevaultError as exc:
                outcome.set_exception(exc)

        def wake(receipt: AppendReceipt) -> None:
            loop.call_soon_threadsafe(settle, receipt)

        self.submit(event).add_done_callback(wake)
        return await outcome

    def close(self) -> None:
        """Write what is queued, then stop the writer thread. Later appends raise."""
        self._writer.close()

    def read(
        self, account_id: str, *, start: int = 0, limit: int = 1000
    ) -> list[dict[str, object]]:
        """Events of one account in sequence order, as the JSON records that were written."""
        with self._database.read_session() as session:
            rows = session.scalars(
                select(models.AuditEvent.body)
                .where(models.AuditEvent.account_id == account_id)
                .where(models.AuditEvent.sequence >= start)
                .order_by(models.AuditEvent.sequence)
                .limit(limit)
            ).all()
            return [orjson.loads(body) for body in rows]
