"""Labatie claims L1-L13: symbolic certificates, numeric cross-checks, headline values."""

import math
import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import theory
from theory import arccos, gaussian, labatie

PI = sp.pi
HYP = settings(max_examples=30, deadline=None, derandomize=True)
LABATIE_IDS = [f"L{i}" for i in range(1, 14)]



@pytest.mark.parametrize("cid", LABATIE_IDS)
def test_every_claim_has_evaluator_and_latex(cid):
    d = theory.get(cid)
    assert d.claim_id == cid and d.paper == theory.LABATIE
    assert d.evaluate is not None and callable(d.evaluate)
    assert d.latex().strip()
    assert d.expressions and d.statement


def test_sign_symmetry_identities():
    for key, residual in labatie.sign_symmetry_identities().items():
        assert residual == 0, key


def test_sign_symmetrisation_on_empirical_sample():
    # The variance identity is exact for any distribution, e.g. an empirical one.
    rng = np.random.default_rng(4)
    y = rng.gamma(2.0, size=1000) - 1.3
    lhs = 0.5 * (np.var(np.maximum(y, 0)) + np.var(np.maximum(-y, 0)))
    rhs = 0.25 * (np.var(y) + np.var(np.abs(y)))
    assert lhs == pytest.approx(rhs, rel=1e-12)


# ---------------------------------------------------------------------------------- L1
def test_l1_symbolic():
    d = theory.get("L1")
    assert d.expressions["periodic_ratio"] == 2
    k, n = d.symbol("k"), d.symbol("n")
    target = ((k * n - (k**2 - 1) / 4) / (k * n)) ** 2
    assert sp.simplify(d.expressions["zero_padding_factor"] - target) == 0
    assert abs(d.headline["zero_padding_factor(k=3,n=16)"] - 0.918403) < 5e-7  # N19


def test_l1_zero_padding_factor_by_counting():
    # Count (pixel, patch) incidences of a SAME 3x3 convolution on 16x16: energy factor.
    k, n = 3, 16
    ones = np.pad(np.ones((n, n)), 1)
    count = sum(ones[i : i + n, j : j + n].sum() for i in range(k) for j in range(k))
    factor = float(labatie.zero_padding_energy_factor(3, 16))
    assert count / (k * k * n * n) == pytest.approx(factor, rel=1e-12)


def test_l1_l2_conditional_expectations_monte_carlo():
    rng = np.random.default_rng(10)
    m, kdim, n_out, draws = 40, 24, 16, 3000
    p = rng.standard_normal((m, kdim)) + 0.5
    dp = rng.standard_normal((m, kdim))
    cond = labatie.conditional_conv_moments(p, dp)
    w = rng.standard_normal((draws, kdim, n_out)) * np.sqrt(2 / kdim)
    y = np.einsum("mk,dkc->dmc", p, w)
    dy = np.einsum("mk,dkc->dmc", dp, w)
    stats = {
        "E_nu2_y": (y**2).mean(axis=(1, 2)),
        "E_mu2_y": y.var(axis=1).mean(axis=1),
        "E_mu2_dy": (dy**2).mean(axis=(1, 2)),
    }
    for key, s in stats.items():
        se = s.std(ddof=1) / np.sqrt(draws)
        assert abs(s.mean() - cond[key]) < 5 * se, key  # 5 SE over 3000 kernels
    # L2: after ReLU, half of the pre-activation moments
    l2 = theory.get("L2").evaluate(p, dp)
    x = np.maximum(y, 0)
    dx = (y > 0) * dy
    for key, s in (("E_nu2_x", (x**2).mean(axis=(1, 2))), ("E_mu2_dx", (dx**2).mean(axis=(1, 2)))):
        se = s.std(ddof=1) / np.sqrt(draws)
        assert abs(s.mean() - l2[key]) < 5 * se, key


def test_l2_symbolic():
    d = theory.get("L2")
    assert d.expressions["square_identity_residual"] == 0
    assert d.expressions["indicator_identity_residual"] == 0
    assert d.expressions["E_nu2_x_over_nu2_prev"] == 1


# ---------------------------------------------------------------------------------- L3
def test_l3_symbolic():
    d = theory.get("L3")
    n, n_in = d.symbol("N"), d.symbol("N_in")
    assert sp.simplify(d.expressions["E_R"] - n / n_in) == 0
    assert sp.simplify(d.expressions["relative_variance"] - 5 / n) == 0
    assert sp.simplify(d.expressions["drift_log"] + sp.Rational(5, 2) / n) == 0
    assert sp.simplify(d.expressions["var_log"] - 5 / n) == 0
    assert d.expressions["E_2phi2_sq"] == 6


def test_l3_noise_relative_variance():
    d = theory.get("L3")
    n, vq = d.symbol("N"), d.symbol("Var_q")
    assert sp.simplify(d.expressions["noise_relative_variance"] - (1 / n + 2 * vq / n)) == 0
    rng = np.random.default_rng(21)
    kdim, n_out, draws = 6, 8, 100_000
    a = rng.standard_normal((kdim, kdim))
    dm = a @ a.T
    w = rng.standard_normal((draws, n_out, kdim))
    q = np.einsum("dci,ij,dcj->dc", w, dm, w) / np.trace(dm)
    b = rng.integers(0, 2, size=(draws, n_out))
    ratio = 2 / n_out * (b * q).sum(axis=1)
    se = np.sqrt(np.var((ratio - ratio.mean()) ** 2, ddof=1) / draws)
    # 5 SE of the sample variance (1e5 draws)
    assert abs(ratio.var(ddof=1) - labatie.noise_relative_variance(dm, n_out)) < 5 * se


def test_l3_exact_log_moments_values():
    d = theory.get("L3")
    h = d.headline
    # N16, 6 decimals
    assert abs(h["E_logR(N=128)"] + 0.019786) < 5e-7
    assert abs(h["Var_logR(N=128)"] - 0.040234) < 5e-7
    assert abs(h["E_logR(N=512)"] + 0.004898) < 5e-7
    assert abs(h["Var_logR(N=512)"] - 0.009837) < 5e-7
    assert abs(h["relative_variance(N=128)"] - 0.039063) < 1e-6  # N15 (5/128 = 0.0390625)
    mean, var = labatie.vanilla_exact_log_moments(np.array([2048, 8192]))
    # asymptotics -5/(2N), 5/N with O(1/N^2) corrections
    np.testing.assert_allclose(mean * np.array([2048, 8192]), -2.5, rtol=1e-2)
    np.testing.assert_allclose(var * np.array([2048, 8192]), 5.0, rtol=1e-2)


def test_l3_log_moments_monte_carlo():
    rng = np.random.default_rng(12)
    n, draws = 128, 200_000
    k = rng.binomial(n, 0.5, size=draws)
    r = 2 / n * rng.chisquare(np.maximum(k, 1))
    lr = np.log(r)
    mean, var = labatie.vanilla_exact_log_moments(n)
    se_m = lr.std(ddof=1) / np.sqrt(draws)
    assert abs(lr.mean() - mean) < 5 * se_m  # 5 SE, 2e5 draws
    # SE of the sample variance ~ sqrt((m4 - var^2)/n)
    c = lr - lr.mean()
    se_v = np.sqrt(np.var(c**2, ddof=1) / draws)
    assert abs(lr.var(ddof=1) - var) < 5 * se_v


def test_l3_relative_variance_direct_monte_carlo():
    rng = np.random.default_rng(13)
    n, draws = 128, 20_000
    r = 2 / n * (np.maximum(rng.standard_normal((draws, n)), 0) ** 2).sum(axis=1)
    rel = r.var(ddof=1)
    se = np.sqrt(np.var((r - r.mean()) ** 2, ddof=1) / draws)
    assert abs(rel - 5 / n) < 5 * se  # E R = 1; 5 SE of the variance estimate


def test_l3_general_relative_variance():
    rng = np.random.default_rng(14)
    m = rng.standard_normal(6)
    collinear = rng.uniform(0.5, 2, size=(30, 1)) * m
    assert labatie.general_relative_variance(collinear) == pytest.approx(5.0, rel=1e-9)
    eye = np.eye(40)
    assert labatie.general_relative_variance(eye) == pytest.approx(5 / 40, rel=1e-9)
    # Monte Carlo over He weights of Q_c = E_p phi(w.p)^2
    p = rng.standard_normal((8, 5)) + np.array([1.0, 0, 0, 0, 0])
    w = rng.standard_normal((200_000, 5)) * np.sqrt(2 / 5)
    q = (np.maximum(w @ p.T, 0) ** 2).mean(axis=1)
    rel = q.var(ddof=1) / q.mean() ** 2
    v = labatie.general_relative_variance(p)
    se = np.sqrt(np.var((q - q.mean()) ** 2, ddof=1) / q.size) / q.mean() ** 2
    assert abs(rel - v) < 5 * se + 0.01 * v  # 5 SE + 1% for the ratio-estimator bias
    assert 0 <= v <= 5


# ---------------------------------------------------------------------------------- L4
def test_l4_symbolic_and_values():
    d = theory.get("L4")
    rho = d.symbol("rho")
    assert d.expressions["variance_identity_residual"] == 0
    assert sp.simplify(d.expressions["delta_chi_sq"] - 2 / (1 + rho)) == 0
    assert sp.simplify(d.expressions["delta_chi_sq_gaussian"] - PI / (PI - 1)) == 0
    cbar, fbar = d.symbol("cbar"), d.symbol("fbar_abs")
    mf = 2 * (1 - cbar) / (2 - cbar - fbar)
    assert sp.simplify(d.expressions["delta_chi_sq_mean_field"] - mf) == 0
    assert abs(d.headline["delta_chi_gaussian"] - 1.211174) < 5e-7  # N3
    n23 = [1.2112, 1.1604, 1.1308, 1.0756, 1.0354, 1.0154]
    got = labatie.vanilla_increment_mean_field([0, 1 / np.pi, 0.5, 0.8, 0.95, 0.99])
    np.testing.assert_allclose(got, n23, atol=5e-5)  # 4-decimal table


def test_l4_gaussian_rho_monte_carlo_and_kernel_form():
    rng = np.random.default_rng(15)
    g = rng.standard_normal(1_000_000)
    rho_hat = np.var(np.abs(g)) / np.var(g)
    # rho = 1 - 2/pi; SE of the ratio ~ 1e-3 at n = 1e6, 5 SE
    assert abs(rho_hat - (1 - 2 / np.pi)) < 5e-3
    b, c = 3000, 0.5
    k = np.full((b, b), c)
    np.fill_diagonal(k, 1.0)
    # B = 3000: diagonal terms shift the pair averages by O(1/B)
    assert labatie.vanilla_increment_from_kernel(k) == pytest.approx(
        float(labatie.vanilla_increment_mean_field(c)), abs=1e-3
    )


@HYP
@given(st.floats(0.0, 1.0))
def test_l4_increment_at_least_one(rho):
    assert labatie.vanilla_increment(rho) >= 1 - 1e-15
    assert theory.get("L4").holds_for(rho=rho)


# ---------------------------------------------------------------------------------- L5
def test_l5_symbolic_and_mean_field_slope():
    d = theory.get("L5")
    lay = d.symbol("l")
    assert sp.limit(lay * (d.expressions["delta_chi_sq_asymptotic"] - 1), lay, sp.oo) == 2
    assert abs(d.headline["one_over_slope"] - 6.664) < 5e-4  # N24
    assert d.headline["log_chi_shift(4x width)"] == pytest.approx(np.log(2), rel=1e-12)
    rng = np.random.default_rng(16)
    x = rng.standard_normal((32, 64))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    out = d.evaluate(x, [0, 1000, 2000])
    chi = out["chi"]
    frac1 = arccos.relu_kernel_trajectory(arccos.input_kernel(x), [1])["fraction"][0]
    slope = (chi[2] - chi[1]) / 1000 / np.sqrt(frac1 / (1 - 1 / 32))
    # d chi/dl -> sqrt(frac1/(1-1/B)) * sqrt2/(3 pi); O(log l / l^2) corrections at l ~ 1e3
    assert slope == pytest.approx(out["asymptotic_chi_slope"], rel=2e-3)


# ---------------------------------------------------------------------------------- L6
def test_l6_symbolic_and_values():
    d = theory.get("L6")
    nu1 = d.symbol("nu_1")
    assert sp.simplify(d.expressions["delta_phi_chi_sq"] - 2 / (2 - nu1**2)) == 0
    assert sp.simplify(d.expressions["delta_phi_chi_sq_gaussian"] - PI / (PI - 1)) == 0
    assert abs(d.headline["delta_phi_chi_gaussian"] - 1.211174) < 5e-7  # N3
    assert abs(d.headline["delta_phi_chi_sq_gaussian"] - 1.466942) < 5e-7  # N2
    assert d.headline["delta_phi_chi_sq(nu1=0.5)"] == pytest.approx(8 / 7, rel=1e-12)  # N4


def test_l6_exact_on_standardised_samples():
    # Sign-symmetrised mu2(phi(z)) = (2 - nu1^2)/4 for any centred unit-variance sample.
    rng = np.random.default_rng(17)
    z = rng.standard_t(4, size=(5, 2000))
    z = (z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True)
    mu2 = 0.5 * (np.var(np.maximum(z, 0), axis=1) + np.var(np.maximum(-z, 0), axis=1))
    nu1 = np.abs(z).mean(axis=1)
    np.testing.assert_allclose(mu2, (2 - nu1**2) / 4, rtol=1e-12)
    np.testing.assert_allclose(
        labatie.bn_relu_increment(nu1, channel_axis=0),
        np.sqrt(2 / (2 - np.mean(nu1**2))),
        rtol=1e-14,
    )


# ---------------------------------------------------------------------------------- L7
def test_l7_symbolic():
    d = theory.get("L7")
    r, k = d.symbol("r"), d.symbol("K")
    assert sp.simplify(d.expressions["E_inv_chi2_r"] - 1 / (r - 2)) == 0
    assert d.expressions["det_identity_residual_r3_K5"] == 0
    assert d.expressions["trace_identity_residual_r3_K5"] == 0
    assert sp.simplify(d.expressions["delta_bn_sq_rank_r"] - r * (k - 2) / (k * (r - 2))) == 0
    assert sp.simplify(d.expressions["delta_bn_sq_rank_r_K_inf"] - r / (r - 2)) == 0
    # N14 is quoted as 0.688 (3 digits, truncated; exact 0.68864)
    assert abs(d.headline["aligned_noise_limit"] - 0.688) < 1e-3
    for rv, val in ((3, 3), (4, 2), (5, 1.667), (8, 1.333), (10, 1.25), (20, 1.111), (50, 1.0417)):
        assert abs(d.headline[f"r/(r-2)(r={rv})"] - val) < 5e-4


def test_l7_aligned_noise_by_quadrature():
    val, err = gaussian.gaussian_expectation(lambda g: g**2 / (1 + g**2))
    assert abs(2 * val - theory.get("L7").headline["aligned_noise_limit"]) < max(20 * err, 1e-10)
    m = 400
    c = np.eye(m + 1)
    c[0, 0] = m
    dd = np.zeros((m + 1, m + 1))
    dd[0, 0] = 1
    v, _ = labatie.delta_bn_sq_integral(c, dd)
    # finite M: sum_{i>=2} w_i^2 / M has variance 2/M, a second-order (O(1/M)) correction
    assert v == pytest.approx(2 * val, abs=5e-3)


def test_l7_integral_against_monte_carlo():
    rng = np.random.default_rng(18)
    kdim = 100
    # THEORY.md independent check: K = 100, r = 10: closed form 1.225
    p = np.zeros((kdim, kdim))
    p[np.arange(10), np.arange(10)] = 1.0
    v, _ = labatie.delta_bn_sq_integral(3.0 * p, np.eye(kdim))
    assert v == pytest.approx(float(labatie.delta_bn_sq_rank_r(10, kdim)), rel=1e-8)
    mc, se = labatie.delta_bn_sq_monte_carlo(3.0 * p, np.eye(kdim), 40_000, rng)
    assert abs(mc - v) < 5 * se  # 5 SE; r = 10 > 4 so the variance is finite
    # anisotropic C and D
    a = rng.standard_normal((20, 30))
    c = a @ a.T / 30
    b = rng.standard_normal((20, 25))
    dd = b @ b.T / 25
    v, err = labatie.delta_bn_sq_integral(c, dd)
    mc, se = labatie.delta_bn_sq_monte_carlo(c, dd, 100_000, rng)
    assert abs(mc - v) < 5 * se + err


@HYP
@given(st.integers(3, 30), st.integers(0, 40), st.floats(0.1, 10.0))
def test_l7_closed_form_equals_integral(r, extra, lam):
    k = r + extra
    c = np.zeros((k, k))
    c[np.arange(r), np.arange(r)] = lam
    v, err = labatie.delta_bn_sq_integral(c, 2.5 * np.eye(k))
    assert v == pytest.approx(float(labatie.delta_bn_sq_rank_r(r, k)), rel=1e-7)
    assert theory.get("L7").holds_for(r=r, K=k)


def test_l7_rank_two_is_infinite():
    c = np.diag([1.0, 1.0, 0.0, 0.0])
    assert labatie.delta_bn_sq_integral(c, np.eye(4))[0] == float("inf")


# ---------------------------------------------------------------------------------- L8/L9
def test_l8_symbolic_and_values():
    d = theory.get("L8")
    m = d.symbol("M")
    assert sp.simplify(d.expressions["kappa_M"] - (m - 2 + 1 / (m - 1))) == 0
    assert sp.simplify(d.expressions["gamma_gaussian"] - sp.log(PI / (PI - 1)) / 2) == 0
    assert d.expressions["gamma_lower_bound_times_M_limit"] == sp.Rational(1, 4)
    assert abs(d.headline["gamma_gaussian"] - 0.191590) < 5e-7  # N5
    assert abs(d.headline["kappa_M(M=64)"] - 62.016) < 5e-4  # N18
    assert float(labatie.gamma_lower_bound(64)) == pytest.approx(
        d.headline["gamma_lower_bound(M=64)"], rel=1e-12
    )
    nu1 = np.full(10, np.sqrt(2 / np.pi))
    assert labatie.bn_ff_assembled_rate(nu1, np.ones(10)) == pytest.approx(0.191590, abs=5e-7)


def test_kappa_is_attained_by_one_atom_configuration():
    for m in (4, 64, 1000):
        x = np.full(m, -1.0)
        x[0] = m - 1.0
        x = (x - x.mean()) / x.std()
        assert np.mean(x**4) == pytest.approx(float(labatie.kappa_m(m)), rel=1e-12)


@HYP
@given(st.integers(4, 200), st.integers(0, 2**32 - 1), st.sampled_from(["normal", "exp", "t"]))
def test_l9_bounds_hold_for_m_atom_distributions(m, seed, kind):
    rng = np.random.default_rng(seed)
    z = {
        "normal": rng.standard_normal,
        "exp": rng.exponential,
        "t": lambda size: rng.standard_t(2.5, size=size),
    }[kind](size=m)
    if np.std(z) < 1e-9:
        return
    z = (z - z.mean()) / z.std()
    mu4, nu1 = np.mean(z**4), np.mean(np.abs(z))
    assert labatie.kurtosis_bounds(mu4, nu1, m)
    assert theory.get("L9").holds_for(mu4=mu4, nu1=nu1, M=m)


def test_l9_symbolic():
    d = theory.get("L9")
    nu1 = d.symbol("nu_1")
    assert sp.simplify(d.expressions["mu4_lower"] - 1 / nu1**2) == 0
    assert d.expressions["holder_conjugate_residual"] == 0
    assert d.expressions["holder_power_residuals"] == 0
    assert abs(d.headline["kappa_M(M=64)"] - 62.016) < 5e-4


# ---------------------------------------------------------------------------------- L10-L12
def test_l10_symbolic_and_values():
    d = theory.get("L10")
    nu1 = d.symbol("nu_1")
    assert d.expressions["increment_identity_residual"] == 0
    assert sp.simplify(d.expressions["E_mu2_F"] - (1 - nu1**2 / 2)) == 0
    assert sp.simplify(d.expressions["E_mu2_F_gaussian"] - (1 - 1 / PI)) == 0
    assert sp.simplify(d.expressions["c0"] - 1 / (1 - 1 / PI)) == 0
    assert abs(d.headline["E_mu2_F_gaussian"] - 0.681690) < 5e-7  # N11
    assert abs(d.headline["c0"] - 1.467) < 5e-4  # N12
    assert labatie.resnet_increment_sq(0.5, 2.0, 4.0) == pytest.approx(1.25)
    assert labatie.resnet_increment_sq(0.5, layer=10, c0=1.0) == pytest.approx(1 + 0.5 / 11)


def test_l10_branch_variance_monte_carlo():
    # E mu2(F) = 2 * sign-symmetrised Var phi(z) = 1 - 1/pi for Gaussian z
    rng = np.random.default_rng(19)
    z = rng.standard_normal((2000, 256))
    z = (z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True)
    s = np.var(np.maximum(z, 0), axis=1) + np.var(np.maximum(-z, 0), axis=1)
    se = s.std(ddof=1) / np.sqrt(s.size)
    # 5 SE over 2000 channels plus O(1/B) = 1/256 standardisation bias allowance
    assert abs(s.mean() - (1 - 1 / np.pi)) < 5 * se + 2 / 256


def test_l11_symbolic_and_values():
    d = theory.get("L11")
    assert d.expressions["recursion_residual"] == 0
    assert d.expressions["initial_residual"] == 0
    assert d.expressions["log_gamma_ratio_minus_eta_log_X_limit"] == 0
    c0, eta = d.symbol("c_0"), d.symbol("eta")
    assert (
        sp.simplify(
            d.expressions["chi_sq_over_L_eta_limit"] - sp.gamma(c0 + 1) / sp.gamma(c0 + 1 + eta)
        )
        == 0
    )
    h = sp.Symbol("H", positive=True, integer=True)
    assert sp.simplify(d.expressions["tau_G"] - ((PI / (PI - 1)) ** h - 1) / 2) == 0
    for hv, val in zip((1, 2, 3, 4), (0.233471, 0.575960, 1.078371, 1.815379), strict=True):
        assert abs(d.headline[f"tau_G(H={hv})"] - val) < 5e-7  # N6-N9
    assert abs(d.headline["tau_G(3)/tau_G(1)"] - 4.619) < 5e-4  # N10
    np.testing.assert_allclose(labatie.tau_gaussian([1, 2]), [0.233471, 0.575960], atol=5e-7)


def test_l11_product_and_power_law():
    eta, c0 = 1.15, 1.467
    lay = np.arange(1, 501)
    direct = np.sqrt(np.cumprod(1 + eta / (lay + c0)))
    np.testing.assert_allclose(labatie.resnet_chi_product(lay, eta, c0), direct, rtol=1e-10)
    big = np.array([1e6, 1e7])
    slope = np.diff(np.log(labatie.resnet_chi_product(big, eta, c0))) / np.log(10)
    assert slope[0] == pytest.approx(eta / 2, rel=1e-4)


def test_l12_symbolic_and_values():
    d = theory.get("L12")
    assert d.expressions["step_residual"] == 0
    assert d.expressions["initial_value"] == 0
    c0, h = d.symbol("c_0"), d.symbol("H")
    assert sp.simplify(d.expressions["minus_H_log_l_limit"] + h * sp.digamma(c0 + 1)) == 0
    lay = np.arange(1, 501)
    direct = 2 * np.cumsum(1 / (lay + 1.467))
    np.testing.assert_allclose(labatie.effective_depth(lay, 2, 1.467), direct, rtol=1e-12)
    assert d.headline["H_log_l(H=2,l=500)"] == pytest.approx(2 * np.log(500))


def test_l13():
    d = theory.get("L13")
    assert d.headline["band_ratio(128 vs 512)"] == 2
    assert labatie.log_moment_band_ratio(128, 512) == pytest.approx(2.0)


# ---------------------------------------------------------------------------------- catalog
def _catalog_value(cat, name):
    m = re.search(re.escape(name) + r" = ([-0-9.e+]+)", cat)
    assert m, name
    return float(m.group(1))


def test_catalog_headlines():
    cat = theory.catalog()
    for cid in LABATIE_IDS:
        assert re.search(rf"^{cid}\s", cat, re.M), cid
    # catalog prints 6 significant digits
    assert abs(_catalog_value(cat, "delta_phi_chi_gaussian") - 1.211174) < 5e-6
    assert abs(_catalog_value(cat, "tau_G(H=2)") - 0.575960) < 5e-6
    assert abs(_catalog_value(cat, "nine_pi2_over_2") - 44.4132) < 5e-5


def _example_args(cid):
    rng = np.random.default_rng(100)
    p = rng.standard_normal((30, 12))
    c = np.diag(np.arange(1.0, 13.0))
    return {
        "L1": ((p, rng.standard_normal((30, 12))), {}),
        "L2": ((p, rng.standard_normal((30, 12))), {}),
        "L3": ((np.array([64, 128]),), {}),
        "L4": ((np.array([0.0, 0.5, 1.0]),), {}),
        "L5": ((rng.standard_normal((8, 16)), [1, 2, 10]), {}),
        "L6": ((np.array([0.5, 0.79]),), {}),
        "L7": ((c, np.eye(12)), {}),
        "L8": ((np.full(5, 0.7), np.full(5, 1.05)), {}),
        "L9": ((np.array([3.0, 10.0]), np.array([0.8, 0.5]), 64), {}),
        "L10": ((np.array([0.5, 1.0]), 0.68, np.array([2.0, 3.0])), {}),
        "L11": ((np.array([10, 100]), 1.15), {}),
        "L12": ((np.array([10, 500]),), {}),
        "L13": ((128, 512), {}),
    }[cid]


@pytest.mark.parametrize("cid", LABATIE_IDS)
def test_every_evaluator_runs(cid):
    args, kwargs = _example_args(cid)
    out = theory.get(cid).evaluate(*args, **kwargs)
    values = out.values() if isinstance(out, dict) else (out if isinstance(out, tuple) else [out])
    for v in values:
        assert np.all(np.isfinite(np.asarray(v, dtype=float))), cid


@HYP
@given(st.integers(1, 20), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_l3_relative_variance_in_range(m, k, seed):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal((m, k)) * rng.uniform(0.1, 3, size=(m, 1))
    v = labatie.general_relative_variance(p)
    assert -1e-9 <= v <= 5 + 1e-9


# --- predictions used by the L7-L13 checks (issue 14) ---
def _spectra_of(x, dx):
    """C, D and the engine's spectra normalisation (eigenvalues of C, u_i' D u_i / tr D)."""
    b = x.shape[0]
    xc = x - x.mean(axis=0)
    c = xc.T @ xc / b
    d = dx.T @ dx / b
    w, v = np.linalg.eigh(xc @ xc.T)
    w, v = w[::-1], v[:, ::-1]
    keep = w > w[0] * 1e-12
    u = (xc.T @ v[:, keep]) / np.sqrt(w[keep])  # unit eigenvectors of C
    proj = np.zeros(b)
    proj[keep] = np.einsum("ki,kl,li->i", u, d, u) / np.trace(d)
    return c, d, np.clip(w, 0, None) / b, proj


def test_delta_bn_sq_from_spectra_matches_full_integral():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((12, 40)) @ rng.standard_normal((40, 40))  # anisotropic signal
    dx = rng.standard_normal((12, 40)) * np.linspace(0.2, 2.0, 40)  # anisotropic noise
    c, d, lam, proj = _spectra_of(x, dx)
    full = labatie.delta_bn_sq_integral(c, d)[0]
    assert labatie.delta_bn_sq_from_spectra(lam, proj) == pytest.approx(full, rel=1e-7)


def test_delta_bn_sq_from_spectra_rank_r_closed_form():
    r, k = 8, 30
    lam = np.r_[np.ones(r), np.zeros(4)]  # isotropic rank r, B = r + 4 < K
    proj = np.r_[np.full(r, 1.0 / k), np.zeros(4)]  # isotropic noise: 1/K per direction
    got = labatie.delta_bn_sq_from_spectra(lam, proj)
    assert got == pytest.approx(float(labatie.delta_bn_sq_rank_r(r, k)), rel=1e-7)


def test_aligned_noise_limit_closed_form():
    # E[1/(1+g^2)] = sqrt(pi/2) e^(1/2) erfc(1/sqrt 2), independently of the sympy integral
    from scipy import special

    want = 2 * (1 - np.sqrt(np.pi / 2) * np.exp(0.5) * special.erfc(1 / np.sqrt(2)))
    assert labatie.aligned_noise_limit() == pytest.approx(want, rel=1e-12)
    assert labatie.aligned_noise_limit() == pytest.approx(
        theory.get("L7").headline["aligned_noise_limit"], rel=1e-12)


def test_gamma_gaussian():
    assert labatie.gamma_gaussian() == pytest.approx(0.5 * np.log(np.pi / (np.pi - 1)), rel=1e-14)
    assert labatie.gamma_gaussian() == pytest.approx(0.191590, abs=1e-6)


def test_bn_ff_log_increment_bias_terms():
    n, b = 512, 64
    # ReLU term: max(4 mu4/(2 - nu1^2)^2, kappa_dz)/(4BN); BN term v_q/(4N)
    got = labatie.bn_ff_log_increment_bias(n, b, 4.5, 0.6, 0.138)
    assert got == pytest.approx(4 * 4.5 / 1.4**2 / (4 * b * n) + 0.138 / (4 * n))
    assert labatie.bn_ff_log_increment_bias(n, b, 0.1, 0.6, 0.0) == pytest.approx(
        3.0 / (4 * b * n))
    # O(1/N): halves when the width doubles
    assert labatie.bn_ff_log_increment_bias(2 * n, b, 4.5, 0.6, 0.138) == pytest.approx(got / 2)


def test_bn_ff_log_increment_bias_bn_term_by_monte_carlo():
    # E log mean_c q_c - log E q = -Var(q)/(2 N E^2 q) to second order, q = w'Dw/w'Cw
    rng = np.random.default_rng(3)
    n, r, k = 64, 30, 60
    q = (r / k) * (1 + rng.chisquare(k - r, (4000, n)) / rng.chisquare(r, (4000, n)))
    v_q = q.var() / q.mean() ** 2
    bias_log_delta = 0.5 * (np.log(q.mean(axis=1)).mean() - np.log(q.mean()))
    want = labatie.bn_ff_log_increment_bias(n, 10**9, 0.0, 0.0, v_q, noise_kurtosis=0.0)
    assert -bias_log_delta == pytest.approx(want, rel=0.2)


def test_resnet_branch_mu2_and_accumulation():
    nu1_sq = np.array([2 / np.pi, 0.5])
    assert np.allclose(labatie.resnet_branch_mu2(nu1_sq), 1 - nu1_sq / 2)
    assert float(labatie.resnet_branch_mu2(2 / np.pi)) == pytest.approx(1 - 1 / np.pi)
    f = np.array([[0.5, 0.25, 0.25], [1.0, 1.0, 1.0]])
    acc = labatie.resnet_mu2_accumulated(np.array([1.0, 2.0]), f)
    assert np.allclose(acc, [[1.5, 1.75, 2.0], [3.0, 4.0, 5.0]])
    # constant branch variance: mu2(F)/mu2(x^l) = 1/(l + c0), c0 = mu2(x^0)/mu2(F)
    mf = 1 - 1 / np.pi
    ratio = mf / labatie.resnet_mu2_accumulated(np.array([1.0]), np.full((1, 5), mf))[0]
    c0 = theory.get("L10").headline["c0"]
    assert np.allclose(ratio, 1 / (np.arange(1, 6) + c0))


def test_tau_rank_corrected_and_code():
    for h in (1, 2, 3):
        assert labatie.tau_rank_corrected(h, 257, 256) == pytest.approx(
            float(labatie.tau_gaussian(h)))
        assert labatie.tau_rank_corrected(h, 64, 512) > float(labatie.tau_gaussian(h))
    f = 63 * 510 / (512 * 61)
    q = np.pi / (np.pi - 1)
    assert labatie.tau_rank_corrected(2, 64, 512) == pytest.approx(((q * f) ** 2 - 1) / 2)
    assert labatie.tau_code(np.sqrt(q), 2) == pytest.approx(float(labatie.tau_gaussian(2)))
    assert labatie.tau_code(1.1, 1) == pytest.approx((1.21 - 1) / 2)


def test_gaussian_nu1():
    assert labatie.gaussian_nu1() == pytest.approx(np.sqrt(2 / np.pi), rel=1e-14)


def test_log_moment_band_ratio_exact():
    got = labatie.log_moment_band_ratio_exact(128, 512)
    assert got == pytest.approx(np.sqrt(0.040234 / 0.009837), rel=1e-4)  # THEORY.md L3 values
    assert got == pytest.approx(2.022, abs=1e-3)
    # tends to the asymptotic sqrt(N_large/N_small) at large widths
    assert labatie.log_moment_band_ratio_exact(4096, 16384) == pytest.approx(2.0, rel=2e-3)


# --- predictions used by the L1-L6 checks (issue 14) ---
def test_he_layer_ratios_are_the_exact_conditional_values_at_fc():
    """L1: 2 for every moment at any fan-in and batch; at FC (p = x) the exact conditional values
    of `conditional_conv_moments` are the same ratios (an independent computation)."""
    assert sp.simplify(theory.get("L1").expressions["periodic_ratio"] - 2) == 0
    rng = np.random.default_rng(0)
    for k, b in ((8, 5), (64, 32)):
        x = rng.standard_normal((b, k)) + 0.5
        dx = rng.standard_normal((b, k))
        r = labatie.he_layer_ratios(k, b)
        assert set(r) == {"nu2", "mu2", "noise mu2"}
        cond = labatie.conditional_conv_moments(x, dx)
        assert cond["E_nu2_y"] / np.mean(x**2) == pytest.approx(r["nu2"], rel=1e-12)
        assert cond["E_mu2_y"] / np.mean(np.var(x, axis=0)) == pytest.approx(r["mu2"], rel=1e-12)
        assert cond["E_mu2_dy"] / np.mean(dx**2) == pytest.approx(r["noise mu2"], rel=1e-12)


def test_relu_conditional_moments_monte_carlo():
    """L2: a direct Monte Carlo of He-ReLU layers (numpy, W ~ N(0, 2/K)) on a fixed input."""
    rng = np.random.default_rng(1)
    b, k = 4, 6
    x = rng.standard_normal((b, k)) + 0.3
    dx = rng.standard_normal((b, k))
    got = labatie.relu_conditional_moments(x, dx)
    w = rng.standard_normal((20000, k, k)) * np.sqrt(2 / k)
    y, dy = x @ w, dx @ w
    nu2 = np.mean(np.maximum(y, 0) ** 2, axis=(1, 2))
    mu2_d = np.mean(np.where(y > 0, dy, 0) ** 2, axis=(1, 2))
    for est, key in ((nu2, "E_nu2_x"), (mu2_d, "E_mu2_dx")):
        assert abs(est.mean() - got[key]) < 5 * est.std() / np.sqrt(est.size), key
    assert got["E_nu2_x"] == pytest.approx(np.mean(x**2), rel=1e-12)  # the martingale


def test_martingale_mean_ratio_and_half_gap():
    """L2: the mean ratio is 1 at every depth; the (c2) margin is half the gap to the median."""
    assert all(labatie.martingale_mean_ratio(l, n) == 1.0 for l in (0, 6, 200) for n in (64, 512))
    kk = np.arange(1, 65)
    pmf = np.array([math.comb(64, int(j)) for j in kk], dtype=float) / 2.0**64
    drift = np.log(4 / 64) + np.sum(pmf * special.digamma(kk / 2))  # independent sum
    assert labatie.mean_median_half_gap(64, 12) == pytest.approx((1 - np.exp(12 * drift)) / 2,
                                                                 rel=1e-10)
    assert 0 < labatie.mean_median_half_gap(64, 6) < labatie.mean_median_half_gap(64, 12) < 0.5


def test_conv_noise_diffusion_rate():
    """L3: 1/N, the Var q -> 0 limit of noise_relative_variance (D of growing effective rank)."""
    for n in (32, 128, 512):
        assert labatie.conv_noise_diffusion_rate(n) == pytest.approx(1 / n, rel=1e-14)
        k = 1000  # D = I_K: Var q = 2/K, so the ratio to 1/N is 1 + 4/K
        wide = labatie.noise_relative_variance(np.eye(k), n)
        assert wide == pytest.approx((1 + 4 / k) / n, rel=1e-12)
        assert wide == pytest.approx(1 / n, rel=5e-3)


def test_gaussian_and_limit_increments():
    """L4/L5/L6 constants: sqrt(pi/(pi-1)) from sympy and from the increment formulas; the
    one-dimensional limit 1; the saturated width shift log sqrt(ratio)."""
    q = np.sqrt(np.pi / (np.pi - 1))
    assert labatie.gaussian_vanilla_increment() == pytest.approx(q, rel=1e-14)
    assert labatie.gaussian_vanilla_increment() == pytest.approx(
        float(labatie.vanilla_increment(1 - 2 / np.pi)), rel=1e-14)
    assert labatie.bn_relu_increment_gaussian() == pytest.approx(q, rel=1e-14)
    assert labatie.bn_relu_increment_gaussian() == pytest.approx(1.211174, abs=1e-6)
    assert labatie.one_dimensional_increment_limit() == 1.0
    assert labatie.saturated_width_shift(4.0) == pytest.approx(np.log(2), rel=1e-14)
    assert labatie.saturated_width_shift(16.0) == pytest.approx(np.log(4), rel=1e-14)


def test_bn_relu_increment_from_sq_matches_the_per_channel_form():
    """L6: the channel-averaged nu1^2 form equals bn_relu_increment with channel_axis."""
    nu1 = np.random.default_rng(2).uniform(0.2, 0.9, size=(5, 16))
    exact = labatie.bn_relu_increment(nu1, channel_axis=1)
    got = labatie.bn_relu_increment_from_sq(np.mean(nu1**2, axis=1))
    np.testing.assert_allclose(got, exact, rtol=1e-14)
    assert labatie.bn_relu_increment_from_sq(2 / np.pi) == pytest.approx(
        labatie.bn_relu_increment_gaussian(), rel=1e-14)


def test_one_dimensional_realised_increment_is_three_over_two_n():
    # exact symbolic second-order term, and a Monte Carlo oracle of the model it assumes:
    # per channel s ~ Bernoulli(1/2) (on/off, shared), b = g^2 (signal, chi^2_1), a = 1
    # (noise of very large rank); realised increment sqrt(A / B), A = 2/N sum s a, B = 2/N sum s b
    sym = next(iter(labatie._expression("L5", "realised_increment_bias_1d").free_symbols))
    assert sp.simplify(labatie._expression("L5", "realised_increment_bias_1d")
                       - sp.Rational(3, 2) / sym) == 0
    assert labatie.one_dimensional_realised_increment(128) == pytest.approx(1 + 1.5 / 128)
    n, reps = 512, 40_000
    rng = np.random.default_rng(0)
    s = rng.random((reps, n)) < 0.5
    b = rng.standard_normal((reps, n)) ** 2
    ratio = np.sqrt(s.sum(axis=1) / (s * b).sum(axis=1))
    # MC SE of the mean: sd(ratio) ~ sqrt(6/N)/2 / sqrt(reps) ~ 2.7e-4; third-order terms
    # are O(N^-2) ~ 4e-6: tolerance 5 SE
    se = ratio.std() / math.sqrt(reps)
    assert abs(ratio.mean() - labatie.one_dimensional_realised_increment(n)) < 5 * se
