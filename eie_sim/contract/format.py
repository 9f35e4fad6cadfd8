"""The EIE compressed-layer format (EIE paper, sections III-IV; Fig. 2 and 3).

A layer computes b = W a with W of shape (outputs x inputs) given as integer codes into a
codebook whose entry 0 is 0.0 ("no weight").

* Interleaving over N PEs: row i of W belongs to PE ``i % N`` as local row ``i // N``.
* Each PE stores its local rows in compressed sparse column (CSC) form: for column j, the
  non-zero local rows in ascending order, each as an entry (v, z) where v is the code and z the
  number of zero local rows since the previous entry of the column (or since local row 0).
* z has ``index_bits`` bits. When more than ``2**index_bits - 1`` zeros precede an entry,
  padding entries (v = 0, z = 2**index_bits - 1) are inserted, each standing for
  ``2**index_bits`` rows (its zeros and itself), until the rest fits. Padding is real work for
  the hardware: it is read and multiplied by zero.
* Column pointers per PE: ``ptr[0] = 0`` and ``ptr[j+1] - ptr[j]`` entries (padding included)
  in column j. Pointers have ``ptr_bits`` bits (17 by default; see :class:`ArchConfig`).
* Entries of ``weight_bits + index_bits`` bits are packed ``sram_width // entry_bits`` to an
  SRAM word, entry e at bit ``(e % per_word) * entry_bits`` of word ``e // per_word``, with
  ``v`` in the high bits: ``entry = (v << index_bits) | z``.

A PE whose entries (or pointers) exceed its spmat (or pointer) SRAM is legal: the overflow is
flagged per PE (``spmat_overflow_entries``, ``ptr_overflow``) so the simulator can charge the
DRAM traffic that streaming it costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .codebook import check_codebook
from ..config import ArchConfig, check_int
from ..errors import EncodingError, PointerOverflowError, describe

__all__ = [
    "PEColumns",
    "CompressedLayer",
    "Storage",
    "check_codes",
    "encode",
    "encode_for",
    "decode",
    "pack_fields",
    "unpack_fields",
    "deep_compression_entries",
    "split_rows",
]


@dataclass(frozen=True, eq=False)
class PEColumns:
    """One PE's slice of a layer: column pointers and the (v, z) entry streams.

    ptr: int64 array of n_cols + 1 pointers; v, z: uint8 arrays of ``ptr[-1]`` entries;
    n_local_rows: rows of W held by this PE.
    """

    ptr: np.ndarray
    v: np.ndarray
    z: np.ndarray
    n_local_rows: int

    @property
    def entries(self) -> int:
        """Entries stored, padding included."""
        return int(self.v.size)

    @property
    def padding(self) -> int:
        """Padding entries (v == 0)."""
        return int(np.count_nonzero(self.v == 0))

    @property
    def real(self) -> int:
        """Entries that hold a weight (v != 0)."""
        return self.entries - self.padding


@dataclass(frozen=True)
class Storage:
    """Storage of one layer in bits, per PE (arrays of length n_pe) and in total.

    EIE layout: v and z bits of every entry, ``n_cols + 1`` pointers of ``ptr_bits`` per PE and
    one codebook of ``2**weight_bits`` values of ``codebook_value_bits`` per PE (each PE's
    arithmetic unit holds its own copy). Deep Compression's count (Han et al., ICLR 2016,
    section 4): one relative-index stream for the whole layer (the N = 1 encoding, padding
    included), weight bits + index bits per entry, plus a codebook of 32-bit floats; no pointers.
    Both ratios are against the dense fp32 matrix (32 bits per weight).
    """

    v_bits: np.ndarray
    z_bits: np.ndarray
    ptr_bits: np.ndarray
    codebook_bits: np.ndarray
    spmat_words: np.ndarray
    dense_fp32_bits: int
    deep_compression_bits: int

    @property
    def per_pe_bits(self) -> np.ndarray:
        return self.v_bits + self.z_bits + self.ptr_bits + self.codebook_bits

    @property
    def total_bits(self) -> int:
        return int(self.per_pe_bits.sum())

    @property
    def ratio_eie(self) -> float:
        return self.dense_fp32_bits / self.total_bits

    @property
    def ratio_deep_compression(self) -> float:
        return self.dense_fp32_bits / self.deep_compression_bits

    def to_dict(self) -> dict:
        return {
            "v_bits": int(self.v_bits.sum()),
            "z_bits": int(self.z_bits.sum()),
            "ptr_bits": int(self.ptr_bits.sum()),
            "codebook_bits": int(self.codebook_bits.sum()),
            "total_bits": self.total_bits,
            "dense_fp32_bits": self.dense_fp32_bits,
            "deep_compression_bits": self.deep_compression_bits,
            "ratio_eie": self.ratio_eie,
            "ratio_deep_compression": self.ratio_deep_compression,
        }


@dataclass(frozen=True, eq=False)
class CompressedLayer:
    """A weight matrix in the EIE layout for ``n_pe`` PEs. Build with :func:`encode`.

    ``pes[k]`` holds PE k's :class:`PEColumns`. The SRAM parameters the layer was encoded for
    (``sram_width``, ``spmat_sram_kb``, ``ptr_sram_kb``) only set the capacity flags.
    """

    shape: tuple[int, int]
    n_pe: int
    weight_bits: int
    index_bits: int
    codebook: np.ndarray
    pes: tuple[PEColumns, ...]
    ptr_bits: int = 17
    sram_width: int = 64
    spmat_sram_kb: int = 128
    ptr_sram_kb: int = 32
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_rows(self) -> int:
        """Outputs (rows of W)."""
        return self.shape[0]

    @property
    def n_cols(self) -> int:
        """Inputs (columns of W)."""
        return self.shape[1]

    @property
    def entry_bits(self) -> int:
        return self.weight_bits + self.index_bits

    @property
    def entries_per_word(self) -> int:
        return self.sram_width // self.entry_bits

    @property
    def entries_per_pe(self) -> np.ndarray:
        return np.array([p.entries for p in self.pes], dtype=np.int64)

    @property
    def padding_per_pe(self) -> np.ndarray:
        return np.array([p.padding for p in self.pes], dtype=np.int64)

    @property
    def real_per_pe(self) -> np.ndarray:
        return self.entries_per_pe - self.padding_per_pe

    @property
    def nnz(self) -> int:
        """Non-zero weights (real entries)."""
        return int(self.real_per_pe.sum())

    @property
    def density(self) -> float:
        """Fraction of non-zero weights."""
        size = self.n_rows * self.n_cols
        return self.nnz / size if size else 0.0

    @property
    def ptr_bits_needed(self) -> int:
        """Bits the largest column pointer needs (the end of the fullest PE's entries)."""
        need = self._cache.get("ptr_bits_needed")
        if need is None:
            need = self._cache["ptr_bits_needed"] = max(int(p.ptr[-1]) for p in self.pes).bit_length()
        return need

    @property
    def spmat_capacity_entries(self) -> int:
        """Entries that fit one PE's sparse-matrix SRAM."""
        return (self.spmat_sram_kb * 8192 // self.sram_width) * self.entries_per_word

    @property
    def ptr_capacity(self) -> int:
        """Pointers that fit one PE's pointer SRAM."""
        return self.ptr_sram_kb * 8192 // self.ptr_bits

    @property
    def spmat_overflow_entries(self) -> np.ndarray:
        """Per PE, entries beyond the spmat SRAM (to be streamed from DRAM)."""
        return np.maximum(self.entries_per_pe - self.spmat_capacity_entries, 0)

    @property
    def ptr_overflow(self) -> np.ndarray:
        """Per PE, pointers beyond the pointer SRAM (to be streamed from DRAM)."""
        return np.full(self.n_pe, max(self.n_cols + 1 - self.ptr_capacity, 0), dtype=np.int64)

    def storage(self, codebook_value_bits: int = 16) -> Storage:
        """Storage accounting (bits); ``codebook_value_bits`` is the width of a codebook value
        in the PE (the activation width, 16 in EIE)."""
        check_int("codebook_value_bits", codebook_value_bits, 1, 64)
        ent = self.entries_per_pe
        dc_entries = self._cache.get("dc_entries")
        if dc_entries is None:
            dc_entries = deep_compression_entries(decode(self), self.index_bits)
            self._cache["dc_entries"] = dc_entries
        k = 1 << self.weight_bits
        return Storage(
            v_bits=ent * self.weight_bits,
            z_bits=ent * self.index_bits,
            ptr_bits=np.full(self.n_pe, (self.n_cols + 1) * self.ptr_bits, dtype=np.int64),
            codebook_bits=np.full(self.n_pe, k * codebook_value_bits, dtype=np.int64),
            spmat_words=-(-ent // self.entries_per_word),
            dense_fp32_bits=self.n_rows * self.n_cols * 32,
            deep_compression_bits=dc_entries * (self.weight_bits + self.index_bits) + k * 32,
        )

    def packed_spmat(self, pe: int) -> np.ndarray:
        """PE ``pe``'s entries packed into SRAM words: uint64 array (words, limbs of 64 bits)."""
        p = self.pes[check_int("pe", pe, 0, self.n_pe - 1)]
        fields = (p.v.astype(np.uint64) << np.uint64(self.index_bits)) | p.z.astype(np.uint64)
        return pack_fields(fields, self.entry_bits, self.sram_width)

    def validate(self, name: str = "layer") -> "CompressedLayer":
        """Check every structural invariant; raise EncodingError naming the first broken one."""
        rows, cols = self.shape
        check_int(f"{name}.n_rows", rows, 0)
        check_int(f"{name}.n_cols", cols, 0)
        check_int(f"{name}.n_pe", self.n_pe, 1, 1 << 16)
        check_int(f"{name}.weight_bits", self.weight_bits, 1, 8)
        check_int(f"{name}.index_bits", self.index_bits, 1, 8)
        check_int(f"{name}.ptr_bits", self.ptr_bits, 1, 40)
        check_int(f"{name}.sram_width", self.sram_width, self.entry_bits, 4096)
        check_codebook(self.codebook, self.weight_bits, name=f"{name}.codebook")
        if len(self.pes) != self.n_pe:
            raise EncodingError(f"{name}.pes: {len(self.pes)} PEs; expected n_pe = {self.n_pe}")
        S = 1 << self.index_bits
        for k, p in enumerate(self.pes):
            where = f"{name}.pes[{k}]"
            want_rows = len(range(k, rows, self.n_pe))
            if p.n_local_rows != want_rows:
                raise EncodingError(f"{where}.n_local_rows={p.n_local_rows}; expected {want_rows}")
            for fld, arr in (("ptr", p.ptr), ("v", p.v), ("z", p.z)):
                if not isinstance(arr, np.ndarray) or arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
                    raise EncodingError(f"{where}.{fld}: expected a 1-D integer array")
            if p.ptr.size != cols + 1:
                raise EncodingError(f"{where}.ptr: {p.ptr.size} pointers; expected n_cols + 1 = {cols + 1}")
            if p.ptr[0] != 0:
                raise EncodingError(f"{where}.ptr[0]={int(p.ptr[0])}; expected 0")
            d = np.diff(p.ptr)
            if np.any(d < 0):
                j = int(np.argmax(d < 0))
                raise EncodingError(f"{where}.ptr[{j + 1}]={int(p.ptr[j + 1])} < ptr[{j}]={int(p.ptr[j])}; expected non-decreasing")
            if p.v.size != p.z.size or int(p.ptr[-1]) != p.v.size:
                raise EncodingError(
                    f"{where}: ptr[-1]={int(p.ptr[-1])}, len(v)={p.v.size}, len(z)={p.z.size}; expected all equal"
                )
            if p.v.size and (p.v.min() < 0 or p.v.max() >= 1 << self.weight_bits):
                bad = int(p.v[(p.v < 0) | (p.v >= 1 << self.weight_bits)][0])
                raise EncodingError(f"{where}.v contains {bad}; expected codes 0..{(1 << self.weight_bits) - 1}")
            if p.z.size and (p.z.min() < 0 or p.z.max() >= S):
                bad = int(p.z[(p.z < 0) | (p.z >= S)][0])
                raise EncodingError(f"{where}.z contains {bad}; expected 0..{S - 1} (index_bits={self.index_bits})")
            if p.v.size:
                pad = p.v == 0
                if np.any(pad & (p.z != S - 1)):
                    e = int(np.argmax(pad & (p.z != S - 1)))
                    raise EncodingError(f"{where}: padding entry {e} has z={int(p.z[e])}; expected {S - 1}")
                last = p.ptr[1:][d > 0] - 1
                if np.any(p.v[last] == 0):
                    e = int(last[np.argmax(p.v[last] == 0)])
                    raise EncodingError(f"{where}: entry {e} is padding at the end of a column; expected a weight")
                _, row = _entry_rows(p)
                if row.size and row.max() >= p.n_local_rows:
                    raise EncodingError(
                        f"{where}: an entry lands on local row {int(row.max())}; the PE has {p.n_local_rows} rows"
                    )
        return self


def check_codes(codes, weight_bits: int, name: str = "codes") -> np.ndarray:
    """A 2-D integer matrix with values in 0..2**weight_bits - 1, as uint8; else EncodingError."""
    c = np.asarray(codes)
    if c.ndim != 2:
        raise EncodingError(f"{name}: expected a 2-D matrix (outputs x inputs), got shape {c.shape}")
    if not np.issubdtype(c.dtype, np.integer):
        if np.issubdtype(c.dtype, np.floating) and c.size and np.all(np.isfinite(c)) and np.all(c == np.round(c)):
            c = c.astype(np.int64)
        elif c.size == 0:
            c = c.astype(np.int64)
        else:
            raise EncodingError(f"{name}: expected integer codes, got dtype {c.dtype}")
    hi = (1 << weight_bits) - 1
    if c.size:
        bad = (c < 0) | (c > hi)
        if bad.any():
            i, j = (int(t) for t in np.argwhere(bad)[0])
            raise EncodingError(f"{name}[{i}, {j}]={int(c[i, j])}: expected a code in 0..{hi} (weight_bits={weight_bits})")
    return c.astype(np.uint8)


def _gaps(col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Zero rows before each entry within its column (entries sorted by column, then row)."""
    prev = np.empty_like(row)
    if row.size:
        prev[0] = -1
        prev[1:] = row[:-1]
        new_col = np.ones(row.size, dtype=bool)
        new_col[1:] = col[1:] != col[:-1]
        prev[new_col] = -1
    return row - prev - 1


def _csc_entries(local: np.ndarray, S: int):
    """Non-zeros of ``local`` in column-major order with their zero gaps and padding counts."""
    col, row = np.nonzero(local.T)  # sorted by column, then row
    gap = _gaps(col, row)
    return col, row, gap, gap // S


def _encode_pe(col, row, vals, n_cols: int, n_local_rows: int, S: int) -> PEColumns:
    """One PE's CSC (pointers, v, z with padding) from its real entries sorted by column, then row."""
    gap = _gaps(col, row)
    npad = gap // S
    n = row.size + int(npad.sum())
    pos = np.arange(row.size) + np.cumsum(npad)
    v = np.zeros(n, dtype=np.uint8)
    z = np.full(n, S - 1, dtype=np.uint8)
    v[pos] = vals
    z[pos] = gap % S
    counts = np.bincount(col, weights=npad + 1, minlength=n_cols).astype(np.int64)
    ptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return PEColumns(ptr=ptr, v=v, z=z, n_local_rows=n_local_rows)


def split_rows(layer: "CompressedLayer", rows_per_batch: int, batch: int | None = None) -> list[tuple[int, "CompressedLayer"]]:
    """Split a layer into row batches of ``rows_per_batch`` rows (a multiple of n_pe), each
    encoded as its own layer with the same interleaving: (first row, sub-layer) pairs.

    Works PE by PE on the compressed streams, without a dense matrix: row i of batch b is row
    ``b * rows_per_batch + i`` of the layer and stays on PE ``i % n_pe``. With ``batch`` given,
    only that batch is built (to keep one batch in memory at a time).
    """
    N = layer.n_pe
    if rows_per_batch % N:
        raise EncodingError(f"rows_per_batch={rows_per_batch}: expected a multiple of n_pe={N}")
    per_pe = rows_per_batch // N
    n_batches = max(1, -(-layer.n_rows // rows_per_batch))
    S = 1 << layer.index_bits
    wanted = range(n_batches) if batch is None else [batch]
    pes_by_batch = {b: [] for b in wanted}
    for k, p in enumerate(layer.pes):
        col, row = _entry_rows(p)
        real = p.v != 0
        col, row, vals = col[real], row[real], p.v[real]
        which = row // per_pe
        for b in wanted:
            sel = which == b
            n_local = len(range(k, min(layer.n_rows - b * rows_per_batch, rows_per_batch), N))
            pes_by_batch[b].append(_encode_pe(col[sel], row[sel] - b * per_pe, vals[sel], layer.n_cols, n_local, S))
    out = []
    for b, pes in pes_by_batch.items():
        r0 = b * rows_per_batch
        sub = CompressedLayer(
            shape=(min(rows_per_batch, layer.n_rows - r0), layer.n_cols), n_pe=N, weight_bits=layer.weight_bits,
            index_bits=layer.index_bits, codebook=layer.codebook, pes=tuple(pes), ptr_bits=layer.ptr_bits,
            sram_width=layer.sram_width, spmat_sram_kb=layer.spmat_sram_kb, ptr_sram_kb=layer.ptr_sram_kb,
        )
        out.append((r0, sub))
    return out


def deep_compression_entries(codes: np.ndarray, index_bits: int) -> int:
    """Entries (padding included) of one relative-index stream over the whole layer."""
    S = 1 << index_bits
    _, _, _, npad = _csc_entries(np.asarray(codes), S)
    return int(npad.size + npad.sum())


def encode(
    codes,
    codebook,
    *,
    n_pe: int,
    index_bits: int = 4,
    ptr_bits: int = 17,
    sram_width: int = 64,
    spmat_sram_kb: int = 128,
    ptr_sram_kb: int = 32,
) -> CompressedLayer:
    """Encode dense ``codes`` (outputs x inputs) with ``codebook`` in the EIE layout for ``n_pe`` PEs.

    ``weight_bits`` is log2 of the codebook length. Raises :class:`PointerOverflowError` (with
    ``bits_needed``) when a PE's pointers do not fit ``ptr_bits`` bits.
    """
    n_pe = check_int("n_pe", n_pe, 1, 1 << 16)
    index_bits = check_int("index_bits", index_bits, 1, 8)
    ptr_bits = check_int("ptr_bits", ptr_bits, 1, 40)
    cb = check_codebook(codebook)
    weight_bits = cb.size.bit_length() - 1
    sram_width = check_int("sram_width", sram_width, weight_bits + index_bits, 4096)
    spmat_sram_kb = check_int("spmat_sram_kb", spmat_sram_kb, 1, 1 << 20)
    ptr_sram_kb = check_int("ptr_sram_kb", ptr_sram_kb, 1, 1 << 20)
    c = check_codes(codes, weight_bits)
    rows, cols = c.shape
    S = 1 << index_bits
    pes = []
    for k in range(n_pe):
        local = c[k::n_pe]
        col, row = np.nonzero(local.T)  # sorted by column, then row
        pe = _encode_pe(col, row, local[row, col], cols, local.shape[0], S)
        if pe.entries > (1 << ptr_bits) - 1:
            need = pe.entries.bit_length()
            raise PointerOverflowError(
                f"PE {k} holds {pe.entries} entries: its pointers need {need} bits but ptr_bits={ptr_bits}; "
                f"use ptr_bits >= {need} or more PEs",
                bits_needed=need,
            )
        pes.append(pe)
    return CompressedLayer(
        shape=(rows, cols),
        n_pe=n_pe,
        weight_bits=weight_bits,
        index_bits=index_bits,
        codebook=cb,
        pes=tuple(pes),
        ptr_bits=ptr_bits,
        sram_width=sram_width,
        spmat_sram_kb=spmat_sram_kb,
        ptr_sram_kb=ptr_sram_kb,
    )


def encode_for(codes, codebook, config: ArchConfig) -> CompressedLayer:
    """:func:`encode` with every parameter taken from ``config``; the codebook must have
    ``2**config.weight_bits`` entries."""
    if not isinstance(config, ArchConfig):
        raise EncodingError(f"config={describe(config)}: expected an ArchConfig")
    check_codebook(codebook, config.weight_bits)
    return encode(
        codes,
        codebook,
        n_pe=config.n_pe,
        index_bits=config.index_bits,
        ptr_bits=config.ptr_bits,
        sram_width=config.sram_width,
        spmat_sram_kb=config.spmat_sram_kb,
        ptr_sram_kb=config.ptr_sram_kb,
    )


def _entry_rows(p: PEColumns) -> tuple[np.ndarray, np.ndarray]:
    """Column and local row of every entry of a PE (padding included)."""
    n_cols = p.ptr.size - 1
    col = np.repeat(np.arange(n_cols), np.diff(p.ptr))
    cs0 = np.zeros(p.z.size + 1, dtype=np.int64)
    np.cumsum(p.z.astype(np.int64) + 1, out=cs0[1:])
    row = cs0[1:] - cs0[p.ptr[:-1]][col] - 1
    return col, row


def decode(layer: CompressedLayer) -> np.ndarray:
    """Dense codes (uint8, outputs x inputs) of a compressed layer; exact inverse of :func:`encode`."""
    if not isinstance(layer, CompressedLayer):
        raise EncodingError(f"layer={describe(layer)}: expected a CompressedLayer")
    rows, cols = layer.shape
    out = np.zeros((rows, cols), dtype=np.uint8)
    for k, p in enumerate(layer.pes):
        col, row = _entry_rows(p)
        real = p.v != 0
        if real.any() and row[real].max() >= p.n_local_rows:
            raise EncodingError(f"layer.pes[{k}]: an entry lands on local row {int(row[real].max())}; the PE has {p.n_local_rows} rows")
        out[k + layer.n_pe * row[real], col[real]] = p.v[real]
    return out


def pack_fields(values, field_bits: int, word_bits: int) -> np.ndarray:
    """Pack unsigned ``values`` of ``field_bits`` bits, ``word_bits // field_bits`` per word,
    field s of a word at bit ``s * field_bits``. Returns uint64 (words, ceil(word_bits / 64))."""
    field_bits = check_int("field_bits", field_bits, 1, 64)
    word_bits = check_int("word_bits", word_bits, field_bits, 1 << 16)
    vals = np.asarray(values, dtype=np.uint64).ravel()
    if vals.size and field_bits < 64 and int(vals.max()) >> field_bits:
        raise EncodingError(f"values: {int(vals.max())} does not fit in field_bits={field_bits}")
    per = word_bits // field_bits
    n_words = -(-vals.size // per)
    limbs = -(-word_bits // 64)
    padded = np.zeros(n_words * per, dtype=np.uint64)
    padded[: vals.size] = vals
    padded = padded.reshape(n_words, per)
    words = np.zeros((n_words, limbs), dtype=np.uint64)
    for s in range(per):
        off = s * field_bits
        limb, sh = divmod(off, 64)
        words[:, limb] |= padded[:, s] << np.uint64(sh)
        if sh + field_bits > 64:
            words[:, limb + 1] |= padded[:, s] >> np.uint64(64 - sh)
    return words


def unpack_fields(words: np.ndarray, field_bits: int, word_bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_fields`: the first ``count`` fields as uint64."""
    words = np.asarray(words, dtype=np.uint64)
    per = word_bits // field_bits
    mask = np.uint64((1 << field_bits) - 1) if field_bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
    out = np.zeros((words.shape[0], per), dtype=np.uint64)
    for s in range(per):
        off = s * field_bits
        limb, sh = divmod(off, 64)
        f = words[:, limb] >> np.uint64(sh)
        if sh + field_bits > 64:
            f |= words[:, limb + 1] << np.uint64(64 - sh)
        out[:, s] = f & mask
    return out.ravel()[:count]
