"""llvm dialect: round trips in custom and generic form, verifier errors, types, and the
reference semantics of the value ops (interpreter) against the JIT."""

import ctypes

import numpy as np
import pytest

import descend
from descend.dialects import llvm
from descend.ir import DiagnosticError, f32, i32, i64, print_ir, VectorType
from descend.lowering import codegen

EVERYTHING = """module {
  llvm.mlir.global internal constant @w(dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>) {alignment = 64 : i64} : !llvm.array<2 x f32>
  llvm.mlir.global external @ext() : i32
  llvm.func @malloc(i64) -> !llvm.ptr
  llvm.func internal @f(%arg0: f32, %arg1: i32, %p: !llvm.ptr) -> f32 {
    %c = llvm.mlir.constant(1.000000e+00 : f32) : f32
    %c2 = llvm.mlir.constant(3 : i32) : i32
    %0 = llvm.fadd %arg0, %c {fastmathFlags = #llvm.fastmath<fast>} : f32
    %1 = llvm.add %arg1, %c2 overflow<nsw, nuw> : i32
    %2 = llvm.icmp "slt" %1, %c2 : i32
    %3 = llvm.fcmp "_true" %0, %c : f32
    %4 = llvm.select %2, %0, %c : i1, f32
    %5 = llvm.sext %arg1 : i32 to i64
    %6 = llvm.getelementptr inbounds|nuw %p[%5] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %7 = llvm.load volatile %6 {alignment = 4 : i64} : !llvm.ptr -> f32
    llvm.store %7, %6 : f32, !llvm.ptr
    %a = llvm.mlir.addressof @w : !llvm.ptr
    %g = llvm.getelementptr %a[0, %5] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.array<2 x f32>
    %s = llvm.alloca %c2 x !llvm.struct<(i32, f32)> {alignment = 16 : i64} : (i32) -> !llvm.ptr
    %8 = llvm.intr.fma(%0, %0, %4) : (f32, f32, f32) -> f32
    llvm.cond_br %2, ^bb1(%8 : f32), ^bb2
  ^bb1(%x: f32):
    llvm.br ^bb2
  ^bb2:
    %z = llvm.mlir.zero : !llvm.ptr
    %v = llvm.mlir.constant(dense<1.000000e+00> : vector<4xf32>) : vector<4xf32>
    %e = llvm.extractelement %v[%c2 : i32] : vector<4xf32>
    %v2 = llvm.insertelement %e, %v[%c2 : i32] : vector<4xf32>
    %sh = llvm.shufflevector %v, %v2 array<i32: 0, 4, 1, 5> : vector<4xf32>
    %r = llvm.intr.vector.reduce.fadd(%c, %sh) {fastmathFlags = #llvm.fastmath<reassoc>} : (f32, vector<4xf32>) -> f32
    %m = llvm.intr.vector.reduce.fmax(%sh) : (vector<4xf32>) -> f32
    %call = llvm.call @malloc(%5) : (i64) -> !llvm.ptr
    llvm.return %r : f32
  }
}
"""


def test_custom_form_round_trip():
    module = descend.parse(EVERYTHING)
    text = print_ir(module)
    assert text.strip() == EVERYTHING.strip()
    assert print_ir(descend.parse(text)) == text


def test_generic_form_round_trip():
    module = descend.parse(EVERYTHING)
    generic = print_ir(module, generic=True)
    assert '"llvm.getelementptr"(%p, %5) <{elem_type = f32, noWrapFlags = 7 : i32' in generic
    assert "operandSegmentSizes = array<i32: 1, 1, 0>" in generic
    assert print_ir(descend.parse(generic)) == print_ir(module)


@pytest.mark.parametrize("text", ["!llvm.ptr", "!llvm.ptr<1>", "!llvm.void", "!llvm.array<4 x f32>",
                                  "!llvm.array<2 x array<3 x i8>>", "!llvm.struct<(i32, f32, ptr)>", "!llvm.struct<(array<2 x ptr>, struct<(i8)>)>",
                                  "!llvm.struct<packed (i8, i64)>", "!llvm.func<void (ptr, i64, ...)>",
                                  "!llvm.func<f32 (vector<4xf32>)>"])
def test_types_round_trip(text):
    from descend.parser import parse_type
    t = parse_type(text)
    assert str(t) == text
    assert parse_type(str(t)) is t


def test_type_errors():
    with pytest.raises(DiagnosticError, match=r"expected '!llvm.array<N x type>'"):
        descend.parse("llvm.func @f(!llvm.array<x>)")


@pytest.mark.parametrize("body, message", [
    ("%0 = llvm.add %a, %b : f32", "must be signless-integer-or-vector-of-them"),
    ("%0 = llvm.sext %i : i32 to i16", "result type i16 must be wider than operand type i32"),
    ("%0 = llvm.fptrunc %a : f32 to f64", "must be narrower"),
    ('%0 = "llvm.icmp"(%i, %j) <{predicate = 12 : i64}> : (i32, i32) -> i1', "predicate 12 is out of range"),
    ("%0 = llvm.icmp \"foo\" %i, %j : i32", "unknown predicate"),
    ("%0 = llvm.mlir.constant(1 : i32) : i64", "does not match result type i64"),
    ("llvm.call @nowhere() : () -> ()", "does not reference a valid LLVM function"),
    ("%0 = llvm.intr.fma(%a, %b) : (f32, f32) -> f32", "expects 3 operands, got 2"),
    ("%0 = llvm.getelementptr %p[0, 5] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(i32, f32)>",
     "index 5 is out of range"),
])
def test_verifier_errors(body, message):
    text = ("llvm.func @f(%a: f32, %b: f32, %i: i32, %j: i32, %p: !llvm.ptr) {\n  "
            + body + "\n  llvm.return\n}")
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


def test_return_and_branch_types_checked():
    with pytest.raises(DiagnosticError, match=r"returns \(i32\) but @f returns \(f32\)"):
        descend.parse("llvm.func @f(%a: i32) -> f32 {\n  llvm.return %a : i32\n}")
    with pytest.raises(DiagnosticError, match=r"branch passes \(i32\) to a block taking \(f32\)"):
        descend.parse("llvm.func @f(%a: i32) {\n  llvm.br ^bb1(%a : i32)\n^bb1(%x: f32):\n  llvm.return\n}")
    with pytest.raises(DiagnosticError, match="external functions must have 'external'"):
        descend.parse("llvm.func internal @f()")
    with pytest.raises(DiagnosticError, match="without a value must have external linkage"):
        descend.parse("llvm.mlir.global internal @g() : i32")


# ---- reference semantics against the JIT ---------------------------------------------------

BINARY = ["add", "sub", "mul", "sdiv", "udiv", "srem", "urem", "and", "or", "xor", "shl", "lshr", "ashr"]


@pytest.mark.parametrize("op", BINARY)
def test_integer_ops_match_jit(op):
    text = (f"llvm.func @f(%a: i32, %b: i32) -> i32 {{\n  %0 = llvm.{op} %a, %b : i32\n"
            "  llvm.return %0 : i32\n}")
    module = descend.parse(text)
    fn = codegen.jit(module, opt_level=0).function("f", ctypes.c_int32, ctypes.c_int32, ctypes.c_int32)
    for a, b in [(7, 3), (-7, 3), (2**31 - 1, 2), (-(2**31), 5), (12345, 31), (-1, 1)]:
        (ref,) = descend.interpret(module, "f", [np.int32(a), np.int32(b)])
        assert np.int32(ref) == fn(a, b), (op, a, b)


FLOAT_UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "fabs", "floor", "ceil", "round"]


@pytest.mark.parametrize("op", FLOAT_UNARY)
def test_intrinsics_match_jit(op):
    text = (f"llvm.func @f(%a: f64) -> f64 {{\n  %0 = llvm.intr.{op}(%a) : (f64) -> f64\n"
            "  llvm.return %0 : f64\n}")
    module = descend.parse(text)
    fn = codegen.jit(module, opt_level=0).function("f", ctypes.c_double, ctypes.c_double)
    for x in (0.3, 1.5, 2.5, -0.5 if op not in ("log", "sqrt") else 4.0):
        (ref,) = descend.interpret(module, "f", [np.float64(x)])
        assert fn(x) == pytest.approx(float(ref), rel=1e-12), (op, x)


def test_casts_and_compares_interpret():
    text = """llvm.func @f(%a: f32, %i: i8) -> i32 {
  %0 = llvm.fptosi %a : f32 to i32
  %1 = llvm.zext %i : i8 to i32
  %2 = llvm.add %0, %1 : i32
  %3 = llvm.fcmp "ogt" %a, %a : f32
  %4 = llvm.zext %3 : i1 to i32
  %5 = llvm.add %2, %4 : i32
  llvm.return %5 : i32
}"""
    module = descend.parse(text)
    assert descend.interpret(module, "f", [np.float32(-2.7), np.int8(-1)])[0] == -2 + 255
    fn = codegen.jit(module).function("f", ctypes.c_int32, ctypes.c_float, ctypes.c_int8)
    assert fn(-2.7, -1) == 253


def test_vector_ops_interpret():
    text = """llvm.func @f(%x: f32) -> f32 {
  %v = llvm.mlir.constant(dense<[1.0, 2.0, 3.0, 4.0]> : vector<4xf32>) : vector<4xf32>
  %i = llvm.mlir.constant(1 : i32) : i32
  %w = llvm.insertelement %x, %v[%i : i32] : vector<4xf32>
  %s = llvm.shufflevector %w, %v array<i32: 1, 5, 7, 0> : vector<4xf32>
  %e = llvm.extractelement %s[%i : i32] : vector<4xf32>
  %m = llvm.intr.vector.reduce.fmin(%s) : (vector<4xf32>) -> f32
  %r = llvm.fadd %e, %m : f32
  llvm.return %r : f32
}"""
    module = descend.parse(text)
    assert descend.interpret(module, "f", [np.float32(10.0)])[0] == 2.0 + 1.0


def test_poison_is_reported():
    from descend.ir.interpreter import UndefinedBehavior
    module = descend.parse("llvm.func @f(%a: i8) -> i8 {\n  %0 = llvm.add %a, %a overflow<nsw> : i8\n"
                           "  llvm.return %0 : i8\n}")
    with pytest.raises(UndefinedBehavior, match="signed overflow despite nsw"):
        descend.interpret(module, "f", [np.int8(100)])


def test_builders():
    from descend.ir import Block
    func = llvm.LLVMFuncOp.build(sym_name="g", function_type=llvm.LLVMFunctionType(f32, [f32, i64]))
    block = func.entry_block
    x, n = block.args
    add = block.append(llvm.FAddOp.build(x, x))
    ptr = block.append(llvm.ZeroOp.build(result_types=[llvm.LLVMPointerType()]))
    gep = block.append(llvm.GEPOp.build(ptr.res, [n, 2], llvm.LLVMArrayType(4, f32), inbounds=True))
    block.append(llvm.ReturnOp.build(add.res))
    assert gep.indices() == [n, 2] and gep.inbounds
    assert "llvm.getelementptr inbounds %0[%arg1, 2]" in print_ir(func).replace("%1", "%0")
    assert isinstance(Block, type) and VectorType([4], f32) and i32
