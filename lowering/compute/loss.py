"""graph -> te: compute builders of the loss family (dialects/graph/loss.py) — negative
log-likelihood and softmax cross-entropy.

A loss is a per-position compute, -log_prob[n, target, d...] (0 where the target is
ignored) times the target's weight, then for "sum" and "mean" sums over all positions:
of the losses, and of the weights when "mean" divides by them, else a division by the
count (numpy's mean). As in the references: f16 computes in f16 with f32 sums rounded
to f16 (numpy sums half precision in float, except along an axis that is not innermost,
where it rounds every partial sum: the softmax's class sum then is a chain of f16 adds),
bf16 (f32 in the graph) in f32 rounded only at the results. A target outside [0, C) that
is not ignored reads class 0 or C-1."""

from __future__ import annotations

import functools
import math

from descend.dialects.te.builder import compute
from descend.ir import f16, f32, index

from . import lowers, name_of, out_type
from .elementwise import attrs, convert


def sub_name(op, suffix: str, index: int = 0):
    """A name for an intermediate compute of `op`'s result `index`: `loss.sum`."""
    base = name_of(op, index)
    return f"{base}.{suffix}" if base else None


# Most classes an f16 softmax over a non-innermost axis sums as a chain of rounded additions.
SEQUENTIAL_F16_SUM_LIMIT = 256


def work_type(element):
    """Where the references compute: bf16 as the f32 the graph stores it in."""
    return f32 if element.name == "bf16" else element


def loss(kb, op, log_prob, target, weight, weigh_unweighted: bool):
    """The loss result of `op` (graph.nll_loss or the first of graph.softmax_cross_entropy)
    from te values of the log-probabilities, targets and optional class weights: the
    graph's _loss."""
    a = attrs(op)
    element = out_type(op).element_type
    work = work_type(element)
    accumulate = f32 if element == f16 else work
    shape = tuple(target.type.shape)
    classes = log_prob.type.shape[1]
    ignore_index = a.ignore_index

    def target_at(b, i, targets):
        """(ignored, or None without ignore_index; the class index) at position i."""
        t = targets[tuple(i)]
        ignored = b.eq(t, ignore_index) if ignore_index is not None else None
        return ignored, b.cast(b.clamp(t, 0, classes - 1), index)

    def weight_of(b, ignored, c, weights):
        w = convert(b, weights[0][c], work) if weights else b.const(1.0, work)
        return w if ignored is None else b.select(ignored, b.const(0.0, work), w)

    def position(b, i, r, reads):
        scores, targets, *weights = reads
        ignored, c = target_at(b, i, targets)
        value = b.neg(convert(b, scores[(i[0], c, *i[1:])], work))
        if ignored is not None:
            value = b.select(ignored, b.const(0.0, work), value)
        if weights:   # unit weights leave the value as it is
            value = b.mul(weight_of(b, ignored, c, weights), value)
        return value

    weights = [weight] if weight is not None else []
    if a.reduction == "none":
        return compute(kb, shape, element, [log_prob, target, *weights],
                       lambda b, i, r, reads: convert(b, position(b, i, r, reads), element), name=name_of(op))
    per_position = compute(kb, shape, work, [log_prob, target, *weights], position, name=sub_name(op, "map"))

    def total_of(value, suffix):
        return compute(kb, (), accumulate, [value], lambda b, i, r, reads: convert(b, reads[0][tuple(r)], accumulate),
                       reduce=shape, combiner="sum", name=sub_name(op, suffix))
    total = total_of(per_position, "sum")
    if a.reduction == "sum":
        final = lambda b, reads: reads[0][()]      # noqa: E731
        inputs = [total]
    elif weights or weigh_unweighted:
        # sum(loss) / sum(weights), each sum rounded to the element type first (f16)
        used = compute(kb, shape, work, [target, *weights],
                       lambda b, i, r, reads: weight_of(b, *target_at(b, i, reads[0]), reads[1:]),
                       name=sub_name(op, "weight"))
        inputs = [total, total_of(used, "sum1")]
        rounded = f16 if element == f16 else accumulate

        def final(b, reads):
            return b.div(convert(b, reads[0][()], rounded), convert(b, reads[1][()], rounded))
    else:   # numpy's mean: the sum over the count
        count = float(math.prod(shape))
        final = lambda b, reads: b.div(reads[0][()], count)   # noqa: E731
        inputs = [total]
    return compute(kb, (), element, inputs, lambda b, i, r, reads: convert(b, final(b, reads), element),
                   name=name_of(op))


@lowers("graph.nll_loss")
def nll_loss(kb, op, inputs):
    weight = inputs[2] if len(inputs) > 2 else None
    return [loss(kb, op, inputs[0], inputs[1], weight, weigh_unweighted=attrs(op).ignore_index != -1)]


@lowers("graph.softmax_cross_entropy")
def softmax_cross_entropy(kb, op, inputs):
    """log(exp(x - max) / sum(exp(x - max))) over axis 1 in the scores' type (the
    reference's log of the softmax), returned and fed to the loss."""
    scores, labels = inputs[:2]
    weight = inputs[2] if len(inputs) > 2 else None
    shape = tuple(scores.type.shape)
    element = out_type(op, 1).element_type
    work = work_type(element)
    kept = (shape[0], 1, *shape[2:])

    def along_classes(b, i, r, reads):
        return reads[0][(i[0], r[0], *i[2:])]
    peak = compute(kb, kept, element, [scores], along_classes, reduce=(shape[1],), combiner="max",
                   name=sub_name(op, "max", 1))

    def shifted_exp(b, x, m):
        return b.exp(b.sub(convert(b, x, work), convert(b, m, work)))

    def exp_sum(b, i, r, reads):
        return shifted_exp(b, along_classes(b, i, r, reads), reads[1][tuple(i)])
    if element == f16 and math.prod(shape[2:]) > 1 and shape[1] <= SEQUENTIAL_F16_SUM_LIMIT:
        # numpy sums a half axis that is not innermost one class after another, rounding
        # each partial sum to f16 (innermost, it accumulates in float): a chain of f16 adds
        def chain(b, i, r, reads):
            terms = [shifted_exp(b, reads[0][(i[0], c, *i[2:])], reads[1][tuple(i)]) for c in range(shape[1])]
            return functools.reduce(b.add, terms)
        total = compute(kb, kept, work, [scores, peak], chain, name=sub_name(op, "sum", 1))
    else:
        total = compute(kb, kept, work, [scores, peak], exp_sum, reduce=(shape[1],), combiner="sum",
                        name=sub_name(op, "sum", 1))

    def log_softmax(to):
        def body(b, i, r, reads):
            stat = (i[0], 0, *i[2:])
            value = b.div(shifted_exp(b, reads[0][tuple(i)], reads[1][stat]), reads[2][stat])
            return convert(b, b.math("log", value), to)
        return body
    log_prob = compute(kb, shape, work, [scores, peak, total], log_softmax(work),
                       name=name_of(op, 1) if work == element else sub_name(op, "log", 1))
    returned = log_prob
    if work != element:   # bf16: the loss reads the unrounded log-probabilities, as the graph's
        returned = compute(kb, shape, element, [log_prob],
                           lambda b, i, r, reads: convert(b, reads[0][tuple(i)], element), name=name_of(op, 1))
    result = loss(kb, op, log_prob, labels, weight, weigh_unweighted=attrs(op).ignore_index is not None)
    return [result, returned]
