"""simulate.executors: simulations split over worker processes give byte-identical arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulate import EngineOptions, spec
from simulate.errors import ConfigError
from simulate.executors import (
    ENV_SCHEDULER,
    ENV_WORKERS,
    check_workers,
    chunk_bounds,
    close_clients,
    default_workers,
    local_cluster,
    resolve_executor,
)
from simulate.experiments import run_network
from simulate.inputs import make_input_source


def _assert_same_arrays(a, b) -> None:
    assert sorted(a.arrays) == sorted(b.arrays)
    for k in a.arrays:
        assert a.arrays[k].dtype == b.arrays[k].dtype
        assert a.arrays[k].tobytes() == b.arrays[k].tobytes(), k


CASES = {
    "bn_ff FC with spectra": (spec.bn_ff(24, 6), make_input_source("gaussian", input_dim=40), 8,
                              EngineOptions(families=("moments", "spectra"))),
    "vanilla FC backward": (spec.vanilla(16, 5), make_input_source("gaussian", input_dim=20), 6,
                            EngineOptions(backward=True, path="dense")),
    "bn_ff conv natural, spectra": (spec.bn_ff(8, 4, kernel_size=3, boundary="zero_padding"),
                                    make_input_source("natural", kernel_size=3, image_size=16),
                                    3, EngineOptions(families=("moments", "spectra"))),
    "bn_res conv fixed images": (spec.bn_res(6, 3, kernel_size=3),
                                 np.random.default_rng(0).standard_normal((4, 8, 8, 3)), None,
                                 EngineOptions()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_workers_give_byte_identical_arrays(case: str) -> None:
    net, inputs, batch, opts = CASES[case]
    kw = {"batch_size": batch, "num_sims": 7, "seed": 5, "options": opts, "quiet": True}
    serial = run_network(net, inputs, workers=1, **kw)
    pooled = run_network(net, inputs, workers=2, **kw)
    _assert_same_arrays(serial, pooled)
    assert pooled.metadata["run"]["workers"] == 2 and serial.metadata["run"]["workers"] == 1
    assert pooled.metadata["run"]["executor"] == "processes"
    assert pooled.metadata["flops"] == serial.metadata["flops"]
    assert pooled.metadata["dense_layers_by_path"] == serial.metadata["dense_layers_by_path"]


def test_three_workers_and_more_workers_than_simulations() -> None:
    net = spec.bn_ff(16, 4)
    src = make_input_source("gaussian", input_dim=12)
    kw = {"batch_size": 5, "seed": 2, "quiet": True}
    _assert_same_arrays(run_network(net, src, num_sims=5, workers=1, **kw),
                        run_network(net, src, num_sims=5, workers=3, **kw))
    _assert_same_arrays(run_network(net, src, num_sims=2, workers=1, **kw),
                        run_network(net, src, num_sims=2, workers=2, **kw))


@given(n=st.integers(1, 500), parts=st.integers(1, 40))
def test_chunk_bounds_cover_the_range_in_order(n: int, parts: int) -> None:
    b = chunk_bounds(n, parts)
    assert b[0][0] == 0 and b[-1][1] == n
    assert all(lo < hi for lo, hi in b)
    assert all(b[i][1] == b[i + 1][0] for i in range(len(b) - 1))
    sizes = [hi - lo for lo, hi in b]
    assert len(b) == min(n, parts) and max(sizes) - min(sizes) <= 1


def test_bad_workers_name_the_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="workers="):
            check_workers(bad)
    with pytest.raises(ConfigError, match="workers=0"):
        run_network(spec.vanilla(4, 1), make_input_source("gaussian", input_dim=4),
                    batch_size=2, workers=0, quiet=True)
    monkeypatch.setenv(ENV_WORKERS, "two")
    with pytest.raises(ConfigError, match=f"{ENV_WORKERS}='two'"):
        default_workers()
    monkeypatch.setenv(ENV_WORKERS, "3")
    assert default_workers() == 3
    monkeypatch.delenv(ENV_WORKERS)
    assert default_workers() >= 1


def test_a_worker_error_reaches_the_caller() -> None:
    # a NaN input makes the engine fail inside the worker; the caller gets its message
    x = np.full((3, 6), np.nan)
    with pytest.raises(Exception, match="(?i)non-finite|nan"):
        run_network(spec.vanilla(4, 2), x, num_sims=4, workers=2, quiet=True)


@pytest.fixture(scope="module")
def dask_client():
    """A two-worker Dask LocalCluster (separate processes, one thread each), started here."""
    distributed = pytest.importorskip("distributed")
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.mark.parametrize("case", ["bn_ff FC with spectra", "bn_ff conv natural, spectra"])
def test_dask_cluster_gives_byte_identical_arrays(case: str, dask_client,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    net, inputs, batch, opts = CASES[case]
    kw = {"batch_size": batch, "num_sims": 7, "seed": 5, "options": opts, "quiet": True}
    serial = run_network(net, inputs, workers=1, **kw)
    on_dask = run_network(net, inputs, client=dask_client, **kw)
    _assert_same_arrays(serial, on_dask)
    assert on_dask.metadata["run"]["executor"] == "dask"
    assert on_dask.metadata["run"]["workers"] == 2
    assert on_dask.metadata["flops"] == serial.metadata["flops"]
    # the same cluster named by its address, as --scheduler / $DNN_MOMENTS_SCHEDULER do
    monkeypatch.setenv(ENV_SCHEDULER, dask_client.scheduler.address)
    try:
        _assert_same_arrays(serial, run_network(net, inputs, **kw))
    finally:
        close_clients()  # before the cluster goes


def test_unreachable_scheduler_is_one_line_config_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(ConfigError, match=r"scheduler='tcp://127.0.0.1:9': cannot connect"):
        resolve_executor(scheduler="tcp://127.0.0.1:9")


def test_pool_workers_own_one_core_and_the_caller_is_untouched() -> None:
    # a pool worker runs numba on one thread and without the Gaussian prefetch thread (which
    # would compete with the other workers); the calling process keeps its own settings
    import os

    from simulate import executors
    from simulate.engine import ENV_RNG_PREFETCH

    before = os.environ.get(ENV_RNG_PREFETCH)
    pool = executors._pool(2)
    try:
        assert pool.submit(os.getenv, ENV_RNG_PREFETCH).result() == "0"
        import numba

        assert pool.submit(numba.get_num_threads).result() == 1
    finally:
        executors.shutdown_pool()
    assert os.environ.get(ENV_RNG_PREFETCH) == before
