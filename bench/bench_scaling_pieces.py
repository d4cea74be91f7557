"""Why two workers gain less than 2x: the same work in 1 process and in 2 concurrent processes.

For each piece (a whole bn_ff simulation, and kernels it is made of, in isolation), the time of
one process alone is compared with the slower of two identical processes running at once
(single-threaded BLAS and numba in each). ``x2.00`` means the two cores are independent for
that work; less means the processes slow each other down. Then a cProfile of the whole
simulation, alone and with a twin, shows where the loss is.

    .venv/bin/python bench/bench_scaling_pieces.py          # ~1 min on 2 cores, machine idle
"""

from __future__ import annotations

import os
import time
from multiprocessing import get_context

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _piece(which: str):  # noqa: ANN202 - returns a zero-argument callable
    import numba
    import numpy as np

    numba.set_num_threads(1)
    rng = np.random.default_rng(0)
    if which == "sgemm 1024^3":
        a = rng.standard_normal((1024, 1024), dtype=np.float32)
        return lambda: a @ a
    if which == "sgemm 128x512x512, 16 weight matrices":
        x = rng.standard_normal((128, 512), dtype=np.float32)
        ws = [rng.standard_normal((512, 512), dtype=np.float32) for _ in range(16)]
        it = iter(range(10**9))
        return lambda: x @ ws[next(it) % 16]
    if which == "ssyrk 128x512 (engine gram_upper)":
        from simulate.engine import gram_upper

        z = rng.standard_normal((128, 512)).astype(np.float32)
        return lambda: gram_upper(z)
    if which == "counter-based normals 512x512":
        from simulate.rng import GaussianStream

        g = GaussianStream(np.random.SeedSequence(0))
        return lambda: g.standard_normal((512, 512))
    if which == "Python loop":
        def loop() -> int:
            s = 0
            for i in range(200_000):
                s += i * i
            return s
        return loop
    if which == "bn_ff simulation 512x200, B=64":
        from simulate import EngineOptions, spec
        from simulate.experiments import run_network
        from simulate.inputs import make_input_source

        net = spec.bn_ff(512, 200)
        src = make_input_source("gaussian", input_dim=3072)
        return lambda: run_network(net, src, batch_size=64, num_sims=1, seed=0, quiet=True,
                                   workers=1, options=EngineOptions(threads=1))
    raise ValueError(which)


def _timed(args: tuple[str, int]) -> float:
    which, n = args
    f = _piece(which)
    for _ in range(3):
        f()
    t0 = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t0) / n


def _profiled(_: int) -> dict[str, float]:
    import cProfile
    import pstats

    f = _piece("bn_ff simulation 512x200, B=64")
    f()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(6):
        f()
    pr.disable()
    out: dict[str, float] = {}
    for (fn, _ln, name), (_cc, _nc, tt, _ct, _callers) in pstats.Stats(pr).stats.items():
        out[f"{os.path.basename(fn)}:{name}"] = tt
    return out


def main() -> None:
    ctx = get_context("spawn")
    pieces = [("sgemm 1024^3", 40), ("sgemm 128x512x512, 16 weight matrices", 2000),
              ("ssyrk 128x512 (engine gram_upper)", 3000), ("counter-based normals 512x512", 400),
              ("Python loop", 30), ("bn_ff simulation 512x200, B=64", 6)]
    print("| work | 1 process (ms) | each of 2 processes (ms) | throughput of 2 |")
    print("|---|---:|---:|---:|")
    for which, n in pieces:
        with ctx.Pool(1) as p:
            alone = p.map(_timed, [(which, n)])[0]
        with ctx.Pool(2) as p:
            both = max(p.map(_timed, [(which, n)] * 2))
        print(f"| {which} | {1e3 * alone:.3f} | {1e3 * both:.3f} | x{2 * alone / both:.2f} |",
              flush=True)
    with ctx.Pool(1) as p:
        alone = p.map(_profiled, [0])[0]
    with ctx.Pool(2) as p:
        twin = p.map(_profiled, [0, 1])[0]
    print("\n| function (cProfile tottime, 6 simulations) | alone (s) | beside a twin (s) | "
          "slow-down |")
    print("|---|---:|---:|---:|")
    for k in sorted(alone, key=lambda k: -alone[k])[:10]:
        print(f"| `{k}` | {alone[k]:.3f} | {twin.get(k, 0.0):.3f} | "
              f"x{twin.get(k, 0.0) / max(alone[k], 1e-12):.2f} |")
    print(f"| total | {sum(alone.values()):.3f} | {sum(twin.values()):.3f} | "
          f"x{sum(twin.values()) / sum(alone.values()):.2f} |")


if __name__ == "__main__":
    main()
