"""ONNX -> graph: converters of indexing and data-movement ops.

Inputs that decide a result shape (Slice's bounds, Pad's pads, Resize's scales and sizes,
TopK's K, OneHot's depth) must be constants; the converters resolve them into the graph
op's attributes, clamped and normalised as ONNX specifies."""

from __future__ import annotations

import math

import numpy as np

from descend.dialects import graph
from descend.ir import DenseArrayAttr, f64

from .registry import Node, Unsupported, converter


def _rank(node: Node, index: int = 0) -> int:
    return node.inputs[index].type.rank


def _shape(node: Node, index: int = 0) -> tuple[int, ...]:
    return node.inputs[index].type.shape


def _ints(array) -> list[int]:
    return [int(v) for v in np.asarray(array).reshape(-1)]


def _axes(axes, rank: int) -> list[int]:
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise Unsupported(f"axis {a} is out of range for rank {rank}")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise Unsupported(f"axes {list(axes)} repeat an axis")
    return out


def _optional_const(node: Node, index: int, what: str):
    """A constant optional input, None when omitted or empty; Unsupported when computed."""
    if node.input(index) is None:
        return None
    value = node.require_const(index, what)
    return None if value.size == 0 else value


# ---- slice ------------------------------------------------------------------------------------

@converter("Slice")
def slice_(node: Node):
    shape = _shape(node)
    starts = _ints(node.require_const(1, "starts"))
    ends = _ints(node.require_const(2, "ends"))
    axes = _optional_const(node, 3, "axes")
    steps = _optional_const(node, 4, "steps")
    axes = _axes(_ints(axes) if axes is not None else range(len(starts)), len(shape))
    steps = _ints(steps) if steps is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise Unsupported("starts, ends, axes and steps have different lengths")
    if 0 in steps:
        raise Unsupported("a step is 0")
    bounds = []
    for start, end, axis, step in zip(starts, ends, axes, steps):
        dim = shape[axis]
        start, end, step = slice(start, end, step).indices(dim)
        # indices() says "before the first element" with -1, which a bound would read as
        # the last element; -dim-1 clamps to the same place
        bounds.append((-dim - 1 if start < 0 else start, -dim - 1 if end < 0 else end, step))
    return node.build(graph.SliceOp, node.inputs[0], starts=[b[0] for b in bounds],
                      ends=[b[1] for b in bounds], axes=axes, steps=[b[2] for b in bounds])


# ---- gathers and scatters --------------------------------------------------------------------------

@converter("Gather")
def gather(node: Node):
    return node.build(graph.GatherOp, *node.inputs[:2], axis=node.attr("axis", 0))


@converter("GatherElements")
def gather_elements(node: Node):
    return node.build(graph.GatherElementsOp, *node.inputs[:2], axis=node.attr("axis", 0))


@converter("GatherND")
def gather_nd(node: Node):
    return node.build(graph.GatherNDOp, *node.inputs[:2], batch_dims=node.attr("batch_dims", 0))


@converter("ScatterElements", "Scatter")
def scatter_elements(node: Node):
    return node.build(graph.ScatterElementsOp, *node.inputs[:3], axis=node.attr("axis", 0),
                      reduction=node.attr("reduction", "none"))


@converter("ScatterND")
def scatter_nd(node: Node):
    return node.build(graph.ScatterNDOp, *node.inputs[:3], reduction=node.attr("reduction", "none"))


# ---- pad --------------------------------------------------------------------------------------

@converter("Pad")
def pad(node: Node):
    rank = _rank(node)
    pads = _ints(node.require_const(1, "pads"))
    axes = _optional_const(node, 3, "axes")
    axes = _axes(_ints(axes) if axes is not None else range(rank), rank)
    if len(pads) != 2 * len(axes):
        raise Unsupported(f"pads has {len(pads)} entries for {len(axes)} axes")
    full = [0] * (2 * rank)
    for i, a in enumerate(axes):
        full[a], full[rank + a] = pads[i], pads[len(axes) + i]
    mode = node.attr("mode", "constant")
    value = node.input(2) if mode == "constant" else None
    if value is not None and value.type.shape not in ((), (1,)):
        raise Unsupported(f"constant_value must be a scalar, got {value.type}")
    operands = [node.inputs[0]] + ([value] if value is not None else [])
    return node.build(graph.PadOp, *operands, pads=full, mode=mode)


@converter("CenterCropPad")
def center_crop_pad(node: Node):
    """Crop (centred, the extra element on the right) or zero-pad each axis to `shape`."""
    shape = _shape(node)
    rank = len(shape)
    target = _ints(node.require_const(1, "shape"))
    axes = _axes(node.attr("axes", list(range(rank))), rank)
    if len(target) != len(axes):
        raise Unsupported(f"shape {target} must give a size for each of {len(axes)} axes")
    pads, starts, ends = [0] * (2 * rank), [], []
    for a, size in zip(axes, target):
        if size > shape[a]:
            pads[a] = (size - shape[a]) // 2
            pads[rank + a] = size - shape[a] - pads[a]
        starts.append(max(shape[a] - size, 0) // 2)
        ends.append(starts[-1] + size)
    x = node.inputs[0]
    if any(pads):
        x = node.build(graph.PadOp, x, pads=pads)
    return node.build(graph.SliceOp, x, starts=starts, ends=ends, axes=axes, steps=[1] * len(axes))


# ---- resize ------------------------------------------------------------------------------------

@converter("Resize")
def resize(node: Node):
    shape = _shape(node)
    rank = len(shape)
    mode = node.attr("mode", "nearest")
    transform = node.attr("coordinate_transformation_mode", "half_pixel")
    if mode not in ("nearest", "linear", "cubic"):
        raise Unsupported(f"mode '{mode}'")
    axes = _axes(node.attr("axes", list(range(rank))), rank)
    scales = _optional_const(node, 2, "scales")
    sizes = _optional_const(node, 3, "sizes")
    if (scales is None) == (sizes is None):
        raise Unsupported("exactly one of scales and sizes must be given")
    full_scales = None
    if scales is not None:
        scales = [float(s) for s in np.asarray(scales, np.float32).reshape(-1)]
        if len(scales) != len(axes) or any(s <= 0 for s in scales):
            raise Unsupported(f"scales {scales} must give a positive factor for each of {len(axes)} axes")
        full_scales = [1.0] * rank
        for a, s in zip(axes, scales):
            full_scales[a] = s
        out = [int(math.floor(s * d)) for s, d in zip(full_scales, shape)]
    else:
        sizes = _ints(sizes)
        if len(sizes) != len(axes):
            raise Unsupported(f"sizes {sizes} must give a size for each of {len(axes)} axes")
        out = list(shape)
        for a, s in zip(axes, sizes):
            out[a] = s
        policy = node.attr("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            ratios = [out[a] / shape[a] for a in axes]
            if policy == "not_larger":
                scale = min(ratios)
            elif policy == "not_smaller":
                scale = max(ratios)
            else:
                raise Unsupported(f"keep_aspect_ratio_policy '{policy}'")
            full_scales = [scale if i in axes else 1.0 for i in range(rank)]
            out = [int(scale * d + 0.5) if i in axes else d for i, d in enumerate(shape)]
    roi = None
    if transform == "tf_crop_and_resize":
        given = node.input(1)
        if given is None:
            raise Unsupported("tf_crop_and_resize needs a roi")
        given = [float(v) for v in node.require_const(1, "roi").reshape(-1)]
        if len(given) != 2 * len(axes):
            raise Unsupported(f"roi has {len(given)} entries for {len(axes)} axes")
        roi = [0.0] * rank + [1.0] * rank
        for i, a in enumerate(axes):
            roi[a], roi[rank + a] = given[i], given[len(axes) + i]
    return node.build(
        graph.ResizeOp, node.inputs[0], sizes=out,
        scales=DenseArrayAttr(f64, full_scales) if full_scales is not None else None,
        roi=DenseArrayAttr(f64, roi) if roi is not None else None,
        mode=mode, coordinate_transformation_mode=transform,
        nearest_mode=node.attr("nearest_mode", "round_prefer_floor"),
        cubic_coeff_a=float(node.attr("cubic_coeff_a", -0.75)),
        exclude_outside=node.attr("exclude_outside", 0),
        extrapolation_value=float(node.attr("extrapolation_value", 0.0)),
        antialias=node.attr("antialias", 0))


# ---- one-hot, trilu, top-k, compress, non-zero ------------------------------------

@converter("OneHot")
def one_hot(node: Node):
    depth = node.require_const(1, "depth").reshape(-1)
    if depth.size != 1:
        raise Unsupported(f"depth must have one element, got {depth.size}")
    return node.build(graph.OneHotOp, node.inputs[0], node.inputs[2], depth=int(depth[0]),
                      axis=node.attr("axis", -1))


@converter("Trilu")
def trilu(node: Node):
    k = node.input(1)
    if k is not None and node.const(1) is None:   # a diagonal known only at run time
        return node.build(graph.TriluOp, node.inputs[0], k, upper=node.attr("upper", 1))
    k = _optional_const(node, 1, "k")
    return node.build(graph.TriluOp, node.inputs[0], upper=node.attr("upper", 1),
                      k=int(k.reshape(-1)[0]) if k is not None else 0)


@converter("TopK")
def top_k(node: Node):
    k = node.require_const(1, "K").reshape(-1)
    op = node.build(graph.TopKOp, node.inputs[0], k=int(k[0]), axis=node.attr("axis", -1),
                    largest=node.attr("largest", 1), sorted=node.attr("sorted", 1))
    return list(op.results)


@converter("Compress")
def compress(node: Node):
    """With a constant condition, a gather of the selected positions."""
    condition = node.require_const(1, "condition").reshape(-1).astype(bool)
    x = node.inputs[0]
    if node.has_attr("axis"):
        axis = node.attr("axis")
        if not -x.type.rank <= axis < x.type.rank:
            raise Unsupported(f"axis {axis} is out of range for rank {x.type.rank}")
        if condition.size > x.type.shape[axis]:
            raise Unsupported(f"condition has {condition.size} entries for an axis of {x.type.shape[axis]}")
        return node.build(graph.GatherOp, x, node.constant(np.flatnonzero(condition).astype(np.int64)), axis=axis)
    size = math.prod(x.type.shape)
    if condition.size > size:
        raise Unsupported(f"condition has {condition.size} entries for {size} elements")
    positions = np.flatnonzero(condition)
    index = np.stack(np.unravel_index(positions, x.type.shape), axis=-1).astype(np.int64)
    return node.build(graph.GatherNDOp, x, node.constant(index.reshape(len(positions), x.type.rank)))


@converter("NonZero")
def non_zero(node: Node):
    """Only of a constant: the result's shape is the number of nonzeros."""
    x = node.require_const(0, "X")
    return node.constant(np.array(np.nonzero(x), dtype=np.int64).reshape(x.ndim, -1))


@converter("GridSample")
def grid_sample(node: Node):
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(node.attr("mode", "linear"), node.attr("mode", "linear"))
    return node.build(graph.GridSampleOp, *node.inputs[:2], mode=mode,
                      padding_mode=node.attr("padding_mode", "zeros"),
                      align_corners=node.attr("align_corners", 0))
