"""``dnn-moments verify``: run registered claims and print verdicts.

Exit status: 0 if no claim FAILs, 1 if any does (INCONCLUSIVE does not fail the command; it
is printed with the fidelity that would decide), 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
import time

from simulate.cli import add_device_arguments, set_default_device
from simulate.executors import set_default_scheduler, set_default_workers
from verify import registry, runner
from verify.cache import SimulationCache
from verify.criteria import Verdict


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``verify`` subcommand."""
    p = sub.add_parser(
        "verify",
        help="check registered claims against simulations (PASS / FAIL / INCONCLUSIVE)",
        description="Run the claims of THEORY.md: simulate (cached), compute statistics, "
        "compare with theory, decide verdicts with Holm's correction across the run.",
    )
    p.add_argument("--claims", default=None,
                   help="comma-separated claim ids or paper prefixes (e.g. L6,S4 or Y); "
                        "default: all")
    p.add_argument("--fidelity", default="quick", choices=registry.FIDELITIES,
                   help="simulation sizes (default quick)")
    p.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    p.add_argument("--json", metavar="PATH", default=None,
                   help="write one JSON record per claim to PATH")
    p.add_argument("--cache-dir", default=None,
                   help="simulation cache (default $DNN_MOMENTS_CACHE_DIR or "
                        "./.dnn-moments-cache)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--mutations", action="store_true",
                   help="also run every claim's mutations (wrong theories) and print the "
                        "mutation score")
    p.add_argument("--workers", type=int, default=None,
                   help="processes each claim's simulations run on (default: every core, or "
                        "$DNN_MOMENTS_WORKERS; verdicts identical)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the simulations on the Dask cluster of this scheduler (default "
                        "$DNN_MOMENTS_SCHEDULER; verdicts identical)")
    add_device_arguments(p)
    p.add_argument("--list", action="store_true", help="list registered claims and exit")
    p.add_argument("--claims-module", action="append", default=[], metavar="MODULE",
                   help="import MODULE (e.g. my_pkg.my_claims), which declares papers and "
                        "registers claims; repeatable; also $DNN_MOMENTS_CLAIMS_MODULES and the "
                        "dnn_moments.claims entry points (docs/extending.md)")
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    """Run the ``verify`` subcommand."""
    from theory import papers

    papers.add_extension_modules(args.claims_module or [])
    papers.load_extensions()
    if args.list:
        for c in registry.all_claims():
            print(f"{c.id:<5}{c.title}")
        return 0
    if args.seed < 0:
        raise ValueError(f"seed={args.seed} is not allowed; it must be an integer >= 0")
    set_default_workers(args.workers)
    set_default_scheduler(args.scheduler)
    set_default_device(args.device)
    claims = registry.select(args.claims)
    if args.json:
        from simulate.results import check_writable

        check_writable(args.json, "json")
    cache = None if args.no_cache else SimulationCache(args.cache_dir)
    t0 = time.perf_counter()
    print(f"verifying {len(claims)} claims at fidelity {args.fidelity!r}, seed {args.seed}",
          file=sys.stderr)
    if args.mutations:
        from verify.mutation import mutation_suite, scores

        results, outcomes = mutation_suite(claims, args.fidelity, args.seed, cache=cache,
                                           progress=True)
    else:
        results = runner.run_claims(claims, args.fidelity, args.seed, cache=cache,
                                    progress=True)
        outcomes = []
    print(runner.table(results))
    if outcomes:
        for kind, (killed, total) in scores(outcomes).items():
            print(f"{kind} mutation score at {args.fidelity!r}: {killed}/{total} killed"
                  + (f" ({100 * killed / total:.1f}%)" if total else ""))
        for o in outcomes:
            if not o.killed:
                need = "" if o.required else " (not required at this fidelity)"
                print(f"  survived: {o.claim_id} [{o.kind}] {o.mutation} "
                      f"({o.verdict.value}){need}")
    elapsed = time.perf_counter() - t0
    if cache is not None:
        print(f"{elapsed:.1f} s; cache {cache.directory}: {cache.hits} hits, {cache.misses} "
              f"misses, {cache.corrupted} corrupted entries recomputed", file=sys.stderr)
    if args.json:
        runner.write_json(results, args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    missed = any(o.required and not o.killed for o in outcomes)
    return 1 if missed or any(r.verdict is Verdict.FAIL for r in results) else 0
