"""Reading an account's audit log through the gate: events, proofs, checkpoints, the grant.

Every operation is one ``lakevault:`` action on the log's ARN (``_names.py``), decided by the
gate with the log's resource policy (``audit_log_policies``) as the resource policy. Hence the
rules of IAM decide who reads what (docs/decisions/0201):

* a tenant's principals read their own log as their identity policies allow;
* nobody reads another account's log — the platform administrator included — unless that
  account's log policy allows the principal (cross-account access needs both sides, as in AWS);
* the platform's own log (account ``000000000000``) is read by the platform's principals.

A decision to read is itself recorded (in both logs when cross-account), so a tenant sees every
time the operator looked at its log, allowed or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakevault import iam
from lakevault.audit import (
    AuditProofs,
    ConsistencyProof,
    EventPage,
    EventQuery,
    InclusionProof,
    SignedCheckpoint,
    query_events,
)
from lakevault.core.errors import InvalidParameterValue, NoSuchEntity
from lakevault.db import models
from lakevault.directory import CallContext
from lakevault.trail import _names as names
from lakevault.trail._core import TrailCore

#: Most checkpoints one page lists.
MAX_CHECKPOINTS_PER_PAGE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointPage:
    """Checkpoints of a log, oldest first; ``next_tree_size`` continues (``None``: no more)."""

    account_id: str
    checkpoints: tuple[SignedCheckpoint, ...]
    next_tree_size: int | None


class AuditAccess:
    """The audit log as an API: every read and every grant change passes the gate."""

    def __init__(self, core: TrailCore, *, proofs: Callable[[], AuditProofs]) -> None:
        """``proofs`` builds the proof service on first use (it needs the verifier key file)."""
        self._core = core
        self._database = core.database
        self._clock = core.clock
        self._proofs = proofs

    # Reading ---------------------------------------------------------------------------------

    def lookup_events(self, call: CallContext, query: EventQuery) -> EventPage:
        """One page of the account's events that match ``query`` (``lakevault:GetAuditEvents``)."""
        self._core.authorize(
            call,
            names.GET_EVENTS,
            query.account_id,
            parameters=_query_parameters(query),
        )
        return query_events(self._database, query)

    def inclusion_proof(
        self, call: CallContext, account_id: str, event_id: str, *, tree_size: int | None = None
    ) -> InclusionProof:
        """Prove one event against the newest (or a named) checkpoint (``GetAuditProof``).

        ``NoSuchEntity`` (after the permission check) when the log has no such event;
        ``InvalidProof`` when no checkpoint covers it yet.
        """
        self._core.authorize(
            call,
            names.GET_PROOF,
            account_id,
            parameters={"eventID": event_id, "treeSize": tree_size},
        )
        proofs = self._proofs()
        return proofs.inclusion(
            account_id, proofs.sequence_of(account_id, event_id), tree_size=tree_size
        )

    def consistency_proof(
        self, call: CallContext, account_id: str, old_size: int, new_size: int
    ) -> ConsistencyProof:
        """Prove that the checkpoint of ``new_size`` extends the one of ``old_size``."""
        self._core.authorize(
            call,
            names.GET_PROOF,
            account_id,
            parameters={"oldTreeSize": old_size, "newTreeSize": new_size},
        )
        if not 0 < old_size <= new_size:
            raise InvalidParameterValue(
                f"a consistency proof needs 0 < old size <= new size; got {old_size} and "
                f"{new_size} (a proof from the empty tree is meaningless, ADR 0062)"
            )
        return self._proofs().consistency(account_id, old_size, new_size)

    def list_checkpoints(
        self,
        call: CallContext,
        account_id: str,
        *,
        from_tree_size: int = 0,
        limit: int = 100,
    ) -> CheckpointPage:
        """The log's signed checkpoints from ``from_tree_size`` on (``GetAuditCheckpoint``)."""
        self._core.authorize(
            call,
            names.GET_CHECKPOINT,
            account_id,
            parameters={"fromTreeSize": from_tree_size, "limit": limit},
        )
        if not 1 <= limit <= MAX_CHECKPOINTS_PER_PAGE:
            raise InvalidParameterValue(
                f"limit must be 1 to {MAX_CHECKPOINTS_PER_PAGE}, got {limit}"
            )
        if from_tree_size < 0:
            raise InvalidParameterValue(f"fromTreeSize must be 0 or more, got {from_tree_size}")
        history = self._proofs().checkpoints.history(account_id, min_tree_size=from_tree_size)
        page = tuple(history[:limit])
        following = history[limit].checkpoint.tree_size if len(history) > limit else None
        return CheckpointPage(account_id=account_id, checkpoints=page, next_tree_size=following)

    # The grant -------------------------------------------------------------------------------

    def put_log_policy(self, call: CallContext, account_id: str, document: str) -> None:
        """Attach (or replace) the log's resource policy (``lakevault:PutAuditLogPolicy``).

        The document is validated as an IAM resource policy first (``MalformedPolicyDocument``);
        only the account's own principals can pass the gate, as nobody else is granted yet.
        """
        policy = iam.parse_policy(document, kind=iam.PolicyKind.RESOURCE)
        del policy  # Validated; the text is stored as given.
        self._core.authorize(
            call, names.PUT_LOG_POLICY, account_id, parameters=None, read_only=False
        )
        with self._database.session() as session:
            row = session.get(models.AuditLogPolicy, account_id)
            if row is None:
                session.add(
                    models.AuditLogPolicy(
                        account_id=account_id, document=document, updated_at=self._clock.now()
                    )
                )
            else:
                row.document = document
                row.updated_at = self._clock.now()
            self._core.record_change(session, call, names.PUT_LOG_POLICY, account_id)

    def get_log_policy(self, call: CallContext, account_id: str) -> str:
        """The log's resource policy; ``NoSuchEntity`` if it has none."""
        self._core.authorize(call, names.GET_LOG_POLICY, account_id, parameters=None)
        with self._database.read_session() as session:
            row = session.get(models.AuditLogPolicy, account_id)
            if row is None:
                raise NoSuchEntity(
                    f"the audit log of account {account_id} has no policy; attach one with "
                    "PUT /api/v1/audit/policy"
                )
            return row.document

    def delete_log_policy(self, call: CallContext, account_id: str) -> None:
        """Remove the log's resource policy: every grant ends at once."""
        self._core.authorize(
            call, names.DELETE_LOG_POLICY, account_id, parameters=None, read_only=False
        )
        with self._database.session() as session:
            row = session.get(models.AuditLogPolicy, account_id)
            if row is None:
                raise NoSuchEntity(f"the audit log of account {account_id} has no policy")
            session.delete(row)
            self._core.record_change(session, call, names.DELETE_LOG_POLICY, account_id)


def _query_parameters(query: EventQuery) -> dict[str, Any]:
    """The filters of a lookup, as recorded in its audit event (never a token's content)."""
    parameters: dict[str, Any] = {
        "since": query.since.isoformat() if query.since is not None else None,
        "until": query.until.isoformat() if query.until is not None else None,
        "principal": query.principal,
        "action": query.action,
        "decision": query.decision.value if query.decision is not None else None,
        "resource": query.resource,
        "eventSource": query.event_source,
        "limit": query.limit,
        "continued": query.next_token is not None,
    }
    return {key: value for key, value in parameters.items() if value is not None}
