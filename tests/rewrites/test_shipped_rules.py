"""The rule files descend ships: they apply on real IR, and every registered rule preserves
results on random instances of its own match tree (check_rule)."""

from __future__ import annotations

import pytest

import descend
from descend.rewrites import PassManager, apply_greedily
from descend.rewrites.rules import (ARITH_RULES, all_rule_sets, load_packaged, packaged_rule_files,
                                    python_rule_sets)
from descend.testing import assert_structurally_equal, check_rule

# Before -> Expected, each through the greedy driver with ARITH_RULES (and its folding).
CASES = {
    "constants-reassociate": ("""
        func.func @f(%a: i32) -> i32 {
          %c1 = arith.constant 1 : i32
          %c2 = arith.constant 2 : i32
          %x = arith.addi %a, %c1 : i32
          %y = arith.addi %x, %c2 : i32
          func.return %y : i32
        }""", """
        func.func @f(%a: i32) -> i32 {
          %c3 = arith.constant 3 : i32
          %y = arith.addi %a, %c3 : i32
          func.return %y : i32
        }"""),
    "sub-and-add-cancel": ("""
        func.func @f(%a: i64, %b: i64) -> (i64, i64, i64) {
          %s = arith.subi %a, %b : i64
          %t = arith.addi %s, %b : i64
          %u = arith.addi %a, %b : i64
          %v = arith.subi %u, %a : i64
          %w = arith.subi %a, %u : i64
          func.return %t, %v, %w : i64, i64, i64
        }""", """
        func.func @f(%a: i64, %b: i64) -> (i64, i64, i64) {
          %c0 = arith.constant 0 : i64
          %w = arith.subi %c0, %b : i64
          func.return %a, %b, %w : i64, i64, i64
        }"""),
    "xor-and-bitwise": ("""
        func.func @f(%a: i8, %b: i8) -> (i8, i8, i8) {
          %x = arith.xori %a, %b : i8
          %y = arith.xori %x, %b : i8
          %m = arith.constant -1 : i8
          %n = arith.xori %a, %m : i8
          %z = arith.andi %a, %n : i8
          %o = arith.ori %a, %b : i8
          %p = arith.andi %a, %o : i8
          func.return %y, %z, %p : i8, i8, i8
        }""", """
        func.func @f(%a: i8, %b: i8) -> (i8, i8, i8) {
          %c0 = arith.constant 0 : i8
          func.return %a, %c0, %a : i8, i8, i8
        }"""),
    "compare-and-select": ("""
        func.func @f(%a: index, %c: i1, %v: vector<2xi1>, %p: f32, %q: f32) -> (i1, i1, vector<2xi1>, f32) {
          %e = arith.cmpi sle, %a, %a : index
          %true = arith.constant true
          %false = arith.constant false
          %s = arith.select %c, %true, %false : i1
          %vt = arith.constant dense<true> : vector<2xi1>
          %vf = arith.constant dense<false> : vector<2xi1>
          %n = arith.select %v, %vf, %vt : vector<2xi1>
          %nc = arith.xori %c, %true : i1
          %r = arith.select %nc, %p, %q : f32
          func.return %e, %s, %n, %r : i1, i1, vector<2xi1>, f32
        }""", """
        func.func @f(%a: index, %c: i1, %v: vector<2xi1>, %p: f32, %q: f32) -> (i1, i1, vector<2xi1>, f32) {
          %true = arith.constant true
          %vt = arith.constant dense<true> : vector<2xi1>
          %n = arith.xori %v, %vt : vector<2xi1>
          %r = arith.select %c, %q, %p : f32
          func.return %true, %c, %n, %r : i1, i1, vector<2xi1>, f32
        }"""),
    "casts": ("""
        func.func @f(%a: i8) -> (i64, i8, i64) {
          %w = arith.extui %a : i8 to i16
          %x = arith.extui %w : i16 to i64
          %s = arith.extsi %a : i8 to i32
          %t = arith.trunci %s : i32 to i8
          %u = arith.extsi %w : i16 to i64
          func.return %x, %t, %u : i64, i8, i64
        }""", """
        func.func @f(%a: i8) -> (i64, i8, i64) {
          %x = arith.extui %a : i8 to i64
          %u = arith.extui %a : i8 to i64
          func.return %x, %a, %u : i64, i8, i64
        }"""),
    "floats": ("""
        func.func @f(%x: f32, %y: f32) -> (f32, f32, f32) {
          %nx = arith.negf %x : f32
          %ny = arith.negf %y : f32
          %a = arith.negf %nx : f32
          %b = arith.subf %x, %ny : f32
          %c = arith.mulf %nx, %ny : f32
          func.return %a, %b, %c : f32, f32, f32
        }""", """
        func.func @f(%x: f32, %y: f32) -> (f32, f32, f32) {
          %b = arith.addf %x, %y : f32
          %c = arith.mulf %x, %y : f32
          func.return %x, %b, %c : f32, f32, f32
        }"""),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_arith_rules_rewrite_real_ir(name):
    before, expected = CASES[name]
    module = descend.parse(before)
    result = apply_greedily(module, ARITH_RULES)
    assert result.converged and result.rewrites > 0
    descend.verify(module)
    assert_structurally_equal(module, descend.parse(expected), locations=False)


def test_canonicalize_applies_the_shipped_rules():
    module = descend.parse(CASES["constants-reassociate"][0])
    PassManager.parse("builtin.module(func.func(canonicalize))").run(module)
    assert_structurally_equal(module, descend.parse(CASES["constants-reassociate"][1]), locations=False)


def test_floats_are_never_reassociated():
    """(x + c0) + c1 is not x + (c0 + c1) in IEEE arithmetic: no shipped rule may do it."""
    module = descend.parse("""
        func.func @f(%a: f32) -> f32 {
          %c1 = arith.constant 1.0 : f32
          %c2 = arith.constant 2.0 : f32
          %x = arith.addf %a, %c1 : f32
          %y = arith.addf %x, %c2 : f32
          func.return %y : f32
        }""")
    assert apply_greedily(module, ARITH_RULES).rewrites == 0


def test_every_shipped_rule_has_a_law_and_a_location():
    assert packaged_rule_files() == ["arith", "graph"]
    assert load_packaged("arith") is ARITH_RULES and len(ARITH_RULES) >= 40
    for name in packaged_rule_files():
        for rule in load_packaged(name):
            assert rule.law, f"rule '{rule.name}' has no law comment"
            assert rule.location.file_line_col().filename == f"descend/rewrites/rules/{name}.rules"
    with pytest.raises(ValueError, match="no packaged rule file 'nope.rules'"):
        load_packaged("nope")


def test_discovery_finds_python_rule_sets():
    from descend.rewrites import Rule, RuleSet, op, var
    from descend.rewrites import rules as rules_module
    x = var("x")
    probe = RuleSet("probe", [Rule("probe-muli-one", op("arith.muli", x, 1), x)])
    rules_module.PROBE_FOR_TEST = probe  # a module-level constant, as a Python rule set is
    try:
        assert any(rule_set is probe for rule_set in python_rule_sets())
        assert any(rule_set is probe for rule_set in all_rule_sets())
    finally:
        del rules_module.PROBE_FOR_TEST


REGISTERED = [(rule_set.name, rule) for rule_set in all_rule_sets() for rule in rule_set]


@pytest.mark.parametrize("rule", [rule for _, rule in REGISTERED],
                         ids=[f"{name}:{rule.name}" for name, rule in REGISTERED])
def test_every_registered_rule_preserves_results(rule):
    # Few examples per rule keep CI fast; `descend check-rules` runs more.
    result = check_rule(rule, examples=12, seed=0)
    assert result.examples > 0
