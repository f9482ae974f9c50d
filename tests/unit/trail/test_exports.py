"""``lakevault.trail.__all__`` is its whole public surface; a change to it is deliberate."""

from __future__ import annotations

import lakevault.trail

PUBLIC = [
    "ALARM_EVENT_NAME",
    "CREATE_ALARM_SUBSCRIPTION",
    "DELETE_ALARM_SUBSCRIPTION",
    "DELETE_LOG_POLICY",
    "DELIVERY_HEADER",
    "DELIVER_ALARM_TASK",
    "GET_CHECKPOINT",
    "GET_EVENTS",
    "GET_LOG_POLICY",
    "GET_PROOF",
    "LIST_ALARM_SUBSCRIPTIONS",
    "MAX_CHECKPOINTS_PER_PAGE",
    "PUT_LOG_POLICY",
    "SCAN_ALARMS_TASK",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AlarmProtocol",
    "AlarmScanner",
    "AlarmSubscription",
    "AlarmSubscriptions",
    "AuditAccess",
    "CheckpointPage",
    "CreatedSubscription",
    "Detector",
    "Observation",
    "RaisedAlarm",
    "Thresholds",
    "TrailCore",
    "Verdict",
    "alarm_tasks",
    "audit_log_arn",
    "judge",
    "observe",
    "sign_webhook",
    "subscription_arn",
]


def test_public_names_are_pinned() -> None:
    assert sorted(lakevault.trail.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert hasattr(lakevault.trail, name), name
