"""Typed container for simulation results, and its `.npz` (+ JSON metadata) storage.

File format (compatible with moments-dnns readers):

* ``depth`` (``num_computations``,) int: the measured depths ``l``;
* ``res_depth`` 0-d int;
* ``<moment>_<loc>`` (``num_sims``, ``num_computations``) float64 for every moment of
  moments-dnns (``nu1_abs_signal``, ``nu2_signal``, ``mu2_signal``, ``mu4_signal``,
  ``mu2_noise``, ``reff_signal``, ``reff_noise``, ``chi``; ``reff_*`` is ``-1`` where not
  computed, as in moments-dnns), plus extra keys of ours (``log_mu2_noise_*``, ``log_chi_*``,
  ``sq_mean_signal_*``, ``nu1_abs_sq_signal_*``, ...); ``chi`` is normalised by the input SNR;
* per-simulation scalars (``num_sims``,) such as ``log_grad_sq_input``;
* ``metadata``: a 0-d unicode array holding JSON (configuration, seed, package version, and
  ``checksum``, the sha256 of every other array: `arrays_checksum`), so the file loads with
  ``allow_pickle=False``; moments-dnns readers ignore the extra keys.

The bytes of a file depend only on its contents: entries are stored uncompressed with a fixed
timestamp, and the run's timings and executor (``metadata["run"]``, which differ from run to run)
stay in memory and are not written. So the same seed gives the same file, whichever executor ran
it and whether or not it was resumed (`simulate.checkpoint`). Writes are atomic (temporary file +
rename), so an interrupted save never corrupts a file; `SimulationResults.load` verifies the
checksum, so an altered file is refused rather than used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from simulate.errors import ConfigError

MOMENTS_DNNS_MOMENTS = ("nu1_abs_signal", "nu2_signal", "mu2_signal", "mu4_signal", "mu2_noise",
                        "reff_signal", "reff_noise")


@dataclasses.dataclass(frozen=True)
class SimulationResults:
    """Moments of many independent simulations of one configuration.

    arrays: ``key -> array``; per-block quantities have shape ``(num_sims, num_computations)``
        (or more trailing axes, e.g. spectra), per-simulation scalars ``(num_sims,)``.
    depth: ``(num_computations,)`` measured block indices.
    res_depth: layers per residual branch (0 if none).
    metadata: configuration, seed, versions (JSON-serialisable); ``metadata["run"]`` holds what
        differs between runs of the same configuration (seconds, workers, executor) and is not
        written to disk.
    """

    arrays: Mapping[str, np.ndarray]
    depth: np.ndarray
    res_depth: int = 0
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self.arrays[key]
        except KeyError:
            raise KeyError(f"no quantity {key!r}; available: {', '.join(sorted(self.arrays))}") \
                from None

    def __contains__(self, key: object) -> bool:
        return key in self.arrays

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def keys(self) -> list[str]:
        """Sorted names of the stored quantities."""
        return sorted(self.arrays)

    @property
    def num_sims(self) -> int:
        """Number of simulations (first axis of every array)."""
        return int(next(iter(self.arrays.values())).shape[0]) if self.arrays else 0

    @property
    def locs(self) -> list[str]:
        """Measurement locations present (``loc1``... or spec names), in natural order."""
        locs = {k.rsplit("_", 1)[1] for k in self.arrays if k.startswith("nu2_signal_")}
        return sorted(locs, key=lambda s: (len(s), s))

    def replace(self, **changes: Any) -> SimulationResults:
        """Immutable update."""
        return dataclasses.replace(self, **changes)

    def log_chi(self, loc: str) -> np.ndarray:
        """``log chi`` at ``loc`` = ``(log mu2(dx) - log mu2(x)) / 2`` (input SNR normalised)."""
        if f"log_chi_{loc}" in self.arrays:
            return self.arrays[f"log_chi_{loc}"]
        return np.log(self[f"chi_{loc}"])

    # -- storage --------------------------------------------------------------------------
    def to_npz_dict(self) -> dict[str, np.ndarray]:
        """The arrays written to disk (moments-dnns keys first)."""
        out: dict[str, np.ndarray] = {
            "depth": np.asarray(self.depth),
            "res_depth": np.asarray(self.res_depth),
        }
        out.update({k: np.asarray(v) for k, v in self.arrays.items()})
        meta = {k: v for k, v in self.metadata.items() if k not in ("run", "checksum")}
        meta["checksum"] = arrays_checksum(out)
        out["metadata"] = np.asarray(json.dumps(meta, sort_keys=True, default=_json_default))
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Atomically write the results to ``path`` (``.npz``); returns the path."""
        return save_npz_atomic(path, self.to_npz_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> SimulationResults:
        """Read a file written by `save` or by moments-dnns (``allow_pickle=False``)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as f:
                data = {k: f[k] for k in f.files}
        except FileNotFoundError:
            raise ConfigError(f"path={str(path)!r}: no such file") from None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ConfigError(f"path={str(path)!r} is not a readable .npz results file (truncated "
                              f"or altered: {exc})") from None
        if "depth" not in data:
            raise ConfigError(f"path={str(path)!r} has no 'depth' key; not a moments file")
        depth = data.pop("depth")
        raw_res_depth = data.pop("res_depth", np.asarray(0))
        res_depth = int(raw_res_depth)
        meta_raw = data.pop("metadata", None)
        try:
            metadata = (json.loads(str(meta_raw)) if meta_raw is not None
                        else {"source": "moments-dnns"})
        except ValueError:
            raise ConfigError(f"path={str(path)!r} has unreadable metadata (not JSON): the file "
                              "was altered after it was written") from None
        expected = metadata.pop("checksum", None)
        if expected is not None:
            got = arrays_checksum({"depth": depth, "res_depth": raw_res_depth, **data})
            if got != expected:
                raise ConfigError(f"path={str(path)!r} fails its checksum (stored {expected[:19]}"
                                  f"..., contents {got[:19]}...): the file was altered after it "
                                  "was written; recompute it")
        arrays = {k: np.asarray(v, dtype=np.float64) if v.dtype.kind == "f" else v
                  for k, v in data.items()}
        for k in list(arrays):  # files from moments-dnns have no log keys
            if k.startswith("mu2_noise_") and "log_" + k not in arrays:
                with np.errstate(divide="ignore"):
                    arrays["log_" + k] = np.log(arrays[k])
            if k.startswith("chi_") and "log_" + k not in arrays:
                with np.errstate(divide="ignore"):
                    arrays["log_" + k] = np.log(arrays[k])
        return cls(arrays, depth, res_depth, metadata)


def arrays_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """``"sha256:<hex>"`` over ``(name, dtype, shape, bytes)`` of every array but ``metadata``,
    in sorted name order: what `SimulationResults.load` checks a file against."""
    h = hashlib.sha256()
    for k in sorted(arrays):
        if k == "metadata":
            continue
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return "sha256:" + h.hexdigest()


def write_npz(fh: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to the binary file ``fh`` in numpy's ``.npz`` layout, byte-reproducibly:
    uncompressed entries in the given order with a fixed timestamp (``np.savez`` stamps the
    current time), and no pickles (an object array is a ValueError)."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(arr), allow_pickle=False)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def check_writable(path: str | os.PathLike, name: str = "out") -> Path:
    """Fail early (before computing) if ``path`` cannot be written; returns it as a Path."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ConfigError(f"{name}={str(path)!r} is a directory; give a file path ending in .npz")
    if not parent.exists():
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{name}={str(path)!r}: cannot create directory ({exc.strerror})") \
                from None
    try:  # probe: create and remove a temporary file where the result will go
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(
            f"{name}={str(path)!r}: directory {str(parent)!r} is not writable ({exc.strerror})"
        ) from None
    return path


def save_npz_atomic(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` as ``.npz`` via a temporary file and an atomic rename."""
    path = check_writable(path, "path")
    write_atomic(path, lambda fh: write_npz(fh, arrays), suffix=".npz")
    return path


def write_atomic(path: Path, write: Callable[[BinaryIO], object], suffix: str = "") -> None:
    """Create ``path`` atomically: ``write(fh)`` into a temporary file beside it, flush and
    fsync, give it the usual permissions, then rename it over ``path`` (the temporary file is
    removed if anything fails, and ``path`` is never left half-written)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
