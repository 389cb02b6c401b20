"""ONNX -> graph: converters of loss functions — NegativeLogLikelihoodLoss and
SoftmaxCrossEntropyLoss (with its optional log_prob output)."""

from __future__ import annotations

from descend.dialects import graph

from .registry import Node, Unsupported, converter


def _loss_attrs(node: Node) -> dict:
    reduction = node.attr("reduction", "mean")
    if reduction not in graph.loss.REDUCTIONS:
        raise Unsupported(f"reduction '{reduction}'")
    ignore_index = node.attr("ignore_index", None)
    return dict(reduction=reduction, ignore_index=None if ignore_index is None else int(ignore_index))


@converter("NegativeLogLikelihoodLoss")
def nll_loss(node: Node):
    return node.build(graph.NllLossOp, node.inputs[0], node.inputs[1], node.input(2), **_loss_attrs(node))


@converter("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy(node: Node):
    op = node.build(graph.SoftmaxCrossEntropyOp, node.inputs[0], node.inputs[1], node.input(2),
                    **_loss_attrs(node))
    return list(op.results)
