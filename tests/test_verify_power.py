"""Tests of the sharper harness: evidence kinds, perturbations, minimal detectable errors and
mutation kinds (verify.criteria, verify.power, verify.registry, verify.mutation).

Oracles: the perturbed p-values are checked against the closed-form normal p-values written
out here; the MDE sweep against a brute-force re-run of the whole run with a mutated claim
(`mutation_suite` on the same simulations), which must reach the same verdicts.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify import criteria as C
from verify import power, registry, runner, stats
from verify.context import Context
from verify.criteria import Perturbation, Verdict
from verify.mutation import mutation_suite, score, scores
from verify.registry import Claim, Mutation, Theory, nearby
from verify.stats import Estimate


def _est(value: float, se: float, n: int = 100) -> Estimate:
    return Estimate(value, se, (value - 2.576 * se, value + 2.576 * se), 0.99, "percentile", n)


def _p_fail(d: float, tol: float, se: float) -> float:
    return 0.5 * math.erfc(((d - tol) / se) / math.sqrt(2))


# ---------------------------------------------------------------------------- perturbations
def test_prediction_perturbation_moves_the_prediction_only() -> None:
    c = C.equivalence("Z.1", "x", _est(1.0, 0.01), 1.0, 0.02, "r")
    assert c.perturbation is not None and c.perturbation.mode == "prediction"
    p = c.perturbed(0.05)
    assert p.prediction == pytest.approx(1.05) and p.tolerance == 0.02
    assert p.estimate == c.estimate and p.verdict is None
    assert p.p_fail == pytest.approx(_p_fail(0.05, 0.02, 0.01))


def test_ratio_log_and_shift_perturbations_transform_the_estimate() -> None:
    ratio = C.equivalence("Z.1", "sim/theory - 1", _est(0.0, 0.004), 0.0, 0.01, "r",
                          perturbation=Perturbation.ratio())
    p = ratio.perturbed(0.1)
    # sim/(theory (1 + d)) - 1 = (1 + est)/(1 + d) - 1; se scales by 1/(1 + d)
    assert p.estimate.value == pytest.approx(1 / 1.1 - 1)
    assert p.estimate.se == pytest.approx(0.004 / 1.1)
    assert p.estimate.ci[0] < p.estimate.value < p.estimate.ci[1]
    log = C.equivalence("Z.2", "log ratio", _est(0.0, 0.004), 0.0, 0.01, "r",
                        perturbation=Perturbation.log())
    assert log.perturbed(0.1).estimate.value == pytest.approx(-math.log(1.1))
    shift = C.equivalence("Z.3", "difference", _est(0.0, 0.002), 0.0, 0.01, "r",
                          perturbation=Perturbation.shift(3.0))
    assert shift.perturbed(0.1).estimate.value == pytest.approx(-0.3)
    calls = []

    def recompute(d: float) -> Estimate:
        calls.append(d)
        return _est(0.02 + abs(d), 0.001)

    cust = C.bound("Z.4", "mare", _est(0.02, 0.001), 0.03, "below", "r",
                   perturbation=Perturbation.custom(recompute))
    assert cust.perturbed(0.05).estimate.value == pytest.approx(0.07) and calls == [0.05]
    with pytest.raises(ValueError, match="mode"):
        Perturbation("bogus")
    with pytest.raises(ValueError, match="fn"):
        Perturbation("custom")
    with pytest.raises(ValueError, match="scale"):
        Perturbation.shift(0.0)


def test_zero_predictions_and_yes_no_criteria_have_no_default_perturbation() -> None:
    assert C.equivalence("Z.1", "d", _est(0.0, 0.01), 0.0, 0.02, "r").perturbation is None
    assert C.holds("Z.2", "h", True, "r").perturbation is None
    with pytest.raises(ValueError, match="no numeric prediction"):
        C.holds("Z.2", "h", True, "r").perturbed(0.1)


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.5, 0.5), st.floats(1e-4, 0.1), st.floats(0.0, 0.2), st.floats(-0.3, 0.3))
def test_perturbed_p_values_match_the_closed_form(value: float, se: float, tol: float,
                                                  delta: float) -> None:
    c = C.equivalence("Z.1", "x", _est(1.0 + value, se), 1.0, tol, "r")
    p = c.perturbed(delta)
    d = abs(1.0 + value - (1.0 + delta))
    assert p.p_fail == pytest.approx(_p_fail(d, tol, se), rel=1e-9, abs=1e-300)
    assert p.p_pass == pytest.approx(1 - _p_fail(d, tol, se), rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------------------- evidence kinds
def test_identity_only_claim_verdict() -> None:
    ident = C.exact("Z.1", "identity", 1.0, 1.0, 1e-12, "r", evidence="identity")
    test = C.equivalence("Z.2", "test", _est(1.0, 0.001), 1.0, 0.01, "r")
    done = C.finalize([ident])
    assert done[0].verdict is Verdict.PASS
    assert C.claim_verdict(done) is Verdict.IDENTITY_ONLY
    assert C.claim_verdict(C.finalize([ident, test])) is Verdict.PASS
    sanity = test.labelled("sanity", "holds with a 100x margin")
    assert sanity.evidence == "sanity" and "SANITY" in sanity.reason
    assert sanity.perturbation is None
    assert C.claim_verdict(C.finalize([sanity])) is Verdict.IDENTITY_ONLY
    with pytest.raises(ValueError, match="evidence"):
        C.equivalence("Z.3", "x", _est(1.0, 0.01), 1.0, 0.1, "r", evidence="proof")


# ---------------------------------------------------------------------------- MDE
def _toy_check(ctx: Context, th: Theory, size: dict) -> list[C.Criterion]:
    x = ctx.rng("toy").standard_normal(size["n"]) * 0.1 + 1.0
    est = stats.mean_estimate(x, ctx.rng("boot"), n_resamples=ctx.n_resamples)
    return [C.equivalence("Z1.1", "mean of N(1, 0.1^2)", est, th.mu, 0.004,
                          "se 0.0016 at 4000 draws", size["n"]),
            C.exact("Z1.2", "identity", 2.0, 2.0, 1e-12, "by construction",
                    evidence="identity")]


def _toy(mutations: tuple[Mutation, ...] = ()) -> Claim:
    return Claim("Z1", "toy", "nowhere", _toy_check, Theory({"mu": 1.0}),
                 {f: {"n": 4000} for f in registry.FIDELITIES}, mutations)


def test_mde_matches_brute_force_mutations_on_the_same_simulations() -> None:
    (r,) = runner.run_claims([_toy()], "quick", 0)
    c = r.criteria[0]
    # Closed form (one stochastic criterion: Holm = a single test at 1e-3): the shift d FAILs
    # when (|v - (1 +- d)| - tol) / se > z(1e-3) = 3.09 for both signs. se ~ 0.0016, so 1-2%.
    v, se = c.estimate.value, c.estimate.se
    z = -stats.special.ndtri(1e-3)
    oracle = min(d for d in power.DELTAS
                 if all((abs(v - (1 + s * d)) - 0.004) / se > z for s in (1, -1)))
    assert c.mde == oracle and c.mde in (0.01, 0.02)
    assert r.criteria[1].mde is None  # identities get no MDE
    assert r.mde == c.mde
    muts = tuple(Mutation(f"mu x {1 + s * d}", {"mu": 1 + s * d})
                 for d in power.DELTAS for s in (1, -1))
    _, outs = mutation_suite([_toy(muts)], "quick", 0)
    brute = {}
    for o, m in zip(outs, muts, strict=True):
        d = round(abs(m.overrides["mu"] - 1), 6)
        brute.setdefault(d, []).append(o.killed)
    smallest = min(d for d, k in brute.items() if all(k))
    assert smallest == c.mde


def test_mde_is_infinite_when_nothing_is_detected_and_uses_the_holm_family() -> None:
    wide = C.equivalence("Z.1", "x", _est(1.0, 0.05), 1.0, 0.3, "r")
    (m,) = [x.mde for x in power.annotate([_result([wide])])[0].criteria]
    assert math.isinf(m) and power.format_mde(m) == "> 20%"
    # The same criterion alone vs among 500 others with p_fail 0.5: Holm is stricter there.
    c = C.equivalence("Z.2", "x", _est(1.0, 0.01), 1.0, 0.0, "r")
    alone = power.annotate([_result([c])])[0].criteria[0].mde
    others = [C.equivalence(f"Z.o{i}", "x", _est(1.0, 0.01), 1.0, 0.0, "r")
              for i in range(500)]
    crowded = power.annotate([_result([c, *others])])[0].criteria[0].mde
    assert alone == 0.05 and crowded == 0.05  # 5 se: rejected alone and with Holm over 501
    # se 0.013: 5% is 3.8 se, beyond z(1e-3) = 3.09 alone but not z(1e-3/501) = 4.6 (Holm).
    tight = C.equivalence("Z.3", "x", _est(1.0, 0.013), 1.0, 0.0, "r")
    assert power.annotate([_result([tight])])[0].criteria[0].mde == 0.05
    assert power.annotate([_result([tight, *others])])[0].criteria[0].mde == 0.10


def test_bound_mde_needs_only_the_tightening_direction() -> None:
    b = C.bound("Z.1", "above", _est(1.0, 0.01), 0.9, "above", "r")
    (c,) = power.annotate([_result([b])])[0].criteria
    # threshold 0.9 x 1.2 = 1.08: 8 se above the estimate -> FAIL; 1.1 x 0.9 = 0.99 does not
    assert c.mde == 0.20


def _result(criteria: list[C.Criterion]) -> runner.ClaimResult:
    claim = _toy()
    return runner.ClaimResult(claim, "quick", 0, tuple(C.finalize(criteria)), (), 0.0)


# ---------------------------------------------------------------------------- mutation kinds
def test_mutation_kinds_and_required_fidelity() -> None:
    g = Mutation("mu -> 2", {"mu": 2.0})
    assert g.kind == "gross" and g.fails_at == "quick" and g.must_fail("quick")
    n = nearby("mu -> 1.003", {"mu": 1.003})
    assert n.kind == "nearby" and n.fails_at == "standard"
    assert not n.must_fail("quick") and n.must_fail("standard") and n.must_fail("paper")
    with pytest.raises(ValueError, match="kind"):
        Mutation("x", {}, kind="subtle")
    with pytest.raises(ValueError, match="gross mutation must fail at 'quick'"):
        Mutation("x", {}, fails_at="paper")
    with pytest.raises(ValueError, match="fidelity"):
        nearby("x", {}, fails_at="huge")
    _, outs = mutation_suite([_toy((g, n, nearby("mu -> 1.05", {"mu": 1.05}, "quick")))],
                             "quick", 0)
    assert [o.kind for o in outs] == ["gross", "nearby", "nearby"]
    assert [o.killed for o in outs] == [True, False, True]
    assert [o.required for o in outs] == [True, False, True]
    assert scores(outs) == {"gross": (1, 1), "nearby": (1, 2)}
    assert score(outs, "nearby", required_only=True) == (1, 1)


def test_every_registered_claim_has_a_gross_and_a_nearby_mutation() -> None:
    missing = [(c.id, k) for c in registry.all_claims() for k in ("gross", "nearby")
               if not any(m.kind == k for m in c.mutations)]
    assert not missing, f"claims without a mutation of that kind: {missing}"


def test_sims_to_fail_for_a_surviving_mutation() -> None:
    from verify.mutation import sims_to_fail

    # Estimate 1.0 +- 0.002 (n = 100) against a wrong prediction 1.01 with tolerance 0.004:
    # 0.006 beyond the band = 3 se; alone (m = 1) FAIL needs z = 3.09: n (3.09/3)^2 = 106.
    c = C.finalize([C.equivalence("Z.1", "x", _est(1.0, 0.002, 100), 1.01, 0.004, "r")])
    z = -stats.special.ndtri(1e-3)
    assert sims_to_fail(c, 1) == pytest.approx(100 * (z * 0.002 / 0.006) ** 2)
    assert sims_to_fail(c, 200) > sims_to_fail(c, 1)  # Holm over 200 needs more
    inside = C.finalize([C.equivalence("Z.1", "x", _est(1.0, 0.002), 1.003, 0.004, "r")])
    assert math.isinf(sims_to_fail(inside, 1))  # within the tolerance: no n decides
    below = C.finalize([C.bound("Z.2", "x", _est(1.0, 0.01, 50), 1.02, "above", "r")])
    assert sims_to_fail(below, 1) == pytest.approx(50 * (z * 0.01 / 0.02) ** 2)
