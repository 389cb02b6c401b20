"""rewrites: `loop-unroll`: fully unroll every loop.for of kind "unrolled" whose bounds are
constants and whose trip count is at most `max-trip-count`. Each iteration becomes a copy of
the body with the induction variable a constant and the loop-carried values threaded from
one copy to the next; the loop's results are the last copy's yielded values. Inner loops
are unrolled first. Loops that do not qualify are left as they are (counted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.dialects.arith import ConstantOp
from descend.dialects.loop import ForOp, constant_trip_count
from descend.dialects.numeric import constant_of
from descend.ir import Context, IntegerAttr, Operation, index

from ..pass_options import option
from ..passes import Pass, register_pass


def unroll_fully(loop: ForOp) -> None:
    """Replace `loop` (constant trip count) by copies of its body, in place."""
    lower, step = int(constant_of(loop.lower)), int(constant_of(loop.step))
    block = loop.body.blocks[0]
    terminator = block.terminator
    values = list(loop.inits)
    for k in range(constant_trip_count(loop)):
        mapping = {}
        if block.args[0].uses:
            iv = ConstantOp.build(value=IntegerAttr(lower + k * step, index), location=loop.location)
            loop.parent.insert_before(loop, iv)
            mapping[block.args[0]] = iv.result
        mapping.update(zip(block.args[1:], values))
        for op in block.ops:
            if op is terminator:
                break
            loop.parent.insert_before(loop, op.clone(mapping))
        values = [mapping.get(v, v) for v in terminator.operands]
    for old, new in zip(loop.results, values):
        old.replace_all_uses_with(new)
    loop.erase()


@register_pass
@dataclass(frozen=True)
class LoopUnroll(Pass):
    """Fully unroll loops of kind "unrolled" with constant bounds and a small trip count."""

    name: ClassVar[str] = "loop-unroll"
    statistics: ClassVar[dict] = {"unrolled": "loops unrolled",
                                  "skipped": "unrolled-kind loops left (bounds not constant or too many trips)"}

    max_trip_count: int = option(8, help="unroll only loops with at most this many iterations")

    def __post_init__(self):
        if self.max_trip_count < 0:
            raise ValueError(f"max-trip-count must be at least 0, got {self.max_trip_count}")

    def run(self, op: Operation, ctx: Context) -> None:
        loops = [o for o in op.walk(order="post") if isinstance(o, ForOp) and o.kind.value == "unrolled"]
        for loop in loops:
            trips = constant_trip_count(loop)
            if trips is None or trips > self.max_trip_count:
                self.count("skipped")
                continue
            unroll_fully(loop)
            self.count("unrolled")
