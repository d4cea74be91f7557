"""Experiments: many independent simulations of one network configuration.

`run_experiment` mirrors moments-dnns' ``run_experiment`` (same parameters, same result keys);
`run_network` runs any `simulate.spec.Network` on any inputs.

Randomness. Simulation ``i`` of an experiment with seed ``s`` draws everything from
``SeedSequence(s, spawn_key=(i, k))``: ``k = 0`` inputs and input noise (numpy Generator),
``k = 1`` weights, ``k = 2`` the backward cotangent (counter-based `GaussianStream`). Results
therefore depend only on ``(s, i)``, never on thread counts or on how simulations are split
across workers.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from simulate import spec as specs
from simulate.checkpoint import Checkpoint
from simulate.engine import EngineOptions, Propagator
from simulate.errors import ConfigError, check_choice, check_nonnegative, check_positive_int
from simulate.executors import (  # noqa: F401 - simulation_seeds: public name kept here too
    check_workers,
    default_workers,
    resolve_executor,
    run_simulations,
    simulation_seeds,
)
from simulate.inputs import DATASETS, InputSource, make_input_source
from simulate.results import SimulationResults


def package_version() -> str:
    """Installed version of dnn-moments (``"unknown"`` when running from a bare checkout)."""
    try:
        from importlib.metadata import version

        return version("dnn-moments")
    except Exception:  # noqa: BLE001 - metadata missing in a bare checkout
        return "unknown"


def run_network(
    net: specs.Network,
    inputs: InputSource | np.ndarray,
    *,
    batch_size: int | None = None,
    num_sims: int = 1,
    seed: int = 0,
    options: EngineOptions | None = None,
    quiet: bool = False,
    config: dict[str, Any] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    keep_checkpoint: bool = False,
) -> SimulationResults:
    """Run ``num_sims`` independent simulations of ``net``.

    Where they run (`simulate.executors.resolve_executor`; the arrays are byte-identical for
    every choice): ``client``, a ``dask.distributed.Client``; else ``scheduler``, the address of
    a Dask scheduler (default ``$DNN_MOMENTS_SCHEDULER``); else ``workers`` local processes
    (default `default_workers`: every core, or ``$DNN_MOMENTS_WORKERS``).

    checkpoint: a folder where finished chunks of ``chunk_size`` simulations are written as they
        finish (`simulate.checkpoint`); it is removed once the results are assembled, unless
        ``keep_checkpoint`` (a caller that saves the results removes it after saving them:
        `simulate.checkpoint.remove_checkpoint`).
    resume: continue the run found in ``checkpoint`` (same configuration, else a ConfigError
        naming what differs); finished chunks are read back, not recomputed.
    chunk_size: simulations per checkpoint chunk (default: ``num_sims / (4 x slots)``, at least
        1 and at most 64).

    inputs: an `InputSource` (a fresh batch of ``batch_size`` inputs per simulation) or a fixed
        array used as-is in every simulation (e.g. two inputs for correlations): ``(B, D)``
        for a fully-connected network, ``(B, H, W, C)`` images for a convolutional one.
    Returns per-block arrays ``(num_sims, num_computations)`` under ``<quantity>_<loc>`` plus the
    derived ``mu2_noise``, ``chi``, ``log_chi`` keys (``chi = sqrt(mu2(dx) / mu2(x))``, relative
    to unit input SNR: inputs are standardised and the input noise has unit variance).
    """
    options = options or EngineOptions()
    num_sims = check_positive_int("num_sims", num_sims)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed={seed!r} is not allowed; it must be an integer >= 0")
    conv_net = net.is_convolutional
    want = "(B, H, W, C) images" if conv_net else "(B, D) vectors"
    if isinstance(inputs, np.ndarray):
        if inputs.ndim != (4 if conv_net else 2) or inputs.shape[0] < 1:
            raise ConfigError(f"inputs has shape {inputs.shape}; a fixed batch for network "
                              f"'{net.name}' must be {want}")
        batch_size = inputs.shape[0]
    else:
        batch_size = check_positive_int("batch_size", batch_size)
        if len(inputs.shape) != (3 if conv_net else 1):
            raise ConfigError(
                f"inputs of shape {inputs.shape} are not allowed for network '{net.name}'; it "
                f"needs {want}: use kernel_size={'3' if conv_net else '1'} for the input source"
            )
    if net.uses_batchnorm and batch_size < 2:
        raise ConfigError(
            f"batch_size={batch_size} is not allowed with batch norm; it must be >= 2"
        )
    if workers is not None:
        check_workers(workers)
    if not isinstance(resume, bool):
        raise ConfigError(f"resume={resume!r} is not allowed; it must be True or False")
    if resume and checkpoint is None:
        raise ConfigError("resume=True needs checkpoint=<folder> (the run to continue)")
    if options.device == "cpu":
        prop = Propagator(net, options)  # validates here, before any work; runs the serial path
    else:
        from simulate.stacked import StackedPropagator

        prop = StackedPropagator(net, options)  # starts the backend: a missing GPU fails here
    executor = resolve_executor(workers, scheduler, client, options.device)
    ckpt = None
    if checkpoint is not None:
        if chunk_size is None:
            chunk_size = min(64, max(1, -(-num_sims // (4 * executor.slots))))
        ckpt = Checkpoint(checkpoint, _run_identity(net, inputs, batch_size, num_sims, seed,
                                                    options), num_sims,
                          check_positive_int("chunk_size", chunk_size), resume=resume,
                          version=package_version())
        for bad in ckpt.corrupted:
            print(f"dnn-moments: checkpoint chunk {bad} failed verification; recomputing it",
                  file=sys.stderr)
    t0 = time.perf_counter()
    with tqdm(total=num_sims, desc=f"{net.name}", unit="sim", disable=quiet, delay=1.0,
              file=sys.stderr, leave=False) as bar:
        per_block, scalars, path_counts, work = run_simulations(
            net, inputs, batch_size, num_sims, int(seed), options, executor,
            on_done=bar.update, prop=prop, checkpoint=ckpt)
    elapsed = time.perf_counter() - t0
    arrays: dict[str, np.ndarray] = {k: np.stack(v) for k, v in per_block.items()}
    arrays.update({k: np.asarray(v, dtype=np.float64) for k, v in scalars.items()})
    _derive_noise_quantities(arrays)
    depth = np.asarray(net.measured_blocks, dtype=np.int64)
    metadata = {
        "network": net.to_dict(),
        "options": {
            "tangent": options.tangent, "backward": options.backward, "path": options.path,
            "dtype": options.dtype, "families": list(options.families),
            "compute_reff_signal": options.compute_reff_signal,
            "compute_reff_noise": options.compute_reff_noise,
            "threads": prop.threads if conv_net else 1,
            "device": options.device, "precision": options.precision,
            **({"device_name": prop.backend.device} if options.device != "cpu" else {}),
        },
        "inputs": "fixed array" if isinstance(inputs, np.ndarray) else inputs.name,
        "batch_size": batch_size,
        "num_sims": num_sims,
        "seed": int(seed),
        "config": config or {},
        "package": "dnn-moments",
        "version": package_version(),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "dense_layers_by_path": {k: int(path_counts.get(k, 0)) for k in prop.path_counts},
        "normal_draws": int(work.get("normal_draws", 0)),
        "flops": int(work.get("flops", 0)),
        "run": {  # differs from run to run; kept in memory, not written to the .npz
            "seconds": elapsed, "seconds_per_sim": elapsed / num_sims,
            "executor": executor.name, "workers": min(executor.slots, num_sims),
            "resumed_simulations": 0 if ckpt is None else int(sum(
                b - a for i, (a, b) in enumerate(ckpt.bounds) if i in ckpt.resumed)),
        },
    }
    res = SimulationResults(arrays, depth, net.res_depth, metadata)
    if ckpt is not None and not keep_checkpoint:
        ckpt.remove()
    return res


def _run_identity(net: specs.Network, inputs: InputSource | np.ndarray, batch_size: int,
                  num_sims: int, seed: int, options: EngineOptions) -> dict[str, Any]:
    """Everything the arrays of a run depend on (what a checkpoint must match to resume)."""
    if isinstance(inputs, np.ndarray):
        in_desc: Any = {"fixed": hashlib.sha256(np.ascontiguousarray(inputs)).hexdigest(),
                        "shape": list(inputs.shape), "dtype": inputs.dtype.str}
    else:  # the source's recipe (pickles of sources are their recipes: `simulate.inputs`)
        in_desc = {"name": inputs.name, "shape": list(inputs.shape),
                   "recipe": hashlib.sha256(pickle.dumps(inputs, protocol=5)).hexdigest()}
    return {"network": net.to_dict(), "inputs": in_desc, "batch_size": int(batch_size),
            "num_sims": int(num_sims), "seed": int(seed), "options": options.identity(),
            "version": package_version()}


def _derive_noise_quantities(arrays: dict[str, np.ndarray]) -> None:
    """Add ``mu2_noise``, ``log_chi`` and ``chi`` for every loc with a tangent record.

    ``chi^l = sqrt(SNR^0 / SNR^l)`` with ``SNR = mu2(x) / mu2(dx)`` and ``SNR^0`` measured on the
    actual standardised input batch and input noise draw (moments-dnns takes the nominal value
    1; the two differ by ``O((B D)^(-1/2))``). ``chi`` is thus invariant to the noise scale.
    """
    log_snr0 = 0.0
    if "log_mu2_noise_input" in arrays:
        log_snr0 = (np.log(arrays["mu2_signal_input"]) - arrays["log_mu2_noise_input"])[:, None]
    for key in [k for k in arrays if k.startswith("log_mu2_noise_")
                and not k.endswith("_input")]:
        loc = key[len("log_mu2_noise_"):]
        log_mu2 = arrays[key]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            arrays[f"mu2_noise_{loc}"] = np.exp(log_mu2)
            log_chi = 0.5 * (log_mu2 - np.log(arrays[f"mu2_signal_{loc}"]) + log_snr0)
            arrays[f"log_chi_{loc}"] = log_chi
            arrays[f"chi_{loc}"] = np.exp(log_chi)


def run_experiment(
    architecture: str,
    total_depth: int,
    kernel_size: int,
    num_channels: int,
    batch_size: int,
    num_sims: int,
    boundary: str = "periodic",
    dataset: str = "cifar10",
    epsilon: float = 0.001,
    res_depth: int = 2,
    num_computations: int = 100,
    seed: int = 0,
    compute_reff_signal: bool = True,
    compute_reff_noise: bool = True,
    *,
    data_dir: str | os.PathLike | None = None,
    quiet: bool = False,
    dtype: str = "float32",
    path: str = "auto",
    families: Sequence[str] = ("moments",),
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    keep_checkpoint: bool = False,
    device: str | None = None,
    precision: str = "float32",
) -> SimulationResults:
    """moments-dnns' ``run_experiment``: same parameters, same result keys and shapes.

    architecture: ``vanilla``, ``bn_ff`` or ``bn_res``; total_depth: layers (``bn_res``: units);
    kernel_size: 1 (fully connected, flattened inputs) or the ``k x k`` convolution size (NHWC
    images, LeCun stride-2 stem); num_channels: width N; batch_size: B inputs per simulation;
    num_sims: independent simulations; boundary: ``periodic``, ``symmetric`` or
    ``zero_padding`` (convolutions only, `simulate.spec.Conv`); dataset: ``cifar10``,
    ``mnist`` (local files via ``data_dir`` or
    ``DNN_MOMENTS_DATA_DIR``), or the embedded ``gaussian``, ``correlated``, ``natural``;
    epsilon: batch-norm fuzz factor; res_depth: layers per residual unit; num_computations:
    measurements, every ``total_depth // num_computations`` layers; seed: seeds everything
    (moments-dnns ``numpy_seed``); compute_reff_signal / compute_reff_noise: effective ranks;
    threads: threads for the convolution products (``None``: every core; results do not
    depend on it).
    device, precision: `EngineOptions` (``"cuda"``: the stacked engine on a GPU).
    workers, scheduler, client, checkpoint, resume, chunk_size, keep_checkpoint: where the
        simulations run and where finished chunks are kept, as in `run_network` (results do
        not depend on them)
    """
    check_choice("architecture", architecture, specs.ARCHITECTURES)
    check_choice("dataset", dataset, DATASETS)
    check_choice("boundary", boundary, ("periodic", "symmetric", "zero_padding"))
    total_depth = check_positive_int("total_depth", total_depth)
    num_channels = check_positive_int("num_channels", num_channels)
    batch_size = check_positive_int("batch_size", batch_size)
    num_sims = check_positive_int("num_sims", num_sims)
    num_computations = check_positive_int("num_computations", num_computations)
    res_depth = check_positive_int("res_depth", res_depth)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    epsilon = check_nonnegative("epsilon", epsilon)
    if total_depth % num_computations:
        raise ConfigError(
            f"total_depth={total_depth} is not allowed with num_computations={num_computations}; "
            "total_depth must be a multiple of num_computations"
        )
    if architecture in ("bn_ff", "bn_res") and batch_size < 2:
        raise ConfigError(f"batch_size={batch_size} is not allowed with batch norm "
                          f"(architecture={architecture!r}); it must be >= 2")
    every = total_depth // num_computations
    geometry = {"kernel_size": kernel_size, "boundary": boundary}
    if architecture == "vanilla":
        net = specs.vanilla(num_channels, total_depth, every, **geometry)
    elif architecture == "bn_ff":
        net = specs.bn_ff(num_channels, total_depth, epsilon, every, **geometry)
    else:
        net = specs.bn_res(num_channels, total_depth, res_depth, epsilon, every, **geometry)
    source = make_input_source(dataset, kernel_size=kernel_size, data_dir=data_dir)
    options = EngineOptions(path=path, dtype=dtype, families=tuple(families),
                            compute_reff_signal=compute_reff_signal,
                            compute_reff_noise=compute_reff_noise, threads=threads,
                            device=device, precision=precision)
    config = {
        "architecture": architecture, "total_depth": total_depth, "kernel_size": kernel_size,
        "num_channels": num_channels, "batch_size": batch_size, "num_sims": num_sims,
        "boundary": boundary, "dataset": dataset, "epsilon": epsilon, "res_depth": res_depth,
        "num_computations": num_computations, "seed": seed,
        "compute_reff_signal": compute_reff_signal, "compute_reff_noise": compute_reff_noise,
        "data_dir": None if data_dir is None else str(data_dir),
    }
    res = run_network(net, source, batch_size=batch_size, num_sims=num_sims, seed=seed,
                      workers=workers, scheduler=scheduler, client=client,
                      checkpoint=checkpoint, resume=resume, chunk_size=chunk_size,
                      keep_checkpoint=keep_checkpoint, options=options, quiet=quiet, config=config)
    if architecture != "bn_res":
        res = res.replace(res_depth=res_depth)  # moments-dnns stores res_depth for every run
    return res


def summary_table(res: SimulationResults, locs: Sequence[str] | None = None,
                  at: Sequence[int] | None = None) -> str:
    """Plain-text table of sim means (and 16–84% bands) of key moments at a few depths."""
    locs = list(locs or res.locs)
    depth = np.asarray(res.depth)
    if at is None:
        idx = sorted({0, len(depth) // 4, len(depth) // 2, len(depth) - 1})
    else:
        idx = [int(np.searchsorted(depth, a)) for a in at]
    cols = [("log chi", "log_chi_"), ("mu2(x)", "mu2_signal_"), ("nu1(|x|)", "nu1_abs_signal_"),
            ("mu4(x)", "mu4_signal_"), ("reff(x)", "reff_signal_"), ("reff(dx)", "reff_noise_")]
    lines = [f"{'depth':>6} {'loc':>5} " + " ".join(f"{c[0]:>22}" for c in cols)]
    for i in idx:
        for loc in locs:
            cells = []
            for _, pre in cols:
                k = pre + loc
                if k not in res.arrays or np.all(res.arrays[k][:, i] == -1):
                    cells.append(f"{'':>22}")
                    continue
                v = res.arrays[k][:, i]
                lo, hi = np.percentile(v, [16, 84])
                cells.append(f"{np.mean(v):>9.4g} [{lo:.3g},{hi:.3g}]".rjust(22))
            lines.append(f"{depth[i]:>6} {loc:>5} " + " ".join(cells))
    return "\n".join(lines)


__all__ = ["run_experiment", "run_network", "summary_table", "simulation_seeds"]
