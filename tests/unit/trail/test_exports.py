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
    "EXPIRE_BUCKET_TASK",
    "EXPORT_BUCKET_TASK",
    "EXPORT_SERVICE",
    "GET_CHECKPOINT",
    "GET_EVENTS",
    "GET_LOG_POLICY",
    "GET_PROOF",
    "GET_RETENTION",
    "LIST_ALARM_SUBSCRIPTIONS",
    "MAX_CHECKPOINTS_PER_PAGE",
    "PUT_LOG_POLICY",
    "PUT_RETENTION",
    "SCAN_ALARMS_TASK",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AlarmProtocol",
    "AlarmScanner",
    "AlarmSubscription",
    "AlarmSubscriptions",
    "AuditAccess",
    "AuditExportSettings",
    "BucketExpiry",
    "BucketExportRun",
    "BucketExporter",
    "CheckpointPage",
    "CreatedSubscription",
    "Detector",
    "ExportConfiguration",
    "NoAuditExportConfiguration",
    "Observation",
    "RaisedAlarm",
    "Thresholds",
    "TrailCore",
    "Verdict",
    "alarm_tasks",
    "audit_bucket_policy",
    "audit_log_arn",
    "bucket_export_tasks",
    "default_bucket_name",
    "download_export",
    "export_service_caller",
    "judge",
    "log_root",
    "observe",
    "sign_webhook",
    "subscription_arn",
]


def test_public_names_are_pinned() -> None:
    assert sorted(lakevault.trail.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert hasattr(lakevault.trail, name), name
