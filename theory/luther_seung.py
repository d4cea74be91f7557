r"""Luther & Seung (2019): sample-variance decay in He/Kaiming ReLU nets. One `Derivation` per
claim S1–S9.

Notation (THEORY.md §2.2): pre-activations :math:`z^l=W^lx^{l-1}`, per unit :math:`i` the sample
mean :math:`\hat m_i=\mathbb E_xz_i` and variance :math:`\hat v_i^2=\operatorname{Var}_xz_i`
(population form :math:`\frac1B\sum_a`); network averages :math:`(m^l)^2,(v^l)^2` and total
variance :math:`(\sigma^l)^2`; sample-variance fraction :math:`(v^l)^2/(\sigma^l)^2`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import arccos, gaussian, labatie
from theory.derivation import LUTHER_SEUNG, Derivation, get, register

__all__ = [
    "bn_fraction",
    "data_dependent_init_prediction",
    "decay_law",
    "decomposition",
    "first_layer_total_variance",
    "kernel_fractions",
    "mean_field_pieces",
    "mean_field_chi",
]


def _f(expr: sp.Expr) -> float:
    return float(sp.N(expr, 30))


# --------------------------------------------------------------------------------------------
# S1. Exact decomposition
# --------------------------------------------------------------------------------------------
def decomposition(z: np.ndarray, ddof: int = 0) -> dict[str, float]:
    r"""Estimate :math:`(\sigma^l)^2`, :math:`(m^l)^2`, :math:`(v^l)^2` from pre-activations.

    ``z``: (..., units, B) array (leading axes = independent networks, all pooled as units).
    ``ddof=1`` uses the :math:`\frac1{B-1}` variance, corrected by :math:`(B-1)/B` so that the
    identity :math:`\sigma^2=m^2+v^2` stays exact. Returns the three values, the fraction
    :math:`v^2/\sigma^2` and the relative residual of the identity.
    """
    z = np.asarray(z, dtype=float)
    b = z.shape[-1]
    sigma2 = float(np.mean(z**2))
    m2 = float(np.mean(np.mean(z, axis=-1) ** 2))
    v2 = float(np.mean(np.var(z, axis=-1, ddof=ddof)))
    if ddof:
        v2 *= (b - ddof) / b
    return {
        "sigma2": sigma2,
        "m2": m2,
        "v2": v2,
        "fraction": v2 / sigma2,
        "relative_residual": abs(sigma2 - m2 - v2) / sigma2,
    }


@register(
    "S1",
    title="Total variance = mean sample variance + mean squared sample mean",
    paper=LUTHER_SEUNG,
    provenance="paper",
)
def _s1() -> Derivation:
    b = 6
    zs = sp.symbols(f"z1:{b + 1}", real=True)
    mean = sum(zs) / b
    per_unit = sp.expand(sum(z**2 for z in zs) / b - mean**2 - sum((z - mean) ** 2 for z in zs) / b)
    bs = sp.Symbol("B", positive=True, integer=True)
    s_unb = sp.Symbol("s2_unbiased", positive=True)
    return Derivation(
        statement=(
            "(sigma^l)^2 = (m^l)^2 + (v^l)^2 at every width and depth: per unit "
            "E_x z^2 = m_hat^2 + v_hat^2 (population estimator), then average over the network."
        ),
        expressions={
            "per_unit_residual_B6": sp.simplify(per_unit),
            "population_from_unbiased": (bs - 1) / bs * s_unb,
        },
        assumptions=(
            "one estimator for all three quantities (population form, or 1/(B-1) "
            "with the (B-1)/B correction)",
        ),
        evaluate=decomposition,
        headline={"per_unit_residual": _f(per_unit)},
        notes="Exact algebraic identity; the B = 6 expansion is the symbolic certificate "
        "(the identity is linear in the sum over samples, so any B works the same way).",
    )


# --------------------------------------------------------------------------------------------
# S2. Total variance preserved
# --------------------------------------------------------------------------------------------
def first_layer_total_variance(x0: np.ndarray) -> float:
    r""":math:`(\sigma^1)^2=2\,\mathbb E_x\|x^0\|^2/N_0` for Kaiming weights; ``x0``: (B, N0)."""
    x0 = np.asarray(x0, dtype=float)
    return float(2.0 * np.mean(np.sum(x0**2, axis=1)) / x0.shape[1])


@register(
    "S2",
    title="Kaiming preserves the total variance in expectation at any width",
    paper=LUTHER_SEUNG,
    provenance="paper",
)
def _s2() -> Derivation:
    dim = 4
    xs = sp.symbols(f"x1:{dim + 1}", real=True)
    ws = sp.symbols(f"w1:{dim + 1}", real=True)
    n0, nl, n_prev = sp.symbols("N_0 N_l N_prev", positive=True)
    var_w = 2 / n0
    # E (w.x)^2 with E w_i w_j = var_w delta_ij: replace w_i w_j -> var_w delta_ij.
    quad = sp.Poly(sp.expand(sum(w * x for w, x in zip(ws, xs, strict=True)) ** 2), *ws)
    e_quad = 0
    for powers, coeff in quad.terms():
        if sorted(powers) == [0] * (dim - 1) + [2]:
            e_quad += coeff * var_w
    sq_norm = sum(x**2 for x in xs)
    first_layer = sp.simplify(e_quad / sq_norm)  # 2/N0 per unit
    e_phi2 = gaussian.relu_gaussian_facts()["E_phi2"]  # E phi(g)^2 = 1/2 (sign symmetry)
    ratio = sp.simplify(nl * e_phi2 * 2 / n_prev)  # E||x^l||^2/||x^{l-1}||^2
    facts = gaussian.relu_gaussian_facts()
    n = sp.Symbol("N", positive=True)
    return Derivation(
        statement=(
            "E_W ||x^l||^2 = ||x^{l-1}||^2 N_l/N_{l-1} exactly (L2), so the total variance is "
            "constant at constant width; (sigma^1)^2 = 2 E_x||x^0||^2/N_0. Per network its log "
            "diffuses (relative variance 5/N per layer, single input)."
        ),
        expressions={
            "first_layer_variance_per_sq_norm": first_layer,
            "norm_ratio": ratio,
            "relative_variance_per_layer": facts["Var_2phi2"] / n,
            "median_decay": sp.exp(-facts["Var_2phi2"] * sp.Symbol("l", positive=True) / (2 * n)),
        },
        assumptions=("Kaiming N(0, 2/fan-in), zero biases", "expectation over the weights"),
        evaluate=first_layer_total_variance,
        headline={"norm_ratio(equal widths)": _f(ratio.subs(nl, n_prev))},
    )


# --------------------------------------------------------------------------------------------
# S3. Kernel fractions
# --------------------------------------------------------------------------------------------
def kernel_fractions(x: np.ndarray, layers: np.ndarray | list[int]) -> np.ndarray:
    r"""Infinite-width pre-activation sample-variance fraction at each of ``layers`` (sorted ints
    >= 1) for input batch ``x`` (B, N0): iterate :math:`K^1=\frac2{N_0}XX^\top` (S3)."""
    return arccos.relu_kernel_trajectory(arccos.input_kernel(x), layers)["fraction"]


@register(
    "S3",
    title="Infinite width: sample-variance fraction = 1 - mean kernel correlation",
    paper=LUTHER_SEUNG,
    provenance="derived",
)
def _s3() -> Derivation:
    bs = sp.Symbol("B", positive=True, integer=True)
    rho_bar = sp.Symbol("rhobar", real=True)
    mean_k = (bs * 1 + bs * (bs - 1) * rho_bar) / bs**2  # unit diagonal, mean off-diag rho_bar
    frac = sp.factor(sp.simplify(1 - mean_k / 1))
    target = (1 - 1 / bs) * (1 - rho_bar)
    # Headline: B -> infinity, equal norms, orthogonal inputs (rho_1 = 0): fraction = 1 - rho_l.
    fr = arccos.iterate_correlation_eps(0.0, [1, 2, 5, 10])
    return Derivation(
        statement=(
            "(v^l)^2/(sigma^l)^2 = 1 - mean(K^l)/mean(diag K^l) with the He-ReLU kernel "
            "recursion K^{l+1}_ab = (1/pi) sqrt(K_aa K_bb)(sin t + (pi - t) cos t); equal norms: "
            "(1 - 1/B)(1 - rhobar^l)."
        ),
        expressions={
            "fraction_equal_norms": frac,
            "equal_norm_residual": sp.simplify(frac - target),
        },
        assumptions=("infinite width", "population estimator", "K^1 = (2/N0) X X^T"),
        evaluate=kernel_fractions,
        headline={
            f"fraction(B=inf,rho1=0,l={lv})": float(v)
            for lv, v in zip((1, 2, 5, 10), fr, strict=True)
        },
        notes="Headline fractions: B -> infinity, equal norms, rho_1 = 0 (i.i.d. Gaussian inputs "
        "in high dimension); a batch of B such inputs multiplies them by about (1 - 1/B).",
    )


# --------------------------------------------------------------------------------------------
# S4. The correlation map
# --------------------------------------------------------------------------------------------
def _s4_evaluate(rho1: float, layers: np.ndarray | list[int]) -> dict[str, np.ndarray]:
    eps = arccos.iterate_correlation_eps(rho1, layers)
    c0, _ = arccos.estimate_c0(rho1)
    lay = np.asarray(layers, dtype=float)
    const = {k: float(v.evalf()) for k, v in arccos.asymptotic_constants().items()}
    return {
        "one_minus_rho": eps,
        "leading": const["nine_pi2_over_2"] / lay**2,
        "refined": arccos.refined_one_minus_rho(lay, c0),
        "offset": eps**-0.5 - const["slope"] * lay - const["log_coef"] * np.log(lay),
        "c0": np.float64(c0),
    }


@register(
    "S4",
    title="ReLU correlation map: marginal fixed point; 1 - rho_l ~ 9 pi^2/(2 l^2)",
    paper=LUTHER_SEUNG,
    provenance="derived",
)
def _s4() -> Derivation:
    rho, f = arccos.relu_correlation_map_expr()
    fprime = sp.simplify(sp.diff(f, rho))
    ser = arccos.correlation_map_series()
    const = arccos.asymptotic_constants()
    lay = sp.Symbol("l", positive=True)
    c0_sym = sp.Symbol("C_0", real=True)
    c0, _ = arccos.estimate_c0(0.0)
    return Derivation(
        statement=(
            "f(1) = 1, f'(1) = 1 (marginal fixed point), f(0) = 1/pi, f(-1) = 0, f(rho) > rho on "
            "[-1,1). 1 - f(1-eps) = eps - (2 sqrt2/(3 pi)) eps^{3/2} - (sqrt2/(30 pi)) eps^{5/2} "
            "+ O(eps^3); (1-rho_l)^{-1/2} = (sqrt2/(3 pi)) l + log(l)/(sqrt2 pi) + C0 + o(1)."
        ),
        expressions={
            "f": f,
            "f_prime": fprime,
            "f_at_1": sp.simplify(f.subs(rho, 1)),
            "f_prime_at_1": sp.simplify(sp.limit(fprime, rho, 1, "-")),
            "f_at_0": sp.simplify(f.subs(rho, 0)),
            "f_at_minus_1": sp.simplify(f.subs(rho, -1)),
            # (f - rho)' = -acos(rho)/pi < 0 on [-1, 1) and f(1) - 1 = 0  =>  f(rho) > rho;
            # f' = (pi - acos(rho))/pi >= 0 with f(-1) = 0, f(1) = 1  =>  f([-1, 1]) = [0, 1].
            "f_minus_rho_derivative": sp.simplify(fprime - 1),
            "one_minus_f_series": ser["eps_series"],
            "angle_series": ser["angle_series"],
            "refined_u": const["slope"] * lay + const["log_coef"] * sp.log(lay) + c0_sym,
            "leading_one_minus_rho": const["nine_pi2_over_2"] / lay**2,
        },
        assumptions=("He/ReLU, infinite width", "C0 depends on rho_1 (0.5087 for rho_1 = 0)"),
        evaluate=_s4_evaluate,
        headline={
            "nine_pi2_over_2": _f(const["nine_pi2_over_2"]),
            "slope": _f(const["slope"]),
            "log_coef": _f(const["log_coef"]),
            "f(0)": _f(const["f0"]),
            "C0(rho1=0)": c0,
        },
        notes="evaluate(rho1, layers): float64 eps-iteration (validated against mpmath), the "
        "leading and refined asymptotics and the offset sequence. C0 is extrapolated from "
        "l in [1e4, 1e6].",
    )


# --------------------------------------------------------------------------------------------
# S5. Decay law
# --------------------------------------------------------------------------------------------
def decay_law(x: np.ndarray, layers: np.ndarray | list[int]) -> dict[str, np.ndarray]:
    r"""Iterated fraction, its input-norm floor
    :math:`\operatorname{Var}_a\|x_a\|/\mathbb E_a\|x_a\|^2`
    and the asymptotic :math:`(1-\frac1B)\frac{9\pi^2}{2l^2}+\text{floor}` at ``layers``;
    ``x``: (B, N0)."""
    tr = arccos.relu_kernel_trajectory(arccos.input_kernel(x), layers)
    b = np.asarray(x).shape[0]
    lay = np.asarray(layers, dtype=float)
    nine = float(arccos.asymptotic_constants()["nine_pi2_over_2"].evalf())
    return {
        "fraction": tr["fraction"],
        "floor": tr["floor"],
        "asymptotic": (1 - 1 / b) * nine / lay**2 + tr["floor"],
    }


@register(
    "S5",
    title="Sample-variance decay is Theta(l^-2) with an input-norm floor",
    paper=LUTHER_SEUNG,
    provenance="derived",
)
def _s5() -> Derivation:
    bs = sp.Symbol("B", positive=True, integer=True)
    lay = sp.Symbol("l", positive=True)
    floor = sp.Symbol("floor", nonnegative=True)
    nine = arccos.asymptotic_constants()["nine_pi2_over_2"]
    law = (1 - 1 / bs) * nine / lay**2 + floor
    # Floor: 1 - (mean ||x||)^2 / mean ||x||^2 = Var||x|| / E||x||^2 (diagonal kept, K_ab -> norms)
    n1, n2 = sp.symbols("n_1 n_2", positive=True)
    norms = (n1, n2)
    mean_n = sum(norms) / 2
    mean_sq = sum(v**2 for v in norms) / 2
    floor_residual = sp.simplify((1 - mean_n**2 / mean_sq) - (mean_sq - mean_n**2) / mean_sq)
    return Derivation(
        statement=(
            "Infinite width: fraction ~ (1 - 1/B) 9 pi^2/(2 l^2) + Var_a||x_a||/E_a||x_a||^2; the "
            "decay is polynomial (marginal fixed point), not exponential; sphere inputs: floor 0."
        ),
        expressions={
            "decay_law": law,
            "log_log_slope": sp.simplify(lay * sp.diff(sp.log(law.subs(floor, 0)), lay)),
            "floor_identity_residual": floor_residual,
        },
        assumptions=("infinite width; kernel preserves norms", "l >> 1"),
        evaluate=decay_law,
        headline={"coefficient(B=inf)": _f(nine)},
        notes="Provenance: the qualitative decay is [paper] (abstract); the law is derived.",
    )


# --------------------------------------------------------------------------------------------
# S6. Finite width
# --------------------------------------------------------------------------------------------
def mean_field_pieces(x: np.ndarray, layers: np.ndarray | list[int]) -> dict[str, np.ndarray]:
    r"""Mean-field reference for finite-width comparisons at ``layers``: the mean pairwise
    cosine of pre-activations :math:`\bar\rho^{\,l}`, the fraction, and its radial
    (:math:`\operatorname{Var}\|z\|/\mathbb E\|z\|^2`, constant in mean field) and angular parts
    (fraction minus radial). ``x``: (B, N0)."""
    tr = arccos.relu_kernel_trajectory(arccos.input_kernel(x), layers)
    return {
        "mean_cosine": tr["mean_corr"],
        "fraction": tr["fraction"],
        "radial": tr["floor"],
        "angular": tr["fraction"] - tr["floor"],
    }


@register(
    "S6",
    title="Finite width: angles follow mean field; radial O(1/N) floor",
    paper=LUTHER_SEUNG,
    provenance="derived",
)
def _s6() -> Derivation:
    n, lay = sp.symbols("N l", positive=True)
    var_log = gaussian.relu_gaussian_facts()["Var_2phi2"] * lay / n
    c_b = sp.Symbol("c_B", positive=True)
    return Derivation(
        statement=(
            "(1) mean pairwise cosines follow mean field at N >= 128; (2) per-layer multiplicative "
            "fluctuations (relative variance 5/N) spread the norms until inputs are collinear: the "
            "fraction floors at c_B/N; (3) per-network total variance is log-normal, "
            "Var log ~ 5 l/N."
        ),
        expressions={"var_log_total_variance": var_log, "radial_floor": c_b / n},
        assumptions=("finite width N; comparisons against the mean-field iteration",),
        evaluate=mean_field_pieces,
        headline={"var_log_rate": _f(var_log.subs({lay: 1, n: 1}))},
        notes="Descriptive claim: the evaluator supplies the mean-field pieces (cosine, fraction, "
        "radial/angular split); the finite-width floor constant c_B is not derived.",
    )


# --------------------------------------------------------------------------------------------
# S7. Batch norm
# --------------------------------------------------------------------------------------------
def bn_fraction(nu1: np.ndarray | float, channel_axis: int | None = None) -> np.ndarray:
    r"""Pre-BN sample-variance fraction after Linear→BN→ReLU→Linear:
    :math:`1-\mathbb E_c\nu_1(|z_c|)^2/2=1/(\delta_\phi\chi)^2` (average over ``channel_axis`` if
    given, else elementwise)."""
    v = np.asarray(nu1, dtype=float) ** 2
    if channel_axis is not None:
        v = v.mean(axis=channel_axis)
    return 1.0 - v / 2.0


@register(
    "S7",
    title="BN removes the decay: fraction 1 - 1/pi = 1/(delta_phi chi)^2",
    paper=LUTHER_SEUNG,
    provenance="derived",
)
def _s7() -> Derivation:
    mom = labatie.sign_symmetrised_moments()
    m1, m2, a1, _ = labatie.moment_symbols()
    nu1 = sp.Symbol("nu_1", positive=True)
    bn = {m1: 0, m2: 1, a1: nu1}
    frac = sp.simplify(1 - mom["Esq_phi_sym"].subs(bn) / mom["E_phi2_sym"].subs(bn))
    nu1_g = gaussian.relu_gaussian_facts()["E_abs"]
    gauss = sp.simplify(frac.subs(nu1, nu1_g))
    delta_sq = _delta_phi_sq_l6(nu1)
    return Derivation(
        statement=(
            "BN output: m_hat = 0, fraction 1. Linear output feeding the next BN: fraction = "
            "1 - E_c(E_x phi(z_c))^2/E_c E_x phi(z_c)^2 = 1 - E_c nu1(|z_c|)^2/2 = "
            "1/(delta_phi chi)^2; Gaussian z: 1 - 1/pi."
        ),
        expressions={
            "fraction": frac,
            "fraction_gaussian": gauss,
            "identity_residual": sp.simplify(frac - 1 / delta_sq),
        },
        assumptions=(
            "sign-symmetrised (dominating term), unit-variance BN output",
            "infinite width for the linear output's kernel",
        ),
        evaluate=bn_fraction,
        headline={"fraction_gaussian": _f(gauss)},
        notes="Provenance: 'BN removes the decay' is [paper] (abstract); values derived.",
    )


def _delta_phi_sq_l6(nu1: sp.Expr) -> sp.Expr:
    # L6's (delta_phi chi)^2 = 2/(2 - nu1^2), taken from the registered derivation.
    d = get("L6")
    sym = next(s for s in d.expressions["delta_phi_chi_sq"].free_symbols if s.name == "nu_1")
    return d.expressions["delta_phi_chi_sq"].subs(sym, nu1)


# --------------------------------------------------------------------------------------------
# S8. Data-dependent initialisation
# --------------------------------------------------------------------------------------------
def data_dependent_init_prediction(b: np.ndarray | float) -> dict[str, np.ndarray]:
    r"""S8 predictions for the initialisation part: calibration batch fraction 1 (with
    :math:`\hat m=0,\hat v=1`); held-out batch of size ``b``: :math:`1-\text{fraction}<10/B`."""
    b = np.asarray(b, dtype=float)
    return {"calibration_fraction": np.ones_like(b), "held_out_bound": 10.0 / b}


@register(
    "S8",
    title="Data-dependent init preserving sample statistics (training: describe only)",
    paper=LUTHER_SEUNG,
    provenance="unverified",
)
def _s8() -> Derivation:
    b = 5
    zs = sp.symbols(f"z1:{b + 1}", real=True)
    mean = sum(zs) / b
    var = sum((z - mean) ** 2 for z in zs) / b
    zn = [(z - mean) / sp.sqrt(var) for z in zs]
    new_mean = sp.simplify(sum(zn) / b)
    new_var = sp.simplify(sum(v**2 for v in zn) / b - new_mean**2)
    return Derivation(
        statement=(
            "Layer-sequential data-dependent init: b_i <- -m_hat_i/v_hat_i, W_i <- W_i/v_hat_i "
            "(a BN step folded into the weights). Calibration batch: fraction 1, m_hat = 0, "
            "v_hat = 1; held-out: 1 - fraction = O(1/B) (< 10/B). Training effect: describe only."
        ),
        expressions={"calibrated_mean": new_mean, "calibrated_variance": new_var},
        assumptions=("procedure unverified (paper text unavailable)",),
        evaluate=data_dependent_init_prediction,
        headline={"calibration_fraction": _f(1 - new_mean**2 / new_var)},
        notes="The training comparison is describe-only; only the initialisation is testable.",
    )


# --------------------------------------------------------------------------------------------
# S9. Cross-paper identity
# --------------------------------------------------------------------------------------------
def mean_field_chi(x0: np.ndarray, layers: np.ndarray | list[int]) -> np.ndarray:
    r"""Mean-field Labatie :math:`\chi^l` from the kernel iterated on stem output ``x0`` (B, N0):
    :math:`\chi^l=(\mathrm{frac}(K^1)/\mathrm{frac}(K^{l+1}))^{1/2}` (see
    `arccos.mean_field_chi`)."""
    return arccos.mean_field_chi(x0, layers)


@register(
    "S9",
    title="Cross-paper: chi^l proportional to fraction^(-1/2)",
    paper=LUTHER_SEUNG,
    provenance="derived",
)
def _s9() -> Derivation:
    mu2_dx0, nu2, frac0, frac_l1 = sp.symbols("mu2_dx0 nu2 frac_0 frac_l1", positive=True)
    mu2_x0 = nu2 * frac0
    mu2_xl = nu2 * frac_l1  # nu2 preserved (L2), post-activation fraction = frac(K^{l+1})
    chi_sq = sp.simplify((mu2_dx0 / mu2_xl) / (mu2_dx0 / mu2_x0))
    # Headline: B -> infinity, equal norms, rho_1 = 0: frac(K^1) = 1, frac(K^{l+1}) = 1 - rho_{l+1}
    chi = arccos.iterate_correlation_eps(0.0, [3, 11, 201]) ** -0.5
    return Derivation(
        statement=(
            "Vanilla He-ReLU: (chi^l)^2 = [mu2(dx^l)/mu2(x^l)]/[mu2(dx^0)/mu2(x^0)] with "
            "mu2(dx) and nu2(x) preserved, so chi^l ∝ ((v^{l+1})^2/(sigma^{l+1})^2)^{-1/2}: "
            "sample-variance decay <=> growth of normalised sensitivity."
        ),
        expressions={"chi_sq": chi_sq},
        assumptions=("mean field (infinite width)", "stem output x0 as the first He layer input"),
        evaluate=mean_field_chi,
        headline={
            f"log_chi_mf(l={lv},B=inf,rho1=0)": float(np.log(c))
            for lv, c in zip((2, 10, 200), chi, strict=True)
        },
        notes="Headline: B -> infinity, equal norms, rho_1 = 0 (orthogonal stem outputs). For a "
        "real batch the input-norm floor (S5) lowers chi at large l.",
    )


# --------------------------------------------------------------------------------------------
# --- predictions used by the S checks (issue 14) ---
# (moved here from verify/claims_luther_seung.py: every prediction a check uses comes from
# theory/; each function states its claim and the math)
# --------------------------------------------------------------------------------------------
def _expr(claim_id: str, name: str) -> sp.Expr:
    return get(claim_id).expressions[name]


def _eval(claim_id: str, name: str, **values: float) -> float:
    d = get(claim_id)
    return float(_expr(claim_id, name).subs({d.symbol(k): v for k, v in values.items()}).evalf())


def total_variance_from_parts(m2: np.ndarray, v2: np.ndarray, b: int) -> np.ndarray:
    r"""S1: :math:`(\sigma^l)^2=(m^l)^2+(v^l)^2` with the population estimator (``b`` is the
    batch size, unused by the correct identity; wrong estimators need it)."""
    del b
    return np.asarray(m2) + np.asarray(v2)


def total_variance_ratio(layer: int, width: int) -> float:
    r"""S2: predicted :math:`\mathbb E(\sigma^l)^2/(\sigma^1)^2` at constant width: the per-layer
    norm ratio :math:`N_l/N_{l-1}` (registered sympy ``norm_ratio``, 1 at equal widths) raised
    to :math:`l-1`."""
    return _eval("S2", "norm_ratio", N_l=width, N_prev=width) ** (layer - 1)


def median_decay(layer: int, width: int) -> float:
    r"""S2: per-network median law :math:`e^{-5l/(2N)}` of the total variance (sympy
    ``median_decay``)."""
    return _eval("S2", "median_decay", l=layer, N=width)


def var_log_rate(width: int) -> float:
    r"""S2/L3: per-layer growth :math:`5/N` of the across-network variance of the log total
    variance (one input; sympy ``relative_variance_per_layer``)."""
    return _eval("S2", "relative_variance_per_layer", N=width)


def var_log_rate_finite_width_bias(width: int) -> float:
    r"""S2 (c2): signed finite-width bias of the :math:`5/N` rate, exact minus :math:`5/N`.

    One input: :math:`\log\frac1N\|z^{l+1}\|^2-\log\frac1N\|z^l\|^2=\log F_l+\log A_{l+1}` with
    :math:`A=\frac2N\chi^2_N` (fresh weights) and :math:`F_l=\|\phi(z^l)\|^2/\|z^l\|^2`, a
    function of the (uniform) direction of :math:`z^l` only, so :math:`F_l\perp A_l` and the
    increment has the variance of :math:`\log R=\log F+\log A`,
    :math:`R=\frac2N\chi^2_K,\ K\sim\mathrm{Bin}(N,\frac12)`: the digamma form of L3
    (`labatie.vanilla_exact_log_moments`). It exceeds :math:`5/N` by about 3% at N=128.
    """
    exact = float(labatie.vanilla_exact_log_moments(int(width))[1])
    return exact - var_log_rate(width)


def asymptotic_constants() -> dict[str, float]:
    r"""S4: float values of the depth-asymptotic constants ``slope`` :math:`\sqrt2/(3\pi)`,
    ``log_coef`` :math:`1/(\sqrt2\pi)`, ``nine_pi2_over_2`` :math:`9\pi^2/2` (and ``f0``) from
    `arccos.asymptotic_constants`."""
    return {k: float(v.evalf()) for k, v in arccos.asymptotic_constants().items()}


def decay_exponent() -> float:
    """S5: log-log slope of the decay law without floor, l d log(law)/dl (sympy: -2)."""
    return float(_expr("S5", "log_log_slope"))


def refined_slope_correction(layers: np.ndarray | list[int], c0: float) -> float:
    r"""S5: signed shift of the least-squares log-log slope over ``layers`` that the refined
    form (S4) :math:`1-\rho_l=(\frac{\sqrt2}{3\pi}l+\frac1{\sqrt2\pi}\log l+C_0)^{-2}` adds
    to the leading exponent -2 (positive: the log term flattens the decay; about +0.01 over
    :math:`[10^3,10^4]`)."""
    lay = np.asarray(layers, dtype=float)
    y = np.log(arccos.refined_one_minus_rho(lay, c0))
    x = np.log(lay)
    slope = float(np.polyfit(x, y, 1)[0])
    return slope - decay_exponent()


def power_law_local_rate_ratio(l_a: float, l_b: float) -> float:
    r"""S5: ratio of local exponential decay rates :math:`-d\log(\text{fraction})/dl` at depths
    ``l_a`` and ``l_b`` for a power law :math:`l^{-p}` (rate :math:`p/l`): :math:`l_b/l_a`
    (an exponential law would give 1)."""
    return float(l_b) / float(l_a)


def floor_exponent() -> float:
    r"""S6: exponent p of the finite-width radial floor :math:`c_B/N^p`, :math:`-N\,d\log/dN`
    of the registered ``radial_floor`` (sympy: 1)."""
    d = get("S6")
    n = d.symbol("N")
    e = _expr("S6", "radial_floor")
    return float(sp.simplify(-n * sp.diff(sp.log(e), n)))


def bn_output_fraction(nu2_bn: np.ndarray) -> np.ndarray:
    r"""S7: sample-variance fraction at the BN output, 1 at every depth (per unit
    :math:`\hat m_i=0` exactly, so :math:`v^2=\sigma^2`); same shape as ``nu2_bn``."""
    return np.ones_like(np.asarray(nu2_bn, dtype=float))


def gaussian_bn_fraction() -> float:
    r"""S7: pre-BN fraction :math:`1-1/\pi` for Gaussian BN outputs (sympy
    ``fraction_gaussian``)."""
    return float(_expr("S7", "fraction_gaussian").evalf())


def held_out_first_layer_defect(b: np.ndarray | float) -> np.ndarray:
    r"""S8: expected :math:`1-\text{fraction}` at layer 1 on a held-out batch of size ``b`` after
    the data-dependent init, for i.i.d. Gaussian inputs: :math:`2/(B+1)`.

    Unit :math:`i`: :math:`z_i=w_i\cdot(x-\bar x_{\rm cal})/\hat v_i`, so on the held-out batch
    :math:`\hat m_i=w_i\cdot\Delta/\hat v_i` with :math:`\Delta=\bar x_{\rm held}-\bar x_{\rm cal}
    \sim\mathcal N(0,\frac2BI)` (a difference of two batch means) and
    :math:`\hat v_i^2=\|w_i\|^2\chi^2_{B-1}/B`. Hence :math:`\hat m_i^2=2\chi^2_1/\chi^2_{B-1}`
    and the held-out variance :math:`\chi'^2_{B-1}/\chi^2_{B-1}`; with
    :math:`\mathbb E[1/\chi^2_{B-1}]=1/(B-3)` the ratio of unit averages is
    :math:`\frac{2/(B-3)}{(B-1)/(B-3)+2/(B-3)}=\frac2{B+1}` (corrections O(1/N, 1/D)).
    THEORY.md S8 (a): held-out :math:`\hat m=O(1/\sqrt B)`, :math:`1-\text{fraction}=O(1/B)`.
    """
    return 2.0 / (np.asarray(b, dtype=float) + 1.0)
