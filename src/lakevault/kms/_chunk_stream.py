"""Moving chunked ciphertext between streams: constant memory, reused buffers.

This is the framing half of C2SP chunked encryption: which bytes form which chunk, which chunk is
final, and what a wrong length means. The cryptographic half (keys, nonces, AEAD calls) is
:class:`~lakevault.kms._primitives.ChunkCipher`, which this module drives by chunk index only.

Throughput (docs/decisions/0136, 0270, 0275). The caller's thread reads one block (2 MiB of
plaintext, :data:`BLOCK_CHUNKS` chunks) at a time and seals or opens it; each block's output
is written in pieces that end where the output stream reaches a multiple of
:data:`WRITE_PIECE_BYTES` (128 KiB). A stream longer than one block may hand the writes to one
helper thread (:class:`_WriteBehind`), one block behind: by default only when the CPUs are not
contended (:func:`overlap_pays`: PSI, else the load average), because the helper gains only
where it finds a free core. These are measured choices:

- The reads and the cipher in the caller's thread, the writes on the helper (ADR 0270).
  pyca/cryptography 50 releases the GIL inside ``encrypt_into``/``decrypt_into``, and
  ``write`` releases it in its system call, so block n is written on the second core while
  the caller reads and ciphers block n+1. Only the output crosses cores, once per block.
  ``reader`` stays in the caller's thread (the API's request body can only be read from the
  thread anyio gave it); ``writer`` is called from one thread at a time, in order: the
  helper's while it runs.
- Few hand-offs (ADR 0275). Every block handed to the helper, and every ``write`` it makes,
  is a point where one thread may wake the other or wait for the GIL: with 512 KiB blocks and
  32 KiB writes (64 of those per MiB) the helper cost more than it saved, and opening was no
  faster than in one thread. With 2 MiB blocks and 128 KiB writes decryption reached 0.8 x
  the fastest plain copy in 6 of 9 bench runs instead of 1 of 4, and encryption in 8 of 9
  (docs/performance.md, "Session 13").
- Aligned, middle-sized writes (ADRs 0136, 0275). On the Firecracker VMs measured (Linux 6.18,
  ext4 with large folios) the page cache fills a write with folios as large as the write and
  its alignment allow, and large folios cost several times the kernel time to fill (1 MiB
  writes: 0.8-3 s/GiB against 0.31-0.38 for 128 KiB, the fastest plain copy). Writes end at
  128 KiB multiples of the output stream, so sealed output (which starts after the header and
  whose chunks are 16,400 bytes) gets the same 128 KiB folios as plaintext, and a later read
  of it the same cost as reading a plain file.

Memory is one input and one output block in one thread (about 4 MiB), one input and two
output blocks with the helper (about 6 MiB), plus one probe chunk, whatever the object size.
An object that fits in one block is done in the caller's thread with buffers of its own size,
and starts no thread.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakevault.core.errors import InvalidParameterValue
from lakevault.kms._errors import IntegrityError, IntegrityFailure, InvalidRange
from lakevault.kms._primitives import (
    CHUNK_CIPHERTEXT_BYTES,
    CHUNK_PLAINTEXT_BYTES,
    TAG_BYTES,
    ChunkCipher,
    encrypted_length,
    plaintext_length,
)
from lakevault.kms._types import RangeReadable, Readable, Writable

#: Chunks per read and per hand-off to the write-behind helper: 2 MiB of plaintext. Fewer,
#: larger hand-offs are what made the helper pay (docs/decisions/0275); the memory stays a
#: few MiB per stream.
BLOCK_CHUNKS = 128
#: Largest ``write``: each ends where the output stream reaches a multiple of this, so that
#: sealed and opened output alike fill 128 KiB page-cache folios, as the fastest plain copy
#: does (docs/decisions/0136, 0275).
WRITE_PIECE_BYTES = 128 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamTotals:
    """How many bytes one streaming call moved.

    ``ciphertext_bytes`` counts every stored byte: object header, salt, commitment and chunks.
    """

    plaintext_bytes: int
    ciphertext_bytes: int


def read_full(reader: Readable, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``reader``; return the count, short only at the end of the stream.

    Raises ``InvalidParameterValue`` when ``readinto`` returns ``None`` (a non-blocking stream
    with no data): treating that as the end would silently truncate an object.
    """
    filled = 0
    size = len(buffer)
    while filled < size:
        count = reader.readinto(buffer[filled:])
        if count is None:
            raise InvalidParameterValue(
                "the reader returned None (non-blocking stream with no data); "
                "pass a blocking binary stream"
            )
        if count == 0:
            break
        filled += count
    return filled


def write_all(writer: Writable, data: memoryview) -> None:
    """Write all of ``data``, retrying the rest when ``write`` reports a short count."""
    while len(data):
        count = writer.write(data)
        if count is None or count >= len(data):
            return
        data = data[count:]


def write_pieces(writer: Writable, data: memoryview, piece_bytes: int, position: int = 0) -> int:
    """Write ``data`` in calls that end where the output stream reaches a multiple of
    ``piece_bytes`` (docs/decisions/0136, 0275); return the stream position after it.

    ``position`` is where ``data`` starts in the output stream. Aligned pieces give every write
    the same page-cache folios a plain copy of that size gets, whatever the header's length.
    """
    start, end = 0, len(data)
    while start < end:
        stop = min(end, start + piece_bytes - (position + start) % piece_bytes)
        write_all(writer, data[start:stop])
        start = stop
    return position + end


_BlockOperation = Callable[[int, memoryview, memoryview, bool], int]


class _WriteBehind:
    """One helper thread that writes finished blocks, in order, for :func:`_overlapped`.

    The caller's thread reads block n+1 and seals or opens it while this thread writes block
    n's output (docs/decisions/0270). pyca/cryptography 50 releases the GIL inside
    ``encrypt_into``/``decrypt_into`` and ``write`` releases it in its system call, so the
    two run on two cores. A block's output stays with the thread that wrote it into the cache
    only until its ``write`` copies it: the output crosses cores once, where ADR 0138's cipher
    thread moved both the input and the output across.

    ``outputs`` are the output buffers. :meth:`acquire` hands the caller one the helper is not
    using; :meth:`submit` gives it back with the length to write. The helper writes submitted
    buffers in order and returns each to the free queue when written. A ``write`` that raises
    is recorded, every later job is skipped, and :meth:`acquire` or :meth:`raise_failure`
    raises the same exception object in the caller's thread. ``writer`` is called from this
    thread only, one call at a time, in stream order.
    """

    __slots__ = (
        "_failure",
        "_free",
        "_jobs",
        "_outputs",
        "_piece_bytes",
        "_position",
        "_thread",
        "_writer",
    )

    def __init__(
        self, writer: Writable, outputs: tuple[memoryview, ...], piece_bytes: int, position: int
    ) -> None:
        self._writer = writer
        self._outputs = outputs
        self._piece_bytes = piece_bytes
        self._position = position
        self._failure: BaseException | None = None
        self._jobs: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(len(outputs)):
            self._free.put(index)
        self._thread = threading.Thread(target=self._run, name="lakevault-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            index, length = job
            if self._failure is None:
                try:
                    self._position = write_pieces(
                        self._writer,
                        self._outputs[index][:length],
                        self._piece_bytes,
                        self._position,
                    )
                except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
                    self._failure = exc
            self._free.put(index)

    def acquire(self) -> int:
        """The index of an output buffer the helper is done with; waits for one. Raises the
        writer's exception if a ``write`` failed, so the caller stops reading at once."""
        index = self._free.get()
        self.raise_failure()
        return index

    def submit(self, index: int, length: int) -> None:
        """Write ``outputs[index][:length]`` after every buffer submitted before it; the caller
        must not touch that buffer until :meth:`acquire` returns it."""
        self._jobs.put((index, length))

    def close(self) -> None:
        """Write what was submitted, end the thread and wait for it; idempotent. Waits for at
        most the submitted buffers (two blocks), which the one-thread stream would have
        written by now as well."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()

    def raise_failure(self) -> None:
        """Raise the exception a ``write`` raised, if one did."""
        if self._failure is not None:
            raise self._failure


#: Where Linux publishes CPU pressure (PSI): the share of recent time in which at least one
#: runnable task waited for a CPU.
CPU_PRESSURE_PATH = Path("/proc/pressure/cpu")
#: At or above this ``some avg10`` (per cent of the last 10 s with a task waiting for a CPU)
#: the machine counts as contended, and the streams run in one thread (docs/decisions/0270).
CONTENDED_PERCENT = 10.0


def idle_core(load_average: float, cpus: int) -> bool:
    """Whether the last minute left at least one CPU idle on average: the fallback condition
    where PSI is missing (docs/decisions/0139). Pure, so that it can be tested."""
    return cpus > 1 and load_average <= cpus - 1


def cpu_pressure(text: str) -> float | None:
    """The ``some avg10`` figure of a ``/proc/pressure/cpu`` text; None when it has none."""
    for line in text.splitlines():
        kind, _, fields = line.partition(" ")
        if kind != "some":
            continue
        for field in fields.split():
            name, _, value = field.partition("=")
            if name == "avg10":
                try:
                    return float(value)
                except ValueError:
                    return None
    return None


def uncontended(some_avg10: float, cpus: int) -> bool:
    """Whether a second thread would find a CPU: more than one CPU, and tasks waited for one
    less than :data:`CONTENDED_PERCENT` of the last 10 s. Pure, so that it can be tested.

    Unlike the load average this counts neither tasks waiting for the disk (a machine busy
    writing has idle CPUs) nor the stream's own threads while they get a CPU each."""
    return cpus > 1 and some_avg10 < CONTENDED_PERCENT


def overlap_pays() -> bool:
    """Whether a long stream should write behind on a helper thread, on this machine now:
    :func:`uncontended` by PSI, or :func:`idle_core` by the load average where the kernel has
    no PSI; False where neither is known."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        pressure = cpu_pressure(CPU_PRESSURE_PATH.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError):
        pressure = None
    if pressure is not None:
        return uncontended(pressure, cpus or 1)
    try:
        load_average = os.getloadavg()[0]
    except OSError:
        return False
    return idle_core(load_average, cpus or 1)


def _pump(
    reader: Readable,
    writer: Writable,
    operation: _BlockOperation,
    *,
    input_chunk_bytes: int,
    output_chunk_bytes: int,
    position: int,
    single_block_output_bytes: Callable[[int], int],
    overlap: bool | None,
) -> tuple[int, int]:
    """Feed ``reader`` block by block through ``operation`` into ``writer``.

    ``operation(first_chunk_index, block, out, is_final)`` seals or opens the chunks of one
    block and returns the bytes it wrote to ``out``. A block shorter than a whole block is the
    last one (possibly empty). A block's output is written only once the whole block is done,
    in pieces that end at multiples of :data:`WRITE_PIECE_BYTES` of the output stream, which
    is at ``position`` when the first block's output starts. Returns (bytes read, bytes
    written).

    A stream of one block is done in the caller's thread with buffers of its own size. A longer
    one runs :func:`_overlapped` with ``overlap`` (None: when :func:`overlap_pays`), else
    :func:`_serial`.
    """
    input_block_bytes = BLOCK_CHUNKS * input_chunk_bytes

    def whole(data: memoryview) -> tuple[int, int]:
        """The entire stream is ``data``: one call, buffers of its own size."""
        out = bytearray(single_block_output_bytes(len(data)))
        with memoryview(out) as out_view:
            written = operation(0, data, out_view, True)
            write_pieces(writer, out_view[:written], WRITE_PIECE_BYTES, position)
        return len(data), written

    # Most objects are small: read one chunk's worth first, so that they cost no full block.
    probe = bytearray(input_chunk_bytes)
    with memoryview(probe) as probe_view:
        length = read_full(reader, probe_view)
        if length < len(probe):
            return whole(probe_view[:length])
    first = bytearray(input_block_bytes)
    with memoryview(first) as first_view:
        first_view[: len(probe)] = probe
        del probe
        length += read_full(reader, first_view[length:])
        if length < input_block_bytes:
            return whole(first_view[:length])
        run = _overlapped if (overlap_pays() if overlap is None else overlap) else _serial
        return run(
            reader,
            writer,
            operation,
            first_view,
            output_block_bytes=BLOCK_CHUNKS * output_chunk_bytes,
            position=position,
        )


def _serial(
    reader: Readable,
    writer: Writable,
    operation: _BlockOperation,
    first: memoryview,
    *,
    output_block_bytes: int,
    position: int,
) -> tuple[int, int]:
    """One thread (ADR 0136): read a block, seal or open it, write it; ``first`` is a whole
    block already read. One input and one output block (about 4 MiB)."""
    block_bytes = len(first)
    out = bytearray(output_block_bytes)
    with memoryview(out) as out_view:
        read_total = written_total = index = 0
        length = block_bytes
        while True:
            is_final = length < block_bytes
            written = operation(index, first[:length], out_view, is_final)
            position = write_pieces(writer, out_view[:written], WRITE_PIECE_BYTES, position)
            read_total += length
            written_total += written
            if is_final:
                return read_total, written_total
            index += BLOCK_CHUNKS
            length = read_full(reader, first)


def _overlapped(
    reader: Readable,
    writer: Writable,
    operation: _BlockOperation,
    first: memoryview,
    *,
    output_block_bytes: int,
    position: int,
) -> tuple[int, int]:
    """The writes on a :class:`_WriteBehind` helper, one block behind the cipher (ADR 0270).

    This thread reads block n+1 and seals or opens it while the helper writes block n. A block
    is submitted only after its operation returned, so decryption still releases verified
    blocks only: on a failure the writer ends with exactly the blocks before the failing one,
    and the reader is at the failing block. One input block and two output blocks: about
    6 MiB.
    """
    block_bytes = len(first)
    outputs = bytearray(2 * output_block_bytes)
    with memoryview(outputs) as outputs_view:
        outs = (outputs_view[:output_block_bytes], outputs_view[output_block_bytes:])
        helper = _WriteBehind(writer, outs, WRITE_PIECE_BYTES, position)
        try:
            read_total = written_total = index = 0
            length = block_bytes
            while True:
                is_final = length < block_bytes
                out = helper.acquire()
                written = operation(index, first[:length], outs[out], is_final)
                helper.submit(out, written)
                read_total += length
                written_total += written
                if is_final:
                    break
                index += BLOCK_CHUNKS
                length = read_full(reader, first)
        finally:
            # Also when this thread failed: the helper ends before the stream does, and this
            # thread's own exception is the one raised.
            helper.close()
        helper.raise_failure()
        return read_total, written_total


def seal_stream(
    cipher: ChunkCipher,
    reader: Readable,
    writer: Writable,
    *,
    prefix: bytes,
    overlap: bool | None = None,
) -> StreamTotals:
    """Write ``prefix``, then every plaintext byte of ``reader`` sealed chunk by chunk.

    ``overlap``: write behind on a helper thread (True), all in this one (False), or decide
    by whether the CPUs are contended (None, :func:`overlap_pays`); docs/decisions/0270.
    """
    write_all(writer, memoryview(prefix))
    plaintext_total, sealed_total = _pump(
        reader,
        writer,
        lambda index, block, out, is_final: cipher.seal_chunks(
            index, block, out, is_final=is_final
        ),
        input_chunk_bytes=CHUNK_PLAINTEXT_BYTES,
        output_chunk_bytes=CHUNK_CIPHERTEXT_BYTES,
        position=len(prefix),
        single_block_output_bytes=encrypted_length,
        overlap=overlap,
    )
    return StreamTotals(
        plaintext_bytes=plaintext_total, ciphertext_bytes=len(prefix) + sealed_total
    )


def open_stream(
    cipher: ChunkCipher,
    reader: Readable,
    writer: Writable,
    *,
    consumed_bytes: int,
    overlap: bool | None = None,
) -> StreamTotals:
    """Verify and decrypt the chunks of ``reader`` into ``writer``.

    ``consumed_bytes`` (header and prefix, already read) only counts into the totals. On an
    :class:`~lakevault.kms.IntegrityError` the writer has received at most the plaintext of
    chunks that verified before the failing one, as C2SP allows; the caller discards it.
    ``overlap`` as for :func:`seal_stream`.
    """
    sealed_total, plaintext_total = _pump(
        reader,
        writer,
        lambda index, block, out, is_final: cipher.open_chunks(
            index, block, out, is_final=is_final
        ),
        input_chunk_bytes=CHUNK_CIPHERTEXT_BYTES,
        output_chunk_bytes=CHUNK_PLAINTEXT_BYTES,
        position=0,
        single_block_output_bytes=lambda length: max(length - TAG_BYTES, 0),
        overlap=overlap,
    )
    return StreamTotals(
        plaintext_bytes=plaintext_total, ciphertext_bytes=consumed_bytes + sealed_total
    )


def open_range(
    cipher: ChunkCipher,
    source: RangeReadable,
    *,
    chunks_offset: int,
    chunks_length: int,
    offset: int,
    length: int,
) -> bytes:
    """Verify and decrypt plaintext bytes ``[offset, offset + length)`` from stored chunks.

    ``chunks_offset`` is where chunk 0 starts in ``source``; ``chunks_length`` how many stored
    bytes of chunks follow (from the stored object's size). The final chunk is always read and
    verified first, which authenticates the message length (C2SP, "Implementation notes"):
    a truncated or extended object fails even when the range lies in good chunks. Then only the
    chunks that overlap the range are read, one block at a time. A range running past the end
    is clipped; one starting past the end raises :class:`~lakevault.kms.InvalidRange`.
    """
    if offset < 0 or length < 0:
        raise InvalidParameterValue(
            f"a range needs a non-negative offset and length, got offset={offset} length={length}"
        )
    message_length = plaintext_length(chunks_length)
    final_index, final_sealed_length = divmod(chunks_length, CHUNK_CIPHERTEXT_BYTES)
    final_plain = bytearray(final_sealed_length - TAG_BYTES)
    final_sealed = source.read_range(
        chunks_offset + final_index * CHUNK_CIPHERTEXT_BYTES, final_sealed_length
    )
    if len(final_sealed) != final_sealed_length:
        raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
    cipher.open_chunks(
        final_index, memoryview(final_sealed), memoryview(final_plain), is_final=True
    )
    if offset > message_length:
        raise InvalidRange(
            f"the range starts at byte {offset}, after the end of the object "
            f"({message_length} bytes); ask for a range that starts at most at {message_length}"
        )
    end = min(offset + length, message_length)
    result = bytearray(end - offset)
    first = offset // CHUNK_PLAINTEXT_BYTES
    last_full = min((end - 1) // CHUNK_PLAINTEXT_BYTES, final_index - 1)
    # Only as many chunks as the range needs, up to a block: a small range allocates little.
    plain = bytearray(min(BLOCK_CHUNKS, max(last_full + 1 - first, 0)) * CHUNK_PLAINTEXT_BYTES)
    for block_first in range(first, last_full + 1, BLOCK_CHUNKS):
        count = min(BLOCK_CHUNKS, last_full + 1 - block_first)
        wanted = count * CHUNK_CIPHERTEXT_BYTES
        sealed = source.read_range(chunks_offset + block_first * CHUNK_CIPHERTEXT_BYTES, wanted)
        if len(sealed) != wanted:
            raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
        opened = cipher.open_chunks(
            block_first, memoryview(sealed), memoryview(plain), is_final=False
        )
        _copy_overlap(
            result,
            offset=offset,
            end=end,
            piece_start=block_first * CHUNK_PLAINTEXT_BYTES,
            piece=plain,
            piece_length=opened,
        )
    if end > final_index * CHUNK_PLAINTEXT_BYTES:
        _copy_overlap(
            result,
            offset=offset,
            end=end,
            piece_start=final_index * CHUNK_PLAINTEXT_BYTES,
            piece=final_plain,
            piece_length=len(final_plain),
        )
    return bytes(result)


def _copy_overlap(
    result: bytearray,
    *,
    offset: int,
    end: int,
    piece_start: int,
    piece: bytearray,
    piece_length: int,
) -> None:
    """Copy the part of ``piece`` (plaintext from ``piece_start``) inside ``[offset, end)``."""
    start = max(offset, piece_start)
    stop = min(end, piece_start + piece_length)
    if start < stop:
        result[start - offset : stop - offset] = piece[start - piece_start : stop - piece_start]
