"""The dialect-conversion driver: legality, partial and full conversion, recursive
legalization, the failure report, rollback, and rules and plain patterns as conversion
patterns. Type conversion has its own file (test_type_conversion.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import descend
from descend.dialects.arith.ops import AddIOp
from descend.ir import Context, IntegerAttr, i64, print_ir
from descend.rewrites import (Conversion, ConversionError, ConversionPattern, ConversionTarget,
                              Legality, PassManager, RewritePattern, Rule, RuleSet, apply_full_conversion,
                              apply_partial_conversion, call, op, var)
from descend.rewrites.debug import debugging
from descend.testing import assert_structurally_equal

CTX = Context(allow_unregistered=True)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def parse(text: str, filename: str = "in.mlir", context=CTX):
    return descend.parse(text, filename, context=context)


def expect(module, text: str, context=CTX) -> None:
    assert_structurally_equal(module, descend.parse(text, context=context), locations=False)


class Rename(ConversionPattern):
    """`source` -> `to` with the same operands, attributes and result types."""

    def __init__(self, source: str, to: str, benefit: int = 1, bounded: bool = False):
        super().__init__(name=f"{source}-to-{to}", benefit=benefit)
        self.root, self.to, self.bounded_recursion = source, to, bounded

    def rewrite(self, op, operands, rewriter):
        new = rewriter.create(self.to, list(operands), [r.type for r in op.results],
                              attributes=dict(op.attributes))
        rewriter.replace(op, new.results)


def target(legal=(), illegal=(), legal_dialects=("func", "builtin"), **options) -> ConversionTarget:
    return ConversionTarget(legal_ops=legal, illegal_ops=illegal, legal_dialects=legal_dialects, **options)


CHAIN = """
func.func @f(%x: i32) -> i32 {
  %a = "cv.a"(%x) : (i32) -> i32
  %b = "cv.a"(%a) : (i32) -> i32
  return %b : i32
}"""


# ---- the target ----------------------------------------------------------------------------------

def test_an_action_on_an_op_beats_its_dialect_which_beats_the_unknown_policy():
    module = parse("""
    func.func @f(%x: i32) -> i32 {
      %a = arith.addi %x, %x : i32
      %b = arith.muli %a, %a : i32
      %c = "cv.a"(%b) : (i32) -> i32
      return %c : i32
    }""")
    addi, muli, cv, ret = list(module.functions()[0].body.ops)
    t = ConversionTarget(legal_dialects={"arith"}, illegal_ops=[AddIOp])
    assert (t.legality(addi), t.legality(muli), t.legality(cv)) == (Legality.ILLEGAL, Legality.LEGAL,
                                                                   Legality.UNKNOWN)
    assert t.describe(addi) == "op 'arith.addi' is marked illegal"
    assert t.describe(cv) == "the target does not mention it"
    t.mark_unknown_ops("illegal")
    assert t.is_illegal(cv)
    t.mark_unknown_ops(lambda o: o.name == "cv.a")
    assert t.is_legal(cv) and not t.is_legal(ret)
    with pytest.raises(ValueError, match="unknown-op policy"):
        t.mark_unknown_ops("sometimes")


def test_a_dynamic_callback_may_defer_to_the_dialect_and_a_rejected_instance_is_illegal():
    module = parse("""
    func.func @f(%x: i32) -> i32 {
      %a = "cv.a"(%x) {ok} : (i32) -> i32
      %b = "cv.a"(%a) {no} : (i32) -> i32
      %c = "cv.a"(%b) : (i32) -> i32
      return %c : i32
    }""")
    ok, no, plain, _ = list(module.functions()[0].body.ops)
    t = ConversionTarget(legal_dialects={"cv"})
    t.add_dynamically_legal_op("cv.a", lambda o: True if "ok" in o.attributes else
                               False if "no" in o.attributes else None)
    assert [t.legality(o) for o in (ok, no, plain)] == [Legality.LEGAL, Legality.ILLEGAL, Legality.LEGAL]
    assert t.describe(no) == "op 'cv.a' is dynamically legal and its callback rejects this op"
    t.add_dynamically_legal_dialect("cv", lambda o: False)
    assert t.legality(plain) is Legality.ILLEGAL


# ---- partial and full -----------------------------------------------------------------------------

MIXED = """
func.func @f(%x: i32) -> i32 {
  %a = "cv.a"(%x) : (i32) -> i32
  %u = "cv.unknown"(%a) : (i32) -> i32
  %b = "cv.a"(%u) : (i32) -> i32
  return %b : i32
}"""


def test_partial_conversion_converts_illegal_ops_and_leaves_unknown_ones():
    module = parse(MIXED)
    result = apply_partial_conversion(module, target(legal=["cv.b"], illegal=["cv.a"]), [Rename("cv.a", "cv.b")],
                                      context=CTX)
    expect(module, """
    func.func @f(%x: i32) -> i32 {
      %a = "cv.b"(%x) : (i32) -> i32
      %u = "cv.unknown"(%a) : (i32) -> i32
      %b = "cv.b"(%u) : (i32) -> i32
      return %b : i32
    }""")
    assert result.succeeded and result.rewrites == 2 and result.fired == {"cv.a-to-cv.b": 2}
    assert [o.name for o in result.unconverted] == ["cv.unknown"]


def test_full_conversion_requires_every_op_legal_and_changes_nothing_when_one_is_not():
    module = parse(MIXED)
    before = print_ir(module)
    with pytest.raises(ConversionError) as caught:
        apply_full_conversion(module, target(legal=["cv.b"]), [Rename("cv.a", "cv.b")], context=CTX)
    assert [f.op.name for f in caught.value.failures] == ["cv.unknown"]
    assert "failed to legalize operation 'cv.unknown'" in str(caught.value)
    assert print_ir(module) == before


def test_partial_conversion_fails_on_an_illegal_op_no_pattern_converts():
    module = parse(MIXED)
    result = apply_partial_conversion(module, target(illegal=["cv.unknown"], legal=["cv.b"]),
                                      [Rename("cv.a", "cv.b")], context=CTX, raise_on_failure=False)
    assert not result.succeeded and result.rewrites == 0
    assert result.error.message == "failed to legalize operation 'cv.unknown' that was explicitly marked illegal"
    assert "cv.a" in print_ir(module) and "cv.b" not in print_ir(module)


def test_ops_nested_in_a_recursively_legal_op_are_left_alone():
    text = """
    func.func @f(%x: i32) -> i32 {
      "cv.wrap"() ({
        %y = "cv.a"(%x) : (i32) -> i32
      }) : () -> ()
      return %x : i32
    }"""
    t = target(legal=["cv.wrap"], illegal=["cv.a"])
    with pytest.raises(ConversionError, match="'cv.a' that was explicitly marked illegal"):
        apply_partial_conversion(parse(text), t, [], context=CTX)
    t.mark_op_recursively_legal("cv.wrap")
    module = parse(text)
    apply_partial_conversion(module, t, [], context=CTX)
    expect(module, text)


# ---- the failure report ---------------------------------------------------------------------------

def test_a_failed_conversion_lists_every_illegal_op_with_its_location_and_the_patterns_tried():
    module = parse("""func.func @f(%x: i32) -> i32 {
  %a = "cv.a"(%x) : (i32) -> i32
  %n = "cv.new"(%a) : (i32) -> i32
  %b = "cv.a"(%n) {stuck} : (i32) -> i32
  return %b : i32
}""", filename="lowering.mlir")

    class OnlyFresh(ConversionPattern):
        source = "cv.a"

        def rewrite(self, op, operands, rewriter):
            if "stuck" in op.attributes:
                return rewriter.no_match("it is stuck")
            rewriter.replace(op, rewriter.create("cv.b", list(operands), [op.results[0].type]).results)

    with pytest.raises(ConversionError) as caught:
        apply_full_conversion(module, target(legal=["cv.b"], illegal=["cv.a"]),
                              [OnlyFresh(), Rename("cv.a", "cv.c", benefit=0)], context=CTX)
    assert str(caught.value) == """\
lowering.mlir:3:8: error: failed to legalize operation 'cv.new'
  %n = "cv.new"(%a) : (i32) -> i32
       ^
note: 'cv.new' is not legal: the target does not mention it
note: no pattern is rooted at 'cv.new'
lowering.mlir:4:8: error: failed to legalize operation 'cv.a'
  %b = "cv.a"(%n) {stuck} : (i32) -> i32
       ^
note: 'cv.a' is not legal: op 'cv.a' is marked illegal
note: pattern 'only-fresh' failed: it is stuck
note: pattern 'cv.a-to-cv.c' failed: it created 'cv.c', which is not legal (the target does not mention it) \
and could not be legalized: no pattern is rooted at 'cv.c'
error: full conversion failed: 2 operations could not be legalized; the IR is unchanged"""
    assert [(f.op.name, f.op.location.line) for f in caught.value.failures] == [("cv.new", 3), ("cv.a", 4)]
    assert "cv.b" not in print_ir(module)


# ---- rollback ----------------------------------------------------------------------------------------

def _ir_state(module):
    """Every op, operand and use, by identity: what rollback must restore exactly."""
    ops = list(module.walk())
    state = []
    for o in ops:
        state.append((o, o.parent, tuple(o._operands), tuple(r.type for r in o.results),
                      dict(o.properties), dict(o.attributes)))
        for value, use in zip(o._operands, o._uses):
            assert use in value.uses, f"use of an operand of '{o.name}' is not registered"
        for r in o.results:
            for use in r.uses:
                assert use.owner in ops and use.owner._operands[use.index] is r
    return state


def test_rollback_restores_the_same_ops_values_and_uses_after_a_late_failure():
    module = parse("""
    func.func @f(%x: i32) -> i32 {
      "cv.wrap"() ({
        %w = "cv.a"(%x) : (i32) -> i32
        "cv.sink"(%w) : (i32) -> ()
      }) : () -> ()
      %a = "cv.a"(%x) : (i32) -> i32
      %b = "cv.a"(%a) : (i32) -> i32
      %c = "cv.a"(%b) {late} : (i32) -> i32
      return %c : i32
    }""")
    before_text, before = print_ir(module), _ir_state(module)

    class MoveAndRename(ConversionPattern):
        """Rebuilds cv.wrap around its moved body and renames cv.a, updating attributes in
        place first: every kind of logged change happens before the late failure."""

        source = "cv.wrap"

        def rewrite(self, op, operands, rewriter):
            new = rewriter.insert(descend.Operation.create("cv.wrap2", regions=1, context=CTX))
            rewriter.move_region_body(op.regions[0], new.regions[0])
            rewriter.replace(op, [])

    class Stubborn(ConversionPattern):
        source = "cv.a"

        def rewrite(self, op, operands, rewriter):
            if "late" in op.attributes:
                return False
            with rewriter.modify(op):
                op.attributes["touched"] = IntegerAttr(1, i64)
            rewriter.set_operand(op, 0, operands[0])
            rewriter.replace(op, rewriter.create("cv.b", list(operands), [op.results[0].type]).results)

    t = target(legal=["cv.b", "cv.wrap2", "cv.sink"], illegal=["cv.a", "cv.wrap"])
    with pytest.raises(ConversionError):
        apply_full_conversion(module, t, [MoveAndRename(), Stubborn()], context=CTX)
    assert print_ir(module) == before_text
    after = _ir_state(module)
    assert len(after) == len(before)
    for (o1, *rest1), (o2, *rest2) in zip(before, after):
        assert o1 is o2 and rest1 == rest2
    descend.verify(module)


def test_a_pattern_that_raises_leaves_the_module_as_it_was():
    module = parse(CHAIN)
    before = print_ir(module)

    class Crash(ConversionPattern):
        source = "cv.a"
        calls = 0

        def rewrite(self, op, operands, rewriter):
            Crash.calls += 1
            if Crash.calls == 2:
                raise RuntimeError("bug in a pattern")
            rewriter.replace(op, rewriter.create("cv.b", list(operands), [op.results[0].type]).results)

    with pytest.raises(RuntimeError, match="bug in a pattern"):
        apply_full_conversion(module, target(legal=["cv.b"]), [Crash()], context=CTX)
    assert print_ir(module) == before


def test_a_pattern_whose_result_cannot_be_legalized_is_undone_and_the_next_one_applies():
    module = parse(CHAIN)
    result = apply_full_conversion(module, target(legal=["cv.b"]),
                                   [Rename("cv.a", "cv.dead-end", benefit=5), Rename("cv.a", "cv.b")],
                                   context=CTX)
    expect(module, CHAIN.replace("cv.a", "cv.b"))
    assert result.fired == {"cv.a-to-cv.b": 2}


# ---- recursive legalization ---------------------------------------------------------------------------

def test_ops_a_pattern_creates_are_legalized_in_turn():
    module = parse(CHAIN)
    lines = []
    result = apply_full_conversion(module, target(legal=["cv.c"]),
                                   [Rename("cv.a", "cv.b"), Rename("cv.b", "cv.c")], context=CTX,
                                   debug=lines.append)
    expect(module, CHAIN.replace("cv.a", "cv.c"))
    assert result.fired == {"cv.a-to-cv.b": 2, "cv.b-to-cv.c": 2}
    assert lines[:3] == ["legalize 'cv.a' at in.mlir:3:8 (unknown)",
                         "  applied 'cv.a-to-cv.b'",
                         "  legalize 'cv.b' at in.mlir:3:8 (unknown)"]


def test_a_pattern_is_not_applied_to_the_op_it_produced():
    with pytest.raises(ConversionError) as caught:
        apply_full_conversion(parse(CHAIN), target(illegal=["cv.a"]), [Rename("cv.a", "cv.a")], context=CTX)
    assert ("pattern 'cv.a-to-cv.a' was not applied: this op was produced by its own rewrite"
            in str(caught.value))


class CountDown(ConversionPattern):
    """cv.a {n = k} -> cv.a {n = k-1}, and cv.a {n = 0} -> cv.b: legal after k+1 rewrites."""

    source = "cv.a"
    bounded_recursion = True

    def rewrite(self, op, operands, rewriter):
        n = op.attributes["n"].value
        name, attrs = ("cv.b", {}) if n == 0 else ("cv.a", {"n": IntegerAttr(n - 1, i64)})
        rewriter.replace(op, rewriter.create(name, list(operands), [op.results[0].type], attributes=attrs).results)


def test_bounded_recursion_stops_at_max_depth():
    text = """
    func.func @f(%x: i32) -> i32 {
      %a = "cv.a"(%x) {n = N : i64} : (i32) -> i32
      return %a : i32
    }"""
    module = parse(text.replace("N", "5"))
    result = apply_full_conversion(module, target(legal=["cv.b"]), [CountDown()], context=CTX)
    assert result.fired == {"count-down": 6}
    with pytest.raises(ConversionError, match=r"gave up: patterns nest 8 levels deep here \(max_depth=8\)"):
        apply_full_conversion(parse(text.replace("N", "20")), target(legal=["cv.b"]), [CountDown()],
                              context=CTX, max_depth=8)


# ---- every kind of pattern ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def toy():
    """A context with the user dialect of examples/toy_dialect.py."""
    context = Context()
    context.load_dialect_file(EXAMPLES / "toy_dialect.py")
    return context


TOY = """
func.func @distance(%a: i32, %b: i32) -> i32 {
  %d = toy.absdiff %a, %b : i32
  %e = toy.absdiff %d, %b : i32
  return %e : i32
}"""

x, y = var("x"), var("y")
ABSDIFF_RULE = Rule("absdiff-to-arith", op("toy.absdiff", x, y),  # |x - y| = max(x - y, y - x)
                    op("arith.maxsi", op("arith.subi", x, y), op("arith.subi", y, x)))
TOY_TARGET = ConversionTarget(legal_dialects={"arith", "func", "builtin"}, illegal_dialects={"toy"})


def test_a_declarative_rule_is_a_conversion_pattern(toy):
    module = descend.parse(TOY, context=toy)
    result = apply_full_conversion(module, TOY_TARGET, RuleSet("toy-to-arith", [ABSDIFF_RULE]), context=toy)
    assert result.fired == {"absdiff-to-arith": 2}
    expect(module, """
    func.func @distance(%a: i32, %b: i32) -> i32 {
      %0 = arith.subi %a, %b : i32
      %1 = arith.subi %b, %a : i32
      %d = arith.maxsi %0, %1 : i32
      %2 = arith.subi %d, %b : i32
      %3 = arith.subi %b, %d : i32
      %e = arith.maxsi %2, %3 : i32
      return %e : i32
    }""", context=toy)
    for a, b in [(3, 10), (-7, 7), (0, 0), (2**31 - 1, -(2**31)), (-(2**31), 1)]:
        assert descend.interpret(module, "distance", [a, b]) == descend.interpret(
            descend.parse(TOY, context=toy), "distance", [a, b])


def test_a_rule_that_does_not_match_says_why_in_the_failure(toy):
    only_self = Rule("absdiff-self", op("toy.absdiff", x, x), 0)  # |x - x| = 0
    with pytest.raises(ConversionError) as caught:
        apply_full_conversion(descend.parse(TOY, context=toy), TOY_TARGET, [only_self], context=toy)
    assert "note: pattern 'absdiff-self' failed: operand #1 of 'toy.absdiff' is not the same value as x" in str(caught.value)


def test_plain_patterns_and_the_mlir_spelling_of_conversion_patterns():
    class SwapAdd(ConversionPattern):
        source = AddIOp  # an op class names its root too

        def match_and_rewrite(self, op, adaptor, rewriter):
            rewriter.replace(op, rewriter.create("cv.add", [adaptor.rhs, adaptor.lhs], [op.result.type]).results)
            return True

    class Plain(RewritePattern):
        root = "cv.add"

        def match_and_rewrite(self, op, rewriter):
            rewriter.replace_op(op, rewriter.create("cv.sum", list(op.operands), [op.results[0].type]))
            return True

    module = parse("""
    func.func @f(%x: i32, %y: i32) -> i32 {
      %a = arith.addi %x, %y : i32
      return %a : i32
    }""")
    apply_full_conversion(module, target(legal=["cv.sum"]), [SwapAdd(), Plain()], context=CTX)
    expect(module, """
    func.func @f(%x: i32, %y: i32) -> i32 {
      %a = "cv.sum"(%y, %x) : (i32, i32) -> i32
      return %a : i32
    }""")


def test_a_pattern_that_claims_success_without_changing_its_op_fails():
    class Liar(ConversionPattern):
        source = "cv.a"

        def rewrite(self, op, operands, rewriter):
            return True

    with pytest.raises(ConversionError, match="reported success but neither replaced, erased nor updated"):
        apply_full_conversion(parse(CHAIN), target(), [Liar()], context=CTX)


# ---- debug output, conversions as data and as passes -------------------------------------------------

def test_the_dialect_conversion_debug_channel_logs_applications_and_failures():
    lines = []
    with debugging(["dialect-conversion"], sink=lines.append):
        apply_full_conversion(parse(CHAIN), target(legal=["cv.b"]),
                              [Rename("cv.a", "cv.x", benefit=2), Rename("cv.a", "cv.b")], context=CTX)
    assert lines[:6] == [
        "[dialect-conversion] legalize 'cv.a' at in.mlir:3:8 (unknown)",
        "[dialect-conversion]   applied 'cv.a-to-cv.x'",
        "[dialect-conversion]   legalize 'cv.x' at in.mlir:3:8 (unknown)",
        "[dialect-conversion]     no pattern",
        "[dialect-conversion]   'cv.a-to-cv.x' failed: it created 'cv.x', which is not legal (the target "
        "does not mention it) and could not be legalized: no pattern is rooted at 'cv.x'",
        "[dialect-conversion]   applied 'cv.a-to-cv.b'",
    ]


def test_a_conversion_runs_as_a_pass_and_fails_it_with_the_report(toy):
    lower = Conversion("lower-toy-test", [ABSDIFF_RULE], legal_dialects={"arith", "func", "builtin"},
                       illegal_dialects={"toy"}, full=True)
    pass_class = lower.as_pass(register=False)
    assert pass_class.name == "lower-toy-test"
    module = descend.parse(TOY, context=toy)
    PassManager(context=toy).add(pass_class()).run(module)
    assert "toy." not in print_ir(module)
    broken = Conversion("lower-toy-broken", [], illegal_dialects={"toy"}, legal_dialects={"func", "builtin"})
    with pytest.raises(descend.DiagnosticError, match="failed to legalize operation 'toy.absdiff'"):
        PassManager(context=toy).add(broken.as_pass(register=False)()).run(descend.parse(TOY, context=toy))


def test_builder_functions_of_rules_run_during_conversion(toy):
    def absdiff_builder(rewriter, a, b):
        d = rewriter.create("arith.subi", [a, b], [a.type]).results[0]
        n = rewriter.create("arith.subi", [b, a], [a.type]).results[0]
        return rewriter.create("arith.maxsi", [d, n], [a.type])

    rule = Rule("absdiff-native", op("toy.absdiff", x, y), call(absdiff_builder, x, y))
    module = descend.parse(TOY, context=toy)
    apply_full_conversion(module, TOY_TARGET, [rule], context=toy)
    assert descend.interpret(module, "distance", [np.int32(-5), np.int32(4)]) == [5]  # ||-5 - 4| - 4|


def test_ops_a_pattern_creates_take_the_location_of_the_op_it_rewrites():
    """PatternRewriter.insert gives located ops to every driver, the greedy one included."""
    from descend.rewrites import apply_greedily

    class ToB(RewritePattern):
        root = "cv.a"

        def match_and_rewrite(self, op, rewriter):
            rewriter.replace_op(op, rewriter.create("cv.b", list(op.operands), [op.results[0].type]))
            return True

    module = parse(CHAIN, filename="located.mlir")
    apply_greedily(module, [ToB()], context=CTX)
    created = [o for o in module.walk() if o.name == "cv.b"]
    assert [(o.location.filename, o.location.line) for o in created] == [("located.mlir", 3), ("located.mlir", 4)]


def test_replacements_keep_value_names_and_rollback_takes_them_back():
    text = """
    func.func @f(%x: i32) -> i32 {
      %0 = "cv.p"() : () -> i32
      %named = "cv.a"(%0) : (i32) -> i32
      %b = "cv.a"(%named) {late} : (i32) -> i32
      return %b : i32
    }"""

    class Forward(ConversionPattern):
        """cv.a(v) -> v; refuses `late` ones."""

        source = "cv.a"

        def rewrite(self, op, operands, rewriter):
            if "late" in op.attributes:
                return False
            rewriter.replace(op, [operands[0]])

    module = parse(text)
    before = print_ir(module)
    with pytest.raises(ConversionError):
        apply_full_conversion(module, target(legal=["cv.p"]), [Forward()], context=CTX)
    assert print_ir(module) == before
    module = parse(text.replace(" {late}", ""))
    apply_full_conversion(module, target(legal=["cv.p"]), [Forward()], context=CTX)
    assert '%named = "cv.p"()' in print_ir(module)
