"""The platform's hourly job removes blobs orphaned by a crash, and only those."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lakevault.core import FixedClock, load_settings
from lakevault.db import models
from lakevault.runtime import Platform, initialise
from lakevault.storage import SWEEP_TASK, SweepOrphans


def test_the_sweep_job_removes_old_orphans_and_keeps_young_ones(tmp_path: Path) -> None:
    clock = FixedClock(datetime.now(UTC))
    platform = Platform.build(
        load_settings({"LAKEVAULT_HOME": str(tmp_path / "home")}), clock=clock
    )
    initialise(platform)
    assert SWEEP_TASK in {task.name for task in platform.jobs.registry.tasks}
    assert ("storage-sweep-orphans", "17 * * * *") in {
        (s.name, s.cron) for s in platform.jobs.registry.periodic
    }
    backend = platform.storage.backend

    def orphan(path: str) -> None:
        writer = backend.open_write(path)
        writer.write(memoryview(b"half an upload"))
        writer.commit()
        with platform.database.session() as session:
            session.add(
                models.BlobJournal(
                    blob_path=path, bucket_name="b", state="writing", created_at=clock.now()
                )
            )

    orphan("111111111111/b/old")
    clock.advance(seconds=25 * 3600)
    orphan("111111111111/b/young")
    with platform.database.session() as session:
        platform.jobs.enqueue(session, SWEEP_TASK, SweepOrphans())
    platform.jobs.run_worker(name="t", until_idle=True)
    assert sorted(backend.list_paths("111111111111/")) == ["111111111111/b/young"]
    platform.close()
