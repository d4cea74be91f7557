"""Papers as data, and where their derivations and claims are found.

A *paper* is declared once, with `declare_paper`: its key (the prefix of its claim ids, capital
letters: ``"L"``), its full reference, and the modules that register its derivations
(``@theory.register``) and its claims (``@verify.registry.claim``)::

    PROPAGATION = declare_paper(
        "P", "Schoenholz, Gilmer, Ganguli & Sohl-Dickstein 2017 (ICLR): Deep information "
             "propagation",
        derivations=("my_pkg.derivations",), claims=("my_pkg.claims",))

Claim ids are a paper key followed by a number (``P1``, ``L13``; `CLAIM_ID`); they sort by the
order in which their papers were declared (ours first: L, S, Y), then numerically
(`claim_sort_key`). Selections (``--claims P`` or ``P1,L6``) accept every declared key.

**Discovery.** Besides our own papers, modules that declare papers and register derivations or
claims (*extension modules*) are imported from three places, in this order (`load_extensions`):

1. modules installed by other packages under the entry-point group ``dnn_moments.claims``
   (`ENTRY_POINT_GROUP`; the entry point's value names the module);
2. ``$DNN_MOMENTS_CLAIMS_MODULES`` (`ENV_VAR`): module names separated by commas;
3. modules named at run time (`add_extension_modules`: ``--claims-module`` of ``dnn-moments
   theory``, ``verify`` and ``report`` and of the pytest plugin).

A module that fails to import raises `ExtensionError` (a one-line ValueError naming it).

``theory`` imports no extension module by itself before something asks for the registry; an
extension module may import ``verify`` (to register claims): that is the extension's business,
``theory`` itself never imports ``verify``.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
from collections.abc import Iterable, Sequence

#: A claim id: a paper key (capital letters) followed by a positive number.
CLAIM_ID = re.compile(r"^([A-Z]+)([1-9][0-9]*)$")
#: A paper key.
PAPER_KEY = re.compile(r"^[A-Z]+$")
#: Entry-point group under which other packages declare their extension modules.
ENTRY_POINT_GROUP = "dnn_moments.claims"
#: Environment variable naming extension modules (comma-separated).
ENV_VAR = "DNN_MOMENTS_CLAIMS_MODULES"


class ExtensionError(ValueError):
    """An extension module or a registration is wrong (one line, naming the module)."""


@dataclasses.dataclass(frozen=True)
class Paper:
    """A declared paper.

    key: prefix of its claim ids (``"L"``); reference: full reference (authors, year, venue:
    title), shown in the catalog, the verify table and the report; derivations: modules
    registering its derivations; claims: modules registering its claims; module: the module that
    declared it (for error messages).
    """

    key: str
    reference: str
    derivations: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()
    module: str = ""

    @property
    def short(self) -> str:
        """The reference before its colon (``"Labatie 2019 (ICML)"``)."""
        return self.reference.split(":")[0].strip() or self.reference


_PAPERS: dict[str, Paper] = {}


def declare_paper(key: str, reference: str, *, derivations: Sequence[str] = (),
                  claims: Sequence[str] = (), module: str | None = None) -> str:
    """Declare the paper ``key`` and return its reference (the ``paper=`` of its registrations).

    Declaring the same key again with the same reference and modules is a no-op (a module
    imported twice); anything else raises `ExtensionError` naming both declaring modules.
    """
    if not isinstance(key, str) or not PAPER_KEY.match(key):
        raise ExtensionError(f"paper key={key!r} is not allowed; use capital letters, e.g. 'P'")
    if not isinstance(reference, str) or not reference.strip():
        raise ExtensionError(f"paper {key}: reference={reference!r} must be non-empty text")
    mod = module if module is not None else _caller_module()
    paper = Paper(key, reference, tuple(derivations), tuple(claims), mod)
    old = _PAPERS.get(key)
    if old is not None:
        if dataclasses.replace(old, module=mod) == paper:
            return old.reference
        raise ExtensionError(f"paper {key} is declared twice: in {old.module or '?'} "
                             f"({old.reference!r}) and in {mod or '?'} ({reference!r})")
    for p in _PAPERS.values():
        if p.reference == reference:
            raise ExtensionError(f"paper reference {reference!r} is declared twice: as {p.key} "
                                 f"in {p.module or '?'} and as {key} in {mod or '?'}")
    _PAPERS[key] = paper
    return reference


def _caller_module() -> str:
    import sys

    frame = sys._getframe(2)
    return str(frame.f_globals.get("__name__", ""))


def papers() -> list[Paper]:
    """Every declared paper, in declaration order (ours first), after loading extensions."""
    load_extensions()
    return list(_PAPERS.values())


def declared_papers() -> list[Paper]:
    """The papers declared so far, without importing anything."""
    return list(_PAPERS.values())


def get_paper(key: str) -> Paper:
    """The paper declared under ``key`` (ExtensionError naming the declared keys otherwise)."""
    load_extensions()
    try:
        return _PAPERS[key]
    except KeyError:
        raise ExtensionError(f"paper {key!r} is not declared; declared: "
                             f"{', '.join(_PAPERS) or 'none'}") from None


def paper_by_reference(reference: str) -> Paper | None:
    """The declared paper whose reference (or key) is ``reference``, if any."""
    for p in _PAPERS.values():
        if reference in (p.reference, p.key):
            return p
    return None


def split_claim_id(claim_id: str) -> tuple[str, int]:
    """``"P12"`` -> ``("P", 12)``; ExtensionError unless ``claim_id`` matches `CLAIM_ID`."""
    m = CLAIM_ID.match(claim_id) if isinstance(claim_id, str) else None
    if m is None:
        raise ExtensionError(f"claim id {claim_id!r} is not allowed; use a paper key of capital "
                             "letters followed by a number, e.g. 'P1'")
    return m.group(1), int(m.group(2))


def claim_sort_key(claim_id: str) -> tuple[int, str, int, str]:
    """Sort key of a claim id (or a criterion id ``"L6.1[...]"``): paper declaration order,
    then number; ids of undeclared papers after the declared ones, alphabetically."""
    head, _, rest = claim_id.partition(".")
    m = CLAIM_ID.match(head)
    if m is None:
        return (len(_PAPERS) + 1, head, 0, rest)
    keys = list(_PAPERS)
    key, num = m.group(1), int(m.group(2))
    return (keys.index(key) if key in keys else len(keys), key, num, rest)


def paper_keys_of(ids: Iterable[str]) -> list[str]:
    """Paper keys of ``ids`` (registered claim ids), in declaration order."""
    found = {CLAIM_ID.match(i).group(1) for i in ids if CLAIM_ID.match(i)}
    return sorted(found, key=lambda k: claim_sort_key(f"{k}1"))


# --------------------------------------------------------------------------------------------
# Extension modules
# --------------------------------------------------------------------------------------------
_RUNTIME_MODULES: list[str] = []
_LOADED: set[str] = set()
_LOADING = False


def add_extension_modules(names: Iterable[str]) -> list[str]:
    """Name extension modules at run time (``--claims-module``); returns them, validated.

    They are imported by the next `load_extensions` (every registry query calls it).
    """
    out = []
    for name in names:
        for part in str(name).split(","):
            part = part.strip()
            if not part:
                continue
            if not all(p.isidentifier() for p in part.split(".")):
                raise ExtensionError(f"claims module {part!r} is not a module name "
                                     "(dotted identifiers, e.g. my_pkg.my_claims)")
            if part not in _RUNTIME_MODULES:
                _RUNTIME_MODULES.append(part)
            out.append(part)
    return out


def entry_point_modules() -> list[tuple[str, str]]:
    """``(module, origin)`` of every ``dnn_moments.claims`` entry point installed."""
    from importlib.metadata import entry_points

    out = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        who = f"{dist.name} " if dist is not None and getattr(dist, "name", None) else ""
        out.append((ep.value.split(":")[0].strip(),
                    f"entry point {ep.name!r} of {who}({ENTRY_POINT_GROUP})"))
    return out


def extension_modules() -> list[tuple[str, str]]:
    """Every extension module to import, with where it was named: entry points, then
    ``$DNN_MOMENTS_CLAIMS_MODULES``, then `add_extension_modules` (duplicates dropped)."""
    mods = entry_point_modules()
    env = os.environ.get(ENV_VAR, "")
    mods += [(m.strip(), f"${ENV_VAR}") for m in env.split(",") if m.strip()]
    mods += [(m, "--claims-module") for m in _RUNTIME_MODULES]
    seen: dict[str, str] = {}
    for m, origin in mods:
        seen.setdefault(m, origin)
    return list(seen.items())


def import_module(name: str, origin: str) -> None:
    """Import ``name``; any failure is an `ExtensionError` naming it (one line)."""
    try:
        importlib.import_module(name)
    except ExtensionError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as one line naming the module
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise ExtensionError(f"claims module {name!r} ({origin}) failed to import: "
                             f"{type(exc).__name__}: {text}") from exc


def load_extensions() -> None:
    """Import every extension module not imported yet (idempotent; see module docstring)."""
    global _LOADING
    if _LOADING:
        return
    _LOADING = True
    try:
        for name, origin in extension_modules():
            if name in _LOADED:
                continue
            import_module(name, origin)
            _LOADED.add(name)
    finally:
        _LOADING = False


def modules_of(kind: str) -> list[str]:
    """Modules of every declared paper: ``kind`` ``"derivations"`` or ``"claims"``."""
    load_extensions()
    return [m for p in _PAPERS.values() for m in getattr(p, kind)]


def load_modules(kind: str) -> None:
    """Import the ``kind`` modules (``"derivations"`` or ``"claims"``) of every paper."""
    done: set[str] = set()
    while True:  # a module may declare further papers
        todo = [m for m in modules_of(kind) if m not in done]
        if not todo:
            return
        for m in todo:
            done.add(m)
            import_module(m, f"{kind} of a declared paper")


# --------------------------------------------------------------------------------------------
# Our papers
# --------------------------------------------------------------------------------------------
LABATIE = declare_paper(
    "L", "Labatie 2019 (ICML): Characterizing well-behaved vs. pathological deep neural "
         "networks",
    derivations=("theory.labatie",), claims=("verify.claims_labatie",), module=__name__)
LUTHER_SEUNG = declare_paper(
    "S", "Luther & Seung 2019: Sample variance decay in randomly initialized ReLU networks",
    derivations=("theory.luther_seung",), claims=("verify.claims_luther_seung",),
    module=__name__)
YANG_SCHOENHOLZ = declare_paper(
    "Y", "Yang & Schoenholz 2018: Deep mean field theory: layerwise variance and width "
         "variation",
    derivations=("theory.yang_schoenholz",), claims=("verify.claims_yang_schoenholz",),
    module=__name__)
