"""Paper-figure reproductions of Labatie (ICML 2019), convolutional networks (THEORY.md §1.2).

The paper's own figures are convolutional (3x3 kernels, periodic boundaries, 16x16 maps after a
stride-2 stem, N = 512, B = 64, CIFAR-10). These sections sit beside the fully-connected ones of
`verify.reproduce_labatie`:

* ``labatie-fig3-conv``: vanilla conv, ``delta chi^l`` against L4's ``sqrt(2/(1+rho^l))`` and
  ``r_eff(x^l)`` for the three boundaries (C-bc), ``chi^l`` (the L5 claim's runs);
* ``labatie-fig4-conv``: bn_ff conv, the increments against L6, ``chi^l`` with its fitted
  exponential rate, effective ranks, ``mu4(z)`` and ``nu1(|z|)`` with the L9 lower bound;
* ``labatie-fig5-conv``: bn_res conv (H = 2), the increments at h = 1, ``chi^l`` with the fitted
  power law against ``tau_G(2)``, effective ranks, ``mu4(z)`` and ``nu1(|z|)``.

Sizes (`CONV_REPRO_SIZES`): ``quick`` and ``standard`` use reduced widths (64-128) and 8x8 maps
(16x16 natural-photograph crops; Fig 3's vanilla nets are the L5 claim's, 4x4 maps with
B = 16, see `verify.claims_labatie.conv_vanilla_sims`) so that the report stays within its
budget on 2 cores;
``paper`` uses Labatie's sizes (N = 512, 16x16 maps, B = 64, depth 200 / 500 units). Inputs are
the embedded natural photographs (`simulate.inputs`, the CIFAR-10 stand-in); every section
states its sizes and dataset. Compute only: the panels are rendered by ``reports/``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulate import EngineOptions, SimulationResults, spec
from theory import labatie
from verify.cache import SimulationCache
from verify.claims_labatie import (
    L8_WINDOW,
    L11_FROM,
    VANILLA_DEPTH,
    VANILLA_SIZES,
    conv_vanilla_sims,
    increments,
    natural_images,
    vanilla_conv_run,
    vanilla_increment_pair,
)
from verify.context import Context
from verify.panels import FigureSection, Panel
from verify.reproduce_labatie import (
    GAUSSIAN_MU4,
    GAUSSIAN_NU1,
    _ci,
    _common,
    _context,
    _fit_curve,
    exponential_fit,
    network_epsilon,
    power_law_fit,
)
from verify.reproductions import reproduction

#: bn_ff and bn_res conv runs of the Fig 4 / Fig 5 reproductions (3x3, periodic, natural crops of
#: ``image`` pixels: maps of image/2 after the stem).
CONV_REPRO_SIZES: dict[str, dict[str, Any]] = {
    "quick": {"ff_width": 64, "ff_batch": 8, "ff_sims": 6, "res_width": 64, "res_batch": 8,
              "res_units": 200, "res_sims": 4, "image": 16},
    "standard": {"ff_width": 128, "ff_batch": 8, "ff_sims": 12, "res_width": 64, "res_batch": 8,
                 "res_units": 500, "res_sims": 8, "image": 16},
    "paper": {"ff_width": 512, "ff_batch": 64, "ff_sims": 1000, "res_width": 512,
              "res_batch": 64, "res_units": 500, "res_sims": 1000, "image": 32},
}
NATURAL_DATASET = ("natural-photograph crops (the eight colour photographs bundled with "
                   "scikit-image, three scales, random flips; the embedded CIFAR-10 stand-in), "
                   "standardised per channel over batch and positions")
RES_H = 2


def _maps(image: int) -> str:
    return f"{image // 2}x{image // 2}"


def bn_ff_conv_run(ctx: Context, size: dict[str, Any]) -> SimulationResults:
    """bn_ff 3x3 periodic conv, depth 200, every layer, both effective ranks (loc4)."""
    net = spec.bn_ff(size["ff_width"], VANILLA_DEPTH, kernel_size=3, boundary="periodic")
    return ctx.simulate(net, natural_images(size["image"]), batch_size=size["ff_batch"],
                        num_sims=size["ff_sims"], options=EngineOptions(),
                        name=f"bn_ff conv N={size['ff_width']}")


def bn_res_conv_run(ctx: Context, size: dict[str, Any]) -> SimulationResults:
    """bn_res 3x3 periodic conv (H = 2), every unit, both effective ranks (loc3)."""
    net = spec.bn_res(size["res_width"], size["res_units"], RES_H, kernel_size=3,
                      boundary="periodic")
    return ctx.simulate(net, natural_images(size["image"]), batch_size=size["res_batch"],
                        num_sims=size["res_sims"], options=EngineOptions(),
                        name=f"bn_res conv N={size['res_width']}")


# ============================================================================================
# Fig 3 conv
# ============================================================================================
@reproduction("labatie-fig3-conv", "Labatie Fig 3 (conv): vanilla conv, δχ^l and r_eff(x^l) by "
              "boundary", paper="L")
def build_fig3_conv(fidelity: str, seed: int, cache: SimulationCache | None) -> FigureSection:
    """delta chi^l (periodic) with L4's sqrt(2/(1+rho^l)); r_eff(x^l) and chi^l for the
    periodic, symmetric and zero-padding boundaries: the L5 claim's conv runs."""
    ctx = _context("labatie-fig3-conv", fidelity, seed, cache)
    size = VANILLA_SIZES[ctx.fidelity]
    w, b, img = size["cv_width"], size["cv_batch"], size["cv_image"]
    runs = {bd: vanilla_conv_run(ctx, w, conv_vanilla_sims(size, bd), b, img, bd, reff=True)
            for bd in spec.BOUNDARIES}
    per = runs["periodic"]
    d = per.depth
    realised, predicted = vanilla_increment_pair(per, labatie.vanilla_increment)
    limit = labatie.one_dimensional_realised_increment(w)
    tag = f"vanilla conv N={w}, {_maps(img)} maps"
    p1 = Panel(f"Fig 3a (conv): δχ^l = χ(loc3)/χ(loc1), {tag}, periodic", "layer l", "δχ^l",
               caption="L4: (δχ^l)^2 = 2/(1 + ρ^l) with ρ^l from the measured pre-activations "
                       "(channels pooled over batch and positions; sim mean); L5: δχ^l → 1 "
                       f"(realised value 1 + 3/(2N) = {limit:.4f})",
               overlay="chi_loc3 / chi_loc1", network="vanilla")
    p1.simulation(d, realised, "simulation")
    p1.theory(d, predicted.mean(axis=0), "L4: sqrt(2/(1+ρ^l)), measured ρ")
    p1.theory(d, limit, "L5: 1 + 3/(2N)")
    p2 = Panel(f"Fig 3b (conv, C-bc): r_eff(x^l) (loc3), {tag}, by boundary", "layer l",
               "r_eff(x^l)", logy=True,
               caption="L5: r_eff(x) → 1 for periodic and symmetric boundaries; zero padding "
                       "keeps r_eff well above 1 (the notebook: around 2)",
               overlay="reff_signal_loc3", network="vanilla")
    for bd, r in runs.items():
        p2.simulation(r.depth, r["reff_signal_loc3"], bd)
    p2.theory(d, 1.0, "L5: 1")
    p3 = Panel(f"Fig 3c (conv): χ^l (loc3), {tag}, by boundary", "layer l", "χ^l", logy=True,
               caption="no closed form at finite width (L5: χ grows, δχ → 1)",
               overlay="chi_loc3", network="vanilla")
    for bd, r in runs.items():
        p3.simulation(r.depth, r["chi_loc3"], bd)
    params = {
        "width": w, "depth": VANILLA_DEPTH, "batch size": b, "kernel": "3x3, stride 1",
        "maps": f"{_maps(img)} (stem: {img}x{img}x3 -> {_maps(img)}x{w}, 3x3 stride 2, LeCun)",
        "boundaries": ", ".join(spec.BOUNDARIES),
        "sims": f"{per.num_sims} per boundary (every layer)",
        "dataset": NATURAL_DATASET + "; white Gaussian input noise per simulation",
        "paper sizes": "N=512, 16x16 maps, B=64, 1000 sims (fidelity 'paper')",
        "epsilon": "none (no batch norm)", "res_depth": "none (feedforward)", **_common(ctx),
    }
    return FigureSection(
        "labatie-fig3-conv", "Labatie Fig 3 (conv): vanilla conv, δχ^l and effective ranks",
        description="Vanilla 3x3 conv He-ReLU nets (LeCun stride-2 stem), depth 200, one per "
                    "boundary: the L5 claim's conv runs. The paper's Fig 3 is this network at "
                    "N=512 on CIFAR-10; here the width, map size and batch are reduced below "
                    "'paper' fidelity (see parameters).",
        parameters=params, panels=(p1, p2, p3))


# ============================================================================================
# Fig 4 conv
# ============================================================================================
@reproduction("labatie-fig4-conv", "Labatie Fig 4 (conv): BN feedforward conv, increments, χ^l, "
              "effective ranks, μ4(z), ν1(|z|)", paper="L")
def build_fig4_conv(fidelity: str, seed: int, cache: SimulationCache | None) -> FigureSection:
    """bn_ff conv: delta_BN chi, delta_phi chi (L6 from the measured nu1), delta chi; chi^l with
    the fitted exponential rate and the Gaussian reference; r_eff(x), r_eff(dx); mu4(z), nu1(|z|)
    with the L9 lower bound."""
    ctx = _context("labatie-fig4-conv", fidelity, seed, cache)
    size = CONV_REPRO_SIZES[ctx.fidelity]
    res = bn_ff_conv_run(ctx, size)
    d = res.depth
    w, img = size["ff_width"], size["image"]
    tag = f"bn_ff conv N={w}, {_maps(img)} maps"
    dbn, dphi, dchi = (increments(res, "loc3", "loc1"), increments(res, "loc4", "loc3"),
                       increments(res, "loc4", "loc1"))
    dphi_th = labatie.bn_relu_increment_from_sq(res["nu1_abs_sq_signal_loc3"])
    p1 = Panel(f"Fig 4a (conv): δ_BN χ^l = χ(loc3)/χ(loc1), {tag}", "layer l", "δ_BN χ^l",
               caption="L7: above 1 as the signal becomes ill-conditioned (the exact integral "
                       "needs the 9N-dimensional patch covariance, not measured at conv)",
               overlay="chi_loc3 / chi_loc1", network="bn_ff")
    p1.simulation(d, dbn, "simulation")
    p1.theory(d, 1.0, "Gaussian reference: 1")
    p2 = Panel(f"Fig 4b (conv): δ_φ χ^l = χ(loc4)/χ(loc3), {tag}", "layer l", "δ_φ χ^l",
               caption="L6: (δ_φ χ)^2 = 2/(2 - E_c ν1(|z_c|)^2) with ν1 measured at loc3 on the "
                       "same simulations (sim mean)", overlay="chi_loc4 / chi_loc3",
               network="bn_ff")
    p2.simulation(d, dphi, "simulation")
    p2.theory(d, dphi_th.mean(axis=0), "L6: sqrt(2/(2-ν1^2)), measured ν1")
    p2.theory(d, labatie.bn_relu_increment_gaussian(), "Gaussian z: sqrt(π/(π-1))")
    p3 = Panel(f"Fig 4c (conv): δχ^l = χ(loc4)/χ(loc1), {tag}", "layer l", "δχ^l",
               caption="L8: stays well above 1 (δ_BN rises while δ_φ falls)",
               overlay="chi_loc4 / chi_loc1", network="bn_ff")
    p3.simulation(d, dchi, "simulation")
    p3.theory(d, labatie.bn_relu_increment_gaussian(), "Gaussian reference")
    gam, xf, yf = exponential_fit(d, res["log_chi_loc4"], ctx.rng("gamma"), window=L8_WINDOW,
                                  n_resamples=ctx.n_resamples)
    chi0 = float(res["chi_loc1"][:, 0].mean())
    lo, hi = L8_WINDOW
    p4 = Panel(f"Fig 4d (conv): χ^l (loc4), {tag}: exponential growth", "layer l", "χ^l",
               logy=True,
               caption=f"fit: least-squares slope γ of the sim mean of log χ^l on l over [{lo}, "
                       f"{hi}], 99% bootstrap CI over simulations: {_ci(gam)}; Gaussian "
                       f"reference γ_G = {labatie.gamma_gaussian():.5f} from χ^0",
               overlay="chi_loc4",
               network="bn_ff")
    p4.simulation(d, res["chi_loc4"], "simulation")
    p4.curves.append(_fit_curve(f"fit exp(a + γ l), γ = {gam.value:.4f}", xf, yf))
    gam_g = labatie.gamma_gaussian()
    p4.theory(d, chi0 * np.exp(gam_g * d), f"Gaussian rate γ_G = {gam_g:.4f}")
    p5 = Panel(f"Fig 4e (conv): r_eff(x^l), r_eff(dx^l) (loc4), {tag}", "layer l", "r_eff",
               caption="channel covariance over batch and positions (no closed form)",
               overlay="reff_signal_loc4", network="bn_ff")
    p5.simulation(d, res["reff_signal_loc4"], "r_eff(x^l)")
    p5.simulation(d, res["reff_noise_loc4"], "r_eff(dx^l)")
    p6 = Panel(f"Fig 4f (conv): kurtosis μ4(z^l) (loc3), {tag}", "layer l", "μ4(z^l)",
               caption="L9: μ4 ≥ 1/ν1(|z|)^2 and grows with depth (fat tails); Gaussian 3",
               overlay="mu4_signal_loc3", network="bn_ff")
    p6.simulation(d, res["mu4_signal_loc3"], "simulation")
    p6.theory(d, GAUSSIAN_MU4, "Gaussian: 3")
    p6.theory(d, (1.0 / res["nu1_abs_signal_loc3"] ** 2).mean(axis=0),
              "L9 lower bound 1/ν1^2 (measured)")
    p7 = Panel(f"Fig 4g (conv): ν1(|z^l|) (loc3), {tag}", "layer l", "ν1(|z^l|)",
               caption="Gaussian value sqrt(2/π); falls with depth (L9)",
               overlay="nu1_abs_signal_loc3", network="bn_ff")
    p7.simulation(d, res["nu1_abs_signal_loc3"], "simulation")
    p7.theory(d, GAUSSIAN_NU1, "Gaussian: sqrt(2/π)")
    net = spec.bn_ff(w, VANILLA_DEPTH, kernel_size=3)
    params = {
        "width": w, "depth": VANILLA_DEPTH, "batch size": size["ff_batch"],
        "kernel": "3x3, stride 1, periodic", "maps": f"{_maps(img)} (stem {img}x{img}x3, 3x3 "
        "stride 2, LeCun)", "sims": f"{res.num_sims} (every layer)",
        "dataset": NATURAL_DATASET + "; white noise per simulation",
        "paper sizes": "N=512, 16x16 maps, B=64, 1000 sims (fidelity 'paper')",
        "epsilon": network_epsilon(net), "res_depth": "none (feedforward)",
        "fitted γ (99% CI)": _ci(gam), **_common(ctx),
    }
    return FigureSection(
        "labatie-fig4-conv", "Labatie Fig 4 (conv): BN feedforward conv (bn_ff)",
        description="bn_ff 3x3 conv (LeCun stride-2 stem, He conv, BN per channel over batch "
                    "and positions, ReLU), depth 200: the three increments (δ_φ against L6 from "
                    "the measured ν1), χ^l with its fitted exponential rate against the "
                    "Gaussian reference, effective ranks, and μ4 and ν1 of the normalised "
                    "pre-activations (loc3). Reduced sizes below 'paper' (see parameters).",
        parameters=params, panels=(p1, p2, p3, p4, p5, p6, p7))


# ============================================================================================
# Fig 5 conv
# ============================================================================================
@reproduction("labatie-fig5-conv", "Labatie Fig 5 (conv): BN-resnet conv, first layer of each "
              "unit and the power law of χ^l", paper="L")
def build_fig5_conv(fidelity: str, seed: int, cache: SimulationCache | None) -> FigureSection:
    """bn_res conv (H = 2): increments at h = 1 (L6 from the measured nu1 at loc2), chi^l on
    log-log axes with the fitted power law (l >= L11_FROM) against tau_G(2); r_eff(x), r_eff(dx)
    (loc3); mu4(z), nu1(|z|) (loc2)."""
    ctx = _context("labatie-fig5-conv", fidelity, seed, cache)
    size = CONV_REPRO_SIZES[ctx.fidelity]
    res = bn_res_conv_run(ctx, size)
    d = res.depth
    w, img = size["res_width"], size["image"]
    tag = f"bn_res conv N={w}, {_maps(img)} maps"
    dphi_th = labatie.bn_relu_increment_from_sq(res["nu1_abs_sq_signal_loc2"])
    p1 = Panel(f"Fig 5a (conv): δ_BN χ^{{l,1}} = χ(loc2)/χ(loc1), {tag}", "residual unit l",
               "δ_BN χ^{l,1}", logx=True, caption="stays near 1 (L12: the near-Gaussian, "
               "shallow BN-FF regime)", overlay="chi_loc2 / chi_loc1", network="bn_res")
    p1.simulation(d, increments(res, "loc2", "loc1"), "simulation")
    p1.theory(d, 1.0, "Gaussian reference: 1")
    p2 = Panel(f"Fig 5b (conv): δ_φ χ^{{l,1}} = χ(loc4)/χ(loc2) (ReLU and conv), {tag}",
               "residual unit l", "δ_φ χ^{l,1}", logx=True,
               caption="L6 with ν1 at loc2 (the conv is neutral in expectation, L1)",
               overlay="chi_loc4 / chi_loc2", network="bn_res")
    p2.simulation(d, increments(res, "loc4", "loc2"), "simulation")
    p2.theory(d, dphi_th.mean(axis=0), "L6: sqrt(2/(2-ν1^2)), measured ν1")
    p2.theory(d, labatie.bn_relu_increment_gaussian(), "Gaussian z: sqrt(π/(π-1))")
    est, xf, yf = power_law_fit(d, res["log_chi_loc5"], ctx.rng("tau"), start=L11_FROM,
                                n_resamples=ctx.n_resamples)
    chi0 = float(res["chi_loc1"][:, 0].mean())
    tau_g = float(labatie.tau_gaussian(RES_H))
    dl = d.astype(float)
    p3 = Panel(f"Fig 5c (conv): χ^l (loc5), {tag}: power law", "residual unit l", "χ^l",
               logx=True, logy=True,
               caption=f"fit: least-squares slope τ̂ of the sim mean of log χ^l on log l for "
                       f"l ≥ {L11_FROM}, 99% bootstrap CI over simulations: {_ci(est)}; L11: "
                       f"χ^0 Π_k (1 + 2τ/(k + c0))^(1/2) with τ_G({RES_H}) = {tau_g:.4f} "
                       f"from the measured χ^0 = {chi0:.3f}", overlay="chi_loc5",
               network="bn_res")
    p3.simulation(d, res["chi_loc5"], "simulation")
    p3.curves.append(_fit_curve(f"power-law fit, τ̂ = {est.value:.4f}", xf, yf))
    p3.theory(dl, chi0 * labatie.resnet_chi_product(dl, 2 * tau_g), f"L11: τ_G = {tau_g:.4f}")
    p4 = Panel(f"Fig 5d (conv): r_eff(x^{{l,1}}), r_eff(dx^{{l,1}}) (loc3), {tag}",
               "residual unit l", "r_eff", logx=True, caption="L12 (c2): no collapse",
               overlay="reff_signal_loc3", network="bn_res")
    p4.simulation(d, res["reff_signal_loc3"], "r_eff(x^{l,1})")
    p4.simulation(d, res["reff_noise_loc3"], "r_eff(dx^{l,1})")
    p5 = Panel(f"Fig 5e (conv): μ4(z^{{l,1}}) and ν1(|z^{{l,1}}|) (loc2), {tag}",
               "residual unit l", "moment", logx=True,
               caption="L12: both stay near their Gaussian values 3 and sqrt(2/π)",
               overlay="mu4_signal_loc2", network="bn_res")
    p5.simulation(d, res["mu4_signal_loc2"], "μ4(z)")
    p5.simulation(d, res["nu1_abs_signal_loc2"], "ν1(|z|)")
    p5.theory(d, GAUSSIAN_MU4, "Gaussian μ4: 3")
    p5.theory(d, GAUSSIAN_NU1, "Gaussian ν1: sqrt(2/π)")
    net = spec.bn_res(w, size["res_units"], RES_H, kernel_size=3)
    params = {
        "width": w, "depth": f"{size['res_units']} residual units ({size['res_units'] * RES_H} "
                             "convolutions)", "batch size": size["res_batch"],
        "kernel": "3x3, stride 1, periodic", "maps": f"{_maps(img)} (stem {img}x{img}x3, 3x3 "
        "stride 2, LeCun)", "sims": f"{res.num_sims} (every unit)",
        "dataset": NATURAL_DATASET + "; white noise per simulation",
        "paper sizes": "N=512, 16x16 maps, B=64, 500 units, 1000 sims (fidelity 'paper')",
        "epsilon": network_epsilon(net), "res_depth": RES_H, "fitted τ (99% CI)": _ci(est),
        "τ_G(H)": round(tau_g, 6), **_common(ctx),
    }
    return FigureSection(
        "labatie-fig5-conv", "Labatie Fig 5 (conv): BN-resnet conv (bn_res, H = 2)",
        description="bn_res 3x3 conv (pre-activation units BN-ReLU-conv, H = 2), measured at "
                    "the first layer of every unit: increments against L6, χ^l on log-log axes "
                    "with the fitted power law against τ_G(2), effective ranks, μ4 and ν1 "
                    "(L12). Reduced sizes below 'paper' (see parameters).",
        parameters=params, panels=(p1, p2, p3, p4, p5))
