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


def test_ordered_map_bounds_the_items_in_flight_by_bytes() -> None:
    """Large items wait for the oldest to be handed on; one is always let through."""
    sizes = [10, 60, 60, 10, 10, 10, 200, 10]
    drawn: list[int] = []
    handed: list[int] = []
    in_flight: list[list[int]] = []  # before each draw: the sizes drawn, not handed on

    def items():  # type: ignore[no-untyped-def]
        for i in range(len(sizes)):
            in_flight.append([sizes[j] for j in drawn if j not in handed])
            drawn.append(i)
            yield i

    for value in ordered_map(lambda i: i, items(), 4, max_bytes=100, size=lambda i: sizes[i]):
        handed.append(value)
    assert handed == list(range(len(sizes)))
    # Drawn but not handed on: at most 100 bytes, or one item alone (the 200-byte one).
    assert all(sum(w) <= 100 or len(w) == 1 for w in in_flight), in_flight
    assert [200] in in_flight
