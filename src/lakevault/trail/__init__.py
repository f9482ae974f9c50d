"""The audit trail as a service: who may read a log, and alarms raised from it.

A domain above the gate: reading an account's log, its proofs and checkpoints are
``lakevault:`` actions on the log's ARN, decided by the gate with the log's own resource policy
(the grant by which a tenant lets the platform administrator read its log). Alarm detectors read
each log as it grows, record every alarm as an audit event, and deliver it to the account's
subscriptions (docs/audit.md, "The HTTP API" and "Alarms").
"""

from lakevault.trail._access import MAX_CHECKPOINTS_PER_PAGE, AuditAccess, CheckpointPage
from lakevault.trail._alarm_tasks import SCAN_ALARMS_TASK, alarm_tasks
from lakevault.trail._alarms import ALARM_EVENT_NAME, AlarmScanner, RaisedAlarm
from lakevault.trail._bucket_export import (
    EXPORT_SERVICE,
    BucketExpiry,
    BucketExporter,
    BucketExportRun,
    audit_bucket_policy,
    download_export,
    export_service_caller,
    log_root,
)
from lakevault.trail._core import TrailCore
from lakevault.trail._delivery import (
    DELIVER_ALARM_TASK,
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_webhook,
)
from lakevault.trail._detectors import Detector, Observation, Thresholds, Verdict, judge, observe
from lakevault.trail._export_settings import (
    AuditExportSettings,
    ExportConfiguration,
    NoAuditExportConfiguration,
    default_bucket_name,
)
from lakevault.trail._export_tasks import (
    EXPIRE_BUCKET_TASK,
    EXPORT_BUCKET_TASK,
    bucket_export_tasks,
)
from lakevault.trail._names import (
    CREATE_ALARM_SUBSCRIPTION,
    DELETE_ALARM_SUBSCRIPTION,
    DELETE_LOG_POLICY,
    GET_CHECKPOINT,
    GET_EVENTS,
    GET_LOG_POLICY,
    GET_PROOF,
    GET_RETENTION,
    LIST_ALARM_SUBSCRIPTIONS,
    PUT_LOG_POLICY,
    PUT_RETENTION,
    audit_log_arn,
    subscription_arn,
)
from lakevault.trail._subscriptions import (
    AlarmProtocol,
    AlarmSubscription,
    AlarmSubscriptions,
    CreatedSubscription,
)

__all__ = [
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
