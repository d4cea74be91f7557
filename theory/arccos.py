r"""Arc-cosine kernels, the ReLU correlation map and its depth asymptotics, and the
infinite-width kernel recursion of He–ReLU networks (THEORY.md §0, S3–S5).

* :math:`\mathbb E[\phi(u)^n\phi(v)^n]=J_n(\theta)/(2\pi)` for unit-variance Gaussians with
  correlation :math:`\cos\theta`: derived by sympy in polar coordinates (`derive_arccos_kernel`).
* :math:`f(\rho)=J_1(\arccos\rho)/\pi`;
  :math:`f_{|\cdot|}(\rho)=\frac2\pi(\sqrt{1-\rho^2}+\rho\arcsin\rho)`.
* Series of :math:`1-f(1-\epsilon)` and of :math:`f(\cos\theta)`; the :math:`u=\epsilon^{-1/2}`
  recursion; :math:`(1-\rho_l)^{-1/2}=\frac{\sqrt2}{3\pi}l+\frac1{\sqrt2\pi}\log l+C_0+o(1)`.
* Iterators: mpmath (arbitrary precision) and float64 in :math:`\epsilon=1-\rho` with the stable
  update :math:`\epsilon'=\epsilon-(\sin\theta-\theta\cos\theta)/\pi`,
  :math:`\theta=2\arcsin\sqrt{\epsilon/2}`.
* Kernel recursion on a Gram matrix (numba): sample-variance fraction per depth (S3).
"""

from __future__ import annotations

import functools

import mpmath
import numba
import numpy as np
import sympy as sp

__all__ = [
    "J_FORMULAS",
    "abs_correlation_map",
    "abs_correlation_map_expr",
    "arccos_kernel",
    "arccos_kernel_formula",
    "asymptotic_constants",
    "correlation_map_series",
    "derive_arccos_kernel",
    "estimate_c0",
    "input_kernel",
    "iterate_correlation_eps",
    "iterate_correlation_mp",
    "mean_field_chi",
    "one_minus_relu_map",
    "refined_one_minus_rho",
    "relu_correlation_map",
    "relu_correlation_map_expr",
    "relu_kernel_at",
    "relu_kernel_trajectory",
    "sample_variance_fraction",
    "u_recursion_series",
]

J_FORMULAS = {
    0: "pi - theta",
    1: "sin(theta) + (pi - theta)*cos(theta)",
    2: "3*sin(theta)*cos(theta) + (pi - theta)*(1 + 2*cos(theta)**2)",
}


# --------------------------------------------------------------------------------------------
# Symbolic kernels and map
# --------------------------------------------------------------------------------------------
def _theta() -> sp.Symbol:
    return sp.Symbol("theta", positive=True)


def arccos_kernel_formula(n: int) -> sp.Expr:
    r"""The stated closed form :math:`J_n(\theta)` (THEORY.md §0), ``n`` in {0, 1, 2}."""
    return sp.sympify(J_FORMULAS[n], locals={"theta": _theta()})


@functools.cache
def derive_arccos_kernel(n: int) -> sp.Expr:
    r""":math:`J_n(\theta)=2\pi\,\mathbb E[\phi(u)^n\phi(v)^n]` derived by sympy.

    Write :math:`u=r\cos\alpha`, :math:`v=r\cos(\alpha-\theta)` (a rotation of two i.i.d.
    standard normals, so :math:`\mathrm{corr}(u,v)=\cos\theta`). Both are positive for
    :math:`\alpha\in(\theta-\pi/2,\pi/2)`, so
    :math:`2\pi\,\mathbb E=\int_0^\infty r^{2n+1}e^{-r^2/2}dr`
    :math:`\times\int\cos^n\alpha\cos^n(\alpha-\theta)d\alpha`.
    Valid for :math:`\theta\in(0,\pi)`.
    """
    r = sp.Symbol("r", positive=True)
    a = sp.Symbol("alpha", real=True)
    th = _theta()
    radial = sp.integrate(r ** (2 * n + 1) * sp.exp(-(r**2) / 2), (r, 0, sp.oo))
    angular = sp.integrate(sp.cos(a) ** n * sp.cos(a - th) ** n, (a, th - sp.pi / 2, sp.pi / 2))
    return sp.simplify(radial * angular)


@functools.cache
def relu_correlation_map_expr() -> tuple[sp.Symbol, sp.Expr]:
    r"""``(rho, f)`` with :math:`f(\rho)=(\sqrt{1-\rho^2}+(\pi-\arccos\rho)\rho)/\pi`, i.e.
    :math:`J_1(\arccos\rho)/\pi` (=:math:`2\,\mathbb E\phi(u)\phi(v)`, He gain 2)."""
    rho = sp.Symbol("rho", real=True)
    return rho, (sp.sqrt(1 - rho**2) + (sp.pi - sp.acos(rho)) * rho) / sp.pi


@functools.cache
def abs_correlation_map_expr() -> tuple[sp.Symbol, sp.Expr, sp.Expr]:
    r"""``(theta, derived, stated)`` for :math:`f_{|\cdot|}(\cos\theta)=\mathbb E|u||v|`.

    ``derived``: :math:`|u||v|=\sum_{\pm,\pm}\phi(\pm u)\phi(\pm v)` and
    :math:`(-u,-v)` has the law of :math:`(u,v)` while :math:`(u,-v)` has correlation
    :math:`\cos(\pi-\theta)`, so :math:`\mathbb E|u||v|=(J_1(\theta)+J_1(\pi-\theta))/\pi`
    with :math:`J_1` from `derive_arccos_kernel`. ``stated``:
    :math:`\frac2\pi(\sqrt{1-\rho^2}+\rho\arcsin\rho)` at :math:`\rho=\cos\theta`,
    :math:`\theta\in(0,\pi)`.
    """
    th = _theta()
    j1 = derive_arccos_kernel(1)
    derived = (j1 + j1.subs(th, sp.pi - th)) / sp.pi
    rho = sp.cos(th)
    stated = 2 / sp.pi * (sp.sin(th) + rho * (sp.pi / 2 - th))  # sqrt(1-rho^2) = sin(theta),
    # arcsin(cos(theta)) = pi/2 - theta on (0, pi)
    return th, sp.simplify(derived), stated


@functools.cache
def correlation_map_series(order: int = 6) -> dict[str, sp.Expr]:
    r"""Series of the ReLU map by sympy.

    * ``eps_series``: :math:`1-f(1-\epsilon)` in powers of :math:`\epsilon^{1/2}` up to
      :math:`\epsilon^{5/2}` (computed with :math:`\epsilon=s^2`, then :math:`s=\sqrt\epsilon`):
      :math:`\epsilon-\frac{2\sqrt2}{3\pi}\epsilon^{3/2}-\frac{\sqrt2}{30\pi}\epsilon^{5/2}`.
    * ``angle_series``: :math:`f(\cos\theta)` to :math:`\theta^6`.
    * ``eps``, ``theta`` symbols; the remainders are :math:`O(\epsilon^3)` and :math:`O(\theta^7)`.
    """
    rho, f = relu_correlation_map_expr()
    s = sp.Symbol("s", positive=True)
    eps = sp.Symbol("epsilon", positive=True)
    th = _theta()
    ser_s = sp.series(1 - f.subs(rho, 1 - s**2), s, 0, order).removeO()
    eps_series = sp.expand(ser_s.subs(s, sp.sqrt(eps)))
    angle_series = sp.series(
        (sp.sin(th) + (sp.pi - th) * sp.cos(th)) / sp.pi, th, 0, order + 1
    ).removeO()
    return {"eps": eps, "theta": th, "eps_series": eps_series, "angle_series": angle_series}


@functools.cache
def u_recursion_series() -> dict[str, sp.Expr]:
    r"""The :math:`u=\epsilon^{-1/2}` recursion: with
    :math:`\epsilon'=\epsilon-a\epsilon^{3/2}-b\epsilon^{5/2}`,
    :math:`u'=u+\frac a2+\frac{3a^2}{8u}+O(u^{-2})` (sympy series in :math:`1/u`).

    Returns ``increment`` (the truncated :math:`u'-u`), ``a``, ``b``, ``u``.
    """
    u = sp.Symbol("u", positive=True)
    a, b = sp.symbols("a b", positive=True)
    x = sp.Symbol("x", positive=True)  # x = 1/u = eps^{1/2}
    uprime = (x**2 - a * x**3 - b * x**5) ** sp.Rational(-1, 2)
    ser = sp.series(uprime - 1 / x, x, 0, 2).removeO()
    return {"u": u, "a": a, "b": b, "increment": sp.expand(ser.subs(x, 1 / u))}


@functools.cache
def asymptotic_constants() -> dict[str, sp.Expr]:
    r"""Constants of the depth asymptotics, all from `correlation_map_series` and
    `u_recursion_series`.

    ``a`` :math:`=2\sqrt2/(3\pi)` (minus the :math:`\epsilon^{3/2}` coefficient); ``slope``
    :math:`=a/2=\sqrt2/(3\pi)`; ``log_coef`` :math:`=(3a^2/8)/(a/2)=3a/4=1/(\sqrt2\pi)`
    (a sum :math:`\sum c/u_k` with :math:`u_k\simeq(a/2)k`); ``nine_pi2_over_2``
    :math:`=1/\text{slope}^2`
    (:math:`1-\rho_l\simeq1/u_l^2\simeq9\pi^2/(2l^2)`); ``f0`` :math:`=f(0)=1/\pi`.
    """
    ser = correlation_map_series()
    eps = ser["eps"]
    a = -ser["eps_series"].coeff(eps ** sp.Rational(3, 2))
    b = -ser["eps_series"].coeff(eps ** sp.Rational(5, 2))
    rec = u_recursion_series()
    inc = rec["increment"].subs({rec["a"]: a, rec["b"]: b})
    u = rec["u"]
    slope = sp.simplify(inc.subs(u, sp.oo))
    c1 = sp.simplify(sp.limit((inc - slope) * u, u, sp.oo))
    log_coef = sp.simplify(c1 / slope)
    rho, f = relu_correlation_map_expr()
    return {
        "a": sp.simplify(a),
        "b": sp.simplify(b),
        "slope": slope,
        "log_coef": log_coef,
        "nine_pi2_over_2": sp.simplify(1 / slope**2),
        "f0": sp.simplify(f.subs(rho, 0)),
    }


# --------------------------------------------------------------------------------------------
# Numeric kernels and maps (numpy, vectorised)
# --------------------------------------------------------------------------------------------
def arccos_kernel(n: int, theta: np.ndarray | float) -> np.ndarray:
    r""":math:`J_n(\theta)`, ``n`` in {0, 1, 2}, elementwise over ``theta`` in :math:`[0,\pi]`."""
    th = np.asarray(theta, dtype=float)
    if n == 0:
        return np.pi - th
    if n == 1:
        return np.sin(th) + (np.pi - th) * np.cos(th)
    if n == 2:
        c = np.cos(th)
        return 3 * np.sin(th) * c + (np.pi - th) * (1 + 2 * c**2)
    raise ValueError(f"n={n}; only J0, J1, J2 are implemented")


def relu_correlation_map(rho: np.ndarray | float) -> np.ndarray:
    r""":math:`f(\rho)=(\sqrt{1-\rho^2}+(\pi-\arccos\rho)\rho)/\pi`, elementwise,
    :math:`\rho\in[-1,1]`."""
    r = np.clip(np.asarray(rho, dtype=float), -1.0, 1.0)
    return (np.sqrt(1 - r**2) + (np.pi - np.arccos(r)) * r) / np.pi


def abs_correlation_map(rho: np.ndarray | float) -> np.ndarray:
    r""":math:`f_{|\cdot|}(\rho)=\mathbb E|u||v|=\frac2\pi(\sqrt{1-\rho^2}+\rho\arcsin\rho)`."""
    r = np.clip(np.asarray(rho, dtype=float), -1.0, 1.0)
    return 2 / np.pi * (np.sqrt(1 - r**2) + r * np.arcsin(r))


@numba.njit(cache=True)
def _one_minus_f_scalar(eps: float) -> float:
    # 1 - f(1 - eps) = eps - (sin t - t cos t)/pi, t = 2 asin(sqrt(eps/2)); series for small t
    # avoids the cancellation in sin t - t cos t (relative error ~1e-16 / t^2 otherwise).
    t = 2.0 * np.arcsin(np.sqrt(0.5 * eps))
    if t < 1e-2:
        t2 = t * t
        d = t * t2 * (1.0 / 3.0 - t2 * (1.0 / 30.0 - t2 * (1.0 / 840.0 - t2 / 45360.0)))
    else:
        d = np.sin(t) - t * np.cos(t)
    return eps - d / np.pi


def one_minus_relu_map(eps: np.ndarray | float) -> np.ndarray:
    r""":math:`1-f(1-\epsilon)` in the cancellation-free form of S4(b), elementwise,
    :math:`\epsilon\in[0,2]`."""
    e = np.asarray(eps, dtype=float)
    out = np.empty(e.shape)
    flat = e.ravel()
    o = out.ravel()
    for i in range(flat.size):
        o[i] = _one_minus_f_scalar(float(flat[i]))
    return out


@numba.njit(cache=True)
def _iterate_eps(eps1: float, record: np.ndarray) -> np.ndarray:
    out = np.empty(record.size)
    eps = eps1
    layer = 1
    j = 0
    last = record[-1]
    while j < record.size and layer <= last:
        while j < record.size and record[j] == layer:
            out[j] = eps
            j += 1
        eps = _one_minus_f_scalar(eps)
        layer += 1
    return out


def iterate_correlation_eps(rho1: float, layers: np.ndarray | list[int]) -> np.ndarray:
    r""":math:`1-\rho_l` at each requested ``layers`` (sorted ints :math:`\ge1`), float64,
    iterating :math:`\epsilon\mapsto1-f(1-\epsilon)` from :math:`\epsilon_1=1-\rho_1` (numba).

    Relative accuracy about :math:`10^{-12}` up to :math:`l=10^6` (no cancellation).
    """
    rec = np.asarray(layers, dtype=np.int64)
    if rec.size == 0 or rec[0] < 1 or np.any(np.diff(rec) < 0):
        raise ValueError("layers must be a non-empty sorted sequence of integers >= 1")
    return _iterate_eps(float(1.0 - rho1), rec)


def iterate_correlation_mp(
    rho1: float | str, layers: list[int], *, dps: int = 40
) -> list[mpmath.mpf]:
    r""":math:`1-\rho_l` at each of ``layers`` by iterating :math:`\rho\mapsto f(\rho)` in mpmath
    with ``dps`` decimal digits (independent of the float64 iterator; ~10 µs per step)."""
    rec = sorted(int(v) for v in layers)
    out = []
    with mpmath.workdps(dps):
        rho = mpmath.mpf(rho1)
        pi = mpmath.pi
        layer = 1
        for target in rec:
            while layer < target:
                rho = (mpmath.sqrt(1 - rho * rho) + (pi - mpmath.acos(rho)) * rho) / pi
                layer += 1
            out.append(1 - rho)
    return out


def refined_one_minus_rho(layer: np.ndarray | float, c0: float) -> np.ndarray:
    r"""Refined asymptotic
    :math:`1-\rho_l=\big(\frac{\sqrt2}{3\pi}l+\frac1{\sqrt2\pi}\log l+C_0\big)^{-2}`."""
    const = _float_constants()
    lay = np.asarray(layer, dtype=float)
    return (const["slope"] * lay + const["log_coef"] * np.log(lay) + c0) ** -2.0


@functools.cache
def _float_constants() -> dict[str, float]:
    return {k: float(v.evalf()) for k, v in asymptotic_constants().items()}


def estimate_c0(
    rho1: float = 0.0, n_layers: int = 10**6, *, method: str = "float64", dps: int = 30
) -> tuple[float, float]:
    r"""Offset :math:`C_0=\lim_l\,[(1-\rho_l)^{-1/2}-\frac{\sqrt2}{3\pi}l-\frac1{\sqrt2\pi}\log l]`.

    Float64 :math:`\epsilon` iteration to ``n_layers``; the :math:`O(\log l/l)` remainder is
    removed by fitting offset :math:`\approx C_0+(\alpha+\beta\log l)/l` on
    :math:`l\in[n/100,n]`. Returns ``(C0, raw offset at n_layers)``; :math:`\rho_1=0` gives 0.5087.
    ``method="mpmath"`` iterates with ``dps`` digits instead (about 25 µs per layer).
    """
    const = _float_constants()
    layers = np.unique(np.geomspace(max(n_layers // 100, 10), n_layers, 40).astype(np.int64))
    if method == "float64":
        eps = iterate_correlation_eps(rho1, layers)
    elif method == "mpmath":
        mp = iterate_correlation_mp(rho1, [int(v) for v in layers], dps=dps)
        eps = np.array([float(v) for v in mp])
    else:
        raise ValueError(f"method={method!r}; use 'float64' or 'mpmath'")
    lay = layers.astype(float)
    off = eps**-0.5 - const["slope"] * lay - const["log_coef"] * np.log(lay)
    design = np.column_stack([np.ones_like(lay), 1 / lay, np.log(lay) / lay])
    coef, *_ = np.linalg.lstsq(design, off, rcond=None)
    return float(coef[0]), float(off[-1])


# --------------------------------------------------------------------------------------------
# Infinite-width kernel recursion on a batch (S3)
# --------------------------------------------------------------------------------------------
def input_kernel(x: np.ndarray) -> np.ndarray:
    r"""First pre-activation kernel :math:`K^1=\frac{2}{N_0}XX^\top` of a He net; ``x``: (B, N0)."""
    x = np.asarray(x, dtype=float)
    return 2.0 / x.shape[1] * (x @ x.T)


def sample_variance_fraction(kernel: np.ndarray) -> float:
    r"""Infinite-width sample-variance fraction
    :math:`1-\overline{K}/\overline{\operatorname{diag}K}`
    of a (B, B) kernel (population estimator)."""
    k = np.asarray(kernel, dtype=float)
    return float(1.0 - k.mean() / np.diag(k).mean())


@numba.njit(cache=True)
def _kernel_trajectory(
    k1: np.ndarray, record: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = k1.shape[0]
    norms = np.empty(b)
    for i in range(b):
        norms[i] = np.sqrt(k1[i, i])
    eps = np.zeros((b, b))
    for i in range(b):
        for j in range(i + 1, b):
            c = k1[i, j] / (norms[i] * norms[j])
            c = min(1.0, max(-1.0, c))
            eps[i, j] = 1.0 - c
    sum_diag = 0.0
    sum_norm = 0.0
    for i in range(b):
        sum_diag += norms[i] ** 2
        sum_norm += norms[i]
    radial = b * sum_diag - sum_norm**2  # = B^2 * (mean K_aa - (mean sqrt K_aa)^2) >= 0
    n_rec = record.size
    frac = np.empty(n_rec)
    mean_corr = np.empty(n_rec)
    floor = np.empty(n_rec)
    layer = 1
    j = 0
    last = record[-1]
    while j < n_rec and layer <= last:
        if record[j] == layer:
            s_w = 0.0
            s_e = 0.0
            for a in range(b):
                for c in range(a + 1, b):
                    s_w += norms[a] * norms[c] * eps[a, c]
                    s_e += eps[a, c]
            # 1 - sum_ab K_ab / (B sum_a K_aa), written with eps to avoid cancellation
            while j < n_rec and record[j] == layer:
                frac[j] = (2.0 * s_w + radial) / (b * sum_diag)
                mean_corr[j] = 1.0 - s_e / (b * (b - 1) / 2.0) if b > 1 else 1.0
                floor[j] = radial / (b * sum_diag)
                j += 1
        for a in range(b):
            for c in range(a + 1, b):
                eps[a, c] = _one_minus_f_scalar(eps[a, c])
        layer += 1
    return frac, mean_corr, floor


def relu_kernel_trajectory(
    kernel1: np.ndarray, layers: np.ndarray | list[int]
) -> dict[str, np.ndarray]:
    r"""Iterate the He–ReLU kernel map from :math:`K^1` and report, at each of ``layers``:

    * ``fraction``: :math:`1-\frac{\frac1{B^2}\sum_{ab}K^l_{ab}}{\frac1B\sum_aK^l_{aa}}` (S3);
    * ``mean_corr``: mean off-diagonal correlation :math:`\bar\rho^{\,l}`;
    * ``floor``: the radial part :math:`\operatorname{Var}_a\|x_a\|/\mathbb E_a\|x_a\|^2` (S5),
      constant because :math:`K^{l+1}_{aa}=K^l_{aa}`.

    Recursion: :math:`K^{l+1}_{ab}=\frac1\pi\sqrt{K_{aa}K_{bb}}(\sin\theta+(\pi-\theta)\cos\theta)`,
    computed as :math:`\epsilon_{ab}\mapsto1-f(1-\epsilon_{ab})` (stable; numba, O(B²) per layer).
    ``kernel1``: (B, B) positive semi-definite; ``layers``: sorted ints >= 1. Arrays of len(layers).
    """
    k1 = np.ascontiguousarray(kernel1, dtype=float)
    rec = np.asarray(layers, dtype=np.int64)
    if k1.ndim != 2 or k1.shape[0] != k1.shape[1]:
        raise ValueError(f"kernel1 must be square, got shape {k1.shape}")
    if rec.size == 0 or rec[0] < 1 or np.any(np.diff(rec) < 0):
        raise ValueError("layers must be a non-empty sorted sequence of integers >= 1")
    if np.any(np.diag(k1) <= 0):
        raise ValueError("every input must have a positive norm")
    frac, corr, floor = _kernel_trajectory(k1, rec)
    return {"layers": rec, "fraction": frac, "mean_corr": corr, "floor": floor}


def mean_field_chi(x0: np.ndarray, layers: np.ndarray | list[int]) -> np.ndarray:
    r"""Mean-field normalised sensitivity :math:`\chi^l` of a vanilla He–ReLU FC net whose first
    layer input (stem output) is ``x0`` (B, N0) (S9, L5).

    :math:`\mu_2(dx^l)` and :math:`\nu_2(x^l)` are preserved (L2) and
    :math:`\mu_2(x^l)/\nu_2(x^l)` is the fraction of the post-activation kernel, i.e. the S3
    fraction of :math:`K^{l+1}`; the reference :math:`\mu_2(x^0)/\nu_2(x^0)` is the fraction of
    :math:`K^1\propto X^0X^{0\top}`. Hence
    :math:`\chi^l=(\mathrm{frac}(K^1)/\mathrm{frac}(K^{l+1}))^{1/2}`.
    ``layers``: sorted ints >= 0; returns an array of len(layers).
    """
    lay = np.asarray(layers, dtype=np.int64)
    if lay.size == 0 or lay[0] < 0 or np.any(np.diff(lay) < 0):
        raise ValueError("layers must be a non-empty sorted sequence of integers >= 0")
    rec = np.concatenate([[1], lay + 1])
    frac = relu_kernel_trajectory(input_kernel(x0), rec)["fraction"]
    return np.sqrt(frac[0] / frac[1:])


@numba.njit(cache=True)
def _kernel_at(k1: np.ndarray, layer: int) -> np.ndarray:
    b = k1.shape[0]
    norms = np.empty(b)
    for i in range(b):
        norms[i] = np.sqrt(k1[i, i])
    out = np.empty((b, b))
    for i in range(b):
        out[i, i] = k1[i, i]
        for j in range(i + 1, b):
            c = min(1.0, max(-1.0, k1[i, j] / (norms[i] * norms[j])))
            e = 1.0 - c
            for _ in range(layer - 1):
                e = _one_minus_f_scalar(e)
            out[i, j] = norms[i] * norms[j] * (1.0 - e)
            out[j, i] = out[i, j]
    return out


def relu_kernel_at(kernel1: np.ndarray, layer: int) -> np.ndarray:
    r"""The He–ReLU pre-activation kernel :math:`K^{\rm layer}` (B, B) iterated from
    :math:`K^1` = ``kernel1`` (``layer`` >= 1; ``layer = 1`` returns a copy of ``kernel1``)."""
    k1 = np.ascontiguousarray(kernel1, dtype=float)
    if int(layer) < 1:
        raise ValueError(f"layer={layer} must be >= 1")
    if np.any(np.diag(k1) <= 0):
        raise ValueError("every input must have a positive norm")
    return _kernel_at(k1, int(layer))
