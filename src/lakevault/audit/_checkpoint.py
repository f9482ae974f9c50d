"""Checkpoints: the signed statement "log ORIGIN has SIZE entries with ROOT". Pure.

The text follows C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint)::

    lakevault.local/audit/123456789012      origin: which log
    1000                                    tree size, decimal
    <base64 root hash>                      RFC 9162 root of the first 1000 leaves
    previous 990 <base64 SHA-256>           extension line: the checkpoint before this one

and is signed as a C2SP signed note (:mod:`lakevault.audit._note`). The ``previous`` line
chains each checkpoint to its predecessor by the SHA-256 of the predecessor's whole signed
note, so replacing or dropping a checkpoint breaks the chain (docs/decisions/0063). The first
checkpoint of a log has no ``previous`` line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from lakevault.audit._errors import InvalidCheckpoint
from lakevault.audit._merkle import HASH_SIZE
from lakevault.audit._note import NoteSigner, Verifier

ORIGIN_PREFIX = "lakevault.local/audit/"
_PREVIOUS = "previous"


def origin_for(account_id: str) -> str:
    """The origin line of an account's log; the platform's own log is ``.../000000000000``."""
    return f"{ORIGIN_PREFIX}{account_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PreviousCheckpoint:
    """A link to the checkpoint before: its size and the SHA-256 of its signed note."""

    tree_size: int
    note_hash: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """The unsigned content of a checkpoint."""

    origin: str
    tree_size: int
    root_hash: bytes
    previous: PreviousCheckpoint | None = None

    def __post_init__(self) -> None:
        if not self.origin or any(c.isspace() for c in self.origin):
            raise InvalidCheckpoint(f"checkpoint origin {self.origin!r} must be one word")
        if self.tree_size < 0:
            raise InvalidCheckpoint(f"checkpoint tree size {self.tree_size} is negative")
        if len(self.root_hash) != HASH_SIZE:
            raise InvalidCheckpoint(
                f"checkpoint root hash is {len(self.root_hash)} bytes; expected {HASH_SIZE}"
            )
        previous = self.previous
        if previous is not None and (
            previous.tree_size > self.tree_size or len(previous.note_hash) != HASH_SIZE
        ):
            raise InvalidCheckpoint(
                f"checkpoint of size {self.tree_size} names a previous checkpoint of size "
                f"{previous.tree_size} (must not be larger) with a {HASH_SIZE}-byte hash"
            )

    def text(self) -> bytes:
        """The note text that is signed."""
        lines = [
            self.origin,
            str(self.tree_size),
            base64.b64encode(self.root_hash).decode("ascii"),
        ]
        if self.previous is not None:
            encoded = base64.b64encode(self.previous.note_hash).decode("ascii")
            lines.append(f"{_PREVIOUS} {self.previous.tree_size} {encoded}")
        return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedCheckpoint:
    """A checkpoint with its signed note exactly as published."""

    checkpoint: Checkpoint
    note: bytes

    @property
    def note_hash(self) -> bytes:
        """What the next checkpoint's ``previous`` line names."""
        return hashlib.sha256(self.note).digest()

    def link(self) -> PreviousCheckpoint:
        return PreviousCheckpoint(tree_size=self.checkpoint.tree_size, note_hash=self.note_hash)


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> SignedCheckpoint:
    return SignedCheckpoint(checkpoint=checkpoint, note=signer.sign(checkpoint.text()))


def open_checkpoint(
    note: bytes, verifier: Verifier, *, origin: str | None = None
) -> SignedCheckpoint:
    """Verify the signature on ``note`` and parse it; raise ``InvalidCheckpoint`` otherwise.

    With ``origin``, a checkpoint of any other log is refused too (a validly signed checkpoint
    of tenant A must not pass as one of tenant B).
    """
    text = verifier.verify(note)
    checkpoint = parse_checkpoint_text(text)
    if origin is not None and checkpoint.origin != origin:
        raise InvalidCheckpoint(
            f"the checkpoint is for log {checkpoint.origin}, expected a checkpoint of {origin}"
        )
    return SignedCheckpoint(checkpoint=checkpoint, note=note)


def parse_checkpoint_text(text: bytes) -> Checkpoint:
    """Parse the (already verified) text of a checkpoint note."""
    lines = text.decode("utf-8").split("\n")[:-1]
    if len(lines) < 3:
        raise InvalidCheckpoint(
            f"a checkpoint has at least 3 lines (origin, size, root); got {len(lines)}"
        )
    origin, size_text, root_text, *extensions = lines
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise InvalidCheckpoint("the tree size line of a checkpoint is a decimal number")
    previous = None
    for line in extensions:
        keyword, *values = line.split(" ")
        if keyword != _PREVIOUS:
            continue  # Other extension lines are allowed by the spec and carry nothing for us.
        if previous is not None or len(values) != 2 or not values[0].isdigit():
            raise InvalidCheckpoint("a checkpoint has at most one 'previous <size> <hash>' line")
        previous = PreviousCheckpoint(tree_size=int(values[0]), note_hash=_b64(values[1]))
    return Checkpoint(
        origin=origin, tree_size=int(size_text), root_hash=_b64(root_text), previous=previous
    )


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise InvalidCheckpoint("a hash in a checkpoint is not valid base64") from exc
