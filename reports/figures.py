"""Render a `verify.panels.Panel` with matplotlib (Agg) to PNG and SVG.

Conventions (THEORY.md): a simulation curve is the sim mean (solid line) with the 16–84% band
over simulations (shaded); a theory curve is the prediction (dashed); curves of ``--compare``
files (kind ``"compare"``) are dotted with a lighter band. Log scales come from the panel.

Output is deterministic, so rerunning a report does not churn its files: every rcParam is reset
to matplotlib's defaults and then to `STYLE` (a user's matplotlibrc is ignored), SVG ids are
salted with a fixed ``svg.hashsalt``, text is drawn as paths (no dependence on installed fonts),
and no date, software version or other run-specific metadata is written.

No pyplot: figures are `matplotlib.figure.Figure` objects on an Agg canvas, so nothing depends
on (or changes) the global backend.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports import atomic
from verify.panels import Curve, Grid, Panel

#: Fixed style of every report figure (applied over matplotlib's defaults).
STYLE: dict[str, object] = {
    "svg.hashsalt": "dnn-moments",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "dejavusans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100.0,
    "savefig.dpi": 150.0,
    "savefig.bbox": "standard",
    "path.simplify": True,
    "axes.formatter.useoffset": False,
}

SIM_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
THEORY_COLORS = ("#000000", "#d62728", "#7f7f7f", "#bcbd22")
#: Compared runs: colours that no simulation or theory curve uses.
COMPARE_COLORS = ("#e7298a", "#66a61e", "#a6761d", "#1b9e77", "#666666")

#: Metadata written into the files: nothing that changes between runs.
_SVG_METADATA = {"Date": None, "Creator": "dnn-moments"}
_PNG_METADATA = {"Software": None}


@dataclasses.dataclass(frozen=True)
class FigureFiles:
    """The files of one rendered panel (``png``, ``svg``) and the SVG text (for embedding)."""

    png: Path
    svg: Path
    svg_bytes: bytes
    error: str = ""


@contextmanager
def style() -> Iterator[None]:
    """Context in which rcParams are matplotlib's defaults overridden by `STYLE`."""
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        yield


def _text(s: str) -> str:
    """Label text safe for matplotlib: mathtext only for balanced ``$...$`` pairs."""
    return s.replace("$", r"\$") if s.count("$") % 2 else s


def _finite_positive(values: list[np.ndarray]) -> bool:
    return any(np.any(np.isfinite(v) & (v > 0)) for v in values if v is not None and v.size)


def _draw_curve(ax: Axes, c: Curve, color: str) -> None:
    x = np.asarray(c.x, dtype=float)
    y = np.asarray(c.y, dtype=float)
    if c.style == "step":
        ax.stairs(y, x, color=color, label=_text(c.label), linewidth=1.4,
                  linestyle="--" if c.kind == "theory" else "-", zorder=2)
        return
    if c.style == "points":
        yerr = None
        if c.lo is not None and c.hi is not None:
            yerr = np.vstack([y - np.asarray(c.lo, float), np.asarray(c.hi, float) - y])
        ax.errorbar(x, y, yerr=yerr, fmt="o" if c.kind != "theory" else "x", color=color,
                    markersize=4, capsize=2, linewidth=1.0, label=_text(c.label), zorder=4)
        return
    if c.kind == "theory":
        ax.plot(x, y, linestyle="--", color=color, linewidth=1.4, label=_text(c.label),
                zorder=3)
        return
    dotted = c.kind == "compare"
    ax.plot(x, y, linestyle=":" if dotted else "-", color=color, label=_text(c.label),
            linewidth=1.8 if dotted else 1.6, zorder=2)
    if c.lo is not None and c.hi is not None:
        ax.fill_between(x, np.asarray(c.lo, float), np.asarray(c.hi, float), color=color,
                        alpha=0.12 if dotted else 0.25, linewidth=0, zorder=1)


#: Colours of the categories of a categorical map (phase diagrams).
CATEGORY_COLORS = ("#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#d9d9d9", "#fee391")


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around increasing centres (midpoints; end cells mirrored)."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _draw_grid(fig: Figure, ax: Axes, g: Grid) -> None:
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    z = np.ma.masked_invalid(np.asarray(g.z, dtype=float))
    xe, ye = _edges(g.x), _edges(g.y)
    if g.categories:
        k = len(g.categories)
        cmap = ListedColormap([CATEGORY_COLORS[i % len(CATEGORY_COLORS)] for i in range(k)])
        ax.pcolormesh(xe, ye, z, cmap=cmap, norm=BoundaryNorm(np.arange(-0.5, k), k),
                      shading="flat", zorder=0)
        present = {int(v) for v in np.asarray(g.z, float)[np.isfinite(g.z)].ravel()}
        handles = [Patch(facecolor=cmap(i), edgecolor="0.5", label=_text(lab))
                   for i, lab in enumerate(g.categories) if i in present]
        fig.legend(handles=handles, loc="outside right upper", fontsize=7,
                   title=_text(g.zlabel) if g.zlabel else None)
    else:
        mesh = ax.pcolormesh(xe, ye, z, cmap="viridis", shading="flat", zorder=0)
        cb = fig.colorbar(mesh, ax=ax)
        if g.zlabel:
            cb.set_label(_text(g.zlabel))
    for x, y, text in g.annotations:
        ax.text(x, y, _text(text), ha="center", va="center", fontsize=6.5, zorder=5)
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.grid(False)


def _prefixed(prefix: str, title: str) -> str:
    """``prefix + title`` unless the title already starts with the prefix (``"L2: ..."``)."""
    return title if not prefix or title.startswith(prefix) else f"{prefix}{title}"


def panel_figure(panel: Panel, title_prefix: str = "") -> Figure:
    """A matplotlib Figure of ``panel`` (call inside `style` for the report's look)."""
    grid = panel.grid
    fig = Figure(layout="constrained" if grid is not None else None,
                 figsize=(7.6, 4.6) if grid is not None and grid.categories else None)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if grid is not None:
        _draw_grid(fig, ax, grid)
    counters = {"simulation": 0, "theory": 0, "compare": 0}
    palettes = {"simulation": SIM_COLORS, "theory": THEORY_COLORS, "compare": COMPARE_COLORS}
    for c in panel.curves:
        kind = c.kind if c.kind in palettes else "simulation"
        pal = palettes[kind]
        _draw_curve(ax, c, pal[counters[kind] % len(pal)])
        counters[kind] += 1
    if not panel.curves and grid is None:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    xs = [np.asarray(c.x, float) for c in panel.curves]
    ys = [np.asarray(a, float) for c in panel.curves for a in (c.y, c.lo, c.hi) if a is not None]
    if panel.logx and _finite_positive(xs):
        ax.set_xscale("log")
    if panel.logy and _finite_positive(ys):
        ax.set_yscale("log")
    ax.set_xlabel(_text(panel.xlabel))
    ax.set_ylabel(_text(panel.ylabel))
    title = _prefixed(title_prefix, panel.title)
    ax.set_title(_text(title), loc="left")
    if panel.curves:
        ax.legend(loc="best")
    if grid is None:
        fig.tight_layout()
    return fig


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """``fig`` saved as ``fmt`` (``"png"`` or ``"svg"``) with run-independent metadata."""
    buf = io.BytesIO()
    meta = _SVG_METADATA if fmt == "svg" else _PNG_METADATA
    fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()


def render_panel(panel: Panel, directory: str | Path, stem: str, title_prefix: str = ""
                 ) -> FigureFiles:
    """Render ``panel`` to ``directory/stem.png`` and ``.svg`` (atomic writes).

    A panel that cannot be drawn (e.g. curves whose x and y lengths differ) does not stop the
    report: a placeholder figure names the error, which is also returned in ``error``.
    """
    directory = Path(directory)
    error = ""
    with style():
        try:
            fig = panel_figure(panel, title_prefix)
            png = figure_bytes(fig, "png")
            svg = figure_bytes(fig, "svg")
        except Exception as exc:  # noqa: BLE001 - any drawing failure becomes a placeholder
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            fig = Figure()
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            ax.set_axis_off()
            head = _prefixed(title_prefix, panel.title)
            ax.text(0.5, 0.5, _text(f"{head}\nfigure could not be drawn:\n{error}"),
                    ha="center", va="center", wrap=True)
            png = figure_bytes(fig, "png")
            svg = figure_bytes(fig, "svg")
    return FigureFiles(atomic.write_bytes(directory / f"{stem}.png", png),
                       atomic.write_bytes(directory / f"{stem}.svg", svg), svg, error)


def slug(text: str) -> str:
    """A file-name-safe stem: letters, digits, ``-`` and ``_`` only."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return s or "figure"
