"""Layer preparation for the cycle model: a layer encoded for the simulated configuration and
the arrays its Numba kernels read, each built once and cached.

A :class:`~eie_sim.contract.format.CompressedLayer` must match the configuration's n_pe,
weight_bits and index_bits; a :class:`~eie_sim.contract.model.ModelLayer` or a ``(codes,
codebook)`` pair is encoded for it (and cached on the layer or in a small LRU cache).
Layers with more rows than the activation registers hold run in row batches
(:func:`eie_sim.contract.format.split_rows`).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from ..config import ArchConfig
from ..contract.codebook import check_codebook
from ..contract.format import CompressedLayer, encode, split_rows
from ..contract.golden import check_layer_config
from ..contract.model import ModelLayer
from ..errors import ConfigError, EncodingError, describe
from .kernels import build_real_entries, build_row_major

__all__ = ["ROW_MAJOR_DENSITY"]


def _kernel_arrays(enc: CompressedLayer) -> dict:
    """Kernel inputs of an encoded (sub-)layer, built once and cached on it.

    ptr_t (n_cols + 1, n_pe) int32 pointers; real_p (n_cols + 1, n_pe) int32 real entries
    before each column, per PE (prefix sums: a run of broadcast columns costs one subtraction);
    the real entries of all PEs in column order: real_rows (row in the sub-layer, uint16 when it
    fits, else int32), real_codes (uint8), with column offsets col_rs; code_bits (the codes'
    width). Padding entries are counted, never visited, so the arithmetic touches each real
    entry once. The row-major copy for dense activations is added by :func:`row_major`.
    """
    arr = enc._cache.get("kernel")
    if arr is not None:
        return arr
    N, K = enc.n_pe, enc.n_cols
    entries = enc.entries_per_pe
    if entries.max(initial=0) >= 2**31 - 2**20:
        raise ConfigError(f"a PE holds {int(entries.max())} entries; the simulator supports fewer than 2**31 - 2**20")
    ptr_t = np.empty((K + 1, N), dtype=np.int32)
    for k, p in enumerate(enc.pes):
        ptr_t[:, k] = p.ptr
    offsets = np.concatenate([[0], np.cumsum(entries)]).astype(np.int64)
    v = np.concatenate([p.v for p in enc.pes]) if N > 1 else enc.pes[0].v
    z = np.concatenate([p.z for p in enc.pes]) if N > 1 else enc.pes[0].z
    nnz = enc.nnz
    row_dtype = np.uint16 if enc.n_rows <= 1 << 16 else np.int32
    real_p = np.empty((K + 1, N), dtype=np.int32)
    col_rs = np.empty(K + 1, dtype=np.int64)
    real_rows = np.empty(nnz, dtype=row_dtype)
    real_codes = np.empty(nnz, dtype=np.uint8)
    build_real_entries(ptr_t, offsets, v, z, real_p, col_rs, real_rows, real_codes)
    del v, z
    arr = {
        "ptr_t": ptr_t,
        "real_p": real_p,
        "col_rs": col_rs,
        "real_rows": real_rows,
        "real_codes": real_codes,
        "entries": entries,
        "padding": enc.padding_per_pe,
        "code_bits": enc.weight_bits,
    }
    enc._cache["kernel"] = arr
    return arr


def row_major(arr: dict, n_rows: int) -> dict:
    """Row-major copy of a kernel's real entries (built on first use, cached in ``arr``):
    ``row_ptr`` (n_rows + 1) offsets and ``row_ent``, each entry ``(column << row_shift) | code``
    in the smallest unsigned dtype that holds it (uint16 for up to 4,096 columns and 4-bit
    codes, 2 bytes an entry), with ``row_shift`` the code bits."""
    if "row_ptr" not in arr:
        nnz = arr["real_rows"].size
        n_cols = arr["col_rs"].size - 1
        shift = arr["code_bits"]
        bits = max(n_cols - 1, 0).bit_length() + shift
        dtype = np.uint16 if bits <= 16 else np.uint32 if bits <= 32 else np.uint64
        row_ptr = np.empty(n_rows + 1, dtype=np.int64)
        row_ent = np.empty(nnz, dtype=dtype)
        build_row_major(arr["col_rs"], arr["real_rows"], arr["real_codes"], shift, row_ptr, row_ent)
        arr["row_ptr"], arr["row_ent"], arr["row_shift"] = row_ptr, row_ent, shift
    return arr


# Above this fraction of non-zero activations the arithmetic runs row by row over every real
# entry (register accumulation, like CSR); below it, column by column over the broadcast
# columns only. Both give identical results (see accumulate_rows).
ROW_MAJOR_DENSITY = 0.6


def row_batches(enc: CompressedLayer, rows_per_batch: int) -> list[tuple[int, dict]]:
    """(first row, kernel arrays) per row batch, cached on the layer. A layer that fits the
    registers is one batch; a longer one is split (:func:`eie_sim.format.split_rows`) one batch
    at a time, keeping only the kernel arrays."""
    if enc.n_rows <= rows_per_batch:
        return [(0, _kernel_arrays(enc))]
    key = ("row_batches", rows_per_batch)
    if key not in enc._cache:
        n_batches = -(-enc.n_rows // rows_per_batch)
        enc._cache[key] = [
            (r0, _kernel_arrays(sub))
            for b in range(n_batches)
            for r0, sub in split_rows(enc, rows_per_batch, batch=b)
        ]
    return enc._cache[key]


_ENCODE_CACHE: "OrderedDict[tuple, CompressedLayer]" = OrderedDict()
_ENCODE_CACHE_SIZE = 16


def _encode_cached(codes, codebook, config: ArchConfig) -> CompressedLayer:
    """Encode dense codes for ``config`` once; keyed by a hash of the arrays and the parameters."""
    codes = np.asarray(codes)
    cb = check_codebook(codebook, config.weight_bits)
    h = hashlib.blake2b(digest_size=16)
    h.update(str((codes.shape, codes.dtype.str)).encode())
    h.update(np.ascontiguousarray(codes).tobytes())
    h.update(cb.tobytes())
    key = (h.hexdigest(), config.n_pe, config.index_bits, config.ptr_bits, config.sram_width,
           config.spmat_sram_kb, config.ptr_sram_kb)
    hit = _ENCODE_CACHE.get(key)
    if hit is None:
        hit = encode(codes, cb, n_pe=config.n_pe, index_bits=config.index_bits, ptr_bits=config.ptr_bits,
                     sram_width=config.sram_width, spmat_sram_kb=config.spmat_sram_kb, ptr_sram_kb=config.ptr_sram_kb)
        _ENCODE_CACHE[key] = hit
        while len(_ENCODE_CACHE) > _ENCODE_CACHE_SIZE:
            _ENCODE_CACHE.popitem(last=False)
    else:
        _ENCODE_CACHE.move_to_end(key)
    return hit


def encoded_for(layer, config: ArchConfig) -> tuple[CompressedLayer, object]:
    """(encoded layer for config, object for the golden ``prepare``)."""
    if isinstance(layer, CompressedLayer):
        check_layer_config(layer, config)
        return layer, layer
    if isinstance(layer, ModelLayer):
        check_layer_config(layer, config)
        if layer.encoded is not None and layer.encoded.n_pe == config.n_pe and layer.encoded.index_bits == config.index_bits:
            return layer.encoded, layer
        key = ("sim", config.n_pe, config.index_bits, config.ptr_bits)
        enc = layer._cache.get(key)
        if enc is None:
            enc = encode(layer.dense_codes(), layer.codebook, n_pe=config.n_pe, index_bits=config.index_bits,
                         ptr_bits=config.ptr_bits, sram_width=config.sram_width,
                         spmat_sram_kb=config.spmat_sram_kb, ptr_sram_kb=config.ptr_sram_kb)
            layer._cache[key] = enc
        return enc, layer
    if isinstance(layer, tuple) and len(layer) == 2:
        enc = _encode_cached(layer[0], layer[1], config)
        return enc, enc
    raise EncodingError(
        f"layer_or_model={describe(layer)}: expected a CompressedLayer, ModelLayer, Model, model file path "
        "or a (codes, codebook) pair"
    )
