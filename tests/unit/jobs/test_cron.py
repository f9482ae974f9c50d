"""Cron parsing and the latest firing time (lakevault/jobs/_cron.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakevault.core.errors import InvalidParameterValue
from lakevault.jobs import CronSchedule

# A Sunday.
MOMENT = datetime(2026, 11, 29, 8, 17, 33, 500, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("* * * * *", datetime(2026, 11, 29, 8, 17, tzinfo=UTC)),
        ("*/5 * * * *", datetime(2026, 11, 29, 8, 15, tzinfo=UTC)),
        ("30 8 * * *", datetime(2026, 11, 28, 8, 30, tzinfo=UTC)),
        ("0 0 * * 0", datetime(2026, 11, 29, 0, 0, tzinfo=UTC)),
        ("0 0 * * 7", datetime(2026, 11, 29, 0, 0, tzinfo=UTC)),
        ("0 9-17/4 * * 1-5", datetime(2026, 11, 27, 17, 0, tzinfo=UTC)),
        ("0 12 1 * 1", datetime(2026, 11, 23, 12, 0, tzinfo=UTC)),  # day 1 OR a Monday
        ("0 0 1 1 *", datetime(2026, 1, 1, tzinfo=UTC)),
        ("* * * * * *", datetime(2026, 11, 29, 8, 17, 33, tzinfo=UTC)),
        ("* * * * * */10", datetime(2026, 11, 29, 8, 17, 30, tzinfo=UTC)),
        ("5,10 * * * *", datetime(2026, 11, 29, 8, 10, tzinfo=UTC)),
    ],
)
def test_latest_firing_at_or_before(expression: str, expected: datetime) -> None:
    assert CronSchedule.parse(expression).latest_at_or_before(MOMENT) == expected


def test_a_schedule_that_never_fires_has_no_latest_time() -> None:
    assert CronSchedule.parse("0 0 30 2 *").latest_at_or_before(MOMENT) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("* * *", "has 3 fields"),
        ("61 * * * *", "the minute field '61' is outside 0-59"),
        ("* 24 * * *", "the hour field '24' is outside 0-23"),
        ("* * 0 * *", "the day-of-month field '0' is outside 1-31"),
        ("*/0 * * * *", "has a step that is not a positive number"),
        ("MON * * * *", "the minute field 'MON' is not a number or range"),
        ("5-1 * * * *", "its range runs backwards"),
    ],
)
def test_malformed_expressions_name_the_field(expression: str, reason: str) -> None:
    with pytest.raises(InvalidParameterValue, match=reason):
        CronSchedule.parse(expression)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    )
)
def test_every_five_minutes_fires_within_the_last_five_minutes(moment: datetime) -> None:
    fired = CronSchedule.parse("*/5 * * * *").latest_at_or_before(moment)
    assert fired is not None
    assert fired.minute % 5 == 0
    assert fired.second == 0
    assert timedelta(0) <= moment - fired < timedelta(minutes=5)
