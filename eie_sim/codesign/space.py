"""The co-design search's space and settings (:mod:`.search`): the software grid (per-layer
sparsity, weight bits, balance on/off) whose points are trained as candidates, the hardware grid
(n_pe, fifo_depth, sram_width, index_bits) every trained candidate is evaluated on, the search
settings, and the seeded rung-0 sample of the software grid. Every value is checked here, with
one-line errors naming the field, the value and what is expected."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass

import numpy as np

from ..config import check_int, check_positive
from ..errors import ConfigError, describe
from ..train.nn import mlp_hidden
from ..train.pipeline import Recipe

__all__ = ["CodesignSpace", "SearchSettings", "DEFAULT_HIDDEN_SPARSITY", "DEFAULT_LAST_SPARSITY"]

#: default sparsity values of every layer but the last, and of the last (the classifier)
DEFAULT_HIDDEN_SPARSITY = (0.85, 0.9, 0.93, 0.95)
DEFAULT_LAST_SPARSITY = (0.5, 0.7)
_HW_FIELDS = ("n_pe", "fifo_depth", "sram_width", "index_bits")


def _ints(name, v, lo, hi) -> tuple:
    vals = tuple(v) if isinstance(v, (list, tuple)) else None
    if not vals or any(isinstance(x, bool) or not isinstance(x, (int, np.integer)) or not lo <= x <= hi for x in vals):
        raise ConfigError(f"{name}={describe(v)}: expected a non-empty list of integers in {lo}..{hi}")
    if len(set(vals)) != len(vals):
        raise ConfigError(f"{name}={list(vals)}: values repeat")
    return tuple(int(x) for x in vals)


@dataclass(frozen=True)
class CodesignSpace:
    """The grid. ``sparsity``: per layer, the fractions removed to try (None: 0.85, 0.9, 0.93,
    0.95 for every layer but the last, 0.5, 0.7 for the last; one list: every layer);
    ``weight_bits``; ``balance``: False (ordinary pruning) and/or True (balanced for
    ``balance_pes`` PEs, default max(n_pe), in groups of ``balance_group`` columns, default 8: the
    EIE queue depth, whose queues absorb imbalance within a group, while per-column groups on 64
    PEs would keep or drop whole input columns of LeNet's small layers); hardware:
    ``n_pe``, ``fifo_depth``, ``sram_width``, ``index_bits``."""

    sparsity: tuple | None = None
    weight_bits: tuple = (3, 4, 5)
    balance: tuple = (False, True)
    balance_pes: int | None = None
    balance_group: int = 8
    n_pe: tuple = (8, 16, 32, 64)
    fifo_depth: tuple = (4, 8)
    sram_width: tuple = (32, 64)
    index_bits: tuple = (3, 4)

    def __post_init__(self):
        if self.sparsity is not None:
            sp = self.sparsity if isinstance(self.sparsity, (list, tuple)) else None
            if not sp:
                raise ConfigError(f"sparsity={describe(self.sparsity)}: expected a list of values per layer")
            per = []
            for i, vals in enumerate(sp):
                vals = tuple(vals) if isinstance(vals, (list, tuple)) else (vals,)
                if not vals or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 <= x < 1 for x in vals):
                    raise ConfigError(f"sparsity[{i}]={describe(vals)}: expected fractions removed in [0, 1)")
                per.append(tuple(float(x) for x in vals))
            object.__setattr__(self, "sparsity", tuple(per))
        for nm, lo, hi in (("weight_bits", 1, 8), ("n_pe", 1, 1 << 16), ("fifo_depth", 1, 1 << 16),
                           ("sram_width", 2, 4096), ("index_bits", 1, 8)):
            object.__setattr__(self, nm, _ints(nm, getattr(self, nm), lo, hi))
        bal = tuple(self.balance) if isinstance(self.balance, (list, tuple)) else None
        if not bal or any(not isinstance(b, bool) for b in bal) or len(set(bal)) != len(bal):
            raise ConfigError(f"balance={describe(self.balance)}: expected [False], [True] or [False, True]")
        object.__setattr__(self, "balance", bal)
        if self.balance_pes is not None:
            check_int("balance_pes", self.balance_pes, 1, 1 << 16)
        check_int("balance_group", self.balance_group, 1, 1 << 31)
        for wb, ib, w in itertools.product(self.weight_bits, self.index_bits, self.sram_width):
            if w < wb + ib:
                raise ConfigError(f"sram_width={w} with weight_bits={wb} and index_bits={ib}: expected sram_width >= "
                                  f"{wb + ib} (one entry per word at least); drop it or narrow the bits")

    def layer_sparsity(self, n_layers: int) -> tuple:
        if self.sparsity is None:
            return (DEFAULT_HIDDEN_SPARSITY,) * (n_layers - 1) + (DEFAULT_LAST_SPARSITY,)
        if len(self.sparsity) == 1:
            return self.sparsity * n_layers
        if len(self.sparsity) != n_layers:
            raise ConfigError(f"sparsity: {len(self.sparsity)} lists; expected one, or one per layer ({n_layers})")
        return self.sparsity

    def hardware(self) -> list[dict]:
        return [dict(zip(_HW_FIELDS, c)) for c in itertools.product(self.n_pe, self.fifo_depth, self.sram_width,
                                                                     self.index_bits)]


@dataclass(frozen=True)
class SearchSettings:
    """The search (module docstring): ``candidates`` in rung 0, keep 1/``eta`` per rung,
    ``epochs`` per rung, ``budget_minutes`` of wall time, ``simulate_images`` K per hardware
    point, ``validation`` training images held out for ranking (0: rank on the test set), the
    dense base's ``dense_epochs`` and ``dense_lr``, the retraining ``lr`` and codebook
    ``finetune_lr`` (:mod:`eie_sim.train.pipeline`), ``seed``."""

    candidates: int = 48
    eta: int = 3
    epochs: tuple = (1, 3, 6)
    prune_rounds: int = 3
    budget_minutes: float = 30.0
    simulate_images: int = 32
    validation: int = 0
    dense_epochs: int = 30
    dense_lr: float = 0.05
    lr: float = 0.005
    finetune_lr: float = 0.001
    seed: int = 0

    def __post_init__(self):
        check_int("candidates", self.candidates, 1, 100000)
        check_int("eta", self.eta, 2, 1000)
        object.__setattr__(self, "epochs", tuple(self.epochs) if isinstance(self.epochs, (list, tuple)) else self.epochs)
        if not isinstance(self.epochs, tuple) or not self.epochs or any(
                isinstance(e, bool) or not isinstance(e, int) or not 1 <= e <= 10000 for e in self.epochs):
            raise ConfigError(f"epochs={describe(self.epochs)}: expected a non-empty list of epochs per rung, each 1..10000")
        check_int("prune_rounds", self.prune_rounds, 1, 100)
        check_positive("budget_minutes", self.budget_minutes)
        check_int("simulate_images", self.simulate_images, 1, 1 << 20)
        check_int("validation", self.validation, 0, 1 << 30)
        check_int("dense_epochs", self.dense_epochs, 1, 10000)
        check_positive("dense_lr", self.dense_lr)
        check_positive("lr", self.lr)
        check_positive("finetune_lr", self.finetune_lr)
        check_int("seed", self.seed, 0, 2**63 - 1)


def key_digest(obj) -> str:
    return hashlib.blake2b(json.dumps(obj, sort_keys=True, default=str).encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Candidate:
    name: str
    sparsity: tuple
    weight_bits: int
    balance_pes: int | None

    def recipe(self, search: SearchSettings, rung: int, group: int) -> Recipe:
        e = search.epochs[rung]
        seed = int(key_digest([self.name, search.seed])[:8], 16) + rung
        return Recipe(sparsity=self.sparsity, weight_bits=self.weight_bits, balance_pes=self.balance_pes,
                      balance_group=group, prune_rounds=search.prune_rounds, retrain_epochs=e, finetune_epochs=e,
                      lr=search.lr, finetune_lr=search.finetune_lr, seed=seed)


def sample_candidates(space: CodesignSpace, n_layers: int, search: SearchSettings) -> list[Candidate]:
    """The software grid, and the rung-0 sample of it (seeded; sorted by grid order)."""
    bal_pes = space.balance_pes or max(space.n_pe)
    grid = []
    for sp in itertools.product(*space.layer_sparsity(n_layers)):
        for wb in space.weight_bits:
            for bal in space.balance:
                name = "s" + "-".join(f"{s:g}" for s in sp) + f"_w{wb}_" + (f"bal{bal_pes}" if bal else "nobal")
                grid.append(Candidate(name, tuple(sp), wb, bal_pes if bal else None))
    if len(grid) <= search.candidates:
        return grid
    pick = np.random.default_rng(search.seed).choice(len(grid), size=search.candidates, replace=False)
    return [grid[i] for i in sorted(pick)]


def network_layers(network: str) -> int:
    if network == "lenet300":
        return 3
    if network.startswith("mlp:"):
        return len(mlp_hidden(network)) + 1
    raise ConfigError(f"network={network!r}: expected lenet300, mlp:H1,H2,... or a model file (.npz)")
