"""Claims P1–P4 (Schoenholz et al. 2017): registry entries and their checks.

Simulations: fully-connected tanh networks of the existing engine, ``h^l = W^l phi(h^{l-1}) +
b^l`` (`simulate.spec.Dense` with ``bias_var``; the first layer maps the input), measured at
``h`` after every layer, on a fixed batch of B inputs of mean square ``q_in`` and pairwise
cosine ``c0`` (`fixed_inputs`: the same batch in every claim, so runs are shared and cached).
Per network: ``q^l = nu2_signal_h`` (batch mean of ``|h_a|^2 / N``), ``c^l =
mean_cosine_signal_h`` (mean over pairs), and the tangent (an i.i.d. Gaussian input
perturbation propagated linearly) ``log mu2_noise_h``, whose growth per layer at the fixed
point is ``chi_1``.

Every prediction is read through ``th`` (the claim's ``theory`` mapping of
`schoenholz_propagation.derivations`), so a mutation reaches the verdict.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import optimize

from schoenholz_propagation import derivations as sgd
from schoenholz_propagation.derivations import PROPAGATION
from simulate import EngineOptions, spec
from simulate.results import SimulationResults
from verify import criteria as C
from verify import stats
from verify.context import Context
from verify.registry import Mutation, claim, nearby

# [docs:sizes]
#: Width N, networks per run, depth L, inputs per batch B, first layer of the deep window; the
#: correlation runs of P3 (N_corr) and the short transient runs of P1 (N_transient) are wider
#: (their statistics are differences of mean curves; the runs are cheap).
SIZES = {
    "quick": {"N": 1000, "sims": 40, "L": 80, "B": 8, "deep": 20,
              "N_corr": 2000, "sims_corr": 80, "N_transient": 16000, "sims_transient": 100},
    "standard": {"N": 1000, "sims": 100, "L": 80, "B": 8, "deep": 20,
                 "N_corr": 2000, "sims_corr": 200, "N_transient": 16000, "sims_transient": 250},
    "paper": {"N": 2000, "sims": 200, "L": 80, "B": 8, "deep": 20,
              "N_corr": 4000, "sims_corr": 400, "N_transient": 16000, "sims_transient": 1000},
}
# [/docs:sizes]

#: (sigma_w^2, sigma_b^2) of the runs: ordered and chaotic sides at sigma_b^2 = 0.05, two
#: points the theory puts on the critical line (chi_1 = 0.9998 and 0.9989), and the ordered
#: approach to it (P4).
ORDERED, CHAOTIC = (1.5, 0.05), (2.5, 0.05)
CRITICAL = ((1.76, 0.05), (2.5, 0.3))
APPROACH = ((1.3, 0.05), (1.5, 0.05), (1.65, 0.05))
#: Pairwise cosines of the two input batches of P3 (the runs of P1, P2, P4 use the first).
C0_LOW, C0_HIGH = 0.25, 0.65
#: Input mean squares of P1's transient runs: q^1 = sigma_w^2 q_in + sigma_b^2 is about 1.2 q*
#: and 0.8 q*; the first-order non-linearity of the transient has opposite signs on the two
#: sides of q* and cancels in their average (the remainder is derived, `_p1`).
Q_IN = {ORDERED: (0.301, 0.190), CHAOTIC: (0.491, 0.320)}
#: Steps of P1's transient fit: q^1 -> q^2 -> q^3 (the later steps drown in the noise).
TRANSIENT = 2
#: Depth of P3's correlation runs (its windows end at l = 50).
CORR_DEPTH = 50


# [docs:runs]
def fixed_inputs(ctx: Context, batch: int, width: int, c0: float, q_in: float = 1.0
                 ) -> np.ndarray:
    """``B`` inputs with ``|x_a|^2 / N = q_in`` and every pairwise cosine ``c0``:
    ``x_a = sqrt(N q_in) (sqrt(c0) u_0 + sqrt(1 - c0) u_a)``, orthonormal ``u`` (QR of a
    Gaussian draw seeded by the run seed only, so every claim gets the same batch)."""
    key = zlib.crc32(f"schoenholz-inputs/{batch}/{width}".encode())
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(ctx.seed,
                                                                     spawn_key=(key,))))
    u = np.linalg.qr(rng.standard_normal((width, batch + 1)))[0].T
    return np.sqrt(width * q_in) * (np.sqrt(c0) * u[0] + np.sqrt(1.0 - c0) * u[1:])


def tanh_net(width: int, depth: int, sigma_w2: float, sigma_b2: float) -> spec.Network:
    """``h^l = W phi(h^{l-1}) + b`` measured at ``h`` (the first layer maps the input)."""
    block = (spec.Dense(width=width, weight_var=sigma_w2, bias_var=sigma_b2),
             spec.Measure("h"), spec.Activation("tanh"))
    return spec.Network(block, depth, None, 1, "tanh_ff")


def run(ctx: Context, size: Mapping[str, Any], point: tuple[float, float],
        c0: float = C0_LOW, q_in: float = 1.0, depth: int | None = None,
        width: int | None = None, sims: int | None = None) -> SimulationResults:
    """The (cached) run of ``size["sims"]`` networks at ``point`` on the fixed batch."""
    N, L = width or size["N"], depth or size["L"]
    x = fixed_inputs(ctx, size["B"], N, c0, q_in)
    return ctx.simulate(tanh_net(N, L, *point), x, num_sims=sims or size["sims"],
                        name=f"tanh N={N} sw2={point[0]} sb2={point[1]} c0={c0} q_in={q_in} L={L}",
                        options=EngineOptions(families=("sample_stats",),
                                              compute_reff_signal=False,
                                              compute_reff_noise=False))
# [/docs:runs]


def depths(res: SimulationResults) -> np.ndarray:
    """Layer index l of each measurement (1..L)."""
    return np.asarray(res.depth, dtype=float)


def tangent_growth(res: SimulationResults, size: Mapping[str, Any]) -> np.ndarray:
    """Per network: mean per-layer growth of log mu2 of the tangent over the deep window."""
    lt, L, l0 = res["log_mu2_noise_h"], size["L"], size["deep"]
    return (lt[:, L - 1] - lt[:, l0 - 1]) / (L - l0)


def _point_label(p: tuple[float, float]) -> str:
    return f"sw2={p[0]:g}, sb2={p[1]:g}"


# --------------------------------------------------------------------------------------------
# P1: length map
# --------------------------------------------------------------------------------------------
def _log_step_slope(q_curve: np.ndarray) -> float:
    """Slope over l of ``log |q^{l+1} - q^l|`` (= log of the length map's slope in the linear
    regime, without using q*)."""
    steps = np.abs(np.diff(q_curve))
    return stats.line_slope(np.arange(steps.size, dtype=float), np.log(steps))


@claim("P1", title="tanh length map: q^l -> q*, with q^l - q* ~ exp(-l/xi_q)", paper=PROPAGATION,
       theory={"q_star": sgd.length_fixed_point, "length_map": sgd.length_map,
               "length_slope": sgd.length_slope},
       sizes=SIZES,
       mutations=[Mutation("q* of the length map without the bias variance sigma_b^2",
                           {"q_star": lambda sw, sb: sgd.length_fixed_point(sw, 0.0)}),
                  nearby("xi_q from chi_1 alone (the sigma_w^2 E[phi phi''] term dropped)",
                         {"length_slope": sgd.chi_1}, fails_at="quick")],
       setup="Deep window l = 20..60 of the shared runs (unit inputs, c0 = 0.25) for q*; "
             "transient runs with q_in chosen so that q^1 is about 2 q*, first "
             f"{TRANSIENT} steps, for xi_q.")
def _p1(ctx: Context, th: Any, size: Mapping[str, Any]) -> list[C.Criterion]:
    out = []
    panel = ctx.panel("P1: q^l towards q*", "layer l", "q^l = |h^l|^2 / N",
                      caption="simulation: runs of P1; theory: the length map iterated from "
                              "the simulated q^1 (transient runs) and q* (deep window)")
    for point in (ORDERED, CHAOTIC):
        res = run(ctx, size, point)
        qs = th.q_star(*point)
        deep = res["nu2_signal_h"][:, size["deep"] - 1:].mean(axis=1)
        est = stats.mean_estimate(deep, ctx.rng(f"P1 q* {point}"), n_resamples=ctx.n_resamples)
        out.append(C.relative_equivalence(
            f"P1.1[{_point_label(point)}]", "mean q^l over the deep window vs q*", est, qs,
            0.01, "given layer l-1 the measured q^l is unbiased for the conditional variance; "
                  "the remaining O(1/N) Jensen bias of the concave map is about f'' Var(q) / 2 "
                  "< 1e-3 q* at N = 1000 (Var q ~ 2 q*^2 / N), so 1% is ten times it"))
        log_slope = float(np.log(th.length_slope(*point)))
        curves, maps = [], []
        for q_in in Q_IN[point]:
            tr = run(ctx, size, point, c0=0.0, q_in=q_in, depth=TRANSIENT + 1,
                     width=size["N_transient"], sims=size["sims_transient"])
            curves.append(tr["nu2_signal_h"][:, :TRANSIENT + 1])
            # Theory: the length map iterated from the simulated q^1.
            q_map = [float(curves[-1][:, 0].mean())]
            for _ in range(TRANSIENT):
                q_map.append(th.length_map(q_map[-1], *point))
            maps.append(np.array(q_map))
            x = np.arange(1, TRANSIENT + 2)
            panel.simulation(x, curves[-1], f"transient q_in={q_in} ({_point_label(point)})")
            panel.theory(x, maps[-1], f"length map from q^1 ({_point_label(point)})")
        # The map's own slope at q* (a finite difference, independent of the prediction under
        # test) measures how far the transient is from linear.
        qs_h = 1e-5 * qs
        map_slope = (th.length_map(qs + qs_h, *point) - th.length_map(qs - qs_h, *point)) / (
            2 * qs_h)
        nonlin = 0.5 * (_log_step_slope(maps[0]) + _log_step_slope(maps[1])) - np.log(map_slope)
        est = stats.bootstrap(curves, lambda a, b: 0.5 * (_log_step_slope(a.mean(axis=0))
                                                          + _log_step_slope(b.mean(axis=0))),
                              ctx.rng(f"P1 xi_q {point}"), n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"P1.2[{_point_label(point)}]", "log of q^3 - q^2 over q^2 - q^1 (mean of "
            "starts 1.2 q* and 0.8 q*) minus log(d q^l/d q^{l-1} at q*) = -1/xi_q",
            _shifted(est, -log_slope), 0.0, abs(nonlin) + 0.045,
            f"second-order non-linearity of the transient {nonlin:+.4f} (derived: the iterated "
            "map's own statistic; the first order cancels between the two starts) plus 0.045 "
            "for the finite-width O(1/N) terms of the steps (not derived; 5-8% of the log "
            "slope, three standard errors at quick)",
            perturbation=C.Perturbation.log("d q^l / d q^{l-1} at q*")))
        panel.simulation(depths(res), res["nu2_signal_h"], f"simulation ({_point_label(point)})")
        panel.theory(depths(res), qs, f"q* ({_point_label(point)})")
    return out


def _shifted(est: stats.Estimate, shift: float) -> stats.Estimate:
    """The estimate plus ``shift`` (a theory value subtracted from a statistic)."""
    return stats.Estimate(est.value + shift, est.se, (est.ci[0] + shift, est.ci[1] + shift),
                          est.level, est.method, est.n)


# --------------------------------------------------------------------------------------------
# P2: chi_1 and the order-to-chaos line
# --------------------------------------------------------------------------------------------
# [docs:claim]
@claim("P2", title="chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]; order to chaos at chi_1 = 1",
       paper=PROPAGATION,
       theory={"chi_1": sgd.chi_1, "growth_bias": sgd.tangent_growth_bias},
       sizes=SIZES,
       mutations=[Mutation("chi_1 without its sigma_w^2 factor",
                           {"chi_1": lambda sw, sb: sgd.chi_1(sw, sb) / sw}),
                  nearby("chi_1 at the input length q = 1 instead of the fixed point q*",
                         {"chi_1": lambda sw, sb: sw * sgd.average("chi_1", 1.0)},
                         fails_at="quick")],
       setup="Shared runs (unit inputs, c0 = 0.25); the tangent's log mean square, growth per "
             "layer over l = 20..60 per network.")
def _p2(ctx: Context, th: Any, size: Mapping[str, Any]) -> list[C.Criterion]:
    out = []
    panel = ctx.panel("P2: tangent growth", "layer l", "log mu2(tangent) - value at l = 20",
                      caption="theory: slope log chi_1 per layer")
    for name, points in (("P2.1", (ORDERED, CHAOTIC)), ("P2.2", CRITICAL)):
        for point in points:
            res = run(ctx, size, point)
            chi1 = th.chi_1(*point)
            bias = th.growth_bias(*point, size["N"])
            growth = tangent_growth(res, size)                       # per network
            est = stats.mean_estimate(growth - np.log(chi1), ctx.rng(f"P2 {point}"),
                                      n_resamples=ctx.n_resamples)
            where = "ordered/chaotic side" if name == "P2.1" else "on the critical line"
            out.append(C.equivalence(
                f"{name}[{_point_label(point)}]",
                f"log tangent growth per layer minus log chi_1 ({where})", est, 0.0,
                abs(bias) + 3.0 / size["N"],
                f"derived O(1/N) bias {bias:+.4f} (tangent_growth_bias) plus 3/N for the "
                "unmodelled O(1/N) terms of either sign (measured up to 0.002 away from the "
                "derived bias at N = 1000)", perturbation=C.Perturbation.log("chi_1")))
            l0 = size["deep"]
            lt = res["log_mu2_noise_h"]
            x = depths(res)[l0 - 1:]
            panel.simulation(x, lt[:, l0 - 1:] - lt[:, [l0 - 1]], _point_label(point))
            panel.theory(x, (x - l0) * np.log(chi1), f"log chi_1 ({_point_label(point)})")
    return out
# [/docs:claim]


# --------------------------------------------------------------------------------------------
# P3: correlation depth scale on both sides
# --------------------------------------------------------------------------------------------
#: Fit windows of log|c_high^l - c_low^l|: where both batches follow the linearised map and the
#: gap is at least ten standard errors at quick.
WINDOWS = {ORDERED: (20, 50), CHAOTIC: (3, 15)}


def _gap_slope(high: np.ndarray, low: np.ndarray, window: tuple[int, int]) -> float:
    """Slope over the window of ``log |mean c_high^l - mean c_low^l|`` (no c* needed)."""
    a, b = window
    gap = np.abs(high.mean(axis=0) - low.mean(axis=0))[a - 1:b]
    return stats.line_slope(np.arange(a, b + 1, dtype=float), np.log(gap))


@claim("P3", title="xi_c = -1/log chi_c, chi_c at c*: ordered c* = 1, chi_c = chi_1; "
       "chaotic c* < 1, chi_c != chi_1", paper=PROPAGATION,
       theory={"chi_c": sgd.chi_c, "c_star": sgd.correlation_fixed_point,
               "correlation_map": sgd.correlation_map},
       sizes=SIZES,
       mutations=[Mutation("chi_c = chi_1 on both sides (the slope at c = 1)",
                           {"chi_c": sgd.chi_1}),
                  nearby("chi_c at the inputs' decorrelated point c = 0 instead of c*",
                         {"chi_c": lambda sw, sb: sgd.chi_c_at(0.0, sw, sb)},
                         fails_at="quick")],
       setup=f"Two batches per point, pairwise cosines c0 = {C0_LOW} and {C0_HIGH}; the gap "
             "between their mean correlation curves decays as chi_c^l whatever c* is.")
def _p3(ctx: Context, th: Any, size: Mapping[str, Any]) -> list[C.Criterion]:
    out = []
    panel = ctx.panel("P3: correlations towards c*", "layer l", "c^l (mean pairwise cosine)",
                      caption="theory: the correlation map iterated from the simulated c^1")
    for point in (ORDERED, CHAOTIC):
        lo = run(ctx, size, point, C0_LOW, depth=CORR_DEPTH, width=size["N_corr"],
                 sims=size["sims_corr"])["mean_cosine_signal_h"]
        hi = run(ctx, size, point, C0_HIGH, depth=CORR_DEPTH, width=size["N_corr"],
                 sims=size["sims_corr"])["mean_cosine_signal_h"]
        window = WINDOWS[point]
        log_chi = float(np.log(th.chi_c(*point)))
        maps = []
        for curve in (hi, lo):
            cm = [float(curve[:, 0].mean())]
            for _ in range(curve.shape[1] - 1):
                cm.append(th.correlation_map(cm[-1], *point))
            maps.append(np.array(cm))
        # The map's own slope at c* (finite difference, independent of the prediction chi_c)
        # measures how far the gap is from its linear decay over the window.
        cs, h = th.c_star(*point), 1e-5
        if cs > 1 - 2 * h:
            map_slope = (1.0 - th.correlation_map(1.0 - h, *point)) / h
        else:
            map_slope = (th.correlation_map(cs + h, *point)
                         - th.correlation_map(cs - h, *point)) / (2 * h)
        nonlin = _gap_slope(maps[0][None], maps[1][None], window) - np.log(map_slope)
        est = stats.bootstrap([hi, lo], lambda a, b, w=window: _gap_slope(a, b, w),
                              ctx.rng(f"P3 {point}"), n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"P3.1[{_point_label(point)}]", f"slope of log|c_high^l - c_low^l| over l = "
            f"{window[0]}..{window[1]} minus log chi_c = -1/xi_c", _shifted(est, -log_chi),
            0.0, abs(nonlin) + 0.01,
            f"the iterated map itself is off by {nonlin:+.4f} over the window (derived, same "
            "statistic: the gap is not yet linear); 0.01 for the O(1/N) finite-width drift of "
            "the mean correlations", perturbation=C.Perturbation.log("chi_c")))
        x = np.arange(1, hi.shape[1] + 1, dtype=float)
        for curve, cm, c0 in ((hi, maps[0], C0_HIGH), (lo, maps[1], C0_LOW)):
            panel.simulation(x, curve, f"simulation c0={c0} ({_point_label(point)})")
            panel.theory(x, cm, f"correlation map c0={c0} ({_point_label(point)})")
        if point == CHAOTIC:
            # The two batches approach c* from above and from below: their mean cancels most
            # of the gap left at l = 35.
            per_net = 0.5 * (hi[:, 34:].mean(axis=1) + lo[:, 34:].mean(axis=1))
            est = stats.mean_estimate(per_net, ctx.rng("P3 c*"), n_resamples=ctx.n_resamples)
            out.append(C.equivalence(
                f"P3.2[{_point_label(point)}]",
                "mean correlation over l = 35..50 (both batches) vs c* < 1",
                est, th.c_star(*point), 0.015,
                "finite-width O(1/N) bias of the stationary correlation (not derived; measured "
                "+0.005 at N = 1000, so 0.015 at N_corr = 2000 is three times it) plus the gap "
                "left at l = 35 (0.2 chi_c^35 < 0.01 per batch, of opposite signs)"))
    return out


# --------------------------------------------------------------------------------------------
# P4: divergence of xi_c at the transition
# --------------------------------------------------------------------------------------------
def _zero_crossing(sig: np.ndarray, inv_xi: np.ndarray) -> float:
    """sigma_w^2 where the least-squares line through (sigma_w^2, 1/xi_c) reaches 0."""
    slope, icpt = np.polyfit(sig, inv_xi, 1)
    return float(-icpt / slope)


@claim("P4", title="xi_c diverges at the order-to-chaos transition (chi_1 = 1)",
       paper=PROPAGATION,
       theory={"inverse_xi_c": sgd.inverse_depth_scale_c, "critical": sgd.critical_sigma_w2,
               "growth_bias": sgd.tangent_growth_bias},
       sizes=SIZES,
       mutations=[Mutation("the transition at sigma_w^2 = 1 (the bias-free, linear value)",
                           {"critical": lambda sb: 1.0}),
                  nearby("1/xi_c = 1 - chi_c (first order) instead of -log chi_c",
                         {"inverse_xi_c": lambda sw, sb: 1.0 - sgd.chi_c(sw, sb)},
                         fails_at="quick")],
       setup="Shared runs at sigma_w^2 = 1.3, 1.5, 1.65 (sigma_b^2 = 0.05, ordered side, "
             "c* = 1): 1/xi_c = -(tangent growth per layer); a line through them reaches 0 at "
             "the predicted transition.")
def _p4(ctx: Context, th: Any, size: Mapping[str, Any]) -> list[C.Criterion]:
    sig = np.array([p[0] for p in APPROACH])
    inv = np.stack([-tangent_growth(run(ctx, size, p), size) for p in APPROACH], axis=1)
    theory_inv = np.array([th.inverse_xi_c(*p) for p in APPROACH])
    out = []
    for j, p in enumerate(APPROACH):
        est = stats.mean_estimate(inv[:, j], ctx.rng(f"P4 {p}"), n_resamples=ctx.n_resamples)
        out.append(C.equivalence(
            f"P4.1[{_point_label(p)}]", "1/xi_c = -(tangent growth per layer) vs -log chi_c",
            est, theory_inv[j], abs(th.growth_bias(*p, size["N"])) + 3.0 / size["N"],
            "the tangent growth's derived O(1/N) bias plus 3/N unmodelled, as for P2"))
    # Where the theory's own 1/xi_c curve reaches 0 (its minimum, a kink at the transition),
    # found without the prediction under test; the line through the three points misses it by
    # the curve's curvature, which shifts the band.
    kink = optimize.minimize_scalar(lambda s: th.inverse_xi_c(s, 0.05),
                                    bounds=(APPROACH[-1][0], 2.5), method="bounded",
                                    options={"xatol": 1e-7}).x
    curvature = _zero_crossing(sig, theory_inv) - float(kink)
    critical = th.critical(0.05)
    est = stats.bootstrap(inv, lambda a: _zero_crossing(sig, a.mean(axis=0)), ctx.rng("P4 0"),
                          n_resamples=ctx.n_resamples)
    out.append(C.equivalence(
        "P4.2", "sigma_w^2 where the line through the simulated 1/xi_c reaches 0 vs the "
        "transition (chi_1 = 1)", est, critical + curvature, 0.015,
        f"the line through the theory's own 1/xi_c reaches 0 at {curvature:+.4f} from the "
        "transition (derived curvature: the band is centred there); 0.015 = the 0.0045 bias "
        "allowance on 1/xi_c over the line's slope (~0.3 per unit sigma_w^2)"))
    grid = np.linspace(1.2, critical, 40)
    ctx.panel("P4: 1/xi_c towards the transition", "sigma_w^2 (sigma_b^2 = 0.05)", "1/xi_c",
              caption="points: -(tangent growth per layer); line: -log chi_c").points(
        sig, inv.mean(axis=0), "simulation", np.percentile(inv, 16, axis=0),
        np.percentile(inv, 84, axis=0)).simulation(sig, inv, "simulation (band)").theory(
        grid, [th.inverse_xi_c(s, 0.05) for s in grid], "-log chi_c")
    return out
