r"""Gaussian expectations of activations: exact (sympy) for ReLU and :math:`|\cdot|`, quadrature
with an error estimate for any registered activation, and the tanh asymptotics.

Notation (THEORY.md §0): :math:`g\sim\mathcal N(0,1)`, :math:`\phi(u)=\max(u,0)`,
:math:`V_\phi(q)=\mathbb E\,\phi(\sqrt q\,g)^2`,
:math:`V_{\phi'}(q)=\mathbb E\,\phi'(\sqrt q\,g)^2`.

Everything symbolic is computed lazily and cached, so importing this module is cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import sympy as sp
from scipy import integrate

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "abs_moment",
    "gaussian_expectation",
    "gaussian_symbol",
    "normal_density",
    "register_activation",
    "relu_gaussian_facts",
    "relu_moment",
    "tanh_asymptotics",
    "tanh_small_q_series",
    "v_phi",
    "v_phi_prime",
]


# --------------------------------------------------------------------------------------------
# Exact Gaussian moments (sympy)
# --------------------------------------------------------------------------------------------
def gaussian_symbol() -> sp.Symbol:
    """The real symbol ``g`` used for the standard normal variable."""
    return sp.Symbol("g", real=True)


def normal_density(x: sp.Expr) -> sp.Expr:
    r"""Standard normal density :math:`e^{-x^2/2}/\sqrt{2\pi}` as a sympy expression."""
    return sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)


@functools.cache
def relu_moment(n: int) -> sp.Expr:
    r""":math:`\mathbb E\,\phi(g)^n=\int_0^\infty g^n\,e^{-g^2/2}/\sqrt{2\pi}\,dg` by sympy
    integration.

    ``n = 0`` gives :math:`P(g>0)=1/2` (the convention :math:`\phi^0=\mathbb 1[g>0]`).
    """
    if n < 0:
        raise ValueError(f"n={n} must be a non-negative integer")
    g = gaussian_symbol()
    return sp.simplify(sp.integrate(g**n * normal_density(g), (g, 0, sp.oo)))


@functools.cache
def abs_moment(n: int) -> sp.Expr:
    r""":math:`\mathbb E|g|^n=2\,\mathbb E\,\phi(g)^n` (symmetry of the density), exact."""
    return sp.simplify(2 * relu_moment(n))


@functools.cache
def relu_gaussian_facts() -> dict[str, sp.Expr]:
    r"""Closed forms of §0 and §4, all from `relu_moment` / `abs_moment`.

    Keys: ``E_phi`` (:math:`1/\sqrt{2\pi}`), ``E_phi2`` (1/2), ``E_phi3``, ``E_phi4`` (3/2),
    ``Var_phi`` (:math:`(\pi-1)/(2\pi)`), ``E_abs`` (:math:`\sqrt{2/\pi}`), ``Var_abs``
    (:math:`1-2/\pi`), ``E_2phi2`` (1), ``E_2phi2_sq`` (:math:`\mathbb E(2\phi^2)^2=6`),
    ``Var_2phi2`` (5), ``E_phi_prime_sq`` (:math:`\mathbb E\,\mathbb 1[g>0]=1/2`).
    """
    e1, e2, e3, e4 = (relu_moment(k) for k in (1, 2, 3, 4))
    facts = {
        "E_phi": e1,
        "E_phi2": e2,
        "E_phi3": e3,
        "E_phi4": e4,
        "Var_phi": e2 - e1**2,
        "E_abs": abs_moment(1),
        "Var_abs": abs_moment(2) - abs_moment(1) ** 2,
        "E_2phi2": 2 * e2,
        "E_2phi2_sq": 4 * e4,
        "Var_2phi2": 4 * e4 - (2 * e2) ** 2,
        "E_phi_prime_sq": relu_moment(0),
    }
    return {k: sp.simplify(v) for k, v in facts.items()}


# --------------------------------------------------------------------------------------------
# Activation registry and quadrature
# --------------------------------------------------------------------------------------------
class Activation(NamedTuple):
    """An activation as the pair ``(fn, deriv)``: vectorised numpy function and its (a.e.)
    derivative; unpack as ``fn, deriv = ACTIVATIONS[name]``."""

    fn: Callable[[np.ndarray], np.ndarray]
    deriv: Callable[[np.ndarray], np.ndarray]


ACTIVATIONS: dict[str, Activation] = {}


def register_activation(
    name: str,
    fn: Callable[[np.ndarray], np.ndarray],
    deriv: Callable[[np.ndarray], np.ndarray],
) -> Activation:
    """Add an activation (a function and its derivative, both numpy-vectorised) to `ACTIVATIONS`."""
    act = Activation(fn, deriv)
    ACTIVATIONS[name] = act
    return act


register_activation("relu", lambda u: np.maximum(u, 0.0), lambda u: (u > 0).astype(float))


def _sech2(u: np.ndarray) -> np.ndarray:
    r""":math:`\operatorname{sech}^2u=(2e^{-|u|}/(1+e^{-2|u|}))^2` without overflow."""
    e = np.exp(-2.0 * np.abs(u))
    return 4.0 * e / (1.0 + e) ** 2


register_activation("tanh", np.tanh, _sech2)
register_activation("identity", lambda u: np.asarray(u, dtype=float), np.ones_like)
register_activation("abs", np.abs, np.sign)


def _activation(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise KeyError(f"activation {name!r} unknown; known: {sorted(ACTIVATIONS)}") from None


def gaussian_expectation(
    func: Callable[[np.ndarray], np.ndarray],
    q: float | np.ndarray = 1.0,
    *,
    method: str = "quad",
    n_nodes: int = 200,
) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\mathbb E\,h(\sqrt q\,g)` with an error estimate, for each ``q`` (any shape).

    ``method="quad"``: adaptive `scipy.integrate.quad` over the real line split at 0 (kinks of
    ReLU/abs sit there); the error is quad's absolute-error estimate.
    ``method="hermite"``: Gauss–Hermite with ``n_nodes`` nodes; the error estimate is the
    difference with ``n_nodes // 2`` nodes (conservative for smooth integrands; slow convergence
    for kinked ones).

    Returns ``(value, error)`` arrays with the shape of ``q``.
    """
    qa = np.asarray(q, dtype=float)
    if np.any(qa < 0):
        raise ValueError("q must be non-negative")
    flat = qa.ravel()
    val = np.empty_like(flat)
    err = np.empty_like(flat)
    if method == "quad":
        for i, qi in enumerate(flat):
            s = np.sqrt(qi)

            def integrand(x: float, s: float = s) -> float:
                return float(func(np.asarray(s * x))) * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)

            v1, e1 = integrate.quad(integrand, -np.inf, 0.0, epsabs=1e-13, epsrel=1e-12, limit=200)
            v2, e2 = integrate.quad(integrand, 0.0, np.inf, epsabs=1e-13, epsrel=1e-12, limit=200)
            val[i], err[i] = v1 + v2, e1 + e2
    elif method == "hermite":

        def gh(n: int) -> np.ndarray:
            x, w = np.polynomial.hermite_e.hermegauss(n)
            w = w / np.sqrt(2 * np.pi)
            return func(np.sqrt(flat)[:, None] * x[None, :]) @ w

        val = gh(n_nodes)
        err = np.abs(val - gh(max(n_nodes // 2, 2)))
    else:
        raise ValueError(f"method={method!r}; use 'quad' or 'hermite'")
    return val.reshape(qa.shape), err.reshape(qa.shape)


def v_phi(
    name: str, q: float | np.ndarray, *, method: str = "quad"
) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`V_\phi(q)=\mathbb E\,\phi(\sqrt q g)^2` for activation ``name``; ``(value,
    error)``."""
    act = _activation(name)
    return gaussian_expectation(lambda u: act.fn(u) ** 2, q, method=method)


def v_phi_prime(
    name: str, q: float | np.ndarray, *, method: str = "quad"
) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`V_{\phi'}(q)=\mathbb E\,\phi'(\sqrt q g)^2` for activation ``name``; ``(value,
    error)``."""
    act = _activation(name)
    return gaussian_expectation(lambda u: act.deriv(u) ** 2, q, method=method)


# --------------------------------------------------------------------------------------------
# tanh asymptotics (sympy)
# --------------------------------------------------------------------------------------------
@functools.cache
def tanh_asymptotics() -> dict[str, sp.Expr]:
    r"""Large-:math:`q` constants of tanh, derived by sympy.

    With :math:`u=\tanh t`, :math:`dt=du/(1-u^2)` and :math:`\operatorname{sech}^2=1-u^2`:
    :math:`\int_{\mathbb R}\operatorname{sech}^{2k}t\,dt=\int_{-1}^1(1-u^2)^{k-1}du`, giving
    ``int_sech2`` = 2 and ``int_sech4`` = 4/3. For :math:`q\to\infty`,
    :math:`\mathbb E\,h(\sqrt q g)=\int h(t)e^{-t^2/(2q)}dt/\sqrt{2\pi q}\simeq\int h/\sqrt{2\pi q}`
    for integrable :math:`h`; with :math:`h=1-\tanh^2=\operatorname{sech}^2` and
    :math:`h=\tanh'^2=\operatorname{sech}^4`:

    * ``one_minus_V_tanh`` :math:`=1-V_{\tanh}(q)\simeq\sqrt{2/(\pi q)}`;
    * ``V_tanh_prime`` :math:`=V_{\tanh'}(q)\simeq\kappa q^{-1/2}`, ``kappa``
      :math:`=4/(3\sqrt{2\pi})`.

    Also returned: ``antiderivative_check_2`` and ``antiderivative_check_4``, which simplify to 0
    (:math:`\frac{d}{dt}\tanh t=\operatorname{sech}^2t`,
    :math:`\frac{d}{dt}(\tanh t-\tanh^3t/3)=\operatorname{sech}^4t`), and the symbol ``q``.
    """
    u = sp.Symbol("u", real=True)
    t = sp.Symbol("t", real=True)
    q = sp.Symbol("q", positive=True)
    int2 = sp.integrate((1 - u**2) ** 0, (u, -1, 1))
    int4 = sp.integrate((1 - u**2) ** 1, (u, -1, 1))
    chk2 = sp.simplify((sp.diff(sp.tanh(t), t) - sp.sech(t) ** 2).rewrite(sp.exp))
    anti4 = sp.tanh(t) - sp.tanh(t) ** 3 / 3
    chk4 = sp.simplify((sp.diff(anti4, t) - sp.sech(t) ** 4).rewrite(sp.exp))
    kappa = sp.nsimplify(int4) / sp.sqrt(2 * sp.pi)
    return {
        "q": q,
        "int_sech2": int2,
        "int_sech4": int4,
        "kappa": sp.simplify(kappa),
        "one_minus_V_tanh": sp.simplify(int2 / sp.sqrt(2 * sp.pi * q)),
        "V_tanh_prime": sp.simplify(kappa / sp.sqrt(q)),
        "antiderivative_check_2": chk2,
        "antiderivative_check_4": chk4,
    }


@functools.cache
def tanh_small_q_series(order: int = 3) -> dict[str, sp.Expr]:
    r"""Small-:math:`q` series of :math:`V_{\tanh}` and :math:`V_{\tanh'}` (sympy).

    Expand :math:`h(x)` in powers of :math:`x`, substitute :math:`x=\sqrt q g` and take
    :math:`\mathbb E g^{2k}=(2k-1)!!` termwise (valid as an asymptotic series):
    :math:`V=q-2q^2+O(q^3)`, :math:`V_{\phi'}=1-2q+O(q^2)`. Keys ``V_tanh``, ``V_tanh_prime``
    (series truncated before :math:`q^{\rm order}`) and ``q``.
    """
    x = sp.Symbol("x", real=True)
    q = sp.Symbol("q", positive=True)
    g = gaussian_symbol()

    def gaussian_series(h: sp.Expr) -> sp.Expr:
        poly = sp.series(h, x, 0, 2 * order).removeO()
        poly = sp.expand(poly.subs(x, sp.sqrt(q) * g))
        out = 0
        for k in range(0, 2 * order):
            coeff = poly.coeff(g, k)
            out += coeff * abs_moment(k) if k % 2 == 0 else 0
        return sp.expand(out)

    return {
        "q": q,
        "V_tanh": gaussian_series(sp.tanh(x) ** 2),
        "V_tanh_prime": gaussian_series(sp.sech(x) ** 4),
    }
