"""Power as a measured curve: the minimal detectable error of every numeric criterion.

For a criterion whose prediction is a number or a curve, the wrong theory "prediction x
(1 + delta)" is decided on the *same* simulations (`Criterion.perturbed`), inside the same Holm
family as the real run (the perturbed criterion replaces the original; every other criterion
keeps its p-value). The *minimal detectable error* (MDE) is the smallest ``delta`` of
`DELTAS` at which the harness FAILs the perturbed theory:

* for an equivalence criterion, in both directions (``+delta`` and ``-delta`` both FAIL);
* for a one-sided bound, in the direction that tightens it (either sign FAILs).

``inf`` means that even the largest perturbation (20%) survives. Identities and sanity
bounds (``evidence != "test"``) and criteria without a numeric prediction get no MDE.

Nothing is simulated here: `annotate` runs on finished `verify.runner.ClaimResult`s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from verify import criteria as crit
from verify import stats
from verify.criteria import Criterion, Verdict

#: Relative perturbations of the prediction tried, in increasing order.
DELTAS = (0.01, 0.02, 0.05, 0.10, 0.20)


class _Family:
    """The FAIL decision of one run with one criterion replaced (Holm over the stochastic ones).

    Holm rejects the replaced hypothesis iff its p-value is at most ``alpha / (m - k)``, where
    ``k`` counts the other p-values that Holm rejects before reaching it; computed exactly by
    running `stats.holm` on the family with the replacement.
    """

    def __init__(self, flat: Sequence[Criterion], alpha_fail: float) -> None:
        self.flat = list(flat)
        self.alpha = alpha_fail
        self.stoch = [i for i, c in enumerate(self.flat)
                      if c.verdict is not Verdict.SKIPPED and c.stochastic]
        self.pos = {i: k for k, i in enumerate(self.stoch)}
        self.p = np.array([self.flat[i].p_fail for i in self.stoch], dtype=float)

    def fails(self, i: int, replacement: Criterion) -> bool:
        """True when criterion ``i``, replaced by ``replacement``, is FAILed by the run."""
        if not replacement.stochastic:
            return crit.exact_verdict(replacement, alpha_fail=self.alpha) is Verdict.FAIL
        if i in self.pos:
            p = self.p.copy()
            k = self.pos[i]
            p[k] = replacement.p_fail
        else:  # the original was exact: the replacement joins the family
            p = np.append(self.p, replacement.p_fail)
            k = p.size - 1
        return bool(stats.holm(p, self.alpha)[k])


def measurable(c: Criterion) -> bool:
    """True when ``c`` is evidence with a numeric prediction that can be perturbed."""
    return (c.evidence == "test" and c.perturbation is not None and c.estimate is not None
            and c.prediction is not None and c.verdict is not Verdict.SKIPPED)


def minimal_detectable_error(family: _Family, i: int, deltas: Sequence[float] = DELTAS
                             ) -> float:
    """MDE of criterion ``i`` of ``family`` (see module docstring): the first ``delta`` that is
    detected; later ones are not tried (a custom perturbation recomputes its statistic for
    every ``delta`` it is asked about)."""
    c = family.flat[i]
    for d in deltas:
        up = family.fails(i, c.perturbed(d))
        if c.kind == "equivalence":  # both directions must FAIL
            detected = up and family.fails(i, c.perturbed(-d))
        else:  # a bound: the tightening direction, whichever sign that is
            detected = up or family.fails(i, c.perturbed(-d))
        if detected:
            return d
    return math.inf


def annotate(results: Sequence, deltas: Sequence[float] = DELTAS,
             alpha_fail: float = crit.ALPHA_FAIL) -> list:
    """``results`` (finalized `ClaimResult`s) with every measurable criterion's ``mde`` set."""
    flat: list[Criterion] = []
    owners: list[tuple[int, int]] = []
    for r_i, r in enumerate(results):
        for c_i, c in enumerate(r.criteria):
            flat.append(c)
            owners.append((r_i, c_i))
    family = _Family(flat, alpha_fail)
    new = [list(r.criteria) for r in results]
    for i, c in enumerate(flat):
        if measurable(c):
            r_i, c_i = owners[i]
            new[r_i][c_i] = c.replace(mde=minimal_detectable_error(family, i, deltas))
    return [r.replace(criteria=tuple(cs)) for r, cs in zip(results, new, strict=True)]


def mde_label(c: Criterion) -> str:
    """A criterion's MDE as tables show it: `format_mde`, or its kind when it is not evidence
    (``"identity"``, ``"sanity"``)."""
    return format_mde(c.mde) if c.evidence == "test" else c.evidence


def format_mde(mde: float | None) -> str:
    """``"2%"``, ``"> 20%"`` or ``"-"``."""
    if mde is None:
        return "-"
    if math.isinf(mde):
        return f"> {100 * DELTAS[-1]:.0f}%"
    return f"{100 * mde:.0f}%"
