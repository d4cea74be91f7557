"""Registry of paper-figure reproductions (figures beyond the per-claim panels).

A reproduction is a function ``build(fidelity, seed, cache) -> FigureSection`` registered with
`reproduction`; it simulates through `verify.context.Context` (same seeds and disk cache as the
claims, so a figure that needs the claims' simulations reuses them) and returns panels with the
parameters used. One module per paper (`REPRODUCTION_MODULES`), loaded on first use, as for the
claims; an extension's claims module may register reproductions of its own paper too (they are
loaded with the claims, `theory.papers`). Compute only: rendering is `reports/`'s job.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

from theory import papers as _papers
from verify.cache import SimulationCache
from verify.panels import FigureSection

#: Modules that register reproductions (one per paper).
REPRODUCTION_MODULES = (
    "verify.reproduce_labatie",
    "verify.reproduce_labatie_conv",
    "verify.reproduce_luther_seung",
    "verify.reproduce_yang_schoenholz",
)

Builder = Callable[[str, int, "SimulationCache | None"], FigureSection]


@dataclasses.dataclass(frozen=True)
class Reproduction:
    """A registered figure: id (``"labatie-fig2"``), title, paper key (``"L"``), builder."""

    id: str
    title: str
    paper: str
    build: Builder


_REGISTRY: dict[str, Reproduction] = {}


def reproduction(id: str, title: str, paper: str) -> Callable[[Builder], Builder]:
    """Register ``build`` as the reproduction ``id`` of the paper with key ``paper`` (``"L"``)."""
    if not isinstance(paper, str) or not _papers.PAPER_KEY.match(paper):
        raise ValueError(f"paper={paper!r} is not allowed; give a paper key of capital letters "
                         "(e.g. 'L')")

    def deco(build: Builder) -> Builder:
        if id in _REGISTRY and _REGISTRY[id].build is not build:
            raise ValueError(f"reproduction {id} is registered twice")
        _REGISTRY[id] = Reproduction(id, title, paper, build)
        return build

    return deco


def all_reproductions() -> list[Reproduction]:
    """Every registered reproduction, in module order then registration order."""
    for mod in REPRODUCTION_MODULES:
        importlib.import_module(mod)
    _papers.load_modules("claims")  # extensions register theirs beside their claims
    return list(_REGISTRY.values())


def select(papers: str | None) -> list[Reproduction]:
    """Reproductions of the given paper keys (``"L,Y"``; None = all)."""
    reps = all_reproductions()
    if papers is None:
        return reps
    wanted = {t.strip() for t in papers.split(",") if t.strip()}
    return [r for r in reps if r.paper in wanted or r.id in wanted]
