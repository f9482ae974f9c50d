"""Task definitions and the registry (lakevault/jobs/_task.py, _registry.py)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from lakevault.core.errors import InvalidParameterValue
from lakevault.jobs import (
    InvalidJobPayload,
    PeriodicTask,
    TaskContext,
    TaskDefinition,
    TaskRegistry,
    UnknownTask,
)


class Rotate(BaseModel):
    key_id: str
    versions: int = 1


class Other(BaseModel):
    name: str


def rotate(context: TaskContext, payload: Rotate) -> None:
    """A handler for the definitions below; never called here."""


ROTATE = TaskDefinition(name="kms.rotate", payload_model=Rotate, handler=rotate)


def test_a_payload_model_instance_or_mapping_becomes_json() -> None:
    registry = TaskRegistry([ROTATE])
    assert registry.validate("kms.rotate", Rotate(key_id="k")) == {"key_id": "k", "versions": 1}
    assert registry.validate("kms.rotate", {"key_id": "k", "versions": "2"}) == {
        "key_id": "k",
        "versions": 2,
    }


def test_a_bad_payload_names_each_field_and_never_its_value() -> None:
    registry = TaskRegistry([ROTATE])
    with pytest.raises(InvalidJobPayload) as refused:
        registry.validate("kms.rotate", {"versions": "s3cr3t"})
    message = refused.value.message
    assert "task kms.rotate" in message
    assert "field 'key_id': Field required" in message
    assert "field 'versions'" in message
    assert "s3cr3t" not in message


def test_a_payload_of_another_model_is_refused() -> None:
    with pytest.raises(InvalidJobPayload, match="is a Other, expected a Rotate"):
        TaskRegistry([ROTATE]).validate("kms.rotate", Other(name="x"))


def test_unknown_tasks_and_duplicates_are_refused() -> None:
    with pytest.raises(UnknownTask, match=r"the known tasks are: kms\.rotate"):
        TaskRegistry([ROTATE]).get("kms.delete")
    with pytest.raises(InvalidParameterValue, match="listed twice"):
        TaskRegistry([ROTATE, ROTATE])


def test_a_periodic_schedule_must_name_a_known_task_with_a_valid_payload() -> None:
    with pytest.raises(UnknownTask):
        TaskRegistry([ROTATE], [PeriodicTask(name="p", task_name="nope", cron="* * * * *")])
    with pytest.raises(InvalidJobPayload, match="key_id"):
        TaskRegistry([ROTATE], [PeriodicTask(name="p", task_name="kms.rotate", cron="* * * * *")])


@pytest.mark.parametrize("name", ["", "Kms.rotate", "kms rotate", "9kms", "x" * 129])
def test_task_names_are_checked(name: str) -> None:
    with pytest.raises(InvalidParameterValue, match="task name"):
        TaskDefinition(name=name, payload_model=Rotate, handler=rotate)


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(InvalidParameterValue, match="timeout_seconds must be positive"):
        TaskDefinition(name="kms.rotate", payload_model=Rotate, handler=rotate, timeout_seconds=0)


def test_the_payload_schema_is_the_models_json_schema() -> None:
    schema = ROTATE.payload_schema()
    assert schema["required"] == ["key_id"]
    assert schema["properties"]["versions"]["type"] == "integer"
