"""graph: neural-network ops — matrix products, convolutions and their transposes, pooling,
normalisations and softmaxes, in ONNX's NC[D]HW layout.

Window ops (conv, pools) share one geometry: `pads` lists every spatial begin then every
end (ONNX order), `dilations` spread the kernel taps, and an output axis has
floor((size + pads - ((kernel - 1) * dilation + 1)) / stride) + 1 positions (ceil with
`ceil_mode`, dropping a last window that would start in the end padding). References use
strided window views (im2col) and one matrix product, never a loop over elements."""

from __future__ import annotations

import math
import string as _string

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from descend.ir import TensorType, i64, operand, opt_operand, result, var_operand

from .base import (GraphOp, Kind, ShapeError, broadcast_shapes, float_, int_, ints, is_float,
                   normalize_axis, same_elements, shape_text, string, tensor)


# ---- shared helpers -------------------------------------------------------------------------

def _compute(x: np.ndarray) -> np.ndarray:
    """Half precision computes in f32 (as onnxruntime does); other types keep their dtype."""
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _native(x: np.ndarray, result_type) -> np.ndarray:
    """x in the result's own precision: bf16 (stored as f32) computes in bf16, as ONNX's
    numpy reference does, so products and softmaxes round where the reference rounds."""
    if result_type is not None and getattr(result_type.element_type, "name", None) == "bf16":
        import ml_dtypes
        return np.asarray(x).astype(ml_dtypes.bfloat16)
    return np.asarray(x)


def _floats_only(t, what: str = "operand") -> None:
    if not is_float(t):
        raise ShapeError(f"expects a float {what}, got {t}")


def _window_params(rank: int, kernel, strides, pads, dilations, what: str = "x"):
    """Defaults filled in and lengths checked: (strides, pads, dilations) as lists."""
    strides = list(strides) if strides else [1] * rank
    pads = list(pads) if pads else [0] * (2 * rank)
    dilations = list(dilations) if dilations else [1] * rank
    if len(strides) != rank or len(dilations) != rank or len(pads) != 2 * rank:
        raise ShapeError(f"{rank} spatial axes of {what} need {rank} strides, {rank} dilations and "
                         f"{2 * rank} pads, got strides {strides}, dilations {dilations}, pads {pads}")
    if kernel is not None and len(kernel) != rank:
        raise ShapeError(f"{rank} spatial axes of {what} need {rank} kernel sizes, got {list(kernel)}")
    if any(s < 1 for s in strides) or any(d < 1 for d in dilations):
        raise ShapeError(f"strides {strides} and dilations {dilations} must be positive")
    return strides, pads, dilations


def _window_out(shape, kernel, strides, pads, dilations, ceil_mode: int = 0) -> list[int]:
    """Output spatial sizes of a window op over spatial `shape`."""
    rank = len(shape)
    out = []
    for i in range(rank):
        extent = (kernel[i] - 1) * dilations[i] + 1
        span = shape[i] + pads[i] + pads[rank + i] - extent
        if span < 0:
            raise ShapeError(f"kernel [{shape_text(kernel)}] with dilations {list(dilations)} does not fit "
                             f"spatial shape [{shape_text(shape)}] padded by {list(pads)}")
        if ceil_mode:
            o = -(-span // strides[i]) + 1
            if (o - 1) * strides[i] >= shape[i] + pads[i]:
                o -= 1   # the last window would start in the end padding
        else:
            o = span // strides[i] + 1
        out.append(o)
    return out


def _pad_spatial(x: np.ndarray, begins, ends, fill) -> np.ndarray:
    """Pad (or, for negative amounts, crop) the trailing len(begins) axes of x."""
    lead = x.ndim - len(begins)
    crop = tuple([slice(None)] * lead + [slice(max(-b, 0), x.shape[lead + i] - max(-e, 0))
                                         for i, (b, e) in enumerate(zip(begins, ends))])
    x = x[crop]
    widths = [(0, 0)] * lead + [(max(b, 0), max(e, 0)) for b, e in zip(begins, ends)]
    if not any(w for pair in widths for w in pair):
        return x
    return np.pad(x, widths, constant_values=fill)


def _windows(x: np.ndarray, kernel, strides, pads, dilations, out, fill) -> np.ndarray:
    """A view (..., *out, *kernel) of x's windows: x padded by `fill`, and further at the
    end where ceil-mode windows reach past the padding."""
    rank = len(kernel)
    lead = x.ndim - rank
    extents = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    ends = [max(pads[rank + i], (out[i] - 1) * strides[i] + extents[i] - x.shape[lead + i] - pads[i])
            for i in range(rank)]
    xp = _pad_spatial(x, pads[:rank], ends, fill)
    view = sliding_window_view(xp, extents, axis=tuple(range(lead, x.ndim)))
    pick = ([slice(None)] * lead + [slice(0, o * s, s) for o, s in zip(out, strides)]
            + [slice(None, None, d) for d in dilations])
    return view[tuple(pick)]


def _conv(x, w, bias, strides, pads, dilations, group):
    """N-d grouped convolution as im2col and one batched matrix product per group."""
    x, w = _compute(x), _compute(w)
    rank = w.ndim - 2
    n, c = x.shape[:2]
    m, kernel = w.shape[0], w.shape[2:]
    out = _window_out(x.shape[2:], kernel, strides, pads, dilations)
    win = _windows(x, kernel, strides, pads, dilations, out, 0)        # n, c, *out, *kernel
    win = win.reshape((n, group, c // group) + win.shape[2:])
    perm = (1, 0) + tuple(range(3, 3 + rank)) + (2,) + tuple(range(3 + rank, 3 + 2 * rank))
    positions, taps = n * math.prod(out), (c // group) * math.prod(kernel)
    cols = win.transpose(perm).reshape(group, positions, taps)
    weights = w.reshape(group, m // group, taps).transpose(0, 2, 1)
    y = np.matmul(cols, weights)                                       # group, positions, m/group
    y = y.reshape((group, n, *out, m // group))
    y = y.transpose((1, 0, 2 + rank) + tuple(range(2, 2 + rank))).reshape((n, m, *out))
    if bias is not None:
        y = y + _compute(bias).reshape((m,) + (1,) * rank)
    return y


def _conv_transpose(x, w, bias, strides, pads, dilations, group, output_padding):
    """Transposed convolution as a stride-1 convolution of the stride-dilated input with
    the flipped kernel, in and out channels swapped per group."""
    x, w = _compute(x), _compute(w)
    rank = w.ndim - 2
    n, c = x.shape[:2]
    per_group, kernel = w.shape[1], w.shape[2:]
    dilated = np.zeros((n, c) + tuple((s - 1) * st + 1 for s, st in zip(x.shape[2:], strides)), x.dtype)
    dilated[(slice(None), slice(None)) + tuple(slice(None, None, st) for st in strides)] = x
    flipped = w.reshape((group, c // group, per_group) + kernel).swapaxes(1, 2)
    flipped = flipped.reshape((group * per_group, c // group) + kernel)
    flipped = flipped[(slice(None), slice(None)) + (slice(None, None, -1),) * rank]
    reach = [(k - 1) * d for k, d in zip(kernel, dilations)]
    begins = [r - p for r, p in zip(reach, pads[:rank])]
    ends = [r - p + op for r, p, op in zip(reach, pads[rank:], output_padding)]
    dilated = _pad_spatial(dilated, begins, ends, 0)
    return _conv(dilated, flipped, bias, [1] * rank, [0] * (2 * rank), dilations, group)


# ---- matrix products --------------------------------------------------------------------------

class MatmulOp(GraphOp):
    """numpy's matmul: 1-D operands gain (and lose) a unit axis, batch axes broadcast."""

    name = "graph.matmul"
    lhs = operand(TensorType)
    rhs = operand(TensorType)
    out = result(TensorType)
    kind = Kind.OUT_FUSABLE

    @classmethod
    def infer(cls, types, attrs):
        element = same_elements(types)
        a, b = types[0].shape, types[1].shape
        if not a or not b:
            raise ShapeError(f"needs operands of rank >= 1, got [{shape_text(a)}] and [{shape_text(b)}]")
        a2 = a if len(a) > 1 else (1,) + a
        b2 = b if len(b) > 1 else b + (1,)
        if a2[-1] != b2[-2]:
            raise ShapeError(f"contraction sizes differ: lhs [{shape_text(a)}] has {a2[-1]} columns, "
                             f"rhs [{shape_text(b)}] has {b2[-2]} rows")
        try:
            batch = broadcast_shapes(a2[:-2], b2[:-2])
        except ShapeError:
            raise ShapeError(f"batch axes of [{shape_text(a)}] and [{shape_text(b)}] do not broadcast") from None
        shape = batch + ((a2[-2],) if len(a) > 1 else ()) + ((b2[-1],) if len(b) > 1 else ())
        return [tensor(shape, element)]

    @staticmethod
    def reference(lhs, rhs, *, result_type=None):
        return np.matmul(_compute(_native(lhs, result_type)), _compute(_native(rhs, result_type)))


class GemmOp(GraphOp):
    """alpha * op(a) @ op(b) + beta * c, op transposing when trans_a / trans_b; c (optional)
    broadcasts to the product's shape."""

    name = "graph.gemm"
    a = operand(TensorType)
    b = operand(TensorType)
    c = opt_operand(TensorType)
    y = result(TensorType)
    alpha = float_(1.0)
    beta = float_(1.0)
    trans_a = int_(0)
    trans_b = int_(0)
    kind = Kind.OUT_FUSABLE

    @classmethod
    def infer(cls, types, attrs):
        element = same_elements(types)
        a, b = types[0].shape, types[1].shape
        if len(a) != 2 or len(b) != 2:
            raise ShapeError(f"needs rank-2 a and b, got [{shape_text(a)}] and [{shape_text(b)}]")
        m, k = a[::-1] if attrs.trans_a else a
        k2, n = b[::-1] if attrs.trans_b else b
        if k != k2:
            raise ShapeError(f"contraction sizes differ: a [{shape_text(a)}] (trans_a={attrs.trans_a}) "
                             f"gives {k}, b [{shape_text(b)}] (trans_b={attrs.trans_b}) gives {k2}")
        if len(types) == 3:
            c = types[2].shape
            if len(c) > 2 or broadcast_shapes(c, (m, n)) != (m, n):
                raise ShapeError(f"c [{shape_text(c)}] does not broadcast to the product's shape {m}x{n}")
        return [tensor((m, n), element)]

    @staticmethod
    def reference(a, b, c=None, *, alpha=1.0, beta=1.0, trans_a=0, trans_b=0):
        a, b = _compute(a), _compute(b)
        a = a.T if trans_a else a
        b = b.T if trans_b else b
        y = (a @ b) * np.asarray(alpha, a.dtype) if alpha != 1.0 else a @ b
        if c is not None:
            c = _compute(c)
            y = y + (c * np.asarray(beta, c.dtype) if beta != 1.0 else c)
        return y


class EinsumOp(GraphOp):
    """numpy's einsum of the operands by `equation` (explicit `->` or implicit, with `...`)."""

    name = "graph.einsum"
    inputs = var_operand(TensorType)
    out = result(TensorType)
    equation = string()
    kind = Kind.OUT_FUSABLE

    @classmethod
    def infer(cls, types, attrs):
        if not types:
            raise ShapeError("needs at least one operand")
        element = same_elements(types)
        return [tensor(_einsum_shape(attrs.equation, [t.shape for t in types]), element)]

    @staticmethod
    def reference(*inputs, equation):
        return np.einsum(equation.replace(" ", ""), *[_compute(x) for x in inputs], optimize=True)


def _einsum_shape(equation: str, shapes) -> tuple[int, ...]:
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ShapeError(f"equation '{equation}' has {len(terms)} operand terms for {len(shapes)} operands")
    sizes: dict[str, int] = {}
    ellipsis: tuple[int, ...] | None = None
    for term, shape in zip(terms, shapes):
        letters = term.replace("...", "")
        if any(ch not in _string.ascii_letters for ch in letters):
            raise ShapeError(f"equation '{equation}' has a term '{term}' that is not letters and '...'")
        if "..." in term:
            n_ell = len(shape) - len(letters)
            if n_ell < 0:
                raise ShapeError(f"term '{term}' has more letters than operand [{shape_text(shape)}] has axes")
            before, after = term.split("...")
            dims = shape[len(before):len(before) + n_ell]
            ellipsis = broadcast_shapes(ellipsis or (), dims) if ellipsis is not None else tuple(dims)
            pairs = list(zip(before, shape[:len(before)])) + list(zip(after, shape[len(before) + n_ell:]))
        else:
            if len(term) != len(shape):
                raise ShapeError(f"term '{term}' names {len(term)} axes of operand [{shape_text(shape)}]")
            pairs = list(zip(term, shape))
        for ch, d in pairs:
            known = sizes.get(ch)
            if known is not None and known != d and 1 not in (known, d):
                raise ShapeError(f"equation '{equation}': '{ch}' is {known} in one operand and {d} in another")
            sizes[ch] = d if known in (None, 1) else known
    if not arrow:
        counts = {ch: lhs.count(ch) for ch in sizes}
        rhs = ("..." if ellipsis is not None else "") + "".join(sorted(ch for ch, n in counts.items() if n == 1))
    out = []
    if "..." in rhs:
        before, after = rhs.split("...")
        out = [sizes[ch] for ch in before] + list(ellipsis or ()) + [sizes[ch] for ch in after]
        rest = before + after
    else:
        rest = rhs
        out = []
        for ch in rhs:
            if ch not in sizes:
                raise ShapeError(f"equation '{equation}': output letter '{ch}' names no operand axis")
            out.append(sizes[ch])
    for ch in rest:
        if ch not in sizes:
            raise ShapeError(f"equation '{equation}': output letter '{ch}' names no operand axis")
    return tuple(out)


# ---- convolutions -----------------------------------------------------------------------------

class Convolution(GraphOp):
    """Base of convolutions over (x, w, bias?): the window attributes; subclasses name the
    layout (graph.conv in NC*spatial, graph.conv_nchwc in channel blocks)."""

    x = operand(TensorType)
    w = operand(TensorType)
    bias = opt_operand(TensorType)
    y = result(TensorType)
    strides = ints(doc="per spatial axis; default 1")
    pads = ints(doc="all spatial begins, then all ends; default 0")
    dilations = ints(doc="per spatial axis; default 1")
    group = int_(1)
    kind = Kind.OUT_FUSABLE


class ConvOp(Convolution):
    """N-d cross-correlation of x (N, C, *spatial) with w (M, C/group, *kernel), plus bias (M),
    over zero-padded x: ONNX Conv with explicit pads."""

    name = "graph.conv"

    @classmethod
    def infer(cls, types, attrs):
        element = same_elements(types)
        _floats_only(types[0], "x")
        x, w = types[0].shape, types[1].shape
        if len(x) < 3 or len(w) != len(x):
            raise ShapeError(f"needs x (N, C, *spatial) and w (M, C/group, *kernel) of one rank >= 3, "
                             f"got [{shape_text(x)}] and [{shape_text(w)}]")
        group = attrs.group
        if group < 1 or x[1] != w[1] * group or w[0] % group:
            raise ShapeError(f"x [{shape_text(x)}] has {x[1]} channels but w [{shape_text(w)}] with group "
                             f"{group} takes {w[1] * group} (and needs M={w[0]} divisible by the group)")
        if len(types) == 3 and types[2].shape != (w[0],):
            raise ShapeError(f"bias [{shape_text(types[2].shape)}] should be [{w[0]}] for w [{shape_text(w)}]")
        strides, pads, dilations = _window_params(len(x) - 2, None, attrs.strides, attrs.pads, attrs.dilations)
        if any(p < 0 for p in pads):
            raise ShapeError(f"pads {pads} must not be negative")
        out = _window_out(x[2:], w[2:], strides, pads, dilations)
        return [tensor((x[0], w[0], *out), element)]

    @staticmethod
    def reference(x, w, bias=None, *, strides=None, pads=None, dilations=None, group=1):
        rank = np.ndim(x) - 2
        strides, pads, dilations = _window_params(rank, None, _list(strides), _list(pads), _list(dilations))
        return _conv(x, w, bias, strides, pads, dilations, group)


class ConvTransposeOp(GraphOp):
    """The transpose (gradient) of conv: x (N, C, *spatial) with w (C, M/group, *kernel) gives
    (N, M, *out), out = stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1 - pads."""

    name = "graph.conv_transpose"
    x = operand(TensorType)
    w = operand(TensorType)
    bias = opt_operand(TensorType)
    y = result(TensorType)
    strides = ints(doc="per spatial axis; default 1")
    pads = ints(doc="all spatial begins, then all ends (may be negative); default 0")
    dilations = ints(doc="per spatial axis; default 1")
    group = int_(1)
    output_padding = ints(doc="added at the end of each spatial axis; default 0")
    kind = Kind.OUT_FUSABLE

    @classmethod
    def infer(cls, types, attrs):
        element = same_elements(types)
        _floats_only(types[0], "x")
        x, w = types[0].shape, types[1].shape
        if len(x) < 3 or len(w) != len(x):
            raise ShapeError(f"needs x (N, C, *spatial) and w (C, M/group, *kernel) of one rank >= 3, "
                             f"got [{shape_text(x)}] and [{shape_text(w)}]")
        group = attrs.group
        if group < 1 or x[1] != w[0] or w[0] % group:
            raise ShapeError(f"x [{shape_text(x)}] has {x[1]} channels but w [{shape_text(w)}] takes {w[0]} "
                             f"(which group {group} must divide)")
        m = w[1] * group
        if len(types) == 3 and types[2].shape != (m,):
            raise ShapeError(f"bias [{shape_text(types[2].shape)}] should be [{m}] for w [{shape_text(w)}] "
                             f"and group {group}")
        rank = len(x) - 2
        strides, pads, dilations = _window_params(rank, None, attrs.strides, attrs.pads, attrs.dilations)
        output_padding = attrs.output_padding or [0] * rank
        if len(output_padding) != rank:
            raise ShapeError(f"{rank} spatial axes need {rank} output_padding values, got {output_padding}")
        out = [strides[i] * (x[2 + i] - 1) + output_padding[i] + (w[2 + i] - 1) * dilations[i] + 1
               - pads[i] - pads[rank + i] for i in range(rank)]
        if any(o < 1 for o in out):
            raise ShapeError(f"x [{shape_text(x)}] and w [{shape_text(w)}] with pads {pads} give an empty "
                             f"output [{shape_text(out)}]")
        return [tensor((x[0], m, *out), element)]

    @staticmethod
    def reference(x, w, bias=None, *, strides=None, pads=None, dilations=None, group=1,
                  output_padding=None):
        rank = np.ndim(x) - 2
        strides, pads, dilations = _window_params(rank, None, _list(strides), _list(pads), _list(dilations))
        output_padding = _list(output_padding) or [0] * rank
        return _conv_transpose(x, w, bias, strides, pads, dilations, group, output_padding)


def _list(value):
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


# ---- pooling ----------------------------------------------------------------------------------

class Pool(GraphOp):
    """Base of window pools over x (N, C, *spatial): y (N, C, *out)."""

    x = operand(TensorType)
    y = result(TensorType)
    kernel = ints(doc="window size per spatial axis (required)")
    strides = ints(doc="per spatial axis; default 1")
    pads = ints(doc="all spatial begins, then all ends; default 0")
    dilations = ints(doc="per spatial axis; default 1")
    ceil_mode = int_(0, doc="1: round the output size up")
    kind = Kind.OUT_FUSABLE   # TVM's pools are OUT_ELEMWISE_FUSABLE
    floats_only = True

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        if cls.floats_only:
            _floats_only(t, "x")
        if t.rank < 3:
            raise ShapeError(f"needs x (N, C, *spatial) of rank >= 3, got {t}")
        kernel = attrs.kernel
        if not kernel:
            raise ShapeError("needs a kernel")
        strides, pads, dilations = _window_params(t.rank - 2, kernel, attrs.strides, attrs.pads, attrs.dilations)
        if any(p < 0 for p in pads) or any(k < 1 for k in kernel):
            raise ShapeError(f"kernel {kernel} must be positive and pads {pads} not negative")
        out = _window_out(t.shape[2:], kernel, strides, pads, dilations, attrs.ceil_mode)
        return [tensor(t.shape[:2] + tuple(out), t.element_type)]


def _pool_setup(x, kernel, strides, pads, dilations, ceil_mode):
    kernel = _list(kernel)
    strides, pads, dilations = _window_params(len(kernel), kernel, _list(strides), _list(pads), _list(dilations))
    out = _window_out(np.shape(x)[2:], kernel, strides, pads, dilations, ceil_mode)
    return kernel, strides, pads, dilations, out


def _kernel_axes(rank: int) -> tuple[int, ...]:
    return tuple(range(-rank, 0))


class MaxPoolOp(Pool):
    """The maximum of each window (padding never wins): ONNX MaxPool's first output."""

    name = "graph.max_pool"
    floats_only = False

    @staticmethod
    def reference(x, *, kernel, strides=None, pads=None, dilations=None, ceil_mode=0):
        x = np.asarray(x)
        kernel, strides, pads, dilations, out = _pool_setup(x, kernel, strides, pads, dilations, ceil_mode)
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        win = _windows(x, kernel, strides, pads, dilations, out, low)
        return win.max(axis=_kernel_axes(len(kernel)))


class MaxPoolIndicesOp(Pool):
    """The flat index into x of each window's (first) maximum, as i64: ONNX MaxPool's
    Indices output; storage_order 1 numbers the spatial axes column-major."""

    name = "graph.max_pool_indices"
    storage_order = int_(0)
    floats_only = False
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        (y,) = super().infer(types, attrs)
        return [tensor(y.shape, i64)]

    @staticmethod
    def reference(x, *, kernel, strides=None, pads=None, dilations=None, ceil_mode=0, storage_order=0):
        x = np.asarray(x)
        kernel, strides, pads, dilations, out = _pool_setup(x, kernel, strides, pads, dilations, ceil_mode)
        n, c, spatial = x.shape[0], x.shape[1], x.shape[2:]
        size = math.prod(spatial)
        within = np.arange(size, dtype=np.int64).reshape(spatial, order="F" if storage_order else "C")
        index = within + (np.arange(n * c, dtype=np.int64) * size).reshape((n, c) + (1,) * len(spatial))
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        values = _windows(x, kernel, strides, pads, dilations, out, low)
        indices = _windows(index, kernel, strides, pads, dilations, out, -1)
        flat = values.reshape(values.shape[:-len(kernel)] + (-1,))
        best = np.argmax(flat, axis=-1)[..., None]
        return np.take_along_axis(indices.reshape(flat.shape), best, axis=-1)[..., 0]


class AvgPoolOp(Pool):
    """The mean of each window; padding counts in the divisor only with count_include_pad
    (and never the extra end that ceil_mode adds)."""

    name = "graph.avg_pool"
    count_include_pad = int_(0)

    @staticmethod
    def reference(x, *, kernel, strides=None, pads=None, dilations=None, ceil_mode=0, count_include_pad=0):
        x = _compute(x)
        kernel, strides, pads, dilations, out = _pool_setup(x, kernel, strides, pads, dilations, ceil_mode)
        rank = len(kernel)
        total = _windows(x, kernel, strides, pads, dilations, out, 0).sum(axis=_kernel_axes(rank))
        spatial = x.shape[2:]
        if count_include_pad:
            # ones over the explicitly padded extent, zeros past it
            ones = np.ones([s + pads[i] + pads[rank + i] for i, s in enumerate(spatial)], x.dtype)
            count = _windows(ones, kernel, strides, [0] * (2 * rank), dilations, out, 0)
        else:
            count = _windows(np.ones(spatial, x.dtype), kernel, strides, pads, dilations, out, 0)
        return total / count.sum(axis=_kernel_axes(rank))


class LpPoolOp(Pool):
    """(sum over each window of |x|^p)^(1/p), zero padding."""

    name = "graph.lp_pool"
    p = int_(2)

    @staticmethod
    def reference(x, *, kernel, strides=None, pads=None, dilations=None, ceil_mode=0, p=2):
        x = _compute(x)
        kernel, strides, pads, dilations, out = _pool_setup(x, kernel, strides, pads, dilations, ceil_mode)
        win = _windows(np.abs(x) ** p, kernel, strides, pads, dilations, out, 0)
        return win.sum(axis=_kernel_axes(len(kernel))) ** (1.0 / p)


class GlobalPool(GraphOp):
    """Base of pools over every spatial axis of x (N, C, *spatial): y (N, C, 1, ...)."""

    x = operand(TensorType)
    y = result(TensorType)
    kind = Kind.OUT_FUSABLE

    @classmethod
    def infer(cls, types, attrs):
        (t,) = types
        if t.rank < 2:
            raise ShapeError(f"needs x (N, C, *spatial) of rank >= 2, got {t}")
        return [tensor(t.shape[:2] + (1,) * (t.rank - 2), t.element_type)]


class GlobalAvgPoolOp(GlobalPool):
    """The mean over all spatial axes, kept as size 1."""

    name = "graph.global_avg_pool"

    @staticmethod
    def reference(x):
        x = _compute(x)
        return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)


class GlobalMaxPoolOp(GlobalPool):
    """The maximum over all spatial axes, kept as size 1."""

    name = "graph.global_max_pool"

    @staticmethod
    def reference(x):
        x = np.asarray(x)
        return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


# ---- normalisations -------------------------------------------------------------------------

def _channel_params(types, names, what: str) -> None:
    """Each of types[1:] must be a vector of x's channel count."""
    x = types[0]
    if x.rank < 2:
        raise ShapeError(f"needs x (N, C, ...) of rank >= 2, got {x}")
    for name, t in zip(names, types[1:]):
        if t.shape != (x.shape[1],):
            raise ShapeError(f"{name} [{shape_text(t.shape)}] should be [{x.shape[1]}], the channels of "
                             f"x [{shape_text(x.shape)}] ({what})")


class BatchNormOp(GraphOp):
    """Inference batch normalisation over axis 1: (x - mean) / sqrt(var + epsilon) * scale + bias.

    A per-channel scale and shift, so BROADCAST: it fuses into its producer's kernel."""

    name = "graph.batch_norm"
    x = operand(TensorType)
    scale = operand(TensorType)
    bias = operand(TensorType)
    mean = operand(TensorType)
    var = operand(TensorType)
    y = result(TensorType)
    epsilon = float_(1e-5)
    kind = Kind.BROADCAST

    @classmethod
    def infer(cls, types, attrs):
        for t in types:
            _floats_only(t)
        _channel_params(types, ("scale", "bias", "mean", "var"), "batch_norm")
        return [types[0]]

    @staticmethod
    def reference(x, scale, bias, mean, var, *, epsilon=1e-5):
        x = _compute(x)
        shape = (-1,) + (1,) * (x.ndim - 2)
        col = lambda v: _compute(v).astype(x.dtype).reshape(shape)
        factor = col(scale) / np.sqrt(col(var) + np.asarray(epsilon, x.dtype))
        return (x - col(mean)) * factor + col(bias)


def _normalize(x, axes, epsilon):
    """(x - mean) / sqrt(var + epsilon) over `axes`, with mean and 1/sqrt(var + eps) kept."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    inv_std = 1.0 / np.sqrt((centered * centered).mean(axis=axes, keepdims=True) + np.asarray(epsilon, x.dtype))
    return centered * inv_std, mean, inv_std


class Normalization(GraphOp):
    """Base of normalisations whose statistics combine elements: REDUCTION, as a fuser
    treats a mean: injective producers and elementwise consumers join its kernel."""

    kind = Kind.REDUCTION


class InstanceNormOp(Normalization):
    """Normalise each (n, c) over the spatial axes, then scale and shift per channel."""

    name = "graph.instance_norm"
    x = operand(TensorType)
    scale = operand(TensorType)
    bias = operand(TensorType)
    y = result(TensorType)
    epsilon = float_(1e-5)

    @classmethod
    def infer(cls, types, attrs):
        same_elements(types)
        _floats_only(types[0], "x")
        _channel_params(types, ("scale", "bias"), "instance_norm")
        if types[0].rank < 3:
            raise ShapeError(f"needs x (N, C, *spatial) of rank >= 3, got {types[0]}")
        return [types[0]]

    @staticmethod
    def reference(x, scale, bias, *, epsilon=1e-5):
        x = _compute(x)
        shape = (-1,) + (1,) * (x.ndim - 2)
        y, _, _ = _normalize(x, tuple(range(2, x.ndim)), epsilon)
        return y * _compute(scale).reshape(shape) + _compute(bias).reshape(shape)


def _trailing_axes(t, axis: int) -> tuple[int, ...]:
    return tuple(range(normalize_axis(axis, t.rank), t.rank))


class LayerNormOp(Normalization):
    """Normalise over the axes from `axis` on, then * scale + bias (both broadcast to x)."""

    name = "graph.layer_norm"
    x = operand(TensorType)
    scale = operand(TensorType)
    bias = opt_operand(TensorType)
    y = result(TensorType)
    axis = int_(-1)
    epsilon = float_(1e-5)

    @classmethod
    def infer(cls, types, attrs):
        same_elements(types)
        x = types[0]
        _floats_only(x, "x")
        _trailing_axes(x, attrs.axis)
        for name, t in zip(("scale", "bias"), types[1:]):
            if t.rank > x.rank or broadcast_shapes(x.shape, t.shape) != x.shape:
                raise ShapeError(f"{name} [{shape_text(t.shape)}] does not broadcast to x [{shape_text(x.shape)}]")
        return [x]

    @staticmethod
    def reference(x, scale, bias=None, *, axis=-1, epsilon=1e-5):
        x = np.asarray(x)
        work = x.astype(np.float32) if x.dtype in (np.float16,) else x
        y, _, _ = _normalize(work, tuple(range(axis % x.ndim, x.ndim)), epsilon)
        y = y * _compute(scale)
        return y if bias is None else y + _compute(bias)


class LayerNormStatsOp(Normalization):
    """The mean and 1 / sqrt(var + epsilon) of x over the axes from `axis` on, those axes
    kept as size 1: ONNX LayerNormalization's Mean and InvStdDev outputs."""

    name = "graph.layer_norm_stats"
    x = operand(TensorType)
    mean = result(TensorType)
    inv_std_dev = result(TensorType)
    axis = int_(-1)
    epsilon = float_(1e-5)

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        _floats_only(x, "x")
        axes = _trailing_axes(x, attrs.axis)
        shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        return [tensor(shape, x.element_type)] * 2

    @staticmethod
    def reference(x, *, axis=-1, epsilon=1e-5):
        x = _compute(x)
        _, mean, inv_std = _normalize(x, tuple(range(axis % x.ndim, x.ndim)), epsilon)
        return mean, inv_std


class GroupNormOp(Normalization):
    """Normalise each of `num_groups` channel groups (with the spatial axes) per sample, then
    scale and shift per channel (scale and bias have C elements)."""

    name = "graph.group_norm"
    x = operand(TensorType)
    scale = operand(TensorType)
    bias = operand(TensorType)
    y = result(TensorType)
    num_groups = int_()
    epsilon = float_(1e-5)

    @classmethod
    def infer(cls, types, attrs):
        same_elements(types)
        _floats_only(types[0], "x")
        _channel_params(types, ("scale", "bias"), "group_norm")
        c = types[0].shape[1]
        if attrs.num_groups < 1 or c % attrs.num_groups:
            raise ShapeError(f"num_groups {attrs.num_groups} must divide the {c} channels of {types[0]}")
        return [types[0]]

    @staticmethod
    def reference(x, scale, bias, *, num_groups, epsilon=1e-5):
        x = _compute(x)
        n, c = x.shape[:2]
        grouped = x.reshape(n, num_groups, -1)
        y, _, _ = _normalize(grouped, (2,), epsilon)
        shape = (-1,) + (1,) * (x.ndim - 2)
        return y.reshape(x.shape) * _compute(scale).reshape(shape) + _compute(bias).reshape(shape)


class RmsNormOp(Normalization):
    """x / sqrt(mean(x^2) + epsilon) over the axes from `axis` on, times scale (broadcast)."""

    name = "graph.rms_norm"
    x = operand(TensorType)
    scale = operand(TensorType)
    y = result(TensorType)
    axis = int_(-1)
    epsilon = float_(1e-5)

    @classmethod
    def infer(cls, types, attrs):
        same_elements(types)
        x, scale = types
        _floats_only(x, "x")
        _trailing_axes(x, attrs.axis)
        if scale.rank > x.rank or broadcast_shapes(x.shape, scale.shape) != x.shape:
            raise ShapeError(f"scale [{shape_text(scale.shape)}] does not broadcast to x [{shape_text(x.shape)}]")
        return [x]

    @staticmethod
    def reference(x, scale, *, axis=-1, epsilon=1e-5):
        x = _compute(x)
        axes = tuple(range(axis % x.ndim, x.ndim))
        ms = (x * x).mean(axis=axes, keepdims=True)
        return x / np.sqrt(ms + np.asarray(epsilon, x.dtype)) * _compute(scale)


class LrnOp(Normalization):
    """Local response normalisation across channels (axis 1):
    x / (bias + alpha / size * sum of x^2 over the `size` neighbouring channels)^beta."""

    name = "graph.lrn"
    x = operand(TensorType)
    y = result(TensorType)
    size = int_()
    alpha = float_(1e-4)
    beta = float_(0.75)
    bias = float_(1.0)

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        _floats_only(x, "x")
        if x.rank < 3:
            raise ShapeError(f"needs x (N, C, *spatial) of rank >= 3, got {x}")
        if attrs.size < 1:
            raise ShapeError(f"size {attrs.size} must be positive")
        return [x]

    @staticmethod
    def reference(x, *, size, alpha=1e-4, beta=0.75, bias=1.0):
        x = _compute(x)
        before = (size - 1) // 2
        widths = [(0, 0)] * x.ndim
        widths[1] = (before, size - 1 - before)
        squares = np.pad(x * x, widths)
        sums = sliding_window_view(squares, size, axis=1).sum(axis=-1)
        return x / (bias + (alpha / size) * sums) ** beta


class MeanVarianceNormOp(Normalization):
    """(x - mean) / (std + 1e-9) over `axes`, std = sqrt(mean(x^2) - mean^2): ONNX
    MeanVarianceNormalization."""

    name = "graph.mean_variance_normalization"
    x = operand(TensorType)
    y = result(TensorType)
    axes = ints([0, 2, 3])

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        _floats_only(x, "x")
        for a in attrs.axes:
            normalize_axis(a, x.rank)
        return [x]

    @staticmethod
    def reference(x, *, axes=(0, 2, 3)):
        x = _compute(x)
        axes = tuple(int(a) % x.ndim for a in np.asarray(axes).reshape(-1))
        mean = x.mean(axis=axes, keepdims=True)
        std = np.sqrt((x * x).mean(axis=axes, keepdims=True) - mean * mean)
        return (x - mean) / (std + np.asarray(1e-9, x.dtype))


class LpNormOp(Normalization):
    """x / ||x||_p along `axis` (p = 1 or 2), 0 where the norm is 0: ONNX LpNormalization."""

    name = "graph.lp_normalization"
    x = operand(TensorType)
    y = result(TensorType)
    axis = int_(-1)
    p = int_(2)

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        _floats_only(x, "x")
        normalize_axis(attrs.axis, x.rank)
        if attrs.p not in (1, 2):
            raise ShapeError(f"p must be 1 or 2, got {attrs.p}")
        return [x]

    @staticmethod
    def reference(x, *, axis=-1, p=2):
        x = _compute(x)
        a = np.abs(x)
        norm = a.sum(axis=axis, keepdims=True) if p == 1 else np.sqrt((a * a).sum(axis=axis, keepdims=True))
        return np.where(norm == 0, np.zeros((), x.dtype), x / np.where(norm == 0, np.ones((), x.dtype), norm))


# ---- softmaxes ----------------------------------------------------------------------------------

class AxisOp(GraphOp):
    """Base of the softmax family: y has x's type; `axis` is the one the op normalises.

    REDUCTION rather than TVM's OPAQUE: each is a max and a sum along `axis` followed by an
    elementwise map, the shape a fuser handles for any reduction (injective producers and
    elementwise consumers join it); TVM's OPAQUE only reflects its hand-written schedule."""

    x = operand(TensorType)
    y = result(TensorType)
    axis = int_(-1)
    kind = Kind.REDUCTION

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        _floats_only(x, "x")
        normalize_axis(attrs.axis, x.rank)
        return [x]


class SoftmaxOp(AxisOp):
    """exp(x - max) / sum(exp(x - max)) along axis."""

    name = "graph.softmax"

    @staticmethod
    def reference(x, *, axis=-1, result_type=None):
        x = _native(x, result_type)   # x's own precision, as ONNX Attention's softmax_precision expects
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)


class LogSoftmaxOp(AxisOp):
    """x - max - log(sum(exp(x - max))) along axis."""

    name = "graph.log_softmax"

    @staticmethod
    def reference(x, *, axis=-1):
        x = _compute(x)
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class HardmaxOp(AxisOp):
    """1 at the first maximum along axis, 0 elsewhere."""

    name = "graph.hardmax"

    @staticmethod
    def reference(x, *, axis=-1):
        x = np.asarray(x)
        best = np.expand_dims(np.argmax(x, axis=axis), axis)
        y = np.zeros_like(x)
        np.put_along_axis(y, best, 1, axis=axis)
        return y
