"""``dnn-moments simulate``: moments-dnns experiments from the command line."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from simulate.checkpoint import remove_checkpoint
from simulate.engine import DEVICES, ENV_DEVICE, PRECISIONS
from simulate.errors import ConfigError, check_choice
from simulate.experiments import run_experiment, summary_table
from simulate.inputs import DATASETS
from simulate.results import check_writable
from simulate.spec import ARCHITECTURES, BOUNDARIES


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``simulate`` subcommand (flags mirror moments-dnns' run_experiment)."""
    p = sub.add_parser(
        "simulate",
        help="run a moments-dnns experiment (vanilla, bn_ff, bn_res) and write a .npz",
        description="Propagate signal and noise through random networks; record moments-dnns "
        "moments at every loc. Output keys and shapes match moments-dnns.",
    )
    p.add_argument("--architecture", required=True, choices=ARCHITECTURES)
    p.add_argument("--total-depth", type=int, required=True,
                   help="layers (bn_res: residual units)")
    p.add_argument("--kernel-size", type=int, default=1,
                   help="1 = fully connected (default); k > 1 = k x k convolutions on 32x32 "
                   "images (CIFAR-10/MNIST at their native sizes) after a stride-2 stem")
    p.add_argument("--num-channels", type=int, required=True, help="width N")
    p.add_argument("--batch-size", type=int, required=True, help="inputs per simulation B")
    p.add_argument("--num-sims", type=int, required=True, help="independent simulations")
    p.add_argument("--dataset", default="gaussian", choices=DATASETS,
                   help="inputs (default gaussian; cifar10/mnist need local files)")
    p.add_argument("--data-dir", default=None,
                   help="folder with CIFAR-10/MNIST files (else $DNN_MOMENTS_DATA_DIR)")
    p.add_argument("--boundary", default="periodic", choices=BOUNDARIES,
                   help="convolution boundary (only relevant for kernel_size > 1)")
    p.add_argument("--epsilon", type=float, default=1e-3, help="batch-norm fuzz factor")
    p.add_argument("--res-depth", type=int, default=2, help="layers per residual unit")
    p.add_argument("--num-computations", type=int, default=None,
                   help="number of measured depths (must divide total depth; default 100, "
                   "or every layer when the depth is below 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-reff-signal", action="store_true", help="skip r_eff of the signal")
    p.add_argument("--no-reff-noise", action="store_true", help="skip r_eff of the noise")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--path", default="auto", choices=("auto", "dense", "fast"),
                   help="dense-layer algorithm (auto picks the cheaper exact one)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for convolutions (default: every core; results identical)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes the simulations run on (default: every core, or "
                        "$DNN_MOMENTS_WORKERS; results identical)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on the Dask cluster of this scheduler (e.g. tcp://host:8786; "
                        "default $DNN_MOMENTS_SCHEDULER; results identical)")
    add_device_arguments(p, precision=True)
    p.add_argument("--out", default=None, help="output .npz path; finished chunks of "
                   "simulations are kept in OUT.partial/ until it is written")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run of --out from OUT.partial/ (same "
                        "configuration; finished chunks are not recomputed)")
    p.add_argument("--chunk-size", type=int, default=None,
                   help="simulations per checkpointed chunk (default: num_sims / (4 x "
                        "workers), 1 to 64)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=main)
    return p


def add_device_arguments(p: argparse.ArgumentParser, precision: bool = False) -> None:
    """``--device`` (and ``--precision``) of the ``simulate``, ``verify`` and ``report``
    commands."""
    p.add_argument("--device", default=None, choices=DEVICES,
                   help="where the simulations run: cpu (default, or $DNN_MOMENTS_DEVICE), "
                        "cuda (the stacked engine on a GPU; needs the [gpu] extra), numpy (the "
                        "same stacked engine on numpy, the CPU reference of the GPU path)")
    if precision:
        p.add_argument("--precision", default="float32", choices=PRECISIONS,
                       help="float32 products (default) or tf32 (TensorFloat-32; cuda only)")


def set_default_device(device: str | None) -> None:
    """Make ``device`` the default `EngineOptions.device` of this process and its children
    (``$DNN_MOMENTS_DEVICE``; options that the stacked engine does not support keep the CPU);
    ``cuda`` is started here, so a missing GPU or CuPy is one line before any work."""
    if device is None:
        return
    check_choice("device", device, DEVICES)
    if device == "cuda":
        from simulate.backend import cuda_backend

        cuda_backend()
    os.environ[ENV_DEVICE] = device


def checkpoint_dir(out: str | os.PathLike) -> Path:
    """The checkpoint folder of output file ``out``: ``<out>.partial``."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def main(args: argparse.Namespace) -> int:
    """Run the experiment described by ``args``; print a summary; write ``--out``."""
    if args.out is not None:
        check_writable(args.out, "--out")  # fail before computing anything
    elif args.resume:
        raise ConfigError("--resume needs --out (the file whose interrupted run to continue)")
    res = run_experiment(
        architecture=args.architecture, total_depth=args.total_depth,
        kernel_size=args.kernel_size, num_channels=args.num_channels,
        batch_size=args.batch_size, num_sims=args.num_sims, boundary=args.boundary,
        dataset=args.dataset, epsilon=args.epsilon, res_depth=args.res_depth,
        num_computations=(args.num_computations if args.num_computations is not None
                          else min(100, args.total_depth)), seed=args.seed,
        compute_reff_signal=not args.no_reff_signal, compute_reff_noise=not args.no_reff_noise,
        data_dir=args.data_dir, quiet=args.quiet, dtype=args.dtype, path=args.path,
        threads=args.threads, workers=args.workers, scheduler=args.scheduler,
        checkpoint=None if args.out is None else checkpoint_dir(args.out), resume=args.resume,
        chunk_size=args.chunk_size, keep_checkpoint=True,
        device=args.device, precision=args.precision,
    )
    if args.out is not None:
        res.save(args.out)
        remove_checkpoint(checkpoint_dir(args.out))  # only now that the file is written
    if not args.quiet:
        meta = res.metadata
        print(f"{args.architecture}: width {args.num_channels}, depth {args.total_depth}, "
              f"batch {args.batch_size}, {res.num_sims} sims on {args.dataset} inputs; "
              f"{meta['run']['seconds_per_sim']:.3f} s per simulation"
              + (f" ({meta['run']['resumed_simulations']} read back from the checkpoint)"
                 if meta["run"]["resumed_simulations"] else ""))
        print(summary_table(res))
        if args.out is not None:
            print(f"wrote {args.out}")
    return 0

