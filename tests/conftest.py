"""pytest set-up of this repository's tests.

The claims harness is the dnn-moments pytest plugin (`verify.pytest_plugin`), installed with the
project as the ``pytest11`` entry point ``dnn_moments``: it adds ``--fidelity quick|standard|
paper`` (default quick, or ``$DNN_MOMENTS_FIDELITY``), ``--verify-seed N``, ``--no-sim-cache``,
``--claims SPEC`` and ``--claims-module MODULE``, and `tests/test_claims.py` parametrizes over
the registered claims with its fixture and checks. Loaded automatically, it collects nothing by
itself, so running one test file runs no claim. Where entry points are not loaded
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD``, or an install older than the entry point), it is loaded
here by module name (a line that does not ask it to collect claims: this conftest is not
counted as a request, see `verify.pytest_plugin.requested`).
"""

from __future__ import annotations

import sys

if "verify.pytest_plugin" not in sys.modules:  # entry point not loaded
    import verify.pytest_plugin as _plugin

    pytest_plugins = ["verify.pytest_plugin"]
    _plugin.IGNORED_CONFTESTS.append(__file__)
