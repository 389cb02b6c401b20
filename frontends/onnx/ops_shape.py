"""ONNX -> graph: converters of shape ops. Shapes are static here, so ONNX's shape inputs
(Reshape's shape, Expand's, Tile's repeats, Split's sizes, Squeeze's axes) must be
constants, and the ops that only read shapes (Shape, Size, EyeLike) or build tensors from
constants (Constant, ConstantOfShape, Range) become graph.constant at import."""

from __future__ import annotations

import math

import numpy as np

from descend.dialects import graph
from descend.dialects.graph.base import element_of

from .importer import element_type
from .registry import Node, Unsupported, converter


def _ints(array) -> list[int]:
    return [int(v) for v in np.asarray(array).reshape(-1)]


def _shape(node: Node, index: int = 0) -> tuple[int, ...]:
    return tuple(node.inputs[index].type.shape)


def _results(built) -> list:
    return list(built.results) if hasattr(built, "results") else [built]


# ---- reshapes -----------------------------------------------------------------------------------

@converter("Reshape")
def reshape(node: Node):
    x = node.inputs[0]
    source = _shape(node)
    target = _ints(node.require_const(1, "shape"))
    allowzero = int(node.attr("allowzero", 0))
    out = []
    for i, d in enumerate(target):
        if d == 0 and not allowzero:
            if i >= len(source):
                raise Unsupported(f"shape {target} copies dimension {i}, but the input has rank {len(source)}")
            d = source[i]
        out.append(d)
    if out.count(-1) > 1:
        raise Unsupported(f"shape {target} has more than one -1")
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        total = math.prod(source)
        if known == 0 or total % known:
            raise Unsupported(f"shape {target} cannot hold the {total} elements of {x.type}")
        out[out.index(-1)] = total // known
    if any(d < 0 for d in out):
        raise Unsupported(f"shape {target} has a negative size")
    return node.build(graph.ReshapeOp, x, shape=out)


@converter("Flatten")
def flatten(node: Node):
    shape = _shape(node)
    axis = int(node.attr("axis", 1))
    if not -len(shape) <= axis <= len(shape):
        raise Unsupported(f"axis {axis} is out of range for rank {len(shape)}")
    if axis < 0:
        axis += len(shape)
    out = [math.prod(shape[:axis]), math.prod(shape[axis:])]
    return node.build(graph.ReshapeOp, node.inputs[0], shape=out)


def _axes(node: Node) -> list[int] | None:
    """Squeeze/Unsqueeze axes: an input since opset 13, an attribute before."""
    if node.input(1) is not None:
        return _ints(node.require_const(1, "axes"))
    axes = node.attr("axes")
    return None if axes is None else [int(a) for a in axes]


@converter("Squeeze")
def squeeze(node: Node):
    shape = _shape(node)
    axes = _axes(node)
    if axes is None:
        drop = {i for i, d in enumerate(shape) if d == 1}
    else:
        if any(not -len(shape) <= a < len(shape) for a in axes):
            raise Unsupported(f"axes {axes} are out of range for rank {len(shape)}")
        drop = {a % len(shape) for a in axes}
        if any(shape[a] != 1 for a in drop):
            raise Unsupported(f"axes {axes} of {node.inputs[0].type} are not all of size 1")
    out = [d for i, d in enumerate(shape) if i not in drop]
    return node.build(graph.ReshapeOp, node.inputs[0], shape=out)


@converter("Unsqueeze")
def unsqueeze(node: Node):
    shape = _shape(node)
    axes = _axes(node)
    if axes is None:
        raise Unsupported("axes are required")
    rank = len(shape) + len(axes)
    if any(not -rank <= a < rank for a in axes):
        raise Unsupported(f"axes {axes} are out of range for rank {rank}")
    inserted = {a % rank for a in axes}
    if len(inserted) != len(axes):
        raise Unsupported(f"axes {axes} repeat an axis")
    rest = iter(shape)
    out = [1 if i in inserted else next(rest) for i in range(rank)]
    return node.build(graph.ReshapeOp, node.inputs[0], shape=out)


# ---- moving data ----------------------------------------------------------------------------------

@converter("Transpose")
def transpose(node: Node):
    perm = node.attr("perm")
    if perm is None:
        perm = list(reversed(range(len(_shape(node)))))
    return node.build(graph.TransposeOp, node.inputs[0], perm=[int(p) for p in perm])


@converter("Expand")
def expand(node: Node):
    shape = _ints(node.require_const(1, "shape"))
    return node.build(graph.ExpandOp, node.inputs[0], shape=shape)


@converter("Concat")
def concat(node: Node):
    inputs = [v for v in node.inputs if v is not None]
    return node.build(graph.ConcatOp, inputs, axis=int(node.require_attr("axis")))


@converter("Split")
def split(node: Node):
    shape = _shape(node)
    axis = int(node.attr("axis", 0))
    if not -len(shape) <= axis < len(shape):
        raise Unsupported(f"axis {axis} is out of range for rank {len(shape)}")
    size = shape[axis % len(shape)]
    count = len(node.proto.output)
    if node.input(1) is not None:
        sizes = _ints(node.require_const(1, "split"))
    elif node.has_attr("split"):
        sizes = [int(s) for s in node.attr("split")]
    elif node.has_attr("num_outputs"):
        # opset 18: equal pieces, the last one smaller when the size does not divide
        parts = int(node.attr("num_outputs"))
        piece = -(-size // parts)
        sizes = [min(piece, max(size - piece * i, 0)) for i in range(parts)]
    else:
        if size % count:
            raise Unsupported(f"axis {axis} of size {size} does not split into {count} equal parts")
        sizes = [size // count] * count
    if len(sizes) != count:
        raise Unsupported(f"split gives {len(sizes)} pieces for {count} outputs")
    return _results(node.build(graph.SplitOp, node.inputs[0], axis=axis, sizes=sizes))


@converter("Tile")
def tile(node: Node):
    repeats = _ints(node.require_const(1, "repeats"))
    return node.build(graph.TileOp, node.inputs[0], repeats=repeats)


@converter("DepthToSpace")
def depth_to_space(node: Node):
    return node.build(graph.DepthToSpaceOp, node.inputs[0], blocksize=int(node.require_attr("blocksize")),
                      mode=str(node.attr("mode", "DCR")).upper())


@converter("SpaceToDepth")
def space_to_depth(node: Node):
    return node.build(graph.SpaceToDepthOp, node.inputs[0], blocksize=int(node.require_attr("blocksize")),
                      mode=str(node.attr("mode", "DCR")).upper())


@converter("ReverseSequence")
def reverse_sequence(node: Node):
    return node.build(graph.ReverseSequenceOp, node.inputs[0], node.inputs[1],
                      batch_axis=int(node.attr("batch_axis", 1)), time_axis=int(node.attr("time_axis", 0)))


# ---- constants at import ---------------------------------------------------------------------------

@converter("Shape")
def shape(node: Node):
    dims = _shape(node)
    start = int(node.attr("start", 0))
    end = node.attr("end")
    return node.constant(np.array(dims[start:None if end is None else int(end)], np.int64))


@converter("Size")
def size(node: Node):
    return node.constant(np.array(math.prod(_shape(node)), np.int64))


def _tensor_attr(node: Node, name: str):
    """A TENSOR attribute as (array, element type), keeping ONNX's data type."""
    import onnx
    proto = next(a for a in node.proto.attribute if a.name == name)
    if proto.type != onnx.AttributeProto.TENSOR:
        raise Unsupported(f"attribute '{name}' must be a tensor")
    element = element_type(proto.t.data_type)
    return onnx.numpy_helper.to_array(proto.t), element


@converter("Constant")
def constant(node: Node):
    import onnx
    from descend.ir import f32, i64
    if node.has_attr("value"):
        array, element = _tensor_attr(node, "value")
        return node.constant(np.asarray(array), element)
    if node.has_attr("value_float"):
        return node.constant(np.array(node.attr("value_float"), np.float32), f32)
    if node.has_attr("value_floats"):
        return node.constant(np.array(node.attr("value_floats"), np.float32).reshape(-1), f32)
    if node.has_attr("value_int"):
        return node.constant(np.array(node.attr("value_int"), np.int64), i64)
    if node.has_attr("value_ints"):
        return node.constant(np.array(node.attr("value_ints"), np.int64).reshape(-1), i64)
    if node.has_attr("sparse_value"):
        proto = next(a for a in node.proto.attribute if a.name == "sparse_value").sparse_tensor
        element = element_type(proto.values.data_type)
        values = onnx.numpy_helper.to_array(proto.values)
        indices = onnx.numpy_helper.to_array(proto.indices)
        dims = tuple(proto.dims)
        dense = np.zeros(math.prod(dims), values.dtype)
        flat = indices.reshape(-1) if indices.ndim == 1 else np.ravel_multi_index(indices.T, dims)
        dense[flat] = values.reshape(-1)
        return node.constant(dense.reshape(dims), element)
    if node.has_attr("value_string") or node.has_attr("value_strings"):
        raise Unsupported("string constants are not supported")
    raise Unsupported("has no value attribute")


@converter("ConstantOfShape")
def constant_of_shape(node: Node):
    from descend.ir import f32
    dims = _ints(node.require_const(0, "shape"))
    if any(d < 0 for d in dims):
        raise Unsupported(f"shape {dims} has a negative size")
    if node.has_attr("value"):
        array, element = _tensor_attr(node, "value")
        if np.size(array) != 1:
            raise Unsupported(f"value must hold one element, got {np.size(array)}")
        fill = np.asarray(array).reshape(())
    else:
        fill, element = np.float32(0), f32
    return node.constant(np.full(dims, fill, dtype=np.asarray(fill).dtype), element)


@converter("Range")
def range_(node: Node):
    start, limit, delta = (node.require_const(i, what) for i, what in enumerate(("start", "limit", "delta")))
    element = element_of(node.inputs[0].type)
    start, limit, delta = (np.asarray(v).reshape(()) for v in (start, limit, delta))
    if delta == 0:
        raise Unsupported("delta is 0")
    count = max(int(np.ceil((limit - start) / delta)), 0)
    values = start + np.arange(count).astype(start.dtype) * delta
    return node.constant(values.astype(start.dtype), element)


@converter("EyeLike")
def eye_like(node: Node):
    shape = _shape(node)
    if len(shape) != 2:
        raise Unsupported(f"input must be rank 2, got {node.inputs[0].type}")
    dtype = node.attr("dtype")
    element = element_of(node.inputs[0].type) if dtype is None else element_type(int(dtype))
    from descend.ir import numpy_dtype
    return node.constant(np.eye(shape[0], shape[1], k=int(node.attr("k", 0)), dtype=numpy_dtype(element)), element)
