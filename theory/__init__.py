"""Symbolic theory of randomly initialised deep networks: one `Derivation` per claim of THEORY.md.

``theory`` knows nothing of ``simulate``: it derives predictions (sympy) and evaluates them
numerically. ``theory.catalog()`` lists every claim with its headline values. Papers are data
(`theory.papers`): ``declare_paper`` names a paper's key, reference and modules, so a package
outside this repository can add its own derivations (docs/extending.md).
"""

from theory.derivation import (
    LABATIE,
    LUTHER_SEUNG,
    YANG_SCHOENHOLZ,
    Derivation,
    all_derivations,
    catalog,
    claim_ids,
    get,
    register,
)
from theory.papers import ExtensionError, Paper, declare_paper

__all__ = [
    "LABATIE",
    "LUTHER_SEUNG",
    "YANG_SCHOENHOLZ",
    "Derivation",
    "ExtensionError",
    "Paper",
    "all_derivations",
    "catalog",
    "claim_ids",
    "declare_paper",
    "get",
    "register",
]
