"""Compressed models: layers with codes, codebook, fixed-point formats, bias and activation,
and the versioned single-file format (``.npz`` without pickle, JSON metadata inside).

File layout (version 3; version 1 files, which have no ``kind``, still load as fc layers, and
version 2 files, whose kinds are fc and lstm, load unchanged: version 3 admits every registered
kind of :mod:`eie_sim.contract.kinds`, whose own fields follow ``kind`` in its layer record).
A NumPy ``.npz`` archive holding:

* ``meta.json``: uint8 bytes of UTF-8 JSON ``{"format": "eie-sim-model", "version": 3,
  "meta": {...}, "layers": [...]}``; per layer: name, kind ("fc", "lstm", ...), layout ("dense"
  or "eie"), shape, weight_bits, index_bits, activation, act_bits, in_frac, w_frac, out_frac,
  has_bias, meta, for the EIE layout n_pe, ptr_bits, sram_width, spmat_sram_kb, ptr_sram_kb,
  and the kind's own fields (lstm: hidden and state_frac).

Kinds (:mod:`eie_sim.contract.kinds`): ``fc`` is ``act(W x + bias)``; ``lstm`` (first layer
only) is the cell of :mod:`eie_sim.contract.kinds.lstm`: W (4H, X + H + 1) over
[x_t ; h_{t-1} ; 1], gates i, f, g, o.
* ``L{i}.codebook`` float64, ``L{i}.bias`` float64 (if any), and either ``L{i}.codes`` (uint8,
  outputs x inputs) or the EIE layout: ``L{i}.ptr`` (int64, n_pe x (n_cols + 1)),
  ``L{i}.offsets`` (int64, n_pe + 1) and ``L{i}.v``, ``L{i}.z`` (uint8, every PE's entries
  concatenated, PE k at ``offsets[k]:offsets[k+1]``).

Optional ``master.*`` arrays (float master weights and masks) are read by :mod:`.master`.
Loading never unpickles; every field is checked (names, dtypes, shapes, ranges, version).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .meta_checks import check_meta
from ..budget import check_budget
from ..errors import EIEError, EncodingError, ModelFileError, describe
from .format import CompressedLayer, PEColumns, check_codes
from .kinds.base import kind_names, kind_of, kind_with_field, record_frac, record_int
from .layer import ACTIVATIONS, Model, ModelLayer

__all__ = ["ACTIVATIONS", "FORMAT_NAME", "FORMAT_VERSION", "ModelLayer", "Model", "save_model", "load_model", "one_code_width"]

FORMAT_NAME = "eie-sim-model"
FORMAT_VERSION = 3
READ_VERSIONS = (1, 2, 3)
#: the kinds a version-2 file may hold (version 3: every registered kind)
V2_KINDS = ("fc", "lstm")
MAX_META_BYTES = 16 << 20  # meta.json: 16 MB of JSON at most
MAX_META_DEPTH = 32  # containers nested in meta.json at most


# ----------------------------------------------------------------------------- saving


def _layer_arrays(i: int, lay: ModelLayer) -> tuple[dict, dict]:
    rec = {
        "name": lay.name,
        "shape": list(lay.shape),
        "weight_bits": lay.weight_bits,
        "index_bits": lay.index_bits,
        "activation": lay.activation,
        "act_bits": lay.act_bits,
        "in_frac": lay.in_frac,
        "w_frac": lay.w_frac,
        "out_frac": lay.out_frac,
        "has_bias": lay.bias is not None,
        "meta": lay.meta,
        "kind": lay.kind,
    }
    rec.update(lay.spec.record(lay))
    arrays = {f"L{i}.codebook": lay.codebook.astype(np.float64)}
    if lay.bias is not None:
        arrays[f"L{i}.bias"] = lay.bias.astype(np.float64)
    if lay.codes is not None:
        rec["layout"] = "dense"
        arrays[f"L{i}.codes"] = lay.codes.astype(np.uint8)
    else:
        enc = lay.encoded
        rec["layout"] = "eie"
        rec.update(
            n_pe=enc.n_pe, ptr_bits=enc.ptr_bits, sram_width=enc.sram_width,
            spmat_sram_kb=enc.spmat_sram_kb, ptr_sram_kb=enc.ptr_sram_kb,
        )
        arrays[f"L{i}.ptr"] = np.stack([p.ptr for p in enc.pes]).astype(np.int64)
        arrays[f"L{i}.offsets"] = np.concatenate([[0], np.cumsum([p.entries for p in enc.pes])]).astype(np.int64)
        arrays[f"L{i}.v"] = np.concatenate([p.v for p in enc.pes]).astype(np.uint8)
        arrays[f"L{i}.z"] = np.concatenate([p.z for p in enc.pes]).astype(np.uint8)
    return rec, arrays


def save_model(model: Model | ModelLayer, path, *, extra: dict | None = None) -> Path:
    """Write ``model`` to ``path`` atomically (temporary file in the same folder, then rename).

    On any failure the temporary file is removed and an existing file at ``path`` is untouched.
    """
    if isinstance(model, ModelLayer):
        model = Model(layers=(model,))
    if not isinstance(model, Model):
        raise ModelFileError(f"model={describe(model)}: expected a Model or ModelLayer")
    path = as_path(path)
    try:
        json.dumps(model.meta)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"model.meta is not JSON-serialisable ({exc})") from None
    arrays: dict[str, np.ndarray] = dict(extra or {})  # extra: the master.* arrays (.master)
    recs = []
    for i, lay in enumerate(model.layers):
        rec, arr = _layer_arrays(i, lay)
        recs.append(rec)
        arrays.update(arr)
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "meta": model.meta, "layers": recs}
    arrays["meta.json"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelFileError(f"path={str(path)!r}: folder {str(folder)!r} does not exist")
    if path.is_dir():
        raise ModelFileError(f"path={str(path)!r} is a directory; expected a file name")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ModelFileError(f"path={str(path)!r}: cannot write in folder {str(folder)!r} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise ModelFileError(f"path={str(path)!r}: could not write the model ({exc})") from exc
        raise
    return path


# ----------------------------------------------------------------------------- loading


class ArrayReader:
    """Checked access to the arrays of an opened archive."""

    def __init__(self, npz, where: str):
        self.npz = npz
        self.where = where
        self.used: set[str] = set()

    def get(self, key: str, kind: str, ndim: int) -> np.ndarray:
        if key not in self.npz.files:
            raise ModelFileError(f"{self.where}: field {key!r} is missing")
        self._check_declared_size(key)
        try:
            arr = self.npz[key]
        except Exception as exc:  # zlib.error, BadZipFile, ValueError, ...: any decoding failure is corruption
            raise ModelFileError(f"{self.where}: field {key!r} cannot be read, the file is corrupt ({exc})") from None
        if not isinstance(arr, np.ndarray):
            raise ModelFileError(f"{self.where}: field {key!r} is not a .npy array")
        self.used.add(key)
        ok = {"f": np.issubdtype(arr.dtype, np.floating), "u8": arr.dtype == np.uint8, "i": np.issubdtype(arr.dtype, np.integer)}[kind]
        if not ok or arr.ndim != ndim:
            want = {"f": "float", "u8": "uint8", "i": "integer"}[kind]
            raise ModelFileError(f"{self.where}: field {key!r} has dtype {arr.dtype} and {arr.ndim} dims; expected {want} with {ndim}")
        return arr

    def _check_declared_size(self, key: str) -> None:
        """Read the member's .npy header only: its declared size must match the member's
        uncompressed size, so a small file cannot make the loader allocate a huge array."""
        info = self.npz.zip.getinfo(key + ".npy")
        try:
            with self.npz.zip.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
                if version not in read:
                    raise ValueError(f".npy format version {version}")
                shape, _, dtype = read[version](fh, max_header_size=10_000)
                header_len = fh.tell()
        except Exception as exc:  # any malformed header is corruption
            raise ModelFileError(f"{self.where}: field {key!r} has no valid .npy header ({exc})") from None
        if dtype.hasobject:
            raise ModelFileError(f"{self.where}: field {key!r} holds Python objects; model files hold numbers only")
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if declared != info.file_size - header_len:
            raise ModelFileError(f"{self.where}: field {key!r} declares {declared} bytes of data but holds "
                                 f"{info.file_size - header_len}; the file is corrupt")


def as_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ModelFileError(f"path={describe(path)}: expected a file path (str or pathlib.Path)")
    return Path(path)


def _json_depth_ok(obj, limit: int = MAX_META_DEPTH) -> bool:
    """Whether ``obj`` nests at most ``limit`` containers deep (iterative: no recursion limit)."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (dict, list)):
            if d > limit:
                return False
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return True


def _load_layer(i: int, rec, rd: ArrayReader, version: int = FORMAT_VERSION) -> ModelLayer:
    where = f"{rd.where}: layers[{i}]"
    if not isinstance(rec, dict):
        raise ModelFileError(f"{where}: expected an object, got {describe(rec)}")
    common = {
        "name", "shape", "weight_bits", "index_bits", "activation", "act_bits", "in_frac", "w_frac", "out_frac",
        "has_bias", "meta", "layout", "n_pe", "ptr_bits", "sram_width", "spmat_sram_kb", "ptr_sram_kb",
    }
    kind = rec.get("kind", "fc") if version >= 2 else "fc"
    kinds = V2_KINDS if version == 2 else kind_names()
    if not isinstance(kind, str) or kind not in kinds:
        raise ModelFileError(f"{where}: field 'kind'={describe(kind)}; expected one of {kinds}")
    spec = kind_of(kind)
    known = common | ({"kind"} | set(spec.fields) if version >= 2 else set())
    extra = set(rec) - known
    foreign = sorted(f for f in extra if kind_with_field(f))
    if foreign:
        raise ModelFileError(f"{where}: field(s) {foreign} belong to {kind_with_field(foreign[0])} "
                             f"layers; this layer's kind is {kind!r}")
    if extra:
        raise ModelFileError(f"{where}: unknown field(s) {sorted(extra)}")
    name = rec.get("name")
    if not isinstance(name, str) or not name:
        raise ModelFileError(f"{where}: field 'name'={describe(name)}; expected a non-empty string")
    where = f"{rd.where}: layer {name!r}"
    shape = rec.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 1 << 24 for s in shape)):
        raise ModelFileError(f"{where}: field 'shape'={describe(shape)}; expected [outputs, inputs], each 1..2**24")
    rows, cols = shape
    try:  # the tiers may expand the layer to dense codes (a byte per weight) and float rows
        check_budget(f"layer of shape {rows}x{cols}", rows * cols + 16 * (rows + cols))
    except EIEError as exc:
        raise ModelFileError(f"{where}: {exc}") from None
    wb = record_int(rec, "weight_bits", where, 1, 8)
    ib = record_int(rec, "index_bits", where, 1, 8)
    act_bits = record_int(rec, "act_bits", where, 2, 24)
    fracs = {key: record_frac(rec, key, where) for key in ("in_frac", "w_frac", "out_frac")}
    activation = rec.get("activation")
    if activation not in ACTIVATIONS:
        raise ModelFileError(f"{where}: field 'activation'={describe(activation)}; expected one of {ACTIVATIONS}")
    meta = rec.get("meta")
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where}: field 'meta'={describe(meta)}; expected an object")
    params = spec.read(rec, where)
    has_bias = rec.get("has_bias")
    if not isinstance(has_bias, bool):
        raise ModelFileError(f"{where}: field 'has_bias'={describe(has_bias)}; expected true or false")
    cb = rd.get(f"L{i}.codebook", "f", 1)
    if cb.size != 1 << wb:
        raise ModelFileError(f"{where}: codebook has {cb.size} entries; expected 2**weight_bits = {1 << wb}")
    bias = None
    if has_bias:
        bias = rd.get(f"L{i}.bias", "f", 1)
        if bias.size != rows:
            raise ModelFileError(f"{where}: bias has {bias.size} values; expected {rows}")
    layout = rec.get("layout")
    codes = encoded = None
    try:
        if layout == "dense":
            codes = rd.get(f"L{i}.codes", "u8", 2)
            if codes.shape != (rows, cols):
                raise ModelFileError(f"{where}: codes have shape {codes.shape}; expected {(rows, cols)}")
            check_codes(codes, wb, name=f"{where}: codes")
        elif layout == "eie":
            n_pe = record_int(rec, "n_pe", where, 1, 1 << 16)
            ptr_bits = record_int(rec, "ptr_bits", where, 1, 40)
            sram_width = record_int(rec, "sram_width", where, wb + ib, 4096)
            spmat_kb = record_int(rec, "spmat_sram_kb", where, 1, 1 << 20)
            ptr_kb = record_int(rec, "ptr_sram_kb", where, 1, 1 << 20)
            ptr = rd.get(f"L{i}.ptr", "i", 2)
            offsets = rd.get(f"L{i}.offsets", "i", 1)
            v = rd.get(f"L{i}.v", "u8", 1)
            z = rd.get(f"L{i}.z", "u8", 1)
            if ptr.shape != (n_pe, cols + 1):
                raise ModelFileError(f"{where}: ptr has shape {ptr.shape}; expected {(n_pe, cols + 1)}")
            if offsets.size != n_pe + 1 or offsets[0] != 0 or np.any(np.diff(offsets) < 0) or offsets[-1] != v.size or v.size != z.size:
                raise ModelFileError(f"{where}: offsets, v and z do not agree ({offsets.size} offsets, {v.size} v, {z.size} z)")
            pes = tuple(
                PEColumns(
                    ptr=ptr[k].astype(np.int64),
                    v=v[offsets[k] : offsets[k + 1]],
                    z=z[offsets[k] : offsets[k + 1]],
                    n_local_rows=len(range(k, rows, n_pe)),
                )
                for k in range(n_pe)
            )
            encoded = CompressedLayer(
                shape=(rows, cols), n_pe=n_pe, weight_bits=wb, index_bits=ib, codebook=cb.astype(np.float64),
                pes=pes, ptr_bits=ptr_bits, sram_width=sram_width, spmat_sram_kb=spmat_kb, ptr_sram_kb=ptr_kb,
            )
            encoded.validate(name=where)
            need = encoded.ptr_bits_needed
            if need > ptr_bits:
                raise ModelFileError(f"{where}: pointers need {need} bits but ptr_bits={ptr_bits}")
        else:
            raise ModelFileError(f"{where}: field 'layout'={describe(layout)}; expected 'dense' or 'eie'")
        return ModelLayer(
            name=name, codebook=cb, codes=codes, encoded=encoded, bias=bias, activation=activation,
            act_bits=act_bits, index_bits=ib, meta=meta, kind=kind, params=params, **fracs,
        )
    except ModelFileError:
        raise
    except EIEError as exc:
        raise ModelFileError(str(exc) if str(exc).startswith(rd.where) else f"{rd.where}: {exc}") from None


def load_model(path) -> Model:
    """Read and validate a model file written by :func:`save_model`.

    Raises :class:`ModelFileError` naming the file and field for a missing, corrupt, truncated,
    foreign or newer-version file. Never unpickles. Whatever a corrupt archive makes the zip or
    .npy readers raise (NotImplementedError for a mangled compression method, ...) is reported
    as corruption, never passed on.
    """
    path = as_path(path)
    try:
        return _load_model(path)
    except EIEError:
        raise
    except Exception as exc:  # noqa: BLE001 -- a corrupt file may break the readers in any way
        raise ModelFileError(f"{path}: the file is corrupt ({type(exc).__name__}: {exc})"[:300]) from None


def _load_model(path: Path) -> Model:
    where = str(path)
    if not path.is_file():
        raise ModelFileError(f"{where}: no such file")
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        why = "not a zip archive of .npy arrays; eie-sim never unpickles" if "pickle" in str(exc) else str(exc)
        raise ModelFileError(f"{where}: not an eie-sim model file (cannot be opened as .npz: {why})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{where}: not an eie-sim model file (a bare .npy array, not an .npz archive)")
    with npz:
        rd = ArrayReader(npz, where)
        odd = [n for n in npz.zip.namelist() if not n.endswith(".npy")]
        if odd:
            raise ModelFileError(f"{where}: member(s) {sorted(odd)[:5]} are not .npy arrays; not an eie-sim model file")
        if "meta.json" not in npz.files:
            raise ModelFileError(f"{where}: not an eie-sim model file (field 'meta.json' is missing)")
        if npz.zip.getinfo("meta.json.npy").file_size > MAX_META_BYTES:
            raise ModelFileError(f"{where}: field 'meta.json' is larger than {MAX_META_BYTES} bytes")
        raw = rd.get("meta.json", "u8", 1)
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ModelFileError(f"{where}: field 'meta.json' is not valid JSON ({type(exc).__name__})") from None
        if not _json_depth_ok(header):
            raise ModelFileError(f"{where}: field 'meta.json' nests deeper than {MAX_META_DEPTH} levels")
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
            got = header.get("format") if isinstance(header, dict) else header
            raise ModelFileError(f"{where}: field 'format'={describe(got)}; expected {FORMAT_NAME!r}")
        extra_keys = sorted(set(header) - {"format", "version", "meta", "layers"})
        if extra_keys:
            raise ModelFileError(f"{where}: unknown top-level field(s) {extra_keys} in meta.json")
        version = header.get("version")
        if isinstance(version, bool) or version not in READ_VERSIONS:
            raise ModelFileError(f"{where}: field 'version'={describe(version)}; this eie-sim reads versions {', '.join(map(str, READ_VERSIONS))}")
        recs = header.get("layers")
        if not isinstance(recs, list) or not recs:
            raise ModelFileError(f"{where}: field 'layers'={describe(recs)}; expected a non-empty list")
        meta = header.get("meta", {})
        if not isinstance(meta, dict):
            raise ModelFileError(f"{where}: field 'meta'={describe(meta)}; expected an object")
        layers = [_load_layer(i, rec, rd, version) for i, rec in enumerate(recs)]
        extra = {f for f in set(npz.files) - rd.used if not f.startswith("master.")}  # .master's
        if extra:
            raise ModelFileError(f"{where}: unexpected field(s) {sorted(extra)}")
    try:
        model = Model(layers=tuple(layers), meta=meta)
    except EIEError as exc:
        raise ModelFileError(f"{where}: {exc}") from None
    return check_meta(model, where)  # the meta fields that commands act on


def one_code_width(model: Model) -> tuple[Model, list[int]]:
    """(model, widths): a model whose layers use different weight widths (Deep Compression's
    per-layer recipe, e.g. 6-bit conv and 4-bit fc codes) as one the PE array -- a single code
    width -- can run: every layer at the widest width, narrower codebooks padded with their last
    value (no code, hence no weight, changes); ``widths`` the sorted distinct widths, [] when the
    model already has one width (then it is returned as is)."""
    widths = sorted({lay.weight_bits for lay in model.layers})
    if len(widths) < 2:
        return model, []
    top = 1 << widths[-1]
    layers = tuple(lay if lay.weight_bits == widths[-1] else dataclasses.replace(
        lay, codebook=np.r_[lay.codebook, np.full(top - lay.codebook.size, lay.codebook[-1])],
        codes=lay.dense_codes(), encoded=None, _cache={}) for lay in model.layers)
    return dataclasses.replace(model, layers=layers), widths
