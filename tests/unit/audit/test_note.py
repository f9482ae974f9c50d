"""C2SP signed notes: Go's documented example round-trips; every tampering is refused."""

from __future__ import annotations

import pytest

from lakevault.audit import InvalidCheckpoint, NoteSigner, NoteVerifier

# The example of golang.org/x/mod/sumdb/note's documentation (Ed25519 signatures are
# deterministic, so our signature must be byte-identical to Go's).
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
GO_NOTE = GO_TEXT + (
    "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
).encode("utf-8")


def test_signatures_match_gos_note_package_byte_for_byte() -> None:
    signer = NoteSigner.from_signer_key(GO_SIGNER_KEY)
    assert signer.verifier.verifier_key == GO_VERIFIER_KEY
    assert signer.sign(GO_TEXT) == GO_NOTE
    assert NoteVerifier.from_verifier_key(GO_VERIFIER_KEY).verify(GO_NOTE) == GO_TEXT


def test_signer_key_round_trips_and_repr_hides_it() -> None:
    signer = NoteSigner.generate("lakevault-audit")
    text = signer.signer_key_text_unsafe()
    assert NoteSigner.from_signer_key(text).verifier == signer.verifier
    seed = text.split("+", 4)[4]  # the base64 may itself hold "+"
    assert len(seed) == 44 and seed not in repr(signer)


def test_a_changed_text_fails() -> None:
    verifier = NoteVerifier.from_verifier_key(GO_VERIFIER_KEY)
    with pytest.raises(InvalidCheckpoint, match="does not verify"):
        verifier.verify(GO_NOTE.replace(b"answer", b"Answer"))


def test_a_note_without_the_trusted_key_fails() -> None:
    other = NoteSigner.generate("PeterNeumann")
    with pytest.raises(InvalidCheckpoint, match="no signature by the trusted key"):
        other.verifier.verify(GO_NOTE)


def test_a_note_without_signatures_fails() -> None:
    with pytest.raises(InvalidCheckpoint, match="blank line"):
        NoteVerifier.from_verifier_key(GO_VERIFIER_KEY).verify(GO_TEXT)


def test_text_must_end_with_a_newline() -> None:
    with pytest.raises(InvalidCheckpoint, match="end with a newline"):
        NoteSigner.generate("k").sign(b"no newline")


@pytest.mark.parametrize("name", ["", "a b", "a+b"])
def test_key_names_with_spaces_or_plus_are_refused(name: str) -> None:
    with pytest.raises(InvalidCheckpoint, match="not allowed"):
        NoteSigner.generate(name)


def test_a_verifier_key_with_a_wrong_id_is_refused() -> None:
    with pytest.raises(InvalidCheckpoint, match="does not match the key"):
        NoteVerifier.from_verifier_key(GO_VERIFIER_KEY.replace("c74f20a3", "00000000"))
