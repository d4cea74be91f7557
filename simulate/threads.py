"""BLAS thread control for the simulator.

The simulator's matrix products are small (``2B x N`` by ``N x N``) and follow numba-parallel
random-number kernels; a multi-threaded BLAS then loses far more to thread wake-ups and
contention than it gains (measured: bn_ff, N = 512, B = 64 runs ~10x slower with 2 OpenBLAS
threads than with 1 on a 2-core machine, see docs/benchmarks.md). Simulations therefore run
BLAS single-threaded and use the cores for random numbers (and, across simulations, workers).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Context in which BLAS libraries loaded by numpy/scipy use one thread."""
    with _controller().limit(limits=1, user_api="blas"):
        yield
