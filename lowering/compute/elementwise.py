"""graph -> te: compute builders of elementwise and broadcasting ops (dialects/graph/elementwise.py).

Each builder mirrors its op's numpy reference step by step, so the te interpretation gives
the same numbers: composite float functions that the reference computes in f32 for f16
(its `widened`) extend to f32, compute, and truncate once; bf16 computes in f32 too (the
graph stores bf16 as f32 and rounds only in graph.cast, which rounds here with integer
arithmetic on the bits). Integer ops pick their unsigned forms from the graph operand's
signedness, te itself being signless."""

from __future__ import annotations

import math

import numpy as np

from descend.dialects.graph import Attrs
from descend.dialects.te.builder import compute
from descend.ir import FloatType, IntegerType, f16, f32, f64, i1, i32, numpy_dtype

from . import is_unsigned, lowers, name_of, out_type


def attrs(op) -> Attrs:
    """The op's attributes as Python values, defaults filled in (what `reference` gets)."""
    return Attrs(type(op), op.properties)


def broadcast_read(reader, out_indices):
    """Read `reader` at the output indices under numpy broadcasting: trailing axes align,
    size-1 axes read index 0."""
    shape = reader.shape
    offset = len(out_indices) - len(shape)
    return reader[tuple(0 if d == 1 else out_indices[offset + k] for k, d in enumerate(shape))]


def broadcast_compute(kb, op, inputs, fn):
    """out[i] = fn(b, x0[bcast(i)], x1[bcast(i)], ...) over the op's result shape."""
    out = out_type(op)
    return compute(kb, out.shape, out.element_type, inputs,
                   lambda b, i, r, reads: fn(b, *[broadcast_read(x, i) for x in reads]),
                   name=name_of(op))


def is_float(t) -> bool:
    return isinstance(t, FloatType)


def wide_type(element):
    """Where the graph references compute composite float functions: f32 for f16 (numpy's
    half loops would round after every step) and for bf16 (stored as f32)."""
    return f32 if is_float(element) and element.name in ("f16", "bf16") else element


def widened_compute(kb, op, inputs, fn):
    """broadcast_compute with `fn` applied in the wide type and the result rounded once:
    the graph's `widened`."""
    element = out_type(op).element_type
    wide = wide_type(element)
    return broadcast_compute(
        kb, op, inputs, lambda b, *xs: convert(b, fn(b, *[convert(b, x, wide) for x in xs]), element))


def convert(b, x, to, unsigned: bool = False, to_unsigned: bool = False):
    """x converted to `to` as numpy's astype (graph.cast without the bf16 rounding):
    floats round to nearest, float -> int truncates, ints wrap or extend by the source's
    signedness, i1 reads as 0/1, anything -> i1 is `!= 0`."""
    src = x.type
    if src == to:
        return x
    if to == i1:
        return b.ne(x, 0.0 if is_float(src) else 0)
    if is_float(src) and is_float(to):
        if src.width == to.width:  # f16 <-> bf16: widen exactly to f32, round once
            return convert(b, convert(b, x, f32), to)
        return b.arith("extf" if to.width > src.width else "truncf", x, result_type=to)
    if is_float(src):
        return b.arith("fptoui" if to_unsigned else "fptosi", x, result_type=to)
    if is_float(to):
        return b.arith("uitofp" if unsigned or src == i1 else "sitofp", x, result_type=to)
    if to.width == src.width:
        return x
    if to.width < src.width:
        return b.arith("trunci", x, result_type=to)
    return b.arith("extui" if unsigned or src == i1 else "extsi", x, result_type=to)


def round_to_bf16(b, x):
    """f32 x rounded to the nearest bf16 (ties to even), NaN kept: the graph's
    round_to_bf16, on the bits."""
    bits = b.arith("bitcast", x, result_type=i32)
    lsb = b.and_(b.arith("shrui", bits, 16), 1)
    rounded = b.and_(b.add(b.add(bits, 0x7FFF), lsb), -0x10000)
    value = b.arith("bitcast", rounded, result_type=f32)
    return b.select(b.ne(x, x), b.const(float("nan"), f32), value)


def compare(b, predicate: str, x, y, unsigned: bool = False):
    """x <predicate> y for lt/le/gt/ge/eq/ne, unsigned integer orderings when asked."""
    if unsigned and predicate in ("lt", "le", "gt", "ge"):
        return b.arith("cmpi", x, y, predicate="u" + predicate)
    return getattr(b, predicate)(x, y)


def maximum(b, x, y, unsigned: bool = False):
    return b.arith("maxui", x, y) if unsigned else b.max(x, y)


def minimum(b, x, y, unsigned: bool = False):
    return b.arith("minui", x, y) if unsigned else b.min(x, y)


# ---- unary -----------------------------------------------------------------------------------

_MATH = {  # graph op -> math op of the same numpy function, on the op's own element type
    "graph.exp": "exp", "graph.log": "log", "graph.sqrt": "sqrt", "graph.tanh": "tanh",
    "graph.erf": "erf", "graph.sin": "sin", "graph.cos": "cos", "graph.tan": "tan",
    "graph.asin": "asin", "graph.acos": "acos", "graph.atan": "atan", "graph.sinh": "sinh",
    "graph.cosh": "cosh", "graph.asinh": "asinh", "graph.acosh": "acosh", "graph.atanh": "atanh",
    "graph.floor": "floor", "graph.ceil": "ceil", "graph.round": "roundeven",
}


def _math_builder(mnemonic: str):
    def build(kb, op, inputs):
        return [broadcast_compute(kb, op, inputs, lambda b, x: b.math(mnemonic, x))]
    build.__name__ = mnemonic
    return build


for _name, _mnemonic in _MATH.items():
    lowers(_name)(_math_builder(_mnemonic))


@lowers("graph.identity", "graph.dropout")
def identity(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs[:1], lambda b, x: x)]


@lowers("graph.neg")
def neg(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, x: b.neg(x))]


@lowers("graph.abs")
def abs_(kb, op, inputs):
    if is_unsigned(op.operands[0]):
        return identity(kb, op, inputs)
    return [broadcast_compute(kb, op, inputs, lambda b, x: b.abs(x))]


@lowers("graph.reciprocal")
def reciprocal(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, x: b.div(1.0, x))]


@lowers("graph.sign")
def sign(kb, op, inputs):
    def body(b, x):
        if is_float(x.type):  # zeros give +0, NaN stays NaN (np.sign)
            rest = b.select(b.ne(x, x), x, 0.0)
            return b.select(b.gt(x, 0.0), 1.0, b.select(b.lt(x, 0.0), -1.0, rest))
        one, zero = b.const(1, x.type), b.const(0, x.type)
        if is_unsigned(op.operands[0]):
            return b.select(b.ne(x, 0), one, zero)
        return b.select(b.gt(x, 0), one, b.select(b.lt(x, 0), -1, zero))
    return [broadcast_compute(kb, op, inputs, body)]


@lowers("graph.not")
def not_(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, x: b.not_(x))]


@lowers("graph.bitwise_not")
def bitwise_not(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, x: b.arith("xori", x, -1))]


@lowers("graph.relu")
def relu(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, x: b.max(x, 0.0 if is_float(x.type) else 0))]


@lowers("graph.is_nan")
def is_nan(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, x: b.ne(x, x))]


@lowers("graph.is_inf")
def is_inf(kb, op, inputs):
    a = attrs(op)

    def body(b, x):
        tests = ([b.eq(x, math.inf)] if a.detect_positive else []) + \
                ([b.eq(x, -math.inf)] if a.detect_negative else [])
        if not tests:
            return b.const(0, i1)
        return tests[0] if len(tests) == 1 else b.or_(*tests)
    return [broadcast_compute(kb, op, inputs, body)]


def sigmoid_of(b, v):
    """1 / (1 + e^-|v|) for v >= 0, else e^-|v| / (1 + e^-|v|): neither side overflows."""
    e = b.exp(b.neg(b.abs(v)))
    d = b.add(1.0, e)
    return b.select(b.ge(v, 0.0), b.div(1.0, d), b.div(e, d))


def softplus_of(b, v):
    """np.logaddexp(0, v): v + log1p(e^-v) for v > 0, else log1p(e^v) (NaN stays NaN)."""
    positive = b.add(v, b.math("log1p", b.exp(b.neg(v))))
    return b.select(b.gt(v, 0.0), positive, b.math("log1p", b.exp(v)))


def swish_of(b, v, alpha: float):
    """v * sigmoid(alpha * v), as the graph's _swish."""
    av = b.mul(alpha, v)
    e = b.exp(b.neg(b.abs(av)))
    d = b.add(1.0, e)
    return b.mul(v, b.select(b.ge(av, 0.0), b.div(1.0, d), b.div(e, d)))


def clip01(b, v):
    return b.min(b.max(v, 0.0), 1.0)


# Activations whose reference is `widened(...)`: fn(b, v, attrs) in the wide type.
_ACTIVATIONS = {
    "graph.sigmoid": lambda b, v, a: sigmoid_of(b, v),
    "graph.leaky_relu": lambda b, v, a: b.select(b.lt(v, 0.0), b.mul(a.alpha, v), v),
    "graph.elu": lambda b, v, a: b.select(
        b.lt(v, 0.0), b.mul(a.alpha, b.math("expm1", b.min(v, 0.0))), v),
    "graph.selu": lambda b, v, a: b.mul(a.gamma, b.select(
        b.gt(v, 0.0), v, b.mul(a.alpha, b.math("expm1", b.min(v, 0.0))))),
    "graph.celu": lambda b, v, a: b.add(b.max(v, 0.0), b.min(0.0, b.mul(
        a.alpha, b.math("expm1", b.div(b.min(v, 0.0), a.alpha))))),
    "graph.hard_sigmoid": lambda b, v, a: clip01(b, b.add(b.mul(a.alpha, v), a.beta)),
    "graph.hard_swish": lambda b, v, a: b.mul(v, clip01(b, b.add(b.div(v, 6.0), 0.5))),
    "graph.softplus": lambda b, v, a: softplus_of(b, v),
    "graph.softsign": lambda b, v, a: b.div(v, b.add(1.0, b.abs(v))),
    "graph.mish": lambda b, v, a: b.mul(v, b.tanh(softplus_of(b, v))),
    "graph.swish": lambda b, v, a: swish_of(b, v, a.alpha),
    "graph.thresholded_relu": lambda b, v, a: b.select(b.gt(v, a.alpha), v, 0.0),
}


def _activation_builder(fn):
    def build(kb, op, inputs):
        a = attrs(op)
        return [widened_compute(kb, op, inputs, lambda b, v: fn(b, v, a))]
    return build


for _name, _fn in _ACTIVATIONS.items():
    lowers(_name)(_activation_builder(_fn))


@lowers("graph.gelu")
def gelu(kb, op, inputs):
    if attrs(op).approximate == "tanh":
        def fn(b, v):  # 0.5 v (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3)))
            inner = b.add(v, b.mul(0.044715, b.math("powf", v, 3.0)))
            return b.mul(b.mul(0.5, v), b.add(1.0, b.tanh(b.mul(math.sqrt(2 / math.pi), inner))))
    else:
        def fn(b, v):  # 0.5 v (1 + erf(v / sqrt(2)))
            return b.mul(b.mul(0.5, v), b.add(1.0, b.math("erf", b.div(v, math.sqrt(2)))))
    return [widened_compute(kb, op, inputs, fn)]


@lowers("graph.shrink")
def shrink(kb, op, inputs):
    """Floats in the wide type; integers in f64, truncated back (the reference's cast_array)."""
    a = attrs(op)
    element = out_type(op).element_type
    unsigned = is_unsigned(op.operands[0])
    wide = wide_type(element) if is_float(element) else f64

    def body(b, x):
        v = convert(b, x, wide, unsigned)
        y = b.select(b.lt(v, -a.lambd), b.add(v, a.bias), b.select(b.gt(v, a.lambd), b.sub(v, a.bias), 0.0))
        return convert(b, y, element, to_unsigned=unsigned)
    return [broadcast_compute(kb, op, inputs, body)]


@lowers("graph.cast")
def cast(kb, op, inputs):
    to = out_type(op).element_type
    if not (is_float(to) and to.name in ("f16", "bf16", "f32", "f64")) and \
            not (isinstance(to, IntegerType) and to.width in (1, 8, 16, 32, 64)):
        # reading narrow elements works (extf/extsi from them); te cannot hold them as results
        raise op.error(f"to {to} cannot be lowered to te: te has no 8- or 4-bit float or "
                       "2- or 4-bit integer results")
    unsigned, to_unsigned = is_unsigned(op.operands[0]), is_unsigned(op.results[0])

    def body(b, x):
        if is_float(to) and to.name == "bf16":  # astype(f32), then round (cast_array)
            return convert(b, round_to_bf16(b, convert(b, x, f32, unsigned)), to)
        return convert(b, x, to, unsigned, to_unsigned)
    return [broadcast_compute(kb, op, inputs, body)]


# ---- binary ----------------------------------------------------------------------------------

def _binary(fn):
    """A builder for out = fn(b, lhs, rhs, unsigned) under broadcasting."""
    def build(kb, op, inputs):
        unsigned = is_unsigned(op.operands[0])
        return [broadcast_compute(kb, op, inputs, lambda b, x, y: fn(b, x, y, unsigned))]
    return build


_BINARY = {
    "graph.add": lambda b, x, y, u: b.add(x, y),
    "graph.sub": lambda b, x, y, u: b.sub(x, y),
    "graph.mul": lambda b, x, y, u: b.mul(x, y),
    "graph.div": lambda b, x, y, u: b.div(x, y) if is_float(x.type) else b.truncdiv(x, y, u),
    "graph.max": lambda b, x, y, u: maximum(b, x, y, u),
    "graph.min": lambda b, x, y, u: minimum(b, x, y, u),
    "graph.bitwise_and": lambda b, x, y, u: b.and_(x, y),
    "graph.bitwise_or": lambda b, x, y, u: b.or_(x, y),
    "graph.bitwise_xor": lambda b, x, y, u: b.arith("xori", x, y),
    "graph.and": lambda b, x, y, u: b.and_(x, y),
    "graph.or": lambda b, x, y, u: b.or_(x, y),
    "graph.xor": lambda b, x, y, u: b.arith("xori", x, y),
    "graph.equal": lambda b, x, y, u: b.eq(x, y),
    "graph.less": lambda b, x, y, u: compare(b, "lt", x, y, u),
    "graph.less_or_equal": lambda b, x, y, u: compare(b, "le", x, y, u),
    "graph.greater": lambda b, x, y, u: compare(b, "gt", x, y, u),
    "graph.greater_or_equal": lambda b, x, y, u: compare(b, "ge", x, y, u),
}

for _name, _fn in _BINARY.items():
    lowers(_name)(_binary(_fn))


@lowers("graph.mod")
def mod(kb, op, inputs):
    """fmod = 1: C's remainder (remf, remsi, remui). fmod = 0: numpy's floored mod,
    the remainder moved to the divisor's sign (a zero takes the divisor's sign for floats);
    f16 computes in f32 as numpy's half divmod does."""
    fmod = attrs(op).fmod
    unsigned = is_unsigned(op.operands[0])
    element = out_type(op).element_type

    def body(b, x, y):
        if is_float(element):
            wide = wide_type(element)
            x, y = convert(b, x, wide), convert(b, y, wide)
            r = b.mod(x, y)
            if not fmod:
                moved = b.select(b.ne(b.lt(y, 0.0), b.lt(r, 0.0)), b.add(r, y), r)
                r = b.select(b.ne(r, 0.0), moved, b.math("copysign", 0.0, y))
            return convert(b, r, element)
        if unsigned:
            return b.arith("remui", x, y)
        r = b.arith("remsi", x, y)
        if fmod:
            return r
        moves = b.and_(b.ne(r, 0), b.ne(b.lt(r, 0), b.lt(y, 0)))
        return b.select(moves, b.add(r, y), r)
    return [broadcast_compute(kb, op, inputs, body)]


def type_of_dtype(dtype) -> object:
    """The signless te element type holding numpy `dtype` (bool is i1)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return i1
    if dtype.kind == "f":
        return {2: f16, 4: f32, 8: f64}[dtype.itemsize]
    return IntegerType(dtype.itemsize * 8)


@lowers("graph.pow")
def pow_(kb, op, inputs):
    """Integers: math.ipowi in the base's type. Otherwise numpy's np.power: both sides in
    their common type (np.result_type), then converted to the base's type."""
    base_t, exponent_t = (v.type.element_type for v in op.operands)
    base_unsigned, exponent_unsigned = (is_unsigned(v) for v in op.operands)
    element = out_type(op).element_type
    if not is_float(base_t) and not is_float(exponent_t):
        def body(b, x, e):
            return b.math("ipowi", x, convert(b, e, element, exponent_unsigned))
    else:
        # numpy_dtype reads bf16 as f32, as the graph stores it
        common = type_of_dtype(np.result_type(numpy_dtype(base_t), numpy_dtype(exponent_t)))

        def body(b, x, e):
            x, e = convert(b, x, common, base_unsigned), convert(b, e, common, exponent_unsigned)
            return convert(b, b.math("powf", x, e), element, to_unsigned=base_unsigned)
    return [broadcast_compute(kb, op, inputs, body)]


@lowers("graph.bitshift")
def bitshift(kb, op, inputs):
    """Shifts by at least the width (or by a negative amount) shift every bit out: 0, or
    the sign for an arithmetic right shift. The arith shift itself only sees valid amounts."""
    left = attrs(op).direction == "left"
    unsigned = is_unsigned(op.operands[0])

    def body(b, x, amount):
        valid = b.arith("cmpi", amount, x.type.width, predicate="ult")
        amount = b.select(valid, amount, 0)
        if left:
            return b.select(valid, b.arith("shli", x, amount), 0)
        if unsigned:
            return b.select(valid, b.arith("shrui", x, amount), 0)
        fill = b.select(b.lt(x, 0), -1, b.const(0, x.type))
        return b.select(valid, b.arith("shrsi", x, amount), fill)
    return [broadcast_compute(kb, op, inputs, body)]


@lowers("graph.prelu")
def prelu(kb, op, inputs):
    def body(b, x, slope):
        return b.select(b.lt(x, 0.0 if is_float(x.type) else 0), b.mul(slope, x), x)
    return [broadcast_compute(kb, op, inputs, body)]


@lowers("graph.swiglu")
def swiglu(kb, op, inputs):
    alpha = attrs(op).alpha
    return [widened_compute(kb, op, inputs, lambda b, g, v: b.mul(swish_of(b, g, alpha), v))]


@lowers("graph.clip")
def clip(kb, op, inputs):
    unsigned = is_unsigned(op.operands[0])
    return [broadcast_compute(kb, op, inputs, lambda b, x, low, high: minimum(
        b, maximum(b, x, low, unsigned), high, unsigned))]


@lowers("graph.where")
def where(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, c, x, y: b.select(c, x, y))]
