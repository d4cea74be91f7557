"""Counter-based, thread-count-independent Gaussian random numbers (Philox4x32-10 + ziggurat).

Generator
---------
Uniform bits come from **Philox4x32-10** (Salmon, Moraes, Dror & Shaw, "Parallel random numbers:
as easy as 1, 2, 3", SC'11), the counter-based generator of the Random123 library, which passes
TestU01 BigCrush with a wide safety margin (10 rounds; 7 already pass).  The implementation is
checked against Random123's published known-answer vectors (``tests/test_rng.py``).

* key (2 x 32 bits): drawn from ``numpy.random.SeedSequence(seed).generate_state(2)``; spawned
  child streams use ``SeedSequence.spawn`` and therefore get independent keys.
* counter (4 x 32 bits): ``(i, j, t_lo, t_hi)`` where ``t`` is the 64-bit *call index* of the
  stream (each fill consumes one), ``j`` the index of a fixed-size block of the flattened
  (C-order) output and ``i`` the word counter inside the block.  ``i`` is split into disjoint
  domains: the fast-path words of float32 normals, float64 normals, float32 and float64 uniforms
  (``i < 2**30``), and the private rejection reservoirs of the two normal kernels
  (``i >= 2**31``; a block consumes one reservoir counter per rejected candidate, in element
  order).

Every block of ``BLOCK`` (= 4096) elements is therefore a pure function of ``(key, t, j)`` (and
the dtype): blocks are distributed over threads with ``numba.prange`` and the output is
bit-identical for any number of threads, by construction.  A partial (last) block is a prefix of
the corresponding full block, so for a given state a short array is a prefix of a longer one.

Normal transform
----------------
The Marsaglia-Tsang ziggurat ("The ziggurat method for generating random variables",
J. Stat. Softw. 5(8), 2000) with 256 layers, using the same split of the random word as numpy's
float32/float64 ziggurat but **without reusing bits**:

* float32: one 32-bit word per draw: bits 0-7 layer, bit 8 sign, bits 9-31 = 23-bit uniform;
* float64: one 64-bit word (two Philox words) per draw: bits 0-7 layer, bit 8 sign,
  bits 12-63 = 52-bit uniform.

About 1.5 % of candidates fall outside the inner rectangle of their layer; they are resolved
exactly (wedge test against ``exp(-x^2/2)`` with a fresh 53-bit uniform, Marsaglia's exact
exponential-rejection tail algorithm for ``|x| > r``, re-draws) in float64 using the block's
reservoir words.  Tables are computed at import in float64 (root of the closing condition with
``scipy.optimize.brentq``) and validated (equal layer areas, closing condition, ``r`` against the
published value 3.6541528853610088).  The integer acceptance thresholds are rounded down, so
the fast path never accepts a point outside its inner rectangle.

Scaling is fused: the value is ``dtype(x) * dtype(scale)`` (one IEEE multiplication in the output
dtype), i.e. ``standard_normal(..., scale=s)`` is bit-identical to ``standard_normal(...) * s``
computed by numpy in the same dtype.

Reproducibility: the fast path uses only integer operations and IEEE multiplications, so it is
bit-identical on every machine; the ~1.5 % slow-path values call ``exp``/``log`` from the
platform's libm and could differ in the last bit on another platform (never with the thread
count, nor between runs on the same machine).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
from numba import njit, prange
from scipy.optimize import brentq
from scipy.special import erfc

__all__ = [
    "BLOCK",
    "PARALLEL_MIN_SIZE",
    "GaussianStream",
    "ZigguratTables",
    "ZIGGURAT",
    "normal_draws_per_second",
    "philox4x32_10",
]

#: Elements per independently generated block (a constant, NOT tied to the thread count).
BLOCK = 4096
_QUARTER = BLOCK // 4  # Philox calls per float32 block (4 words each)
_HALF = BLOCK // 2  # Philox calls per float64 block (2 x 64-bit words each)
_MAX_BLOCKS = 2**32  # the block index is counter word 1

#: Fills with fewer elements than this run the serial kernel, larger ones the ``prange`` kernel.
#: Both produce identical bits, so this is purely a speed knob: on a machine whose cores are
#: busy with other processes, fork-join latency can make small parallel calls much slower than
#: serial ones; raise it (e.g. to ``2**20``) in that situation.
#: The environment variable ``DNN_MOMENTS_RNG_PARALLEL_MIN_SIZE`` overrides the default (e.g. set
#: it to ``1048576`` when several simulation processes share the cores).
PARALLEL_MIN_SIZE: int = int(os.environ.get("DNN_MOMENTS_RNG_PARALLEL_MIN_SIZE", 2 * BLOCK))
# Word-counter domains (counter word 0) so that the same (key, call index, block) never feeds two
# different kinds of output, e.g. when a state is replayed with another dtype.
_DOM_N32 = np.uint64(0)  # float32 normals, fast path: c < BLOCK / 4
_DOM_N64 = np.uint64(1 << 28)  # float64 normals, fast path: c < BLOCK / 2
_DOM_U32 = np.uint64(2 << 28)  # float32 uniforms
_DOM_U64 = np.uint64(3 << 28)  # float64 uniforms
_RES_N32 = np.uint64(1 << 31)  # float32 normals, rejection reservoir (2**30 words)
_RES_N64 = np.uint64(3 << 30)  # float64 normals, rejection reservoir (2**30 words)

# Philox4x32 constants (Random123).
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)

_N_LAYERS = 256
_R_PUBLISHED = 3.6541528853610088  # Marsaglia & Tsang (2000), 256-layer normal ziggurat


# --------------------------------------------------------------------------------------------
# Ziggurat tables
# --------------------------------------------------------------------------------------------
def _gauss(x: float) -> float:
    return math.exp(-0.5 * x * x)


def _tail_area(r: float) -> float:
    return math.sqrt(math.pi / 2.0) * float(erfc(r / math.sqrt(2.0)))


def _layers(r: float, n: int) -> tuple[np.ndarray, float, float]:
    """Boundaries X[0..n] for base radius r; returns (X, v, closing residual)."""
    v = r * _gauss(r) + _tail_area(r)
    x = np.zeros(n + 1)
    x[0] = v / _gauss(r)
    x[1] = r
    for i in range(1, n - 1):
        arg = _gauss(x[i]) + v / x[i]
        if arg >= 1.0:  # overshoot: layers too thick, r too small
            return x, v, 1.0 + (n - i)
        x[i + 1] = math.sqrt(-2.0 * math.log(arg))
    # Top layer [0, X[n-1]] x [f(X[n-1]), 1] must have area v.
    return x, v, _gauss(x[n - 1]) + v / x[n - 1] - 1.0


class ZigguratTables:
    """Float64 ziggurat geometry plus the derived lookup tables used by the kernels.

    Layer ``i`` (0 <= i < n) is the rectangle ``[0, X[i]] x [F[i], F[i+1]]`` with
    ``F[i] = exp(-X[i]^2/2)``; layer 0 is the base strip ``[0, X[0]] x [0, f(r)]`` whose part beyond
    ``r = X[1]`` stands for the tail.  All layers have area ``v``; ``X[n] = 0``, ``F[n] = 1``.
    """

    def __init__(self, n: int = _N_LAYERS) -> None:
        self.n = n
        self.r = float(brentq(lambda r: _layers(r, n)[2], 2.0, 5.0, xtol=1e-15, rtol=1e-15))
        x, v, resid = _layers(self.r, n)
        x[n] = 0.0
        self.v = v
        self.closing_residual = resid
        self.x = x  # boundaries, decreasing, length n + 1
        self.f = np.exp(-0.5 * x * x)  # f at the boundaries, increasing; f[0] = f(X0)
        self.f[0] = 0.0  # base layer spans heights [0, f(r)]
        # Ratio of inner rectangle width to layer width (probability of the fast path).
        ratio = x[1:] / x[:-1]
        # float64 tables: 52-bit uniforms.  floor() is conservative: a candidate wrongly sent to
        # the slow path is still accepted there by the exact test, so no bias results.
        self.k64 = np.floor(ratio * 2.0**52).astype(np.uint64)
        self.w64 = x[:-1] * 2.0**-52
        # float32 tables: 23-bit uniforms; value computed as float32(u) * float32(X / 2^23).
        self.k32 = np.floor(ratio * 2.0**23).astype(np.uint32)
        self.w32 = (x[:-1] * 2.0**-23).astype(np.float32)
        self.validate()

    def layer_areas(self) -> np.ndarray:
        return self.x[:-1] * (self.f[1:] - self.f[:-1])

    def fast_path_probability(self) -> float:
        return float(np.mean(self.x[1:] / self.x[:-1]))

    def validate(self) -> None:
        n, x, f = self.n, self.x, self.f
        if not abs(self.r - _R_PUBLISHED) < 1e-9:
            raise RuntimeError(f"ziggurat r={self.r!r} differs from the published value")
        if not abs(self.closing_residual) < 1e-12:
            raise RuntimeError("ziggurat top layer does not close")
        areas = self.layer_areas()
        if not np.allclose(areas, self.v, rtol=1e-10, atol=0.0):
            raise RuntimeError("ziggurat layers do not have equal areas")
        if not (np.all(np.diff(x) < 0) and np.all(np.diff(f) > 0) and x[n] == 0.0):
            raise RuntimeError("ziggurat boundaries are not monotone")
        if not (np.all(self.k64 <= 2**52) and np.all(self.k32 <= 2**23) and self.k64[-1] == 0):
            raise RuntimeError("ziggurat thresholds out of range")


ZIGGURAT = ZigguratTables()
_X = ZIGGURAT.x
_F = ZIGGURAT.f
_K64 = ZIGGURAT.k64
_W64 = ZIGGURAT.w64
_K32 = ZIGGURAT.k32
_W32 = ZIGGURAT.w32
_R = ZIGGURAT.r


# --------------------------------------------------------------------------------------------
# Philox4x32-10
# --------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _philox(c0, c1, c2, c3, k0, k1):  # noqa: ANN001, ANN202 - numba kernel, uint64 lanes
    """Philox4x32-10 on 32-bit values carried in uint64 variables."""
    for rnd in range(10):
        if rnd > 0:
            k0 = (k0 + _W0) & _MASK32
            k1 = (k1 + _W1) & _MASK32
        p0 = c0 * _M0
        p1 = c2 * _M1
        n0 = ((p1 >> _S32) ^ c1 ^ k0) & _MASK32
        n1 = p1 & _MASK32
        n2 = ((p0 >> _S32) ^ c3 ^ k1) & _MASK32
        n3 = p0 & _MASK32
        c0, c1, c2, c3 = n0, n1, n2, n3
    return c0, c1, c2, c3


@njit(cache=True)
def _philox_scalar(c0, c1, c2, c3, k0, k1):  # noqa: ANN001, ANN202
    return _philox(
        np.uint64(c0), np.uint64(c1), np.uint64(c2), np.uint64(c3), np.uint64(k0), np.uint64(k1)
    )


def philox4x32_10(counter: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, ...]:
    """Reference entry point: one Philox4x32-10 evaluation (for known-answer tests)."""
    out = _philox_scalar(
        *[int(c) & 0xFFFFFFFF for c in counter], *[int(k) & 0xFFFFFFFF for k in key]
    )
    return tuple(int(v) for v in out)


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _u53(lo, hi):  # noqa: ANN001, ANN202
    """Uniform in (0, 1) from two 32-bit words (53 bits, centred: never 0 nor 1)."""
    b = ((hi << _S32) | lo) >> np.uint64(11)
    return (np.float64(b) + 0.5) * 2.0**-53


@njit(cache=True)
def _slow(x, idx, neg, res, r, blk, tlo, thi, k0, k1, xt, ft, k64, w64, rr):  # noqa: ANN001, ANN202
    """Exact resolution of a candidate outside its layer's inner rectangle (float64).

    Consumes the block's reservoir words (counter word 0 = ``res + r``, r = 0, 1, ...); returns
    (value, new r).
    """
    while True:
        if idx == 0:
            if x < rr:  # boundary case of the conservative integer threshold: inside the base
                return (-x if neg else x), r
            # Tail |x| > rr: Marsaglia's method, exact.
            while True:
                a0, a1, a2, a3 = _philox(res + r, blk, tlo, thi, k0, k1)
                r += np.uint64(1)
                ex = -math.log(_u53(a0, a1)) / rr
                ey = -math.log(_u53(a2, a3))
                if ey + ey > ex * ex:
                    v = rr + ex
                    return (-v if neg else v), r
        a0, a1, a2, a3 = _philox(res + r, blk, tlo, thi, k0, k1)
        r += np.uint64(1)
        y = ft[idx] + _u53(a0, a1) * (ft[idx + 1] - ft[idx])
        if y < math.exp(-0.5 * x * x):
            return (-x if neg else x), r
        # Rejected: fresh candidate from the other 64 bits.
        w = (a3 << _S32) | a2
        idx = np.int64(w & np.uint64(0xFF))
        neg = ((w >> np.uint64(8)) & np.uint64(1)) != 0
        u = w >> np.uint64(12)
        x = np.float64(u) * w64[idx]
        if u < k64[idx]:
            return (-x if neg else x), r


@njit(cache=True, inline="always")
def _block_f32(out, blk, k0, k1, tlo, thi, scale, words, rej, xt, ft, k64, w64, k32, w32, rr):  # noqa: ANN001, ANN202
    """Block ``blk`` of a float32 normal fill (``words``/``rej`` are scratch of size BLOCK)."""
    n = out.size
    start = blk * BLOCK
    m = min(BLOCK, n - start)
    b64 = np.uint64(blk)
    # Philox words: element c + q * BLOCK/4 takes word q of the Philox output for counter c
    # (a contiguous-store layout that vectorises).
    for c in range(_QUARTER):
        a0, a1, a2, a3 = _philox(_DOM_N32 + np.uint64(c), b64, tlo, thi, k0, k1)
        words[c] = a0
        words[c + _QUARTER] = a1
        words[c + 2 * _QUARTER] = a2
        words[c + 3 * _QUARTER] = a3
    s32 = np.float32(scale)
    # Fast pass: every element as if accepted; candidates outside their layer's inner rectangle
    # (~1.5 %) are listed branch-free in ``rej``.
    nrej = 0
    for e in range(m):
        w = words[e]
        idx = w & np.uint32(0xFF)
        u = w >> np.uint32(9)
        v = np.float32(u) * w32[idx]
        if (w >> np.uint32(8)) & np.uint32(1):
            v = -v
        out[start + e] = v * s32
        rej[nrej] = e
        nrej += u >= k32[idx]
    # Exact resolution of the listed candidates, in element order (reservoir counter r).
    r = np.uint64(0)
    for q in range(nrej):
        e = rej[q]
        w = words[e]
        idx = w & np.uint32(0xFF)
        u = w >> np.uint32(9)
        neg = ((w >> np.uint32(8)) & np.uint32(1)) != 0
        x0 = np.float64(u) * (xt[idx] * 2.0**-23)
        v64, r = _slow(
            x0, np.int64(idx), neg, _RES_N32, r, b64, tlo, thi, k0, k1, xt, ft, k64, w64, rr
        )
        out[start + e] = np.float32(v64) * s32


@njit(cache=True, inline="always")
def _block_f64(out, blk, k0, k1, tlo, thi, scale, words, rej, xt, ft, k64, w64, rr):  # noqa: ANN001, ANN202
    """Block ``blk`` of a float64 normal fill (``words``/``rej`` are scratch of size BLOCK)."""
    n = out.size
    start = blk * BLOCK
    m = min(BLOCK, n - start)
    b64 = np.uint64(blk)
    # 64-bit words: element c takes Philox words (0, 1) of counter c, element c + BLOCK/2 words
    # (2, 3).
    for c in range(_HALF):
        a0, a1, a2, a3 = _philox(_DOM_N64 + np.uint64(c), b64, tlo, thi, k0, k1)
        words[c] = (a1 << _S32) | a0
        words[c + _HALF] = (a3 << _S32) | a2
    nrej = 0
    for e in range(m):
        w = words[e]
        idx = w & np.uint64(0xFF)
        u = w >> np.uint64(12)
        v = np.float64(u) * w64[idx]
        if (w >> np.uint64(8)) & np.uint64(1):
            v = -v
        out[start + e] = v * scale
        rej[nrej] = e
        nrej += u >= k64[idx]
    r = np.uint64(0)
    for q in range(nrej):
        e = rej[q]
        w = words[e]
        idx = w & np.uint64(0xFF)
        u = w >> np.uint64(12)
        neg = ((w >> np.uint64(8)) & np.uint64(1)) != 0
        x0 = np.float64(u) * w64[idx]
        v64, r = _slow(
            x0, np.int64(idx), neg, _RES_N64, r, b64, tlo, thi, k0, k1, xt, ft, k64, w64, rr
        )
        out[start + e] = v64 * scale


@njit(parallel=True, cache=True, fastmath=False)
def _normal_f32_par(out, k0, k1, tlo, thi, scale, xt, ft, k64, w64, k32, w32, rr):  # noqa: ANN001, ANN202
    nb = (out.size + BLOCK - 1) // BLOCK
    for blk in prange(nb):
        words = np.empty(BLOCK, np.uint32)
        rej = np.empty(BLOCK, np.int64)
        _block_f32(out, blk, k0, k1, tlo, thi, scale, words, rej, xt, ft, k64, w64, k32, w32, rr)


@njit(cache=True, fastmath=False, nogil=True)
def _normal_f32_ser(out, k0, k1, tlo, thi, scale, xt, ft, k64, w64, k32, w32, rr):  # noqa: ANN001, ANN202
    nb = (out.size + BLOCK - 1) // BLOCK
    words = np.empty(BLOCK, np.uint32)
    rej = np.empty(BLOCK, np.int64)
    for blk in range(nb):
        _block_f32(out, blk, k0, k1, tlo, thi, scale, words, rej, xt, ft, k64, w64, k32, w32, rr)


@njit(parallel=True, cache=True, fastmath=False)
def _normal_f64_par(out, k0, k1, tlo, thi, scale, xt, ft, k64, w64, rr):  # noqa: ANN001, ANN202
    nb = (out.size + BLOCK - 1) // BLOCK
    for blk in prange(nb):
        words = np.empty(BLOCK, np.uint64)
        rej = np.empty(BLOCK, np.int64)
        _block_f64(out, blk, k0, k1, tlo, thi, scale, words, rej, xt, ft, k64, w64, rr)


@njit(cache=True, fastmath=False, nogil=True)
def _normal_f64_ser(out, k0, k1, tlo, thi, scale, xt, ft, k64, w64, rr):  # noqa: ANN001, ANN202
    nb = (out.size + BLOCK - 1) // BLOCK
    words = np.empty(BLOCK, np.uint64)
    rej = np.empty(BLOCK, np.int64)
    for blk in range(nb):
        _block_f64(out, blk, k0, k1, tlo, thi, scale, words, rej, xt, ft, k64, w64, rr)


@njit(cache=True, inline="always")
def _ublock_f32(out, blk, k0, k1, tlo, thi):  # noqa: ANN001, ANN202
    n = out.size
    start = blk * BLOCK
    m = min(BLOCK, n - start)
    b64 = np.uint64(blk)
    for c in range(_QUARTER):
        a = _philox(_DOM_U32 + np.uint64(c), b64, tlo, thi, k0, k1)
        for q in range(4):
            e = c + q * _QUARTER
            if e < m:
                out[start + e] = np.float32(a[q] >> np.uint64(8)) * np.float32(2.0**-24)


@njit(cache=True, inline="always")
def _ublock_f64(out, blk, k0, k1, tlo, thi):  # noqa: ANN001, ANN202
    n = out.size
    start = blk * BLOCK
    m = min(BLOCK, n - start)
    b64 = np.uint64(blk)
    for c in range(_HALF):
        a0, a1, a2, a3 = _philox(_DOM_U64 + np.uint64(c), b64, tlo, thi, k0, k1)
        if c < m:
            out[start + c] = np.float64(((a1 << _S32) | a0) >> np.uint64(11)) * 2.0**-53
        if c + _HALF < m:
            out[start + c + _HALF] = np.float64(((a3 << _S32) | a2) >> np.uint64(11)) * 2.0**-53


@njit(parallel=True, cache=True, fastmath=False)
def _uniform_f32_par(out, k0, k1, tlo, thi):  # noqa: ANN001, ANN202
    for blk in prange((out.size + BLOCK - 1) // BLOCK):
        _ublock_f32(out, blk, k0, k1, tlo, thi)


@njit(cache=True, fastmath=False)
def _uniform_f32_ser(out, k0, k1, tlo, thi):  # noqa: ANN001, ANN202
    for blk in range((out.size + BLOCK - 1) // BLOCK):
        _ublock_f32(out, blk, k0, k1, tlo, thi)


@njit(parallel=True, cache=True, fastmath=False)
def _uniform_f64_par(out, k0, k1, tlo, thi):  # noqa: ANN001, ANN202
    for blk in prange((out.size + BLOCK - 1) // BLOCK):
        _ublock_f64(out, blk, k0, k1, tlo, thi)


@njit(cache=True, fastmath=False)
def _uniform_f64_ser(out, k0, k1, tlo, thi):  # noqa: ANN001, ANN202
    for blk in range((out.size + BLOCK - 1) // BLOCK):
        _ublock_f64(out, blk, k0, k1, tlo, thi)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
_SUPPORTED = (np.dtype(np.float32), np.dtype(np.float64))


def _check_dtype(dtype: object, name: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"{name}: unsupported dtype {dtype!r} (use float32 or float64)") from exc
    if dt not in _SUPPORTED:
        raise ValueError(f"{name}: unsupported dtype {dt} (use float32 or float64)")
    return dt


def _as_shape(shape: int | tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"shape: negative dimension in {shape}")
    return shape


class GaussianStream:
    """A stream of N(0, 1) draws; output is independent of the numba thread count.

    Each call of :meth:`fill`, :meth:`standard_normal` or :meth:`uniform` consumes one call index
    (even for empty arrays), so a call's output depends only on (key, call index, kind/dtype) --
    never on the thread count or on how previous calls were sized; for a given state a shorter
    array is a prefix of a longer one.  Not thread-safe: use one stream per Python thread
    (:meth:`spawn`).
    """

    def __init__(self, seed: int | np.random.SeedSequence) -> None:
        if isinstance(seed, np.random.SeedSequence):
            ss = seed
        elif isinstance(seed, int | np.integer) and not isinstance(seed, bool):
            ss = np.random.SeedSequence(int(seed))
        else:
            raise ValueError(f"seed: expected an int or numpy.random.SeedSequence, got {seed!r}")
        self._seed_seq = ss
        k = ss.generate_state(2, np.uint32)
        self._k0 = int(k[0])
        self._k1 = int(k[1])
        self._t = 0

    # -- state -----------------------------------------------------------------------------
    @property
    def key(self) -> tuple[int, int]:
        return (self._k0, self._k1)

    def get_state(self) -> tuple[int, ...]:
        """(key0, key1, call_index): restoring it with :meth:`set_state` replays the draws."""
        return (self._k0, self._k1, self._t)

    def set_state(self, state: tuple[int, ...]) -> None:
        """Restore a :meth:`get_state` tuple (possibly from another stream).  :meth:`spawn` is not
        part of the state: it always derives children from this object's SeedSequence."""
        if len(state) != 3:
            raise ValueError(f"state: expected (key0, key1, call_index), got {state!r}")
        k0, k1, t = (int(s) for s in state)
        if not (0 <= k0 < 2**32 and 0 <= k1 < 2**32 and 0 <= t < 2**64):
            raise ValueError(f"state: value out of range in {state!r}")
        self._k0, self._k1, self._t = k0, k1, t

    def spawn(self, n: int) -> list[GaussianStream]:
        """``n`` independent child streams (``SeedSequence.spawn``: distinct keys)."""
        if int(n) < 0:
            raise ValueError(f"n: must be non-negative, got {n}")
        return [GaussianStream(child) for child in self._seed_seq.spawn(int(n))]

    def _next_call(self) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
        t = self._t
        self._t = (t + 1) % 2**64
        return (
            np.uint64(self._k0),
            np.uint64(self._k1),
            np.uint64(t & 0xFFFFFFFF),
            np.uint64(t >> 32),
        )

    # -- draws -----------------------------------------------------------------------------
    def skip(self, n: int = 1) -> None:
        """Advance the call index by ``n``, as if ``n`` draws had been made."""
        if int(n) < 0:
            raise ValueError(f"n: must be non-negative, got {n}")
        self._t = (self._t + int(n)) % 2**64

    def fill(self, out: np.ndarray, scale: float = 1.0, *, parallel: bool | None = None
             ) -> np.ndarray:
        """Fill a C-contiguous float32/float64 array in place with ``scale * N(0, 1)``.

        parallel: use the numba-parallel kernel (None: when ``out.size >= PARALLEL_MIN_SIZE``);
        the draws are the same either way. The serial kernel releases the GIL, so it can run in
        a background thread.
        """
        if not isinstance(out, np.ndarray):
            raise ValueError(f"out: expected a numpy array, got {type(out).__name__}")
        dt = _check_dtype(out.dtype, "out")
        if not out.flags.c_contiguous:
            raise ValueError("out: array must be C-contiguous")
        if not out.flags.writeable:
            raise ValueError("out: array is read-only")
        k0, k1, tlo, thi = self._next_call()
        if out.size == 0:
            return out
        if out.size > BLOCK * _MAX_BLOCKS:
            raise ValueError(f"out: too many elements ({out.size}) for one call")
        flat = out.reshape(-1)
        par = out.size >= PARALLEL_MIN_SIZE if parallel is None else bool(parallel)
        s = float(scale)
        if dt == np.float32:
            kern = _normal_f32_par if par else _normal_f32_ser
            kern(flat, k0, k1, tlo, thi, s, _X, _F, _K64, _W64, _K32, _W32, _R)
        else:
            kern = _normal_f64_par if par else _normal_f64_ser
            kern(flat, k0, k1, tlo, thi, s, _X, _F, _K64, _W64, _R)
        return out

    def standard_normal(
        self, shape: int | tuple[int, ...], dtype: type = np.float32, scale: float = 1.0
    ) -> np.ndarray:
        """New array of ``scale * N(0, 1)`` draws."""
        dt = _check_dtype(dtype, "dtype")
        out = np.empty(_as_shape(shape), dtype=dt)
        return self.fill(out, scale)

    def uniform(self, shape: int | tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        """New array of U[0, 1) draws (24-bit float32 / 53-bit float64 resolution)."""
        dt = _check_dtype(dtype, "dtype")
        out = np.empty(_as_shape(shape), dtype=dt)
        k0, k1, tlo, thi = self._next_call()
        if out.size:
            if dt == np.float32:
                kern = _uniform_f32_par if out.size >= PARALLEL_MIN_SIZE else _uniform_f32_ser
            else:
                kern = _uniform_f64_par if out.size >= PARALLEL_MIN_SIZE else _uniform_f64_ser
            kern(out.reshape(-1), k0, k1, tlo, thi)
        return out


def normal_draws_per_second(n: int = 2**24, dtype: type = np.float32) -> float:
    """Quick self-benchmark: best-of-3 draws/s of :meth:`GaussianStream.fill` on ``n`` elements
    with the current numba thread count (after a warm-up call)."""
    dt = _check_dtype(dtype, "dtype")
    stream = GaussianStream(12345)
    out = np.empty(int(n), dtype=dt)
    stream.fill(out)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        stream.fill(out)
        best = min(best, time.perf_counter() - t0)
    return out.size / best
