r"""Labatie (2019): moments of signal and noise. One `Derivation` per claim L1–L13.

Conventions of THEORY.md §1.1: He convolutions (weights :math:`\mathcal N(0,2/K)`, fan-in
:math:`K=k^2N`), per-channel batch norm, ReLU :math:`\phi`, tangent noise :math:`dx`;
:math:`\nu_1,\nu_2,\mu_2,\mu_4` are channel-averaged moments over the batch and positions and
:math:`\chi=\sqrt{\mu_2(dx)/\mu_2(x)}` (normalised sensitivity).

Shared tool: `sign_symmetrised_moments` expresses moments of :math:`\phi(\pm y)` through the
symbols :math:`\mathbb Ey,\mathbb Ey^2,\mathbb E|y|,\mathbb Ey|y|` (§0 "sign symmetrisation").
Public numeric evaluators are plain functions of numpy arrays (documented shapes).
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp
from scipy import integrate, special, stats

from theory import arccos, gaussian
from theory.derivation import LABATIE, Derivation, register

__all__ = [
    "aligned_noise_limit",
    "bn_ff_assembled_rate",
    "bn_ff_log_increment_bias",
    "bn_relu_increment",
    "bn_relu_increment_from_sq",
    "bn_relu_increment_gaussian",
    "conditional_conv_moments",
    "conv_noise_diffusion_rate",
    "delta_bn_sq_from_spectra",
    "delta_bn_sq_integral",
    "delta_bn_sq_monte_carlo",
    "delta_bn_sq_rank_r",
    "effective_depth",
    "gamma_gaussian",
    "gamma_lower_bound",
    "gaussian_nu1",
    "gaussian_vanilla_increment",
    "general_relative_variance",
    "he_layer_ratios",
    "kappa_m",
    "kurtosis_bounds",
    "log_moment_band_ratio",
    "log_moment_band_ratio_exact",
    "martingale_mean_ratio",
    "mean_median_half_gap",
    "moment_symbols",
    "noise_relative_variance",
    "one_dimensional_increment_limit",
    "one_dimensional_realised_increment",
    "relu_conditional_moments",
    "resnet_branch_mu2",
    "resnet_chi_product",
    "resnet_increment_sq",
    "resnet_mu2_accumulated",
    "saturated_width_shift",
    "sign_symmetrised_moments",
    "sign_symmetry_identities",
    "tau_code",
    "tau_gaussian",
    "tau_rank_corrected",
    "vanilla_exact_log_moments",
    "vanilla_increment",
    "vanilla_increment_from_kernel",
    "vanilla_increment_mean_field",
    "zero_padding_energy_factor",
]


# --------------------------------------------------------------------------------------------
# Sign symmetrisation (§0)
# --------------------------------------------------------------------------------------------
@functools.cache
def moment_symbols() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol, sp.Symbol]:
    r"""The symbols :math:`(\mathbb Ey,\mathbb Ey^2,\mathbb E|y|,\mathbb Ey|y|)` =
    ``(E_y, E_y2, E_absy, E_yabsy)`` used by `sign_symmetrised_moments`."""
    m1 = sp.Symbol("E_y", real=True)
    m2 = sp.Symbol("E_y2", nonnegative=True)
    a1 = sp.Symbol("E_absy", nonnegative=True)
    b = sp.Symbol("E_yabsy", real=True)
    return m1, m2, a1, b


def _expect(poly: sp.Expr, y: sp.Symbol, ay: sp.Symbol) -> sp.Expr:
    """Linear expectation of a polynomial (degree <= 2) in ``y`` and ``ay`` = |y|."""
    m1, m2, a1, b = moment_symbols()
    p = sp.Poly(sp.expand(poly), y, ay)
    table = {(0, 0): 1, (1, 0): m1, (0, 1): a1, (2, 0): m2, (0, 2): m2, (1, 1): b}
    out = 0
    for (i, j), c in p.terms():
        if (i, j) not in table:
            raise ValueError(f"moment y^{i}|y|^{j} is not in the moment table")
        out += c * table[(i, j)]
    return sp.expand(out)


@functools.cache
def sign_symmetrised_moments() -> dict[str, sp.Expr]:
    r"""Moments of :math:`\phi(\pm y)`, :math:`\phi(y)=(y+|y|)/2`, as linear functions of the
    symbols ``E_y`` :math:`=\mathbb Ey`, ``E_y2`` :math:`=\mathbb Ey^2`, ``E_absy``
    :math:`=\mathbb E|y|`, ``E_yabsy`` :math:`=\mathbb Ey|y|` (using :math:`|y|^2=y^2`).

    Keys: ``E_phi_plus``, ``E_phi_minus``, ``E_phi2_plus``, ``E_phi2_minus``, ``Var_plus``,
    ``Var_minus``, ``Var_sym``
    (:math:`\frac12[\operatorname{Var}\phi(y)+\operatorname{Var}\phi(-y)]`),
    ``Var_sym_target`` (:math:`\frac14(\operatorname{Var}y+\operatorname{Var}|y|)`),
    ``E_phi2_sym`` (:math:`\frac12\mathbb E[\phi(y)^2+\phi(-y)^2]=\frac12\mathbb Ey^2`),
    ``Esq_phi_sym`` (:math:`\frac12[(\mathbb E\phi(y))^2+(\mathbb E\phi(-y))^2]`).
    """
    m1, m2, a1, _ = moment_symbols()
    y, ay = sp.symbols("y absy", real=True)
    php, phm = (y + ay) / 2, (-y + ay) / 2
    e_p, e_m = _expect(php, y, ay), _expect(phm, y, ay)
    e2_p, e2_m = _expect(php**2, y, ay), _expect(phm**2, y, ay)
    var_p, var_m = sp.expand(e2_p - e_p**2), sp.expand(e2_m - e_m**2)
    return {
        "E_phi_plus": e_p,
        "E_phi_minus": e_m,
        "E_phi2_plus": e2_p,
        "E_phi2_minus": e2_m,
        "Var_plus": var_p,
        "Var_minus": var_m,
        "Var_sym": sp.expand((var_p + var_m) / 2),
        "Var_sym_target": sp.expand(((m2 - m1**2) + (m2 - a1**2)) / 4),
        "E_phi2_sym": sp.expand((e2_p + e2_m) / 2),
        "Esq_phi_sym": sp.expand((e_p**2 + e_m**2) / 2),
    }


@functools.cache
def sign_symmetry_identities() -> dict[str, sp.Expr]:
    r"""Residuals (lhs − rhs) of the §0 identities; each simplifies to 0.

    * ``square``: :math:`\phi(y)^2+\phi(-y)^2-y^2` for real :math:`y` (pointwise);
    * ``indicator_pos``/``indicator_neg``: :math:`\mathbb 1[y>0]+\mathbb 1[y<0]-1` at
      :math:`y>0` and :math:`y<0` (a.s.);
    * ``variance``: :math:`\frac12[\operatorname{Var}\phi(y)+\operatorname{Var}\phi(-y)]-
      \frac14(\operatorname{Var}y+\operatorname{Var}|y|)` in the moment symbols;
    * ``second_moment``: :math:`\frac12\mathbb E[\phi(y)^2+\phi(-y)^2]-\frac12\mathbb Ey^2`.
    """
    y = sp.Symbol("y", real=True)
    p = sp.Symbol("p", positive=True)
    phi = lambda v: (v + sp.Abs(v)) / 2  # noqa: E731
    ind = sp.Heaviside(y) + sp.Heaviside(-y) - 1
    mom = sign_symmetrised_moments()
    m2 = moment_symbols()[1]
    return {
        "square": sp.simplify(phi(y) ** 2 + phi(-y) ** 2 - y**2),
        "indicator_pos": sp.simplify(ind.subs(y, p)),
        "indicator_neg": sp.simplify(ind.subs(y, -p)),
        "variance": sp.simplify(mom["Var_sym"] - mom["Var_sym_target"]),
        "second_moment": sp.simplify(mom["E_phi2_sym"] - m2 / 2),
    }


def _f(expr: sp.Expr) -> float:
    return float(sp.N(expr, 30))


@functools.cache
def _gaussian_nu1() -> sp.Expr:
    return gaussian.relu_gaussian_facts()["E_abs"]


# --------------------------------------------------------------------------------------------
# L1. Convolution step
# --------------------------------------------------------------------------------------------
def conditional_conv_moments(
    patches: np.ndarray, noise_patches: np.ndarray | None = None
) -> dict[str, float]:
    r"""Exact :math:`\mathbb E_\omega` of the moments after a He conv, conditional on the input
    (L1).

    ``patches``: (M, K) array of the M = B n² patches :math:`p_\alpha` (padded values included),
    K = k²N the fan-in; ``noise_patches``: same shape, :math:`dp_\alpha`.
    Returns ``E_nu2_y`` :math:`=\frac2K\mathbb E\|p\|^2`, ``E_mu2_y``
    :math:`=\frac2K\operatorname{tr}\mathrm{Cov}(p)` and (if noise given) ``E_mu2_dy``
    :math:`=\frac2K\mathbb E\|dp\|^2`, from :math:`\mathbb E_w w^\top Aw=\frac2K\operatorname{tr}A`.
    """
    p = np.asarray(patches, dtype=float)
    k = p.shape[1]
    out = {
        "E_nu2_y": float(2.0 / k * np.mean(np.sum(p**2, axis=1))),
        "E_mu2_y": float(2.0 / k * np.sum(np.var(p, axis=0))),
    }
    if noise_patches is not None:
        dp = np.asarray(noise_patches, dtype=float)
        out["E_mu2_dy"] = float(2.0 / k * np.mean(np.sum(dp**2, axis=1)))
    return out


def zero_padding_energy_factor(k: int | np.ndarray, n: int | np.ndarray) -> np.ndarray:
    r""":math:`((kn-(k^2-1)/4)/(kn))^2`: patch-energy factor of SAME zero padding (odd k, n×n,
    spatially homogeneous energy) relative to periodic boundaries."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    return ((k * n - (k**2 - 1) / 4) / (k * n)) ** 2


@register(
    "L1", title="The convolution step is neutral on average", paper=LABATIE, provenance="derived"
)
def _l1() -> Derivation:
    k, n, nch, j = sp.symbols("k n N j", positive=True, integer=True)
    e_p2, nu2 = sp.symbols("E_norm_p2 nu_2", positive=True)
    e_nu2_y = 2 / (k**2 * nch) * e_p2
    # Periodic: every pixel in exactly k^2 patches => E||p||^2 = k^2 N nu_2(x).
    periodic_ratio = sp.simplify(e_nu2_y.subs(e_p2, k**2 * nch * nu2) / nu2)
    # 1-D count of (pixel, patch) incidences under SAME zero padding: k n - 2 sum_{j<=(k-1)/2} j
    incidences = k * n - 2 * sp.summation(j, (j, 1, (k - 1) / 2))
    factor = sp.simplify((incidences / (k * n)) ** 2)
    headline_factor = _f(factor.subs({k: 3, n: 16}))
    return Derivation(
        statement=(
            "Conditional on the layer input, over the He kernel only: E nu2(y) = 2/(k^2 N) "
            "E||p||^2, E mu2(y) = 2/(k^2 N) tr Cov(p), E mu2(dy) = 2/(k^2 N) E||dp||^2; periodic "
            "boundaries (and FC) give exactly 2 nu2(x), 2 mu2(x), 2 mu2(dx)."
        ),
        expressions={
            "E_nu2_y": e_nu2_y,
            "periodic_ratio": periodic_ratio,
            "incidences_1d": sp.simplify(incidences),
            "zero_padding_factor": factor,
        },
        assumptions=(
            "expectation over the current He kernel only (conditional on x, dx)",
            "periodic boundaries or FC for the factor 2",
            "zero-padding factor: odd k, spatially homogeneous energy",
        ),
        condition=lambda k=3, **_: int(k) % 2 == 1,
        evaluate=conditional_conv_moments,
        headline={"zero_padding_factor(k=3,n=16)": headline_factor},
        notes="Symmetric padding over-weights edge pixels: only approximately 2.",
    )


# --------------------------------------------------------------------------------------------
# L2. He–ReLU martingales
# --------------------------------------------------------------------------------------------
def _l2_evaluate(patches: np.ndarray, noise_patches: np.ndarray | None = None) -> dict[str, float]:
    m = conditional_conv_moments(patches, noise_patches)
    out = {"E_nu2_x": 0.5 * m["E_nu2_y"]}
    if "E_mu2_dy" in m:
        out["E_mu2_dx"] = 0.5 * m["E_mu2_dy"]
    return out


@register(
    "L2",
    title="He-ReLU preserves nu2(x) and mu2(dx) in expectation",
    paper=LABATIE,
    provenance="derived",
)
def _l2() -> Derivation:
    ids = sign_symmetry_identities()
    nu2_prev = sp.Symbol("nu_2_prev", positive=True)
    e_nu2_y = 2 * nu2_prev  # L1, periodic
    e_nu2_x = sp.Rational(1, 2) * e_nu2_y  # phi(y)^2 + phi(-y)^2 = y^2 under w -> -w
    return Derivation(
        statement=(
            "Vanilla He-ReLU layer (periodic or FC), conditional on the input and at any width: "
            "E nu2(x^l) = nu2(x^{l-1}) and E mu2(dx^l) = mu2(dx^{l-1}); both are martingales "
            "in l whose medians decay."
        ),
        expressions={
            "square_identity_residual": ids["square"],
            "indicator_identity_residual": ids["indicator_pos"] + ids["indicator_neg"],
            "E_nu2_x_over_nu2_prev": sp.simplify(e_nu2_x / nu2_prev),
        },
        assumptions=("w -> -w leaves the He kernel law invariant", "periodic boundaries or FC"),
        evaluate=_l2_evaluate,
        headline={"E_nu2_ratio": _f(e_nu2_x / nu2_prev)},
        notes="evaluate(patches, noise_patches) gives the exact conditional expectations "
        "(half the L1 values).",
    )


# --------------------------------------------------------------------------------------------
# L3. Log-diffusion of vanilla nets
# --------------------------------------------------------------------------------------------
def vanilla_exact_log_moments(n: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact :math:`(\mathbb E\log R,\operatorname{Var}\log R)` for
    :math:`R=\frac2N\chi^2_K`, :math:`K\sim\mathrm{Bin}(N,1/2)` (the event K=0 ignored):
    :math:`\mathbb E\log R=\log\frac4N+\mathbb E_K\psi(K/2)`,
    :math:`\operatorname{Var}\log R=\mathbb E_K\psi'(K/2)+\operatorname{Var}_K\psi(K/2)`.
    ``n``: width(s), any shape; returns two arrays of that shape.
    """
    na = np.asarray(n, dtype=np.int64)
    mean = np.empty(na.shape)
    var = np.empty(na.shape)
    for idx, nn in np.ndenumerate(na):
        kk = np.arange(1, nn + 1)
        pmf = stats.binom.pmf(kk, nn, 0.5)
        psi = special.digamma(kk / 2)
        e_psi = np.sum(pmf * psi)
        mean[idx] = np.log(4.0 / nn) + e_psi
        var[idx] = np.sum(pmf * special.polygamma(1, kk / 2)) + np.sum(pmf * (psi - e_psi) ** 2)
    return mean, var


def noise_relative_variance(d: np.ndarray, n: int | float) -> float:
    r"""Per-layer relative variance of the noise-energy ratio once the signal is one-dimensional
    (L3): :math:`\frac1N+\frac2N\operatorname{Var}q`, :math:`\operatorname{Var}q=
    2\operatorname{tr}D^2/(\operatorname{tr}D)^2`. ``d``: (K, K) noise-patch second-moment
    matrix; ``n``: fan-out N."""
    d = np.asarray(d, dtype=float)
    var_q = 2.0 * np.sum(d * d.T) / np.trace(d) ** 2
    return float(1.0 / n + 2.0 / n * var_q)


def general_relative_variance(patches: np.ndarray, max_rows: int | None = None) -> float:
    r"""Relative variance over :math:`w` of one channel's :math:`\nu_2` contribution (L3):
    :math:`v=4\,\mathbb E_{p,p'}[\|p\|^2\|p'\|^2J_2(\theta_{pp'})/(2\pi)]/(\mathbb E\|p\|^2)^2-1`.

    ``patches``: (M, K) rows = the data points/patches (independent draws: all ordered pairs,
    diagonal included). ``max_rows`` subsamples the first rows (O(M²) cost). Returns v in [0, 5].
    """
    p = np.asarray(patches, dtype=float)
    if max_rows is not None:
        p = p[:max_rows]
    sq = np.sum(p**2, axis=1)
    norms = np.sqrt(sq)
    cos = np.clip((p @ p.T) / np.outer(norms, norms), -1.0, 1.0)
    j2 = arccos.arccos_kernel(2, np.arccos(cos)) / (2 * np.pi)
    num = 4.0 * np.mean(np.outer(sq, sq) * j2)
    return float(num / np.mean(sq) ** 2 - 1.0)


@register(
    "L3",
    title="Vanilla: log nu2, log mu2(dx) diffuse at 5/N with drift -5/(2N)",
    paper=LABATIE,
    provenance="derived",
)
def _l3() -> Derivation:
    facts = gaussian.relu_gaussian_facts()
    n_out, n_in = sp.symbols("N N_in", positive=True)
    h = sp.Symbol("h", positive=True)  # h = 1/N
    e_r = n_out / n_in * facts["E_2phi2"]  # R = (2/N_in) sum_{i<=N} phi(g_i)^2
    rel_var = facts["Var_2phi2"] / n_out  # Var R / (E R)^2 for a mean of N i.i.d. 2 phi^2
    # Delta method. R = 1 + x with x the mean of N i.i.d. centred Y - 1, Y = 2 phi(g)^2:
    # E x = 0, E x^2 = mu2 h, E x^3 = mu3 h^2, E x^4 = 3 mu2^2 h^2 + O(h^3)  (h = 1/N).
    x = sp.Symbol("x", real=True)
    mu2 = facts["Var_2phi2"]  # E(Y-1)^2 = 6 - 1 = 5
    mu3 = sp.simplify(8 * gaussian.relu_moment(6) - 3 * facts["E_2phi2_sq"] + 2)  # E(Y-1)^3
    x_moments = {1: 0, 2: mu2 * h, 3: mu3 * h**2, 4: 3 * mu2**2 * h**2}

    def expect_poly(poly: sp.Expr) -> sp.Expr:
        p = sp.Poly(sp.expand(poly), x)
        return sp.expand(
            sum(c * (1 if k == 0 else x_moments[k]) for (k,), c in p.terms() if k <= 4)
        )

    log_ser = sp.series(sp.log(1 + x), x, 0, 5).removeO()
    e_log = expect_poly(log_ser)
    var_log = sp.expand(expect_poly(sp.expand(log_ser**2)) - e_log**2)
    drift = sp.limit(e_log / h, h, 0) * h  # leading O(h) terms
    var_lead = sp.limit(var_log / h, h, 0) * h
    # Noise, 1-D signal: ratio = (2/N) sum_c b_c q_c, b_c ~ Bernoulli(1/2) independent of q_c,
    # E q = 1, Var q = v_q. Per channel Var(b q) = E b^2 E q^2 - (E b E q)^2.
    v_q = sp.Symbol("Var_q", nonnegative=True)
    e_b, e_b2 = sp.Rational(1, 2), sp.Rational(1, 2)
    var_bq = e_b2 * (1 + v_q) - (e_b * 1) ** 2
    noise_rel_var = sp.expand((2 / n_out) ** 2 * n_out * var_bq)
    s2 = sp.Symbol("s2", positive=True)
    kurt = sp.exp(4 * s2) + 2 * sp.exp(3 * s2) + 3 * sp.exp(2 * s2) - 3
    headline = {"relative_variance(N=128)": _f(rel_var.subs(n_out, 128))}
    for nn in (128, 512):
        mean, var = vanilla_exact_log_moments(nn)
        headline[f"E_logR(N={nn})"] = float(mean)
        headline[f"Var_logR(N={nn})"] = float(var)
    return Derivation(
        statement=(
            "FC He-ReLU layer, single input: R = ||x^l||^2/||x^{l-1}||^2 has E R = N/N_in and "
            "Var R/(E R)^2 = 5/N (E(2 phi^2)^2 = 6). Exact log-moments via digamma; "
            "asymptotically drift -5/(2N), variance 5/N per layer. General signal state: "
            "relative variance v in [0, 5] (v = 5 collinear)."
        ),
        expressions={
            "E_R": e_r,
            "relative_variance": rel_var,
            "drift_log": sp.simplify(drift.subs(h, 1 / n_out)),
            "var_log": sp.simplify(var_lead.subs(h, 1 / n_out)),
            "E_2phi2_sq": facts["E_2phi2_sq"],
            "noise_relative_variance": noise_rel_var,
            "lognormal_kurtosis": kurt,
        },
        assumptions=(
            "single input or collinear batch for the exact 5/N",
            "exact log-moments: N_in = N, K = 0 event (prob 2^-N) ignored",
            "general state: increment variance v/N, drift -v/(2N) (delta method)",
        ),
        evaluate=vanilla_exact_log_moments,
        headline=headline,
        notes="general_relative_variance(patches) computes v for any signal state; noise "
        "(1-D signal): variance 1/N + (2/N) Var q, Var q = 2 tr D^2/(tr D)^2.",
    )


# --------------------------------------------------------------------------------------------
# L4. Vanilla increment
# --------------------------------------------------------------------------------------------
def vanilla_increment(rho: np.ndarray | float) -> np.ndarray:
    r""":math:`\delta\chi=\sqrt{2/(1+\rho)}`, :math:`\rho=\mathbb E_c\operatorname{Var}|y_c|/
    \mathbb E_c\operatorname{Var}y_c\in[0,1]` (elementwise)."""
    return np.sqrt(2.0 / (1.0 + np.asarray(rho, dtype=float)))


def vanilla_increment_mean_field(c: np.ndarray | float) -> np.ndarray:
    r"""Mean-field :math:`\delta\chi=\sqrt{2(1-c)/(2-c-f_{|\cdot|}(c))}`, equal off-diagonal
    pre-activation correlations ``c`` and :math:`B\to\infty` (elementwise, :math:`c<1`)."""
    c = np.asarray(c, dtype=float)
    return np.sqrt(2 * (1 - c) / (2 - c - arccos.abs_correlation_map(c)))


def vanilla_increment_from_kernel(kernel: np.ndarray) -> float:
    r"""Mean-field :math:`\delta\chi` from a pre-activation kernel (B, B) (infinite width):
    :math:`\operatorname{Var}y\propto\overline{\operatorname{diag}K}-\overline K`,
    :math:`\operatorname{Var}|y|\propto\overline{\operatorname{diag}K}-\overline{\sqrt{K_{aa}K_{bb}}
    f_{|\cdot|}(c_{ab})}` (averages over all pairs, diagonal included)."""
    k = np.asarray(kernel, dtype=float)
    d = np.sqrt(np.diag(k))
    c = np.clip(k / np.outer(d, d), -1.0, 1.0)
    var_y = np.mean(d**2) - np.mean(k)
    var_abs = np.mean(d**2) - np.mean(np.outer(d, d) * arccos.abs_correlation_map(c))
    return float(np.sqrt(2.0 / (1.0 + var_abs / var_y)))


@register(
    "L4",
    title="Vanilla increment (delta chi)^2 = 2/(1+rho) >= 1",
    paper=LABATIE,
    provenance="derived",
)
def _l4() -> Derivation:
    mom = sign_symmetrised_moments()
    rho = sp.Symbol("rho", nonnegative=True)
    var_y, mu2_dy = sp.symbols("Var_y mu2_dy", positive=True)
    mu2_x = (var_y + rho * var_y) / 4  # E_± mu2(phi(y)) = (Var y + Var|y|)/4
    mu2_dx = mu2_dy / 2  # 1[y>0] + 1[y<0] = 1
    delta_sq = sp.simplify((mu2_dx / mu2_x) / (mu2_dy / var_y))  # conv keeps the ratio (L1)
    facts = gaussian.relu_gaussian_facts()
    rho_gauss = sp.simplify(facts["Var_abs"] / gaussian.abs_moment(2))  # Var|g| / Var g
    gauss = sp.simplify(delta_sq.subs(rho, rho_gauss))
    cbar, fbar = sp.symbols("cbar fbar_abs", real=True)
    mf = sp.simplify(delta_sq.subs(rho, (1 - fbar) / (1 - cbar)))
    headline = {"delta_chi_gaussian": _f(sp.sqrt(gauss))}
    for cval in (0.0, 1 / np.pi, 0.5, 0.8, 0.95, 0.99):
        headline[f"delta_chi_mf(c={cval:.4g})"] = float(vanilla_increment_mean_field(cval))
    return Derivation(
        statement=(
            "Dominating term of the vanilla increment: (delta chi)^2 = 2/(1+rho), rho = "
            "E_c Var|y_c| / E_c Var y_c in [0,1]; centred Gaussian y: pi/(pi-1)."
        ),
        expressions={
            "variance_identity_residual": sp.simplify(mom["Var_sym"] - mom["Var_sym_target"]),
            "delta_chi_sq": delta_sq,
            "delta_chi_sq_gaussian": gauss,
            "delta_chi_sq_mean_field": mf,
        },
        assumptions=(
            "dominating term: expectation over the layer's weights and the sign flip w -> -w",
            "equality iff no y_c changes sign over (x, alpha)",
            "mean-field form: infinite width, FC, equal norms",
        ),
        condition=lambda rho=0.0, **_: bool(
            np.all((np.asarray(rho) >= 0) & (np.asarray(rho) <= 1))
        ),
        evaluate=vanilla_increment,
        headline=headline,
        notes="vanilla_increment_mean_field(c), vanilla_increment_from_kernel(K) give the "
        "mean-field forms; for an actual batch use "
        "vanilla_increment_from_kernel(arccos.relu_kernel_at(arccos.input_kernel(x0), l)).",
    )


# --------------------------------------------------------------------------------------------
# L5. Exploding chi or one-dimensional signal
# --------------------------------------------------------------------------------------------
def _l5_evaluate(x0: np.ndarray, layers: np.ndarray | list[int]) -> dict[str, np.ndarray]:
    chi = arccos.mean_field_chi(x0, layers)
    const = {k: float(v.evalf()) for k, v in arccos.asymptotic_constants().items()}
    lay = np.asarray(layers, dtype=float)
    with np.errstate(divide="ignore"):
        inc = np.where(lay > 0, 1 + 2 / np.where(lay > 0, lay, 1.0), np.nan)
    return {"chi": chi, "asymptotic_chi_slope": const["slope"], "delta_chi_sq_asym": inc}


@register(
    "L5",
    title="Vanilla: exploding chi or one-dimensional signal (chi ~ l mean field)",
    paper=LABATIE,
    provenance="derived",
)
def _l5() -> Derivation:
    const = arccos.asymptotic_constants()
    lay = sp.Symbol("l", positive=True)
    n1, n2 = sp.symbols("N N_small", positive=True)
    chi = const["slope"] * lay
    inc = sp.series((chi.subs(lay, lay + 1) / chi) ** 2, lay, sp.oo, 3).removeO()
    width_shift = sp.log(sp.sqrt(n1 / n2))
    # Realised increment on the one-dimensional branch (conv, high-rank noise patches): per
    # layer (delta chi)^2 = A / B with A = (2/N) sum_c s_c a_c (noise ratio), B = (2/N) sum_c
    # s_c b_c (signal ratio), s_c ~ Bernoulli(1/2) the channel's on/off state shared by both,
    # a_c -> 1 (w^T D w / E, D of very large rank), b_c = (w.m)^2/|m|^2 ~ chi^2_1. Second-order
    # delta method for E sqrt(A/B) with relative fluctuations (alpha, beta) of A and B.
    alpha, beta, nn = sp.symbols("alpha beta N", positive=True)
    f = sp.sqrt((1 + alpha) / (1 + beta))
    d = {v: sp.diff(f, *v).subs({alpha: 0, beta: 0}) for v in ((alpha, alpha), (beta, beta),
                                                               (alpha, beta))}
    g = sp.Symbol("g", real=True)
    gauss = sp.exp(-g**2 / 2) / sp.sqrt(2 * sp.pi)
    e_b2 = sp.integrate(g**4 * gauss, (g, -sp.oo, sp.oo))  # E chi^2_1 squared = 3
    p_on = sp.Rational(1, 2)
    var_a = 4 * (p_on * 1 - p_on**2) / nn  # E (s a)^2 = p, E s a = p
    var_b = 4 * (p_on * e_b2 - p_on**2) / nn
    cov_ab = 4 * (p_on * 1 - p_on**2) / nn  # E s^2 a b = p E a E b
    bias = sp.simplify(d[(alpha, alpha)] / 2 * var_a + d[(beta, beta)] / 2 * var_b
                       + d[(alpha, beta)] * cov_ab)
    return Derivation(
        statement=(
            "Vanilla ReLU nets take the 'one-dimensional signal' branch: delta chi -> 1 forces "
            "r_eff -> 1. Infinite-width FC: chi^l ~ (sqrt2/(3 pi)) l, (delta chi)^2 ~ 1 + 2/l "
            "(linear growth); finite width saturates at chi ~ sqrt(N)."
        ),
        expressions={
            "chi_asymptotic": chi,
            "delta_chi_sq_asymptotic": sp.simplify(inc),
            "width_log_chi_shift": width_shift,
            "realised_increment_bias_1d": bias,
        },
        assumptions=("mean field: infinite width FC", "saturation: l/N >~ 0.3, radial floor (S6)",
                     "realised bias: one-dimensional signal (each channel on or off over the "
                     "data), noise patches of very large effective rank (conv), second order "
                     "in 1/N"),
        evaluate=_l5_evaluate,
        headline={
            "chi_slope": _f(const["slope"]),
            "one_over_slope": _f(1 / const["slope"]),
            "log_chi_shift(4x width)": _f(width_shift.subs({n1: 4, n2: 1})),
        },
        notes="evaluate(x0, layers): mean-field chi^l from the kernel iterated on stem output x0 "
        "(same as S9) and the asymptotic 1 + 2/l (NaN at l = 0). Provenance: the alternative is "
        "[paper] (README, Fig 3).",
    )


# --------------------------------------------------------------------------------------------
# L6. BN: delta_phi chi from nu1
# --------------------------------------------------------------------------------------------
def bn_relu_increment(nu1: np.ndarray | float, channel_axis: int | None = None) -> np.ndarray:
    r""":math:`\delta_\phi\chi=\sqrt{2/(2-\mathbb E_c\nu_1(|z_c|)^2)}`.

    ``nu1``: per-channel :math:`\nu_1(|z_c|)` values; if ``channel_axis`` is given the squares
    are averaged over it first (exact form), else the formula is applied elementwise.
    """
    v = np.asarray(nu1, dtype=float) ** 2
    if channel_axis is not None:
        v = v.mean(axis=channel_axis)
    return np.sqrt(2.0 / (2.0 - v))


@register(
    "L6", title="BN: (delta_phi chi)^2 = 2/(2 - nu1(|z|)^2)", paper=LABATIE, provenance="derived"
)
def _l6() -> Derivation:
    mom = sign_symmetrised_moments()
    m1, m2, a1, _ = moment_symbols()
    nu1 = sp.Symbol("nu_1", positive=True)
    mu2_dz = sp.Symbol("mu2_dz", positive=True)
    bn = {m1: 0, m2: 1, a1: nu1}  # BN output: mean 0, variance 1, E|z| = nu1
    mu2_x = mom["Var_sym"].subs(bn)
    delta_sq = sp.simplify((mu2_dz / 2 / mu2_x) / (mu2_dz / 1))
    gauss_sq = sp.simplify(delta_sq.subs(nu1, _gaussian_nu1()))
    return Derivation(
        statement=(
            "Per-channel BN outputs (mean 0, variance 1) followed by ReLU: (delta_phi chi)^2 = "
            "2/(2 - E_c nu1(|z_c|)^2) >= 1, no Gaussianity needed; Gaussian z: pi/(pi-1)."
        ),
        expressions={
            "mu2_phi_sym": mu2_x,
            "delta_phi_chi_sq": delta_sq,
            "delta_phi_chi_sq_gaussian": gauss_sq,
            "delta_phi_chi_gaussian": sp.sqrt(gauss_sq),
        },
        assumptions=("dominating term (sign-symmetrised)", "unit-variance centred BN output"),
        condition=lambda nu1=0.0, **_: bool(np.all(np.asarray(nu1) ** 2 < 2)),
        evaluate=bn_relu_increment,
        headline={
            "delta_phi_chi_sq_gaussian": _f(gauss_sq),
            "delta_phi_chi_gaussian": _f(sp.sqrt(gauss_sq)),
            "delta_phi_chi_sq(nu1=0.5)": _f(delta_sq.subs(nu1, sp.Rational(1, 2))),
        },
        notes="bn_res: the same formula with nu1 at loc2 (the conv is neutral, L1).",
    )


# --- predictions used by the L1-L6 checks (issue 14) ---
# Each function below is the single source of one prediction of the registry's L1-L6 checks
# (verify/claims_labatie.py); where a closed form is derived above, it is read from that
# derivation's sympy expression, so the checks move when the derivation does.
def _expression(claim_id: str, name: str) -> sp.Expr:
    """Expression ``name`` of the registered derivation ``claim_id`` (built lazily, cached)."""
    from theory.derivation import get  # the registry imports this module: resolve at call time

    return get(claim_id).expressions[name]


def he_layer_ratios(fan_in: int, batch: int) -> dict[str, float]:
    r"""L1 (a), periodic boundaries or FC: expected moment ratios over one He layer.

    :math:`\mathbb E_\omega\nu_2(y)/\nu_2(x)=\mathbb E_\omega\mu_2(y)/\mu_2(x)=
    \mathbb E_\omega\mu_2(dy)/\mu_2(dx)=2`, exactly, at any fan-in ``fan_in`` and batch size
    ``batch`` (each pixel lies in :math:`k^2` patches; FC: :math:`p=x`), read from the L1
    derivation's ``periodic_ratio``. Keys ``nu2``, ``mu2``, ``noise mu2``. The arguments carry
    no dependence in the exact result; they let a wrong theory with a finite-size correction
    (a mutation) be expressed.
    """
    del fan_in, batch  # exact at every size
    r = float(_expression("L1", "periodic_ratio"))
    return {"nu2": r, "mu2": r, "noise mu2": r}


def relu_conditional_moments(
    patches: np.ndarray, noise_patches: np.ndarray | None = None
) -> dict[str, float]:
    r"""L2 (a): exact :math:`\mathbb E_\omega` of the moments after a He–ReLU layer given its
    input: ``E_nu2_x`` :math:`=\frac12\mathbb E\nu_2(y)=\frac1K\mathbb E\|p\|^2` and (noise
    given) ``E_mu2_dx`` :math:`=\frac12\mathbb E\mu_2(dy)` (sign symmetrisation
    :math:`\phi(y)^2+\phi(-y)^2=y^2`, :math:`\mathbb 1[y>0]+\mathbb 1[y<0]=1`, with L1).
    Shapes as `conditional_conv_moments` (FC: ``patches`` = the ``(B, N)`` input)."""
    return _l2_evaluate(patches, noise_patches)


def martingale_mean_ratio(l: int, n: int) -> float:
    r"""L2 (a): :math:`\mathbb E\,\nu_2(x^l)/\nu_2(x^0)`, the per-layer conditional mean ratio
    (``E_nu2_x_over_nu2_prev`` of the L2 derivation, = 1) to the power ``l``: 1 at every depth
    ``l`` and width ``n`` (a martingale)."""
    del n  # exact at every width
    return float(_expression("L2", "E_nu2_x_over_nu2_prev")) ** int(l)


def mean_median_half_gap(n: int, l: int) -> float:
    r"""L2 (c2) margin: half the gap between the martingale mean 1 and the median
    :math:`\exp(l\,\mathbb E\log R)` of :math:`\nu_2(x^l)/\nu_2(x^0)` for a collinear signal,
    :math:`(1-e^{l\,\mathbb E\log R})/2`, with the exact L3 drift at width ``n``
    (`vanilla_exact_log_moments`)."""
    drift, _ = vanilla_exact_log_moments(n)
    return float((1.0 - np.exp(float(drift) * l)) / 2.0)


def conv_noise_diffusion_rate(n: int | float) -> float:
    r"""L3 (a), noise once the signal is one-dimensional, noise-patch matrix :math:`D` of very
    large effective rank (:math:`\operatorname{Var}q=2\operatorname{tr}D^2/(\operatorname{tr}D)^2
    \to0`): per-layer relative variance :math:`\frac1N+\frac2N\operatorname{Var}q\to1/N`, from
    the L3 derivation's ``noise_relative_variance`` at :math:`\operatorname{Var}q=0`. The floor
    that the FC noise diffusion exceeds (L3 (c4))."""
    expr = _expression("L3", "noise_relative_variance")
    subs = {s: (0 if s.name == "Var_q" else n) for s in expr.free_symbols}
    return float(expr.subs(subs))


def gaussian_vanilla_increment() -> float:
    r"""L4 (a): centred Gaussian pre-activations, :math:`\rho=1-2/\pi`:
    :math:`\delta\chi=\sqrt{\pi/(\pi-1)}=1.211174` (``delta_chi_sq_gaussian`` of L4)."""
    return float(sp.sqrt(_expression("L4", "delta_chi_sq_gaussian")))


def one_dimensional_increment_limit() -> float:
    r"""L5 (a): on the one-dimensional branch every :math:`y_c` keeps one sign,
    :math:`\rho\to1`, so L4's :math:`\delta\chi=\sqrt{2/(1+\rho)}\to1`."""
    return float(vanilla_increment(1.0))


def one_dimensional_realised_increment(n: int | float) -> float:
    r"""L5 (a), finite width: sim mean of the *realised* :math:`\delta\chi^l` on the
    one-dimensional branch of a conv net, :math:`1+\frac{3}{2N}` to second order.

    :math:`(\delta\chi)^2=A/B` with noise ratio :math:`A` (relative variance :math:`1/N`,
    the conv rate of L3), signal ratio :math:`B` (:math:`5/N`: a channel is on with
    probability 1/2 and then carries :math:`(w\cdot m)^2\sim\chi^2_1`) and covariance
    :math:`1/N` from the shared on/off state, so
    :math:`\mathbb E\sqrt{A/B}\approx1-\tfrac18\tfrac1N+\tfrac38\tfrac5N-\tfrac14\tfrac1N`
    (``realised_increment_bias_1d`` of L5). The band of L5 (c2) is centred here, not at 1.
    """
    expr = _expression("L5", "realised_increment_bias_1d")
    (sym,) = expr.free_symbols
    return 1.0 + float(expr.subs(sym, float(n)))


def saturated_width_shift(width_ratio: float = 4.0) -> float:
    r"""L5 (a), finite width at saturation (:math:`l\gg N`): :math:`\chi_\infty\propto\sqrt N`,
    so widening by ``width_ratio`` adds :math:`\log\sqrt{\text{ratio}}` to :math:`\log\chi`
    (``width_log_chi_shift`` of L5; :math:`\log2` for a four-fold width). An upper bound of
    the shift before saturation (L5 (c4))."""
    expr = _expression("L5", "width_log_chi_shift")
    big, small = sorted(expr.free_symbols, key=lambda s: s.name)  # N, N_small
    return float(expr.subs({big: float(width_ratio), small: 1.0}))


def bn_relu_increment_from_sq(nu1_sq: np.ndarray | float) -> np.ndarray:
    r"""L6 (a) from the channel average :math:`\mathbb E_c\nu_1(|z_c|)^2` (what the simulator
    records at loc3): :math:`\delta_\phi\chi=\sqrt{2/(2-\mathbb E_c\nu_1(|z_c|)^2)}`
    (elementwise; `bn_relu_increment` of the per-channel values, averaged first)."""
    return bn_relu_increment(np.sqrt(np.asarray(nu1_sq, dtype=float)))


def bn_relu_increment_gaussian() -> float:
    r"""L6 (a): Gaussian :math:`z`, :math:`\nu_1=\sqrt{2/\pi}`:
    :math:`\delta_\phi\chi=\sqrt{\pi/(\pi-1)}=1.211174` (``delta_phi_chi_gaussian`` of L6)."""
    return float(_expression("L6", "delta_phi_chi_gaussian"))


# --------------------------------------------------------------------------------------------
# L7. Conv + BN increment
# --------------------------------------------------------------------------------------------
def delta_bn_sq_integral(c: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    r""":math:`(\delta_{\rm BN}\chi)^2=\frac{\operatorname{tr}C}{\operatorname{tr}D}\int_0^\infty
    \prod_i(1+2t\lambda_i)^{-1/2}\sum_i\tilde D_{ii}/(1+2t\lambda_i)\,dt` (L7, exact expectation
    over :math:`w\sim\mathcal N(0,I_K)` of :math:`\frac{\operatorname{tr}C}{\operatorname{tr}D}
    \frac{w^\top Dw}{w^\top Cw}`).

    ``c``: (K, K) signal covariance, ``d``: (K, K) noise second-moment matrix (symmetric PSD).
    Returns ``(value, abs_error)`` (scipy quad after :math:`t=s/\bar\lambda`). Infinite if
    rank C <= 2.
    """
    c = np.asarray(c, dtype=float)
    d = np.asarray(d, dtype=float)
    lam, u = np.linalg.eigh((c + c.T) / 2)
    lam = np.clip(lam, 0.0, None)
    dt = np.einsum("ij,jk,ki->i", u.T, d, u)  # diag(U^T D U)
    scale = float(np.mean(lam))
    if scale <= 0 or np.sum(lam > 1e-12 * lam.max()) <= 2:
        return float("inf"), 0.0
    ls = lam / scale

    def integrand(s: float) -> float:
        x = 1.0 + 2.0 * s * ls
        return float(np.exp(-0.5 * np.sum(np.log(x))) * np.sum(dt / x))

    val, err = integrate.quad(integrand, 0.0, np.inf, epsabs=0.0, epsrel=1e-10, limit=500)
    pref = np.trace(c) / np.trace(d) / scale
    return float(pref * val), float(abs(pref) * err)


def delta_bn_sq_rank_r(r: np.ndarray | float, k: np.ndarray | float) -> np.ndarray:
    r"""Closed form :math:`r(K-2)/(K(r-2))` for :math:`C=\lambda P_r`, :math:`D=dI_K`,
    :math:`r>2`."""
    r = np.asarray(r, dtype=float)
    k = np.asarray(k, dtype=float)
    return r * (k - 2) / (k * (r - 2))


def delta_bn_sq_monte_carlo(
    c: np.ndarray, d: np.ndarray, n_draws: int, rng: np.random.Generator
) -> tuple[float, float]:
    r"""Monte Carlo of :math:`\frac{\operatorname{tr}C}{\operatorname{tr}D}\mathbb E_w
    \frac{w^\top Dw}{w^\top Cw}`, :math:`w\sim\mathcal N(0,I_K)`; returns (mean, standard error).
    Heavy-tailed for rank C <= 4."""
    c = np.asarray(c, dtype=float)
    d = np.asarray(d, dtype=float)
    w = rng.standard_normal((n_draws, c.shape[0]))
    ratio = np.einsum("ni,ij,nj->n", w, d, w) / np.einsum("ni,ij,nj->n", w, c, w)
    ratio *= np.trace(c) / np.trace(d)
    return float(ratio.mean()), float(ratio.std(ddof=1) / np.sqrt(n_draws))


@register(
    "L7",
    title="Conv+BN increment: exact integral and r(K-2)/(K(r-2))",
    paper=LABATIE,
    provenance="derived",
)
def _l7() -> Derivation:
    s = sp.Symbol("s", positive=True)  # r = 2 + s > 2
    x, lam, dd = sp.symbols("x lambda d", positive=True)
    r, kk = sp.symbols("r K", positive=True)
    rr = 2 + s
    chi2_density = x ** (rr / 2 - 1) * sp.exp(-x / 2) / (2 ** (rr / 2) * sp.gamma(rr / 2))
    inv_chi2 = sp.simplify(sp.integrate(chi2_density / x, (x, 0, sp.oo)).subs(s, r - 2))
    # C = lambda P_r, D = d I_K: det(I+2tC)^(-1/2) = (1+2t lambda)^(-r/2),
    # tr(D (I+2tC)^-1) = r d/(1+2t lambda) + (K-r) d.
    # Certificate of the two matrix identities on a concrete case (r = 3, K = 5, symbolic
    # t, lambda, d): det(I+2tC) = (1+2t lambda)^r, tr(D(I+2tC)^-1) = r d/(1+2t lambda) + (K-r) d.
    t = sp.Symbol("t", positive=True)
    r0, k0 = 3, 5
    cm = lam * sp.diag(*([1] * r0 + [0] * (k0 - r0)))
    a_mat = sp.eye(k0) + 2 * t * cm
    det_res = sp.simplify(a_mat.det() - (1 + 2 * t * lam) ** r0)
    tr_res = sp.simplify(
        (dd * sp.eye(k0) * a_mat.inv()).trace() - (r0 * dd / (1 + 2 * t * lam) + (k0 - r0) * dd)
    )
    # Substitute u = 1 + 2 t lambda (dt = du / (2 lambda)) in each power of the integrand.
    u = sp.Symbol("u", positive=True)
    integrand_u = (u ** (-rr / 2) * (rr * dd / u + (kk - rr) * dd) / (2 * lam)).expand()
    integral = sum(sp.integrate(term, (u, 1, sp.oo)) for term in integrand_u.as_ordered_terms())
    closed = sp.simplify(rr * lam / (kk * dd) * integral).subs(s, r - 2)
    closed = sp.factor(sp.simplify(closed))
    g = gaussian.gaussian_symbol()
    aligned = 2 * sp.integrate(g**2 / (1 + g**2) * gaussian.normal_density(g), (g, -sp.oo, sp.oo))
    headline = {"aligned_noise_limit": _f(aligned)}
    for rv in (3, 4, 5, 8, 10, 20, 50):
        headline[f"r/(r-2)(r={rv})"] = _f(sp.limit(closed, kk, sp.oo).subs(r, rv))
    return Derivation(
        statement=(
            "(delta_BN chi)^2 = tr C/tr D * int_0^inf det(I+2tC)^{-1/2} tr(D(I+2tC)^{-1}) dt; "
            "isotropic rank-r signal, isotropic noise: r(K-2)/(K(r-2)) -> r/(r-2); aligned noise "
            "can give delta_BN < 1 (0.688)."
        ),
        expressions={
            "E_inv_chi2_r": inv_chi2,
            "det_identity_residual_r3_K5": det_res,
            "trace_identity_residual_r3_K5": tr_res,
            "delta_bn_sq_rank_r": closed,
            "delta_bn_sq_rank_r_K_inf": sp.limit(closed, kk, sp.oo),
            "aligned_noise_limit": sp.simplify(aligned),
        },
        assumptions=(
            "epsilon ignored; channel average replaced by its expectation over the kernel",
            "closed form: C isotropic on an r-dimensional subspace, D = d I_K, r > 2",
            "r <= 2: infinite expectation",
        ),
        condition=lambda r=3.0, K=3.0, **_: bool(
            np.all(np.asarray(r) > 2) & np.all(np.asarray(K) >= np.asarray(r))
        ),
        evaluate=delta_bn_sq_integral,
        headline=headline,
        notes="In a network, C is the patch covariance (9N-dim for conv) and D is anisotropic: "
        "use the integral with measured C, D.",
    )


# --------------------------------------------------------------------------------------------
# L8. BN-FF exponential growth
# --------------------------------------------------------------------------------------------
def kappa_m(m: np.ndarray | float) -> np.ndarray:
    r""":math:`\kappa_M=M-2+1/(M-1)`: largest kurtosis of a centred unit-variance M-atom law."""
    m = np.asarray(m, dtype=float)
    return m - 2 + 1 / (m - 1)


def gamma_lower_bound(m: np.ndarray | float) -> np.ndarray:
    r"""Rigorous per-layer rate bound :math:`\frac12\log\frac{2}{2-1/\kappa_M}\approx\frac1{4M}`."""
    return 0.5 * np.log(2.0 / (2.0 - 1.0 / kappa_m(m)))


def bn_ff_assembled_rate(nu1: np.ndarray, delta_bn: np.ndarray, layer_axis: int = -1) -> np.ndarray:
    r"""Assembled prediction :math:`\hat\gamma=\operatorname{mean}_{l}\log(\hat\delta_\phi\chi^l\,
    \hat\delta_{\rm BN}\chi^l)` with :math:`\hat\delta_\phi` from L6 (``nu1`` = channel-averaged
    :math:`\nu_1`, or use `bn_relu_increment` first) and ``delta_bn`` (not squared) from L7.
    Both arrays share a shape; the mean is over ``layer_axis``."""
    dphi = bn_relu_increment(nu1)
    return np.mean(np.log(dphi * np.asarray(delta_bn, dtype=float)), axis=layer_axis)


@register(
    "L8",
    title="BN-FF: chi grows exponentially; Gaussian rate 0.19159",
    paper=LABATIE,
    provenance="derived",
)
def _l8() -> Derivation:
    m = sp.Symbol("M", positive=True)
    a, b = sp.symbols("a b", real=True)
    # One atom a against M-1 atoms b, mean 0 and variance 1.
    sol = sp.solve([a + (m - 1) * b, a**2 + (m - 1) * b**2 - m], [a, b], dict=True)[0]
    kappa = sp.simplify((sol[a] ** 4 + (m - 1) * sol[b] ** 4) / m)
    kappa = sp.apart(sp.simplify(kappa), m)
    nu1 = sp.Symbol("nu_1", positive=True)
    delta_sq = 2 / (2 - nu1**2)
    gamma_g = sp.log(delta_sq.subs(nu1, _gaussian_nu1())) / 2
    gamma_low = sp.log(delta_sq.subs(nu1, 1 / sp.sqrt(kappa))) / 2  # nu1^2 >= 1/mu4 >= 1/kappa
    lead = sp.limit(gamma_low * m, m, sp.oo)
    return Derivation(
        statement=(
            "BN feedforward ReLU nets: chi^l >~ exp(gamma l), gamma > 0. Gaussian reference rate "
            "(1/2) log(pi/(pi-1)) (not a bound); rigorous lower bound (1/2) log(2/(2-1/kappa_M)), "
            "kappa_M = M - 2 + 1/(M-1)."
        ),
        expressions={
            "gamma_gaussian": sp.simplify(gamma_g),
            "kappa_M": kappa,
            "gamma_lower_bound": gamma_low,
            "gamma_lower_bound_times_M_limit": lead,
        },
        assumptions=(
            "delta_BN >= 1 (isotropic-like noise) for the lower bound",
            "M = B n^2 equal atoms",
        ),
        condition=lambda M=64, **_: bool(np.all(np.asarray(M) >= 2)),
        evaluate=bn_ff_assembled_rate,
        headline={
            "gamma_gaussian": _f(gamma_g),
            "kappa_M(M=64)": _f(kappa.subs(m, 64)),
            "gamma_lower_bound(M=64)": _f(gamma_low.subs(m, 64)),
        },
        notes="gamma_lower_bound(M), kappa_m(M) are the numeric forms; Holder gives "
        "nu1^2 >= 1/mu4.",
    )


# --------------------------------------------------------------------------------------------
# L9. Fat tails bounds
# --------------------------------------------------------------------------------------------
def kurtosis_bounds(
    mu4: np.ndarray, nu1: np.ndarray, m: np.ndarray | float, rtol: float = 1e-9
) -> np.ndarray:
    r"""Predicate :math:`1/\nu_1^2\le\mu_4\le\kappa_M` (elementwise, relative tolerance ``rtol``)
    for unit-variance BN outputs with M = B n² atoms. Returns a boolean array."""
    mu4 = np.asarray(mu4, dtype=float)
    nu1 = np.asarray(nu1, dtype=float)
    lower = 1.0 / nu1**2
    upper = kappa_m(m)
    return (mu4 >= lower * (1 - rtol)) & (mu4 <= upper * (1 + rtol))


@register(
    "L9",
    title="BN-FF fat tails: 1/nu1^2 <= mu4 <= M - 2 + 1/(M-1)",
    paper=LABATIE,
    provenance="derived",
)
def _l9() -> Derivation:
    p, q = sp.Rational(3, 2), sp.Integer(3)
    a1, a2 = sp.Rational(2, 3), sp.Rational(4, 3)  # |z|^2 = |z|^(2/3) |z|^(4/3)
    holder_check = {
        "conjugate": sp.simplify(1 / p + 1 / q - 1),
        "first_power": sp.simplify(a1 * p - 1),
        "second_power": sp.simplify(a2 * q - 4),
    }
    nu1, mu4 = sp.symbols("nu_1 mu_4", positive=True)
    # 1 <= nu1^(2/3) mu4^(1/3)  <=>  1 <= nu1^2 mu4
    lower = sp.solve(sp.Eq(nu1 ** sp.Rational(2, 3) * mu4 ** sp.Rational(1, 3), 1), mu4)[0]
    m = sp.Symbol("M", positive=True)
    kappa = m - 2 + 1 / (m - 1)
    return Derivation(
        statement=(
            "Per channel and after channel averaging, with M = B n^2 atoms: 1/nu1(|z|)^2 <= "
            "mu4(z) <= kappa_M (Holder + Jensen; M-atom bound). FC B=64: 62.016."
        ),
        expressions={
            "mu4_lower": lower,
            "mu4_upper": kappa,
            "holder_conjugate_residual": holder_check["conjugate"],
            "holder_power_residuals": holder_check["first_power"] + holder_check["second_power"],
        },
        assumptions=("unit-variance, centred per-channel BN output (epsilon ignored)",),
        condition=lambda mu4=3.0, nu1=0.8, M=64, **_: bool(np.all(kurtosis_bounds(mu4, nu1, M))),
        evaluate=kurtosis_bounds,
        headline={
            "kappa_M(M=64)": _f(kappa.subs(m, 64)),
            "gaussian_lower(1/nu1^2)": _f(lower.subs(nu1, _gaussian_nu1())),
        },
        notes="Provenance: the trends are [paper] (Fig 4d, notebook); the bounds are derived.",
    )


# --------------------------------------------------------------------------------------------
# L10. BN-resnet increment
# --------------------------------------------------------------------------------------------
def resnet_increment_sq(
    eta: np.ndarray | float,
    mu2_f: np.ndarray | float | None = None,
    mu2_x: np.ndarray | float | None = None,
    *,
    layer: np.ndarray | float | None = None,
    c0: float | None = None,
) -> np.ndarray:
    r"""BN-resnet unit increment :math:`(\delta\chi^l)^2=1+\eta^l\mu_2(F^l)/\mu_2(x^l)` (exact
    dominating term), or with ``layer`` and ``c0`` the asymptotic :math:`1+\eta/(l+c_0)`.
    Elementwise over arrays."""
    eta = np.asarray(eta, dtype=float)
    if layer is not None:
        c0v = _c0_float() if c0 is None else c0
        return 1.0 + eta / (np.asarray(layer, dtype=float) + c0v)
    if mu2_f is None or mu2_x is None:
        raise ValueError("give mu2_f and mu2_x, or layer (and c0)")
    return 1.0 + eta * np.asarray(mu2_f, dtype=float) / np.asarray(mu2_x, dtype=float)


@functools.cache
def _l10_symbols() -> dict[str, sp.Expr]:
    mom = sign_symmetrised_moments()
    m1, m2, a1, _ = moment_symbols()
    nu1 = sp.Symbol("nu_1", positive=True)
    e_mu2_f = sp.simplify(2 * mom["Var_sym"].subs({m1: 0, m2: 1, a1: nu1}))
    gauss = sp.simplify(e_mu2_f.subs(nu1, _gaussian_nu1()))
    return {"nu1": nu1, "E_mu2_F": e_mu2_f, "E_mu2_F_gaussian": gauss, "c0": sp.simplify(1 / gauss)}


@functools.cache
def _c0_float() -> float:
    return _f(_l10_symbols()["c0"])


@register(
    "L10",
    title="BN-resnet increment (delta chi)^2 = 1 + eta mu2(F)/mu2(x)",
    paper=LABATIE,
    provenance="derived",
)
def _l10() -> Derivation:
    eta, a, mu2_prev, mu2_f = sp.symbols("eta a_l mu2_xprev mu2_F", positive=True)
    inc = (1 + (1 + eta) * a) / (1 + a)
    mu2_x = mu2_prev + mu2_f  # variance accumulates (cross terms vanish in expectation)
    identity = sp.simplify(inc.subs(a, mu2_f / mu2_prev) - (1 + eta * mu2_f / mu2_x))
    sym = _l10_symbols()
    lay, c0 = sp.symbols("l c_0", positive=True)
    return Derivation(
        statement=(
            "(delta chi^l)^2 = (1 + (1+eta) a_l)/(1 + a_l) = 1 + eta mu2(F^l)/mu2(x^l); "
            "E mu2(F) = 1 - nu1^2/2 (= 1 - 1/pi Gaussian); mu2(F)/mu2(x^l) ~ 1/(l + c0), "
            "c0 = mu2(x^0)/mu2(F) = 1.467 for mu2(x^0) = 1."
        ),
        expressions={
            "increment_sq": inc,
            "increment_identity_residual": identity,
            "E_mu2_F": sym["E_mu2_F"],
            "E_mu2_F_gaussian": sym["E_mu2_F_gaussian"],
            "c0": sym["c0"],
            "increment_sq_asymptotic": 1 + eta / (lay + c0),
        },
        assumptions=(
            "skip-branch cross terms vanish in expectation (sign symmetry of the last conv)",
            "last BN output centred, unit variance; dominating term",
            "the bound form with l+1 (paper wording) is unverified",
        ),
        evaluate=resnet_increment_sq,
        headline={"E_mu2_F_gaussian": _f(sym["E_mu2_F_gaussian"]), "c0": _f(sym["c0"])},
    )


# --------------------------------------------------------------------------------------------
# L11. BN-resnet power law
# --------------------------------------------------------------------------------------------
def tau_gaussian(h: np.ndarray | float) -> np.ndarray:
    r""":math:`\tau_G(H)=((\pi/(\pi-1))^H-1)/2` (elementwise)."""
    return ((np.pi / (np.pi - 1)) ** np.asarray(h, dtype=float) - 1) / 2


def resnet_chi_product(
    depth: np.ndarray | float, eta: np.ndarray | float, c0: float | None = None
) -> np.ndarray:
    r""":math:`\chi^L=\prod_{l\le L}(1+\eta/(l+c_0))^{1/2}=\big[\frac{\Gamma(L+c_0+1+\eta)
    \Gamma(c_0+1)}{\Gamma(L+c_0+1)\Gamma(c_0+1+\eta)}\big]^{1/2}` (log-gamma, elementwise)."""
    c0v = _c0_float() if c0 is None else c0
    lay = np.asarray(depth, dtype=float)
    eta = np.asarray(eta, dtype=float)
    g = special.gammaln
    return np.exp(0.5 * (g(lay + c0v + 1 + eta) + g(c0v + 1) - g(lay + c0v + 1) - g(c0v + 1 + eta)))


@register(
    "L11",
    title="BN-resnet power law chi^l ~ l^(eta/2); tau_G(H)",
    paper=LABATIE,
    provenance="derived",
)
def _l11() -> Derivation:
    big_l, c0, eta = sp.symbols("L c_0 eta", positive=True)
    hh = sp.Symbol("H", positive=True, integer=True)
    prod_sq = (
        sp.gamma(big_l + c0 + 1 + eta)
        * sp.gamma(c0 + 1)
        / (sp.gamma(big_l + c0 + 1) * sp.gamma(c0 + 1 + eta))
    )
    recursion = sp.gammasimp(prod_sq / prod_sq.subs(big_l, big_l - 1) - (1 + eta / (big_l + c0)))
    initial = sp.simplify(prod_sq.subs(big_l, 0) - 1)
    # Gamma(X + eta)/Gamma(X) ~ X^eta: log-ratio minus eta log X -> 0 (X = L + c0 + 1, X/L -> 1)
    xx = sp.Symbol("X", positive=True)
    stirling = sp.limit(sp.loggamma(xx + eta) - sp.loggamma(xx) - eta * sp.log(xx), xx, sp.oo)
    power = sp.gamma(c0 + 1) / sp.gamma(c0 + 1 + eta) * sp.exp(stirling)
    dsq = sp.simplify(2 / (2 - _gaussian_nu1() ** 2))  # L6 Gaussian value, = pi/(pi-1)
    tau = (dsq**hh - 1) / 2
    headline = {f"tau_G(H={h})": _f(tau.subs(hh, h)) for h in (1, 2, 3, 4)}
    headline["tau_G(3)/tau_G(1)"] = _f(tau.subs(hh, 3) / tau.subs(hh, 1))
    return Derivation(
        statement=(
            "chi^L = prod_l (1 + eta/(l+c0))^{1/2} = [Gamma-ratio]^{1/2} = Theta(L^{eta/2}); "
            "Gaussian limit with 1 + eta = (pi/(pi-1))^H: tau_G(H) = ((pi/(pi-1))^H - 1)/2."
        ),
        expressions={
            "chi_sq_product": prod_sq,
            "recursion_residual": recursion,
            "initial_residual": initial,
            "log_gamma_ratio_minus_eta_log_X_limit": stirling,
            "chi_sq_over_L_eta_limit": power,
            "tau_G": tau,
        },
        assumptions=(
            "constant eta across units; mu2(F)/mu2(x^l) = 1/(l+c0)",
            "official fit assumes all H layers share the h=1 increment",
        ),
        evaluate=resnet_chi_product,
        headline=headline,
        notes="The log-log slope sits a few per cent below tau_code (ratio of means, "
        "delta_BN > 1). tau_gaussian(H) is the numeric form.",
    )


# --------------------------------------------------------------------------------------------
# L12. Effective depth
# --------------------------------------------------------------------------------------------
def effective_depth(
    layer: np.ndarray | float, h: int | np.ndarray = 2, c0: float | None = None
) -> np.ndarray:
    r""":math:`\ell_{\rm eff}(l)=H\sum_{k\le l}\frac1{k+c_0}=H(\psi(l+c_0+1)-\psi(c_0+1))
    \approx H\log l` (elementwise)."""
    c0v = _c0_float() if c0 is None else c0
    lay = np.asarray(layer, dtype=float)
    return np.asarray(h, dtype=float) * (special.digamma(lay + c0v + 1) - special.digamma(c0v + 1))


@register(
    "L12",
    title="BN-resnets stay near shallow BN-FF statistics (depth H log l)",
    paper=LABATIE,
    provenance="derived",
)
def _l12() -> Derivation:
    lay, c0 = sp.symbols("l c_0", positive=True)
    hh = sp.Symbol("H", positive=True)
    ell = hh * (sp.digamma(lay + c0 + 1) - sp.digamma(c0 + 1))
    step = sp.simplify(sp.expand_func(ell - ell.subs(lay, lay - 1)) - hh / (lay + c0))
    initial = sp.simplify(ell.subs(lay, 0))
    asym = sp.limit(ell - hh * sp.log(lay), lay, sp.oo)
    return Derivation(
        statement=(
            "Unit l changes relative statistics by O(1/l), so it behaves like a BN-FF net at "
            "effective depth H sum_k a_k/(1+a_k) ~ H log l (about 12 at l = 500, H = 2)."
        ),
        expressions={
            "effective_depth": ell,
            "step_residual": step,
            "initial_value": initial,
            "minus_H_log_l_limit": asym,
        },
        assumptions=("heuristic (derived); a_k/(1+a_k) = 1/(k + c0)",),
        evaluate=effective_depth,
        headline={
            "H_log_l(H=2,l=500)": _f((hh * sp.log(lay)).subs({hh: 2, lay: 500})),
            "effective_depth(H=2,l=500)": float(effective_depth(500, 2)),
        },
        notes="Provenance: 'logarithmic version of BN-FF' is [paper] (README, Fig 5).",
    )


# --------------------------------------------------------------------------------------------
# L13. Notebook statements
# --------------------------------------------------------------------------------------------
def log_moment_band_ratio(n_small: np.ndarray | float, n_large: np.ndarray | float) -> np.ndarray:
    r"""Predicted ratio of log-moment band widths (standard deviations) between widths:
    :math:`\sqrt{N_{\rm large}/N_{\rm small}}` (variance rate 5/N, L3)."""
    return np.sqrt(np.asarray(n_large, dtype=float) / np.asarray(n_small, dtype=float))


@register(
    "L13",
    title="Notebook statements: width, boundaries, dataset, epsilon, batch size",
    paper=LABATIE,
    provenance="paper",
)
def _l13() -> Derivation:
    n1, n2, lay = sp.symbols("N_small N_large l", positive=True)
    band = sp.sqrt((5 * lay / n1) / (5 * lay / n2))
    return Derivation(
        statement=(
            "(c1) width mainly changes the 1-sigma bands: log-moment spread ~ N^{-1/2} "
            "(band ratio 2 for N = 128 vs 512; variance ratio 4 = 'slowed down by ~4'); "
            "(c2) zero padding keeps vanilla r_eff away from 1 but matches periodic BN-FF; "
            "(c3) MNIST: larger mu4, lower delta_phi chi at small depth; (c4) epsilon = 0 and "
            "1e-3 equivalent; (c5) FC BN-FF: smaller batch => larger delta_phi chi, smaller "
            "delta_BN chi, lower r_eff(dx)."
        ),
        expressions={"band_ratio": sp.simplify(band)},
        assumptions=("ordering statements; (c3) needs MNIST files",),
        evaluate=log_moment_band_ratio,
        headline={"band_ratio(128 vs 512)": _f(band.subs({n1: 128, n2: 512}))},
        notes="Only (c1) has a numeric prediction; (c2)-(c5) are ordering assertions.",
    )


# --- predictions used by the L7-L13 checks (issue 14) ---
# Each function below is the single source of one prediction of the registry's L7-L13 checks
# (verify/claims_labatie.py). Where a closed form is derived above, it is read from (or built
# on) that derivation, so the checks move when the derivation does. Functions may take measured
# arrays (spectra, moments) as arguments; they never simulate.
def _l7_l13_derived(claim_id: str, name: str) -> sp.Expr:
    """Expression ``name`` of the registered derivation ``claim_id`` (built lazily, cached)."""
    from theory.derivation import get  # the registry imports this module: resolve at call time

    return get(claim_id).expressions[name]


def delta_bn_sq_from_spectra(eigvals: np.ndarray, noise_proj: np.ndarray) -> float:
    r"""L7 (a), in-network: the integral :math:`(\delta_{\rm BN}\chi)^2` from one ``spectra``
    record of the simulator.

    eigvals: the B eigenvalues :math:`\lambda_i` of the signal covariance C at loc1 (the
    non-zero spectrum of the N x N covariance, plus zeros); noise_proj:
    :math:`\tilde D_{ii}/\operatorname{tr}D=u_i^\top Du_i/\operatorname{tr}D` along the matching
    eigenvectors.

    The integrand :math:`\prod_i(1+2t\lambda_i)^{-1/2}\sum_i\tilde D_{ii}/(1+2t\lambda_i)` needs
    only :math:`\lambda_i` and :math:`\tilde D_{ii}`; the N - B directions outside the signal's
    span all have :math:`\lambda=0`, so they enter only through their total noise energy
    :math:`1-\sum_i\tilde D_{ii}/\operatorname{tr}D`, carried by one extra zero-eigenvalue
    direction. ``tr C = sum(eigvals)`` exactly and the result is invariant to the scale of D,
    so `delta_bn_sq_integral` on these diagonal (B+1) x (B+1) matrices equals the integral with
    the full N x N matrices.
    """
    lam = np.clip(np.asarray(eigvals, dtype=float), 0.0, None)
    p = np.clip(np.asarray(noise_proj, dtype=float), 0.0, None)
    rest = max(0.0, 1.0 - float(p.sum()))
    c = np.diag(np.append(lam, 0.0))
    d = np.diag(np.append(p, rest))
    return float(delta_bn_sq_integral(c, d)[0])


def aligned_noise_limit() -> float:
    r"""L7 (a), aligned noise :math:`C=\mathrm{diag}(M,1,\dots,1)`, :math:`D=e_1e_1^\top`,
    :math:`M\to\infty`: :math:`(\delta_{\rm BN})^2\to2\,\mathbb E[g^2/(1+g^2)]=0.688` (the L7
    derivation's sympy integral ``aligned_noise_limit``)."""
    return float(sp.N(_l7_l13_derived("L7", "aligned_noise_limit"), 15))


def gamma_gaussian() -> float:
    r"""L8 (a): Gaussian reference rate :math:`\gamma_G=\frac12\log\frac{\pi}{\pi-1}=0.191590`
    per layer (``gamma_gaussian`` of the L8 derivation): a reference, not the prediction (it
    ignores the :math:`\nu_1` drift of L6 and :math:`\delta_{\rm BN}>1` of L7)."""
    return float(sp.N(_l7_l13_derived("L8", "gamma_gaussian"), 15))


def bn_ff_log_increment_bias(width: int, batch: int, mu4: float, nu1_sq: float,
                             bn_ratio_var: float, noise_kurtosis: float = 3.0) -> float:
    r"""L8: size of the per-layer bias of :math:`\mathbb E\log` of the *realised* BN-FF increment
    :math:`\delta\chi^l=\chi_{\rm loc4}/\chi_{\rm loc1}` against the log of its dominating terms
    (:math:`\hat\delta_\phi` of L6 from measured :math:`\nu_1`, :math:`\hat\delta_{\rm BN}` the
    L7 integral), to second order; the bias is :math:`O(1/N)` per layer.

    *ReLU step.* Per channel, :math:`1[z>0]=(1+\operatorname{sign}z)/2` and
    :math:`\phi(z)=(z+|z|)/2` split the realised moments into their sign-symmetrised values
    (L6) plus parts odd under :math:`w_c\to-w_c`:
    :math:`(\delta_\phi\chi)^2=\hat\delta_\phi^2\,(1+U)/(1+V)` with
    :math:`U=\sum_c\mathbb E_b[\operatorname{sign}(z_c)dz_c^2]/\sum_c\mu_2(dz_c)` and
    :math:`V=2\sum_c\mathbb E_b[z_c|z_c|]/\sum_c(2-\nu_1(|z_c|)^2)`, both of mean zero. So
    :math:`\mathbb E\log\delta_\phi\chi-\log\hat\delta_\phi=\frac14(\mathbb EV^2-\mathbb EU^2)
    +O(N^{-2})`, with :math:`\mathbb EV^2\approx4\mu_4/(BN(2-\nu_1^2)^2)` (the batch mean of
    :math:`z|z|` over B atoms has variance :math:`\mu_4/B`) and :math:`\mathbb EU^2\approx
    \kappa_{dz}/(BN)` (``noise_kurtosis``: kurtosis of the noise, 3 for Gaussian). Both terms
    are positive, so their difference is at most the larger.

    *BN step.* The realised :math:`(\delta_{\rm BN}\chi)^2` is the mean over the N channels of
    :math:`q_c=\frac{\operatorname{tr}C}{\operatorname{tr}D}\frac{w_c^\top Dw_c}{w_c^\top Cw_c}`,
    whose expectation is the integral: :math:`\mathbb E\log\delta_{\rm BN}\chi-
    \log\hat\delta_{\rm BN}=-\frac{v_q}{4N}+O(N^{-2})`, :math:`v_q` = ``bn_ratio_var``, the
    relative variance of one channel's :math:`q_c`.

    Returns the bound :math:`\max(4\mu_4/(2-\nu_1^2)^2,\kappa_{dz})/(4BN)+v_q/(4N)` on the
    magnitude of the per-layer bias of :math:`\log\delta\chi` (a second-order size, not a
    rigorous inequality).
    """
    n, b = float(width), float(batch)
    relu = max(4.0 * float(mu4) / (2.0 - float(nu1_sq)) ** 2, float(noise_kurtosis)) / (4 * b * n)
    return float(relu + float(bn_ratio_var) / (4.0 * n))


def resnet_branch_mu2(nu1_sq: np.ndarray | float) -> np.ndarray:
    r"""L10 (a): the last BN of the branch fixes
    :math:`\mathbb E\mu_2(F)=2\operatorname{Var}\phi(z)=1-\nu_1(|z|)^2/2` (sign-symmetrised,
    unit-variance z; the L10 derivation's ``E_mu2_F``), elementwise in the channel average
    :math:`\nu_1^2` (``nu1_sq``)."""
    expr = _l10_symbols()["E_mu2_F"]
    nu1 = _l10_symbols()["nu1"]
    # E_mu2_F is a polynomial in nu1^2: evaluate it at sqrt(nu1_sq) exactly
    f = sp.lambdify(nu1, expr, "numpy")
    return np.asarray(f(np.sqrt(np.asarray(nu1_sq, dtype=float))), dtype=float)


def resnet_mu2_accumulated(mu2_x0: np.ndarray | float, mu2_branch: np.ndarray) -> np.ndarray:
    r"""L10 (a): variance accumulates, :math:`\mu_2(x^l)=\mu_2(x^0)+\sum_{k\le l}\mu_2(F^k)`
    (skip-branch cross terms vanish in expectation). ``mu2_branch``: ``(..., L)`` branch
    variances of units 1..L; ``mu2_x0``: ``(...)`` stem variances. Returns ``(..., L)``."""
    f = np.asarray(mu2_branch, dtype=float)
    return np.asarray(mu2_x0, dtype=float)[..., None] + np.cumsum(f, axis=-1)


def tau_code(delta_bar: float, h: int) -> float:
    r"""L11 (a): official fit exponent :math:`\tau_{\rm code}=(\bar\delta^{2H}-1)/2`, all H layers
    sharing the first layer's mean increment :math:`\bar\delta`."""
    return float((float(delta_bar) ** (2 * h) - 1.0) / 2.0)


def tau_rank_corrected(h: int | float, batch: int, width: int) -> float:
    r"""L11 (a) with the finite-batch :math:`\delta_{\rm BN}` of L7 in every layer.

    A batch of B inputs in an N-dimensional stream gives BN a signal covariance of rank
    r = B - 1 in K = N dimensions; with isotropic-like noise L7's closed form gives
    :math:`(\delta_{\rm BN}\chi)^2=r(K-2)/(K(r-2))` (= 1 for B > N), so the per-layer squared
    increment is :math:`\frac{\pi}{\pi-1}\cdot r(K-2)/(K(r-2))` and
    :math:`\tau=((\ldots)^H-1)/2`. Reduces to `tau_gaussian` when B > N.
    """
    q = 1.0 + 2.0 * float(tau_gaussian(1))  # pi / (pi - 1)
    r = batch - 1
    f = 1.0 if r >= width else float(delta_bn_sq_rank_r(r, width))
    return float(((q * f) ** h - 1.0) / 2.0)


def gaussian_nu1() -> float:
    r"""L12 (c1): :math:`\nu_1(|z|)=\mathbb E|z|=\sqrt{2/\pi}` for Gaussian z (§0)."""
    return float(sp.N(_gaussian_nu1(), 15))


def log_moment_band_ratio_exact(n_small: int, n_large: int) -> float:
    r"""L13 (c1) with L3's exact per-layer variances: the band (SD) ratio of
    :math:`\log\nu_2(x^l)` between widths is
    :math:`\sqrt{\operatorname{Var}\log R(N_{\rm small})/\operatorname{Var}\log R(N_{\rm large})}`
    (digamma sums of `vanilla_exact_log_moments`; collinear signal), 2.022 for 128 vs 512,
    against :math:`\sqrt{N_{\rm large}/N_{\rm small}}=2` of the asymptotic 5/N
    (`log_moment_band_ratio`)."""
    v_small = float(vanilla_exact_log_moments(n_small)[1])
    v_large = float(vanilla_exact_log_moments(n_large)[1])
    return float(np.sqrt(v_small / v_large))
