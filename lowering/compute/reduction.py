"""graph -> te: compute builders of reductions — reduce_* over axes, argmax/argmin along
one axis, and running sums/products (cumsum, cumprod).

Each reduction is `post(combine over axes of pre(x))` in an accumulator type (f32 for f16
inputs, as the graph reference sums; f64 where the reference leaves integers for floats),
then a cast to the result's element type. te's max/min combiners compare signed, so an
unsigned extremum is taken over values biased by the sign bit (x + 2^(w-1) wraps to an
order-preserving signed value) and unbiased afterwards. An argmax is two computes: the
maximum, then the first (or last) index where x equals it; a NaN counts as equal, since
the maximum is NaN exactly when some element is and numpy's argmax picks the first NaN.
A running sum over axis i is a sum over r of `r <= i ? x[r] : 0` (`<` when exclusive, `>=`
when reversed)."""

from __future__ import annotations

from descend.dialects.graph import Attrs
from descend.dialects.graph.reduction import reduced_axes
from descend.dialects.te.builder import compute
from descend.ir import FloatType, IntegerType, f16, f32, f64, i1, i64

from . import is_unsigned, lowers, name_of, out_type


def _attrs(op) -> Attrs:
    return Attrs(type(op), op.properties)


def input_indices(rank: int, axes, keepdims: int, out_indices, reduce_indices) -> list:
    """The x index a reduction body reads: output indices on kept axes, reduction indices on
    reduced ones (a kept size-1 output axis is skipped)."""
    indices, o, r = [], 0, 0
    for k in range(rank):
        if k in axes:
            indices.append(reduce_indices[r])
            r += 1
            o += bool(keepdims)
        else:
            indices.append(out_indices[o])
            o += 1
    return indices


def to_element(b, v, to, unsigned: bool = False):
    """Convert a scalar to `to` the way numpy's astype does (floats to integers truncate;
    unsigned integers extend by zeros)."""
    if v.type == to:
        return v
    src = v.type
    if unsigned and isinstance(src, IntegerType) and src.width > 1:
        return b.cast_unsigned(v, to)
    if isinstance(src, FloatType) and isinstance(to, IntegerType) and to.width < 64:
        return b.cast(b.cast(v, i64), to)   # via i64 so unsigned results keep their bits
    if src == i1 and not isinstance(to, IntegerType):
        # a bool is 0 or 1, not the signed -1
        return b.select(v, b.const(1, to), b.const(0, to))
    return b.cast(v, to)


def _sign_bias(element) -> int:
    return -(1 << (element.width - 1))


# ---- reduce_* -------------------------------------------------------------------------------

def _accumulator(x_element, widen_integers: bool = False):
    if x_element == f16:
        return f32
    if widen_integers and not isinstance(x_element, FloatType):
        return f64
    return x_element


# Per op: (combiner, pre(b, v) -> value to combine, integers accumulate in f64).
_REDUCE = {
    "graph.reduce_sum": ("sum", lambda b, v: v, False),
    "graph.reduce_mean": ("sum", lambda b, v: v, False),
    "graph.reduce_prod": ("prod", lambda b, v: v, False),
    "graph.reduce_sum_square": ("sum", lambda b, v: b.mul(v, v), False),
    "graph.reduce_l2": ("sum", lambda b, v: b.mul(v, v), True),
    "graph.reduce_log_sum": ("sum", lambda b, v: v, True),
}


def reduce_over(kb, x, axes, keepdims, element, pre, combiner, name=None, init=None):
    """y[o] = combine over `axes` of pre(b, x[..]) (no reduction when `axes` is empty)."""
    rank = len(x.type.shape)
    reduce = [x.type.shape[a] for a in axes]
    shape = [1 if k in axes else d for k, d in enumerate(x.type.shape) if keepdims or k not in axes]

    def body(b, i, r, reads):
        return pre(b, reads[0][tuple(input_indices(rank, axes, keepdims, i, r))])
    return compute(kb, shape, element, [x], body, reduce=reduce,
                   combiner=combiner if axes else None, init=init if axes else None, name=name)


def _map(kb, y, fn, element, name=None):
    shape = y.type.shape
    return compute(kb, shape, element, [y], lambda b, i, r, reads: fn(b, reads[0][tuple(i)]), name=name)


@lowers(*_REDUCE)
def reduce_arithmetic(kb, op, inputs):
    (x,) = inputs
    a = _attrs(op)
    axes = reduced_axes(x.type.shape, a.axes, a.noop_with_empty_axes)
    combiner, pre, widen = _REDUCE[op.name]
    out = out_type(op).element_type
    unsigned = is_unsigned(op.operands[0])
    x_element = x.type.element_type
    acc = _accumulator(x_element, widen)
    mean = op.name == "graph.reduce_mean"
    integer_mean = mean and not isinstance(x_element, FloatType)
    if integer_mean:
        acc = i64   # numpy sums integers in 64 bits, then divides and truncates
    count = 1
    for k in axes:
        count *= x.type.shape[k]

    def pre_acc(b, v):
        return pre(b, to_element(b, v, acc, unsigned))

    post = {"graph.reduce_l2": lambda b, s: b.sqrt(s),
            "graph.reduce_log_sum": lambda b, s: b.math("log", s)}.get(op.name)
    if mean and not integer_mean:
        post = lambda b, s: b.div(s, b.const(float(count), acc))  # 0/0 is NaN, as numpy's
    if integer_mean:
        post = lambda b, s: b.truncdiv(s, count, unsigned) if count else b.const(0, acc)
    if post is None and acc == out:
        return [reduce_over(kb, x, axes, a.keepdims, acc, pre_acc, combiner, name_of(op))]
    total = reduce_over(kb, x, axes, a.keepdims, acc, pre_acc, combiner)
    post = post or (lambda b, s: s)
    return [_map(kb, total, lambda b, s: to_element(b, post(b, s), out), out, name_of(op))]


@lowers("graph.reduce_l1")
def reduce_l1(kb, op, inputs):
    (x,) = inputs
    a = _attrs(op)
    axes = reduced_axes(x.type.shape, a.axes, a.noop_with_empty_axes)
    out = out_type(op).element_type
    acc = _accumulator(x.type.element_type)
    unsigned = is_unsigned(op.operands[0])

    def pre(b, v):
        v = to_element(b, v, acc, unsigned)
        return v if unsigned else b.abs(v)
    if acc == out:
        return [reduce_over(kb, x, axes, a.keepdims, acc, pre, "sum", name_of(op))]
    total = reduce_over(kb, x, axes, a.keepdims, acc, pre, "sum")
    return [_map(kb, total, lambda b, s: to_element(b, s, out), out, name_of(op))]


@lowers("graph.reduce_max", "graph.reduce_min")
def reduce_extremum(kb, op, inputs):
    (x,) = inputs
    a = _attrs(op)
    axes = reduced_axes(x.type.shape, a.axes, a.noop_with_empty_axes)
    combiner = "max" if op.name == "graph.reduce_max" else "min"
    element = x.type.element_type
    if not is_unsigned(op.operands[0]):
        return [reduce_over(kb, x, axes, a.keepdims, element, lambda b, v: v, combiner, name_of(op))]
    bias = _sign_bias(element)
    biased = reduce_over(kb, x, axes, a.keepdims, element, lambda b, v: b.add(v, bias), combiner)
    return [_map(kb, biased, lambda b, v: b.sub(v, bias), element, name_of(op))]


@lowers("graph.reduce_log_sum_exp")
def reduce_log_sum_exp(kb, op, inputs):
    """Three computes: the maximum m (shifted by 0 when infinite, as the reference), the sum
    of exp(x - shift), and log(sum) + shift."""
    (x,) = inputs
    a = _attrs(op)
    axes = reduced_axes(x.type.shape, a.axes, a.noop_with_empty_axes)
    out = out_type(op).element_type
    acc = _accumulator(x.type.element_type, widen_integers=True)
    unsigned = is_unsigned(op.operands[0])
    rank = len(x.type.shape)
    top = reduce_over(kb, x, axes, a.keepdims, acc, lambda b, v: to_element(b, v, acc, unsigned), "max",
                      init=float("-inf"))

    def shift_of(b, m):
        finite = b.lt(b.math("absf", m), float("inf"))   # false for inf and NaN
        return b.select(finite, m, 0.0)

    def exp_body(b, i, r, reads):
        xr, mr = reads
        v = to_element(b, xr[tuple(input_indices(rank, axes, a.keepdims, i, r))], acc, unsigned)
        m = mr[tuple(i)]
        return b.exp(b.sub(v, shift_of(b, m)))
    shape = top.type.shape
    total = compute(kb, shape, acc, [x, top], exp_body, reduce=[x.type.shape[k] for k in axes],
                    combiner="sum" if axes else None)

    def final(b, i, r, reads):
        s, m = reads[0][tuple(i)], reads[1][tuple(i)]
        return to_element(b, b.add(b.math("log", s), shift_of(b, m)), out)
    return [compute(kb, shape, out, [total, top], final, name=name_of(op))]


# ---- argmax / argmin ------------------------------------------------------------------------------

@lowers("graph.argmax", "graph.argmin")
def arg_extremum(kb, op, inputs):
    (x,) = inputs
    a = _attrs(op)
    out = out_type(op)
    rank = len(x.type.shape)
    if rank == 0:
        return [compute(kb, (), i64, [], lambda b, i, r, reads: b.const(0, i64), name=name_of(op))]
    axis = a.axis % rank
    element = x.type.element_type
    unsigned = is_unsigned(op.operands[0])
    bias = _sign_bias(element) if unsigned else 0
    combiner = "max" if op.name == "graph.argmax" else "min"

    def value(b, v):
        return b.add(v, bias) if bias else v
    best = reduce_over(kb, x, (axis,), a.keepdims, element, value, combiner)
    n = x.type.shape[axis]

    def body(b, i, r, reads):
        xr, mr = reads
        v = value(b, xr[tuple(input_indices(rank, (axis,), a.keepdims, i, r))])
        m = mr[tuple(i)]
        hit = b.eq(v, m)
        if isinstance(element, FloatType):
            hit = b.or_(hit, b.ne(v, v))   # a NaN: the extremum is NaN, numpy picks it
        position = b.cast(r[0], i64)
        return b.select(hit, position, -1 if a.select_last_index else n)
    index_combiner = "max" if a.select_last_index else "min"
    return [compute(kb, out.shape, i64, [x, best], body, reduce=[n], combiner=index_combiner,
                    name=name_of(op))]


# ---- cumsum / cumprod ---------------------------------------------------------------------------

@lowers("graph.cumsum", "graph.cumprod")
def running(kb, op, inputs):
    (x,) = inputs
    a = _attrs(op)
    out = out_type(op)
    rank = len(x.type.shape)
    axis = a.axis % rank
    n = x.type.shape[axis]
    combiner, identity = ("sum", 0) if op.name == "graph.cumsum" else ("prod", 1)
    test = {(0, 0): "le", (1, 0): "lt", (0, 1): "ge", (1, 1): "gt"}[(a.exclusive, a.reverse)]

    def body(b, i, r, reads):
        indices = list(i)
        indices[axis] = r[0]
        v = reads[0][tuple(indices)]
        taken = getattr(b, test)(r[0], i[axis])
        return b.select(taken, v, identity)
    return [compute(kb, out.shape, out.element_type, [x], body, reduce=[n], combiner=combiner,
                    name=name_of(op))]
