"""loop -> llvm: arith and math. One arith op is one LLVM instruction where LLVM has it;
floordivsi, ceildivsi/ui, min/max on integers and rsqrt expand exactly as arith defines
them; math functions LLVM has no intrinsic for call libm (erff, log1pf, ...), element by
element for vectors."""

from __future__ import annotations

import numpy as np

from descend.dialects import llvm
from descend.dialects.numeric import attr_to_value, dtype_of
from descend.dialects.arith import CMPF_PREDICATES
from descend.ir import (DenseElementsAttr, FloatAttr, FloatType, IntegerAttr, IntegerType, VectorType, f32,
                        i32, i64)
from descend.ir.diagnostics import error

from .core import bool_type_of, convert_type, lowers


def _fastmath(op):
    flags = op.properties.get("fastmath")
    if flags is None or flags.flags == 0:
        return {}
    return {"fastmathFlags": llvm.FastMathFlagsAttr(flags.keywords())}


def _overflow(op):
    flags = op.properties.get("overflowFlags")
    if flags is None or flags.flags == 0:
        return {}
    return {"overflowFlags": llvm.IntegerOverflowFlagsAttr(flags.flags)}


# ---- constants ------------------------------------------------------------------------------

@lowers("arith.constant")
def constant(fl, op):
    t = convert_type(op.result.type, op)
    value = op.value
    if isinstance(t, VectorType):
        array = np.asarray(attr_to_value(value, op.result.type)).astype(dtype_of(t))
        attr = DenseElementsAttr(t, np.broadcast_to(array, tuple(t.shape)).copy())
    elif isinstance(t, FloatType):
        attr = FloatAttr(float(attr_to_value(value, op.result.type)), t)
    else:
        attr = IntegerAttr(int(attr_to_value(value, op.result.type)), t)
    fl.bind(op.result, fl.emit1(llvm.ConstantOp, value=attr))


# ---- one instruction each -------------------------------------------------------------------

_INT_BINARY = {"arith.addi": llvm.AddOp, "arith.subi": llvm.SubOp, "arith.muli": llvm.MulOp,
               "arith.shli": llvm.ShlOp}
_INT_BINARY_PLAIN = {"arith.divsi": llvm.SDivOp, "arith.divui": llvm.UDivOp,
                     "arith.remsi": llvm.SRemOp, "arith.remui": llvm.URemOp,
                     "arith.andi": llvm.AndOp, "arith.ori": llvm.OrOp, "arith.xori": llvm.XOrOp,
                     "arith.shrsi": llvm.AShrOp, "arith.shrui": llvm.LShrOp}
_FLOAT_BINARY = {"arith.addf": llvm.FAddOp, "arith.subf": llvm.FSubOp, "arith.mulf": llvm.FMulOp,
                 "arith.divf": llvm.FDivOp, "arith.remf": llvm.FRemOp}
_FLOAT_INTRINSIC = {"arith.maximumf": llvm.MaximumOp, "arith.minimumf": llvm.MinimumOp,
                    "arith.maxnumf": llvm.MaxNumOp, "arith.minnumf": llvm.MinNumOp}


@lowers(*_INT_BINARY)
def int_binary_overflow(fl, op):
    lhs, rhs = fl.values_of(op.operands)
    fl.bind(op.result, fl.emit1(_INT_BINARY[op.name], lhs, rhs, **_overflow(op)))


@lowers(*_INT_BINARY_PLAIN)
def int_binary(fl, op):
    lhs, rhs = fl.values_of(op.operands)
    fl.bind(op.result, fl.emit1(_INT_BINARY_PLAIN[op.name], lhs, rhs))


@lowers(*_FLOAT_BINARY)
def float_binary(fl, op):
    lhs, rhs = _widened(fl, fl.values_of(op.operands))
    result = fl.emit1(_FLOAT_BINARY[op.name], lhs, rhs, **_fastmath(op))
    fl.bind(op.result, _narrowed(fl, result, op.operands[0], op))


@lowers(*_FLOAT_INTRINSIC)
def float_min_max(fl, op):
    args = _widened(fl, fl.values_of(op.operands))
    result = fl.emit1(_FLOAT_INTRINSIC[op.name], args=args, **_fastmath(op))
    fl.bind(op.result, _narrowed(fl, result, op.operands[0], op))


def _is_bf16(t) -> bool:
    return getattr(llvm.types.scalar_of(t), "name", "") == "bf16"


def _widened(fl, values: list) -> list:
    """bf16 operands as f32 (exact): arithmetic on bf16 is done in f32 and rounded back on
    the bits (LLVM's own promotion truncates through __truncsfbf2, which nothing links on
    CPUs without bf16 instructions). f32 has more than twice bf16's precision plus two
    bits, so rounding twice gives the correctly rounded +, -, *, /."""
    if not values or not _is_bf16(values[0].type):
        return values
    return [_extend_bf16(fl, v) for v in values]


def _extend_bf16(fl, x):
    """bf16 -> f32 on the bits (exact: the 16 bits become the high half), not fpext, which
    LLVM's x86 backend without bf16 instructions crashes on for some vector shapes."""
    shape = getattr(x.type, "shape", None)
    i16_t = VectorType(shape, IntegerType(16)) if shape else IntegerType(16)
    i32_t = VectorType(shape, i32) if shape else i32
    bits = fl.emit1(llvm.ZExtOp, fl.emit1(llvm.BitcastOp, x, result_types=[i16_t]), result_types=[i32_t])
    high = fl.emit1(llvm.ShlOp, bits, fl.constant(16, i32_t))
    return fl.emit1(llvm.BitcastOp, high, result_types=[VectorType(shape, f32) if shape else f32])


def _narrowed(fl, result, operand, op):
    t = convert_type(operand.type, op)
    return _truncate_to_bf16(fl, result, t) if _is_bf16(t) else result


@lowers("arith.negf")
def negf(fl, op):
    fl.bind(op.result, fl.emit1(llvm.FNegOp, fl.value(op.operands[0]), **_fastmath(op)))


def icmp(fl, predicate: str, lhs, rhs):
    from descend.dialects.arith import CMPI_PREDICATES
    return fl.emit1(llvm.ICmpOp, lhs, rhs, predicate=IntegerAttr(CMPI_PREDICATES.index(predicate), i64),
                    result_types=[bool_type_of(lhs.type)])


def select(fl, condition, a, b):
    return fl.emit1(llvm.SelectOp, condition, a, b)


@lowers("arith.cmpi")
def cmpi(fl, op):
    lhs, rhs = fl.values_of(op.operands)
    fl.bind(op.result, fl.emit1(llvm.ICmpOp, lhs, rhs, predicate=op.predicate,
                                result_types=[bool_type_of(lhs.type)]))


@lowers("arith.cmpf")
def cmpf(fl, op):
    lhs, rhs = fl.values_of(op.operands)
    fl.bind(op.result, fl.emit1(llvm.FCmpOp, lhs, rhs, predicate=op.predicate,
                                result_types=[bool_type_of(lhs.type)], **_fastmath(op)))


@lowers("arith.select")
def select_op(fl, op):
    c, a, b = fl.values_of(op.operands)
    fl.bind(op.result, select(fl, c, a, b))


# ---- expansions -----------------------------------------------------------------------------

_MIN_MAX = {"arith.maxsi": "sgt", "arith.minsi": "slt", "arith.maxui": "ugt", "arith.minui": "ult"}


@lowers(*_MIN_MAX)
def int_min_max(fl, op):
    lhs, rhs = fl.values_of(op.operands)
    fl.bind(op.result, select(fl, icmp(fl, _MIN_MAX[op.name], lhs, rhs), lhs, rhs))


@lowers("arith.floordivsi")
def floordivsi(fl, op):
    """q = a sdiv b, minus one when the remainder is non-zero and its sign differs from b's."""
    a, b = fl.values_of(op.operands)
    t = a.type
    q = fl.emit1(llvm.SDivOp, a, b)
    r = fl.emit1(llvm.SRemOp, a, b)
    zero, one = fl.constant(0, t), fl.constant(1, t)
    inexact = icmp(fl, "ne", r, zero)
    signs_differ = icmp(fl, "ne", icmp(fl, "slt", r, zero), icmp(fl, "slt", b, zero))
    adjust = fl.emit1(llvm.AndOp, inexact, signs_differ)
    fl.bind(op.result, select(fl, adjust, fl.emit1(llvm.SubOp, q, one), q))


@lowers("arith.ceildivsi")
def ceildivsi(fl, op):
    """q = a sdiv b, plus one when the remainder is non-zero and has b's sign."""
    a, b = fl.values_of(op.operands)
    t = a.type
    q = fl.emit1(llvm.SDivOp, a, b)
    r = fl.emit1(llvm.SRemOp, a, b)
    zero, one = fl.constant(0, t), fl.constant(1, t)
    inexact = icmp(fl, "ne", r, zero)
    same_sign = icmp(fl, "eq", icmp(fl, "slt", r, zero), icmp(fl, "slt", b, zero))
    adjust = fl.emit1(llvm.AndOp, inexact, same_sign)
    fl.bind(op.result, select(fl, adjust, fl.emit1(llvm.AddOp, q, one), q))


@lowers("arith.ceildivui")
def ceildivui(fl, op):
    a, b = fl.values_of(op.operands)
    t = a.type
    q = fl.emit1(llvm.UDivOp, a, b)
    r = fl.emit1(llvm.URemOp, a, b)
    inexact = icmp(fl, "ne", r, fl.constant(0, t))
    fl.bind(op.result, select(fl, inexact, fl.emit1(llvm.AddOp, q, fl.constant(1, t)), q))


# ---- casts ----------------------------------------------------------------------------------

_CASTS = {"arith.extsi": llvm.SExtOp, "arith.extui": llvm.ZExtOp, "arith.trunci": llvm.TruncOp,
          "arith.sitofp": llvm.SIToFPOp, "arith.uitofp": llvm.UIToFPOp, "arith.fptosi": llvm.FPToSIOp,
          "arith.fptoui": llvm.FPToUIOp, "arith.extf": llvm.FPExtOp, "arith.truncf": llvm.FPTruncOp,
          "arith.bitcast": llvm.BitcastOp}


def _width(t) -> int:
    return llvm.types.scalar_of(t).width


@lowers(*_CASTS)
def cast(fl, op):
    x = fl.value(op.operands[0])
    t = convert_type(op.results[0].type, op)
    if x.type == t:  # a bitcast to the same type after conversion
        fl.bind(op.results[0], x)
        return
    if op.name == "arith.truncf" and getattr(llvm.types.scalar_of(x.type), "name", "") == "f64" \
            and getattr(llvm.types.scalar_of(t), "name", "") in ("f16", "bf16"):
        # LLVM turns this into a call to __truncdfhf2 (compiler-rt), which neither the JIT
        # nor a plain `cc -shared` link provides; via f32 would round twice
        raise error(op.location, "lower-loop-to-llvm: a truncation from f64 to 16-bit floats cannot be "
                                 "lowered (no libcall for it is linked)")
    if op.name == "arith.truncf" and getattr(llvm.types.scalar_of(t), "name", "") == "bf16":
        fl.bind(op.results[0], _truncate_to_bf16(fl, x, t))
        return
    if op.name == "arith.extf" and _is_bf16(x.type) and getattr(llvm.types.scalar_of(t), "name", "") == "f32":
        fl.bind(op.results[0], _extend_bf16(fl, x))
        return
    fl.bind(op.results[0], fl.emit1(_CASTS[op.name], x, result_types=[t]))


def _truncate_to_bf16(fl, x, t):
    """f32 -> bf16 rounded to nearest even on the bits: on CPUs without bf16 instructions
    LLVM calls __truncsfbf2 for an fptrunc, which nothing here links (the call crashed)."""
    shape = getattr(t, "shape", None)
    i32_t = VectorType(shape, i32) if shape else i32
    i16_t = VectorType(shape, IntegerType(16)) if shape else IntegerType(16)
    bits = fl.emit1(llvm.BitcastOp, x, result_types=[i32_t])
    high = fl.emit1(llvm.LShrOp, bits, fl.constant(16, i32_t))
    odd = fl.emit1(llvm.AndOp, high, fl.constant(1, i32_t))
    rounded = fl.emit1(llvm.AddOp, fl.emit1(llvm.AddOp, bits, fl.constant(0x7FFF, i32_t)), odd)
    rounded = fl.emit1(llvm.LShrOp, rounded, fl.constant(16, i32_t))
    quiet = fl.emit1(llvm.OrOp, high, fl.constant(0x40, i32_t))
    nan = fl.emit1(llvm.FCmpOp, x, x, predicate=IntegerAttr(CMPF_PREDICATES.index("uno"), i64),
                   result_types=[bool_type_of(x.type)])
    chosen = select(fl, nan, quiet, rounded)
    return fl.emit1(llvm.BitcastOp, fl.emit1(llvm.TruncOp, chosen, result_types=[i16_t]), result_types=[t])


@lowers("arith.index_cast", "arith.index_castui")
def index_cast(fl, op):
    x = fl.value(op.operands[0])
    t = convert_type(op.results[0].type, op)
    a, b = _width(x.type), _width(t)
    if a == b:
        fl.bind(op.results[0], x)
        return
    if a > b:
        cls = llvm.TruncOp
    else:
        cls = llvm.SExtOp if op.name == "arith.index_cast" else llvm.ZExtOp
    fl.bind(op.results[0], fl.emit1(cls, x, result_types=[t]))


# ---- math -----------------------------------------------------------------------------------

_MATH_INTRINSIC = {"math.exp": llvm.ExpOp, "math.exp2": llvm.Exp2Op, "math.log": llvm.LogOp,
                   "math.log2": llvm.Log2Op, "math.log10": llvm.Log10Op, "math.sqrt": llvm.SqrtOp,
                   "math.sin": llvm.SinOp, "math.cos": llvm.CosOp, "math.tanh": llvm.TanhOp,
                   "math.absf": llvm.FAbsOp, "math.floor": llvm.FloorOp, "math.ceil": llvm.CeilOp,
                   "math.round": llvm.RoundOp, "math.roundeven": llvm.RoundEvenOp,
                   "math.trunc": llvm.TruncIntrOp, "math.powf": llvm.PowOp,
                   "math.copysign": llvm.CopySignOp, "math.fma": llvm.FMAOp}
# math ops LLVM has no intrinsic for: the libm function (f64 name; f32 adds 'f').
_LIBM = {"math.erf": "erf", "math.erfc": "erfc", "math.expm1": "expm1", "math.log1p": "log1p",
         "math.cbrt": "cbrt", "math.tan": "tan", "math.asin": "asin", "math.acos": "acos",
         "math.atan": "atan", "math.sinh": "sinh", "math.cosh": "cosh", "math.asinh": "asinh",
         "math.acosh": "acosh", "math.atanh": "atanh", "math.atan2": "atan2"}


@lowers(*_MATH_INTRINSIC)
def math_intrinsic(fl, op):
    args = fl.values_of(op.operands)
    fl.bind(op.results[0], fl.emit1(_MATH_INTRINSIC[op.name], args=args, **_fastmath(op)))


@lowers("math.rsqrt")
def rsqrt(fl, op):
    x = fl.value(op.operands[0])
    root = fl.emit1(llvm.SqrtOp, args=[x], **_fastmath(op))
    fl.bind(op.results[0], fl.emit1(llvm.FDivOp, fl.constant(1.0, x.type), root, **_fastmath(op)))


@lowers(*_LIBM)
def libm(fl, op):
    args = fl.values_of(op.operands)
    t = args[0].type
    scalar = llvm.types.scalar_of(t)
    if scalar.name not in ("f32", "f64", "f16"):
        raise error(op.location, f"lower-loop-to-llvm: '{op.name}' on {t} has no libm function")
    compute = f32 if scalar.name == "f16" else scalar  # f16 goes through the f32 function
    name = _LIBM[op.name] + ("f" if compute == f32 else "")
    fl.ml.declare(name, compute, [compute] * len(args), op.location)

    def call(scalars):
        if compute != scalar:
            scalars = [fl.emit1(llvm.FPExtOp, s, result_types=[compute]) for s in scalars]
        r = fl.emit1(llvm.CallOp, callee=name, callee_operands=scalars, result_types=[compute])
        return fl.emit1(llvm.FPTruncOp, r, result_types=[scalar]) if compute != scalar else r

    if not isinstance(t, VectorType):
        fl.bind(op.results[0], call(args))
        return
    out = fl.emit1(llvm.UndefOp, result_types=[t])
    for k in range(t.shape[0]):
        position = fl.constant(k, i32)
        lanes = [fl.emit1(llvm.ExtractElementOp, a, position) for a in args]
        out = fl.emit1(llvm.InsertElementOp, out, call(lanes), position)
    fl.bind(op.results[0], out)


@lowers("math.absi")
def absi(fl, op):
    x = fl.value(op.operands[0])
    zero = fl.constant(0, x.type)
    negative = icmp(fl, "slt", x, zero)
    fl.bind(op.results[0], select(fl, negative, fl.emit1(llvm.SubOp, zero, x), x))
