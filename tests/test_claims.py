"""The proof-checking harness: every registered claim is a test (the dnn-moments pytest plugin).

The plugin (`verify.pytest_plugin`, the same one a user's project loads with ``-p dnn_moments``)
provides the options, the session fixture that evaluates every selected claim together (so
Holm's correction covers exactly the claims being checked; ``pytest -k L6`` selects one) and the
checks each claim test makes (verdict, minimal detectable errors, a simulation and a theory
curve). Claims with every criterion skipped (they need data files) are reported as skipped.
Extension claims (installed ``dnn_moments.claims`` entry points such as the worked example of
``examples/``, ``$DNN_MOMENTS_CLAIMS_MODULES``, ``--claims-module``) are parametrized too.
"""

from __future__ import annotations

import pytest

from verify import pytest_plugin, runner

CLAIM_IDS = pytest_plugin.claim_ids()


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_claim(claim_id: str, dnn_moments_results: dict[str, runner.ClaimResult]) -> None:
    pytest_plugin.check_result(dnn_moments_results[claim_id])
