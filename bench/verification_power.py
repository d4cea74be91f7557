"""Power and false alarms of the claim registry (numbers for docs/verification.md).

    python bench/verification_power.py mutations [--fidelity quick] [--seed 0]
    python bench/verification_power.py false-alarms [--seeds 1-20] [--fidelity quick]

``mutations`` runs every claim's wrong theories and prints the mutation score (killed / total)
and a Markdown table. ``false-alarms`` runs the whole registry once per seed, appending one
JSON line per seed to ``--out`` (default ``bench/results/false_alarms_<fidelity>.jsonl``); a
rerun skips seeds already recorded, so a long sweep can be resumed. Each seed uses its own
simulations (the seed enters every simulation's seed), and the cache directory is emptied after
each seed to bound disk use.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from verify import registry, runner
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
        print(f"| {o.claim_id} | {o.kind} | {m.fails_at} | {o.mutation} | {o.verdict.value} | "
              f"{', '.join(o.failing) or '-'} |")
    return 0 if all(o.killed for o in outcomes if o.required) else 1


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
                                        cache=SimulationCache(cache_dir))
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)
        rec = {
            "seed": seed, "fidelity": args.fidelity, "seconds": time.perf_counter() - t0,
            "verdicts": {r.claim.id: r.verdict.value for r in results},
            "failing": [c.id for r in results for c in r.criteria if c.verdict is Verdict.FAIL],
            "inconclusive": [c.id for r in results for c in r.criteria
                             if c.verdict is Verdict.INCONCLUSIVE],
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
    m.set_defaults(func=run_mutations)
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
