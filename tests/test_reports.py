"""Unit tests of the report renderer, the compare files and the ``report`` command.

Results are synthetic (Claim, Criterion, Panel objects built directly, as in
tests/test_verify_framework.py), so nothing here simulates; the end-to-end run with a real claim
is tests/test_report_browser.py.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import theory
from reports import compare, figures, render, report
from reports.cli import main as cli_main
from simulate.errors import ConfigError
from verify import criteria as C
from verify import registry, runner, stats
from verify.context import Context, SimulationRecord
from verify.panels import Curve, FigureSection, Panel
from verify.registry import Claim, Mutation, Theory
from verify.runner import ClaimResult
from verify.stats import Estimate

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
NASTY = '<script>alert("x")</script> & "quotes" | $5 *bold* _u_'


# ---------------------------------------------------------------------------- fixtures
def _sizes() -> dict:
    return {f: {"bn_width": 64, "bn_sims": 12} for f in registry.FIDELITIES}


def _panel(overlay: str = "", network: str = "") -> Panel:
    rng = np.random.default_rng(0)
    depth = np.arange(1, 51)
    p = Panel("increment vs depth", "layer l", "delta chi", logy=True,
              caption="synthetic data", overlay=overlay, network=network)
    p.simulation(depth, 1.2 + 0.01 * rng.standard_normal((12, depth.size)), "realised")
    p.theory(depth, 1.211, "Gaussian value")
    return p


def test_figure_section_panel_by_title_prefix() -> None:
    a, b = _panel(), Panel("other figure", "x", "y")
    sec = FigureSection("fig", "A figure", panels=(a, b))
    assert sec.panel("increment") is a and sec.panel("other") is b
    with pytest.raises(ValueError, match="0 panels titled 'missing'"):
        sec.panel("missing")
    with pytest.raises(ValueError, match="2 panels titled ''"):
        sec.panel("")


def _result(claim_id: str = "L6", title: str = "synthetic L6", error: str = "",
            panels: tuple[Panel, ...] | None = None) -> ClaimResult:
    claim = Claim(claim_id, title, theory.LABATIE, lambda ctx, th, size: [],
                  Theory({"x": 1.0}), _sizes(), (Mutation("x -> 2", {"x": 2.0}),),
                  {f"{claim_id}.1": "estimate within 0.01 of 1.2112"}, setup="bn_ff FC, N=64",
                  caveats="O(1/N) bias")
    est = Estimate(1.2125, 0.001, (1.2099, 1.2151), 0.99, "bca", 12)
    crits = [
        C.equivalence(f"{claim_id}.1", "sim mean of delta chi^1", est, 1.211174, 0.01,
                      "O(1/B) bias", 12),
        C.bound(f"{claim_id}.2", "slope above 0", Estimate(0.3, 0.05, (0.2, 0.4), 0.99, "bca",
                                                           12), 0.0, "above", "trend", 12),
        C.exact(f"{claim_id}.3", "iteration", 0.5, 0.5, 1e-9, "deterministic"),
        C.skipped(f"{claim_id}.4", "conv version", "needs convolutions"),
    ]
    sims = (SimulationRecord("bn_ff", "bn_ff", 12, 16, 1234, 0.5, False),)
    r = ClaimResult(claim, "quick", 0, tuple(crits), sims, 1.25, error,
                    panels=(_panel(),) if panels is None else panels)
    return runner.finalize([r])[0]


class _Checker(HTMLParser):
    """Structural HTML check: balanced tags, unique ids, resource attributes collected."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.resources: list[str] = []
        self.hrefs: list[str] = []
        self.imgs: list[dict[str, str | None]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.append(a["id"] or "")
        for k in ("src", "href", "xlink:href", "action", "poster", "data", "srcset"):
            if a.get(k):
                self.resources.append(a[k] or "")
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"] or "")
        if tag == "img":
            self.imgs.append(a)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()


def _check_html(text: str) -> _Checker:
    p = _Checker()
    p.feed(text)
    p.close()
    assert not p.errors, p.errors[:5]
    assert not p.stack, f"unclosed: {p.stack}"
    assert len(p.ids) == len(set(p.ids)), "duplicate ids"
    return p


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> render.ReportFiles:
    out = tmp_path_factory.mktemp("rep") / "out"
    ctx = [(theory.get("Y8"), ""), (theory.get("S8"), "training part")]
    return render.render_report([_result(), _result("Z9", NASTY, error="RuntimeError: boom")],
                                out, context=ctx, unchecked=[theory.get("L1")])


# ---------------------------------------------------------------------------- HTML
def test_html_is_valid_self_contained_and_escaped(rendered: render.ReportFiles) -> None:
    text = rendered.html.read_text()
    p = _check_html(text)
    assert text.startswith("<!DOCTYPE html>")
    # No network: no http(s) anywhere, every resource is a data: URI or an in-page anchor.
    assert "http://" not in text and "https://" not in text
    assert all(r.startswith(("data:", "#")) for r in p.resources), p.resources
    assert "url(" not in text and "@import" not in text and "<script" not in text.lower()
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    # Anchors resolve.
    for h in p.hrefs:
        assert h[1:] in p.ids, h
    # Escaping: the hostile title appears as text only.
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;" in text
    # Math is MathML from sympy (L6 has fractions), no TeX left for a script to typeset.
    assert "<math" in text and "<mfrac>" in text and "\\frac" not in text
    assert "mfenced" not in text  # not part of MathML Core: Chromium would drop the brackets


def test_html_content_summary_criteria_and_context(rendered: render.ReportFiles) -> None:
    text = rendered.html.read_text()
    summary = text[text.index('id="summary-table"'):text.index("</table>",
                                                              text.index("summary-table"))]
    assert summary.count("<tr>") == 3  # header + 2 claims
    assert "v-cell-PASS" in summary and "v-cell-FAIL" in summary  # Z9 errored: FAIL
    assert "1.2112 ± 0.01" in summary and "[1.2099, 1.2151] (99%)" in summary
    sec = text[text.index('id="claim-L6"'):text.index('id="claim-Z9"')]
    for needed in ("L6.1", "L6.2", "L6.3", "L6.4", "O(1/B) bias", "SKIPPED", "&gt; 0",
                   "bn_width = 64", "1234", "x -&gt; 2", "O(1/N) bias", "Assumptions",
                   "provenance: derived", "estimate within 0.01 of 1.2112"):
        assert needed in sec, needed
    assert "RuntimeError: boom" in text
    ctx = text[text.index('id="context"'):]
    assert "Y8" in ctx and "S8" in ctx and "training part" in ctx and "v-PASS" not in ctx
    assert 'id="unchecked"' in text and "L1" in text[text.index('id="unchecked"'):]


def test_figures_exist_and_match_embedded(rendered: render.ReportFiles) -> None:
    text = rendered.html.read_text()
    p = _check_html(text)
    figs = [i for i in p.imgs if "report-figure" in (i.get("class") or "")]
    assert len(figs) == 2 == len(rendered.figures) // 2
    for img, svg in zip(figs, sorted(rendered.directory.glob("figures/*.svg")), strict=True):
        data = base64.b64decode((img["src"] or "").split(",", 1)[1])
        assert data == svg.read_bytes()
        assert svg.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert all(f.exists() for f in rendered.figures)


def test_markdown_links_resolve(rendered: render.ReportFiles) -> None:
    md = rendered.markdown.read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", md)
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', md))
    assert any(t.endswith(".png") for t in targets) and any(t.endswith(".svg") for t in targets)
    for t in targets:
        if t.startswith("#"):
            assert t[1:] in anchors, t
        else:
            assert not t.startswith(("http:", "https:", "/")) and \
                (rendered.directory / t).is_file(), t
    assert "$" in md and "\\frac" in md  # LaTeX math for GitHub
    assert "\\<script\\>" in md  # escaped, not raw HTML
    lines = [ln for ln in md.splitlines() if ln.startswith("| [Z9]")]
    # 8 columns (MDE included): the | in the title is escaped
    assert len(lines) == 1 and lines[0].count(" | ") == 7
    assert "| MDE | verdict |" in md and "minimal detectable error" in md


def test_json_loads(rendered: render.ReportFiles) -> None:
    recs = json.loads(rendered.json.read_text())
    assert [r["id"] for r in recs] == ["L6", "Z9"]
    assert recs[0]["verdict"] == "PASS" and recs[1]["verdict"] == "FAIL"


def test_render_is_deterministic_and_removes_stale_figures(tmp_path: Path) -> None:
    a = render.render_report([_result()], tmp_path / "a")
    stale = tmp_path / "b" / "figures" / "old-9.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    keep = tmp_path / "b" / "figures" / "notes.txt"
    keep.write_text("mine")
    b = render.render_report([_result()], tmp_path / "b")
    assert a.html.read_text() == b.html.read_text()
    assert a.markdown.read_text() == b.markdown.read_text()
    for fa, fb in zip(a.figures, b.figures, strict=True):
        assert fa.read_bytes() == fb.read_bytes()
    assert not stale.exists() and keep.exists()
    assert not list((tmp_path / "b").rglob("*.tmp"))  # atomic writes leave no temp files


def test_figure_sections_hook(tmp_path: Path) -> None:
    sec = render.FigureSection("Labatie Fig. 2", "Labatie Fig. 2 (vanilla)", "histograms",
                               {"width": 512, "depth": 200}, (_panel(),))
    files = render.render_report([_result()], tmp_path, sections=[sec])
    text = files.html.read_text()
    assert 'id="fig-Labatie-Fig-2"' in text and "width = 512" in text
    assert (tmp_path / "figures" / "fig-Labatie-Fig-2-1.svg").is_file()


def test_compute_runs_claims_and_builders(tmp_path: Path) -> None:
    def toy(ctx: Context, th: Theory, size: dict) -> list[C.Criterion]:
        x = ctx.rng("toy").standard_normal(size["n"]) + th.mu
        ctx.panel("toy", "i", "x").simulation(np.arange(4), x.reshape(-1, 4))
        est = stats.mean_estimate(x, ctx.rng("b"), n_resamples=ctx.n_resamples)
        return [C.equivalence("Z1.1", "mean", est, 1.0, 0.2, "4000 draws", size["n"])]

    claim = Claim("Z1", "toy", "nowhere", toy, Theory({"mu": 1.0}),
                  {f: {"n": 4000} for f in registry.FIDELITIES})
    seen = []

    def builder(fidelity: str, seed: int, cache: object) -> render.FigureSection:
        seen.append((fidelity, seed, cache))
        return render.FigureSection("toy-fig", "Toy figure", panels=(_panel(),))

    got = report.compute([claim], "quick", 3, None, [builder], progress=False)
    assert seen == [("quick", 3, None)] and got.results[0].verdict.value == "PASS"
    files = render.render_report(got.results, tmp_path, sections=got.sections)
    assert len(files.figures) == 4  # toy claim panel + section panel, PNG and SVG each


# ---------------------------------------------------------------------------- figures
def test_panel_figure_scales_and_odd_dollar() -> None:
    p = _panel()
    p.title = "cost in $"  # an odd $ must not start mathtext
    with figures.style():
        ax = figures.panel_figure(p).axes[0]
        assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
        neg = Panel("t", "x", "y", logy=True).theory(np.arange(3), -1.0)
        assert figures.panel_figure(neg).axes[0].get_yscale() == "linear"  # nothing positive
        assert figures.panel_figure(Panel("empty", "x", "y")).axes


# ---------------------------------------------------------------------------- compare
def _moments_dnns_file(path: Path, with_meta: bool = False) -> Path:
    rng = np.random.default_rng(1)
    depth = np.arange(1, 21)
    arrays = {"depth": depth, "res_depth": np.array(0)}
    for loc in ("loc1", "loc2", "loc3", "loc4"):
        arrays[f"chi_{loc}"] = np.exp(rng.standard_normal((4, 20)) * 0.01 + 0.2 * depth)
        arrays[f"nu2_signal_{loc}"] = np.ones((4, 20))
        arrays[f"reff_signal_{loc}"] = np.full((4, 20), -1.0)
    if with_meta:
        arrays["metadata"] = np.array(json.dumps({"network": {"name": "bn_res"}}))
    np.savez(path, **arrays)
    return path


def test_histogram_points_and_maps_render(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=2000)
    p = Panel("hist", "x", "density").histogram(v, bins=20, label="sim")
    c = p.curves[0]
    assert c.style == "step" and c.x.size == 21 and np.isclose(np.sum(c.y * np.diff(c.x)), 1.0)
    p.points([0.0, 1.0], [0.1, 0.2], lo=[0.0, 0.1], hi=[0.2, 0.3])
    codes = np.array([[0, 1, 2], [2, 1, np.nan]])
    m = Panel("phase", "beta_v", "beta_w").map([0, 1, 2], [0, 1], codes,
                                               categories=("exp", "poly", "bounded"),
                                               annotations=[(1, 1, "3.2")])
    h = Panel("heat", "a", "b").map([0, 1, 2], [0, 1], rng.normal(size=(2, 3)), zlabel="G")
    with figures.style():
        ax = figures.panel_figure(m).axes[0]
        assert [t.get_text() for t in ax.texts] == ["3.2"]
        assert len(figures.panel_figure(h).axes) == 2  # map + colour bar
    for k, panel in enumerate((p, m, h)):
        assert not figures.render_panel(panel, tmp_path, f"f{k}").error
    assert json.dumps(m.to_dict())  # NaN cells become null: strict JSON
    with pytest.raises(ValueError, match="shape"):
        Panel("bad", "x", "y").map([0, 1], [0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="categories"):
        Panel("bad", "x", "y").map([0, 1], [0], [[0, 5]], categories=("a", "b"))
    with pytest.raises(ValueError, match="style"):
        Curve("c", "simulation", np.zeros(2), np.zeros(2), style="bars")


def test_reproductions_follow_the_paper_selection() -> None:
    from verify import reproductions

    reps = reproductions.all_reproductions()
    assert {r.paper for r in reps} <= {"L", "S", "Y"}
    assert report._papers(None) is None and report._papers("L6,S") == "S"
    assert reproductions.select("") == []
    assert all(r.paper == "Y" for r in reproductions.select("Y"))
    with pytest.raises(ValueError, match="paper"):  # a paper key is capital letters
        reproductions.reproduction("x", "x", "q1")


def test_compare_matching_rule(tmp_path: Path) -> None:
    ff = _moments_dnns_file(tmp_path / "bn_ff_old.npz")
    anon = _moments_dnns_file(tmp_path / "run7.npz")
    res = _moments_dnns_file(tmp_path / "x.npz", with_meta=True)
    comps = compare.load_comparisons([ff, anon, res])
    assert [c.network for c in comps] == ["bn_ff", "", "bn_res"]
    assert comps[0].locs == ["loc1", "loc2", "loc3", "loc4"]
    panels = [_panel("chi_loc4 / chi_loc3", "bn_ff"), _panel("chi_loc4 / chi_loc3"),
              _panel("exp(log_chi_loc4 - log_chi_loc9)"), _panel()]
    out, used = compare.overlay(panels, comps)
    assert used == {"bn_ff_old.npz": [0, 1], "run7.npz": [1], "x.npz": [1]}
    extra = out[0].curves[-1]
    assert extra.kind == "compare" and "bn_ff_old.npz" in extra.label
    values = np.load(ff)["chi_loc4"] / np.load(ff)["chi_loc3"]
    np.testing.assert_allclose(extra.y, values.mean(axis=0))
    assert len(panels[0].curves) == 2  # the originals are not modified
    # The compare file's own panels: chi at every loc; reff (all -1) left out.
    own = compare.comparison_panels(comps[0])
    assert [len(p.curves) for p in own] == [4]


def test_compare_section_rendered(tmp_path: Path) -> None:
    comps = compare.load_comparisons([_moments_dnns_file(tmp_path / "bn_ff_old.npz")])
    r = _result(panels=(_panel("chi_loc4 / chi_loc3", "bn_ff"),))
    files = render.render_report([r], tmp_path / "out", comparisons=comps)
    text = files.html.read_text()
    _check_html(text)
    assert 'id="compared"' in text and 'href="#figure-L6-1"' in text
    assert (tmp_path / "out" / "figures" / "compare-1-1.svg").is_file()


@pytest.mark.parametrize("expr", ["__import__('os')", "chi_loc1.real", "chi_loc1[0]",
                                  "open(chi_loc1)", "lambda: 1", "exp(chi_loc1, 2)", "'a'"])
def test_overlay_expression_rejects_code(expr: str) -> None:
    with pytest.raises(ValueError, match="overlay="):
        compare.expression_keys(expr)


def test_load_comparisons_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^compare='.*nope.npz': no such file"):
        compare.load_comparisons([tmp_path / "nope.npz"])
    with pytest.raises(ConfigError, match="^compare=.*is a directory"):
        compare.load_comparisons([tmp_path])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="^compare="):
        compare.load_comparisons([bad])
    nodepth = tmp_path / "nodepth.npz"
    np.savez(nodepth, chi_loc1=np.ones((2, 3)))
    with pytest.raises(ConfigError, match="^compare=.*no 'depth' key"):
        compare.load_comparisons([nodepth])
    mism = tmp_path / "mism.npz"
    np.savez(mism, depth=np.arange(4), chi_loc1=np.ones((2, 3)))
    with pytest.raises(ConfigError, match="^compare=.*chi_loc1 has 3 depths"):
        compare.load_comparisons([mism])


# ---------------------------------------------------------------------------- selection / CLI
def test_select_claims_and_context() -> None:
    full = report.select(None)
    assert [c.id for c in full.claims] == registry.claim_ids()
    ctx_ids = [d.claim_id for d, _ in full.context]
    assert {"Y8", "Y9", "S8"} <= set(ctx_ids)
    assert all(not d.describe_only for d in full.unchecked)
    only = report.select("L6")
    assert [c.id for c in only.claims] == ["L6"] and not only.context and not only.unchecked
    y8 = report.select("Y8")
    assert not y8.claims and [d.claim_id for d, _ in y8.context] == ["Y8"]
    with pytest.raises(ValueError, match="^claims='Q7'"):
        report.select("L6,Q7")


@pytest.mark.parametrize("args, name", [
    (["--fidelity", "fast"], "fidelity"),
    (["--seed", "-1"], "seed"),
    (["--seed", "abc"], "seed"),
    (["--claims", "Q7"], "claims"),
    (["--claims", "L6", "--compare", "/nonexistent/run.npz"], "compare"),
])
def test_cli_bad_input_one_line(args: list[str], name: str, capsys: pytest.CaptureFixture
                                ) -> None:
    assert cli_main(["report", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{name}=" in err, err


def test_cli_out_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert cli_main(["report", "--claims", "L6", "--out", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "out=" in err, err


def test_build_report_validates_before_computing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="^seed="):
        report.build_report("quick", "L6", tmp_path, seed=-2, cache=None, progress=False)
    with pytest.raises(ValueError, match="^fidelity="):
        report.build_report("slow", "L6", tmp_path, cache=None, progress=False)
    assert not list(tmp_path.iterdir())  # nothing written


def test_broken_panel_becomes_placeholder(tmp_path: Path) -> None:
    bad = Panel("mismatched", "x", "y")
    bad.curves.append(Curve("c", "simulation", np.arange(3.0), np.arange(5.0)))
    files = render.render_report([_result(panels=(bad, _panel()))], tmp_path)
    text = files.html.read_text()
    assert "figure could not be drawn" in text and len(files.figures) == 4
    assert "figure could not be drawn" in files.markdown.read_text()
