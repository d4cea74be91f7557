"""Paper-figure reproductions of Labatie (ICML 2019), fully-connected networks (THEORY.md §1.2).

Figure numbers follow THEORY.md §1.2 (the paper's numbering):

* ``labatie-fig2``: vanilla FC, histograms of ``log nu2(x^l)/nu2(x^0)`` and
  ``log mu2(dx^l)/mu2(dx^0)`` at l = 50, 100, 150, 200 (loc3), with the L3 diffusion densities;
* ``labatie-fig3``: vanilla FC N=512, ``delta chi^l`` (L4), ``r_eff(x^l)``, ``r_eff(dx^l)``
  (L5) and ``chi^l`` against its mean-field value (L5 (c5));
* ``labatie-fig4``: bn_ff FC, the three increments (L6, L7), ``chi^l`` with the fitted and
  assembled exponential rates (L8), effective ranks, ``mu4(z)`` and ``nu1(|z|)`` (L9);
* ``labatie-fig5``: bn_res FC (H = 2), the same quantities at the first layer of each unit and
  ``chi^l`` with the fitted power law and the L11 exponents.

Every simulation goes through `verify.context.Context` with exactly the configuration a claim
uses at that fidelity (the run functions of `verify.claims_labatie`), so a report after the
claims reads them from the cache. The only new runs are the noise effective ranks
``r_eff(dx)`` of the vanilla and bn_res nets, which no claim computes (`REPRO_SIZES`).
Compute only: the panels are rendered by ``reports/``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from simulate import EngineOptions, SimulationResults, spec
from simulate.spec import BatchNorm, Network
from theory import arccos, labatie
from verify import stats
from verify.cache import SimulationCache
from verify.claims_labatie import (
    BN_FF_SIZES,
    GAUSSIAN_3072,
    L8_WINDOW,
    L11_FROM,
    RES_SIZES,
    SPECTRA_SIZES,
    VANILLA_BATCH,
    VANILLA_DEPTH,
    VANILLA_SIZES,
    apply_records,
    bn_ff_run,
    depth_index,
    increments,
    res_run,
    spectra_run,
    v128_run,
    v512_run,
    vanilla_batch,
    vanilla_increment_pair,
)
from verify.context import Context
from verify.panels import Curve, FigureSection, Panel
from verify.reproductions import reproduction

#: Sizes of the runs only the reproductions need: the noise effective ranks r_eff(dx) of the
#: vanilla N=512 net (``vnoise_*``, measured every ``vnoise_every`` layers) and of the bn_res net
#: (``rnoise_*``, every ``rnoise_every`` units). Everything else reuses the claims' runs.
REPRO_SIZES: dict[str, dict[str, int]] = {
    "quick": {"vnoise_sims": 20, "vnoise_every": 5, "rnoise_sims": 20, "rnoise_every": 5},
    "standard": {"vnoise_sims": 50, "vnoise_every": 5, "rnoise_sims": 50, "rnoise_every": 5},
    "paper": {"vnoise_sims": 200, "vnoise_every": 2, "rnoise_sims": 200, "rnoise_every": 5},
}

#: Depths of the Fig 2 histograms (THEORY.md §1.2).
HIST_DEPTHS = (50, 100, 150, 200)
#: Width of the Fig 2 net: the claims' shared N=128 vanilla run (L2 (c3), L3 (c4), L5).
HIST_WIDTH = 128
#: Width of the Fig 3 net (the claims' shared v512 run).
FIG3_WIDTH = 512

#: Gaussian reference values (THEORY.md §0, L6).
GAUSSIAN_NU1 = math.sqrt(2.0 / math.pi)
GAUSSIAN_MU4 = 3.0
#: L12 (c2) floor of r_eff(x^{l,1}) in BN-resnets.
RES_REFF_FLOOR = 5.0

GAUSSIAN_DATASET = ("i.i.d. Gaussian N(0,1) inputs of dimension 3072 (CIFAR-10 stand-in; no data "
                    "files), standardised per feature over the batch")


def normal_density(x: np.ndarray, mean: float, var: float) -> np.ndarray:
    """Density of N(mean, var) at ``x`` (any shape); ``var`` must be > 0."""
    if not var > 0:
        raise ValueError(f"var={var!r} is not allowed; it must be > 0")
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * (x - mean) ** 2 / var) / math.sqrt(2.0 * math.pi * var)


def histogram_bins(n_values: int) -> int:
    """Number of histogram bins for ``n_values`` draws: ``1.5 sqrt(n)`` clipped to [10, 60]."""
    return int(np.clip(round(1.5 * math.sqrt(max(n_values, 1))), 10, 60))


def network_epsilon(net: Network) -> float | None:
    """The BN epsilon of ``net`` (None if it has no batch norm)."""
    for layer in spec.walk(net.block):
        if isinstance(layer, BatchNorm):
            return float(layer.epsilon)
    return None


def power_law_fit(depth: np.ndarray, log_chi: np.ndarray, rng: np.random.Generator, *,
                  start: int, n_resamples: int) -> tuple[stats.Estimate, np.ndarray, np.ndarray]:
    """Least-squares slope of the sim mean of ``log chi^l`` on ``log l`` over ``l >= start``.

    depth: ``(P,)`` measured units; log_chi: ``(S, P)``. Returns (slope estimate with a 99%
    bootstrap CI over simulations, the fitted units ``(Q,)``, the fitted curve
    ``exp(a + slope log l)`` at those units ``(Q,)``).
    """
    sel = np.asarray(depth) >= start
    if sel.sum() < 2:
        raise ValueError(f"start={start} leaves fewer than 2 measured units to fit")
    x = np.log(np.asarray(depth, dtype=float)[sel])
    ys = np.asarray(log_chi, dtype=float)[:, sel]
    est = stats.fit_line(x, ys, rng, n_resamples=n_resamples)
    m = ys.mean(axis=0)
    a = float(m.mean() - est.value * x.mean())
    return est, np.asarray(depth, dtype=float)[sel], np.exp(a + est.value * x)


def exponential_fit(depth: np.ndarray, log_chi: np.ndarray, rng: np.random.Generator, *,
                    window: tuple[int, int], n_resamples: int
                    ) -> tuple[stats.Estimate, np.ndarray, np.ndarray]:
    """Least-squares slope gamma of the sim mean of ``log chi^l`` on ``l`` over ``window``.

    Returns (gamma with a 99% bootstrap CI over simulations, the fitted depths ``(Q,)``, the
    fitted curve ``exp(a + gamma l)`` ``(Q,)``).
    """
    lo, hi = window
    sel = (np.asarray(depth) >= lo) & (np.asarray(depth) <= hi)
    if sel.sum() < 2:
        raise ValueError(f"window={window} holds fewer than 2 measured depths")
    x = np.asarray(depth, dtype=float)[sel]
    ys = np.asarray(log_chi, dtype=float)[:, sel]
    est = stats.fit_line(x, ys, rng, n_resamples=n_resamples)
    m = ys.mean(axis=0)
    a = float(m.mean() - est.value * x.mean())
    return est, x, np.exp(a + est.value * x)


def _ci(est: stats.Estimate) -> str:
    return f"{est.value:.4f} [{est.ci[0]:.4f}, {est.ci[1]:.4f}]"


def _fit_curve(label: str, x: np.ndarray, y: np.ndarray) -> Curve:
    """A fitted curve drawn like a simulation curve without band (a fit is not theory)."""
    return Curve(label, "simulation", np.asarray(x, float), np.asarray(y, float))


def _context(rep_id: str, fidelity: str, seed: int, cache: SimulationCache | None) -> Context:
    return Context(rep_id, fidelity, seed, cache=cache)


def _common(ctx: Context) -> dict[str, Any]:
    return {"seed": ctx.seed, "fidelity": ctx.fidelity}


# ============================================================================================
# Fig 2: vanilla FC, diffusion histograms
# ============================================================================================
@reproduction("labatie-fig2", "Labatie Fig 2: vanilla FC, diffusion of log ν2(x^l) and "
              "log μ2(dx^l)", paper="L")
def build_fig2(fidelity: str, seed: int, cache: SimulationCache | None) -> FigureSection:
    """Histograms over simulations of ``log nu2(x^l)/nu2(x^0)`` and ``log mu2(dx^l)/mu2(dx^0)``
    (loc3) at l in `HIST_DEPTHS`, one panel per depth, from the claims' shared N=128 vanilla run.

    Theory (L3): once the signal is collinear the per-layer log-increments of nu2 are i.i.d.
    with the exact digamma mean and variance (N = 128: -0.0198, 0.0402), so
    ``log nu2(x^l)/nu2(x^0) ~ N(l E log R, l Var log R)`` (early layers diffuse slower, v < 5).
    The noise has no FC prediction beyond "faster than 1/N" (L3 (c4)); the conv-rate density
    ``N(-l/(2N), l/N)`` is drawn as that reference.
    """
    ctx = _context("labatie-fig2", fidelity, seed, cache)
    size = VANILLA_SIZES[ctx.fidelity]
    res = v128_run(ctx, size)
    width = HIST_WIDTH
    sig = np.log(res["nu2_signal_loc3"]) - np.log(res["nu2_signal_loc1"][:, :1])
    noi = res["log_mu2_noise_loc3"] - res["log_mu2_noise_loc1"][:, :1]
    e_log, var_log = (float(v) for v in labatie.vanilla_exact_log_moments(width))
    nbins = histogram_bins(res.num_sims)
    panels = []
    for l in HIST_DEPTHS:
        j = depth_index(res.depth, l)
        s, n = sig[:, j], noi[:, j]
        both = np.concatenate([s, n])
        both = both[np.isfinite(both)]
        sd = math.sqrt(l * var_log)
        x = np.linspace(min(float(both.min()), l * e_log - 3.5 * sd),
                        max(float(both.max()), l * e_log + 3.5 * sd), 241)
        p = Panel(f"Fig 2, l={l}: log-moments relative to layer 0 (vanilla FC, N={width})",
                  "log ν2(x^l)/ν2(x^0)  or  log μ2(dx^l)/μ2(dx^0)", "density over simulations",
                  caption=f"{res.num_sims} simulations; theory (signal): N(l E log R, l Var log "
                          f"R) with the exact collinear rates E log R = {e_log:.5f}, Var log R "
                          f"= {var_log:.5f} (L3); noise: conv-rate reference N(-l/2N, l/N), "
                          "which the FC noise exceeds (L3 (c4))")
        p.histogram(s, nbins, "log ν2(x^l)/ν2(x^0)")
        p.theory(x, normal_density(x, l * e_log, l * var_log),
                 "ν2 theory: N(l E log R, l Var log R) (L3)")
        p.histogram(n, nbins, "log μ2(dx^l)/μ2(dx^0)")
        p.theory(x, normal_density(x, -l / (2 * width), l / width),
                 "μ2(dx) conv-rate reference N(-l/2N, l/N)")
        panels.append(p)
    params = {
        "width": width, "depth": VANILLA_DEPTH, "batch size": VANILLA_BATCH,
        "sims": res.num_sims, "dataset": "one fixed batch of " + GAUSSIAN_DATASET
        + "; white Gaussian input noise per simulation",
        "epsilon": "none (no batch norm)", "res_depth": "none (feedforward)",
        "histogram depths": ", ".join(str(d) for d in HIST_DEPTHS), "bins": nbins,
        **_common(ctx),
    }
    return FigureSection(
        "labatie-fig2", "Labatie Fig 2: vanilla FC, diffusion of log ν2(x^l) and log μ2(dx^l)",
        description="Histograms over simulations of log ν2(x^l)/ν2(x^0) and log μ2(dx^l)/"
                    "μ2(dx^0) at loc3 (after the ReLU) for l = 50, 100, 150, 200, one panel per "
                    "depth. Vanilla FC He-ReLU net (LeCun stem), the claims' shared N=128 run "
                    "(the paper's Fig 2 uses N=128 with B=1024 and 10 000 simulations; here "
                    "B=64). Dashed: the L3 diffusion of the signal with the exact collinear "
                    "rates (an upper bound on the spread while the signal is not yet "
                    "one-dimensional) and, for the noise, the conv rate 1/N that the FC noise "
                    "is predicted to exceed.",
        parameters=params, panels=tuple(panels))


# ============================================================================================
# Fig 3: vanilla FC N=512, delta chi, effective ranks, chi
# ============================================================================================
def vanilla_noise_reff_run(ctx: Context, sizes: Mapping[str, int]) -> SimulationResults:
    """Vanilla N=512 on the fixed vanilla batch with r_eff(dx) at loc3 (no claim computes it)."""
    net = spec.vanilla(FIG3_WIDTH, VANILLA_DEPTH, sizes["vnoise_every"])
    return ctx.simulate(net, vanilla_batch(ctx), num_sims=sizes["vnoise_sims"],
                        options=EngineOptions(compute_reff_signal=False, compute_reff_noise=True),
                        name=f"vanilla N={FIG3_WIDTH} r_eff(dx)")


@reproduction("labatie-fig3", "Labatie Fig 3: vanilla FC, δχ^l and effective ranks", paper="L")
def build_fig3(fidelity: str, seed: int, cache: SimulationCache | None) -> FigureSection:
    """delta chi^l = chi_loc3/chi_loc1 with the L4 prediction sqrt(2/(1 + rho^l)) from the
    measured rho; r_eff(x^l), r_eff(dx^l) with the L5 limit r_eff(x) -> 1; chi^l against the
    mean-field chi on the same batch (L5 (c5))."""
    ctx = _context("labatie-fig3", fidelity, seed, cache)
    size = VANILLA_SIZES[ctx.fidelity]
    extra = REPRO_SIZES[ctx.fidelity]
    res = v512_run(ctx, size)
    noise = vanilla_noise_reff_run(ctx, extra)
    d = res.depth
    realised, predicted = vanilla_increment_pair(res, labatie.vanilla_increment)
    p1 = Panel("Fig 3a: δχ^l = χ(loc3)/χ(loc1), vanilla FC N=512", "layer l", "δχ^l",
               caption="L4: (δχ^l)^2 = 2/(1 + ρ^l), ρ^l = E_c Var|y_c| / E_c Var y_c from the "
                       "measured pre-activations (sim mean); L5: δχ^l → 1",
               overlay="chi_loc3 / chi_loc1", network="vanilla")
    p1.simulation(d, realised, "simulation")
    p1.theory(d, predicted.mean(axis=0), "L4: sqrt(2/(1+ρ^l)), measured ρ")
    p1.theory(d, 1.0, "L5: limit 1")
    p1.points([1.0], [labatie.bn_relu_increment_gaussian()],
              "L4: Gaussian layer 1, sqrt(π/(π-1))", kind="theory")
    p2 = Panel("Fig 3b: effective ranks r_eff(x^l), r_eff(dx^l) (loc3), vanilla FC N=512",
               "layer l", "r_eff", logy=True,
               caption=f"r_eff(x): {res.num_sims} simulations; r_eff(dx): a separate run of the "
                       f"same net and batch, {noise.num_sims} simulations, every "
                       f"{extra['vnoise_every']} layers; L5: r_eff(x) → 1 (one-dimensional "
                       "signal)", network="vanilla", overlay="reff_signal_loc3")
    p2.simulation(d, res["reff_signal_loc3"], "r_eff(x^l)")
    p2.simulation(noise.depth, noise["reff_noise_loc3"], "r_eff(dx^l)")
    p2.theory(d, 1.0, "L5: r_eff(x) → 1")
    mf = arccos.mean_field_chi(vanilla_batch(ctx), d)
    p3 = Panel("Fig 3c: χ^l (loc3), vanilla FC N=512, against mean field", "layer l", "χ^l",
               logy=True, caption="mean field: the ReLU kernel iterated on the same input "
                                  "batch (infinite width, L5 (c5)); finite width stays below "
                                  "it and saturates", overlay="chi_loc3", network="vanilla")
    p3.simulation(d, res["chi_loc3"], "simulation")
    p3.theory(d, mf, "mean field (L5, S9)")
    params = {
        "width": FIG3_WIDTH, "depth": VANILLA_DEPTH, "batch size": VANILLA_BATCH,
        "sims": f"{res.num_sims} (δχ, r_eff(x), χ; every {size['v512_every']} layers); "
                f"{noise.num_sims} (r_eff(dx); every {extra['vnoise_every']} layers)",
        "dataset": "one fixed batch of " + GAUSSIAN_DATASET
        + "; white Gaussian input noise per simulation",
        "epsilon": "none (no batch norm)", "res_depth": "none (feedforward)", **_common(ctx),
    }
    return FigureSection(
        "labatie-fig3", "Labatie Fig 3: vanilla FC, δχ^l and effective ranks",
        description="Vanilla FC He-ReLU net (LeCun stem), N=512, B=64, depth 200: the claims' "
                    "shared run (L4 (c2), L5). Increment δχ^l = χ_loc3/χ_loc1 against the L4 "
                    "dominating term from the measured ρ^l; effective ranks of the signal and "
                    "noise (the noise rank from an extra run: no claim computes it); χ^l "
                    "against the mean-field χ on the same inputs.",
        parameters=params, panels=(p1, p2, p3))


# ============================================================================================
# Fig 4: bn_ff FC
# ============================================================================================
@reproduction("labatie-fig4", "Labatie Fig 4: BN feedforward FC, increments, χ^l, effective "
              "ranks, μ4(z), ν1(|z|)", paper="L")
def build_fig4(fidelity: str, seed: int, cache: SimulationCache | None) -> FigureSection:
    """bn_ff FC (N=512, B=64, depth 200): delta_BN chi (L7 integral with measured C, D from the
    claims' spectra run), delta_phi chi (L6 from the measured nu1), delta chi (their product);
    chi^l (loc4) with the fitted rate gamma and the assembled rate (L8); r_eff(x), r_eff(dx)
    (loc4); mu4(z) and nu1(|z|) (loc3) with the Gaussian values and the L9 lower bound."""
    ctx = _context("labatie-fig4", fidelity, seed, cache)
    size = {**BN_FF_SIZES[ctx.fidelity], **SPECTRA_SIZES[ctx.fidelity]}
    res = bn_ff_run(ctx, size)
    spc = spectra_run(ctx, size)
    d, ds = res.depth, spc.depth
    dbn = increments(res, "loc3", "loc1")
    dphi = increments(res, "loc4", "loc3")
    dchi = increments(res, "loc4", "loc1")
    dphi_th = labatie.bn_relu_increment_from_sq(res["nu1_abs_sq_signal_loc3"])
    dbn_th = np.sqrt(apply_records(labatie.delta_bn_sq_from_spectra, spc["cov_eigvals_loc1"],
                                   spc["noise_proj_loc1"]))
    dchi_th = dbn_th * labatie.bn_relu_increment_from_sq(spc["nu1_abs_sq_signal_loc3"])
    every = size["spec_every"]
    p1 = Panel("Fig 4a: δ_BN χ^l = χ(loc3)/χ(loc1), bn_ff FC", "layer l", "δ_BN χ^l",
               caption=f"L7: exact expectation over the kernel with the measured signal "
                       f"covariance C and noise second moments D at loc1 (spectra run, "
                       f"{spc.num_sims} simulations, every {every} layers; sim mean)",
               overlay="chi_loc3 / chi_loc1", network="bn_ff")
    p1.simulation(d, dbn, "simulation")
    p1.theory(ds, dbn_th.mean(axis=0), "L7 integral, measured C, D")
    p2 = Panel("Fig 4b: δ_φ χ^l = χ(loc4)/χ(loc3), bn_ff FC", "layer l", "δ_φ χ^l",
               caption="L6: (δ_φ χ)^2 = 2/(2 - E_c ν1(|z_c|)^2) with ν1 measured at loc3 on "
                       "the same simulations (sim mean)",
               overlay="chi_loc4 / chi_loc3", network="bn_ff")
    p2.simulation(d, dphi, "simulation")
    p2.theory(d, dphi_th.mean(axis=0), "L6: sqrt(2/(2-ν1^2)), measured ν1")
    p2.theory(d, labatie.bn_relu_increment_gaussian(), "Gaussian z: sqrt(π/(π-1))")
    p3 = Panel("Fig 4c: δχ^l = χ(loc4)/χ(loc1), bn_ff FC", "layer l", "δχ^l",
               caption="theory: L6 × L7 (measured ν1 and C, D of the spectra run, sim mean); "
                       "Gaussian reference: δ_BN = 1, δ_φ = sqrt(π/(π-1))",
               overlay="chi_loc4 / chi_loc1", network="bn_ff")
    p3.simulation(d, dchi, "simulation")
    p3.theory(ds, dchi_th.mean(axis=0), "L6 × L7, measured ν1, C, D")
    p3.theory(d, labatie.bn_relu_increment_gaussian(), "Gaussian reference")
    lo, hi = L8_WINDOW
    gam, xf, yf = exponential_fit(d, res["log_chi_loc4"], ctx.rng("gamma"), window=L8_WINDOW,
                                  n_resamples=ctx.n_resamples)
    wins = (ds >= lo) & (ds <= hi)
    ghat = float(np.mean(labatie.bn_ff_assembled_rate(
        np.sqrt(spc["nu1_abs_sq_signal_loc3"][:, wins]), dbn_th[:, wins])))
    xw = d[(d >= lo) & (d <= hi)].astype(float)
    anchor = float(res["log_chi_loc4"][:, (d >= lo) & (d <= hi)].mean())
    chi0 = float(res["chi_loc1"][:, 0].mean())
    p4 = Panel("Fig 4d: χ^l (loc4), bn_ff FC: exponential growth", "layer l", "χ^l", logy=True,
               caption=f"fit: least-squares slope γ of the sim mean of log χ^l on l over [{lo}, "
                       f"{hi}], 99% bootstrap CI over simulations: {_ci(gam)}; assembled rate "
                       f"γ̂ = {ghat:.4f} (L8: mean log(δ̂_φ δ̂_BN) from L6 and L7 on the "
                       f"spectra run), drawn through the sim mean of log χ over the window; "
                       f"Gaussian reference γ_G = {labatie.gamma_gaussian():.5f} from χ^0",
               overlay="chi_loc4", network="bn_ff")
    p4.simulation(d, res["chi_loc4"], "simulation")
    p4.curves.append(_fit_curve(f"fit exp(a + γ l), γ = {gam.value:.4f}", xf, yf))
    p4.theory(xw, np.exp(anchor + ghat * (xw - xw.mean())), f"L8 assembled rate γ̂ = {ghat:.4f}")
    gam_g = labatie.gamma_gaussian()
    p4.theory(d, chi0 * np.exp(gam_g * d), f"Gaussian rate γ_G = {gam_g:.4f}")
    p5 = Panel("Fig 4e: effective ranks r_eff(x^l), r_eff(dx^l) (loc4), bn_ff FC", "layer l",
               "r_eff", caption="no closed-form prediction (THEORY.md L13 (c5): orderings in B "
                                "only)", overlay="reff_signal_loc4", network="bn_ff")
    p5.simulation(d, res["reff_signal_loc4"], "r_eff(x^l)")
    p5.simulation(d, res["reff_noise_loc4"], "r_eff(dx^l)")
    kappa = float(labatie.kappa_m(size["bn_batch"]))
    p6 = Panel("Fig 4f: kurtosis μ4(z^l) (loc3), bn_ff FC", "layer l", "μ4(z^l)",
               caption=f"L9: 1/ν1(|z|)^2 ≤ μ4(z) ≤ κ_B = {kappa:.2f} (B = {size['bn_batch']}; "
                       "upper bound off scale); Gaussian value 3",
               overlay="mu4_signal_loc3", network="bn_ff")
    p6.simulation(d, res["mu4_signal_loc3"], "simulation")
    p6.theory(d, GAUSSIAN_MU4, "Gaussian: 3")
    p6.theory(d, (1.0 / res["nu1_abs_signal_loc3"] ** 2).mean(axis=0),
              "L9 lower bound 1/ν1^2 (measured)")
    p7 = Panel("Fig 4g: ν1(|z^l|) (loc3), bn_ff FC", "layer l", "ν1(|z^l|)",
               caption="Gaussian value sqrt(2/π); δ_φ χ → 1 iff ν1 → 0 (L6)",
               overlay="nu1_abs_signal_loc3", network="bn_ff")
    p7.simulation(d, res["nu1_abs_signal_loc3"], "simulation")
    p7.theory(d, GAUSSIAN_NU1, "Gaussian: sqrt(2/π)")
    net = spec.bn_ff(size["bn_width"], size["bn_depth"])
    params = {
        "width": size["bn_width"], "depth": size["bn_depth"], "batch size": size["bn_batch"],
        "sims": f"{res.num_sims} (every layer); {spc.num_sims} (spectra run for L7, every "
                f"{every} layers)",
        "dataset": GAUSSIAN_DATASET + "; fresh batch and white noise per simulation",
        "epsilon": network_epsilon(net), "res_depth": "none (feedforward)",
        "fitted γ (99% CI)": _ci(gam), **_common(ctx),
    }
    return FigureSection(
        "labatie-fig4", "Labatie Fig 4: BN feedforward FC (bn_ff)",
        description="bn_ff FC (LeCun stem, He dense, BN, ReLU), N=512, B=64, depth 200: the "
                    "claims' shared run (L6, L8 (c3), L9) and spectra run (L7, L8). The three "
                    "increments against L6/L7 predictions from measured statistics, χ^l with "
                    "its fitted exponential rate against L8's assembled rate and the Gaussian "
                    "reference, effective ranks, and the kurtosis and ν1 of the normalised "
                    "pre-activations z (loc3).",
        parameters=params, panels=(p1, p2, p3, p4, p5, p6, p7))


# ============================================================================================
# Fig 5: bn_res FC
# ============================================================================================
def res_noise_reff_run(ctx: Context, size: Mapping[str, Any], sizes: Mapping[str, int]
                       ) -> SimulationResults:
    """The bn_res net of `res_run` (official locs, no loc6) with r_eff(dx) at loc3, every
    ``rnoise_every`` units (no claim computes it)."""
    net = spec.bn_res(size["res_width"], size["res_units"], size["res_h"],
                      measure_every=sizes["rnoise_every"])
    return ctx.simulate(net, GAUSSIAN_3072, batch_size=size["res_batch"],
                        num_sims=sizes["rnoise_sims"],
                        options=EngineOptions(compute_reff_signal=False, compute_reff_noise=True),
                        name="bn_res r_eff(dx)")


@reproduction("labatie-fig5", "Labatie Fig 5: BN-resnet FC, first layer of each unit and the "
              "power law of χ^l", paper="L")
def build_fig5(fidelity: str, seed: int, cache: SimulationCache | None) -> FigureSection:
    """bn_res FC (N=512, B=64, H=2): increments at h = 1 (L6 from the measured nu1 at loc2; the
    rank-(B-1) closed form of L7 for delta_BN), chi^l (loc5) on log-log axes with the fitted
    power law (l >= 50, bootstrap CI) and the L11 predictions chi^0 prod (1 + 2 tau/(k + c0))^(1/2)
    for tau_G(H), the rank-corrected tau and tau_code; r_eff(x), r_eff(dx) (loc3); mu4(z),
    nu1(|z|) (loc2)."""
    ctx = _context("labatie-fig5", fidelity, seed, cache)
    size = RES_SIZES[ctx.fidelity]
    extra = REPRO_SIZES[ctx.fidelity]
    res = res_run(ctx, size)
    noise = res_noise_reff_run(ctx, size, extra)
    h, width, batch = size["res_h"], size["res_width"], size["res_batch"]
    d = res.depth
    dbn = increments(res, "loc2", "loc1")
    dphi = increments(res, "loc4", "loc2")
    dchi = increments(res, "loc4", "loc1")
    dphi_th = labatie.bn_relu_increment_from_sq(res["nu1_abs_sq_signal_loc2"])
    dbn_rank = float(np.sqrt(labatie.delta_bn_sq_rank_r(batch - 1, width)))
    rank_label = f"L7 rank-(B-1) isotropic closed form (lower reference), r = {batch - 1}"
    p1 = Panel("Fig 5a: δ_BN χ^{l,1} = χ(loc2)/χ(loc1), bn_res FC", "residual unit l",
               "δ_BN χ^{l,1}", logx=True,
               caption=f"L7 closed form sqrt(r(K-2)/(K(r-2))) = {dbn_rank:.4f} for an isotropic "
                       f"rank-r signal, r = B - 1 = {batch - 1}, K = N = {width} (the value L11 "
                       "uses at B < N); with isotropic noise an anisotropic signal of the same "
                       "rank gives more (Jensen), and the BN input is anisotropic (even at l = 1 "
                       "the Gram of B Gaussian points in N dimensions has a Marchenko-Pastur "
                       "spread), so the realised δ_BN lies above this reference",
               overlay="chi_loc2 / chi_loc1", network="bn_res")
    p1.simulation(d, dbn, "simulation")
    p1.theory(d, dbn_rank, rank_label)
    p2 = Panel("Fig 5b: δ_φ χ^{l,1} = χ(loc4)/χ(loc2) (ReLU and dense), bn_res FC",
               "residual unit l", "δ_φ χ^{l,1}", logx=True,
               caption="L6 with ν1 at loc2 (the dense layer is neutral in expectation, L1)",
               overlay="chi_loc4 / chi_loc2", network="bn_res")
    p2.simulation(d, dphi, "simulation")
    p2.theory(d, dphi_th.mean(axis=0), "L6: sqrt(2/(2-ν1^2)), measured ν1")
    p2.theory(d, labatie.bn_relu_increment_gaussian(), "Gaussian z: sqrt(π/(π-1))")
    p3 = Panel("Fig 5c: δχ^{l,1} = χ(loc4)/χ(loc1), bn_res FC", "residual unit l",
               "δχ^{l,1}", logx=True,
               caption="theory: L6 (measured ν1) × the L7 rank-(B-1) closed form (a lower "
                       "reference for δ_BN, see Fig 5a)", overlay="chi_loc4 / chi_loc1",
               network="bn_res")
    p3.simulation(d, dchi, "simulation")
    p3.theory(d, dphi_th.mean(axis=0) * dbn_rank, "L6 × L7 rank-(B-1)")
    est, xf, yf = power_law_fit(d, res["log_chi_loc5"], ctx.rng("tau"), start=L11_FROM,
                                n_resamples=ctx.n_resamples)
    chi0 = float(res["chi_loc1"][:, 0].mean())
    tau_g = float(labatie.tau_gaussian(h))
    tau_r = labatie.tau_rank_corrected(h, batch, width)
    dbar = float(np.mean(res["chi_loc4"].mean(axis=0) / res["chi_loc1"].mean(axis=0)))
    tau_c = labatie.tau_code(dbar, h)
    dl = d.astype(float)
    p4 = Panel("Fig 5d: χ^l (loc5), bn_res FC: power law", "residual unit l", "χ^l", logx=True,
               logy=True,
               caption=f"fit: least-squares slope τ̂ of the sim mean of log χ^l on log l for l ≥ "
                       f"{L11_FROM}, 99% bootstrap CI over simulations: {_ci(est)}; theory "
                       f"(L11 (a)): χ^0 Π_k (1 + 2τ/(k + c0))^(1/2) from the measured χ^0 = "
                       f"{chi0:.3f} with τ_G({h}) = {tau_g:.4f} (Gaussian limit), the "
                       f"rank-corrected τ = {tau_r:.4f} (δ_BN of a rank-(B-1) input) and the "
                       f"official τ_code = (δ̄^(2H) - 1)/2 = {tau_c:.4f} from the measured "
                       "increments", overlay="chi_loc5", network="bn_res")
    p4.simulation(d, res["chi_loc5"], "simulation")
    p4.curves.append(_fit_curve(f"power-law fit, τ̂ = {est.value:.4f}", xf, yf))
    p4.theory(dl, chi0 * labatie.resnet_chi_product(dl, 2 * tau_g), f"L11: τ_G = {tau_g:.4f}")
    p4.theory(dl, chi0 * labatie.resnet_chi_product(dl, 2 * tau_r),
              f"L11: rank-corrected τ = {tau_r:.4f}")
    p4.theory(dl, chi0 * labatie.resnet_chi_product(dl, 2 * tau_c), f"τ_code = {tau_c:.4f}")
    p5 = Panel("Fig 5e: effective ranks r_eff(x^{l,1}), r_eff(dx^{l,1}) (loc3), bn_res FC",
               "residual unit l", "r_eff", logx=True,
               caption=f"r_eff(x): {res.num_sims} simulations, every unit; r_eff(dx): a separate "
                       f"run of the same net, {noise.num_sims} simulations, every "
                       f"{extra['rnoise_every']} units; L12 (c2): r_eff(x) stays above 5",
               overlay="reff_signal_loc3", network="bn_res")
    p5.simulation(d, res["reff_signal_loc3"], "r_eff(x^{l,1})")
    p5.simulation(noise.depth, noise["reff_noise_loc3"], "r_eff(dx^{l,1})")
    p5.theory(d, RES_REFF_FLOOR, "L12 floor 5")
    p6 = Panel("Fig 5f: kurtosis μ4(z^{l,1}) (loc2), bn_res FC", "residual unit l",
               "μ4(z^{l,1})", logx=True, caption="L12: stays near the Gaussian value 3",
               overlay="mu4_signal_loc2", network="bn_res")
    p6.simulation(d, res["mu4_signal_loc2"], "simulation")
    p6.theory(d, GAUSSIAN_MU4, "Gaussian: 3")
    p7 = Panel("Fig 5g: ν1(|z^{l,1}|) (loc2), bn_res FC", "residual unit l", "ν1(|z^{l,1}|)",
               logx=True, caption="L12: stays near the Gaussian value sqrt(2/π)",
               overlay="nu1_abs_signal_loc2", network="bn_res")
    p7.simulation(d, res["nu1_abs_signal_loc2"], "simulation")
    p7.theory(d, GAUSSIAN_NU1, "Gaussian: sqrt(2/π)")
    net = spec.bn_res(width, size["res_units"], h)
    params = {
        "width": width, "depth": f"{size['res_units']} residual units ({size['res_units'] * h} "
                                 "dense layers)", "batch size": batch,
        "sims": f"{res.num_sims} (every unit); {noise.num_sims} (r_eff(dx), every "
                f"{extra['rnoise_every']} units)",
        "dataset": GAUSSIAN_DATASET + "; fresh batch and white noise per simulation",
        "epsilon": network_epsilon(net), "res_depth": h,
        "fitted τ (99% CI)": _ci(est), "τ_G(H)": round(tau_g, 6),
        "τ rank-corrected": round(tau_r, 6), "τ_code": round(tau_c, 6), **_common(ctx),
    }
    return FigureSection(
        "labatie-fig5", "Labatie Fig 5: BN-resnet FC (bn_res, H = 2)",
        description="bn_res FC (pre-activation units BN-ReLU-dense, H = 2 layers per unit), "
                    "N=512, B=64: the claims' shared run (L10, L11 (c1) C-FC, L12), measured at "
                    "the first layer h = 1 of every unit. Increments against L6 (measured ν1) "
                    "and the rank-(B-1) closed form of L7; χ^l on log-log axes with the fitted "
                    "power law (the figure's fit) against the L11 exponents; effective ranks "
                    "(the noise rank from an extra run); μ4(z) and ν1(|z|) against their "
                    "Gaussian values (L12). One reproduction covers the paper's resnet figure "
                    "(THEORY.md §1.2 Fig 5): it is one architecture and one run.",
        parameters=params, panels=(p1, p2, p3, p4, p5, p6, p7))
