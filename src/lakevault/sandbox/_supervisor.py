"""The supervisor: probes the host, keeps the zygotes, and runs invocations to an outcome.

For each invocation it takes a free *slot* (a host uid no one else uses, one cgroup per
controller, and the zygote that lives in them), sets the slot's limits, creates the
invocation's pipes, asks the slot's zygote to hand them to a sandbox (one forked ahead, or a
fresh one), writes the event, reads the result and the logs with caps, and SIGKILLs the
sandbox at its deadline. It answers as soon as the result is complete; a reaper frees the
slot once the sandbox is gone. Only the supervisor and the sandbox see the event and the
result; the zygote sees the spawn request alone.

It refuses to start when the probe finds a layer missing, naming the layer and what the
kernel said, unless ``insecure_development`` is set — which logs a warning at start and on
every invocation, because code then runs with less isolation than the docs promise.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakevault.core.errors import InternalFailure
from lakevault.sandbox import _cgroups
from lakevault.sandbox._errors import InvalidSandboxRequest, SandboxUnavailable
from lakevault.sandbox._limits import InvocationType, Limits
from lakevault.sandbox._metrics import Metrics
from lakevault.sandbox._network import Endpoint, NetworkBroker, NetworkPolicy
from lakevault.sandbox._outcome import KillReason, Outcome, Status
from lakevault.sandbox._probe import LAYERS, LayerReport, probe_layers
from lakevault.sandbox._reaper import Reaper
from lakevault.sandbox._uid_blocks import UidBlock, claim_uid_block

logger = logging.getLogger("lakevault.sandbox")

_READ_CHUNK = 65536
_GROUP_PREFIX = "lakevault-sandbox"
_RESULT_OVERHEAD = 1024
_EXIT_GRACE_SECONDS = 2.0


class SandboxFailure(InternalFailure):
    """The sandbox itself failed (a layer could not be applied, a zygote died)."""

    code = "SandboxFailure"


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorSettings:
    """The warm pool: how many zygotes, which is how many sandboxes may run at once.

    Each zygote owns one *slot* (a host uid and a cgroup per controller) and lives in that
    slot's cgroups, so a sandbox forked from it starts inside them: no cgroup migration per
    invocation (on cgroup v1 that waits for an RCU grace period per hierarchy).
    """

    zygotes: int = 2
    insecure_development: bool = False
    work_directory: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.zygotes <= 64:
            raise InvalidSandboxRequest(f"zygotes must be between 1 and 64; got {self.zygotes}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionCode:
    """A function: a ``.py`` file or a package directory, and the handler's name in it."""

    path: Path
    handler: str = "handler"

    def __post_init__(self) -> None:
        if not self.path.is_absolute():
            object.__setattr__(self, "path", self.path.resolve())
        if not (self.path.is_dir() or (self.path.is_file() and self.path.suffix == ".py")):
            raise InvalidSandboxRequest(
                f"function code {self.path} must be a .py file or a package directory"
            )
        if not self.handler.isidentifier():
            raise InvalidSandboxRequest(f"handler {self.handler!r} is not a Python identifier")


class _Zygote:
    """One zygote process and our end of its socket."""

    def __init__(
        self,
        *,
        root_mount_point: str,
        seccomp: bool,
        root: bool,
        cgroup_procs: list[str],
        layers: list[str],
    ) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._lock = threading.Lock()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-I",
                "-X",
                "utf8",
                "-m",
                "lakevault.sandbox._zygote",
                str(theirs.fileno()),
            ],
            pass_fds=[theirs.fileno()],
            env={},
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()
        self.channel = ours
        hello = {
            "layers": layers,
            "root_mount_point": root_mount_point,
            "seccomp": seccomp,
            "root": root,
            "cgroup_procs": cgroup_procs,
        }
        ours.send(json.dumps(hello).encode())
        ours.settimeout(60)
        try:
            answer = json.loads(ours.recv(65536) or b"{}")
        except (OSError, ValueError) as exc:
            self.close()
            raise SandboxFailure(f"the sandbox zygote did not start: {exc}") from exc
        ours.settimeout(None)
        if not answer.get("ready"):
            self.close()
            raise SandboxUnavailable(
                f"the sandbox zygote could not prepare: {answer.get('error') or 'it exited'}"
            )

    def spawn(self, spawn: dict[str, Any], fds: list[int]) -> None:
        with self._lock:
            socket.send_fds(self.channel, [json.dumps(spawn).encode()], fds)

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(slots=True)
class _Run:
    """What the supervisor gathers while one sandbox runs."""

    sandbox_pid: int | None = None
    wait_status: int | None = None
    setup_error: tuple[str, str] | None = None
    result: bytearray = field(default_factory=bytearray)
    result_too_large: bool = False
    logs: bytearray = field(default_factory=bytearray)
    logs_truncated: bool = False
    timed_out: bool = False
    finished_early: bool = False
    status_closed: bool = False
    #: The processes that belong in the slot beside the sandbox: its zygote and the next,
    #: prepared sandbox (reported on the status pipe).
    keep: set[int] = field(default_factory=set)
    prepared_ahead: bool = False
    status_buffer: bytearray = field(default_factory=bytearray)


class Supervisor:
    """Runs functions in single-use sandboxes forked from warm zygotes. Thread-safe."""

    def __init__(self, settings: SupervisorSettings | None = None) -> None:
        self.settings = settings or SupervisorSettings()
        self.metrics = Metrics()
        self._report: LayerReport | None = None
        self._layers: tuple[str, ...] = ()
        self._zygotes: dict[int, _Zygote] = {}
        self._slots: queue.Queue[int] = queue.Queue()
        self._slot_cgroups: dict[int, _cgroups.SlotCgroup] = {}
        self._cgroup_system: _cgroups.CgroupSystem | None = None
        self._group = f"{_GROUP_PREFIX}-{os.getpid()}-{id(self):x}"
        #: This supervisor's host uids, claimed at start (``_uid_blocks.py``, ADR 0269).
        self._uid_block: UidBlock | None = None
        self._work: tempfile.TemporaryDirectory[str] | None = None
        self._root_mount_point = ""
        self._started = False
        self._reaper: Reaper | None = None
        self._applied_limits: dict[int, tuple[int, int, float]] = {}

    # -- life cycle -----------------------------------------------------------------------

    @property
    def report(self) -> LayerReport:
        if self._report is None:
            raise SandboxFailure("the supervisor has not been started")
        return self._report

    def start(self, report: LayerReport | None = None) -> None:
        """Probe the host (or use ``report``), refuse if a layer is missing, start zygotes.

        Raises :class:`SandboxUnavailable` naming every missing layer, unless the settings
        ask for the insecure development mode.
        """
        self._report = report or probe_layers()
        missing = self._report.missing
        if missing:
            names = ", ".join(f"{s.layer} ({s.detail})" for s in missing)
            if not self.settings.insecure_development:
                raise SandboxUnavailable(
                    f"refusing to run untrusted code: confinement layers missing on this host: "
                    f"{names}. Run as root on a Linux kernel that allows them (see "
                    "'lakevault sandbox check' and docs/sandbox.md), or set the insecure "
                    "development mode for local development only"
                )
            logger.warning(
                "INSECURE DEVELOPMENT MODE: untrusted code will run WITHOUT these layers: %s",
                names,
            )
        self._layers = tuple(layer for layer in LAYERS if layer in self._report.available_names)
        self._uid_block = claim_uid_block()
        try:
            self._start_pool()
        except BaseException:
            self.close()
            raise

    def _start_pool(self) -> None:
        """The work directory, the slots' cgroups and the zygotes, with the uid block held."""
        base = str(self.settings.work_directory) if self.settings.work_directory else None
        self._work = tempfile.TemporaryDirectory(prefix="lakevault-sandbox-", dir=base)
        os.chmod(self._work.name, 0o755)  # noqa: S103 - holds only an empty mount point
        self._root_mount_point = os.path.join(self._work.name, "root")
        if "cgroups" in self._layers:
            self._cgroup_system = _cgroups.detect()
            _cgroups.remove_stale_groups(self._cgroup_system, _GROUP_PREFIX)
            for slot in range(self.settings.zygotes):
                self._slot_cgroups[slot] = _cgroups.create_slot(
                    self._cgroup_system, self._group, slot
                )
        for slot in range(self.settings.zygotes):
            self._zygotes[slot] = self._start_zygote(slot)
            self._slots.put(slot)
        self._reaper = Reaper()
        self._started = True

    def _start_zygote(self, slot: int) -> _Zygote:
        slot_cgroup = self._slot_cgroups.get(slot)
        zygote = _Zygote(
            root_mount_point=self._root_mount_point,
            seccomp="seccomp" in self._layers,
            root="pivot_root" in self._layers and "mount" in self._layers,
            cgroup_procs=slot_cgroup.procs_files if slot_cgroup else [],
            layers=list(self._layers),
        )
        self.metrics.record_zygote_start()
        return zygote

    def close(self) -> None:
        """Stop the zygotes and remove the slot cgroups (after every sandbox has exited)."""
        if self._reaper is not None:
            self._reaper.close()
            self._reaper = None
        for zygote in self._zygotes.values():
            zygote.close()
        self._zygotes.clear()
        for slot_cgroup in self._slot_cgroups.values():
            slot_cgroup.remove()
        if self._cgroup_system is not None:
            _cgroups.remove_group(self._cgroup_system, self._group)
        self._slot_cgroups.clear()
        if self._work is not None:
            with contextlib.suppress(OSError):
                self._work.cleanup()
        if self._uid_block is not None:
            self._uid_block.release()  # after every sandbox of the block has exited
            self._uid_block = None
        self._started = False

    def __enter__(self) -> Supervisor:
        if not self._started:
            self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def zygote_pids(self) -> list[int]:
        return [z.process.pid for z in self._zygotes.values()]

    # -- invocations ----------------------------------------------------------------------

    def invoke(
        self,
        code: FunctionCode,
        event: Any,
        *,
        limits: Limits | None = None,
        context: dict[str, Any] | None = None,
        endpoints: Sequence[Endpoint] = (),
        network_policy: NetworkPolicy | None = None,
        invocation_type: InvocationType = InvocationType.SYNC,
    ) -> Outcome:
        """Run ``code``'s handler once on ``event`` in a fresh sandbox and return the outcome.

        Raises :class:`InvalidSandboxRequest` when the event is larger than the payload cap
        or not JSON, and :class:`SandboxFailure` when the sandbox itself could not be set up.
        Whatever the function does is in the :class:`Outcome`.
        """
        if not self._started:
            raise SandboxFailure("the supervisor has not been started")
        limits = limits or Limits()
        try:
            event_bytes = json.dumps(event, allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidSandboxRequest(f"the event is not JSON: {exc}") from exc
        cap = invocation_type.payload_limit_bytes
        if len(event_bytes) > cap:
            raise InvalidSandboxRequest(
                f"the event is {len(event_bytes)} bytes; the {invocation_type.value} payload "
                f"limit is {cap} bytes",
                code="RequestEntityTooLargeException",
            )
        if self.report.missing:
            logger.warning(
                "INSECURE DEVELOPMENT MODE: running %s without layers %s",
                code.path.name,
                ", ".join(s.layer for s in self.report.missing),
            )
        policy = network_policy or NetworkPolicy(endpoints=tuple(endpoints))
        full_context = {
            "function_name": code.path.stem if code.path.is_file() else code.path.name,
            "memory_limit_bytes": limits.memory_bytes,
            "timeout_seconds": limits.timeout_seconds,
            "allowed_endpoints": [str(e) for e in policy.endpoints],
            **(context or {}),
        }
        request = (
            b'{"event":'
            + event_bytes
            + b',"context":'
            + json.dumps(full_context, separators=(",", ":")).encode()
            + b"}"
        )
        slot = self._slots.get()
        try:
            outcome = self._run(slot, code, request, limits, policy)
        except BaseException:
            self._slots.put(slot)
            raise
        self.metrics.record_outcome(outcome)
        return outcome

    def _zygote(self, slot: int) -> _Zygote:
        """The slot's zygote, started anew (cold) if it died. The caller holds the slot."""
        zygote = self._zygotes[slot]
        if zygote.is_alive():
            self.metrics.record_warm_start()
            return zygote
        zygote.close()
        slot_cgroup = self._slot_cgroups.get(slot)
        if slot_cgroup is not None:
            slot_cgroup.kill_all()
        zygote = self._start_zygote(slot)
        self._zygotes[slot] = zygote
        return zygote

    def _slot_uid(self, slot: int) -> int:
        """The host uid (and gid) of the sandboxes of ``slot``."""
        if self._uid_block is None:
            raise SandboxFailure("the supervisor has not been started")
        return self._uid_block.base + slot

    def _spawn_request(self, slot: int, code: FunctionCode, limits: Limits) -> dict[str, Any]:
        return {
            "code_name": code.path.name,
            "code_is_dir": code.path.is_dir(),
            "handler": code.handler,
            "uid": self._slot_uid(slot),
            "gid": self._slot_uid(slot),
            "layers": list(self._layers),
            "limits": {
                "open_files": limits.open_files,
                "pids": limits.pids,
                "file_size_bytes": limits.file_size_bytes,
                "tmp_bytes": limits.tmp_bytes,
            },
        }

    def _run(
        self,
        slot: int,
        code: FunctionCode,
        request: bytes,
        limits: Limits,
        policy: NetworkPolicy,
    ) -> Outcome:
        slot_cgroup = self._slot_cgroups.get(slot)
        oom_before = self._apply_limits(slot, slot_cgroup, limits)
        spawn = self._spawn_request(slot, code, limits)
        pipes = [os.pipe2(os.O_CLOEXEC) for _ in range(5)]
        (status_r, status_w), (request_r, request_w), (result_r, result_w) = pipes[:3]
        (out_r, out_w), (err_r, err_w) = pipes[3:]
        child_fds = [status_w, request_r, result_w, out_w, err_w]
        broker: NetworkBroker | None = None
        if policy.endpoints:
            broker = NetworkBroker(policy)
            child_fds.append(broker.sandbox_end)
            spawn["broker"] = True
        try:
            child_fds.append(_open_code(code))
        except InvalidSandboxRequest:
            for fd in (*child_fds, status_r, request_w, result_r, out_r, err_r):
                os.close(fd)
            raise
        started = time.monotonic()
        try:
            self._spawn(slot, spawn, child_fds)
        finally:
            for fd in child_fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            if broker is not None:
                broker.start()
        run = _Run(keep={self._zygotes[slot].process.pid})
        try:
            self._collect(
                run,
                status_r=status_r,
                request_w=request_w,
                request=request,
                result_r=result_r,
                log_fds=(out_r, err_r),
                limits=limits,
                started=started,
                slot_cgroup=slot_cgroup,
            )
        except BaseException:
            if not run.status_closed:
                os.close(status_r)
            self._release(slot, slot_cgroup, run.keep)
            raise
        finally:
            if broker is not None:
                broker.close()
        duration_ms = (time.monotonic() - started) * 1000
        if run.prepared_ahead:
            self.metrics.record_prepared_start()
        if run.finished_early and not run.status_closed:
            # The answer is complete (or the deadline decided it); the sandbox's exit (the
            # namespace teardown costs the kernel an RCU grace period or two) is waited for
            # off the caller's path, and the slot is reused only once all of it is gone.
            if self._reaper is None:
                raise SandboxFailure("the supervisor has been closed")
            self._reaper.watch(
                status_r,
                on_status=lambda data: self._on_status(run, data),
                on_overdue=lambda: self._kill(run, slot_cgroup),
                on_gone=lambda: self._release(slot, slot_cgroup, run.keep),
            )
            return _outcome(run, limits=limits, duration_ms=duration_ms, oom=False)
        if not run.status_closed:
            os.close(status_r)
        self._release(slot, slot_cgroup, run.keep)
        oom = slot_cgroup is not None and slot_cgroup.oom_kills() > oom_before
        return _outcome(run, limits=limits, duration_ms=duration_ms, oom=oom)

    def _apply_limits(
        self, slot: int, slot_cgroup: _cgroups.SlotCgroup | None, limits: Limits
    ) -> int:
        """Set the slot's cgroup limits; return its OOM-kill count before the invocation."""
        if slot_cgroup is None:
            return 0
        # The slot's zygote and the next, prepared sandbox live in the slot too: two more
        # pids. The files are written only when the limits differ from the last ones.
        wanted = (limits.memory_bytes, limits.pids + 2, limits.cpu_fraction)
        if self._applied_limits.get(slot) != wanted:
            self._applied_limits.pop(slot, None)
            slot_cgroup.set_limits(memory_bytes=wanted[0], pids=wanted[1], cpu_fraction=wanted[2])
            self._applied_limits[slot] = wanted
        return slot_cgroup.oom_kills()

    def _spawn(self, slot: int, spawn: dict[str, Any], child_fds: list[int]) -> None:
        try:
            self._zygote(slot).spawn(spawn, child_fds)
        except OSError:
            # The zygote died between the check and the send: start a new one, once.
            self._zygotes[slot].process.kill()
            self._zygotes[slot].process.wait()
            self._zygote(slot).spawn(spawn, child_fds)

    def _release(self, slot: int, slot_cgroup: _cgroups.SlotCgroup | None, keep: set[int]) -> None:
        if slot_cgroup is not None:
            slot_cgroup.wait_empty(keep=keep)
        self._slots.put(slot)

    def _collect(
        self,
        run: _Run,
        *,
        status_r: int,
        request_w: int,
        request: bytes,
        result_r: int,
        log_fds: tuple[int, int],
        limits: Limits,
        started: float,
        slot_cgroup: _cgroups.SlotCgroup | None,
    ) -> None:
        selector = selectors.DefaultSelector()
        os.set_blocking(request_w, False)
        for fd in (status_r, result_r, *log_fds):
            selector.register(fd, selectors.EVENT_READ)
        selector.register(request_w, selectors.EVENT_WRITE)
        pending = memoryview(request)
        deadline = started + limits.timeout_seconds
        give_up: float | None = None
        answer_fds = {result_r, *log_fds}
        try:
            while selector.get_map():
                registered = selector.get_map()
                if (
                    run.result
                    and not run.result_too_large
                    and run.wait_status is None
                    and not any(fd in registered for fd in answer_fds)
                ):
                    run.finished_early = True
                    break
                now = time.monotonic()
                if not run.timed_out and now >= deadline and run.wait_status is None:
                    # The outcome is decided: kill, keep the logs already written, and leave
                    # the sandbox's exit to the reaper.
                    run.timed_out = True
                    self._kill(run, slot_cgroup)
                    self._drain_logs(run, selector, log_fds, limits)
                    run.finished_early = True
                    break
                if run.wait_status is not None and give_up is None:
                    give_up = now + _EXIT_GRACE_SECONDS
                if give_up is not None and now >= give_up:
                    self._kill(run, slot_cgroup)
                    break
                wait = (give_up if give_up is not None else deadline) - now
                for key, _ in selector.select(max(0.0, min(wait, 1.0))):
                    fd = int(key.fd)
                    if fd == request_w:
                        try:
                            written = os.write(fd, pending[:_READ_CHUNK])
                            pending = pending[written:]
                        except (BrokenPipeError, BlockingIOError) as exc:
                            if isinstance(exc, BlockingIOError):
                                continue
                            pending = pending[:0]
                        if not pending:
                            selector.unregister(fd)
                            os.close(fd)
                        continue
                    self._read_ready(
                        fd,
                        run,
                        selector=selector,
                        status_r=status_r,
                        result_r=result_r,
                        log_fds=log_fds,
                        limits=limits,
                    )
        finally:
            for key in list(selector.get_map().values()):
                if int(key.fd) != status_r:
                    with contextlib.suppress(OSError):
                        os.close(int(key.fd))
            selector.close()

    def _read_ready(
        self,
        fd: int,
        run: _Run,
        *,
        selector: selectors.BaseSelector,
        status_r: int,
        result_r: int,
        log_fds: tuple[int, int],
        limits: Limits,
    ) -> None:
        """Read what one descriptor has; enforce the result and log caps by closing it."""
        data = os.read(fd, _READ_CHUNK)
        if not data:
            selector.unregister(fd)
            os.close(fd)
            if fd == status_r:
                run.status_closed = True
            return
        if fd == status_r:
            self._on_status(run, data)
        elif fd == result_r:
            run.result += data
            if len(run.result) > limits.result_bytes + _RESULT_OVERHEAD:
                run.result_too_large = True
                selector.unregister(fd)
                os.close(fd)
        else:
            room = limits.log_bytes - len(run.logs)
            run.logs += data[:room]
            if len(data) > room:
                run.logs_truncated = True
                for log_fd in log_fds:
                    with contextlib.suppress(KeyError, OSError):
                        selector.unregister(log_fd)
                        os.close(log_fd)

    def _drain_logs(
        self,
        run: _Run,
        selector: selectors.BaseSelector,
        log_fds: tuple[int, int],
        limits: Limits,
    ) -> None:
        """Read what the log pipes already hold, without waiting for more."""
        for fd in log_fds:
            if fd not in selector.get_map():
                continue
            os.set_blocking(fd, False)
            with contextlib.suppress(BlockingIOError, OSError):
                while len(run.logs) < limits.log_bytes and (data := os.read(fd, _READ_CHUNK)):
                    run.logs += data[: limits.log_bytes - len(run.logs)]

    @staticmethod
    def _on_status(run: _Run, data: bytes) -> None:
        run.status_buffer += data
        while b"\n" in run.status_buffer:
            line, _, rest = bytes(run.status_buffer).partition(b"\n")
            run.status_buffer = bytearray(rest)
            message = json.loads(line)
            if "pid" in message:
                run.sandbox_pid = int(message["pid"])
                run.prepared_ahead = bool(message.get("ahead"))
            elif "wait_status" in message:
                run.wait_status = int(message["wait_status"])
            elif "prepared" in message:
                run.keep.add(int(message["prepared"]))
            elif "setup_error" in message:
                run.setup_error = (str(message["setup_error"]), str(message.get("detail", "")))

    @staticmethod
    def _kill(run: _Run, slot_cgroup: _cgroups.SlotCgroup | None) -> None:
        """SIGKILL the sandbox (init of its pid namespace: all of it dies) and anything else
        in its slot but the zygote."""
        if run.sandbox_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(run.sandbox_pid, signal.SIGKILL)
        if slot_cgroup is not None:
            slot_cgroup.kill_all(wait_seconds=0.5, keep=run.keep)


def _open_code(code: FunctionCode) -> int:
    """The code is passed open: the sandbox may already have left the host's file tree."""
    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if code.path.is_dir() else 0)
    try:
        return os.open(code.path, flags)
    except OSError as exc:
        raise InvalidSandboxRequest(
            f"cannot read the function's code {code.path}: {exc.strerror}"
        ) from exc


def _outcome(run: _Run, *, limits: Limits, duration_ms: float, oom: bool) -> Outcome:
    """Turn what was gathered into the one outcome, trusting nothing the sandbox wrote."""
    if run.setup_error is not None:
        layer, detail = run.setup_error
        raise SandboxFailure(f"the sandbox could not apply the {layer} layer: {detail}")
    logs = run.logs.decode("utf-8", errors="replace")
    if run.logs_truncated:
        logs += f"\n[lakevault: logs truncated at {limits.log_bytes} bytes]"
    common: dict[str, Any] = {
        "logs": logs,
        "duration_ms": duration_ms,
        "logs_truncated": run.logs_truncated,
    }
    if run.timed_out:
        return Outcome(
            status=Status.TIMEOUT,
            error={
                "type": "Timeout",
                "reason": KillReason.DEADLINE.value,
                "message": f"the function ran past its {limits.timeout_seconds:g}s deadline "
                "and was killed",
            },
            kill_reason=KillReason.DEADLINE,
            **common,
        )
    status = run.wait_status
    signaled = status is not None and os.WIFSIGNALED(status)
    if signaled or (oom and not run.result):
        reason = KillReason.MEMORY if oom else KillReason.SIGNAL
        if oom:
            message = (
                f"the function exceeded its memory limit of {limits.memory_bytes} bytes and "
                "the kernel's OOM killer stopped it"
            )
        else:
            number = os.WTERMSIG(status) if status is not None else 0
            message = f"the function was killed by signal {signal.Signals(number).name}"
        return Outcome(
            status=Status.KILLED,
            error={"type": "Killed", "reason": reason.value, "message": message},
            kill_reason=reason,
            **common,
        )
    if run.result_too_large:
        return Outcome(
            status=Status.ERROR,
            error={
                "type": "ResultTooLarge",
                "message": f"the result is larger than the limit of {limits.result_bytes} bytes",
            },
            **common,
        )
    if not run.result:
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
        return Outcome(
            status=Status.ERROR,
            error={
                "type": "NoResult",
                "message": f"the function's process exited (code {code}) without a result",
            },
            **common,
        )
    try:
        answer = json.loads(bytes(run.result))
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            raise ValueError("not a result envelope")
    except ValueError:
        return Outcome(
            status=Status.ERROR,
            error={"type": "InvalidResult", "message": "the sandbox's answer is not valid JSON"},
            **common,
        )
    if answer["ok"]:
        if len(json.dumps(answer.get("result"))) > limits.result_bytes:
            return Outcome(
                status=Status.ERROR,
                error={
                    "type": "ResultTooLarge",
                    "message": f"the result is larger than {limits.result_bytes} bytes",
                },
                **common,
            )
        return Outcome(status=Status.OK, result=answer.get("result"), **common)
    error = answer.get("error")
    if not isinstance(error, dict):
        error = {"type": "InvalidResult", "message": "the sandbox's error is malformed"}
    return Outcome(status=Status.ERROR, error=error, **common)
