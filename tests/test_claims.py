"""The proof-checking harness: every registered claim is a test.

All claims selected in this session (``pytest -k L6`` selects one) are evaluated together in one
run, so Holm's correction covers exactly the claims being checked; each test then asserts its
claim's verdict. A FAIL or INCONCLUSIVE prints prediction, estimate, interval, tolerance,
number of simulations and seed. Claims with every criterion skipped (they need convolutions or
data files) are reported as skipped.
"""

from __future__ import annotations

import pytest

from verify import registry, runner
from verify.cache import SimulationCache
from verify.criteria import Verdict

CLAIM_IDS = registry.claim_ids()


@pytest.fixture(scope="session")
def claim_results(request: pytest.FixtureRequest) -> dict[str, runner.ClaimResult]:
    selected = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.originalname == "test_claim" and callspec is not None:
            selected.append(callspec.params["claim_id"])
    selected = list(dict.fromkeys(selected)) or CLAIM_IDS
    cfg = request.config
    cache = None if cfg.getoption("--no-sim-cache") else SimulationCache()
    results = runner.run_claims([registry.get(c) for c in selected],
                                cfg.getoption("--fidelity"), cfg.getoption("--verify-seed"),
                                cache=cache)
    return {r.claim.id: r for r in results}


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_claim(claim_id: str, claim_results: dict[str, runner.ClaimResult]) -> None:
    r = claim_results[claim_id]
    if r.verdict is Verdict.SKIPPED:
        pytest.skip("; ".join(f"{c.id}: {c.reason}" for c in r.criteria))
    # IDENTITY-ONLY: nothing failed, but the claim rests on identities or sanity bounds only; it
    # is reported as such (not as a verified PASS) and is not an error of the harness.
    assert r.verdict in (Verdict.PASS, Verdict.IDENTITY_ONLY), runner.failure_message(r)
    # Every criterion that predicts a number or a curve from simulations has a minimal
    # detectable error. Exempt: yes/no criteria, pure-theory computations without sampling
    # error (a series against its closed form, an iterate's exponent) and one-sided signs (a
    # trend above 0), which predict no magnitude to perturb.
    unmeasured = [c.id for c in r.criteria if c.evidence == "test" and c.kind != "holds"
                  and c.stochastic and c.verdict is not Verdict.SKIPPED and c.mde is None
                  and not (c.kind in ("above", "below") and c.prediction == 0)]
    assert not unmeasured, (f"{claim_id}: numeric test criteria without a perturbation (no "
                            f"minimal detectable error): {unmeasured}")
    assert r.panels, f"{claim_id}: the check recorded no figure panel (ctx.panel)"
    assert any({"simulation", "theory"} <= {c.kind for c in p.curves} for p in r.panels), (
        f"{claim_id}: no panel has both a simulation curve and a theory curve "
        f"(panels: {[p.title for p in r.panels]})")
