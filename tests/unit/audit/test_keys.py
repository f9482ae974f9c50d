"""The signing key file: created once, private, atomic, refused when others may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lakevault.audit import (
    SIGNING_KEY_FILE,
    VERIFIER_KEY_FILE,
    SigningKeyUnavailable,
    ensure_signing_key,
    load_signing_key,
    load_verifier,
)


def test_key_is_created_with_mode_0600_and_its_public_key_exported(tmp_path: Path) -> None:
    verifier = ensure_signing_key(tmp_path)
    private = tmp_path / SIGNING_KEY_FILE
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert load_signing_key(tmp_path).verifier == verifier
    assert load_verifier(tmp_path).keys == (verifier,)
    assert (tmp_path / VERIFIER_KEY_FILE).read_text().strip() == verifier.verifier_key
    assert sorted(p.name for p in private.parent.iterdir()) == [
        "audit-signing.key",
        "audit-signing.pub",
        "audit-verifiers.pub",
    ], "a temporary file was left behind"


def test_an_existing_key_is_kept(tmp_path: Path) -> None:
    first = ensure_signing_key(tmp_path)
    before = (tmp_path / SIGNING_KEY_FILE).read_bytes()
    assert ensure_signing_key(tmp_path) == first
    assert (tmp_path / SIGNING_KEY_FILE).read_bytes() == before


def test_a_key_others_may_read_is_refused(tmp_path: Path) -> None:
    ensure_signing_key(tmp_path)
    os.chmod(tmp_path / SIGNING_KEY_FILE, 0o644)
    with pytest.raises(SigningKeyUnavailable, match="chmod 600"):
        load_signing_key(tmp_path)


def test_a_missing_key_names_the_command_that_creates_it(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyUnavailable, match="lakevault init"):
        load_signing_key(tmp_path)


def test_a_damaged_key_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / SIGNING_KEY_FILE
    path.parent.mkdir(parents=True)
    path.write_text("PRIVATE+KEY+x+00000000+c2VjcmV0LXZhbHVl\n")
    os.chmod(path, 0o600)
    with pytest.raises(SigningKeyUnavailable) as info:
        load_signing_key(tmp_path)
    assert "c2VjcmV0LXZhbHVl" not in str(info.value)
