"""On-disk cache of simulation results, keyed by (configuration, seed, code version).

An entry is ``<key>.npz`` (a `SimulationResults` file, written atomically) plus
``<key>.sha256`` (the checksum of that file, written after it). Loading verifies the checksum;
a missing, truncated or altered entry is reported as a miss, removed and recomputed by the
caller. The key hashes the canonical JSON of the configuration together with the package
version and a fingerprint of the simulator's source files, so editing the simulator never
serves stale results.

Default location: ``$DNN_MOMENTS_CACHE_DIR`` or ``./.dnn-moments-cache`` (git-ignored), so a
fresh clone starts with an empty cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulate.checkpoint import remove_checkpoint
from simulate.results import SimulationResults, write_atomic

ENV_CACHE_DIR = "DNN_MOMENTS_CACHE_DIR"


@functools.cache
def code_fingerprint() -> str:
    """sha256 over the simulator's source files (``simulate/*.py``) and the package version."""
    import simulate
    from simulate.experiments import package_version

    h = hashlib.sha256(package_version().encode())
    root = Path(simulate.__file__).parent
    for p in sorted(root.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def config_key(config: Mapping[str, Any]) -> str:
    """Cache key: sha256 of the canonical JSON of ``config`` plus the code fingerprint."""
    blob = json.dumps({"config": config, "code": code_fingerprint()}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class SimulationCache:
    """Directory of cached `SimulationResults` (see module docstring).

    ``hits``/``misses``/``corrupted`` count lookups since creation.
    """

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        d = directory or os.environ.get(ENV_CACHE_DIR) or Path.cwd() / ".dnn-moments-cache"
        self.directory = Path(d)
        self.hits = 0
        self.misses = 0
        self.corrupted = 0

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.npz", self.directory / f"{key}.sha256"

    def partial_dir(self, key: str) -> Path:
        """Checkpoint folder of the entry being computed under ``key`` (`simulate.checkpoint`):
        ``partial/<key>/``, removed once the entry is stored."""
        return self.directory / "partial" / key

    def load(self, key: str) -> SimulationResults | None:
        """The entry under ``key``, or None if missing or corrupted (corrupt files are removed)."""
        npz, digest = self._paths(key)
        if not npz.exists():
            self.misses += 1
            return None
        try:
            expected = digest.read_text().strip()
            if _file_sha256(npz) != expected:
                raise ValueError("checksum mismatch")
            res = SimulationResults.load(npz)
        except Exception:  # noqa: BLE001 - any unreadable entry is recomputed
            self.corrupted += 1
            self.misses += 1
            for p in (npz, digest):
                p.unlink(missing_ok=True)
            return None
        self.hits += 1
        return res

    def store(self, key: str, res: SimulationResults) -> None:
        """Write ``res`` under ``key`` (atomic file write, then its checksum)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        npz, digest = self._paths(key)
        res.save(npz)
        line = (_file_sha256(npz) + "\n").encode("ascii")
        write_atomic(digest, lambda fh: fh.write(line), suffix=".sha256.tmp")

    def clear(self) -> int:
        """Remove every entry; returns the number of files removed."""
        n = 0
        if self.directory.exists():
            for p in self.directory.glob("*"):
                if p.suffix in (".npz", ".sha256", ".tmp"):
                    p.unlink()
                    n += 1
            partial = self.directory / "partial"
            if partial.is_dir():
                for d in partial.iterdir():
                    remove_checkpoint(d)
                    n += 1
        return n
