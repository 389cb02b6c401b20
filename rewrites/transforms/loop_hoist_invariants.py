"""rewrites: `loop-hoist-invariants` (loop-invariant code motion at the loop level): a pure
op directly in a loop.for body whose operands are all defined outside the loop moves to
just before the loop. Inner loops go first, so an invariant climbs as far out as it can.

Only speculatable ops move out of a loop that may run zero times: an op whose class
declares `undefined_behavior` may fault or produce poison (a division, a shift, an op
carrying nsw/nuw or fastmath flags), unless its only hook is those flags and it carries
none. Out of a loop known to run at least once, any pure op moves. Loads never move (a store in the loop may change what
they read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.dialects.arith import undefined
from descend.dialects.loop import ForOp, constant_trip_count
from descend.ir import Context, IsTerminator, Operation, Pure

from ..passes import Pass, register_pass


def _defined_outside(value, loop: Operation) -> bool:
    block = value.owner_block
    owner = block.parent_op if block is not None else None
    return owner is not None and owner is not loop and not loop.is_ancestor_of(owner)


_FLAGS = ("overflowFlags", "fastmath")


def is_speculatable(op: Operation) -> bool:
    """Can `op` run where the program would not have run it, without faulting or poison?"""
    hook = getattr(type(op), "undefined_behavior", None)
    if hook is None:
        return True
    flags_only = hook is undefined.fastmath or getattr(hook, "__qualname__", "").startswith("overflow.")
    if not flags_only:
        return False
    attributes = op.definition.attributes
    return all(op.properties.get(name) in (None, attributes[name].default)
               for name in _FLAGS if name in attributes)


def is_hoistable(op: Operation, loop: ForOp, runs_once: bool) -> bool:
    cls = type(op)
    if cls.definition is None or not cls.has_trait(Pure) or cls.has_trait(IsTerminator) or op.regions:
        return False
    if not runs_once and not is_speculatable(op):
        return False
    return all(_defined_outside(v, loop) for v in op.operands)


def hoist_invariants(loop: ForOp) -> list:
    """Move the invariant ops of `loop`'s body before it; returns the ops moved."""
    trips = constant_trip_count(loop)
    runs_once = trips is not None and trips >= 1
    moved = []
    for op in list(loop.body.blocks[0].ops):
        if is_hoistable(op, loop, runs_once):
            op.move_before(loop)
            moved.append(op)
    return moved


@register_pass
@dataclass(frozen=True)
class LoopHoistInvariants(Pass):
    """Move loop-invariant pure ops out of loop.for bodies, innermost loops first."""

    name: ClassVar[str] = "loop-hoist-invariants"
    statistics: ClassVar[dict] = {"hoisted": "ops moved out of at least one loop"}

    def run(self, op: Operation, ctx: Context) -> None:
        loops = [o for o in op.walk(order="post") if isinstance(o, ForOp)]
        hoisted = set()
        for loop in loops:
            hoisted.update(hoist_invariants(loop))
        self.count("hoisted", len(hoisted))
