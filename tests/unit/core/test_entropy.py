"""The pooled CSPRNG (ADR 0265): every byte the kernel's, each handed out once, never shared
with a forked child, never kept after it was handed out."""

from __future__ import annotations

import os

import pytest

from lakevault.core import _entropy
from lakevault.core._entropy import LARGEST_POOLED, PAGE, EntropyPool
from tests.unit.core.threads import taken_by_threads


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the pool's draws from the kernel (the real ``os.urandom`` still answers)."""
    seen: list[int] = []
    real = os.urandom

    def counting(length: int) -> bytes:
        seen.append(length)
        return real(length)

    monkeypatch.setattr(_entropy.os, "urandom", counting)
    return seen


def test_small_requests_share_one_draw_of_a_page(draws: list[int]) -> None:
    pool = EntropyPool()
    pieces = [pool.take(16) for _ in range(PAGE // 16)]
    assert draws == [PAGE]
    assert all(len(piece) == 16 for piece in pieces)
    assert len(set(pieces)) == len(pieces)
    pool.take(1)  # the page is used up: the next request draws a new one
    assert draws == [PAGE, PAGE]


def test_a_request_that_does_not_fit_the_rest_of_the_page_takes_a_new_page(
    draws: list[int],
) -> None:
    pool = EntropyPool()
    for _ in range(PAGE // 200):  # 4,000 of the page's 4,096 bytes
        pool.take(200)
    piece = pool.take(200)
    assert len(piece) == 200
    assert draws == [PAGE, PAGE]


def test_large_requests_bypass_the_pool(draws: list[int]) -> None:
    pool = EntropyPool()
    assert len(pool.take(LARGEST_POOLED)) == LARGEST_POOLED
    assert len(pool.take(LARGEST_POOLED + 1)) == LARGEST_POOLED + 1
    assert draws == [PAGE, LARGEST_POOLED + 1]


def test_zero_bytes_is_empty_and_a_negative_length_is_refused() -> None:
    pool = EntropyPool()
    assert pool.take(0) == b""
    with pytest.raises(ValueError, match="must not be negative"):
        pool.take(-1)


def test_the_pool_keeps_no_copy_of_what_it_handed_out() -> None:
    # A memory dump of the process after a data key was generated must not find the key in
    # the pool: the piece is zeroed there as it is handed out.
    pool = EntropyPool()
    key = pool.take(32)
    nonce = pool.take(12)
    page = bytes(pool._page)
    assert key not in page
    assert nonce not in page
    assert page[: 32 + 12] == bytes(32 + 12)
    assert page[44:] != bytes(PAGE - 44)  # the rest is still there to hand out


def test_pieces_taken_by_many_threads_at_once_never_repeat() -> None:
    pool = EntropyPool()
    every = taken_by_threads(lambda: pool.take(16), threads=8, each=3000)
    assert len(set(every)) == len(every) == 8 * 3000


def test_a_forked_child_never_hands_out_its_parent_s_next_bytes() -> None:
    # Without the fork hook both would cut their next pieces from the same inherited page.
    pool = EntropyPool()
    pool.take(16)  # a page is drawn and partly used before the fork
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its next pieces and leave at once
        try:
            os.write(writer, b"".join(pool.take(16) for _ in range(64)))
        finally:
            os._exit(0)
    os.close(writer)
    os.waitpid(pid, 0)
    with os.fdopen(reader, "rb") as pipe:
        child = pipe.read()
    parent = b"".join(pool.take(16) for _ in range(64))
    assert len(child) == len(parent) == 64 * 16
    child_pieces = {child[i : i + 16] for i in range(0, len(child), 16)}
    parent_pieces = {parent[i : i + 16] for i in range(0, len(parent), 16)}
    assert not child_pieces & parent_pieces
