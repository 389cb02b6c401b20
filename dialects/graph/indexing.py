"""graph: indexing and data-movement ops — slice, gather/scatter, pad, resize, one-hot, trilu,
top-k, grid-sample (reverse_sequence lives with the shape ops).

Indices follow ONNX: a negative index counts from the end of its axis. Everything that
decides a result shape (slice bounds, pads, resize sizes, top-k's k, one-hot's depth) is an
attribute, so shapes stay static; the ONNX converters read those from constant inputs."""

from __future__ import annotations

import math

import numpy as np

from descend.ir import IntegerType, TensorType, i64, operand, opt_operand, result

from .base import (GraphOp, Kind, ShapeError, element_of, float_, floats, int_, ints,
                   is_float, normalize_axis, same_elements, shape_text, string, tensor)


def _require_indices(t, what: str = "indices") -> None:
    e = element_of(t)
    if not isinstance(e, IntegerType) or e.width == 1:
        raise ShapeError(f"{what} must be integers, got {t}")


def _wrap(indices: np.ndarray, size) -> np.ndarray:
    """ONNX's negative indices: -1 is the last element."""
    indices = np.asarray(indices).astype(np.int64)
    return np.where(indices < 0, indices + size, indices)


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ShapeError(f"{what} must be one of {', '.join(allowed)}, got '{value}'")


# ---- slice ------------------------------------------------------------------------------------

class SliceOp(GraphOp):
    """x[starts:ends:steps] along `axes` with Python's (and ONNX's) rules: negative bounds
    count from the end and every bound is clamped to the axis."""

    name = "graph.slice"
    x = operand(TensorType)
    y = result(TensorType)
    starts = ints()
    ends = ints()
    axes = ints(doc="default: 0, 1, ... len(starts)-1")
    steps = ints(doc="default: all 1")
    kind = Kind.INJECTIVE

    @staticmethod
    def slices(shape, starts, ends, axes=None, steps=None) -> tuple[slice, ...]:
        n = len(starts)
        axes = list(range(n)) if axes is None else list(axes)
        steps = [1] * n if steps is None else list(steps)
        lengths = {len(ends), len(axes), len(steps)}
        if lengths != {n}:
            raise ShapeError(f"starts, ends, axes and steps must have one length, got "
                             f"{n}, {len(ends)}, {len(axes)} and {len(steps)}")
        out = [slice(None)] * len(shape)
        seen = set()
        for start, end, axis, step in zip(starts, ends, axes, steps):
            a = normalize_axis(int(axis), len(shape))
            if a in seen:
                raise ShapeError(f"axis {axis} is sliced twice")
            if step == 0:
                raise ShapeError(f"step along axis {axis} must not be 0")
            seen.add(a)
            out[a] = slice(int(start), int(end), int(step))
        return tuple(out)

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        slices = cls.slices(t.shape, attrs.starts, attrs.ends, attrs.axes, attrs.steps)
        shape = [len(range(*s.indices(d))) for s, d in zip(slices, t.shape)]
        return [tensor(shape, t.element_type)]

    @staticmethod
    def reference(x, *, starts, ends, axes=None, steps=None):
        return x[SliceOp.slices(x.shape, starts, ends, axes, steps)]


# ---- gathers ------------------------------------------------------------------------------------

class GatherOp(GraphOp):
    """Entries of data along `axis` at `indices` (numpy's take):
    out[i.., j.., k..] = data[i.., indices[j..], k..]."""

    name = "graph.gather"
    data = operand(TensorType)
    indices = operand(TensorType)
    out = result(TensorType)
    axis = int_(0)
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        data, indices = types
        _require_indices(indices)
        if data.rank == 0:
            raise ShapeError(f"data must have rank >= 1, got {data}")
        a = normalize_axis(attrs.axis, data.rank)
        return [tensor(data.shape[:a] + indices.shape + data.shape[a + 1:], data.element_type)]

    @staticmethod
    def reference(data, indices, *, axis=0):
        axis = axis % data.ndim
        return np.take(data, _wrap(indices, data.shape[axis]), axis=axis)


class GatherElementsOp(GraphOp):
    """out[i..] = data[i.. with its `axis` coordinate replaced by indices[i..]]; out has
    the shape of indices."""

    name = "graph.gather_elements"
    data = operand(TensorType)
    indices = operand(TensorType)
    out = result(TensorType)
    axis = int_(0)
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        data, indices = types
        _require_indices(indices)
        if data.rank != indices.rank or data.rank == 0:
            raise ShapeError(f"data and indices must have one rank >= 1, got {data} and {indices}")
        a = normalize_axis(attrs.axis, data.rank)
        if any(i > d for k, (i, d) in enumerate(zip(indices.shape, data.shape)) if k != a):
            raise ShapeError(f"indices [{shape_text(indices.shape)}] exceed data "
                             f"[{shape_text(data.shape)}] off axis {a}")
        return [tensor(indices.shape, data.element_type)]

    @staticmethod
    def reference(data, indices, *, axis=0):
        axis = axis % data.ndim
        window = tuple(slice(None) if k == axis else slice(0, s) for k, s in enumerate(indices.shape))
        return np.take_along_axis(data[window], _wrap(indices, data.shape[axis]), axis=axis)


class GatherNDOp(GraphOp):
    """Slices of data at index tuples: the last axis of indices (length k) indexes data's
    first k axes after `batch_dims` leading axes shared by data and indices."""

    name = "graph.gather_nd"
    data = operand(TensorType)
    indices = operand(TensorType)
    out = result(TensorType)
    batch_dims = int_(0)
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        data, indices = types
        _require_indices(indices)
        b = attrs.batch_dims
        if indices.rank < 1 or not 0 <= b < min(data.rank, indices.rank):
            raise ShapeError(f"batch_dims {b} needs data and indices of rank > {b}, got {data} and {indices}")
        if data.shape[:b] != indices.shape[:b]:
            raise ShapeError(f"batch dimensions differ: data [{shape_text(data.shape)}], "
                             f"indices [{shape_text(indices.shape)}]")
        k = indices.shape[-1]
        if b + k > data.rank:
            raise ShapeError(f"index tuples of length {k} exceed data [{shape_text(data.shape)}] "
                             f"after {b} batch dims")
        return [tensor(indices.shape[:-1] + data.shape[b + k:], data.element_type)]

    @staticmethod
    def reference(data, indices, *, batch_dims=0):
        b, k = batch_dims, indices.shape[-1]
        batch = int(np.prod(data.shape[:b], dtype=np.int64))
        flat = data.reshape((batch,) + data.shape[b:])
        index = _wrap(indices.reshape((batch,) + indices.shape[b:]), np.array(data.shape[b:b + k]))
        rows = np.arange(batch).reshape((batch,) + (1,) * (index.ndim - 2))
        out = flat[(rows,) + tuple(index[..., i] for i in range(k))]
        return out.reshape(indices.shape[:-1] + data.shape[b + k:])


# ---- scatters ------------------------------------------------------------------------------------

_REDUCTIONS = ("none", "add", "mul", "max", "min")
_UFUNCS = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def _scatter(data, index: tuple, updates, reduction: str):
    out = np.array(data, copy=True)
    if reduction == "none":
        out[index] = updates   # duplicate indices: the last update wins, as onnx's reference
    else:
        _UFUNCS[reduction].at(out, index, updates)
    return out


class ScatterElementsOp(GraphOp):
    """A copy of data where out[i.. with its `axis` coordinate replaced by indices[i..]]
    becomes updates[i..] (or combines with it by `reduction`: add, mul, max, min)."""

    name = "graph.scatter_elements"
    data = operand(TensorType)
    indices = operand(TensorType)
    updates = operand(TensorType)
    out = result(TensorType)
    axis = int_(0)
    reduction = string("none")
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        data, indices, updates = types
        _require_indices(indices)
        _one_of(attrs.reduction, _REDUCTIONS, "reduction")
        same_elements([data, updates], "data and updates")
        if indices.shape != updates.shape:
            raise ShapeError(f"indices [{shape_text(indices.shape)}] and updates "
                             f"[{shape_text(updates.shape)}] must have one shape")
        if data.rank != indices.rank or data.rank == 0:
            raise ShapeError(f"data and indices must have one rank >= 1, got {data} and {indices}")
        a = normalize_axis(attrs.axis, data.rank)
        if any(i > d for k, (i, d) in enumerate(zip(indices.shape, data.shape)) if k != a):
            raise ShapeError(f"indices [{shape_text(indices.shape)}] exceed data "
                             f"[{shape_text(data.shape)}] off axis {a}")
        return [data]

    @staticmethod
    def reference(data, indices, updates, *, axis=0, reduction="none"):
        axis = axis % data.ndim
        index = list(np.indices(indices.shape, sparse=True))
        index[axis] = _wrap(indices, data.shape[axis])
        return _scatter(data, tuple(index), updates, reduction)


class ScatterNDOp(GraphOp):
    """A copy of data where the slice at each index tuple (the last axis of indices)
    becomes the matching slice of updates (or combines with it by `reduction`)."""

    name = "graph.scatter_nd"
    data = operand(TensorType)
    indices = operand(TensorType)
    updates = operand(TensorType)
    out = result(TensorType)
    reduction = string("none")
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        data, indices, updates = types
        _require_indices(indices)
        _one_of(attrs.reduction, _REDUCTIONS, "reduction")
        same_elements([data, updates], "data and updates")
        if indices.rank < 1 or indices.shape[-1] > data.rank:
            raise ShapeError(f"indices {indices} must end in an axis of at most data's rank {data.rank}")
        want = indices.shape[:-1] + data.shape[indices.shape[-1]:]
        if updates.shape != want:
            raise ShapeError(f"updates [{shape_text(updates.shape)}] should be [{shape_text(want)}] "
                             f"for data [{shape_text(data.shape)}] and indices [{shape_text(indices.shape)}]")
        return [data]

    @staticmethod
    def reference(data, indices, updates, *, reduction="none"):
        k = indices.shape[-1]
        index = _wrap(indices, np.array(data.shape[:k]))
        return _scatter(data, tuple(index[..., i] for i in range(k)), updates, reduction)


# ---- pad ------------------------------------------------------------------------------------------

_PAD_MODES = ("constant", "reflect", "edge", "wrap")


class PadOp(GraphOp):
    """x with pads[i] elements added before and pads[rank + i] after axis i (negative pads
    crop), filled with `value` (default 0) or by reflecting, repeating the edge, or wrapping."""

    name = "graph.pad"
    x = operand(TensorType)
    value = opt_operand(TensorType, doc="a one-element tensor, for mode constant")
    y = result(TensorType)
    pads = ints()
    mode = string("constant")
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        t = types[0]
        _one_of(attrs.mode, _PAD_MODES, "mode")
        pads = attrs.pads
        if len(pads) != 2 * t.rank:
            raise ShapeError(f"pads has {len(pads)} entries, {t} needs {2 * t.rank}")
        if len(types) > 1:
            same_elements(types, "x and value")
            if math.prod(types[1].shape) != 1:
                raise ShapeError(f"value must have one element, got {types[1]}")
        shape = [d + pads[i] + pads[t.rank + i] for i, d in enumerate(t.shape)]
        if any(d < 0 for d in shape):
            raise ShapeError(f"pads {pads} crop [{shape_text(t.shape)}] below nothing")
        if attrs.mode != "constant":
            for i, d in enumerate(t.shape):
                if d == 0 and (pads[i] > 0 or pads[t.rank + i] > 0):
                    raise ShapeError(f"mode {attrs.mode} cannot pad the empty axis {i} of {t}")
        return [tensor(shape, t.element_type)]

    @staticmethod
    def reference(x, value=None, *, pads, mode="constant"):
        rank = x.ndim
        pads = [int(p) for p in pads]
        crop = tuple(slice(max(-pads[i], 0), x.shape[i] - max(-pads[rank + i], 0)) for i in range(rank))
        width = [(max(pads[i], 0), max(pads[rank + i], 0)) for i in range(rank)]
        x = x[crop]
        if mode == "constant":
            fill = np.asarray(value).reshape(()) if value is not None else np.zeros((), x.dtype)
            return np.pad(x, width, mode="constant", constant_values=fill)
        return np.pad(x, width, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])


# ---- resize ------------------------------------------------------------------------------------

_RESIZE_MODES = ("nearest", "linear", "cubic")
_COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                     "asymmetric", "tf_crop_and_resize")
_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


class ResizeOp(GraphOp):
    """x interpolated to the shape `sizes`, axis by axis (nearest, linear or cubic), where
    output coordinate y maps to input coordinate by `coordinate_transformation_mode` with
    `scales` (default sizes / input shape): ONNX Resize with its shape resolved."""

    name = "graph.resize"
    x = operand(TensorType)
    y = result(TensorType)
    sizes = ints()
    scales = floats(doc="per axis; default sizes[i] / x.shape[i]")
    roi = floats(doc="starts then ends, per axis, for tf_crop_and_resize")
    mode = string("nearest")
    coordinate_transformation_mode = string("half_pixel")
    nearest_mode = string("round_prefer_floor")
    cubic_coeff_a = float_(-0.75)
    exclude_outside = int_(0)
    extrapolation_value = float_(0.0)
    antialias = int_(0)
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        _one_of(attrs.mode, _RESIZE_MODES, "mode")
        _one_of(attrs.coordinate_transformation_mode, _COORDINATE_MODES, "coordinate_transformation_mode")
        _one_of(attrs.nearest_mode, _NEAREST_MODES, "nearest_mode")
        sizes = attrs.sizes
        if len(sizes) != t.rank or any(s < 0 for s in sizes):
            raise ShapeError(f"sizes {sizes} must give {t.rank} sizes >= 0 for {t}")
        if attrs.scales is not None and (len(attrs.scales) != t.rank or any(s <= 0 for s in attrs.scales)):
            raise ShapeError(f"scales {attrs.scales} must give {t.rank} positive factors for {t}")
        if attrs.roi is not None and len(attrs.roi) != 2 * t.rank:
            raise ShapeError(f"roi has {len(attrs.roi)} entries, {t} needs {2 * t.rank}")
        if attrs.coordinate_transformation_mode == "tf_crop_and_resize" and attrs.roi is None:
            raise ShapeError("coordinate_transformation_mode tf_crop_and_resize needs a roi")
        return [tensor(sizes, t.element_type)]

    @staticmethod
    def reference(x, *, sizes, scales=None, roi=None, mode="nearest",
                  coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor",
                  cubic_coeff_a=-0.75, exclude_outside=0, extrapolation_value=0.0, antialias=0):
        rank = x.ndim
        out = x if mode == "nearest" else x.astype(np.float64)
        outside = np.zeros((), bool)
        for axis in range(rank):
            size, length = int(sizes[axis]), x.shape[axis]
            scale = float(scales[axis]) if scales is not None else size / length if length else 1.0
            span = (float(roi[axis]), float(roi[rank + axis])) if roi is not None else (0.0, 1.0)
            if size == length and math.isclose(scale, 1.0) and span == (0.0, 1.0):
                continue
            taps, weights, beyond = _resize_weights(
                length, size, scale, span, mode, coordinate_transformation_mode, nearest_mode,
                cubic_coeff_a, bool(exclude_outside), bool(antialias))
            if mode == "nearest":
                out = np.take(out, taps[:, 0], axis=axis)
            else:
                gathered = np.take(out, taps, axis=axis)   # axis becomes (size, n taps)
                w = weights.reshape((1,) * axis + weights.shape + (1,) * (rank - axis - 1))
                out = (gathered * w).sum(axis=axis + 1)
            if beyond is not None:
                outside = outside | beyond.reshape((1,) * axis + (size,) + (1,) * (rank - axis - 1))
        if np.any(outside):
            out = np.where(outside, np.asarray(extrapolation_value, np.float64), out)
        if x.dtype.kind in "iu":
            info = np.iinfo(x.dtype)
            out = np.clip(np.round(out), info.min, info.max)
        return np.broadcast_to(out, tuple(int(s) for s in sizes)).astype(x.dtype)


def _resize_weights(length, size, scale, span, mode, transform, nearest_mode, a, exclude_outside,
                    antialias):
    """Per output position along one axis: input taps (size, n) clamped to the axis, their
    weights (size, n), and which positions fall outside the roi (tf_crop_and_resize) or None.
    The window rule is onnx's reference: the n inputs nearest the source coordinate,
    preferring the left one, with a source coordinate on an input taken as ratio 1."""
    y = np.arange(size, dtype=np.float64)
    width = scale * length                       # the unrounded output width, as onnx uses
    beyond = None
    if transform == "align_corners":
        x = np.zeros(size) if width == 1 else y * (length - 1) / (width - 1)
    elif transform == "asymmetric":
        x = y / scale
    elif transform == "tf_crop_and_resize":
        start, end = span
        x = (np.full(size, (end - start) * (length - 1) / 2) if width == 1
             else y * (end - start) * (length - 1) / (width - 1))
        x = x + start * (length - 1)
        beyond = (x < 0) | (x > length - 1)
    elif transform == "pytorch_half_pixel":
        x = np.full(size, -0.5) if width == 1 else (y + 0.5) / scale - 0.5
    elif transform == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    else:  # half_pixel_symmetric
        offset = length / 2 * (1 - size / width)
        x = offset + (y + 0.5) / scale - 0.5
    floor = np.floor(x)
    ratio = np.where(x == floor, 1.0, x - floor)
    r = ratio[:, None]
    if mode == "nearest":
        if nearest_mode == "round_prefer_floor":
            right = r > 0.5
        elif nearest_mode == "round_prefer_ceil":
            right = r >= 0.5
        else:
            right = np.full_like(r, nearest_mode == "ceil", dtype=bool)
        right = right | (r == 1.0)
        weights = np.concatenate([~right, right], axis=1).astype(np.float64)
    elif mode == "linear":
        if antialias:
            s = min(scale, 1.0)
            start = int(np.floor(-1 / s) + 1)
            args = (np.arange(start, 2 - start)[None, :] - r) * s
            weights = np.clip(1 - np.abs(args), 0, 1)
            weights = weights / weights.sum(axis=1, keepdims=True)
        else:
            weights = np.concatenate([1 - r, r], axis=1)
    else:
        if antialias:
            s = min(scale, 1.0)
            start = int(np.floor(-2 / s) + 1)
            weights = _cubic_kernel(s * (np.arange(start, 2 - start)[None, :] - r), a)
            weights = weights / weights.sum(axis=1, keepdims=True)
        else:
            weights = np.concatenate([_cubic_kernel(r + 1, a), _cubic_kernel(r, a),
                                      _cubic_kernel(1 - r, a), _cubic_kernel(2 - r, a)], axis=1)
    n = weights.shape[1]
    pad = math.ceil(n / 2)
    padded = x + pad
    whole = np.floor(padded)
    frac = padded - whole
    if n % 2 == 0:
        offset = np.where(frac == 0, -(n // 2), -(n // 2) + 1)
    else:
        offset = np.where(frac <= 0.5, -((n - 1) // 2), -((n - 1) // 2) + 1)
    taps = (whole + offset).astype(np.int64)[:, None] + np.arange(n)[None, :] - pad
    if mode == "nearest":
        chosen = np.take_along_axis(taps, weights.argmax(axis=1)[:, None], axis=1)
        return np.clip(chosen, 0, length - 1), None, beyond
    if exclude_outside:
        weights = np.where((taps < 0) | (taps >= length), 0.0, weights)
        total = weights.sum(axis=1, keepdims=True)
        weights = weights / np.where(total == 0, 1.0, total)
    return np.clip(taps, 0, length - 1), weights, beyond


def _cubic_kernel(d, a):
    """Keys' cubic convolution kernel with parameter a at distances d."""
    d = np.abs(d)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


# ---- one-hot, trilu, top-k --------------------------------------------------

class OneHotOp(GraphOp):
    """values[1] where the new axis `axis` (of length `depth`) equals indices (negative
    indices count from depth), values[0] elsewhere; values is [off, on]."""

    name = "graph.one_hot"
    indices = operand(TensorType)
    values = operand(TensorType)
    out = result(TensorType)
    depth = int_()
    axis = int_(-1)
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        indices, values = types
        if values.shape != (2,):
            raise ShapeError(f"values must be [off, on], a tensor of 2 elements, got {values}")
        if attrs.depth < 0:
            raise ShapeError(f"depth must be >= 0, got {attrs.depth}")
        a = normalize_axis(attrs.axis, indices.rank + 1)
        shape = indices.shape[:a] + (attrs.depth,) + indices.shape[a:]
        return [tensor(shape, values.element_type)]

    @staticmethod
    def reference(indices, values, *, depth, axis=-1):
        axis = axis % (indices.ndim + 1)
        index = np.expand_dims(_wrap(np.trunc(indices) if indices.dtype.kind == "f" else indices, depth), axis)
        positions = np.arange(depth).reshape((depth,) + (1,) * (indices.ndim - axis))
        return np.where(index == positions, values[1], values[0])


class TriluOp(GraphOp):
    """x with the elements below (upper=1) or above (upper=0) the diagonal k (+ offset, a
    one-element integer tensor, when given) of its last two axes set to zero."""

    name = "graph.trilu"
    x = operand(TensorType)
    offset = opt_operand(TensorType, doc="a diagonal known only at run time, added to k")
    y = result(TensorType)
    upper = int_(1)
    k = int_(0)
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        t = types[0]
        if t.rank < 2:
            raise ShapeError(f"expects rank >= 2, got {t}")
        if len(types) > 1:
            _require_indices(types[1], "offset")
            if math.prod(types[1].shape) != 1:
                raise ShapeError(f"offset must have one element, got {types[1]}")
        return [t]

    @staticmethod
    def reference(x, offset=None, *, upper=1, k=0):
        if offset is not None:
            k = k + int(np.asarray(offset).reshape(-1)[0])
        return np.triu(x, k) if upper else np.tril(x, k)


class TopKOp(GraphOp):
    """The k largest (or smallest) entries along `axis` and their i64 indices, sorted
    (ties: the lower index first)."""

    name = "graph.top_k"
    x = operand(TensorType)
    values = result(TensorType)
    indices = result(TensorType)
    k = int_()
    axis = int_(-1)
    largest = int_(1)
    sorted = int_(1)
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        if t.rank == 0:
            raise ShapeError(f"expects rank >= 1, got {t}")
        a = normalize_axis(attrs.axis, t.rank)
        if not 0 <= attrs.k <= t.shape[a]:
            raise ShapeError(f"k {attrs.k} exceeds axis {a} of [{shape_text(t.shape)}]")
        shape = t.shape[:a] + (attrs.k,) + t.shape[a + 1:]
        return [tensor(shape, t.element_type), tensor(shape, i64)]

    @staticmethod
    def reference(x, *, k, axis=-1, largest=1, sorted=1):
        axis = axis % x.ndim
        n = x.shape[axis]
        if largest:
            # a stable ascending sort of the reversed axis, read backwards: descending
            # values with ties in ascending index order
            order = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
            order = n - 1 - np.flip(order, axis)
        else:
            order = np.argsort(x, axis=axis, kind="stable")
        order = np.take(order, np.arange(k), axis=axis)
        return np.take_along_axis(x, order, axis=axis), order.astype(np.int64)


# ---- grid-sample --------------------------------------------------------------------------------

class GridSampleOp(GraphOp):
    """x (N, C, D1..Dr) sampled at grid (N, O1..Or, r) — normalised coordinates in [-1, 1],
    the last one indexing the last axis — by nearest, linear or cubic interpolation, with
    zeros, border or reflection padding outside: ONNX GridSample (PyTorch's grid_sample)."""

    name = "graph.grid_sample"
    x = operand(TensorType)
    grid = operand(TensorType)
    y = result(TensorType)
    mode = string("linear")
    padding_mode = string("zeros")
    align_corners = int_(0)
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        x, grid = types
        _one_of(attrs.mode, ("nearest", "linear", "cubic"), "mode")
        _one_of(attrs.padding_mode, ("zeros", "border", "reflection"), "padding_mode")
        r = x.rank - 2
        if r < 1 or grid.rank != r + 2 or grid.shape[0] != x.shape[0] or grid.shape[-1] != r:
            raise ShapeError(f"grid must be [N, O1..O{max(r, 1)}, {max(r, 1)}] for x [{shape_text(x.shape)}], "
                             f"got [{shape_text(grid.shape)}]")
        if not is_float(x) or not is_float(grid):
            raise ShapeError(f"expects float tensors, got {x} and {grid}")
        return [tensor(x.shape[:2] + grid.shape[1:-1], x.element_type)]

    @staticmethod
    def reference(x, grid, *, mode="linear", padding_mode="zeros", align_corners=0):
        n_batch, r = x.shape[0], x.ndim - 2
        dims = x.shape[2:]
        out_shape = grid.shape[1:-1]
        axes = []   # per spatial axis: taps (N, O.., n) as indices into the axis, and weights
        for i, dim in enumerate(dims):
            g = grid[..., r - 1 - i]
            # denormalised in the grid's precision, as onnx's reference does
            c = ((g + 1) / 2 * (dim - 1) if align_corners else ((g + 1) * dim - 1) / 2).astype(np.float64)
            lo, hi = (0.0, dim - 1.0) if align_corners else (-0.5, dim - 0.5)
            if mode == "nearest":
                c = np.rint(c)
            if padding_mode == "border" and mode != "cubic":
                # cubic clamps only its taps, as PyTorch and onnxruntime do (onnx's reference
                # also clamps the coordinate; no node test tells the two apart)
                c = np.where((c < lo) | (c > hi), np.clip(c, 0, dim - 1), c)
            elif padding_mode == "reflection":
                c = _reflect(c, lo, hi)
            if mode == "nearest":
                taps, weights = np.trunc(c)[..., None].astype(np.int64), np.ones(c.shape + (1,))
            else:
                base = np.floor(c)
                t = (c - base)[..., None]
                if mode == "linear":
                    taps, weights = base[..., None] + np.arange(2), np.concatenate([1 - t, t], axis=-1)
                else:
                    taps = base[..., None] + np.arange(-1, 3)
                    weights = np.concatenate([_cubic_kernel(t + 1, -0.75), _cubic_kernel(t, -0.75),
                                              _cubic_kernel(1 - t, -0.75), _cubic_kernel(2 - t, -0.75)], axis=-1)
                taps = taps.astype(np.int64)
            if padding_mode == "zeros":
                weights = np.where((taps < 0) | (taps >= dim), 0.0, weights)
                taps = np.clip(taps, 0, dim - 1)
            elif padding_mode == "border":
                taps = np.clip(taps, 0, dim - 1)
            else:
                taps = np.clip(np.trunc(_reflect(taps.astype(np.float64), lo, hi)).astype(np.int64), 0, dim - 1)
            axes.append((taps, weights))
        batch = np.arange(n_batch).reshape((n_batch,) + (1,) * len(out_shape))
        data = np.moveaxis(x, 1, -1).astype(np.float64)          # (N, D.., C)
        out = np.zeros((n_batch,) + out_shape + (x.shape[1],))
        for combo in np.ndindex(*(w.shape[-1] for _, w in axes)):
            index = tuple(taps[..., j] for (taps, _), j in zip(axes, combo))
            weight = np.prod([w[..., j] for (_, w), j in zip(axes, combo)], axis=0)
            out += data[(batch,) + index] * weight[..., None]
        return np.moveaxis(out, -1, 1).astype(x.dtype)


def _reflect(c, lo, hi):
    """Reflect coordinates by the nearer border until they fall within [lo, hi]."""
    span = hi - lo
    if span <= 0:
        return np.full_like(c, lo)
    below, above = c < lo, c > hi
    dx = np.where(below, lo - c, c - hi)
    n = np.trunc(dx / span)
    rest = dx - n * span
    even = n % 2 == 0
    inside = np.where(below, np.where(even, lo + rest, hi - rest), np.where(even, hi - rest, lo + rest))
    return np.where(below | above, inside, c)
