"""The on-disk format of an audit export, shared by the writer and the offline verifier.

One directory per account log (docs/audit.md, "Export format")::

    <account id>/
      manifest.json                       format, account, origin, first sequence, start range
      audit-signing.pub                   the verifier key (C2SP) the notes are signed with
      segments/<first seq:020>.jsonl      one line per event: {"sequence":N,"event":<bytes>}
      segments/<first seq:020>.digest     signed note: origin, "segment FIRST COUNT", SHA-256
      checkpoints/<tree size:020>.checkpoint   the signed checkpoints, chained

The ``event`` value of a line is the event's canonical bytes exactly as logged (the leaf
data), so the verifier hashes the bytes it reads, never a re-serialisation.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from lakevault.audit._errors import InvalidCheckpoint

FORMAT = "lakevault-audit-export/1"
MANIFEST = "manifest.json"
VERIFIER_KEY = "audit-signing.pub"
SEGMENTS = "segments"
CHECKPOINTS = "checkpoints"
SEGMENT_SUFFIX = ".jsonl"
DIGEST_SUFFIX = ".digest"
CHECKPOINT_SUFFIX = ".checkpoint"

LINE_PREFIX = b'{"sequence":'
LINE_MIDDLE = b',"event":'
LINE_SUFFIX = b"}\n"


def segment_name(first_sequence: int) -> str:
    return f"{first_sequence:020d}"


def checkpoint_file_name(tree_size: int) -> str:
    return f"{tree_size:020d}{CHECKPOINT_SUFFIX}"


def encode_line(sequence: int, body: bytes) -> bytes:
    return LINE_PREFIX + str(sequence).encode("ascii") + LINE_MIDDLE + body + LINE_SUFFIX


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentDigest:
    """What a segment's signed digest states: whose log, which events, which bytes."""

    origin: str
    first_sequence: int
    count: int
    sha256: bytes

    def text(self) -> bytes:
        encoded = base64.b64encode(self.sha256).decode("ascii")
        return (
            f"{self.origin}\nsegment {self.first_sequence} {self.count}\nsha256 {encoded}\n"
        ).encode("ascii")

    @classmethod
    def parse(cls, text: bytes) -> SegmentDigest:
        """Parse a verified digest note's text; ``InvalidCheckpoint`` if it is malformed."""
        lines = text.decode("utf-8").split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise InvalidCheckpoint("a segment digest has exactly three lines")
        origin, segment_line, sha_line = lines[:3]
        keyword, first, count = [*segment_line.split(" "), "", ""][:3]
        algorithm, _, encoded = sha_line.partition(" ")
        if keyword != "segment" or not first.isdigit() or not count.isdigit():
            raise InvalidCheckpoint("a segment digest's second line is 'segment FIRST COUNT'")
        try:
            digest = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise InvalidCheckpoint("a segment digest's hash is not base64") from exc
        if algorithm != "sha256" or len(digest) != 32:
            raise InvalidCheckpoint("a segment digest's third line is 'sha256 <base64>'")
        return cls(origin=origin, first_sequence=int(first), count=int(count), sha256=digest)
