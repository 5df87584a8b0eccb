"""Per-item work of a large input spread over the machine's cores, the results in the input's order.

``WorkerPool.map`` runs a picklable function on each item in worker processes and yields the
results in the items' order, whatever order the workers finish in: what the caller writes does
not depend on the number of workers. At most ``ahead`` items are submitted before their results
are taken, so memory follows the pool, not the input. The workers are forked from a forkserver
(a clean process that has imported ``preload``), never from the caller: a parent's threads
(pyarrow's, an Airflow task's) are not copied into them. One worker, a daemonic caller (which
may not have children), or an input of a single item runs in the calling process. The function
gets nothing but its item: a worker's environment and modules are the forkserver's (started at the
first pool of the process), not the caller's at the time of the map; and, as with any forkserver
or spawn pool, a script started as ``python script.py`` is run again in each worker unless its top
level is under ``if __name__ == "__main__"`` (``python -m digor.cli``, pytest and Airflow are).

A worker that dies (killed, out of memory) fails the map with ``WorkerLost``: the caller has
received the results before the lost item, in order, and nothing past it, so no item is
written twice or skipped; callers write their outputs only once the map has ended. A caller that
stops taking results (its input broke half-way) gets back once the items being worked on have
ended; the others are never started.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager

from core.failures import ExpectedFailure

_END = object()


class WorkerLost(ExpectedFailure):
    """A worker process died before giving its result: the run stops, nothing half-written."""


def cpu_count() -> int:
    """The cores this process may run on (a container's or a task's affinity, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform
        return os.cpu_count() or 1


class WorkerPool:
    """A process pool started at the first input of more than one item, shared by the maps made
    inside its ``with`` block (so that a night of several large files starts its workers once)."""

    def __init__(self, workers: int, *, hint: str, preload: tuple[str, ...] = (), ahead: int | None = None):
        self.workers = max(1, workers) if not multiprocessing.current_process().daemon else 1
        self.hint, self.preload = hint, list(preload)
        self.ahead = ahead or 2 * self.workers
        self._executor = None

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor  # here: importing the configuration stays light

        if self._executor is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(self.preload)
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    @contextmanager
    def _lost_as_one_line(self, what: str) -> Iterator[None]:
        """A broken pool (a worker died) as ``WorkerLost``, whether it shows when a result is taken or
        when the next item is handed out."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            yield
        except BrokenProcessPool:
            self.close()
            raise WorkerLost(f"a worker process died while {what} (killed, or out of memory?)", self.hint) from None

    def map(self, function: Callable, items: Iterable, what: str) -> Iterator:
        """``function(item)`` for each item, in the items' order; ``what`` it is doing names it in ``WorkerLost``."""
        items = iter(items)
        if self.workers == 1:
            yield from map(function, items)
            return
        first = next(items, _END)
        if first is _END:
            return
        second = next(items, _END)
        if second is _END and self._executor is None:
            yield function(first)
            return
        executor = self._start()
        pending: deque[Future] = deque()
        try:
            for item in _chain(first, second, items):
                with self._lost_as_one_line(what):
                    pending.append(executor.submit(function, item))
                if len(pending) >= self.ahead:
                    with self._lost_as_one_line(what):
                        result = pending.popleft().result()
                    yield result
            while pending:
                with self._lost_as_one_line(what):
                    result = pending.popleft().result()
                yield result
        finally:  # the caller stopped early (an unreadable file): what was not started is not, the rest ends
            for future in pending:
                future.cancel()
            wait(pending)


def _chain(first, second, rest: Iterator) -> Iterator:
    yield first
    if second is not _END:
        yield second
    yield from rest
