"""The checkpoint signing key: its own file under the data directory, never in the database.

``LAKEVAULT_HOME/keys/audit-signing.key`` holds the Ed25519 private key as a C2SP signer-key
string, mode 0600; ``audit-signing.pub`` beside it holds the verifier key, which is public and
goes into every export. Someone who can write the metadata database still cannot sign a
checkpoint: the key is separate from the database credentials (docs/decisions/0064).

``ensure_signing_key`` runs on ``lakevault init``: it creates the pair if absent (atomically:
temporary file, fsync, rename) and otherwise leaves it alone.

Rotation (:func:`rotate_signing_key`, docs/decisions/0203) replaces the private key with a new
one and keeps every public key ever used in ``audit-verifiers.pub`` (oldest first), so
checkpoints signed before the rotation still verify; :func:`load_verifier` returns that keyring.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lakevault.audit._errors import InvalidCheckpoint, SigningKeyUnavailable
from lakevault.audit._note import NoteSigner, NoteVerifier, NoteVerifiers
from lakevault.core import write_atomically

KEY_NAME = "lakevault-audit"
SIGNING_KEY_FILE = Path("keys") / "audit-signing.key"
VERIFIER_KEY_FILE = Path("keys") / "audit-signing.pub"
VERIFIERS_FILE = Path("keys") / "audit-verifiers.pub"


def ensure_signing_key(home: Path, *, key_name: str = KEY_NAME) -> NoteVerifier:
    """Create the signing key pair under ``home`` unless it exists; return its verifier."""
    private_path = home / SIGNING_KEY_FILE
    if private_path.exists():
        signer = load_signing_key(home)
    else:
        try:
            private_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            signer = NoteSigner.generate(key_name)
            write_atomically(
                private_path, (signer.signer_key_text_unsafe() + "\n").encode("ascii"), mode=0o600
            )
        except OSError as exc:
            raise SigningKeyUnavailable(
                f"cannot create the audit signing key {private_path} ({exc.strerror}); make "
                f"{private_path.parent} writable by the lakevault user"
            ) from exc
    verifier = signer.verifier
    _publish(home, verifier)
    return verifier


def rotate_signing_key(home: Path, *, key_name: str = KEY_NAME) -> NoteVerifier:
    """Replace the checkpoint signing key with a new one; return the new verifier key.

    The keyring ``audit-verifiers.pub`` is written first (old keys plus the new one), then the
    new private key replaces the old (which is gone: a retired key never signs again), then
    ``audit-signing.pub``. A crash in between leaves a keyring that trusts one key too many,
    never a signing key the keyring does not know. Sign a checkpoint of every log right after
    (``lakevault audit rotate-key`` does), so every chain crosses to the new key at once.
    """
    current = load_signing_key(home)
    ring = load_verifier(home).with_key(current.verifier)
    new = NoteSigner.generate(key_name)
    try:
        write_atomically(home / VERIFIERS_FILE, ring.with_key(new.verifier).text().encode("ascii"))
        write_atomically(
            home / SIGNING_KEY_FILE,
            (new.signer_key_text_unsafe() + "\n").encode("ascii"),
            mode=0o600,
        )
    except OSError as exc:
        raise SigningKeyUnavailable(
            f"cannot write the new audit signing key under {home / SIGNING_KEY_FILE.parent} "
            f"({exc.strerror}); the old key is still in use"
        ) from exc
    _publish(home, new.verifier)
    return new.verifier


def _publish(home: Path, verifier: NoteVerifier) -> None:
    """Write ``audit-signing.pub`` and make sure the keyring lists the key."""
    public_path = home / VERIFIER_KEY_FILE
    if not public_path.exists() or public_path.read_text("ascii").strip() != verifier.verifier_key:
        write_atomically(public_path, (verifier.verifier_key + "\n").encode("ascii"))
    ring_path = home / VERIFIERS_FILE
    ring = (
        NoteVerifiers.from_text(ring_path.read_text("ascii"))
        if ring_path.exists()
        else NoteVerifiers((verifier,))
    )
    if not ring_path.exists() or verifier not in ring.keys:
        write_atomically(ring_path, ring.with_key(verifier).text().encode("ascii"))


def load_signing_key(home: Path) -> NoteSigner:
    """Read the signing key; refuse a missing file or one others may read (fail closed)."""
    path = home / SIGNING_KEY_FILE
    try:
        mode = os.stat(path).st_mode
        text = path.read_text("ascii")
    except FileNotFoundError as exc:
        raise SigningKeyUnavailable(
            f"the audit signing key {path} does not exist; run 'lakevault init' to create it"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningKeyUnavailable(
            f"cannot read the audit signing key {path}; check its owner and that it is the "
            "file 'lakevault init' wrote"
        ) from exc
    if stat.S_IMODE(mode) & 0o077:
        raise SigningKeyUnavailable(
            f"the audit signing key {path} may be read by other users (mode "
            f"{stat.S_IMODE(mode):04o}); run 'chmod 600 {path}' and consider the key exposed"
        )
    try:
        return NoteSigner.from_signer_key(text.strip())
    except InvalidCheckpoint as exc:
        raise SigningKeyUnavailable(
            f"the file {path} is not a lakevault audit signing key ({exc.message})"
        ) from exc


def load_verifier(home: Path) -> NoteVerifiers:
    """Every public key of this installation's checkpoints: the keyring, oldest first.

    Reads ``audit-verifiers.pub`` (every key ever used) and ``audit-signing.pub`` (the current
    one); an installation from before rotation existed has only the latter.
    """
    path = home / VERIFIER_KEY_FILE
    try:
        current = NoteVerifier.from_verifier_key(path.read_text("ascii"))
        ring_path = home / VERIFIERS_FILE
        if not ring_path.exists():
            return NoteVerifiers((current,))
        return NoteVerifiers.from_text(ring_path.read_text("ascii")).with_key(current)
    except OSError as exc:
        raise SigningKeyUnavailable(
            f"cannot read the audit verifier keys {path}; run 'lakevault init'"
        ) from exc
