"""The backend seam and the stacked engine (`simulate.backend`, `simulate.stacked`).

Every test runs on the numpy backend (CI) and, marked ``gpu``, on CUDA where CuPy sees a GPU
(skipped cleanly otherwise). Three layers of checks:

* oracles: each array hook of the stacked engine against the CPU engine's kernel (or a direct
  float64 loop) on the same arrays, simulation by simulation;
* invariants: arrays independent of the stack size, identical for the same seed;
* distribution: the stacked engine against the CPU engine (two-sample KS, Bonferroni at
  alpha = 1e-3 per test, as in test_engine_statistics), with a power check.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from simulate import conv, engine, kernels, spec
from simulate.backend import NUMPY, cuda_available, get_backend
from simulate.engine import ENV_DEVICE, EngineOptions, _State
from simulate.errors import ConfigError, SimulationError
from simulate.experiments import run_network
from simulate.inputs import make_input_source
from simulate.stacked import StackedPropagator, simulate_range_stacked

ALPHA = 1e-3
GPU = pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not cuda_available(), reason="no CUDA device (or CuPy) on this machine")])
DEVICES = ["numpy", GPU]


class _GivenDraws:
    """A stand-in for the stacked draws: returns the arrays it was given, in order."""

    def __init__(self, backend, arrays):
        self.backend, self.arrays = backend, list(arrays)

    def take(self, shape):
        a = self.arrays.pop(0)
        assert a.shape[1:] == tuple(shape)
        return self.backend.asarray(a.copy())


def _prop(device: str, net: spec.Network | None = None, **opts) -> StackedPropagator:
    net = net or spec.bn_ff(8, 2)
    return StackedPropagator(net, EngineOptions(device=device, **opts))


def _stack_state(prop, Z: np.ndarray, B: int, tangent: bool = True, spatial=None, maps=0):
    be = prop.backend
    return _State(be.asarray(Z.copy()), B, tangent, log_scale=np.zeros(Z.shape[0]), spatial=spatial,
                  maps=maps)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------
# Oracles: hook by hook
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_moments_match_the_cpu_kernel(device):
    prop = _prop(device, dtype="float64")
    Z = _rng(1).standard_normal((3, 10, 7)) + 0.3
    got = prop._state_moments(_stack_state(prop, Z, 5))
    for s in range(3):
        np.testing.assert_allclose(got[:, s], kernels.state_moments(Z[s], 5, True), rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_batchnorm_matches_the_cpu_kernel(device):
    prop = _prop(device)
    Z = (_rng(2).standard_normal((4, 12, 9)) * 3 + 1).astype(np.float32)
    st = _stack_state(prop, Z, 6)
    prop._batchnorm(st, spec.BatchNorm(epsilon=1e-3))
    got = prop.backend.to_host(st.Z)
    for s in range(4):
        ref = Z[s].copy()
        kernels.batchnorm_inplace(ref, 6, 1e-3, True)
        np.testing.assert_allclose(got[s], ref, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["relu", "tanh", "abs", "identity"])
def test_activations_match_the_cpu_kernel(device, name):
    prop = _prop(device)
    Z = _rng(3).standard_normal((3, 8, 5)).astype(np.float32)
    Z[0, 0, 0] = 0.0  # phi'(0) conventions: relu 0, abs 0
    st = _stack_state(prop, Z, 4)
    prop._activation(st, spec.Activation(name), None)
    got = prop.backend.to_host(st.Z)
    act = engine.get_activation(name)
    for s in range(3):
        ref = Z[s].copy()
        kernels.activation_inplace(ref, 4, act.kernel_id, True)
        # float32: tanh may round one ulp apart (6e-8 near 1), so phi' = 1 - t^2 may differ by
        # 1.2e-7, times a tangent entry of size <= 3 here
        np.testing.assert_allclose(got[s], ref, rtol=1e-6, atol=4e-7)


@pytest.mark.parametrize("device", DEVICES)
def test_rescale_and_merge_match_the_cpu_engine(device):
    prop = _prop(device, dtype="float64")
    rng = _rng(4)
    Z = rng.standard_normal((3, 8, 6)) * np.array([1.0, 5.0, 0.1])[:, None, None]
    skip = rng.standard_normal((3, 8, 6))
    skip_log = np.array([0.5, -2.0, -np.inf])
    st = _stack_state(prop, Z, 4)
    prop._rescale_tangent(st, "here")
    prop._merge(st, prop.backend.asarray(skip), skip_log)
    got = prop.backend.to_host(st.Z)
    for s in range(3):
        ref = _State(Z[s].copy(), 4, True)
        engine._rescale_tangent(ref, "here")
        engine._merge(ref, skip[s], skip_log[s])
        np.testing.assert_allclose(got[s], ref.Z, rtol=1e-12)
        assert st.log_scale[s] == pytest.approx(ref.log_scale, rel=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_nonfinite_state_names_the_simulation(device):
    prop = _prop(device)
    Z = np.ones((3, 4, 2), dtype=np.float32)
    Z[2, 0, 0] = np.inf
    prop._indices = [10, 11, 12]
    with pytest.raises(SimulationError,
                       match=r"non-finite signal at block l=3 \(overflow.*\) in simulation 12"):
        prop._rescale_tangent(_stack_state(prop, Z, 2), "at block l=3")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("rows, width", [(6, 9), (20, 5)])
def test_effective_rank_matches_an_svd(device, rows, width):
    prop = _prop(device, dtype="float64")
    Z = _rng(5).standard_normal((3, 2 * rows, width)) * np.linspace(0.2, 2, width)
    st = _stack_state(prop, Z, rows)
    got = prop._effective_rank(st, slice(rows, 2 * rows))
    for s in range(3):
        T = Z[s, rows:] - Z[s, rows:].mean(axis=0)
        sv = np.linalg.svd(T, compute_uv=False) ** 2
        assert got[s] == pytest.approx(sv.sum() / sv.max(), rel=1e-10)
        assert got[s] == pytest.approx(engine.effective_rank(Z[s, rows:]), rel=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_dense_layer_is_the_product_with_the_drawn_weights(device):
    prop = _prop(device, dtype="float64")
    rng = _rng(6)
    Z = rng.standard_normal((2, 6, 5))
    g = rng.standard_normal((2, 5, 4))
    bias = rng.standard_normal((2, 4))
    st = _stack_state(prop, Z, 3)
    layer = spec.Dense(width=4, weight_var=2.0, bias_var=0.5)
    prop._dense(st, layer, 1, _GivenDraws(prop.backend, [g, bias]), None, None, None)
    got = prop.backend.to_host(st.Z)
    for s in range(2):
        ref = Z[s] @ (g[s] * math.sqrt(2.0 / 5))
        ref[:3] += bias[s] * math.sqrt(0.5)
        np.testing.assert_allclose(got[s], ref, rtol=1e-12)


def _direct_conv(x, kernel, stride, boundary):
    """float64 loop oracle over the boundary-extended map (`conv.source_index`)."""
    M, H, W, C = x.shape
    k = kernel.shape[0]
    si = conv.source_index(H, k, stride, boundary)
    sj = conv.source_index(W, k, stride, boundary)
    out = np.zeros((M, si.shape[0], sj.shape[0], kernel.shape[3]))
    for i in range(si.shape[0]):
        for j in range(sj.shape[0]):
            for di in range(k):
                for dj in range(k):
                    a, b = si[i, di], sj[j, dj]
                    if a >= 0 and b >= 0:
                        out[:, i, j] += x[:, a, b] @ kernel[di, dj]
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("boundary", spec.BOUNDARIES)
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_layer_matches_a_direct_loop_for_every_boundary(device, boundary, stride):
    prop = _prop(device, dtype="float64")
    rng = _rng(7)
    S, maps, n, c_in, c_out, k = 2, 3, 6, 4, 5, 3
    x = rng.standard_normal((S, 2 * maps, n, n, c_in))  # signal maps, then tangent maps
    g = rng.standard_normal((S, k * k * c_in, c_out))
    st = _stack_state(prop, x.reshape(S, -1, c_in), maps * n * n, spatial=(n, n), maps=maps)
    layer = spec.Conv(channels=c_out, kernel_size=k, stride=stride, boundary=boundary)
    prop._conv(st, layer, _GivenDraws(prop.backend, [g]))
    got = prop.backend.to_host(st.Z)
    no = n // stride
    assert st.spatial == (no, no) and st.B == maps * no * no
    scale = math.sqrt(2.0 / (k * k * c_in))
    for s in range(S):
        ref = _direct_conv(x[s], g[s].reshape(k, k, c_in, c_out) * scale, stride, boundary)
        np.testing.assert_allclose(got[s], ref.reshape(-1, c_out), rtol=1e-10, atol=1e-12)
        # and the CPU engine's convolution of the same maps
        cpu = conv.conv2d(x[s], g[s].reshape(k, k, c_in, c_out) * scale, stride, boundary)
        np.testing.assert_allclose(got[s], cpu.reshape(-1, c_out), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Invariants
# --------------------------------------------------------------------------------------------
def _chunk_arrays(chunk) -> dict[str, np.ndarray]:
    return {k: np.stack(v) for k, v in chunk[0].items()} | {
        k: np.asarray(v) for k, v in chunk[1].items()}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("net", [spec.bn_res(16, 4, measure_every=2),
                                 spec.vanilla(8, 3, kernel_size=3, boundary="symmetric")],
                         ids=["bn_res", "vanilla_conv"])
def test_arrays_do_not_depend_on_the_stack_size_and_repeat_for_a_seed(device, net):
    src = make_input_source("gaussian", **({"kernel_size": 3, "image_size": 8}
                                           if net.is_convolutional else {"input_dim": 20}))
    opts = EngineOptions(device=device)
    runs = [_chunk_arrays(simulate_range_stacked(net, src, 4, 9, opts, 2, 7, stack=s))
            for s in (None, 1, 3, None)]
    for r in runs[1:]:
        assert r.keys() == runs[0].keys()
        for k in r:
            assert r[k].tobytes() == runs[0][k].tobytes(), k
    assert np.isfinite(runs[0]["log_mu2_noise_loc1"]).all()


def test_inputs_are_the_cpu_engines_inputs():
    # same data stream per simulation: at depth 0 (input moments) both engines agree exactly
    net = spec.bn_ff(8, 2)
    src = make_input_source("gaussian", input_dim=12)
    a = run_network(net, src, batch_size=4, num_sims=3, seed=5, quiet=True, workers=1)
    b = run_network(net, src, batch_size=4, num_sims=3, seed=5, quiet=True,
                    options=EngineOptions(device="numpy"))
    np.testing.assert_allclose(b.arrays["mu2_signal_input"], a.arrays["mu2_signal_input"],
                               rtol=1e-6)
    np.testing.assert_allclose(b.arrays["log_mu2_noise_input"],
                               a.arrays["log_mu2_noise_input"], rtol=1e-6)
    assert b.arrays.keys() == a.arrays.keys()
    assert b.metadata["options"]["device"] == "numpy"


# --------------------------------------------------------------------------------------------
# Distribution: stacked engine against the CPU engine
# --------------------------------------------------------------------------------------------
DIST = {
    "bn_ff": (spec.bn_ff(64, 12, measure_every=4), {"input_dim": 48}, 8,
              ["log_chi_loc4", "mu4_signal_loc3", "nu1_abs_signal_loc3", "reff_signal_loc4",
               "reff_noise_loc4"]),
    "vanilla": (spec.vanilla(64, 12, measure_every=4), {"input_dim": 48}, 8,
                ["log_chi_loc3", "nu2_signal_loc3", "mu2_signal_loc2", "reff_signal_loc3"]),
    "bn_res": (spec.bn_res(32, 8, 2, measure_every=4), {"input_dim": 48}, 8,
               ["log_chi_loc5", "mu2_signal_loc5", "mu4_signal_loc2", "reff_signal_loc3"]),
    "vanilla_conv": (spec.vanilla(16, 6, measure_every=3, kernel_size=3),
                     {"kernel_size": 3, "image_size": 8}, 4,
                     ["log_chi_loc3", "nu2_signal_loc3", "reff_signal_loc3",
                      "reff_noise_loc3"]),
}


def _dist_sample(name: str, device: str, seed: int, n: int, weight_var: float | None = None):
    net, inputs, batch, _ = DIST[name]
    if weight_var is not None:
        net = spec.Network(tuple(spec.Dense(weight_var=weight_var)
                                 if isinstance(x, spec.Dense) else x for x in net.block),
                           net.depth, net.stem, net.measure_every, net.name)
    src = make_input_source("gaussian", **inputs)
    opts = EngineOptions(device=device) if device != "cpu" else EngineOptions(path="dense")
    return run_network(net, src, batch_size=batch, num_sims=n, seed=seed, quiet=True,
                       options=opts, workers=1).arrays


def _ks(a, b, keys):
    return {f"{k}[{j}]": stats.ks_2samp(a[k][:, j], b[k][:, j]).pvalue
            for k in keys for j in range(a[k].shape[1])}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(DIST))
def test_stacked_engine_agrees_with_the_cpu_engine_in_distribution(device, name):
    n = 200  # per engine; KS at this size detects a shift of ~0.35 sd with power ~0.99
    a = _dist_sample(name, device, seed=11, n=n)
    b = _dist_sample(name, "cpu", seed=12, n=n)
    pv = _ks(a, b, DIST[name][3])
    worst = min(pv, key=pv.get)
    assert pv[worst] > ALPHA / len(pv), f"{worst}: p={pv[worst]:.2e} (Bonferroni over {len(pv)})"


def test_the_distribution_test_rejects_a_five_percent_weight_variance_error():
    # the vanilla battery must see dense layers with weight variance 2.1 instead of 2
    a = _dist_sample("vanilla", "numpy", seed=11, n=200, weight_var=2.1)
    b = _dist_sample("vanilla", "cpu", seed=12, n=200)
    pv = _ks(a, b, DIST["vanilla"][3])
    assert min(pv.values()) < ALPHA / len(pv)


# --------------------------------------------------------------------------------------------
# Options, errors, the seam
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("opts, match", [
    ({"backward": True}, "backward=True is not supported with device='numpy'"),
    ({"families": ("sample_stats",)}, "families=.*is not supported with device='numpy'"),
    ({"path": "fast"}, "path='fast' is not supported with device='numpy'"),
])
def test_unsupported_combinations_raise(opts, match):
    with pytest.raises(ConfigError, match=match):
        EngineOptions(device="numpy", **opts)


def test_process_default_device_applies_where_the_options_allow(monkeypatch):
    monkeypatch.setenv(ENV_DEVICE, "numpy")
    assert EngineOptions().device == "numpy"
    assert EngineOptions(backward=True).device == "cpu"
    assert EngineOptions(families=("spectra",)).device == "cpu"
    monkeypatch.setenv(ENV_DEVICE, "tpu")
    with pytest.raises(ConfigError, match=r"\$DNN_MOMENTS_DEVICE='tpu' is not allowed"):
        EngineOptions()


def test_identity_keeps_cpu_keys_unchanged():
    ident = EngineOptions(threads=3).identity()
    assert "threads" not in ident and "device" not in ident and "precision" not in ident
    assert EngineOptions(device="numpy").identity()["device"] == "numpy"


def test_tf32_needs_cuda():
    with pytest.raises(ConfigError, match="precision='tf32' is not allowed with device='cpu'"):
        EngineOptions(precision="tf32")
    with pytest.raises(ConfigError, match="precision='fp16' is not allowed"):
        EngineOptions(precision="fp16")


def test_numpy_backend_is_the_seam_on_the_cpu():
    assert get_backend("numpy") is NUMPY
    with pytest.raises(ConfigError, match="device='tpu' has no array backend"):
        get_backend("tpu")
    a = NUMPY.normal_stream(3, 7).standard_normal(5, dtype=np.float32)
    b = NUMPY.normal_stream(3, 7).standard_normal(5, dtype=np.float32)
    c = NUMPY.normal_stream(3, 8).standard_normal(5, dtype=np.float32)
    assert a.tobytes() == b.tobytes() != c.tobytes()


@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "x.npz"
    p = subprocess.run(
        [sys.executable, "-m", "reports.cli", "simulate", "--architecture", "bn_ff",
         "--num-channels", "8", "--total-depth", "2", "--batch-size", "4", "--num-sims", "1",
         "--device", "cuda", "--out", str(out)], capture_output=True, text=True)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "device='cuda' needs" in lines[0], p.stderr
    assert not out.exists()


@pytest.mark.parametrize("device", DEVICES)
def test_stacked_engine_refuses_per_simulation_runs(device):
    prop = _prop(device)
    with pytest.raises(ConfigError, match="use run_stack"):
        prop.run(np.zeros((2, 8)), None, None)
