"""rewrites: the `canonicalize` pass: fold every op, drop dead ones, and apply the
canonicalization patterns of every registered op and dialect, to a fixed point.

Non-convergence is an error naming the patterns that kept firing (MLIR only warns unless a
test asks for `test-convergence`; a canonical form that never settles is a bug worth a
failure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.ir import Context, Operation

from ..canonicalization import canonicalization_patterns
from ..debug import channel
from ..greedy import apply_greedily
from ..pass_options import option
from ..passes import Pass, register_pass


@register_pass
@dataclass(frozen=True)
class Canonicalize(Pass):
    """Fold, remove dead ops and apply every canonicalization pattern to a fixed point."""

    name: ClassVar[str] = "canonicalize"
    statistics: ClassVar[dict] = {"rewrites": "patterns applied", "folds": "ops folded",
                                  "erased": "ops erased"}

    max_iterations: int = option(10, help="sweeps over the IR before giving up")
    max_num_rewrites: int = option(-1, help="rewrites allowed in one sweep (-1: automatic bound)")
    disable_patterns: tuple[str, ...] = option((), help="pattern names not to apply")
    enable_patterns: tuple[str, ...] = option((), help="apply only these pattern names")

    def run(self, op: Operation, ctx: Context) -> None:
        patterns = canonicalization_patterns(ctx, self.disable_patterns, self.enable_patterns)
        result = apply_greedily(op, patterns, context=ctx, max_iterations=self.max_iterations,
                                max_rewrites=None if self.max_num_rewrites < 0 else self.max_num_rewrites,
                                debug=channel("greedy-rewriter"))
        self.count("rewrites", result.rewrites)
        self.count("folds", result.folds)
        self.count("erased", result.erased)
