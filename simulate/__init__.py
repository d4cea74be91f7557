"""Fast CPU simulator of randomly initialised networks (signal + tangent noise, moments).

Entry points: `run_experiment` (moments-dnns parameters and keys), `run_network` (any
`spec.Network`), `SimulationResults` (container, `.npz` storage). ``simulate`` knows nothing of
``theory``.
"""

from simulate import spec
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
