"""Offline verification of an audit export: files only, no database, no network.

For each account directory it checks, in this order, and stops at the first inconsistency with
``ExportVerificationFailed`` naming its position (file, line, sequence or tree size):

1. every checkpoint's signature (by a pinned verifier key, else a key of the export's own keyring
   ``audit-signing.pub``, which lists every key the log was signed with), that
   it is a checkpoint of this account's log, and the chain: each one names its predecessor's
   size and note hash, and the first checkpoint of a log exported from sequence 0 names none;
   and that the manifest claims the newest checkpoint's size;
2. every segment: its signed digest, then line by line the sequence numbers (a missing, extra,
   reordered or truncated event is named precisely), then the SHA-256 of the file against the
   digest (any changed byte);
3. that the segments cover the log without gaps up to the newest checkpoint;
4. every inclusion: the RFC 9162 tree is recomputed from the exported events (starting from the
   recorded compact range when the export starts later than sequence 0), and its root at each
   checkpoint's size must equal the signed root. Equal roots prove each exported event sits at
   its position in every signed tree; together with the chain they also prove each checkpoint
   extends the one before (consistency), with no proof files needed.

What it cannot know alone: that the newest checkpoint in the export is the newest the log ever
had (a tail cut together with its checkpoints looks like an older export) or that the key is the
installation's, unless ``verifier`` pins it (docs/audit.md, "What it does not guarantee").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from lakevault.audit._checkpoint import SignedCheckpoint, open_checkpoint, origin_for
from lakevault.audit._errors import (
    ExportVerificationFailed,
    InvalidCheckpoint,
    InvalidProof,
)
from lakevault.audit._export_format import (
    CHECKPOINT_SUFFIX,
    CHECKPOINTS,
    DIGEST_SUFFIX,
    FORMAT,
    LINE_MIDDLE,
    LINE_PREFIX,
    LINE_SUFFIX,
    MANIFEST,
    SEGMENT_SUFFIX,
    SEGMENTS,
    VERIFIER_KEY,
    SegmentDigest,
    checkpoint_file_name,
)
from lakevault.audit._merkle import HASH_SIZE, TreeBuilder
from lakevault.audit._note import NoteVerifiers, Verifier

_sha256 = hashlib.sha256
NEWLINE = b"\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedLog:
    """One account log that verified: its range, checkpoints and the newest signed root."""

    account_id: str
    first_sequence: int
    tree_size: int
    root_hash: bytes
    segments: int
    checkpoints: int
    key_id: str


def verify_export(directory: Path, *, verifier: Verifier | None = None) -> list[VerifiedLog]:
    """Verify every account log in an export directory; raise at the first inconsistency."""
    if not directory.is_dir():
        raise ExportVerificationFailed(
            "no such directory; give the directory 'lakevault audit export' wrote",
            position=str(directory),
        )
    if (directory / MANIFEST).is_file():
        logs = [directory]
    else:
        logs = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not logs:
        raise ExportVerificationFailed(
            "no audit log export found (expected <account id>/manifest.json)",
            position=str(directory),
        )
    return [verify_log(path, verifier=verifier) for path in logs]


def verify_log(directory: Path, *, verifier: Verifier | None = None) -> VerifiedLog:
    """Verify one account's export directory; see the module docstring."""
    manifest = _manifest(directory)
    account_id = manifest["accountId"]
    origin = origin_for(account_id)
    first = manifest["firstSequence"]
    key = verifier if verifier is not None else _export_key(directory)
    checkpoints = _checkpoints(directory, key, origin, first)
    newest = checkpoints[-1].checkpoint
    if manifest.get("treeSize") != newest.tree_size:
        raise ExportVerificationFailed(
            f"the manifest says the export covers {manifest.get('treeSize')!r} events, its "
            f"newest checkpoint {newest.tree_size}: the manifest or the checkpoints were changed",
            position=str(directory / MANIFEST),
        )
    builder = _start_range(directory, manifest)
    pending = [c for c in checkpoints if c.checkpoint.tree_size >= first]
    pending.reverse()
    _check_root(builder, pending)
    segments = sorted((directory / SEGMENTS).glob(f"*{SEGMENT_SUFFIX}"))
    for segment in segments:
        _verify_segment(segment, key, origin, builder, pending)
    if builder.size > newest.tree_size:
        raise ExportVerificationFailed(
            f"events {newest.tree_size} to {builder.size - 1} are covered by no signed "
            "checkpoint: they were added after export",
            position=f"{SEGMENTS}/ after sequence {newest.tree_size - 1}",
        )
    if builder.size != newest.tree_size:
        raise ExportVerificationFailed(
            f"the export holds events up to sequence {builder.size - 1} but its newest "
            f"checkpoint covers {newest.tree_size} events: events {builder.size} to "
            f"{newest.tree_size - 1} are missing (the tail was truncated)",
            position=f"{SEGMENTS}/ after sequence {builder.size - 1}",
        )
    return VerifiedLog(
        account_id=account_id,
        first_sequence=first,
        tree_size=newest.tree_size,
        root_hash=newest.root_hash,
        segments=len(segments),
        checkpoints=len(checkpoints),
        key_id=",".join(key.key_ids),
    )


def _manifest(directory: Path) -> dict[str, Any]:
    position = str(directory / MANIFEST)
    try:
        manifest = orjson.loads((directory / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ExportVerificationFailed(
            f"cannot read the manifest ({type(exc).__name__})", position=position
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ExportVerificationFailed(f"not a {FORMAT} manifest", position=position)
    account = manifest.get("accountId")
    first = manifest.get("firstSequence")
    if not (isinstance(account, str) and len(account) == 12 and account.isdigit()):
        raise ExportVerificationFailed("accountId is not a 12-digit account id", position=position)
    if not isinstance(first, int) or isinstance(first, bool) or first < 0:
        raise ExportVerificationFailed("firstSequence is not a sequence number", position=position)
    if manifest.get("origin") != origin_for(account):
        raise ExportVerificationFailed(f"origin is not {origin_for(account)}", position=position)
    return manifest


def _export_key(directory: Path) -> NoteVerifiers:
    path = directory / VERIFIER_KEY
    try:
        return NoteVerifiers.from_text(path.read_text("ascii"))
    except (OSError, UnicodeDecodeError, InvalidCheckpoint) as exc:
        raise ExportVerificationFailed(
            "cannot read the export's verifier key; pass the key to trust with --key",
            position=str(path),
        ) from exc


def _checkpoints(directory: Path, key: Verifier, origin: str, first: int) -> list[SignedCheckpoint]:
    files = sorted((directory / CHECKPOINTS).glob(f"*{CHECKPOINT_SUFFIX}"))
    if not files:
        raise ExportVerificationFailed(
            "the export holds no checkpoint, so nothing in it is signed",
            position=f"{CHECKPOINTS}/",
        )
    result: list[SignedCheckpoint] = []
    for path in files:
        position = f"{CHECKPOINTS}/{path.name}"
        try:
            signed = open_checkpoint(_read(path, position), key, origin=origin)
        except InvalidCheckpoint as exc:
            raise ExportVerificationFailed(
                f"checkpoint rejected: {exc.message}", position=position
            ) from exc
        checkpoint = signed.checkpoint
        if path.name != checkpoint_file_name(checkpoint.tree_size):
            raise ExportVerificationFailed(
                f"the file holds the checkpoint of tree size {checkpoint.tree_size}: "
                "checkpoints were renamed or replaced",
                position=position,
            )
        if result:
            expected = result[-1].link()
            if checkpoint.previous != expected:
                raise ExportVerificationFailed(
                    f"the checkpoint does not name the checkpoint of tree size "
                    f"{expected.tree_size} as its predecessor: a checkpoint was replaced, "
                    "removed or inserted",
                    position=position,
                )
        elif first == 0 and checkpoint.previous is not None:
            raise ExportVerificationFailed(
                f"the first checkpoint names a predecessor of tree size "
                f"{checkpoint.previous.tree_size}, but the export starts at sequence 0: "
                "earlier checkpoints were removed",
                position=position,
            )
        result.append(signed)
    return result


def _start_range(directory: Path, manifest: dict[str, Any]) -> TreeBuilder:
    position = str(directory / MANIFEST)
    hashes = manifest.get("startRange")
    try:
        if not isinstance(hashes, list):
            raise ValueError("startRange is not a list")
        frontier = [bytes.fromhex(h) for h in hashes]
        if any(len(h) != HASH_SIZE for h in frontier):
            raise ValueError("a startRange hash is not 32 bytes")
        return TreeBuilder(size=manifest["firstSequence"], frontier=frontier)
    except (ValueError, TypeError, InvalidProof) as exc:
        raise ExportVerificationFailed(
            f"startRange is not the compact range of the first {manifest['firstSequence']} "
            f"events ({exc})",
            position=position,
        ) from exc


def _check_root(builder: TreeBuilder, pending: list[SignedCheckpoint]) -> None:
    """Compare the tree's root with every checkpoint of its current size (pending: descending)."""
    while pending and pending[-1].checkpoint.tree_size == builder.size:
        checkpoint = pending.pop().checkpoint
        if builder.root() != checkpoint.root_hash:
            raise ExportVerificationFailed(
                f"the root of the first {checkpoint.tree_size} events differs from the signed "
                "root: an event before this checkpoint was changed, removed or reordered (or "
                "the export's start range is wrong)",
                position=f"{CHECKPOINTS}/{checkpoint_file_name(checkpoint.tree_size)}",
            )


def _verify_segment(
    path: Path,
    key: Verifier,
    origin: str,
    builder: TreeBuilder,
    pending: list[SignedCheckpoint],
) -> None:
    position = f"{SEGMENTS}/{path.name}"
    digest = _digest(path, key, origin)
    expected = builder.size
    if digest.first_sequence != expected:
        if digest.first_sequence > expected:
            raise ExportVerificationFailed(
                f"events {expected} to {digest.first_sequence - 1} are missing: the segment "
                "before this one was removed",
                position=position,
            )
        raise ExportVerificationFailed(
            f"the segment starts at sequence {digest.first_sequence}, which an earlier segment "
            "already holds",
            position=position,
        )
    data = _read(path, position)
    records = parse_segment(data, position)
    for line, (sequence, _) in enumerate(records, start=1):
        want = digest.first_sequence + line - 1
        if sequence == want:
            continue
        where = f"{position} line {line}"
        if line < len(records) and records[line][0] == want:
            raise ExportVerificationFailed(
                f"events {want} and {sequence} are in the wrong order (swapped)", position=where
            )
        if sequence > want:
            raise ExportVerificationFailed(
                f"event {want} is missing (deleted): this line holds event {sequence}",
                position=where,
            )
        raise ExportVerificationFailed(
            f"event {sequence} appears again or out of order where event {want} belongs",
            position=where,
        )
    if len(records) != digest.count:
        last = digest.first_sequence + len(records) - 1
        raise ExportVerificationFailed(
            f"the segment ends after event {last} but its signed digest covers events through "
            f"{digest.first_sequence + digest.count - 1}: the tail was truncated"
            if len(records) < digest.count
            else f"the segment holds {len(records)} events, its digest {digest.count}",
            position=position,
        )
    if _sha256(data).digest() != digest.sha256:
        raise ExportVerificationFailed(
            "the segment's SHA-256 differs from its signed digest: bytes of the segment were "
            "changed after export",
            position=position,
        )
    for _, body in records:
        builder.append(_sha256(b"\x00" + body).digest())
        if pending and pending[-1].checkpoint.tree_size == builder.size:
            _check_root(builder, pending)


def _digest(path: Path, key: Verifier, origin: str) -> SegmentDigest:
    digest_path = path.with_name(path.name[: -len(SEGMENT_SUFFIX)] + DIGEST_SUFFIX)
    position = f"{SEGMENTS}/{digest_path.name}"
    try:
        digest = SegmentDigest.parse(key.verify(digest_path.read_bytes()))
    except FileNotFoundError as exc:
        raise ExportVerificationFailed(
            "the segment's signed digest is missing", position=position
        ) from exc
    except InvalidCheckpoint as exc:
        raise ExportVerificationFailed(
            f"digest rejected: {exc.message}", position=position
        ) from exc
    if digest.origin != origin:
        raise ExportVerificationFailed(
            f"the digest is for log {digest.origin}, not {origin}", position=position
        )
    return digest


def parse_segment(data: bytes, position: str) -> list[tuple[int, bytes]]:
    """Split a segment into (sequence, exact event bytes), refusing any other line shape."""
    if data and not data.endswith(b"\n"):
        raise ExportVerificationFailed(
            "the segment ends in the middle of a line: the file was truncated",
            position=f"{position} line {data.count(NEWLINE) + 1}",
        )
    records: list[tuple[int, bytes]] = []
    prefix_length = len(LINE_PREFIX)
    for number, line in enumerate(data.split(b"\n")[:-1], start=1):
        middle = line.find(LINE_MIDDLE, prefix_length)
        digits = line[prefix_length:middle]
        if (
            not line.startswith(LINE_PREFIX)
            or middle < 0
            or not digits.isdigit()
            or not line.endswith(LINE_SUFFIX[:1])
        ):
            raise ExportVerificationFailed(
                'the line is not {"sequence":N,"event":{...}}', position=f"{position} line {number}"
            )
        records.append((int(digits), line[middle + len(LINE_MIDDLE) : -1]))
    return records


def _read(path: Path, position: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ExportVerificationFailed(
            f"cannot read the file ({exc.strerror or type(exc).__name__})", position=position
        ) from exc
