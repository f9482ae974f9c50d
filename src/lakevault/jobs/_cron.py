"""Cron expressions for periodic tasks: parse, and find the latest time a schedule fired.

Syntax (Vixie cron): five fields ``minute hour day-of-month month day-of-week``, each ``*``, a
number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list of these; day-of-week
0-7 (0 and 7 are Sunday). An optional sixth field gives seconds (as croniter and Procrastinate
read it), for schedules finer than a minute. When both day fields are restricted, a day matches
if either does, as in Vixie cron. Names (``MON``, ``JAN``) and ``@daily`` are not supported:
write the numbers.

Pure: times come in as arguments, in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lakevault.core.errors import InvalidParameterValue

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
    ("second", 0, 59),
)

#: How far back :meth:`CronSchedule.latest_at_or_before` looks (February 29th fits in it).
_SEARCH_DAYS = 366 * 8


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed cron expression. Build it with :meth:`parse`."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    seconds: frozenset[int]
    is_day_of_month_restricted: bool
    is_day_of_week_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse ``expression``; raise ``InvalidParameterValue`` naming the bad field."""
        parts = expression.split()
        if len(parts) not in (5, 6):
            raise InvalidParameterValue(
                f"cron expression {expression!r} has {len(parts)} fields; write 5 "
                "(minute hour day-of-month month day-of-week), for example '*/5 * * * *', or "
                "6 with seconds last"
            )
        if len(parts) == 5:
            parts.append("0")
        values = [
            _parse_field(text, name, low, high, expression)
            for text, (name, low, high) in zip(parts, _FIELDS, strict=True)
        ]
        days_of_week = frozenset(day % 7 for day in values[4])
        return cls(
            expression=expression,
            minutes=values[0],
            hours=values[1],
            days_of_month=values[2],
            months=values[3],
            days_of_week=days_of_week,
            seconds=values[5],
            is_day_of_month_restricted=parts[2] != "*",
            is_day_of_week_restricted=parts[4] != "*",
        )

    def _is_day(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        by_month_day = day.day in self.days_of_month
        by_week_day = (day.isoweekday() % 7) in self.days_of_week
        if self.is_day_of_month_restricted and self.is_day_of_week_restricted:
            return by_month_day or by_week_day
        return by_month_day and by_week_day

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest time at or before ``moment`` (to the second) when the schedule fired.

        ``None`` when it never fired in the last eight years (``0 0 30 2 *``).
        """
        moment = moment.replace(microsecond=0)
        day = moment.replace(hour=0, minute=0, second=0)
        for offset in range(_SEARCH_DAYS):
            candidate_day = day - timedelta(days=offset)
            if not self._is_day(candidate_day):
                continue
            is_today = offset == 0
            for hour in sorted(self.hours, reverse=True):
                if is_today and hour > moment.hour:
                    continue
                same_hour = is_today and hour == moment.hour
                for minute in sorted(self.minutes, reverse=True):
                    if same_hour and minute > moment.minute:
                        continue
                    same_minute = same_hour and minute == moment.minute
                    for second in sorted(self.seconds, reverse=True):
                        if same_minute and second > moment.second:
                            continue
                        return candidate_day.replace(hour=hour, minute=minute, second=second)
        return None


def _parse_field(text: str, name: str, low: int, high: int, expression: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(item, name, low, high, expression))
    return frozenset(values)


def _parse_item(item: str, name: str, low: int, high: int, expression: str) -> range:
    def refuse(reason: str) -> InvalidParameterValue:
        return InvalidParameterValue(
            f"cron expression {expression!r}: the {name} field {item!r} {reason}; allowed are "
            f"*, a number {low}-{high}, a range a-b, a step */n or a-b/n, and comma lists"
        )

    span, _, step_text = item.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) == 0:
            raise refuse("has a step that is not a positive number")
        step = int(step_text)
    if span == "*":
        first, last = low, high
    else:
        start_text, dash, end_text = span.partition("-")
        if not start_text.isdigit() or (dash and not end_text.isdigit()):
            raise refuse("is not a number or range")
        first = int(start_text)
        last = int(end_text) if dash else (high if step_text else first)
        if not low <= first <= last <= high:
            raise refuse(f"is outside {low}-{high} or its range runs backwards")
    return range(first, last + 1, step)
