"""Builders shared by the audit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lakevault.audit import (
    AuditEvent,
    Checkpointer,
    DecisionRecord,
    EventResource,
    IdentityType,
    NoteSigner,
    UserIdentity,
)
from lakevault.core import FixedClock
from lakevault.db import Database

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
START = datetime(2026, 1, 1, tzinfo=UTC)


def make_event(number: int, *, account: str = ACCOUNT, **overrides: object) -> AuditEvent:
    values: dict[str, object] = {
        "event_id": f"00000000-0000-4000-8000-{number:012d}",
        "event_time": START + timedelta(seconds=number),
        "event_source": "s3.amazonaws.com",
        "event_name": "GetObject",
        "region": "local",
        "source_ip_address": "127.0.0.1",
        "user_agent": "test",
        "user_identity": UserIdentity(
            type=IdentityType.IAM_USER,
            principal_id="LVUSAAAAAAAAAAAAAAAA",
            arn=f"arn:aws:iam::{account}:user/alice",
            account_id=account,
        ),
        "request_id": f"req-{number}",
        "read_only": True,
        "recipient_account_id": account,
        "resources": (
            EventResource(
                arn=f"arn:aws:s3:::bucket/key-{number}", account_id=account, type="AWS::S3::Object"
            ),
        ),
        "decision": DecisionRecord(
            effect="Allowed", statements=({"policy": "P", "sid": "A", "index": 0},)
        ),
    }
    values.update(overrides)
    return AuditEvent(**values)  # type: ignore[arg-type]


def make_checkpointer(database: Database, signer: NoteSigner | None = None) -> Checkpointer:
    return Checkpointer(database, signer or NoteSigner.generate("test-audit"), FixedClock())
