"""Recording failed attempts, and the audit event of every job that ends dead.

Both backends call :func:`record_failure` in the same transaction as the state change of the
job (embedded) or just before handing the failure to Procrastinate, so a dead job, its last
error and its audit event appear together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from lakevault.audit import AuditEvent, EventResource, IdentityType, UserIdentity, append_in
from lakevault.core import PLATFORM_ACCOUNT_ID, RandomSource, new_request_id
from lakevault.core.errors import LakevaultError
from lakevault.db import models
from lakevault.jobs._sql import insert_for
from lakevault.jobs._types import JobId

#: Longest error text kept; longer ones are cut (a traceback belongs in the worker's log).
MAX_ERROR_CHARACTERS = 2000

#: Who the audit log says acted: the platform's job system.
_JOBS_IDENTITY = UserIdentity(
    type=IdentityType.AWS_SERVICE,
    principal_id="lakevault-jobs",
    arn="jobs.lakevault.local",
    account_id=PLATFORM_ACCOUNT_ID,
)


def describe_error(error: BaseException) -> str:
    """One line naming the error: its AWS code for lakevault errors, else its type."""
    if isinstance(error, LakevaultError):
        text = f"{error.code}: {error.message}"
    else:
        text = f"{type(error).__name__}: {error}"
    return text[:MAX_ERROR_CHARACTERS]


def record_failure(
    session: Session,
    *,
    backend: str,
    job_id: JobId,
    task_name: str,
    error_text: str,
    is_dead: bool,
    attempt: int,
    now: datetime,
    region: str,
    random: RandomSource,
) -> None:
    """Keep ``error_text`` as the job's last error; when dead, append the audit event."""
    statement = insert_for(session, models.JobFailure).values(
        backend=backend,
        job_id=job_id,
        task_name=task_name,
        failed_attempts=1,
        last_error=error_text,
        is_dead=is_dead,
        failed_at=now,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["backend", "job_id"],
            set_={
                "failed_attempts": models.JobFailure.failed_attempts + 1,
                "last_error": error_text,
                "is_dead": is_dead,
                "failed_at": now,
            },
        )
    )
    if is_dead:
        append_in(
            session,
            AuditEvent(
                event_id=new_request_id(random),
                event_time=now,
                event_source="jobs.lakevault.local",
                event_name="JobDead",
                region=region,
                source_ip_address=None,
                user_agent=f"lakevault-worker/{backend}",
                user_identity=_JOBS_IDENTITY,
                request_id=new_request_id(random),
                read_only=False,
                recipient_account_id=PLATFORM_ACCOUNT_ID,
                resources=(
                    EventResource(
                        arn=f"arn:aws:lakevault:{region}:{PLATFORM_ACCOUNT_ID}:job/{job_id}",
                        account_id=PLATFORM_ACCOUNT_ID,
                        type="lakevault:Job",
                    ),
                ),
                request_parameters={"taskName": task_name, "jobId": job_id, "attempts": attempt},
                error_code=error_text.split(":", 1)[0],
                error_message=error_text,
            ),
        )
