"""``lakevault.audit.__all__`` is its whole public surface; a change to it is deliberate."""

from __future__ import annotations

import lakevault.audit

PUBLIC = [
    "DEFAULT_SEGMENT_EVENTS",
    "EMPTY_ROOT",
    "EVENT_VERSION",
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
    "ConsistencyProof",
    "DatabaseAuditLog",
    "DecisionFilter",
    "DecisionRecord",
    "EventPage",
    "EventQuery",
    "EventResource",
    "ExportVerificationFailed",
    "ExportedLog",
    "IdentityType",
    "InclusionProof",
    "InvalidCheckpoint",
    "InvalidProof",
    "LoggedEvent",
    "NoteSigner",
    "NoteVerifier",
    "NoteVerifiers",
    "PreviousCheckpoint",
    "SignedCheckpoint",
    "SigningKeyUnavailable",
    "TreeBuilder",
    "UserIdentity",
    "VerifiedLog",
    "Verifier",
    "append_in",
    "consistency_proof",
    "encode_event",
    "ensure_signing_key",
    "export_log",
    "inclusion_proof",
    "leaf_hash",
    "load_signing_key",
    "load_verifier",
    "logged_accounts",
    "node_hash",
    "open_checkpoint",
    "origin_for",
    "parse_since",
    "query_events",
    "root_hash",
    "rotate_signing_key",
    "sign_checkpoint",
    "verify_consistency",
    "verify_export",
    "verify_inclusion",
    "verify_log",
]


def test_public_names_are_pinned() -> None:
    assert lakevault.audit.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(lakevault.audit, name) is not None
