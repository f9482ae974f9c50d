"""SIGTERM / SIGINT stop ``lakevault worker`` whenever they arrive (cli/_stop_signals.py).

A handler that called ``Event.set()`` deadlocked when the signal landed while the main thread
held the event's condition lock (inside ``stop.wait``): the worker then ran on forever, even
after its server died. These tests send the signal at random instants into a main thread that
is almost always inside that lock, in a real process, and fail on a hang.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.integration.conftest import lakevault_env, run

_STRESS = textwrap.dedent(
    """
    import os, random, signal, sys, threading, time
    from lakevault.cli._stop_signals import StopOnSignals

    for round_number in range({rounds}):
        stop = StopOnSignals()

        def send() -> None:
            time.sleep(random.random() * 0.002)
            os.kill(os.getpid(), signal.{signal})

        threading.Thread(target=send).start()
        deadline = time.monotonic() + 5
        while not stop.event.wait(0):  # always inside the event's condition lock
            if time.monotonic() > deadline:
                sys.exit(f"round {{round_number}}: the signal did not set the event")
        stop.close()
    print("stopped every time")
    """
)


def _python(script: str, *, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_stop_signal_at_any_instant_sets_the_event(sig: str) -> None:
    # 300 rounds: the handler of old deadlocked within the first few dozen on this machine.
    script = _STRESS.format(rounds=300, signal=sig)
    done = _python(script, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "stopped every time"


def test_other_signals_do_not_stop_and_close_restores_the_handlers() -> None:
    script = textwrap.dedent(
        """
        import os, signal, time
        from lakevault.cli._stop_signals import StopOnSignals

        alarms = []
        signal.signal(signal.SIGALRM, lambda s, f: alarms.append(s))
        before = signal.getsignal(signal.SIGTERM)
        stop = StopOnSignals()
        os.kill(os.getpid(), signal.SIGALRM)  # a job deadline's signal goes down the same pipe
        time.sleep(0.3)
        assert alarms and not stop.event.is_set(), "SIGALRM must not stop the worker"
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.event.wait(5), "SIGTERM did not set the event"
        stop.close()
        assert signal.getsignal(signal.SIGTERM) is before
        assert signal.set_wakeup_fd(-1) == -1, "the wakeup descriptor was not put back"
        print("ok")
        """
    )
    done = _python(script, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_the_worker_command_stops_on_sigterm(tmp_path: Path) -> None:
    # The real command: SIGTERM ends it with its summary line, promptly.
    home = tmp_path / "home"
    assert run(["init"], home, tmp_path).returncode == 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "lakevault", "worker"],
        env=lakevault_env(home),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stderr is not None
        line = worker.stderr.readline()
        assert "running" in line, line
        time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 0
    assert "stopped after" in err
