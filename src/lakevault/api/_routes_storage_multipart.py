"""Multipart uploads under ``/api/v1/buckets/{bucket}/uploads`` (docs/storage.md).

REST forms of S3's multipart calls, beside the objects they make:

* ``POST /uploads`` ``{"key", "contentType", "metadata"}`` — CreateMultipartUpload;
* ``GET /uploads?prefix=&max-uploads=&key-marker=&upload-id-marker=`` — ListMultipartUploads;
* ``PUT /uploads/{uploadId}/parts/{partNumber}`` — UploadPart: the body streams (constant
  memory), ``Content-Length`` and ``x-amz-checksum-sha256`` as for a PUT; answers the ETag;
  with ``x-amz-copy-source`` (and ``x-amz-copy-source-range: bytes=A-B``) UploadPartCopy;
* ``GET /uploads/{uploadId}/parts?max-parts=&part-number-marker=`` — ListParts;
* ``POST /uploads/{uploadId}/complete`` ``{"parts": [{"partNumber", "etag"}]}`` with
  ``If-None-Match: *`` / ``If-Match`` — CompleteMultipartUpload: the object, as a PUT answers;
* ``DELETE /uploads/{uploadId}`` — AbortMultipartUpload.

Every decision is storage's, through the gate, with S3's action names.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to the router factory, as an evaluated annotation.

from typing import Annotated, Any
from urllib.parse import unquote

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from lakevault import storage
from lakevault.api._auth import caller_dependency
from lakevault.api._routes_storage import (
    _byte_range,
    _caller,
    _conditions,
    _expected_sha256,
    _object_headers,
    _object_json,
)
from lakevault.api._sigv4_streaming import accepts_streaming_payload, upload_body
from lakevault.api._streaming import RequestBodyReader, read_model
from lakevault.directory import CallContext
from lakevault.runtime import Platform


class NewUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(examples=["datasets/2026/events.parquet"])
    content_type: str | None = Field(default=None, alias="contentType")
    metadata: dict[str, str] = Field(default_factory=dict)


class CompletedPartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    part_number: int = Field(alias="partNumber", examples=[1])
    etag: str = Field(examples=['"9f86d081884c7d659a2feaa0c55ad015"'])


class CompleteUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parts: list[CompletedPartBody] = Field(max_length=storage.MAX_PART_NUMBER)


def _upload_json(info: storage.UploadInfo) -> dict[str, Any]:
    return {
        "bucket": info.bucket,
        "key": info.key,
        "uploadId": info.upload_id,
        "initiator": info.initiator_arn,
        "initiated": info.initiated_at.isoformat(),
        "contentType": info.content_type,
        "metadata": dict(info.metadata),
    }


def _part_json(info: storage.PartInfo) -> dict[str, Any]:
    return {
        "partNumber": info.part_number,
        "size": info.size,
        "etag": info.etag,
        "sha256": info.sha256,
        "lastModified": info.last_modified.isoformat(),
    }


def multipart_router(platform: Platform) -> APIRouter:
    """Multipart uploads: create, parts, list, complete, abort (docs/storage.md)."""
    router = APIRouter(prefix="/api/v1/buckets", tags=["storage"])
    uploads = platform.storage.multipart
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    @router.post("/{bucket}/uploads")
    async def create_upload(bucket: str, request: Request, call: Caller) -> JSONResponse:
        body = await read_model(request, NewUpload)
        info = await run_in_threadpool(
            lambda: uploads.create_upload(
                _caller(call),
                bucket,
                body.key,
                content_type=body.content_type,
                metadata=body.metadata,
            )
        )
        return JSONResponse(_upload_json(info))

    @router.get("/{bucket}/uploads")
    async def list_uploads(
        bucket: str,
        call: Caller,
        prefix: str = "",
        max_uploads: Annotated[int, Query(alias="max-uploads", ge=0)] = 1000,
        key_marker: Annotated[str | None, Query(alias="key-marker")] = None,
        upload_id_marker: Annotated[str | None, Query(alias="upload-id-marker")] = None,
    ) -> JSONResponse:
        page = await run_in_threadpool(
            lambda: uploads.list_uploads(
                _caller(call),
                bucket,
                prefix=prefix,
                max_uploads=max_uploads,
                key_marker=key_marker,
                upload_id_marker=upload_id_marker,
            )
        )
        return JSONResponse(
            {
                "bucket": page.bucket,
                "prefix": page.prefix,
                "maxUploads": page.max_uploads,
                "isTruncated": page.is_truncated,
                "nextKeyMarker": page.next_key_marker,
                "nextUploadIdMarker": page.next_upload_id_marker,
                "uploads": [_upload_json(u) for u in page.uploads],
            }
        )

    @router.put("/{bucket}/uploads/{upload_id}/parts/{part_number}")
    @accepts_streaming_payload
    async def upload_part(
        bucket: str, upload_id: str, part_number: int, request: Request, call: Caller
    ) -> JSONResponse:
        caller = _caller(call)
        copy_source = request.headers.get("x-amz-copy-source")
        if copy_source is not None:
            source, _, version = unquote(copy_source).lstrip("/").partition("?versionId=")
            source_bucket, _, source_key = source.partition("/")
            copy_range = request.headers.get("x-amz-copy-source-range")
            copied = await run_in_threadpool(
                lambda: uploads.upload_part_copy(
                    caller,
                    bucket,
                    upload_id,
                    part_number,
                    source_bucket=source_bucket,
                    source_key=source_key,
                    source_version_id=version or None,
                    byte_range=_byte_range(copy_range),
                )
            )
            return JSONResponse(_part_json(copied), headers={"ETag": copied.etag})
        expected = _expected_sha256(request)
        body, length = upload_body(request, RequestBodyReader(request))

        def upload() -> storage.PartInfo:
            return uploads.upload_part(
                caller,
                bucket,
                upload_id,
                part_number,
                body,
                content_length=length,
                expected_sha256=expected,
            )

        info = await anyio.to_thread.run_sync(upload)
        return JSONResponse(_part_json(info), headers={"ETag": info.etag})

    @router.get("/{bucket}/uploads/{upload_id}/parts")
    async def list_parts(
        bucket: str,
        upload_id: str,
        call: Caller,
        max_parts: Annotated[int, Query(alias="max-parts", ge=0)] = 1000,
        marker: Annotated[int, Query(alias="part-number-marker", ge=0)] = 0,
    ) -> JSONResponse:
        page = await run_in_threadpool(
            lambda: uploads.list_parts(
                _caller(call), bucket, upload_id, max_parts=max_parts, part_number_marker=marker
            )
        )
        return JSONResponse(
            {
                "bucket": page.bucket,
                "key": page.key,
                "uploadId": page.upload_id,
                "maxParts": page.max_parts,
                "partNumberMarker": page.part_number_marker,
                "isTruncated": page.is_truncated,
                "nextPartNumberMarker": page.next_part_number_marker,
                "parts": [_part_json(p) for p in page.parts],
            }
        )

    @router.post("/{bucket}/uploads/{upload_id}/complete")
    async def complete_upload(
        bucket: str, upload_id: str, request: Request, call: Caller
    ) -> JSONResponse:
        body = await read_model(request, CompleteUpload)
        conditions = _conditions(request)
        parts = [storage.CompletedPart(part_number=p.part_number, etag=p.etag) for p in body.parts]
        info = await run_in_threadpool(
            lambda: uploads.complete_upload(
                _caller(call), bucket, upload_id, parts, conditions=conditions
            )
        )
        return JSONResponse(_object_json(info), headers=_object_headers(info))

    @router.delete("/{bucket}/uploads/{upload_id}", status_code=204)
    async def abort_upload(bucket: str, upload_id: str, call: Caller) -> Response:
        await run_in_threadpool(uploads.abort_upload, _caller(call), bucket, upload_id)
        return Response(status_code=204)

    return router
