"""arith: MLIR's arith dialect (ops in ops.py and casts.py, attributes in attrs.py)."""

from ...ir import Dialect, Operation
from . import casts, ops
from .attrs import (CMPF_PREDICATES, CMPI_PREDICATES, FASTMATH_NONE, OVERFLOW_NONE,
                    FastMathFlagsAttr, IntegerOverflowFlagsAttr, predicate_attr)
from .casts import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
from .ops import fold_constants

OPS = [v for m in (ops, casts) for v in vars(m).values()
       if isinstance(v, type) and issubclass(v, Operation) and isinstance(v.__dict__.get("name"), str)]



def materialize_constant(attr, type_, location):
    """An arith.constant holding a folded value (integer, float or dense of them), else None."""
    if getattr(attr, "type", None) != type_:
        return None
    op = ConstantOp.build(value=attr, location=location)
    try:
        op.verify()
    except Exception:  # noqa: BLE001 - not a value arith can hold: the fold is dropped
        return None
    return op


ARITH = Dialect("arith", OPS, attributes=[FastMathFlagsAttr, IntegerOverflowFlagsAttr],
                description="integer and float arithmetic", materialize_constant=materialize_constant)
