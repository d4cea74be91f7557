"""Paper-figure reproductions of Luther & Seung and Yang & Schoenholz at quick fidelity.

Each builder runs once per session (module fixtures) through the default simulation cache
(``$DNN_MOMENTS_CACHE_DIR`` or ``./.dnn-moments-cache``), so after the claims' tests only the
phase-grid runs are new. The tests check the sections' structure and stated parameters, that
every value is finite, that theory curves are where the figures promise them and agree with the
theory modules, that the phase maps encode the classifier, and that the figures reuse the
claims' simulations (same cache keys).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from theory import luther_seung as ls
from theory import meanfield_resnet as mf
from theory import phase_classifier as pc
from verify import registry, reproductions, runner
from verify import reproduce_luther_seung as rls
from verify import reproduce_yang_schoenholz as rys
from verify.cache import SimulationCache
from verify.context import Context
from verify.panels import FigureSection, Panel

FIDELITY = "quick"


class RecordingCache(SimulationCache):
    """The default cache, remembering every key looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    def load(self, key: str):  # SimulationResults | None
        self.keys.append(key)
        return super().load(key)


@pytest.fixture(scope="module")
def ls_section() -> tuple[FigureSection, list[str]]:
    cache = RecordingCache()
    return rls.build(FIDELITY, 0, cache), cache.keys


@pytest.fixture(scope="module")
def ys_section() -> tuple[FigureSection, list[str]]:
    cache = RecordingCache()
    return rys.build(FIDELITY, 0, cache), cache.keys


def _finite(panel: Panel) -> None:
    for c in panel.curves:
        for name in ("x", "y", "lo", "hi"):
            a = getattr(c, name)
            if a is not None:
                assert np.all(np.isfinite(a)), f"{panel.title}: {c.label}.{name} not finite"
        assert c.x.shape == c.y.shape, f"{panel.title}: {c.label}"
    if panel.grid is not None:
        assert np.all(np.isfinite(panel.grid.z)), panel.title


def _curve(panel: Panel, label: str):  # -> Curve
    found = [c for c in panel.curves if c.label == label]
    assert len(found) == 1, (label, [c.label for c in panel.curves])
    return found[0]


def test_registered() -> None:
    ids = {r.id: r.paper for r in reproductions.all_reproductions()}
    assert ids["luther-seung-decay"] == "S"
    assert ids["yang-schoenholz-phase"] == "Y"
    assert [r.id for r in reproductions.select("S")] == ["luther-seung-decay"]


# --------------------------------------------------------------------------------------------
# Luther & Seung
# --------------------------------------------------------------------------------------------
def test_luther_seung_structure_and_parameters(ls_section) -> None:
    sec, _ = ls_section
    s6 = registry.get("S6").size(FIDELITY)
    s7 = registry.get("S7").size(FIDELITY)
    assert sec.id == "luther-seung-decay" and sec.description
    assert len(sec.panels) == 3
    for p in sec.panels:
        _finite(p)
        assert p.caption
    assert sec.parameters["fidelity"] == FIDELITY and sec.parameters["seed"] == 0
    assert sec.parameters["widths N (a)"] == tuple(s6["s6_widths"])
    assert sec.parameters["networks per width (a)"] == tuple(s6["s6_sims"])
    assert sec.parameters["depth (a)"] == s6["s6_depth"]
    assert sec.parameters["BN networks (b)"] == s7["s7_sims"]
    a, b, c = sec.panels
    assert a.logx and a.logy
    sims = [cv for cv in a.curves if cv.kind == "simulation"]
    assert [cv.label.split(" (")[0] for cv in sims] == [f"N = {w}" for w in s6["s6_widths"]]
    assert all(cv.x[-1] == s6["s6_depth"] for cv in sims)
    assert {cv.kind for cv in b.curves} == {"simulation", "theory"}
    assert {cv.kind for cv in c.curves} == {"theory"}


def test_luther_seung_theory_curves(ls_section) -> None:
    sec, _ = ls_section
    a, b, c = sec.panels
    s6 = registry.get("S6").size(FIDELITY)
    x = Context("test", FIDELITY, 0).fixed_inputs("gaussian", s6["s6_batch"], tag="S6",
                                                  input_dim=784)
    inf = _curve(a, "N = ∞ (kernel recursion)")
    assert np.allclose(inf.y, ls.kernel_fractions(x, inf.x.astype(int)), rtol=1e-12)
    asym = _curve(a, "(1 - 1/B) 9π²/(2l²) + floor")
    floor = ls.decay_law(x, [1])["floor"][0]
    b_ = x.shape[0]
    assert asym.x[0] == rls.ASYMPTOTE_FROM
    assert np.allclose(asym.y, (1 - 1 / b_) * 9 * math.pi**2 / (2 * asym.x**2) + floor)
    # the widest finite width follows the recursion at shallow depth (S6 (c2): 10% at l <= 10)
    widest = _curve(a, f"N = {max(s6['s6_widths'])} ({s6['s6_sims'][-1]} networks)")
    assert np.all(np.abs(widest.y[:10] / inf.y[:10] - 1) < 0.1)
    assert np.all((widest.lo <= widest.y + 1e-12) & (widest.y <= widest.hi + 1e-12))
    # batch norm: the BN output fraction is 1; the BN input stays near 1 - 1/π (S7)
    assert np.allclose(_curve(b, "BN output").y, 1.0, atol=1e-5)
    pre = _curve(b, "BN input (pre-BN)")
    sel = (pre.x >= 2) & (pre.x <= 20)
    assert np.all(np.abs(pre.y[sel] - (1 - 1 / math.pi)) < 0.03)
    assert np.allclose(_curve(b, "1 - 1/π (Gaussian)").y, 1 - 1 / math.pi)
    # infinite width: the sphere recursion reaches the asymptote (S5 (c1): 1% at 10^4)
    rec = _curve(c, "N = ∞, sphere-normalised")
    law = _curve(c, "asymptote, sphere (floor 0)")
    assert rec.x[-1] == law.x[-1] == rls.DEEP_LAYER
    assert abs(rec.y[-1] / law.y[-1] - 1) < 0.01


def test_luther_seung_reuses_the_claims_runs(ls_section) -> None:
    _, keys = ls_section
    cache = RecordingCache()
    for cid in ("S6", "S7"):
        runner.evaluate_claim(registry.get(cid), FIDELITY, 0, cache=cache)
    assert cache.keys and sorted(keys) == sorted(cache.keys)


# --------------------------------------------------------------------------------------------
# Yang & Schoenholz
# --------------------------------------------------------------------------------------------
def _cell(grid, bv: float, bw: float) -> int:
    i = int(np.flatnonzero(np.isclose(grid.y, bw))[0])
    j = int(np.flatnonzero(np.isclose(grid.x, bv))[0])
    return int(grid.z[i, j])


def test_yang_schoenholz_structure_and_parameters(ys_section) -> None:
    sec, _ = ys_section
    size = rys.GRID_SIZES[FIDELITY]
    assert sec.id == "yang-schoenholz-phase" and sec.description
    assert len(sec.panels) == 6
    for p in sec.panels:
        _finite(p)
        assert p.caption
    par = sec.parameters
    assert par["fidelity"] == FIDELITY and par["seed"] == 0
    assert par["N = M (grid)"] == size["N"] and par["B (grid)"] == size["B"]
    assert par["networks per cell"] == size["sims"]
    assert par["L (grid)"] == f"ReLU {size['relu_L']}, tanh {size['tanh_L']}"
    maps, depth_panels = sec.panels[:2], sec.panels[2:]
    for p in maps:
        g = p.grid
        assert g is not None and not p.curves
        assert g.categories == tuple(cy_labels())
        assert np.allclose(g.x, rys.betas(size["map_step"])) and np.allclose(g.y, g.x)
        assert len(g.annotations) == len(rys.betas(size["step"])) ** 2
    for p in depth_panels:
        kinds = [c.kind for c in p.curves]
        assert kinds.count("simulation") == 4 and kinds.count("theory") == 4
        for c in p.curves:
            if c.kind == "theory":
                assert c.x[0] == 0 and c.y[0] == pytest.approx(0.0, abs=1e-12)


def cy_labels() -> list[str]:
    from verify.claims_yang_schoenholz import G_CLASS_LABELS

    return [G_CLASS_LABELS[c] for c in pc.G_CLASSES]


@pytest.mark.parametrize("act, bv, bw, cls", [
    ("relu", 0.0, 0.0, "exp_power"), ("relu", 0.25, 0.5, "exp_power"),
    ("relu", 0.5, 0.5, "log"), ("relu", 1.0, 0.0, "log"), ("relu", 1.0, 1.0, "bounded"),
    ("relu", 0.75, 0.5, "bounded"),
    ("tanh", 0.0, 0.0, "exp_power"), ("tanh", 0.5, 0.5, "log"), ("tanh", 1.0, 0.0, "sqrt_log"),
    ("tanh", 0.5, 1.0, "bounded"), ("tanh", 1.5, 0.0, "bounded"), ("tanh", 1.0, 0.5, "bounded"),
])
def test_phase_maps_encode_the_classifier(ys_section, act, bv, bw, cls) -> None:
    sec, _ = ys_section
    grid = sec.panels[0 if act == "relu" else 1].grid
    code = _cell(grid, bv, bw)
    assert code == pc.G_CLASSES.index(cls)  # THEORY.md Y2 (ReLU) / Y4 table (tanh), σa = 0
    assert code == pc.G_CLASSES.index(pc.classify(act, beta_v=bv, beta_w=bw).g_class)


def test_phase_map_annotations_are_simulated_and_mean_field_G(ys_section) -> None:
    sec, _ = ys_section
    size = rys.GRID_SIZES[FIDELITY]
    for p, act in zip(sec.panels[:2], ("relu", "tanh"), strict=True):
        L = size[f"{act}_L"]
        for bv, bw, text in p.grid.annotations:
            sim_s, mf_s = text.split("\n")
            g_sim, g_mf = float(sim_s), float(mf_s.strip("()"))
            exact = mf.trajectory(mf.ResNetParams(activation=act, beta_v=bv, beta_w=bw), L).G[L]
            assert g_mf == pytest.approx(exact, abs=0.006)
            # finite width (N = 128, 6 networks): O(L/N) bias and noise, a few per cent
            assert abs(g_sim - g_mf) < 0.1 + 0.05 * g_mf, (act, bv, bw, text)
    # the ordering the classes imply at finite depth: the baseline explodes most
    relu = {(a, b): float(t.split("\n")[0]) for a, b, t in sec.panels[0].grid.annotations}
    assert relu[(0.0, 0.0)] > relu[(0.5, 0.0)] > relu[(0.5, 0.5)] > relu[(1.0, 0.5)]


def test_yang_schoenholz_depth_panels_match_mean_field(ys_section) -> None:
    sec, _ = ys_section
    g_relu = sec.panels[2]
    base = _curve(g_relu, "U = 0 (mean field)")
    L = int(base.x[-1])
    assert base.y[-1] == pytest.approx(L * math.log(1.5), rel=1e-9)  # Y1: G_L = L log(1 + c)
    sim = _curve(g_relu, "U = 0 (simulation)")
    assert abs(sim.y[-1] / base.y[-1] - 1) < 0.05
    g_tanh = sec.panels[4]
    for label in ("T-a (βv=0, βw=0)", "T-e (βv=1.5, βw=0)"):
        s, t = _curve(g_tanh, f"{label} (simulation)"), _curve(g_tanh, f"{label} (mean field)")
        assert abs(s.y[-1] - t.y[-1]) < 0.05 * t.y[-1] + 0.1


def test_yang_schoenholz_reuses_the_claims_runs(ys_section) -> None:
    _, keys = ys_section
    cache = RecordingCache()
    runner.evaluate_claim(registry.get("Y2"), FIDELITY, 0, cache=cache)
    assert len(cache.keys) == 3 and set(cache.keys) <= set(keys)
    size = rys.GRID_SIZES[FIDELITY]
    assert len(set(keys)) == 2 * len(rys.betas(size["step"])) ** 2 + 1 + 3


def test_bad_fidelity_is_refused() -> None:
    with pytest.raises(ValueError, match="fidelity"):
        rys.build("fast", 0, None)
    with pytest.raises(ValueError, match="step"):
        rys.betas(0.3)
