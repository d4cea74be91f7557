"""``dnn-moments simulate``: moments-dnns experiments from the command line."""

from __future__ import annotations

import argparse

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
    p.add_argument("--out", default=None, help="output .npz path")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    """Run the experiment described by ``args``; print a summary; write ``--out``."""
    if args.out is not None:
        check_writable(args.out, "--out")  # fail before computing anything
    res = run_experiment(
        architecture=args.architecture, total_depth=args.total_depth,
        kernel_size=args.kernel_size, num_channels=args.num_channels,
        batch_size=args.batch_size, num_sims=args.num_sims, boundary=args.boundary,
        dataset=args.dataset, epsilon=args.epsilon, res_depth=args.res_depth,
        num_computations=(args.num_computations if args.num_computations is not None
                          else min(100, args.total_depth)), seed=args.seed,
        compute_reff_signal=not args.no_reff_signal, compute_reff_noise=not args.no_reff_noise,
        data_dir=args.data_dir, quiet=args.quiet, dtype=args.dtype, path=args.path,
        threads=args.threads, workers=args.workers,
    )
    if args.out is not None:
        res.save(args.out)
    if not args.quiet:
        meta = res.metadata
        print(f"{args.architecture}: width {args.num_channels}, depth {args.total_depth}, "
              f"batch {args.batch_size}, {res.num_sims} sims on {args.dataset} inputs; "
              f"{meta['seconds_per_sim']:.3f} s per simulation")
        print(summary_table(res))
        if args.out is not None:
            print(f"wrote {args.out}")
    return 0

