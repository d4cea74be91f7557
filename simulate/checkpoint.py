"""Checkpoints: the finished chunks of a long run, on disk, so a killed run loses nothing.

A checkpoint is a folder holding

* ``chunk-<i>.npz``: the per-simulation records of simulations ``start_i .. stop_i - 1``
  (written by `simulate.results.write_npz`, so no pickles), one file per finished chunk;
* ``manifest.json``: format version, package version, the configuration and its sha256
  (``config_hash``), the chunk size, and for every finished chunk its simulation range, file
  name and the sha256 of its bytes; ``simulations_done`` lists the finished index ranges.

Each chunk is written to a temporary file, flushed and renamed; the manifest is then rewritten
the same way. A run killed at any moment (SIGKILL mid-write included) leaves either the old or
the new manifest, and every chunk it lists is complete: a chunk renamed into place but not yet
listed is simply computed again. On resume every listed chunk's checksum is verified; a chunk
that is missing, truncated or altered is reported (``corrupted``) and recomputed, never used.

Simulation ``i`` depends only on ``(seed, i)`` (`simulate.executors.simulation_seeds`), so the
results assembled from chunks -- some computed before the kill, some after, on any executor --
are byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from simulate.errors import ConfigError
from simulate.results import write_atomic, write_npz

MANIFEST = "manifest.json"
FORMAT = 1

#: Records of a range of simulations (see `simulate.executors.Chunk`).
Chunk = tuple[dict[str, list[np.ndarray]], dict[str, list[float]], dict[str, int], dict[str, int]]


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``config``."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def config_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON-like values differ, each as ``path (old -> new)``."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[str] = []
        for k in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{k}" if prefix else str(k)
            if k not in old or k not in new:
                out.append(f"{path} ({old.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r})")
            else:
                out += config_differences(old[k], new[k], path)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += config_differences(a, b, f"{prefix}[{i}]")
        return out
    return [] if old == new else [f"{prefix or 'value'} ({old!r} -> {new!r})"]


def chunk_to_arrays(chunk: Chunk) -> dict[str, np.ndarray]:
    """One chunk as named arrays: ``b:<key>`` stacked per-block records ``(n, ...)``,
    ``s:<key>`` scalars ``(n,)`` float64, ``p:<path>`` / ``w:<kind>`` 0-d int64 counts."""
    per_block, scalars, paths, work = chunk
    out: dict[str, np.ndarray] = {f"b:{k}": np.stack(v) for k, v in per_block.items()}
    out.update({f"s:{k}": np.asarray(v, dtype=np.float64) for k, v in scalars.items()})
    out.update({f"p:{k}": np.asarray(v, dtype=np.int64) for k, v in paths.items()})
    out.update({f"w:{k}": np.asarray(v, dtype=np.int64) for k, v in work.items()})
    return out


def arrays_to_chunk(arrays: Mapping[str, np.ndarray]) -> Chunk:
    """Inverse of `chunk_to_arrays` (the rows of the stacked records, in order)."""
    per_block: dict[str, list[np.ndarray]] = {}
    scalars: dict[str, list[float]] = {}
    paths: dict[str, int] = {}
    work: dict[str, int] = {}
    for name, a in arrays.items():
        kind, key = name.split(":", 1)
        if kind == "b":
            per_block[key] = list(a)
        elif kind == "s":
            scalars[key] = [float(x) for x in a]
        elif kind == "p":
            paths[key] = int(a)
        elif kind == "w":
            work[key] = int(a)
    return per_block, scalars, paths, work


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, lambda fh: fh.write(data))


class Checkpoint:
    """The checkpoint folder of one run (see the module docstring).

    directory: the folder (created if missing).
    config: JSON-serialisable description of everything the results depend on (network,
        options, inputs, batch size, seed, number of simulations); a folder holding another
        configuration refuses to resume, naming what differs.
    chunk_size: simulations per chunk of a new checkpoint (a resumed one keeps its own).
    resume: continue the run found in ``directory``; without it an unfinished run there is a
        ConfigError (nothing is overwritten).
    version: package version recorded in the manifest.

    After construction, ``done`` maps chunk index -> `Chunk` for the verified finished chunks,
    ``corrupted`` lists the chunk files that failed verification (they will be recomputed), and
    ``bounds`` the ``(start, stop)`` of every chunk.
    """

    def __init__(self, directory: str | os.PathLike, config: Mapping[str, Any], num_sims: int,
                 chunk_size: int, *, resume: bool = False, version: str = "unknown") -> None:
        self.directory = Path(directory)
        self.config = json.loads(json.dumps(dict(config), sort_keys=True, default=str))
        self.num_sims = int(num_sims)
        self.version = version
        self.done: dict[int, Chunk] = {}
        self.corrupted: list[str] = []
        self._entries: dict[int, dict[str, Any]] = {}
        manifest_path = self.directory / MANIFEST
        manifest = None
        if manifest_path.exists():
            try:
                manifest = json.loads(manifest_path.read_text())
                if manifest.get("format") != FORMAT:
                    raise ValueError(f"format {manifest.get('format')!r}")
            except (ValueError, OSError) as exc:
                raise ConfigError(f"checkpoint={str(self.directory)!r} has an unreadable "
                                  f"manifest ({exc}); remove the folder to start again") from None
        if manifest is not None and not resume:
            n_done = sum(e["stop"] - e["start"] for e in manifest.get("chunks", {}).values())
            raise ConfigError(
                f"checkpoint={str(self.directory)!r} holds an unfinished run ({n_done} of "
                f"{manifest.get('num_sims', '?')} simulations done); resume it (--resume, "
                "resume=True) or remove the folder")
        if manifest is not None:
            if manifest.get("config_hash") != config_hash(self.config):
                diff = config_differences(manifest.get("config", {}), self.config)
                raise ConfigError(
                    f"checkpoint={str(self.directory)!r} is a different configuration and cannot "
                    f"be resumed; it differs in {'; '.join(diff[:4]) or 'its hash'}"
                    + (f"; and {len(diff) - 4} more" if len(diff) > 4 else ""))
            self.chunk_size = int(manifest["chunk_size"])
            self._load_chunks(manifest.get("chunks", {}))
        else:
            if int(chunk_size) < 1:
                raise ConfigError(f"chunk_size={chunk_size!r} is not allowed; it must be an "
                                  "integer >= 1")
            self.chunk_size = int(chunk_size)
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"checkpoint={str(self.directory)!r}: cannot create the folder "
                                  f"({exc.strerror})") from None
            self._write_manifest()
        self.resumed = frozenset(self.done)  # chunks read back rather than computed
        self.bounds = [(a, min(a + self.chunk_size, self.num_sims))
                       for a in range(0, self.num_sims, self.chunk_size)]

    # -- reading -------------------------------------------------------------------------
    def _load_chunks(self, entries: Mapping[str, Mapping[str, Any]]) -> None:
        for key, e in entries.items():
            path = self.directory / e["file"]
            try:
                data = path.read_bytes()
                if _sha256(data) != e["sha256"]:
                    raise ValueError("checksum mismatch")
                with np.load(io.BytesIO(data), allow_pickle=False) as f:
                    arrays = {k: f[k] for k in f.files}
                chunk = arrays_to_chunk(arrays)
                n = e["stop"] - e["start"]
                if any(len(v) != n for v in chunk[0].values()):
                    raise ValueError("wrong number of simulations")
            except Exception as exc:  # noqa: BLE001 - any unreadable chunk is recomputed
                self.corrupted.append(f"{e['file']} ({exc})")
                continue
            self.done[int(key)] = chunk
            self._entries[int(key)] = dict(e)

    # -- writing -------------------------------------------------------------------------
    def _write_manifest(self) -> None:
        ranges = sorted((e["start"], e["stop"]) for e in self._entries.values())
        manifest = {
            "format": FORMAT,
            "package": "dnn-moments",
            "version": self.version,
            "config_hash": config_hash(self.config),
            "config": self.config,
            "num_sims": self.num_sims,
            "chunk_size": self.chunk_size,
            "simulations_done": [list(r) for r in ranges],
            "chunks": {str(i): self._entries[i] for i in sorted(self._entries)},
        }
        _write_atomic(self.directory / MANIFEST,
                      (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())

    def write(self, index: int, chunk: Chunk) -> None:
        """Store finished chunk ``index`` (atomic file write, then the manifest)."""
        start, stop = self.bounds[index]
        buf = io.BytesIO()
        write_npz(buf, chunk_to_arrays(chunk))
        data = buf.getvalue()
        name = f"chunk-{index:06d}.npz"
        _write_atomic(self.directory / name, data)
        self._entries[index] = {"start": start, "stop": stop, "file": name,
                                "sha256": _sha256(data)}
        self.done[index] = chunk
        self._write_manifest()

    @property
    def todo(self) -> list[int]:
        """Indices of the chunks still to compute."""
        return [i for i in range(len(self.bounds)) if i not in self.done]

    def remove(self) -> None:
        """Delete the folder (once the assembled results are safely written)."""
        remove_checkpoint(self.directory)


def remove_checkpoint(directory: str | os.PathLike) -> None:
    """Delete a checkpoint folder (its manifest first, so a half-deleted folder is never taken
    for a resumable run); nothing if it does not exist."""
    directory = Path(directory)
    (directory / MANIFEST).unlink(missing_ok=True)
    shutil.rmtree(directory, ignore_errors=True)


__all__ = ["Checkpoint", "arrays_to_chunk", "chunk_to_arrays", "config_differences", "config_hash",
           "remove_checkpoint"]
