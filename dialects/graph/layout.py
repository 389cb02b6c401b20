"""graph: blocked data layouts — `graph.layout_transform` between layouts named by TVM's
layout strings, and `graph.conv_nchwc`, a 2-D convolution whose activations are in
channel blocks (NCHW8c: `[N, C/8, H, W, 8]`).

Why blocks: in NCHW a vector of output channels is a strided scatter and a window's rows
are short (7, 14, 28 positions do not fill 8-lane vectors); with the channels blocked by
the vector width every convolution, depthwise ones included, reads and writes whole
vectors of channels, and a chain of convolutions (with the elementwise ops between them)
stays blocked, re-laid out only where the chain starts and ends. This is ONNX Runtime's
NCHWc transformer and TVM's `contrib_conv2d_NCHWc` with AlterOpLayout;
rewrites/transforms/nchwc_layout.py is the pass that introduces them.

A layout string names axes in order: an upper-case letter is a whole (primal) axis, a
number and a lower-case letter a block of that axis, innermost at its position:
"NCHW8c" is N, C/8, H, W, then 8 channels. A primal axis has at most one block."""

from __future__ import annotations

import re

import numpy as np

from descend.ir import TensorType, operand, result

from .base import GraphOp, Kind, ShapeError, same_elements, shape_text, string, tensor
from .nn import Convolution, _compute, _conv, _floats_only, _list, _window_out, _window_params

_TOKEN = re.compile(r"([A-Z])|([1-9][0-9]*)([a-z])")


def parse_layout(layout: str) -> list[tuple[str, int | None]]:
    """"NCHW8c" -> [("N", None), ("C", None), ("H", None), ("W", None), ("C", 8)]: each axis
    as its primal letter and its block size (None for the primal axis itself)."""
    axes, at = [], 0
    while at < len(layout):
        match = _TOKEN.match(layout, at)
        if match is None:
            raise ShapeError(f"layout '{layout}': cannot read '{layout[at:]}' (axes are upper-case "
                             "letters, blocks a number and a lower-case letter: NCHW8c)")
        if match.group(1):
            axes.append((match.group(1), None))
        else:
            axes.append((match.group(3).upper(), int(match.group(2))))
        at = match.end()
    primal = [a for a, block in axes if block is None]
    blocked = [a for a, block in axes if block is not None]
    if len(set(primal)) != len(primal) or len(set(blocked)) != len(blocked):
        raise ShapeError(f"layout '{layout}' names an axis or a block twice")
    if set(blocked) - set(primal):
        raise ShapeError(f"layout '{layout}' blocks an axis it does not name: "
                         f"{''.join(sorted(set(blocked) - set(primal))).lower()}")
    return axes


def block_of(axes, letter: str) -> int:
    """The block size of primal axis `letter` in a parsed layout (1 when not blocked)."""
    return next((block for a, block in axes if a == letter and block is not None), 1)


def primal_sizes(axes, shape, layout: str = "") -> dict[str, int]:
    """{letter: size} of the whole axes of `shape` laid out as `axes`."""
    if len(shape) != len(axes):
        raise ShapeError(f"layout '{layout}' has {len(axes)} axes, the tensor [{shape_text(shape)}] "
                         f"has {len(shape)}")
    sizes = {}
    for (letter, block), size in zip(axes, shape):
        if block is not None and size != block:
            raise ShapeError(f"layout '{layout}' has blocks of {block} {letter.lower()}, "
                             f"the tensor [{shape_text(shape)}] has {size}")
        if block is None:
            sizes[letter] = size * block_of(axes, letter)
    return sizes


def layout_shape(axes, sizes: dict[str, int], layout: str = "") -> tuple[int, ...]:
    """The shape of a tensor with whole-axis `sizes` laid out as `axes`."""
    shape = []
    for letter, block in axes:
        if block is not None:
            shape.append(block)
            continue
        whole, inner = sizes[letter], block_of(axes, letter)
        if whole % inner:
            raise ShapeError(f"layout '{layout}': axis {letter} of {whole} does not divide into blocks "
                             f"of {inner}")
        shape.append(whole // inner)
    return tuple(shape)


def relayout(x: np.ndarray, src: str, dst: str) -> np.ndarray:
    """x (laid out as `src`) laid out as `dst`: blocks merged into their axes, then split again
    and the axes permuted; the reference of graph.layout_transform."""
    src_axes, dst_axes = parse_layout(src), parse_layout(dst)
    x = np.asarray(x)
    sizes = primal_sizes(src_axes, x.shape, src)
    letters = [a for a, block in src_axes if block is None]
    order = []  # each primal axis followed by its block: merging them is a reshape
    for letter in letters:
        order.append(src_axes.index((letter, None)))
        order += [k for k, (a, block) in enumerate(src_axes) if a == letter and block is not None]
    whole = x.transpose(order).reshape([sizes[a] for a in letters])
    split, names = [], []
    for letter in letters:
        inner = block_of(dst_axes, letter)
        split += [sizes[letter] // inner] + ([inner] if inner > 1 or (letter, 1) in dst_axes else [])
        names += [(letter, None)] + ([(letter, inner)] if inner > 1 or (letter, 1) in dst_axes else [])
    whole = whole.reshape(split)
    return whole.transpose([names.index(axis) for axis in dst_axes])


class LayoutTransformOp(GraphOp):
    """x laid out as `src_layout` re-laid out as `dst_layout` (TVM's layout_transform):
    NCHW -> NCHW8c is reshape [N, C/8, 8, H, W] and transpose to [N, C/8, H, W, 8]. Both
    layouts name the same axes; a blocked axis must divide into its blocks."""

    name = "graph.layout_transform"
    x = operand(TensorType)
    y = result(TensorType)
    src_layout = string(doc="the layout of x, e.g. NCHW")
    dst_layout = string(doc="the layout of the result, e.g. NCHW8c")
    kind = Kind.INJECTIVE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        src, dst = parse_layout(attrs.src_layout), parse_layout(attrs.dst_layout)
        if sorted(a for a, b in src if b is None) != sorted(a for a, b in dst if b is None):
            raise ShapeError(f"layouts '{attrs.src_layout}' and '{attrs.dst_layout}' do not name the "
                             "same axes")
        sizes = primal_sizes(src, t.shape, attrs.src_layout)
        return [tensor(layout_shape(dst, sizes, attrs.dst_layout), t.element_type)]

    @staticmethod
    def reference(x, *, src_layout, dst_layout):
        return relayout(x, src_layout, dst_layout)


class ConvNCHWcOp(Convolution):
    """2-D convolution in channel blocks: x [N, C/b, H, W, b] (or plain [N, C, H, W], for a
    first layer of 3 channels), w [M/bo, C/group, KH, KW, bo] (OIHW with output channels
    blocked: layout OIHW8o), bias [M]; y [N, M/bo, OH, OW, bo]. The same numbers as
    graph.conv on the unblocked tensors (strides, pads, dilations, group as there)."""

    name = "graph.conv_nchwc"

    @classmethod
    def infer(cls, types, attrs):
        element = same_elements(types)
        _floats_only(types[0], "x")
        x, w = types[0].shape, types[1].shape
        if len(x) not in (4, 5) or len(w) != 5:
            raise ShapeError(f"needs x [N, C/b, H, W, b] or [N, C, H, W] and w [M/bo, C/group, KH, KW, bo], "
                             f"got [{shape_text(x)}] and [{shape_text(w)}]")
        channels = x[1] * x[4] if len(x) == 5 else x[1]
        group, outputs = attrs.group, w[0] * w[4]
        if group < 1 or channels != w[1] * group or outputs % group:
            raise ShapeError(f"x [{shape_text(x)}] has {channels} channels but w [{shape_text(w)}] with "
                             f"group {group} takes {w[1] * group} (and needs M={outputs} divisible by "
                             "the group)")
        if len(types) == 3 and types[2].shape != (outputs,):
            raise ShapeError(f"bias [{shape_text(types[2].shape)}] should be [{outputs}] for w "
                             f"[{shape_text(w)}]")
        strides, pads, dilations = _window_params(2, None, attrs.strides, attrs.pads, attrs.dilations)
        if any(p < 0 for p in pads):
            raise ShapeError(f"pads {pads} must not be negative")
        out = _window_out(x[2:4], w[2:4], strides, pads, dilations)
        return [tensor((x[0], w[0], *out, w[4]), element)]

    @staticmethod
    def reference(x, w, bias=None, *, strides=None, pads=None, dilations=None, group=1):
        strides, pads, dilations = _window_params(2, None, _list(strides), _list(pads), _list(dilations))
        x, w = _compute(x), _compute(w)
        plain = relayout(x, nchwc(x.shape[4]), "NCHW") if x.ndim == 5 else x
        weights = relayout(w, f"OIHW{w.shape[4]}o", "OIHW")
        y = _conv(plain, weights, bias, strides, pads, dilations, group)
        return relayout(y, "NCHW", nchwc(w.shape[4]))


def nchwc(block: int) -> str:
    """The blocked activation layout: "NCHW8c" for blocks of 8 channels."""
    return f"NCHW{block}c"


def is_blocked(layout: str) -> bool:
    return any(block is not None for _, block in parse_layout(layout))
