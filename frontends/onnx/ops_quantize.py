"""ONNX -> graph: converters of quantization ops — QuantizeLinear, DequantizeLinear,
DynamicQuantizeLinear, MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv, BitCast.

Omitted zero points become zero constants, so the integer graph ops always take them.
Quantize and dequantize take 2- to 32-bit integers and 8- and 4-bit floats (f8E4M3FN,
f8E4M3FNUZ, f8E5M2, f8E5M2FNUZ, f4E2M1FN)."""

from __future__ import annotations

import numpy as np

from descend.dialects import graph
from descend.ir import FloatType, IntegerType, bf16, numpy_dtype

from .importer import element_type
from .ops_nn import _geometry, _spatial
from .registry import Node, Unsupported, converter

U8 = IntegerType(8, "u")


def _quantized(element, what: str) -> None:
    if isinstance(element, FloatType) and element.name in graph.quantize.NARROW_FLOATS:
        return
    if not isinstance(element, IntegerType) or element.width not in (2, 4, 8, 16, 32):
        raise Unsupported(f"{what} of {element} (quantized types are 2- to 32-bit integers and "
                          "8- and 4-bit floats)")


def _zero(node: Node, like) -> object:
    """A scalar zero of `like`'s element type: the zero point of an input that has none."""
    return node.constant(np.zeros((), numpy_dtype(like.type.element_type)), like.type.element_type)


def _no_bf16(*values) -> None:
    """onnx rounds bf16 arithmetic (x / scale, the combined scale) to bf16 at each step; the
    graph ops compute it in f32, so rather than answer differently they refuse bf16."""
    for v in values:
        if v.type.element_type == bf16:
            raise Unsupported(f"bf16 scales and inputs ({v.type}): the arithmetic would not round as onnx's")


def _float_cast(node: Node, value, element):
    if value.type.element_type == element:
        return value
    return node.build(graph.CastOp, value, to=element)


@converter("QuantizeLinear")
def quantize_linear(node: Node):
    x, scale = node.inputs[:2]
    zero_point = node.input(2)
    output_dtype = int(node.attr("output_dtype", 0))
    wanted = element_type(output_dtype) if output_dtype else None
    if zero_point is not None:
        to = zero_point.type.element_type
        if wanted is not None and wanted != to:
            raise Unsupported(f"output_dtype {wanted} differs from the zero point's {to}")
    else:
        to = wanted or U8
    _quantized(to, "QuantizeLinear")
    precision = int(node.attr("precision", 0))
    if precision:
        # onnx divides x by the scale after casting both to `precision`
        p = element_type(precision)
        x, scale = _float_cast(node, x, p), _float_cast(node, scale, p)
    _no_bf16(x, scale)
    return node.build(graph.QuantizeLinearOp, x, scale, zero_point, axis=int(node.attr("axis", 1)),
                      block_size=int(node.attr("block_size", 0)), to=to,
                      saturate=int(node.attr("saturate", 1)))


@converter("DequantizeLinear")
def dequantize_linear(node: Node):
    x, scale = node.inputs[:2]
    zero_point = node.input(2)
    _quantized(x.type.element_type, "DequantizeLinear")
    output_dtype = int(node.attr("output_dtype", 0))
    out = element_type(output_dtype) if output_dtype else scale.type.element_type
    have = scale.type.element_type
    if out != have:
        if not isinstance(out, FloatType) or not isinstance(have, FloatType) or out.width == have.width:
            raise Unsupported(f"DequantizeLinear with a {have} scale to {out}")
        if out.width > have.width:
            scale = _float_cast(node, scale, out)   # exact: onnx computes in the wider type anyway
    y = node.build(graph.DequantizeLinearOp, x, scale, zero_point, axis=int(node.attr("axis", 1)),
                   block_size=int(node.attr("block_size", 0)))
    return _float_cast(node, y, out)


@converter("DynamicQuantizeLinear")
def dynamic_quantize_linear(node: Node):
    op = node.build(graph.DynamicQuantizeLinearOp, node.inputs[0])
    return list(op.results)


@converter("MatMulInteger")
def matmul_integer(node: Node):
    a, b = node.inputs[:2]
    a_zero_point = node.input(2) or _zero(node, a)
    b_zero_point = node.input(3) or _zero(node, b)
    return node.build(graph.MatmulIntegerOp, a, b, a_zero_point, b_zero_point)


@converter("QLinearMatMul")
def qlinear_matmul(node: Node):
    if len(node.inputs) < 8 or any(v is None for v in node.inputs[:8]):
        raise Unsupported("QLinearMatMul without all eight inputs")
    _no_bf16(*node.inputs[:8])
    return node.build(graph.QLinearMatmulOp, *node.inputs[:8])


def _conv_attrs(node: Node, w) -> dict:
    spatial = _spatial(node)
    kernel = list(node.attr("kernel_shape", None) or w.type.shape[2:])
    if tuple(kernel) != tuple(w.type.shape[2:]):
        raise Unsupported(f"kernel_shape {kernel} differs from the weight's {list(w.type.shape[2:])}")
    strides, pads, dilations = _geometry(node, spatial, kernel)
    return dict(strides=strides, pads=pads, dilations=dilations, group=int(node.attr("group", 1)))


@converter("ConvInteger")
def conv_integer(node: Node):
    x, w = node.inputs[:2]
    x_zero_point = node.input(2) or _zero(node, x)
    w_zero_point = node.input(3) or _zero(node, w)
    return node.build(graph.ConvIntegerOp, x, w, x_zero_point, w_zero_point, **_conv_attrs(node, w))


@converter("QLinearConv")
def qlinear_conv(node: Node):
    if len(node.inputs) < 8 or any(v is None for v in node.inputs[:8]):
        raise Unsupported("QLinearConv without all eight quantization inputs")
    _no_bf16(*node.inputs[:8])
    w = node.inputs[3]
    return node.build(graph.QLinearConvOp, *node.inputs[:8], node.input(8), **_conv_attrs(node, w))


@converter("BitCast")
def bitcast(node: Node):
    return node.build(graph.BitcastOp, node.inputs[0], to=element_type(node.require_attr("to")))
