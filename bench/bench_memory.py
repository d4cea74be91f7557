"""Peak memory against depth: nothing per layer is kept beyond the recorded scalars.

Runs ``dnn-moments simulate`` for bn_res, width 512, batch 64, one simulation, serially (one
process), at several depths (residual units), each in a fresh process, and reads that process's
peak resident set size (``ru_maxrss`` of the finished child). Issue 11's benchmark: 10,000 units
under 500 MB.

    .venv/bin/python bench/bench_memory.py                  # 100, 1000, 10000 units (~2 min)
    .venv/bin/python bench/bench_memory.py --units 100 10000
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def peak_rss_mb(units: int, width: int, batch: int) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one ``simulate`` process."""
    exe = Path(sys.executable).with_name("dnn-moments")
    cmd = [str(exe), "simulate", "--architecture", "bn_res", "--total-depth", str(units),
           "--num-channels", str(width), "--batch-size", str(batch), "--num-sims", "1",
           "--workers", "1", "--dataset", "gaussian", "--quiet"]
    t0 = time.perf_counter()
    # each measurement in its own wrapper process, so RUSAGE_CHILDREN sees only this run
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], check=True, capture_output=True,
                         text=True).stdout.split()[-1]
    return int(out) / 1024.0, time.perf_counter() - t0  # Linux reports KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    print(f"# peak RSS, bn_res width {args.width}, batch {args.batch}, 1 simulation, 1 process; "
          f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}")
    print("| residual units | layers | peak RSS (MiB) | wall (s) |")
    print("|---:|---:|---:|---:|")
    for u in args.units:
        mb, wall = peak_rss_mb(u, args.width, args.batch)
        print(f"| {u} | {2 * u} | {mb:.0f} | {wall:.1f} |", flush=True)


if __name__ == "__main__":
    main()
