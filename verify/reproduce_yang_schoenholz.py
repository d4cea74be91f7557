"""Yang & Schoenholz figure: phase diagrams of gradient explosion under variance variation.

Paper-figure reproduction (see `verify.reproductions`; THEORY.md §3.5, §3.6). Full resnets
``x <- x + V phi(W x)`` with :math:`\\sigma_v^2(l)=l^{-\\beta_v}`,
:math:`\\sigma_w^2(l)=l^{-\\beta_w}` (:math:`\\sigma_v^2=\\sigma_w^2=1`, no biases), ReLU and tanh:

* **phase maps** over :math:`(\\beta_v,\\beta_w)\\in[0,2]^2`: the phase classifier's class of the
  gradient ratio :math:`\\chi^0/\\chi^L=e^{G_L}` per cell (`theory.phase_classifier.classify`,
  the same classification Y2–Y5 test), as a categorical map on a fine grid; on a coarse grid
  the finite-width simulated mean of :math:`G_L=\\log(\\chi^0/\\chi^L)` (per network
  ``log_grad_sq_input - log_grad_sq_x[L]``, as in the Y claims) is written into its cell, with
  the mean-field :math:`G_L` of the same depth in parentheses;
* **representative regimes**: :math:`G_l` and :math:`\\mathbb E\\log p^l` against depth
  (simulation mean with the 16–84% band, mean-field recursion as theory). ReLU uses the Y1/Y2
  runs (claims' configurations at each fidelity: cache hits after the claims), tanh the
  coarse-grid runs of the T-a, T-b, T-d and T-e cells.

Sizes per fidelity (`GRID_SIZES`) keep the whole figure within about 45 s at quick and 120 s
at standard on two cores when the claims' runs are cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulate.results import SimulationResults
from theory import meanfield_resnet as mf
from theory import phase_classifier as pc
from theory.meanfield_resnet import ResNetParams
from verify import registry
from verify.cache import SimulationCache
from verify.claims_yang_schoenholz import (
    G_CLASS_LABELS,
    Y2_FW,
    backward_run,
    baseline_run,
    grad_ratio_by_depth,
    log_grad_ratio,
)
from verify.context import Context
from verify.panels import FigureSection, Panel
from verify.reproductions import reproduction

#: Coarse simulation grid and fine map grid per fidelity. ``step``: spacing of the simulated
#: (βv, βw) cells; ``map_step``: spacing of the classifier map (must divide ``step``);
#: ``N``: stream = hidden width; ``B``: inputs per network; ``relu_L``/``tanh_L``: depths;
#: ``sims``: networks per cell. Paper: THEORY.md §3.6 (step 0.5, N = M = 500, L = 30 / 100,
#: 10 networks).
GRID_SIZES: dict[str, dict[str, Any]] = {
    "quick": {"step": 0.5, "map_step": 0.125, "N": 128, "B": 8, "relu_L": 30, "tanh_L": 50,
              "sims": 6},
    "standard": {"step": 0.5, "map_step": 0.0625, "N": 256, "B": 8, "relu_L": 30,
                 "tanh_L": 100, "sims": 8},
    "paper": {"step": 0.5, "map_step": 0.0625, "N": 500, "B": 8, "relu_L": 30, "tanh_L": 100,
              "sims": 10},
}
BETA_MAX = 2.0
NAMES = {"relu": "ReLU", "tanh": "tanh"}
#: Where the regimes of THEORY.md Y2 / Y4 (σa = σb = 0) lie on the maps.
REGIMES = {
    "relu": "U = βv + βw: exp(Θ(L^(1-U))) for U < 1, polynomial Θ(L^c) with c = σv²σw²/2 on "
            "U = 1, Θ(1) for U > 1 (Y2).",
    "tanh": "Regimes (Y4, m = βv): T-a below U = 1 (exp(Θ(L^((1-U)/2)))), T-b on U = 1 "
            "(polynomial), T-c for βv < 1 above it (q → 0, Θ(1)), T-d at (1, 0) "
            "(exp(Θ(√log L))), βv = 1 with βw > 0 and T-e (βv > 1) Θ(1).",
}
#: tanh cells drawn against depth (regime, βv, βw): exp(Θ(√L)), polynomial, exp(Θ(√log L)),
#: Θ(1); all on the coarse grid.
TANH_REGIMES = (("T-a", 0.0, 0.0), ("T-b", 0.5, 0.5), ("T-d", 1.0, 0.0), ("T-e", 1.5, 0.0))


def betas(step: float) -> np.ndarray:
    """Grid values 0, step, ..., BETA_MAX (exact binary fractions for the sizes used)."""
    n = int(round(BETA_MAX / step))
    if not np.isclose(n * step, BETA_MAX):
        raise ValueError(f"step={step!r} must divide {BETA_MAX}")
    return np.arange(n + 1) * step


def class_map(activation: str, bv: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """Classifier codes ``(len(bw), len(bv))``: index in `pc.G_CLASSES` of the class of
    :math:`\\chi^0/\\chi^L` for the full resnet (σv² = σw² = 1, no biases) at each (βv, βw)."""
    z = np.empty((len(bw), len(bv)))
    for i, w in enumerate(bw):
        for j, v in enumerate(bv):
            pred = pc.classify(activation, "full", beta_v=float(v), beta_w=float(w))
            z[i, j] = pc.G_CLASSES.index(pred.g_class)
    return z


def _grid_run(ctx: Context, size: Mapping[str, Any], activation: str, bv: float, bw: float
              ) -> SimulationResults:
    L = size[f"{activation}_L"]
    return backward_run(ctx, {"N": size["N"], "B": size["B"]}, activation, L, size["sims"],
                        f"full_resnet {activation} L={L} βv={bv:g} βw={bw:g} (phase grid)",
                        beta_v=bv, beta_w=bw)


def _depth_panels(title: str, runs: list[tuple[str, ResNetParams, SimulationResults]],
                  caption: str) -> tuple[Panel, Panel]:
    """G_l and E log p^l against depth for labelled runs (simulation band + mean field)."""
    pg = Panel(f"G_l = log(χ^0/χ^l) vs depth, {title}", "block l", "log(χ^0/χ^l)",
               caption=caption + " Per network log(|g^0|²/|g^l|²) of one backward pass from "
                                 "depth L (gradient independence: the per-block increments do "
                                 "not depend on L); dashed: mean-field G_l.")
    pp = Panel(f"E log p^l vs depth, {title}", "block l", "E log p^l",
               caption=caption + " Per network log of the batch mean of |x^l|²/N (p^0 = 1), "
                                 "mean over networks (log space: per-network p^l is "
                                 "log-normal-like); dashed: mean-field log p^l (finite width "
                                 "biases E log p by -O(l/N)).")
    for label, params, res in runs:
        L = int(res.depth[-1])
        depths = np.concatenate([[0], res.depth])
        traj = mf.trajectory(params, L)
        logp = np.concatenate([np.zeros((res.num_sims, 1)), np.log(res["nu2_signal_x"])],
                              axis=1)
        pg.simulation(depths, grad_ratio_by_depth(res), f"{label} (simulation)")
        pg.theory(np.arange(L + 1), traj.G, f"{label} (mean field)")
        pp.simulation(depths, logp, f"{label} (simulation)")
        pp.theory(np.arange(L + 1), traj.log_p, f"{label} (mean field)")
    return pg, pp


@reproduction("yang-schoenholz-phase",
              "Yang & Schoenholz: phase diagrams of gradient explosion under variance variation",
              "Y")
def build(fidelity: str, seed: int, cache: SimulationCache | None) -> FigureSection:
    """Panels: ReLU and tanh phase maps (classifier classes; simulated and mean-field G_L in
    the coarse cells), then G_l and E log p^l against depth for representative regimes."""
    ctx = Context("yang-schoenholz-phase", fidelity, seed, cache=cache)
    size = GRID_SIZES[ctx.fidelity]
    coarse = betas(size["step"])
    fine = betas(size["map_step"])
    if not np.all(np.isin(coarse, fine)):
        raise ValueError("map_step must divide step")
    panels: list[Panel] = []
    grid_runs: dict[tuple[str, float, float], SimulationResults] = {}
    for act in ("relu", "tanh"):
        L = size[f"{act}_L"]
        notes = []
        for w in coarse:
            for v in coarse:
                res = _grid_run(ctx, size, act, float(v), float(w))
                grid_runs[(act, float(v), float(w))] = res
                params = ResNetParams(activation=act, beta_v=float(v), beta_w=float(w))
                g_mf = float(mf.trajectory(params, L).G[L])
                g_sim = float(np.mean(log_grad_ratio(res)))
                notes.append((float(v), float(w), f"{g_sim:.2f}\n({g_mf:.2f})"))
        p = Panel(f"Phase diagram, {NAMES[act]} full resnet: class of χ^0/χ^L", "βv", "βw",
                  caption=f"Colours: the phase classifier's class of the gradient ratio "
                          f"χ^0/χ^L = exp(G_L) as L → ∞ (THEORY.md Y2 for ReLU, Y4 for tanh; "
                          f"σv² = σw² = 1, no biases), on a grid of step {size['map_step']:g}. "
                          f"Text at the step-{size['step']:g} cells: simulated mean of "
                          f"G_L = log(χ^0/χ^L) over {size['sims']} networks (N = M = "
                          f"{size['N']}, B = {size['B']}, L = {L}) and, in parentheses, the "
                          "mean-field G_L at the same depth. " + REGIMES[act])
        p.map(fine, fine, class_map(act, fine, fine),
              categories=[G_CLASS_LABELS[c] for c in pc.G_CLASSES],
              zlabel="χ^0/χ^L (classifier)", annotations=notes)
        panels.append(p)

    # representative regimes: ReLU from the Y1/Y2 runs, tanh from the grid
    y1 = registry.get("Y1").size(ctx.fidelity)
    y2 = registry.get("Y2").size(ctx.fidelity)
    relu_runs = [("U = 0", ResNetParams(activation="relu"), baseline_run(ctx, y1, "relu"))]
    for bv, bw in Y2_FW:
        res = backward_run(ctx, y2, "relu", y2["y2_L"], y2["y2_sims"],
                           f"full_resnet relu L={y2['y2_L']} βv={bv:g} βw={bw:g}",
                           beta_v=bv, beta_w=bw)
        relu_runs.append((f"U = {bv + bw:g}", ResNetParams(activation="relu", beta_v=bv,
                                                           beta_w=bw), res))
    panels.extend(_depth_panels(
        f"ReLU, N = {y1['N']}", relu_runs,
        f"ReLU full resnets, N = M = {y1['N']}, B = {y1['B']}: the runs of claims Y1 (U = 0, "
        f"L = {y1['relu_L']}, {y1['relu_sims']} networks) and Y2 (βv, βw) = "
        + ", ".join(f"({bv:g}, {bw:g})" for bv, bw in Y2_FW)
        + f" (L = {y2['y2_L']}, {y2['y2_sims']} networks): exp(Θ(L)), exp(Θ(L^0.5)), "
        "polynomial (Θ(L^c), c = 1/2) and Θ(1) gradient ratios."))
    tanh_runs = [(f"{reg} (βv={v:g}, βw={w:g})",
                  ResNetParams(activation="tanh", beta_v=v, beta_w=w),
                  grid_runs[("tanh", v, w)]) for reg, v, w in TANH_REGIMES]
    panels.extend(_depth_panels(
        f"tanh, N = {size['N']}", tanh_runs,
        f"tanh full resnets, N = M = {size['N']}, B = {size['B']}, L = {size['tanh_L']}, "
        f"{size['sims']} networks per cell (the phase-grid runs): T-a exp(Θ(√L)), T-b "
        "polynomial, T-d exp(Θ(√log L)), T-e Θ(1)."))

    params = {
        "fidelity": fidelity, "seed": seed,
        "network": "full resnet x <- x + V φ(W x), σv² = σw² = 1, σv²(l) = l^-βv, "
                   "σw²(l) = l^-βw, no biases",
        "map grid": f"(βv, βw) in [0, {BETA_MAX:g}]², step {size['map_step']:g} (classifier)",
        "simulated grid": f"step {size['step']:g} ({len(coarse)}² cells per activation)",
        "N = M (grid)": size["N"], "B (grid)": size["B"],
        "L (grid)": f"ReLU {size['relu_L']}, tanh {size['tanh_L']}",
        "networks per cell": size["sims"],
        "inputs": "one fixed batch of B i.i.d. Gaussian inputs, each of mean square 1 (p^0 = 1)",
        "backward": "one N(0, I) cotangent per input at depth L",
        "ReLU depth panels": f"Y1/Y2 runs: N = M = {y1['N']}, B = {y1['B']}, "
                             f"L = {y1['relu_L']} (U = 0) and {y2['y2_L']} (VV), "
                             f"{y1['relu_sims']} / {y2['y2_sims']} networks",
        "tanh depth panels": "phase-grid runs of cells " + ", ".join(
            f"{r} ({v:g}, {w:g})" for r, v, w in TANH_REGIMES),
    }
    return FigureSection(
        "yang-schoenholz-phase",
        "Yang & Schoenholz: phase diagrams of gradient explosion under variance variation",
        "Variance variation σ²(l) = σ² l^-β moves full resnets between exponential, "
        "polynomial, √log-exponential and bounded gradient explosion. The maps show the "
        "predicted class of χ^0/χ^L (the classifier that claims Y2-Y5 test against the "
        "iterated mean field) with finite-width simulated log(χ^0/χ^L) in coarse cells; the "
        "depth panels show G_l and E log p^l of representative regimes against the mean-field "
        "recursion. At finite depth the maps' classes show as the ordering of G_L across "
        "cells; the classes themselves are asymptotic (L → ∞).",
        params, tuple(panels))
