"""Symbolic theory of randomly initialised deep networks: one `Derivation` per claim of THEORY.md.

``theory`` knows nothing of ``simulate``: it derives predictions (sympy) and evaluates them
numerically. ``theory.catalog()`` lists every claim with its headline values.
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

__all__ = [
    "LABATIE",
    "LUTHER_SEUNG",
    "YANG_SCHOENHOLZ",
    "Derivation",
    "all_derivations",
    "catalog",
    "claim_ids",
    "get",
    "register",
]
