"""One EIE processing element in Amaranth: activation queue, pointer read, sparse-matrix read,
arithmetic unit and activation read/write (EIE paper, section IV, Fig. 4).

Timing is the cycle model's (``eie_sim.cycle.kernels``), cycle for cycle:

* cycle P: a free PE pops (j, a_j) from its queue and reads p[j] and p[j+1] from the two
  pointer banks (even and odd); ``rem`` := p[j+1] - p[j] entries to issue.
* cycles P+1 .. P+e: one entry a cycle is issued to the spmat read unit, which reads a new SRAM
  word only when the entry is not in the word it holds; a PE is free again in the cycle of its
  last issue, or at P+1 for an empty column.
* issue + 1: entry decode, codebook look-up and row accumulation (z + 1 per entry);
  issue + 2: multiply; issue + 3: saturating add into the destination register and write.
  A value written in one cycle is read by the next entry, so back-to-back updates of the same
  row need no stall (the bypass of the paper).

Long vectors ("Long vectors" in ``eie_sim.cycle.kernels``): row batch b's pointers start at
``ptr_base`` = b x (n_cols + 1) and its entries at the address in the base table; the held
spmat word and the accumulators' valid bits are reset by ``batch_start``.
"""

from __future__ import annotations

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .actrw import ActivationRW
from .params import LOAD_BASE, LOAD_CODEBOOK, LOAD_PTR, LOAD_SPMAT, PE_COUNTERS, PEParams
from .sram import SRAM

# the PE's own units; the parameters and load targets are eie_rtl.params' (re-exported by eie_rtl)
__all__ = ["ActivationQueue", "PointerRead", "SpmatRead", "ArithmeticUnit", "ProcessingElement", "load_signature"]


def load_signature(p: PEParams):
    return {
        "load_en": In(1),
        "load_target": In(3),
        "load_addr": In(p.load_addr_bits),
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
    """p[a] and p[a+1] in one cycle from two banks (even pointers in one, odd in the other), at
    a = ``ptr_base + col``; ``addr`` is a (for the SRAM/DRAM split of the counters)."""

    def __init__(self, p: PEParams, tag: str = "pe0"):
        self.p = p
        self.tag = tag
        super().__init__({"col": In(p.col_bits), "ptr_base": In(p.ptr_addr_bits), "addr": Out(p.ptr_addr_bits + 1),
                          "start": Out(p.ptr_bits), "end": Out(p.ptr_bits), **load_signature(p)})

    def elaborate(self, platform):
        m = Module()
        p = self.p
        depth = p.ptr_words // 2 + 1
        m.submodules.even = even = SRAM(p.ptr_bits, depth, comb_reads=2, macro=p.macros, tag=f"{self.tag}_ptr_even")
        m.submodules.odd = odd = SRAM(p.ptr_bits, depth, comb_reads=2, macro=p.macros, tag=f"{self.tag}_ptr_odd")
        a = self.addr
        a1 = Signal.like(a)
        m.d.comb += [a.eq(self.ptr_base + self.col), a1.eq(a + 1)]
        m.d.comb += [even.r0_addr.eq(a >> 1), odd.r0_addr.eq(a >> 1), even.r1_addr.eq(a1 >> 1), odd.r1_addr.eq(a1 >> 1)]
        # a even: p[a] from the even bank, p[a+1] from the odd one; a odd: the other way round
        m.d.comb += [
            self.start.eq(Mux(a[0], odd.r0_data, even.r0_data)),
            self.end.eq(Mux(a[0], even.r1_data, odd.r1_data)),
        ]
        sel = self.load_en & (self.load_target == LOAD_PTR)
        m.d.comb += [
            even.w_addr.eq(self.load_addr >> 1), even.w_data.eq(self.load_data), even.w_en.eq(sel & ~self.load_addr[0]),
            odd.w_addr.eq(self.load_addr >> 1), odd.w_data.eq(self.load_data), odd.w_en.eq(sel & self.load_addr[0]),
        ]
        return m


class SpmatRead(wiring.Component):
    """Sparse-matrix SRAM of ``sram_width``-bit words; each holds ``epw`` entries
    (v << index_bits | z), entry e in slot e % epw of word e // epw. The unit holds the last word
    read and reads the SRAM only for an entry in another word (``word_read``; ``word`` is its
    address); the entry of the address issued in one cycle comes out the next. ``batch_start``
    forgets the held word."""

    def __init__(self, p: PEParams, tag: str = "pe0"):
        self.p = p
        self.tag = tag
        super().__init__({"addr": In(p.entry_addr_bits), "en": In(1), "batch_start": In(1),
                          "word_read": Out(1), "word": Out(p.entry_addr_bits),
                          "v": Out(p.weight_bits), "z": Out(p.index_bits), **load_signature(p)})

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.mem = mem = SRAM(p.sram_width, p.spmat_words, comb_reads=0, sync_read=True, macro=p.macros,
                                      tag=f"{self.tag}_spmat")
        slot = Signal(range(max(2, p.epw)))
        slot_now = Signal.like(slot)
        if p.epw & (p.epw - 1) == 0:  # power of two: shift and mask
            shift = (p.epw - 1).bit_length()
            m.d.comb += [self.word.eq(self.addr >> shift), slot_now.eq(self.addr[:shift] if shift else 0)]
        else:  # a divider by a constant
            m.d.comb += [self.word.eq(self.addr // p.epw), slot_now.eq(self.addr % p.epw)]
        held = Signal(p.entry_addr_bits)
        held_ok = Signal()
        m.d.comb += self.word_read.eq(self.en & ~(held_ok & (held == self.word)))
        with m.If(self.batch_start):
            m.d.sync += held_ok.eq(0)
        with m.Elif(self.word_read):
            m.d.sync += [held.eq(self.word), held_ok.eq(1)]
        m.d.sync += slot.eq(slot_now)
        m.d.comb += [mem.rs_en.eq(self.word_read), mem.rs_addr.eq(self.word)]
        entry = mem.rs_data.word_select(slot, p.entry_bits) if p.epw > 1 else mem.rs_data[: p.entry_bits]
        m.d.comb += [self.z.eq(entry[: p.index_bits]), self.v.eq(entry[p.index_bits :])]
        m.d.comb += [mem.w_addr.eq(self.load_addr), mem.w_data.eq(self.load_data),
                     mem.w_en.eq(self.load_en & (self.load_target == LOAD_SPMAT))]
        return m


class ArithmeticUnit(wiring.Component):
    """Decode, codebook look-up and row accumulation, then multiply: from an entry (v, z) of an
    issued column to (row, product) two cycles later. ``first`` marks a column's first entry."""

    def __init__(self, p: PEParams):
        self.p = p
        super().__init__({
            "valid": In(1), "first": In(1), "v": In(p.weight_bits), "z": In(p.index_bits), "act": In(signed(p.act_bits)),
            "out_valid": Out(1), "out_row": Out(p.row_bits), "out_prod": Out(signed(2 * p.act_bits)),
            **load_signature(p),
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


def pe_signature(p: PEParams) -> dict:
    """The ports of a PE (see :class:`ProcessingElement`)."""
    sig = {
        "push": In(1), "push_col": In(p.col_bits), "push_act": In(signed(p.act_bits)), "w_rdy": Out(1),
        "free": Out(1), "queue_empty": Out(1), "bcast_stall": In(1), "layer_start": In(1),
        "ptr_base": In(p.ptr_addr_bits), "batch": In(range(max(2, p.max_row_batches))), "batch_start": In(1),
        "br": In(p.act_addr_bits), "ibr": In(p.act_addr_bits), "step": In(p.act_addr_bits),
        "load_step": In(1), "write_step": In(1),
        "src_addr": In(p.slot_bits), "src_data": Out(signed(p.act_bits)), "nz": Out(p.max_src),
        "out_sel": In(1), "out_addr": In(p.act_addr_bits), "out_data": Out(signed(p.act_bits)),
        "out_shift": In(signed(8)), "relu": In(1), "saturated": Out(1), "out_ack": In(1), "count_reads": In(1),
        "ptr_cap": In(32), "spmat_cap_words": In(32), "act_cap": In(32),
        "load_pe_sel": In(1),
        **load_signature(p),
    }
    if p.counters:
        sig.update(ctr_sel=In(6), ctr_value=Out(32))
    return sig


class ProcessingElement(wiring.Component):
    """A PE: queue, pointer read, spmat read, arithmetic unit and activation read/write, with
    its event counters (``PE_COUNTERS``, read through ``ctr_sel`` / ``ctr_value``). ``index``
    names its SRAM macros (``pe<index>_spmat`` ...) for the preload files."""

    def __init__(self, p: PEParams, index: int = 0):
        self.p = p
        self.index = index
        super().__init__(pe_signature(p))

    def elaborate(self, platform):
        m = Module()
        p = self.p
        tag = f"pe{self.index}"
        m.submodules.queue = q = ActivationQueue(p)
        m.submodules.ptr = ptr = PointerRead(p, tag)
        m.submodules.spmat = sp = SpmatRead(p, tag)
        m.submodules.arith = ar = ArithmeticUnit(p)
        m.submodules.actrw = act = ActivationRW(p, tag)
        m.submodules.base = base_mem = Memory(shape=p.entry_addr_bits, depth=p.max_row_batches, init=[])
        base_rd, base_wr = base_mem.read_port(domain="comb"), base_mem.write_port()
        load_en = self.load_en & self.load_pe_sel
        for unit in (ptr, sp, ar, act):
            m.d.comb += [unit.load_en.eq(load_en), unit.load_target.eq(self.load_target),
                         unit.load_addr.eq(self.load_addr), unit.load_data.eq(self.load_data)]
        m.d.comb += [base_wr.addr.eq(self.load_addr), base_wr.data.eq(self.load_data),
                     base_wr.en.eq(load_en & (self.load_target == LOAD_BASE)), base_rd.addr.eq(self.batch)]
        m.d.comb += [q.w_en.eq(self.push), q.w_col.eq(self.push_col), q.w_act.eq(self.push_act), self.w_rdy.eq(q.w_rdy),
                     self.queue_empty.eq(q.level == 0)]
        rem = Signal(p.ptr_bits)
        addr = Signal(p.entry_addr_bits)
        a_reg = Signal(signed(p.act_bits))
        first = Signal()
        pop = Signal()
        issue = Signal()
        m.d.comb += [
            ptr.col.eq(q.r_col), ptr.ptr_base.eq(self.ptr_base),
            issue.eq(rem != 0),
            pop.eq(q.r_rdy & (rem <= 1)),
            q.r_en.eq(pop),
            self.free.eq(rem <= 1),
            sp.addr.eq(addr), sp.en.eq(issue), sp.batch_start.eq(self.batch_start),
        ]
        with m.If(pop):
            m.d.sync += [rem.eq(ptr.end - ptr.start), addr.eq(base_rd.data + ptr.start), a_reg.eq(q.r_act), first.eq(1)]
        with m.Elif(issue):
            m.d.sync += [rem.eq(rem - 1), addr.eq(addr + 1), first.eq(0)]
        # stage 0 -> 1 alongside the synchronous spmat read
        s1_valid, s1_first = Signal(), Signal()
        s1_act = Signal(signed(p.act_bits))
        m.d.sync += [s1_valid.eq(issue), s1_first.eq(first), s1_act.eq(a_reg)]
        m.d.comb += [ar.valid.eq(s1_valid), ar.first.eq(s1_first), ar.v.eq(sp.v), ar.z.eq(sp.z), ar.act.eq(s1_act)]
        m.d.comb += [act.add_valid.eq(ar.out_valid), act.add_row.eq(ar.out_row), act.add_prod.eq(ar.out_prod)]
        for name in ("layer_start", "batch_start", "br", "ibr", "step", "load_step", "write_step", "src_addr", "out_sel", "out_addr",
                     "out_shift", "relu", "act_cap", "out_ack", "count_reads"):
            m.d.comb += getattr(act, name).eq(getattr(self, name))
        m.d.comb += [self.src_data.eq(act.src_data), self.nz.eq(act.nz), self.out_data.eq(act.out_data),
                     self.saturated.eq(act.saturated)]
        if p.counters:
            empty = ptr.end == ptr.start
            events = {
                "queue_pushes": self.push, "queue_pops": pop,
                "ptr_sram_reads": pop * ((ptr.addr < self.ptr_cap) + (ptr.addr + 1 < self.ptr_cap)),
                "ptr_dram_reads": pop * ((ptr.addr >= self.ptr_cap) + (ptr.addr + 1 >= self.ptr_cap)),
                "spmat_sram_reads": sp.word_read & (sp.word < self.spmat_cap_words),
                "spmat_dram_reads": sp.word_read & (sp.word >= self.spmat_cap_words),
                "macs_real": s1_valid & (sp.v != 0), "macs_padding": s1_valid & (sp.v == 0),
                "busy_cycles": issue + (pop & empty),  # max(e, 1) per column, as the model
                "blocked_cycles": self.bcast_stall & ~q.w_rdy,
                **act.events,
            }
            add_counters(m, [events[name] for name in PE_COUNTERS], self.layer_start, self.ctr_sel, self.ctr_value)
        return m


def add_counters(m: Module, events: list, clear, sel, value) -> None:
    """32-bit event counters, one per entry of ``events`` (a 1-bit or small unsigned increment
    each cycle), restarted by ``clear`` (from that cycle's increment); ``value`` is counter ``sel``."""
    regs = [Signal(32, name=f"ctr{i}") for i in range(len(events))]
    for r, ev in zip(regs, events):
        with m.If(clear):
            m.d.sync += r.eq(ev)
        with m.Else():
            m.d.sync += r.eq(r + ev)
    with m.Switch(sel):
        for i, r in enumerate(regs):
            with m.Case(i):
                m.d.comb += value.eq(r)
