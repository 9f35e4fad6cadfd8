"""Human-readable and JSON summaries of compressed layers and models (``eie-sim info``)."""

from __future__ import annotations

import numpy as np

from .format import CompressedLayer
from .model import Model, ModelLayer

__all__ = ["layer_info", "model_info", "format_info"]


def layer_info(layer: ModelLayer, n_pe: int | None = None, codebook_value_bits: int | None = None) -> dict:
    """Shape, density, padding per PE and storage of one layer in the EIE layout for ``n_pe``
    PEs (the stored layout when ``n_pe`` is None and the layer is stored encoded; else 64)."""
    enc: CompressedLayer = layer.compressed(n_pe if n_pe is not None else (None if layer.encoded is not None else 64))
    st = enc.storage(codebook_value_bits or layer.act_bits)
    pad = enc.padding_per_pe
    ovf = enc.spmat_overflow_entries
    return {
        "name": layer.name,
        "shape": [enc.n_rows, enc.n_cols],
        "layout": "eie" if layer.encoded is not None else "dense",
        "n_pe": enc.n_pe,
        "weight_bits": enc.weight_bits,
        "index_bits": enc.index_bits,
        "activation": layer.activation,
        "nnz": enc.nnz,
        "density": enc.density,
        "entries": int(enc.entries_per_pe.sum()),
        "padding_entries": int(pad.sum()),
        "padding_per_pe": {"min": int(pad.min()), "mean": float(pad.mean()), "max": int(pad.max())},
        "entries_per_pe": {
            "min": int(enc.entries_per_pe.min()),
            "mean": float(enc.entries_per_pe.mean()),
            "max": int(enc.entries_per_pe.max()),
        },
        "spmat_overflow_pes": int(np.count_nonzero(ovf)),
        "spmat_overflow_entries": int(ovf.sum()),
        "ptr_overflow_per_pe": int(enc.ptr_overflow.max()),
        "storage_bits": st.to_dict(),
        "ratio_eie": st.ratio_eie,
        "ratio_deep_compression": st.ratio_deep_compression,
    }


def model_info(model: Model, n_pe: int | None = None) -> dict:
    """:func:`layer_info` for each layer plus model totals and both compression ratios."""
    layers = [layer_info(lay, n_pe) for lay in model.layers]
    dense = sum(l["storage_bits"]["dense_fp32_bits"] for l in layers)
    eie = sum(l["storage_bits"]["total_bits"] for l in layers)
    dc = sum(l["storage_bits"]["deep_compression_bits"] for l in layers)
    nnz = sum(l["nnz"] for l in layers)
    size = sum(l["shape"][0] * l["shape"][1] for l in layers)
    return {
        "layers": layers,
        "meta": model.meta,
        "n_layers": len(layers),
        "nnz": nnz,
        "density": nnz / size if size else 0.0,
        "dense_fp32_bits": dense,
        "eie_bits": eie,
        "deep_compression_bits": dc,
        "ratio_eie": dense / eie,
        "ratio_deep_compression": dense / dc,
    }


def format_info(info: dict) -> str:
    """The text table printed by ``eie-sim info``."""
    head = (
        f"{'layer':<12} {'out x in':>13} {'density':>8} {'PEs':>4} {'bits v/z':>8} "
        f"{'padding entries/PE min/mean/max':>31} {'EIE kbit':>10} {'ratio EIE':>10} {'ratio DC':>9}"
    )
    lines = [head, "-" * len(head)]
    for l in info["layers"]:
        p = l["padding_per_pe"]
        lines.append(
            f"{l['name']:<12} {l['shape'][0]:>6}x{l['shape'][1]:<6} {100 * l['density']:>7.2f}% {l['n_pe']:>4} "
            f"{l['weight_bits']:>4}/{l['index_bits']:<3} {p['min']:>15}/{p['mean']:>7.1f}/{p['max']:<7} "
            f"{l['storage_bits']['total_bits'] / 1000:>10.1f} {l['ratio_eie']:>9.1f}x {l['ratio_deep_compression']:>8.1f}x"
        )
        if l["spmat_overflow_pes"]:
            lines.append(
                f"{'':<12} ! {l['spmat_overflow_pes']} PE(s) exceed the spmat SRAM by {l['spmat_overflow_entries']} "
                "entries in all: streamed from DRAM on every inference"
            )
        if l["ptr_overflow_per_pe"]:
            lines.append(
                f"{'':<12} ! pointers exceed the pointer SRAM by {l['ptr_overflow_per_pe']} per PE: streamed from DRAM"
            )
    lines.append("-" * len(head))
    lines.append(
        f"{'total':<12} {'':>13} {100 * info['density']:>7.2f}% {'':>4} {'':>8} {'':>24} "
        f"{info['eie_bits'] / 1000:>10.1f} {info['ratio_eie']:>9.1f}x {info['ratio_deep_compression']:>8.1f}x"
    )
    lines.append(
        "ratio EIE: dense fp32 / (v + z + pointers + a 16-bit codebook per PE); "
        "ratio DC: dense fp32 / (one relative-index stream + fp32 codebook), Deep Compression's count"
    )
    return "\n".join(lines)
