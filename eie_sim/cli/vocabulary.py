"""One flag vocabulary for every ``eie-sim`` command: a long option has one meaning everywhere.

:data:`MEANINGS` holds that meaning; the help of the flag in every command that has it starts
with it (:func:`say`), and a command adds after a semicolon what is particular to it ("; values
to sweep, comma-separated"). ``tests/cli/test_vocabulary.py`` parses every command's ``--help``
and checks that each flag shown is here and that its help starts with its meaning, and the
README's option table lists every flag of it.

List syntax (README, "Option conventions"): commas separate the values to sweep or search over
(``--pes 8,16,64``); spaces separate one value per layer (``--sparsity 0.9 0.9 0.5``).

:data:`DEPRECATED` lists the spellings of earlier versions, per command: they keep working until
the next release, with one line on stderr naming the new spelling (:func:`add_deprecated`); they
are not shown in ``--help``.
"""

from __future__ import annotations

import argparse
import re
import sys

from .._version import __version__
from ..config import ArchConfig

__all__ = ["MEANINGS", "DEPRECATED", "say", "add_deprecated", "arch_meanings", "arch_flag"]


def arch_meanings() -> dict[str, str]:
    """ArchConfig field -> its meaning, the first sentence of its line in the class docstring
    (the one place the fields are described)."""
    out, name = {}, None
    for line in (ArchConfig.__doc__ or "").splitlines():
        m = re.match(r"    (\w+)\s+(.*)", line)
        if m and m.group(1) in ArchConfig.field_names():
            name = m.group(1)
            out[name] = m.group(2).strip()
        elif name and line.startswith("                    "):
            out[name] += " " + line.strip()
        else:
            name = None
    return {k: re.split(r"\.\s+(?=[A-Z])", v)[0].rstrip(".") for k, v in out.items()}


def arch_flag(field: str) -> str:
    """The flag of ArchConfig field ``field``: ``--pes`` for n_pe, else the field with dashes."""
    return "--pes" if field == "n_pe" else "--" + field.replace("_", "-")


_OWN = {
    # output and progress
    "--json": "print one JSON document",
    "--jsonl": "print JSON Lines: one object per layer, as each finishes",
    "--csv": "print CSV, one row per layer",
    "--toml": "print TOML",
    "--quiet": "no progress bars or progress lines on stderr",
    "--out": "the file (or folder) to write",
    "--json-report": "also write the report as JSON to this file",
    "--figures": "folder of the figures to write",
    "--table-out": "also write the tables as Markdown to this file",
    "--save-best": "write the chosen design as a model file",
    "--seed": "seed of the command's random generators",
    # inputs and data
    "--model": "an eie-sim model file (.npz)",
    "--layer": "one layer of --model, by name",
    "--layers": "comma-separated layers",
    "--input": "the input, a .npy vector (or a T x X sequence for an LSTM model)",
    "--input-index": "test image K of the data set the model records",
    "--dataset": "the built-in data set",
    "--data": "the data set from an .npz file",
    "--data-dir": "folder of the Fashion-MNIST IDX files",
    "--limit-train": "use only the first N training images",
    "--limit-test": "use only the first N test images",
    "--force": "run a model on a data set other than the one it records",
    "--calibrate": "calibrate the fixed-point formats on the sample inputs in array x of this .npz file",
    "--input-range": "calibrate the fixed-point formats for inputs in [LO, HI]",
    "--check": "compare onnxruntime with eie-sim's float view on K random inputs",
    # benchmark layers
    "--bench": "a Table III layer",
    "--random": "a random layer of this shape (outputs x inputs)",
    "--density": "weight density of --random",
    "--suite": "the benchmark suite",
    "--scale": "shrink the benchmark layers by this factor (0, 1]",
    "--row-cv": "benchmark layers: coefficient of variation of per-row density",
    "--col-cv": "benchmark layers: coefficient of variation of per-column density",
    # energy
    "--energy-table": "energy table: a preset (eie45, calibrated to EIE Table II; horowitz45) or a TOML file",
    "--node-nm": "rescale the energy table to this technology node, nm",
    "--vdd": "rescale the energy table to this supply, V",
    "--set": "set an ArchConfig field by name (repeatable)",
    # encoding and compression
    "--codebook": "how the shared weights are chosen",
    "--name": "layer name in the model file",
    "--sparsity": "fraction of weights removed",
    "--prune-quality": "pruning threshold = Q x std of a layer's weights",
    "--prune-rounds": "prune -> retrain rounds",
    "--balance": "load-balance-aware pruning off and/or on",
    "--balance-pes": "load-balance-aware pruning for N PEs: in each column group every PE (rows i %% N) keeps "
                     "the same number of weights",
    "--balance-group": "columns per balanced group",
    "--balance-index-aware": "count padding entries at --index-bits in the balanced count (index-aware pruning)",
    "--keep-master": "also store the float weights and pruning masks before weight sharing in --out",
    # training
    "--dense-epochs": "epochs of dense training",
    "--retrain-epochs": "epochs of retraining after each pruning round",
    "--finetune-epochs": "epochs of codebook fine-tuning",
    "--rung-epochs": "training epochs of a candidate in each rung, comma-separated",
    "--dense-lr": "learning rate of dense training",
    "--retrain-lr": "learning rate of retraining after pruning",
    "--finetune-lr": "learning rate of codebook fine-tuning",
    "--batch-size": "training mini-batch size",
    "--weight-decay": "L2 weight decay of dense training and retraining",
    "--dropout": "dropout rate of hidden layers",
    "--dsd": "train dense-sparse-dense before compressing (Han et al., ICLR 2017)",
    "--dsd-sparsity": "fraction removed in the sparse phase of DSD",
    "--dsd-baseline": "with --dsd: also train a copy of the dense network for the same phases without the mask",
    # simulation
    "--simulate": "test images run on the cycle model",
    # sweeps and search
    "--append": "add this run's rows to a results file that holds another run",
    "--points-per-task": "design points per Dask task",
    "--flush-seconds": "rewrite --out at most this often, seconds",
    "--retry-errors": "rerun points whose earlier run recorded an error",
    "--workers": "local Dask worker processes",
    "--scheduler": "use an existing Dask cluster at this address",
    "--synchronous": "no Dask: run every task in this process",
    "--workdir": "folder of the intermediate model files",
    "--candidates": "software candidates in the first rung",
    "--eta": "keep 1/eta of the candidates per rung",
    "--budget-minutes": "wall-time budget, minutes",
    "--validation": "hold out the last N training images to rank candidates",
    "--reference": "a model evaluated on every hardware point",
    "--max-loss": "accuracy points below the dense network allowed",
    # figures
    "--kind": "figure to draw",
    "--where": "only rows with this column value (repeatable)",
    # RTL
    "--engine": "the RTL simulator",
    "--waves": "dump waveforms (FST) of the run",
    "--table3-build": "use the one RTL build that holds every full-size Table III layer",
    "--table": "also print the area per module in um^2 next to EIE Table II",
    "--max-cols": "largest layer input count the PE is built for",
    "--spmat-words": "spmat SRAM depth, words",
}

#: every long option's one meaning (the argparse-own --help and --version aside)
MEANINGS: dict[str, str] = {**{arch_flag(f): m for f, m in arch_meanings().items()}, **_OWN}

#: (command, old spelling) -> the new spelling(s); accepted until the next release
DEPRECATED: dict[tuple[str, str], tuple[str, ...]] = {
    ("compress", "--epochs"): ("--dense-epochs",),
    ("compress", "--lr"): ("--dense-lr",),
    ("import", "--epochs"): ("--retrain-epochs", "--finetune-epochs"),
    ("import", "--lr"): ("--retrain-lr", "--finetune-lr"),
    ("import", "--finetune"): ("--dataset",),
    ("eval", "--limit"): ("--limit-test",),
    ("sweep", "--accuracy-samples"): ("--limit-test",),
    ("sweep", "--retrain-epochs"): ("--finetune-epochs",),
    ("sweep", "--batch-size"): ("--points-per-task",),
    ("sweep", "--no-progress"): ("--quiet",),
    ("plot", "--accuracy-samples"): ("--limit-test",),
    ("codesign", "--epochs"): ("--rung-epochs",),
    ("codesign", "--lr"): ("--retrain-lr",),
    ("codesign", "--simulate-images"): ("--simulate",),
}


def say(flag: str, detail: str = "") -> str:
    """The help of ``flag``: its meaning, then ``detail`` (what is particular to one command)."""
    meaning = MEANINGS[flag]
    return f"{meaning}; {detail}" if detail else meaning


def _next_release() -> str:
    major, minor = (int(x) for x in re.findall(r"\d+", __version__)[:2])
    return f"{major}.{minor + 1}"


class _Deprecated(argparse.Action):
    """An old spelling: stores into the new spelling's destination(s), with one line on stderr."""

    def __init__(self, option_strings, dest, *, command: str, new: tuple[str, ...], dests: tuple[str, ...], **kw):
        self.command, self.new, self.dests = command, new, dests
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        new = " and ".join(self.new)
        print(f"eie-sim {self.command}: {option_string} is deprecated, use {new} (the old spelling works until "
              f"eie-sim {_next_release()})", file=sys.stderr)
        for d in self.dests:
            setattr(namespace, d, self.const if self.nargs == 0 else values)


def add_deprecated(p, command: str, old: str, *, dests: tuple[str, ...] | None = None, flag: bool = False,
                   **kw) -> None:
    """Accept ``old`` in ``command`` as :data:`DEPRECATED` says, storing into ``dests`` (default:
    the new spellings' destinations); ``flag`` for an option without a value; ``kw`` (type,
    nargs, choices) as the new option takes its value. Hidden from ``--help``."""
    new = DEPRECATED[(command, old)]
    dests = dests or tuple(n.lstrip("-").replace("-", "_") for n in new)
    if flag:
        kw.update(nargs=0, const=True)
    p.add_argument(old, dest=f"deprecated_{old.lstrip('-').replace('-', '_')}", action=_Deprecated, command=command,
                   new=new, dests=dests, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kw)
