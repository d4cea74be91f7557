"""Derivations of Schoenholz, Gilmer, Ganguli & Sohl-Dickstein 2017 for tanh networks.

Network: ``h^l = W^l phi(h^{l-1}) + b^l`` with ``W_ij ~ N(0, sigma_w^2 / N)``, ``b_i ~ N(0,
sigma_b^2)`` and ``phi = tanh``. With ``Dz`` the standard Gaussian measure:

* length map ``q^l = sigma_w^2 int Dz phi(sqrt(q^{l-1}) z)^2 + sigma_b^2``, fixed point ``q*``;
* correlation map ``c^l = (sigma_w^2 int Dz1 Dz2 phi(u1) phi(u2) + sigma_b^2) / q*`` with
  ``u1 = sqrt(q*) z1``, ``u2 = sqrt(q*) (c z1 + sqrt(1 - c^2) z2)``, fixed point ``c*``;
* its slope ``chi_c(c) = d c^l / d c^{l-1} = sigma_w^2 int Dz1 Dz2 phi'(u1) phi'(u2)``: sympy
  differentiates under the integral, Gaussian integration by parts (Stein's lemma) removes the
  ``z`` factors; ``chi_1 = chi_c(1) = sigma_w^2 int Dz phi'(sqrt(q*) z)^2``. Order for
  ``chi_1 < 1`` (``c* = 1``, so ``chi_c = chi_1``), chaos for ``chi_1 > 1`` (``c* < 1``, where
  ``chi_c(c*) != chi_1``);
* depth scales ``xi_q = -1 / log(d q^l / d q^{l-1} at q*)``, that slope being ``sigma_w^2 int
  Dz (phi'^2 + phi phi'')(sqrt(q*) z)`` (Stein again), and ``xi_c = -1 / log chi_c(c*)``, which
  diverges on the order-to-chaos line ``chi_1 = 1``.

The sympy integrands are the derivation; the numeric evaluators average the lambdified
integrands with Gauss–Hermite quadrature (`N_NODES` nodes per dimension).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp
from scipy import optimize

from theory import Derivation, declare_paper, register

# [docs:paper]
PROPAGATION = declare_paper(
    "P", "Schoenholz, Gilmer, Ganguli & Sohl-Dickstein 2017 (ICLR): Deep information "
         "propagation",
    derivations=("schoenholz_propagation.derivations",),
    claims=("schoenholz_propagation.claims",))
# [/docs:paper]

#: Gauss–Hermite nodes per dimension (tanh has poles at ±i pi/2, so convergence slows with q:
#: error < 1e-9 up to q = 3, checked against scipy.integrate in the tests).
N_NODES = 201

# [docs:maps]
q, sw2, sb2 = sp.symbols("q sigma_w2 sigma_b2", positive=True)
c = sp.Symbol("c", real=True)
z, z1, z2, x = sp.symbols("z z_1 z_2 x", real=True)
phi = sp.tanh(x)
dphi = sp.diff(phi, x)


def at(f: sp.Expr, arg: sp.Expr) -> sp.Expr:
    """``f(arg)`` for an expression of ``x``."""
    return f.subs(x, arg)


def gaussian(f: sp.Expr, *variables: sp.Symbol) -> sp.Expr:
    """``int Dv1 ... Dvk f``, unevaluated (for display: the numerics use the integrand)."""
    for v in reversed(variables):
        f = sp.Integral(f * sp.exp(-v**2 / 2) / sp.sqrt(2 * sp.pi), (v, -sp.oo, sp.oo))
    return f


u = sp.sqrt(q) * z
u1 = sp.sqrt(q) * z1
u2 = sp.sqrt(q) * (c * z1 + sp.sqrt(1 - c**2) * z2)
#: Averaged over z: the length map is sigma_w2 * E[LENGTH] + sigma_b2.
LENGTH = at(phi, u)**2
#: Averaged over (z1, z2): the correlation map is (sigma_w2 * E[CORRELATION] + sigma_b2) / q.
CORRELATION = at(phi, u1) * at(phi, u2)
# [/docs:maps]


def stein(g: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """Gaussian integration by parts: ``E[var g] = E[dg/dvar]``; returns ``dg/dvar``."""
    return sp.diff(g, var)


# [docs:slopes]
def length_slope_integrand() -> sp.Expr:
    """``d q^l / d q^{l-1}`` averaged over z (times sigma_w2): d/dq under the integral is
    ``z * F`` with ``F = phi(u) phi'(u) / sqrt(q)``; Stein's lemma turns it into ``dF/dz``."""
    F = sp.simplify(sp.diff(LENGTH, q) / z)
    assert sp.simplify(sp.diff(LENGTH, q) - z * F) == 0
    return sp.simplify(stein(F, z))


def chi_c_integrand() -> sp.Expr:
    """``d c^l / d c^{l-1}`` averaged over (z1, z2) (times sigma_w2): by the chain rule
    ``d/dc CORRELATION = phi(u1) phi'(u2) * du2/dc`` with ``du2/dc = a1 z1 + a2 z2``; Stein's
    lemma in z1 and in z2 removes the z factors, and the 1/q of the map cancels."""
    du2 = sp.expand(sp.diff(u2, c))
    a1, a2 = du2.coeff(z1), du2.coeff(z2)
    F = at(phi, u1) * at(dphi, u2)
    assert sp.simplify(sp.diff(CORRELATION, c) - F * (a1 * z1 + a2 * z2)) == 0
    return sp.simplify((a1 * stein(F, z1) + a2 * stein(F, z2)) / q)
# [/docs:slopes]


@functools.cache
def integrands() -> dict[str, sp.Expr]:
    """Every averaged integrand, by name (sympy; cached: simplification takes a moment)."""
    return {"length": LENGTH, "correlation": CORRELATION,
            "length_slope": length_slope_integrand(), "chi_c": chi_c_integrand(),
            "chi_1": at(dphi, u)**2}


@functools.cache
def _nodes() -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(N_NODES)
    return nodes, weights / weights.sum()


@functools.cache
def _compiled(name: str):  # noqa: ANN202 - a lambdified function
    e = integrands()[name]
    two = e.has(z1) or e.has(z2)
    return sp.lambdify((z1, z2, q, c) if two else (z, q), e, "numpy"), two


def average(name: str, qv: float, cv: float = 1.0) -> float:
    """Gaussian average of the integrand ``name`` at ``q = qv`` (and ``c = cv``)."""
    f, two = _compiled(name)
    nodes, w = _nodes()
    if not two:
        return float(np.dot(w, f(nodes, qv)))
    a, b = np.meshgrid(nodes, nodes, indexing="ij")
    cv = min(max(float(cv), -1.0), 1.0)
    return float(np.sum(np.outer(w, w) * f(a, b, qv, cv)))


# --------------------------------------------------------------------------------------------
# Predictions (the functions claims read through their `theory` mapping)
# --------------------------------------------------------------------------------------------
# [docs:predictions]
def length_map(q_prev: float, sigma_w2: float, sigma_b2: float) -> float:
    """``q^l = sigma_w^2 E[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2``."""
    return sigma_w2 * average("length", q_prev) + sigma_b2


@functools.cache
def length_fixed_point(sigma_w2: float, sigma_b2: float) -> float:
    """``q*``: the length map iterated from q = 1 to a fixed point (it contracts)."""
    qv = 1.0
    for _ in range(10_000):
        nxt = length_map(qv, sigma_w2, sigma_b2)
        if abs(nxt - qv) < 1e-14 * max(1.0, qv):
            return nxt
        qv = nxt
    raise ArithmeticError(f"length map did not converge at ({sigma_w2}, {sigma_b2})")


def length_slope(sigma_w2: float, sigma_b2: float) -> float:
    """``d q^l / d q^{l-1}`` at ``q*``: ``chi_1 + sigma_w^2 E[phi phi'']``."""
    return sigma_w2 * average("length_slope", length_fixed_point(sigma_w2, sigma_b2))


def depth_scale_q(sigma_w2: float, sigma_b2: float) -> float:
    """``xi_q = -1 / log(length_slope)``: ``q^l - q* ~ exp(-l / xi_q)``."""
    return -1.0 / math.log(length_slope(sigma_w2, sigma_b2))


def chi_1(sigma_w2: float, sigma_b2: float) -> float:
    """``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]``; the order-to-chaos line is ``chi_1 = 1``."""
    return sigma_w2 * average("chi_1", length_fixed_point(sigma_w2, sigma_b2))


def correlation_map(c_prev: float, sigma_w2: float, sigma_b2: float) -> float:
    """``c^l = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q*`` at ``c^{l-1} = c_prev``."""
    qs = length_fixed_point(sigma_w2, sigma_b2)
    return (sigma_w2 * average("correlation", qs, c_prev) + sigma_b2) / qs


def chi_c_at(c_prev: float, sigma_w2: float, sigma_b2: float) -> float:
    """Slope of the correlation map at ``c_prev``: ``sigma_w^2 E[phi'(u1) phi'(u2)]``."""
    return sigma_w2 * average("chi_c", length_fixed_point(sigma_w2, sigma_b2), c_prev)


@functools.cache
def correlation_fixed_point(sigma_w2: float, sigma_b2: float) -> float:
    """``c*``: 1 on the ordered side (``chi_1 <= 1``), else the root of ``c^l(c) = c`` in
    (0, 1) (``sigma_b^2 > 0``) or 0 (``sigma_b^2 = 0``, tanh is odd)."""
    if chi_1(sigma_w2, sigma_b2) <= 1.0:
        return 1.0
    if sigma_b2 == 0:
        return 0.0
    return float(optimize.brentq(lambda cv: correlation_map(cv, sigma_w2, sigma_b2) - cv,
                                 0.0, 1.0 - 1e-9, xtol=1e-14))


def chi_c(sigma_w2: float, sigma_b2: float) -> float:
    """``chi_c``: slope of the correlation map at its fixed point ``c*`` (= chi_1 when ordered)."""
    return chi_c_at(correlation_fixed_point(sigma_w2, sigma_b2), sigma_w2, sigma_b2)


def depth_scale_c(sigma_w2: float, sigma_b2: float) -> float:
    """``xi_c = -1 / log chi_c`` (infinite where ``chi_c >= 1``: on the critical line)."""
    x_c = chi_c(sigma_w2, sigma_b2)
    return math.inf if x_c >= 1.0 else -1.0 / math.log(x_c)


def inverse_depth_scale_c(sigma_w2: float, sigma_b2: float) -> float:
    """``1 / xi_c = -log chi_c`` (0 on the critical line: the divergence of xi_c)."""
    return -math.log(chi_c(sigma_w2, sigma_b2))


@functools.cache
def critical_sigma_w2(sigma_b2: float) -> float:
    """The order-to-chaos line: the ``sigma_w^2`` where ``chi_1 = 1`` at this ``sigma_b^2``."""
    return float(optimize.brentq(lambda s: chi_1(s, sigma_b2) - 1.0, 0.5, 20.0, xtol=1e-12))
# [/docs:predictions]


def tangent_growth_bias(sigma_w2: float, sigma_b2: float, width: int) -> float:
    """Leading finite-width bias of the per-layer log growth of a tangent (derived).

    Given layer l, ``dh^{l+1}_k`` are i.i.d. ``N(0, t)`` with ``t = sigma_w^2 sum_j phi'_j^2
    dh_j^2 / N``, so ``log(|dh^{l+1}|^2/|dh^l|^2) = log(sigma_w^2 A) + log(chi2_N / N)`` with
    ``A`` the ``dh_j^2``-weighted mean of ``a_j = phi'(h_j)^2``. ``E log(chi2_N/N) = -1/N +
    O(N^-2)``; ``E A = E a = m`` and, the ``dh_j`` being Gaussian (``E dh^4 = 3 t^2``), ``Var A
    = 3 Var(a) / N``, so ``E log A = log m - 3 Var(a) / (2 N m^2)``. Total:
    ``-(1 + 3 Var(a) / (2 m^2)) / N``. Not modelled (O(1/N) too, of either sign): the
    correlation of ``h_j`` and ``dh_j`` and the fluctuation of the layer's length about q*.
    """
    qs = length_fixed_point(sigma_w2, sigma_b2)
    nodes, w = _nodes()
    a = (1.0 - np.tanh(math.sqrt(qs) * nodes) ** 2) ** 2
    m = float(np.dot(w, a))
    var = float(np.dot(w, (a - m) ** 2))
    return -(1.0 + 1.5 * var / m**2) / width


# --------------------------------------------------------------------------------------------
# Registered derivations (one per claim)
# --------------------------------------------------------------------------------------------
ORDERED, CHAOTIC = (1.5, 0.05), (2.5, 0.05)


# [docs:register]
@register("P1", title="tanh length map: fixed point q* and depth scale xi_q",
          paper=PROPAGATION, provenance="paper")
def _p1() -> Derivation:
    slope = integrands()["length_slope"]
    return Derivation(
        statement="q^l = sigma_w^2 int Dz tanh(sqrt(q^{l-1}) z)^2 + sigma_b^2 converges to its "
                  "fixed point q*, with q^l - q* ~ exp(-l/xi_q), xi_q^-1 = -log(d q^l/d q^{l-1} "
                  "at q*) = -log(sigma_w^2 int Dz (phi'^2 + phi phi''))",
        expressions={"length_map": sw2 * gaussian(LENGTH, z) + sb2,
                     "length_slope": sw2 * gaussian(slope, z)},
        assumptions=("infinite width (mean field): preactivations Gaussian and independent "
                     "across units", "phi = tanh; W ~ N(0, sigma_w^2/N), b ~ N(0, sigma_b^2)"),
        evaluate=length_fixed_point,
        headline={"q*(1.5, 0.05)": length_fixed_point(*ORDERED),
                  "xi_q(1.5, 0.05)": depth_scale_q(*ORDERED),
                  "q*(2.5, 0.05)": length_fixed_point(*CHAOTIC)},
    )
# [/docs:register]


@register("P2", title="chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]; order-to-chaos at chi_1 = 1",
          paper=PROPAGATION, provenance="paper")
def _p2() -> Derivation:
    return Derivation(
        statement="an infinitesimal perturbation grows by chi_1 per layer at the fixed point "
                  "q*: ordered (perturbations die) for chi_1 < 1, chaotic for chi_1 > 1",
        expressions={"chi_1": sw2 * gaussian(integrands()["chi_1"], z),
                     "chi_c": sw2 * gaussian(integrands()["chi_c"], z1, z2)},
        assumptions=("mean field at the length fixed point q*", "phi = tanh"),
        evaluate=chi_1,
        headline={"chi_1(1.5, 0.05)": chi_1(*ORDERED), "chi_1(2.5, 0.05)": chi_1(*CHAOTIC),
                  "critical sigma_w^2 at sigma_b^2 = 0.05": critical_sigma_w2(0.05)},
    )


@register("P3", title="correlation depth scale xi_c = -1/log chi_c, chi_c at c* (ordered: "
          "chi_c = chi_1; chaotic: c* < 1, chi_c != chi_1)", paper=PROPAGATION,
          provenance="paper")
def _p3() -> Derivation:
    return Derivation(
        statement="the correlation of two inputs converges to c* with |c^l - c*| ~ "
                  "exp(-l/xi_c), xi_c = -1/log chi_c, chi_c = sigma_w^2 int Dz1 Dz2 phi'(u1) "
                  "phi'(u2) at c*; c* = 1 and chi_c = chi_1 on the ordered side, c* < 1 and "
                  "chi_c < 1 < chi_1 on the chaotic side",
        expressions={"correlation_map": (sw2 * gaussian(CORRELATION, z1, z2) + sb2) / q,
                     "chi_c": sw2 * gaussian(integrands()["chi_c"], z1, z2)},
        assumptions=("mean field at the length fixed point q*", "phi = tanh"),
        evaluate=depth_scale_c,
        headline={"xi_c(1.5, 0.05)": depth_scale_c(*ORDERED),
                  "c*(2.5, 0.05)": correlation_fixed_point(*CHAOTIC),
                  "chi_c(2.5, 0.05)": chi_c(*CHAOTIC), "xi_c(2.5, 0.05)": depth_scale_c(
                      *CHAOTIC)},
    )


@register("P4", title="xi_c diverges at the order-to-chaos transition", paper=PROPAGATION,
          provenance="paper")
def _p4() -> Derivation:
    return Derivation(
        statement="1/xi_c = -log chi_c -> 0 as sigma_w^2 -> the critical value where chi_1 = 1",
        expressions={"inverse_xi_c": -sp.log(sw2 * gaussian(integrands()["chi_c"], z1, z2))},
        assumptions=("mean field", "phi = tanh"),
        evaluate=inverse_depth_scale_c,
        headline={"critical sigma_w^2 at sigma_b^2 = 0.05": critical_sigma_w2(0.05),
                  "1/xi_c(1.65, 0.05)": inverse_depth_scale_c(1.65, 0.05)},
    )
