"""pytest options of the proof-checking harness (see tests/test_claims.py).

``--fidelity quick|standard|paper`` (default quick, or ``$DNN_MOMENTS_FIDELITY``) sets the size of
every registered claim's simulations; ``--verify-seed N`` the run seed (default 0);
``--no-sim-cache`` recomputes instead of reading ``.dnn-moments-cache``.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dnn-moments")
    group.addoption("--fidelity", default=os.environ.get("DNN_MOMENTS_FIDELITY", "quick"),
                    choices=("quick", "standard", "paper"),
                    help="fidelity of the registered claims (default: quick)")
    group.addoption("--verify-seed", type=int, default=0,
                    help="run seed of the registered claims (default: 0)")
    group.addoption("--no-sim-cache", action="store_true",
                    help="do not read or write the simulation cache")
