"""The worker pool's promise: results in the input's order, and a worker's death one ``WorkerLost``."""

from __future__ import annotations

import os
import time

import pytest

from core.parallel import WorkerLost, WorkerPool


def _square(item: int) -> int:
    return item * item


def _dies_on_zero(item: int) -> int:
    if item == 0:
        os._exit(1)
    return item


def test_results_come_in_the_input_s_order():
    with WorkerPool(2, hint="h") as pool:
        assert list(pool.map(_square, range(50), "squaring")) == [n * n for n in range(50)]


def _items_read_after_the_pool_broke(pool: WorkerPool):
    """The first item kills its worker; the third is read only once the pool knows it is broken, as a
    slow input (a large file being read) would while a worker dies."""
    yield 0
    yield 1
    deadline = time.monotonic() + 60
    while not getattr(pool._executor, "_broken", False) and time.monotonic() < deadline:
        time.sleep(0.02)
    yield 2


@pytest.mark.parametrize("ahead", [1, 10])
def test_a_worker_that_dies_while_items_are_still_handed_out_is_one_worker_lost(ahead):
    with WorkerPool(2, hint="run it again", ahead=ahead) as pool:
        with pytest.raises(WorkerLost, match="a worker process died while squaring") as lost:
            list(pool.map(_dies_on_zero, _items_read_after_the_pool_broke(pool), "squaring"))
    assert lost.value.hint == "run it again"
