"""Pass criteria and verdicts.

A claim is checked by one or more *criteria* (``L6.1`` = criterion (c1) of L6, THEORY.md). A
criterion compares an `Estimate` with a prediction and carries the two one-sided p-values
that decide it:

* ``p_pass`` tests "the theory is off by more than the tolerance"; rejecting it (``p_pass <
  ALPHA_PASS``) shows agreement: PASS. This is a TOST equivalence test, so a criterion never
  passes for lack of power: a wide interval gives INCONCLUSIVE, not PASS.
* ``p_fail`` tests "the theory holds within the tolerance"; rejecting it after Holm's
  correction across every criterion of the run (family-wise ``ALPHA_FAIL``) shows
  disagreement: FAIL.
* Otherwise INCONCLUSIVE, with the number of simulations (and the fidelity) that would decide.

Every criterion states its tolerance *and why* (finite width, finite batch, known bias...).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

from verify import stats
from verify.stats import Estimate

#: Family-wise error rate of FAIL verdicts over one run (Holm): a true theory FAILs with
#: probability < 1e-3 per run.
ALPHA_FAIL = 1e-3
#: Level of the equivalence (TOST) tests behind PASS: a theory off by more than the tolerance
#: passes a criterion with probability < 1%.
ALPHA_PASS = 0.01


class Verdict(enum.StrEnum):
    """Outcome of a criterion or a claim."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    SKIPPED = "SKIPPED"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class Criterion:
    """One pass criterion, evaluated.

    id: ``<claim>.<k>``; description: what is compared; kind: ``equivalence`` (|theta -
    prediction| <= tolerance), ``above``/``below`` (theta beyond ``prediction``, a threshold),
    ``skipped``; prediction/estimate/tolerance: the numbers compared (the tolerance is a margin
    in the estimate's units); reason: why that tolerance is right; n_sims: simulations behind the
    estimate (0 for pure theory); p_pass/p_fail: see module docstring; verdict: set by
    `finalize` (Holm across the run); note: extra text (e.g. which fidelity would decide).
    """

    id: str
    description: str
    kind: str
    prediction: float | None
    estimate: Estimate | None
    tolerance: float | None
    reason: str
    n_sims: int = 0
    p_pass: float = 1.0
    p_fail: float = 1.0
    verdict: Verdict | None = None
    note: str = ""

    def replace(self, **changes: Any) -> Criterion:
        """Immutable update."""
        return dataclasses.replace(self, **changes)

    @property
    def stochastic(self) -> bool:
        """True when the estimate has sampling error (it then enters the Holm family)."""
        return self.estimate is not None and self.estimate.se > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {
            "id": self.id, "description": self.description, "kind": self.kind,
            "prediction": self.prediction,
            "estimate": None if self.estimate is None else self.estimate.value,
            "interval": None if self.estimate is None else list(self.estimate.ci),
            "interval_level": None if self.estimate is None else self.estimate.level,
            "se": None if self.estimate is None else self.estimate.se,
            "tolerance": self.tolerance, "tolerance_reason": self.reason,
            "n_sims": self.n_sims, "p_pass": self.p_pass, "p_fail": self.p_fail,
            "verdict": None if self.verdict is None else self.verdict.value, "note": self.note,
        }


def equivalence(
    id: str, description: str, estimate: Estimate, prediction: float, tolerance: float,
    reason: str, n_sims: int | None = None,
) -> Criterion:
    """Criterion ``|theta - prediction| <= tolerance`` (TOST for PASS)."""
    if not tolerance >= 0:
        raise ValueError(f"{id}: tolerance={tolerance!r} must be >= 0")
    p_pass, p_fail = stats.equivalence_pvalues(estimate, float(prediction), float(tolerance))
    return Criterion(id, description, "equivalence", float(prediction), estimate,
                     float(tolerance), reason, estimate.n if n_sims is None else n_sims,
                     p_pass, p_fail)


def relative_equivalence(
    id: str, description: str, estimate: Estimate, prediction: float, rel_tolerance: float,
    reason: str, n_sims: int | None = None,
) -> Criterion:
    """Criterion ``|theta - prediction| <= rel_tolerance * |prediction|``."""
    return equivalence(id, description, estimate, prediction,
                       abs(float(prediction)) * rel_tolerance, reason, n_sims)


def bound(
    id: str, description: str, estimate: Estimate, threshold: float, side: str, reason: str,
    n_sims: int | None = None,
) -> Criterion:
    """Criterion ``theta > threshold`` (side ``"above"``) or ``theta < threshold``."""
    p_pass, p_fail = stats.bound_pvalues(estimate, float(threshold), side)
    return Criterion(id, description, side, float(threshold), estimate, None, reason,
                     estimate.n if n_sims is None else n_sims, p_pass, p_fail)


def exact(
    id: str, description: str, value: float, prediction: float, tolerance: float, reason: str,
    n_sims: int = 0,
) -> Criterion:
    """Deterministic criterion (an iteration, an identity): ``|value - prediction| <= tol``."""
    return equivalence(id, description, Estimate.exact(value, n_sims), prediction, tolerance,
                       reason, n_sims)


def holds(id: str, description: str, ok: bool, reason: str, n_sims: int = 0,
          value: float | None = None) -> Criterion:
    """Deterministic yes/no criterion (e.g. "both bounds hold in every simulation")."""
    est = None if value is None else Estimate.exact(value, n_sims)
    return Criterion(id, description, "holds", None, est, None, reason, n_sims,
                     0.0 if ok else 1.0, 1.0 if ok else 0.0)


def skipped(id: str, description: str, reason: str) -> Criterion:
    """A criterion that cannot run yet (e.g. it needs convolutions); it gets no verdict."""
    return Criterion(id, description, "skipped", None, None, None, reason,
                     verdict=Verdict.SKIPPED)


def known_discrepancy(c: Criterion, reason: str) -> Criterion:
    """Keep an evaluated criterion visible (estimate, interval, prediction) without a verdict.

    For a pass criterion of THEORY.md that measurement contradicts (independently confirmed)
    and that awaits a decision on the specification: it is shown in tables and reports as
    SKIPPED with ``reason``, and does not enter the Holm family or the claim verdict.
    """
    return c.replace(verdict=Verdict.SKIPPED, reason=f"{c.reason}. KNOWN DISCREPANCY: {reason}",
                     note="known discrepancy with THEORY.md (not a pass criterion until the "
                          "specification is settled)")


def finalize(criteria: list[Criterion], alpha_fail: float = ALPHA_FAIL,
             alpha_pass: float = ALPHA_PASS, sims_by_fidelity: dict[str, int] | None = None,
             ) -> list[Criterion]:
    """Set verdicts: Holm over the stochastic criteria for FAIL, TOST for PASS.

    ``sims_by_fidelity`` (fidelity -> typical simulations) lets INCONCLUSIVE notes name the
    fidelity whose sample size would decide.
    """
    live = [i for i, c in enumerate(criteria) if c.verdict is not Verdict.SKIPPED]
    stoch = [i for i in live if criteria[i].stochastic]
    rejected = set()
    if stoch:
        mask = stats.holm([criteria[i].p_fail for i in stoch], alpha_fail)
        rejected = {i for i, r in zip(stoch, mask, strict=True) if r}
    out = list(criteria)
    for i in live:
        c = criteria[i]
        if not c.stochastic:
            v = Verdict.PASS if c.p_pass < alpha_pass else (
                Verdict.FAIL if c.p_fail < alpha_fail else Verdict.INCONCLUSIVE)
            out[i] = c.replace(verdict=v)
        elif i in rejected:
            out[i] = c.replace(verdict=Verdict.FAIL)
        elif c.p_pass < alpha_pass:
            out[i] = c.replace(verdict=Verdict.PASS)
        else:
            out[i] = c.replace(verdict=Verdict.INCONCLUSIVE,
                               note=_deciding_note(c, alpha_pass, sims_by_fidelity))
    return out


def _deciding_note(c: Criterion, alpha_pass: float, sims_by_fidelity: dict[str, int] | None
                   ) -> str:
    """Which sample size (and fidelity) would let ``c`` pass, if the estimate stayed put."""
    est = c.estimate
    assert est is not None
    z = -stats.special.ndtri(alpha_pass)  # type: ignore[attr-defined]
    if c.kind == "equivalence":
        room = (c.tolerance or 0.0) - abs(est.value - (c.prediction or 0.0))
    else:
        d = est.value - (c.prediction or 0.0)
        room = d if c.kind == "above" else -d
    if room <= 0:
        return ("the estimate lies beyond the tolerance but not significantly: more "
                "simulations would decide, most likely as FAIL")
    need = stats.sims_needed(est.se, max(est.n, 1), room / z)
    msg = f"about {math.ceil(need)} simulations (now {est.n}) would decide"
    if sims_by_fidelity:
        ok = [f for f, n in sims_by_fidelity.items() if n >= need]
        msg += f"; fidelity {ok[0]!r} should" if ok else "; no fidelity level is large enough"
    return msg


def claim_verdict(criteria: list[Criterion]) -> Verdict:
    """FAIL if any criterion fails; else INCONCLUSIVE if any is; else PASS (SKIPPED if none ran)."""
    vs = [c.verdict for c in criteria if c.verdict is not Verdict.SKIPPED]
    if not vs:
        return Verdict.SKIPPED
    if Verdict.FAIL in vs:
        return Verdict.FAIL
    if Verdict.INCONCLUSIVE in vs or None in vs:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS
