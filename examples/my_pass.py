"""A pass plugin: two passes written outside descend, loaded with

    descend opt --load-pass-plugin examples/my_pass.py \
        -p 'builtin.module(func.func(mul-to-shift{max-shift=8},canonicalize,cse))' \
        examples/my_pass.mlir

docs/writing-a-pass.md walks through this file. `mul-to-shift` is a class (options are
dataclass fields); `strip-attribute` is a function (options are keyword-only parameters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.dialects.arith import ConstantOp, ShLIOp
from descend.dialects.numeric import constant_of
from descend.ir import Builder, Context, IntegerAttr, IntegerType, Operation
from descend.rewrites import Pass, function_pass, option


@dataclass(frozen=True)
class MulToShift(Pass):
    """Replace a multiplication by a power-of-two constant with a left shift.

    `x * 8` becomes `x << 3` when 3 <= max-shift. The shift amount is a new constant:
    run canonicalize and cse afterwards to drop the old one and merge duplicates."""

    name: ClassVar[str] = "mul-to-shift"
    statistics: ClassVar[dict] = {"num-rewritten": "multiplications turned into shifts"}

    max_shift: int = option(31, help="largest shift amount to introduce")

    def __post_init__(self):
        # A ValueError here is reported as a bad option, naming the pass.
        if self.max_shift < 0:
            raise ValueError(f"max-shift must be at least 0, got {self.max_shift}")

    def run(self, op: Operation, ctx: Context) -> None:
        # Collect first: the walk must not see the ops this loop creates and erases.
        multiplications = [o for o in op.walk() if o.name == "arith.muli"]
        for mul in multiplications:
            for factor, other in ((mul.rhs, mul.lhs), (mul.lhs, mul.rhs)):
                shift = self.shift_for(factor)
                if shift is not None:
                    self.rewrite(mul, other, shift)
                    break

    def shift_for(self, value) -> int | None:
        """log2 of `value` when it is a scalar power-of-two integer constant in range."""
        if not isinstance(value.type, IntegerType):
            return None
        constant = constant_of(value)
        if constant is None:
            return None
        number = int(constant)
        if number <= 0 or number & (number - 1):
            return None
        shift = number.bit_length() - 1
        return shift if shift <= self.max_shift else None

    def rewrite(self, mul: Operation, other, shift: int) -> None:
        builder = Builder.before(mul)
        amount = builder.build(ConstantOp, value=IntegerAttr(shift, other.type),
                               location=mul.location)
        shl = builder.build(ShLIOp, other, amount.result, location=mul.location)
        shl.attributes.update(mul.attributes)  # keep the user's discardable attributes
        mul.replace_all_uses_with(shl)
        mul.erase()
        self.count("num-rewritten")


@function_pass("strip-attribute")
def strip_attribute(op: Operation, ctx: Context, *, attribute: str = "debug_note") -> None:
    """Remove a discardable attribute from every op (default: debug_note)."""
    for nested in op.walk():
        nested.attributes.pop(attribute, None)
