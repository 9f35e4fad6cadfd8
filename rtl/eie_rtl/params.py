"""Build-time parameters of a PE, the load-port targets and the event counters of the RTL."""

from __future__ import annotations

from dataclasses import dataclass

from eie_sim.config import check_int

__all__ = ["PEParams", "LOAD_PTR", "LOAD_SPMAT", "LOAD_CODEBOOK", "LOAD_SRC", "LOAD_ACC", "LOAD_CONFIG", "LOAD_BASE",
           "LOAD_ACT", "CFG", "PE_CFG", "PE_COUNTERS", "ARRAY_COUNTERS", "ARRAY_COUNTER_BASE"]

# Load-port targets. LOAD_PTR: pointer p at absolute index a (row batch b's pointers start at
# b * (n_cols + 1)); LOAD_SPMAT: spmat SRAM word; LOAD_CODEBOOK: codebook entry; LOAD_SRC: source
# register of global input j (PE j % N, register j // N); LOAD_ACC: initial accumulator value of
# local row r over all row batches; LOAD_CONFIG: configuration register (CFG, PE_CFG); LOAD_BASE:
# first entry address of row batch b's sub-layer; LOAD_ACT: activation SRAM slot.
LOAD_PTR, LOAD_SPMAT, LOAD_CODEBOOK, LOAD_SRC, LOAD_ACC, LOAD_CONFIG, LOAD_BASE, LOAD_ACT = range(8)

#: array configuration registers (LOAD_CONFIG addresses)
CFG = {"out_shift": 0, "relu": 1, "n_cols": 2, "n_rows": 3, "row_batches": 4, "input_batches": 5, "n_in0": 6,
       "n_out0": 7, "ptr_cap": 8, "spmat_cap_words": 9, "act_cap": 10}
#: per-PE configuration registers (LOAD_CONFIG addresses, PE chosen by load_pe): inputs and
#: outputs this PE holds, and the activation SRAM slot of its first output
PE_CFG = {"n_in": 16, "n_out": 17, "out_base": 18}

#: hardware event counters of each PE, in read-out order (``ctr_sel`` 0, 1, ...); ``sat_acc`` and
#: ``sat_out`` count saturations (:mod:`eie_sim.contract.saturation` points acc and outputs;
#: ``sat_out`` needs the bench to acknowledge its read-outs, see :class:`eie_rtl.array.PEArray`)
PE_COUNTERS = (
    "queue_pushes", "queue_pops", "ptr_sram_reads", "ptr_dram_reads", "spmat_sram_reads", "spmat_dram_reads",
    "macs_real", "macs_padding", "busy_cycles", "blocked_cycles", "dest_reg_reads", "dest_reg_writes",
    "src_reg_writes", "act_sram_reads", "act_dram_reads", "act_sram_writes", "act_dram_writes",
    "sat_acc", "sat_out",
)
#: event counters of the array (``ctr_sel`` ARRAY_COUNTER_BASE + i)
ARRAY_COUNTER_BASE = 32
ARRAY_COUNTERS = ("broadcasts", "passes", "row_batches", "issue_cycles", "src_reg_reads", "dest_reg_inits")


def _bits(n: int) -> int:
    """Bits of an unsigned value up to ``n`` (at least 1)."""
    return max(1, int(n).bit_length())


@dataclass(frozen=True, kw_only=True)
class PEParams:
    """Build-time parameters of a PE (one Verilator build per set), in the style of
    :class:`eie_sim.ArchConfig`: validated on construction (:class:`eie_sim.ConfigError` naming
    the field, its value and the range expected), immutable, compared and hashed by value.

    fifo_depth ... sram_width  as in ``ArchConfig`` (activation-queue depth, code and index
                   bits, activation and accumulator bits, pointer width, spmat SRAM word width).
    max_cols       inputs of the largest layer (columns; sets the column index width).
    max_rows       destination registers (accumulators) per PE: ``act_regs_per_pe``.
    max_src        source registers per PE: ``act_regs_per_pe``.
    ptr_words      pointer memory depth in pointers (both banks): row batches x (columns + 1).
    spmat_words    spmat SRAM depth in ``sram_width``-bit words.
    bias_words     initial-accumulator memory depth: local rows over all row batches.
    act_words      activation SRAM depth in activations (inputs and outputs of long vectors).
    max_row_batches  row batches (entries of the sub-layer base table).
    macros         SRAMs as Verilog macros with file preload (Verilator) instead of Amaranth memories.
    counters       build the hardware event counters (PE_COUNTERS, ARRAY_COUNTERS).
    col_bits       width of a column index in the activation queue; None (the default) for the
                   fewest bits that hold ``max_cols - 1``.
    """

    fifo_depth: int = 8
    weight_bits: int = 4
    index_bits: int = 4
    act_bits: int = 16
    acc_bits: int = 48
    ptr_bits: int = 17
    sram_width: int = 64
    max_cols: int = 64
    max_rows: int = 64
    max_src: int = 64
    ptr_words: int | None = None
    spmat_words: int = 256
    bias_words: int | None = None
    act_words: int = 1
    max_row_batches: int = 1
    macros: bool = False
    counters: bool = True
    col_bits: int | None = None

    def __post_init__(self) -> None:
        # check_int returns a plain int (NumPy integers are accepted); store that, since the
        # widths become Amaranth shapes. In this order: acc_bits depends on act_bits,
        # sram_width on weight_bits + index_bits and col_bits on max_cols.
        def check(name: str, lo: int, hi: int | None = None) -> None:
            object.__setattr__(self, name, check_int(name, getattr(self, name), lo, hi))

        check("fifo_depth", 1, 1024)
        check("weight_bits", 1, 8)
        check("index_bits", 1, 8)
        check("act_bits", 2, 24)
        check("acc_bits", 2 * self.act_bits, 62)
        check("ptr_bits", 1, 32)
        check("sram_width", self.entry_bits, 1024)
        check("max_cols", 1, 1 << 24)
        check("max_rows", 1, 1 << 16)
        check("max_src", 1, 1 << 16)
        if self.ptr_words is None:
            object.__setattr__(self, "ptr_words", self.max_cols + 1)
        check("ptr_words", 2, 1 << 26)
        check("spmat_words", 1, 1 << 26)
        if self.bias_words is None:
            object.__setattr__(self, "bias_words", self.max_rows)
        check("bias_words", 1, 1 << 24)
        check("act_words", 1, 1 << 24)
        check("max_row_batches", 1, 1 << 16)
        for flag in ("macros", "counters"):
            if not isinstance(getattr(self, flag), bool):
                from eie_sim.errors import ConfigError

                raise ConfigError(f"{flag}={getattr(self, flag)!r}: expected True or False")
        need = _bits(self.max_cols - 1)
        if self.col_bits is None:
            object.__setattr__(self, "col_bits", need)
        else:
            check("col_bits", need, 64)

    @property
    def entry_bits(self) -> int:
        """Bits of one (v, z) entry."""
        return self.weight_bits + self.index_bits

    @property
    def epw(self) -> int:
        """Entries per spmat SRAM word."""
        return self.sram_width // self.entry_bits

    @property
    def row_bits(self) -> int:
        """Width of a local row index (``max_rows - 1``)."""
        return _bits(self.max_rows - 1)

    @property
    def slot_bits(self) -> int:
        """Width of a source register index."""
        return _bits(self.max_src - 1)

    @property
    def ptr_addr_bits(self) -> int:
        """Width of a pointer index (up to ``ptr_words``)."""
        return _bits(self.ptr_words)

    @property
    def entry_addr_bits(self) -> int:
        """Width of an entry address in the spmat SRAM (up to ``spmat_words * epw``)."""
        return _bits(self.spmat_words * self.epw)

    @property
    def act_addr_bits(self) -> int:
        """Width of an activation SRAM slot or initial-accumulator index."""
        return _bits(max(self.act_words, self.bias_words, self.max_rows, self.max_src))

    @property
    def data_bits(self) -> int:
        """Width of the load port's data: the widest value loaded (spmat word, accumulator,
        pointer, activation or a 32-bit configuration value)."""
        return max(self.sram_width, self.acc_bits, self.ptr_bits, self.act_bits, 32)

    @property
    def load_addr_bits(self) -> int:
        return max(16, _bits(max(self.ptr_words, self.spmat_words, self.bias_words, self.act_words, self.max_cols,
                                 self.max_row_batches)))
