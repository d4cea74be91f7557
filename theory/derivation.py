"""The `Derivation` object: one prediction of one claim, as executable mathematics.

A derivation bundles what a researcher needs to trust and change a prediction:

* the claim id of ``THEORY.md`` (``L1``..``L13``, ``S1``..``S9``, ``Y1``..``Y9``), or of a
  paper declared by an extension (`theory.papers`: any key of capital letters and a number),
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

from theory import papers as _papers
from theory.papers import LABATIE, LUTHER_SEUNG, YANG_SCHOENHOLZ, ExtensionError  # noqa: F401


class _PaperReferences(Mapping[str, str]):
    """Read-only view ``key -> reference`` of the declared papers (`theory.papers`)."""

    def __getitem__(self, key: str) -> str:
        return _papers.get_paper(key).reference

    def __iter__(self):  # noqa: ANN204 - Mapping protocol
        return iter([p.key for p in _papers.papers()])

    def __len__(self) -> int:
        return len(_papers.papers())


#: Declared papers, key -> full reference (ours and every extension's; `theory.papers`).
PAPERS: Mapping[str, str] = _PaperReferences()
PROVENANCES = ("paper", "derived", "unverified")


@dataclasses.dataclass(frozen=True)
class Derivation:
    """A prediction with its derivation, assumptions and numeric evaluator.

    Attributes
    ----------
    claim_id: claim identifier from THEORY.md (e.g. ``"L6"``).
    title: one-line statement of the claim.
    paper: full paper reference (of a paper declared with `theory.papers.declare_paper`).
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
_ORIGINS: dict[str, str] = {}


def _origin(fn: Callable[..., object]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"


def register(
    claim_id: str, *, title: str, paper: str, provenance: str, describe_only: bool = False
) -> Callable[[Callable[[], Derivation]], Callable[[], Derivation]]:
    """Register a derivation builder under ``claim_id``.

    The decorated function takes no argument and returns a `Derivation` without identity
    fields; its id, title, paper, provenance (and describe-only flag) are set from the decorator.
    It is called lazily, once, when the derivation is first requested.

    claim_id: a paper key and a number (``"P1"``, `theory.papers.CLAIM_ID`); paper: the
    reference returned by `theory.papers.declare_paper` (or the paper's key). A second
    registration of the same id by another function raises `ExtensionError` naming both.
    """
    _papers.split_claim_id(claim_id)
    declared = _papers.paper_by_reference(paper)
    if declared is not None:
        paper = declared.reference

    def deco(fn: Callable[[], Derivation]) -> Callable[[], Derivation]:
        where = _origin(fn)
        old = _ORIGINS.get(claim_id)
        if old is not None and old != where:
            raise ExtensionError(f"derivation {claim_id} is registered twice: by {old} and by "
                                 f"{where}")

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
        _ORIGINS[claim_id] = where
        return fn

    return deco


def _claim_sort_key(claim_id: str) -> tuple[int, str, int, str]:
    return _papers.claim_sort_key(claim_id)


def claim_ids() -> list[str]:
    """All registered claim ids, in document order (papers as declared: L, S, Y, then
    extensions; numerically within a paper)."""
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
    # Importing the derivation modules of every declared paper (ours, and those of extension
    # modules found by `theory.papers.load_extensions`) runs their @register decorators.
    _papers.load_modules("derivations")


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
