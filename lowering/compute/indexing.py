"""graph -> te: compute builders of indexing ops — slice, the gathers, the scatters, pad,
one_hot, trilu, resize, grid_sample and top_k.

Indices read from a tensor become `index` values: negative ones count from the end of their
axis (ONNX), and a read at such an index is clamped so it stays in bounds (te.read's
contract; the reference would fail there, ONNX leaves it undefined).

A scatter is a compute over the OUTPUT: each element combines data with every update whose
index targets it, as a reduction over the update positions — which works for indices known
only at run time. Element 0 of the reduction is data itself, so a reduction scatter computes
data ⊕ u0 ⊕ u1 ... in the reference's order; without a reduction, the last update wins (a
max over the matching positions, then a read of that update).

Resize follows the graph reference axis by axis: the source coordinate of each output
position is computed in f64 in the body with the reference's operations (so the same
rounding), nearest picks one tap, linear and cubic sum weighted taps in f64 (one compute
per resized axis), and a last compute rounds to the result type. grid_sample likewise sums
its taps in f64 and rounds once. top_k sorts by counting: an element's rank is the number
of elements ordered before it."""

from __future__ import annotations

import math

import numpy as np

from descend.dialects.graph import Attrs
from descend.dialects.graph.indexing import SliceOp
from descend.dialects.te.builder import compute
from descend.ir import FloatType, IntegerType, f64, i64, index

from . import is_unsigned, lowers, name_of, out_type


def _attrs(op) -> Attrs:
    return Attrs(type(op), op.properties)


def index_value(b, v, unsigned: bool = False):
    """A tensor element (integer, or float truncated toward zero) as an index."""
    return b.cast_unsigned(v, index) if unsigned else b.cast(v, index)


def wrapped(b, i, size: int):
    """ONNX's negative index: -1 is the last element."""
    return b.select(b.lt(i, 0), b.index_add(i, size), i)


def read_index(b, reader, at, size: int, unsigned: bool = False):
    """The index stored in `reader` at `at`, wrapped and clamped into [0, size)."""
    i = index_value(b, reader[tuple(at)], unsigned)
    if not unsigned:
        i = wrapped(b, i, size)
    return b.clamp(i, 0, max(size - 1, 0))


def floor_mod(b, i, n: int):
    """i mod n in [0, n) for any sign of i."""
    return b.mod(b.index_add(b.mod(i, n), n), n)


# ---- slice and gathers ------------------------------------------------------------------------------

@lowers("graph.slice")
def slice_(kb, op, inputs):
    (x,) = inputs
    a = _attrs(op)
    shape = x.type.shape
    slices = SliceOp.slices(shape, a.starts, a.ends, a.axes, a.steps)
    bounds = [s.indices(d) for s, d in zip(slices, shape)]

    def body(b, i, r, reads):
        at = [b.index_add(b.index_mul(k, step), start) if (start, step) != (0, 1) else k
              for k, (start, _, step) in zip(i, bounds)]
        return reads[0][tuple(at)]
    out = out_type(op)
    return [compute(kb, out.shape, out.element_type, [x], body, name=name_of(op))]


@lowers("graph.gather")
def gather(kb, op, inputs):
    data, indices = inputs
    rank = len(data.type.shape)
    axis = _attrs(op).axis % rank
    n = len(indices.type.shape)
    size = data.type.shape[axis]
    unsigned = is_unsigned(op.operands[1])

    def body(b, i, r, reads):
        d, ix = reads
        k = read_index(b, ix, i[axis:axis + n], size, unsigned)
        return d[tuple(i[:axis]) + (k,) + tuple(i[axis + n:])]
    out = out_type(op)
    return [compute(kb, out.shape, out.element_type, [data, indices], body, name=name_of(op))]


@lowers("graph.gather_elements")
def gather_elements(kb, op, inputs):
    data, indices = inputs
    rank = len(data.type.shape)
    axis = _attrs(op).axis % rank
    size = data.type.shape[axis]
    unsigned = is_unsigned(op.operands[1])

    def body(b, i, r, reads):
        d, ix = reads
        at = list(i)
        at[axis] = read_index(b, ix, i, size, unsigned)
        return d[tuple(at)]
    out = out_type(op)
    return [compute(kb, out.shape, out.element_type, [data, indices], body, name=name_of(op))]


@lowers("graph.gather_nd")
def gather_nd(kb, op, inputs):
    data, indices = inputs
    batch = _attrs(op).batch_dims
    dshape, ishape = data.type.shape, indices.type.shape
    k = ishape[-1]
    lead = len(ishape) - 1
    unsigned = is_unsigned(op.operands[1])

    def body(b, i, r, reads):
        d, ix = reads
        tuple_at = [read_index(b, ix, list(i[:lead]) + [j], dshape[batch + j], unsigned) for j in range(k)]
        return d[tuple(i[:batch]) + tuple(tuple_at) + tuple(i[lead:])]
    out = out_type(op)
    return [compute(kb, out.shape, out.element_type, [data, indices], body, name=name_of(op))]


# ---- scatters ---------------------------------------------------------------------------------------

_COMBINERS = {"add": "sum", "mul": "prod", "max": "max", "min": "min"}


def _scatter(kb, op, inputs, count: int, update_at):
    """out[p] = data[p] combined with updates[u] for every update position u (flat, in
    [0, count)) whose target is p. `update_at(b, p, u)` gives (matches, indices of u in
    updates)."""
    data, _, updates = inputs
    a = _attrs(op)
    out = out_type(op)
    element = out.element_type
    if count == 0:   # no updates: a copy of data
        return [compute(kb, out.shape, element, [data], lambda b, i, r, reads: reads[0][tuple(i)],
                        name=name_of(op))]
    if a.reduction == "none":
        def last(b, p, r, reads):
            matches, _ = update_at(b, p, r[0], reads[0])
            return b.select(matches, b.cast(b.index_add(r[0], 1), i64), 0)
        # 1 + the last update targeting p, 0 where none does
        winner = compute(kb, out.shape, i64, [inputs[1]], last, reduce=[count], combiner="max", init=0)

        def pick(b, p, r, reads):
            d, w, u = reads
            chosen = b.index_add(b.cast(w[tuple(p)], index), -1)
            _, at = update_at(b, p, b.max(chosen, 0), None)
            return b.select(b.ge(chosen, 0), u[tuple(at)], d[tuple(p)])
        return [compute(kb, out.shape, element, [data, winner, updates], pick, name=name_of(op))]

    combiner = _COMBINERS[a.reduction]
    bias = (-(1 << (element.width - 1)) if is_unsigned(op.operands[0]) and combiner in ("max", "min")
            else 0)

    def body(b, p, r, reads):
        d, ix, u = reads
        position = b.max(b.index_add(r[0], -1), 0)
        matches, at = update_at(b, p, position, ix)
        first = b.eq(r[0], 0)
        value = b.select(first, d[tuple(p)], u[tuple(at)])
        if bias:
            value = b.add(value, bias)
        identity = _identity(combiner, element, bool(bias))
        return b.select(b.or_(first, matches), value, identity)
    result = compute(kb, out.shape, element, [data, inputs[1], updates], body, reduce=[count + 1],
                     combiner=combiner, name=None if bias else name_of(op))
    if not bias:
        return [result]
    return [compute(kb, out.shape, element, [result], lambda b, i, r, reads: b.sub(reads[0][tuple(i)], bias),
                    name=name_of(op))]


def _identity(combiner: str, element, biased: bool):
    if isinstance(element, FloatType):
        return {"sum": 0.0, "prod": 1.0, "max": float("-inf"), "min": float("inf")}[combiner]
    width = element.width
    if width == 1:
        return {"sum": 0, "prod": 1, "max": 0, "min": 1}[combiner]
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return {"sum": 0, "prod": 1, "max": low, "min": high}[combiner]


def _unflatten(b, flat, shape):
    """The row-major coordinates of a flat index into `shape`."""
    coords, stride = [], 1
    for d in reversed(shape):
        coords.append(b.mod(b.floordiv(flat, stride), d) if stride > 1 else b.mod(flat, d))
        stride *= d
    return coords[::-1]


@lowers("graph.scatter_elements")
def scatter_elements(kb, op, inputs):
    data, indices, _ = inputs
    dshape, ishape = data.type.shape, indices.type.shape
    rank = len(dshape)
    axis = _attrs(op).axis % rank
    unsigned = is_unsigned(op.operands[1])
    partial = [k for k in range(rank) if k != axis and ishape[k] < dshape[k]]

    def update_at(b, p, r, ix):
        at = [b.min(p[k], ishape[k] - 1) if k in partial else p[k] for k in range(rank)]
        at[axis] = r
        if ix is None:
            return None, at
        target = index_value(b, ix[tuple(at)], unsigned)
        if not unsigned:
            target = wrapped(b, target, dshape[axis])
        matches = b.eq(target, p[axis])
        for k in partial:
            matches = b.and_(matches, b.lt(p[k], ishape[k]))
        return matches, at
    return _scatter(kb, op, inputs, ishape[axis], update_at)


@lowers("graph.scatter_nd")
def scatter_nd(kb, op, inputs):
    data, indices, _ = inputs
    dshape, ishape = data.type.shape, indices.type.shape
    k = ishape[-1]
    lead = ishape[:-1]
    unsigned = is_unsigned(op.operands[1])

    def update_at(b, p, r, ix):
        q = _unflatten(b, r, lead) if lead else []
        at = list(q) + list(p[k:])
        if ix is None:
            return None, at
        matches = None
        for j in range(k):
            target = index_value(b, ix[tuple(q) + (j,)], unsigned)
            if not unsigned:
                target = wrapped(b, target, dshape[j])
            test = b.eq(target, p[j])
            matches = test if matches is None else b.and_(matches, test)
        return (matches if matches is not None else b.eq(r, r)), at
    return _scatter(kb, op, inputs, math.prod(lead), update_at)


# ---- pad, one_hot, trilu ------------------------------------------------------------------------------

@lowers("graph.pad")
def pad(kb, op, inputs):
    x = inputs[0]
    a = _attrs(op)
    shape = x.type.shape
    rank = len(shape)
    pads = [int(p) for p in a.pads]
    out = out_type(op)

    def source(b, k, o):
        """The x index output index o reads along axis k (outside x for constant padding)."""
        before, crop = max(pads[k], 0), max(-pads[k], 0)
        n = shape[k] - crop - max(-pads[rank + k], 0)
        s = b.index_add(o, -before) if before else o
        padded = before > 0 or pads[rank + k] > 0
        if padded and a.mode == "edge":
            s = b.clamp(s, 0, n - 1)
        elif padded and a.mode == "wrap":
            s = floor_mod(b, s, n)
        elif padded and a.mode == "reflect":
            if n == 1:
                s = b.index(0)
            else:
                period = 2 * (n - 1)
                m = floor_mod(b, s, period)
                s = b.select(b.lt(m, n), m, b.sub(b.index(period), m))
        return b.index_add(s, crop) if crop else s

    def body(b, i, r, reads):
        at = [source(b, k, o) for k, o in enumerate(i)]
        if a.mode != "constant":
            return reads[0][tuple(at)]
        fill = 0.0 if isinstance(out.element_type, FloatType) else 0
        if len(reads) > 1:
            fill = reads[1][(0,) * len(reads[1].shape)]
        return reads[0].padded(at, fill)
    return [compute(kb, out.shape, out.element_type, list(inputs), body, name=name_of(op))]


@lowers("graph.one_hot")
def one_hot(kb, op, inputs):
    indices, values = inputs
    a = _attrs(op)
    out = out_type(op)
    axis = a.axis % len(out.shape)
    unsigned = is_unsigned(op.operands[0])

    def body(b, i, r, reads):
        ix, v = reads
        k = ix[tuple(i[:axis]) + tuple(i[axis + 1:])]
        k = b.cast_unsigned(k, i64) if unsigned else b.cast(k, i64)
        if not unsigned:
            k = b.select(b.lt(k, 0), b.add(k, a.depth), k)
        hit = b.eq(k, b.cast(i[axis], i64))
        return b.select(hit, v[1], v[0])
    return [compute(kb, out.shape, out.element_type, [indices, values], body, name=name_of(op))]


@lowers("graph.trilu")
def trilu(kb, op, inputs):
    a = _attrs(op)
    out = out_type(op)
    unsigned = len(op.operands) > 1 and is_unsigned(op.operands[1])

    def body(b, i, r, reads):
        row, column = i[-2], i[-1]
        k = b.index(a.k)
        if len(reads) > 1:
            offset = reads[1]
            k = b.add(k, index_value(b, offset[(0,) * len(offset.shape)], unsigned))
        diagonal = b.sub(column, row)
        keep = b.ge(diagonal, k) if a.upper else b.le(diagonal, k)
        zero = 0.0 if isinstance(out.element_type, FloatType) else 0
        return b.select(keep, reads[0][tuple(i)], zero)
    return [compute(kb, out.shape, out.element_type, list(inputs), body, name=name_of(op))]


# ---- resize -----------------------------------------------------------------------------------------

def _cubic(b, d, a: float):
    """Keys' cubic kernel at distance d (f64), with the reference's operation order."""
    d = b.abs(d)
    near = b.add(b.mul(b.mul(b.sub(b.mul(d, a + 2), a + 3), d), d), 1.0)
    far = b.sub(b.mul(b.add(b.mul(b.sub(b.mul(d, a), 5 * a), d), 8 * a), d), 4 * a)
    return b.select(b.le(d, 1.0), near, b.select(b.lt(d, 2.0), far, 0.0))


def _numpy_sum(b, values):
    """A sum in numpy's reduction order over a contiguous run: the first element plus the
    pairwise sum of the rest (sequential below 8, else 8 accumulators)."""
    rest = values[1:]
    if len(rest) < 8:
        total = values[0]
        for v in rest:
            total = b.add(total, v)
        return total
    blocks = len(rest) - len(rest) % 8
    acc = list(rest[:8])
    for start in range(8, blocks, 8):
        acc = [b.add(s, v) for s, v in zip(acc, rest[start:start + 8])]
    pairwise = b.add(b.add(b.add(acc[0], acc[1]), b.add(acc[2], acc[3])),
                     b.add(b.add(acc[4], acc[5]), b.add(acc[6], acc[7])))
    for v in rest[blocks:]:
        pairwise = b.add(pairwise, v)
    return b.add(values[0], pairwise)


class _ResizeAxis:
    """One resized axis: the source coordinate and taps of an output position, in a body."""

    def __init__(self, op, axis: int, length: int, size: int):
        a = _attrs(op)
        rank = len(a.sizes)
        self.length, self.size = length, size
        self.scale = float(a.scales[axis]) if a.scales is not None else size / length if length else 1.0
        self.span = (float(a.roi[axis]), float(a.roi[rank + axis])) if a.roi is not None else (0.0, 1.0)
        self.mode, self.transform = a.mode, a.coordinate_transformation_mode
        self.nearest_mode, self.a = a.nearest_mode, a.cubic_coeff_a
        self.exclude_outside, self.antialias = bool(a.exclude_outside), bool(a.antialias)
        self.taps = self._tap_count()

    @property
    def resized(self) -> bool:
        return not (self.size == self.length and math.isclose(self.scale, 1.0) and self.span == (0.0, 1.0))

    def _tap_count(self) -> int:
        if self.mode == "nearest":
            return 2
        if not self.antialias:
            return 2 if self.mode == "linear" else 4
        s = min(self.scale, 1.0)
        start = int(np.floor((-1 if self.mode == "linear" else -2) / s) + 1)
        return 2 - 2 * start

    def coordinate(self, b, y):
        """The source coordinate x (f64) of output index y."""
        scale, length, width = self.scale, self.length, self.scale * self.length
        yf = b.cast(y, f64)
        t = self.transform
        if t == "align_corners":
            return b.const(0.0, f64) if width == 1 else b.div(b.mul(yf, float(length - 1)), width - 1)
        if t == "asymmetric":
            return b.div(yf, scale)
        if t == "tf_crop_and_resize":
            start, end = self.span
            if width == 1:
                return b.const((end - start) * (length - 1) / 2 + start * (length - 1), f64)
            x = b.div(b.mul(b.mul(yf, end - start), float(length - 1)), width - 1)
            return b.add(x, start * (length - 1))
        if t == "pytorch_half_pixel" and width == 1:
            return b.const(-0.5, f64)
        half = b.div(b.add(yf, 0.5), scale)
        if t == "half_pixel_symmetric":
            half = b.add(b.const(length / 2 * (1 - self.size / width), f64), half)
        return b.sub(half, 0.5)

    def beyond(self, b, x):
        """Whether x lies outside the roi (tf_crop_and_resize only), else None."""
        if self.transform != "tf_crop_and_resize":
            return None
        return b.or_(b.lt(x, 0.0), b.gt(x, float(self.length - 1)))

    def ratio(self, b, x):
        floor = b.math("floor", x)
        return b.select(b.eq(x, floor), b.const(1.0, f64), b.sub(x, floor))

    def tap(self, b, x, r):
        """Tap r (an index value or int) before clamping: the reference's window rule."""
        n = self.taps
        pad = math.ceil(n / 2)
        padded = b.add(x, float(pad))
        whole = b.math("floor", padded)
        frac = b.sub(padded, whole)
        if n % 2 == 0:
            offset = b.select(b.eq(frac, 0.0), b.index(-(n // 2)), b.index(-(n // 2) + 1))
        else:
            offset = b.select(b.le(frac, 0.5), b.index(-((n - 1) // 2)), b.index(-((n - 1) // 2) + 1))
        base = b.add(b.cast(whole, index), offset)
        return b.index_add(b.index_add(base, r), -pad)

    def clamp(self, b, tap):
        return b.clamp(tap, 0, self.length - 1)

    def nearest(self, b, y):
        x = self.coordinate(b, y)
        ratio = self.ratio(b, x)
        mode = self.nearest_mode
        if mode in ("floor", "ceil"):
            right = b.eq(ratio, 1.0) if mode == "floor" else None
        else:
            right = b.gt(ratio, 0.5) if mode == "round_prefer_floor" else b.ge(ratio, 0.5)
            right = b.or_(right, b.eq(ratio, 1.0))
        if right is None:
            return self.clamp(b, self.tap(b, x, 1))
        return self.clamp(b, b.select(right, self.tap(b, x, 1), self.tap(b, x, 0)))

    def kernel_weight(self, b, ratio, j):
        """The unnormalised weight of window position j (an int) for this ratio."""
        if not self.antialias:
            if self.mode == "linear":
                return b.sub(1.0, ratio) if j == 0 else ratio
            d = [b.add(ratio, 1.0), ratio, b.sub(1.0, ratio), b.sub(2.0, ratio)][j]
            return _cubic(b, d, self.a)
        s = min(self.scale, 1.0)
        start = 1 - self.taps // 2
        if self.mode == "linear":
            arg = b.mul(b.sub(b.const(float(start + j), f64), ratio), s)
            return b.clamp(b.sub(1.0, b.abs(arg)), 0.0, 1.0)
        return _cubic(b, b.mul(b.const(s, f64), b.sub(b.const(float(start + j), f64), ratio)), self.a)

    def weights(self, b, x):
        """Every tap's weight (a list of f64 values), normalised as the reference does."""
        ratio = self.ratio(b, x)
        w = [self.kernel_weight(b, ratio, j) for j in range(self.taps)]
        if self.antialias:
            total = _numpy_sum(b, w)
            w = [b.div(v, total) for v in w]
        if self.exclude_outside:
            taps = [self.tap(b, x, j) for j in range(self.taps)]
            w = [b.select(b.in_bounds(t, 0, self.length), v, 0.0) for t, v in zip(taps, w)]
            total = _numpy_sum(b, w)
            total = b.select(b.eq(total, 0.0), b.const(1.0, f64), total)
            w = [b.div(v, total) for v in w]
        return w


@lowers("graph.resize")
def resize(kb, op, inputs):
    (x,) = inputs
    a = _attrs(op)
    out = out_type(op)
    element = out.element_type
    shape = list(x.type.shape)
    axes = [_ResizeAxis(op, k, shape[k], int(a.sizes[k])) for k in range(len(shape))]
    unsigned = is_unsigned(op.operands[0])
    integer = isinstance(element, IntegerType)

    def finish(b, i, value):
        """Extrapolation outside the roi, then the reference's rounding to the result type."""
        outside = None
        for k, ax in enumerate(axes):
            if ax.resized:
                test = ax.beyond(b, ax.coordinate(b, i[k]))
                if test is not None:
                    outside = test if outside is None else b.or_(outside, test)
        if outside is not None:
            value = b.select(outside, b.const(float(a.extrapolation_value), f64), _to_f64(b, value, unsigned))
        if value.type == element:
            return value
        if integer:
            info = np.iinfo(np.dtype(("u" if unsigned else "i") + str(element.width // 8)))
            value = b.clamp(b.math("roundeven", value), float(info.min), float(info.max))
            return b.cast(b.cast(value, i64), element) if element.width < 64 else (
                b.cast_unsigned(value, element) if unsigned else b.cast(value, element))
        return b.cast(value, element)

    if a.mode == "nearest":
        def body(b, i, r, reads):
            at = [ax.nearest(b, i[k]) if ax.resized else i[k] for k, ax in enumerate(axes)]
            return finish(b, i, reads[0][tuple(at)])
        return [compute(kb, out.shape, element, [x], body, name=name_of(op))]

    current = x
    for k, ax in enumerate(axes):
        if not ax.resized:
            continue
        shape[k] = ax.size

        def body(b, i, r, reads, k=k, ax=ax):
            xk = ax.coordinate(b, i[k])
            weights = ax.weights(b, xk)
            weight = weights[-1]
            for j in reversed(range(len(weights) - 1)):
                weight = b.select(b.eq(r[0], j), weights[j], weight)
            at = list(i)
            at[k] = ax.clamp(b, ax.tap(b, xk, r[0]))
            return b.mul(_to_f64(b, reads[0][tuple(at)], unsigned), weight)
        current = compute(kb, shape, f64, [current], body, reduce=[ax.taps], combiner="sum")
    current_is_input = current is x

    def final(b, i, r, reads):
        v = reads[0][tuple(i)]
        return finish(b, i, _to_f64(b, v, unsigned) if current_is_input else v)
    return [compute(kb, out.shape, element, [current], final, name=name_of(op))]


def _to_f64(b, v, unsigned: bool):
    if v.type == f64:
        return v
    return b.cast_unsigned(v, f64) if unsigned and isinstance(v.type, IntegerType) else b.cast(v, f64)


# ---- grid_sample ---------------------------------------------------------------------------------

@lowers("graph.grid_sample")
def grid_sample(kb, op, inputs):
    """A sum over every combination of taps (one flat reduction axis, the combinations in the
    reference's row-major order) of x at the taps times the product of their weights, in
    f64; the coordinates are denormalised in the grid's precision as the reference does."""
    x, grid = inputs
    a = _attrs(op)
    out = out_type(op)
    dims = x.type.shape[2:]
    r = len(dims)
    taps = {"nearest": 1, "linear": 2, "cubic": 4}[a.mode]
    g_element = grid.type.element_type

    def axis_taps(b, c, dim, j):
        """(tap index clamped into the axis, weight) of tap j (an index value) at coordinate c."""
        lo, hi = (0.0, dim - 1.0) if a.align_corners else (-0.5, dim - 0.5)
        if a.mode == "nearest":
            c = b.math("roundeven", c)
        if a.padding_mode == "border" and a.mode != "cubic":
            c = b.select(b.or_(b.lt(c, lo), b.gt(c, hi)), b.clamp(c, 0.0, float(dim - 1)), c)
        elif a.padding_mode == "reflection":
            c = _reflect(b, c, lo, hi)
        if a.mode == "nearest":
            tap, weight = b.cast(b.math("trunc", c), index), b.const(1.0, f64)
        else:
            base = b.math("floor", c)
            t = b.sub(c, base)
            if a.mode == "linear":
                weights = [b.sub(1.0, t), t]
                first = b.cast(base, index)
            else:
                weights = [_cubic(b, d, -0.75) for d in (b.add(t, 1.0), t, b.sub(1.0, t), b.sub(2.0, t))]
                first = b.index_add(b.cast(base, index), -1)
            weight = weights[-1]
            for k in reversed(range(len(weights) - 1)):
                weight = b.select(b.eq(j, k), weights[k], weight)
            tap = b.add(first, j)
        if a.padding_mode == "zeros":
            weight = b.select(b.in_bounds(tap, 0, dim), weight, 0.0)
        elif a.padding_mode == "reflection":
            tap = b.cast(b.math("trunc", _reflect(b, b.cast(tap, f64), lo, hi)), index)
        return b.clamp(tap, 0, dim - 1), weight

    def body(b, i, red, reads):
        xr, gr = reads
        n, channel, spatial = i[0], i[1], i[2:]
        combo = _unflatten(b, red[0], [taps] * r) if taps > 1 else [b.index(0)] * r
        at, weight = [n, channel], None
        for k, dim in enumerate(dims):
            g = gr[(n, *spatial, r - 1 - k)]
            if a.align_corners:
                c = b.mul(b.div(b.add(g, 1.0), 2.0), float(dim - 1))
            else:
                c = b.div(b.sub(b.mul(b.add(g, 1.0), float(dim)), 1.0), 2.0)
            tap, w = axis_taps(b, b.cast(c, f64) if g_element != f64 else c, dim, combo[k])
            at.append(tap)
            weight = w if weight is None else b.mul(weight, w)
        return b.mul(b.cast(xr[tuple(at)], f64), weight)
    total = compute(kb, out.shape, f64, [x, grid], body, reduce=[taps ** r], combiner="sum",
                    name=name_of(op) if out.element_type == f64 else None)
    if out.element_type == f64:
        return [total]
    return [compute(kb, out.shape, out.element_type, [total],
                    lambda b, i, red, reads: b.cast(reads[0][tuple(i)], out.element_type), name=name_of(op))]


def _reflect(b, c, lo: float, hi: float):
    """The reference's reflection of an f64 coordinate into [lo, hi] by the nearer border."""
    span = hi - lo
    if span <= 0:
        return b.const(lo, f64)
    below, above = b.lt(c, lo), b.gt(c, hi)
    dx = b.select(below, b.sub(lo, c), b.sub(c, hi))
    n = b.math("trunc", b.div(dx, span))
    rest = b.sub(dx, b.mul(n, span))
    even = b.eq(b.mod(n, 2.0), 0.0)
    low_side, high_side = b.add(lo, rest), b.sub(hi, rest)
    inside = b.select(below, b.select(even, low_side, high_side), b.select(even, high_side, low_side))
    return b.select(b.or_(below, above), inside, c)


# ---- top_k --------------------------------------------------------------------------------------

@lowers("graph.top_k")
def top_k(kb, op, inputs):
    """A sort without sorting: the rank of element i along the axis counts the elements
    that come before it (greater — or smaller with largest=0 — or equal at a lower index;
    NaN is the greatest, as in numpy's sort); output j is the element whose rank is j.
    Three computes, quadratic in the axis length."""
    (x,) = inputs
    a = _attrs(op)
    values_type, indices_type = out_type(op, 0), out_type(op, 1)
    rank = len(x.type.shape)
    axis = a.axis % rank
    n = x.type.shape[axis]
    element = x.type.element_type
    bias = -(1 << (element.width - 1)) if is_unsigned(op.operands[0]) else 0

    def key(b, v):
        return b.add(v, bias) if bias else v

    def before(b, u, v):
        """Whether u sorts strictly before v (ignoring position)."""
        if a.largest:
            u, v = v, u
        less = b.lt(u, v)
        if isinstance(element, FloatType):
            less = b.or_(less, b.and_(b.ne(v, v), b.eq(u, u)))   # NaN sorts last
        return less

    def same(b, u, v):
        if isinstance(element, FloatType):
            return b.or_(b.eq(u, v), b.and_(b.ne(u, u), b.ne(v, v)))
        return b.eq(u, v)

    def rank_body(b, i, r, reads):
        other = list(i)
        other[axis] = r[0]
        u, v = key(b, reads[0][tuple(other)]), key(b, reads[0][tuple(i)])
        first = b.or_(before(b, u, v), b.and_(same(b, u, v), b.lt(r[0], i[axis])))
        return b.select(first, b.const(1, i64), b.const(0, i64))
    ranks = compute(kb, x.type.shape, i64, [x], rank_body, reduce=[n], combiner="sum")

    def index_body(b, i, r, reads):
        at = list(i)
        at[axis] = r[0]
        hit = b.eq(reads[0][tuple(at)], b.cast(i[axis], i64))
        return b.select(hit, b.cast(r[0], i64), -1)
    indices = compute(kb, indices_type.shape, i64, [ranks], index_body, reduce=[n], combiner="max",
                      name=name_of(op, 1))

    def value_body(b, i, r, reads):
        at = list(i)
        at[axis] = b.clamp(b.cast(reads[1][tuple(i)], index), 0, max(n - 1, 0))
        return reads[0][tuple(at)]
    values = compute(kb, values_type.shape, values_type.element_type, [x, indices], value_body,
                     name=name_of(op, 0))
    return [values, indices]
