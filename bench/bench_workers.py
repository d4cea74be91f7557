"""Throughput of the local worker pool (`simulate.executors`): simulations per second of one
configuration with 1, 2, ... worker processes, the speed-up over one worker, and a check that
the arrays are byte-identical. A first timing confines the single worker to one core
(``sched_setaffinity``): ``--workers 1`` runs in-process, where the Gaussian prefetch thread and
numba's parallel draws use an idle core, so "1 worker" alone is more than one core's work.

Default case: bn_ff FC, N = 512, depth 200, batch 64, both effective ranks (issue 11's
benchmark). The pool is started and warmed (one short run) before the timings, so process
start-up is reported separately.

    .venv/bin/python bench/bench_workers.py                      # ~3 min on 2 cores
    .venv/bin/python bench/bench_workers.py --sims 8 --workers 1 2
    .venv/bin/python bench/bench_workers.py --dask               # + Dask LocalCluster vs pool
                                                                 #   (interleaved rounds)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from simulate import EngineOptions, spec
from simulate.conv import default_threads
from simulate.executors import shutdown_pool
from simulate.experiments import run_network
from simulate.inputs import make_input_source


def timed_run(workers: int, sims: int, width: int, depth: int, batch: int, seed: int,
              client=None) -> tuple[float, dict[str, np.ndarray]]:
    net = spec.bn_ff(width, depth)
    src = make_input_source("gaussian", input_dim=3072)
    t0 = time.perf_counter()
    res = run_network(net, src, batch_size=batch, num_sims=sims, seed=seed, quiet=True,
                      options=EngineOptions(), workers=workers, client=client)
    return time.perf_counter() - t0, res.arrays


def identical(ref: dict[str, np.ndarray], arrays: dict[str, np.ndarray]) -> bool:
    """Whether every array of ``ref`` is byte-identical in ``arrays``."""
    return all(ref[k].tobytes() == arrays[k].tobytes() for k in ref)


def cli_single_sim_seconds() -> float:
    """Wall time of ``dnn-moments simulate --num-sims 1`` (small net), warm numba cache."""
    exe = Path(sys.executable).with_name("dnn-moments")
    cmd = [str(exe), "simulate", "--architecture", "bn_ff", "--num-channels", "64",
           "--total-depth", "10", "--batch-size", "16", "--num-sims", "1", "--dataset",
           "gaussian", "--quiet"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the on-disk caches
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def dask_against_pool(w: int, args: argparse.Namespace, ref: dict[str, np.ndarray]) -> None:
    """A Dask LocalCluster of ``w`` single-threaded workers against the local pool of ``w``
    processes on the same work, in interleaved rounds (pool, Dask, pool, Dask, ...) with both
    kept warm, so that drift of the machine's speed hits both alike. Each executor first runs
    the full-size configuration once untimed (first-touch memory, numba dispatch). Reports
    each round's Dask / pool ratio, their median, and the ratio of the best timings."""
    from distributed import Client

    from simulate.executors import local_cluster

    size = (args.width, args.depth, args.batch)
    with local_cluster(w) as cluster, Client(cluster) as client:
        t_start = time.perf_counter()
        timed_run(w, max(w, 2), 32, 4, 8, 99, client=client)
        startup = time.perf_counter() - t_start
        timed_run(w, w, *size, seed=2)  # full-size warm-up of the pool
        timed_run(w, w, *size, seed=2, client=client)  # and of the Dask workers
        pool_t, dask_t, same = [], [], True
        for _ in range(args.dask_rounds):
            t, arrays = timed_run(w, args.sims, *size, seed=1)
            pool_t.append(t)
            same &= identical(ref, arrays)
            t, arrays = timed_run(w, args.sims, *size, seed=1, client=client)
            dask_t.append(t)
            same &= identical(ref, arrays)
    shutdown_pool()
    ratios = [d / p for d, p in zip(dask_t, pool_t, strict=True)]
    print(f"\nDask LocalCluster ({w} single-threaded worker processes) against the local pool "
          f"({w} processes), {args.dask_rounds} interleaved rounds of {args.sims} sims "
          f"(cluster start + warm-up {startup:.1f} s):")
    print("\n| round | pool s | Dask s | Dask / pool |\n|---:|---:|---:|---:|")
    for i, (p, d, r) in enumerate(zip(pool_t, dask_t, ratios, strict=True), 1):
        print(f"| {i} | {p:.2f} | {d:.2f} | {r:.3f} |")
    print(f"\npool best {min(pool_t):.2f} s ({args.sims / min(pool_t):.3f} sims/s), Dask best "
          f"{min(dask_t):.2f} s ({args.sims / min(dask_t):.3f} sims/s): overhead of the best "
          f"timings {100 * (min(dask_t) / min(pool_t) - 1):+.1f}%, median of the round ratios "
          f"{100 * (float(np.median(ratios)) - 1):+.1f}% (range {100 * (min(ratios) - 1):+.1f}% "
          f"to {100 * (max(ratios) - 1):+.1f}%); arrays identical to 1 worker: "
          f"{'yes' if same else 'NO'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=16, help="simulations per timing (default 16)")
    ap.add_argument("--workers", type=int, nargs="+", default=None,
                    help="worker counts (default: 1, 2, ..., every core)")
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--depth", type=int, default=200)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2, help="timings per worker count (best kept)")
    ap.add_argument("--dask", action="store_true",
                    help="also time a Dask LocalCluster with as many single-threaded worker "
                         "processes as the largest worker count, against the local pool")
    ap.add_argument("--dask-rounds", type=int, default=6,
                    help="interleaved pool / Dask rounds (default 6)")
    args = ap.parse_args()
    cores = default_threads()
    counts = args.workers or sorted({1, 2, cores} & set(range(1, cores + 1)))
    print(f"machine: {platform.machine()}, {cores} usable cores ({os.cpu_count()} cpus), "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    print(f"case: bn_ff FC N={args.width}, depth {args.depth}, batch {args.batch}, "
          f"{args.sims} sims per timing, both r_eff; best of {args.rounds}")
    ref = None
    rows = []
    one_core = None
    if hasattr(os, "sched_setaffinity") and cores > 1:
        # the same single worker confined to one core: `--workers 1` runs in-process, where the
        # Gaussian prefetch thread and numba's parallel draws borrow an idle core
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(allowed)})
        try:
            timed_run(1, 2, 32, 4, 8, 99)
            one_core = min(timed_run(1, args.sims, args.width, args.depth, args.batch, seed=1)[0]
                           for _ in range(args.rounds))
        finally:
            os.sched_setaffinity(0, allowed)
    for w in counts:
        t_start = time.perf_counter()
        timed_run(w, max(w, 2), 32, 4, 8, 99)  # start and warm the pool (numba caches)
        startup = time.perf_counter() - t_start
        best = float("inf")
        for _ in range(args.rounds):
            t, arrays = timed_run(w, args.sims, args.width, args.depth, args.batch, seed=1)
            best = min(best, t)
        if ref is None:
            ref = arrays
        same = identical(ref, arrays)
        rows.append((w, best, startup, same))
        shutdown_pool()
    base = rows[0][1]
    print("\n| workers | s per timing | sims/s | speed-up over 1 worker | speed-up over 1 worker "
          "on one core | pool start + warm-up s | arrays identical to 1 worker |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    if one_core is not None:
        print(f"| 1, on one core | {one_core:.2f} | {args.sims / one_core:.3f} | "
              f"{base / one_core:.2f}x | 1.00x | - | - |")
    for w, t, start, same in rows:
        per_core = f"{one_core / t:.2f}x" if one_core is not None else "-"
        print(f"| {w} | {t:.2f} | {args.sims / t:.3f} | {base / t:.2f}x | {per_core} | "
              f"{start:.1f} | {'yes' if same else 'NO'} |")
    if args.dask:
        dask_against_pool(counts[-1], args, ref)
    print(f"\n`dnn-moments simulate --num-sims 1` (bn_ff 64 x 10, batch 16), warm caches: "
          f"{cli_single_sim_seconds():.2f} s wall (best of 3)")


if __name__ == "__main__":
    main()
