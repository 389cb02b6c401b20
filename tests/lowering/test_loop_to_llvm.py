"""lower-loop-to-llvm and lowering/native.py: each loop-level program runs through the loop
interpreter and through the JIT on random inputs with equal results; parallel loops on 1, 2
and 4 threads; the exported .so through descend.runtime.load; the lowered module is pure
llvm dialect, verifies and round-trips; unsupported input is a located error."""

import numpy as np
import pytest

import descend
from descend.ir import DiagnosticError
from descend.ir.interpreter import interpret
from descend.lowering import codegen
from descend.lowering.loop_to_llvm import lower_loop_to_llvm
from descend.lowering.native import compile_loop_module
from descend.rewrites import PassManager

needs_cc = pytest.mark.skipif(codegen.find_cc() is None, reason="no C compiler to link with")

MATMUL = """
module {
  loop.global @w : memref<16x64xf32> = dense<0.5> : tensor<16x64xf32>
  func.func private @kernel(%x: memref<8x64xf32>, %y: memref<8x16xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %w = loop.get_global @w : memref<16x64xf32>
    loop.for %i = %c0 to %c8 step %c1 {kind = "parallel"} {
      loop.for %j = %c0 to %c16 step %c1 {
        %acc0 = arith.constant 0.0 : f32
        %acc = loop.for %k = %c0 to %c64 step %c1 iter_args(%s = %acc0) -> (f32) {
          %a = loop.load %x[%i, %k] : memref<8x64xf32>
          %b = loop.load %w[%j, %k] : memref<16x64xf32>
          %p = arith.mulf %a, %b : f32
          %s2 = arith.addf %s, %p : f32
          loop.yield %s2 : f32
        }
        loop.store %acc, %y[%i, %j] : memref<8x16xf32>
        loop.yield
      }
      loop.yield
    }
    return
  }
  func.func @main(%x: memref<8x64xf32>, %y: memref<8x16xf32>) attributes {onnx.inputs = ["x"], onnx.outputs = ["y"]} {
    func.call @kernel(%x, %y) : (memref<8x64xf32>, memref<8x16xf32>) -> ()
    return
  }
}
"""

# out[c, i] = sum_k pad(x)[c, i + k - 1] * w[c, k], zero padding by a loop.if that yields
PADDED_CONV = """
module {
  loop.global @w : memref<3x3xf32> = dense<[[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25], [0.0, 1.0, -2.0]]> : tensor<3x3xf32>
  func.func @main(%x: memref<3x10xf32>, %y: memref<3x10xf32>) attributes {onnx.inputs = ["x"], onnx.outputs = ["y"]} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %c10 = arith.constant 10 : index
    %w = loop.get_global @w : memref<3x3xf32>
    loop.for %c = %c0 to %c3 step %c1 {kind = "parallel"} {
      loop.for %i = %c0 to %c10 step %c1 {
        %zero = arith.constant 0.0 : f32
        %acc = loop.for %k = %c0 to %c3 step %c1 iter_args(%s = %zero) -> (f32) {
          %ik = arith.addi %i, %k : index
          %p = arith.subi %ik, %c1 : index
          %ge = arith.cmpi sge, %p, %c0 : index
          %lt = arith.cmpi slt, %p, %c10 : index
          %in = arith.andi %ge, %lt : i1
          %v = loop.if %in -> (f32) {
            %xv = loop.load %x[%c, %p] : memref<3x10xf32>
            loop.yield %xv : f32
          } else {
            loop.yield %zero : f32
          }
          %wv = loop.load %w[%c, %k] : memref<3x3xf32>
          %m = arith.mulf %v, %wv : f32
          %s2 = arith.addf %s, %m : f32
          loop.yield %s2 : f32
        }
        loop.store %acc, %y[%c, %i] : memref<3x10xf32>
        loop.yield
      }
      loop.yield
    }
    return
  }
}
"""

# row max (NaN-propagating) and row sum with iter_args, an intermediate buffer, a dealloc
REDUCTION = """
module {
  func.func private @rowmax(%x: memref<5x7xf32>, %t: memref<5xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    loop.for %i = %c0 to %c5 step %c1 {
      %init = arith.constant 0xFF800000 : f32
      %m = loop.for %j = %c0 to %c7 step %c1 iter_args(%a = %init) -> (f32) {
        %v = loop.load %x[%i, %j] : memref<5x7xf32>
        %a2 = arith.maximumf %a, %v : f32
        loop.yield %a2 : f32
      }
      loop.store %m, %t[%i] : memref<5xf32>
      loop.yield
    }
    return
  }
  func.func @main(%x: memref<5x7xf32>, %y: memref<5xf32>, %z: memref<f32>) attributes {onnx.inputs = ["x"], onnx.outputs = ["y", "z"]} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c5 = arith.constant 5 : index
    %t = loop.alloc : memref<5xf32>
    func.call @rowmax(%x, %t) : (memref<5x7xf32>, memref<5xf32>) -> ()
    %zero = arith.constant 0.0 : f32
    %sum = loop.for %i = %c0 to %c5 step %c1 iter_args(%s = %zero) -> (f32) {
      %v = loop.load %t[%i] : memref<5xf32>
      %e = math.exp %v : f32
      loop.store %e, %y[%i] : memref<5xf32>
      %s2 = arith.addf %s, %v : f32
      loop.yield %s2 : f32
    }
    loop.store %sum, %z[] : memref<f32>
    loop.dealloc %t : memref<5xf32>
    return
  }
}
"""

# vectorized elementwise: y = max(x * 2, 0.5) by vectors of 8, row reductions of vectors
VECTORS = """
module {
  func.func @main(%x: memref<4x16xf32>, %n: memref<4x16xi32>, %y: memref<4x16xf32>, %r: memref<4x4xf32>, %q: memref<4x4xi32>) attributes {onnx.inputs = ["x", "n"], onnx.outputs = ["y", "r", "q"]} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %two = arith.constant 2.0 : f32
    %half = arith.constant dense<0.5> : vector<8xf32>
    %twos = loop.broadcast %two : f32 to vector<8xf32>
    loop.for %i = %c0 to %c4 step %c1 {
      loop.for %j = %c0 to %c16 step %c8 {kind = "vectorized"} {
        %v = loop.vload %x[%i, %j] : memref<4x16xf32>, vector<8xf32>
        %m = arith.mulf %v, %twos : vector<8xf32>
        %c = arith.maximumf %m, %half : vector<8xf32>
        loop.vstore %c, %y[%i, %j] : memref<4x16xf32>, vector<8xf32>
        loop.yield
      }
      %row = loop.vload %x[%i, %c0] : memref<4x16xf32>, vector<16xf32>
      %s = loop.reduce_vector "sum" %row : vector<16xf32> -> f32
      %mx = loop.reduce_vector "max" %row : vector<16xf32> -> f32
      %head = loop.vload %x[%i, %c2] : memref<4x16xf32>, vector<6xf32>
      %mn = loop.reduce_vector "min" %head : vector<6xf32> -> f32
      %p = loop.reduce_vector "prod" %head : vector<6xf32> -> f32
      loop.store %s, %r[%i, %c0] : memref<4x4xf32>
      loop.store %mx, %r[%i, %c1] : memref<4x4xf32>
      loop.store %mn, %r[%i, %c2] : memref<4x4xf32>
      loop.store %p, %r[%i, %c3] : memref<4x4xf32>
      %nv = loop.vload %n[%i, %c0] : memref<4x16xi32>, vector<16xi32>
      %ns = loop.reduce_vector "sum" %nv : vector<16xi32> -> i32
      %nx = loop.reduce_vector "max" %nv : vector<16xi32> -> i32
      %nh = loop.vload %n[%i, %c4] : memref<4x16xi32>, vector<3xi32>
      %nm = loop.reduce_vector "min" %nh : vector<3xi32> -> i32
      %np = loop.reduce_vector "prod" %nh : vector<3xi32> -> i32
      loop.store %ns, %q[%i, %c0] : memref<4x4xi32>
      loop.store %nx, %q[%i, %c1] : memref<4x4xi32>
      loop.store %nm, %q[%i, %c2] : memref<4x4xi32>
      loop.store %np, %q[%i, %c3] : memref<4x4xi32>
      loop.yield
    }
    return
  }
}
"""

# integer arithmetic exactly as arith defines it, casts, selects, compares
INTEGERS = """
module {
  func.func @main(%a: memref<64xi32>, %b: memref<64xi32>, %o: memref<12x64xi32>, %f: memref<3x64xf32>) attributes {onnx.inputs = ["a", "b"], onnx.outputs = ["o", "f"]} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %r0 = arith.constant 0 : index
    %r1 = arith.constant 1 : index
    %r2 = arith.constant 2 : index
    %r3 = arith.constant 3 : index
    %r4 = arith.constant 4 : index
    %r5 = arith.constant 5 : index
    %r6 = arith.constant 6 : index
    %r7 = arith.constant 7 : index
    %r8 = arith.constant 8 : index
    %r9 = arith.constant 9 : index
    %r10 = arith.constant 10 : index
    %r11 = arith.constant 11 : index
    loop.for %i = %c0 to %c64 step %c1 {
      %x = loop.load %a[%i] : memref<64xi32>
      %y = loop.load %b[%i] : memref<64xi32>
      %fd = arith.floordivsi %x, %y : i32
      %cd = arith.ceildivsi %x, %y : i32
      %rs = arith.remsi %x, %y : i32
      %ds = arith.divsi %x, %y : i32
      %mx = arith.maxsi %x, %y : i32
      %mn = arith.minui %x, %y : i32
      %sh = arith.shrsi %x, %r3i : i32
      %xo = arith.xori %x, %y : i32
      %ml = arith.muli %x, %y : i32
      %ix = arith.index_cast %x : i32 to index
      %ix2 = arith.floordivsi %ix, %r7 : index
      %back = arith.index_cast %ix2 : index to i32
      %t8 = arith.trunci %x : i32 to i8
      %e8 = arith.extsi %t8 : i8 to i32
      %lt = arith.cmpi slt, %x, %y : i32
      %sel = arith.select %lt, %x, %y : i32
      %fx = arith.sitofp %x : i32 to f32
      %fy = arith.sitofp %y : i32 to f32
      %q = arith.divf %fx, %fy : f32
      %gt = arith.cmpf ogt, %q, %fx : f32
      %g = arith.extui %gt : i1 to i32
      %ff = arith.fptosi %q : f32 to i32
      %ffl = arith.sitofp %ff : i32 to f32
      %neg = arith.negf %q : f32
      loop.store %fd, %o[%r0, %i] : memref<12x64xi32>
      loop.store %cd, %o[%r1, %i] : memref<12x64xi32>
      loop.store %rs, %o[%r2, %i] : memref<12x64xi32>
      loop.store %ds, %o[%r3, %i] : memref<12x64xi32>
      loop.store %mx, %o[%r4, %i] : memref<12x64xi32>
      loop.store %mn, %o[%r5, %i] : memref<12x64xi32>
      loop.store %sh, %o[%r6, %i] : memref<12x64xi32>
      loop.store %xo, %o[%r7, %i] : memref<12x64xi32>
      loop.store %ml, %o[%r8, %i] : memref<12x64xi32>
      loop.store %back, %o[%r9, %i] : memref<12x64xi32>
      loop.store %e8, %o[%r10, %i] : memref<12x64xi32>
      %gs = arith.addi %g, %sel : i32
      loop.store %gs, %o[%r11, %i] : memref<12x64xi32>
      loop.store %q, %f[%r0, %i] : memref<3x64xf32>
      loop.store %ffl, %f[%r1, %i] : memref<3x64xf32>
      loop.store %neg, %f[%r2, %i] : memref<3x64xf32>
      loop.yield
    }
    return
  }
}
""".replace("%r3i", "%three").replace("    loop.for %i", "    %three = arith.constant 3 : i32\n    loop.for %i", 1)

# math on scalars and vectors: intrinsics and libm calls (erf, log1p, atan2: no intrinsic)
MATH = """
module {
  func.func @main(%x: memref<8xf32>, %y: memref<9x8xf32>) attributes {onnx.inputs = ["x"], onnx.outputs = ["y"]} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %v = loop.vload %x[%c0] : memref<8xf32>, vector<8xf32>
    %e = math.exp %v : vector<8xf32>
    %t = math.tanh %v : vector<8xf32>
    %r = math.erf %v : vector<8xf32>
    %a = math.absf %v : vector<8xf32>
    %s = math.sqrt %a : vector<8xf32>
    %l = math.log1p %a : vector<8xf32>
    %rs = math.rsqrt %a : vector<8xf32>
    loop.vstore %e, %y[%c0, %c0] : memref<9x8xf32>, vector<8xf32>
    loop.vstore %t, %y[%c1, %c0] : memref<9x8xf32>, vector<8xf32>
    loop.vstore %r, %y[%c8, %c0] : memref<9x8xf32>, vector<8xf32>
    %r2 = arith.constant 2 : index
    %r3 = arith.constant 3 : index
    %r4 = arith.constant 4 : index
    %r5 = arith.constant 5 : index
    %r6 = arith.constant 6 : index
    %r7 = arith.constant 7 : index
    loop.vstore %s, %y[%r2, %c0] : memref<9x8xf32>, vector<8xf32>
    loop.vstore %l, %y[%r3, %c0] : memref<9x8xf32>, vector<8xf32>
    loop.vstore %rs, %y[%r4, %c0] : memref<9x8xf32>, vector<8xf32>
    loop.for %i = %c0 to %c8 step %c1 {
      %xi = loop.load %x[%i] : memref<8xf32>
      %ai = math.absf %xi : f32
      %p = math.powf %ai, %xi : f32
      %at = math.atan2 %xi, %ai : f32
      %lg = math.log %ai : f32
      loop.store %p, %y[%r5, %i] : memref<9x8xf32>
      loop.store %at, %y[%r6, %i] : memref<9x8xf32>
      loop.store %lg, %y[%r7, %i] : memref<9x8xf32>
      loop.yield
    }
    return
  }
}
"""

# a parallel loop inside a parallel loop runs serially; so does one that carries values
NESTED_PARALLEL = """
module {
  func.func @main(%x: memref<6x5xf32>, %y: memref<6x5xf32>, %s: memref<6xf32>) attributes {onnx.inputs = ["x"], onnx.outputs = ["y", "s"]} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c5 = arith.constant 5 : index
    %c6 = arith.constant 6 : index
    %k = arith.constant 3.0 : f32
    loop.for %i = %c0 to %c6 step %c1 {kind = "parallel"} {
      loop.for %j = %c0 to %c5 step %c1 {kind = "parallel"} {
        %v = loop.load %x[%i, %j] : memref<6x5xf32>
        %w = arith.mulf %v, %k : f32
        loop.store %w, %y[%i, %j] : memref<6x5xf32>
        loop.yield
      }
      %zero = arith.constant 0.0 : f32
      %t = loop.for %j = %c0 to %c5 step %c2 {kind = "parallel"} iter_args(%a = %zero) -> (f32) {
        %v = loop.load %x[%i, %j] : memref<6x5xf32>
        %a2 = arith.addf %a, %v : f32
        loop.yield %a2 : f32
      }
      loop.store %t, %s[%i] : memref<6xf32>
      loop.yield
    }
    return
  }
}
"""


def _random(shape, dtype, rng):
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-50, 50, shape).astype(dtype)


def check(text, threads=(1,), rtol=1e-6, atol=1e-6, inputs=None, seed=0):
    """Run @main through the interpreter and the JIT on the same random inputs."""
    module = descend.parse(text)
    native = compile_loop_module(module)
    rng = np.random.default_rng(seed)
    if inputs is None:
        inputs = [_random(tuple(i.shape), i.dtype, rng) for i in native.get_inputs()]
    expected = [np.zeros(tuple(o.shape), o.dtype) for o in native.get_outputs()]
    interpret(module, "main", [*inputs, *expected])
    for n in threads:
        native.set_num_threads(n)
        assert native.num_threads == n
        got = native.run(inputs)
        for e, g in zip(expected, got):
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
    return native, inputs, expected


def test_matmul_parallel_on_1_2_4_threads():
    check(MATMUL, threads=(1, 2, 4), rtol=1e-5)


def test_padded_conv_with_loop_if():
    check(PADDED_CONV, threads=(1, 3), rtol=1e-6)


def test_reduction_iter_args_alloc_and_dealloc():
    native, _, _ = check(REDUCTION, rtol=1e-6)
    names = [(o.name, tuple(o.shape)) for o in native.get_outputs()]
    assert names == [("y", (5,)), ("z", ())]


def test_reduction_propagates_nan_like_maximumf():
    x = np.random.default_rng(1).standard_normal((5, 7)).astype(np.float32)
    x[2, 3] = np.nan
    native, _, expected = check(REDUCTION, inputs=[x])
    assert np.isnan(expected[0][2])


def test_vectors_broadcast_vload_vstore_reduce():
    check(VECTORS, rtol=1e-5)


def test_integer_arithmetic_exactly_as_arith():
    rng = np.random.default_rng(3)
    a = rng.integers(-1000, 1000, 64).astype(np.int32)
    b = rng.integers(-9, 9, 64).astype(np.int32)
    b[b == 0] = 3
    a[:4] = [-7, 7, -8, 0]
    b[:4] = [2, -2, -3, 5]
    check(INTEGERS, inputs=[a, b])


def test_math_intrinsics_and_libm():
    check(MATH, rtol=2e-6, atol=1e-6)


def test_nested_and_carrying_parallel_loops_run_serially_inside():
    native, _, _ = check(NESTED_PARALLEL, threads=(1, 4), rtol=1e-6)
    outlined = [f for f in native.module.regions[0].blocks[0].ops
                if f.name == "llvm.func" and "parallel" in f.sym_name.value
                and f.sym_name.value != "descend_parallel_for"]
    assert len(outlined) == 1  # only the outermost loop is outlined


def test_more_threads_than_iterations():
    check(PADDED_CONV, threads=(8,))


# ---- the lowered module -------------------------------------------------------------------

def _lowered(text, **options):
    module = descend.parse(text)
    lower_loop_to_llvm(module, **options)
    return module


@pytest.mark.parametrize("text", [MATMUL, PADDED_CONV, REDUCTION, VECTORS, INTEGERS, MATH, NESTED_PARALLEL])
def test_lowered_module_is_llvm_only_verifies_and_round_trips(text):
    module = _lowered(text)
    module.verify()
    names = {op.name.split(".")[0] for op in module.walk() if op is not module}
    assert names == {"llvm"}
    for generic in (False, True):
        printed = descend.print_ir(module, generic=generic) if generic else str(module)
        again = descend.parse(printed)
        again.verify()
        assert str(again) == str(module)


def test_pass_from_a_pipeline_and_kernel_only_modules():
    module = descend.parse(MATMUL)
    PassManager.parse("builtin.module(lower-loop-to-llvm{entry=false})").run(module)
    names = {op.properties["sym_name"].value for op in module.regions[0].blocks[0].ops}
    assert "descend_run" not in names and {"kernel", "main", "w"} <= names
    jit = codegen.jit(module)
    import ctypes
    main = jit.function("main", None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32)
    x = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
    y = np.zeros((8, 16), np.float32)
    main(x.ctypes.data, y.ctypes.data, 2)
    np.testing.assert_allclose(y, (x @ np.full((64, 16), 0.5, np.float32)), rtol=1e-5)


def test_names_survive():
    text = str(_lowered(MATMUL))
    for name in ("%acc", "%s2", "%w = llvm.mlir.addressof", "%threads"):
        assert name in text


def test_input_compile_leaves_the_loop_module_unchanged():
    module = descend.parse(MATMUL)
    before = str(module)
    compile_loop_module(module)
    assert str(module) == before


def test_run_by_name_and_checks():
    native, inputs, expected = check(MATMUL)
    (y,) = native.run({"x": inputs[0]})
    np.testing.assert_allclose(y, expected[0], rtol=1e-5)
    with pytest.raises(ValueError, match="input 'x' has shape"):
        native.run([np.zeros((2, 2), np.float32)])
    with pytest.raises(TypeError, match="dtype float64"):
        native.run([np.zeros((8, 64))])


# ---- errors -------------------------------------------------------------------------------

def test_unsupported_op_is_a_located_error():
    text = """
func.func @main(%x: memref<4xi32>, %y: memref<4xi32>) {
  %c0 = arith.constant 0 : index
  %v = loop.load %x[%c0] : memref<4xi32>
  %p = math.ctpop %v : i32
  loop.store %p, %y[%c0] : memref<4xi32>
  return
}"""
    module = descend.parse(text, filename="bad.mlir")
    with pytest.raises(DiagnosticError, match=r"bad.mlir:5:8: error: lower-loop-to-llvm: no lowering for 'math.ctpop'"):
        lower_loop_to_llvm(module)


def test_main_with_non_memref_argument_is_refused():
    module = descend.parse("func.func @main(%x: f32) {\n  return\n}", filename="m.mlir")
    with pytest.raises(DiagnosticError, match="@main takes f32"):
        lower_loop_to_llvm(module)


# ---- the shared library -------------------------------------------------------------------

@needs_cc
def test_shared_library_through_runtime_load(tmp_path):
    native, inputs, expected = check(REDUCTION)
    path = native.export_library(tmp_path / "model.so")
    model = descend.runtime.load(path)
    assert [(i.name, i.shape, i.type) for i in model.get_inputs()] == [("x", [5, 7], "tensor(float)")]
    assert [(o.name, o.shape) for o in model.get_outputs()] == [("y", [5]), ("z", [])]
    got = model.run({"x": inputs[0]})
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-6)


@needs_cc
def test_shared_library_parallel_threads(tmp_path):
    native, inputs, expected = check(MATMUL, rtol=1e-5)
    model = descend.runtime.load(native.export_library(tmp_path / "matmul.so"))
    for n in (1, 2, 4):
        model.set_num_threads(n)
        (y,) = model.run([inputs[0]])
        np.testing.assert_allclose(y, expected[0], rtol=1e-5)
