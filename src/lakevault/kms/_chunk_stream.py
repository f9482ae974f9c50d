"""Moving chunked ciphertext between streams: constant memory, reused buffers.

This is the framing half of C2SP chunked encryption: which bytes form which chunk, which chunk is
final, and what a wrong length means. The cryptographic half (keys, nonces, AEAD calls) is
:class:`~lakevault.kms._primitives.ChunkCipher`, which this module drives by chunk index only.

Throughput. pyca/cryptography 50 holds the GIL while AES-GCM runs (measured: two threads sealing
16 KiB chunks are no faster than one), but ``write`` and ``readinto`` on files and sockets
release it. The calling thread reads and seals (or opens) one block (512 KiB, in the L2 cache)
at a time into an output span of :data:`SPAN_BLOCKS` blocks (1 MiB, the write size of a plain
copy), and a span is written with one ``write`` call.

Encryption hands each span to one helper thread that writes it, so the write of span *n*
overlaps the reads and AEAD of span *n + 1* (docs/decisions/0093, 0132). Decryption writes its
spans from the calling thread (docs/decisions/0135): its plaintext writes are 1 MiB-aligned,
the most expensive kind for the kernel on the VMs measured, so the helper thread spent about as
long writing as a whole plain copy does, and on a machine with no idle core (the usual case
there) the hand-offs only added CPU time. Memory is one input block plus one span (decryption,
about 1.5 MiB) or at most :data:`WRITE_BUFFERS` spans (encryption, about 3.5 MiB), whatever the
object size; spans are made only when needed. An object that fits in one block is done inline.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

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

#: Chunks per read and per AEAD pass: 512 KiB of plaintext; big enough to amortise a system
#: call, small enough that the block and its output stay in the L2 cache.
BLOCK_CHUNKS = 32
#: Blocks per write: the calling thread seals or opens block after block into one output span
#: and hands the writer thread a whole span (1 MiB), so that the two threads meet once per span.
#: Not 2 MiB: decryption then writes 2 MiB-aligned pieces of plaintext, which cost this VM's
#: kernel up to four times the system time of 1 MiB writes (docs/decisions/0132).
SPAN_BLOCKS = 2
#: Output spans in flight between the calling thread and the writer thread.
WRITE_BUFFERS = 3

_PLAIN_BLOCK_BYTES = BLOCK_CHUNKS * CHUNK_PLAINTEXT_BYTES
_CIPHER_BLOCK_BYTES = BLOCK_CHUNKS * CHUNK_CIPHERTEXT_BYTES


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


class _BlockWriter:
    """Writes filled output spans from a helper thread, in order, and recycles their buffers.

    A failure of ``write`` (disk full, connection reset) is re-raised in the calling thread at
    its next :meth:`acquire` or at :meth:`finish`. Leaving the ``with`` block on an exception
    stops the thread without writing what is still queued.
    """

    def __init__(self, writer: Writable, buffer_bytes: int) -> None:
        self._writer = writer
        self._buffer_bytes = buffer_bytes
        self._allocated = 0
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._pending: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="lakevault-kms-writer", daemon=True)

    def __enter__(self) -> _BlockWriter:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._stopping = True
        self._pending.put(None)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._pending.get()) is not None:
            buffer, length = item
            if self._error is None and not self._stopping:
                try:
                    with memoryview(buffer) as view:
                        write_all(self._writer, view[:length])
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    self._error = exc
            self._free.put(buffer)

    def acquire(self) -> bytearray:
        """Return a free output buffer; re-raise a failure of the writer thread.

        Buffers are made on first need, up to :data:`WRITE_BUFFERS`: an object of one or two
        spans never pays for zeroing all of them.
        """
        if self._allocated < WRITE_BUFFERS and self._free.empty():
            self._allocated += 1
            buffer = bytearray(self._buffer_bytes)
        else:
            buffer = self._free.get()
        if self._error is not None:
            raise self._error
        return buffer

    def submit(self, buffer: bytearray, length: int) -> None:
        """Queue the first ``length`` bytes of ``buffer`` for writing."""
        self._pending.put((buffer, length))


class _InlineWriter:
    """Writes each filled span from the calling thread and hands the same buffer back.

    The interface of :class:`_BlockWriter`, without the thread: ``submit`` returns once the
    span is written, so the one buffer can be reused at once.
    """

    def __init__(self, writer: Writable, buffer_bytes: int) -> None:
        self._writer = writer
        self._buffer_bytes = buffer_bytes
        self._buffer: bytearray | None = None

    def __enter__(self) -> _InlineWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._buffer = None

    def acquire(self) -> bytearray:
        """Return the one output buffer (made on first use)."""
        if self._buffer is None:
            self._buffer = bytearray(self._buffer_bytes)
        return self._buffer

    def submit(self, buffer: bytearray, length: int) -> None:
        """Write the first ``length`` bytes of ``buffer`` now."""
        with memoryview(buffer) as view:
            write_all(self._writer, view[:length])


_BlockOperation = Callable[[int, memoryview, memoryview, bool], int]


def _pump(
    reader: Readable,
    writer: Writable,
    operation: _BlockOperation,
    *,
    input_block_bytes: int,
    output_block_bytes: int,
    single_block_output_bytes: Callable[[int], int],
    overlap_writes: bool,
) -> tuple[int, int]:
    """Feed ``reader`` block by block through ``operation`` into ``writer``.

    ``operation(first_chunk_index, block, out, is_final)`` seals or opens the chunks of one
    block and returns the bytes it wrote to ``out``. A block shorter than ``input_block_bytes``
    is the last one (possibly empty). With ``overlap_writes`` a helper thread writes the spans
    (:class:`_BlockWriter`); without, the calling thread does (:class:`_InlineWriter`).
    Returns (bytes read, bytes written).
    """

    def whole(data: memoryview) -> tuple[int, int]:
        """The entire stream is ``data``: one call, no thread."""
        out = bytearray(single_block_output_bytes(len(data)))
        written = operation(0, data, memoryview(out), True)
        write_all(writer, memoryview(out)[:written])
        return len(data), written

    # Most objects are small: read one chunk's worth first, so that they cost no full block.
    probe = bytearray(input_block_bytes // BLOCK_CHUNKS)
    with memoryview(probe) as probe_view:
        length = read_full(reader, probe_view)
        if length < len(probe):
            return whole(probe_view[:length])
    block = bytearray(input_block_bytes)
    with memoryview(block) as block_view:
        block_view[: len(probe)] = probe
        length += read_full(reader, block_view[len(probe) :])
        if length < input_block_bytes:
            return whole(block_view[:length])
        read_total = written_total = 0
        index = 0
        span_bytes = SPAN_BLOCKS * output_block_bytes
        spans = _BlockWriter if overlap_writes else _InlineWriter
        with spans(writer, span_bytes) as block_writer:
            span = block_writer.acquire()
            span_view = memoryview(span)
            filled = 0
            while True:
                is_final = length < input_block_bytes
                written = operation(index, block_view[:length], span_view[filled:], is_final)
                filled += written
                read_total += length
                written_total += written
                if is_final:
                    span_view.release()
                    block_writer.submit(span, filled)
                    return read_total, written_total
                index += BLOCK_CHUNKS
                if filled + output_block_bytes > span_bytes:
                    # The span is full: one write of SPAN_BLOCKS blocks, one hand-off.
                    span_view.release()
                    block_writer.submit(span, filled)
                    span = block_writer.acquire()
                    span_view = memoryview(span)
                    filled = 0
                length = read_full(reader, block_view)


def seal_stream(
    cipher: ChunkCipher, reader: Readable, writer: Writable, *, prefix: bytes
) -> StreamTotals:
    """Write ``prefix``, then every plaintext byte of ``reader`` sealed chunk by chunk."""
    write_all(writer, memoryview(prefix))
    plaintext_total, sealed_total = _pump(
        reader,
        writer,
        lambda index, block, out, is_final: cipher.seal_chunks(
            index, block, out, is_final=is_final
        ),
        input_block_bytes=_PLAIN_BLOCK_BYTES,
        output_block_bytes=_CIPHER_BLOCK_BYTES,
        single_block_output_bytes=encrypted_length,
        overlap_writes=True,
    )
    return StreamTotals(
        plaintext_bytes=plaintext_total, ciphertext_bytes=len(prefix) + sealed_total
    )


def open_stream(
    cipher: ChunkCipher, reader: Readable, writer: Writable, *, consumed_bytes: int
) -> StreamTotals:
    """Verify and decrypt the chunks of ``reader`` into ``writer``.

    ``consumed_bytes`` (header and prefix, already read) only counts into the totals. On an
    :class:`~lakevault.kms.IntegrityError` the writer has received at most the plaintext of
    chunks that verified before the failing one, as C2SP allows; the caller discards it.
    """
    sealed_total, plaintext_total = _pump(
        reader,
        writer,
        lambda index, block, out, is_final: cipher.open_chunks(
            index, block, out, is_final=is_final
        ),
        input_block_bytes=_CIPHER_BLOCK_BYTES,
        output_block_bytes=_PLAIN_BLOCK_BYTES,
        single_block_output_bytes=lambda length: max(length - TAG_BYTES, 0),
        overlap_writes=False,
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
    plain = bytearray(_PLAIN_BLOCK_BYTES) if first <= last_full else bytearray()
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
