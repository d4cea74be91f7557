"""Where the simulations of one configuration run: in this process, or on local worker processes.

Simulation ``i`` of a run with seed ``s`` depends only on ``(s, i)`` (`simulation_seeds`), and
every kernel of the engine gives bit-identical results for any thread count (counter-based
random blocks, single-threaded BLAS, fixed chunking of the conv products). So the simulations
can be split over processes in any way: the stacked arrays are byte-identical to a serial run.

``workers`` (`run_simulations`): ``1`` runs in this process; ``n > 1`` splits the simulation
indices into contiguous chunks run on a persistent pool of ``n`` spawned processes (one numba
thread, one BLAS thread and one conv thread each, so ``n`` workers use ``n`` cores). The default,
`default_workers`, is ``$DNN_MOMENTS_WORKERS`` or else every core this process may use.
"""

from __future__ import annotations

import atexit
import dataclasses
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from simulate import conv
from simulate import spec as specs
from simulate.engine import EngineOptions, Propagator
from simulate.errors import ConfigError
from simulate.inputs import InputSource
from simulate.rng import GaussianStream

#: Environment variable with the default number of worker processes.
ENV_WORKERS = "DNN_MOMENTS_WORKERS"

#: Per-simulation records of a range of simulations: (per-block arrays by key, scalars by key,
#: dense-layer path counts, work counts), each list in simulation order.
Chunk = tuple[dict[str, list[np.ndarray]], dict[str, list[float]], dict[str, int], dict[str, int]]


def simulation_seeds(seed: int, index: int) -> tuple[np.random.Generator, GaussianStream,
                                                     GaussianStream]:
    """Generators of simulation ``index``: (inputs+noise Generator, weight stream, cotangent)."""
    data = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index, 0))))
    weights = GaussianStream(np.random.SeedSequence(seed, spawn_key=(index, 1)))
    cot = GaussianStream(np.random.SeedSequence(seed, spawn_key=(index, 2)))
    return data, weights, cot


def check_workers(workers: object) -> int:
    """``workers`` as a positive int (ConfigError naming the parameter otherwise)."""
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"workers={workers!r} is not allowed; it must be an integer >= 1")
    return int(workers)


def default_workers() -> int:
    """``$DNN_MOMENTS_WORKERS`` if set, else the cores this process may use."""
    env = os.environ.get(ENV_WORKERS, "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ConfigError(f"{ENV_WORKERS}={env!r} is not allowed; it must be an integer "
                              ">= 1") from None
        return check_workers(value)
    return conv.default_threads()


def set_default_workers(workers: int | None) -> None:
    """Make ``workers`` the default of this process (and its children): sets
    ``$DNN_MOMENTS_WORKERS``; ``None`` leaves the default as it is."""
    if workers is not None:
        os.environ[ENV_WORKERS] = str(check_workers(workers))


def simulate_range(net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
                   seed: int, options: EngineOptions, start: int, stop: int,
                   on_done: Callable[[int], object] | None = None,
                   prop: Propagator | None = None) -> Chunk:
    """Simulations ``start .. stop - 1`` of a run (see `simulation_seeds`), in this process;
    ``on_done(1)`` after each (a progress bar's ``update``); ``prop``: a Propagator of ``net``
    with ``options`` to reuse."""
    prop = prop or Propagator(net, options)
    per_block: dict[str, list[np.ndarray]] = {}
    scalars: dict[str, list[float]] = {}
    for i in range(start, stop):
        data_rng, weights, cot = simulation_seeds(int(seed), i)
        x = inputs if isinstance(inputs, np.ndarray) else inputs.sample(batch_size, data_rng)
        dx = data_rng.standard_normal(x.shape) if options.tangent else None
        rec, sc = prop.run(x, dx, weights, cot if options.backward else None)
        for k, v in rec.items():
            per_block.setdefault(k, []).append(v)
        for k, v in sc.items():
            scalars.setdefault(k, []).append(v)
        if on_done is not None:
            on_done(1)
    return per_block, scalars, dict(prop.path_counts), dict(prop.work)


def _worker_init() -> None:
    """One thread per worker process for numba's parallel kernels (BLAS is single-threaded
    inside every run, and conv products get ``threads=1`` below)."""
    import numba

    numba.set_num_threads(1)


def _worker_range(net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
                  seed: int, options: EngineOptions, start: int, stop: int) -> Chunk:
    if options.threads is None:
        options = dataclasses.replace(options, threads=1)
    return simulate_range(net, inputs, batch_size, seed, options, start, stop)


_POOL: ProcessPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def _pool(workers: int) -> ProcessPoolExecutor:
    """The persistent pool of ``workers`` spawned processes (recreated if the size changes)."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE != workers:
            if _POOL is not None:
                _POOL.shutdown(wait=True, cancel_futures=True)
            ctx = multiprocessing.get_context("spawn")  # no fork of a threaded process
            _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                        initializer=_worker_init)
            _POOL_SIZE = workers
        return _POOL


def shutdown_pool() -> None:
    """Stop the worker processes (a later parallel run starts new ones)."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=True, cancel_futures=True)
        _POOL, _POOL_SIZE = None, 0


atexit.register(shutdown_pool)


def chunk_bounds(num_sims: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous, nearly equal index ranges covering ``0 .. num_sims - 1``."""
    parts = max(1, min(parts, num_sims))
    edges = [num_sims * p // parts for p in range(parts + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def run_simulations(net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
                    num_sims: int, seed: int, options: EngineOptions, workers: int,
                    on_done: Callable[[int], object] | None = None,
                    prop: Propagator | None = None) -> Chunk:
    """All ``num_sims`` simulations, serially (``workers == 1`` or a single simulation; with
    ``prop`` if given) or on the local pool, as one `Chunk` in simulation order; ``on_done(n)``
    as ``n`` more simulations finish.

    The pool gets ``2 x workers`` chunks (or one per simulation), so a slow chunk does not
    leave a core idle for long; the chunking does not change the results.
    """
    workers = check_workers(workers)
    if workers == 1 or num_sims == 1:
        return simulate_range(net, inputs, batch_size, seed, options, 0, num_sims, on_done,
                              prop)
    pool = _pool(workers)
    bounds = chunk_bounds(num_sims, 2 * workers)
    futures = [pool.submit(_worker_range, net, inputs, batch_size, seed, options, a, b)
               for a, b in bounds]
    per_block: dict[str, list[np.ndarray]] = {}
    scalars: dict[str, list[float]] = {}
    paths: dict[str, int] = {}
    work: dict[str, int] = {}
    try:
        for fut, (a, b) in zip(futures, bounds, strict=True):  # in index order
            pb, sc, pc, wk = fut.result()
            for k, v in pb.items():
                per_block.setdefault(k, []).extend(v)
            for k, v in sc.items():
                scalars.setdefault(k, []).extend(v)
            for d, src in ((paths, pc), (work, wk)):
                for k, v in src.items():
                    d[k] = d.get(k, 0) + v
            if on_done is not None:
                on_done(b - a)
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    return per_block, scalars, paths, work


__all__ = ["ENV_WORKERS", "check_workers", "chunk_bounds", "default_workers", "run_simulations",
           "set_default_workers", "shutdown_pool", "simulate_range", "simulation_seeds"]
