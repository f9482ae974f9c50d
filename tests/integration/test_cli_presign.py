"""``lakevault presign get|put`` and ``lakevault bucket-limits`` against a real server: the
client asks the API for a URL, then transfers directly, with no credentials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.integration.conftest import TenantShell


def test_the_cli_mints_urls_that_upload_and_download_without_credentials(
    tmp_path: Path, tenant_shell: Callable[[str], TenantShell]
) -> None:
    shell = tenant_shell("signers")
    cli = shell.cli
    assert cli("mb", "lv://signers-data")[0] == 0

    code, out, err = cli(
        "presign",
        "put",
        "s3://signers-data/in/report.txt",
        "--expires",
        "1h",
        "--content-type",
        "text/plain",
        "--max-size",
        "1KiB",
        "--single-use",
    )
    assert code == 0, err
    url = out.strip()
    assert "X-Amz-Signature=" in url and "single use" in err and "text/plain" in err
    with httpx.Client(timeout=30) as client:
        wrong = client.put(url, content=b"hello", headers={"Content-Type": "text/html"})
        assert wrong.status_code == 403
        # The refused request consumed the single-use URL: a new one is needed.
        code, out, err = cli(
            "presign",
            "put",
            "s3://signers-data/in/report.txt",
            "--content-type",
            "text/plain",
            "--max-size",
            "1KiB",
        )
        url = out.strip()
        too_big = client.put(url, content=b"x" * 1025, headers={"Content-Type": "text/plain"})
        assert too_big.status_code == 413
        ok = client.put(url, content=b"hello", headers={"Content-Type": "text/plain"})
        assert ok.status_code == 200, ok.text
        code, out, err = cli("presign", "get", "s3://signers-data/in/report.txt", "--expires", "5m")
        assert code == 0, err
        got = client.get(out.strip())
        assert got.status_code == 200 and got.content == b"hello"

    code, _, err = cli("presign", "get", "s3://signers-data/in/report.txt", "--expires", "8d")
    assert code == 1 and "InvalidArgument" in err

    code, out, err = cli("bucket-limits", "set", "s3://signers-data", "--max-object-size", "4")
    assert code == 0, err
    assert "4 bytes (bucket setting)" in out
    big = tmp_path / "five.txt"
    big.write_bytes(b"12345")
    code, _, err = cli("cp", str(big), "lv://signers-data/five.txt", "-q")
    assert code == 1 and "EntityTooLarge" in err
    code, out, err = cli("bucket-limits", "get", "s3://signers-data")
    assert "(bucket setting)" in out
    assert cli("bucket-limits", "set", "s3://signers-data", "--clear")[0] == 0
    code, out, _ = cli("bucket-limits", "get", "s3://signers-data")
    assert "(platform default)" in out
    assert cli("cp", str(big), "lv://signers-data/five.txt", "-q")[0] == 0
