"""The inline pass: what is inlined and what is not (recursion, no_inline, multi-block,
declarations, other symbol tables), dead callee removal, locations, semantics."""

from __future__ import annotations

import numpy as np

import descend
from descend.ir import CallSiteLoc
from descend.rewrites import PassManager
from descend.rewrites.debug import debugging
from descend.rewrites.transforms.inline import strongly_connected_components
from descend.testing import assert_structurally_equal


def run(module, pipeline: str = "inline", context=None):
    PassManager.parse(pipeline, context=context).run(module, context)
    return module


def check(before: str, expected: str, context=None):
    module = run(descend.parse(before, context=context), context=context)
    assert_structurally_equal(module, descend.parse(expected, context=context), locations=False)
    once = module.print()
    assert run(module, context=context).print() == once


def test_a_call_is_replaced_by_the_callee_body_and_the_private_callee_goes():
    check("""
    func.func private @double(%x: i32) -> i32 {
      %0 = arith.addi %x, %x : i32
      return %0 : i32
    }
    func.func @f(%a: i32) -> i32 {
      %0 = func.call @double(%a) : (i32) -> i32
      %1 = arith.muli %0, %a : i32
      return %1 : i32
    }""", """
    func.func @f(%a: i32) -> i32 {
      %0 = arith.addi %a, %a : i32
      %1 = arith.muli %0, %a : i32
      return %1 : i32
    }""")


def test_public_callees_stay_and_a_chain_collapses_in_one_run():
    check("""
    func.func @c(%x: i32) -> i32 {
      %0 = arith.muli %x, %x : i32
      return %0 : i32
    }
    func.func private @b(%x: i32) -> i32 {
      %0 = func.call @c(%x) : (i32) -> i32
      %1 = arith.addi %0, %x : i32
      return %1 : i32
    }
    func.func @a(%x: i32) -> i32 {
      %0 = func.call @b(%x) : (i32) -> i32
      return %0 : i32
    }""", """
    func.func @c(%x: i32) -> i32 {
      %0 = arith.muli %x, %x : i32
      return %0 : i32
    }
    func.func @a(%x: i32) -> i32 {
      %0 = arith.muli %x, %x : i32
      %1 = arith.addi %0, %x : i32
      return %1 : i32
    }""")


def test_recursion_is_never_inlined():
    text = """
    func.func private @self(%x: i32) -> i32 {
      %0 = func.call @self(%x) : (i32) -> i32
      return %0 : i32
    }
    func.func private @ping(%x: i32) -> i32 {
      %0 = func.call @pong(%x) : (i32) -> i32
      return %0 : i32
    }
    func.func private @pong(%x: i32) -> i32 {
      %0 = func.call @ping(%x) : (i32) -> i32
      return %0 : i32
    }
    func.func @f(%x: i32) -> (i32, i32) {
      %0 = func.call @self(%x) : (i32) -> i32
      %1 = func.call @ping(%x) : (i32) -> i32
      return %0, %1 : i32, i32
    }"""
    check(text, text)


def test_no_inline_on_the_call_or_the_callee_is_respected():
    text = """
    func.func private @g(%x: i32) -> i32 attributes {no_inline} {
      return %x : i32
    }
    func.func private @h(%x: i32) -> i32 attributes {noinline} {
      return %x : i32
    }
    func.func private @k(%x: i32) -> i32 {
      return %x : i32
    }
    func.func @f(%x: i32) -> (i32, i32, i32) {
      %0 = func.call @g(%x) : (i32) -> i32
      %1 = func.call @h(%x) : (i32) -> i32
      %2 = "func.call"(%x) <{callee = @k, no_inline}> : (i32) -> i32
      return %0, %1, %2 : i32, i32, i32
    }"""
    check(text, text)


def test_multi_block_callees_and_declarations_stay_and_the_debug_channel_says_why(scope_context):
    text = """
    func.func private @branchy(%x: i32) -> i32 {
      "scope.br"()[^bb1] : () -> ()
    ^bb1:
      return %x : i32
    }
    func.func private @external(i32) -> i32
    func.func @f(%x: i32) -> (i32, i32) {
      %0 = func.call @branchy(%x) : (i32) -> i32
      %1 = func.call @external(%x) : (i32) -> i32
      return %0, %1 : i32, i32
    }"""
    lines: list[str] = []
    with debugging(["inline"], sink=lines.append):
        check(text, text, scope_context)
    assert any("@branchy in @f" in line and "has 2 blocks" in line for line in lines), lines
    assert any("@external in @f" in line and "declaration" in line for line in lines), lines
    assert all(line.startswith("[inline] not inlining the call to ") for line in lines)


def test_calls_into_another_symbol_table_are_left_alone():
    text = """
    module @outer {
      module @inner {
        func.func @helper(%x: i32) -> i32 {
          return %x : i32
        }
      }
      func.func @f(%x: i32) -> i32 {
        %0 = func.call @inner::@helper(%x) : (i32) -> i32
        return %0 : i32
      }
    }"""
    check(text, text)


def test_dead_private_functions_are_erased_as_mlir_does_and_the_erasure_cascades():
    check("""
    func.func private @never_called(%x: i32) -> i32 {
      return %x : i32
    }
    func.func private @leaf(%x: i32) -> i32 {
      return %x : i32
    }
    func.func private @only_used_by_a_dead_function(%x: i32) -> i32 {
      %0 = "func.call"(%x) <{callee = @leaf, no_inline}> : (i32) -> i32
      return %0 : i32
    }
    func.func private @declared(i32) -> i32
    func.func @f(%x: i32) -> i32 {
      return %x : i32
    }""", """
    func.func private @declared(i32) -> i32
    func.func @f(%x: i32) -> i32 {
      return %x : i32
    }""")


def test_inlined_ops_get_call_site_locations_and_statistics_count():
    module = descend.parse("""
    func.func private @double(%x: i32) -> i32 {
      %0 = arith.addi %x, %x : i32
      return %0 : i32
    }
    func.func @f(%a: i32) -> i32 {
      %0 = func.call @double(%a) : (i32) -> i32
      %1 = func.call @double(%0) : (i32) -> i32
      return %1 : i32
    }""", filename="calls.mlir")
    pm = PassManager.parse("inline")
    pm.run(module)
    (function,) = module.body.ops
    first = function.entry_block.first
    assert isinstance(first.location, CallSiteLoc)
    assert first.location.body() == 'callsite("calls.mlir":3:12 at "calls.mlir":7:12)'
    assert next(pm.all_passes()).statistic_values() == {"num-inlined-calls": 2,
                                                       "num-erased-functions": 1}


def test_inlining_preserves_results():
    text = """
    func.func private @poly(%x: i32, %y: i32) -> (i32, i32) {
      %0 = arith.muli %x, %x : i32
      %1 = arith.subi %0, %y : i32
      return %1, %0 : i32, i32
    }
    func.func @f(%a: i32, %b: i32) -> i32 {
      %0:2 = func.call @poly(%a, %b) : (i32, i32) -> (i32, i32)
      %1:2 = func.call @poly(%0#0, %0#1) : (i32, i32) -> (i32, i32)
      %2 = arith.addi %1#0, %1#1 : i32
      return %2 : i32
    }"""
    before = descend.parse(text)
    after = run(descend.parse(text))
    assert "func.call" not in after.print()
    for a, b in [(3, 4), (-7, 100), (2**20, 5)]:
        inputs = [np.int32(a), np.int32(b)]
        assert descend.interpret(before, "f", inputs) == descend.interpret(after, "f", inputs)


def test_strongly_connected_components_come_callees_first():
    edges = {"a": ["b"], "b": ["c", "d"], "c": ["b"], "d": []}
    components = strongly_connected_components(["a", "b", "c", "d"], edges)
    assert [sorted(c) for c in components] == [["d"], ["b", "c"], ["a"]]
