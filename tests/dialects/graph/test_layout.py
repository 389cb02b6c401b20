"""graph's blocked layouts: layout strings, graph.layout_transform and graph.conv_nchwc —
their shapes, their refusals, and their references against numpy and graph.conv."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descend.dialects import graph
from descend.dialects.graph import ShapeError
from descend.dialects.graph.layout import parse_layout, relayout
from descend.dialects.graph.nn import _conv
from descend.ir import TensorType, f32

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def infer(op_class, shapes, **attrs):
    from descend.dialects.graph import Attrs, to_attribute
    types = [TensorType(s, f32) for s in shapes]
    properties = {k: to_attribute(v) for k, v in attrs.items()}
    return [t.shape for t in op_class.infer(types, Attrs(op_class, properties))]


def test_layout_strings():
    assert parse_layout("NCHW8c") == [("N", None), ("C", None), ("H", None), ("W", None), ("C", 8)]
    assert parse_layout("OIHW16o")[-1] == ("O", 16)
    for bad, message in [("NCHW8", "cannot read"), ("NCHc8c", "cannot read"), ("NCHWC", "twice"),
                         ("NHW8c", "does not name"), ("NCHW0c", "cannot read")]:
        with pytest.raises(ShapeError, match=message):
            parse_layout(bad)


def test_relayout_is_reshape_and_transpose():
    x = rand(2, 16, 3, 5)
    blocked = relayout(x, "NCHW", "NCHW8c")
    assert blocked.shape == (2, 2, 3, 5, 8)
    np.testing.assert_array_equal(blocked, x.reshape(2, 2, 8, 3, 5).transpose(0, 1, 3, 4, 2))
    np.testing.assert_array_equal(relayout(blocked, "NCHW8c", "NCHW"), x)
    np.testing.assert_array_equal(relayout(blocked, "NCHW8c", "NHWC"), x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(relayout(relayout(blocked, "NCHW8c", "NCHW4c"), "NCHW4c", "NCHW"), x)
    w = rand(24, 16, 3, 3)
    np.testing.assert_array_equal(relayout(w, "OIHW", "OIHW8o")[1, :, :, :, 2], w[10])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.sampled_from([1, 2, 4, 8]), st.sampled_from([1, 2, 4]),
       st.integers(1, 4), st.integers(1, 4))
def test_relayout_round_trips(n, outer, block, h, w):
    x = RNG.standard_normal((n, outer * block, h, w)).astype(np.float32)
    for layout in (f"NCHW{block}c", f"NHWC{block}c", "NHWC", f"CN{block}cHW"):
        np.testing.assert_array_equal(relayout(relayout(x, "NCHW", layout), layout, "NCHW"), x)


def test_layout_transform_shapes_and_refusals():
    op = graph.LayoutTransformOp
    assert infer(op, [(1, 16, 7, 7)], src_layout="NCHW", dst_layout="NCHW8c") == [(1, 2, 7, 7, 8)]
    assert infer(op, [(1, 2, 7, 7, 8)], src_layout="NCHW8c", dst_layout="NHWC") == [(1, 7, 7, 16)]
    with pytest.raises(ShapeError, match="does not divide into blocks of 8"):
        infer(op, [(1, 12, 7, 7)], src_layout="NCHW", dst_layout="NCHW8c")
    with pytest.raises(ShapeError, match="do not name the same axes"):
        infer(op, [(1, 16, 7, 7)], src_layout="NCHW", dst_layout="NCDW")
    with pytest.raises(ShapeError, match="has 4 axes"):
        infer(op, [(16, 7, 7)], src_layout="NCHW", dst_layout="NCHW8c")
    with pytest.raises(ShapeError, match="blocks of 8 c"):
        infer(op, [(1, 2, 7, 7, 4)], src_layout="NCHW8c", dst_layout="NCHW")


def test_conv_nchwc_shapes_and_refusals():
    op = graph.ConvNCHWcOp
    assert infer(op, [(1, 2, 9, 9, 8), (3, 16, 3, 3, 8), (24,)], strides=[2, 2], pads=[1, 1, 1, 1]) == \
        [(1, 3, 5, 5, 8)]
    assert infer(op, [(1, 3, 9, 9), (2, 3, 3, 3, 8)]) == [(1, 2, 7, 7, 8)]
    assert infer(op, [(1, 2, 9, 9, 8), (2, 1, 3, 3, 8)], group=16) == [(1, 2, 7, 7, 8)]
    with pytest.raises(ShapeError, match="has 16 channels but w"):
        infer(op, [(1, 2, 9, 9, 8), (3, 8, 3, 3, 8)])
    with pytest.raises(ShapeError, match="bias"):
        infer(op, [(1, 2, 9, 9, 8), (3, 16, 3, 3, 8), (16,)])
    with pytest.raises(ShapeError, match="needs x"):
        infer(op, [(1, 2, 9, 8), (3, 16, 3, 3)])


@pytest.mark.parametrize("group,blocked", [(1, True), (1, False), (16, True), (4, True)])
@pytest.mark.parametrize("strides,pads,dilations", [([1, 1], [0, 0, 0, 0], [1, 1]),
                                                    ([2, 2], [1, 0, 1, 2], [1, 1]),
                                                    ([1, 2], [2, 2, 2, 2], [2, 1])])
def test_conv_nchwc_reference_is_conv_on_the_plain_tensors(group, blocked, strides, pads, dilations):
    channels = 16 if blocked else 3
    x, w, bias = rand(2, channels, 9, 9), rand(16, channels // group, 3, 3), rand(16)
    want = _conv(x, w, bias, strides, pads, dilations, group)
    xb = relayout(x, "NCHW", "NCHW8c") if blocked else x
    got = graph.ConvNCHWcOp.reference(xb, relayout(w, "OIHW", "OIHW8o"), bias, strides=strides, pads=pads,
                                      dilations=dilations, group=group)
    np.testing.assert_allclose(relayout(got, "NCHW8c", "NCHW"), want, rtol=1e-5, atol=1e-5)
