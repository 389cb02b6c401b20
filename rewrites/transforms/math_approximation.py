"""rewrites: `math-polynomial-approximation`: math.exp and math.erf on f32 vectors become
straight-line polynomial arithmetic (MLIR's math polynomial approximations, Cephes's and
Eigen's coefficients' kind).

Why: LLVM has no vector libm to call here, so a `math.exp : vector<8xf32>` (softmax, sigmoid)
or `math.erf` (GELU) is split into eight calls of expf/erff, each a function call with its
argument moved out of and back into a vector register. A polynomial keeps all eight lanes
in registers: a dozen fused multiply-adds.

Accuracy (checked against numpy in float64 over the whole f32 range by the tests):
- exp: range reduction x = n ln2 + r (ln2 split in two for an exact product), e^r by a
  degree-6 polynomial, 2^n built in the exponent bits (as two factors, so denormal results
  come out right); about 2 ulp. Overflow gives +inf, underflow 0, NaN stays NaN;
- erf: x clamped to [-4, 4] (erf is +-1 in f32 beyond), x P(x^2) / Q(x^2) with degree 6 and
  4 polynomials, the result clamped to [-1, 1]; absolute and relative error under 1e-6.
Scalars keep libm's functions unless `scalars=true`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from descend.dialects import arith
from descend.dialects.math import FloorOp, FmaOp
from descend.ir import (Builder, Context, DenseElementsAttr, FloatAttr, IntegerAttr, IntegerType, Operation,
                        VectorType, f32)

from ..pass_options import option
from ..passes import Pass, register_pass

i32 = IntegerType(32)

# exp: e^r = 1 + r + r^2 * P(r) on |r| <= ln2/2 (Cephes expf's minimax coefficients)
_EXP_P = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)
_LN2_HI, _LN2_LO = 0.693359375, -2.12194440e-4
_EXP_MAX, _EXP_MIN = 88.72283935546875, -103.97207641601562  # e^x overflows / underflows to 0
# erf(x) = x * A(x^2) / B(x^2) on [-4, 4] (a rational minimax fit, as Eigen's fast erf)
_ERF_A = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
          -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
_ERF_B = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
          -1.42647390514189e-02)


class _Emitter:
    """Builds arith/math ops before `op`, constants splatted to its type."""

    def __init__(self, op: Operation):
        self.b = Builder.before(op)
        self.b.location = op.location
        self.type = op.results[0].type
        self.cache: dict = {}

    def int_type(self):
        return VectorType(self.type.shape, i32) if isinstance(self.type, VectorType) else i32

    def const(self, value: float, integer: bool = False):
        t = self.int_type() if integer else self.type
        key = (value, integer)
        if key not in self.cache:
            if isinstance(t, VectorType):
                dtype = np.int32 if integer else np.float32
                attr = DenseElementsAttr(t, np.full(t.shape, value, dtype=dtype))
            else:
                attr = IntegerAttr(int(value), t) if integer else FloatAttr(float(value), t)
            self.cache[key] = self.b.build(arith.ConstantOp, value=attr).result
        return self.cache[key]

    def op(self, cls, *operands, **kwargs):
        return self.b.build(cls, *operands, **kwargs).results[0]

    def fma(self, a, b, c):
        return self.op(FmaOp, a, b, c)

    def horner(self, x, coefficients):
        acc = self.const(coefficients[0])
        for c in coefficients[1:]:
            acc = self.fma(acc, x, self.const(c))
        return acc

    def select(self, condition, a, b):
        return self.op(arith.SelectOp, condition, a, b)

    def cmp(self, predicate, a, b):
        return self.op(arith.CmpFOp, a, b, predicate=predicate)


def expand_exp(op: Operation):
    e = _Emitter(op)
    x = op.operands[0]
    clamped = e.op(arith.MinimumFOp, e.op(arith.MaximumFOp, x, e.const(_EXP_MIN)), e.const(_EXP_MAX))
    n = e.op(FloorOp, e.fma(clamped, e.const(1 / math.log(2)), e.const(0.5)))
    r = e.fma(n, e.const(-_LN2_HI), clamped)
    r = e.fma(n, e.const(-_LN2_LO), r)
    r2 = e.op(arith.MulFOp, r, r)
    p = e.fma(e.horner(r, _EXP_P), r2, e.op(arith.AddFOp, r, e.const(1.0)))
    # 2^n as two normal powers of two (2^n alone leaves the normal range at both ends)
    k = e.op(arith.FPToSIOp, n, result_types=[e.int_type()])
    half = e.op(arith.ShRSIOp, k, e.const(1, integer=True))
    y = e.op(arith.MulFOp, e.op(arith.MulFOp, p, _power_of_two(e, half)),
             _power_of_two(e, e.op(arith.SubIOp, k, half)))
    y = e.select(e.cmp("ogt", x, e.const(_EXP_MAX)), e.const(math.inf), y)
    return e.select(e.cmp("olt", x, e.const(_EXP_MIN)), e.const(0.0), y)


def _power_of_two(e: _Emitter, k):
    """2^k for integers k in [-126, 127], built in the exponent bits."""
    bits = e.op(arith.ShLIOp, e.op(arith.AddIOp, k, e.const(127, integer=True)), e.const(23, integer=True))
    return e.op(arith.BitcastOp, bits, result_types=[e.type])


def expand_erf(op: Operation):
    e = _Emitter(op)
    x = e.op(arith.MinimumFOp, e.op(arith.MaximumFOp, op.operands[0], e.const(-4.0)), e.const(4.0))
    x2 = e.op(arith.MulFOp, x, x)
    numerator = e.op(arith.MulFOp, x, e.horner(x2, _ERF_A))
    y = e.op(arith.DivFOp, numerator, e.horner(x2, _ERF_B))
    return e.op(arith.MinimumFOp, e.op(arith.MaximumFOp, y, e.const(-1.0)), e.const(1.0))  # |erf| <= 1


_EXPANSIONS = {"math.exp": expand_exp, "math.erf": expand_erf}


@register_pass
@dataclass(frozen=True)
class MathPolynomialApproximation(Pass):
    """Expand math.exp and math.erf on f32 vectors into polynomials (no per-lane libm calls)."""

    name: ClassVar[str] = "math-polynomial-approximation"
    statistics: ClassVar[dict] = {"expanded": "math ops replaced by polynomials"}

    scalars: bool = option(False, help="expand f32 scalars too (else they call libm)")

    def run(self, op: Operation, ctx: Context) -> None:
        for target in [o for o in op.walk() if o.name in _EXPANSIONS]:
            t = target.results[0].type
            element = t.element_type if isinstance(t, VectorType) else t
            if element != f32 or not (isinstance(t, VectorType) or self.scalars):
                continue
            value = _EXPANSIONS[target.name](target)
            target.results[0].replace_all_uses_with(value)
            target.erase()
            self.count("expanded")
