"""The events a domain records itself have the gate's shape: who, from where, which resource."""

from __future__ import annotations

from lakevault.audit import EventResource, IdentityType
from lakevault.core import FixedClock, SystemRandom
from lakevault.directory import CallContext
from lakevault.gate import EventFactory
from lakevault.identity import Principal

ACCOUNT = "123456789012"
ALICE = Principal(
    arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
    account_id=ACCOUNT,
    principal_id="LVUSALICEALICEALICE2",
    identity_type=IdentityType.IAM_USER,
    username="alice",
    access_key_id="LVAKALICEALICEALICE2",
)
CALL = CallContext(
    principal=ALICE, request_id="req-1", source_ip="192.0.2.7", user_agent="lakevault-cli/1"
)
BUCKET = EventResource(arn="arn:aws:s3:::red-data", account_id=ACCOUNT, type="AWS::S3::Bucket")


def _factory() -> EventFactory:
    return EventFactory(clock=FixedClock(), random=SystemRandom(), region="eu-central-1")


def test_a_change_event_names_the_caller_with_its_key_id_and_marks_the_state_change() -> None:
    record = (
        _factory()
        .change(CALL, action="s3:CreateBucket", resource=BUCKET, parameters={"bucket": "red"})
        .to_record()
    )

    assert record["eventSource"] == "s3.amazonaws.com"
    assert record["eventName"] == "CreateBucket"
    assert record["userIdentity"]["arn"] == ALICE.arn
    assert record["userIdentity"]["accessKeyId"] == "LVAKALICEALICEALICE2"
    assert record["sourceIPAddress"] == "192.0.2.7"
    assert record["requestID"] == "req-1"
    assert record["recipientAccountId"] == ACCOUNT
    assert record["resources"] == [
        {"ARN": BUCKET.arn, "accountId": ACCOUNT, "type": "AWS::S3::Bucket"}
    ]
    assert record["readOnly"] is False
    assert record["additionalEventData"] == {"stateChange": True}


def test_a_refusal_event_carries_the_error_and_each_event_has_its_own_id() -> None:
    factory = _factory()
    first = factory.event(
        CALL,
        action="secretsmanager:GetSecretValue",
        resource=BUCKET,
        read_only=True,
        error_code="InvalidRequestException",
        error_message="the secret is scheduled for deletion",
    ).to_record()
    second = factory.event(CALL, action="secretsmanager:GetSecretValue", resource=BUCKET)

    assert first["errorCode"] == "InvalidRequestException"
    assert first["errorMessage"] == "the secret is scheduled for deletion"
    assert first["readOnly"] is True
    assert "stateChange" not in first.get("additionalEventData", {})
    assert first["eventID"] != second.to_record()["eventID"]
