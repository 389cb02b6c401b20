"""graph: quantization ops — quantize/dequantize, integer matmul and conv, bit casts.

A quantized tensor is integers q with a float `scale` and an integer `zero_point`:
x ~ (q - zero_point) * scale. Scales and zero points are per tensor (one element), per
axis (a vector along `axis`) or blocked (x's shape with axis `axis` divided into blocks of
`block_size`). References follow onnx's numpy ones, promotions included (an i32 product
times an f32 scale is f64 in numpy, and so it is here), so results agree to the bit."""

from __future__ import annotations

import numpy as np

from descend.ir import FloatType, IntegerType, TensorType, f32, i32, numpy_dtype, operand, opt_operand, result
from descend.ir.dense import round_to_bf16

from .base import (GraphOp, Kind, ShapeError, int_, ints, is_float, normalize_axis, shape_text, tensor,
                   type_)
from .elementwise import cast_array
from .nn import MatmulOp, _conv, _list, _window_params

U8 = IntegerType(8, "u")


# ---- scales and zero points ---------------------------------------------------------------------

NARROW_FLOATS = ("f8E4M3FN", "f8E4M3FNUZ", "f8E5M2", "f8E5M2FNUZ", "f4E2M1FN")


def _integer_range(element) -> tuple[int, int]:
    """The values of an integer element type of 2 to 32 bits."""
    if not isinstance(element, IntegerType) or element.width not in (2, 4, 8, 16, 32):
        raise ShapeError(f"quantizes to 2-, 4-, 8-, 16- or 32-bit integers, not {element}")
    if element.signedness == "u":
        return 0, (1 << element.width) - 1
    return -(1 << (element.width - 1)), (1 << (element.width - 1)) - 1


def _narrow_float(element) -> bool:
    return isinstance(element, FloatType) and element.name in NARROW_FLOATS


def _quantized_type(element) -> None:
    """A quantized tensor holds integers of 2 to 32 bits, or 8- and 4-bit floats."""
    if not _narrow_float(element):
        try:
            _integer_range(element)
        except ShapeError:
            raise ShapeError(f"quantizes to 2- to 32-bit integers or 8- and 4-bit floats, not {element}") from None


def _check_param(x: TensorType, param: TensorType, axis: int, block_size: int, what: str) -> None:
    """param is per tensor (one element), per axis (a vector of x's size along axis) or,
    with block_size, x's shape with axis `axis` cut into ceil(size / block_size) blocks."""
    p, shape = param.shape, x.shape
    if all(d == 1 for d in p):
        return
    if not shape:
        raise ShapeError(f"{what} [{shape_text(p)}] must have one element for a scalar x")
    axis = normalize_axis(axis, len(shape))
    if block_size < 0:
        raise ShapeError(f"block_size {block_size} must not be negative")
    if not block_size:
        if p != (shape[axis],):
            raise ShapeError(f"{what} [{shape_text(p)}] should be one element or [{shape[axis]}], "
                             f"x [{shape_text(shape)}] along axis {axis}")
        return
    want = tuple(-(-d // block_size) if i == axis else d for i, d in enumerate(shape))
    if p != want:
        raise ShapeError(f"{what} [{shape_text(p)}] should be [{shape_text(want)}]: x [{shape_text(shape)}] "
                         f"in blocks of {block_size} along axis {axis}")


def _expand(value, shape, axis: int, block_size: int):
    """A scale or zero point broadcastable to x's shape (onnx's reshape_input)."""
    value = np.asarray(value)
    if value.size == 1:
        return value.reshape(())
    axis = axis % len(shape)
    if not block_size:
        dims = [1] * len(shape)
        dims[axis] = value.size
        return value.reshape(dims)
    return np.repeat(value, block_size, axis=axis).take(np.arange(shape[axis]), axis=axis)


def _quantize_params(types, attrs) -> None:
    x, scale = types[0], types[1]
    if not is_float(scale):
        raise ShapeError(f"expects a float scale, got {scale}")
    _check_param(x, scale, attrs.axis, attrs.block_size, "scale")
    if len(types) == 3:
        one_each = all(d == 1 for d in types[2].shape) and all(d == 1 for d in scale.shape)
        if types[2].shape != scale.shape and not one_each:
            raise ShapeError(f"zero_point [{shape_text(types[2].shape)}] should have the scale's shape "
                             f"[{shape_text(scale.shape)}]")


def _saturate(q, element) -> np.ndarray:
    """Integral float values clipped to element's range and stored in it (NaN gives 0)."""
    low, high = _integer_range(element)
    q = np.nan_to_num(np.clip(q, low, high), nan=0.0)
    return q.astype(numpy_dtype(element))


class QuantizeLinearOp(GraphOp):
    """y = saturate(round_half_even(x / scale) + zero_point) in the integer type `to`, scale
    and zero point per tensor, per axis or blocked (ONNX QuantizeLinear); to an 8-bit float,
    x / scale cast (clamped to the finite range with `saturate`; the zero point is 0), to
    f4E2M1FN, x / scale + zero_point cast, saturated."""

    name = "graph.quantize_linear"
    x = operand(TensorType)
    scale = operand(TensorType)
    zero_point = opt_operand(TensorType)
    y = result(TensorType)
    axis = int_(1)
    block_size = int_(0)
    to = type_(doc="the quantized element type: a 2- to 32-bit integer, an 8- or 4-bit float")
    saturate = int_(1, doc="to an 8-bit float: 1 clamps to the finite range, 0 overflows to inf or NaN")
    kind = Kind.INJECTIVE   # not BROADCAST: a blocked scale is read at index // block_size

    @classmethod
    def infer(cls, types, attrs):
        x = types[0]
        if not is_float(x):
            raise ShapeError(f"quantizes a float x, got {x}")
        _quantized_type(attrs.to)
        _quantize_params(types, attrs)
        if len(types) == 3 and types[2].element_type != attrs.to:
            raise ShapeError(f"zero_point {types[2]} should hold the quantized type {attrs.to}")
        return [tensor(x.shape, attrs.to)]

    @staticmethod
    def reference(x, scale, zero_point=None, *, axis=1, block_size=0, to, saturate=1):
        x = np.asarray(x)
        scaled = x / _expand(scale, x.shape, axis, block_size)   # in x's (and scale's) precision
        if _narrow_float(to):
            if zero_point is not None and to.name == "f4E2M1FN":   # onnx uses no float8 zero point
                scaled = scaled + _expand(zero_point, x.shape, axis, block_size).astype(np.float32)
            return cast_array(scaled, to, saturate=bool(saturate) or to.name == "f4E2M1FN")
        q = np.rint(scaled).astype(np.float64)
        if zero_point is not None:
            q = q + _expand(zero_point, x.shape, axis, block_size).astype(np.float64)
        return _saturate(q, to)


class DequantizeLinearOp(GraphOp):
    """y = (x - zero_point) * scale in the scale's float type, scale and zero point per
    tensor, per axis or blocked (ONNX DequantizeLinear); 8- and 4-bit float x ignore the
    zero point (0 for them)."""

    name = "graph.dequantize_linear"
    x = operand(TensorType)
    scale = operand(TensorType)
    zero_point = opt_operand(TensorType)
    y = result(TensorType)
    axis = int_(1)
    block_size = int_(0)
    kind = Kind.INJECTIVE   # not BROADCAST: a blocked scale is read at index // block_size

    @classmethod
    def infer(cls, types, attrs):
        x = types[0]
        _quantized_type(x.element_type)
        _quantize_params(types, attrs)
        if len(types) == 3 and types[2].element_type != x.element_type:
            raise ShapeError(f"zero_point {types[2]} should hold x's type {x.element_type}")
        return [tensor(x.shape, types[1].element_type)]

    @staticmethod
    def reference(x, scale, zero_point=None, *, axis=1, block_size=0):
        x = np.asarray(x)
        dx = x.astype(np.float32)
        if zero_point is not None and x.dtype.kind in "iu":
            dx = dx - _expand(zero_point, x.shape, axis, block_size)
        return dx * _expand(scale, x.shape, axis, block_size)


class DynamicQuantizeLinearOp(GraphOp):
    """x quantized to u8 over the range [min(x, 0), max(x, 0)]: results y, the scale
    (max - min) / 255 and the zero point round(-min / scale), saturated (ONNX
    DynamicQuantizeLinear)."""

    name = "graph.dynamic_quantize_linear"
    x = operand(TensorType)
    y = result(TensorType)
    y_scale = result(TensorType)
    y_zero_point = result(TensorType)
    kind = Kind.OPAQUE   # a reduction over all of x, then a map that needs its result

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        if x.element_type != f32:
            raise ShapeError(f"quantizes an f32 x, got {x}")
        return [tensor(x.shape, U8), tensor((), f32), tensor((), U8)]

    @staticmethod
    def reference(x):
        x = np.asarray(x, np.float32)
        qmin, qmax = 0, 255
        high = np.float32(max(0.0, float(np.max(x)))) if x.size else np.float32(0)
        low = np.float32(min(0.0, float(np.min(x)))) if x.size else np.float32(0)
        scale = np.float32(1.0 if high == low else high - low) / np.float32(qmax - qmin)
        zero = np.rint(max(qmin, min(qmax, np.float32(qmin) - low / scale)))
        y = np.clip(np.rint(x / scale) + zero, qmin, qmax)
        return y.astype(np.uint8), np.array(scale, np.float32), np.array(zero).astype(np.uint8)


# ---- integer matrix products and convolutions ---------------------------------------------------

def _integer_operand(t: TensorType, what: str) -> None:
    if not isinstance(t.element_type, IntegerType) or t.element_type.width not in (8, 16, 32):
        raise ShapeError(f"expects an 8-, 16- or 32-bit integer {what}, got {t}")


def _matmul_shape(a: TensorType, b: TensorType) -> tuple[int, ...]:
    return MatmulOp.infer([tensor(a.shape, i32), tensor(b.shape, i32)], None)[0].shape


def _check_matmul_param(param: TensorType, side: TensorType, rows: bool, what: str) -> None:
    """A zero point or scale of a matmul operand: one element, a vector per row of a (per
    column of b), or side's shape with its columns (rows) reduced to 1."""
    p, s = param.shape, side.shape
    if all(d == 1 for d in p):
        return
    if len(s) >= 2:
        along = s[-2] if rows else s[-1]
        if p == (along,):
            return
        keyed = s[:-1] + (1,) if rows else s[:-2] + (1, s[-1])
        if p == keyed:
            return
        raise ShapeError(f"{what} [{shape_text(p)}] should be one element, [{along}] or "
                         f"[{shape_text(keyed)}] for [{shape_text(s)}]")
    raise ShapeError(f"{what} [{shape_text(p)}] should be one element for [{shape_text(s)}]")


def _matmul_param(value, side_ndim: int, rows: bool):
    """A per-row (of a) or per-column (of b) parameter broadcastable against its operand."""
    value = np.asarray(value)
    if value.size == 1:
        return value.reshape(())
    if value.ndim == 1 and side_ndim >= 2 and rows:
        return value.reshape(-1, 1)
    return value


def _shifted(q, zero_point, side_ndim: int, rows: bool) -> np.ndarray:
    q = np.asarray(q).astype(np.int32)
    if zero_point is None:
        return q
    return q - _matmul_param(zero_point, side_ndim, rows).astype(np.int32)


def _int_matmul(a, b) -> np.ndarray:
    """An exact product of integers, wrapped to i32 as onnx's int32 arithmetic does."""
    return np.matmul(a.astype(np.int64), b.astype(np.int64)).astype(np.int32)


def _check_zero_point(zp: TensorType, side: TensorType, rows: bool, what: str) -> None:
    if zp.element_type != side.element_type:
        raise ShapeError(f"{what} {zp} should hold the element type of {side}")
    _check_matmul_param(zp, side, rows, what)


class MatmulIntegerOp(GraphOp):
    """(a - a_zero_point) @ (b - b_zero_point) in i32, matmul's broadcasting; zero points
    one element, per row of a or per column of b (ONNX MatMulInteger)."""

    name = "graph.matmul_integer"
    a = operand(TensorType)
    b = operand(TensorType)
    a_zero_point = operand(TensorType)
    b_zero_point = operand(TensorType)
    y = result(TensorType)
    kind = Kind.OUT_FUSABLE

    @classmethod
    def infer(cls, types, attrs):
        a, b, a_zp, b_zp = types
        _integer_operand(a, "a")
        _integer_operand(b, "b")
        shape = _matmul_shape(a, b)
        _check_zero_point(a_zp, a, True, "a_zero_point")
        _check_zero_point(b_zp, b, False, "b_zero_point")
        return [tensor(shape, i32)]

    @staticmethod
    def reference(a, b, a_zero_point, b_zero_point):
        a, b = np.asarray(a), np.asarray(b)
        return _int_matmul(_shifted(a, a_zero_point, a.ndim, True), _shifted(b, b_zero_point, b.ndim, False))


class QLinearMatmulOp(GraphOp):
    """Quantized matmul: (a - a_zero_point) @ (b - b_zero_point) in i32, times
    a_scale * b_scale / y_scale, rounded half to even, plus y_zero_point, saturated to
    y_zero_point's type (ONNX QLinearMatMul)."""

    name = "graph.qlinear_matmul"
    a = operand(TensorType)
    a_scale = operand(TensorType)
    a_zero_point = operand(TensorType)
    b = operand(TensorType)
    b_scale = operand(TensorType)
    b_zero_point = operand(TensorType)
    y_scale = operand(TensorType)
    y_zero_point = operand(TensorType)
    y = result(TensorType)
    kind = Kind.OUT_FUSABLE

    @classmethod
    def infer(cls, types, attrs):
        a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp = types
        _integer_operand(a, "a")
        _integer_operand(b, "b")
        shape = _matmul_shape(a, b)
        for name, t in (("a_scale", a_scale), ("b_scale", b_scale), ("y_scale", y_scale)):
            if not is_float(t):
                raise ShapeError(f"expects a float {name}, got {t}")
        if a_scale.element_type != b_scale.element_type or a_scale.element_type != y_scale.element_type:
            raise ShapeError(f"scales {a_scale}, {b_scale} and {y_scale} must have one element type")
        _check_zero_point(a_zp, a, True, "a_zero_point")
        _check_zero_point(b_zp, b, False, "b_zero_point")
        _check_matmul_param(a_scale, a, True, "a_scale")
        _check_matmul_param(b_scale, b, False, "b_scale")
        _integer_operand(y_zp, "y_zero_point")
        for name, t in (("y_scale", y_scale), ("y_zero_point", y_zp)):
            if any(d != 1 for d in t.shape):
                raise ShapeError(f"{name} [{shape_text(t.shape)}] should have one element")
        return [tensor(shape, y_zp.element_type)]

    @staticmethod
    def reference(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point):
        a, b = np.asarray(a), np.asarray(b)
        product = _int_matmul(_shifted(a, a_zero_point, a.ndim, True), _shifted(b, b_zero_point, b.ndim, False))
        # the combined scale rounds in the scales' own type, as onnx's reference computes it
        multiplier = (_matmul_param(a_scale, a.ndim, True) * _matmul_param(b_scale, b.ndim, False)
                      / np.asarray(y_scale).reshape(()))
        y = product.astype(np.float64) * np.asarray(multiplier, np.float64)
        y = y + np.asarray(y_zero_point).reshape(()).astype(np.float64)
        return _saturate(np.rint(y), _element_of(np.asarray(y_zero_point)))


def _element_of(array: np.ndarray) -> IntegerType:
    """The integer element type a numpy integer array stores."""
    dtype = array.dtype
    return IntegerType(dtype.itemsize * 8, "u" if dtype.kind == "u" else "")


def _conv_geometry(x, strides, pads, dilations):
    return _window_params(np.ndim(x) - 2, None, _list(strides), _list(pads), _list(dilations))


def _conv_shape(x: TensorType, w: TensorType, attrs) -> tuple[int, ...]:
    """graph.conv's shape rule (and its errors) for integer x and w."""
    from .nn import ConvOp
    return ConvOp.infer([tensor(x.shape, f32), tensor(w.shape, f32)], attrs)[0].shape


def _check_conv_zero_points(x: TensorType, w: TensorType, x_zp: TensorType, w_zp: TensorType) -> None:
    if x_zp.element_type != x.element_type or w_zp.element_type != w.element_type:
        raise ShapeError(f"zero points {x_zp} and {w_zp} should hold the types of x {x} and w {w}")
    if any(d != 1 for d in x_zp.shape):
        raise ShapeError(f"x_zero_point [{shape_text(x_zp.shape)}] should have one element")
    if any(d != 1 for d in w_zp.shape) and w_zp.shape != (w.shape[0],):
        raise ShapeError(f"w_zero_point [{shape_text(w_zp.shape)}] should have one element or [{w.shape[0]}], "
                         f"the output channels of w [{shape_text(w.shape)}]")


def _per_channel(value, rank: int):
    """A scalar or per-output-channel (M) parameter broadcastable to (M, ...) of `rank` axes."""
    value = np.asarray(value)
    return value.reshape(()) if value.size == 1 else value.reshape((-1,) + (1,) * (rank - 1))


def _int_conv(x, w, x_zero_point, w_zero_point, bias, strides, pads, dilations, group) -> np.ndarray:
    x = np.asarray(x).astype(np.int64) - np.asarray(x_zero_point).reshape(()).astype(np.int64)
    w = np.asarray(w).astype(np.int64) - _per_channel(w_zero_point, np.ndim(w)).astype(np.int64)
    strides, pads, dilations = _conv_geometry(x, strides, pads, dilations)
    bias = None if bias is None else np.asarray(bias).astype(np.int64)
    return _conv(x, w, bias, strides, pads, dilations, group).astype(np.int32)


class ConvIntegerOp(GraphOp):
    """graph.conv of (x - x_zero_point) and (w - w_zero_point) in i32; w's zero point one
    element or one per output channel (ONNX ConvInteger with explicit pads)."""

    name = "graph.conv_integer"
    x = operand(TensorType)
    w = operand(TensorType)
    x_zero_point = operand(TensorType)
    w_zero_point = operand(TensorType)
    y = result(TensorType)
    strides = ints(doc="per spatial axis; default 1")
    pads = ints(doc="all spatial begins, then all ends; default 0")
    dilations = ints(doc="per spatial axis; default 1")
    group = int_(1)
    kind = Kind.OUT_FUSABLE

    @classmethod
    def infer(cls, types, attrs):
        x, w, x_zp, w_zp = types
        _integer_operand(x, "x")
        _integer_operand(w, "w")
        shape = _conv_shape(x, w, attrs)
        _check_conv_zero_points(x, w, x_zp, w_zp)
        return [tensor(shape, i32)]

    @staticmethod
    def reference(x, w, x_zero_point, w_zero_point, *, strides=None, pads=None, dilations=None, group=1):
        return _int_conv(x, w, x_zero_point, w_zero_point, None, strides, pads, dilations, group)


class QLinearConvOp(GraphOp):
    """Quantized conv: graph.conv of (x - x_zero_point) and (w - w_zero_point) plus the i32
    bias, times x_scale * w_scale / y_scale (w_scale one element or one per output channel),
    rounded half to even, plus y_zero_point, saturated to its type (ONNX QLinearConv)."""

    name = "graph.qlinear_conv"
    x = operand(TensorType)
    x_scale = operand(TensorType)
    x_zero_point = operand(TensorType)
    w = operand(TensorType)
    w_scale = operand(TensorType)
    w_zero_point = operand(TensorType)
    y_scale = operand(TensorType)
    y_zero_point = operand(TensorType)
    bias = opt_operand(TensorType)
    y = result(TensorType)
    strides = ints(doc="per spatial axis; default 1")
    pads = ints(doc="all spatial begins, then all ends; default 0")
    dilations = ints(doc="per spatial axis; default 1")
    group = int_(1)
    kind = Kind.OUT_FUSABLE

    @classmethod
    def infer(cls, types, attrs):
        x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp = types[:8]
        _integer_operand(x, "x")
        _integer_operand(w, "w")
        shape = _conv_shape(x, w, attrs)
        _check_conv_zero_points(x, w, x_zp, w_zp)
        for name, t in (("x_scale", x_scale), ("w_scale", w_scale), ("y_scale", y_scale)):
            if not is_float(t):
                raise ShapeError(f"expects a float {name}, got {t}")
        for name, t in (("x_scale", x_scale), ("y_scale", y_scale), ("y_zero_point", y_zp)):
            if any(d != 1 for d in t.shape):
                raise ShapeError(f"{name} [{shape_text(t.shape)}] should have one element")
        if any(d != 1 for d in w_scale.shape) and w_scale.shape != (w.shape[0],):
            raise ShapeError(f"w_scale [{shape_text(w_scale.shape)}] should have one element or "
                             f"[{w.shape[0]}], the output channels of w [{shape_text(w.shape)}]")
        _integer_operand(y_zp, "y_zero_point")
        if len(types) == 9:
            bias = types[8]
            if bias.element_type != i32 or bias.shape != (w.shape[0],):
                raise ShapeError(f"bias {bias} should be tensor<{w.shape[0]}xi32>, one per output channel")
        return [tensor(shape, y_zp.element_type)]

    @staticmethod
    def reference(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, bias=None, *,
                  strides=None, pads=None, dilations=None, group=1):
        acc = _int_conv(x, w, x_zero_point, w_zero_point, bias, strides, pads, dilations, group)
        rank = np.ndim(x) - 1
        multiplier = (np.asarray(x_scale).reshape(()) * _per_channel(w_scale, rank)
                      / np.asarray(y_scale).reshape(()))
        y = acc.astype(np.float64) * np.asarray(multiplier, np.float64)
        y = y + np.asarray(y_zero_point).reshape(()).astype(np.float64)
        return _saturate(np.rint(y), _element_of(np.asarray(y_zero_point)))


# ---- bit casts ----------------------------------------------------------------------------------

def _bits(element) -> int:
    """Storage width in bits; ONNX stores a bool in a byte."""
    if isinstance(element, IntegerType):
        return 8 if element.width == 1 else element.width
    if isinstance(element, FloatType):
        return element.width
    raise ShapeError(f"cannot bit cast {element}")


class BitcastOp(GraphOp):
    """x's bits reinterpreted as the element type `to` of the same width (ONNX BitCast)."""

    name = "graph.bitcast"
    x = operand(TensorType)
    y = result(TensorType)
    to = type_()
    kind = Kind.ELEMWISE

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        if _bits(x.element_type) != _bits(attrs.to):
            raise ShapeError(f"cannot bit cast {x} to {attrs.to}: {_bits(x.element_type)} bits "
                             f"against {_bits(attrs.to)}")
        return [tensor(x.shape, attrs.to)]

    @staticmethod
    def reference(x, *, to):
        x = np.asarray(x)
        target = numpy_dtype(to)
        bf16_out = isinstance(to, FloatType) and to.name == "bf16"
        if bf16_out and x.dtype.itemsize == 2:      # 16 bits become the high half of an f32
            return (x.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        if x.dtype.itemsize == 4 and target.itemsize == 2:   # a bf16 (stored as f32): its high half
            return (round_to_bf16(x).view(np.uint32) >> 16).astype(np.uint16).view(target)
        return x.view(target)
