"""Unit and property tests of the verification framework (stats, criteria, cache, runner, CLI).

Oracles: scipy.stats.bootstrap (BCa) for our BCa interval, hand-worked Holm examples, analytic
standard errors for the decision p-values. Tolerances are stated with their reason.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from reports.cli import main as cli_main
from simulate import spec
from verify import criteria as C
from verify import registry, runner, stats
from verify.cache import SimulationCache, config_key
from verify.context import Context
from verify.criteria import Verdict
from verify.mutation import mutation_suite, score
from verify.registry import Claim, Mutation, Theory
from verify.stats import Estimate


# ---------------------------------------------------------------------------- stats
def test_bca_matches_scipy_oracle() -> None:
    # Skewed data (exponential), where BCa and percentile differ visibly.
    x = np.random.default_rng(1).exponential(size=60)
    ours = stats.bootstrap(x, np.mean, np.random.default_rng(2), level=0.95,
                           n_resamples=20000)
    ref = sps.bootstrap((x,), np.mean, confidence_level=0.95, n_resamples=20000,
                        method="BCa", random_state=np.random.default_rng(3)).confidence_interval
    width = ref.high - ref.low
    # Two independent 20000-resample Monte Carlo runs: endpoint MC error ~1% of the width.
    assert abs(ours.ci[0] - ref.low) < 0.05 * width
    assert abs(ours.ci[1] - ref.high) < 0.05 * width
    pct = stats.bootstrap(x, np.mean, np.random.default_rng(2), level=0.95,
                          method="percentile", n_resamples=20000)
    assert ours.ci[0] > pct.ci[0]  # BCa shifts right for right-skewed data
    # Bootstrap SE of a mean ~ sd/sqrt(n) (relative MC error ~ 1/sqrt(2*20000) + O(1/n)).
    assert ours.se == pytest.approx(x.std(ddof=0) / math.sqrt(60), rel=0.05)


def test_paired_bootstrap_uses_same_indices() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal(40)
    est = stats.bootstrap((a, a.copy()), lambda u, v: float(np.mean(u - v)), rng)
    assert est.value == 0 and est.se == 0  # paired: every replicate is exactly 0


def test_fit_line_recovers_slope() -> None:
    rng = np.random.default_rng(0)
    x = np.arange(100, 201, dtype=float)
    ys = 0.2 * x + rng.standard_normal((50, x.size))
    est = stats.fit_line(x, ys, np.random.default_rng(1))
    # Slope noise: sd 1/sqrt(50) per point, Sxx ~ 8.6e4 -> se ~ 4.8e-4; 5 se.
    assert abs(est.value - 0.2) < 5 * 4.8e-4
    assert est.ci[0] < 0.2 < est.ci[1]


def test_median_of_means_robust_to_outlier() -> None:
    x = np.ones(64)
    x[0] = 1e9
    assert stats.median_of_means(x, 8) == 1.0
    assert np.mean(x) > 1e6


def test_holm_hand_example() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005 <= .05/4, 0.01 <= .05/3, 0.03 > .05/2 -> stop
    assert holm(p) == [True, False, False, True]


def holm(p: list[float]) -> list[bool]:
    return stats.holm(p, 0.05).tolist()


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30), st.floats(1e-4, 0.2))
@settings(max_examples=200, deadline=None)
def test_holm_between_bonferroni_and_unadjusted(p: list[float], alpha: float) -> None:
    rej = stats.holm(p, alpha)
    pa = np.asarray(p)
    assert np.all(rej[pa <= alpha / len(p)])  # Holm rejects everything Bonferroni rejects
    assert not np.any(rej[pa > alpha])  # and nothing the unadjusted test keeps
    assert np.all(stats.holm(p, min(1.0, 2 * alpha)) >= rej)  # monotone in alpha


@given(st.floats(-5, 5), st.floats(0.01, 3), st.floats(0, 3))
def test_equivalence_pvalues_complement(value: float, se: float, margin: float) -> None:
    est = Estimate(value, se, (value - se, value + se), 0.99, "bca", 10)
    p_pass, p_fail = stats.equivalence_pvalues(est, 0.0, margin)
    assert p_pass + p_fail == pytest.approx(1.0)
    if abs(abs(value) - margin) > 1e-9:  # away from the boundary, where p = 1/2
        assert (p_pass < 0.5) == (abs(value) < margin)


def test_fail_pvalue_calibrated_at_margin() -> None:
    # theta exactly on the margin: the FAIL test must reject at its nominal rate. 4000
    # repetitions at alpha=0.05: binomial sd 0.0034; allow 4 sd.
    rng = np.random.default_rng(7)
    n, margin, rej = 50, 0.3, 0
    for _ in range(4000):
        x = rng.standard_normal(n) + margin
        est = Estimate(float(x.mean()), 1 / math.sqrt(n), (0, 0), 0.99, "analytic", n)
        rej += stats.equivalence_pvalues(est, 0.0, margin)[1] < 0.05
    assert abs(rej / 4000 - 0.05) < 4 * 0.0034


def test_bound_pvalues_sides() -> None:
    est = Estimate(2.0, 0.1, (1.8, 2.2), 0.99, "bca", 10)
    assert stats.bound_pvalues(est, 1.0, "above")[0] < 1e-10
    assert stats.bound_pvalues(est, 1.0, "below")[1] < 1e-10
    with pytest.raises(ValueError, match="side"):
        stats.bound_pvalues(est, 1.0, "left")


# ---------------------------------------------------------------------------- criteria
def _est(v: float, se: float, n: int = 50) -> Estimate:
    return Estimate(v, se, (v - 2.6 * se, v + 2.6 * se), 0.99, "bca", n)


def test_finalize_three_verdicts_and_note() -> None:
    cs = [
        C.equivalence("X1.1", "agrees", _est(0.001, 0.001), 0.0, 0.01, "r"),
        C.equivalence("X1.2", "disagrees", _est(0.5, 0.01), 0.0, 0.01, "r"),
        C.equivalence("X1.3", "too wide", _est(0.0, 0.02), 0.0, 0.01, "r"),
        C.exact("X1.4", "iteration", 1.0005, 1.0, 1e-3, "r"),
        C.skipped("X1.5", "needs conv", "convolutions are not implemented"),
    ]
    v = [c.verdict for c in C.finalize(cs)]
    assert v == [Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.PASS,
                 Verdict.SKIPPED]
    note = C.finalize(cs)[2].note
    assert "simulations" in note and "now 50" in note
    assert C.claim_verdict(C.finalize(cs)) is Verdict.FAIL
    assert C.claim_verdict(C.finalize(cs[:1] + cs[4:])) is Verdict.PASS
    assert C.claim_verdict(C.finalize(cs[4:])) is Verdict.SKIPPED


def test_never_pass_for_lack_of_power() -> None:
    # Estimate right on the prediction but SE as large as the tolerance: not PASS.
    c = C.finalize([C.equivalence("X.1", "d", _est(0.0, 0.05), 0.0, 0.05, "r")])[0]
    assert c.verdict is Verdict.INCONCLUSIVE


def test_holm_across_criteria_protects_family() -> None:
    # 40 criteria each with p_fail = 2e-4: unadjusted each would FAIL at 1e-3; Holm keeps all.
    z = -float(stats.special.ndtri(2e-4))
    cs = [C.equivalence(f"X.{i}", "d", _est(0.01 + z * 0.01, 0.01), 0.0, 0.01, "r")
          for i in range(40)]
    assert all(c.verdict is not Verdict.FAIL for c in C.finalize(cs))
    assert C.finalize(cs[:1])[0].verdict is Verdict.FAIL


# ---------------------------------------------------------------------------- registry
def test_theory_overrides() -> None:
    th = Theory({"tau": 0.5, "f": abs})
    assert th.tau == 0.5 and th["f"](-2) == 2
    assert th.with_overrides({"tau": 0.55}).tau == 0.55
    with pytest.raises(KeyError, match="unknown predictions"):
        th.with_overrides({"tua": 1})


def test_select_errors_name_allowed_values() -> None:
    with pytest.raises(ValueError, match="not a registered claim"):
        registry.select("L6,Q1")
    with pytest.raises(ValueError, match="fidelity"):
        registry.check_fidelity("fast")
    assert [c.id for c in registry.select("L6")] == ["L6"]


def test_claim_needs_every_fidelity() -> None:
    with pytest.raises(ValueError, match="every fidelity"):
        registry.claim("Z1", title="t", paper="p", theory={}, sizes={"quick": {}})


# ---------------------------------------------------------------------------- cache / context
def _tiny_context(tmp_path, seed: int = 0) -> Context:
    return Context("Z1", "quick", seed, SimulationCache(tmp_path / "cache"))


TINY_INPUTS = {"dataset": "gaussian", "input_dim": 16}


def test_context_simulate_uses_cache_and_detects_corruption(tmp_path) -> None:
    net = spec.bn_ff(16, 3)
    ctx = _tiny_context(tmp_path)
    a = ctx.simulate(net, TINY_INPUTS, num_sims=3, batch_size=4)
    assert ctx.cache.misses == 1 and not ctx.records[0].cached
    ctx2 = _tiny_context(tmp_path)
    b = ctx2.simulate(net, TINY_INPUTS, num_sims=3, batch_size=4)
    assert ctx2.cache.hits == 1 and ctx2.records[0].cached
    np.testing.assert_array_equal(a["log_chi_loc4"], b["log_chi_loc4"])
    # Corrupt the entry: flip bytes in the middle of the npz.
    (npz,) = list((tmp_path / "cache").glob("*.npz"))
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    npz.write_bytes(bytes(raw))
    ctx3 = _tiny_context(tmp_path)
    c = ctx3.simulate(net, TINY_INPUTS, num_sims=3, batch_size=4)
    assert ctx3.cache.corrupted == 1 and not ctx3.records[0].cached
    np.testing.assert_array_equal(a["log_chi_loc4"], c["log_chi_loc4"])


def test_context_seeds_depend_on_run_seed_and_config(tmp_path) -> None:
    net = spec.vanilla(16, 2)
    a = _tiny_context(tmp_path, 0).simulate(net, TINY_INPUTS, num_sims=2, batch_size=4)
    b = _tiny_context(tmp_path, 1).simulate(net, TINY_INPUTS, num_sims=2, batch_size=4)
    assert not np.array_equal(a["mu2_signal_loc3"], b["mu2_signal_loc3"])
    assert config_key({"a": 1}) != config_key({"a": 2})


# ---------------------------------------------------------------------------- runner / mutation
def _toy_check(ctx: Context, th: Theory, size: dict) -> list[C.Criterion]:
    x = ctx.rng("toy").standard_normal(size["n"]) + 1.0
    est = stats.mean_estimate(x, ctx.rng("boot"), n_resamples=ctx.n_resamples)
    return [C.equivalence("Z1.1", "mean of N(1,1)", est, th.mu, 0.05, "2000 draws", size["n"])]


TOY = Claim("Z1", "toy: the mean is 1", "nowhere", _toy_check, Theory({"mu": 1.0}),
            {f: {"n": 4000} for f in registry.FIDELITIES},
            (Mutation("mu -> 1.2", {"mu": 1.2}), Mutation("mu -> 1.01", {"mu": 1.01})))


def test_runner_and_mutation_suite_on_toy_claim() -> None:
    (r,) = runner.run_claims([TOY], "quick", 0)
    assert r.verdict is Verdict.PASS and r.to_record()["n_sims"] == 4000
    _, outs = mutation_suite([TOY], "quick", 0)
    assert [o.killed for o in outs] == [True, False]  # 1% shift is within the tolerance
    assert score(outs) == (1, 2)
    # Same seed -> identical results; different seed -> different estimate.
    (r2,) = runner.run_claims([TOY], "quick", 0)
    (r3,) = runner.run_claims([TOY], "quick", 1)
    assert r2.criteria[0].estimate == r.criteria[0].estimate
    assert r3.criteria[0].estimate.value != r.criteria[0].estimate.value


def test_runner_records_check_errors_as_fail() -> None:
    def broken(ctx: Context, th: Theory, size: dict) -> list:
        raise RuntimeError("boom at layer 3")

    bad = Claim("Z2", "broken", "nowhere", broken, Theory({}),
                {f: {} for f in registry.FIDELITIES})
    (r,) = runner.run_claims([bad], "quick", 0)
    assert r.verdict is Verdict.FAIL and "boom at layer 3" in runner.failure_message(r)


# ---------------------------------------------------------------------------- CLI
def test_cli_verify_json_and_errors(tmp_path, capsys) -> None:
    out = tmp_path / "v.json"
    assert cli_main(["verify", "--claims", "L6", "--json", str(out)]) == 0
    (rec,) = json.loads(out.read_text())
    for key in ("id", "title", "paper", "prediction", "estimate", "interval", "tolerance",
                "verdict", "n_sims", "seed", "seconds"):
        assert key in rec
    assert rec["id"] == "L6" and rec["verdict"] == "PASS"
    assert cli_main(["verify", "--claims", "Q7"]) == 2
    assert "Q7" in capsys.readouterr().err
    assert cli_main(["verify", "--list"]) == 0


def test_panels_record_mean_band_and_theory(tmp_path) -> None:
    ctx = _tiny_context(tmp_path)
    sims = np.arange(12.0).reshape(4, 3)
    p = ctx.panel("t", "l", "y", logy=True).simulation([1, 2, 3], sims).theory([1, 2, 3], 2.0)
    assert ctx.panels == [p]
    sim, th = p.curves
    np.testing.assert_allclose(sim.y, sims.mean(axis=0))
    np.testing.assert_allclose(sim.lo, np.percentile(sims, 16, axis=0))
    np.testing.assert_allclose(th.y, [2.0, 2.0, 2.0])
    assert json.dumps(p.to_dict())


def test_claims_evaluated_concurrently_give_the_same_verdicts_and_values(tmp_path) -> None:
    # one shared cache: the two claim threads must not compute or write a configuration twice
    ids = ["S7", "Y3", "Y4"]

    def run(n: int, cache: SimulationCache | None) -> list:
        rs = runner.run_claims([registry.get(i) for i in ids], "quick", 0, cache=cache,
                               concurrent=n)
        return [(c.id, c.verdict, None if c.estimate is None else c.estimate.value, c.mde)
                for r in rs for c in r.criteria]

    serial = run(1, None)
    cache = SimulationCache(tmp_path)
    assert run(2, cache) == serial
    assert cache.misses == len(list(tmp_path.glob("*.npz")))  # each stored once
    assert not any((tmp_path / "partial").iterdir())
