"""graph recurrent ops (RNN, GRU, LSTM): whole ONNX nodes against onnxruntime over the
options node tests leave out (activations with alpha/beta, clip, sequence lengths, reverse
and bidirectional, layout 1, linear_before_reset), shape errors, round trips, node tests."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend import DiagnosticError
from descend.ir.printer import print_ir
from descend.testing.onnx_conformance import check_node_test

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

from descend.frontends.onnx.backend import DescendBackend  # noqa: E402

RNG = np.random.default_rng(0)
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def rand(*shape):
    return (RNG.standard_normal(shape) * 0.7).astype(np.float32)


def run_both(op_type, inputs, outputs, **attrs):
    """The node as a model, run by descend and by onnxruntime (by onnx's reference for
    layout 1, which onnxruntime refuses); inputs are (name, array) pairs, an omitted input
    has the array None."""
    while inputs[-1][1] is None:
        inputs = inputs[:-1]
    given = [(n, a) for n, a in inputs if a is not None]
    node = helper.make_node(op_type, [n if a is not None else "" for n, a in inputs], outputs, **attrs)
    dtype = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int32): TensorProto.INT32}

    def model(shapes):
        g = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info(n, dtype[a.dtype], a.shape) for n, a in given],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, s) for o, s in zip(outputs, shapes)])
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 22)])

    feeds = [a for _, a in given]
    if attrs.get("layout"):
        from onnx.reference import ReferenceEvaluator
        session = ReferenceEvaluator(model([None] * len(outputs)))
    else:
        session = ort.InferenceSession(model([None] * len(outputs)).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
    want = session.run(None, {n: a for n, a in given})
    model = model([w.shape for w in want])
    got = DescendBackend.prepare(model, input_arrays=feeds).run(feeds)
    assert len(got) == len(want)
    for g_, w_ in zip(got, want):
        np.testing.assert_allclose(g_, w_, rtol=1e-4, atol=1e-5)
    return got


def operands(op_type, seq=4, batch=3, size=2, hidden=3, dirs=1, layout=0, bias=True, lengths=None,
             states=True, peepholes=False):
    g = GATES[op_type]
    x_shape = (batch, seq, size) if layout else (seq, batch, size)
    state_shape = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
    inputs = [("X", rand(*x_shape)), ("W", rand(dirs, g * hidden, size)), ("R", rand(dirs, g * hidden, hidden)),
              ("B", rand(dirs, 2 * g * hidden) if bias else None),
              ("sequence_lens", None if lengths is None else np.array(lengths, np.int32)),
              ("initial_h", rand(*state_shape) if states else None)]
    if op_type == "LSTM":
        inputs += [("initial_c", rand(*state_shape) if states else None),
                   ("P", rand(dirs, 3 * hidden) if peepholes else None)]
    return inputs


def check(op_type, hidden=3, dirs=1, direction="forward", layout=0, **kwargs):
    inputs = operands(op_type, hidden=hidden, dirs=dirs, layout=layout, **kwargs.pop("shape", {}))
    outputs = ["Y", "Y_h", "Y_c"] if op_type == "LSTM" else ["Y", "Y_h"]
    return run_both(op_type, inputs, outputs, hidden_size=hidden, direction=direction, layout=layout, **kwargs)


@pytest.mark.parametrize("op_type", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_directions_with_sequence_lengths(op_type, direction):
    dirs = 2 if direction == "bidirectional" else 1
    check(op_type, dirs=dirs, direction=direction, shape={"lengths": [4, 2, 3], "peepholes": True})


@pytest.mark.parametrize("op_type", ["RNN", "GRU", "LSTM"])
def test_layout_1_with_initial_states(op_type):
    check(op_type, dirs=2, direction="bidirectional", layout=1)


@pytest.mark.parametrize("op_type", ["RNN", "GRU", "LSTM"])
def test_clip_and_no_bias_or_states(op_type):
    check(op_type, clip=0.5, shape={"bias": False, "states": False})


def test_rnn_activations_with_alpha_and_beta():
    check("RNN", dirs=2, direction="bidirectional", activations=["LeakyRelu", "HardSigmoid"],
          activation_alpha=[0.2, 0.3], activation_beta=[0.6])


def test_gru_linear_before_reset_and_activations():
    check("GRU", linear_before_reset=1)
    check("GRU", activations=["HardSigmoid", "Softsign"], activation_alpha=[0.25], activation_beta=[0.4])


def test_lstm_activations():
    check("LSTM", activations=["HardSigmoid", "Softsign", "ScaledTanh"], activation_alpha=[0.3, 1.5],
          activation_beta=[0.4, 0.8])
    check("LSTM", activations=["Sigmoid", "Elu", "Affine"], activation_alpha=[0.7, 2.0], activation_beta=[0.1])


# ---- errors and round trips ------------------------------------------------------------------------

LSTM_IR = """
func.func @f(%x: tensor<4x3x2xf32>, %w: tensor<1x12x2xf32>, %r: tensor<1x12x3xf32>, %b: tensor<1x24xf32>,
             %l: tensor<3xi32>, %h: tensor<1x3x3xf32>, %c: tensor<1x3x3xf32>, %p: tensor<1x9xf32>)
    -> tensor<4x1x3x3xf32> {
  %y, %yh, %yc = graph.lstm %x, %w, %r, %b, %l, %h, %c, %p {activation_alpha = array<f32: 0.5, 0.0, 0.0>, activations = ["leakyrelu", "tanh", "tanh"], clip = 2.0 : f32} : (tensor<4x3x2xf32>, tensor<1x12x2xf32>, tensor<1x12x3xf32>, tensor<1x24xf32>, tensor<3xi32>, tensor<1x3x3xf32>, tensor<1x3x3xf32>, tensor<1x9xf32>) -> (tensor<4x1x3x3xf32>, tensor<1x3x3xf32>, tensor<1x3x3xf32>)
  func.return %y : tensor<4x1x3x3xf32>
}
"""


def test_round_trip():
    module = descend.parse(LSTM_IR)
    text = str(module)
    assert str(descend.parse(text)) == text
    generic = print_ir(module, generic=True)
    assert print_ir(descend.parse(generic), generic=True) == generic


@pytest.mark.parametrize("old, new, message", [
    ("tensor<1x24xf32>", "tensor<1x20xf32>", r"b must be \[1x24\] .* hidden size 3 \(forward\), got \[1x20\]"),
    ("%h: tensor<1x3x3xf32>", "%h: tensor<1x2x3xf32>", r"initial_h must be \[1x3x3\]"),
    ("tensor<3xi32>", "tensor<3xf32>", r"sequence_lens must be 3 integers"),
    ('activations = ["leakyrelu", "tanh", "tanh"]', 'activations = ["sigmoid", "tanh"]',
     r"needs 3 activations \(forward\), got 2"),
    ('"leakyrelu"', '"gelu"', r"unknown activation 'gelu'"),
])
def test_shape_errors(old, new, message):
    text = LSTM_IR.replace(old, new)
    if old.startswith("%h"):
        text = text.replace("tensor<1x24xf32>, tensor<3xi32>, tensor<1x3x3xf32>",
                            "tensor<1x24xf32>, tensor<3xi32>, tensor<1x2x3xf32>")
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


def test_direction_error_names_the_shapes():
    text = LSTM_IR.replace("clip = 2.0 : f32", 'clip = 2.0 : f32, direction = "bidirectional"')
    with pytest.raises(DiagnosticError, match=r"r must be \[2, 4\*hidden, hidden\], got \[1x12x3\]"):
        descend.parse(text)


# ---- ONNX node tests ---------------------------------------------------------------------------

NODE_TESTS = """
test_simple_rnn_defaults test_simple_rnn_with_initial_bias test_rnn_seq_length test_simple_rnn_batchwise
test_simple_rnn_reverse test_simple_rnn_bidirectional
test_gru_defaults test_gru_with_initial_bias test_gru_seq_length test_gru_batchwise test_gru_reverse
test_gru_bidirectional
test_lstm_defaults test_lstm_with_initial_bias test_lstm_with_peepholes test_lstm_batchwise test_lstm_reverse
test_lstm_bidirectional
""".split()


@pytest.mark.parametrize("name", NODE_TESTS)
def test_onnx_node(name):
    check_node_test(name)
