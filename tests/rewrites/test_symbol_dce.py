"""The symbol-dce pass: MLIR's liveness from public symbols, nested symbol tables,
references held anywhere in attributes, and the unknown-symbol-table error."""

from __future__ import annotations

import pytest

import descend
from descend.ir import Context, DiagnosticError
from descend.rewrites import PassManager, PipelineError
from descend.testing import assert_structurally_equal


def run(module, pipeline: str = "symbol-dce", context=None):
    PassManager.parse(pipeline, context=context).run(module, context)
    return module


def check(before: str, expected: str, context=None):
    module = run(descend.parse(before, context=context), context=context)
    assert_structurally_equal(module, descend.parse(expected, context=context), locations=False)
    once = module.print()
    assert run(module, context=context).print() == once


def test_private_symbols_reachable_from_public_ones_stay():
    check("""
    func.func @public_function() {
      func.call @live_private_function() : () -> ()
      return
    }
    func.func private @live_private_function() {
      func.call @live_through_chain() : () -> ()
      return
    }
    func.func private @live_through_chain()
    func.func private @dead_private_function() {
      func.call @dead_through_chain() : () -> ()
      return
    }
    func.func private @dead_through_chain() {
      return
    }""", """
    func.func @public_function() {
      func.call @live_private_function() : () -> ()
      return
    }
    func.func private @live_private_function() {
      func.call @live_through_chain() : () -> ()
      return
    }
    func.func private @live_through_chain()""")


def test_dead_cycles_of_private_functions_go():
    check("""
    func.func @main() {
      return
    }
    func.func private @ping() {
      func.call @pong() : () -> ()
      return
    }
    func.func private @pong() {
      func.call @ping() : () -> ()
      return
    }""", """
    func.func @main() {
      return
    }""")


def test_nested_visibility_counts_as_not_private():
    text = """
    func.func nested @kept() {
      return
    }"""
    check(text, text)


def test_nested_symbol_tables_and_nested_references():
    check("""
    module @outer {
      func.func @entry() {
        func.call @inner::@helper() : () -> ()
        return
      }
      module @inner attributes {sym_visibility = "private"} {
        func.func @helper() {
          return
        }
        func.func private @unused() {
          return
        }
      }
      module @gone attributes {sym_visibility = "private"} {
        func.func @anything() {
          return
        }
      }
    }""", """
    module @outer {
      func.func @entry() {
        func.call @inner::@helper() : () -> ()
        return
      }
      module @inner attributes {sym_visibility = "private"} {
        func.func @helper() {
          return
        }
      }
    }""")


def test_references_in_any_attribute_and_from_non_symbol_ops_keep_symbols_alive():
    check("""
    func.func private @in_an_array() {
      return
    }
    func.func private @in_a_dictionary() {
      return
    }
    func.func private @dead() {
      return
    }
    func.func @f() attributes {refs = [@in_an_array], more = {key = @in_a_dictionary}} {
      return
    }""", """
    func.func private @in_an_array() {
      return
    }
    func.func private @in_a_dictionary() {
      return
    }
    func.func @f() attributes {refs = [@in_an_array], more = {key = @in_a_dictionary}} {
      return
    }""")


def test_an_unregistered_op_with_a_region_might_be_a_symbol_table():
    context = Context(allow_unregistered=True)
    module = descend.parse("""
    func.func private @maybe_used() {
      return
    }
    "test.table"() ({
      "test.use"() {callee = @maybe_used} : () -> ()
    }) : () -> ()""", context=context)
    with pytest.raises(DiagnosticError) as caught:
        run(module, context=context)
    assert "potentially unknown symbol table" in str(caught.value)
    assert "pass 'symbol-dce' failed" in str(caught.value)


def test_statistics_and_anchor():
    module = descend.parse("""
    func.func private @a() {
      return
    }
    func.func private @b() {
      return
    }""")
    pm = PassManager.parse("symbol-dce")
    pm.run(module)
    assert next(pm.all_passes()).statistic_values() == {"num-dce'd": 2}
    with pytest.raises(PipelineError, match="runs on 'builtin.module' ops only"):
        PassManager.parse("builtin.module(func.func(symbol-dce))")
