"""graph -> te for blocked layouts: graph.layout_transform and graph.conv_nchwc built as te
computes and interpreted against the graph ops' references (numpy), for every kind of
convolution the builder distinguishes (dense over blocked input, depthwise, grouped,
plain NCHW input)."""

from __future__ import annotations

import numpy as np
import pytest

from descend.dialects import graph
from descend.dialects.graph.layout import relayout
from descend.testing import assert_equivalent
from descend.testing.lowering_checks import lowered, one_op_module

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def check(op_class, arrays, **attributes):
    before = one_op_module(op_class, arrays, **attributes)
    assert_equivalent(before, lowered(before), arrays, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape, src, dst", [((2, 16, 3, 5), "NCHW", "NCHW8c"), ((2, 2, 3, 5, 8), "NCHW8c", "NCHW"),
                                             ((2, 2, 3, 5, 8), "NCHW8c", "NCHW4c"), ((2, 2, 3, 5, 8), "NCHW8c", "NHWC"),
                                             ((24, 16, 3, 3), "OIHW", "OIHW8o")])
def test_layout_transform(shape, src, dst):
    check(graph.LayoutTransformOp, [rand(*shape)], src_layout=src, dst_layout=dst)


@pytest.mark.parametrize("kind", ["dense", "depthwise", "grouped", "plain input"])
@pytest.mark.parametrize("strides, pads, bias", [([1, 1], [1, 0, 1, 2], True), ([2, 2], [1, 1, 1, 1], False),
                                                 ([1, 1], [0, 0, 0, 0], True)])
def test_conv_nchwc(kind, strides, pads, bias):
    m, c, group = {"dense": (24, 16, 1), "depthwise": (16, 16, 16), "grouped": (16, 16, 4),
                   "plain input": (8, 3, 1)}[kind]
    x = rand(1, c, 9, 9)
    x = x if kind == "plain input" else relayout(x, "NCHW", "NCHW8c")
    w = relayout(rand(m, c // group, 3, 3), "OIHW", "OIHW8o")
    check(graph.ConvNCHWcOp, [x, w] + ([rand(m)] if bias else []), strides=strides, pads=pads, group=group)
