"""Object lock, lifecycle and version listing under ``/api/v1/buckets`` (docs/storage.md).

* ``PUT|GET /{bucket}/object-lock``: the bucket's object lock configuration;
* ``PUT|GET /{bucket}/retention/{key}`` and ``PUT|GET /{bucket}/legal-hold/{key}``: one
  version's retention and legal hold (``?versionId=``; ``x-amz-bypass-governance-retention``);
* ``PUT|GET|DELETE /{bucket}/lifecycle``: the lifecycle rules, S3's JSON shape;
* ``GET /{bucket}/versions``: ListObjectVersions (``prefix``, ``delimiter``, markers).

Routes translate HTTP to storage calls and nothing else; every decision happens in storage.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to the router factory, as an evaluated annotation.

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from lakevault import storage
from lakevault.api._auth import caller_dependency
from lakevault.api._storage_lock_headers import BYPASS, flag
from lakevault.api._streaming import read_limited_body, read_model
from lakevault.core.errors import InvalidParameterValue
from lakevault.directory import CallContext
from lakevault.runtime import Platform


class DefaultRetentionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: str = Field(examples=["COMPLIANCE"])
    days: int | None = Field(default=None, examples=[365])
    years: int | None = None


class LockRule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    default_retention: DefaultRetentionBody = Field(alias="defaultRetention")


class LockConfigurationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    object_lock_enabled: str = Field(default="Enabled", alias="objectLockEnabled")
    rule: LockRule | None = None


class RetentionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    mode: str | None = Field(default=None, examples=["GOVERNANCE"])
    retain_until_date: datetime | None = Field(default=None, alias="retainUntilDate")


class LegalHoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(examples=["ON"])


def _caller(call: CallContext) -> storage.Caller:
    return storage.Caller(
        principal=call.principal,
        request_id=call.request_id,
        source_ip=call.source_ip,
        user_agent=call.user_agent,
        secure_transport=call.secure_transport,
    )


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _config_json(config: storage.ObjectLockConfiguration) -> dict[str, Any]:
    body: dict[str, Any] = {"objectLockEnabled": "Enabled"}
    default = config.default_retention
    if default is not None:
        retention: dict[str, Any] = {"mode": default.mode.value}
        if default.days is not None:
            retention["days"] = default.days
        if default.years is not None:
            retention["years"] = default.years
        body["rule"] = {"defaultRetention": retention}
    return body


def _mode(value: str) -> storage.RetentionMode:
    try:
        return storage.RetentionMode(value.upper())
    except ValueError:
        raise InvalidParameterValue(
            f"mode must be GOVERNANCE or COMPLIANCE, got {value!r}", code="InvalidArgument"
        ) from None


def _state_json(state: storage.ObjectLockState) -> dict[str, Any]:
    body: dict[str, Any] = {
        "versionId": state.version_id,
        "legalHold": "ON" if state.legal_hold else "OFF",
    }
    if state.retention is not None:
        body["mode"] = state.retention.mode.value
        body["retainUntilDate"] = _when(state.retention.retain_until)
    return body


def _version_json(entry: storage.VersionEntry) -> dict[str, Any]:
    info = entry.info
    body: dict[str, Any] = {
        "key": info.key,
        "versionId": info.version_id if info.version_id is not None else "null",
        "isLatest": entry.is_latest,
        "lastModified": info.last_modified.isoformat(),
        "isDeleteMarker": info.is_delete_marker,
    }
    if not info.is_delete_marker:
        body.update({"size": info.size, "etag": info.etag, "sha256": info.sha256})
    return body


def storage_lock_router(platform: Platform) -> APIRouter:
    """Object lock, lifecycle and ListObjectVersions (docs/storage.md)."""
    router = APIRouter(prefix="/api/v1/buckets", tags=["storage"])
    store = platform.storage
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    # Object lock ------------------------------------------------------------------------------

    @router.put("/{bucket}/object-lock")
    async def put_lock_configuration(bucket: str, request: Request, call: Caller) -> JSONResponse:
        body = await read_model(request, LockConfigurationBody)
        if body.object_lock_enabled != "Enabled":
            raise InvalidParameterValue("objectLockEnabled must be 'Enabled'", code="MalformedXML")
        default = None
        if body.rule is not None:
            rule = body.rule.default_retention
            default = storage.DefaultRetention(
                mode=_mode(rule.mode), days=rule.days, years=rule.years
            )
        config = storage.ObjectLockConfiguration(enabled=True, default_retention=default)
        saved = await run_in_threadpool(
            store.lock.put_object_lock_configuration, _caller(call), bucket, config
        )
        return JSONResponse(_config_json(saved))

    @router.get("/{bucket}/object-lock")
    async def get_lock_configuration(bucket: str, call: Caller) -> JSONResponse:
        config = await run_in_threadpool(
            store.lock.get_object_lock_configuration, _caller(call), bucket
        )
        return JSONResponse(_config_json(config))

    @router.put("/{bucket}/retention/{key:path}")
    async def put_retention(
        bucket: str,
        key: str,
        request: Request,
        call: Caller,
        version_id: Annotated[str | None, Query(alias="versionId")] = None,
    ) -> JSONResponse:
        body = await read_model(request, RetentionBody)
        bypass = flag(request.headers, BYPASS)
        retention = None
        if body.mode is not None or body.retain_until_date is not None:
            if body.mode is None or body.retain_until_date is None:
                raise InvalidParameterValue(
                    "a retention needs both mode and retainUntilDate (send {} to remove it)",
                    code="InvalidArgument",
                )
            if body.retain_until_date.tzinfo is None:
                raise InvalidParameterValue(
                    "retainUntilDate needs a time zone ('Z' or an offset)", code="InvalidArgument"
                )
            retention = storage.ObjectRetention(
                mode=_mode(body.mode), retain_until=body.retain_until_date
            )
        state = await run_in_threadpool(
            lambda: store.lock.put_object_retention(
                _caller(call),
                bucket,
                key,
                retention,
                version_id=version_id,
                bypass_governance=bypass,
            )
        )
        return JSONResponse(_state_json(state))

    @router.get("/{bucket}/retention/{key:path}")
    async def get_retention(
        bucket: str,
        key: str,
        call: Caller,
        version_id: Annotated[str | None, Query(alias="versionId")] = None,
    ) -> JSONResponse:
        retention = await run_in_threadpool(
            lambda: store.lock.get_object_retention(
                _caller(call), bucket, key, version_id=version_id
            )
        )
        return JSONResponse(
            {"mode": retention.mode.value, "retainUntilDate": _when(retention.retain_until)}
        )

    @router.put("/{bucket}/legal-hold/{key:path}")
    async def put_legal_hold(
        bucket: str,
        key: str,
        request: Request,
        call: Caller,
        version_id: Annotated[str | None, Query(alias="versionId")] = None,
    ) -> JSONResponse:
        body = await read_model(request, LegalHoldBody)
        if body.status not in ("ON", "OFF"):
            raise InvalidParameterValue("status must be ON or OFF", code="MalformedXML")
        state = await run_in_threadpool(
            lambda: store.lock.put_object_legal_hold(
                _caller(call), bucket, key, body.status == "ON", version_id=version_id
            )
        )
        return JSONResponse(_state_json(state))

    @router.get("/{bucket}/legal-hold/{key:path}")
    async def get_legal_hold(
        bucket: str,
        key: str,
        call: Caller,
        version_id: Annotated[str | None, Query(alias="versionId")] = None,
    ) -> JSONResponse:
        on = await run_in_threadpool(
            lambda: store.lock.get_object_legal_hold(
                _caller(call), bucket, key, version_id=version_id
            )
        )
        return JSONResponse({"status": "ON" if on else "OFF"})

    # Lifecycle --------------------------------------------------------------------------------

    @router.put("/{bucket}/lifecycle")
    async def put_lifecycle(bucket: str, request: Request, call: Caller) -> JSONResponse:
        try:
            document = json.loads(await read_limited_body(request))
        except ValueError:
            raise InvalidParameterValue(
                'the lifecycle configuration must be JSON: {"Rules": [...]}', code="MalformedXML"
            ) from None
        rules = await run_in_threadpool(
            store.lifecycle.put_bucket_lifecycle_configuration, _caller(call), bucket, document
        )
        return JSONResponse({"Rules": [rule.to_json() for rule in rules]})

    @router.get("/{bucket}/lifecycle")
    async def get_lifecycle(bucket: str, call: Caller) -> JSONResponse:
        rules = await run_in_threadpool(
            store.lifecycle.get_bucket_lifecycle_configuration, _caller(call), bucket
        )
        return JSONResponse({"Rules": [rule.to_json() for rule in rules]})

    @router.delete("/{bucket}/lifecycle", status_code=204)
    async def delete_lifecycle(bucket: str, call: Caller) -> Response:
        await run_in_threadpool(store.lifecycle.delete_bucket_lifecycle, _caller(call), bucket)
        return Response(status_code=204)

    # Versions ---------------------------------------------------------------------------------

    @router.get("/{bucket}/versions")
    async def list_versions(
        bucket: str,
        call: Caller,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: Annotated[int, Query(alias="max-keys", ge=0)] = storage.MAX_KEYS,
        key_marker: Annotated[str | None, Query(alias="key-marker")] = None,
        version_id_marker: Annotated[str | None, Query(alias="version-id-marker")] = None,
    ) -> JSONResponse:
        page = await run_in_threadpool(
            lambda: store.list_object_versions(
                _caller(call),
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                max_keys=max_keys,
                key_marker=key_marker,
                version_id_marker=version_id_marker,
            )
        )
        return JSONResponse(
            {
                "bucket": page.bucket,
                "prefix": page.prefix,
                "delimiter": page.delimiter,
                "maxKeys": page.max_keys,
                "isTruncated": page.is_truncated,
                "nextKeyMarker": page.next_key_marker,
                "nextVersionIdMarker": page.next_version_id_marker,
                "versions": [
                    _version_json(v) for v in page.versions if not v.info.is_delete_marker
                ],
                "deleteMarkers": [
                    _version_json(v) for v in page.versions if v.info.is_delete_marker
                ],
                "commonPrefixes": list(page.common_prefixes),
            }
        )

    return router
