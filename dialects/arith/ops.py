"""arith: integer and float arithmetic on scalars and on tensors/vectors of them (MLIR's
arith dialect): constants, binary ops, comparisons, select. Signless integers carry no sign:
each op decides (divsi vs divui) and wraps modulo 2^width; floats keep their precision."""

from __future__ import annotations

import numpy as np

from ...ir import (Attribute, BoolLike, Commutative, ConstantLike, CustomDirective, FloatLike, FloatType,
                   IntegerAttr, IntegerOrIndexLike, IntegerType, Operation, Pure, SameOperandsAndResultType,
                   ShapedType, TensorType, VectorType, attribute, i1, i64, operand, result)
from ...ir.constraints import AnyAttr, Predicate
from ...ir.interpreter import evaluate_reference
from ...ir.types import element_type_of
from ..numeric import attr_to_value, constant_attr, constant_of, signed, unsigned, value_to_attr, width_of
from . import undefined
from .attrs import (CMPF_PREDICATES, CMPF_SYNTAX, CMPI_PREDICATES, CMPI_SYNTAX, FASTMATH,
                    FASTMATH_NONE, OVERFLOW, OVERFLOW_NONE, FastMathFlagsAttr,
                    IntegerOverflowFlagsAttr)


# ---- shared machinery ----------------------------------------------------------------------

def fold_constants(op: Operation):
    """Evaluate `op` when every operand is a constant: the folder every pure arith op shares.
    Poison folds to the wrapped value (any value refines it); undefined behaviour such as a
    division by zero does not fold."""
    values = []
    for operand in op._operands:
        value = constant_of(operand)
        if value is None:
            return None
        values.append(value)
    if not values:
        return None
    try:
        (out,) = evaluate_reference(op, values, refine_poison=True)
        return value_to_attr(out, op.results[0].type)
    except Exception:  # noqa: BLE001 - a folder that cannot evaluate simply does not fold
        return None


def _is(value, k) -> bool:
    """Is `value` a constant whose every element equals k (with k's sign for -0.0)?"""
    attr = constant_attr(value)
    if attr is None:
        return False
    t = value.type
    if type(attr) is IntegerAttr and attr.type is t and type(t) is IntegerType:
        return attr.value == k  # stored wrapped to the type's range, as numpy would hold it
    c = attr_to_value(attr, t)
    if c is None:
        return False
    c = np.asarray(c)
    if c.dtype == np.bool_:
        c = c.astype(np.int64)
    if not bool(np.all(c == k)):
        return False
    if c.dtype.kind == "f" and k == 0:
        return bool(np.all(np.signbit(c) == np.signbit(np.float64(k))))
    return True


def _zero_attr(op: Operation) -> Attribute:
    return value_to_attr(0, op.results[0].type)


class _Elementwise(Operation):
    """Base of the pure elementwise ops: folding of all-constant operands."""

    traits = (Pure(), SameOperandsAndResultType())

    def fold(self):
        return fold_constants(self)


class _IntBinary(_Elementwise):
    lhs = operand(IntegerOrIndexLike)
    rhs = operand(IntegerOrIndexLike)
    result = result(IntegerOrIndexLike)
    assembly = "$lhs `,` $rhs attr-dict `:` type($result)"


class _IntBinaryOverflow(_IntBinary):
    overflowFlags = attribute(IntegerOverflowFlagsAttr, default=OVERFLOW_NONE)
    custom_directives = OVERFLOW
    assembly = "$lhs `,` $rhs custom<Overflow>($overflowFlags) attr-dict `:` type($result)"


class _FloatBinary(_Elementwise):
    lhs = operand(FloatLike)
    rhs = operand(FloatLike)
    result = result(FloatLike)
    fastmath = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    custom_directives = FASTMATH
    assembly = "$lhs `,` $rhs custom<FastMath>($fastmath) attr-dict `:` type($result)"
    undefined_behavior = undefined.fastmath


def _shift_width(a) -> int:
    a = np.asarray(a)
    return 1 if a.dtype == np.bool_ else a.dtype.itemsize * 8


def _trunc_div(a, b):
    """C division (toward zero) on signed values; numpy's // floors."""
    q = a // b
    return q + (((a % b) != 0) & ((a < 0) != (b < 0))).astype(q.dtype)


# ---- constant ------------------------------------------------------------------------------

class ConstantValue(CustomDirective):
    """The value of `arith.constant`: any typed attribute but a dictionary. After MLIR's
    `attr-dict $value`, a `{` must open the attribute dictionary; excluding dictionary values
    keeps that LALR(1). The alternatives reuse the base grammar's attribute aliases."""

    grammar = "arith_constant_value"
    extra_rules = {"arith_constant_value": (
        'INTEGER [":" type] -> integer_attr | FLOAT [":" type] -> float_attr'
        ' | HEX_INTEGER [":" type] -> hex_attr | "true" -> true_attr | "false" -> false_attr'
        ' | "dense" "<" [dense_body] ">" ":" type -> dense_attr'
        ' | "dense_resource" "<" resource_name ">" ":" type -> dense_resource_attr'
        ' | HASH_NAME [pretty_body] -> dialect_attr')}

    def print(self, fp, op, args) -> None:
        fp.emit(fp.p.attr_text(op.value))

    def build(self, state, children, args) -> None:
        values = [c for c in _flatten_children(children) if isinstance(c, Attribute)]
        state.properties["value"] = values[0]
        state.result_types = [values[0].type]


def _flatten_children(item) -> list:
    if isinstance(item, (list, tuple)):
        return [x for child in item for x in _flatten_children(child)]
    return [item]


class ConstantOp(Operation):
    """Produces the constant `value`; its result type is the value's type."""

    name = "arith.constant"
    value = attribute(AnyAttr)
    result = result()
    traits = (Pure(), ConstantLike())
    custom_directives = {"ConstantValue": ConstantValue()}
    assembly = "attr-dict custom<ConstantValue>($value)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        value = properties.get("value")
        if value is None or getattr(value, "type", None) is None:
            raise TypeError("arith.constant: the value attribute must be typed")
        return [value.type]

    @classmethod
    def build(cls, *args, **kwargs) -> "ConstantOp":
        """`ConstantOp.build(value=IntegerAttr(42, i32))`, or `value=42, type=i32` / `value=array, type=tensor`."""
        t = kwargs.pop("type", None)
        value = kwargs.get("value")
        if t is not None and not isinstance(value, Attribute):
            kwargs["value"] = value_to_attr(value, t)
        return super().build(*args, **kwargs)

    def verify(self) -> None:
        value = self.value
        t = getattr(value, "type", None)
        if t is None:
            raise self.error(f"value must be a typed attribute, got {value}")
        if t != self.result.type:
            raise self.error(f"value type {t} must match result type {self.result.type}")
        e = element_type_of(t)
        if isinstance(t, ShapedType) and not isinstance(t, (TensorType, VectorType)):
            raise self.error(f"result must be a scalar, tensor or vector, got {t}")
        if not isinstance(e, FloatType) and not IntegerOrIndexLike.check(t):
            raise self.error(f"value must be an integer, index or float constant, got {t}")

    def fold(self):
        return self.value

    @classmethod
    def sample_operation(cls, s) -> "ConstantOp":
        """descend.testing's hook: a constant of a type on offer, edge values likely."""
        t = s.type(IntegerOrIndexLike | FloatLike)
        return cls.build(value=value_to_attr(s.constant(t), t))

    def interpret(self, interp, args):
        from ..numeric import attr_to_value
        return [attr_to_value(self.value, self.result.type)]


# ---- integer binary ops --------------------------------------------------------------------

class AddIOp(_IntBinaryOverflow):
    """Integer addition, wrapping modulo 2^width."""

    name = "arith.addi"
    undefined_behavior = undefined.overflow(lambda a, b: a + b)
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return unsigned(lhs) + unsigned(rhs)

    def fold(self):
        lhs, rhs = self.lhs, self.rhs
        if _is(rhs, 0):
            return lhs
        if _is(lhs, 0):
            return rhs
        return fold_constants(self)


class SubIOp(_IntBinaryOverflow):
    """Integer subtraction, wrapping modulo 2^width."""

    name = "arith.subi"
    undefined_behavior = undefined.overflow(lambda a, b: a - b)

    @staticmethod
    def reference(lhs, rhs):
        return unsigned(lhs) - unsigned(rhs)

    def fold(self):
        lhs, rhs = self.lhs, self.rhs
        if _is(rhs, 0):
            return lhs
        if lhs is rhs:
            return _zero_attr(self)
        return fold_constants(self)


class MulIOp(_IntBinaryOverflow):
    """Integer multiplication, keeping the low `width` bits."""

    name = "arith.muli"
    undefined_behavior = undefined.overflow(lambda a, b: a * b)
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return unsigned(lhs) * unsigned(rhs)

    def fold(self):
        lhs, rhs = self.lhs, self.rhs
        if _is(rhs, 1):
            return lhs
        if _is(lhs, 1):
            return rhs
        if _is(rhs, 0) or _is(lhs, 0):
            return _zero_attr(self)
        return fold_constants(self)


class DivSIOp(_IntBinary):
    """Signed integer division rounding toward zero (division by zero is undefined)."""

    name = "arith.divsi"
    undefined_behavior = undefined.division(signed_division=True)

    @staticmethod
    def reference(lhs, rhs):
        return _trunc_div(signed(lhs), signed(rhs))

    def fold(self):
        return self.lhs if _is(self.rhs, 1) else fold_constants(self)


class DivUIOp(_IntBinary):
    """Unsigned integer division (division by zero is undefined)."""

    name = "arith.divui"
    undefined_behavior = undefined.division(signed_division=False)

    @staticmethod
    def reference(lhs, rhs):
        return unsigned(lhs) // unsigned(rhs)

    def fold(self):
        return self.lhs if _is(self.rhs, 1) else fold_constants(self)


class CeilDivSIOp(_IntBinary):
    """Signed integer division rounding toward positive infinity."""

    name = "arith.ceildivsi"
    undefined_behavior = undefined.division(signed_division=True)

    @staticmethod
    def reference(lhs, rhs):
        a, b = signed(lhs), signed(rhs)
        q = a // b
        return q + ((a % b) != 0).astype(q.dtype)


class CeilDivUIOp(_IntBinary):
    """Unsigned integer division rounding up."""

    name = "arith.ceildivui"
    undefined_behavior = undefined.division(signed_division=False)

    @staticmethod
    def reference(lhs, rhs):
        a, b = unsigned(lhs), unsigned(rhs)
        q = a // b
        return q + ((a % b) != 0).astype(q.dtype)


class FloorDivSIOp(_IntBinary):
    """Signed integer division rounding toward negative infinity."""

    name = "arith.floordivsi"
    undefined_behavior = undefined.division(signed_division=True)

    @staticmethod
    def reference(lhs, rhs):
        return signed(lhs) // signed(rhs)


class RemSIOp(_IntBinary):
    """Signed remainder; the result has the sign of the dividend (C's %)."""

    name = "arith.remsi"
    undefined_behavior = undefined.division(signed_division=True)

    @staticmethod
    def reference(lhs, rhs):
        return np.fmod(signed(lhs), signed(rhs))


class RemUIOp(_IntBinary):
    """Unsigned remainder."""

    name = "arith.remui"
    undefined_behavior = undefined.division(signed_division=False)

    @staticmethod
    def reference(lhs, rhs):
        return unsigned(lhs) % unsigned(rhs)


class AndIOp(_IntBinary):
    """Bitwise and."""

    name = "arith.andi"
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return unsigned(lhs) & unsigned(rhs)

    def fold(self):
        if self.lhs is self.rhs:
            return self.lhs
        if _is(self.rhs, 0) or _is(self.lhs, 0):
            return _zero_attr(self)
        return fold_constants(self)


class OrIOp(_IntBinary):
    """Bitwise or."""

    name = "arith.ori"
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return unsigned(lhs) | unsigned(rhs)

    def fold(self):
        if self.lhs is self.rhs or _is(self.rhs, 0):
            return self.lhs
        if _is(self.lhs, 0):
            return self.rhs
        return fold_constants(self)


class XOrIOp(_IntBinary):
    """Bitwise exclusive or."""

    name = "arith.xori"
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return unsigned(lhs) ^ unsigned(rhs)

    def fold(self):
        if self.lhs is self.rhs:
            return _zero_attr(self)
        if _is(self.rhs, 0):
            return self.lhs
        if _is(self.lhs, 0):
            return self.rhs
        return fold_constants(self)


class ShLIOp(_IntBinaryOverflow):
    """Shift left; a shift amount of at least the bit width is undefined (gives 0 here)."""

    name = "arith.shli"
    undefined_behavior = undefined.shift_left

    @staticmethod
    def reference(lhs, rhs):
        a, b = unsigned(lhs), unsigned(rhs)
        width = _shift_width(lhs)
        return np.where(b >= width, 0, a << (b % width)).astype(a.dtype)

    def fold(self):
        return self.lhs if _is(self.rhs, 0) else fold_constants(self)


class ShRSIOp(_IntBinary):
    """Arithmetic shift right (the sign bit is replicated); too large a shift is undefined."""

    name = "arith.shrsi"
    undefined_behavior = undefined.shift_right

    @staticmethod
    def reference(lhs, rhs):
        a, b = signed(lhs), unsigned(rhs)
        width = _shift_width(lhs)
        return np.where(b >= width, 0, a >> (b % width).astype(a.dtype)).astype(a.dtype)

    def fold(self):
        return self.lhs if _is(self.rhs, 0) else fold_constants(self)


class ShRUIOp(_IntBinary):
    """Logical shift right (zeros shifted in); too large a shift is undefined."""

    name = "arith.shrui"
    undefined_behavior = undefined.shift_right

    @staticmethod
    def reference(lhs, rhs):
        a, b = unsigned(lhs), unsigned(rhs)
        width = _shift_width(lhs)
        return np.where(b >= width, 0, a >> (b % width)).astype(a.dtype)

    def fold(self):
        return self.lhs if _is(self.rhs, 0) else fold_constants(self)


class _MinMaxI(_IntBinary):
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    def fold(self):
        return self.lhs if self.lhs is self.rhs else fold_constants(self)


class MaxSIOp(_MinMaxI):
    """Signed maximum."""

    name = "arith.maxsi"

    @staticmethod
    def reference(lhs, rhs):
        return np.maximum(signed(lhs), signed(rhs))


class MinSIOp(_MinMaxI):
    """Signed minimum."""

    name = "arith.minsi"

    @staticmethod
    def reference(lhs, rhs):
        return np.minimum(signed(lhs), signed(rhs))


class MaxUIOp(_MinMaxI):
    """Unsigned maximum."""

    name = "arith.maxui"

    @staticmethod
    def reference(lhs, rhs):
        return np.maximum(unsigned(lhs), unsigned(rhs))


class MinUIOp(_MinMaxI):
    """Unsigned minimum."""

    name = "arith.minui"

    @staticmethod
    def reference(lhs, rhs):
        return np.minimum(unsigned(lhs), unsigned(rhs))


# ---- float ops -----------------------------------------------------------------------------

class AddFOp(_FloatBinary):
    """IEEE addition in the operand precision."""

    name = "arith.addf"
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return np.add(lhs, rhs)

    def fold(self):
        # x + -0.0 == x for every x (x + 0.0 is not: -0.0 + 0.0 is +0.0).
        if _is(self.rhs, -0.0):
            return self.lhs
        return fold_constants(self)


class SubFOp(_FloatBinary):
    """IEEE subtraction."""

    name = "arith.subf"

    @staticmethod
    def reference(lhs, rhs):
        return np.subtract(lhs, rhs)

    def fold(self):
        return self.lhs if _is(self.rhs, 0.0) else fold_constants(self)


class MulFOp(_FloatBinary):
    """IEEE multiplication."""

    name = "arith.mulf"
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return np.multiply(lhs, rhs)

    def fold(self):
        if _is(self.rhs, 1.0):
            return self.lhs
        if _is(self.lhs, 1.0):
            return self.rhs
        return fold_constants(self)


class DivFOp(_FloatBinary):
    """IEEE division."""

    name = "arith.divf"

    @staticmethod
    def reference(lhs, rhs):
        return np.divide(lhs, rhs)

    def fold(self):
        return self.lhs if _is(self.rhs, 1.0) else fold_constants(self)


class RemFOp(_FloatBinary):
    """Float remainder with the sign of the dividend (C's fmod)."""

    name = "arith.remf"

    @staticmethod
    def reference(lhs, rhs):
        return np.fmod(lhs, rhs)


class MaximumFOp(_FloatBinary):
    """Maximum that propagates NaN and orders -0.0 below +0.0 (IEEE maximum)."""

    name = "arith.maximumf"
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return np.maximum(lhs, rhs)


class MinimumFOp(_FloatBinary):
    """Minimum that propagates NaN (IEEE minimum)."""

    name = "arith.minimumf"
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return np.minimum(lhs, rhs)


class MaxNumFOp(_FloatBinary):
    """Maximum that returns the other operand when one is NaN (IEEE maxNum)."""

    name = "arith.maxnumf"
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return np.fmax(lhs, rhs)


class MinNumFOp(_FloatBinary):
    """Minimum that returns the other operand when one is NaN (IEEE minNum)."""

    name = "arith.minnumf"
    traits = (Pure(), SameOperandsAndResultType(), Commutative())

    @staticmethod
    def reference(lhs, rhs):
        return np.fmin(lhs, rhs)


class NegFOp(_Elementwise):
    """Flips the sign bit (also of NaN and zero)."""

    name = "arith.negf"
    operand_ = operand(FloatLike)
    result = result(FloatLike)
    fastmath = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    custom_directives = FASTMATH
    assembly = "$operand_ custom<FastMath>($fastmath) attr-dict `:` type($result)"
    undefined_behavior = undefined.fastmath

    @staticmethod
    def reference(operand_):
        return np.negative(operand_)


# ---- comparisons and select ----------------------------------------------------------------

def _bool_like_of(t):
    if isinstance(t, ShapedType):
        return t.__class__(t.shape, i1) if isinstance(t, (TensorType, VectorType)) else None
    return i1


class _Compare(Operation):
    traits = (Pure(),)
    result = result(BoolLike)

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [_bool_like_of(operands[0].type)]

    def verify(self) -> None:
        if self.lhs.type != self.rhs.type:
            raise self.error(f"requires all operands to have the same type, got {self.lhs.type} "
                             f"and {self.rhs.type}")
        expected = _bool_like_of(self.lhs.type)
        if self.result.type != expected:
            raise self.error(f"result type {self.result.type} should be {expected}")

    def fold(self):
        return fold_constants(self)


class CmpIOp(_Compare):
    """Compares integers by `predicate` (eq, ne, slt, sle, sgt, sge, ult, ule, ugt, uge),
    reading the operands as signed or unsigned as the predicate says; gives i1."""

    name = "arith.cmpi"
    predicate = attribute(IntegerAttr, syntax=CMPI_SYNTAX)
    lhs = operand(IntegerOrIndexLike)
    rhs = operand(IntegerOrIndexLike)
    assembly = "$predicate `,` $lhs `,` $rhs attr-dict `:` type($lhs)"

    @classmethod
    def build(cls, *args, **kwargs):
        if isinstance(kwargs.get("predicate"), str):
            kwargs["predicate"] = IntegerAttr(CMPI_PREDICATES.index(kwargs["predicate"]), i64)
        return super().build(*args, **kwargs)

    def verify(self) -> None:
        if not 0 <= self.predicate.value < len(CMPI_PREDICATES):
            raise self.error(f"predicate {self.predicate.value} is not a cmpi predicate (0-9)")
        super().verify()

    @staticmethod
    def reference(lhs, rhs, predicate=0):
        name = CMPI_PREDICATES[predicate]
        a, b = (unsigned(lhs), unsigned(rhs)) if name[0] in "ue" or name == "ne" else (signed(lhs), signed(rhs))
        op = name[1:] if name[0] in "su" else name
        return {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                "gt": np.greater, "ge": np.greater_equal}[op](a, b)


class CmpFOp(_Compare):
    """Compares floats by `predicate`: o* predicates are false and u* predicates true when
    either operand is NaN; `false` and `true` ignore the operands."""

    name = "arith.cmpf"
    predicate = attribute(IntegerAttr, syntax=CMPF_SYNTAX)
    lhs = operand(FloatLike)
    rhs = operand(FloatLike)
    fastmath = attribute(FastMathFlagsAttr, default=FASTMATH_NONE)
    custom_directives = FASTMATH
    assembly = "$predicate `,` $lhs `,` $rhs custom<FastMath>($fastmath) attr-dict `:` type($lhs)"
    undefined_behavior = undefined.fastmath

    @classmethod
    def build(cls, *args, **kwargs):
        if isinstance(kwargs.get("predicate"), str):
            kwargs["predicate"] = IntegerAttr(CMPF_PREDICATES.index(kwargs["predicate"]), i64)
        return super().build(*args, **kwargs)

    def verify(self) -> None:
        if not 0 <= self.predicate.value < len(CMPF_PREDICATES):
            raise self.error(f"predicate {self.predicate.value} is not a cmpf predicate (0-15)")
        super().verify()

    @staticmethod
    def reference(lhs, rhs, predicate=0):
        name = CMPF_PREDICATES[predicate]
        a, b = np.asarray(lhs), np.asarray(rhs)
        unordered = np.isnan(a) | np.isnan(b)
        if name in ("false", "true"):
            return np.full(np.broadcast(a, b).shape, name == "true")
        if name == "ord":
            return ~unordered
        if name == "uno":
            return unordered
        base = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                "gt": np.greater, "ge": np.greater_equal}[name[1:]](a, b)
        return (base & ~unordered) if name[0] == "o" else (base | unordered)


class SelectTypes(CustomDirective):
    """Type part of `arith.select`: `: i32`, or `: vector<4xi1>, vector<4xi32>` when the
    condition is shaped (MLIR prints the condition type only then)."""

    grammar = 'type ("," type)?'
    extra_rules: dict = {}
    provides_types = ("condition", "true_value", "false_value", "result")

    def print(self, fp, op, args) -> None:
        p = fp.p
        c = op.condition.type
        text = p.type_text(op.result.type)
        fp.emit(f"{p.type_text(c)}, {text}" if isinstance(c, ShapedType) else text)

    def build(self, state, children, args) -> None:
        types = [c for c in children if not isinstance(c, (list, str))]
        state.result_types = [types[-1]]


class SelectOp(Operation):
    """Chooses `true_value` where `condition` is true, else `false_value` (elementwise when
    the condition is shaped)."""

    name = "arith.select"
    condition = operand(BoolLike)
    true_value = operand()
    false_value = operand()
    result = result()
    traits = (Pure(),)
    custom_directives = {"SelectTypes": SelectTypes()}
    assembly = "$condition `,` $true_value `,` $false_value attr-dict `:` custom<SelectTypes>()"

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [operands[1].type]

    def verify(self) -> None:
        t = self.result.type
        if self.true_value.type != t or self.false_value.type != t:
            raise self.error(f"requires the same type for true value, false value and result, got "
                             f"{self.true_value.type}, {self.false_value.type} and {t}")
        c = self.condition.type
        if isinstance(c, ShapedType):
            if not isinstance(t, ShapedType) or tuple(c.shape) != tuple(t.shape):
                raise self.error(f"expected condition type to have the same shape as the result "
                                 f"type, expected {_bool_like_of(t)}, but got {c}")

    @staticmethod
    def reference(condition, true_value, false_value):
        return np.where(condition, true_value, false_value)

    def fold(self):
        if self.true_value is self.false_value:
            return self.true_value
        c = constant_of(self.condition)
        if c is not None and np.ndim(c) == 0:
            return self.true_value if bool(c) else self.false_value
        return fold_constants(self)
