"""The queue contract, run against every backend (see conftest.BACKENDS).

Real databases and, where the contract is about processes (kills, concurrency, periodic
schedules), real worker processes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from lakevault.audit import DatabaseAuditLog
from lakevault.core import PLATFORM_ACCOUNT_ID, FixedClock
from lakevault.db import models
from lakevault.jobs import (
    InvalidJobPayload,
    InvalidJobState,
    JobId,
    JobQueue,
    JobState,
    NoSuchJob,
    QueueingLockHeld,
    UnknownTask,
)
from tests.unit.jobs.conftest import Backend
from tests.unit.jobs.tasks import Fail, Record, Slow


def enqueue(
    backend: Backend, queue: JobQueue, task: str, payload: object, **options: object
) -> JobId:
    with backend.database.session() as session:
        return queue.enqueue(session, task, payload, **options)  # type: ignore[arg-type]


def wait_for(condition: object, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


# --- enqueue in the caller's transaction --------------------------------------------------


def test_enqueue_in_a_transaction_that_rolls_back_leaves_no_job(backend: Backend) -> None:
    queue = backend.queue()

    class Abort(Exception):
        pass

    with pytest.raises(Abort), backend.database.session() as session:
        queue.enqueue(session, "test.record", Record(key="a"), idempotency_key="k-1")
        raise Abort
    assert queue.list_jobs() == []
    assert queue.stats().counts_by_state[JobState.WAITING] == 0
    with backend.database.read_session() as session:
        assert session.scalars(select(models.JobIdempotencyKey.key)).all() == []


def test_enqueue_commits_with_the_callers_change(backend: Backend) -> None:
    queue = backend.queue()
    with backend.database.session() as session:
        job_id = queue.enqueue(session, "test.record", {"key": "b"})
    job = queue.get(job_id)
    assert job.state is JobState.WAITING
    assert job.task_name == "test.record"
    assert job.payload == {"key": "b", "sleep_seconds": 0.0, "once": False}


def test_malformed_payload_is_refused_at_enqueue_naming_the_field(backend: Backend) -> None:
    queue = backend.queue()
    with backend.database.session() as session:
        with pytest.raises(InvalidJobPayload) as refused:
            queue.enqueue(session, "test.record", {"key": 5, "sleep_seconds": "soon"})
        # The caller's transaction is still usable after the refusal.
        queue.enqueue(session, "test.record", {"key": "fine"})
    assert refused.value.code == "InvalidParameterValue"
    assert refused.value.http_status == 400
    assert "field 'key'" in refused.value.message
    assert "field 'sleep_seconds'" in refused.value.message
    assert "soon" not in refused.value.message  # values are never echoed
    assert [job.payload["key"] for job in queue.list_jobs()] == ["fine"]


def test_unknown_task_is_refused_listing_the_known_ones(backend: Backend) -> None:
    queue = backend.queue()
    with pytest.raises(UnknownTask, match=r"test\.record") as refused:
        enqueue(backend, queue, "test.nope", {})
    assert refused.value.code == "InvalidParameterValue"
    assert queue.list_jobs() == []


def test_idempotency_key_enqueues_one_job(backend: Backend) -> None:
    queue = backend.queue()
    first = enqueue(backend, queue, "test.record", Record(key="x"), idempotency_key="same")
    second = enqueue(backend, queue, "test.record", Record(key="y"), idempotency_key="same")
    assert first == second
    assert len(queue.list_jobs()) == 1


# --- running ------------------------------------------------------------------------------


def test_a_worker_runs_due_jobs_by_priority_and_leaves_later_ones(backend: Backend) -> None:
    queue = backend.queue()
    enqueue(backend, queue, "test.record", Record(key="low"), priority=0)
    enqueue(backend, queue, "test.record", Record(key="high"), priority=10)
    later = enqueue(
        backend,
        queue,
        "test.record",
        Record(key="later"),
        run_at=datetime.now(UTC) + timedelta(hours=1),
    )
    assert queue.run_worker(name="t", until_idle=True) == 2
    assert [key for key, _, _ in backend.runs("run")] == ["high", "low"]
    assert queue.get(later).state is JobState.WAITING
    assert queue.stats().counts_by_state[JobState.DONE] == 2


def test_retries_follow_the_backoff_and_end_dead_with_the_error(backend: Backend) -> None:
    # The clock runs a day ahead, so that each retry is in the future for every backend (the
    # Procrastinate worker compares with the database's clock) until 'retry' makes it due.
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0) + timedelta(days=1))
    queue = backend.queue(clock=clock)
    job_id = enqueue(backend, queue, "test.fail", Fail(message="the store is down"))
    for failed, delay in ((1, 10.0), (2, 20.0)):
        queue.run_worker(name="t", until_idle=True)
        job = queue.get(job_id)
        assert job.state is JobState.WAITING
        assert job.attempts == failed
        assert job.run_at == clock.now() + timedelta(seconds=delay)
        assert job.last_error == "RuntimeError: the store is down"
        queue.retry(job_id)  # due now, without waiting for the backoff
    queue.run_worker(name="t", until_idle=True)
    job = queue.get(job_id)
    assert job.state is JobState.DEAD
    assert job.attempts == 3
    assert job.last_error == "RuntimeError: the store is down"
    assert len(backend.runs("start", "fail")) == 3
    stats = queue.stats()
    assert stats.failures_by_task == {"test.fail": 3}
    assert stats.dead_by_task == {"test.fail": 1}
    events = [
        event
        for event in DatabaseAuditLog(backend.database).read(PLATFORM_ACCOUNT_ID)
        if event["eventName"] == "JobDead"
    ]
    assert len(events) == 1
    assert events[0]["requestParameters"] == {
        "taskName": "test.fail",
        "jobId": job_id,
        "attempts": 3,
    }
    assert events[0]["errorCode"] == "RuntimeError"
    assert events[0]["errorMessage"] == "RuntimeError: the store is down"


def test_a_dead_job_retried_by_hand_gets_one_more_attempt(backend: Backend) -> None:
    clock = FixedClock(datetime.now(UTC) + timedelta(days=1))
    queue = backend.queue(clock=clock)
    job_id = enqueue(backend, queue, "test.fail", Fail(message="no"))
    for _ in range(3):
        queue.run_worker(name="t", until_idle=True)
        if queue.get(job_id).state is JobState.WAITING:
            queue.retry(job_id)
    assert queue.get(job_id).state is JobState.DEAD
    assert queue.stats().dead_by_task == {"test.fail": 1}
    assert queue.retry(job_id).state is JobState.WAITING
    assert queue.stats().dead_by_task == {}
    queue.run_worker(name="t", until_idle=True)
    assert queue.get(job_id).state is JobState.DEAD
    assert len(backend.runs("start", "fail")) == 4


def test_a_task_over_its_timeout_fails_with_request_timeout(backend: Backend) -> None:
    queue = backend.queue()
    job_id = enqueue(backend, queue, "test.slow", Slow(sleep_seconds=3.0))
    started = time.monotonic()
    queue.run_worker(name="t", until_idle=True)
    job = queue.get(job_id)
    assert job.state is JobState.DEAD
    assert job.last_error is not None
    assert job.last_error.startswith("RequestTimeout: task test.slow ran longer than its timeout")
    if backend.queue_backend == "embedded":
        assert time.monotonic() - started < 2.5  # interrupted, not waited for
        assert backend.runs("run", "slow") == []


# --- operations ---------------------------------------------------------------------------


def test_cancel_a_waiting_job_and_refuse_other_states(backend: Backend) -> None:
    queue = backend.queue()
    job_id = enqueue(backend, queue, "test.record", Record(key="c"))
    assert queue.cancel(job_id).state is JobState.CANCELLED
    with pytest.raises(InvalidJobState, match="it is cancelled") as refused:
        queue.cancel(job_id)
    assert refused.value.code == "IncorrectState"
    with pytest.raises(NoSuchJob) as missing:
        queue.cancel(JobId(987654))
    assert missing.value.code == "NoSuchEntity"
    assert queue.run_worker(name="t", until_idle=True) == 0


def test_list_filters_by_state_task_and_age_and_purge_removes_finished(backend: Backend) -> None:
    queue = backend.queue()
    done = enqueue(backend, queue, "test.record", Record(key="d"))
    queue.run_worker(name="t", until_idle=True)
    waiting = enqueue(
        backend,
        queue,
        "test.record",
        Record(key="w"),
        run_at=datetime.now(UTC) + timedelta(hours=1),
    )
    other = enqueue(
        backend,
        queue,
        "test.slow",
        Slow(sleep_seconds=0),
        run_at=datetime.now(UTC) + timedelta(hours=1),
    )
    assert [job.job_id for job in queue.list_jobs(states=[JobState.DONE])] == [done]
    assert {job.job_id for job in queue.list_jobs(task_name="test.record")} == {done, waiting}
    assert [job.job_id for job in queue.list_jobs(limit=1)] == [other]
    assert queue.list_jobs(older_than_seconds=3600) == []
    stats = queue.stats()
    assert stats.counts_by_state[JobState.WAITING] == 2
    assert stats.oldest_waiting_age_seconds is None  # nothing is due yet
    with pytest.raises(InvalidJobState, match="only finished jobs"):
        queue.purge(states=[JobState.WAITING])
    assert queue.purge(older_than_seconds=3600) == 0
    time.sleep(0.01)
    assert queue.purge(older_than_seconds=0) == 1
    with pytest.raises(NoSuchJob):
        queue.get(done)
    assert {job.job_id for job in queue.list_jobs()} == {waiting, other}


def test_oldest_waiting_age_counts_from_when_a_job_became_due(backend: Backend) -> None:
    queue = backend.queue()
    enqueue(
        backend,
        queue,
        "test.record",
        Record(key="o"),
        run_at=datetime.now(UTC) - timedelta(seconds=30),
    )
    age = queue.stats().oldest_waiting_age_seconds
    assert age is not None
    assert 29 <= age <= 60


# --- queueing locks -----------------------------------------------------------------------


def test_a_queueing_lock_holds_under_concurrency(backend: Backend) -> None:
    queue = backend.queue()
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            enqueue(backend, queue, "test.record", Record(key="locked"), queueing_lock="chain-1")
        except QueueingLockHeld as refused:
            assert refused.code == "ConflictingOperationInProgress"
            outcomes.append("refused")
        else:
            outcomes.append("enqueued")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == {"enqueued": 1, "refused": 7}
    # Another key is independent; after the holder finishes, the lock is free again.
    enqueue(backend, queue, "test.record", Record(key="other"), queueing_lock="chain-2")
    queue.run_worker(name="t", until_idle=True)
    enqueue(backend, queue, "test.record", Record(key="again"), queueing_lock="chain-1")
    assert len(queue.list_jobs(states=[JobState.WAITING])) == 1


# --- real worker processes ----------------------------------------------------------------


@pytest.mark.slow
def test_a_worker_killed_mid_task_is_replaced_after_its_lease_and_the_effect_happens_once(
    backend: Backend,
) -> None:
    queue = backend.queue()
    job_id = enqueue(backend, queue, "test.record", Record(key="k", sleep_seconds=4.0, once=True))
    first = backend.start_worker(lease_seconds=1.5)
    wait_for(lambda: backend.runs("effect", "k"), timeout=20, what="the first attempt's effect")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert queue.get(job_id).state is JobState.RUNNING
    second = backend.start_worker(lease_seconds=1.5)
    wait_for(lambda: queue.get(job_id).state is JobState.DONE, timeout=30, what="the job to finish")
    starts = backend.runs("start", "k")
    assert [pid for _, _, pid in starts] == [first.pid, second.pid]
    assert [pid for _, _, pid in backend.runs("effect", "k")] == [first.pid]
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0


@pytest.mark.slow
def test_four_workers_run_each_of_a_thousand_jobs_exactly_once(backend: Backend) -> None:
    queue = backend.queue()
    with backend.database.session() as session:
        for number in range(1000):
            queue.enqueue(session, "test.record", Record(key=f"n{number}"))
    workers = [backend.start_worker() for _ in range(4)]
    wait_for(
        lambda: queue.stats().counts_by_state[JobState.DONE] == 1000,
        timeout=120,  # about 10 s on a quiet machine; shared CI machines can be far slower
        what="1,000 jobs to be done",
    )
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(timeout=20) == 0
    runs = backend.runs("run")
    assert len(runs) == 1000
    assert len({key for key, _, _ in runs}) == 1000
    assert len({pid for _, _, pid in runs}) > 1  # the work was actually shared


@pytest.mark.slow
def test_a_periodic_task_runs_once_per_period_with_three_workers(backend: Backend) -> None:
    queue = backend.queue()
    workers = [backend.start_worker(periodic=True) for _ in range(3)]
    wait_for(lambda: len(backend.runs("run", "tick")) >= 4, timeout=30, what="four periods")
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(timeout=20) == 0
    with backend.database.read_session() as session:
        periods = dict(
            session.execute(
                select(models.JobIdempotencyKey.key, models.JobIdempotencyKey.job_id).where(
                    models.JobIdempotencyKey.key.like("periodic:tick:%")
                )
            ).all()
        )
    runs_per_job = Counter(job_id for _, job_id, _ in backend.runs("run", "tick"))
    finished = {
        job.job_id
        for job in queue.list_jobs(states=[JobState.DONE], task_name="test.tick", limit=1000)
    }
    assert len(periods) >= 4
    assert set(runs_per_job) == finished
    assert set(runs_per_job) <= set(periods.values())
    assert all(count == 1 for count in runs_per_job.values())
    # Every period that was enqueued and finished ran exactly once; no period has two jobs.
    assert len(set(periods.values())) == len(periods)
    with backend.database.read_session() as session:
        tick_jobs = session.execute(
            text("SELECT count(*) FROM test_runs WHERE kind = 'run' AND key = 'tick'")
        ).scalar_one()
    assert tick_jobs == len(runs_per_job)
