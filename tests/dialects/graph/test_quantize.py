"""graph quantization ops: reference semantics against onnxruntime, shape errors that name
the shapes, textual round trips, and the ONNX node tests of the quantization ops."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

import descend
from descend import DiagnosticError
from descend.dialects import graph
from descend.ir import IntegerType, f16, f32, i32
from descend.ir.printer import print_ir
from descend.testing.onnx_conformance import check_node_test, run_onnx_node

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")   # the oracle of run_onnx_node
from onnx import helper  # noqa: E402

RNG = np.random.default_rng(0)
I8, U8, I16, U16 = IntegerType(8), IntegerType(8, "u"), IntegerType(16), IntegerType(16, "u")


run_ort = partial(run_onnx_node, opset=21)   # the quantize ops' opset unless a call names another


def same(got, want):
    got = np.asarray(got)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)


def ints(low, high, shape, dtype):
    return RNG.integers(low, high, shape, endpoint=True).astype(dtype)


# ---- reference semantics --------------------------------------------------------------------

@pytest.mark.parametrize("to,dtype", [(U8, np.uint8), (I8, np.int8), (I16, np.int16), (U16, np.uint16)])
def test_quantize_per_tensor_rounds_half_to_even_and_saturates(to, dtype):
    x = np.array([-1e6, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.2, 1e6], np.float32)
    scale, zero = np.array(0.5, np.float32), np.array(3, dtype)
    want = run_ort("QuantizeLinear", [x, scale, zero])[0]
    same(graph.QuantizeLinearOp.reference(x, scale, zero, to=to), want)


def test_quantize_and_dequantize_per_axis_and_blocked_match_onnxruntime():
    x = (RNG.standard_normal((2, 3, 5)) * 50).astype(np.float32)
    scale = np.array([0.5, 2.0, 0.25], np.float32)
    zero = np.array([0, 100, 255], np.uint8)
    q = graph.QuantizeLinearOp.reference(x, scale, zero, axis=1, to=U8)
    same(q, run_ort("QuantizeLinear", [x, scale, zero], axis=1)[0])
    same(graph.DequantizeLinearOp.reference(q, scale, zero, axis=1),
         run_ort("DequantizeLinear", [q, scale, zero], axis=1)[0])
    # blocks of 2 along the last axis of 5: three blocks, the last one short
    scale = (RNG.random((2, 3, 3)) + 0.1).astype(np.float32)
    zero = ints(-20, 20, (2, 3, 3), np.int8)
    q = graph.QuantizeLinearOp.reference(x, scale, zero, axis=-1, block_size=2, to=I8)
    same(q, run_ort("QuantizeLinear", [x, scale, zero], axis=-1, block_size=2)[0])
    same(graph.DequantizeLinearOp.reference(q, scale, zero, axis=-1, block_size=2),
         run_ort("DequantizeLinear", [q, scale, zero], axis=-1, block_size=2)[0])


@pytest.mark.parametrize("name,saturate", [("f8E4M3FN", 1), ("f8E4M3FN", 0), ("f8E5M2", 1), ("f8E5M2", 0)])
def test_quantize_to_float8_saturates_or_overflows_as_onnx(name, saturate):
    to = descend.ir.FloatType(name)
    x = np.array([0.0, 1.3, -7.1, 1e3, -1e6, np.inf, 3e-4], np.float32)
    scale = np.array(0.5, np.float32)
    zero = np.zeros((), descend.ir.numpy_dtype(to))
    # onnxruntime's Python API takes no ml_dtypes arrays: onnx's reference is the oracle
    want = run_ort("QuantizeLinear", [x, scale, zero], oracle="onnx", saturate=saturate)[0]
    got = graph.QuantizeLinearOp.reference(x, scale, zero, to=to, saturate=saturate)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.astype(np.float32), want.astype(np.float32))
    back = run_ort("DequantizeLinear", [want, scale, zero], oracle="onnx")[0]
    np.testing.assert_array_equal(graph.DequantizeLinearOp.reference(want, scale, zero), back)


def test_quantize_to_int4_clamps_to_its_range():
    x = np.array([-100, -8.4, -3.5, 0.5, 6.6, 7.5, 100], np.float32)
    got = graph.QuantizeLinearOp.reference(x, np.array(1.0, np.float32), np.array(1, np.int8),
                                           to=IntegerType(4))
    same(got, np.array([-8, -7, -3, 1, 7, 7, 7], np.int8))


def test_dequantize_gives_the_scales_type():
    q = ints(-128, 127, (4,), np.int8)
    scale, zero = np.array(0.1, np.float16), np.array(-3, np.int8)
    want = run_ort("DequantizeLinear", [q, scale, zero])[0]
    assert want.dtype == np.float16
    got = np.asarray(graph.DequantizeLinearOp.reference(q, scale, zero)).astype(np.float16)
    np.testing.assert_array_equal(got, want)
    (t,) = graph.DequantizeLinearOp.infer([graph.tensor((4,), I8), graph.tensor((), f16), graph.tensor((), I8)],
                                          graph.Attrs(graph.DequantizeLinearOp, {}))
    assert t == graph.tensor((4,), f16)


@pytest.mark.parametrize("x", [np.array([0, 2, -3, -2.5, 1.34, 0.5], np.float32),
                               np.array([1.0, 2.1, 1.3, 2.5, 3.34, 4.0], np.float32),
                               np.array([-1.0, -2.1, -1.3, -2.5, -3.34, -4.0], np.float32)])
def test_dynamic_quantize_matches_onnxruntime(x):
    want = run_ort("DynamicQuantizeLinear", [x], n_outputs=3)
    for got, w in zip(graph.DynamicQuantizeLinearOp.reference(x), want):
        same(got, w)


def test_matmul_integer_with_per_column_zero_points_matches_onnxruntime():
    a, b = ints(0, 255, (2, 3, 4), np.uint8), ints(0, 255, (4, 5), np.uint8)
    a_zero, b_zero = np.array(3, np.uint8), ints(0, 255, (5,), np.uint8)
    same(graph.MatmulIntegerOp.reference(a, b, a_zero, b_zero), run_ort("MatMulInteger", [a, b, a_zero, b_zero])[0])


def test_matmul_integer_per_row_zero_point_of_a():
    a, b = ints(-128, 127, (3, 4), np.int8), ints(-128, 127, (4, 2), np.int8)
    a_zero, b_zero = ints(-5, 5, (3,), np.int8), np.array(0, np.int8)
    want = (a.astype(np.int32) - a_zero[:, None]) @ b.astype(np.int32)
    same(graph.MatmulIntegerOp.reference(a, b, a_zero, b_zero), want)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_qlinear_matmul_matches_onnxruntime(dtype):
    info = np.iinfo(dtype)
    a, b = ints(info.min, info.max, (2, 3, 4), dtype), ints(info.min, info.max, (4, 5), dtype)
    scales = [np.array([s], np.float32) for s in (0.02, 0.03, 0.5)]
    zeros = [np.array([z], dtype) for z in ((3, 120, 7) if dtype == np.uint8 else (-3, 10, 0))]
    args = [a, scales[0], zeros[0], b, scales[1], zeros[1], scales[2], zeros[2]]
    same(graph.QLinearMatmulOp.reference(*args), run_ort("QLinearMatMul", args)[0])


def test_conv_integer_matches_onnxruntime_and_onnx_per_channel():
    x, w = ints(0, 255, (1, 2, 5, 5), np.uint8), ints(0, 255, (3, 2, 3, 3), np.uint8)
    x_zero, w_zero = np.array(7, np.uint8), np.array(250, np.uint8)
    attrs = dict(strides=[2, 1], pads=[1, 0, 1, 2], dilations=[1, 1], group=1)
    want = run_ort("ConvInteger", [x, w, x_zero, w_zero], opset=10, **attrs)[0]
    same(graph.ConvIntegerOp.reference(x, w, x_zero, w_zero, **attrs), want)
    # onnxruntime takes one w zero point only: per output channel against onnx's reference
    w_zero = ints(0, 255, (3,), np.uint8)
    want = run_ort("ConvInteger", [x, w, x_zero, w_zero], opset=10, oracle="onnx", **attrs)[0]
    same(graph.ConvIntegerOp.reference(x, w, x_zero, w_zero, **attrs), want)


def test_qlinear_conv_with_bias_and_per_channel_scales_matches_onnxruntime():
    # 7-bit weights: on AVX2 without VNNI onnxruntime's u8 x s8 kernel adds products in
    # pairs into saturating int16 (255*127*2 overflows), so full-range weights differ there
    x, w = ints(0, 255, (1, 4, 6, 6), np.uint8), ints(-63, 63, (4, 2, 3, 3), np.int8)
    bias = ints(-1000, 1000, (4,), np.int32)
    args = [x, np.array(0.02, np.float32), np.array(128, np.uint8), w,
            np.array([0.01, 0.02, 0.03, 0.04], np.float32), np.zeros(4, np.int8),
            np.array(0.1, np.float32), np.array(100, np.uint8), bias]
    attrs = dict(strides=[1, 2], pads=[1, 1, 1, 1], dilations=[1, 1], group=2)
    same(graph.QLinearConvOp.reference(*args, **attrs), run_ort("QLinearConv", args, **attrs)[0])


@pytest.mark.parametrize("x,to", [(np.array([1.5, -2.0, np.inf], np.float32), i32),
                                  (np.array([-1, 7, 2 ** 31 - 1], np.int32), f32),
                                  (np.array([0, 200, 255], np.uint8), I8)])
def test_bitcast_reinterprets_bits_as_onnxruntime(x, to):
    want = run_ort("BitCast", [x], opset=26, to=helper.np_dtype_to_tensor_dtype(np.dtype(descend.ir.numpy_dtype(to))))[0]
    same(np.asarray(graph.BitcastOp.reference(x, to=to)), want)


def test_bitcast_of_bf16_reads_its_high_half():
    bf16 = descend.ir.bf16
    x = np.array([1.0, -2.5, 3.140625], np.float32)          # exact bf16 values, stored as f32
    bits = graph.BitcastOp.reference(x, to=I16)
    same(bits, (x.view(np.uint32) >> 16).astype(np.uint16).view(np.int16))
    np.testing.assert_array_equal(graph.BitcastOp.reference(bits, to=bf16), x)


# ---- shape errors and round trips ----------------------------------------------------------------

def _func(body: str, args: str) -> str:
    return f"func.func @f({args}) {{\n  {body}\n  func.return\n}}"


@pytest.mark.parametrize("body,args,message", [
    ('%y = "graph.quantize_linear"(%x, %s) {axis = 1 : i64, to = ui8} : (tensor<2x3xf32>, tensor<4xf32>) '
     '-> tensor<2x3xui8>', "%x: tensor<2x3xf32>, %s: tensor<4xf32>",
     r"scale \[4\] should be one element or \[3\], x \[2x3\] along axis 1"),
    ('%y = "graph.quantize_linear"(%x, %s) {axis = 1 : i64, block_size = 2 : i64, to = i8} : '
     '(tensor<2x5xf32>, tensor<2x2xf32>) -> tensor<2x5xi8>', "%x: tensor<2x5xf32>, %s: tensor<2x2xf32>",
     r"scale \[2x2\] should be \[2x3\]: x \[2x5\] in blocks of 2 along axis 1"),
    ('%y = "graph.quantize_linear"(%x, %s, %z) {to = i8} : (tensor<3xf32>, tensor<f32>, tensor<ui8>) '
     '-> tensor<3xi8>', "%x: tensor<3xf32>, %s: tensor<f32>, %z: tensor<ui8>",
     r"zero_point tensor<ui8> should hold the quantized type i8"),
    ('%y = "graph.quantize_linear"(%x, %s) {to = i64} : (tensor<3xf32>, tensor<f32>) -> tensor<3xi64>',
     "%x: tensor<3xf32>, %s: tensor<f32>", r"quantizes to 2- to 32-bit integers or 8- and 4-bit floats, not i64"),
    ('%y = "graph.dequantize_linear"(%x, %s) : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>',
     "%x: tensor<3xf32>, %s: tensor<f32>", r"quantizes to 2- to 32-bit integers or 8- and 4-bit floats, not f32"),
    ('%y = "graph.matmul_integer"(%a, %b, %z, %z) : (tensor<2x3xi8>, tensor<4x2xi8>, tensor<i8>, tensor<i8>) '
     '-> tensor<2x2xi32>', "%a: tensor<2x3xi8>, %b: tensor<4x2xi8>, %z: tensor<i8>",
     r"contraction sizes differ: lhs \[2x3\] has 3 columns, rhs \[4x2\] has 4 rows"),
    ('%y = "graph.matmul_integer"(%a, %b, %w, %z) : (tensor<2x3xi8>, tensor<3x2xi8>, tensor<3xi8>, tensor<i8>) '
     '-> tensor<2x2xi32>', "%a: tensor<2x3xi8>, %b: tensor<3x2xi8>, %w: tensor<3xi8>, %z: tensor<i8>",
     r"a_zero_point \[3\] should be one element, \[2\] or \[2x1\] for \[2x3\]"),
    ('%y = "graph.conv_integer"(%x, %w, %z, %v) : (tensor<1x2x4x4xui8>, tensor<3x2x2x2xui8>, tensor<ui8>, '
     'tensor<2xui8>) -> tensor<1x3x3x3xi32>',
     "%x: tensor<1x2x4x4xui8>, %w: tensor<3x2x2x2xui8>, %z: tensor<ui8>, %v: tensor<2xui8>",
     r"w_zero_point \[2\] should have one element or \[3\], the output channels of w \[3x2x2x2\]"),
    ('%y = "graph.bitcast"(%x) {to = i16} : (tensor<3xf32>) -> tensor<3xi16>', "%x: tensor<3xf32>",
     r"cannot bit cast tensor<3xf32> to i16: 32 bits against 16"),
])
def test_shape_errors_name_the_shapes(body, args, message):
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(_func(body, args))


ROUND_TRIP = _func(
    "%q = graph.quantize_linear %x, %s, %z {axis = 0 : i64, to = ui8} : (tensor<3x4xf32>, tensor<3xf32>, "
    "tensor<3xui8>) -> tensor<3x4xui8>\n"
    "  %d = graph.dequantize_linear %q, %s, %z {axis = 0 : i64} : (tensor<3x4xui8>, tensor<3xf32>, "
    "tensor<3xui8>) -> tensor<3x4xf32>\n"
    "  %y, %ys, %yz = graph.dynamic_quantize_linear %x : (tensor<3x4xf32>) -> (tensor<3x4xui8>, tensor<f32>, "
    "tensor<ui8>)\n"
    "  %m = graph.matmul_integer %q, %t, %c, %c : (tensor<3x4xui8>, tensor<4x3xui8>, tensor<ui8>, tensor<ui8>) "
    "-> tensor<3x3xi32>\n"
    "  %b = graph.bitcast %m {to = f32} : (tensor<3x3xi32>) -> tensor<3x3xf32>",
    "%x: tensor<3x4xf32>, %s: tensor<3xf32>, %z: tensor<3xui8>, %t: tensor<4x3xui8>, %c: tensor<ui8>")


def test_custom_round_trip():
    module = descend.parse(ROUND_TRIP)
    assert str(descend.parse(str(module))) == str(module)
    assert "graph.quantize_linear %x, %s, %z" in str(module)


def test_generic_round_trip():
    generic = print_ir(descend.parse(ROUND_TRIP), generic=True)
    assert '"graph.dynamic_quantize_linear"' in generic and '"graph.bitcast"' in generic
    assert print_ir(descend.parse(generic), generic=True) == generic


# ---- ONNX node tests ----------------------------------------------------------------------------

NODE_TESTS = """
test_quantizelinear test_quantizelinear_axis test_quantizelinear_blocked_asymmetric
test_quantizelinear_blocked_symmetric test_quantizelinear_int16 test_quantizelinear_uint16
test_quantizelinear_int4 test_quantizelinear_uint4 test_quantizelinear_int2 test_quantizelinear_uint2
test_quantizelinear_e4m3fn test_quantizelinear_e5m2 test_quantizelinear_float4e2m1
test_dequantizelinear test_dequantizelinear_axis test_dequantizelinear_blocked test_dequantizelinear_int16
test_dequantizelinear_uint16 test_dequantizelinear_int4 test_dequantizelinear_uint4 test_dequantizelinear_int2
test_dequantizelinear_uint2 test_dequantizelinear_e4m3fn test_dequantizelinear_e4m3fn_float16
test_dequantizelinear_e4m3fn_zero_point test_dequantizelinear_e5m2 test_dequantizelinear_float4e2m1
test_dynamicquantizelinear test_dynamicquantizelinear_max_adjusted test_dynamicquantizelinear_min_adjusted
test_dynamicquantizelinear_expanded test_dynamicquantizelinear_max_adjusted_expanded
test_dynamicquantizelinear_min_adjusted_expanded
test_matmulinteger test_convinteger_with_padding test_convinteger_without_padding test_qlinearconv
test_qlinearmatmul_2D_int8_float16 test_qlinearmatmul_2D_int8_float32 test_qlinearmatmul_2D_uint8_float16
test_qlinearmatmul_2D_uint8_float32 test_qlinearmatmul_3D_int8_float16 test_qlinearmatmul_3D_int8_float32
test_qlinearmatmul_3D_uint8_float16 test_qlinearmatmul_3D_uint8_float32
test_bitcast_2d_float32_to_int32 test_bitcast_bool_to_uint8 test_bitcast_float32_to_int32
test_bitcast_float64_to_int64 test_bitcast_int32_to_float32 test_bitcast_int64_to_float64 test_bitcast_int8_to_uint8
test_bitcast_scalar_float32_to_int32 test_bitcast_uint16_to_int16 test_bitcast_uint32_to_int32
""".split()

@pytest.mark.parametrize("name", NODE_TESTS)
def test_onnx_node(name):
    check_node_test(name)


# ---- converters -------------------------------------------------------------------------------------

def _model(op_type, inputs, outputs, opset, **attrs):
    """inputs, outputs: (name, TensorProto type, shape)."""
    node = helper.make_node(op_type, [n for n, _, _ in inputs], [n for n, _, _ in outputs], **attrs)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info(*i) for i in inputs],
                          [helper.make_tensor_value_info(*o) for o in outputs])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize("scale_type,output_dtype", [(onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT),
                                                     (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)])
def test_dequantize_output_dtype_computes_as_onnx(scale_type, output_dtype):
    from onnx.reference import ReferenceEvaluator
    from descend.frontends.onnx.backend import DescendBackend
    model = _model("DequantizeLinear", [("x", onnx.TensorProto.INT8, [5]), ("s", scale_type, [])],
                   [("y", output_dtype, [5])], 23, output_dtype=output_dtype)
    x = np.array([-128, -3, 0, 77, 127], np.int8)
    s = np.array(0.0137, helper.tensor_dtype_to_np_dtype(scale_type))
    want = ReferenceEvaluator(model).run(None, {"x": x, "s": s})[0]
    same(DescendBackend.run_model(model, [x, s])[0], want)


def test_bf16_quantization_is_refused_not_rounded_differently():
    from descend.frontends.onnx import check_onnx
    model = _model("QuantizeLinear", [("x", onnx.TensorProto.BFLOAT16, [3]), ("s", onnx.TensorProto.BFLOAT16, [])],
                   [("y", onnx.TensorProto.UINT8, [3])], 21)
    assert "bf16 scales and inputs" in check_onnx(model).render("m")
