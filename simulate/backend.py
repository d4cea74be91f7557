"""Array backends of the stacked engine (`simulate.stacked`): where its arrays live.

The stacked engine is written once against a numpy-compatible array module ``xp``; a backend
supplies that module and the few things that differ between devices:

* ``numpy`` -- ``xp = numpy`` on the CPU. The reference of the GPU path: the same code, tested
  in CI (which has no GPU) against the CPU engine and against direct oracles.
* ``cuda`` -- ``xp = cupy`` (installed with ``pip install 'dnn-moments[gpu]'``): products
  through cuBLAS, elementwise work and reductions as CuPy kernels, Gaussian draws by cuRAND
  on the device. Only per-layer scalars (the moments, the effective ranks, the tangent scale)
  cross to the host.

Gaussian draws. Every simulation has its own stream, keyed by ``(seed, simulation index)``
exactly as the CPU engine's (`simulate.executors.simulation_seeds`, spawn key 3), so the arrays
of a simulation do not depend on how many simulations share a kernel. A stream serves its draws
from refills of ``draw_chunk`` normals (one generator call each; a request larger than what is
left discards the remainder), so consumption depends only on the network. numpy: a
``Generator(Philox)``; cuda: a cuRAND Philox4x32-10 ``RandomState`` seeded from the same
SeedSequence. The two devices therefore draw different numbers (bit-equality across devices is
not a goal); each is deterministic for a seed.

Precision: float32 products are exact float32 (TF32 off) unless ``precision="tf32"`` (cuda
only), which sets ``CUPY_TF32=1`` before CuPy is first imported in the process.
"""

from __future__ import annotations

import dataclasses
import os
from types import ModuleType
from typing import Any

import numpy as np

from simulate.errors import ConfigError

#: spawn key (after the simulation index) of a simulation's device weight stream
WEIGHT_STREAM_KEY = 3
#: CuPy reads this at import: "1" lets float32 products use TensorFloat-32
ENV_CUPY_TF32 = "CUPY_TF32"


@dataclasses.dataclass(frozen=True)
class ArrayBackend:
    """An array module and its device specifics (see module docstring).

    name: ``"numpy"`` or ``"cuda"``; xp: the array module; draw_chunk: normals per refill of a
    simulation's stream; device: a description of the device (for metadata).
    """

    name: str
    xp: ModuleType
    draw_chunk: int
    device: str

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """``a`` as an array of this backend (a host-to-device copy on cuda)."""
        return self.xp.asarray(a, dtype=dtype)

    def to_host(self, a: Any) -> np.ndarray:
        """``a`` as a numpy array (a device-to-host copy on cuda)."""
        if self.xp is np:
            return np.asarray(a)
        return self.xp.asnumpy(a)

    def normal_stream(self, seed: int, index: int) -> Any:
        """The weight stream of simulation ``index`` of a run with ``seed``: an object whose
        ``standard_normal(n, dtype)`` returns the next ``n`` standard normals (1-D)."""
        ss = np.random.SeedSequence(int(seed), spawn_key=(int(index), WEIGHT_STREAM_KEY))
        if self.xp is np:
            return np.random.Generator(np.random.Philox(ss))
        import cupy
        from cupy.cuda import curand

        # a numpy uint64, not a Python int: older CuPy releases cast the seed with
        # astype(uint64, casting='safe'), which refuses the int64 of a Python int below 2**63
        word = ss.generate_state(1, np.uint64)[0]
        return cupy.random.RandomState(word, method=curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)

    def synchronize(self) -> None:
        """Wait for the device (timings); nothing on numpy."""
        if self.xp is not np:
            self.xp.cuda.Stream.null.synchronize()


#: The numpy backend (always available).
NUMPY = ArrayBackend("numpy", np, draw_chunk=1 << 20, device="cpu (numpy)")

_CUDA: ArrayBackend | None = None


def cuda_backend(precision: str = "float32") -> ArrayBackend:
    """The CuPy backend; a `ConfigError` of one line naming what is missing otherwise.

    ``precision="tf32"`` must be asked for before CuPy is first imported in this process (it
    sets ``CUPY_TF32=1``, which CuPy reads at import); asking for the other precision than the
    one CuPy started with is an error, not a silent change.
    """
    global _CUDA
    want_tf32 = precision == "tf32"
    import sys

    if "cupy" not in sys.modules:
        if want_tf32:
            os.environ[ENV_CUPY_TF32] = "1"
        else:
            os.environ.pop(ENV_CUPY_TF32, None)
    elif (os.environ.get(ENV_CUPY_TF32, "0") == "1") != want_tf32:
        raise ConfigError(
            f"precision={precision!r} is not allowed here: CuPy was already imported with "
            f"{ENV_CUPY_TF32}={os.environ.get(ENV_CUPY_TF32, '0')}; run a fresh process")
    if _CUDA is not None:
        return _CUDA
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library that fails to load
        raise ConfigError(
            f"device='cuda' needs CuPy, which did not import ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no message'}); install it with "
            "pip install 'dnn-moments[gpu]'") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        props = cupy.cuda.runtime.getDeviceProperties(0) if count else None
    except Exception as exc:  # no driver, no device
        raise ConfigError(f"device='cuda' needs a CUDA GPU; CuPy found none "
                          f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    if not count:
        raise ConfigError("device='cuda' needs a CUDA GPU; CuPy found none")
    name = props["name"]
    name = name.decode() if isinstance(name, bytes) else str(name)
    _CUDA = ArrayBackend("cuda", cupy, draw_chunk=1 << 22, device=f"{name} (CuPy "
                         f"{cupy.__version__})")
    return _CUDA


def cuda_available() -> bool:
    """Whether `cuda_backend` would start (CuPy imports and sees a GPU)."""
    try:
        cuda_backend(precision="tf32" if os.environ.get(ENV_CUPY_TF32) == "1" else "float32")
    except ConfigError:
        return False
    return True


def get_backend(device: str, precision: str = "float32") -> ArrayBackend:
    """The backend of ``device`` (``"numpy"`` or ``"cuda"``)."""
    if device == "numpy":
        return NUMPY
    if device == "cuda":
        return cuda_backend(precision)
    raise ConfigError(f"device={device!r} has no array backend; choose 'numpy' or 'cuda'")


__all__ = ["NUMPY", "ArrayBackend", "cuda_available", "cuda_backend", "get_backend"]
