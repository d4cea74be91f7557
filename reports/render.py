"""Write a report from verification results: ``index.html``, ``report.md``, ``figures/``,
``results.json``.

Rendering only: the functions here take `verify.runner.ClaimResult` objects (and optional
describe-only derivations, figure sections and compare files) and write files; they never
simulate. `reports.report.build_report` does the computing and then calls `render_report`.

* ``index.html`` is one self-contained file: figures are embedded as base64 SVG ``data:`` URIs,
  math is MathML from sympy (rendered natively by browsers, no fonts or scripts to fetch), the
  style sheet is inline, and a Content-Security-Policy forbids any network load.
* ``report.md`` renders on GitHub: figures are the PNG files in ``figures/`` (SVG linked), math
  is ``$...$`` LaTeX from ``sympy.latex``.
* ``figures/`` holds every figure as PNG and SVG (deterministic bytes, see `reports.figures`).
* ``results.json`` is the verify JSON (`verify.runner.write_json`).

Every file is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import sympy as sp

from reports import atomic
from reports.compare import Comparison, comparison_panels, overlay
from reports.figures import FigureFiles, render_panel, slug
from theory.derivation import Derivation
from verify import runner
from verify.criteria import ALPHA_FAIL, ALPHA_PASS, Criterion, Verdict
from verify.panels import FigureSection, Panel
from verify.power import DELTAS, format_mde, mde_label
from verify.runner import ClaimResult

HTML_NAME = "index.html"
MARKDOWN_NAME = "report.md"
JSON_NAME = "results.json"
FIGURES_DIR = "figures"
_FIGURE_FILE = re.compile(r"^[A-Za-z0-9_-]+\.(png|svg)$")


@dataclasses.dataclass(frozen=True)
class ReportFiles:
    """Paths written by `render_report`."""

    directory: Path
    html: Path
    markdown: Path
    json: Path
    figures: tuple[Path, ...]


@dataclasses.dataclass(frozen=True)
class _Fig:
    number: str
    panel: Panel
    files: FigureFiles


# ============================================================================ formatting
def _digits(*, scale: float | None, values: Iterable[float | None]) -> int:
    """Significant digits that resolve ``scale`` (a tolerance) at the size of ``values``."""
    mags = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not scale or not math.isfinite(scale) or not mags:
        return 4
    return int(min(8, max(4, math.ceil(math.log10(max(mags) / scale)) + 2)))


def fmt(x: float | None, digits: int = 4) -> str:
    """A number for a table: ``digits`` significant digits, ``-`` for None."""
    if x is None:
        return "-"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


@dataclasses.dataclass(frozen=True)
class _Row:
    """Formatted numbers of one criterion."""

    prediction: str
    estimate: str
    interval: str
    tolerance: str


def _row(c: Criterion) -> _Row:
    est = c.estimate
    vals = [c.prediction] + ([] if est is None else [est.value, *est.ci])
    d = _digits(scale=c.tolerance, values=vals)
    if c.kind == "equivalence":
        pred = fmt(c.prediction, d)
    elif c.kind in ("above", "below"):
        pred = (">" if c.kind == "above" else "<") + " " + fmt(c.prediction, d)
    elif c.kind == "holds":
        pred = "holds"
    else:
        pred = "-"
    if est is None:
        value, interval = "-", "-"
    else:
        value = fmt(est.value, d)
        interval = "exact" if est.method == "exact" else (
            f"[{fmt(est.ci[0], d)}, {fmt(est.ci[1], d)}] ({100 * est.level:g}%)")
    tol = "-" if c.tolerance is None else f"± {fmt(c.tolerance, 3)}"
    return _Row(pred, value, interval, tol)


def short_paper(paper: str) -> str:
    """``"Labatie 2019 (ICML)"`` from the full reference."""
    return paper.split(":")[0].strip() or paper


def _verdict_counts(results: Sequence[ClaimResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
    return counts


def _criteria_counts(r: ClaimResult) -> str:
    counts: dict[str, int] = {}
    for c in r.criteria:
        v = "?" if c.verdict is None else c.verdict.value
        counts[v] = counts.get(v, 0) + 1
    order = [v.value for v in Verdict] + ["?"]
    text = ", ".join(f"{counts[v]} {v}" for v in order if v in counts) or "no criteria"
    kinds = [c.evidence for c in r.criteria if c.verdict is not Verdict.SKIPPED]
    labelled = {k: kinds.count(k) for k in ("identity", "sanity") if k in kinds}
    if labelled:
        text += " (not evidence: " + ", ".join(f"{n} {k}" for k, n in labelled.items()) + ")"
    return text


def _criterion_label(c: Criterion) -> str:
    """The criterion id, tagged when it is not evidence (identity or sanity)."""
    return c.id if c.evidence == "test" else f"{c.id} [{c.evidence}]"


def _mutation_list(r: ClaimResult) -> list[str]:
    """Wrong theories this check must reject, by kind, with the fidelity that must FAIL them."""
    out = []
    for kind in ("gross", "nearby"):
        ms = [m for m in r.claim.mutations if m.kind == kind]
        if ms:
            out.append(f"{kind} ({len(ms)}): " + "; ".join(
                m.name + ("" if kind == "gross" else f" [must FAIL at {m.fails_at}]")
                for m in ms))
    return out


MDE_NOTE = ("MDE: minimal detectable error, the smallest relative error of the prediction "
            f"(of {', '.join(f'{100 * d:g}%' for d in DELTAS)}) that the harness FAILs on "
            "these simulations in both directions (the tightening direction for a bound); "
            f"'> {100 * DELTAS[-1]:g}%' means none of them is detected; 'identity' and 'sanity' "
            "mark criteria that are not evidence: shown, not counted.")


def _sizes(r: ClaimResult) -> str:
    try:
        size = r.claim.size(r.fidelity)
    except (ValueError, KeyError):
        return ""
    return ", ".join(f"{k} = {v}" for k, v in size.items())


def _error_line(r: ClaimResult) -> str:
    return r.error.strip().splitlines()[0] if r.error.strip() else ""


def derivation_of(claim_id: str) -> Derivation | None:
    """``theory.get(claim_id)``, or None when theory has no derivation of that id."""
    import theory

    try:
        return theory.get(claim_id)
    except KeyError:
        return None


# ============================================================================ math
def mathml(expr: sp.Basic) -> str:
    """Presentation MathML of ``expr`` in a ``<math displaystyle="true">`` element.

    Display style (full-size fractions) without ``display="block"``, which browsers centre.
    Falls back to escaped plain text if sympy cannot print the expression.
    """
    try:
        body = sp.mathml(expr, printer="presentation")
    except Exception:  # noqa: BLE001 - any printer failure falls back to text
        return f"<code>{html.escape(str(expr))}</code>"
    return f'<math displaystyle="true">{body}</math>'


def latex(expr: sp.Basic) -> str:
    """LaTeX of ``expr`` on one line (for ``$...$`` in Markdown)."""
    try:
        return " ".join(sp.latex(expr).split())
    except Exception:  # noqa: BLE001 - any printer failure falls back to text
        return r"\text{" + str(expr).replace("}", "") + "}"


# ============================================================================ figures
def _render_figures(
    results: Sequence[ClaimResult], sections: Sequence[FigureSection],
    comparisons: Sequence[Comparison], fig_dir: Path,
) -> tuple[dict[str, list[_Fig]], dict[str, list[_Fig]], list[tuple[Comparison, list[_Fig],
                                                                     list[str]]]]:
    """Render every panel; returns figures per claim, per section, and per compare file."""
    used: dict[str, list[str]] = {c.label: [] for c in comparisons}
    by_claim: dict[str, list[_Fig]] = {}
    for r in results:
        panels, hits = overlay(r.panels, comparisons)
        figs = []
        for k, p in enumerate(panels, 1):
            number = f"{r.claim.id}-{k}"
            figs.append(_Fig(number, p, render_panel(p, fig_dir, slug(number),
                                                     f"{r.claim.id}: ")))
        for label, idx in hits.items():
            used[label].extend(f"{r.claim.id}-{i + 1}" for i in idx)
        by_claim[r.claim.id] = figs
    by_section: dict[str, list[_Fig]] = {}
    for s in sections:
        panels, hits = overlay(s.panels, comparisons)
        figs = []
        for k, p in enumerate(panels, 1):
            number = f"{slug(s.id)}-{k}"
            figs.append(_Fig(number, p, render_panel(p, fig_dir, f"fig-{number}")))
        for label, idx in hits.items():
            used[label].extend(f"{slug(s.id)}-{i + 1}" for i in idx)
        by_section[s.id] = figs
    compared = []
    for j, c in enumerate(comparisons, 1):
        figs = []
        for k, p in enumerate(comparison_panels(c), 1):
            number = f"compare-{j}-{k}"
            figs.append(_Fig(number, p, render_panel(p, fig_dir, number)))
        compared.append((c, figs, used[c.label]))
    return by_claim, by_section, compared


def _remove_stale(fig_dir: Path, keep: set[Path]) -> None:
    """Delete figure files of earlier runs that this run did not write."""
    if not fig_dir.is_dir():
        return
    for p in fig_dir.iterdir():
        if p.is_file() and _FIGURE_FILE.match(p.name) and p not in keep:
            p.unlink()


# ============================================================================ HTML
CSS = """
:root { --pass: #1a7f37; --fail: #cf222e; --inc: #9a6700; --skip: #6e7781; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1f2328; margin: 0; line-height: 1.45; background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; }
h2 { font-size: 1.35rem; margin: 2.2rem 0 .5rem; padding-top: .6rem;
     border-top: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
.meta, .muted { color: #57606a; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; margin: .4rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .3rem .45rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.detail td { border-top: none; color: #57606a; font-size: .82rem; }
.verdict { font-weight: 700; padding: .05rem .4rem; border-radius: .3rem; color: #fff;
           white-space: nowrap; display: inline-block; font-size: .8rem; }
.v-PASS { background: var(--pass); } .v-FAIL { background: var(--fail); }
.v-INCONCLUSIVE { background: var(--inc); } .v-SKIPPED, .v-none { background: var(--skip); }
.v-IDENTITY-ONLY { background: #8250df; } td.v-cell-IDENTITY-ONLY { background: #fbefff; }
td.v-cell-PASS { background: #dafbe1; } td.v-cell-FAIL { background: #ffebe9; }
td.v-cell-INCONCLUSIVE { background: #fff8c5; } td.v-cell-SKIPPED { background: #f6f8fa; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: .85rem; color: #57606a; }
.formula { display: grid; grid-template-columns: minmax(10rem, max-content) 1fr;
           gap: .45rem 1rem; align-items: center; margin: .4rem 0 .8rem; }
.formula code { font-size: .8rem; color: #57606a; }
math { font-family: math, "STIX Two Math", "Latin Modern Math", "DejaVu Math TeX Gyre",
       serif; }
.formula math { font-size: 1.15em; margin: .15rem 0; }
.error { color: var(--fail); }
pre.error { background: #ffebe9; padding: .6rem; overflow-x: auto; font-size: .8rem; }
.context { background: #f6f8fa; padding: .2rem 1rem 1rem; border-radius: .4rem; }
nav ul { columns: 3; font-size: .88rem; padding-left: 1.2rem; }
.tag { font-size: .75rem; border: 1px solid var(--line); border-radius: .3rem;
       padding: 0 .3rem; color: #57606a; }
"""

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src 'none'; "
       "script-src 'none'; base-uri 'none'; form-action 'none'")


def e(s: object) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(s), quote=True)


def _badge(v: Verdict | str | None) -> str:
    name = "none" if v is None else str(v)
    return f'<span class="verdict v-{e(name)}">{e(name if v is not None else "-")}</span>'


def _html_figure(f: _Fig) -> str:
    data = base64.b64encode(f.files.svg_bytes).decode("ascii")
    cap = f"<b>Figure {e(f.number)}.</b> {e(f.panel.title)}"
    if f.panel.caption:
        cap += f". {e(f.panel.caption)}"
    if f.files.error:
        cap += f' <span class="error">(figure could not be drawn: {e(f.files.error)})</span>'
    return (f'<figure id="figure-{e(f.number)}"><img class="report-figure" '
            f'src="data:image/svg+xml;base64,{data}" alt="{e(f.panel.title)}" width="640" '
            f'height="400"><figcaption>{cap}</figcaption></figure>')


def _html_formulas(d: Derivation) -> str:
    if not d.expressions:
        return ""
    rows = "".join(f"<code>{e(name)}</code><div>{mathml(expr)}</div>"
                   for name, expr in d.expressions.items())
    return f'<div class="formula">{rows}</div>'


def _html_derivation(d: Derivation | None) -> str:
    if d is None:
        return '<p class="muted">No derivation registered in theory/ for this id.</p>'
    parts = [f'<p>{e(d.statement)} <span class="tag">provenance: {e(d.provenance)}</span></p>']
    parts.append(_html_formulas(d))
    if d.assumptions:
        parts.append("<h3>Assumptions</h3><ul>"
                     + "".join(f"<li>{e(a)}</li>" for a in d.assumptions) + "</ul>")
    return "".join(parts)


def _html_criteria(r: ClaimResult) -> str:
    head = ("<tr><th>criterion</th><th>statistic</th><th>prediction</th><th>estimate</th>"
            "<th>interval</th><th>tolerance</th><th>sims</th><th>MDE</th><th>verdict</th></tr>")
    rows = []
    for c in r.criteria:
        f = _row(c)
        v = "none" if c.verdict is None else c.verdict.value
        rows.append(
            f"<tr><td>{e(_criterion_label(c))}</td><td>{e(c.description)}</td>"
            f'<td class="num">{e(f.prediction)}</td><td class="num">{e(f.estimate)}</td>'
            f'<td class="num">{e(f.interval)}</td><td class="num">{e(f.tolerance)}</td>'
            f'<td class="num">{c.n_sims or "-"}</td><td class="num">{e(mde_label(c))}</td>'
            f'<td class="v-cell-{e(v)}">'
            f"{_badge(c.verdict)}</td>"
            "</tr>")
        detail = [f"<b>why this tolerance:</b> {e(c.reason)}" if c.reason else ""]
        if c.stochastic:
            detail.append(f"p-value against &lsquo;off by more than the tolerance&rsquo; "
                          f"{c.p_pass:.3g} (PASS below {ALPHA_PASS:g}); p-value against "
                          f"&lsquo;within the tolerance&rsquo; {c.p_fail:.3g} (FAIL if "
                          f"rejected by Holm at {ALPHA_FAIL:g})")
        if c.note:
            detail.append(f"<b>note:</b> {e(c.note)}")
        rows.append(f'<tr class="detail"><td></td><td colspan="8">'
                    f'{"<br>".join(x for x in detail if x)}</td></tr>')
    if not rows:
        return '<p class="muted">No criterion was evaluated.</p>'
    return f"<table>{head}{''.join(rows)}</table><p class=\"muted\">{e(MDE_NOTE)}</p>"


def _html_setup(r: ClaimResult) -> str:
    parts = []
    if r.claim.setup:
        parts.append(f"<p>{e(r.claim.setup)}</p>")
    sizes = _sizes(r)
    if sizes:
        parts.append(f"<p>Sizes at fidelity <b>{e(r.fidelity)}</b>: {e(sizes)}. "
                     f"Run seed {r.seed}; {r.seconds:.1f} s.</p>")
    if r.simulations:
        rows = "".join(
            f"<tr><td>{e(s.name)}</td><td>{e(s.network)}</td><td class=\"num\">{s.num_sims}"
            f"</td><td class=\"num\">{s.batch_size}</td><td class=\"num\">{s.seed}</td>"
            f"<td class=\"num\">{s.seconds:.1f}</td><td>{'yes' if s.cached else 'no'}</td></tr>"
            for s in r.simulations)
        parts.append("<table><tr><th>simulation</th><th>network</th><th>simulations</th>"
                     "<th>batch</th><th>seed</th><th>seconds</th><th>from cache</th></tr>"
                     f"{rows}</table>")
    if r.claim.mutations:
        parts.append('<p class="muted">Wrong theories this check must reject (mutation '
                     "tests): " + "<br>".join(e(x) for x in _mutation_list(r)) + "</p>")
    return "".join(parts)


def _caveats(r: ClaimResult, d: Derivation | None) -> list[str]:
    out = [r.claim.caveats.strip()] if r.claim.caveats.strip() else []
    if d is not None and d.notes.strip() and d.notes.strip() not in out:
        out.append(d.notes.strip())
    return out


def _html_claim(r: ClaimResult, figs: Sequence[_Fig]) -> str:
    d = derivation_of(r.claim.id)
    parts = [f'<section class="claim" id="claim-{e(r.claim.id)}">',
             f"<h2>{e(r.claim.id)}. {e(r.claim.title)} {_badge(r.verdict)}</h2>",
             f'<p class="meta">{e(r.claim.paper)} · criteria: {e(_criteria_counts(r))}</p>',
             "<h3>Statement</h3>", _html_derivation(d)]
    if r.error:
        parts.append(f"<h3>The check raised an error</h3><pre class=\"error\">{e(r.error)}</pre>")
    parts += ["<h3>Simulation set-up</h3>", _html_setup(r)]
    if figs:
        parts.append("<h3>Theory vs simulation</h3>")
        parts.extend(_html_figure(f) for f in figs)
    if r.claim.criteria:
        parts.append("<h3>Pass criteria</h3><ul>" + "".join(
            f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in r.claim.criteria.items()) + "</ul>")
    parts += ["<h3>Statistics and verdicts</h3>", _html_criteria(r)]
    cav = _caveats(r, d)
    if cav:
        parts.append("<h3>Caveats</h3><ul>" + "".join(f"<li>{e(c)}</li>" for c in cav)
                     + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _html_summary(results: Sequence[ClaimResult]) -> str:
    rows = []
    for r in results:
        h = r.headline()
        f = _row(h) if h is not None else _Row("-", "-", "-", "-")
        pred = f.prediction + (f" {f.tolerance}" if h is not None and h.kind == "equivalence"
                               and h.tolerance is not None else "")
        est = f.estimate if not r.error else f"error: {_error_line(r)}"
        rows.append(
            f'<tr><td><a href="#claim-{e(r.claim.id)}">{e(r.claim.id)}</a></td>'
            f"<td>{e(r.claim.title)}</td><td>{e(short_paper(r.claim.paper))}</td>"
            f'<td class="num">{e(pred)}</td><td class="num">{e(est)}</td>'
            f'<td class="num">{e(f.interval)}</td><td class="num">{e(format_mde(r.mde))}</td>'
            f'<td class="v-cell-{e(r.verdict.value)}">{_badge(r.verdict)}'
            f'<br><span class="muted">{e(_criteria_counts(r))}</span></td></tr>')
    return ('<table id="summary-table"><tr><th>claim</th><th>statement</th><th>paper</th>'
            "<th>prediction</th><th>estimate</th><th>interval</th>"
            '<th title="minimal detectable error of the claim\'s sharpest criterion">MDE</th>'
            "<th>verdict</th></tr>" + "".join(rows) + "</table>"
            f'<p class="muted">{e(MDE_NOTE)} The summary shows the sharpest criterion of each '
            "claim.</p>")


def _html_section(s: FigureSection, figs: Sequence[_Fig]) -> str:
    parts = [f'<section class="figure-section" id="fig-{e(slug(s.id))}">',
             f"<h2>{e(s.title)}</h2>"]
    if s.description:
        parts.append(f"<p>{e(s.description)}</p>")
    if s.parameters:
        parts.append("<p><b>Parameters:</b> " + ", ".join(
            f"{e(k)} = {e(v)}" for k, v in s.parameters.items()) + "</p>")
    parts.extend(_html_figure(f) for f in figs)
    parts.append("</section>")
    return "\n".join(parts)


def _html_compared(compared: Sequence[tuple[Comparison, list[_Fig], list[str]]]) -> str:
    parts = ['<section id="compared"><h2>Compared runs</h2>',
             "<p>Results files given with <code>--compare</code>. They are overlaid (dotted) on "
             "the figures whose quantity they hold (matching rule: the panel declares an "
             "expression over results keys and, optionally, its network); below, each file's "
             "χ and moments against depth.</p>"]
    for c, figs, used in compared:
        facts = c.describe()
        parts.append(f"<h3>{e(c.label)}</h3><p>" + "; ".join(
            f"{e(k)}: {e(v)}" for k, v in facts.items()) + "</p>")
        parts.append("<p>Overlaid on figures: " + (", ".join(
            f'<a href="#figure-{e(n)}">{e(n)}</a>' for n in used) if used else
            "none (no panel of this report declares a quantity and network this file "
            "matches)") + ".</p>")
        parts.extend(_html_figure(f) for f in figs)
    parts.append("</section>")
    return "\n".join(parts)


def _html_context(context: Sequence[tuple[Derivation, str]]) -> str:
    parts = ['<section id="context"><h2>Context: describe-only claims</h2>',
             '<p class="muted">These claims need training or are conceptual; they are out of '
             "scope for verification and get no verdict (THEORY.md).</p>"]
    for d, what in context:
        parts.append(f'<div class="context" id="context-{e(d.claim_id)}"><h3>{e(d.claim_id)}. '
                     f"{e(d.title)}{' (' + e(what) + ')' if what else ''}</h3>"
                     f'<p class="meta">{e(d.paper)} · provenance: {e(d.provenance)} · '
                     "describe only, no verdict</p>"
                     f"<p>{e(d.statement)}</p>{_html_formulas(d)}"
                     + (f"<p><i>{e(d.notes)}</i></p>" if d.notes else "") + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _html_unchecked(unchecked: Sequence[Derivation]) -> str:
    items = "".join(f"<li><b>{e(d.claim_id)}</b>: {e(d.title)}</li>" for d in unchecked)
    return ('<section id="unchecked"><h2>Derived but not yet checked</h2>'
            '<p class="muted">theory/ derives these claims; verify/ has no registered check for '
            f"them yet, so this report has no verdict for them.</p><ul>{items}</ul></section>")


def _intro(fidelity: str, seed: int, results: Sequence[ClaimResult]) -> str:
    counts = _verdict_counts(results)
    n = len(results)
    return (f"{n} claim{'' if n == 1 else 's'} checked at fidelity '{fidelity}', run seed {seed}. "
            + ", ".join(f"{k}: {v}" for k, v in counts.items()) + ". "
            f"PASS needs an equivalence (TOST) test at level {ALPHA_PASS:g} to show the estimate "
            "within the tolerance of the prediction; FAIL needs Holm-corrected rejection at "
            f"family-wise level {ALPHA_FAIL:g} across the run; otherwise INCONCLUSIVE (a wide "
            "interval never passes). Figures: simulation mean (solid) with the 16–84% band over "
            "simulations (shaded); predictions dashed.")


def render_html(
    results: Sequence[ClaimResult],
    figs_by_claim: Mapping[str, Sequence[_Fig]],
    *,
    fidelity: str,
    seed: int,
    sections: Sequence[tuple[FigureSection, Sequence[_Fig]]] = (),
    compared: Sequence[tuple[Comparison, list[_Fig], list[str]]] = (),
    context: Sequence[tuple[Derivation, str]] = (),
    unchecked: Sequence[Derivation] = (),
    command: str = "",
) -> str:
    """The self-contained ``index.html`` text."""
    toc = [f'<li><a href="#claim-{e(r.claim.id)}">{e(r.claim.id)}</a> {_badge(r.verdict)}</li>'
           for r in results]
    toc += [f'<li><a href="#fig-{e(slug(s.id))}">{e(s.title)}</a></li>' for s, _ in sections]
    if compared:
        toc.append('<li><a href="#compared">Compared runs</a></li>')
    if context:
        toc.append('<li><a href="#context">Context (describe only)</a></li>')
    if unchecked:
        toc.append('<li><a href="#unchecked">Not yet checked</a></li>')
    body = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>dnn-moments report: theory vs simulation</title>",
        f"<style>{CSS}</style>", "</head>", "<body>", "<main>",
        "<h1>dnn-moments: theory vs simulation</h1>",
        f'<p class="meta">{e(_intro(fidelity, seed, results))}</p>',
    ]
    if command:
        body.append(f'<p class="meta">Produced by <code>{e(command)}</code>.</p>')
    body += ['<section id="summary"><h2>Summary</h2>', _html_summary(results), "</section>",
             f"<nav><ul>{''.join(toc)}</ul></nav>"]
    body += [_html_claim(r, figs_by_claim.get(r.claim.id, ())) for r in results]
    body += [_html_section(s, f) for s, f in sections]
    if compared:
        body.append(_html_compared(compared))
    if context:
        body.append(_html_context(context))
    if unchecked:
        body.append(_html_unchecked(unchecked))
    body += ["</main>", "</body>", "</html>", ""]
    return "\n".join(body)


# ============================================================================ Markdown
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|$#])")


def md(s: object) -> str:
    """Escape text for Markdown (also safe in table cells: no ``|``, no newlines)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(s).split()))


def _md_figure(f: _Fig) -> list[str]:
    png = f"{FIGURES_DIR}/{f.files.png.name}"
    svg = f"{FIGURES_DIR}/{f.files.svg.name}"
    cap = f"**Figure {md(f.number)}.** {md(f.panel.title)}"
    if f.panel.caption:
        cap += f". {md(f.panel.caption)}"
    if f.files.error:
        cap += f" (figure could not be drawn: {md(f.files.error)})"
    return [f"![{md(f.panel.title)}]({png})", "", f"{cap} ([SVG]({svg}))", ""]


def _md_formulas(d: Derivation) -> list[str]:
    return [f"- `{name}`: ${latex(expr)}$" for name, expr in d.expressions.items()] + (
        [""] if d.expressions else [])


def _md_claim(r: ClaimResult, figs: Sequence[_Fig]) -> list[str]:
    d = derivation_of(r.claim.id)
    out = [f'<a id="claim-{r.claim.id}"></a>', "",
           f"## {md(r.claim.id)}. {md(r.claim.title)}: **{r.verdict.value}**", "",
           f"*{md(r.claim.paper)}* · criteria: {md(_criteria_counts(r))}", "",
           "### Statement", ""]
    if d is None:
        out += ["No derivation registered in theory/ for this id.", ""]
    else:
        out += [f"{md(d.statement)} (provenance: {md(d.provenance)})", ""]
        out += _md_formulas(d)
        if d.assumptions:
            out += ["**Assumptions**", ""] + [f"- {md(a)}" for a in d.assumptions] + [""]
    if r.error:
        out += ["### The check raised an error", "", "```", r.error.strip(), "```", ""]
    out += ["### Simulation set-up", ""]
    if r.claim.setup:
        out += [md(r.claim.setup), ""]
    sizes = _sizes(r)
    if sizes:
        out += [f"Sizes at fidelity **{md(r.fidelity)}**: {md(sizes)}. Run seed {r.seed}; "
                f"{r.seconds:.1f} s.", ""]
    if r.simulations:
        out += ["| simulation | network | simulations | batch | seed | seconds | from cache |",
                "|---|---|---:|---:|---:|---:|---|"]
        out += [f"| {md(s.name)} | {md(s.network)} | {s.num_sims} | {s.batch_size} | {s.seed} | "
                f"{s.seconds:.1f} | {'yes' if s.cached else 'no'} |" for s in r.simulations]
        out.append("")
    if r.claim.mutations:
        out += ["Wrong theories this check must reject (mutation tests): "
                + "; ".join(md(x) for x in _mutation_list(r)) + ".", ""]
    if figs:
        out += ["### Theory vs simulation", ""]
        for f in figs:
            out += _md_figure(f)
    if r.claim.criteria:
        out += ["### Pass criteria", ""]
        out += [f"- **{md(k)}**: {md(v)}" for k, v in r.claim.criteria.items()] + [""]
    out += ["### Statistics and verdicts", ""]
    if r.criteria:
        out += ["| criterion | statistic | prediction | estimate | interval | tolerance | sims "
                "| MDE | verdict |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for c in r.criteria:
            f = _row(c)
            v = "-" if c.verdict is None else c.verdict.value
            out.append(f"| {md(_criterion_label(c))} | {md(c.description)} | "
                       f"{md(f.prediction)} | {md(f.estimate)} | {md(f.interval)} | "
                       f"{md(f.tolerance)} | {c.n_sims or '-'} | {md(mde_label(c))} | **{v}** |")
        out += ["", md(MDE_NOTE), ""]
        for c in r.criteria:
            extra = [f"tolerance: {md(c.reason)}"] if c.reason else []
            if c.note:
                extra.append(f"note: {md(c.note)}")
            if extra:
                out.append(f"- **{md(c.id)}**: " + "; ".join(extra))
        out.append("")
    else:
        out += ["No criterion was evaluated.", ""]
    cav = _caveats(r, d)
    if cav:
        out += ["### Caveats", ""] + [f"- {md(c)}" for c in cav] + [""]
    return out


def render_markdown(
    results: Sequence[ClaimResult],
    figs_by_claim: Mapping[str, Sequence[_Fig]],
    *,
    fidelity: str,
    seed: int,
    sections: Sequence[tuple[FigureSection, Sequence[_Fig]]] = (),
    compared: Sequence[tuple[Comparison, list[_Fig], list[str]]] = (),
    context: Sequence[tuple[Derivation, str]] = (),
    unchecked: Sequence[Derivation] = (),
    command: str = "",
) -> str:
    """The ``report.md`` text (figures referenced as files in ``figures/``)."""
    out = ["# dnn-moments: theory vs simulation", "", md(_intro(fidelity, seed, results)), ""]
    if command:
        out += [f"Produced by `{command}`.", ""]
    out += ["## Summary", "",
            "| claim | statement | paper | prediction | estimate | interval | MDE | verdict |",
            "|---|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        h = r.headline()
        f = _row(h) if h is not None else _Row("-", "-", "-", "-")
        pred = f.prediction + (f" {f.tolerance}" if h is not None and h.kind == "equivalence"
                               and h.tolerance is not None else "")
        est = f.estimate if not r.error else f"error: {_error_line(r)}"
        out.append(f"| [{md(r.claim.id)}](#claim-{r.claim.id}) | {md(r.claim.title)} | "
                   f"{md(short_paper(r.claim.paper))} | {md(pred)} | {md(est)} | "
                   f"{md(f.interval)} | {md(format_mde(r.mde))} | **{r.verdict.value}** "
                   f"({md(_criteria_counts(r))}) |")
    out += ["", md(MDE_NOTE) + " The summary shows the sharpest criterion of each claim.", ""]
    for r in results:
        out += _md_claim(r, figs_by_claim.get(r.claim.id, ()))
    for s, figs in sections:
        out += [f'<a id="fig-{slug(s.id)}"></a>', "", f"## {md(s.title)}", ""]
        if s.description:
            out += [md(s.description), ""]
        if s.parameters:
            out += ["**Parameters:** " + ", ".join(f"{md(k)} = {md(v)}"
                                                   for k, v in s.parameters.items()), ""]
        for f in figs:
            out += _md_figure(f)
    if compared:
        out += ['<a id="compared"></a>', "", "## Compared runs", "",
                "Results files given with `--compare`, overlaid (dotted) on the figures whose "
                "quantity they hold; below, each file's chi and moments against depth.", ""]
        for c, figs, used in compared:
            out += [f"### {md(c.label)}", "",
                    "; ".join(f"{md(k)}: {md(v)}" for k, v in c.describe().items()), "",
                    "Overlaid on figures: " + (", ".join(md(n) for n in used) if used
                                               else "none") + ".", ""]
            for f in figs:
                out += _md_figure(f)
    if context:
        out += ['<a id="context"></a>', "", "## Context: describe-only claims", "",
                "These claims need training or are conceptual; they get no verdict.", ""]
        for d, what in context:
            out += [f"### {md(d.claim_id)}. {md(d.title)}" + (f" ({md(what)})" if what else ""),
                    "", f"*{md(d.paper)}* · provenance: {md(d.provenance)} · describe only", "",
                    md(d.statement), ""] + _md_formulas(d)
            if d.notes:
                out += [f"*{md(d.notes)}*", ""]
    if unchecked:
        out += ['<a id="unchecked"></a>', "", "## Derived but not yet checked", ""]
        out += [f"- **{md(d.claim_id)}**: {md(d.title)}" for d in unchecked] + [""]
    return "\n".join(out)


# ============================================================================ entry point
def prepare_output_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` (and ``figures/``) or raise ValueError naming ``out``."""
    from simulate.errors import ConfigError

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out={str(out)!r} is a file; give a directory")
    try:
        (out / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
        probe = out / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"out={str(out)!r} is not writable ({exc.strerror or exc})") from None
    return out


def render_report(
    results: Sequence[ClaimResult],
    out_dir: str | Path,
    *,
    fidelity: str | None = None,
    seed: int | None = None,
    sections: Sequence[FigureSection] = (),
    comparisons: Sequence[Comparison] = (),
    context: Sequence[tuple[Derivation, str]] = (),
    unchecked: Sequence[Derivation] = (),
    command: str = "",
) -> ReportFiles:
    """Write ``index.html``, ``report.md``, ``figures/`` and ``results.json`` into ``out_dir``.

    results: evaluated claims (`verify.runner.run_claims`); sections: extra figure sections
    (paper-figure reproductions); comparisons: loaded ``--compare`` files (overlaid on matching
    panels and shown in a "Compared runs" section); context: describe-only derivations with
    which part is describe-only (``""`` for all of it); unchecked: derivations without a
    registered check; command: the command line shown in the report. Fidelity and seed default
    to those of the first result.
    """
    ids = [slug(s.id) for s in sections]
    if len(set(ids)) != len(ids):
        raise ValueError(f"sections: figure section ids must be distinct; got {ids}")
    out = prepare_output_dir(out_dir)
    fig_dir = out / FIGURES_DIR
    fidelity = fidelity or (results[0].fidelity if results else "quick")
    seed = seed if seed is not None else (results[0].seed if results else 0)
    by_claim, by_section, compared = _render_figures(results, sections, comparisons, fig_dir)
    written = [f.files for figs in by_claim.values() for f in figs]
    written += [f.files for figs in by_section.values() for f in figs]
    written += [f.files for _, figs, _ in compared for f in figs]
    paths = tuple(p for w in written for p in (w.png, w.svg))
    _remove_stale(fig_dir, set(paths))
    kw: dict[str, Any] = {
        "fidelity": fidelity, "seed": seed,
        "sections": [(s, by_section[s.id]) for s in sections], "compared": compared,
        "context": context, "unchecked": unchecked, "command": command,
    }
    html_path = atomic.write_text(out / HTML_NAME, render_html(results, by_claim, **kw))
    md_path = atomic.write_text(out / MARKDOWN_NAME, render_markdown(results, by_claim, **kw))
    json_path = runner.write_json(list(results), out / JSON_NAME)
    json_path.chmod(html_path.stat().st_mode & 0o777)  # same permissions as the other files
    return ReportFiles(out, html_path, md_path, json_path, paths)
