"""The claim registry: one declaration per claim, in one module per paper.

A claim declares

* ``theory``: named predictions taken from `theory/` (functions or numbers). The check reads
  them only through this mapping, so a *mutation* (a deliberately wrong theory, e.g. tau x 1.1)
  can replace one entry and the same check must then FAIL: that is how power is measured.
* ``sizes``: the simulation sizes at each fidelity (``quick``, ``standard``, ``paper``).
* ``check(ctx, th, size) -> list[Criterion]``: runs (cached) simulations through ``ctx``,
  computes statistics and returns the evaluated criteria (`verify.criteria`).
* ``mutations``: wrong theories that must FAIL. A *gross* mutation (a wrong constant, a dropped
  factor) must FAIL at ``quick``; a *nearby* mutation is a wrong theory a researcher could
  believe (the Gaussian-limit constant where the finite-batch value is right, an asymptotic
  form used too early, a neighbouring exponent) and must FAIL at the fidelity it names
  (``fails_at``, ``standard`` unless ``quick`` affords it). Every claim has at least one of each.

Registering is one decorated function::

    @claim("L6", title="...", paper=LABATIE,
           theory={"delta_phi": labatie.bn_relu_increment},
           sizes={"quick": {...}, "standard": {...}, "paper": {...}},
           mutations=[Mutation("nu1 squared -> nu1", {"delta_phi": lambda nu1: ...})])
    def _l6(ctx, th, size):
        ...
        return [criteria.equivalence("L6.1", ...)]

Modules: those of every declared paper (`theory.papers`): ours, `verify.claims_labatie`,
`verify.claims_luther_seung`, `verify.claims_yang_schoenholz`, and those of extension modules
(entry points ``dnn_moments.claims``, ``$DNN_MOMENTS_CLAIMS_MODULES``, ``--claims-module``; see
docs/extending.md). Claim ids are a paper key of capital letters and a number (``P1``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from theory import papers as _papers
from theory.papers import ExtensionError

FIDELITIES = ("quick", "standard", "paper")
#: Claims modules of our own papers (every paper's: `claim_modules`).
CLAIM_MODULES = tuple(m for p in _papers.declared_papers() for m in p.claims)


class Theory(Mapping[str, Any]):
    """Read-only mapping of named predictions; attribute access ``th.tau`` == ``th["tau"]``."""

    def __init__(self, entries: Mapping[str, Any]) -> None:
        self._entries = MappingProxyType(dict(entries))

    def __getitem__(self, key: str) -> Any:
        try:
            return self._entries[key]
        except KeyError:
            raise KeyError(f"no prediction named {key!r}; have {sorted(self._entries)}") from None

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __iter__(self):  # noqa: ANN204 - Mapping protocol
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Theory:
        """A copy with some predictions replaced (unknown names raise)."""
        unknown = set(overrides) - set(self._entries)
        if unknown:
            raise KeyError(f"mutation names unknown predictions {sorted(unknown)}; "
                           f"have {sorted(self._entries)}")
        return Theory({**self._entries, **overrides})


MUTATION_KINDS = ("gross", "nearby")


@dataclasses.dataclass(frozen=True)
class Mutation:
    """A wrong theory: ``overrides`` replace named predictions; it must make the claim FAIL.

    kind: ``"gross"`` (an absurd error: must FAIL at ``quick``) or ``"nearby"`` (a plausible
    wrong theory: must FAIL at ``fails_at``); fails_at: the lowest fidelity at which the
    harness must FAIL it (default ``quick`` for gross, ``standard`` for nearby mutations).
    """

    name: str
    overrides: Mapping[str, Any]
    kind: str = "gross"
    fails_at: str = ""

    def __post_init__(self) -> None:
        if self.kind not in MUTATION_KINDS:
            raise ValueError(f"mutation {self.name!r}: kind={self.kind!r} is not allowed; "
                             f"choose one of {', '.join(MUTATION_KINDS)}")
        if not self.fails_at:
            object.__setattr__(self, "fails_at", "quick" if self.kind == "gross" else "standard")
        check_fidelity(self.fails_at)
        if self.kind == "gross" and self.fails_at != "quick":
            raise ValueError(f"mutation {self.name!r}: a gross mutation must fail at 'quick'")

    def must_fail(self, fidelity: str) -> bool:
        """True when the harness at ``fidelity`` is required to FAIL this mutation."""
        return FIDELITIES.index(check_fidelity(fidelity)) >= FIDELITIES.index(self.fails_at)


def nearby(name: str, overrides: Mapping[str, Any], fails_at: str = "standard") -> Mutation:
    """A plausible wrong theory (see `Mutation`) that must FAIL at ``fails_at``."""
    return Mutation(name, overrides, "nearby", fails_at)


@dataclasses.dataclass(frozen=True)
class Claim:
    """A registered claim (see module docstring)."""

    id: str
    title: str
    paper: str
    check: Callable[..., list]
    theory: Theory
    sizes: Mapping[str, Mapping[str, Any]]
    mutations: tuple[Mutation, ...] = ()
    criteria: Mapping[str, str] = dataclasses.field(default_factory=dict)
    setup: str = ""
    caveats: str = ""

    def size(self, fidelity: str) -> Mapping[str, Any]:
        """Simulation sizes at ``fidelity``."""
        check_fidelity(fidelity)
        return self.sizes[fidelity]


_REGISTRY: dict[str, Claim] = {}


def check_fidelity(fidelity: str) -> str:
    """Raise ValueError unless ``fidelity`` is one of `FIDELITIES`."""
    if fidelity not in FIDELITIES:
        raise ValueError(f"fidelity={fidelity!r} is not allowed; choose one of "
                         f"{', '.join(FIDELITIES)}")
    return fidelity


def claim(
    claim_id: str,
    *,
    title: str,
    paper: str,
    theory: Mapping[str, Any],
    sizes: Mapping[str, Mapping[str, Any]],
    mutations: tuple[Mutation, ...] | list[Mutation] = (),
    criteria: Mapping[str, str] | None = None,
    setup: str = "",
    caveats: str = "",
) -> Callable[[Callable[..., list]], Callable[..., list]]:
    """Register ``check`` as the verification of ``claim_id`` (decorator).

    claim_id: a paper key of capital letters and a number (``"P1"``); paper: the reference
    returned by `theory.papers.declare_paper` (or the paper's key). A second registration of the
    same id by another function raises `ExtensionError` naming both.
    """
    missing = [f for f in FIDELITIES if f not in sizes]
    if missing:
        raise ValueError(f"{claim_id}: sizes must cover every fidelity; missing {missing}")
    _papers.split_claim_id(claim_id)
    declared = _papers.paper_by_reference(paper)
    if declared is not None:
        paper = declared.reference

    def deco(check: Callable[..., list]) -> Callable[..., list]:
        where = _origin(check)
        old = _REGISTRY.get(claim_id)
        if old is not None and old.check is not check and _origin(old.check) != where:
            raise ExtensionError(f"claim {claim_id} is registered twice: by "
                                 f"{_origin(old.check)} and by {where}")
        _REGISTRY[claim_id] = Claim(claim_id, title, paper, check, Theory(theory),
                                    MappingProxyType(dict(sizes)), tuple(mutations),
                                    MappingProxyType(dict(criteria or {})), setup, caveats)
        return check

    return deco


def _origin(fn: Callable[..., object]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"


def claim_modules() -> list[str]:
    """Claims modules of every declared paper (ours and the extensions'), in paper order."""
    return _papers.modules_of("claims")


def _load() -> None:
    _papers.load_modules("claims")


def _order(cid: str) -> tuple[int, str, int, str]:
    return _papers.claim_sort_key(cid)


def paper_keys() -> list[str]:
    """Paper keys of the registered claims, in paper order (``["L", "S", "Y", "P"]``)."""
    return _papers.paper_keys_of(claim_ids())


def claim_ids() -> list[str]:
    """Registered claim ids in document order (papers as declared, numerically within one)."""
    _load()
    return sorted(_REGISTRY, key=_order)


def get(claim_id: str) -> Claim:
    """The registered claim ``claim_id`` (ValueError naming the known ids otherwise)."""
    _load()
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise ValueError(f"claim {claim_id!r} is not registered; known: "
                         f"{', '.join(claim_ids())}") from None


def all_claims() -> list[Claim]:
    """Every registered claim, in THEORY.md order."""
    return [get(c) for c in claim_ids()]


def in_paper(claim_id: str, key: str) -> bool:
    """Whether ``claim_id`` (``"P12"``) belongs to the paper ``key`` (``"P"``, not ``"PX"``)."""
    m = _papers.CLAIM_ID.match(claim_id)
    return m is not None and m.group(1) == key


def select(spec: str | None) -> list[Claim]:
    """Claims named by a comma-separated list (``"L6,S4"``; paper keys ``"L"``, ``"P"`` allowed)."""
    ids = claim_ids()
    if not spec:
        return all_claims()
    keys = paper_keys()
    out: list[str] = []
    for tok in (t.strip() for t in spec.split(",") if t.strip()):
        if tok in ids:
            out.append(tok)
        elif tok in keys:
            out.extend(i for i in ids if in_paper(i, tok))
        else:
            raise ValueError(f"claims={tok!r} is not a registered claim; choose from "
                             f"{', '.join(ids)} (or a paper key {', '.join(keys)})")
    return [get(c) for c in dict.fromkeys(out)]
