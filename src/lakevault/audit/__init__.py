"""The audit trail: CloudTrail-shaped events in a tamper-evident log per account.

Every gate decision and every state change becomes an :class:`AuditEvent`. Events never carry
secrets or object contents (the event refuses parameter names that could hold them). Each
account's events form an RFC 9162 Merkle tree with Ed25519-signed, chained checkpoints (C2SP
signed notes); exports verify offline (docs/audit.md).
"""

from lakevault.audit._append import append_in
from lakevault.audit._checkpoint import (
    Checkpoint,
    PreviousCheckpoint,
    SignedCheckpoint,
    open_checkpoint,
    origin_for,
    sign_checkpoint,
)
from lakevault.audit._checkpointer import Checkpointer, CheckpointStore
from lakevault.audit._errors import (
    ExportVerificationFailed,
    InvalidCheckpoint,
    InvalidProof,
    SigningKeyUnavailable,
)
from lakevault.audit._events import (
    EVENT_VERSION,
    AuditEvent,
    DecisionRecord,
    EventResource,
    IdentityType,
    UserIdentity,
    encode_event,
)
from lakevault.audit._log import AuditSink, DatabaseAuditLog
from lakevault.audit._merkle import (
    EMPTY_ROOT,
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from lakevault.audit._note import NoteSigner, NoteVerifier

__all__ = [
    "EMPTY_ROOT",
    "EVENT_VERSION",
    "AuditEvent",
    "AuditSink",
    "Checkpoint",
    "CheckpointStore",
    "Checkpointer",
    "DatabaseAuditLog",
    "DecisionRecord",
    "EventResource",
    "ExportVerificationFailed",
    "IdentityType",
    "InvalidCheckpoint",
    "InvalidProof",
    "NoteSigner",
    "NoteVerifier",
    "PreviousCheckpoint",
    "SignedCheckpoint",
    "SigningKeyUnavailable",
    "TreeBuilder",
    "UserIdentity",
    "append_in",
    "consistency_proof",
    "encode_event",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "origin_for",
    "root_hash",
    "sign_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]
