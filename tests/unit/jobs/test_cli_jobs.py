"""``lakevault jobs``, ``lakevault worker`` and the workers of ``lakevault serve``
(lakevault/cli/_jobs.py), on an embedded installation in a temporary home."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from lakevault.cli import app
from lakevault.core import load_settings
from lakevault.jobs import PURGE_TASK, JobId, JobState, PurgeFinishedJobs
from lakevault.runtime import Platform, initialise
from tests.conftest import REPO_ROOT


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Platform:
    home = tmp_path / "home"
    monkeypatch.setenv("LAKEVAULT_HOME", str(home))
    built = Platform.build(load_settings({"LAKEVAULT_HOME": str(home)}))
    initialise(built)
    return built


def later_job(platform: Platform) -> JobId:
    with platform.database.session() as session:
        return platform.jobs.enqueue(
            session,
            PURGE_TASK,
            PurgeFinishedJobs(older_than_days=30),
            run_at=datetime.now(UTC) + timedelta(hours=1),
        )


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_list_show_cancel_stats_and_purge(platform: Platform) -> None:
    job_id = later_job(platform)
    code, output = invoke("jobs", "list", "--json")
    assert code == 0
    assert [job["jobId"] for job in orjson.loads(output)] == [job_id]
    code, output = invoke("jobs", "show", str(job_id), "--json")
    assert orjson.loads(output)["payload"] == {"older_than_days": 30.0}
    assert invoke("jobs", "cancel", str(job_id)) == (
        0,
        f"job {job_id} ({PURGE_TASK}) is cancelled\n",
    )
    code, output = invoke("jobs", "cancel", str(job_id))
    assert code == 1
    assert "(IncorrectState)" in output
    code, output = invoke("jobs", "stats", "--json")
    assert orjson.loads(output)["countsByState"]["cancelled"] == 1
    code, output = invoke("jobs", "list", "--state", "waiting", "--json")
    assert orjson.loads(output) == []
    assert invoke("jobs", "purge", "--older-than", "0s") == (0, "purged 1 job\n")
    code, output = invoke("jobs", "show", str(job_id))
    assert code == 1
    assert "(NoSuchEntity)" in output


def test_a_bad_age_is_a_clear_error(platform: Platform) -> None:
    code, output = invoke("jobs", "list", "--older-than", "3 weeks")
    assert code == 1
    assert "--older-than must be a number and a unit s, m, h or d" in output


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEVAULT_")}
    env.update(extra)
    return env


def wait_done(platform: Platform, job_id: JobId) -> None:
    deadline = time.monotonic() + 30
    while platform.jobs.get(job_id).state is not JobState.DONE:
        assert time.monotonic() < deadline, "the job was not run in 30 s"
        time.sleep(0.1)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_lakevault_worker_runs_jobs_and_stops_on_sigterm(platform: Platform) -> None:
    job_id = later_job(platform)
    platform.jobs.retry(job_id)  # due now
    worker = subprocess.Popen(
        [sys.executable, "-m", "lakevault", "worker", "--name", "w1"],
        cwd=REPO_ROOT,
        env=environment(LAKEVAULT_HOME=os.environ["LAKEVAULT_HOME"], LAKEVAULT_LOG_LEVEL="warning"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_done(platform, job_id)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=30)
    assert worker.returncode == 0
    # The purge job, and the period(s) of the platform's audit checkpoint schedule.
    stopped = re.search(r"lakevault worker w1 stopped after (\d+) attempts", errors)
    assert stopped is not None
    assert int(stopped.group(1)) >= 2


@pytest.mark.slow
def test_serve_starts_its_workers_and_stops_them(platform: Platform) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "lakevault", "serve", "--port", "0"],
        cwd=REPO_ROOT,
        env=environment(
            LAKEVAULT_HOME=os.environ["LAKEVAULT_HOME"],
            LAKEVAULT_WORKERS="2",
            LAKEVAULT_LOG_LEVEL="warning",
        ),
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        # Two job workers and the second HTTP process of the default (ADR 0268).
        while len(children(server.pid)) < 3:
            assert time.monotonic() < deadline, "serve did not start 2 workers"
            time.sleep(0.1)
        workers = children(server.pid)
        job_id = later_job(platform)
        platform.jobs.retry(job_id)
        wait_done(platform, job_id)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert server.returncode == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()


@pytest.mark.slow
def test_workers_of_a_killed_server_stop_by_themselves(platform: Platform) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "lakevault", "serve", "--port", "0"],
        cwd=REPO_ROOT,
        env=environment(
            LAKEVAULT_HOME=os.environ["LAKEVAULT_HOME"],
            LAKEVAULT_WORKERS="1",
            LAKEVAULT_LOG_LEVEL="warning",
        ),
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    # The job worker and the second HTTP process of the default (ADR 0268): both are orphaned.
    while len(children(server.pid)) < 2:
        assert time.monotonic() < deadline, "serve did not start its worker"
        time.sleep(0.1)
    orphans = children(server.pid)
    server.kill()
    server.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(is_running(pid) for pid in orphans):
        assert time.monotonic() < deadline, "an orphaned worker kept running"
        time.sleep(0.1)


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
