"""Unit tests of the helpers behind the vanilla Labatie claims L1–L5 (verify/claims_labatie.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from verify import claims_labatie as cl
from verify.stats import Estimate


def test_he_dense_layer_is_the_engines_he_layer():
    """The L1/L2 layer is spec.vanilla's dense layer: He weight variance from the spec."""
    layer = cl.he_dense_layer(16)
    assert layer.weight_var == cl.spec.HE == 2.0 and layer.bias_var == 0.0


def test_engine_layer_ratios_match_he_layer_moments():
    """Per-simulation ratios through the engine: one simulation averages ``draws_per_sim``
    independent N x N He layers; mean and variance match the exact He-layer moments."""
    rng = np.random.default_rng(0)
    b, n, m, sims = 4, 6, 50, 400
    x = rng.standard_normal((b, n)) + 0.7  # non-centred: nu2 != mu2
    dx = rng.standard_normal((b, n))
    r = cl.engine_layer_ratios(x, dx, m, sims, (0, 1))
    # nu2(y) of one layer = (1/N) sum_c w_c^T A w_c, A = x^T x / B, w ~ N(0, 2/N I):
    # E = 2/N tr A, Var = 2 (2/N)^2 tr(A^2) / N; a simulation averages m layers.
    a = x.T @ x / b
    nu2_x = np.mean(x**2)
    mean = 2 / n * np.trace(a) / nu2_x
    var = 2 * (2 / n) ** 2 * np.trace(a @ a) / n / m / nu2_x**2
    est = r["nu2_y"]
    assert abs(est.mean() - mean) < 5 * math.sqrt(var / est.size)
    assert abs(est.var(ddof=1) / var - 1) < 0.25
    for key, target in (("mu2_y", 2.0), ("mu2_dy", 2.0), ("nu2_x", 1.0), ("mu2_dx", 1.0)):
        v = r[key]
        assert abs(v.mean() - target) < 5 * v.std() / math.sqrt(v.size), key


def test_engine_layer_ratios_rank_deficient_and_reproducible():
    """A rank-one signal goes through the engine; draws depend only on the seed key."""
    x = np.outer(np.arange(1.0, 4.0), np.ones(5))
    dx = np.random.default_rng(1).standard_normal(x.shape)
    a = cl.engine_layer_ratios(x, dx, 3, 4, (7, 8))
    b = cl.engine_layer_ratios(x, dx, 3, 4, (7, 8))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert all(np.all(np.isfinite(v)) for v in a.values())
    assert not np.array_equal(a["nu2_y"], cl.engine_layer_ratios(x, dx, 3, 4, (7, 9))["nu2_y"])
    with pytest.raises(ValueError, match="same shape"):
        cl.engine_layer_ratios(x, dx[:, :2], 2, 2, (0,))


def test_log_increments_and_pooled_variance():
    """Increments start from the block-0 value; the pooled variance averages per-layer variances."""
    per_block = np.array([[1.0, 3.0, 6.0], [0.0, 0.0, 2.0]])
    inc = cl.log_increments(per_block, np.array([0.0, 1.0]))
    assert np.array_equal(inc, [[1.0, 2.0, 3.0], [-1.0, 0.0, 2.0]])
    assert cl.pooled_increment_variance(inc) == pytest.approx(np.mean([2.0, 2.0, 0.5]))


def test_independent_combination():
    """Linear combination of independent estimates: value, SE in quadrature, normal interval."""
    a = Estimate(2.0, 0.3, (1.0, 3.0), 0.99, "bca", 40)
    b = Estimate(1.5, 0.4, (0.5, 2.5), 0.99, "bca", 20)
    est = cl.independent_combination([a, b], [1.0, -1.0])
    assert est.value == pytest.approx(0.5)
    assert est.se == pytest.approx(0.5)
    assert est.n == 20
    assert est.ci[1] - est.value == pytest.approx(2.5758293 * 0.5, rel=1e-6)
    with pytest.raises(ValueError):
        cl.independent_combination([a], [1.0, 2.0])


def test_vanilla_state_depth_zero_is_the_stem():
    """Depth 0 is the LeCun stem output (Gram ~ input Gram / D); seeds make it reproducible."""
    rng = np.random.default_rng(0)
    x_in = rng.standard_normal((3, 20))
    dx_in = rng.standard_normal((3, 20))
    x0, dx0 = cl.vanilla_state(x_in, dx_in, 4000, 0, seed=5)
    z_in = np.vstack([x_in, dx_in])
    z0 = np.vstack([x0, dx0])
    np.testing.assert_allclose(z0 @ z0.T / 4000, z_in @ z_in.T / 20, atol=0.15)
    again = cl.vanilla_state(x_in, dx_in, 4000, 0, seed=5)
    assert np.array_equal(again[0], x0) and np.array_equal(again[1], dx0)
    x2, dx2 = cl.vanilla_state(x_in, dx_in, 8, 2, seed=5)
    assert x2.shape == dx2.shape == (3, 8)
    assert np.all(x2 >= 0) and np.all(dx2[x2 == 0] == 0)
