"""The canonicalize and apply-rules passes, their pattern sources and the debug channel."""

from __future__ import annotations

import pytest

import descend
from descend.ir import DiagnosticError
from descend.rewrites import PassManager, RewritePattern, Rule, RuleSet, op, var
from descend.rewrites.canonicalization import _CACHE, _REGISTERED, register_canonicalization
from descend.rewrites.debug import debugging
from descend.rewrites.transforms.apply_rules import clear_registered_rules, register_rules
from descend.testing import assert_structurally_equal

x = var("x")


def run(pipeline: str, text: str, context=None):
    module = descend.parse(text, context=context)
    PassManager.parse(pipeline, context=context).run(module)
    return module


def expect(module, text: str, context=None) -> None:
    assert_structurally_equal(module, descend.parse(text, context=context), locations=False)


@pytest.fixture
def registry():
    saved = {name: list(patterns) for name, patterns in _REGISTERED.items()}
    yield
    _REGISTERED.clear()
    _REGISTERED.update(saved)
    _CACHE.clear()
    clear_registered_rules()


def test_canonicalize_then_cse_leaves_the_canonical_form():
    module = run("builtin.module(func.func(canonicalize,cse))", """
    func.func @f(%a: i32, %b: i32) -> i32 {
      %c0 = arith.constant 0 : i32
      %c1 = arith.constant 1 : i32
      %x = arith.addi %a, %c0 : i32
      %y = arith.muli %x, %c1 : i32
      %p = arith.addi %y, %b : i32
      %q = arith.addi %y, %b : i32
      %dead = arith.subi %p, %q : i32
      %r = arith.muli %p, %q : i32
      func.return %r : i32
    }""")
    expect(module, """
    func.func @f(%a: i32, %b: i32) -> i32 {
      %p = arith.addi %a, %b : i32
      %r = arith.muli %p, %p : i32
      func.return %r : i32
    }""")


def test_canonicalize_uses_patterns_registered_for_a_dialect_and_can_disable_them(registry):
    register_canonicalization("arith", RuleSet("mine", [Rule("xor-self", op("arith.xori", x, x), 0)]))
    text = """
    func.func @f(%a: i8) -> i8 {
      %0 = arith.xori %a, %a : i8
      func.return %0 : i8
    }"""
    assert "arith.xori" not in run("builtin.module(canonicalize)", text).print()
    kept = run("builtin.module(canonicalize{disable-patterns=xor-self})", text)
    assert "arith.xori" in kept.print() or "arith.constant 0" in kept.print()


def test_op_classes_carry_their_own_canonicalization_patterns(registry):
    from descend.dialects.arith import XOrIOp

    class XorSelf(RewritePattern):
        root = "arith.xori"

        def match_and_rewrite(self, target, rewriter):
            if target.operand(0) is not target.operand(1):
                return rewriter.no_match("operands differ")
            zero = rewriter.create("arith.constant", result_types=[target.result.type],
                                   properties={"value": descend.ir.IntegerAttr(0, target.result.type)})
            rewriter.replace_op(target, zero)
            return True

    XOrIOp.canonicalization_patterns = [XorSelf()]
    try:
        _CACHE.clear()
        module = run("builtin.module(canonicalize{enable-patterns=xor-self})", """
        func.func @f(%a: i8) -> i8 {
          %0 = arith.xori %a, %a : i8
          func.return %0 : i8
        }""")
        assert "arith.xori" not in module.print()
    finally:
        del XOrIOp.canonicalization_patterns
        _CACHE.clear()


def test_apply_rules_from_registered_rule_sets_and_the_debug_channel(registry):
    register_rules(RuleSet("mine", [Rule("subi-self", op("arith.subi", x, x), 0)]))
    lines: list[str] = []
    with debugging(sink=lines.append):
        module = run("builtin.module(apply-rules{fold=false})", """
        func.func @f(%a: i32, %b: i32) -> (i32, i32) {
          %0 = arith.subi %a, %a : i32
          %1 = arith.subi %a, %b : i32
          func.return %0, %1 : i32, i32
        }""")
    assert "arith.constant 0" in module.print()
    assert any("apply 'subi-self'" in line for line in lines)
    assert any("near miss: 'subi-self'" in line and "not the same value as x" in line for line in lines)


def test_apply_rules_without_rules_is_a_located_error(registry):
    with pytest.raises(DiagnosticError, match="no rules to apply"):
        run("builtin.module(apply-rules)", "func.func @f() {\n  func.return\n}")


def test_a_canonicalization_that_never_converges_fails_the_pass(registry):
    y = var("y")
    register_canonicalization("arith", [Rule("swap", op("arith.addi", x, y), op("arith.addi", y, x))])
    with pytest.raises(DiagnosticError, match="'swap' keeps rewriting 'arith.addi'"):
        run("builtin.module(canonicalize)", """
        func.func @f(%a: i32, %b: i32) -> i32 {
          %0 = arith.addi %a, %b : i32
          func.return %0 : i32
        }""")
