"""The ``eie-sim`` parser and :func:`main`: every command group adds its subcommands."""

from __future__ import annotations

import argparse
import sys

from .._version import __version__
from ..errors import EIEError
from . import model, rtl, simulate, sweep, train


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="eie-sim",
        description="Co-design toolkit for EIE-style sparse neural-network accelerators.",
    )
    ap.add_argument("--version", action="version", version=f"eie-sim {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for group in (model, simulate, train, sweep, rtl):
        group.add_parsers(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except EIEError as exc:
        print(f"eie-sim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
