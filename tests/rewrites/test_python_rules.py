"""Rules declared in Python: the vocabulary, its matcher and its replacements."""

from __future__ import annotations

import pytest

import descend
from descend.ir import i32
from descend.rewrites import (PatternSet, Rule, RuleError, RuleSet, apply_greedily, apply_once, call,
                              const, op, splat, tvar, var)
from descend.testing import assert_structurally_equal

x, y, p, q = var("x"), var("y"), var("p"), var("q")


def rewrite(text: str, rules, context=None, **options):
    module = descend.parse(text, context=context)
    result = apply_greedily(module, rules, context=context, **options)
    descend.verify(module)
    return module, result


def expect(module, text: str, context=None) -> None:
    assert_structurally_equal(module, descend.parse(text, context=context), locations=False)


def test_a_variable_used_twice_must_bind_the_same_value():
    rules = [Rule("subi-self", op("arith.subi", x, x), 0)]
    module, result = rewrite("""
    func.func @f(%a: i32, %b: i32) -> (i32, i32) {
      %0 = arith.subi %a, %a : i32
      %1 = arith.subi %a, %b : i32
      func.return %0, %1 : i32, i32
    }""", rules, fold=False)
    assert result.fired["subi-self"] == 1
    expect(module, """
    func.func @f(%a: i32, %b: i32) -> (i32, i32) {
      %c0 = arith.constant 0 : i32
      %1 = arith.subi %a, %b : i32
      func.return %c0, %1 : i32, i32
    }""")


def test_literals_match_splat_constants_and_build_constants_of_the_surrounding_type():
    rules = [Rule("muli-zero", op("arith.muli", x, splat(0)), 0),
             Rule("addi-one-one", op("arith.addi", x, x), op("arith.muli", x, 2))]
    module, _ = rewrite("""
    func.func @f(%a: vector<4xi16>, %b: vector<4xi16>) -> (vector<4xi16>, vector<4xi16>) {
      %z = arith.constant dense<0> : vector<4xi16>
      %0 = arith.muli %a, %z : vector<4xi16>
      %1 = arith.addi %b, %b : vector<4xi16>
      func.return %0, %1 : vector<4xi16>, vector<4xi16>
    }""", rules)
    expect(module, """
    func.func @f(%a: vector<4xi16>, %b: vector<4xi16>) -> (vector<4xi16>, vector<4xi16>) {
      %z = arith.constant dense<0> : vector<4xi16>
      %c2 = arith.constant dense<2> : vector<4xi16>
      %1 = arith.muli %b, %c2 : vector<4xi16>
      func.return %z, %1 : vector<4xi16>, vector<4xi16>
    }""")


def test_negative_zero_is_not_zero():
    rules = [Rule("addf-zero", op("arith.addf", x, splat(0.0)), x)]
    module, result = rewrite("""
    func.func @f(%a: f32) -> f32 {
      %z = arith.constant -0.0 : f32
      %0 = arith.addf %a, %z : f32
      func.return %0 : f32
    }""", rules, fold=False)
    assert result.rewrites == 0


def test_type_constraints_type_variables_and_type_classes():
    t = tvar("t")
    rules = [Rule("float-only", op("arith.addf", var("x", type="float"), var("y", type=t), type=t),
                  op("arith.addf", y, x)),
             Rule("i32-only", op("arith.addi", var("x", type=i32), y), op("arith.subi", x, y))]
    module, result = rewrite("""
    func.func @f(%a: i64, %b: i64, %c: i32, %d: i32) -> (i64, i32) {
      %0 = arith.addi %a, %b : i64
      %1 = arith.addi %c, %d : i32
      func.return %0, %1 : i64, i32
    }""", rules, fold=False, max_iterations=2)
    assert result.fired == {"i32-only": 1}


def test_attribute_variables_where_constraints_and_unregistered_ops():
    context = descend.Context(allow_unregistered=True)
    rules = RuleSet("transposes", [
        Rule("transpose-inverse",
             op("t.transpose", op("t.transpose", x, attrs={"perm": p}), attrs={"perm": q}),
             x, where=[call("compose_to_identity", p, q)]),
        Rule("transpose-compose",
             op("t.transpose", op("t.transpose", x, attrs={"perm": p}), attrs={"perm": q}),
             op("t.transpose", x, attrs={"perm": call("compose_permutations", p, q)}), benefit=1),
    ])
    module, result = rewrite("""
    func.func @f(%a: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<4x2x3xf32>) {
      %0 = "t.transpose"(%a) {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
      %1 = "t.transpose"(%0) {perm = array<i64: 1, 0, 2>} : (tensor<3x2x4xf32>) -> tensor<2x3x4xf32>
      %2 = "t.transpose"(%a) {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
      %3 = "t.transpose"(%2) {perm = array<i64: 1, 2, 0>} : (tensor<3x4x2xf32>) -> tensor<4x2x3xf32>
      func.return %1, %3 : tensor<2x3x4xf32>, tensor<4x2x3xf32>
    }""", rules, context=context, remove_dead=False)
    assert result.fired == {"transpose-inverse": 1, "transpose-compose": 1}
    func = next(o for o in module.walk() if o.name == "func.func")
    text = func.print()
    assert '"t.transpose"(%a) {perm = array<i64: 2, 0, 1>}' in text
    assert "return %a," in text


def test_benefit_orders_patterns_and_defaults_to_the_size_of_the_match():
    small = Rule("small", op("arith.addi", x, y), op("arith.subi", x, y))
    big = Rule("big", op("arith.addi", op("arith.muli", x, y), y), x)
    assert (small.benefit, big.benefit) == (1, 2)
    patterns = PatternSet([small, big])
    assert [pattern.name for pattern in patterns.for_op_name("arith.addi")] == ["big", "small"]
    assert patterns.for_op_name("arith.muli") == ()


def test_a_rule_using_an_unbound_name_or_unknown_function_is_rejected():
    with pytest.raises(RuleError, match="'y' is used but never bound"):
        Rule("bad", op("arith.addi", x, x), y).to_pattern()
    with pytest.raises(RuleError, match="unknown constraint function 'no_such'"):
        Rule("bad", op("arith.addi", x, x), x, where=[call("no_such", x)]).to_pattern()
    with pytest.raises(RuleError, match="rooted at an op"):
        Rule("bad", x, x)
    with pytest.raises(RuleError, match="defined twice"):
        RuleSet("s", [Rule("a", op("arith.addi", x, x), x), Rule("a", op("arith.subi", x, x), x)])


def test_a_builder_that_declines_leaves_no_trace():
    def maybe(rewriter, value):
        rewriter.create("arith.constant", result_types=[i32],
                        properties={"value": descend.ir.IntegerAttr(5, i32)})
        return None

    rule = Rule("declines", op("arith.addi", x, y), op("arith.subi", x, call(maybe, y)))
    module, result = rewrite("""
    func.func @f(%a: i32, %b: i32) -> i32 {
      %0 = arith.addi %a, %b : i32
      func.return %0 : i32
    }""", [rule], fold=False)
    assert result.rewrites == 0 and result.iterations == 1
    assert "arith.constant" not in module.print()


def test_apply_once_visits_each_op_once():
    rule = Rule("wrap", op("arith.addi", x, y), op("arith.addi", y, x))
    module = descend.parse("""
    func.func @f(%a: i32, %b: i32) -> i32 {
      %0 = arith.addi %a, %b : i32
      %1 = arith.addi %0, %b : i32
      func.return %1 : i32
    }""")
    result = apply_once(module, [rule])
    assert result.rewrites == 2
    descend.verify(module)
    assert "arith.addi %b, %a" in module.print()
