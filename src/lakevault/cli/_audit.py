"""``lakevault audit``: checkpoints, proofs, export, offline verification and event lookup.

These commands run on the operator's machine with the installation's settings (the database
and the signing key under LAKEVAULT_HOME). ``verify`` needs neither: it reads an export alone.
The HTTP API for tenants, behind the gate's permission checks, is a separate face.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import orjson
import typer

from lakevault.audit import (
    MAX_RETENTION_DAYS,
    VERIFIERS_FILE,
    AuditProofs,
    Checkpointer,
    DecisionFilter,
    EventQuery,
    ExportVerificationFailed,
    NoteVerifiers,
    expire_export,
    export_log,
    load_signing_key,
    load_verifier,
    logged_accounts,
    materialize,
    parse_since,
    query_events,
    rotate_signing_key,
    selected_names,
    verify_export,
)
from lakevault.cli._client import ApiClient, account_of
from lakevault.cli._common import command, console, error_console, print_json, read_settings
from lakevault.cli._storage import SCHEME, StorageClient, parse_remote
from lakevault.core import PLATFORM_ACCOUNT_ID, Settings, SystemClock, parse_account_id
from lakevault.core.errors import InvalidParameterValue
from lakevault.db import Database, check_schema
from lakevault.trail import AlarmProtocol, Detector

app = typer.Typer(
    help="The audit trail: checkpoints, proofs, export, verification, events.",
    no_args_is_help=True,
)

_TENANT_HELP = "Account id (12 digits) of the log; the platform's own log is 000000000000."
_Tenant = Annotated[str, typer.Option("--tenant", help=_TENANT_HELP)]
_Since = Annotated[
    str | None, typer.Option("--since", help="From this time on: 30m, 1h, 7d or ISO 8601.")
]


def _open_database(settings: Settings) -> Database:
    database = Database(settings.effective_database_url)
    check_schema(database)
    return database


def _checkpointer(settings: Settings, database: Database) -> Checkpointer:
    home = settings.resolved_home
    return Checkpointer(
        database, load_signing_key(home), SystemClock(), verifiers=load_verifier(home)
    )


@app.command("checkpoint")
@command
def checkpoint_command(tenant: _Tenant = PLATFORM_ACCOUNT_ID) -> None:
    """Sign a checkpoint of the log now (on demand) and print it."""
    settings = read_settings()
    database = _open_database(settings)
    try:
        signed = _checkpointer(settings, database).checkpoint(parse_account_id(tenant))
    finally:
        database.dispose()
    console.print(signed.note.decode("utf-8"), end="", markup=False)


@app.command("rotate-key")
@command
def rotate_key_command() -> None:
    """Replace the checkpoint signing key; keep the old public key so old checkpoints verify.

    Signs a checkpoint of every log with the new key at once, so each chain crosses over now.
    Publish keys/audit-verifiers.pub (every key, oldest first) where verifiers can fetch it.
    """
    settings = read_settings()
    home = settings.resolved_home
    new = rotate_signing_key(home)
    database = _open_database(settings)
    try:
        checkpointer = _checkpointer(settings, database)
        accounts = logged_accounts(database)
        for account_id in accounts:
            checkpointer.checkpoint(account_id)
    finally:
        database.dispose()
    console.print(f"new audit signing key {new.verifier_key}", markup=False)
    console.print(
        f"{len(load_verifier(home).keys)} key(s) in {home / VERIFIERS_FILE}; "
        f"{len(accounts)} log(s) checkpointed with the new key",
        markup=False,
    )


@app.command("prove")
@command
def prove_command(
    event_id: Annotated[str, typer.Argument(help="The eventID of the event to prove.")],
    tenant: _Tenant = PLATFORM_ACCOUNT_ID,
) -> None:
    """Print an inclusion proof of one event against the newest checkpoint, as JSON."""
    settings = read_settings()
    database = _open_database(settings)
    account_id = parse_account_id(tenant)
    verifier = load_verifier(settings.resolved_home)
    try:
        proofs = AuditProofs(database, verifier)
        proof = proofs.inclusion(account_id, proofs.sequence_of(account_id, event_id))
    finally:
        database.dispose()
    proof.verify(verifier)  # Never print a proof this installation cannot verify itself.
    document = {
        "accountId": account_id,
        "eventID": event_id,
        "leafIndex": proof.sequence,
        "treeSize": proof.checkpoint.checkpoint.tree_size,
        "leafHash": base64.b64encode(proof.leaf_hash).decode("ascii"),
        "proof": [base64.b64encode(h).decode("ascii") for h in proof.hashes],
        "checkpoint": proof.checkpoint.note.decode("utf-8"),
    }
    console.print(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode(), markup=False)


@app.command("consistency")
@command
def consistency_command(
    old_size: Annotated[int, typer.Argument(min=1, help="Tree size of the older checkpoint.")],
    new_size: Annotated[int, typer.Argument(min=1, help="Tree size of the newer checkpoint.")],
    tenant: _Tenant = PLATFORM_ACCOUNT_ID,
) -> None:
    """Print a consistency proof between two checkpoints of a log, as JSON."""
    settings = read_settings()
    database = _open_database(settings)
    account_id = parse_account_id(tenant)
    verifier = load_verifier(settings.resolved_home)
    try:
        proof = AuditProofs(database, verifier).consistency(account_id, old_size, new_size)
    finally:
        database.dispose()
    proof.verify(verifier)  # Never print a proof this installation cannot verify itself.
    document = {
        "accountId": account_id,
        "oldSize": old_size,
        "newSize": new_size,
        "proof": [base64.b64encode(h).decode("ascii") for h in proof.hashes],
        "oldCheckpoint": proof.old.note.decode("utf-8"),
        "newCheckpoint": proof.new.note.decode("utf-8"),
    }
    console.print(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode(), markup=False)


@app.command("export")
@command
def export_command(
    directory: Annotated[Path, typer.Argument(help="Directory to write into (created if needed).")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help=_TENANT_HELP + " Default: every log.")
    ] = None,
    since: _Since = None,
) -> None:
    """Checkpoint and export logs (segments, signed digests, checkpoints, public key)."""
    settings = read_settings()
    start = parse_since(since, SystemClock().now()) if since is not None else None
    database = _open_database(settings)
    try:
        checkpointer = _checkpointer(settings, database)
        accounts = [parse_account_id(tenant)] if tenant else logged_accounts(database)
        for account_id in accounts:
            exported = export_log(database, checkpointer, directory, account_id, since=start)
            events = (
                f"events {exported.first_sequence} to {exported.tree_size - 1}"
                if exported.tree_size > exported.first_sequence
                else "no events"
            )
            console.print(
                f"{account_id}: {events} in {exported.segments} segment(s), "
                f"{exported.checkpoints} checkpoint(s) -> {exported.directory}"
            )
    finally:
        database.dispose()
    if not accounts:
        error_console.print("no audit log has any event yet; nothing was exported")


@app.command("verify")
@command
def verify_command(
    directory: Annotated[
        str,
        typer.Argument(
            help="An export written by 'lakevault audit export', or an audit bucket's log as "
            "lv://BUCKET/PREFIX/ACCOUNT/ (read with the 'lakevault login' session)."
        ),
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="The verifier keys to trust (a file with one key per line, such as the "
            "installation's keys/audit-verifiers.pub, or one key string). Default: the export's "
            "own audit-signing.pub, which proves integrity but not who signed.",
        ),
    ] = None,
) -> None:
    """Check an export offline; exit 1 naming the first inconsistency and its position."""
    verifier = None
    if key is not None:
        text = Path(key).read_text("ascii") if Path(key).is_file() else key
        verifier = NoteVerifiers.from_text(text)
    if directory.startswith(SCHEME):
        with tempfile.TemporaryDirectory(prefix="lakevault-audit-") as scratch:
            logs = verify_export(_download_bucket_logs(directory, Path(scratch)), verifier=verifier)
    else:
        logs = verify_export(Path(directory), verifier=verifier)
    for log in logs:
        events = (
            f"events {log.first_sequence} to {log.tree_size - 1}"
            if log.tree_size > log.first_sequence
            else "no events"
        )
        console.print(
            f"{log.account_id}: OK — {events}, "
            f"{log.segments} segment(s), {log.checkpoints} checkpoint(s), signed root "
            f"{base64.b64encode(log.root_hash).decode('ascii')} (key id {log.key_id})"
        )
    if key is None:
        error_console.print(
            "note: verified with the export's own public key; pass --key with the "
            "installation's keys/audit-signing.pub to also prove who signed"
        )


def _download_bucket_logs(location: str, scratch: Path) -> Path:
    """Download the audit logs under ``lv://BUCKET/ROOT`` into ``scratch`` (directory format).

    ROOT is one log's root (``audit/<account>/``) or the prefix above several; only the objects
    of each log's newest manifest are fetched (docs/audit.md, "Export to a bucket").
    """
    remote = parse_remote(location)
    assert remote is not None
    root = remote.key if not remote.key or remote.key.endswith("/") else remote.key + "/"
    client = StorageClient()
    names = [item["key"][len(root) :] for item in client.list_all(remote.bucket, root)]
    logs: dict[str, list[str]] = {}
    for name in names:
        head, _, rest = name.partition("/")
        if head in {"manifests", "segments", "checkpoints", "keys"}:
            logs.setdefault("", []).append(name)
        elif rest:
            logs.setdefault(head + "/", []).append(rest)
    if "" in logs:
        logs = {"": logs[""]}
    if not logs:
        raise ExportVerificationFailed(
            "no audit log export here: no manifest under this prefix (give a log's root, "
            "such as lv://BUCKET/audit/ACCOUNT/)",
            position=location,
        )
    for sub, members in sorted(logs.items()):
        chosen, pending = selected_names(members)
        objects = {
            name: client.request(
                "GET", f"/buckets/{remote.bucket}/objects/{quote(root + sub + name, safe='/')}"
            ).content
            for name in chosen
        }
        target = scratch if sub == "" else scratch / sub.rstrip("/")
        materialize(objects, target, pending=pending)
        if pending:
            error_console.print(
                f"note: {len(pending)} object(s) under {root + sub} were written after its "
                "newest manifest (an export in progress) and are not checked yet",
                markup=False,
            )
    return scratch


@app.command("expire")
@command
def expire_command(
    directory: Annotated[
        Path, typer.Argument(help="An export written by 'lakevault audit export'.")
    ],
    retention_days: Annotated[
        int | None,
        typer.Option(
            "--retention-days",
            min=1,
            max=MAX_RETENTION_DAYS,
            help="Keep events this many days. Default: the audit_retention_days setting.",
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="The verifier keys to trust (as for 'verify')."),
    ] = None,
) -> None:
    """Remove whole segments older than the retention; the export must verify before and after."""
    days = retention_days if retention_days is not None else read_settings().audit_retention_days
    verifier = None
    if key is not None:
        text = Path(key).read_text("ascii") if Path(key).is_file() else key
        verifier = NoteVerifiers.from_text(text)
    logs = (
        [directory]
        if (directory / "manifest.json").is_file()
        else sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    )
    for log in logs:
        result = expire_export(log, now=SystemClock().now(), retention_days=days, verifier=verifier)
        console.print(
            f"{result.account_id}: {result.expired_segments} segment(s), "
            f"{result.expired_events} event(s) expired; the export starts at event "
            f"{result.first_sequence} and verifies",
            markup=False,
        )


@app.command("events")
@command
def events_command(
    *,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", help=_TENANT_HELP + " Required without --api; with it, default: yours."
        ),
    ] = None,
    since: _Since = None,
    principal: Annotated[str | None, typer.Option(help="ARN or principal id.")] = None,
    action: Annotated[str | None, typer.Option(help="For example s3:GetObject.")] = None,
    decision: Annotated[DecisionFilter | None, typer.Option(help="allowed or denied.")] = None,
    resource: Annotated[str | None, typer.Option(help="ARN; a trailing * matches.")] = None,
    event_source: Annotated[
        str | None, typer.Option(help="For example kms.amazonaws.com or lakevault.local.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Events per page.")] = 50,
    next_token: Annotated[str | None, typer.Option(help="Continue a listing.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table.")] = False,
    api: Annotated[
        bool,
        typer.Option(
            "--api",
            help="Ask the running platform with the signed-in session ('lakevault login'): "
            "permission-checked by the gate, for tenants. Default: read the database directly "
            "(operators on the installation's machine).",
        ),
    ] = False,
) -> None:
    """List events of one log, oldest first, one page at a time."""
    if api:
        answer = ApiClient.from_saved_session().call(
            "GET",
            "/audit/events",
            **_present(
                accountId=account_of(tenant),
                since=since,
                principal=principal,
                action=action,
                decision=decision.value if decision is not None else None,
                resource=resource,
                eventSource=event_source,
                limit=str(limit),
                nextToken=next_token,
            ),
        )
        events = [(int(e["sequence"]), e["event"]) for e in answer["events"]]
        _print_events(events, answer.get("nextToken"), as_json=as_json)
        return
    if tenant is None:
        raise InvalidParameterValue(
            "--tenant is required when reading the database; with --api it defaults to the "
            "signed-in account"
        )
    settings = read_settings()
    now = SystemClock().now()
    query = EventQuery(
        account_id=parse_account_id(tenant),
        since=parse_since(since, now) if since is not None else None,
        principal=principal,
        action=action,
        decision=decision,
        resource=resource,
        event_source=event_source,
        limit=limit,
        next_token=next_token,
    )
    database = _open_database(settings)
    try:
        page = query_events(database, query)
    finally:
        database.dispose()
    _print_events(
        [(e.sequence, dict(e.record)) for e in page.events], page.next_token, as_json=as_json
    )


def _present(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _print_events(
    events: list[tuple[int, dict[str, Any]]], next_token: str | None, *, as_json: bool
) -> None:
    if as_json:
        document = {
            "events": [dict(record, sequence=sequence) for sequence, record in events],
            "nextToken": next_token,
        }
        console.print(orjson.dumps(document).decode(), markup=False)
        return
    for sequence, record in events:
        identity = record.get("userIdentity") or {}
        effect = (record.get("decision") or {}).get("effect", "-")
        console.print(
            f"{sequence:>8}  {record.get('eventTime')}  {effect:<17} "
            f"{record.get('eventSource')}:{record.get('eventName')}  {identity.get('arn')}",
            markup=False,
        )
    if next_token is not None:
        error_console.print(f"more: --next-token {next_token}", markup=False)


alarms_app = typer.Typer(
    help="Alarm subscriptions of an account, through the API of a running platform "
    "('lakevault login' first).",
    no_args_is_help=True,
)
app.add_typer(alarms_app, name="alarms")

_Account = Annotated[
    str | None,
    typer.Option("--account", help="12-digit account id; default: the signed-in account."),
]


@alarms_app.command("create")
@command
def alarms_create_command(
    *,
    protocol: Annotated[AlarmProtocol, typer.Option(help="webhook or email.")],
    endpoint: Annotated[str, typer.Option(help="An https:// URL, or an email address.")],
    detector: Annotated[
        list[Detector] | None,
        typer.Option(help="Only these detectors (repeat the option); default: every one."),
    ] = None,
    account: _Account = None,
) -> None:
    """Subscribe a webhook or an address; a webhook's signing secret is printed this once."""
    body = {
        "protocol": protocol.value,
        "endpoint": endpoint,
        "detectors": [d.value for d in detector or []],
    }
    print_json(
        ApiClient.from_saved_session().call(
            "POST", "/audit/alarm-subscriptions", body, accountId=account_of(account)
        )
    )


@alarms_app.command("list")
@command
def alarms_list_command(account: _Account = None) -> None:
    """The account's alarm subscriptions."""
    print_json(
        ApiClient.from_saved_session().call(
            "GET", "/audit/alarm-subscriptions", accountId=account_of(account)
        )
    )


@alarms_app.command("delete")
@command
def alarms_delete_command(
    subscription_id: Annotated[str, typer.Argument(help="The subscription id (LVAS...).")],
    account: _Account = None,
) -> None:
    """Delete a subscription; its pending deliveries are dropped."""
    ApiClient.from_saved_session().call(
        "DELETE", f"/audit/alarm-subscriptions/{subscription_id}", accountId=account_of(account)
    )
    error_console.print(f"deleted {subscription_id}")


retention_app = typer.Typer(
    help="The account's audit bucket export and its retention, through the API of a running "
    "platform ('lakevault login' first).",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")


@retention_app.command("set")
@command
def retention_set_command(
    *,
    days: Annotated[
        int,
        typer.Option(
            "--days",
            min=1,
            max=MAX_RETENTION_DAYS,
            help="Keep exported events this many days (1 to 2557); it can only be extended.",
        ),
    ] = 90,
    bucket: Annotated[
        str | None,
        typer.Option(help="The audit bucket to create (default lakevault-audit-<account>)."),
    ] = None,
    prefix: Annotated[str | None, typer.Option(help="Key prefix (default 'audit/').")] = None,
    account: _Account = None,
) -> None:
    """Turn the export into an object-locked audit bucket on, or extend its retention."""
    body = {"retentionDays": days, "bucketName": bucket, "prefix": prefix}
    print_json(
        ApiClient.from_saved_session().call(
            "PUT", "/audit/retention", body, accountId=account_of(account)
        )
    )


@retention_app.command("show")
@command
def retention_show_command(account: _Account = None) -> None:
    """Where the account's log is exported, its retention, and how far the export has got."""
    print_json(
        ApiClient.from_saved_session().call(
            "GET", "/audit/retention", accountId=account_of(account)
        )
    )
