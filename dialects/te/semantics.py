"""te: the reference semantics of te.compute, vectorised with numpy.

The body is evaluated once over index grids, not once per element: each block argument is
an `arange` along its own grid axis (output axes, then reduction axes), shaped to broadcast
against the others; `te.read` is numpy fancy indexing; arith and math ops run their own
`reference` functions on the arrays (they are elementwise numpy). The grid value is then
combined over the reduction axes and with `init`.

Two choices to know about:
- Out-of-bounds reads. The contract (docs/lowering.md) is that an index is in bounds
  wherever the read's value is used; padding selects between a read and a constant, and
  the grid evaluates both sides everywhere. So every read clamps its indices to the
  tensor's bounds: a value read at a clamped index is one the contract says is discarded.
- Memory. A grid larger than GRID_LIMIT elements is evaluated in boxes (halving the
  outermost splittable axis; partial reductions are combined with the combiner), so a
  convolution's output-times-reduction grid need not fit in memory at once.

Combiners on integers: `max`/`min` compare signed (the storage dtype of signless integers);
`sum`/`prod` wrap modulo 2^width; on i1 `sum` is xor, `prod` and `min` are and, `max` is or."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ...ir import ConstantLike, TensorType
from ...ir.interpreter import as_value, evaluate_reference
from ..numeric import dtype_of
from .ops import ComputeOp, ReadOp, YieldOp

GRID_LIMIT = 1 << 22


def evaluate_compute(op: ComputeOp, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """The tensor `op` defines, given the values of its operands."""
    tensors = {id(v): np.asarray(x) for v, x in zip(op.inputs, inputs)}
    shape, extents = op.shape, op.reduce_extents
    dtype = dtype_of(op.element_type)
    combiner = op.combiner.value if op.combiner is not None else None
    if any(d == 0 for d in shape):
        return np.zeros(shape, dtype)
    if combiner is None:
        value = _evaluate_box(op, tensors, [(0, d) for d in shape], None)
        return as_value(value, op.output.type)
    start = _start_value(op, combiner, dtype)
    if any(e == 0 for e in extents):
        return np.full(shape, start, dtype)
    partial = _evaluate_box(op, tensors, [(0, d) for d in (*shape, *extents)], combiner)
    partial = as_value(partial, op.output.type)
    with np.errstate(all="ignore"):
        return as_value(_COMBINE[combiner](np.asarray(start, dtype), partial), op.output.type)


# ---- combiners -----------------------------------------------------------------------------

def _add(a, b):
    return np.logical_xor(a, b) if a.dtype == np.bool_ else np.add(a, b, dtype=a.dtype)


def _multiply(a, b):
    return np.logical_and(a, b) if a.dtype == np.bool_ else np.multiply(a, b, dtype=a.dtype)


def _maximum(a, b):
    return np.logical_or(a, b) if a.dtype == np.bool_ else np.maximum(a, b)


def _minimum(a, b):
    return np.logical_and(a, b) if a.dtype == np.bool_ else np.minimum(a, b)


_COMBINE = {"sum": _add, "prod": _multiply, "max": _maximum, "min": _minimum}


def _reduce(combiner: str, value: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    if value.dtype == np.bool_:
        ufunc = {"sum": np.logical_xor, "prod": np.logical_and, "max": np.logical_or,
                 "min": np.logical_and}[combiner]
        return ufunc.reduce(value, axis=axes)
    if combiner == "sum":
        return np.sum(value, axis=axes, dtype=value.dtype)
    if combiner == "prod":
        return np.prod(value, axis=axes, dtype=value.dtype)
    return (np.max if combiner == "max" else np.min)(value, axis=axes)


def identity(combiner: str, dtype: np.dtype):
    """The value `x` with combine(x, y) == y for every y of `dtype`."""
    dtype = np.dtype(dtype)
    if combiner == "sum":
        return np.zeros((), dtype)[()]
    if combiner == "prod":
        return np.ones((), dtype)[()]
    low = combiner == "max"
    if dtype == np.bool_:
        return np.bool_(not low)
    if dtype.kind == "f":
        return dtype.type(-np.inf if low else np.inf)
    info = np.iinfo(dtype)
    return dtype.type(info.min if low else info.max)


def _start_value(op: ComputeOp, combiner: str, dtype):
    if op.init is not None:
        return as_value(op.init.value, op.element_type)
    return identity(combiner, dtype)


# ---- grids ---------------------------------------------------------------------------------

def _evaluate_box(op: ComputeOp, tensors: dict, box: list, combiner: str | None) -> np.ndarray:
    """The body over `box` (a (start, stop) per output then reduction axis), reduced over
    the reduction axes: an array of the box's output extents."""
    extents = [stop - start for start, stop in box]
    if math.prod(extents) > GRID_LIMIT:
        axis = next((k for k, e in enumerate(extents) if e > 1), None)
        if axis is not None:
            start, stop = box[axis]
            middle = start + (stop - start) // 2
            halves = [_evaluate_box(op, tensors, [*box[:axis], part, *box[axis + 1:]], combiner)
                      for part in ((start, middle), (middle, stop))]
            if axis < len(op.shape):
                return np.concatenate(halves, axis=axis)
            with np.errstate(all="ignore"):
                return _COMBINE[combiner](*halves)
    grids = [np.arange(start, stop, dtype=np.int64).reshape([-1 if d == k else 1 for d in range(len(box))])
             for k, (start, stop) in enumerate(box)]
    value = np.broadcast_to(run_body(op, tensors, grids), extents)
    if combiner is not None:
        value = _reduce(combiner, value, tuple(range(len(op.shape), len(box))))
    return np.array(value)


def run_body(op: ComputeOp, tensors: dict, grids: Sequence[np.ndarray]) -> np.ndarray:
    """The value the body yields, given arrays for its block arguments (broadcastable
    against each other) and `tensors` (id of an operand Value -> its array)."""
    block = op.block
    env = {id(arg): grid for arg, grid in zip(block.args, grids)}
    for inner in block.ops:
        if isinstance(inner, YieldOp):
            return env[id(inner.value)]
        if isinstance(inner, ReadOp):
            indices = [env[id(v)] for v in inner.indices]
            env[id(inner.value)] = read_clamped(tensors[id(inner.tensor)], indices)
            continue
        args = [env[id(v)] for v in inner.operands]
        for r, value in zip(inner.results, _evaluate_scalar_op(inner, args)):
            env[id(r)] = value
    raise op.error("body ended without te.yield while interpreting")


def read_clamped(tensor: np.ndarray, indices: Sequence[np.ndarray]) -> np.ndarray:
    """`tensor[indices]` with each index clamped to its dimension (see the module doc)."""
    if tensor.size == 0:
        shape = np.broadcast_shapes(*(np.shape(i) for i in indices))
        return np.zeros(shape, tensor.dtype)
    clamped = tuple(np.clip(i, 0, d - 1) for i, d in zip(indices, tensor.shape))
    return tensor[clamped]


def _evaluate_scalar_op(op, args: list) -> list:
    if getattr(type(op), "reference", None) is not None:
        shape = np.broadcast_shapes(*(np.shape(a) for a in args)) if args else ()
        types = [TensorType(shape, r.type) for r in op.results]
        return evaluate_reference(op, args, value_types=types)
    if op.has_trait(ConstantLike) and hasattr(op, "interpret"):
        return list(op.interpret(None, args))
    raise op.error("has no reference semantics to evaluate on index grids")
