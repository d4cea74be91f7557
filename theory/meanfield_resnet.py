r"""Mean-field recurrences of fully connected resnets with variance and width variation (§3.4).

Architectures (stream width :math:`N`, hidden width :math:`M_l` in block :math:`l`):

* **full**:    :math:`h^l = W^l x^{l-1} + b^l`, :math:`x^l = x^{l-1} + V^l\phi(h^l) + a^l`;
* **reduced**: :math:`x^l = x^{l-1} + \phi(W^l x^{l-1} + b^l)`,

with variance variation :math:`\sigma_\bullet^2(l) = \sigma_\bullet^2 l^{-\beta_\bullet}`,
:math:`\bullet\in\{w,v,b,a\}`. The mean-field quantities iterate as

.. math::
    q^l = \sigma_w^2(l)p^{l-1} + \sigma_b^2(l),\qquad
    p^l = p^{l-1} + \sigma_v^2(l)\,\mathrm V(q^l) + \sigma_a^2(l),

    \lambda^l = \sigma_w^2(l)\gamma^{l-1} + \sigma_b^2(l),\qquad
    \gamma^l = \gamma^{l-1} + \sigma_v^2(l)\,\mathrm W(q^l,\lambda^l) + \sigma_a^2(l),

    G_L = \log(\chi^0/\chi^L)
        = \sum_{l=1}^L \log\big(1+\sigma_v^2(l)\sigma_w^2(l)\mathrm V'(q^l)\big)

(reduced: :math:`\sigma_v^2(l)\equiv1`, :math:`\sigma_a^2\equiv0`). Per-entry parameter gradients
carry the width factor :math:`N/M_l` (:func:`parameter_gradients`).

Numerics
--------
* ReLU in closed form: :math:`\mathrm V=q/2`, :math:`\mathrm V'=1/2`,
  :math:`\mathrm W=(q/2)f(\lambda/q)` with :func:`relu_corr_map` :math:`f`. ReLU norms are
  iterated in log space (they overflow doubles after ~10^3 layers).
* tanh: :math:`1-\mathrm V(q)=\mathbb E\,\mathrm{sech}^2(\sqrt q g)` and
  :math:`\mathrm V'(q)=\mathbb E\,\mathrm{sech}^4(\sqrt q g)` by the trapezoid rule in
  :math:`t=\sqrt q g` on :math:`[-60,60]` (step 0.05, spectrally accurate) for
  :math:`q\ge0.05`, 200-node Gauss–Hermite below; tabulated on a log-:math:`q` grid
  (:data:`TABLE_PER_DECADE` points per decade, :math:`10^{-8}\le q\le10^{10}`), linear
  interpolation of :math:`\log\mathrm V`, :math:`\log\mathrm V'` in :math:`\log q`; Taylor series
  below the grid, the :math:`q^{-1/2}` law above. :math:`\mathrm W_{\tanh}` by 2-D Gauss–Hermite.
* :func:`iterate` runs a numba loop (``cache=True``) to :math:`L=10^6` and returns values at
  checkpoints; :func:`local_slopes` and :func:`offset_fit` turn them into local exponents (§3.7).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

ACTIVATIONS = ("relu", "tanh")
ARCHITECTURES = ("full", "reduced")

#: tanh large-q constant :math:`\kappa=\int\mathrm{sech}^4/\sqrt{2\pi}=4/(3\sqrt{2\pi})`.
KAPPA = 4.0 / (3.0 * math.sqrt(2.0 * math.pi))

TABLE_LOGQ_MIN = math.log(1e-8)
TABLE_LOGQ_MAX = math.log(1e10)
TABLE_PER_DECADE = 400
_TRAPEZOID_Q_MIN = 0.05
_TRAPEZOID_T_MAX = 60.0
_TRAPEZOID_STEP = 0.05
_GH_NODES = 200


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ResNetParams:
    r"""Mean-field resnet hyper-parameters.

    ``sigma_*2`` are the layer-1 variances :math:`\sigma_\bullet^2`, ``beta_*`` the VV
    exponents (:math:`\sigma_\bullet^2(l)=\sigma_\bullet^2l^{-\beta_\bullet}`), ``p0`` the
    input second moment :math:`p^0`. For ``architecture="reduced"`` the ``v`` and ``a``
    parameters are ignored (no :math:`V`, :math:`a`).
    """

    activation: str = "tanh"
    architecture: str = "full"
    sigma_w2: float = 1.0
    sigma_v2: float = 1.0
    sigma_b2: float = 0.0
    sigma_a2: float = 0.0
    beta_w: float = 0.0
    beta_v: float = 0.0
    beta_b: float = 0.0
    beta_a: float = 0.0
    p0: float = 1.0

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation={self.activation!r}; use one of {ACTIVATIONS}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture={self.architecture!r}; use one of {ARCHITECTURES}")
        for name in ("sigma_w2", "sigma_v2", "sigma_b2", "sigma_a2"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 0")
        if not self.p0 > 0.0:
            raise ValueError(f"p0={self.p0!r} must be > 0")

    def as_array(self) -> NDArray[np.float64]:
        """Kernel encoding, shape (12,): act, arch, σw², σv², σb², σa², βw, βv, βb, βa, p0, 0."""
        return np.array(
            [
                ACTIVATIONS.index(self.activation),
                ARCHITECTURES.index(self.architecture),
                self.sigma_w2,
                self.sigma_v2,
                self.sigma_b2,
                self.sigma_a2,
                self.beta_w,
                self.beta_v,
                self.beta_b,
                self.beta_a,
                self.p0,
                0.0,
            ],
            dtype=np.float64,
        )

    def as_dict(self) -> dict[str, float | str]:
        """All fields as a plain dict (e.g. for ``phase_classifier.classify(**d)``)."""
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# ReLU closed forms
# --------------------------------------------------------------------------------------------
def relu_corr_map(rho: ArrayLike) -> NDArray[np.float64]:
    r"""ReLU correlation map :math:`f(\rho)=(\sqrt{1-\rho^2}+(\pi-\arccos\rho)\rho)/\pi`.

    ``rho``: any shape, values in [-1, 1]; returns the same shape. :math:`f(1)=1`,
    :math:`f(0)=1/\pi`, :math:`1-f(1-\delta)=\delta-a\delta^{3/2}+O(\delta^{5/2})`,
    :math:`a=2\sqrt2/(3\pi)`.
    """
    r = np.clip(np.asarray(rho, dtype=np.float64), -1.0, 1.0)
    return (np.sqrt(1.0 - r * r) + (np.pi - np.arccos(r)) * r) / np.pi


@numba.njit(cache=True)
def _one_minus_f(delta: float) -> float:
    """1 - f(1 - delta) without cancellation of the O(1) terms (delta in [0, 2])."""
    if delta <= 0.0:
        return 0.0
    theta = 2.0 * math.asin(math.sqrt(0.5 * delta))  # arccos(1 - delta)
    s = math.sqrt(delta * (2.0 - delta))
    return (math.pi * delta - s + (1.0 - delta) * theta) / math.pi


# --------------------------------------------------------------------------------------------
# tanh integrals
# --------------------------------------------------------------------------------------------
def _tanh_direct(q: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """V(q), V'(q) by quadrature (trapezoid for q >= 0.05, Gauss–Hermite below); q: shape (n,)."""
    q = np.asarray(q, dtype=np.float64)
    v = np.empty_like(q)
    vp = np.empty_like(q)
    big = q >= _TRAPEZOID_Q_MIN
    if np.any(big):
        t = np.arange(0.0, _TRAPEZOID_T_MAX + 0.5 * _TRAPEZOID_STEP, _TRAPEZOID_STEP)
        w = np.full(t.shape, 2.0 * _TRAPEZOID_STEP)  # even integrand: 2 * one side
        w[0] = _TRAPEZOID_STEP
        sech2 = 1.0 / np.cosh(t) ** 2
        qb = q[big]
        for k0 in range(0, qb.size, 512):
            qq = qb[k0 : k0 + 512, None]
            dens = np.exp(-0.5 * t[None, :] ** 2 / qq) / np.sqrt(2.0 * np.pi * qq)
            one_minus_v = dens @ (w * sech2)
            idx = np.flatnonzero(big)[k0 : k0 + 512]
            v[idx] = 1.0 - one_minus_v
            vp[idx] = dens @ (w * sech2**2)
    small = ~big
    if np.any(small):
        x, wg = np.polynomial.hermite.hermgauss(_GH_NODES)
        u = np.sqrt(2.0 * q[small])[:, None] * x[None, :]
        th = np.tanh(u)
        v[small] = (th**2) @ wg / np.sqrt(np.pi)
        vp[small] = ((1.0 - th**2) ** 2) @ wg / np.sqrt(np.pi)
    return v, vp


@functools.cache
def tanh_tables() -> tuple[float, float, NDArray[np.float64], NDArray[np.float64]]:
    r"""The tanh tables: ``(logq0, dlogq, logV, logVp)``; ``logV[i]`` is
    :math:`\log\mathrm V(q_i)`, :math:`\log q_i=\mathrm{logq0}+i\,\mathrm{dlogq}`, shape (n,)."""
    n = int(round((TABLE_LOGQ_MAX - TABLE_LOGQ_MIN) / math.log(10.0) * TABLE_PER_DECADE)) + 1
    logq = np.linspace(TABLE_LOGQ_MIN, TABLE_LOGQ_MAX, n)
    v, vp = _tanh_direct(np.exp(logq))
    log_v = np.log(v)
    log_vp = np.log(vp)
    log_v.setflags(write=False)
    log_vp.setflags(write=False)
    return float(logq[0]), float(logq[1] - logq[0]), log_v, log_vp


@numba.njit(cache=True)
def _tanh_lookup(
    q: float, x0: float, hx: float, log_v: NDArray[np.float64], log_vp: NDArray[np.float64]
) -> tuple[float, float]:
    """(V(q), V'(q)) from the tables; series below the grid, q^{-1/2} law above."""
    n = log_v.shape[0]
    if q <= 0.0:
        return 0.0, 1.0
    lq = math.log(q)
    pos = (lq - x0) / hx
    if pos < 0.0:
        return q - 2.0 * q * q + (17.0 / 3.0) * q * q * q, 1.0 - 2.0 * q + 7.0 * q * q
    if pos >= n - 1:
        dl = lq - (x0 + (n - 1) * hx)
        one_minus_v = (1.0 - math.exp(log_v[n - 1])) * math.exp(-0.5 * dl)
        return 1.0 - one_minus_v, math.exp(log_vp[n - 1] - 0.5 * dl)
    i = int(pos)
    fr = pos - i
    lv = log_v[i] + fr * (log_v[i + 1] - log_v[i])
    lvp = log_vp[i] + fr * (log_vp[i + 1] - log_vp[i])
    return math.exp(lv), math.exp(lvp)


@numba.njit(cache=True)
def _tanh_lookup_array(
    q: NDArray[np.float64],
    x0: float,
    hx: float,
    log_v: NDArray[np.float64],
    log_vp: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    v = np.empty(q.shape[0])
    vp = np.empty(q.shape[0])
    for i in range(q.shape[0]):
        v[i], vp[i] = _tanh_lookup(q[i], x0, hx, log_v, log_vp)
    return v, vp


def tanh_V(q: ArrayLike) -> NDArray[np.float64]:
    r""":math:`\mathrm V_{\tanh}(q)=\mathbb E\tanh(\sqrt q\,g)^2` (tabulated); any shape, q >= 0."""
    qa = np.asarray(q, dtype=np.float64)
    v, _ = _tanh_lookup_array(np.ravel(qa), *tanh_tables())
    return v.reshape(qa.shape)


def tanh_Vp(q: ArrayLike) -> NDArray[np.float64]:
    r""":math:`\mathrm V'_{\tanh}(q)=\mathbb E\,\mathrm{sech}^4(\sqrt q\,g)` (tabulated).

    Any shape, q >= 0."""
    qa = np.asarray(q, dtype=np.float64)
    _, vp = _tanh_lookup_array(np.ravel(qa), *tanh_tables())
    return vp.reshape(qa.shape)


def tanh_V_direct(q: ArrayLike) -> NDArray[np.float64]:
    """V_tanh(q) by direct quadrature (no table); any shape, q > 0. For table checks."""
    qa = np.asarray(q, dtype=np.float64)
    return _tanh_direct(np.ravel(qa))[0].reshape(qa.shape)


def tanh_Vp_direct(q: ArrayLike) -> NDArray[np.float64]:
    """V'_tanh(q) by direct quadrature (no table); any shape, q > 0. For table checks."""
    qa = np.asarray(q, dtype=np.float64)
    return _tanh_direct(np.ravel(qa))[1].reshape(qa.shape)


@functools.cache
def _gh2(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, w = np.polynomial.hermite.hermgauss(n)
    return np.sqrt(2.0) * x, w / np.sqrt(np.pi)  # nodes/weights for E f(g), g ~ N(0,1)


@numba.njit(cache=True)
def _tanh_half_sq_diff(
    q: float, rho: float, z: NDArray[np.float64], w: NDArray[np.float64]
) -> float:
    """½E(tanh u − tanh u')², (u,u') ~ N(0, q[[1,ρ],[ρ,1]]), = V(q) − W(q, ρq); 2-D GH."""
    sq = math.sqrt(q)
    c = math.sqrt(max(0.0, 1.0 - rho * rho))
    acc = 0.0
    for i in range(z.shape[0]):
        u = sq * z[i]
        tu = math.tanh(u)
        inner = 0.0
        for j in range(z.shape[0]):
            d = tu - math.tanh(sq * (rho * z[i] + c * z[j]))
            inner += w[j] * d * d
        acc += w[i] * inner
    return 0.5 * acc


@functools.cache
def _gl20(n: int = 80) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, w = np.polynomial.legendre.leggauss(n)
    return 10.0 * (x + 1.0), 10.0 * w  # Gauss–Legendre on [0, 20]


@numba.njit(cache=True)
def _cond_mean_tanh(mu: float, s: float, gz: NDArray[np.float64], gw: NDArray[np.float64],
                    lx: NDArray[np.float64], lw: NDArray[np.float64]) -> float:
    """E tanh(mu + s z), z ~ N(0,1): Gauss–Hermite for s <= 2; for s > 2 the split
    tanh = sign − r, r(x) = sign(x)(1 − tanh|x|) localised: erf(mu/(s√2)) − ∫ r φ."""
    if s <= 2.0:
        acc = 0.0
        for j in range(gz.shape[0]):
            acc += gw[j] * math.tanh(mu + s * gz[j])
        return acc
    acc = 0.0
    norm = 1.0 / (s * math.sqrt(2.0 * math.pi))
    for j in range(lx.shape[0]):
        x = lx[j]
        r = 2.0 / (1.0 + math.exp(2.0 * x))
        dp = (x - mu) / s
        dm = (x + mu) / s
        acc += lw[j] * r * (math.exp(-0.5 * dp * dp) - math.exp(-0.5 * dm * dm)) * norm
    return math.erf(mu / (s * math.sqrt(2.0))) - acc


@numba.njit(cache=True)
def _tanh_W_big(q: float, rho: float, gz: NDArray[np.float64], gw: NDArray[np.float64],
                lx: NDArray[np.float64], lw: NDArray[np.float64]) -> float:
    """W(q, ρq) for q > 1: trapezoid (step 0.05, spectrally accurate) in t = u over
    ±(8.5√q + 1) of φ_q(t) tanh(t) E[tanh u' | u = t]."""
    sq = math.sqrt(q)
    s = sq * math.sqrt(max(0.0, 1.0 - rho * rho))
    h = 0.05
    n = int((8.5 * sq + 1.0) / h) + 1
    norm = h / (sq * math.sqrt(2.0 * math.pi))
    acc = 0.0
    for k in range(1, n + 1):  # even integrand: 2 × one side (t = 0 term vanishes)
        t = k * h
        wt = norm * math.exp(-0.5 * t * t / q)
        acc += wt * math.tanh(t) * _cond_mean_tanh(rho * t, s, gz, gw, lx, lw)
    return 2.0 * acc


@numba.njit(cache=True)
def _tanh_V_minus_W(q: float, rho: float, gz: NDArray[np.float64], gw: NDArray[np.float64],
                    lx: NDArray[np.float64], lw: NDArray[np.float64]) -> float:
    """V(q) − W(q, ρq) with one consistent quadrature (no cancellation error at ρ → 1)."""
    if q <= 1.0:
        return _tanh_half_sq_diff(q, rho, gz, gw)
    return _tanh_W_big(q, 1.0, gz, gw, lx, lw) - _tanh_W_big(q, rho, gz, gw, lx, lw)


def tanh_W(q: ArrayLike, lam: ArrayLike, n: int = 96) -> NDArray[np.float64]:
    r""":math:`\mathrm W_{\tanh}(q,\lambda)=\mathbb E\tanh u\tanh u'`, :math:`(u,u')\sim
    \mathcal N(0,[[q,\lambda],[\lambda,q]])`, as :math:`\mathrm V(q)-(\mathrm V-\mathrm W)`.

    q ≤ 1: ``n``×``n`` Gauss–Hermite for :math:`\tfrac12\mathbb E(\tanh u-\tanh u')^2`
    (smooth integrand). q > 1 (where 2-D Gauss–Hermite misses the sharp :math:`\tanh`):
    trapezoid in :math:`t=u` of :math:`\varphi_q(t)\tanh t\,\mathbb E[\tanh u'|u=t]`, the
    conditional mean by Gauss–Hermite (small conditional s.d.) or by the split
    :math:`\tanh=\mathrm{sign}-r` with Gauss–Legendre for the localised r. Broadcasts q, lam.
    """
    qa, la = np.broadcast_arrays(np.asarray(q, dtype=np.float64), np.asarray(lam, dtype=np.float64))
    z, w = _gh2(n)
    lx, lw = _gl20()
    out = np.empty(qa.shape)
    for idx in np.ndindex(qa.shape):
        qq = float(qa[idx])
        rho = min(1.0, max(-1.0, float(la[idx]) / qq)) if qq > 0 else 1.0
        if qq > 1.0:
            out[idx] = _tanh_W_big(qq, rho, z, w, lx, lw)
        else:
            v_gh = float(w @ np.tanh(np.sqrt(qq) * z) ** 2)
            out[idx] = v_gh - _tanh_half_sq_diff(qq, rho, z, w)
    return out


# --------------------------------------------------------------------------------------------
# The iterator
# --------------------------------------------------------------------------------------------
@numba.njit(cache=True, inline="always")
def _decay(sig2: float, beta: float, ll: float) -> float:
    """σ² l^{-β} given ll = log l (skips the exp when it is not needed)."""
    if sig2 == 0.0 or beta == 0.0:
        return sig2
    return sig2 * math.exp(-beta * ll)


@numba.njit(cache=True)
def _run(
    prm: NDArray[np.float64],
    L: int,
    ck: NDArray[np.int64],
    x0: float,
    hx: float,
    log_v: NDArray[np.float64],
    log_vp: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:
    """One iteration to L; out[k] = (G, inc, log p, log q, Δlog p) at layer ck[k]."""
    relu = prm[0] == 0.0
    full = prm[1] == 0.0
    sw2, sv2, sb2, sa2 = prm[2], prm[3], prm[4], prm[5]
    bw, bv, bb, ba = prm[6], prm[7], prm[8], prm[9]
    if not full:
        sv2, bv, sa2, ba = 1.0, 0.0, 0.0, 0.0
    # ReLU: log p (norms overflow); tanh: p itself (p <= p0 + Σ(σv² + σa²) stays finite)
    lp = math.log(prm[10])
    p = prm[10]
    g = 0.0
    comp = 0.0  # Kahan compensation for G
    k = 0
    nck = ck.shape[0]
    while k < nck and ck[k] < 1:
        k += 1
    for layer in range(1, L + 1):
        ll = math.log(layer)
        fw = _decay(sw2, bw, ll)
        fb = _decay(sb2, bb, ll)
        fv = _decay(sv2, bv, ll)
        fa = _decay(sa2, ba, ll)
        record = k < nck and ck[k] == layer
        if relu:
            ep = math.exp(-lp) if (fb != 0.0 or fa != 0.0) else 0.0
            ratio_q = fw + fb * ep  # q/p
            r = fv * 0.5 * ratio_q + fa * ep  # (p_new - p)/p
            inc = math.log1p(fv * fw * 0.5)
            dlp = math.log1p(r)
            if record:
                lq = lp + math.log(ratio_q) if ratio_q > 0.0 else -math.inf
            lp += dlp
        else:
            q = fw * p + fb
            v, vp = _tanh_lookup(q, x0, hx, log_v, log_vp)
            inc = math.log1p(fv * fw * vp)
            dp = fv * v + fa
            if record:
                lq = math.log(q) if q > 0.0 else -math.inf
                dlp = math.log1p(dp / p)
            p += dp
        y = inc - comp
        t = g + y
        comp = (t - g) - y
        g = t
        while k < nck and ck[k] == layer:
            out[k, 0] = g
            out[k, 1] = inc
            out[k, 2] = lp if relu else math.log(p)
            out[k, 3] = lq
            out[k, 4] = dlp
            k += 1


@numba.njit(cache=True, parallel=True)
def _run_batch(
    prms: NDArray[np.float64],
    L: int,
    ck: NDArray[np.int64],
    x0: float,
    hx: float,
    log_v: NDArray[np.float64],
    log_vp: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:
    for i in numba.prange(prms.shape[0]):
        _run(prms[i], L, ck, x0, hx, log_v, log_vp, out[i])


def default_checkpoints(lo: int = 100, hi: int = 10**6, per_decade: int = 8) -> NDArray[np.int64]:
    """Log-spaced integer checkpoints from ``lo`` to ``hi`` (both included), shape (n,)."""
    n = int(round(math.log10(hi / lo) * per_decade)) + 1
    return np.unique(np.round(np.geomspace(lo, hi, n)).astype(np.int64))


@dataclasses.dataclass(frozen=True)
class IterationResult:
    r"""Mean-field values at checkpoints (all arrays of shape (n_checkpoints,)).

    ``L``: checkpoint depths; ``G``: :math:`G_L=\log(\chi^0/\chi^L)`; ``inc``:
    :math:`G_L-G_{L-1}`; ``log_p``, ``log_q``: :math:`\log p^L`, :math:`\log q^L`;
    ``dlog_p``: :math:`\log p^L-\log p^{L-1}`.
    """

    params: ResNetParams
    L: NDArray[np.int64]
    G: NDArray[np.float64]
    inc: NDArray[np.float64]
    log_p: NDArray[np.float64]
    log_q: NDArray[np.float64]
    dlog_p: NDArray[np.float64]

    @property
    def p(self) -> NDArray[np.float64]:
        """:math:`p^L` (inf where it overflows; use ``log_p``)."""
        with np.errstate(over="ignore"):
            return np.exp(self.log_p)

    @property
    def q(self) -> NDArray[np.float64]:
        """:math:`q^L`."""
        with np.errstate(over="ignore"):
            return np.exp(self.log_q)

    def at(self, L: int) -> dict[str, float]:
        """All recorded values at checkpoint ``L``."""
        i = int(np.flatnonzero(self.L == L)[0])
        return {
            "G": float(self.G[i]),
            "inc": float(self.inc[i]),
            "log_p": float(self.log_p[i]),
            "log_q": float(self.log_q[i]),
            "dlog_p": float(self.dlog_p[i]),
        }


def _tables_args() -> tuple[float, float, NDArray[np.float64], NDArray[np.float64]]:
    return tanh_tables()


def iterate(
    params: ResNetParams, L: int = 10**6, checkpoints: ArrayLike | None = None
) -> IterationResult:
    r"""Iterate the one-input recurrences of §3.4 for layers 1..L (numba, ~0.05–0.1 s per 10^6).

    ``checkpoints``: increasing layer indices in [1, L] (default :func:`default_checkpoints`
    up to ``L``). Returns an :class:`IterationResult` with arrays of shape (n_checkpoints,).
    """
    ck = _checkpoints(L, checkpoints)
    out = np.full((ck.size, 5), np.nan)
    _run(params.as_array(), int(L), ck, *_tables_args(), out)
    return _result(params, ck, out)


def iterate_many(
    params: list[ResNetParams], L: int = 10**6, checkpoints: ArrayLike | None = None
) -> list[IterationResult]:
    """:func:`iterate` for many parameter sets, in parallel over sets (numba ``prange``)."""
    ck = _checkpoints(L, checkpoints)
    prms = np.stack([p.as_array() for p in params]) if params else np.zeros((0, 12))
    out = np.full((len(params), ck.size, 5), np.nan)
    _run_batch(prms, int(L), ck, *_tables_args(), out)
    return [_result(p, ck, out[i]) for i, p in enumerate(params)]


def _checkpoints(L: int, checkpoints: ArrayLike | None) -> NDArray[np.int64]:
    if L < 1:
        raise ValueError(f"L={L} must be >= 1")
    if checkpoints is None:
        ck = default_checkpoints(min(100, L), L) if L >= 100 else np.arange(1, L + 1)
    else:
        ck = np.asarray(checkpoints, dtype=np.int64)
    if ck.size == 0 or np.any(np.diff(ck) <= 0) or ck[0] < 1 or ck[-1] > L:
        raise ValueError("checkpoints must be strictly increasing integers in [1, L]")
    return ck


def _result(
    params: ResNetParams, ck: NDArray[np.int64], out: NDArray[np.float64]
) -> IterationResult:
    return IterationResult(
        params=params,
        L=ck.copy(),
        G=out[:, 0].copy(),
        inc=out[:, 1].copy(),
        log_p=out[:, 2].copy(),
        log_q=out[:, 3].copy(),
        dlog_p=out[:, 4].copy(),
    )


# --------------------------------------------------------------------------------------------
# Local exponents
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LocalSlopes:
    r"""Local exponents at the checkpoints (arrays of shape (n_checkpoints,)).

    * ``dG_dlogL`` :math:`=L(G_L-G_{L-1})` (polynomial classes: → the exponent of
      :math:`\chi^0/\chi^L`);
    * ``dlogG_dlogL`` :math:`=L(G_L-G_{L-1})/G_L` (power classes: → the exponent of G);
    * ``inc_slope``: :math:`d\log(G_L-G_{L-1})/d\log L` between consecutive checkpoints
      (first entry NaN); summable (Θ(1)) iff it settles below −1;
    * ``g_exponent_inc`` :math:`=1+` ``inc_slope``: exponent of G free of early-layer offsets;
    * ``dlogp_dlogL`` :math:`=L(\log p^L-\log p^{L-1})`; ``dp_dlogL`` :math:`=L(p^L-p^{L-1})`;
    * ``dloglogp_dlogL`` :math:`=L\,\Delta\log p/\log p` (exp-type p classes);
    * ``dlogp_inc_slope``: :math:`d\log(\Delta\log p)/d\log L` (bounded p: below −1).
    """

    L: NDArray[np.int64]
    dG_dlogL: NDArray[np.float64]
    dlogG_dlogL: NDArray[np.float64]
    inc_slope: NDArray[np.float64]
    g_exponent_inc: NDArray[np.float64]
    dlogp_dlogL: NDArray[np.float64]
    dp_dlogL: NDArray[np.float64]
    dloglogp_dlogL: NDArray[np.float64]
    dlogp_inc_slope: NDArray[np.float64]


def local_slopes(res: IterationResult) -> LocalSlopes:
    """Local slopes of G and p at the checkpoints of ``res`` (see :class:`LocalSlopes`)."""
    L = res.L.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dG = L * res.inc
        dlogG = dG / res.G
        logL = np.log(L)
        inc_slope = np.full(L.shape, np.nan)
        inc_slope[1:] = np.diff(np.log(res.inc)) / np.diff(logL)
        dlogp = L * res.dlog_p
        dp = L * np.exp(res.log_p) * (-np.expm1(-res.dlog_p))
        dloglogp = dlogp / res.log_p
        pinc = np.full(L.shape, np.nan)
        pinc[1:] = np.diff(np.log(res.dlog_p)) / np.diff(logL)
    return LocalSlopes(
        L=res.L.copy(),
        dG_dlogL=dG,
        dlogG_dlogL=dlogG,
        inc_slope=inc_slope,
        g_exponent_inc=1.0 + inc_slope,
        dlogp_dlogL=dlogp,
        dp_dlogL=dp,
        dloglogp_dlogL=dloglogp,
        dlogp_inc_slope=pinc,
    )


def offset_fit(
    L: ArrayLike, y: ArrayLike, lo: float = 1e3, hi: float = 1e6
) -> tuple[float, float, float]:
    r"""Fit :math:`y_L=AL^s+B` on the checkpoints with ``lo <= L <= hi`` (§3.7).

    Variable projection: for each :math:`s` the best :math:`(A,B)` is linear least squares on
    relative residuals; :math:`s\in(0,1.5)` by bounded scalar minimisation. Returns (A, s, B).
    """
    from scipy.optimize import minimize_scalar

    La = np.asarray(L, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    sel = (La >= lo) & (La <= hi)
    La, ya = La[sel], ya[sel]
    if La.size < 3:
        raise ValueError("offset_fit needs at least 3 checkpoints in [lo, hi]")
    wts = 1.0 / np.abs(ya)

    def solve(s: float) -> tuple[float, NDArray[np.float64]]:
        X = np.stack([La**s, np.ones_like(La)], axis=1) * wts[:, None]
        coef, *_ = np.linalg.lstsq(X, ya * wts, rcond=None)
        r = X @ coef - ya * wts
        return float(r @ r), coef

    best = minimize_scalar(lambda s: solve(s)[0], bounds=(1e-4, 1.5), method="bounded",
                           options={"xatol": 1e-7})
    s = float(best.x)
    _, (A, B) = solve(s)
    return float(A), s, float(B)


# --------------------------------------------------------------------------------------------
# Full trajectories: two inputs, backward quantities, per-entry gradients
# --------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _trajectory(
    prm: NDArray[np.float64],
    L: int,
    e0: float,
    x0: float,
    hx: float,
    log_v: NDArray[np.float64],
    log_vp: NDArray[np.float64],
    gz: NDArray[np.float64],
    gw: NDArray[np.float64],
    lx: NDArray[np.float64],
    lw: NDArray[np.float64],
    two: bool,
    out: NDArray[np.float64],
) -> None:
    """out[l] = (log p, log q, e, 1-e, rho, V, V', inc, σv²(l)) for l = 0..L (row 0: input)."""
    relu = prm[0] == 0.0
    full = prm[1] == 0.0
    sw2, sv2, sb2, sa2 = prm[2], prm[3], prm[4], prm[5]
    bw, bv, bb, ba = prm[6], prm[7], prm[8], prm[9]
    lp = math.log(prm[10])
    eps = 1.0 - e0
    out[0, 0] = lp
    out[0, 1] = math.nan
    out[0, 2] = e0
    out[0, 3] = eps
    for c in range(4, 9):
        out[0, c] = math.nan
    for layer in range(1, L + 1):
        ll = math.log(layer)
        fw = sw2 * math.exp(-bw * ll)
        fb = sb2 * math.exp(-bb * ll)
        if full:
            fv = sv2 * math.exp(-bv * ll)
            fa = sa2 * math.exp(-ba * ll)
        else:
            fv = 1.0
            fa = 0.0
        ep = math.exp(-lp)
        ratio_q = fw + fb * ep
        # correlation of the pre-activations: 1 - rho = fw * eps / (fw + fb/p)
        one_minus_rho = fw * eps / ratio_q if ratio_q > 0.0 else 0.0
        rho = 1.0 - one_minus_rho
        if relu:
            lq = lp + math.log(ratio_q) if ratio_q > 0.0 else -math.inf
            v_over_p = 0.5 * ratio_q
            vp = 0.5
            v = math.exp(lq) * 0.5
            # (V - W)/p = (q/p)/2 * (1 - f(rho))
            d_over_p = 0.5 * ratio_q * _one_minus_f(min(2.0, max(0.0, one_minus_rho)))
            inc = math.log1p(fv * fw * 0.5)
        else:
            p = math.exp(lp)
            q = fw * p + fb
            lq = math.log(q) if q > 0.0 else -math.inf
            v, vp = _tanh_lookup(q, x0, hx, log_v, log_vp)
            v_over_p = v * ep
            if two and q > 0.0:
                d_over_p = _tanh_V_minus_W(q, min(1.0, max(-1.0, rho)), gz, gw, lx, lw) * ep
            else:
                d_over_p = 0.0
            inc = math.log1p(fv * fw * vp)
        r = fv * v_over_p + fa * ep
        # 1 - e_new = (eps + fv (V - W)/p) / (1 + r)
        eps = (eps + fv * d_over_p) / (1.0 + r)
        lp += math.log1p(r)
        out[layer, 0] = lp
        out[layer, 1] = lq
        out[layer, 2] = 1.0 - eps
        out[layer, 3] = eps
        out[layer, 4] = rho
        out[layer, 5] = v
        out[layer, 6] = vp
        out[layer, 7] = inc
        out[layer, 8] = fv


@dataclasses.dataclass(frozen=True)
class Trajectory:
    r"""Layer-by-layer mean-field values, arrays of shape (L+1,) indexed by l = 0..L.

    ``log_p`` (:math:`\log p^l`), ``log_q`` (:math:`\log q^l`, NaN at l=0), ``e``
    (:math:`e^l=\gamma^l/p^l`), ``one_minus_e`` (computed without cancellation),
    ``rho`` (:math:`\lambda^l/q^l`), ``V``, ``Vp`` (:math:`\mathrm V(q^l)`,
    :math:`\mathrm V'(q^l)`), ``inc`` (:math:`\log\chi^{l-1}/\chi^l`), ``sigma_v2_l``
    (:math:`\sigma_v^2(l)`; 1 for reduced resnets). Derived: ``G`` (cumulative, :math:`G_l`),
    ``log_chi`` (:math:`\log\chi^l/\chi^L`), ``log_s`` (:math:`\log s^l=\log p^l(1-e^l)`).
    """

    params: ResNetParams
    log_p: NDArray[np.float64]
    log_q: NDArray[np.float64]
    e: NDArray[np.float64]
    one_minus_e: NDArray[np.float64]
    rho: NDArray[np.float64]
    V: NDArray[np.float64]
    Vp: NDArray[np.float64]
    inc: NDArray[np.float64]
    sigma_v2_l: NDArray[np.float64]

    @property
    def L(self) -> int:
        """Depth."""
        return self.log_p.size - 1

    @property
    def G(self) -> NDArray[np.float64]:
        """:math:`G_l=\\log(\\chi^0/\\chi^l)`, shape (L+1,), G[0] = 0."""
        return np.concatenate([[0.0], np.cumsum(self.inc[1:])])

    @property
    def log_chi(self) -> NDArray[np.float64]:
        """:math:`\\log(\\chi^l/\\chi^L)=G_L-G_l`, shape (L+1,)."""
        g = self.G
        return g[-1] - g

    @property
    def log_s(self) -> NDArray[np.float64]:
        """Metric expressivity :math:`\\log s^l=\\log p^l+\\log(1-e^l)`, shape (L+1,)."""
        with np.errstate(divide="ignore"):
            return self.log_p + np.log(self.one_minus_e)


def trajectory(
    params: ResNetParams, L: int, e0: float | None = None, gh_nodes: int = 96
) -> Trajectory:
    r"""Every layer of the recurrences up to depth L (one input, or two if ``e0`` is given).

    ``e0``: input correlation :math:`e^0=\gamma^0/p^0` of the second input (equal norms). For
    tanh each layer then costs one quadrature of :math:`\mathrm V-\mathrm W` (``gh_nodes``²
    Gauss–Hermite for q ≤ 1, ~10^4–10^6 evaluations for q > 1, see :func:`tanh_W`); keep
    L ≲ 10^3. ReLU uses the closed form at any L.
    """
    if L < 1:
        raise ValueError(f"L={L} must be >= 1")
    out = np.empty((L + 1, 9))
    z, w = _gh2(gh_nodes)
    lx, lw = _gl20()
    two = e0 is not None
    _trajectory(params.as_array(), int(L), 1.0 if e0 is None else float(e0), *_tables_args(),
                z, w, lx, lw, two, out)
    nan = np.full(L + 1, np.nan)
    return Trajectory(
        params=params,
        log_p=out[:, 0].copy(),
        log_q=out[:, 1].copy(),
        e=out[:, 2].copy() if two else nan,
        one_minus_e=out[:, 3].copy() if two else nan.copy(),
        rho=out[:, 4].copy() if two else nan.copy(),
        V=out[:, 5].copy(),
        Vp=out[:, 6].copy(),
        inc=out[:, 7].copy(),
        sigma_v2_l=out[:, 8].copy(),
    )


@dataclasses.dataclass(frozen=True)
class ParameterGradients:
    r"""Per-entry parameter-gradient second moments relative to :math:`\chi^L`, as logs.

    Arrays of shape (L+1,), entry l = 1..L for block l (entry 0 is NaN):
    ``log_chi_b`` :math:`=\log(\frac N{M_l}\sigma_v^2(l)\mathrm V'(q^l)\chi^l/\chi^L)`,
    ``log_chi_w`` :math:`=\log\chi_b^l+\log p^{l-1}`, ``log_chi_v``
    :math:`=\log(\mathrm V(q^l)\chi^l/\chi^L)`, ``log_chi_a`` :math:`=\log(\chi^l/\chi^L)`.
    """

    log_chi_w: NDArray[np.float64]
    log_chi_b: NDArray[np.float64]
    log_chi_v: NDArray[np.float64]
    log_chi_a: NDArray[np.float64]


def parameter_gradients(
    traj: Trajectory, N: float, M: ArrayLike | None = None
) -> ParameterGradients:
    r"""Per-entry gradients of block parameters with hidden widths ``M`` (shape (L,), block 1..L;
    default :math:`M_l=N`). The width enters only through the factor :math:`N/M_l`
    (Y7): the recurrences for :math:`p,q,\gamma,\lambda,\chi` do not depend on :math:`M_l`.
    For reduced resnets :math:`M_l=N` is forced (there is no hidden layer)."""
    L = traj.L
    Ma = np.full(L, float(N)) if M is None else np.asarray(M, dtype=np.float64)
    if Ma.shape != (L,):
        raise ValueError(f"M must have shape ({L},), got {Ma.shape}")
    if traj.params.architecture == "reduced":
        Ma = np.full(L, float(N))
    log_chi = traj.log_chi
    nan = np.array([np.nan])
    with np.errstate(divide="ignore"):
        lb = np.log(N / Ma) + np.log(traj.sigma_v2_l[1:]) + np.log(traj.Vp[1:]) + log_chi[1:]
        lw = lb + traj.log_p[:-1]
        lv = np.log(traj.V[1:]) + log_chi[1:]
    if traj.params.architecture == "reduced":
        lv = np.full(L, np.nan)
    return ParameterGradients(
        log_chi_w=np.concatenate([nan, lw]),
        log_chi_b=np.concatenate([nan, lb]),
        log_chi_v=np.concatenate([nan, lv]),
        log_chi_a=np.concatenate([nan, log_chi[1:]]),
    )
