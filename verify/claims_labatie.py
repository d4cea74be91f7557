"""Claims L1–L13 (Labatie 2019): registry entries and their checks.

Each entry declares its predictions (from `theory.labatie`), its sizes per fidelity, its
mutations and a check that returns evaluated criteria. Sizes: ``quick`` keeps every claim
decidable in seconds; ``standard`` is report quality; ``paper`` uses THEORY.md §1.2 sizes.

Batch-norm runs of L7–L13 (all FC, Gaussian inputs of dimension 3072, fresh batch per
simulation):

* ``bn_ff``: the shared run of L6 (`bn_ff_run`, N=512, B=64, depth 200,
  every layer): L8 (c3), L9, L13 (c4, c5).
* ``bn_ff shallow``: the same network to depth 16 with many simulations: the 1-sigma bands of
  the L12 (c3) overlay (only l_eff <= 15 is compared).
* ``bn_ff spectra``: the same network measured every ``spec_every`` layers with the
  ``spectra`` family (eigenvalues of the signal covariance and noise projections at every
  loc): the L7 integral (L7 (c3)) and the assembled rate of L8.
* ``bn_ff B=...``: the C-FC batch sizes (L9 (c3), L13 (c5)); ``bn_ff eps=0`` (L13 (c4)).
* ``bn_res``: the C-FC resnet (N=512, B=64, H=2), every unit, with an extra measurement
  ``loc6`` at the end of the branch (the full-branch eta of L10): L10, L11 (c2 and the C-FC
  part of c1), L12.
* ``bn_res G``: resnets with B = N (full-rank signal covariance: delta_BN = 1, the Gaussian
  limit of tau_G), H in {1, 2, 3}: L11 (c1, c3).
* ``vanilla``: N in {128, 512}, small batch, many simulations: L13 (c1).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special

from simulate import EngineOptions, Propagator, SimulationResults, conv, spec
from simulate.inputs import GaussianSource, make_input_source
from simulate.rng import GaussianStream
from simulate.spec import Measure, Network, Residual
from simulate.threads import single_threaded_blas
from theory import arccos, labatie
from theory.derivation import LABATIE
from verify import criteria as C
from verify import stats
from verify.context import Context
from verify.registry import Mutation, Theory, claim, nearby
from verify.stats import Estimate

# Gaussian inputs of the CIFAR-10 dimension: the embedded default (no data files needed).
GAUSSIAN_3072 = {"dataset": "gaussian", "input_dim": 3072}


def depth_index(depth: np.ndarray, l: int) -> int:
    """Column of measured depth ``l`` in a results array (ValueError if not measured)."""
    idx = np.flatnonzero(np.asarray(depth) == l)
    if idx.size == 0:
        raise ValueError(f"depth {l} is not measured; measured depths {depth[:3]}..{depth[-1]}")
    return int(idx[0])


def bn_ff_run(ctx: Context, size: Mapping[str, Any], families: tuple[str, ...] = ("moments",)
              ) -> SimulationResults:
    """The shared bn_ff FC run: width ``bn_width``, batch ``bn_batch``, depth ``bn_depth``."""
    net = spec.bn_ff(size["bn_width"], size["bn_depth"])
    return ctx.simulate(net, GAUSSIAN_3072, batch_size=size["bn_batch"],
                        num_sims=size["bn_sims"], options=EngineOptions(families=families),
                        name="bn_ff")


BN_FF_SIZES = {
    "quick": {"bn_width": 512, "bn_batch": 64, "bn_depth": 200, "bn_sims": 40},
    "standard": {"bn_width": 512, "bn_batch": 64, "bn_depth": 200, "bn_sims": 200},
    "paper": {"bn_width": 512, "bn_batch": 64, "bn_depth": 200, "bn_sims": 1000},
}
#: The conv bn_ff runs (L6, L8, L9, L13 (c2)): LeCun 3x3 stride-2 stem, then He 3x3 conv + BN
#: + ReLU, depth 200, on fresh natural-photograph crops of ``cbn_image`` pixels, one run per
#: boundary of `CONV_BN_BOUNDARIES`. quick/standard: N = 128, 8x8 maps, B = 4 (M = B n^2 = 256
#: atoms per channel; ~0.6 s per simulation on 2 cores, measured); paper: Fig 4 / C-bc (N = 512,
#: 16x16 maps, B = 64). N = 64 was measured too and rejected: the O(1/N) bias of the L6 identity
#: reached +0.006 +- 0.002 on the l = 91..110 window (zero padding), against the 0.005 margin;
#: at N = 128 every window is within +0.002. standard keeps the quick sizes: every conv
#: criterion is decided there already (false-alarm sweep, seeds 0-6) and `make run` has no room
#: in its budget (issue 14).
#: ``cbr_*``: the runs of L13 (c2) (zero padding against periodic rates), a statement about the
#: border of Fig 4's 16x16 maps: quick/standard keep that map size at N = 64, B = 4 (0.2 s per
#: simulation on 2 cores); paper: the Fig 4 runs above (the same configuration, so one run).
#: Measured 2026-12-07, gamma(zero padding) / gamma(periodic) over l in [100, 200]: 0.9293 and
#: 0.9307 (seeds 1, 2; 150 nets per boundary, SE ~0.003) at 16x16 maps, against 0.895 at the
#: 8x8 maps of the ``cbn`` runs (N = 128; 44% of an 8x8 map's pixels are on its border, 23% of
#: a 16x16 map's), where the 10% band's edge was ~1 SE away.
CONV_BN_SIZES = {
    "quick": {"cbn_width": 128, "cbn_batch": 4, "cbn_image": 16, "cbn_sims": 40,
              "cbr_width": 64, "cbr_batch": 4, "cbr_image": 32, "cbr_sims": 100},
    "standard": {"cbn_width": 128, "cbn_batch": 4, "cbn_image": 16, "cbn_sims": 40,
                 "cbr_width": 64, "cbr_batch": 4, "cbr_image": 32, "cbr_sims": 100},
    "paper": {"cbn_width": 512, "cbn_batch": 64, "cbn_image": 32, "cbn_sims": 200,
              "cbr_width": 512, "cbr_batch": 64, "cbr_image": 32, "cbr_sims": 200},
}
CONV_BN_BOUNDARIES = ("periodic", "zero_padding")
for _f in BN_FF_SIZES:
    BN_FF_SIZES[_f].update(CONV_BN_SIZES[_f])
#: The conv spectra run (L7 (c3) at conv): periodic conv bn_ff at the L6 conv width, with the
#: K x K patch covariance C and noise second moment D at loc1 (K = 9N), measured every
#: ``cspec_every`` layers. The record's cost is an eigendecomposition of the (B n^2)^2 patch
#: Gram matrix, so the paper row keeps N = 512 and 16x16 maps but pools B = 8 maps (M = 2048).
CONV_SPECTRA_SIZES = {
    "quick": {"cspec_width": 128, "cspec_batch": 4, "cspec_image": 16, "cspec_sims": 30,
              "cspec_every": 10},
    "standard": {"cspec_width": 128, "cspec_batch": 4, "cspec_image": 16, "cspec_sims": 30,
                 "cspec_every": 10},
    "paper": {"cspec_width": 512, "cspec_batch": 8, "cspec_image": 32, "cspec_sims": 100,
              "cspec_every": 20},
}


def conv_bn_ff_run(ctx: Context, size: Mapping[str, Any], boundary: str,
                   prefix: str = "cbn") -> SimulationResults:
    """A conv bn_ff run (`CONV_BN_SIZES` under ``prefix``: ``cbn`` the shared runs, ``cbr``
    those of L13 (c2)) with ``boundary``: every layer, moments only."""
    net = spec.bn_ff(size[f"{prefix}_width"], size["bn_depth"], kernel_size=3,
                     boundary=boundary)
    opts = EngineOptions(compute_reff_signal=False, compute_reff_noise=False)
    return ctx.simulate(net, natural_images(size[f"{prefix}_image"]),
                        batch_size=size[f"{prefix}_batch"], num_sims=size[f"{prefix}_sims"],
                        options=opts, name=f"bn_ff conv {boundary} N={size[f'{prefix}_width']}")


def conv_spectra_run(ctx: Context, size: Mapping[str, Any]) -> SimulationResults:
    """The periodic conv bn_ff run with patch spectra at loc1 (`CONV_SPECTRA_SIZES`)."""
    net = spec.bn_ff(size["cspec_width"], size["bn_depth"], measure_every=size["cspec_every"],
                     kernel_size=3, boundary="periodic")
    opts = EngineOptions(families=("moments", "spectra"), compute_reff_signal=False,
                         compute_reff_noise=False)
    return ctx.simulate(net, natural_images(size["cspec_image"]),
                        batch_size=size["cspec_batch"], num_sims=size["cspec_sims"],
                        options=opts, name=f"bn_ff conv spectra N={size['cspec_width']}")


def conv_bn_reduced(size: Mapping[str, Any]) -> bool:
    """Whether the shared conv bn_ff runs are below Fig 4's sizes (quick and standard): L9 (c2),
    a statement about Fig 4's sizes, then gets no verdict."""
    return size["cbn_width"] < CONV_BN_SIZES["paper"]["cbn_width"]


def conv_bn_label(size: Mapping[str, Any], prefix: str = "cbn") -> str:
    """Sizes of the conv bn_ff runs under ``prefix`` (`conv_bn_ff_run`), for descriptions and
    captions."""
    m = size[f"{prefix}_image"] // 2
    return (f"conv bn_ff N={size[f'{prefix}_width']}, {m}x{m} maps, "
            f"B={size[f'{prefix}_batch']}, natural crops, {size[f'{prefix}_sims']} sims")


# ============================================================================================
# L1–L5: vanilla He–ReLU nets (FC, and 3x3 convolutions for L1, L3 (c3), L5 (c1-c3))
# ============================================================================================
#: The fixed input batch of the shared vanilla runs (L2.3, L3.4, L4.2, L5): B = 64 standardised
#: Gaussian inputs of dimension 3072, drawn once per run seed, so that the mean-field chi of L5
#: (c5) is computed on exactly the inputs the simulations see.
VANILLA_BATCH = 64
VANILLA_DEPTH = 200

#: Sizes shared by L2–L5 (identical values in every claim, so the runs are cached once).
#: v512: Fig 3 net (N=512), measured every ``v512_every`` layers, r_eff(x) at loc3;
#: v128 / v2048: the width-scaling nets of L5 (c4), v128 measured at every layer (L2.3, L3.4);
#: diff: the diffusion net of L3 (c1, c2), fresh Gaussian inputs per simulation.
VANILLA_SIZES: dict[str, dict[str, Any]] = {
    "quick": {"v512_sims": 40, "v512_every": 1, "v128_sims": 100, "v2048_sims": 20,
              "diff_width": 32, "diff_batch": 8, "diff_sims": 800, "diff_literal": False},
    # diff_sims 1000 (was 1500; make run budget): L3's mutations all FAIL at quick (800)
    "standard": {"v512_sims": 200, "v512_every": 5, "v128_sims": 300, "v2048_sims": 50,
                 "diff_width": 32, "diff_batch": 8, "diff_sims": 1000, "diff_literal": False},
    "paper": {"v512_sims": 1000, "v512_every": 1, "v128_sims": 1000, "v2048_sims": 200,
              "diff_width": 128, "diff_batch": 64, "diff_sims": 10000, "diff_literal": True},
}
#: Vanilla conv runs (3x3, natural-image crops of ``cv_image`` pixels -> (cv_image/2)^2 maps
#: after the stride-2 stem): ``cdiff``: the periodic noise-diffusion net of L3 (c3);
#: ``cv``: the Fig 3 / C-bc nets of L5, one per boundary, every layer, r_eff(x) at loc3.
#: quick/standard use N=128, 8x8 crops (4x4 maps) and B=16 (Fig 3 is 16x16 maps, N=512, B=64:
#: paper); the comment above `conv_vanilla_sims` says why.
CONV_VANILLA_SIZES: dict[str, dict[str, Any]] = {
    "quick": {"cdiff_width": 16, "cdiff_batch": 4, "cdiff_sims": 100, "cdiff_image": 16,
              "cv_width": 128, "cv_batch": 16, "cv_sims": 12, "cv_sims_periodic": 40,
              "cv_image": 8,
              "cinc_width": 256, "cinc_sims": 60, "cinc_image": 8, "cinc_batch": 4},
    "standard": {"cdiff_width": 16, "cdiff_batch": 4, "cdiff_sims": 200, "cdiff_image": 16,
                 "cv_width": 128, "cv_batch": 16, "cv_sims": 16, "cv_sims_periodic": 40,
                 "cv_image": 8,
                 "cinc_width": 256, "cinc_sims": 60, "cinc_image": 8, "cinc_batch": 4},
    "paper": {"cdiff_width": 64, "cdiff_batch": 8, "cdiff_sims": 2000, "cdiff_image": 16,
              "cv_width": 512, "cv_batch": 64, "cv_sims": 200, "cv_sims_periodic": 200,
              "cv_image": 32,
              "cinc_width": None, "cinc_sims": None, "cinc_image": None, "cinc_batch": None},
}
#: L5 (c2) at conv, delta chi on the one-dimensional branch, periodic and symmetric. quick/
#: standard: a run of its own per boundary (``cinc``: N = cinc_width, B = cinc_batch,
#: ``cinc_image`` crops, no r_eff); ``cinc_sims = None`` reuses the Fig 3 runs (paper). The band
#: is 0.01 around the realised value 1 + 3/(2N) (derived for periodic nets). Measured
#: 2026-12-07, window mean over l in [150, 200], natural crops, 4x4 maps, B=4, 60 nets:
#: at N=128 periodic gave 1.0116 and 1.0107 (sd 0.011-0.012 per net; seeds 3, 11) against
#: 1.0117, but symmetric nets sat between 1 and that value (1.0026 at 4x4 maps; 1.0076 and
#: 1.0030 at 8x8, seeds 3, 7), 1-3 standard errors above the band's lower edge 1.0017. At
#: N=256 the realised bias halves (1.0059) and the per-net sd falls to 0.006: symmetric
#: 1.0039, 1.0014, 1.0016, 1.0033, 1.0017 (seeds 3, 7, 11, 12, 13; SE 0.0007-0.0010), 6.8-10.9
#: SE above the lower edge 0.9959; periodic 1.0045, 1.0044 (seeds 3, 7). 24 s per boundary on
#: 2 cores. The symmetric nets' smaller bias is measured, not derived (their mirrored border
#: patches repeat a pixel, which changes the O(1/N) terms; the mean energy ratios are the
#: periodic ones, L1.2).
for _f in VANILLA_SIZES:
    VANILLA_SIZES[_f].update(CONV_VANILLA_SIZES[_f])


#: Why the quick/standard Fig 3 conv runs use 4x4 maps, B=16 and 40 periodic nets (L5 (c1)):
#: r_eff(x^200) of periodic nets at N=128 is heavy-tailed (a few nets collapse late). Measured
#: 2026-12-07, mean / sd / max over nets: 8x8 maps, B=4, 40 nets: 1.170 / 0.34 / 2.60 (seed 11),
#: 1.063 / 0.07 / 1.31 (seed 12), means 1.083 and 1.122 at sweep seeds 4 and 6, so "below
#: 1.1" was INCONCLUSIVE at 9 of sweep seeds 1-12 (CI seed 0: 1.071, interval up to 1.120). 4x4
#: maps with B=16 (the same 256 positions per channel, 4x as many images): 1.033 / 0.050 / 1.24,
#: 1.028 / 0.032 / 1.15, 1.025 / 0.039 / 1.20 (seeds 11-13, 40 nets), the bound ~9 standard
#: errors away, at the same cost (14 s for 40 nets on 2 cores). Symmetric 1.010 and zero
#: padding 3.27 (against 1.5) at the same sizes (12 nets, seed 11).


def conv_vanilla_sims(size: Mapping[str, Any], boundary: str) -> int:
    """Nets of the Fig 3 conv run with ``boundary`` (``cv_sims_periodic`` for periodic)."""
    return size["cv_sims_periodic"] if boundary == "periodic" else size["cv_sims"]


def natural_images(side: int) -> dict[str, Any]:
    """Input description of ``side x side`` natural-photograph crops (conv nets)."""
    return {"dataset": "natural", "kernel_size": 3, "image_size": side}


def vanilla_conv_run(ctx: Context, width: int, sims: int, batch: int, image: int,
                     boundary: str, *, reff: bool) -> SimulationResults:
    """A vanilla conv run (LeCun 3x3 stride-2 stem, He 3x3 conv + ReLU with ``boundary``),
    depth 200, every layer, fresh natural crops per simulation."""
    net = spec.vanilla(width, VANILLA_DEPTH, kernel_size=3, boundary=boundary)
    opts = EngineOptions(compute_reff_signal=reff, compute_reff_noise=False)
    return ctx.simulate(net, natural_images(image), batch_size=batch, num_sims=sims,
                        options=opts, name=f"vanilla conv {boundary} N={width}")


def conv_increment_sizes(size: Mapping[str, Any], boundary: str
                         ) -> tuple[int, int, int, int]:
    """(width, simulations, batch size, crop side) of the vanilla conv run L5 (c2) reads: its
    own (``cinc_*``) or, where ``cinc_sims`` is None, the Fig 3 run of ``boundary``
    (``cv_*``)."""
    if size["cinc_sims"] is None:
        return (size["cv_width"], conv_vanilla_sims(size, boundary), size["cv_batch"],
                size["cv_image"])
    return size["cinc_width"], size["cinc_sims"], size["cinc_batch"], size["cinc_image"]


def conv_increment_run(ctx: Context, size: Mapping[str, Any], boundary: str
                       ) -> SimulationResults:
    """The vanilla conv run L5 (c2) reads delta chi from (`conv_increment_sizes`); its own run
    skips r_eff, the shared Fig 3 run computes it."""
    width, sims, batch, image = conv_increment_sizes(size, boundary)
    return vanilla_conv_run(ctx, width, sims, batch, image, boundary,
                            reff=size["cinc_sims"] is None)


def _sizes(own: Mapping[str, Mapping[str, Any]], shared: bool = True) -> dict[str, dict[str, Any]]:
    """Per-fidelity sizes: the shared vanilla sizes (if ``shared``) plus a claim's own."""
    return {f: {**(VANILLA_SIZES[f] if shared else {}), **own[f]} for f in VANILLA_SIZES}


def vanilla_batch(ctx: Context) -> np.ndarray:
    """The fixed (B=64, D=3072) standardised Gaussian batch of the shared vanilla runs."""
    return ctx.fixed_inputs("gaussian", VANILLA_BATCH, tag="vanilla", input_dim=3072)


def vanilla_run(ctx: Context, width: int, sims: int, *, measure_every: int = 1,
                reff: bool = False, depth: int = VANILLA_DEPTH,
                inputs: np.ndarray | Mapping[str, Any] | None = None,
                batch_size: int | None = None) -> SimulationResults:
    """A vanilla FC run (LeCun stem, He dense, ReLU; locs 1-3), by default on `vanilla_batch`.

    reff: r_eff of the signal at loc3 (the noise r_eff is never computed here).
    """
    net = spec.vanilla(width, depth, measure_every)
    opts = EngineOptions(compute_reff_signal=reff, compute_reff_noise=False)
    src = vanilla_batch(ctx) if inputs is None else inputs
    return ctx.simulate(net, src, num_sims=sims, options=opts,
                        batch_size=None if isinstance(src, np.ndarray) else batch_size,
                        name=f"vanilla N={width}")


def v512_run(ctx: Context, size: Mapping[str, Any]) -> SimulationResults:
    """The shared Fig 3 net: N=512, depth 200, r_eff(x) at loc3."""
    return vanilla_run(ctx, 512, size["v512_sims"], measure_every=size["v512_every"], reff=True)


def v128_run(ctx: Context, size: Mapping[str, Any]) -> SimulationResults:
    """The shared N=128 net, depth 200, measured at every layer."""
    return vanilla_run(ctx, 128, size["v128_sims"])


def v2048_run(ctx: Context, size: Mapping[str, Any]) -> SimulationResults:
    """The shared N=2048 net, depth 200, measured every 50 layers."""
    return vanilla_run(ctx, 2048, size["v2048_sims"], measure_every=50)


def log_increments(per_block: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """Per-layer increments ``X^l - X^{l-1}`` (l = 1..L) of a log-moment recorded at every block.

    per_block: ``(n_sims, L)`` values at blocks 1..L; initial: ``(n_sims,)`` value at block 0.
    """
    full = np.concatenate([np.asarray(initial, float)[:, None], np.asarray(per_block, float)],
                          axis=1)
    return np.diff(full, axis=1)


def pooled_increment_variance(inc: np.ndarray) -> float:
    """Mean over layers of the across-simulation variance of per-layer increments ``(n, L)``.

    For increments uncorrelated across layers (martingale differences) this is the per-layer
    slope of the across-simulation variance of the log-moment, estimated without the O(sqrt 2/n)
    noise of a variance curve's endpoints.
    """
    return float(np.mean(np.var(inc, axis=0, ddof=1)))


def independent_combination(estimates: Sequence[Estimate], coeffs: Sequence[float],
                            level: float = 0.99) -> Estimate:
    """Estimate of ``sum_i c_i theta_i`` from estimates of *independent* runs.

    The standard error is ``sqrt(sum c_i^2 se_i^2)`` and the interval normal at ``level`` (the
    runs cannot be resampled jointly: they hold different simulations).
    """
    if len(estimates) != len(coeffs) or not estimates:
        raise ValueError("estimates and coeffs must be non-empty and of equal length")
    value = float(sum(c * e.value for c, e in zip(coeffs, estimates, strict=True)))
    se = float(math.sqrt(sum((c * e.se) ** 2 for c, e in zip(coeffs, estimates, strict=True))))
    z = float(-special.ndtri((1 - level) / 2))
    return Estimate(value, se, (value - z * se, value + z * se), level, "normal",
                    min(e.n for e in estimates))


def he_linear_layer(width: int, kernel_size: int = 1, boundary: str = "periodic"
                    ) -> spec.Dense | spec.Conv:
    """The simulator's own He layer: the dense layer (``kernel_size = 1``) or ``k x k``
    convolution that `spec.vanilla` builds (weight variance from the engine's spec, never typed
    in here)."""
    net = spec.vanilla(width, 1, kernel_size=kernel_size, boundary=boundary)
    return next(layer for layer in net.block if isinstance(layer, spec.Dense | spec.Conv))


def he_dense_layer(width: int) -> spec.Dense:
    """The simulator's own He dense layer (`he_linear_layer` at ``kernel_size = 1``)."""
    layer = he_linear_layer(width)
    assert isinstance(layer, spec.Dense)
    return layer


def engine_layer_ratios(x: np.ndarray, dx: np.ndarray, draws_per_sim: int, sims: int,
                        seed_key: Sequence[int], boundary: str | None = None
                        ) -> dict[str, np.ndarray]:
    """Moment ratios over one fresh He dense layer (and its ReLU) of the engine, on a fixed
    ``(x, dx)``.

    x, dx: ``(B, N)`` signal and noise, or ``(B, n, n, N)`` maps with ``boundary`` given (then
    the layer is the engine's He 3x3 convolution with that boundary, widened the same way:
    its output channels are independent kernels), fed as the fixed input and the fixed tangent
    input of
    `simulate.Propagator.run` (`simulate.run_network` draws a fresh tangent per simulation, so
    it cannot hold ``dx`` fixed). The network is one block, ``Measure(loc1)`` -> the He dense
    layer of `spec.vanilla` widened to ``draws_per_sim * N`` outputs -> ``Measure(loc2)`` ->
    ReLU -> ``Measure(loc3)``: the output columns of one weight draw are independent, and every
    moment is a unit average, so one simulation measures the mean over ``draws_per_sim``
    independent ``N x N`` He layers (fan-in N, the engine's scale). Simulation ``i`` draws its
    weights from ``SeedSequence([*seed_key, i])``.

    Returns per-simulation arrays ``(sims,)``: ``nu2_y``, ``mu2_y``, ``mu2_dy`` (pre-activation
    moments over the input's) and ``nu2_x``, ``mu2_dx`` (after the ReLU, over the input's).
    """
    x = np.asarray(x, dtype=float)
    dx = np.asarray(dx, dtype=float)
    if dx.shape != x.shape:
        raise ValueError(f"x and dx must have the same shape; got {x.shape}, {dx.shape}")
    n = x.shape[-1]
    if x.ndim == 4:
        if boundary is None:
            raise ValueError("maps (B, n, n, N) need a boundary")
        wide: spec.Dense | spec.Conv = dataclasses.replace(
            he_linear_layer(n, L1_CONV_KERNEL, boundary), channels=draws_per_sim * n)
    else:
        wide = dataclasses.replace(he_dense_layer(n), width=draws_per_sim * n)
    net = Network((Measure("loc1"), wide, Measure("loc2"), spec.Activation("relu"),
                   Measure("loc3")), 1, None, 1, "He layer on a fixed (x, dx)")
    prop = Propagator(net, EngineOptions(dtype="float64", compute_reff_signal=False,
                                         compute_reff_noise=False))
    keys = ("nu2_y", "mu2_y", "mu2_dy", "nu2_x", "mu2_dx")
    out = {k: np.empty(sims) for k in keys}
    for i in range(sims):
        rec, _ = prop.run(x, dx, GaussianStream(np.random.SeedSequence([*seed_key, i])))
        v = {k: float(a[0]) for k, a in rec.items()}
        out["nu2_y"][i] = v["nu2_signal_loc2"] / v["nu2_signal_loc1"]
        out["mu2_y"][i] = v["mu2_signal_loc2"] / v["mu2_signal_loc1"]
        out["mu2_dy"][i] = math.exp(v["log_mu2_noise_loc2"] - v["log_mu2_noise_loc1"])
        out["nu2_x"][i] = v["nu2_signal_loc3"] / v["nu2_signal_loc1"]
        out["mu2_dx"][i] = math.exp(v["log_mu2_noise_loc3"] - v["log_mu2_noise_loc1"])
    return out


def vanilla_state(x_in: np.ndarray, dx_in: np.ndarray, width: int, depth: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x^depth, dx^depth)`` of one vanilla FC net (LeCun stem, He–ReLU layers), float64.

    ``depth = 0`` is the stem output. The weight stream is seeded by ``seed`` only, so the nets
    of different depths share their first layers (one network observed at several depths).
    """
    if depth == 0:
        net = spec.Network((spec.lecun_stem(width),), 1, None, 1, "stem")
    else:
        net = spec.vanilla(width, depth)
    return _forward64(net, x_in, dx_in, seed)


def _forward64(net: Network, x_in: np.ndarray, dx_in: np.ndarray, seed: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Output and tangent of ``net`` in float64 (no effective ranks), weights seeded by
    ``seed``."""
    prop = Propagator(net, EngineOptions(dtype="float64", compute_reff_signal=False,
                                         compute_reff_noise=False))
    x, dx = prop.forward(np.asarray(x_in, float), np.asarray(dx_in, float),
                         GaussianStream(np.random.SeedSequence(seed)))
    assert dx is not None
    return x, dx


@functools.lru_cache(maxsize=8)
def _single_layer_draws(seed: int, width: int, batch: int, depth: int, draws_per_sim: int,
                        sims: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(x, dx, per-simulation ratios) for the L1/L2 conditional tests (shared by both claims):
    the state of one vanilla FC net at ``depth``, then `engine_layer_ratios`."""
    src = make_input_source("gaussian", input_dim=3072)
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x4C31, batch])))
    x_in = src.sample(batch, gen)
    dx_in = gen.standard_normal(x_in.shape)
    x, dx = vanilla_state(x_in, dx_in, width, depth, seed * 7919 + 0x4C31)
    return x, dx, engine_layer_ratios(x, dx, draws_per_sim, sims, (seed, 0x4C32, depth))


def _mean_percentile(x: np.ndarray, ctx: Context, tag: str) -> Estimate:
    """Bootstrap mean over many cheap draws (percentile CI: the BCa jackknife would cost O(n^2))."""
    return stats.bootstrap(np.asarray(x, float), np.mean, ctx.rng(tag), method="percentile",
                           n_resamples=ctx.n_resamples)


def _moments(x: np.ndarray, dx: np.ndarray) -> dict[str, float]:
    """nu2(x), mu2(x) (per-unit centring over the batch, and positions for maps) and mu2(dx)
    of a state ``(B, N)`` or ``(B, n, n, N)``."""
    rows = np.asarray(x).reshape(-1, np.shape(x)[-1])
    return {"nu2": float(np.mean(rows**2)), "mu2": float(np.mean(np.var(rows, axis=0))),
            "mu2_d": float(np.mean(np.asarray(dx) ** 2))}


#: Kernel size of the convolutional L1 criteria (Labatie's 3x3).
L1_CONV_KERNEL = 3


def vanilla_conv_state(x_in: np.ndarray, dx_in: np.ndarray, width: int, depth: int, seed: int,
                       boundary: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x^depth, dx^depth)`` maps of one vanilla conv net (LeCun stride-2 stem, He 3x3 conv,
    ReLU, ``boundary``), float64; ``x_in`` are ``(B, 2n, 2n, 3)`` images."""
    net = spec.vanilla(width, depth, kernel_size=L1_CONV_KERNEL, boundary=boundary)
    return _forward64(net, x_in, dx_in, seed)


@functools.lru_cache(maxsize=8)
def _conv_single_layer_draws(seed: int, width: int, batch: int, n: int, depth: int,
                             boundary: str, draws_per_sim: int, sims: int
                             ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(x, dx, per-simulation ratios) of the conv L1 criteria: at ``depth = 0`` i.i.d. N(0, 1)
    maps ``(B, n, n, N)`` (spatially homogeneous energy; the same for every boundary), deeper
    the state of one vanilla conv net with ``boundary`` on Gaussian ``2n x 2n x 3`` images;
    then `engine_layer_ratios` with the engine's He conv of that boundary."""
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x4C33, batch])))
    if depth == 0:
        x = gen.standard_normal((batch, n, n, width))
        dx = gen.standard_normal(x.shape)
    else:
        x_in = GaussianSource((2 * n, 2 * n, 3)).sample(batch, gen)
        dx_in = gen.standard_normal(x_in.shape)
        x, dx = vanilla_conv_state(x_in, dx_in, width, depth, seed * 7919 + 0x4C33, boundary)
    key = (seed, 0x4C34, depth, spec.BOUNDARIES.index(boundary))
    return x, dx, engine_layer_ratios(x, dx, draws_per_sim, sims, key, boundary)


# --------------------------------------------------------------------------------------------
# L1
# --------------------------------------------------------------------------------------------
L1_DEPTHS = (0, 10, 50)
#: One simulation = one He layer widened to ``sl_per_sim`` x N outputs (``sl_per_sim``
#: independent N x N layers, `engine_layer_ratios`); ``sl_sims`` simulations per input depth.
SINGLE_LAYER_SIZES = {
    "quick": {"sl_width": 64, "sl_batch": 32, "sl_per_sim": 128, "sl_sims": 64},
    # 100 (was 160; make run budget): every L1 and L2 single-layer mutation FAILs at quick (64)
    "standard": {"sl_width": 64, "sl_batch": 32, "sl_per_sim": 128, "sl_sims": 100},
    "paper": {"sl_width": 64, "sl_batch": 32, "sl_per_sim": 128, "sl_sims": 400},
}
#: Conv L1: maps of ``cl_size x cl_size x cl_width`` (batch ``cl_batch``) at input depths
#: `L1_CONV_DEPTHS`; one simulation = the engine's He 3x3 conv widened to ``cl_per_sim`` x N
#: output channels (independent kernels), ``cl_sims`` simulations per boundary and depth.
#: n = 16 is Labatie's map size (the zero-padding factor (46/48)^2 is stated for it).
L1_CONV_SIZES = {
    "quick": {"cl_width": 32, "cl_size": 16, "cl_batch": 8, "cl_per_sim": 64, "cl_sims": 32},
    # = quick (was 64 sims; make run budget): L1's conv mutations FAIL at quick
    "standard": {"cl_width": 32, "cl_size": 16, "cl_batch": 8, "cl_per_sim": 64,
                 "cl_sims": 32},
    "paper": {"cl_width": 64, "cl_size": 16, "cl_batch": 16, "cl_per_sim": 64, "cl_sims": 200},
}
L1_CONV_DEPTHS = (0, 10)
#: Relative equivalence margins of the exact single-layer means (L1.1, L2.1) by input depth.
#: The claims are exact in expectation (no finite-size bias), so the margin is set by precision
#: alone: at quick (8192 layers) the relative SE of a mean ratio is 0.03-0.05% at l=0 (isotropic
#: x^0) and 0.1-0.3% at l=10, 50 (one-dimensional x^l: heavier per-layer spread). l=0: 0.4%
#: (>= 7 SE); l=10, 50: 1/N = 1.56% (>= 5 SE; the former margin at every depth).
L1_REL_TOL = {0: 0.004, 10: 1 / 64, 50: 1 / 64}
_L1_QUANTITIES = (("nu2", "nu2_y", "nu2", "E_nu2_y"), ("mu2", "mu2_y", "mu2", "E_mu2_y"),
                  ("noise mu2", "mu2_dy", "mu2_d", "E_mu2_dy"))


def _exact_margin_reason(width: int, depth: int) -> str:
    return (f"exact identity in expectation (no finite-width bias); THEORY.md gives no margin "
            f"(a CI containing the value), so the margin is precision-based: "
            f"{100 * L1_REL_TOL[depth]:.2g}% relative at input depth {depth} (>= 5 quick SE; "
            f"see L1_REL_TOL); any error in a constant (He 2 vs 1, centred vs uncentred, gate "
            f"fraction, an O(1/N) correction at l=0) exceeds it")


@claim(
    "L1",
    title="The convolution step is neutral on average (FC analogue: He dense layer doubles "
          "nu2, mu2, mu2(dx) in expectation)",
    paper=LABATIE,
    theory={"ratios": labatie.he_layer_ratios,
            "conditional": labatie.conditional_conv_moments,
            "zero_padding": labatie.zero_padding_energy_factor},
    sizes={f: {**SINGLE_LAYER_SIZES[f], **L1_CONV_SIZES[f]} for f in SINGLE_LAYER_SIZES},
    mutations=[
        Mutation("He factor 2 -> 1 (LeCun)",
                 {"ratios": lambda k, b: {q: 1.0 for q in ("nu2", "mu2", "noise mu2")}}),
        Mutation("conditional mu2(y): tr Cov(p) -> E||p||^2 (uncentred)",
                 {"conditional": lambda p, dp=None: {
                     **labatie.conditional_conv_moments(p, dp),
                     "E_mu2_y": labatie.conditional_conv_moments(p, dp)["E_nu2_y"]}}),
        Mutation("conditional noise: 2/K -> 1/K",
                 {"conditional": lambda p, dp=None: {
                     **labatie.conditional_conv_moments(p, dp),
                     "E_mu2_dy": 0.5 * labatie.conditional_conv_moments(p, dp)["E_mu2_dy"]}}),
        nearby("fan-in counts a bias unit: He ratio 2 -> 2K/(K+1) (-1.5% at K=64)",
               {"ratios": lambda k, b: {q: 2.0 * k / (k + 1) for q in ("nu2", "mu2",
                                                                        "noise mu2")}},
               fails_at="quick"),
        nearby("finite-batch centring: E mu2(y) = 2 mu2(x) (1 - 1/B) (-3.1% at B=32)",
               {"ratios": lambda k, b: {**labatie.he_layer_ratios(k, b),
                                        "mu2": 2.0 * (1 - 1 / b)}},
               fails_at="quick"),
        nearby("zero-padding deficit counted per axis, not squared: (kn - (k^2-1)/4)/(kn) = "
               "0.958 instead of 0.918 at k=3, n=16 (+4.3%)",
               {"zero_padding": lambda k, n: np.sqrt(labatie.zero_padding_energy_factor(k, n))},
               fails_at="quick"),
    ],
    criteria={
        "L1.1": "periodic conv: mean ratios nu2(y)/nu2(x), mu2(y)/mu2(x), mu2(dy)/mu2(dx) over "
                "the engine's He 3x3 conv on fixed maps (i.i.d. at l=0, a vanilla conv net's "
                "state at l=10) = 2 within 0.4% (l=0) / 1/N (l=10) relative; FC analogue (any "
                "fan-in): the same over the engine's He dense layer on a fixed (x, dx) from a "
                "net at depths 0, 10, 50, within 0.4% (l=0) / 1/N (l=10, 50)",
        "L1.2": "symmetric and zero-padding conv: mean ratios equal the exact conditional "
                "values 2/K E||p||^2, 2/K tr Cov p, 2/K E||dp||^2 from the actual padded "
                "patches, same margins (periodic and FC: the values are L1.1's 2 by "
                "construction: identities, not evidence)",
        "L1.3": "zero padding: nu2 ratio significantly below 2 (l=0, 10), and on homogeneous "
                "i.i.d. maps (l=0) equal to 2 ((kn - (k^2-1)/4)/(kn))^2 = 2 x 0.918403 "
                "(k=3, n=16) within 0.5%",
    },
    setup="FC: fixed (x^l, dx^l), l = 0, 10, 50, of one vanilla FC net (LeCun stem, He-ReLU, "
          "N=64) on B=32 Gaussian inputs (D=3072) and one white input noise; then the "
          "simulator's own He dense layer (spec.vanilla's, widened to 128 N outputs = 128 "
          "independent N x N layers per simulation) run by simulate.Propagator with (x^l, dx^l) "
          "as its fixed input and fixed tangent input. Conv: fixed 16x16xN maps (N=32 at "
          "quick/standard, B=8): i.i.d. N(0, 1) at l=0, and x^10 of one vanilla conv net "
          "(LeCun 3x3 stride-2 stem on 32x32x3 Gaussian images, He 3x3 conv + ReLU) with each "
          "boundary; then the engine's He 3x3 conv of that boundary widened to 64 N output "
          "channels (64 independent layers per simulation).",
    caveats="simulate.run_network draws a fresh tangent per simulation, so the fixed dx^l goes "
            "through simulate.Propagator.run (public) and these draws are not disk-cached. The "
            "exact conditional values of L1.2 read the padded patches from "
            "simulate.conv.patches (tested against a numpy.pad oracle in tests/test_conv.py).",
)
def _l1(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    width, batch = size["sl_width"], size["sl_batch"]
    n = size["sl_per_sim"] * size["sl_sims"]
    factor = th.ratios(width, batch)
    out = _l1_conv(ctx, th, size)
    ratios: dict[str, list[np.ndarray]] = {q[0]: [] for q in _L1_QUANTITIES}
    rows = []
    worst = 0.0
    for depth in L1_DEPTHS:
        x, dx, mom = _single_layer_draws(ctx.seed, width, batch, depth, size["sl_per_sim"],
                                         size["sl_sims"])
        m_in = _moments(x, dx)
        cond = th.conditional(x, dx)
        for label, key, in_key, cond_key in _L1_QUANTITIES:
            ratios[label].append(mom[key])
            est = _mean_percentile(mom[key], ctx, f"L1 {depth} {key}")
            pred = factor[label]
            out.append(C.relative_equivalence(
                f"L1.1[FC l={depth}, {label}]", f"mean {label} ratio over the engine's He dense "
                f"layer, input x^{depth}", est, pred, L1_REL_TOL[depth],
                _exact_margin_reason(width, depth), n))
            rows.append((depth, label, est, pred))
            worst = max(worst, abs(cond[cond_key] / m_in[in_key] / factor[label] - 1.0))
    out.append(C.exact(
        "L1.2[FC, p = x]", "max over depths and moments of |exact conditional value / "
        "(L1.1 ratio x input moment) - 1| (FC: patches = input rows)", worst, 0.0, 1e-9,
        "the conditional values 2/K E||p||^2, 2/K tr Cov p, 2/K E||dp||^2 with K = N and p = x "
        "are 2 nu2(x), 2 mu2(x), 2 mu2(dx) identically: rounding only").labelled(
        "identity", "at FC the exact conditional values equal L1.1's prediction by "
        "construction (p = x); the former nine L1.2[FC] criteria repeated L1.1 and are merged "
        "into this consistency check of theory's two forms"))
    depths = np.asarray(L1_DEPTHS, dtype=float)
    sizes = (f"FC analogue: fixed (x^l, dx^l) of one vanilla FC net (N={width}, B={batch}, "
             f"D=3072), {n} engine He dense layers per input depth ({size['sl_sims']} "
             f"simulations x {size['sl_per_sim']} layers); curves: mean ratio per simulation; "
             "bands: 16-84% over simulations")
    p = ctx.panel("L1: moment ratios over one He dense layer (FC analogue of the conv step)",
                  "depth l of the fixed input x^l", "ratio after / before the layer",
                  caption=f"{sizes}. L1.1 tests the means within 0.4% (l=0) or 1/N (l=10, 50) "
                          "of 2 (periodic conv skipped: no convolutions)")
    names = {"nu2": "nu2(y)/nu2(x)", "mu2": "mu2(y)/mu2(x)", "noise mu2": "mu2(dy)/mu2(dx)"}
    for label, per_depth in ratios.items():
        p.simulation(depths, np.column_stack(per_depth), names[label])
    p.theory(depths, factor["nu2"], "He: 2 (periodic conv, FC)")
    p = ctx.panel("L1: mean ratio vs the prediction, in units of N x relative error",
                  "depth l of the fixed input x^l", "N x (mean ratio / prediction - 1)",
                  caption=f"{sizes.split('; curves')[0]}. Markers: N (mean ratio / 2 - 1); "
                          "error bars: the criteria's 99% bootstrap CI (markers shifted by +-1 "
                          "in l for legibility). L1.1 passes when the CI lies within +-0.26 "
                          "(l=0) or +-1 (l=10, 50)")
    for k, label in enumerate(ratios):
        sel = [(est, pred) for _, lab, est, pred in rows if lab == label]
        rel = width * (np.array([[e.value, *e.ci] for e, _ in sel])
                       / np.array([[v] for _, v in sel]) - 1.0)
        p.points(depths + (k - 1), rel[:, 0], names[label], lo=rel[:, 1], hi=rel[:, 2])
    p.theory(depths, 0.0, "prediction")
    return out


#: Margin of the homogeneous zero-padding factor (L1.3): the realised factor of fixed i.i.d.
#: maps differs from the homogeneous-energy value by the border/interior energy imbalance of
#: the sample, relative sd ~ sd(w)/mean(w) sqrt(2/(B N))/n = 0.163 x 0.0625 / 16 = 0.064% at
#: B=8, N=32, n=16 (w = share of a position's patches inside the map), plus the kernel SE
#: (~0.04% at quick): 0.5% is > 6 combined SE; the nearby error (per-axis factor) is +4.3%.
L1_ZERO_PADDING_TOL = 0.005


def _l1_conv(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    """Conv criteria of L1: periodic ratios (L1.1), exact conditional values per boundary
    (L1.2), the zero-padding deficit (L1.3)."""
    width, batch, n = size["cl_width"], size["cl_batch"], size["cl_size"]
    k = L1_CONV_KERNEL
    per, sims = size["cl_per_sim"], size["cl_sims"]
    factor = th.ratios(k * k * width, batch * n * n)
    tol = {0: L1_REL_TOL[0], 10: 1.0 / width}
    out: list[C.Criterion] = []
    worst = 0.0
    points: dict[str, list[tuple[int, Estimate, float]]] = {b: [] for b in spec.BOUNDARIES}
    for b in spec.BOUNDARIES:
        for depth in L1_CONV_DEPTHS:
            x, dx, mom = _conv_single_layer_draws(ctx.seed, width, batch, n, depth, b, per,
                                                  sims)
            m_in = _moments(x, dx)
            cond = th.conditional(conv.patches(x, k, 1, b), conv.patches(dx, k, 1, b))
            why = (f"exact in expectation over the kernel (no finite-size bias); margin "
                   f"{100 * tol[depth]:.2g}% from precision ({'>= 10' if depth == 0 else '>= 5'}"
                   f" quick SE; {per * sims * width} kernels)")
            for label, key, in_key, cond_key in _L1_QUANTITIES:
                est = _mean_percentile(mom[key], ctx, f"L1 conv {b} {depth} {key}")
                exact_value = cond[cond_key] / m_in[in_key]
                if b == "periodic":
                    worst = max(worst, abs(exact_value / factor[label] - 1.0))
                    out.append(C.relative_equivalence(
                        f"L1.1[conv periodic l={depth}, {label}]", f"mean {label} ratio over the "
                        f"engine's He 3x3 periodic conv, input x^{depth}", est, factor[label],
                        tol[depth], why, sims))
                else:
                    out.append(C.relative_equivalence(
                        f"L1.2[conv {b} l={depth}, {label}]", f"mean {label} ratio vs the exact "
                        f"conditional value {exact_value:.5f} from the {b} patches of x^{depth}",
                        est, exact_value, tol[depth], why, sims))
                if label == "nu2":
                    points[b].append((depth, est, exact_value))
            if b == "zero_padding":
                est = _mean_percentile(mom["nu2_y"], ctx, f"L1 conv zero {depth} nu2 below")
                out.append(C.bound(
                    f"L1.3[l={depth}]", f"zero padding: mean nu2 ratio over the He conv, "
                    f"input x^{depth}, below the periodic value", est, factor["nu2"], "below",
                    "THEORY.md L1 (c3), one-sided: padded zeros remove border patch energy",
                    sims))
                if depth == 0:
                    pred = factor["nu2"] * float(th.zero_padding(k, n))
                    out.append(C.relative_equivalence(
                        "L1.3[homogeneous factor]", f"zero padding on i.i.d. {n}x{n} maps: mean "
                        f"nu2 ratio vs 2 ((kn - (k^2-1)/4)/(kn))^2, k={k}, n={n}", est, pred,
                        L1_ZERO_PADDING_TOL, "see L1_ZERO_PADDING_TOL: the sample's border "
                        "imbalance and the kernel SE", sims))
    out.append(C.exact(
        "L1.2[conv periodic]", "max over depths and moments of |exact conditional value / "
        "(2 x input moment) - 1| with periodic patches", worst, 0.0, 1e-9,
        "each pixel lies in exactly k^2 periodic patches: rounding only").labelled(
        "identity", "with periodic boundaries the conditional values equal L1.1's prediction by "
        "construction"))
    p = ctx.panel("L1: nu2 ratio over one He 3x3 conv, by boundary",
                  "depth l of the fixed input map x^l", "nu2(y) / nu2(x)",
                  caption=f"fixed {n}x{n}x{width} maps, B={batch} (l=0: i.i.d.; l=10: a vanilla "
                          f"conv net with that boundary), {per * sims} kernels per point; "
                          "markers: mean ratio with its 99% bootstrap CI (shifted in l for "
                          "legibility); crosses: the exact conditional value from the patches; "
                          "lines: 2 (periodic) and 2 x 0.918 (zero padding, homogeneous)")
    for j, (b, pts) in enumerate(points.items()):
        d = np.array([q[0] for q in pts], float) + 0.3 * (j - 1)
        v = np.array([[q[1].value, *q[1].ci] for q in pts])
        p.points(d, v[:, 0], f"{b}", lo=v[:, 1], hi=v[:, 2])
        p.points(d, np.array([q[2] for q in pts]), f"{b}: exact conditional value")
    p.theory(np.array(L1_CONV_DEPTHS, float), factor["nu2"], "periodic: 2")
    p.theory(np.array(L1_CONV_DEPTHS, float), factor["nu2"] * float(th.zero_padding(k, n)),
             "zero padding, homogeneous: 2 x 0.918")
    return out


# --------------------------------------------------------------------------------------------
# L2
# --------------------------------------------------------------------------------------------
#: Blocks of the median-of-means of L2 (c2): few blocks keep the bias of the median of skewed
#: block means small (lognormal, s^2 = 1, n = 2000: -0.004 with 10 blocks, -0.03 with 56).
L2_MOM_BLOCKS = 10


@claim(
    "L2",
    title="He-ReLU preserves nu2(x) and mu2(dx) in expectation (martingales); medians decay",
    paper=LABATIE,
    theory={"relu_conditional": labatie.relu_conditional_moments,
            "nu2_mean_ratio": labatie.martingale_mean_ratio,
            "mean_median_margin": labatie.mean_median_half_gap,
            "log_moments": labatie.vanilla_exact_log_moments},
    sizes=_sizes({
        "quick": {**SINGLE_LAYER_SIZES["quick"], "mart_width": 64, "mart_batch": 16,
                  "mart_sims": 1500},
        # 2500 (was 4000; make run budget): L2's mutations all FAIL at quick (1500)
        "standard": {**SINGLE_LAYER_SIZES["standard"], "mart_width": 64, "mart_batch": 16,
                     "mart_sims": 2500},
        "paper": {**SINGLE_LAYER_SIZES["paper"], "mart_width": 512, "mart_batch": 64,
                  "mart_sims": 1000},
    }),
    mutations=[
        Mutation("ReLU gate keeps 1 - 1/pi of the noise (not 1/2)",
                 {"relu_conditional": lambda p, dp: {
                     **labatie.relu_conditional_moments(p, dp),
                     "E_mu2_dx": 2 * (1 - 1 / np.pi)
                     * labatie.relu_conditional_moments(p, dp)["E_mu2_dx"]}}),
        Mutation("ReLU keeps half the centred energy: E nu2(x) = mu2(y)/2",
                 {"relu_conditional": lambda p, dp: {
                     **labatie.relu_conditional_moments(p, dp),
                     "E_nu2_x": 0.5 * labatie.conditional_conv_moments(p)["E_mu2_y"]}}),
        nearby("O(1/N) finite-width loss per layer: E nu2(x^l) = nu2(x^{l-1}) (1 - 1/(2N)) "
               "(-0.8% at N=64; the exact mean has no finite-width term)",
               {"relu_conditional": lambda p, dp: {
                   **labatie.relu_conditional_moments(p, dp),
                   "E_nu2_x": (1 - 0.5 / p.shape[1])
                   * labatie.relu_conditional_moments(p, dp)["E_nu2_x"]}},
               fails_at="quick"),
        nearby("noise gate fraction 1/2 -> 0.49 (an active fraction estimated from a finite "
               "net instead of the exact 1/2 of the w -> -w symmetry)",
               {"relu_conditional": lambda p, dp: {
                   **labatie.relu_conditional_moments(p, dp),
                   "E_mu2_dx": 0.98 * labatie.relu_conditional_moments(p, dp)["E_mu2_dx"]}},
               fails_at="quick"),
        Mutation("mean of nu2 decays like its median, exp(l E log R)",
                 {"nu2_mean_ratio": lambda l, n: float(
                     np.exp(labatie.vanilla_exact_log_moments(n)[0] * l))}),
    ],
    criteria={
        "L2.1": "single He-ReLU layer of the engine on a fixed (x^l, dx^l), l = 0, 10, 50: mean "
                "ratios nu2(x^l)/nu2(x^{l-1}) and mu2(dx^l)/mu2(dx^{l-1}) = 1 within 0.4% (l=0) "
                "/ 1/N (l=10, 50) relative",
        "L2.2": "vanilla FC, l with 5l/N <= 1: median-of-means of nu2(x^l)/nu2(x^0) = 1 within "
                "half the mean-median gap (1 - exp(l E log R))/2",
        "L2.3": "sim median of nu2(x^l)/nu2(x^0) lower at l=200 than at l=50 (one-sided)",
    },
    setup="(c1) as L1 (the engine's He dense layer + ReLU on fixed simulator states). (c2) "
          "vanilla FC, fresh Gaussian inputs (D=3072), depth N/5 (quick/standard N=64, B=16; "
          "paper N=512, B=64, THEORY (b2)). (c3) vanilla FC N=128, B=64, depth 200 on the "
          "fixed vanilla batch.",
    caveats="Beyond 5l/N ~ 1 the lognormal-like tails make the mean unmeasurable; (c2) stops "
            "there. Quick/standard run (c2) at N=64: the claim is exact at every width.",
)
def _l2(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    out = []
    width = size["sl_width"]
    n = size["sl_per_sim"] * size["sl_sims"]
    for depth in L1_DEPTHS:
        x, dx, mom = _single_layer_draws(ctx.seed, width, size["sl_batch"], depth,
                                         size["sl_per_sim"], size["sl_sims"])
        m_in = _moments(x, dx)
        cond = th.relu_conditional(x, dx)
        for label, key, in_key, cond_key in (("signal nu2", "nu2_x", "nu2", "E_nu2_x"),
                                             ("noise mu2", "mu2_dx", "mu2_d", "E_mu2_dx")):
            est = _mean_percentile(mom[key], ctx, f"L2 {depth} {key}")
            pred = cond[cond_key] / m_in[in_key]
            out.append(C.relative_equivalence(
                f"L2.1[l={depth}, {label}]", f"mean {label} ratio over one He-ReLU layer of the "
                f"engine, input x^{depth}", est, pred, L1_REL_TOL[depth],
                _exact_margin_reason(width, depth), n))
    # (c2) martingale mean where 5l/N <= 1
    mw = size["mart_width"]
    lmax = mw // 5
    res = vanilla_run(ctx, mw, size["mart_sims"], depth=lmax, inputs=GAUSSIAN_3072,
                      batch_size=size["mart_batch"])
    nu2_0 = res["nu2_signal_loc1"][:, 0]
    rng = ctx.rng("L2.2")
    for l in (lmax // 2, lmax):
        ratio = res["nu2_signal_loc3"][:, depth_index(res.depth, l)] / nu2_0
        est = stats.bootstrap(ratio, lambda a: stats.median_of_means(a, L2_MOM_BLOCKS), rng,
                              n_resamples=ctx.n_resamples)
        margin = th.mean_median_margin(mw, l)
        out.append(C.equivalence(
            f"L2.2[l={l}]", f"median-of-means of nu2(x^{l})/nu2(x^0), N={mw} (5l/N = "
            f"{5 * l / mw:.2f})", est, th.nu2_mean_ratio(l, mw), margin,
            f"martingale (exact mean 1); THEORY.md gives no margin: half the gap to the median "
            f"exp(l E log R) (L3 exact drift, collinear signal) = {margin:.3f}, so a mean that "
            f"decayed like the typical value would FAIL; {L2_MOM_BLOCKS}-block median-of-means "
            "bias (skewed block means) < 0.01", res.num_sims))
    ctx.panel("L2: nu2(x^l)/nu2(x^0): mean preserved, median decays", "layer l",
              "nu2(x^l)/nu2(x^0)", caption=f"vanilla FC N={mw}, B={size['mart_batch']}") \
        .simulation(res.depth, res["nu2_signal_loc3"] / nu2_0[:, None], "simulation") \
        .theory(res.depth, [th.nu2_mean_ratio(int(l), mw) for l in res.depth], "mean (theory)")
    # (c3) medians decay
    r128 = v128_run(ctx, size)
    log_ratio = np.log(r128["nu2_signal_loc3"] / r128["nu2_signal_loc1"][:, :1])
    j50, j200 = depth_index(r128.depth, 50), depth_index(r128.depth, 200)
    est = stats.bootstrap(log_ratio, lambda a: np.median(a[:, j50]) - np.median(a[:, j200]),
                          ctx.rng("L2.3"), n_resamples=ctx.n_resamples)
    out.append(C.bound(
        "L2.3", "median log nu2(x^50)/nu2(x^0) - median log nu2(x^200)/nu2(x^0), N=128", est,
        0.0, "above", "THEORY.md L2 (c3): one-sided; log space keeps the heavy tails harmless",
        r128.num_sims, perturbation=C.Perturbation.shift(
            -(200 - 50) * float(th.log_moments(128)[0]),
            "the collinear median decay 150 |E log R| at N=128 (L3 exact drift)")))
    return out


# --------------------------------------------------------------------------------------------
# L3
# --------------------------------------------------------------------------------------------
L3_WINDOW = (100, 200)
#: Relative margin of L3.1 (THEORY.md: 10%; see the criterion's reason). L3.2 keeps 10%: the
#: relative SE of the mean slope is 1.8% at quick, so 10% is ~2.5 SE + 2.33 SE + offsets.
L3_VAR_TOL = 0.05
L3_NOISE_WINDOWS = ((0, 50), (50, 100), (100, 150), (150, 200))


@claim(
    "L3",
    title="Vanilla: log nu2 and log mu2(dx) diffuse at 5/N with drift -5/(2N) (exact digamma "
          "log-moments); FC noise diffuses faster and faster",
    paper=LABATIE,
    theory={"log_moments": labatie.vanilla_exact_log_moments,
            "noise_floor": labatie.conv_noise_diffusion_rate},
    sizes=_sizes({"quick": {}, "standard": {}, "paper": {}}),
    mutations=[
        Mutation("Var log R: 5/N -> 4/N",
                 {"log_moments": lambda n: (float(labatie.vanilla_exact_log_moments(n)[0]),
                                            0.8 * float(labatie.vanilla_exact_log_moments(n)[1]))}),
        Mutation("drift -5/(2N) -> -5/N",
                 {"log_moments": lambda n: (2.0 * float(labatie.vanilla_exact_log_moments(n)[0]),
                                            float(labatie.vanilla_exact_log_moments(n)[1]))}),
        nearby("diffusion rate 5/N -> 4.5/N (exact Var log R x 0.9)",
               {"log_moments": lambda n: (float(labatie.vanilla_exact_log_moments(n)[0]),
                                          0.9 * float(labatie.vanilla_exact_log_moments(n)[1]))},
               fails_at="quick"),
        nearby("drift -5/(2N) -> -2/N",
               {"log_moments": lambda n: (-2.0 / n,
                                          float(labatie.vanilla_exact_log_moments(n)[1]))},
               fails_at="quick"),
        nearby("asymptotic rates 5/N and -5/(2N) in place of the exact digamma log-moments "
               "(-12% and -5% at N=32)",
               {"log_moments": lambda n: (-2.5 / n, 5.0 / n)}, fails_at="quick"),
        Mutation("FC noise diffuses like the signal: floor 1/N -> 5/N",
                 {"noise_floor": lambda n: 5.0 / n}),
    ],
    criteria={
        "L3.1": "per-layer slope of Var log nu2(x^l) over l in [100, 200] within 5% of the "
                "exact Var log R (digamma; -> 5/N)",
        "L3.2": "per-layer slope of E log nu2(x^l) over l in [100, 200] within 10% of the exact "
                "E log R (digamma; -> -5/(2N))",
        "L3.3": "conv: Var log mu2(dx) slope within 1/N (1 +- 0.15) (skipped: conv)",
        "L3.4": "FC: Var log mu2(dx) slope over [100, 200] exceeds 1/N and grows across "
                "successive 50-layer windows (last / first window > 1; strictly increasing)",
    },
    setup="(c1, c2) vanilla FC, fresh Gaussian inputs (D=3072), depth 200, every layer "
          "(quick/standard N=32, B=8; paper N=128, B=64, 10 000 sims). (c4) the shared N=128, "
          "B=64 net on the fixed vanilla batch.",
    caveats="quick/standard estimate the variance slope as the pooled across-simulation "
            "variance of per-layer increments (exact for the collinear signal, whose log R are "
            "i.i.d. across layers): the literal slope of a variance curve has relative SE about "
            "2.4/sqrt(n) (endpoint variance included) and would need n ~ 6000 for a 10% "
            "tolerance; paper also fits the literal slope.",
)
def _l3(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    width = size["diff_width"]
    res = vanilla_run(ctx, width, size["diff_sims"], inputs=GAUSSIAN_3072,
                      batch_size=size["diff_batch"])
    n = res.num_sims
    lnu = np.log(res["nu2_signal_loc3"])
    inc = log_increments(lnu, np.log(res["nu2_signal_loc1"][:, 0]))
    lo, hi = L3_WINDOW
    win = inc[:, lo:hi]  # increments of blocks lo+1..hi
    e_log, var_log = (float(v) for v in th.log_moments(width))
    rng = ctx.rng("L3")
    out = []
    est = stats.bootstrap(win, pooled_increment_variance, rng, method="percentile",
                          n_resamples=ctx.n_resamples)
    why = (f"THEORY.md L3 (c1, c2): 10%; the prediction is the exact collinear value at "
           f"N={width} (the batch is one-dimensional by l = 100), so no asymptotic bias")
    why_var = (f"THEORY.md L3 (c1) says 10%, tightened to {100 * L3_VAR_TOL:.0f}%: the "
               f"prediction is the exact collinear value at N={width} (the batch is one-"
               "dimensional by l = 100: no asymptotic bias; measured offsets -1.2% quick, -0.1% "
               "standard, seed 0) and the relative SE of the pooled increment variance is 0.6% "
               "at quick (800 sims), 0.4% at standard: 5% is > 6 quick SE")
    out.append(C.relative_equivalence(
        "L3.1", f"Var log nu2 per layer over l in [{lo}, {hi}] (pooled increment variance), "
        f"N={width}", est, var_log, L3_VAR_TOL, why_var, n))
    est = stats.bootstrap(win, np.mean, rng, method="percentile", n_resamples=ctx.n_resamples)
    out.append(C.relative_equivalence(
        "L3.2", f"E log nu2 slope over l in [{lo}, {hi}] ((E log nu2^{hi} - E log nu2^{lo})/"
        f"{hi - lo}), N={width}", est, e_log, 0.1, why, n))
    if size["diff_literal"]:
        cols = slice(depth_index(res.depth, lo), depth_index(res.depth, hi) + 1)
        est = stats.fit_line(res.depth[cols], lnu[:, cols], rng,
                             reduce=lambda a: a.var(axis=0, ddof=1),
                             n_resamples=ctx.n_resamples)
        out.append(C.relative_equivalence(
            "L3.1[literal]", f"least-squares slope of Var log nu2 over l in [{lo}, {hi}]", est,
            var_log, L3_VAR_TOL, why_var, n))
        est = stats.fit_line(res.depth[cols], lnu[:, cols], rng, n_resamples=ctx.n_resamples)
        out.append(C.relative_equivalence(
            "L3.2[literal]", f"least-squares slope of E log nu2 over l in [{lo}, {hi}]", est,
            e_log, 0.1, why, n))
    ctx.panel("L3: across-simulation variance of log nu2(x^l)", "layer l", "Var log nu2",
              caption=f"vanilla FC N={width}, B={size['diff_batch']}; theory: slope Var log R "
                      "through the simulated value at l=100") \
        .simulation(res.depth, (lnu - lnu.mean(axis=0)) ** 2 * n / max(n - 1, 1),
                    "simulation") \
        .theory(res.depth, lnu[:, lo - 1].var(ddof=1) + var_log * (res.depth - lo),
                "exact slope")
    # (c3) conv noise: the Bernoulli on/off rate 1/N
    cw = size["cdiff_width"]
    rc = vanilla_conv_run(ctx, cw, size["cdiff_sims"], size["cdiff_batch"],
                          size["cdiff_image"], "periodic", reff=False)
    cinc = log_increments(rc["log_mu2_noise_loc3"], rc["log_mu2_noise_loc1"][:, 0])
    est = stats.bootstrap(cinc[:, lo:hi], pooled_increment_variance, rng, method="percentile",
                          n_resamples=ctx.n_resamples)
    out.append(C.relative_equivalence(
        "L3.3[conv]", f"Var log mu2(dx) per layer over l in [{lo}, {hi}] (pooled increment "
        f"variance), vanilla conv N={cw}, periodic, {rc['log_mu2_noise_loc3'].shape[0]} sims",
        est, th.noise_floor(cw), 0.15, "THEORY.md L3 (c3): 15%; the rate's known excess "
        "2 Var q / N (noise patches of finite effective rank) is a few per cent at N=16 (K=144), "
        "and the relative SE of the pooled increment variance is ~2-3% at quick (100 sims)",
        rc.num_sims))
    p = ctx.panel("L3: conv noise diffusion (vanilla conv, periodic)", "layer l",
                  "N x Var of the per-layer increment of log mu2(dx)",
                  caption=f"vanilla conv N={cw}, {size['cdiff_image'] // 2}x"
                          f"{size['cdiff_image'] // 2} maps, B={size['cdiff_batch']}, natural "
                          f"crops, {rc.num_sims} sims; theory: the Bernoulli on/off rate 1/N "
                          "(L3 (c3) tests [100, 200])")
    p.points(rc.depth.astype(float), cw * np.var(cinc, axis=0, ddof=1), "simulation")
    p.theory(rc.depth.astype(float), cw * th.noise_floor(cw), "1/N")
    # (c4) FC noise: faster than 1/N and accelerating
    r128 = v128_run(ctx, size)
    ninc = log_increments(r128["log_mu2_noise_loc3"], r128["log_mu2_noise_loc1"][:, 0])
    floor = th.noise_floor(128)
    est = stats.bootstrap(ninc[:, lo:hi], pooled_increment_variance, rng, method="percentile",
                          n_resamples=ctx.n_resamples)
    out.append(C.bound(
        "L3.4[exceeds 1/N]", f"Var log mu2(dx) per layer over l in [{lo}, {hi}], N=128", est,
        floor, "above", "THEORY.md L3 (c4): one-sided against the conv rate 1/N", r128.num_sims))
    def window_vars(a: np.ndarray) -> np.ndarray:
        return np.array([pooled_increment_variance(a[:, s:e]) for s, e in L3_NOISE_WINDOWS])

    est = stats.bootstrap(ninc, lambda a: float(window_vars(a)[-1] / window_vars(a)[0]), rng,
                          method="percentile", n_resamples=ctx.n_resamples)
    out.append(C.bound(
        "L3.4[grows]", "ratio of the per-layer Var log mu2(dx) in the last 50-layer window "
        "(150,200] to the first (0,50], N=128", est, 1.0, "above",
        "THEORY.md L3 (c4): one-sided, the rate grows (D ~ J J^T ever more ill-conditioned); "
        "a ratio above 1 (the former statistic, a slope across windows against 0, had no "
        "magnitude to perturb); strict growth across all four windows is L3.4[monotone]",
        r128.num_sims))
    wv = window_vars(ninc)
    out.append(C.holds(
        "L3.4[monotone]", "the four window values increase strictly: "
        + ", ".join(f"{v:.4f}" for v in wv), bool(np.all(np.diff(wv) > 0)),
        "THEORY.md §5: monotone sim values (4 windows: no violation allowed)", r128.num_sims))
    return out


# --------------------------------------------------------------------------------------------
# L4
# --------------------------------------------------------------------------------------------
L4_DEEP_WINDOWS = ((41, 100), (101, 150), (151, 200))


def vanilla_realised_increment(res: SimulationResults) -> np.ndarray:
    """Realised delta chi = chi_loc3 / chi_loc1 per sim and depth of a vanilla run."""
    return np.exp(res["log_chi_loc3"] - res["log_chi_loc1"])


def vanilla_increment_pair(res: SimulationResults, increment: Any) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """(realised delta chi = chi_loc3/chi_loc1, predicted increment(rho)) per sim and depth,
    with rho = E_c Var|y_c| / E_c Var y_c = (nu2 - E_c nu1(|y_c|)^2) / mu2 at loc2."""
    rho = (res["nu2_signal_loc2"] - res["nu1_abs_sq_signal_loc2"]) / res["mu2_signal_loc2"]
    return vanilla_realised_increment(res), np.asarray(increment(rho), dtype=float)


def _mae_of_means(r: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(r.mean(axis=0) - p.mean(axis=0))))


#: L4.1 bound on the mean absolute error of sim means (THEORY.md: 0.005; see the criterion).
L4_MAE_BOUND = 0.002


@claim(
    "L4",
    title="Vanilla increment (delta chi)^2 = 2/(1 + rho) >= 1; Gaussian value pi/(pi - 1)",
    paper=LABATIE,
    theory={"increment": labatie.vanilla_increment,
            "gaussian_increment": labatie.gaussian_vanilla_increment},
    sizes=_sizes({
        "quick": {"l4_sims": 250, "l4_batch": 64},
        "standard": {"l4_sims": 400, "l4_batch": 64},
        "paper": {"l4_sims": 1000, "l4_batch": 128},
    }),
    mutations=[
        Mutation("2/(1+rho) -> 2/(1+rho^2)",
                 {"increment": lambda rho: np.sqrt(2.0 / (1.0 + np.asarray(rho) ** 2))}),
        Mutation("sqrt dropped: delta chi = 2/(1+rho)",
                 {"increment": lambda rho: 2.0 / (1.0 + np.asarray(rho))}),
        Mutation("pi/(pi-1) -> 1.4", {"gaussian_increment": lambda: float(np.sqrt(1.4))}),
        nearby("deep-regime linearisation delta chi = 1 + (1 - rho)/4 (exact as rho -> 1, "
               "-4.3% at the Gaussian rho)",
               {"increment": lambda rho: 1.0 + (1.0 - np.asarray(rho, dtype=float)) / 4},
               fails_at="quick"),
    ],
    criteria={
        "L4.1": "l <= 40: regression of the sim mean of realised delta chi^l on the sim mean "
                "of sqrt(2/(1 + rho^l)) has slope 1 +- 0.02 and mean absolute error < 0.002 "
                "(THEORY.md: 0.005)",
        "L4.2": "deeper: mean paired difference (realised - predicted) within +-0.005 per "
                "window (41-100, 101-150, 151-200)",
        "L4.3": "layer 1, i.i.d. Gaussian inputs: sim mean of delta chi^1 within 0.005 of "
                "sqrt(pi/(pi-1)) = 1.211174",
    },
    setup="(c1, c3) vanilla FC N=512, depth 40, every layer, on one fixed batch of raw "
          "i.i.d. N(0,1) inputs (D=3072; not standardised: per-feature centring would make the "
          "pre-activation correlations -1/(B-1) and raise delta chi^1 by ~0.002 at B=64). "
          "(c2) the shared Fig 3 net (N=512, B=64, depth 200).",
    caveats="Dominating term: realised increments carry an O(1/N) positive bias where delta "
            "chi -> 1 (~0.0013 at N=512, ~0.003 at N=128), which also pulls the L4.1 slope "
            "about 0.003-0.01 below 1.",
)
def _l4(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence([ctx.seed, 0x4C34])))
    raw = gen.standard_normal((size["l4_batch"], 3072))
    res = vanilla_run(ctx, 512, size["l4_sims"], depth=40, inputs=raw)
    realised, predicted = vanilla_increment_pair(res, th.increment)
    n = res.num_sims
    rng = ctx.rng("L4")
    out = []
    est = stats.bootstrap((realised, predicted),
                          lambda r, p: stats.line_slope(p.mean(axis=0), r.mean(axis=0)), rng,
                          n_resamples=ctx.n_resamples)
    out.append(C.equivalence(
        "L4.1[slope]", "slope of sim-mean realised delta chi^l on sim-mean sqrt(2/(1+rho^l)), "
        "l = 1..40", est, 1.0, 0.02, "THEORY.md L4 (c1); the O(1/N) bias of deep realised "
        "increments lowers the slope by < 0.01 at N=512", n))
    est = stats.bootstrap((realised, predicted), _mae_of_means, ctx.rng("L4.1 MAE"),
                          n_resamples=ctx.n_resamples)

    def mae_perturbed(delta: float) -> Estimate:
        return stats.bootstrap((realised, predicted * (1 + delta)), _mae_of_means,
                               ctx.rng("L4.1 MAE"), n_resamples=ctx.n_resamples)

    out.append(C.bound(
        "L4.1[MAE]", "mean absolute error of sim means, l = 1..40", est, L4_MAE_BOUND, "below",
        f"THEORY.md L4 (c1) says 0.005, tightened to {L4_MAE_BOUND}: the MAE of sim means is the "
        "O(1/N) realised-vs-dominating bias (< 0.0013 at N=512, caveats) plus the sampling noise "
        "of the means (measured MAE 0.0006 at quick and standard, SE < 1e-4), so 0.002 still "
        "holds the true theory with room while a 0.3% error of the increment curve fails", n,
        perturbation=C.Perturbation.custom(mae_perturbed, "the predicted increment curve")))
    est = stats.mean_estimate(realised[:, depth_index(res.depth, 1)], rng,
                              n_resamples=ctx.n_resamples)
    out.append(C.equivalence(
        "L4.3", "sim mean of delta chi^1 (i.i.d. Gaussian inputs)", est,
        th.gaussian_increment(), 0.005, "THEORY.md L4 (c3); raw (uncentred) i.i.d. inputs: "
        "the mean-field value of the batch equals pi/(pi-1) up to O(1/D)", n))
    ctx.panel("L4: delta chi^l, realised vs sqrt(2/(1 + rho^l))", "layer l", "delta chi^l",
              caption="vanilla FC N=512, raw Gaussian batch") \
        .simulation(res.depth, realised, "realised chi_loc3 / chi_loc1") \
        .simulation(res.depth, predicted, "theory from measured rho") \
        .theory(res.depth, th.gaussian_increment(), "Gaussian: sqrt(pi/(pi-1))")
    deep = v512_run(ctx, size)
    r_deep, p_deep = vanilla_increment_pair(deep, th.increment)
    for lo, hi in L4_DEEP_WINDOWS:
        cols = (deep.depth >= lo) & (deep.depth <= hi)
        diff = (r_deep[:, cols] - p_deep[:, cols]).mean(axis=1)
        est = stats.mean_estimate(diff, rng, n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"L4.2[l={lo}..{hi}]", f"delta chi - sqrt(2/(1+rho)), paired mean over measured "
            f"layers {lo}..{hi}, N=512", est, 0.0, 0.005, "THEORY.md L4 (c2): same tolerance "
            "on means; the O(1/N) realised-vs-dominating bias is ~0.0013 at N=512 and the SE "
            "of the paired mean ~0.0008 at quick (40 sims), so it is not tightened",
            deep.num_sims, perturbation=C.Perturbation.shift(
                float(p_deep[:, cols].mean()), "the predicted increment sqrt(2/(1+rho))")))
    return out


# --------------------------------------------------------------------------------------------
# L5
# --------------------------------------------------------------------------------------------
L5_WIDTHS = (128, 512, 2048)


@claim(
    "L5",
    title="Vanilla: exploding chi or one-dimensional signal (r_eff -> 1, delta chi -> 1; "
          "mean-field chi ~ l; finite width below mean field)",
    paper=LABATIE,
    theory={"delta_chi_limit": labatie.one_dimensional_increment_limit,
            "delta_chi_realised": labatie.one_dimensional_realised_increment,
            "width_shift": labatie.saturated_width_shift,
            "mean_field_chi": arccos.mean_field_chi},
    sizes=_sizes({"quick": {}, "standard": {}, "paper": {}}),
    mutations=[
        Mutation("exploding-chi branch: delta chi stays at sqrt(pi/(pi-1))",
                 {"delta_chi_limit": labatie.gaussian_vanilla_increment,
                  "delta_chi_realised": lambda n: labatie.gaussian_vanilla_increment()}),
        Mutation("mean field (delta chi)^2 ~ 1 + 1/l: chi ~ sqrt(l)",
                 {"mean_field_chi": lambda x0, layers: np.sqrt(arccos.mean_field_chi(x0,
                                                                                     layers))}),
        nearby("sub-linear mean field chi^l ~ l^0.7 ((delta chi)^2 ~ 1 + 1.4/l) instead of chi "
               "~ l: log chi^200 = 2.39, below the N=2048 value 2.6",
               {"mean_field_chi": lambda x0, layers: arccos.mean_field_chi(x0, layers) ** 0.7}),
    ],
    criteria={
        "L5.1": "sim mean of r_eff(x^200) (loc3) below 1.1 (FC, N=512; periodic and symmetric "
                "conv)",
        "L5.2": "sim mean of delta chi^l over l in [150, 200] within 0.01 of 1 (FC N=512); "
                "conv: within 0.01 of the realised value 1 + 3/(2N) (the O(1/N) Jensen bias "
                "of the realised increment on the one-dimensional branch shifts the band)",
        "L5.3": "zero padding conv: r_eff(x^200) above 1.5 and above periodic",
        "L5.4": "FC width scaling: E log chi^200(N) - E log chi^200(N/4) = log 2 +- 0.15, "
                "N in {512, 2048}",
        "L5.5": "E log chi^200 below the mean-field value on the same inputs, for each N, and "
                "the gap shrinks as N grows (least-squares slope of E log chi^200 on log N > 0)",
    },
    setup="Vanilla FC (LeCun stem, He-ReLU), depth 200, N = 128, 512, 2048 on one fixed batch "
          "of B=64 standardised Gaussian inputs (D=3072); mean-field chi from the ReLU kernel "
          "iterated on that batch (the infinite-width stem). Conv (L5.1-L5.3): vanilla 3x3 "
          "conv nets, one per boundary, depth 200, on fresh natural-photograph crops (the "
          "embedded stand-in for CIFAR-10): quick/standard N=128, 8x8 crops (4x4 maps), "
          "B=16; paper N=512, 32x32 (16x16 maps), B=64 (Fig 3, C-bc). L5.2[conv periodic, "
          "symmetric] at quick/standard: a run of its own per boundary, N=256, B=4, 8x8 crops "
          "(4x4 maps), 60 nets, no r_eff; at paper the Fig 3 runs.",
    caveats="THEORY.md's independent check (E log chi^200 = 1.27, 1.89, 2.57) is not reproduced "
            "at N=128 and 512: the simulator gives about 2.05, 2.25, 2.60 (confirmed by an "
            "independent numpy implementation), so the log 2 width shift of (c4) does not hold "
            "at l=200 (E log chi keeps growing ~ l/N at finite width instead of saturating).",
)
def _l5(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    rng = ctx.rng("L5")
    runs = {128: v128_run(ctx, size), 512: v512_run(ctx, size), 2048: v2048_run(ctx, size)}
    r512 = runs[512]
    out = []
    j = depth_index(r512.depth, VANILLA_DEPTH)
    est = stats.mean_estimate(r512["reff_signal_loc3"][:, j], rng, n_resamples=ctx.n_resamples)
    out.append(C.bound("L5.1[FC]", "sim mean of r_eff(x^200), loc3, N=512", est, 1.1, "below",
                       "THEORY.md L5 (c1) threshold (rank one: r_eff = 1)", r512.num_sims))
    conv_runs = {b: vanilla_conv_run(ctx, size["cv_width"], conv_vanilla_sims(size, b),
                                     size["cv_batch"], size["cv_image"], b, reff=True)
                 for b in spec.BOUNDARIES}
    cw = size["cv_width"]
    reff_means = {}
    for b, r in conv_runs.items():
        jc = depth_index(r.depth, VANILLA_DEPTH)
        reff_means[b] = stats.mean_estimate(r["reff_signal_loc3"][:, jc], rng,
                                            n_resamples=ctx.n_resamples)
        if b == "zero_padding":
            continue
        out.append(C.bound(f"L5.1[conv {b}]", f"sim mean of r_eff(x^200), loc3, vanilla conv "
                           f"N={cw}, {b}", reff_means[b], 1.1, "below",
                           "THEORY.md L5 (c1) threshold (rank one: r_eff = 1)", r.num_sims))
    realised = vanilla_realised_increment(r512)
    cols = (r512.depth >= 150) & (r512.depth <= 200)
    est = stats.mean_estimate(realised[:, cols].mean(axis=1), rng, n_resamples=ctx.n_resamples)
    out.append(C.equivalence(
        "L5.2", "sim mean of delta chi^l over measured l in [150, 200], N=512", est,
        th.delta_chi_limit(), 0.01, "THEORY.md L5 (c2); includes the O(1/N) realised bias "
        "(~0.0013 at N=512)", r512.num_sims))
    for b in ("periodic", "symmetric"):
        r = conv_increment_run(ctx, size, b)
        width, _, batch, image = conv_increment_sizes(size, b)
        pred = th.delta_chi_realised(width)
        side = image // 2
        cols = (r.depth >= 150) & (r.depth <= 200)
        est = stats.mean_estimate(vanilla_realised_increment(r)[:, cols].mean(axis=1), rng,
                                  n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"L5.2[conv {b}]", f"sim mean of delta chi^l over l in [150, 200], vanilla conv "
            f"N={width}, {side}x{side} maps, B={batch}, {b}", est, pred, 0.01,
            "THEORY.md L5 (c2): 0.01, centred on the realised value 1 + 3/(2N) = "
            f"{pred:.4f} (theory.labatie.one_dimensional_realised_increment: a signed "
            "O(1/N) bias shifts the band)", r.num_sims))
    zp = conv_runs["zero_padding"]
    out.append(C.bound("L5.3[above 1.5]", f"sim mean of r_eff(x^200), vanilla conv N={cw}, "
                       "zero padding", reff_means["zero_padding"], 1.5, "above",
                       "THEORY.md L5 (c3): half-padded receptive fields keep extra directions",
                       zp.num_sims))
    est = independent_combination([reff_means["zero_padding"], reff_means["periodic"]],
                                  [1.0, -1.0])
    out.append(C.bound("L5.3[above periodic]", "r_eff(x^200): zero padding minus periodic "
                       f"(independent runs), N={cw}", est, 0.0, "above",
                       "THEORY.md L5 (c3): significantly above the periodic value", zp.num_sims))
    p = ctx.panel("L5 (Fig 3, conv): r_eff(x^l) of vanilla conv nets by boundary", "layer l",
                  "r_eff(x^l), loc3",
                  caption=f"vanilla 3x3 conv, N={cw}, {size['cv_image'] // 2}x"
                          f"{size['cv_image'] // 2} maps, B={size['cv_batch']}, natural crops, "
                          f"{size['cv_sims_periodic']} (periodic) / {size['cv_sims']} sims "
                          "per boundary (Fig 3: N=512, 16x16, B=64, "
                          "CIFAR-10)")
    for b, r in conv_runs.items():
        p.simulation(r.depth, r["reff_signal_loc3"], b)
    p.theory(conv_runs["periodic"].depth, 1.0, "one-dimensional: 1")
    pred_conv = th.delta_chi_realised(cw)
    p = ctx.panel("L5 (Fig 3, conv): delta chi^l of vanilla conv nets by boundary", "layer l",
                  "delta chi^l = chi(loc3) / chi(loc1)",
                  caption=f"same runs as the r_eff panel; theory: the realised one-dimensional "
                          f"value 1 + 3/(2N) = {pred_conv:.4f}")
    for b, r in conv_runs.items():
        p.simulation(r.depth, vanilla_realised_increment(r), b)
    p.theory(conv_runs["periodic"].depth, pred_conv, "1 + 3/(2N)")
    means = {}
    for w, r in runs.items():
        means[w] = stats.mean_estimate(r["log_chi_loc3"][:, depth_index(r.depth, VANILLA_DEPTH)],
                                       rng, n_resamples=ctx.n_resamples)
    for w in L5_WIDTHS[1:]:
        est = independent_combination([means[w], means[w // 4]], [1.0, -1.0])
        out.append(C.known_discrepancy(C.equivalence(
            f"L5.4[N={w}/{w // 4}]", f"E log chi^200(N={w}) - E log chi^200(N={w // 4})", est,
            th.width_shift(4.0), 0.15, "chi_inf ~ sqrt(N) at saturation (the former (c4))",
            min(runs[w].num_sims, runs[w // 4].num_sims)),
            "chi is not saturated at l=200 for N >= 128: E log chi^200 = 2.05 / 2.25 / 2.60 "
            "at N = 128 / 512 / 2048 (simulator, and an independent numpy implementation: "
            "1.95 +- 0.07, 2.28 +- 0.07), against THEORY.md's check 1.27 / 1.89 / 2.57; the "
            "measured shifts are ~0.19 and ~0.41, not log 2. THEORY.md (c4) now states the "
            "one-sided form 0 < shift < log 2 (corrected 2026-12-04, its check now agrees with "
            "the simulator); it is not a pass criterion here yet: with 20 N=2048 sims at quick "
            "the shift's SE is ~0.09, so both bounds sit at z ~ 3.5 (INCONCLUSIVE-prone)"))
    mf = float(np.log(th.mean_field_chi(vanilla_batch(ctx), [VANILLA_DEPTH])[0]))
    for w in L5_WIDTHS:
        out.append(C.bound(
            f"L5.5[N={w}]", f"E log chi^200 at N={w} vs mean field {mf:.3f} on the same batch",
            means[w], mf, "below", "THEORY.md L5 (c5), one-sided", runs[w].num_sims))
    x = np.log(np.array(L5_WIDTHS, dtype=float))
    xc = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    est = independent_combination([means[w] for w in L5_WIDTHS], list(xc))
    out.append(C.bound(
        "L5.5[gap shrinks]", "least-squares slope of E log chi^200 on log N (N = 128, 512, "
        "2048): the gap to mean field shrinks as N grows", est, 0.0, "above",
        "THEORY.md L5 (c5): one-sided trend over the three widths (the mean field does not "
        "depend on N)", min(r.num_sims for r in runs.values()),
        perturbation=C.Perturbation.shift(th.width_shift(4.0) / math.log(4.0),
                                          "the saturated slope 1/2 of log chi on log N")))
    p = ctx.panel("L5: E log chi^l by width vs mean field", "layer l", "log chi^l",
                  caption="vanilla FC, B=64 fixed Gaussian batch")
    for w, r in runs.items():
        p.simulation(r.depth, r["log_chi_loc3"], f"N={w}")
    depths = runs[128].depth
    p.theory(depths, np.log(th.mean_field_chi(vanilla_batch(ctx), depths)), "mean field")
    return out


# --------------------------------------------------------------------------------------------
# L6
# --------------------------------------------------------------------------------------------
#: Depth windows of the paired identity: layer 1 alone, then 20-layer windows. The identity holds
#: at every layer, so it holds for a window mean; the window averages out the O(N^-1/2) per-layer
#: fluctuation of the realised increment (sd 0.007 at l=1 rising to 0.017 at l=200, N=512, B=64),
#: which a single deep layer would need ~100+ simulations to resolve to the 0.005 tolerance.
L6_WINDOWS = ((1, 1), (2, 20), (41, 60), (91, 110), (181, 200))
#: Margin of the windowed L6.1 criteria: THEORY.md's 0.005. A tightening to 0.003 was tried and
#: undone: deep windows have heavier tails than their bootstrap SE at 40 sims suggests (seed 10,
#: l = 181..200: 0.0020 with SE 0.0007 was INCONCLUSIVE); the nearby mutation (the Gaussian
#: constant, -0.008 to -0.0115 on the deep windows) FAILs at 0.005 too.
L6_WINDOW_TOL = 0.005


def _l6_windows(res: SimulationResults, th: Theory, ctx: Context, rng: np.random.Generator,
                tag: str, windows: Sequence[tuple[int, int]], bias_reason: str
                ) -> tuple[list[C.Criterion], np.ndarray, np.ndarray]:
    """L6.1 on depth ``windows`` of one run: the paired mean of realised minus predicted
    delta_phi chi per window, an equivalence with `L6_WINDOW_TOL` (0.005 at a single layer).
    Returns (criteria, realised (S, P), predicted (S, P))."""
    realised = np.exp(res["log_chi_loc4"] - res["log_chi_loc3"])
    predicted = th.delta_phi(res["nu1_abs_sq_signal_loc3"])
    out = []
    for lo, hi in windows:
        if hi > res.depth[-1]:
            continue
        cols = slice(depth_index(res.depth, lo), depth_index(res.depth, hi) + 1)
        diff = (realised[:, cols] - predicted[:, cols]).mean(axis=1)
        est = stats.mean_estimate(diff, rng, n_resamples=ctx.n_resamples)
        where = f"l={lo}" if lo == hi else f"l={lo}..{hi}"
        tol = 0.005 if lo == hi else L6_WINDOW_TOL
        out.append(C.equivalence(
            f"L6.1[{tag}{where}]", f"delta_phi chi - sqrt(2/(2 - E_c nu1^2)) at {where}, paired "
            f"mean{', ' + tag.strip() if tag else ''}", est, 0.0, tol,
            f"THEORY.md L6 (c1): 0.005, a dominating-term identity; {bias_reason}"
            + ("" if lo == hi else "; on 20-layer windows (paired-mean SE 0.0003-0.0007 at "
               "quick FC; conv 0.0006-0.0013 at 30 sims over seeds 0-6, hence 40 sims at "
               "quick; heavier-tailed deep), 0.005 > bias + 3 SE"),
            res.num_sims,
            perturbation=C.Perturbation.shift(float(predicted[:, cols].mean()),
                                              "the predicted increment sqrt(2/(2 - nu1^2))")))
    return out, realised, predicted


@claim(
    "L6",
    title="BN: (delta_phi chi)^2 = 2/(2 - nu1(|z|)^2); Gaussian delta_phi chi = 1.211174",
    paper=LABATIE,
    theory={
        "delta_phi": labatie.bn_relu_increment_from_sq,
        "delta_phi_gaussian": labatie.bn_relu_increment_gaussian,
    },
    sizes=BN_FF_SIZES,
    mutations=[
        Mutation("2/(2-nu1^2) -> 2/(2-nu1)",
                 {"delta_phi": lambda nu1_sq: np.sqrt(2.0 / (2.0 - np.sqrt(nu1_sq)))}),
        Mutation("2/(2-nu1^2) -> 1/(1-nu1^2/4)",
                 {"delta_phi": lambda nu1_sq: np.sqrt(1.0 / (1.0 - nu1_sq / 4))}),
        Mutation("pi/(pi-1) -> 1.4", {"delta_phi_gaussian": lambda: float(np.sqrt(1.4))}),
        nearby("Gaussian constant sqrt(pi/(pi-1)) = 1.2112 at every depth instead of the "
               "increment from the measured nu1 (the nu1 drift ignored: -0.9% by l = 200)",
               {"delta_phi": lambda nu1_sq: np.full(np.shape(nu1_sq),
                                                    labatie.bn_relu_increment_gaussian())},
               fails_at="quick"),
    ],
    criteria={
        "L6.1": "per depth window (layer 1, then 20-layer windows), mean paired difference "
                "delta_phi chi - sqrt(2/(2 - E_c nu1^2)) within +-0.005 at layer 1 and on "
                "the windows (THEORY.md: 0.005; TOST; Holm across depths and claims)",
        "L6.2": "layer 1, i.i.d. Gaussian inputs: sim mean of delta_phi chi^1 within 0.01 of "
                "1.211174",
        "L6.1[conv]": "the same paired identity on the 20-layer windows of conv bn_ff nets, "
                      "periodic and zero padding (the zero-padding run is L13 (c2)'s 'L6 "
                      "passes unchanged')",
    },
    setup="bn_ff FC (LeCun stem, He dense, BN eps=1e-3, ReLU), Gaussian inputs D=3072; "
          "delta_phi chi^l = chi_loc4 / chi_loc3; E_c nu1(|z_c|)^2 at loc3. Conv (Fig 4, "
          "C-bc): bn_ff with 3x3 He convs, periodic and zero padding, natural crops; quick/"
          "standard N=128, 8x8 maps, B=4; paper N=512, 16x16 maps, B=64 (nu1 per channel over "
          "B n^2 samples).",
    caveats="A dominating-term identity: per simulation the realised increment fluctuates by "
            "O(N^-1/2) around it; the mean over simulations is unbiased up to O(1/N).",
)
def _l6(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    res = bn_ff_run(ctx, size)
    n = res.num_sims
    rng = ctx.rng("L6")
    out, realised, predicted = _l6_windows(
        res, th, ctx, rng, "", L6_WINDOWS, "the O(1/N) bias of a ratio of channel averages is "
        "< 1e-3 at N=512 (measured +0.0002..+0.0006)")
    ctx.panel("delta_phi chi: realised vs 2/(2 - nu1^2)", "layer l", "delta_phi chi^l",
              overlay="chi_loc4 / chi_loc3", network="bn_ff") \
        .simulation(res.depth, realised, "realised chi_loc4 / chi_loc3") \
        .simulation(res.depth, predicted, "theory from measured nu1(|z|)") \
        .theory(res.depth, th.delta_phi_gaussian(), "Gaussian z: sqrt(pi/(pi-1))")
    j = depth_index(res.depth, 1)
    est = stats.mean_estimate(realised[:, j], rng, n_resamples=ctx.n_resamples)
    out.append(C.equivalence(
        "L6.2", "sim mean of delta_phi chi^1 (Gaussian z)", est, th.delta_phi_gaussian(), 0.01,
        "THEORY.md L6 (c2): z_c is a standardised sample of B Gaussians; its nu1 differs from "
        "sqrt(2/pi) by O(1/B)", n))
    # conv (Fig 4 / C-bc): the windows only; a single layer's paired difference has a
    # per-simulation sd of ~0.025 at N = 128, B = 4 (SE 0.005 at 30 sims: undecidable at 0.005)
    p = ctx.panel("L6 (Fig 4, conv): delta_phi chi, realised vs 2/(2 - nu1^2), by boundary",
                  "layer l", "delta_phi chi^l", caption=conv_bn_label(size))
    for b in CONV_BN_BOUNDARIES:
        cres = conv_bn_ff_run(ctx, size, b)
        crit, real_c, pred_c = _l6_windows(
            cres, th, ctx, rng, f"conv {b} ", L6_WINDOWS[1:],
            f"conv {b} N={size['cbn_width']}: the O(1/N) bias of the ratio of channel averages "
            "measured +0.0000..+0.0019 on 20 sims (N=64: up to +0.006, hence N >= 128)")
        out += crit
        p.simulation(cres.depth, real_c, f"{b}: realised")
        p.simulation(cres.depth, pred_c, f"{b}: from measured nu1")
    return out


# ============================================================================================
# Helpers
# ============================================================================================


def normal_estimate(x: np.ndarray, level: float = 0.99) -> Estimate:
    """Mean of i.i.d. draws ``x`` with its normal-theory standard error and interval.

    Used for synthetic Monte Carlo (10^5-10^6 draws), where a bootstrap would cost seconds and
    the central limit theorem is exact enough (the draws have finite variance).
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    value = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n))
    z = float(-special.ndtri((1 - level) / 2))
    return Estimate(value, se, (value - z * se, value + z * se), level, "normal", n)


def group_bootstrap(
    groups: Sequence[np.ndarray | Sequence[np.ndarray]],
    statistic: Callable[..., float],
    rng: np.random.Generator,
    *,
    n_resamples: int = 2000,
    level: float = 0.99,
) -> Estimate:
    """Percentile bootstrap of ``statistic(*groups)`` over *independent* groups of simulations.

    Each group is an array (or a tuple of arrays sharing axis 0, resampled with the same
    indices); groups (different runs, e.g. one per batch size) are resampled independently and
    may differ in size. ``statistic`` receives one array (or tuple) per group. The standard
    error is the standard deviation of the finite replicates; ``n`` is the total number of
    simulations.
    """
    packed = []
    for g in groups:
        tup = (g,) if isinstance(g, np.ndarray) else tuple(g)
        tup = tuple(np.asarray(a, dtype=float) for a in tup)
        if len({a.shape[0] for a in tup}) != 1:
            raise ValueError("arrays of one group must share axis 0 (their simulations)")
        packed.append(tup)

    def unpack(gs: list[tuple[np.ndarray, ...]]) -> list[Any]:
        return [t[0] if isinstance(g, np.ndarray) else t for t, g in zip(gs, groups, strict=True)]

    value = float(statistic(*unpack(packed)))
    sizes = [t[0].shape[0] for t in packed]
    total = int(sum(sizes))
    if min(sizes) < 2:
        return Estimate(value, math.inf, (-math.inf, math.inf), level, "percentile", total)
    reps = np.empty(n_resamples)
    for b in range(n_resamples):
        res = []
        for t, n in zip(packed, sizes, strict=True):
            idx = rng.integers(0, n, n)
            res.append(tuple(a[idx] for a in t))
        reps[b] = statistic(*unpack(res))
    reps = reps[np.isfinite(reps)]
    if reps.size < 10:
        return Estimate(value, math.inf, (-math.inf, math.inf), level, "percentile", total)
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(value, float(np.std(reps, ddof=1)), (float(lo), float(hi)), level,
                    "percentile", total)


def apply_records(fn: Callable[[np.ndarray, np.ndarray], float], eigvals: np.ndarray,
                  noise_proj: np.ndarray) -> np.ndarray:
    """``fn(eigvals[s, j], noise_proj[s, j])`` for every simulation s and depth j: (S, L)."""
    s, l = eigvals.shape[:2]
    out = np.empty((s, l))
    with single_threaded_blas():  # tiny eigh calls: BLAS threads only add wake-up latency
        for i in range(s):
            for j in range(l):
                out[i, j] = fn(eigvals[i, j], noise_proj[i, j])
    return out


def block_band_sq(logm: np.ndarray) -> np.ndarray:
    """Across-simulation variance of a log-moment at each measured depth, built from blocks.

    logm: ``(n_sims, P)`` values at the measured depths. Returns ``(P,)``: the variance at the
    first depth plus the cumulative sum of the across-simulation variances of the increments
    between successive measured depths. Equal to the variance at each depth when increments
    are uncorrelated (a diffusion, L3), with far less sampling noise than the variance of the
    endpoint itself.
    """
    logm = np.asarray(logm, dtype=float)
    inc = np.diff(logm, axis=1, prepend=0.0)
    return np.cumsum(inc.var(axis=0, ddof=1))


def band_at(depth: np.ndarray, per_sim: np.ndarray, where: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Centre (sim mean) and half-width of the 16-84% band of ``per_sim`` (S, P), interpolated
    linearly in depth at ``where`` (clamped to the measured range)."""
    lo, hi = np.percentile(per_sim, [16, 84], axis=0)
    m = per_sim.mean(axis=0)
    w = np.clip(where, depth[0], depth[-1])
    return np.interp(w, depth, m), np.interp(w, depth, (hi - lo) / 2)


def overlay_rms_z(res_curve: np.ndarray, ff_depth: np.ndarray, ff_per_sim: np.ndarray,
                  eff_depth: np.ndarray) -> float:
    """RMS over checkpoints of the band-standardised distance of a bn_res sim-mean curve from the
    bn_ff band at the effective depths: ``(m_res(l) - centre_ff(l_eff)) / halfwidth_ff(l_eff)``.
    Values below 1 mean the curve lies within the 1-sigma band on average."""
    centre, half = band_at(ff_depth, ff_per_sim, eff_depth)
    return float(np.sqrt(np.mean(((res_curve - centre) / half) ** 2)))


def window_slope(chi_product: Callable[..., np.ndarray], tau: float, log_l: np.ndarray
                 ) -> float:
    r"""Least-squares slope of :math:`\log\chi^l` on :math:`\log l` over the fitted units for
    :math:`\chi^l=\prod_{k\le l}(1+\eta/(k+c_0))^{1/2}`, :math:`\eta=2\tau` (L11 (a);
    ``chi_product`` = `theory.labatie.resnet_chi_product`). Tends to ``tau`` for large l; below
    it over finite windows."""
    lay = np.exp(np.asarray(log_l, dtype=float))
    return stats.line_slope(np.asarray(log_l, float), np.log(chi_product(lay, 2.0 * tau)))


def bn_res_net(width: int, units: int, res_depth: int, epsilon: float = 1e-3,
               measure_every: int = 1) -> Network:
    """`simulate.spec.bn_res` plus ``loc6`` = F^l at the end of the branch when H >= 2.

    Measurements have no side effect, so the network computes exactly the official bn_res; the
    extra loc gives the full-branch eta (chi_loc6 / chi_loc1) and mu2(F^l) of L10. For H = 1
    the branch ends at loc4.
    """
    base = spec.bn_res(width, units, res_depth, epsilon, measure_every)
    if res_depth == 1:
        return base
    unit = base.block[0]
    return base.replace(block=(Residual(unit.branch + (Measure("loc6"),)), base.block[1]))


def branch_loc(res_depth: int) -> str:
    """Loc holding the branch output F^l in `bn_res_net`."""
    return "loc4" if res_depth == 1 else "loc6"


def _merge(*groups: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f: {k: v for g in groups for k, v in g[f].items()} for f in ("quick", "standard",
                                                                          "paper")}


# ============================================================================================
# Runs and sizes
# ============================================================================================
#: The spectra run (L7 (c3), L8): bn_ff at the L6 width/batch/depth, measured every
#: ``spec_every`` layers (the official grid is every 2 layers).
SPECTRA_SIZES = {
    "quick": {"spec_sims": 30, "spec_every": 5},
    "standard": {"spec_sims": 80, "spec_every": 5},
    "paper": {"spec_sims": 1000, "spec_every": 2},
}
#: Synthetic Monte Carlo of L7 (c1, c2).
MC_SIZES = {f: {"mc_draws": 2_000_000, "aligned_draws": 1_000_000, "aligned_m": 1000}
            for f in ("quick", "standard", "paper")}
#: C-FC batch sizes besides the shared B = 64 run: ((B, sims), ...), measured every
#: ``batch_every`` layers.
BATCH_SIZES = {
    "quick": {"batch_runs": ((128, 24), (256, 24)), "batch_every": 10},
    # B = 512 left to paper (make run budget: it was the largest standard run, 26 s); the
    # batch-size mutations of L9 and L13 FAIL at quick with B = 128 and 256
    "standard": {"batch_runs": ((128, 40), (256, 30)), "batch_every": 10},
    "paper": {"batch_runs": ((128, 200), (256, 200), (512, 200)), "batch_every": 2},
}
#: epsilon = 0 run (L13 (c4)).
EPS_SIZES = {
    "quick": {"eps_sims": 20, "eps_every": 10},
    "standard": {"eps_sims": 40, "eps_every": 10},
    "paper": {"eps_sims": 200, "eps_every": 2},
}
#: The C-FC / Fig 5 resnet (H = 2), measured at every unit (L10).
RES_SIZES = {
    "quick": {"res_width": 512, "res_batch": 64, "res_units": 200, "res_h": 2, "res_sims": 60},
    "standard": {"res_width": 512, "res_batch": 64, "res_units": 500, "res_h": 2,
                 "res_sims": 60},
    "paper": {"res_width": 512, "res_batch": 64, "res_units": 500, "res_h": 2, "res_sims": 1000},
}
#: Gaussian-limit resnets (B = N: full-rank BN input, delta_BN = 1): ((H, sims), ...).
RESG_SIZES = {
    "quick": {"resg_width": 256, "resg_batch": 256, "resg_units": 300, "resg_every": 5,
              "resg_runs": ((1, 20), (2, 6), (3, 6))},
    "standard": {"resg_width": 256, "resg_batch": 256, "resg_units": 300, "resg_every": 5,
                 "resg_runs": ((1, 40), (2, 12), (3, 12))},
    "paper": {"resg_width": 256, "resg_batch": 256, "resg_units": 300, "resg_every": 5,
              "resg_runs": ((1, 100), (2, 100), (3, 100))},
}
#: Shallow bn_ff (L6 width and batch) for the L12 overlay bands: only depths l <= 16 are needed
#: (l_eff(500) = 11 for H = 2), so many simulations are cheap.
OVERLAY_SIZES = {
    "quick": {"ovl_depth": 16, "ovl_sims": 150},
    "standard": {"ovl_depth": 16, "ovl_sims": 300},
    "paper": {"ovl_depth": 16, "ovl_sims": 1000},
}
#: Vanilla width comparison (L13 (c1)). standard: 1000 per width (was 600): with 1200 sims
#: the nearby band exponent 0.4 (ratio 1.74, band edge 0.13 below the prediction) was
#: INCONCLUSIVE at seed 0 (estimate 1.972, 1.9 se low; "about 1455 simulations would FAIL
#: it"); 2000 put the Holm-adjusted interval's edge ~3 se inside. ~0.014 s per simulation.
VAN_SIZES = {
    "quick": {"van_widths": (128, 512), "van_batch": 8, "van_sims": 300, "van_every": 10},
    "standard": {"van_widths": (128, 512), "van_batch": 8, "van_sims": 1000, "van_every": 10},
    "paper": {"van_widths": (128, 512), "van_batch": 1024, "van_sims": 10000, "van_every": 2},
}


def spectra_run(ctx: Context, size: Mapping[str, Any]) -> SimulationResults:
    """bn_ff (L6 width, batch, depth) with the ``spectra`` family, every ``spec_every`` layers."""
    net = spec.bn_ff(size["bn_width"], size["bn_depth"], measure_every=size["spec_every"])
    return ctx.simulate(net, GAUSSIAN_3072, batch_size=size["bn_batch"],
                        num_sims=size["spec_sims"],
                        options=EngineOptions(families=("moments", "spectra")),
                        name="bn_ff spectra")


def batch_runs(ctx: Context, size: Mapping[str, Any]) -> list[tuple[int, SimulationResults]]:
    """[(B, results)] for B = the shared run's batch, then the C-FC batch sizes."""
    out = [(size["bn_batch"], bn_ff_run(ctx, size))]
    for b, n in size["batch_runs"]:
        net = spec.bn_ff(size["bn_width"], size["bn_depth"], measure_every=size["batch_every"])
        out.append((b, ctx.simulate(net, GAUSSIAN_3072, batch_size=b, num_sims=n,
                                    name=f"bn_ff B={b}")))
    return out


def res_run(ctx: Context, size: Mapping[str, Any]) -> SimulationResults:
    """The C-FC bn_res run (every unit, ``loc6`` at the branch end; r_eff of the signal only)."""
    net = bn_res_net(size["res_width"], size["res_units"], size["res_h"])
    return ctx.simulate(net, GAUSSIAN_3072, batch_size=size["res_batch"],
                        num_sims=size["res_sims"], options=EngineOptions(compute_reff_noise=False),
                        name="bn_res")


def resg_runs(ctx: Context, size: Mapping[str, Any]) -> dict[int, SimulationResults]:
    """{H: results} of the Gaussian-limit resnets (no effective ranks: they are not used)."""
    opts = EngineOptions(compute_reff_signal=False, compute_reff_noise=False)
    out = {}
    for h, n in size["resg_runs"]:
        net = bn_res_net(size["resg_width"], size["resg_units"], h,
                         measure_every=size["resg_every"])
        out[h] = ctx.simulate(net, GAUSSIAN_3072, batch_size=size["resg_batch"], num_sims=n,
                              options=opts, name=f"bn_res G H={h}")
    return out


def increments(res: SimulationResults, num: str, den: str) -> np.ndarray:
    """Per-simulation increment ``chi_num / chi_den`` (S, P)."""
    return np.exp(res[f"log_chi_{num}"] - res[f"log_chi_{den}"])


# ============================================================================================
# L7
# ============================================================================================
L7_KS = (100, 512, 4608)
L7_RS = (8, 20, 50)
#: Tolerance of L7.3, the signed mean relative error (reason in the check), FC and conv.
L7_SIGNED_TOL = 0.002
L7_CONV_SIGNED_TOL = 0.003


@claim(
    "L7",
    title="Conv+BN increment: exact integral for delta_BN chi; r(K-2)/(K(r-2)) for rank-r signal",
    paper=LABATIE,
    theory={
        "delta_bn_sq_rank_r": labatie.delta_bn_sq_rank_r,
        "aligned_noise_limit": labatie.aligned_noise_limit,
        "delta_bn_sq": labatie.delta_bn_sq_from_spectra,
        "delta_bn_floor": 1.0,
    },
    sizes=_merge(BN_FF_SIZES, SPECTRA_SIZES, MC_SIZES, CONV_SPECTRA_SIZES),
    mutations=[
        Mutation("r(K-2)/(K(r-2)) -> r/(r-2) (finite-K factor dropped)",
                 {"delta_bn_sq_rank_r": lambda r, k: np.asarray(r, float) / (np.asarray(r) - 2)}),
        Mutation("E 1/chi2_r = 1/(r-1): r(K-2)/(K(r-1))",
                 {"delta_bn_sq_rank_r": lambda r, k: r * (k - 2) / (k * (np.asarray(r) - 1.0))}),
        Mutation("aligned limit 2 E[g^2/(1+g^2)] -> E[g^2/(1+g^2)]",
                 {"aligned_noise_limit": lambda: labatie.aligned_noise_limit() / 2}),
        Mutation("in-network integral -> closed form r/(r-2) with r = r_eff(C)",
                 {"delta_bn_sq": lambda lam, p: float(
                     (lam.sum() / lam.max()) / (lam.sum() / lam.max() - 2))}),
        # the batch of B inputs gives a rank-(B-1) signal in K = N dimensions: the isotropic
        # closed form with those r, K ignores the anisotropy of C and D (2.4% vs 1.4% effect)
        nearby("in-network integral -> isotropic rank-(B-1) closed form r(K-2)/(K(r-2)), "
               "r = B-1, K = N",
               {"delta_bn_sq": lambda lam, p: float(labatie.delta_bn_sq_rank_r(
                   lam.size - 1, BN_FF_SIZES["standard"]["bn_width"]))}, fails_at="quick"),
    ],
    criteria={
        "L7.1": "synthetic w ~ N(0, I_K), C = lambda P_r, D = d I_K, K in {100, 512, 4608}, "
                "r in {8, 20, 50}: mean of (tr C/tr D) w'Dw/w'Cw within 1% of r(K-2)/(K(r-2)) "
                "(2 x 10^6 draws: the ratio has a heavy right tail at r = 8, where 1/chi2_r has "
                "a variance but no fourth moment)",
        "L7.2": "aligned noise C = diag(M, 1..1), D = e1 e1': (delta_BN)^2 significantly below 1; "
                "and within the O(1/M) bias of 2 E[g^2/(1+g^2)] = 0.688",
        "L7.3": "bn_ff FC: mean over depths of the signed relative error sim mean realised "
                "delta_BN chi / sim mean of the integral with measured C, D at loc1 - 1 within "
                "0.2% (paired bootstrap over simulations)",
        "L7.3[MARE]": "THEORY.md (c3) as stated: mean over depths of |sim mean realised "
                      "delta_BN chi / sim mean of the integral - 1| below 1%",
        "L7.3[conv]": "the same two criteria on a periodic conv bn_ff net, with the 9N x 9N "
                      "patch covariance C and noise second moment D at loc1 (signed error "
                      "within 0.3%)",
    },
    setup="(c1, c2) chi-square draws of w'Cw and w'Dw (exact in distribution for these C, D); "
          "(c3) bn_ff FC N=512, B=64, depth 200, spectra at loc1 every spec_every layers; "
          "delta_BN chi = chi_loc3 / chi_loc1. Conv (c3): periodic 3x3 bn_ff on natural crops "
          "(quick/standard N=128, 8x8 maps, B=4, every 10 layers; paper N=512, 16x16 maps, "
          "B=8), patch spectra at loc1 from the (B n^2)^2 patch Gram matrix.",
    caveats="epsilon (1e-3) is ignored by the integral; its effect on the ratio chi_loc3/chi_loc1 "
            "cancels to first order (both mu2(dz) and mu2(z) shrink by 1 - eps/s^2).",
)
def _l7(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    out = []
    rng = ctx.rng("L7.mc")
    n = size["mc_draws"]
    for k in L7_KS:
        for r in L7_RS:
            xr = rng.chisquare(r, n)
            xo = rng.chisquare(k - r, n)
            ratio = (r / k) * (1.0 + xo / xr)  # (tr C / tr D) w'Dw / w'Cw, lambda = d = 1
            out.append(C.relative_equivalence(
                f"L7.1[K={k},r={r}]", f"Monte Carlo (delta_BN)^2, K={k}, r={r}",
                normal_estimate(ratio), float(th.delta_bn_sq_rank_r(r, k)), 0.01,
                "THEORY.md L7 (c1): 1% relative; the closed form is exact, so only Monte Carlo "
                "error remains", n))
    # (c2) aligned noise: C = diag(M, 1, ..., 1) (K = M + 1), D = e1 e1^T
    m = size["aligned_m"]
    na = size["aligned_draws"]
    g2 = rng.standard_normal(na) ** 2
    rest = rng.chisquare(m, na)
    aligned = (2.0 * m) * g2 / (m * g2 + rest)  # tr C = 2M, tr D = 1
    est = normal_estimate(aligned)
    out.append(C.bound(
        "L7.2", f"aligned-noise example (M={m}): (delta_BN chi)^2 below 1", est,
        th.delta_bn_floor, "below",
        "THEORY.md L7 (c2): one-sided; refutes a general delta_BN >= 1", na))
    out.append(C.equivalence(
        "L7.2[limit]", f"aligned-noise example (M={m}) vs its M -> inf limit", est,
        th.aligned_noise_limit(), 4.0 / m,
        f"derived: with X = chi2_M / M = 1 + O(M^-1/2) the finite-M mean exceeds the limit by "
        f"(2/M) E[2g^2/(1+g^2)^3] + o(1/M) < 4/M = {4.0 / m:.3g}", na))
    # (c3) in-network
    res = spectra_run(ctx, size)
    crit, real, pred = _l7_in_network(
        res, th, ctx, "", L7_SIGNED_TOL,
        "tightened from THEORY.md's 1% MARE (discrepancies table): the realised (delta_BN chi)^2 "
        "is the mean over the N channels of (tr C/tr D) w'Dw/w'Cw, whose kernel expectation is "
        "the integral, so the only biases are the square root (-Var/8 of the per-simulation "
        "ratio, sd 0.8%: -3e-5) and epsilon = 1e-3 (first order cancels; < 5e-5): |bias| < "
        "1e-4, not shifted. 0.2% = that bound plus 8 standard errors of the quick estimate "
        "(2.4e-4, 30 simulations x 40 depths)", "N=512")
    out += crit
    cres = conv_spectra_run(ctx, size)
    crit, creal, cpred = _l7_in_network(
        cres, th, ctx, "conv ", L7_CONV_SIGNED_TOL,
        "conv (THEORY.md: 'the relevant C is the patch covariance'): C, D are the 9N x 9N patch "
        "matrices of loc1 (periodic: tr C / tr D = mu2(x) / mu2(dx) exactly, since every pixel "
        "lies in 9 patches); the same biases (square root: -Var/8 with a per-simulation sd of "
        "0.9%, -1e-5; epsilon < 5e-5): |bias| < 1e-4, not shifted; 0.3% = that bound plus 7 "
        "standard errors of the quick estimate (4e-4: per-simulation sd of the depth mean "
        "0.22%, 30 simulations x 20 depths, measured)",
        f"N={size['cspec_width']}, periodic")
    out += crit
    ctx.panel("L7: delta_BN chi, realised vs the integral with measured C, D", "layer l",
              "delta_BN chi^l", overlay="chi_loc3 / chi_loc1", network="bn_ff") \
        .simulation(res.depth, real, "realised chi_loc3 / chi_loc1") \
        .theory(res.depth, np.nanmean(pred, axis=0), "L7 integral (measured C, D at loc1), "
                "sim mean")
    m = size["cspec_image"] // 2
    ctx.panel("L7 (conv): delta_BN chi, realised vs the integral with the measured patch C, D",
              "layer l", "delta_BN chi^l",
              caption=f"conv bn_ff N={size['cspec_width']}, periodic, {m}x{m} maps, "
                      f"B={size['cspec_batch']}, natural crops, {size['cspec_sims']} sims") \
        .simulation(cres.depth, creal, "realised chi_loc3 / chi_loc1") \
        .theory(cres.depth, np.nanmean(cpred, axis=0), "L7 integral (9N x 9N patch C, D at "
                "loc1), sim mean")
    return out


def _l7_in_network(res: SimulationResults, th: Theory, ctx: Context, tag: str, tol: float,
                   tol_reason: str, where: str
                   ) -> tuple[list[C.Criterion], np.ndarray, np.ndarray]:
    """L7 (c3) on one spectra run: the signed mean relative error (equivalence at ``tol``) and
    THEORY.md's MARE below 1%. Returns (criteria, realised (S, P), integral (S, P))."""
    real = increments(res, "loc3", "loc1")
    pred = np.sqrt(apply_records(th.delta_bn_sq, res["cov_eigvals_loc1"],
                                 res["noise_proj_loc1"]))

    def signed(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean(a.mean(axis=0) / b.mean(axis=0) - 1.0))

    def mare(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean(np.abs(a.mean(axis=0) / b.mean(axis=0) - 1.0)))

    label = f"L7.3[{tag.strip()}]" if tag else "L7.3"
    est = stats.bootstrap((real, pred), signed, ctx.rng(label), method="percentile",
                          n_resamples=ctx.n_resamples)
    out = [C.equivalence(
        label, f"mean over {res.depth.size} depths of sim mean realised delta_BN chi / sim mean "
        f"of the integral - 1 (paired), {where}", est, 0.0, tol, tol_reason, res.num_sims,
        perturbation=C.Perturbation.ratio("the L7 integral (every depth)"))]

    def mare_est(delta: float) -> Estimate:
        return stats.bootstrap((real, pred * (1.0 + delta)), mare, ctx.rng(f"{label}[MARE]"),
                               method="percentile", n_resamples=ctx.n_resamples)

    out.append(C.bound(
        f"L7.3[{tag}MARE]", f"mean abs relative error, sim means of realised delta_BN chi vs "
        f"the integral, {res.depth.size} depths, {where}", mare_est(0.0), 0.01, "below",
        "THEORY.md L7 (c3): 1%; the integral is the exact expectation over the kernels, the "
        "realised value their channel average (averaged over simulations); the noise in the "
        "estimate only inflates it (conservative)",
        res.num_sims, perturbation=C.Perturbation.custom(mare_est, "the L7 integral")))
    return out, real, pred


# ============================================================================================
# L8
# ============================================================================================
L8_WINDOW = (100, 200)
#: Precision part of L8.1's tolerance: 6 standard errors (0.14%) of the quick estimate.
L8_PRECISION_MARGIN = 0.008


@claim(
    "L8",
    title="BN-FF: chi grows exponentially; gamma vs the assembled prediction (L6 x L7)",
    paper=LABATIE,
    theory={
        "assembled_rate": labatie.bn_ff_assembled_rate,
        "delta_bn_sq": labatie.delta_bn_sq_from_spectra,
        "log_increment_bias": labatie.bn_ff_log_increment_bias,
        "gamma_band": (0.1, 0.25),
        "gamma_lower_bound": labatie.gamma_lower_bound,
        "min_increment": 1.1,
    },
    sizes=_merge(BN_FF_SIZES, SPECTRA_SIZES, CONV_SPECTRA_SIZES),
    mutations=[
        Mutation("delta_BN omitted from the assembled rate (delta_BN = 1)",
                 {"assembled_rate": lambda nu1, dbn: labatie.bn_ff_assembled_rate(
                     nu1, np.ones_like(dbn))}),
        Mutation("delta_phi from nu1 instead of nu1^2: 2/(2 - nu1)",
                 {"assembled_rate": lambda nu1, dbn: labatie.bn_ff_assembled_rate(
                     np.sqrt(nu1), dbn)}),
        # the Gaussian reference rate taken as the prediction: ignores the nu1 drift (L6) and
        # delta_BN > 1 (L7); 8% below the measured gamma
        nearby("assembled rate -> the constant Gaussian rate gamma_G = 0.19159",
               {"assembled_rate": lambda nu1, dbn: np.full(np.shape(nu1)[:-1],
                                                           labatie.gamma_gaussian())},
               fails_at="quick"),
    ],
    criteria={
        "L8.1": "fit E log chi^l = a + gamma l on l in [100, 200] (loc4): |gamma / hat gamma - 1| "
                "within the derived O(1/N)-per-layer bias of E log of realised increments plus "
                "0.8% (about 1%; THEORY.md: 10%), hat gamma = mean_l log(hat delta_phi hat "
                "delta_BN) from measured nu1 (L6) and the L7 integral on the same simulations",
        "L8.2": "gamma in [0.1, 0.25] (band around gamma_G = 0.19159): TOST on the band",
        "L8.3": "min over l of the sim mean of delta chi^l = chi_loc4 / chi_loc1 above 1.1",
        "L8.4": "gamma above the rigorous bound (1/2) log(2/(2 - 1/kappa_M)), M = B",
        "L8.1[conv]": "the same on the periodic conv spectra run of L7 (c3), hat delta_BN from "
                      "the 9N x 9N patch C, D",
        "L8.2-4[conv]": "the same band, minimum increment and bound on the conv bn_ff runs "
                        "(periodic, zero padding; M = B n^2)",
    },
    setup="bn_ff FC N=512, B=64, depth 200: the spectra run (c1, c2, c4) and the shared L6 run "
          "(c3, every layer). Conv: (c1) the L7 conv spectra run (periodic), (c2-c4) the L6 "
          "conv bn_ff runs (N=128, 8x8 maps, B=4 at quick/standard; Fig 4 sizes at paper).",
    caveats="The assembled rate uses dominating terms (expectations of squared increments); "
            "E log of the realised increments differs by O(1/N) per layer.",
)
def _l8(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    res = spectra_run(ctx, size)
    lo, hi = L8_WINDOW
    rng = ctx.rng("L8")
    n = res.num_sims
    out = []
    est, gh, x, logchi, bias, bias_rel = _assembled_rate_fit(
        res, th, ctx, rng, size["bn_width"], size["bn_batch"])
    tol = bias_rel + L8_PRECISION_MARGIN
    out.append(C.equivalence(
        "L8.1", f"gamma / hat gamma - 1 (hat gamma = {gh.mean():.4f}), l in [{lo}, {hi}]", est,
        0.0, tol,
        f"tightened from THEORY.md's 10% (discrepancies table): hat gamma uses dominating terms; "
        f"E log of the realised increments differs by the derived O(1/N) per-layer bias "
        f"(theory.labatie.bn_ff_log_increment_bias: {bias:.2g} per layer = {100 * bias_rel:.2f}% "
        f"of hat gamma; the paired per-layer log(realised / dominating) measured on the standard "
        f"run: ReLU step +2e-4 +- 2.5e-4, BN step -2e-4 +- 2.2e-4), plus "
        f"{100 * L8_PRECISION_MARGIN:.1f}% = 6 standard errors of the quick estimate (0.14%, 30 "
        f"simulations), so that the true theory stays decided over seeds", n,
        perturbation=C.Perturbation.ratio("the assembled rate hat gamma")))
    gam = stats.fit_line(x, logchi, rng, n_resamples=ctx.n_resamples)
    b_lo, b_hi = th.gamma_band
    out.append(C.equivalence(
        "L8.2", f"gamma (slope of E log chi^l, l in [{lo}, {hi}]) within [{b_lo}, {b_hi}]", gam,
        (b_lo + b_hi) / 2, (b_hi - b_lo) / 2,
        "THEORY.md L8 (c2): the stated band around gamma_G (TOST = the CI inside the band)", n,
        ).labelled("sanity", "the band is +-36% of gamma_G, about 180 standard errors at quick: "
                   "every plausible rate (gamma_G, hat gamma, either without delta_BN) lies in it; "
                   "L8.1 is the quantitative test"))
    shared = bn_ff_run(ctx, size)
    dchi = increments(shared, "loc4", "loc1")
    est = stats.bootstrap(dchi, lambda a: float(a.mean(axis=0).min()), rng, method="percentile",
                          n_resamples=ctx.n_resamples)
    out.append(C.bound(
        "L8.3", f"min over l = 1..{shared.depth[-1]} of the sim mean of delta chi^l", est,
        th.min_increment, "above",
        "THEORY.md L8 (c3): one-sided; the min of noisy means is biased low (conservative)",
        shared.num_sims).labelled(
            "sanity", "the threshold 1.1 is ~80 standard errors below the measured minimum "
            "(~1.22): any theory with delta_phi near its Gaussian value 1.211 passes"))
    out.append(C.bound(
        "L8.4", f"gamma above the rigorous lower bound (M = B = {size['bn_batch']})", gam,
        float(th.gamma_lower_bound(size["bn_batch"])), "above",
        "THEORY.md L8 (c4): one-sided (FC: M = B n^2 = B atoms)", n,
        ).labelled("sanity", "the bound (~1/(4M) = 0.004) is 50x below gamma: any theory with "
                   "exponential growth satisfies it"))
    ctx.panel("L8: E log chi^l (loc4) and the assembled rate", "layer l", "log chi^l",
              overlay="log(chi_loc4)", network="bn_ff") \
        .simulation(res.depth, res["log_chi_loc4"], "simulation") \
        .theory(x, logchi.mean() + gh.mean() * (x - x.mean()), "assembled rate hat gamma")
    out += _l8_conv(ctx, th, size, rng)
    return out


#: Precision part of L8.1[conv]'s tolerance: 6 standard errors (0.16%) of the quick estimate.
L8_CONV_PRECISION_MARGIN = 0.01


def _assembled_rate_fit(res: SimulationResults, th: Theory, ctx: Context,
                        rng: np.random.Generator, width: int, atoms: int
                        ) -> tuple[Estimate, np.ndarray, np.ndarray, np.ndarray, float, float]:
    """L8 (c1) on a spectra run: the bootstrap estimate of gamma / hat gamma - 1 on
    `L8_WINDOW`, hat gamma per simulation (measured nu1 x the L7 integral), the window's depths
    and log chi (loc4), and the derived per-layer bias of E log of the realised increments
    (absolute, and relative to hat gamma). ``atoms``: samples per channel (FC: B; conv: B n^2)."""
    lo, hi = L8_WINDOW
    win = (res.depth >= lo) & (res.depth <= hi)
    x = res.depth[win].astype(float)
    logchi = res["log_chi_loc4"][:, win]
    nu1 = np.sqrt(res["nu1_abs_sq_signal_loc3"][:, win])
    dbn = np.sqrt(apply_records(th.delta_bn_sq, res["cov_eigvals_loc1"][:, win],
                                res["noise_proj_loc1"][:, win]))
    gh = np.asarray(th.assembled_rate(nu1, dbn), dtype=float)  # per simulation

    def rel(a: np.ndarray, g: np.ndarray) -> float:
        return stats.line_slope(x, a.mean(axis=0)) / float(g.mean()) - 1.0

    est = stats.bootstrap((logchi, gh), rel, rng, method="percentile",
                          n_resamples=ctx.n_resamples)
    # derived size of the per-layer bias of E log(realised increment) against the log of the
    # dominating terms, from the measured kurtosis, nu1 and the per-channel spread of the BN
    # ratio (v_q = N x the relative variance of realised / integral (delta_BN chi)^2)
    real_bn_sq = increments(res, "loc3", "loc1")[:, win] ** 2
    v_q = width * float(np.var(real_bn_sq / dbn**2))
    bias = float(th.log_increment_bias(width, atoms, float(res["mu4_signal_loc3"][:, win].mean()),
                                       float(res["nu1_abs_sq_signal_loc3"][:, win].mean()), v_q))
    return est, gh, x, logchi, bias, bias / abs(float(gh.mean()))


def _l8_conv(ctx: Context, th: Theory, size: Mapping[str, Any], rng: np.random.Generator
             ) -> list[C.Criterion]:
    """L8 (c2)-(c4) on the conv bn_ff runs, one per boundary (Fig 4, C-bc)."""
    lo, hi = L8_WINDOW
    m_atoms = size["cbn_batch"] * (size["cbn_image"] // 2) ** 2
    out = []
    # (c1) on the conv spectra run: the assembled rate from measured nu1 and the L7 integral on
    # the 9N x 9N patch C, D at loc1
    res = conv_spectra_run(ctx, size)
    cw = size["cspec_width"]
    m_spec = size["cspec_batch"] * (size["cspec_image"] // 2) ** 2
    est, gh, _, _, bias, bias_rel = _assembled_rate_fit(res, th, ctx, rng, cw, m_spec)
    out.append(C.equivalence(
        "L8.1[conv]", f"gamma / hat gamma - 1 (hat gamma = {gh.mean():.4f}), l in [{lo}, {hi}], "
        f"conv bn_ff N={cw}, periodic (the L7 conv spectra run)", est, 0.0,
        bias_rel + L8_CONV_PRECISION_MARGIN,
        f"as L8.1, with hat delta_BN the L7 integral on the 9N x 9N patch C, D: the derived "
        f"O(1/N) per-layer bias with M = B n^2 = {m_spec} atoms ({bias:.2g} per layer = "
        f"{100 * bias_rel:.2f}% of hat gamma; measured paired per-layer log(realised / "
        f"dominating) at quick: ReLU step +7e-4 +- 6e-4, BN step -5e-4 +- 5e-4), plus "
        f"{100 * L8_CONV_PRECISION_MARGIN:.0f}% = 6 standard errors of the quick estimate "
        f"(0.16%, 30 simulations)", res.num_sims,
        perturbation=C.Perturbation.ratio("the assembled rate hat gamma")))
    p = ctx.panel("L8 (Fig 4, conv): E log chi^l (loc4) by boundary", "layer l", "log chi^l",
                  caption=conv_bn_label(size))
    for b in CONV_BN_BOUNDARIES:
        r = conv_bn_ff_run(ctx, size, b)
        win = (r.depth >= lo) & (r.depth <= hi)
        gam = stats.fit_line(r.depth[win].astype(float), r["log_chi_loc4"][:, win], rng,
                             n_resamples=ctx.n_resamples)
        b_lo, b_hi = th.gamma_band
        out.append(C.equivalence(
            f"L8.2[conv {b}]", f"gamma (slope of E log chi^l, l in [{lo}, {hi}]) within "
            f"[{b_lo}, {b_hi}], {conv_bn_label(size)}, {b}", gam, (b_lo + b_hi) / 2,
            (b_hi - b_lo) / 2, "THEORY.md L8 (c2): the stated band (TOST = the CI inside it)",
            r.num_sims).labelled("sanity", "the band is +-36% of gamma_G: L8.1[conv] is the "
                                 "quantitative test"))
        dchi = increments(r, "loc4", "loc1")
        est = stats.bootstrap(dchi, lambda a: float(a.mean(axis=0).min()), rng,
                              method="percentile", n_resamples=ctx.n_resamples)
        out.append(C.bound(
            f"L8.3[conv {b}]", f"min over l = 1..{r.depth[-1]} of the sim mean of delta chi^l, "
            f"conv {b}", est, th.min_increment, "above",
            "THEORY.md L8 (c3): one-sided; the min of noisy means is biased low (conservative)",
            r.num_sims).labelled("sanity", "measured minimum ~1.16-1.19, far above 1.1"))
        out.append(C.bound(
            f"L8.4[conv {b}]", f"gamma above the rigorous lower bound (M = B n^2 = {m_atoms})",
            gam, float(th.gamma_lower_bound(m_atoms)), "above",
            "THEORY.md L8 (c4): one-sided, M = B n^2 atoms per channel", r.num_sims,
            ).labelled("sanity", "the bound ~1/(4M) is far below gamma"))
        p.simulation(r.depth, r["log_chi_loc4"], b)
    return out


# ============================================================================================
# L9
# ============================================================================================
#: Why L9 (c2) has no verdict at the reduced conv sizes (measured 2026-12-06, quick seed 0,
#: 30 sims per boundary): periodic, N=128, 8x8 maps, B=4: mu4 stays at 4.6-4.8 from l=20 to
#: l=200 (Spearman 0.64 for mu4, -0.60 for nu1); zero padding: 4.9 -> 7.6 (Spearman 0.985 /
#: -0.982). Earlier, N=64, 8x8, B=8: mu4 saturates near 13 from l ~ 100 (Spearman 0.87).
L9_CONV_REDUCED = (
    "at the reduced conv sizes the periodic trend is flat: N=128, 8x8 maps, B=4 (M = 256 "
    "atoms): mu4 stays at 4.6-4.8 over l = 20..200, Spearman 0.64 / -0.60 (zero padding: 0.985 "
    "/ -0.982); N=64, 8x8, B=8: mu4 saturates near 13 from l ~ 100 (Spearman 0.87). Fig 4d's "
    "monotone trend is a statement at N=512, 16x16 maps, B=64 (M = 16 384): verdict at "
    "fidelity 'paper'")


@claim(
    "L9",
    title="BN-FF fat tails: 1/nu1^2 <= mu4 <= M - 2 + 1/(M-1); mu4 grows with the batch (FC)",
    paper=LABATIE,
    theory={"kurtosis_bounds": labatie.kurtosis_bounds, "kappa_m": labatie.kappa_m,
            "mu4_batch_trend": +1, "depth_trend": +1},
    sizes=_merge(BN_FF_SIZES, BATCH_SIZES),
    mutations=[
        Mutation("Gaussian kurtosis as the lower bound: mu4 >= 3",
                 {"kurtosis_bounds": lambda mu4, nu1, m: (np.asarray(mu4) >= 3.0)
                  & (np.asarray(mu4) <= labatie.kappa_m(m))}),
        # plausible: larger batches give batch statistics closer to the population ones, so
        # one may expect more Gaussian BN outputs; the M-atom cap kappa_B says the opposite
        nearby("larger batches keep the signal less fat-tailed (mu4 decreases with B)",
               {"mu4_batch_trend": -1}, fails_at="quick"),
        nearby("depth Gaussianises the BN signal (central-limit intuition: mu4 falls, nu1 "
               "rises with depth)", {"depth_trend": -1}, fails_at="paper"),
    ],
    criteria={
        "L9.1": "1/nu1(|z|)^2 <= mu4(z) <= kappa_B at loc3 in every simulation and depth, every "
                "batch size",
        "L9.2": "conv (periodic, zero padding): Spearman of sim means with depth (l >= 20) > "
                "0.9 for mu4, < -0.9 for nu1",
        "L9.3": "FC: sim mean of mu4(z^200) increases with B (each consecutive pair)",
    },
    setup="bn_ff FC N=512, depth 200, B = 64 (shared L6 run) and the C-FC batch sizes; mu4, "
          "nu1 at loc3 (channel averages). Conv (c1, c2): the L6 conv bn_ff runs (periodic, "
          "zero padding; N=128, 8x8 maps, B=4 at quick/standard, Fig 4 sizes at paper).",
)
def _l9(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    runs = batch_runs(ctx, size)
    out = []
    for b, res in runs:
        ok = np.asarray(th.kurtosis_bounds(res["mu4_signal_loc3"], res["nu1_abs_signal_loc3"],
                                           b))
        out.append(C.holds(
            f"L9.1[B={b}]", f"bounds hold at {ok.size} (simulation, depth) points, B={b} "
                            f"(max mu4 {res['mu4_signal_loc3'].max():.2f}, kappa_B "
                            f"{float(th.kappa_m(b)):.2f})",
            bool(ok.all()), "THEORY.md L9 (c1): exact inequalities (relative float tolerance "
            "1e-9 in theory.labatie.kurtosis_bounds)", res.num_sims, float(ok.mean())).labelled(
                "identity", "Hoelder + Jensen and the M-atom bound are inequalities of any "
                "centred unit-variance distribution on M = B atoms: they hold for every sample, "
                "so they check the estimators, not the network"))
    shared = runs[0][1]
    deep = shared.depth >= 20
    s_mu4 = stats.spearman(shared["mu4_signal_loc3"].mean(axis=0)[deep], shared.depth[deep])
    s_nu1 = stats.spearman(shared["nu1_abs_signal_loc3"].mean(axis=0)[deep], shared.depth[deep])
    fc_note = (f"not asserted for FC, whose statistics saturate early (C-FC notebook, "
               f"'pathologies saturate earlier'); measured at FC B={runs[0][0]}: Spearman "
               f"{s_mu4:.2f} for mu4, {s_nu1:.2f} for nu1")
    rng = ctx.rng("L9.2")
    m_atoms = size["cbn_batch"] * (size["cbn_image"] // 2) ** 2
    for b in CONV_BN_BOUNDARIES:
        r = conv_bn_ff_run(ctx, size, b)
        ok = np.asarray(th.kurtosis_bounds(r["mu4_signal_loc3"], r["nu1_abs_signal_loc3"],
                                           m_atoms))
        out.append(C.holds(
            f"L9.1[conv {b}]", f"bounds hold at {ok.size} (simulation, depth) points, "
            f"{conv_bn_label(size)}, {b} (M = B n^2 = {m_atoms}; max mu4 "
            f"{r['mu4_signal_loc3'].max():.2f})", bool(ok.all()),
            "THEORY.md L9 (c1), per channel over B n^2 samples", r.num_sims, float(ok.mean()),
        ).labelled("identity", "inequalities of any centred unit-variance distribution on M "
                   "atoms"))
        deep = r.depth >= 20
        for q, sign in (("mu4", +1.0), ("nu1_abs", -1.0)):
            arr = r[f"{q}_signal_loc3"][:, deep]
            sgn = sign * float(th.depth_trend)
            est = stats.bootstrap(arr, lambda a, d=r.depth[deep], s_=sgn: s_ * stats.spearman(
                a.mean(axis=0), d), rng, method="percentile", n_resamples=ctx.n_resamples)
            name = "mu4" if q == "mu4" else "nu1(|z|)"
            c = C.bound(
                f"L9.2[conv {b} {name}]", f"{'+' if sgn > 0 else '-'}Spearman correlation with "
                f"depth of the sim mean of {name}(z^l), l >= 20, {conv_bn_label(size)}, {b}",
                est, 0.9, "above", f"THEORY.md L9 (c2): one-sided, Spearman "
                f"{'> 0.9' if sign > 0 else '< -0.9'} (bootstrap over simulations; {fc_note})",
                r.num_sims)
            if conv_bn_reduced(size):
                c = C.known_discrepancy(c, L9_CONV_REDUCED)
            out.append(c)
    rng = ctx.rng("L9.3")
    sign = float(th.mu4_batch_trend)
    last = []
    for b, res in runs:
        last.append((b, res["mu4_signal_loc3"][:, depth_index(res.depth, size["bn_depth"])]))
    for (b1, a1), (b2, a2) in zip(last[:-1], last[1:], strict=True):
        est = group_bootstrap([a1, a2], lambda u, v: sign * (float(v.mean()) - float(u.mean())),
                              rng, n_resamples=ctx.n_resamples)
        out.append(C.bound(
            f"L9.3[B={b1}<{b2}]", f"{'+' if sign > 0 else '-'}(mean mu4(z^200) at B={b2} minus "
            f"B={b1})", est, 0.0, "above",
            "THEORY.md L9 (c3): one-sided ordering (kappa_B caps mu4 for small B)",
            a1.shape[0] + a2.shape[0],
            perturbation=C.Perturbation.shift(
                float(a1.mean()), f"the ordering, as a predicted excess of delta x mu4 at "
                f"B={b1}")))
    p = ctx.panel("L9: mu4(z^l) by batch size, with 1/nu1^2 and kappa_B", "layer l",
                  "mu4(z^l)", logy=True, overlay="mu4_signal_loc3", network="bn_ff")
    for b, res in runs:
        p.simulation(res.depth, res["mu4_signal_loc3"], f"B={b}")
    p.theory(shared.depth, np.nanmean(1.0 / shared["nu1_abs_signal_loc3"] ** 2, axis=0),
             f"L9 lower bound 1/nu1^2 (measured nu1, B={runs[0][0]})")
    return out


# ============================================================================================
# L10
# ============================================================================================
L10_FROM = 10
#: Tolerance of L10.1 (slope ratio) and L10.2 (increment ratio of sums); reasons in the check.
L10_SLOPE_TOL = 0.01
L10_INCREMENT_TOL = 0.012


@claim(
    "L10",
    title="BN-resnet increment (delta chi)^2 = 1 + eta mu2(F)/mu2(x); mu2(x) grows by 1 - nu1^2/2",
    paper=LABATIE,
    theory={
        "mu2_branch": labatie.resnet_branch_mu2,
        "mu2_accumulated": labatie.resnet_mu2_accumulated,
        "increment_sq": labatie.resnet_increment_sq,
    },
    sizes=RES_SIZES,
    mutations=[
        Mutation("E mu2(F) = Var phi(z) = (2 - nu1^2)/4 (He factor 2 dropped)",
                 {"mu2_branch": lambda nu1_sq: (2.0 - np.asarray(nu1_sq)) / 4.0}),
        Mutation("E mu2(F) = Var|z| = 1 - nu1^2 (no sign symmetrisation)",
                 {"mu2_branch": lambda nu1_sq: 1.0 - np.asarray(nu1_sq)}),
        Mutation("increment 1 + (1 + eta) mu2(F)/mu2(x)",
                 {"increment_sq": lambda eta, f, x: 1.0 + (1.0 + eta) * f / x}),
        # the branch variance measured against the unit's input instead of its output
        nearby("denominator mu2(x^(l-1)) instead of mu2(x^l): 1 + eta mu2(F)/(mu2(x^l) - "
               "mu2(F))", {"increment_sq": lambda eta, f, x: 1.0 + eta * f / (x - f)},
               fails_at="quick"),
        # the paper's bound form 1 + eta/(l + 1): c0 = 1 instead of mu2(x^0)/mu2(F) = 1.467
        nearby("asymptotic increment with the paper's c0 = 1: mu2(F)/mu2(x^l) = 1/(l + 1)",
               {"mu2_accumulated": lambda x0, f: np.mean(f, axis=-1, keepdims=True)
                * (np.arange(1, np.shape(f)[-1] + 1) + 1.0)}, fails_at="quick"),
    ],
    criteria={
        "L10.1": "mu2(x^l) at loc5 linear in l with slope within 1% (THEORY.md: 3%) of the sim "
                 "mean of 1 - nu1(|z|)^2/2 (nu1 at loc2)",
        "L10.2": "sim mean of (chi_loc5^l/chi_loc5^(l-1))^2 - 1 vs the predicted "
                 "eta^l m_F^l/m_x^l, m_F = 1 - nu1^2/2, m_x = mu2(x^0) + sum_k<=l m_F^k (eta "
                 "measured over the whole branch): ratio of the sums over units l >= 10 within "
                 "1.2% (THEORY.md: mean absolute relative error below 5%); [all units]: the same "
                 "over every unit l >= 1, where the 1/(l + c0) structure is sharpest",
    },
    setup="bn_res FC N=512, B=64, H=2, measured at every unit; loc6 = F^l (branch end) gives "
          "eta^l = (chi_loc6 / chi_loc1)^2 - 1 and mu2(F^l).",
    caveats="nu1 is measured at the first BN of the unit (loc2); the formula needs it at the "
            "last BN (h = H), which is as Gaussian (L12). Per-unit realised increments carry "
            "O((N B l)^-1/2) cross-term noise, averaged over simulations.",
)
def _l10(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    res = res_run(ctx, size)
    h = size["res_h"]
    bl = branch_loc(h)
    dep = res.depth.astype(float)
    n = res.num_sims
    rng = ctx.rng("L10")
    out = []
    mu2x = res["mu2_signal_loc5"]
    nu1sq = res["nu1_abs_sq_signal_loc2"]

    def slope_rel(a: np.ndarray, v: np.ndarray) -> float:
        return stats.line_slope(dep, a.mean(axis=0)) / float(np.mean(th.mu2_branch(v))) - 1.0

    est = stats.bootstrap((mu2x, nu1sq), slope_rel, rng, method="percentile",
                          n_resamples=ctx.n_resamples)
    pred = float(np.mean(th.mu2_branch(nu1sq)))
    bias_reason = (
        "known biases of the predicted branch variance: epsilon = 1e-3 at the last BN "
        "(-eps/mu2(y) = -0.2% on mu2(F)) and nu1 read at the first BN of the unit, not the last "
        "(+0.2%; together measured -0.03% on mu2(F) at standard): |bias| <= 0.4%")
    out.append(C.equivalence(
        "L10.1", f"slope of E mu2(x^l) / mean(1 - nu1^2/2) - 1 (prediction {pred:.4f}), "
        f"l = 1..{res.depth[-1]}", est, 0.0, L10_SLOPE_TOL,
        f"tightened from THEORY.md's 3% (discrepancies table): {bias_reason}, plus 5 standard "
        f"errors of the quick estimate (0.12%): {100 * L10_SLOPE_TOL:.0f}%", n,
        perturbation=C.Perturbation.ratio("E mu2(F) = 1 - nu1^2/2")))
    if res.depth[0] != 1 or np.any(np.diff(res.depth) != 1):
        raise ValueError("L10 needs the bn_res run measured at every unit")
    # realised unit increments l = 1..L (chi^0 = chi at loc1 of unit 1, the stem output)
    lc = np.concatenate([res["log_chi_loc1"][:, :1], res["log_chi_loc5"]], axis=1)
    lhs = np.exp(2.0 * np.diff(lc, axis=1)) - 1.0
    eta = np.exp(2.0 * (res[f"log_chi_{bl}"] - res["log_chi_loc1"])) - 1.0
    # the theory's pieces: m_F from nu1, m_x accumulated from the measured stem variance
    m_f = np.asarray(th.mu2_branch(nu1sq), dtype=float)
    m_x = np.asarray(th.mu2_accumulated(res["mu2_signal_loc1"][:, 0], m_f), dtype=float)
    rhs = np.asarray(th.increment_sq(eta, m_f, m_x), dtype=float) - 1.0

    def ratio_of_sums(a: np.ndarray, b: np.ndarray) -> float:
        return float(a.mean(axis=0).sum() / b.mean(axis=0).sum() - 1.0)

    for tag, first in (("", L10_FROM), ("[all units]", 1)):
        sel = res.depth >= first
        est = stats.bootstrap((lhs[:, sel], rhs[:, sel]), ratio_of_sums, rng,
                              method="percentile", n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"L10.2{tag}", f"sum_l sim mean (delta chi^l)^2 - 1 / sum_l sim mean eta^l m_F/m_x "
            f"- 1, units {first}..{res.depth[-1]}", est, 0.0, L10_INCREMENT_TOL,
            f"THEORY.md L10 (c2) compared the realised increment with eta mu2(F)/mu2(x) built "
            f"from the same simulations, an identity up to the cross terms; here mu2(F) and "
            f"mu2(x^l) are the theory's (m_F = 1 - nu1^2/2, m_x = mu2(x^0) + sum m_F), so the "
            f"branch law, the accumulation and the vanishing cross terms are all tested "
            f"(discrepancies table). Tolerance: {bias_reason}, second-order cross terms "
            f"~4/(eta N B) = 1e-4, plus 5 standard errors of the quick estimate (0.15%): "
            f"{100 * L10_INCREMENT_TOL:.1f}%", n,
            perturbation=C.Perturbation.ratio("eta mu2(F)/mu2(x^l) at every unit")))
    keep = res.depth >= L10_FROM
    lhs, rhs, xs = lhs[:, keep], rhs[:, keep], res.depth[keep]
    ctx.panel("L10: (delta chi^l)^2 - 1 vs eta^l mu2(F^l)/mu2(x^l)", "unit l", "increment",
              logx=True, logy=True, network="bn_res") \
        .simulation(xs, lhs, "realised (chi_loc5^l / chi_loc5^(l-1))^2 - 1") \
        .theory(xs, np.nanmean(rhs, axis=0), "L10: eta m_F/m_x (m_F = 1 - nu1^2/2, m_x "
                "accumulated), sim mean")
    return out


# ============================================================================================
# L11
# ============================================================================================
L11_FROM = 50


def _loglog_slope_est(res: SimulationResults, rng: np.random.Generator, n_resamples: int
                      ) -> tuple[Estimate, np.ndarray, np.ndarray]:
    sel = res.depth >= L11_FROM
    x = np.log(res.depth[sel].astype(float))
    y = res["log_chi_loc5"][:, sel]
    return stats.fit_line(x, y, rng, n_resamples=n_resamples), x, y


def _delta_bar(c4: np.ndarray, c1: np.ndarray) -> float:
    return float(np.mean(c4.mean(axis=0) / c1.mean(axis=0)))


@claim(
    "L11",
    title="BN-resnet power law chi^l ~ l^tau; tau_G(H) = ((pi/(pi-1))^H - 1)/2",
    paper=LABATIE,
    theory={
        "tau_gaussian": labatie.tau_gaussian,
        "tau_code": labatie.tau_code,
        "tau_rank_corrected": labatie.tau_rank_corrected,
        "chi_product": labatie.resnet_chi_product,
    },
    sizes=_merge(RES_SIZES, RESG_SIZES),
    mutations=[
        Mutation("tau_G x 1.1", {"tau_gaussian": lambda h: 1.1 * labatie.tau_gaussian(h)}),
        Mutation("tau = eta (factor 1/2 dropped)",
                 {"tau_gaussian": lambda h: 2.0 * labatie.tau_gaussian(h)}),
        Mutation("tau linear in H: tau_G(H) = H tau_G(1)",
                 {"tau_gaussian": lambda h: np.asarray(h, float) * labatie.tau_gaussian(1)}),
        Mutation("tau_code = (delta^H - 1)/2 (one layer per unit)",
                 {"tau_code": lambda d, h: float((d**h - 1.0) / 2.0)}),
        # the Gaussian-limit exponent used at C-FC sizes, where B - 1 < N makes delta_BN > 1
        nearby("tau_G(H) instead of the rank-corrected tau at C-FC sizes (N=512, B=64)",
               {"tau_rank_corrected": lambda h, b, w: float(labatie.tau_gaussian(h))},
               fails_at="quick"),
    ],
    criteria={
        "L11.1": "log-log slope of the sim mean of log chi^l (loc5, l >= 50) within 7% of "
                 "tau_G(H): Gaussian-limit runs (B = N), H = 1, 2, 3; C-FC run (N=512, B=64): "
                 "the predicted deviation (slope above tau_G, delta_BN > 1) and its size "
                 "(tau with L7's rank-(B-1) delta_BN)",
        "L11.2": "slope within 7% of tau_code = (delta_bar^(2H) - 1)/2 from the same simulations",
        "L11.3": "slope ratio H=3 / H=1 within 10% of tau_G(3)/tau_G(1) = 4.619",
    },
    setup="bn_res FC: C-FC run N=512, B=64, H=2; Gaussian-limit runs N=B=256, 300 units, "
          "H in {1, 2, 3}, measured every 5 units.",
    caveats="tau_G assumes delta_BN = 1. With B < N the BN input has rank B - 1 < N and "
            "delta_BN^2 ~ r(K-2)/(K(r-2)) > 1 (L7): at N=512, B=64 the slope sits ~12% above "
            "tau_G(2). THEORY.md's (c1) is therefore tested against tau_G where its assumption "
            "holds (B = N) and as a predicted deviation at C-FC sizes.",
)
def _l11(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    rng = ctx.rng("L11")
    nr = ctx.n_resamples
    out = []
    runs: list[tuple[str, int, SimulationResults]] = []
    for h, res in resg_runs(ctx, size).items():
        runs.append((f"H={h},N=B={size['resg_width']}", h, res))
    res = res_run(ctx, size)
    cfc = f"H={size['res_h']},N={size['res_width']},B={size['res_batch']}"
    runs.append((cfc, size["res_h"], res))
    slopes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for tag, h, r in runs:
        est, x, y = _loglog_slope_est(r, rng, nr)
        slopes[tag] = (x, y)
        if tag == cfc:
            out.append(C.bound(
                f"L11.1[{tag}: above tau_G]", f"log-log slope vs tau_G({h}) "
                f"(B < N: delta_BN > 1 raises it)", est, float(th.tau_gaussian(h)), "above",
                "THEORY.md L11 (a): delta_BN > 1 raises the slope above tau_G; one-sided",
                r.num_sims))
            pred = th.tau_rank_corrected(h, size["res_batch"], size["res_width"])
            out.append(C.relative_equivalence(
                f"L11.1[{tag}: rank-corrected]", "log-log slope vs tau with delta_BN^2 = "
                "r(K-2)/(K(r-2)), r = B-1, K = N", est, pred, 0.07,
                "THEORY.md L11 (c1) tolerance 7%; prediction tau_G with L7's closed form for "
                "the rank-(B-1) BN input (derived)", r.num_sims))
        else:
            out.append(C.relative_equivalence(
                f"L11.1[{tag}]", f"log-log slope vs tau_G({h})", est,
                float(th.tau_gaussian(h)), 0.07,
                "THEORY.md L11 (c1): 7% (Gaussian limit: B = N gives a full-rank BN input, "
                "delta_BN = 1)", r.num_sims))

        def rel(lc: np.ndarray, c4: np.ndarray, c1: np.ndarray, h: int = h,
                x: np.ndarray = x) -> float:
            tc = th.tau_code(_delta_bar(c4, c1), h)
            return stats.line_slope(x, lc.mean(axis=0)) / window_slope(th.chi_product, tc, x) - 1

        est2 = stats.bootstrap((y, r["chi_loc4"], r["chi_loc1"]), rel, rng,
                               method="percentile", n_resamples=nr)
        tc = th.tau_code(_delta_bar(r["chi_loc4"], r["chi_loc1"]), h)
        out.append(C.equivalence(
            f"L11.2[{tag}]", f"slope / (window slope of prod (1 + 2 tau_code/(l + c0))^(1/2)) "
            f"- 1; tau_code = {tc:.4f}, window slope "
            f"{window_slope(th.chi_product, tc, x):.4f}", est2, 0.0, 0.07,
            "THEORY.md L11 (c2): 7%. THEORY.md expects the slope 'a few per cent below "
            "tau_code'; the part of that gap set by the finite fit window (the curvature of "
            "L11 (a)'s Gamma-ratio chi^l, about -2% over l in [50, L]) is removed by comparing "
            "with the same-window slope of chi^l = prod (1 + 2 tau_code/(l + c0))^(1/2)",
            r.num_sims, perturbation=C.Perturbation.ratio("the window slope of tau_code")))
    g1 = f"H=1,N=B={size['resg_width']}"
    g3 = f"H=3,N=B={size['resg_width']}"
    if g1 in slopes and g3 in slopes:
        (x1, y1), (x3, y3) = slopes[g1], slopes[g3]
        est = group_bootstrap(
            [y3, y1], lambda a, b: stats.line_slope(x3, a.mean(axis=0))
            / stats.line_slope(x1, b.mean(axis=0)), rng, n_resamples=nr)
        ratio = float(th.tau_gaussian(3) / th.tau_gaussian(1))
        out.append(C.relative_equivalence(
            "L11.3", "slope ratio H=3 / H=1 (Gaussian-limit runs)", est, ratio, 0.10,
            "THEORY.md L11 (c3): 10%", y1.shape[0] + y3.shape[0]))
    p = ctx.panel("L11: E log chi^l (loc5) vs log l", "unit l", "log chi^l", logx=True,
                  overlay="log(chi_loc5)", network="bn_res")
    for tag, _, r in runs:
        p.simulation(r.depth, r["log_chi_loc5"], tag)
    for tag, h, r in runs:
        # the predicted power law l^tau, anchored at the sim mean at the fit's first unit
        tau = (float(th.tau_rank_corrected(h, size["res_batch"], size["res_width"]))
               if tag == cfc else float(th.tau_gaussian(h)))
        i0 = int(np.searchsorted(r.depth, L11_FROM))
        x = np.asarray(r.depth[i0:], float)
        y0 = float(np.nanmean(r["log_chi_loc5"][:, i0]))
        p.theory(x, y0 + tau * np.log(x / x[0]),
                 f"{'rank-corrected tau' if tag == cfc else 'tau_G'} = {tau:.3f} ({tag})")
    return out


# ============================================================================================
# L12
# ============================================================================================
L12_MAX_EFF = 15.0


@claim(
    "L12",
    title="BN-resnets stay near shallow BN-FF statistics (effective depth H log l)",
    paper=LABATIE,
    theory={
        "mu4_gaussian": 3.0,
        "nu1_gaussian": labatie.gaussian_nu1(),
        "effective_depth": labatie.effective_depth,
        "reff_floor": 5.0,
    },
    sizes=_merge(RES_SIZES, BN_FF_SIZES, OVERLAY_SIZES),
    mutations=[
        Mutation("excess kurtosis 0 taken as the Gaussian mu4", {"mu4_gaussian": 0.0}),
        Mutation("Gaussian nu1(|z|) = sqrt(pi/2) (inverted)",
                 {"nu1_gaussian": float(np.sqrt(np.pi / 2.0))}),
        Mutation("effective depth H l (no logarithmic slowing)",
                 {"effective_depth": lambda l, h=2, c0=None: np.asarray(h, float)
                  * np.asarray(l, float)}),
        # a residual unit counted as one BN-FF layer (log l) instead of its H layers (H log l)
        nearby("effective depth log l (a unit counted as one layer: factor H dropped)",
               {"effective_depth": lambda l, h=2, c0=None: labatie.effective_depth(l, 1, c0)}),
        # every BN of the unit counted twice (2H log l)
        nearby("effective depth 2 H log l (each layer of the unit counted twice)",
               {"effective_depth": lambda l, h=2, c0=None: labatie.effective_depth(
                   l, 2 * np.asarray(h), c0)}),
    ],
    criteria={
        "L12.1": "for all units l, sim means mu4(z^{l,1}) < 3 + 2 and nu1(|z^{l,1}|) > "
                 "sqrt(2/pi) - 0.05 (loc2)",
        "L12.2": "sim mean r_eff(x^{l,1}) > 5 at every unit (loc3)",
        "L12.3": "loose overlay: bn_res sim means of nu1, mu4, delta_BN chi at unit l lie within "
                 "the bn_ff 1-sigma bands at depth l_eff(l) = H sum 1/(k + c0) (for l_eff <= 15): "
                 "RMS band-standardised distance below 1",
    },
    setup="bn_res FC N=512, B=64, H=2 (every unit) and a shallow bn_ff run (N=512, B=64, "
          "depth 16, many simulations); bn_res: loc2 (z^{l,1}), delta_BN = chi_loc2/chi_loc1; "
          "bn_ff: loc3, chi_loc3/chi_loc1.",
    caveats="(c3) is a heuristic overlay; it is quantified as an RMS of the distance in band "
            "half-widths, where bands are 16-84% percentiles over bn_ff simulations "
            "(interpolated linearly in depth; l_eff < 1 uses layer 1).",
)
def _l12(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    res = res_run(ctx, size)
    ff = ctx.simulate(spec.bn_ff(size["bn_width"], size["ovl_depth"]), GAUSSIAN_3072,
                      batch_size=size["bn_batch"], num_sims=size["ovl_sims"],
                      name="bn_ff shallow")
    h = size["res_h"]
    n = res.num_sims
    rng = ctx.rng("L12")
    nr = ctx.n_resamples
    out = []
    mu4 = res["mu4_signal_loc2"]
    nu1 = res["nu1_abs_signal_loc2"]
    est = stats.bootstrap(mu4, lambda a: float(a.mean(axis=0).max()), rng, method="percentile",
                          n_resamples=nr)
    out.append(C.bound(
        "L12.1[mu4]", f"max over l = 1..{res.depth[-1]} of the sim mean of mu4(z^(l,1))", est,
        th.mu4_gaussian + 2.0, "below",
        "THEORY.md L12 (c1): within 2 of the Gaussian kurtosis; one-sided", n).labelled(
            "sanity", "the bound 5 is 2 above the Gaussian 3 and ~60 standard errors above the "
            "measured maximum (~3.05): no plausible theory of a near-Gaussian resnet violates it; "
            "L12.3 is the test"))
    est = stats.bootstrap(nu1, lambda a: float(a.mean(axis=0).min()), rng, method="percentile",
                          n_resamples=nr)
    out.append(C.bound(
        "L12.1[nu1]", "min over l of the sim mean of nu1(|z^(l,1)|)", est,
        th.nu1_gaussian - 0.05, "above",
        "THEORY.md L12 (c1): within 0.05 of sqrt(2/pi); one-sided", n).labelled(
            "sanity", "the margin 0.05 is ~100 standard errors of the minimum sim mean (~0.796)"))
    est = stats.bootstrap(res["reff_signal_loc3"], lambda a: float(a.mean(axis=0).min()), rng,
                          method="percentile", n_resamples=nr)
    out.append(C.bound(
        "L12.2", "min over l of the sim mean of r_eff(x^(l,1)) (loc3)", est, th.reff_floor,
        "above", "THEORY.md L12 (c2): no collapse; one-sided", n).labelled(
            "sanity", "r_eff(x) stays ~21 against the floor 5 (a collapse to 1 is the only "
            "alternative it tests)"))
    leff = np.asarray(th.effective_depth(res.depth, h), dtype=float)
    keep = leff <= min(L12_MAX_EFF, float(ff.depth[-1]))
    ffd = ff.depth.astype(float)
    pairs = {
        "nu1": (nu1, ff["nu1_abs_signal_loc3"]),
        "mu4": (mu4, ff["mu4_signal_loc3"]),
        "delta_BN": (increments(res, "loc2", "loc1"), increments(ff, "loc3", "loc1")),
    }
    for name, (r_arr, f_arr) in pairs.items():
        rk = r_arr[:, keep]
        est = group_bootstrap(
            [rk, f_arr], lambda a, b: overlay_rms_z(a.mean(axis=0), ffd, b, leff[keep]), rng,
            n_resamples=nr)
        out.append(C.bound(
            f"L12.3[{name}]", f"RMS distance (in band half-widths) of bn_res {name} at l from "
            f"the bn_ff band at l_eff(l), {int(keep.sum())} units with l_eff <= "
            f"{L12_MAX_EFF:g}", est, 1.0, "below",
            "THEORY.md L12 (c3): 'within the 1-sigma bands' (loose overlay) read as an RMS "
            "distance below one half-width; one-sided", n + ff.num_sims))
    ctx.panel("L12: nu1(|z|) of bn_res against H log l vs bn_ff", "(effective) depth",
              "nu1(|z|)", network="bn_res") \
        .simulation(leff[keep], nu1[:, keep], "bn_res at l_eff(l)") \
        .simulation(ffd[ffd <= L12_MAX_EFF], ff["nu1_abs_signal_loc3"][:, ffd <= L12_MAX_EFF],
                    "bn_ff at l") \
        .theory(leff[keep], th.nu1_gaussian, "Gaussian sqrt(2/pi)")
    return out


# ============================================================================================
# L13
# ============================================================================================
L13_BAND_FROM = 100
#: Tolerance of L13.1 (reason in the check).
L13_BAND_TOL = 0.15


def _l13_boundaries(ctx: Context, th: Theory, size: Mapping[str, Any], rng: np.random.Generator
                    ) -> list[C.Criterion]:
    """L13 (c2): the BN-FF rate with zero padding against periodic (the ``cbr`` conv bn_ff runs,
    16x16 maps); L6 and L9 with zero padding are criteria of those claims (on the shared
    ``cbn`` runs, 8x8 maps below paper)."""
    lo, hi = L8_WINDOW
    runs = [conv_bn_ff_run(ctx, size, b, prefix="cbr") for b in ("periodic", "zero_padding")]
    win = (runs[0].depth >= lo) & (runs[0].depth <= hi)
    x = runs[0].depth[win].astype(float)

    def ratio_minus_one(per: np.ndarray, zp: np.ndarray) -> float:
        return (stats.line_slope(x, zp.mean(axis=0)) / stats.line_slope(x, per.mean(axis=0))
                / float(th.boundary_rate_ratio) - 1.0)

    est = group_bootstrap([r["log_chi_loc4"][:, win] for r in runs], ratio_minus_one, rng,
                          n_resamples=ctx.n_resamples)
    c = C.equivalence(
        "L13.2", f"gamma(zero padding) / gamma(periodic) / {float(th.boundary_rate_ratio):g} - 1 "
        f"(slopes of E log chi^l, l in [{lo}, {hi}]), {conv_bn_label(size, 'cbr')} per "
        "boundary", est, 0.0, 0.1, "THEORY.md L13 (c2): rates differ by less than 10% (TOST on "
        "the ratio), on Fig 4's 16x16 maps (the border deficit grows on smaller maps)",
        sum(r.num_sims for r in runs),
        perturbation=C.Perturbation.ratio("the rate ratio"))
    p = ctx.panel("L13 (c2): conv bn_ff log chi^l, zero padding vs periodic", "layer l",
                  "log chi^l (loc4)", caption=conv_bn_label(size, "cbr"))
    for b, r in zip(("periodic", "zero padding"), runs, strict=True):
        p.simulation(r.depth, r["log_chi_loc4"], b)
    return [c]


@claim(
    "L13",
    title="Notebook statements: width (band ratio), epsilon, batch-size orderings",
    paper=LABATIE,
    theory={
        "band_ratio": labatie.log_moment_band_ratio_exact,
        "exact_log_moments": labatie.vanilla_exact_log_moments,
        "batch_trend": {"delta_phi": -1, "delta_bn": +1, "reff_noise": +1},
        "boundary_rate_ratio": 1.0,
    },
    sizes=_merge(VAN_SIZES, BN_FF_SIZES, EPS_SIZES, BATCH_SIZES),
    mutations=[
        Mutation("band ratio = variance ratio N_large/N_small ('slowed down by 4')",
                 {"band_ratio": lambda a, b: np.asarray(b, float) / np.asarray(a, float)}),
        Mutation("band ratio (N_large/N_small)^(1/4)",
                 {"band_ratio": lambda a, b: (np.asarray(b, float) / np.asarray(a, float))
                  ** 0.25}),
        Mutation("smaller batch gives smaller delta_phi chi",
                 {"batch_trend": {"delta_phi": +1, "delta_bn": +1, "reff_noise": +1}}),
        # neighbouring width exponents of the log-moment band (N^-0.6, N^-0.4 for N^-1/2)
        nearby("band ratio (N_large/N_small)^0.6 (band ~ N^-0.6)",
               {"band_ratio": lambda a, b: float((b / a) ** 0.6)}),
        nearby("band ratio (N_large/N_small)^0.4 (band ~ N^-0.4)",
               {"band_ratio": lambda a, b: float((b / a) ** 0.4)}),
        # (c2) has no nearby mutation: its margin is THEORY.md's 10% and the measured ratio on
        # 16x16 maps is ~0.93, so a wrong ratio within ~10% of it cannot FAIL at any sample
        # size. The former one (rate x (22/24)^2 = 0.84, 9.9% from 0.925) measured
        # INCONCLUSIVE, "no sample size decides" (2026-12-07, quick, 100 nets per boundary).
    ],
    criteria={
        "L13.1": "vanilla FC: band (across-simulation SD) of log nu2(x^l) at N=128 is 2.022 +- "
                 "0.15 times that at N=512 (THEORY.md: 2 +- 0.2), pooled over l >= 100",
        "L13.2": "boundaries: conv bn_ff rate gamma with zero padding within 10% of periodic "
                 "(TOST on the ratio) on 16x16 maps, Fig 4's map size; L6 and L9 with zero "
                 "padding are L6.1[conv zero_padding] and L9.1/L9.2[conv zero_padding] (the "
                 "shared conv bn_ff runs)",
        "L13.3": "MNIST vs CIFAR-10 (data files)",
        "L13.4": "bn_ff epsilon = 0 vs 1e-3: equivalent within 1% (TOST) on E log chi^200 and "
                 "the depth-averaged increments delta_BN, delta_phi, delta chi",
        "L13.5": "FC bn_ff at l = 200: a smaller batch gives larger delta_phi chi, smaller "
                 "delta_BN chi, lower r_eff(dx): trend of the sim means over all batch sizes "
                 "and smallest vs largest batch (one-sided)",
    },
    setup="(c1) vanilla FC, B=8, depth 200, measured every 10 layers; (c2) conv bn_ff, "
          "periodic and zero padding, 16x16 maps (32x32 natural crops), N=64, B=4, 100 nets "
          "per boundary at quick/standard, the Fig 4 runs at paper; (c4) bn_ff N=512, B=64, "
          "eps = 0 vs the shared eps = 1e-3 run; (c5) bn_ff N=512, depth 200, C-FC batches.",
    caveats="(c1) bands are built from the across-simulation variances of 10-layer increments "
            "(uncorrelated under the L3 diffusion), which estimates the endpoint variance with "
            "~4x smaller error than the endpoint variance itself.",
)
def _l13(ctx: Context, th: Theory, size: Mapping[str, Any]) -> list[C.Criterion]:
    out = []
    rng = ctx.rng("L13")
    nr = ctx.n_resamples
    # (c1) width
    n_small, n_large = size["van_widths"]
    opts = EngineOptions(compute_reff_signal=False, compute_reff_noise=False)
    logs = {}
    depth = None
    for w in (n_small, n_large):
        r = ctx.simulate(spec.vanilla(w, 200, measure_every=size["van_every"]), GAUSSIAN_3072,
                         batch_size=size["van_batch"], num_sims=size["van_sims"], options=opts,
                         name=f"vanilla N={w} B={size['van_batch']}")
        logs[w] = np.log(r["nu2_signal_loc3"])
        depth = r.depth
    assert depth is not None
    deep = depth >= L13_BAND_FROM

    def band_ratio(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.sqrt(block_band_sq(a)[deep].mean() / block_band_sq(b)[deep].mean()))

    est = group_bootstrap([logs[n_small], logs[n_large]], band_ratio, rng, n_resamples=nr)
    out.append(C.equivalence(
        "L13.1", f"band ratio SD log nu2(x^l), N={n_small} / N={n_large}, pooled over l >= "
        f"{L13_BAND_FROM}", est, float(th.band_ratio(n_small, n_large)), L13_BAND_TOL,
        "tightened from THEORY.md's 2 +- 0.2 (discrepancies table): the prediction is the exact "
        "digamma ratio (2.022: the signed finite-N term of L3's Var log R shifts THEORY.md's 2); "
        f"{L13_BAND_TOL} = 0.05 for the O(l/N) deviation of a batch not yet one-dimensional "
        "(v < 5 in L3; measured -0.015 +- 0.021 at standard) plus 4 standard errors of the "
        "quick estimate (0.028, 300 simulations per width)", 2 * size["van_sims"]))
    ctx.panel("L13: across-simulation variance of log nu2(x^l) by width", "layer l",
              "Var log nu2", network="vanilla") \
        .simulation(depth, block_band_sq(logs[n_small])[None, :],
                    f"N={n_small} (block increments)") \
        .simulation(depth, block_band_sq(logs[n_large])[None, :],
                    f"N={n_large} (block increments)") \
        .theory(depth, np.asarray(depth, float) * th.exact_log_moments(n_small)[1],
                f"N={n_small}: l Var log R (L3 exact)") \
        .theory(depth, np.asarray(depth, float) * th.exact_log_moments(n_large)[1],
                f"N={n_large}: l Var log R (L3 exact)")
    out += _l13_boundaries(ctx, th, size, rng)
    out.append(C.skipped("L13.3", "MNIST: larger mu4, lower delta_phi chi for l <= 20",
                         "needs the MNIST and CIFAR-10 files, which are not on this machine"))
    # (c4) epsilon
    shared = bn_ff_run(ctx, size)
    e0 = ctx.simulate(spec.bn_ff(size["bn_width"], size["bn_depth"], epsilon=0.0,
                                 measure_every=size["eps_every"]), GAUSSIAN_3072,
                      batch_size=size["bn_batch"], num_sims=size["eps_sims"], name="bn_ff eps=0")
    cols = [depth_index(shared.depth, int(l)) for l in e0.depth]
    last = size["bn_depth"]
    quantities = {
        f"E log chi^{last}": (e0["log_chi_loc4"][:, -1],
                              shared["log_chi_loc4"][:, depth_index(shared.depth, last)]),
        "delta_BN chi (depth mean)": (increments(e0, "loc3", "loc1").mean(axis=1),
                                      increments(shared, "loc3", "loc1")[:, cols].mean(axis=1)),
        "delta_phi chi (depth mean)": (increments(e0, "loc4", "loc3").mean(axis=1),
                                       increments(shared, "loc4", "loc3")[:, cols].mean(axis=1)),
        "delta chi (depth mean)": (increments(e0, "loc4", "loc1").mean(axis=1),
                                   increments(shared, "loc4", "loc1")[:, cols].mean(axis=1)),
    }
    for k, (name, (a0, a1)) in enumerate(quantities.items()):
        est = group_bootstrap([a0, a1], lambda u, v: float(u.mean() - v.mean()), rng,
                              n_resamples=nr)
        margin = 0.01 * abs(float(a1.mean()))
        out.append(C.equivalence(
            f"L13.4[{k + 1}]", f"{name}: eps=0 minus eps=1e-3", est, 0.0, margin,
            f"THEORY.md L13 (c4): margin 1% of the eps=1e-3 value ({margin:.4g})",
            a0.shape[0] + a1.shape[0],
            perturbation=C.Perturbation.shift(float(a1.mean()),
                                              "the eps=0 value predicted as the eps=1e-3 one")))
    # (c5) batch-size orderings at l = 200
    runs = batch_runs(ctx, size)
    vals: dict[str, list[tuple[int, np.ndarray]]] = {k: [] for k in th.batch_trend}
    for b, r in runs:
        j = depth_index(r.depth, last)
        vals["delta_phi"].append((b, increments(r, "loc4", "loc3")[:, j]))
        vals["delta_bn"].append((b, increments(r, "loc3", "loc1")[:, j]))
        vals["reff_noise"].append((b, r["reff_noise_loc4"][:, j]))
    labels = {"delta_phi": "delta_phi chi", "delta_bn": "delta_BN chi", "reff_noise": "r_eff(dx)"}
    log2b = np.log2([b for b, _ in runs])
    for q, series in vals.items():
        sign = float(th.batch_trend[q])
        arrays = [a for _, a in series]
        n_all = int(sum(a.shape[0] for a in arrays))
        est = group_bootstrap(
            arrays, lambda *g, s=sign: s * stats.line_slope(log2b, np.array([a.mean() for a in g])),
            rng, n_resamples=nr)
        out.append(C.bound(
            f"L13.5[{q}: trend]", f"{'+' if sign > 0 else '-'}(slope of the sim mean of "
            f"{labels[q]}^{last} on log2 B, B = {', '.join(str(b) for b, _ in runs)})", est, 0.0,
            "above", "THEORY.md L13 (c5): one-sided ordering across all batch sizes (the "
            "least-squares trend of the sim means)", n_all,
            perturbation=C.Perturbation.shift(
                float(np.mean([a.mean() for a in arrays])),
                f"the trend, as a predicted excess of delta x the mean {labels[q]} per doubling")))
        (b1, a1), (b2, a2) = series[0], series[-1]
        est = group_bootstrap([a1, a2], lambda u, v, s=sign: s * float(v.mean() - u.mean()),
                              rng, n_resamples=nr)
        out.append(C.bound(
            f"L13.5[{q}: B={b1}<{b2}]", f"{'+' if sign > 0 else '-'}({labels[q]}^{last} at "
            f"B={b2} minus B={b1})", est, 0.0, "above",
            "THEORY.md L13 (c5): one-sided difference of sim means, smallest vs largest batch",
            a1.shape[0] + a2.shape[0],
            perturbation=C.Perturbation.shift(
                abs(float(a1.mean())), f"the ordering, as a predicted excess of delta x "
                f"{labels[q]} at B={b1}")))
    p = ctx.panel("L13: r_eff(dx^l) (loc4) by batch size", "layer l", "r_eff(dx)",
                  overlay="reff_noise_loc4", network="bn_ff")
    for b, r in runs:
        p.simulation(r.depth, r["reff_noise_loc4"], f"B={b}")
    return out
