"""ONNX -> graph: converters of detection and vision ops. Inputs that decide a shape
(AffineGrid's size, Col2Im's image and block shapes, MaxUnpool's output_shape) must be
constants; NonMaxSuppression's result size depends on every input, so all of them must be
constants and it becomes a constant."""

from __future__ import annotations

import numpy as np

from descend.dialects import graph
from descend.dialects.graph import vision
from descend.ir import FloatType

from .registry import Node, Unsupported, converter


def _ints(array) -> list[int]:
    return [int(v) for v in np.asarray(array).reshape(-1)]


def _float_input(node: Node, index: int = 0) -> None:
    t = node.inputs[index].type
    if not isinstance(t.element_type, FloatType):
        raise Unsupported(f"{node.op_type} of {t.element_type} (only float tensors)")


@converter("RoiAlign")
def roi_align(node: Node):
    _float_input(node)
    mode = node.attr("coordinate_transformation_mode", "half_pixel")
    if mode not in ("half_pixel", "output_half_pixel"):
        raise Unsupported(f"coordinate_transformation_mode '{mode}'")
    return node.build(graph.RoiAlignOp, *node.inputs[:3], mode=node.attr("mode", "avg"),
                      output_height=int(node.attr("output_height", 1)),
                      output_width=int(node.attr("output_width", 1)),
                      sampling_ratio=int(node.attr("sampling_ratio", 0)),
                      spatial_scale=float(node.attr("spatial_scale", 1.0)),
                      half_pixel=int(mode == "half_pixel"))


@converter("NonMaxSuppression")
def non_max_suppression(node: Node):
    boxes = node.require_const(0, "boxes (the result size depends on them)")
    scores = node.require_const(1, "scores (the result size depends on them)")
    limits = []
    for index, what, default in ((2, "max_output_boxes_per_class", 0), (3, "iou_threshold", 0.0),
                                 (4, "score_threshold", None)):
        if node.input(index) is None:
            limits.append(default)
            continue
        value = node.require_const(index, what).reshape(-1)
        limits.append(value[0].item() if value.size else default)
    if boxes.ndim != 3 or boxes.shape[2] != 4 or scores.ndim != 3 or scores.shape[::2] != boxes.shape[:2]:
        raise Unsupported(f"boxes {boxes.shape} and scores {scores.shape} must be [B, N, 4] and [B, C, N]")
    count, iou, score = limits
    selected = vision.non_max_suppression(boxes, scores, max(int(count), 0), float(iou),
                                          None if score is None else float(score),
                                          int(node.attr("center_point_box", 0)))
    return node.constant(selected)


@converter("AffineGrid")
def affine_grid(node: Node):
    _float_input(node)
    size = _ints(node.require_const(1, "size"))
    return node.build(graph.AffineGridOp, node.inputs[0], size=size,
                      align_corners=int(node.attr("align_corners", 0)))


@converter("Col2Im")
def col2im(node: Node):
    image = _ints(node.require_const(1, "image_shape"))
    block = _ints(node.require_const(2, "block_shape"))
    k = len(image)
    return node.build(graph.Col2ImOp, node.inputs[0], image_shape=image, block_shape=block,
                      dilations=list(node.attr("dilations", None) or [1] * k),
                      pads=list(node.attr("pads", None) or [0] * (2 * k)),
                      strides=list(node.attr("strides", None) or [1] * k))


@converter("MaxUnpool")
def max_unpool(node: Node):
    x, indices = node.inputs[:2]
    kernel = list(node.require_attr("kernel_shape"))
    k = len(kernel)
    strides = list(node.attr("strides", None) or [1] * k)
    pads = list(node.attr("pads", None) or [0] * (2 * k))
    shape = list(x.type.shape[:2]) + [(x.type.shape[2 + i] - 1) * strides[i] - pads[i] - pads[k + i] + kernel[i]
                                      for i in range(k)]
    if node.input(2) is not None:
        wanted = _ints(node.require_const(2, "output_shape"))
        if wanted != shape:
            # onnx's reference places indices in the default shape and pads; onnxruntime reads
            # them as positions in output_shape: no answer would be right for both
            raise Unsupported(f"output_shape {wanted} other than the default {shape}")
    return node.build(graph.MaxUnpoolOp, x, indices, output_shape=shape)


@converter("DeformConv")
def deform_conv(node: Node):
    _float_input(node)
    x, w, offset = node.inputs[:3]
    if x.type.rank != 4:
        raise Unsupported(f"DeformConv of {x.type} (only 2-D)")
    kernel = list(node.attr("kernel_shape", None) or w.type.shape[2:])
    if kernel != list(w.type.shape[2:]):
        raise Unsupported(f"kernel_shape {kernel} differs from W {w.type}")
    b = node.input(3)
    if b is None:
        b = node.constant(np.zeros(w.type.shape[0], graph.base.dtype_of(x.type)), x.type.element_type)
    return node.build(graph.DeformConvOp, x, w, offset, b, node.input(4),
                      strides=list(node.attr("strides", None) or [1, 1]),
                      pads=list(node.attr("pads", None) or [0, 0, 0, 0]),
                      dilations=list(node.attr("dilations", None) or [1, 1]),
                      group=int(node.attr("group", 1)), offset_group=int(node.attr("offset_group", 1)))


@converter("RotaryEmbedding")
def rotary_embedding(node: Node):
    _float_input(node)
    return node.build(graph.RotaryEmbeddingOp, *node.inputs[:3], node.input(3),
                      interleaved=int(node.attr("interleaved", 0)),
                      rotary_embedding_dim=int(node.attr("rotary_embedding_dim", 0)),
                      num_heads=int(node.attr("num_heads", 0)))


@converter("Det")
def det(node: Node):
    _float_input(node)
    return node.build(graph.DetOp, node.inputs[0])
