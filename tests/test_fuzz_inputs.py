"""Bad input, fuzzed: hypothesis drives the CLI and the Python entry points with random
arguments and random configuration JSON.

Every rejection must be one line on stderr with exit status 2 (CLI) or a `ConfigError` (Python),
never a traceback or another exception, and never a partial output file. Accepted inputs are
kept tiny (depth <= 3, width <= 4, <= 2 simulations) so each example runs in milliseconds.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.cli import main as cli_main
from simulate import spec
from simulate.errors import ConfigError
from simulate.experiments import run_experiment, run_network
from simulate.inputs import make_input_source

SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

JUNK = st.sampled_from(["", "x", "-", "1.5", "nan", "inf", "-inf", "1e999", "--", "2x",
                        "None", "[]", "{}", "\u00e9", " 3"])
SMALL_INT = st.integers(-2, 4).map(str)


def _opt(name: str, valid: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """``[]`` (option left out), ``[name, value]`` with a valid or junk value, or ``[name]``."""
    return st.one_of(st.just([]), st.tuples(st.just(name), st.one_of(valid, JUNK)).map(list),
                     st.just([name]))


SIMULATE_ARGS = st.tuples(
    _opt("--architecture", st.sampled_from(["vanilla", "bn_ff", "bn_res"])),
    _opt("--total-depth", st.integers(-1, 3).map(str)),
    _opt("--kernel-size", st.sampled_from(["1", "3", "0", "2", "-3"])),
    _opt("--num-channels", SMALL_INT),
    _opt("--batch-size", SMALL_INT),
    _opt("--num-sims", st.integers(-1, 2).map(str)),
    _opt("--dataset", st.sampled_from(["gaussian", "natural", "correlated", "cifar10",
                                       "mnist", "imagenet"])),
    _opt("--boundary", st.sampled_from(["periodic", "symmetric", "zero_padding", "mirror"])),
    _opt("--epsilon", st.sampled_from(["0.001", "0", "-1", "nan", "1e300"])),
    _opt("--res-depth", st.integers(-1, 2).map(str)),
    _opt("--num-computations", st.integers(-1, 3).map(str)),
    _opt("--seed", st.sampled_from(["0", "7", "-1", "18446744073709551617"])),
    _opt("--dtype", st.sampled_from(["float32", "float64", "float16"])),
    _opt("--path", st.sampled_from(["auto", "dense", "fast", "gpu"])),
    _opt("--workers", st.sampled_from(["1", "0", "-1"])),
    _opt("--chunk-size", st.sampled_from(["1", "0", "-2"])),
    st.sampled_from([[], ["--resume"], ["--no-reff-signal"], ["--quiet"]]),
)


def _one_line_error(err: str) -> bool:
    lines = [x for x in err.splitlines() if x.strip()]
    return len(lines) == 1 and "Traceback" not in err and "error" in lines[0]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = cli_main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


@SETTINGS
@given(parts=SIMULATE_ARGS, with_out=st.booleans())
def test_simulate_cli_rejects_in_one_line(parts, with_out, capsys, tmp_path_factory) -> None:
    out = tmp_path_factory.mktemp("fuzz") / "r.npz"
    argv = ["simulate", "--workers", "1", *[a for p in parts for a in p]]
    if with_out:
        argv += ["--out", str(out)]
    code, err = _run(argv, capsys)
    if code == 0:
        assert not with_out or out.exists()
        return
    assert code == 2, (argv, code, err)
    assert _one_line_error(err), (argv, err)
    assert not out.exists(), argv
    assert not out.with_name(out.name + ".partial").exists() or "--resume" not in argv, argv


@SETTINGS
@given(sub=st.sampled_from(["verify", "report"]),
       bad=st.sampled_from(["fidelity", "seed", "claims", "workers", "scheduler", "unknown"]),
       junk=JUNK, extra=st.sampled_from([[], ["--no-cache"], ["--claims", "L6"]]))
def test_verify_and_report_reject_in_one_line(sub, bad, junk, extra, capsys,
                                              tmp_path_factory) -> None:
    out = tmp_path_factory.mktemp("fuzz") / "report"
    argv = [sub, *extra]
    if bad == "fidelity":
        argv += ["--fidelity", junk or "fast"]
    elif bad == "seed":
        argv += ["--seed", junk if junk not in (" 3",) else "-3"]
    elif bad == "claims":
        argv += ["--claims", "Q99," + junk]
    elif bad == "workers":
        argv += ["--workers", junk if junk != " 3" else "0"]
    elif bad == "scheduler":
        argv += ["--scheduler", " "]
    else:
        argv += ["--bogus-option", junk]
    if sub == "report":
        argv += ["--out", str(out)]
    code, err = _run(argv, capsys)
    assert code == 2, (argv, code, err)
    assert _one_line_error(err), (argv, err)
    assert not out.exists(), argv


@SETTINGS
@given(latex=st.one_of(JUNK, st.sampled_from(["L99", "l6", "S", "Y10", "LL1"])))
def test_theory_rejects_unknown_claims_in_one_line(latex, capsys) -> None:
    code, err = _run(["theory", "--latex", latex], capsys)
    assert code == 2 and _one_line_error(err), (latex, err)


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 5),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
                   st.lists(st.integers(-1, 3), max_size=3))


@SETTINGS
@given(kw=st.fixed_dictionaries({}, optional={
    "architecture": st.one_of(st.sampled_from(["vanilla", "bn_ff", "bn_res"]), VALUES),
    "total_depth": VALUES, "kernel_size": st.one_of(st.sampled_from([1, 3]), VALUES),
    "num_channels": VALUES, "batch_size": VALUES, "num_sims": st.one_of(st.just(1), VALUES),
    "boundary": VALUES, "dataset": st.one_of(st.just("gaussian"), VALUES), "epsilon": VALUES,
    "res_depth": VALUES, "num_computations": VALUES, "seed": VALUES, "workers": VALUES,
    "dtype": VALUES, "path": VALUES}))
def test_run_experiment_raises_only_config_errors(kw) -> None:
    base = {"architecture": "vanilla", "total_depth": 2, "kernel_size": 1, "num_channels": 3,
            "batch_size": 2, "num_sims": 1, "num_computations": 1, "workers": 1, "quiet": True}
    args = {**base, **kw}
    for k in ("total_depth", "num_channels", "batch_size", "num_sims"):  # keep accepted runs tiny
        if isinstance(args[k], int) and not isinstance(args[k], bool) and args[k] > 4:
            args[k] = 4
    try:
        res = run_experiment(**args)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    assert all(np.isfinite(v).all() or k.startswith(("reff", "log_", "chi", "mu2_noise"))
               for k, v in res.arrays.items())


LAYER = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["dense", "conv", "batchnorm", "activation", "measure",
                                        "residual"]), VALUES)},
    optional={"width": VALUES, "weight_var": VALUES, "bias_var": VALUES, "name": VALUES,
              "kernel_size": VALUES, "boundary": VALUES, "channels": VALUES, "stride": VALUES,
              "epsilon": VALUES, "activation": VALUES, "loc": VALUES, "branch": VALUES,
              "bogus": VALUES})
JSONISH = st.recursive(VALUES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=3),
                                                                       inner, max_size=3)),
                       max_leaves=6)


@SETTINGS
@given(d=st.one_of(
    JSONISH,
    st.fixed_dictionaries({"block": st.one_of(st.lists(LAYER, max_size=3), VALUES),
                           "depth": VALUES},
                          optional={"stem": st.one_of(LAYER, st.none()), "measure_every": VALUES,
                                    "res_depth": VALUES, "name": VALUES, "extra": VALUES})))
def test_network_from_random_configuration_json(d) -> None:
    try:
        text = json.dumps(d)
    except ValueError:  # pragma: no cover - hypothesis values are JSON-encodable
        return
    try:
        net = spec.Network.from_json(text)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    # accepted: it round-trips, and simulating it either works or is a ConfigError
    assert spec.Network.from_json(net.to_json()) == net
    if net.depth > 4 or any(isinstance(getattr(x, "width", 1), int) and getattr(x, "width", 1)
                            > 8 for x in spec.walk(net.block)):
        return
    src = make_input_source("gaussian", input_dim=3) if not net.is_convolutional else \
        make_input_source("natural", kernel_size=3, image_size=8)
    try:
        run_network(net, src, batch_size=2, num_sims=1, workers=1, quiet=True)
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_json_loading_refuses_garbage() -> None:
    for text in ("{", "[1, 2", "nan", ""):
        with pytest.raises(ConfigError, match="network"):
            spec.Network.from_json(text)
