"""Errors raised by the simulator.

Every error names the offending parameter and what is allowed, in one line, so the CLI can
print it without a traceback.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable


class ConfigError(ValueError):
    """An invalid configuration value (bad parameter, unknown name, impossible combination)."""


class SimulationError(RuntimeError):
    """A numerical failure during propagation (non-finite values), with the location."""


def check_choice(name: str, value: object, allowed: Iterable[object]) -> None:
    """Raise `ConfigError` unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigError(
            f"{name}={value!r} is not allowed; choose one of {', '.join(map(str, allowed))}"
        )


def check_positive_int(name: str, value: object) -> int:
    """Raise `ConfigError` unless ``value`` is an integer >= 1 (numpy integers included)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{name}={value!r} is not allowed; it must be an integer >= 1")
    return int(value)


def check_nonnegative(name: str, value: object) -> float:
    """Raise `ConfigError` unless ``value`` is a finite real >= 0; return it as float."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(
            f"{name}={value!r} is not allowed; it must be a real number >= 0"
        ) from None
    if not (v >= 0.0) or v == float("inf"):
        raise ConfigError(
            f"{name}={value!r} is not allowed; it must be a finite real number >= 0"
        )
    return v
