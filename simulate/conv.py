"""2-D convolutions and channel statistics of NHWC feature maps, for the engine.

Layout. A batch of ``M`` feature maps ``n x n x C`` is stored as a C-order matrix of shape
``(M n^2, C)``: row ``(m n + i) n + j`` is the channel vector at position ``(i, j)`` of map
``m`` (NHWC flattened). The engine stacks the ``B`` signal maps and then the ``B`` tangent maps
(``M = 2B``), so a convolution is one product for both.

Convolution (moments-dnns' ``ConvLayer``; `simulate.spec.Conv` states the boundaries)::

    y[m, i, j, o] = sum_{di, dj, c} x~[m, i s + di, j s + dj, c] * K[di, dj, c, o]

where ``x~`` is the map extended by the boundary condition. It is computed as im2col + GEMM:
numba packs the patches of a chunk of maps into a ``(rows, k^2 C)`` float buffer (columns in
``(di, dj, c)`` order) and BLAS multiplies it by the kernel reshaped to ``(k^2 C, C_out)``.
Chunks have a fixed size (independent of the number of threads) and each is computed by one
single-threaded product, so results are bitwise identical for any thread count; threads only
run chunks side by side (numba and BLAS release the GIL).

Winograd (``algorithm="winograd"``, the default for ``k = 3``, stride 1 and even map sides
with at least `WINOGRAD_MIN_TILES` tiles per layer: every layer after the stem at batch 64).
Lavin & Gray's F(2x2, 3x3): with ``d`` a 4x4 tile of ``x~`` whose 2x2 outputs start at
``(2 ti, 2 tj)``, ``g`` the 3x3 kernel of one (input, output) channel pair,

    Y = A^T [ (G g G^T) (.) (B^T d B) ] A,    summed over input channels,

``B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]``, ``G = [[1,0,0],[1/2,1/2,1/2],
[1/2,-1/2,1/2],[0,0,1]]``, ``A^T = [[1,1,1,0],[0,1,-1,-1]]``. The sum over channels is 16
GEMMs ``(tiles, C) x (C, C_out)`` per chunk of tiles, 16 / 36 = 4/9 of the multiplications of
im2col; numba does the tile transforms, chunk sizes are fixed as above. It is the same linear
map computed in another order (exact in exact arithmetic; in float32 the rounding differs from
im2col by a few units in the last place, tested against the direct float64 oracle).

Channel effective rank. ``r_eff = tr S / lambda_max(S)`` with ``S`` the ``C x C`` covariance
of the ``M n^2`` channel vectors (moments-dnns: inputs and positions pooled). Means in float64,
then the centred rows are packed in float32 chunks whose products ``T^T T`` are summed in
float64 in chunk order; only the top eigenvalue is computed (LAPACK ``dsyevr``).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit
from scipy.linalg import lapack

from simulate.errors import ConfigError, check_choice
from simulate.spec import BOUNDARIES, Conv

#: target size of one packed patch chunk (bytes); a chunk holds whole maps, at least one
PATCH_CHUNK_BYTES = 1 << 22
#: rows per chunk of the channel-covariance accumulation
COV_CHUNK_ROWS = 4096
#: convolution algorithms of `conv2d_rows` (``auto``: winograd where it applies and pays, else
#: im2col)
ALGORITHMS = ("auto", "im2col", "winograd")
#: fewest 4x4 tiles per layer for which ``auto`` picks Winograd: below it the kernel transform
#: and the 16 small GEMMs cost more than they save (measured, one thread, float32: 32 tiles
#: 0.46x im2col's speed, 128 tiles 0.91-1.33x, 256 tiles 1.31-1.50x, 8192 tiles 2.3x)
WINOGRAD_MIN_TILES = 256
#: Winograd F(2x2, 3x3) transforms (module docstring)
WINOGRAD_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def default_threads() -> int:
    """Cores this process may use (``sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def source_index(n: int, kernel_size: int, stride: int, boundary: str) -> np.ndarray:
    """Index map of the boundary-extended axis: ``(n // stride, k)`` int64.

    Entry ``[o, d]`` is the input coordinate read by output ``o`` at kernel offset ``d``
    (extended coordinate ``p = o s + d``), or ``-1`` for a zero pad. With ``q = p - pad_before``:
    periodic ``q mod n``; symmetric mirror with the edge repeated (``-1 -> 0``, ``n -> n - 1``);
    zero_padding ``q`` if ``0 <= q < n`` else ``-1`` (TensorFlow ``SAME``).
    """
    check_choice("boundary", boundary, BOUNDARIES)
    layer = Conv(channels=1, kernel_size=kernel_size, stride=stride, boundary=boundary)
    n_out = layer.out_size(n)
    pad = layer.pad_before(n)
    q = np.arange(n_out)[:, None] * stride + np.arange(kernel_size)[None, :] - pad
    if boundary == "periodic":
        return np.mod(q, n).astype(np.int64)
    if boundary == "symmetric":
        q = np.where(q < 0, -q - 1, q)
        q = np.where(q >= n, 2 * n - q - 1, q)
        if np.any((q < 0) | (q >= n)):
            raise ConfigError(
                f"kernel_size={kernel_size} is not allowed with boundary='symmetric' for a "
                f"{n}x{n} map; the mirror pad must not exceed the map"
            )
        return q.astype(np.int64)
    return np.where((q >= 0) & (q < n), q, -1).astype(np.int64)


@njit(cache=True, nogil=True)
def pack_patches(Z: np.ndarray, m0: int, m1: int, H: int, W: int, src_i: np.ndarray,
                 src_j: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - numba
    """Patches of maps ``m0 .. m1 - 1`` of ``Z`` (``(M H W, C)``) into ``out``.

    ``out`` is ``((m1 - m0) Ho Wo, k^2 C)``; row ``((m - m0) Ho + oi) Wo + oj``, columns
    ``(di k + dj) C + c`` hold ``x~[m, oi s + di, oj s + dj, c]`` (``src_i``/``src_j`` from
    `source_index`; ``-1`` writes zeros).
    """
    Ho, k = src_i.shape
    Wo = src_j.shape[0]
    C = Z.shape[1]
    r = 0
    for m in range(m0, m1):
        base = m * H * W
        for oi in range(Ho):
            for oj in range(Wo):
                col = 0
                for di in range(k):
                    si = src_i[oi, di]
                    for dj in range(k):
                        sj = src_j[oj, dj]
                        if si < 0 or sj < 0:
                            for c in range(C):
                                out[r, col + c] = 0.0
                        else:
                            src = base + si * W + sj
                            for c in range(C):
                                out[r, col + c] = Z[src, c]
                        col += C
                r += 1


@njit(cache=True, nogil=True, inline="always")
def tile_position(t: int, th: int, tw: int) -> tuple[int, int, int]:  # pragma: no cover
    """Map, tile row and tile column of Winograd tile ``t = (m th + ti) tw + tj``."""
    m = t // (th * tw)
    r = t - m * th * tw
    ti = r // tw
    return m, ti, r - ti * tw


@njit(cache=True, nogil=True)
def winograd_kernel_tiles(kernel: np.ndarray, C: int, U: np.ndarray
                          ) -> None:  # pragma: no cover - numba
    """``U[4 xi + nu, c, o] = sum_{a, b} G[xi, a] g[a, b, c, o] G[nu, b]`` in float64, with
    ``g[a, b, c, o] = kernel[(3 a + b) C + c, o]`` and ``G = [[1, 0, 0], [1/2, 1/2, 1/2],
    [1/2, -1/2, 1/2], [0, 0, 1]]`` (`WINOGRAD_G`)."""
    Co = kernel.shape[1]
    g = np.empty((3, 3))
    h = np.empty((4, 3))
    for c in range(C):
        for o in range(Co):
            for a in range(3):
                for b in range(3):
                    g[a, b] = np.float64(kernel[(3 * a + b) * C + c, o])
            for b in range(3):  # h = G g (over a)
                h[0, b] = g[0, b]
                h[1, b] = 0.5 * (g[0, b] + g[1, b] + g[2, b])
                h[2, b] = 0.5 * (g[0, b] - g[1, b] + g[2, b])
                h[3, b] = g[2, b]
            for x in range(4):  # U = h G^T (over b)
                U[4 * x, c, o] = h[x, 0]
                U[4 * x + 1, c, o] = 0.5 * (h[x, 0] + h[x, 1] + h[x, 2])
                U[4 * x + 2, c, o] = 0.5 * (h[x, 0] - h[x, 1] + h[x, 2])
                U[4 * x + 3, c, o] = h[x, 2]


@njit(cache=True, nogil=True)
def winograd_input_tiles(Z: np.ndarray, t0: int, t1: int, H: int, W: int, src_i: np.ndarray,
                         src_j: np.ndarray, V: np.ndarray) -> None:  # pragma: no cover - numba
    """``V[4 xi + nu, t - t0, c] = (B^T d_t B)[xi, nu]`` for tiles ``t0 .. t1 - 1`` of ``Z``.

    Tile ``t = (m (H/2) + ti) (W/2) + tj`` reads the 4x4 block of the boundary-extended map
    ``m`` at extended rows ``2 ti .. 2 ti + 3`` (input rows ``src_i[2 ti, 0..2]``,
    ``src_i[2 ti + 1, 2]``; ``-1``: zero) and likewise columns.
    """
    C = Z.shape[1]
    th = H // 2
    tw = W // 2
    rows = np.empty(4, np.int64)
    cols = np.empty(4, np.int64)
    d = np.zeros((4, 4, C), dtype=V.dtype)
    e = np.empty((4, 4, C), dtype=V.dtype)
    for t in range(t0, t1):
        m, ti, tj = tile_position(t, th, tw)
        for a in range(3):
            rows[a] = src_i[2 * ti, a]
            cols[a] = src_j[2 * tj, a]
        rows[3] = src_i[2 * ti + 1, 2]
        cols[3] = src_j[2 * tj + 1, 2]
        base = m * H * W
        for a in range(4):
            for b in range(4):
                if rows[a] < 0 or cols[b] < 0:
                    for c in range(C):
                        d[a, b, c] = 0.0
                else:
                    src = base + rows[a] * W + cols[b]
                    for c in range(C):
                        d[a, b, c] = Z[src, c]
        for b in range(4):  # e = B^T d (over rows)
            for c in range(C):
                d0 = d[0, b, c]
                d1 = d[1, b, c]
                d2 = d[2, b, c]
                d3 = d[3, b, c]
                e[0, b, c] = d0 - d2
                e[1, b, c] = d1 + d2
                e[2, b, c] = d2 - d1
                e[3, b, c] = d1 - d3
        k = t - t0
        for a in range(4):  # V = e B (over columns)
            for c in range(C):
                e0 = e[a, 0, c]
                e1 = e[a, 1, c]
                e2 = e[a, 2, c]
                e3 = e[a, 3, c]
                V[4 * a, k, c] = e0 - e2
                V[4 * a + 1, k, c] = e1 + e2
                V[4 * a + 2, k, c] = e2 - e1
                V[4 * a + 3, k, c] = e1 - e3


@njit(cache=True, nogil=True)
def winograd_output_tiles(M: np.ndarray, t0: int, t1: int, H: int, W: int,
                          out: np.ndarray) -> None:  # pragma: no cover - numba
    """The 2x2 outputs ``A^T M_t A`` of tiles ``t0 .. t1 - 1`` into the rows of ``out``
    (``(maps H W, C_out)``; row ``(m H + 2 ti + i) W + 2 tj + j``)."""
    Co = M.shape[2]
    th = H // 2
    tw = W // 2
    s = np.empty((2, 4, Co), dtype=M.dtype)
    for t in range(t0, t1):
        m, ti, tj = tile_position(t, th, tw)
        k = t - t0
        for b in range(4):  # s = A^T M (over rows)
            for o in range(Co):
                m0 = M[b, k, o]
                m1 = M[4 + b, k, o]
                m2 = M[8 + b, k, o]
                m3 = M[12 + b, k, o]
                s[0, b, o] = m0 + m1 + m2
                s[1, b, o] = m1 - m2 - m3
        for i in range(2):  # Y = s A (over columns)
            row = (m * H + 2 * ti + i) * W + 2 * tj
            for o in range(Co):
                s0 = s[i, 0, o]
                s1 = s[i, 1, o]
                s2 = s[i, 2, o]
                s3 = s[i, 3, o]
                out[row, o] = s0 + s1 + s2
                out[row + 1, o] = s1 - s2 - s3


@njit(cache=True, nogil=True)
def column_sums(Z: np.ndarray, r0: int, r1: int) -> np.ndarray:  # pragma: no cover - numba
    """Float64 sums over rows ``r0 .. r1 - 1`` of each column of ``Z``."""
    C = Z.shape[1]
    s = np.zeros(C)
    for r in range(r0, r1):
        for c in range(C):
            s[c] += Z[r, c]
    return s


@njit(cache=True, nogil=True)
def center_rows(Z: np.ndarray, r0: int, r1: int, mean: np.ndarray,
                out: np.ndarray) -> float:  # pragma: no cover - numba
    """``out[r - r0] = Z[r] - mean`` (dtype of ``out``); returns the float64 sum of squares."""
    C = Z.shape[1]
    tot = 0.0
    for r in range(r0, r1):
        for c in range(C):
            d = np.float64(Z[r, c]) - mean[c]
            out[r - r0, c] = d
            tot += d * d
    return tot


_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()
_SCRATCH = threading.local()


def _executor(threads: int) -> ThreadPoolExecutor:
    """A persistent pool of at least ``threads`` workers (creating one per call costs more
    than a small layer)."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < threads:
            if _POOL is not None:
                _POOL.shutdown(wait=True)
            _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dnn-moments-conv")
            _POOL_SIZE = threads
        return _POOL


def scratch(rows: int, cols: int, dtype: np.dtype, slot: str = "a") -> np.ndarray:
    """A ``(rows, cols)`` work buffer owned by the calling thread, reused across calls.

    Fresh large arrays are mapped pages that fault on first touch; reusing one buffer per
    thread keeps packing at memory speed. Buffers of different ``slot`` names are distinct (a
    caller needing two at once names them). The contents are undefined.
    """
    dtype = np.dtype(dtype)
    need = rows * cols
    name = f"{slot}{dtype.str}"
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.size < need:
        buf = np.empty(max(need, 1), dtype=dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:need].reshape(rows, cols)


def _run_chunks(fn: Callable[[int], object], n_chunks: int, threads: int) -> list[object]:
    """``[fn(i) for i in range(n_chunks)]``, run on up to ``threads`` threads (order kept).

    Each chunk's result depends only on its index, so the outcome is the same for any
    ``threads``.
    """
    threads = max(1, min(threads, n_chunks))
    if threads == 1:
        return [fn(i) for i in range(n_chunks)]
    ex = _executor(threads)
    step = -(-n_chunks // threads)  # contiguous ranges: one task per thread

    def run_range(t: int) -> list[object]:
        return [fn(i) for i in range(t * step, min(n_chunks, (t + 1) * step))]

    return [r for part in ex.map(run_range, range(threads)) for r in part]


def maps_per_chunk(rows_per_map: int, cols: int, itemsize: int) -> int:
    """Maps per patch chunk: as many as fit in `PATCH_CHUNK_BYTES` (at least one)."""
    return max(1, PATCH_CHUNK_BYTES // max(1, rows_per_map * cols * itemsize))


def winograd_applies(kernel_size: int, stride: int, size: tuple[int, int]) -> bool:
    """Whether F(2x2, 3x3) computes this convolution: ``k = 3``, stride 1, even sides."""
    return kernel_size == 3 and stride == 1 and size[0] % 2 == 0 and size[1] % 2 == 0


def winograd_kernel(kernel: np.ndarray, channels: int) -> np.ndarray:
    """``U[4 xi + nu] = (G g G^T)[xi, nu]`` of a ``(9 C, C_out)`` kernel: ``(16, C, C_out)``.

    Computed in float64 and rounded once to the kernel's dtype (`winograd_kernel_tiles`).
    """
    if kernel.shape[0] != 9 * channels:
        raise ConfigError(f"kernel of shape {kernel.shape} is not a 3x3 kernel of {channels} "
                          "input channels")
    U = np.empty((16, channels, kernel.shape[1]), dtype=kernel.dtype)
    winograd_kernel_tiles(np.ascontiguousarray(kernel), channels, U)
    return U


def tiles_per_chunk(channels: int, out_channels: int, itemsize: int) -> int:
    """Winograd tiles per chunk: the 16 transformed tiles of the larger side fit in
    `PATCH_CHUNK_BYTES` (at least one)."""
    return max(1, PATCH_CHUNK_BYTES // max(1, 16 * max(channels, out_channels) * itemsize))


def _conv2d_winograd(Z: np.ndarray, maps: int, H: int, W: int, kernel: np.ndarray,
                     src_i: np.ndarray, src_j: np.ndarray, threads: int) -> np.ndarray:
    C = Z.shape[1]
    Co = kernel.shape[1]
    U = winograd_kernel(kernel, C)
    n_tiles = maps * (H // 2) * (W // 2)
    per = tiles_per_chunk(C, Co, Z.dtype.itemsize)
    n_chunks = -(-n_tiles // per)
    out = np.empty((maps * H * W, Co), dtype=Z.dtype)

    def chunk(i: int) -> None:
        t0, t1 = i * per, min(n_tiles, (i + 1) * per)
        nt = t1 - t0
        V = scratch(16 * nt, C, Z.dtype, "winograd_in").reshape(16, nt, C)
        M = scratch(16 * nt, Co, Z.dtype, "winograd_out").reshape(16, nt, Co)
        winograd_input_tiles(Z, t0, t1, H, W, src_i, src_j, V)
        for x in range(16):
            np.matmul(V[x], U[x], out=M[x])
        winograd_output_tiles(M, t0, t1, H, W, out)

    with np.errstate(over="ignore", invalid="ignore"):  # non-finite: caught per block
        _run_chunks(chunk, n_chunks, threads)
    return out


def conv2d_rows(
    Z: np.ndarray,
    maps: int,
    size: tuple[int, int],
    kernel: np.ndarray,
    stride: int,
    boundary: str,
    threads: int = 1,
    algorithm: str = "auto",
) -> np.ndarray:
    """Convolve ``maps`` NHWC maps stored as rows of ``Z`` (``(maps H W, C)``).

    kernel: ``(k^2 C, C_out)`` (rows in ``(di, dj, c)`` order) in the dtype of ``Z``.
    algorithm: one of `ALGORITHMS`; ``auto`` is Winograd F(2x2, 3x3) where
        `winograd_applies` and the layer has at least `WINOGRAD_MIN_TILES` tiles, else
        im2col + GEMM (module docstring).
    Returns ``(maps Ho Wo, C_out)`` in the dtype of ``Z`` (``Ho = H / stride``).
    """
    check_choice("algorithm", algorithm, ALGORITHMS)
    H, W = size
    C = Z.shape[1]
    kk = kernel.shape[0] // C
    k = math.isqrt(kk)
    if k * k * C != kernel.shape[0] or Z.shape[0] != maps * H * W:
        raise ConfigError(
            f"kernel of shape {kernel.shape} and state of shape {Z.shape} do not match "
            f"{maps} maps of {H}x{W}x{C}"
        )
    src_i = source_index(H, k, stride, boundary)
    src_j = src_i if W == H else source_index(W, k, stride, boundary)
    if algorithm != "im2col":
        fits = winograd_applies(k, stride, (H, W))
        pays = maps * (H // 2) * (W // 2) >= WINOGRAD_MIN_TILES
        if fits and (pays or algorithm == "winograd"):
            return _conv2d_winograd(Z, maps, H, W, kernel, src_i, src_j, threads)
        if algorithm == "winograd":
            raise ConfigError(
                f"algorithm='winograd' needs kernel_size=3, stride=1 and even map sides; got "
                f"kernel_size={k}, stride={stride}, {H}x{W} maps (use 'auto' or 'im2col')"
            )
    Ho, Wo = src_i.shape[0], src_j.shape[0]
    per = maps_per_chunk(Ho * Wo, kk * C, Z.dtype.itemsize)
    n_chunks = -(-maps // per)
    out = np.empty((maps * Ho * Wo, kernel.shape[1]), dtype=Z.dtype)

    def chunk(i: int) -> None:
        m0, m1 = i * per, min(maps, (i + 1) * per)
        buf = scratch((m1 - m0) * Ho * Wo, kk * C, Z.dtype)
        pack_patches(Z, m0, m1, H, W, src_i, src_j, buf)
        np.matmul(buf, kernel, out=out[m0 * Ho * Wo: m1 * Ho * Wo])

    with np.errstate(over="ignore", invalid="ignore"):  # non-finite: caught per block
        _run_chunks(chunk, n_chunks, threads)
    return out


def conv2d(x: np.ndarray, kernel: np.ndarray, stride: int = 1, boundary: str = "periodic",
           threads: int = 1, algorithm: str = "auto") -> np.ndarray:
    """NHWC convolution of ``x`` (``(M, H, W, C)``) with ``kernel`` (``(k, k, C, C_out)``).

    ``y[m, i, j, o] = sum_{di, dj, c} x~[m, i s + di, j s + dj, c] kernel[di, dj, c, o]`` with
    the boundary extension of `simulate.spec.Conv`; returns ``(M, H/s, W/s, C_out)``
    (``algorithm``: see `conv2d_rows`).
    """
    x = np.ascontiguousarray(x)
    if x.ndim != 4:
        raise ConfigError(f"x has shape {x.shape}; expected NHWC maps (M, H, W, C)")
    k = kernel.shape[0]
    if kernel.ndim != 4 or kernel.shape[1] != k or kernel.shape[2] != x.shape[3]:
        raise ConfigError(f"kernel has shape {kernel.shape}; expected (k, k, {x.shape[3]}, C_out)")
    M, H, W, C = x.shape
    flat = conv2d_rows(x.reshape(M * H * W, C), M, (H, W),
                       np.ascontiguousarray(kernel.reshape(k * k * C, -1), dtype=x.dtype),
                       stride, boundary, threads, algorithm)
    return flat.reshape(M, H // stride, W // stride, kernel.shape[3])


def patches(x: np.ndarray, kernel_size: int, stride: int = 1, boundary: str = "periodic"
            ) -> np.ndarray:
    """The ``M Ho Wo`` patches of NHWC maps ``x`` (``(M, H, W, C)``), padded values included.

    Returns ``(M Ho Wo, k^2 C)`` in the dtype of ``x``: row ``(m Ho + i) Wo + j`` is
    ``x~[m, i s + di, j s + dj, c]`` in ``(di, dj, c)`` order, the vector a kernel column is
    dotted with (THEORY.md L1: ``y_c = w_c . p``).
    """
    x = np.ascontiguousarray(x)
    if x.ndim != 4:
        raise ConfigError(f"x has shape {x.shape}; expected NHWC maps (M, H, W, C)")
    M, H, W, C = x.shape
    src_i = source_index(H, kernel_size, stride, boundary)
    src_j = source_index(W, kernel_size, stride, boundary)
    out = np.empty((M * src_i.shape[0] * src_j.shape[0], kernel_size**2 * C), dtype=x.dtype)
    pack_patches(x.reshape(M * H * W, C), 0, M, H, W, src_i, src_j, out)
    return out


def channel_covariance(Z: np.ndarray, r0: int, r1: int, threads: int = 1
                       ) -> tuple[np.ndarray, float]:
    """Covariance ``S`` (``C x C`` float64, symmetric) of rows ``r0 .. r1 - 1`` and ``tr S``.

    ``S = (1/n) sum_r (z_r - zbar)(z_r - zbar)^T`` over the ``n = r1 - r0`` rows (channel
    vectors); the trace is accumulated in float64 from the centred values.
    """
    n = r1 - r0
    C = Z.shape[1]
    mean = column_sums(Z, r0, r1) / n
    n_chunks = -(-n // COV_CHUNK_ROWS)

    def chunk(i: int) -> tuple[np.ndarray, float]:
        a = r0 + i * COV_CHUNK_ROWS
        b = min(r1, a + COV_CHUNK_ROWS)
        buf = scratch(b - a, C, Z.dtype)
        ss = center_rows(Z, a, b, mean, buf)
        # a GEMM beats syrk here (OpenBLAS ssyrk runs at ~1/3 of the sgemm rate for these
        # shapes, measured), although it does twice the flops
        return np.asarray(buf.T @ buf, dtype=np.float64), ss

    parts = _run_chunks(chunk, n_chunks, threads)
    cov = np.zeros((C, C))
    trace = 0.0
    for g, ss in parts:  # fixed order: deterministic for any thread count
        cov += g
        trace += ss
    return cov / n, trace / n


def channel_effective_rank(Z: np.ndarray, r0: int, r1: int, threads: int = 1) -> float:
    """``tr S / lambda_max(S)`` of the channel covariance of rows ``r0 .. r1 - 1`` (>= 1).

    Returns ``nan`` when ``S = 0``; the ratio is clamped to >= 1 against rounding.
    """
    if r1 - r0 < 2:
        return 1.0
    cov, trace = channel_covariance(Z, r0, r1, threads)
    C = cov.shape[0]
    w = lapack.dsyevr(cov, compute_v=0, range="I", il=C, iu=C, lower=0)[0]
    wmax = float(w[0])
    if not wmax > 0:
        return float("nan")
    return max(trace / wmax, 1.0)


__all__: Sequence[str] = (
    "ALGORITHMS", "channel_covariance", "channel_effective_rank", "conv2d", "conv2d_rows",
    "default_threads", "patches", "source_index", "winograd_applies", "winograd_kernel",
)
