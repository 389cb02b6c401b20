"""The dce pass: dead chains, what is never removable, unreachable blocks, idempotence, and
a property over random modules."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import descend
from descend.ir import verify
from descend.rewrites import PassManager
from descend.rewrites.transforms.dce import is_trivially_dead
from descend.testing import assert_structurally_equal

from .random_arith import arith_modules


def run(pipeline: str, module, context=None):
    PassManager.parse(pipeline, context=context).run(module, context)
    return module


def check(before: str, expected: str, context=None, pipeline: str = "dce"):
    module = run(pipeline, descend.parse(before, context=context), context)
    assert_structurally_equal(module, descend.parse(expected, context=context), locations=False)
    once = module.print()
    assert run(pipeline, module, context).print() == once


def test_a_dead_chain_dies_in_one_run():
    check("""
    func.func @f(%a: i32) -> i32 {
      %c = arith.constant 3 : i32
      %0 = arith.addi %a, %c : i32
      %1 = arith.muli %0, %0 : i32
      %2 = arith.subi %1, %a : i32
      %live = arith.xori %a, %a : i32
      return %live : i32
    }""", """
    func.func @f(%a: i32) -> i32 {
      %live = arith.xori %a, %a : i32
      return %live : i32
    }""")


def test_side_effects_terminators_and_symbols_stay(scope_context):
    text = """
    func.func private @unused() {
      return
    }
    func.func @f(%a: i32) {
      %c = arith.constant 1 : i32
      %e = "scope.effect"(%c) : (i32) -> i32
      return
    }"""
    check(text, text, scope_context)


def test_a_pure_op_with_regions_goes_only_if_its_body_is_pure(scope_context):
    check("""
    func.func @f(%a: i32) {
      %0 = "scope.pure_region"() ({
        %c = arith.constant 1 : i32
        %d = arith.addi %c, %a : i32
      }) : () -> i32
      %1 = "scope.pure_region"() ({
        %e = "scope.effect"(%a) : (i32) -> i32
      }) : () -> i32
      return
    }""", """
    func.func @f(%a: i32) {
      %1 = "scope.pure_region"() ({
        %e = "scope.effect"(%a) : (i32) -> i32
      }) : () -> i32
      return
    }""", scope_context)


def test_producers_in_enclosing_blocks_die_with_their_last_nested_user(scope_context):
    check("""
    func.func @f(%a: i32) {
      %0 = arith.muli %a, %a : i32
      "scope.region"() ({
        %1 = arith.addi %0, %a : i32
      }) : () -> ()
      return
    }""", """
    func.func @f(%a: i32) {
      "scope.region"() ({
      }) : () -> ()
      return
    }""", scope_context)


def test_producers_in_dominating_blocks_die_too(scope_context):
    check("""
    func.func @f(%a: i32) {
      %0 = arith.muli %a, %a : i32
      "scope.br"()[^bb1] : () -> ()
    ^bb1:
      %1 = arith.addi %0, %a : i32
      return
    }""", """
    func.func @f(%a: i32) {
      "scope.br"()[^bb1] : () -> ()
    ^bb1:
      return
    }""", scope_context)


def test_unreachable_blocks_are_erased_with_what_only_they_used(scope_context):
    check("""
    func.func @f(%a: i32) -> i32 {
      %0 = arith.muli %a, %a : i32
      "scope.br"()[^bb2] : () -> ()
    ^bb1:
      %1 = arith.addi %0, %a : i32
      %e = "scope.effect"(%1) : (i32) -> i32
      "scope.br"()[^bb3] : () -> ()
    ^bb2:
      return %a : i32
    ^bb3:
      "scope.br"()[^bb1] : () -> ()
    }""", """
    func.func @f(%a: i32) -> i32 {
      "scope.br"()[^bb2] : () -> ()
    ^bb2:
      return %a : i32
    }""", scope_context)


def test_statistics_count_ops_and_blocks(scope_context):
    module = descend.parse("""
    func.func @f(%a: i32) -> i32 {
      %0 = arith.muli %a, %a : i32
      %1 = arith.muli %0, %a : i32
      "scope.br"()[^bb2] : () -> ()
    ^bb1:
      "scope.br"()[^bb2] : () -> ()
    ^bb2:
      return %a : i32
    }""", context=scope_context)
    pm = PassManager.parse("dce", context=scope_context)
    pm.run(module)
    (dce,) = pm.all_passes()
    assert dce.statistic_values() == {"num-dce'd": 2, "num-blocks-erased": 1}


def test_trivially_dead_is_about_uses_purity_and_terminators():
    module = descend.parse("""
    func.func @f(%a: i32) -> i32 {
      %0 = arith.muli %a, %a : i32
      %1 = arith.addi %a, %a : i32
      return %1 : i32
    }""")
    dead, live, ret = module.body.first.body.ops
    assert is_trivially_dead(dead)
    assert not is_trivially_dead(live)
    assert not is_trivially_dead(ret)           # pure, no results, but a terminator
    assert not is_trivially_dead(module.body.first)  # a symbol


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arith_modules())
def test_dce_leaves_every_remaining_value_used(module):
    run("dce", module)
    verify(module)
    for function in module.body.ops:
        for op in function.body.ops:
            assert op.name == "func.return" or all(r.uses for r in op.results), op
    once = module.print()
    assert run("dce", module).print() == once


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arith_modules())
def test_cse_then_dce_agrees_with_dce_then_cse_on_what_is_live(module):
    # Either order leaves each live expression once (which duplicate survives may differ).
    other = module.clone()
    run("cse,dce", module)
    run("dce,cse", other)
    verify(module)
    verify(other)

    def signatures(m):
        return sorted((op.name, str(op.properties), str(op.attributes)) for op in m.walk())

    assert signatures(module) == signatures(other)
