"""The ``dnn-moments`` command line: one subcommand per package.

``simulate`` (simulate/cli.py) and ``theory`` are available; ``verify`` and ``report`` join
as their packages land. Bad input prints one line naming the parameter and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

EXIT_BAD_INPUT = 2


def _theory_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("theory", help="list the derivations of every claim")
    p.add_argument("--list", action="store_true", help="print the catalog (default)")
    p.add_argument("--latex", metavar="CLAIM", help="print the LaTeX of one claim's derivation")
    p.set_defaults(func=_theory_main)


def _theory_main(args: argparse.Namespace) -> int:
    import theory

    if args.latex:
        print(theory.get(args.latex).latex())
    else:
        print(theory.catalog())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dnn-moments`` with every subcommand."""
    from simulate import cli as simulate_cli

    parser = argparse.ArgumentParser(
        prog="dnn-moments",
        description="Checked claims about deep networks at random initialization.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    simulate_cli.add_parser(sub)
    _theory_parser(sub)
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
