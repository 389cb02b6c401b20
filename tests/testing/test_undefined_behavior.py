"""ir/interpreter + arith/math: undefined behaviour and poison stop the interpreter with
UndefinedBehavior (located at the op, with the reason) instead of producing a value, and
defined neighbours of each case still compute."""

import numpy as np
import pytest

import descend
from descend.ir.interpreter import UndefinedBehavior


def run(body: str, types: str, result: str, *inputs):
    args = ", ".join(f"%a{i}: {t}" for i, t in enumerate(types.split()))
    module = descend.parse(f"func.func @main({args}) -> {result} {{\n  %0 = {body}\n"
                           f"  return %0 : {result}\n}}")
    return descend.interpret(module, "main", list(inputs))[0]


i8, i32, f32 = np.int8, np.int32, np.float32


@pytest.mark.parametrize("body, types, result, inputs, reason", [
    ("arith.divsi %a0, %a1 : i32", "i32 i32", "i32", (i32(7), i32(0)), "division by zero"),
    ("arith.divsi %a0, %a1 : i8", "i8 i8", "i8", (i8(-128), i8(-1)), "signed division overflow"),
    ("arith.remsi %a0, %a1 : i8", "i8 i8", "i8", (i8(-128), i8(-1)), "signed division overflow"),
    ("arith.floordivsi %a0, %a1 : i8", "i8 i8", "i8", (i8(-128), i8(-1)), "signed division overflow"),
    ("arith.remui %a0, %a1 : i32", "i32 i32", "i32", (i32(7), i32(0)), "division by zero"),
    ("arith.ceildivui %a0, %a1 : vector<2xi32>", "vector<2xi32> vector<2xi32>", "vector<2xi32>",
     (np.array([1, 2], i32), np.array([1, 0], i32)), "division by zero"),
    ("arith.shli %a0, %a1 : i8", "i8 i8", "i8", (i8(1), i8(8)), "shift amount"),
    ("arith.shrui %a0, %a1 : i8", "i8 i8", "i8", (i8(1), i8(-1)), "shift amount"),
    ("arith.shli %a0, %a1 overflow<nsw> : i8", "i8 i8", "i8", (i8(64), i8(1)), "signed overflow"),
    ("arith.shli %a0, %a1 overflow<nuw> : i8", "i8 i8", "i8", (i8(-128), i8(1)), "unsigned overflow"),
    ("arith.addi %a0, %a1 overflow<nsw> : i8", "i8 i8", "i8", (i8(127), i8(1)), "signed overflow"),
    ("arith.subi %a0, %a1 overflow<nuw> : i8", "i8 i8", "i8", (i8(0), i8(1)), "unsigned overflow"),
    ("arith.muli %a0, %a1 overflow<nsw> : i32", "i32 i32", "i32", (i32(65536), i32(32768)), "signed overflow"),
    ("arith.trunci %a0 overflow<nuw> : i32 to i8", "i32", "i8", (i32(-1),), "unsigned overflow"),
    ("arith.fptosi %a0 : f32 to i8", "f32", "i8", (f32(128.0),), "out of range"),
    ("arith.fptoui %a0 : f32 to i8", "f32", "i8", (f32("nan"),), "out of range"),
    ("arith.addf %a0, %a0 fastmath<nnan> : f32", "f32", "f32", (f32("nan"),), "NaN"),
    ("arith.mulf %a0, %a0 fastmath<ninf> : f32", "f32", "f32", (f32(1e30),), "infinite"),
    ("math.sqrt %a0 fastmath<nnan> : f32", "f32", "f32", (f32(-1.0),), "NaN"),
])
def test_undefined_behaviour_is_reported_at_the_op(body, types, result, inputs, reason):
    with pytest.raises(UndefinedBehavior, match=reason) as info:
        run(body, types, result, *inputs)
    assert info.value.op.name == body.split()[0]
    assert "<input>:2:8: error:" in str(info.value)


@pytest.mark.parametrize("body, types, result, inputs, expected", [
    ("arith.divsi %a0, %a1 : i8", "i8 i8", "i8", (i8(-128), i8(1)), -128),
    ("arith.shli %a0, %a1 overflow<nsw> : i8", "i8 i8", "i8", (i8(-64), i8(1)), -128),
    ("arith.shli %a0, %a1 : i8", "i8 i8", "i8", (i8(1), i8(7)), -128),
    ("arith.addi %a0, %a1 overflow<nuw> : i8", "i8 i8", "i8", (i8(127), i8(1)), -128),
    ("arith.trunci %a0 overflow<nsw> : i32 to i8", "i32", "i8", (i32(-128),), -128),
    ("arith.fptoui %a0 : f32 to i8", "f32", "i8", (f32(-0.5),), 0),
    ("arith.fptosi %a0 : f32 to i8", "f32", "i8", (f32(-128.9),), -128),
    ("arith.addf %a0, %a0 : f32", "f32", "f32", (f32("inf"),), np.inf),
])
def test_defined_neighbours_still_compute(body, types, result, inputs, expected):
    assert run(body, types, result, *inputs) == expected


def test_folders_do_not_fold_a_division_by_zero():
    module = descend.parse("func.func @main() -> i32 {\n  %a = arith.constant 1 : i32\n"
                           "  %z = arith.constant 0 : i32\n  %0 = arith.divui %a, %z : i32\n"
                           "  return %0 : i32\n}")
    div = [op for op in module.walk() if op.name == "arith.divui"][0]
    assert div.fold() is None


def test_poison_folds_to_the_wrapped_value_but_division_by_zero_does_not_fold():
    module = descend.parse("func.func @main() -> (i8, i8) {\n  %a = arith.constant 127 : i8\n"
                           "  %z = arith.constant 0 : i8\n  %0 = arith.addi %a, %a overflow<nsw> : i8\n"
                           "  %1 = arith.divsi %a, %z : i8\n  return %0, %1 : i8, i8\n}")
    add, div = [op for op in module.walk() if op.name in ("arith.addi", "arith.divsi")]
    assert add.fold().value == -2 and div.fold() is None
    with pytest.raises(UndefinedBehavior, match="'arith.addi' op produces poison: signed overflow") as info:
        descend.interpret(module, "main", [])
    assert info.value.poison
