"""arith: conversions between integer widths, integers and floats, float widths, index and
integers, and same-width bit casts. Each reads its signless input as signed or unsigned as
its name says (extsi vs extui), elementwise over tensors/vectors."""

from __future__ import annotations

import numpy as np

from ...ir import (FloatType, IndexType, IntegerType, Operation, Pure, SameOperandsAndResultShape,
                   attribute, operand, result)
from ...ir.types import element_type_of
from ..numeric import dtype_of, signed, unsigned, width_of
from . import undefined
from .attrs import OVERFLOW, OVERFLOW_NONE, IntegerOverflowFlagsAttr
from .ops import fold_constants

_INT, _FLOAT, _INDEX = "integer", "float", "index"


def _kind(t) -> str | None:
    e = element_type_of(t)
    if isinstance(e, IntegerType) and e.is_signless:
        return _INT
    if isinstance(e, FloatType):
        return _FLOAT
    if isinstance(e, IndexType):
        return _INDEX
    return None


class _Cast(Operation):
    in_ = operand()
    out = result()
    traits = (Pure(), SameOperandsAndResultShape())
    assembly = "$in_ attr-dict `:` type($in_) `to` type($out)"
    # (input kinds, output kinds, width relation: "lt" out narrower, "gt" out wider, "eq", None)
    kinds: tuple = ((_INT,), (_INT,), None)

    def verify(self) -> None:
        ins, outs, relation = self.kinds
        a, b = self.in_.type, self.out.type
        if _kind(a) not in ins:
            raise self.error(f"operand #0 must be {' or '.join(ins)}-like, but got {a}")
        if _kind(b) not in outs:
            raise self.error(f"result #0 must be {' or '.join(outs)}-like, but got {b}")
        if type(a) is not type(b) and (hasattr(a, "shape") or hasattr(b, "shape")):
            raise self.error(f"operand {a} and result {b} must both be scalars or the same kind of "
                             "shaped type")
        if relation is None:
            return
        wa, wb = width_of(a), width_of(b)
        if relation == "gt" and not wb > wa:
            raise self.error(f"result type {b} must be wider than operand type {a}")
        if relation == "lt" and not wb < wa:
            raise self.error(f"result type {b} must be shorter than operand type {a}")
        if relation == "eq" and wb != wa:
            raise self.error(f"operand type {a} and result type {b} are cast incompatible: "
                             "bit widths differ")

    def fold(self):
        return fold_constants(self)


class ExtSIOp(_Cast):
    """Sign-extends an integer to a wider one (i1 true becomes -1)."""

    name = "arith.extsi"
    kinds = ((_INT,), (_INT,), "gt")

    @staticmethod
    def reference(in_, result_type=None):
        return signed(in_).astype(dtype_of(result_type))


class ExtUIOp(_Cast):
    """Zero-extends an integer to a wider one."""

    name = "arith.extui"
    kinds = ((_INT,), (_INT,), "gt")

    @staticmethod
    def reference(in_, result_type=None):
        return unsigned(in_).astype(np.uint64)


class TruncIOp(_Cast):
    """Keeps the low bits of an integer."""

    name = "arith.trunci"
    kinds = ((_INT,), (_INT,), "lt")
    overflowFlags = attribute(IntegerOverflowFlagsAttr, default=OVERFLOW_NONE)
    custom_directives = OVERFLOW
    assembly = "$in_ custom<Overflow>($overflowFlags) attr-dict `:` type($in_) `to` type($out)"
    undefined_behavior = undefined.truncation

    @staticmethod
    def reference(in_, result_type=None):
        return unsigned(in_)


class SIToFPOp(_Cast):
    """Converts a signed integer to the nearest float."""

    name = "arith.sitofp"
    kinds = ((_INT,), (_FLOAT,), None)

    @staticmethod
    def reference(in_, result_type=None):
        return signed(in_).astype(dtype_of(result_type))


class UIToFPOp(_Cast):
    """Converts an unsigned integer to the nearest float."""

    name = "arith.uitofp"
    kinds = ((_INT,), (_FLOAT,), None)

    @staticmethod
    def reference(in_, result_type=None):
        return unsigned(in_).astype(dtype_of(result_type))


class FPToSIOp(_Cast):
    """Converts a float to a signed integer rounding toward zero (out of range: undefined)."""

    name = "arith.fptosi"
    undefined_behavior = undefined.float_to_int(signed_result=True)
    kinds = ((_FLOAT,), (_INT,), None)

    @staticmethod
    def reference(in_, result_type=None):
        return np.trunc(in_).astype(np.int64)


class FPToUIOp(_Cast):
    """Converts a float to an unsigned integer rounding toward zero (out of range: undefined)."""

    name = "arith.fptoui"
    undefined_behavior = undefined.float_to_int(signed_result=False)
    kinds = ((_FLOAT,), (_INT,), None)

    @staticmethod
    def reference(in_, result_type=None):
        return np.trunc(in_).astype(np.uint64)


class ExtFOp(_Cast):
    """Widens a float exactly."""

    name = "arith.extf"
    kinds = ((_FLOAT,), (_FLOAT,), "gt")

    @staticmethod
    def reference(in_, result_type=None):
        return np.asarray(in_).astype(dtype_of(result_type))


class TruncFOp(_Cast):
    """Narrows a float, rounding to nearest even."""

    name = "arith.truncf"
    kinds = ((_FLOAT,), (_FLOAT,), "lt")

    @staticmethod
    def reference(in_, result_type=None):
        return np.asarray(in_).astype(dtype_of(result_type))


class IndexCastOp(_Cast):
    """Converts between index and an integer, sign-extending or truncating."""

    name = "arith.index_cast"
    kinds = ((_INT, _INDEX), (_INT, _INDEX), None)

    def verify(self) -> None:
        super().verify()
        if (_kind(self.in_.type) == _INDEX) == (_kind(self.out.type) == _INDEX):
            raise self.error(f"operand type {self.in_.type} and result type {self.out.type} are "
                             "cast incompatible: exactly one must be index")

    @staticmethod
    def reference(in_, result_type=None):
        return signed(in_).astype(np.int64)


class IndexCastUIOp(IndexCastOp):
    """Converts between index and an integer, zero-extending or truncating."""

    name = "arith.index_castui"

    @staticmethod
    def reference(in_, result_type=None):
        return unsigned(in_).astype(np.uint64)


class BitcastOp(_Cast):
    """Reinterprets the bits of a value as another type of the same width."""

    name = "arith.bitcast"
    kinds = ((_INT, _FLOAT), (_INT, _FLOAT), "eq")

    @staticmethod
    def reference(in_, result_type=None):
        x = np.asarray(in_)
        out = dtype_of(result_type)
        if x.dtype == np.bool_ or out == np.bool_:
            return x.astype(out)
        return np.ascontiguousarray(x).view(out).reshape(np.shape(x))  # rank 0 stays rank 0


CASTS = [ExtSIOp, ExtUIOp, TruncIOp, SIToFPOp, UIToFPOp, FPToSIOp, FPToUIOp, ExtFOp, TruncFOp,
         IndexCastOp, IndexCastUIOp, BitcastOp]
