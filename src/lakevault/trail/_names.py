"""Action names, ARNs and resource types of the audit trail as a service (ADR 0200).

lakevault's own services use the ``lakevault:`` prefix (DESIGN.md, principle 2), and the policy
linter already knows the read actions (``lakevault:GetAuditEvents``...); the grant and alarm
actions are added beside them. One ARN names an account's log; policies grant on it.
"""

from __future__ import annotations

from lakevault.core import parse_account_id

GET_EVENTS = "lakevault:GetAuditEvents"
GET_PROOF = "lakevault:GetAuditProof"
GET_CHECKPOINT = "lakevault:GetAuditCheckpoint"
PUT_LOG_POLICY = "lakevault:PutAuditLogPolicy"
GET_LOG_POLICY = "lakevault:GetAuditLogPolicy"
DELETE_LOG_POLICY = "lakevault:DeleteAuditLogPolicy"
CREATE_ALARM_SUBSCRIPTION = "lakevault:CreateAuditAlarmSubscription"
LIST_ALARM_SUBSCRIPTIONS = "lakevault:ListAuditAlarmSubscriptions"
DELETE_ALARM_SUBSCRIPTION = "lakevault:DeleteAuditAlarmSubscription"
PUT_RETENTION = "lakevault:PutAuditRetention"
GET_RETENTION = "lakevault:GetAuditRetention"

LOG_RESOURCE_TYPE = "AuditLog"
SUBSCRIPTION_RESOURCE_TYPE = "AuditAlarmSubscription"


def audit_log_arn(account_id: str) -> str:
    """The ARN of an account's audit log, ``arn:aws:lakevault::<account>:audit-log``."""
    return f"arn:aws:lakevault::{parse_account_id(account_id)}:audit-log"


def subscription_arn(account_id: str, subscription_id: str) -> str:
    return f"arn:aws:lakevault::{account_id}:audit-alarm-subscription/{subscription_id}"
