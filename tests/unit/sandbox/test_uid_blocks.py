"""Sandbox uid blocks are claimed, never shared (ADR 0269).

Two supervisors alive at once — the default server's two HTTP processes, or two installations
on one host — must never run sandboxes under the same host uid. The old derivation
(``pid % 10,000``) gave two processes with congruent pids the same block; the claim gives the
second one the next free block, whatever the pids.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lakevault.sandbox import LayerReport, Supervisor, SupervisorSettings
from lakevault.sandbox._errors import SandboxUnavailable
from lakevault.sandbox._uid_blocks import BLOCK_UIDS, SLOT_UID_BASE, claim_uid_block
from tests.unit.sandbox.conftest import WriteFunction, require_layers


def test_two_claims_with_the_same_preference_get_different_blocks(tmp_path: Path) -> None:
    first = claim_uid_block(tmp_path / "uids", preferred=42)
    second = claim_uid_block(tmp_path / "uids", preferred=42)  # a congruent pid
    try:
        assert first.base == SLOT_UID_BASE + 42 * BLOCK_UIDS
        assert second.base == first.base + BLOCK_UIDS
    finally:
        first.release()
        second.release()


def test_a_released_block_is_claimed_again(tmp_path: Path) -> None:
    first = claim_uid_block(tmp_path / "uids", preferred=7)
    first.release()
    first.release()  # idempotent
    again = claim_uid_block(tmp_path / "uids", preferred=7)
    try:
        assert again.base == first.base
    finally:
        again.release()


_HOLD = """
import sys, time
from pathlib import Path
from lakevault.sandbox._uid_blocks import claim_uid_block
block = claim_uid_block(Path(sys.argv[1]), preferred=int(sys.argv[2]))
print(block.index, flush=True)
time.sleep(600)
"""


def test_a_block_is_held_by_another_process_until_it_dies(tmp_path: Path) -> None:
    directory = tmp_path / "uids"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(directory), "9999"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "9999"
        mine = claim_uid_block(directory, preferred=9999)
        assert mine.index == 0  # the next free block, wrapping around
        mine.release()
    finally:
        holder.kill()  # as by kill -9: the kernel drops the lock
        holder.wait()
    after = claim_uid_block(directory, preferred=9999)
    try:
        assert after.index == 9999
    finally:
        after.release()


def test_a_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "uids"
    directory.mkdir()
    directory.chmod(0o777)
    with pytest.raises(SandboxUnavailable) as refused:
        claim_uid_block(directory)
    assert "writable only by it" in str(refused.value)


def test_a_planted_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    (tmp_path / "uids").symlink_to(target)
    with pytest.raises(SandboxUnavailable):
        claim_uid_block(tmp_path / "uids")


def test_two_running_supervisors_run_sandboxes_under_different_uids(
    layer_report: LayerReport, write_function: WriteFunction
) -> None:
    """Two real supervisors in one process (one pid: the old derivation gave both the same
    block) give their sandboxes different host uids, and both run; closing gives the blocks
    back. (Inside its user namespace a sandbox sees itself as 65534, so the host uid is read
    from the supervisor's spawn request, ``_slot_uid``.)"""
    require_layers(layer_report)
    code = write_function(
        """
        def handler(event, context):
            return "ran"
        """
    )
    first = Supervisor(SupervisorSettings(zygotes=1))
    second = Supervisor(SupervisorSettings(zygotes=1))
    first.start(layer_report)
    try:
        second.start(layer_report)
        try:
            uids = [first._slot_uid(0), second._slot_uid(0)]
            assert [first.invoke(code, {}).result, second.invoke(code, {}).result] == ["ran"] * 2
        finally:
            second.close()
    finally:
        first.close()
    assert uids[0] != uids[1], uids
    assert all(uid >= SLOT_UID_BASE for uid in uids), uids
    assert first._uid_block is None and second._uid_block is None  # both given back
