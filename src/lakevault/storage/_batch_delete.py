"""DeleteObjects: up to 1,000 keys in one request, each key its own decision.

S3's batch delete is a convenience over DeleteObject, not a new permission: there is no
``s3:DeleteObjects`` action. Each key goes through :meth:`Objects.delete_object` — its own gate
decision (``s3:DeleteObject``, or ``s3:DeleteObjectVersion`` with a version id), its own object
lock check and its own audit event — so one denied or locked key is reported as that key's
error and the others are still deleted (ADR 0187). Only a missing bucket fails the whole
request, as in S3: every key would fail the same way.

Keys are deleted by up to :data:`DELETE_WORKERS` threads: per key most of the time is waiting —
for the audit log's durable commit of the gate decision, for the blob's removal — and the audit
writer commits the decisions of concurrent callers together (group commit). The entries of one
key stay in one thread, in request order, so "delete the marker, then the version" means that.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lakevault.core.errors import InvalidParameterValue, LakevaultError
from lakevault.storage._errors import NoSuchBucket
from lakevault.storage._objects import Objects
from lakevault.storage._types import Caller

#: The most keys one DeleteObjects request may name (S3's limit).
MAX_DELETE_KEYS = 1000
#: Threads deleting the keys of one request (bench/batch_delete.py measures the gain).
DELETE_WORKERS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteTarget:
    """One key of a DeleteObjects request, and optionally the version to remove for good."""

    key: str
    version_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteOutcome:
    """What happened to one key: deleted (``error_code`` is ``None``) or refused.

    For a deleted key, ``delete_marker`` and ``delete_marker_version_id`` say whether the
    delete added (or, with a version id, removed) a delete marker, as S3's ``<Deleted>`` does.
    """

    key: str
    version_id: str | None
    delete_marker: bool = False
    delete_marker_version_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def deleted(self) -> bool:
        return self.error_code is None


def check_delete_targets(targets: Sequence[DeleteTarget]) -> None:
    """Refuse an empty request or one over :data:`MAX_DELETE_KEYS` (S3's ``MalformedXML``)."""
    if not targets:
        raise InvalidParameterValue(
            "a DeleteObjects request must name at least one key in 'objects'",
            code="MalformedXML",
        )
    if len(targets) > MAX_DELETE_KEYS:
        raise InvalidParameterValue(
            f"a DeleteObjects request names {len(targets)} keys; at most {MAX_DELETE_KEYS} are "
            "allowed per request: split it into several",
            code="MalformedXML",
        )


def delete_objects(
    objects: Objects,
    caller: Caller,
    bucket: str,
    targets: Sequence[DeleteTarget],
    *,
    bypass_governance: bool = False,
) -> tuple[DeleteOutcome, ...]:
    """Delete each target (those of one key in request order, keys concurrently); return one
    outcome per target, in the order of ``targets``.

    A key's refusal (``AccessDenied``, a locked version, a bad key name, a missing version)
    becomes that key's outcome; ``NoSuchBucket`` fails the request. Errors of the platform
    itself (the backend or database unavailable) are reported per key too, as S3 reports
    ``InternalError`` per key, so that the keys deleted before the failure are not hidden.
    """
    check_delete_targets(targets)
    by_key: dict[str, list[int]] = {}
    for index, target in enumerate(targets):
        by_key.setdefault(target.key, []).append(index)
    outcomes: list[DeleteOutcome | None] = [None] * len(targets)

    def delete_key(indexes: list[int]) -> None:
        for index in indexes:
            outcomes[index] = _delete_one(
                objects, caller, bucket, targets[index], bypass_governance
            )

    groups = list(by_key.values())
    if len(groups) == 1:
        delete_key(groups[0])
    else:
        with ThreadPoolExecutor(
            max_workers=min(DELETE_WORKERS, len(groups)), thread_name_prefix="lakevault-delete"
        ) as pool:
            for future in [pool.submit(delete_key, group) for group in groups]:
                future.result()  # NoSuchBucket, or a bug, fails the request
    return tuple(outcome for outcome in outcomes if outcome is not None)


def _delete_one(
    objects: Objects, caller: Caller, bucket: str, target: DeleteTarget, bypass_governance: bool
) -> DeleteOutcome:
    try:
        result = objects.delete_object(
            caller,
            bucket,
            target.key,
            version_id=target.version_id,
            bypass_governance=bypass_governance,
        )
    except NoSuchBucket:
        raise
    except LakevaultError as exc:
        return DeleteOutcome(
            key=target.key,
            version_id=target.version_id,
            error_code=exc.code,
            error_message=exc.message,
        )
    if target.version_id is None:
        return DeleteOutcome(
            key=target.key,
            version_id=None,
            delete_marker=result.delete_marker,
            delete_marker_version_id=result.version_id if result.delete_marker else None,
        )
    return DeleteOutcome(
        key=target.key,
        version_id=target.version_id,
        delete_marker=result.delete_marker,
        delete_marker_version_id=target.version_id if result.delete_marker else None,
    )
