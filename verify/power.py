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

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from verify import criteria as crit
from verify import stats
from verify.criteria import Criterion, Verdict

#: Relative perturbations of the prediction tried, in increasing order.
DELTAS = (0.01, 0.02, 0.05, 0.10, 0.20)


@dataclasses.dataclass(frozen=True)
class Detectability:
    """Outcome of the perturbation sweep of one criterion.

    criterion: its id; mde: minimal detectable error (``inf`` beyond `DELTAS`);
    fails: ``{delta: (FAIL at +delta, FAIL at -delta)}``.
    """

    criterion: str
    mde: float
    fails: dict[float, tuple[bool, bool]]


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
            return replacement.p_pass >= crit.ALPHA_PASS and replacement.p_fail < self.alpha
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


def sweep(family: _Family, i: int, deltas: Sequence[float] = DELTAS) -> Detectability:
    """Perturbation sweep of criterion ``i`` of ``family`` (see module docstring)."""
    c = family.flat[i]
    fails: dict[float, tuple[bool, bool]] = {}
    mde = math.inf
    for d in deltas:
        up = family.fails(i, c.perturbed(d))
        down = family.fails(i, c.perturbed(-d))
        fails[d] = (up, down)
        detected = (up and down) if c.kind == "equivalence" else (up or down)
        if detected and math.isinf(mde):
            mde = d
    return Detectability(c.id, mde, fails)


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
            new[r_i][c_i] = c.replace(mde=sweep(family, i, deltas).mde)
    return [r.replace(criteria=tuple(cs)) for r, cs in zip(results, new, strict=True)]


def format_mde(mde: float | None) -> str:
    """``"2%"``, ``"> 20%"`` or ``"-"``."""
    if mde is None:
        return "-"
    if math.isinf(mde):
        return f"> {100 * DELTAS[-1]:.0f}%"
    return f"{100 * mde:.0f}%"
