"""Looking up events in one account's log: filters, pages and a continuation token.

Events come back in log order (oldest first). A page holds at most ``limit`` matches and is cut
after ``scan_limit`` examined events, so a rare filter costs bounded work per call; the caller
follows ``next_token`` until it is ``None``. The token is opaque, bound to the account (a token of
another account is refused), and stable: events are only ever appended.

Time and action filters run in SQL; principal, decision, resource and event-source filters
run on the records. Permission checks (a tenant sees only its log) belong to the caller
(``lakevault.trail.AuditAccess``), through the gate.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import select

from lakevault.core import parse_account_id
from lakevault.core.errors import InvalidParameterValue
from lakevault.db import Database, models

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CHUNK = 500


class DecisionFilter(StrEnum):
    """``--decision``: events the gate allowed, or denied (explicitly or implicitly)."""

    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventQuery:
    account_id: str
    since: datetime | None = None
    until: datetime | None = None
    principal: str | None = None
    action: str | None = None
    decision: DecisionFilter | None = None
    resource: str | None = None
    event_source: str | None = None
    limit: int = 50
    scan_limit: int = 20000
    next_token: str | None = None

    def __post_init__(self) -> None:
        parse_account_id(self.account_id)
        if not 1 <= self.limit <= 1000:
            raise InvalidParameterValue(f"limit must be 1 to 1000, got {self.limit}")
        if self.action is not None and ":" not in self.action:
            raise InvalidParameterValue(
                "action must name a service and an action, for example s3:GetObject"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedEvent:
    """An event as logged: its position in the log and its JSON record."""

    sequence: int
    record: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPage:
    events: tuple[LoggedEvent, ...]
    next_token: str | None


def query_events(database: Database, query: EventQuery) -> EventPage:
    """One page of the events of ``query.account_id`` that match every given filter."""
    position = _decode_token(query.next_token, query.account_id)
    name = query.action.partition(":")[2] if query.action is not None else None
    matches: list[LoggedEvent] = []
    examined = 0
    with database.read_session() as session:
        while len(matches) < query.limit and examined < query.scan_limit:
            chunk = min(_CHUNK, query.scan_limit - examined)
            statement = (
                select(models.AuditEvent.sequence, models.AuditEvent.body)
                .where(models.AuditEvent.account_id == query.account_id)
                .where(models.AuditEvent.sequence >= position)
                .order_by(models.AuditEvent.sequence)
                .limit(chunk)
            )
            if query.since is not None:
                statement = statement.where(models.AuditEvent.event_time >= query.since)
            if query.until is not None:
                statement = statement.where(models.AuditEvent.event_time < query.until)
            if name is not None:
                statement = statement.where(models.AuditEvent.event_name == name)
            rows = session.execute(statement).all()
            for index, (sequence, body) in enumerate(rows):
                examined += 1
                position = sequence + 1
                record = orjson.loads(body)
                if _matches(record, query):
                    matches.append(LoggedEvent(sequence=sequence, record=record))
                    if len(matches) == query.limit:
                        rows = rows[: index + 1]
                        break
            else:
                if len(rows) < chunk:  # The log holds nothing more that could match.
                    return EventPage(events=tuple(matches), next_token=None)
    return EventPage(events=tuple(matches), next_token=_encode_token(query.account_id, position))


def _matches(record: dict[str, Any], query: EventQuery) -> bool:
    if query.principal is not None:
        identity = record.get("userIdentity") or {}
        if query.principal not in (identity.get("arn"), identity.get("principalId")):
            return False
    if query.action is not None:
        service = query.action.partition(":")[0]
        source = str(record.get("eventSource", ""))
        if source not in (f"{service}.amazonaws.com", f"{service}.local"):
            return False
    if query.event_source is not None and record.get("eventSource") != query.event_source:
        return False
    if query.decision is not None:
        effect = (record.get("decision") or {}).get("effect")
        if effect is None:
            return False
        if (effect == "Allowed") != (query.decision is DecisionFilter.ALLOWED):
            return False
    if query.resource is not None:
        arns = [str(r.get("ARN", "")) for r in record.get("resources") or []]
        wanted = query.resource
        if wanted.endswith("*"):
            return any(arn.startswith(wanted[:-1]) for arn in arns)
        return wanted in arns
    return True


def parse_since(text: str, now: datetime) -> datetime:
    """``30m``, ``1h``, ``7d`` before ``now``, or an ISO 8601 time with a zone."""
    match = _DURATION.match(text.strip())
    if match:
        return now - timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidParameterValue(
            f"--since {text!r} is neither a duration (30m, 1h, 7d) nor an ISO 8601 time "
            "(2026-01-31T12:00:00Z)"
        ) from exc
    if moment.tzinfo is None:
        raise InvalidParameterValue(
            f"--since {text!r} has no time zone; add one, for example Z for UTC"
        )
    return moment


def _encode_token(account_id: str, position: int) -> str:
    raw = orjson.dumps({"a": account_id, "s": position})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_token(token: str | None, account_id: str) -> int:
    if token is None:
        return 0
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position = data["s"]
        owner = data["a"]
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidParameterValue(
            "next token is not one this log issued; start again without it"
        ) from exc
    if owner != account_id or not isinstance(position, int) or position < 0:
        raise InvalidParameterValue(
            f"next token was issued for another query than the log of account {account_id}"
        )
    return position
