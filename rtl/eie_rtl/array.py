"""The PE array: N processing elements, the leading-non-zero detection (LNZD) quadtree and the
central control unit that broadcasts non-zero activations (EIE paper, section IV).

Timing is the cycle model's (``eie_sim.cycle.kernels``): cycle 0 is the first cycle after ``start``.
The first broadcast can leave ``lnzd_levels(n_pe)`` cycles later (the quadtree's latency, here a
start delay: the tree itself is combinational); then at most one a cycle, in index order, and
only while no queue is full (registered full flags). When every PE is free, its queue empty and
nothing is left to broadcast, four more cycles drain the pipeline and ``done`` rises: the
cycle counter then reads ``T_issue + 5``, the model's count.
"""

from __future__ import annotations

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from eie_sim.cycle.kernels import lnzd_levels

from .pe import LOAD_CONFIG, LOAD_SRC, PEParams, ProcessingElement

__all__ = ["LNZDNode", "PEArray", "lnzd_levels"]


class LNZDNode(wiring.Component):
    """Leading non-zero of four children: the first valid child (0 first) and its index."""

    def __init__(self, child_bits: int):
        if not isinstance(child_bits, int) or child_bits < 0:
            raise ValueError(f"child_bits must be a non-negative integer, not {child_bits!r}")
        self.child_bits = child_bits
        super().__init__({
            "valid_in": In(4), "index_in": In(max(1, 4 * child_bits)),
            "valid": Out(1), "index": Out(child_bits + 2),
        })

    def elaborate(self, platform):
        m = Module()
        w = self.child_bits
        m.d.comb += self.valid.eq(self.valid_in.any())

        def index_of(c):
            return Cat(self.index_in[c * w:(c + 1) * w], C(c, 2)) if w else C(c, 2)

        with m.If(self.valid_in[0]):
            m.d.comb += self.index.eq(index_of(0))
        for c in (1, 2, 3):
            with m.Elif(self.valid_in[c]):
                m.d.comb += self.index.eq(index_of(c))
        return m


class PEArray(wiring.Component):
    """N PEs with the broadcast network. Memories are written through the load port
    (``load_pe`` picks the PE; LOAD_SRC addresses are global activation indices j, routed to PE
    j % N at j // N), then ``start`` runs the layer; outputs are read through ``out_pe`` /
    ``out_addr`` once ``done`` is high. ``cycles`` counts from the cycle after ``start`` to the
    cycle ``done`` rises, inclusive."""

    def __init__(self, n_pe: int, p: PEParams, max_inputs: int):
        if not isinstance(n_pe, int) or not 1 <= n_pe <= 256:
            raise ValueError(f"n_pe must be an integer in 1..256, not {n_pe!r}")
        if not isinstance(max_inputs, int) or max_inputs < 1:
            raise ValueError(f"max_inputs must be a positive integer, not {max_inputs!r}")
        self.n_pe = n_pe
        self.p = p
        self.max_inputs = max_inputs
        self.levels_tree = lnzd_levels(max_inputs)
        super().__init__({
            "start": In(1), "busy": Out(1), "done": Out(1), "cycles": Out(32), "broadcasts": Out(32),
            "load_en": In(1), "load_target": In(3), "load_pe": In(range(max(2, n_pe))),
            "load_addr": In(max(16, (max(max_inputs, p.max_cols + 1, p.spmat_words, p.max_rows) - 1).bit_length())),
            "load_data": In(p.data_bits),
            "out_pe": In(range(max(2, n_pe))), "out_addr": In(range(p.max_rows)), "out_data": Out(signed(p.act_bits)),
            "saturated": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        p, N = self.p, self.n_pe
        pes = []
        for k in range(N):
            pe = ProcessingElement(p)
            m.submodules[f"pe{k}"] = pe
            pes.append(pe)
        out_shift = Signal(8)
        relu = Signal()
        # ---- load port: per-PE memories, source activations by global index, config
        nz = Signal(self.max_inputs)  # non-zero flags of the input activations
        src_pe = Signal(range(max(2, N)))
        src_local = Signal(range(max(2, p.max_src)))
        is_src = self.load_target == LOAD_SRC
        m.d.comb += [src_pe.eq(self.load_addr % N if N > 1 else 0), src_local.eq(self.load_addr // N if N > 1 else self.load_addr)]
        for k, pe in enumerate(pes):
            m.d.comb += [
                pe.load_en.eq(self.load_en),
                pe.load_pe_sel.eq(Mux(is_src, src_pe == k, self.load_pe == k)),
                pe.load_target.eq(self.load_target),
                pe.load_addr.eq(Mux(is_src, src_local, self.load_addr)),
                pe.load_data.eq(self.load_data),
                pe.out_shift.eq(out_shift), pe.relu.eq(relu), pe.out_addr.eq(self.out_addr),
            ]
        with m.If(self.load_en & is_src):
            m.d.sync += nz.bit_select(self.load_addr, 1).eq(self.load_data[: p.act_bits] != 0)
        with m.If(self.load_en & (self.load_target == LOAD_CONFIG)):
            with m.If(self.load_addr == 0):
                m.d.sync += out_shift.eq(self.load_data)
            with m.If(self.load_addr == 1):
                m.d.sync += relu.eq(self.load_data[0])
        with m.Switch(self.out_pe):
            for k, pe in enumerate(pes):
                with m.Case(k):
                    m.d.comb += self.out_data.eq(pe.out_data)
        m.d.comb += self.saturated.eq(Cat(pe.saturated for pe in pes).any())

        # ---- LNZD quadtree over the flags of not yet broadcast activations
        pos = Signal(range(self.max_inputs + 1))  # next index to consider
        width = 4 ** self.levels_tree
        pending = Signal(width)
        m.d.comb += pending.eq(nz & ~((Const(1, self.max_inputs + 1) << pos) - 1))
        valids, indices, bits = [pending[i] for i in range(width)], [None] * width, 0
        level = 0
        while len(valids) > 1:
            nv, ni = [], []
            for g in range(len(valids) // 4):
                node = LNZDNode(bits)
                m.submodules[f"lnzd_l{level}_{g}"] = node
                m.d.comb += node.valid_in.eq(Cat(valids[4 * g: 4 * g + 4]))
                if bits:
                    m.d.comb += node.index_in.eq(Cat(indices[4 * g: 4 * g + 4]))
                nv.append(node.valid)
                ni.append(node.index)
            valids, indices, bits, level = nv, ni, bits + 2, level + 1
        found, found_j = valids[0], indices[0]

        # ---- central control: start delay (LNZD latency), broadcast, completion
        delay = Signal(range(lnzd_levels(N) + 1))
        active = Signal()
        drain = Signal(range(5))
        draining = Signal()
        cycles = Signal(32)
        bcast = Signal()
        all_ready = Cat(pe.w_rdy for pe in pes).all()
        all_free = Cat(pe.free & pe.queue_empty for pe in pes).all()
        bcast_act = Signal(signed(p.act_bits))
        j_pe = Signal(range(max(2, N)))
        m.d.comb += j_pe.eq(found_j % N if N > 1 else 0)
        for pe in pes:
            m.d.comb += pe.src_addr.eq(found_j // N if N > 1 else found_j)
        with m.Switch(j_pe):
            for k, pe in enumerate(pes):
                with m.Case(k):
                    m.d.comb += bcast_act.eq(pe.src_data)
        m.d.comb += bcast.eq(active & (delay == 0) & found & all_ready)
        for pe in pes:
            m.d.comb += [pe.push.eq(bcast), pe.push_col.eq(found_j), pe.push_act.eq(bcast_act)]
        m.d.comb += [self.busy.eq(active | draining), self.cycles.eq(cycles)]
        with m.If(self.start):
            m.d.sync += [active.eq(1), draining.eq(0), self.done.eq(0), delay.eq(lnzd_levels(N)), pos.eq(0),
                         cycles.eq(0), self.broadcasts.eq(0)]
        with m.Elif(active):
            m.d.sync += cycles.eq(cycles + 1)
            with m.If(delay != 0):
                m.d.sync += delay.eq(delay - 1)
            with m.Elif(bcast):
                m.d.sync += [pos.eq(found_j + 1), self.broadcasts.eq(self.broadcasts + 1)]
            with m.Elif(~found & all_free):
                m.d.sync += [active.eq(0), draining.eq(1), drain.eq(3)]
        with m.Elif(draining):
            m.d.sync += cycles.eq(cycles + 1)
            with m.If(drain == 0):
                m.d.sync += [draining.eq(0), self.done.eq(1)]
            with m.Else():
                m.d.sync += drain.eq(drain - 1)
        return m
