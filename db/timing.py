"""Seconds per phase of a database run, shared by ``foncier ingest`` and ``foncier score``.

A load times overlapping phases from several threads (``with times("copy"): ...``); a
scoring run moves from one step to the next (``times.switch("land units")``). Both end as
one ``{phase: seconds}`` mapping, in the order the phases first ran.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class PhaseTimes:
    """Seconds spent per phase, summed over every time the phase ran.

    Phases timed in worker threads (read, prepare) overlap the main thread's (COPY, SQL):
    the figures say where the time goes, not a partition of the wall clock. Phases passed
    to :meth:`switch` do partition it, from the first switch on.

    Example:
        >>> times = PhaseTimes()
        >>> with times("copy"):
        ...     pass
        >>> times.switch("merge"); times.switch(None)
        >>> list(times.seconds)
        ['copy', 'merge']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()  # several threads add to the same phase
        self._current: tuple[str, float] | None = None
        self.started = time.monotonic()

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``phase`` (from any thread)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(phase, time.perf_counter() - started)

    def add(self, phase: str, seconds: float) -> None:
        """Add ``seconds`` to ``phase``."""
        with self._lock:
            self.seconds[phase] += seconds

    def switch(self, phase: str | None) -> None:
        """End the phase running since the last switch, and start ``phase`` (None: none)."""
        now = time.perf_counter()
        if self._current is not None:
            self.add(self._current[0], now - self._current[1])
        self._current = None if phase is None else (phase, now)

    @property
    def elapsed(self) -> float:
        """Seconds since this timer was created."""
        return time.monotonic() - self.started

    def summary(self, digits: int = 2) -> str:
        """The phases and their seconds, in the order they first ran: ``read 1.20 s, ...``."""
        return ", ".join(f"{k} {v:.{digits}f} s" for k, v in self.seconds.items())
