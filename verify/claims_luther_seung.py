"""Claims S1–S9 (Luther & Seung 2019, sample-variance decay): registry entries and checks.

Each entry declares its predictions (from `theory.luther_seung` and `theory.arccos`), its sizes
per fidelity, its mutations and a check returning evaluated criteria (THEORY.md §2). Sizes:
``quick`` keeps every claim decidable in seconds; ``standard`` is report quality; ``paper``
uses the THEORY.md §2 sizes (never run by the test suite).

Conventions of the Kaiming nets (`simulate.spec.kaiming_ff`): loc ``pre`` = z^l (the BN input
when ``batchnorm``), ``bn`` = BN output, ``post`` = x^l. Per loc the simulator records
``nu2_signal`` = E_x z^2 averaged over units (the total variance of one network),
``mu2_signal`` = the per-unit population sample variance averaged over units (v^2) and
``sq_mean_signal`` = the mean over units of the squared sample mean (m^2), all from the same
float64 accumulations (`simulate.kernels.state_moments`). The sample-variance fraction of a
set of networks is the ratio of network averages mean(mu2) / mean(nu2) (THEORY.md §2.2).

Helpers with their own unit tests (tests/test_verify_luther_seung.py): `bootstrap_groups`,
`increment_variance_rate`, `data_dependent_init`, `preactivation_stats`, `local_log_rate`,
`log_log_slope`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from simulate import EngineOptions, spec
from simulate.results import SimulationResults
from simulate.threads import single_threaded_blas
from theory import arccos, labatie
from theory import luther_seung as ls
from theory.derivation import LUTHER_SEUNG
from verify import criteria as C
from verify import stats
from verify.claims_labatie import depth_index
from verify.context import Context
from verify.registry import Mutation, Theory, claim, nearby

# i.i.d. Gaussian inputs of the MNIST dimension (THEORY.md §2.5).
GAUSSIAN_784 = {"dataset": "gaussian", "input_dim": 784}
EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------------------------
# Helpers (unit-tested)
# --------------------------------------------------------------------------------------------
def bootstrap_groups(
    groups: Sequence[Sequence[np.ndarray]],
    statistic: Callable[..., float],
    rng: np.random.Generator,
    *,
    n_resamples: int = 2000,
    level: float = 0.99,
) -> stats.Estimate:
    """Percentile bootstrap of ``statistic(*groups)`` for *independent* groups of simulations.

    Each group is a tuple of arrays sharing axis 0 (its simulations, e.g. ``(mu2, nu2)`` of one
    run): arrays of a group are resampled with the same indices (paired), groups on their own
    (independent runs, e.g. one per width; sizes may differ). ``statistic`` receives one tuple
    per group. Returns an `Estimate` whose ``se`` is the standard deviation of the finite
    replicates and ``n`` the smallest group size.
    """
    arrays = [tuple(np.asarray(a, dtype=float) for a in g) for g in groups]
    for g in arrays:
        if len({a.shape[0] for a in g}) != 1:
            raise ValueError("arrays of one group must share the number of simulations (axis 0)")
    value = float(statistic(*arrays))
    sizes = [g[0].shape[0] for g in arrays]
    n_min = min(sizes)
    if n_min < 2:
        return stats.Estimate(value, math.inf, (-math.inf, math.inf), level, "percentile", n_min)
    reps = np.empty(n_resamples)
    for b in range(n_resamples):
        resampled = []
        for g, n in zip(arrays, sizes, strict=True):
            idx = rng.integers(0, n, n)
            resampled.append(tuple(a[idx] for a in g))
        reps[b] = statistic(*resampled)
    reps = reps[np.isfinite(reps)]
    if reps.size < 10:
        return stats.Estimate(value, math.inf, (-math.inf, math.inf), level, "percentile", n_min)
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return stats.Estimate(value, float(np.std(reps, ddof=1)), (float(lo), float(hi)), level,
                          "percentile", n_min)


def increment_variance_rate(logs: np.ndarray) -> float:
    """Mean over layers of the across-simulation variance of the per-layer increments.

    ``logs``: (n_sims, P) values of a log-quantity at consecutive layers. When the increments
    are independent across layers (one input through a He–ReLU net, THEORY.md L3), the
    across-simulation variance of ``logs[:, l]`` grows by exactly this amount per layer, and
    this estimator of the growth rate is far more efficient than a line through the cumulative
    variances (whose errors are those of a random walk).
    """
    inc = np.diff(np.asarray(logs, dtype=float), axis=1)
    return float(np.mean(np.var(inc, axis=0, ddof=1)))


def data_dependent_init(
    x_cal: np.ndarray, width: int, depth: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """S8 initialisation: Kaiming weights with one BN step folded in, layer by layer.

    For l = 1..depth: draw W ~ N(0, 2/fan_in) (``fan_in x width``, applied as ``h @ W``),
    compute the per-unit mean m and population std v of ``z = h W`` on the calibration batch
    ``x_cal`` (B, D), set ``W <- W / v`` and ``b <- -m / v`` and propagate ``h <- ReLU(h W + b)``.
    Returns the list of (W, b).
    """
    params = []
    h = np.asarray(x_cal, dtype=float)
    for _ in range(depth):
        w = rng.standard_normal((h.shape[1], width)) * math.sqrt(2.0 / h.shape[1])
        z = h @ w
        m = z.mean(axis=0)
        v = z.std(axis=0)
        w = w / v
        b = -m / v
        params.append((w, b))
        h = np.maximum(h @ w + b, 0.0)
    return params


def preactivation_stats(
    params: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-layer statistics of the pre-activations ``z = h W + b`` of a batch ``x`` (B, D).

    Returns arrays of length ``len(params)``: ``max_abs_mean`` (max over units of |m_i|),
    ``max_abs_std_dev`` (max over units of |v_i - 1|, population std), ``fraction``
    (mean_i v_i^2 / mean_i E_x z_i^2, the sample-variance fraction) and ``one_minus_fraction``
    computed without cancellation (mean_i m_i^2 / mean_i E_x z_i^2).
    """
    h = np.asarray(x, dtype=float)
    n = len(params)
    out = {k: np.empty(n) for k in ("max_abs_mean", "max_abs_std_dev", "fraction",
                                    "one_minus_fraction")}
    for i, (w, b) in enumerate(params):
        z = h @ w + b
        m = z.mean(axis=0)
        v2 = z.var(axis=0)
        total = float(np.mean(z**2))
        out["max_abs_mean"][i] = np.max(np.abs(m))
        out["max_abs_std_dev"][i] = np.max(np.abs(np.sqrt(v2) - 1.0))
        out["fraction"][i] = float(np.mean(v2)) / total
        out["one_minus_fraction"][i] = float(np.mean(m**2)) / total
        h = np.maximum(z, 0.0)
    return out


def log_log_slope(layers: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of log(values) on log(layers)."""
    return stats.line_slope(np.log(np.asarray(layers, dtype=float)),
                            np.log(np.asarray(values, dtype=float)))


def local_log_rate(layer_a: float, layer_b: float, value_a: float, value_b: float) -> float:
    """Local exponential decay rate ``-(log value_b - log value_a) / (layer_b - layer_a)``.

    An exponential law has the same rate at every depth; a power law l^-p has rate ~ p / l.
    """
    return -(math.log(value_b) - math.log(value_a)) / (layer_b - layer_a)


def _frac_estimate(mu2: np.ndarray, nu2: np.ndarray, reference: float, rng: np.random.Generator,
                   n_resamples: int) -> stats.Estimate:
    """Relative deviation mean(mu2)/mean(nu2)/reference - 1 (ratio of network averages)."""
    return stats.bootstrap((mu2, nu2), lambda a, b: a.mean() / b.mean() / reference - 1.0, rng,
                           n_resamples=n_resamples)


def _fraction_per_network(mu2: np.ndarray, nu2: np.ndarray) -> np.ndarray:
    """Per-network ``mu2 / mean_networks(nu2)`` (arrays ``(n_sims, P)``), for figures.

    Its mean over networks is exactly the sample-variance fraction mean(mu2) / mean(nu2) (ratio
    of network averages, THEORY.md §2.2) that the S3/S6 criteria test; its 16–84% band over
    networks shows the spread of the per-network sample variance.
    """
    mu2 = np.asarray(mu2, dtype=float)
    return mu2 / np.mean(np.asarray(nu2, dtype=float), axis=0)


def _shifted_layers(fn: Callable[..., Any], k: int) -> Callable[..., Any]:
    """Mutation combinator: the prediction ``fn(x, layers)`` evaluated ``k`` layers deeper."""
    return lambda x, layers: fn(x, np.asarray(layers) + k)


#: Caption fragment of the fraction figures (what `_fraction_per_network` plots).
FRACTION_BAND = ("curve: mean(v^2)/mean(sigma^2) over networks (the fraction); band: 16-84% "
                 "over networks of v^2/mean(sigma^2)")


# --------------------------------------------------------------------------------------------
# Shared runs
# --------------------------------------------------------------------------------------------
def kaiming_run(ctx: Context, width: int, depth: int, inputs: Mapping[str, Any] | np.ndarray,
                num_sims: int, *, batch_size: int | None = None, batchnorm: bool = False,
                dtype: str = "float32", families: tuple[str, ...] = (), name: str = ""
                ) -> SimulationResults:
    """``num_sims`` Kaiming FC ReLU nets (He weights, optional batch norm) without the tangent.

    The S claims' run (also used by the Luther–Seung reproduction, so identical arguments share
    one cached run); no effective ranks; ``families`` adds engine measurement families.
    """
    opts = EngineOptions(tangent=False, dtype=dtype, families=families,
                         compute_reff_signal=False, compute_reff_noise=False)
    return ctx.simulate(spec.kaiming_ff(width, depth, batchnorm=batchnorm), inputs,
                        num_sims=num_sims, batch_size=batch_size, options=opts, name=name)


def _moments_run(ctx: Context, size: Mapping[str, Any]) -> tuple[SimulationResults, np.ndarray]:
    """The S1/S2 run: Kaiming FC in float64 on one fixed Gaussian batch (B, 784)."""
    x = ctx.fixed_inputs("gaussian", size["ms_batch"], tag="S1S2", input_dim=784)
    res = kaiming_run(ctx, size["ms_width"], size["ms_depth"], x, size["ms_sims"],
                      dtype="float64", name="kaiming_ff_float64")
    return res, x


MS_SIZES = {
    "quick": {"ms_width": 128, "ms_depth": 25, "ms_batch": 64, "ms_sims": 1000},
    "standard": {"ms_width": 256, "ms_depth": 51, "ms_batch": 64, "ms_sims": 1000},
    "paper": {"ms_width": 256, "ms_depth": 100, "ms_batch": 64, "ms_sims": 4000},
}


# --------------------------------------------------------------------------------------------
# S1
# --------------------------------------------------------------------------------------------
@claim(
    "S1",
    title="Total variance = mean sample variance + mean squared sample mean",
    paper=LUTHER_SEUNG,
    theory={"total_variance": ls.total_variance_from_parts},
    sizes=MS_SIZES,
    mutations=[
        nearby("1/(B-1) sample variance without the (B-1)/B correction (1.6% at B = 64)",
               {"total_variance": lambda m2, v2, b: m2 + v2 * b / (b - 1)}, fails_at="quick"),
        Mutation("total variance = sample variance (mean term dropped)",
                 {"total_variance": lambda m2, v2, b: np.asarray(v2)}),
    ],
    criteria={
        "S1.1": "max over networks, depths and locs (pre, post) of |nu2 - (m^2 + v^2)| / nu2 "
                "below 1e-10 (float64 simulation, one estimator)",
    },
    setup="Kaiming FC (no stem, He, zero bias), float64 storage, one fixed Gaussian batch "
          "(B=64, D=784); nu2, mu2 (v^2) and sq_mean (m^2) at loc pre (z^l) and post (x^l).",
    caveats="An algebraic identity: any violation above round-off is an estimator bug.",
)
def _s1(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    res, x = _moments_run(ctx, size)
    b = x.shape[0]
    worst = 0.0
    residual = {}
    for loc in ("pre", "post"):
        nu2 = res[f"nu2_signal_{loc}"]
        pred = th.total_variance(res[f"sq_mean_signal_{loc}"], res[f"mu2_signal_{loc}"], b)
        residual[loc] = np.abs(nu2 - pred) / nu2
        worst = max(worst, float(np.max(residual[loc])))
    sizes = (f"Kaiming FC N={size['ms_width']}, float64, one fixed Gaussian batch B={b} "
             f"(D=784), {res.num_sims} networks")
    nu2 = res["nu2_signal_pre"]
    ctx.panel("S1: decomposition sigma^2 = m^2 + v^2 per network (loc pre, z^l)", "layer l",
              "share of the total variance (sigma^l)^2",
              caption=f"{sizes}; per-network shares v^2/sigma^2, m^2/sigma^2 and their sum "
                      "(the theory's (m^2 + v^2)); bands: 16-84% over networks. Max relative "
                      f"residual over networks, depths and locs: {worst:.1e}") \
        .simulation(res.depth, res["mu2_signal_pre"] / nu2, "v^2/sigma^2 (sample variance)") \
        .simulation(res.depth, res["sq_mean_signal_pre"] / nu2, "m^2/sigma^2 (squared mean)") \
        .simulation(res.depth, th.total_variance(res["sq_mean_signal_pre"],
                                                 res["mu2_signal_pre"], b) / nu2,
                    "(m^2 + v^2)/sigma^2") \
        .theory(res.depth, 1.0, "identity: (m^2 + v^2)/sigma^2 = 1")
    p = ctx.panel("S1: relative residual |sigma^2 - (m^2 + v^2)| / sigma^2 per network",
                  "layer l", "relative residual", logy=True,
                  caption=f"{sizes}; bands: 16-84% over networks (exact zeros are not drawn on "
                          "the log axis); the prediction is 0 (round-off only), the S1.1 "
                          "tolerance is 1e-10")
    for loc, name in (("pre", "z^l"), ("post", "x^l")):
        p.simulation(res.depth, residual[loc], f"loc {loc} ({name})")
    return [C.exact(
        "S1.1", "max relative residual of (sigma^l)^2 = (m^l)^2 + (v^l)^2 per network",
        worst, 0.0, 1e-10,
        "THEORY.md S1 (c1): exact identity; float64 accumulation of B*N terms leaves ~1e-15",
        res.num_sims).labelled(
            "identity", "per unit E_x z^2 = m_hat^2 + v_hat^2 is algebra of the population "
            "estimator: it holds for any numbers, whatever the network or the weights, so it "
            "tests the estimator code, not the paper (S1 has no other content in THEORY.md)")]


# --------------------------------------------------------------------------------------------
# S2
# --------------------------------------------------------------------------------------------
S2_SIZES = {
    "quick": {**MS_SIZES["quick"], "diff_width": 128, "diff_depth": 32, "diff_sims": 500},
    "standard": {**MS_SIZES["standard"], "diff_width": 256, "diff_depth": 51,
                 "diff_sims": 1000},
    "paper": {**MS_SIZES["paper"], "diff_width": 256, "diff_depth": 100, "diff_sims": 2000},
}
#: Blocks of the median-of-means: blocks of >= n/8 simulations (see the S2.1 reason).
MOM_BLOCKS = 8


def _s2_depths(width: int) -> list[int]:
    """Depths with 5l/N = 1/4, 1/2 and 1 (the range where THEORY.md S2 (c1) applies)."""
    top = width // 5
    return sorted({max(2, int(round(f * width / 5))) for f in (0.25, 0.5)} | {top})


@claim(
    "S2",
    title="Kaiming preserves the total variance in expectation, at any width",
    paper=LUTHER_SEUNG,
    theory={
        "first_layer_total_variance": ls.first_layer_total_variance,
        "total_variance_ratio": ls.total_variance_ratio,
        "median_decay": ls.median_decay,
        "var_log_rate": ls.var_log_rate,
        "var_log_rate_bias": ls.var_log_rate_finite_width_bias,
    },
    sizes=S2_SIZES,
    mutations=[
        Mutation("mean total variance follows the median e^{-5l/(2N)}",
                 {"total_variance_ratio": ls.median_decay}),
        Mutation("He gain 2 -> 1 in (sigma^1)^2 (LeCun)",
                 {"first_layer_total_variance":
                  lambda x0: ls.first_layer_total_variance(x0) / 2}),
        Mutation("5/N -> 2/N (chi-square variance, ReLU ignored)",
                 {"var_log_rate": lambda n: 2.0 / n}),
        Mutation("5/N -> 5/(2N) (drift taken as the diffusion rate)",
                 {"var_log_rate": lambda n: 2.5 / n}),
        nearby("5/N -> 4/N (chi-square of the N/2 active units: the binomial fluctuation of "
               "their number, 1/N, forgotten)", {"var_log_rate": lambda n: 4.0 / n},
               fails_at="quick"),
    ],
    criteria={
        "S2.1": "(l=1) sim mean of (1/N) E_x||z^1||^2 within 1/N (relative) of 2 E_x||x||^2/N0; "
                "(l>1, 5l/N in {1/4, 1/2, 1}) median-of-means of the per-network ratio "
                "(1/N)E_x||z^l||^2 / its layer-1 value within half the gap to the median law",
        "S2.2": "one input: per-layer growth of the across-network variance of "
                "log (1/N)||z^l||^2 within 6% of 5/N plus its exact finite-width bias (THEORY.md: "
                "15%; tightened, issue 14)",
    },
    setup="(c1) Kaiming FC, float64, fixed Gaussian batch (B=64, D=784), shared with S1. "
          "(c2) Kaiming FC, one fixed unstandardised Gaussian input (B=1: a standardised "
          "single-input batch would be all zeros), nu2 at loc pre.",
    caveats="The ratio is log-normal-like with Var log ~ up to 5l/N: its mean is exactly 1 but "
            "its median decays; heavy tails limit (c1) to 5l/N <= 1.",
)
def _s2(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    res, x = _moments_run(ctx, size)
    n_w = size["ms_width"]
    nu2 = res["nu2_signal_pre"]
    n = res.num_sims
    rng = ctx.rng("S2")
    out = []
    j1 = depth_index(res.depth, 1)
    pred1 = th.first_layer_total_variance(x)
    est = stats.mean_estimate(nu2[:, j1], rng, n_resamples=ctx.n_resamples)
    out.append(C.relative_equivalence(
        "S2.1[l=1]", "sim mean of (1/N) E_x||z^1||^2 vs 2 E_x||x^0||^2 / N0", est, pred1,
        1.0 / n_w, "exact expectation over W^1 (no finite-width bias); the 1/N relative margin "
        "is the generic finite-width scale of THEORY.md §6.6, far below the LeCun value (x1/2)",
        n))
    ratio = nu2 / nu2[:, [j1]]
    for l in _s2_depths(n_w):
        j = depth_index(res.depth, l)
        est = stats.bootstrap(ratio[:, j], lambda a: stats.median_of_means(a, MOM_BLOCKS), rng,
                              n_resamples=ctx.n_resamples)
        med = th.median_decay(l, n_w)
        out.append(C.equivalence(
            f"S2.1[l={l}]", f"median-of-means ({MOM_BLOCKS} blocks) of the per-network ratio "
            f"(1/N)E_x||z^{l}||^2 / layer-1 value (5l/N = {5 * l / n_w:.2f})", est,
            th.total_variance_ratio(l, n_w), abs(1.0 - med) / 2,
            f"THEORY.md S2 (c1): the mean is exactly 1 while the per-network median follows "
            f"e^(-5l/(2N)) = {med:.3f}; the margin is half that gap, so the test decides between "
            f"the two laws. {MOM_BLOCKS} blocks of >= n/8 simulations: block means of such "
            "skewed (log-normal-like) ratios are nearly symmetric, so their median sits within "
            "~0.01 of the mean; the default ~56 blocks of ~7 sims are biased low by 0.07-0.18 "
            "here", n))
    ctx.panel("S2: total variance (1/N)E_x||z^l||^2 over its layer-1 value", "layer l",
              "(1/N)E_x||z^l||^2 / layer-1 value",
              caption=f"Kaiming FC N={n_w}, float64, one fixed Gaussian batch B={x.shape[0]} "
                      f"(D=784), {n} networks; curve: sim mean of the per-network ratio; band: "
                      "16-84% over networks (log-normal-like: the mean stays at 1 while the "
                      "typical network decays)") \
        .simulation(res.depth, ratio, "simulation (per-network ratio)") \
        .theory(res.depth, [th.total_variance_ratio(int(l), n_w) for l in res.depth],
                "mean: preserved (Kaiming)") \
        .theory(res.depth, [th.median_decay(int(l), n_w) for l in res.depth],
                "median: e^(-5l/(2N))")
    # (c2): one input, variance of log total variance grows at 5/N per layer.
    n_d = size["diff_width"]
    x1 = ctx.rng("S2 input").standard_normal((1, 784))
    res1 = kaiming_run(ctx, n_d, size["diff_depth"], x1, size["diff_sims"], name="kaiming_b1")
    logs = np.log(res1["nu2_signal_pre"])
    est = stats.bootstrap(logs, increment_variance_rate, rng, n_resamples=ctx.n_resamples)
    rate = th.var_log_rate(n_d)
    bias = th.var_log_rate_bias(n_d)
    scaled = stats.Estimate(est.value * n_d, est.se * n_d, (est.ci[0] * n_d, est.ci[1] * n_d),
                            est.level, est.method, est.n)
    var_log = np.var(logs, axis=0, ddof=1)
    ctx.panel("S2: across-network variance of log (1/N)||z^l||^2, one input", "layer l",
              "Var over networks of log (1/N)||z^l||^2",
              caption=f"Kaiming FC N={n_d}, one fixed unstandardised Gaussian input (B=1, "
                      f"D=784), {res1.num_sims} networks; one variance per layer (no band). "
                      "Theory: the measured layer-1 value plus 5/N per layer (S2.2 tests the "
                      "mean per-layer increment variance, not this cumulative curve)") \
        .simulation(res1.depth, var_log[None, :], "simulation (variance over networks)") \
        .theory(res1.depth, var_log[0] + rate * (res1.depth - res1.depth[0]),
                "layer-1 value + (5/N) (l - 1)")
    out.append(C.relative_equivalence(
        "S2.2", "N x per-layer growth of Var_networks log (1/N)||z^l||^2 (one input; mean "
        "variance of the per-layer increments), against 5/N shifted by its exact finite-width "
        f"bias ({bias * n_d:+.3f})", scaled, (rate + bias) * n_d, 0.06,
        f"THEORY.md S2 (c2) states 15%; tightened to 6% (issue 14): the standard error is "
        f"~1.1% at quick (N=128, 500 networks) and ~0.6% at standard, and the only known bias, "
        f"the exact digamma rate (L3) above 5/N ({100 * bias / rate:+.1f}% here), is signed, so "
        "it shifts the prediction. For one input the increments are independent (the direction "
        "of z^l is uniform and independent of its norm), so Var log grows by exactly the mean "
        "increment variance; 6% ~ 5 quick standard errors",
        res1.num_sims))
    return out


# --------------------------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------------------------
S3_DEPTHS = (2, 5, 10)
#: S3.1 tolerance per depth. THEORY.md states 3% (for l <= 10, set by the l=10 finite-width
#: excess of 1.1-2.5% at N=1000); at l=2 and 5 the excess is far smaller (independent check,
#: N=1000: -0.44% at l=2, +0.03% at l=5; quick N=2000: -0.02%, -0.14%), and the standard error
#: is 0.03-0.2%, so 3% there was 15-75 standard errors wide (issue 14).
S3_TOLERANCE = {2: 0.01, 5: 0.015, 10: 0.03}


@claim(
    "S3",
    title="Infinite width: fraction = 1 - mean kernel correlation (iteration vs networks)",
    paper=LUTHER_SEUNG,
    theory={"kernel_fractions": ls.kernel_fractions},
    sizes={
        "quick": {"s3_width": 2000, "s3_batch": 32, "s3_sims": 600},
        # 2500 (was 4000; make run budget): S3's mutations FAIL at quick (600 sims)
        "standard": {"s3_width": 1000, "s3_batch": 64, "s3_sims": 2500},
        "paper": {"s3_width": 1000, "s3_batch": 256, "s3_sims": 4000},
    },
    mutations=[
        Mutation("one layer too many in the kernel iteration",
                 {"kernel_fractions": _shifted_layers(ls.kernel_fractions, 1)}),
        # f(rho) = rho: the kernel never changes, the fraction stays at its layer-1 value
        Mutation("linear correlation map f(rho) = rho (no decay)",
                 {"kernel_fractions": lambda x, layers: np.full(
                     len(layers), arccos.sample_variance_fraction(arccos.input_kernel(x)))}),
        nearby("fraction = 1 - mean off-diagonal correlation (the diagonal's (1 - 1/B) "
               "dropped: +1/B)", {"kernel_fractions": lambda x, layers: 1.0 - ls.mean_field_pieces(
                   x, layers)["mean_cosine"]}, fails_at="quick"),
    ],
    criteria={"S3.1": "for l in {2, 5, 10}: the simulated fraction mean(mu2)/mean(nu2) at loc "
                      "pre within 1%, 1.5%, 3% (relative) of the kernel iteration on the same "
                      "batch (THEORY.md: 3%; tightened at l=2, 5, issue 14)"},
    setup="Kaiming FC, depth 10, one fixed Gaussian batch (D=784) in every network; the "
          "kernel recursion iterates K^1 = (2/N0) X X^T of that batch. N=1000 (THEORY.md) at "
          "standard and paper; quick uses N=2000 (see caveats).",
    caveats="At N=1000, l=10 the finite-width excess is +1.1..+2.5% depending on the batch "
            "(radial norm spread +4%, faster angular convergence -2..-3%, S6) and per-network "
            "fractions fluctuate by ~10%: deciding the 3% band there takes thousands of "
            "networks (standard: 4000). Quick runs N=2000, where the excess halves (~0.9%), so "
            "600 networks decide it; this tests the infinite-width claim at a width where "
            "THEORY.md's 3% is comfortably expected.",
)
def _s3(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    x = ctx.fixed_inputs("gaussian", size["s3_batch"], tag="S3", input_dim=784)
    depth = max(S3_DEPTHS)
    res = kaiming_run(ctx, size["s3_width"], depth, x, size["s3_sims"], name="kaiming_s3")
    mf = th.kernel_fractions(x, list(S3_DEPTHS))
    rng = ctx.rng("S3")
    out = []
    for l, ref in zip(S3_DEPTHS, mf, strict=True):
        j = depth_index(res.depth, l)
        est = _frac_estimate(res["mu2_signal_pre"][:, j], res["nu2_signal_pre"][:, j], ref, rng,
                             ctx.n_resamples)
        out.append(C.equivalence(
            f"S3.1[l={l}]", f"simulated / iterated fraction - 1 at l={l} (mean field {ref:.4f})",
            est, 0.0, S3_TOLERANCE[l],
            f"THEORY.md S3 (c1): 3% at N=1000; the finite-width excess (O(1/N)) is measured "
            f"at 1.1-2.5% for l=10, N=1000 and ~0.9% at N=2000 (this run: N={size['s3_width']}); "
            "at l=2, 5 it is below 0.5% and the band is tightened to 1%, 1.5% (S3_TOLERANCE)",
            res.num_sims, perturbation=C.Perturbation.ratio("iterated fraction")))
    frac = _fraction_per_network(res["mu2_signal_pre"], res["nu2_signal_pre"])
    mf_all = th.kernel_fractions(x, res.depth)
    sizes = (f"Kaiming FC N={size['s3_width']}, one fixed Gaussian batch B={x.shape[0]} "
             f"(D=784), {res.num_sims} networks")
    ctx.panel("S3: sample-variance fraction vs depth: networks vs kernel iteration", "layer l",
              "fraction (v^l)^2/(sigma^l)^2 (loc pre)", logy=True,
              caption=f"{sizes}; {FRACTION_BAND}. Theory: the infinite-width kernel recursion "
                      "iterated on the same batch") \
        .simulation(res.depth, frac, f"simulation, N={size['s3_width']}") \
        .theory(res.depth, mf_all, "kernel iteration (N = infinity)")
    ctx.panel("S3: simulated / iterated fraction", "layer l", "fraction / kernel iteration",
              caption=f"{sizes}; curve: mean(v^2)/mean(sigma^2) over the iterated fraction; "
                      "band: 16-84% over networks of v^2/mean(sigma^2) over it. S3.1 tests "
                      f"the curve at l in {S3_DEPTHS} within 3% of 1 (the O(1/N) excess is "
                      "expected positive)") \
        .simulation(res.depth, frac / mf_all, "simulation / iteration") \
        .theory(res.depth, 1.0, "infinite width: 1")
    return out


# --------------------------------------------------------------------------------------------
# S4
# --------------------------------------------------------------------------------------------
# THEORY.md S4 statements (the specification the sympy derivation must reproduce).
_EPS, _THETA = sp.symbols("epsilon theta", positive=True)
S4_EPS_SERIES = (_EPS - 2 * sp.sqrt(2) / (3 * sp.pi) * _EPS ** sp.Rational(3, 2)
                 - sp.sqrt(2) / (30 * sp.pi) * _EPS ** sp.Rational(5, 2))
S4_ANGLE_SERIES = (1 - _THETA**2 / 2 + _THETA**3 / (3 * sp.pi) + _THETA**4 / 24
                   - _THETA**5 / (30 * sp.pi) - _THETA**6 / 720)
#: THEORY.md S4 independent check: exact 1 - rho^l over 9 pi^2/(2 l^2), and the offset
#: sequence u_l - (sqrt2/(3pi)) l - log(l)/(sqrt2 pi), rho^1 = 0.
S4_RATIO_TABLE = {10: 0.327, 100: 0.820, 1000: 0.973, 10**4: 0.9966, 10**5: 0.9996}
S4_OFFSET_TABLE = {10: 0.606, 100: 0.527, 1000: 0.511, 10**4: 0.509, 10**5: 0.5087}
S4_C0 = 0.5087


def _series_residual(derived: sp.Expr, stated: sp.Expr, sym: sp.Symbol) -> float:
    """max |derived - stated| over a few points (exactly 0 when the expressions agree)."""
    res = sp.simplify(sp.expand(derived.subs(sp.Symbol(sym.name, positive=True), sym)
                                - stated))
    if res == 0:
        return 0.0
    return max(abs(float(sp.N(res.subs(sym, v)))) for v in (sp.Rational(1, 10), sp.Rational(1, 2),
                                                            1))


def _halve_eps32(series: Callable[..., dict[str, sp.Expr]]) -> Callable[..., dict[str, sp.Expr]]:
    """Mutation combinator: ``series`` with the eps^{3/2} coefficient of 1 - f(1 - eps) halved."""
    def wrong(order: int = 6) -> dict[str, sp.Expr]:
        ser = dict(series(order))
        eps = ser["eps"]
        ser["eps_series"] = ser["eps_series"].subs(eps ** sp.Rational(3, 2),
                                                   eps ** sp.Rational(3, 2) / 2)
        return ser
    return wrong


@claim(
    "S4",
    title="ReLU correlation map: marginal fixed point; 1 - rho_l ~ 9 pi^2/(2 l^2) with log term",
    paper=LUTHER_SEUNG,
    theory={
        "series": arccos.correlation_map_series,
        "constants": ls.asymptotic_constants,
        "one_minus_rho": arccos.iterate_correlation_eps,
        "one_minus_rho_mp": arccos.iterate_correlation_mp,
        "c0": arccos.estimate_c0,
    },
    sizes={
        "quick": {"mp_max_layer": 10**4},
        "standard": {"mp_max_layer": 10**5},
        "paper": {"mp_max_layer": 10**5},
    },
    mutations=[
        Mutation("log term dropped from the refined form",
                 {"constants": lambda: {**ls.asymptotic_constants(), "log_coef": 0.0}}),
        Mutation("slope a instead of a/2 (1 - rho ~ 9 pi^2/(8 l^2))",
                 {"constants": lambda: {
                     **ls.asymptotic_constants(),
                     "slope": 2 * ls.asymptotic_constants()["slope"],
                     "nine_pi2_over_2": ls.asymptotic_constants()["nine_pi2_over_2"] / 4}}),
        nearby("refined form = the leading law 9 pi^2/(2 l^2) (log-l correction and C0 dropped)",
               {"constants": lambda: {**ls.asymptotic_constants(), "log_coef": 0.0},
                "c0": lambda rho1: (0.0, 0.0)}, fails_at="quick"),
        nearby("log coefficient 3a/8 (the 3a^2/(8u) term summed with u ~ a l, not a l/2)",
               {"constants": lambda: {**ls.asymptotic_constants(),
                                      "log_coef": ls.asymptotic_constants()["log_coef"] / 2}},
               fails_at="quick"),
        Mutation("eps^{3/2} coefficient halved",
                 {"series": _halve_eps32(arccos.correlation_map_series)}),
    ],
    criteria={
        "S4.1": "sympy series of 1 - f(1 - eps) and f(cos theta) equal THEORY.md's",
        "S4.2": "high-precision iteration (mpmath; float64 eps-iteration beyond) reproduces the "
                "ratio table to 1e-3; float64 agrees with mpmath; refined form within 1e-3 "
                "relative at l=1e4",
        "S4.3": "offset sequence reproduces THEORY.md's table to 1e-3; extrapolated C0 within "
                "1e-4 of 0.5087",
    },
    setup="Pure theory: rho^1 = 0; mpmath 40 digits up to mp_max_layer, float64 "
          "eps-iteration (cancellation-free) beyond.",
)
def _s4(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    out = []
    ser = th.series()
    out.append(C.exact("S4.1[eps]", "|sympy 1 - f(1-eps) series - THEORY.md series|",
                       _series_residual(ser["eps_series"], S4_EPS_SERIES, _EPS), 0.0, 1e-15,
                       "THEORY.md S4 (c1): symbolic identity (exact zero)"))
    out.append(C.exact("S4.1[angle]", "|sympy f(cos theta) series - THEORY.md series|",
                       _series_residual(ser["angle_series"], S4_ANGLE_SERIES, _THETA), 0.0,
                       1e-15, "THEORY.md S4 (c1): symbolic identity (exact zero)"))
    const = th.constants()
    layers = sorted(S4_RATIO_TABLE)
    mp_layers = [v for v in layers if v <= size["mp_max_layer"]]
    eps64 = th.one_minus_rho(0.0, layers)
    eps_mp = np.array([float(v) for v in th.one_minus_rho_mp(0.0, mp_layers)])
    eps = np.concatenate([eps_mp, eps64[len(mp_layers):]])
    agree = float(np.max(np.abs(eps64[:len(mp_layers)] / eps_mp - 1)))
    out.append(C.exact("S4.2[float64 vs mpmath]",
                       f"max relative difference, l <= {mp_layers[-1]}", agree, 0.0, 1e-9,
                       "the eps-iteration avoids cancellation: relative error ~1e-12 up to l=1e6 "
                       "(arccos.iterate_correlation_eps); 1e-9 leaves a wide margin"))
    for l, e in zip(layers, eps, strict=True):
        ratio = e / (const["nine_pi2_over_2"] / l**2)
        out.append(C.exact(f"S4.2[l={l}]", "(1 - rho^l) / (9 pi^2/(2 l^2))", ratio,
                           S4_RATIO_TABLE[l], 1e-3,
                           "THEORY.md S4 (c2): table to 1e-3 (it is quoted to 3-4 digits)"))
    c0, _ = th.c0(0.0)
    l4 = 10**4
    e4 = eps[layers.index(l4)]
    refined = (const["slope"] * l4 + const["log_coef"] * math.log(l4) + c0) ** -2.0
    out.append(C.exact("S4.2[refined]", "refined form / iteration - 1 at l=1e4", refined / e4 - 1,
                       0.0, 1e-3, "THEORY.md S4 (c2): 1e-3 relative; the o(1) remainder is "
                       "O(log l / l) in u_l, i.e. ~1e-6 relative at l=1e4",
                       perturbation=C.Perturbation.ratio("refined form")))
    for l, e in zip(layers, eps, strict=True):
        off = e**-0.5 - const["slope"] * l - const["log_coef"] * math.log(l)
        out.append(C.exact(f"S4.3[l={l}]", "offset u_l - slope l - log_coef log l", off,
                           S4_OFFSET_TABLE[l], 1e-3,
                           "THEORY.md S4 (c3): table to 1e-3 (quoted to 3-4 digits)"))
    out.append(C.exact("S4.3[C0]", "extrapolated C0 (rho^1 = 0)", c0, S4_C0, 1e-4,
                       "THEORY.md S4 (c3): 0.5087 is quoted to 4 decimals (rounding 5e-5); the "
                       "O(log l/l) extrapolation from l <= 1e6 is accurate to ~1e-5"))
    # Figures: the same float64 eps-iteration (rho^1 = 0), recorded on a log grid of layers.
    grid = np.unique(np.geomspace(1, layers[-1], 81).astype(np.int64))
    eps_grid = th.one_minus_rho(0.0, grid)
    caption = (f"Pure theory, no simulation: solid = the float64 eps-iteration from rho^1 = 0 "
               f"(deterministic, no band; agrees with the mpmath iteration to {agree:.0e} up to "
               f"l = {mp_layers[-1]})")
    asym = const["nine_pi2_over_2"] / grid.astype(float) ** 2
    refined_grid = (const["slope"] * grid + const["log_coef"] * np.log(grid) + c0) ** -2.0
    ctx.panel("S4: (1 - rho^l) / (9 pi^2/(2 l^2)): approach to the l^-2 law", "layer l",
              "(1 - rho^l) / (9 pi^2/(2 l^2))", logx=True,
              caption=f"{caption}. Dashed: the leading law (ratio 1) and the refined form "
                      "(log term); markers: THEORY.md's ratio table (S4.2)") \
        .simulation(grid, (eps_grid / asym)[None, :], "iteration (float64, eps form)") \
        .theory(grid, 1.0, "9 pi^2/(2 l^2)") \
        .theory(grid, refined_grid / asym,
                f"refined: (sqrt2 l/(3 pi) + log(l)/(sqrt2 pi) + C0)^-2, C0 = {c0:.4f}") \
        .points(layers, [S4_RATIO_TABLE[v] for v in layers], "THEORY.md table", kind="theory")
    offset = eps_grid**-0.5 - const["slope"] * grid - const["log_coef"] * np.log(grid)
    ctx.panel("S4: offset u_l - (sqrt2/(3 pi)) l - log(l)/(sqrt2 pi) converges to C0", "layer l",
              "offset (u_l = (1 - rho^l)^(-1/2))", logx=True,
              caption=f"{caption}. Dashed: the extrapolated C0; markers: THEORY.md's offset "
                      "table (S4.3)") \
        .simulation(grid, offset[None, :], "iteration (float64, eps form)") \
        .theory(grid, c0, f"C0 = {c0:.4f} (extrapolated)") \
        .points(layers, [S4_OFFSET_TABLE[v] for v in layers], "THEORY.md table", kind="theory")
    return out


# --------------------------------------------------------------------------------------------
# S5
# --------------------------------------------------------------------------------------------
S5_RATE_WINDOWS = ((1000, 1100), (9091, 10000))


def _without_batch_factor(law: Callable[..., dict[str, np.ndarray]]
                          ) -> Callable[..., dict[str, np.ndarray]]:
    """Mutation combinator: the decay ``law`` with its (1 - 1/B) factor dropped."""
    def wrong(x: np.ndarray, layers: np.ndarray | list[int]) -> dict[str, np.ndarray]:
        d = law(x, layers)
        b = np.asarray(x).shape[0]
        return {**d, "asymptotic": (d["asymptotic"] - d["floor"]) / (1 - 1 / b) + d["floor"]}
    return wrong


@claim(
    "S5",
    title="Sample-variance decay is Theta(l^-2) (polynomial), with an input-norm floor",
    paper=LUTHER_SEUNG,
    theory={
        "decay_law": ls.decay_law,
        "decay_exponent": ls.decay_exponent,
        "slope_correction": ls.refined_slope_correction,
        "c0": arccos.estimate_c0,
        "local_rate_ratio": ls.power_law_local_rate_ratio,
    },
    sizes={
        "quick": {"s5_batch": 64},
        "standard": {"s5_batch": 128},
        "paper": {"s5_batch": 256},
    },
    mutations=[
        Mutation("(1 - 1/B) factor dropped",
                 {"decay_law": _without_batch_factor(ls.decay_law)}),
        Mutation("decay exponent -2 -> -1", {"decay_exponent": lambda: -1.0}),
        Mutation("exponential decay (depth-independent rate)",
                 {"local_rate_ratio": lambda l_a, l_b: 1.0}),
        nearby("decay exponent -2 -> -1.8", {"decay_exponent": lambda: -1.8},
               fails_at="quick"),
        nearby("decay exponent -2 -> -2.1", {"decay_exponent": lambda: -2.1},
               fails_at="quick"),
    ],
    criteria={
        "S5.1": "sphere inputs: fraction / ((1 - 1/B) 9 pi^2/(2 l^2)) within 1% of 1 at l=1e4",
        "S5.2": "raw inputs: log-log slope of fraction - floor over [1e3, 1e4] within 0.005 of "
                "-2 + the refined form's log-term shift (THEORY.md: 0.05 of -2)",
        "S5.3": "sphere inputs: log-log slope within 0.005 of -2 + that shift over [1e3, 1e4] "
                "(THEORY.md: 0.02 of -2); exponential "
                "rejected (ratio of local decay rates at 1e3 and ~1e4 as a power law predicts)",
    },
    setup="Pure theory: kernel iteration (eps form) on a fixed Gaussian batch (D=784), raw "
          "(standardised per feature) and projected on the unit sphere.",
)
def _s5(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    raw = ctx.fixed_inputs("gaussian", size["s5_batch"], tag="S5", input_dim=784)
    sphere = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    fit = np.unique(np.geomspace(1000, 10**4, 11).astype(int))
    wins = sorted({v for w in S5_RATE_WINDOWS for v in w})
    # The figures' log grid of layers joins the tested ones: the same iteration, recorded at
    # more layers (values at the tested layers are unchanged).
    grid = np.unique(np.geomspace(1, 10**4, 61).astype(np.int64))
    layers = np.unique(np.concatenate([fit, wins, grid]))
    d_s = th.decay_law(sphere, layers)
    d_r = th.decay_law(raw, layers)
    at = {int(v): i for i, v in enumerate(layers)}
    out = []
    i4 = at[10**4]
    out.append(C.exact("S5.1", "sphere: fraction / asymptotic law at l=1e4",
                       d_s["fraction"][i4] / d_s["asymptotic"][i4], 1.0, 0.01,
                       "THEORY.md S5 (c1): 1%; the log correction of the refined form (S4) "
                       "leaves ~0.3% at l=1e4"))
    idx = [at[int(v)] for v in fit]
    # The refined form's log term flattens the fitted slope by a signed, derived amount: it
    # shifts the predicted exponent (the band stays symmetric around it).
    shift = th.slope_correction(fit, th.c0(0.0)[0])
    slope_pred = th.decay_exponent() + shift
    slope_raw = log_log_slope(fit, (d_r["fraction"] - d_r["floor"])[idx])
    out.append(C.exact("S5.2", "raw inputs: log-log slope of fraction - floor, [1e3, 1e4] "
                       f"(prediction -2 {shift:+.4f}, the refined form's log term)",
                       slope_raw, slope_pred, 0.005,
                       "THEORY.md S5 (c2) states 0.05 (it covers the log term, ~0.01 over the "
                       "window); the log term is a signed, derived shift (refined form, S4, "
                       "rho^1 = 0), so it moves the prediction and the band is tightened to "
                       "0.005: what is left is C0's dependence on the batch's rho^1 and the "
                       "floor's weighting of unequal norms (measured < 0.002)"))
    slope_s = log_log_slope(fit, d_s["fraction"][idx])
    out.append(C.exact("S5.3[slope]", "sphere: log-log slope of the fraction, [1e3, 1e4] "
                       f"(prediction -2 {shift:+.4f})", slope_s, slope_pred, 0.005,
                       "THEORY.md S5 (c3) states 0.02; tightened to 0.005 with the refined "
                       "form's signed shift in the prediction (as S5.2)"))
    rates = [local_log_rate(a, b, d_s["fraction"][at[a]], d_s["fraction"][at[b]])
             for a, b in S5_RATE_WINDOWS]
    pred = th.local_rate_ratio(S5_RATE_WINDOWS[0][0], S5_RATE_WINDOWS[1][0])
    out.append(C.exact("S5.3[not exponential]",
                       "ratio of local decay rates -dlog(fraction)/dl at l=1e3 and l=9091",
                       rates[0] / rates[1], pred, 0.05 * abs(pred),
                       "a power law l^-p has rate p/l (ratio 9.09), an exponential a constant "
                       "rate (ratio 1); the refined form's log term moves p from 1.975 to 1.997 "
                       "(1.1%), so 5% decides between the two laws"))
    b = raw.shape[0]
    caption = (f"Pure theory, no simulation: solid = the kernel iteration (eps form) on one fixed "
               f"Gaussian batch B={b}, D=784 (deterministic, no band); dashed: the asymptotic "
               "law, drawn from l = 10. S5.1-S5.3 test l in [1e3, 1e4]")
    tail = layers >= 10
    ctx.panel("S5: fraction vs depth, sphere inputs: power law l^-2, not exponential",
              "layer l", "sample-variance fraction", logx=True, logy=True,
              caption=f"{caption}; rows projected on the unit sphere (floor 0)") \
        .simulation(layers, d_s["fraction"][None, :], "kernel iteration (sphere inputs)") \
        .theory(layers[tail], d_s["asymptotic"][tail], "(1 - 1/B) 9 pi^2/(2 l^2)")
    ctx.panel("S5: fraction vs depth, raw inputs: l^-2 decay above the input-norm floor",
              "layer l", "sample-variance fraction", logx=True, logy=True,
              caption=f"{caption}; inputs standardised per feature (unequal norms: floor "
                      "Var_a||x_a||/E_a||x_a||^2)") \
        .simulation(layers, d_r["fraction"][None, :], "fraction (kernel iteration)") \
        .simulation(layers, (d_r["fraction"] - d_r["floor"])[None, :], "fraction - floor") \
        .theory(layers[tail], d_r["asymptotic"][tail], "(1 - 1/B) 9 pi^2/(2 l^2) + floor") \
        .theory(layers[tail], (d_r["asymptotic"] - d_r["floor"])[tail],
                "(1 - 1/B) 9 pi^2/(2 l^2)") \
        .theory(layers, d_r["floor"], "floor Var||x||/E||x||^2")
    return out


# --------------------------------------------------------------------------------------------
# S6
# --------------------------------------------------------------------------------------------
S6_ANGLE_DEPTHS = (2, 5, 10, 20, 50)
S6_FRACTION_DEPTHS = (2, 5, 10)
#: THEORY.md S6 (a)(1): angles follow mean field at N >= 128.
S6_MIN_WIDTH = 128
#: S6.1 / S6.2 tolerances per depth (issue 14: THEORY.md's 20% / 10% are set by the deepest
#: layer; shallower layers are far more precise and nearly unbiased; reasons in the criteria).
S6_ANGLE_TOLERANCE = {2: 0.03, 5: 0.05, 10: 0.08, 20: 0.12, 50: 0.2}
S6_FRACTION_TOLERANCE = {2: 0.02, 5: 0.04, 10: 0.1}
#: S6.3 tolerance on the fitted floor exponent (reason in the criterion).
S6_EXPONENT_TOLERANCE = 0.08


def radial_floor_exponent(widths: Sequence[float], dispersion: Sequence[float],
                          dispersion_mf: float) -> float:
    """Fitted exponent p of a radial floor ``c / N^p`` (S6.3).

    ``dispersion``: the mean over networks of D = Var_a||z_a|| / E_a||z_a||^2 at each width;
    ``dispersion_mf``: its mean-field value (the input-norm floor, constant in depth). For
    log-normal norms D = 1 - exp(-s^2/4) with s^2 = Var_a log||z_a||^2, so the finite-width
    part of s^2/4 is ``-log(1 - D) + log(1 - D_mf)``; returns minus the least-squares slope of
    its log on log N (NaN when a width shows no positive excess).
    """
    d = np.asarray(dispersion, dtype=float)
    exc = -np.log1p(-d) + math.log1p(-dispersion_mf)
    if np.any(~np.isfinite(exc)) or np.any(exc <= 0):
        return math.nan
    return -stats.line_slope(np.log(np.asarray(widths, dtype=float)), np.log(exc))


@claim(
    "S6",
    title="Finite width: angles follow mean field; the fraction floors at O(1/N) (radial)",
    paper=LUTHER_SEUNG,
    theory={"mean_field_pieces": ls.mean_field_pieces, "floor_exponent": ls.floor_exponent,
            "decay_law": ls.decay_law},
    sizes={
        # N=100 runs the most networks: it dominates the error of the fitted floor exponent
        # (S6.3; relative error 3% of its floor at 80 sims) and costs 1/100 of an N=1000 net.
        "quick": {"s6_widths": (100, 400, 1000), "s6_sims": (300, 200, 100), "s6_depth": 60,
                  "s6_batch": 64},
        "standard": {"s6_widths": (100, 400, 1000), "s6_sims": (400, 300, 150), "s6_depth": 100,
                     "s6_batch": 64},
        "paper": {"s6_widths": (100, 400, 1000), "s6_sims": (100, 400, 200), "s6_depth": 100,
                  "s6_batch": 256},
    },
    mutations=[
        Mutation("radial floor independent of N (an input-norm floor, as in S5)",
                 {"floor_exponent": lambda: 0.0}),
        Mutation("radial floor ~ 1/N^2", {"floor_exponent": lambda: 2.0}),
        nearby("radial floor ~ 1/N^0.8", {"floor_exponent": lambda: 0.8}, fails_at="quick"),
        nearby("radial floor ~ 1/N^1.2", {"floor_exponent": lambda: 1.2}, fails_at="quick"),
        Mutation("mean field one layer too deep",
                 {"mean_field_pieces": _shifted_layers(ls.mean_field_pieces, 1)}),
    ],
    criteria={
        "S6.1": "N >= 128: 1 - mean cosine within 20% of mean field for l <= 50 (tightened to "
                "3-12% at l <= 20, issue 14)",
        "S6.2": "N >= 128: fraction within 10% of mean field for l <= 10 (2%, 4% at l = 2, 5)",
        "S6.3": "l >= 50: fraction exceeds mean field at every N; the radial floor's fitted "
                "exponent p (c_B/N^p, N in 100..1000) within 0.08 of 1 (THEORY.md: N x excess "
                "constant within a factor 2; tightened, issue 14)",
    },
    setup="Kaiming FC N in {100, 400, 1000}, one fixed Gaussian batch (D=784) in every network "
          "(B=64 below paper size); mean field = kernel iteration on that batch.",
    caveats="(c1), (c2) are applied at N >= 128 (THEORY.md S6 (a)(1)); at N=100 the radial "
            "floor alone is ~0.02-0.03 at l=10, i.e. +15-20% of the mean-field fraction, so "
            "the 10% band of (c2) does not hold there (it is (c3)'s O(1/N) floor).",
)
def _s6(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    x = ctx.fixed_inputs("gaussian", size["s6_batch"], tag="S6", input_dim=784)
    depth = size["s6_depth"]
    mf = th.mean_field_pieces(x, np.arange(1, depth + 1))
    p = th.floor_exponent()
    rng = ctx.rng("S6")
    runs = {}
    for width, n in zip(size["s6_widths"], size["s6_sims"], strict=True):
        runs[width] = kaiming_run(ctx, width, depth, x, n, families=("sample_stats",),
                                  name=f"kaiming_s6_N{width}")
    out = []
    for width, res in runs.items():
        if width < S6_MIN_WIDTH:
            continue
        for l in S6_ANGLE_DEPTHS:
            j = depth_index(res.depth, l)
            ref = 1.0 - mf["mean_cosine"][l - 1]
            est = stats.bootstrap(res["mean_cosine_signal_pre"][:, j],
                                  lambda c, ref=ref: (1.0 - c.mean()) / ref - 1.0, rng,
                                  n_resamples=ctx.n_resamples)
            out.append(C.equivalence(
                f"S6.1[N={width},l={l}]", "(1 - mean cosine) / mean field - 1", est, 0.0,
                S6_ANGLE_TOLERANCE[l],
                "THEORY.md S6 (c1): 20%, kept at l=50; Jensen (faster convergence at small N) "
                "is a few % at N >= 400, l <= 50, and the standard error grows from ~0.2% at "
                "l=2 to ~3% at l=50 (quick), so the band is tightened at l <= 20 "
                "(S6_ANGLE_TOLERANCE: ~5 quick standard errors + 2%)", res.num_sims,
                perturbation=C.Perturbation.ratio("mean-field 1 - mean cosine")))
        for l in S6_FRACTION_DEPTHS:
            j = depth_index(res.depth, l)
            est = _frac_estimate(res["mu2_signal_pre"][:, j], res["nu2_signal_pre"][:, j],
                                 mf["fraction"][l - 1], rng, ctx.n_resamples)
            out.append(C.equivalence(
                f"S6.2[N={width},l={l}]", "fraction / mean field - 1", est, 0.0,
                S6_FRACTION_TOLERANCE[l],
                "THEORY.md S6 (c2): 10%, kept at l=10, where the radial excess c_B/N is ~3-4% "
                "at N=400; it is below 0.5% at l <= 5 (standard error 0.2-0.6% at quick), so "
                "the band is tightened there (S6_FRACTION_TOLERANCE)", res.num_sims,
                perturbation=C.Perturbation.ratio("mean-field fraction")))
    deep = sorted({50, depth})
    for l in deep:
        ref = mf["fraction"][l - 1]
        for width, res in runs.items():
            j = depth_index(res.depth, l)
            est = stats.bootstrap((res["mu2_signal_pre"][:, j], res["nu2_signal_pre"][:, j]),
                                  lambda a, b, ref=ref: a.mean() / b.mean() - ref, rng,
                                  n_resamples=ctx.n_resamples)
            out.append(C.bound(
                f"S6.3[N={width},l={l}]", "fraction - mean field (finite-width excess)", est,
                0.0, "above", "THEORY.md S6 (c3): the radial floor keeps the fraction above the "
                "decaying mean field", res.num_sims,
                perturbation=C.Perturbation.shift(ref, "mean-field fraction")))
        widths = np.asarray(list(runs), dtype=float)
        groups = [(res["norm_dispersion_signal_pre"][:, depth_index(res.depth, l)],)
                  for res in runs.values()]
        est = bootstrap_groups(
            groups, lambda *g, widths=widths, rad=mf["radial"][l - 1]: radial_floor_exponent(
                widths, [a.mean() for (a,) in g], rad), rng, n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"S6.3[exponent,l={l}]", "fitted exponent p of the radial floor c_B/N^p: -slope of "
            "log(-log(1 - D_N) + log(1 - D_mf)) on log N, D = Var_a||z_a||/E_a||z_a||^2 (sim "
            f"mean), N in {tuple(runs)}", est, p, S6_EXPONENT_TOLERANCE,
            "THEORY.md S6 (c3) asks N x excess constant within a factor 2 over a 10x range of N, "
            "i.e. any exponent in 0.7..1.3; the data pin it far better, so the exponent itself "
            f"is tested (issue 14), within {S6_EXPONENT_TOLERANCE}: bootstrap standard error "
            "~0.012 (quick) / ~0.009 (standard), plus the residual finite-N bias, negative "
            "(O(1/N^2) saturation left at N=100) and measured at -0.01 to -0.035 over seeds "
            "(quick and standard); 0.08 ~ 0.035 + 4 quick standard errors. The radial part "
            "is the floor (THEORY.md S6 (a)(2)); the fraction's excess adds the angular part "
            "of opposite sign (Jensen), "
            "which bends its slope by -0.04..-0.1 at N=100. log(1 - D) linearises the "
            "saturation of D = 1 - exp(-Var log||z||^2 / 4) of log-normal norms (D is 0.09 at "
            "N=100), which otherwise biases the slope by about -0.02",
            min(r.num_sims for r in runs.values())))
    layers = np.arange(1, depth + 1)
    sizes = (f"Kaiming FC, one fixed Gaussian batch B={x.shape[0]} (D=784), depth {depth}; "
             + ", ".join(f"N={w}: {r.num_sims} networks" for w, r in runs.items()))
    p = ctx.panel("S6: sample-variance fraction by width vs mean field (radial floor)",
                  "layer l", "fraction (v^l)^2/(sigma^l)^2 (loc pre)", logy=True,
                  caption=f"{sizes}; {FRACTION_BAND}. Dashed: the kernel iteration on the same "
                          "batch (N = infinity) and its depth asymptote (from l = 10). Finite "
                          "widths floor at O(1/N) above it (S6.3)")
    for width, res in runs.items():
        p.simulation(res.depth, _fraction_per_network(res["mu2_signal_pre"],
                                                      res["nu2_signal_pre"]), f"N={width}")
    p.theory(layers, mf["fraction"], "mean field (kernel iteration)")
    tail = layers >= 10
    p.theory(layers[tail], th.decay_law(x, layers[tail])["asymptotic"],
             "(1 - 1/B) 9 pi^2/(2 l^2) + input-norm floor")
    p = ctx.panel("S6: 1 - mean pairwise cosine by width vs mean field", "layer l",
                  "1 - mean cosine of z^l", logy=True,
                  caption=f"{sizes}; curves: sim mean of 1 - mean cosine; bands: 16-84% over "
                          f"networks. S6.1 tests N >= {S6_MIN_WIDTH} within 20% for l <= 50")
    for width, res in runs.items():
        p.simulation(res.depth, 1.0 - res["mean_cosine_signal_pre"], f"N={width}")
    p.theory(layers, 1.0 - mf["mean_cosine"], "mean field (kernel iteration)")
    return out


# --------------------------------------------------------------------------------------------
# S7
# --------------------------------------------------------------------------------------------
S7_DEPTHS = (2, 5, 10, 20)
S7_TREND_START = 20


@claim(
    "S7",
    title="Batch norm removes the decay: pre-BN fraction 1 - 1/pi = 1/(delta_phi chi)^2",
    paper=LUTHER_SEUNG,
    theory={
        "bn_output_fraction": ls.bn_output_fraction,
        "bn_output_mean": 0.0,
        "gaussian_fraction": ls.gaussian_bn_fraction,
        "bn_fraction": ls.bn_fraction,
        "late_trend": 1.0,
    },
    sizes={
        "quick": {"s7_width": 512, "s7_batch": 128, "s7_depth": 100, "s7_sims": 40},
        "standard": {"s7_width": 512, "s7_batch": 256, "s7_depth": 100, "s7_sims": 30},
        "paper": {"s7_width": 1000, "s7_batch": 256, "s7_depth": 100, "s7_sims": 50},
    },
    mutations=[
        Mutation("BN output fraction s^2/(s^2+eps) (variance taken for the fraction)",
                 {"bn_output_fraction": lambda nu2_bn: np.asarray(nu2_bn, dtype=float)}),
        Mutation("1 - 1/pi -> 1 - 1/(2 pi) (He gain forgotten)",
                 {"gaussian_fraction": lambda: 1 - 1 / (2 * math.pi)}),
        Mutation("nu1^2/2 -> nu1^2/4 (sign symmetrisation miscounted)",
                 {"bn_fraction": lambda nu1: 1.0 - np.asarray(nu1, dtype=float) ** 2 / 4}),
        Mutation("fraction decreases with depth (as without BN)", {"late_trend": -1.0}),
        # L4's mean-field increment at the post-ReLU correlation c = f(0) = 1/pi instead of
        # the BN output's c = 0: 1/(delta chi)^2 = 0.7426 instead of 1 - 1/pi = 0.6817
        nearby("1 - 1/pi -> 1/(delta chi)^2 of L4's mean field at c = 1/pi (the post-ReLU "
               "correlation taken for the BN output's)",
               {"gaussian_fraction": lambda: float(labatie.vanilla_increment_mean_field(
                   arccos.relu_correlation_map(0.0)) ** -2)}, fails_at="quick"),
    ],
    criteria={
        "S7.1": "BN output: fraction 1 and sample means 0 to float32 precision (every network, "
                "depth and unit)",
        "S7.2": "pre-BN fraction within 0.02 of 1 - 1/pi for 2 <= l <= 20; its slope over "
                "[20, depth] non-negative (trend)",
        "S7.3": "pre-BN fraction at l = 1 - E_c nu1(|z_c|)^2/(2 nu2) of the BN output at l-1, "
                "paired, averaged over depth windows: within 0.003 (THEORY.md: 0.005; tightened, "
                "issue 14)",
    },
    setup="Kaiming FC Linear -> BN (batch statistics, eps=1e-3, no affine) -> ReLU, fresh "
          "Gaussian batches (D=784), float32.",
    caveats="Deep BN nets make z fat-tailed (L9): nu1 drops and the fraction rises slowly "
            "beyond l~20. Layer 1 sees the raw inputs (fraction 1): the 1 - 1/pi value "
            "applies from l=2.",
)
def _s7(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    res = kaiming_run(ctx, size["s7_width"], size["s7_depth"], GAUSSIAN_784, size["s7_sims"],
                      batch_size=size["s7_batch"], batchnorm=True, name="kaiming_bn_ff")
    n = res.num_sims
    rng = ctx.rng("S7")
    out = []
    frac_bn = res["mu2_signal_bn"] / res["nu2_signal_bn"]
    dev = float(np.max(np.abs(frac_bn - th.bn_output_fraction(res["nu2_signal_bn"]))))
    out.append(C.exact("S7.1[fraction]", "max |BN-output fraction - prediction|", dev, 0.0,
                       EPS32, "float32 storage: |m_c| <= eps32 |z|, so 1 - fraction = m^2/nu2 "
                       "<= eps32^2, plus float64 summation round-off ~1e-15", n))
    mean_abs = float(np.sqrt(np.max(res["sq_mean_signal_bn"])))
    out.append(C.exact("S7.1[mean]", "max over networks and depths of sqrt(mean_c m_c^2) at the "
                       "BN output", mean_abs, th.bn_output_mean, EPS32,
                       "float32 storage: each stored (z - m)/s carries a relative rounding "
                       "error <= eps32/2, so the re-measured mean is below eps32", n))
    out = [c.labelled("identity", "BN subtracts each unit's batch mean and divides by its "
                      "batch std, so m_hat = 0 and the fraction is 1 by construction, for any "
                      "weights or inputs") for c in out]
    frac = res["mu2_signal_pre"] / res["nu2_signal_pre"]
    g = th.gaussian_fraction()
    for l in S7_DEPTHS:
        j = depth_index(res.depth, l)
        est = stats.mean_estimate(frac[:, j], rng, n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"S7.2[l={l}]", "sim mean of the pre-BN fraction", est, g, 0.02,
            "THEORY.md S7 (c2): 0.02 covers the O(1/B) finite-batch bias of nu1 and the onset "
            "of fat tails (L9) up to l=20", n))
    late = res.depth >= S7_TREND_START
    est = stats.fit_line(res.depth[late], frac[:, late], rng, n_resamples=ctx.n_resamples)
    side = "above" if th.late_trend > 0 else "below"
    out.append(C.bound("S7.2[trend]", f"slope of the sim-mean pre-BN fraction over "
                       f"[{S7_TREND_START}, {int(res.depth[-1])}]", est, 0.0, side,
                       "THEORY.md S7 (c2): fat tails lower nu1, so the fraction cannot decay",
                       n))
    nu1_unit = np.sqrt(res["nu1_abs_sq_signal_bn"] / res["nu2_signal_bn"])
    pred = th.bn_fraction(nu1_unit)
    diff = frac[:, 1:] - pred[:, :-1]  # pre-BN at l vs BN output at l-1, l = 2..depth
    lay = res.depth[1:]
    top = int(res.depth[-1])
    for lo, hi in ((2, 20), (21, 50), (51, top)):
        sel = (lay >= lo) & (lay <= hi)
        if not np.any(sel):
            continue
        est = stats.mean_estimate(diff[:, sel].mean(axis=1), rng, n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"S7.3[l={lo}..{hi}]", "pre-BN fraction - (1 - E_c nu1^2/(2 nu2)) of the previous "
            "BN output, paired, mean over the window", est, 0.0, 0.003,
            "THEORY.md S7 (c3) states 0.005; tightened to 0.003 (issue 14): the paired "
            "difference has a standard error of ~0.0005 (quick and standard) and no signed "
            "bias (the sign-symmetrised dominating term drops only E_x z|z|/2 per unit, zero "
            "on average); 0.003 ~ 6 standard errors. nu1 is normalised by the BN output's "
            "nu2 = s^2/(s^2+eps) (unit-variance form of the identity)", n,
            perturbation=C.Perturbation.shift(float(np.mean(pred[:, :-1][:, sel])),
                                              "1 - E_c nu1^2/2")))
    sizes = (f"Kaiming FC Linear -> BN -> ReLU, N={size['s7_width']}, fresh Gaussian batches "
             f"B={size['s7_batch']} (D=784), float32, {n} networks")
    ctx.panel("S7: BN removes the decay: sample-variance fraction vs depth", "layer l",
              "sample-variance fraction",
              caption=f"{sizes}; curves: sim mean of the per-network fraction; bands: 16-84% "
                      "over networks. The 'measured' curve is the exact identity evaluated on "
                      "the BN output of layer l-1 (S7.3); 1 - 1/pi is its Gaussian value (S7.2, "
                      f"2 <= l <= {S7_TREND_START}; layer 1 sees the raw inputs)") \
        .simulation(res.depth, frac_bn, "BN output") \
        .simulation(res.depth, frac, "BN input (pre-BN, z^l)") \
        .simulation(lay, pred[:, :-1], "1 - E_c nu1^2/2 of the BN output at l-1 (measured)") \
        .theory(res.depth, np.mean(th.bn_output_fraction(res["nu2_signal_bn"]), axis=0),
                "BN output: 1") \
        .theory(lay, g, "pre-BN, Gaussian: 1 - 1/pi (from l = 2)")
    ctx.panel("S7: pre-BN fraction minus 1 - E_c nu1^2/2 of the previous BN output", "layer l",
              "paired difference",
              caption=f"{sizes}; curve: sim mean of the paired per-network difference; band: "
                      "16-84% over networks. S7.3 tests its window means within 0.005") \
        .simulation(lay, diff, "simulation (paired)") \
        .theory(lay, 0.0, "identity: 0")
    return out


# --------------------------------------------------------------------------------------------
# S8
# --------------------------------------------------------------------------------------------
@claim(
    "S8",
    title="Data-dependent init preserving sample statistics (training part: describe only)",
    paper=LUTHER_SEUNG,
    theory={"init_prediction": ls.data_dependent_init_prediction,
            "held_out_first_layer": ls.held_out_first_layer_defect},
    sizes={
        "quick": {"s8_width": 256, "s8_depth": 50, "s8_batch": 128, "s8_nets": 16},
        "standard": {"s8_width": 512, "s8_depth": 50, "s8_batch": 256, "s8_nets": 30},
        "paper": {"s8_width": 512, "s8_depth": 50, "s8_batch": 256, "s8_nets": 40},
    },
    mutations=[
        Mutation("calibration fraction 1 - 1/B (as for i.i.d. samples)",
                 {"init_prediction": lambda b: {
                     **ls.data_dependent_init_prediction(b),
                     "calibration_fraction": 1 - 1 / np.asarray(b, dtype=float)}}),
        Mutation("held-out bound 10/B -> 1/B",
                 {"init_prediction": lambda b: {
                     **ls.data_dependent_init_prediction(b),
                     "held_out_bound": 1 / np.asarray(b, dtype=float)}}),
        nearby("held-out layer-1 defect 1/B (calibration means taken as exact: one batch "
               "mean's fluctuation, not the difference of two)",
               {"held_out_first_layer": lambda b: 1.0 / np.asarray(b, dtype=float)},
               fails_at="quick"),
    ],
    criteria={
        "S8.1": "calibration batch: m_i = 0, v_i = 1 and fraction = 1 to float64 precision at "
                "every layer of every network",
        "S8.2": "held-out batch: 1 - fraction below 10/B for l <= 20 (sim means over layer "
                "windows 1-10, 11-20); deeper layers contradict THEORY.md's bound (skipped, "
                "documented); at l=1 it equals 2/(B+1) (difference of two batch means) within "
                "12%",
        "S8.3": "training comparison (describe only)",
    },
    setup="Independent numpy routine (the simulator has no data-dependent init): Kaiming draws, "
          "one BN step folded into (W, b) per layer on a calibration batch of i.i.d. N(0, I_784) "
          "inputs, evaluated on that batch and on a held-out batch from the same distribution.",
    caveats="The initialisation procedure of the paper is unverified (THEORY.md S8). Measured "
            "(N=512, B=256): held-out 1 - fraction is 2/B at l=1 (difference of two batch "
            "means) but grows with depth to ~12.5/B by l~35 and stays there: the folded net "
            "is a BN net run with frozen (calibration) statistics, whose chaotic BN-FF "
            "dynamics (L8) amplify the held-out batch's offset. THEORY.md's 10/B bound is "
            "therefore exceeded from l~30 on: S8.2 tests it as stated up to l = 20; the deeper "
            "part is reported as a discrepancy with THEORY.md.",
)
def _s8(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    b = size["s8_batch"]
    rng = ctx.rng("S8 networks")
    pred = th.init_prediction(b)
    worst_m = worst_v = worst_f = 0.0
    held = []
    cal_rows = []  # per network: calibration max_i |m_i| and max_i |v_i - 1| per layer
    for _ in range(size["s8_nets"]):
        x_cal = rng.standard_normal((b, 784))
        x_held = rng.standard_normal((b, 784))
        with single_threaded_blas():  # small products: threads only add contention
            params = data_dependent_init(x_cal, size["s8_width"], size["s8_depth"], rng)
            cal = preactivation_stats(params, x_cal)
            held.append(preactivation_stats(params, x_held)["one_minus_fraction"])
        worst_m = max(worst_m, float(cal["max_abs_mean"].max()))
        worst_v = max(worst_v, float(cal["max_abs_std_dev"].max()))
        worst_f = max(worst_f, float(np.max(np.abs(cal["fraction"]
                                                   - pred["calibration_fraction"]))))
        cal_rows.append((cal["max_abs_mean"], cal["max_abs_std_dev"]))
    n = size["s8_nets"]
    tol = b * EPS64
    reason = (f"float64 round-off of B-term means is below B eps64 = {tol:.1e} (worst-case "
              "summation bound, unit-scale values)")
    out = [
        C.exact("S8.1[mean]", "max |m_i| on the calibration batch", worst_m, 0.0, tol, reason, n),
        C.exact("S8.1[std]", "max |v_i - 1| on the calibration batch", worst_v, 0.0, tol, reason,
                n),
        C.exact("S8.1[fraction]", "max |fraction - predicted calibration fraction|", worst_f,
                0.0, tol, reason, n),
    ]
    out = [c.labelled("identity", "the calibration step divides by the measured v_i and "
                      "subtracts the measured m_i on that very batch, so these hold by "
                      "construction for any weights (they test the routine, not the paper)")
           for c in out]
    held = np.asarray(held)
    bound = float(pred["held_out_bound"])
    rng_b = ctx.rng("S8")
    depth = size["s8_depth"]
    first = float(th.held_out_first_layer(b))
    est = stats.mean_estimate(held[:, 0], rng_b, n_resamples=ctx.n_resamples)
    out.append(C.relative_equivalence(
        "S8.2[l=1]", "held-out batch: 1 - fraction at l=1 (sim mean)", est, first, 0.12,
        "THEORY.md S8 (a): held-out m_hat = O(1/sqrt(B)); at l=1 the constant is derived "
        "(2/(B+1), the difference of the held-out and calibration means, "
        "ls.held_out_first_layer_defect); an independent check with 200 networks (N=256, "
        "B=128) gives 1.007 +- 0.007 times it. Per-network relative spread ~0.1 (||Delta||^2 "
        "and the units' chi^2), so the standard error is ~2.4% at quick (16 networks) and "
        "~1.4% at standard; 12% ~ 5 quick standard errors", n))
    for lo, hi in ((1, 10), (11, 20)):
        est = stats.mean_estimate(held[:, lo - 1:hi].mean(axis=1), rng_b,
                                  n_resamples=ctx.n_resamples)
        out.append(C.bound(
            f"S8.2[l={lo}..{hi}]", "held-out batch: 1 - fraction, mean over the layer window",
            est, bound, "below",
            "THEORY.md S8 (c2): held-out sample means are O(1/sqrt(B)), 1 - fraction < 10/B "
            "(a window mean below the bound is necessary for it)",
            n))
    out.append(C.skipped(
        f"S8.2[l=21..{depth}]", "held-out batch: 1 - fraction below 10/B deeper",
        "THEORY.md discrepancy, not run as a pass criterion: the 10/B bound is contradicted by "
        "measurement (B(1 - fraction) grows to a plateau ~12.5 at N=512, B=256 from l~35; at "
        "N=256 it is 12.2 at B=128 but 8.4 at B=256 for l=31..50, so it is not a clean O(1/B) "
        "law either). The paper's procedure is unverified; see docs/verification.md"))
    out.append(C.skipped("S8.3", "training: sample-statistic-preserving vs Kaiming init",
                         "describe only (THEORY.md: training is out of scope)"))
    layers = np.arange(1, depth + 1)
    sizes = (f"numpy routine, FC ReLU N={size['s8_width']}, calibration and held-out batches "
             f"of B={b} i.i.d. N(0, I_784) inputs, {n} networks; bands: 16-84% over networks")
    ctx.panel("S8: held-out batch 1 - fraction vs depth (data-dependent init)", "layer l",
              "1 - sample-variance fraction (held-out batch)",
              caption=f"{sizes}. S8.2 tests the window means for l <= 20 against the 10/B bound; "
                      "deeper layers exceed it (THEORY.md discrepancy, see the caveats)") \
        .simulation(layers, held, "simulation (held-out batch)") \
        .theory(layers, bound, "THEORY.md bound: 10/B")
    cal_arr = np.asarray(cal_rows)  # (n, 2, depth)
    ctx.panel("S8: calibration batch: sample statistics preserved to round-off", "layer l",
              "deviation from m_i = 0, v_i = 1", logy=True,
              caption=f"{sizes}. Prediction: 0 up to float64 round-off; dashed: the S8.1 "
                      f"round-off bound B eps64. |fraction - 1| is mostly exactly 0 (not drawn; "
                      f"max over networks and layers {worst_f:.1e})") \
        .simulation(layers, cal_arr[:, 0], "max_i |m_i|") \
        .simulation(layers, cal_arr[:, 1], "max_i |v_i - 1|") \
        .theory(layers, tol, "round-off bound B eps64")
    return out


# --------------------------------------------------------------------------------------------
# S9
# --------------------------------------------------------------------------------------------
S9_CLOSE_DEPTHS = (2, 5, 10, 20)
#: S9.1 tolerance per depth: THEORY.md's 0.03 covers the finite-width gap at l=20 (-0.013 at
#: N=4096); at l <= 10 the gap is <= 0.005 and the standard error 0.0006-0.002 (issue 14).
S9_TOLERANCE = {2: 0.01, 5: 0.01, 10: 0.015, 20: 0.03}


@claim(
    "S9",
    title="Cross-paper: chi^l proportional to (sample-variance fraction)^(-1/2)",
    paper=LUTHER_SEUNG,
    theory={"mean_field_chi": ls.mean_field_chi},
    sizes={
        # 40 close-run sims at quick: with 20, S9.1[l=20] (estimate -0.019 against the 0.03
        # margin, derived finite-width gap -0.013) was INCONCLUSIVE at 2 of 10 seeds.
        # 60 at quick (issue 14 sweep): with 40, seed 4 gave -0.0214 +- 0.0038 (derived gap
        # -0.013), INCONCLUSIVE by a hair; 60 sims bring the standard error to ~0.003.
        "quick": {"s9_width": 2048, "s9_batch": 64, "s9_depth": 60, "s9_sims": 20,
                  "s9_close_width": 4096, "s9_close_sims": 60},
        "standard": {"s9_width": 2048, "s9_batch": 64, "s9_depth": 200, "s9_sims": 30,
                     "s9_close_width": 4096, "s9_close_sims": 60},
        "paper": {"s9_width": 2048, "s9_batch": 64, "s9_depth": 200, "s9_sims": 100,
                  "s9_close_width": 4096, "s9_close_sims": 100},
    },
    mutations=[
        Mutation("chi ~ fraction^-1 (exponent -1/2 -> -1)",
                 {"mean_field_chi": lambda x0, layers: ls.mean_field_chi(x0, layers) ** 2}),
        # chi^l from frac(K^l) = the correct chi one layer earlier (chi^0 = 1)
        Mutation("fraction of K^l instead of K^(l+1) (off by one)",
                 {"mean_field_chi": lambda x0, layers: ls.mean_field_chi(
                     x0, np.maximum(np.asarray(layers) - 1, 0))}),
        nearby("chi ~ fraction^-0.45 (exponent -1/2 -> -0.45)",
               {"mean_field_chi": lambda x0, layers: ls.mean_field_chi(x0, layers) ** 0.9},
               fails_at="quick"),
    ],
    criteria={
        "S9.1": "l <= 20: sim mean of log chi^l (loc3) within 0.03 of log of the mean-field chi "
                "(at N=4096: see caveats); 0.01, 0.01, 0.015 at l = 2, 5, 10 (issue 14)",
        "S9.2": "deeper (l >= 50): sim mean of log chi^l below mean field",
    },
    setup="Labatie's vanilla FC (LeCun stem, He dense, ReLU), N=2048, one fixed standardised "
          "Gaussian batch (B=64, D=3072) in every simulation. 'Same inputs': the stem output "
          "differs per simulation, but its kernel W0 X (per unit) converges to X X^T/D as N "
          "grows and the fractions are scale-free, so the mean field iterates the kernel of the "
          "input batch X itself (the N -> infinity stem output); the finite stem adds "
          "O(N^-1/2) noise per simulation, an O(1/N) bias on the mean.",
    caveats="Finite width lowers log chi by about -(1/2) excess/fraction (S6 radial floor): "
            "measured -0.01 at l=10 and -0.027 +- 0.003 at l=20 for N=2048 (100 sims), on the "
            "edge of the 0.03 band of (c1); at N=4096 the gap halves (-0.013 +- 0.003), as the "
            "O(1/N) floor predicts. (c1) is therefore checked at N=4096, where 0.03 covers the "
            "finite-width gap as THEORY.md intends; (c2) and L5 (c5) test the gap's direction.",
)
def _s9(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    x = ctx.fixed_inputs("gaussian", size["s9_batch"], tag="S9", input_dim=3072)
    opts = EngineOptions(compute_reff_signal=False, compute_reff_noise=False)
    res = ctx.simulate(spec.vanilla(size["s9_width"], size["s9_depth"]), x,
                       num_sims=size["s9_sims"], options=opts, name="vanilla_s9")
    mf = np.log(th.mean_field_chi(x, res.depth))
    log_chi = res["log_chi_loc3"]
    n = res.num_sims
    rng = ctx.rng("S9")
    out = []
    close = ctx.simulate(spec.vanilla(size["s9_close_width"], max(S9_CLOSE_DEPTHS)), x,
                         num_sims=size["s9_close_sims"], options=opts, name="vanilla_s9_close")
    mf_close = np.log(th.mean_field_chi(x, close.depth))
    for l in S9_CLOSE_DEPTHS:
        j = depth_index(close.depth, l)
        est = stats.mean_estimate(close["log_chi_loc3"][:, j] - mf_close[j], rng,
                                  n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"S9.1[l={l}]", f"N={size['s9_close_width']}: sim mean of log chi^{l} - mean field "
            f"({mf_close[j]:.3f})", est, 0.0, S9_TOLERANCE[l],
            "THEORY.md S9 (c1): 0.03 for the finite-width gap; at N=4096 the derived gap "
            "-(1/2) excess/fraction is about -0.013 at l=20, -0.005 at l=10 and below 0.002 at "
            "l <= 5, where the standard error is 0.0006-0.0013: tightened there (S9_TOLERANCE)",
            close.num_sims, perturbation=C.Perturbation.log("mean-field chi")))
    for l in sorted({50, 100, int(res.depth[-1])}):
        if l > res.depth[-1]:
            continue
        j = depth_index(res.depth, l)
        est = stats.mean_estimate(log_chi[:, j] - mf[j], rng, n_resamples=ctx.n_resamples)
        out.append(C.bound(
            f"S9.2[l={l}]", f"sim mean of log chi^{l} - mean field ({mf[j]:.3f})", est, 0.0,
            "below", "THEORY.md S9 (c2) / L5 (c5): the radial O(1/N) floor of the fraction "
            "saturates chi below the linear mean-field growth", n,
            perturbation=C.Perturbation.log("mean-field chi")))
    sizes = (f"vanilla FC (LeCun stem, He-ReLU), one fixed standardised Gaussian batch "
             f"B={x.shape[0]} (D=3072); N={size['s9_width']}: {n} simulations, "
             f"N={size['s9_close_width']}: {close.num_sims} simulations (l <= "
             f"{max(S9_CLOSE_DEPTHS)}); bands: 16-84% over simulations")
    ctx.panel("S9: log chi^l vs the mean field of the sample-variance fraction", "layer l",
              "log chi^l (loc3)",
              caption=f"{sizes}. Mean field: chi^l = (frac(K^1)/frac(K^(l+1)))^(1/2) from the "
                      "kernel iterated on the input batch",
              overlay="log_chi_loc3", network="vanilla") \
        .simulation(res.depth, log_chi, f"N={size['s9_width']}") \
        .simulation(close.depth, close["log_chi_loc3"], f"N={size['s9_close_width']}") \
        .theory(res.depth, mf, "mean field: fraction^(-1/2)")
    ctx.panel("S9: finite-width gap log chi^l - mean field", "layer l",
              "log chi^l - mean-field log chi^l",
              caption=f"{sizes}. S9.1 tests N={size['s9_close_width']} within 0.03 for l in "
                      f"{S9_CLOSE_DEPTHS}; S9.2 tests N={size['s9_width']} below 0 for l >= 50") \
        .simulation(res.depth, log_chi - mf, f"N={size['s9_width']}") \
        .simulation(close.depth, close["log_chi_loc3"] - mf_close,
                    f"N={size['s9_close_width']}") \
        .theory(res.depth, 0.0, "mean field: 0")
    return out
