"""The sweep space and its layers: the fields a sweep may vary, the cartesian product of a
``space`` (:func:`expand_space`), the layers a sweep runs on (Table III names, model files and
:class:`SweepLayer`) resolved to small :class:`LayerSource` records a task can carry to a worker,
and the full configuration and stable ``point_id`` of each (point, layer). Nothing here runs a
simulation or touches the cluster; it is the driver's plan of what to run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..config import ArchConfig
from ..contract.codebook import check_codebook
from ..contract.model import load_model
from ..cost.energy import REFERENCE, EnergyTable
from ..cost.sram import DEFAULT_CELL
from ..cycle import suite
from ..errors import ConfigError, EIEError, describe
from ..train.inputs import fit_input

__all__ = ["SWEEP_FIELDS", "ENCODING_FIELDS", "SweepLayer", "InputFile", "LayerSource", "expand_space", "file_digest", "resolve_layers",
           "energy_table_key", "plan_points", "plan_mismatches"]

SWEEP_FIELDS = tuple(f.name for f in fields(ArchConfig))
#: the fields an encoded layer depends on; points that share them share one encoding
ENCODING_FIELDS = ("n_pe", "weight_bits", "index_bits", "ptr_bits", "act_bits")
_LAYER_OWN_FIELDS = ("weight_bits", "index_bits", "act_bits")


@dataclass(frozen=True, eq=False)
class SweepLayer:
    """A user layer for :func:`sweep`: dense ``codes`` (outputs x inputs, 0 = no weight),
    ``codebook`` (2**weight_bits floats, entry 0 = 0.0) and float input ``activations``."""

    name: str
    codes: np.ndarray
    codebook: np.ndarray
    activations: np.ndarray
    index_bits: int = 4
    act_bits: int = 16

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"SweepLayer.name={describe(self.name)}: expected a non-empty string")
        cb = check_codebook(self.codebook, name=f"layer {self.name!r}: codebook")
        codes = np.asarray(self.codes)
        if codes.ndim != 2 or not np.issubdtype(codes.dtype, np.integer) or (codes.size and (codes.min() < 0 or codes.max() >= cb.size)):
            raise ConfigError(f"layer {self.name!r}: codes must be a 2-D integer array with values in 0..{cb.size - 1}")
        acts = np.asarray(self.activations, dtype=np.float64)
        if acts.shape != (codes.shape[1],):
            raise ConfigError(f"layer {self.name!r}: activations have shape {acts.shape}; expected ({codes.shape[1]},)")
        object.__setattr__(self, "codebook", cb)
        object.__setattr__(self, "codes", codes.astype(np.uint8))
        object.__setattr__(self, "activations", acts)

    @property
    def weight_bits(self) -> int:
        return self.codebook.size.bit_length() - 1

    def digest(self) -> str:
        h = hashlib.blake2b(digest_size=8)
        for a in (self.codes, self.codebook, self.activations):
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(f"{self.index_bits},{self.act_bits}".encode())
        return h.hexdigest()


@dataclass(frozen=True, eq=False)
class InputFile:
    """The input file every model layer source of a sweep runs on (``sweep(input_file=)``): its
    ``path``, its ``tag`` in the sources' keys and the ``input_file`` column (name:digest) and
    its values ``x``."""

    path: str
    tag: str
    x: np.ndarray


@dataclass(frozen=True)
class LayerSource:
    """What a task needs to rebuild a layer on a worker (small; arrays travel separately)."""

    kind: str  # "table3", "model" or "user"
    name: str
    key: str  # stable identity for point ids
    native: tuple  # (weight_bits, index_bits, act_bits) of the layer as given
    detail: tuple = ()  # table3: (seed, scale); model: (path, input_index, dataset)
    layers: tuple = ()  # model: the names of its layers, one row each per point

    def layer_names(self) -> tuple:
        """The ``layer`` of the rows one point on this source gives (a model: every layer)."""
        return self.layers if self.kind == "model" else (self.name,)


# ----------------------------------------------------------------------------- the space


def expand_space(space: dict) -> list[dict]:
    """The cartesian product of ``space`` as a list of {field: value}; refuses unknown fields,
    empty or non-list values and values an :class:`ArchConfig` refuses (naming field and value)."""
    if not isinstance(space, dict):
        raise ConfigError(f"space={describe(space)}: expected a dict of ArchConfig field -> list of values")
    keys = list(space)
    for k in keys:
        if k not in SWEEP_FIELDS:
            raise ConfigError(f"space field {k!r}: not an ArchConfig field; expected one of {', '.join(SWEEP_FIELDS)}")
        v = space[k]
        if not (isinstance(v, (list, tuple, range)) or (isinstance(v, np.ndarray) and v.ndim == 1)):
            raise ConfigError(f"space[{k!r}]={describe(v)}: expected a list of values")
        vals = [x.item() if isinstance(x, np.generic) else x for x in v]
        space = {**space, k: vals}
        if not vals:
            raise ConfigError(f"space[{k!r}] is empty: expected at least one value")
        if len(set(map(repr, vals))) != len(vals):
            raise ConfigError(f"space[{k!r}]={vals}: values repeat")
        for x in vals:
            try:
                ArchConfig(**{k: x})
            except EIEError as exc:
                raise ConfigError(f"space[{k!r}] value {describe(x)}: {exc}") from None
    points = [dict(zip(keys, combo)) for combo in itertools.product(*(list(space[k]) for k in keys))]
    for p in points:
        try:
            ArchConfig(**p)
        except EIEError as exc:
            raise ConfigError(f"space point {p}: {exc}") from None
    return points


# ----------------------------------------------------------------------------- layer sources


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_layers(layers, model, seed: int, input_index: int, dataset: str | None,
                   cv: tuple[float, float] = (suite.DEFAULT_ROW_CV, suite.DEFAULT_COL_CV),
                   given: InputFile | None = None) -> tuple[list[LayerSource], dict]:
    """Sources for ``layers`` (+ the model's layers when a model is given) and user arrays by key;
    ``cv``: the Table III generator's (row, column) density dispersion; ``given``: the input file
    the models run on instead of test image ``input_index`` (checked against each model, named in
    their keys)."""
    if layers is None:
        layers = []
    if isinstance(layers, (str, Path, SweepLayer)):
        layers = [layers]
    if not isinstance(layers, (list, tuple)):
        raise ConfigError(f"layers={describe(layers)}: expected a Table III name, a model file path, a SweepLayer "
                          "or a list of them")
    sources, arrays = [], {}
    model_paths = set()
    items = list(layers)
    if model is not None:
        mp = Path(model).resolve()
        if not any(isinstance(x, (str, Path)) and Path(x).suffix == ".npz" and Path(x).resolve() == mp for x in items):
            items.append(model)
    if not items:
        raise ConfigError("layers: expected at least one Table III name, model file or SweepLayer")
    for it in items:
        if isinstance(it, SweepLayer):
            key = f"user:{it.name}:{it.digest()}"
            sources.append(LayerSource("user", it.name, key, (it.weight_bits, it.index_bits, it.act_bits)))
            arrays[key] = it
        elif isinstance(it, (str, Path)) and (str(it).endswith(".npz") or Path(it).is_file()):
            sources.append(_model_source(it, input_index, dataset, model_paths, seed, given))
        elif isinstance(it, str):
            sources.append(_table3_source(it, seed, cv))
        else:
            raise ConfigError(f"layers item {describe(it)}: expected a Table III name, a model file path or a SweepLayer")
    keys = [s.key for s in sources]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"layers: the same layer is given twice ({[s.name for s in sources]})")
    return sources, arrays


def _model_source(it, input_index: int, dataset: str | None, model_paths: set, seed: int = 0,
                  given: InputFile | None = None) -> LayerSource:
    """The source for model file ``it`` (every layer of the model); adds its path to ``model_paths``.
    ``seed`` draws the input when the dataset's test image cannot be used: part of the key."""
    path = Path(it).resolve()
    if not path.is_file():
        raise ConfigError(f"layers: model file {str(it)!r} does not exist")
    if path in model_paths:
        raise ConfigError(f"layers: model file {str(it)!r} given twice")
    model_paths.add(path)
    m = load_model(path)
    ds = dataset or m.meta.get("dataset")
    lay0 = m.layers[0]
    if given is not None and fit_input(m, given.x) is None:
        raise ConfigError(f"input_file={given.path!r}: {given.x.size} values; {path} takes {m.n_inputs} inputs"
                          + (" per step" if m.is_sequence else ""))
    which = f":in{given.tag}" if given is not None else f":in{input_index}:{ds}" + (f":seed{seed}" if seed else "")
    key = f"model:{path.name}:{file_digest(path)}{which}"
    return LayerSource("model", str(m.meta.get("name", path.stem)), key,
                   (lay0.weight_bits, lay0.index_bits, lay0.act_bits), (str(path), input_index, ds),
                   tuple(lay.name for lay in m.layers))


def _table3_source(it: str, seed: int, cv: tuple[float, float]) -> LayerSource:
    """The source for Table III name ``it`` (``"alex6"`` or a scaled copy ``"alex6@0.1"``)."""
    name, _, sc = it.partition("@")
    if name not in suite.TABLE_III:
        raise ConfigError(f"layers: {it!r} is not a Table III layer ({', '.join(suite.NAMES)}), "
                          "a model file (.npz) or a SweepLayer")
    try:
        scale = float(sc) if sc else 1.0
    except ValueError:
        raise ConfigError(f"layers: {it!r}: expected NAME@SCALE with a number in (0, 1]") from None
    if not 0 < scale <= 1:
        raise ConfigError(f"layers: {it!r}: scale {scale} is not in (0, 1]")
    # the generator's dispersion is part of the layer: rows from another generator are not reused
    key = f"table3:{name}:seed{seed}:scale{scale:g}:cv{cv[0]:g}/{cv[1]:g}"
    return LayerSource("table3", it, key, (4, 4, 16), (seed, scale, *cv))




# ----------------------------------------------------------------------------- points and ids


def energy_table_key(table: EnergyTable) -> str:
    """A digest of everything in ``table`` that the energy, power and area of a row depend on
    (the reference configuration and SRAM cell only when they are not the defaults, so the keys
    of the tables that use them are those of earlier versions)."""
    d = {"name": table.name, "e": {k: repr(v) for k, v in sorted(table.energy_pj.items())},
         "s": {k: repr(v) for k, v in sorted(table.static_mw.items())}, "node": table.node_nm, "vdd": table.vdd}
    if table.reference != REFERENCE:
        d["ref"] = {k: repr(v) for k, v in sorted(asdict(table.reference).items())}
    if table.sram_cell != DEFAULT_CELL:
        d["cell"] = table.sram_cell
    blob = json.dumps(d, sort_keys=True)
    return hashlib.blake2b(blob.encode(), digest_size=6).hexdigest()


_DEFAULT_CONFIG: dict = {}


def _config_for(point: dict, src: LayerSource) -> dict:
    """The full configuration (every ArchConfig field) of ``point`` on ``src``."""
    if not _DEFAULT_CONFIG:
        _DEFAULT_CONFIG.update(asdict(ArchConfig()))  # once: asdict deep-copies every field
    cfg = dict(_DEFAULT_CONFIG)
    for f, v in zip(_LAYER_OWN_FIELDS, src.native):
        cfg[f] = v
    cfg.update(point)
    return cfg


def _point_id(cfg: dict, src: LayerSource, table_key: str) -> str:
    blob = json.dumps({"cfg": {k: cfg[k] for k in SWEEP_FIELDS}, "src": src.key, "table": table_key}, sort_keys=True,
                      default=str)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


def plan_points(points: list[dict], sources: list[LayerSource], table_key: str) -> list[tuple[LayerSource, dict, str]]:
    """Every (point, layer source) as (source, full config, point id), in output order: layer
    order, then the space in the order given. Refuses a point the layer makes invalid."""
    todo = []
    for s in sources:
        for p in points:
            cfg = _config_for(p, s)
            try:
                ArchConfig(**cfg)
            except EIEError as exc:
                raise ConfigError(f"space point {p} on layer {s.name!r}: {exc}") from None
            todo.append((s, cfg, _point_id(cfg, s, table_key)))
    return todo


def plan_mismatches(df, todo: list, auto_ptr: bool, table_name: str) -> list[tuple[str, np.ndarray]]:
    """(what is wrong, rows) for the rows of results frame ``df`` that carry the id of a point in
    ``todo``: their configuration, source, layer and energy table must be those the id was
    computed from (:func:`_point_id`). With ``auto_ptr`` (ptr_bits not swept) a row may show a
    wider ptr_bits than planned: the sweep widens it when a layer needs more."""
    plan = {pid: (s, cfg) for s, cfg, pid in todo}
    bad = {k: np.zeros(len(df), dtype=bool) for k in ("cfg", "src", "layer", "table")}
    has_table = "energy_table" in df.columns
    cols = ["point_id", "source", "source_name", "layer", *SWEEP_FIELDS] + (["energy_table"] if has_table else [])
    for i, rec in enumerate(df[cols].itertuples(index=False, name=None)):
        if rec[0] not in plan:
            continue  # a row of another sweep
        s, cfg = plan[rec[0]]
        for f, v in zip(SWEEP_FIELDS, rec[4 : 4 + len(SWEEP_FIELDS)]):
            want = cfg[f]
            if not isinstance(v, (int, float, np.integer, np.floating)) or not (
                    v >= want if (f == "ptr_bits" and auto_ptr) else v == want):
                bad["cfg"][i] = True
                break
        bad["src"][i] = (rec[1], rec[2]) != (s.kind, s.name)
        bad["layer"][i] = rec[3] not in s.layer_names() and rec[3] != s.name  # (an error row of a model that did not load)
        bad["table"][i] = has_table and rec[-1] != table_name
    return [(r, bad[k]) for k, r in (("cfg", "its configuration is not the one its point_id stands for"),
                                    ("src", "its source is not the one its point_id stands for"),
                                    ("layer", "its layer is not a layer of its point"),
                                    ("table", f"its energy_table is not {table_name!r}")) if bad[k].any()]
