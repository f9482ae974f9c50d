"""The download pump gathers the object format's 32 KiB writes into 1 MiB pieces (ADR 0136).

Each queued piece costs a thread hop and an ASGI send, so the pump, not the object format,
decides the piece size. What it gathers is sent only when the producer goes on or ends
normally: a producer that fails sends nothing of what it had not yet handed over.
"""

from __future__ import annotations

import anyio
import pytest

from lakevault.api._streaming import DOWNLOAD_PIECE_BYTES, DownloadPump

WRITE = 32 * 1024


async def _drain(pump: DownloadPump) -> list[bytes]:
    first = await pump.first()
    return [piece async for piece in pump.rest(first)]


def _payload(length: int) -> bytes:
    return bytes(index % 251 for index in range(length))


def _pieces_of(payload: bytes, write: int) -> list[bytes]:
    def produce(writer: DownloadPump) -> None:
        view = memoryview(payload)
        for start in range(0, len(payload), write):
            assert writer.write(view[start : start + write]) == len(view[start : start + write])

    return anyio.run(_drain, DownloadPump(produce))


def test_small_writes_are_sent_in_pieces_of_one_mib_and_the_rest_at_the_end() -> None:
    payload = _payload(3 * DOWNLOAD_PIECE_BYTES + 5 * WRITE + 7)
    pieces = _pieces_of(payload, WRITE)
    assert [len(piece) for piece in pieces] == [DOWNLOAD_PIECE_BYTES] * 3 + [5 * WRITE + 7]
    assert b"".join(pieces) == payload


def test_a_write_of_a_whole_piece_or_more_is_sent_as_it_is() -> None:
    payload = _payload(2 * DOWNLOAD_PIECE_BYTES + 3 * WRITE)
    pieces = _pieces_of(payload, 2 * DOWNLOAD_PIECE_BYTES + 3 * WRITE)
    assert [len(piece) for piece in pieces] == [len(payload)]
    assert pieces[0] == payload


def test_an_empty_body_sends_no_piece() -> None:
    assert _pieces_of(b"", WRITE) == []


def test_a_producer_failure_drops_what_was_gathered_and_reaches_the_consumer() -> None:
    """An integrity failure after 1.5 MiB: the consumer gets the first whole piece, then the
    error; the half piece gathered before the failure is never sent."""
    sent: list[bytes] = []

    def produce(writer: DownloadPump) -> None:
        for _ in range(3 * DOWNLOAD_PIECE_BYTES // (2 * WRITE)):
            writer.write(memoryview(bytes(WRITE)))
        raise OSError("the third block did not verify")

    async def drain() -> None:
        pump = DownloadPump(produce)
        first = await pump.first()
        async for piece in pump.rest(first):
            sent.append(piece)

    with pytest.raises(OSError, match="did not verify"):
        anyio.run(drain)
    assert [len(piece) for piece in sent] == [DOWNLOAD_PIECE_BYTES]


def test_a_failure_before_the_first_piece_sends_nothing() -> None:
    def produce(writer: DownloadPump) -> None:
        writer.write(memoryview(bytes(WRITE)))
        raise OSError("the first block did not verify")

    async def first() -> bytes | None:
        return await DownloadPump(produce).first()

    with pytest.raises(OSError, match="first block"):
        anyio.run(first)
