"""graph: what every graph op shares — static tensor types, attribute declarators, shape
inference that is also the verifier, numpy broadcasting, and the fusion kind of each op.

An op declares `infer(types, attrs) -> [result types]` once. Construction uses it to give
results their types, and the verifier runs it again and compares, so a shape rule is
written in one place and its errors (raised as ShapeError, naming the shapes) read the
same whether they come from the importer, a pass, or a hand-written IR file."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Sequence

import numpy as np

from descend.ir import (ArrayAttr, Attribute, DenseArrayAttr, FloatAttr, FloatType, IntegerAttr,
                        IntegerType, Operation, Pure, StringAttr, TensorType, Type, TypeAttr,
                        attribute, f32, i1, i64, numpy_dtype, opt_attribute)


class Kind(IntEnum):
    """How an op fuses, TVM's OpPatternKind: a group may absorb ops of a kind up to its
    anchor's; OPAQUE ops are never fused."""

    ELEMWISE = 0      # out[i] = f(in[i]), same shapes
    BROADCAST = 1     # out[i] = f(in[g(i)]), g drops or zeroes axes
    INJECTIVE = 2     # each output element reads one input element (reshape, transpose, slice)
    REDUCTION = 3     # combines elements along axes (sum, max, softmax's denominator)
    OUT_FUSABLE = 4   # complex anchor whose output loop can absorb elementwise tails (conv, matmul)
    OPAQUE = 8        # anything else: sorting, data-dependent shapes, control flow


class ShapeError(Exception):
    """A shape or type rule failed; the message names the offending shapes."""


# ---- attribute declarators: how graph ops spell ONNX-style attributes --------------------------

def ints(default: Sequence[int] | None = None, doc: str = ""):
    """A list of integers, `array<i64: 1, 2>` (MLIR's DenseI64ArrayAttr)."""
    if default is None:
        return opt_attribute(DenseArrayAttr, doc=doc)
    return attribute(DenseArrayAttr, default=DenseArrayAttr(i64, list(default)), doc=doc)


def floats(default: Sequence[float] | None = None, doc: str = ""):
    if default is None:
        return opt_attribute(DenseArrayAttr, doc=doc)
    return attribute(DenseArrayAttr, default=DenseArrayAttr(f32, list(default)), doc=doc)


def int_(default: int | None = None, doc: str = ""):
    if default is None:
        return attribute(IntegerAttr, doc=doc)
    return attribute(IntegerAttr, default=IntegerAttr(int(default), i64), doc=doc)


def float_(default: float | None = None, doc: str = ""):
    if default is None:
        return attribute(FloatAttr, doc=doc)
    return attribute(FloatAttr, default=FloatAttr(float(default), f32), doc=doc)


def string(default: str | None = None, doc: str = ""):
    if default is None:
        return attribute(StringAttr, doc=doc)
    return attribute(StringAttr, default=StringAttr(default), doc=doc)


def type_(doc: str = ""):
    return attribute(TypeAttr, doc=doc)


def to_attribute(value: Any) -> Attribute:
    """A Python value as the attribute a graph op stores: int -> i64, float -> f32, str,
    Type, and lists of ints/floats as dense arrays."""
    if isinstance(value, Attribute):
        return value
    if isinstance(value, Type):
        return TypeAttr(value)
    if isinstance(value, (bool, np.bool_)):
        return IntegerAttr(int(value), i64)
    if isinstance(value, (int, np.integer)):
        return IntegerAttr(int(value), i64)
    if isinstance(value, (float, np.floating)):
        return FloatAttr(float(value), f32)
    if isinstance(value, (str, bytes)):
        return StringAttr(value.decode() if isinstance(value, bytes) else value)
    values = list(np.asarray(value).reshape(-1).tolist()) if isinstance(value, np.ndarray) else list(value)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return DenseArrayAttr(i64, values)
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
        return DenseArrayAttr(f32, values)
    if all(isinstance(v, (str, bytes)) for v in values):
        return ArrayAttr([to_attribute(v) for v in values])
    raise TypeError(f"no graph attribute for {value!r}")


class Attrs:
    """An op's attributes as Python values (lists, ints, floats, str, Type), defaults
    filled in: what `infer` reads. Missing optional attributes read as None."""

    __slots__ = ("_properties", "_definition")

    def __init__(self, op_class, properties: dict):
        self._properties = properties
        self._definition = op_class.definition

    def __getattr__(self, name: str):
        attr = self._properties.get(name)
        if attr is None:
            d = self._definition.attributes.get(name)
            if d is None:
                raise AttributeError(name)
            attr = d.default
        return python_value(attr)


def python_value(attr: Attribute | None):
    if attr is None:
        return None
    if isinstance(attr, DenseArrayAttr):
        return attr.array.tolist()
    if isinstance(attr, (IntegerAttr, FloatAttr, StringAttr)):
        return attr.value
    if isinstance(attr, TypeAttr):
        return attr.type
    if isinstance(attr, ArrayAttr):
        return [python_value(a) for a in attr.elements]
    return attr


# ---- shapes ---------------------------------------------------------------------------------

def shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) if len(shape) else "scalar"


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """numpy's (and ONNX's multidirectional) broadcasting of shapes."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(rank):
        sizes = {s[len(s) - rank + axis] for s in shapes if len(s) - rank + axis >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise ShapeError("shapes " + ", ".join(f"[{shape_text(s)}]" for s in shapes)
                             + " do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def normalize_axis(axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < max(rank, 1):
        raise ShapeError(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def tensor(shape: Sequence[int], element: Type) -> TensorType:
    return TensorType(tuple(int(d) for d in shape), element)


def element_of(t: Type) -> Type:
    return t.element_type if isinstance(t, TensorType) else t


def is_float(t: Type) -> bool:
    return isinstance(element_of(t), FloatType)


def is_bool(t: Type) -> bool:
    e = element_of(t)
    return isinstance(e, IntegerType) and e.width == 1


def dtype_of(t: Type) -> np.dtype:
    return numpy_dtype(element_of(t))


def same_elements(types: Sequence[Type], what: str = "operands") -> Type:
    elements = {element_of(t) for t in types}
    if len(elements) > 1:
        raise ShapeError(f"{what} must have one element type, got "
                         + ", ".join(str(t) for t in types))
    return element_of(types[0])


# ---- the op base ------------------------------------------------------------------------------

class GraphOp(Operation):
    """Base of graph ops: value-semantics tensors with static shapes, no side effects.

    Subclasses set `name`, fields, `kind`, and override `infer` (and `reference`)."""

    kind = Kind.OPAQUE
    traits = (Pure(),)
    assembly = "operands attr-dict `:` functional-type(operands, results)"

    @classmethod
    def infer(cls, types: list[Type], attrs: Attrs) -> list[Type]:
        raise ShapeError("has no shape inference")

    @classmethod
    def infer_result_types(cls, operands, properties):
        types = [v.type for v in operands]
        try:
            _check_static(types)
            return cls.infer(types, Attrs(cls, properties))
        except ShapeError as exc:
            raise TypeError(f"'{cls.name}' {exc}") from None

    def verify(self) -> None:
        types = [v.type for v in self.operands]
        try:
            _check_static(types)
            expected = type(self).infer(types, Attrs(type(self), self.properties))
        except ShapeError as exc:
            raise self.error(str(exc)) from None
        actual = [r.type for r in self.results]
        if len(expected) != len(actual):
            raise self.error(f"has {len(actual)} results, but its operands give {len(expected)}")
        for i, (want, got) in enumerate(zip(expected, actual)):
            if want != got:
                operands = ", ".join(str(t) for t in types)
                raise self.error(f"result #{i} has type {got}, but operands ({operands}) give {want}")


def _check_static(types: Sequence[Type]) -> None:
    for i, t in enumerate(types):
        if not isinstance(t, TensorType):
            raise ShapeError(f"operand #{i} must be a ranked tensor, got {t}")
        if any(d < 0 for d in t.shape):
            raise ShapeError(f"operand #{i} must have a static shape, got {t}")


BOOL = i1
