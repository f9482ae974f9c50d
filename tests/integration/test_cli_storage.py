"""``lakevault mb/cp/ls/rm/rb/sync`` against a real server, with files of real size."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import TenantShell


def test_a_tenant_copies_files_in_and_out_from_the_command_line(
    tmp_path: Path, tenant_shell: Callable[[str], TenantShell]
) -> None:
    shell = tenant_shell("movers")
    cli = shell.cli

    assert cli("mb", "lv://movers-data")[0] == 0
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024 + 7))
    code, out, err = cli("cp", str(big), "lv://movers-data/in/")
    assert code == 0, err
    assert "upload:" in out and "big.bin" in out
    assert "MB" in err or "MiB" in err or "%" in err or "━" in err  # the progress bar
    code, out, err = cli("ls", "lv://movers-data/")
    assert code == 0, err
    assert "in/" in out
    code, out, err = cli("ls", "lv://movers-data/in/")
    assert "big.bin" in out and str(big.stat().st_size) in out
    back = tmp_path / "back.bin"
    code, out, err = cli("cp", "lv://movers-data/in/big.bin", str(back))
    assert code == 0, err
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    assert not list(tmp_path.glob(".*partial"))

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("b")
    code, out, err = cli("sync", str(tree), "lv://movers-data/tree", "-q")
    assert code == 0, err
    assert "2 uploaded" in out
    code, out, err = cli("sync", str(tree), "lv://movers-data/tree", "-q")
    assert "0 uploaded, 2 unchanged" in out

    code, _, err = cli("cp", "lv://movers-data/missing", str(tmp_path / "x"))
    assert code == 1 and "NoSuchKey" in err
    assert not (tmp_path / "x").exists()
    code, _, err = cli("rb", "lv://movers-data")
    assert code == 1 and "BucketNotEmpty" in err
    assert cli("rm", "-r", "lv://movers-data/")[0] == 0
    assert cli("rb", "lv://movers-data")[0] == 0
    code, out, _ = cli("ls")
    assert "movers-data" not in out
