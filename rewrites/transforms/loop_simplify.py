"""rewrites: `loop-simplify`, the loop level's cleanup: fold constant (index) arithmetic,
replace a loop.for that runs once by its body (the induction variable becomes the lower
bound), drop loops that run zero times or do nothing, and keep only the taken side of a
loop.if on a constant condition. Results of a removed loop become the values it would have
produced (its initial values, or what its single iteration yields)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.dialects.loop import ForOp, IfOp, constant_trip_count
from descend.dialects.numeric import constant_of
from descend.ir import Context, Operation

from ..debug import channel
from ..greedy import apply_greedily
from ..pass_options import option
from ..passes import Pass, register_pass
from ..pattern import RewritePattern


def _inline_before(rewriter, block, anchor: Operation) -> list:
    """Move `block`'s ops but its terminator before `anchor`; returns the terminator's operands."""
    terminator = block.terminator
    for op in list(block.ops):
        if op is terminator:
            break
        op.move_before(anchor)
        rewriter.listener.notify_op_inserted(op)
    return list(terminator.operands)


class RemoveZeroTripLoop(RewritePattern):
    """for i in [lb, ub) with ub <= lb -> its initial values."""

    root = "loop.for"

    def match_and_rewrite(self, op: ForOp, rewriter) -> bool:
        if constant_trip_count(op) != 0:
            return rewriter.no_match("the trip count is not a constant 0")
        rewriter.replace_op(op, list(op.inits))
        return True


class InlineSingleTripLoop(RewritePattern):
    """for i in [lb, lb + step) { body(i, acc) } -> body(lb, init)."""

    root = "loop.for"

    def match_and_rewrite(self, op: ForOp, rewriter) -> bool:
        if constant_trip_count(op) != 1:
            return rewriter.no_match("the trip count is not a constant 1")
        block = op.body.blocks[0]
        rewriter.replace_all_uses_with(block.args[0], op.lower)
        for arg, init in zip(block.args[1:], op.inits):
            rewriter.replace_all_uses_with(arg, init)
        values = _inline_before(rewriter, block, op)
        rewriter.replace_op(op, values)
        return True


class RemoveEmptyLoop(RewritePattern):
    """A loop whose body only yields: its iter_args unchanged -> its initial values; values
    from outside the loop (when it runs at least once) -> those values."""

    root = "loop.for"

    def match_and_rewrite(self, op: ForOp, rewriter) -> bool:
        block = op.body.blocks[0]
        if block.first is not block.terminator:
            return rewriter.no_match("the body has ops besides loop.yield")
        yielded = list(block.terminator.operands)
        if yielded == list(block.args[1:]):
            rewriter.replace_op(op, list(op.inits))
            return True
        trips = constant_trip_count(op)
        outside = all(v.owner_block is not block for v in yielded)
        if outside and trips is not None and trips >= 1:
            rewriter.replace_op(op, yielded)
            return True
        return rewriter.no_match("the body yields loop-carried values it changes")


class FoldConstantIf(RewritePattern):
    """if true {a} else {b} -> a; if false {a} else {b} -> b (no else: nothing)."""

    root = "loop.if"

    def match_and_rewrite(self, op: IfOp, rewriter) -> bool:
        condition = constant_of(op.condition)
        if condition is None:
            return rewriter.no_match("the condition is not a constant")
        taken = op.then_region if bool(condition) else op.else_region
        values = _inline_before(rewriter, taken.blocks[0], op) if taken.blocks else []
        rewriter.replace_op(op, values)
        return True


LOOP_SIMPLIFY = [RemoveZeroTripLoop(), InlineSingleTripLoop(), RemoveEmptyLoop(), FoldConstantIf()]


@register_pass
@dataclass(frozen=True)
class LoopSimplify(Pass):
    """Fold constant index arithmetic, inline loops of trip count 1, remove empty loops."""

    name: ClassVar[str] = "loop-simplify"
    statistics: ClassVar[dict] = {"rewrites": "loops and ifs simplified", "folds": "ops folded"}

    max_iterations: int = option(10, help="sweeps over the IR before giving up")

    def run(self, op: Operation, ctx: Context) -> None:
        result = apply_greedily(op, LOOP_SIMPLIFY, context=ctx, max_iterations=self.max_iterations,
                                debug=channel("greedy-rewriter"))
        self.count("rewrites", result.rewrites)
        self.count("folds", result.folds)
