"""testing: `check_rule` searches for an instance of a rule that changes results.

    from descend.testing import check_rule
    from descend.rewrites import load_rules
    for rule in load_rules("my.rules"):
        print(check_rule(rule, examples=200))        # RuleCheck('muli-one', 200 examples)

Each example is a random instance of the rule's own match tree (rule_instances.py) that
the rule matches, with its `where` constraints holding. The rule is applied to the root of
a copy, once, by the rule's own pattern (no folding, no other rule: the rule alone is
under test); the copy must verify and compute what the original does on random inputs
(assert_equivalent: bit-exact, any NaN equal to any NaN, inputs on which the original has
undefined behaviour skipped). Hypothesis shrinks a failure to a small instance, reported
as IR before and after, with the inputs as Python.

A rule no random instance satisfies (its types or constraints never hold) cannot be
checked: that is a failure too, RuleUnchecked, with the reasons the instances were
rejected, unless `allow_unchecked=True`."""

from __future__ import annotations

from collections import Counter
from random import Random
from dataclasses import dataclass, field
from typing import Iterable

from hypothesis import HealthCheck, Phase, Verbosity, find, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable

from descend.ir import DiagnosticError, InsertionPoint, verify
from descend.rewrites.declarative import Rule
from descend.rewrites.rewriter import PatternRewriter, RewriteListener

from .equivalence import _ir, assert_equivalent
from .rule_instances import build_instance, rule_palettes
from .sampling import NoInstance
from .values import values_of

__all__ = ["check_rule", "check_rules", "RuleCheck", "RuleCheckFailure", "RuleUnchecked"]

# Instances tried per hypothesis example before it is rejected.
ATTEMPTS_PER_EXAMPLE = 8
# Examples the preflight search tries before a rule is declared impossible to instantiate.
PREFLIGHT_EXAMPLES = 40


@dataclass
class RuleCheck:
    """How a check went: `examples` instances were rewritten and compared; `reasons`
    counts why other drawn instances were not used."""

    rule: Rule
    examples: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def checked(self) -> bool:
        return self.examples > 0

    def __repr__(self) -> str:
        return f"RuleCheck({self.rule.name!r}, {self.examples} examples)"


class RuleCheckFailure(AssertionError):
    """The rule changed what some instance computes (or broke it); `report` says how."""

    def __init__(self, rule: Rule, report: str):
        self.rule = rule
        self.report = report
        super().__init__(f"rule '{rule.name}'{_where(rule)} does not preserve results: {report}")


class RuleUnchecked(AssertionError):
    """No random instance satisfied the rule's match, so nothing could be checked."""

    def __init__(self, result: RuleCheck, attempts: int):
        self.result = result
        self.summary = (f"could not be checked: none of {attempts} random instances of its "
                        f"match tree could be rewritten and compared")
        self.reasons = [f"{count} x {reason}" for reason, count in result.reasons.most_common(4)]
        self.advice = ("restrict fewer types or constraints, or pass allow_unchecked=True "
                       "(--allow-unchecked) to accept that")
        reasons = "\n".join(f"  {line}" for line in self.reasons) or "  (none recorded)"
        super().__init__(f"rule '{result.rule.name}'{_where(result.rule)} {self.summary}. Most "
                         f"common reasons:\n{reasons}\n{self.advice[0].upper()}{self.advice[1:]}.")


def _where(rule: Rule) -> str:
    loc = rule.location.file_line_col() if rule.location is not None else None
    return f" ({loc.filename}:{loc.line})" if loc is not None else ""


def _short(reason: str) -> str:
    return reason.split("\n", 1)[0][:200]


def _apply_at_root(pattern, root, context) -> bool:
    rewriter = PatternRewriter(RewriteListener(), context=context)
    rewriter.insertion_point = InsertionPoint(root.parent, root)
    rewriter.location = root.location
    rewriter.current_op = root
    return pattern.match_and_rewrite(root, rewriter)


def _can_instantiate(instances, seed: int | None) -> bool:
    """Whether some instance can be drawn at all: a quick search first, so that a rule no
    instance satisfies is reported in a fraction of a second rather than after hypothesis
    has exhausted its budget of rejected examples."""
    search = settings(max_examples=PREFLIGHT_EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate],
                      verbosity=Verbosity.quiet)
    try:
        find(instances, lambda instance: instance is not None, settings=search, random=Random(seed))
    except (NoSuchExample, Unsatisfiable):
        return False
    return True


def check_rule(rule: Rule, examples: int = 100, seed: int | None = None, context=None, *,
               allow_unchecked: bool = False, derandomize: bool = False) -> RuleCheck:
    """Check `rule` on up to `examples` random instances of its match tree. Raises
    RuleCheckFailure (an AssertionError with the shrunk counterexample) if the rule changes
    results, produces IR that does not verify, or crashes; RuleUnchecked if no instance
    could be made, unless `allow_unchecked`. Returns a RuleCheck. `seed` or `derandomize`
    make the search repeatable. Call it from a plain function (not under @given)."""
    if context is None:
        from descend.rewrites.context import default_context
        context = default_context()
    pattern = rule.to_pattern()
    result = RuleCheck(rule)
    attempts = [0]

    @st.composite
    def rule_instances(draw, or_none: bool = False):
        palette = draw(rule_palettes(rule, context), label="types")
        for _ in range(ATTEMPTS_PER_EXAMPLE):
            attempts[0] += 1
            try:
                return build_instance(draw, rule, pattern, palette, context)
            except NoInstance as exc:
                result.rejected += 1
                result.reasons[_short(str(exc))] += 1
        return None if or_none else reject()

    instances = rule_instances()
    if not _can_instantiate(rule_instances(or_none=True), seed):
        if allow_unchecked:
            return result
        raise RuleUnchecked(result, attempts[0])

    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              report_multiple_bugs=False, print_blob=False, verbosity=Verbosity.quiet,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(st.data())
    def rule_preserves_results(data):
        draw = data.draw
        instance = draw(instances, label="instance")
        before = instance.module
        after = before.clone()
        root = list(list(after.block.ops)[-1].regions[0].blocks[0].ops)[-2]
        try:
            applied = _apply_at_root(pattern, root, context)
        except Exception as exc:  # noqa: BLE001 - a rule that crashes is a finding
            raise AssertionError(f"applying the rule raised {type(exc).__name__}: {exc}\n\n"
                                 f"on this instance:\n{_ir(before)}") from exc
        if not applied:
            result.reasons["the rule matched but its replacement could not be built"] += 1
            reject()
        try:
            verify(after)
        except DiagnosticError as exc:
            raise AssertionError(f"the rewritten IR does not verify:\n{exc}\n\n"
                                 f"before:\n{_ir(before)}\n\nafter:\n{_ir(after)}") from None
        inputs = draw(st.tuples(*[values_of(t) for t in instance.arguments]).map(list), label="inputs")
        try:
            compared = assert_equivalent(before, after, inputs)
        except DiagnosticError as exc:  # the original itself cannot run (no semantics, ...)
            result.reasons[_short(f"the instance cannot be interpreted: {exc.message}")] += 1
            reject()
        if compared:
            result.examples += 1

    test = rule_preserves_results if seed is None else hypothesis_seed(seed)(rule_preserves_results)
    try:
        test()
    except Unsatisfiable:
        pass
    except AssertionError as exc:
        raise RuleCheckFailure(rule, str(exc)) from None
    if not result.checked and not allow_unchecked:
        raise RuleUnchecked(result, attempts[0])
    return result


def check_rules(rules: Iterable[Rule], examples: int = 100, seed: int | None = None, context=None,
                **options) -> list[RuleCheck]:
    """check_rule for each rule of a RuleSet (or any iterable of rules), in order; the
    first failure is raised."""
    return [check_rule(rule, examples, seed, context, **options) for rule in rules]
