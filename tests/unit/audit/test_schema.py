"""Every event the log writes validates against docs/audit-event.schema.json."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakevault.audit import (
    DecisionRecord,
    IdentityType,
    UserIdentity,
    encode_event,
)
from tests.conftest import REPO_ROOT
from tests.unit.audit.helpers import make_event

SCHEMA = json.loads((REPO_ROOT / "docs" / "audit-event.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def errors(record: dict[str, Any]) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(record)]


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_an_allowed_gate_decision_validates() -> None:
    assert errors(json.loads(encode_event(make_event(1)))) == []


def test_a_denied_decision_with_its_error_validates() -> None:
    event = make_event(
        2,
        error_code="AccessDenied",
        error_message="User: arn:aws:iam::123456789012:user/alice is not authorized",
        decision=DecisionRecord(effect="ExplicitlyDenied", statements=({"sid": "Deny"},)),
    )
    assert errors(json.loads(encode_event(event))) == []


def test_a_platform_event_without_address_or_decision_validates() -> None:
    event = make_event(
        3,
        account="000000000000",
        event_source="lakevault.local",
        event_name="BootstrapPlatform",
        source_ip_address=None,
        user_identity=UserIdentity(
            type=IdentityType.AWS_SERVICE,
            principal_id="lakevault",
            arn="lakevault.local",
            account_id="000000000000",
            session_context={"attributes": {"mfaAuthenticated": "false"}},
        ),
        decision=None,
        response_elements={"userName": "admin"},
        additional={"reason": "first start"},
    )
    assert errors(json.loads(encode_event(event))) == []


# Generation is slow on a loaded shared machine; the property, not the speed, is under test.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=40),
    parameters=st.dictionaries(
        st.sampled_from(["bucketName", "key", "versionId", "prefix", "maxKeys"]),
        st.one_of(
            st.text(max_size=20),
            st.integers(min_value=-(2**63), max_value=2**64 - 1),
            st.booleans(),
            st.none(),
        ),
    ),
    read_only=st.booleans(),
)
def test_generated_events_validate(name: str, parameters: dict[str, Any], read_only: bool) -> None:
    event = make_event(4, event_name=name, request_parameters=parameters, read_only=read_only)
    assert errors(json.loads(encode_event(event))) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(requestParameters={"password": "x"}), "should not be valid"),
        (lambda r: r.pop("eventID"), "'eventID' is a required property"),
        (lambda r: r.update(recipientAccountId="12"), "does not match"),
        (lambda r: r.update(extra=1), "Additional properties are not allowed"),
    ],
)
def test_records_that_break_the_contract_do_not_validate(change: Any, message: str) -> None:
    record = json.loads(encode_event(make_event(5)))
    change(record)
    assert any(message in error for error in errors(record)), errors(record)
