"""``lakevault presign get|put`` and ``lakevault bucket-limits get|set``.

``presign`` asks the server for a pre-signed URL (permission-checked as the signed-in user) and
prints only the URL on standard output, so that it composes::

    curl -T report.pdf -H 'Content-Type: application/pdf' \\
        "$(lakevault presign put s3://team-data/in/report.pdf --expires 1h \\
           --content-type application/pdf --max-size 20MiB --single-use)"

The details (expiry, conditions) go to standard error. Paths are ``s3://BUCKET/KEY`` or
``lv://BUCKET/KEY``.
"""

from __future__ import annotations

import re
from typing import Any

import typer

from lakevault.cli._common import command, error_console
from lakevault.cli._storage import StorageClient
from lakevault.core.errors import InvalidParameterValue

app = typer.Typer(help="Pre-signed URLs: GET or PUT of one object without credentials.")
limits_app = typer.Typer(help="Streaming limits of a bucket (its largest object).")

_DURATION = re.compile(r"(\d+)\s*([smhd]?)")
_SIZE = re.compile(r"(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_BYTES = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}


def parse_duration(text: str) -> int:
    """``90``, ``45s``, ``30m``, ``1h``, ``7d`` as seconds."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise InvalidParameterValue(f"{text!r} is not a duration such as 3600, 30m, 1h or 7d")
    return int(found.group(1)) * _SECONDS[found.group(2)]


def parse_size(text: str) -> int:
    """``1024``, ``10KB``, ``20MiB``, ``1GB`` as bytes."""
    found = _SIZE.fullmatch(text.strip())
    if found is None:
        raise InvalidParameterValue(f"{text!r} is not a size such as 1048576, 10MB or 20MiB")
    return int(found.group(1)) * _BYTES[found.group(2).lower()]


def _split(path: str) -> tuple[str, str]:
    for scheme in ("s3://", "lv://"):
        if path.startswith(scheme):
            bucket, _, key = path[len(scheme) :].partition("/")
            if bucket:
                return bucket, key
    raise InvalidParameterValue(f"{path!r} is not s3://BUCKET/KEY")


def _presign(path: str, body: dict[str, Any]) -> None:
    bucket, key = _split(path)
    if not key:
        raise InvalidParameterValue(f"{path!r} names no key; write s3://BUCKET/KEY")
    body["key"] = key
    answer = StorageClient().request("POST", f"/buckets/{bucket}/presign", json=body).json()
    typer.echo(answer["url"])
    details = [f"{answer['method']} {path} until {answer['expiresAt']}"]
    if answer.get("signerExpiresAt"):
        details.append(f"(and while your session lasts: {answer['signerExpiresAt']})")
    for name, value in answer.get("headers", {}).items():
        details.append(f"send {name}: {value}")
    if answer.get("contentLengthRange"):
        low, high = answer["contentLengthRange"]["min"], answer["contentLengthRange"]["max"]
        details.append(f"body {low}..{high} bytes")
    if answer.get("singleUse"):
        details.append("single use")
    error_console.print("; ".join(details), markup=False, highlight=False)


@app.command("get")
@command
def get(
    path: str = typer.Argument(..., help="s3://BUCKET/KEY"),
    expires: str = typer.Option("1h", "--expires", help="Lifetime: 30m, 1h, 7d (at most 7d)."),
    single_use: bool = typer.Option(False, "--single-use", help="The URL works once."),
) -> None:
    """Print a URL that downloads one object."""
    _presign(path, {"method": "GET", "expiresIn": parse_duration(expires), "singleUse": single_use})


@app.command("put")
@command
def put(
    path: str = typer.Argument(..., help="s3://BUCKET/KEY"),
    expires: str = typer.Option("1h", "--expires", help="Lifetime: 30m, 1h, 7d (at most 7d)."),
    content_type: str | None = typer.Option(
        None, "--content-type", help="The upload must send exactly this Content-Type."
    ),
    max_size: str | None = typer.Option(None, "--max-size", help="Largest body: 20MiB, 1GB."),
    min_size: str | None = typer.Option(None, "--min-size", help="Smallest body (default 0)."),
    single_use: bool = typer.Option(False, "--single-use", help="The URL works once."),
) -> None:
    """Print a URL that uploads one object (curl -T FILE URL)."""
    body: dict[str, Any] = {
        "method": "PUT",
        "expiresIn": parse_duration(expires),
        "singleUse": single_use,
    }
    if content_type is not None:
        body["contentType"] = content_type
    if max_size is not None or min_size is not None:
        body["contentLengthRange"] = {
            "min": parse_size(min_size) if min_size is not None else 0,
            "max": parse_size(max_size) if max_size is not None else 5 * 1024**4,
        }
    _presign(path, body)


def _show_limits(answer: dict[str, Any]) -> None:
    own = answer["maxObjectBytes"]
    seconds = answer.get("maxRequestSeconds")
    typer.echo(
        f"{answer['bucket']}: max object size {answer['effectiveMaxObjectBytes']} bytes"
        + (" (bucket setting)" if own is not None else " (platform default)")
        + "; max request duration "
        + (f"{seconds} s" if seconds is not None else "none")
    )


@limits_app.command("get")
@command
def limits_get(path: str = typer.Argument(..., help="s3://BUCKET")) -> None:
    """Show a bucket's largest object (its own limit or the platform default)."""
    bucket, _ = _split(path)
    _show_limits(StorageClient().request("GET", f"/buckets/{bucket}/limits").json())


@limits_app.command("set")
@command
def limits_set(
    path: str = typer.Argument(..., help="s3://BUCKET"),
    max_object_size: str | None = typer.Option(
        None, "--max-object-size", help="Largest object: 100MiB, 5GB."
    ),
    max_request_duration: str | None = typer.Option(
        None,
        "--max-request-duration",
        help="Longest object upload or download: 90s, 15m, 2h ('none' removes it).",
    ),
    clear: bool = typer.Option(
        False, "--clear", help="Return to the platform default size and no duration limit."
    ),
) -> None:
    """Set (or clear) a bucket's largest object (EntityTooLarge over it) and the longest an
    object transfer may take (RequestTimeout past it); a limit not named stays as it is."""
    bucket, _ = _split(path)
    named = max_object_size is not None or max_request_duration is not None
    if clear == named:
        raise InvalidParameterValue(
            "give --max-object-size SIZE and/or --max-request-duration DURATION, or --clear"
        )
    body: dict[str, int | None] = {}
    if clear:
        body = {"maxObjectBytes": None, "maxRequestSeconds": None}
    if max_object_size is not None:
        body["maxObjectBytes"] = parse_size(max_object_size)
    if max_request_duration is not None:
        body["maxRequestSeconds"] = (
            None
            if max_request_duration.strip().lower() == "none"
            else parse_duration(max_request_duration)
        )
    answer = StorageClient().request("PUT", f"/buckets/{bucket}/limits", json=body)
    _show_limits(answer.json())
