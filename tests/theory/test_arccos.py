"""Arc-cosine kernels, the ReLU correlation map, its asymptotics and the kernel recursion."""

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import arccos

PI = sp.pi
HYP = settings(max_examples=40, deadline=None, derandomize=True)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_arccos_kernels_derived_symbolically(n):
    assert sp.simplify(arccos.derive_arccos_kernel(n) - arccos.arccos_kernel_formula(n)) == 0


@pytest.mark.parametrize("theta", [0.3, 1.2, 2.5])
def test_arccos_kernels_monte_carlo(theta):
    rng = np.random.default_rng(7)
    n = 400_000
    g1, g2 = rng.standard_normal((2, n))
    u, v = g1, np.cos(theta) * g1 + np.sin(theta) * g2
    for k in (0, 1, 2):
        s = (u > 0) * (v > 0) * (np.maximum(u, 0) * np.maximum(v, 0)) ** k
        se = s.std(ddof=1) / np.sqrt(n)
        # 5 standard errors (n = 4e5)
        assert abs(s.mean() - arccos.arccos_kernel(k, theta) / (2 * np.pi)) < 5 * se


def test_map_values_and_abs_map_monte_carlo():
    rho, f = arccos.relu_correlation_map_expr()
    assert (
        sp.simplify(
            f
            - arccos.arccos_kernel_formula(1).subs(sp.Symbol("theta", positive=True), sp.acos(rho))
            / PI
        )
        == 0
    )
    rng = np.random.default_rng(11)
    n = 400_000
    for r in (-0.7, 0.0, 0.6):
        g1, g2 = rng.standard_normal((2, n))
        u, v = g1, r * g1 + np.sqrt(1 - r**2) * g2
        s = np.abs(u) * np.abs(v)
        se = s.std(ddof=1) / np.sqrt(n)
        assert abs(s.mean() - arccos.abs_correlation_map(r)) < 5 * se  # 5 SE, n = 4e5
        s2 = 2 * np.maximum(u, 0) * np.maximum(v, 0)
        se2 = s2.std(ddof=1) / np.sqrt(n)
        assert abs(s2.mean() - arccos.relu_correlation_map(r)) < 5 * se2


def test_series_symbolic():
    ser = arccos.correlation_map_series()
    eps, th = ser["eps"], ser["theta"]
    target = (
        eps
        - 2 * sp.sqrt(2) / (3 * PI) * eps ** sp.Rational(3, 2)
        - sp.sqrt(2) / (30 * PI) * eps ** sp.Rational(5, 2)
    )
    assert sp.simplify(ser["eps_series"] - target) == 0
    assert ser["eps_series"].coeff(eps**2) == 0  # no eps^2 term
    angle = 1 - th**2 / 2 + th**3 / (3 * PI) + th**4 / 24 - th**5 / (30 * PI) - th**6 / 720
    assert sp.simplify(ser["angle_series"] - angle) == 0


def test_series_remainder_numerically():
    ser = arccos.correlation_map_series()
    fn = sp.lambdify(ser["eps"], ser["eps_series"], "mpmath")
    with mpmath.workdps(40):
        for e in ("1e-2", "1e-3", "1e-4"):
            e = mpmath.mpf(e)
            rho = 1 - e
            f = (mpmath.sqrt(1 - rho**2) + (mpmath.pi - mpmath.acos(rho)) * rho) / mpmath.pi
            # remainder O(eps^3) (in fact O(eps^(7/2)): the s^6 coefficient vanishes)
            assert abs((1 - f) - fn(e)) < e**3


def test_asymptotic_constants_symbolic():
    c = arccos.asymptotic_constants()
    assert sp.simplify(c["a"] - 2 * sp.sqrt(2) / (3 * PI)) == 0
    assert sp.simplify(c["slope"] - sp.sqrt(2) / (3 * PI)) == 0
    assert sp.simplify(c["log_coef"] - 1 / (sp.sqrt(2) * PI)) == 0
    assert sp.simplify(c["nine_pi2_over_2"] - 9 * PI**2 / 2) == 0
    assert sp.simplify(c["f0"] - 1 / PI) == 0
    rec = arccos.u_recursion_series()
    a, u = rec["a"], rec["u"]
    assert sp.simplify(rec["increment"] - (a / 2 + 3 * a**2 / (8 * u))) == 0
    # N21, N22
    assert abs(float(c["nine_pi2_over_2"]) - 44.41322) < 5e-6
    assert abs(float(c["slope"]) - 0.150053) < 5e-7
    assert abs(float(c["log_coef"]) - 0.225079) < 5e-7
    assert abs(float(c["a"]) - 0.300105) < 5e-7


def test_float64_eps_iteration_matches_mpmath():
    layers = [2, 10, 100, 1000, 10_000]
    mp = arccos.iterate_correlation_mp(0, layers, dps=30)
    fl = arccos.iterate_correlation_eps(0.0, layers)
    for a, b in zip(mp, fl, strict=True):
        assert abs(float(a) - b) / float(a) < 1e-9


def test_refined_asymptotic_at_1e4_high_precision():
    (eps,) = arccos.iterate_correlation_mp(0, [10_000], dps=30)
    c0, _ = arccos.estimate_c0(0.0)
    refined = arccos.refined_one_minus_rho(10_000, c0)
    assert abs(float(eps) - refined) / float(eps) < 1e-3


def test_ratio_table_and_offsets():
    layers = [10, 100, 1000, 10_000, 100_000]
    eps = arccos.iterate_correlation_eps(0.0, layers)
    lay = np.array(layers, dtype=float)
    ratio = eps / (9 * np.pi**2 / 2 / lay**2)
    np.testing.assert_allclose(ratio, [0.327, 0.820, 0.973, 0.9966, 0.9996], atol=1e-3)
    offset = eps**-0.5 - np.sqrt(2) / (3 * np.pi) * lay - np.log(lay) / (np.sqrt(2) * np.pi)
    np.testing.assert_allclose(offset, [0.606, 0.527, 0.511, 0.509, 0.5087], atol=1e-3)


def test_abs_map_derived_symbolically():
    th, derived, stated = arccos.abs_correlation_map_expr()
    assert sp.simplify(derived - stated) == 0
    for t in (0.4, 1.3, 2.8):
        assert float(stated.subs(th, t)) == pytest.approx(
            float(arccos.abs_correlation_map(np.cos(t))), rel=1e-12
        )


def test_c0_mpmath_and_float64_agree():
    # independent high-precision iteration (mpmath, 30 digits) to l = 1e4
    c_mp, raw_mp = arccos.estimate_c0(0.0, 10_000, method="mpmath")
    c_fl, raw_fl = arccos.estimate_c0(0.0, 10_000)
    assert abs(c_mp - c_fl) < 1e-8 and abs(raw_mp - raw_fl) < 1e-8
    assert abs(c_mp - 0.5087) < 2e-4  # already converged from l in [100, 1e4]


def test_c0():
    c0, raw = arccos.estimate_c0(0.0)
    assert abs(c0 - 0.5087) < 2e-4  # THEORY.md N22 (4 decimals)
    assert abs(raw - c0) < 1e-4


def test_stable_map_matches_direct_formula():
    e = np.array([1e-3, 1e-2, 0.3, 1.0, 1.7, 2.0])
    direct = 1 - arccos.relu_correlation_map(1 - e)
    np.testing.assert_allclose(arccos.one_minus_relu_map(e), direct, rtol=1e-12, atol=1e-15)
    with mpmath.workdps(40):
        for tiny in (1e-12, 1e-8, 1e-5):
            rho = 1 - mpmath.mpf(tiny)
            f = (mpmath.sqrt(1 - rho**2) + (mpmath.pi - mpmath.acos(rho)) * rho) / mpmath.pi
            assert abs(float(1 - f) - arccos.one_minus_relu_map(tiny)) / float(1 - f) < 1e-12


@HYP
@given(st.floats(-1.0, 1.0))
def test_map_properties(r):
    f = float(arccos.relu_correlation_map(r))
    assert f >= r - 1e-15
    assert -1e-15 <= f <= 1 + 1e-15
    fa = float(arccos.abs_correlation_map(r))
    assert abs(r) - 1e-15 <= fa <= 1 + 1e-15


@HYP
@given(st.floats(1e-8, 1e-2))
def test_series_near_one(e):
    ser = e - 2 * np.sqrt(2) / (3 * np.pi) * e**1.5 - np.sqrt(2) / (30 * np.pi) * e**2.5
    assert abs(float(arccos.one_minus_relu_map(e)) - ser) <= e**3 + 1e-15 * e


def _naive_kernel(k1, layers):
    k = k1.copy()
    out = []
    for layer in range(1, max(layers) + 1):
        if layer in layers:
            out.append(1 - k.mean() / np.diag(k).mean())
        d = np.sqrt(np.diag(k))
        c = np.clip(k / np.outer(d, d), -1, 1)
        th = np.arccos(c)
        k = np.outer(d, d) * (np.sin(th) + (np.pi - th) * np.cos(th)) / np.pi
        np.fill_diagonal(k, d**2)
    return np.array(out)


def test_kernel_trajectory_matches_naive_recursion():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 20)) * rng.uniform(0.5, 2, size=(8, 1))
    layers = [1, 2, 3, 7, 20]
    tr = arccos.relu_kernel_trajectory(arccos.input_kernel(x), layers)
    np.testing.assert_allclose(
        tr["fraction"], _naive_kernel(arccos.input_kernel(x), layers), rtol=1e-9
    )
    norms = np.linalg.norm(x, axis=1)
    np.testing.assert_allclose(tr["floor"], 1 - norms.mean() ** 2 / np.mean(norms**2), rtol=1e-12)
    assert arccos.sample_variance_fraction(arccos.input_kernel(x)) == pytest.approx(
        tr["fraction"][0], rel=1e-12
    )


def test_relu_kernel_at_matches_fraction_trajectory():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((10, 12))
    k1 = arccos.input_kernel(x)
    tr = arccos.relu_kernel_trajectory(k1, [1, 4, 25])
    for layer, frac in zip([1, 4, 25], tr["fraction"], strict=True):
        k = arccos.relu_kernel_at(k1, layer)
        np.testing.assert_allclose(np.diag(k), np.diag(k1), rtol=1e-15)
        assert arccos.sample_variance_fraction(k) == pytest.approx(frac, rel=1e-9)


def test_kernel_step_monte_carlo():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 10))
    k1 = arccos.input_kernel(x)
    n = 400_000
    z = rng.multivariate_normal(np.zeros(4), k1, size=n)
    post = np.maximum(z, 0)
    prod = 2 * post[:, 0] * post[:, 1]  # K^2_01 = 2 E phi(z_0) phi(z_1) (He gain 2)
    d = np.sqrt(np.diag(k1))
    th = np.arccos(k1[0, 1] / (d[0] * d[1]))
    pred = d[0] * d[1] * arccos.arccos_kernel(1, th) / np.pi
    se = prod.std(ddof=1) / np.sqrt(n)
    assert abs(prod.mean() - pred) < 5 * se  # 5 SE, n = 4e5


def test_equal_norm_form_and_independent_check():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 50))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    tr = arccos.relu_kernel_trajectory(arccos.input_kernel(x), [1, 5, 30])
    np.testing.assert_allclose(tr["fraction"], (1 - 1 / 32) * (1 - tr["mean_corr"]), rtol=1e-10)
    assert np.all(tr["floor"] < 1e-14)
    # THEORY.md S3 independent check (one other draw of 256 N(0, I_784) inputs): draw-to-draw
    # variability of the fraction is ~0.1% early and ~3% at l=100 (the radial floor ~5e-4 varies
    # by ~10% between draws), hence 5% relative tolerance.
    x = rng.standard_normal((256, 784))
    fr = arccos.relu_kernel_trajectory(arccos.input_kernel(x), [1, 2, 5, 10, 20, 50, 100])
    np.testing.assert_allclose(
        fr["fraction"], [0.9964, 0.6792, 0.3182, 0.1452, 0.0559, 0.0132, 0.00428], rtol=5e-2
    )


def test_sphere_inputs_decay_law():
    rng = np.random.default_rng(1)
    b = 16
    x = rng.standard_normal((b, 40))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    layers = [1000, 10_000]
    fr = arccos.relu_kernel_trajectory(arccos.input_kernel(x), layers)["fraction"]
    pred = (1 - 1 / b) * 9 * np.pi**2 / 2 / np.array(layers, dtype=float) ** 2
    assert abs(fr[1] / pred[1] - 1) < 0.01  # S5 (c1)
    slope = np.log(fr[1] / fr[0]) / np.log(10)
    assert abs(slope + 2) < 0.02  # S5 (c3)


def test_mean_field_chi():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 64))
    chi = arccos.mean_field_chi(x, [0, 1, 5, 50])
    assert chi[0] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(chi) > 0)


@HYP
@given(st.integers(2, 12), st.integers(0, 2**32 - 1))
def test_fraction_in_unit_interval_and_nonincreasing(b, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((b, 6)) * rng.uniform(0.1, 3.0, size=(b, 1))
    fr = arccos.relu_kernel_trajectory(arccos.input_kernel(x), [1, 2, 4, 8, 16])["fraction"]
    assert np.all(fr >= -1e-12) and np.all(fr <= 1 + 1e-12)
    assert np.all(np.diff(fr) <= 1e-12)
