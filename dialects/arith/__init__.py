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

ARITH = Dialect("arith", OPS, attributes=[FastMathFlagsAttr, IntegerOverflowFlagsAttr],
                description="integer and float arithmetic")
