"""graph -> te: compute builders of the nn family (dialects/graph/nn.py) — matrix products,
einsum, convolutions and their transposes, pools, normalisations and softmaxes.

Numerics follow the graph references: half precisions compute in f32 (the references'
`_compute`) and round once when the last compute yields; sums are reductions in that type;
statistics are separate computes (mean = sum / n, as numpy's mean) that later computes read.
Window ops index the input at o * stride + k * dilation - pad_begin and read padding through
a guarded read (`Reader.padded`), so no read leaves its tensor."""

from __future__ import annotations

import math

from descend.dialects.graph import Attrs
from descend.dialects.te.builder import compute
from descend.ir import FloatType, IntegerType, bf16, f16, f32, i64, index

from . import is_unsigned, lowers, name_of, out_type
from .elementwise import broadcast_read


# Longest bf16 softmax axis summed as a chain of rounded additions (see `softmax`).
SEQUENTIAL_BF16_SUM_LIMIT = 256


# ---- shared helpers -------------------------------------------------------------------------

def _lowers(*ops):
    """`lowers`, and the computes a builder leaves unnamed are named after the op's result
    by combiner (`y.max`, `y.sum`, `y.sum1`, `y.map`), so schedules can address them."""
    def register(fn):
        def build(kb, op, inputs):
            block = kb.insertion_point.block
            existing = {id(o) for o in block.ops}
            results = fn(kb, op, inputs)
            base, seen = name_of(op), {}
            for o in block.ops:
                if base is None or id(o) in existing or o.name != "te.compute" or o.output.name_hint:
                    continue
                kind = o.combiner.value if o.combiner is not None else "map"
                o.output.name_hint = f"{base}.{kind}{seen.get(kind, '')}"
                seen[kind] = seen.get(kind, 0) + 1
            return results
        build.__doc__, build.__name__ = fn.__doc__, fn.__name__
        lowers(*ops)(build)
        return fn
    return register


def _attrs(op) -> Attrs:
    return Attrs(type(op), op.properties)


def _work_type(element):
    """The type a graph reference computes in: f16 and bf16 in f32, others as they are."""
    return f32 if element in (f16, bf16) else element


def _keep(shape, axes) -> tuple[int, ...]:
    """`shape` with `axes` kept as size 1 (numpy's keepdims)."""
    return tuple(1 if k in axes else d for k, d in enumerate(shape))


def _stat_index(index, axes) -> list:
    """Where an element at `index` reads its keepdims statistic."""
    return [0 if k in axes else i for k, i in enumerate(index)]


def _reduce_keepdims(kb, inputs, axes, element, fn, combiner, name=None):
    """out[s] = combine over `axes` of fn(b, index, stat_index, reads), out shaped as
    inputs[0] with `axes` kept as 1; `index` is the element of inputs[0] the reduction
    visits, `stat_index` where a keepdims statistic of it lives."""
    shape = tuple(inputs[0].type.shape)
    axes = tuple(sorted(axes))

    def body(b, i, r, reads):
        index = list(i)
        for a, ra in zip(axes, r):
            index[a] = ra
        return fn(b, index, list(i), reads)
    return compute(kb, _keep(shape, axes), element, inputs, body,
                   reduce=[shape[a] for a in axes], combiner=combiner, name=name)


def _map(kb, shape, element, inputs, fn, name=None):
    """out[i] = fn(b, i, reads) over `shape` (no reduction)."""
    return compute(kb, shape, element, inputs, lambda b, i, r, reads: fn(b, i, reads), name=name)


def _moments(kb, x, axes, epsilon, work):
    """(mean, 1 / sqrt(var + epsilon)) of x over `axes`, keepdims, in `work` as the graph's
    `_normalize`: the mean of (x - mean)^2, not of x^2 - mean^2."""
    n = math.prod(x.type.shape[a] for a in axes)
    shape = _keep(x.type.shape, axes)
    total = _reduce_keepdims(kb, [x], axes, work, lambda b, i, s, reads: b.cast(reads[0][tuple(i)], work), "sum")
    mean = _map(kb, shape, work, [total], lambda b, i, reads: b.div(reads[0][tuple(i)], float(n)))

    def squared(b, i, s, reads):
        d = b.sub(b.cast(reads[0][tuple(i)], work), reads[1][tuple(s)])
        return b.mul(d, d)
    squares = _reduce_keepdims(kb, [x, mean], axes, work, squared, "sum")
    inv_std = _map(kb, shape, work, [squares], lambda b, i, reads: b.div(
        1.0, b.sqrt(b.add(b.div(reads[0][tuple(i)], float(n)), b.const(epsilon, work)))))
    return mean, inv_std


def _signed_order(b, v, unsigned: bool):
    """Unsigned integers as signed ones of the same order (adding 2^(w-1) flips the sign bit;
    applied twice it is the identity): te's integer max compares signed."""
    if not unsigned or not isinstance(v.type, IntegerType) or v.type.width == 1:
        return v
    return b.add(v, b.const(-(1 << (v.type.width - 1)), v.type))


def _lowest(element, unsigned: bool):
    """What padding reads in a max: -inf, or the smallest integer (after `_signed_order`)."""
    if isinstance(element, FloatType):
        return -math.inf
    return -(1 << (element.width - 1)) if not unsigned else 0


# ---- matrix products --------------------------------------------------------------------------

@_lowers("graph.matmul")
def matmul(kb, op, inputs):
    """numpy's matmul: 1-D operands take (and lose) a unit axis; batch axes broadcast."""
    lhs, rhs = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    a, c = tuple(lhs.type.shape), tuple(rhs.type.shape)
    k = a[-1]
    batch = len(out.shape) - (len(a) > 1) - (len(c) > 1)

    def body(b, i, r, reads):
        x, y = reads
        batch_index = i[:batch]
        if len(a) > 1:
            m = i[batch]
            left = _batch_index(a[:-2], batch_index) + [m, r[0]]
        else:
            left = [r[0]]
        if len(c) > 1:
            right = _batch_index(c[:-2], batch_index) + [r[0], i[-1]]
        else:
            right = [r[0]]
        return b.mul(b.cast(x[tuple(left)], work), b.cast(y[tuple(right)], work))
    y = compute(kb, out.shape, work, [lhs, rhs], body, reduce=(k,), combiner="sum",
                name=None if work != element else name_of(op))
    return [_cast_to(kb, y, element, name_of(op))]


def _batch_index(dims, out_batch) -> list:
    """Indices into batch axes `dims` for output batch indices (trailing-aligned, size 1 reads 0)."""
    offset = len(out_batch) - len(dims)
    return [0 if d == 1 else out_batch[offset + j] for j, d in enumerate(dims)]


def _cast_to(kb, value, element, name):
    """value as `element` (a compute only when the types differ), named `name`."""
    if value.type.element_type == element:
        if name is not None:
            value.name_hint = name
        return value
    return _map(kb, value.type.shape, element, [value], lambda b, i, reads: b.cast(reads[0][tuple(i)], element),
                name=name)


@_lowers("graph.gemm")
def gemm(kb, op, inputs):
    """alpha * op(a) @ op(b) + beta * c: the product, then one compute for the epilogue."""
    attrs = _attrs(op)
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    a, w = inputs[:2]
    k = a.type.shape[0] if attrs.trans_a else a.type.shape[1]
    n = w.type.shape[0] if attrs.trans_b else w.type.shape[1]
    # b^T as a compute of its own: a dense layer's weight [n, k] read along n is a gather;
    # transposed (at compile time when it is a constant: te-fold-constants), a vector of
    # outputs is one contiguous load. Not when n does not divide into vectors (a 10-class
    # head): the outputs are then dot products along k, and [n, k] is contiguous along k.
    transposed = attrs.trans_b and n % 4 == 0
    if transposed:
        w = _map(kb, tuple(reversed(w.type.shape)), w.type.element_type, [w],
                 lambda b, i, reads: reads[0][(i[1], i[0])])

    def product(b, i, r, reads):
        x, y = reads
        left = (r[0], i[0]) if attrs.trans_a else (i[0], r[0])
        right = (i[1], r[0]) if attrs.trans_b and not transposed else (r[0], i[1])
        return b.mul(b.cast(x[left], work), b.cast(y[right], work))
    has_c = len(inputs) > 2
    epilogue = attrs.alpha != 1.0 or has_c or work != element
    y = compute(kb, out.shape, work, [a, w], product, reduce=(k,), combiner="sum",
                name=None if epilogue else name_of(op))
    if not epilogue:
        return [y]

    def scale(b, value, factor):
        if factor == 1.0:
            return value
        return b.mul(value, factor if isinstance(work, FloatType) else int(factor))

    def finish(b, i, reads):
        value = scale(b, reads[0][tuple(i)], attrs.alpha)
        if has_c:
            value = b.add(value, scale(b, b.cast(broadcast_read(reads[1], i), work), attrs.beta))
        return b.cast(value, element)
    return [_map(kb, out.shape, element, [y, *inputs[2:]], finish, name=name_of(op))]


@_lowers("graph.einsum")
def einsum(kb, op, inputs):
    """One compute: output labels are its axes, the other labels its reduction axes, the
    body the product of the operands at their labels (a size-1 axis reads index 0)."""
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    terms, output, sizes = _einsum_labels(_attrs(op).equation, [tuple(v.type.shape) for v in inputs])
    reduced = [label for label in sizes if label not in output]
    if tuple(sizes[label] for label in output) != tuple(out.shape):
        raise ValueError(f"einsum '{_attrs(op).equation}': labels give {[sizes[x] for x in output]}, "
                         f"the result is {list(out.shape)}")

    def body(b, i, r, reads):
        at = dict(zip(output, i)) | dict(zip(reduced, r))
        value = None
        for term, reader in zip(terms, reads):
            index = tuple(0 if d == 1 and sizes[label] != 1 else at[label]
                          for label, d in zip(term, reader.shape))
            x = b.cast(reader[index], work)
            value = x if value is None else b.mul(value, x)
        return value
    y = compute(kb, out.shape, work, inputs, body, reduce=[sizes[label] for label in reduced],
                combiner="sum" if reduced else None, name=None if work != element else name_of(op))
    return [_cast_to(kb, y, element, name_of(op))]


def _einsum_labels(equation: str, shapes):
    """(labels per operand, output labels, size per label in first-seen order): a label is a
    letter, or ("...", j) for axis j of the broadcast ellipsis."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ranks = [len(s) - len(t.replace("...", "")) for t, s in zip(lhs.split(","), shapes)]
    ellipsis_rank = max([r for t, r in zip(lhs.split(","), ranks) if "..." in t], default=0)

    def expand(term: str, n_ell: int) -> list:
        if "..." not in term:
            return list(term)
        before, after = term.split("...")
        return [*before, *(("...", ellipsis_rank - n_ell + j) for j in range(n_ell)), *after]
    terms = [expand(t, r) for t, r in zip(lhs.split(","), ranks)]
    sizes: dict = {}
    for term, shape in zip(terms, shapes):
        for label, d in zip(term, shape):
            sizes[label] = max(sizes.get(label, 1), d) if d != 1 else sizes.get(label, 1)
    if not arrow:
        counts = {label: sum(t.count(label) for t in terms) for label in sizes if isinstance(label, str)}
        rhs = ("..." if "..." in lhs else "") + "".join(sorted(ch for ch, n in counts.items() if n == 1))
    output = expand(rhs, ellipsis_rank)
    for label in output:
        sizes.setdefault(label, 1)
    return terms, output, sizes


# ---- window geometry ----------------------------------------------------------------------------

def _geometry(attrs, rank: int):
    strides = list(attrs.strides or [1] * rank)
    pads = list(attrs.pads or [0] * (2 * rank))
    dilations = list(attrs.dilations or [1] * rank)
    return strides, pads, dilations


def _tap(b, o, k, stride: int, dilation: int, offset: int):
    """o * stride + k * dilation + offset, on indices."""
    position = b.index_mul(o, stride) if stride != 1 else o
    tap = b.index_mul(k, dilation) if dilation != 1 else k
    position = b.index_add(position, tap)
    return b.index_add(position, offset) if offset else position


# ---- convolutions -----------------------------------------------------------------------------

@_lowers("graph.conv")
def conv(kb, op, inputs):
    """y[n, m, o] = sum over (c, k) of xp[n, g*C/G + c, o*s + k*d] * wp[c, k, m], then
    + bias[m], where xp is x with its zero padding (a compute of its own, so the
    convolution reads without bounds tests; the default schedule inlines it back when it
    does not vectorise the convolution) and wp the weights packed output channel last
    (`[c, kh, kw, m]`: a vector of output channels is one contiguous load; te-fold-constants
    packs constant weights at compile time)."""
    attrs = _attrs(op)
    x, w = inputs[:2]
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    rank = len(out.shape) - 2
    strides, pads, dilations = _geometry(attrs, rank)
    group = attrs.group
    m_total, per_group = w.type.shape[0], w.type.shape[1]
    kernel = w.type.shape[2:]
    xp = _zero_pad(kb, x, pads, rank)
    wp = _map(kb, (per_group, *kernel, m_total), w.type.element_type, [w],
              lambda b, i, reads: reads[0][(i[-1], *i[:-1])])

    def body(b, i, r, reads):
        xr, wr = reads
        n, m, spatial = i[0], i[1], i[2:]
        c, taps = r[0], r[1:]
        if group > 1 and m_total == group and per_group == 1:
            c = m  # depthwise: the channel is the output channel (a bare index: packable)
        elif group > 1:
            c = b.index_add(b.index_mul(b.floordiv(m, b.index(m_total // group)), per_group), c)
        positions = [_tap(b, o, k, s, d, 0) for o, k, s, d in zip(spatial, taps, strides, dilations)]
        return b.mul(b.cast(xr[(n, c, *positions)], work), b.cast(wr[(r[0], *taps, m)], work))
    has_bias = len(inputs) > 2
    final = not has_bias and work == element
    y = compute(kb, out.shape, work, [xp, wp], body, reduce=(per_group, *kernel), combiner="sum",
                name=name_of(op) if final else None)
    if final:
        return [y]
    return [_add_channel_bias(kb, y, inputs[2] if has_bias else None, element, name_of(op))]


def _zero_pad(kb, x, pads, rank: int):
    """x with `pads` zeros before and after each of its `rank` spatial axes (axes 2 on; any
    axes after them, a blocked layout's lanes, are left alone); x itself when there are none."""
    if not any(pads):
        return x
    shape = x.type.shape
    spatial = shape[2:2 + rank]
    padded = (*shape[:2], *(d + pads[k] + pads[rank + k] for k, d in enumerate(spatial)), *shape[2 + rank:])

    def read(b, i, reads):
        positions = [b.index_add(o, -pads[k]) if pads[k] else o for k, o in enumerate(i[2:2 + rank])]
        return reads[0].padded([i[0], i[1], *positions, *i[2 + rank:]], 0.0)
    return _map(kb, padded, x.type.element_type, [x], read)


def _add_channel_bias(kb, y, bias, element, name):
    """y + bias[channel] (when there is a bias), rounded to `element`."""
    work = y.type.element_type

    def finish(b, i, reads):
        value = reads[0][tuple(i)]
        if bias is not None:
            value = b.add(value, b.cast(reads[1][i[1]], work))
        return b.cast(value, element)
    return _map(kb, y.type.shape, element, [y] + ([bias] if bias is not None else []), finish, name=name)


@_lowers("graph.conv_transpose")
def conv_transpose(kb, op, inputs):
    """y[n, m, o] = sum over (c, k) of x[n, c, (o + p - k*d) / s] * w[c, m', k] where the
    division is exact and in range (a guarded read and a select), then + bias[m]."""
    attrs = _attrs(op)
    x, w = inputs[:2]
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    rank = len(out.shape) - 2
    strides, pads, dilations = _geometry(attrs, rank)
    group = attrs.group
    c_per_group = x.type.shape[1] // group
    m_per_group = w.type.shape[1]
    kernel = w.type.shape[2:]

    def body(b, i, r, reads):
        xr, wr = reads
        n, m, spatial = i[0], i[1], i[2:]
        c, taps = r[0], r[1:]
        m_in = m
        if group > 1:
            g = b.floordiv(m, b.index(m_per_group))
            c = b.index_add(b.index_mul(g, c_per_group), c)
            m_in = b.mod(m, b.index(m_per_group))
        positions, exact = [], None
        for o, k, s, d, p in zip(spatial, taps, strides, dilations, pads):
            t = b.index_add(o, p) if p else o
            t = b.sub(t, b.index_mul(k, d) if d != 1 else k)
            if s != 1:
                divides = b.eq(b.mod(t, b.index(s)), 0)
                exact = divides if exact is None else b.and_(exact, divides)
                t = b.floordiv(t, b.index(s))
            positions.append(t)
        value = b.mul(b.cast(xr.padded([n, c, *positions], 0.0), work), b.cast(wr[(c, m_in, *taps)], work))
        return value if exact is None else b.select(exact, value, 0.0)
    has_bias = len(inputs) > 2
    final = not has_bias and work == element
    y = compute(kb, out.shape, work, [x, w], body, reduce=(c_per_group, *kernel), combiner="sum",
                name=name_of(op) if final else None)
    if final:
        return [y]
    return [_add_channel_bias(kb, y, inputs[2] if has_bias else None, element, name_of(op))]


# ---- pooling ----------------------------------------------------------------------------------

def _window_positions(b, spatial, taps, strides, dilations, pads):
    return [_tap(b, o, k, s, d, -p) for o, k, s, d, p in zip(spatial, taps, strides, dilations, pads)]


@_lowers("graph.max_pool")
def max_pool(kb, op, inputs):
    """The max over each window of x padded with the lowest value (-inf for floats)."""
    attrs = _attrs(op)
    (x,) = inputs
    out = out_type(op)
    element = out.element_type
    unsigned = is_unsigned(op.operands[0])
    rank = len(out.shape) - 2
    strides, pads, dilations = _geometry(attrs, rank)
    pad = _lowest(element, unsigned)

    def body(b, i, r, reads):
        positions = _window_positions(b, i[2:], r, strides, dilations, pads)
        return _signed_order(b, reads[0].padded([i[0], i[1], *positions], pad), unsigned)
    return [_ordered_max(kb, out.shape, element, [x], body, attrs.kernel, unsigned, name_of(op))]


@_lowers("graph.max_pool_indices")
def max_pool_indices(kb, op, inputs):
    """The flat index into x of each window's first maximum (-1 when that is padding): the
    window max, the smallest tap ordinal holding it (or a NaN), then that tap's position
    numbered row-major (column-major over the spatial axes with storage_order 1)."""
    attrs = _attrs(op)
    (x,) = inputs
    out = out_type(op)
    element = x.type.element_type
    unsigned = is_unsigned(op.operands[0])
    rank = len(out.shape) - 2
    strides, pads, dilations = _geometry(attrs, rank)
    kernel = list(attrs.kernel)
    sizes = list(x.type.shape[2:])
    pad = _lowest(element, unsigned)

    def value(b, i, taps, reads):
        positions = _window_positions(b, i[2:], taps, strides, dilations, pads)
        return _signed_order(b, reads[0].padded([i[0], i[1], *positions], pad), unsigned)
    peak = compute(kb, out.shape, element, [x], value, reduce=kernel, combiner="max")

    def first(b, i, r, reads):
        v, m = value(b, i, r, reads), reads[1][tuple(i)]
        best = b.eq(v, m) if not isinstance(element, FloatType) else b.or_(b.eq(v, m), b.ne(v, v))
        ordinal = r[0]
        for k, extent in zip(r[1:], kernel[1:]):
            ordinal = b.index_add(b.index_mul(ordinal, extent), k)
        return b.select(best, b.cast(ordinal, i64), b.const(math.prod(kernel), i64))
    tap = compute(kb, out.shape, i64, [x, peak], first, reduce=kernel, combiner="min")

    def locate(b, i, reads):
        rest = b.cast(reads[0][tuple(i)], index)
        taps = []
        for extent in reversed(kernel[1:]):
            taps.append(b.mod(rest, extent))
            rest = b.floordiv(rest, extent)
        taps = [rest, *reversed(taps)]
        positions = _window_positions(b, i[2:], taps, strides, dilations, pads)
        inside = None
        for p, s in zip(positions, sizes):
            test = b.in_bounds(p, 0, s)
            inside = test if inside is None else b.and_(inside, test)
        axes = list(range(rank)) if not attrs.storage_order else list(reversed(range(rank)))
        within = positions[axes[0]]
        for axis in axes[1:]:
            within = b.index_add(b.index_mul(within, sizes[axis]), positions[axis])
        plane = b.index_add(b.index_mul(i[0], x.type.shape[1]), i[1])
        flat = b.cast(b.index_add(b.index_mul(plane, math.prod(sizes)), within), i64)
        return b.select(inside, flat, b.const(-1, i64))
    return [_map(kb, out.shape, out.element_type, [tap], locate, name=name_of(op))]


def _ordered_max(kb, shape, element, inputs, body, reduce, unsigned, name):
    """A max reduction; unsigned integers are compared through `_signed_order` and mapped
    back in a second compute."""
    y = compute(kb, shape, element, inputs, body, reduce=reduce, combiner="max",
                name=None if unsigned else name)
    if not unsigned:
        return y
    return _map(kb, shape, element, [y], lambda b, i, reads: _signed_order(b, reads[0][tuple(i)], True),
                name=name)


def _window_count(b, spatial, kernel, strides, dilations, pads, sizes, include_pad: bool):
    """The number of taps of the window at output position `spatial` that fall inside x
    (or inside x and its explicit padding, with include_pad), as an index: per axis
    max(0, min(K-1, floor((hi-1-start)/d)) - max(0, ceil((lo-start)/d)) + 1)."""
    rank = len(kernel)
    count = None
    for axis in range(rank):
        o, k, s, d = spatial[axis], kernel[axis], strides[axis], dilations[axis]
        begin, end = pads[axis], pads[rank + axis]
        lo, hi = (-begin, sizes[axis] + end) if include_pad else (0, sizes[axis])
        last_start = (b.range_of(o)[1]) * s - begin
        if lo <= -begin and last_start + (k - 1) * d < hi:
            axis_count = b.index(k)        # every window of this axis lies inside
        else:
            start = b.index_mul(o, s) if s != 1 else o
            if begin:
                start = b.index_add(start, -begin)
            below = b.sub(b.index(lo), start)              # first tap >= ceil(below / d)
            above = b.sub(b.index(hi - 1), start)          # last tap <= floor(above / d)
            if d != 1:
                below = b.neg(b.floordiv(b.neg(below), b.index(d)))
                above = b.floordiv(above, b.index(d))
            first = b.max(below, 0)
            last = b.min(above, k - 1)
            axis_count = b.max(b.index_add(b.sub(last, first), 1), 0)
        count = axis_count if count is None else b.mul(count, axis_count)
    return count


@_lowers("graph.avg_pool")
def avg_pool(kb, op, inputs):
    """The window sum over zero padding divided by the count of taps inside x (with
    count_include_pad, inside x and its explicit pads; never ceil_mode's extra end)."""
    attrs = _attrs(op)
    (x,) = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    rank = len(out.shape) - 2
    strides, pads, dilations = _geometry(attrs, rank)
    kernel = list(attrs.kernel)
    sizes = x.type.shape[2:]

    def window_sum(b, i, r, reads):
        positions = _window_positions(b, i[2:], r, strides, dilations, pads)
        return b.cast(reads[0].padded([i[0], i[1], *positions], 0.0), work)
    total = compute(kb, out.shape, work, [x], window_sum, reduce=kernel, combiner="sum")

    def mean(b, i, reads):
        count = _window_count(b, i[2:], kernel, strides, dilations, pads, sizes, bool(attrs.count_include_pad))
        return b.cast(b.div(reads[0][tuple(i)], b.cast(count, work)), element)
    return [_map(kb, out.shape, element, [total], mean, name=name_of(op))]


@_lowers("graph.lp_pool")
def lp_pool(kb, op, inputs):
    """(sum over each window of |x|^p)^(1/p) over zero padding; p = 1 and 2 as numpy's
    powers do them (identity, square and sqrt)."""
    attrs = _attrs(op)
    (x,) = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    rank = len(out.shape) - 2
    strides, pads, dilations = _geometry(attrs, rank)
    p = attrs.p

    def powered(b, i, r, reads):
        positions = _window_positions(b, i[2:], r, strides, dilations, pads)
        a = b.math("absf", b.cast(reads[0].padded([i[0], i[1], *positions], 0.0), work))
        if p == 1:
            return a
        return b.mul(a, a) if p == 2 else b.math("powf", a, float(p))
    total = compute(kb, out.shape, work, [x], powered, reduce=list(attrs.kernel), combiner="sum")

    def root(b, i, reads):
        s = reads[0][tuple(i)]
        value = s if p == 1 else b.sqrt(s) if p == 2 else b.math("powf", s, 1.0 / p)
        return b.cast(value, element)
    return [_map(kb, out.shape, element, [total], root, name=name_of(op))]


@_lowers("graph.global_avg_pool")
def global_avg_pool(kb, op, inputs):
    """The sum over the spatial axes divided by their size (numpy's mean)."""
    (x,) = inputs
    element = out_type(op).element_type
    work = _work_type(element)
    axes = tuple(range(2, len(x.type.shape)))
    n = math.prod(x.type.shape[2:])
    total = _reduce_keepdims(kb, [x], axes, work, lambda b, i, s, reads: b.cast(reads[0][tuple(i)], work), "sum")
    return [_map(kb, total.type.shape, element, [total],
                 lambda b, i, reads: b.cast(b.div(reads[0][tuple(i)], float(n)), element), name=name_of(op))]


@_lowers("graph.global_max_pool")
def global_max_pool(kb, op, inputs):
    (x,) = inputs
    element = out_type(op).element_type
    unsigned = is_unsigned(op.operands[0])
    axes = tuple(range(2, len(x.type.shape)))
    shape = _keep(x.type.shape, axes)

    def body(b, i, r, reads):
        return _signed_order(b, reads[0][(i[0], i[1], *r)], unsigned)
    return [_ordered_max(kb, shape, element, [x], body, x.type.shape[2:], unsigned, name_of(op))]


# ---- normalisations -------------------------------------------------------------------------

@_lowers("graph.batch_norm")
def batch_norm(kb, op, inputs):
    """(x - mean[c]) * (scale[c] / sqrt(var[c] + epsilon)) + bias[c], one elementwise compute."""
    attrs = _attrs(op)
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)

    def body(b, i, reads):
        x, scale, bias, mean, var = reads
        c = i[1]
        col = lambda r: b.cast(r[c], work)
        factor = b.div(col(scale), b.sqrt(b.add(col(var), b.const(attrs.epsilon, work))))
        return b.cast(b.add(b.mul(b.sub(b.cast(x[tuple(i)], work), col(mean)), factor), col(bias)), element)
    return [_map(kb, out.shape, element, inputs, body, name=name_of(op))]


def _normalized(b, x, i, stats, s, work):
    """(x[i] - mean[s]) * inv_std[s]."""
    mean, inv_std = stats
    return b.mul(b.sub(b.cast(x[tuple(i)], work), mean[tuple(s)]), inv_std[tuple(s)])


@_lowers("graph.instance_norm")
def instance_norm(kb, op, inputs):
    """Normalise each (n, c) over the spatial axes, then * scale[c] + bias[c]."""
    attrs = _attrs(op)
    x, scale, bias = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    axes = tuple(range(2, len(out.shape)))
    mean, inv_std = _moments(kb, x, axes, attrs.epsilon, work)

    def body(b, i, reads):
        xr, m, v, sc, bi = reads
        y = _normalized(b, xr, i, (m, v), _stat_index(i, axes), work)
        return b.cast(b.add(b.mul(y, b.cast(sc[i[1]], work)), b.cast(bi[i[1]], work)), element)
    return [_map(kb, out.shape, element, [x, mean, inv_std, scale, bias], body, name=name_of(op))]


@_lowers("graph.layer_norm")
def layer_norm(kb, op, inputs):
    """Normalise over the axes from `axis` on, then * scale (+ bias), both broadcast."""
    attrs = _attrs(op)
    x = inputs[0]
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    rank = len(out.shape)
    axes = tuple(range(attrs.axis % rank, rank))
    mean, inv_std = _moments(kb, x, axes, attrs.epsilon, work)

    def body(b, i, reads):
        xr, m, v, scale = reads[:4]
        y = b.mul(_normalized(b, xr, i, (m, v), _stat_index(i, axes), work), b.cast(broadcast_read(scale, i), work))
        if len(reads) > 4:
            y = b.add(y, b.cast(broadcast_read(reads[4], i), work))
        return b.cast(y, element)
    return [_map(kb, out.shape, element, [x, mean, inv_std, *inputs[1:]], body, name=name_of(op))]


@_lowers("graph.layer_norm_stats")
def layer_norm_stats(kb, op, inputs):
    """The mean and 1 / sqrt(var + epsilon) over the axes from `axis` on, kept as size 1."""
    attrs = _attrs(op)
    (x,) = inputs
    element = out_type(op).element_type
    work = _work_type(element)
    rank = len(x.type.shape)
    mean, inv_std = _moments(kb, x, tuple(range(attrs.axis % rank, rank)), attrs.epsilon, work)
    return [_cast_to(kb, mean, element, name_of(op, 0)), _cast_to(kb, inv_std, element, name_of(op, 1))]


@_lowers("graph.group_norm")
def group_norm(kb, op, inputs):
    """Statistics per (n, group) over the group's channels and the spatial axes, then
    * scale[c] + bias[c]."""
    attrs = _attrs(op)
    x, scale, bias = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    groups = attrs.num_groups
    n, channels, spatial = out.shape[0], out.shape[1], tuple(out.shape[2:])
    per = channels // groups
    count = per * math.prod(spatial)
    eps = attrs.epsilon

    def member(b, i, r):
        """The element of x that reduction index r of statistic (n, g) = i visits."""
        return (i[0], b.index_add(b.index_mul(i[1], per), r[0]), *r[1:])

    def group_of(b, i):
        return (i[0], b.floordiv(i[1], b.index(per)) if per != 1 else i[1])

    total = compute(kb, (n, groups), work, [x], lambda b, i, r, reads: b.cast(reads[0][member(b, i, r)], work),
                    reduce=(per, *spatial), combiner="sum")
    mean = _map(kb, (n, groups), work, [total], lambda b, i, reads: b.div(reads[0][tuple(i)], float(count)))

    def squared(b, i, r, reads):
        d = b.sub(b.cast(reads[0][member(b, i, r)], work), reads[1][tuple(i)])
        return b.mul(d, d)
    squares = compute(kb, (n, groups), work, [x, mean], squared, reduce=(per, *spatial), combiner="sum")
    inv_std = _map(kb, (n, groups), work, [squares], lambda b, i, reads: b.div(
        1.0, b.sqrt(b.add(b.div(reads[0][tuple(i)], float(count)), b.const(eps, work)))))

    def body(b, i, reads):
        xr, m, v, sc, bi = reads
        g = group_of(b, i)
        y = b.mul(b.sub(b.cast(xr[tuple(i)], work), m[g]), v[g])
        return b.cast(b.add(b.mul(y, b.cast(sc[i[1]], work)), b.cast(bi[i[1]], work)), element)
    return [_map(kb, out.shape, element, [x, mean, inv_std, scale, bias], body, name=name_of(op))]


@_lowers("graph.rms_norm")
def rms_norm(kb, op, inputs):
    """x / sqrt(mean(x^2) + epsilon) * scale over the axes from `axis` on."""
    attrs = _attrs(op)
    x, scale = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    rank = len(out.shape)
    axes = tuple(range(attrs.axis % rank, rank))
    n = math.prod(out.shape[a] for a in axes)

    def square(b, i, s, reads):
        v = b.cast(reads[0][tuple(i)], work)
        return b.mul(v, v)
    squares = _reduce_keepdims(kb, [x], axes, work, square, "sum")
    ms = _map(kb, squares.type.shape, work, [squares], lambda b, i, reads: b.div(reads[0][tuple(i)], float(n)))

    def body(b, i, reads):
        xr, m, sc = reads
        root = b.sqrt(b.add(m[tuple(_stat_index(i, axes))], b.const(attrs.epsilon, work)))
        return b.cast(b.mul(b.div(b.cast(xr[tuple(i)], work), root), b.cast(broadcast_read(sc, i), work)), element)
    return [_map(kb, out.shape, element, [x, ms, scale], body, name=name_of(op))]


@_lowers("graph.lrn")
def lrn(kb, op, inputs):
    """x / (bias + alpha / size * sum of x^2 over channels c - (size-1)//2 .. + size//2)^beta,
    the channel window a guarded read."""
    attrs = _attrs(op)
    (x,) = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    size = attrs.size
    before = (size - 1) // 2

    def square(b, i, r, reads):
        c = b.index_add(b.index_add(i[1], r[0]), -before) if before else b.index_add(i[1], r[0])
        v = b.cast(reads[0].padded([i[0], c, *i[2:]], 0.0), work)
        return b.mul(v, v)
    sums = compute(kb, out.shape, work, [x], square, reduce=(size,), combiner="sum")

    def body(b, i, reads):
        xr, s = reads
        base = b.add(b.const(attrs.bias, work), b.mul(b.const(attrs.alpha / size, work), s[tuple(i)]))
        return b.cast(b.div(b.cast(xr[tuple(i)], work), b.math("powf", base, b.const(attrs.beta, work))), element)
    return [_map(kb, out.shape, element, [x, sums], body, name=name_of(op))]


@_lowers("graph.mean_variance_normalization")
def mean_variance_normalization(kb, op, inputs):
    """(x - mean) / (sqrt(mean(x^2) - mean^2) + 1e-9) over `axes`."""
    attrs = _attrs(op)
    (x,) = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    rank = len(out.shape)
    axes = tuple(sorted({int(a) % rank for a in attrs.axes}))
    n = float(math.prod(out.shape[a] for a in axes))
    load = lambda b, r, i: b.cast(r[tuple(i)], work)
    total = _reduce_keepdims(kb, [x], axes, work, lambda b, i, s, reads: load(b, reads[0], i), "sum")

    def square(b, i, s, reads):
        v = load(b, reads[0], i)
        return b.mul(v, v)
    squares = _reduce_keepdims(kb, [x], axes, work, square, "sum")
    shape = total.type.shape
    mean = _map(kb, shape, work, [total], lambda b, i, reads: b.div(reads[0][tuple(i)], n))

    def std(b, i, reads):
        m = reads[1][tuple(i)]
        return b.sqrt(b.sub(b.div(reads[0][tuple(i)], n), b.mul(m, m)))
    deviation = _map(kb, shape, work, [squares, mean], std)

    def body(b, i, reads):
        xr, m, d = reads
        s = tuple(_stat_index(i, axes))
        return b.cast(b.div(b.sub(load(b, xr, i), m[s]), b.add(d[s], b.const(1e-9, work))), element)
    return [_map(kb, out.shape, element, [x, mean, deviation], body, name=name_of(op))]


@_lowers("graph.lp_normalization")
def lp_normalization(kb, op, inputs):
    """x / ||x||_p along axis (sum |x| or sqrt(sum x*x)), 0 where the norm is 0."""
    attrs = _attrs(op)
    (x,) = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    axes = (attrs.axis % len(out.shape),)

    def term(b, i, s, reads):
        a = b.math("absf", b.cast(reads[0][tuple(i)], work))
        return a if attrs.p == 1 else b.mul(a, a)
    total = _reduce_keepdims(kb, [x], axes, work, term, "sum")

    def body(b, i, reads):
        xr, t = reads
        norm = t[tuple(_stat_index(i, axes))]
        if attrs.p == 2:
            norm = b.sqrt(norm)
        zero = b.eq(norm, 0.0)
        value = b.div(b.cast(xr[tuple(i)], work), b.select(zero, b.const(1.0, work), norm))
        return b.cast(b.select(zero, b.const(0.0, work), value), element)
    return [_map(kb, out.shape, element, [x, total], body, name=name_of(op))]


# ---- softmaxes ----------------------------------------------------------------------------------

def _axis_max(kb, x, axes):
    element = x.type.element_type
    return _reduce_keepdims(kb, [x], axes, element, lambda b, i, s, reads: reads[0][tuple(i)], "max")


@_lowers("graph.softmax")
def softmax(kb, op, inputs):
    """exp(x - max) / sum(exp(x - max)) along axis, in x's own type (as the reference)."""
    (x,) = inputs
    out = out_type(op)
    element = out.element_type
    axes = (_attrs(op).axis % len(out.shape),)
    peak = _axis_max(kb, x, axes)

    def shifted_exp(b, i, s, reads):
        return b.exp(b.sub(reads[0][tuple(i)], reads[1][tuple(s)]))
    extent = out.shape[axes[0]]
    if element == bf16 and extent <= SEQUENTIAL_BF16_SUM_LIMIT:
        # The reference sums bf16 one element after another, rounding each partial sum
        # (ml_dtypes' add.reduce); a te sum reduction rounds once, so the exponentials are
        # added in a chain of bf16 additions instead.
        def chain(b, s, reads):
            total = None
            for j in range(extent):
                term = shifted_exp(b, [j if k in axes else v for k, v in enumerate(s)], s, reads)
                total = term if total is None else b.add(total, term)
            return total
        total = _map(kb, peak.type.shape, element, [x, peak], chain)
    else:
        total = _reduce_keepdims(kb, [x, peak], axes, element, shifted_exp, "sum")

    def body(b, i, reads):
        s = tuple(_stat_index(i, axes))
        return b.div(b.exp(b.sub(reads[0][tuple(i)], reads[1][s])), reads[2][s])
    return [_map(kb, out.shape, element, [x, peak, total], body, name=name_of(op))]


@_lowers("graph.log_softmax")
def log_softmax(kb, op, inputs):
    """(x - max) - log(sum(exp(x - max))) along axis."""
    (x,) = inputs
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    axes = (_attrs(op).axis % len(out.shape),)
    peak = _axis_max(kb, x, axes)

    def shifted(b, i, s, reads):
        return b.sub(b.cast(reads[0][tuple(i)], work), b.cast(reads[1][tuple(s)], work))
    total = _reduce_keepdims(kb, [x, peak], axes, work, lambda b, i, s, reads: b.exp(shifted(b, i, s, reads)), "sum")

    def body(b, i, reads):
        s = _stat_index(i, axes)
        return b.cast(b.sub(shifted(b, i, s, reads), b.math("log", reads[2][tuple(s)])), element)
    return [_map(kb, out.shape, element, [x, peak, total], body, name=name_of(op))]


@_lowers("graph.hardmax")
def hardmax(kb, op, inputs):
    """1 at the first maximum along axis (the first NaN, as numpy's argmax, when there is
    one), 0 elsewhere: the max, then the smallest index holding it, then a comparison."""
    (x,) = inputs
    out = out_type(op)
    element = out.element_type
    axis = _attrs(op).axis % len(out.shape)
    axes = (axis,)
    extent = out.shape[axis]
    peak = _axis_max(kb, x, axes)

    def first(b, i, s, reads):
        v, m = reads[0][tuple(i)], reads[1][tuple(s)]
        best = b.or_(b.eq(v, m), b.ne(v, v))       # max propagates NaN: then v is NaN
        return b.select(best, b.cast(i[axis], i64), b.const(extent, i64))
    where = _reduce_keepdims(kb, [x, peak], axes, i64, first, "min")

    def body(b, i, reads):
        hit = b.eq(b.cast(i[axis], i64), reads[0][tuple(_stat_index(i, axes))])
        return b.select(hit, b.const(1.0, element), b.const(0.0, element))
    return [_map(kb, out.shape, element, [where], body, name=name_of(op))]
