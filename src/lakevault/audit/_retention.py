"""Retention of a directory export: expire whole segments, keep the log verifiable (0204).

An export directory of one account (``_export_format.py``) keeps its events for the retention
period (``audit_retention_days``, 90 days by default, up to 7 years). :func:`expire_export`
removes the *oldest whole segments* all of whose events are older than that, and nothing else:

1. the export is verified first — an export that does not verify is never changed, so expiry
   cannot be used to erase evidence of tampering;
2. the compact range of the tree before the first kept event is computed from the expiring
   segments' exact bytes, and the manifest moves ``firstSequence`` and ``startRange`` there
   (written atomically) — exactly what an export ``--since`` that time would hold;
3. only then are the expired segment files and their digests removed. Checkpoints stay: they
   hold no event data and keep the chain complete.

Afterwards the export verifies as before: the kept events are still checked against every
signed root from the start range on. A crash between steps 2 and 3 leaves segments before
``firstSequence``; running expiry again removes them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from lakevault.audit._errors import ExportVerificationFailed
from lakevault.audit._export_format import (
    DIGEST_SUFFIX,
    MANIFEST,
    SEGMENT_SUFFIX,
    SEGMENTS,
)
from lakevault.audit._merkle import TreeBuilder
from lakevault.audit._note import Verifier
from lakevault.audit._verify import VerifiedLog, parse_segment, verify_log
from lakevault.core import sync_directory, write_atomically
from lakevault.core.errors import InvalidParameterValue

DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 7 * 365 + 2  # Seven years, leap days included.


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiredSegments:
    """What one expiry removed from one account's export."""

    account_id: str
    expired_segments: int
    expired_events: int
    first_sequence: int
    verified: VerifiedLog


def expire_export(
    directory: Path,
    *,
    now: datetime,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    verifier: Verifier | None = None,
) -> ExpiredSegments:
    """Remove the segments of ``directory`` (one account) older than the retention period.

    Raises ``InvalidParameterValue`` for a retention outside 1 day to 7 years and
    ``ExportVerificationFailed`` (changing nothing) if the export does not verify, before or
    after. ``verifier`` pins the keys to trust (default: the export's own keyring).
    """
    if not 1 <= retention_days <= MAX_RETENTION_DAYS:
        raise InvalidParameterValue(
            f"retention must be 1 to {MAX_RETENTION_DAYS} days (7 years), got {retention_days}"
        )
    _finish_interrupted_expiry(directory)
    before = verify_log(directory, verifier=verifier)
    cutoff = now - timedelta(days=retention_days)
    manifest = orjson.loads((directory / MANIFEST).read_bytes())
    frontier = [bytes.fromhex(h) for h in manifest["startRange"]]
    builder = TreeBuilder(size=manifest["firstSequence"], frontier=frontier)
    expired: list[Path] = []
    for segment in sorted((directory / SEGMENTS).glob(f"*{SEGMENT_SUFFIX}")):
        records = parse_segment(segment.read_bytes(), f"{SEGMENTS}/{segment.name}")
        if not records or max(_event_time(body) for _, body in records) >= cutoff:
            break  # Only a prefix of whole segments expires, oldest first.
        for _, body in records:
            builder.append(hashlib.sha256(b"\x00" + body).digest())
        expired.append(segment)
    if not expired:
        return ExpiredSegments(
            account_id=before.account_id,
            expired_segments=0,
            expired_events=0,
            first_sequence=before.first_sequence,
            verified=before,
        )
    manifest["firstSequence"] = builder.size
    manifest["startRange"] = [h.hex() for h in builder.frontier()]
    manifest["expiredBefore"] = cutoff.isoformat().replace("+00:00", "Z")
    write_atomically(directory / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    sync_directory(directory)
    _finish_interrupted_expiry(directory)
    after = verify_log(directory, verifier=verifier)
    return ExpiredSegments(
        account_id=after.account_id,
        expired_segments=len(expired),
        expired_events=after.first_sequence - before.first_sequence,
        first_sequence=after.first_sequence,
        verified=after,
    )


def _finish_interrupted_expiry(directory: Path) -> None:
    """Remove segments that end before the manifest's ``firstSequence`` (and their digests)."""
    try:
        first = orjson.loads((directory / MANIFEST).read_bytes())["firstSequence"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ExportVerificationFailed(
            "cannot read the manifest", position=str(directory / MANIFEST)
        ) from exc
    removed = False
    for segment in sorted((directory / SEGMENTS).glob(f"*{SEGMENT_SUFFIX}")):
        records = parse_segment(segment.read_bytes(), f"{SEGMENTS}/{segment.name}")
        if not records or records[-1][0] >= first:
            break
        segment.with_name(segment.name[: -len(SEGMENT_SUFFIX)] + DIGEST_SUFFIX).unlink(
            missing_ok=True
        )
        segment.unlink()
        removed = True
    if removed:
        sync_directory(directory / SEGMENTS)


def _event_time(body: bytes) -> datetime:
    text = str(orjson.loads(body).get("eventTime", "")).replace("Z", "+00:00")
    return datetime.fromisoformat(text)
