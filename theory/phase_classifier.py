r"""Phase classifier of mean-field resnets under variance variation (Y2–Y5), by case analysis.

Given the activation, the architecture, the :math:`\sigma^2`'s and the VV exponents
:math:`\beta`'s, :func:`classify` returns the predicted growth class of
:math:`G_L=\log(\chi^0/\chi^L)` and of the forward norm :math:`p^l`, with exponents and
leading coefficients, from the tables of THEORY.md §3.5. It never iterates the recurrences:
it is the independent side of the Y5 consistency check against
:mod:`theory.meanfield_resnet`. The only numerics are the tanh Gaussian integrals
:math:`\mathrm V(q)`, :math:`\mathrm V'(q)` (by ``scipy.integrate.quad``, not the iterator's
tables) for the T-b fixed point.

Classes of :math:`G_L` (``g_class``; ``g_exponent`` / ``g_coefficient``):

* ``"exp_power"``: :math:`G_L\simeq A L^k`, :math:`0<k\le1` (gradient ratio
  :math:`\exp(\Theta(L^k))`); exponent k, coefficient A;
* ``"log"``: :math:`G_L=c\log L+O(1)` (polynomial ratio :math:`\Theta(L^c)`); exponent c
  (the polynomial exponent), coefficient c;
* ``"sqrt_log"``: :math:`G_L\simeq C\sqrt{\log L}`; exponent 1/2 (of :math:`\log L`),
  coefficient C;
* ``"bounded"``: :math:`G_L=\Theta(1)`; exponent 0.

Classes of :math:`p^l` (``p_class``; ``p_exponent``):

* ``"exp_power"``: :math:`\log p^l\simeq A l^k` (exponent k);
* ``"power"``: :math:`p^l=\Theta(l^k)`, k > 0; ``"power_log"``: :math:`\Theta(l^k\log l)`;
* ``"log"``: :math:`\Theta(\log l)`; ``"bounded"``: :math:`\Theta(1)`.

``g_log_correction`` δ (doubly marginal T-b cells, :math:`q^*=0` with
:math:`\sigma_v^2\sigma_w^2=1-\beta_v`): the local rate approaches its limit as
:math:`dG/d\log L\simeq c+\delta/\log L` (δ = −1, derived: there
:math:`q^l\simeq1/(2\beta_w\log l)` and :math:`\mathrm V'(q)\simeq1-2q`); the same δ applies
to :math:`d\log p/d\log L`. Zero elsewhere.

``transient_exponent`` ν (derived): power-law transients that make local exponents at
:math:`L=10^6` miss their limits by more than the §3.7 tolerances in a few cells near phase
boundaries. Sources: the saturation correction :math:`\mathrm V(q)=1-\sqrt{2/(\pi q)}` with
:math:`q\propto l^{1-m-\beta_w}` (ν = (1−m−β_w)/2, T-a); the linearised approach to the T-b
fixed point, :math:`l\,dq/dl=\sigma_w^2(\sigma_v^2\mathrm V(q)+\dots)-\beta_wq`, i.e.
ν = :math:`\beta_w-\sigma_v^2\sigma_w^2\,\partial_q\mathrm V(q^*)` with
:math:`\partial_q\mathrm V=3\mathrm V'-2(1-\mathrm V)` (Stein); sub-dominant sources of p
(ν = difference of their exponents); the input :math:`p^0` (ν = growth exponent of p); the
discreteness :math:`\log(1+x)\ne x` (ν = decay exponent of the increments).
"""

from __future__ import annotations

import dataclasses
import functools
import math

ACTIVATIONS = ("relu", "tanh")
ARCHITECTURES = ("full", "reduced")
G_CLASSES = ("exp_power", "log", "sqrt_log", "bounded")
P_CLASSES = ("exp_power", "power", "power_log", "log", "bounded")
KAPPA = 4.0 / (3.0 * math.sqrt(2.0 * math.pi))  # ∫sech⁴/√(2π)
_EQ = 1e-9  # exponent equality tolerance (grid values are exact binary fractions)


@dataclasses.dataclass(frozen=True)
class PhasePrediction:
    """Predicted asymptotic classes of G_L and p^l (see the module docstring for the classes).

    ``regime``: ``"relu"`` / ``"relu-reduced"`` / ``"T-a"``..``"T-e"`` / ``"tanh-reduced"``
    with a sub-label; ``q_limit``: limit of q^l (``math.inf``, a fixed point q*, or 0);
    ``boundary``: the cell lies on a phase boundary (U = 1, e = 1, β_w = 1 − m, β* = 1 or
    c = 1 − β*), where the polynomial/logarithmic rule applies; ``explanation``: the derivation
    in one paragraph; ``transient_exponent`` ν: derived exponent of the leading relative
    correction, the local rates approach their limits as :math:`r(L)=r_\\infty+bL^{-\\nu}`
    (``inf`` when corrections are fast or logarithmic).
    """

    g_class: str
    g_exponent: float
    g_coefficient: float
    p_class: str
    p_exponent: float
    regime: str
    explanation: str
    q_limit: float = math.nan
    boundary: bool = False
    g_log_correction: float = 0.0
    transient_exponent: float = math.inf


def _eq(a: float, b: float) -> bool:
    return abs(a - b) <= _EQ


# --------------------------------------------------------------------------------------------
# tanh Gaussian integrals by adaptive quadrature (independent of the iterator's tables)
# --------------------------------------------------------------------------------------------
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _gauss_quad(f: object, q: float) -> float:
    """2∫_0^∞ f(√q g) φ(g) dg by adaptive quadrature, breakpoint at the scale g = 1/√q."""
    from scipy.integrate import quad

    s = math.sqrt(q)
    hi = min(40.0, 60.0 / s)  # f decays like exp(-2√q g) beyond g ≈ 20/√q; φ beyond 40

    def integrand(g: float) -> float:
        return 2.0 * f(s * g) * math.exp(-0.5 * g * g) / _SQRT_2PI  # type: ignore[operator]

    pts = [p for p in (1.0 / s, 3.0 / s, 1.0, 3.0) if 0.0 < p < hi]
    val, _ = quad(integrand, 0.0, hi, limit=400, epsabs=1e-15, epsrel=1e-12, points=pts)
    return val


@functools.lru_cache(maxsize=4096)
def tanh_V_quad(q: float) -> float:
    r""":math:`\mathrm V_{\tanh}(q)=\mathbb E\tanh^2(\sqrt q g)` by scipy ``quad`` in g-space
    (as :math:`1-\mathbb E\,\mathrm{sech}^2` for q ≥ 1, to keep the small tail accurate)."""
    if q <= 0.0:
        return 0.0
    if q < 1.0:
        return _gauss_quad(lambda x: math.tanh(x) ** 2, q)
    return 1.0 - _gauss_quad(lambda x: 1.0 / math.cosh(x) ** 2, q)


@functools.lru_cache(maxsize=4096)
def tanh_Vp_quad(q: float) -> float:
    r""":math:`\mathrm V'_{\tanh}(q)=\mathbb E\,\mathrm{sech}^4(\sqrt q g)`, scipy ``quad``."""
    if q <= 0.0:
        return 1.0
    return _gauss_quad(lambda x: 1.0 / math.cosh(x) ** 4, q)


def tanh_Vq_quad(q: float) -> float:
    r""":math:`\partial_q\mathrm V_{\tanh}(q)=\tfrac12\mathbb E(\tanh^2)''(\sqrt qg)
    =3\mathrm V'(q)-2(1-\mathrm V(q))` (Stein's lemma); equals 1 at q = 0."""
    return 3.0 * tanh_Vp_quad(q) - 2.0 * (1.0 - tanh_V_quad(q))


def tanh_fixed_point(slope: float, offset: float = 0.0) -> float:
    r"""Largest root of :math:`q=\text{offset}+\text{slope}\,\mathrm V_{\tanh}(q)`, q ≥ 0.

    With offset 0 a positive root exists iff slope > 1 (:math:`\mathrm V(q)<q`,
    :math:`\mathrm V'(0)=1`); otherwise returns 0. T-b: slope
    :math:`=\sigma_v^2\sigma_w^2/(1-\beta_v)`.
    """
    from scipy.optimize import brentq

    if offset <= 0.0 and slope <= 1.0:
        return 0.0
    hi = offset + slope  # V <= 1: the root is below offset + slope
    lo = offset if offset > 0.0 else 1e-12
    if offset <= 0.0:
        # bracket away from the trivial root q = 0: g(q) = slope V(q) - q > 0 for small q
        lo = 1e-6 * min(1.0, (slope - 1.0))
        while slope * tanh_V_quad(lo) - lo <= 0.0 and lo > 1e-300:
            lo *= 0.1
    return float(brentq(lambda q: offset + slope * tanh_V_quad(q) - q, lo, hi, xtol=1e-13,
                        rtol=1e-13))


# --------------------------------------------------------------------------------------------
# Sums of power laws (Y2/Y3 building blocks)
# --------------------------------------------------------------------------------------------
def _sum_class(beta: float) -> tuple[str, float]:
    r"""Class of :math:`\sum_{k\le l}k^{-\beta}`: power 1−β, log, or bounded."""
    if beta < 1.0 - _EQ:
        return "power", 1.0 - beta
    if _eq(beta, 1.0):
        return "log", 0.0
    return "bounded", 0.0


def _source_exponent(terms: list[tuple[float, float]]) -> float:
    """β* = min exponent over source terms with positive amplitude (inf if none)."""
    live = [b for amp, b in terms if amp > 0.0]
    return min(live) if live else math.inf


def _multiplicative_p(c: float, U: float, beta_star: float) -> tuple[str, float, bool, str]:
    r"""Class of :math:`p^l=p^{l-1}(1+c\,l^{-U})+s_l`, :math:`s_l=\Theta(l^{-\beta^*})` (Y3)."""
    if c <= 0.0:
        U = math.inf
    if U < 1.0 - _EQ:
        return "exp_power", 1.0 - U, False, (
            f"log p ≃ c/(1−U) l^(1−U) with U = {U:g} < 1 (the sources are negligible)"
        )
    if _eq(U, 1.0):
        if not math.isfinite(beta_star):
            return "power", c, True, f"U = 1, no sources: p = p0 ∏(1 + c/k) = Θ(l^c), c = {c:g}"
        b = 1.0 - beta_star
        if _eq(c, b):
            return "power_log", c, True, (
                f"U = 1 and c = 1 − β* = {c:g}: p = Θ(l^c log l)"
            )
        return "power", max(c, b), True, (
            f"U = 1: p = P_l(p0 + Σ s_k/P_k), P_l ~ l^c: exponent max(c, 1 − β*) = "
            f"max({c:g}, {b:g})"
        )
    # U > 1: the product converges
    cls, k = _sum_class(beta_star) if math.isfinite(beta_star) else ("bounded", 0.0)
    return cls, k, _eq(beta_star, 1.0), (
        f"U = {U:g} > 1: ∏(1 + c k^(−U)) converges, p ~ Σ s_k with β* = {beta_star:g}: {cls}"
    )


def _multiplicative_g(c: float, U: float) -> tuple[str, float, float, bool, str]:
    r"""Class of :math:`G_L=\sum\log(1+c\,l^{-U})` (Y2)."""
    if c <= 0.0:
        return "bounded", 0.0, 0.0, False, "c = 0: no gradient growth"
    if U < 1.0 - _EQ:
        if _eq(U, 0.0):
            return "exp_power", 1.0, math.log1p(c), False, (
                f"U = 0: G_L = L log(1 + c) exactly, c = {c:g}"
            )
        return "exp_power", 1.0 - U, c / (1.0 - U), False, (
            f"U = {U:g} < 1: G_L ≃ c/(1−U) L^(1−U), c = {c:g}"
        )
    if _eq(U, 1.0):
        return "log", c, c, True, f"U = 1: G_L = c log L + O(1), polynomial exponent c = {c:g}"
    return "bounded", 0.0, 0.0, False, f"U = {U:g} > 1: Σ c l^(−U) converges"


# --------------------------------------------------------------------------------------------
# The classifier
# --------------------------------------------------------------------------------------------
def classify(
    activation: str,
    architecture: str = "full",
    *,
    sigma_w2: float = 1.0,
    sigma_v2: float = 1.0,
    sigma_b2: float = 0.0,
    sigma_a2: float = 0.0,
    beta_w: float = 0.0,
    beta_v: float = 0.0,
    beta_b: float = 0.0,
    beta_a: float = 0.0,
    p0: float = 1.0,
) -> PhasePrediction:
    r"""Predicted classes of :math:`G_L` and :math:`p^l` (THEORY.md Y2, Y3, Y4, Y5).

    All σ² ≥ 0 (σ_w², σ_v² > 0), all β ≥ 0. ``p0`` is accepted for signature compatibility
    with ``ResNetParams.as_dict()`` and does not affect the class. Raises
    ``NotImplementedError`` for the only case not covered by the case analysis (tanh, T-b
    with :math:`q^*=0` and a decaying bias :math:`\beta_b>0`, :math:`\sigma_b>0`).
    """
    del p0
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r}; use one of {ACTIVATIONS}")
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture={architecture!r}; use one of {ARCHITECTURES}")
    for name, val in (("beta_w", beta_w), ("beta_v", beta_v), ("beta_b", beta_b),
                      ("beta_a", beta_a)):
        if not val >= 0.0:
            raise ValueError(f"{name}={val!r}: the classifier covers β >= 0 only")
    for name, val in (("sigma_b2", sigma_b2), ("sigma_a2", sigma_a2)):
        if not val >= 0.0:
            raise ValueError(f"{name}={val!r} must be >= 0")
    if not (sigma_w2 > 0.0 and (sigma_v2 > 0.0 or architecture == "reduced")):
        raise ValueError("sigma_w2 and sigma_v2 must be > 0")
    if architecture == "reduced":
        # x ← x + φ(Wx + b): the full-resnet recurrences with σ_v² ≡ 1, β_v = 0, no a-bias.
        sigma_v2, beta_v, sigma_a2, beta_a = 1.0, 0.0, 0.0, 0.0
    if activation == "relu":
        return _relu(architecture, sigma_w2, sigma_v2, sigma_b2, sigma_a2,
                     beta_w, beta_v, beta_b, beta_a)
    if architecture == "reduced":
        return _tanh_reduced(sigma_w2, sigma_b2, beta_w, beta_b)
    return _tanh_full(sigma_w2, sigma_v2, sigma_b2, sigma_a2, beta_w, beta_v, beta_b, beta_a)


def classify_params(params: object) -> PhasePrediction:
    """:func:`classify` on any object with the ``ResNetParams`` attributes (duck typed)."""
    names = ("sigma_w2", "sigma_v2", "sigma_b2", "sigma_a2", "beta_w", "beta_v", "beta_b",
             "beta_a")
    return classify(params.activation, params.architecture,  # type: ignore[attr-defined]
                    **{n: float(getattr(params, n)) for n in names})


def _relu(arch: str, sw2: float, sv2: float, sb2: float, sa2: float,
          bw: float, bv: float, bb: float, ba: float) -> PhasePrediction:
    # V(q) = q/2, V' = 1/2: p_l = p_{l-1}(1 + c l^-U) + s_l, G = Σ log(1 + c l^-U).
    c = 0.5 * sv2 * sw2
    U = bv + bw
    terms = [(sa2, ba), (0.5 * sv2 * sb2, bv + bb)]
    bstar = _source_exponent(terms)
    gcls, gk, gA, gb, gexp = _multiplicative_g(c, U)
    pcls, pk, pb, pexp = _multiplicative_p(c, U, bstar)
    label = "relu" if arch == "full" else "relu-reduced"
    # transients: constant terms / log(1+x) - x (U < 1), 1/L (U = 1), sub-dominant sources
    if U < 1.0 - _EQ:
        nu = min(1.0 - U, U) if U > _EQ else math.inf
    elif _eq(U, 1.0):
        gap = abs(c - (1.0 - bstar)) if math.isfinite(bstar) else math.inf
        nu = min(1.0, gap) if gap > _EQ else math.inf
    else:
        nu = min(1.0 - bstar, U - 1.0) if bstar < 1.0 - _EQ else math.inf
    return PhasePrediction(
        g_class=gcls, g_exponent=gk, g_coefficient=gA, p_class=pcls, p_exponent=pk,
        regime=label, q_limit=math.nan, boundary=gb or pb, transient_exponent=nu,
        explanation=(f"ReLU {arch}: c = σv²σw²/2 = {c:g}, U = βv + βw = {U:g}. G: {gexp}. "
                     f"p: {pexp}. Biases do not enter the ReLU gradient."),
    )


def _tanh_reduced(sw2: float, sb2: float, bw: float, bb: float) -> PhasePrediction:
    # q = σw² l^-βw p + σb² l^-βb, p += V(q), G = Σ log(1 + σw² l^-βw V'(q)).
    b_const = sb2 if _eq(bb, 0.0) else 0.0
    if bw < 1.0 - _EQ:
        k = 0.5 * (1.0 - bw)
        A = 2.0 * math.sqrt(sw2) * KAPPA / (1.0 - bw)
        return PhasePrediction(
            "exp_power", k, A, "power", 1.0, "tanh-reduced (βw<1)",
            f"βw = {bw:g} < 1: p ≃ l (V → 1), q ≃ σw² l^(1−βw) → ∞, V' ≃ κ q^(−1/2): "
            f"G ≃ 2κσw/(1−βw) L^((1−βw)/2)",
            q_limit=math.inf, transient_exponent=0.5 * (1.0 - bw),
        )
    if _eq(bw, 1.0):
        qs = tanh_fixed_point(sw2, b_const)
        if qs > 0.0:
            c = sw2 * tanh_Vp_quad(qs)
            return PhasePrediction(
                "log", c, c, "power", 1.0, "tanh-reduced (βw=1, q*>0)",
                f"βw = 1: q → q* = σw²V(q*) + σb²[βb=0] = {qs:.6g}; χ ratio Θ(L^(σw²V'(q*))), "
                f"exponent {c:.6g}; p ≃ V(q*) l",
                q_limit=qs, boundary=True, transient_exponent=1.0 - sw2 * tanh_Vq_quad(qs),
            )
        if sb2 > 0.0:
            raise NotImplementedError("tanh reduced, βw = 1, q* = 0 with a decaying bias")
        marginal = _eq(sw2, 1.0)
        return PhasePrediction(
            "log", sw2, sw2, "power", sw2, "tanh-reduced (βw=1, q*=0)",
            f"βw = 1, σw² = {sw2:g} ≤ 1: q → 0, V ≃ q, p ~ l^(σw²), exponent σw²"
            + (" (marginal σw² = 1: q ≃ 1/(2 log l), rate 1 − 1/log L)" if marginal else ""),
            q_limit=0.0, boundary=True, g_log_correction=-1.0 if marginal else 0.0,
            transient_exponent=math.inf if marginal else 1.0 - sw2,
        )
    # βw > 1: q → σb²[βb = 0] (or 0); G summable.
    if sb2 > 0.0:
        # p increments V(q) ~ V(σb²) (βb = 0) or σb² l^-βb (βb > 0); the feedback is summable.
        pcls, pk = _sum_class(bb)
        expl_p = f"p ~ Σ V(σb² l^−βb) ~ Σ l^(−βb): {pcls}"
    else:
        pcls, pk = "bounded", 0.0
        expl_p = "p bounded (increments σw² l^−βw p summable)"
    return PhasePrediction(
        "bounded", 0.0, 0.0, pcls, pk, "tanh-reduced (βw>1)",
        f"βw = {bw:g} > 1: Σ σw² l^(−βw) V' converges; {expl_p}",
        q_limit=b_const, boundary=_eq(bb, 1.0) and sb2 > 0.0,
    )


def _tanh_full(sw2: float, sv2: float, sb2: float, sa2: float,
               bw: float, bv: float, bb: float, ba: float) -> PhasePrediction:
    m = min(bv, ba) if sa2 > 0.0 else bv
    U = bv + bw
    b_const = sb2 if _eq(bb, 0.0) else 0.0
    # amplitude of p's leading growth: p ≃ P l^(1−m) with (1−m) P = σv² V∞[βv=m] + σa²[βa=m]
    v_dom = _eq(bv, m)
    a_dom = sa2 > 0.0 and _eq(ba, m)

    def bounded_regime(regime: str, why: str, q_lim: float, boundary: bool = False
                       ) -> PhasePrediction:
        # q → 0 or bounded with U > 1: G summable; p ~ Σ s_l, s_l = σa² l^-βa + σv² V(q_b) l^-βv
        # where q_b ~ σb² l^-βb (V(q) ≈ q → β* = βv + βb) or σb² (βb = 0 → β* = βv).
        bstar = _source_exponent([(sa2, ba), (sv2 * sb2, bv + bb)])
        pcls, pk = _sum_class(bstar) if math.isfinite(bstar) else ("bounded", 0.0)
        return PhasePrediction(
            "bounded", 0.0, 0.0, pcls, pk, regime,
            f"{why}; G ≤ Σ σv²σw² l^(−U) V' with U = {U:g} > 1 (summable). p ~ Σ s_l with "
            f"β* = {bstar:g}: {pcls}",
            q_limit=q_lim, boundary=boundary or _eq(bstar, 1.0),
            transient_exponent=min(1.0 - bstar, U - 1.0) if bstar < 1.0 - _EQ else math.inf,
        )

    if m < 1.0 - _EQ:
        if bw < (1.0 - m) - _EQ:
            # T-a: q ~ σw² P l^(1−m−βw) → ∞, V' ≃ κ q^(−1/2)
            P = (sv2 * (1.0 if v_dom else 0.0) + (sa2 if a_dom else 0.0)) / (1.0 - m)
            K = sv2 * math.sqrt(sw2) * KAPPA / math.sqrt(P)
            e = bv + 0.5 * bw + 0.5 * (1.0 - m)
            nus = [1.0 - m, e, 1.0 - m - bw]  # p0, log(1+x) - x, O(1/q) in V'
            if v_dom:
                nus.append(0.5 * (1.0 - m - bw))  # V(q) = 1 - sqrt(2/(πq)) in p's v-part
            if v_dom and sa2 > 0.0 and not a_dom:
                nus.append(ba - bv)  # sub-dominant a-bias
            if a_dom and not v_dom:
                nus.append(bv - m)  # sub-dominant v-part of p
            nu = min(nus)
            head = (f"T-a (m = {m:g}, βw = {bw:g} < 1 − m): p ≃ {P:.6g} l^(1−m), q → ∞, "
                    f"increments ≃ K l^(−e), K = σv²σw κ/√P = {K:.6g}, e = βv + βw/2 + (1−m)/2 "
                    f"= {e:g}")
            if e < 1.0 - _EQ:
                return PhasePrediction(
                    "exp_power", 1.0 - e, K / (1.0 - e), "power", 1.0 - m, "T-a",
                    head + f": G ≃ K/(1−e) L^(1−e), exponent {1.0 - e:g}", q_limit=math.inf,
                    transient_exponent=nu,
                )
            if _eq(e, 1.0):
                return PhasePrediction(
                    "log", K, K, "power", 1.0 - m, "T-a (e=1)",
                    head + f": G ≃ K log L, polynomial exponent {K:.6g}", q_limit=math.inf,
                    boundary=True, transient_exponent=nu,
                )
            return PhasePrediction(
                "bounded", 0.0, 0.0, "power", 1.0 - m, "T-a (e>1)",
                head + ": G = Θ(1)", q_limit=math.inf, transient_exponent=nu,
            )
        if _eq(bw, 1.0 - m):
            # T-b: q → q*
            if not v_dom:
                qs = sw2 * sa2 / (1.0 - ba) + b_const
                return PhasePrediction(
                    "bounded", 0.0, 0.0, "power", 1.0 - m, "T-b (a-bias)",
                    f"T-b with m = βa = {ba:g} < βv: q → q* = σw²σa²/(1−βa) "
                    f"(+σb² if βb = 0) = {qs:.6g}; G ~ σv²σw²V'(q*) Σ l^(−U), U = {U:g} > 1: "
                    f"Θ(1); p ≃ σa²/(1−βa) l^(1−βa)",
                    q_limit=qs, boundary=True, transient_exponent=min(bv - ba, 1.0 - ba),
                )
            offset = b_const + (sw2 * sa2 / (1.0 - m) if a_dom else 0.0)
            slope = sv2 * sw2 / (1.0 - bv)
            qs = tanh_fixed_point(slope, offset)
            if qs > 0.0:
                c = sv2 * sw2 * tanh_Vp_quad(qs)
                # linearised approach to q*: l dq/dl = σw²(σv² V(q) + ...) - βw q
                nus = [bw - sv2 * sw2 * tanh_Vq_quad(qs), 1.0 - m]
                if sa2 > 0.0 and not a_dom:
                    nus.append(ba - bv)
                return PhasePrediction(
                    "log", c, c, "power", 1.0 - m, "T-b (q*>0)",
                    f"T-b (m = βv = {bv:g}, U = 1): p ≃ P l^(1−βv), q → q* solving "
                    f"q = {offset:g} + σv²σw²/(1−βv) V(q) = {qs:.6g}; χ ratio Θ(L^c), "
                    f"c = σv²σw²V'(q*) = {c:.6g}",
                    q_limit=qs, boundary=True, transient_exponent=min(nus),
                )
            if sb2 > 0.0:
                raise NotImplementedError("tanh T-b with q* = 0 and a decaying bias (βb > 0)")
            c = sv2 * sw2
            pk = max(c, 1.0 - ba) if sa2 > 0.0 else c
            marginal = _eq(c, 1.0 - bv)
            nus = [] if marginal else [1.0 - bv - c]  # q ~ l^(c-(1-βv)), V ≈ q(1 - 2q)
            if sa2 > 0.0 and not _eq(c, 1.0 - ba):
                nus.append(abs(c - (1.0 - ba)))
            return PhasePrediction(
                "log", c, c, "power", pk, "T-b (q*=0)",
                f"T-b (m = βv = {bv:g}, U = 1) with σv²σw² = {c:g} ≤ 1 − βv: q → 0, V ≃ q, "
                f"p ~ l^(σv²σw²) (or l^(1−βa) if larger), χ ratio Θ(L^(σv²σw²))"
                + (" (marginal: q ≃ 1/(2βw log l), rate c − 1/log L)" if marginal else ""),
                q_limit=0.0, boundary=True, g_log_correction=-1.0 if marginal else 0.0,
                transient_exponent=min(nus, default=math.inf),
            )
        # T-c: βw > 1 − m, q → 0 (or σb² if βb = 0)
        return bounded_regime(
            "T-c", f"T-c (m = {m:g}, βw = {bw:g} > 1 − m): q → {b_const:g}", b_const,
        )
    if _eq(m, 1.0):
        if _eq(bw, 0.0) and _eq(bv, 1.0):
            # T-d: p ≃ P log l, q ≃ σw² P log l, G ≃ 2 σv²σw κ/√P √log L
            P = sv2 + (sa2 if a_dom else 0.0)
            C = 2.0 * sv2 * math.sqrt(sw2) * KAPPA / math.sqrt(P)
            return PhasePrediction(
                "sqrt_log", 0.5, C, "log", 0.0, "T-d",
                f"T-d (βv = 1, βw = 0): p ≃ {P:g} log l, q ~ log l → ∞, "
                f"G ≃ 2σv²σwκ/√P √(log L) = {C:.6g} √(log L)",
                q_limit=math.inf, boundary=True,
            )
        if _eq(bw, 0.0):
            # m = βa = 1 < βv, βw = 0: q ~ log l, increments ~ l^-βv/√log l, βv > 1
            return PhasePrediction(
                "bounded", 0.0, 0.0, "log", 0.0, "T-d (βa=1<βv)",
                f"m = βa = 1 < βv = {bv:g}, βw = 0: p ≃ σa² log l, q → ∞ slowly, "
                f"G ~ Σ l^(−βv)/√log l: Θ(1)",
                q_limit=math.inf, boundary=True,
            )
        return bounded_regime("T-d (βw>0)", f"m = 1, βw = {bw:g} > 0: q → {b_const:g}",
                              b_const)
    return bounded_regime("T-e", f"T-e (m = {m:g} > 1): p bounded", b_const)
