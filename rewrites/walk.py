"""rewrites: the walk-once driver: visit every op once and apply the first pattern that
matches (xDSL's PatternRewriteWalker without recursion). No folding, no dead-code removal,
no second pass: for rewrites that must happen exactly once per op, such as a lowering step
that would otherwise apply to its own output."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from descend.ir import InsertionPoint, Operation

from .pattern import as_pattern_set
from .rewriter import PatternRewriter, RewriteListener


@dataclass
class WalkResult:
    op: Operation
    rewrites: int = 0
    fired: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return self.rewrites > 0


class _Log(RewriteListener):
    def __init__(self, debug):
        self.debug = debug
        self.pattern = ""

    def notify_match_failure(self, op, reason: str) -> None:
        if self.debug is not None and op is not None:
            self.debug(f"  near miss: '{self.pattern}' on '{op.name}': {reason or 'no match'}")


def apply_once(op: Operation, patterns, *, context=None, order: str = "pre",
               debug: Callable[[str], None] | None = None) -> WalkResult:
    """Apply `patterns` to each op under `op` (not `op` itself) once, in `order` ("pre":
    parents before the ops in their regions, "post": the reverse). Ops created by a rewrite
    are not visited."""
    if context is None:
        from .context import default_context
        context = default_context()
    patterns = as_pattern_set(patterns)
    listener = _Log(debug)
    rewriter = PatternRewriter(listener, context=context, explain=debug is not None)
    result = WalkResult(op)
    targets = [o for region in op.regions for o in region.walk(order)]
    for target in targets:
        if target.parent is None:
            continue  # erased by an earlier rewrite
        for pattern in patterns.for_op(target):
            rewriter.insertion_point = InsertionPoint(target.parent, target)
            rewriter.location = target.location
            rewriter.current_op = target
            listener.pattern = pattern.name
            if pattern.match_and_rewrite(target, rewriter):
                result.rewrites += 1
                result.fired[pattern.name] += 1
                if debug is not None:
                    debug(f"apply '{pattern.name}' to '{target.name}'")
                break
    return result
