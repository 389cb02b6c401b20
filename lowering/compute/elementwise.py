"""graph -> te: compute builders of elementwise and broadcasting ops."""

from __future__ import annotations

from descend.dialects.te.builder import compute

from . import lowers, name_of, out_type


def broadcast_read(reader, out_indices):
    """Read `reader` at the output indices under numpy broadcasting: trailing axes align,
    size-1 axes read index 0."""
    shape = reader.shape
    offset = len(out_indices) - len(shape)
    return reader[tuple(0 if d == 1 else out_indices[offset + k] for k, d in enumerate(shape))]


def broadcast_compute(kb, op, inputs, fn):
    """out[i] = fn(b, x0[bcast(i)], x1[bcast(i)], ...) over the op's result shape."""
    out = out_type(op)
    return compute(kb, out.shape, out.element_type, inputs,
                   lambda b, i, r, reads: fn(b, *[broadcast_read(x, i) for x in reads]),
                   name=name_of(op))


@lowers("graph.add")
def add(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, x, y: b.add(x, y))]


@lowers("graph.relu")
def relu(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, x: b.max(x, 0.0))]
