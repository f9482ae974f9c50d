"""The audit trail as a service: who may read a log, and alarms raised from it.

A domain above the gate: reading an account's log, its proofs and checkpoints are
``lakevault:`` actions on the log's ARN, decided by the gate with the log's own resource policy
(the grant by which a tenant lets the platform administrator read its log). Alarm detectors read
each log as it grows, record every alarm as an audit event, and deliver it to the account's
subscriptions (docs/audit.md, "Access" and "Alarms").
"""

from lakevault.trail._access import MAX_CHECKPOINTS_PER_PAGE, AuditAccess, CheckpointPage
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

__all__ = [
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
