"""llvm: the value ops of MLIR's LLVM dialect, 1:1 with LLVM IR instructions: integer and
float arithmetic, comparisons, casts, select, vector element ops and intrinsics
(`llvm.intr.*`). Scalars and vectors are builtin types; each op's reference semantics is
LLVM's on numpy values (integers wrap, poison and UB are reported as arith reports them)."""

from __future__ import annotations

import numpy as np

from ...ir import (CustomDirective, DenseArrayAttr, IntegerAttr, Operation, Pure,
                   SameOperandsAndResultType, Type, VectorType, attribute, i1, i32, i64, operand,
                   result, var_operand)
from ...ir.constraints import Predicate
from .. import arith as _arith  # underscored: `from .ops import *` must not re-export arith
from ..arith import undefined
from ..arith.attrs import CMPF_PREDICATES, CMPI_PREDICATES
from ..numeric import dtype_of, signed, unsigned, width_of
from .types import (FASTMATH_NONE, OVERFLOW, OVERFLOW_NONE, FastMathFlagsAttr,
                    IntegerOverflowFlagsAttr, is_float_like, is_int_like, is_llvm_type, is_ptr,
                    scalar_of)

IntLike = Predicate(is_int_like, "signless-integer-or-vector-of-them")
FloatLike = Predicate(is_float_like, "float-or-vector-of-floats")
LLVMType = Predicate(is_llvm_type, "LLVM-compatible type")
IntOrPtrLike = Predicate(lambda t: is_int_like(t) or is_ptr(scalar_of(t)), "integer-or-pointer-like")


def _shape(t: Type) -> tuple:
    return tuple(t.shape) if isinstance(t, VectorType) else ()


class _FastMath:
    """Ops with `fastmathFlags` (MLIR's name); arith's poison hook reads `.fastmath`."""

    @property
    def fastmath(self):
        return self.fastmathFlags


# ---- integer and float arithmetic ---------------------------------------------------------

class _IntBinary(Operation):
    lhs = operand(IntLike)
    rhs = operand(IntLike)
    res = result(IntLike)
    traits = (Pure(), SameOperandsAndResultType())
    assembly = "$lhs `,` $rhs attr-dict `:` type($res)"


class _IntBinaryOverflow(_IntBinary):
    overflowFlags = attribute(IntegerOverflowFlagsAttr, default=OVERFLOW_NONE)
    custom_directives = OVERFLOW
    assembly = "$lhs `,` $rhs custom<Overflow>($overflowFlags) attr-dict `:` type($res)"


class _FloatBinary(_FastMath, Operation):
    lhs = operand(FloatLike)
    rhs = operand(FloatLike)
    res = result(FloatLike)
    fastmathFlags = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    traits = (Pure(), SameOperandsAndResultType())
    assembly = "$lhs `,` $rhs attr-dict `:` type($res)"
    undefined_behavior = undefined.fastmath


def _as_arith(base: type, class_name: str, mnemonic: str, semantics: type, doc: str) -> type:
    """An llvm op declared by `base` (LLVM's operand types and syntax) with the meaning of
    the arith op `semantics`: its reference, its undefined behaviour and its traits (whether
    it commutes). One definition of each instruction's semantics serves both dialects."""
    body = {"name": f"llvm.{mnemonic}", "__doc__": doc, "__module__": __name__,
            "traits": semantics.traits, "reference": staticmethod(semantics.reference)}
    ub = getattr(semantics, "undefined_behavior", None)
    if ub is not None:
        body["undefined_behavior"] = ub
    return type(class_name, (base,), body)


_ARITHMETIC = [  # (class, base, LLVM instruction, arith op with the same semantics, doc)
    ("AddOp", _IntBinaryOverflow, "add", _arith.AddIOp,
     "Integer addition modulo 2^width (LLVM `add`)."),
    ("SubOp", _IntBinaryOverflow, "sub", _arith.SubIOp,
     "Integer subtraction modulo 2^width (LLVM `sub`)."),
    ("MulOp", _IntBinaryOverflow, "mul", _arith.MulIOp,
     "Integer multiplication keeping the low `width` bits (LLVM `mul`)."),
    ("SDivOp", _IntBinary, "sdiv", _arith.DivSIOp,
     "Signed division rounding toward zero; a zero divisor is undefined (LLVM `sdiv`)."),
    ("UDivOp", _IntBinary, "udiv", _arith.DivUIOp,
     "Unsigned division; a zero divisor is undefined (LLVM `udiv`)."),
    ("SRemOp", _IntBinary, "srem", _arith.RemSIOp,
     "Signed remainder with the sign of the dividend (LLVM `srem`)."),
    ("URemOp", _IntBinary, "urem", _arith.RemUIOp, "Unsigned remainder (LLVM `urem`)."),
    ("AndOp", _IntBinary, "and", _arith.AndIOp, "Bitwise and (LLVM `and`)."),
    ("OrOp", _IntBinary, "or", _arith.OrIOp, "Bitwise or (LLVM `or`)."),
    ("XOrOp", _IntBinary, "xor", _arith.XOrIOp, "Bitwise exclusive or (LLVM `xor`)."),
    ("ShlOp", _IntBinaryOverflow, "shl", _arith.ShLIOp,
     "Shift left; a shift of at least the bit width is poison (LLVM `shl`)."),
    ("LShrOp", _IntBinary, "lshr", _arith.ShRUIOp,
     "Logical shift right, zeros shifted in; too wide a shift is poison (LLVM `lshr`)."),
    ("AShrOp", _IntBinary, "ashr", _arith.ShRSIOp,
     "Arithmetic shift right, the sign bit replicated; too wide a shift is poison (LLVM `ashr`)."),
    ("FAddOp", _FloatBinary, "fadd", _arith.AddFOp, "IEEE addition (LLVM `fadd`)."),
    ("FSubOp", _FloatBinary, "fsub", _arith.SubFOp, "IEEE subtraction (LLVM `fsub`)."),
    ("FMulOp", _FloatBinary, "fmul", _arith.MulFOp, "IEEE multiplication (LLVM `fmul`)."),
    ("FDivOp", _FloatBinary, "fdiv", _arith.DivFOp, "IEEE division (LLVM `fdiv`)."),
    ("FRemOp", _FloatBinary, "frem", _arith.RemFOp,
     "Remainder with the sign of the dividend, C's fmod (LLVM `frem`)."),
]

for _name, _base, _mnemonic, _semantics, _doc in _ARITHMETIC:
    globals()[_name] = _as_arith(_base, _name, _mnemonic, _semantics, _doc)
del _base, _semantics  # the dialect collects every Operation class in this module


class FNegOp(_FastMath, Operation):
    """Flips the sign bit (LLVM `fneg`)."""

    name = "llvm.fneg"
    operand_ = operand(FloatLike)
    res = result(FloatLike)
    fastmathFlags = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    traits = (Pure(), SameOperandsAndResultType())
    assembly = "$operand_ attr-dict `:` type($res)"
    undefined_behavior = undefined.fastmath

    @staticmethod
    def reference(operand_):
        return np.negative(operand_)


# ---- comparisons ---------------------------------------------------------------------------

class PredicateString(CustomDirective):
    """MLIR writes the predicate of llvm.icmp/fcmp as a string (`"slt"`) and stores it as
    an i64 enum value; `_false`/`_true` are fcmp's constant predicates."""

    grammar = "STRING"

    def __init__(self, names: tuple):
        self.names = names

    def print(self, fp, op, args) -> None:
        fp.emit(f'"{self.names[op.predicate.value]}"')

    def build(self, state, children, args) -> None:
        text = str(children[0])[1:-1]
        if text not in self.names:
            raise ValueError(f"unknown predicate \"{text}\"; expected one of {', '.join(self.names)}")
        state.properties["predicate"] = IntegerAttr(self.names.index(text), i64)


FCMP_NAMES = tuple("_" + p if p in ("false", "true") else p for p in CMPF_PREDICATES)


def _bool_of(t: Type) -> Type:
    return VectorType(t.shape, i1) if isinstance(t, VectorType) else i1


class _Compare(Operation):
    res = result(IntLike)
    traits = (Pure(),)

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [_bool_of(operands[0].type)]

    @classmethod
    def build(cls, *args, **kwargs):
        names = cls.custom_directives["Predicate"].names
        if isinstance(kwargs.get("predicate"), str):
            kwargs["predicate"] = IntegerAttr(names.index(kwargs["predicate"]), i64)
        return super().build(*args, **kwargs)

    def verify(self) -> None:
        names = self.custom_directives["Predicate"].names
        if not 0 <= self.predicate.value < len(names):
            raise self.error(f"predicate {self.predicate.value} is out of range (0-{len(names) - 1})")
        if self.lhs.type != self.rhs.type:
            raise self.error(f"operands must have the same type, got {self.lhs.type} and {self.rhs.type}")
        if self.res.type != _bool_of(self.lhs.type):
            raise self.error(f"result type {self.res.type} should be {_bool_of(self.lhs.type)}")


class ICmpOp(_Compare):
    """Compares integers (or pointers) by `predicate`, reading them as signed or unsigned as
    the predicate says; gives i1 (LLVM `icmp`)."""

    name = "llvm.icmp"
    predicate = attribute(IntegerAttr)
    lhs = operand(IntOrPtrLike)
    rhs = operand(IntOrPtrLike)
    custom_directives = {"Predicate": PredicateString(CMPI_PREDICATES)}
    assembly = "custom<Predicate>($predicate) $lhs `,` $rhs attr-dict `:` type($lhs)"
    reference = staticmethod(_arith.CmpIOp.reference)


class FCmpOp(_FastMath, _Compare):
    """Compares floats by `predicate`: o* are false and u* true when an operand is NaN
    (LLVM `fcmp`)."""

    name = "llvm.fcmp"
    predicate = attribute(IntegerAttr)
    lhs = operand(FloatLike)
    rhs = operand(FloatLike)
    fastmathFlags = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    custom_directives = {"Predicate": PredicateString(FCMP_NAMES)}
    assembly = "custom<Predicate>($predicate) $lhs `,` $rhs attr-dict `:` type($lhs)"
    undefined_behavior = undefined.fastmath
    reference = staticmethod(_arith.CmpFOp.reference)


class SelectOp(_FastMath, Operation):
    """Chooses `true_value` where `condition` is true, else `false_value` (LLVM `select`)."""

    name = "llvm.select"
    condition = operand(IntLike)
    true_value = operand(LLVMType)
    false_value = operand(LLVMType)
    res = result(LLVMType)
    fastmathFlags = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    traits = (Pure(),)
    assembly = "operands attr-dict `:` type($condition) `,` type($res)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [operands[1].type]

    def verify(self) -> None:
        t = self.res.type
        if self.true_value.type != t or self.false_value.type != t:
            raise self.error(f"true value, false value and result must have one type, got "
                             f"{self.true_value.type}, {self.false_value.type} and {t}")
        c = self.condition.type
        if c != i1 and c != _bool_of(t):
            raise self.error(f"condition must be i1 or {_bool_of(t)}, got {c}")

    @staticmethod
    def reference(condition, true_value, false_value):
        return np.where(condition, true_value, false_value)


# ---- casts ---------------------------------------------------------------------------------

class _Cast(Operation):
    arg = operand(LLVMType)
    res = result(LLVMType)
    traits = (Pure(),)
    assembly = "$arg attr-dict `:` type($arg) `to` type($res)"
    # (input predicate, output predicate, width relation: "gt" wider, "lt" narrower, None)
    kinds: tuple = (is_int_like, is_int_like, None)

    def verify(self) -> None:
        check_in, check_out, relation = self.kinds
        a, b = self.arg.type, self.res.type
        if not check_in(a):
            raise self.error(f"operand type {a} is not valid for {self.name}")
        if not check_out(b):
            raise self.error(f"result type {b} is not valid for {self.name}")
        if _shape(a) != _shape(b):
            raise self.error(f"operand {a} and result {b} must have the same vector shape")
        if relation is None:
            return
        wa, wb = _bits(a), _bits(b)
        if relation == "gt" and not wb > wa:
            raise self.error(f"result type {b} must be wider than operand type {a}")
        if relation == "lt" and not wb < wa:
            raise self.error(f"result type {b} must be narrower than operand type {a}")
        if relation == "eq" and wb != wa:
            raise self.error(f"operand type {a} and result type {b} must have the same bit width")


def _bits(t: Type) -> int:
    if is_ptr(scalar_of(t)):
        return 64 * (int(np.prod(t.shape)) if isinstance(t, VectorType) else 1)
    return width_of(scalar_of(t)) * (int(np.prod(t.shape)) if isinstance(t, VectorType) else 1)


def _cast(class_name: str, mnemonic: str, doc: str, kinds: tuple, fn, ub=None) -> type:
    body = {"name": f"llvm.{mnemonic}", "__doc__": doc, "kinds": kinds, "__module__": __name__,
            "reference": staticmethod(fn)}
    if ub is not None:
        body["undefined_behavior"] = ub
    return type(class_name, (_Cast,), body)


def _to(x, result_type):
    return np.asarray(x).astype(dtype_of(result_type))


def _bitcast(arg, result_type=None):
    a = np.ascontiguousarray(arg)
    if a.dtype == np.bool_:
        raise ValueError("bitcast of i1 values has no numpy semantics here")
    out = a.view(dtype_of(result_type))
    return out.reshape(_shape(result_type)) if isinstance(result_type, VectorType) else out.reshape(())


_ptr_or_vec = lambda t: is_ptr(scalar_of(t))  # noqa: E731

_CASTS = [
    ("SExtOp", "sext", "Sign-extends an integer to a wider one (i1 true becomes -1).",
     (is_int_like, is_int_like, "gt"), lambda arg, result_type=None: _to(signed(arg), result_type)),
    ("ZExtOp", "zext", "Zero-extends an integer to a wider one.",
     (is_int_like, is_int_like, "gt"), lambda arg, result_type=None: _to(unsigned(arg), result_type)),
    ("TruncOp", "trunc", "Keeps the low bits of an integer.",
     (is_int_like, is_int_like, "lt"), lambda arg, result_type=None: _to(unsigned(arg), result_type)),
    ("SIToFPOp", "sitofp", "Converts a signed integer to the nearest float.",
     (is_int_like, is_float_like, None), lambda arg, result_type=None: _to(signed(arg), result_type)),
    ("UIToFPOp", "uitofp", "Converts an unsigned integer to the nearest float.",
     (is_int_like, is_float_like, None), lambda arg, result_type=None: _to(unsigned(arg), result_type)),
    ("FPExtOp", "fpext", "Widens a float exactly.",
     (is_float_like, is_float_like, "gt"), _to),
    ("FPTruncOp", "fptrunc", "Rounds a float to a narrower float (to nearest even).",
     (is_float_like, is_float_like, "lt"), _to),
    ("BitcastOp", "bitcast", "Reinterprets the bits as a type of the same width.",
     (is_llvm_type, is_llvm_type, "eq"), _bitcast),
]

for _name, _mnemonic, _doc, _kinds, _fn in _CASTS:
    globals()[_name] = _cast(_name, _mnemonic, _doc, _kinds, _fn)


def _fp_to_int(signed_result: bool):
    def fn(arg, result_type=None):
        x = np.trunc(np.asarray(arg, dtype=np.float64))
        x = np.where(np.isfinite(x), x, 0)
        return _to(x.astype(np.int64) if signed_result else x.astype(np.uint64), result_type)
    return fn


FPToSIOp = _cast("FPToSIOp", "fptosi", "Converts a float to a signed integer rounding toward "
                 "zero; out of range is poison.", (is_float_like, is_int_like, None),
                 _fp_to_int(True), undefined.float_to_int(True))
FPToUIOp = _cast("FPToUIOp", "fptoui", "Converts a float to an unsigned integer rounding toward "
                 "zero; out of range is poison.", (is_float_like, is_int_like, None),
                 _fp_to_int(False), undefined.float_to_int(False))


class PtrToIntOp(_Cast):
    """The address held by a pointer, as an integer (LLVM `ptrtoint`); JIT-only semantics."""

    name = "llvm.ptrtoint"
    kinds = (_ptr_or_vec, is_int_like, None)


class IntToPtrOp(_Cast):
    """A pointer to the address given as an integer (LLVM `inttoptr`); JIT-only semantics."""

    name = "llvm.inttoptr"
    kinds = (is_int_like, _ptr_or_vec, None)


# ---- vectors -------------------------------------------------------------------------------

class InsertElementOp(Operation):
    """The vector with the element at `position` replaced by `value` (LLVM `insertelement`)."""

    name = "llvm.insertelement"
    vector = operand(LLVMType)
    value = operand(LLVMType)
    position = operand(IntLike)
    res = result(LLVMType)
    traits = (Pure(),)
    assembly = "$value `,` $vector `[` $position `:` type($position) `]` attr-dict `:` type($vector)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [operands[0].type]

    def verify(self) -> None:
        v = self.vector.type
        if not isinstance(v, VectorType) or v.rank != 1:
            raise self.error(f"expects a rank-1 vector, got {v}")
        if self.value.type != v.element_type:
            raise self.error(f"value type {self.value.type} must be the element type of {v}")

    @staticmethod
    def reference(vector, value, position):
        out = np.array(vector, copy=True)
        out[int(position)] = value
        return out


class ExtractElementOp(Operation):
    """The element of `vector` at `position` (LLVM `extractelement`)."""

    name = "llvm.extractelement"
    vector = operand(LLVMType)
    position = operand(IntLike)
    res = result(LLVMType)
    traits = (Pure(),)
    assembly = "$vector `[` $position `:` type($position) `]` attr-dict `:` type($vector)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [operands[0].type.element_type]

    def verify(self) -> None:
        v = self.vector.type
        if not isinstance(v, VectorType) or v.rank != 1:
            raise self.error(f"expects a rank-1 vector, got {v}")
        if self.res.type != v.element_type:
            raise self.error(f"result type {self.res.type} must be the element type of {v}")

    @staticmethod
    def reference(vector, position):
        return np.asarray(vector)[int(position)]


class ShuffleVectorOp(Operation):
    """Picks elements of `v1 ++ v2` by `mask` (-1 gives poison, here zero) (LLVM `shufflevector`)."""

    name = "llvm.shufflevector"
    v1 = operand(LLVMType)
    v2 = operand(LLVMType)
    mask = attribute(DenseArrayAttr)
    res = result(LLVMType)
    traits = (Pure(),)
    assembly = "$v1 `,` $v2 $mask attr-dict `:` type($v1)"

    @classmethod
    def build(cls, *args, **kwargs):
        if isinstance(kwargs.get("mask"), (list, tuple)):
            kwargs["mask"] = DenseArrayAttr(i32, list(kwargs["mask"]))
        return super().build(*args, **kwargs)

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [VectorType([len(properties["mask"])], operands[0].type.element_type)]

    def verify(self) -> None:
        a, b = self.v1.type, self.v2.type
        if not isinstance(a, VectorType) or a != b:
            raise self.error(f"expects two vectors of one type, got {a} and {b}")
        n = 2 * a.shape[0]
        mask = list(self.mask)
        if any(m < -1 or m >= n for m in mask):
            raise self.error(f"mask {mask} indexes outside the {n} elements of the two vectors")
        expected = VectorType([len(mask)], a.element_type)
        if self.res.type != expected:
            raise self.error(f"result type {self.res.type} should be {expected}")

    @staticmethod
    def reference(v1, v2, mask=()):
        both = np.concatenate([np.atleast_1d(v1), np.atleast_1d(v2)])
        idx = np.asarray(mask, dtype=np.int64)
        return np.where(idx < 0, np.zeros((), both.dtype), both[np.maximum(idx, 0)])


# ---- intrinsics ----------------------------------------------------------------------------

class _Intrinsic(_FastMath, Operation):
    """`llvm.intr.NAME(%a, %b) : (f32, f32) -> f32`; the LLVM intrinsic is `llvm.NAME`."""

    args = var_operand(LLVMType)
    res = result(LLVMType)
    fastmathFlags = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    traits = (Pure(),)
    assembly = "`(` $args `)` attr-dict `:` functional-type($args, $res)"
    undefined_behavior = undefined.fastmath
    arity = 1

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [operands[0].type]

    def verify(self) -> None:
        if len(self.args) != self.arity:
            raise self.error(f"expects {self.arity} operands, got {len(self.args)}")
        t = self.res.type
        if not is_float_like(t):
            raise self.error(f"expects float or vector-of-float results, got {t}")
        for i, a in enumerate(self.args):
            if a.type != t:
                raise self.error(f"operand #{i} type {a.type} must equal the result type {t}")

    @property
    def intrinsic(self) -> str:
        return "llvm." + self.name[len("llvm.intr."):]


def _intrinsic(class_name: str, mnemonic: str, doc: str, arity: int, fn) -> type:
    return type(class_name, (_Intrinsic,), {
        "name": f"llvm.intr.{mnemonic}", "__doc__": doc, "arity": arity, "__module__": __name__,
        "reference": staticmethod(fn)})


def _fma(a, b, c):
    a = np.asarray(a)
    exact = a.astype(np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)
    return exact.astype(a.dtype) if a.dtype != np.float64 else np.asarray(a) * b + c


def _round_half_away(x):
    x = np.asarray(x)
    return np.copysign(np.floor(np.abs(x) + np.asarray(0.5, x.dtype)), x)


_INTRINSICS = [
    ("FMAOp", "fma", "a * b + c rounded once.", 3, _fma),
    ("FMulAddOp", "fmuladd", "a * b + c, fused or not as the target prefers.", 3, _fma),
    ("ExpOp", "exp", "e raised to the operand.", 1, np.exp),
    ("Exp2Op", "exp2", "2 raised to the operand.", 1, np.exp2),
    ("LogOp", "log", "Natural logarithm.", 1, np.log),
    ("Log2Op", "log2", "Base-2 logarithm.", 1, np.log2),
    ("Log10Op", "log10", "Base-10 logarithm.", 1, np.log10),
    ("SqrtOp", "sqrt", "Square root.", 1, np.sqrt),
    ("PowOp", "pow", "lhs raised to the power rhs.", 2, np.power),
    ("SinOp", "sin", "Sine (radians).", 1, np.sin),
    ("CosOp", "cos", "Cosine (radians).", 1, np.cos),
    ("TanhOp", "tanh", "Hyperbolic tangent.", 1, np.tanh),
    ("FAbsOp", "fabs", "Absolute value.", 1, np.abs),
    ("MinNumOp", "minnum", "Minimum, returning the other operand when one is NaN.", 2, np.fmin),
    ("MaxNumOp", "maxnum", "Maximum, returning the other operand when one is NaN.", 2, np.fmax),
    ("MinimumOp", "minimum", "Minimum propagating NaN, -0 below +0.", 2, np.minimum),
    ("MaximumOp", "maximum", "Maximum propagating NaN, -0 below +0.", 2, np.maximum),
    ("FloorOp", "floor", "Rounds down to an integral value.", 1, np.floor),
    ("CeilOp", "ceil", "Rounds up to an integral value.", 1, np.ceil),
    ("RoundOp", "round", "Rounds to nearest, halfway cases away from zero.", 1, _round_half_away),
    ("RoundEvenOp", "roundeven", "Rounds to nearest, halfway cases to even.", 1, np.rint),
    ("TruncIntrOp", "trunc", "Rounds toward zero to an integral value.", 1, np.trunc),
    ("CopySignOp", "copysign", "The magnitude of lhs with the sign of rhs.", 2, np.copysign),
]

for _name, _mnemonic, _doc, _arity, _fn in _INTRINSICS:
    globals()[_name] = _intrinsic(_name, _mnemonic, _doc, _arity, _fn)


class _VectorReduce(_FastMath, Operation):
    res = result(FloatLike)
    fastmathFlags = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    traits = (Pure(),)
    undefined_behavior = undefined.fastmath

    @property
    def intrinsic(self) -> str:
        return "llvm." + self.name[len("llvm.intr."):]

    def _check_vector(self, v) -> None:
        if not isinstance(v.type, VectorType) or v.type.rank != 1 or not is_float_like(v.type):
            raise self.error(f"expects a rank-1 float vector, got {v.type}")
        if self.res.type != v.type.element_type:
            raise self.error(f"result type {self.res.type} must be the element type of {v.type}")


class _VectorReduceFromStart(_VectorReduce):
    """A float reduction that folds the vector's elements, in order, onto a start value."""

    start_value = operand(FloatLike)
    input = operand(FloatLike)
    assembly = "`(` $start_value `,` $input `)` attr-dict `:` functional-type(operands, $res)"
    combine = None  # the numpy function applied element by element, set by each op

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [operands[0].type]

    def verify(self) -> None:
        self._check_vector(self.input)
        if self.start_value.type != self.res.type:
            raise self.error(f"start value type {self.start_value.type} must be {self.res.type}")

    @classmethod
    def reference(cls, start_value, input):
        acc = np.asarray(start_value)
        for x in np.asarray(input):
            acc = cls.combine(acc, x)
        return acc


class VectorReduceFAddOp(_VectorReduceFromStart):
    """start_value + the sum of the vector's elements, in order unless `reassoc` allows any
    order (LLVM `llvm.vector.reduce.fadd`)."""

    name = "llvm.intr.vector.reduce.fadd"
    combine = staticmethod(np.add)


class VectorReduceFMulOp(_VectorReduceFromStart):
    """start_value times the product of the vector's elements (LLVM `llvm.vector.reduce.fmul`)."""

    name = "llvm.intr.vector.reduce.fmul"
    combine = staticmethod(np.multiply)


class _VectorReduceUnary(_VectorReduce):
    input = operand(FloatLike)
    assembly = "`(` $input `)` attr-dict `:` functional-type($input, $res)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [operands[0].type.element_type]

    def verify(self) -> None:
        self._check_vector(self.input)


class VectorReduceFMaxOp(_VectorReduceUnary):
    """The largest element, NaN only if all are NaN (LLVM `llvm.vector.reduce.fmax`)."""

    name = "llvm.intr.vector.reduce.fmax"

    @staticmethod
    def reference(input):
        return np.fmax.reduce(np.asarray(input))


class VectorReduceFMinOp(_VectorReduceUnary):
    """The smallest element, NaN only if all are NaN (LLVM `llvm.vector.reduce.fmin`)."""

    name = "llvm.intr.vector.reduce.fmin"

    @staticmethod
    def reference(input):
        return np.fmin.reduce(np.asarray(input))
