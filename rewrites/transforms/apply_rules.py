"""rewrites: the `apply-rules` pass: apply rule files (or rule sets registered from Python
or with `descend opt --rules FILE`) with the greedy driver, or once per op with `once`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

from descend.ir import Context, Operation
from descend.ir.diagnostics import error

from ..debug import channel
from ..greedy import apply_greedily
from ..pass_options import option
from ..passes import Pass, register_pass
from ..pattern import PatternSet
from ..walk import apply_once

_LOADED: list = []  # rule sets given with --rules or register_rules(), in order
_FILES: dict[str, tuple[float, object]] = {}  # path -> (mtime, RuleSet)


def register_rules(rule_set) -> None:
    """Make a RuleSet (or list of rules/patterns) what `apply-rules` applies by default."""
    _LOADED.append(rule_set)


def registered_rule_sets() -> list:
    return list(_LOADED)


def clear_registered_rules() -> None:
    _LOADED.clear()


def rules_from_file(path: str, context=None):
    """The RuleSet of a `.rules` file, parsed once per modification time."""
    from ..rules_parser import load_rules
    mtime = os.path.getmtime(path)
    cached = _FILES.get(path)
    if cached is None or cached[0] != mtime:
        cached = _FILES[path] = (mtime, load_rules(path, context=context))
    return cached[1]


@register_pass
@dataclass(frozen=True)
class ApplyRules(Pass):
    """Apply the rules of `file` (or every rule set loaded with --rules) to a fixed point."""

    name: ClassVar[str] = "apply-rules"
    statistics: ClassVar[dict] = {"rewrites": "rules applied"}

    file: tuple[str, ...] = option((), help="rule files (comma-separated); default: the --rules files")
    rules: tuple[str, ...] = option((), help="apply only the rules with these names")
    max_iterations: int = option(10, help="sweeps over the IR before giving up")
    fold: bool = option(True, help="also fold ops and remove dead ones, as canonicalize does")
    once: bool = option(False, help="visit each op once (walk driver) instead of iterating")

    def run(self, op: Operation, ctx: Context) -> None:
        sets = []
        for path in self.file:
            if not os.path.exists(path):
                raise error(op.location, f"apply-rules: no such rule file '{path}'")
            sets.append(rules_from_file(path, context=ctx))
        if not self.file:
            sets = registered_rule_sets()
        if not sets:
            raise error(op.location, "apply-rules: no rules to apply; give file=PATH or load "
                                     "rule files with --rules")
        patterns = PatternSet(sets)
        if self.rules:
            unknown = sorted(set(self.rules) - set(patterns.names()))
            if unknown:
                raise error(op.location, f"apply-rules: no rule named {', '.join(map(repr, unknown))}")
            patterns = PatternSet([p for p in patterns if p.name in self.rules])
        if self.once:
            result = apply_once(op, patterns, context=ctx, debug=channel("walk-rewriter"))
        else:
            result = apply_greedily(op, patterns, context=ctx, max_iterations=self.max_iterations,
                                    fold=self.fold, remove_dead=self.fold,
                                    debug=channel("greedy-rewriter"))
        self.count("rewrites", result.rewrites)
