"""Gaussian expectations: exact sympy forms, quadrature with error estimates, tanh asymptotics."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import gaussian

PI = sp.pi
HYP = settings(max_examples=30, deadline=None, derandomize=True)


def test_relu_facts_are_exact():
    f = gaussian.relu_gaussian_facts()
    targets = {
        "E_phi": 1 / sp.sqrt(2 * PI),
        "E_phi2": sp.Rational(1, 2),
        "E_phi4": sp.Rational(3, 2),
        "Var_phi": (PI - 1) / (2 * PI),
        "E_abs": sp.sqrt(2 / PI),
        "Var_abs": 1 - 2 / PI,
        "E_2phi2": 1,
        "E_2phi2_sq": 6,
        "Var_2phi2": 5,
        "E_phi_prime_sq": sp.Rational(1, 2),
    }
    for key, target in targets.items():
        assert sp.simplify(f[key] - target) == 0, key
    # THEORY.md §0 / N1 numerical values
    assert abs(float(f["Var_phi"]) - 0.340845) < 5e-7
    assert abs(float(f["E_abs"]) - 0.797885) < 5e-7


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4])
def test_relu_moments_against_quadrature(n):
    val, err = gaussian.gaussian_expectation(lambda u: np.maximum(u, 0.0) ** n * (u > 0), 1.0)
    exact = float(gaussian.relu_moment(n))
    # quad's own error estimate (~1e-13) plus float rounding
    assert abs(val - exact) <= max(10 * err, 1e-11)


def test_relu_moments_against_monte_carlo():
    rng = np.random.default_rng(20261123)
    n = 1_000_000
    g = rng.standard_normal(n)
    phi = np.maximum(g, 0)
    f = gaussian.relu_gaussian_facts()
    for sample, key in (
        (phi, "E_phi"),
        (phi**2, "E_phi2"),
        (phi**4, "E_phi4"),
        (np.abs(g), "E_abs"),
        ((2 * phi**2) ** 2, "E_2phi2_sq"),
    ):
        se = sample.std(ddof=1) / np.sqrt(n)
        # 5 standard errors of the sample mean (n = 1e6): false-alarm rate ~6e-7 per check
        assert abs(sample.mean() - float(f[key])) < 5 * se, key


def test_tanh_asymptotics_symbolic():
    a = gaussian.tanh_asymptotics()
    q = a["q"]
    assert a["int_sech2"] == 2
    assert a["int_sech4"] == sp.Rational(4, 3)
    assert sp.simplify(a["kappa"] - 4 / (3 * sp.sqrt(2 * PI))) == 0
    assert sp.simplify(a["one_minus_V_tanh"] - sp.sqrt(2 / (PI * q))) == 0
    assert sp.simplify(a["V_tanh_prime"] - a["kappa"] / sp.sqrt(q)) == 0
    assert a["antiderivative_check_2"] == 0
    assert a["antiderivative_check_4"] == 0
    assert abs(float(a["kappa"]) - 0.531923) < 5e-7  # N25


def test_tanh_sech_integrals_numerically():
    from scipy import integrate

    for power, target in ((2, 2.0), (4, 4.0 / 3.0)):

        def sech_p(t, p=power):
            return (2 * np.exp(-abs(t)) / (1 + np.exp(-2 * abs(t)))) ** p

        val, err = integrate.quad(sech_p, -np.inf, np.inf)
        assert abs(val - target) < max(10 * err, 1e-10)


def test_tanh_large_q_values():
    # THEORY.md §3.4, q = 100: V = 0.92054 (asymptotic 0.92021), V' = 0.053107 (0.053192)
    v, ev = gaussian.v_phi("tanh", 100.0)
    vp, evp = gaussian.v_phi_prime("tanh", 100.0)
    assert ev < 1e-9 and evp < 1e-9
    assert abs(v - 0.92054) < 5e-6
    assert abs(vp - 0.053107) < 5e-7
    a = gaussian.tanh_asymptotics()
    q = a["q"]
    assert abs(1 - float(a["one_minus_V_tanh"].subs(q, 100)) - 0.92021) < 5e-6
    assert abs(float(a["V_tanh_prime"].subs(q, 100)) - 0.053192) < 5e-7
    # relative error of the asymptotic forms shrinks like 1/q
    for qq in (1e2, 1e4):
        vp, _ = gaussian.v_phi_prime("tanh", qq)
        rel = abs(vp - float(a["V_tanh_prime"].subs(q, qq))) / vp
        assert rel < 2.0 / qq


def test_tanh_small_q_series():
    s = gaussian.tanh_small_q_series()
    q = s["q"]
    assert sp.simplify(s["V_tanh"] - (q - 2 * q**2)) == 0
    assert sp.simplify(sp.expand(s["V_tanh_prime"]).coeff(q, 1) + 2) == 0
    assert sp.expand(s["V_tanh_prime"]).coeff(q, 0) == 1
    v, _ = gaussian.v_phi("tanh", 0.01)
    vp, _ = gaussian.v_phi_prime("tanh", 0.01)
    assert abs(v - 0.009805) < 5e-7 and abs(vp - 0.98067) < 5e-6  # THEORY.md §3.4


@pytest.mark.parametrize(
    "name,v_exact,vp_exact",
    [
        ("relu", lambda q: q / 2, lambda q: 0.5),
        ("abs", lambda q: q, lambda q: 1.0),
        ("identity", lambda q: q, lambda q: 1.0),
    ],
)
def test_registry_closed_forms(name, v_exact, vp_exact):
    q = np.array([0.1, 1.0, 7.0])
    v, ev = gaussian.v_phi(name, q)
    vp, evp = gaussian.v_phi_prime(name, q)
    assert v.shape == q.shape and ev.shape == q.shape
    assert np.all(np.abs(v - v_exact(q)) <= np.maximum(10 * ev, 1e-10 * q))
    assert np.all(np.abs(vp - vp_exact(q)) <= np.maximum(10 * evp, 1e-10))


def test_hermite_agrees_with_quad_for_smooth_activation():
    v_q, _ = gaussian.v_phi("tanh", [0.5, 2.0])
    v_h, e_h = gaussian.v_phi("tanh", [0.5, 2.0], method="hermite")
    assert np.all(np.abs(v_q - v_h) < 1e-10)
    # the Hermite estimate (difference with half the nodes) is conservative
    assert np.all(np.abs(v_q - v_h) <= e_h + 1e-15)
    assert np.all(e_h < 1e-7)


def test_register_activation_roundtrip():
    try:
        gaussian.register_activation(
            "softsign", lambda u: u / (1 + np.abs(u)), lambda u: 1 / (1 + np.abs(u)) ** 2
        )
        v, err = gaussian.v_phi("softsign", 1.0)
        assert 0 < v < 1 and err < 1e-9
    finally:
        gaussian.ACTIVATIONS.pop("softsign", None)
    with pytest.raises(KeyError):
        gaussian.v_phi("nope", 1.0)


@HYP
@given(st.floats(1e-3, 1e3))
def test_relu_v_phi_matches_q_over_2(q):
    v, err = gaussian.v_phi("relu", q)
    assert abs(v - q / 2) <= max(10 * err, 1e-10 * q)


@HYP
@given(st.floats(1e-3, 1e3))
def test_tanh_v_phi_bounds(q):
    v, _ = gaussian.v_phi("tanh", q)
    vp, _ = gaussian.v_phi_prime("tanh", q)
    assert 0 <= v <= min(q, 1.0) + 1e-12
    assert 0 <= vp <= 1.0


@pytest.mark.parametrize("name", ["relu", "tanh", "identity", "abs"])
def test_registered_derivatives_match_finite_differences(name):
    fn, deriv = gaussian.ACTIVATIONS[name]
    u = np.array([-2.3, -0.7, 0.4, 1.9, 25.0])  # away from kinks at 0
    h = 1e-6
    fd = (fn(u + h) - fn(u - h)) / (2 * h)
    np.testing.assert_allclose(deriv(u), fd, rtol=1e-6, atol=1e-9)
