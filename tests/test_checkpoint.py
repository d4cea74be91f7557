"""Checkpoint and resume: a killed run loses nothing, and resumes to the uninterrupted bytes.

Oracle: the uninterrupted run of the same configuration (the results file's bytes depend only
on its contents, `simulate.results.write_npz`). Killing is real (SIGKILL of a CLI process at
several moments) and simulated (a crash after k chunks; files left as a kill mid-write leaves
them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from simulate import executors, spec
from simulate.checkpoint import MANIFEST, config_differences
from simulate.errors import ConfigError
from simulate.experiments import run_network
from simulate.inputs import make_input_source
from simulate.results import SimulationResults, save_npz_atomic
from verify.cache import SimulationCache
from verify.context import Context

NET = spec.bn_ff(16, 5)
SRC = make_input_source("gaussian", input_dim=12)
KW = {"batch_size": 6, "num_sims": 9, "seed": 4, "quiet": True, "workers": 1}


def _bytes(res: SimulationResults, path: Path) -> bytes:
    res.save(path)
    return path.read_bytes()


class _Crash(RuntimeError):
    pass


def _crash_after(monkeypatch: pytest.MonkeyPatch, chunks: int) -> list[tuple[int, int]]:
    """Make the serial executor die after ``chunks`` chunks; returns the log of computed ones."""
    real = executors.simulate_range
    log: list[tuple[int, int]] = []

    def fake(net, inputs, batch_size, seed, options, start, stop, on_done=None, prop=None):
        if len(log) == chunks:
            raise _Crash("killed")
        log.append((start, stop))
        return real(net, inputs, batch_size, seed, options, start, stop, on_done, prop)

    monkeypatch.setattr(executors, "simulate_range", fake)
    return log


def test_resume_after_a_crash_equals_the_uninterrupted_run(tmp_path, monkeypatch) -> None:
    want = _bytes(run_network(NET, SRC, **KW), tmp_path / "want.npz")
    ck = tmp_path / "ck"
    log = _crash_after(monkeypatch, 2)
    with pytest.raises(_Crash):
        run_network(NET, SRC, checkpoint=ck, chunk_size=2, **KW)
    manifest = json.loads((ck / MANIFEST).read_text())
    assert manifest["simulations_done"] == [[0, 2], [2, 4]]
    assert manifest["num_sims"] == 9 and manifest["chunk_size"] == 2
    assert all(len(e["sha256"]) == 64 for e in manifest["chunks"].values())
    monkeypatch.undo()
    log = _crash_after(monkeypatch, 99)
    res = run_network(NET, SRC, checkpoint=ck, resume=True, chunk_size=5, **KW)
    assert log == [(4, 6), (6, 8), (8, 9)]  # finished chunks are not recomputed; size kept
    assert res.metadata["run"]["resumed_simulations"] == 4
    assert _bytes(res, tmp_path / "got.npz") == want
    assert not ck.exists()  # removed once assembled


def test_states_a_kill_mid_write_leaves_are_safe(tmp_path, monkeypatch) -> None:
    want = _bytes(run_network(NET, SRC, **KW), tmp_path / "want.npz")
    ck = tmp_path / "ck"
    _crash_after(monkeypatch, 2)
    with pytest.raises(_Crash):
        run_network(NET, SRC, checkpoint=ck, chunk_size=3, **KW)
    monkeypatch.undo()
    # killed while writing the next chunk: a half-written temporary file ...
    (ck / ".tmp-abc123").write_bytes(b"PK\x03\x04 half a chunk")
    # ... or after its rename but before the manifest listed it (a chunk that is not listed)
    (ck / "chunk-000002.npz").write_bytes(b"truncated")
    # and a listed chunk altered afterwards: its checksum fails, it is recomputed
    first = ck / "chunk-000000.npz"
    data = bytearray(first.read_bytes())
    data[-40] ^= 0xFF
    first.write_bytes(bytes(data))
    log = _crash_after(monkeypatch, 99)
    res = run_network(NET, SRC, checkpoint=ck, resume=True, **KW)
    assert log == [(0, 3), (6, 9)]
    assert _bytes(res, tmp_path / "got.npz") == want


def test_an_unfinished_run_is_never_overwritten_and_a_different_one_refuses(tmp_path,
                                                                           monkeypatch) -> None:
    ck = tmp_path / "ck"
    _crash_after(monkeypatch, 1)
    with pytest.raises(_Crash):
        run_network(NET, SRC, checkpoint=ck, chunk_size=2, **KW)
    monkeypatch.undo()
    with pytest.raises(ConfigError, match=r"holds an unfinished run \(2 of 9 simulations"):
        run_network(NET, SRC, checkpoint=ck, **KW)
    with pytest.raises(ConfigError, match=r"differs in seed \(4 -> 5\)$"):
        run_network(NET, SRC, checkpoint=ck, resume=True, **{**KW, "seed": 5})
    with pytest.raises(ConfigError, match=r"network\.stem\.width \(16 -> 17\)"):
        run_network(spec.bn_ff(17, 5), SRC, checkpoint=ck, resume=True, **KW)
    with pytest.raises(ConfigError, match="resume=True needs checkpoint"):
        run_network(NET, SRC, resume=True, **KW)


def test_config_differences_name_every_path() -> None:
    old = {"a": 1, "b": {"c": [1, 2], "d": "x"}}
    new = {"a": 1, "b": {"c": [1, 3], "e": "y"}}
    assert config_differences(old, new) == ["b.c[1] (2 -> 3)", "b.d ('x' -> '<absent>')",
                                            "b.e ('<absent>' -> 'y')"]
    assert config_differences(old, old) == []


def test_a_tampered_results_file_is_refused(tmp_path) -> None:
    res = run_network(NET, SRC, **KW)
    path = res.save(tmp_path / "r.npz")
    assert SimulationResults.load(path).arrays.keys() == res.arrays.keys()
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["mu2_signal_loc1"] = arrays["mu2_signal_loc1"] * 1.01  # a valid file, other numbers
    save_npz_atomic(tmp_path / "t.npz", arrays)
    with pytest.raises(ConfigError, match="fails its checksum"):
        SimulationResults.load(tmp_path / "t.npz")
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ConfigError, match="truncated or altered"):
        SimulationResults.load(tmp_path / "cut.npz")
    arrays["metadata"] = np.array([object()], dtype=object)
    with pytest.raises(ValueError, match="(?i)pickle"):
        save_npz_atomic(tmp_path / "p.npz", arrays)


def test_the_verification_cache_resumes_inside_a_simulation(tmp_path, monkeypatch) -> None:
    cache = SimulationCache(tmp_path / "cache")
    ctx = Context("L6", "quick", 0, cache=cache, quiet=True)
    sim = {"net": NET, "inputs": {"dataset": "gaussian", "input_dim": 12}, "num_sims": 12,
           "batch_size": 6}
    want = Context("L6", "quick", 0, cache=None, quiet=True).simulate(**sim)
    monkeypatch.setenv(executors.ENV_WORKERS, "1")  # the crash is injected in this process
    log = _crash_after(monkeypatch, 2)
    with pytest.raises(_Crash):
        ctx.simulate(**sim)
    assert len(list((tmp_path / "cache" / "partial").iterdir())) == 1
    monkeypatch.undo()
    monkeypatch.setenv(executors.ENV_WORKERS, "1")
    log = _crash_after(monkeypatch, 99)
    got = Context("L6", "quick", 0, cache=cache, quiet=True).simulate(**sim)
    assert len(log) >= 1 and log[0][0] > 0  # resumed, not restarted
    for k in want.arrays:
        assert got.arrays[k].tobytes() == want.arrays[k].tobytes(), k
    assert not any((tmp_path / "cache" / "partial").iterdir())


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "reports.cli", "simulate", "--architecture", "bn_ff",
            "--total-depth", "60", "--num-channels", "128", "--batch-size", "32",
            "--num-sims", "24", "--chunk-size", "2", "--workers", "1", "--quiet", *args]


@pytest.mark.slow
def test_sigkill_at_any_moment_then_resume_gives_the_same_file(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    want = tmp_path / "want.npz"
    subprocess.run(_cli("--out", str(want)), check=True, env=env, timeout=300)
    partial_seen = set()
    for k, delay in enumerate((0.0, 0.05, 0.4)):  # before, around and after the first chunks
        out = tmp_path / f"got{k}.npz"
        ck = out.with_name(out.name + ".partial")
        proc = subprocess.Popen(_cli("--out", str(out)), env=env)
        t_end = time.monotonic() + 120
        while time.monotonic() < t_end and proc.poll() is None:  # wait for `delay` s of work
            if (ck / MANIFEST).exists():
                time.sleep(delay)
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if ck.exists():
            partial_seen.add(k)
            r = subprocess.run(_cli("--out", str(out)), env=env, capture_output=True, text=True)
            assert r.returncode == 2 and "--resume" in r.stderr and out.exists() is False
        subprocess.run(_cli("--out", str(out), "--resume"), check=True, env=env, timeout=300)
        assert out.read_bytes() == want.read_bytes()
        assert not ck.exists()
    assert partial_seen, "no kill landed while the run was writing chunks"
