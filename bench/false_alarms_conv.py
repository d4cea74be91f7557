"""False-alarm sweep of the conv BN criteria alone (L6.1, L7.3, L8.1 at conv), at ``quick``.

`bench/verification_power.py false-alarms` runs whole claims, whose FC runs dominate the cost;
this script evaluates only the conv criteria, through the claims' own helpers and sizes, one
seed per line: the largest p_pass (PASS needs p_pass <= 0.01, `verify.criteria.ALPHA_PASS`) and
the criteria above 1e-3.

    .venv/bin/python bench/false_alarms_conv.py 1 2 3 4 5 6     # ~1.5 min per seed, 2 cores
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from verify import claims_labatie as CL
from verify import registry
from verify.cache import SimulationCache
from verify.context import Context


def conv_criteria(seed: int, cache: SimulationCache) -> list:
    """The conv test criteria of L6, L7 and L8 at ``quick`` for run seed ``seed``."""
    memo: dict = {}
    out = []
    for cid in ("L6", "L7", "L8"):
        cl = registry.get(cid)
        size, th = cl.size("quick"), cl.theory
        ctx = Context(cid, "quick", seed, cache=cache, memo=memo)
        rng = ctx.rng(cid)
        if cid == "L6":
            for b in CL.CONV_BN_BOUNDARIES:
                out += CL._l6_windows(CL.conv_bn_ff_run(ctx, size, b), th, ctx, rng,
                                      f"conv {b} ", CL.L6_WINDOWS[1:], "")[0]
        elif cid == "L7":
            out += CL._l7_in_network(CL.conv_spectra_run(ctx, size), th, ctx, "conv ",
                                     CL.L7_CONV_SIGNED_TOL, "", "")[0]
        else:
            out += [c for c in CL._l8_conv(ctx, th, size, rng) if c.evidence == "test"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seeds", type=int, nargs="+")
    ap.add_argument("--cache-dir", type=Path, default=None,
                    help="simulation cache (default: a temporary directory)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = SimulationCache(args.cache_dir or Path(tmp))
        for seed in args.seeds:
            crit = conv_criteria(seed, cache)
            worst = max(c.p_pass for c in crit)
            weak = [(c.id, round(c.estimate.value, 5)) for c in crit if c.p_pass > 1e-3]
            print(f"seed {seed}: {len(crit)} criteria, max p_pass {worst:.2g}; above 1e-3: "
                  f"{weak}", flush=True)


if __name__ == "__main__":
    main()
