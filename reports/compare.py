"""``--compare FILE.npz``: results files (moments-dnns' or ours) beside this run's figures.

Loading and validation (`load_comparisons`) happen before anything is simulated, so a bad path
fails in a second with one line naming ``compare``.

**Matching rule.** A claim's panel opts in by declaring `Panel.overlay`, an expression over
results keys giving the plotted quantity per simulation and depth (e.g. ``"chi_loc4 /
chi_loc3"``), and optionally `Panel.network`. A compare file is overlaid on a panel when

1. it holds every key the expression names (after loading, which adds ``log_chi_*`` and
   ``log_mu2_noise_*`` to moments-dnns files), and
2. its network is the panel's, when both are known. A file's network is read from its metadata
   (``network.name`` or ``config.architecture``, written by dnn-moments) or, for moments-dnns
   files, which carry no metadata, from its file name (``vanilla*``, ``bn_ff*``, ``bn_res*``, as
   moments-dnns names experiments); a file whose network is unknown is overlaid only on panels
   that declare no network, since a loc means different things in different architectures.

The overlay is the expression's sim mean with its 16–84% band against the file's ``depth``
(kind ``"compare"``: dotted). Independently of any matching, the "Compared runs" section plots
every file's χ and moments against depth (`comparison_panels`).
"""

from __future__ import annotations

import ast
import dataclasses
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulate.errors import ConfigError
from simulate.results import SimulationResults
from verify.panels import Curve, Panel

KNOWN_NETWORKS = ("vanilla", "bn_ff", "bn_res")
_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
}
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
    ast.Pow: np.power,
}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A loaded compare file: its path, results, network (``""`` if unknown) and a label."""

    path: Path
    results: SimulationResults
    network: str
    label: str

    @property
    def locs(self) -> list[str]:
        """Measurement locations with a χ or ν2 entry, in natural order."""
        found = set(self.results.locs)
        found |= {k[len("chi_"):] for k in self.results.keys() if k.startswith("chi_")}
        return sorted(found, key=lambda s: (len(s), s))

    def describe(self) -> dict[str, str]:
        """Facts shown in the report: source, network, simulations, depths, locs."""
        r = self.results
        d = np.asarray(r.depth)
        source = r.metadata.get("package") or r.metadata.get("source") or "unknown"
        return {
            "file": self.path.name,
            "source": str(source),
            "network": self.network or "unknown",
            "simulations": str(r.num_sims),
            "depths": f"{d.min()}..{d.max()} ({d.size} points)" if d.size else "none",
            "locs": ", ".join(self.locs) or "none",
        }


def network_of(results: SimulationResults, path: Path) -> str:
    """The network name of a results file (see module docstring), ``""`` if unknown."""
    meta = results.metadata
    net = meta.get("network")
    if isinstance(net, Mapping) and net.get("name"):
        return str(net["name"])
    cfg = meta.get("config")
    if isinstance(cfg, Mapping) and cfg.get("architecture"):
        return str(cfg["architecture"])
    stem = path.stem.lower()
    for name in sorted(KNOWN_NETWORKS, key=len, reverse=True):
        if stem == name or stem.startswith(name + "_") or stem.startswith(name + "-"):
            return name
    return ""


def load_comparisons(paths: Sequence[str | Path]) -> list[Comparison]:
    """Load and validate compare files; ValueError (one line, naming ``compare``) otherwise."""
    out: list[Comparison] = []
    labels: set[str] = set()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            raise ConfigError(f"compare={str(path)!r} is a directory; give a .npz results file")
        try:
            res = SimulationResults.load(path)
        except ConfigError as exc:
            msg = str(exc)
            msg = msg[len("path="):] if msg.startswith("path=") else msg
            raise ConfigError(f"compare={msg}") from None
        _validate(res, path)
        label = path.name
        k = 2
        while label in labels:
            label, k = f"{path.name} ({k})", k + 1
        labels.add(label)
        out.append(Comparison(path, res, network_of(res, path), label))
    return out


def _validate(res: SimulationResults, path: Path) -> None:
    n_depth = np.asarray(res.depth).size
    per_depth = [k for k in res.keys() if np.ndim(res[k]) == 2]
    if n_depth == 0 or not per_depth:
        raise ConfigError(f"compare={str(path)!r} holds no per-depth moments (keys like "
                          f"chi_loc1 of shape (num_sims, num_computations))")
    bad = [k for k in per_depth if res[k].shape[1] != n_depth]
    if bad:
        raise ConfigError(f"compare={str(path)!r}: {bad[0]} has {res[bad[0]].shape[1]} depths "
                          f"but 'depth' has {n_depth}")


# ------------------------------------------------------------------------------ expressions
def expression_keys(expr: str) -> set[str]:
    """Results keys named by an overlay expression (ValueError if it is not allowed)."""
    tree = _parse(expr)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCTIONS}


def _parse(expr: str) -> ast.Expression:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ValueError(f"overlay={expr!r} is not an expression over results keys") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load,
                               ast.Constant, ast.Call, ast.USub, ast.UAdd, *_BINOPS))
        if isinstance(node, ast.Call):
            ok = (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                  and len(node.args) == 1 and not node.keywords)
        if isinstance(node, ast.Constant):
            ok = isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
        if not ok:
            raise ValueError(f"overlay={expr!r}: only results keys, numbers, + - * / ** and "
                             f"{', '.join(_FUNCTIONS)} are allowed")
    return tree


def evaluate(expr: str, results: SimulationResults) -> np.ndarray:
    """Evaluate an overlay expression on ``results`` (arrays ``(num_sims, depths)``)."""
    tree = _parse(expr)

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return np.asarray(results[node.id], dtype=float)
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return _FUNCTIONS[node.func.id](ev(node.args[0]))

    with np.errstate(all="ignore"):
        return np.asarray(ev(tree), dtype=float)


def matches(panel: Panel, comp: Comparison) -> bool:
    """Whether ``comp`` is overlaid on ``panel`` (module docstring)."""
    if not panel.overlay:
        return False
    try:
        keys = expression_keys(panel.overlay)
    except ValueError:
        return False
    if not keys or not all(k in comp.results for k in keys):
        return False
    if panel.network:
        return comp.network == panel.network
    return True


def _band(x: np.ndarray, per_sim: np.ndarray, label: str) -> Curve:
    a = np.where(np.isfinite(per_sim), per_sim, np.nan)
    if a.ndim == 1:
        a = a[None, :]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        mean = np.nanmean(a, axis=0)
        lo, hi = np.nanpercentile(a, [16, 84], axis=0)
    return Curve(label, "compare", np.asarray(x, float), mean, lo, hi)


def overlay(panels: Sequence[Panel], comparisons: Sequence[Comparison]
            ) -> tuple[list[Panel], dict[str, list[int]]]:
    """Copies of ``panels`` with matching compare files overlaid, and, per compare label,
    the indices of the panels it was overlaid on."""
    out = []
    used: dict[str, list[int]] = {c.label: [] for c in comparisons}
    for i, p in enumerate(panels):
        extra = []
        for c in comparisons:
            if matches(p, c):
                values = evaluate(p.overlay, c.results)
                if values.ndim in (1, 2) and values.shape[-1] == np.asarray(c.results.depth).size:
                    extra.append(_band(c.results.depth, values, f"{c.label} (compare)"))
                    used[c.label].append(i)
        out.append(dataclasses.replace(p, curves=[*p.curves, *extra]) if extra else p)
    return out, used


# ------------------------------------------------------------------------------ own panels
#: Quantities of the "Compared runs" section: (key prefix, label, log y).
COMPARED_QUANTITIES = (
    ("chi", "chi (normalised sensitivity)", True),
    ("reff_signal", "r_eff(x) (effective rank of the signal)", True),
    ("mu4_signal", "mu4(x) (fourth moment of the signal)", False),
    ("nu1_abs_signal", "nu1(|x|)", False),
)


def _loc_key(key: str, prefix: str) -> str | None:
    m = re.fullmatch(re.escape(prefix) + r"_(loc\d+)", key)
    return m.group(1) if m else None


def comparison_panels(comp: Comparison) -> list[Panel]:
    """Panels of one compare file: χ and moments against depth at every loc it holds.

    ``reff_*`` entries of ``-1`` (moments-dnns' "not computed") are left out.
    """
    r = comp.results
    panels = []
    for prefix, label, logy in COMPARED_QUANTITIES:
        locs = sorted((_loc_key(k, prefix), k) for k in r.keys() if _loc_key(k, prefix))
        curves = []
        for loc, key in locs:
            a = np.asarray(r[key], dtype=float)
            if a.ndim != 2:
                continue
            if prefix.startswith("reff"):
                a = np.where(a < 0, np.nan, a)
            if not np.isfinite(a).any():
                continue
            c = _band(r.depth, a, f"{loc}")
            curves.append(dataclasses.replace(c, kind="simulation"))
        if curves:
            panels.append(Panel(f"{comp.label}: {label}", "depth l", label.split(" (")[0],
                                logy=logy, caption=f"sim mean and 16-84% band over "
                                f"{r.num_sims} simulations of {comp.path.name}",
                                curves=curves))
    return panels
