"""The audit API under ``/api/v1/audit``: events, proofs, checkpoints, the log policy.

Routes translate HTTP to ``trail.AuditAccess`` calls and nothing else; every read is decided by
the gate (docs/decisions/0201). ``accountId`` names the log and defaults to the caller's own
account; the platform's log is ``000000000000``.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias, which
# is local to each router factory, as an evaluated annotation.

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from lakevault.api import _schemas_audit as schemas
from lakevault.api._auth import caller_dependency
from lakevault.audit import DecisionFilter, EventQuery, parse_since
from lakevault.core.errors import AccessDenied
from lakevault.directory import CallContext
from lakevault.runtime import Platform

_ACCOUNT = Query(
    pattern=r"^[0-9]{12}$",
    description="The log's account id; defaults to the caller's account.",
)


def _account(call: CallContext, account_id: str | None) -> str:
    if account_id is not None:
        return account_id
    if not call.principal.account_id:
        raise AccessDenied(
            "an anonymous caller has no audit log; sign in, or name the log with accountId"
        )
    return call.principal.account_id


def audit_router(platform: Platform) -> APIRouter:
    """Reading the audit trail and granting others to read it."""
    router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
    access = platform.audit_access
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    @router.get("/events", response_model=schemas.EventsPage)
    def lookup_events(
        call: Caller,
        accountId: Annotated[str | None, _ACCOUNT] = None,
        since: Annotated[str | None, Query(description="30m, 1h, 7d or ISO 8601.")] = None,
        until: Annotated[str | None, Query(description="30m, 1h, 7d or ISO 8601.")] = None,
        principal: Annotated[str | None, Query(description="ARN or principal id.")] = None,
        action: Annotated[str | None, Query(description="For example s3:GetObject.")] = None,
        decision: DecisionFilter | None = None,
        resource: Annotated[str | None, Query(description="ARN, or prefix ending in *.")] = None,
        eventSource: Annotated[str | None, Query(description="kms.amazonaws.com...")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        nextToken: str | None = None,
    ) -> schemas.EventsPage:
        account = _account(call, accountId)
        now = platform.clock.now()
        query = EventQuery(
            account_id=account,
            since=parse_since(since, now) if since is not None else None,
            until=parse_since(until, now) if until is not None else None,
            principal=principal,
            action=action,
            decision=decision,
            resource=resource,
            event_source=eventSource,
            limit=limit,
            next_token=nextToken,
        )
        return schemas.EventsPage.of(account, access.lookup_events(call, query))

    @router.get("/events/{event_id}/proof", response_model=schemas.InclusionProofBody)
    def inclusion_proof(
        event_id: str,
        call: Caller,
        accountId: Annotated[str | None, _ACCOUNT] = None,
        treeSize: Annotated[int | None, Query(ge=1)] = None,
    ) -> schemas.InclusionProofBody:
        proof = access.inclusion_proof(
            call, _account(call, accountId), event_id, tree_size=treeSize
        )
        return schemas.InclusionProofBody.of(event_id, proof)

    @router.get("/checkpoints", response_model=schemas.CheckpointsPage)
    def list_checkpoints(
        call: Caller,
        accountId: Annotated[str | None, _ACCOUNT] = None,
        fromTreeSize: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> schemas.CheckpointsPage:
        account = _account(call, accountId)
        page = access.list_checkpoints(call, account, from_tree_size=fromTreeSize, limit=limit)
        return schemas.CheckpointsPage(
            accountId=account,
            checkpoints=[schemas.CheckpointBody.of(c) for c in page.checkpoints],
            nextTreeSize=page.next_tree_size,
        )

    @router.get("/consistency", response_model=schemas.ConsistencyProofBody)
    def consistency_proof(
        call: Caller,
        oldSize: Annotated[int, Query(ge=1)],
        newSize: Annotated[int, Query(ge=1)],
        accountId: Annotated[str | None, _ACCOUNT] = None,
    ) -> schemas.ConsistencyProofBody:
        proof = access.consistency_proof(call, _account(call, accountId), oldSize, newSize)
        return schemas.ConsistencyProofBody.of(proof)

    @router.put("/policy", status_code=204)
    def put_log_policy(
        body: schemas.LogPolicy, call: Caller, accountId: Annotated[str | None, _ACCOUNT] = None
    ) -> Response:
        access.put_log_policy(call, _account(call, accountId), body.text())
        return Response(status_code=204)

    @router.get("/policy", response_model=schemas.LogPolicyBody)
    def get_log_policy(
        call: Caller, accountId: Annotated[str | None, _ACCOUNT] = None
    ) -> schemas.LogPolicyBody:
        account = _account(call, accountId)
        return schemas.LogPolicyBody(
            accountId=account, policyDocument=access.get_log_policy(call, account)
        )

    @router.delete("/policy", status_code=204)
    def delete_log_policy(
        call: Caller, accountId: Annotated[str | None, _ACCOUNT] = None
    ) -> Response:
        access.delete_log_policy(call, _account(call, accountId))
        return Response(status_code=204)

    @router.put("/retention", response_model=schemas.RetentionBody)
    def put_retention(
        body: schemas.RetentionRequest,
        call: Caller,
        accountId: Annotated[str | None, _ACCOUNT] = None,
    ) -> schemas.RetentionBody:
        configuration = platform.audit_exports().put(
            call,
            _account(call, accountId),
            retention_days=(
                body.retentionDays
                if body.retentionDays is not None
                else platform.settings.audit_retention_days
            ),
            bucket=body.bucketName,
            prefix=body.prefix,
        )
        return schemas.RetentionBody.of(configuration)

    @router.get("/retention", response_model=schemas.RetentionBody)
    def get_retention(
        call: Caller, accountId: Annotated[str | None, _ACCOUNT] = None
    ) -> schemas.RetentionBody:
        configuration = platform.audit_exports().get(call, _account(call, accountId))
        return schemas.RetentionBody.of(configuration)

    return router


def audit_alarms_router(platform: Platform) -> APIRouter:
    """Alarm subscriptions of an account (webhooks and email)."""
    router = APIRouter(prefix="/api/v1/audit/alarm-subscriptions", tags=["audit"])
    alarms = platform.audit_alarms
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    @router.post("", status_code=201, response_model=schemas.CreatedAlarmSubscription)
    def create_subscription(
        body: schemas.NewAlarmSubscription,
        call: Caller,
        accountId: Annotated[str | None, _ACCOUNT] = None,
    ) -> schemas.CreatedAlarmSubscription:
        created = alarms.create(
            call,
            _account(call, accountId),
            protocol=body.protocol,
            endpoint=body.endpoint,
            detectors=body.detectors,
        )
        return schemas.CreatedAlarmSubscription(
            subscription=schemas.AlarmSubscriptionBody.of(created.subscription),
            signingSecret=created.signing_secret,
        )

    @router.get("", response_model=list[schemas.AlarmSubscriptionBody])
    def list_subscriptions(
        call: Caller, accountId: Annotated[str | None, _ACCOUNT] = None
    ) -> list[schemas.AlarmSubscriptionBody]:
        return [
            schemas.AlarmSubscriptionBody.of(s)
            for s in alarms.list(call, _account(call, accountId))
        ]

    @router.delete("/{subscription_id}", status_code=204)
    def delete_subscription(
        subscription_id: str, call: Caller, accountId: Annotated[str | None, _ACCOUNT] = None
    ) -> Response:
        alarms.delete(call, _account(call, accountId), subscription_id)
        return Response(status_code=204)

    return router
