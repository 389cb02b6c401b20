"""ONNX -> graph: converters of elementwise ops."""

from __future__ import annotations

from descend.dialects import graph

from .registry import Node, Unsupported, converter


@converter("Add")
def add(node: Node):
    return node.build(graph.AddOp, *node.inputs)


@converter("Relu")
def relu(node: Node):
    return node.build(graph.ReluOp, node.inputs[0])
