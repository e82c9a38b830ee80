"""The load's worker threads: batches prepared side by side come out in file order."""

from __future__ import annotations

import threading
import time

import pytest

from ingest.worker import ordered_map


def test_ordered_map_keeps_the_order_when_later_items_finish_first() -> None:
    def slow_evens(i: int) -> int:
        time.sleep(0.02 if i % 2 == 0 else 0)
        return i * 10

    assert list(ordered_map(slow_evens, range(9), workers=2)) == [i * 10 for i in range(9)]


def test_ordered_map_runs_on_several_threads_with_few_items_in_flight() -> None:
    drawn: list[int] = []
    threads: set[str] = set()

    def items():  # type: ignore[no-untyped-def]
        for i in range(6):
            drawn.append(i)
            yield i

    def work(i: int) -> int:
        threads.add(threading.current_thread().name)
        time.sleep(0.02)
        return i

    results = ordered_map(work, items(), workers=2)
    assert next(results) == 0
    # The first result is handed out once two items are in flight, not after all are read.
    assert len(drawn) <= 3
    assert list(results) == [1, 2, 3, 4, 5]
    assert len(threads) == 2


def test_ordered_map_raises_the_first_error_in_order() -> None:
    def fail_on_three(i: int) -> int:
        if i == 3:
            raise ValueError("feature 3 is bad")
        return i

    seen = []
    with pytest.raises(ValueError, match="feature 3"):
        for value in ordered_map(fail_on_three, range(6), workers=2):
            seen.append(value)
    assert seen == [0, 1, 2]
