"""Luther & Seung claims S1-S9: symbolic certificates, numeric cross-checks, headline values."""

import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from theory import arccos, luther_seung

PI = sp.pi
HYP = settings(max_examples=30, deadline=None, derandomize=True)
LS_IDS = [f"S{i}" for i in range(1, 10)]



@pytest.mark.parametrize("cid", LS_IDS)
def test_every_claim_has_evaluator_and_latex(cid):
    d = theory.get(cid)
    assert d.claim_id == cid and d.paper == theory.LUTHER_SEUNG
    assert d.evaluate is not None and callable(d.evaluate)
    assert d.latex().strip()
    assert d.statement


def test_s1_identity():
    d = theory.get("S1")
    assert d.expressions["per_unit_residual_B6"] == 0
    for b in range(1, 9):  # the same certificate for other batch sizes
        zs = sp.symbols(f"z1:{b + 1}", real=True)
        m = sum(zs) / b
        res = sum(z**2 for z in zs) / b - m**2 - sum((z - m) ** 2 for z in zs) / b
        assert sp.expand(res) == 0
    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 64, 32)) * 3 + 1.0
    for ddof in (0, 1):
        out = luther_seung.decomposition(z, ddof=ddof)
        assert out["relative_residual"] < 1e-12
        assert 0 < out["fraction"] < 1


@HYP
@given(st.integers(2, 50), st.floats(-5, 5), st.floats(0.01, 10), st.integers(0, 2**32 - 1))
def test_s1_identity_property(b, mean, scale, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((7, b)) * scale + mean
    assert luther_seung.decomposition(z)["relative_residual"] < 1e-10


def test_s2_symbolic_and_monte_carlo():
    d = theory.get("S2")
    n0 = d.symbol("N_0")
    assert sp.simplify(d.expressions["first_layer_variance_per_sq_norm"] - 2 / n0) == 0
    nl, npv = d.symbol("N_l"), d.symbol("N_prev")
    assert sp.simplify(d.expressions["norm_ratio"] - nl / npv) == 0
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 30)) + 0.3
    pred = luther_seung.first_layer_total_variance(x)
    draws, n = 4000, 16
    w = rng.standard_normal((draws, 30, n)) * np.sqrt(2 / 30)
    z = np.einsum("bi,din->dbn", x, w)
    s = (z**2).mean(axis=(1, 2))
    se = s.std(ddof=1) / np.sqrt(draws)
    assert abs(s.mean() - pred) < 5 * se  # 5 SE over 4000 networks
    # next layer: total variance preserved in expectation
    w2 = rng.standard_normal((draws, n, n)) * np.sqrt(2 / n)
    z2 = np.einsum("dbn,dnm->dbm", np.maximum(z, 0), w2)
    s2 = (z2**2).mean(axis=(1, 2))
    se2 = s2.std(ddof=1) / np.sqrt(draws)
    assert abs(s2.mean() - pred) < 5 * se2


def test_s3_equal_norm_form():
    d = theory.get("S3")
    assert d.expressions["equal_norm_residual"] == 0
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 30))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    fr = d.evaluate(x, [1, 3, 9])
    tr = arccos.relu_kernel_trajectory(arccos.input_kernel(x), [1, 3, 9])
    np.testing.assert_allclose(fr, (1 - 1 / 20) * (1 - tr["mean_corr"]), rtol=1e-10)
    # headline (B -> inf, rho_1 = 0): fraction = 1 - rho_l; l = 2: 1 - f(0) = 1 - 1/pi
    h = [d.headline[f"fraction(B=inf,rho1=0,l={lv})"] for lv in (1, 2, 5, 10)]
    assert h[0] == 1.0 and h[1] == pytest.approx(1 - 1 / np.pi, rel=1e-14)
    # THEORY.md independent check (B = 256 Gaussian inputs) is (1 - 1/256) x these within 1%
    np.testing.assert_allclose(
        (1 - 1 / 256) * np.array(h), [0.9964, 0.6792, 0.3182, 0.1452], rtol=1e-2
    )


def test_s3_wide_network_monte_carlo():
    # one finite wide net vs the kernel iteration at layers 1-3 (fluctuations O(1/sqrt(N)))
    rng = np.random.default_rng(4)
    b, n0, n, nets = 16, 50, 2000, 4
    x = rng.standard_normal((b, n0))
    pred = luther_seung.kernel_fractions(x, [1, 2, 3])
    sims = []
    for _ in range(nets):
        h = x
        fr = []
        fan = n0
        for _layer in range(3):
            z = h @ (rng.standard_normal((fan, n)) * np.sqrt(2 / fan))
            fr.append(luther_seung.decomposition(z.T)["fraction"])
            h, fan = np.maximum(z, 0), n
        sims.append(fr)
    sims = np.array(sims)
    se = sims.std(axis=0, ddof=1) / np.sqrt(nets)
    # 5 SE over 4 networks plus a 1% allowance for the O(1/N) bias of the finite width
    assert np.all(np.abs(sims.mean(axis=0) - pred) < 5 * se + 0.01 * pred)


def test_s4_map_facts():
    d = theory.get("S4")
    e = d.expressions
    rho = d.symbol("rho")
    assert e["f_at_1"] == 1 and e["f_prime_at_1"] == 1 and e["f_at_minus_1"] == 0
    assert sp.simplify(e["f_at_0"] - 1 / PI) == 0
    assert sp.simplify(e["f_prime"] - (PI - sp.acos(rho)) / PI) == 0
    # certificate of f(rho) > rho on [-1, 1): (f - rho)' = -acos(rho)/pi <= 0, f(1) = 1
    assert sp.simplify(e["f_minus_rho_derivative"] + sp.acos(rho) / PI) == 0
    eps = d.symbol("epsilon")
    target = (
        eps
        - 2 * sp.sqrt(2) / (3 * PI) * eps ** sp.Rational(3, 2)
        - sp.sqrt(2) / (30 * PI) * eps ** sp.Rational(5, 2)
    )
    assert sp.simplify(e["one_minus_f_series"] - target) == 0
    lay = d.symbol("l")
    assert sp.simplify(e["leading_one_minus_rho"] - 9 * PI**2 / (2 * lay**2)) == 0
    h = d.headline
    assert abs(h["nine_pi2_over_2"] - 44.4132) < 5e-5  # N21
    assert abs(h["f(0)"] - 0.318310) < 5e-7  # N20
    assert abs(h["C0(rho1=0)"] - 0.5087) < 2e-4  # N22
    # numeric check of f'(rho) by finite differences
    r = np.array([-0.5, 0.0, 0.7])
    fd = (arccos.relu_correlation_map(r + 1e-6) - arccos.relu_correlation_map(r - 1e-6)) / 2e-6
    np.testing.assert_allclose(fd, (np.pi - np.arccos(r)) / np.pi, rtol=1e-7)


def test_s4_evaluator_ratio_table():
    out = theory.get("S4").evaluate(0.0, [10, 100, 1000, 10_000, 100_000])
    np.testing.assert_allclose(
        out["one_minus_rho"] / out["leading"], [0.327, 0.820, 0.973, 0.9966, 0.9996], atol=1e-3
    )
    assert abs(out["refined"][3] / out["one_minus_rho"][3] - 1) < 1e-3


def test_s5_decay_law():
    d = theory.get("S5")
    assert d.expressions["log_log_slope"] == -2
    assert d.expressions["floor_identity_residual"] == 0
    rng = np.random.default_rng(5)
    x = rng.standard_normal((12, 20))  # raw inputs: unequal norms
    out = d.evaluate(x, [1000, 10_000])
    norms = np.linalg.norm(x, axis=1)
    np.testing.assert_allclose(out["floor"], np.var(norms) / np.mean(norms**2), rtol=1e-12)
    ang = out["fraction"] - out["floor"]
    slope = np.log(ang[1] / ang[0]) / np.log(10)
    assert abs(slope + 2) < 0.05  # S5 (c2)
    # (c1)-(c3) on sphere inputs are in test_arccos.py::test_sphere_inputs_decay_law


def test_s6_pieces():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 30))
    out = theory.get("S6").evaluate(x, [1, 10, 100])
    np.testing.assert_allclose(out["radial"] + out["angular"], out["fraction"], rtol=1e-12)
    assert np.all(np.diff(out["mean_cosine"]) > 0)
    assert out["mean_cosine"][-1] > 0.99


def test_s7_symbolic_and_values():
    d = theory.get("S7")
    nu1 = d.symbol("nu_1")
    assert sp.simplify(d.expressions["fraction"] - (1 - nu1**2 / 2)) == 0
    assert sp.simplify(d.expressions["fraction_gaussian"] - (1 - 1 / PI)) == 0
    assert d.expressions["identity_residual"] == 0
    assert abs(d.headline["fraction_gaussian"] - 0.681690) < 5e-7  # N11
    l6 = theory.get("L6")
    np.testing.assert_allclose(
        luther_seung.bn_fraction([0.3, 0.8]), 1 / l6.evaluate(np.array([0.3, 0.8])) ** 2, rtol=1e-14
    )


def test_s7_monte_carlo():
    # Infinite-width linear output after BN -> ReLU: fraction = 1 - E_c (E phi)^2 / E_c E phi^2
    rng = np.random.default_rng(7)
    c, b = 4000, 256
    z = rng.standard_normal((c, b))
    z = (z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True)
    phi = np.maximum(z, 0)
    frac = 1 - np.mean(phi.mean(axis=1) ** 2) / np.mean(phi**2)
    nu1 = np.abs(z).mean(axis=1)
    # sign-symmetrisation (dominating term) holds on average over channels: SE of the channel
    # mean of (E phi)^2 is ~1e-3 at C = 4000; 5 SE = 5e-3
    assert abs(frac - float(luther_seung.bn_fraction(nu1, channel_axis=0))) < 5e-3
    assert abs(frac - (1 - 1 / np.pi)) < 5e-3 + 2 / b  # plus the O(1/B) sample bias of nu1


def test_s8():
    d = theory.get("S8")
    assert d.expressions["calibrated_mean"] == 0
    assert d.expressions["calibrated_variance"] == 1
    out = d.evaluate(np.array([64, 256]))
    np.testing.assert_allclose(out["calibration_fraction"], 1.0)
    np.testing.assert_allclose(out["held_out_bound"], [10 / 64, 10 / 256])


def test_s9_mean_field_chi():
    d = theory.get("S9")
    f0, fl = d.symbol("frac_0"), d.symbol("frac_l1")
    assert sp.simplify(d.expressions["chi_sq"] - f0 / fl) == 0
    rng = np.random.default_rng(8)
    x = rng.standard_normal((64, 3072))
    log_chi = np.log(d.evaluate(x, [0, 2, 5, 10, 20]))
    assert log_chi[0] == pytest.approx(0.0, abs=1e-12)
    # THEORY.md S9 independent check (another input draw): draw-to-draw spread ~3e-3 early
    np.testing.assert_allclose(log_chi[1:], [0.34, 0.665, 1.024, 1.478], atol=1e-2)
    # headline (B -> inf, rho_1 = 0) agrees with the same independent check to 1e-2
    assert d.headline["log_chi_mf(l=2,B=inf,rho1=0)"] == pytest.approx(0.34, abs=1e-2)
    assert d.headline["log_chi_mf(l=10,B=inf,rho1=0)"] == pytest.approx(1.024, abs=1e-2)


def test_catalog_contains_ls_headlines():
    cat = theory.catalog()
    for cid in LS_IDS:
        assert re.search(rf"^{cid}\s", cat, re.M), cid
    m = re.search(r"nine_pi2_over_2 = ([0-9.]+)", cat)
    assert m and abs(float(m.group(1)) - 44.4132) < 5e-5
    m = re.search(r"fraction_gaussian = ([0-9.]+)", cat)
    assert m and abs(float(m.group(1)) - 0.681690) < 5e-6


@pytest.mark.parametrize("cid", LS_IDS)
def test_every_evaluator_runs(cid):
    rng = np.random.default_rng(101)
    x = rng.standard_normal((8, 16))
    args = {
        "S1": (rng.standard_normal((4, 10, 8)),),
        "S2": (x,),
        "S3": (x, [1, 2, 10]),
        "S4": (0.0, [1, 10, 100]),
        "S5": (x, [1, 10, 100]),
        "S6": (x, [1, 10]),
        "S7": (np.array([0.5, 0.79]),),
        "S8": (np.array([64, 256]),),
        "S9": (x, [0, 1, 10]),
    }[cid]
    out = theory.get(cid).evaluate(*args)
    values = out.values() if isinstance(out, dict) else [out]
    for v in values:
        assert np.all(np.isfinite(np.asarray(v, dtype=float))), cid


# --- predictions used by the S checks (issue 14) ---
def test_s1_s2_predictions():
    rng = np.random.default_rng(3)
    m2, v2 = rng.random((4, 5)), rng.random((4, 5))
    np.testing.assert_array_equal(luther_seung.total_variance_from_parts(m2, v2, 7), m2 + v2)
    assert luther_seung.total_variance_ratio(30, 128) == pytest.approx(1.0)
    assert luther_seung.median_decay(25, 128) == pytest.approx(np.exp(-5 * 25 / 256))
    assert luther_seung.var_log_rate(128) == pytest.approx(5 / 128)
    # THEORY.md N16: exact Var log R = 0.040234 (N=128), 0.009837 (N=512)
    assert luther_seung.var_log_rate_finite_width_bias(128) == pytest.approx(
        0.040234 - 5 / 128, abs=1e-6)
    assert luther_seung.var_log_rate_finite_width_bias(512) == pytest.approx(
        0.009837 - 5 / 512, abs=1e-6)


def test_s2_increment_variance_by_monte_carlo():
    # one input through fresh He-ReLU layers: Var of log ||z^{l+1}||^2 - log ||z^l||^2
    rng = np.random.default_rng(4)
    n, sims = 64, 20000
    z = rng.standard_normal((sims, n))
    x = np.maximum(z, 0.0)
    # ||z'||^2 = ||x||^2 (2/n) chi^2_n for fresh weights
    z2_next = np.sum(x**2, axis=1) * 2.0 / n * rng.chisquare(n, sims)
    inc = np.log(z2_next) - np.log(np.sum(z**2, axis=1))
    exact = luther_seung.var_log_rate(n) + luther_seung.var_log_rate_finite_width_bias(n)
    assert np.var(inc) == pytest.approx(exact, rel=0.03)


def test_s4_s5_predictions():
    c = luther_seung.asymptotic_constants()
    assert c["slope"] == pytest.approx(0.150053, abs=1e-6)
    assert c["log_coef"] == pytest.approx(0.225079, abs=1e-6)
    assert c["nine_pi2_over_2"] == pytest.approx(44.41322, abs=1e-5)
    assert luther_seung.decay_exponent() == -2.0
    # the refined form's slope shift equals the iteration's own slope + 2 (independent: eps)
    lay = np.unique(np.geomspace(1000, 10**4, 11).astype(int))
    c0, _ = arccos.estimate_c0(0.0)
    eps = arccos.iterate_correlation_eps(0.0, lay)
    iterated = np.polyfit(np.log(lay), np.log(eps), 1)[0] + 2.0
    assert luther_seung.refined_slope_correction(lay, c0) == pytest.approx(iterated, abs=2e-4)
    assert 0.005 < iterated < 0.02
    # power law l^-2: local rates -dlog/dl = 2/l, numerically
    la, lb = 1000.0, 9091.0
    rate = [(np.log(v**-2) - np.log((v + 1e-3) ** -2)) / 1e-3 for v in (la, lb)]
    assert luther_seung.power_law_local_rate_ratio(la, lb) == pytest.approx(
        rate[0] / rate[1], rel=1e-5)


def test_s6_s7_predictions():
    assert luther_seung.floor_exponent() == pytest.approx(1.0)
    np.testing.assert_array_equal(luther_seung.bn_output_fraction(np.array([0.9, 1.0])),
                                  [1.0, 1.0])
    assert luther_seung.gaussian_bn_fraction() == pytest.approx(1 - 1 / np.pi)


def test_s8_held_out_first_layer_by_monte_carlo():
    rng = np.random.default_rng(5)
    b, d, width, nets = 32, 200, 128, 300
    vals = []
    for _ in range(nets):
        xc, xh = rng.standard_normal((b, d)), rng.standard_normal((b, d))
        w = rng.standard_normal((d, width))
        z = xc @ w
        m, v = z.mean(axis=0), z.std(axis=0)
        zh = (xh @ w - m) / v
        vals.append(np.mean(zh.mean(axis=0) ** 2) / np.mean(zh**2))
    # 1/B would be 2x off; the O(1/N, 1/D) corrections are ~1%
    assert np.mean(vals) == pytest.approx(float(luther_seung.held_out_first_layer_defect(b)),
                                          rel=0.03)
