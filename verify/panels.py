"""Figure data of a claim: what a report plots, as plain arrays (no plotting here).

A check records panels through `Context.panel`; each panel holds curves: simulation curves
(sim mean with the 16–84% band over simulations, THEORY.md's convention), theory curves
(the prediction), histograms (step curves of a density) and point sets (markers), and
optionally one `Grid` (a heat map or a categorical map, e.g. a phase diagram, with text
annotations per cell). Paper-figure reproductions group panels into a `FigureSection`.
`reports/` renders them; `verify` never imports matplotlib.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: How a curve is drawn: a line (with optional band), a step histogram, or markers only.
CURVE_STYLES = ("line", "step", "points")


@dataclasses.dataclass(frozen=True)
class Curve:
    """One curve: ``x``, ``y`` (sim mean or prediction), optional band ``lo``..``hi``.

    kind: ``"simulation"``, ``"theory"`` (or ``"compare"``, set by reports); label: legend
    text; style: one of `CURVE_STYLES` (``"step"``: ``x`` are bin edges, one more than ``y``).
    """

    label: str
    kind: str
    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    style: str = "line"

    def __post_init__(self) -> None:
        if self.style not in CURVE_STYLES:
            raise ValueError(f"style={self.style!r} is not allowed; choose from {CURVE_STYLES}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (arrays as lists)."""
        def f(a: np.ndarray | None) -> list | None:
            return None if a is None else np.asarray(a, dtype=float).tolist()

        return {"label": self.label, "kind": self.kind, "x": f(self.x), "y": f(self.y),
                "lo": f(self.lo), "hi": f(self.hi), "style": self.style}


@dataclasses.dataclass(frozen=True)
class Grid:
    """A map over two parameters: heat map, or categorical map (phase diagram).

    x: ``(nx,)`` and y: ``(ny,)`` cell centres (increasing); z: ``(ny, nx)`` values (NaN =
    no value); categories: if non-empty, z holds integer codes ``0..len-1`` into these labels
    and the map is categorical (one colour per category, a legend instead of a colour bar);
    zlabel: colour-bar label; annotations: ``(x, y, text)`` written on the map (e.g. a
    simulated value in its cell).
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    categories: tuple[str, ...] = ()
    zlabel: str = ""
    annotations: tuple[tuple[float, float, str], ...] = ()

    def __post_init__(self) -> None:
        x, y, z = (np.asarray(a, dtype=float) for a in (self.x, self.y, self.z))
        if x.ndim != 1 or y.ndim != 1 or z.shape != (y.size, x.size):
            raise ValueError(f"grid z must have shape (len(y), len(x)) = ({y.size}, {x.size}); "
                             f"got {z.shape}")
        if self.categories:
            codes = z[np.isfinite(z)]
            if np.any((codes < 0) | (codes >= len(self.categories)) | (codes != np.round(codes))):
                raise ValueError("grid z must hold integer codes 0..len(categories)-1 when "
                                 "categories are given")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (NaN as None)."""
        z = np.asarray(self.z, dtype=float)
        return {"x": np.asarray(self.x, float).tolist(), "y": np.asarray(self.y, float).tolist(),
                "z": [[None if not np.isfinite(v) else float(v) for v in row] for row in z],
                "categories": list(self.categories), "zlabel": self.zlabel,
                "annotations": [list(a) for a in self.annotations]}


@dataclasses.dataclass
class Panel:
    """A theory-vs-simulation panel (axes labels, log scales, curves)."""

    title: str
    xlabel: str
    ylabel: str
    logx: bool = False
    logy: bool = False
    caption: str = ""
    curves: list[Curve] = dataclasses.field(default_factory=list)
    #: Optional, for ``dnn-moments report --compare``: the simulated quantity as an expression
    #: over results keys, per simulation and depth (e.g. ``"chi_loc4 / chi_loc3"``; operators
    #: + - * / **, functions exp, log, sqrt, abs). Results files holding those keys are
    #: overlaid on this panel (x = their ``depth``). Empty: nothing is overlaid.
    overlay: str = ""
    #: Optional: the network the panel's simulations use (``"vanilla"``, ``"bn_ff"``,
    #: ``"bn_res"``, ...); compare files known to come from another network are not overlaid.
    network: str = ""
    #: Optional map drawn under the curves (`Grid`); axes are its x and y.
    grid: Grid | None = None

    def simulation(self, x: np.ndarray, per_sim: np.ndarray, label: str = "simulation"
                   ) -> Panel:
        """Add the sim mean of ``per_sim`` (``(n_sims, P)``) with its 16–84% band."""
        a = np.asarray(per_sim, dtype=float)
        lo, hi = np.nanpercentile(a, [16, 84], axis=0)
        self.curves.append(Curve(label, "simulation", np.asarray(x, float),
                                 np.nanmean(a, axis=0), lo, hi))
        return self

    def theory(self, x: np.ndarray, y: np.ndarray | float, label: str = "theory") -> Panel:
        """Add a prediction curve (a scalar is drawn as a horizontal line)."""
        x = np.asarray(x, float)
        y = np.broadcast_to(np.asarray(y, dtype=float), x.shape).copy()
        self.curves.append(Curve(label, "theory", x, y))
        return self

    def histogram(self, values: np.ndarray, bins: int | np.ndarray = 30,
                  label: str = "simulation", kind: str = "simulation") -> Panel:
        """Add a density histogram of ``values`` (any shape, NaN/inf dropped) as a step curve.

        bins: number of equal bins over the finite range, or the edges; the density integrates
        to 1 over the bins.
        """
        v = np.asarray(values, dtype=float).ravel()
        v = v[np.isfinite(v)]
        if v.size == 0:
            raise ValueError(f"histogram {label!r}: no finite values")
        density, edges = np.histogram(v, bins=bins, density=True)
        self.curves.append(Curve(label, kind, edges, density, style="step"))
        return self

    def points(self, x: np.ndarray, y: np.ndarray, label: str = "simulation",
               lo: np.ndarray | None = None, hi: np.ndarray | None = None,
               kind: str = "simulation") -> Panel:
        """Add markers at ``(x, y)`` with optional error bars ``lo``..``hi``."""
        def f(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.asarray(a, dtype=float)

        self.curves.append(Curve(label, kind, np.asarray(x, float), np.asarray(y, float),
                                 f(lo), f(hi), style="points"))
        return self

    def map(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, *,
            categories: Sequence[str] = (), zlabel: str = "",
            annotations: Sequence[tuple[float, float, str]] = ()) -> Panel:
        """Set the panel's `Grid` (heat map, or categorical map when ``categories`` given)."""
        self.grid = Grid(np.asarray(x, float), np.asarray(y, float), np.asarray(z, float),
                         tuple(categories), zlabel,
                         tuple((float(a), float(b), str(t)) for a, b, t in annotations))
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        d = dataclasses.asdict(self)
        d["curves"] = [c.to_dict() for c in self.curves]
        d["grid"] = None if self.grid is None else self.grid.to_dict()
        return d


@dataclasses.dataclass(frozen=True)
class FigureSection:
    """A figure section of the report beyond the claims (e.g. a paper-figure reproduction).

    id: anchor and file-name stem; title: heading; description: what is shown and how;
    parameters: the parameters used (shown as a list, so every reproduction states them);
    panels: the figures (rendered like claim figures).
    """

    id: str
    title: str
    description: str = ""
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    panels: tuple[Panel, ...] = ()

    def panel(self, title_prefix: str) -> Panel:
        """The one panel whose title starts with ``title_prefix`` (ValueError if not exactly
        one)."""
        hits = [p for p in self.panels if p.title.startswith(title_prefix)]
        if len(hits) != 1:
            raise ValueError(f"{self.id}: {len(hits)} panels titled {title_prefix!r}...; "
                             f"titles: {[p.title for p in self.panels]}")
        return hits[0]
