"""testing: runtime values of IR types, drawn with the edge cases folders and rules get
wrong (0, 1, -1, the extreme integers, shift widths, NaN with payloads, ±inf, -0.0,
subnormals), and written back as Python a reader can paste into a bug report.

Values are what the interpreter takes: numpy scalars of the type's storage dtype for
scalar types (np.bool_ for i1, np.int64 for index), numpy arrays of the static shape for
tensors and vectors."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from descend.dialects.numeric import dtype_of, width_of
from descend.ir.types import ShapedType, Type

__all__ = ["values_of", "scalar_values", "format_value"]


def _integer_edges(width: int) -> list[int]:
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    edges = [0, 1, -1, 2, low, high, low + 1, high - 1, width - 1, width]
    return [e for e in edges if low <= e <= high]


def _float_edges(dtype: np.dtype) -> list:
    info = np.finfo(dtype)
    edges = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, math.nan, math.inf, -math.inf,
             float(info.max), -float(info.max), float(info.tiny), float(info.smallest_subnormal),
             float(info.eps), 128.0, -129.0, 4294967296.0]  # the last: just out of i8 / u32 range
    return [dtype.type(e) for e in edges if not math.isfinite(e) or abs(e) <= float(info.max)]


@st.composite
def _nan_with_payload(draw, dtype: np.dtype):
    """A NaN with a random sign and payload: equality of NaNs must not depend on the bits."""
    bits = dtype.itemsize * 8
    mantissa = {16: 10, 32: 23, 64: 52}[bits]
    exponent = ((1 << (bits - 1 - mantissa)) - 1) << mantissa
    payload = draw(st.integers(1, (1 << mantissa) - 1))
    sign = draw(st.sampled_from([0, 1 << (bits - 1)]))
    return np.array(sign | exponent | payload, dtype=f"u{dtype.itemsize}").view(dtype)[()]


def scalar_values(t: Type) -> st.SearchStrategy:
    """One element of `t` (the element type of a shaped `t`), as a numpy scalar: small
    numbers (shift amounts, exact float arithmetic), edge cases, or anything at all, in
    about equal parts; a NaN with a random payload now and then. NaN is kept rare on
    purpose: it absorbs most arithmetic, so a wrong rewrite would go unseen behind it."""
    dtype = dtype_of(t)
    if dtype == np.bool_:
        return st.booleans().map(np.bool_)
    if dtype.kind == "f":
        return _float_values(dtype)
    width = width_of(t)
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    small = st.integers(max(low, -8), min(high, 2 * width))
    return st.one_of(small, st.sampled_from(_integer_edges(width)),
                     st.integers(low, high)).map(dtype.type)


@st.composite
def _float_values(draw, dtype: np.dtype):
    kind = draw(st.integers(0, 19))  # shrinks toward the small, exact values
    if kind < 7:
        return dtype.type(draw(st.integers(-16, 16)) / 4)
    if kind < 13:
        return draw(st.sampled_from(_float_edges(dtype)))
    if kind < 19:
        return dtype.type(draw(st.floats(width=dtype.itemsize * 8, allow_nan=False)))
    return draw(_nan_with_payload(dtype))


@st.composite
def values_of(draw, t: Type):
    """A value of type `t`; shaped values are sometimes splats (a constant-looking input)."""
    element = scalar_values(t)
    if not isinstance(t, ShapedType):
        return draw(element)
    shape = tuple(t.shape)
    count = math.prod(shape)
    if count and draw(st.integers(0, 3)) == 0:
        items = [draw(element)] * count
    else:
        items = draw(st.lists(element, min_size=count, max_size=count))
    return np.array(items, dtype=dtype_of(t)).reshape(shape)


# ---- writing values back as Python ---------------------------------------------------------

def _is_plain_nan(x: np.ndarray) -> np.ndarray:
    """numpy's default NaN with either sign (what np.nan and -np.nan give)."""
    unsigned = f"u{x.dtype.itemsize}"
    bits = x.view(unsigned)
    sign = np.asarray(1 << (x.dtype.itemsize * 8 - 1), unsigned)
    return (bits | sign) == (np.asarray(np.nan, x.dtype).view(unsigned) | sign)


def _element_text(x) -> str:
    if x.dtype == np.bool_:
        return "True" if x else "False"
    if x.dtype.kind == "f":
        if np.isnan(x):
            return "-np.nan" if np.signbit(x) else "np.nan"
        if np.isinf(x):
            return "np.inf" if x > 0 else "-np.inf"
        return str(x)  # numpy's shortest text that reads back to the same value of x's dtype
    return str(int(x))


def format_value(x) -> str:
    """Python that rebuilds `x` exactly, dtype included: `np.int8(-128)`, `np.float32(-0.0)`,
    `np.array([[1, 2]], dtype=np.int16)`. Floats holding a NaN other than numpy's default
    (or its negation) are written as their bits (`np.uint32(0x7fc00001).view(np.float32)`): a bitcast can
    see a payload, so a reproducer must keep it."""
    x = np.asarray(x)
    name = "np.bool_" if x.dtype == np.bool_ else f"np.{x.dtype.name}"
    if x.size == 0:
        return f"np.zeros({x.shape}, dtype={name})"
    if x.dtype.kind == "f" and not np.all(_is_plain_nan(x) | ~np.isnan(x)):
        bits = x.view(f"u{x.dtype.itemsize}")
        width = x.dtype.itemsize * 2
        as_bits = np.array([f"0x{int(b):0{width}x}" for b in bits.reshape(-1)], dtype=object)
        unsigned = f"np.uint{x.dtype.itemsize * 8}"
        if x.ndim == 0:
            return f"{unsigned}({as_bits[0]}).view({name})"
        return f"np.array({_nest(list(as_bits), x.shape)}, dtype={unsigned}).view({name})"
    if x.ndim == 0:
        return f"{name}({_element_text(x[()])})"
    return f"np.array({_nest([_element_text(e) for e in x.reshape(-1)], x.shape)}, dtype={name})"


def _nest(items: list[str], shape: tuple) -> str:
    if len(shape) == 1:
        return "[" + ", ".join(items) + "]"
    if shape[0] == 0:
        return "[]"
    step = len(items) // shape[0]
    return "[" + ", ".join(_nest(items[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])) + "]"
