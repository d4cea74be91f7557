"""GPU backend benchmarks (issue 12), run by ``bench/gpu_check.sh`` on a machine with a GPU.

Measures, on ``--device`` (``cuda``; ``numpy`` with ``--smoke`` is a dry run of this script on
any machine, at toy sizes, whose figures mean nothing):

1. one 512-channel conv layer step of bn_ff at Labatie's size (batch 64, 16x16 maps, signal +
   tangent: conv, BN, ReLU, moments), ms per step, with and without both effective ranks;
2. bn_ff FC 512 x 200, batch 64: simulations per second on the device against the CPU engine
   confined to 2 cores (``--workers 2``) on the same machine;
3. Labatie Fig. 3 / 4 / 5 at paper size (vanilla and bn_ff conv 512 x 200, bn_res conv 500
   units of depth 2; batch 64; r_eff every layer): seconds per simulation from a few
   simulations, and the 1,000-simulation time they imply (an extrapolation, labelled so);
4. float32 against TF32 products: a two-sample KS test of the moments (each precision in its
   own process: CuPy reads ``CUPY_TF32`` at import).

Writes ``--json`` (all figures, the device, the commit) and prints a Markdown section that
``gpu_check.sh`` puts into docs/benchmarks.md. Timings synchronise the device around the
timed work (`ArrayBackend.synchronize`).

    python bench/bench_gpu.py --device cuda --json out.json
    python bench/bench_gpu.py --device numpy --smoke --json /tmp/smoke.json   # dry run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulate import EngineOptions, spec  # noqa: E402
from simulate.engine import _State  # noqa: E402
from simulate.experiments import run_network  # noqa: E402
from simulate.inputs import make_input_source  # noqa: E402
from simulate.stacked import StackedPropagator  # noqa: E402


def _sizes(smoke: bool) -> dict:
    if smoke:
        return {"width": 16, "depth": 4, "batch": 8, "maps": 8, "fc_sims": 8, "cpu_sims": 4,
                "fig_sims": 2, "units": 3, "tf32_sims": 20, "tf32_width": 16, "tf32_depth": 4}
    return {"width": 512, "depth": 200, "batch": 64, "maps": 16, "fc_sims": 256,
            "cpu_sims": 8, "fig_sims": 4, "units": 500, "tf32_sims": 400, "tf32_width": 256,
            "tf32_depth": 50}


def conv_layer_step(device: str, sz: dict, reps: int = 20) -> dict:
    """ms per bn_ff conv layer step (conv + BN + ReLU + moments [+ both r_eff])."""
    n, c, b = sz["maps"], sz["width"], sz["batch"]
    net = spec.bn_ff(c, 1, kernel_size=3)
    prop = StackedPropagator(net, EngineOptions(device=device))
    be = prop.backend
    B = b * n * n
    rng = np.random.default_rng(0)
    Z0 = be.asarray(rng.standard_normal((1, 2 * B, c)).astype(np.float32))
    draws = _Draws(be, (9 * c, c))
    conv = spec.Conv(kernel_size=3)
    out = {}
    for with_reff in (False, True):
        times = []
        for _ in range(reps + 2):
            st = _State(Z0.copy(), B, True, log_scale=np.zeros(1), spatial=(n, n), maps=b)
            be.synchronize()
            t0 = time.perf_counter()
            prop._conv(st, conv, draws)
            prop._batchnorm(st, spec.BatchNorm())
            prop._activation(st, spec.Activation("relu"), None)
            prop._state_moments(st)
            if with_reff:
                prop._effective_rank(st, slice(0, B))
                prop._effective_rank(st, slice(B, 2 * B))
            be.synchronize()
            times.append(time.perf_counter() - t0)
        t = float(np.median(times[2:]))
        out["ms_with_reff" if with_reff else "ms"] = 1e3 * t
    flops = 2 * (2 * B) * 9 * c * c
    out["conv_gflop"] = flops / 1e9
    out["conv_tflops_per_s_whole_step"] = flops / (out["ms"] / 1e3) / 1e12
    return out


class _Draws:
    """Fixed weights for the layer-step timing (draw cost excluded; timed separately)."""

    def __init__(self, be, shape):
        self.w = be.asarray(np.random.default_rng(1).standard_normal((1,) + shape)
                            .astype(np.float32))

    def take(self, shape):
        return self.w.copy()


def fc_throughput(device: str, sz: dict) -> dict:
    """bn_ff FC sims/s on the device and on the CPU engine with 2 workers on 2 cores."""
    net = spec.bn_ff(sz["width"], sz["depth"])
    src = make_input_source("gaussian", input_dim=3072)

    def timed(n, **kw):
        t0 = time.perf_counter()
        run_network(net, src, batch_size=sz["batch"], num_sims=n, seed=1, quiet=True, **kw)
        return time.perf_counter() - t0

    timed(2, options=EngineOptions(device=device))  # warm-up (kernels, cuBLAS handles)
    t_dev = timed(sz["fc_sims"], options=EngineOptions(device=device))
    allowed = os.sched_getaffinity(0)
    two = set(sorted(allowed)[:2])
    os.sched_setaffinity(0, two)  # the pool's processes inherit two cores
    try:
        timed(2, workers=2)  # start and warm the pool
        t_cpu = timed(sz["cpu_sims"], workers=2)
    finally:
        from simulate.executors import shutdown_pool

        shutdown_pool()
        os.sched_setaffinity(0, allowed)
    dev, cpu = sz["fc_sims"] / t_dev, sz["cpu_sims"] / t_cpu
    return {"device_sims_per_s": dev, "cpu_2core_sims_per_s": cpu, "speedup": dev / cpu,
            "device_sims": sz["fc_sims"], "cpu_sims": sz["cpu_sims"]}


def paper_figures(device: str, sz: dict) -> dict:
    """Seconds per simulation of Labatie's conv figures at paper size, and 1,000-sim times."""
    w, d, b = sz["width"], sz["depth"], sz["batch"]
    nets = {"fig3_vanilla": spec.vanilla(w, d, kernel_size=3),
            "fig4_bn_ff": spec.bn_ff(w, d, kernel_size=3),
            "fig5_bn_res": spec.bn_res(w, sz["units"], 2, kernel_size=3)}
    src = make_input_source("gaussian", kernel_size=3, image_size=2 * sz["maps"])
    out = {}
    for name, net in nets.items():
        opts = EngineOptions(device=device)
        run_network(net, src, batch_size=b, num_sims=1, seed=3, quiet=True, options=opts)
        t0 = time.perf_counter()
        res = run_network(net, src, batch_size=b, num_sims=sz["fig_sims"], seed=3,
                          quiet=True, options=opts)
        t = (time.perf_counter() - t0) / sz["fig_sims"]
        finite = all(np.isfinite(v).all() for k, v in res.arrays.items() if "reff" in k)
        out[name] = {"s_per_sim": t, "sims_timed": sz["fig_sims"],
                     "extrapolated_min_for_1000_sims": 1000 * t / 60, "reff_finite": finite}
    return out


def tf32_two_sample(device: str, sz: dict) -> dict | None:
    """KS p-values of float32 vs TF32 moments (bn_ff FC), each precision in its own process."""
    if device != "cuda":
        return None
    code = ("import sys, json\n"
            "sys.path.insert(0, sys.argv[3])\n"
            "from simulate import EngineOptions, spec, run_network\n"
            "from simulate.inputs import make_input_source\n"
            "w, d, n = (int(v) for v in sys.argv[4:7])\n"
            "r = run_network(spec.bn_ff(w, d, measure_every=d // 5), make_input_source("
            "'gaussian', input_dim=256), batch_size=32, num_sims=n, seed=int(sys.argv[2]), "
            "quiet=True, options=EngineOptions(device='cuda', precision=sys.argv[1]))\n"
            "keys = ['log_chi_loc4', 'mu4_signal_loc3', 'reff_signal_loc4']\n"
            "print(json.dumps({k: r.arrays[k][:, -1].tolist() for k in keys}))\n")
    sizes = [str(ROOT), str(sz["tf32_width"]), str(sz["tf32_depth"]), str(sz["tf32_sims"])]
    samples = {}
    for prec, seed in (("float32", 5), ("tf32", 6)):
        p = subprocess.run([sys.executable, "-c", code, prec, str(seed), *sizes],
                           capture_output=True,
                           text=True, check=True)
        samples[prec] = json.loads(p.stdout.strip().splitlines()[-1])
    from scipy import stats

    pv = {k: float(stats.ks_2samp(samples["float32"][k], samples["tf32"][k]).pvalue)
          for k in samples["float32"]}
    means = {k: [float(np.mean(samples[p][k])) for p in ("float32", "tf32")]
             for k in samples["float32"]}
    return {"ks_pvalues": pv, "means_float32_tf32": means, "sims_each": sz["tf32_sims"],
            "bonferroni_threshold": 1e-3 / len(pv)}


def markdown(res: dict) -> str:
    """The docs/benchmarks.md section of these results."""
    c, f, sz = res["conv_layer_step"], res["fc_bn_ff"], res["sizes"]
    w, b, n, d = sz["width"], sz["batch"], sz["maps"], sz["depth"]
    lines = [
        ("**Smoke run (toy sizes): these figures mean nothing.** " if res["smoke"] else "")
        + f"Device: {res['device']}; host {res['host']}; commit {res['commit']}; "
        f"{res['date']} (bench/gpu_check.sh).",
        "",
        "| measurement | figure | target |",
        "|---|---:|---:|",
        f"| bn_ff conv layer step, {w} ch, batch {b}, {n}x{n} (conv + BN + ReLU + moments) | "
        f"{c['ms']:.2f} ms ({c['conv_tflops_per_s_whole_step']:.1f} TFLOP/s of conv) | "
        "<= 5 ms |",
        f"| the same step with both r_eff | {c['ms_with_reff']:.2f} ms | - |",
        f"| bn_ff FC {w} x {d}, batch {b}: device ({f['device_sims']} sims) | "
        f"{f['device_sims_per_s']:.1f} sims/s | - |",
        f"| the CPU engine on 2 cores (2 workers, {f['cpu_sims']} sims), same machine | "
        f"{f['cpu_2core_sims_per_s']:.2f} sims/s | - |",
        f"| speed-up | {f['speedup']:.1f}x | >= 20x |",
    ]
    targets = {"fig3_vanilla": 20, "fig4_bn_ff": 20, "fig5_bn_res": 90}
    for k, v in res["paper_figures"].items():
        lines.append(f"| {k}: s per simulation ({v['sims_timed']} timed) -> 1,000 sims, "
                     f"extrapolated | {v['s_per_sim']:.2f} s -> "
                     f"{v['extrapolated_min_for_1000_sims']:.1f} min | <= {targets[k]} min |")
    t = res.get("tf32")
    if t:
        worst = min(t["ks_pvalues"], key=t["ks_pvalues"].get)
        lines += ["", f"float32 vs TF32 (bn_ff FC {res['sizes']['tf32_width']} x "
                  f"{res['sizes']['tf32_depth']}, {t['sims_each']} sims each, last depth): "
                  f"smallest KS p = {t['ks_pvalues'][worst]:.3g} ({worst}); Bonferroni "
                  f"threshold {t['bonferroni_threshold']:.1e}; means "
                  + ", ".join(f"{k} {a:.4g} / {b:.4g}"
                              for k, (a, b) in t["means_float32_tf32"].items()) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "numpy"))
    ap.add_argument("--smoke", action="store_true", help="toy sizes (a dry run of the script)")
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--markdown", default=None, help="write the docs section here")
    args = ap.parse_args()
    sz = _sizes(args.smoke)
    from simulate.backend import get_backend

    be = get_backend(args.device)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip() or "unknown"
    res = {"device": be.device, "host": f"{platform.machine()}, {os.cpu_count()} cpus, "
           f"Python {platform.python_version()}, numpy {np.__version__}",
           "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "smoke": args.smoke, "sizes": sz}
    for name, fn in (("conv_layer_step", conv_layer_step), ("fc_bn_ff", fc_throughput),
                     ("paper_figures", paper_figures), ("tf32", tf32_two_sample)):
        t0 = time.perf_counter()
        res[name] = fn(args.device, sz)
        print(f"{name}: {json.dumps(res[name])} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    md = markdown(res)
    print(md)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(md)


if __name__ == "__main__":
    main()
