"""Counters of the sandbox runtime: invocations, durations, cold vs warm, kills by reason."""

from __future__ import annotations

import statistics
import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakevault.sandbox._outcome import Outcome

_RECENT = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSnapshot:
    """A consistent copy of the counters at one moment."""

    invocations: int
    by_status: dict[str, int]
    kills_by_reason: dict[str, int]
    cold_starts: int
    warm_starts: int
    prepared_starts: int
    throttled: int
    median_duration_ms: float | None


class Metrics:
    """Thread-safe counters; :meth:`snapshot` reads them all at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_status: Counter[str] = Counter()
        self._kills: Counter[str] = Counter()
        self._durations: deque[float] = deque(maxlen=_RECENT)
        self._cold = 0
        self._warm = 0
        self._throttled = 0
        self._prepared = 0

    def record_outcome(self, outcome: Outcome) -> None:
        with self._lock:
            self._by_status[outcome.status.value] += 1
            if outcome.kill_reason is not None:
                self._kills[outcome.kill_reason.value] += 1
            self._durations.append(outcome.duration_ms)

    def record_zygote_start(self) -> None:
        """A zygote had to be started: the invocation that needed it waited for a cold start."""
        with self._lock:
            self._cold += 1

    def record_warm_start(self) -> None:
        """A sandbox was forked from an already running zygote."""
        with self._lock:
            self._warm += 1

    def record_prepared_start(self) -> None:
        """The sandbox had been forked ahead of its request (namespaces already made)."""
        with self._lock:
            self._prepared += 1

    def record_throttled(self) -> None:
        with self._lock:
            self._throttled += 1

    def snapshot(self) -> MetricsSnapshot:
        with self._lock:
            return MetricsSnapshot(
                invocations=sum(self._by_status.values()),
                by_status=dict(self._by_status),
                kills_by_reason=dict(self._kills),
                cold_starts=self._cold,
                warm_starts=self._warm,
                prepared_starts=self._prepared,
                throttled=self._throttled,
                median_duration_ms=statistics.median(self._durations) if self._durations else None,
            )
