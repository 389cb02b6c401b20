"""ONNX -> graph: converters of nn ops — MatMul, Gemm, Einsum, Conv, ConvTranspose, the
pools, the normalisations, the softmaxes and Attention.

Window converters resolve auto_pad and fill default strides, dilations and kernel shapes,
so the graph ops always carry explicit geometry."""

from __future__ import annotations

import math

import numpy as np

from descend.dialects import graph
from descend.ir import FloatType, f32

from .registry import Node, Unsupported, converter


def _wants(node: Node, index: int) -> bool:
    """Whether ONNX output `index` of the node is used (named)."""
    outputs = node.proto.output
    return index < len(outputs) and bool(outputs[index])


def _float_input(node: Node, index: int = 0) -> None:
    t = node.inputs[index].type
    if not isinstance(t.element_type, FloatType):
        raise Unsupported(f"{node.op_type} of {t.element_type} (only float tensors)")


# ---- matrix products --------------------------------------------------------------------------

@converter("MatMul")
def matmul(node: Node):
    return node.build(graph.MatmulOp, *node.inputs[:2])


@converter("Gemm")
def gemm(node: Node):
    a, b = node.inputs[:2]
    c = node.input(2)
    return node.build(graph.GemmOp, a, b, c, alpha=float(node.attr("alpha", 1.0)),
                      beta=float(node.attr("beta", 1.0)), trans_a=int(node.attr("transA", 0)),
                      trans_b=int(node.attr("transB", 0)))


@converter("Einsum")
def einsum(node: Node):
    return node.build(graph.EinsumOp, list(node.inputs), equation=node.require_attr("equation"))


# ---- window geometry ----------------------------------------------------------------------------

def _geometry(node: Node, spatial, kernel, ceil_mode: int = 0):
    """(strides, pads, dilations) with auto_pad resolved to explicit pads."""
    rank = len(spatial)
    strides = list(node.attr("strides", None) or [1] * rank)
    dilations = list(node.attr("dilations", None) or [1] * rank)
    pads = list(node.attr("pads", None) or [0] * (2 * rank))
    if len(strides) != rank or len(dilations) != rank or len(pads) != 2 * rank:
        raise Unsupported(f"strides {strides}, dilations {dilations} or pads {pads} do not fit "
                          f"{rank} spatial axes")
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        pads = [0] * (2 * rank)
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i in range(rank):
            out = -(-spatial[i] // strides[i])
            total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i], 0)
            small, large = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else large)
            ends.append(large if auto_pad == "SAME_UPPER" else small)
        pads = begins + ends
    elif auto_pad not in ("NOTSET", ""):
        raise Unsupported(f"auto_pad '{auto_pad}'")
    return strides, pads, dilations


def _spatial(node: Node) -> tuple[int, ...]:
    t = node.inputs[0].type
    if t.rank < 3:
        raise Unsupported(f"{node.op_type} needs an input (N, C, *spatial), got {t}")
    return t.shape[2:]


# ---- convolutions -----------------------------------------------------------------------------

@converter("Conv")
def conv(node: Node):
    x, w = node.inputs[:2]
    spatial = _spatial(node)
    kernel = list(node.attr("kernel_shape", None) or w.type.shape[2:])
    if tuple(kernel) != tuple(w.type.shape[2:]):
        raise Unsupported(f"kernel_shape {kernel} differs from the weight's {list(w.type.shape[2:])}")
    strides, pads, dilations = _geometry(node, spatial, kernel)
    return node.build(graph.ConvOp, x, w, node.input(2), strides=strides, pads=pads,
                      dilations=dilations, group=int(node.attr("group", 1)))


@converter("ConvTranspose")
def conv_transpose(node: Node):
    x, w = node.inputs[:2]
    spatial = _spatial(node)
    rank = len(spatial)
    kernel = list(node.attr("kernel_shape", None) or w.type.shape[2:])
    if tuple(kernel) != tuple(w.type.shape[2:]):
        raise Unsupported(f"kernel_shape {kernel} differs from the weight's {list(w.type.shape[2:])}")
    strides = list(node.attr("strides", None) or [1] * rank)
    dilations = list(node.attr("dilations", None) or [1] * rank)
    output_padding = list(node.attr("output_padding", None) or [0] * rank)
    pads = list(node.attr("pads", None) or [0] * (2 * rank))
    output_shape = node.attr("output_shape", None)
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise Unsupported(f"auto_pad '{auto_pad}'")
    if auto_pad == "VALID":
        pads = [0] * (2 * rank)
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        output_shape = list(output_shape)[-rank:] if output_shape is not None else \
            [spatial[i] * strides[i] for i in range(rank)]
        total = [strides[i] * (spatial[i] - 1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1
                 - output_shape[i] for i in range(rank)]
        if auto_pad == "SAME_UPPER":
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        else:
            pads = [t - t // 2 for t in total] + [t // 2 for t in total]
    return node.build(graph.ConvTransposeOp, x, w, node.input(2), strides=strides, pads=pads,
                      dilations=dilations, group=int(node.attr("group", 1)), output_padding=output_padding)


# ---- pooling ----------------------------------------------------------------------------------

def _pool_attrs(node: Node) -> dict:
    spatial = _spatial(node)
    kernel = list(node.require_attr("kernel_shape"))
    if len(kernel) != len(spatial):
        raise Unsupported(f"kernel_shape {kernel} does not fit {len(spatial)} spatial axes")
    ceil_mode = int(node.attr("ceil_mode", 0))
    strides, pads, dilations = _geometry(node, spatial, kernel, ceil_mode)
    return dict(kernel=kernel, strides=strides, pads=pads, dilations=dilations, ceil_mode=ceil_mode)


@converter("MaxPool")
def max_pool(node: Node):
    attrs = _pool_attrs(node)
    x = node.inputs[0]
    y = node.build(graph.MaxPoolOp, x, **attrs)
    if not _wants(node, 1):
        return y
    indices = node.build(graph.MaxPoolIndicesOp, x, storage_order=int(node.attr("storage_order", 0)), **attrs)
    return [y, indices]


@converter("AveragePool")
def average_pool(node: Node):
    _float_input(node)
    return node.build(graph.AvgPoolOp, node.inputs[0], count_include_pad=int(node.attr("count_include_pad", 0)),
                      **_pool_attrs(node))


@converter("LpPool")
def lp_pool(node: Node):
    _float_input(node)
    return node.build(graph.LpPoolOp, node.inputs[0], p=int(node.attr("p", 2)), **_pool_attrs(node))


@converter("GlobalAveragePool")
def global_average_pool(node: Node):
    _float_input(node)
    return node.build(graph.GlobalAvgPoolOp, node.inputs[0])


@converter("GlobalMaxPool")
def global_max_pool(node: Node):
    return node.build(graph.GlobalMaxPoolOp, node.inputs[0])


@converter("GlobalLpPool")
def global_lp_pool(node: Node):
    _float_input(node)
    spatial = _spatial(node)
    return node.build(graph.LpPoolOp, node.inputs[0], kernel=list(spatial), p=int(node.attr("p", 2)))


# ---- normalisations -------------------------------------------------------------------------

@converter("BatchNormalization")
def batch_norm(node: Node):
    if node.attr("training_mode", 0) or _wants(node, 1) or _wants(node, 2):
        raise Unsupported("training mode (running mean and variance outputs)")
    x, scale, bias, mean, var = node.inputs[:5]
    element = x.type.element_type
    if any(v.type.element_type != element for v in (scale, bias, mean, var)):
        raise Unsupported("parameters of another element type than the input")
    return node.build(graph.BatchNormOp, x, scale, bias, mean, var, epsilon=float(node.attr("epsilon", 1e-5)))


@converter("InstanceNormalization")
def instance_norm(node: Node):
    x, scale, bias = node.inputs[:3]
    return node.build(graph.InstanceNormOp, x, scale, bias, epsilon=float(node.attr("epsilon", 1e-5)))


@converter("LayerNormalization")
def layer_norm(node: Node):
    x, scale = node.inputs[:2]
    axis = int(node.attr("axis", -1))
    epsilon = float(node.attr("epsilon", 1e-5))
    if int(node.attr("stash_type", 1)) != 1 and x.type.element_type != f32:
        raise Unsupported(f"stash_type {node.attr('stash_type')}")
    y = node.build(graph.LayerNormOp, x, scale, node.input(2), axis=axis, epsilon=epsilon)
    if not (_wants(node, 1) or _wants(node, 2)):
        return y
    stats = node.build(graph.LayerNormStatsOp, x, axis=axis, epsilon=epsilon)
    for i, r in enumerate(stats.results):
        want = node.output_types[1 + i] if 1 + i < len(node.output_types) else None
        if want is not None and want != r.type:
            raise Unsupported(f"statistics of type {want} for an input of {x.type}")
    return [y, stats.results[0], stats.results[1]]


@converter("GroupNormalization")
def group_norm(node: Node):
    x, scale, bias = node.inputs[:3]
    num_groups = int(node.require_attr("num_groups"))
    epsilon = float(node.attr("epsilon", 1e-5))
    channels = x.type.shape[1] if x.type.rank >= 2 else None
    if node.opset < 21 and channels is not None and scale.type.shape == (num_groups,) and num_groups != channels:
        # opset 18 scales and shifts per group: repeat each over its channels
        per = channels // max(num_groups, 1)
        values = [node.const(1), node.const(2)]
        if any(v is None for v in values):
            raise Unsupported("per-group scale and bias (opset 18) that are not constants")
        scale, bias = (node.constant(np.repeat(v, per), v_in.type.element_type)
                       for v, v_in in zip(values, (scale, bias)))
    return node.build(graph.GroupNormOp, x, scale, bias, num_groups=num_groups, epsilon=epsilon)


@converter("RMSNormalization")
def rms_norm(node: Node):
    x, scale = node.inputs[:2]
    if int(node.attr("stash_type", 1)) != 1:
        raise Unsupported(f"stash_type {node.attr('stash_type')}")
    return node.build(graph.RmsNormOp, x, scale, axis=int(node.attr("axis", -1)),
                      epsilon=float(node.attr("epsilon", 1e-5)))


@converter("LRN")
def lrn(node: Node):
    return node.build(graph.LrnOp, node.inputs[0], size=int(node.require_attr("size")),
                      alpha=float(node.attr("alpha", 1e-4)), beta=float(node.attr("beta", 0.75)),
                      bias=float(node.attr("bias", 1.0)))


@converter("MeanVarianceNormalization")
def mean_variance_normalization(node: Node):
    return node.build(graph.MeanVarianceNormOp, node.inputs[0],
                      axes=list(node.attr("axes", None) or [0, 2, 3]))


# ---- softmaxes ----------------------------------------------------------------------------------

def _axis_op(op_class):
    def convert(node: Node):
        # opset >= 13 semantics: one axis (older models are upgraded to 13 by the importer)
        return node.build(op_class, node.inputs[0], axis=int(node.attr("axis", -1)))
    return convert


converter("Softmax")(_axis_op(graph.SoftmaxOp))
converter("LogSoftmax")(_axis_op(graph.LogSoftmaxOp))
converter("Hardmax")(_axis_op(graph.HardmaxOp))
