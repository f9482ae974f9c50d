"""The audit trail: CloudTrail-shaped events appended to a per-account log.

Every gate decision and every state change becomes an :class:`AuditEvent`. Events never carry
secrets or object contents (the event refuses parameter names that could hold them).
"""

from lakevault.audit._events import (
    EVENT_VERSION,
    AuditEvent,
    DecisionRecord,
    EventResource,
    IdentityType,
    UserIdentity,
)
from lakevault.audit._log import AuditSink, DatabaseAuditLog, append_in

__all__ = [
    "EVENT_VERSION",
    "AuditEvent",
    "AuditSink",
    "DatabaseAuditLog",
    "DecisionRecord",
    "EventResource",
    "IdentityType",
    "UserIdentity",
    "append_in",
]
