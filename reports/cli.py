"""The ``dnn-moments`` command line: one subcommand per package.

``simulate`` (simulate/cli.py), ``theory``, ``verify`` (verify/cli.py) and ``report`` (the
theory-vs-simulation report, reports/report.py). Bad input prints one line naming the parameter
and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_BAD_INPUT = 2


def _theory_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("theory", help="list the derivations of every claim")
    p.add_argument("--list", action="store_true", help="print the catalog (default)")
    p.add_argument("--latex", metavar="CLAIM", help="print the LaTeX of one claim's derivation")
    add_claims_module_argument(p)
    p.set_defaults(func=_theory_main)


def add_claims_module_argument(p: argparse.ArgumentParser) -> None:
    """``--claims-module MODULE`` (repeatable): extension modules to import (docs/extending.md)."""
    p.add_argument("--claims-module", action="append", default=[], metavar="MODULE",
                   help="import MODULE (e.g. my_pkg.my_claims), which declares papers and "
                        "registers derivations and claims; repeatable; also "
                        "$DNN_MOMENTS_CLAIMS_MODULES and the dnn_moments.claims entry points")


def load_claims_modules(args: argparse.Namespace) -> None:
    """Import the extension modules named by ``--claims-module`` (and every other source)."""
    from theory import papers

    papers.add_extension_modules(getattr(args, "claims_module", None) or [])
    papers.load_extensions()


def _theory_main(args: argparse.Namespace) -> int:
    import theory

    load_claims_modules(args)
    if args.latex is not None:
        print(theory.get(args.latex).latex())
    else:
        print(theory.catalog())
    return 0


def _report_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="verify the claims and write the theory-vs-simulation report (HTML, Markdown, "
             "figures, JSON)",
        description="Run the registered claims (simulations cached on disk), then write into "
                    "DIR: index.html (one self-contained file), report.md with figures/ (PNG "
                    "and SVG) and results.json.",
    )
    # Values are validated in _report_main (not by argparse) so that bad input gives one line.
    p.add_argument("--fidelity", default="standard", metavar="{quick,standard,paper}",
                   help="simulation sizes (default standard)")
    p.add_argument("--claims", nargs="+", default=None, metavar="ID",
                   help="claim ids or paper prefixes, comma- or space-separated (e.g. L6,S4 or "
                        "Y); default: all registered claims plus the describe-only context")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (default reports/out/)")
    p.add_argument("--seed", default="0", metavar="N", help="run seed, an integer >= 0 "
                   "(default 0)")
    p.add_argument("--compare", nargs="+", action="extend", default=[], metavar="FILE.npz",
                   help="results files (moments-dnns format, or written by dnn-moments "
                        "simulate) to overlay on matching figures and plot in a 'Compared "
                        "runs' section")
    p.add_argument("--cache-dir", default=None,
                   help="simulation cache (default $DNN_MOMENTS_CACHE_DIR or "
                        "./.dnn-moments-cache)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--workers", type=int, default=None,
                   help="processes the simulations run on (default: every core, or "
                        "$DNN_MOMENTS_WORKERS; results identical)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the simulations on the Dask cluster of this scheduler (default "
                        "$DNN_MOMENTS_SCHEDULER; results identical)")
    from simulate.cli import add_device_arguments

    add_device_arguments(p)
    add_claims_module_argument(p)
    p.set_defaults(func=_report_main)


def _report_main(args: argparse.Namespace) -> int:
    from reports.report import DEFAULT_OUT, build_report
    from verify.cache import SimulationCache
    from verify.registry import check_fidelity

    check_fidelity(args.fidelity)
    load_claims_modules(args)
    try:
        seed = int(args.seed)
    except ValueError:
        seed = -1
    if seed < 0:
        raise ValueError(f"seed={args.seed!r} is not allowed; it must be an integer >= 0")
    from simulate.cli import set_default_device
    from simulate.executors import set_default_scheduler, set_default_workers

    set_default_workers(args.workers)
    set_default_scheduler(args.scheduler)
    set_default_device(args.device)
    claims = ",".join(args.claims) if args.claims else None
    cache = None if args.no_cache else SimulationCache(args.cache_dir)
    # Exit 0 once the report is written, whatever the verdicts (`dnn-moments verify` gates).
    index = build_report(args.fidelity, claims, args.out or DEFAULT_OUT, seed, cache=cache,
                         compare=args.compare)
    print(index)
    return 0


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (``<prog>: error: ...``,
    naming the argument), exit status 2; ``-h`` still prints the full usage. Subcommand
    parsers inherit it (``add_subparsers`` uses the parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dnn-moments`` with every subcommand."""
    from simulate import cli as simulate_cli
    from verify import cli as verify_cli

    parser = OneLineErrorParser(
        prog="dnn-moments",
        description="Checked claims about deep networks at random initialization.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    simulate_cli.add_parser(sub)
    _theory_parser(sub)
    verify_cli.add_parser(sub)
    _report_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dnn-moments`` console script."""
    from simulate.errors import ConfigError, SimulationError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, ValueError, KeyError, OSError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"dnn-moments {args.command}: error: {msg}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SimulationError as exc:
        print(f"dnn-moments {args.command}: simulation failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dnn-moments: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
