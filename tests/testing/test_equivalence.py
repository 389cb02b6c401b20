"""descend.testing assert_equivalent: exact comparison with NaN == NaN, tolerances on
request, undefined inputs skipped (never reported), and a report a user can paste."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import descend
from descend.testing import assert_equivalent
from descend.testing.equivalence import first_difference


def module(body: str, signature: str = "(%a: i32, %b: i32) -> i32") -> object:
    return descend.parse(f"func.func @main{signature} {{\n{body}\n}}")


SUB = module("  %0 = arith.subi %a, %b : i32\n  return %0 : i32")
SWAPPED = module("  %0 = arith.subi %b, %a : i32\n  return %0 : i32")
DIV = module("  %0 = arith.divsi %a, %b : i32\n  return %0 : i32")
ZERO_DIV = module("  %z = arith.constant 0 : i32\n  %0 = arith.divsi %a, %b : i32\n"
                  "  %1 = arith.muli %0, %z : i32\n  return %1 : i32")
ZERO = module("  %z = arith.constant 0 : i32\n  return %z : i32")


def test_identical_modules_are_equivalent():
    assert assert_equivalent(SUB, SUB.clone(), [np.int32(5), np.int32(7)]) is True


def test_a_wrong_module_is_reported_with_everything_needed_to_reproduce():
    with pytest.raises(AssertionError) as info:
        assert_equivalent(SUB, SWAPPED, [np.int32(5), np.int32(7)])
    text = str(info.value)
    assert "result #0 differs: before gave np.int32(-2), after gave np.int32(2)" in text
    assert "  #0 (i32): np.int32(5)\n  #1 (i32): np.int32(7)" in text
    assert "inputs = [np.int32(5), np.int32(7)]" in text
    before, after = text.split("\nbefore:\n")[1].split("\nafter:\n")
    assert "arith.subi %a, %b : i32" in before and "arith.subi %b, %a : i32" in after
    assert "before's results:\n  #0: np.int32(-2)\nafter's results:\n  #0: np.int32(2)" in text


def test_equal_on_some_inputs_is_not_equal_on_all():
    assert assert_equivalent(SUB, SWAPPED, [np.int32(3), np.int32(3)])


def test_undefined_inputs_are_skipped_outside_hypothesis():
    # before divides by zero: whatever after does refines it.
    assert assert_equivalent(ZERO_DIV, ZERO, [np.int32(1), np.int32(0)]) is False
    assert assert_equivalent(ZERO_DIV, ZERO, [np.int32(1), np.int32(2)]) is True


@settings(max_examples=30, deadline=None, database=None)
@given(st.sampled_from([0, 1, -1, 3]))
def test_undefined_inputs_are_skipped_inside_hypothesis(b):
    # Only b == 0 is undefined in before; there the check must assume(False), not fail.
    assert_equivalent(ZERO_DIV, ZERO, [np.int32(5), np.int32(b)])


def test_after_undefined_where_before_is_defined_is_a_difference():
    with pytest.raises(AssertionError, match="after has undefined behavior where before is defined"):
        assert_equivalent(SUB, DIV, [np.int32(5), np.int32(0)])


def test_nan_equals_nan_whatever_its_bits_but_zero_signs_differ():
    payload = np.array([0x7FC00001], np.uint32).view(np.float32)
    assert first_difference([np.array([np.nan], np.float32)], [payload]) is None
    assert "before gave np.float32(0.0), after gave np.float32(-0.0)" in \
        first_difference([np.float32(0.0)], [np.float32(-0.0)])
    assert first_difference([np.float32(0.0)], [np.float32(-0.0)], atol=1e-9) is None
    assert first_difference([np.float32(1.0)], [np.float32(1.0001)], rtol=1e-3) is None
    assert first_difference([np.float32(1.0)], [np.float32(1.01)], rtol=1e-3) is not None


def test_dtype_shape_count_and_position_of_a_difference():
    a = np.array([[1, 2], [3, 4]], np.int8)
    assert "dtype int8, after int16" in first_difference([a], [a.astype(np.int16)])
    assert "shape [2, 2], after [4]" in first_difference([a], [a.reshape(4)])
    assert "returned 1 results, after 2" in first_difference([a], [a, a])
    b = a.copy()
    b[1, 0] = 9
    assert first_difference([a], [b]) == ("result #0 differs at index [1, 0] (1 of 4 elements): "
                                          "before gave np.int8(3), after gave np.int8(9)")


def test_float_tolerances_apply_to_interpreted_results():
    # (a + b) - b is a, up to rounding: 0.1 + 0.2 - 0.2 is 0.10000001 in f32.
    rounded = module("  %0 = arith.addf %a, %b : f32\n  %1 = arith.subf %0, %b : f32\n"
                     "  return %1 : f32", "(%a: f32, %b: f32) -> f32")
    plain = module("  return %a : f32", "(%a: f32, %b: f32) -> f32")
    inputs = [np.float32(0.1), np.float32(0.2)]
    with pytest.raises(AssertionError, match="result #0 differs"):
        assert_equivalent(rounded, plain, inputs)
    assert assert_equivalent(rounded, plain, inputs, rtol=1e-6)
