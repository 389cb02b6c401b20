"""graph: elementwise ops — unary math and activations, binary arithmetic with numpy
broadcasting, comparisons and logic (to i1), select, clip and casts."""

from __future__ import annotations

import numpy as np

from descend.ir import TensorType, operand, result

from .base import (BOOL, GraphOp, Kind, ShapeError, broadcast_shapes, element_of, is_float,
                   same_elements, tensor)


class Unary(GraphOp):
    """Base of `y = f(x)` with y's type x's type."""

    x = operand(TensorType)
    y = result(TensorType)
    kind = Kind.ELEMWISE
    floats_only = False

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        if cls.floats_only and not is_float(t):
            raise ShapeError(f"expects a float tensor, got {t}")
        return [t]


class Binary(GraphOp):
    """Base of `out = f(lhs, rhs)` with numpy broadcasting; both sides share an element type."""

    lhs = operand(TensorType)
    rhs = operand(TensorType)
    out = result(TensorType)
    kind = Kind.BROADCAST
    result_bool = False   # comparisons and logic give i1

    @classmethod
    def infer(cls, types, attrs):
        element = same_elements(types)
        shape = broadcast_shapes(types[0].shape, types[1].shape)
        return [tensor(shape, BOOL if cls.result_bool else element)]


class AddOp(Binary):
    """lhs + rhs, broadcast (integers wrap)."""

    name = "graph.add"

    @staticmethod
    def reference(lhs, rhs):
        return np.add(lhs, rhs)


class ReluOp(Unary):
    """max(x, 0)."""

    name = "graph.relu"

    @staticmethod
    def reference(x):
        return np.maximum(x, np.zeros((), np.asarray(x).dtype))
