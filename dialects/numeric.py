"""dialects: numpy helpers shared by the reference semantics and folders of arith and math:
the storage dtype of a type, signed/unsigned views of signless integers, and conversion
between constant attributes and numpy values."""

from __future__ import annotations

import numpy as np

from ..ir import (Attribute, DenseElementsAttr, FloatAttr, FloatType, IndexType, IntegerAttr,
                  IntegerType, ShapedType, Type)
from ..ir.interpreter import as_value
from ..ir.types import element_type_of

_FLOATS = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "bf16": np.float32}


def dtype_of(t: Type) -> np.dtype:
    """Storage dtype of a scalar or the element of a shaped type. Signless integers are stored
    signed; i1 as bool; bf16 as float32 (so bf16 arithmetic is not rounded to bf16)."""
    e = element_type_of(t)
    if isinstance(e, IndexType):
        return np.dtype(np.int64)
    if isinstance(e, IntegerType):
        if e.width == 1:
            return np.dtype(np.bool_)
        if e.width in (8, 16, 32, 64):
            return np.dtype(f"{'u' if e.signedness == 'u' else 'i'}{e.width // 8}")
        raise ValueError(f"no numpy semantics for {e}: only 1, 8, 16, 32 and 64 bit integers")
    if isinstance(e, FloatType) and e.name in _FLOATS:
        return np.dtype(_FLOATS[e.name])
    raise ValueError(f"no numpy semantics for element type {e}")


def width_of(t: Type) -> int:
    e = element_type_of(t)
    return 64 if isinstance(e, IndexType) else e.width


def signed(x) -> np.ndarray:
    """Two's complement signed view (i1 true is -1, as MLIR reads it in signed ops)."""
    x = np.asarray(x)
    if x.dtype == np.bool_:
        return np.where(x, np.int8(-1), np.int8(0))
    if x.dtype.kind == "u":
        return x.view(x.dtype.str.replace("u", "i"))
    return x


def unsigned(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == np.bool_:
        return x.astype(np.uint8)
    if x.dtype.kind == "i":
        return x.view(x.dtype.str.replace("i", "u"))
    return x


to_type = as_value  # one definition of "store x as a value of type t", in ir.interpreter


_CONSTANT_CLASSES: dict[type, bool] = {}


def constant_attr(value) -> Attribute | None:
    """The `value` attribute of the ConstantLike op defining an SSA value, else None: the
    folders' first question, cheap because most operands are not constants."""
    op = value.defining_op
    if op is None:
        return None
    known = _CONSTANT_CLASSES.get(type(op))
    if known is None:
        from ..ir import ConstantLike
        known = _CONSTANT_CLASSES[type(op)] = op.definition is not None and op.has_trait(ConstantLike)
    return op.properties.get("value") if known else None


def constant_of(value) -> np.ndarray | None:
    """The numpy value of an SSA value defined by a ConstantLike op with a `value`, else None."""
    attr = constant_attr(value)
    return attr_to_value(attr, value.type) if attr is not None else None


def attr_to_value(attr: Attribute, t: Type):
    if isinstance(attr, (IntegerAttr, FloatAttr)):
        return to_type(attr.value, t)
    if isinstance(attr, DenseElementsAttr):
        return to_type(attr.array, t)
    if hasattr(attr, "array") and isinstance(t, ShapedType):
        return to_type(attr.array, t)
    return None


def value_to_attr(x, t: Type) -> Attribute:
    """The constant attribute MLIR would write for value `x` of type `t`."""
    x = to_type(x, t)
    if isinstance(t, ShapedType):
        return DenseElementsAttr(t, x)
    if isinstance(element_type_of(t), FloatType):
        return FloatAttr(float(x), t)
    return IntegerAttr(int(x), t)
