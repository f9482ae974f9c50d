"""The signing-key schedule: a daily job that rotates token signing keys when they are due.

Rotation needs no coordination beyond the job queue's once-per-period guarantee: the task reads
the key file, adds a key only when the newest is ``rotate_after_seconds`` old, and drops a
retired key only when every token it can have signed has expired (``SigningKeys.rotate_due``).
Running it twice in a period therefore changes nothing the second time. The key file lives in
``LAKEVAULT_HOME/keys``: installations whose API servers run on several machines share that
directory (docs/user-pool.md, "Signing keys").
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from lakevault.identity._tokens import SigningKeys
from lakevault.jobs import PeriodicTask, TaskContext, TaskDefinition

ROTATE_SIGNING_KEYS_TASK = "identity.rotate-signing-keys"


class RotateSigningKeys(BaseModel):
    """Payload of the rotation task (none: the schedule comes from settings)."""


def signing_key_tasks(
    *,
    keys: Callable[[], SigningKeys],
    rotate: Callable[[SigningKeys], SigningKeys],
    cron: str = "41 2 * * *",
) -> tuple[list[TaskDefinition[RotateSigningKeys]], list[PeriodicTask]]:
    """The rotation task and its daily schedule (02:41 UTC by default).

    ``keys`` loads the key file; ``rotate`` applies :meth:`SigningKeys.rotate_due` with the
    platform's clock, randomness and lifetimes.
    """

    def run(context: TaskContext, payload: RotateSigningKeys) -> None:
        rotate(keys())

    definition = TaskDefinition(
        name=ROTATE_SIGNING_KEYS_TASK,
        payload_model=RotateSigningKeys,
        handler=run,
        timeout_seconds=60.0,
    )
    schedule = PeriodicTask(
        name="rotate-token-signing-keys",
        task_name=ROTATE_SIGNING_KEYS_TASK,
        cron=cron,
        payload=RotateSigningKeys(),
    )
    return [definition], [schedule]
