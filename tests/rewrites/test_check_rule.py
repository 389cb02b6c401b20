"""check_rule: wrong rules are caught with a shrunk counterexample, right ones pass, and a
rule no instance satisfies is reported as unchecked rather than silently passed."""

from __future__ import annotations

import pytest

from descend.dialects.numeric import value_to_attr
from descend.rewrites import BUILDERS, Rule, RuleSet, builder_function, op, parse_rules, var
from descend.rewrites.functions import constant_value
from descend.testing import RuleCheckFailure, RuleUnchecked, check_rule, check_rules


def rule(text: str) -> Rule:
    (only,) = parse_rules(text, "test.rules")
    return only


def test_swapped_subtraction_is_caught_with_a_counterexample():
    with pytest.raises(RuleCheckFailure) as info:
        check_rule(rule("rule subi-swap:\n  arith.subi(x, y) -> arith.subi(y, x)\n"), seed=1)
    report = info.value.report
    assert info.value.rule.name == "subi-swap"
    assert "before and after are not equivalent: result #0 differs" in report
    assert "inputs = [" in report
    before, after = report.split("\nbefore:\n")[1].split("\nafter:\n")
    assert "arith.subi %arg0, %arg1" in before and "arith.subi %arg1, %arg0" in after
    assert str(info.value).startswith("rule 'subi-swap' (test.rules:1) does not preserve results")


@pytest.mark.parametrize("text", [
    # -(x - y) is not y - x: x == y gives -0.0 on the left, +0.0 on the right
    "rule negf-subf:\n  arith.negf(arith.subf(x, y)) -> arith.subf(y, x)\n",
    # floats do not reassociate
    "rule addf-reassociate:\n  arith.addf(arith.addf(x, y), z) -> arith.addf(x, arith.addf(y, z))\n",
    # a comparison's operands cannot be swapped without mirroring the predicate
    "rule cmpi-swap:\n  arith.cmpi(x, y) {predicate = p} -> arith.cmpi(y, x) {predicate = p}\n",
    # the shift amount is taken modulo nothing: (x << 1) >> 1 loses the top bit
    "rule shift-cancel:\n  arith.shrui(arith.shli(x, 1), 1) -> x\n",
])
def test_subtly_wrong_rules_are_caught(text):
    with pytest.raises(RuleCheckFailure):
        check_rule(rule(text), examples=200, seed=2)


def test_right_rules_pass_and_count_their_examples():
    result = check_rule(rule("rule xori-cancel:\n  arith.xori(arith.xori(x, y), y) -> x\n"), examples=25, seed=3)
    assert result.checked and result.examples == 25
    assert repr(result) == "RuleCheck('xori-cancel', 25 examples)"


def test_type_patterns_and_constraints_shape_the_instances():
    typed = rule("rule typed:\n  arith.addf(x : f32, y) -> arith.addf(y, x)\n")
    assert check_rule(typed, examples=10, seed=4).examples == 10
    # a variable that must be a constant is sometimes drawn as one
    constant = rule("rule c:\n  arith.addi(x, y) where is_constant(y) -> arith.addi(y, x)\n")
    assert check_rule(constant, examples=10, seed=5).examples == 10
    # a literal attribute is set on the instance as written
    literal = rule("rule eq-swap:\n  arith.cmpi(x, y) {predicate = 0 : i64} -> arith.cmpi(y, x) {predicate = 0 : i64}\n")
    assert check_rule(literal, examples=10, seed=6).examples == 10


def test_python_rules_and_builder_functions():
    @builder_function("test_negated")
    def negated(rewriter, c):
        value = constant_value(c)
        return value_to_attr(value if value.dtype == bool else -value, c.type)  # in i1, -x == x

    try:
        subtract = rule("rule subi-to-addi:\n  arith.subi(x, const(c)) -> arith.addi(x, test_negated(c))\n")
        assert check_rule(subtract, examples=20, seed=7).checked
    finally:
        del BUILDERS["test_negated"]
    x = var("x")
    python_rule = Rule("muli-one", op("arith.muli", x, 1), x)
    assert check_rule(python_rule, examples=10, seed=8).checked


def test_a_rule_no_instance_satisfies_is_unchecked():
    never = rule("rule never:\n  arith.addi(x : f32, y) -> x\n")
    with pytest.raises(RuleUnchecked) as info:
        check_rule(never, examples=20, seed=9)
    message = str(info.value)
    assert message.startswith("rule 'never' (test.rules:1) could not be checked: none of")
    assert "no well-typed instance of 'arith.addi'" in message
    result = check_rule(never, examples=20, seed=9, allow_unchecked=True)
    assert not result.checked and result.rejected > 0


def test_check_rules_runs_a_whole_set_and_stops_at_the_first_failure():
    rules = parse_rules("rule ok:\n  arith.xori(arith.xori(x, y), y) -> x\n"
                        "rule wrong:\n  arith.subi(x, y) -> arith.subi(y, x)\n"
                        "rule never-reached:\n  arith.addi(x, y) -> arith.addi(y, x)\n")
    assert [r.rule.name for r in check_rules(RuleSet("first", [rules["ok"]]), examples=5, seed=0)] == ["ok"]
    with pytest.raises(RuleCheckFailure) as info:
        check_rules(rules, examples=50, seed=0)
    assert info.value.rule.name == "wrong"


def test_an_op_without_semantics_makes_the_rule_unchecked_not_a_crash():
    from descend.ir import Context, Dialect, IntegerOrIndexLike, Operation, Pure, operand, result

    class Opaque(Operation):
        name = "nosem.opaque"
        x = operand(IntegerOrIndexLike)
        r = result(IntegerOrIndexLike)
        traits = (Pure(),)

        @classmethod
        def infer_result_types(cls, operands, properties):
            return [operands[0].type]

    context = Context()
    context.register(Dialect("nosem", [Opaque]))
    (opaque,) = parse_rules("rule a:\n  nosem.opaque(nosem.opaque(x)) -> x\n", context=context)
    with pytest.raises(RuleUnchecked, match="the instance cannot be interpreted: 'nosem.opaque' op "
                                            "has no reference semantics"):
        check_rule(opaque, examples=10, seed=0, context=context)
