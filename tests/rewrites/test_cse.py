"""The cse pass: before/expected pairs compared structurally, scoping by dominance and
regions, isolation, statistics, idempotence, and a property over random modules."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import descend
from descend.ir import verify
from descend.rewrites import PassManager
from descend.testing import assert_structurally_equal

from .random_arith import arith_modules


def run(pipeline: str, module, context=None):
    PassManager.parse(pipeline, context=context).run(module, context)
    return module


def check(before: str, expected: str, context=None, pipeline: str = "cse"):
    """Run `pipeline` on `before`, compare with `expected`, and check that a second run
    changes nothing (idempotence)."""
    module = run(pipeline, descend.parse(before, context=context), context)
    assert_structurally_equal(module, descend.parse(expected, context=context), locations=False)
    once = module.print()
    assert run(pipeline, module, context).print() == once


def test_identical_ops_in_a_block_are_merged():
    check("""
    func.func @f(%a: i32, %b: i32) -> i32 {
      %0 = arith.addi %a, %b : i32
      %1 = arith.addi %a, %b : i32
      %2 = arith.muli %0, %1 : i32
      %3 = arith.muli %0, %1 : i32
      %4 = arith.subi %2, %3 : i32
      return %4 : i32
    }""", """
    func.func @f(%a: i32, %b: i32) -> i32 {
      %0 = arith.addi %a, %b : i32
      %2 = arith.muli %0, %0 : i32
      %4 = arith.subi %2, %2 : i32
      return %4 : i32
    }""")


def test_constants_merge_only_when_value_and_type_agree():
    check("""
    func.func @f() -> (i32, i32, i32, i64) {
      %0 = arith.constant 1 : i32
      %1 = arith.constant 1 : i32
      %2 = arith.constant 2 : i32
      %3 = arith.constant 1 : i64
      return %0, %1, %2, %3 : i32, i32, i32, i64
    }""", """
    func.func @f() -> (i32, i32, i32, i64) {
      %0 = arith.constant 1 : i32
      %2 = arith.constant 2 : i32
      %3 = arith.constant 1 : i64
      return %0, %0, %2, %3 : i32, i32, i32, i64
    }""")


def test_properties_attributes_operand_order_and_result_types_are_part_of_the_key():
    check("""
    func.func @f(%a: i32, %b: i32, %i: index) -> (i32, i32, i32, i32, i32, i32, i64) {
      %0 = arith.addi %a, %b : i32
      %1 = arith.addi %a, %b overflow<nsw> : i32
      %2 = arith.addi %b, %a : i32
      %3 = arith.addi %a, %b {tag = 1} : i32
      %4 = arith.addi %a, %b {tag = 1} : i32
      %5 = arith.index_cast %i : index to i32
      %6 = arith.index_cast %i : index to i64
      return %0, %1, %2, %3, %4, %5, %6 : i32, i32, i32, i32, i32, i32, i64
    }""", """
    func.func @f(%a: i32, %b: i32, %i: index) -> (i32, i32, i32, i32, i32, i32, i64) {
      %0 = arith.addi %a, %b : i32
      %1 = arith.addi %a, %b overflow<nsw> : i32
      %2 = arith.addi %b, %a : i32
      %3 = arith.addi %a, %b {tag = 1} : i32
      %5 = arith.index_cast %i : index to i32
      %6 = arith.index_cast %i : index to i64
      return %0, %1, %2, %3, %3, %5, %6 : i32, i32, i32, i32, i32, i32, i64
    }""")


def test_ops_with_side_effects_or_regions_are_never_merged(scope_context):
    text = """
    func.func @f(%a: i32) -> (i32, i32, i32, i32) {
      %0 = "scope.effect"(%a) : (i32) -> i32
      %1 = "scope.effect"(%a) : (i32) -> i32
      %2 = "scope.pure_region"() ({
        %c = arith.constant 1 : i32
        %u = "scope.effect"(%c) : (i32) -> i32
      }) : () -> i32
      %3 = "scope.pure_region"() ({
        %c = arith.constant 1 : i32
        %u = "scope.effect"(%c) : (i32) -> i32
      }) : () -> i32
      return %0, %1, %2, %3 : i32, i32, i32, i32
    }"""
    check(text, text, scope_context)


def test_enclosing_regions_and_dominating_blocks_are_reused(scope_context):
    check("""
    func.func @f(%a: i32) -> i32 {
      %0 = arith.muli %a, %a : i32
      "scope.region"() ({
        %1 = arith.muli %a, %a : i32
        %u = "scope.effect"(%1) : (i32) -> i32
      }) : () -> ()
      "scope.br"()[^bb1, ^bb2] : () -> ()
    ^bb1:
      %2 = arith.muli %a, %a : i32
      %3 = arith.addi %2, %a : i32
      %v = "scope.effect"(%3) : (i32) -> i32
      "scope.br"()[^bb3] : () -> ()
    ^bb2:
      %4 = arith.addi %0, %a : i32
      %w = "scope.effect"(%4) : (i32) -> i32
      "scope.br"()[^bb3] : () -> ()
    ^bb3:
      %5 = arith.addi %0, %a : i32
      return %5 : i32
    }""", """
    func.func @f(%a: i32) -> i32 {
      %0 = arith.muli %a, %a : i32
      "scope.region"() ({
        %u = "scope.effect"(%0) : (i32) -> i32
      }) : () -> ()
      "scope.br"()[^bb1, ^bb2] : () -> ()
    ^bb1:
      %3 = arith.addi %0, %a : i32
      %v = "scope.effect"(%3) : (i32) -> i32
      "scope.br"()[^bb3] : () -> ()
    ^bb2:
      %4 = arith.addi %0, %a : i32
      %w = "scope.effect"(%4) : (i32) -> i32
      "scope.br"()[^bb3] : () -> ()
    ^bb3:
      %5 = arith.addi %0, %a : i32
      return %5 : i32
    }""", scope_context)


def test_values_of_a_nested_region_do_not_leak_out_of_it(scope_context):
    text = """
    func.func @f(%a: i32) -> i32 {
      "scope.region"() ({
        %0 = arith.muli %a, %a : i32
        %u = "scope.effect"(%0) : (i32) -> i32
      }) : () -> ()
      %1 = arith.muli %a, %a : i32
      return %1 : i32
    }"""
    check(text, text, scope_context)


def test_nothing_is_reused_across_an_isolated_from_above_op(scope_context):
    text = """
    func.func @f() -> i32 {
      %0 = arith.constant 7 : i32
      "scope.isolated"() ({
        %1 = arith.constant 7 : i32
        %2 = arith.constant 7 : i32
        %u = "scope.effect"(%1, %2) : (i32, i32) -> i32
      }) : () -> ()
      return %0 : i32
    }"""
    check(text, text.replace("%2 = arith.constant 7 : i32\n", "").replace("(%1, %2)", "(%1, %1)"),
          scope_context)


def test_functions_are_separate_scopes():
    text = """
    func.func @f() -> i32 {
      %0 = arith.constant 7 : i32
      return %0 : i32
    }
    func.func @g() -> i32 {
      %0 = arith.constant 7 : i32
      return %0 : i32
    }"""
    check(text, text)


def test_dead_pure_ops_met_on_the_way_are_erased_and_counted():
    module = descend.parse("""
    func.func @f(%a: i32) -> i32 {
      %dead = arith.subi %a, %a : i32
      %0 = arith.addi %a, %a : i32
      %1 = arith.addi %a, %a : i32
      %2 = arith.muli %0, %1 : i32
      return %2 : i32
    }""")
    pm = PassManager.parse("builtin.module(func.func(cse))")
    pm.run(module)
    assert "arith.subi" not in module.print()
    cse = next(pm.all_passes())
    assert cse.statistic_values() == {"num-cse'd": 1, "num-dce'd": 1}


def test_runs_on_any_op_it_is_given():
    module = descend.parse("""
    func.func @f(%a: i32) -> i32 {
      %0 = arith.addi %a, %a : i32
      %1 = arith.addi %a, %a : i32
      %2 = arith.muli %0, %1 : i32
      return %2 : i32
    }""")
    for pipeline in ("cse", "builtin.module(func.func(cse))", "builtin.module(any(cse))"):
        copy = module.clone()
        run(pipeline, copy)
        assert copy.print().count("arith.addi") == 1, pipeline


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arith_modules())
def test_cse_keeps_random_modules_verifying_and_is_idempotent(module):
    before = sum(1 for _ in module.walk())
    run("cse", module)
    verify(module)
    assert sum(1 for _ in module.walk()) <= before
    once = module.print()
    assert run("cse", module).print() == once
    for function in module.body.ops:
        keys = [(op.name, tuple(map(id, op.operands)), tuple(op.properties.items()),
                 tuple(op.attributes.items()), op.result_types)
                for op in function.entry_block.ops if op.results]
        assert len(keys) == len(set(keys)), "two identical pure ops survived in one block"
