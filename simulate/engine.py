"""Joint propagation of a signal batch and its tangent through a `Network`, with measurements.

One *simulation* = one draw of every weight, one input batch ``x`` (``B x D``) and one tangent
("noise") batch ``dx`` (one i.i.d. N(0, 1) draw per input, propagated linearly, forward mode).

State. The engine keeps a single matrix ``Z`` of shape ``(R, N)``: rows ``0..B-1`` the signal,
rows ``B..2B-1`` the tangent (``R = 2B``; ``R = B`` without tangent). The tangent is stored
rescaled to unit second moment after every block; its log-scale is carried separately
(``dx_true = exp(log_scale) * Z[B:]``), so depth 10 000 never overflows.

Dense layers, two exact paths.

* *dense path*: draw ``W`` (``N_out x N_in``) and multiply, ``O(N_in N_out)`` normals and
  ``O(R N_in N_out)`` flops.
* *fast path* (exact in distribution): for ``W_ij ~ N(0, s^2)`` i.i.d. and ``Z = L Q^T`` with
  ``L L^T = Z Z^T`` (Gram factor, ``R x k``) and ``Q`` orthonormal (``N_in x k``), ``W Q`` is again
  an i.i.d. ``N(0, s^2)`` matrix, independent of everything before. Hence
  ``Z W^T = L (W Q)^T ~ L G`` with ``G`` a fresh ``k x N_out`` Gaussian matrix: ``O(k N_out)``
  normals and ``O(R^2 (N_in + N_out))`` flops. ``L`` comes from a Cholesky factor of the float64
  Gram, with an eigen-decomposition fallback that drops null directions (``k < R``) when the
  state is rank-deficient. The cheaper path is chosen per layer from a cost model.

Backward mode (Yang–Schoenholz gradients) needs the weights themselves and uses the dense path;
weights are not stored but re-drawn from the saved stream state.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy.linalg import blas, lapack

from simulate import conv, kernels
from simulate.activations import get_activation
from simulate.errors import ConfigError, SimulationError, check_choice, check_positive_int
from simulate.rng import GaussianStream
from simulate.spec import (
    Activation,
    BatchNorm,
    Conv,
    Dense,
    Layer,
    Measure,
    Network,
    Residual,
    walk,
)
from simulate.threads import single_threaded_blas

PATHS = ("auto", "dense", "fast")
FAMILIES = ("moments", "sample_stats", "spectra")
DTYPES = {"float32": np.float32, "float64": np.float64}
DEVICES = ("cpu", "cuda", "numpy")
PRECISIONS = ("float32", "tf32")
#: environment variable: the default ``EngineOptions.device`` of this process and its children
ENV_DEVICE = "DNN_MOMENTS_DEVICE"

# Cost model used by path="auto" (seconds per normal draw / per flop on the reference machine;
# only their ratio matters). See docs/benchmarks.md.
_SECONDS_PER_DRAW = 1.0 / 3.0e8
_SECONDS_PER_FLOP = 1.0 / 5.0e10


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """How a network is propagated and what is recorded.

    tangent: propagate the tangent (noise) channel.
    backward: also propagate a random cotangent from the output back to the input
        (gradient norms; dense path only; no batch norm).
    path: ``"auto"`` (cost model), ``"dense"`` or ``"fast"`` for dense layers.
    dtype: ``"float32"`` or ``"float64"`` storage of the propagated state.
    families: measurement families: ``moments`` (always: moments-dnns quantities),
        ``sample_stats`` (Luther–Seung / Yang–Schoenholz batch geometry), ``spectra``
        (signal covariance eigenvalues and noise projections, for the L7 integral).
    compute_reff_signal, compute_reff_noise: effective ranks at ``Measure(reff=True)`` points.
    threads: threads for the convolution products and channel covariances of convolutional
        networks (``None``: every core this process may use). Chunks have a fixed size, so the
        results are bitwise identical for any value; fully-connected layers always run
        single-threaded BLAS (see `simulate.threads`).
    device: where the arrays live (`simulate.backend`): ``"cpu"`` (this module's numba/BLAS
        engine), ``"cuda"`` (the stacked array engine of `simulate.stacked` on CuPy, many
        simulations per kernel) or ``"numpy"`` (the same stacked engine on numpy: the CPU
        reference of the GPU path, for tests). ``None``: ``$DNN_MOMENTS_DEVICE`` (set by
        ``--device``) where these options allow it, else ``"cpu"``. The stacked engine measures
        the ``moments`` family, forward only, dense products: other options with an explicit
        ``device`` raise.
    precision: ``"float32"`` (default) or ``"tf32"`` (TensorFloat-32 products; cuda only).
    """

    tangent: bool = True
    backward: bool = False
    path: str = "auto"
    dtype: str = "float32"
    families: tuple[str, ...] = ("moments",)
    compute_reff_signal: bool = True
    compute_reff_noise: bool = True
    threads: int | None = None
    device: str | None = None
    precision: str = "float32"

    def __post_init__(self) -> None:
        check_choice("path", self.path, PATHS)
        if self.threads is not None:
            check_positive_int("threads", self.threads)
        check_choice("dtype", self.dtype, DTYPES)
        fams = tuple(self.families)
        for f in fams:
            check_choice("families", f, FAMILIES)
        if "moments" not in fams:
            fams = ("moments",) + fams
        object.__setattr__(self, "families", fams)
        if self.backward and self.path == "fast":
            raise ConfigError(
                "path='fast' is not allowed with backward=True; use 'auto' or 'dense'"
            )
        check_choice("precision", self.precision, PRECISIONS)
        device = self.device
        if device is None:
            device = os.environ.get(ENV_DEVICE, "").strip() or "cpu"
            check_choice(f"${ENV_DEVICE}", device, DEVICES)
            if device != "cpu" and self.stacked_unsupported():
                device = "cpu"  # a process-wide default applies where the options allow it
        check_choice("device", device, DEVICES)
        object.__setattr__(self, "device", device)
        if device != "cpu":
            why = self.stacked_unsupported()
            if why:
                raise ConfigError(f"{why} is not supported with device={device!r}; "
                                  "use device='cpu'")
        if self.precision == "tf32" and device != "cuda":
            raise ConfigError(f"precision='tf32' is not allowed with device={device!r}; "
                              "it needs device='cuda'")

    def stacked_unsupported(self) -> str:
        """What in these options the stacked array engine does not do ('' if nothing)."""
        if self.backward:
            return "backward=True"
        extra = [f for f in self.families if f != "moments"]
        if extra:
            return f"families={tuple(extra)!r}"
        if self.path == "fast":
            return "path='fast'"
        return ""

    def identity(self) -> dict[str, Any]:
        """The options the arrays depend on, as JSON (for cache keys and checkpoints): no
        ``threads`` (results are identical for any count), and ``device``/``precision`` only
        where they differ from the CPU engine's defaults (so CPU keys stay what they were)."""
        opts = dataclasses.asdict(self)
        opts.pop("threads")
        if opts["device"] == "cpu":
            opts.pop("device")
        if opts["precision"] == "float32":
            opts.pop("precision")
        return opts


@dataclasses.dataclass
class _State:
    """Propagated state: ``Z`` is ``(R, N)``, the first ``B`` rows the signal.

    Fully connected: one row per input (``B`` = batch). Convolutional (``spatial = (H, W)``):
    one row per position of each NHWC map, ``B = maps * H * W`` signal rows followed by as
    many tangent rows (`simulate.conv` layout), so every per-unit kernel pools inputs and
    positions, as moments-dnns does.
    """

    Z: np.ndarray
    B: int
    tangent: bool
    log_scale: float = 0.0
    spatial: tuple[int, int] | None = None
    maps: int = 0
    _gram: np.ndarray | None = None
    _gram_upper: np.ndarray | None = None

    @property
    def R(self) -> int:
        return self.Z.shape[-2]

    @property
    def N(self) -> int:
        return self.Z.shape[-1]

    def set(self, Z: np.ndarray) -> None:
        self.Z = Z
        self.modified()

    def modified(self) -> None:
        self._gram = None
        self._gram_upper = None

    def gram_upper(self) -> np.ndarray:
        """Gram matrix ``Z Z^T`` (``R x R``, float64) with only the upper triangle filled.

        Computed by one ``syrk`` in the storage precision. For float32 storage this is
        statistically safe: the rounding of each entry is an unbiased perturbation of relative
        size ~``1e-7 sqrt(N)``, which enters the next layer's output covariance
        ``s^2 (G + E)`` linearly; even for a nearly one-dimensional signal (centred variance
        1% of the total) that is a ~3e-5 relative perturbation per layer, far below the
        ``O(N^-1/2)`` fluctuations of the layer itself.
        """
        if self._gram_upper is None:
            self._gram_upper = gram_upper(self.Z)
        return self._gram_upper

    def gram(self) -> np.ndarray:
        """Symmetric float64 Gram matrix ``Z Z^T`` (``R x R``), cached until Z changes."""
        if self._gram is None:
            self._gram = symmetrised(self.gram_upper())
        return self._gram


def gram_upper(Z: np.ndarray) -> np.ndarray:
    """``Z Z^T`` of the rows of ``Z`` (``(R, K)``) as float64 ``R x R``, upper triangle only:
    one ``syrk`` in the storage precision of ``Z`` (see `_State.gram_upper`)."""
    syrk = blas.ssyrk if Z.dtype == np.float32 else blas.dsyrk
    return np.asarray(syrk(1.0, Z.T, trans=1, lower=0), dtype=np.float64)


def symmetrised(g_upper: np.ndarray) -> np.ndarray:
    """The symmetric matrix whose upper triangle is that of ``g_upper``."""
    return np.triu(g_upper) + np.triu(g_upper, 1).T


def psd_factor(gram: np.ndarray) -> np.ndarray:
    """A factor ``L`` (``R x k``) with ``L L^T = gram`` for a symmetric PSD ``gram``.

    Only the upper triangle of ``gram`` is read. Cholesky when positive definite (``k = R``,
    ``L`` lower triangular); otherwise an eigen-decomposition keeping the eigenvalues above
    ``R * eps * lambda_max`` (``k`` = numerical rank), so rank-deficient states draw only ``k``
    Gaussian directions. Whenever ``k = R`` the factor is lower triangular (the fast path relies
    on it): if Cholesky fails but every eigenvalue is kept, the eigen factor ``F`` is replaced by
    ``R^T`` from ``F^T = Q R``, which has the same ``L L^T``.
    """
    u, info = lapack.dpotrf(gram, lower=0, clean=1)
    if info == 0:
        return np.ascontiguousarray(u.T)
    sym = np.triu(gram) + np.triu(gram, 1).T
    w, v = np.linalg.eigh(sym)
    wmax = max(float(w[-1]), 0.0)
    keep = w > gram.shape[0] * np.finfo(np.float64).eps * wmax
    if not np.any(keep):
        return np.zeros((gram.shape[0], 1))
    factor = v[:, keep] * np.sqrt(w[keep])
    if factor.shape[1] == gram.shape[0]:
        factor = np.linalg.qr(factor.T, mode="r").T
    return np.ascontiguousarray(factor)


def choose_path(policy: str, rows: int, n_in: int, n_out: int) -> str:
    """Pick ``"dense"`` or ``"fast"`` for a dense layer from the cost model (or the policy)."""
    if policy != "auto":
        return policy
    k = min(rows, n_in)
    dense = n_in * n_out * _SECONDS_PER_DRAW + 2.0 * rows * n_in * n_out * _SECONDS_PER_FLOP
    fast = k * n_out * _SECONDS_PER_DRAW + (
        rows * rows * n_in + rows**3 / 3.0 + 2.0 * rows * k * n_out
    ) * _SECONDS_PER_FLOP
    return "fast" if fast < dense else "dense"


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------
def effective_rank_from_gram(gram: np.ndarray) -> float:
    """Effective rank ``tr S / lambda_max(S)`` of the covariance ``S`` of the rows.

    ``gram`` is the ``n x n`` Gram matrix ``T T^T`` of ``n`` row vectors (only its upper triangle
    is read); the rows are centred by their mean (``C gram C`` with ``C = I - 11^T/n``), whose
    nonzero eigenvalues are those of ``n S``. The trace is exact; ``lambda_max`` comes from
    LAPACK ``dsyevr`` restricted to the top eigenvalue. Returns ``nan`` for an all-zero (rank-0)
    input.
    """
    gram = np.asarray(gram, dtype=np.float64)
    return _effective_rank_of_block(gram, 0, gram.shape[0])


def _effective_rank_of_block(g: np.ndarray, start: int, n: int) -> float:
    """Effective rank of rows ``start .. start + n - 1`` from the upper triangle of their Gram.

    ``g`` is ``(R, R)`` float64; centring and symmetrising are fused in
    `kernels.centered_gram_block`; the ratio is clamped to >= 1.
    """
    if n == 1:
        return 1.0
    gc, trace = kernels.centered_gram_block(g, start, n)
    w = lapack.dsyevr(gc, compute_v=0, range="I", il=n, iu=n)[0]
    wmax = float(w[0])
    if not wmax > 0:
        return float("nan")
    # tr >= lambda_max exactly; when the rows' common mean dwarfs their spread, centring the
    # Gram loses digits and rounding could push the ratio a hair below 1: clamp that rounding.
    return max(trace / wmax, 1.0)


def effective_rank(T: np.ndarray) -> float:
    """Effective rank of the rows of ``T`` (``n x N``): eigenvalues of the smaller side.

    ``r_eff = tr S / lambda_max(S)``, ``S`` the covariance of the ``n`` rows centred by their
    mean vector; computed from the ``n x n`` centred Gram when ``n <= N`` and from the ``N x N``
    covariance otherwise (never an SVD of the large matrix). ``1 <= r_eff <= min(n - 1, N)``.
    """
    T = np.asarray(T, dtype=np.float64)
    n, N = T.shape
    Tc = T - T.mean(axis=0)  # centre the data first: no cancellation in the Gram
    if n <= N:
        return effective_rank_from_gram(Tc @ Tc.T)
    w = np.linalg.eigvalsh(Tc.T @ Tc)
    return float(np.clip(w, 0.0, None).sum() / w[-1]) if w[-1] > 0 else float("nan")


def _block_gram(state: _State, rows: slice) -> np.ndarray:
    """Symmetric diagonal block of the Gram matrix (only that block is symmetrised)."""
    if state._gram is not None:
        return state._gram[rows, rows]
    blk = state.gram_upper()[rows, rows]
    return np.triu(blk) + np.triu(blk, 1).T


def _reff(state: _State, rows: slice, threads: int = 1) -> float:
    n = rows.stop - rows.start
    if state.spatial is not None:
        return conv.channel_effective_rank(state.Z, rows.start, rows.stop, threads)
    if n > state.N:
        return effective_rank(state.Z[rows])
    return _effective_rank_of_block(state.gram_upper(), rows.start, n)


def _sample_geometry(gram_s: np.ndarray, N: int) -> dict[str, float]:
    """Batch geometry of the signal rows from their Gram ``G_ab = z_a . z_b``.

    mean_cosine: mean over pairs ``a != b`` of ``cos(z_a, z_b)``; gamma: mean over pairs of
    ``z_a . z_b / N`` (Yang–Schoenholz ``gamma``/``lambda``); norm_dispersion:
    ``Var_a |z_a| / E_a |z_a|^2`` (radial part of the sample variance, Luther–Seung S5/S6).
    """
    B = gram_s.shape[0]
    d = np.diag(gram_s).copy()
    norms = np.sqrt(np.clip(d, 0.0, None))
    if B < 2:
        return {"mean_cosine": float("nan"), "gamma": float("nan"), "norm_dispersion": 0.0}
    off = ~np.eye(B, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = gram_s / np.outer(norms, norms)
    return {
        "mean_cosine": float(np.mean(cos[off])),
        "gamma": float(np.mean(gram_s[off]) / N),
        "norm_dispersion": float(np.var(norms) / np.mean(d)) if np.mean(d) > 0 else float("nan"),
    }


#: Most patches a conv ``spectra`` record may pool (its cost is an eigendecomposition of the
#: (B n^2) x (B n^2) patch Gram matrix).
MAX_SPECTRA_PATCHES = 4096


def _spectra(state: _State, patch: Conv | None = None) -> dict[str, np.ndarray]:
    """Signal covariance eigenvalues and normalised noise energy along their eigenvectors.

    With ``C`` the signal covariance over the batch and ``D = E_a dx_a dx_a^T`` the noise
    second-moment matrix, returns ``cov_eigvals`` (``lambda_i`` of ``C``, descending, length B)
    and ``noise_proj`` (``u_i^T D u_i / tr D`` for the matching unit eigenvectors ``u_i``):
    the inputs of the L7 integral for ``delta_BN chi``. Null directions carry the remaining
    noise energy ``1 - sum(noise_proj)``.

    Convolutional state (``patch``: the Conv layer that follows this measurement): ``C`` and
    ``D`` are the ``K x K`` (``K = k^2 N``) covariance and second moment of the ``M = B n^2``
    patches that layer sees (its boundary and stride), THEORY.md L7 (a); both come from the
    ``2M x 2M`` Gram matrix of the signal and tangent patches, so the record has length ``M``
    (at most `MAX_SPECTRA_PATCHES`).
    """
    if patch is None:
        B, N = state.B, state.N
        if B > N:
            raise ConfigError("families='spectra' needs batch_size <= width")
        g = state.gram()
    else:
        assert state.spatial is not None
        H, W = state.spatial
        Ho, Wo = patch.out_size(H, "feature map"), patch.out_size(W, "feature map")
        B = state.maps * Ho * Wo
        if B > MAX_SPECTRA_PATCHES:
            raise ConfigError(
                f"families='spectra' at conv needs batch_size x H x W <= {MAX_SPECTRA_PATCHES} "
                f"patches (got {state.maps} x {Ho} x {Wo} = {B})")
        # signal maps, then tangent maps: patch rows 0..B-1 signal, B..2B-1 tangent
        maps = state.Z.reshape(state.R // (H * W), H, W, state.N)
        P = conv.patches(maps, patch.kernel_size, patch.stride, patch.boundary)
        g = symmetrised(gram_upper(P))
    gs = g[:B, :B]
    rm = gs.mean(axis=0)
    gc = gs - rm[None, :] - rm[:, None] + rm.mean()
    w, v = np.linalg.eigh(gc)
    w, v = w[::-1], v[:, ::-1]
    cross = g[:B, B:] - g[:B, B:].mean(axis=0, keepdims=True)  # (x_a - xbar) . dx_b
    proj = (v.T @ cross) ** 2  # (B eigvecs, B noise vectors): (sqrt(w_i) u_i . dx_b)^2
    with np.errstate(invalid="ignore", divide="ignore"):
        proj = np.where(w[:, None] > w[0] * 1e-12, proj / w[:, None], 0.0)
    trace_d = float(np.trace(g[B:, B:]))
    return {"cov_eigvals": np.clip(w, 0.0, None) / B,
            "noise_proj": proj.sum(axis=1) / trace_d if trace_d > 0 else proj.sum(axis=1)}


class _Recorder:
    """Collects per-block measurements into arrays of length ``num_computations``.

    item_shape: the shape of one measurement (``(S,)`` for a stack of S simulations, where a
    scalar is broadcast over the stack); ``None``: the shape of the first value put."""

    def __init__(self, n: int, item_shape: tuple[int, ...] | None = None) -> None:
        self.n = n
        self.item_shape = item_shape
        self.values: dict[str, np.ndarray] = {}

    def put(self, key: str, j: int, value: float | np.ndarray) -> None:
        arr = self.values.get(key)
        if arr is None:
            item = np.shape(value) if self.item_shape is None else self.item_shape
            arr = np.full((self.n,) + tuple(item), np.nan)
            self.values[key] = arr
        arr[j] = value


# --------------------------------------------------------------------------------------------
# Forward propagation
# --------------------------------------------------------------------------------------------
class _Tape:
    """Forward records needed by the backward pass (dense path only)."""

    def __init__(self) -> None:
        self.ops: list[tuple[Any, ...]] = []


def _rescale_tangent(state: _State, where: str) -> None:
    """Check finiteness; rescale the tangent rows to unit mean square, updating log_scale."""
    s, t = kernels.row_block_sumsq(state.Z, state.B)
    if not math.isfinite(s):
        raise SimulationError(f"non-finite signal {where} (overflow: use dtype='float64' or a "
                              "shallower network)")
    if not state.tangent:
        return
    if not math.isfinite(t):
        raise SimulationError(f"non-finite tangent {where}")
    mu2 = t / (state.B * state.N)
    if mu2 > 0:
        state.Z[state.B:] *= state.Z.dtype.type(1.0 / math.sqrt(mu2))
        state.log_scale += 0.5 * math.log(mu2)
        state.modified()
    else:
        state.log_scale = -math.inf


#: environment variable: ``0`` turns off the background prefetch of `GaussianPool` (pool and
#: Dask worker processes set it: one core each)
ENV_RNG_PREFETCH = "DNN_MOMENTS_RNG_PREFETCH"


class GaussianPool:
    """Gaussian draws served from chunks of one stream, to amortise parallel-kernel start-up.

    Each refill is one call of the stream of ``chunk`` normals; ``take(n)`` returns the next
    ``n`` of them. A request larger than what is left discards the remainder and refills; one
    larger than a quarter chunk is drawn directly. Consumption depends only on the sequence of
    requests, so results stay identical for any thread count.

    Prefetch (``prefetch=True``, the default unless ``DNN_MOMENTS_RNG_PREFETCH=0``): once a
    quarter of the current chunk is used, a background thread draws the *next* chunk (the
    stream's next call index, with the serial kernel, which releases the GIL) while the caller
    multiplies matrices on the other core. At the next refill the prefetched chunk is used only
    if the stream is still at that call index (no direct draw happened in between); otherwise
    it is discarded and the chunk is drawn in place. The stream is counter-based, so the draws
    are bit-identical with and without prefetch.

    Views returned by `take` are valid until the next `take` (as without prefetch).
    """

    def __init__(self, stream: GaussianStream, dtype: type, chunk: int = 1 << 20,
                 prefetch: bool | None = None) -> None:
        self.stream = stream
        self.buf = np.empty(chunk, dtype=dtype)
        self.pos = chunk
        if prefetch is None:
            prefetch = os.environ.get(ENV_RNG_PREFETCH, "1") != "0"
        self._spare = np.empty(chunk, dtype=dtype) if prefetch else None
        self._ahead: tuple[tuple[int, ...], threading.Thread, list[BaseException]] | None = None
        self.prefetch_hits = 0

    def _start_prefetch(self) -> None:
        state = self.stream.get_state()
        ahead = copy.copy(self.stream)
        spare = self._spare
        errors: list[BaseException] = []

        def work() -> None:
            try:
                ahead.fill(spare, parallel=False)
            except BaseException as exc:  # noqa: BLE001 - reported by falling back in _refill
                errors.append(exc)

        thread = threading.Thread(target=work, name="dnn-moments-rng-prefetch", daemon=True)
        thread.start()
        self._ahead = (state, thread, errors)

    def _refill(self) -> None:
        if self._ahead is not None:
            state, thread, errors = self._ahead
            self._ahead = None
            thread.join()
            if not errors and self.stream.get_state() == state:
                self.stream.skip(1)
                self.buf, self._spare = self._spare, self.buf
                self.pos = 0
                self.prefetch_hits += 1
                return
        self.stream.fill(self.buf)
        self.pos = 0

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        """Next ``prod(shape)`` standard normals as a C-contiguous array of ``shape``."""
        n = math.prod(shape)
        if n > self.buf.size // 4:
            return self.stream.standard_normal(shape, dtype=self.buf.dtype)
        if n > self.buf.size - self.pos:
            self._refill()
        out = self.buf[self.pos: self.pos + n].reshape(shape)
        self.pos += n
        if (self._spare is not None and self._ahead is None
                and self.pos > self.buf.size // 4):
            self._start_prefetch()
        return out

    def close(self) -> None:
        """Wait for a prefetch still running (its draws are simply not used)."""
        if self._ahead is not None:
            self._ahead[1].join()
            self._ahead = None


class Propagator:
    """Runs one simulation of a `Network` (see module docstring)."""

    def __init__(self, net: Network, opts: EngineOptions) -> None:
        self.net = net
        self.opts = opts
        self.dtype = DTYPES[opts.dtype]
        if opts.backward:
            for layer in walk(net.block):
                if isinstance(layer, BatchNorm):
                    raise ConfigError(
                        "backward=True is not supported for networks with BatchNorm "
                        "(gradients through batch statistics are not implemented)"
                    )
        if net.is_convolutional:
            if opts.backward:
                raise ConfigError("backward=True is not supported for convolutional networks "
                                  "(gradients are implemented for dense layers only)")
            extra = [f for f in opts.families if f not in ("moments", "spectra")]
            if extra:
                raise ConfigError(
                    f"families={tuple(opts.families)!r} is not allowed for convolutional "
                    "networks; 'moments' and 'spectra' are measured at conv"
                )
        self.threads = opts.threads or conv.default_threads()
        self.path_counts = {"dense": 0, "fast": 0}
        # work done by dense layers, accumulated over runs: Gaussian draws and BLAS flops
        # (fast path: syrk R^2 N_in + potrf R^3/3 + product 2 R k N_out; dense: 2 R N_in N_out)
        self.work = {"normal_draws": 0, "flops": 0}

    # -- public ---------------------------------------------------------------------------
    def run(
        self,
        x: np.ndarray,
        dx: np.ndarray | None,
        weights: GaussianStream,
        cotangent: GaussianStream | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        """Propagate inputs ``x`` and tangent ``dx`` (same shape) through the network.

        ``x`` is ``(B, D)`` for a fully-connected network and ``(B, H, W, C)`` (NHWC images)
        for a convolutional one.

        Returns ``(per_block, scalars)``: ``per_block[key]`` has length ``num_computations``
        (one entry per measured block), ``scalars`` holds per-simulation numbers
        (e.g. ``log_grad_sq_input`` in backward mode). BLAS runs single-threaded inside
        (see `simulate.threads`).
        """
        with single_threaded_blas():
            self._pool = GaussianPool(weights, self.dtype)
            try:
                return self._run(x, dx, weights, cotangent)
            finally:
                self._pool.close()  # no prefetch thread outlives the run

    def _run(
        self,
        x: np.ndarray,
        dx: np.ndarray | None,
        weights: GaussianStream,
        cotangent: GaussianStream | None,
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        opts = self.opts
        batch = x.shape[0]
        tangent = opts.tangent and dx is not None
        spatial = self._input_layout(x)
        B = batch if spatial is None else batch * spatial[0] * spatial[1]
        Z = np.empty((2 * B if tangent else B, x.shape[-1]), dtype=self.dtype)
        Z[:B] = x.reshape(B, -1)
        if tangent:
            Z[B:] = dx.reshape(B, -1)
        state = _State(Z, B, tangent, spatial=spatial, maps=batch)
        rec = _Recorder(len(self.net.measured_blocks))
        tape = _Tape() if opts.backward else None
        scalars: dict[str, Any] = {}
        self._propagate(state, weights, tape, rec, scalars)
        if tape is not None:
            self._backward(state, tape, cotangent, weights, rec, scalars)
        self.last_state = state
        return rec.values, scalars

    def _input_layout(self, x: np.ndarray) -> tuple[int, int] | None:
        """Check one simulation's inputs ``x`` against the network; its map size ``(H, W)``
        (``None`` for a fully-connected network)."""
        net = self.net
        batch = x.shape[0]
        if net.uses_batchnorm and batch < 2:
            raise ConfigError(
                f"batch_size={batch} is not allowed with batch norm; it must be >= 2")
        if net.is_convolutional:
            if x.ndim != 4:
                raise ConfigError(
                    f"inputs of shape {x.shape[1:]} are not allowed for a convolutional network; "
                    "it needs images (H, W, C): use a kernel_size > 1 input source"
                )
            spatial: tuple[int, int] | None = (x.shape[1], x.shape[2])
        elif x.ndim != 2:
            raise ConfigError(
                f"inputs of shape {x.shape[1:]} are not allowed for a fully-connected network; "
                "it needs flat vectors (D,): use kernel_size=1"
            )
        else:
            spatial = None
        return spatial

    def _propagate(self, state: _State, weights: Any, tape: _Tape | None, rec: _Recorder,
                   scalars: dict[str, Any]) -> None:
        """The network's schedule, shared by every engine: input moments, stem, then each
        block (its layers and measurements) followed by the tangent rescaling. The array work
        is in the layer hooks (`_dense`, `_conv`, `_activation`, `_batchnorm`, `_merge`,
        `_measure` and its moment/rank hooks, `_rescale_tangent`), which a stacked engine
        (`simulate.stacked`) overrides; ``weights`` is whatever its hooks draw from."""
        net = self.net
        mom0 = self._state_moments(state)
        scalars["mu2_signal_input"] = mom0[kernels.MU2]
        if state.tangent:
            scalars["log_mu2_noise_input"] = self._log(mom0[kernels.NU2_TANGENT])
        if isinstance(net.stem, Conv):
            self._conv(state, net.stem, weights)
            self._rescale_tangent(state, "after the stem")
        elif net.stem is not None:
            self._dense(state, net.stem, 1, weights, tape, None, rec)
            self._rescale_tangent(state, "after the stem")
        for l in range(1, net.depth + 1):
            j = l // net.measure_every - 1 if l % net.measure_every == 0 else None
            self._layers(state, net.block, l, j, weights, tape, rec)
            self._rescale_tangent(state, f"at block l={l} of network '{net.name}'")
            if tape is not None:
                tape.ops.append(("block_end",))

    # -- array hooks of the CPU engine (a stacked engine overrides them) -------------------
    def _state_moments(self, state: _State) -> np.ndarray:
        """The `kernels.state_moments` vector of the state (floats; indices in `kernels`)."""
        return kernels.state_moments(state.Z, state.B, state.tangent)

    @staticmethod
    def _log(value: float) -> float:
        """``log(value)``, ``-inf`` for ``value <= 0``."""
        return math.log(value) if value > 0 else -math.inf

    def _effective_rank(self, state: _State, rows: slice) -> float:
        return _reff(state, rows, self.threads)

    def _batchnorm(self, state: _State, layer: BatchNorm) -> None:
        kernels.batchnorm_inplace(state.Z, state.B, layer.epsilon, state.tangent)
        state.modified()

    def _rescale_tangent(self, state: _State, where: str) -> None:
        _rescale_tangent(state, where)

    def _merge(self, state: _State, skip: np.ndarray, skip_log: Any) -> None:
        _merge(state, skip, skip_log)

    def _measure(self, state: _State, m: Measure, j: int, rec: _Recorder,
                 patch: Conv | None = None) -> None:
        """Record the measurements of ``m`` at block index ``j`` (moments-dnns keys)."""
        opts = self.opts
        B = state.B
        mom = self._state_moments(state)
        loc = m.loc
        rec.put(f"nu1_abs_signal_{loc}", j, mom[kernels.NU1_ABS])
        rec.put(f"nu2_signal_{loc}", j, mom[kernels.NU2])
        rec.put(f"mu2_signal_{loc}", j, mom[kernels.MU2])
        rec.put(f"mu4_signal_{loc}", j, mom[kernels.MU4])
        rec.put(f"sq_mean_signal_{loc}", j, mom[kernels.SQ_MEAN])
        rec.put(f"nu1_abs_sq_signal_{loc}", j, mom[kernels.NU1_ABS_SQ])
        if state.tangent:
            rec.put(f"log_mu2_noise_{loc}", j,
                    self._log(mom[kernels.NU2_TANGENT]) + 2.0 * state.log_scale)
        if opts.compute_reff_signal:
            rec.put(f"reff_signal_{loc}", j,
                    self._effective_rank(state, slice(0, B)) if m.reff else -1.0)
        if state.tangent and opts.compute_reff_noise:
            rec.put(f"reff_noise_{loc}", j,
                    self._effective_rank(state, slice(B, 2 * B)) if m.reff else -1.0)
        if "sample_stats" in opts.families:
            geo = _sample_geometry(_block_gram(state, slice(0, B)), state.N)
            for k, v in geo.items():
                rec.put(f"{k}_signal_{loc}", j, v)
        if "spectra" in opts.families and state.tangent and (state.spatial is None
                                                             or patch is not None):
            for k, v in _spectra(state, patch).items():
                rec.put(f"{k}_{loc}", j, v)

    def forward(
        self, x: np.ndarray, dx: np.ndarray | None, weights: GaussianStream
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Network output ``f(x)`` and its tangent ``J_f(x) dx`` (true scale).

        Runs `run` (same draws) and returns the final state in float64: ``(B, N_out)`` for a
        fully-connected network, ``(B, H, W, C)`` maps for a convolutional one; the tangent
        is ``None`` when ``dx`` is None or the options disable it.
        """
        self.run(x, dx, weights)
        st = self.last_state
        shape = (st.B, st.N) if st.spatial is None else (st.maps, *st.spatial, st.N)
        out = np.array(st.Z[: st.B], dtype=np.float64).reshape(shape)
        if not st.tangent:
            return out, None
        tan = np.array(st.Z[st.B:], dtype=np.float64).reshape(shape) * math.exp(st.log_scale)
        return out, tan

    # -- layers ---------------------------------------------------------------------------
    def _layers(
        self,
        state: _State,
        layers: Iterable[Layer],
        l: int,
        j: int | None,
        weights: GaussianStream,
        tape: _Tape | None,
        rec: _Recorder,
    ) -> None:
        layers = tuple(layers)
        for i, layer in enumerate(layers):
            if isinstance(layer, Measure):
                if j is not None:
                    # conv spectra are taken where a Conv follows (its patches: L7's C, D)
                    nxt = layers[i + 1] if i + 1 < len(layers) else None
                    self._measure(state, layer, j, rec,
                                  nxt if isinstance(nxt, Conv) else None)
                    if tape is not None:
                        tape.ops.append(("measure", layer.loc, j))
            elif isinstance(layer, Dense):
                self._dense(state, layer, l, weights, tape, j, rec)
            elif isinstance(layer, Conv):
                self._conv(state, layer, weights)
            elif isinstance(layer, Activation):
                self._activation(state, layer, tape)
            elif isinstance(layer, BatchNorm):
                self._batchnorm(state, layer)
            elif isinstance(layer, Residual):
                skip = state.Z.copy()
                skip_log = state.log_scale
                if tape is not None:
                    tape.ops.append(("res_start",))
                self._layers(state, layer.branch, l, j, weights, tape, rec)
                if state.Z.shape != skip.shape:
                    raise ConfigError(
                        f"a residual branch must keep the width: input {skip.shape[1]}, "
                        f"output {state.Z.shape[1]}"
                    )
                self._merge(state, skip, skip_log)
                if tape is not None:
                    tape.ops.append(("res_merge",))
            else:  # pragma: no cover - guarded by spec validation
                raise ConfigError(f"unsupported layer {layer!r}")

    def _dense(
        self,
        state: _State,
        layer: Dense,
        l: int,
        weights: GaussianStream,
        tape: _Tape | None,
        j: int | None,
        rec: _Recorder,
    ) -> None:
        n_in = state.N
        n_out = layer.out_width(l, n_in)
        scale = math.sqrt(layer.weight_var_at(l) / n_in)
        if tape is not None or state.spatial is not None:
            path = "dense"  # backward needs the weights; on maps a dense layer is a 1x1 conv
        else:
            path = choose_path(self.opts.path, state.R, n_in, n_out)
        self.path_counts[path] += 1
        if path == "fast":
            R = state.R
            factor = psd_factor(state.gram_upper())
            k = factor.shape[1]
            g = self._pool.take((k, n_out))
            f = (factor * scale).astype(self.dtype)
            B = state.B
            if k == R and R == 2 * B:
                # Cholesky factor: lower triangular, so the signal rows only see the first B
                # Gaussian rows (3/4 of the flops of a dense product)
                out = np.empty((R, n_out), dtype=self.dtype)
                np.matmul(f[:B, :B], g[:B], out=out[:B])
                np.matmul(f[B:], g, out=out[B:])
            else:
                out = f @ g
            self.work["normal_draws"] += k * n_out
            self.work["flops"] += R * R * n_in + R**3 // 3 + 2 * R * k * n_out
        else:
            ticket = weights.get_state()
            wt = weights.standard_normal((n_in, n_out), dtype=self.dtype, scale=scale)
            if tape is not None:
                tape.ops.append(("dense", layer, l, j, ticket, n_in, n_out, scale,
                                 state.Z[: state.B].copy()))
            with np.errstate(over="ignore", invalid="ignore"):  # non-finite: caught per block
                out = state.Z @ wt
            self.work["normal_draws"] += n_in * n_out
            self.work["flops"] += 2 * state.R * n_in * n_out
        sb2 = layer.bias_var_at(l)
        if sb2 > 0:
            out[: state.B] += self._pool.take((n_out,)) * self.dtype(math.sqrt(sb2))
        state.set(np.ascontiguousarray(out))

    def _conv(self, state: _State, layer: Conv, weights: GaussianStream) -> None:
        """``k x k`` convolution of the signal and tangent maps in one product.

        Kernel ``K[di, dj, c, o] ~ N(0, weight_var / (k^2 C_in))``, drawn as one
        ``(k^2 C_in, C_out)`` matrix (rows in ``(di, dj, c)`` order) from the weight stream.
        """
        if state.spatial is None:  # pragma: no cover - guarded in _run
            raise ConfigError("a Conv layer needs image inputs (H, W, C)")
        H, W = state.spatial
        for n in (H, W):
            layer.out_size(n, "feature map")
        c_in = state.N
        c_out = layer.out_channels(c_in)
        kk = layer.kernel_size ** 2
        scale = math.sqrt(layer.weight_var / (kk * c_in))
        wt = weights.standard_normal((kk * c_in, c_out), dtype=self.dtype, scale=scale)
        maps = state.R // (H * W)
        out = conv.conv2d_rows(state.Z, maps, (H, W), wt, layer.stride, layer.boundary,
                               self.threads)
        Ho, Wo = H // layer.stride, W // layer.stride
        self.work["normal_draws"] += kk * c_in * c_out
        self.work["flops"] += 2 * out.shape[0] * kk * c_in * c_out
        state.spatial = (Ho, Wo)
        state.B = state.maps * Ho * Wo
        state.set(out)

    def _activation(self, state: _State, layer: Activation, tape: _Tape | None) -> None:
        act = get_activation(layer.name)
        B = state.B
        if tape is not None:
            tape.ops.append(("act", act.derivative(state.Z[:B]).astype(self.dtype)))
        if act.kernel_id >= 0:
            kernels.activation_inplace(state.Z, B, act.kernel_id, state.tangent)
        else:
            z = state.Z[:B]
            d = act.derivative(z)
            state.Z[:B] = act.fn(z)
            if state.tangent:
                state.Z[B:] *= d
        state.modified()

    # -- backward -------------------------------------------------------------------------
    def _backward(
        self,
        state: _State,
        tape: _Tape,
        cotangent: GaussianStream | None,
        weights: GaussianStream,
        rec: _Recorder,
        scalars: dict[str, float],
    ) -> None:
        """Propagate a cotangent ``g^L ~ N(0, I)`` (one per input) back to the input.

        Records ``log_grad_sq_<loc>`` = log of ``E_a |g_a|^2 / N`` at measured points and, for
        named dense layers, per-entry gradient second moments (per example, averaged over the
        batch): ``log_chi_w_<name> = log E_a[mean_i g_ai^2 * mean_j x_aj^2]`` and
        ``log_chi_b_<name> = log E_a mean_i g_ai^2`` with ``g`` the gradient at the layer output.
        """
        if cotangent is None:
            raise ConfigError("backward=True needs a cotangent stream")
        B = state.B
        g = cotangent.standard_normal((B, state.N), dtype=np.float64)
        g_out = g.copy()
        log_g = 0.0
        stack: list[tuple[np.ndarray, float]] = []
        for op in reversed(tape.ops):
            kind = op[0]
            if kind == "block_end":
                ms = float(np.mean(g * g))
                if not math.isfinite(ms):
                    raise SimulationError("non-finite cotangent in the backward pass")
                if ms > 0:
                    g /= math.sqrt(ms)
                    log_g += 0.5 * math.log(ms)
            elif kind == "measure":
                _, loc, j = op
                rec.put(f"log_grad_sq_{loc}", j, _log_mean_sq(g) + 2 * log_g)
            elif kind == "act":
                g = g * op[1]
            elif kind == "res_merge":  # reversed order: the merge comes first
                stack.append((g.copy(), log_g))
            elif kind == "res_start":
                skip_g, skip_log = stack.pop()
                if skip_log != log_g:  # pragma: no cover - rescaling happens at block ends only
                    raise AssertionError("inconsistent cotangent scales")
                g = g + skip_g
            elif kind == "dense":
                _, layer, l, j, ticket, n_in, n_out, scale, x_in = op
                if layer.name is not None and j is not None:
                    gy2 = np.mean(g * g, axis=1)  # per example mean_i g_ai^2
                    x2 = np.mean(np.asarray(x_in, np.float64) ** 2, axis=1)
                    rec.put(f"log_chi_b_{layer.name}", j, math.log(np.mean(gy2)) + 2 * log_g)
                    rec.put(f"log_chi_w_{layer.name}", j,
                            math.log(np.mean(gy2 * x2)) + 2 * log_g)
                saved = weights.get_state()
                weights.set_state(ticket)
                # same dtype as the forward draw, so the replay gives the same weights
                wt = weights.standard_normal((n_in, n_out), dtype=self.dtype, scale=scale)
                weights.set_state(saved)
                g = g @ np.asarray(wt, dtype=np.float64).T
        scalars["log_grad_sq_input"] = _log_mean_sq(g) + 2 * log_g
        self.last_cotangents = (g_out, g * math.exp(log_g))


def _log_mean_sq(g: np.ndarray) -> float:
    ms = float(np.mean(g * g))
    return math.log(ms) if ms > 0 else -math.inf


def _merge(state: _State, skip: np.ndarray, skip_log: float) -> None:
    """``x <- x_skip + F(x)``; tangents combined at their common log-scale."""
    B = state.B
    Z = state.Z
    Z[:B] += skip[:B]
    if state.tangent:
        a, b = state.log_scale, skip_log
        top = max(a, b)
        if top == -math.inf:
            return
        fa = math.exp(a - top) if a > -math.inf else 0.0
        fb = math.exp(b - top) if b > -math.inf else 0.0
        Z[B:] *= Z.dtype.type(fa)
        Z[B:] += Z.dtype.type(fb) * skip[B:]
        state.log_scale = top
    state.modified()
