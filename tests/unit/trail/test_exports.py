"""``lakevault.trail.__all__`` is its whole public surface; a change to it is deliberate."""

from __future__ import annotations

import lakevault.trail

PUBLIC = [
    "CREATE_ALARM_SUBSCRIPTION",
    "DELETE_ALARM_SUBSCRIPTION",
    "DELETE_LOG_POLICY",
    "GET_CHECKPOINT",
    "GET_EVENTS",
    "GET_LOG_POLICY",
    "GET_PROOF",
    "LIST_ALARM_SUBSCRIPTIONS",
    "MAX_CHECKPOINTS_PER_PAGE",
    "PUT_LOG_POLICY",
    "AuditAccess",
    "CheckpointPage",
    "audit_log_arn",
    "subscription_arn",
]


def test_public_names_are_pinned() -> None:
    assert sorted(lakevault.trail.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert hasattr(lakevault.trail, name), name
