"""rewrites: the named functions rules call, registered from Python.

A rule file cannot say everything: "these two permutations compose to the identity" is a
constraint, "the composed permutation" is a value to build. Such functions are ordinary
Python registered under a name (`@constraint_function`, `@builder_function`), then called
from `.rules` files and Python rules alike, as NativeCodeCall is from MLIR's DRR.

- A constraint receives what the match bound (Values, Attributes, Types) and literals, and
  returns a bool.
- A builder receives the rewriter first, then its arguments, and returns a Value, an
  Operation (its results are used), an Attribute (a constant, or an attribute of an op being
  built) or a Type. It may create ops through the rewriter; it must not touch other IR.

Type classes (`x : integer` in a rule) are named predicates over types, registered the same
way with `@type_class`."""

from __future__ import annotations

from typing import Callable

import numpy as np

from descend.ir import (ArrayAttr, ConstantLike, DenseArrayAttr, FloatType, IndexType, IntegerAttr,
                        IntegerType, ShapedType, TensorType, Type, Value, VectorType)
from descend.ir.types import element_type_of

CONSTRAINTS: dict[str, Callable[..., bool]] = {}
BUILDERS: dict[str, Callable[..., object]] = {}
TYPE_CLASSES: dict[str, Callable[[Type], bool]] = {}


def _register(table: dict, kind: str, name: str | None, fn: Callable | None):
    def register(f: Callable) -> Callable:
        key = name or f.__name__
        table[key] = f
        return f
    if fn is not None:
        return register(fn)
    if callable(name):  # used bare: @constraint_function
        f, name = name, None
        return register(f)
    return register


def constraint_function(name: str | Callable | None = None, fn: Callable | None = None):
    """Register a constraint: `@constraint_function("is_inverse") def f(p, q) -> bool`."""
    return _register(CONSTRAINTS, "constraint", name, fn)


def builder_function(name: str | Callable | None = None, fn: Callable | None = None):
    """Register a builder: `@builder_function("compose") def f(rewriter, p, q) -> Attribute`."""
    return _register(BUILDERS, "builder", name, fn)


def type_class(name: str | Callable | None = None, fn: Callable | None = None):
    """Register a type class usable as `x : name` in rules."""
    return _register(TYPE_CLASSES, "type class", name, fn)


# ---- values of constants ------------------------------------------------------------------------

def constant_value(value) -> np.ndarray | None:
    """The numpy value of a Value defined by a constant op (None otherwise)."""
    from descend.dialects.numeric import constant_of
    if not isinstance(value, Value):
        return None
    return constant_of(value)


def is_constant_value(value) -> bool:
    op = value.defining_op if isinstance(value, Value) else None
    return op is not None and op.definition is not None and op.has_trait(ConstantLike)


def splat_equals(value: Value, k) -> bool:
    """Is `value` a constant whose every element equals k? Integers are signless: k is
    taken modulo 2^width (-1 matches `true : i1` and `255 : i8`). -0.0 is not 0.0
    (x + -0.0 == x holds for every float x, x + 0.0 does not), and NaN equals nothing."""
    c = constant_value(value)
    if c is None:
        return False
    c = np.asarray(c)
    if c.dtype == np.bool_ or c.dtype.kind in "iu":
        if isinstance(k, float) and not float(k).is_integer():
            return False
        width = 1 if c.dtype == np.bool_ else c.dtype.itemsize * 8
        bits = int(k) & ((1 << width) - 1)
        k = bool(bits) if c.dtype == np.bool_ else np.array(bits, dtype=np.uint64).astype(c.dtype)
    try:
        if not bool(np.all(c == k)):
            return False
    except (OverflowError, TypeError):
        return False
    if c.dtype.kind == "f" and k == 0:
        return bool(np.all(np.signbit(c) == np.signbit(np.float64(k))))
    return True


def integer_list(attr) -> list[int] | None:
    """The integers of a DenseArrayAttr, ArrayAttr of IntegerAttr, or dense elements attr."""
    if isinstance(attr, DenseArrayAttr):
        return [int(v) for v in attr]
    if isinstance(attr, ArrayAttr) and all(isinstance(e, IntegerAttr) for e in attr):
        return [e.value for e in attr]
    array = getattr(attr, "array", None)
    if array is not None and np.asarray(array).dtype.kind in "iu":
        return [int(v) for v in np.asarray(array).reshape(-1)]
    return None


# ---- built-in constraints -------------------------------------------------------------------------

@constraint_function("is_constant")
def _is_constant(x) -> bool:
    return is_constant_value(x)


@constraint_function("not_constant")
def _not_constant(x) -> bool:
    return not is_constant_value(x)


@constraint_function("has_one_use")
def _has_one_use(x) -> bool:
    return isinstance(x, Value) and len(x.uses) == 1


@constraint_function("same_type")
def _same_type(*values) -> bool:
    types = [v.type if isinstance(v, Value) else v for v in values]
    return all(t == types[0] for t in types)


@constraint_function("is_splat")
def _is_splat(x, k) -> bool:
    return splat_equals(x, k)


@constraint_function("one_of")
def _one_of(x, *values) -> bool:
    """The attribute (or literal) x has one of `values`: `one_of(p, 0, 3, 5)` for a set of
    cmpi predicates."""
    value = getattr(x, "value", x)
    return any(value == v for v in values)


@constraint_function("is_permutation")
def _is_permutation(p) -> bool:
    perm = integer_list(p)
    return perm is not None and sorted(perm) == list(range(len(perm)))


@constraint_function("compose_to_identity")
def compose_to_identity(p, q) -> bool:
    """transpose(transpose(x, p), q) == x: applying p then q puts every axis back."""
    first, second = integer_list(p), integer_list(q)
    if first is None or second is None or len(first) != len(second):
        return False
    if sorted(first) != list(range(len(first))) or sorted(second) != list(range(len(first))):
        return False
    return [first[axis] for axis in second] == list(range(len(first)))


# ---- built-in builders --------------------------------------------------------------------------------

@builder_function("compose_permutations")
def compose_permutations(rewriter, p, q):
    """The single permutation equal to transposing by p, then by q (same attribute kind as p)."""
    first, second = integer_list(p), integer_list(q)
    composed = [first[axis] for axis in second]
    if isinstance(p, DenseArrayAttr):
        return DenseArrayAttr(p.element_type, composed)
    return ArrayAttr([IntegerAttr(v, e.type) for v, e in zip(composed, p)])


# ---- built-in type classes ------------------------------------------------------------------------------

def _element(t: Type) -> Type:
    return element_type_of(t)


TYPE_CLASSES.update({
    "integer": lambda t: isinstance(_element(t), IntegerType),
    "index": lambda t: isinstance(_element(t), IndexType),
    "int-or-index": lambda t: isinstance(_element(t), (IntegerType, IndexType)),
    "float": lambda t: isinstance(_element(t), FloatType),
    "scalar": lambda t: not isinstance(t, ShapedType),
    "tensor": lambda t: isinstance(t, TensorType),
    "vector": lambda t: isinstance(t, VectorType),
    "shaped": lambda t: isinstance(t, ShapedType),
    "any": lambda t: True,
})
