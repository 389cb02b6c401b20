"""graph -> te: compute builders of the quantize family (dialects/graph/quantize.py) —
quantize/dequantize (per tensor, per axis, blocked), dynamic quantization, integer and
quantized matmul and conv, bit casts.

Each builder repeats its reference's numpy steps and promotions: x / scale in x's and the
scale's common type, then round half to even, the zero point added in f64, clipped to the
quantized type's range (NaN gives 0) and converted; dequantization in f32, or f64 where
numpy promotes f32 against an i32 zero point. Integer products accumulate in i32, which
wraps exactly as the references' i64 sums truncated to i32 do. te has no storage for 8- or
4-bit floats and 2- or 4-bit integers: an instance that would produce them is declined
with a DiagnosticError (the conversion reports it as not legalized); reading them works."""

from __future__ import annotations

import numpy as np

from descend.dialects.te.builder import compute
from descend.ir import FloatType, IntegerType, f32, f64, i1, i32, numpy_dtype

from . import is_unsigned, lowers, name_of, out_type
from .elementwise import attrs, broadcast_read, convert, type_of_dtype
from .nn import _geometry, _tap

TE_FLOATS = ("f16", "bf16", "f32", "f64")


def storable(element) -> bool:
    """Whether te can hold `element` as a compute result."""
    if isinstance(element, FloatType):
        return element.name in TE_FLOATS
    return isinstance(element, IntegerType) and element.width in (1, 8, 16, 32, 64)


def require_storable(op, element) -> None:
    if not storable(element):
        raise op.error(f"a result of {element} cannot be lowered to te: te has no 8- or 4-bit "
                       "float or 2- or 4-bit integer results")


def integer_range(element: IntegerType) -> tuple[int, int]:
    if element.signedness == "u":
        return 0, (1 << element.width) - 1
    return -(1 << (element.width - 1)), (1 << (element.width - 1)) - 1


def saturate(b, q, element: IntegerType):
    """A float q clipped to `element`'s range, NaN made 0, converted to it (the graph's
    _saturate; q is integral already)."""
    low, high = integer_range(element)
    q = b.min(b.max(q, float(low)), float(high))
    q = b.select(b.ne(q, q), b.const(0.0, q.type), q)
    to = IntegerType(element.width)
    return convert(b, q, to, to_unsigned=element.signedness == "u")


def requantize(b, acc, multiplier, zero_point, element: IntegerType, zero_unsigned: bool):
    """rint(acc * multiplier + zero_point) in f64, saturated: what qlinear_matmul and
    qlinear_conv do with their i32 accumulator."""
    y = b.mul(convert(b, acc, f64), convert(b, multiplier, f64))
    y = b.add(y, convert(b, zero_point, f64, zero_unsigned))
    return saturate(b, b.math("roundeven", y), element)


def common_type(*elements):
    """The te type numpy computes in for operands of these graph element types."""
    return type_of_dtype(np.result_type(*[numpy_dtype(e) for e in elements]))


def element_of(value):
    return value.type.element_type


def scalar_read(reader):
    """The element of a one-element tensor."""
    return reader[(0,) * len(reader.shape)]


def sub_name(op, suffix: str, index: int = 0):
    base = name_of(op, index)
    return f"{base}.{suffix}" if base else None


# ---- quantize / dequantize --------------------------------------------------------------------

def param_index(b, shape, index, axis: int, block_size: int) -> tuple:
    """Where a scale or zero point of `shape` holds x's element at `index`: one element,
    per axis, or blocked (index // block_size along axis), as the graph's _expand. The
    scale and the zero point share a shape, so one index serves both."""
    if all(d == 1 for d in shape):
        return (0,) * len(shape)
    if not block_size:
        return (index[axis],)
    return tuple(b.floordiv(x, block_size) if k == axis else x for k, x in enumerate(index))


def param_reads(b, readers, index, axis: int, block_size: int) -> list:
    """The scale (and zero point) for x's element at `index`, indexed once per shape."""
    at: dict = {}
    for reader in readers:
        if reader.shape not in at:
            at[reader.shape] = param_index(b, reader.shape, index, axis, block_size)
    return [reader[at[reader.shape]] for reader in readers]


@lowers("graph.quantize_linear")
def quantize_linear(kb, op, inputs):
    a = attrs(op)
    to = op.results[0].type.element_type
    if not isinstance(to, IntegerType):
        raise op.error(f"quantizing to {to} cannot be lowered to te: te has no 8- or 4-bit float results")
    require_storable(op, to)
    x_element, scale_element = element_of(op.operands[0]), element_of(op.operands[1])
    wide = common_type(x_element, scale_element)
    rank = len(inputs[0].type.shape)
    axis = a.axis % rank if rank else 0
    zero_unsigned = len(inputs) > 2 and is_unsigned(op.operands[2])

    def body(b, i, r, reads):
        scale, *zero = param_reads(b, reads[1:], i, axis, a.block_size)
        q = b.math("roundeven", b.div(convert(b, reads[0][tuple(i)], wide), convert(b, scale, wide)))
        q = convert(b, q, f64)
        if zero:
            q = b.add(q, convert(b, zero[0], f64, zero_unsigned))
        return saturate(b, q, to)
    out = out_type(op)
    return [compute(kb, out.shape, out.element_type, inputs, body, name=name_of(op))]


@lowers("graph.dequantize_linear")
def dequantize_linear(kb, op, inputs):
    a = attrs(op)
    out = out_type(op)
    x_element, scale_element = element_of(op.operands[0]), element_of(op.operands[1])
    unsigned = is_unsigned(op.operands[0])
    shifted = len(inputs) > 2 and isinstance(x_element, IntegerType)   # float x ignore the zero point
    # numpy's promotions: x.astype(f32) - zero_point, then times the scale
    difference = common_type(f32, element_of(op.operands[2])) if shifted else f32
    product = common_type(difference, scale_element)
    rank = len(out.shape)
    axis = a.axis % rank if rank else 0

    def body(b, i, r, reads):
        scale, *zero = param_reads(b, reads[1:], i, axis, a.block_size)
        v = convert(b, reads[0][tuple(i)], f32, unsigned)
        if zero:
            v = b.sub(convert(b, v, difference), convert(b, zero[0], difference, unsigned))
        return convert(b, b.mul(convert(b, v, product), convert(b, scale, product)), out.element_type)
    return [compute(kb, out.shape, out.element_type, inputs[:3] if shifted else inputs[:2], body,
                    name=name_of(op))]


@lowers("graph.dynamic_quantize_linear")
def dynamic_quantize_linear(kb, op, inputs):
    """max(x) and min(x) (each with 0, as Python's max(0.0, m) keeps 0 for a NaN m), the
    scale, the zero point as a float (clamped the way Python's min/max compare, then
    rounded), then y = clip(rint(x / scale) + zero, 0, 255)."""
    (x,) = inputs
    shape = tuple(x.type.shape)
    y_type, zero_type = out_type(op, 0), out_type(op, 2)

    def everything(combiner, suffix):
        return compute(kb, (), f32, [x], lambda b, i, r, reads: reads[0][tuple(r)], reduce=shape,
                       combiner=combiner if shape else None, name=sub_name(op, suffix))
    peak, floor = everything("max", "max"), everything("min", "min")

    def scale_body(b, i, r, reads):
        m, n = reads[0][()], reads[1][()]
        high = b.select(b.gt(m, 0.0), m, 0.0)
        low = b.select(b.lt(n, 0.0), n, 0.0)
        return b.div(b.select(b.eq(high, low), b.const(1.0, f32), b.sub(high, low)), 255.0)
    scale = compute(kb, (), f32, [peak, floor], scale_body, name=name_of(op, 1))

    def zero_body(b, i, r, reads):
        n, s = reads[0][()], reads[1][()]
        v = b.sub(0.0, b.div(b.select(b.lt(n, 0.0), n, 0.0), s))
        v = b.select(b.lt(v, 255.0), v, 255.0)
        return b.math("roundeven", b.select(b.gt(v, 0.0), v, 0.0))
    zero = compute(kb, (), f32, [floor, scale], zero_body, name=sub_name(op, "zero", 2))

    def y_body(b, i, r, reads):
        q = b.add(b.math("roundeven", b.div(reads[0][tuple(i)], reads[1][()])), reads[2][()])
        return convert(b, b.min(b.max(q, 0.0), 255.0), y_type.element_type, to_unsigned=True)
    y = compute(kb, shape, y_type.element_type, [x, scale, zero], y_body, name=name_of(op, 0))
    zero_point = compute(kb, (), zero_type.element_type, [zero],
                         lambda b, i, r, reads: convert(b, reads[0][()], zero_type.element_type, to_unsigned=True),
                         name=name_of(op, 2))
    return [y, scale, zero_point]


# ---- integer matrix products ------------------------------------------------------------------

def matmul_indices(out_rank: int, a_shape, b_shape, i, k):
    """The (a, b) indices matmul reads for output index i and contraction index k: 1-D
    operands take no row (column) axis; batch axes broadcast (size 1 reads 0)."""
    batch = out_rank - (len(a_shape) > 1) - (len(b_shape) > 1)
    out_batch = i[:batch]

    def batch_of(dims):
        offset = len(out_batch) - len(dims)
        return [0 if d == 1 else out_batch[offset + j] for j, d in enumerate(dims)]
    left = batch_of(a_shape[:-2]) + [i[batch], k] if len(a_shape) > 1 else [k]
    right = batch_of(b_shape[:-2]) + [k, i[-1]] if len(b_shape) > 1 else [k]
    return left, right


def side_param(reader, side_index, side_rank: int, rows: bool):
    """A zero point or scale of a matmul operand at `side_index` (an index of the operand,
    or of the output: both end in the row and column): one element, a vector per row of a
    (per column of b), or broadcast against the operand (the graph's _matmul_param)."""
    if all(d == 1 for d in reader.shape):
        return scalar_read(reader)
    if len(reader.shape) == 1 and rows and side_rank >= 2:
        return reader[side_index[-2]]
    return broadcast_read(reader, side_index)


def integer_matmul(kb, op, a, b_, a_zero, b_zero, a_unsigned, b_unsigned, name):
    """(a - a_zero) @ (b - b_zero) in i32 (wrapping)."""
    out_shape = tuple(op.results[0].type.shape)
    a_shape, b_shape = tuple(a.type.shape), tuple(b_.type.shape)

    def body(b, i, r, reads):
        left, right = matmul_indices(len(out_shape), a_shape, b_shape, i, r[0])
        x = b.sub(convert(b, reads[0][tuple(left)], i32, a_unsigned),
                  convert(b, side_param(reads[2], left, len(a_shape), True), i32, a_unsigned))
        y = b.sub(convert(b, reads[1][tuple(right)], i32, b_unsigned),
                  convert(b, side_param(reads[3], right, len(b_shape), False), i32, b_unsigned))
        return b.mul(x, y)
    return compute(kb, out_shape, i32, [a, b_, a_zero, b_zero], body, reduce=(a_shape[-1],),
                   combiner="sum", name=name)


@lowers("graph.matmul_integer")
def matmul_integer(kb, op, inputs):
    a, b_, a_zero, b_zero = inputs
    return [integer_matmul(kb, op, a, b_, a_zero, b_zero, is_unsigned(op.operands[0]),
                           is_unsigned(op.operands[1]), name_of(op))]


def scale_type(element):
    """Scales compute in their own type; bf16 (stored as f32 by the graph) in f32."""
    return f32 if element.name == "bf16" else element


@lowers("graph.qlinear_matmul")
def qlinear_matmul(kb, op, inputs):
    a, a_scale, a_zero, b_, b_scale, b_zero, y_scale, y_zero = inputs
    to = op.results[0].type.element_type
    out = out_type(op)
    a_rank, b_rank = len(a.type.shape), len(b_.type.shape)
    acc = integer_matmul(kb, op, a, b_, a_zero, b_zero, is_unsigned(op.operands[0]),
                         is_unsigned(op.operands[3]), sub_name(op, "acc"))
    work = scale_type(element_of(op.operands[1]))
    zero_unsigned = is_unsigned(op.operands[7])

    def body(b, i, r, reads):
        product, sa, sb, sy, zy = reads
        # an output index ends in (row, column) as a's and b's indices do
        row_index = list(i) + [0] if b_rank == 1 else list(i)
        multiplier = b.div(b.mul(convert(b, side_param(sa, row_index, a_rank, True), work),
                                 convert(b, side_param(sb, list(i), b_rank, False), work)),
                           convert(b, scalar_read(sy), work))
        return requantize(b, product[tuple(i)], multiplier, scalar_read(zy), to, zero_unsigned)
    return [compute(kb, out.shape, out.element_type, [acc, a_scale, b_scale, y_scale, y_zero], body,
                    name=name_of(op))]


# ---- integer convolutions ---------------------------------------------------------------------

def integer_conv(kb, op, x, w, x_zero, w_zero, x_unsigned: bool, w_unsigned: bool, name):
    """conv of (x - x_zero) and (w - w_zero) in i32; padding reads x_zero, so it adds 0
    (the reference pads the shifted x with zeros). w_zero is one element or one per
    output channel."""
    a = attrs(op)
    out_shape = tuple(op.results[0].type.shape)
    rank = len(out_shape) - 2
    strides, pads, dilations = _geometry(a, rank)
    m_total, per_group = w.type.shape[0], w.type.shape[1]
    kernel = tuple(w.type.shape[2:])

    def body(b, i, r, reads):
        xr, wr, xz, wz = reads
        n, m, spatial = i[0], i[1], i[2:]
        c, taps = r[0], r[1:]
        if a.group > 1:
            c = b.index_add(b.index_mul(b.floordiv(m, b.index(m_total // a.group)), per_group), c)
        positions = [_tap(b, o, k, s, d, -p) for o, k, s, d, p in zip(spatial, taps, strides, dilations, pads)]
        zero = scalar_read(xz)
        v = b.sub(convert(b, xr.padded([n, c, *positions], zero), i32, x_unsigned), convert(b, zero, i32, x_unsigned))
        w_zero_value = scalar_read(wz) if all(d == 1 for d in wz.shape) else wz[m]
        u = b.sub(convert(b, wr[(m, r[0], *taps)], i32, w_unsigned), convert(b, w_zero_value, i32, w_unsigned))
        return b.mul(v, u)
    return compute(kb, out_shape, i32, [x, w, x_zero, w_zero], body, reduce=(per_group, *kernel),
                   combiner="sum", name=name)


@lowers("graph.conv_integer")
def conv_integer(kb, op, inputs):
    x, w, x_zero, w_zero = inputs
    return [integer_conv(kb, op, x, w, x_zero, w_zero, is_unsigned(op.operands[0]), is_unsigned(op.operands[1]),
                         name_of(op))]


@lowers("graph.qlinear_conv")
def qlinear_conv(kb, op, inputs):
    x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero = inputs[:8]
    bias = inputs[8:]
    to = op.results[0].type.element_type
    out = out_type(op)
    acc = integer_conv(kb, op, x, w, x_zero, w_zero, is_unsigned(op.operands[0]), is_unsigned(op.operands[3]),
                       sub_name(op, "acc"))
    work = scale_type(element_of(op.operands[1]))
    zero_unsigned = is_unsigned(op.operands[7])

    def body(b, i, r, reads):
        product, sx, sw, sy, zy = reads[:5]
        value = product[tuple(i)]
        if bias:
            value = b.add(value, reads[5][i[1]])
        w_scale_value = scalar_read(sw) if all(d == 1 for d in sw.shape) else sw[i[1]]
        multiplier = b.div(b.mul(convert(b, scalar_read(sx), work), convert(b, w_scale_value, work)),
                           convert(b, scalar_read(sy), work))
        return requantize(b, value, multiplier, scalar_read(zy), to, zero_unsigned)
    return [compute(kb, out.shape, out.element_type, [acc, x_scale, w_scale, y_scale, y_zero, *bias], body,
                    name=name_of(op))]


# ---- bit casts --------------------------------------------------------------------------------

@lowers("graph.bitcast")
def bitcast(kb, op, inputs):
    """arith.bitcast per element; a bool is its byte (0 or 1); bf16 goes through the upper
    half of an f32 (te, like the graph, holds bf16 values as f32)."""
    source, to = element_of(op.operands[0]), op.results[0].type.element_type
    for element in (source, to):
        if not storable(element):
            raise op.error(f"a bit cast of {element} cannot be lowered to te: te has no 8- or 4-bit "
                           "float or 2- or 4-bit integer values")
    out = out_type(op)
    target = out.element_type
    i16 = IntegerType(16)

    def body(b, i, r, reads):
        x = reads[0][tuple(i)]
        if x.type == target:
            return x
        if x.type == i1:
            return b.select(x, b.const(1, target), b.const(0, target))
        if target == i1:
            return b.ne(x, 0)
        if isinstance(target, FloatType) and target.name == "bf16":
            bits = x if isinstance(x.type, IntegerType) else b.arith("bitcast", x, result_type=i16)
            high = b.arith("shli", b.arith("extui", bits, result_type=i32), 16)
            return b.arith("truncf", b.arith("bitcast", high, result_type=f32), result_type=target)
        if isinstance(x.type, FloatType) and x.type.name == "bf16":
            bits = b.arith("bitcast", b.arith("extf", x, result_type=f32), result_type=i32)
            half = b.arith("trunci", b.arith("shrui", bits, 16), result_type=i16)
            return half if target == i16 else b.arith("bitcast", half, result_type=target)
        return b.arith("bitcast", x, result_type=target)
    return [compute(kb, out.shape, target, inputs, body, name=name_of(op))]
