"""Statistical tests of the engine: fast path vs dense path in distribution, determinism.

Family-wise error: every comparison file uses Bonferroni at alpha = 1e-3 over its tests, so a
correct engine fails with probability < 1e-3; the seeds are fixed, so the outcome is
reproducible. A power check shows the same battery rejects a 5% error in the weight variance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from simulate import spec
from simulate.engine import EngineOptions
from simulate.experiments import run_experiment, run_network
from simulate.inputs import make_input_source

ALPHA = 1e-3


def _sample(net: spec.Network, path: str, seed: int, n: int, batch: int = 8) -> dict:
    src = make_input_source("gaussian", input_dim=48)
    res = run_network(net, src, batch_size=batch, num_sims=n, seed=seed, quiet=True,
                      options=EngineOptions(path=path))
    return res.arrays


NETS = {
    "bn_ff": (spec.bn_ff(64, 12, measure_every=4),
              ["log_chi_loc4", "mu4_signal_loc3", "nu1_abs_signal_loc3", "reff_signal_loc4",
               "reff_noise_loc4"]),
    "vanilla": (spec.vanilla(64, 12, measure_every=4),
                ["log_chi_loc3", "nu2_signal_loc3", "mu2_signal_loc2", "reff_signal_loc3"]),
    "bn_res": (spec.bn_res(64, 12, 2, measure_every=4),
               ["log_chi_loc5", "mu2_signal_loc5", "mu4_signal_loc2", "reff_signal_loc3"]),
}


def _ks_pvalues(a: dict, b: dict, keys: list[str]) -> dict[str, float]:
    out = {}
    for k in keys:
        for j in range(a[k].shape[1]):
            out[f"{k}[{j}]"] = stats.ks_2samp(a[k][:, j], b[k][:, j]).pvalue
    return out


@pytest.mark.parametrize("name", sorted(NETS))
def test_fast_path_agrees_with_dense_path_in_distribution(name):
    net, keys = NETS[name]
    n = 250  # per path; KS at this size detects a shift of ~0.3 sd with power ~0.99
    fast = _sample(net, "fast", seed=1, n=n)
    dense = _sample(net, "dense", seed=2, n=n)
    pv = _ks_pvalues(fast, dense, keys)
    worst = min(pv, key=pv.get)
    assert pv[worst] > ALPHA / len(pv), f"{worst}: p={pv[worst]:.2e} (Bonferroni over {len(pv)})"


def test_distribution_test_has_power_against_a_five_percent_variance_error():
    # The same battery (keys, depths, Bonferroni threshold) must reject a network whose weight
    # variance is 2.1 instead of 2 (a 5% error, e.g. a wrong fan-in factor in one path).
    right = spec.vanilla(64, 12, measure_every=4)
    wrong = spec.Network(tuple(
        spec.Dense(weight_var=2.1) if isinstance(x, spec.Dense) else x for x in right.block),
        right.depth, right.stem, right.measure_every, "vanilla")
    a = _sample(right, "fast", seed=1, n=250)
    b = _sample(wrong, "dense", seed=2, n=250)
    pv = _ks_pvalues(a, b, NETS["vanilla"][1])
    assert min(pv.values()) < ALPHA / len(pv)


def test_same_seed_gives_identical_arrays():
    kw = dict(architecture="bn_res", total_depth=6, kernel_size=1, num_channels=32, batch_size=8,
              num_sims=3, dataset="gaussian", num_computations=3, seed=5, quiet=True)
    a = run_experiment(**kw)
    b = run_experiment(**kw)
    assert a.keys() == b.keys()
    for k in a.keys():
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    c = run_experiment(**{**kw, "seed": 6})
    assert not np.array_equal(a["chi_loc5"], c["chi_loc5"])


_SCRIPT = """
import sys, numpy as np
from simulate.experiments import run_experiment
r = run_experiment("bn_ff", 8, 1, 64, 16, 2, dataset="gaussian", num_computations=4, seed=3,
                   quiet=True)
np.savez(sys.argv[1], **{k: r[k] for k in r.keys()})
"""


def test_results_do_not_depend_on_thread_count(tmp_path):
    outs = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads, OMP_NUM_THREADS=threads,
                   OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        f = tmp_path / f"t{threads}.npz"
        subprocess.run([sys.executable, "-c", _SCRIPT, str(f)], check=True, env=env)
        outs.append(np.load(f))
    for k in outs[0].files:
        # random draws never depend on threading; BLAS summation order may: float32 rounding
        np.testing.assert_allclose(outs[0][k], outs[1][k], rtol=1e-4, err_msg=k)


def test_metadata_records_configuration_seed_and_version():
    r = run_experiment("vanilla", 4, 1, 16, 4, 2, dataset="gaussian", num_computations=2,
                       seed=9, quiet=True)
    meta = json.loads(json.dumps(r.metadata))
    assert meta["seed"] == 9
    assert meta["config"]["architecture"] == "vanilla"
    assert meta["version"]
