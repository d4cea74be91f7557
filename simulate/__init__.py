"""Fast CPU simulator of randomly initialised networks (signal + tangent noise, moments).

Entry points: `run_experiment` (moments-dnns parameters and keys), `run_network` (any
`spec.Network`), `SimulationResults` (container, `.npz` storage). ``simulate`` knows nothing of
``theory``.
"""

import os

# The random-number kernels are numba-parallel (OpenMP). With libgomp's default active waiting,
# a second process on the same cores makes every fork-join wait for a scheduler slice (measured:
# bn_ff 0.47 s/sim vs 0.18 s with passive waiting, and equal speed on an idle machine; see
# docs/benchmarks.md). Must be set before numba loads libgomp; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from simulate import spec  # noqa: E402
from simulate.engine import EngineOptions, Propagator, effective_rank
from simulate.errors import ConfigError, SimulationError
from simulate.experiments import run_experiment, run_network
from simulate.results import SimulationResults

__all__ = [
    "ConfigError",
    "EngineOptions",
    "Propagator",
    "SimulationError",
    "SimulationResults",
    "effective_rank",
    "run_experiment",
    "run_network",
    "spec",
]
