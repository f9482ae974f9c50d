"""``lakevault object-lock ...``, ``lakevault lifecycle ...`` and ``lakevault versions``.

Object lock (WORM protection of object versions) and lifecycle rules, from the command line::

    lakevault mb lv://audit-red --object-lock
    lakevault object-lock set audit-red --mode COMPLIANCE --days 365
    lakevault object-lock retention lv://audit-red/2026/11/log.json
    lakevault object-lock set-retention lv://team/doc --mode GOVERNANCE --until 2027-01-01T00:00:00Z
    lakevault object-lock legal-hold lv://team/doc --on
    lakevault lifecycle set team rules.json
    lakevault versions lv://team/logs/

Answers are printed as JSON on standard output (``versions`` prints a table).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import typer
from rich.table import Table

from lakevault.cli._common import command, console, print_json
from lakevault.cli._storage import RemotePath, StorageClient, parse_remote
from lakevault.core.errors import InvalidParameterValue

lock_app = typer.Typer(help="Object lock: default retention, retention and legal hold (WORM).")
lifecycle_app = typer.Typer(help="Lifecycle rules: expire objects and old versions.")

_BYPASS = {"x-amz-bypass-governance-retention": "true"}


def _remote(path: str) -> RemotePath:
    remote = parse_remote(path)
    if remote is None or not remote.key:
        raise InvalidParameterValue(f"{path!r} is not lv://BUCKET/KEY")
    return remote


def _bucket(text: str) -> str:
    remote = parse_remote(text)
    bucket = remote.bucket if remote is not None else text
    if not bucket or "/" in bucket:
        raise InvalidParameterValue(f"{text!r} is not a bucket name (or lv://BUCKET)")
    return bucket


def _version_params(version_id: str | None) -> dict[str, str] | None:
    return {"versionId": version_id} if version_id is not None else None


def _path(kind: str, remote: RemotePath) -> str:
    return f"/buckets/{remote.bucket}/{kind}/{quote(remote.key, safe='/')}"


def _print(answer: Any) -> None:
    print_json(answer)


# -- object lock --------------------------------------------------------------------------------


@lock_app.command("show")
@command
def show(bucket: str = typer.Argument(..., help="BUCKET or lv://BUCKET")) -> None:
    """The bucket's object lock configuration."""
    _print(StorageClient().request("GET", f"/buckets/{_bucket(bucket)}/object-lock").json())


@lock_app.command("set")
@command
def set_configuration(
    bucket: str = typer.Argument(..., help="BUCKET or lv://BUCKET (versioning must be on)"),
    mode: str | None = typer.Option(None, help="Default retention: GOVERNANCE or COMPLIANCE."),
    days: int | None = typer.Option(None, help="Default retention in days."),
    years: int | None = typer.Option(None, help="Default retention in years."),
) -> None:
    """Enable object lock on a versioned bucket and set (or, without --mode, clear) its default
    retention. COMPLIANCE retention cannot be shortened by anyone."""
    body: dict[str, Any] = {"objectLockEnabled": "Enabled"}
    if mode is not None:
        retention: dict[str, Any] = {"mode": mode.upper()}
        if days is not None:
            retention["days"] = days
        if years is not None:
            retention["years"] = years
        body["rule"] = {"defaultRetention": retention}
    elif days is not None or years is not None:
        raise InvalidParameterValue("--days/--years need --mode GOVERNANCE or COMPLIANCE")
    _print(
        StorageClient().request("PUT", f"/buckets/{_bucket(bucket)}/object-lock", json=body).json()
    )


@lock_app.command("retention")
@command
def retention(
    path: str = typer.Argument(..., help="lv://BUCKET/KEY"),
    version_id: str | None = typer.Option(None, help="That version (default: the current)."),
) -> None:
    """A version's retention (mode and retain-until date)."""
    remote = _remote(path)
    response = StorageClient().request(
        "GET", _path("retention", remote), params=_version_params(version_id)
    )
    _print(response.json())


@lock_app.command("set-retention")
@command
def set_retention(
    path: str = typer.Argument(..., help="lv://BUCKET/KEY"),
    mode: str = typer.Option(..., help="GOVERNANCE or COMPLIANCE."),
    until: str = typer.Option(..., help="Retain until (ISO 8601 with zone, e.g. 2030-01-01Z)."),
    version_id: str | None = typer.Option(None, help="That version (default: the current)."),
    bypass_governance: bool = typer.Option(
        False, "--bypass-governance", help="Shorten GOVERNANCE retention (needs the permission)."
    ),
) -> None:
    """Set or extend a version's retention."""
    remote = _remote(path)
    response = StorageClient().request(
        "PUT",
        _path("retention", remote),
        params=_version_params(version_id),
        json={"mode": mode.upper(), "retainUntilDate": until},
        headers=_BYPASS if bypass_governance else None,
    )
    _print(response.json())


@lock_app.command("remove-retention")
@command
def remove_retention(
    path: str = typer.Argument(..., help="lv://BUCKET/KEY"),
    version_id: str | None = typer.Option(None, help="That version (default: the current)."),
    bypass_governance: bool = typer.Option(
        False, "--bypass-governance", help="Needed while GOVERNANCE retention is in force."
    ),
) -> None:
    """Remove a version's retention (never possible under COMPLIANCE before it ends)."""
    remote = _remote(path)
    response = StorageClient().request(
        "PUT",
        _path("retention", remote),
        params=_version_params(version_id),
        json={},
        headers=_BYPASS if bypass_governance else None,
    )
    _print(response.json())


@lock_app.command("legal-hold")
@command
def legal_hold(
    path: str = typer.Argument(..., help="lv://BUCKET/KEY"),
    on: bool | None = typer.Option(None, "--on/--off", help="Place or remove the hold."),
    version_id: str | None = typer.Option(None, help="That version (default: the current)."),
) -> None:
    """Show, place (--on) or remove (--off) a version's legal hold."""
    remote = _remote(path)
    client = StorageClient()
    params = _version_params(version_id)
    if on is None:
        _print(client.request("GET", _path("legal-hold", remote), params=params).json())
        return
    body = {"status": "ON" if on else "OFF"}
    _print(client.request("PUT", _path("legal-hold", remote), params=params, json=body).json())


# -- lifecycle ----------------------------------------------------------------------------------


@lifecycle_app.command("show")
@command
def lifecycle_show(bucket: str = typer.Argument(..., help="BUCKET or lv://BUCKET")) -> None:
    """The bucket's lifecycle rules (S3's JSON shape)."""
    _print(StorageClient().request("GET", f"/buckets/{_bucket(bucket)}/lifecycle").json())


@lifecycle_app.command("set")
@command
def lifecycle_set(
    bucket: str = typer.Argument(..., help="BUCKET or lv://BUCKET"),
    rules: Path = typer.Argument(..., help='A JSON file: {"Rules": [...]}, as for S3.'),
) -> None:
    """Replace the bucket's lifecycle rules."""
    try:
        document = json.loads(rules.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidParameterValue(f"cannot read {rules} as JSON: {exc}") from exc
    response = StorageClient().request(
        "PUT", f"/buckets/{_bucket(bucket)}/lifecycle", json=document
    )
    _print(response.json())


@lifecycle_app.command("delete")
@command
def lifecycle_delete(bucket: str = typer.Argument(..., help="BUCKET or lv://BUCKET")) -> None:
    """Remove the bucket's lifecycle rules."""
    StorageClient().request("DELETE", f"/buckets/{_bucket(bucket)}/lifecycle")
    console.print(f"lifecycle: deleted for {_bucket(bucket)}")


# -- versions -----------------------------------------------------------------------------------


@command
def versions(
    path: str = typer.Argument(..., help="lv://BUCKET or lv://BUCKET/PREFIX"),
    delimiter: str | None = typer.Option(
        None, "--delimiter", help="roll keys up to common prefixes (e.g. '/'), as S3 does"
    ),
) -> None:
    """List every version and delete marker under a prefix, newest first per key."""
    remote = parse_remote(path)
    if remote is None:
        raise InvalidParameterValue(f"{path!r} is not lv://BUCKET/PREFIX")
    client = StorageClient()
    table = Table("last modified", "size", "latest", "version id", "key")
    base: dict[str, str] = {"prefix": remote.key}
    if delimiter:
        base["delimiter"] = delimiter
    params = dict(base)
    while True:
        page = client.request("GET", f"/buckets/{remote.bucket}/versions", params=params).json()
        for common in page.get("commonPrefixes", []):
            table.add_row("", "(prefix)", "", "", common)
        rows = [(entry, False) for entry in page["versions"]] + [
            (entry, True) for entry in page["deleteMarkers"]
        ]
        rows.sort(key=lambda row: (row[0]["key"], row[0]["lastModified"]), reverse=False)
        for entry, marker in rows:
            table.add_row(
                entry["lastModified"],
                "(delete marker)" if marker else str(entry["size"]),
                "*" if entry["isLatest"] else "",
                entry["versionId"],
                entry["key"],
            )
        if not page["isTruncated"]:
            break
        params = dict(base, **{"key-marker": page["nextKeyMarker"]})
        if page["nextVersionIdMarker"] is not None:
            params["version-id-marker"] = page["nextVersionIdMarker"]
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``object-lock``, ``lifecycle`` and ``versions`` to the top-level command."""
    app.add_typer(lock_app, name="object-lock")
    app.add_typer(lifecycle_app, name="lifecycle")
    app.command("versions")(versions)
