"""Run registered claims, decide verdicts across the run, and render the results.

`run_claims` evaluates each claim's check (simulations through the cache), then `finalize`
applies Holm's correction over every stochastic criterion of the run and sets verdicts.
`verify.power.annotate` then measures each numeric criterion's minimal detectable error on the
same simulations. `ClaimResult` is the data a report renders; `to_records` gives the JSON records of
``dnn-moments verify --json``; `table` the terminal table.

A check that raises is not lost in silence: its claim gets verdict FAIL with the error text
(other claims still run).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
import traceback
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from simulate.results import SimulationResults, write_atomic
from simulate.threads import single_threaded_blas
from verify import criteria as crit
from verify.cache import SimulationCache
from verify.context import Context, SimulationRecord
from verify.criteria import Criterion, Verdict
from verify.panels import Panel
from verify.power import annotate, mde_label
from verify.registry import Claim, Mutation, Theory, check_fidelity


@dataclasses.dataclass(frozen=True)
class ClaimResult:
    """Outcome of one claim: criteria with verdicts, simulations used, timing."""

    claim: Claim
    fidelity: str
    seed: int
    criteria: tuple[Criterion, ...]
    simulations: tuple[SimulationRecord, ...]
    seconds: float
    error: str = ""
    mutation: str = ""
    panels: tuple[Panel, ...] = ()

    @property
    def verdict(self) -> Verdict:
        """Claim verdict from its criteria (FAIL on an error)."""
        if self.error:
            return Verdict.FAIL
        return crit.claim_verdict(list(self.criteria))

    @property
    def n_sims(self) -> int:
        """Largest number of simulations behind one criterion."""
        return max([c.n_sims for c in self.criteria] + [0])

    @property
    def mde(self) -> float | None:
        """Minimal detectable error of the claim's sharpest criterion (None if not measured)."""
        vals = [c.mde for c in self.criteria if c.mde is not None]
        return min(vals) if vals else None

    def replace(self, **changes: Any) -> ClaimResult:
        """Immutable update."""
        return dataclasses.replace(self, **changes)

    def headline(self) -> Criterion | None:
        """The criterion a summary shows: the first failing, else inconclusive, else the first."""
        live = [c for c in self.criteria if c.verdict is not Verdict.SKIPPED]
        for v in (Verdict.FAIL, Verdict.INCONCLUSIVE):
            for c in live:
                if c.verdict is v:
                    return c
        return live[0] if live else None

    def to_record(self) -> dict[str, Any]:
        """One JSON record (id, title, paper, prediction, estimate, interval, tolerance, ...)."""
        h = self.headline()
        return {
            "id": self.claim.id, "title": self.claim.title, "paper": self.claim.paper,
            "verdict": self.verdict.value, "fidelity": self.fidelity, "seed": self.seed,
            "prediction": None if h is None else h.prediction,
            "estimate": None if h is None or h.estimate is None else h.estimate.value,
            "interval": None if h is None or h.estimate is None else list(h.estimate.ci),
            "tolerance": None if h is None else h.tolerance,
            "mde": self.mde,
            "n_sims": self.n_sims, "seconds": round(self.seconds, 3), "error": self.error,
            "criteria": [c.to_dict() for c in self.criteria],
            "simulations": [dataclasses.asdict(s) for s in self.simulations],
        }


def evaluate_claim(
    claim: Claim,
    fidelity: str,
    seed: int,
    *,
    cache: SimulationCache | None = None,
    memo: dict[str, SimulationResults] | None = None,
    mutation: Mutation | None = None,
    quiet: bool = True,
) -> ClaimResult:
    """Run one claim's check (verdicts not yet set: see `finalize`)."""
    ctx = Context(claim.id, fidelity, seed, cache, memo, quiet)
    th: Theory = claim.theory if mutation is None else claim.theory.with_overrides(
        mutation.overrides)
    t0 = time.perf_counter()
    error = ""
    try:
        criteria = list(claim.check(ctx, th, claim.size(fidelity)))
    except Exception as exc:  # noqa: BLE001 - recorded as the claim's failure
        criteria = []
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
    return ClaimResult(claim, fidelity, seed, tuple(criteria), tuple(ctx.records),
                       time.perf_counter() - t0, error, "" if mutation is None else mutation.name,
                       tuple(ctx.panels))


def sims_by_fidelity(claim: Claim) -> dict[str, int]:
    """Largest ``num_sims``-like size per fidelity, for INCONCLUSIVE notes."""
    out = {}
    for f, s in claim.sizes.items():
        ns = [v for k, v in s.items() if "sims" in k and isinstance(v, int)]
        out[f] = max(ns) if ns else 0
    return out


def finalize(results: list[ClaimResult], alpha_fail: float = crit.ALPHA_FAIL) -> list[ClaimResult]:
    """Set every criterion's verdict, with Holm's correction across all results together."""
    flat: list[Criterion] = []
    owners: list[int] = []
    for i, r in enumerate(results):
        flat.extend(r.criteria)
        owners.extend([i] * len(r.criteria))
    done = crit.finalize(flat, alpha_fail)
    out = []
    for i, r in enumerate(results):
        mine = [c for c, o in zip(done, owners, strict=True) if o == i]
        fid = sims_by_fidelity(r.claim)
        mine = [c.replace(note=_fidelity_note(c.note, fid)) if c.verdict is Verdict.INCONCLUSIVE
                else c for c in mine]
        out.append(r.replace(criteria=tuple(mine)))
    return out


def _fidelity_note(note: str, fid: Mapping[str, int]) -> str:
    if "about " not in note or "fidelity" in note:
        return note
    try:
        need = int(note.split("about ")[1].split(" ")[0])
    except (IndexError, ValueError):
        return note
    ok = [f for f, n in fid.items() if n >= need]
    return note + (f"; fidelity {ok[0]!r} should" if ok else "; beyond every fidelity level")


def run_claims(
    claims: Iterable[Claim],
    fidelity: str = "quick",
    seed: int = 0,
    *,
    cache: SimulationCache | None = None,
    quiet: bool = True,
    progress: bool = False,
    power: bool = True,
    concurrent: int | None = None,
) -> list[ClaimResult]:
    """Evaluate ``claims`` at ``fidelity`` and decide verdicts (Holm across the run).

    power: also set each numeric criterion's minimal detectable error (`verify.power`).
    concurrent: claims evaluated at once (threads; default `claim_threads`). Verdicts and
        values do not depend on it.
    """
    check_fidelity(fidelity)
    memo: dict[str, SimulationResults] = {}
    claims = list(claims)
    threads = claim_threads() if concurrent is None else max(1, int(concurrent))
    threads = min(threads, len(claims)) or 1

    def one(c: Claim) -> ClaimResult:
        r = evaluate_claim(c, fidelity, seed, cache=cache, memo=memo, quiet=quiet)
        if progress:
            print(f"  {c.id:<4} {c.title[:70]} ... {r.seconds:6.1f} s", flush=True,
                  file=sys.stderr)
        return r

    if threads == 1:
        results = [one(c) for c in claims]
    else:
        # Independent claims at once, so one claim's serial work (statistics, in-process
        # loops) overlaps the others' simulations on the worker processes. BLAS is held at one
        # thread for the whole run: per-call limits from several threads would otherwise
        # restore each other's settings. Verdicts do not depend on the interleaving: every
        # simulation's seed comes from its claim and configuration, and results are kept in
        # registry order.
        with single_threaded_blas(), ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(one, claims))
    done = finalize(results)
    return annotate(done) if power else done


def claim_threads() -> int:
    """Claims `run_claims` evaluates at once by default: one per local worker process
    (`simulate.executors.default_workers`)."""
    from simulate.executors import default_workers

    return default_workers()


def to_records(results: list[ClaimResult]) -> list[dict[str, Any]]:
    """JSON records, one per claim."""
    return [r.to_record() for r in results]


def write_json(results: list[ClaimResult], path: str | Path) -> Path:
    """Write `to_records` to ``path`` atomically (UTF-8 JSON; `simulate.results.write_atomic`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_records(results), indent=1, default=_json_default)
    write_atomic(path, lambda fh: fh.write(text.encode("utf-8")), suffix=".tmp")
    return path


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.4g}"


def table(results: list[ClaimResult]) -> str:
    """Plain-text table: one line per claim, then one per criterion."""
    w = max([len(c.id) for r in results for c in r.criteria] + [5]) + 2
    lines = [f"{'claim':<{w}}{'verdict':<13}{'prediction':>11} {'estimate':>10} "
             f"{'interval':>24} {'tol':>8} {'sims':>5} {'MDE':>6}  description"]
    for r in results:
        lines.append(f"{r.claim.id:<{w}}{r.verdict.value:<13}{r.claim.title[:72]}  "
                     f"({r.seconds:.1f} s)")
        if r.error:
            lines.append(f"  error: {r.error.splitlines()[0]}")
        for c in r.criteria:
            est = c.estimate
            iv = "-" if est is None else f"[{_fmt(est.ci[0])}, {_fmt(est.ci[1])}]"
            pred = _fmt(c.prediction)
            if c.kind in ("above", "below"):
                pred = (">" if c.kind == "above" else "<") + pred
            lines.append(
                f"  {c.id:<{w - 2}}{(c.verdict or '?')!s:<13}{pred:>11} "
                f"{_fmt(None if est is None else est.value):>10} {iv:>24} "
                f"{_fmt(c.tolerance):>8} {c.n_sims:>5} {mde_label(c):>6}  {c.description[:70]}"
            )
            if c.note:
                lines.append(f"{'':>{w}}note: {c.note}")
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    lines.append(" ".join(f"{v.value}: {n}" for v, n in counts.items() if n))
    return "\n".join(lines)


def failure_message(r: ClaimResult) -> str:
    """Text for a failing pytest: prediction, estimate, interval, tolerance, sims, seed."""
    out = [f"{r.claim.id} ({r.claim.title}) is {r.verdict.value} at fidelity {r.fidelity!r}, "
           f"seed {r.seed}"]
    if r.error:
        out.append(r.error)
    for c in r.criteria:
        if c.verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
            est = c.estimate
            out.append(
                f"  {c.id} {c.verdict.value}: {c.description}\n"
                f"    prediction {c.prediction!r} ({c.kind}), estimate "
                f"{None if est is None else est.value!r}, interval "
                f"{None if est is None else est.ci!r} at level "
                f"{None if est is None else est.level}, tolerance {c.tolerance!r} "
                f"({c.reason}), n_sims {c.n_sims}, p_pass {c.p_pass:.3g}, p_fail "
                f"{c.p_fail:.3g}" + (f"\n    {c.note}" if c.note else "")
            )
    sims = ", ".join(f"{s.name}: {s.num_sims} sims seed {s.seed}" for s in r.simulations)
    if sims:
        out.append(f"  simulations: {sims}")
    return "\n".join(out)
