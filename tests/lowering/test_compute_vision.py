"""graph -> te compute builders of the vision ops (lowering/compute/vision.py), interpreted at
te level against the graph interpreter: RoI align (avg and max, both coordinate modes, rois
past the image), affine grids (2-D and 3-D, both corner modes), col2im with strides, pads
and dilations, max-unpool, deformable convolution (groups, offset groups, mask),
rotary embedding (both layouts, interleaved, partial, position ids) and determinants
(pivoting, singular matrices, batches); RoI align with an adaptive sampling ratio declines."""

from __future__ import annotations

import numpy as np
import pytest

from descend.dialects import graph
from descend.ir import DiagnosticError
from descend.testing import assert_equivalent

from descend.testing.lowering_checks import lowered, one_op_module as module_of

RNG = np.random.default_rng(11)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def check(op_class, arrays, rtol=1e-5, atol=1e-6, **attributes):
    before = module_of(op_class, arrays, **attributes)
    assert_equivalent(before, lowered(before), arrays, rtol=rtol, atol=atol)


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("half_pixel", [0, 1])
def test_roi_align(mode, half_pixel):
    x = rand(2, 3, 8, 7)
    rois = np.array([[0.5, 1.0, 5.5, 6.0], [-2.0, -1.5, 9.0, 10.0], [3.0, 3.0, 3.2, 3.1], [1, 2, 6, 4]],
                    np.float32)
    indices = np.array([1, 0, 1, 0], np.int64)
    check(graph.RoiAlignOp, [x, rois, indices], mode=mode, half_pixel=half_pixel, output_height=3,
          output_width=2, sampling_ratio=2, spatial_scale=0.9)


def test_roi_align_adaptive_sampling_declines():
    arrays = [rand(1, 1, 4, 4), np.array([[0, 0, 3, 3]], np.float32), np.array([0], np.int64)]
    before = module_of(graph.RoiAlignOp, arrays, sampling_ratio=0)
    with pytest.raises(DiagnosticError, match="failed to legalize"):
        lowered(before)


@pytest.mark.parametrize("align_corners", [0, 1])
@pytest.mark.parametrize("size", [[2, 3, 4, 5], [1, 1, 3, 1, 4]])
def test_affine_grid(size, align_corners):
    k = len(size) - 2
    check(graph.AffineGridOp, [rand(size[0], k, k + 1)], size=size, align_corners=align_corners)


@pytest.mark.parametrize("image,block,strides,pads,dilations", [
    ([5, 5], [2, 2], None, None, None),
    ([6, 7], [2, 3], [2, 1], [1, 0, 1, 2], [1, 2]),
    ([9], [3], [2], [1, 1], [2])])
def test_col2im(image, block, strides, pads, dilations):
    from descend.dialects.graph.vision import Col2ImOp
    _, _, _, counts = Col2ImOp.geometry(image, block, dilations, pads, strides)
    x = rand(2, 3 * int(np.prod(block)), int(np.prod(counts)))
    check(graph.Col2ImOp, [x], image_shape=image, block_shape=block, strides=strides, pads=pads,
          dilations=dilations)


def test_max_unpool_last_write_wins():
    x = rand(1, 2, 2, 2)
    indices = np.array([[[[0, 3], [9, 14]], [[16, 16], [27, -1]]]], np.int64)   # a repeat and a -1
    check(graph.MaxUnpoolOp, [x, indices], output_shape=[1, 2, 4, 4])


@pytest.mark.parametrize("with_mask", [False, True])
def test_deform_conv(with_mask):
    x, w = rand(1, 4, 5, 5), rand(4, 2, 2, 2)
    arrays = [x, w, rand(1, 2 * 2 * 2 * 2, 3, 4) * 1.5, rand(4)]
    if with_mask:
        arrays.append(rand(1, 2 * 2 * 2, 3, 4))
    check(graph.DeformConvOp, arrays, group=2, offset_group=2, strides=[2, 1], pads=[0, 1, 1, 0],
          dilations=[1, 2])


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("dim", [0, 4])
def test_rotary_embedding(interleaved, dim):
    x = rand(2, 3, 5, 6)                        # [batch, heads, seq, head]
    half = (dim or 6) // 2
    cos, sin = rand(7, half), rand(7, half)
    positions = RNG.integers(0, 7, (2, 5)).astype(np.int64)
    check(graph.RotaryEmbeddingOp, [x, cos, sin, positions], interleaved=interleaved, rotary_embedding_dim=dim,
          rtol=0, atol=0)
    x3 = rand(2, 5, 12)                         # [batch, seq, heads * head], no position ids
    check(graph.RotaryEmbeddingOp, [x3, rand(2, 5, half), rand(2, 5, half)], interleaved=interleaved,
          rotary_embedding_dim=dim, num_heads=2, rtol=0, atol=0)


def test_det_pivots_batches_and_singular_matrices():
    x = rand(3, 2, 4, 4, dtype=np.float64)
    x[0, 0, 0, 0] = 0.0                          # the first pivot must come from another row
    x[1, 1, 2] = x[1, 1, 0] * 2                  # singular
    x[2, 0] = 0.0                                # all zero
    check(graph.DetOp, [x], rtol=1e-10, atol=1e-12)
    check(graph.DetOp, [rand(5, 5)], rtol=1e-5, atol=1e-6)
    check(graph.DetOp, [rand(1, 1)], rtol=0, atol=0)
