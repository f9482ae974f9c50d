"""The hostile-function battery: each attack runs for real, and each test asserts the specific
containment (the errno the kernel answered, the status and kill reason, what the host saw)."""

from __future__ import annotations

import errno
import os
import platform
import resource
import secrets
import socket
import time
from pathlib import Path

import pytest

from lakevault.sandbox import KillReason, Limits, Status, Supervisor
from tests.unit.sandbox.conftest import WriteFunction

REPO_ROOT = Path(__file__).resolve().parents[3]

# -- network --------------------------------------------------------------------------------


def test_loopback_listener_sees_no_connection(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    code = write_function(
        """
        import socket
        def handler(event, context):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", event["port"]))
            except OSError as exc:
                return {"errno": exc.errno, "interfaces": [n for _, n in socket.if_nameindex()]}
            return {"connected": True}
        """
    )
    outcome = supervisor.invoke(code, {"port": port})
    assert outcome.status is Status.OK, outcome
    assert outcome.result["errno"] == errno.ENETUNREACH
    assert outcome.result["interfaces"] == ["lo"]  # a network namespace of its own, lo down
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()


def test_metadata_address_is_unreachable(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        import socket
        def handler(event, context):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("169.254.169.254", 80))
            except OSError as exc:
                return exc.errno
        """
    )
    outcome = supervisor.invoke(code, {})
    assert outcome.result == errno.ENETUNREACH


def test_dns_does_not_resolve(supervisor: Supervisor, write_function: WriteFunction) -> None:
    code = write_function(
        """
        import os, socket
        def handler(event, context):
            try:
                socket.getaddrinfo("example.com", 443)
            except socket.gaierror as exc:
                resolved = "gaierror"
            else:
                resolved = "resolved"
            return {"resolved": resolved, "resolv_conf": os.path.exists("/etc/resolv.conf")}
        """
    )
    outcome = supervisor.invoke(code, {})
    assert outcome.result == {"resolved": "gaierror", "resolv_conf": False}


# -- host files and secrets ------------------------------------------------------------------


def test_host_files_are_not_there(supervisor: Supervisor, write_function: WriteFunction) -> None:
    code = write_function(
        """
        import os
        def handler(event, context):
            found = {}
            for path in event["paths"]:
                try:
                    with open(path, "rb") as f:
                        found[path] = "READ"
                except OSError as exc:
                    found[path] = exc.errno
            return {"found": found, "root": sorted(os.listdir("/"))}
        """
    )
    paths = [
        "/etc/shadow",
        "/etc/passwd",
        str(REPO_ROOT / "pyproject.toml"),
        str(code.path),
        "/proc/1/environ",
        f"/proc/{os.getpid()}/environ",
        "/sys/fs/cgroup/cgroup.procs",
        "/root/.bash_history",
    ]
    outcome = supervisor.invoke(code, {"paths": paths})
    assert outcome.result["found"] == {path: errno.ENOENT for path in paths}
    # The root holds the runtime, the function's own copy, /dev/null and /tmp, nothing else.
    assert set(outcome.result["root"]) <= {".old", "dev", "function", "lib", "lib64", "tmp"} | {
        "usr",
        "root",
        "opt",
        "home",
    }
    assert "etc" not in outcome.result["root"] and "proc" not in outcome.result["root"]


def test_no_environment_reaches_the_function(
    supervisor: Supervisor, write_function: WriteFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = "supervisor-secret-" + secrets.token_hex(8)
    monkeypatch.setenv("LAKEVAULT_TEST_SANDBOX_SECRET", marker)
    code = write_function(
        """
        import os
        def handler(event, context):
            return dict(os.environ)
        """
    )
    outcome = supervisor.invoke(code, {})
    assert outcome.result == {}
    for pid in supervisor.zygote_pids:  # the zygotes were started with an empty environment
        assert Path(f"/proc/{pid}/environ").read_bytes() == b""


def test_writes_outside_tmp_fail_read_only(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        def handler(event, context):
            answers = {}
            for path in ["/evil", "/function/evil.py", "/usr/lib/evil", "/dev/evil", "/tmp/ok"]:
                try:
                    with open(path, "w") as f:
                        f.write("x")
                    answers[path] = "written"
                except OSError as exc:
                    answers[path] = exc.errno
            return answers
        """
    )
    outcome = supervisor.invoke(code, {})
    assert outcome.result == {
        "/evil": errno.EROFS,
        "/function/evil.py": errno.EROFS,
        "/usr/lib/evil": errno.EROFS,
        "/dev/evil": errno.EROFS,
        "/tmp/ok": "written",
    }


def test_tmp_is_noexec_and_size_limited(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        import os
        def handler(event, context):
            flags = os.statvfs("/tmp").f_flag
            try:
                with open("/tmp/big", "wb") as f:
                    for _ in range(64):
                        f.write(b"x" * (1 << 20))
                        f.flush()
                written = "all"
            except OSError as exc:
                written = exc.errno
            return {"noexec": bool(flags & os.ST_NOEXEC), "nosuid": bool(flags & os.ST_NOSUID),
                    "written": written}
        """
    )
    limits = Limits(tmp_bytes=8 << 20, memory_bytes=256 << 20)
    outcome = supervisor.invoke(code, {}, limits=limits)
    assert outcome.result == {"noexec": True, "nosuid": True, "written": errno.ENOSPC}


def test_previous_invocations_tmp_is_gone(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    writer = write_function(
        """
        def handler(event, context):
            with open("/tmp/leftover", "w") as f:
                f.write(event["secret"])
            return "written"
        """
    )
    reader = write_function(
        """
        import os
        def handler(event, context):
            return os.listdir("/tmp")
        """
    )
    assert supervisor.invoke(writer, {"secret": "tenant-a"}).result == "written"
    for _ in range(4):  # every slot and zygote in turn
        assert supervisor.invoke(reader, {}).result == []


def test_a_sandbox_cannot_find_a_previous_tenants_data_in_memory(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    marker = "tenant-a-payload-" + secrets.token_hex(12)
    keeper = write_function(
        """
        SEEN = []
        def handler(event, context):
            SEEN.append(event["secret"] * 3)
            return len(SEEN)
        """
    )
    assert supervisor.invoke(keeper, {"secret": marker}).result == 1
    scanner = write_function(
        """
        import gc
        def handler(event, context):
            needle = event["prefix"]
            hits = 0
            for obj in gc.get_objects():
                try:
                    text = repr(obj)
                except Exception:
                    continue
                if needle in text and text.count(needle) > 1:
                    hits += 1
            return hits
        """
    )
    # The scanner's own event holds the prefix once; anything more would be a leftover.
    assert supervisor.invoke(scanner, {"prefix": marker[:24]}).result == 0
    # And the zygotes, which every sandbox is forked from, never held the payload at all.
    for pid in supervisor.zygote_pids:
        memory = _process_memory(pid)
        assert b"lakevault.sandbox._zygote" in memory  # the scan does see the zygote's heap
        assert marker.encode() not in memory


def _process_memory(pid: int) -> bytes:
    chunks: list[bytes] = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as memory:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5].startswith("[v")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                memory.seek(start)
                chunks.append(memory.read(end - start))
            except OSError:
                continue
    return b"".join(chunks)


# -- resources -------------------------------------------------------------------------------


def test_fork_bomb_is_stopped_by_the_pids_limit(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        import os, time
        def handler(event, context):
            children = 0
            try:
                while children < 10000:
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(30)
                        os._exit(0)
                    children += 1
            except OSError as exc:
                return {"children": children, "errno": exc.errno}
            return {"children": children, "errno": None}
        """
    )
    started = time.monotonic()
    outcome = supervisor.invoke(code, {}, limits=Limits(pids=16, timeout_seconds=10))
    assert outcome.status is Status.OK, outcome
    assert outcome.result["errno"] == errno.EAGAIN
    assert outcome.result["children"] < 16
    # The sleeping children died with the sandbox's pid namespace: the invocation did not
    # wait 30 s for them, and no process of the slot is left on the host.
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 3  # the slot is freed once the kernel has torn it down
    while _processes_of_uids(range(3_000_000, 3_700_000)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _processes_of_uids(range(3_000_000, 3_700_000)) == []


def _processes_of_uids(uids: range) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("Uid:") and int(line.split()[1]) in uids:
                    found.append(int(entry))
    return found


def test_memory_bomb_is_oom_killed_at_the_limit(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        def handler(event, context):
            hog = []
            while True:
                hog.append(bytearray(8 << 20))
        """
    )
    outcome = supervisor.invoke(code, {}, limits=Limits(memory_bytes=64 << 20, timeout_seconds=20))
    assert outcome.status is Status.KILLED, outcome
    assert outcome.kill_reason is KillReason.MEMORY
    assert outcome.error is not None and outcome.error["reason"] == "memory"
    assert str(64 << 20) in outcome.error["message"]
    # The host is unaffected: the next invocation runs normally.
    fine = write_function("def handler(event, context):\n    return 'fine'\n")
    assert supervisor.invoke(fine, {}).result == "fine"


def test_cpu_spin_is_killed_within_deadline_plus_ten_percent(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        def handler(event, context):
            print("spinning", flush=True)
            while True:
                pass
        """
    )
    started = time.monotonic()
    outcome = supervisor.invoke(code, {}, limits=Limits(timeout_seconds=1))
    assert outcome.logs == "spinning\n"  # what was written before the kill is kept
    elapsed = time.monotonic() - started
    assert outcome.status is Status.TIMEOUT
    assert outcome.kill_reason is KillReason.DEADLINE
    assert outcome.error is not None and outcome.error["reason"] == "deadline"
    assert 1.0 <= elapsed <= 1.1, elapsed
    assert outcome.duration_ms <= 1100


def test_descriptor_exhaustion_stops_at_1024(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        import os
        def handler(event, context):
            opened = []
            try:
                while len(opened) < 100000:
                    opened.append(os.open("/dev/null", os.O_RDONLY))
            except OSError as exc:
                return {"opened": len(opened), "errno": exc.errno}
        """
    )
    outcome = supervisor.invoke(code, {})
    assert outcome.result["errno"] == errno.EMFILE
    assert 1000 <= outcome.result["opened"] < 1024


# -- kernel surface --------------------------------------------------------------------------

#: x86_64 numbers of the calls a function must not make; each must answer EPERM (seccomp).
FORBIDDEN_SYSCALLS = {
    "ptrace": 101,
    "mount": 165,
    "umount2": 166,
    "chroot": 161,
    "pivot_root": 155,
    "unshare": 272,
    "setns": 308,
    "keyctl": 250,
    "add_key": 248,
    "bpf": 321,
    "perf_event_open": 298,
    "io_uring_setup": 425,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "init_module": 175,
    "kexec_load": 246,
    "userfaultfd": 323,
    "execve": 59,
}


def test_forbidden_system_calls_answer_eperm(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    if platform.machine() != "x86_64":
        pytest.skip(f"system call numbers are listed for x86_64, not {platform.machine()}")
    code = write_function(
        """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        def handler(event, context):
            answers = {}
            for name, number in event["calls"].items():
                # Arguments aim at the zygote where a call takes a pid.
                result = libc.syscall(number, event["zygote"], 0, 0, 0, 0, 0)
                answers[name] = ctypes.get_errno() if result == -1 else "SUCCEEDED"
            return answers
        """
    )
    zygote = supervisor.zygote_pids[0]
    outcome = supervisor.invoke(code, {"calls": FORBIDDEN_SYSCALLS, "zygote": zygote})
    assert outcome.result == {name: errno.EPERM for name in FORBIDDEN_SYSCALLS}


def test_ptrace_and_signals_cannot_reach_the_zygote_or_the_supervisor(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        import os, signal
        def handler(event, context):
            answers = {"pid": os.getpid(), "uid": os.getuid()}
            for name, pid in event["targets"].items():
                try:
                    os.kill(pid, signal.SIGKILL)
                    answers[name] = "SENT"
                except OSError as exc:
                    answers[name] = exc.errno
            try:
                os.kill(-1, signal.SIGKILL)  # everything this process may signal
                answers["all"] = "sent"
            except OSError as exc:
                answers["all"] = exc.errno
            try:
                os.setuid(0)
                answers["setuid"] = "root"
            except OSError as exc:
                answers["setuid"] = exc.errno
            return answers
        """
    )
    targets = {"supervisor": os.getpid(), "zygote": supervisor.zygote_pids[0]}
    outcome = supervisor.invoke(code, {"targets": targets})
    assert outcome.result["pid"] == 1  # init of its own pid namespace
    assert outcome.result["uid"] == 65534  # an unmapped, unprivileged uid
    assert outcome.result["supervisor"] == errno.ESRCH
    assert outcome.result["zygote"] == errno.ESRCH
    assert outcome.result["all"] in {"sent", errno.ESRCH}
    assert outcome.result["setuid"] == errno.EPERM
    for pid in supervisor.zygote_pids:
        os.kill(pid, 0)  # still alive
    fine = supervisor.invoke(code, {"targets": {}})
    assert fine.status is Status.OK


# -- output caps -----------------------------------------------------------------------------


def test_stdout_flood_is_capped_without_buffering_it(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        import sys
        def handler(event, context):
            chunk = "x" * (1 << 20)
            for _ in range(100):
                sys.stdout.write(chunk)
            return "flooded"
        """
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    outcome = supervisor.invoke(code, {}, limits=Limits(log_bytes=64 * 1024))
    assert time.monotonic() - started < 10
    assert outcome.logs_truncated
    assert outcome.logs.startswith("x" * 1000)
    assert len(outcome.logs) <= 64 * 1024 + 100
    assert "logs truncated at 65536 bytes" in outcome.logs
    # The writer hit a closed pipe; the supervisor never held the 100 MB.
    assert outcome.status is Status.ERROR
    assert outcome.error is not None and outcome.error["type"] == "BrokenPipeError"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024


def test_ten_megabyte_result_is_refused(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        def handler(event, context):
            return "r" * (10 * 1000 * 1000)
        """
    )
    outcome = supervisor.invoke(code, {})
    assert outcome.status is Status.ERROR
    assert outcome.error is not None and outcome.error["type"] == "ResultTooLarge"
    assert outcome.result is None


@pytest.mark.parametrize("value", ["object()", "float('nan')", "{1, 2}", "b'bytes'"])
def test_a_result_that_is_not_json_is_an_error(
    supervisor: Supervisor, write_function: WriteFunction, value: str
) -> None:
    code = write_function(f"def handler(event, context):\n    return {value}\n")
    outcome = supervisor.invoke(code, {})
    assert outcome.status is Status.ERROR
    assert outcome.error is not None and outcome.error["type"] == "ResultNotJSON"


def test_garbage_written_to_the_result_pipe_is_an_error(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        import os
        def handler(event, context):
            os.write(4, b"\\xff not json {")
            os._exit(0)
        """
    )
    outcome = supervisor.invoke(code, {})
    assert outcome.status is Status.ERROR
    assert outcome.error == {
        "type": "InvalidResult",
        "message": "the sandbox's answer is not valid JSON",
    }


def test_no_capabilities_and_no_new_privileges(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        def handler(event, context):
            bounding = [c for c in range(41) if libc.prctl(23, c, 0, 0, 0) == 1]
            header = (ctypes.c_uint32 * 2)(0x20080522, 0)
            data = (ctypes.c_uint32 * 6)()
            libc.capget(header, data)
            return {
                "bounding": bounding,
                "effective_permitted_inheritable": list(data),
                "no_new_privs": libc.prctl(39, 0, 0, 0, 0),
                "seccomp_mode": libc.prctl(21, 0, 0, 0, 0),
            }
        """
    )
    outcome = supervisor.invoke(code, {})
    assert outcome.result == {
        "bounding": [],
        "effective_permitted_inheritable": [0, 0, 0, 0, 0, 0],
        "no_new_privs": 1,
        "seccomp_mode": 2,  # SECCOMP_MODE_FILTER
    }


def test_a_sibling_sandbox_cannot_be_reached(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    import threading

    sleeper = write_function("import time\ndef handler(event, context):\n    time.sleep(3)\n")
    sibling_outcomes: list[object] = []
    sibling = threading.Thread(
        target=lambda: sibling_outcomes.append(supervisor.invoke(sleeper, {}).status)
    )
    sibling.start()
    deadline = time.monotonic() + 5
    pids: list[int] = []
    while not pids and time.monotonic() < deadline:
        pids = _processes_of_uids(range(3_000_000, 3_700_000))
        time.sleep(0.02)
    assert pids, "the sibling sandbox did not start"
    code = write_function(
        """
        import ctypes, os, signal
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        def handler(event, context):
            pid = event["sibling"]
            answers = {}
            try:
                os.kill(pid, signal.SIGKILL)
                answers["kill"] = "SENT"
            except OSError as exc:
                answers["kill"] = exc.errno
            for name, number in (("ptrace", 101), ("process_vm_readv", 310)):
                if libc.syscall(number, 16 if name == "ptrace" else pid, pid, 0, 0, 0, 0) == -1:
                    answers[name] = ctypes.get_errno()
                else:
                    answers[name] = "SUCCEEDED"
            return answers
        """
    )
    if platform.machine() != "x86_64":
        pytest.skip(f"system call numbers are listed for x86_64, not {platform.machine()}")
    outcome = supervisor.invoke(code, {"sibling": pids[0]})
    sibling.join()
    assert outcome.result == {
        "kill": errno.ESRCH,  # not in this sandbox's pid namespace
        "ptrace": errno.EPERM,
        "process_vm_readv": errno.EPERM,
    }
    assert sibling_outcomes == [Status.OK]  # the sibling ran to its end, untouched
