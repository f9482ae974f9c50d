"""The write-behind thread of the object streams (ADR 0270): overlap without losing a guarantee.

A stream longer than one block writes block n on a helper thread while the caller's thread
reads block n+1 and seals or opens it. These tests try to break what that must keep: only
verified blocks reach the writer, in order and from one thread; errors raised on the helper
reach the caller with their own type and stop the reads; the caller runs at most two blocks
ahead of a slow writer; and no thread outlives a stream however it ends.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lakevault.kms import (
    IntegrityError,
    IntegrityFailure,
    _chunk_stream,
    decrypt_stream,
    encrypt_stream,
    read_object_header,
)
from lakevault.kms._chunk_stream import (
    BLOCK_CHUNKS,
    _WriteBehind,
    cpu_pressure,
    idle_core,
    uncontended,
)
from tests.unit.kms.helpers import (
    CONTEXT,
    decrypt_bytes,
    encrypt_bytes,
    make_data_key,
    make_header,
    payload_text,
)

CHUNK = 16384
SEALED_CHUNK = CHUNK + 16
BLOCK = BLOCK_CHUNKS * CHUNK
SEALED_BLOCK = BLOCK_CHUNKS * SEALED_CHUNK
CHUNKS_START = make_header().encoded_length + 56
HELPER_NAME = "lakevault-writer"


def _helpers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == HELPER_NAME]


class _WatchingReader:
    """Records, for every ``readinto``, the calling thread and whether a helper was alive."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.calls: list[tuple[str, bool]] = []

    def readinto(self, buffer: memoryview, /) -> int:
        self.calls.append((threading.current_thread().name, bool(_helpers())))
        return self._data.readinto(buffer)

    def tell(self) -> int:
        return self._data.tell()


class _Collector:
    def __init__(self) -> None:
        self.data = bytearray()
        self.threads: list[str] = []

    def write(self, data: memoryview, /) -> int:
        self.threads.append(threading.current_thread().name)
        self.data += data
        return len(data)


def _decrypt_into(
    stored: bytes, writer: object, reader: _WatchingReader | None = None, *, overlap: bool = True
) -> None:
    source = reader if reader is not None else _WatchingReader(stored)
    header = read_object_header(source)
    decrypt_stream(
        source,
        writer,  # type: ignore[arg-type]
        data_key=make_data_key(),
        header=header,
        encryption_context=CONTEXT,
        overlap=overlap,
    )


def test_a_long_encryption_writes_on_a_helper_while_the_caller_reads_and_seals() -> None:
    plaintext = payload_text(3 * BLOCK + 7)
    reader = _WatchingReader(plaintext)
    writer = _Collector()
    before = set(threading.enumerate())
    encrypt_stream(reader, writer, data_key=make_data_key(), header=make_header(), overlap=True)
    caller = threading.current_thread().name
    assert {thread for thread, _ in reader.calls} == {caller}
    # The header goes out before the helper starts; every sealed block from the helper.
    assert writer.threads[0] == caller
    assert set(writer.threads[1:]) == {HELPER_NAME}
    # The probe and the first block are read before the helper starts; every later read
    # overlaps the helper's writing of the block before it.
    assert [alive for _, alive in reader.calls[2:]] == [True] * (len(reader.calls) - 2)
    assert set(threading.enumerate()) == before
    assert decrypt_bytes(bytes(writer.data)) == plaintext


def test_a_long_decryption_writes_on_a_helper_while_the_caller_reads_and_opens() -> None:
    plaintext = payload_text(3 * BLOCK + 7)
    reader = _WatchingReader(encrypt_bytes(plaintext))
    writer = _Collector()
    before = set(threading.enumerate())
    _decrypt_into(b"", writer, reader)
    caller = threading.current_thread().name
    assert {thread for thread, _ in reader.calls} == {caller}
    assert set(writer.threads) == {HELPER_NAME}
    assert any(alive for _, alive in reader.calls)
    assert set(threading.enumerate()) == before
    assert bytes(writer.data) == plaintext


class _SlowWriter(_Collector):
    """Holds its first ``write`` for a while and records how far the reader got meanwhile."""

    def __init__(self, reader: _WatchingReader) -> None:
        super().__init__()
        self._reader = reader
        self.read_during_first_write: int | None = None

    def write(self, data: memoryview, /) -> int:
        if self.read_during_first_write is None:
            time.sleep(0.3)
            self.read_during_first_write = self._reader.tell()
        return super().write(data)


def test_the_caller_runs_at_most_two_blocks_ahead_of_a_slow_writer() -> None:
    """Memory stays bounded whatever the writer's speed: while block 0 is being written the
    caller may open block 1 and read block 2, then waits for a free output buffer."""
    plaintext = payload_text(8 * BLOCK)
    reader = _WatchingReader(encrypt_bytes(plaintext))
    writer = _SlowWriter(reader)
    _decrypt_into(b"", writer, reader)
    assert writer.read_during_first_write is not None
    assert writer.read_during_first_write <= CHUNKS_START + 3 * SEALED_BLOCK
    assert bytes(writer.data) == plaintext


@pytest.mark.parametrize("encrypting", [True, False])
def test_without_overlap_a_long_stream_starts_no_thread(encrypting: bool) -> None:
    """``overlap=False`` (what a busy machine gets by default, ADR 0139): ADR 0136's one
    thread, with the same output."""
    plaintext = payload_text(3 * BLOCK + 7)
    writer = _Collector()
    if encrypting:
        reader = _WatchingReader(plaintext)
        encrypt_stream(
            reader, writer, data_key=make_data_key(), header=make_header(), overlap=False
        )
        assert decrypt_bytes(bytes(writer.data)) == plaintext
    else:
        reader = _WatchingReader(encrypt_bytes(plaintext))
        decrypt_stream(
            reader,
            writer,
            data_key=make_data_key(),
            header=read_object_header(reader),
            encryption_context=CONTEXT,
            overlap=False,
        )
        assert bytes(writer.data) == plaintext
    assert not any(alive for _, alive in reader.calls)


@pytest.mark.parametrize(
    ("load_average", "cpus", "expected"),
    [
        (0.0, 2, True),
        (1.0, 2, True),
        (1.01, 2, False),
        (7.5, 2, False),
        (0.0, 1, False),
        (14.9, 16, True),
        (15.5, 16, False),
    ],
)
def test_without_psi_the_helper_is_used_only_when_a_cpu_was_idle(
    load_average: float, cpus: int, expected: bool
) -> None:
    assert idle_core(load_average, cpus) is expected


def test_a_stream_of_one_block_starts_no_thread() -> None:
    plaintext = payload_text(BLOCK - 1)
    reader = _WatchingReader(plaintext)
    encrypt_stream(
        reader, _Collector(), data_key=make_data_key(), header=make_header(), overlap=True
    )
    assert not any(alive for _, alive in reader.calls)


@pytest.mark.parametrize("overlap", [True, False], ids=["overlap", "one-thread"])
@pytest.mark.parametrize("bad_block", [0, 1, 2])
def test_a_corrupt_block_releases_exactly_the_blocks_before_it(
    bad_block: int, overlap: bool
) -> None:
    """The caller opens block n while the helper writes block n-1: a block is handed to the
    helper only once it verified, so nothing of the failing block is ever written, and every
    block before it is."""
    plaintext = payload_text(4 * BLOCK + 3)
    stored = bytearray(encrypt_bytes(plaintext))
    stored[CHUNKS_START + (bad_block * BLOCK_CHUNKS + 17) * SEALED_CHUNK + 5] ^= 0x80
    reader = _WatchingReader(bytes(stored))
    writer = _Collector()
    before = set(threading.enumerate())
    with pytest.raises(IntegrityError) as failure:
        _decrypt_into(b"", writer, reader, overlap=overlap)
    assert failure.value.audit_reason is IntegrityFailure.CHUNK_NOT_AUTHENTIC
    assert bytes(writer.data) == plaintext[: bad_block * BLOCK]
    # Nothing was read past the failing block.
    assert reader.tell() <= CHUNKS_START + (bad_block + 1) * SEALED_BLOCK
    assert set(threading.enumerate()) == before


@pytest.mark.parametrize("overlap", [True, False], ids=["overlap", "one-thread"])
def test_swapped_blocks_fail_and_release_nothing(overlap: bool) -> None:
    stored = bytearray(encrypt_bytes(payload_text(3 * BLOCK + 3)))
    first = slice(CHUNKS_START, CHUNKS_START + SEALED_BLOCK)
    second = slice(CHUNKS_START + SEALED_BLOCK, CHUNKS_START + 2 * SEALED_BLOCK)
    stored[first], stored[second] = stored[second], stored[first]
    writer = _Collector()
    with pytest.raises(IntegrityError):
        _decrypt_into(bytes(stored), writer, overlap=overlap)
    assert not writer.data


@pytest.mark.parametrize("overlap", [True, False], ids=["overlap", "one-thread"])
@pytest.mark.parametrize("cut_blocks", [1, 2, 3])
def test_a_stream_truncated_at_any_block_boundary_fails(cut_blocks: int, overlap: bool) -> None:
    plaintext = payload_text(3 * BLOCK + 3)
    stored = encrypt_bytes(plaintext)[: CHUNKS_START + cut_blocks * SEALED_BLOCK]
    writer = _Collector()
    with pytest.raises(IntegrityError) as failure:
        _decrypt_into(stored, writer, overlap=overlap)
    assert failure.value.audit_reason is IntegrityFailure.INVALID_LENGTH
    # The whole blocks before the cut are genuine and verify (C2SP lets them be released);
    # the missing final chunk is what fails, before anything past them is written.
    assert bytes(writer.data) == plaintext[: cut_blocks * BLOCK]


@pytest.mark.parametrize("overlap", [True, False], ids=["overlap", "one-thread"])
def test_a_stream_extended_by_a_block_fails(overlap: bool) -> None:
    stored = encrypt_bytes(payload_text(2 * BLOCK + 3))
    extended = stored + stored[CHUNKS_START : CHUNKS_START + SEALED_BLOCK]
    with pytest.raises(IntegrityError):
        _decrypt_into(extended, _Collector(), overlap=overlap)


class _Stopped(Exception):
    """What a consumer that went away raises in its writer (as the API's download pump)."""


class _Interrupted(BaseException):
    """Not an Exception: stands for KeyboardInterrupt or SystemExit in the caller's thread."""


class _FailOnCall:
    def __init__(self, fail_on: int, error: BaseException) -> None:
        self.calls = 0
        self._fail_on = fail_on
        self._error = error

    def write(self, data: memoryview, /) -> int:
        self.calls += 1
        if self.calls == self._fail_on:
            raise self._error
        return len(data)

    def readinto(self, buffer: memoryview, /) -> int:
        self.calls += 1
        if self.calls == self._fail_on:
            raise self._error
        buffer[:] = bytes(len(buffer))
        return len(buffer)


def _encrypt_failing_writer(error: BaseException) -> None:
    encrypt_stream(
        io.BytesIO(payload_text(5 * BLOCK)),
        _FailOnCall(9, error),
        data_key=make_data_key(),
        header=make_header(),
        overlap=True,
    )


def _decrypt_failing_writer(error: BaseException) -> None:
    _decrypt_into(encrypt_bytes(payload_text(5 * BLOCK)), _FailOnCall(20, error))


def _encrypt_failing_reader(error: BaseException) -> None:
    encrypt_stream(
        _FailOnCall(4, error), _Collector(), data_key=make_data_key(), header=make_header()
    )


def _decrypt_corrupt(error: BaseException) -> None:
    del error
    stored = bytearray(encrypt_bytes(payload_text(5 * BLOCK)))
    stored[CHUNKS_START + 3 * SEALED_BLOCK + 9] ^= 0x01
    _decrypt_into(bytes(stored), _Collector())


@pytest.mark.parametrize(
    "run",
    [_encrypt_failing_writer, _decrypt_failing_writer, _encrypt_failing_reader],
    ids=["encrypt-writer", "decrypt-writer", "encrypt-reader"],
)
@pytest.mark.parametrize(
    "error",
    [OSError(28, "No space left on device"), _Stopped(), _Interrupted()],
    ids=["oserror", "consumer-stopped", "base-exception"],
)
def test_no_thread_outlives_a_stream_that_the_caller_stops(
    run: Callable[[BaseException], None], error: BaseException
) -> None:
    before = set(threading.enumerate())
    with pytest.raises(type(error)) as raised:
        run(error)
    assert raised.value is error
    assert set(threading.enumerate()) == before


def test_no_thread_outlives_a_stream_that_fails_on_the_helper() -> None:
    before = set(threading.enumerate())
    with pytest.raises(IntegrityError):
        _decrypt_corrupt(OSError())
    assert set(threading.enumerate()) == before


def test_the_helper_hands_back_a_write_failure_in_the_callers_thread() -> None:
    class _FailSecond(_Collector):
        def write(self, data: memoryview, /) -> int:
            if len(self.threads) == 1:
                self.threads.append(threading.current_thread().name)
                raise ValueError("the second write is refused")
            return super().write(data)

    writer = _FailSecond()
    outputs = (memoryview(bytearray(b"a" * 10)), memoryview(bytearray(b"b" * 10)))
    helper = _WriteBehind(writer, outputs, piece_bytes=10, position=0)
    try:
        assert _helpers()
        first = helper.acquire()
        helper.submit(first, 10)
        second = helper.acquire()
        assert second != first
        helper.submit(second, 4)
    finally:
        helper.close()  # writes what was submitted, then ends the thread
    assert not _helpers()
    assert bytes(writer.data) == b"a" * 10
    assert writer.threads == [HELPER_NAME, HELPER_NAME]
    # The failure is raised in this thread, with its own type, by either way of asking.
    with pytest.raises(ValueError, match="the second write is refused"):
        helper.acquire()
    with pytest.raises(ValueError, match="the second write is refused"):
        helper.raise_failure()
    helper.close()  # idempotent


_PRESSURE = """some avg10=3.25 avg60=1.10 avg300=0.90 total=1969237755
full avg10=0.00 avg60=0.00 avg300=0.00 total=0
"""


def test_cpu_pressure_reads_the_some_avg10_figure() -> None:
    assert cpu_pressure(_PRESSURE) == 3.25
    assert cpu_pressure("full avg10=50.00 avg60=0.00 avg300=0.00 total=0\n") is None
    assert cpu_pressure("some avg60=1.0 total=3\n") is None
    assert cpu_pressure("some avg10=lots avg60=1.0\n") is None
    assert cpu_pressure("") is None


@pytest.mark.parametrize(
    ("some_avg10", "cpus", "expected"),
    [(0.0, 2, True), (9.99, 2, True), (10.0, 2, False), (80.0, 16, False), (0.0, 1, False)],
)
def test_the_helper_is_used_by_default_only_while_no_task_waits_for_a_cpu(
    some_avg10: float, cpus: int, expected: bool
) -> None:
    assert uncontended(some_avg10, cpus) is expected


def test_overlap_pays_reads_the_kernels_cpu_pressure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default decision follows PSI where the kernel has it, so that a machine busy with
    the disk (a high load average, idle CPUs) still writes behind."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: the streams never write behind here")
    pressure = tmp_path / "cpu"
    monkeypatch.setattr(_chunk_stream, "CPU_PRESSURE_PATH", pressure)
    pressure.write_text(_PRESSURE.replace("3.25", "42.00"))
    assert _chunk_stream.overlap_pays() is False
    pressure.write_text(_PRESSURE)
    assert _chunk_stream.overlap_pays() is True
    pressure.unlink()  # no PSI: the load average decides
    assert _chunk_stream.overlap_pays() is idle_core(
        os.getloadavg()[0], len(os.sched_getaffinity(0))
    )
