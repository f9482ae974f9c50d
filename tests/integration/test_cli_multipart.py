"""``lakevault cp`` of a file larger than its part size goes up in parts; ``lakevault uploads``
lists and aborts uploads in progress — against a real server."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.integration.conftest import TenantShell


def test_cp_uploads_a_large_file_in_parts_and_uploads_abort_removes_one(
    tmp_path: Path, tenant_shell: Callable[[str], TenantShell]
) -> None:
    shell = tenant_shell("parts")
    cli, server = shell.cli, shell.server
    assert cli("mb", "lv://parts-data")[0] == 0

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * 1024 * 1024 + 3))
    code, out, err = cli("cp", "--part-size", "5", str(big), "lv://parts-data/in/")
    assert code == 0, err
    assert "upload:" in out and str(big.stat().st_size) in out
    code, out, err = cli("ls", "lv://parts-data/in/")
    assert "big.bin" in out
    back = tmp_path / "back.bin"
    code, out, err = cli("cp", "lv://parts-data/in/big.bin", str(back))
    assert code == 0, err
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    code, out, err = cli("cp", "--part-size", "1", str(big), "lv://parts-data/x")
    assert code == 1 and "--part-size" in err

    # An upload left behind by a client is listed and aborted from the command line.
    token = httpx.post(
        f"{server.url}/api/v1/sessions",
        json={
            "accountId": shell.account_id,
            "userName": "admin",
            "password": shell.admin_password,
        },
    ).json()["accessToken"]
    upload = httpx.post(
        f"{server.url}/api/v1/buckets/parts-data/uploads",
        json={"key": "left/behind"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    code, out, err = cli("uploads", "ls", "lv://parts-data")
    assert code == 0, err
    assert upload["uploadId"][:12] in out and "left/behind" in out
    code, out, err = cli("rb", "lv://parts-data")
    assert code == 1 and "BucketNotEmpty" in err
    code, out, err = cli("uploads", "abort", "lv://parts-data", upload["uploadId"])
    assert code == 0, err
    code, out, err = cli("uploads", "ls", "lv://parts-data")
    assert "left/behind" not in out
    code, out, err = cli("uploads", "abort", "lv://parts-data", upload["uploadId"])
    assert code == 1 and "NoSuchUpload" in err
