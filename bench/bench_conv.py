"""Convolutional layers: achieved GFLOP/s as a fraction of the machine's measured float32 peak.

Run (from the repository root, on an otherwise idle machine):

    .venv/bin/python bench/bench_conv.py --out docs/benchmarks.md

Measures, in one run:

1. the float32 matmul peak: best of several ``numpy.matmul`` of two 3072 x 3072 float32
   matrices (58 GFLOP each), with every core (BLAS threads = cores) and with one thread;
2. the convolution product alone (`simulate.conv.conv2d_rows`) of signal and tangent
   together, batch 64, 16 x 16 maps, 3 x 3 kernel, periodic boundary, widths 64, 128 and 512,
   with each algorithm: im2col packing + one GEMM (``2 * 2B n^2 * k^2 C^2`` flops, the direct
   count: 154.6 GFLOP at 512) and Winograd F(2x2, 3x3), the engine's default for these layers
   (16 GEMMs on 4x4 tiles: 4/9 of the direct multiplications, plus the tile transforms);
3. one whole bn_ff layer with both effective ranks (conv, 4 measurement points with all
   moments, BN, ReLU, r_eff of signal and noise, tangent rescaling), as the difference of two
   runs of `simulate.engine.Propagator` of depths ``D1 < D2`` divided by ``D2 - D1`` (the stem
   and set-up cancel), and the time of each piece of that layer on its own.

Every time is the best of ``--repeats`` (default 3) after a warm-up. The CPU used by other
processes during each timing is measured (/proc/stat) and reported; a loaded timing is marked.
The markdown section is printed and, with ``--out``, written into that file between the
``<!-- bench_conv -->`` markers (replacing the previous one; `bench/run_benchmarks.py` keeps it).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from run_benchmarks import CpuMeter, load_avg, machine_info  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from simulate import conv, kernels, spec  # noqa: E402
from simulate.engine import EngineOptions, Propagator, _rescale_tangent, _State  # noqa: E402
from simulate.rng import GaussianStream  # noqa: E402

BEGIN, END = "<!-- bench_conv:begin -->", "<!-- bench_conv:end -->"
BATCH, SIZE, K = 64, 16, 3
WIDTHS = (64, 128, 512)
TARGET_PEAK_FRACTION = 0.70  # 512-channel conv product
TARGET_LAYER_128 = 0.08  # seconds, bn_ff layer with both effective ranks
# moments-dnns on TensorFlow 2.15 CPU, as quoted in issue 10 (measured by its author on this
# machine type; cited, not re-measured here)
TF_REFERENCE = {512: ("conv layer, signal + tangent", 2.26), 128: ("bn_ff layer with r_eff", 0.28)}


def best_of(fn, repeats: int) -> tuple[float, float]:
    """Best wall time of ``fn()`` over ``repeats`` calls and the others' CPU share then."""
    best, others = math.inf, 0.0
    for _ in range(repeats):
        with CpuMeter() as meter:
            t = time.perf_counter()
            fn()
            dt = time.perf_counter() - t
        share = meter.others
        if dt < best:
            best, others = dt, share
    return best, others


def matmul_peak(threads: int, repeats: int, n: int = 3072) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        np.matmul(a, b, out=out)
        t, others = best_of(lambda: np.matmul(a, b, out=out), repeats)
    return 2.0 * n**3 / t / 1e9, others


#: multiplications of Winograd F(2x2, 3x3) relative to the direct (im2col) count
WINOGRAD_FLOP_RATIO = 16 / 36


def conv_product(C: int, threads: int, repeats: int, algorithm: str
                 ) -> tuple[float, float, float]:
    rng = np.random.default_rng(1)
    maps = 2 * BATCH
    Z = rng.standard_normal((maps * SIZE * SIZE, C), dtype=np.float32)
    kern = rng.standard_normal((K * K * C, C), dtype=np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        conv.conv2d_rows(Z, maps, (SIZE, SIZE), kern, 1, "periodic", threads, algorithm)
        t, others = best_of(
            lambda: conv.conv2d_rows(Z, maps, (SIZE, SIZE), kern, 1, "periodic", threads,
                                     algorithm), repeats)
    flops = 2.0 * Z.shape[0] * K * K * C * C
    return t, flops, others


def bn_ff_layer(C: int, d1: int, d2: int, threads: int, repeats: int) -> tuple[float, float]:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((BATCH, 2 * SIZE, 2 * SIZE, 3))
    dx = rng.standard_normal(x.shape)
    props = {d: Propagator(spec.bn_ff(C, d, kernel_size=K), EngineOptions(threads=threads))
             for d in (d1, d2)}
    for p in props.values():
        p.run(x, dx, GaussianStream(0))
    t1, o1 = best_of(lambda: props[d1].run(x, dx, GaussianStream(0)), repeats)
    t2, o2 = best_of(lambda: props[d2].run(x, dx, GaussianStream(0)), repeats)
    return (t2 - t1) / (d2 - d1), max(o1, o2)


def layer_pieces(C: int, threads: int, repeats: int) -> dict[str, float]:
    """Seconds of each piece of a bn_ff layer on a (2B n^2, C) float32 state."""
    rng = np.random.default_rng(3)
    B = BATCH * SIZE * SIZE
    Z0 = rng.standard_normal((2 * B, C), dtype=np.float32)
    kern = rng.standard_normal((K * K * C, C), dtype=np.float32)
    out: dict[str, float] = {}
    with threadpool_limits(limits=1, user_api="blas"):
        out["conv product (Winograd)"] = best_of(lambda: conv.conv2d_rows(
            Z0, 2 * BATCH, (SIZE, SIZE), kern, 1, "periodic", threads), repeats)[0]
        Z = Z0.copy()
        out["moments at one loc"] = best_of(lambda: kernels.state_moments(Z, B, True),
                                            repeats)[0]
        out["batch norm"] = best_of(lambda: kernels.batchnorm_inplace(Z, B, 1e-3, True),
                                    repeats)[0]
        out["ReLU + tangent mask"] = best_of(
            lambda: kernels.activation_inplace(Z, B, 1, True), repeats)[0]
        Z[:] = Z0
        out["r_eff signal + noise"] = best_of(lambda: (
            conv.channel_effective_rank(Z, 0, B, threads),
            conv.channel_effective_rank(Z, B, 2 * B, threads)), repeats)[0]
        st = _State(Z, B, True, spatial=(SIZE, SIZE), maps=BATCH)
        out["tangent rescale"] = best_of(lambda: _rescale_tangent(st, "bench"), repeats)[0]
        gs = GaussianStream(0)
        out["kernel draw"] = best_of(lambda: gs.standard_normal(
            (K * K * C, C), dtype=np.float32, scale=0.1), repeats)[0]
    return out


def render(res: dict, mach: dict, started: str, elapsed: float, load0: str, load1: str,
           threads: int) -> str:
    L: list[str] = [BEGIN, "## 6. Convolutional layers (issue 10)", ""]
    add = L.append
    add(f"Generated by `bench/bench_conv.py` on {started} ({elapsed:.0f} s wall); reproduce "
        "with `.venv/bin/python bench/bench_conv.py --out docs/benchmarks.md`. Machine: "
        f"{mach['cpu']}, nproc = {mach['nproc']}, numpy {mach['numpy']}, numba "
        f"{mach['numba']}; BLAS: {mach['blas']}. Load average {load0} at the start, {load1} "
        f"at the end. Convolutions run on {threads} thread(s) (fixed-size chunks, one "
        "single-threaded GEMM each: results identical for any thread count).")
    add("")
    pk_all, o_all = res["peak_all"]
    pk_one, o_one = res["peak_one"]
    add(f"**Measured float32 matmul peak** (3072^3, best of {res['repeats']}): "
        f"**{pk_all:.1f} GFLOP/s** with {mach['nproc']} BLAS threads (others' CPU "
        f"{100 * o_all:.0f}%), {pk_one:.1f} GFLOP/s with one thread. Fractions below are of "
        "the all-core figure.")
    add("")
    add(f"Batch {BATCH}, {SIZE}x{SIZE} maps, {K}x{K} kernel, periodic boundary, float32, "
        "signal + tangent in one product (rows = 2 x 64 x 256 = 32 768).")
    add("")
    add("| width | direct GFLOP per layer | im2col s | im2col GFLOP/s | of peak | Winograd s | "
        "Winograd GFLOP/s (its own multiplications) | of peak | speed-up | bn_ff layer with "
        "both r_eff, s | others' CPU | target | result |")
    add("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for C in WIDTHS:
        t, flops, oc = res["conv"][C]["im2col"]
        tw, _, ow = res["conv"][C]["winograd"]
        tl, ol = res["layer"][C]
        g = flops / t / 1e9
        gw = WINOGRAD_FLOP_RATIO * flops / tw / 1e9
        target, ok = "-", "-"
        if C == 512:
            target = f">= {100 * TARGET_PEAK_FRACTION:.0f}% of peak (im2col conv)"
            ok = "PASS" if g / pk_all >= TARGET_PEAK_FRACTION else "MISS"
        if C == 128:
            target = f"layer <= {TARGET_LAYER_128} s"
            ok = "PASS" if tl <= TARGET_LAYER_128 else "MISS"
        mark = " †" if max(oc, ow, ol) > 0.10 else ""
        add(f"| {C} | {flops / 1e9:.2f} | {t:.4f} | {g:.1f} | {100 * g / pk_all:.0f}% | "
            f"{tw:.4f} | {gw:.1f} | {100 * gw / pk_all:.0f}% | {t / tw:.2f}x | {tl:.4f} | "
            f"{100 * max(oc, ow, ol):.0f}%{mark} | {target} | {ok} |")
    add("")
    add("Winograd F(2x2, 3x3) (`simulate.conv`, the engine's default for 3x3 stride-1 layers "
        "on even maps) does 16/36 of the direct multiplications, so its GFLOP/s count its own "
        f"GEMM work ({WINOGRAD_FLOP_RATIO:.3f} x the direct count); the tile transforms are "
        "memory-bound and are not counted. Layer time = (t(depth D2) - t(depth D1)) / "
        f"(D2 - D1) of whole `Propagator.run` calls (D1, D2 = {res['depths']}), so it includes "
        "everything a layer does in a simulation (with the engine's default algorithm). "
        "† = other processes used > 10% of the CPU during the timing.")
    add("")
    add("Reference (moments-dnns on TensorFlow 2.15 CPU, figures quoted in issue 10, not "
        "re-measured here):")
    add("")
    add("| width | what | TensorFlow s | dnn-moments s | speed-up |")
    add("|---:|---|---:|---:|---:|")
    for C, (what, secs) in TF_REFERENCE.items():
        ours = res["conv"][C]["winograd"][0] if C == 512 else res["layer"][C][0]
        add(f"| {C} | {what} | {secs} | {ours:.3f} | {secs / ours:.1f}x |")
    add("")
    add("Pieces of one bn_ff layer, each timed on its own (seconds; a layer has 4 measurement "
        "points, so moments count 4 times):")
    add("")
    add("| piece | " + " | ".join(f"width {C}" for C in WIDTHS) + " |")
    add("|---|" + "---:|" * len(WIDTHS))
    for piece in res["pieces"][WIDTHS[0]]:
        add(f"| {piece} | " + " | ".join(f"{res['pieces'][C][piece]:.4f}" for C in WIDTHS)
            + " |")
    add("")
    add(END)
    return "\n".join(L)


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        a, b = text.index(BEGIN), text.index(END) + len(END)
        text = text[:a] + section + text[b:]
    else:
        i = text.find("\n## Notes")
        text = (text.rstrip() + "\n\n" + section + "\n" if i < 0
                else text[: i + 1] + section + "\n\n" + text[i + 1:])
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one repeat, shallow runs (smoke)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="default: every core")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    repeats = 1 if args.quick else args.repeats
    threads = args.threads or conv.default_threads()
    started = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.perf_counter()
    load0 = load_avg()
    res: dict = {"repeats": repeats, "conv": {}, "layer": {}, "pieces": {}}
    res["peak_all"] = matmul_peak(conv.default_threads(), repeats + 2)
    res["peak_one"] = matmul_peak(1, repeats)
    depths = {64: (2, 12 if args.quick else 42), 128: (2, 12 if args.quick else 32),
              512: (2, 4 if args.quick else 8)}
    res["depths"] = ", ".join(f"{a}, {b} at width {C}" for C, (a, b) in depths.items())
    for C in WIDTHS:
        res["conv"][C] = {a: conv_product(C, threads, repeats, a)
                          for a in ("im2col", "winograd")}
        res["layer"][C] = bn_ff_layer(C, *depths[C], threads, repeats)
        res["pieces"][C] = layer_pieces(C, threads, repeats)
        print(f"width {C}: im2col {res['conv'][C]['im2col'][0]:.4f} s, Winograd "
              f"{res['conv'][C]['winograd'][0]:.4f} s, layer {res['layer'][C][0]:.4f} s",
              file=sys.stderr)
    section = render(res, machine_info(), started, time.perf_counter() - t0, load0, load_avg(),
                     threads)
    print(section)
    if args.out is not None:
        write_section(args.out, section)
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
