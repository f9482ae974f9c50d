"""Multipart uploads from the command line: ``lakevault cp`` of large files, ``lakevault uploads``.

``cp`` uploads a file larger than its part size (``--part-size``, 16 MiB by default) in parts:
each part streams in 1 MiB pieces (constant memory) and is checked against the SHA-256 the
server answers; a failure aborts the upload so no part is left behind. The completed object's
SHA-256 is S3's composite form (the SHA-256 of the parts' SHA-256s), which the command checks
too. ``lakevault uploads ls|abort`` list and abort the uploads of a bucket.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import typer
from rich.progress import Progress
from rich.table import Table

from lakevault.cli._client import RemoteError
from lakevault.cli._common import command, console
from lakevault.core.errors import InvalidParameterValue

#: Default size of a part, and the file size above which ``cp`` uploads in parts.
DEFAULT_PART_BYTES = 16 * 1024 * 1024
#: S3's smallest part but the last; the server's minimum is a setting, this is the CLI's floor.
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000
_PIECE_BYTES = 1024 * 1024

app = typer.Typer(help="Multipart uploads in progress: list and abort.", no_args_is_help=True)


class _Remote(Protocol):
    @property
    def bucket(self) -> str: ...

    @property
    def key(self) -> str: ...


class _Client(Protocol):
    def request(self, method: str, path: str, **options: Any) -> Any: ...


def composite_sha256(part_sha256s: list[bytes]) -> str:
    """The SHA-256 a multipart object reports: SHA-256 of the parts' binary SHA-256s (hex)."""
    return hashlib.sha256(b"".join(part_sha256s)).hexdigest()


def file_composite_sha256(path: Path, part_bytes: int) -> str:
    """What :func:`upload_in_parts` of ``path`` with ``part_bytes`` parts would report."""
    digests = []
    with path.open("rb") as handle:
        while True:
            digest = hashlib.sha256()
            left = part_bytes
            while left and (piece := handle.read(min(_PIECE_BYTES, left))):
                digest.update(piece)
                left -= len(piece)
            if left == part_bytes:
                break
            digests.append(digest.digest())
    return composite_sha256(digests)


def check_part_size(part_bytes: int, size: int) -> None:
    if part_bytes < MIN_PART_BYTES:
        raise InvalidParameterValue(
            f"--part-size must be at least {MIN_PART_BYTES // (1024 * 1024)} MiB, got "
            f"{part_bytes} bytes"
        )
    if -(-size // part_bytes) > MAX_PARTS:
        raise InvalidParameterValue(
            f"a {size}-byte file needs more than {MAX_PARTS} parts of {part_bytes} bytes; "
            "raise --part-size"
        )


def upload_in_parts(
    client: _Client,
    source: Path,
    remote: _Remote,
    progress: Progress | None,
    *,
    part_bytes: int,
) -> Any:
    """CreateMultipartUpload, UploadPart per ``part_bytes`` of ``source``, Complete; on any
    failure the upload is aborted. Returns the server's answer for the object."""
    size = source.stat().st_size
    check_part_size(part_bytes, size)
    base = f"/buckets/{remote.bucket}/uploads"
    created = client.request(
        "POST", base, json={"key": remote.key, "contentType": "application/octet-stream"}
    ).json()
    upload_id = created["uploadId"]
    task = progress.add_task(f"lv://{remote.bucket}/{remote.key}", total=size) if progress else None
    parts: list[dict[str, Any]] = []
    digests: list[bytes] = []
    try:
        with source.open("rb") as handle:
            number = 0
            while True:
                number += 1
                length = min(part_bytes, size - handle.tell())
                if length <= 0 and number > 1:
                    break
                digest = hashlib.sha256()

                def pieces(remaining: int = length, digest: Any = digest) -> Iterator[bytes]:
                    while remaining > 0:
                        piece = handle.read(min(_PIECE_BYTES, remaining))
                        if not piece:
                            return
                        remaining -= len(piece)
                        digest.update(piece)
                        if progress is not None and task is not None:
                            progress.advance(task, len(piece))
                        yield piece

                answer = client.request(
                    "PUT",
                    f"{base}/{upload_id}/parts/{number}",
                    content=pieces(),
                    headers={"content-length": str(length)},
                ).json()
                if answer.get("sha256") != digest.hexdigest():
                    raise RemoteError(
                        500, "BadDigest", f"the server stored part {number} with another SHA-256"
                    )
                parts.append({"partNumber": number, "etag": answer["etag"]})
                digests.append(digest.digest())
                if length < part_bytes:
                    break
        answer = client.request(
            "POST", f"{base}/{upload_id}/complete", json={"parts": parts}
        ).json()
    except BaseException:
        # The upload's own error matters; an abort that fails too is left to the cleanup job.
        with contextlib.suppress(Exception):
            client.request("DELETE", f"{base}/{upload_id}")
        raise
    if answer.get("sha256") != composite_sha256(digests):
        raise RemoteError(500, "BadDigest", "the server completed the upload with another SHA-256")
    return answer


def _bucket_of(path: str) -> tuple[str, str]:
    if not path.startswith("lv://"):
        raise InvalidParameterValue(f"{path!r} is not lv://BUCKET[/PREFIX]")
    bucket, _, prefix = path[len("lv://") :].partition("/")
    if not bucket:
        raise InvalidParameterValue(f"{path!r} names no bucket; write lv://BUCKET[/PREFIX]")
    return bucket, prefix


def _client() -> _Client:
    # Imported here: _storage imports this module for ``cp``.
    from lakevault.cli._storage import StorageClient

    return StorageClient()


@app.command("ls")
@command
def list_uploads(
    path: str = typer.Argument(..., help="lv://BUCKET[/PREFIX]"),
) -> None:
    """List the multipart uploads in progress in a bucket (under a prefix)."""
    bucket, prefix = _bucket_of(path)
    client = _client()
    table = Table("initiated", "upload id", "key")
    params: dict[str, str] = {"prefix": prefix}
    while True:
        page = client.request("GET", f"/buckets/{bucket}/uploads", params=params).json()
        for upload in page["uploads"]:
            table.add_row(upload["initiated"], upload["uploadId"], upload["key"])
        if not page["isTruncated"]:
            break
        params = {
            "prefix": prefix,
            "key-marker": page["nextKeyMarker"],
            "upload-id-marker": page["nextUploadIdMarker"],
        }
    console.print(table)


@app.command("abort")
@command
def abort_upload(
    path: str = typer.Argument(..., help="lv://BUCKET"),
    upload_id: str = typer.Argument(..., help="The upload id ('lakevault uploads ls')."),
) -> None:
    """Abort a multipart upload: its parts are deleted."""
    bucket, _ = _bucket_of(path)
    _client().request("DELETE", f"/buckets/{bucket}/uploads/{upload_id}")
    console.print(f"abort: {upload_id} in lv://{bucket}")
