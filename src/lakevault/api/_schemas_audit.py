"""Request and response bodies of the audit API (``/api/v1/audit``), CloudTrail-style names.

Events travel as the exact JSON records the log holds (``dict`` at this JSON boundary); hashes
and proofs as standard base64, checkpoints as their signed note text.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lakevault.audit import ConsistencyProof, EventPage, InclusionProof, SignedCheckpoint
from lakevault.trail import AlarmProtocol, AlarmSubscription, Detector, ExportConfiguration


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoggedEvent(BaseModel):
    sequence: int
    event: dict[str, Any]


class EventsPage(BaseModel):
    accountId: str
    events: list[LoggedEvent]
    nextToken: str | None

    @classmethod
    def of(cls, account_id: str, page: EventPage) -> EventsPage:
        return cls(
            accountId=account_id,
            events=[LoggedEvent(sequence=e.sequence, event=dict(e.record)) for e in page.events],
            nextToken=page.next_token,
        )


class InclusionProofBody(BaseModel):
    accountId: str
    eventID: str
    leafIndex: int
    treeSize: int
    leafHash: str
    proof: list[str]
    checkpoint: str

    @classmethod
    def of(cls, event_id: str, proof: InclusionProof) -> InclusionProofBody:
        return cls(
            accountId=proof.account_id,
            eventID=event_id,
            leafIndex=proof.sequence,
            treeSize=proof.checkpoint.checkpoint.tree_size,
            leafHash=_b64(proof.leaf_hash),
            proof=[_b64(h) for h in proof.hashes],
            checkpoint=proof.checkpoint.note.decode("utf-8"),
        )


class ConsistencyProofBody(BaseModel):
    accountId: str
    oldSize: int
    newSize: int
    proof: list[str]
    oldCheckpoint: str
    newCheckpoint: str

    @classmethod
    def of(cls, proof: ConsistencyProof) -> ConsistencyProofBody:
        return cls(
            accountId=proof.account_id,
            oldSize=proof.old.checkpoint.tree_size,
            newSize=proof.new.checkpoint.tree_size,
            proof=[_b64(h) for h in proof.hashes],
            oldCheckpoint=proof.old.note.decode("utf-8"),
            newCheckpoint=proof.new.note.decode("utf-8"),
        )


class CheckpointBody(BaseModel):
    treeSize: int
    rootHash: str
    note: str

    @classmethod
    def of(cls, signed: SignedCheckpoint) -> CheckpointBody:
        return cls(
            treeSize=signed.checkpoint.tree_size,
            rootHash=_b64(signed.checkpoint.root_hash),
            note=signed.note.decode("utf-8"),
        )


class CheckpointsPage(BaseModel):
    accountId: str
    checkpoints: list[CheckpointBody]
    nextTreeSize: int | None


class LogPolicy(Body):
    policyDocument: dict[str, Any] | str = Field(
        description="An IAM resource policy on arn:aws:lakevault::<account>:audit-log."
    )

    def text(self) -> str:
        document = self.policyDocument
        return document if isinstance(document, str) else json.dumps(document)


class LogPolicyBody(BaseModel):
    accountId: str
    policyDocument: str


class NewAlarmSubscription(Body):
    protocol: AlarmProtocol
    endpoint: str = Field(min_length=3, max_length=2048)
    detectors: list[Detector] = Field(default_factory=list, max_length=len(Detector))


class AlarmSubscriptionBody(BaseModel):
    subscriptionId: str
    arn: str
    accountId: str
    protocol: AlarmProtocol
    endpoint: str
    detectors: list[Detector]
    createdAt: datetime

    @classmethod
    def of(cls, value: AlarmSubscription) -> AlarmSubscriptionBody:
        return cls(
            subscriptionId=value.subscription_id,
            arn=value.arn,
            accountId=value.account_id,
            protocol=value.protocol,
            endpoint=value.endpoint,
            detectors=list(value.detectors),
            createdAt=value.created_at,
        )


class CreatedAlarmSubscription(BaseModel):
    """The new subscription; ``signingSecret`` (webhooks) is shown in this answer only."""

    subscription: AlarmSubscriptionBody
    signingSecret: str | None


class RetentionRequest(Body):
    """Turn the account's bucket export on, or extend its retention (never shorten it)."""

    retentionDays: int | None = Field(
        default=None,
        description="1 to 2557 days (7 years); only ever extended. Default: the platform's "
        "audit_retention_days setting (90 days unless configured).",
    )
    bucketName: str | None = Field(
        default=None,
        description="The audit bucket to create (default lakevault-audit-<account>); fixed once "
        "chosen.",
    )
    prefix: str | None = Field(
        default=None, description="Key prefix in the bucket (default 'audit/'); fixed once chosen."
    )


class RetentionBody(BaseModel):
    """An account's audit bucket export: where, how long, and how far it has got."""

    accountId: str
    bucketName: str
    prefix: str
    logRoot: str
    retentionDays: int
    enabled: bool
    treeSize: int
    firstSequence: int
    createdAt: datetime
    updatedAt: datetime
    lastExportAt: datetime | None
    lastError: str | None

    @classmethod
    def of(cls, configuration: ExportConfiguration) -> RetentionBody:
        return cls(
            accountId=configuration.account_id,
            bucketName=configuration.bucket,
            prefix=configuration.prefix,
            logRoot=configuration.log_root,
            retentionDays=configuration.retention_days,
            enabled=configuration.enabled,
            treeSize=configuration.tree_size,
            firstSequence=configuration.first_sequence,
            createdAt=configuration.created_at,
            updatedAt=configuration.updated_at,
            lastExportAt=configuration.last_export_at,
            lastError=configuration.last_error,
        )
