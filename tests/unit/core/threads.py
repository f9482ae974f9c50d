"""Values taken by many threads at once, for tests that nothing handed out ever repeats."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def taken_by_threads(take: Callable[[], T], *, threads: int = 8, each: int = 2000) -> list[T]:
    """Every value ``threads`` threads got from ``take``, ``each`` calls per thread, at once."""
    found: list[list[T]] = [[] for _ in range(threads)]

    def run(into: list[T]) -> None:
        into.extend(take() for _ in range(each))

    started = [threading.Thread(target=run, args=(into,)) for into in found]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return [value for values in found for value in values]
