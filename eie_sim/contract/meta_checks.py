"""Checks of the metadata fields that commands act on, run when a model file is loaded:
``meta["sequence"]`` (an LSTM model's steps T and features X) and ``meta["codesign"]`` (the PE
array ``eie-sim codesign`` chose). A malformed field is refused with one line naming it."""

from __future__ import annotations

from ..config import FIELD_RANGES
from ..errors import ModelFileError, describe

__all__ = ["check_meta", "CODESIGN_FIELDS"]

#: the ArchConfig fields a codesign record may hold, checked against their ranges
CODESIGN_FIELDS = ("n_pe", "fifo_depth", "sram_width", "index_bits", "weight_bits")


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_meta(model, where: str):
    """``model``, or one ModelFileError line if its ``meta["sequence"]`` or ``meta["codesign"]``
    cannot be used."""
    meta = model.meta
    if "sequence" in meta:
        seq = meta["sequence"]
        if not isinstance(seq, dict):
            raise ModelFileError(f"{where}: meta['sequence']={describe(seq)}; expected an object with steps and features")
        steps = seq.get("steps")
        if not _int(steps) or not 1 <= steps <= 1 << 20:
            raise ModelFileError(f"{where}: meta['sequence']['steps']={describe(steps)}; expected an integer in 1..{1 << 20}")
        feats = seq.get("features")
        if model.is_sequence and feats is not None and feats != model.n_inputs:
            raise ModelFileError(f"{where}: meta['sequence']['features']={describe(feats)}; the lstm layer reads "
                                 f"{model.n_inputs} inputs per step")
    if "codesign" in meta:
        rec = meta["codesign"]
        if not isinstance(rec, dict):
            raise ModelFileError(f"{where}: meta['codesign']={describe(rec)}; expected an object (the chosen hardware)")
        for name in CODESIGN_FIELDS:
            if name in rec:
                v, (lo, hi) = rec[name], FIELD_RANGES[name]
                if not _int(v) or not lo <= v <= hi:
                    raise ModelFileError(f"{where}: meta['codesign'][{name!r}]={describe(v)}; expected an integer in {lo}..{hi}")
    return model
