"""The platform log exported into the platform's audit bucket by the platform's own job."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from lakevault import storage
from lakevault.audit import IdentityType, verify_log
from lakevault.core import PLATFORM_ACCOUNT_ID, load_settings, new_request_id
from lakevault.db import models
from lakevault.directory import CallContext
from lakevault.identity import Principal
from lakevault.jobs import JobState
from lakevault.runtime import Platform, initialise
from lakevault.trail import EXPORT_BUCKET_TASK, download_export, log_root


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    settings = load_settings({"LAKEVAULT_HOME": str(tmp_path / "home")})
    built = Platform.build(settings)
    initialise(built)
    return built


def _admin(platform: Platform) -> Principal:
    with platform.database.read_session() as session:
        state = session.get(models.PlatformState, 1)
        assert state is not None
        user = session.get(models.User, state.admin_user_id)
        assert user is not None
        return Principal(
            arn=user.arn,
            account_id=user.account_id,
            principal_id=user.user_id,
            identity_type=IdentityType.IAM_USER,
            username=user.name,
        )


def test_the_job_exports_the_platform_log_into_the_platform_bucket(platform: Platform) -> None:
    admin = _admin(platform)
    call = CallContext(principal=admin, request_id=new_request_id(platform.random))
    configuration = platform.audit_exports().put(call, PLATFORM_ACCOUNT_ID, retention_days=30)
    registry = platform.jobs.registry
    assert {("audit-bucket-export", "*/5 * * * *"), ("audit-bucket-expire", "41 3 * * *")} <= {
        (s.name, s.cron) for s in registry.periodic
    }
    with platform.database.session() as session:
        platform.jobs.enqueue(session, EXPORT_BUCKET_TASK, {})
    platform.jobs.run_worker(name="t", until_idle=True)
    jobs = platform.jobs.list_jobs(task_name=EXPORT_BUCKET_TASK)
    assert jobs and {job.state for job in jobs} == {JobState.DONE}
    caller = storage.Caller(principal=admin, request_id=new_request_id(platform.random))
    with tempfile.TemporaryDirectory() as scratch:
        materialized = download_export(
            platform.storage,
            caller,
            configuration.bucket,
            log_root(configuration.prefix, PLATFORM_ACCOUNT_ID),
            Path(scratch),
        )
        log = verify_log(materialized.directory)
    assert log.account_id == PLATFORM_ACCOUNT_ID and log.tree_size >= 1
