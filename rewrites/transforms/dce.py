"""rewrites: dead code elimination: erase trivially dead ops and unreachable blocks.

An op is trivially dead when it is Pure, no result is used, it is not a terminator or a
symbol (symbols are used by name: that is symbol-dce's job), and every op nested in its
regions is trivially removable too. Blocks are swept bottom-up so a chain of dead ops
dies in one pass; an erased op's operands are re-examined through a worklist, which
catches producers in blocks already swept. Blocks no path from the entry reaches are
erased from multi-block regions (MLIR's region simplification), unless a value they
define is still used outside them (possible only in graph regions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.ir import Context, IsTerminator, Operation, Pure, Symbol

from ..passes import Pass, register_pass

_REMOVABLE: dict[type, bool] = {}


def _removable_class(cls: type) -> bool:
    answer = _REMOVABLE.get(cls)
    if answer is None:
        answer = _REMOVABLE[cls] = (cls.definition is not None and cls.has_trait(Pure)
                                    and not cls.has_trait(IsTerminator) and not cls.has_trait(Symbol))
    return answer


def is_trivially_dead(op: Operation) -> bool:
    """Pure, unused, not a terminator or symbol, and nothing impure nested inside."""
    cls = type(op)
    removable = _REMOVABLE.get(cls)
    if removable is None:
        removable = _removable_class(cls)
    if not removable:
        return False
    for result in op.results:
        if result.uses:
            return False
    return not op.regions or _regions_are_pure(op)


def _regions_are_pure(op: Operation) -> bool:
    for region in op.regions:
        for nested in region.walk():
            cls = type(nested)
            if not (cls.definition is not None and cls.has_trait(Pure)):
                return False
    return True


class _Driver:
    def __init__(self):
        self.erased_ops = 0
        self.erased_blocks = 0
        self.worklist: list[Operation] = []

    def erase(self, op: Operation) -> None:
        for operand in op._operands:
            producer = operand.defining_op
            if producer is not None:
                self.worklist.append(producer)
        op.erase()
        self.erased_ops += 1

    def region(self, region) -> None:
        if len(region.blocks) > 1:
            self.erase_unreachable(region)
        for block in reversed(region.blocks):
            self.block(block)

    def block(self, block) -> None:
        op = block.last
        while op is not None:
            preceding = op.prev
            if op.regions:
                for region in op.regions:
                    self.region(region)
            if is_trivially_dead(op):
                self.erase(op)
            op = preceding

    def drain(self) -> None:
        worklist = self.worklist
        while worklist:
            op = worklist.pop()
            block = op.parent
            if block is not None and block.parent is not None and is_trivially_dead(op):
                self.erase(op)

    def erase_unreachable(self, region) -> None:
        entry = region.blocks[0]
        reachable = {entry}
        stack = [entry]
        while stack:
            for successor in stack.pop().successors:
                if successor not in reachable and successor.parent is region:
                    reachable.add(successor)
                    stack.append(successor)
        dead = [block for block in region.blocks if block not in reachable]
        if not dead or _used_outside(dead):
            return
        for block in dead:
            for op in block.ops:
                for operand in op._operands:
                    producer = operand.defining_op
                    if producer is not None:
                        self.worklist.append(producer)
            block.erase()
            self.erased_blocks += 1


def _used_outside(blocks) -> bool:
    """Does anything outside `blocks` use a value they define?"""
    inside = set(blocks)

    def outside(user: Operation) -> bool:
        block = user.parent
        while block is not None:
            if block in inside:
                return False
            owner = block.parent_op
            block = owner.parent if owner is not None else None
        return True

    for block in blocks:
        values = list(block.args)
        for op in block.ops:
            for nested in op.walk():
                values.extend(nested.results)
        for value in values:
            if any(outside(use.owner) for use in value.uses):
                return True
    return False


@register_pass
@dataclass(frozen=True)
class DCE(Pass):
    """Erase trivially dead ops (pure and unused, in chains) and unreachable blocks."""

    name: ClassVar[str] = "dce"
    statistics: ClassVar[dict] = {"num-dce'd": "Number of operations DCE'd",
                                  "num-blocks-erased": "Number of unreachable blocks erased"}

    def run(self, op: Operation, ctx: Context) -> None:
        driver = _Driver()
        for region in op.regions:
            driver.region(region)
        driver.drain()
        self.count("num-dce'd", driver.erased_ops)
        self.count("num-blocks-erased", driver.erased_blocks)
