"""Build the theory-vs-simulation report: compute (verify, figure builders), then render.

`build_report` is what ``dnn-moments report`` runs. Computing and rendering are separate:
`compute` runs the registered claims (simulations through the disk cache) and the figure
builders and returns plain data; `reports.render.render_report` turns that data into files.

**Figure sections.** The paper-figure reproductions registered in `verify.reproductions` run
after the claims (all of them by default; with ``--claims``, those of the papers named by a
paper key: L, S, Y or an extension's). Extra builders ``builder(fidelity, seed, cache) ->
FigureSection`` can be registered here with `figure_builder`; they run after the
reproductions. Sections appear after the claim sections, in that order.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from reports.compare import Comparison, load_comparisons
from reports.render import prepare_output_dir, render_report
from theory.derivation import Derivation
from theory.papers import paper_keys_of
from verify import registry, reproductions, runner
from verify.cache import SimulationCache
from verify.panels import FigureSection
from verify.registry import Claim, check_fidelity
from verify.runner import ClaimResult

DEFAULT_OUT = Path("reports/out")

FigureBuilder = Callable[[str, int, "SimulationCache | None"], FigureSection]
#: Registered figure builders (paper-figure reproductions), in report order.
FIGURE_BUILDERS: list[FigureBuilder] = []

#: Claims that are verifiable only in part (THEORY.md "Describe only"): id -> the part shown as
#: context without a verdict.
PARTLY_DESCRIBE_ONLY = {"S8": "training part"}


def figure_builder(fn: FigureBuilder) -> FigureBuilder:
    """Register a figure builder (decorator); see the module docstring."""
    if fn not in FIGURE_BUILDERS:
        FIGURE_BUILDERS.append(fn)
    return fn


@dataclasses.dataclass(frozen=True)
class Selection:
    """What a report covers: checked claims, describe-only context, unchecked derivations."""

    claims: tuple[Claim, ...]
    context: tuple[tuple[Derivation, str], ...]
    unchecked: tuple[Derivation, ...]


def select(spec: str | Sequence[str] | None) -> Selection:
    """Resolve ``--claims`` (comma-separated ids or paper keys L, S, Y, P...; None = everything).

    Describe-only ids (Y8, Y9) are accepted and shown as context; other unknown ids raise
    ValueError naming ``claims`` and the allowed values.
    """
    import theory

    if isinstance(spec, str) or spec is None:
        tokens = [t.strip() for t in (spec or "").split(",") if t.strip()]
    else:
        tokens = [t.strip() for t in spec if t.strip()]
    registered = registry.claim_ids()
    derivs = {d.claim_id: d for d in theory.all_derivations()}
    describe_only = [c for c, d in derivs.items() if d.describe_only]
    partly = [c for c in PARTLY_DESCRIBE_ONLY if c in derivs]
    keys = paper_keys_of(registered + describe_only)
    if not tokens:
        wanted_claims, wanted_ctx = registered, describe_only + partly
    else:
        wanted_claims, wanted_ctx = [], []
        for tok in tokens:
            if tok in keys:
                wanted_claims += [c for c in registered if registry.in_paper(c, tok)]
                wanted_ctx += [c for c in describe_only + partly if registry.in_paper(c, tok)]
            elif tok in registered:
                wanted_claims.append(tok)
                if tok in partly:
                    wanted_ctx.append(tok)
            elif tok in describe_only or tok in partly:
                wanted_ctx.append(tok)
            else:
                raise ValueError(
                    f"claims={tok!r} is not a registered claim; choose from "
                    f"{', '.join(registered + describe_only) or 'none'} (or a paper key "
                    f"{', '.join(keys)})")
    claims = tuple(registry.get(c) for c in dict.fromkeys(wanted_claims))
    order = {c: i for i, c in enumerate(theory.claim_ids())}
    ctx_ids = sorted(dict.fromkeys(wanted_ctx), key=lambda c: order.get(c, 0))
    context = tuple((derivs[c], PARTLY_DESCRIBE_ONLY.get(c, "")) for c in ctx_ids)
    unchecked: tuple[Derivation, ...] = ()
    if not tokens:
        unchecked = tuple(d for c, d in derivs.items()
                          if not d.describe_only and c not in registered)
    return Selection(claims, context, unchecked)


@dataclasses.dataclass(frozen=True)
class Computed:
    """Everything a report renders: claim results and figure sections."""

    results: list[ClaimResult]
    sections: list[FigureSection]
    seconds: float


def compute(
    claims: Sequence[Claim],
    fidelity: str,
    seed: int,
    cache: SimulationCache | None,
    builders: Sequence[FigureBuilder] = (),
    progress: bool = True,
) -> Computed:
    """Run the claims (verdicts with Holm across the run) and the figure builders."""
    t0 = time.perf_counter()
    if progress:
        print(f"verifying {len(claims)} claims at fidelity {fidelity!r}, seed {seed}",
              file=sys.stderr)
    bars = progress and sys.stderr.isatty()
    results = runner.run_claims(claims, fidelity, seed, cache=cache, quiet=not bars,
                                progress=progress)
    sections = []
    for b in builders:
        if progress:
            print(f"  figure {getattr(b, '__name__', b)} ...", file=sys.stderr, flush=True)
        sections.append(b(fidelity, seed, cache))
    return Computed(results, sections, time.perf_counter() - t0)


def build_report(
    fidelity: str = "standard",
    claims: str | Sequence[str] | None = None,
    out_dir: str | Path = DEFAULT_OUT,
    seed: int = 0,
    cache: SimulationCache | Literal["default"] | None = "default",
    compare: Sequence[str | Path] = (),
    builders: Sequence[FigureBuilder] | None = None,
    progress: bool = True,
    command: str = "",
) -> Path:
    """Verify the selected claims and write the report into ``out_dir``; returns index.html.

    fidelity: ``quick``/``standard``/``paper``; claims: ``--claims`` selection (None = all
    registered claims, plus the describe-only context); seed: run seed; cache: a
    `SimulationCache`, ``"default"`` (``$DNN_MOMENTS_CACHE_DIR`` or ``./.dnn-moments-cache``) or
    None (no disk cache); compare: results files to overlay (validated before any simulation);
    builders: figure builders (default: the reproductions of the selected papers, then the
    registered `FIGURE_BUILDERS`); progress: progress
    lines (and bars on a terminal) on stderr; command: the command line shown in the report.

    Every input is checked before anything is computed; bad input raises ValueError naming the
    parameter.
    """
    check_fidelity(fidelity)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is not allowed; it must be an integer >= 0")
    sel = select(claims)
    comparisons: list[Comparison] = load_comparisons(compare)
    out = prepare_output_dir(out_dir)
    if cache == "default":
        cache = SimulationCache()
    elif cache is not None and not isinstance(cache, SimulationCache):
        raise ValueError(f"cache={cache!r} is not allowed; give a SimulationCache, 'default' "
                         "or None")
    if builders is None:
        builders = [r.build for r in reproductions.select(_papers(claims))] + FIGURE_BUILDERS
    computed = compute(sel.claims, fidelity, seed, cache, builders, progress)
    if progress:
        print(runner.table(computed.results), file=sys.stderr)
    files = render_report(
        computed.results, out, fidelity=fidelity, seed=seed, sections=computed.sections,
        comparisons=comparisons, context=sel.context, unchecked=sel.unchecked,
        command=command or _default_command(fidelity, claims, out, seed, compare))
    if progress:
        msg = f"report: {files.html} ({computed.seconds:.1f} s computing"
        if cache is not None:
            msg += f"; cache {cache.directory}: {cache.hits} hits, {cache.misses} misses"
        print(msg + ")", file=sys.stderr)
    return files.html


def _papers(claims: str | Sequence[str] | None) -> str | None:
    """Paper keys named in ``--claims`` (None: no selection, i.e. every paper)."""
    if claims is None:
        return None
    tokens = claims.split(",") if isinstance(claims, str) else list(claims)
    keys = set(registry.paper_keys())
    return ",".join(t.strip() for t in tokens if t.strip() in keys)


def _default_command(fidelity: str, claims: str | Sequence[str] | None, out: Path, seed: int,
                     compare: Sequence[str | Path]) -> str:
    args = ["dnn-moments", "report", "--fidelity", fidelity, "--seed", str(seed), "--out",
            str(out)]
    if claims:
        args += ["--claims", claims if isinstance(claims, str) else ",".join(claims)]
    for c in compare:
        args += ["--compare", str(c)]
    return shlex.join(args)
