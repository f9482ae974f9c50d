"""Export account logs to a directory that verifies offline (format: ``_export_format.py``).

An export first signs a checkpoint of the log's current size (on demand), then writes every
event up to that checkpoint. Each account's files are written into a hidden temporary
directory, every file fsynced, and the directory renamed into place at the end: a crash leaves
no half export, and an existing export of the account is never overwritten.

With ``since``, the export starts at the first event at or after that time and records the
compact range of the tree before it, so the verifier can still recompute every signed root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
from sqlalchemy import select

from lakevault.audit._checkpoint import origin_for
from lakevault.audit._checkpointer import Checkpointer
from lakevault.audit._export_format import (
    CHECKPOINTS,
    DIGEST_SUFFIX,
    FORMAT,
    MANIFEST,
    SEGMENT_SUFFIX,
    SEGMENTS,
    VERIFIER_KEY,
    SegmentDigest,
    checkpoint_file_name,
    encode_line,
    segment_name,
)
from lakevault.audit._merkle import TreeBuilder
from lakevault.audit._note import NoteVerifiers
from lakevault.core import sync_directory, write_atomically
from lakevault.core.errors import Conflict, InvalidParameterValue
from lakevault.db import Database, models

DEFAULT_SEGMENT_EVENTS = 65536


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportedLog:
    """What one account's export holds."""

    account_id: str
    directory: Path
    first_sequence: int
    tree_size: int
    segments: int
    checkpoints: int


def logged_accounts(database: Database) -> list[str]:
    """Every account that has an audit log, in id order."""
    with database.read_session() as session:
        return list(
            session.scalars(
                select(models.AuditHead.account_id).order_by(models.AuditHead.account_id)
            )
        )


def export_log(
    database: Database,
    checkpointer: Checkpointer,
    directory: Path,
    account_id: str,
    *,
    since: datetime | None = None,
    segment_events: int = DEFAULT_SEGMENT_EVENTS,
) -> ExportedLog:
    """Write the log of ``account_id`` to ``directory/<account_id>``; see the module docstring.

    Raises ``Conflict`` if that directory already exists, ``InvalidParameterValue`` for a
    segment size below 1, and the checkpointer's errors if the log cannot be checkpointed.
    """
    if segment_events < 1:
        raise InvalidParameterValue(f"segment size must be at least 1 event, got {segment_events}")
    target = directory / account_id
    if target.exists():
        raise Conflict(
            f"{target} already exists; export into a new or empty directory (an export is "
            "never overwritten, so that a verified export stays as it was verified)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    latest = checkpointer.checkpoint(account_id)
    end = latest.checkpoint.tree_size
    start = _first_sequence_since(database, account_id, since, end)
    builder = TreeBuilder()
    builder.extend(checkpointer.leaf_hashes(account_id, 0, start))
    working = directory / f".{account_id}.partial-{os.getpid()}"
    shutil.rmtree(working, ignore_errors=True)
    try:
        (working / SEGMENTS).mkdir(parents=True)
        (working / CHECKPOINTS).mkdir()
        origin = origin_for(account_id)
        segments = 0
        for first in range(start, end, segment_events):
            last = min(first + segment_events, end)
            data = b"".join(
                encode_line(sequence, body.encode("utf-8"))
                for sequence, body in _bodies(database, account_id, first, last)
            )
            name = segment_name(first)
            write_atomically(working / SEGMENTS / f"{name}{SEGMENT_SUFFIX}", data)
            digest = SegmentDigest(
                origin=origin,
                first_sequence=first,
                count=last - first,
                sha256=hashlib.sha256(data).digest(),
            )
            write_atomically(
                working / SEGMENTS / f"{name}{DIGEST_SUFFIX}",
                checkpointer.signer.sign(digest.text()),
            )
            segments += 1
        checkpoints = checkpointer.history(account_id, min_tree_size=start)
        for signed in checkpoints:
            write_atomically(
                working / CHECKPOINTS / checkpoint_file_name(signed.checkpoint.tree_size),
                signed.note,
            )
        # Every public key the log was signed with (the current and every retired one), so
        # checkpoints from before a key rotation verify from the export alone.
        write_atomically(working / VERIFIER_KEY, _keyring_text(checkpointer).encode("ascii"))
        manifest = {
            "format": FORMAT,
            "accountId": account_id,
            "origin": origin,
            "firstSequence": start,
            "treeSize": end,
            "startRange": [h.hex() for h in builder.frontier()],
        }
        write_atomically(working / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        sync_directory(working / SEGMENTS)
        sync_directory(working / CHECKPOINTS)
        working.rename(target)
        sync_directory(directory)
    except BaseException:
        shutil.rmtree(working, ignore_errors=True)
        raise
    return ExportedLog(
        account_id=account_id,
        directory=target,
        first_sequence=start,
        tree_size=end,
        segments=segments,
        checkpoints=len(checkpoints),
    )


def _first_sequence_since(
    database: Database, account_id: str, since: datetime | None, end: int
) -> int:
    if since is None:
        return 0
    with database.read_session() as session:
        first = session.scalar(
            select(models.AuditEvent.sequence)
            .where(models.AuditEvent.account_id == account_id)
            .where(models.AuditEvent.event_time >= since)
            .where(models.AuditEvent.sequence < end)
            .order_by(models.AuditEvent.sequence)
            .limit(1)
        )
    return end if first is None else first


def _bodies(database: Database, account_id: str, first: int, last: int) -> list[tuple[int, str]]:
    with database.read_session() as session:
        rows = session.execute(
            select(models.AuditEvent.sequence, models.AuditEvent.body)
            .where(models.AuditEvent.account_id == account_id)
            .where(models.AuditEvent.sequence >= first)
            .where(models.AuditEvent.sequence < last)
            .order_by(models.AuditEvent.sequence)
        ).all()
    return [(sequence, body) for sequence, body in rows]


def _keyring_text(checkpointer: Checkpointer) -> str:
    """The export's ``audit-signing.pub``: every trusted key (oldest first) and the signing key."""
    signing = checkpointer.signer.verifier
    trusted = checkpointer.verifier
    ring = trusted if isinstance(trusted, NoteVerifiers) else NoteVerifiers((signing,))
    return ring.with_key(signing).text()
