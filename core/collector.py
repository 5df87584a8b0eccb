"""Python's cyclic garbage collector paused while a burst of objects is made that holds no cycle.

Reading a document makes tens of thousands of small containers (lines, rows, element proxies) that
reference counting frees; the cyclic collector still runs every 700 of them, walking the young objects
and, now and then, the whole heap: a few percent of a TOTEM conversion spent finding no cycle. Within
``collector_paused()`` it does not run; it runs again as it was once the last pause ends, whether the
block succeeded or raised. Nested and concurrent pauses end together; a collector already disabled
stays disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_resume = False  # whether the collector was enabled when the first running pause began


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection within the block (only for work that makes no reference cycle)."""
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
