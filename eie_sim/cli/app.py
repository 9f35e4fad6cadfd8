"""The ``eie-sim`` parser and :func:`main`: every command group adds its subcommands.

:func:`main` is the one error boundary of the command line: a bad argument, a bad file or an
expected failure (an :class:`~eie_sim.errors.EIEError`, a file that cannot be read or written,
memory that cannot be had) ends in one line on stderr and exit code 2, never a traceback; a
closed pipe (``eie-sim bench | head``) ends quietly; Ctrl-C ends with code 130.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys

from .._version import __version__
from ..budget import format_bytes, memory_budget_bytes
from ..errors import EIEError
from ..progress import set_quiet
from . import codesign, model, onnx, rtl, simulate, sweep, train


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``eie-sim: error: --seed=-1: expected an integer >= 0 (see ...)``."""

    def error(self, message: str):
        m = re.fullmatch(r"argument ([^:]+): expected (.*), got '(.*)'", message)
        if m:  # from the range-checked option types of cli.common: name=value: expected ...
            message = f"{m.group(1).split('/')[-1]}={m.group(3)}: expected {m.group(2)}"
        self.exit(2, f"eie-sim: error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.HelpFormatter):
    """Shows every option's default (unless it is empty or already stated)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (action.option_strings and text and "default" not in text and default not in (None, False, [], "")
                and default is not argparse.SUPPRESS):
            shown = ",".join(map(str, default)) if isinstance(default, list) else default
            text += f" (default: {shown})".replace("%", "%%")
        return text


#: one example per command, printed at the end of its --help
EXAMPLES = {
    "info": "eie-sim info models/lenet300-fashion.npz --pes 16",
    "encode": "eie-sim encode W.npy --weight-bits 4 --pes 64 -o layer.npz",
    "example": "eie-sim example -o example.npz",
    "golden": "eie-sim golden models/lenet300-fashion.npz --json",
    "run": "eie-sim run alex6 --pes 16 --fifo-depth 4   (or: eie-sim run models/lenet300-fashion.npz --pes 8)",
    "bench": "eie-sim bench --pes 32 --energy-table horowitz45",
    "energy-table": "eie-sim energy-table eie45 --toml > mine.toml",
    "compress": "eie-sim compress lenet300 --dataset fashion-mnist --weight-bits 4 --out models/mine.npz",
    "eval": "eie-sim eval models/lenet300-fashion.npz --simulate 20",
    "import": "eie-sim import net.onnx -o net.npz --weight-bits 4 --sparsity 0.9",
    "export": "eie-sim export models/lenet300-fashion.npz -o lenet300.onnx",
    "sweep": "eie-sim sweep --pes 4,16,64 --fifo-depth 2,8 --layers alex7,vgg7 --scale 0.25 --out sweep.parquet",
    "plot": "eie-sim plot sweep.parquet -o plots/",
    "codesign": "eie-sim codesign lenet300 --dataset fashion-mnist --out cd.parquet --reference models/lenet300-fashion.npz",
    "rtl": "eie-sim rtl cosim --bench alex7 --scale 0.03 --pes 4",
    "export-rtl": "eie-sim rtl export --pes 4 --bench alex7 --scale 0.03 --out rtl_out/",
    "cosim": "eie-sim rtl cosim --random 32x24 --density 0.2 --pes 2 --engine amaranth",
    "area": "eie-sim rtl area --weight-bits 2,4,8",
}


def _polish(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """Defaults and an example on the help of every (sub)command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sp in action.choices.items():
                sp.formatter_class = HelpFormatter
                key = "export-rtl" if (prefix, name) == ("rtl", "export") else name
                if key in EXAMPLES:
                    sp.epilog = f"example: {EXAMPLES[key]}"
                _polish(sp, name)


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(
        prog="eie-sim",
        description="Co-design toolkit for EIE-style sparse neural-network accelerators.",
    )
    ap.add_argument("--version", action="version", version=f"eie-sim {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for group in (model, simulate, train, onnx, sweep, codesign, rtl):
        group.add_parsers(sub)
    _polish(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run one command, ``argv`` or (the ``eie-sim`` program) ``sys.argv[1:]``; its exit code."""
    try:
        return _run(argv)
    finally:
        set_quiet(False)  # the next call of main() in this process starts from the terminal rule
        if argv is None:  # the process ends next: its objects need no cyclic garbage collection at exit
            gc.freeze()  # (the interpreter's shutdown collections over Numba's objects cost ~0.1 s)


def _run(argv: list[str] | None) -> int:
    """:func:`main`'s body: parse, run, and turn expected failures into one line and code 2."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument already reported in one line
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = argv
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    set_quiet(getattr(args, "quiet", False))  # bars deep in library calls (Yosys, Verilator) honour --quiet
    try:
        return args.func(args)
    except EIEError as exc:
        return _fail(str(exc))
    except MemoryError:
        return _fail(f"out of memory in {args.command}; the inputs need more than this machine has "
                     f"(memory budget {format_bytes(memory_budget_bytes())}, EIE_SIM_MEMORY_BUDGET)")
    except BrokenPipeError:
        # the reader went away (eie-sim ... | head): stop quietly, and keep Python's exit flush quiet too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print("eie-sim: interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    print(f"eie-sim: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
