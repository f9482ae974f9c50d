"""Streaming designs measured for issue #5 and not built: ``python -m bench stream_designs``.

ADR 0263. ``python -m bench crypto`` judges the product's streams; this bench keeps the
evidence for two designs that were tried against them and did not pay, so that anyone can
re-run the comparison instead of trusting a table:

* **relay**: two workers that each read, seal and write *whole blocks*, taking turns by block
  (a read turn and a write turn passed between them), so that a block never moves between
  cores. It tested session 7's explanation of ADR 0138's cipher thread's extra CPU (a block
  read on one core, sealed on another and written from the first). Since ADR 0270 the
  product's own overlap is a write-behind thread (the caller reads and ciphers, a helper
  writes), which moves only the output across cores.
* **mmap**: sealing straight into a shared mapping of the output file (no ``write`` copy),
  and opening straight from a mapping of the input file (no ``read`` copy), with
  ``MAP_POPULATE``.

Every round runs, in a rotated order, the plain copy (``readinto``/``write`` at 32 KiB, the
anchor that ``bench crypto`` found fastest), the product's streams with the write-behind
thread off and on, and the two prototypes. Each prints GB/s and CPU seconds per GiB (user +
system, all threads) per round: the CPU figure is what decides a design on a shared machine.
"""

from __future__ import annotations

import argparse
import mmap
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.crypto import MIB, _make_source, _plain_copy, _time
from lakevault import kms
from lakevault.core import SystemRandom
from lakevault.kms._chunk_stream import (
    BLOCK_CHUNKS,
    open_stream,
    read_full,
    seal_stream,
    write_pieces,
)
from lakevault.kms._object_format import OBJECT_SUITE, PREFIX_BYTES
from lakevault.kms._primitives import (
    CHUNK_CIPHERTEXT_BYTES,
    CHUNK_PLAINTEXT_BYTES,
    ChunkCipher,
    begin_decryption,
    begin_encryption,
    encrypted_length,
)

_CONTEXT = b"bench stream designs"
_SEAL_PIECE = 8 * CHUNK_CIPHERTEXT_BYTES  # the product's sealed write size (ADR 0136)


def _relay_seal(cipher: ChunkCipher, source: Path, target: Path, prefix: bytes) -> None:
    """Two workers; each reads, seals and writes its own blocks, in block order by turns."""
    block_bytes = BLOCK_CHUNKS * CHUNK_PLAINTEXT_BYTES
    read_turns = (threading.Semaphore(1), threading.Semaphore(0))
    write_turns = (threading.Semaphore(1), threading.Semaphore(0))
    state: dict[str, object] = {"next_index": 0, "done": False, "error": None}

    with source.open("rb", buffering=0) as reader, target.open("xb", buffering=0) as writer:
        writer.write(prefix)

        def work(me: int) -> None:
            other = 1 - me
            block = memoryview(bytearray(block_bytes))
            out = memoryview(bytearray(BLOCK_CHUNKS * CHUNK_CIPHERTEXT_BYTES))
            while True:
                read_turns[me].acquire()
                if state["done"] or state["error"]:
                    read_turns[other].release()
                    write_turns[other].release()
                    return
                length = read_full(reader, block)
                index = state["next_index"]
                assert isinstance(index, int)
                state["next_index"] = index + BLOCK_CHUNKS
                final = length < block_bytes
                state["done"] = final
                read_turns[other].release()
                try:
                    sealed = cipher.seal_chunks(index, block[:length], out, is_final=final)
                except BaseException as exc:  # noqa: BLE001 - raised again by the caller
                    state["error"] = exc
                write_turns[me].acquire()
                if state["error"] is None:
                    write_pieces(writer, out[:sealed], _SEAL_PIECE)
                write_turns[other].release()
                if final or state["error"]:
                    read_turns[other].release()
                    return

        helper = threading.Thread(target=work, args=(1,))
        helper.start()
        try:
            work(0)
        finally:
            helper.join()
    if isinstance(state["error"], BaseException):
        raise state["error"]


def _mmap_seal(cipher: ChunkCipher, source: Path, target: Path, prefix: bytes, size: int) -> None:
    """Seal each block read from ``source`` straight into a populated mapping of ``target``."""
    total = len(prefix) + encrypted_length(size)
    block = memoryview(bytearray(BLOCK_CHUNKS * CHUNK_PLAINTEXT_BYTES))
    with source.open("rb", buffering=0) as reader, target.open("x+b", buffering=0) as writer:
        os.ftruncate(writer.fileno(), total)
        flags = mmap.MAP_SHARED | mmap.MAP_POPULATE
        with mmap.mmap(writer.fileno(), total, flags=flags) as mapping:
            out = memoryview(mapping)
            out[: len(prefix)] = prefix
            offset, index = len(prefix), 0
            while True:
                length = read_full(reader, block)
                final = length < len(block)
                end = offset + BLOCK_CHUNKS * CHUNK_CIPHERTEXT_BYTES
                offset += cipher.seal_chunks(index, block[:length], out[offset:end], is_final=final)
                index += BLOCK_CHUNKS
                if final:
                    break
            out.release()


def _mmap_open(key: kms.PlaintextDataKey, source: Path, target: Path) -> None:
    """Open each block straight from a populated mapping of ``source``; write 32 KiB pieces."""
    block_bytes = BLOCK_CHUNKS * CHUNK_CIPHERTEXT_BYTES
    plain = memoryview(bytearray(BLOCK_CHUNKS * CHUNK_PLAINTEXT_BYTES))
    with source.open("rb", buffering=0) as reader, target.open("xb", buffering=0) as writer:
        total = os.fstat(reader.fileno()).st_size
        flags = mmap.MAP_SHARED | mmap.MAP_POPULATE
        with mmap.mmap(reader.fileno(), total, flags=flags, prot=mmap.PROT_READ) as mapping:
            stored = memoryview(mapping)
            cipher = begin_decryption(
                OBJECT_SUITE, key, prefix=bytes(stored[:PREFIX_BYTES]), context=_CONTEXT
            )
            offset, index = PREFIX_BYTES, 0
            while True:
                length = min(block_bytes, total - offset)
                final = length < block_bytes
                opened = cipher.open_chunks(
                    index, stored[offset : offset + length], plain, is_final=final
                )
                write_pieces(writer, plain[:opened], 2 * CHUNK_PLAINTEXT_BYTES)
                offset += length
                index += BLOCK_CHUNKS
                if final:
                    break
            stored.release()


def _product_seal(
    cipher: ChunkCipher, source: Path, target: Path, prefix: bytes, overlap: bool
) -> None:
    with source.open("rb", buffering=0) as reader, target.open("xb", buffering=0) as writer:
        seal_stream(cipher, reader, writer, prefix=prefix, overlap=overlap)


def _product_open(key: kms.PlaintextDataKey, source: Path, target: Path, overlap: bool) -> None:
    with source.open("rb", buffering=0) as reader, target.open("xb", buffering=0) as writer:
        prefix = reader.read(PREFIX_BYTES)
        cipher = begin_decryption(OBJECT_SUITE, key, prefix=prefix, context=_CONTEXT)
        open_stream(cipher, reader, writer, consumed_bytes=PREFIX_BYTES, overlap=overlap)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench stream_designs", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle-seconds", type=float, default=1.5)
    options = parser.parse_args(argv)
    size = options.size_mib * MIB
    directory = Path(tempfile.mkdtemp(prefix="lakevault-designs-"))
    try:
        source, sealed, out = directory / "source", directory / "sealed", directory / "out"
        _make_source(source, size)
        key = kms.PlaintextDataKey.generate(SystemRandom())

        def seal_with(run: Callable[[ChunkCipher, bytes], None]) -> Callable[[], None]:
            def operation() -> None:
                prefix, cipher = begin_encryption(
                    OBJECT_SUITE, key, context=_CONTEXT, random=SystemRandom()
                )
                run(cipher, prefix)

            return operation

        operations: dict[str, Callable[[], None]] = {
            "plain copy, readinto/write 32 KiB (anchor)": lambda: _plain_copy(
                source, out, 32 * 1024
            ),
            "seal, product, one thread": seal_with(
                lambda c, p: _product_seal(c, source, out, p, overlap=False)
            ),
            "seal, product, write-behind": seal_with(
                lambda c, p: _product_seal(c, source, out, p, overlap=True)
            ),
            "seal, relay of two workers": seal_with(lambda c, p: _relay_seal(c, source, out, p)),
            "seal, into mmap of the output": seal_with(
                lambda c, p: _mmap_seal(c, source, out, p, size)
            ),
            "open, product, one thread": lambda: _product_open(key, sealed, out, overlap=False),
            "open, product, write-behind": lambda: _product_open(key, sealed, out, overlap=True),
            "open, from mmap of the input": lambda: _mmap_open(key, sealed, out),
        }
        seal_with(lambda c, p: _product_seal(c, source, sealed, p, overlap=False))()
        names = list(operations)
        figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
        print(
            f"streaming designs, {size // MIB} MiB, {options.rounds} rounds, "
            f"load average {os.getloadavg()[0]:.1f} at start (ADR 0263)"
        )
        for round_number in range(options.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                out.unlink(missing_ok=True)
                os.sync()
                time.sleep(options.settle_seconds)
                figures[name].append(_time(operations[name], size))
        for name in names:
            runs = figures[name]
            rates = " ".join(f"{rate / 1e9:.2f}" for rate, _, _ in runs)
            cpu = " ".join(f"{total:.2f} ({system:.2f})" for _, total, system in runs)
            print(f"  {name:44} GB/s {rates:16} CPU s/GiB (kernel) {cpu}")
        print(f"load average {os.getloadavg()[0]:.1f} at end")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0
