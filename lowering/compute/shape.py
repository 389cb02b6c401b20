"""graph -> te: compute builders of data movement ops (dialects/graph/shape.py).

Every output element reads one input element; the builders only compute where from:
reshape linearises the output index and delinearises it into the input's (per group of
axes whose sizes multiply to the same count, so untouched axes pass straight through),
concat selects over the axis ranges, tile takes a remainder, the block moves of
depth_to_space / space_to_depth split and join indices."""

from __future__ import annotations

from descend.dialects.te.builder import compute
from descend.ir import index

from . import lowers, name_of, out_type
from .elementwise import attrs, broadcast_compute, is_float


def copy_compute(kb, op, inputs, where_from, index: int = 0):
    """out[i] = inputs[0][where_from(b, i, reads)] over result `index`'s shape; a result
    without elements yields a constant (its body never runs)."""
    out = out_type(op, index)
    source = inputs[0]

    def body(b, i, r, reads):
        if 0 in out.shape or 0 in source.type.shape:
            return zero(b, out.element_type)
        return reads[0][tuple(where_from(b, i, reads))]
    return compute(kb, out.shape, out.element_type, inputs, body, name=name_of(op, index))


def zero(b, element):
    return b.const(0.0 if is_float(element) else 0, element)


def clamp_index(b, i, size: int):
    """i kept in [0, size): a read whose value a select may discard must still be in
    bounds (te.read's contract). Only the sides the index can cross are clamped."""
    low, high = b.range_of(i) or (-1, size)
    if low < 0:
        i = b.max(i, 0)
    if high >= size:
        i = b.min(i, size - 1)
    return i


def linearize(b, indices, shape):
    """The row-major position of `indices` in `shape` (Horner form; size-1 axes skipped)."""
    flat = None
    for i, d in zip(indices, shape):
        if d == 1:
            continue
        flat = i if flat is None else b.index_add(b.index_mul(flat, d), i)
    return flat if flat is not None else b.index(0)


def delinearize(b, flat, shape):
    """The indices of row-major position `flat` in `shape`."""
    indices, stride = [], 1
    for k in reversed(range(len(shape))):
        d = shape[k]
        if d == 1:
            indices.append(b.index(0))
            continue
        i = flat if stride == 1 else b.floordiv(flat, stride)
        outermost = all(e == 1 for e in shape[:k])
        indices.append(i if outermost else b.mod(i, d))
        stride *= d
    return indices[::-1]


def reshape_groups(src, dst) -> list[tuple[list[int], list[int]]]:
    """Consecutive runs of source and result axes with equal element counts, paired; size-1
    axes past the last run join it."""
    groups, i, j = [], 0, 0
    while i < len(src) and j < len(dst):
        a, c = [i], [j]
        pa, pc = src[i], dst[j]
        i, j = i + 1, j + 1
        while pa != pc:
            if pa < pc:
                a.append(i)
                pa *= src[i]
                i += 1
            else:
                c.append(j)
                pc *= dst[j]
                j += 1
        groups.append((a, c))
    if groups:
        groups[-1][0].extend(range(i, len(src)))
        groups[-1][1].extend(range(j, len(dst)))
    else:
        groups.append((list(range(len(src))), list(range(len(dst)))))
    return groups


@lowers("graph.reshape")
def reshape(kb, op, inputs):
    src = tuple(inputs[0].type.shape)
    dst = tuple(out_type(op).shape)

    def where_from(b, i, reads):
        indices = [None] * len(src)
        for a, c in reshape_groups(src, dst):
            if len(a) == 1 and len(c) == 1:
                indices[a[0]] = i[c[0]]
                continue
            flat = linearize(b, [i[k] for k in c], [dst[k] for k in c])
            for k, index in zip(a, delinearize(b, flat, [src[k] for k in a])):
                indices[k] = index
        return indices
    return [copy_compute(kb, op, inputs, where_from)]


@lowers("graph.transpose")
def transpose(kb, op, inputs):
    rank = len(inputs[0].type.shape)
    perm = attrs(op).perm
    perm = list(reversed(range(rank))) if perm is None else list(perm)

    def where_from(b, i, reads):
        indices = [None] * rank
        for p, k in enumerate(perm):  # y.shape[p] = x.shape[perm[p]]
            indices[k] = i[p]
        return indices
    return [copy_compute(kb, op, inputs, where_from)]


@lowers("graph.expand")
def expand(kb, op, inputs):
    return [broadcast_compute(kb, op, inputs, lambda b, x: x)]


@lowers("graph.concat")
def concat(kb, op, inputs):
    out = out_type(op)
    rank = len(out.shape)
    axis = attrs(op).axis % rank
    pieces, offset = [], 0  # (reader index, offset) of the inputs with elements
    for n, x in enumerate(inputs):
        size = x.type.shape[axis]
        if size:
            pieces.append((n, offset, size))
        offset += size

    def body(b, i, r, reads):
        if 0 in out.shape:
            return zero(b, out.element_type)

        def read(n, start, size):
            j = clamp_index(b, b.index_add(i[axis], -start), size) if start else clamp_index(b, i[axis], size)
            return reads[n][tuple(j if k == axis else i[k] for k in range(rank))]
        n, start, size = pieces[-1]
        value = read(n, start, size)
        for n, start, size in reversed(pieces[:-1]):
            value = b.select(b.lt(i[axis], start + size), read(n, start, size), value)
        return value
    return [compute(kb, out.shape, out.element_type, inputs, body, name=name_of(op))]


@lowers("graph.split")
def split(kb, op, inputs):
    a = attrs(op)
    rank = len(inputs[0].type.shape)
    axis = a.axis % rank
    results, offset = [], 0
    for n, size in enumerate(a.sizes):
        def where_from(b, i, reads, start=offset):
            return [b.index_add(i[k], start) if k == axis and start else i[k] for k in range(rank)]
        results.append(copy_compute(kb, op, inputs, where_from, index=n))
        offset += size
    return results


@lowers("graph.tile")
def tile(kb, op, inputs):
    shape, tiled = inputs[0].type.shape, out_type(op).shape

    def where_from(b, i, reads):
        return [b.index(0) if d == 1 else i[k] if d == tiled[k] else b.mod(i[k], d)
                for k, d in enumerate(shape)]
    return [copy_compute(kb, op, inputs, where_from)]


@lowers("graph.depth_to_space")
def depth_to_space(kb, op, inputs):
    """y[n, c, h, w] = x[n, channel, h // bs, w // bs] with the block offsets (h % bs, w % bs)
    in channel's high part (DCR: (bh * bs + bw) * C' + c) or low part (CRD: c * bs² + bh * bs + bw)."""
    a = attrs(op)
    bs, mode = a.blocksize, a.mode
    channels = out_type(op).shape[1]

    def where_from(b, i, reads):
        n, c, h, w = i
        bh, bw = b.mod(h, bs), b.mod(w, bs)
        block = b.index_add(b.index_mul(bh, bs), bw)
        if mode == "DCR":
            channel = b.index_add(b.index_mul(block, channels), c)
        else:
            channel = b.index_add(b.index_mul(c, bs * bs), block)
        return [n, channel, b.floordiv(h, bs), b.floordiv(w, bs)]
    return [copy_compute(kb, op, inputs, where_from)]


@lowers("graph.space_to_depth")
def space_to_depth(kb, op, inputs):
    """y[n, channel, h, w] = x[n, c, h * bs + bh, w * bs + bw], the channel split as
    depth_to_space joins it."""
    a = attrs(op)
    bs, mode = a.blocksize, a.mode
    channels = inputs[0].type.shape[1]

    def where_from(b, i, reads):
        n, channel, h, w = i
        if mode == "DCR":
            c, block = b.mod(channel, channels), b.floordiv(channel, channels)
        else:
            c, block = b.floordiv(channel, bs * bs), b.mod(channel, bs * bs)
        bh, bw = b.floordiv(block, bs), b.mod(block, bs)
        return [n, c, b.index_add(b.index_mul(h, bs), bh), b.index_add(b.index_mul(w, bs), bw)]
    return [copy_compute(kb, op, inputs, where_from)]


@lowers("graph.reverse_sequence")
def reverse_sequence(kb, op, inputs):
    """Along time, step t of batch entry e reads step n - 1 - t when t < n, where n is
    lengths[e] clamped to [0, steps]."""
    a = attrs(op)
    shape = inputs[0].type.shape
    rank = len(shape)
    batch_axis, time_axis = a.batch_axis % rank, a.time_axis % rank
    steps = shape[time_axis]

    def where_from(b, i, reads):
        t = i[time_axis]
        n = b.clamp(b.cast(reads[1][i[batch_axis]], index), 0, steps)
        source = b.select(b.lt(t, n), b.sub(b.index_add(n, -1), t), t)
        return [source if k == time_axis else i[k] for k in range(rank)]
    return [copy_compute(kb, op, inputs, where_from)]
