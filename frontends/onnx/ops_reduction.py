"""ONNX -> graph: converters of reduction ops (Reduce*, ArgMax/ArgMin, CumSum/CumProd)."""

from __future__ import annotations

import numpy as np

from descend.dialects import graph

from .registry import Node, Unsupported, converter

REDUCTIONS = {
    "ReduceSum": graph.ReduceSumOp,
    "ReduceMean": graph.ReduceMeanOp,
    "ReduceMax": graph.ReduceMaxOp,
    "ReduceMin": graph.ReduceMinOp,
    "ReduceProd": graph.ReduceProdOp,
    "ReduceL1": graph.ReduceL1Op,
    "ReduceL2": graph.ReduceL2Op,
    "ReduceLogSum": graph.ReduceLogSumOp,
    "ReduceLogSumExp": graph.ReduceLogSumExpOp,
    "ReduceSumSquare": graph.ReduceSumSquareOp,
}


def reduction_axes(node: Node) -> list[int]:
    """The axes of a Reduce* node: an input since opset 13 (ReduceSum) / 18 (the others),
    an attribute before; either way they decide the result's shape, so must be constant."""
    if node.input(1) is not None:
        axes = node.require_const(1, "axes")
        return [int(a) for a in np.asarray(axes).reshape(-1)]
    return [int(a) for a in node.attr("axes", [])]


@converter(*REDUCTIONS)
def reduce(node: Node):
    op_class = REDUCTIONS[node.op_type]
    return node.build(op_class, node.inputs[0], axes=reduction_axes(node),
                      keepdims=int(node.attr("keepdims", 1)),
                      noop_with_empty_axes=int(node.attr("noop_with_empty_axes", 0)))


@converter("ArgMax", "ArgMin")
def arg_reduce(node: Node):
    op_class = graph.ArgmaxOp if node.op_type == "ArgMax" else graph.ArgminOp
    return node.build(op_class, node.inputs[0], axis=int(node.attr("axis", 0)),
                      keepdims=int(node.attr("keepdims", 1)),
                      select_last_index=int(node.attr("select_last_index", 0)))


@converter("CumSum", "CumProd")
def running(node: Node):
    op_class = graph.CumsumOp if node.op_type == "CumSum" else graph.CumprodOp
    axis = np.asarray(node.require_const(1, "axis")).reshape(-1)
    if axis.size != 1:
        raise Unsupported(f"axis must hold one value, got {axis.size}")
    return node.build(op_class, node.inputs[0], axis=int(axis[0]),
                      exclusive=int(node.attr("exclusive", 0)), reverse=int(node.attr("reverse", 0)))
