"""graph: reductions — sums, means, extrema, products, norms and log-sums over `axes`,
arg-extrema along one axis (i64 indices), and running sums/products (cumsum, cumprod).

The reductions follow ONNX: empty `axes` reduces every axis unless
`noop_with_empty_axes`, in which case nothing is reduced (the elementwise part, e.g. the
square of reduce_sum_square, still applies); reducing zero elements gives the operation's
identity (0 for sums, 1 for products, -inf / the integer minimum for max, log(0) = -inf
for the log-sums)."""

from __future__ import annotations

import numpy as np

from descend.ir import TensorType, i64, operand, result

from .base import (GraphOp, Kind, ShapeError, int_, ints, is_bool, normalize_axis,
                   shape_text, tensor)


def reduced_axes(shape, axes, noop_with_empty_axes: int = 0) -> tuple[int, ...]:
    """`axes` normalised and sorted; empty means all axes (none with noop_with_empty_axes)."""
    rank = len(shape)
    if not axes:
        return () if noop_with_empty_axes else tuple(range(rank))
    normal = [normalize_axis(a, rank, "axis") for a in axes]
    if len(set(normal)) != len(normal):
        raise ShapeError(f"axes {list(axes)} name an axis twice for shape [{shape_text(shape)}]")
    return tuple(sorted(normal))


def reduced_shape(shape, axes: tuple[int, ...], keepdims: int) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _accumulator(x: np.ndarray) -> np.ndarray:
    # half precision sums in f32 (as onnxruntime does); wider types keep their own dtype
    return x.astype(np.float32) if x.dtype == np.float16 else x


class Reduce(GraphOp):
    """Base of `y = post(combine over axes of pre(x))`; y keeps x's element type."""

    x = operand(TensorType)
    y = result(TensorType)
    axes = ints([], doc="axes to reduce; empty: all (none with noop_with_empty_axes)")
    keepdims = int_(1, doc="1: reduced axes stay as size 1")
    noop_with_empty_axes = int_(0, doc="1: empty axes reduce nothing")
    kind = Kind.REDUCTION
    allows_bool = False

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        if is_bool(t) and not cls.allows_bool:
            raise ShapeError(f"does not reduce booleans, got {t}")
        axes = reduced_axes(t.shape, attrs.axes, attrs.noop_with_empty_axes)
        return [tensor(reduced_shape(t.shape, axes, attrs.keepdims), t.element_type)]

    @classmethod
    def combine(cls, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def evaluate(cls, x, axes, keepdims, noop_with_empty_axes):
        x = np.asarray(x)
        axes = reduced_axes(x.shape, [int(a) for a in np.asarray(axes).reshape(-1)], noop_with_empty_axes)
        out = cls.combine(x, axes)     # keeps the reduced axes as size 1
        return out if keepdims else np.reshape(out, reduced_shape(x.shape, axes, 0))


def _reference(cls):
    """Each reduction's reference: `evaluate` with the op's attributes as keywords."""
    def reference(x, *, axes=(), keepdims=1, noop_with_empty_axes=0):
        return cls.evaluate(x, axes, keepdims, noop_with_empty_axes)
    cls.reference = staticmethod(reference)
    return cls


@_reference
class ReduceSumOp(Reduce):
    """Sum of x over axes."""

    name = "graph.reduce_sum"

    @classmethod
    def combine(cls, x, axes):
        return np.sum(_accumulator(x), axis=axes, keepdims=True)


@_reference
class ReduceMeanOp(Reduce):
    """Mean of x over axes (the sum divided by the number of reduced elements)."""

    name = "graph.reduce_mean"

    @classmethod
    def combine(cls, x, axes):
        count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        total = np.sum(_accumulator(x), axis=axes, keepdims=True)
        if not np.issubdtype(x.dtype, np.floating):
            # integer means truncate, as numpy's mean with an integer dtype does
            return (total / count).astype(x.dtype) if count else np.zeros_like(total)
        return total / total.dtype.type(count) if count else np.full_like(total, np.nan)


@_reference
class ReduceMaxOp(Reduce):
    """Maximum of x over axes; of no elements, -inf (the integer minimum, false)."""

    name = "graph.reduce_max"
    allows_bool = True

    @classmethod
    def combine(cls, x, axes):
        return np.max(x, axis=axes, keepdims=True, initial=_lowest(x.dtype))


@_reference
class ReduceMinOp(Reduce):
    """Minimum of x over axes; of no elements, +inf (the integer maximum, true)."""

    name = "graph.reduce_min"
    allows_bool = True

    @classmethod
    def combine(cls, x, axes):
        return np.min(x, axis=axes, keepdims=True, initial=_highest(x.dtype))


@_reference
class ReduceProdOp(Reduce):
    """Product of x over axes."""

    name = "graph.reduce_prod"

    @classmethod
    def combine(cls, x, axes):
        return np.prod(_accumulator(x), axis=axes, keepdims=True)


@_reference
class ReduceL1Op(Reduce):
    """Sum of |x| over axes."""

    name = "graph.reduce_l1"

    @classmethod
    def combine(cls, x, axes):
        return np.sum(np.abs(_accumulator(x)), axis=axes, keepdims=True)


@_reference
class ReduceL2Op(Reduce):
    """Square root of the sum of x² over axes."""

    name = "graph.reduce_l2"

    @classmethod
    def combine(cls, x, axes):
        x = _accumulator(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        return np.sqrt(np.sum(np.square(x), axis=axes, keepdims=True))


@_reference
class ReduceLogSumOp(Reduce):
    """log of the sum of x over axes."""

    name = "graph.reduce_log_sum"

    @classmethod
    def combine(cls, x, axes):
        x = _accumulator(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        return np.log(np.sum(x, axis=axes, keepdims=True))


@_reference
class ReduceLogSumExpOp(Reduce):
    """log of the sum of exp(x) over axes, computed stably (shifted by the maximum)."""

    name = "graph.reduce_log_sum_exp"

    @classmethod
    def combine(cls, x, axes):
        x = _accumulator(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        top = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        shift = np.where(np.isfinite(top), top, 0).astype(x.dtype)
        return np.log(np.sum(np.exp(x - shift), axis=axes, keepdims=True)) + shift


@_reference
class ReduceSumSquareOp(Reduce):
    """Sum of x² over axes."""

    name = "graph.reduce_sum_square"

    @classmethod
    def combine(cls, x, axes):
        x = _accumulator(x)
        return np.sum(x * x, axis=axes, keepdims=True)


def _lowest(dtype: np.dtype):
    if dtype == np.bool_:
        return False
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).min
    return -np.inf


def _highest(dtype: np.dtype):
    if dtype == np.bool_:
        return True
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).max
    return np.inf


# ---- along one axis ---------------------------------------------------------------------------

class ArgReduce(GraphOp):
    """Base of argmax/argmin: the i64 index of the extremum along `axis`."""

    x = operand(TensorType)
    y = result(TensorType)
    axis = int_(0)
    keepdims = int_(1)
    select_last_index = int_(0, doc="1: ties give the last index, 0: the first")
    kind = Kind.REDUCTION

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        axis = normalize_axis(attrs.axis, t.rank, "axis")
        if t.rank and t.shape[axis] == 0:
            raise ShapeError(f"axis {attrs.axis} of tensor [{shape_text(t.shape)}] is empty: no extremum")
        return [tensor(reduced_shape(t.shape, (axis,), attrs.keepdims), i64)]

    @staticmethod
    def arg(x, axis, keepdims, select_last_index, pick):
        x = np.asarray(x)
        if x.ndim == 0:
            return np.zeros((), np.int64)
        axis = axis % x.ndim
        if select_last_index:
            flipped = np.flip(x, axis)
            index = x.shape[axis] - 1 - pick(flipped, axis=axis, keepdims=True)
        else:
            index = pick(x, axis=axis, keepdims=True)
        index = index.astype(np.int64)
        return index if keepdims else np.squeeze(index, axis)


class ArgmaxOp(ArgReduce):
    """Index of the largest element of x along axis (first or last among equals)."""

    name = "graph.argmax"

    @staticmethod
    def reference(x, *, axis=0, keepdims=1, select_last_index=0):
        return ArgReduce.arg(x, axis, keepdims, select_last_index, np.argmax)


class ArgminOp(ArgReduce):
    """Index of the smallest element of x along axis (first or last among equals)."""

    name = "graph.argmin"

    @staticmethod
    def reference(x, *, axis=0, keepdims=1, select_last_index=0):
        return ArgReduce.arg(x, axis, keepdims, select_last_index, np.argmin)


class Scan(GraphOp):
    """Base of running reductions along `axis`, same shape as x."""

    x = operand(TensorType)
    y = result(TensorType)
    axis = int_(0)
    exclusive = int_(0, doc="1: element i combines the elements before i only")
    reverse = int_(0, doc="1: run from the end of the axis")
    kind = Kind.REDUCTION

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        if is_bool(t):
            raise ShapeError(f"does not accumulate booleans, got {t}")
        if t.rank == 0:
            raise ShapeError(f"needs a tensor of rank >= 1, got {t}")
        normalize_axis(attrs.axis, t.rank, "axis")
        return [t]

    @staticmethod
    def scan(x, axis, exclusive, reverse, running, identity):
        x = np.asarray(x)
        axis = axis % x.ndim
        if reverse:
            x = np.flip(x, axis)
        out = running(x, axis=axis, dtype=x.dtype)
        if exclusive:
            pad = np.full_like(np.take(out, [0], axis=axis), identity)
            out = np.concatenate([pad, np.delete(out, -1, axis=axis)], axis=axis)
        return np.flip(out, axis) if reverse else out


class CumsumOp(Scan):
    """Running sum of x along axis (inclusive unless exclusive, from the end if reverse)."""

    name = "graph.cumsum"

    @staticmethod
    def reference(x, *, axis=0, exclusive=0, reverse=0):
        return Scan.scan(x, axis, exclusive, reverse, np.cumsum, 0)


class CumprodOp(Scan):
    """Running product of x along axis (inclusive unless exclusive, from the end if reverse)."""

    name = "graph.cumprod"

    @staticmethod
    def reference(x, *, axis=0, exclusive=0, reverse=0):
        return Scan.scan(x, axis, exclusive, reverse, np.cumprod, 1)
