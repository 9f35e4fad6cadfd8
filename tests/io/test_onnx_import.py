"""ONNX import: every supported op and attribute against onnxruntime, and every refusal."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx_nets import f32, gemm, make_model, mlp, rel_error, run_ort, save  # noqa: E402

from eie_sim.errors import EIEError  # noqa: E402
from eie_sim.io import OnnxImportError, import_onnx  # noqa: E402

RTOL = 1e-5


# ----------------------------------------------------------------------------- supported networks


def gemm_alpha_beta_softmax(rng):
    """Gemm transB=0 with alpha, beta != 1 and a [N] bias; Gemm transB=1 with a [1, N] bias; Softmax."""
    nodes = [gemm("fc1", "x", "h1", "W1", "b1", alpha=0.7, beta=1.3), helper.make_node("Relu", ["h1"], ["r1"], name="r"),
             gemm("fc2", "r1", "h2", "W2", "b2", transB=1), helper.make_node("Softmax", ["h2"], ["y"], name="sm", axis=-1)]
    inits = {"W1": f32(rng, 20, 30), "b1": f32(rng, 30), "W2": f32(rng, 10, 30), "b2": f32(rng, 1, 10)}
    return make_model(nodes, inits), (20,), ["fc1", "fc2"], ["relu", "none"], "softmax"


def flatten_matmul_add_sigmoid(rng):
    """[1, 1, 6, 6] input, Flatten, MatMul + Add (bias first), Relu, Dropout, MatMul without bias, Identity, Sigmoid."""
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat", axis=1),
             helper.make_node("MatMul", ["f", "W1"], ["m1"], name="mm1"),
             helper.make_node("Add", ["b1", "m1"], ["a1"], name="add1"),
             helper.make_node("Relu", ["a1"], ["r1"], name="relu1"),
             helper.make_node("Dropout", ["r1", "ratio", "train"], ["d1"], name="drop"),
             helper.make_node("MatMul", ["d1", "W2"], ["m2"], name="mm2"),
             helper.make_node("Identity", ["m2"], ["i2"], name="id"),
             helper.make_node("Sigmoid", ["i2"], ["y"], name="sig")]
    inits = {"W1": f32(rng, 36, 16), "b1": f32(rng, 16), "ratio": np.array(0.5, np.float32),
             "train": np.array(False), "W2": f32(rng, 16, 5)}
    return make_model(nodes, inits, input_shape=(1, 1, 6, 6)), (1, 6, 6), ["mm1", "mm2"], ["relu", "none"], "sigmoid"


def reshape_scalar_bias_tanh_opset13(rng):
    """Reshape [-1, 16] of [batch, 2, 8]; Gemm transB=1 with alpha=2, beta=0.5 and a scalar bias;
    a hidden Gemm with neither bias nor ReLU; Tanh; opset 13."""
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["v"], name="reshape"),
             gemm("fc1", "v", "h1", "W1", "c1", transB=1, alpha=2.0, beta=0.5),
             gemm("fc2", "h1", "h2", "W2"),
             helper.make_node("Relu", ["h2"], ["r2"], name="relu2"),
             gemm("fc3", "r2", "h3", "W3", "b3", transB=1),
             helper.make_node("Tanh", ["h3"], ["y"], name="tanh")]
    inits = {"shape": np.array([-1, 16], np.int64), "W1": f32(rng, 12, 16), "c1": np.array(0.25, np.float32),
             "W2": f32(rng, 12, 9), "W3": f32(rng, 4, 9), "b3": f32(rng, 4)}
    return (make_model(nodes, inits, input_shape=("batch", 2, 8), opset=13), (2, 8), ["fc1", "fc2", "fc3"],
            ["none", "relu", "none"], "tanh")


def constants_and_folded_add_opset11(rng):
    """Weights from a Constant node and a Transpose of a constant; a Gemm without C followed by an Add
    (folded into its bias); Dropout with a ratio attribute (opset 11); unnamed nodes; no output function."""
    w1 = f32(rng, 8, 7)
    nodes = [helper.make_node("Constant", [], ["W1"], value=numpy_helper.from_array(w1.T.copy(), "W1")),
             helper.make_node("Transpose", ["W1"], ["W1t"], perm=[1, 0]),
             gemm("", "x", "h1", "W1t"),
             helper.make_node("Add", ["h1", "b1"], ["a1"]),
             helper.make_node("Relu", ["a1"], ["r1"]),
             helper.make_node("Dropout", ["r1"], ["d1"], ratio=0.3),
             gemm("", "d1", "y", "W2", "b2")]
    inits = {"b1": f32(rng, 1, 7), "W2": f32(rng, 7, 3), "b2": f32(rng, 3)}
    return make_model(nodes, inits, input_shape=("N", 8), opset=11), (8,), ["gemm1", "gemm2"], ["relu", "none"], None


CASES = [gemm_alpha_beta_softmax, flatten_matmul_add_sigmoid, reshape_scalar_bias_tanh_opset13,
         constants_and_folded_add_opset11]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_imported_network_equals_onnxruntime(case, tmp_path):
    rng = np.random.default_rng(7)
    model, in_shape, names, acts, out_fn = case(rng)
    path = save(model, tmp_path / "net.onnx")
    net = import_onnx(path)
    assert [l.name for l in net.layers] == names
    assert [l.activation for l in net.layers] == acts
    assert net.output_function == out_fn
    batch = 1 if model.graph.input[0].type.tensor_type.shape.dim[0].HasField("dim_value") else 64
    for _ in range(1 if batch == 64 else 16):
        x = rng.normal(size=(batch, *in_shape)).astype(np.float32)
        ref = run_ort(path, x)
        assert rel_error(net.forward(x.reshape(batch, -1)), ref) <= RTOL


def test_gemm_attributes_are_folded_into_the_weights(tmp_path):
    rng = np.random.default_rng(1)
    model = gemm_alpha_beta_softmax(rng)[0]
    path = save(model, tmp_path / "g.onnx")
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    fc1, fc2 = import_onnx(path).layers
    np.testing.assert_allclose(fc1.weight, 0.7 * inits["W1"].T, rtol=1e-6)  # transB=0: W = alpha B^T
    np.testing.assert_allclose(fc1.bias, 1.3 * inits["b1"], rtol=1e-6)
    np.testing.assert_array_equal(fc2.weight, inits["W2"])  # transB=1: W = B
    np.testing.assert_array_equal(fc2.bias, inits["b2"][0])


def test_duplicate_node_names_become_unique_layer_names(tmp_path):
    rng = np.random.default_rng(2)
    model = mlp([6, 5, 4], rng)
    for node in model.graph.node:
        node.name = "dense"
    assert [l.name for l in import_onnx(save(model, tmp_path / "d.onnx")).layers] == ["dense", "dense_2"]


# ----------------------------------------------------------------------------- refusals


def _two_layer(rng, first, *, shape=("N", 4), opset=17, inits=None, extra_inputs=(), domains=()):
    """``first`` nodes from x to "a", then a Gemm to y."""
    base = {"W": f32(rng, 3, 4), "b": f32(rng, 3)}
    nodes = list(first) + [gemm("fc_out", "a", "y", "W", "b", transB=1)]
    return make_model(nodes, {**base, **(inits or {})}, input_shape=shape, opset=opset, extra_inputs=extra_inputs,
                      domains=domains)


def r_conv(rng):
    conv = helper.make_node("ConvTranspose", ["x", "K"], ["c"], name="conv1", kernel_shape=[3, 3])
    flat = helper.make_node("Flatten", ["c"], ["a"], name="flat")
    return _two_layer(rng, [conv, flat], shape=(1, 1, 2, 2), inits={"K": f32(rng, 1, 1, 3, 3), "W": f32(rng, 3, 16)})


def r_attention(rng):
    att = helper.make_node("Attention", ["x", "Wq", "bq"], ["a"], name="attn", domain="com.microsoft", num_heads=1)
    return _two_layer(rng, [att], inits={"Wq": f32(rng, 4, 12), "bq": f32(rng, 12)}, domains=("com.microsoft",))


def r_leaky(rng):
    return _two_layer(rng, [gemm("fc1", "x", "h", "W0", transB=1),
                            helper.make_node("LeakyRelu", ["h"], ["a"], name="leaky")], inits={"W0": f32(rng, 4, 4)})


def r_trans_a(rng):
    return _two_layer(rng, [gemm("fc1", "x", "a", "W0", transA=1)], inits={"W0": f32(rng, 4, 4)})


def r_qdq(rng):
    dq = helper.make_node("DequantizeLinear", ["Wq", "s", "z"], ["Wf"], name="dq_w")
    return _two_layer(rng, [dq, gemm("fc1", "x", "a", "Wf", transB=1)],
                      inits={"Wq": np.ones((4, 4), np.int8), "s": np.array(0.1, np.float32), "z": np.array(0, np.int8)})


def r_int8_weights(rng):
    return _two_layer(rng, [gemm("fc1", "x", "a", "W0", transB=1)], inits={"W0": np.ones((4, 4), np.int8)})


def r_symbolic_feature_dim(rng):
    return _two_layer(rng, [helper.make_node("Identity", ["x"], ["a"], name="id")], shape=("N", "F"))


def r_batch_of_four(rng):
    return _two_layer(rng, [helper.make_node("Identity", ["x"], ["a"], name="id")], shape=(4, 4))


def r_hidden_sigmoid(rng):
    return _two_layer(rng, [gemm("fc1", "x", "h", "W0", transB=1), helper.make_node("Sigmoid", ["h"], ["a"], name="sig")],
                      inits={"W0": f32(rng, 4, 4)})


def r_softmax_axis0(rng):
    sm = helper.make_node("Softmax", ["h"], ["y"], name="sm", axis=0)
    return make_model([gemm("fc1", "x", "h", "W", transB=1), sm], {"W": f32(rng, 3, 4)}, input_shape=("N", 4))


def r_relu_first(rng):
    return _two_layer(rng, [helper.make_node("Relu", ["x"], ["a"], name="relu0")])


def r_branch(rng):
    nodes = [gemm("fc1", "x", "h", "W0", transB=1), helper.make_node("Add", ["h", "x"], ["a"], name="residual")]
    return _two_layer(rng, nodes, inits={"W0": f32(rng, 4, 4)})


def r_dropout_training(rng):
    drop = helper.make_node("Dropout", ["x", "ratio", "train"], ["a"], name="drop")
    return _two_layer(rng, [drop], inits={"ratio": np.array(0.5, np.float32), "train": np.array(True)})


def r_two_inputs(rng):
    extra = (helper.make_tensor_value_info("x2", TensorProto.FLOAT, ["N", 4]),)
    return _two_layer(rng, [helper.make_node("Identity", ["x"], ["a"], name="id")], extra_inputs=extra)


def r_integer_input(rng):
    nodes = [helper.make_node("Identity", ["x"], ["a"], name="id")]
    model = _two_layer(rng, nodes)
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.INT64
    return model


def r_reshape_3d(rng):
    return _two_layer(rng, [helper.make_node("Reshape", ["x", "s"], ["a"], name="rs")],
                      inits={"s": np.array([1, 2, 2], np.int64)})


def r_flatten_axis2(rng):
    return _two_layer(rng, [helper.make_node("Flatten", ["x"], ["a"], name="fl", axis=2)], shape=(1, 2, 2))


def r_gemm_shape(rng):
    return _two_layer(rng, [gemm("fc1", "x", "a", "W0", transB=1)], inits={"W0": f32(rng, 4, 5)})


def r_matmul_constant_first(rng):
    return _two_layer(rng, [helper.make_node("MatMul", ["W0", "x"], ["a"], name="mm")],
                      inits={"W0": f32(rng, 4, 4)})


def r_add_after_relu(rng):
    nodes = [gemm("fc1", "x", "h", "W0", transB=1), helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Add", ["r", "c"], ["a"], name="shift")]
    return _two_layer(rng, nodes, inits={"W0": f32(rng, 4, 4), "c": f32(rng, 4)})


def r_transpose_activations(rng):
    return _two_layer(rng, [helper.make_node("Transpose", ["x"], ["a"], name="tr", perm=[1, 0])], shape=(1, 4))


def r_nan_weight(rng):
    w = f32(rng, 4, 4)
    w[1, 2] = np.nan
    return _two_layer(rng, [gemm("fc1", "x", "a", "W0", transB=1)], inits={"W0": w})


def r_no_layer(rng):
    return make_model([helper.make_node("Identity", ["x"], ["y"], name="id")], {}, input_shape=("N", 4))


def r_sparse_initializer(rng):
    model = _two_layer(rng, [gemm("fc1", "x", "a", "W0", transB=1)], inits={"W0": f32(rng, 4, 4)})
    vals = numpy_helper.from_array(np.array([1.0], np.float32), "S")
    model.graph.sparse_initializer.append(helper.make_sparse_tensor(vals, numpy_helper.from_array(np.array([0], np.int64)), [4]))
    return model


REFUSED = [
    (r_conv, ["node 'conv1' (op ConvTranspose)", "only Conv is read", "Gemm (transA=0), MatMul + Add"]),
    (r_attention, ["node 'attn' (op Attention in domain 'com.microsoft')", "attention"]),
    (r_leaky, ["node 'leaky' (op LeakyRelu) is not supported", "Sigmoid / Tanh / Softmax"]),
    (r_trans_a, ["node 'fc1' (op Gemm)", "transA=1"]),
    (r_qdq, ["node 'dq_w' (op DequantizeLinear)", "quantised"]),
    (r_int8_weights, ["node 'fc1' (op Gemm)", "dtype int8", "integer or quantised weights"]),
    (r_symbolic_feature_dim, ["input 'x' dimension 1 is 'F'", "only the batch dimension may be symbolic"]),
    (r_batch_of_four, ["batch dimension 4", "expected 1 or symbolic"]),
    (r_hidden_sigmoid, ["node 'fc_out' (op Gemm)", "follows the output function sigmoid of node 'sig'"]),
    (r_softmax_axis0, ["node 'sm' (op Softmax)", "axis=0"]),
    (r_relu_first, ["node 'relu0' (op Relu)", "before the first layer"]),
    (r_branch, ["node 'residual' (Add) joins two branches ['h', 'x']", "eie-sim imports chains only"]),
    (r_dropout_training, ["node 'drop' (op Dropout)", "training_mode=true"]),
    (r_two_inputs, ["2 inputs ['x', 'x2']"]),
    (r_integer_input, ["input 'x' is INT64", "expected a float tensor"]),
    (r_reshape_3d, ["node 'rs' (op Reshape)", "to [1, 2, 2]", "expected [batch, 4]"]),
    (r_flatten_axis2, ["node 'fl' (op Flatten)", "axis=2"]),
    (r_gemm_shape, ["node 'fc1' (op Gemm)", "B of shape [4, 5]"]),
    (r_matmul_constant_first, ["node 'mm' (op MatMul)", "multiplies a constant by the activations"]),
    (r_add_after_relu, ["node 'shift' (op Add)", "does not follow a Gemm or MatMul"]),
    (r_transpose_activations, ["node 'tr' (op Transpose)", "transposes the activations"]),
    (r_nan_weight, ["node 'fc1' (op Gemm)", "NaN"]),
    (r_no_layer, ["no Gemm or MatMul layer"]),
    (r_sparse_initializer, ["sparse initializer"]),
]


@pytest.mark.parametrize("build,expect", REFUSED, ids=[b.__name__[2:] for b, _ in REFUSED])
def test_unsupported_networks_are_refused_naming_the_node(build, expect, tmp_path):
    path = save(build(np.random.default_rng(3)), tmp_path / "bad.onnx")
    with pytest.raises(OnnxImportError) as err:
        import_onnx(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(path)
    for part in expect:
        assert part in msg


def test_external_data_is_refused(tmp_path):
    model = mlp([8, 6, 3], np.random.default_rng(4))
    path = tmp_path / "ext.onnx"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location="ext.bin",
              size_threshold=0)
    with pytest.raises(OnnxImportError, match="external file"):
        import_onnx(path)


def _valid_bytes(tmp_path) -> bytes:
    return mlp([8, 6, 3], np.random.default_rng(5)).SerializeToString()


@pytest.mark.parametrize("content,expect", [
    (lambda b: np.random.default_rng(0).bytes(2000), "not an ONNX model"),
    (lambda b: b[: len(b) // 2], "not an ONNX model"),
    (lambda b: b"", "empty file"),
    (lambda b: b"ir_version: 8\ngraph { }\n", "not an ONNX model"),
    (lambda b: b[:40], "not an ONNX model"),
], ids=["random-bytes", "truncated-half", "empty", "text", "truncated-header"])
def test_malformed_files_are_refused_cleanly(content, expect, tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(content(_valid_bytes(tmp_path)))
    with pytest.raises(OnnxImportError) as err:
        import_onnx(path)
    assert expect in str(err.value) and "\n" not in str(err.value)


def test_missing_file_and_invalid_graph(tmp_path):
    with pytest.raises(OnnxImportError, match="no such file"):
        import_onnx(tmp_path / "nope.onnx")
    model = mlp([4, 3], np.random.default_rng(6))
    model.graph.node[0].input[1] = "undefined_weight"  # the checker refuses a dangling input
    with pytest.raises(EIEError, match="not a valid ONNX model"):
        import_onnx(save(model, tmp_path / "dangling.onnx"))
