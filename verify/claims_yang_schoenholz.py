"""Claims Y1–Y7 (Yang & Schoenholz, mean-field resnets): registry entries and their checks.

Two kinds of evidence (THEORY.md §3.7):

* **Iterations** (deterministic): the mean-field recurrences iterated to L = 10^6
  (`theory.meanfield_resnet`) against the closed forms and the phase classifier
  (`theory.phase_classifier`), with the §3.7 rules implemented by
  `theory.yang_schoenholz.phase_consistency` (exponents within 0.02, offset fit below 0.3,
  polynomial rates within 2%, summability slope below -1.05, sqrt-log ratio within 1%).
  Criteria are `C.exact` / `C.holds`.
* **Finite width** (stochastic): full resnets simulated with the backward pass
  (`EngineOptions(backward=True)`), one fixed batch of B inputs of unit mean square
  (``p^0 = 1``) used by every network. Per network, ``log(chi^0/chi^L)`` is
  ``log_grad_sq_input - log_grad_sq_x[L]`` (both batch averages of one cotangent draw per
  input), ``log p^l = log nu2_signal_x`` (batch mean of ``|x_a^l|^2 / N``). A batch of B inputs
  averages the per-input fluctuations of one network, so the same expectation is estimated
  with a smaller variance (the B=1 values below are upper bounds of the finite-width biases).

Finite-width allowances are derived in `theory.yang_schoenholz` (not tuned; the checks read
them through their theory entries): for one residual block, the squared-norm
ratio ``X = |x + y|^2/|x|^2`` (forward; backward likewise with ``g``) is, with gradient
independence, ``X = 1 + 2 Z sqrt(s/N) + s chi2_N/N`` with ``E s = r`` (the mean-field increment)
and ``Var s / r^2 = K/M`` (``K = E phi^4/V^2 - 1`` forward, ``3 E phi'^4/V'^2 - 1`` backward;
ReLU: 5 and 5). Hence ``Var X = 4r/N + r^2(K/M + 2/N)`` and the delta method gives the negative
bias ``E log X - log(1 + r) = -Var X / (2 (1+r)^2)`` per layer:
`theory.yang_schoenholz.log_ratio_bias_terms`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from simulate import EngineOptions, spec
from simulate.results import SimulationResults
from theory import meanfield_resnet as mf
from theory import phase_classifier as pc
from theory import yang_schoenholz as ys
from theory.derivation import YANG_SCHOENHOLZ
from theory.meanfield_resnet import ResNetParams
from theory.phase_classifier import PhasePrediction
from verify import criteria as C
from verify import stats
from verify.claims_labatie import depth_index
from verify.context import Context
from verify.registry import Mutation, Theory, claim, nearby
from verify.stats import Estimate

# --------------------------------------------------------------------------------------------
# Shared sizes
# --------------------------------------------------------------------------------------------
#: Iteration depth of every deterministic criterion (THEORY.md §3.7: tolerances hold at 10^6).
L_ITER = 10**6

#: Finite-width sizes. ``N``: stream width (= hidden width unless width variation); ``B``: inputs
#: per network; ``relu_L``/``tanh_L``: depths of the baseline runs (THEORY.md Y1 (b));
#: ``relu_sims``/``tanh_sims``: networks of the baseline runs (the ReLU one is shared by Y1 and
#: Y7's constant-width schedule).
FW_SIZES = {
    "quick": {"N": 500, "B": 32, "relu_L": 30, "tanh_L": 100, "relu_sims": 30, "tanh_sims": 12},
    "standard": {"N": 500, "B": 32, "relu_L": 30, "tanh_L": 100, "relu_sims": 40,
                 "tanh_sims": 30},
    "paper": {"N": 1000, "B": 32, "relu_L": 30, "tanh_L": 100, "relu_sims": 100,
              "tanh_sims": 100},
}


def _sizes(extra: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f: {**FW_SIZES[f], **extra.get(f, {})} for f in ("quick", "standard", "paper")}


# --------------------------------------------------------------------------------------------
# Inputs and runs
# --------------------------------------------------------------------------------------------
def shared_gaussian(ctx: Context, shape: tuple[int, ...], tag: str) -> np.ndarray:
    """I.i.d. N(0, 1) draws of ``shape`` for (run seed, tag), identical in every claim.

    Unlike `Context.fixed_inputs` there is no per-feature standardisation over the batch (which
    would centre a batch of one to zero and correlate small batches).
    """
    key = zlib.crc32(f"ys-inputs/{tag}/{shape}".encode())
    ss = np.random.SeedSequence(ctx.seed, spawn_key=(key,))
    return np.random.Generator(np.random.PCG64(ss)).standard_normal(shape)


def unit_inputs(ctx: Context, batch: int, width: int, tag: str = "ys") -> np.ndarray:
    """A fixed batch ``(B, N)`` of Gaussian inputs, each row rescaled to mean square 1 (p^0=1)."""
    x = shared_gaussian(ctx, (batch, width), tag)
    return x / np.sqrt(np.mean(x * x, axis=1, keepdims=True))


def equicorrelated_inputs(ctx: Context, batch: int, width: int, e0: float,
                          tag: str = "ys-pairs") -> np.ndarray:
    """``B`` inputs of dimension N with ``|x_a|^2/N = 1`` and every pairwise cosine ``e0``.

    ``x_a = sqrt(N)(sqrt(e0) u_0 + sqrt(1 - e0) u_a)`` with orthonormal ``u_0..u_B`` (QR of a
    fixed Gaussian draw); requires ``0 <= e0 <= 1`` and ``B + 1 <= N``.
    """
    if not 0.0 <= e0 <= 1.0:
        raise ValueError(f"e0={e0!r} must lie in [0, 1]")
    if batch + 1 > width:
        raise ValueError(f"batch={batch} needs width >= batch + 1, got {width}")
    q, _ = np.linalg.qr(shared_gaussian(ctx, (batch + 1, width), tag).T)
    u = q.T
    return math.sqrt(width) * (math.sqrt(e0) * u[0] + math.sqrt(1.0 - e0) * u[1:])


def backward_run(ctx: Context, size: Mapping[str, Any], activation: str, depth: int,
                 num_sims: int, name: str, hidden_widths: Sequence[int] | None = None,
                 **betas: float) -> SimulationResults:
    """Full resnet (sigma^2 = 1, no biases) with the backward pass on the shared input batch."""
    N = size["N"]
    net = spec.full_resnet(N, depth, activation, hidden_widths=hidden_widths, **betas)
    x = unit_inputs(ctx, size["B"], N)
    return ctx.simulate(net, x, num_sims=num_sims, name=name,
                        options=EngineOptions(backward=True, tangent=False))


def baseline_run(ctx: Context, size: Mapping[str, Any], activation: str) -> SimulationResults:
    """The shared baseline run (beta = 0) of Y1/Y2/Y7 for ``activation``."""
    L = size[f"{activation}_L"]
    return backward_run(ctx, size, activation, L, size[f"{activation}_sims"],
                        f"full_resnet {activation} L={L} (baseline)")


def log_grad_ratio(res: SimulationResults) -> np.ndarray:
    """Per network ``log(chi^0/chi^L)`` = log_grad_sq_input - log_grad_sq_x at l = L."""
    return res["log_grad_sq_input"] - res["log_grad_sq_x"][:, -1]


def grad_ratio_by_depth(res: SimulationResults) -> np.ndarray:
    """Per network ``G_l = log(chi^0/chi^l)`` at l = 0 and the measured depths, shape
    ``(n_sims, 1 + n_depths)`` (column 0 is 0): log_grad_sq_input - log_grad_sq_x[l].

    One backward pass from depth L gives every G_l: the per-block increments of the gradient
    norm do not depend on the depth the cotangent starts from (gradient independence).
    """
    g = res["log_grad_sq_input"][:, None] - res["log_grad_sq_x"]
    return np.concatenate([np.zeros((g.shape[0], 1)), g], axis=1)


def geometric_widths(N: int, m_min: int, depth: int) -> tuple[int, ...]:
    """Decaying hidden widths ``M_l = round(N (m_min/N)^((l-1)/(L-1)))``, l = 1..L."""
    if depth == 1:
        return (int(N),)
    t = np.arange(depth) / (depth - 1)
    return tuple(int(m) for m in np.round(N * (m_min / N) ** t))


# --------------------------------------------------------------------------------------------
# Finite-width allowances: derived in theory.yang_schoenholz (section "predictions used by the
# Y checks"), read by the checks through their theory entries (``th.backward_bias`` ...).
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Estimates across depth and combined (intersection-union) criteria
# --------------------------------------------------------------------------------------------
def _percentile_estimates(values: np.ndarray, reps: np.ndarray, n: int, level: float
                          ) -> list[Estimate]:
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2], axis=0)
    se = reps.std(axis=0, ddof=1)
    return [Estimate(float(v), float(s), (float(a), float(b)), level, "percentile", n)
            for v, s, a, b in zip(values, se, lo, hi, strict=True)]


def depthwise_mean_estimates(data: np.ndarray, rng: np.random.Generator, *,
                             n_resamples: int = 2000, level: float = 0.99) -> list[Estimate]:
    """Sim mean of every column of ``data`` (``(n_sims, D)``) with a percentile bootstrap
    (simulations resampled jointly for all columns; multinomial weights, vectorised)."""
    data = np.asarray(data, dtype=np.float64)
    n = data.shape[0]
    w = rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples) / n
    return _percentile_estimates(data.mean(axis=0), w @ data, n, level)


def depthwise_diff_estimates(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *,
                             n_resamples: int = 2000, level: float = 0.99) -> list[Estimate]:
    """Difference of sim means ``mean(a) - mean(b)`` per column for two *independent* samples
    ``a`` (``(n_a, D)``) and ``b`` (``(n_b, D)``), each resampled on its own."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    wa = rng.multinomial(a.shape[0], np.full(a.shape[0], 1.0 / a.shape[0]),
                         size=n_resamples) / a.shape[0]
    wb = rng.multinomial(b.shape[0], np.full(b.shape[0], 1.0 / b.shape[0]),
                         size=n_resamples) / b.shape[0]
    return _percentile_estimates(a.mean(axis=0) - b.mean(axis=0), wa @ a - wb @ b,
                                 min(a.shape[0], b.shape[0]), level)


def _iut_pvalues(estimates: Sequence[Estimate], predictions: Sequence[float],
                 tolerances: Sequence[float]) -> tuple[float, float, list[tuple[float, float]]]:
    pv = [stats.equivalence_pvalues(e, float(p), float(t))
          for e, p, t in zip(estimates, predictions, tolerances, strict=True)]
    return max(p for p, _ in pv), min(1.0, len(pv) * min(f for _, f in pv)), pv


def all_within(cid: str, description: str, estimates: Sequence[Estimate],
               predictions: Sequence[float], tolerances: Sequence[float], labels: Sequence[str],
               reason: str, n_sims: int, *,
               perturb: Callable[[float], Sequence[float]] | None = None, what: str = "",
               ) -> C.Criterion:
    """One criterion "every ``|estimate_k - prediction_k| <= tolerance_k``".

    PASS needs every component's TOST to pass: the intersection-union test, ``p_pass = max_k
    p_pass_k`` (exact level, no correction needed). FAIL: ``p_fail = min(1, K min_k
    p_fail_k)`` (Bonferroni over the K components, then Holm across the run). The estimate
    shown is that of the least-decided component.

    perturb: ``perturb(delta)`` returns the K predictions of the theory wrong by a relative
    error ``delta`` (the predicted curve x (1 + delta), or the deviation from a limit, or a
    zero difference shifted by ``delta`` x its scale; ``what`` says which). The criterion then
    carries a custom `C.Perturbation` that re-runs the intersection-union test against the
    perturbed predictions and returns its ``(p_pass, p_fail)``.
    """
    if not (len(estimates) == len(predictions) == len(tolerances) == len(labels)) or not labels:
        raise ValueError("all_within needs equally long, non-empty sequences")
    p_pass, p_fail, pv = _iut_pvalues(estimates, predictions, tolerances)
    k = int(np.argmin([f for _, f in pv])) if p_fail < 1e-3 else int(
        np.argmax([p for p, _ in pv]))
    pert = None
    if perturb is not None:
        pert = C.Perturbation.custom(
            lambda d: _iut_pvalues(estimates, perturb(d), tolerances)[:2], what)
    return C.Criterion(cid, f"{description} [worst: {labels[k]}]", "equivalence",
                       float(predictions[k]), estimates[k], float(tolerances[k]), reason,
                       n_sims, p_pass, p_fail, perturbation=pert)


def _inconclusive(cid: str, description: str, value: float, reason: str) -> C.Criterion:
    """A deterministic criterion that cannot be decided (p_pass = p_fail = 1)."""
    return C.Criterion(cid, description, "holds", None, Estimate.exact(value), None, reason,
                       0, 1.0, 1.0)


# --------------------------------------------------------------------------------------------
# Iteration criteria
# --------------------------------------------------------------------------------------------
PARAM_NAMES = ("sigma_w2", "sigma_v2", "sigma_b2", "sigma_a2", "beta_w", "beta_v", "beta_b",
               "beta_a")


def predict(th: Theory, params: ResNetParams) -> pc.PhasePrediction:
    """``th.classify`` on the fields of ``params`` (activation, architecture, sigmas, betas)."""
    return th.classify(params.activation, params.architecture,
                       **{n: float(getattr(params, n)) for n in PARAM_NAMES})


def iterate_cells(th: Theory, cells: Sequence[ResNetParams], L: int = L_ITER) -> list[Any]:
    """``th.iterate`` (`theory.yang_schoenholz.iterate_cells`): every cell to ``L`` with the
    §3.7 checkpoints (8 per decade from 100)."""
    return th.iterate(list(cells), L)


RULE_REASON = ("THEORY.md §3.7 at L = 10^6: exponents within 0.02 (offset fit G = A L^s + B "
               "below 0.3), polynomial classes dG/dlogL within 2%, Θ(1) classes: slope of "
               "log(G_L - G_(L-1)) below -1.05, sqrt-log class: dG/dlogL ratio over the last "
               "decade within 1%; where the classifier derives a power-law transient L^-ν, a "
               "transient-corrected limit with monotone approach (phase_consistency)")


def quantity_criterion(cid: str, what: str, qc: ys.QuantityCheck) -> C.Criterion:
    """A deterministic criterion from one `phase_consistency` comparison."""
    desc = f"{what}: {qc.rule}"
    if qc.status == "inconclusive":
        return _inconclusive(cid, f"{desc} = {qc.estimate:.4g} ({qc.how})", qc.estimate,
                             RULE_REASON)
    if qc.how == "raw" and qc.tolerance > 0:
        return C.exact(cid, desc, qc.estimate, qc.target, qc.tolerance, RULE_REASON)
    if qc.how == "raw":
        return C.holds(cid, f"{desc} = {qc.estimate:.4f} < {qc.target:g}", qc.passed,
                       RULE_REASON, value=qc.estimate)
    return C.holds(cid, f"{desc}: raw {qc.estimate:.4f}, transient-corrected "
                   f"{qc.extrapolated:.4f} vs {qc.target:.4f} ± {qc.tolerance:.3g} ({qc.how})",
                   qc.passed, RULE_REASON, value=qc.extrapolated)


def cell_label(p: ResNetParams) -> str:
    """Short label of an iteration cell (non-default parameters only)."""
    parts = [p.activation if p.architecture == "full" else f"{p.activation} reduced"]
    for n in ("sigma_v2", "sigma_w2"):
        if getattr(p, n) != 1.0:
            parts.append(f"{n[6]}²={getattr(p, n):g}")
    for n in ("sigma_a2", "sigma_b2"):
        if getattr(p, n) != 0.0:
            parts.append(f"σ{n[6]}²={getattr(p, n):g}")
    for n in ("beta_v", "beta_w", "beta_a", "beta_b"):
        v = getattr(p, n)
        if v != 0.0 and not (n == "beta_v" and p.architecture == "reduced"):
            parts.append(f"β{n[5]}={v:g}")
    return ",".join(parts)


# --------------------------------------------------------------------------------------------
# Mutation helpers (wrong classifiers)
# --------------------------------------------------------------------------------------------
Classifier = Callable[..., PhasePrediction]


def scaled_threshold_classifier(scale: float, classify: Classifier = pc.classify
                                ) -> Classifier:
    """``classify`` with its thresholds at ``1/scale`` (betas multiplied by ``scale``):
    e.g. scale 1.25 moves U = 1 to U = 0.8 (a wrong theory, for mutations)."""
    def wrong(activation: str, architecture: str = "full", **kw: float) -> PhasePrediction:
        kw = dict(kw)
        kw["beta_v"] = kw.get("beta_v", 0.0) * scale
        kw["beta_w"] = kw.get("beta_w", 0.0) * scale
        return classify(activation, architecture, **kw)
    return wrong


def edited_classifier(edit: Callable[[PhasePrediction, str, str, dict], PhasePrediction],
                      classify: Classifier = pc.classify) -> Classifier:
    """``classify`` with its predictions post-edited by ``edit(pred, activation, arch,
    params)`` (a wrong theory, for mutations)."""
    def wrong(activation: str, architecture: str = "full", **kw: float) -> PhasePrediction:
        return edit(classify(activation, architecture, **kw), activation, architecture, kw)
    return wrong


def _u_of(arch: str, kw: Mapping[str, float]) -> float:
    return kw.get("beta_w", 0.0) + (kw.get("beta_v", 0.0) if arch == "full" else 0.0)


# --------------------------------------------------------------------------------------------
# Figure panels of the iteration criteria (Y2–Y5; plain data, drawn by reports/)
# --------------------------------------------------------------------------------------------
#: Legend labels of the classes of the gradient ratio χ^0/χ^L = exp(G_L), in the order of
#: `theory.phase_classifier.G_CLASSES` (a class's map code is its index there).
G_CLASS_LABELS = {
    "exp_power": "exp(Θ(L^k)): G ~ L^k",
    "log": "polynomial Θ(L^c): G ~ c log L",
    "sqrt_log": "exp(Θ(√log L))",
    "bounded": "Θ(1): G bounded",
}

#: One point of a predicted-vs-iterated panel: (group label, predicted, iterated, tolerance).
RatePoint = tuple[str, float, float, float]


def check_value(qc: ys.QuantityCheck) -> float:
    """The iterated value a `phase_consistency` comparison judged: the raw local rate, or the
    transient-corrected limit where the raw value needed the extrapolation."""
    return float(qc.estimate if qc.how == "raw" else qc.extrapolated)


def is_one_sided(qc: ys.QuantityCheck) -> bool:
    """A Θ(1) (summability) comparison: 'slope below the target', not 'within a tolerance'."""
    return qc.tolerance == 0.0


def rate_points(group: str, qc: ys.QuantityCheck) -> RatePoint:
    """The two-sided comparison ``qc`` as a predicted-vs-iterated point (undecided cells, whose
    asymptotic regime is not reached at 10^6, go to their own group)."""
    if qc.status == "inconclusive":
        group = "undecided (asymptotics not reached at 10^6)"
    return (group, float(qc.target), check_value(qc), float(qc.tolerance))


def rates_panel(ctx: Context, title: str, points: Sequence[RatePoint], caption: str) -> None:
    """Predicted (x) vs numerically iterated (y) rates, one marker set per group with bars of
    ± the criterion's tolerance (a point passes iff its bar meets the line), and the line
    iterated = predicted as the theory curve. No-op without points."""
    if not points:
        return
    p = ctx.panel(title, "predicted (phase classifier / closed form)",
                  "iterated mean-field recursion, L = 10^6", caption=caption)
    for group in dict.fromkeys(g for g, *_ in points):
        sel = [(x, y, t) for g, x, y, t in points if g == group]
        x, y, t = (np.array(v, dtype=float) for v in zip(*sel, strict=True))
        p.points(x, y, group, lo=y - t, hi=y + t)
    vals = np.array([v for _, x, y, _ in points for v in (x, y)], dtype=float)
    lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
    pad = 0.05 * max(hi - lo, 0.1)
    p.theory([lo - pad, hi + pad], [lo - pad, hi + pad], "iterated = predicted")


def summability_panel(ctx: Context, title: str, items: Sequence[tuple[str, str, float]],
                      caption: str, threshold: float = -1.05) -> None:
    """Θ(1) classes: iterated slope of log(increments) per cell (x = cell number, one marker set
    per group) against the summability threshold (theory line). ``items``: (group, cell label,
    slope). The caption lists the cells in order. No-op without items."""
    if not items:
        return
    cells = "; ".join(f"{k + 1} = {lab}" for k, (_, lab, _) in enumerate(items))
    p = ctx.panel(title, "cell number", "slope of log(increment) at L = 10^6",
                  caption=f"{caption} Cells: {cells}.")
    for group in dict.fromkeys(g for g, _, _ in items):
        idx = [k for k, (g, _, _) in enumerate(items) if g == group]
        p.points(np.array(idx, dtype=float) + 1, np.array([items[k][2] for k in idx]), group)
    p.theory([0.5, len(items) + 0.5], threshold, f"summability threshold {threshold:g}")


ITERATION_CAPTION = (
    "No network is simulated here: the 'simulation' markers are the mean-field recursion "
    "iterated numerically to L = 10^6 (the realised side the criterion compares), the "
    "theory line is the classifier's or the closed form's prediction. Bars: ± the criterion's "
    "tolerance (§3.7); transient-corrected limits are shown where the check used them.")


# ============================================================================================
# Y1
# ============================================================================================
Y1_ITER_CELLS = (
    ("tanh", ResNetParams()),
    ("tanh σa²=1", ResNetParams(sigma_a2=1.0)),
    ("tanh reduced", ResNetParams(architecture="reduced")),
    ("relu", ResNetParams(activation="relu")),
    ("relu σv²=2,σw²=0.5", ResNetParams(activation="relu", sigma_v2=2.0, sigma_w2=0.5)),
    ("relu reduced σw²=2", ResNetParams(activation="relu", architecture="reduced",
                                        sigma_w2=2.0)),
)


# Wrong theories (mutations) are transformations of the true prediction, passed in as ``base``
# by the decorator (functools.partial), so that no check or helper reads theory/ directly.
def _G_tanh_scaled(base: Callable[..., Any], factor: float, activation: str, L: Any, *a: Any,
                   **kw: Any) -> np.ndarray:
    g = base(activation, L, *a, **kw)
    return g * factor if activation == "tanh" else g


def _G_relu_linearised(base: Callable[..., Any], activation: str, L: Any, sigma_v2: Any = 1.0,
                       sigma_w2: Any = 1.0, sigma_a2: Any = 0.0, architecture: str = "full"
                       ) -> np.ndarray:
    if activation != "relu":
        return base(activation, L, sigma_v2, sigma_w2, sigma_a2, architecture)
    v = 1.0 if architecture == "reduced" else np.asarray(sigma_v2, float)
    return np.asarray(L, float) * v * np.asarray(sigma_w2, float) / 2


def _G_with_V_for_Vprime(trajectory: Callable[..., Any], params: ResNetParams, depth: int
                         ) -> np.ndarray:
    tr = trajectory(params, depth)
    sw = params.sigma_w2 * np.arange(1, depth + 1, dtype=float) ** (-params.beta_w)
    return np.concatenate([[0.0], np.cumsum(np.log1p(tr.sigma_v2_l[1:] * sw * tr.V[1:]))])


def _log_p_relu_V_equals_q(base: Callable[..., Any], params: ResNetParams, depth: int
                           ) -> np.ndarray:
    if params.activation != "relu":
        return base(params, depth)
    l = np.arange(1, depth + 1, dtype=float)
    c = params.sigma_v2 * l ** (-params.beta_v) * params.sigma_w2 * l ** (-params.beta_w)
    return math.log(params.p0) + np.concatenate([[0.0], np.cumsum(np.log1p(c))])


Y1_SIZES = _sizes({
    "quick": {"bias_N": 50, "bias_L": 30, "bias_sims": 400},
    "standard": {"bias_N": 50, "bias_L": 30, "bias_sims": 1000},
    "paper": {"bias_N": 50, "bias_L": 30, "bias_sims": 4000},
})

#: Model allowance on G_L and log p^l at finite width beyond the derived bias (issue 14: was
#: THEORY.md's 3%, 20-30 standard errors wide): Y1.2 1% (se <= 0.16% of G_L at quick),
#: Y1.3 and Y2.4 2% (se up to 0.35% of the log growth: log-normal ReLU p, 20 sims of Y2.4).
G_REL_TOL = {"Y1.2": 0.01, "Y1.3": 0.02, "Y2.4": 0.02}

G_TOL_REASON = ("the derived O(L/N) delta-method bias A = sum_l (4r_l/N + r_l^2(K_l/M + "
                "2/N))/(2(1+r_l)^2) of the log of each block's gradient-norm ratio is negative "
                "and, for a batch of B inputs, lies between -A (one input) and 0: the prediction "
                "is shifted to G_L - A/2 and the band is ± A/2 plus a model allowance of "
                "{rel:.0%} of G_L (THEORY.md: 3%; tightened to about 6 standard errors at quick, "
                "issue 14)")


@claim(
    "Y1",
    title="Baseline resnets: tanh exp(Θ(√L)), ReLU exp(Θ(L)) gradient explosion, with constants",
    paper=YANG_SCHOENHOLZ,
    theory={
        "G_asymptotic": ys.baseline_G,
        "p_asymptotic": ys.tanh_p_asymptotic,
        "G_meanfield": ys.meanfield_G,
        "log_p_meanfield": ys.meanfield_log_p,
        "log_p_bias": ys.log_p_jensen_bias,
        "trajectory": mf.trajectory,
        "backward_bias": ys.backward_bias_terms,
        "forward_bias": ys.forward_bias_terms,
        "iterate": ys.iterate_cells,
    },
    sizes=Y1_SIZES,
    mutations=[
        Mutation("tanh coefficient (4/3)√(2/π) -> √(2/π) (∫sech⁴ = 4/3 -> 1)",
                 {"G_asymptotic": functools.partial(_G_tanh_scaled, ys.baseline_G, 0.75)}),
        Mutation("ReLU G_L = L log(1+c) -> L c",
                 {"G_asymptotic": functools.partial(_G_relu_linearised, ys.baseline_G)}),
        Mutation("gradient factor 1 + σv²σw²V'(q) -> 1 + σv²σw²V(q)",
                 {"G_meanfield": functools.partial(_G_with_V_for_Vprime, mf.trajectory)}),
        Mutation("ReLU forward V(q) = q/2 -> q",
                 {"log_p_meanfield": functools.partial(_log_p_relu_V_equals_q,
                                                       ys.meanfield_log_p)}),
        Mutation("no finite-width bias of E log p (E log p = log p_MF)",
                 {"log_p_bias": lambda params, depth, N: np.zeros(depth + 1)}),
        Mutation("tanh p ~ (σv² + σa²) L -> σv² L",
                 {"p_asymptotic": lambda activation, L, sigma_v2=1.0, sigma_a2=0.0,
                  architecture="full": ys.tanh_p_asymptotic(activation, L, sigma_v2, 0.0,
                                                            architecture)}),
        nearby("tanh constant of G_L/√L 10% low (∫sech⁴ = 4/3 -> 6/5)",
               {"G_asymptotic": functools.partial(_G_tanh_scaled, ys.baseline_G, 0.9)},
               fails_at="quick"),
    ],
    criteria={
        "Y1.1": "iteration to L = 10^6: tanh G_L/√L within 1% of (4/3)√(2/π)σv²σw/√(σv²+σa²) "
                "(full, with a-bias, reduced), p^L/((σv²+σa²)L) within 1%; ReLU G_L = "
                "L log(1+c) exactly (float rounding 1e-9)",
        "Y1.2": "finite width (N = M = 500, B inputs): sim mean of log(χ^0/χ^L) within 1% of "
                "the iterated G_L (THEORY.md: 3%) around G_L shifted by the derived negative "
                "O(L/N) bias, -A/2 ± A/2 (tanh L = 100, ReLU L = 30)",
        "Y1.3": "ReLU: sim mean of log p^l against log p^l_MF at l = L/2, L within 2% of the "
                "log growth (THEORY.md: 3%) around log p_MF shifted by the derived negative "
                "O(l/N) bias, -A/2 ± A/2; [bias]: at small width "
                "(N = M = 50, L = 30, one input) E log p^L - log p_MF^L is negative, between 0 "
                "and twice the derived delta-method bias (-0.5 against a per-network sd of 1)",
    },
    setup="Iterations: theory.meanfield_resnet.iterate to 10^6. Finite width: full resnets "
          "x <- x + V phi(W x), σv² = σw² = 1, no biases, N = M = 500, one fixed batch of B "
          "unit-norm Gaussian inputs, backward pass with one N(0, I) cotangent per input; "
          "log(χ^0/χ^L) = log_grad_sq_input - log_grad_sq_x[L], log p^l = log nu2_signal_x.",
    caveats="Finite-width values carry O(L/N) biases (gradient independence is accurate here: "
            "each block has its own W, V). ReLU p^l is log-normal across networks: compare "
            "E log p, not log E p.",
)
def _y1(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    out: list[C.Criterion] = []
    # (c1) iterations
    results = iterate_cells(th, [p for _, p in Y1_ITER_CELLS])
    for (label, p), r in zip(Y1_ITER_CELLS, results, strict=True):
        L = int(r.L[-1])
        kw = {"sigma_v2": p.sigma_v2, "sigma_w2": p.sigma_w2, "sigma_a2": p.sigma_a2,
              "architecture": p.architecture}
        pred = float(np.asarray(th.G_asymptotic(p.activation, L, **kw)))
        if p.activation == "tanh":
            out.append(C.exact(
                f"Y1.1[G,{label}]", f"iterated G_L/√L at L = {L:.0e} vs the closed form",
                r.G[-1] / math.sqrt(L), pred / math.sqrt(L), 0.01 * abs(pred) / math.sqrt(L),
                "THEORY.md Y1 (c1): 1% at L = 10^6 (early layers add an O(log L) offset, "
                "0.25% of G here)"))
            pp = th.p_asymptotic(p.activation, L, sigma_v2=p.sigma_v2, sigma_a2=p.sigma_a2,
                                 architecture=p.architecture)
            out.append(C.exact(
                f"Y1.1[p,{label}]", f"iterated p^L/L at L = {L:.0e} vs (σv²+σa²)",
                math.exp(r.log_p[-1]) / L, pp / L, 0.01 * pp / L,
                "THEORY.md Y1 (a), 1% as for G: the saturation correction V = 1 - √(2/(πq)) "
                "adds O(√L) to p (0.2% at 10^6)"))
        else:
            out.append(C.exact(
                f"Y1.1[G,{label}]", f"iterated G_L/L at L = {L:.0e} vs log(1+c)",
                r.G[-1] / L, pred / L, 1e-9 * abs(pred) / L,
                "THEORY.md Y1 (c1): exact (V' = 1/2); 1e-9 relative covers float rounding of "
                "the compensated sum").labelled(
                "identity", "for ReLU V'(q) = 1/2 at every q, so the iterated backward "
                "recursion adds the same increment log(1 + σv²σw²/2) at every block and G_L = "
                "L log(1+c) is that sum in closed form: it holds for any iterate of the "
                "recursion (only float rounding is checked; a wrong closed form still FAILs it)"))
    # (c2) finite width
    rng = ctx.rng("Y1")
    N = size["N"]
    for act in ("tanh", "relu"):
        res = baseline_run(ctx, size, act)
        L = size[f"{act}_L"]
        params = ResNetParams(activation=act)
        G = np.asarray(th.G_meanfield(params, L))
        traj = th.trajectory(params, L)
        allow = float(np.asarray(th.backward_bias(traj, N)).sum())
        est = stats.mean_estimate(log_grad_ratio(res), rng, n_resamples=ctx.n_resamples)
        rel = G_REL_TOL["Y1.2"]
        out.append(C.equivalence(
            f"Y1.2[{act}]", f"sim mean of log(χ^0/χ^L), {act}, N = {N}, L = {L}", est,
            float(G[L]) - allow / 2, rel * abs(float(G[L])) + allow / 2,
            f"{G_TOL_REASON.format(rel=rel)}; A = {allow:.3f}", res.num_sims))
        ctx.panel(f"Y1: log(χ^l/χ^L), {act}, N = {N}", "block l", "log(χ^l/χ^L)") \
            .simulation(res.depth, res["log_grad_sq_x"] - res["log_grad_sq_x"][:, -1:]) \
            .theory(np.arange(L + 1), G[L] - G, "mean field")
        if act == "relu":
            logp_mf = np.asarray(th.log_p_meanfield(params, L))
            fwd = np.cumsum(th.forward_bias(traj, N))
            logp = np.log(res["nu2_signal_x"])
            for l in (L // 2, L):
                j = depth_index(res.depth, l)
                est = stats.mean_estimate(logp[:, j], rng, n_resamples=ctx.n_resamples)
                rel = G_REL_TOL["Y1.3"]
                out.append(C.equivalence(
                    f"Y1.3[l={l}]", f"sim mean of log p^{l}, ReLU, N = {N}", est,
                    float(logp_mf[l]) - float(fwd[l]) / 2,
                    rel * abs(float(logp_mf[l])) + float(fwd[l]) / 2,
                    "THEORY.md Y1 (c3)/§3.7: the derived negative O(l/N) delta-method bias of "
                    f"E log p (A = {fwd[l]:.3f} for one input, between -A and 0 for a batch) "
                    f"shifts the prediction by -A/2, band ± A/2 plus {rel:.0%} of the log growth "
                    "(THEORY.md: 3%; tightened to about 6 standard errors at quick, issue 14)",
                    res.num_sims))
            ctx.panel(f"Y1: log p^l, ReLU, N = {N}", "block l", "log p^l") \
                .simulation(res.depth, logp, "E log p (simulation)") \
                .theory(np.arange(L + 1), logp_mf, "log p mean field")
    # (c3) the sign and size of the finite-width bias, resolved at small width
    Nb, Lb = size["bias_N"], size["bias_L"]
    params = ResNetParams(activation="relu")
    net = spec.full_resnet(Nb, Lb, "relu")
    res = ctx.simulate(net, unit_inputs(ctx, 1, Nb, "ys-bias"), num_sims=size["bias_sims"],
                       options=EngineOptions(tangent=False), name="full_resnet relu small N")
    dev = np.log(res["nu2_signal_x"][:, -1]) - float(np.asarray(
        th.log_p_meanfield(params, Lb))[Lb])
    bias = float(np.asarray(th.log_p_bias(params, Lb, Nb))[Lb])
    est = stats.mean_estimate(dev, rng, n_resamples=ctx.n_resamples)
    out.append(C.equivalence(
        "Y1.3[bias]", f"E log p^L - log p^L_MF, ReLU, N = M = {Nb}, L = {Lb}, one input", est,
        bias, abs(bias),
        "THEORY.md Y1 (c3): the bias is negative and O(l/N); the derived delta-method value "
        f"{bias:.3f} is exact to second order, so the criterion asserts sign and order "
        "(between 0 and twice the derived value)", res.num_sims))
    return out


# ============================================================================================
# Y2
# ============================================================================================
Y2_CELLS = (  # (criterion, params)
    (1, ResNetParams(activation="relu", beta_v=0.5)),
    (1, ResNetParams(activation="relu", beta_v=0.25, beta_w=0.5)),
    (1, ResNetParams(activation="relu", beta_v=0.125, beta_w=0.125)),
    (2, ResNetParams(activation="relu", beta_v=0.5, beta_w=0.5)),
    (2, ResNetParams(activation="relu", beta_v=0.5, beta_w=0.5, sigma_v2=2.0, sigma_w2=2.0)),
    (2, ResNetParams(activation="relu", beta_v=1.0, sigma_b2=1.0, sigma_a2=1.0)),
    (3, ResNetParams(activation="relu", beta_v=1.0, beta_w=0.5)),
    (3, ResNetParams(activation="relu", beta_v=0.75, beta_w=0.5)),
    (3, ResNetParams(activation="relu", beta_v=1.0, beta_w=1.0)),
)
#: Finite-width VV settings (beta_v, beta_w) with U = 0.5, 1, 1.5 (THEORY.md Y2 (c4)).
Y2_FW = ((0.5, 0.0), (0.5, 0.5), (1.0, 0.5))


def _relu_c_doubled(classify: Classifier, activation: str, architecture: str = "full",
                    **kw: float) -> PhasePrediction:
    if activation == "relu":
        kw = {**kw, "sigma_w2": 2.0 * kw.get("sigma_w2", 1.0)}
    return classify(activation, architecture, **kw)


def _G_sum_asymptotic(c: float, U: float, L: Any) -> np.ndarray:
    """Wrong finite-depth G_L: the asymptotic forms of Y2 used at every depth,
    c L^(1-U)/(1-U) (U < 1) and c log L (U = 1); the exact sum for U > 1 (bounded)."""
    La = np.asarray(L, dtype=float)
    if U < 1.0:
        return c * La ** (1.0 - U) / (1.0 - U)
    if U == 1.0:
        with np.errstate(divide="ignore"):
            return np.where(La > 0, c * np.log(np.maximum(La, 1.0)), 0.0)
    out = np.cumsum(np.concatenate([[0.0], np.log1p(c * np.arange(1, int(La.max()) + 1)
                                                    ** (-float(U)))]))
    return out[La.astype(np.int64)]


def _half_U_exponent(pred: pc.PhasePrediction, act: str, arch: str, kw: dict
                     ) -> pc.PhasePrediction:
    U = _u_of(arch, kw)
    if act == "relu" and pred.g_class == "exp_power" and U > 0:
        return dataclasses.replace(pred, g_exponent=1.0 - U / 2)
    return pred


@claim(
    "Y2",
    title="ReLU gradient explosion under variance variation: classes by U = βv + βw",
    paper=YANG_SCHOENHOLZ,
    theory={
        "classify": pc.classify,
        "increment_slope": ys.increment_slope,
        "relu_G_sum": ys.relu_G_sum,
        "relu_c": ys.relu_branch_c,
        "phase_consistency": ys.phase_consistency,
        "local_slopes": mf.local_slopes,
        "trajectory": mf.trajectory,
        "backward_bias": ys.backward_bias_terms,
        "iterate": ys.iterate_cells,
    },
    sizes=_sizes({
        "quick": {"y2_L": 30, "y2_sims": 20},
        # 20 (was 30; make run budget): Y2's mutations FAIL at quick (20 sims, L = 30)
        "standard": {"y2_L": 100, "y2_sims": 20},
        "paper": {"y2_L": 100, "y2_sims": 100},
    }),
    mutations=[
        Mutation("U < 1: exponent 1 - U -> 1 - U/2", {"classify": edited_classifier(
            _half_U_exponent)}),
        Mutation("threshold U = 1 -> U = 0.8", {"classify": scaled_threshold_classifier(1.25)}),
        Mutation("U > 1: increments l^-U -> l^(1-U) (G's exponent for the increment's)",
                 {"increment_slope": lambda U: 1.0 - float(U)}),
        Mutation("ReLU V' = 1/2 -> 1 (c = σv²σw²)",
                 {"classify": functools.partial(_relu_c_doubled, pc.classify),
                  "relu_G_sum": lambda c, U, L: ys.relu_G_sum(2 * c, U, L)}),
        nearby("finite-depth G_L from the asymptotic forms: c L^(1-U)/(1-U) (U < 1), c log L "
               "(U = 1) instead of Σ log(1 + c l^-U)", {"relu_G_sum": _G_sum_asymptotic},
               fails_at="quick"),
        Mutation("G_L = Σ log(1 + c l^-U) -> Σ c l^-U",
                 {"relu_G_sum": lambda c, U, L: np.cumsum(np.concatenate(
                     [[0.0], c * np.arange(1, int(np.max(L)) + 1) ** (-float(U))]))[
                     np.asarray(L, dtype=np.int64)]}),
    ],
    criteria={
        "Y2.1": "U < 1: iterated exponent of G within 0.02 of 1 - U at L = 10^6 (offset fit "
                "below 0.3)",
        "Y2.2": "U = 1: dG/dlogL within 2% of c = σv²σw²/2 (biases do not enter)",
        "Y2.3": "U > 1: local slope of log(G_L - G_(L-1)) within 0.02 of -U",
        "Y2.4": "finite width (N = 500, B inputs), U = 0.5, 1, 1.5: sim mean of log(χ^0/χ^L) "
                "within 2% (THEORY.md: 3%) of G_L = Σ log(1 + c l^-U), shifted by the derived "
                "negative O(L/N) bias, -A/2 ± A/2",
    },
    setup="Iterations to 10^6 (default checkpoints, 8 per decade). Finite width as Y1 "
          "(ReLU full resnets, N = M = 500, no biases) with σv²(l) = l^-βv, σw²(l) = l^-βw.",
    caveats="The exponent of a small power (U = 0.75: 0.25) is read by the offset fit of §3.7.",
)
def _y2(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    out: list[C.Criterion] = []
    points: list[RatePoint] = []
    results = iterate_cells(th, [p for _, p in Y2_CELLS])
    for (k, p), r in zip(Y2_CELLS, results, strict=True):
        label = cell_label(p)
        U = p.beta_v + p.beta_w
        if k == 3:
            slope = float(th.local_slopes(r).inc_slope[-1])
            out.append(C.exact(
                f"Y2.3[{label}]", "local slope of log(G_L - G_(L-1)) at L = 10^6", slope,
                float(th.increment_slope(U)), 0.02,
                "THEORY.md Y2 (c3): 0.02; log(1 + c L^-U) = c L^-U (1 + O(L^-U))"))
            points.append(("Y2.3: slope of log increments (U > 1) vs -U",
                           float(th.increment_slope(U)), slope, 0.02))
            continue
        chk = th.phase_consistency(r, predict(th, p))
        g = next(q for q in chk.checks if q.quantity == "G")
        out.append(quantity_criterion(f"Y2.{k}[{label}]", f"G, U = {U:g}", g))
        points.append(rate_points("Y2.1: exponent of G (U < 1)" if k == 1 else
                                  "Y2.2: dG/dlogL (U = 1) vs c", g))
    rates_panel(ctx, "Y2: iterated vs predicted rates of G_L (ReLU, L = 10^6)", points,
                "Y2.1-Y2.3 on the iteration cells (σv² = σw² = 1 unless stated; biases in "
                "one U = 1 cell): exponent of G for U < 1, dG/dlogL for U = 1, local slope of "
                "log(G_L - G_(L-1)) for U > 1. " + ITERATION_CAPTION)
    rng = ctx.rng("Y2")
    N, L = size["N"], size["y2_L"]
    fw = ctx.panel(f"Y2: G_l = log(χ^0/χ^l) vs depth, ReLU VV, N = {N}", "block l",
                   "log(χ^0/χ^l)",
                   caption="Y2.4 runs (βv, βw) = " + ", ".join(f"({bv:g}, {bw:g})"
                                                              for bv, bw in Y2_FW)
                   + ": per network log(|g^0|²/|g^l|²) of the backward pass from depth L "
                   "(mean and 16-84% band over networks), against the exact mean-field sum "
                   "Σ_(k<=l) log(1 + c k^-U), c = σv²σw²/2. The criterion reads l = L.")
    for bv, bw in Y2_FW:
        U = bv + bw
        res = backward_run(ctx, size, "relu", L, size["y2_sims"],
                           f"full_resnet relu L={L} βv={bv:g} βw={bw:g}", beta_v=bv, beta_w=bw)
        c = th.relu_c(1.0, 1.0)  # σv²σw²V' of the runs (σv² = σw² = 1)
        G = float(np.asarray(th.relu_G_sum(c, U, [L]))[0])
        traj = th.trajectory(ResNetParams(activation="relu", beta_v=bv, beta_w=bw), L)
        allow = float(np.asarray(th.backward_bias(traj, N)).sum())
        est = stats.mean_estimate(log_grad_ratio(res), rng, n_resamples=ctx.n_resamples)
        rel = G_REL_TOL["Y2.4"]
        out.append(C.equivalence(
            f"Y2.4[U={U:g}]", f"sim mean of log(χ^0/χ^L), ReLU βv={bv:g} βw={bw:g}, N = {N}, "
            f"L = {L}", est, G - allow / 2, rel * abs(G) + allow / 2,
            f"{G_TOL_REASON.format(rel=rel)}; A = {allow:.3f}", res.num_sims))
        depths = np.concatenate([[0], res.depth])
        fw.simulation(depths, grad_ratio_by_depth(res), f"U = {U:g} (simulation)")
        fw.theory(depths, np.asarray(th.relu_G_sum(c, U, depths)), f"U = {U:g} (mean field)")
    return out


# ============================================================================================
# Y3
# ============================================================================================
Y3_CELLS = (
    ResNetParams(activation="relu", beta_v=0.5),
    ResNetParams(activation="relu", beta_v=0.5, beta_w=0.5),
    ResNetParams(activation="relu", beta_v=0.5, beta_w=0.5, sigma_a2=1.0),
    ResNetParams(activation="relu", beta_v=0.5, beta_w=0.5, sigma_a2=1.0, beta_a=0.5),
    ResNetParams(activation="relu", beta_v=1.0, beta_w=0.5, sigma_a2=1.0, beta_a=0.5),
    ResNetParams(activation="relu", beta_v=1.0, beta_w=0.5, sigma_a2=1.0, beta_a=1.0),
    ResNetParams(activation="relu", beta_v=1.0, beta_w=0.5, sigma_a2=1.0, beta_a=1.5),
    ResNetParams(activation="relu", beta_v=1.0, beta_w=0.5, sigma_b2=1.0),
    ResNetParams(activation="relu", beta_v=1.0, beta_w=0.5),
)


def _b_source_without_sigma_v(classify: Classifier, activation: str,
                              architecture: str = "full", **kw: float) -> PhasePrediction:
    """Wrong ReLU forward theory: the b-bias source σv²(l) σb²(l)/2 taken to decay as
    l^-βb instead of l^-(βv + βb) (the decay of σv²(l) forgotten), as an a-bias would."""
    sb2 = kw.get("sigma_b2", 0.0)
    if activation != "relu" or sb2 <= 0.0:
        return classify(activation, architecture, **kw)
    src = 0.5 * kw.get("sigma_v2", 1.0) * sb2
    sa2, ba, bb = kw.get("sigma_a2", 0.0), kw.get("beta_a", 0.0), kw.get("beta_b", 0.0)
    kw = {**kw, "sigma_b2": 0.0, "sigma_a2": sa2 + src,
          "beta_a": min(ba, bb) if sa2 > 0.0 else bb}
    return classify(activation, architecture, **kw)


def _sources_ignored(pred: pc.PhasePrediction, act: str, arch: str, kw: dict
                     ) -> pc.PhasePrediction:
    U = _u_of(arch, kw)
    if act == "relu" and abs(U - 1.0) < 1e-9 and pred.p_class in ("power", "power_log"):
        c = kw.get("sigma_v2", 1.0) * kw.get("sigma_w2", 1.0) / 2
        return dataclasses.replace(pred, p_class="power", p_exponent=c)
    return pred


@claim(
    "Y3",
    title="ReLU forward norm p^l under variance variation",
    paper=YANG_SCHOENHOLZ,
    theory={"classify": pc.classify, "phase_consistency": ys.phase_consistency,
            "iterate": ys.iterate_cells},
    sizes={"quick": {}, "standard": {}, "paper": {}},
    mutations=[
        Mutation("threshold U = 1 -> U = 0.8", {"classify": scaled_threshold_classifier(1.25)}),
        nearby("b-bias source decays as l^-βb, not l^-(βv + βb) (σv²(l) forgotten)",
               {"classify": functools.partial(_b_source_without_sigma_v, pc.classify)},
               fails_at="quick"),
        Mutation("U = 1: p ~ l^max(c, 1-β*) -> l^c (sources ignored)",
                 {"classify": edited_classifier(_sources_ignored)}),
        Mutation("β* = min(βa, βv + βb) -> βa (the b-bias does not feed p)",
                 {"classify": lambda activation, architecture="full", **kw: pc.classify(
                     activation, architecture, **{**kw, "sigma_b2": 0.0})}),
    ],
    criteria={
        "Y3.1": "iteration to L = 10^6: the local exponent of p^l (of log p^l for U < 1) within "
                "0.02 of the class exponent; logarithmic classes via the exponent of dp/dlogL "
                "(within 0.02 of 0); bounded: slope of log Δlog p below -1.05",
    },
    setup="ReLU full resnets, σv² = σw² = 1, iterated to 10^6 with a-bias (σa² = 1, βa = 0, "
          "0.5, 1, 1.5) or b-bias (σb² = 1, βb = 0).",
)
def _y3(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    del size
    out = []
    points: list[RatePoint] = []
    bounded: list[tuple[str, str, float]] = []
    for p, r in zip(Y3_CELLS, iterate_cells(th, Y3_CELLS), strict=True):
        pred = predict(th, p)
        chk = th.phase_consistency(r, pred)
        q = next(q for q in chk.checks if q.quantity == "p")
        out.append(quantity_criterion(f"Y3.1[{cell_label(p)}]",
                                      f"p ({pred.p_class}, k = {pred.p_exponent:g})", q))
        if is_one_sided(q):
            bounded.append(("Y3.1: bounded p", cell_label(p), check_value(q)))
        else:
            points.append(rate_points(f"Y3.1: {q.rule} (p {pred.p_class})", q))
    caption = ("Y3.1 on the ReLU iteration cells (σv² = σw² = 1; a- or b-biases as labelled): "
               "the local exponent of p^l (of log p^l for U < 1, of dp/dlogL for log classes; "
               "power classes include the derived 1/log L correction). ")
    rates_panel(ctx, "Y3: iterated vs predicted exponents of p^l (ReLU, L = 10^6)", points,
                caption + ITERATION_CAPTION)
    summability_panel(ctx, "Y3: bounded p^l, slope of log Δlog p (ReLU, L = 10^6)", bounded,
                      "Y3.1, bounded class: the increments of log p must be summable (slope "
                      "below -1.05). " + ITERATION_CAPTION)
    return out


# ============================================================================================
# Y4
# ============================================================================================
Y4_CELLS = (  # (criterion for G, label, params)
    (1, "T-a", ResNetParams()),
    (1, "T-a", ResNetParams(beta_v=0.5)),
    (1, "T-a", ResNetParams(beta_w=0.5)),
    (1, "T-a", ResNetParams(beta_v=0.3, sigma_a2=1.0)),
    (2, "T-a e=1", ResNetParams(beta_v=0.5, sigma_a2=1.0)),
    (3, "T-a e>1", ResNetParams(beta_v=0.75, sigma_a2=1.0)),
    (2, "T-b", ResNetParams(beta_v=0.5, beta_w=0.5, sigma_v2=2.0, sigma_w2=2.0)),
    (2, "T-b q*=0", ResNetParams(beta_v=0.5, beta_w=0.5, sigma_v2=0.5, sigma_w2=0.5)),
    (3, "T-c", ResNetParams(beta_v=0.5, beta_w=1.0)),
    (4, "T-d", ResNetParams(beta_v=1.0)),
    (3, "T-e", ResNetParams(beta_v=1.5)),
    (1, "reduced", ResNetParams(architecture="reduced")),
    (1, "reduced", ResNetParams(architecture="reduced", beta_w=0.5)),
    (2, "reduced", ResNetParams(architecture="reduced", beta_w=1.0, sigma_w2=2.0)),
    (3, "reduced", ResNetParams(architecture="reduced", beta_w=1.5)),
)


def _kappa_scaled(factor: float, pred: PhasePrediction, act: str, arch: str, kw: dict
                  ) -> PhasePrediction:
    if act != "tanh" or not pred.regime.startswith(("T-a", "T-d", "tanh-reduced (βw<1)")):
        return pred
    if pred.g_class == "log":
        return dataclasses.replace(pred, g_exponent=factor * pred.g_exponent,
                                   g_coefficient=factor * pred.g_coefficient)
    return dataclasses.replace(pred, g_coefficient=factor * pred.g_coefficient)


def _tb_without_one_minus_beta(fixed_point: Callable[[float], float],
                               vprime: Callable[[float], float], pred: PhasePrediction,
                               act: str, arch: str, kw: dict) -> PhasePrediction:
    if act != "tanh" or pred.regime != "T-b (q*>0)":
        return pred
    c = kw.get("sigma_v2", 1.0) * kw.get("sigma_w2", 1.0)
    qs = fixed_point(c)
    k = c * vprime(qs) if qs > 0 else c
    return dataclasses.replace(pred, g_exponent=k, g_coefficient=k, q_limit=qs)


def _tanh_like_relu(pred: pc.PhasePrediction, act: str, arch: str, kw: dict
                    ) -> pc.PhasePrediction:
    if act == "tanh" and pred.g_class == "exp_power":
        return dataclasses.replace(pred, g_exponent=max(1.0 - _u_of(arch, kw), 1e-3))
    return pred


def _sqrt_log_as_bounded(pred: pc.PhasePrediction, act: str, arch: str, kw: dict
                         ) -> pc.PhasePrediction:
    if pred.g_class == "sqrt_log":
        return dataclasses.replace(pred, g_class="bounded", g_exponent=0.0, g_coefficient=0.0,
                                   q_limit=math.nan)
    return pred


def _p_linear_in_T_a(pred: pc.PhasePrediction, act: str, arch: str, kw: dict
                     ) -> pc.PhasePrediction:
    if act == "tanh" and pred.regime.startswith("T-a"):
        return dataclasses.replace(pred, p_exponent=1.0)
    return pred


@claim(
    "Y4",
    title="tanh (full, reduced) gradient explosion and forward norm under VV: regimes T-a..T-e",
    paper=YANG_SCHOENHOLZ,
    theory={"classify": pc.classify, "phase_consistency": ys.phase_consistency,
            "iterate": ys.iterate_cells},
    sizes={"quick": {}, "standard": {}, "paper": {}},
    mutations=[
        Mutation("κ: ∫sech⁴ = 4/3 -> 1",
                 {"classify": edited_classifier(functools.partial(_kappa_scaled, 0.75))}),
        nearby("κ 10% low (∫sech⁴ = 4/3 -> 6/5)",
               {"classify": edited_classifier(functools.partial(_kappa_scaled, 0.9))},
               fails_at="quick"),
        Mutation("T-b fixed point q = σv²σw²V(q)/(1-βv) -> σv²σw²V(q)",
                 {"classify": edited_classifier(functools.partial(
                     _tb_without_one_minus_beta, pc.tanh_fixed_point, pc.tanh_Vp_quad))}),
        Mutation("T-a exponent 1 - e -> 1 - U (ReLU's)",
                 {"classify": edited_classifier(_tanh_like_relu)}),
        Mutation("T-d (βv = 1, βw = 0) counted as Θ(1) (boundary on the bounded side)",
                 {"classify": edited_classifier(_sqrt_log_as_bounded)}),
        Mutation("T-a: p ~ l^(1-m) -> l", {"classify": edited_classifier(_p_linear_in_T_a)}),
    ],
    criteria={
        "Y4.1": "power classes (T-a, reduced βw < 1): exponent of G within 0.02 at L = 10^6 "
                "(offset fit below 0.3; slow transients: transient-corrected limit, monotone)",
        "Y4.2": "polynomial classes (T-a e = 1, T-b, reduced βw = 1): dG/dlogL within 2%",
        "Y4.3": "Θ(1) classes (T-a e > 1, T-c, T-e, reduced βw > 1): slope of "
                "log(G_L - G_(L-1)) below -1.05",
        "Y4.4": "T-d: successive dG/dlogL ratio within 1% of √(log L1/log L2)",
        "Y4.5": "p^l class exponents within 0.02 (same rules as Y3)",
    },
    setup="tanh full (σv² = σw² = 1 unless stated, σb = 0) and reduced resnets iterated to "
          "10^6 with tabulated tanh integrals; predictions from the phase classifier (scipy "
          "quad for V, V', independent of the iterator's tables).",
)
def _y4(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    del size
    out = []
    points: list[RatePoint] = []
    bounded: list[tuple[str, str, float]] = []
    groups = {1: "Y4.1: exponent of G", 2: "Y4.2: dG/dlogL", 4: "Y4.4: dG/dlogL ratio (√log)"}
    results = iterate_cells(th, [p for _, _, p in Y4_CELLS])
    for (k, regime, p), r in zip(Y4_CELLS, results, strict=True):
        pred = predict(th, p)
        chk = th.phase_consistency(r, pred)
        label = f"{regime}: {cell_label(p)}"
        for q in chk.checks:
            if q.quantity == "G":
                out.append(quantity_criterion(f"Y4.{k}[{label}]", f"G ({pred.g_class})", q))
            else:
                out.append(quantity_criterion(
                    f"Y4.5[{label}]", f"p ({pred.p_class}, k = {pred.p_exponent:g})", q))
            if is_one_sided(q):
                bounded.append(("Y4.3: G, Θ(1) classes" if q.quantity == "G" else
                                "Y4.5: bounded p", label, check_value(q)))
            else:
                points.append(rate_points(groups.get(k, f"Y4.{k}") if q.quantity == "G" else
                                          "Y4.5: exponent of p", q))
    rates_panel(ctx, "Y4: iterated vs predicted rates, tanh (L = 10^6)", points,
                "Y4.1, Y4.2, Y4.4 (G) and Y4.5 (p) on the tanh iteration cells (full and "
                "reduced resnets, regimes T-a..T-e). " + ITERATION_CAPTION)
    summability_panel(ctx, "Y4: Θ(1) classes, slope of log increments (tanh, L = 10^6)",
                      bounded, "Y4.3 (increments of G) and bounded-p cells of Y4.5 (increments "
                      "of log p): summable iff the slope settles below -1.05. "
                      + ITERATION_CAPTION)
    return out


# ============================================================================================
# Y5
# ============================================================================================
def _theta1_relu_inclusive(conditions: Callable[..., Any], activation: Any, beta_v: Any,
                           beta_w: Any, beta_a: Any = np.inf, sigma_a2: Any = 0.0,
                           sigma_v2: Any = 1.0) -> np.ndarray:
    base = conditions(activation, beta_v, beta_w, beta_a, sigma_a2, sigma_v2)
    relu = np.asarray(beta_v, float) + np.asarray(beta_w, float) >= 1.0
    return np.where(np.asarray(activation) == "relu", relu, base)


def _theta1_tanh_inclusive(conditions: Callable[..., Any], activation: Any, beta_v: Any,
                           beta_w: Any, beta_a: Any = np.inf, sigma_a2: Any = 0.0,
                           sigma_v2: Any = 1.0) -> np.ndarray:
    base = conditions(activation, beta_v, beta_w, beta_a, sigma_a2, sigma_v2)
    return np.where(np.asarray(activation) == "tanh", base | (np.asarray(beta_v) >= 1.0), base)


def _theta1_tanh_no_forward_growth(conditions: Callable[..., Any], activation: Any,
                                   beta_v: Any, beta_w: Any, beta_a: Any = np.inf,
                                   sigma_a2: Any = 0.0, sigma_v2: Any = 1.0) -> np.ndarray:
    """Wrong tanh T-a condition: e = βv + βw/2 + (1 - m)/2 > 1 -> βv + βw/2 > 1: the
    gradient increment σv²σw²V'(q) ~ l^-(βv+βw) (σw² q)^-1/2 taken with q = Θ(l^-βw), i.e.
    the forward growth p ~ l^(1-m) (Y4 (a)) forgotten."""
    base = conditions(activation, beta_v, beta_w, beta_a, sigma_a2, sigma_v2)
    bv = np.asarray(beta_v, float)
    bw = np.asarray(beta_w, float)
    ba = np.where(np.asarray(sigma_a2, float) > 0, np.asarray(beta_a, float), np.inf)
    m = np.minimum(bv, ba)
    ta = (m < 1.0) & (bw < 1.0 - m)
    wrong = np.where(ta, bv + bw / 2 > 1.0, base)
    return np.where(np.asarray(activation) == "tanh", wrong, base)


@claim(
    "Y5",
    title="VV can bring the explosion down to Θ(1): explicit conditions, phase diagram",
    paper=YANG_SCHOENHOLZ,
    theory={"classify": pc.classify, "theta1_conditions": ys.theta1_conditions,
            "phase_consistency": ys.phase_consistency, "local_slopes": mf.local_slopes,
            "grid_params": ys.grid_params, "iterate": ys.iterate_cells,
            "g_classes": pc.G_CLASSES},
    sizes={
        "quick": {"grid_step": 0.5, "grid_sigma2": (1.0,)},
        "standard": {"grid_step": 0.25, "grid_sigma2": (1.0,)},
        "paper": {"grid_step": 0.25, "grid_sigma2": (0.5, 1.0, 2.0)},
    },
    mutations=[
        Mutation("classifier threshold U = 1 -> U = 0.8 (betas x 1.25)",
                 {"classify": scaled_threshold_classifier(1.25)}),
        Mutation("ReLU Θ(1) iff βv + βw > 1 -> >= 1 (U = 1 counted as Θ(1))",
                 {"theta1_conditions": functools.partial(_theta1_relu_inclusive,
                                                         ys.theta1_conditions)}),
        Mutation("tanh Θ(1) iff βv > 1 -> >= 1 (T-d counted as Θ(1))",
                 {"theta1_conditions": functools.partial(_theta1_tanh_inclusive,
                                                         ys.theta1_conditions)}),
        nearby("tanh T-a Θ(1) iff e = βv + βw/2 + (1-m)/2 > 1 -> βv + βw/2 > 1 (forward growth "
               "of q forgotten)",
               {"theta1_conditions": functools.partial(_theta1_tanh_no_forward_growth,
                                                       ys.theta1_conditions)},
               fails_at="quick"),
    ],
    criteria={
        "Y5.1": "on (βv, βw) ∈ [0, 2]² (step 0.5 quick, 0.25 standard; both activations; σa² "
                "∈ {0, 1}; reduced resnets over βw), every iterated cell matches the classifier "
                "under the §3.7 rules (boundary cells by the polynomial/logarithmic rule); "
                "[Θ(1) conditions]: the explicit conditions of Y5 (a) hold exactly on the full "
                "cells whose iterated increments are summable (slope below -1.05)",
    },
    setup="theory.yang_schoenholz.grid_params(step, sigma2): full resnets σv² = σw² = σ², "
          "σb = 0, σa² ∈ {0, 1} with βa = 0, plus reduced resnets; iterated to 10^6.",
)
def _y5(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    out = []
    points: list[RatePoint] = []
    map_s2 = 1.0 if 1.0 in size["grid_sigma2"] else size["grid_sigma2"][0]
    map_cells: dict[tuple[float, float], tuple[Any, bool, bool]] = {}
    for s2 in size["grid_sigma2"]:
        cells = th.grid_params(step=size["grid_step"], sigma2=s2)
        results = iterate_cells(th, cells)
        groups: dict[str, list[tuple[ResNetParams, Any]]] = {}
        mismatch = []
        for p, r in zip(cells, results, strict=True):
            chk = th.phase_consistency(r, predict(th, p))
            key = (f"{p.activation} {p.architecture}"
                   + (f", σa²={p.sigma_a2:g}" if p.architecture == "full" else "")
                   + f", σ²={s2:g}")
            groups.setdefault(key, []).append((p, chk))
            for q in chk.checks:
                if not is_one_sided(q):
                    points.append(rate_points(f"{p.activation}: {q.quantity} rates", q))
            if p.architecture == "full":
                summable = bool(th.local_slopes(r).inc_slope[-1] < -1.05)
                cond = bool(np.asarray(th.theta1_conditions(
                    p.activation, p.beta_v, p.beta_w, p.beta_a, p.sigma_a2, p.sigma_v2)))
                if cond != summable:
                    mismatch.append(f"{cell_label(p)} (condition {cond}, iterated {summable})")
                if p.activation == "tanh" and p.sigma_a2 == 1.0 and s2 == map_s2:
                    map_cells[(p.beta_v, p.beta_w)] = (chk, cond, summable)
        for key, items in groups.items():
            bad = [(p, c) for p, c in items if c.status == "fail"]
            unsure = [(p, c) for p, c in items if c.status == "inconclusive"]
            desc = f"{len(items)} cells: iterated rates match the classifier"
            if bad:
                desc += "; failing: " + "; ".join(
                    f"{cell_label(p)} ({c.prediction.regime}: " + ", ".join(
                        f"{q.quantity} {q.estimate:.3f} vs {q.target:.3f}"
                        for q in c.checks if q.status == "fail") + ")" for p, c in bad[:4])
                out.append(C.holds(f"Y5.1[{key}]", desc, False, RULE_REASON, value=len(bad)))
            elif unsure:
                out.append(_inconclusive(
                    f"Y5.1[{key}]", desc + "; undecided: " + "; ".join(
                        cell_label(p) for p, _ in unsure[:4]), len(unsure), RULE_REASON))
            else:
                out.append(C.holds(f"Y5.1[{key}]", desc, True, RULE_REASON, value=0))
        out.append(C.holds(
            f"Y5.1[Θ(1) conditions, σ²={s2:g}]",
            "explicit Θ(1) conditions == summable iterated increments on every full cell"
            + ("; mismatches: " + "; ".join(mismatch[:4]) if mismatch else ""),
            not mismatch,
            "THEORY.md Y5 (a) conditions vs the iteration; summable iff the increments' log-log "
            "slope settles below -1 (§3.7; -1.05 leaves room for the 1/log corrections of the "
            "U = 1, e = 1 boundaries)", value=len(mismatch)))
    rates_panel(ctx, "Y5: iterated vs predicted rates on the (βv, βw) grid (L = 10^6)", points,
                f"Y5.1, every two-sided comparison (G and p) of the grid cells: (βv, βw) in "
                f"[0, 2]² step {size['grid_step']:g}, σ² in {tuple(size['grid_sigma2'])}, "
                "σa² in {0, 1}, full and reduced resnets; Θ(1) cells (one-sided slope tests) "
                "are on the map panel. " + ITERATION_CAPTION)
    _y5_map(ctx, map_cells, map_s2, th.g_classes)
    return out


def _y5_map(ctx: Context, cells: Mapping[tuple[float, float], tuple[Any, bool, bool]],
            s2: float, g_classes: Sequence[str]) -> None:
    """Y5 map panel: the classifier's class of χ^0/χ^L per (βv, βw) cell of the tanh full
    resnet with a non-decaying a-bias, annotated with the iteration's verdict on the cell."""
    if not cells:
        return
    bv = np.array(sorted({k[0] for k in cells}))
    bw = np.array(sorted({k[1] for k in cells}))
    z = np.full((bw.size, bv.size), np.nan)
    notes = []
    for (v, w), (chk, cond, summable) in cells.items():
        z[np.searchsorted(bw, w), np.searchsorted(bv, v)] = list(g_classes).index(
            chk.prediction.g_class)
        text = {"pass": "ok", "fail": "FAIL", "inconclusive": "?"}[chk.status]
        if cond != summable:
            text += " Θ(1)≠"
        notes.append((v, w, text))
    ctx.panel(f"Y5: phase diagram, tanh full resnet, σa² = 1 (βa = 0), σv² = σw² = {s2:g}",
              "βv", "βw",
              caption="Colours: the phase classifier's class of the gradient ratio χ^0/χ^L "
                      "(theory). Text: the mean-field recursion iterated to L = 10^6 agrees "
                      "with the classifier under the §3.7 rules (ok), disagrees (FAIL) or "
                      "has not reached its asymptotic regime (?); 'Θ(1)≠' marks a cell where "
                      "the explicit Θ(1) conditions of Y5 (a) and the iterated summability "
                      "differ. With a non-decaying a-bias (m = βa = 0) the gradient explodes "
                      "(T-a) where e = βv + βw/2 + 1/2 < 1, polynomially on e = 1 and at "
                      "(βv, βw) = (0, 1) (T-b), and stays Θ(1) elsewhere."
              ).map(bv, bw, z, categories=[G_CLASS_LABELS[c] for c in g_classes],
                    zlabel="χ^0/χ^L (classifier)", annotations=notes)


# ============================================================================================
# Y6
# ============================================================================================
#: Y6.1 tolerances (issue 14): at most this fraction of the decorrelation 1 - e^l for e, and the
#: relative tolerance of tanh s^l (reasons in the criteria).
Y6_DECORRELATION_TOL = 0.10
Y6_TANH_S_TOL = 0.02
#: Relative uncertainty of the derived unequal-norm term R of ReLU log s (issue 14).
Y6_RADIAL_REL = 0.2

#: Finite-width two-input settings (activation, betas): baseline and one VV setting each.
Y6_SETTINGS = (("relu", {}), ("relu", {"beta_v": 0.5, "beta_w": 0.5}), ("tanh", {}),
               ("tanh", {"beta_v": 0.5}))


def _traj_vanilla_relu_map(trajectory: Callable[..., Any], corr_map: Callable[..., Any],
                           params: ResNetParams, depth: int, e0: float | None = None) -> Any:
    tr = trajectory(params, depth, e0)
    if params.activation != "relu" or e0 is None:
        return tr
    e = np.empty(depth + 1)
    e[0] = e0
    for l in range(1, depth + 1):
        e[l] = float(corr_map(e[l - 1]))
    return dataclasses.replace(tr, e=e, one_minus_e=1.0 - e)


def _traj_decorrelation_scaled(trajectory: Callable[..., Any], factor: float,
                               params: ResNetParams, depth: int, e0: float | None = None
                               ) -> Any:
    """Wrong ReLU two-input theory: the decorrelation 1 - e^l (hence s^l = p^l(1 - e^l))
    ``factor`` times the derived one at every l >= 1 (e.g. a wrong l^-2 coefficient of Y6)."""
    tr = trajectory(params, depth, e0)
    if params.activation != "relu" or e0 is None:
        return tr
    ome = tr.one_minus_e.copy()
    ome[1:] *= factor
    return dataclasses.replace(tr, e=1.0 - ome, one_minus_e=ome)


def _traj_linear_tanh_kernel(trajectory: Callable[..., Any], params: ResNetParams, depth: int,
                             e0: float | None = None) -> Any:
    tr = trajectory(params, depth, e0)
    if params.activation != "tanh" or e0 is None:
        return tr
    p = np.exp(tr.log_p)
    e = np.empty(depth + 1)
    e[0] = e0
    for l in range(1, depth + 1):  # W(q, ρq) -> ρ V(q): gamma += σv² ρ V
        gam = e[l - 1] * p[l - 1] + tr.sigma_v2_l[l] * tr.rho[l] * tr.V[l]
        e[l] = gam / p[l]
    return dataclasses.replace(tr, e=e, one_minus_e=1.0 - e)


def _y6_coefficient_one_plus_c(base: Callable[..., Any], c: Any, l: Any) -> np.ndarray:
    c = np.asarray(c, dtype=float)
    return np.asarray(base(c, l)) / (1 + c)


@claim(
    "Y6",
    title="Correlation and metric expressivity recursions (two inputs)",
    paper=YANG_SCHOENHOLZ,
    theory={
        "trajectory": mf.trajectory,
        "one_minus_e_asymptotic": ys.y6_one_minus_e,
        "coefficient_expr": ys.y6_coefficient,
        "bias_trajectory": mf.trajectory,
        "forward_bias": ys.forward_bias_terms,
        "metric_radial_bias": ys.relu_metric_radial_bias,
    },
    sizes={
        "quick": {"y6_N": 1000, "y6_L": 100, "y6_B": 8, "y6_e0": 0.5, "y6_sims": 150},
        "standard": {"y6_N": 1000, "y6_L": 100, "y6_B": 8, "y6_e0": 0.5, "y6_sims": 300},
        "paper": {"y6_N": 1000, "y6_L": 100, "y6_B": 8, "y6_e0": 0.5, "y6_sims": 500},
    },
    mutations=[
        Mutation("ReLU correlation map without the skip: e' = f(e)",
                 {"trajectory": functools.partial(_traj_vanilla_relu_map, mf.trajectory,
                                                  mf.relu_corr_map)}),
        Mutation("tanh kernel W(q, ρq) -> ρ V(q) (linearised)",
                 {"trajectory": functools.partial(_traj_linear_tanh_kernel, mf.trajectory)}),
        Mutation("coefficient 4(1+c)²/(c²a²) -> 4(1+c)/(c²a²)",
                 {"one_minus_e_asymptotic": functools.partial(_y6_coefficient_one_plus_c,
                                                              ys.y6_one_minus_e)}),
        Mutation("sympy coefficient without the (1+c)² factor",
                 {"coefficient_expr": lambda: ys.y6_coefficient() / (1 + ys.c_sym) ** 2}),
        nearby("ReLU decorrelation 1 - e^l off by 2x (s^l with it)",
               {"trajectory": functools.partial(_traj_decorrelation_scaled, mf.trajectory, 2.0)},
               fails_at="quick"),
    ],
    criteria={
        "Y6.1": "two-input finite-width runs (N = 1000, L = 100, B equicorrelated inputs, e^0 "
                "= 0.5), ReLU and tanh, baseline and VV: at every l the sim mean cosine within "
                "5% of e^l and within 10% of the decorrelation 1 - e^l (the deviation from the "
                "limit e = 1); ReLU: E log s within log(1.05) of the iterated log s^l shifted "
                "by the derived signed O(l/N) biases (+ unequal norms, - Jensen: -A/2 ± A/2); "
                "tanh: sim mean of |x_a - x_b|²/(2N) within 2% of s^l shifted by half the "
                "positive unequal-norm excess (± half of it)",
        "Y6.2": "the sympy coefficient equals 4(1+c)²/(c²a²), a = 2√2/(3π); the iterated "
                "l²(1 - e^l) (ReLU, c = 0.5, e^0 = 0) converges to it: within 1% at l = 10^5 "
                "and approaching monotonically (10^3, 10^4, 10^5)",
    },
    setup="Full resnets, σv² = σw² = 1, no biases, forward only (fast path), fixed batch of B "
          "inputs with unit mean square and pairwise cosine e^0; p = nu2_signal_x, γ = "
          "gamma_signal_x (mean over pairs of x_a·x_b/N), s = p - γ, e = mean_cosine_signal_x.",
    caveats="At finite width the two inputs' norms drift apart (log-ratio variance O(l/N)); "
            "the metric |x_a - x_b|²/(2N) then exceeds p(1 - e) by p δ²/8, which matters for "
            "ReLU where 1 - e ~ 400/l² is small: a derived, positive O(l/N)/(1 - e) allowance.",
)
def _y6(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    out: list[C.Criterion] = []
    N, L, B, e0 = size["y6_N"], size["y6_L"], size["y6_B"], size["y6_e0"]
    x = equicorrelated_inputs(ctx, B, N, e0)
    rng = ctx.rng("Y6")
    for act, betas in Y6_SETTINGS:
        params = ResNetParams(activation=act, **betas)
        label = cell_label(params)
        net = spec.full_resnet(N, L, act, **betas)
        res = ctx.simulate(net, x, num_sims=size["y6_sims"], name=f"two-input {label}",
                           options=EngineOptions(tangent=False, families=("sample_stats",)))
        tr = th.trajectory(params, L, e0)
        depth = res.depth
        s_sim = res["nu2_signal_x"] - res["gamma_signal_x"]
        cos = res["mean_cosine_signal_x"]
        labels = [f"l={l}" for l in depth]
        n = res.num_sims
        e_pred = tr.e[depth]
        ome_pred = tr.one_minus_e[depth]
        out.append(all_within(
            f"Y6.1[{label},e]", f"sim mean cosine vs iterated e^l, l = 1..{L}",
            depthwise_mean_estimates(cos, rng, n_resamples=ctx.n_resamples), e_pred,
            np.minimum(0.05 * np.abs(e_pred), Y6_DECORRELATION_TOL * ome_pred), labels,
            "THEORY.md Y6 (c1): 5% of e^l, and at most 10% of the decorrelation 1 - e^l (the "
            "deviation from the limit e = 1, ~ 400/l² for ReLU; issue 14: 5% of e exceeded 1 - e "
            "from l ≈ 62, so a 2x error in 1 - e passed). 10%: the sim mean of 1 - cos has a "
            "relative standard error of 2.2% at l = 100 at quick (1.5% at standard); the cosine "
            "has no derived finite-width bias (it is insensitive to the norms' O(l/N) drift), "
            "measured |1 - cos| / (1 - e) - 1 <= 1.6%; intersection-union over depths", n,
            perturb=lambda d, o=ome_pred: 1.0 - o * (1.0 + d), what="decorrelation 1 - e^l"))
        # allowances come from the derivation, whatever th.trajectory says
        traj_true = th.bias_trajectory(params, L, e0)
        A = np.cumsum(th.forward_bias(traj_true, N))
        if act == "relu":
            R = np.asarray(th.metric_radial_bias(traj_true, N, N))
            # signed biases shift the prediction: + R (unequal norms), - A (Jensen, between
            # -A for one input and 0 for a batch: -A/2 ± A/2)
            shift = R[depth] - A[depth] / 2
            logs_pred = tr.log_s[depth] + shift
            tol = math.log(1.05) + A[depth] / 2 + Y6_RADIAL_REL * R[depth]
            logs_mf = tr.log_s[depth]
            out.append(all_within(
                f"Y6.1[{label},log s]", f"sim mean of log s^l vs iterated log s^l + derived "
                f"finite-width shift, l = 1..{L}",
                depthwise_mean_estimates(np.log(s_sim), rng, n_resamples=ctx.n_resamples),
                logs_pred, tol, labels,
                "THEORY.md Y6 (c1): log(1.05) around the iterated log s^l shifted by the derived "
                "signed O(l/N) biases (issue 14: they were added to a symmetric band): + the "
                f"unequal-norm term E log(1 + e δ²/(8(1-e))) with the derived E δ² ({R[L]:.3f} "
                "at l = L), known to 20% (its per-block E δ² is checked to 15% against Monte "
                "Carlo), hence ± 0.2 R, and - the delta-method bias of E log p, A for one input "
                f"and less for a batch, so -A/2 ± A/2 (A = {A[L]:.3f} at l = L)", n,
                perturb=lambda d, m=logs_mf, h=shift: m + math.log1p(d) + h, what="s^l"))
            ctx.panel(f"Y6: log s^l, {label}, N = {N}", "block l", "log s^l") \
                .simulation(depth, np.log(s_sim), "E log s (simulation)") \
                .theory(np.arange(L + 1), tr.log_s, "mean field")
        else:
            s_mf = np.exp(tr.log_s[depth])
            rad = (A / np.maximum(traj_true.one_minus_e, 1e-12))[depth]
            out.append(all_within(
                f"Y6.1[{label},s]", f"sim mean of s^l vs iterated s^l, l = 1..{L}",
                depthwise_mean_estimates(s_sim, rng, n_resamples=ctx.n_resamples),
                s_mf * (1 + rad / 2), (Y6_TANH_S_TOL + rad / 2) * s_mf, labels,
                f"{Y6_TANH_S_TOL:.0%} of s^l (THEORY.md: 5%; issue 14: E s is a mean of second "
                "moments, no Jensen bias; measured |E s/s - 1| <= 0.5% with standard errors <= "
                "0.3% at quick), around s^l shifted by half the positive unequal-norm excess "
                "e δ²/(8(1-e)), which lies between 0 and Σ_k (bias term)_k/(1-e) (E δ² <= 4 Var "
                f"log p <= 8 Σ bias terms; {rad[-1]:.4f} at l = {L}): ± half of it; "
                "intersection-union over depths", n,
                perturb=lambda d, m=s_mf, r=rad: m * (1 + d) * (1 + r / 2), what="s^l"))
            ctx.panel(f"Y6: s^l, {label}, N = {N}", "block l", "s^l") \
                .simulation(depth, s_sim).theory(np.arange(L + 1), np.exp(tr.log_s))
        ctx.panel(f"Y6: e^l, {label}, N = {N}", "block l", "e^l") \
            .simulation(depth, cos, "mean cosine").theory(np.arange(L + 1), tr.e)
    # (c2) the l^-2 coefficient
    a = 2 * sp.sqrt(2) / (3 * sp.pi)
    expr = th.coefficient_expr()
    # the symbol c of the theory's expression (any positive symbol named c)
    c = next(iter(expr.free_symbols), sp.Symbol("c", positive=True))
    ok = sp.simplify(expr - 4 * (1 + c) ** 2 / (c**2 * a**2)) == 0
    out.append(C.holds("Y6.2[sympy]", "sympy l^-2 coefficient == 4(1+c)²/(c²a²)", bool(ok),
                       "THEORY.md Y6 (a): symbolic identity"))
    tr = th.trajectory(ResNetParams(activation="relu"), 10**5, e0=0.0)
    devs = []
    for l in (10**3, 10**4, 10**5):
        pred = float(np.asarray(th.one_minus_e_asymptotic(0.5, l)))
        devs.append(tr.one_minus_e[l] / pred - 1.0)
    out.append(C.exact(
        "Y6.2[limit]", "iterated l²(1 - e^l) / coefficient - 1 at l = 10^5 (ReLU, c = 0.5)",
        devs[-1], 0.0, 0.01,
        "1% (THEORY.md: 5%; issue 14): the next-order term is O(log l / l) relative (≈1e-3 "
        "here), so 1% is 10 times the known correction", perturbation=C.Perturbation.ratio(
            "l^-2 coefficient of 1 - e^l")))
    out.append(C.holds(
        "Y6.2[monotone]", "relative deviation at l = 10^3, 10^4, 10^5 = "
        + ", ".join(f"{d:.2e}" for d in devs) + " decreasing in size",
        bool(abs(devs[0]) > abs(devs[1]) > abs(devs[2])),
        "convergence to the derived limit (O(log l / l) corrections)"))
    return out


# ============================================================================================
# Y7
# ============================================================================================
#: Y7.1/Y7.2 model allowance beyond the derived bias difference, a fraction of the log growth at
#: l (issue 14: was 3%): the ReLU log p is log-normal across networks (se 0.37% of log p^L at
#: quick); tanh p and both χ are 5-15 standard errors inside these.
Y7_REL_TOL = {("Y7.1", "tanh"): 0.01, ("Y7.1", "relu"): 0.02, ("Y7.2", "tanh"): 0.02,
              ("Y7.2", "relu"): 0.02}


def _log_p_fanin_N(tanh_V: Callable[..., Any], params: ResNetParams, depth: int, N: float,
                   M: Sequence[float]) -> np.ndarray:
    """Wrong forward theory: V normalised by N instead of M_l (σv²(l) -> σv²(l) M_l/N)."""
    Ma = np.asarray(M, dtype=float)
    p = params.p0
    out = [math.log(p)]
    for l in range(1, depth + 1):
        fw = params.sigma_w2 * l ** (-params.beta_w)
        fv = params.sigma_v2 * l ** (-params.beta_v) * Ma[l - 1] / N
        q = fw * p
        v = q / 2 if params.activation == "relu" else float(tanh_V(q))
        p = p + fv * v
        out.append(math.log(p))
    return np.asarray(out)


def _log_p_width_power(base: Callable[..., Any], power: float, params: ResNetParams,
                       depth: int, N: float, M: Sequence[float]) -> np.ndarray:
    """Wrong forward theory: a spurious width dependence p^l ∝ (M_l/N)^power."""
    lp = np.asarray(base(params, depth, N, M), dtype=float).copy()
    lp[1:] += power * np.log(np.asarray(M, dtype=float) / N)
    return lp


def _log_chi_width(trajectory: Callable[..., Any], params: ResNetParams, depth: int, N: float,
                   M: Sequence[float]) -> np.ndarray:
    """Wrong backward theory: the chi recursion picks up N/M_l."""
    tr = trajectory(params, depth)
    inc = np.log1p(np.expm1(tr.inc[1:]) * N / np.asarray(M, dtype=float))
    G = np.concatenate([[0.0], np.cumsum(inc)])
    return G[-1] - G


@claim(
    "Y7",
    title="Width variation: forward dynamics unchanged, per-entry W, b gradients scale as N/M_l",
    paper=YANG_SCHOENHOLZ,
    theory={
        "width_factor": ys.width_factor,
        "log_p": ys.width_log_p,
        "log_chi": ys.width_log_chi,
        "trajectory": mf.trajectory,
        "forward_bias": ys.forward_bias_terms,
        "backward_bias": ys.backward_bias_terms,
        "parameter_gradients": mf.parameter_gradients,
    },
    sizes=_sizes({
        # ReLU per-entry gradients are heavy-tailed: with 30 pairs, Y7.3[relu] was
        # INCONCLUSIVE at 2 of 10 false-alarm seeds (estimate 0.07 below the prediction with
        # tolerance 0.1); 80 halves the interval's half-width.
        "quick": {"y7_tanh_L": 40, "y7_const_sims": 80, "y7_dec_sims": 80, "y7_M_min": 100},
        "standard": {"y7_tanh_L": 40, "y7_const_sims": 100, "y7_dec_sims": 100,
                     "y7_M_min": 100},
        "paper": {"y7_tanh_L": 40, "y7_const_sims": 100, "y7_dec_sims": 100, "y7_M_min": 100},
    }),
    mutations=[
        Mutation("per-entry gradients ∝ √(N/M_l)",
                 {"width_factor": lambda N, M: 0.5 * np.log(np.asarray(N, float)
                                                            / np.asarray(M, float))}),
        Mutation("per-entry gradients independent of M_l",
                 {"width_factor": lambda N, M: np.zeros(np.shape(M))}),
        Mutation("V normalised by N, not M_l (p depends on the width profile)",
                 {"log_p": functools.partial(_log_p_fanin_N, mf.tanh_V)}),
        Mutation("χ recursion picks up N/M_l",
                 {"log_chi": functools.partial(_log_chi_width, mf.trajectory)}),
        nearby("width-dependent p: p^l ∝ (M_l/N)^0.1 (a 10% width dependence)",
               {"log_p": functools.partial(_log_p_width_power, ys.width_log_p, 0.1)},
               fails_at="quick"),
    ],
    criteria={
        "Y7.1": "log p^l (l = L/4, L/2, 3L/4, L) equal across schedules: difference of sim "
                "means within 1% (tanh) / 2% (ReLU) of log p^l (THEORY.md/§3.7: 3%) around "
                "the predicted zero shifted by half the derived difference of the finite-width "
                "biases (± half of it)",
        "Y7.2": "log(χ^l/χ^L) (l = 0, L/4, L/2, 3L/4) equal across schedules, same rule with "
                "2% of log(χ^l/χ^L)",
        "Y7.3": "at every layer l, difference between schedules of the sim mean log per-entry "
                "gradient of b^l (relative to χ^L) and of W^l (relative to χ^L and the "
                "network's p^(l-1)) equals log(N/M_l) within ±0.1",
    },
    setup="Full resnets σv² = σw² = 1, no biases, N = 500, B inputs, backward pass: constant "
          "M_l = N (the Y1 baseline run for ReLU) vs a geometric profile M_l from N down to 100; "
          "tanh L = 40, ReLU L = 30. Per-entry gradients: log_chi_b_W (log E_a mean_i g_ai² at "
          "the output of W^l) and log_chi_w_W (log E_a[mean_i g_ai² mean_j x_aj²]).",
    caveats="Finite-width corrections grow like Σ 1/M_l. W gradients are divided by the "
            "network's own p^(l-1) (a control variate: E log p^(l-1) is schedule-independent by "
            "Y7.1) to remove the log-normal forward fluctuation of ReLU nets.",
)
def _y7(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    out: list[C.Criterion] = []
    N = size["N"]
    rng = ctx.rng("Y7")
    for act in ("tanh", "relu"):
        L = size["y7_tanh_L"] if act == "tanh" else size["relu_L"]
        M = geometric_widths(N, size["y7_M_min"], L)
        Mc = (N,) * L
        const = (baseline_run(ctx, size, act) if act == "relu" and
                 size["relu_sims"] == size["y7_const_sims"] else
                 backward_run(ctx, size, act, L, size["y7_const_sims"],
                              f"full_resnet {act} L={L} constant width"))
        dec = backward_run(ctx, size, act, L, size["y7_dec_sims"],
                           f"full_resnet {act} L={L} decaying width", hidden_widths=M)
        params = ResNetParams(activation=act)
        traj = th.trajectory(params, L)
        n = min(const.num_sims, dec.num_sims)

        def per_net(res: SimulationResults) -> dict[str, np.ndarray]:
            lgL = res["log_grad_sq_x"][:, -1:]
            logp = np.log(res["nu2_signal_x"])
            logp_prev = np.concatenate([np.zeros((res.num_sims, 1)), logp[:, :-1]], axis=1)
            chi = np.concatenate([(res["log_grad_sq_input"] - lgL[:, 0])[:, None],
                                  res["log_grad_sq_x"] - lgL], axis=1)  # l = 0..L
            return {"logp": logp, "chi": chi, "b": res["log_chi_b_W"] - lgL,
                    "w": res["log_chi_w_W"] - lgL - logp_prev}

        a, b = per_net(dec), per_net(const)
        # (c1) forward
        ls = sorted({L // 4, L // 2, (3 * L) // 4, L})
        lp_dec = np.asarray(th.log_p(params, L, N, M))
        lp_const = np.asarray(th.log_p(params, L, N, Mc))
        fb = np.cumsum(th.forward_bias(traj, N, M)) - np.cumsum(th.forward_bias(traj, N))
        cols = [depth_index(dec.depth, l) for l in ls]
        est = depthwise_diff_estimates(a["logp"][:, cols], b["logp"][:, cols], rng,
                                       n_resamples=ctx.n_resamples)
        rel = Y7_REL_TOL[("Y7.1", act)]
        scale = np.array([abs(lp_const[l]) for l in ls])
        centre = np.array([lp_dec[l] - lp_const[l] - fb[l] / 2 for l in ls])
        out.append(all_within(
            f"Y7.1[{act}]", f"E log p^l (decaying) - E log p^l (constant), {act}", est,
            centre, [rel * abs(lp_const[l]) + abs(fb[l]) / 2 for l in ls],
            [f"l={l}" for l in ls],
            "the derived difference of the two schedules' negative delta-method biases of "
            "E log p (Σ r²K(1/M_l - 1/N)/(2(1+r)²), the Σ 1/M_l correction; full for one input, "
            "less for a batch) shifts the predicted zero by half of it, band ± half of it plus "
            f"{rel:.0%} of log p^l (§3.7: 3%; issue 14: tightened to about 5 standard errors at "
            "quick, ReLU limited by the log-normal spread of p)", n,
            perturb=lambda d, c=centre, sc=scale: c + d * sc,
            what="a zero difference shifted by delta x log p^l"))
        # (c2) backward
        ls2 = sorted({0, L // 4, L // 2, (3 * L) // 4})
        lc_dec = np.asarray(th.log_chi(params, L, N, M))
        lc_const = np.asarray(th.log_chi(params, L, N, Mc))
        bt_dec, bt_const = th.backward_bias(traj, N, M), th.backward_bias(traj, N)
        # E log(χ^l/χ^L) = mean field - Σ_(k>l) bias_k: signed difference dec - const
        bb = [float(bt_dec[l + 1:].sum() - bt_const[l + 1:].sum()) for l in ls2]
        est = depthwise_diff_estimates(a["chi"][:, ls2], b["chi"][:, ls2], rng,
                                       n_resamples=ctx.n_resamples)
        rel = Y7_REL_TOL[("Y7.2", act)]
        scale = np.array([abs(lc_const[l]) for l in ls2])
        centre = np.array([lc_dec[l] - lc_const[l] - bb[k] / 2 for k, l in enumerate(ls2)])
        out.append(all_within(
            f"Y7.2[{act}]", f"E log(χ^l/χ^L) (decaying) - (constant), {act}", est,
            centre, [rel * abs(lc_const[l]) + abs(bb[k]) / 2 for k, l in enumerate(ls2)],
            [f"l={l}" for l in ls2],
            "the derived difference of the delta-method biases (Σ 1/M_l correction, full for "
            "one input, less for a batch) shifts the predicted zero by half of it, band ± half "
            f"of it plus {rel:.0%} of log(χ^l/χ^L) (§3.7: 3%; issue 14: tightened to about 5 "
            "standard errors at quick)", n,
            perturb=lambda d, c=centre, sc=scale: c + d * sc,
            what="a zero difference shifted by delta x log(χ^l/χ^L)"))
        # (c3) per-entry gradients
        wf = np.asarray(th.width_factor(N, np.asarray(M))) - np.asarray(
            th.width_factor(N, np.asarray(Mc)))
        for par in ("b", "w"):
            est = depthwise_diff_estimates(a[par], b[par], rng, n_resamples=ctx.n_resamples)
            name = "b^l" if par == "b" else "W^l"
            out.append(all_within(
                f"Y7.3[{act},{name}]", f"log per-entry gradient of {name}, decaying - constant "
                f"schedule, vs log(N/M_l), l = 1..{L}", est, wf, np.full(L, 0.1),
                [f"l={l} (M={m})" for l, m in zip(range(1, L + 1), M, strict=True)],
                "THEORY.md Y7 (c3): ±0.1 at every layer (intersection-union over layers)", n,
                perturb=lambda d, w=wf: w * (1 + d), what="width factor log(N/M_l)"))
        pg_dec = th.parameter_gradients(traj, N, M)
        ctx.panel(f"Y7: per-entry b-gradient, {act}, decaying M_l", "block l",
                  "log(χ_b^l/χ^L)") \
            .simulation(dec.depth, a["b"], "decaying (simulation)") \
            .simulation(const.depth, b["b"], "constant (simulation)") \
            .theory(np.arange(1, L + 1), pg_dec.log_chi_b[1:], "decaying (mean field)")
    return out
