"""The shipped compressed LeNet-5 (models/lenet5-fashion.npz): conv, conv, fc, fc layers; its
recorded report re-derived from the codes (kept weights, EIE entries with padding, Deep
Compression's bit counts, Huffman sizes); golden fixed point against a float forward written
here in NumPy (skipped where dataset-fashion-mnist is not installed)."""

import heapq
import json
from pathlib import Path

import numpy as np
import pytest

from eie_sim import load_model
from eie_sim.cli import main
from eie_sim.contract.golden import reference_forward_batch
from eie_sim.train.data import FASHION_DIR, load_dataset

MODEL = Path(__file__).resolve().parents[2] / "models" / "lenet5-fashion.npz"
REPORT = MODEL.with_name("lenet5-fashion.report.json")
needs_fashion = pytest.mark.skipif(not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists(),
                                   reason="dataset-fashion-mnist is not installed")
SUBSET = 1000  # test images run through the golden model


def _weights(lay) -> np.ndarray:
    return lay.codebook[lay.dense_codes()]


def _float_forward(model, x: np.ndarray) -> np.ndarray:
    """Caffe LeNet-5 in float64 from the model's codebooks: valid 5x5 convolutions (the codes
    as W.reshape(C_out, C_in * k * k)), 2 x 2 max pooling, ReLU where the layer has one."""
    h = x.reshape(len(x), 1, 28, 28).astype(np.float64)
    for lay in model.layers:
        w, b = _weights(lay), lay.bias
        if lay.kind == "conv":
            k = lay.params["kernel"][0]
            win = np.lib.stride_tricks.sliding_window_view(h, (k, k), axis=(2, 3))  # N, C, H', W', k, k
            n, c, ho, wo = win.shape[:4]
            cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
            h = (cols @ w.T + b).reshape(n, ho, wo, -1).transpose(0, 3, 1, 2)
            h = h.reshape(n, h.shape[1], ho // 2, 2, wo // 2, 2).max(axis=(3, 5))
        else:
            h = h.reshape(len(h), -1) @ w.T + b
        if lay.activation == "relu":
            h = np.maximum(h, 0.0)
    return h


def _entries(codes: np.ndarray, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Weight codes v and relative indices z of one column-major stream (each column starts
    afresh; a run of more than 2**index_bits - 1 zeros takes a padding entry, v = 0)."""
    top = (1 << index_bits) - 1
    v, z = [], []
    for col in codes.T:
        prev = -1
        for r in np.flatnonzero(col):
            gap = r - prev - 1
            while gap > top:
                v.append(0), z.append(top)
                gap -= top + 1
            v.append(int(col[r])), z.append(gap)
            prev = r
    return np.array(v), np.array(z)


def _huffman(stream: np.ndarray) -> int:
    """Bits of ``stream`` under an optimal prefix code of its own symbol counts (1 bit per
    symbol when there is one symbol)."""
    counts = sorted(np.bincount(stream)[np.unique(stream)].tolist())
    if len(counts) == 1:
        return counts[0]
    heapq.heapify(counts)
    total = 0
    while len(counts) > 1:
        s = heapq.heappop(counts) + heapq.heappop(counts)
        total += s
        heapq.heappush(counts, s)
    return total


def test_shipped_lenet5_layers():
    m = load_model(MODEL)
    assert [l.kind for l in m.layers] == ["conv", "conv", "fc", "fc"]
    assert [l.name for l in m.layers] == ["conv1", "conv2", "fc1", "fc2"]
    assert [l.shape for l in m.layers] == [(20, 25), (50, 500), (500, 800), (10, 500)]
    assert [tuple(l.params["in_hw"]) for l in m.layers[:2]] == [(28, 28), (12, 12)]
    assert all(l.params["pool"] == "max" for l in m.layers[:2])
    assert [l.activation for l in m.layers] == ["none", "none", "relu", "none"]
    assert m.n_inputs == 784 and m.n_outputs == 10
    assert all(l.in_frac is not None and l.out_frac is not None for l in m.layers)
    assert m.meta["command"].startswith("eie-sim compress lenet5 --dataset fashion-mnist ")
    assert "--out models/lenet5-fashion.npz" in m.meta["command"] and "--seed 0" in m.meta["command"]
    assert MODEL.stat().st_size < 200_000


def test_shipped_lenet5_report_matches_its_codes():
    m = load_model(MODEL)
    rep = m.meta["report"]
    assert rep == json.loads(REPORT.read_text())["report"]
    layers = json.loads(REPORT.read_text())["layers"]
    dense = pq = huff = 0
    for lay, row in zip(m.layers, layers):
        codes = lay.dense_codes()
        assert row["layer"] == lay.name and row["weights"] == codes.size
        assert row["kept"] == np.count_nonzero(codes) and row["weight_bits"] == lay.weight_bits
        v, z = _entries(codes, lay.index_bits)
        assert row["entries"] == v.size
        codebook_bits = 32 << lay.weight_bits
        assert row["bits_pruned_quantized"] == v.size * (lay.weight_bits + lay.index_bits) + codebook_bits
        assert row["bits_huffman"] == _huffman(v) + _huffman(z) + codebook_bits
        dense, pq, huff = dense + 32 * codes.size, pq + row["bits_pruned_quantized"], huff + row["bits_huffman"]
    kept = sum(np.count_nonzero(l.dense_codes()) for l in m.layers) / sum(l.dense_codes().size for l in m.layers)
    assert kept == pytest.approx(rep["kept_pct"] / 100)
    assert rep["ratio_huffman"] == pytest.approx(dense / huff) and rep["ratio_pruned_quantized"] == pytest.approx(dense / pq)


@needs_fashion
def test_shipped_lenet5_golden_vs_float(capsys):
    m = load_model(MODEL)
    d = load_dataset("fashion-mnist")
    x, y = d.x_test[:SUBSET], d.y_test[:SUBSET]
    facc = float((_float_forward(m, x).argmax(axis=1) == y).mean())
    acc = float((reference_forward_batch(m, x).argmax(axis=1) == y).mean())
    assert abs(acc - facc) <= 0.005  # the bit-exact fixed-point model is within 0.5 points of float
    # the recorded float accuracy (all 10,000 images, the trainer's network) is near this subset's
    assert abs(facc - m.meta["compressed_float_accuracy"]) <= 0.03
    # eval --simulate runs the mixed-width model (6-bit conv, 4-bit fc codes) on the cycle model
    assert main(["eval", str(MODEL), "--limit-test", "20", "--simulate", "1", "--pes", "64", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["simulator_matches"] and ev["simulated_weight_bits"] == max(l.weight_bits for l in m.layers)
    assert [l["layer"] for l in ev["layers"]] == ["conv1", "conv2", "fc1", "fc2"]
