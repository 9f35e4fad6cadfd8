"""Sparsity-dispersion statistics of real, publicly released pruned layers (Deep Compression / EIE).

Writes ``eie_sim/cycle/real_layers.json``: per layer (matrix of n_out rows = output neurons or
channels, n_in columns = inputs or C_in*kh*kw) the density, the EIE padding fraction, the CV of the
non-zeros per row and per column, their binomial baselines, the excess ("intrinsic") CVs and the
per-PE balance of rows interleaved over 16 and 64 PEs. The decoders below are our own, written from
the format descriptions; nothing is downloaded and no third-party code is imported.

Sources (fetched by hand, outside the project):
  * RalphMao/EIE-simulator @ 7ee00297f4465505d1192ae417923a64dd971d10, ``data/ptr/ptr{0..63}.dat``
    and ``data/spm/spm{0..63}.dat``: AlexNet fc8 (1000 x 4096) encoded for 64 PEs. No licence file.
  * songhan/SqueezeNet-Deep-Compression @ fb13faa2cf121ced9999f8a9d538ec6c56084733,
    ``compressed_SqueezeNet.net`` (675,763 bytes), BSD licence.
  * songhan/Deep-Compression-AlexNet @ a4ab6859e1bc86dec3607c8cdd53b0a72da6bcda lists
    ``AlexNet_compressed.net`` in its tree but the blob is absent from the mirror (not used).

Regeneration::

    git clone https://github.com/RalphMao/EIE-simulator /tmp/disp/eie
    git -C /tmp/disp/eie checkout 7ee00297f4465505d1192ae417923a64dd971d10
    git clone https://github.com/songhan/SqueezeNet-Deep-Compression /tmp/disp/sq
    git -C /tmp/disp/sq checkout fb13faa2cf121ced9999f8a9d538ec6c56084733
    python benchmarks/real_dispersion.py --squeezenet /tmp/disp/sq/compressed_SqueezeNet.net \\
        --fc8-dir /tmp/disp/eie/data [--out eie_sim/cycle/real_layers.json]

fc8 format (EIE-simulator, script/layer_dump2.py): row r goes to PE r % 64 as local row r // 64.
Per PE, ``ptr`` is little-endian uint32 [4098]: ptr[c]..ptr[c+1] are the entries of column c
(c < 4096), the last span holds the bias entries. ``spm`` is uint32 pairs (code, index): index is
the number of zero rows skipped before the entry (4 bits); a gap >= 16 inserts filler entries
(code 0, index 15) that each skip 16 rows. Code 0 is codebook value 0.0, so code 0 = padding.

SqueezeNet format (decode.py of the repo): uint32 stored-entry count per layer (26 layers, in
prototxt order), then per layer: 256 fp32 codebook, C_out fp32 bias, one uint8 code per entry
(all 26 layers are named conv* so all use 8 bits), ceil(n/2) bytes of 4-bit gaps (low nibble
first); entry k sits at position sum_{j<=k}(gap_j + 1) - 1 of the flattened [C_out, C_in, kh, kw]
blob. A filler entry's code points to the codebook's 0.0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile

import numpy as np

SQUEEZENET_SHA256 = "e4ab6960ae8cd81505e1c2136921201507e930966c53deaf15862a395b3a3261"
# sha256 of `cd data && sha256sum ptr/*.dat spm/*.dat | LC_ALL=C sort -k2` (the manifest text)
FC8_MANIFEST_SHA256 = "217139948562e8e083a88c1129b91a85b4891fe352f9ece5542e6d1db0df8dae"

# SqueezeNet v1.0 (SqueezeNet_deploy.prototxt): (name, C_out, C_in, kernel), prototxt order.
_FIRE = [(16, 64, 96), (16, 64, 128), (32, 128, 128), (32, 128, 256),
         (48, 192, 256), (48, 192, 384), (64, 256, 384), (64, 256, 512)]
SQUEEZENET_LAYERS = [("conv1", 96, 3, 7)]
for _i, (_s, _e, _cin) in enumerate(_FIRE, start=2):
    SQUEEZENET_LAYERS += [(f"fire{_i}/conv1x1_1", _s, _cin, 1), (f"fire{_i}/conv1x1_2", _e, _s, 1),
                          (f"fire{_i}/conv3x3_2", _e, _s, 3)]
SQUEEZENET_LAYERS.append(("conv_final", 1000, 512, 1))

# Authors' C++ simulator on this fc8 (64 PEs), measured once in /tmp/disp (not re-run here).
FC8_SIMULATOR = {
    "repo": "RalphMao/EIE-simulator@7ee00297f4465505d1192ae417923a64dd971d10",
    "build": "write src/params.h (template of script/layer_dump2.py: NUM_PE=64, ACTRW_maxcapacity=4096, "
             "NZFETCH_buffersize=B, PTRVEC_num_lines=4098, SPMAT_unit_line=8, SPMAT_num_lines=2260, "
             "SPMAT_index_bits=4, SPMAT_weights_bits=4, ARITHM_codebooksize=16, ACT_length=4096); "
             "make link (g++ 12.2, -O2 -DDEBUG=1 -DPROFILE=1); ./simulation (reads data/act.dat)",
    "note": "NZFETCH_buffersize is a circular buffer holding B-1 entries; B=1 never finishes. "
            "FIFO depth 1 = B 2, FIFO depth 8 = B 9 (the repo's batch_buffer_cycles.py sweeps B=2..512).",
    "cycles": {"fifo1_B2": 10194, "B8": 7926, "fifo8_B9": 7896},
    "load_efficiency": {"fifo1_B2": 0.6955, "B8": 0.8945, "fifo8_B9": 0.8979},
}


def sha256_file(path: str) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fc8_manifest(data_dir: str) -> tuple[str, int]:
    """(sha256 of the sha256sum-style manifest of ptr/*.dat + spm/*.dat, total bytes)."""
    rels = sorted(f"{d}/{n}" for d in ("ptr", "spm") for n in os.listdir(os.path.join(data_dir, d)))
    lines = "".join(f"{sha256_file(os.path.join(data_dir, r))}  {r}\n" for r in rels)
    size = sum(os.path.getsize(os.path.join(data_dir, r)) for r in rels)
    return hashlib.sha256(lines.encode()).hexdigest(), size


def decode_fc8(data_dir: str, n_pe: int = 64, n_in: int = 4096, n_out: int = 1000):
    """Boolean mask [n_out, n_in] of real non-zeros of fc8 and the number of padding entries."""
    codes, n_pad = decode_fc8_codes(data_dir, n_pe, n_in, n_out)
    return codes > 0, n_pad


def load_fc8(data_dir: str):
    """(codes uint8 [1000, 4096], codebook float64 [16], activations float64 [4096]) of the released
    fc8: the weight codes, ``arithm.dat`` (fp32 codebook, entry 0 = 0.0) and ``act.dat`` (fp32 input
    vector, the fc7 output the authors' simulator runs on)."""
    codes, _ = decode_fc8_codes(data_dir)
    codebook = np.fromfile(os.path.join(data_dir, "arithm.dat"), dtype="<f4").astype(np.float64)
    acts = np.fromfile(os.path.join(data_dir, "act.dat"), dtype="<f4").astype(np.float64)
    if codebook.shape != (16,) or codebook[0] != 0.0 or acts.shape != (codes.shape[1],):
        raise SystemExit(f"{data_dir}: arithm.dat / act.dat are not fc8's 16-entry codebook and 4096 inputs")
    return codes, codebook, acts


def decode_fc8_codes(data_dir: str, n_pe: int = 64, n_in: int = 4096, n_out: int = 1000):
    """Weight codes [n_out, n_in] (uint8, 0 = pruned) of fc8 and the number of padding entries."""
    mask = np.zeros((n_out, n_in), dtype=bool)
    codes = np.zeros((n_out, n_in), dtype=np.uint8)
    n_pad = 0
    for pe in range(n_pe):
        ptr = np.fromfile(os.path.join(data_dir, "ptr", f"ptr{pe}.dat"), dtype="<u4").astype(np.int64)
        spm = np.fromfile(os.path.join(data_dir, "spm", f"spm{pe}.dat"), dtype="<u4").reshape(-1, 2)
        code, gap = spm[:, 0].astype(np.int64), spm[:, 1].astype(np.int64)
        assert ptr.size == n_in + 2 and ptr[0] == 0 and ptr[-1] == len(code), pe
        assert np.all(np.diff(ptr) >= 0) and gap.max() < 16 and code.max() < 16, pe
        end = ptr[n_in]                                   # weights only; the bias span follows
        col = np.repeat(np.arange(n_in), np.diff(ptr[: n_in + 1]))
        csum = np.cumsum(gap[:end] + 1)
        start = np.concatenate(([0], csum))[ptr[:n_in]]   # cumulative sum before each column
        local = csum - start[col] - 1                     # local row inside the PE
        pad = code[:end] == 0
        assert np.all(gap[:end][pad] == 15), pe
        rows = local[~pad] * n_pe + pe
        assert rows.max() < n_out, pe
        assert not mask[rows, col[~pad]].any(), pe     # no cell decoded twice
        mask[rows, col[~pad]] = True
        codes[rows, col[~pad]] = code[:end][~pad]
        n_pad += int(pad.sum())
    return codes, n_pad


def decode_squeezenet(path: str):
    """List of (name, C_out, C_in, kernel, mask [C_out, C_in*k*k], n_padding) of all 26 convs."""
    raw = open(path, "rb").read()
    n = len(SQUEEZENET_LAYERS)
    counts = np.frombuffer(raw, dtype="<u4", count=n).astype(np.int64)
    off, out = 4 * n, []
    for (name, c_out, c_in, k), cnt in zip(SQUEEZENET_LAYERS, counts):
        codebook = np.frombuffer(raw, dtype="<f4", count=256, offset=off)
        off += 4 * 256 + 4 * c_out                        # codebook + bias
        codes = np.frombuffer(raw, dtype=np.uint8, count=cnt, offset=off)
        off += cnt
        nb = (cnt + 1) // 2
        packed = np.frombuffer(raw, dtype=np.uint8, count=nb, offset=off)
        off += nb
        gaps = np.empty(2 * nb, dtype=np.int64)
        gaps[0::2], gaps[1::2] = packed & 0x0F, packed >> 4
        pos = np.cumsum(gaps[:cnt] + 1) - 1
        size = c_out * c_in * k * k
        assert pos[-1] < size, (name, pos[-1], size)
        assert np.count_nonzero(codebook == 0.0) == 1, name
        real = codebook[codes] != 0.0
        pad = ~real
        assert np.all(gaps[:cnt][pad] == 15), name        # fillers only bridge gaps >= 16
        flat = np.zeros(size, dtype=bool)
        flat[pos[real]] = True
        assert flat.sum() == real.sum(), name             # no position decoded twice
        out.append((name, c_out, c_in, k, flat.reshape(c_out, c_in * k * k), int(pad.sum())))
    assert off == len(raw), (off, len(raw))               # header counts consume the file exactly
    return out


def cv(x: np.ndarray) -> float:
    """Coefficient of variation std/mean (population std) of counts."""
    return float(x.std() / x.mean())


def pe_max_mean(mask: np.ndarray, n_pe: int):
    """max/mean of non-zeros per PE with row i on PE i % n_pe; None when fewer rows than PEs."""
    if mask.shape[0] < n_pe:
        return None
    per_row = mask.sum(axis=1)
    per_pe = np.bincount(np.arange(mask.shape[0]) % n_pe, weights=per_row, minlength=n_pe)
    return float(per_pe.max() / per_pe.mean())


def layer_stats(mask: np.ndarray, n_pad: int) -> dict:
    """Dispersion statistics of one boolean non-zero mask [n_out, n_in] (all ratios unitless)."""
    n_out, n_in = mask.shape
    nnz = int(mask.sum())
    p = nnz / mask.size
    rcv, ccv = cv(mask.sum(axis=1)), cv(mask.sum(axis=0))
    rb, cb = np.sqrt((1 - p) / (p * n_in)), np.sqrt((1 - p) / (p * n_out))
    return {"n_out": n_out, "n_in": n_in, "nnz": nnz, "padding_entries": n_pad, "density": p,
            "padding_fraction": n_pad / (nnz + n_pad), "row_cv": rcv, "col_cv": ccv,
            "row_binom": rb, "col_binom": cb,
            "row_excess_cv": float(np.sqrt(max(0.0, rcv ** 2 - rb ** 2))),
            "col_excess_cv": float(np.sqrt(max(0.0, ccv ** 2 - cb ** 2))),
            "empty_rows": int((mask.sum(axis=1) == 0).sum()),
            "empty_cols": int((mask.sum(axis=0) == 0).sum()),
            "pe16_max_mean": pe_max_mean(mask, 16), "pe64_max_mean": pe_max_mean(mask, 64)}


def round_sig(obj, sig: int = 4):
    """Round every float in a JSON-like structure to `sig` significant digits."""
    if isinstance(obj, float):
        return float(f"{obj:.{sig}g}")
    if isinstance(obj, dict):
        return {k: round_sig(v, sig) for k, v in obj.items()}
    if isinstance(obj, list):
        return [round_sig(v, sig) for v in obj]
    return obj


def build(squeezenet: str, fc8_dir: str) -> dict:
    """Check the inputs' hashes, decode every layer and return the JSON document."""
    sq_sha = sha256_file(squeezenet)
    if sq_sha != SQUEEZENET_SHA256:
        raise SystemExit(f"{squeezenet}: sha256 {sq_sha} != {SQUEEZENET_SHA256}")
    man, fc8_bytes = fc8_manifest(fc8_dir)
    if man != FC8_MANIFEST_SHA256:
        raise SystemExit(f"{fc8_dir}: manifest sha256 {man} != {FC8_MANIFEST_SHA256}")
    sources = [
        {"repo": "RalphMao/EIE-simulator", "commit": "7ee00297f4465505d1192ae417923a64dd971d10",
         "paths": "data/ptr/ptr{0..63}.dat, data/spm/spm{0..63}.dat", "bytes": fc8_bytes,
         "manifest_sha256": man, "license": "none stated (no LICENSE file); used for measurement only",
         "content": "AlexNet fc8 (1000 x 4096, Deep Compression pruned, 4-bit codes) for 64 PEs; "
                    "padding = EIE fillers of the per-PE column runs"},
        {"repo": "songhan/SqueezeNet-Deep-Compression", "commit": "fb13faa2cf121ced9999f8a9d538ec6c56084733",
         "path": "compressed_SqueezeNet.net", "bytes": os.path.getsize(squeezenet), "sha256": sq_sha,
         "license": "BSD (LICENCE)", "content": "SqueezeNet v1.0, 26 conv layers, 8-bit codes; padding = storage fillers of the "
                    "4-bit gaps over the flattened blob (not EIE per-PE column padding)"},
        {"repo": "songhan/Deep-Compression-AlexNet", "commit": "a4ab6859e1bc86dec3607c8cdd53b0a72da6bcda",
         "path": "AlexNet_compressed.net", "license": "BSD-2-Clause (LICENSE)",
         "content": "listed in the tree but the blob is absent from the mirror; not used"},
    ]
    mask, n_pad = decode_fc8(fc8_dir)
    layers = [{"network": "AlexNet", "layer": "fc8", "kind": "fc", **layer_stats(mask, n_pad),
               "authors_simulator": FC8_SIMULATOR}]
    for name, c_out, c_in, k, m, pad in decode_squeezenet(squeezenet):
        layers.append({"network": "SqueezeNet", "layer": name, "kind": "conv", "kernel": k,
                       "c_in": c_in, **layer_stats(m, pad)})
    return round_sig({"sources": sources, "layers": layers})


def write_atomic(doc: dict, out: str) -> None:
    """Write JSON to `out` through a temporary file in the same directory and os.replace."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(out)), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--squeezenet", required=True, help="path of compressed_SqueezeNet.net")
    ap.add_argument("--fc8-dir", required=True, help="EIE-simulator data/ directory (ptr/, spm/)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "eie_sim",
                                                  "cycle", "real_layers.json"))
    args = ap.parse_args()
    doc = build(args.squeezenet, args.fc8_dir)
    write_atomic(doc, args.out)
    print(f"{'layer':24s} {'n_out':>5s} {'n_in':>5s} {'dens':>6s} {'pad':>6s} {'rowcv':>6s} "
          f"{'rowx':>6s} {'colcv':>6s} {'colx':>6s} {'pe16':>6s} {'pe64':>6s}")
    for r in doc["layers"]:
        f = lambda v: "   -  " if v is None else f"{v:6.3f}"
        print(f"{r['network'][:4] + '/' + r['layer']:24s} {r['n_out']:5d} {r['n_in']:5d} "
              f"{f(r['density'])} {f(r['padding_fraction'])} {f(r['row_cv'])} {f(r['row_excess_cv'])} "
              f"{f(r['col_cv'])} {f(r['col_excess_cv'])} {f(r['pe16_max_mean'])} {f(r['pe64_max_mean'])}")
    print(f"wrote {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
