"""The activation read/write unit of a PE (EIE paper, section IV, "Activation Read/Write"):
source and destination registers, the initial-accumulator (bias) memory and the activation
SRAM that holds vectors longer than the registers.

* Source registers (``max_src`` of ``act_bits``, flip-flops): read by the broadcast; each has a
  non-zero flag (``nz``) for the leading-non-zero detection. Loaded before a layer through the
  load port, or, for inputs longer than the registers, from the activation SRAM one per cycle
  at the start of each input batch (``load_step``: register ``step`` := slot ``ibr + step``).
* Destination registers (``max_rows`` accumulators of ``acc_bits``): a valid bit each, cleared
  at the start of every row batch; an invalid register reads as its initial value (bias) from
  the bias memory (local row ``br + r``), so initialising a row batch costs no cycle. Each
  product is added with saturation (golden contract, step 3).
* Read-out (golden contract, step 4): y = sat_B(round(acc >> s)) for s >= 0, sat_B(acc << -s)
  for s < 0, then ReLU. Outputs longer than the registers are written to the activation SRAM at
  the end of each row batch, one per cycle (``write_step``: slot ``out_base + br + step``).
* Saturation counters (with ``p.counters``; :mod:`eie_sim.contract.saturation`): ``sat_acc``
  counts the additions the saturating adder clipped; ``sat_out`` the outputs the read-out
  clipped (after ReLU only the positive side), each once per layer: at the write to the
  activation SRAM (outputs longer than the registers), else at the first acknowledgement
  (``out_ack``, while ``count_reads``) of a read of that local row by the bench.
"""

from __future__ import annotations

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .params import LOAD_ACC, LOAD_ACT, LOAD_CONFIG, LOAD_SRC, PE_CFG, PEParams
from .sram import SRAM

__all__ = ["ActivationRW", "requantize", "EVENTS"]

#: counter increments of the unit (see :data:`eie_rtl.params.PE_COUNTERS`)
EVENTS = ("dest_reg_reads", "dest_reg_writes", "src_reg_writes", "act_sram_reads", "act_dram_reads",
          "act_sram_writes", "act_dram_writes", "sat_acc", "sat_out")


def requantize(m: Module, a, shift, relu, acc_bits: int, act_bits: int, clipped=None):
    """Signal: accumulator ``a`` (signed ``acc_bits``) rescaled by 2**-shift (``shift`` signed
    8 bits; round half up for shift > 0, left shift for shift < 0), saturated to ``act_bits``,
    ReLU'd if ``relu``. As :func:`eie_sim.contract.fixedpoint.round_shift`; shifts below
    -act_bits saturate every non-zero value, as -act_bits does. ``clipped`` (a 1-bit signal, if
    given) is driven high when the value saturated and ReLU does not zero it (as
    :func:`eie_sim.contract.fixedpoint.count_shift_saturated` with ``positive_only=relu``)."""
    B = act_bits
    neg = Signal()
    sp = Signal(7)
    sn = Signal(range(B + 1))
    m.d.comb += [neg.eq(shift < 0), sp.eq(Mux(neg, 0, shift[:7]))]
    m.d.comb += sn.eq(Mux(neg, Mux(-shift > B, B, -shift), 0))
    half = Signal(acc_bits + 1)
    m.d.comb += half.eq((Const(1, acc_bits + 2) << sp) >> 1)  # 2**(s-1), 0 for s = 0
    right = Signal(signed(acc_bits + 1))
    # for s > acc_bits every accumulator value rounds to 0 (|acc| < 2**(s-2)), as in the golden model
    m.d.comb += right.eq(Mux(sp > acc_bits, 0, (a + half) >> sp))
    lim = 1 << (B - 1)
    clamped = Signal(signed(B + 1))
    m.d.comb += clamped.eq(Mux(a > lim, lim, Mux(a < -lim, -lim, a)))
    left = Signal(signed(2 * B + 2))
    m.d.comb += left.eq(clamped << sn)
    val = Signal(signed(max(acc_bits + 1, 2 * B + 2)))
    m.d.comb += val.eq(Mux(neg, left, right))
    ymax, ymin = (1 << (B - 1)) - 1, -(1 << (B - 1))
    y = Signal(signed(B))
    m.d.comb += y.eq(Mux(val > ymax, ymax, Mux(val < ymin, ymin, val)))
    out = Signal(signed(B))
    m.d.comb += out.eq(Mux(relu & (y < 0), 0, y))
    if clipped is not None:
        m.d.comb += clipped.eq((val > ymax) | ((val < ymin) & ~relu))
    return out


class ActivationRW(wiring.Component):
    """Source and destination registers, bias memory and activation SRAM of one PE (module
    docstring). ``ev_*`` outputs: the unit's counter increments (:data:`EVENTS`; slots from
    ``act_cap`` on count as DRAM, as in the cycle model)."""

    def __init__(self, p: PEParams, tag: str = "pe0"):
        self.p = p
        self.tag = tag
        A = p.act_addr_bits
        super().__init__({
            "layer_start": In(1), "batch_start": In(1), "br": In(A), "ibr": In(A), "step": In(A),
            "load_step": In(1), "write_step": In(1),
            "src_addr": In(p.slot_bits), "src_data": Out(signed(p.act_bits)), "nz": Out(p.max_src),
            "add_valid": In(1), "add_row": In(p.row_bits), "add_prod": In(signed(2 * p.act_bits)),
            "out_sel": In(1), "out_addr": In(A), "out_data": Out(signed(p.act_bits)),  # out_sel 1: SRAM slot out_base + out_addr
            "out_shift": In(signed(8)), "relu": In(1), "saturated": Out(1), "act_cap": In(32),
            "out_ack": In(1), "count_reads": In(1),  # a read-out of local row out_addr acknowledged (sat_out)
            "load_en": In(1), "load_target": In(3), "load_addr": In(p.load_addr_bits), "load_data": In(p.data_bits),
            **{f"ev_{name}": Out(2 if name == "dest_reg_reads" else 1) for name in EVENTS},
        })

    @property
    def events(self) -> dict:
        """The counter increments of this unit, by counter name."""
        return {name: getattr(self, f"ev_{name}") for name in EVENTS}

    def elaborate(self, platform):
        m = Module()
        p = self.p
        A = p.act_addr_bits
        ld = self.load_en
        # ---- per-PE configuration
        n_in, n_out, out_base = Signal(A + 1), Signal(A + 1), Signal(A + 1)
        with m.If(ld & (self.load_target == LOAD_CONFIG)):
            for reg, addr in ((n_in, PE_CFG["n_in"]), (n_out, PE_CFG["n_out"]), (out_base, PE_CFG["out_base"])):
                with m.If(self.load_addr == addr):
                    m.d.sync += reg.eq(self.load_data)
        # ---- memories
        m.submodules.bias = bias = SRAM(p.acc_bits, p.bias_words, comb_reads=2, macro=p.macros, tag=f"{self.tag}_bias",
                                        shape=signed(p.acc_bits))
        m.submodules.act = act = SRAM(p.act_bits, p.act_words, comb_reads=1, macro=p.macros, tag=f"{self.tag}_act",
                                      shape=signed(p.act_bits))
        m.submodules.acc = acc = Memory(shape=signed(p.acc_bits), depth=p.max_rows, init=[])
        acc_rd, acc_out, acc_wr = acc.read_port(domain="comb"), acc.read_port(domain="comb"), acc.write_port()
        valid = Signal(p.max_rows)
        src = Array(Signal(signed(p.act_bits), name=f"src{i}") for i in range(p.max_src))
        m.d.comb += self.nz.eq(Cat(r != 0 for r in src))
        m.d.comb += self.src_data.eq(src[self.src_addr])
        # ---- input batch load: register `step` := activation SRAM slot `ibr + step`
        slot_in = Signal(A + 1)
        loading = Signal()
        m.d.comb += [slot_in.eq(self.ibr + self.step), loading.eq(self.load_step & (slot_in < n_in))]
        m.d.comb += act.r0_addr.eq(Mux(self.load_step, slot_in, Mux(self.out_sel, out_base + self.out_addr, self.out_addr)))
        with m.If(loading):
            m.d.sync += src[self.step[: p.slot_bits]].eq(act.r0_data)
        with m.Elif(ld & (self.load_target == LOAD_SRC)):
            m.d.sync += src[self.load_addr[: p.slot_bits]].eq(self.load_data)
        # ---- accumulate: acc[row] = sat(initial-or-acc + product)
        hi, lo = (1 << (p.acc_bits - 1)) - 1, -(1 << (p.acc_bits - 1))
        m.d.comb += [acc_rd.addr.eq(self.add_row), bias.r0_addr.eq(self.br + self.add_row)]
        cur = Mux(valid.bit_select(self.add_row, 1), acc_rd.data, bias.r0_data)
        total = Signal(signed(p.acc_bits + 1))
        sat = Signal(signed(p.acc_bits))
        add_clipped = Signal()
        m.d.comb += [total.eq(cur + self.add_prod), sat.eq(Mux(total > hi, hi, Mux(total < lo, lo, total))),
                     add_clipped.eq(self.add_valid & ((total > hi) | (total < lo)))]
        m.d.comb += [acc_wr.addr.eq(self.add_row), acc_wr.data.eq(sat), acc_wr.en.eq(self.add_valid)]
        with m.If(self.layer_start):
            m.d.sync += self.saturated.eq(0)
        with m.Elif(add_clipped):
            m.d.sync += self.saturated.eq(1)
        with m.If(self.batch_start):
            m.d.sync += valid.eq(0)
        with m.Elif(self.add_valid):
            m.d.sync += valid.bit_select(self.add_row, 1).eq(1)
        # ---- read-out: to the activation SRAM at the end of a row batch, or to the bench
        rd_row = Signal(p.row_bits)
        m.d.comb += rd_row.eq(Mux(self.write_step, self.step, self.out_addr))
        m.d.comb += [acc_out.addr.eq(rd_row), bias.r1_addr.eq(self.br + rd_row)]
        value = Mux(valid.bit_select(rd_row, 1), acc_out.data, bias.r1_data)
        y_clipped = Signal() if p.counters else None
        y = requantize(m, value, self.out_shift, self.relu, p.acc_bits, p.act_bits, y_clipped)
        row_out = Signal(A + 1)
        writing = Signal()
        slot_out = Signal(A + 2)
        m.d.comb += [row_out.eq(self.br + self.step), writing.eq(self.write_step & (row_out < n_out)),
                     slot_out.eq(out_base + row_out)]
        m.d.comb += [
            act.w_en.eq(writing | (ld & (self.load_target == LOAD_ACT))),
            act.w_addr.eq(Mux(writing, slot_out, self.load_addr)),
            act.w_data.eq(Mux(writing, y, self.load_data)),
            bias.w_en.eq(ld & (self.load_target == LOAD_ACC)), bias.w_addr.eq(self.load_addr), bias.w_data.eq(self.load_data),
        ]
        m.d.comb += self.out_data.eq(Mux(self.out_sel, act.r0_data, y))
        cap = self.act_cap
        m.d.comb += [
            self.ev_dest_reg_reads.eq(self.add_valid + writing), self.ev_dest_reg_writes.eq(self.add_valid),
            self.ev_src_reg_writes.eq(loading),
            self.ev_act_sram_reads.eq(loading & (slot_in < cap)), self.ev_act_dram_reads.eq(loading & (slot_in >= cap)),
            self.ev_act_sram_writes.eq(writing & (slot_out < cap)), self.ev_act_dram_writes.eq(writing & (slot_out >= cap)),
        ]
        if p.counters:  # the saturation counters only where counters are built (not for synthesis)
            m.d.comb += self.ev_sat_acc.eq(add_clipped)
            # sat_out: each output once, when written to the activation SRAM, or else at the
            # first acknowledged read of its row (a row read again, or held high, counts once)
            counted = Signal(p.max_rows)
            ack = Signal()
            m.d.comb += ack.eq(self.out_ack & self.count_reads & ~self.out_sel & ~self.write_step & (self.out_addr < n_out)
                               & (self.out_addr < p.max_rows) & ~counted.bit_select(rd_row, 1))
            with m.If(self.layer_start):
                m.d.sync += counted.eq(0)
            with m.Elif(ack):
                m.d.sync += counted.bit_select(rd_row, 1).eq(1)
            m.d.comb += self.ev_sat_out.eq((writing | ack) & y_clipped)
        return m
