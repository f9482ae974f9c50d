"""``lakevault kms`` and ``lakevault secrets`` refused from the shell, on their main paths.

The CLI's HTTP client runs against the real API app (as in ``test_kms_cli.py``), signed in as
the case's caller. For each denial of issue 5 — a disabled key, a key-policy deny, a wrong
encryption context, another tenant's key or secret — the command exits 1 with the AWS error
code in its message, nothing changed (every row of the KMS's and the secrets' tables), the
refusal is in the audit log under the call's event name, and no value shows anywhere.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import click
import pytest
import typer
from click.testing import CliRunner

from lakevault.cli import _kms as kms_cli
from lakevault.cli import _secrets as secrets_cli
from lakevault.cli import app
from lakevault.cli._client import ApiClient
from tests.unit.api.conftest import World
from tests.unit.api.denial_world import (
    KMS_TABLES,
    SECRETS_TABLES,
    Tenant,
    audit_text,
    events,
    new_tenant,
    new_user,
    rows,
)

PLAINTEXT = b"the shell's plaintext nobody may see"
VALUE = "cli-value-that-must-never-leak"
NEW_VALUE = "cli-new-value-that-must-never-leak"
CONTEXT = "team=red"
ALLOW_EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["kms:*", "secretsmanager:*"], "Resource": "*"}],
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    world: World
    owner: Tenant
    other: Tenant
    bob: dict[str, str]  # a user of the owner's tenant; the "denied" key's policy denies him
    keys: dict[str, dict[str, str]]  # name -> keyId, arn, blob (a ciphertext under CONTEXT)
    secrets: dict[str, str]  # name -> ARN


def _api(world: World, tenant: Tenant, method: str, path: str, body: Any = None) -> Any:
    answer = world.client.request(method, "/api/v1" + path, json=body, headers=tenant.admin)
    assert answer.status_code in (200, 201, 204), answer.text
    return answer.json() if answer.status_code != 204 else None


@pytest.fixture(scope="module")
def setup(denial_world: World) -> Iterator[Setup]:
    world = denial_world
    owner, other = new_tenant(world, "cli-owner"), new_tenant(world, "cli-other")
    bob = new_user(world, owner, "bob", ALLOW_EVERYTHING)
    keys = {}
    for name in ("enabled", "disabled", "denied"):
        meta = _api(world, owner, "POST", "/kms/keys", {})["keyMetadata"]
        sealed = _api(world, owner, "POST", "/kms/encrypt", {
            "keyId": meta["keyId"], "plaintext": base64.b64encode(PLAINTEXT).decode(),
            "encryptionContext": {"team": "red"},
        })  # fmt: skip
        keys[name] = {
            "keyId": meta["keyId"],
            "arn": meta["arn"],
            "blob": sealed["ciphertextBlob"],
        }
    secrets = {
        name: _api(world, owner, "POST", "/secrets", {
            "name": name, "secretString": VALUE, "kmsKeyId": key and keys[key]["arn"],
        })["arn"]
        for name, key in (("shared", None), ("under-disabled", "disabled"),
                          ("under-denied", "denied"))
    }  # fmt: skip
    denied = keys["denied"]["keyId"]
    policy = json.loads(
        _api(world, owner, "POST", "/kms/get-key-policy", {"keyId": denied})["policy"]
    )
    policy["Statement"].append({
        "Sid": "NothingForBob", "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{owner.account}:user/bob"},
        "Action": "kms:*", "Resource": "*",
    })  # fmt: skip
    _api(world, owner, "POST", "/kms/put-key-policy", {
        "keyId": denied, "policy": json.dumps(policy),
    })  # fmt: skip
    _api(world, owner, "POST", "/kms/disable-key", {"keyId": keys["disabled"]["keyId"]})
    yield Setup(world=world, owner=owner, other=other, bob=bob, keys=keys, secrets=secrets)


@functools.cache
def _command() -> click.Command:
    """The CLI as one Click command, built once (Typer builds it anew on every invoke)."""
    return typer.main.get_command(app)


def _run(
    setup: Setup,
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str],
    args: list[str],
    stdin: str | None = None,
) -> tuple[int, str]:
    """Run ``lakevault ARGS`` signed in with ``headers``; return its exit code and output."""
    client = ApiClient("http://testserver")
    client._client = setup.world.client  # the running app's client, signed in for this run
    monkeypatch.setattr(kms_cli, "_client", lambda: client)
    monkeypatch.setattr(secrets_cli, "_client", lambda: client)
    setup.world.client.headers.update(headers)
    try:
        result = CliRunner().invoke(_command(), args, input=stdin)
    finally:
        for name in headers:
            del setup.world.client.headers[name]
    return result.exit_code, result.stdout + result.stderr


#: case -> (who, argv, stdin, expected code, event name). ``{name}`` in an argument is filled
#: from the setup: ``{disabled}`` a key id, ``{disabled.arn}``, ``{disabled.blob}``, ``{shared}``
#: a secret's ARN.
CASES: dict[str, tuple[str, list[str], str | None, str, str]] = {
    "kms encrypt, disabled key": (
        "owner", ["kms", "encrypt", "{disabled}", "--plaintext", "AAAA", "-c", CONTEXT],
        None, "DisabledException", "Encrypt",
    ),
    "kms decrypt, disabled key": (
        "owner", ["kms", "decrypt", "--ciphertext-blob", "{disabled.blob}", "-c", CONTEXT],
        None, "DisabledException", "Decrypt",
    ),
    "kms decrypt, wrong context": (
        "owner", ["kms", "decrypt", "--ciphertext-blob", "{enabled.blob}", "-c", "team=blue"],
        None, "InvalidCiphertextException", "Decrypt",
    ),
    "kms decrypt, key policy deny": (
        "bob", ["kms", "decrypt", "--ciphertext-blob", "{denied.blob}", "-c", CONTEXT],
        None, "AccessDenied", "Decrypt",
    ),
    "kms schedule-key-deletion, key policy deny": (
        "bob", ["kms", "schedule-key-deletion", "{denied}", "--days", "7"],
        None, "AccessDenied", "ScheduleKeyDeletion",
    ),
    "kms disable-key, key policy deny": (
        "bob", ["kms", "disable-key", "{denied}"], None, "AccessDenied", "DisableKey",
    ),
    "kms decrypt, another tenant": (
        "other", ["kms", "decrypt", "--ciphertext-blob", "{enabled.blob}", "-c", CONTEXT],
        None, "AccessDenied", "Decrypt",
    ),
    "kms schedule-key-deletion, another tenant": (
        "other", ["kms", "schedule-key-deletion", "{enabled.arn}", "--days", "7"],
        None, "AccessDenied", "ScheduleKeyDeletion",
    ),
    "kms disable-key, another tenant": (
        "other", ["kms", "disable-key", "{enabled.arn}"], None, "AccessDenied", "DisableKey",
    ),
    "secrets get-value, disabled key": (
        "owner", ["secrets", "get-value", "under-disabled"],
        None, "DecryptionFailure", "GetSecretValue",
    ),
    "secrets put-value, disabled key": (
        "owner", ["secrets", "put-value", "under-disabled"],
        NEW_VALUE, "EncryptionFailure", "PutSecretValue",
    ),
    "secrets get-value, key policy deny": (
        "bob", ["secrets", "get-value", "under-denied"], None, "AccessDenied", "GetSecretValue",
    ),
    "secrets put-value, key policy deny": (
        "bob", ["secrets", "put-value", "under-denied"],
        NEW_VALUE, "AccessDenied", "PutSecretValue",
    ),
    "secrets get-value, another tenant": (
        "other", ["secrets", "get-value", "{shared}"], None, "AccessDenied", "GetSecretValue",
    ),
    "secrets put-value, another tenant": (
        "other", ["secrets", "put-value", "{shared}"],
        NEW_VALUE, "AccessDenied", "PutSecretValue",
    ),
    "secrets delete, another tenant": (
        "other", ["secrets", "delete", "{shared}", "--recovery-window-days", "7"],
        None, "AccessDenied", "DeleteSecret",
    ),
}  # fmt: skip


def _filled(setup: Setup, argument: str) -> str:
    if not (argument.startswith("{") and argument.endswith("}")):
        return argument
    name, _, part = argument[1:-1].partition(".")
    if name in setup.secrets:
        return setup.secrets[name]
    return setup.keys[name][{"": "keyId", "arn": "arn", "blob": "blob"}[part]]


@pytest.mark.parametrize("case", list(CASES))
def test_the_shell_is_refused(setup: Setup, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    who, argv, stdin, code, event_name = CASES[case]
    headers = {"owner": setup.owner.admin, "other": setup.other.admin, "bob": setup.bob}[who]
    tables = KMS_TABLES + SECRETS_TABLES
    before = rows(setup.world, tables)
    count = len(events(setup.world, setup.owner.account))
    exit_code, output = _run(setup, monkeypatch, headers, [_filled(setup, a) for a in argv], stdin)
    assert exit_code == 1, output
    assert code in output, output
    assert rows(setup.world, tables) == before, "a refused command changed something"
    new = [
        (e["eventName"], e.get("errorCode"))
        for e in events(setup.world, setup.owner.account)[count:]
    ]
    assert (event_name, code) in new, new
    text = output + audit_text(setup.world, setup.owner.account, setup.other.account)
    for secret in (VALUE, NEW_VALUE, PLAINTEXT.decode(), base64.b64encode(PLAINTEXT).decode()):
        assert secret not in text


def test_the_shell_is_answered_when_nothing_refuses(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same commands work for the owner on the enabled key and secret: the refusals
    above are the denials', not the harness's."""
    blob = setup.keys["enabled"]["blob"]
    code, output = _run(setup, monkeypatch, setup.owner.admin, [
        "kms", "decrypt", "--ciphertext-blob", blob, "-c", CONTEXT,
    ])  # fmt: skip
    assert code == 0 and PLAINTEXT.decode() in output, output
    code, output = _run(setup, monkeypatch, setup.owner.admin, ["secrets", "get-value", "shared"])
    assert (code, output) == (0, VALUE + "\n")
