"""Figure data of a claim: what a report plots, as plain arrays (no plotting here).

A check records panels through `Context.panel`; each panel holds curves: simulation curves
(sim mean with the 16–84% band over simulations, THEORY.md's convention) and theory curves
(the prediction). `reports/` renders them; `verify` never imports matplotlib.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Curve:
    """One curve: ``x``, ``y`` (sim mean or prediction), optional band ``lo``..``hi``.

    kind: ``"simulation"`` or ``"theory"``; label: legend text.
    """

    label: str
    kind: str
    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (arrays as lists)."""
        def f(a: np.ndarray | None) -> list | None:
            return None if a is None else np.asarray(a, dtype=float).tolist()

        return {"label": self.label, "kind": self.kind, "x": f(self.x), "y": f(self.y),
                "lo": f(self.lo), "hi": f(self.hi)}


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        d = dataclasses.asdict(self)
        d["curves"] = [c.to_dict() for c in self.curves]
        return d
