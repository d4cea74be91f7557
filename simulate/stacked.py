"""The stacked engine: ``S`` simulations of one network propagated together, on any array backend.

It is the CPU engine's `Propagator` with a leading *stack* axis: the same schedule
(`Propagator._propagate`: stem, blocks, measurements, tangent rescaling, residual merges) and the
same record keys, with the array hooks re-implemented once against a numpy-compatible module
``xp`` (`simulate.backend`: numpy on the CPU, CuPy on a GPU). The state is ``Z`` of shape
``(S, R, N)`` -- simulation ``s`` holds exactly the CPU engine's ``(R, N)`` state (signal rows
then tangent rows; NHWC positions as rows at conv) -- and the per-simulation scalars (tangent
log-scale, moments, effective ranks) are host arrays of length ``S``. On a GPU this turns a
launch-bound fully-connected layer into one batched product ``(S, R, N) x (S, N, N')``.

Layers (each the CPU engine's map, simulation by simulation):

* Dense: ``Z_s <- Z_s W_s``, ``W_s`` i.i.d. ``N(0, sigma_w^2 / N_in)`` from simulation ``s``'s
  stream; the dense path only (no Gram-factor shortcut).
* Conv: ``y = sum_{di,dj} P_{di,dj}(x) K_{di,dj}``, the boundary-extended map read at the
  source indices of `simulate.conv.source_index` (shared with the CPU engine), ``k^2`` batched
  products accumulated in the storage precision.
* BatchNorm: per channel over the signal rows, float64 statistics, tangent divided by the same
  frozen ``sqrt(s^2 + eps)``.
* Activations: phi on the signal rows, tangent times phi'(z).
* Measurements: the `simulate.kernels.state_moments` vector in float64 per simulation; the
  effective rank ``tr S / lambda_max(S)`` from the centred Gram of the smaller side (rows or
  channels), eigenvalues in float64.

Inputs are drawn on the host exactly as the CPU engine draws them (same data stream per
simulation, so both engines see the same images); weights come from per-simulation device
streams (`ArrayBackend.normal_stream`), so a simulation's arrays do not depend on the stack
size. What the CPU engine does that this one does not (backward mode, ``sample_stats`` and
``spectra``, the fast dense path) raises at construction (`EngineOptions`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from simulate import conv
from simulate.activations import (
    KERNEL_ABS,
    KERNEL_IDENTITY,
    KERNEL_RELU,
    KERNEL_TANH,
    get_activation,
)
from simulate.backend import ArrayBackend, get_backend
from simulate.engine import EngineOptions, Propagator, _Recorder, _State
from simulate.errors import ConfigError, SimulationError
from simulate.spec import Activation, BatchNorm, Conv, Dense, Network, walk

#: Bytes of device memory one stack's state may take, by backend (the working set is a small
#: multiple of it: products, patches, float64 moment temporaries, draw buffers).
STACK_BYTES = {"numpy": 32 << 20, "cuda": 1 << 30}
#: Most simulations in one stack.
MAX_STACK = 64


class _StackDraws:
    """Gaussian draws of a stack: one stream per simulation, each served from refills of
    ``draw_chunk`` normals (`simulate.backend`); `take(shape)` returns ``(S, *shape)``."""

    def __init__(self, backend: ArrayBackend, streams: Sequence[Any], dtype: type) -> None:
        self.backend = backend
        self.streams = list(streams)
        self.dtype = dtype
        self.chunk = backend.draw_chunk
        self.bufs: list[Any] = [None] * len(self.streams)
        self.pos = [self.chunk] * len(self.streams)

    def take(self, shape: tuple[int, ...]) -> Any:
        n = math.prod(shape)
        parts = []
        for s, stream in enumerate(self.streams):
            if n > self.chunk:
                parts.append(stream.standard_normal(n, dtype=self.dtype))
                continue
            if n > self.chunk - self.pos[s]:
                self.bufs[s] = stream.standard_normal(self.chunk, dtype=self.dtype)
                self.pos[s] = 0
            parts.append(self.bufs[s][self.pos[s]: self.pos[s] + n])
            self.pos[s] += n
        return self.backend.xp.stack(parts).reshape((len(parts),) + tuple(shape))


def _top_eigenvalue(xp: Any, G: Any) -> Any:
    """Largest eigenvalue of each symmetric matrix of the stack ``G`` (``(S, k, k)``)."""
    try:
        return xp.linalg.eigvalsh(G)[:, -1]
    except (TypeError, ValueError, NotImplementedError, np.linalg.LinAlgError):
        # a backend (version) without batched eigh: one matrix at a time
        return xp.stack([xp.linalg.eigvalsh(g)[-1] for g in G])


class StackedPropagator(Propagator):
    """Runs stacks of simulations of a `Network` on an array backend (module docstring)."""

    def __init__(self, net: Network, opts: EngineOptions) -> None:
        super().__init__(net, opts)
        if opts.device == "cpu":  # EngineOptions has refused what the stacked engine cannot do
            raise ConfigError("device='cpu' runs the CPU engine (Propagator); the stacked "
                              "engine needs device='numpy' or 'cuda'")
        self.backend: ArrayBackend = get_backend(opts.device, opts.precision)
        self.xp = self.backend.xp
        self._indices: list[int] = []

    # -- public ---------------------------------------------------------------------------
    def stack_size(self, batch_size: int, input_shape: Sequence[int]) -> int:
        """Simulations per stack: as many as fit `STACK_BYTES` (state and draw buffers), at
        most `MAX_STACK`. Any size gives the same arrays; it only trades memory for speed."""
        net = self.net
        spatial = (int(input_shape[0]) * int(input_shape[1])
                   if net.is_convolutional and len(input_shape) == 3 else 1)
        widths = [int(input_shape[-1])] + _layer_widths(net)
        rows = 2 * batch_size * spatial
        itemsize = np.dtype(self.dtype).itemsize
        per_sim = rows * max(widths) * itemsize + self.backend.draw_chunk * itemsize
        return int(max(1, min(MAX_STACK, STACK_BYTES[self.backend.name] // per_sim)))

    def run_stack(self, x: np.ndarray, dx: np.ndarray | None, seed: int,
                  indices: Sequence[int]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Propagate ``S = len(indices)`` simulations together.

        ``x`` (and ``dx``, same shape, or None) is ``(S, B, D)`` or ``(S, B, H, W, C)``: the
        inputs of each simulation; weights come from the streams of simulations ``indices``
        of a run with ``seed``. Returns ``(per_block, scalars)`` with ``per_block[key]`` of
        shape ``(S, num_computations)`` and ``scalars[key]`` of shape ``(S,)``, host float64.
        """
        xp, be = self.xp, self.backend
        S = len(indices)
        if x.shape[0] != S:
            raise ConfigError(f"x has {x.shape[0]} stacked simulations; indices has {S}")
        batch = x.shape[1]
        spatial = self._input_layout(x[0])
        tangent = self.opts.tangent and dx is not None
        B = batch if spatial is None else batch * spatial[0] * spatial[1]
        Z = xp.empty((S, 2 * B if tangent else B, x.shape[-1]), dtype=self.dtype)
        Z[:, :B] = be.asarray(x.reshape(S, B, -1), dtype=self.dtype)
        if tangent:
            Z[:, B:] = be.asarray(dx.reshape(S, B, -1), dtype=self.dtype)
        state = _State(Z, B, tangent, log_scale=np.zeros(S), spatial=spatial, maps=batch)
        self._indices = [int(i) for i in indices]
        draws = _StackDraws(be, [be.normal_stream(seed, i) for i in indices], self.dtype)
        rec = _Recorder(len(self.net.measured_blocks), item_shape=(S,))
        scalars: dict[str, Any] = {}
        self._propagate(state, draws, None, rec, scalars)
        self.last_state = state
        return ({k: np.ascontiguousarray(v.T) for k, v in rec.values.items()},
                {k: np.asarray(v, dtype=np.float64).reshape(S) for k, v in scalars.items()})

    def run(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - refuses
        raise ConfigError("the stacked engine runs stacks of simulations: use run_stack")

    # -- array hooks ------------------------------------------------------------------------
    def _state_moments(self, state: _State) -> np.ndarray:
        """``(7, S)`` float64 on the host: `simulate.kernels.state_moments` per simulation."""
        xp = self.xp
        B = state.B
        zs = state.Z[:, :B].astype(xp.float64)
        mean = zs.mean(axis=1)  # (S, N)
        nu1 = xp.abs(zs).mean(axis=1)
        d2 = zs - mean[:, None, :]
        d2 *= d2
        if state.tangent:
            zt = state.Z[:, B:].astype(xp.float64)
            t2 = (zt * zt).mean(axis=(1, 2))
        else:
            t2 = xp.zeros(zs.shape[0])
        mom = xp.stack([nu1.mean(axis=1), (zs * zs).mean(axis=(1, 2)), d2.mean(axis=(1, 2)),
                        (d2 * d2).mean(axis=(1, 2)), (mean * mean).mean(axis=1),
                        (nu1 * nu1).mean(axis=1), t2])
        return self.backend.to_host(mom)

    @staticmethod
    def _log(value: Any) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(value > 0, np.log(np.where(value > 0, value, 1.0)), -np.inf)

    def _effective_rank(self, state: _State, rows: slice) -> np.ndarray:
        """``tr S / lambda_max(S)`` per simulation of the rows' covariance (>= 1; nan if 0)."""
        xp = self.xp
        T = state.Z[:, rows].astype(xp.float64)
        n = T.shape[1]
        S = T.shape[0]
        if n < 2:
            return np.ones(S)
        T -= T.mean(axis=1, keepdims=True)
        Tt = xp.swapaxes(T, 1, 2)
        G = xp.matmul(T, Tt) if n <= T.shape[2] else xp.matmul(Tt, T)
        trace = self.backend.to_host((T * T).sum(axis=(1, 2)))
        wmax = self.backend.to_host(_top_eigenvalue(xp, G))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(wmax > 0, np.maximum(trace / wmax, 1.0), np.nan)

    def _batchnorm(self, state: _State, layer: BatchNorm) -> None:
        xp = self.xp
        B = state.B
        zs = state.Z[:, :B]
        mean = zs.mean(axis=1, keepdims=True, dtype=xp.float64)
        centred = zs - mean
        inv = 1.0 / xp.sqrt((centred * centred).mean(axis=1, keepdims=True) + layer.epsilon)
        state.Z[:, :B] = centred * inv
        if state.tangent:
            state.Z[:, B:] = state.Z[:, B:] * inv
        state.modified()

    def _activation(self, state: _State, layer: Activation, tape: Any) -> None:
        xp = self.xp
        act = get_activation(layer.name)
        B = state.B
        zs = state.Z[:, :B]
        tan = state.Z[:, B:] if state.tangent else None
        if act.kernel_id == KERNEL_IDENTITY:
            return
        if act.kernel_id == KERNEL_RELU:
            if tan is not None:
                tan *= zs > 0
            xp.maximum(zs, 0, out=zs)
        elif act.kernel_id == KERNEL_TANH:
            t = xp.tanh(zs)
            if tan is not None:
                tan *= 1 - t * t
            zs[...] = t
        elif act.kernel_id == KERNEL_ABS:
            if tan is not None:
                tan *= xp.sign(zs)
            xp.abs(zs, out=zs)
        else:  # a registered (phi, phi') pair of array functions
            d = act.derivative(zs)
            zs[...] = act.fn(zs)
            if tan is not None:
                tan *= d
        state.modified()

    def _rescale_tangent(self, state: _State, where: str) -> None:
        xp = self.xp
        B = state.B
        zs = state.Z[:, :B].astype(xp.float64)
        sums = [(zs * zs).sum(axis=(1, 2))]
        if state.tangent:
            zt = state.Z[:, B:].astype(xp.float64)
            sums.append((zt * zt).sum(axis=(1, 2)))
        host = self.backend.to_host(xp.stack(sums))
        self._check_finite(host[0], f"non-finite signal {where} (overflow: use "
                                    "dtype='float64' or a shallower network)")
        if not state.tangent:
            return
        self._check_finite(host[1], f"non-finite tangent {where}")
        mu2 = host[1] / (B * state.N)
        pos = mu2 > 0
        factor = np.where(pos, 1.0 / np.sqrt(np.where(pos, mu2, 1.0)), 1.0)
        state.Z[:, B:] *= self.backend.asarray(factor.astype(self.dtype))[:, None, None]
        state.log_scale = np.where(pos, state.log_scale + 0.5 * self._log(mu2), -np.inf)
        state.modified()

    def _check_finite(self, values: np.ndarray, message: str) -> None:
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            sims = ", ".join(str(self._indices[i]) for i in bad[:5])
            raise SimulationError(f"{message} in simulation {sims}"
                                  + (" and others" if bad.size > 5 else ""))

    def _merge(self, state: _State, skip: Any, skip_log: Any) -> None:
        """``x <- x_skip + F(x)``; tangents combined at their common log-scale."""
        B = state.B
        Z = state.Z
        Z[:, :B] += skip[:, :B]
        if state.tangent:
            a = np.asarray(state.log_scale, dtype=np.float64)
            b = np.asarray(skip_log, dtype=np.float64)
            top = np.maximum(a, b)
            live = top > -np.inf
            with np.errstate(invalid="ignore"):
                fa = np.where(live & (a > -np.inf), np.exp(a - np.where(live, top, 0.0)), 0.0)
                fb = np.where(live & (b > -np.inf), np.exp(b - np.where(live, top, 0.0)), 0.0)
            fa = np.where(live, fa, 1.0)  # both scales -inf: the branch's tangent stays
            dev = self.backend.asarray
            Z[:, B:] *= dev(fa.astype(self.dtype))[:, None, None]
            Z[:, B:] += dev(fb.astype(self.dtype))[:, None, None] * skip[:, B:]
            state.log_scale = np.where(live, top, a)
        state.modified()

    def _dense(self, state: _State, layer: Dense, l: int, weights: _StackDraws,
               tape: Any, j: int | None, rec: Any) -> None:
        xp = self.xp
        n_in = state.N
        n_out = layer.out_width(l, n_in)
        S = state.Z.shape[0]
        scale = self.dtype(math.sqrt(layer.weight_var_at(l) / n_in))
        w = weights.take((n_in, n_out))
        w *= scale
        out = xp.matmul(state.Z, w)
        sb2 = layer.bias_var_at(l)
        if sb2 > 0:
            out[:, : state.B] += weights.take((n_out,))[:, None, :] * self.dtype(math.sqrt(sb2))
        self.path_counts["dense"] += S
        self.work["normal_draws"] += S * n_in * n_out
        self.work["flops"] += 2 * S * state.R * n_in * n_out
        state.set(out)

    def _conv(self, state: _State, layer: Conv, weights: _StackDraws) -> None:
        """``k x k`` convolution of every map of the stack (see module docstring)."""
        xp = self.xp
        if state.spatial is None:  # pragma: no cover - guarded by _input_layout
            raise ConfigError("a Conv layer needs image inputs (H, W, C)")
        H, W = state.spatial
        Ho, Wo = layer.out_size(H, "feature map"), layer.out_size(W, "feature map")
        c_in = state.N
        c_out = layer.out_channels(c_in)
        k = layer.kernel_size
        S = state.Z.shape[0]
        M = state.R // (H * W)
        w = weights.take((k * k * c_in, c_out))
        w *= self.dtype(math.sqrt(layer.weight_var / (k * k * c_in)))
        si = conv.source_index(H, k, layer.stride, layer.boundary)
        sj = conv.source_index(W, k, layer.stride, layer.boundary)
        maps = state.Z.reshape(S, M, H, W, c_in)
        if (si < 0).any() or (sj < 0).any():  # zero padding: index H / W reads a zero
            maps = xp.pad(maps, ((0, 0), (0, 0), (0, 1), (0, 1), (0, 0)))
            si, sj = np.where(si < 0, H, si), np.where(sj < 0, W, sj)
        out = xp.zeros((S, M * Ho * Wo, c_out), dtype=self.dtype)
        for di in range(k):
            rows_i = self.backend.asarray(si[:, di][:, None])
            for dj in range(k):
                cols_j = self.backend.asarray(sj[:, dj][None, :])
                patch = maps[:, :, rows_i, cols_j, :].reshape(S, M * Ho * Wo, c_in)
                d = (di * k + dj) * c_in
                out += xp.matmul(patch, w[:, d: d + c_in, :])
        self.work["normal_draws"] += S * k * k * c_in * c_out
        self.work["flops"] += 2 * S * M * Ho * Wo * k * k * c_in * c_out
        state.spatial = (Ho, Wo)
        state.B = state.maps * Ho * Wo
        state.set(out)


def _layer_widths(net: Network) -> list[int]:
    """Every output width a layer of ``net`` names (an upper bound of the state's width)."""
    out: list[int] = []
    for layer in ([net.stem] if net.stem is not None else []) + list(walk(net.block)):
        if isinstance(layer, Dense) and layer.width is not None:
            out += list(layer.width) if isinstance(layer.width, tuple) else [layer.width]
        elif isinstance(layer, Conv) and layer.channels is not None:
            out.append(layer.channels)
    return out


def simulate_range_stacked(net: Network, inputs: Any, batch_size: int, seed: int,
                           options: EngineOptions, start: int, stop: int,
                           on_done: Callable[[int], object] | None = None,
                           prop: StackedPropagator | None = None,
                           stack: int | None = None) -> Any:
    """Simulations ``start .. stop - 1`` on the stacked engine, as the CPU engine's `Chunk`
    (per-simulation lists in simulation order). Inputs come from each simulation's data
    stream, as on the CPU (`simulate.executors.simulation_seeds`); ``stack``: simulations per
    stack (default `StackedPropagator.stack_size`; the arrays do not depend on it)."""
    from simulate.executors import ChunkRecords, simulation_inputs

    if not isinstance(prop, StackedPropagator):
        prop = StackedPropagator(net, options)
    if isinstance(inputs, np.ndarray):
        batch_size, in_shape = inputs.shape[0], inputs.shape[1:]
    else:
        in_shape = inputs.shape
    size = stack or prop.stack_size(batch_size, in_shape)
    records = ChunkRecords(prop)
    for a in range(start, stop, size):
        idx = range(a, min(stop, a + size))
        drawn = [simulation_inputs(inputs, batch_size, seed, i, options.tangent)[:2]
                 for i in idx]
        rec, sc = prop.run_stack(np.stack([x for x, _ in drawn]),
                                 np.stack([dx for _, dx in drawn]) if options.tangent else None,
                                 seed, idx)
        for s in range(len(idx)):
            records.add({k: v[s] for k, v in rec.items()},
                        {k: float(v[s]) for k, v in sc.items()})
        if on_done is not None:
            on_done(len(idx))
    return records.chunk()


__all__ = ["MAX_STACK", "STACK_BYTES", "StackedPropagator", "simulate_range_stacked"]
