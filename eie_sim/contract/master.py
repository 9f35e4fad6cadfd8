"""Float master weights and pruning masks carried in a model file (optional).

A model file stores what the hardware runs: each layer's weight codes and codebook. To
re-cluster *and fine-tune* a model at another weight width, or prune it further and retrain
(:func:`eie_sim.codesign.search.codesign`, :mod:`eie_sim.train.pipeline`), the trainer needs the
float weights the codebook was clustered from and the pruning masks. They may travel in the
same ``.npz`` archive as extra arrays, still without pickle:

* ``master.L{i}.w``    float32, the shape of layer i (outputs x inputs): the float weights
  before weight sharing (0 where pruned);
* ``master.L{i}.mask`` uint8 0/1, the same shape: 1 where the weight may be non-zero;
* ``master.L{i}.b``    float32 (outputs,): the layer's float bias at that point, when the layer has one;

and ``meta["master"] = {"version": 1, "stage": STAGE, "layers": N}`` in the model's metadata,
STAGE naming when the weights were taken (``"dense"``: trained, not pruned; ``"pruned"``:
pruned and retrained, before weight sharing). Layer i of the master is layer i of the model.

:func:`~eie_sim.contract.model.load_model` ignores these arrays, so every tool reads such a
file as before; :func:`load_master` reads and checks them (dtypes, shapes, finite values, a
0/1 mask, weights zero outside the mask) and returns None for a file without them. A model
without master weights still has a usable starting point: :func:`master_from_codes` (the
shared weights themselves, masks where codes are non-zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelFileError, describe
from .model import Model, ArrayReader, as_path, load_model, save_model

__all__ = ["MasterWeights", "MASTER_VERSION", "save_with_master", "load_master", "master_from_codes", "has_master"]

MASTER_VERSION = 1
STAGES = ("dense", "pruned", "shared")


@dataclass(frozen=True, eq=False)
class MasterWeights:
    """Per layer of a model: float32 ``weights``, boolean ``masks`` (same shapes) and float32
    ``biases`` (None for a layer without bias); ``stage``: one of ``dense``, ``pruned``, ``shared``."""

    weights: tuple
    masks: tuple
    biases: tuple
    stage: str = "pruned"

    def __post_init__(self) -> None:
        w = tuple(np.asarray(a, dtype=np.float32) for a in self.weights)
        m = tuple(np.asarray(a) != 0 for a in self.masks)
        b = tuple(None if a is None else np.asarray(a, dtype=np.float32) for a in self.biases)
        if not (len(w) == len(m) == len(b)) or not w:
            raise ModelFileError(f"master weights: {len(w)} weights, {len(m)} masks, {len(b)} biases; expected one "
                                 "of each per layer (at least one layer)")
        for i, (wi, mi, bi) in enumerate(zip(w, m, b)):
            if wi.ndim != 2 or mi.shape != wi.shape:
                raise ModelFileError(f"master weights: layer {i} weights {wi.shape}, mask {mi.shape}; expected two "
                                     "equal 2-D shapes (outputs x inputs)")
            if not np.all(np.isfinite(wi)):
                raise ModelFileError(f"master weights: layer {i} has weights that are not finite")
            if np.any(wi[~mi] != 0):
                raise ModelFileError(f"master weights: layer {i} has non-zero weights outside its mask")
            if bi is not None and (bi.shape != (wi.shape[0],) or not np.all(np.isfinite(bi))):
                raise ModelFileError(f"master weights: layer {i} bias {bi.shape}; expected ({wi.shape[0]},) finite values")
        if self.stage not in STAGES:
            raise ModelFileError(f"master stage={describe(self.stage)}: expected one of {STAGES}")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "masks", m)
        object.__setattr__(self, "biases", b)

    @property
    def kept(self) -> list[float]:
        """Fraction of each layer's weights the masks keep."""
        return [float(m.mean()) for m in self.masks]


def _check_fits(model: Model, master: MasterWeights) -> None:
    if len(master.weights) != len(model.layers):
        raise ModelFileError(f"master weights have {len(master.weights)} layers; the model has {len(model.layers)}")
    for lay, w, b in zip(model.layers, master.weights, master.biases):
        if tuple(w.shape) != tuple(lay.shape):
            raise ModelFileError(f"layer {lay.name!r}: master weights {w.shape}; expected the layer's shape {lay.shape}")
        if (b is None) != (lay.bias is None):
            raise ModelFileError(f"layer {lay.name!r}: master bias given: {b is not None}, layer bias: {lay.bias is not None}; "
                                 "expected both or neither")


def save_with_master(model: Model, path, master: MasterWeights) -> Path:
    """Write ``model`` with ``master`` (its ``meta["master"]`` set) to ``path``, atomically
    (:func:`~eie_sim.contract.model.save_model`)."""
    if not isinstance(master, MasterWeights):
        raise ModelFileError(f"master={describe(master)}: expected MasterWeights")
    if not isinstance(model, Model):
        raise ModelFileError(f"model={describe(model)}: expected a Model")
    _check_fits(model, master)
    extra = {}
    for i, (w, m, b) in enumerate(zip(master.weights, master.masks, master.biases)):
        extra[f"master.L{i}.w"] = np.ascontiguousarray(w, dtype=np.float32)
        extra[f"master.L{i}.mask"] = m.astype(np.uint8)
        if b is not None:
            extra[f"master.L{i}.b"] = np.ascontiguousarray(b, dtype=np.float32)
    meta = dict(model.meta, master={"version": MASTER_VERSION, "stage": master.stage, "layers": len(model.layers)})
    return save_model(Model(layers=model.layers, meta=meta), path, extra=extra)


def has_master(path) -> bool:
    """Whether the model file at ``path`` records master weights (``meta["master"]``)."""
    return "master" in load_model(path).meta


def load_master(path, model: Model | None = None) -> MasterWeights | None:
    """The master weights of the model file at ``path`` (checked against ``model``, loaded from
    ``path`` when None), or None when the file has none. Never unpickles; ModelFileError naming
    the file and field for a missing, mis-typed or mis-shaped array."""
    path = as_path(path)
    model = load_model(path) if model is None else model
    info = model.meta.get("master")
    if info is None:
        return None
    where = str(path)
    if not isinstance(info, dict) or info.get("version") != MASTER_VERSION or info.get("stage") not in STAGES \
            or info.get("layers") != len(model.layers):
        raise ModelFileError(f"{where}: meta 'master'={describe(info)}; expected {{'version': {MASTER_VERSION}, "
                             f"'stage': one of {STAGES}, 'layers': {len(model.layers)}}}")
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - load_model opened it; anything now is corruption
        raise ModelFileError(f"{where}: cannot be opened for its master weights ({type(exc).__name__}: {exc})") from None
    with npz:
        rd = ArrayReader(npz, where)
        ws, ms, bs = [], [], []
        for i, lay in enumerate(model.layers):
            w = rd.get(f"master.L{i}.w", "f", 2)
            m = rd.get(f"master.L{i}.mask", "u8", 2)
            for key, a in (("w", w), ("mask", m)):
                if a.shape != lay.shape:
                    raise ModelFileError(f"{where}: field 'master.L{i}.{key}' has shape {a.shape}; expected {lay.shape}")
            if m.size and m.max() > 1:
                raise ModelFileError(f"{where}: field 'master.L{i}.mask' holds values other than 0 and 1")
            b = rd.get(f"master.L{i}.b", "f", 1) if lay.bias is not None else None
            ws.append(w)
            ms.append(m)
            bs.append(b)
    try:
        return MasterWeights(tuple(ws), tuple(ms), tuple(bs), info["stage"])
    except ModelFileError as exc:
        raise ModelFileError(f"{where}: {exc}") from None


def master_from_codes(model: Model) -> MasterWeights:
    """A starting point for a model without master weights: each layer's shared weights
    (``codebook[codes]``) and masks where its codes are non-zero (stage ``shared``)."""
    ws, ms, bs = [], [], []
    for lay in model.layers:
        codes = lay.dense_codes()
        ws.append(lay.codebook[codes.astype(np.int64)].astype(np.float32) * (codes != 0))
        ms.append(codes != 0)
        bs.append(None if lay.bias is None else lay.bias.astype(np.float32))
    return MasterWeights(tuple(ws), tuple(ms), tuple(bs), "shared")
