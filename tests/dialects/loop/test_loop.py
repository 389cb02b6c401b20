"""loop dialect: textual round trips (custom and generic), verifier errors at their locations,
interpreted examples (a matmul nest with iter_args, a padded copy with loop.if, a vectorized
add with vload/vstore and reduce_vector), the in-place buffer semantics, and the loop-level
passes (before/expected pairs, idempotence, equivalence on random inputs)."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.dialects.arith import AddFOp, ConstantOp
from descend.dialects.loop import (AllocOp, ForOp, GlobalOp, GetGlobalOp, IfOp, LoadOp, StoreOp,
                                   YieldOp, constant_trip_count)
from descend.ir import Builder, DiagnosticError, FunctionType, IntegerAttr, MemRefType, f32, i1, index
from descend.dialects.func import FuncOp, ReturnOp
from descend.ir.printer import print_ir
from descend.rewrites import PassManager
from descend.testing import assert_structurally_equal

MATMUL = """
func.func @main(%x: memref<4x8xf32>, %w: memref<3x8xf32>, %y: memref<4x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  loop.for %i = %c0 to %c4 step %c1 {kind = "parallel"} {
    loop.for %j = %c0 to %c3 step %c1 {
      %zero = arith.constant 0.0 : f32
      %acc = loop.for %k = %c0 to %c8 step %c1 iter_args(%s = %zero) -> (f32) {
        %a = loop.load %x[%i, %k] : memref<4x8xf32>
        %b = loop.load %w[%j, %k] : memref<3x8xf32>
        %p = arith.mulf %a, %b : f32
        %s2 = arith.addf %s, %p : f32
        loop.yield %s2 : f32
      }
      loop.store %acc, %y[%i, %j] : memref<4x3xf32>
      loop.yield
    }
    loop.yield
  }
  return
}
"""

PAD = """
func.func @main(%x: memref<2x3xf32>, %y: memref<4x5xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  loop.for %i = %c0 to %c4 step %c1 {
    loop.for %j = %c0 to %c5 step %c1 {
      %ii = arith.subi %i, %c1 : index
      %jj = arith.subi %j, %c1 : index
      %a = arith.cmpi sge, %ii, %c0 : index
      %b = arith.cmpi slt, %ii, %c2 : index
      %c = arith.cmpi sge, %jj, %c0 : index
      %d = arith.cmpi slt, %jj, %c3 : index
      %ab = arith.andi %a, %b : i1
      %cd = arith.andi %c, %d : i1
      %in = arith.andi %ab, %cd : i1
      %v = loop.if %in -> (f32) {
        %e = loop.load %x[%ii, %jj] : memref<2x3xf32>
        loop.yield %e : f32
      } else {
        %z = arith.constant 0.0 : f32
        loop.yield %z : f32
      }
      loop.store %v, %y[%i, %j] : memref<4x5xf32>
      %corner = arith.cmpi eq, %i, %j : index
      loop.if %corner {
        %one = arith.constant 1.0 : f32
        %old = loop.load %y[%i, %j] : memref<4x5xf32>
        %new = arith.addf %old, %one : f32
        loop.store %new, %y[%i, %j] : memref<4x5xf32>
        loop.yield
      }
      loop.yield
    }
    loop.yield
  }
  return
}
"""

VADD = """
loop.global @bias : memref<8xf32> = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
func.func @main(%x: memref<2x16xf32>, %y: memref<2x16xf32>, %out: memref<2x16xf32>, %sums: memref<2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %bias = loop.get_global @bias : memref<8xf32>
  %two = arith.constant 2.0 : f32
  %tw = loop.broadcast %two : f32 to vector<8xf32>
  loop.for %i = %c0 to %c2 step %c1 {
    %zero = arith.constant 0.0 : f32
    %total = loop.for %j = %c0 to %c16 step %c8 {kind = "vectorized"} iter_args(%acc = %zero) -> (f32) {
      %a = loop.vload %x[%i, %j] : memref<2x16xf32>, vector<8xf32>
      %b = loop.vload %y[%i, %j] : memref<2x16xf32>, vector<8xf32>
      %bb = loop.vload %bias[%c0] : memref<8xf32>, vector<8xf32>
      %s = arith.addf %a, %b : vector<8xf32>
      %t = arith.addf %s, %bb : vector<8xf32>
      %u = arith.mulf %t, %tw : vector<8xf32>
      loop.vstore %u, %out[%i, %j] : memref<2x16xf32>, vector<8xf32>
      %r = loop.reduce_vector "sum" %u : vector<8xf32> -> f32
      %acc2 = arith.addf %acc, %r : f32
      loop.yield %acc2 : f32
    }
    loop.store %total, %sums[%i] : memref<2xf32>
    loop.yield
  }
  return
}
"""

SCRATCH = """
func.func @main(%x: memref<6xf32>, %y: memref<6xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c6 = arith.constant 6 : index
  %tmp = loop.alloc : memref<6xf32>
  loop.for %i = %c0 to %c6 step %c1 {
    %v = loop.load %x[%i] : memref<6xf32>
    %e = math.exp %v : f32
    loop.store %e, %tmp[%i] : memref<6xf32>
    loop.yield
  }
  %m = loop.for %i = %c0 to %c6 step %c1 iter_args(%acc = %c0) -> (index) {
    %v = loop.load %tmp[%i] : memref<6xf32>
    %n = arith.subi %c6, %i : index
    %last = arith.subi %n, %c1 : index
    loop.store %v, %y[%last] : memref<6xf32>
    %next = arith.addi %acc, %c1 : index
    loop.yield %next : index
  }
  loop.dealloc %tmp : memref<6xf32>
  return
}
"""

EXAMPLES = {"matmul": MATMUL, "pad": PAD, "vadd": VADD, "scratch": SCRATCH}


def parse(text: str, filename: str = "<input>"):
    return descend.parse(text, filename=filename)


# ---- textual round trips ---------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_custom_form_round_trips(name):
    module = parse(EXAMPLES[name])
    text = print_ir(module)
    again = parse(text)
    assert print_ir(again) == text
    assert_structurally_equal(again, module, locations=False)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_generic_form_round_trips(name):
    module = parse(EXAMPLES[name])
    generic = module.print(generic=True)
    assert '"loop.for"' in generic
    again = parse(generic)
    assert_structurally_equal(again, module, locations=False)
    assert print_ir(again) == print_ir(module)


def test_custom_form_spelling():
    text = print_ir(parse(MATMUL))
    assert 'loop.for %i = %c0 to %c4 step %c1 {kind = "parallel"} {' in text
    assert "loop.for %j = %c0 to %c3 step %c1 {\n" in text  # serial is the default: not printed
    assert "%acc = loop.for %k = %c0 to %c8 step %c1 iter_args(%s = %zero) -> (f32) {" in text
    vadd = print_ir(parse(VADD))
    assert "loop.vload %x[%i, %j] : memref<2x16xf32>, vector<8xf32>" in vadd
    assert 'loop.reduce_vector "sum" %u : vector<8xf32> -> f32' in vadd
    assert "loop.global @bias : memref<8xf32> = dense<" in vadd
    assert "loop.broadcast %two : f32 to vector<8xf32>" in vadd
    pad = print_ir(parse(PAD))
    assert "%v = loop.if %in -> (f32) {" in pad and "} else {" in pad
    assert "loop.if %corner {" in pad


def test_generic_form_of_for():
    generic = parse(MATMUL).print(generic=True)
    assert '"loop.for"(%c0, %c8, %c1, %zero) ({\n        ^bb0(%k: index, %s: f32):' in generic
    assert '<{kind = "parallel"}>' in generic


def test_other_attributes_follow_the_body():
    text = MATMUL.replace("loop.store %acc, %y[%i, %j] : memref<4x3xf32>\n      loop.yield\n    }",
                          "loop.store %acc, %y[%i, %j] : memref<4x3xf32>\n      loop.yield\n    } {tag = 1 : i64}")
    printed = print_ir(parse(text))
    assert "} {tag = 1 : i64}" in printed
    assert print_ir(parse(printed)) == printed


def test_more_iter_args_than_types_is_a_located_parse_error():
    text = """func.func @f(%a: f32) {
  %c0 = arith.constant 0 : index
  %r = loop.for %i = %c0 to %c0 step %c0 iter_args(%x = %a, %y = %a) -> (f32) {
    loop.yield %x : f32
  }
  return
}"""
    with pytest.raises(DiagnosticError, match=r"t.mlir:3:\d+: error: 'loop.for' has 2 iter_args but 1 result types"):
        parse(text, "t.mlir")


# ---- verifier ------------------------------------------------------------------------------------

_PRELUDE = ("func.func @f(%m: memref<4x8xf32>, %i: index, %v: vector<8xf32>, %s: f32, %b: i1) {\n"
            "  %c0 = arith.constant 0 : index\n  %c1 = arith.constant 1 : index\n"
            "  %c4 = arith.constant 4 : index\n")


@pytest.mark.parametrize("line, message", [
    ("%x = loop.load %m[%i] : memref<4x8xf32>",
     r"'loop.load' op expects 2 indices for memref<4x8xf32>, got 1"),
    ("loop.store %i, %m[%i, %i] : memref<4x8xf32>",
     r"'loop.store' op stores a index into memref<4x8xf32>"),
    ("%x = loop.vload %m[%i, %i] : memref<4x8xf32>, vector<16xf32>",
     r"vector of 16 elements is wider than the last dimension \(8\) of memref<4x8xf32>"),
    ("%x = loop.vload %m[%i, %c4] : memref<4x8xf32>, vector<8xf32>",
     r"vector of 8 elements at index 4 runs past the last dimension \(8\)"),
    ('%x = "loop.vload"(%m, %i, %i) : (memref<4x8xf32>, index, index) -> vector<8xi32>',
     r"vector element type i32 does not match the memref's f32"),
    ("loop.vstore %v, %m[%i] : memref<4x8xf32>, vector<8xf32>",
     r"'loop.vstore' op expects 2 indices for memref<4x8xf32>, got 1"),
    ('%x = "loop.broadcast"(%s) : (f32) -> vector<8xi32>',
     r"cannot broadcast f32 to vector<8xi32>"),
    ('%x = loop.reduce_vector "avg" %v : vector<8xf32> -> f32',
     r"kind must be one of sum, max, min, prod, got 'avg'"),
    ('%x = "loop.alloc"() : () -> memref<?x8xf32>', r"needs a static shape, got memref<\?x8xf32>"),
    ("loop.for %j = %c0 to %c4 step %c1 {kind = \"fast\"} {\n    loop.yield\n  }",
     r"'loop.for' op kind must be one of serial, parallel, vectorized, unrolled, got 'fast'"),
    ("loop.for %j = %c0 to %c4 step %c0 {\n    loop.yield\n  }",
     r"step must be positive, got 0"),
    ("%r = loop.for %j = %c0 to %c4 step %c1 iter_args(%a = %s) -> (f32) {\n    loop.yield %i : index\n  }",
     r"loop.yield gives \(index\) but the loop carries \(f32\)"),
    ('%r = "loop.for"(%c0, %c4, %c1, %s) ({\n  ^bb0(%j: index, %a: f32):\n    "loop.yield"(%a) : (f32) -> ()\n  }) : (index, index, index, f32) -> i32',
     r"result types \(i32\) must match the iter_args' initial values \(f32\)"),
    ('"loop.for"(%c0, %c4, %c1) ({\n  ^bb0(%j: index, %a: f32):\n    "loop.yield"() : () -> ()\n  }) : (index, index, index) -> ()',
     r"body block arguments must be \(index\): the induction variable, then the iter_args; got \(index, f32\)"),
    ("%r = loop.if %b -> (f32) {\n    loop.yield %s : f32\n  }",
     r"'loop.if' op must have an else region when it has results \(f32\)"),
    ("%r = loop.if %b -> (f32) {\n    loop.yield %s : f32\n  } else {\n    loop.yield %i : index\n  }",
     r"else region yields \(index\) but the results are \(f32\)"),
    ("%g = loop.get_global @nowhere : memref<4xf32>", r"'@nowhere' does not name a loop.global"),
])
def test_verifier_errors_are_located(line, message):
    text = _PRELUDE + f"  {line}\n  return\n}}\n"
    with pytest.raises(DiagnosticError, match=r"t.mlir:5:\d+: error: " + ".*" + message):
        parse(text, "t.mlir")


def test_yield_outside_a_loop():
    text = "func.func @f() {\n  loop.yield\n}\n"
    with pytest.raises(DiagnosticError, match=r"t.mlir:2:3: error: 'loop.yield' op expects parent op to "
                                              r"be one of 'loop.for', 'loop.if'"):
        parse(text, "t.mlir")


def test_global_type_must_fit_its_value():
    text = "loop.global @w : memref<4xf32> = dense<1.0> : tensor<2xf32>\n"
    with pytest.raises(DiagnosticError, match=r"t.mlir:1:1: error: 'loop.global' op value of type "
                                              r"tensor<2xf32> does not fit the buffer memref<4xf32>"):
        parse(text, "t.mlir")


def test_get_global_type_must_match():
    text = ("loop.global @w : memref<4xf32> = dense<1.0> : tensor<4xf32>\n"
            "func.func @f() {\n  %g = loop.get_global @w : memref<2xf32>\n  return\n}\n")
    with pytest.raises(DiagnosticError, match=r"t.mlir:3:8: error: .*result type memref<2xf32> does "
                                              r"not match the global's type memref<4xf32>"):
        parse(text, "t.mlir")


# ---- semantics -----------------------------------------------------------------------------------

def test_matmul_with_iter_args():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    w = rng.standard_normal((3, 8)).astype(np.float32)
    y = np.zeros((4, 3), np.float32)
    assert descend.interpret(parse(MATMUL), "main", [x, w, y]) == []
    np.testing.assert_allclose(y, x @ w.T, rtol=1e-5, atol=1e-5)


def test_padded_copy_with_if():
    x = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    y = np.full((4, 5), -1.0, np.float32)
    descend.interpret(parse(PAD), "main", [x, y])
    expected = np.pad(x, ((1, 1), (1, 1)))
    expected[np.arange(4), np.arange(4)] += 1.0
    np.testing.assert_array_equal(y, expected)


def test_vectorized_add_and_reduction():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 16)).astype(np.float32)
    y = rng.standard_normal((2, 16)).astype(np.float32)
    out = np.zeros((2, 16), np.float32)
    sums = np.zeros(2, np.float32)
    descend.interpret(parse(VADD), "main", [x, y, out, sums])
    bias = np.tile(np.arange(1, 9, dtype=np.float32), 2)
    expected = (x + y + bias) * 2
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(sums, expected.sum(axis=1), rtol=1e-5)


def test_scratch_buffer_and_index_iter_args():
    x = np.linspace(-1, 1, 6).astype(np.float32)
    y = np.zeros(6, np.float32)
    descend.interpret(parse(SCRATCH), "main", [x, y])
    np.testing.assert_allclose(y, np.exp(x)[::-1], rtol=1e-6)


@pytest.mark.parametrize("kind, expected", [("sum", 10.0), ("max", 4.0), ("min", 1.0), ("prod", 24.0)])
def test_reduce_vector_kinds(kind, expected):
    text = f"""func.func @f(%m: memref<4xf32>, %o: memref<1xf32>) {{
  %c0 = arith.constant 0 : index
  %v = loop.vload %m[%c0] : memref<4xf32>, vector<4xf32>
  %r = loop.reduce_vector "{kind}" %v : vector<4xf32> -> f32
  loop.store %r, %o[%c0] : memref<1xf32>
  return
}}"""
    out = np.zeros(1, np.float32)
    descend.interpret(parse(text), "f", [np.array([3, 1, 4, 2], np.float32), out])
    assert out[0] == expected


def test_out_of_bounds_load_names_op_index_and_shape():
    text = MATMUL.replace("%c8 = arith.constant 8 : index", "%c8 = arith.constant 9 : index")
    module = parse(text, "mm.mlir")
    args = [np.zeros((4, 8), np.float32), np.zeros((3, 8), np.float32), np.zeros((4, 3), np.float32)]
    with pytest.raises(DiagnosticError, match=r"mm.mlir:12:14: error: 'loop.load' op index \[0, 8\] "
                                              r"out of bounds for memref of shape \[4, 8\]"):
        descend.interpret(module, "main", args)


def test_out_of_bounds_vector_store():
    text = """func.func @f(%m: memref<2x8xf32>, %i: index, %v: vector<4xf32>) {
  %c0 = arith.constant 0 : index
  loop.vstore %v, %m[%c0, %i] : memref<2x8xf32>, vector<4xf32>
  return
}"""
    module = parse(text, "v.mlir")
    m = np.zeros((2, 8), np.float32)
    descend.interpret(module, "f", [m, 4, np.ones(4, np.float32)])
    assert m[0, 4:].tolist() == [1, 1, 1, 1]
    with pytest.raises(DiagnosticError, match=r"v.mlir:3:3: error: 'loop.vstore' op 4 elements at index "
                                              r"\[0, 5\] out of bounds for memref of shape \[2, 8\]"):
        descend.interpret(module, "f", [m, 5, np.ones(4, np.float32)])


def test_globals_are_read_only():
    text = """loop.global @w : memref<2xf32> = dense<[1.0, 2.0]> : tensor<2xf32>
func.func @f() {
  %c0 = arith.constant 0 : index
  %g = loop.get_global @w : memref<2xf32>
  %v = loop.load %g[%c0] : memref<2xf32>
  loop.store %v, %g[%c0] : memref<2xf32>
  return
}"""
    with pytest.raises(DiagnosticError, match=r"g.mlir:6:3: error: 'loop.store' op writes into a constant buffer"):
        descend.interpret(parse(text, "g.mlir"), "f", [])


def test_alloc_is_poisoned_with_nan():
    text = """func.func @f(%o: memref<2xf32>) {
  %c0 = arith.constant 0 : index
  %t = loop.alloc : memref<2xf32>
  %v = loop.load %t[%c0] : memref<2xf32>
  loop.store %v, %o[%c0] : memref<2xf32>
  return
}"""
    out = np.zeros(2, np.float32)
    descend.interpret(parse(text), "f", [out])
    assert np.isnan(out[0])


def test_zero_trip_loop_gives_its_initial_values():
    text = """func.func @f(%a: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = loop.for %i = %c1 to %c0 step %c1 iter_args(%x = %a) -> (f32) {
    %y = arith.addf %x, %x : f32
    loop.yield %y : f32
  }
  return %r : f32
}"""
    assert descend.interpret(parse(text), "f", [np.float32(3)]) == [np.float32(3)]


# ---- building from Python ----------------------------------------------------------------------------

def test_build_a_loop_nest_in_python():
    mt = MemRefType([4], f32)
    func = FuncOp.build(sym_name="main", function_type=FunctionType([mt], []))
    b = Builder.at_end(func.entry_block)
    c0 = b.build(ConstantOp, value=IntegerAttr(0, index)).result
    c1 = b.build(ConstantOp, value=IntegerAttr(1, index)).result
    c4 = b.build(ConstantOp, value=IntegerAttr(4, index)).result
    loop = b.build(ForOp, c0, c4, c1, kind="unrolled")
    assert constant_trip_count(loop) == 4
    inner = Builder.at_end(loop.body.blocks[0])
    i = loop.induction_variable
    v = inner.build(LoadOp, func.entry_block.args[0], [i]).result
    w = inner.build(ConstantOp, value=descend.ir.FloatAttr(1.0, f32)).result
    s = inner.build(AddFOp, v, w).result
    inner.build(StoreOp, s, func.entry_block.args[0], [i])
    inner.build(YieldOp)
    b.build(ReturnOp)
    module = parse(print_ir(func))
    m = np.arange(4, dtype=np.float32)
    descend.interpret(module, "main", [m])
    assert m.tolist() == [1, 2, 3, 4]


# ---- passes ----------------------------------------------------------------------------------------

def run_pass(text: str, pipeline: str):
    module = parse(text)
    PassManager.parse(pipeline).run(module)
    return module


def assert_pass_gives(before: str, pipeline: str, expected: str):
    after = run_pass(before, pipeline)
    assert_structurally_equal(after, parse(expected), locations=False)
    once = print_ir(after)
    PassManager.parse(pipeline).run(after)
    assert print_ir(after) == once, "the pass is not idempotent"


def random_args(module, name: str, rng):
    func = descend.ir.SymbolTable(module).lookup(name)
    return [rng.standard_normal(t.shape).astype(np.float32) for t in func.function_type.type.inputs]


def assert_equivalent(before: str, pipeline: str, seeds=range(3)):
    """Interpret before and after the pass on random inputs: every buffer must end equal."""
    original = parse(before)
    transformed = run_pass(before, pipeline)
    for seed in seeds:
        inputs = random_args(original, "main", np.random.default_rng(seed))
        copies = [a.copy() for a in inputs]
        expected = descend.interpret(original, "main", inputs)
        got = descend.interpret(transformed, "main", copies)
        for a, b in zip(inputs, copies):
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)
        for a, b in zip(expected, got):
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)


SIMPLIFY_BEFORE = """
func.func @main(%x: memref<4x8xf32>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.addi %c1, %c2 : index
  %c4 = arith.muli %c2, %c2 : index
  loop.for %i = %c0 to %c4 step %c1 {
    %zero = arith.constant 0.0 : f32
    %once = loop.for %o = %c3 to %c4 step %c1 iter_args(%acc = %zero) -> (f32) {
      %v = loop.load %x[%i, %o] : memref<4x8xf32>
      %a = arith.addf %acc, %v : f32
      loop.yield %a : f32
    }
    %none = loop.for %o = %c4 to %c3 step %c1 iter_args(%acc = %once) -> (f32) {
      %a = arith.addf %acc, %acc : f32
      loop.yield %a : f32
    }
    %empty = loop.for %o = %c0 to %c4 step %c1 iter_args(%acc = %none) -> (f32) {
      loop.yield %acc : f32
    }
    %true = arith.constant true
    %picked = loop.if %true -> (f32) {
      loop.yield %empty : f32
    } else {
      loop.yield %zero : f32
    }
    loop.store %picked, %y[%i] : memref<4xf32>
    loop.yield
  }
  return
}
"""

# The folder gathers constants at the top of the function (as MLIR's greedy driver does).
SIMPLIFY_EXPECTED = """
func.func @main(%x: memref<4x8xf32>, %y: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %c4 = arith.constant 4 : index
  %c3 = arith.constant 3 : index
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  loop.for %i = %c0 to %c4 step %c1 {
    %v = loop.load %x[%i, %c3] : memref<4x8xf32>
    %a = arith.addf %v, %zero : f32
    loop.store %a, %y[%i] : memref<4xf32>
    loop.yield
  }
  return
}
"""


def test_loop_simplify_before_expected():
    assert_pass_gives(SIMPLIFY_BEFORE, "loop-simplify", SIMPLIFY_EXPECTED)


def test_loop_simplify_preserves_results():
    assert_equivalent(SIMPLIFY_BEFORE, "loop-simplify")
    for text in EXAMPLES.values():
        if "loop.global" not in text:
            assert_equivalent(text, "loop-simplify")


HOIST_BEFORE = """
func.func @main(%x: memref<4x8xf32>, %y: memref<4x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  loop.for %i = %c0 to %c4 step %c1 {
    loop.for %j = %c0 to %c8 step %c1 {
      %two = arith.constant 2.0 : f32
      %half = arith.constant 0.5 : f32
      %scale = arith.mulf %two, %half : f32
      %row = arith.muli %i, %c8 : index
      %q = arith.divui %c8, %c4 : index
      %v = loop.load %x[%i, %j] : memref<4x8xf32>
      %w = arith.mulf %v, %scale : f32
      loop.store %w, %y[%i, %j] : memref<4x8xf32>
      loop.yield
    }
    loop.for %j = %c0 to %n step %c1 {
      %d = arith.divui %c8, %n : index
      loop.yield
    }
    loop.yield
  }
  return
}
"""

HOIST_EXPECTED = """
func.func @main(%x: memref<4x8xf32>, %y: memref<4x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %two = arith.constant 2.0 : f32
  %half = arith.constant 0.5 : f32
  %scale = arith.mulf %two, %half : f32
  %q = arith.divui %c8, %c4 : index
  loop.for %i = %c0 to %c4 step %c1 {
    %row = arith.muli %i, %c8 : index
    loop.for %j = %c0 to %c8 step %c1 {
      %v = loop.load %x[%i, %j] : memref<4x8xf32>
      %w = arith.mulf %v, %scale : f32
      loop.store %w, %y[%i, %j] : memref<4x8xf32>
      loop.yield
    }
    loop.for %j = %c0 to %n step %c1 {
      %d = arith.divui %c8, %n : index
      loop.yield
    }
    loop.yield
  }
  return
}
"""


def test_loop_hoist_invariants_before_expected():
    # %q (a division) leaves loops that run (constant trip counts); %d stays in a loop that
    # may run zero times (%n = 0 would make it divide by zero).
    assert_pass_gives(HOIST_BEFORE, "loop-hoist-invariants", HOIST_EXPECTED)


def test_loop_hoist_invariants_preserves_results():
    for text in EXAMPLES.values():
        if "loop.global" not in text and "%n" not in text:
            assert_equivalent(text, "loop-hoist-invariants")
    module = run_pass(MATMUL, "loop-hoist-invariants")
    assert "%zero = arith.constant" in print_ir(module).split("loop.for")[0]


UNROLL_BEFORE = """
func.func @main(%x: memref<3x4xf32>, %y: memref<3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  loop.for %i = %c0 to %c3 step %c1 {
    %zero = arith.constant 0.0 : f32
    %s = loop.for %k = %c0 to %c4 step %c2 {kind = "unrolled"} iter_args(%acc = %zero) -> (f32) {
      %v = loop.load %x[%i, %k] : memref<3x4xf32>
      %a = arith.addf %acc, %v : f32
      loop.yield %a : f32
    }
    loop.store %s, %y[%i] : memref<3xf32>
    loop.yield
  }
  return
}
"""

UNROLL_EXPECTED = """
func.func @main(%x: memref<3x4xf32>, %y: memref<3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  loop.for %i = %c0 to %c3 step %c1 {
    %zero = arith.constant 0.0 : f32
    %k0 = arith.constant 0 : index
    %v0 = loop.load %x[%i, %k0] : memref<3x4xf32>
    %a0 = arith.addf %zero, %v0 : f32
    %k1 = arith.constant 2 : index
    %v1 = loop.load %x[%i, %k1] : memref<3x4xf32>
    %a1 = arith.addf %a0, %v1 : f32
    loop.store %a1, %y[%i] : memref<3xf32>
    loop.yield
  }
  return
}
"""


def test_loop_unroll_before_expected():
    assert_pass_gives(UNROLL_BEFORE, "loop-unroll", UNROLL_EXPECTED)
    assert_equivalent(UNROLL_BEFORE, "loop-unroll")


def test_loop_unroll_respects_max_trip_count_and_kind():
    module = run_pass(UNROLL_BEFORE, "loop-unroll{max-trip-count=1}")
    assert 'kind = "unrolled"' in print_ir(module)
    module = run_pass(MATMUL.replace('{kind = "parallel"}', ""), "loop-unroll{max-trip-count=64}")
    assert print_ir(module).count("loop.for") == 3  # no loop of kind "unrolled": nothing to do


def test_loop_unroll_nested_loops():
    text = MATMUL.replace('{kind = "parallel"}', '{kind = "unrolled"}').replace(
        "iter_args(%s = %zero)", '{kind = "unrolled"} iter_args(%s = %zero)')
    module = run_pass(text, "loop-unroll")
    printed = print_ir(module)
    assert printed.count("loop.for") == 4 and printed.count("arith.mulf") == 4 * 8  # j stays serial
    assert_equivalent(text, "loop-unroll")
    assert_equivalent(text, "loop-unroll,loop-hoist-invariants,loop-simplify,cse")


def test_loop_passes_pipeline_on_examples():
    for text in (MATMUL, PAD, SCRATCH):
        assert_equivalent(text, "loop-hoist-invariants,loop-unroll,loop-simplify,canonicalize,cse")
