"""The load's worker threads: the next batches are prepared while the current one is sent.

:func:`ahead` runs an iterator one item ahead in a thread, :func:`ordered_map` spreads a
function over a few threads keeping the order; :class:`db.timing.PhaseTimes` says where each
thread's time goes. :func:`limit_arenas` and :func:`trim_heap` keep glibc's allocator from
holding on to what those threads freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_M_ARENA_MAX = -8  # mallopt() parameter (glibc malloc.h)
# Allocator arenas for the whole process: glibc's default (8 per core) lets each worker thread
# keep its own heaps, whose freed pages the others cannot reuse (1M parcels: 815 -> 746 MB).
MALLOC_ARENAS = 2


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (mallopt and malloc_trim exist), else None."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 (only glibc has it)
    except (OSError, AttributeError, TypeError):
        return None
    return libc


@functools.cache
def limit_arenas() -> bool:
    """Cap glibc's malloc arenas at :data:`MALLOC_ARENAS` for the threads created from now on.

    The same as ``MALLOC_ARENA_MAX=2`` in the environment, but applied by the load itself,
    so ``foncier ingest`` (and any caller of :func:`ingest.pipeline.run_ingest`) gets it
    without setting anything. Returns whether it applied (False off glibc). Once a process.
    """
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS) == 1)


def trim_heap() -> None:
    """Give the pages glibc holds free back to the system (``malloc_trim(0)``, all arenas).

    Called once a batch has been sent and dropped: numpy, GEOS and the COPY bytes of a batch
    are freed in pieces that glibc keeps otherwise, so the resident size climbed batch after
    batch. A few milliseconds; a no-op off glibc.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``items`` in a worker thread, up to ``depth`` items ahead of the consumer.

    The next batch is then read and prepared (GDAL, shapely and Arrow release the GIL in
    their bulk work) while the server ingests the current COPY. An exception in the worker is
    raised here; stopping early stops the worker after its current item.
    """
    done = object()
    slots: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                slots.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    break
            else:
                put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(done, exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="ingest-prepare", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


R = TypeVar("R")


def ordered_map(
    function: Callable[[T], R],
    items: Iterable[T],
    workers: int = 2,
    max_bytes: int | None = None,
    size: Callable[[T], int] | None = None,
) -> Iterator[R]:
    """``map(function, items)`` on ``workers`` threads, results in order, few items in flight.

    Items are drawn from ``items`` in the calling thread (a GDAL stream is read in order) and
    at most ``workers`` results wait at any time. With ``max_bytes`` and ``size``, the items
    in flight (drawn, not yet handed on) also weigh at most ``max_bytes`` together: the next
    one waits until the oldest is handed on, whatever the batch timing (one item is always
    let through, however large). Memory then stays bounded by bytes, not by a count of
    batches whose size varies.

    Example:
        >>> list(ordered_map(lambda x: x * 2, [1, 2, 3], max_bytes=1, size=lambda _: 1))
        [2, 4, 6]
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest-layer") as pool:
        pending: deque[tuple[Future[R], int]] = deque()
        weight = 0
        try:
            for item in items:
                cost = size(item) if size is not None and max_bytes is not None else 0
                pending.append((pool.submit(function, item), cost))
                weight += cost
                while len(pending) >= workers or (
                    max_bytes is not None and weight > max_bytes and len(pending) > 1
                ):
                    future, done = pending.popleft()
                    weight -= done
                    yield future.result()
            while pending:
                yield pending.popleft()[0].result()
        finally:
            for future, _ in pending:
                future.cancel()
