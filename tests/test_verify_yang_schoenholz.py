"""Unit tests of the helpers of verify.claims_yang_schoenholz (fast: no network simulations).

The combined criteria are checked against their defining p-value rules (the finite-width
allowances now live in theory.yang_schoenholz and are tested in tests/theory/).
"""

import math

import numpy as np
import pytest

from theory import meanfield_resnet as mf
from theory import phase_classifier as pc
from theory import yang_schoenholz as ys
from theory.meanfield_resnet import ResNetParams
from verify import claims_yang_schoenholz as cy
from verify import registry
from verify.context import Context
from verify.criteria import Verdict, finalize
from verify.registry import Theory
from verify.stats import Estimate


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


def test_all_within_perturbation_reproduces_the_perturbed_test():
    ests = [_est(0.0, 0.01), _est(0.05, 0.01), _est(0.02, 0.02)]
    preds, tols = np.array([0.0, 0.05, 0.0]), [0.03, 0.03, 0.05]
    scale = np.array([1.0, 2.0, 1.0])

    def shifted(d: float) -> np.ndarray:
        return preds + d * scale

    c = cy.all_within("X.1", "d", ests, preds, tols, ["a", "b", "c"], "r", 50,
                      perturb=shifted, what="shift")
    assert c.perturbation is not None and c.perturbation.mode == "custom"
    for d in (0.0, 0.02, -0.05, 0.1, 0.2):
        direct = cy.all_within("X.1", "d", ests, shifted(d), tols, ["a", "b", "c"], "r", 50)
        got = c.perturbed(d).p_fail
        if direct.p_fail < 0.5:  # exact where a FAIL can be decided
            assert got == pytest.approx(direct.p_fail, rel=1e-6, abs=1e-12)
        else:
            assert got >= 0.5
    assert cy.all_within("X.1", "d", ests, preds, tols, ["a", "b", "c"], "r", 50
                         ).perturbation is None


def test_nearby_wrong_theories():
    # Y7: a spurious width dependence of p, zero at constant width
    M = (500, 250, 100)
    wrong = cy._log_p_width_power(ys.width_log_p, 0.1, ResNetParams(), 3, 500, M)
    true = ys.width_log_p(ResNetParams(), 3, 500, M)
    assert np.allclose(wrong - true, [0.0, *(0.1 * np.log(np.array(M) / 500))])
    assert np.array_equal(cy._log_p_width_power(ys.width_log_p, 0.1, ResNetParams(), 3, 500,
                                                (500,) * 3), true)
    # Y6: the decorrelation twice the derived one (ReLU only)
    p = ResNetParams(activation="relu")
    tr = mf.trajectory(p, 10, 0.5)
    w = cy._traj_decorrelation_scaled(mf.trajectory, 2.0, p, 10, 0.5)
    assert np.allclose(w.one_minus_e[1:], 2 * tr.one_minus_e[1:]) and w.e[0] == 0.5
    assert np.allclose(w.log_s[1:] - tr.log_s[1:], math.log(2))
    # Y2: the asymptotic forms at finite depth (U = 0.5: 25% above the exact sum at L = 30)
    assert float(cy._G_sum_asymptotic(0.5, 0.5, [30])[0]) == pytest.approx(math.sqrt(30))
    assert float(cy._G_sum_asymptotic(0.5, 1.0, [30])[0]) == pytest.approx(0.5 * math.log(30))
    assert np.allclose(cy._G_sum_asymptotic(0.5, 1.5, [5, 30]), ys.relu_G_sum(0.5, 1.5, [5, 30]))
    # Y3: the b-bias source counted without the decay of σv²(l)
    kw = {"beta_v": 1.0, "beta_w": 0.5, "sigma_b2": 1.0}
    assert pc.classify("relu", **kw).p_class == "log"
    assert cy._b_source_without_sigma_v(pc.classify, "relu", **kw).p_class != "log"
    assert cy._b_source_without_sigma_v(pc.classify, "relu", beta_v=0.5) == pc.classify(
        "relu", beta_v=0.5)
    # Y5: the T-a condition without the forward growth of q differs on the grid
    bv, bw = np.array([0.5, 0.0]), np.array([0.5, 1.5])
    true5 = ys.theta1_conditions("tanh", bv, bw, 0.0, 1.0)
    wrong5 = cy._theta1_tanh_no_forward_growth(ys.theta1_conditions, "tanh", bv, bw, 0.0, 1.0)
    assert true5[0] and not wrong5[0] and true5[1] == wrong5[1]


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
