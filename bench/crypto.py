"""Benchmark of the encrypted object format: ``python -m bench crypto [--size-mib N] [--rounds R]``.

Two comparisons, each against an anchor measured in the same run on the same machine:

(a) Streaming a file through ``kms.encrypt_stream`` and ``kms.decrypt_stream`` against plain
    streaming copies of the same file (one thread, no fsync): ``readinto`` a buffer and
    ``write`` it, for each of ``--copy-buffer-kib`` (default 32, 128 and 1024 KiB), and
    ``shutil.copyfileobj``. The anchor is the **fastest** of these copies, by median rate
    (ADR 0137: on these VMs the write size alone moves a copy's kernel time by 3 times, so
    no single size is "the" copy); every copy's figure and the streams' ratio to each are
    printed, and so is the ratio to the fastest copy of each round (stricter still). The
    source is a fresh file of ``--size-mib`` MiB (default 1024) in a temporary directory;
    every run writes a new output file (but see ``--output``). Before every timed operation
    its input is read into the page cache (``--cache warm``, default) or dropped from it
    (``--cache cold``), the same for all. Target: at least 0.8 x the fastest copy.
(b) Encrypting 16 KiB chunks in memory on one core — ``encrypt_stream`` from an in-memory reader
    to a sink that discards — against ``openssl speed -evp aes-256-gcm -bytes 16384`` (run as a
    subprocess with an argv list; skipped with a message when ``openssl`` is absent).
    ``openssl speed`` divides by user CPU time unless given ``-elapsed``, so this side is
    measured per CPU second of the process too (all its threads, user and system time), which
    keeps the comparison fair on a loaded machine. Target: at least 0.7 x openssl.

The machines are shared and noisy. Each round runs the anchor and the measured operation back
to back, so a ratio is taken between runs that saw the same load; the verdict uses the median of
the per-round ratios (``--rounds``, default 12: two passes of a balanced Latin square of the
six operations, each round running them in the next row, see :func:`balanced_orders`; with
6 rounds two disturbed rounds could decide the verdict, docs/decisions/0277). Best and median
throughputs are printed beside it. The temporary directory is removed at the end, also on failure.

Before every timed operation, anchor or measured alike, the untimed settling step deletes the
other outputs, calls ``sync``, reads the next input into the cache and then waits
``--settle-seconds`` (default 0, docs/decisions/0276). With no wait, every operation writes its
1 GiB into the memory the deleted outputs just freed, which is still backed: the state of a
machine without free page reporting, and of a busy server recycling its page cache. A wait of
3 s or more (ADR 0134's former default) lets a VM guest's free page reporting (a 2 s delay in
Linux) hand that memory back to the host first, so that every page written faults at the
host; on the Firecracker VMs measured that cost moved the same plain copy by up to 4 times
between rounds of one run, so it is kept as an option for studying the VM, not for the
verdict. Either way the bench warns when its anchor's rounds spread by more than
:data:`ANCHOR_SPREAD_WARNING` times, and prints, per round, how much memory the VM handed
back to its host meanwhile where the kernel says (free page reporting).

``--output overwrite`` (docs/decisions/0277) has every operation write over its previous
output instead of a new file, so that no run allocates page-cache memory. The VM's memory
costs go, and with them the part of a plain copy's time that a stream pays alike: what is
left is each operation's CPU work. That comparison is steadier and stricter; it is for
understanding the streams, not the verdict, since a copy and the object store alike write
new files.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakevault import kms
from lakevault.core import SystemRandom
from lakevault.kms._chunk_stream import overlap_pays

MIB = 1024 * 1024
COPY_BUFFER_BYTES = MIB
#: Write sizes of the plain copies the bench measures by default (ADRs 0136, 0137, 0138).
COPY_BUFFERS_KIB = (32, 128, 1024)
#: What ``shutil.copyfileobj`` reads and writes per call by default (``shutil.COPY_BUFSIZE``,
#: not in the stubs): 64 KiB on Linux.
_OVERLAP: dict[str, bool | None] = {"auto": None, "on": True, "off": False}
_SHUTIL_BUFFER_BYTES: int = getattr(shutil, "COPY_BUFSIZE", 64 * 1024)
STREAM_TARGET = 0.8
#: Above this ratio of the anchor's fastest round to its slowest, the run is flagged: the
#: machine's own cost of a plain copy moved more than the margin the target leaves.
ANCHOR_SPREAD_WARNING = 1.5
OPENSSL_TARGET = 0.7
_OPENSSL_LINE = re.compile(r"^aes-256-gcm\s+([0-9.]+)k\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    """Throughputs of one measured operation over several rounds, in bytes per second."""

    name: str
    rates: tuple[float, ...]
    cpu_seconds_per_gib: tuple[float, ...] = ()
    system_seconds_per_gib: tuple[float, ...] = ()
    #: MiB the VM guest handed back to its host from the start of each operation's settling
    #: step to the end of the operation (free page reporting), per round; empty where the
    #: kernel does not say. Memory handed back just before or during a run is faulted in again
    #: at the host by its writes (docs/decisions/0276, 0277).
    reported_mib: tuple[int, ...] = ()

    @property
    def best(self) -> float:
        return max(self.rates)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def _gb(rate: float) -> str:
    return f"{rate / 1e9:6.2f} GB/s"


def _make_source(path: Path, size: int) -> None:
    pattern = os.urandom(MIB)
    with path.open("wb") as file:
        for start in range(0, size, MIB):
            file.write(pattern[: min(MIB, size - start)])


def _output(path: Path, *, overwrite: bool = False) -> io.FileIO:
    """An unbuffered output file: a new one, or with ``overwrite`` the existing one, written
    over from its start and not truncated (every run writes the same size), so that its
    pages stay in the page cache and no run allocates memory (``--output overwrite``)."""
    if overwrite and path.exists():
        return io.FileIO(path, "r+")
    return io.FileIO(path, "w")


def _plain_copy(
    source: Path, target: Path, buffer_bytes: int = COPY_BUFFER_BYTES, *, overwrite: bool = False
) -> None:
    buffer = bytearray(buffer_bytes)
    view = memoryview(buffer)
    with source.open("rb", buffering=0) as reader, _output(target, overwrite=overwrite) as writer:
        while count := reader.readinto(buffer):
            writer.write(view[:count])


def _time(operation: Callable[[], object], size: int) -> tuple[float, float, float]:
    """Bytes per wall-clock second (what a client of a stream sees), and CPU seconds per GiB
    spent by this process in all its threads (what the work costs, whatever the load): all of
    it, and the kernel's part (the page cache's work, where the VM's costs show)."""
    times_started = os.times()
    started = time.perf_counter()
    operation()
    elapsed = time.perf_counter() - started
    times = os.times()
    per_gib = (1024 * MIB) / size
    user = times.user - times_started.user
    system = times.system - times_started.system
    return size / elapsed, (user + system) * per_gib, system * per_gib


#: Where a Linux guest with free page reporting (virtio-balloon) counts the memory it has
#: handed back to its host, in KiB, since boot.
REPORTED_KIB_PATH = Path("/sys/module/page_reporting/parameters/reported_kib")


def host_reported_kib() -> int | None:
    """KiB of free memory this VM has handed back to its host so far; None where unknown."""
    try:
        return int(REPORTED_KIB_PATH.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None


def _cpu_time(operation: Callable[[], object], size: int) -> float:
    """Bytes per CPU second of this process (all threads, user and system)."""
    started = time.process_time()
    operation()
    return size / (time.process_time() - started)


class _MemoryReader:
    """Yields ``size`` bytes from a 1 MiB pattern: no file, one memcpy per block."""

    def __init__(self, pattern: bytes, size: int) -> None:
        self._pattern = memoryview(pattern)
        self._remaining = size

    def readinto(self, buffer: memoryview, /) -> int:
        count = min(len(buffer), len(self._pattern), self._remaining)
        buffer[:count] = self._pattern[:count]
        self._remaining -= count
        return count


class _Discard:
    def write(self, data: memoryview, /) -> int:
        return len(data)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Operation:
    """One timed streaming operation: what it reads (to warm or cold it) and how to run it."""

    key: str
    name: str
    source: Path
    run: Callable[[], object]


def balanced_orders(count: int) -> list[list[int]]:
    """Orders of ``count`` operations in which each takes each position equally often and
    follows each other one equally often: a Williams Latin square (``count`` rows when even,
    ``2 * count`` when odd). On these VMs both the position in a round and the operation just
    before cost kernel time (docs/decisions/0134), so no operation may keep a good seat."""
    first: list[int] = []
    low, high = 0, count - 1
    for position in range(count):
        if position % 2 == 0:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    rows = [[(item + shift) % count for item in first] for shift in range(count)]
    if count % 2:
        rows += [list(reversed(row)) for row in rows]
    return rows


def _page_cache(path: Path, cache: str) -> None:
    """Put ``path`` in the page cache (``warm``: read it through, untimed) or out of it
    (``cold``: the kernel drops its clean pages; needs the data written back, hence after
    ``sync``). Every operation's input gets the same treatment before it is timed."""
    with path.open("rb", buffering=0) as file:
        if cache == "cold":
            os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            return
        buffer = bytearray(MIB)
        while file.readinto(buffer):
            pass


def _stream_figures(
    directory: Path,
    size: int,
    rounds: int,
    settle_seconds: float,
    copy_buffers: list[int],
    cache: str,
    overlap: bool | None,
    overwrite: bool,
) -> tuple[list[Figure], Figure, Figure]:
    """Figures of every plain copy (one per write size, and ``shutil.copyfileobj``), then of
    encryption and decryption, from interleaved rounds over the same source file.

    ``overwrite``: every operation writes over its previous output instead of a new file."""
    source = directory / "source.bin"
    _make_source(source, size)
    context = kms.EncryptionContext.for_object(
        tenant="123456789012", bucket="bench", key="source.bin", version_id="1"
    )
    header = kms.ObjectHeader.create(
        key_id="bench-key", key_version=1, wrapped_data_key=bytes(60), encryption_context=context
    )
    data_key = kms.PlaintextDataKey.generate(SystemRandom())
    encrypted = directory / "encrypted.bin"
    # encrypt() writes a new file beside the one decrypt() reads; settle() moves it into place
    # outside the timing, so that no timed operation pays for deleting a 1 GiB file. Writing
    # over, it writes over the file decrypt() reads (the same size every time).
    encrypted_next = encrypted if overwrite else directory / "encrypted.next"
    copy_target = directory / "copy.bin"
    decrypted = directory / "decrypted.bin"

    def copy_with(buffer_bytes: int) -> Callable[[], None]:
        return lambda: _plain_copy(source, copy_target, buffer_bytes, overwrite=overwrite)

    def copy_shutil() -> None:
        with (
            source.open("rb") as reader,
            io.BufferedWriter(_output(copy_target, overwrite=overwrite)) as writer,
        ):
            shutil.copyfileobj(reader, writer)

    def encrypt() -> None:
        with (
            source.open("rb", buffering=0) as reader,
            _output(encrypted_next, overwrite=overwrite) as out,
        ):
            kms.encrypt_stream(reader, out, data_key=data_key, header=header, overlap=overlap)

    def decrypt() -> None:
        with (
            encrypted.open("rb", buffering=0) as reader,
            _output(decrypted, overwrite=overwrite) as out,
        ):
            stored_header = kms.read_object_header(reader)
            kms.decrypt_stream(
                reader,
                out,
                data_key=data_key,
                header=stored_header,
                encryption_context=context,
                overlap=overlap,
            )

    operations = [
        _Operation(
            key=f"copy-{buffer_bytes}",
            name=f"plain copy, readinto/write {buffer_bytes // 1024} KiB",
            source=source,
            run=copy_with(buffer_bytes),
        )
        for buffer_bytes in copy_buffers
    ]
    operations.append(
        _Operation(
            key="copy-shutil",
            name=f"plain copy, shutil.copyfileobj ({_SHUTIL_BUFFER_BYTES // 1024} KiB)",
            source=source,
            run=copy_shutil,
        )
    )
    operations += [
        _Operation(key="encrypt", name="kms.encrypt_stream file->file", source=source, run=encrypt),
        _Operation(
            key="decrypt", name="kms.decrypt_stream file->file", source=encrypted, run=decrypt
        ),
    ]

    def settle(following: _Operation) -> None:
        # Every timed operation starts from the same page-cache state: no other output file
        # and no dirty pages waiting for writeback. Without this the third 1 GiB write of a
        # round pays for the first two's writeback, whichever operation it is. Deleting a
        # written-back 1 GiB file costs about 0.3 s on this VM (ext4 frees its extents and
        # drops its pages): it happens here, untimed, for every operation's output alike.
        if not overwrite:
            if encrypted_next.exists():
                os.replace(encrypted_next, encrypted)
            copy_target.unlink(missing_ok=True)
            decrypted.unlink(missing_ok=True)
        os.sync()
        # The input of the next operation, warm or cold alike for all (--cache).
        _page_cache(following.source, cache)
        # On a VM with free page reporting (this one: virtio-balloon, Firecracker), memory
        # freed by the deletions goes back to the host after a 2 s delay, and the next
        # operation's page-cache writes fault it in again at the host, at up to 4 times the
        # kernel CPU of writes into still-backed pages. Without the wait, which operation got
        # which kind of page depended on the timing of the reporting worker: it was the main
        # source of the wide per-round spread (docs/decisions/0134).
        time.sleep(settle_seconds)

    encrypt()  # warm the code paths once, and make the file that decrypt() reads
    settle(operations[-1])
    decrypt()
    with decrypted.open("rb") as plain, source.open("rb") as original:
        same = plain.read(MIB) == original.read(MIB)
    if not same:
        raise SystemExit("decrypt_stream did not give back the source file")
    orders = balanced_orders(len(operations))
    # One untimed round of every operation, in the first round's order: the first timed
    # round otherwise ran on a machine not yet in its steady state, and the operation it put
    # second (decryption) ran at 0.15-0.77 x the anchor there in seven runs in a row (ADR 0277).
    for position in orders[0]:
        settle(operations[position])
        operations[position].run()
    measured: dict[str, list[tuple[float, float, float]]] = {op.key: [] for op in operations}
    reported: dict[str, list[int]] = {op.key: [] for op in operations}
    for round_number in range(rounds):
        for position in orders[round_number % len(orders)]:
            operation = operations[position]
            before = host_reported_kib()
            settle(operation)
            measured[operation.key].append(_time(operation.run, size))
            after = host_reported_kib()
            if before is not None and after is not None:
                reported[operation.key].append((after - before) // 1024)
    figures = [
        Figure(
            name=operation.name,
            rates=tuple(rate for rate, _, _ in measured[operation.key]),
            cpu_seconds_per_gib=tuple(cpu for _, cpu, _ in measured[operation.key]),
            system_seconds_per_gib=tuple(system for _, _, system in measured[operation.key]),
            reported_mib=tuple(reported[operation.key]),
        )
        for operation in operations
    ]
    return figures[:-2], figures[-2], figures[-1]


def anchor_spread(figure: Figure) -> float:
    """The fastest round's rate over the slowest's: 1.0 for a perfectly steady anchor."""
    return max(figure.rates) / min(figure.rates)


def fastest_per_round(copies: list[Figure]) -> Figure:
    """The fastest copy of each round, as one figure (a stricter anchor, for information)."""
    return Figure(
        name="fastest plain copy of each round",
        rates=tuple(max(rates) for rates in zip(*(copy.rates for copy in copies), strict=True)),
    )


def _memory_rate(size: int) -> float:
    pattern = os.urandom(MIB)
    context = kms.EncryptionContext.from_mapping({"bench": "memory"})
    header = kms.ObjectHeader.create(
        key_id="bench-key", key_version=1, wrapped_data_key=bytes(60), encryption_context=context
    )
    data_key = kms.PlaintextDataKey.generate(SystemRandom())
    return _cpu_time(
        # "On one core" (issue #5): the write-behind thread stays off here, whatever the load.
        lambda: kms.encrypt_stream(
            _MemoryReader(pattern, size),
            _Discard(),
            data_key=data_key,
            header=header,
            overlap=False,
        ),
        size,
    )


def _memory_figures(size: int, rounds: int, openssl_seconds: int) -> tuple[Figure, Figure | None]:
    """Alternate openssl and encrypt_stream runs so that both see the same machine."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        rate = openssl_speed(openssl_seconds)
        if rate is not None:
            theirs.append(rate)
        ours.append(_memory_rate(size))
    figure = Figure(name="kms.encrypt_stream in memory, 16 KiB chunks", rates=tuple(ours))
    anchor = Figure(name="openssl speed -evp aes-256-gcm -bytes 16384", rates=tuple(theirs))
    return figure, (anchor if theirs else None)


def openssl_speed(seconds: int) -> float | None:
    """Bytes per second of ``openssl speed -evp aes-256-gcm -bytes 16384``; None if absent."""
    executable = shutil.which("openssl")
    if executable is None:
        return None
    argv = [executable, "speed", "-evp", "aes-256-gcm", "-bytes", "16384"]
    argv += ["-seconds", str(seconds)]
    result = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    match = _OPENSSL_LINE.search(result.stdout)
    if match is None:
        raise SystemExit(
            f"could not find the AES-256-GCM line in openssl's output:\n{result.stdout}"
        )
    return float(match.group(1)) * 1000


def paired_ratio(figure: Figure, anchor: Figure) -> float:
    """Median over rounds of figure/anchor, each ratio between runs of the same round."""
    return statistics.median(
        ours / theirs for ours, theirs in zip(figure.rates, anchor.rates, strict=True)
    )


def _row(figure: Figure, anchor: Figure | None, target: float | None) -> str:
    ratio = f"{paired_ratio(figure, anchor):5.2f}x" if anchor else "      "
    verdict = ""
    if anchor and target is not None:
        passed = paired_ratio(figure, anchor) >= target
        verdict = f">= {target:.1f}x  {'PASS' if passed else 'FAIL'}"
    cpu = ""
    if figure.cpu_seconds_per_gib:
        cpu = f"  cpu {statistics.median(figure.cpu_seconds_per_gib):5.2f} s/GiB"
    if figure.system_seconds_per_gib:
        cpu += f" (sys {statistics.median(figure.system_seconds_per_gib):4.2f})"
    return (
        f"  {figure.name:<44} best {_gb(figure.best)}  median {_gb(figure.median)}{cpu}  "
        f"{ratio}  {verdict}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench crypto", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024)")
    parser.add_argument("--rounds", type=int, default=12, help="runs per figure (default 12)")
    parser.add_argument("--memory-mib", type=int, default=2048, help="in-memory bytes per run")
    parser.add_argument("--openssl-seconds", type=int, default=3)
    parser.add_argument("--directory", type=Path, default=None, help="where the temp dir goes")
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=0.0,
        help="wait after sync before every timed streaming operation (default 0; 3 or more "
        "lets a VM hand freed memory back to its host first, ADR 0276)",
    )
    parser.add_argument(
        "--copy-buffer-kib",
        default=",".join(str(kib) for kib in COPY_BUFFERS_KIB),
        help="write sizes of the plain copies, comma-separated KiB (default "
        + ",".join(str(kib) for kib in COPY_BUFFERS_KIB)
        + "); shutil.copyfileobj is always measured too, and the fastest copy is the anchor",
    )
    parser.add_argument(
        "--cache",
        choices=("warm", "cold"),
        default="warm",
        help="every operation's input is read into the page cache (warm, default) or dropped "
        "from it (cold) before it is timed",
    )
    parser.add_argument(
        "--output",
        choices=("new", "overwrite"),
        default="new",
        help="every streaming operation writes a new file (new, default), or writes over its "
        "previous output without truncating it (overwrite: no run allocates page-cache "
        "memory, which removes the VM's memory costs and the part of a copy's time a stream "
        "pays alike: a steadier and stricter comparison for diagnosis, not the verdict; "
        "docs/decisions/0277)",
    )
    parser.add_argument(
        "--overlap",
        choices=tuple(_OVERLAP),
        default="auto",
        help="the streams' write-behind thread: on, off, or auto (the default: the streams "
        "decide by the kernel's CPU pressure, PSI, ADR 0270)",
    )
    options = parser.parse_args(argv)
    size = options.size_mib * MIB

    print(
        f"lakevault object encryption, {os.cpu_count()} CPUs, {options.rounds} rounds, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    copy_buffers = [int(kib) * 1024 for kib in options.copy_buffer_kib.split(",") if kib]
    print(
        f"(a) streaming a {options.size_mib} MiB file (page cache {options.cache}, no fsync, "
        f"{'written over' if options.output == 'overwrite' else 'new'} output files, "
        f"{options.settle_seconds:g} s settle before each operation, helper thread "
        f"{options.overlap}; auto would choose {'on' if overlap_pays() else 'off'} now)"
    )
    directory = Path(tempfile.mkdtemp(prefix="lakevault-bench-crypto-", dir=options.directory))
    try:
        copies, encrypt, decrypt = _stream_figures(
            directory,
            size,
            options.rounds,
            options.settle_seconds,
            copy_buffers,
            options.cache,
            _OVERLAP[options.overlap],
            options.output == "overwrite",
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    # The anchor is the fastest plain copy (ADR 0137): the copy with the best median rate.
    copy = max(copies, key=lambda figure: figure.median)
    print("  ratios: median over rounds of (measured / copy of the same round)")
    for figure in copies:
        print(_row(figure, None, None) + ("(anchor: fastest copy)" if figure is copy else ""))
    print(_row(encrypt, copy, STREAM_TARGET))
    print(_row(decrypt, copy, STREAM_TARGET))
    strict = fastest_per_round(copies)
    for figure in (encrypt, decrypt):
        against = "  ".join(
            f"{other.name.removeprefix('plain copy, ')}: {paired_ratio(figure, other):.2f}x"
            for other in (*copies, strict)
        )
        print(f"  {figure.name} against every copy: {against}")
    for figure in (encrypt, decrypt):
        ratios = " ".join(
            f"{ours / theirs:.2f}" for ours, theirs in zip(figure.rates, copy.rates, strict=True)
        )
        print(f"  per-round ratios against the anchor, {figure.name}: {ratios}")
    for figure in (*copies, encrypt, decrypt):
        rates = " ".join(f"{rate / 1e9:.2f}" for rate in figure.rates)
        kernel = " ".join(f"{system:.2f}" for system in figure.system_seconds_per_gib)
        host = ""
        if figure.reported_mib:
            host = "; MiB handed to the host: " + " ".join(str(m) for m in figure.reported_mib)
        print(f"  per-round GB/s, {figure.name}: {rates}; kernel CPU s/GiB: {kernel}{host}")

    spread = anchor_spread(copy)
    if spread > ANCHOR_SPREAD_WARNING:
        print(
            f"  WARNING: the anchor's rounds differ by {spread:.1f}x (fastest / slowest): this "
            "machine's own cost of a plain copy moved during the run, so the ratios measure "
            "it as much as the streams (ADR 0276); run again on a quieter machine"
        )
    print("(b) encrypting 16 KiB chunks in memory, per CPU second (runs alternate)")
    memory, openssl = _memory_figures(
        options.memory_mib * MIB, options.rounds, options.openssl_seconds
    )
    passed = [
        paired_ratio(encrypt, copy) >= STREAM_TARGET,
        paired_ratio(decrypt, copy) >= STREAM_TARGET,
    ]
    if openssl is None:
        print("  openssl not found on PATH: the comparison with 'openssl speed' is skipped")
        print(_row(memory, None, None))
    else:
        print(_row(openssl, None, None) + "(anchor)")
        print(_row(memory, openssl, OPENSSL_TARGET))
        passed.append(paired_ratio(memory, openssl) >= OPENSSL_TARGET)
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    print("all targets met" if all(passed) else "SOME TARGETS MISSED")
    return 0 if all(passed) else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
