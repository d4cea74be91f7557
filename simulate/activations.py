"""Registry of activation functions for the simulator.

An activation is a pair (phi, phi') of vectorised numpy functions. Adding one is one call::

    register_activation("softplus", lambda z: np.logaddexp(0, z), lambda z: 1 / (1 + np.exp(-z)))

Built-in activations (``relu``, ``tanh``, ``identity``, ``abs``) additionally have a fused numba
kernel (``kernel_id``) that applies phi to the signal rows and multiplies the tangent rows by
phi'(z) in one pass; user-registered ones run through the numpy pair (same results, slower).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from simulate.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ActivationFunction:
    """An activation phi with its derivative phi' (both vectorised, dtype-preserving)."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    kernel_id: int = -1  # >= 0 for built-ins with a fused numba kernel


_REGISTRY: dict[str, ActivationFunction] = {}

# Kernel ids understood by simulate.kernels.activation_inplace
KERNEL_IDENTITY, KERNEL_RELU, KERNEL_TANH, KERNEL_ABS = 0, 1, 2, 3


def register_activation(
    name: str,
    fn: Callable[[np.ndarray], np.ndarray],
    derivative: Callable[[np.ndarray], np.ndarray],
    *,
    kernel_id: int = -1,
) -> ActivationFunction:
    """Register an activation ``phi = fn`` with derivative ``phi' = derivative`` under ``name``."""
    if not name or not isinstance(name, str):
        raise ConfigError(f"name={name!r} is not allowed; an activation needs a non-empty name")
    if name in _REGISTRY:
        raise ConfigError(f"name={name!r} is already a registered activation")
    act = ActivationFunction(name, fn, derivative, kernel_id)
    _REGISTRY[name] = act
    return act


def get_activation(name: str) -> ActivationFunction:
    """Look up a registered activation; the error lists the registered names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"activation={name!r} is not allowed; choose one of {', '.join(sorted(_REGISTRY))}"
        ) from None


def activation_names() -> tuple[str, ...]:
    """Names of all registered activations."""
    return tuple(sorted(_REGISTRY))


def _relu_derivative(z: np.ndarray) -> np.ndarray:
    return (z > 0).astype(z.dtype)


def _tanh_derivative(z: np.ndarray) -> np.ndarray:
    t = np.tanh(z)
    return (1 - t * t).astype(z.dtype, copy=False)


register_activation("identity", lambda z: z, np.ones_like, kernel_id=KERNEL_IDENTITY)
register_activation("relu", lambda z: np.maximum(z, 0), _relu_derivative, kernel_id=KERNEL_RELU)
register_activation("tanh", np.tanh, _tanh_derivative, kernel_id=KERNEL_TANH)
register_activation("abs", np.abs, lambda z: np.sign(z).astype(z.dtype), kernel_id=KERNEL_ABS)
