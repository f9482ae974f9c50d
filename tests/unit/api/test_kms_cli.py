"""``lakevault kms`` against the real API app (the CLI's HTTP client on the test transport)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakevault.cli import _kms as kms_cli
from lakevault.cli import app
from lakevault.cli._client import ApiClient
from tests.unit.api.conftest import World


@pytest.fixture
def signed_in(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    _, admin, _ = world.new_tenant("cli")
    world.client.headers.update(admin)
    client = ApiClient("http://testserver")
    client._client = world.client
    monkeypatch.setattr(kms_cli, "_client", lambda: client)
    return world


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["kms", *args])
    return result.exit_code, result.stdout, result.stderr


def test_create_encrypt_decrypt_disable_from_the_shell(signed_in: World, tmp_path: Path) -> None:
    code, out, _ = run("create-key", "--description", "from the shell")
    assert code == 0, out
    key_id = json.loads(out)["keyMetadata"]["keyId"]
    assert run("create-alias", "alias/shell", key_id)[0] == 0
    plaintext = base64.b64encode(b"shell secret").decode()
    code, out, _ = run("encrypt", "alias/shell", "--plaintext", plaintext, "-c", "app=cli")
    assert code == 0, out
    blob = json.loads(out)["ciphertextBlob"]
    target = tmp_path / "plain"
    code, _, err = run("decrypt", "--ciphertext-blob", blob, "-c", "app=cli", "--out", str(target))
    assert code == 0, err
    assert target.read_bytes() == b"shell secret"
    code, _, err = run("decrypt", "--ciphertext-blob", blob, "-c", "app=other")
    assert code == 1 and "InvalidCiphertextException" in err
    assert run("disable-key", key_id)[0] == 0
    code, _, err = run("decrypt", "--ciphertext-blob", blob, "-c", "app=cli")
    assert code == 1 and "DisabledException" in err
    code, _, err = run("encrypt", key_id, "--plaintext", plaintext, "-c", "broken")
    assert code == 1 and "NAME=VALUE" in err


def test_rotation_deletion_and_rewrap_from_the_shell(signed_in: World) -> None:
    key_id = json.loads(run("create-key")[1])["keyMetadata"]["keyId"]
    code, out, _ = run("rotate-key-on-demand", key_id)
    assert code == 0 and json.loads(out)["keyMetadata"]["currentKeyVersion"] == 2
    code, out, _ = run("list-key-rotations", key_id)
    assert code == 0 and [v["keyVersion"] for v in json.loads(out)] == [1, 2]
    other = json.loads(run("create-key")[1])["keyMetadata"]["keyId"]
    assert run("create-alias", "alias/moving", key_id)[0] == 0
    code, out, _ = run("update-alias", "alias/moving", other)
    assert code == 0 and json.loads(out)["targetKeyId"] == other
    code, out, err = run("rewrap", key_id)
    assert code == 0, err
    # The platform's registries; a tenant key wraps no object's, upload's or secret's data key.
    assert [(p["registry"], p["rewrapped"], p["done"]) for p in json.loads(out)] == [
        ("secrets", 0, True),
        ("storage", 0, True),
        ("storage-uploads", 0, True),
    ]
    code, _, err = run("schedule-key-deletion", key_id, "--days", "5")
    assert code == 1 and "7 to 30" in err
    code, out, _ = run("schedule-key-deletion", key_id, "--days", "7")
    assert json.loads(out)["keyMetadata"]["keyState"] == "PendingDeletion"


def test_rewrap_from_the_shell_moves_a_secrets_data_keys(signed_in: World) -> None:
    from sqlalchemy import select

    from lakevault.db import models

    client = signed_in.client
    created = client.post("/api/v1/secrets", json={"name": "db", "secretString": "pw-1"})
    assert created.status_code in (200, 201), created.text
    put = client.put("/api/v1/secrets/value", json={"secretId": "db", "secretString": "pw-2"})
    assert put.status_code == 200, put.text
    with signed_in.platform.database.read_session() as session:
        service_key_id = session.scalar(select(models.Secret.service_key_id))
    assert service_key_id is not None
    assert run("rotate-key-on-demand", service_key_id)[0] == 0

    code, out, err = run("rewrap", service_key_id)

    assert code == 0, err
    assert [(p["registry"], p["rewrapped"]) for p in json.loads(out)] == [
        ("secrets", 2),
        ("storage", 0),
        ("storage-uploads", 0),
    ]
    with signed_in.platform.database.read_session() as session:
        assert set(session.scalars(select(models.SecretVersion.key_version))) == {2}
    value = client.get("/api/v1/secrets/value", params={"secretId": "db"}).json()
    assert value["secretString"] == "pw-2"
