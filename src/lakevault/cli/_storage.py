"""``lakevault cp``, ``ls``, ``rm``, ``mb``, ``rb`` and ``sync``: objects from the command line.

Remote paths are ``lv://BUCKET/KEY``. Bodies stream in 1 MiB pieces both ways (constant memory
whatever the size) with a Rich progress bar on standard error; a download is written to a
temporary file beside its target and renamed into place only when complete and verified, so an
interrupted ``cp`` never leaves a partial file under the target's name.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from lakevault.cli._client import RemoteError, load_session
from lakevault.cli._common import command, console, error_console
from lakevault.cli._storage_multipart import (
    DEFAULT_PART_BYTES,
    file_composite_sha256,
    upload_in_parts,
)
from lakevault.cli._storage_multipart import app as uploads_app
from lakevault.core import sync_directory
from lakevault.core.errors import InvalidParameterValue, ServiceUnavailable

PIECE_BYTES = 1024 * 1024
SCHEME = "lv://"


@dataclass(frozen=True, slots=True)
class RemotePath:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"


def parse_remote(text: str) -> RemotePath | None:
    """``lv://bucket/key`` as a :class:`RemotePath`; ``None`` for a local path."""
    if not text.startswith(SCHEME):
        return None
    bucket, _, key = text[len(SCHEME) :].partition("/")
    if not bucket:
        raise InvalidParameterValue(f"{text!r} names no bucket; write lv://BUCKET/KEY")
    return RemotePath(bucket, key)


class StorageClient:
    """Streaming calls to ``/api/v1/buckets`` with the saved session's token."""

    def __init__(self) -> None:
        saved = load_session()
        self._client = httpx.Client(
            base_url=saved.endpoint.rstrip("/") + "/api/v1",
            headers={
                "user-agent": "lakevault-cli",
                "authorization": f"Bearer {saved.access_token}",
            },
            timeout=httpx.Timeout(60.0, read=None, write=None),
        )

    def _raise_for(self, response: httpx.Response) -> None:
        if 200 <= response.status_code < 300:
            return
        response.read()
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        raise RemoteError(
            response.status_code,
            str(error.get("code", "Unknown")),
            f"{error.get('message', 'the request failed')} (request id "
            f"{error.get('requestId', '?')})",
        )

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **options)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot reach lakevault at {self._client.base_url} ({type(exc).__name__})"
            ) from exc
        self._raise_for(response)
        return response

    @staticmethod
    def object_path(remote: RemotePath) -> str:
        return f"/buckets/{remote.bucket}/objects/{quote(remote.key, safe='/')}"

    def upload(self, source: Path, remote: RemotePath, progress: Progress | None) -> Any:
        size = source.stat().st_size
        digest = hashlib.sha256()
        task = progress.add_task(str(remote), total=size) if progress is not None else None

        def pieces() -> Iterator[bytes]:
            with source.open("rb") as handle:
                while piece := handle.read(PIECE_BYTES):
                    digest.update(piece)
                    if progress is not None and task is not None:
                        progress.advance(task, len(piece))
                    yield piece

        response = self.request(
            "PUT",
            self.object_path(remote),
            content=pieces(),
            headers={"content-length": str(size), "content-type": "application/octet-stream"},
        )
        answer = response.json()
        if answer.get("sha256") != digest.hexdigest():
            raise RemoteError(
                500, "BadDigest", f"the server stored {remote} with another SHA-256 than sent"
            )
        return answer

    def download(self, remote: RemotePath, target: Path, progress: Progress | None) -> int:
        temporary = target.with_name(f".{target.name}.lakevault-partial")
        digest = hashlib.sha256()
        written = 0
        try:
            with self._client.stream("GET", self.object_path(remote)) as response:
                self._raise_for(response)
                total = int(response.headers.get("content-length", "0"))
                task = progress.add_task(str(remote), total=total) if progress is not None else None
                with temporary.open("wb") as handle:
                    for piece in response.iter_bytes(PIECE_BYTES):
                        handle.write(piece)
                        digest.update(piece)
                        written += len(piece)
                        if progress is not None and task is not None:
                            progress.advance(task, len(piece))
                    handle.flush()
                    os.fsync(handle.fileno())
                expected = response.headers.get("x-amz-checksum-sha256")
                if _is_multipart_etag(response.headers.get("etag", "")):
                    # A composite SHA-256 (of the parts'); each part was verified by the server.
                    expected = None
            if written != total or (
                expected is not None and base64.b64decode(expected) != digest.digest()
            ):
                raise RemoteError(
                    502,
                    "IncompleteBody",
                    f"the download of {remote} ended after {written} of {total} bytes",
                )
            temporary.replace(target)
            sync_directory(target.parent)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the download of {remote} was interrupted ({type(exc).__name__}); nothing was "
                "written to the target"
            ) from exc
        finally:
            temporary.unlink(missing_ok=True)
        return written

    def list_page(self, bucket: str, **params: Any) -> Any:
        clean = {name: value for name, value in params.items() if value is not None}
        return self.request("GET", f"/buckets/{bucket}/objects", params=clean).json()

    def list_all(self, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = self.list_page(bucket, prefix=prefix, **{"continuation-token": token})
            yield from page["contents"]
            if not page["isTruncated"]:
                return
            token = page["nextContinuationToken"]


def _is_multipart_etag(etag: str) -> bool:
    return "-" in etag.strip('"')


def _part_bytes(part_size_mib: int) -> int:
    return part_size_mib * 1024 * 1024


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=error_console,
        transient=False,
    )


@command
def cp(
    source: str = typer.Argument(..., help="A local file or lv://BUCKET/KEY."),
    destination: str = typer.Argument(..., help="lv://BUCKET/KEY, lv://BUCKET/ or a local path."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    part_size: int = typer.Option(
        DEFAULT_PART_BYTES // (1024 * 1024),
        "--part-size",
        help="Files larger than this many MiB are uploaded in parts of this size.",
    ),
) -> None:
    """Copy a file to, from or within lakevault (streamed; any size)."""
    source_remote, target_remote = parse_remote(source), parse_remote(destination)
    client = StorageClient()
    progress = None if quiet else _progress()
    with progress if progress is not None else contextlib.nullcontext():
        if source_remote is None and target_remote is not None:
            path = Path(source)
            if not path.is_file():
                raise InvalidParameterValue(f"{source} is not a file")
            if target_remote.key == "" or target_remote.key.endswith("/"):
                target_remote = RemotePath(target_remote.bucket, target_remote.key + path.name)
            part_bytes = _part_bytes(part_size)
            if path.stat().st_size > part_bytes:
                answer = upload_in_parts(
                    client, path, target_remote, progress, part_bytes=part_bytes
                )
            else:
                answer = client.upload(path, target_remote, progress)
            console.print(f"upload: {source} to {target_remote} ({answer['size']} bytes)")
        elif source_remote is not None and target_remote is None:
            target = Path(destination)
            if target.is_dir():
                target = target / source_remote.key.rsplit("/", 1)[-1]
            size = client.download(source_remote, target, progress)
            console.print(f"download: {source_remote} to {target} ({size} bytes)")
        elif source_remote is not None and target_remote is not None:
            client.request(
                "PUT",
                client.object_path(target_remote),
                headers={"x-amz-copy-source": f"/{source_remote.bucket}/{source_remote.key}"},
            )
            console.print(f"copy: {source_remote} to {target_remote}")
        else:
            raise InvalidParameterValue("one of SOURCE and DESTINATION must be lv://BUCKET/KEY")


@command
def ls(
    path: str | None = typer.Argument(None, help="lv://BUCKET/PREFIX; nothing lists buckets."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Do not group by '/'."),
) -> None:
    """List buckets, or the objects and folders under a prefix."""
    client = StorageClient()
    if path is None:
        table = Table("created", "bucket", "versioning")
        for bucket in client.request("GET", "/buckets").json()["buckets"]:
            table.add_row(bucket["createdAt"], bucket["name"], bucket["versioning"])
        console.print(table)
        return
    remote = parse_remote(path)
    if remote is None:
        raise InvalidParameterValue(f"{path!r} is not lv://BUCKET/PREFIX")
    table = Table("last modified", "size", "key")
    token = None
    while True:
        page = client.list_page(
            remote.bucket,
            prefix=remote.key,
            delimiter=None if recursive else "/",
            **{"continuation-token": token},
        )
        for prefix in page["commonPrefixes"]:
            table.add_row("", "PRE", prefix)
        for item in page["contents"]:
            table.add_row(item["lastModified"], str(item["size"]), item["key"])
        if not page["isTruncated"]:
            break
        token = page["nextContinuationToken"]
    console.print(table)


@command
def rm(
    paths: list[str] = typer.Argument(..., help="lv://BUCKET/KEY (several: one batch call)"),
    version_id: str | None = typer.Option(None, help="Delete this version for good."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Every key under KEY."),
    bypass_governance: bool = typer.Option(
        False, "--bypass-governance", help="Delete a version under GOVERNANCE retention."
    ),
) -> None:
    """Delete an object, several (one DeleteObjects call per 1,000 keys of a bucket), or with
    --recursive every object under a prefix. Each key is allowed or refused on its own."""
    remotes: list[RemotePath] = []
    for path in paths:
        remote = parse_remote(path)
        if remote is None:
            raise InvalidParameterValue(f"{path!r} is not lv://BUCKET/KEY")
        remotes.append(remote)
    if version_id is not None and (recursive or len(remotes) > 1):
        raise InvalidParameterValue("--version-id names the version of one key; give one path")
    client = StorageClient()
    bypass = {"x-amz-bypass-governance-retention": "true"} if bypass_governance else None
    if len(remotes) == 1 and not recursive:
        target = remotes[0]
        params = {"versionId": version_id} if version_id is not None else None
        client.request("DELETE", client.object_path(target), params=params, headers=bypass)
        console.print(f"delete: {target}")
        return
    by_bucket: dict[str, list[str]] = {}
    for remote in remotes:
        keys = by_bucket.setdefault(remote.bucket, [])
        if recursive:
            keys.extend(item["key"] for item in client.list_all(remote.bucket, remote.key))
        else:
            keys.append(remote.key)
    failed = 0
    for bucket, keys in by_bucket.items():
        for start in range(0, len(keys), BATCH_DELETE_KEYS):
            failed += _delete_batch(client, bucket, keys[start : start + BATCH_DELETE_KEYS], bypass)
    if failed:
        raise typer.Exit(1)


#: Keys per DeleteObjects call (the server's limit).
BATCH_DELETE_KEYS = 1000


def _delete_batch(
    client: StorageClient, bucket: str, keys: list[str], headers: dict[str, str] | None
) -> int:
    """One DeleteObjects call; print each key's outcome; return how many keys failed."""
    body = json.dumps({"objects": [{"key": key} for key in keys]}).encode()
    checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
    answer = client.request(
        "POST",
        f"/buckets/{bucket}/delete",
        content=body,
        headers=(headers or {})
        | {"content-type": "application/json", "x-amz-checksum-sha256": checksum},
    ).json()
    for entry in answer["deleted"]:
        console.print(f"delete: {RemotePath(bucket, entry['key'])}")
    for entry in answer["errors"]:
        error_console.print(
            f"delete failed: {RemotePath(bucket, entry['key'])}: {entry['code']}: "
            f"{entry['message']}"
        )
    return len(answer["errors"])


@command
def mb(
    path: str = typer.Argument(..., help="lv://BUCKET"),
    object_lock: bool = typer.Option(
        False, "--object-lock", help="Enable object lock (WORM); versioning stays on for good."
    ),
) -> None:
    """Make a bucket (with its own KMS key)."""
    remote = parse_remote(path)
    if remote is None:
        raise InvalidParameterValue(f"{path!r} is not lv://BUCKET")
    body = {"name": remote.bucket, "objectLockEnabled": object_lock}
    StorageClient().request("POST", "/buckets", json=body)
    console.print(f"make_bucket: {remote.bucket}")


@command
def rb(path: str = typer.Argument(..., help="lv://BUCKET")) -> None:
    """Remove an empty bucket."""
    remote = parse_remote(path)
    if remote is None:
        raise InvalidParameterValue(f"{path!r} is not lv://BUCKET")
    StorageClient().request("DELETE", f"/buckets/{remote.bucket}")
    console.print(f"remove_bucket: {remote.bucket}")


@command
def sync(
    source: str = typer.Argument(..., help="A local directory."),
    destination: str = typer.Argument(..., help="lv://BUCKET/PREFIX"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Upload the files of a directory whose content differs from the objects under PREFIX."""
    remote = parse_remote(destination)
    root = Path(source)
    if remote is None or not root.is_dir():
        raise InvalidParameterValue("sync copies a local directory to lv://BUCKET/PREFIX")
    client = StorageClient()
    prefix = remote.key if remote.key == "" or remote.key.endswith("/") else remote.key + "/"
    existing = {
        item["key"]: (item["sha256"], _is_multipart_etag(item["etag"]))
        for item in client.list_all(remote.bucket, prefix)
    }
    part_bytes = DEFAULT_PART_BYTES
    progress = None if quiet else _progress()
    uploaded = skipped = 0
    with progress if progress is not None else contextlib.nullcontext():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            key = prefix + path.relative_to(root).as_posix()
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while piece := handle.read(PIECE_BYTES):
                    digest.update(piece)
            stored, in_parts = existing.get(key, ("", False))
            local = file_composite_sha256(path, part_bytes) if in_parts else digest.hexdigest()
            if stored == local:
                skipped += 1
                continue
            if path.stat().st_size > part_bytes:
                upload_in_parts(
                    client, path, RemotePath(remote.bucket, key), progress, part_bytes=part_bytes
                )
            else:
                client.upload(path, RemotePath(remote.bucket, key), progress)
            uploaded += 1
    console.print(f"sync: {uploaded} uploaded, {skipped} unchanged")


def register(app: typer.Typer) -> None:
    """Add the storage commands to the top-level ``lakevault`` command."""
    for function in (cp, ls, rm, mb, rb, sync):
        app.command(function.__name__)(function)
    app.add_typer(uploads_app, name="uploads")
