"""ListObjectsV2: prefix, delimiter, continuation token, max-keys, start-after.

Keys are listed in the order of their UTF-8 bytes (the database column sorts that way on both
SQLite and PostgreSQL). The continuation token is opaque to clients: the URL-safe base64 of the
key to resume at (inclusive). Everything under a common prefix is skipped in one step by resuming
at the prefix's successor (the prefix with its last character incremented), so a listing with a
delimiter costs one query per page, not one per key.
"""

from __future__ import annotations

import base64
import binascii

from sqlalchemy import select

from lakevault.core.errors import InvalidParameterValue
from lakevault.db import models
from lakevault.storage._core import StorageCore
from lakevault.storage._names import bucket_arn
from lakevault.storage._objects import _info
from lakevault.storage._types import Caller, ListPage, ObjectInfo

MAX_KEYS = 1000
_BATCH = 200


_TOKEN_MARK = b"lv1\x00"


def encode_token(resume_at: str) -> str:
    """A token that resumes the listing at ``resume_at`` (inclusive)."""
    return base64.urlsafe_b64encode(_TOKEN_MARK + resume_at.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    """The key a token resumes at (inclusive); ``InvalidArgument`` for anything else."""
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        if not raw.startswith(_TOKEN_MARK):
            raise ValueError("not a listing token")
        return raw[len(_TOKEN_MARK) :].decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidParameterValue(
            "the continuation token is not one this bucket's listing issued; start the "
            "listing again without it",
            code="InvalidArgument",
        ) from exc


def successor(text: str) -> str:
    """The smallest string greater than every string that starts with ``text``."""
    last = ord(text[-1])
    if last >= 0x10FFFF:
        return text + "\uffff"
    return text[:-1] + chr(last + 1)


def _resume_point(
    prefix: str, start_after: str | None, continuation_token: str | None
) -> tuple[str, bool]:
    """Where a listing starts, and whether that key itself is included.

    PostgreSQL text cannot hold NUL, so "just after k" is ``> k``, never ``>= k + "\\0"``.
    """
    resume, inclusive = prefix, True
    if start_after is not None and start_after >= resume:
        resume, inclusive = start_after, False
    if continuation_token is not None:
        token_key = decode_token(continuation_token)
        if token_key > resume or (token_key == resume and not inclusive):
            resume, inclusive = token_key, True
    return resume, inclusive


def list_objects(
    core: StorageCore,
    caller: Caller,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str | None = None,
    max_keys: int = MAX_KEYS,
    continuation_token: str | None = None,
    start_after: str | None = None,
) -> ListPage:
    """``s3:ListBucket`` with ``s3:prefix``, ``s3:delimiter`` and ``s3:max-keys`` in context."""
    if not max_keys >= 0:
        raise InvalidParameterValue("max-keys must not be negative", code="InvalidArgument")
    max_keys = min(max_keys, MAX_KEYS)
    delimiter = delimiter or None
    record = core.load_bucket(bucket)
    context: dict[str, str] = {"s3:prefix": prefix, "s3:max-keys": str(max_keys)}
    if delimiter is not None:
        context["s3:delimiter"] = delimiter
    core.authorize(
        caller,
        action="s3:ListBucket",
        resource=bucket_arn(bucket),
        bucket=record,
        read_only=True,
        parameters={"bucketName": bucket, "prefix": prefix, "delimiter": delimiter or ""},
        context=context,
    )
    resume, inclusive = _resume_point(prefix, start_after, continuation_token)
    end = successor(prefix) if prefix else None
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    truncated = False
    next_resume: str | None = None
    with core.database.read_session() as session:
        while True:
            query = (
                select(models.ObjectVersion)
                .where(
                    models.ObjectVersion.bucket_name == bucket,
                    models.ObjectVersion.is_latest.is_(True),
                    models.ObjectVersion.is_delete_marker.is_(False),
                    models.ObjectVersion.key >= resume
                    if inclusive
                    else models.ObjectVersion.key > resume,
                )
                .order_by(models.ObjectVersion.key)
                .limit(_BATCH)
            )
            if end is not None:
                query = query.where(models.ObjectVersion.key < end)
            rows = session.scalars(query).all()
            if not rows:
                break
            restart: str | None = None
            for row in rows:
                if len(objects) + len(prefixes) >= max_keys:
                    truncated = True
                    next_resume = row.key
                    break
                if delimiter is not None:
                    cut = row.key.find(delimiter, len(prefix))
                    if cut >= 0:
                        common = row.key[: cut + len(delimiter)]
                        prefixes.append(common)
                        restart = successor(common)
                        break
                objects.append(_info(row))
            if truncated:
                break
            if restart is not None:
                resume, inclusive = restart, True
                continue
            if len(rows) < _BATCH:
                break
            resume, inclusive = rows[-1].key, False
    return ListPage(
        bucket=bucket,
        prefix=prefix,
        delimiter=delimiter,
        max_keys=max_keys,
        objects=tuple(objects),
        common_prefixes=tuple(prefixes),
        is_truncated=truncated,
        next_continuation_token=encode_token(next_resume) if next_resume is not None else None,
    )
