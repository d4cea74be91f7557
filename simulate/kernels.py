"""Fused numba kernels of the propagation (elementwise maps and per-unit reductions).

All kernels work on the *state matrix* ``Z`` of shape ``(R, N)`` (C order, float32 or float64):
rows ``0..B-1`` hold the signal vectors ``x_a`` of the batch, rows ``B..2B-1`` (when the tangent
is propagated) the tangent vectors ``dx_a`` (row ``B + a`` is the tangent of input ``a``).
Columns are units (channels). Reductions accumulate in float64 whatever the storage dtype.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# indices of the vector returned by `state_moments`
NU1_ABS, NU2, MU2, MU4, SQ_MEAN, NU1_ABS_SQ, NU2_TANGENT = range(7)
N_MOMENTS = 7


@njit(cache=True)
def state_moments(Z: np.ndarray, B: int, with_tangent: bool) -> np.ndarray:
    """Unit-averaged moments of the signal rows and the tangent second moment.

    With ``m_c = E_a Z[a, c]`` (a over the ``B`` signal rows) returns, averaged over units ``c``:
    ``[E|z|, E z^2, E (z - m_c)^2, E (z - m_c)^4, m_c^2, (E_a |z_ac|)^2, E dz^2]``
    i.e. nu1(|z|), nu2(z), mu2(z), mu4(z), the mean squared sample mean, the mean squared
    per-unit nu1 and nu2 of the tangent (0 if ``with_tangent`` is False). Two passes (centring is
    exact, no cancellation), float64 accumulation in per-unit accumulators (the inner loop over
    units vectorises; the summation order is fixed, so results are deterministic).
    """
    N = Z.shape[1]
    mean = np.zeros(N)
    absum = np.zeros(N)
    s2 = np.zeros(N)
    for a in range(B):
        for c in range(N):
            v = np.float64(Z[a, c])
            mean[c] += v
            absum[c] += abs(v)
            s2[c] += v * v
    inv_b = 1.0 / B
    for c in range(N):
        mean[c] *= inv_b
    c2 = np.zeros(N)
    c4 = np.zeros(N)
    for a in range(B):
        for c in range(N):
            d = np.float64(Z[a, c]) - mean[c]
            d2 = d * d
            c2[c] += d2
            c4[c] += d2 * d2
    t2 = np.zeros(N)
    if with_tangent:
        for a in range(B, 2 * B):
            for c in range(N):
                v = np.float64(Z[a, c])
                t2[c] += v * v
    out = np.zeros(N_MOMENTS)
    for c in range(N):
        m1 = absum[c] * inv_b
        out[NU1_ABS] += m1
        out[NU2] += s2[c]
        out[MU2] += c2[c]
        out[MU4] += c4[c]
        out[SQ_MEAN] += mean[c] * mean[c]
        out[NU1_ABS_SQ] += m1 * m1
        out[NU2_TANGENT] += t2[c]
    inv_bn = 1.0 / (B * N)
    out[NU1_ABS] /= N
    out[NU2] *= inv_bn
    out[MU2] *= inv_bn
    out[MU4] *= inv_bn
    out[SQ_MEAN] /= N
    out[NU1_ABS_SQ] /= N
    out[NU2_TANGENT] *= inv_bn
    return out


@njit(cache=True)
def batchnorm_inplace(Z: np.ndarray, B: int, epsilon: float, with_tangent: bool) -> np.ndarray:
    """Batch norm without affine parameters, in place; returns the per-unit variances.

    ``z_ac = (y_ac - m_c) / sqrt(s_c^2 + eps)`` with the batch mean ``m_c`` and population
    variance ``s_c^2`` over the signal rows; tangent rows are divided by the same frozen
    ``sqrt(s_c^2 + eps)`` (Labatie's convention: batch statistics are constants for the noise).
    """
    N = Z.shape[1]
    mean = np.zeros(N)
    for a in range(B):
        for c in range(N):
            mean[c] += Z[a, c]
    for c in range(N):
        mean[c] /= B
    var = np.zeros(N)
    for a in range(B):
        for c in range(N):
            d = Z[a, c] - mean[c]
            var[c] += d * d
    inv = np.empty(N)
    for c in range(N):
        var[c] /= B
        inv[c] = 1.0 / np.sqrt(var[c] + epsilon)
    for a in range(B):
        for c in range(N):
            Z[a, c] = (Z[a, c] - mean[c]) * inv[c]
    if with_tangent:
        for a in range(B, 2 * B):
            for c in range(N):
                Z[a, c] = Z[a, c] * inv[c]
    return var


@njit(cache=True)
def activation_inplace(Z: np.ndarray, B: int, kernel_id: int, with_tangent: bool) -> None:
    """Apply phi to the signal rows and multiply tangent row ``B + a`` by ``phi'(z_a)``.

    kernel ids: 0 identity, 1 ReLU (tangent masked by ``1[z > 0]``), 2 tanh
    (``phi' = 1 - tanh(z)^2``), 3 absolute value (``phi' = sign z``).
    """
    N = Z.shape[1]
    if kernel_id == 0:
        return
    for a in range(B):
        for c in range(N):
            z = Z[a, c]
            if kernel_id == 1:
                if z > 0:
                    d = 1.0
                else:
                    Z[a, c] = 0.0
                    d = 0.0
            elif kernel_id == 2:
                t = np.tanh(z)
                Z[a, c] = t
                d = 1.0 - t * t
            else:
                if z > 0:
                    d = 1.0
                elif z < 0:
                    Z[a, c] = -z
                    d = -1.0
                else:
                    d = 0.0
            if with_tangent:
                Z[B + a, c] = Z[B + a, c] * d


@njit(cache=True)
def row_block_sumsq(Z: np.ndarray, B: int) -> tuple[float, float]:
    """Sums of squares of the signal rows and of the remaining (tangent) rows, in float64."""
    N = Z.shape[1]
    s = np.zeros(N)
    t = np.zeros(N)
    for a in range(Z.shape[0]):
        acc = s if a < B else t
        for c in range(N):
            v = np.float64(Z[a, c])
            acc[c] += v * v
    return s.sum(), t.sum()


@njit(cache=True)
def centered_gram_block(g: np.ndarray, start: int, n: int) -> tuple[np.ndarray, float]:
    """Centred diagonal block of a Gram matrix given by its upper triangle, and its trace.

    ``g`` is ``(R, R)`` float64 with only ``g[i, j], i <= j`` read; the block is rows and
    columns ``start .. start + n - 1``: ``G_ab = t_a . t_b``. Returns ``C G C`` with
    ``C = I - 11^T/n`` (the Gram of the rows centred by their mean vector; full symmetric
    ``(n, n)`` matrix) and its trace ``sum_a |t_a - tbar|^2``. One fused pass instead of
    symmetrising, then subtracting row and column means.
    """
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            v = g[start + i, start + j]
            out[i, j] = v
            out[j, i] = v
    rm = np.zeros(n)
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += out[i, j]
        rm[i] = s / n
    tot = 0.0
    for i in range(n):
        tot += rm[i]
    tot /= n
    trace = 0.0
    for i in range(n):
        for j in range(n):
            out[i, j] = out[i, j] - rm[i] - rm[j] + tot
        trace += out[i, i]
    return out, trace
