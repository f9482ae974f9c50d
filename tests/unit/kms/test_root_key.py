"""The platform root key: created once and private, loaded or refused with a clear reason."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from lakevault.core import SystemRandom, load_settings
from lakevault.core.errors import ConfigurationError
from lakevault.kms import PlatformRootKey, ensure_root_key, root_key_path


def _settings(home: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings({"LAKEVAULT_HOME": str(home), **env})


def test_init_creates_a_private_key_once_and_never_overwrites_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert ensure_root_key(settings, SystemRandom()) is True
    path = root_key_path(tmp_path)
    first = path.read_bytes()
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_root_key(settings, SystemRandom()) is False
    assert path.read_bytes() == first


def test_a_missing_key_file_refuses_to_start_and_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="restore it from your key backup"):
        PlatformRootKey.load(_settings(tmp_path))


def test_a_truncated_key_file_is_refused(tmp_path: Path) -> None:
    path = root_key_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"short")
    with pytest.raises(ConfigurationError, match="must be 32 bytes"):
        PlatformRootKey.load(_settings(tmp_path))


def test_the_env_provider_reads_base64_and_refuses_bad_values(tmp_path: Path) -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    loaded = PlatformRootKey.load(
        _settings(tmp_path, LAKEVAULT_ROOT_KEY_PROVIDER="env", LAKEVAULT_ROOT_KEY=key)
    )
    assert loaded.source == "LAKEVAULT_ROOT_KEY"
    with pytest.raises(ConfigurationError, match="not set"):
        PlatformRootKey.load(_settings(tmp_path, LAKEVAULT_ROOT_KEY_PROVIDER="env"))
    with pytest.raises(ConfigurationError, match="not valid base64"):
        PlatformRootKey.load(
            _settings(tmp_path, LAKEVAULT_ROOT_KEY_PROVIDER="env", LAKEVAULT_ROOT_KEY="%%%")
        )
    assert (
        ensure_root_key(
            _settings(tmp_path, LAKEVAULT_ROOT_KEY_PROVIDER="env", LAKEVAULT_ROOT_KEY=key),
            SystemRandom(),
        )
        is False
    )


def test_derived_secrets_are_stable_and_separate_by_purpose_identifier_and_key() -> None:
    key = PlatformRootKey(bytes(32), source="test")
    other = PlatformRootKey(bytes([1]) * 32, source="test")
    secret = key.derive_secret(purpose="access-key", identifier="LKIAEXAMPLE")
    assert len(secret) == 40
    assert secret == key.derive_secret(purpose="access-key", identifier="LKIAEXAMPLE")
    assert secret != key.derive_secret(purpose="session", identifier="LKIAEXAMPLE")
    assert secret != key.derive_secret(purpose="access-key", identifier="LKIAEXAMPLF")
    assert secret != other.derive_secret(purpose="access-key", identifier="LKIAEXAMPLE")


def test_the_key_never_shows_in_repr() -> None:
    key = PlatformRootKey(b"\xaa" * 32, source="file")
    assert "aa" not in repr(key).lower().replace("platformrootkey", "")
    assert repr(key) == "PlatformRootKey(source='file')"
