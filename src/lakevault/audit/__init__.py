"""The audit trail: CloudTrail-shaped events in a tamper-evident log per account.

Every gate decision and every state change becomes an :class:`AuditEvent`. Events never carry
secrets or object contents (the event refuses parameter names that could hold them). Each
account's events form an RFC 9162 Merkle tree with Ed25519-signed, chained checkpoints (C2SP
signed notes); exports verify offline (docs/audit.md).
"""

from lakevault.audit._append import append_all_in, append_in
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
from lakevault.audit._export import DEFAULT_SEGMENT_EVENTS, ExportedLog, export_log, logged_accounts
from lakevault.audit._increments import (
    Materialized,
    SegmentPiece,
    adopt_segment,
    advance_start,
    build_segment,
    checkpoint_key,
    digest_key,
    keyring,
    keyring_key,
    manifest_bytes,
    manifest_key,
    materialize,
    number_of,
    parse_manifest_key,
    segment_key,
    selected_names,
    sign_digest,
)
from lakevault.audit._keys import (
    SIGNING_KEY_FILE,
    VERIFIER_KEY_FILE,
    VERIFIERS_FILE,
    ensure_signing_key,
    load_signing_key,
    load_verifier,
    rotate_signing_key,
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
from lakevault.audit._note import NoteSigner, NoteVerifier, NoteVerifiers, Verifier
from lakevault.audit._proofs import AuditProofs, ConsistencyProof, InclusionProof
from lakevault.audit._query import (
    DecisionFilter,
    EventPage,
    EventQuery,
    LoggedEvent,
    parse_since,
    query_events,
)
from lakevault.audit._retention import (
    DEFAULT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    ExpiredSegments,
    expire_export,
)
from lakevault.audit._verify import VerifiedLog, verify_export, verify_log
from lakevault.audit._writer import AppendReceipt, CompanionRow

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_SEGMENT_EVENTS",
    "EMPTY_ROOT",
    "EVENT_VERSION",
    "MAX_RETENTION_DAYS",
    "SIGNING_KEY_FILE",
    "VERIFIERS_FILE",
    "VERIFIER_KEY_FILE",
    "AppendReceipt",
    "AuditEvent",
    "AuditProofs",
    "AuditSink",
    "Checkpoint",
    "CheckpointStore",
    "Checkpointer",
    "CompanionRow",
    "ConsistencyProof",
    "DatabaseAuditLog",
    "DecisionFilter",
    "DecisionRecord",
    "EventPage",
    "EventQuery",
    "EventResource",
    "ExpiredSegments",
    "ExportVerificationFailed",
    "ExportedLog",
    "IdentityType",
    "InclusionProof",
    "InvalidCheckpoint",
    "InvalidProof",
    "LoggedEvent",
    "Materialized",
    "NoteSigner",
    "NoteVerifier",
    "NoteVerifiers",
    "PreviousCheckpoint",
    "SegmentPiece",
    "SignedCheckpoint",
    "SigningKeyUnavailable",
    "TreeBuilder",
    "UserIdentity",
    "VerifiedLog",
    "Verifier",
    "adopt_segment",
    "advance_start",
    "append_all_in",
    "append_in",
    "build_segment",
    "checkpoint_key",
    "consistency_proof",
    "digest_key",
    "encode_event",
    "ensure_signing_key",
    "expire_export",
    "export_log",
    "inclusion_proof",
    "keyring",
    "keyring_key",
    "leaf_hash",
    "load_signing_key",
    "load_verifier",
    "logged_accounts",
    "manifest_bytes",
    "manifest_key",
    "materialize",
    "node_hash",
    "number_of",
    "open_checkpoint",
    "origin_for",
    "parse_manifest_key",
    "parse_since",
    "query_events",
    "root_hash",
    "rotate_signing_key",
    "segment_key",
    "selected_names",
    "sign_checkpoint",
    "sign_digest",
    "verify_consistency",
    "verify_export",
    "verify_inclusion",
    "verify_log",
]
