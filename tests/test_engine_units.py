"""Unit and property tests of the simulator's kernels, measurements and propagation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulate import kernels, spec
from simulate.engine import (
    EngineOptions,
    GaussianPool,
    Propagator,
    choose_path,
    effective_rank,
    effective_rank_from_gram,
    psd_factor,
)
from simulate.errors import ConfigError, SimulationError
from simulate.rng import GaussianStream

finite = st.floats(-1e3, 1e3, allow_nan=False, width=64)


def _state(B: int, N: int, seed: int, tangent: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((2 * B if tangent else B, N)) * rng.uniform(0.1, 3, size=N)


# ------------------------------------------------------------------ moments (numpy oracle)
@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 12), N=st.integers(1, 9), seed=st.integers(0, 2**31), tangent=st.booleans())
def test_state_moments_match_numpy_definitions(B, N, seed, tangent):
    Z = _state(B, N, seed, tangent) + np.random.default_rng(seed + 1).normal(size=N)
    m = kernels.state_moments(Z, B, tangent)
    x = Z[:B]
    mc = x.mean(axis=0)
    np.testing.assert_allclose(m[kernels.NU1_ABS], np.abs(x).mean(), rtol=1e-12)
    np.testing.assert_allclose(m[kernels.NU2], (x**2).mean(), rtol=1e-12)
    np.testing.assert_allclose(m[kernels.MU2], ((x - mc) ** 2).mean(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(m[kernels.MU4], ((x - mc) ** 4).mean(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(m[kernels.SQ_MEAN], (mc**2).mean(), rtol=1e-12)
    np.testing.assert_allclose(m[kernels.NU1_ABS_SQ], (np.abs(x).mean(axis=0) ** 2).mean(),
                               rtol=1e-12)
    expected_t = (Z[B:] ** 2).mean() if tangent else 0.0
    np.testing.assert_allclose(m[kernels.NU2_TANGENT], expected_t, rtol=1e-12)


def test_state_moments_float32_accumulates_in_float64():
    # 1e6-sized offset with unit spread: float32 storage, float64 accumulation keeps mu2 exact
    rng = np.random.default_rng(0)
    x = (1000.0 + rng.standard_normal((256, 4))).astype(np.float32)
    m = kernels.state_moments(x, 256, False)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(m[kernels.MU2], x64.var(axis=0).mean(), rtol=1e-9)


# ------------------------------------------------------------------ effective rank
@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 12), N=st.integers(1, 12), seed=st.integers(0, 2**31))
def test_effective_rank_bounds_and_svd_oracle(n, N, seed):
    T = np.random.default_rng(seed).standard_normal((n, N))
    r = effective_rank(T)
    s = np.linalg.svd(T - T.mean(axis=0), compute_uv=False) ** 2
    assert r == pytest.approx(s.sum() / s.max(), rel=1e-9)
    assert 1.0 - 1e-12 <= r <= min(n - 1, N) + 1e-9


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 10), N=st.integers(1, 10),
       u=arrays(np.float64, 10, elements=st.floats(-5, 5)),
       v=arrays(np.float64, 10, elements=st.floats(-5, 5)), c=finite)
def test_effective_rank_is_one_for_rank_one_data(n, N, u, v, c):
    a, b = u[:n], v[:N]
    if np.ptp(a) < 1e-3 or np.linalg.norm(b) < 1e-3:
        return  # centred data would be (numerically) zero
    T = np.outer(a, b) + c * np.ones((n, N))  # rank one after centring
    assert effective_rank(T) == pytest.approx(1.0, abs=1e-6)


def test_effective_rank_gram_side_equals_covariance_side():
    T = np.random.default_rng(3).standard_normal((20, 7))  # n > N: covariance side
    r1 = effective_rank(T)
    r2 = effective_rank_from_gram(T @ T.T)
    assert r1 == pytest.approx(r2, rel=1e-10)


# ------------------------------------------------------------------ batch norm
@settings(max_examples=40, deadline=None)
@given(B=st.integers(2, 20), N=st.integers(1, 8), eps=st.floats(0, 1), seed=st.integers(0, 2**31))
def test_batchnorm_output_moments(B, N, eps, seed):
    Z = _state(B, N, seed) * 3 + 1
    before = Z.copy()
    var = kernels.batchnorm_inplace(Z, B, eps, True)
    s2 = before[:B].var(axis=0)
    np.testing.assert_allclose(var, s2, rtol=1e-10)
    np.testing.assert_allclose(Z[:B].mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(Z[:B].var(axis=0), s2 / (s2 + eps), rtol=1e-8)
    # tangent divided by the frozen statistics
    np.testing.assert_allclose(Z[B:], before[B:] / np.sqrt(s2 + eps), rtol=1e-12)


# ------------------------------------------------------------------ activations
@pytest.mark.parametrize("name", ["relu", "tanh", "identity", "abs"])
def test_activation_kernels_match_numpy_pairs(name):
    from simulate.activations import get_activation

    act = get_activation(name)
    Z = _state(6, 5, 1)
    Z[0, 0] = 0.0
    out = Z.copy()
    kernels.activation_inplace(out, 6, act.kernel_id, True)
    np.testing.assert_allclose(out[:6], act.fn(Z[:6]), rtol=1e-12)
    np.testing.assert_allclose(out[6:], Z[6:] * act.derivative(Z[:6]), rtol=1e-12)


def test_register_activation_runs_through_numpy_path():
    from simulate.activations import register_activation

    name = "softplus_test"
    try:
        register_activation(name, lambda z: np.logaddexp(0, z), lambda z: 1 / (1 + np.exp(-z)))
    except ConfigError:
        pass  # already registered by a previous run in this process
    net = spec.Network((spec.Dense(width=6), spec.Activation(name), spec.Measure("out")), 2)
    x = np.random.default_rng(0).standard_normal((3, 5))
    res, _ = Propagator(net, EngineOptions(dtype="float64")).run(x, x, GaussianStream(0))
    assert np.all(np.isfinite(res["nu2_signal_out"]))
    with pytest.raises(ConfigError, match="activation='nope' is not allowed"):
        spec.Activation("nope")


# ------------------------------------------------------------------ fast-path factor
@settings(max_examples=30, deadline=None)
@given(R=st.integers(1, 10), k=st.integers(1, 10), seed=st.integers(0, 2**31))
def test_psd_factor_reconstructs_gram_even_when_rank_deficient(R, k, seed):
    A = np.random.default_rng(seed).standard_normal((R, min(k, R)))
    G = A @ A.T
    L = psd_factor(G)
    assert L.shape[1] <= R
    np.testing.assert_allclose(L @ L.T, G, atol=1e-9 * max(1.0, np.abs(G).max()))
    if L.shape[1] == R:  # the fast path multiplies only the lower triangle
        assert not np.triu(L, 1).any()


def test_psd_factor_full_rank_eigen_fallback_is_lower_triangular(monkeypatch):
    # Cholesky can fail on a numerically PD Gram whose eigenvalues all pass the rank cut; the
    # eigen factor must then still be lower triangular.
    import simulate.engine as engine

    G = np.random.default_rng(3).standard_normal((6, 9))
    G = G @ G.T
    monkeypatch.setattr(engine.lapack, "dpotrf", lambda g, lower=0, clean=1: (g, 1))
    L = psd_factor(G)
    assert L.shape == (6, 6) and not np.triu(L, 1).any()
    np.testing.assert_allclose(L @ L.T, G, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("direct_every", [0, 3])
def test_gaussian_pool_prefetch_is_bit_identical(direct_every):
    # A sequence of takes gives the same numbers with and without prefetch, also when direct
    # draws (larger than a quarter chunk, or from the stream itself) move the stream past a
    # prefetched chunk, which must then be discarded.
    chunk = 4096
    sizes = [700, 1000, 300, 900, 1024, 50, 800] * 8 + [1500, 600, 2000] * 3

    def draws(prefetch: bool) -> tuple[list[np.ndarray], int]:
        stream = GaussianStream(11)
        pool = GaussianPool(stream, np.float32, chunk=chunk, prefetch=prefetch)
        out = []
        for i, n in enumerate(sizes):
            if direct_every and i % direct_every == 0:
                out.append(stream.standard_normal((5,)))
            out.append(pool.take((n,)).copy())
        pool.close()
        return out, pool.prefetch_hits

    plain, hits0 = draws(False)
    pre, hits = draws(True)
    assert hits0 == 0 and (hits > 0 or direct_every)  # with no direct draws, chunks are reused
    for a, b in zip(plain, pre, strict=True):
        np.testing.assert_array_equal(a, b)


def test_stream_skip_and_serial_kernel_match():
    a, b = GaussianStream(5), GaussianStream(5)
    a.fill(np.empty(10, np.float32))
    b.skip(1)
    x = a.fill(np.empty(300_000, np.float32), parallel=True)
    y = b.fill(np.empty(300_000, np.float32), parallel=False)
    np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="n"):
        a.skip(-1)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), start=st.integers(0, 4), seed=st.integers(0, 2**31))
def test_centered_gram_block_matches_numpy(n, start, seed):
    T = np.random.default_rng(seed).standard_normal((start + n + 2, 7)) + 3.0
    G = T @ T.T
    gc, trace = kernels.centered_gram_block(np.triu(G), start, n)  # reads the upper triangle
    Tc = T[start:start + n] - T[start:start + n].mean(axis=0)
    np.testing.assert_allclose(gc, Tc @ Tc.T, atol=1e-9 * np.abs(G).max())
    assert math.isclose(trace, float(np.sum(Tc * Tc)), rel_tol=1e-9, abs_tol=1e-9)


def test_cost_model_prefers_fast_path_for_small_batches():
    assert choose_path("auto", 128, 512, 512) == "fast"
    assert choose_path("auto", 1024, 128, 128) == "dense"
    assert choose_path("dense", 2, 512, 512) == "dense"


# ------------------------------------------------------------------ propagation properties
def _fd_network(kind: str) -> spec.Network:
    if kind == "vanilla":
        return spec.Network((spec.Dense(width=12), spec.Activation("relu"), spec.Measure("o")),
                            3, stem=spec.Dense(width=12, weight_var=1.0))
    if kind == "tanh_full":
        return spec.full_resnet(10, 3, "tanh", sigma_b2=0.1, sigma_a2=0.1, sigma_w2=1.5)
    if kind == "relu_reduced":
        return spec.reduced_resnet(10, 3, "relu", sigma_b2=0.05)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["vanilla", "tanh_full", "relu_reduced"])
def test_tangent_equals_finite_difference(kind):
    net = _fd_network(kind)
    rng = np.random.default_rng(7)
    D = 12 if kind == "vanilla" else 10
    x = rng.standard_normal((4, D))
    dx = rng.standard_normal((4, D))
    prop = Propagator(net, EngineOptions(dtype="float64", path="dense"))
    _, tangent = prop.forward(x, dx, GaussianStream(11))
    h = 1e-6
    plus, _ = prop.forward(x + h * dx, None, GaussianStream(11))
    minus, _ = prop.forward(x - h * dx, None, GaussianStream(11))
    fd = (plus - minus) / (2 * h)
    # central differences: error O(h^2) for smooth parts; ReLU kinks are hit with prob ~0
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-7 * np.abs(fd).max())


@pytest.mark.parametrize("kind", ["tanh_full", "relu_reduced"])
def test_backward_is_adjoint_of_tangent(kind):
    # <g_L, J dx> = <J^T g_L, dx> per input, with J from the forward tangent (same weights)
    net = _fd_network(kind)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 10))
    dx = rng.standard_normal((3, 10))
    prop = Propagator(net, EngineOptions(dtype="float64", backward=True))
    prop.run(x, dx, GaussianStream(2), GaussianStream(3))
    g_out, g_in = prop.last_cotangents
    _, tangent = Propagator(net, EngineOptions(dtype="float64", path="dense")).forward(
        x, dx, GaussianStream(2))
    lhs = np.sum(g_out * tangent, axis=1)
    rhs = np.sum(g_in * dx, axis=1)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9)


def test_chi_is_invariant_to_noise_scale():
    from simulate.experiments import run_network

    net = spec.bn_ff(32, 6, measure_every=2)
    x = np.random.default_rng(0).standard_normal((8, 20))

    res = run_network(net, x, seed=3, num_sims=2, quiet=True,
                      options=EngineOptions(dtype="float64", path="dense"))
    # same simulation with noise scaled by 1000: tangent is linear, chi normalised by SNR^0
    prop = Propagator(net, EngineOptions(dtype="float64", path="dense"))
    from simulate.experiments import simulation_seeds

    data, w, _ = simulation_seeds(3, 0)
    dx = data.standard_normal(x.shape)
    r1, s1 = prop.run(x, dx, w)
    data, w, _ = simulation_seeds(3, 0)
    r2, s2 = prop.run(x, 1000.0 * data.standard_normal(x.shape), w)
    for loc in ("loc1", "loc4"):
        lc1 = 0.5 * (r1[f"log_mu2_noise_{loc}"] - s1["log_mu2_noise_input"])
        lc2 = 0.5 * (r2[f"log_mu2_noise_{loc}"] - s2["log_mu2_noise_input"])
        np.testing.assert_allclose(lc1, lc2, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        res["log_chi_loc4"][0],
        0.5 * (r1["log_mu2_noise_loc4"] - np.log(r1["mu2_signal_loc4"])
               + np.log(s1["mu2_signal_input"]) - s1["log_mu2_noise_input"]), atol=1e-9)


def test_he_relu_layer_preserves_expected_squared_norm():
    # E_W ||relu(W x)||^2 = ||x||^2 N_out/N_in exactly (He); per draw the ratio has relative
    # variance 5/N for collinear inputs and less otherwise, so with n = 4000 draws of N = 64 the
    # standard error of the mean is <= sqrt(5/64/4000) = 0.0044; tolerance 5 SE (p < 1e-6).
    net = spec.Network((spec.Dense(weight_var=2.0), spec.Activation("relu"), spec.Measure("o")), 1)
    x = np.random.default_rng(1).standard_normal((4, 64)) + 0.5
    prop = Propagator(net, EngineOptions(tangent=False, path="dense", dtype="float64"))
    n = 4000
    ratios = np.empty(n)
    for i in range(n):
        out, _ = prop.forward(x, None, GaussianStream(np.random.SeedSequence(99, spawn_key=(i,))))
        ratios[i] = np.sum(out**2) / np.sum(x**2)
    assert abs(ratios.mean() - 1.0) < 5 * math.sqrt(5 / 64 / n)


def test_nonfinite_values_are_reported_with_location():
    net = spec.Network((spec.Dense(weight_var=1e30), spec.Measure("o")), 5)
    x = np.ones((2, 8))
    with pytest.raises(SimulationError, match=r"block l=\d"):
        Propagator(net, EngineOptions(path="dense")).run(x, x, GaussianStream(0))


def test_backward_with_batchnorm_is_refused():
    with pytest.raises(ConfigError, match="BatchNorm"):
        Propagator(spec.bn_ff(8, 2), EngineOptions(backward=True))
    with pytest.raises(ConfigError, match="path='fast'"):
        EngineOptions(backward=True, path="fast")
