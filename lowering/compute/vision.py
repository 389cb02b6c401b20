"""graph -> te: compute builders of the vision ops (dialects/graph/vision.py) — RoI align,
affine grids, col2im, max-unpool, deformable convolution, rotary embedding, determinants.

Numerics follow the references: what they compute in f64 (`_work`) is computed in f64 in
the bodies and rounded once by the last compute; RoI align's sample positions are in the
rois' precision (f32 at least) as the reference's, its weights in f64. Scatters are computes
over the output: col2im sums, for each image position, the block taps that land on it;
max-unpool finds the last input element whose index names the position. A determinant is
LU with partial pivoting, a chain of computes per pivot step (the pivot's value, its row,
the eliminated matrix), then sign * exp(sum log |u_kk|) as numpy's det.

RoI align with an adaptive sampling ratio (0) is declined: its sample count depends on
each roi's size, so no static reduction covers it."""

from __future__ import annotations

import math

from descend.dialects.graph import Attrs
from descend.dialects.te.builder import compute
from descend.ir import f32, f64, i64, index

from . import is_unsigned, lowers, name_of, out_type
from .elementwise import convert
from .indexing import index_value, read_index, wrapped
from .shape import delinearize, linearize, zero


def _attrs(op) -> Attrs:
    return Attrs(type(op), op.properties)


def _name(op, suffix: str) -> str | None:
    """The name of an intermediate compute: `y.suffix` after the op's result `y`."""
    base = name_of(op)
    return f"{base}.{suffix}" if base else None


def _to_f64(b, v):
    return convert(b, v, f64)


def _rounded(kb, op, total, fn=None):
    """The op's result from an f64 compute: fn(b, value, i) (default the value) rounded to
    the result type."""
    out = out_type(op)

    def body(b, i, r, reads):
        v = reads[0][tuple(i)]
        return convert(b, fn(b, v, i) if fn else v, out.element_type)
    return compute(kb, out.shape, out.element_type, [total], body, name=name_of(op))


# ---- RoI align ----------------------------------------------------------------------------------

@lowers("graph.roi_align")
def roi_align(kb, op, inputs):
    """An f64 sum (or max) over the sampling grid of each bin, then / count and rounding."""
    x, rois, batch_indices = inputs
    a = _attrs(op)
    if a.sampling_ratio <= 0:
        raise op.error("with an adaptive sampling_ratio (0) cannot be lowered to te: its sample "
                       "count depends on each roi's size")
    out = out_type(op)
    _, _, height, width = x.type.shape
    grid = a.sampling_ratio
    coords = f64 if rois.type.element_type == f64 else f32
    unsigned = is_unsigned(op.operands[2])

    def axis(b, roi_reader, r, p, s, lo_col: int, hi_col: int, bins: int, size: int):
        """(low, high, low weight, high weight) of sample s of bin p along one axis."""
        scale, shift = b.const(a.spatial_scale, coords), 0.5 if a.half_pixel else 0.0
        start = b.sub(b.mul(convert(b, roi_reader[r, lo_col], coords), scale), shift)
        end = b.sub(b.mul(convert(b, roi_reader[r, hi_col], coords), scale), shift)
        extent = b.sub(end, start)
        if not a.half_pixel:
            extent = b.max(extent, 1.0)
        bin_size = b.div(extent, float(bins))
        offset = b.div(b.mul(b.add(b.cast(s, coords), 0.5), bin_size), float(grid))
        c = b.add(b.add(start, b.mul(b.cast(p, coords), bin_size)), offset)
        outside = b.or_(b.lt(c, -1.0), b.gt(c, float(size)))
        c = b.max(c, 0.0)
        low = b.cast(b.math("floor", c), index)
        edge = b.ge(low, size - 1)
        low = b.select(edge, size - 1, low)
        high = b.select(edge, size - 1, b.index_add(low, 1))
        low = b.clamp(low, 0, size - 1)   # a NaN coordinate casts to anything
        high = b.clamp(high, 0, size - 1)
        position = b.select(edge, b.cast(low, f64), _to_f64(b, c))
        frac = b.sub(position, b.cast(low, f64))
        return low, high, b.select(outside, 0.0, b.sub(1.0, frac)), b.select(outside, 0.0, frac)

    def body(b, i, red, reads):
        xr, rr, ir = reads
        r, channel, ph, pw = i
        n = read_index(b, ir, [r], x.type.shape[0], unsigned)
        y_lo, y_hi, wy_lo, wy_hi = axis(b, rr, r, ph, red[0], 1, 3, a.output_height, height)
        x_lo, x_hi, wx_lo, wx_hi = axis(b, rr, r, pw, red[1], 0, 2, a.output_width, width)
        corners = [b.mul(_to_f64(b, xr[n, channel, ya, xa]), b.mul(wya, wxa))
                   for ya, wya in ((y_lo, wy_lo), (y_hi, wy_hi)) for xa, wxa in ((x_lo, wx_lo), (x_hi, wx_hi))]
        if a.mode == "avg":
            value = corners[0]
            for c in corners[1:]:
                value = b.add(value, c)
            return value
        value = corners[0]
        for c in corners[1:]:
            value = b.max(value, c)
        return value
    total = compute(kb, out.shape, f64, inputs, body, reduce=[grid, grid],
                    combiner="sum" if a.mode == "avg" else "max", name=_name(op, "samples"))
    if a.mode == "avg":
        return [_rounded(kb, op, total, lambda b, v, i: b.div(v, float(grid * grid)))]
    return [_rounded(kb, op, total)]


# ---- affine grid ----------------------------------------------------------------------------------

@lowers("graph.affine_grid")
def affine_grid(kb, op, inputs):
    """grid[n, *p, i] = sum_j point_j * theta[n, i, j] in f64 (x, y[, z], 1 the normalised
    coordinates of pixel p: numpy's linspace(-1, 1) when align_corners, else (2p + 1) / n - 1)."""
    (theta,) = inputs
    a = _attrs(op)
    out = out_type(op)
    spatial = [int(s) for s in a.size[2:]]
    k = len(spatial)

    def coordinate(b, p, n: int):
        if a.align_corners:
            if n == 1:
                return b.const(-1.0, f64)
            v = b.add(b.mul(b.cast(p, f64), 2.0 / (n - 1)), -1.0)
            return b.select(b.eq(p, n - 1), 1.0, v)
        return b.sub(b.div(b.cast(b.index_add(b.index_mul(p, 2), 1), f64), float(n)), 1.0)

    def body(b, i, r, reads):
        n, positions, row = i[0], i[1:-1], i[-1]
        # x first: the last spatial axis
        points = [coordinate(b, p, size) for p, size in zip(reversed(positions), reversed(spatial))]
        total = None
        for j, point in enumerate(points):
            term = b.mul(point, _to_f64(b, reads[0][n, row, j]))
            total = term if total is None else b.add(total, term)
        total = b.add(total, _to_f64(b, reads[0][n, row, k]))
        return convert(b, total, out.element_type)
    return [compute(kb, out.shape, out.element_type, [theta], body, name=name_of(op))]


# ---- col2im and max-unpool --------------------------------------------------------------------------

@lowers("graph.col2im")
def col2im(kb, op, inputs):
    """out[n, c, *p] = sum over block offsets o of x[n, c * |block| + o, count] where block
    position `count` places tap o on p (p = count * stride - pad + o * dilation)."""
    (x,) = inputs
    a = _attrs(op)
    from descend.dialects.graph.vision import Col2ImOp
    image, block = [int(v) for v in a.image_shape], [int(v) for v in a.block_shape]
    dilations, pads, strides, counts = Col2ImOp.geometry(image, block, a.dilations, a.pads, a.strides)
    out = out_type(op)
    per_block = math.prod(block)

    def body(b, i, r, reads):
        n, channel, position = i[0], i[1], i[2:]
        inside, places = None, []
        for k, p in enumerate(position):
            shifted = b.sub(b.index_add(p, pads[k]), b.index_mul(r[k], dilations[k]))
            tests = [b.ge(shifted, 0)]
            if strides[k] > 1:
                tests.append(b.eq(b.mod(b.max(shifted, 0), strides[k]), 0))
            place = b.floordiv(b.max(shifted, 0), strides[k]) if strides[k] > 1 else b.max(shifted, 0)
            tests.append(b.lt(place, counts[k]))
            for t in tests:
                inside = t if inside is None else b.and_(inside, t)
            places.append(b.min(place, counts[k] - 1))
        row = b.index_add(b.index_mul(channel, per_block), linearize(b, r, block))
        value = reads[0][n, row, linearize(b, places, counts)]
        return b.select(inside, value, zero(b, out.element_type))
    return [compute(kb, out.shape, out.element_type, [x], body, reduce=block, combiner="sum",
                    name=name_of(op))]


@lowers("graph.max_unpool")
def max_unpool(kb, op, inputs):
    """Zeros with x written at its indices: the last x element naming each position (as
    numpy's assignment), found by a max over the x positions, then read."""
    x, indices = inputs
    out = out_type(op)
    total = math.prod(out.shape)
    count = math.prod(x.type.shape)
    unsigned = is_unsigned(op.operands[1])
    source = tuple(x.type.shape)

    def last(b, i, r, reads):
        at = delinearize(b, r[0], source)
        target = index_value(b, reads[0][tuple(at)], unsigned)
        if not unsigned:
            target = wrapped(b, target, total)
        hit = b.eq(target, linearize(b, i, out.shape))
        return b.select(hit, b.cast(b.index_add(r[0], 1), i64), 0)
    # 1 + the last x element written at each position, 0 where none is
    winner = compute(kb, out.shape, i64, [indices], last, reduce=[count], combiner="max", init=0,
                     name=_name(op, "source"))

    def pick(b, i, r, reads):
        w, xr = reads
        chosen = b.index_add(b.cast(w[tuple(i)], index), -1)
        value = xr[tuple(delinearize(b, b.max(chosen, 0), source))]
        return b.select(b.ge(chosen, 0), value, zero(b, out.element_type))
    return [compute(kb, out.shape, out.element_type, [winner, x], pick, name=name_of(op))]


# ---- deformable convolution -----------------------------------------------------------------------

@lowers("graph.deform_conv")
def deform_conv(kb, op, inputs):
    """A sum over (input channel of the group, kh, kw) in f64 of the bilinear sample at the
    moved tap (the four neighbours in the reference's order, each 0 outside x) times the
    weight; then + bias, rounded."""
    x, w, offset, bias = inputs[:4]
    mask = inputs[4] if len(inputs) > 4 else None
    a = _attrs(op)
    out = out_type(op)
    n, channels, height, width = x.type.shape
    oc, icg, kh, kw = w.type.shape
    group, og = a.group, a.offset_group
    ocg, per_group = oc // group, channels // og
    (sh, sw), (dh, dw), pads = a.strides, a.dilations, a.pads

    def body(b, i, r, reads):
        xr, wr, offr = reads[:3]
        batch, o, y, xo = i
        c_in, ki, kj = r
        channel = b.index_add(b.index_mul(b.floordiv(o, ocg), icg), c_in)
        g = b.floordiv(channel, per_group)
        tap = b.index_add(b.index_mul(b.index_add(b.index_mul(g, kh), ki), kw), kj)
        off_y = _to_f64(b, offr[batch, b.index_mul(tap, 2), y, xo])
        off_x = _to_f64(b, offr[batch, b.index_add(b.index_mul(tap, 2), 1), y, xo])
        ys = b.add(b.cast(b.index_add(b.index_add(b.index_mul(ki, dh), b.index_mul(y, sh)), -pads[0]), f64), off_y)
        xs = b.add(b.cast(b.index_add(b.index_add(b.index_mul(kj, dw), b.index_mul(xo, sw)), -pads[1]), f64), off_x)
        m = _to_f64(b, reads[3][batch, tap, y, xo]) if mask is not None else None
        y0, x0 = b.math("floor", ys), b.math("floor", xs)
        sampled = None
        for yy in (y0, b.add(y0, 1.0)):
            for xx in (x0, b.add(x0, 1.0)):
                weight = b.mul(b.sub(1.0, b.abs(b.sub(ys, yy))), b.sub(1.0, b.abs(b.sub(xs, xx))))
                if m is not None:
                    weight = b.mul(weight, m)
                inside = b.and_(b.and_(b.ge(yy, 0.0), b.lt(yy, float(height))),
                                b.and_(b.ge(xx, 0.0), b.lt(xx, float(width))))
                weight = b.select(inside, weight, 0.0)
                yi = b.cast(b.clamp(yy, 0.0, float(height - 1)), index)
                xi = b.cast(b.clamp(xx, 0.0, float(width - 1)), index)
                yi, xi = b.clamp(yi, 0, height - 1), b.clamp(xi, 0, width - 1)   # NaN-safe reads
                term = b.mul(_to_f64(b, xr[batch, channel, yi, xi]), weight)
                sampled = term if sampled is None else b.add(sampled, term)
        return b.mul(sampled, _to_f64(b, wr[o, c_in, ki, kj]))
    total = compute(kb, out.shape, f64, [x, w, offset] + ([mask] if mask is not None else []), body,
                    reduce=[icg, kh, kw], combiner="sum", name=_name(op, "sum"))

    def add_bias(b, i, r, reads):
        return convert(b, b.add(reads[0][tuple(i)], _to_f64(b, reads[1][i[1]])), out.element_type)
    return [compute(kb, out.shape, out.element_type, [total, bias], add_bias, name=name_of(op))]


# ---- rotary embedding -------------------------------------------------------------------------------

@lowers("graph.rotary_embedding")
def rotary_embedding(kb, op, inputs):
    """Each rotated feature pairs with its partner (the other half, or the neighbour when
    interleaved): cos * x1 - sin * x2 for the first of a pair, sin * x1 + cos * x2 for the
    second, in x's type as the reference."""
    x, cos_cache, sin_cache = inputs[:3]
    positions = inputs[3] if len(inputs) > 3 else None
    a = _attrs(op)
    out = out_type(op)
    shape = tuple(x.type.shape)
    head = shape[3] if len(shape) == 4 else shape[2] // a.num_heads
    dim = a.rotary_embedding_dim or head
    half = dim // 2
    unsigned = is_unsigned(op.operands[3]) if positions is not None else False

    def body(b, i, r, reads):
        xr, cr, sr = reads[:3]
        if len(shape) == 4:
            batch, seq, feature = i[0], i[2], i[3]

            def at(f):
                return (i[0], i[1], i[2], f)
        else:
            batch, seq = i[0], i[1]
            head_index = b.floordiv(i[2], head)
            feature = b.mod(i[2], head)

            def at(f):
                return (i[0], i[1], b.index_add(b.index_mul(head_index, head), f))
        if a.interleaved:
            pair, second = b.floordiv(feature, 2), b.eq(b.mod(feature, 2), 1)
            first_at, second_at = b.index_mul(pair, 2), b.index_add(b.index_mul(pair, 2), 1)
        else:
            second = b.ge(feature, half)
            pair = b.select(second, b.index_add(feature, -half), feature)
            first_at, second_at = pair, b.index_add(pair, half)
        rotated = b.lt(feature, dim)
        pair = b.clamp(pair, 0, half - 1)
        first_at, second_at = b.clamp(first_at, 0, dim - 1), b.clamp(second_at, 0, dim - 1)
        if positions is not None:
            row = read_index(b, reads[3], [batch, seq], cos_cache.type.shape[0], unsigned)
            cos, sin = cr[row, pair], sr[row, pair]
        else:
            cos, sin = cr[batch, seq, pair], sr[batch, seq, pair]
        x1, x2 = xr[at(first_at)], xr[at(second_at)]
        real = b.sub(b.mul(cos, x1), b.mul(sin, x2))
        imag = b.add(b.mul(sin, x1), b.mul(cos, x2))
        return b.select(rotated, b.select(second, imag, real), xr[tuple(i)])
    return [compute(kb, out.shape, out.element_type, inputs, body, name=name_of(op))]


# ---- determinant ------------------------------------------------------------------------------------

@lowers("graph.det")
def det(kb, op, inputs):
    """LU with partial pivoting in f64, one pivot step at a time: |a[i, k]| maximised over
    the rows i >= k, the first row reaching it, then the matrix with rows k and p swapped
    and the rows below k eliminated (a zero pivot eliminates nothing: the matrix is
    singular, its diagonal holds the zero). det = sign * exp(sum log |u_kk|)."""
    (x,) = inputs
    out = out_type(op)
    batch = tuple(x.type.shape[:-2])
    size = x.type.shape[-1]
    nb = len(batch)
    name = name_of(op)
    if size == 0:
        return [compute(kb, out.shape, out.element_type, [], lambda b, i, r, reads: 1.0, name=name)]
    matrix = compute(kb, (*batch, size, size), f64, [x],
                     lambda b, i, r, reads: _to_f64(b, reads[0][tuple(i)]), name=_name(op, "lu"))
    pivots = []
    for k in range(size - 1):
        def magnitude(b, i, r, reads, k=k):
            v = b.abs(reads[0][(*i, r[0], k)])
            return b.select(b.ge(r[0], k), v, -math.inf)
        largest = compute(kb, batch, f64, [matrix], magnitude, reduce=[size], combiner="max",
                          name=_name(op, f"pivot{k}"))

        def first_row(b, i, r, reads, k=k):
            v = b.abs(reads[0][(*i, r[0], k)])
            hit = b.and_(b.ge(r[0], k), b.eq(v, reads[1][tuple(i)]))
            return b.select(hit, b.cast(r[0], i64), size)
        row = compute(kb, batch, i64, [matrix, largest], first_row, reduce=[size], combiner="min",
                      name=_name(op, f"row{k}"))

        def eliminate(b, i, r, reads, k=k):
            a_, p_ = reads
            at, row_i, col = i[:nb], i[nb], i[nb + 1]
            # NaN columns have no pivot row: stay
            p = b.clamp(b.cast(p_[tuple(at)], index), 0, size - 1)
            source = b.select(b.eq(row_i, k), p, b.select(b.eq(row_i, p), k, row_i))
            v = a_[(*at, source, col)]
            pivot = a_[(*at, p, k)]
            factor = b.div(a_[(*at, source, k)], pivot)
            factor = b.select(b.eq(pivot, 0.0), 0.0, factor)
            below = b.sub(v, b.mul(factor, a_[(*at, p, col)]))
            return b.select(b.gt(row_i, k), below, v)
        matrix = compute(kb, (*batch, size, size), f64, [matrix, row], eliminate, reduce=[1],
                         combiner="prod", name=_name(op, f"lu{k}"))
        pivots.append(row)

    def logdet(b, i, r, reads):
        return b.math("log", b.abs(reads[0][(*i, r[0], r[0])]))
    log_total = compute(kb, batch, f64, [matrix], logdet, reduce=[size], combiner="sum", name=_name(op, "log"))

    def sign_of(b, i, r, reads):
        u = reads[0][(*i, r[0], r[0])]
        return b.select(b.lt(u, 0.0), -1.0, b.select(b.gt(u, 0.0), 1.0, b.select(b.ne(u, u), u, 0.0)))
    diagonal_sign = compute(kb, batch, f64, [matrix], sign_of, reduce=[size], combiner="prod",
                            name=_name(op, "sign"))

    def result(b, i, r, reads):
        sign = reads[1][tuple(i)]
        for k, p in enumerate(reads[2:]):
            sign = b.select(b.eq(p[tuple(i)], k), sign, b.neg(sign))
        return convert(b, b.mul(sign, b.exp(reads[0][tuple(i)])), out.element_type)
    return [compute(kb, out.shape, out.element_type, [log_total, diagonal_sign, *pivots], result, name=name)]
