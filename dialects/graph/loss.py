"""graph: loss functions — negative log-likelihood and softmax cross-entropy.

Both take scores (N, C, d1, ..., dk) and integer class targets (N, d1, ..., dk): the loss
of each position is -score[n, target, d...] times the target's weight (weight[target], 0
where target == ignore_index), then reduced: "none" keeps the target's shape, "sum" adds,
and "mean" divides the sum by the sum of the weights used (by the count, when no weights
are). References follow onnx's, including when it divides by the weights' sum and when it
averages, so float16 results round where onnx's do."""

from __future__ import annotations

import numpy as np

from descend.ir import IntegerType, IntegerAttr, TensorType, operand, opt_attribute, opt_operand, result

from .base import GraphOp, Kind, ShapeError, is_float, shape_text, string, tensor

REDUCTIONS = ("none", "sum", "mean")


def _infer_loss(types, attrs) -> TensorType:
    """The loss's type; checks scores, targets and weights against each other."""
    scores, target = types[0], types[1]
    if not is_float(scores):
        raise ShapeError(f"expects float scores, got {scores}")
    if not isinstance(target.element_type, IntegerType) or target.element_type.width not in (32, 64):
        raise ShapeError(f"expects i32 or i64 targets, got {target}")
    if scores.rank < 2:
        raise ShapeError(f"needs scores (N, C, d1, ...) of rank >= 2, got [{shape_text(scores.shape)}]")
    want = scores.shape[:1] + scores.shape[2:]
    if target.shape != want:
        raise ShapeError(f"target [{shape_text(target.shape)}] should be [{shape_text(want)}] for scores "
                         f"[{shape_text(scores.shape)}] (N, C, d1, ...)")
    if len(types) == 3:
        weight = types[2]
        if weight.shape != (scores.shape[1],) or weight.element_type != scores.element_type:
            raise ShapeError(f"weight {weight} should be tensor<{scores.shape[1]}x{scores.element_type}>, "
                             f"one per class of scores [{shape_text(scores.shape)}]")
    if attrs.reduction not in REDUCTIONS:
        raise ShapeError(f"reduction '{attrs.reduction}' is not one of {', '.join(REDUCTIONS)}")
    shape = target.shape if attrs.reduction == "none" else ()
    return tensor(shape, scores.element_type)


def _loss(log_prob, target, weight, reduction, ignore_index, weigh_unweighted: bool):
    """-log_prob at each target, weighted and reduced. `weigh_unweighted`: without weights,
    whether ones (zero at ignore_index) stand in for them, which makes "mean" a sum
    divided by their sum (onnx's NegativeLogLikelihoodLoss does, unless ignore_index is -1)."""
    log_prob = np.asarray(log_prob)
    target = np.asarray(target).astype(np.int64)
    classes = log_prob.shape[1]
    ignored = target == ignore_index if ignore_index is not None else np.zeros(target.shape, bool)
    # targets outside [0, C) are undefined unless ignored: read class 0 (or C-1) for them
    index = np.clip(target, 0, classes - 1)
    picked = np.take_along_axis(log_prob, index[:, None], axis=1)[:, 0]
    loss = np.where(ignored, np.zeros((), log_prob.dtype), -picked)
    if weight is not None:
        weights = np.where(ignored, np.zeros((), log_prob.dtype), np.asarray(weight)[index])
    elif weigh_unweighted:
        weights = np.where(ignored, 0, 1).astype(log_prob.dtype)
    else:
        weights = None
    if weights is not None:
        loss = weights * loss
        if reduction == "mean":
            return loss.sum() / weights.sum()
    if reduction == "mean":
        return np.mean(loss).astype(log_prob.dtype)
    if reduction == "sum":
        return np.sum(loss).astype(log_prob.dtype)
    return loss


class NllLossOp(GraphOp):
    """Negative log-likelihood: -input[n, target, d...] weighted by weight[target] (0 at
    ignore_index), reduced by `reduction` (ONNX NegativeLogLikelihoodLoss)."""

    name = "graph.nll_loss"
    input = operand(TensorType)
    target = operand(TensorType)
    weight = opt_operand(TensorType)
    loss = result(TensorType)
    reduction = string("mean")
    ignore_index = opt_attribute(IntegerAttr, doc="a target value that contributes nothing")
    kind = Kind.REDUCTION

    @classmethod
    def infer(cls, types, attrs):
        return [_infer_loss(types, attrs)]

    @staticmethod
    def reference(input, target, weight=None, *, reduction="mean", ignore_index=None):
        return _loss(input, target, weight, reduction, ignore_index, weigh_unweighted=ignore_index != -1)


class SoftmaxCrossEntropyOp(GraphOp):
    """nll_loss of log(softmax(scores)) over axis 1, and that log-probability as a second
    result (ONNX SoftmaxCrossEntropyLoss)."""

    name = "graph.softmax_cross_entropy"
    scores = operand(TensorType)
    labels = operand(TensorType)
    weights = opt_operand(TensorType)
    loss = result(TensorType)
    log_prob = result(TensorType)
    reduction = string("mean")
    ignore_index = opt_attribute(IntegerAttr, doc="a label value that contributes nothing")
    kind = Kind.REDUCTION

    @classmethod
    def infer(cls, types, attrs):
        return [_infer_loss(types, attrs), types[0]]

    @staticmethod
    def reference(scores, labels, weights=None, *, reduction="mean", ignore_index=None):
        scores = np.asarray(scores)
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        # log of the softmax, not log_softmax: onnx's reference rounds there
        log_prob = np.log(exp / exp.sum(axis=1, keepdims=True))
        loss = _loss(log_prob, labels, weights, reduction, ignore_index,
                     weigh_unweighted=ignore_index is not None)
        return loss, log_prob
