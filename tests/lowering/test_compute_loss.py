"""graph -> te for the loss family: nll_loss and softmax_cross_entropy lowered and
interpreted against the graph interpreter (the ops' numpy references) for every reduction,
with and without class weights and ignore_index, in f32, f64, f16 and bf16."""

from __future__ import annotations

import numpy as np
import pytest

from descend.dialects import graph
from descend.ir import TensorType, bf16, i64

from .test_compute_quantize import FUSED, check, rand

RNG = np.random.default_rng(1)


def targets(shape, classes, ignore_index=None):
    """Random class targets, some of them ignore_index when one is given."""
    t = RNG.integers(0, classes, shape).astype(np.int64)
    if ignore_index is not None:
        t[RNG.random(shape) < 0.3] = ignore_index
    return t


CASES = [   # (scores shape, reduction, with weights, ignore_index)
    ((5, 4), "mean", False, None), ((5, 4), "sum", False, None), ((5, 4), "none", False, None),
    ((5, 4), "mean", True, None), ((3, 4, 2), "mean", True, 2), ((3, 4, 2), "mean", False, -1),
    ((3, 4, 2), "mean", False, 1), ((2, 3, 2, 2), "sum", True, 0), ((2, 3, 2, 2), "none", True, -5),
    ((2, 3, 2, 3), "none", False, 2),
]


@pytest.mark.parametrize("shape,reduction,weighted,ignore_index", CASES)
def test_nll_loss(shape, reduction, weighted, ignore_index):
    n, c, rest = shape[0], shape[1], shape[2:]
    arrays = [rand(*shape), targets((n, *rest), c, ignore_index)]
    if weighted:
        arrays.append(np.abs(rand(c)))
    check(graph.NllLossOp, arrays, reduction=reduction, ignore_index=ignore_index)


@pytest.mark.parametrize("shape,reduction,weighted,ignore_index", CASES)
def test_softmax_cross_entropy(shape, reduction, weighted, ignore_index):
    n, c, rest = shape[0], shape[1], shape[2:]
    arrays = [rand(*shape, scale=3), targets((n, *rest), c, ignore_index).astype(np.int32)]
    if weighted:
        arrays.append(np.abs(rand(c)))
    check(graph.SoftmaxCrossEntropyOp, arrays, reduction=reduction, ignore_index=ignore_index)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_half_and_double_precision(reduction):
    """f16 computes in f16 with sums as numpy's half sums: along the innermost axis
    accumulated in float and rounded once, along another one rounded at every step."""
    for dtype in (np.float64, np.float16):
        for shape in ((4, 5, 3), (6, 5), (4, 5, 1)):
            scores, labels = rand(*shape, dtype=dtype, scale=2), targets((shape[0], *shape[2:]), 5, 1)
            check(graph.SoftmaxCrossEntropyOp, [scores, labels, np.abs(rand(5, dtype=dtype))], reduction=reduction)
            check(graph.NllLossOp, [scores, labels], reduction=reduction, ignore_index=1)


def test_bf16_computes_in_f32():
    scores, labels, weight = rand(4, 5, scale=2), targets((4,), 5), np.abs(rand(5))
    arrays = [scores, labels, weight]
    types = [TensorType(scores.shape, bf16), TensorType(labels.shape, i64), TensorType((5,), bf16)]
    check(graph.SoftmaxCrossEntropyOp, arrays, types)
    check(graph.NllLossOp, arrays, types, reduction="sum")


def test_targets_out_of_range_read_the_nearest_class():
    scores = rand(4, 3)
    check(graph.NllLossOp, [scores, np.array([-4, 0, 2, 7], np.int64)], reduction="none")


def test_in_a_fused_group():
    check(graph.SoftmaxCrossEntropyOp, [rand(3, 4), targets((3,), 4)], pipeline=FUSED)
