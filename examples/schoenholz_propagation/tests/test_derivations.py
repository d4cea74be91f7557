"""The example's own tests: its derivations, symbolically and numerically.

Its claims are tested by the dnn-moments pytest plugin (``pytest -p dnn_moments --claims P``,
see conftest.py and docs/extending.md): every registered claim is a test item.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from schoenholz_propagation import derivations as d
from scipy import integrate

ORDERED, CHAOTIC = d.ORDERED, d.CHAOTIC


def test_slopes_follow_from_the_maps_symbolically() -> None:
    # The derived integrands are the maps' derivatives after Gaussian integration by parts;
    # their closed forms: phi'^2 + phi phi'' and phi'(u1) phi'(u2).
    dphi, ddphi = d.at(d.dphi, d.u), d.at(sp.diff(d.dphi, d.x), d.u)
    expected = (dphi**2 + d.at(d.phi, d.u) * ddphi)
    assert sp.simplify((d.integrands()["length_slope"] - expected).rewrite(sp.exp)) == 0
    price = d.at(d.dphi, d.u1) * d.at(d.dphi, d.u2)
    assert sp.simplify((d.integrands()["chi_c"] - price).rewrite(sp.exp)) == 0


def test_stein_on_a_polynomial_exactly() -> None:
    # E[z g(z)] = E[g'(z)] for g = z^3 + 2 z: both sides 3 + 2 (sympy integrates exactly).
    z = d.z
    g = z**3 + 2 * z
    lhs = sp.integrate(z * g * sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi), (z, -sp.oo, sp.oo))
    rhs = sp.integrate(d.stein(g, z) * sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi),
                       (z, -sp.oo, sp.oo))
    assert sp.simplify(lhs - rhs) == 0 and lhs == 5


@pytest.mark.parametrize("qv", [0.2, 1.0, 3.0])
def test_quadrature_against_scipy(qv: float) -> None:
    def f(t: float) -> float:
        return np.tanh(math.sqrt(qv) * t) ** 2 * np.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    ref = integrate.quad(f, -np.inf, np.inf, epsabs=1e-13)[0]
    assert abs(d.average("length", qv) - ref) < 1e-9


@pytest.mark.parametrize("point", [ORDERED, CHAOTIC, (1.76, 0.05)])
def test_slopes_equal_finite_differences_of_the_maps(point: tuple[float, float]) -> None:
    qs, h = d.length_fixed_point(*point), 1e-5
    assert abs(d.length_map(qs, *point) - qs) < 1e-12
    fd = (d.length_map(qs + h, *point) - d.length_map(qs - h, *point)) / (2 * h)
    assert abs(fd - d.length_slope(*point)) < 1e-7
    # chi_1 is the slope of the correlation map at c = 1 (one-sided difference).
    fd1 = (1.0 - d.correlation_map(1.0 - h, *point)) / h
    assert abs(fd1 - d.chi_1(*point)) < 1e-3
    cs = d.correlation_fixed_point(*point)
    if cs < 1:
        fdc = (d.correlation_map(cs + h, *point) - d.correlation_map(cs - h, *point)) / (2 * h)
        assert abs(fdc - d.chi_c(*point)) < 1e-7
        assert abs(d.correlation_map(cs, *point) - cs) < 1e-12


def test_ordered_and_chaotic_sides() -> None:
    assert d.chi_1(*ORDERED) < 1 and d.correlation_fixed_point(*ORDERED) == 1.0
    assert d.chi_c(*ORDERED) == pytest.approx(d.chi_1(*ORDERED), rel=1e-12)
    assert d.chi_1(*CHAOTIC) > 1 and 0 < d.correlation_fixed_point(*CHAOTIC) < 1
    assert d.chi_c(*CHAOTIC) < 1 < d.chi_1(*CHAOTIC)  # chi_c != chi_1 on the chaotic side
    assert math.isfinite(d.depth_scale_c(*CHAOTIC))


def test_xi_c_diverges_at_the_transition() -> None:
    crit = d.critical_sigma_w2(0.05)
    assert abs(d.chi_1(crit, 0.05) - 1) < 1e-10
    xi = [d.depth_scale_c(crit - e, 0.05) for e in (0.1, 0.01, 0.001)]
    assert xi[0] < xi[1] < xi[2] and xi[2] > 1000
    # 1/xi_c vanishes linearly: (1/xi_c) / (sigma_c - sigma) has a finite limit.
    r = [d.inverse_depth_scale_c(crit - e, 0.05) / e for e in (0.01, 0.001)]
    assert abs(r[0] / r[1] - 1) < 0.05


def test_monte_carlo_cross_check_of_chi_1() -> None:
    # A fixed-seed Monte Carlo estimate of sigma_w^2 E[phi'(sqrt(q*) z)^2]: 1e6 draws, se < 5e-4.
    rng = np.random.default_rng(7)
    qs = d.length_fixed_point(*CHAOTIC)
    mc = CHAOTIC[0] * np.mean((1 - np.tanh(math.sqrt(qs) * rng.standard_normal(10**6))**2)**2)
    assert abs(mc - d.chi_1(*CHAOTIC)) < 2e-3
