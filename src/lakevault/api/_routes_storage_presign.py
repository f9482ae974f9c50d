"""Pre-signed URLs and per-bucket streaming limits (docs/storage.md).

* ``POST /api/v1/buckets/{bucket}/presign`` — any authenticated caller (token, API key, SigV4)
  asks for a GET or PUT URL of one key; the gate decides ``s3:GetObject``/``s3:PutObject`` for
  the caller now, and again for the signer when the URL is used.
* ``GET|PUT /api/v1/presigned/{bucket}/{key}?X-Amz-...`` — the URL itself: no other credentials;
  a PUT body streams (``UNSIGNED-PAYLOAD``), held to the URL's content type and length range.
  ``HEAD`` with a GET URL answers the GET's headers without consuming a single-use URL.
* ``GET|PUT /api/v1/buckets/{bucket}/limits`` — ``lakevault:GetBucketStreamingLimits`` and
  ``lakevault:PutBucketStreamingLimits``: the bucket's largest object and its maximum request
  duration (a field left out of a PUT keeps its value).
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to the router factory, as an evaluated annotation.

from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from lakevault import identity, storage
from lakevault.api._auth import TEMPORARY_KEY_PREFIX, caller_dependency
from lakevault.api._routes_storage import (
    _byte_range,
    _caller,
    _conditions,
    _object_headers,
    _object_json,
    download_response,
)
from lakevault.api._streaming import RequestBodyReader, read_model
from lakevault.core.errors import AccessDenied, InvalidParameterValue
from lakevault.directory import CallContext
from lakevault.runtime import Platform

#: Where pre-signed URLs point: ``/api/v1/presigned/{bucket}/{key}``.
PRESIGNED_PREFIX = "/api/v1/presigned"


class LengthRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: int = Field(ge=0, examples=[1])
    max: int = Field(ge=0, examples=[10485760])


class NewPresignedUrl(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    method: Literal["GET", "PUT"]
    key: str = Field(examples=["uploads/report.pdf"])
    expires_in: int = Field(default=3600, alias="expiresIn", examples=[3600])
    content_type: str | None = Field(default=None, alias="contentType")
    content_length_range: LengthRange | None = Field(default=None, alias="contentLengthRange")
    single_use: bool = Field(default=False, alias="singleUse")


class BucketLimitsBody(BaseModel):
    """A field left out keeps the bucket's setting; ``null`` removes it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    max_object_bytes: int | None = Field(
        default=None, alias="maxObjectBytes", examples=[1073741824]
    )
    max_request_seconds: int | None = Field(
        default=None, alias="maxRequestSeconds", examples=[3600]
    )

    def given(self, field: str) -> int | storage.KeepLimit | None:
        """The value the request gave for ``field``, or ``KEEP_LIMIT`` when it left it out."""
        if field not in self.model_fields_set:
            return storage.KEEP_LIMIT
        value: int | None = getattr(self, field)
        return value


def _limits_json(limits: storage.StreamingLimits) -> dict[str, Any]:
    return {
        "bucket": limits.bucket,
        "maxObjectBytes": limits.max_object_bytes,
        "platformMaxObjectBytes": limits.platform_max_object_bytes,
        "effectiveMaxObjectBytes": limits.effective_max_object_bytes,
        "maxRequestSeconds": limits.max_request_seconds,
    }


def _signer(platform: Platform, request: Request, call: CallContext) -> storage.Signer:
    """How the caller authenticated, so that the URL can find it again when used."""
    principal = call.principal
    if principal.is_anonymous:
        raise AccessDenied("an anonymous caller cannot sign a URL; authenticate first")
    if request.headers.get("x-api-key") is not None:
        return storage.Signer(
            kind=storage.SignerKind.API_KEY,
            principal=principal,
            credential_id=principal.access_key_id,
        )
    header = request.headers.get("authorization") or ""
    if header[:7].lower() == "bearer ":
        claims = platform.tokens.verify(header[7:].strip())
        return storage.Signer(
            kind=storage.SignerKind.TOKEN,
            principal=principal,
            token=claims,
            expires_at=claims.expires_at,
        )
    key_id = principal.access_key_id or ""
    kind = (
        storage.SignerKind.SESSION
        if key_id.startswith(TEMPORARY_KEY_PREFIX)
        else storage.SignerKind.ACCESS_KEY
    )
    return storage.Signer(kind=kind, principal=principal, credential_id=key_id)


def _presigned_json(request: Request, url: storage.PresignedURL) -> dict[str, Any]:
    origin = str(request.base_url).rstrip("/")
    headers = {} if url.content_type is None else {"Content-Type": url.content_type}
    length_range = (
        None
        if url.min_length is None and url.max_length is None
        else {"min": url.min_length, "max": url.max_length}
    )
    return {
        "url": origin + url.target,
        "urlId": url.url_id,
        "method": url.method.value,
        "bucket": url.bucket,
        "key": url.key,
        "expiresAt": url.expires_at.isoformat(),
        "signerExpiresAt": (
            url.signer_expires_at.isoformat() if url.signer_expires_at is not None else None
        ),
        "headers": headers,
        "contentLengthRange": length_range,
        "singleUse": url.single_use,
    }


def _signed_request(request: Request) -> identity.SigV4Request:
    raw_path = request.scope.get("raw_path")
    return identity.SigV4Request(
        method=request.method,
        raw_path=raw_path.decode("utf-8", "surrogateescape") if raw_path else request.url.path,
        raw_query=request.scope.get("query_string", b"").decode("utf-8", "surrogateescape"),
        headers=tuple(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.scope["headers"]
        ),
        body=None,
    )


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    if not declared.isdigit():
        raise InvalidParameterValue("Content-Length must be a whole number", code="InvalidArgument")
    return int(declared)


def _use_caller(request: Request, use: storage.PresignedUse) -> storage.Caller:
    state = request.scope.get("state", {})
    return storage.Caller(
        principal=use.principal,
        request_id=str(state.get("request_id", "")),
        source_ip=request.client.host if request.client is not None else None,
        user_agent=request.headers.get("user-agent"),
        secure_transport=request.url.scheme == "https",
    )


def presign_router(platform: Platform) -> APIRouter:
    """Mint and serve pre-signed URLs; get and set buckets' streaming limits."""
    router = APIRouter(tags=["storage"])
    store = platform.storage
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    @router.post("/api/v1/buckets/{bucket}/presign", status_code=201)
    async def presign(bucket: str, request: Request, call: Caller) -> JSONResponse:
        body = await read_model(request, NewPresignedUrl)
        signer = await run_in_threadpool(_signer, platform, request, call)
        length_range = body.content_length_range
        wanted = storage.PresignRequest(
            method=storage.PresignMethod(body.method),
            key=body.key,
            expires_in_seconds=body.expires_in,
            content_type=body.content_type,
            min_length=length_range.min if length_range is not None else None,
            max_length=length_range.max if length_range is not None else None,
            single_use=body.single_use,
        )
        host = request.headers.get("host", "")
        url = await run_in_threadpool(
            lambda: store.presigned.mint(
                _caller(call), signer, bucket, wanted, host=host, path_prefix=PRESIGNED_PREFIX
            )
        )
        return JSONResponse(_presigned_json(request, url), status_code=201)

    @router.get(PRESIGNED_PREFIX + "/{bucket}/{key:path}")
    async def presigned_get(bucket: str, key: str, request: Request) -> Response:
        signed = _signed_request(request)
        use = await run_in_threadpool(
            lambda: store.presigned.authorize_use(signed, bucket=bucket, key=key)
        )
        try:
            download = await run_in_threadpool(
                lambda: store.objects.open_object(
                    _use_caller(request, use),
                    bucket,
                    key,
                    conditions=_conditions(request),
                    byte_range=_byte_range(request.headers.get("range")),
                    show_object_lock=True,
                )
            )
        except storage.NotModified:
            return Response(status_code=304)
        return await download_response(download)

    @router.api_route(PRESIGNED_PREFIX + "/{bucket}/{key:path}", methods=["HEAD"])
    async def presigned_head(bucket: str, key: str, request: Request) -> Response:
        """A GET URL's object metadata (docs/decisions/0184): never consumes a single-use URL."""
        signed = _signed_request(request)
        use = await run_in_threadpool(
            lambda: store.presigned.authorize_use(signed, bucket=bucket, key=key)
        )
        try:
            info = await run_in_threadpool(
                lambda: store.objects.head_object(
                    _use_caller(request, use), bucket, key, conditions=_conditions(request)
                )
            )
        except storage.NotModified:
            return Response(status_code=304)
        headers = _object_headers(info)
        headers["Content-Length"] = str(info.size)
        return Response(status_code=200, headers=headers)

    @router.put(PRESIGNED_PREFIX + "/{bucket}/{key:path}")
    async def presigned_put(bucket: str, key: str, request: Request) -> JSONResponse:
        signed = _signed_request(request)
        declared = _declared_length(request)
        content_type = request.headers.get("content-type")
        use = await run_in_threadpool(
            lambda: store.presigned.authorize_use(
                signed,
                bucket=bucket,
                key=key,
                content_type=content_type,
                content_length=declared,
            )
        )
        reader = use.bounded(RequestBodyReader(request))
        caller = _use_caller(request, use)

        def upload() -> storage.ObjectInfo:
            return store.objects.put_object(
                caller,
                bucket,
                key,
                reader,
                content_length=declared,
                content_type=content_type,
            )

        info = await anyio.to_thread.run_sync(upload)
        return JSONResponse(_object_json(info), headers=_object_headers(info))

    @router.get("/api/v1/buckets/{bucket}/limits")
    async def get_limits(bucket: str, call: Caller) -> JSONResponse:
        limits = await run_in_threadpool(store.limits.get_limits, _caller(call), bucket)
        return JSONResponse(_limits_json(limits))

    @router.put("/api/v1/buckets/{bucket}/limits")
    async def put_limits(bucket: str, request: Request, call: Caller) -> JSONResponse:
        body = await read_model(request, BucketLimitsBody)
        limits = await run_in_threadpool(
            lambda: store.limits.put_limits(
                _caller(call),
                bucket,
                max_object_bytes=body.given("max_object_bytes"),
                max_request_seconds=body.given("max_request_seconds"),
            )
        )
        return JSONResponse(_limits_json(limits))

    return router
