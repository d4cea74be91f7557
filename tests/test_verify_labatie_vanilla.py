"""Unit tests of the helpers behind the vanilla Labatie claims L1–L5 (verify/claims_labatie.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from verify import claims_labatie as cl
from verify.stats import Estimate


def test_single_layer_moments_match_he_layer_moments():
    """The Gram-factor draws have the exact mean and variance of a He dense layer's moments."""
    rng = np.random.default_rng(0)
    b, n = 4, 6
    x = rng.standard_normal((b, n)) + 0.7  # non-centred: nu2 != mu2
    dx = rng.standard_normal((b, n))
    mom = cl.single_layer_moments(x, dx, 40000, np.random.default_rng(1), chunk=1000)
    # nu2(y) = (1/N) sum_c w_c^T A w_c, A = x^T x / B, w ~ N(0, 2/N I):
    # E = 2/N tr A, Var = 2 (2/N)^2 tr(A^2) / N.
    a = x.T @ x / b
    mean = 2 / n * np.trace(a)
    var = 2 * (2 / n) ** 2 * np.trace(a @ a) / n
    est = mom["nu2_y"]
    assert abs(est.mean() - mean) < 5 * math.sqrt(var / est.size)
    assert abs(est.var() / var - 1) < 0.05
    nu2_x = np.mean(x**2)
    mu2_x = np.mean(np.var(x, axis=0))
    mu2_dx = np.mean(dx**2)
    for key, target in (("mu2_y", 2 * mu2_x), ("mu2_dy", 2 * mu2_dx), ("nu2_x", nu2_x),
                        ("mu2_dx", mu2_dx)):
        v = mom[key]
        assert abs(v.mean() - target) < 5 * v.std() / math.sqrt(v.size), key


def test_single_layer_moments_rank_deficient_and_reproducible():
    """A rank-one signal is handled (null directions dropped) and draws depend only on the rng."""
    x = np.outer(np.arange(1.0, 4.0), np.ones(5))
    dx = np.zeros_like(x)
    a = cl.single_layer_moments(x, dx, 10, np.random.default_rng(3), chunk=3)
    b = cl.single_layer_moments(x, dx, 10, np.random.default_rng(3), chunk=3)
    assert np.array_equal(a["nu2_y"], b["nu2_y"])
    assert np.all(a["mu2_dy"] == 0.0)
    assert np.all(np.isfinite(a["mu2_y"]))
    with pytest.raises(ValueError, match="same shape"):
        cl.single_layer_moments(x, dx[:, :2], 2, np.random.default_rng(0))


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


def test_mean_median_margin():
    """Half the gap between the martingale mean 1 and the collinear median exp(l E log R)."""
    drift = float(cl.labatie.vanilla_exact_log_moments(64)[0])
    assert cl.mean_median_margin(64, 12) == pytest.approx((1 - math.exp(12 * drift)) / 2)
    assert 0 < cl.mean_median_margin(64, 6) < cl.mean_median_margin(64, 12) < 0.5


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
