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

Two more labels make the verdicts honest about what they show:

* ``evidence`` (`EVIDENCE`): ``"test"`` for a criterion that a wrong theory could fail;
  ``"identity"`` for one that holds for any sample or by construction (an algebraic identity
  of the estimators, a quantity equal to another criterion's); ``"sanity"`` for a bound so
  wide that no plausible theory violates it. Identities and sanity checks are shown, never
  counted as evidence: a claim whose only passing criteria are of those kinds gets the verdict
  ``IDENTITY_ONLY``, not ``PASS``.
* ``perturbation`` (`Perturbation`): how a relative error ``delta`` in the theory's
  prediction moves the comparison, so `Criterion.perturbed` can re-decide the criterion for
  the wrong prediction ``prediction x (1 + delta)`` without new simulations. `verify.power`
  turns that into each criterion's minimal detectable error.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable
from typing import Any

from verify import stats
from verify.stats import Estimate

#: Family-wise error rate of FAIL verdicts over one run (Holm): a true theory FAILs with
#: probability < 1e-3 per run.
ALPHA_FAIL = 1e-3
#: Level of the equivalence (TOST) tests behind PASS: a theory off by more than the tolerance
#: passes a criterion with probability < 1%.
ALPHA_PASS = 0.01


#: Kinds of evidence a criterion gives (module docstring).
EVIDENCE = ("test", "identity", "sanity")


class Verdict(enum.StrEnum):
    """Outcome of a criterion or a claim.

    ``IDENTITY_ONLY`` is a claim verdict only: nothing failed, but every criterion that passed
    is an identity or a sanity bound, so the claim is not verified by evidence.
    """

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    SKIPPED = "SKIPPED"
    IDENTITY_ONLY = "IDENTITY-ONLY"

    def __str__(self) -> str:
        return self.value


#: Modes of `Perturbation`.
PERTURBATION_MODES = ("prediction", "ratio", "log", "shift", "custom")


@dataclasses.dataclass(frozen=True)
class Perturbation:
    """How a relative error ``delta`` of the theory's prediction moves one criterion.

    mode:

    * ``"prediction"``: the criterion compares an estimate with the prediction itself (or a
      threshold from theory): the prediction becomes ``prediction * (1 + delta)``.
    * ``"ratio"``: the estimate is ``sim / theory - 1`` (prediction usually 0): it becomes
      ``(1 + estimate) / (1 + delta) - 1`` (interval and standard error likewise).
    * ``"log"``: the estimate is ``log(sim / theory)``: it becomes ``estimate - log(1 + delta)``.
    * ``"shift"``: the estimate is ``sim - theory`` and the theory's value has magnitude
      ``scale`` (a zero difference predicted against a total of ``scale``, e.g. a width
      dependence of a log growth): it becomes ``estimate - delta * scale``.
    * ``"custom"``: ``fn(delta)`` recomputes the estimate from the data with the prediction
      (a curve) multiplied by ``1 + delta`` (for statistics of whole curves, such as a mean
      absolute relative error); or, for a criterion whose decision is a combined test (e.g. an
      intersection-union over depths), returns that test's ``(p_pass, p_fail)`` directly.

    what: which prediction is perturbed, for tables (default: the criterion's prediction).
    """

    mode: str = "prediction"
    scale: float = 1.0
    fn: Callable[[float], Estimate | tuple[float, float]] | None = dataclasses.field(
        default=None, compare=False, repr=False)
    what: str = ""

    def __post_init__(self) -> None:
        if self.mode not in PERTURBATION_MODES:
            raise ValueError(f"perturbation mode={self.mode!r} is not allowed; choose one of "
                             f"{', '.join(PERTURBATION_MODES)}")
        if (self.mode == "custom") != (self.fn is not None):
            raise ValueError("perturbation fn must be given exactly when mode='custom'")
        if self.mode == "shift" and not (math.isfinite(self.scale) and self.scale != 0):
            raise ValueError(f"perturbation scale={self.scale!r} must be finite and nonzero "
                             "for mode='shift'")

    @classmethod
    def ratio(cls, what: str = "") -> Perturbation:
        """The estimate is a relative error ``sim / theory - 1``."""
        return cls("ratio", what=what)

    @classmethod
    def log(cls, what: str = "") -> Perturbation:
        """The estimate is a log ratio ``log(sim / theory)``."""
        return cls("log", what=what)

    @classmethod
    def shift(cls, scale: float, what: str = "") -> Perturbation:
        """The estimate is a difference ``sim - theory`` against a theory value of ``scale``."""
        return cls("shift", scale=float(scale), what=what)

    @classmethod
    def custom(cls, fn: Callable[[float], Estimate | tuple[float, float]], what: str = ""
               ) -> Perturbation:
        """``fn(delta)``: the estimate recomputed with the prediction times ``1 + delta``, or
        the ``(p_pass, p_fail)`` of the criterion's combined test against that prediction."""
        return cls("custom", fn=fn, what=what)

    def estimate(self, est: Estimate, delta: float) -> Estimate:
        """The estimate as the criterion would see it against the perturbed theory (for
        ``"custom"``, see `Criterion.perturbed`, which calls ``fn`` itself)."""
        if self.mode in ("prediction", "custom"):
            return est
        if self.mode == "ratio":
            f = 1.0 / (1.0 + delta)
            return dataclasses.replace(est, value=(1 + est.value) * f - 1, se=est.se * f,
                                       ci=((1 + est.ci[0]) * f - 1, (1 + est.ci[1]) * f - 1))
        shift = math.log1p(delta) if self.mode == "log" else delta * self.scale
        return dataclasses.replace(est, value=est.value - shift,
                                   ci=(est.ci[0] - shift, est.ci[1] - shift))


@dataclasses.dataclass(frozen=True)
class Criterion:
    """One pass criterion, evaluated.

    id: ``<claim>.<k>``; description: what is compared; kind: ``equivalence`` (|theta -
    prediction| <= tolerance), ``above``/``below`` (theta beyond ``prediction``, a threshold),
    ``skipped``; prediction/estimate/tolerance: the numbers compared (the tolerance is a margin
    in the estimate's units); reason: why that tolerance is right; n_sims: simulations behind the
    estimate (0 for pure theory); p_pass/p_fail: see module docstring; verdict: set by
    `finalize` (Holm across the run); note: extra text (e.g. which fidelity would decide);
    evidence: ``test``, ``identity`` or ``sanity`` (module docstring); perturbation: how a
    relative error of the prediction moves the comparison (None: not a numeric prediction);
    mde: minimal detectable relative error of the prediction, set by `verify.power` (None: not
    measured; ``inf``: beyond the largest perturbation tried).
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
    evidence: str = "test"
    perturbation: Perturbation | None = None
    mde: float | None = None

    def __post_init__(self) -> None:
        if self.evidence not in EVIDENCE:
            raise ValueError(f"{self.id}: evidence={self.evidence!r} is not allowed; choose one "
                             f"of {', '.join(EVIDENCE)}")

    def replace(self, **changes: Any) -> Criterion:
        """Immutable update."""
        return dataclasses.replace(self, **changes)

    def labelled(self, evidence: str, why: str) -> Criterion:
        """The same criterion labelled ``identity`` or ``sanity``, with the reason appended."""
        return self.replace(evidence=evidence, reason=f"{self.reason}. {evidence.upper()}: {why}",
                            perturbation=None)

    def perturbed(self, delta: float) -> Criterion:
        """The criterion re-decided against the prediction times ``1 + delta`` (no verdict).

        Uses `perturbation` (ValueError when the criterion has none). The tolerance is kept:
        the question is whether the harness, as configured, rejects the wrong prediction.
        """
        pert = self.perturbation
        if pert is None or self.estimate is None or self.prediction is None:
            raise ValueError(f"{self.id} has no numeric prediction to perturb")
        est = pert.estimate(self.estimate, delta)
        if pert.mode == "custom":
            assert pert.fn is not None
            out = pert.fn(delta)
            if not isinstance(out, Estimate):  # the combined test's own p-values
                p_pass, p_fail = out
                return self.replace(p_pass=float(p_pass), p_fail=float(p_fail), verdict=None,
                                    note="")
            est = out
        pred = self.prediction * (1.0 + delta) if pert.mode == "prediction" else self.prediction
        if self.kind == "equivalence":
            p_pass, p_fail = stats.equivalence_pvalues(est, pred, self.tolerance or 0.0)
        else:
            p_pass, p_fail = stats.bound_pvalues(est, pred, self.kind)
        return self.replace(estimate=est, prediction=pred, p_pass=p_pass, p_fail=p_fail,
                            verdict=None, note="")

    @property
    def margin(self) -> float:
        """Signed room of the estimate inside the pass region: ``tolerance - |estimate -
        prediction|`` for an equivalence, ``estimate - threshold`` above a threshold,
        ``threshold - estimate`` below one (negative: the estimate lies beyond)."""
        assert self.estimate is not None
        d = self.estimate.value - (self.prediction or 0.0)
        if self.kind == "equivalence":
            return (self.tolerance or 0.0) - abs(d)
        return d if self.kind == "above" else -d

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
            "evidence": self.evidence, "mde": self.mde,
            "perturbation": None if self.perturbation is None else self.perturbation.mode,
            "perturbation_scale": None if self.perturbation is None else self.perturbation.scale,
        }


def _default_perturbation(prediction: float, perturbation: Perturbation | None
                          ) -> Perturbation | None:
    """A nonzero prediction is perturbed as itself unless the check says otherwise."""
    if perturbation is not None:
        return perturbation
    return Perturbation() if prediction != 0 and math.isfinite(prediction) else None


def equivalence(
    id: str, description: str, estimate: Estimate, prediction: float, tolerance: float,
    reason: str, n_sims: int | None = None, *, perturbation: Perturbation | None = None,
    evidence: str = "test",
) -> Criterion:
    """Criterion ``|theta - prediction| <= tolerance`` (TOST for PASS).

    perturbation: how a relative error of the prediction moves the comparison (default:
    ``prediction x (1 + delta)`` when the prediction is nonzero; a zero prediction, such as a
    relative error or a difference, must say so); evidence: see `EVIDENCE`.
    """
    if not tolerance >= 0:
        raise ValueError(f"{id}: tolerance={tolerance!r} must be >= 0")
    p_pass, p_fail = stats.equivalence_pvalues(estimate, float(prediction), float(tolerance))
    return Criterion(id, description, "equivalence", float(prediction), estimate,
                     float(tolerance), reason, estimate.n if n_sims is None else n_sims,
                     p_pass, p_fail, evidence=evidence,
                     perturbation=_default_perturbation(float(prediction), perturbation))


def relative_equivalence(
    id: str, description: str, estimate: Estimate, prediction: float, rel_tolerance: float,
    reason: str, n_sims: int | None = None, *, perturbation: Perturbation | None = None,
    evidence: str = "test",
) -> Criterion:
    """Criterion ``|theta - prediction| <= rel_tolerance * |prediction|``."""
    return equivalence(id, description, estimate, prediction,
                       abs(float(prediction)) * rel_tolerance, reason, n_sims,
                       perturbation=perturbation, evidence=evidence)


def bound(
    id: str, description: str, estimate: Estimate, threshold: float, side: str, reason: str,
    n_sims: int | None = None, *, perturbation: Perturbation | None = None,
    evidence: str = "test",
) -> Criterion:
    """Criterion ``theta > threshold`` (side ``"above"``) or ``theta < threshold``."""
    p_pass, p_fail = stats.bound_pvalues(estimate, float(threshold), side)
    return Criterion(id, description, side, float(threshold), estimate, None, reason,
                     estimate.n if n_sims is None else n_sims, p_pass, p_fail,
                     evidence=evidence,
                     perturbation=_default_perturbation(float(threshold), perturbation))


def exact(
    id: str, description: str, value: float, prediction: float, tolerance: float, reason: str,
    n_sims: int = 0, *, perturbation: Perturbation | None = None, evidence: str = "test",
) -> Criterion:
    """Deterministic criterion (an iteration, an identity): ``|value - prediction| <= tol``."""
    return equivalence(id, description, Estimate.exact(value, n_sims), prediction, tolerance,
                       reason, n_sims, perturbation=perturbation, evidence=evidence)


def holds(id: str, description: str, ok: bool, reason: str, n_sims: int = 0,
          value: float | None = None, *, evidence: str = "test") -> Criterion:
    """Deterministic yes/no criterion (e.g. "both bounds hold in every simulation")."""
    est = None if value is None else Estimate.exact(value, n_sims)
    return Criterion(id, description, "holds", None, est, None, reason, n_sims,
                     0.0 if ok else 1.0, 1.0 if ok else 0.0, evidence=evidence)


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
            out[i] = c.replace(verdict=exact_verdict(c, alpha_pass, alpha_fail))
        elif i in rejected:
            out[i] = c.replace(verdict=Verdict.FAIL)
        elif c.p_pass < alpha_pass:
            out[i] = c.replace(verdict=Verdict.PASS)
        else:
            out[i] = c.replace(verdict=Verdict.INCONCLUSIVE,
                               note=_deciding_note(c, alpha_pass, sims_by_fidelity))
    return out


def exact_verdict(c: Criterion, alpha_pass: float = ALPHA_PASS,
                  alpha_fail: float = ALPHA_FAIL) -> Verdict:
    """Verdict of a criterion without sampling error (outside the Holm family)."""
    if c.p_pass < alpha_pass:
        return Verdict.PASS
    return Verdict.FAIL if c.p_fail < alpha_fail else Verdict.INCONCLUSIVE


def _deciding_note(c: Criterion, alpha_pass: float, sims_by_fidelity: dict[str, int] | None
                   ) -> str:
    """Which sample size (and fidelity) would let ``c`` pass, if the estimate stayed put."""
    est = c.estimate
    assert est is not None
    z = -stats.special.ndtri(alpha_pass)  # type: ignore[attr-defined]
    room = c.margin
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
    """FAIL if any criterion fails; else INCONCLUSIVE if any is; else PASS when at least one
    passing criterion is a test (evidence ``"test"``), IDENTITY_ONLY when every passing one is an
    identity or a sanity bound; SKIPPED if none ran."""
    live = [c for c in criteria if c.verdict is not Verdict.SKIPPED]
    vs = [c.verdict for c in live]
    if not vs:
        return Verdict.SKIPPED
    if Verdict.FAIL in vs:
        return Verdict.FAIL
    if Verdict.INCONCLUSIVE in vs or None in vs:
        return Verdict.INCONCLUSIVE
    if not any(c.evidence == "test" for c in live):
        return Verdict.IDENTITY_ONLY
    return Verdict.PASS
