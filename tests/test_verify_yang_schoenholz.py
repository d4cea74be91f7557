"""Unit tests of the helpers of verify.claims_yang_schoenholz (fast: no network simulations).

The finite-width allowances are checked against small Monte Carlo draws of one residual block,
the combined criteria against their defining p-value rules.
"""

import math

import numpy as np
import pytest

from theory import meanfield_resnet as mf
from theory import phase_classifier as pc
from theory.meanfield_resnet import ResNetParams
from verify import claims_yang_schoenholz as cy
from verify import registry
from verify.context import Context
from verify.criteria import Verdict, finalize
from verify.registry import Theory
from verify.stats import Estimate


def _relu_block_ratios(x: np.ndarray, M: int, draws: int, rng: np.random.Generator
                       ) -> np.ndarray:
    """|x_a + V relu(W x_a)|^2 / |x_a|^2 for every row x_a, shape (draws, B); σv² = σw² = 1."""
    B, N = x.shape
    out = np.empty((draws, B))
    for k in range(draws):
        W = rng.standard_normal((M, N)) / math.sqrt(N)
        V = rng.standard_normal((N, M)) / math.sqrt(M)
        y = x + np.maximum(x @ W.T, 0.0) @ V.T
        out[k] = np.sum(y * y, axis=1) / np.sum(x * x, axis=1)
    return out


def test_log_ratio_bias_matches_monte_carlo_relu_block():
    rng = np.random.default_rng(0)
    N = M = 40
    x = rng.standard_normal((1, N))
    X = _relu_block_ratios(x, M, 4000, rng)[:, 0]
    c = 0.5
    assert X.mean() == pytest.approx(1 + c, abs=4 * X.std() / math.sqrt(X.size))
    mc = np.mean(np.log(X)) - math.log(1 + c)
    se = np.std(np.log(X)) / math.sqrt(X.size)
    pred = -float(cy.log_ratio_bias_terms(c, 5.0, N, M))
    assert pred == pytest.approx(-(4 * c / N + c**2 * 7 / N) / (2 * (1 + c) ** 2))
    assert abs(mc - pred) < 5 * se + 0.15 * abs(pred)
    # the forward and backward terms of a ReLU trajectory use r = c and K = 5
    tr = mf.trajectory(ResNetParams(activation="relu"), 10)
    for terms in (cy.forward_bias_terms(tr, N), cy.backward_bias_terms(tr, N)):
        assert terms[0] == 0 and np.allclose(terms[1:], -pred, rtol=1e-12)
    assert np.allclose(cy.log_p_jensen_bias(ResNetParams(activation="relu"), 10, N),
                       pred * np.arange(11), rtol=1e-12)


def test_gaussian_moments():
    q = np.array([0.01, 0.5, 3.0, 80.0])
    t = cy.gaussian_moments("tanh", q)
    assert np.allclose(t["V"], mf.tanh_V(q), rtol=1e-5)
    assert np.allclose(t["Vp"], mf.tanh_Vp(q), rtol=1e-5)
    assert np.all(t["V4"] <= t["V"]) and np.all(t["Vp4"] <= t["Vp"])
    assert t["V4"][0] == pytest.approx(3 * q[0] ** 2 - 20 * q[0] ** 3, rel=0.01)  # series
    r = cy.gaussian_moments("relu", q)
    assert np.allclose(r["V4"] / r["V"] ** 2 - 1, 5.0)
    assert np.allclose(3 * r["Vp4"] / r["Vp"] ** 2 - 1, 5.0)
    with pytest.raises(ValueError):
        cy.gaussian_moments("gelu", q)


def test_relu_norm_split_variance_one_block_monte_carlo():
    rng = np.random.default_rng(1)
    N = M = 40
    e0 = 0.5
    u = np.linalg.qr(rng.standard_normal((N, 2)))[0].T * math.sqrt(N)
    x = np.stack([u[0], e0 * u[0] + math.sqrt(1 - e0**2) * u[1]])
    X = _relu_block_ratios(x, M, 4000, rng)
    mc = np.var(np.log(X[:, 0]) - np.log(X[:, 1]))
    tr = mf.trajectory(ResNetParams(activation="relu"), 3, e0=e0)
    pred = cy.relu_norm_split_variance(tr, N, M)
    assert pred[0] == 0 and np.all(np.diff(pred) > 0)
    assert mc == pytest.approx(pred[1], rel=0.15)
    with pytest.raises(ValueError):
        cy.relu_norm_split_variance(mf.trajectory(ResNetParams(), 3, e0=e0), N, M)


def test_relu_metric_radial_bias_small_and_large_limits():
    tr = mf.trajectory(ResNetParams(activation="relu"), 100, e0=0.5)
    R = cy.relu_metric_radial_bias(tr, 1e6, 1e6)
    d2 = cy.relu_norm_split_variance(tr, 1e6, 1e6)
    a = tr.e * d2 / (8 * tr.one_minus_e)
    assert R[0] == 0
    assert np.allclose(R[1:], a[1:], rtol=1e-3)  # E log(1 + a g²) = a + O(a²)
    R_small_N = cy.relu_metric_radial_bias(tr, 100, 100)
    assert np.all(R_small_N[1:] < np.log1p(a[1:] * 1e4))  # Jensen: below log(1 + E a g²)
    assert np.all(np.diff(R_small_N[10:]) > 0)


def test_depthwise_estimates():
    rng = np.random.default_rng(2)
    data = rng.normal(size=(400, 3)) * np.array([1.0, 2.0, 0.5]) + np.array([0.0, 1.0, -1.0])
    est = cy.depthwise_mean_estimates(data, rng, n_resamples=2000)
    for k, e in enumerate(est):
        assert e.value == pytest.approx(data[:, k].mean())
        assert e.se == pytest.approx(data[:, k].std() / 20, rel=0.1)
        assert e.ci[0] < e.value < e.ci[1] and e.n == 400
    b = rng.normal(size=(100, 3))
    diff = cy.depthwise_diff_estimates(data, b, rng, n_resamples=2000)
    for k, e in enumerate(diff):
        assert e.value == pytest.approx(data[:, k].mean() - b[:, k].mean())
        se = math.sqrt(data[:, k].var() / 400 + b[:, k].var() / 100)
        assert e.se == pytest.approx(se, rel=0.1)


def _est(v: float, se: float) -> Estimate:
    return Estimate(v, se, (v - 2.6 * se, v + 2.6 * se), 0.99, "percentile", 50)


def test_all_within_is_an_intersection_union_test():
    good = [_est(0.0, 0.01), _est(0.05, 0.01)]
    c = cy.all_within("X.1", "d", good, [0.0, 0.0], [0.1, 0.1], ["a", "b"], "r", 50)
    assert c.p_pass < 0.01 and "worst: b" in c.description
    c = cy.all_within("X.1", "d", good + [_est(0.095, 0.01)], [0, 0, 0], [0.1] * 3,
                      ["a", "b", "c"], "r", 50)
    assert 0.01 < c.p_pass < 0.5 and "worst: c" in c.description  # undecided component
    bad = cy.all_within("X.1", "d", good + [_est(0.5, 0.01)], [0, 0, 0], [0.1] * 3,
                        ["a", "b", "c"], "r", 50)
    assert bad.p_fail < 1e-9 and "worst: c" in bad.description
    assert [x.verdict for x in finalize([c, bad])] == [Verdict.INCONCLUSIVE, Verdict.FAIL]
    with pytest.raises(ValueError):
        cy.all_within("X.1", "d", good, [0.0], [0.1], ["a"], "r", 50)


def test_inputs_are_shared_and_normalised():
    a = cy.unit_inputs(Context("Y1", "quick", 3), 4, 50)
    b = cy.unit_inputs(Context("Y7", "quick", 3), 4, 50)
    assert np.array_equal(a, b)
    assert np.allclose(np.mean(a * a, axis=1), 1.0)
    assert not np.array_equal(a, cy.unit_inputs(Context("Y1", "quick", 4), 4, 50))
    one = cy.unit_inputs(Context("Y1", "quick", 0), 1, 50)
    assert np.mean(one**2) == pytest.approx(1.0)
    x = cy.equicorrelated_inputs(Context("Y6", "quick", 0), 6, 40, 0.3)
    gram = x @ x.T / 40
    assert np.allclose(np.diag(gram), 1.0)
    assert np.allclose(gram[~np.eye(6, dtype=bool)], 0.3)
    with pytest.raises(ValueError):
        cy.equicorrelated_inputs(Context("Y6", "quick", 0), 6, 40, 1.5)


def test_geometric_widths():
    M = cy.geometric_widths(500, 100, 30)
    assert len(M) == 30 and M[0] == 500 and M[-1] == 100
    assert all(a >= b for a, b in zip(M, M[1:], strict=False))
    assert cy.geometric_widths(500, 100, 1) == (500,)


def test_quantity_criterion_mapping():
    raw = cy.ys.QuantityCheck("G", "dG/dlogL", 0.5, 0.505, 0.01, True)
    assert cy.quantity_criterion("Y.1", "w", raw).kind == "equivalence"
    bound = cy.ys.QuantityCheck("G", "slope", -1.05, -1.5, 0.0, True)
    assert finalize([cy.quantity_criterion("Y.1", "w", bound)])[0].verdict is Verdict.PASS
    bound_bad = cy.ys.QuantityCheck("G", "slope", -1.05, -1.0, 0.0, False)
    assert finalize([cy.quantity_criterion("Y.1", "w", bound_bad)])[0].verdict is Verdict.FAIL
    unsure = cy.ys.QuantityCheck("G", "dG", 0.5, 0.4, 0.01, False, how="x",
                                 status="inconclusive")
    assert finalize([cy.quantity_criterion("Y.1", "w", unsure)])[0].verdict \
        is Verdict.INCONCLUSIVE


def test_wrong_classifiers():
    right = pc.classify("relu", beta_v=0.4, beta_w=0.4)
    wrong = cy.scaled_threshold_classifier(1.25)("relu", beta_v=0.4, beta_w=0.4)
    assert right.g_class == "exp_power" and wrong.g_class == "log"
    edit = cy.edited_classifier(cy._half_U_exponent)("relu", beta_v=0.5)
    assert edit.g_exponent == pytest.approx(0.75)
    p = ResNetParams(activation="tanh", beta_v=0.5)
    assert cy.predict(Theory({"classify": pc.classify}), p) == pc.classify(
        "tanh", beta_v=0.5)


def test_registered_claims():
    ids = [c.id for c in registry.all_claims() if c.id.startswith("Y")]
    assert ids == [f"Y{k}" for k in range(1, 8)]
    for cid in ids:
        c = registry.get(cid)
        assert c.mutations and c.criteria and set(c.sizes) == {"quick", "standard", "paper"}
        for m in c.mutations:
            c.theory.with_overrides(m.overrides)  # names exist
