"""The greedy driver: folding, dead-op removal, constants, convergence and its failures."""

from __future__ import annotations

import pytest

import descend
from descend.rewrites import (PatternRewriter, RewriteListener, RewriteNotConverged, RewritePattern,
                              Rule, apply_greedily, const, op, var)
from descend.testing import assert_structurally_equal


def run(text: str, patterns=(), **options):
    module = descend.parse(text)
    result = apply_greedily(module, list(patterns), **options)
    descend.verify(module)
    return module, result


def expect(module, text: str) -> None:
    assert_structurally_equal(module, descend.parse(text), locations=False)


def test_folds_removes_dead_ops_and_hoists_unique_constants():
    module, result = run("""
    func.func @f(%a: i32, %b: i32) -> i32 {
      %one = arith.constant 1 : i32
      %x = arith.muli %a, %one : i32
      %dead = arith.subi %a, %b : i32
      %two = arith.constant 2 : i32
      %s = arith.addi %one, %two : i32
      %t = arith.constant 3 : i32
      %y = arith.addi %x, %s : i32
      %z = arith.addi %y, %t : i32
      func.return %z : i32
    }""")
    expect(module, """
    func.func @f(%a: i32, %b: i32) -> i32 {
      %c3 = arith.constant 3 : i32
      %y = arith.addi %a, %c3 : i32
      %z = arith.addi %y, %c3 : i32
      func.return %z : i32
    }""")
    assert result.converged and result.folds >= 3 and result.erased >= 4


def test_commutative_ops_keep_constants_on_the_right():
    module, _ = run("""
    func.func @f(%a: i32) -> i32 {
      %c = arith.constant 7 : i32
      %y = arith.muli %c, %a : i32
      func.return %y : i32
    }""")
    expect(module, """
    func.func @f(%a: i32) -> i32 {
      %c = arith.constant 7 : i32
      %y = arith.muli %a, %c : i32
      func.return %y : i32
    }""")


def test_a_fixed_point_is_stable():
    text = """
    func.func @f(%a: i32) -> i32 {
      %c = arith.constant 7 : i32
      %y = arith.muli %a, %c : i32
      func.return %y : i32
    }"""
    module, first = run(text)
    second = apply_greedily(module, [])
    assert second.converged and not second.changed and second.iterations == 1


x, y = var("x"), var("y")
SWAP = Rule("swap-constant-left", op("arith.addi", x, const("c")), op("arith.addi", const("c"), x))
SWAP_BACK = Rule("swap-constant-right", op("arith.addi", const("c"), x), op("arith.addi", x, const("c")))
ADD = """
func.func @f(%a: i32) -> i32 {
  %c = arith.constant 7 : i32
  %y = arith.addi %a, %c : i32
  func.return %y : i32
}"""


def test_an_oscillating_pair_is_one_error_naming_both_rules_and_the_op():
    module = descend.parse(ADD, filename="osc.mlir")
    with pytest.raises(RewriteNotConverged) as caught:
        apply_greedily(module, [SWAP, SWAP_BACK], fold=False)
    message = str(caught.value)
    assert "'swap-constant-left'" in message and "'swap-constant-right'" in message
    assert message.startswith("osc.mlir:4:8: error: patterns ")
    assert "'arith.addi'" in message
    assert "  %y = arith.addi %a, %c : i32" in message


class GrowNegation(RewritePattern):
    """x + y -> x + (0 - (0 - y)): never the same op twice, never done."""

    root = "arith.addi"

    def match_and_rewrite(self, target, rewriter: PatternRewriter) -> bool:
        zero = rewriter.create("arith.constant", result_types=[target.result.type],
                               properties={"value": descend.ir.IntegerAttr(0, target.result.type)})
        inner = rewriter.create("arith.subi", [zero.result, target.operand(1)], [target.result.type])
        outer = rewriter.create("arith.subi", [zero.result, inner.result], [target.result.type])
        new = rewriter.create("arith.addi", [target.operand(0), outer.result], [target.result.type])
        rewriter.replace_op(target, new)
        return True


def test_a_pattern_that_never_stops_exhausts_the_budget_with_a_diagnostic():
    module = descend.parse(ADD)
    with pytest.raises(RewriteNotConverged) as caught:
        apply_greedily(module, [GrowNegation()], fold=False, max_rewrites=200)
    assert "gave up after 201 rewrites" in str(caught.value)
    assert "'grow-negation'" in str(caught.value)


def test_non_convergence_can_be_returned_instead_of_raised():
    module = descend.parse(ADD)
    result = apply_greedily(module, [GrowNegation()], fold=False, max_rewrites=50,
                            raise_on_failure=False)
    assert not result.converged
    assert "gave up" in result.diagnostic.message


def test_max_iterations_bounds_the_driver():
    class OnePerIteration(RewritePattern):
        """Renames a discardable attribute counter: a change per visit, bounded by iterations."""
        root = "arith.addi"

        def match_and_rewrite(self, target, rewriter):
            count = target.attributes.get("n")
            value = count.value + 1 if count is not None else 0
            with rewriter.modify(target):
                target.attributes["n"] = descend.ir.IntegerAttr(value, descend.ir.i64)
            return True

    module = descend.parse(ADD)
    with pytest.raises(RewriteNotConverged):
        apply_greedily(module, [OnePerIteration()], max_iterations=3, max_rewrites=10)


def test_debug_log_shows_applications_and_near_misses_with_reasons():
    lines = []
    module = descend.parse("""
    func.func @f(%a: i32, %b: i32) -> i32 {
      %y = arith.addi %a, %b : i32
      func.return %y : i32
    }""")
    apply_greedily(module, [SWAP], debug=lines.append)
    assert any("near miss: 'swap-constant-left'" in line and "not a constant" in line for line in lines)


class Recorder(RewriteListener):
    def __init__(self):
        self.events = []

    def notify_op_inserted(self, op):
        self.events.append(("inserted", op.name))

    def notify_op_replaced(self, op, values):
        self.events.append(("replaced", op.name))

    def notify_op_erased(self, op):
        self.events.append(("erased", op.name))

    def notify_op_modified(self, op):
        self.events.append(("modified", op.name))


def test_the_rewriter_notifies_every_change():
    module = descend.parse(ADD)
    func = next(o for o in module.walk() if o.name == "func.func")
    add = next(o for o in module.walk() if o.name == "arith.addi")
    recorder = Recorder()
    rewriter = PatternRewriter(recorder, context=descend.Context())
    rewriter.insertion_point = descend.ir.InsertionPoint.before(add)
    sub = rewriter.create("arith.subi", [add.operand(0), add.operand(1)], [add.result.type])
    rewriter.replace_op(add, sub)
    with rewriter.modify(sub):
        sub.attributes["tag"] = descend.ir.UnitAttr()
    assert recorder.events == [("inserted", "arith.subi"), ("replaced", "arith.addi"),
                               ("erased", "arith.addi"), ("modified", "arith.subi")]
    assert "arith.subi" in func.print()
    descend.verify(module)


def test_a_pattern_that_declines_changes_nothing():
    module = descend.parse(ADD)
    before = module.print()

    class Declines(RewritePattern):
        root = "arith.addi"

        def match_and_rewrite(self, target, rewriter):
            return rewriter.no_match("never")

    result = apply_greedily(module, [Declines()])
    assert result.converged and result.rewrites == 0
    assert module.print() == before
