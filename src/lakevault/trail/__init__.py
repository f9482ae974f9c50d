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
from lakevault.trail._core import TrailCore
from lakevault.trail._delivery import (
    DELIVER_ALARM_TASK,
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_webhook,
)
from lakevault.trail._detectors import Detector, Observation, Thresholds, Verdict, judge, observe
from lakevault.trail._names import (
    CREATE_ALARM_SUBSCRIPTION,
    DELETE_ALARM_SUBSCRIPTION,
    DELETE_LOG_POLICY,
    GET_CHECKPOINT,
    GET_EVENTS,
    GET_LOG_POLICY,
    GET_PROOF,
    LIST_ALARM_SUBSCRIPTIONS,
    PUT_LOG_POLICY,
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
