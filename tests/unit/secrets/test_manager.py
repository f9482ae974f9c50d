"""The secrets manager's operations, their label rules, and the values they never leak."""

from __future__ import annotations

import pytest

from lakevault.core.errors import AccessDenied
from lakevault.secrets import (
    AWSCURRENT,
    AWSPENDING,
    AWSPREVIOUS,
    InvalidParameterException,
    InvalidRequestException,
    ResourceExistsException,
    ResourceNotFoundException,
)
from tests.unit.secrets.conftest import ALICE, TENANT_A, SecretsWorld, table_counts

VALUE = "hunter2-correct-horse-battery"
TOKEN_1 = "a" * 32
TOKEN_2 = "b" * 32


def test_a_value_round_trips_and_its_read_is_one_audit_event_without_the_value(
    world: SecretsWorld,
) -> None:
    created = world.secrets.create_secret(world.call(), "db/password", secret_string=VALUE)
    assert created.arn.startswith(f"arn:aws:secretsmanager:local:{TENANT_A}:secret:db/password-")
    assert created.version_stages == (AWSCURRENT,)

    value = world.secrets.get_secret_value(world.call(), "db/password")

    assert value.secret_string == VALUE
    assert value.version_id == created.version_id
    assert value.version_stages == (AWSCURRENT,)
    assert VALUE not in repr(value)
    reads = [e for e in world.events() if e["eventName"] == "GetSecretValue"]
    assert len(reads) == 1
    assert reads[0]["eventSource"] == "secretsmanager.amazonaws.com"
    assert reads[0]["resources"][0]["ARN"] == created.arn
    assert reads[0]["decision"]["effect"] == "Allowed"
    assert VALUE not in world.audit_text()


def test_a_binary_value_round_trips_by_arn(world: SecretsWorld) -> None:
    created = world.secrets.create_secret(world.call(), "cert", secret_binary=b"\x00\x01key")
    value = world.secrets.get_secret_value(world.call(), created.arn)
    assert value.secret_binary == b"\x00\x01key"
    assert value.secret_string is None


def test_a_new_value_becomes_current_and_the_old_one_previous(world: SecretsWorld) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="one")
    second = world.secrets.put_secret_value(world.call(), "s", secret_string="two")
    third = world.secrets.put_secret_value(world.call(), "s", secret_string="three")

    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "three"
    previous = world.secrets.get_secret_value(world.call(), "s", version_stage=AWSPREVIOUS)
    assert previous.secret_string == "two"
    by_id = world.secrets.get_secret_value(world.call(), "s", version_id=first.version_id)
    assert by_id.secret_string == "one"
    assert by_id.version_stages == ()
    stages = world.secrets.describe_secret(world.call(), "s").version_ids_to_stages
    assert stages == {third.version_id: (AWSCURRENT,), second.version_id: (AWSPREVIOUS,)}


def test_a_pending_value_does_not_become_current(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="one")
    pending = world.secrets.put_secret_value(
        world.call(), "s", secret_string="two", version_stages=[AWSPENDING]
    )
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "one"
    got = world.secrets.get_secret_value(world.call(), "s", version_stage=AWSPENDING)
    assert got.version_id == pending.version_id


def test_a_repeated_token_is_idempotent_and_a_reused_one_conflicts(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="one")
    first = world.secrets.put_secret_value(
        world.call(), "s", secret_string="two", client_request_token=TOKEN_1
    )
    again = world.secrets.put_secret_value(
        world.call(), "s", secret_string="two", client_request_token=TOKEN_1
    )
    assert again.version_id == first.version_id == TOKEN_1
    before = table_counts(world.database)
    with pytest.raises(ResourceExistsException):
        world.secrets.put_secret_value(
            world.call(), "s", secret_string="other", client_request_token=TOKEN_1
        )
    assert table_counts(world.database) == before
    assert world.last_event()["errorCode"] == "ResourceExistsException"


def test_a_name_is_unique_per_tenant(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="one")
    with pytest.raises(ResourceExistsException):
        world.secrets.create_secret(world.call(), "s", secret_string="two")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one"),
        ({"secret_string": "x", "secret_binary": b"x"}, "exactly one"),
        ({"secret_string": "x" * 65537}, "65536"),
    ],
)
def test_a_value_must_be_one_kind_and_at_most_64_KiB(
    world: SecretsWorld, kwargs: dict[str, object], message: str
) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="one")
    with pytest.raises(InvalidParameterException, match=message):
        world.secrets.put_secret_value(world.call(), "s", **kwargs)  # type: ignore[arg-type]


# -- UpdateSecretVersionStage ---------------------------------------------------------------


def test_moving_current_needs_the_version_it_comes_from_and_moves_previous(
    world: SecretsWorld,
) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="one")
    second = world.secrets.put_secret_value(
        world.call(), "s", secret_string="two", version_stages=[AWSPENDING]
    )
    with pytest.raises(InvalidParameterException, match="RemoveFromVersionId"):
        world.secrets.update_secret_version_stage(
            world.call(), "s", AWSCURRENT, move_to_version_id=second.version_id
        )
    assert world.last_event()["errorCode"] == "InvalidParameterException"

    described = world.secrets.update_secret_version_stage(
        world.call(),
        "s",
        AWSCURRENT,
        remove_from_version_id=first.version_id,
        move_to_version_id=second.version_id,
    )

    assert described.version_ids_to_stages == {
        first.version_id: (AWSPREVIOUS,),
        second.version_id: (AWSCURRENT, AWSPENDING),
    }
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "two"


def test_current_cannot_be_removed_only_moved(world: SecretsWorld) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="one")
    with pytest.raises(InvalidParameterException, match="cannot be removed"):
        world.secrets.update_secret_version_stage(
            world.call(), "s", AWSCURRENT, remove_from_version_id=first.version_id
        )
    assert world.secrets.get_secret_value(world.call(), "s").version_id == first.version_id


def test_a_custom_label_is_attached_and_removed(world: SecretsWorld) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="one")
    world.secrets.update_secret_version_stage(
        world.call(), "s", "blue", move_to_version_id=first.version_id
    )
    assert world.secrets.get_secret_value(world.call(), "s", version_stage="blue").version_id
    world.secrets.update_secret_version_stage(
        world.call(), "s", "blue", remove_from_version_id=first.version_id
    )
    with pytest.raises(ResourceNotFoundException):
        world.secrets.get_secret_value(world.call(), "s", version_stage="blue")


def test_a_label_cannot_move_to_a_version_that_does_not_exist(world: SecretsWorld) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="one")
    with pytest.raises(ResourceNotFoundException, match="no version"):
        world.secrets.update_secret_version_stage(
            world.call(),
            "s",
            AWSCURRENT,
            remove_from_version_id=first.version_id,
            move_to_version_id=TOKEN_2,
        )
    assert world.secrets.get_secret_value(world.call(), "s").version_id == first.version_id


# -- ListSecrets, tags, policies -------------------------------------------------------------


def test_list_shows_the_tenants_secrets_without_values(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "b", secret_string=VALUE, tags={"team": "x"})
    world.secrets.create_secret(world.call(), "a")
    listed = world.secrets.list_secrets(world.call())
    assert [s.name for s in listed] == ["a", "b"]
    assert listed[1].tags == {"team": "x"}
    assert VALUE not in repr(listed)


def test_tags_are_added_and_removed(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="x", tags={"a": "1"})
    world.secrets.tag_resource(world.call(), "s", {"b": "2"})
    assert world.secrets.describe_secret(world.call(), "s").tags == {"a": "1", "b": "2"}
    world.secrets.untag_resource(world.call(), "s", ["a"])
    assert world.secrets.describe_secret(world.call(), "s").tags == {"b": "2"}
    with pytest.raises(InvalidParameterException, match="aws:"):
        world.secrets.tag_resource(world.call(), "s", {"aws:x": "1"})


def test_a_resource_policy_is_stored_read_and_deleted(world: SecretsWorld) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string="x")
    document = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"'
        f'arn:aws:iam::{TENANT_A}:root"}},"Action":"secretsmanager:*","Resource":"*"}}]}}'
    )
    world.secrets.put_resource_policy(world.call(), created.arn, document)
    assert world.secrets.get_resource_policy(world.call(), "s") == document
    assert world.secrets.describe_secret(world.call(), "s").has_policy
    world.secrets.delete_resource_policy(world.call(), "s")
    assert world.secrets.get_resource_policy(world.call(), "s") is None


def test_a_malformed_resource_policy_is_refused(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="x")
    with pytest.raises(Exception) as caught:
        world.secrets.put_resource_policy(world.call(), "s", '{"Version": "2012-10-17"}')
    assert getattr(caught.value, "code", None) == "MalformedPolicyDocumentException"
    assert world.secrets.get_resource_policy(world.call(), "s") is None


# -- DeleteSecret, RestoreSecret, the purge ---------------------------------------------------


@pytest.mark.parametrize("days", [6, 31])
def test_the_recovery_window_is_7_to_30_days(world: SecretsWorld, days: int) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="x")
    with pytest.raises(InvalidParameterException, match="7 to 30"):
        world.secrets.delete_secret(world.call(), "s", recovery_window_in_days=days)
    assert world.secrets.describe_secret(world.call(), "s").deleted_date is None


def test_a_window_and_force_delete_exclude_each_other(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="x")
    with pytest.raises(InvalidParameterException, match="not both"):
        world.secrets.delete_secret(
            world.call(), "s", recovery_window_in_days=7, force_delete_without_recovery=True
        )


def test_a_deleted_secret_refuses_reads_until_restored(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="x")
    deleted = world.secrets.delete_secret(world.call(), "s", recovery_window_in_days=7)
    assert deleted.purge_date is not None

    with pytest.raises(InvalidRequestException, match="marked for deletion"):
        world.secrets.get_secret_value(world.call(), "s")
    refusal = world.last_event()
    assert (refusal["eventName"], refusal["errorCode"]) == (
        "GetSecretValue",
        "InvalidRequestException",
    )
    with pytest.raises(InvalidRequestException):
        world.secrets.put_secret_value(world.call(), "s", secret_string="y")
    assert world.secrets.list_secrets(world.call()) == []
    assert [
        s.name for s in world.secrets.list_secrets(world.call(), include_planned_deletion=True)
    ] == ["s"]

    world.secrets.restore_secret(world.call(), "s")
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "x"


def test_the_purge_job_removes_a_secret_after_its_window_and_not_before(
    world: SecretsWorld,
) -> None:
    from lakevault.secrets import purge_due_secrets

    world.secrets.create_secret(world.call(), "s", secret_string="x")
    world.secrets.create_secret(world.call(), "kept", secret_string="y")
    world.secrets.delete_secret(world.call(), "s", recovery_window_in_days=7)
    purge = {
        "keys": world.keys,
        "clock": world.clock,
        "random": world.keys.random,
        "region": "local",
    }

    world.clock.advance(seconds=6 * 86400)
    assert purge_due_secrets(world.database, **purge) == 0  # type: ignore[arg-type]
    world.clock.advance(seconds=2 * 86400)
    assert purge_due_secrets(world.database, **purge) == 1  # type: ignore[arg-type]

    assert table_counts(world.database) == (1, 1, 1)
    ended = world.last_event()
    assert ended["eventName"] == "EndSecretDeletion"
    assert ended["userIdentity"]["type"] == "AWSService"
    with pytest.raises(ResourceNotFoundException):
        world.secrets.describe_secret(world.call(), "s")


def test_force_delete_removes_the_versions_now_and_schedules_the_key_destruction(
    world: SecretsWorld,
) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string="x")
    service_keys = [k for k in world.keys.list_keys(world.key_call()) if k.is_service_key]
    assert len(service_keys) == 1

    world.secrets.delete_secret(world.call(), created.arn, force_delete_without_recovery=True)

    assert table_counts(world.database) == (0, 0, 0)
    key = world.keys.describe_key(world.key_call(), service_keys[0].key_id)
    assert key.state.value == "PendingDeletion"
    # The name is free again, under a new ARN.
    again = world.secrets.create_secret(world.call(), "s", secret_string="y")
    assert again.arn != created.arn


def test_a_missing_secret_is_not_found_only_for_a_caller_the_gate_allows(
    world: SecretsWorld,
) -> None:
    from tests.unit.secrets.conftest import BOB

    with pytest.raises(ResourceNotFoundException):
        world.secrets.get_secret_value(world.call(ALICE), "nothing")
    with pytest.raises(AccessDenied):
        world.secrets.get_secret_value(world.call(BOB), "nothing")
