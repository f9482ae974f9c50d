"""``lakevault secrets``: the secrets manager from the shell, through the HTTP API.

Every command is one AWS Secrets Manager action of the signed-in principal (``lakevault
login``), decided by the gate on the server (docs/secrets.md). A secret is named by its name or
ARN. A value is read from standard input (or ``--file``) — never from a command-line argument,
which other users of the machine can see in the process list — and ``get-value`` prints only
the value, so it can be piped.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lakevault.cli._client import ApiClient
from lakevault.cli._common import command, print_json
from lakevault.cli._secret_functions import functions_app

app = typer.Typer(
    help="The secrets manager: secrets, versions, labels, rotation.", no_args_is_help=True
)

app.add_typer(functions_app, name="rotation-function")

_Secret = Annotated[str, typer.Argument(help="The secret's name or ARN.")]
_File = Annotated[
    Path | None, typer.Option("--file", help="Read the value from FILE (default: stdin).")
]
_Binary = Annotated[
    bool, typer.Option("--binary", help="Store the value as SecretBinary (bytes), not text.")
]


def _client() -> ApiClient:
    return ApiClient.from_saved_session()


def _value(path: Path | None, *, binary: bool) -> dict[str, str]:
    data = path.read_bytes() if path is not None else sys.stdin.buffer.read()
    if binary:
        return {"secretBinary": base64.b64encode(data).decode("ascii")}
    return {"secretString": data.decode("utf-8").removesuffix("\n")}


@app.command("create")
@command
def create_command(
    name: Annotated[str, typer.Argument(help="The new secret's name.")],
    description: Annotated[str, typer.Option("--description")] = "",
    kms_key_id: Annotated[
        str | None, typer.Option("--kms-key-id", help="A KMS key of the tenant (default: own).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeatable).")] = None,
    empty: Annotated[bool, typer.Option("--empty", help="Create it without a value.")] = False,
    file: _File = None,
    binary: _Binary = False,
) -> None:
    """Create a secret (CreateSecret); its first value comes from stdin or --file."""
    body: dict[str, Any] = {"name": name, "description": description}
    if kms_key_id is not None:
        body["kmsKeyId"] = kms_key_id
    if tag:
        body["tags"] = dict(item.partition("=")[::2] for item in tag)
    if not empty:
        body.update(_value(file, binary=binary))
    print_json(_client().call("POST", "/secrets", body))


@app.command("put-value")
@command
def put_value_command(
    secret: _Secret,
    file: _File = None,
    binary: _Binary = False,
    stage: Annotated[
        list[str] | None, typer.Option("--stage", help="Labels of the new version (repeatable).")
    ] = None,
) -> None:
    """Store a new version (PutSecretValue); it becomes AWSCURRENT unless --stage says else."""
    body: dict[str, Any] = {"secretId": secret, **_value(file, binary=binary)}
    if stage:
        body["versionStages"] = stage
    print_json(_client().call("PUT", "/secrets/value", body))


@app.command("get-value")
@command
def get_value_command(
    secret: _Secret,
    version_id: Annotated[str | None, typer.Option("--version-id")] = None,
    version_stage: Annotated[str | None, typer.Option("--version-stage")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the whole answer as JSON.")
    ] = False,
) -> None:
    """Print a value (GetSecretValue), AWSCURRENT by default. Binary values go out raw."""
    params = {"secretId": secret}
    if version_id is not None:
        params["versionId"] = version_id
    if version_stage is not None:
        params["versionStage"] = version_stage
    answer = _client().call("GET", "/secrets/value", **params)
    if json_output:
        print_json(answer)
    elif answer.get("secretBinary") is not None:
        sys.stdout.buffer.write(base64.b64decode(answer["secretBinary"]))
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(answer["secretString"] + "\n")


@app.command("describe")
@command
def describe_command(secret: _Secret) -> None:
    """Settings, tags, versions and labels of a secret (DescribeSecret); never a value."""
    print_json(_client().call("GET", "/secrets/describe", secretId=secret))


@app.command("update")
@command
def update_command(
    secret: _Secret,
    description: Annotated[str | None, typer.Option("--description")] = None,
    kms_key_id: Annotated[
        str | None,
        typer.Option(
            "--kms-key-id", help="The KMS key of new versions (alias/aws/secretsmanager: own)."
        ),
    ] = None,
    value: Annotated[
        bool, typer.Option("--value", help="Also store a new value from stdin or --file.")
    ] = False,
    file: _File = None,
    binary: _Binary = False,
) -> None:
    """Change the description or the key of new versions, optionally with a value (UpdateSecret)."""
    body: dict[str, Any] = {"secretId": secret}
    if description is not None:
        body["description"] = description
    if kms_key_id is not None:
        body["kmsKeyId"] = kms_key_id
    if value or file is not None:
        body.update(_value(file, binary=binary))
    print_json(_client().call("POST", "/secrets/update", body))


@app.command("list-versions")
@command
def list_versions_command(
    secret: _Secret,
    include_deprecated: Annotated[
        bool, typer.Option("--include-deprecated", help="Also versions without a label.")
    ] = False,
) -> None:
    """The secret's versions and their labels (ListSecretVersionIds); never a value."""
    params = {"secretId": secret}
    if include_deprecated:
        params["includeDeprecated"] = "true"
    print_json(_client().call("GET", "/secrets/versions", **params))


@app.command("list")
@command
def list_command(
    include_deleted: Annotated[
        bool, typer.Option("--include-deleted", help="Also secrets awaiting purge.")
    ] = False,
) -> None:
    """The tenant's secrets (ListSecrets)."""
    print_json(
        _client().call("GET", "/secrets", includePlannedDeletion=str(include_deleted).lower())[
            "secretList"
        ]
    )


@app.command("delete")
@command
def delete_command(
    secret: _Secret,
    recovery_window_days: Annotated[
        int | None, typer.Option("--recovery-window-days", help="7 to 30 (default 30).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force-delete-without-recovery", help="Delete now, for good.")
    ] = False,
) -> None:
    """Schedule a secret's deletion (DeleteSecret), or delete it now with --force-..."""
    params = {"secretId": secret, "forceDeleteWithoutRecovery": str(force).lower()}
    if recovery_window_days is not None:
        params["recoveryWindowInDays"] = str(recovery_window_days)
    print_json(_client().call("DELETE", "/secrets", **params))


@app.command("restore")
@command
def restore_command(secret: _Secret) -> None:
    """Cancel a scheduled deletion (RestoreSecret)."""
    print_json(_client().call("POST", "/secrets/restore", {"secretId": secret}))


@app.command("update-stage")
@command
def update_stage_command(
    secret: _Secret,
    stage: Annotated[str, typer.Argument(help="The staging label, e.g. AWSCURRENT.")],
    remove_from: Annotated[str | None, typer.Option("--remove-from-version-id")] = None,
    move_to: Annotated[str | None, typer.Option("--move-to-version-id")] = None,
) -> None:
    """Move or remove a staging label (UpdateSecretVersionStage)."""
    body = {
        "secretId": secret,
        "versionStage": stage,
        "removeFromVersionId": remove_from,
        "moveToVersionId": move_to,
    }
    print_json(_client().call("POST", "/secrets/stage", body))


@app.command("rotate")
@command
def rotate_command(
    secret: _Secret,
    hook: Annotated[str | None, typer.Option("--hook", help="A built-in rotation hook.")] = None,
    function: Annotated[
        str | None,
        typer.Option("--function", help="A rotation function (name or ARN) run in the sandbox."),
    ] = None,
    every_days: Annotated[int | None, typer.Option("--every-days")] = None,
    no_rotate_now: Annotated[
        bool, typer.Option("--no-rotate-now", help="Only configure rotation.")
    ] = False,
) -> None:
    """Rotate a secret now with its hook (RotateSecret: the four AWS steps)."""
    body: dict[str, Any] = {"secretId": secret, "rotateImmediately": not no_rotate_now}
    if hook is not None:
        body["rotationHook"] = hook
    if function is not None:
        body["rotationHook"] = function if function.startswith("arn:") else f"function:{function}"
    if every_days is not None:
        body["automaticallyAfterDays"] = every_days
    print_json(_client().call("POST", "/secrets/rotate", body))


@app.command("get-policy")
@command
def get_policy_command(secret: _Secret) -> None:
    """The secret's resource policy (GetResourcePolicy)."""
    print_json(_client().call("GET", "/secrets/policy", secretId=secret))


@app.command("put-policy")
@command
def put_policy_command(
    secret: _Secret,
    policy_file: Annotated[Path, typer.Argument(help="A JSON resource policy file.")],
) -> None:
    """Attach a resource policy (PutResourcePolicy)."""
    body = {"secretId": secret, "resourcePolicy": policy_file.read_text("utf-8")}
    print_json(_client().call("PUT", "/secrets/policy", body))


@app.command("delete-policy")
@command
def delete_policy_command(secret: _Secret) -> None:
    """Remove the resource policy (DeleteResourcePolicy)."""
    print_json(_client().call("DELETE", "/secrets/policy", secretId=secret))


@app.command("tag")
@command
def tag_command(
    secret: _Secret,
    tag: Annotated[list[str], typer.Argument(help="KEY=VALUE pairs.")],
) -> None:
    """Add or replace tags (TagResource)."""
    tags = dict(item.partition("=")[::2] for item in tag)
    print_json(_client().call("POST", "/secrets/tags", {"secretId": secret, "tags": tags}))


@app.command("untag")
@command
def untag_command(
    secret: _Secret, key: Annotated[list[str], typer.Argument(help="Tag keys.")]
) -> None:
    """Remove tags (UntagResource)."""
    client = _client()
    # The query takes a repeated tagKeys; the client passes one value per name, so join here.
    answer = None
    for name in key:
        answer = client.call("DELETE", "/secrets/tags", secretId=secret, tagKeys=name)
    print_json(answer)
