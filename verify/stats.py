"""Statistics of agreement between simulations and theory.

Every estimator here treats *simulations* (independent draws of weights, inputs and noise) as
the unit of resampling: data arrays have the simulations on axis 0, and a statistic is any
function of such arrays (several arrays are resampled with the same indices, i.e. paired).

* `bootstrap` – the bootstrap distribution of a statistic, with percentile and BCa intervals
  (Efron 1987; acceleration from the jackknife).
* `Estimate` – value, standard error and confidence interval of one statistic.
* `median_of_means` – a robust location estimator for heavy-tailed per-simulation values.
* `fit_line` / `line_slope` – least-squares line through sim means, its slope bootstrapped.
* `spearman` – rank correlation of a curve with its abscissa (trend tests).
* `equivalence_pvalues`, `bound_pvalues` – the one-sided p-values behind PASS / FAIL (TOST).
* `holm` – Holm's step-down family-wise correction.

Decision p-values use the normal approximation with the bootstrap standard error, which stays
meaningful far in the tail (bootstrap percentiles cannot resolve p < 1 / n_resamples, and a
Holm correction over a whole run needs p ~ 1e-5). Heavy-tailed quantities are therefore always
estimated in log space or with median-of-means, where the approximation is good.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import special, stats

Statistic = Callable[..., float]


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A statistic's value with its uncertainty.

    value: the statistic on the full data; se: bootstrap standard error (0 for exact values);
    ci: (low, high) confidence interval at ``level``; method: ``"percentile"``, ``"bca"`` or
    ``"exact"``; n: number of simulations it rests on.
    """

    value: float
    se: float
    ci: tuple[float, float]
    level: float
    method: str
    n: int

    @classmethod
    def exact(cls, value: float, n: int = 0) -> Estimate:
        """A value without sampling error (a deterministic iteration, an identity)."""
        v = float(value)
        return cls(v, 0.0, (v, v), 1.0, "exact", n)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {"value": self.value, "se": self.se, "ci": list(self.ci), "level": self.level,
                "method": self.method, "n": self.n}


def _as_arrays(data: np.ndarray | Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    arrays = (data,) if isinstance(data, np.ndarray) else tuple(data)
    arrays = tuple(np.asarray(a) for a in arrays)
    n = arrays[0].shape[0]
    for a in arrays:
        if a.shape[0] != n:
            raise ValueError(
                f"paired data must share the number of simulations on axis 0; got "
                f"{[a.shape[0] for a in arrays]}"
            )
    return arrays


def bootstrap_replicates(
    data: np.ndarray | Sequence[np.ndarray],
    statistic: Statistic,
    rng: np.random.Generator,
    n_resamples: int = 2000,
) -> np.ndarray:
    """Bootstrap replicates of ``statistic(*arrays)``, resampling simulations (axis 0).

    All arrays are indexed with the same resampled simulation indices (paired bootstrap).
    Returns shape ``(n_resamples,)``; non-finite replicates are kept (callers decide).
    """
    arrays = _as_arrays(data)
    n = arrays[0].shape[0]
    out = np.empty(n_resamples)
    for b in range(n_resamples):
        idx = rng.integers(0, n, n)
        out[b] = statistic(*(a[idx] for a in arrays))
    return out


def bootstrap(
    data: np.ndarray | Sequence[np.ndarray],
    statistic: Statistic,
    rng: np.random.Generator,
    *,
    level: float = 0.99,
    method: str = "bca",
    n_resamples: int = 2000,
) -> Estimate:
    """Estimate of ``statistic`` with a bootstrap CI over simulations.

    method ``"percentile"``: the (1-level)/2 and (1+level)/2 quantiles of the replicates.
    method ``"bca"``: bias-corrected and accelerated quantiles,
    ``alpha_j = Phi(z0 + (z0 + z_j) / (1 - a (z0 + z_j)))`` with ``z0 = Phi^-1(P*(T* < T))`` and
    the acceleration ``a`` from jackknife values ``T_(i)``:
    ``a = sum (Tbar - T_(i))^3 / (6 (sum (Tbar - T_(i))^2)^(3/2))``.
    The standard error is the standard deviation of the replicates.
    """
    if method not in ("bca", "percentile"):
        raise ValueError(f"method={method!r} is not allowed; use 'bca' or 'percentile'")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level!r} is not allowed; it must be in (0, 1)")
    arrays = _as_arrays(data)
    n = arrays[0].shape[0]
    value = float(statistic(*arrays))
    if n < 2:
        return Estimate(value, math.inf, (-math.inf, math.inf), level, method, n)
    reps = bootstrap_replicates(arrays, statistic, rng, n_resamples)
    reps = reps[np.isfinite(reps)]
    if reps.size < 10:
        return Estimate(value, math.inf, (-math.inf, math.inf), level, method, n)
    se = float(np.std(reps, ddof=1))
    q = np.array([(1 - level) / 2, (1 + level) / 2])
    if method == "bca" and se > 0:
        frac = (np.sum(reps < value) + 0.5 * np.sum(reps == value)) / reps.size
        z0 = float(special.ndtri(np.clip(frac, 1e-6, 1 - 1e-6)))
        a = _jackknife_acceleration(arrays, statistic)
        zq = special.ndtri(q)
        adj = z0 + (z0 + zq) / (1 - a * (z0 + zq))
        q = special.ndtr(adj)
    lo, hi = np.quantile(reps, q)
    return Estimate(value, se, (float(lo), float(hi)), level, method, n)


def _jackknife_acceleration(arrays: tuple[np.ndarray, ...], statistic: Statistic) -> float:
    n = arrays[0].shape[0]
    keep = np.ones(n, dtype=bool)
    jack = np.empty(n)
    for i in range(n):
        keep[i] = False
        jack[i] = statistic(*(a[keep] for a in arrays))
        keep[i] = True
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack
    denom = 6.0 * np.sum(d**2) ** 1.5
    return float(np.sum(d**3) / denom) if denom > 0 else 0.0


def mean_estimate(
    x: np.ndarray, rng: np.random.Generator, *, level: float = 0.99, n_resamples: int = 2000
) -> Estimate:
    """Mean over simulations of a per-simulation value ``x`` (shape ``(n_sims,)``), BCa CI."""
    return bootstrap(np.asarray(x, dtype=float), np.mean, rng, level=level,
                     n_resamples=n_resamples)


def median_of_means(x: np.ndarray, n_blocks: int | None = None) -> float:
    """Median over ``n_blocks`` contiguous blocks of the block means of ``x`` (axis 0).

    A location estimator with sub-Gaussian deviations under only a finite variance: used for
    heavy-tailed per-simulation values (``nu2`` ratios of deep vanilla nets, ReLU-resnet norms).
    Default ``n_blocks = max(1, min(n // 4, ceil(8 log 1000)))``: enough blocks for a 1e-3
    deviation bound without starving each block.
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    if n_blocks is None:
        n_blocks = max(1, min(n // 4, math.ceil(8 * math.log(1000))))
    n_blocks = max(1, min(int(n_blocks), n))
    blocks = np.array_split(x, n_blocks)
    return float(np.median([b.mean(axis=0) for b in blocks]))


def line_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` on ``x`` (1-D arrays of equal length)."""
    xc = x - x.mean()
    return float(np.dot(xc, y - y.mean()) / np.dot(xc, xc))


def fit_line(
    x: np.ndarray,
    ys: np.ndarray,
    rng: np.random.Generator,
    *,
    reduce: Callable[[np.ndarray], np.ndarray] | None = None,
    level: float = 0.99,
    n_resamples: int = 2000,
) -> Estimate:
    """Slope of a curve across depth, its CI from resampling simulations.

    x: abscissa (shape ``(P,)``, e.g. depth or log depth); ys: per-simulation curves
    ``(n_sims, P)``; reduce: maps the (resampled) ``(n, P)`` array to the fitted curve
    ``(P,)`` (default: the sim mean; e.g. ``lambda a: a.var(axis=0, ddof=1)`` for a diffusion
    rate). Returns the least-squares slope of ``reduce(ys)`` on ``x``.
    """
    x = np.asarray(x, dtype=float)
    red = reduce or (lambda a: a.mean(axis=0))
    return bootstrap(np.asarray(ys, dtype=float), lambda a: line_slope(x, red(a)), rng,
                     level=level, n_resamples=n_resamples)


def spearman(curve: np.ndarray, x: np.ndarray | None = None) -> float:
    """Spearman rank correlation between a curve and its abscissa (default 0..P-1)."""
    curve = np.asarray(curve, dtype=float)
    x = np.arange(curve.size) if x is None else np.asarray(x)
    return float(stats.spearmanr(x, curve).statistic)


def normal_sf(z: float) -> float:
    """Upper tail ``P(Z > z)`` of a standard normal (accurate far in the tail)."""
    return float(special.ndtr(-z))


def equivalence_pvalues(estimate: Estimate, prediction: float, margin: float) -> tuple[float,
                                                                                         float]:
    """(p_pass, p_fail) for ``|theta - prediction| <= margin``.

    p_pass is the TOST p-value (H0: ``|theta - prediction| >= margin``), ``Phi((|d| - m)/se)``;
    p_fail tests H0: ``|theta - prediction| <= margin``, ``1 - Phi((|d| - m)/se)``, with
    ``d = estimate - prediction`` and the bootstrap standard error ``se``.
    Exact estimates (se = 0) give p-values 0 or 1.
    """
    d = abs(estimate.value - prediction)
    if not math.isfinite(d):
        return 1.0, 1.0
    if estimate.se == 0:
        return (0.0, 1.0) if d <= margin else (1.0, 0.0)
    if not math.isfinite(estimate.se):
        return 1.0, 1.0
    z = (d - margin) / estimate.se
    return normal_sf(-z), normal_sf(z)


def bound_pvalues(estimate: Estimate, threshold: float, side: str) -> tuple[float, float]:
    """(p_pass, p_fail) for ``theta > threshold`` (side ``"above"``) or ``< threshold``.

    p_pass tests H0: the bound is violated; p_fail tests H0: the bound holds (one-sided normal
    tests with the bootstrap standard error; exact estimates give 0 or 1).
    """
    if side not in ("above", "below"):
        raise ValueError(f"side={side!r} is not allowed; use 'above' or 'below'")
    d = estimate.value - threshold
    if side == "below":
        d = -d
    if not math.isfinite(d):
        return 1.0, 1.0
    if estimate.se == 0:
        return (0.0, 1.0) if d > 0 else (1.0, 0.0)
    if not math.isfinite(estimate.se):
        return 1.0, 1.0
    z = d / estimate.se
    return normal_sf(z), normal_sf(-z)


def holm(pvalues: Sequence[float], alpha: float) -> np.ndarray:
    """Holm's step-down procedure: boolean mask of hypotheses rejected at family-wise ``alpha``.

    Sort ``p_(1) <= ... <= p_(m)``; reject ``H_(1..k)`` for the largest ``k`` such that
    ``p_(j) <= alpha / (m - j + 1)`` for all ``j <= k``.
    """
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    reject = np.zeros(m, dtype=bool)
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        if p[i] <= alpha / (m - rank):
            reject[i] = True
        else:
            break
    return reject


def sims_needed(se: float, n: int, target_se: float) -> float:
    """Simulations needed to bring a standard error ``se`` at ``n`` sims down to ``target_se``."""
    if target_se <= 0 or not math.isfinite(se):
        return math.inf
    return n * (se / target_se) ** 2
