"""Errors of the job queue.

Each is a subclass of one of :mod:`lakevault.core.errors`' classes, keeping the tree two levels
deep below the root::

    LakevaultError
    ├── InvalidInput
    │   ├── InvalidJobPayload        400  InvalidParameterValue  (names the field)
    │   └── UnknownTask              400  InvalidParameterValue
    ├── NotFound
    │   └── NoSuchJob                404  NoSuchEntity
    ├── Conflict
    │   ├── QueueingLockHeld         409  ConflictingOperationInProgress
    │   └── InvalidJobState          409  IncorrectState
    └── TaskTimedOut                 504  RequestTimeout  (raised inside a worker)
"""

from __future__ import annotations

from lakevault.core.errors import Conflict, InvalidInput, LakevaultError, NotFound


class InvalidJobPayload(InvalidInput):
    """A payload does not match its task's schema; nothing was enqueued."""

    code = "InvalidParameterValue"


class UnknownTask(InvalidInput):
    """No task of that name was registered when the queue was built."""

    code = "InvalidParameterValue"


class NoSuchJob(NotFound):
    """No job has that id (it may have been purged)."""

    code = "NoSuchEntity"


class QueueingLockHeld(Conflict):
    """Another job holding the same queueing lock is waiting or running."""

    code = "ConflictingOperationInProgress"


class InvalidJobState(Conflict):
    """The operation does not apply to a job in its current state (cancel a finished job)."""

    code = "IncorrectState"


class TaskTimedOut(LakevaultError):
    """A task ran longer than its ``timeout_seconds``; the attempt counts as failed."""

    code = "RequestTimeout"
    http_status = 504
