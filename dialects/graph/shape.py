"""graph: data movement with static shapes — reshape, transpose, expand (broadcast to a
shape), concat, split, tile, depth_to_space / space_to_depth and reverse_sequence.

Shapes are attributes, never operands: the importer resolves ONNX's shape inputs (and
Reshape's 0 and -1) to numbers, so every op here states its result shape in full."""

from __future__ import annotations

import numpy as np

from descend.ir import IntegerType, TensorType, operand, result, var_operand, var_result

from .base import (GraphOp, Kind, ShapeError, broadcast_shapes, int_, ints, normalize_axis,
                   same_elements, shape_text, string, tensor)


def _count(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


class ReshapeOp(GraphOp):
    """x's elements, in row-major order, as a tensor of `shape`."""

    name = "graph.reshape"
    x = operand(TensorType)
    y = result(TensorType)
    shape = ints(doc="the result shape, every size given")
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        shape = attrs.shape
        if shape is None:
            raise ShapeError("needs a 'shape'")
        if any(d < 0 for d in shape):
            raise ShapeError(f"shape [{shape_text(shape)}] has a negative size")
        if _count(shape) != _count(t.shape):
            raise ShapeError(f"cannot reshape [{shape_text(t.shape)}] ({_count(t.shape)} elements) "
                             f"to [{shape_text(shape)}] ({_count(shape)} elements)")
        return [tensor(shape, t.element_type)]

    @staticmethod
    def reference(x, *, shape):
        return np.reshape(x, tuple(int(d) for d in shape))


class TransposeOp(GraphOp):
    """x with its axes permuted: y.shape[i] = x.shape[perm[i]] (perm defaults to reversed)."""

    name = "graph.transpose"
    x = operand(TensorType)
    y = result(TensorType)
    perm = ints(doc="a permutation of the axes; absent: reverse them")
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        perm = attrs.perm
        if perm is None:
            perm = list(reversed(range(t.rank)))
        if sorted(perm) != list(range(t.rank)):
            raise ShapeError(f"perm {list(perm)} is not a permutation of the axes of [{shape_text(t.shape)}]")
        return [tensor([t.shape[p] for p in perm], t.element_type)]

    @staticmethod
    def reference(x, *, perm=None):
        return np.transpose(x, None if perm is None else tuple(int(p) for p in perm))


class ExpandOp(GraphOp):
    """x broadcast with `shape` (numpy rules both ways: a size-1 side takes the other's)."""

    name = "graph.expand"
    x = operand(TensorType)
    y = result(TensorType)
    shape = ints(doc="the shape x broadcasts with")
    kind = Kind.BROADCAST

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        if attrs.shape is None:
            raise ShapeError("needs a 'shape'")
        if any(d < 0 for d in attrs.shape):
            raise ShapeError(f"shape [{shape_text(attrs.shape)}] has a negative size")
        return [tensor(broadcast_shapes(t.shape, attrs.shape), t.element_type)]

    @staticmethod
    def reference(x, *, shape):
        x = np.asarray(x)
        return np.broadcast_to(x, broadcast_shapes(x.shape, [int(d) for d in shape])).copy()


class ConcatOp(GraphOp):
    """The inputs joined along `axis` (all other sizes equal)."""

    name = "graph.concat"
    inputs = var_operand(TensorType)
    y = result(TensorType)
    axis = int_(doc="the axis to join along; negative counts from the end")
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        if not types:
            raise ShapeError("needs at least one input")
        element = same_elements(types, "inputs")
        rank = types[0].rank
        if rank == 0:
            raise ShapeError(f"cannot concatenate scalars ({types[0]})")
        axis = normalize_axis(attrs.axis, rank, "axis")
        shapes = ", ".join(f"[{shape_text(t.shape)}]" for t in types)
        for t in types:
            if t.rank != rank or any(a != b for i, (a, b) in enumerate(zip(t.shape, types[0].shape)) if i != axis):
                raise ShapeError(f"shapes {shapes} differ outside axis {attrs.axis}")
        shape = list(types[0].shape)
        shape[axis] = sum(t.shape[axis] for t in types)
        return [tensor(shape, element)]

    @staticmethod
    def reference(*inputs, axis):
        return np.concatenate([np.asarray(x) for x in inputs], axis=axis)


class SplitOp(GraphOp):
    """x cut along `axis` into consecutive pieces of the given `sizes`, one result each."""

    name = "graph.split"
    x = operand(TensorType)
    outputs = var_result(TensorType)
    axis = int_(0)
    sizes = ints(doc="the size of each piece along axis; they sum to that axis' size")
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        if t.rank == 0:
            raise ShapeError(f"cannot split a scalar ({t})")
        axis = normalize_axis(attrs.axis, t.rank, "axis")
        sizes = attrs.sizes
        if not sizes:
            raise ShapeError("needs 'sizes'")
        if any(s < 0 for s in sizes) or sum(sizes) != t.shape[axis]:
            raise ShapeError(f"sizes {list(sizes)} do not cut axis {attrs.axis} of [{shape_text(t.shape)}] "
                             f"(size {t.shape[axis]})")
        out = []
        for s in sizes:
            shape = list(t.shape)
            shape[axis] = s
            out.append(tensor(shape, t.element_type))
        return out

    @staticmethod
    def reference(x, *, axis=0, sizes):
        x = np.asarray(x)
        cuts = np.cumsum([int(s) for s in sizes])[:-1]
        return tuple(np.split(x, cuts, axis=axis))


class TileOp(GraphOp):
    """x repeated `repeats[i]` times along each axis i."""

    name = "graph.tile"
    x = operand(TensorType)
    y = result(TensorType)
    repeats = ints(doc="how many copies along each axis, one per axis")
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        repeats = attrs.repeats
        if repeats is None or len(repeats) != t.rank:
            raise ShapeError(f"repeats {repeats} must give one count per axis of [{shape_text(t.shape)}]")
        if any(r < 0 for r in repeats):
            raise ShapeError(f"repeats {list(repeats)} has a negative count")
        return [tensor([d * r for d, r in zip(t.shape, repeats)], t.element_type)]

    @staticmethod
    def reference(x, *, repeats):
        return np.tile(x, tuple(int(r) for r in repeats))


def _blocks(t, blocksize: int, what: str) -> tuple[int, int, int, int]:
    if t.rank != 4:
        raise ShapeError(f"expects an NCHW tensor, got {t}")
    if blocksize < 1:
        raise ShapeError(f"blocksize must be positive, got {blocksize}")
    return t.shape


def _check_mode(mode: str) -> None:
    if mode not in ("DCR", "CRD"):
        raise ShapeError(f"mode must be \"DCR\" or \"CRD\", got \"{mode}\"")


class DepthToSpaceOp(GraphOp):
    """Moves blocks of channels into blocksize x blocksize spatial tiles (NCHW): DCR takes
    the block offset from the channel's high part, CRD from its low part."""

    name = "graph.depth_to_space"
    x = operand(TensorType)
    y = result(TensorType)
    blocksize = int_()
    mode = string("DCR")
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        n, c, h, w = _blocks(t, attrs.blocksize, "depth_to_space")
        _check_mode(attrs.mode)
        b = attrs.blocksize
        if c % (b * b):
            raise ShapeError(f"channels of [{shape_text(t.shape)}] ({c}) are not a multiple of blocksize² ({b * b})")
        return [tensor((n, c // (b * b), h * b, w * b), t.element_type)]

    @staticmethod
    def reference(x, *, blocksize, mode="DCR"):
        n, c, h, w = x.shape
        b = blocksize
        if mode == "DCR":
            y = np.reshape(x, (n, b, b, c // (b * b), h, w)).transpose(0, 3, 4, 1, 5, 2)
        else:
            y = np.reshape(x, (n, c // (b * b), b, b, h, w)).transpose(0, 1, 4, 2, 5, 3)
        return np.reshape(y, (n, c // (b * b), h * b, w * b))


class SpaceToDepthOp(GraphOp):
    """Moves blocksize x blocksize spatial tiles into channels (NCHW), the inverse of
    depth_to_space in the same mode."""

    name = "graph.space_to_depth"
    x = operand(TensorType)
    y = result(TensorType)
    blocksize = int_()
    mode = string("DCR")
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        n, c, h, w = _blocks(t, attrs.blocksize, "space_to_depth")
        _check_mode(attrs.mode)
        b = attrs.blocksize
        if h % b or w % b:
            raise ShapeError(f"spatial sizes of [{shape_text(t.shape)}] are not multiples of blocksize {b}")
        return [tensor((n, c * b * b, h // b, w // b), t.element_type)]

    @staticmethod
    def reference(x, *, blocksize, mode="DCR"):
        n, c, h, w = x.shape
        b = blocksize
        y = np.reshape(x, (n, c, h // b, b, w // b, b))
        y = y.transpose(0, 3, 5, 1, 2, 4) if mode == "DCR" else y.transpose(0, 1, 3, 5, 2, 4)
        return np.reshape(y, (n, c * b * b, h // b, w // b))


class ReverseSequenceOp(GraphOp):
    """For each batch entry b, reverses the first lengths[b] steps of x along time_axis."""

    name = "graph.reverse_sequence"
    x = operand(TensorType)
    lengths = operand(TensorType)
    y = result(TensorType)
    batch_axis = int_(1)
    time_axis = int_(0)
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        t, lengths = types
        if t.rank < 2:
            raise ShapeError(f"expects a tensor of rank >= 2, got {t}")
        batch = normalize_axis(attrs.batch_axis, t.rank, "batch_axis")
        time = normalize_axis(attrs.time_axis, t.rank, "time_axis")
        if {batch, time} != {0, 1}:
            raise ShapeError(f"batch_axis and time_axis must be 0 and 1, got {attrs.batch_axis} and {attrs.time_axis}")
        if not isinstance(lengths.element_type, IntegerType) or lengths.element_type.width == 1:
            raise ShapeError(f"lengths must be integers, got {lengths}")
        if lengths.shape != (t.shape[batch],):
            raise ShapeError(f"lengths {lengths} must hold one length per batch entry of [{shape_text(t.shape)}]")
        return [t]

    @staticmethod
    def reference(x, lengths, *, batch_axis=1, time_axis=0):
        x = np.asarray(x)
        steps = x.shape[time_axis]
        t = np.arange(steps)[:, None]                                    # [time, batch]
        n = np.clip(np.asarray(lengths, np.int64), 0, steps)[None, :]
        source = np.where(t < n, n - 1 - t, t)
        if batch_axis == 0:
            source = source.T                                            # [batch, time]
        source = source.reshape(source.shape + (1,) * (x.ndim - 2))
        return np.take_along_axis(x, np.broadcast_to(source, x.shape), axis=time_axis)
