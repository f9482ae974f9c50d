"""The tasks a process knows: an explicit list, checked once, looked up by name.

The queue refuses to enqueue a task that is not in the list, and refuses a payload that does
not match the task's model — at enqueue, in the caller's request, where the mistake can still be
reported — rather than letting a worker discover it later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
from pydantic import BaseModel

from lakevault.core.errors import InvalidParameterValue
from lakevault.jobs._errors import InvalidJobPayload, UnknownTask
from lakevault.jobs._task import PeriodicTask, TaskDefinition


class TaskRegistry:
    """Task definitions and periodic schedules by name. Raises on duplicates or dangling names."""

    def __init__(
        self,
        tasks: Sequence[TaskDefinition[Any]],
        periodic: Sequence[PeriodicTask] = (),
    ) -> None:
        self._tasks: dict[str, TaskDefinition[Any]] = {}
        for task in tasks:
            if task.name in self._tasks:
                raise InvalidParameterValue(f"task {task.name!r} is listed twice")
            self._tasks[task.name] = task
        self._periodic: dict[str, PeriodicTask] = {}
        for schedule in periodic:
            if schedule.name in self._periodic:
                raise InvalidParameterValue(f"periodic task {schedule.name!r} is listed twice")
            definition = self.get(schedule.task_name)
            self.validate(definition.name, schedule.payload)
            self._periodic[schedule.name] = schedule

    @property
    def tasks(self) -> Sequence[TaskDefinition[Any]]:
        return tuple(self._tasks.values())

    @property
    def periodic(self) -> Sequence[PeriodicTask]:
        return tuple(self._periodic.values())

    def get(self, name: str) -> TaskDefinition[Any]:
        """The task called ``name``; raise ``UnknownTask`` listing the known names."""
        try:
            return self._tasks[name]
        except KeyError:
            known = ", ".join(sorted(self._tasks)) or "(none)"
            raise UnknownTask(
                f"no task named {name!r} is registered; the known tasks are: {known}"
            ) from None

    def validate(
        self, task_name: str, payload: BaseModel | Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Check ``payload`` against the task's model; return it as a JSON object.

        Raises ``InvalidJobPayload`` naming each wrong field and what was expected — never the
        value, which may be sensitive.
        """
        definition = self.get(task_name)
        model = definition.payload_model
        if isinstance(payload, model):
            return dict(payload.model_dump(mode="json"))
        if isinstance(payload, BaseModel):
            raise InvalidJobPayload(
                f"task {task_name}: the payload is a {type(payload).__name__}, expected a "
                f"{model.__name__}"
            )
        try:
            parsed = model.model_validate(dict(payload or {}))
        except pydantic.ValidationError as exc:
            problems = [
                f"field {'.'.join(str(part) for part in error['loc']) or '(payload)'!r}: "
                f"{error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
            ]
            raise InvalidJobPayload(
                f"task {task_name}: the payload does not match {model.__name__}: "
                + "; ".join(problems)
            ) from None
        return dict(parsed.model_dump(mode="json"))
