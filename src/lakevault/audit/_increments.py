"""Incremental exports: a log written piece by piece into immutable objects (docs/audit.md).

A directory export (``_export.py``) is written once and renamed into place. An export into an
object-locked bucket cannot work that way: every object, once written, stays exactly as it is
until its retention ends, and each run only *adds* objects. This module holds the format of such
an export — pure functions over names and bytes, no I/O besides reading the log — so that the
writer (``lakevault.trail``) and the offline verifier agree on it. Under a log's root
(``<prefix><account id>/``)::

    segments/<first:020>.jsonl            exactly the directory format's segment
    segments/<first:020>.digest           its signed digest
    checkpoints/<size:020>.checkpoint     every checkpoint, chained
    keys/<count:04d>.pub                  the keyring with ``count`` keys (grows on rotation)
    manifests/<size:020>-<first:020>.json the state after a run (or an expiry)

Nothing is ever replaced: a run that reaches tree size N writes the segments and checkpoints up
to N and then ``manifests/N-F.json``; an expiry that moves the start to F' writes
``manifests/N-F'.json``. The newest manifest (greatest name) says what the export holds;
objects beyond it belong to a run still in progress (or interrupted, and resumed by the next
run) and are not part of the export yet. :func:`materialize` turns the objects into the
directory format, which :func:`lakevault.audit.verify_log` checks unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from lakevault.audit._checkpoint import origin_for
from lakevault.audit._checkpointer import Checkpointer
from lakevault.audit._errors import ExportVerificationFailed
from lakevault.audit._export import _bodies, _keyring_text
from lakevault.audit._export_format import (
    CHECKPOINT_SUFFIX,
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
from lakevault.audit._verify import parse_segment
from lakevault.core import write_atomically
from lakevault.db import Database

MANIFESTS = "manifests"
KEYS = "keys"
KEY_SUFFIX = ".pub"
MANIFEST_SUFFIX = ".json"


def segment_key(first: int) -> str:
    return f"{SEGMENTS}/{segment_name(first)}{SEGMENT_SUFFIX}"


def digest_key(first: int) -> str:
    return f"{SEGMENTS}/{segment_name(first)}{DIGEST_SUFFIX}"


def checkpoint_key(tree_size: int) -> str:
    return f"{CHECKPOINTS}/{checkpoint_file_name(tree_size)}"


def keyring_key(count: int) -> str:
    return f"{KEYS}/{count:04d}{KEY_SUFFIX}"


def manifest_key(tree_size: int, first_sequence: int) -> str:
    return f"{MANIFESTS}/{tree_size:020d}-{first_sequence:020d}{MANIFEST_SUFFIX}"


def parse_manifest_key(name: str) -> tuple[int, int] | None:
    """``(tree size, first sequence)`` of a manifest's name, or ``None`` for another name."""
    if not (name.startswith(f"{MANIFESTS}/") and name.endswith(MANIFEST_SUFFIX)):
        return None
    size, _, first = name[len(MANIFESTS) + 1 : -len(MANIFEST_SUFFIX)].partition("-")
    if len(size) != 20 or len(first) != 20 or not (size.isdigit() and first.isdigit()):
        return None
    return int(size), int(first)


def number_of(name: str) -> int | None:
    """The number in a segment, digest or checkpoint name (first sequence or tree size)."""
    stem = name.rpartition("/")[2].partition(".")[0]
    return int(stem) if len(stem) == 20 and stem.isdigit() else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentPiece:
    """One segment of events ``[first, first + count)``: its bytes and its signed digest."""

    first: int
    count: int
    data: bytes
    digest: bytes


def build_segment(
    database: Database, checkpointer: Checkpointer, account_id: str, first: int, last: int
) -> SegmentPiece:
    """The segment of events ``[first, last)`` exactly as a directory export writes it."""
    data = b"".join(
        encode_line(sequence, body.encode("utf-8"))
        for sequence, body in _bodies(database, account_id, first, last)
    )
    if data.count(b"\n") != last - first:
        raise ExportVerificationFailed(
            f"the log holds fewer events than {first} to {last - 1}; nothing was exported",
            position=segment_key(first),
        )
    return SegmentPiece(
        first=first,
        count=last - first,
        data=data,
        digest=sign_digest(checkpointer, account_id, first, last - first, data),
    )


def sign_digest(
    checkpointer: Checkpointer, account_id: str, first: int, count: int, data: bytes
) -> bytes:
    digest = SegmentDigest(
        origin=origin_for(account_id),
        first_sequence=first,
        count=count,
        sha256=hashlib.sha256(data).digest(),
    )
    return checkpointer.signer.sign(digest.text())


def adopt_segment(database: Database, account_id: str, first: int, data: bytes) -> int:
    """The number of events of a segment an interrupted run left at ``first``.

    The segment is adopted only if it is exactly the log's events from ``first`` on, as
    :func:`build_segment` would write them: otherwise ``ExportVerificationFailed`` (someone
    else wrote it, and the export must stop rather than sign over it).
    """
    position = segment_key(first)
    records = parse_segment(data, position)
    if not records or records[0][0] != first:
        raise ExportVerificationFailed(
            f"an object already holds this name but does not start with event {first}",
            position=position,
        )
    expected = b"".join(
        encode_line(sequence, body.encode("utf-8"))
        for sequence, body in _bodies(database, account_id, first, first + len(records))
    )
    if expected != data:
        raise ExportVerificationFailed(
            "an object already holds this name and differs from the log's events",
            position=position,
        )
    return len(records)


def keyring(checkpointer: Checkpointer) -> tuple[int, bytes]:
    """The keyring text an export carries and how many keys it holds."""
    text = _keyring_text(checkpointer)
    return len([line for line in text.splitlines() if line.strip()]), text.encode("ascii")


def manifest_bytes(
    account_id: str, *, first_sequence: int, tree_size: int, start_range: Sequence[bytes]
) -> bytes:
    return orjson.dumps(
        {
            "format": FORMAT,
            "accountId": account_id,
            "origin": origin_for(account_id),
            "firstSequence": first_sequence,
            "treeSize": tree_size,
            "startRange": [h.hex() for h in start_range],
        },
        option=orjson.OPT_INDENT_2,
    )


def advance_start(
    first_sequence: int, start_range: Sequence[bytes], segments: Sequence[bytes]
) -> tuple[int, list[bytes]]:
    """The start (sequence, compact range) after dropping ``segments``, the oldest first.

    Each segment must continue exactly where the previous one ended, else
    ``ExportVerificationFailed``: expiry moves the start only over bytes it has checked.
    """
    builder = TreeBuilder(size=first_sequence, frontier=list(start_range))
    for data in segments:
        position = segment_key(builder.size)
        for sequence, body in parse_segment(data, position):
            if sequence != builder.size:
                raise ExportVerificationFailed(
                    f"expected event {builder.size}, found {sequence}", position=position
                )
            builder.append(hashlib.sha256(b"\x00" + body).digest())
    return builder.size, list(builder.frontier())


@dataclass(frozen=True, slots=True, kw_only=True)
class Materialized:
    """A bucket export written out in the directory format."""

    directory: Path
    tree_size: int
    first_sequence: int
    pending: tuple[str, ...]
    """Objects written after the newest manifest (a run in progress), left out."""


def newest_manifest(names: Sequence[str]) -> tuple[str, int, int] | None:
    found = [(parsed, name) for name in names if (parsed := parse_manifest_key(name))]
    if not found:
        return None
    (size, first), name = max(found)
    return name, size, first


def newest_keyring(names: Sequence[str]) -> str | None:
    rings = sorted(n for n in names if n.startswith(f"{KEYS}/") and n.endswith(KEY_SUFFIX))
    return rings[-1] if rings else None


def selected_names(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the objects that form the export, the objects beyond its newest manifest)."""
    newest = newest_manifest(names)
    if newest is None:
        raise ExportVerificationFailed(
            "no manifest: nothing was exported here yet (or this is not a log's root)",
            position=f"{MANIFESTS}/",
        )
    manifest, size, first = newest
    ring = newest_keyring(names)
    chosen = [manifest] + ([ring] if ring else [])
    pending: list[str] = []
    for name in names:
        number = number_of(name)
        if name.startswith(f"{SEGMENTS}/") and number is not None:
            if number < first:
                continue  # Expired; an expiry removes it once its lock has ended.
            (chosen if number < size else pending).append(name)
        elif name.startswith(f"{CHECKPOINTS}/") and number is not None:
            (chosen if number <= size else pending).append(name)
    return chosen, pending


def materialize(
    objects: Mapping[str, bytes], directory: Path, *, pending: Sequence[str] = ()
) -> Materialized:
    """Write the export held by ``objects`` (name under the log's root -> bytes; at least the
    ones :func:`selected_names` chose, more are ignored) to ``directory`` in the directory
    format. ``pending`` names the objects beyond the newest manifest, for the report."""
    names = sorted(objects)
    chosen, beyond = selected_names(names)
    newest = newest_manifest(names)
    assert newest is not None
    manifest_name, size, first = newest
    (directory / SEGMENTS).mkdir(parents=True, exist_ok=True)
    (directory / CHECKPOINTS).mkdir(exist_ok=True)
    for name in chosen:
        if name == manifest_name:
            write_atomically(directory / MANIFEST, objects[name])
        elif name.startswith(f"{KEYS}/"):
            write_atomically(directory / VERIFIER_KEY, objects[name])
        else:
            write_atomically(directory / name, objects[name])
    return Materialized(
        directory=directory,
        tree_size=size,
        first_sequence=first,
        pending=tuple(sorted({*pending, *beyond})),
    )


def is_export_object(name: str) -> bool:
    """Whether ``name`` (under a log's root) is a name this format uses."""
    return (
        parse_manifest_key(name) is not None
        or (name.startswith(f"{KEYS}/") and name.endswith(KEY_SUFFIX))
        or (
            number_of(name) is not None
            and (
                (name.startswith(f"{SEGMENTS}/") and name.endswith((SEGMENT_SUFFIX, DIGEST_SUFFIX)))
                or (name.startswith(f"{CHECKPOINTS}/") and name.endswith(CHECKPOINT_SUFFIX))
            )
        )
    )
