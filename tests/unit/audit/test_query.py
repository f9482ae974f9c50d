"""Looking up events: every filter, pagination with a token bound to the account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lakevault.audit import (
    DecisionFilter,
    DecisionRecord,
    EventQuery,
    append_in,
    parse_since,
    query_events,
)
from lakevault.core.errors import InvalidParameterValue
from lakevault.db import Database
from tests.unit.audit.helpers import ACCOUNT, OTHER_ACCOUNT, START, make_event

DENIED = DecisionRecord(effect="ImplicitlyDenied", statements=())


@pytest.fixture
def logged(database: Database) -> Database:
    with database.session() as session:
        for number in range(20):
            overrides: dict[str, object] = {}
            if number % 4 == 0:
                overrides = {
                    "decision": DENIED,
                    "error_code": "AccessDenied",
                    "error_message": "no",
                }
            if number % 5 == 0:
                overrides["event_name"] = "PutObject"
            if number == 7:
                overrides["user_identity"] = make_event(0, account=OTHER_ACCOUNT).user_identity
            append_in(session, make_event(number, **overrides))
        append_in(session, make_event(99, account=OTHER_ACCOUNT))
    return database


def sequences(database: Database, **filters: object) -> list[int]:
    page = query_events(database, EventQuery(account_id=ACCOUNT, **filters))  # type: ignore[arg-type]
    return [event.sequence for event in page.events]


def test_filters(logged: Database) -> None:
    assert sequences(logged, decision=DecisionFilter.DENIED) == [0, 4, 8, 12, 16]
    assert len(sequences(logged, decision=DecisionFilter.ALLOWED)) == 15
    assert sequences(logged, action="s3:PutObject") == [0, 5, 10, 15]
    assert sequences(logged, action="kms:PutObject") == []
    assert sequences(logged, principal=f"arn:aws:iam::{OTHER_ACCOUNT}:user/alice") == [7]
    assert sequences(logged, resource="arn:aws:s3:::bucket/key-13") == [13]
    assert sequences(logged, resource="arn:aws:s3:::bucket/key-1*") == [1, *range(10, 20)]
    assert sequences(logged, since=START + timedelta(seconds=17)) == [17, 18, 19]
    assert sequences(logged, until=START + timedelta(seconds=2)) == [0, 1]
    assert len(sequences(logged, event_source="s3.amazonaws.com")) == 20
    assert sequences(logged, event_source="kms.amazonaws.com") == []


def test_pages_follow_the_token_to_the_end(logged: Database) -> None:
    seen: list[int] = []
    token = None
    for _ in range(10):
        page = query_events(logged, EventQuery(account_id=ACCOUNT, limit=6, next_token=token))
        seen += [event.sequence for event in page.events]
        token = page.next_token
        if token is None:
            break
    assert seen == list(range(20))


def test_a_small_scan_limit_returns_a_token_even_without_matches(logged: Database) -> None:
    page = query_events(logged, EventQuery(account_id=ACCOUNT, principal="nobody", scan_limit=5))
    assert page.events == () and page.next_token is not None


def test_a_token_of_another_account_is_refused(logged: Database) -> None:
    page = query_events(logged, EventQuery(account_id=ACCOUNT, limit=1))
    with pytest.raises(InvalidParameterValue, match="another query"):
        query_events(logged, EventQuery(account_id=OTHER_ACCOUNT, next_token=page.next_token))
    with pytest.raises(InvalidParameterValue, match="not one this log issued"):
        query_events(logged, EventQuery(account_id=ACCOUNT, next_token="garbage!"))


def test_since_accepts_durations_and_iso_times() -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert parse_since("1h", now) == now - timedelta(hours=1)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-05-01T00:00:00Z", now) == datetime(2026, 5, 1, tzinfo=UTC)
    with pytest.raises(InvalidParameterValue, match="no time zone"):
        parse_since("2026-05-01T00:00:00", now)
    with pytest.raises(InvalidParameterValue, match="neither a duration"):
        parse_since("yesterday", now)


def test_bad_queries_are_refused() -> None:
    with pytest.raises(InvalidParameterValue, match="12 digits"):
        EventQuery(account_id="1")
    with pytest.raises(InvalidParameterValue, match="limit must be 1 to 1000"):
        EventQuery(account_id=ACCOUNT, limit=0)
    with pytest.raises(InvalidParameterValue, match="s3:GetObject"):
        EventQuery(account_id=ACCOUNT, action="GetObject")
