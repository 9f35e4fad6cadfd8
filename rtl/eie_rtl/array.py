"""The PE array: N processing elements, the leading-non-zero detection (LNZD) quadtree and the
central control unit that broadcasts non-zero activations (EIE paper, section IV).

Timing is the cycle model's (``eie_sim.cycle.kernels``, including "Long vectors"); cycle 0 is
the first cycle after ``start``. A layer runs row batch by row batch; each row batch runs one
pass per input batch:

* LOAD (inputs longer than the registers, ``n_cols > R = n_pe x max_src``): each PE loads its
  source registers from its activation SRAM, one per cycle, for as many cycles as PE 0 (which
  holds the most) loads.
* PASS: the first broadcast leaves ``lnzd_levels(n_pe)`` cycles after the pass starts (the
  quadtree's latency, here a start delay: the tree itself is combinational); then at most one a
  cycle, in index order, only while no queue is full (registered full flags). The pass ends in
  the cycle T every PE is free with an empty queue and nothing is left to broadcast; the next
  input batch's LOAD follows from T + 1, and its PASS's first broadcast at T + load + L.
* DRAIN: four more cycles empty the pipeline (the model's ``DRAIN_CYCLES`` = 5 counts T).
* WRITE (outputs longer than the registers): each PE writes its row batch's outputs to its
  activation SRAM, one per cycle, for as many cycles as PE 0 writes.

``done`` rises after the last row batch; the cycle counter then reads the model's count.
"""

from __future__ import annotations

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from eie_sim.cycle.kernels import lnzd_levels

from .params import ARRAY_COUNTER_BASE, ARRAY_COUNTERS, CFG, LOAD_CONFIG, LOAD_SRC, PEParams
from .pe import ProcessingElement, add_counters

__all__ = ["LNZDNode", "PEArray", "lnzd_levels"]

IDLE, LOAD, PASS, DRAIN, WRITE = range(5)


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
    """N PEs with the broadcast network and the row/input batch control. Memories are written
    through the load port (``load_pe`` picks the PE; LOAD_SRC addresses are global input indices
    j, routed to PE j % N at register j // N) or, in Verilator builds with SRAM macros, preloaded
    from files; configuration registers (``CFG``, ``PE_CFG``) through LOAD_CONFIG. With
    ``load_all`` a write goes to every PE (the same ``load_data``; for LOAD_SRC, register
    ``load_addr`` of PE k takes slice k of ``load_wide``: N inputs a cycle). ``start`` runs the
    layer; once ``done`` is high, outputs are read through ``out_pe`` / ``out_addr`` (local row;
    ``out_sel`` 0: the destination registers, 1: the outputs written to the activation SRAM),
    or all PEs' at once on ``out_wide``. ``cycles`` counts from the cycle after ``start`` to the
    cycle ``done`` rises, inclusive; ``ctr_sel`` reads the event counters of PE ``ctr_pe`` on
    ``ctr_value`` (all PEs' on ``ctr_wide``; ``ctr_sel`` >= ARRAY_COUNTER_BASE: the array's).

    Saturated outputs (counter ``sat_out``) are counted where outputs leave the array: at the
    write to the activation SRAM (layers with more outputs than registers), or else when the
    bench acknowledges a read-out: ``out_ack`` high for a clock cycle, once ``done``, with
    ``out_addr`` = r counts the saturated outputs of local row r of every PE. Each row counts
    once per layer however often it is acknowledged, so read every row (``out_wide``, or
    ``out_data`` of each PE) and acknowledge each before reading the counters."""

    def __init__(self, n_pe: int, p: PEParams, max_inputs: int | None = None):
        if not isinstance(n_pe, int) or not 1 <= n_pe <= 256:
            raise ValueError(f"n_pe must be an integer in 1..256, not {n_pe!r}")
        self.n_pe = n_pe
        self.p = p
        self.regs_total = n_pe * p.max_src  # R: inputs per pass
        self.levels_tree = lnzd_levels(self.regs_total)
        sig = {
            "start": In(1), "busy": Out(1), "done": Out(1), "cycles": Out(32), "broadcasts": Out(32),
            "load_en": In(1), "load_target": In(3), "load_pe": In(range(max(2, n_pe))), "load_all": In(1),
            "load_addr": In(p.load_addr_bits), "load_data": In(p.data_bits), "load_wide": In(n_pe * p.act_bits),
            "out_pe": In(range(max(2, n_pe))), "out_sel": In(1), "out_addr": In(p.act_addr_bits),
            "out_data": Out(signed(p.act_bits)), "out_wide": Out(n_pe * p.act_bits), "saturated": Out(1),
            "out_ack": In(1),
        }
        if p.counters:
            sig.update(ctr_pe=In(range(max(2, n_pe))), ctr_sel=In(6), ctr_value=Out(32), ctr_wide=Out(32 * n_pe))
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        p, N, R = self.p, self.n_pe, self.regs_total
        pes = []
        for k in range(N):
            pe = ProcessingElement(p, index=k)
            m.submodules[f"pe{k}"] = pe
            pes.append(pe)
        cfg = {name: Signal(32 if name not in ("out_shift", "relu") else (8 if name == "out_shift" else 1), name=f"cfg_{name}")
               for name in CFG}
        is_src = self.load_target == LOAD_SRC
        with m.If(self.load_en & (self.load_target == LOAD_CONFIG)):
            for name, addr in CFG.items():
                with m.If(self.load_addr == addr):
                    m.d.sync += cfg[name].eq(self.load_data)
        src_pe = Signal(range(max(2, N)))
        src_local = Signal(p.load_addr_bits)
        m.d.comb += [src_pe.eq(self.load_addr % N if N > 1 else 0), src_local.eq(self.load_addr // N if N > 1 else self.load_addr)]

        # ---- control state
        state = Signal(range(5))
        b, ib = Signal(16), Signal(16)  # row batch, input batch
        A = p.act_addr_bits
        br, ibr = Signal(A + 1), Signal(A + 1)  # b * max_rows, ib * max_src
        ibR = Signal(32)  # ib * R: global index of the pass's first input
        ptr_base = Signal(p.ptr_addr_bits + 1)  # b * (n_cols + 1)
        rows_left = Signal(32)
        step = Signal(A + 1)
        delay = Signal(range(lnzd_levels(N) + 1))
        next_delay = Signal.like(delay)
        pos = Signal(range(R + 1))  # next input of the pass to consider
        cycles = Signal(32)
        batch_start = Signal()
        layer_start = self.start
        long_in = Signal()
        long_out = Signal()
        m.d.comb += [long_in.eq(cfg["n_cols"] > R), long_out.eq(cfg["n_rows"] > R)]
        load_len = Signal(A + 1)
        write_len = Signal(A + 1)
        m.d.comb += [
            load_len.eq(Mux(cfg["n_in0"] - ibr > p.max_src, p.max_src, cfg["n_in0"] - ibr)),
            write_len.eq(Mux(cfg["n_out0"] - br > p.max_rows, p.max_rows, cfg["n_out0"] - br)),
        ]
        limit = Signal(range(R + 1))  # inputs of this pass: min(R, n_cols - ib * R)
        m.d.comb += limit.eq(Mux(cfg["n_cols"] - ibR > R, R, cfg["n_cols"] - ibR))

        wide_src = is_src & self.load_all
        for k, pe in enumerate(pes):
            m.d.comb += [
                pe.load_en.eq(self.load_en),
                pe.load_pe_sel.eq(self.load_all | Mux(is_src, src_pe == k, self.load_pe == k)),
                pe.load_target.eq(self.load_target),
                pe.load_addr.eq(Mux(is_src & ~self.load_all, src_local, self.load_addr)),
                pe.load_data.eq(Mux(wide_src, self.load_wide.word_select(k, p.act_bits), self.load_data)),
                pe.out_shift.eq(cfg["out_shift"]), pe.relu.eq(cfg["relu"]), pe.out_addr.eq(self.out_addr),
                pe.out_sel.eq(self.out_sel),
                pe.ptr_cap.eq(cfg["ptr_cap"]), pe.spmat_cap_words.eq(cfg["spmat_cap_words"]), pe.act_cap.eq(cfg["act_cap"]),
                pe.ptr_base.eq(ptr_base), pe.batch.eq(b), pe.br.eq(br), pe.ibr.eq(ibr), pe.step.eq(step),
                pe.load_step.eq(state == LOAD), pe.write_step.eq(state == WRITE),
                pe.batch_start.eq(batch_start), pe.layer_start.eq(layer_start),
                pe.out_ack.eq(self.out_ack), pe.count_reads.eq(self.done & ~long_out),
            ]
        with m.Switch(self.out_pe):
            for k, pe in enumerate(pes):
                with m.Case(k):
                    m.d.comb += self.out_data.eq(pe.out_data)
        m.d.comb += [self.saturated.eq(Cat(pe.saturated for pe in pes).any()), self.out_wide.eq(Cat(pe.out_data for pe in pes))]

        # ---- LNZD quadtree over the non-zero flags of this pass's inputs not yet broadcast;
        # input i of the pass (global ib * R + i) is register i // N of PE i % N
        flags = Signal(R)
        m.d.comb += flags.eq(Cat(pes[i % N].nz[i // N] for i in range(R)))
        width = 4 ** self.levels_tree
        pending = Signal(width)
        m.d.comb += pending.eq(flags & ~((Const(1, R + 1) << pos) - 1) & ((Const(1, R + 1) << limit) - 1))
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
        found, found_i = valids[0], indices[0]

        # ---- broadcast
        bcast = Signal()
        want = Signal()
        all_ready = Cat(pe.w_rdy for pe in pes).all()
        all_free = Cat(pe.free & pe.queue_empty for pe in pes).all()
        bcast_act = Signal(signed(p.act_bits))
        j_pe = Signal(range(max(2, N)))
        m.d.comb += j_pe.eq(found_i % N if N > 1 else 0)
        for pe in pes:
            m.d.comb += pe.src_addr.eq(found_i // N if N > 1 else found_i)
        with m.Switch(j_pe):
            for k, pe in enumerate(pes):
                with m.Case(k):
                    m.d.comb += bcast_act.eq(pe.src_data)
        in_pass = (state == PASS) & (delay == 0)
        pass_end = Signal()
        m.d.comb += [want.eq(in_pass & found), bcast.eq(want & all_ready), pass_end.eq(in_pass & ~found & all_free)]
        for pe in pes:
            m.d.comb += [pe.push.eq(bcast), pe.push_col.eq(ibR + found_i), pe.push_act.eq(bcast_act),
                         pe.bcast_stall.eq(want & ~all_ready)]
        m.d.comb += [self.busy.eq(state != IDLE), self.cycles.eq(cycles)]

        # ---- control
        first_state = Mux(long_in, LOAD, PASS)
        last_batch = b + 1 >= cfg["row_batches"]
        batch_end = Signal()
        m.d.comb += batch_end.eq(((state == DRAIN) & (step == 3) & ~long_out)
                                 | ((state == WRITE) & (step + 1 >= write_len)))
        m.d.comb += batch_start.eq(layer_start | (batch_end & ~last_batch))

        def begin_batch():  # the first pass (or load) of a row batch
            return [state.eq(first_state), step.eq(0), pos.eq(0), delay.eq(lnzd_levels(N)),
                    next_delay.eq(lnzd_levels(N)), ib.eq(0), ibr.eq(0), ibR.eq(0)]

        with m.If(layer_start):
            m.d.sync += [*begin_batch(), self.done.eq(0), cycles.eq(0), b.eq(0), br.eq(0), ptr_base.eq(0),
                         rows_left.eq(cfg["n_rows"]), self.broadcasts.eq(0)]
        with m.Elif(state != IDLE):
            with m.If(bcast):
                m.d.sync += self.broadcasts.eq(self.broadcasts + 1)
            m.d.sync += cycles.eq(cycles + 1)
            with m.Switch(state):
                with m.Case(LOAD):
                    m.d.sync += step.eq(step + 1)
                    with m.If(step + 1 >= load_len):
                        m.d.sync += [state.eq(PASS), delay.eq(next_delay), pos.eq(0)]
                with m.Case(PASS):
                    with m.If(delay != 0):
                        m.d.sync += delay.eq(delay - 1)
                    with m.Elif(bcast):
                        m.d.sync += pos.eq(found_i + 1)
                    with m.Elif(pass_end):
                        with m.If(ib + 1 < cfg["input_batches"]):
                            m.d.sync += [state.eq(LOAD), step.eq(0), ib.eq(ib + 1), ibr.eq(ibr + p.max_src),
                                         ibR.eq(ibR + R), next_delay.eq(lnzd_levels(N) - 1)]
                        with m.Else():
                            m.d.sync += [state.eq(DRAIN), step.eq(0)]
                with m.Case(DRAIN):
                    m.d.sync += step.eq(step + 1)
                    with m.If((step == 3) & long_out):
                        m.d.sync += [state.eq(WRITE), step.eq(0)]
                with m.Case(WRITE):
                    m.d.sync += step.eq(step + 1)
            with m.If(batch_end):
                with m.If(last_batch):
                    m.d.sync += [state.eq(IDLE), self.done.eq(1)]
                with m.Else():
                    m.d.sync += [*begin_batch(), b.eq(b + 1), br.eq(br + p.max_rows),
                                 ptr_base.eq(ptr_base + cfg["n_cols"] + 1), rows_left.eq(rows_left - R)]

        # ---- array event counters
        if p.counters:
            events = {
                "broadcasts": bcast, "passes": pass_end, "row_batches": batch_end,
                "issue_cycles": in_pass & ~pass_end, "src_reg_reads": bcast,
                "dest_reg_inits": Mux(batch_start, Mux(layer_start, Mux(cfg["n_rows"] > R, R, cfg["n_rows"]),
                                                       Mux(rows_left - R > R, R, rows_left - R)), 0),
            }
            array_value = Signal(32)
            add_counters(m, [events[name] for name in ARRAY_COUNTERS], layer_start, self.ctr_sel - ARRAY_COUNTER_BASE,
                         array_value)
            pe_value = Signal(32)
            for pe in pes:
                m.d.comb += pe.ctr_sel.eq(self.ctr_sel)
            with m.Switch(self.ctr_pe):
                for k, pe in enumerate(pes):
                    with m.Case(k):
                        m.d.comb += pe_value.eq(pe.ctr_value)
            m.d.comb += self.ctr_value.eq(Mux(self.ctr_sel >= ARRAY_COUNTER_BASE, array_value, pe_value))
            m.d.comb += self.ctr_wide.eq(Cat(pe.ctr_value for pe in pes))
        return m
