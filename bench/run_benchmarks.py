"""Benchmark suite of dnn-moments (per-simulation time, GFLOP/s, Gaussian draws/s, memory).

Run:  .venv/bin/python bench/run_benchmarks.py [--quick] [--out docs/benchmarks.md] [--json PATH]

Measures, with `simulate.experiments.run_experiment` on gaussian inputs, float32, both effective
ranks on (the defaults):

1. vanilla and bn_ff, width 512, depth 200, batch 64, num_computations 100 (>= 10 sims/timing);
2. bn_res, width 512, 500 units of res_depth 2, batch 64, num_computations 100 (>= 5 sims);
3. the fast path's speed-up over the dense path (path="fast" vs path="dense") for bn_ff width 512
   depth 200 at batch 8, 64 and 256;
4. the peak resident memory (ru_maxrss) of one bn_ff run, in a fresh subprocess, and the peak of
   the traced (numpy / Python) allocations (tracemalloc) during that run;
5. the targets of the issue (bn_ff <= 0.15 s/sim, bn_res <= 0.6 s/sim) as PASS/MISS, and the
   speed-up over reference figures measured by the project lead (not re-measured here);

plus the RNG table of bench/bench_rng.py (run as a subprocess).

Every timing is time.perf_counter around one run_experiment call of several simulations,
divided by the number of simulations. Cases are timed round-robin, ``--rounds`` times (3), and
the best (fastest) round is reported, together with the median and the slowest round. During
each timing the CPU use of *other* processes is measured from /proc/stat (busy jiffies of the
machine minus this process's own CPU time) and reported for the best round: the simulator keeps
both cores busy (numba random-number kernels), so any concurrent load slows it down strongly.

Markdown goes to stdout, and to ``--out`` if given. If the ``--out`` file already exists and has
a ``## Notes`` section, that section (hand-written) is kept at the end of the new file.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import numpy as np  # noqa: E402
from bench_rng import cpu_model  # noqa: E402  (bench/ is on sys.path when run as a script)

from simulate.engine import choose_path  # noqa: E402
from simulate.experiments import run_experiment  # noqa: E402

WIDTH = 512
DEPTH = 200
UNITS = 500
BATCH = 64
NUM_COMPUTATIONS = 100

# Issue targets (seconds per simulation) and reference figures (seconds per simulation, measured
# by the project lead on this machine type; cited, not re-measured).
LOADED = 0.10  # others' CPU share above which a timing counts as loaded
TARGETS = {"bn_ff": 0.15, "bn_res": 0.6}
REFERENCES = [
    # (architecture, reference implementation, seconds per simulation)
    ("bn_ff", "moments-dnns, TensorFlow 2.15 CPU", 3.2),
    ("vanilla", "moments-dnns, TensorFlow 2.15 CPU", 2.9),
    ("bn_ff", "plain numpy float32 dense implementation", 0.75),
]


# --------------------------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------------------------


def ram_total() -> str:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal"):
                    kb = int(line.split()[1])
                    return f"{kb / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info

        parts = []
        for lib in threadpool_info():
            version = f" {lib['version']}" if lib.get("version") else ""
            parts.append(
                f"{lib.get('internal_api')}{version} "
                f"({lib.get('user_api')}, {lib.get('num_threads')} threads by default)"
            )
        return "; ".join(parts) or "none found"
    except Exception as exc:  # pragma: no cover - informational only
        return f"unknown ({exc})"


def load_avg() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def machine_info() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "ram": ram_total(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_threading_layer": numba.threading_layer(),  # valid after the warm-up
        "numba_num_threads": numba.config.NUMBA_NUM_THREADS,
        "blas": blas_info(),
        "platform": platform.platform(),
    }


# --------------------------------------------------------------------------------------------
# Contention measurement: CPU used by other processes during a timing
# --------------------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float | None:
    """Busy CPU seconds of the whole machine (all cores) since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...
    busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] if len(f) > 7 else 0)
    return busy / _TICK


def _self_seconds() -> float:
    t = os.times()
    return t.user + t.system


class CpuMeter:
    """Share of the machine's CPU capacity used by other processes between start and stop."""

    def __enter__(self) -> CpuMeter:
        self.b0, self.s0, self.t0 = _busy_seconds(), _self_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.t0
        b1, s1 = _busy_seconds(), _self_seconds()
        self.self_cores = (s1 - self.s0) / wall if wall > 0 else float("nan")
        if self.b0 is None or b1 is None or wall <= 0:
            self.others = float("nan")
        else:
            others = (b1 - self.b0) - (s1 - self.s0)
            self.others = max(0.0, others / (wall * (os.cpu_count() or 1)))


def others_cpu_now(window: float = 0.5) -> float:
    """Share of the machine's CPU used by other processes over the next ``window`` seconds."""
    with CpuMeter() as m:
        time.sleep(window)
    return m.others


class QuietWaiter:
    """Before each timing, wait (within a total budget) until other processes are quiet."""

    def __init__(self, budget: float, threshold: float = 0.10) -> None:
        self.budget, self.threshold, self.waited = budget, threshold, 0.0

    def __call__(self) -> None:
        while self.waited < self.budget:
            t0 = time.perf_counter()
            busy = others_cpu_now()
            self.waited += time.perf_counter() - t0
            if not busy > self.threshold:  # also stops on nan (no /proc/stat)
                return


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    key: str
    label: str
    architecture: str
    total_depth: int
    batch_size: int
    num_sims: int
    path: str = "auto"
    res_depth: int = 2
    # filled by the runs
    seconds_per_sim: list[float] = field(default_factory=list)
    draws_per_sim: float = 0.0
    flops_per_sim: float = 0.0
    dense_layers_by_path: dict[str, int] = field(default_factory=dict)
    others_cpu: list[float] = field(default_factory=list)
    self_cores: list[float] = field(default_factory=list)

    def run_once(self) -> None:
        with CpuMeter() as meter:
            t0 = time.perf_counter()
            r = run_experiment(
                self.architecture, self.total_depth, 1, WIDTH, self.batch_size, self.num_sims,
                dataset="gaussian", num_computations=NUM_COMPUTATIONS, res_depth=self.res_depth,
                seed=0, quiet=True, path=self.path, dtype="float32",
            )
            wall = time.perf_counter() - t0
        m = r.metadata
        self.seconds_per_sim.append(wall / self.num_sims)
        self.draws_per_sim = m["normal_draws"] / self.num_sims
        self.flops_per_sim = m["flops"] / self.num_sims
        self.dense_layers_by_path = {k: v // self.num_sims
                                     for k, v in m["dense_layers_by_path"].items()}
        self.others_cpu.append(meter.others)
        self.self_cores.append(meter.self_cores)

    @property
    def best_index(self) -> int:
        return int(np.argmin(self.seconds_per_sim))

    @property
    def best(self) -> float:
        return min(self.seconds_per_sim)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds_per_sim)

    @property
    def worst(self) -> float:
        return max(self.seconds_per_sim)

    @property
    def gflops(self) -> float:
        return self.flops_per_sim / self.best / 1e9

    @property
    def draws_per_s(self) -> float:
        return self.draws_per_sim / self.best

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(best=self.best, median=self.median, worst=self.worst, gflops=self.gflops,
                 draws_per_s=self.draws_per_s)
        return d


def make_cases(quick: bool) -> tuple[list[Case], list[tuple[int, Case, Case]]]:
    s_ff, s_res = (3, 2) if quick else (10, 5)
    main = [
        Case("vanilla", f"vanilla, depth {DEPTH}", "vanilla", DEPTH, BATCH, s_ff),
        Case("bn_ff", f"bn_ff, depth {DEPTH}", "bn_ff", DEPTH, BATCH, s_ff),
        Case("bn_res", f"bn_res, {UNITS} units x res_depth 2", "bn_res", UNITS, BATCH, s_res),
    ]
    pairs = []
    for b in (8, 64, 256):
        if quick:
            nf, nd = (2, 2) if b < 256 else (1, 1)
        else:
            nf, nd = (10, 10) if b < 256 else (5, 3)
        fast = Case(f"fast_b{b}", f"bn_ff fast, batch {b}", "bn_ff", DEPTH, b, nf, path="fast")
        dense = Case(f"dense_b{b}", f"bn_ff dense, batch {b}", "bn_ff", DEPTH, b, nd,
                     path="dense")
        pairs.append((b, fast, dense))
    return main, pairs


def warm_up() -> None:
    """Compile / load the numba caches of every kernel of every architecture and path."""
    for arch in ("vanilla", "bn_ff", "bn_res"):
        for path in ("fast", "dense"):
            run_experiment(arch, 4, 1, 16, 4, 1, dataset="gaussian", num_computations=2,
                           quiet=True, path=path)
    # one mid-size run so that BLAS buffers and the thread pools are up
    run_experiment("bn_ff", 10, 1, WIDTH, BATCH, 1, dataset="gaussian", num_computations=10,
                   quiet=True)


# --------------------------------------------------------------------------------------------
# Memory (fresh subprocess)
# --------------------------------------------------------------------------------------------

_MEM_CHILD = textwrap.dedent(
    """
    import json, resource, sys, tracemalloc
    sys.path.insert(0, {root!r})
    from simulate.experiments import run_experiment

    def status():
        d = {{}}
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS", "VmHWM")):
                    k, v = line.split(":")
                    d[k] = int(v.split()[0])
        return d

    args = ("bn_ff", {depth}, 1, {width}, {batch}, 1)
    kw = dict(dataset="gaussian", num_computations={nc}, quiet=True)
    run_experiment("bn_ff", 4, 1, 16, 4, 1, dataset="gaussian", num_computations=2, quiet=True)
    rss_before = status()["VmRSS"]
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:  # reset the high-water mark (Linux), so VmHWM is the peak during the run
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        reset = True
    except OSError:
        reset = False
    run_experiment(*args, **kw)
    hwm = status()["VmHWM"]
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    run_experiment(*args, **kw)
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps(dict(rss_before_kib=rss_before, maxrss_before_kib=maxrss_before,
                          maxrss_after_kib=maxrss_after, hwm_run_kib=hwm if reset else None,
                          traced_peak_bytes=peak)))
    """
)


def measure_memory() -> dict[str, Any]:
    code = _MEM_CHILD.format(root=str(ROOT), depth=DEPTH, width=WIDTH, batch=BATCH,
                             nc=NUM_COMPUTATIONS)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# RNG table (bench/bench_rng.py)
# --------------------------------------------------------------------------------------------


def rng_table(quick: bool) -> str:
    cmd = [sys.executable, str(ROOT / "bench" / "bench_rng.py")] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.strip()


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def fmt_s(x: float) -> str:
    return f"{x:.3f}"


def others_str(c: Case) -> str:
    v = c.others_cpu[c.best_index]
    return "n/a" if v != v else f"{100 * v:.0f}%" + (" †" if v > LOADED else "")


def render(mach: dict[str, Any], load_start: str, load_end: str, started: str, elapsed: float,
           main: list[Case], pairs: list[tuple[int, Case, Case]], mem: dict[str, Any],
           rng: str, command: str, rounds: int, quick: bool, waited: float,
           max_wait: float, extra: tuple[int, int]) -> str:
    L: list[str] = []
    add = L.append
    add("# Benchmarks")
    add("")
    add(f"Generated by `bench/run_benchmarks.py` on {started} UTC "
        f"({'--quick, ' if quick else ''}{elapsed:.0f} s wall). To reproduce, from the "
        "repository root:")
    add("")
    add("```")
    add(command)
    add("```")
    add("")
    add("## Machine")
    add("")
    add(f"- CPU: {mach['cpu']}; nproc = {mach['nproc']}; RAM {mach['ram']}")
    add(f"- Python {mach['python']}, numpy {mach['numpy']}, numba {mach['numba']} "
        f"(threading layer `{mach['numba_threading_layer']}`, "
        f"NUMBA_NUM_THREADS = {mach['numba_num_threads']})")
    add(f"- BLAS: {mach['blas']} (the simulator pins BLAS to 1 thread inside simulations)")
    add(f"- {mach['platform']}")
    add(f"- Load average (1, 5, 15 min): {load_start} at the start, {load_end} at the end "
        "(`uptime`)")
    add("")
    add("## Method")
    add("")
    add(f"`run_experiment(arch, depth, 1, {WIDTH}, batch, num_sims, dataset=\"gaussian\", "
        f"num_computations={NUM_COMPUTATIONS}, dtype=\"float32\")`, both effective ranks on "
        "(default), after a warm-up run of every architecture and path (numba compilation / "
        "cache load). Time = `time.perf_counter` around one call / num_sims. All cases are "
        f"timed round-robin {rounds} times; **best** = fastest timing (reported, and used for "
        "GFLOP/s and draws/s); median and slowest are over all timings of the case. GFLOP/s "
        "and draws/s are `metadata[\"flops\"]` and `metadata[\"normal_draws\"]` (the "
        "simulator's own counts) divided by the best time.")
    add("")
    add("Load: \"others' CPU\" = share of the machine's capacity (all cores) used by *other* "
        "processes during the best timing (/proc/stat busy time minus this process's CPU "
        "time). The simulator keeps both cores busy (numba kernels), so concurrent load slows "
        "it down far more than proportionally. Before each timing the script waits until other "
        f"processes use < {100 * LOADED:.0f}% of the CPU (total wait budget {max_wait:.0f} s; "
        f"waited {waited:.0f} s in this run); a case whose best timing still had others' CPU > "
        f"{100 * LOADED:.0f}% gets up to {extra[1]} extra round(s) (this run: {extra[0]}); "
        "rows whose best timing was still loaded are marked †. The load averages above include "
        "this benchmark itself (about 2 while it runs).")
    add("")

    add("## 1. Simulation time, width 512, batch 64")
    add("")
    add("| case | sims/timing | dense layers (fast/dense) | best s/sim | median | slowest | "
        "GFLOP/s | draws/s | others' CPU | target | result |")
    add("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for c in main:
        tgt = TARGETS.get(c.architecture)
        tgt_s = f"<= {tgt} s" if tgt else "-"
        res = ("PASS" if c.best <= tgt else "MISS") if tgt else "-"
        p = c.dense_layers_by_path
        add(f"| {c.label} | {c.num_sims} | {p.get('fast', 0)}/{p.get('dense', 0)} | "
            f"{fmt_s(c.best)} | {fmt_s(c.median)} | {fmt_s(c.worst)} | {c.gflops:.2f} | "
            f"{c.draws_per_s:.3e} | {others_str(c)} | {tgt_s} | {res} |")
    add("")
    add("## 2. Speed-up over reference implementations")
    add("")
    add("Reference figures were measured by the project lead on this machine type (cited, not "
        "re-measured here).")
    add("")
    add("| case | reference | reference s/sim | ours (best s/sim) | speed-up |")
    add("|---|---|---:|---:|---:|")
    by_arch = {c.architecture: c for c in main}
    for arch, ref, secs in REFERENCES:
        c = by_arch[arch]
        add(f"| {c.label} | {ref} | {secs} | {fmt_s(c.best)} | {secs / c.best:.1f}x |")
    add("")
    add(f"## 3. Fast path vs dense path (bn_ff, width {WIDTH}, depth {DEPTH})")
    add("")
    add("The fast path draws the layer's output directly from the Gram matrix of its input "
        "(a k x N_out Gaussian block, k = numerical rank of the 2B x N input, <= 2B) instead "
        "of an N_in x N_out weight matrix. \"auto picks\" = the path `path=\"auto\"` (the "
        "default) chooses for these layers (`simulate.engine.choose_path`, rows = 2B with the "
        "tangent).")
    add("")
    add("| batch | path | sims/timing | best s/sim | median | slowest | GFLOP/s | draws/sim | "
        "draws/s | others' CPU | speed-up fast/dense | auto picks |")
    add("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for b, fast, dense in pairs:
        sp = dense.best / fast.best
        for c, lab in ((fast, "fast"), (dense, "dense")):
            add(f"| {b} | {lab} | {c.num_sims} | {fmt_s(c.best)} | {fmt_s(c.median)} | "
                f"{fmt_s(c.worst)} | {c.gflops:.2f} | {c.draws_per_sim:.3e} | "
                f"{c.draws_per_s:.3e} | {others_str(c)} | "
                f"{f'**{sp:.2f}x**' if lab == 'fast' else ''} | "
                f"{choose_path('auto', 2 * b, WIDTH, WIDTH) if lab == 'fast' else ''} |")
    add("")
    add("## 4. Memory (one bn_ff run, width 512, depth 200, batch 64, fresh subprocess)")
    add("")
    mib = 1.0 / 1024
    add("| measure | MiB |")
    add("|---|---:|")
    add(f"| RSS after imports + a tiny warm-up run (numba/LLVM, numpy, scipy loaded) | "
        f"{mem['rss_before_kib'] * mib:.1f} |")
    if mem.get("hwm_run_kib") is not None:
        add(f"| peak RSS during one full simulation (VmHWM, reset before the run) | "
            f"{mem['hwm_run_kib'] * mib:.1f} |")
        add(f"| of which added by the simulation (peak minus RSS before) | "
            f"{(mem['hwm_run_kib'] - mem['rss_before_kib']) * mib:.1f} |")
    add(f"| process peak RSS, `ru_maxrss` (RUSAGE_SELF), after the run | "
        f"{mem['maxrss_after_kib'] * mib:.1f} |")
    add(f"| peak traced allocations (tracemalloc: numpy + Python) during one simulation | "
        f"{mem['traced_peak_bytes'] / 1024**2:.1f} |")
    add("")
    add("## 5. Random-number generator (`bench/bench_rng.py"
        f"{' --quick' if quick else ''}`)")
    add("")
    add(rng)
    add("")
    return "\n".join(L)


KEPT_BEGIN, KEPT_END = "<!-- bench_conv:begin -->", "<!-- bench_conv:end -->"


def keep_notes(path: Path) -> str:
    """The parts of an existing output that other scripts own: the convolution section written
    by `bench/bench_conv.py` (between its markers) and the hand-written ``## Notes``."""
    if not path.exists():
        return ""
    text = path.read_text()
    kept = ""
    if KEPT_BEGIN in text and KEPT_END in text:
        kept = text[text.index(KEPT_BEGIN): text.index(KEPT_END) + len(KEPT_END)] + "\n\n"
    i = text.find("\n## Notes")
    return kept + (text[i + 1:].rstrip() + "\n" if i >= 0 else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer sims and rounds (smoke run)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="round-robin passes over all cases, best kept (default 3; 2 if --quick)")
    ap.add_argument("--out", type=Path, default=None, help="write the Markdown report here")
    ap.add_argument("--json", type=Path, default=None, help="write raw results as JSON here")
    ap.add_argument("--extra-rounds", type=int, default=2,
                    help="extra rounds for cases whose best round had others' CPU > 10%% "
                         "(default 2)")
    ap.add_argument("--max-wait", type=float, default=120.0,
                    help="total seconds one may wait, before timings, for other processes to use\n"
                         "< 10%% of the CPU (0: never wait; default 120)")
    args = ap.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)

    started = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M")
    load_start = load_avg()
    t_start = time.perf_counter()
    cmd = ".venv/bin/python bench/run_benchmarks.py" + (" --quick" if args.quick else "")
    if args.rounds:
        cmd += f" --rounds {args.rounds}"
    if args.extra_rounds != 2:
        cmd += f" --extra-rounds {args.extra_rounds}"
    if args.max_wait != 120.0:
        cmd += f" --max-wait {args.max_wait:g}"
    if args.out:
        cmd += f" --out {args.out}"

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(f"load average at start: {load_start}; warming up ...")
    warm_up()
    mach = machine_info()

    main_cases, pairs = make_cases(args.quick)
    all_cases = main_cases + [c for _, f, d in pairs for c in (f, d)]
    quiet = QuietWaiter(args.max_wait, LOADED)
    for rnd in range(rounds):
        for c in all_cases:
            quiet()
            c.run_once()
            log(f"  round {rnd + 1}: {c.label:<34s} {c.seconds_per_sim[-1]:.3f} s/sim  "
                f"(others' CPU {100 * c.others_cpu[-1]:.0f}%, ours {c.self_cores[-1]:.2f} cores)")

    # Cases whose best round still ran next to a busy process get extra rounds (after waiting
    # for quiet, within the budget).
    extra = 0
    for _ in range(args.extra_rounds):
        loaded = [c for c in all_cases if c.others_cpu[c.best_index] > LOADED]
        if not loaded:
            break
        extra += 1
        for c in loaded:
            quiet()
            c.run_once()
            log(f"  extra round: {c.label:<34s} {c.seconds_per_sim[-1]:.3f} s/sim  "
                f"(others' CPU {100 * c.others_cpu[-1]:.0f}%, ours {c.self_cores[-1]:.2f} cores)")

    log("memory (subprocess) ...")
    mem = measure_memory()
    log("RNG benchmark (bench/bench_rng.py) ...")
    rng = rng_table(args.quick)
    load_end = load_avg()
    elapsed = time.perf_counter() - t_start

    md = render(mach, load_start, load_end, started, elapsed, main_cases, pairs, mem, rng, cmd,
                rounds, args.quick, quiet.waited, args.max_wait, (extra, args.extra_rounds))
    print(md)
    if args.out:
        notes = keep_notes(args.out)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(md + ("\n" + notes if notes else ""))
        log(f"wrote {args.out}" + (" (kept its conv section and ## Notes)" if notes else ""))
    if args.json:
        payload = {
            "started_utc": started, "elapsed_s": elapsed, "quick": args.quick, "rounds": rounds,
            "command": cmd, "machine": mach, "load_start": load_start, "load_end": load_end,
            "cases": [c.summary() for c in all_cases], "waited_for_quiet_s": quiet.waited,
            "speedups_fast_over_dense": {str(b): d.best / f.best for b, f, d in pairs},
            "targets": TARGETS, "references": REFERENCES, "memory": mem, "rng_table": rng,
        }
        args.json.write_text(json.dumps(payload, indent=2))
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
