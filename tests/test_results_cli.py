"""Results storage (npz round trip, moments-dnns files, atomic writes) and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reports.cli import main
from simulate.errors import ConfigError
from simulate.experiments import run_experiment
from simulate.results import SimulationResults

MOMENTS = ("nu1_abs_signal", "nu2_signal", "mu2_signal", "mu4_signal", "mu2_noise",
           "reff_signal", "reff_noise", "chi")
LOCS = {"vanilla": 3, "bn_ff": 4, "bn_res": 5}


@pytest.fixture(scope="module")
def small() -> SimulationResults:
    return run_experiment("bn_ff", 10, 1, 32, 8, 3, dataset="gaussian", num_computations=5,
                          seed=1, quiet=True)


def test_npz_round_trip_without_pickle(small, tmp_path):
    f = small.save(tmp_path / "r.npz")
    with np.load(f, allow_pickle=False) as raw:
        assert json.loads(str(raw["metadata"]))["seed"] == 1
    assert f.stat().st_mode & 0o644 == 0o644  # readable like any file the user writes
    back = SimulationResults.load(f)
    assert back.keys() == small.keys()
    for k in small.keys():
        np.testing.assert_array_equal(back[k], small[k])
    np.testing.assert_array_equal(back.depth, small.depth)
    assert back.metadata["config"] == small.metadata["config"]


@pytest.mark.parametrize("arch", sorted(LOCS))
def test_moments_dnns_keys_and_shapes(arch):
    r = run_experiment(arch, 10, 1, 16, 4, 2, dataset="gaussian", num_computations=5, seed=0,
                       quiet=True)
    np.testing.assert_array_equal(r.depth, [2, 4, 6, 8, 10])
    assert r.res_depth == 2
    for loc in range(1, LOCS[arch] + 1):
        for m in MOMENTS:
            assert r[f"{m}_loc{loc}"].shape == (2, 5), f"{m}_loc{loc}"
    reff_loc = {"vanilla": 3, "bn_ff": 4, "bn_res": 3}[arch]
    assert np.all(r["reff_signal_loc1"] == -1)  # moments-dnns placeholder
    assert np.all(r[f"reff_signal_loc{reff_loc}"] >= 1)


def test_loader_reads_moments_dnns_files(tmp_path):
    # a file as moments-dnns writes it: np.savez of depth, res_depth and longdouble moments
    f = tmp_path / "bn_ff.npz"
    chi = np.exp(np.linspace(0, 5, 10, dtype=np.longdouble)).reshape(2, 5)
    np.savez(f, depth=np.arange(1, 6) * 2, res_depth=2, chi_loc4=chi, mu2_noise_loc4=chi**2,
             mu2_signal_loc4=np.ones((2, 5), dtype=np.longdouble))
    r = SimulationResults.load(f)
    assert r.metadata == {"source": "moments-dnns"}
    np.testing.assert_allclose(r.log_chi("loc4"), np.log(chi.astype(np.float64)))
    np.testing.assert_allclose(r["log_mu2_noise_loc4"], 2 * np.log(chi.astype(np.float64)))


def test_atomic_write_keeps_previous_file_on_failure(small, tmp_path, monkeypatch):
    f = small.save(tmp_path / "r.npz")
    before = f.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError):
        small.save(f)
    assert f.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]  # no temporary left behind


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        SimulationResults.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="not a readable"):
        SimulationResults.load(bad)


def test_cli_writes_compatible_file(tmp_path, capsys):
    out = tmp_path / "x.npz"
    code = main(["simulate", "--architecture", "bn_res", "--num-channels", "16", "--total-depth",
                 "10", "--res-depth", "2", "--batch-size", "4", "--num-sims", "2",
                 "--num-computations", "5", "--dataset", "gaussian", "--out", str(out)])
    assert code == 0
    with np.load(out, allow_pickle=False) as f:
        assert f["chi_loc5"].shape == (2, 5)
        assert int(f["res_depth"]) == 2
    assert "wrote" in capsys.readouterr().out


BAD = [
    (["--total-depth", "21"], "total_depth=21"),
    (["--num-channels", "0"], "num_channels=0"),
    (["--epsilon", "-1"], "epsilon=-1.0"),
    (["--batch-size", "1"], "batch_size=1"),
    (["--kernel-size", "2", "--boundary", "symmetric"], "kernel_size=2"),
    (["--kernel-size", "0"], "kernel_size=0"),
    (["--threads", "0"], "threads=0"),
    (["--dataset", "cifar10", "--data-dir", "/nonexistent"], "data_dir"),
    (["--out", "/proc/forbidden/x.npz"], "--out="),
]


@pytest.mark.parametrize("extra,needle", BAD)
def test_cli_bad_input_one_line_exit_2(extra, needle, capsys):
    base = {"--architecture": "bn_ff", "--num-channels": "8", "--total-depth": "20",
            "--batch-size": "4", "--num-sims": "1", "--num-computations": "4"}
    for i in range(0, len(extra), 2):
        base[extra[i]] = extra[i + 1]
    argv = ["simulate"] + [x for kv in base.items() for x in kv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert "Traceback" not in err[0]


def test_cli_unknown_architecture_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--architecture", "resnet", "--num-channels", "8", "--total-depth",
              "2", "--batch-size", "2", "--num-sims", "1"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_theory_catalog_command(capsys):
    assert main(["theory", "--list"]) == 0
    assert "id" in capsys.readouterr().out
