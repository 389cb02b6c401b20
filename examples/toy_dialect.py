"""A dialect written outside descend, loaded with `descend opt --load-dialect examples/toy_dialect.py`.

Run: descend opt --load-dialect examples/toy_dialect.py examples/toy.mlir
"""

import numpy as np

from descend.ir import (Dialect, IntegerOrIndexLike, Operation, Pure, SameOperandsAndResultType,
                        operand, result)


class AbsDiffOp(Operation):
    """|lhs - rhs| of two integers of the same type."""

    name = "toy.absdiff"
    lhs = operand(IntegerOrIndexLike)
    rhs = operand(IntegerOrIndexLike)
    out = result(IntegerOrIndexLike)
    traits = (Pure(), SameOperandsAndResultType())
    assembly = "$lhs `,` $rhs attr-dict `:` type($out)"

    @staticmethod
    def reference(lhs, rhs):
        return np.abs(lhs - rhs)


TOY = Dialect("toy", [AbsDiffOp], description="an example of a user dialect")
