"""graph -> te for the quantize family: each compute builder's te interpretation against the
graph interpreter (the ops' numpy references) on random inputs, bit for bit — rounding
half to even, saturation, NaN, per-axis and blocked parameters, unsigned types, numpy's
promotions — and the instances te cannot hold (2/4-bit integer, 8/4-bit float results)
declined as not legalized."""

from __future__ import annotations

import numpy as np
import pytest

from descend.dialects import graph
from descend.ir import FloatType, IntegerType, TensorType, bf16, f16, f32, f64, i8, i16, i32, i64
from descend.ir.interpreter import interpret
from descend.rewrites import PassManager
from descend.testing import assert_equivalent
from descend.testing.lowering_checks import ELEMENT_TYPES as TYPES, FUSED, LOWER, lowered, one_op_module

RNG = np.random.default_rng(0)
u8, u16, u32 = IntegerType(8, "u"), IntegerType(16, "u"), IntegerType(32, "u")


def check(op_class, arrays, types=None, pipeline=LOWER, **attributes):
    """The te lowering of one op computes exactly what the graph interpreter does (te is
    signless: an unsigned result compares by its bits)."""
    before = one_op_module(op_class, arrays, types, **attributes)
    after = lowered(before, pipeline)
    if not _unsigned_results(before):
        assert assert_equivalent(before, after, arrays)
        return
    want, got = interpret(before, "main", arrays), interpret(after, "main", arrays)
    for w, g in zip(want, got):
        np.testing.assert_array_equal(np.asarray(g).view(np.asarray(w).dtype), w)


def _unsigned_results(module) -> bool:
    func = next(op for op in module.walk() if op.name == "func.func")
    return any(isinstance(t.element_type, IntegerType) and t.element_type.signedness == "u"
               for t in func.function_type.type.results)


def rand(*shape, dtype=np.float32, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


def ints(low, high, shape, dtype):
    return RNG.integers(low, high, shape, endpoint=True).astype(dtype)


def tensor_types(arrays, overrides: dict):
    """The arrays' tensor types, with the element types at some positions replaced."""
    return [TensorType(a.shape, overrides.get(k, TYPES[a.dtype.type])) for k, a in enumerate(arrays)]


# ---- quantize_linear -------------------------------------------------------------------------

def test_quantize_per_tensor_rounds_half_to_even_and_saturates():
    x = np.array([[-300.0, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5],
                  [126.5, 127.5, 250.0, np.nan, np.inf, -np.inf, 0.0, -0.0]], np.float32)
    for to, zero in ((u8, np.array(128, np.uint8)), (u8, np.array(0, np.uint8)),
                     (i8, np.array(-3, np.int8))):
        arrays = [x, np.array(1.0, np.float32), zero]
        check(graph.QuantizeLinearOp, arrays, to=to)
    check(graph.QuantizeLinearOp, [x, np.array(0.5, np.float32)], to=i8)


@pytest.mark.parametrize("to,dtype", [(i16, np.int16), (u16, np.uint16), (i32, np.int32), (u32, np.uint32)])
def test_quantize_to_wide_integers(to, dtype):
    x = rand(3, 5, scale=1e5)
    zero = np.array(7, dtype)
    check(graph.QuantizeLinearOp, [x, np.array(0.37, np.float32), zero], to=to)


def test_quantize_per_axis_and_blocked():
    x = rand(2, 6, 4, scale=20)
    check(graph.QuantizeLinearOp, [x, np.abs(rand(6)) + 0.1, ints(0, 255, (6,), np.uint8)], axis=1, to=u8)
    check(graph.QuantizeLinearOp, [x, np.abs(rand(4)) + 0.1, ints(-20, 20, (4,), np.int8)], axis=-1, to=i8)
    # blocks of 4 along axis 1 (6 -> 2 blocks, the last one short)
    scale, zero = np.abs(rand(2, 2, 4)) + 0.1, ints(0, 255, (2, 2, 4), np.uint8)
    check(graph.QuantizeLinearOp, [x, scale, zero], axis=1, block_size=4, to=u8)


def test_quantize_half_precision_divides_in_half():
    x = rand(4, 7, dtype=np.float16, scale=30)
    check(graph.QuantizeLinearOp, [x, np.array(0.3, np.float16), np.array(5, np.int8)], to=i8)
    # f16 x over an f32 scale divides in f32; bf16 x (held as f32)
    check(graph.QuantizeLinearOp, [x, np.array(0.3, np.float32)], to=u8)
    xb = rand(4, 7, scale=30)
    arrays = [xb, np.array(0.3, np.float32), np.array(5, np.uint8)]
    check(graph.QuantizeLinearOp, arrays, tensor_types(arrays, {0: bf16}), to=u8)


def test_quantize_scalar_x():
    check(graph.QuantizeLinearOp, [np.array(2.5, np.float32), np.array(1.0, np.float32)], to=u8)


# ---- dequantize_linear -----------------------------------------------------------------------

def test_dequantize_per_tensor_per_axis_blocked():
    x = ints(0, 255, (2, 6, 4), np.uint8)
    check(graph.DequantizeLinearOp, [x, np.array(0.02, np.float32), np.array(128, np.uint8)])
    check(graph.DequantizeLinearOp, [x, np.array(0.02, np.float32)])
    check(graph.DequantizeLinearOp, [x, np.abs(rand(6)), ints(0, 255, (6,), np.uint8)], axis=1)
    check(graph.DequantizeLinearOp, [x, np.abs(rand(2, 6, 2)), ints(0, 255, (2, 6, 2), np.uint8)],
          axis=2, block_size=3)
    y = ints(-128, 127, (3, 5), np.int8)
    check(graph.DequantizeLinearOp, [y, np.abs(rand(5)), ints(-128, 127, (5,), np.int8)], axis=-1)


def test_dequantize_wide_integers_promote_as_numpy():
    """x.astype(f32) - an i32 zero point is f64 in numpy; 16-bit ones stay f32."""
    x = ints(-2**31, 2**31 - 1, (3, 4), np.int32)
    check(graph.DequantizeLinearOp, [x, np.array(1e-3, np.float32), np.array(-12345, np.int32)])
    x = ints(0, 2**32 - 1, (3, 4), np.uint32)
    check(graph.DequantizeLinearOp, [x, np.array(1e-3, np.float32), np.array(12345, np.uint32)])
    x = ints(0, 65535, (3, 4), np.uint16)
    check(graph.DequantizeLinearOp, [x, np.array(1e-3, np.float32), np.array(300, np.uint16)])


def test_dequantize_to_half_precisions():
    x = ints(-128, 127, (3, 4), np.int8)
    check(graph.DequantizeLinearOp, [x, np.array(0.07, np.float16), np.array(3, np.int8)])
    arrays = [x, np.array(0.07, np.float32), np.array(3, np.int8)]
    check(graph.DequantizeLinearOp, arrays, tensor_types(arrays, {1: bf16}))


def test_dequantize_reads_narrow_inputs():
    """A 4-bit integer or an 8-bit float x is read (and widened) in te; only results cannot be narrow."""
    i4 = IntegerType(4)
    x = ints(-8, 7, (3, 4), np.int8)
    arrays = [x, np.array(0.5, np.float32), np.array(-2, np.int8)]
    check(graph.DequantizeLinearOp, arrays, tensor_types(arrays, {0: i4, 2: i4}))


# ---- dynamic_quantize_linear -----------------------------------------------------------------

@pytest.mark.parametrize("low,high", [(-3.0, 5.0), (0.5, 9.0), (-7.0, -1.0), (0.0, 0.0)])
def test_dynamic_quantize(low, high):
    x = RNG.uniform(low, high, (3, 7)).astype(np.float32)
    check(graph.DynamicQuantizeLinearOp, [x])


# ---- integer matrix products -----------------------------------------------------------------

@pytest.mark.parametrize("a_shape,b_shape", [((4, 5), (5, 3)), ((2, 4, 5), (5, 3)), ((5,), (2, 5, 3)),
                                             ((2, 1, 4, 5), (3, 5, 2)), ((4, 5), (5,))])
def test_matmul_integer_shapes(a_shape, b_shape):
    a, b = ints(0, 255, a_shape, np.uint8), ints(0, 255, b_shape, np.uint8)
    check(graph.MatmulIntegerOp, [a, b, np.array(12, np.uint8), np.array(200, np.uint8)])


def test_matmul_integer_per_row_and_column_zero_points():
    a, b = ints(-128, 127, (2, 4, 5), np.int8), ints(-128, 127, (2, 5, 3), np.int8)
    check(graph.MatmulIntegerOp, [a, b, ints(-9, 9, (4,), np.int8), ints(-9, 9, (3,), np.int8)])
    check(graph.MatmulIntegerOp, [a, b, ints(-9, 9, (2, 4, 1), np.int8), ints(-9, 9, (2, 1, 3), np.int8)])
    a16 = ints(-30000, 30000, (3, 8), np.int16)
    check(graph.MatmulIntegerOp, [a16, ints(0, 255, (8, 2), np.uint8), np.array(-3, np.int16),
                                  np.array(255, np.uint8)])


@pytest.mark.parametrize("dtype,scale_dtype", [(np.uint8, np.float32), (np.int8, np.float32),
                                               (np.uint8, np.float16), (np.int8, np.float16)])
def test_qlinear_matmul(dtype, scale_dtype):
    info = np.iinfo(dtype)
    a, b = ints(info.min, info.max, (2, 3, 6), dtype), ints(info.min, info.max, (6, 4), dtype)
    scalar = lambda v, t=scale_dtype: np.array(v, t)   # noqa: E731
    check(graph.QLinearMatmulOp, [a, scalar(0.0066), ints(info.min, info.max, (), dtype), b, scalar(0.00705),
                                  ints(info.min, info.max, (), dtype), scalar(0.0107),
                                  ints(info.min, info.max, (), dtype)])


def test_qlinear_matmul_per_row_and_column_scales_and_wide_output():
    a, b = ints(0, 255, (4, 6), np.uint8), ints(0, 255, (6, 3), np.uint8)
    check(graph.QLinearMatmulOp, [a, np.abs(rand(4)) * 0.01, ints(0, 255, (4,), np.uint8), b,
                                  np.abs(rand(3)) * 0.01, ints(0, 255, (3,), np.uint8),
                                  np.array(0.05, np.float32), np.array(-7, np.int32)])
    arrays = [a, np.array(0.01, np.float32), np.array(3, np.uint8), b, np.array(0.02, np.float32),
              np.array(250, np.uint8), np.array(0.9, np.float32), np.array(1, np.int8)]
    check(graph.QLinearMatmulOp, arrays, tensor_types(arrays, {1: bf16, 4: bf16, 6: bf16}))


# ---- integer convolutions --------------------------------------------------------------------

@pytest.mark.parametrize("strides,pads,dilations,group", [
    (None, None, None, 1), ([2, 1], [1, 0, 1, 2], None, 1), ([1, 1], [1, 1, 1, 1], [2, 1], 2)])
def test_conv_integer(strides, pads, dilations, group):
    x, w = ints(0, 255, (2, 4, 6, 5), np.uint8), ints(0, 255, (6, 4 // group, 3, 2), np.uint8)
    check(graph.ConvIntegerOp, [x, w, np.array(77, np.uint8), np.array(130, np.uint8)],
          strides=strides, pads=pads, dilations=dilations, group=group)
    xs, ws = ints(-128, 127, (1, 4, 6, 5), np.int8), ints(-128, 127, (6, 4 // group, 3, 2), np.int8)
    check(graph.ConvIntegerOp, [xs, ws, np.array(-5, np.int8), ints(-10, 10, (6,), np.int8)],
          strides=strides, pads=pads, dilations=dilations, group=group)


def test_conv_integer_1d():
    x, w = ints(0, 255, (1, 2, 9), np.uint8), ints(0, 255, (3, 2, 4), np.uint8)
    check(graph.ConvIntegerOp, [x, w, np.array(1, np.uint8), np.array(2, np.uint8)], pads=[2, 1], strides=[2])


@pytest.mark.parametrize("bias", [False, True])
def test_qlinear_conv(bias):
    x, w = ints(0, 255, (1, 3, 5, 5), np.uint8), ints(0, 255, (4, 3, 3, 3), np.uint8)
    arrays = [x, np.array(0.0039, np.float32), np.array(127, np.uint8), w, np.abs(rand(4)) * 0.01,
              np.array(120, np.uint8), np.array(0.2, np.float32), np.array(10, np.uint8)]
    if bias:
        arrays.append(ints(-1000, 1000, (4,), np.int32))
    check(graph.QLinearConvOp, arrays, pads=[1, 1, 1, 1])
    xs, ws = ints(-128, 127, (1, 4, 5, 5), np.int8), ints(-128, 127, (4, 2, 2, 2), np.int8)
    arrays = [xs, np.array(0.01, np.float16), np.array(-3, np.int8), ws, np.array(0.02, np.float16),
              np.array(0, np.int8), np.array(0.5, np.float16), np.array(-1, np.int8)]
    check(graph.QLinearConvOp, arrays, strides=[2, 1], group=2)


# ---- bit casts -------------------------------------------------------------------------------

@pytest.mark.parametrize("array,to", [
    (rand(3, 4), i32), (ints(-2**31, 2**31 - 1, (5,), np.int32), f32), (rand(2, 3, dtype=np.float64), i64),
    (ints(-2**63, 2**63 - 1, (4,), np.int64), f64), (ints(0, 1, (6,), np.bool_), u8),
    (ints(-128, 127, (4,), np.int8), u8), (ints(0, 65535, (4,), np.uint16), i16),
    (ints(0, 2**32 - 1, (4,), np.uint32), i32), (rand(4, dtype=np.float16), i16),
    (ints(-2**15, 2**15 - 1, (4,), np.int16), f16)])
def test_bitcast(array, to):
    check(graph.BitcastOp, [array], to=to)


def test_bitcast_bf16():
    """bf16 is the upper half of the f32 the graph holds it in."""
    bits = ints(0, 65535, (8,), np.uint16)
    bits[(bits & 0x7F80) == 0x7F80] &= 0xBFFF          # no NaN payloads (the graph quiets them)
    check(graph.BitcastOp, [bits], to=bf16)
    check(graph.BitcastOp, [ints(-2**15, 2**15 - 1, (8,), np.int16)], to=bf16)
    x = rand(8)
    check(graph.BitcastOp, [x], [TensorType((8,), bf16)], to=i16)
    check(graph.BitcastOp, [x], [TensorType((8,), bf16)], to=f16)


# ---- fusion and declined instances -----------------------------------------------------------

def test_quantize_in_a_fused_group():
    x = rand(3, 8, scale=10)
    check(graph.QuantizeLinearOp, [x, np.array(0.1, np.float32), np.array(3, np.uint8)], pipeline=FUSED, to=u8)


@pytest.mark.parametrize("to", [IntegerType(4), IntegerType(4, "u"), IntegerType(2),
                                FloatType("f8E4M3FN"), FloatType("f4E2M1FN")])
def test_narrow_results_are_not_legalized(to):
    module = one_op_module(graph.QuantizeLinearOp, [rand(2, 3), np.array(0.5, np.float32)], to=to)
    with pytest.raises(Exception, match="failed to legalize operation 'graph.quantize_linear'"):
        PassManager.parse(LOWER).run(module)
