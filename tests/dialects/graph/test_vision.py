"""graph vision ops: ONNX nodes against onnxruntime over options the node tests leave out
(adaptive RoI sampling, deformable groups and strides, col2im geometry, rotary variants,
NMS thresholds), shape errors, round trips, the ONNX node tests."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend import DiagnosticError
from descend.dialects import graph
from descend.ir.printer import print_ir
from descend.testing.onnx_conformance import UNSUPPORTED, check_node_test

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from descend.frontends.onnx.backend import DescendBackend  # noqa: E402

RNG = np.random.default_rng(0)
_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run_both(op_type, inputs, constants=(), opset=22, rtol=1e-4, atol=1e-5, out=TensorProto.FLOAT, **attrs):
    """One node run by descend and by onnxruntime: `inputs` are graph inputs (name, array),
    `constants` initializers; '' in constants marks an omitted input."""
    names = [n for n, _ in inputs] + [n for n, _ in constants]
    node = helper.make_node(op_type, names, ["y"], **attrs)

    def model(shape):
        g = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info(n, _TYPES[a.dtype], a.shape) for n, a in inputs],
                              [helper.make_tensor_value_info("y", out, shape)],
                              [numpy_helper.from_array(a, n) for n, a in constants if n])
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])

    session = ort.InferenceSession(model(None).SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, dict(inputs))
    feeds = [a for _, a in inputs]
    (got,) = DescendBackend.prepare(model(want.shape), input_arrays=feeds).run(feeds)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return got


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("transform", ["half_pixel", "output_half_pixel"])
@pytest.mark.parametrize("sampling_ratio", [0, 2])
def test_roi_align(mode, transform, sampling_ratio):
    x = rand(2, 3, 12, 10)
    rois = np.array([[0.5, 1.0, 7.2, 9.9], [2.0, 2.0, 3.0, 3.5], [-2.0, 4.0, 14.0, 20.0], [1, 1, 1, 1]], np.float32)
    indices = np.array([0, 1, 1, 0], np.int64)
    run_both("RoiAlign", [("x", x), ("rois", rois), ("i", indices)], opset=16, mode=mode,
             coordinate_transformation_mode=transform, output_height=3, output_width=4,
             sampling_ratio=sampling_ratio, spatial_scale=0.8)


def test_non_max_suppression_is_a_constant():
    boxes = RNG.uniform(0, 10, (2, 12, 4)).astype(np.float32)
    scores = RNG.uniform(0, 1, (2, 3, 12)).astype(np.float32)
    for center, limits in [(0, (4, 0.3, 0.2)), (1, (12, 0.5, None))]:
        constants = [("boxes", boxes), ("scores", scores), ("max", np.array([limits[0]], np.int64)),
                     ("iou", np.array([limits[1]], np.float32))]
        if limits[2] is not None:
            constants.append(("score", np.array([limits[2]], np.float32)))
        run_both("NonMaxSuppression", [], constants, out=TensorProto.INT64, center_point_box=center)


def test_affine_grid():
    for theta, size in [(rand(2, 2, 3), [2, 3, 5, 7]), (rand(1, 3, 4), [1, 2, 3, 4, 5])]:
        for align in (0, 1):
            run_both("AffineGrid", [("theta", theta)], [("size", np.array(size, np.int64))], opset=20,
                     align_corners=align)


def test_col2im():
    x = rand(2, 3 * 2 * 3, 12)
    run_both("Col2Im", [("x", x)], [("image", np.array([6, 7], np.int64)), ("block", np.array([2, 3], np.int64))],
             opset=18, strides=[2, 1], pads=[1, 0, 0, 1], dilations=[1, 2])


def test_max_unpool_of_max_pool_indices():
    x = rand(2, 3, 6, 8)
    node = helper.make_node("MaxPool", ["x"], ["v", "i"], kernel_shape=[2, 2], strides=[2, 2])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                          [helper.make_tensor_value_info(n, t, None) for n, t in
                           (("v", TensorProto.FLOAT), ("i", TensorProto.INT64))])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 22)])
    values, indices = ort.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"]).run(None, {"x": x})
    y = run_both("MaxUnpool", [("v", values), ("i", indices)], kernel_shape=[2, 2], strides=[2, 2])
    assert y.shape == x.shape and np.all((y == 0) | (y == x))


@pytest.mark.parametrize("group, offset_group, mask, strides, pads, dilations", [
    (1, 1, False, [1, 1], [0, 0, 0, 0], [1, 1]),
    (2, 2, True, [2, 1], [1, 0, 1, 2], [1, 2]),
    (1, 2, True, [1, 1], [1, 1, 1, 1], [1, 1]),
])
def test_deform_conv(group, offset_group, mask, strides, pads, dilations):
    x, w, b = rand(2, 4, 7, 6), rand(4, 4 // group, 3, 2), rand(4)
    oh = (7 + pads[0] + pads[2] - dilations[0] * 2 - 1) // strides[0] + 1
    ow = (6 + pads[1] + pads[3] - dilations[1] * 1 - 1) // strides[1] + 1
    inputs = [("x", x), ("w", w), ("offset", rand(2, offset_group * 6 * 2, oh, ow)), ("b", b)]
    if mask:
        inputs.append(("mask", RNG.uniform(0, 1, (2, offset_group * 6, oh, ow)).astype(np.float32)))
    run_both("DeformConv", inputs, group=group, offset_group=offset_group, strides=strides, pads=pads,
             dilations=dilations, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("rotary_dim", [0, 4])
def test_rotary_embedding(interleaved, rotary_dim):
    x = rand(2, 3, 5, 8)
    half = (rotary_dim or 8) // 2
    angles = RNG.uniform(0, 3, (10, half))
    run_both("RotaryEmbedding", [("x", x), ("cos", np.cos(angles).astype(np.float32)),
                                 ("sin", np.sin(angles).astype(np.float32)),
                                 ("pos", RNG.integers(0, 10, (2, 5)).astype(np.int64))],
             opset=23, interleaved=interleaved, rotary_embedding_dim=rotary_dim)
    x3 = rand(2, 5, 24)
    angles = RNG.uniform(0, 3, (2, 5, 2))
    run_both("RotaryEmbedding", [("x", x3), ("cos", np.cos(angles).astype(np.float32)),
                                 ("sin", np.sin(angles).astype(np.float32))],
             opset=23, interleaved=interleaved, rotary_embedding_dim=4, num_heads=3)


def test_det():
    run_both("Det", [("x", rand(2, 3, 4, 4))])
    np.testing.assert_allclose(graph.DetOp.reference(np.eye(3, dtype=np.float32) * 2), 8.0)


# ---- errors and round trips ------------------------------------------------------------------

IR = """
func.func @f(%x: tensor<1x2x5x5xf32>, %r: tensor<3x4xf32>, %i: tensor<3xi64>, %t: tensor<1x2x3xf32>,
             %c: tensor<1x8x12xf32>, %w: tensor<2x2x2x2xf32>, %o: tensor<1x8x4x4xf32>, %b: tensor<2xf32>,
             %m: tensor<3x3xf32>) -> tensor<3x2x2x2xf32> {
  %0 = graph.roi_align %x, %r, %i {mode = "max", output_height = 2, output_width = 2} : (tensor<1x2x5x5xf32>, tensor<3x4xf32>, tensor<3xi64>) -> tensor<3x2x2x2xf32>
  %1 = graph.affine_grid %t {size = array<i64: 1, 2, 4, 6>} : (tensor<1x2x3xf32>) -> tensor<1x4x6x2xf32>
  %2 = graph.col2im %c {block_shape = array<i64: 2, 2>, image_shape = array<i64: 4, 5>} : (tensor<1x8x12xf32>) -> tensor<1x2x4x5xf32>
  %3 = graph.deform_conv %x, %w, %o, %b : (tensor<1x2x5x5xf32>, tensor<2x2x2x2xf32>, tensor<1x8x4x4xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %4 = graph.det %m : (tensor<3x3xf32>) -> tensor<f32>
  func.return %0 : tensor<3x2x2x2xf32>
}
"""


def test_round_trip():
    module = descend.parse(IR)
    assert str(descend.parse(str(module))) == str(module)
    generic = print_ir(module, generic=True)
    assert print_ir(descend.parse(generic), generic=True) == generic


@pytest.mark.parametrize("replacements, message", [
    ([("tensor<3xi64>", "tensor<2xi64>")], r"rois must be \[R, 4\] and batch_indices \[R\], got \[3x4\] and \[2\]"),
    ([("tensor<1x2x3xf32>", "tensor<1x3x4xf32>")], r"theta must be \[1x2x3\] for size \[1, 2, 4, 6\], got \[1x3x4\]"),
    ([("tensor<1x8x12xf32>", "tensor<1x8x10xf32>")], r"x must be \[N, C\*4, 12\] .* got \[1x8x10\]"),
    ([("tensor<1x8x4x4xf32>", "tensor<1x6x4x4xf32>")], r"offset must be \[1x8x4x4\] .* got \[1x6x4x4\]"),
    ([("tensor<3x3xf32>", "tensor<3x2xf32>")], r"x must be \[\.\.\., M, M\], got \[3x2\]"),
])
def test_shape_errors(replacements, message):
    text = IR
    for old, new in replacements:
        text = text.replace(old, new)
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


# ---- ONNX node tests ---------------------------------------------------------------------------

NODE_TESTS = """
test_roialign_aligned_false test_roialign_aligned_true test_roialign_mode_max
test_nonmaxsuppression_suppress_by_IOU test_nonmaxsuppression_suppress_by_IOU_and_scores
test_nonmaxsuppression_flipped_coordinates test_nonmaxsuppression_limit_output_size
test_nonmaxsuppression_single_box test_nonmaxsuppression_identical_boxes
test_nonmaxsuppression_center_point_box_format test_nonmaxsuppression_two_classes
test_nonmaxsuppression_two_batches test_nonmaxsuppression_iou_threshold_boundary
test_affine_grid_2d test_affine_grid_2d_align_corners test_affine_grid_3d test_affine_grid_3d_align_corners
test_col2im test_col2im_strides test_col2im_pads test_col2im_dilations test_col2im_5d
test_maxunpool_export_without_output_shape
test_basic_deform_conv_with_padding test_basic_deform_conv_without_padding test_deform_conv_with_mask_bias
test_deform_conv_with_multiple_offset_groups
test_rotary_embedding test_rotary_embedding_3d_input test_rotary_embedding_interleaved
test_rotary_embedding_with_rotary_dim test_rotary_embedding_with_interleaved_rotary_dim
test_rotary_embedding_no_position_ids test_rotary_embedding_no_position_ids_interleaved
test_rotary_embedding_no_position_ids_rotary_dim test_rotary_embedding_expanded
test_det_2d test_det_nd
""".split()


@pytest.mark.parametrize("name", NODE_TESTS)
def test_onnx_node(name):
    check_node_test(name)


def test_max_unpool_with_another_output_shape_is_unsupported():
    assert "output_shape" in check_node_test("test_maxunpool_export_with_output_shape", UNSUPPORTED).message
