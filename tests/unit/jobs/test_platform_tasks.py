"""The platform's own tasks (lakevault/runtime/_tasks.py), run by a real worker of the platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakevault.audit import Checkpointer, load_signing_key
from lakevault.core import PLATFORM_ACCOUNT_ID, FixedClock, load_settings
from lakevault.jobs import PURGE_TASK, JobState, PurgeFinishedJobs
from lakevault.runtime import Platform, initialise


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    settings = load_settings({"LAKEVAULT_HOME": str(tmp_path / "home")})
    built = Platform.build(settings)
    initialise(built)
    return built


def test_the_platform_lists_its_tasks_and_schedules(platform: Platform) -> None:
    registry = platform.jobs.registry
    # Other services add theirs to the same list; these two belong to jobs and audit.
    assert {PURGE_TASK, "audit.checkpoint"} <= {task.name for task in registry.tasks}
    assert {
        ("purge-finished-jobs", "17 3 * * *"),
        ("audit-checkpoints", "* * * * *"),
    } <= {(s.name, s.cron) for s in registry.periodic}


def test_the_checkpoint_schedule_signs_the_platform_log(platform: Platform) -> None:
    # Bootstrapping appended events to the platform's log; no checkpoint signs them yet.
    checkpoints = Checkpointer(
        platform.database, load_signing_key(platform.settings.resolved_home), platform.clock
    )
    assert checkpoints.latest(PLATFORM_ACCOUNT_ID) is None
    platform.jobs.run_worker(name="t", until_idle=True)  # runs this minute's period
    latest = checkpoints.latest(PLATFORM_ACCOUNT_ID)
    assert latest is not None
    assert latest.checkpoint.tree_size >= 1
    [job] = platform.jobs.list_jobs(task_name="audit.checkpoint")
    assert job.state is JobState.DONE


def test_the_purge_task_deletes_old_finished_jobs(tmp_path: Path) -> None:
    clock = FixedClock(datetime.now(UTC))
    settings = load_settings({"LAKEVAULT_HOME": str(tmp_path / "home")})
    platform = Platform.build(settings, clock=clock)
    initialise(platform)
    platform.jobs.run_worker(name="t", until_idle=True)
    assert platform.jobs.list_jobs(states=[JobState.DONE])
    clock.advance(seconds=2 * 86400)
    with platform.database.session() as session:
        platform.jobs.enqueue(session, PURGE_TASK, PurgeFinishedJobs(older_than_days=1))
    platform.jobs.run_worker(name="t", until_idle=True)
    remaining = platform.jobs.list_jobs()
    # The jobs of two days ago are gone; the purge job itself and this period's jobs remain.
    assert PURGE_TASK in {job.task_name for job in remaining}
    assert all(
        job.created_at and job.created_at > clock.now() - timedelta(days=1) for job in remaining
    )
