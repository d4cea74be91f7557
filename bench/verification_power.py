"""Power and false alarms of the claim registry (numbers for docs/verification.md).

    python bench/verification_power.py mutations [--fidelity quick] [--seed 0] [--json F]
    python bench/verification_power.py mde-table QUICK.json STANDARD.json
    python bench/verification_power.py false-alarms [--seeds 1-20] [--fidelity quick]

``mutations`` runs every claim's wrong theories and prints the mutation scores (killed / total,
gross and nearby apart) and a Markdown table; ``--json`` also writes the run's records (with
each criterion's minimal detectable error, `verify.power`) and the mutation outcomes.
``mde-table`` turns two such files (quick and standard) into the Markdown table of minimal
detectable errors of docs/verification.md, with what limits each one.
``false-alarms`` runs the whole registry once per seed, appending one
JSON line per seed to ``--out`` (default ``bench/results/false_alarms_<fidelity>.jsonl``); a
rerun skips seeds already recorded, so a long sweep can be resumed. Each seed uses its own
simulations (the seed enters every simulation's seed), and the cache directory is emptied after
each seed to bound disk use.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

from verify import power, registry, runner
from verify.cache import SimulationCache
from verify.criteria import Verdict
from verify.mutation import mutation_suite, scores


def parse_seeds(text: str) -> list[int]:
    """``"1-20"`` or ``"1,2,5"`` -> list of ints."""
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part.strip():
            out.append(int(part))
    return out


def run_mutations(args: argparse.Namespace) -> int:
    cache = SimulationCache(args.cache_dir) if args.cache_dir else SimulationCache()
    t0 = time.perf_counter()
    results, outcomes = mutation_suite(registry.select(args.claims), args.fidelity, args.seed,
                                       cache=cache, progress=True)
    print("\nunmutated verdicts: "
          + ", ".join(f"{r.claim.id} {r.verdict.value}" for r in results))
    for kind, (killed, total) in scores(outcomes).items():
        print(f"{kind} mutation score at {args.fidelity}, seed {args.seed}: {killed}/{total} "
              f"({100 * killed / max(total, 1):.1f}%)")
    print(f"({time.perf_counter() - t0:.0f} s)\n")
    print("| claim | kind | must fail at | mutation | verdict | failing criteria |")
    print("|---|---|---|---|---|---|")
    for o in outcomes:
        m = next(m for m in registry.get(o.claim_id).mutations if m.name == o.mutation)
        failing = ", ".join(o.failing) or (
            "- (no estimate beyond its tolerance: no sample size decides)"
            if o.sims_to_fail is None or math.isinf(o.sims_to_fail)
            else f"- (about {math.ceil(o.sims_to_fail)} simulations would FAIL it)")
        print(f"| {o.claim_id} | {o.kind} | {m.fails_at} | {o.mutation} | {o.verdict.value} | "
              f"{failing} |")
    if args.json:
        blob = {"fidelity": args.fidelity, "seed": args.seed,
                "results": runner.to_records(results),
                "mutations": [dataclasses.asdict(o) | {"verdict": o.verdict.value}
                              for o in outcomes]}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(blob, indent=1, default=str))
    return 0 if all(o.killed for o in outcomes if o.required) else 1


def _relative(c: dict) -> tuple[float | None, float | None]:
    """(tolerance, se) relative to the prediction's scale, as the perturbation sees them."""
    mode, se, tol = c.get("perturbation"), c.get("se"), c.get("tolerance")
    if mode in ("ratio", "log"):
        scale = 1.0
    elif mode == "shift":
        scale = abs(c.get("perturbation_scale") or 1.0)
    else:
        scale = abs(c["prediction"]) if c.get("prediction") else None
    if not scale:
        return None, None
    return (None if tol is None else tol / scale), (None if se is None else se / scale)


def _limit(mde: float | None, tol: float | None, se: float | None) -> str:
    if mde is None:
        return ""
    if mde <= 0.05:
        return "-"
    if tol is not None and se is not None and tol > 3 * se:
        return "tolerance (stated bias / finite-size allowance)"
    if se is not None:
        return "precision (standard error)"
    return "bound slack"


def _fmt_mde(v: float | None) -> str:
    return "-" if v is None else power.format_mde(v)


def run_mde_table(args: argparse.Namespace) -> int:
    runs = [json.loads(Path(f).read_text()) for f in (args.quick, args.standard)]
    crit = [{c["id"]: (r["id"], c) for r in run["results"] for c in r["criteria"]}
            for run in runs]
    print(f"| criterion | evidence | perturbed | MDE {runs[0]['fidelity']} | "
          f"MDE {runs[1]['fidelity']} | tolerance / scale | se / scale "
          f"({runs[1]['fidelity']}) | limited by |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    counts = {"le5": 0, "numeric": 0}
    for cid, (_, c) in crit[1].items():
        if c["verdict"] == "SKIPPED":
            continue
        q = crit[0].get(cid, (None, {}))[1]
        if c.get("evidence", "test") != "test":
            print(f"| {cid} | {c['evidence']} | - | - | - | - | - | not evidence |")
            continue
        if c.get("mde") is None and q.get("mde") is None:
            continue
        tol, se = _relative(c)
        counts["numeric"] += 1
        counts["le5"] += c.get("mde") is not None and c["mde"] <= 0.05
        print(f"| {cid} | test | {c.get('perturbation')} | {_fmt_mde(q.get('mde'))} | "
              f"{_fmt_mde(c.get('mde'))} | {'-' if tol is None else f'{100 * tol:.2g}%'} | "
              f"{'-' if se is None else f'{100 * se:.2g}%'} | {_limit(c.get('mde'), tol, se)} |")
    print(f"\n{counts['le5']} of {counts['numeric']} numeric criteria detect a 5% error at "
          f"{runs[1]['fidelity']}.")
    for run in runs:
        outs = run["mutations"]
        for kind in ("gross", "nearby"):
            sel = [o for o in outs if o["kind"] == kind]
            killed = sum(o["verdict"] == "FAIL" for o in sel)
            print(f"{kind} mutations at {run['fidelity']}: {killed}/{len(sel)} killed")
    return 0


def run_false_alarms(args: argparse.Namespace) -> int:
    out = Path(args.out or f"bench/results/false_alarms_{args.fidelity}.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {json.loads(line)["seed"] for line in out.read_text().splitlines() if line}
    claims = registry.select(args.claims)
    for seed in parse_seeds(args.seeds):
        if seed in done:
            print(f"seed {seed}: already recorded in {out}", file=sys.stderr)
            continue
        cache_dir = Path(tempfile.mkdtemp(prefix=f"dnn-moments-fa-{seed}-"))
        t0 = time.perf_counter()
        try:
            results = runner.run_claims(claims, args.fidelity, seed,
                                        cache=SimulationCache(cache_dir), power=False)
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)
        rec = {
            "seed": seed, "fidelity": args.fidelity, "seconds": time.perf_counter() - t0,
            "verdicts": {r.claim.id: r.verdict.value for r in results},
            "failing": [c.id for r in results for c in r.criteria if c.verdict is Verdict.FAIL],
            "inconclusive": [c.id for r in results for c in r.criteria
                             if c.verdict is Verdict.INCONCLUSIVE],
            "identity_only": [r.claim.id for r in results
                              if r.verdict is Verdict.IDENTITY_ONLY],
            "errors": {r.claim.id: r.error.splitlines()[0] for r in results if r.error},
        }
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(f"seed {seed}: {rec['seconds']:.0f} s, FAIL {rec['failing']}, "
              f"INCONCLUSIVE {rec['inconclusive']}", flush=True)
    recs = [json.loads(line) for line in out.read_text().splitlines() if line]
    n_fail = sum(bool(r["failing"]) for r in recs)
    n_inc = sum(bool(r["inconclusive"]) for r in recs)
    print(f"{len(recs)} seeds recorded: {n_fail} with a FAIL, {n_inc} with an INCONCLUSIVE; "
          f"median {sorted(r['seconds'] for r in recs)[len(recs) // 2]:.0f} s per run")
    return 0 if n_fail == 0 else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mutations")
    m.add_argument("--fidelity", default="quick", choices=registry.FIDELITIES)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--claims", default=None)
    m.add_argument("--cache-dir", default=None)
    m.add_argument("--json", default=None)
    m.set_defaults(func=run_mutations)
    t = sub.add_parser("mde-table")
    t.add_argument("quick")
    t.add_argument("standard")
    t.set_defaults(func=run_mde_table)
    f = sub.add_parser("false-alarms")
    f.add_argument("--fidelity", default="quick", choices=registry.FIDELITIES)
    f.add_argument("--seeds", default="1-20")
    f.add_argument("--claims", default=None)
    f.add_argument("--out", default=None)
    f.set_defaults(func=run_false_alarms)
    args = p.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
