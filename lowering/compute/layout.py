"""graph -> te: blocked layouts (dialects/graph/layout.py) — the copy a layout_transform is,
and the convolution over channel blocks.

A blocked convolution's reads are affine in its loop indices: with input blocks of b
channels the reduction over input channels is two axes (block, lane), so the input is read
at `[n, cb, oh*s + kh, ow*s + kw, ci]` and the weights at `[mb, cb*b + ci, kh, kw, lane]`;
no division or remainder is left in the inner loops. The default schedule then vectorises
the output's lane axis (whole vectors of output channels, stored contiguously) and makes
the output positions the tile's rows."""

from __future__ import annotations

from descend.dialects.graph.layout import block_of, parse_layout
from descend.dialects.te.builder import compute

from . import name_of, out_type
from .elementwise import attrs
from .nn import _geometry, _lowers, _map, _tap, _work_type, _zero_pad
from .shape import copy_compute


@_lowers("graph.layout_transform")
def layout_transform(kb, op, inputs):
    """out[dst index] = x[src index]: each whole axis's coordinate (block * size + lane) is
    rebuilt from the output's indices and split again as the source lays it out."""
    a = attrs(op)
    src, dst = parse_layout(a.src_layout), parse_layout(a.dst_layout)

    def where_from(b, i, reads):
        coordinate = {}   # letter -> (outer index, lane index or None, lanes) in dst
        for position, (letter, block) in enumerate(dst):
            outer, lane, lanes = coordinate.get(letter, (None, None, 1))
            if block is None:
                outer = i[position]
            else:
                lane, lanes = i[position], block
            coordinate[letter] = (outer, lane, lanes)
        indices = []
        for letter, block in src:
            outer, lane, lanes = coordinate[letter]
            inner = block_of(src, letter)
            if inner == lanes:   # blocked alike: the indices carry over
                indices.append(outer if block is None else (lane if lane is not None else b.index(0)))
                continue
            whole = outer if lane is None else b.index_add(b.index_mul(outer, lanes), lane)
            if block is None:
                indices.append(whole if inner == 1 else b.floordiv(whole, b.index(inner)))
            else:
                indices.append(b.mod(whole, b.index(inner)))
        return indices
    return [copy_compute(kb, op, inputs, where_from)]


@_lowers("graph.conv_nchwc")
def conv_nchwc(kb, op, inputs):
    """y[n, mb, oh, ow, l] = sum over input channels and taps of xp * w, + bias[mb*bo + l]:
    the reduction axes are (input block, input lane, kh, kw) for a dense convolution over
    blocked input, (channel, kh, kw) otherwise; a depthwise convolution whose input and
    output blocks agree reads its own lane of the input (no channel arithmetic at all)."""
    a = attrs(op)
    x, w = inputs[:2]
    out = out_type(op)
    element = out.element_type
    work = _work_type(element)
    strides, pads, dilations = _geometry(a, 2)
    group = a.group
    blocked = len(x.type.shape) == 5
    bi = x.type.shape[4] if blocked else 1
    channels = x.type.shape[1] * bi
    _, per_group, kh, kw, bo = w.type.shape
    m_total = w.type.shape[0] * bo
    depthwise = group > 1 and group == channels == m_total
    split = blocked and group == 1
    xp = _zero_pad(kb, x, pads, 2)

    def body(b, i, r, reads):
        xr, wr = reads
        n, mb, oh, ow, lane = i
        taps = r[-2:]
        hw = [_tap(b, o, k, s, d, 0) for o, k, s, d in zip((oh, ow), taps, strides, dilations)]
        if split:
            cb, ci = r[0], r[1]
            value = xr[(n, cb, *hw, ci)]
            c = b.index_add(b.index_mul(cb, bi), ci)
        elif depthwise and bi == bo:
            value = xr[(n, mb, *hw, lane)]
            c = r[0]
        else:
            m = b.index_add(b.index_mul(mb, bo), lane)
            if group == 1:
                channel = r[0]
            elif depthwise:
                channel = m
            else:
                first = b.index_mul(b.floordiv(m, b.index(m_total // group)), per_group)
                channel = b.index_add(first, r[0])
            if blocked:
                value = xr[(n, b.floordiv(channel, b.index(bi)), *hw, b.mod(channel, b.index(bi)))]
            else:
                value = xr[(n, channel, *hw)]
            c = r[0]
        return b.mul(b.cast(value, work), b.cast(wr[(mb, c, *taps, lane)], work))

    reduce = (channels // bi, bi, kh, kw) if split else (per_group, kh, kw)
    has_bias = len(inputs) > 2
    final = not has_bias and work == element
    y = compute(kb, out.shape, work, [xp, w], body, reduce=reduce, combiner="sum",
                name=name_of(op) if final else None)
    if final:
        return [y]
    bias = inputs[2] if has_bias else None

    def finish(b, i, reads):
        value = reads[0][tuple(i)]
        if bias is not None:
            value = b.add(value, b.cast(reads[1][b.index_add(b.index_mul(i[1], bo), i[4])], work))
        return b.cast(value, element)
    return [_map(kb, out.shape, element, [y] + ([bias] if bias is not None else []), finish, name=name_of(op))]

