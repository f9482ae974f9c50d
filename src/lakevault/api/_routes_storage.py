"""Buckets and objects under ``/api/v1/buckets``: JSON for buckets, streamed bytes for objects.

Routes translate HTTP to storage calls and nothing else; every decision happens in storage,
through the gate. Object bodies stream both ways in constant memory (``api/_streaming.py``);
JSON bodies are limited to 6 MB. Object headers follow S3: ``Content-Type``, ``x-amz-meta-*``,
``ETag``, ``Last-Modified``, ``Range``/``Content-Range``, ``If-Match``, ``If-None-Match``,
``If-Modified-Since``, ``If-Unmodified-Since``, ``x-amz-version-id``, ``x-amz-delete-marker``,
``x-amz-copy-source`` and ``x-amz-checksum-sha256``.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to the router factory, as an evaluated annotation.

import base64
import binascii
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any
from urllib.parse import unquote

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from lakevault import db, storage
from lakevault.api._auth import PendingCaller, caller_dependency, pending_caller_dependency
from lakevault.api._compact_json import CompactJSONResponse, http_date
from lakevault.api._direct_route import DirectRoute
from lakevault.api._handoff import UPLOADS
from lakevault.api._sigv4_streaming import accepts_streaming_payload, upload_body
from lakevault.api._storage_lock_headers import (
    BUCKET_LOCK,
    BYPASS,
    flag,
    lock_headers,
    lock_request,
)
from lakevault.api._streaming import DownloadPump, RequestBodyReader, read_limited_body, read_model
from lakevault.core.errors import InvalidParameterValue
from lakevault.directory import CallContext
from lakevault.runtime import Platform

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_META_PREFIX = "x-amz-meta-"


class NewBucket(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(examples=["team-red-data"])
    tags: dict[str, str] = Field(default_factory=dict)
    objectLockEnabled: bool = False  # S3: ObjectLockEnabledForBucket


class BucketTags(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: dict[str, str]


class BucketVersioning(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(examples=["Enabled"])


def _caller(call: CallContext) -> storage.Caller:
    return storage.Caller(
        principal=call.principal,
        request_id=call.request_id,
        source_ip=call.source_ip,
        user_agent=call.user_agent,
        secure_transport=call.secure_transport,
    )


def _bucket_json(info: storage.BucketInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "accountId": info.account_id,
        "createdAt": info.created_at.isoformat(),
        "versioning": info.versioning.value,
        "kmsKeyId": info.kms_key_id,
        "tags": dict(info.tags),
        "blockPublicAccess": info.block_public_access,
        "hasPolicy": info.has_policy,
    }


def _object_json(info: storage.ObjectInfo) -> dict[str, Any]:
    return {
        "key": info.key,
        "versionId": info.version_id,
        "size": info.size,
        "etag": info.etag,
        "sha256": info.sha256,
        "contentType": info.content_type,
        "lastModified": info.last_modified.isoformat(),
        "metadata": dict(info.metadata),
    }


def _object_headers(info: storage.ObjectInfo) -> dict[str, str]:
    headers = {
        "ETag": info.etag,
        "Last-Modified": http_date(info.last_modified),
        "Content-Type": info.content_type,
        "Accept-Ranges": "bytes",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-checksum-sha256": base64.b64encode(bytes.fromhex(info.sha256)).decode(),
    }
    if info.version_id is not None:
        headers["x-amz-version-id"] = info.version_id
    for name, value in info.metadata.items():
        headers[_META_PREFIX + name] = value
    if info.object_lock is not None:
        headers.update(lock_headers(info.object_lock))
    return headers


async def download_response(download: storage.ObjectDownload) -> StreamingResponse:
    """The response streaming ``download`` (206 with ``Content-Range`` for a range). Nothing
    is sent before the first block has been decrypted and verified (``DownloadPump``)."""
    headers = _object_headers(download.info)
    headers["Content-Length"] = str(download.length)
    status = 200
    if download.is_range:
        status = 206
        last = download.offset + download.length - 1
        headers["Content-Range"] = f"bytes {download.offset}-{last}/{download.info.size}"
    pump = DownloadPump(download.write_to)
    first = await pump.first()
    return StreamingResponse(
        pump.rest(first),
        status_code=status,
        headers=headers,
        media_type=download.info.content_type,
    )


def _http_date(value: str | None, header: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterValue(
            f"{header} must be an HTTP date such as 'Sun, 29 Nov 2026 10:00:00 GMT'",
            code="InvalidArgument",
        ) from exc


def _conditions(request: Request) -> storage.Conditions:
    headers = request.headers
    return storage.Conditions(
        if_match=headers.get("if-match"),
        if_none_match=headers.get("if-none-match"),
        if_modified_since=_http_date(headers.get("if-modified-since"), "If-Modified-Since"),
        if_unmodified_since=_http_date(headers.get("if-unmodified-since"), "If-Unmodified-Since"),
    )


def _byte_range(value: str | None) -> storage.ByteRange | None:
    if value is None:
        return None
    match = _RANGE.fullmatch(value.strip())
    if match is None or match.group(0) == "bytes=-":
        raise InvalidParameterValue(
            "Range must be one range such as 'bytes=0-99', 'bytes=100-' or 'bytes=-100'",
            code="InvalidArgument",
        )
    first, last = match.group(1), match.group(2)
    if first == "":
        return storage.ByteRange(suffix_length=int(last))
    if last and int(last) < int(first):
        raise InvalidParameterValue(
            f"the Range {value!r} ends before it starts", code="InvalidArgument"
        )
    return storage.ByteRange(first=int(first), last=int(last) if last else None)


def _metadata(request: Request) -> dict[str, str]:
    return {
        name[len(_META_PREFIX) :]: value
        for name, value in request.headers.items()
        if name.lower().startswith(_META_PREFIX)
    }


def _expected_sha256(request: Request) -> str | None:
    checksum = request.headers.get("x-amz-checksum-sha256")
    if checksum is None:
        return None
    try:
        raw = base64.b64decode(checksum, validate=True)
    except binascii.Error as exc:
        raise InvalidParameterValue(
            "x-amz-checksum-sha256 must be the base64 of a SHA-256 digest",
            code="InvalidArgument",
        ) from exc
    if len(raw) != 32:
        raise InvalidParameterValue(
            "x-amz-checksum-sha256 must be the base64 of 32 bytes", code="InvalidArgument"
        )
    return raw.hex()


def buckets_router(platform: Platform) -> APIRouter:
    """Buckets: create, list, delete, tags, versioning, policies (docs/storage.md)."""
    router = APIRouter(prefix="/api/v1/buckets", tags=["storage"])
    store = platform.storage
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    # Buckets ------------------------------------------------------------------------------

    @router.get("")
    async def list_buckets(call: Caller) -> JSONResponse:
        found = await run_in_threadpool(store.buckets.list_buckets, _caller(call))
        return JSONResponse({"buckets": [_bucket_json(b) for b in found]})

    @router.post("", status_code=201)
    async def create_bucket(request: Request, call: Caller) -> JSONResponse:
        body = await read_model(request, NewBucket)
        created = await run_in_threadpool(
            lambda: store.buckets.create_bucket(
                _caller(call),
                body.name,
                tags=body.tags,
                object_lock_enabled=body.objectLockEnabled or flag(request.headers, BUCKET_LOCK),
            )
        )
        return JSONResponse(_bucket_json(created), status_code=201)

    @router.get("/{bucket}")
    async def describe_bucket(bucket: str, call: Caller) -> JSONResponse:
        info = await run_in_threadpool(store.buckets.head_bucket, _caller(call), bucket)
        return JSONResponse(_bucket_json(info))

    @router.delete("/{bucket}", status_code=204)
    async def delete_bucket(bucket: str, call: Caller) -> Response:
        await run_in_threadpool(store.buckets.delete_bucket, _caller(call), bucket)
        return Response(status_code=204)

    @router.put("/{bucket}/tags")
    async def put_tags(bucket: str, request: Request, call: Caller) -> JSONResponse:
        body = await read_model(request, BucketTags)
        info = await run_in_threadpool(
            store.buckets.put_bucket_tagging, _caller(call), bucket, body.tags
        )
        return JSONResponse({"tags": dict(info.tags)})

    @router.get("/{bucket}/tags")
    async def get_tags(bucket: str, call: Caller) -> JSONResponse:
        tags = await run_in_threadpool(store.buckets.get_bucket_tagging, _caller(call), bucket)
        return JSONResponse({"tags": dict(tags)})

    @router.put("/{bucket}/versioning")
    async def put_versioning(bucket: str, request: Request, call: Caller) -> JSONResponse:
        body = await read_model(request, BucketVersioning)
        info = await run_in_threadpool(
            store.buckets.put_bucket_versioning, _caller(call), bucket, body.status
        )
        return JSONResponse({"status": info.versioning.value})

    @router.get("/{bucket}/versioning")
    async def get_versioning(bucket: str, call: Caller) -> JSONResponse:
        status = await run_in_threadpool(store.buckets.get_bucket_versioning, _caller(call), bucket)
        return JSONResponse({"status": status.value})

    @router.put("/{bucket}/policy", status_code=204)
    async def put_policy(bucket: str, request: Request, call: Caller) -> Response:
        text = (await read_limited_body(request)).decode("utf-8", "replace")
        await run_in_threadpool(store.buckets.put_bucket_policy, _caller(call), bucket, text)
        return Response(status_code=204)

    @router.get("/{bucket}/policy")
    async def get_policy(bucket: str, call: Caller) -> Response:
        text = await run_in_threadpool(store.buckets.get_bucket_policy, _caller(call), bucket)
        return Response(text, media_type="application/json")

    @router.delete("/{bucket}/policy", status_code=204)
    async def delete_policy(bucket: str, call: Caller) -> Response:
        await run_in_threadpool(store.buckets.delete_bucket_policy, _caller(call), bucket)
        return Response(status_code=204)

    return router


def objects_router(platform: Platform) -> APIRouter:
    """Objects: streamed bodies, listings, copies (docs/storage.md)."""
    router = APIRouter(prefix="/api/v1/buckets", tags=["storage"])
    store = platform.storage
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    @router.get("/{bucket}/objects")
    async def list_objects(
        bucket: str,
        call: Caller,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: Annotated[int, Query(alias="max-keys", ge=0)] = storage.MAX_KEYS,
        continuation: Annotated[str | None, Query(alias="continuation-token")] = None,
        start_after: Annotated[str | None, Query(alias="start-after")] = None,
    ) -> JSONResponse:
        page = await run_in_threadpool(
            lambda: store.list_objects(
                _caller(call),
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                max_keys=max_keys,
                continuation_token=continuation,
                start_after=start_after,
            )
        )
        return JSONResponse(
            {
                "bucket": page.bucket,
                "prefix": page.prefix,
                "delimiter": page.delimiter,
                "maxKeys": page.max_keys,
                "keyCount": page.key_count,
                "isTruncated": page.is_truncated,
                "nextContinuationToken": page.next_continuation_token,
                "contents": [_object_json(o) for o in page.objects],
                "commonPrefixes": list(page.common_prefixes),
            }
        )

    # The object PUT is the hot path of small uploads: its route calls it directly (no generic
    # parameter resolution), and a bearer token's principal is looked up in the same worker
    # thread as the upload (PendingCaller.resolve, before any header is interpreted), so a PUT
    # makes one thread hop; the checks and errors are those of every other route (ADR 0220).
    Pending = Annotated[PendingCaller, Depends(pending_caller_dependency(platform))]

    @accepts_streaming_payload
    async def put_object(bucket: str, key: str, request: Request, pending: Pending) -> JSONResponse:
        copy_source = request.headers.get("x-amz-copy-source")
        if copy_source is not None:
            source, _, query = unquote(copy_source).lstrip("/").partition("?versionId=")
            source_bucket, _, source_key = source.partition("/")
            directive = request.headers.get("x-amz-metadata-directive", "COPY").upper()
            replace = directive == "REPLACE"
            info = await run_in_threadpool(
                lambda: store.objects.copy_object(
                    _caller(pending.resolve()),
                    source_bucket=source_bucket,
                    source_key=source_key,
                    source_version_id=query or None,
                    bucket=bucket,
                    key=key,
                    metadata=_metadata(request) if replace else None,
                    content_type=request.headers.get("content-type") if replace else None,
                    object_lock=lock_request(request.headers),
                )
            )
            return CompactJSONResponse(_object_json(info), headers=_object_headers(info))
        declared = request.headers.get("content-length")
        reader = RequestBodyReader(request)
        body, length = upload_body(request, reader)

        def upload() -> storage.ObjectInfo:
            # One read of the token and both cache generations for the whole PUT: it writes
            # no bucket setting and no identity (ADR 0241).
            with db.generation_snapshot():
                caller = _caller(pending.resolve())
                return store.objects.put_object(
                    caller,
                    bucket,
                    key,
                    body,
                    content_length=length,
                    content_type=request.headers.get("content-type"),
                    metadata=_metadata(request),
                    conditions=_conditions(request),
                    expected_sha256=_expected_sha256(request),
                    object_lock=lock_request(request.headers),
                )

        await reader.prefetch(int(declared) if declared and declared.isdigit() else None)
        if reader.complete:  # A smaller hand-off than anyio's: half its cost on the loop.
            info = await UPLOADS.run(upload)  # (ADR 0248)
        else:  # The worker pulls the body's pieces from the loop: an anyio worker thread.
            info = await anyio.to_thread.run_sync(upload)
        return CompactJSONResponse(_object_json(info), headers=_object_headers(info))

    router.add_api_route(
        "/{bucket}/objects/{key:path}",
        put_object,
        methods=["PUT"],
        route_class_override=DirectRoute,
    )

    @router.api_route("/{bucket}/objects/{key:path}", methods=["HEAD"])
    async def head_object(
        bucket: str,
        key: str,
        request: Request,
        call: Caller,
        version_id: Annotated[str | None, Query(alias="versionId")] = None,
    ) -> Response:
        try:
            info = await run_in_threadpool(
                lambda: store.objects.head_object(
                    _caller(call),
                    bucket,
                    key,
                    version_id=version_id,
                    conditions=_conditions(request),
                )
            )
        except storage.NotModified:
            return Response(status_code=304)
        headers = _object_headers(info)
        headers["Content-Length"] = str(info.size)
        return Response(status_code=200, headers=headers)

    @router.get("/{bucket}/objects/{key:path}")
    async def get_object(
        bucket: str,
        key: str,
        request: Request,
        call: Caller,
        version_id: Annotated[str | None, Query(alias="versionId")] = None,
    ) -> Response:
        try:
            download = await run_in_threadpool(
                lambda: store.objects.open_object(
                    _caller(call),
                    bucket,
                    key,
                    version_id=version_id,
                    conditions=_conditions(request),
                    byte_range=_byte_range(request.headers.get("range")),
                    show_object_lock=True,
                )
            )
        except storage.NotModified:
            return Response(status_code=304)
        return await download_response(download)

    @router.delete("/{bucket}/objects/{key:path}", status_code=204)
    async def delete_object(
        bucket: str,
        key: str,
        request: Request,
        call: Caller,
        version_id: Annotated[str | None, Query(alias="versionId")] = None,
    ) -> Response:
        result = await run_in_threadpool(
            lambda: store.objects.delete_object(
                _caller(call),
                bucket,
                key,
                version_id=version_id,
                bypass_governance=flag(request.headers, BYPASS),
            )
        )
        headers = {}
        if result.delete_marker:
            headers["x-amz-delete-marker"] = "true"
        if result.version_id is not None:
            headers["x-amz-version-id"] = result.version_id
        return Response(status_code=204, headers=headers)

    return router
