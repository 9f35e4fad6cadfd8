"""One EIE processing element in Amaranth: activation queue, pointer read, sparse-matrix read,
arithmetic unit and activation read/write (EIE paper, section IV, Fig. 4).

Timing is the cycle model's (``eie_sim.cycle.kernels``), cycle for cycle:

* cycle P: a free PE pops (j, a_j) from its queue and reads p[j] and p[j+1] from the two
  pointer banks (even and odd); ``rem`` := p[j+1] - p[j] entries to issue.
* cycles P+1 .. P+e: one entry a cycle is issued to the spmat SRAM (synchronous read); a PE is
  free again in the cycle of its last issue, or at P+1 for an empty column.
* issue + 1: entry decode, codebook look-up and row accumulation (z + 1 per entry);
  issue + 2: multiply; issue + 3: saturating add into the destination register and write.
  A value written in one cycle is read by the next entry, so back-to-back updates of the same
  row need no stall (the bypass of the paper).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from eie_sim.config import check_int

__all__ = ["PEParams", "ActivationQueue", "PointerRead", "SpmatRead", "ArithmeticUnit", "ActivationRW", "ProcessingElement",
           "LOAD_PTR", "LOAD_SPMAT", "LOAD_CODEBOOK", "LOAD_SRC", "LOAD_ACC", "LOAD_CONFIG"]

LOAD_PTR, LOAD_SPMAT, LOAD_CODEBOOK, LOAD_SRC, LOAD_ACC, LOAD_CONFIG = range(6)


@dataclass(frozen=True, kw_only=True)
class PEParams:
    """Build-time parameters of a PE (one Verilator build per set), in the style of
    :class:`eie_sim.ArchConfig`: validated on construction (:class:`eie_sim.ConfigError` naming
    the field, its value and the range expected), immutable, compared and hashed by value.

    fifo_depth ... sram_width  as in ``ArchConfig`` (activation-queue depth, code and index
                               bits, activation and accumulator bits, pointer width, spmat SRAM
                               word width); ``params_for`` in :mod:`.driver` copies them.
    max_cols     columns (inputs) the pointer banks hold (``max_cols + 1`` pointers).
    max_rows     local rows: destination registers (accumulators) per PE.
    max_src      source activations per PE.
    spmat_words  spmat SRAM depth in ``sram_width``-bit words.
    col_bits     width of a column index in the activation queue; None (the default) for the
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
    spmat_words: int = 256
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
        check("max_cols", 1)
        check("max_rows", 1)
        check("max_src", 1)
        check("spmat_words", 1)
        need = max(1, (self.max_cols - 1).bit_length())
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
        return max(1, (self.max_rows - 1).bit_length())

    @property
    def data_bits(self) -> int:
        """Width of the load port's data: the widest value loaded (spmat word, accumulator,
        pointer or activation)."""
        return max(self.sram_width, self.acc_bits, self.ptr_bits, self.act_bits)


def _load_signature(p: PEParams):
    return {
        "load_en": In(1),
        "load_target": In(3),
        "load_addr": In(max(16, (max(p.max_cols + 1, p.spmat_words, p.max_rows, p.max_src) - 1).bit_length())),
        "load_data": In(p.data_bits),
    }


class ActivationQueue(wiring.Component):
    """FIFO of (j, a_j) broadcasts, ``fifo_depth`` deep; ``w_rdy`` is the registered not-full flag."""

    def __init__(self, p: PEParams):
        self.p = p
        super().__init__({
            "w_en": In(1), "w_rdy": Out(1), "w_col": In(p.col_bits), "w_act": In(signed(p.act_bits)),
            "r_en": In(1), "r_rdy": Out(1), "r_col": Out(p.col_bits), "r_act": Out(signed(p.act_bits)),
            "level": Out(range(p.fifo_depth + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.fifo = fifo = SyncFIFO(width=p.col_bits + p.act_bits, depth=p.fifo_depth)
        m.d.comb += [
            fifo.w_en.eq(self.w_en), fifo.w_data.eq(Cat(self.w_col, self.w_act)), self.w_rdy.eq(fifo.w_rdy),
            fifo.r_en.eq(self.r_en), self.r_rdy.eq(fifo.r_rdy),
            self.r_col.eq(fifo.r_data[: p.col_bits]), self.r_act.eq(fifo.r_data[p.col_bits :]),
            self.level.eq(fifo.level),
        ]
        return m


class PointerRead(wiring.Component):
    """p[j] and p[j+1] in one cycle from two banks: even pointers in one, odd in the other."""

    def __init__(self, p: PEParams):
        self.p = p
        super().__init__({"col": In(p.col_bits), "start": Out(p.ptr_bits), "end": Out(p.ptr_bits), **_load_signature(p)})

    def elaborate(self, platform):
        m = Module()
        p = self.p
        depth = p.max_cols // 2 + 1
        m.submodules.even = even = Memory(shape=p.ptr_bits, depth=depth, init=[])
        m.submodules.odd = odd = Memory(shape=p.ptr_bits, depth=depth, init=[])
        re0, re1 = even.read_port(domain="comb"), even.read_port(domain="comb")
        ro0, ro1 = odd.read_port(domain="comb"), odd.read_port(domain="comb")
        we, wo = even.write_port(), odd.write_port()
        j = self.col
        j1 = j + 1
        m.d.comb += [re0.addr.eq(j >> 1), ro0.addr.eq(j >> 1), re1.addr.eq(j1 >> 1), ro1.addr.eq(j1 >> 1)]
        # j even: p[j] from the even bank, p[j+1] from the odd one; j odd: the other way round
        m.d.comb += [
            self.start.eq(Mux(j[0], ro0.data, re0.data)),
            self.end.eq(Mux(j[0], re1.data, ro1.data)),
        ]
        sel = self.load_en & (self.load_target == LOAD_PTR)
        m.d.comb += [
            we.addr.eq(self.load_addr >> 1), we.data.eq(self.load_data), we.en.eq(sel & ~self.load_addr[0]),
            wo.addr.eq(self.load_addr >> 1), wo.data.eq(self.load_data), wo.en.eq(sel & self.load_addr[0]),
        ]
        return m


class SpmatRead(wiring.Component):
    """Sparse-matrix SRAM of ``sram_width``-bit words (synchronous read); each word holds
    ``epw`` entries (v << index_bits | z), entry e in slot e % epw. The entry of the address
    presented in one cycle comes out the next."""

    def __init__(self, p: PEParams):
        self.p = p
        super().__init__({"addr": In(p.ptr_bits), "en": In(1), "v": Out(p.weight_bits), "z": Out(p.index_bits),
                          **_load_signature(p)})

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.mem = mem = Memory(shape=p.sram_width, depth=p.spmat_words, init=[])
        rd = mem.read_port()
        wr = mem.write_port()
        slot = Signal(range(max(2, p.epw)))
        if p.epw & (p.epw - 1) == 0:  # power of two: shift and mask
            shift = (p.epw - 1).bit_length()
            m.d.comb += rd.addr.eq(self.addr >> shift)
            m.d.sync += slot.eq(self.addr[:shift] if shift else 0)
        else:  # a divider by a constant
            m.d.comb += rd.addr.eq(self.addr // p.epw)
            m.d.sync += slot.eq(self.addr % p.epw)
        m.d.comb += rd.en.eq(self.en)
        entry = rd.data.word_select(slot, p.entry_bits) if p.epw > 1 else rd.data[: p.entry_bits]
        m.d.comb += [self.z.eq(entry[: p.index_bits]), self.v.eq(entry[p.index_bits :])]
        m.d.comb += [wr.addr.eq(self.load_addr), wr.data.eq(self.load_data),
                     wr.en.eq(self.load_en & (self.load_target == LOAD_SPMAT))]
        return m


class ArithmeticUnit(wiring.Component):
    """Decode, codebook look-up and row accumulation, then multiply: from an entry (v, z) of an
    issued column to (row, product) two cycles later. ``first`` marks a column's first entry."""

    def __init__(self, p: PEParams):
        self.p = p
        super().__init__({
            "valid": In(1), "first": In(1), "v": In(p.weight_bits), "z": In(p.index_bits), "act": In(signed(p.act_bits)),
            "out_valid": Out(1), "out_row": Out(p.row_bits), "out_prod": Out(signed(2 * p.act_bits)),
            **_load_signature(p),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.codebook = cb = Memory(shape=signed(p.act_bits), depth=1 << p.weight_bits, init=[])
        rd = cb.read_port(domain="comb")
        wr = cb.write_port()
        m.d.comb += [wr.addr.eq(self.load_addr), wr.data.eq(self.load_data),
                     wr.en.eq(self.load_en & (self.load_target == LOAD_CODEBOOK))]
        prev_row = Signal(p.row_bits + 1)
        row = Signal(p.row_bits + 1)
        m.d.comb += row.eq(Mux(self.first, self.z, prev_row + self.z + 1))
        m.d.comb += rd.addr.eq(self.v)
        # stage 1 -> 2: register the weight value, activation and row
        s2_valid, s2_row = Signal(), Signal(p.row_bits)
        s2_w, s2_a = Signal(signed(p.act_bits)), Signal(signed(p.act_bits))
        with m.If(self.valid):
            m.d.sync += prev_row.eq(row)
        m.d.sync += [s2_valid.eq(self.valid), s2_row.eq(row), s2_w.eq(rd.data), s2_a.eq(self.act)]
        # stage 2 -> 3: multiply
        m.d.sync += [self.out_valid.eq(s2_valid), self.out_row.eq(s2_row), self.out_prod.eq(s2_w * s2_a)]
        return m


class ActivationRW(wiring.Component):
    """Source activations (read by the broadcast) and destination accumulators (saturating
    add of each product; read out rounded, saturated and optionally ReLU'd)."""

    def __init__(self, p: PEParams):
        self.p = p
        super().__init__({
            "src_addr": In(range(p.max_src)), "src_data": Out(signed(p.act_bits)),
            "add_valid": In(1), "add_row": In(p.row_bits), "add_prod": In(signed(2 * p.act_bits)),
            "out_addr": In(range(p.max_rows)), "out_data": Out(signed(p.act_bits)),
            "out_shift": In(8), "relu": In(1), "saturated": Out(1),
            **_load_signature(p),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.src = src = Memory(shape=signed(p.act_bits), depth=p.max_src, init=[])
        m.submodules.acc = acc = Memory(shape=signed(p.acc_bits), depth=p.max_rows, init=[])
        src_rd, src_wr = src.read_port(domain="comb"), src.write_port()
        acc_rd, acc_out, acc_wr = acc.read_port(domain="comb"), acc.read_port(domain="comb"), acc.write_port()
        m.d.comb += [src_rd.addr.eq(self.src_addr), self.src_data.eq(src_rd.data)]
        m.d.comb += [src_wr.addr.eq(self.load_addr), src_wr.data.eq(self.load_data),
                     src_wr.en.eq(self.load_en & (self.load_target == LOAD_SRC))]
        hi = (1 << (p.acc_bits - 1)) - 1
        lo = -(1 << (p.acc_bits - 1))
        total = Signal(signed(p.acc_bits + 1))
        sat = Signal(signed(p.acc_bits))
        m.d.comb += [acc_rd.addr.eq(self.add_row), total.eq(acc_rd.data + self.add_prod)]
        m.d.comb += sat.eq(Mux(total > hi, hi, Mux(total < lo, lo, total)))
        with m.If(self.add_valid & ((total > hi) | (total < lo))):
            m.d.sync += self.saturated.eq(1)
        loading = self.load_en & (self.load_target == LOAD_ACC)
        m.d.comb += [
            acc_wr.addr.eq(Mux(loading, self.load_addr, self.add_row)),
            acc_wr.data.eq(Mux(loading, self.load_data, sat)),
            acc_wr.en.eq(loading | self.add_valid),
        ]
        with m.If(loading):
            m.d.sync += self.saturated.eq(0)
        # read-out: y = sat_B((acc + 2**(s-1)) >> s), then ReLU (golden contract, step 4)
        a = acc_out.data
        m.d.comb += acc_out.addr.eq(self.out_addr)
        rounded = Signal(signed(p.acc_bits + 1))
        half = Signal(p.acc_bits + 1)
        m.d.comb += half.eq((Const(1, p.acc_bits + 2) << self.out_shift) >> 1)  # 2**(s-1), 0 for s = 0
        # for s > acc_bits every accumulator value rounds to 0 (|acc| < 2**(s-2)), as in the golden model
        m.d.comb += rounded.eq(Mux(self.out_shift > p.acc_bits, 0, (a + half) >> self.out_shift))
        ymax, ymin = (1 << (p.act_bits - 1)) - 1, -(1 << (p.act_bits - 1))
        y = Mux(rounded > ymax, ymax, Mux(rounded < ymin, ymin, rounded))
        m.d.comb += self.out_data.eq(Mux(self.relu & (y < 0), 0, y))
        return m


class ProcessingElement(wiring.Component):
    """A PE: queue, pointer read, spmat read, arithmetic unit and activation read/write."""

    def __init__(self, p: PEParams):
        self.p = p
        super().__init__({
            "push": In(1), "push_col": In(p.col_bits), "push_act": In(signed(p.act_bits)), "w_rdy": Out(1),
            "free": Out(1), "queue_empty": Out(1),
            "src_addr": In(range(p.max_src)), "src_data": Out(signed(p.act_bits)),
            "out_addr": In(range(p.max_rows)), "out_data": Out(signed(p.act_bits)),
            "out_shift": In(8), "relu": In(1), "saturated": Out(1),
            "load_pe_sel": In(1),
            **_load_signature(p),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.queue = q = ActivationQueue(p)
        m.submodules.ptr = ptr = PointerRead(p)
        m.submodules.spmat = sp = SpmatRead(p)
        m.submodules.arith = ar = ArithmeticUnit(p)
        m.submodules.actrw = act = ActivationRW(p)
        for unit in (ptr, sp, ar, act):
            m.d.comb += [unit.load_en.eq(self.load_en & self.load_pe_sel), unit.load_target.eq(self.load_target),
                         unit.load_addr.eq(self.load_addr), unit.load_data.eq(self.load_data)]
        m.d.comb += [q.w_en.eq(self.push), q.w_col.eq(self.push_col), q.w_act.eq(self.push_act), self.w_rdy.eq(q.w_rdy),
                     self.queue_empty.eq(q.level == 0)]
        rem = Signal(p.ptr_bits)
        addr = Signal(p.ptr_bits)
        a_reg = Signal(signed(p.act_bits))
        first = Signal()
        pop = Signal()
        issue = Signal()
        m.d.comb += [
            ptr.col.eq(q.r_col),
            issue.eq(rem != 0),
            pop.eq(q.r_rdy & (rem <= 1)),
            q.r_en.eq(pop),
            self.free.eq(rem <= 1),
            sp.addr.eq(addr), sp.en.eq(issue),
        ]
        with m.If(pop):
            m.d.sync += [rem.eq(ptr.end - ptr.start), addr.eq(ptr.start), a_reg.eq(q.r_act), first.eq(1)]
        with m.Elif(issue):
            m.d.sync += [rem.eq(rem - 1), addr.eq(addr + 1), first.eq(0)]
        # stage 0 -> 1 alongside the synchronous spmat read
        s1_valid, s1_first = Signal(), Signal()
        s1_act = Signal(signed(p.act_bits))
        m.d.sync += [s1_valid.eq(issue), s1_first.eq(first), s1_act.eq(a_reg)]
        m.d.comb += [ar.valid.eq(s1_valid), ar.first.eq(s1_first), ar.v.eq(sp.v), ar.z.eq(sp.z), ar.act.eq(s1_act)]
        m.d.comb += [act.add_valid.eq(ar.out_valid), act.add_row.eq(ar.out_row), act.add_prod.eq(ar.out_prod)]
        m.d.comb += [act.src_addr.eq(self.src_addr), self.src_data.eq(act.src_data), act.out_addr.eq(self.out_addr),
                     self.out_data.eq(act.out_data), act.out_shift.eq(self.out_shift), act.relu.eq(self.relu),
                     self.saturated.eq(act.saturated)]
        return m
