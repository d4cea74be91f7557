"""The `Derivation` object: one prediction of one claim, as executable mathematics.

A derivation bundles what a researcher needs to trust and change a prediction:

* the claim id of ``THEORY.md`` (``L1``..``L13``, ``S1``..``S9``, ``Y1``..``Y9``),
* the sympy expressions (with typed symbols carrying assumptions) it derives,
* the conditions under which it holds (text, and where possible a predicate),
* a numeric evaluator (vectorised: numpy arrays in, numpy arrays out),
* headline numeric values (for the catalog),
* a LaTeX rendering and a provenance tag (``paper``, ``derived``, ``unverified``).

Adding a derivation is one decorated function in the module of its paper::

    @register("L6", title="...", paper=LABATIE, provenance="derived")
    def _l6() -> Derivation:
        nu1 = sp.Symbol("nu_1", positive=True)
        expr = 2 / (2 - nu1**2)
        return Derivation(expressions={"delta_phi_chi_sq": expr}, evaluate=..., ...)

The identity fields (claim id, title, paper, provenance) come from the decorator only.

Builders run lazily (sympy integration can take a moment) and are cached.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp

LABATIE = "Labatie 2019 (ICML): Characterizing well-behaved vs. pathological deep neural networks"
LUTHER_SEUNG = "Luther & Seung 2019: Sample variance decay in randomly initialized ReLU networks"
YANG_SCHOENHOLZ = (
    "Yang & Schoenholz 2018: Deep mean field theory: layerwise variance and width variation"
)
PAPERS = {"L": LABATIE, "S": LUTHER_SEUNG, "Y": YANG_SCHOENHOLZ}
PROVENANCES = ("paper", "derived", "unverified")


@dataclasses.dataclass(frozen=True)
class Derivation:
    """A prediction with its derivation, assumptions and numeric evaluator.

    Attributes
    ----------
    claim_id: claim identifier from THEORY.md (e.g. ``"L6"``).
    title: one-line statement of the claim.
    paper: full paper reference (one of `PAPERS`).
    provenance: ``"paper"``, ``"derived"`` or ``"unverified"``.
    statement: the claim's statement in words.
    expressions: named sympy expressions that constitute the prediction.
    assumptions: the conditions under which the prediction holds, in words.
    condition: optional predicate ``condition(**params) -> bool`` checking those conditions
        for concrete parameters.
    evaluate: optional numeric evaluator ``evaluate(**params)``; vectorised over numpy arrays.
    headline: named headline values (floats) shown by the catalog.
    describe_only: True for claims that get no verdict (training, conceptual).
    notes: free text (finite-width caveats, derivation sketch).
    """

    claim_id: str = ""
    title: str = ""
    paper: str = ""
    provenance: str = "derived"
    statement: str = ""
    expressions: Mapping[str, sp.Expr] = dataclasses.field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    condition: Callable[..., bool] | None = None
    evaluate: Callable[..., Any] | None = None
    headline: Mapping[str, float] = dataclasses.field(default_factory=dict)
    describe_only: bool = False
    notes: str = ""

    def __post_init__(self) -> None:
        if self.provenance not in PROVENANCES:
            raise ValueError(
                f"provenance={self.provenance!r} is not allowed; use one of {PROVENANCES}"
            )
        if not self.describe_only and self.evaluate is None:
            raise ValueError(f"{self.claim_id}: a verifiable derivation needs a numeric evaluator")

    def replace(self, **changes: Any) -> Derivation:
        """Return a copy with some fields changed (immutable update)."""
        return dataclasses.replace(self, **changes)

    def latex(self) -> str:
        r"""LaTeX of every named expression, one ``name = expr`` line each (``\\``-separated)."""
        lines = [
            f"\\mathrm{{{_latex_name(k)}}} = {sp.latex(v)}" for k, v in self.expressions.items()
        ]
        return " \\\\\n".join(lines)

    def symbol(self, name: str) -> sp.Symbol:
        """The free symbol called ``name`` in any of the derivation's expressions."""
        for expr in self.expressions.values():
            for sym in expr.free_symbols:
                if sym.name == name:
                    return sym
        raise KeyError(f"{self.claim_id}: no symbol {name!r} in its expressions")

    def holds_for(self, **params: Any) -> bool:
        """Check the derivation's conditions on concrete parameters (True if none are coded)."""
        return True if self.condition is None else bool(self.condition(**params))


def _latex_name(name: str) -> str:
    return name.replace("_", r"\_")


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
_BUILDERS: dict[str, Callable[[], Derivation]] = {}


def register(
    claim_id: str, *, title: str, paper: str, provenance: str, describe_only: bool = False
) -> Callable[[Callable[[], Derivation]], Callable[[], Derivation]]:
    """Register a derivation builder under ``claim_id``.

    The decorated function takes no argument and returns a `Derivation` without identity
    fields; its id, title, paper, provenance (and describe-only flag) are set from the decorator.
    It is called lazily, once, when the derivation is first requested.
    """
    if claim_id in _BUILDERS:
        raise ValueError(f"claim_id={claim_id!r} is already registered")

    def deco(fn: Callable[[], Derivation]) -> Callable[[], Derivation]:
        @functools.cache
        def build() -> Derivation:
            d = fn()
            return d.replace(
                claim_id=claim_id,
                title=title,
                paper=paper,
                provenance=provenance,
                describe_only=describe_only or d.describe_only,
            )

        _BUILDERS[claim_id] = build
        return fn

    return deco


def _claim_sort_key(claim_id: str) -> tuple[str, int, str]:
    head, _, rest = claim_id.partition(".")
    order = {"L": "0", "S": "1", "Y": "2"}.get(head[0], "9")
    return (order, int(head[1:]) if head[1:].isdigit() else 0, rest)


def claim_ids() -> list[str]:
    """All registered claim ids, in document order (L, S, Y; numerically)."""
    _load_all()
    return sorted(_BUILDERS, key=_claim_sort_key)


def get(claim_id: str) -> Derivation:
    """The derivation of ``claim_id``; raises KeyError naming the known ids if unknown."""
    _load_all()
    try:
        return _BUILDERS[claim_id]()
    except KeyError:
        raise KeyError(
            f"claim_id={claim_id!r} is not registered; known: {', '.join(claim_ids())}"
        ) from None


def all_derivations() -> list[Derivation]:
    """Every registered derivation, in document order."""
    return [get(c) for c in claim_ids()]


def _load_all() -> None:
    # Importing the paper modules runs their @register decorators.
    import importlib

    for mod in _PAPER_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:  # a paper module not written yet
            if exc.name != mod:
                raise


_PAPER_MODULES = ("theory.labatie", "theory.luther_seung", "theory.yang_schoenholz")


def catalog() -> str:
    """A plain-text table of every derivation with its headline values."""
    rows = []
    for d in all_derivations():
        values = ", ".join(f"{k} = {_fmt(v)}" for k, v in d.headline.items())
        kind = "describe only" if d.describe_only else d.provenance
        rows.append((d.claim_id, kind, d.title, values))
    w0 = max((len(r[0]) for r in rows), default=2)
    w1 = max((len(r[1]) for r in rows), default=4)
    lines = [f"{'id':<{w0}}  {'kind':<{w1}}  title  [headline values]"]
    for cid, kind, title, values in rows:
        lines.append(f"{cid:<{w0}}  {kind:<{w1}}  {title}" + (f"  [{values}]" if values else ""))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    try:
        return f"{float(v):.7g}"
    except (TypeError, ValueError):
        return str(v)
