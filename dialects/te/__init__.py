"""te: tensor expressions. `te.compute` defines a tensor element by element from a scalar
body over its index space (TVM's te.compute); `te.kernel` groups the computes of one fused
group with its schedule (`#te.schedule<...>`). `descend.dialects.te.builder` builds them."""

from ...ir import Dialect
from .attrs import ScheduleAttr
from .ops import COMBINERS, OPS, ComputeOp, KernelOp, ReadOp, ReturnOp, YieldOp

TE = Dialect("te", OPS, attributes=[ScheduleAttr],
             description="tensor expressions: te.compute (an element-wise definition with "
                         "optional reduction) and te.kernel (a fused group and its schedule)")

__all__ = ["TE", "COMBINERS", "ComputeOp", "KernelOp", "ReadOp", "ReturnOp", "ScheduleAttr", "YieldOp"]
