"""graph signal ops (DFT, STFT) and the constant window / mel functions: semantics against
numpy and onnxruntime, shape errors, round trips, the ONNX node tests."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend import DiagnosticError
from descend.dialects import graph
from descend.dialects.graph import signal
from descend.ir.printer import print_ir
from descend.testing.onnx_conformance import check_node_test

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from descend.frontends.onnx.backend import DescendBackend  # noqa: E402

RNG = np.random.default_rng(0)


def _shaped(model, shape):
    out = model.graph.output[0]
    out.CopyFrom(helper.make_tensor_value_info("y", out.type.tensor_type.elem_type, shape))
    return model


@pytest.mark.parametrize("inverse, onesided, axis, length, last", [
    (0, 0, 1, None, 1), (0, 0, 2, 12, 2), (0, 1, 1, None, 1), (1, 0, 1, 6, 2), (1, 1, 1, None, 2),
    (0, 0, -2, None, 2),
])
def test_dft_against_onnxruntime(inverse, onesided, axis, length, last):
    x = RNG.standard_normal((2, 8, 5, last)).astype(np.float32)
    names = [("len", np.array(length, np.int64) if length else None), ("axis", np.array(axis, np.int64))]
    node_inputs = ["x", "len" if length else "", "axis"]
    node = helper.make_node("DFT", node_inputs, ["y"], inverse=inverse, onesided=onesided)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(a, n) for n, a in names if a is not None])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)])
    (want,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    (got,) = DescendBackend.prepare(_shaped(model, want.shape), input_arrays=[x]).run([x])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_dft_reference_is_numpy_fft():
    x = RNG.standard_normal((3, 7, 2)).astype(np.float64)
    z = x[..., 0] + 1j * x[..., 1]
    y = graph.DftOp.reference(x, axis=1, length=7)
    np.testing.assert_allclose(y[..., 0] + 1j * y[..., 1], np.fft.fft(z, axis=1))
    real = graph.DftOp.reference(_pairs(np.fft.rfft(z.real, axis=1)), axis=1, length=7, inverse=1, onesided=1)
    np.testing.assert_allclose(real[..., 0], z.real, atol=1e-12)


def _pairs(z):
    return np.stack([z.real, z.imag], axis=-1)


@pytest.mark.parametrize("window, onesided", [(False, 1), (True, 1), (True, 0)])
def test_stft_against_onnxruntime(window, onesided):
    x = RNG.standard_normal((2, 40, 1)).astype(np.float32)
    constants = [("step", np.array(6, np.int64))]
    if window:
        constants.append(("window", signal.hann_window(10, True, np.float32)))
    else:
        constants += [("", None), ("length", np.array(10, np.int64))]
    names = ["x"] + [n for n, _ in constants]
    node = helper.make_node("STFT", names, ["y"], onesided=onesided)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(a, n) for n, a in constants if a is not None])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    (want,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    (got,) = DescendBackend.prepare(_shaped(model, want.shape), input_arrays=[x]).run([x])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("op_type, fn", [("HannWindow", signal.hann_window),
                                         ("HammingWindow", signal.hamming_window),
                                         ("BlackmanWindow", signal.blackman_window)])
@pytest.mark.parametrize("periodic", [0, 1])
def test_windows_match_onnxruntime(op_type, fn, periodic):
    node = helper.make_node(op_type, ["n"], ["y"], periodic=periodic)
    g = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.array(9, np.int64), "n")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    (want,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {})
    np.testing.assert_allclose(fn(9, bool(periodic), np.float32), want, rtol=1e-5, atol=1e-6)


def test_mel_weight_matrix_matches_onnx_reference():
    from onnx.reference import ReferenceEvaluator
    args = [np.array(v, t) for v, t in [(6, np.int64), (32, np.int64), (16000, np.int64),
                                        (20.0, np.float32), (7000.0, np.float32)]]
    names = ["bins", "dft", "rate", "low", "high"]
    node = helper.make_node("MelWeightMatrix", names, ["y"])
    g = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(a, n) for n, a in zip(names, args)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    (want,) = ReferenceEvaluator(model).run(None, {})
    np.testing.assert_allclose(signal.mel_weight_matrix(6, 32, 16000, 20.0, 7000.0, np.float32), want)


# ---- errors and round trips ------------------------------------------------------------------

IR = """
func.func @f(%x: tensor<2x8x1xf32>, %s: tensor<1x40x1xf32>, %w: tensor<10xf32>) -> tensor<2x5x2xf32> {
  %y = graph.dft %x {axis = 1, length = 8, onesided = 1} : (tensor<2x8x1xf32>) -> tensor<2x5x2xf32>
  %z = graph.stft %s, %w {frame_length = 10, frame_step = 6} : (tensor<1x40x1xf32>, tensor<10xf32>) -> tensor<1x6x6x2xf32>
  func.return %y : tensor<2x5x2xf32>
}
"""


def test_round_trip():
    module = descend.parse(IR)
    assert str(descend.parse(str(module))) == str(module)
    generic = print_ir(module, generic=True)
    assert print_ir(descend.parse(generic), generic=True) == generic


@pytest.mark.parametrize("replacements, message", [
    ([("axis = 1, length = 8", "axis = 2, length = 8")], r"axis 2 is the complex axis of \[2x8x1\]"),
    ([("tensor<2x8x1xf32>", "tensor<2x8x3xf32>")], r"end in an axis of 1 \(real\) or 2 \(complex\), got \[2x8x3\]"),
    ([("tensor<10xf32>", "tensor<9xf32>")], r"window must be \[10\] \(frame_length\), got \[9\]"),
    ([("frame_length = 10", "frame_length = 50")], r"frame_length 50 do not fit signal \[1x40x1\]"),
])
def test_shape_errors(replacements, message):
    text = IR
    for old, new in replacements:
        text = text.replace(old, new)
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


# ---- ONNX node tests ---------------------------------------------------------------------------

NODE_TESTS = """
test_dft test_dft_axis test_dft_inverse test_dft_rfft test_dft_irfft test_dft_opset19 test_dft_axis_opset19
test_dft_inverse_opset19 test_dft_rfft_opset19 test_dft_irfft_opset19 test_stft test_stft_with_window
test_hannwindow test_hannwindow_symmetric test_hammingwindow test_hammingwindow_symmetric test_blackmanwindow
test_blackmanwindow_symmetric test_melweightmatrix
""".split()


@pytest.mark.parametrize("name", NODE_TESTS)
def test_onnx_node(name):
    check_node_test(name)
