"""A user's graph-level op and its lowering, outside the repository: `mine.hardtanh`
(clamp to [low, high]) declared as a graph op, with reference semantics, and a compute
builder that lowers it to te. Load it with

    descend opt --load-pass-plugin examples/my_lowering.py examples/my_lowering.mlir \\
        -p 'lower-graph-to-te,lower-te-to-loop'

and the rest of the descent (loop -> llvm -> machine code) needs nothing more."""

import numpy as np

from descend.dialects.graph.base import GraphOp, Kind, float_
from descend.ir import Dialect, TensorType, operand, result
from descend.lowering.compute import lowers
from descend.lowering.compute.elementwise import broadcast_compute


class HardTanhOp(GraphOp):
    """min(max(x, low), high), element by element."""

    name = "mine.hardtanh"
    x = operand(TensorType)
    y = result(TensorType)
    low = float_(-1.0)
    high = float_(1.0)
    kind = Kind.ELEMWISE  # fuse-ops may fuse it like any elementwise graph op

    @classmethod
    def infer(cls, types, attrs):
        return [types[0]]

    @staticmethod
    def reference(x, *, low=-1.0, high=1.0):
        return np.minimum(np.maximum(x, np.asarray(low, x.dtype)), np.asarray(high, x.dtype))


MINE = Dialect("mine", [HardTanhOp])


@lowers("mine.hardtanh")
def hardtanh(kb, op, inputs):
    """One te.compute: out[i] = min(max(x[i], low), high)."""
    low, high = op.low.value, op.high.value
    return [broadcast_compute(kb, op, inputs, lambda b, x: b.min(b.max(x, low), high))]
