"""graph: elementwise ops — unary math and activations, binary arithmetic with numpy
broadcasting, comparisons and logic (to i1), select, clip and casts.

Integers wrap modulo 2^width, as in ONNX and numpy. Composite float functions on f16
compute in f32 and round once (numpy's half loops round after every step); bf16 values
are stored as f32 and only `graph.cast` rounds to bf16."""

from __future__ import annotations

import math

import numpy as np

from descend.ir import FloatType, IntegerType, TensorType, Type, numpy_dtype, operand, result
from descend.ir.interpreter import Poison

from .base import (BOOL, GraphOp, Kind, ShapeError, broadcast_shapes, element_of, float_, int_,
                   same_elements, shape_text, string, tensor, type_)

# ---- element categories ---------------------------------------------------------------------

FLOAT, SIGNED, UNSIGNED, LOGICAL = "float", "signed", "unsigned", "bool"
NARROW_FLOAT = "narrow float"  # 8- and 4-bit floats: storage types that only graph.cast computes on
NARROW_INT = "narrow integer"  # 4- and 2-bit integers (stored in 8 bits): also only for graph.cast
_NARROW_FLOATS = ("f8E4M3FN", "f8E4M3FNUZ", "f8E5M2", "f8E5M2FNUZ", "f4E2M1FN")
INTEGER = (SIGNED, UNSIGNED)
NUMERIC = (FLOAT, SIGNED, UNSIGNED)
ANY = (FLOAT, SIGNED, UNSIGNED, LOGICAL)
_NAMES = {FLOAT: "float", SIGNED: "signed integer", UNSIGNED: "unsigned integer", LOGICAL: "i1",
          NARROW_FLOAT: "8- or 4-bit float", NARROW_INT: "4- or 2-bit integer"}


def category(element: Type) -> str | None:
    """float / signed / unsigned / bool, or None for elements graph ops do not compute on
    (index, odd-width integers, f80)."""
    if isinstance(element, FloatType):
        if element.name in _NARROW_FLOATS:
            return NARROW_FLOAT
        return FLOAT if element.name in ("f16", "bf16", "f32", "f64") else None
    if isinstance(element, IntegerType):
        if element.width == 1:
            return LOGICAL
        if element.width in (8, 16, 32, 64):
            return UNSIGNED if element.signedness == "u" else SIGNED
        if element.width in (2, 4):
            return NARROW_INT
    return None


def check_elements(t: Type, accepts: tuple[str, ...], what: str = "operand") -> None:
    if category(element_of(t)) not in accepts:
        kinds = " or ".join(_NAMES[c] for c in accepts)
        raise ShapeError(f"expects {kinds} elements for the {what}, got {t}")


# ---- numeric helpers ------------------------------------------------------------------------

def widened(fn, x, *args):
    """fn(x, *args) computed in f32 when x is f16 (one rounding at the end), in x's dtype."""
    x = np.asarray(x)
    wide = x.astype(np.float32) if x.dtype == np.float16 else x
    return np.asarray(fn(wide, *args)).astype(x.dtype)


_ERF = np.vectorize(math.erf, otypes=[np.float64])


def erf(x):
    x = np.asarray(x)
    return _ERF(x).astype(x.dtype) if x.size else x.copy()


def round_to_bf16(x) -> np.ndarray:
    """f32 values rounded to the nearest bf16 (ties to even), still stored as f32."""
    x = np.asarray(x, np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), np.float32("nan"), rounded)


def cast_array(x, element: Type, saturate: bool = True) -> np.ndarray:
    """ONNX's Cast on numpy values: float -> int truncates toward zero (to a 2- or 4-bit int,
    out of range is 0), anything -> i1 is `!= 0`, int -> int wraps, narrowing floats round
    to nearest even. To an 8- or 4-bit
    float, `saturate` clamps out-of-range values (and infinities) to the largest finite
    value; without it they become inf, or NaN where the type has no inf."""
    x = np.asarray(x)
    dtype = numpy_dtype(element)
    if dtype == np.bool_:
        return x != 0
    if category(element) == NARROW_FLOAT:
        import ml_dtypes
        wide = x.astype(np.float32) if x.dtype.kind != "f" or x.dtype.itemsize < 4 else x
        if saturate:
            info = ml_dtypes.finfo(dtype)
            wide = np.clip(wide, float(info.min), float(info.max))
        with np.errstate(all="ignore"):
            return wide.astype(dtype)
    if category(element) == NARROW_INT and x.dtype.kind == "f":
        # float -> 2/4-bit int: a value out of the type's range becomes 0, as onnx's
        # reference (and its node tests' data, onnx 1.23) gives; in range it truncates
        bits = element.width
        low, high = (0, (1 << bits) - 1) if element.signedness == "u" else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        with np.errstate(all="ignore"):
            wide = np.trunc(x.astype(np.float64))
            inside = (wide >= low) & (wide <= high)
            return np.where(inside, wide, 0).astype(np.int64).astype(dtype)
    with np.errstate(all="ignore"):
        y = x.astype(dtype)
    if category(element) == NARROW_INT:  # wrap to the narrow width, as the 8-bit storage does not
        bits = element.width
        y = y & np.asarray((1 << bits) - 1, dtype)
        if element.signedness != "u":
            y = np.where(y >= (1 << (bits - 1)), y - (1 << bits), y).astype(dtype)
    if isinstance(element, FloatType) and element.name == "bf16":
        y = round_to_bf16(y)
    return y


def _nonzero(b):
    return np.where(b == 0, np.ones_like(b), b)


def int_divide(a, b):
    """a / b truncated toward zero (C, ONNX), in integer arithmetic; x / 0 gives 0 here
    and is undefined behaviour (see DivOp.undefined_behavior)."""
    safe = _nonzero(b)
    q = np.floor_divide(a, safe)
    r = np.remainder(a, safe)
    return q + ((r != 0) & ((a < 0) ^ (safe < 0))).astype(q.dtype)


def int_power(base, exponent):
    """base ** exponent in base's integer type, wrapping; a negative exponent truncates
    1 / base ** -e toward zero (0 unless |base| is 1)."""
    base, exponent = np.broadcast_arrays(np.asarray(base), np.asarray(exponent))
    negative = exponent < 0
    e = np.where(negative, 0, exponent).astype(np.uint64)
    out = np.ones(base.shape, base.dtype)
    square = base.copy()
    while np.any(e):
        out = np.where(e & np.uint64(1), out * square, out)
        square = square * square
        e = e >> np.uint64(1)
    if np.any(negative):
        odd = (np.abs(exponent.astype(np.int64)) % 2) == 1
        inverse = np.where(base == 1, 1, np.where(base == -1, np.where(odd, -1, 1), 0)).astype(base.dtype)
        out = np.where(negative, inverse, out)
    return out


def shift(a, b, left: bool):
    """a << b or a >> b (arithmetic for signed a) with ONNX's reading of shifts by
    a negative amount or by the width or more: every bit shifted out."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    a = np.ascontiguousarray(a)
    bits = a.dtype.itemsize * 8
    valid = (b >= 0) & (b < bits)
    unsigned = np.dtype(f"u{a.dtype.itemsize}")
    amount = np.where(valid, b, 0).astype(unsigned)
    if left:
        shifted = np.left_shift(a.view(unsigned), amount).view(a.dtype)
        return np.where(valid, shifted, np.zeros((), a.dtype))
    shifted = np.right_shift(a, amount.astype(a.dtype))
    fill = np.where(a < 0, -1, 0).astype(a.dtype) if a.dtype.kind == "i" else np.zeros((), a.dtype)
    return np.where(valid, shifted, fill)


# ---- unary ----------------------------------------------------------------------------------

class Unary(GraphOp):
    """Base of `y = f(x)` with y's type x's type (i1 when `result_bool`)."""

    x = operand(TensorType)
    y = result(TensorType)
    kind = Kind.ELEMWISE
    accepts = ANY
    result_bool = False

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        check_elements(t, cls.accepts)
        return [tensor(t.shape, BOOL) if cls.result_bool else t]


class FloatUnary(Unary):
    accepts = (FLOAT,)


def _unary(class_name: str, op_name: str, doc: str, fn, accepts=(FLOAT,)) -> type:
    """A parameterless unary op whose reference is the numpy function `fn`."""
    return type(class_name, (Unary,), {
        "__doc__": doc, "name": op_name, "accepts": accepts,
        "reference": staticmethod(lambda x: fn(np.asarray(x))), "__module__": __name__})


NegOp = _unary("NegOp", "graph.neg", "-x (integers wrap).", np.negative, (FLOAT, SIGNED))
AbsOp = _unary("AbsOp", "graph.abs", "|x| (the most negative integer stays itself).", np.abs, NUMERIC)
ExpOp = _unary("ExpOp", "graph.exp", "e^x.", np.exp)
LogOp = _unary("LogOp", "graph.log", "The natural logarithm of x.", np.log)
SqrtOp = _unary("SqrtOp", "graph.sqrt", "The square root of x.", np.sqrt)
ReciprocalOp = _unary("ReciprocalOp", "graph.reciprocal", "1 / x.", np.reciprocal)
TanhOp = _unary("TanhOp", "graph.tanh", "The hyperbolic tangent of x.", np.tanh)
ErfOp = _unary("ErfOp", "graph.erf", "The Gauss error function of x.", erf)
SinOp = _unary("SinOp", "graph.sin", "sin x.", np.sin)
CosOp = _unary("CosOp", "graph.cos", "cos x.", np.cos)
TanOp = _unary("TanOp", "graph.tan", "tan x.", np.tan)
AsinOp = _unary("AsinOp", "graph.asin", "arcsin x.", np.arcsin)
AcosOp = _unary("AcosOp", "graph.acos", "arccos x.", np.arccos)
AtanOp = _unary("AtanOp", "graph.atan", "arctan x.", np.arctan)
SinhOp = _unary("SinhOp", "graph.sinh", "sinh x.", np.sinh)
CoshOp = _unary("CoshOp", "graph.cosh", "cosh x.", np.cosh)
AsinhOp = _unary("AsinhOp", "graph.asinh", "arsinh x.", np.arcsinh)
AcoshOp = _unary("AcoshOp", "graph.acosh", "arcosh x.", np.arccosh)
AtanhOp = _unary("AtanhOp", "graph.atanh", "artanh x.", np.arctanh)
FloorOp = _unary("FloorOp", "graph.floor", "The largest integer not above x.", np.floor)
CeilOp = _unary("CeilOp", "graph.ceil", "The smallest integer not below x.", np.ceil)
RoundOp = _unary("RoundOp", "graph.round", "x rounded to the nearest integer, ties to even.", np.round)
SignOp = _unary("SignOp", "graph.sign", "-1, 0 or 1 as x is negative, zero or positive (NaN stays NaN).",
                np.sign, NUMERIC)
NotOp = _unary("NotOp", "graph.not", "Logical negation of an i1 tensor.", np.logical_not, (LOGICAL,))
BitwiseNotOp = _unary("BitwiseNotOp", "graph.bitwise_not", "~x, every bit flipped.", np.invert, INTEGER)
IdentityOp = _unary("IdentityOp", "graph.identity", "x itself.", lambda x: x, ANY)


class ReluOp(Unary):
    """max(x, 0)."""

    name = "graph.relu"
    accepts = (FLOAT, SIGNED)

    @staticmethod
    def reference(x):
        return np.maximum(x, np.zeros((), np.asarray(x).dtype))


class SigmoidOp(FloatUnary):
    """1 / (1 + e^-x)."""

    name = "graph.sigmoid"

    @staticmethod
    def reference(x):
        # two branches so neither exponential overflows
        return widened(lambda v: np.where(v >= 0, 1 / (1 + np.exp(-np.abs(v))),
                                          np.exp(-np.abs(v)) / (1 + np.exp(-np.abs(v)))), x)


class LeakyReluOp(FloatUnary):
    """x if x >= 0 else alpha * x."""

    name = "graph.leaky_relu"
    alpha = float_(0.01)

    @staticmethod
    def reference(x, *, alpha=0.01):
        return widened(lambda v: np.where(v < 0, alpha * v, v), x)


class GeluOp(FloatUnary):
    """x * Phi(x) with Phi the standard normal CDF; `approximate = "tanh"` uses
    0.5 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) for Phi."""

    name = "graph.gelu"
    approximate = string("none")

    @classmethod
    def infer(cls, types, attrs):
        if attrs.approximate not in ("none", "tanh"):
            raise ShapeError(f"approximate must be \"none\" or \"tanh\", got \"{attrs.approximate}\"")
        return super().infer(types, attrs)

    @staticmethod
    def reference(x, *, approximate="none"):
        if approximate == "tanh":
            return widened(lambda v: 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))), x)
        return widened(lambda v: 0.5 * v * (1 + erf(v / math.sqrt(2))), x)


class EluOp(FloatUnary):
    """x if x >= 0 else alpha * (e^x - 1)."""

    name = "graph.elu"
    alpha = float_(1.0)

    @staticmethod
    def reference(x, *, alpha=1.0):
        return widened(lambda v: np.where(v < 0, alpha * np.expm1(np.minimum(v, 0)), v), x)


class SeluOp(FloatUnary):
    """gamma * (x if x > 0 else alpha * (e^x - 1))."""

    name = "graph.selu"
    alpha = float_(1.67326319217681884765625)
    gamma = float_(1.05070102214813232421875)

    @staticmethod
    def reference(x, *, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
        return widened(lambda v: gamma * np.where(v > 0, v, alpha * np.expm1(np.minimum(v, 0))), x)


class CeluOp(FloatUnary):
    """max(0, x) + min(0, alpha * (e^(x / alpha) - 1))."""

    name = "graph.celu"
    alpha = float_(1.0)

    @staticmethod
    def reference(x, *, alpha=1.0):
        return widened(lambda v: np.maximum(v, 0) + np.minimum(0, alpha * np.expm1(np.minimum(v, 0) / alpha)), x)


class HardSigmoidOp(FloatUnary):
    """max(0, min(1, alpha * x + beta))."""

    name = "graph.hard_sigmoid"
    alpha = float_(0.2)
    beta = float_(0.5)

    @staticmethod
    def reference(x, *, alpha=0.2, beta=0.5):
        return widened(lambda v: np.clip(alpha * v + beta, 0, 1), x)


class HardSwishOp(FloatUnary):
    """x * max(0, min(1, x / 6 + 1 / 2))."""

    name = "graph.hard_swish"

    @staticmethod
    def reference(x):
        return widened(lambda v: v * np.clip(v / 6 + 0.5, 0, 1), x)


class SoftplusOp(FloatUnary):
    """ln(1 + e^x)."""

    name = "graph.softplus"

    @staticmethod
    def reference(x):
        return widened(lambda v: np.logaddexp(0, v), x)


class SoftsignOp(FloatUnary):
    """x / (1 + |x|)."""

    name = "graph.softsign"

    @staticmethod
    def reference(x):
        return widened(lambda v: v / (1 + np.abs(v)), x)


class MishOp(FloatUnary):
    """x * tanh(ln(1 + e^x))."""

    name = "graph.mish"

    @staticmethod
    def reference(x):
        return widened(lambda v: v * np.tanh(np.logaddexp(0, v)), x)


def _swish(v, alpha):
    """v * sigmoid(alpha * v), with neither exponential overflowing."""
    e = np.exp(-np.abs(alpha * v))
    return v * np.where(alpha * v >= 0, 1 / (1 + e), e / (1 + e))


class SwishOp(FloatUnary):
    """x * sigmoid(alpha * x) (SiLU when alpha is 1)."""

    name = "graph.swish"
    alpha = float_(1.0)

    @staticmethod
    def reference(x, *, alpha=1.0):
        return widened(lambda v: _swish(v, alpha), x)


class ThresholdedReluOp(FloatUnary):
    """x if x > alpha else 0."""

    name = "graph.thresholded_relu"
    alpha = float_(1.0)

    @staticmethod
    def reference(x, *, alpha=1.0):
        return widened(lambda v: np.where(v > alpha, v, 0), x)


class ShrinkOp(Unary):
    """x + bias if x < -lambd, x - bias if x > lambd, else 0 (integers: computed in f64,
    truncated back)."""

    name = "graph.shrink"
    accepts = NUMERIC
    bias = float_(0.0)
    lambd = float_(0.5)

    @staticmethod
    def reference(x, *, bias=0.0, lambd=0.5):
        x = np.asarray(x)
        wide = x.astype(np.float64) if x.dtype.kind in "iu" else x
        out = widened(lambda v: np.where(v < -lambd, v + bias, np.where(v > lambd, v - bias, 0)), wide)
        return cast_array(out, _element_of_dtype(x.dtype))


class IsNanOp(FloatUnary):
    """Whether x is NaN (i1)."""

    name = "graph.is_nan"
    result_bool = True

    @staticmethod
    def reference(x):
        return np.isnan(x)


class IsInfOp(FloatUnary):
    """Whether x is +inf (when detect_positive) or -inf (when detect_negative), as i1."""

    name = "graph.is_inf"
    result_bool = True
    detect_positive = int_(1)
    detect_negative = int_(1)

    @staticmethod
    def reference(x, *, detect_positive=1, detect_negative=1):
        return (np.isposinf(x) & bool(detect_positive)) | (np.isneginf(x) & bool(detect_negative))


class DropoutOp(Unary):
    """x itself: dropout at inference (`ratio` is the training-time drop probability)."""

    name = "graph.dropout"
    accepts = (FLOAT,)
    ratio = float_(0.5)

    @staticmethod
    def reference(x, *, ratio=0.5):
        return x


class CastOp(Unary):
    """x converted to the element type `to` as ONNX's Cast: float -> integer truncates toward
    zero (out of range is poison), anything -> i1 is x != 0, integers wrap, floats round
    to nearest even."""

    name = "graph.cast"
    to = type_()
    saturate = int_(1, doc="to an 8- or 4-bit float: 1 clamps out-of-range values to the largest "
                           "finite one, 0 gives inf or NaN (ONNX's saturate)")

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        check_elements(t, ANY + (NARROW_FLOAT, NARROW_INT))
        if category(attrs.to) is None:
            raise ShapeError(f"cannot cast to {attrs.to}: expects a float, i1 or 8/16/32/64-bit integer type")
        return [tensor(t.shape, attrs.to)]

    @staticmethod
    def reference(x, *, to, saturate=1):
        return cast_array(x, to, bool(saturate))

    def undefined_behavior(self, args, results):
        (x,) = args
        x = np.asarray(x)
        target = element_of(self.y.type)
        if x.dtype.kind != "f" or category(target) not in INTEGER:
            return None
        info = np.iinfo(numpy_dtype(target))
        whole = np.trunc(x.astype(np.float64))
        if np.any(~np.isfinite(whole) | (whole < info.min) | (whole >= float(info.max) + 1)):
            return Poison(f"cast to {target} out of range")
        return None


def _element_of_dtype(dtype: np.dtype) -> Type:
    if dtype == np.bool_:
        return BOOL
    if dtype.kind == "f":
        return FloatType({2: "f16", 4: "f32", 8: "f64"}[dtype.itemsize])
    return IntegerType(dtype.itemsize * 8, "u" if dtype.kind == "u" else "")


# ---- binary -----------------------------------------------------------------------------------

class Binary(GraphOp):
    """Base of `out = f(lhs, rhs)` with numpy broadcasting; both sides share an element type."""

    lhs = operand(TensorType)
    rhs = operand(TensorType)
    out = result(TensorType)
    kind = Kind.BROADCAST
    accepts = NUMERIC
    result_bool = False   # comparisons and logic give i1

    @classmethod
    def infer(cls, types, attrs):
        element = same_elements(types)
        check_elements(types[0], cls.accepts)
        shape = broadcast_shapes(types[0].shape, types[1].shape)
        return [tensor(shape, BOOL if cls.result_bool else element)]


def _binary(class_name: str, op_name: str, doc: str, fn, accepts=NUMERIC, result_bool=False) -> type:
    """A parameterless binary op whose reference is the numpy function `fn`."""
    return type(class_name, (Binary,), {
        "__doc__": doc, "name": op_name, "accepts": accepts, "result_bool": result_bool,
        "reference": staticmethod(lambda lhs, rhs: fn(np.asarray(lhs), np.asarray(rhs))),
        "__module__": __name__})


AddOp = _binary("AddOp", "graph.add", "lhs + rhs, broadcast (integers wrap).", np.add)
SubOp = _binary("SubOp", "graph.sub", "lhs - rhs, broadcast (integers wrap).", np.subtract)
MulOp = _binary("MulOp", "graph.mul", "lhs * rhs, broadcast (integers wrap).", np.multiply)
MaxOp = _binary("MaxOp", "graph.max", "The larger of lhs and rhs, broadcast (NaN if either is).", np.maximum)
MinOp = _binary("MinOp", "graph.min", "The smaller of lhs and rhs, broadcast (NaN if either is).", np.minimum)
BitwiseAndOp = _binary("BitwiseAndOp", "graph.bitwise_and", "lhs & rhs bit by bit, broadcast.",
                       np.bitwise_and, INTEGER)
BitwiseOrOp = _binary("BitwiseOrOp", "graph.bitwise_or", "lhs | rhs bit by bit, broadcast.",
                      np.bitwise_or, INTEGER)
BitwiseXorOp = _binary("BitwiseXorOp", "graph.bitwise_xor", "lhs ^ rhs bit by bit, broadcast.",
                       np.bitwise_xor, INTEGER)
AndOp = _binary("AndOp", "graph.and", "Logical and of i1 tensors, broadcast.", np.logical_and, (LOGICAL,), True)
OrOp = _binary("OrOp", "graph.or", "Logical or of i1 tensors, broadcast.", np.logical_or, (LOGICAL,), True)
XorOp = _binary("XorOp", "graph.xor", "Logical exclusive or of i1 tensors, broadcast.", np.logical_xor,
                (LOGICAL,), True)
EqualOp = _binary("EqualOp", "graph.equal", "lhs == rhs (i1), broadcast.", np.equal, ANY, True)
LessOp = _binary("LessOp", "graph.less", "lhs < rhs (i1), broadcast.", np.less, NUMERIC, True)
LessOrEqualOp = _binary("LessOrEqualOp", "graph.less_or_equal", "lhs <= rhs (i1), broadcast.",
                        np.less_equal, NUMERIC, True)
GreaterOp = _binary("GreaterOp", "graph.greater", "lhs > rhs (i1), broadcast.", np.greater, NUMERIC, True)
GreaterOrEqualOp = _binary("GreaterOrEqualOp", "graph.greater_or_equal", "lhs >= rhs (i1), broadcast.",
                           np.greater_equal, NUMERIC, True)


def _integer_division_ub(op, args, overflow: bool):
    lhs, rhs = (np.asarray(a) for a in args)
    if rhs.dtype.kind not in "iu":
        return None
    if np.any(rhs == 0):
        return "integer division by zero"
    if overflow and rhs.dtype.kind == "i":
        low = np.iinfo(lhs.dtype).min
        if np.any((lhs == low) & (rhs == -1)):
            return "signed division overflow (the minimum value divided by -1)"
    return None


class DivOp(Binary):
    """lhs / rhs, broadcast; integer division truncates toward zero (x / 0 is undefined)."""

    name = "graph.div"

    @staticmethod
    def reference(lhs, rhs):
        lhs, rhs = np.asarray(lhs), np.asarray(rhs)
        if lhs.dtype.kind in "iu":
            return int_divide(lhs, rhs)
        return np.divide(lhs, rhs)

    def undefined_behavior(self, args, results):
        return _integer_division_ub(self, args, overflow=True)


class ModOp(Binary):
    """The remainder of lhs / rhs, broadcast: with the divisor's sign (floored, Python's %)
    when fmod = 0, with the dividend's (truncated, C's fmod) when fmod = 1."""

    name = "graph.mod"
    fmod = int_(0)

    @staticmethod
    def reference(lhs, rhs, *, fmod=0):
        lhs, rhs = np.asarray(lhs), np.asarray(rhs)
        if lhs.dtype.kind in "iu":
            rhs = _nonzero(rhs)
        return np.fmod(lhs, rhs) if fmod else np.mod(lhs, rhs)

    def undefined_behavior(self, args, results):
        return _integer_division_ub(self, args, overflow=False)


class PowOp(Binary):
    """lhs ** rhs, broadcast, in lhs's element type; the exponent's type may differ (ONNX):
    mixed types compute in numpy's common type and convert back; integer powers wrap."""

    name = "graph.pow"

    @classmethod
    def infer(cls, types, attrs):
        check_elements(types[0], NUMERIC, "base")
        check_elements(types[1], NUMERIC, "exponent")
        return [tensor(broadcast_shapes(types[0].shape, types[1].shape), element_of(types[0]))]

    @staticmethod
    def reference(lhs, rhs):
        lhs, rhs = np.asarray(lhs), np.asarray(rhs)
        if lhs.dtype.kind in "iu" and rhs.dtype.kind in "iu":
            return int_power(lhs, rhs)
        with np.errstate(all="ignore"):
            return np.power(lhs, rhs).astype(lhs.dtype)

    def undefined_behavior(self, args, results):
        lhs, rhs = (np.asarray(a) for a in args)
        if lhs.dtype.kind in "iu" and rhs.dtype.kind in "iu" and np.any((lhs == 0) & (rhs < 0)):
            return "zero to a negative integer power"
        if lhs.dtype.kind in "iu" and rhs.dtype.kind == "f":
            info = np.iinfo(lhs.dtype)
            with np.errstate(all="ignore"):
                real = np.trunc(np.power(lhs.astype(np.float64), rhs.astype(np.float64)))
            if np.any(~np.isfinite(real) | (real < info.min) | (real >= float(info.max) + 1)):
                return Poison("integer power out of range")
        return None


class BitShiftOp(Binary):
    """lhs shifted left or right (`direction`) by rhs bits, broadcast; right shifts of
    signed integers are arithmetic, and shifting by the width or more (or by a negative
    amount) shifts every bit out."""

    name = "graph.bitshift"
    accepts = INTEGER
    direction = string()

    @classmethod
    def infer(cls, types, attrs):
        if attrs.direction not in ("left", "right"):
            raise ShapeError(f"direction must be \"left\" or \"right\", got \"{attrs.direction}\"")
        return super().infer(types, attrs)

    @staticmethod
    def reference(lhs, rhs, *, direction):
        return shift(lhs, rhs, direction == "left")


class PReluOp(GraphOp):
    """x if x >= 0 else slope * x, slope broadcast to x's shape (never the other way)."""

    name = "graph.prelu"
    x = operand(TensorType)
    slope = operand(TensorType)
    y = result(TensorType)
    kind = Kind.BROADCAST

    @classmethod
    def infer(cls, types, attrs):
        x, slope = types
        same_elements(types)
        check_elements(x, (FLOAT, SIGNED))
        if broadcast_shapes(x.shape, slope.shape) != x.shape:
            raise ShapeError(f"slope [{shape_text(slope.shape)}] does not broadcast to x [{shape_text(x.shape)}]")
        return [x]

    @staticmethod
    def reference(x, slope):
        x = np.asarray(x)
        return np.where(x < 0, np.asarray(slope) * x, x)


class SwiGluOp(GraphOp):
    """gate * sigmoid(alpha * gate) * value, elementwise over two tensors of one type."""

    name = "graph.swiglu"
    gate = operand(TensorType)
    value = operand(TensorType)
    y = result(TensorType)
    alpha = float_(1.0)
    kind = Kind.ELEMWISE

    @classmethod
    def infer(cls, types, attrs):
        gate, value = types
        check_elements(gate, (FLOAT,), "gate")
        if gate != value:
            raise ShapeError(f"gate {gate} and value {value} must have one type (no broadcasting)")
        return [gate]

    @staticmethod
    def reference(gate, value, *, alpha=1.0):
        return widened(lambda g, v: _swish(g, alpha) * v, gate, np.asarray(value, np.float32)
                       if np.asarray(value).dtype == np.float16 else value)


class ClipOp(GraphOp):
    """min(max(x, low), high): x's shape and type, low and high broadcast to x (when low >
    high every element is high). Unbounded sides are -inf/+inf or the integer extremes."""

    name = "graph.clip"
    x = operand(TensorType)
    low = operand(TensorType)
    high = operand(TensorType)
    y = result(TensorType)
    kind = Kind.BROADCAST

    @classmethod
    def infer(cls, types, attrs):
        x, low, high = types
        same_elements(types)
        check_elements(x, NUMERIC)
        for what, bound in (("low", low), ("high", high)):
            if broadcast_shapes(x.shape, bound.shape) != x.shape:
                raise ShapeError(f"{what} [{shape_text(bound.shape)}] does not broadcast to x [{shape_text(x.shape)}]")
        return [x]

    @staticmethod
    def reference(x, low, high):
        return np.minimum(np.maximum(x, low), high)


class WhereOp(GraphOp):
    """x where condition holds, else y; all three broadcast together."""

    name = "graph.where"
    condition = operand(TensorType)
    x = operand(TensorType)
    y = operand(TensorType)
    out = result(TensorType)
    kind = Kind.BROADCAST

    @classmethod
    def infer(cls, types, attrs):
        condition, x, y = types
        check_elements(condition, (LOGICAL,), "condition")
        element = same_elements([x, y], "x and y")
        check_elements(x, ANY)
        return [tensor(broadcast_shapes(condition.shape, x.shape, y.shape), element)]

    @staticmethod
    def reference(condition, x, y):
        return np.where(condition, x, y)
