"""Power, measured: every claim's mutations (wrong theories) must FAIL.

`mutation_suite` runs the registry once, then re-evaluates each claim under each of its
mutations on the *same* simulations (served from memory or the cache) and decides verdicts
with the mutated claim in place of the original, i.e. with the same Holm family as a real run.
A mutation is *killed* when the mutated claim's verdict is FAIL. The mutation score is
killed / total, reported separately for gross and for nearby mutations (`scores`); a nearby
mutation that survives below its ``fails_at`` fidelity is recorded but not required.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Iterable

from simulate.results import SimulationResults
from verify import stats
from verify.cache import SimulationCache
from verify.criteria import ALPHA_FAIL, Criterion, Verdict
from verify.power import annotate
from verify.registry import Claim
from verify.runner import ClaimResult, evaluate_claim, finalize


@dataclasses.dataclass(frozen=True)
class MutationOutcome:
    """One mutation of one claim and the verdict the mutated claim received."""

    claim_id: str
    mutation: str
    verdict: Verdict
    failing: tuple[str, ...]
    kind: str = "gross"
    required: bool = True
    sims_to_fail: float | None = None

    @property
    def killed(self) -> bool:
        """True when the wrong theory was caught (verdict FAIL)."""
        return self.verdict is Verdict.FAIL


def mutation_suite(
    claims: Iterable[Claim],
    fidelity: str = "quick",
    seed: int = 0,
    *,
    cache: SimulationCache | None = None,
    progress: bool = False,
) -> tuple[list[ClaimResult], list[MutationOutcome]]:
    """(un-mutated results, outcome of every mutation) at ``fidelity`` and ``seed``."""
    claims = list(claims)
    memo: dict[str, SimulationResults] = {}
    raw = [evaluate_claim(c, fidelity, seed, cache=cache, memo=memo) for c in claims]
    family_size = sum(k.stochastic and k.verdict is not Verdict.SKIPPED
                      for r in raw for k in r.criteria)  # the Holm family of `finalize`
    outcomes = []
    for i, c in enumerate(claims):
        for m in c.mutations:
            mutated = evaluate_claim(c, fidelity, seed, cache=cache, memo=memo, mutation=m)
            decided = finalize(raw[:i] + [mutated] + raw[i + 1:])[i]
            failing = tuple(k.id for k in decided.criteria if k.verdict is Verdict.FAIL)
            need = None if failing else sims_to_fail(decided.criteria, family_size)
            outcomes.append(MutationOutcome(c.id, m.name, decided.verdict, failing, m.kind,
                                            m.must_fail(fidelity), need))
            if progress:
                print(f"  {c.id:<4} {m.kind:<6} {m.name[:60]:<60} {decided.verdict.value:<13} "
                      f"{','.join(failing)}", flush=True, file=sys.stderr)
    return annotate(finalize(raw)), outcomes


def sims_to_fail(criteria: Iterable[Criterion], family_size: int,
                 alpha_fail: float = ALPHA_FAIL) -> float:
    """Simulations a surviving mutation would need to FAIL, if its estimates stayed put.

    For each stochastic criterion whose estimate lies beyond the tolerance by ``d > 0``
    (distance to the band of an equivalence, to the threshold of a bound on the wrong side),
    FAIL needs ``d / se`` above the first Holm threshold ``z = Phi^-1(1 - alpha / m)`` over the
    ``m`` stochastic criteria of the run; with ``se ~ n^-1/2`` that takes ``n (z se / d)^2``
    simulations. The smallest over the criteria; ``inf`` when no estimate lies beyond its
    tolerance (then no sample size FAILs it: the tolerance itself is too wide).
    """
    z = -stats.special.ndtri(alpha_fail / max(family_size, 1))
    best = math.inf
    for k in criteria:
        if (not k.stochastic or k.verdict is Verdict.SKIPPED or k.prediction is None
                or k.kind not in ("equivalence", "above", "below")):
            continue
        beyond = -k.margin
        if beyond > 0:
            best = min(best, stats.sims_needed(k.estimate.se, max(k.estimate.n, 1), beyond / z))
    return best


def score(outcomes: list[MutationOutcome], kind: str | None = None,
          required_only: bool = False) -> tuple[int, int]:
    """(killed, total) over the outcomes of ``kind`` (all kinds if None); ``required_only``
    keeps only mutations that must FAIL at the fidelity of the run."""
    sel = [o for o in outcomes if (kind is None or o.kind == kind)
           and (o.required or not required_only)]
    return sum(o.killed for o in sel), len(sel)


def scores(outcomes: list[MutationOutcome]) -> dict[str, tuple[int, int]]:
    """Mutation scores by kind: ``{"gross": (killed, total), "nearby": (...)}``."""
    return {k: score(outcomes, k) for k in ("gross", "nearby")}
