"""``lakevault kms``: the tenant KMS from the shell, through the HTTP API (docs/keys.md).

Every command is one AWS KMS action of the signed-in principal (``lakevault login``), decided by
the gate on the server. Keys are named by id, ARN, ``alias/NAME`` or alias ARN. Binary values
go in and out as base64 (``--plaintext``/``--ciphertext-blob``) or files (``--in``/``--out``).
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lakevault.cli._client import ApiClient
from lakevault.cli._common import command, error_console, print_json
from lakevault.core.errors import InvalidParameterValue

app = typer.Typer(help="The tenant KMS: keys, aliases, grants, encryption.", no_args_is_help=True)

_Key = Annotated[str, typer.Argument(help="Key id, key ARN, alias/NAME or alias ARN.")]
_Context = Annotated[
    list[str] | None,
    typer.Option("--context", "-c", help="Encryption context pair NAME=VALUE (repeatable)."),
]
_GrantTokens = Annotated[
    list[str] | None,
    typer.Option("--grant-token", help="A grant token from create-grant (repeatable; optional)."),
]


def _client() -> ApiClient:
    return ApiClient.from_saved_session()


def _pairs(values: list[str] | None, *, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        name, separator, text = value.partition("=")
        if not separator or not name:
            raise InvalidParameterValue(f"{option} takes NAME=VALUE, got {value!r}")
        pairs[name] = text
    return pairs


def _read_binary(base64_text: str | None, path: Path | None, *, what: str) -> str:
    """The value as base64, from ``--<what>`` (base64), ``--in FILE`` or standard input."""
    if base64_text is not None and path is not None:
        raise InvalidParameterValue(f"give the {what} as base64 or as --in FILE, not both")
    if base64_text is not None:
        return base64_text
    data = path.read_bytes() if path is not None else sys.stdin.buffer.read()
    return base64.b64encode(data).decode("ascii")


def _write_binary(value: str, path: Path | None) -> None:
    data = base64.b64decode(value)
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        path.write_bytes(data)


def _post(path: str, body: dict[str, Any]) -> Any:
    return _client().call("POST", "/kms" + path, body)


# Keys ------------------------------------------------------------------------------------------

_Bypass = Annotated[
    bool,
    typer.Option(
        "--bypass-policy-lockout-safety-check",
        help="Accept a key policy that would stop you from changing it later.",
    ),
]


@app.command("create-key")
@command
def create_key(
    description: Annotated[str, typer.Option(help="What the key is for.")] = "",
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Key policy JSON file (default: AWS's).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeatable).")] = None,
    bypass: _Bypass = False,
) -> None:
    """CreateKey: a new symmetric key of your tenant."""
    body: dict[str, Any] = {
        "description": description,
        "tags": _pairs(tag, option="--tag"),
        "bypassPolicyLockoutSafetyCheck": bypass,
    }
    if policy is not None:
        body["policy"] = policy.read_text(encoding="utf-8")
    print_json(_client().call("POST", "/kms/keys", body))


@app.command("list-keys")
@command
def list_keys() -> None:
    """ListKeys: the keys of your tenant."""
    print_json(_client().call("GET", "/kms/keys"))


def _key_action(name: str, path: str, doc: str) -> None:
    def run(key: _Key) -> None:
        print_json(_post(path, {"keyId": key}))

    run.__doc__ = doc
    app.command(name)(command(run))


for _name, _doc in (
    ("describe-key", "DescribeKey: a key's metadata."),
    ("enable-key", "EnableKey."),
    ("disable-key", "DisableKey: every use is refused (DisabledException) until enabled."),
    ("cancel-key-deletion", "CancelKeyDeletion: the key comes back disabled."),
    ("disable-key-rotation", "DisableKeyRotation."),
    ("get-key-rotation-status", "GetKeyRotationStatus."),
    ("rotate-key-on-demand", "RotateKeyOnDemand: new material now; old versions still decrypt."),
    ("list-key-rotations", "ListKeyRotations: every version of the key's material."),
    ("get-key-policy", "GetKeyPolicy."),
    ("list-grants", "ListGrants."),
    ("list-resource-tags", "ListResourceTags."),
):
    _key_action(_name, "/" + _name, _doc)


@app.command("schedule-key-deletion")
@command
def schedule_key_deletion(
    key: _Key,
    days: Annotated[int, typer.Option("--days", help="Waiting period, 7 to 30 days.")] = 30,
) -> None:
    """ScheduleKeyDeletion: after DAYS the key's material is destroyed (crypto-shredding)."""
    print_json(_post("/schedule-key-deletion", {"keyId": key, "pendingWindowInDays": days}))


@app.command("enable-key-rotation")
@command
def enable_key_rotation(
    key: _Key,
    period: Annotated[int, typer.Option("--period-days", help="90 to 2560 days.")] = 365,
) -> None:
    """EnableKeyRotation: new material every PERIOD days."""
    print_json(_post("/enable-key-rotation", {"keyId": key, "rotationPeriodInDays": period}))


@app.command("put-key-policy")
@command
def put_key_policy(
    key: _Key,
    policy: Annotated[Path, typer.Argument(help="Key policy JSON file.")],
    bypass: _Bypass = False,
) -> None:
    """PutKeyPolicy: replace the key policy (refused if it would lock you out)."""
    _post(
        "/put-key-policy",
        {
            "keyId": key,
            "policy": policy.read_text(encoding="utf-8"),
            "bypassPolicyLockoutSafetyCheck": bypass,
        },
    )


@app.command("rewrap")
@command
def rewrap(
    key: _Key,
    batches: Annotated[
        int, typer.Option("--batches-per-call", help="Batches per API call (progress shown).")
    ] = 20,
) -> None:
    """Re-wrap every stored data key of KEY under its newest version; object data is untouched.

    Resumable: progress is saved after every batch, so after a crash run it again.
    """
    while True:
        progress = _post("/rewrap", {"keyId": key, "maxBatches": batches})
        for entry in progress:
            error_console.print(
                f"{entry['registry']}: {entry['rewrapped']} re-wrapped to version "
                f"{entry['targetKeyVersion']}, {entry['failed']} failed"
                + ("" if entry["done"] else " (continuing)")
            )
        if all(entry["done"] for entry in progress):
            print_json(progress)
            return


# Cryptographic operations ------------------------------------------------------------------


@app.command("encrypt")
@command
def encrypt(
    key: _Key,
    context: _Context = None,
    plaintext: Annotated[str | None, typer.Option(help="Plaintext as base64.")] = None,
    in_file: Annotated[Path | None, typer.Option("--in", help="Read the plaintext here.")] = None,
    grant_token: _GrantTokens = None,
) -> None:
    """Encrypt up to 4 KiB (from --plaintext, --in or standard input)."""
    body = {
        "keyId": key,
        "plaintext": _read_binary(plaintext, in_file, what="plaintext"),
        "encryptionContext": _pairs(context, option="--context"),
        "grantTokens": list(grant_token or []),
    }
    print_json(_post("/encrypt", body))


@app.command("decrypt")
@command
def decrypt(
    context: _Context = None,
    ciphertext_blob: Annotated[str | None, typer.Option(help="The blob as base64.")] = None,
    in_file: Annotated[Path | None, typer.Option("--in", help="Read the blob here.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the plaintext here.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Require this key.")] = None,
    grant_token: _GrantTokens = None,
) -> None:
    """Decrypt a blob; the plaintext goes to --out or standard output (raw bytes)."""
    body: dict[str, Any] = {
        "ciphertextBlob": _read_binary(ciphertext_blob, in_file, what="ciphertext blob"),
        "encryptionContext": _pairs(context, option="--context"),
        "grantTokens": list(grant_token or []),
    }
    if key is not None:
        body["keyId"] = key
    _write_binary(_post("/decrypt", body)["plaintext"], out)


@app.command("generate-data-key")
@command
def generate_data_key(
    key: _Key,
    context: _Context = None,
    without_plaintext: Annotated[
        bool, typer.Option("--without-plaintext", help="GenerateDataKeyWithoutPlaintext.")
    ] = False,
    number_of_bytes: Annotated[int, typer.Option("--bytes", help="1 to 1024.")] = 32,
    grant_token: _GrantTokens = None,
) -> None:
    """GenerateDataKey: random bytes and their blob under KEY."""
    path = "/generate-data-key-without-plaintext" if without_plaintext else "/generate-data-key"
    body = {
        "keyId": key,
        "numberOfBytes": number_of_bytes,
        "encryptionContext": _pairs(context, option="--context"),
        "grantTokens": list(grant_token or []),
    }
    print_json(_post(path, body))


# Aliases, tags, grants -------------------------------------------------------------------------


@app.command("create-alias")
@command
def create_alias(alias: Annotated[str, typer.Argument(help="alias/NAME")], key: _Key) -> None:
    """CreateAlias: ALIAS names KEY in your tenant."""
    print_json(_post("/create-alias", {"aliasName": alias, "targetKeyId": key}))


@app.command("update-alias")
@command
def update_alias(alias: Annotated[str, typer.Argument(help="alias/NAME")], key: _Key) -> None:
    """UpdateAlias: ALIAS names KEY from now on."""
    print_json(_post("/update-alias", {"aliasName": alias, "targetKeyId": key}))


@app.command("delete-alias")
@command
def delete_alias(alias: Annotated[str, typer.Argument(help="alias/NAME")]) -> None:
    """DeleteAlias."""
    _post("/delete-alias", {"aliasName": alias})


@app.command("list-aliases")
@command
def list_aliases() -> None:
    """ListAliases: the aliases of your tenant."""
    print_json(_client().call("GET", "/kms/aliases"))


@app.command("tag-resource")
@command
def tag_resource(
    key: _Key, tag: Annotated[list[str], typer.Option("--tag", help="KEY=VALUE (repeatable).")]
) -> None:
    """TagResource."""
    _post("/tag-resource", {"keyId": key, "tags": _pairs(tag, option="--tag")})


@app.command("untag-resource")
@command
def untag_resource(
    key: _Key, tag_key: Annotated[list[str], typer.Option("--tag-key", help="Repeatable.")]
) -> None:
    """UntagResource."""
    _post("/untag-resource", {"keyId": key, "tagKeys": tag_key})


@app.command("create-grant")
@command
def create_grant(
    key: _Key,
    grantee: Annotated[str, typer.Option("--grantee", help="Grantee principal ARN.")],
    operation: Annotated[
        list[str], typer.Option("--operation", help="Decrypt, Encrypt, ... (repeatable).")
    ],
    context_equals: Annotated[
        list[str] | None, typer.Option("--context-equals", help="NAME=VALUE (repeatable).")
    ] = None,
    context_subset: Annotated[
        list[str] | None, typer.Option("--context-subset", help="NAME=VALUE (repeatable).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name for the grant.")] = None,
) -> None:
    """CreateGrant: GRANTEE may perform OPERATIONs on KEY, within the context constraint."""
    constraints: dict[str, Any] = {}
    if context_equals:
        constraints["encryptionContextEquals"] = _pairs(context_equals, option="--context-equals")
    if context_subset:
        constraints["encryptionContextSubset"] = _pairs(context_subset, option="--context-subset")
    body: dict[str, Any] = {"keyId": key, "granteePrincipal": grantee, "operations": operation}
    if constraints:
        body["constraints"] = constraints
    if name is not None:
        body["name"] = name
    print_json(_post("/create-grant", body))


@app.command("retire-grant")
@command
def retire_grant(key: _Key, grant_id: Annotated[str, typer.Argument(help="The grant id.")]) -> None:
    """RetireGrant: as the grant's retiring principal (or its grantee, if allowed)."""
    _post("/retire-grant", {"keyId": key, "grantId": grant_id})


@app.command("revoke-grant")
@command
def revoke_grant(key: _Key, grant_id: Annotated[str, typer.Argument(help="The grant id.")]) -> None:
    """RevokeGrant."""
    _post("/revoke-grant", {"keyId": key, "grantId": grant_id})


# Operator-blind mode: the tenant's own key agent -------------------------------------------------


@app.command("put-key-agent")
@command
def put_key_agent(
    url: Annotated[str, typer.Option("--url", help="https://HOST:PORT of your running agent.")],
    bundle: Annotated[
        Path,
        typer.Option(
            help="The platform/ directory of 'key-agent certs' (ca.pem, client.pem, client.key)."
        ),
    ],
) -> None:
    """Attach your tenant's key agent (PutKeyAgent); the platform checks that it answers."""
    body = {
        "url": url,
        "caCertificate": (bundle / "ca.pem").read_text("ascii"),
        "clientCertificate": (bundle / "client.pem").read_text("ascii"),
        "clientKey": (bundle / "client.key").read_text("ascii"),
    }
    print_json(_post("/put-key-agent", body))


@app.command("get-key-agent")
@command
def get_key_agent() -> None:
    """Your tenant's attached key agent, if any (GetKeyAgent)."""
    print_json(_post("/get-key-agent", {}))


@app.command("delete-key-agent")
@command
def delete_key_agent() -> None:
    """Detach your tenant's key agent (DeleteKeyAgent); keys it wrapped stop working."""
    _post("/delete-key-agent", {})
