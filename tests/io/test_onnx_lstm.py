"""ONNX import of an LSTM (then dense layers): eie-sim's float and fixed-point cells against
onnxruntime's LSTM on the same sequences, every refusal, export back to ONNX, and the CLI."""

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import helper  # noqa: E402
from onnx_nets import make_model, rel_error, save  # noqa: E402

from eie_sim.cli import main  # noqa: E402
from eie_sim.contract import golden  # noqa: E402
from eie_sim.contract.lstm import error_bound, reference_sequence  # noqa: E402
from eie_sim.contract.model import load_model  # noqa: E402
from eie_sim.io import ImportSettings, OnnxImportError, compress_imported, import_onnx  # noqa: E402
from eie_sim.io.onnx_export import model_to_onnx, onnxruntime_agreement, save_onnx  # noqa: E402
from eie_sim.train.compress import float_forward  # noqa: E402
from eie_sim.train.lstm import float_lstm_states  # noqa: E402

X, H, T, OUT = 5, 6, 7, 3
RTOL = 1e-5


def weights(rng, *shape, scale=0.4, grid=None):
    w = scale * rng.normal(size=shape)
    return (np.round(w * grid) / grid if grid else w).astype(np.float32)


def lstm_model(seed=0, *, tail="yh", attrs=None, inputs=None, grid=None, relu=False, softmax=False, batch="N",
               steps=T, extra_nodes=()):
    """x [T, batch, X] -> LSTM (W, R, B in ONNX gate order i, o, f, c) -> last hidden state by
    ``tail`` -> Gemm (H -> OUT) [-> Relu -> Gemm (OUT -> OUT)] [-> Softmax]. ``inputs``: extra
    LSTM inputs by position (sequence_lens 4, initial_h 5, initial_c 6, P 7) as arrays."""
    rng = np.random.default_rng(seed)
    inits = {"W": weights(rng, 1, 4 * H, X, grid=grid), "R": weights(rng, 1, 4 * H, H, grid=grid),
             "B": weights(rng, 1, 8 * H, scale=0.2, grid=grid), "G": weights(rng, OUT, H, scale=0.8, grid=grid),
             "g": weights(rng, OUT, scale=0.1, grid=grid)}
    names = ["x", "W", "R", "B"]
    for pos, arr in sorted((inputs or {}).items()):
        names += [""] * (pos - len(names))
        names.append(f"in{pos}")
        inits[f"in{pos}"] = arr
    outs = {"yh": ["", "Y_h"], "y": ["Y", ""], "both": ["Y", "Y_h"], "yc": ["Y", "", "Y_c"]}[tail.split("_")[0]]
    nodes = list(extra_nodes) + [helper.make_node("LSTM", names, outs, name="lstm", hidden_size=H, **(attrs or {}))]
    inits["ax0"] = np.array([0], np.int64)
    if tail == "yh":  # PyTorch's h_n.squeeze(0)
        nodes.append(helper.make_node("Squeeze", ["Y_h", "ax0"], ["h"], name="sq"))
    elif tail == "yh_reshape":
        inits["shape"] = np.array([-1, H], np.int64)
        nodes.append(helper.make_node("Reshape", ["Y_h", "shape"], ["h"], name="rs"))
    elif tail == "y_gather":  # Y[-1] -> [1, N, H] -> squeeze
        inits["last"] = np.array(-1, np.int64)
        nodes += [helper.make_node("Gather", ["Y", "last"], ["yl"], name="ga", axis=0),
                  helper.make_node("Squeeze", ["yl", "ax0"], ["h"], name="sq")]
    elif tail == "y_slice":  # Y[-1:] -> [1, 1, N, H] -> squeeze axes 0, 1
        inits.update(st=np.array([-1], np.int64), en=np.array([2**62], np.int64), ax01=np.array([0, 1], np.int64))
        nodes += [helper.make_node("Slice", ["Y", "st", "en", "ax0"], ["yl"], name="sl"),
                  helper.make_node("Squeeze", ["yl", "ax01"], ["h"], name="sq")]
    elif tail in ("y_first", "y_nosqueeze", "both", "yc"):
        inits["first"] = np.array(0, np.int64)
        nodes.append(helper.make_node("Gather", ["Y", "first" if tail == "y_first" else "ax0"], ["h"], name="ga",
                                      axis=0))
    nodes.append(helper.make_node("Gemm", ["h", "G", "g"], ["o1"], name="fc1", transB=1))
    cur = "o1"
    if relu:  # fc1's bias shifted up so that the ReLU passes values on
        inits["g"] = (inits["g"] + 0.5).astype(np.float32)
        inits.update(G2=weights(rng, OUT, OUT, grid=grid), g2=weights(rng, OUT, scale=0.1, grid=grid))
        nodes += [helper.make_node("Relu", [cur], ["r1"], name="relu1"),
                  helper.make_node("Gemm", ["r1", "G2", "g2"], ["o2"], name="fc2", transB=1)]
        cur = "o2"
    if softmax:
        nodes.append(helper.make_node("Softmax", [cur], ["y"], name="sm", axis=-1))
    else:
        nodes[-1].output[0] = "y"
    model = make_model(nodes, inits, input_shape=(steps, batch, X))
    if tail in ("both", "yc"):  # the other LSTM output used too: a second graph output
        model.graph.output.append(helper.make_tensor_value_info(outs[-1], onnx.TensorProto.FLOAT, [None] * 3))
    return model


def sequences(n=4, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, T, X)).astype(np.float32)


def run_ort(path, seqs):
    """onnxruntime on samples x T x X: one batch [T, n, X]."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(seqs.transpose(1, 0, 2))})[0].astype(np.float64)


def compressed(path, bits=8):
    return compress_imported(import_onnx(path), ImportSettings(weight_bits=bits)).model


# ----------------------------------------------------------------------------- float agreement


@pytest.mark.parametrize("tail,relu,softmax", [("yh", False, False), ("yh_reshape", True, False),
                                               ("y_gather", False, True), ("y_slice", True, True)])
def test_float_view_matches_onnxruntime(tmp_path, tail, relu, softmax):
    path = save(lstm_model(tail=tail, relu=relu, softmax=softmax), tmp_path / "m.onnx")
    net = import_onnx(path)
    assert net.is_sequence and net.lstm.hidden == H and net.lstm.steps == T and net.n_inputs == T * X
    assert net.source["input_shape"] == [T, "batch", X] and [l.name for l in net.layers][0] == "fc1"
    seqs = sequences()
    ref = run_ort(path, seqs)
    err = rel_error(net.forward(seqs), ref)
    assert err <= RTOL  # the trainer's float32 LSTM layer
    # the model's float view (float64 cell on the codebook values): 8-bit sharing is exact on grid weights
    gpath = save(lstm_model(tail=tail, relu=relu, softmax=softmax, grid=32), tmp_path / "g.onnx")
    model = compressed(gpath)
    assert model.is_sequence and model.meta["sequence"] == {"steps": T, "features": X}
    assert [l.kind for l in model.layers] == ["lstm"] + ["fc"] * (1 + relu)
    assert model.layers[1].activation == ("relu" if relu else "none")
    err64 = rel_error(float_forward(model, seqs.reshape(len(seqs), -1)), run_ort(gpath, seqs))
    assert err64 <= RTOL
    print(f"{tail}: trainer float32 vs onnxruntime {err:.2e}, float_forward (float64) vs onnxruntime {err64:.2e}")


def test_gate_order_is_mapped(tmp_path):
    """ONNX i, o, f, c blocks -> eie-sim i, f, g, o rows; bias Wb + Rb in the last column."""
    path = save(lstm_model(), tmp_path / "m.onnx")
    proto = onnx.load(str(path))
    arr = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    w = import_onnx(path).lstm.weight
    blocks = lambda m: [m[k * H : (k + 1) * H] for k in range(4)]  # noqa: E731
    i, o, f, c = blocks(arr["W"][0])
    np.testing.assert_array_equal(w[:, :X], np.concatenate([i, f, c, o]))
    i, o, f, c = blocks(arr["R"][0])
    np.testing.assert_array_equal(w[:, X : X + H], np.concatenate([i, f, c, o]))
    b = arr["B"][0, : 4 * H] + arr["B"][0, 4 * H :]
    i, o, f, c = blocks(b)
    np.testing.assert_allclose(w[:, -1], np.concatenate([i, f, c, o]), rtol=1e-6)
    h, _ = float_lstm_states(w, H, sequences(1)[0])
    assert h.shape == (T, H)


def test_defaults_spelled_out_and_batch_one_are_read(tmp_path):
    """Explicit forward / default activations, zero initial states, sequence_lens all T, batch 1."""
    attrs = {"direction": "forward", "activations": ["Sigmoid", "Tanh", "Tanh"], "input_forget": 0, "layout": 0}
    inputs = {4: np.full(1, T, np.int32), 5: np.zeros((1, 1, H), np.float32), 6: np.zeros((1, 1, H), np.float32)}
    path = save(lstm_model(attrs=attrs, inputs=inputs, batch=1), tmp_path / "m.onnx")
    seqs = sequences(1)
    assert rel_error(import_onnx(path).forward(seqs), run_ort(path, seqs)) <= RTOL


# ----------------------------------------------------------------------------- fixed point


def test_golden_cell_within_its_bound_of_onnxruntime(tmp_path):
    """Golden fixed-point h_T within contract.lstm.error_bound of the float64 cell, and the
    output within (|G| @ bound(h_T) + the FC layer's golden.error_bound) of onnxruntime
    (plus 1e-5 relative for onnxruntime's float32)."""
    path = save(lstm_model(grid=32), tmp_path / "g.onnx")
    model = compressed(path)
    seqs = sequences(8, seed=3)
    ref = run_ort(path, seqs)
    fc = model.layers[1]
    wf = np.abs(fc.codebook[fc.dense_codes().astype(np.int64)])
    worst = {"h_abs": 0.0, "h_bound": 0.0, "out_abs": 0.0, "out_rel": 0.0, "out_bound": 0.0}
    for seq, r in zip(seqs.astype(np.float64), ref):
        res = reference_sequence(model, seq)
        assert not res.lstm.saturated
        h64, _ = float_lstm_states(model.layers[0].codebook[model.layers[0].dense_codes().astype(np.int64)], H, seq)
        e_h = error_bound(model.layers[0], seq, res.lstm)
        assert np.all(np.abs(res.lstm.h - h64) <= e_h)
        e_out = wf @ e_h[-1] + golden.error_bound(fc, res.lstm.output, res.layers[0])
        diff = np.abs(res.output - r)
        assert np.all(diff <= e_out + RTOL * np.abs(ref).max())
        worst = {"h_abs": max(worst["h_abs"], float(np.abs(res.lstm.h[-1] - h64[-1]).max())),
                 "h_bound": max(worst["h_bound"], float(e_h[-1].max())),
                 "out_abs": max(worst["out_abs"], float(diff.max())),
                 "out_rel": max(worst["out_rel"], float(diff.max() / np.abs(ref).max())),
                 "out_bound": max(worst["out_bound"], float(e_out.max()))}
    print("golden vs onnxruntime:", {k: f"{v:.2e}" for k, v in worst.items()})


def test_compressed_model_exports_to_onnxruntime(tmp_path):
    """A 4-bit compressed import written back as ONNX (LSTM + Squeeze + Gemm) runs in onnxruntime
    like eie-sim's float view, and re-imports to the same weights."""
    path = save(lstm_model(relu=True, softmax=True), tmp_path / "m.onnx")
    model = compress_imported(import_onnx(path), ImportSettings(weight_bits=4, sparsity=0.5)).model
    back = save_onnx(model_to_onnx(model), tmp_path / "back.onnx")
    seqs = sequences(5)
    assert onnxruntime_agreement(back, model, seqs) <= RTOL
    assert onnxruntime_agreement(back, model, np.random.default_rng(0).random((20, X))) <= RTOL  # rows as steps
    again = import_onnx(back)
    lay = model.layers[0]
    np.testing.assert_allclose(again.lstm.weight, lay.codebook[lay.dense_codes().astype(np.int64)], atol=1e-6)


# ----------------------------------------------------------------------------- refusals


REFUSED = [
    ({"inputs": {7: np.zeros((1, 3 * H), np.float32)}}, "has peephole weights P"),
    ({"attrs": {"clip": 3.0}}, "has clip=3"),
    ({"attrs": {"input_forget": 1}}, "has input_forget=1"),
    ({"attrs": {"direction": "reverse"}}, "has direction='reverse'"),
    ({"attrs": {"activations": ["HardSigmoid", "Tanh", "Tanh"]}}, "has activations=['HardSigmoid', 'Tanh', 'Tanh']"),
    ({"inputs": {5: np.full((1, 1, H), 0.5, np.float32)}}, "has a non-zero initial_h"),
    ({"inputs": {6: np.full((1, 1, H), 0.5, np.float32)}}, "has a non-zero initial_c"),
    ({"inputs": {4: np.array([T, T - 2], np.int32)}}, "has sequence_lens [7, 5] (varying or not T=7)"),
    ({"attrs": {"layout": 1}}, "has layout=1 (batch first)"),
    ({"tail": "y_first"}, "gathers indices 0 on axis 0; expected the scalar 6 or -1 (the last step)"),
    ({"tail": "y_nosqueeze"}, "gathers indices [0] on axis 0"),
    ({"tail": "both"}, "has both Y and Y_h used"),
    ({"tail": "yc"}, "has its cell-state output Y_c 'Y_c' used"),
]


@pytest.mark.parametrize("kwargs,message", REFUSED, ids=[m.split(";")[0][:30] for _, m in REFUSED])
def test_refusals_name_the_node_and_what_is_supported(tmp_path, kwargs, message):
    path = save(lstm_model(**kwargs), tmp_path / "bad.onnx")
    with pytest.raises(OnnxImportError) as exc:
        import_onnx(path)
    text = str(exc.value)
    assert "node 'lstm' (op LSTM)" in text or "(op Gather)" in text
    assert message in text and "\n" not in text
    if "tail" not in kwargs:
        assert "eie-sim reads an LSTM with forward direction, default activations" in text


def test_bidirectional_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    inits = {"W": weights(rng, 2, 4 * H, X), "R": weights(rng, 2, 4 * H, H), "G": weights(rng, OUT, 2 * H)}
    nodes = [helper.make_node("LSTM", ["x", "W", "R"], ["", "Y_h"], name="bi", hidden_size=H, direction="bidirectional"),
             helper.make_node("Reshape", ["Y_h", "s"], ["h"]), helper.make_node("Gemm", ["h", "G"], ["y"], transB=1)]
    inits["s"] = np.array([-1, 2 * H], np.int64)
    path = save(make_model(nodes, inits, input_shape=(T, "N", X)), tmp_path / "bi.onnx")
    with pytest.raises(OnnxImportError, match=r"node 'bi' \(op LSTM\) has direction='bidirectional'; eie-sim reads"):
        import_onnx(path)


def test_lstm_not_first_is_refused(tmp_path):
    pre = helper.make_node("Relu", ["x"], ["xr"], name="pre")
    model = lstm_model(extra_nodes=[pre])
    model.graph.node[1].input[0] = "xr"
    path = save(model, tmp_path / "late.onnx")
    with pytest.raises(OnnxImportError, match=r"node 'pre' \(op Relu\) comes before the LSTM that reads "
                                              r"the graph input; an LSTM is read only as the first operation"):
        import_onnx(path)
    mlp_then_lstm = make_model([helper.make_node("Gemm", ["x", "G"], ["g"], name="fc0", transB=1),
                                helper.make_node("LSTM", ["g", "W", "R"], ["", "y"], name="lstm", hidden_size=H)],
                               {"G": weights(np.random.default_rng(0), X, X), "W": weights(np.random.default_rng(1), 1, 4 * H, X),
                                "R": weights(np.random.default_rng(2), 1, 4 * H, H)}, input_shape=("N", X))
    with pytest.raises(OnnxImportError, match=r"node 'lstm' \(op LSTM\) is not the first operation on the graph input; "
                                              r"an LSTM is read only as the first layer, on the input \[T, batch, X\]"):
        import_onnx(save(mlp_then_lstm, tmp_path / "mlp_lstm.onnx"))


def test_gemm_on_the_whole_sequence_and_squeeze_without_lstm_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("LSTM", ["x", "W", "R"], ["Y", ""], name="lstm", hidden_size=H),
             helper.make_node("Gemm", ["Y", "G"], ["y"], name="fc", transB=1)]
    inits = {"W": weights(rng, 1, 4 * H, X), "R": weights(rng, 1, 4 * H, H), "G": weights(rng, OUT, H)}
    path = save(make_model(nodes, inits, input_shape=(T, "N", X)), tmp_path / "seq.onnx")
    with pytest.raises(OnnxImportError, match=r"node 'fc' \(op Gemm\) gets the LSTM's output of shape \[7, 1, batch, 6\]"):
        import_onnx(path)
    nodes = [helper.make_node("Squeeze", ["x", "ax"], ["s"], name="sq"), helper.make_node("Gemm", ["s", "G"], ["y"])]
    path = save(make_model(nodes, {"ax": np.array([0], np.int64), "G": weights(rng, OUT, X)}, input_shape=(1, X)),
                tmp_path / "sq.onnx")
    with pytest.raises(OnnxImportError, match=r"node 'sq' \(op Squeeze\) does not follow an LSTM"):
        import_onnx(path)


# ----------------------------------------------------------------------------- command line


def test_cli_import_golden_run_export_session(tmp_path, capsys):
    path = save(lstm_model(relu=True, softmax=True), tmp_path / "net.onnx")
    out, seq, back = tmp_path / "net.npz", tmp_path / "seq.npy", tmp_path / "back.onnx"
    assert main(["import", path, "-o", str(out), "--weight-bits", "4", "--sparsity", "0.3"]) == 0
    text = capsys.readouterr().out
    assert f"LSTM lstm {X} -> {H} over {T} steps, then 2 fully connected layer(s) {H} -> {OUT} -> {OUT}" in text
    assert f"wrote {out}" in text
    model = load_model(out)
    assert model.is_sequence and model.meta["sequence"] == {"steps": T, "features": X}
    x = sequences(1)[0]
    np.save(seq, x)
    assert main(["golden", str(out), "--input", str(seq), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["lstm"]["steps"] == T and len(got["output"]) == OUT
    assert main(["run", str(out), "--input", str(seq), "--pes", "4"]) == 0
    assert "lstm" in capsys.readouterr().out
    assert main(["export", str(out), "-o", str(back)]) == 0
    assert "max relative difference" in capsys.readouterr().out
    assert rel_error(run_ort(back, x[None]), float_forward(model, x.reshape(1, -1))) <= RTOL
