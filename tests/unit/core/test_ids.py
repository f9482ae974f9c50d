from __future__ import annotations

import os
import re

import pytest

from lakevault.core import (
    PLATFORM_ACCOUNT_ID,
    SystemRandom,
    new_account_id,
    new_entity_id,
    new_request_id,
    parse_account_id,
)
from lakevault.core.errors import InvalidParameterValue
from tests.unit.core.threads import taken_by_threads


class CountingRandom:
    """Deterministic bytes: proves ids come from the injected source, not os.urandom."""

    def __init__(self) -> None:
        self.counter = 0

    def token_bytes(self, length: int) -> bytes:
        self.counter += 1
        return bytes([self.counter % 256]) * length


def test_request_id_has_the_uuid4_shape() -> None:
    request_id = new_request_id(SystemRandom())
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", request_id
    )


def test_request_ids_are_unique_across_blocks_and_threads() -> None:
    # ADR 0246: request ids are also audit event ids (unique in the log); no two may ever be
    # equal, also when many threads take them at once.
    every = taken_by_threads(lambda: new_request_id(SystemRandom()), threads=8, each=2000)
    assert len(set(every)) == len(every) == 8 * 2000


def test_a_forked_child_never_repeats_its_parent_s_request_ids() -> None:
    # ADR 0246: any buffering of random bytes in the process (which a child would inherit)
    # must keep the ids of a parent and its forked child (HTTP workers) apart.
    new_request_id(SystemRandom())
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its next ids and leave at once
        try:
            os.write(writer, " ".join(new_request_id(SystemRandom()) for _ in range(20)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    os.waitpid(pid, 0)
    with os.fdopen(reader, "rb") as pipe:
        child = set(pipe.read().decode().split())
    parent = {new_request_id(SystemRandom()) for _ in range(20)}
    assert len(child) == 20
    assert not child & parent


def test_request_ids_do_not_follow_from_one_another() -> None:
    # Random, not a counter: consecutive ids share no more than chance (no leaked counts).
    first, second = (bytes.fromhex(new_request_id(SystemRandom()).replace("-", "")) for _ in "ab")
    differing = bin(int.from_bytes(first, "big") ^ int.from_bytes(second, "big")).count("1")
    assert differing > 20  # of 122 random bits about 61 differ; 20 or fewer: p < 1e-10


def test_ids_come_from_the_injected_random_source() -> None:
    assert new_request_id(CountingRandom()) == new_request_id(CountingRandom())
    assert new_entity_id("LVUS", CountingRandom()) == new_entity_id("LVUS", CountingRandom())


def test_entity_id_is_prefix_and_sixteen_base32_characters() -> None:
    assert re.fullmatch(r"LVUS[A-Z2-7]{16}", new_entity_id("LVUS", SystemRandom()))


def test_entity_id_prefix_must_be_four_capitals() -> None:
    with pytest.raises(InvalidParameterValue, match="four capital letters"):
        new_entity_id("user", SystemRandom())


def test_account_id_is_twelve_digits_and_never_the_platform_account() -> None:
    class ZeroRandom:
        calls = 0

        def token_bytes(self, length: int) -> bytes:
            self.calls += 1
            return bytes(length) if self.calls == 1 else b"\x01" * length

    account = new_account_id(ZeroRandom())
    assert re.fullmatch(r"[0-9]{12}", account)
    assert account != PLATFORM_ACCOUNT_ID


@pytest.mark.parametrize("bad", ["12345678901", "1234567890123", "12345678901a", ""])
def test_parse_account_id_refuses_anything_but_twelve_digits(bad: str) -> None:
    with pytest.raises(InvalidParameterValue, match="exactly 12 digits"):
        parse_account_id(bad)
