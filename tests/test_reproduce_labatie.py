"""Paper-figure reproductions of Labatie (verify/reproduce_labatie.py) at fidelity quick.

The builders read the claims' simulations from the cache (``$DNN_MOMENTS_CACHE_DIR`` or
``./.dnn-moments-cache``); with a cold cache the module runs every simulation it needs once
(shared by all tests through a module-scoped memo).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from verify import reproduce_labatie as rl
from verify import reproductions
from verify.cache import SimulationCache
from verify.panels import FigureSection, Panel

IDS = ("labatie-fig2", "labatie-fig3", "labatie-fig4", "labatie-fig5")
#: Panel count and, per panel, the minimum number of theory curves promised.
EXPECTED_THEORY = {
    "labatie-fig2": (2, 2, 2, 2),
    "labatie-fig3": (3, 1, 1),
    "labatie-fig4": (1, 2, 2, 2, 0, 2, 1),
    "labatie-fig5": (1, 2, 1, 3, 1, 1, 1),
}
PARAMETER_KEYS = ("width", "depth", "batch size", "sims", "dataset", "epsilon", "res_depth",
                  "seed", "fidelity")


@pytest.fixture(scope="module")
def section() -> Callable[[str], FigureSection]:
    """Build a reproduction once per module (quick, seed 0, default disk cache)."""
    cache = SimulationCache()
    memo: dict[str, FigureSection] = {}
    builders = {"labatie-fig2": rl.build_fig2, "labatie-fig3": rl.build_fig3,
                "labatie-fig4": rl.build_fig4, "labatie-fig5": rl.build_fig5}

    def get(rep_id: str) -> FigureSection:
        if rep_id not in memo:
            memo[rep_id] = builders[rep_id]("quick", 0, cache)
        return memo[rep_id]

    return get


def _panel(sec: FigureSection, prefix: str) -> Panel:
    return sec.panel(prefix)


def _curve_y(p: Panel, kind: str, label_start: str = "") -> np.ndarray:
    hits = [c for c in p.curves if c.kind == kind and c.label.startswith(label_start)]
    assert hits, f"{p.title}: no {kind} curve {label_start!r}"
    return np.asarray(hits[0].y, float)


def test_registered_for_paper_l() -> None:
    reps = {r.id: r for r in reproductions.select("L")}
    assert set(IDS) <= set(reps)
    assert all(reps[i].paper == "L" for i in IDS)
    assert reps["labatie-fig4"].build is rl.build_fig4
    assert all(r.id not in IDS for r in reproductions.select("S,Y"))


@pytest.mark.parametrize("rep_id", IDS)
def test_section_panels_finite_parameters_and_theory(
        rep_id: str, section: Callable[[str], FigureSection]) -> None:
    sec = section(rep_id)
    assert isinstance(sec, FigureSection) and sec.id == rep_id
    assert sec.title and sec.description
    expected = EXPECTED_THEORY[rep_id]
    assert len(sec.panels) == len(expected)
    for key in PARAMETER_KEYS:
        assert key in sec.parameters, f"{rep_id}: parameter {key!r} not stated"
    assert sec.parameters["fidelity"] == "quick" and sec.parameters["seed"] == 0
    for p, n_theory in zip(sec.panels, expected, strict=True):
        assert p.xlabel and p.ylabel and p.title
        sims = [c for c in p.curves if c.kind == "simulation"]
        theories = [c for c in p.curves if c.kind == "theory"]
        assert sims, f"{p.title}: no simulation curve"
        assert len(theories) >= n_theory, f"{p.title}: theory curve missing"
        for c in p.curves:
            x, y = np.asarray(c.x, float), np.asarray(c.y, float)
            assert np.all(np.isfinite(x)) and np.all(np.isfinite(y)), f"{p.title}: {c.label}"
            assert x.size == y.size + (1 if c.style == "step" else 0)
            if c.lo is not None:
                assert np.all(np.isfinite(c.lo)) and np.all(c.lo <= c.hi + 1e-12)


def test_fig2_histograms_and_diffusion_theory(section: Callable[[str], FigureSection]) -> None:
    sec = section("labatie-fig2")
    e_log, var_log = rl.labatie.vanilla_exact_log_moments(rl.HIST_WIDTH)
    for l, p in zip(rl.HIST_DEPTHS, sec.panels, strict=True):
        assert f"l={l}" in p.title
        hists = [c for c in p.curves if c.style == "step"]
        assert len(hists) == 2
        for c in hists:  # densities integrate to one
            assert np.sum(np.diff(c.x) * c.y) == pytest.approx(1.0, rel=1e-9)
        th = p.curves[1]
        assert th.kind == "theory"
        # the signal density is N(l E log R, l Var log R): mode and peak height
        assert th.x[np.argmax(th.y)] == pytest.approx(l * e_log, abs=3 * (th.x[1] - th.x[0]))
        assert th.y.max() == pytest.approx(1 / np.sqrt(2 * np.pi * l * var_log), rel=1e-3)


def test_fig3_fig4_fig5_match_their_paired_predictions(
        section: Callable[[str], FigureSection]) -> None:
    """The dominating-term curves follow the simulations (L4, L6, L7 tolerances), so the
    panels read the right locs and keys."""
    p = _panel(section("labatie-fig3"), "Fig 3a")
    assert np.mean(np.abs(_curve_y(p, "simulation") - _curve_y(p, "theory", "L4"))) < 0.005
    f4 = section("labatie-fig4")
    p = _panel(f4, "Fig 4b")
    assert np.mean(np.abs(_curve_y(p, "simulation") - _curve_y(p, "theory", "L6"))) < 0.005
    p = _panel(f4, "Fig 4a")
    sim = p.curves[0]
    th = [c for c in p.curves if c.kind == "theory"][0]
    at = np.isin(sim.x, th.x)
    assert np.mean(np.abs(sim.y[at] / th.y - 1)) < 0.01
    p = _panel(section("labatie-fig5"), "Fig 5b")
    assert np.mean(np.abs(_curve_y(p, "simulation") - _curve_y(p, "theory", "L6"))) < 0.005


def test_growth_fits_are_stated_with_intervals(section: Callable[[str], FigureSection]) -> None:
    f4, f5 = section("labatie-fig4"), section("labatie-fig5")
    for sec, key in ((f4, "fitted γ (99% CI)"), (f5, "fitted τ (99% CI)")):
        value, ci = sec.parameters[key].split(" [")
        lo, hi = (float(v) for v in ci.rstrip("]").split(", "))
        assert lo < float(value) < hi
    # bn_ff grows exponentially (L8 band), bn_res as a power law above tau_G(2) (L11 at B < N)
    gamma = float(f4.parameters["fitted γ (99% CI)"].split()[0])
    assert 0.1 < gamma < 0.25
    tau = float(f5.parameters["fitted τ (99% CI)"].split()[0])
    assert tau > f5.parameters["τ_G(H)"]
    p = _panel(f5, "Fig 5d")
    assert p.logx and p.logy
    assert _panel(f4, "Fig 4d").logy


def test_bad_fidelity_is_refused_before_simulating() -> None:
    with pytest.raises(ValueError, match="fidelity"):
        rl.build_fig3("fast", 0, None)
    with pytest.raises(ValueError, match="seed"):
        rl.build_fig2("quick", -1, None)


def test_fit_helpers_recover_known_slopes() -> None:
    rng = np.random.default_rng(3)
    depth = np.arange(1, 201)
    noise = rng.normal(0, 0.01, (30, depth.size))
    est, x, y = rl.power_law_fit(depth, 0.3 + 0.6 * np.log(depth) + noise, rng, start=50,
                                 n_resamples=200)
    assert est.value == pytest.approx(0.6, abs=0.01) and est.ci[0] < 0.6 < est.ci[1]
    assert x[0] == 50 and y[-1] == pytest.approx(np.exp(0.3 + 0.6 * np.log(200)), rel=0.02)
    est, x, y = rl.exponential_fit(depth, 1.0 + 0.2 * depth + noise, rng, window=(100, 200),
                                   n_resamples=200)
    assert est.value == pytest.approx(0.2, abs=1e-3) and x[0] == 100 and x[-1] == 200
    with pytest.raises(ValueError, match="start"):
        rl.power_law_fit(depth, noise, rng, start=500, n_resamples=10)
    with pytest.raises(ValueError, match="window"):
        rl.exponential_fit(depth, noise, rng, window=(300, 400), n_resamples=10)


def test_small_helpers() -> None:
    x = np.linspace(-10, 10, 20001)
    dens = rl.normal_density(x, 1.0, 2.0)
    assert np.sum(dens) * (x[1] - x[0]) == pytest.approx(1.0, rel=1e-6)
    assert x[np.argmax(dens)] == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="var"):
        rl.normal_density(x, 0.0, 0.0)
    assert rl.histogram_bins(1) == 10 and rl.histogram_bins(10**6) == 60
    assert rl.histogram_bins(100) == 15
    assert rl.network_epsilon(rl.spec.bn_ff(8, 2, epsilon=0.0)) == 0.0
    assert rl.network_epsilon(rl.spec.vanilla(8, 2)) is None
