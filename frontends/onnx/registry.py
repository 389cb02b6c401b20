"""ONNX -> graph: the converter registry and the view of one ONNX node a converter gets.

A converter turns one ONNX node into graph ops:

    @converter("Gemm")
    def gemm(node: Node) -> Value | list[Value]:
        a, b, c = node.inputs                  # Values; None for an omitted optional input
        alpha = node.attr("alpha", 1.0)
        ...
        return node.build(graph.GemmOp, a, b, c, alpha=alpha)

It raises `Unsupported("why")` for what it cannot express (an attribute value, a dtype, a
shape input that is not constant); the importer collects those for every node before
failing, so a user sees the whole list at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from descend.ir import DenseElementsAttr, Location, OpResult, Operation, TensorType, Type, Value
from descend.ir.interpreter import evaluate_reference

CONVERTERS: dict[tuple[str, str], "Converter"] = {}

# Results of ops whose operands are all constants are computed at import when no larger
# than this (shape arithmetic: Shape -> Gather -> Concat -> Reshape); bigger constant
# subgraphs are left to the fold-constants pass and its own limit.
IMPORT_FOLD_LIMIT = 1 << 16


class Unsupported(Exception):
    """This node cannot be imported; the message says what is missing."""


@dataclass
class Converter:
    op_type: str
    domain: str
    fn: Callable
    since: int        # earliest opset whose semantics `fn` implements (older ones are upgraded)


def converter(*op_types: str, domain: str = "", since: int = 1):
    """Register `fn` as the converter of ONNX op types `op_types` in `domain`."""
    def register(fn):
        for op_type in op_types:
            CONVERTERS[(domain, op_type)] = Converter(op_type, domain, fn, since)
        return fn
    return register


def lookup(op_type: str, domain: str = "") -> Converter | None:
    if domain == "ai.onnx":
        domain = ""
    return CONVERTERS.get((domain, op_type))


class Node:
    """One ONNX node while it converts: its inputs as Values, its attributes as Python
    values, and a builder that puts new ops at the node's location and folds constants."""

    def __init__(self, proto, inputs: Sequence[Value | None], importer, location: Location,
                 opset: int, output_types: Sequence[Type | None]):
        self.proto = proto
        self.op_type = proto.op_type
        self.name = proto.name
        self.inputs = list(inputs)
        self.importer = importer
        self.location = location
        self.opset = opset
        self.output_types = list(output_types)  # ONNX's shape inference, None when unknown
        self._attrs = {a.name: a for a in proto.attribute}

    # ---- attributes ----------------------------------------------------------------------

    def has_attr(self, name: str) -> bool:
        return name in self._attrs

    def attr(self, name: str, default: Any = None) -> Any:
        """The attribute's value as Python (ints, floats, str, lists, numpy for tensors)."""
        import onnx
        proto = self._attrs.get(name)
        if proto is None:
            return default
        value = onnx.helper.get_attribute_value(proto)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, list) and value and isinstance(value[0], bytes):
            return [v.decode("utf-8", "replace") for v in value]
        if isinstance(value, onnx.TensorProto):
            return onnx.numpy_helper.to_array(value)
        return value

    def require_attr(self, name: str) -> Any:
        if name not in self._attrs:
            raise Unsupported(f"attribute '{name}' is required")
        return self.attr(name)

    # ---- inputs ----------------------------------------------------------------------------

    def input(self, index: int) -> Value | None:
        return self.inputs[index] if index < len(self.inputs) else None

    def const(self, index: int) -> np.ndarray | None:
        """The value of input `index` if it is a constant (known at import), else None."""
        value = self.input(index)
        return None if value is None else constant_value(value)

    def require_const(self, index: int, what: str) -> np.ndarray:
        """Input `index` as a constant: shapes are static here, so inputs that decide a
        shape (Reshape's shape, Slice's starts, ...) must be known at import."""
        value = self.input(index)
        if value is None:
            raise Unsupported(f"input #{index} ({what}) is missing")
        array = constant_value(value)
        if array is None:
            # the graph inputs this value is computed from: freezing them makes it constant
            self.importer.needs_constant.update(self.importer.argument_names[a] for a in _arguments_behind(value)
                                                if a in self.importer.argument_names)
            raise Unsupported(f"input #{index} ({what}) must be a constant: static shapes need it at import")
        return array

    # ---- building ----------------------------------------------------------------------------

    def build(self, op_class, *operands, result_types=None, **attributes) -> Value | Operation:
        """Build `op_class` at the node's location; attributes given as Python values. An op
        whose operands are all constants is evaluated now and becomes a constant (within
        IMPORT_FOLD_LIMIT). Returns the result (or the op, for several results)."""
        from descend.dialects.graph import to_attribute
        fields = {k: to_attribute(v) for k, v in attributes.items() if v is not None}
        op = op_class.build(*operands, result_types=result_types, location=self.location, **fields)
        op = self.importer.insert(op)
        return op.results[0] if len(op.results) == 1 else op

    def constant(self, array, element: Type | None = None) -> Value:
        """A graph.constant holding `array` (cast to `element` when given)."""
        return self.importer.constant(np.asarray(array), element, self.location)


def constant_value(value: Value) -> np.ndarray | None:
    op = value.owner if isinstance(value, OpResult) else None
    if op is not None and op.name == "graph.constant":
        return np.asarray(op.properties["value"].array)
    return None


def _arguments_behind(value: Value, limit: int = 256) -> set:
    """Block arguments `value` is computed from (its backward slice, bounded)."""
    seen, found, work = set(), set(), [value]
    while work and len(seen) < limit:
        v = work.pop()
        if v in seen:
            continue
        seen.add(v)
        if isinstance(v, OpResult):
            work.extend(v.owner.operands)
        else:
            found.add(v)
    return found


def try_fold(op: Operation) -> list[DenseElementsAttr] | None:
    """The results of `op` as constants, if every operand is one and they are small."""
    if not op.operands or op.regions:
        return None
    arrays = [constant_value(v) for v in op.operands]
    if any(a is None for a in arrays):
        return None
    if any(isinstance(r.type, TensorType) and _size(r.type) > IMPORT_FOLD_LIMIT for r in op.results):
        return None
    if getattr(type(op), "reference", None) is None:
        return None
    values = evaluate_reference(op, arrays)
    return [DenseElementsAttr(r.type, v) for r, v in zip(op.results, values)]


def _size(t: TensorType) -> int:
    n = 1
    for d in t.shape:
        n *= d
    return n
