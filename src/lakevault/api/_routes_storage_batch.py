"""DeleteObjects under ``POST /api/v1/buckets/{bucket}/delete`` (docs/storage.md, ADR 0187).

The body is JSON, like every other bucket sub-resource of this API (``/tags``, ``/versioning``),
with S3's fields::

    {"objects": [{"key": "a.csv"}, {"key": "b.csv", "versionId": "..."}], "quiet": false}

at most 1,000 objects. As S3 requires for DeleteObjects, the request must carry an integrity
header over the exact body bytes: ``Content-MD5`` (base64 MD5) or ``x-amz-checksum-sha256``
(base64 SHA-256); without one it is refused (``InvalidRequest``), with a wrong one
(``BadDigest``) nothing is deleted. ``x-amz-bypass-governance-retention: true`` applies to
every key. The answer is 200 with one entry per key in ``deleted`` or ``errors``
(``{"key", "versionId", "code", "message"}``); ``quiet`` leaves the deleted keys out.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to the router factory, as an evaluated annotation.

import base64
import binascii
import hashlib
import hmac
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from lakevault import storage
from lakevault.api._auth import caller_dependency
from lakevault.api._routes_storage import _caller
from lakevault.api._storage_lock_headers import BYPASS, flag
from lakevault.api._streaming import read_limited_body
from lakevault.core.errors import InvalidParameterValue, InvalidRequest
from lakevault.directory import CallContext
from lakevault.runtime import Platform


class DeleteEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    versionId: str | None = None


class DeleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objects: list[DeleteEntry] = Field(max_length=storage.MAX_DELETE_KEYS + 1)
    quiet: bool = False


def _digest_header(request: Request, name: str, size: int) -> bytes | None:
    value = request.headers.get(name)
    if value is None:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != size:
        raise InvalidParameterValue(
            f"{name} must be the base64 of a {size}-byte digest of the body",
            code="InvalidDigest",
        )
    return raw


def check_body_digest(request: Request, body: bytes) -> None:
    """S3 refuses a DeleteObjects body without ``Content-MD5`` or an ``x-amz-checksum-*``:
    a body damaged on the way could name other keys. Either header is checked here."""
    md5 = _digest_header(request, "content-md5", 16)
    sha256 = _digest_header(request, "x-amz-checksum-sha256", 32)
    if md5 is None and sha256 is None:
        raise InvalidRequest(
            "Missing required header for this request: Content-MD5 or x-amz-checksum-sha256 "
            "(the base64 digest of the body); DeleteObjects needs one so a damaged body cannot "
            "delete other keys"
        )
    if md5 is not None and not hmac.compare_digest(
        md5, hashlib.md5(body, usedforsecurity=False).digest()
    ):
        raise InvalidParameterValue(
            "the Content-MD5 you specified did not match the body; nothing was deleted",
            code="BadDigest",
        )
    if sha256 is not None and not hmac.compare_digest(sha256, hashlib.sha256(body).digest()):
        raise InvalidParameterValue(
            "the x-amz-checksum-sha256 you specified did not match the body; nothing was deleted",
            code="BadDigest",
        )


def _parse(body: bytes) -> DeleteRequest:
    try:
        return DeleteRequest.model_validate_json(body)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        if first["type"] == "too_long":
            message = (
                f"a DeleteObjects request may name at most {storage.MAX_DELETE_KEYS} keys; "
                "split it into several"
            )
        else:
            message = (
                f"the DeleteObjects body is malformed at {where!r}: {first['msg']}; send "
                '{"objects": [{"key": "...", "versionId": "..."}], "quiet": false}'
            )
        raise InvalidParameterValue(message, code="MalformedXML") from None


def _outcome_json(outcome: storage.DeleteOutcome) -> dict[str, Any]:
    if outcome.deleted:
        entry: dict[str, Any] = {"key": outcome.key}
        if outcome.version_id is not None:
            entry["versionId"] = outcome.version_id
        if outcome.delete_marker:
            entry["deleteMarker"] = True
            entry["deleteMarkerVersionId"] = outcome.delete_marker_version_id
        return entry
    return {
        "key": outcome.key,
        "versionId": outcome.version_id,
        "code": outcome.error_code,
        "message": outcome.error_message,
    }


def batch_delete_router(platform: Platform) -> APIRouter:
    """DeleteObjects (docs/storage.md)."""
    router = APIRouter(prefix="/api/v1/buckets", tags=["storage"])
    store = platform.storage
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    @router.post("/{bucket}/delete")
    async def delete_objects(bucket: str, request: Request, call: Caller) -> JSONResponse:
        body = await read_limited_body(request)
        check_body_digest(request, body)
        parsed = _parse(body)
        targets = [
            storage.DeleteTarget(key=entry.key, version_id=entry.versionId)
            for entry in parsed.objects
        ]
        bypass = flag(request.headers, BYPASS)
        outcomes = await run_in_threadpool(
            lambda: store.delete_objects(_caller(call), bucket, targets, bypass_governance=bypass)
        )
        return JSONResponse(
            {
                "deleted": []
                if parsed.quiet
                else [_outcome_json(o) for o in outcomes if o.deleted],
                "errors": [_outcome_json(o) for o in outcomes if not o.deleted],
            }
        )

    return router
