"""ir: constraints on the types of operands/results and on attributes, with readable names."""

from __future__ import annotations

from typing import Any, Callable

from .attributes import Attribute
from .types import (FloatType, IndexType, IntegerType, MemRefType, ShapedType, TensorType, Type,
                    VectorType, element_type_of)


class Constraint:
    """`check(x)` says whether x satisfies it; `description` names it in errors."""

    description = "anything"

    def check(self, value: Any) -> bool:
        return True

    def check_type(self, type_: Any) -> bool:
        """check() memoised per interned type (types are immutable, so the answer is too)."""
        try:
            return self._type_cache[type_]
        except AttributeError:
            self.__dict__["_type_cache"] = {}  # (bypasses a frozen subclass's __setattr__)
        except KeyError:
            pass
        answer = self.__dict__["_type_cache"][type_] = bool(self.check(type_))
        return answer

    def __or__(self, other) -> "Constraint":
        return AnyOf(self, constraint(other))

    def __repr__(self) -> str:
        return self.description


class IsInstance(Constraint):
    def __init__(self, *classes: type, description: str | None = None):
        self.classes = classes
        self.description = description or " or ".join(_class_name(c) for c in classes)

    def check(self, value):
        return isinstance(value, self.classes)


def _class_name(cls: type) -> str:
    name = cls.__name__
    for suffix in ("Type", "Attr"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name.lower()


class Equals(Constraint):
    def __init__(self, expected):
        self.expected = expected
        self.description = str(expected)

    def check(self, value):
        return value == self.expected


class AnyOf(Constraint):
    def __init__(self, *options: Constraint):
        self.options = options
        self.description = " or ".join(o.description for o in options)

    def check(self, value):
        return any(o.check(value) for o in self.options)


class Predicate(Constraint):
    def __init__(self, fn: Callable[[Any], bool], description: str):
        self.fn = fn
        self.description = description

    def check(self, value):
        return bool(self.fn(value))


def constraint(spec: Any) -> Constraint:
    """Normalise a field's constraint spec: a class, an instance, a tuple, a callable."""
    if spec is None:
        return ANY
    if isinstance(spec, Constraint):
        return spec
    if isinstance(spec, type):
        return IsInstance(spec)
    if isinstance(spec, (Type, Attribute)):
        return Equals(spec)
    if isinstance(spec, tuple):
        return AnyOf(*(constraint(s) for s in spec))
    if callable(spec):
        return Predicate(spec, getattr(spec, "__name__", "predicate"))
    raise TypeError(f"not a constraint: {spec!r}")


ANY = Constraint()


def _element_is(kind) -> Callable[[Type], bool]:
    def check(t: Type) -> bool:
        if isinstance(t, ShapedType) and not isinstance(t, (TensorType, VectorType)):
            return False
        return isinstance(element_type_of(t), kind)
    return check


def _signless(t: Type) -> bool:
    e = element_type_of(t)
    return isinstance(e, IndexType) or (isinstance(e, IntegerType) and e.signedness == "")


# The usual type constraints of arith/math: a scalar, or a tensor/vector of it.
SignlessIntegerLike = Predicate(
    lambda t: _signless(t) and not isinstance(t, MemRefType) and isinstance(element_type_of(t), IntegerType),
    "signless-integer-like")
IntegerOrIndexLike = Predicate(lambda t: _signless(t) and not isinstance(t, MemRefType),
                               "signless-integer-or-index-like")
FloatLike = Predicate(_element_is(FloatType), "floating-point-like")
BoolLike = Predicate(lambda t: element_type_of(t) == IntegerType(1) and not isinstance(t, MemRefType),
                     "bool-like")
AnyType = IsInstance(Type, description="any type")
AnyAttr = IsInstance(Attribute, description="any attribute")
