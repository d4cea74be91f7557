"""Atomic file writes for the reports: `simulate.results.write_atomic` (a temporary file in
the target directory, fsync, the usual permissions, then `os.replace`).

A reader (a browser refreshing ``index.html``, a CI step) never sees a half-written file, and an
interrupted run leaves the previous version in place.
"""

from __future__ import annotations

import os
from pathlib import Path

from simulate.results import write_atomic


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parent directories are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda fh: fh.write(data), suffix=".tmp")
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line endings) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))
