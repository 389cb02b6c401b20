"""Type conversion in the dialect-conversion driver: the TypeConverter, signature conversion
of functions, calls and returns, the casts that bridge old and new types (and the
materializations that replace them), and reconcile-unrealized-casts."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.ir import (Context, FloatAttr, FunctionType, IndexType, IntegerAttr, TypeAttr, f32, i1, i32,
                        i64, index)
from descend.rewrites import (ConversionError, ConversionPattern, ConversionTarget, PassManager,
                              TypeConversionPattern, TypeConverter, apply_full_conversion,
                              apply_partial_conversion, function_type_conversion_patterns,
                              reconcile_unrealized_casts)
from descend.testing import assert_structurally_equal

CTX = Context(allow_unregistered=True)


def parse(text: str):
    return descend.parse(text, "in.mlir", context=CTX)


def expect(module, text: str) -> None:
    descend.verify(module)
    assert_structurally_equal(module, parse(text), locations=False)


def index_to_i64(converter: TypeConverter, functions: bool = True) -> ConversionTarget:
    """arith (and, if asked, func) ops are legal once no index is left in their types."""
    target = ConversionTarget(legal_dialects={"builtin"})
    target.add_dynamically_legal_dialect("arith", converter.is_legal)
    if functions:
        target.add_dynamically_legal_op("func.func", converter.is_signature_legal)
        target.add_dynamically_legal_op("func.return", converter.is_legal)
        target.add_dynamically_legal_op("func.call", converter.is_legal)
    else:
        target.add_legal_dialect("func")
    return target


# ---- the converter ---------------------------------------------------------------------------------

def test_conversions_are_tried_most_recent_first_and_none_defers():
    converter = TypeConverter()
    assert converter.convert_type(f32) is f32  # kept: no rule says otherwise
    converter.add_conversion({index: i64})
    converter.add_conversion(lambda t: False if t == f32 else None)  # f32 cannot be converted
    assert (converter.convert_type(index), converter.convert_type(f32), converter.convert_type(i32)) == (i64, None, i32)

    @converter.add_conversion
    def index_to_i32(t):  # registered last: wins over the mapping
        return i32 if isinstance(t, IndexType) else None
    assert converter.convert_type(index) is i32  # the cache was dropped when it was added
    assert converter.convert_types([index, i1]) == [i32, i1] and converter.convert_types([f32]) is None
    strict = TypeConverter({index: i64}, keep_other_types=False)
    assert strict.convert_type(i32) is None and strict.convert_type(index) is i64


def test_signatures_attributes_and_legality():
    converter = TypeConverter({index: i64})
    assert converter.convert_signature(FunctionType([index, i1], [index])) == FunctionType([i64, i1], [i64])
    assert converter.convert_attribute(IntegerAttr(3, index)) is IntegerAttr(3, i64)
    assert converter.convert_attribute(TypeAttr(FunctionType([index], []))) is TypeAttr(FunctionType([i64], []))
    assert converter.convert_attribute(FloatAttr(1.5, f32)) is FloatAttr(1.5, f32)
    assert converter.is_legal(i64) and not converter.is_legal(index)
    assert not converter.is_signature_legal(FunctionType([index], []))
    module = parse("""
    func.func @f(%a: index) -> i1 {
      %t = arith.constant true
      return %t : i1
    }""")
    func = module.functions()[0]
    ret = func.entry_block.last
    assert not converter.is_signature_legal(func) and converter.is_legal(ret)


# ---- converting a whole program ------------------------------------------------------------------------

PROGRAM = """
func.func @f(%a: index, %b: index) -> index {
  %c = arith.constant 3 : index
  %d = arith.addi %a, %c : index
  %e = arith.muli %d, %b : index
  %lt = arith.cmpi slt, %e, %a : index
  %m = arith.select %lt, %e, %a : index
  %k = func.call @g(%m, %b) : (index, index) -> index
  return %k : index
}
func.func @g(%x: index, %y: index) -> index {
  %s = arith.subi %x, %y : index
  return %s : index
}"""


def test_index_to_i64_converts_signatures_calls_returns_and_constants():
    module = parse(PROGRAM)
    converter = TypeConverter({index: i64})
    result = apply_full_conversion(module, index_to_i64(converter),
                                   [TypeConversionPattern(), *function_type_conversion_patterns()], converter)
    expect(module, PROGRAM.replace("index", "i64"))
    assert result.unrealized_casts == 0
    assert result.fired == {"convert-types": 6, "convert-function-signature": 2,
                            "convert-func-return-operands": 2, "convert-func-call": 1}
    original = parse(PROGRAM)
    rng = np.random.default_rng(4)
    for a, b in [(0, 0), (2**62, 3), (-(2**63), -1)] + [tuple(rng.integers(-2**40, 2**40, 2)) for _ in range(20)]:
        assert descend.interpret(module, "f", [a, b]) == descend.interpret(original, "f", [a, b])


def test_a_pattern_with_its_own_converter_and_one_given_to_the_driver():
    converter = TypeConverter({index: i64})
    module = parse(PROGRAM)
    apply_full_conversion(module, index_to_i64(converter),
                          [TypeConversionPattern(converter), *function_type_conversion_patterns(converter)])
    expect(module, PROGRAM.replace("index", "i64"))
    with pytest.raises(ConversionError, match="convert-types' failed: needs a type converter"):
        apply_full_conversion(parse(PROGRAM), index_to_i64(converter), [TypeConversionPattern()])


def test_an_operand_type_with_no_conversion_fails_the_pattern_before_it_runs():
    converter = TypeConverter({index: i64}, keep_other_types=False)
    module = parse("""
    func.func @f(%a: f32) -> f32 {
      %b = arith.addf %a, %a : f32
      return %b : f32
    }""")
    target = ConversionTarget(legal_dialects={"func", "builtin"}, illegal_dialects={"arith"})
    with pytest.raises(ConversionError) as caught:
        apply_partial_conversion(module, target, [TypeConversionPattern()], converter)
    assert ("pattern 'convert-types' failed: operand #0 has type f32, which the type converter cannot "
            "convert") in str(caught.value)


# ---- bridging what was converted and what was not ------------------------------------------------------

HALF = """
func.func @f() -> index {
  %p = "cv.produce"() : () -> index
  %a = arith.addi %p, %p : index
  %b = arith.muli %a, %p : index
  return %b : index
}"""


def test_casts_bridge_unconverted_producers_and_users_and_are_shared():
    module = parse(HALF)
    converter = TypeConverter({index: i64})
    result = apply_partial_conversion(module, index_to_i64(converter, functions=False),
                                      [TypeConversionPattern()], converter)
    expect(module, """
    func.func @f() -> index {
      %p = "cv.produce"() : () -> index
      %0 = builtin.unrealized_conversion_cast %p : index to i64
      %a = arith.addi %0, %0 : i64
      %b = arith.muli %a, %0 : i64
      %1 = builtin.unrealized_conversion_cast %b : i64 to index
      return %1 : index
    }""")
    assert result.unrealized_casts == 2 and [o.name for o in result.unconverted] == ["cv.produce"]


def test_registered_materializations_replace_the_casts_still_in_use():
    module = parse(HALF)
    converter = TypeConverter({index: i64})
    built = []

    def index_cast(builder, t, inputs, location):
        built.append(f"{inputs[0].type}->{t}")
        return builder.create("arith.index_cast", inputs, [t])
    converter.add_source_materialization(index_cast)
    converter.add_target_materialization(index_cast)
    result = apply_partial_conversion(module, index_to_i64(converter, functions=False),
                                      [TypeConversionPattern()], converter)
    expect(module, """
    func.func @f() -> index {
      %p = "cv.produce"() : () -> index
      %0 = arith.index_cast %p : index to i64
      %a = arith.addi %0, %0 : i64
      %b = arith.muli %a, %0 : i64
      %1 = arith.index_cast %b : i64 to index
      return %1 : index
    }""")
    assert result.unrealized_casts == 0 and sorted(built) == ["i64->index", "index->i64"]


def test_converted_block_arguments_keep_their_unconverted_users_working():
    module = parse("""
    func.func @f(%a: index) -> index {
      "cv.use"(%a) : (index) -> ()
      %b = arith.addi %a, %a : index
      return %b : index
    }""")
    converter = TypeConverter({index: i64})
    result = apply_partial_conversion(module, index_to_i64(converter),
                                      [TypeConversionPattern(), *function_type_conversion_patterns()], converter)
    expect(module, """
    func.func @f(%a: i64) -> i64 {
      %0 = builtin.unrealized_conversion_cast %a : i64 to index
      "cv.use"(%0) : (index) -> ()
      %b = arith.addi %a, %a : i64
      return %b : i64
    }""")
    assert result.unrealized_casts == 1


def test_a_failed_type_conversion_restores_types_of_block_arguments():
    module = parse("""
    func.func @f(%a: index) -> index {
      %b = arith.addi %a, %a : index
      %c = "cv.stuck"(%b) : (index) -> index
      return %c : index
    }""")
    before = descend.print_ir(module)
    converter = TypeConverter({index: i64})
    with pytest.raises(ConversionError, match="'cv.stuck'"):
        apply_full_conversion(module, index_to_i64(converter),
                              [TypeConversionPattern(), *function_type_conversion_patterns()], converter)
    assert descend.print_ir(module) == before
    assert module.functions()[0].entry_block.args[0].type is index


# ---- reconcile-unrealized-casts -------------------------------------------------------------------------

CASTS = """
func.func @f(%a: i32) -> i32 {
  %0 = builtin.unrealized_conversion_cast %a : i32 to i64
  %1 = builtin.unrealized_conversion_cast %0 : i64 to i32
  %2 = builtin.unrealized_conversion_cast %a : i32 to f32
  %3 = builtin.unrealized_conversion_cast %2 : f32 to i64
  %4 = builtin.unrealized_conversion_cast %3 : i64 to i32
  %5 = builtin.unrealized_conversion_cast %a : i32 to index
  %6 = builtin.unrealized_conversion_cast %a : i32 to i1
  "cv.use"(%1, %4, %5) : (i32, i32, index) -> ()
  return %a : i32
}"""

RECONCILED = """
func.func @f(%a: i32) -> i32 {
  %5 = builtin.unrealized_conversion_cast %a : i32 to index
  "cv.use"(%a, %a, %5) : (i32, i32, index) -> ()
  return %a : i32
}"""


def test_reconcile_folds_round_trips_and_keeps_casts_still_needed():
    module = parse(CASTS)
    assert reconcile_unrealized_casts(module) == 6
    expect(module, RECONCILED)


def test_reconcile_is_a_pass():
    module = parse(CASTS)
    PassManager.parse("builtin.module(reconcile-unrealized-casts)", context=CTX).run(module)
    expect(module, RECONCILED)


def test_two_partial_conversions_then_reconcile_leave_no_cast():
    """The first conversion bridges an unconverted producer; once a second one converts it
    too, the casts form an i64 -> index -> i64 round trip that reconcile removes."""
    module = parse(HALF)
    converter = TypeConverter({index: i64})
    apply_partial_conversion(module, index_to_i64(converter), [TypeConversionPattern(),
                                                               *function_type_conversion_patterns()], converter)

    class Produce64(ConversionPattern):
        source = "cv.produce"

        def rewrite(self, op, operands, rewriter):
            rewriter.replace(op, rewriter.create("cv.produce64", [], [i64]).results)

    target = ConversionTarget(legal_ops=["cv.produce64"], illegal_ops=["cv.produce"])
    apply_partial_conversion(module, target, [Produce64()], converter)
    assert sum(o.name == "builtin.unrealized_conversion_cast" for o in module.walk()) == 2
    reconcile_unrealized_casts(module)
    expect(module, """
    func.func @f() -> i64 {
      %p = "cv.produce64"() : () -> i64
      %a = arith.addi %p, %p : i64
      %b = arith.muli %a, %p : i64
      return %b : i64
    }""")
