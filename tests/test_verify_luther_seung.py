"""Unit tests of the helpers in verify.claims_luther_seung (fast, no simulations)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from verify import claims_luther_seung as cls


def test_bootstrap_groups_pairs_within_and_resamples_groups_independently() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 0.1, 200)
    # a ratio of paired arrays that is exactly 2 per simulation: pairing => zero spread
    est = cls.bootstrap_groups([(2 * a, a)], lambda g: g[0].mean() / g[1].mean(), rng,
                               n_resamples=200)
    assert est.value == pytest.approx(2.0)
    assert est.se < 1e-12
    # two independent groups of different sizes: se of a difference of means
    x = rng.normal(0.0, 1.0, 400)
    y = rng.normal(0.0, 1.0, 100)
    est = cls.bootstrap_groups([(x,), (y,)], lambda g, h: g[0].mean() - h[0].mean(), rng,
                               n_resamples=2000)
    assert est.n == 100
    assert est.se == pytest.approx(math.sqrt(1 / 400 + 1 / 100), rel=0.15)
    with pytest.raises(ValueError):
        cls.bootstrap_groups([(x, y)], lambda g: 0.0, rng)


def test_increment_variance_rate_of_a_random_walk() -> None:
    rng = np.random.default_rng(1)
    steps = rng.normal(0.0, math.sqrt(0.04), (4000, 30))
    walk = np.cumsum(steps, axis=1) + rng.normal(0.0, 1.0, (4000, 1))  # offset: no effect
    assert cls.increment_variance_rate(walk) == pytest.approx(0.04, rel=0.03)


def test_data_dependent_init_calibrates_exactly() -> None:
    rng = np.random.default_rng(2)
    x_cal = rng.standard_normal((32, 20))
    params = cls.data_dependent_init(x_cal, 16, 5, rng)
    assert len(params) == 5
    assert params[0][0].shape == (20, 16) and params[1][0].shape == (16, 16)
    st = cls.preactivation_stats(params, x_cal)
    assert np.all(st["max_abs_mean"] < 1e-13)
    assert np.all(st["max_abs_std_dev"] < 1e-13)
    assert np.allclose(st["fraction"], 1.0, atol=1e-14)
    held = cls.preactivation_stats(params, rng.standard_normal((32, 20)))
    assert np.all(held["one_minus_fraction"] > 0)
    assert np.allclose(held["fraction"] + held["one_minus_fraction"], 1.0, atol=1e-12)


def test_preactivation_stats_fraction_definition() -> None:
    # one layer, identity weights, bias 0: z = x; fraction = mean var / mean square
    x = np.array([[1.0, 2.0], [3.0, 2.0]])
    st = cls.preactivation_stats([(np.eye(2), np.zeros(2))], x)
    var = np.var(x, axis=0).mean()
    sq = np.mean(x**2)
    assert st["fraction"][0] == pytest.approx(var / sq)
    assert st["one_minus_fraction"][0] == pytest.approx(1 - var / sq)
    assert st["max_abs_mean"][0] == pytest.approx(2.0)


def test_log_log_slope_and_local_rate() -> None:
    lay = np.geomspace(10, 1000, 7)
    assert cls.log_log_slope(lay, 3.0 * lay**-2.0) == pytest.approx(-2.0)
    # power law: rate p/l up to the window; exponential: constant rate
    r1 = cls.local_log_rate(100, 110, 100.0**-2, 110.0**-2)
    r2 = cls.local_log_rate(1000, 1100, 1000.0**-2, 1100.0**-2)
    assert r1 / r2 == pytest.approx(10.0)
    assert cls.local_log_rate(5, 7, math.exp(-0.5), math.exp(-0.7)) == pytest.approx(0.1)


def test_s2_depths() -> None:
    assert cls._s2_depths(128) == [6, 13, 25]
    assert cls._s2_depths(256) == [13, 26, 51]


def test_radial_floor_exponent_recovers_the_exponent() -> None:
    widths = np.array([100.0, 400.0, 1000.0])
    d_mf = 0.004
    for p in (0.8, 1.0, 1.2):
        # log-normal norms: D = 1 - exp(-(s0^2 + s^2)/4), finite-width part s^2/4 = c/N^p
        s2_4 = 9.0 / widths**p
        d = 1 - (1 - d_mf) * np.exp(-s2_4)
        assert cls.radial_floor_exponent(widths, d, d_mf) == pytest.approx(p, abs=1e-12)
    assert math.isnan(cls.radial_floor_exponent(widths, [0.1, 0.05, 0.003], d_mf))


def test_shifted_layers_evaluates_deeper() -> None:
    f = cls._shifted_layers(lambda x, layers: np.asarray(layers) * x, 1)
    assert np.array_equal(f(2, [1, 3]), np.array([4, 8]))


def test_series_residual_detects_a_changed_coefficient() -> None:
    ser = cls.arccos.correlation_map_series()
    assert cls._series_residual(ser["eps_series"], cls.S4_EPS_SERIES, cls._EPS) == 0.0
    wrong = cls._halve_eps32(cls.arccos.correlation_map_series)()["eps_series"]
    assert cls._series_residual(wrong, cls.S4_EPS_SERIES, cls._EPS) > 1e-3
