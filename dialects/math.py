"""math: elementary functions on floats (and a few bit-counting ones on integers), MLIR's
math dialect: `%y = math.exp %x : f32`, with optional `fastmath<...>` like arith."""

from __future__ import annotations

import math as _math

import numpy as np

from ..ir import (Dialect, FloatLike, IntegerOrIndexLike, Operation, Pure,
                  SameOperandsAndResultType, attribute, operand, result)
from .arith.attrs import FASTMATH, FASTMATH_NONE, FastMathFlagsAttr
from .arith import undefined
from .arith.ops import fold_constants
from .numeric import signed, unsigned

_erf = np.vectorize(_math.erf, otypes=[np.float64])
_erfc = np.vectorize(_math.erfc, otypes=[np.float64])


def _in_precision(fn):
    """Compute in float64 where numpy lacks the function for small floats, round back."""
    def apply(x):
        x = np.asarray(x)
        return fn(x.astype(np.float64)).astype(x.dtype)
    return apply


class _Unary(Operation):
    operand_ = operand(FloatLike)
    result = result(FloatLike)
    fastmath = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    traits = (Pure(), SameOperandsAndResultType())
    custom_directives = FASTMATH
    assembly = "$operand_ custom<FastMath>($fastmath) attr-dict `:` type($result)"
    undefined_behavior = undefined.fastmath

    def fold(self):
        return fold_constants(self)


class _Binary(Operation):
    lhs = operand(FloatLike)
    rhs = operand(FloatLike)
    result = result(FloatLike)
    fastmath = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    traits = (Pure(), SameOperandsAndResultType())
    custom_directives = FASTMATH
    assembly = "$lhs `,` $rhs custom<FastMath>($fastmath) attr-dict `:` type($result)"
    undefined_behavior = undefined.fastmath

    def fold(self):
        return fold_constants(self)


class _IntUnary(Operation):
    operand_ = operand(IntegerOrIndexLike)
    result = result(IntegerOrIndexLike)
    traits = (Pure(), SameOperandsAndResultType())
    assembly = "$operand_ attr-dict `:` type($result)"

    def fold(self):
        return fold_constants(self)


def _unary(class_name: str, mnemonic: str, doc: str, fn) -> type:
    """One float unary op: the docstring is its meaning, `fn` its numpy reference."""
    return type(class_name, (_Unary,), {"name": f"math.{mnemonic}", "__doc__": doc,
                                        "reference": staticmethod(fn), "__module__": __name__})


_UNARY = [
    ("AbsFOp", "absf", "Absolute value.", np.abs),
    ("CeilOp", "ceil", "Rounds up to an integral value.", np.ceil),
    ("FloorOp", "floor", "Rounds down to an integral value.", np.floor),
    ("RoundOp", "round", "Rounds to the nearest integral value, halfway cases away from zero.",
     lambda x: np.copysign(np.floor(np.abs(x) + np.asarray(0.5, np.asarray(x).dtype)), x)),
    ("RoundEvenOp", "roundeven", "Rounds to the nearest integral value, halfway cases to even.", np.rint),
    ("TruncOp", "trunc", "Rounds toward zero to an integral value.", np.trunc),
    ("SqrtOp", "sqrt", "Square root.", np.sqrt),
    ("RsqrtOp", "rsqrt", "Reciprocal of the square root.",
     lambda x: np.divide(np.asarray(1, np.asarray(x).dtype), np.sqrt(x))),
    ("CbrtOp", "cbrt", "Cube root.", np.cbrt),
    ("ExpOp", "exp", "e raised to the operand.", np.exp),
    ("Exp2Op", "exp2", "2 raised to the operand.", np.exp2),
    ("ExpM1Op", "expm1", "exp(x) - 1, accurate near zero.", np.expm1),
    ("LogOp", "log", "Natural logarithm.", np.log),
    ("Log2Op", "log2", "Base-2 logarithm.", np.log2),
    ("Log10Op", "log10", "Base-10 logarithm.", np.log10),
    ("Log1pOp", "log1p", "log(1 + x), accurate near zero.", np.log1p),
    ("SinOp", "sin", "Sine (radians).", np.sin),
    ("CosOp", "cos", "Cosine (radians).", np.cos),
    ("TanOp", "tan", "Tangent (radians).", np.tan),
    ("AsinOp", "asin", "Arcsine.", np.arcsin),
    ("AcosOp", "acos", "Arccosine.", np.arccos),
    ("AtanOp", "atan", "Arctangent.", np.arctan),
    ("SinhOp", "sinh", "Hyperbolic sine.", np.sinh),
    ("CoshOp", "cosh", "Hyperbolic cosine.", np.cosh),
    ("TanhOp", "tanh", "Hyperbolic tangent.", np.tanh),
    ("AsinhOp", "asinh", "Inverse hyperbolic sine.", np.arcsinh),
    ("AcoshOp", "acosh", "Inverse hyperbolic cosine.", np.arccosh),
    ("AtanhOp", "atanh", "Inverse hyperbolic tangent.", np.arctanh),
    ("ErfOp", "erf", "The Gauss error function.", _in_precision(_erf)),
    ("ErfcOp", "erfc", "The complementary error function, 1 - erf(x).", _in_precision(_erfc)),
]

for _class_name, _mnemonic, _doc, _fn in _UNARY:
    globals()[_class_name] = _unary(_class_name, _mnemonic, _doc, _fn)


class PowFOp(_Binary):
    """lhs raised to the power rhs."""

    name = "math.powf"

    @staticmethod
    def reference(lhs, rhs):
        return np.power(lhs, rhs)


class Atan2Op(_Binary):
    """The angle of the point (rhs, lhs): atan(lhs / rhs) in the right quadrant."""

    name = "math.atan2"

    @staticmethod
    def reference(lhs, rhs):
        return np.arctan2(lhs, rhs)


class CopySignOp(_Binary):
    """lhs with the sign of rhs."""

    name = "math.copysign"

    @staticmethod
    def reference(lhs, rhs):
        return np.copysign(lhs, rhs)


class FmaOp(Operation):
    """a * b + c with a single rounding."""

    name = "math.fma"
    a = operand(FloatLike)
    b = operand(FloatLike)
    c = operand(FloatLike)
    result = result(FloatLike)
    fastmath = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    traits = (Pure(), SameOperandsAndResultType())
    custom_directives = FASTMATH
    assembly = "$a `,` $b `,` $c custom<FastMath>($fastmath) attr-dict `:` type($result)"
    undefined_behavior = undefined.fastmath

    @staticmethod
    def reference(a, b, c):
        a = np.asarray(a)
        if a.dtype == np.float64:
            return a * b + c  # numpy has no fused multiply-add; f64 rounds twice here
        # f16/f32 products are exact in f64, so one rounding back gives the fused result.
        return (a.astype(np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(a.dtype)

    def fold(self):
        return fold_constants(self)


class AbsIOp(_IntUnary):
    """Absolute value of a signed integer (the minimum value maps to itself)."""

    name = "math.absi"

    @staticmethod
    def reference(operand_):
        return np.abs(signed(operand_))


def _bit_count(x) -> np.ndarray:
    x = unsigned(x)
    bits = x.dtype.itemsize * 8
    counts = np.zeros(x.shape, np.int64)
    for i in range(bits):
        counts += ((x >> np.asarray(i, x.dtype)) & np.asarray(1, x.dtype)).astype(np.int64)
    return counts


class CtPopOp(_IntUnary):
    """Number of set bits."""

    name = "math.ctpop"

    @staticmethod
    def reference(operand_):
        return _bit_count(operand_)


class CountLeadingZerosOp(_IntUnary):
    """Number of leading zero bits (the bit width for zero)."""

    name = "math.ctlz"

    @staticmethod
    def reference(operand_):
        x = unsigned(operand_)
        bits = x.dtype.itemsize * 8
        out = np.full(x.shape, bits, np.int64)
        for i in range(bits):  # the highest set bit wins: scan upward, overwrite
            out = np.where((x >> np.asarray(i, x.dtype)) & np.asarray(1, x.dtype), bits - 1 - i, out)
        return out


class CountTrailingZerosOp(_IntUnary):
    """Number of trailing zero bits (the bit width for zero)."""

    name = "math.cttz"

    @staticmethod
    def reference(operand_):
        x = unsigned(operand_)
        bits = x.dtype.itemsize * 8
        out = np.full(x.shape, bits, np.int64)
        for i in reversed(range(bits)):  # the lowest set bit wins: scan downward, overwrite
            out = np.where((x >> np.asarray(i, x.dtype)) & np.asarray(1, x.dtype), i, out)
        return out


class IPowIOp(Operation):
    """Signed integer power lhs ** rhs, wrapping; a negative exponent gives 0 unless the base
    is 1 or -1 (MLIR's expansion)."""

    name = "math.ipowi"
    lhs = operand(IntegerOrIndexLike)
    rhs = operand(IntegerOrIndexLike)
    result = result(IntegerOrIndexLike)
    traits = (Pure(), SameOperandsAndResultType())
    assembly = "$lhs `,` $rhs attr-dict `:` type($result)"

    @staticmethod
    def reference(lhs, rhs):
        base, exp = signed(lhs), signed(rhs)
        out = np.ones(np.broadcast(base, exp).shape, base.dtype)
        b = np.broadcast_to(base, out.shape).copy()
        e = np.broadcast_to(exp, out.shape).astype(np.int64)
        neg = e < 0
        ee = np.where(neg, 0, e)
        while np.any(ee > 0):  # square-and-multiply, wrapping in the integer type
            out = np.where(ee & 1, out * b, out)
            b = b * b
            ee = ee >> 1
        one = np.asarray(1, base.dtype)
        neg_result = np.where(base == one, one, np.where(base == -one, np.where(e & 1, -one, one), 0))
        return np.where(neg, neg_result, out)

    def fold(self):
        return fold_constants(self)


class FPowIOp(Operation):
    """A float raised to a signed integer power."""

    name = "math.fpowi"
    lhs = operand(FloatLike)
    rhs = operand(IntegerOrIndexLike)
    result = result(FloatLike)
    fastmath = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    traits = (Pure(),)
    custom_directives = FASTMATH
    assembly = "$lhs `,` $rhs custom<FastMath>($fastmath) attr-dict `:` type($lhs) `,` type($rhs)"
    undefined_behavior = undefined.fastmath

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [operands[0].type]

    def verify(self) -> None:
        if self.result.type != self.lhs.type:
            raise self.error(f"result type {self.result.type} must match base type {self.lhs.type}")

    @staticmethod
    def reference(lhs, rhs):
        x = np.asarray(lhs)
        return np.power(x, np.asarray(signed(rhs), np.float64).astype(x.dtype))

    def fold(self):
        return fold_constants(self)


OPS = [v for v in list(globals().values())
       if isinstance(v, type) and issubclass(v, Operation) and isinstance(v.__dict__.get("name"), str)]

MATH = Dialect("math", OPS, description="elementary functions")
