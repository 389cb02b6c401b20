"""builtin/func/arith/math: MLIR's custom and generic spellings, verifier errors, reference
semantics against numpy, folding, and the interpreter."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import descend
from descend.dialects import arith
from descend.dialects import math as math_d
from descend.dialects.builtin import ModuleOp
from descend.dialects.func import CallOp, FuncOp, ReturnOp
from descend.ir import (Builder, DiagnosticError, FunctionType, IntegerAttr, TensorType, f32,
                        i1, i8, i32, i64)


def function(arg_types, result_types, name="f"):
    module = ModuleOp.build()
    func = FuncOp.build(sym_name=name, function_type=FunctionType(arg_types, result_types))
    module.block.append(func)
    return module, func, Builder.at_end(func.entry_block)


def test_custom_and_generic_forms_match_mlir():
    module, func, b = function([i32, i32], [i32])
    x, y = func.entry_block.args
    add = b.build(arith.AddIOp, x, y)
    cmp = b.build(arith.CmpIOp, x, y, predicate="slt")
    b.build(arith.SelectOp, cmp.result, add.result, x)
    b.build(ReturnOp, operands_=[add.result])
    descend.verify(module)
    text = descend.print_ir(module)
    assert "func.func @f(%arg0: i32, %arg1: i32) -> i32 {" in text
    assert "%0 = arith.addi %arg0, %arg1 : i32" in text
    assert "%1 = arith.cmpi slt, %arg0, %arg1 : i32" in text
    assert "%2 = arith.select %1, %0, %arg0 : i32" in text
    assert "    return %0 : i32\n" in text
    generic = descend.print_ir(module, generic=True)
    assert '"arith.cmpi"(%arg0, %arg1) <{predicate = 2 : i64}> : (i32, i32) -> i1' in generic
    assert '"func.func"() <{function_type = (i32, i32) -> i32, sym_name = "f"}> ({' in generic


def test_flags_print_as_mlir_does():
    module, func, b = function([f32, i32], [])
    x, n = func.entry_block.args
    b.build(arith.AddFOp, x, x, fastmath=arith.FastMathFlagsAttr("nnan,contract"))
    b.build(math_d.ExpOp, x, fastmath=arith.FastMathFlagsAttr("fast"))
    b.build(arith.AddIOp, n, n, overflowFlags=arith.IntegerOverflowFlagsAttr("nsw,nuw"))
    b.build(ReturnOp)
    descend.verify(module)
    text = descend.print_ir(module)
    assert "arith.addf %arg0, %arg0 fastmath<nnan,contract> : f32" in text
    assert "math.exp %arg0 fastmath<fast> : f32" in text
    assert "arith.addi %arg1, %arg1 overflow<nsw, nuw> : i32" in text
    generic = descend.print_ir(module, generic=True)
    assert "<{fastmath = #arith.fastmath<nnan,contract>}>" in generic
    assert "<{overflowFlags = #arith.overflow<nsw, nuw>}>" in generic


def test_declaration_call_constant_and_cast_forms():
    module, func, b = function([i32], [i64], name="g")
    decl = FuncOp.build(sym_name="ext", function_type=FunctionType([i32], [i32]),
                        sym_visibility="private", declaration=True)
    module.block.append(decl)
    call = b.build(CallOp, callee=decl, operands_=[func.entry_block.args[0]])
    ext = b.build(arith.ExtSIOp, call.results[0], result_types=[i64])
    b.build(arith.ConstantOp, value=np.array([1, 2, 3, 4], np.float32), type=TensorType([4], f32))
    b.build(ReturnOp, operands_=[ext.result])
    descend.verify(module)
    text = descend.print_ir(module)
    assert "func.func private @ext(i32) -> i32" in text
    assert "%0 = call @ext(%arg0) : (i32) -> i32" in text
    assert "%1 = arith.extsi %0 : i32 to i64" in text
    assert "arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>" in text


@pytest.mark.parametrize("build, message", [
    (lambda b, x: b.build(ReturnOp, operands_=[x]), "has 1 operands, but enclosing function (@f) returns 0"),
    (lambda b, x: b.build(CallOp, callee="nowhere", operands_=[], result_types=[]),
     "'@nowhere' does not reference a valid function"),
    (lambda b, x: b.build(arith.ExtSIOp, x, result_types=[i8]), "must be wider"),
])
def test_verifier_errors(build, message):
    module, func, b = function([i32], [])
    build(b, func.entry_block.args[0])
    if func.entry_block.last is None or func.entry_block.last.name != "func.return":
        b.build(ReturnOp)
    with pytest.raises(DiagnosticError) as info:
        descend.verify(module)
    assert message in str(info.value)


def test_return_type_mismatch():
    module, func, b = function([i32], [f32])
    b.build(ReturnOp, operands_=[func.entry_block.args[0]])
    with pytest.raises(DiagnosticError, match=r"type of return operand 0 \(i32\) doesn't match"):
        descend.verify(module)


def test_predicate_numbering_is_mlirs():
    assert arith.CMPI_PREDICATES.index("uge") == 9
    assert arith.CMPF_PREDICATES.index("une") == 13 and arith.CMPF_PREDICATES.index("true") == 15


ints32 = st.integers(-2**31, 2**31 - 1)


@settings(max_examples=60, deadline=None)
@given(ints32, ints32)
def test_integer_references_wrap_and_respect_signedness(a, b):
    x, y = np.int32(a), np.int32(b)
    as_u = lambda v: v & 0xFFFFFFFF
    wrap = lambda v: np.int32(np.uint32(v & 0xFFFFFFFF).view(np.int32))
    assert np.int32(arith.AddIOp.reference(x, y).view(np.int32)) == wrap(a + b)
    assert np.int32(arith.MulIOp.reference(x, y).view(np.int32)) == wrap(a * b)
    if b != 0 and not (a == -2**31 and b == -1):
        assert arith.DivSIOp.reference(x, y) == int(a / b)
        assert arith.RemSIOp.reference(x, y) == a - int(a / b) * b
        assert arith.DivUIOp.reference(x, y) == as_u(a) // as_u(b)
        assert arith.FloorDivSIOp.reference(x, y) == a // b
        assert arith.CeilDivSIOp.reference(x, y) == -((-a) // b)
    assert bool(arith.CmpIOp.reference(x, y, predicate=2)) == (a < b)
    assert bool(arith.CmpIOp.reference(x, y, predicate=6)) == (as_u(a) < as_u(b))


def test_float_references_keep_precision_and_nan_rules():
    nan = np.float32("nan")
    assert arith.AddFOp.reference(np.float32(1e8), np.float32(1)).dtype == np.float32
    assert np.isnan(arith.MaximumFOp.reference(nan, np.float32(1)))
    assert arith.MaxNumFOp.reference(nan, np.float32(1)) == 1
    assert not arith.CmpFOp.reference(nan, nan, predicate=1)   # oeq
    assert arith.CmpFOp.reference(nan, nan, predicate=8)       # ueq
    assert math_d.RoundOp.reference(np.float32(2.5)) == 3 and math_d.RoundEvenOp.reference(np.float32(2.5)) == 2
    assert math_d.CtPopOp.reference(np.int32(-1)) == 32
    assert math_d.CountLeadingZerosOp.reference(np.int32(1)) == 31
    assert math_d.CountTrailingZerosOp.reference(np.int32(8)) == 3


def test_interpret_function_with_call_and_tensors():
    module, func, b = function([TensorType([3], i8), TensorType([3], i8)], [TensorType([3], i8)], name="sat")
    x, y = func.entry_block.args
    s = b.build(arith.AddIOp, x, y)
    lt = b.build(arith.CmpIOp, s.result, x, predicate="slt")
    ext = b.build(arith.ExtUIOp, lt.result, result_types=[TensorType([3], i8)])
    b.build(ReturnOp, operands_=[ext.result])
    main = FuncOp.build(sym_name="main", function_type=func.type)
    module.block.append(main)
    mb = Builder.at_end(main.entry_block)
    call = mb.build(CallOp, callee=func, operands_=list(main.entry_block.args))
    mb.build(ReturnOp, operands_=[call.results[0]])
    descend.verify(module)
    (out,) = descend.interpret(module, "main", [np.array([100, 1, -5], np.int8), np.array([100, 2, -5], np.int8)])
    np.testing.assert_array_equal(out, [1, 0, 1])  # 100+100 wraps to -56 < 100
    with pytest.raises(DiagnosticError, match="no function named '@missing'"):
        descend.interpret(module, "missing", [])
    with pytest.raises(DiagnosticError, match="expects 2 inputs, got 1"):
        descend.interpret(module, "main", [np.zeros(3, np.int8)])


def test_interpreting_an_op_without_semantics_names_it():
    from descend.ir import Operation
    module, func, b = function([], [])
    b.insert(Operation("test.mystery", result_types=[i32]))
    b.build(ReturnOp)
    with pytest.raises(DiagnosticError, match="'test.mystery' op has no reference semantics"):
        descend.interpret(module, "f", [])


def test_folders():
    module, func, b = function([i32], [])
    x = func.entry_block.args[0]
    zero = b.build(arith.ConstantOp, value=IntegerAttr(0, i32))
    one = b.build(arith.ConstantOp, value=IntegerAttr(1, i32))
    big = b.build(arith.ConstantOp, value=IntegerAttr(2**31 - 1, i32))
    assert b.build(arith.AddIOp, x, zero.result).fold() is x
    assert b.build(arith.MulIOp, one.result, x).fold() is x
    assert b.build(arith.AddIOp, big.result, one.result).fold() == IntegerAttr(-2**31, i32)
    assert b.build(arith.CmpIOp, zero.result, one.result, predicate="ult").fold() == IntegerAttr(1, i1)
    assert b.build(arith.XOrIOp, x, x).fold() == IntegerAttr(0, i32)


ROUND_TRIP = """\
module {
  func.func @f(%arg0: i32, %arg1: i32) -> i32 {
    %0 = arith.addi %arg0, %arg1 overflow<nsw> : i32
    %1 = arith.cmpi sge, %arg0, %arg1 : i32
    %2 = arith.constant 42 : i32
    %3 = arith.select %1, %0, %2 : i32
    %4 = arith.sitofp %3 : i32 to f32
    %5 = math.exp %4 fastmath<fast> : f32
    %6 = arith.cmpf une, %4, %5 fastmath<nnan,contract> : f32
    %7 = math.fma %4, %5, %4 : f32
    %8 = math.fpowi %4, %arg0 : f32, i32
    %true = arith.constant true
    return %3 : i32
  }
  func.func private @decl(i32, f32 {foo}) -> (i32 {bar = 1 : i32})
  func.func @g(%arg0: i32 {a.b}) -> (i32, tensor<2xf32>) attributes {baz} {
    %0 = call @f(%arg0, %arg0) : (i32, i32) -> i32
    %1 = arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
    %2 = arith.negf %1 : tensor<2xf32>
    return %0, %2 : i32, tensor<2xf32>
  }
}
"""


def test_parse_round_trip_custom_and_generic():
    module = descend.parse(ROUND_TRIP)
    assert descend.print_ir(module) == ROUND_TRIP
    generic = descend.print_ir(module, generic=True)
    assert descend.print_ir(descend.parse(generic)) == ROUND_TRIP
    assert "#arith.fastmath<nnan,contract>" in generic and "predicate = 5 : i64" in generic
    results = descend.interpret(module, "g", [np.int32(3)])
    assert results[0] == 6
    np.testing.assert_array_equal(results[1], np.array([-1, -2], np.float32))
