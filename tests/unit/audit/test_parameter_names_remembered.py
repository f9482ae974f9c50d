"""An event's parameter names are vetted once each and remembered (ADR 0257); the refusal of a
name that may carry a secret holds on every event, in every field, in any case."""

from __future__ import annotations

import pytest

from lakevault.core.errors import InvalidParameterValue
from tests.unit.audit.helpers import make_event


@pytest.mark.parametrize("field", ["request_parameters", "response_elements", "additional"])
def test_a_forbidden_name_is_refused_every_time_after_safe_names_were_remembered(
    field: str,
) -> None:
    for _ in range(3):
        make_event(1, **{field: {"bucketName": "b", "key": "k", "versionId": "v"}})
        for name in ("password", "PASSWORD", "userPassword", "x-Secret-y", "sessionToken"):
            with pytest.raises(InvalidParameterValue, match="never recorded"):
                make_event(1, **{field: {"bucketName": "b", name: "x"}})


def test_names_differing_only_in_case_are_each_vetted() -> None:
    make_event(1, request_parameters={"tok": "x"})  # remembered as safe
    for name in ("Token", "TOKEN", "tOkEn"):
        with pytest.raises(InvalidParameterValue, match="never recorded"):
            make_event(1, request_parameters={name: "x"})


def test_a_name_that_is_not_a_string_still_fails() -> None:
    with pytest.raises(AttributeError):
        make_event(1, request_parameters={1: "x"})  # type: ignore[dict-item]
