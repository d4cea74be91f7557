"""Where the simulations of one configuration run: in this process, on local worker processes,
or on a Dask cluster.

Simulation ``i`` of a run with seed ``s`` depends only on ``(s, i)`` (`simulation_seeds`), and
every kernel of the engine gives bit-identical results for any thread count (counter-based
random blocks, single-threaded BLAS, fixed chunking of the conv products). So the simulations
can be split over processes and machines in any way: the stacked arrays are byte-identical to a
serial run.

Executors (`resolve_executor`): `Executor` runs in this process; `ProcessExecutor` splits the
simulation indices into contiguous chunks run on a persistent pool of ``n`` spawned processes
(one numba thread, one BLAS thread and one conv thread each, so ``n`` workers use ``n`` cores);
`DaskExecutor` submits the same chunks to a ``dask.distributed.Client``. The default is a Dask
scheduler named by ``$DNN_MOMENTS_SCHEDULER`` if set, else ``$DNN_MOMENTS_WORKERS`` local
processes, else one per core this process may use (`default_workers`).
"""

from __future__ import annotations

import atexit
import dataclasses
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

from simulate import conv
from simulate import spec as specs
from simulate.checkpoint import Checkpoint
from simulate.engine import ENV_RNG_PREFETCH, EngineOptions, Propagator
from simulate.errors import ConfigError
from simulate.inputs import InputSource
from simulate.rng import GaussianStream

#: Environment variable with the default number of worker processes.
ENV_WORKERS = "DNN_MOMENTS_WORKERS"
#: Environment variable with the address of a Dask scheduler to run on (``tcp://host:8786``).
ENV_SCHEDULER = "DNN_MOMENTS_SCHEDULER"

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


def set_default_scheduler(address: str | None) -> None:
    """Make the Dask scheduler at ``address`` the default executor of this process (and its
    children): sets ``$DNN_MOMENTS_SCHEDULER``; ``None`` leaves the default as it is."""
    if address is not None:
        if not isinstance(address, str) or not address.strip():
            raise ConfigError(f"scheduler={address!r} is not allowed; it must be an address "
                              "such as tcp://host:8786")
        os.environ[ENV_SCHEDULER] = address.strip()


def simulate_range(net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
                   seed: int, options: EngineOptions, start: int, stop: int,
                   on_done: Callable[[int], object] | None = None,
                   prop: Propagator | None = None) -> Chunk:
    """Simulations ``start .. stop - 1`` of a run (see `simulation_seeds`), in this process;
    ``on_done(1)`` after each (a progress bar's ``update``); ``prop``: a Propagator of ``net``
    with ``options`` to reuse."""
    if options.device != "cpu":  # the stacked array engine (numpy or CUDA)
        from simulate.stacked import simulate_range_stacked

        return simulate_range_stacked(net, inputs, batch_size, seed, options, start, stop,
                                      on_done, prop)
    prop = prop or Propagator(net, options)
    records = ChunkRecords(prop)
    for i in range(start, stop):
        x, dx, weights, cot = simulation_inputs(inputs, batch_size, seed, i, options.tangent)
        records.add(*prop.run(x, dx, weights, cot if options.backward else None))
        if on_done is not None:
            on_done(1)
    return records.chunk()


def simulation_inputs(inputs: InputSource | np.ndarray, batch_size: int, seed: int, index: int,
                      tangent: bool) -> tuple[np.ndarray, np.ndarray | None, GaussianStream,
                                              GaussianStream]:
    """Simulation ``index``'s inputs ``x`` (a fresh batch, or the fixed array), its input noise
    ``dx`` (N(0, 1), same shape; None without ``tangent``) and its weight and cotangent streams,
    all from `simulation_seeds` (every engine draws its inputs here)."""
    data_rng, weights, cot = simulation_seeds(int(seed), index)
    x = inputs if isinstance(inputs, np.ndarray) else inputs.sample(batch_size, data_rng)
    dx = data_rng.standard_normal(x.shape) if tangent else None
    return x, dx, weights, cot


class ChunkRecords:
    """Per-simulation records of a range of simulations, in simulation order, and the dense
    path counts and work of ``prop`` since it was made (a Propagator may have run before)."""

    def __init__(self, prop: Propagator) -> None:
        self.prop = prop
        self.paths0, self.work0 = dict(prop.path_counts), dict(prop.work)
        self.per_block: dict[str, list[np.ndarray]] = {}
        self.scalars: dict[str, list[float]] = {}

    def add(self, per_block: dict[str, np.ndarray], scalars: dict[str, float]) -> None:
        """One simulation's ``(per_block, scalars)``."""
        for k, v in per_block.items():
            self.per_block.setdefault(k, []).append(v)
        for k, v in scalars.items():
            self.scalars.setdefault(k, []).append(v)

    def chunk(self) -> Chunk:
        prop = self.prop
        return (self.per_block, self.scalars,
                {k: v - self.paths0.get(k, 0) for k, v in prop.path_counts.items()},
                {k: v - self.work0.get(k, 0) for k, v in prop.work.items()})


def _worker_init() -> None:
    """One core per worker process: numba's parallel kernels on one thread (BLAS is
    single-threaded inside every run, and conv products get ``threads=1`` below), and, in a
    worker process (not the caller's own, e.g. a threaded Dask client), no background prefetch
    of Gaussian draws (`simulate.engine.GaussianPool`): the prefetch thread pays only where a
    core is idle, and with one worker per core it competes with the other workers (measured,
    bn_ff 512 x 200, 2 workers on 2 cores: 8.0 sims/s with it, 9.2 without; docs/benchmarks.md).
    The draws are identical either way."""
    import numba

    numba.set_num_threads(1)
    if multiprocessing.parent_process() is not None:
        os.environ[ENV_RNG_PREFETCH] = "0"


def _worker_range(net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
                  seed: int, options: EngineOptions, start: int, stop: int) -> Chunk:
    """A chunk on a worker (pool process or Dask worker thread): one thread for everything."""
    _worker_init()
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


def _merge(chunks: list[Chunk]) -> Chunk:
    """Chunks in simulation order -> one Chunk (lists concatenated, counts summed)."""
    per_block: dict[str, list[np.ndarray]] = {}
    scalars: dict[str, list[float]] = {}
    paths: dict[str, int] = {}
    work: dict[str, int] = {}
    for pb, sc, pc, wk in chunks:
        for k, v in pb.items():
            per_block.setdefault(k, []).extend(v)
        for k, v in sc.items():
            scalars.setdefault(k, []).extend(v)
        for d, src in ((paths, pc), (work, wk)):
            for k, v in src.items():
                d[k] = d.get(k, 0) + v
    return per_block, scalars, paths, work


class Executor:
    """Where chunks of simulations run. `map` yields ``(chunk index, Chunk)`` as chunks finish,
    in any order; the caller puts them back in simulation order."""

    #: Name recorded in the results' ``metadata["run"]["executor"]``.
    name = "serial"
    #: Parallel slots (chunks are sized so that every slot stays busy).
    slots = 1

    def map(self, net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
            seed: int, options: EngineOptions, bounds: list[tuple[int, int]],
            todo: list[int], prop: Propagator | None = None,
            ) -> Iterator[tuple[int, Chunk]]:
        for i in todo:
            a, b = bounds[i]
            yield i, simulate_range(net, inputs, batch_size, seed, options, a, b, prop=prop)


class ProcessExecutor(Executor):
    """The persistent pool of ``workers`` local spawned processes (`_pool`)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.slots = check_workers(workers)

    def map(self, net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
            seed: int, options: EngineOptions, bounds: list[tuple[int, int]],
            todo: list[int], prop: Propagator | None = None,
            ) -> Iterator[tuple[int, Chunk]]:
        pool = _pool(self.slots)
        futures = {pool.submit(_worker_range, net, inputs, batch_size, seed, options,
                               *bounds[i]): i for i in todo}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()


class DaskExecutor(Executor):
    """Chunks submitted to a ``dask.distributed.Client`` (each worker thread runs one chunk with
    one numba/BLAS/conv thread)."""

    name = "dask"

    def __init__(self, client: Any) -> None:
        self.client = client
        try:
            nthreads = client.nthreads()
        except Exception as exc:  # noqa: BLE001 - a dead scheduler is a configuration error
            raise ConfigError(f"scheduler={_address(client)!r} does not answer ({exc})") from None
        self.slots = max(1, sum(nthreads.values()))

    def map(self, net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
            seed: int, options: EngineOptions, bounds: list[tuple[int, int]],
            todo: list[int], prop: Propagator | None = None,
            ) -> Iterator[tuple[int, Chunk]]:
        from distributed import as_completed as dask_as_completed

        futures = {self.client.submit(_worker_range, net, inputs, batch_size, seed, options,
                                      *bounds[i], pure=False): i for i in todo}
        try:
            for fut in dask_as_completed(list(futures)):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _address(client: Any) -> str:
    return str(getattr(getattr(client, "scheduler", None), "address", client))


_CLIENTS: dict[str, Any] = {}


def _client_for(address: str) -> Any:
    """A ``dask.distributed.Client`` connected to ``address`` (one per address and process,
    reconnected if it was closed; `close_clients` closes them)."""
    client = _CLIENTS.get(address)
    if client is not None and client.status == "running":
        return client
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(f"scheduler={address!r} needs dask.distributed, which is not "
                          "installed: pip install 'dnn-moments[dask]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"scheduler={address!r}: cannot connect ({exc})") from None
    _CLIENTS[address] = client
    return client


def close_clients() -> None:
    """Close the Dask clients opened from scheduler addresses."""
    while _CLIENTS:
        _, client = _CLIENTS.popitem()
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a client of a dead scheduler
            pass


atexit.register(close_clients)


#: Dask settings for simulation workers. Dask's defaults cost the engine ~20% on its workers
#: (docs/benchmarks.md): the nanny sets MALLOC_TRIM_THRESHOLD_=65536, so glibc returns freed
#: arrays to the system and faults them in again every layer, and a 10 ms sampling profiler
#: walks the worker's stack; and one core per worker leaves the Gaussian prefetch thread no idle
#: core (`_worker_init`). As environment variables for ``dask worker``:
#: ``MALLOC_TRIM_THRESHOLD_=1073741824 DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False
#: DNN_MOMENTS_RNG_PREFETCH=0`` with ``--no-nanny``.
DASK_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 2**30,
                      f"distributed.nanny.pre-spawn-environ.{ENV_RNG_PREFETCH}": "0",
                      "distributed.worker.profile.enabled": False}


def local_cluster(n_workers: int) -> Any:
    """A ``dask.distributed.LocalCluster`` of ``n_workers`` single-threaded worker processes
    with `DASK_WORKER_CONFIG` (use as a context manager; pass ``Client(cluster)`` as
    ``client``)."""
    try:
        import dask
        from distributed import LocalCluster
    except ImportError:
        raise ConfigError("a Dask cluster needs dask.distributed, which is not installed: pip "
                          "install 'dnn-moments[dask]'") from None
    with dask.config.set(DASK_WORKER_CONFIG):
        return LocalCluster(n_workers=check_workers(n_workers), threads_per_worker=1,
                            processes=True, dashboard_address=None)


def resolve_executor(workers: int | None = None, scheduler: str | None = None,
                     client: Any = None, device: str = "cpu") -> Executor:
    """The executor a run uses: a Dask ``client`` if given, else a scheduler address
    (``scheduler``, else ``$DNN_MOMENTS_SCHEDULER``), else ``workers`` local processes
    (default `default_workers`, or one process for a ``device`` other than ``"cpu"``: the
    stacked engine already fills the device), serial for one."""
    if client is not None:
        return DaskExecutor(client)
    address = scheduler if scheduler is not None else os.environ.get(ENV_SCHEDULER, "").strip()
    if address:
        return DaskExecutor(_client_for(str(address)))
    if workers is None and device != "cpu":
        workers = 1
    workers = default_workers() if workers is None else check_workers(workers)
    return Executor() if workers == 1 else ProcessExecutor(workers)


def run_simulations(net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
                    num_sims: int, seed: int, options: EngineOptions,
                    executor: Executor | int,
                    on_done: Callable[[int], object] | None = None,
                    prop: Propagator | None = None,
                    checkpoint: Checkpoint | None = None) -> Chunk:
    """All ``num_sims`` simulations on ``executor`` (an `Executor`, or a number of local
    workers), as one `Chunk` in simulation order; ``on_done(n)`` as ``n`` more finish.

    Without a checkpoint, a serial run is one chunk and a parallel one gets ``2 x slots``
    chunks (or one per simulation), so a slow chunk does not leave a slot idle for long. With
    ``checkpoint`` the chunks are the checkpoint's: finished ones are read back (and counted by
    ``on_done``), the others computed and written as they finish. The chunking never changes
    the results.
    """
    if not isinstance(executor, Executor):
        workers = check_workers(executor)
        executor = Executor() if workers == 1 else ProcessExecutor(workers)
    if checkpoint is not None:
        bounds, done = checkpoint.bounds, dict(checkpoint.done)
    elif executor.slots == 1 or num_sims == 1:
        bounds, done = [(0, num_sims)], {}
    else:
        bounds, done = chunk_bounds(num_sims, 2 * executor.slots), {}
    if done and on_done is not None:
        on_done(sum(bounds[i][1] - bounds[i][0] for i in done))
    todo = [i for i in range(len(bounds)) if i not in done]
    if len(todo) == 1 and isinstance(executor, ProcessExecutor):
        executor = Executor()  # one chunk: no process to start
    for i, chunk in executor.map(net, inputs, batch_size, seed, options, bounds, todo, prop):
        done[i] = chunk
        if checkpoint is not None:
            checkpoint.write(i, chunk)
        if on_done is not None:
            on_done(bounds[i][1] - bounds[i][0])
    return _merge([done[i] for i in range(len(bounds))])


__all__ = ["DASK_WORKER_CONFIG", "ENV_SCHEDULER", "ENV_WORKERS", "ChunkRecords", "DaskExecutor",
           "Executor",
           "ProcessExecutor", "check_workers", "chunk_bounds", "close_clients",
           "default_workers", "local_cluster", "resolve_executor", "run_simulations",
           "set_default_scheduler", "set_default_workers", "shutdown_pool", "simulate_range",
           "simulation_inputs", "simulation_seeds"]
