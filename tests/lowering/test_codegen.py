"""codegen: llvm dialect -> LLVM IR -> llvmlite (JIT, object, assembly, shared library,
cross targets), descend_parallel_for, and agreement between the JIT and the interpreter."""

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

import descend
from descend.lowering import codegen
from descend.lowering.llvm_ir import translate

needs_cc = pytest.mark.skipif(codegen.find_cc() is None, reason="no C compiler to link with")

PARALLEL_FILL = """
module {
  llvm.func @descend_parallel_for(!llvm.ptr, !llvm.ptr, i64, i32)
  llvm.func internal @body(%ctx: !llvm.ptr, %begin: i64, %end: i64) {
    llvm.br ^head(%begin : i64)
  ^head(%i: i64):
    %more = llvm.icmp "slt" %i, %end : i64
    llvm.cond_br %more, ^loop, ^exit
  ^loop:
    %p = llvm.getelementptr inbounds %ctx[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %f = llvm.sitofp %i : i64 to f32
    %two = llvm.mlir.constant(2.0 : f32) : f32
    %v = llvm.fmul %f, %two : f32
    llvm.store %v, %p : f32, !llvm.ptr
    %one = llvm.mlir.constant(1 : i64) : i64
    %next = llvm.add %i, %one : i64
    llvm.br ^head(%next : i64)
  ^exit:
    llvm.return
  }
  llvm.func @fill(%out: !llvm.ptr, %n: i64, %threads: i32) {
    %fn = llvm.mlir.addressof @body : !llvm.ptr
    llvm.call @descend_parallel_for(%fn, %out, %n, %threads) : (!llvm.ptr, !llvm.ptr, i64, i32) -> ()
    llvm.return
  }
}
"""

SCALAR = """
module {
  llvm.mlir.global internal constant @w(dense<[1.5, -2.0, 3.25, 4.0]> : tensor<4xf32>) {alignment = 16 : i64} : !llvm.array<4 x f32>
  llvm.func @poly(%x: f32, %k: i32) -> f32 {
    %c = llvm.mlir.constant(2.5 : f32) : f32
    %m = llvm.fmul %x, %c {fastmathFlags = #llvm.fastmath<contract>} : f32
    %e = llvm.intr.exp(%x) : (f32) -> f32
    %s = llvm.fadd %m, %e : f32
    %zero = llvm.mlir.constant(0 : i32) : i32
    %neg = llvm.icmp "slt" %k, %zero : i32
    llvm.cond_br %neg, ^done(%s : f32), ^more
  ^more:
    %kf = llvm.sitofp %k : i32 to f32
    %t = llvm.intr.fma(%kf, %x, %s) : (f32, f32, f32) -> f32
    %r = llvm.intr.sqrt(%t) : (f32) -> f32
    llvm.br ^done(%r : f32)
  ^done(%out: f32):
    llvm.return %out : f32
  }
  llvm.func @weight(%i: i64) -> f32 {
    %a = llvm.mlir.addressof @w : !llvm.ptr
    %p = llvm.getelementptr inbounds %a[0, %i] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.array<4 x f32>
    %v = llvm.load %p {alignment = 4 : i64} : !llvm.ptr -> f32
    llvm.return %v : f32
  }
  llvm.func @vec(%x: f32) -> f32 {
    %v0 = llvm.mlir.constant(dense<[1.0, 2.0, 3.0, 4.0]> : vector<4xf32>) : vector<4xf32>
    %i = llvm.mlir.constant(2 : i32) : i32
    %v1 = llvm.insertelement %x, %v0[%i : i32] : vector<4xf32>
    %v2 = llvm.shufflevector %v1, %v0 array<i32: 3, 2, 1, 0> : vector<4xf32>
    %z = llvm.mlir.constant(0.0 : f32) : f32
    %s = llvm.intr.vector.reduce.fadd(%z, %v2) {fastmathFlags = #llvm.fastmath<reassoc>} : (f32, vector<4xf32>) -> f32
    %m = llvm.intr.vector.reduce.fmax(%v2) : (vector<4xf32>) -> f32
    %r = llvm.fadd %s, %m : f32
    llvm.return %r : f32
  }
}
"""


@pytest.fixture(scope="module")
def parallel_module():
    return descend.parse(PARALLEL_FILL)


@pytest.fixture(scope="module")
def scalar_module():
    return descend.parse(SCALAR)


@pytest.mark.parametrize("opt_level", [0, 3])
def test_parallel_for_through_jit(parallel_module, opt_level):
    engine = codegen.jit(parallel_module, opt_level=opt_level)
    fill = engine.function("fill", None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32)
    for n, threads in [(1000, 4), (7, 3), (5, 8), (1, 2), (0, 2), (100, 1), (100, -3)]:
        out = np.full(max(n, 1) + 1, -1.0, np.float32)
        fill(out.ctypes.data, n, threads)
        np.testing.assert_array_equal(out[:n], 2 * np.arange(n, dtype=np.float32))
        assert out[n] == -1.0  # nothing written past the range


@needs_cc
def test_parallel_for_through_shared_library(parallel_module, tmp_path):
    path = codegen.export_library(parallel_module, tmp_path / "fill.so")
    lib = ctypes.CDLL(str(path))
    out = np.zeros(4097, np.float32)
    lib.fill(ctypes.c_void_p(out.ctypes.data), ctypes.c_int64(out.size), ctypes.c_int32(4))
    np.testing.assert_array_equal(out, 2 * np.arange(out.size, dtype=np.float32))


def test_jit_agrees_with_interpreter(scalar_module):
    engine = codegen.jit(scalar_module)
    poly = engine.function("poly", ctypes.c_float, ctypes.c_float, ctypes.c_int32)
    for x, k in [(0.5, 3), (1.25, -1), (-0.25, 7), (2.0, 0)]:
        (expected,) = descend.interpret(scalar_module, "poly", [np.float32(x), np.int32(k)])
        assert poly(x, k) == pytest.approx(float(expected), rel=1e-6, nan_ok=True)
    vec = engine.function("vec", ctypes.c_float, ctypes.c_float)
    (expected,) = descend.interpret(scalar_module, "vec", [np.float32(9.0)])
    assert vec(9.0) == pytest.approx(float(expected))


def test_dense_global_weights(scalar_module):
    weight = codegen.jit(scalar_module, opt_level=0).function("weight", ctypes.c_float, ctypes.c_int64)
    assert [weight(i) for i in range(4)] == [1.5, -2.0, 3.25, 4.0]


def test_large_weights_are_bytes():
    values = np.arange(100, dtype=np.float32)
    text = ("module {\n  llvm.mlir.global internal constant @big(dense<["
            + ", ".join(f"{v:.1f}" for v in values) + "]> : tensor<100xf32>) : !llvm.array<100 x f32>\n"
            "  llvm.func @get(%i: i64) -> f32 {\n"
            "    %a = llvm.mlir.addressof @big : !llvm.ptr\n"
            "    %p = llvm.getelementptr %a[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32\n"
            "    %v = llvm.load %p : !llvm.ptr -> f32\n    llvm.return %v : f32\n  }\n}")
    module = descend.parse(text)
    assert '[400 x i8] c"' in translate(module)
    get = codegen.jit(module).function("get", ctypes.c_float, ctypes.c_int64)
    assert [get(i) for i in (0, 1, 57, 99)] == [0.0, 1.0, 57.0, 99.0]


def test_llvm_ir_text(scalar_module):
    text = translate(scalar_module)
    assert "define float @poly(float %arg0, i32 %arg1)" in text
    assert "phi float" in text
    assert "fmul contract float %arg0, 0x4004000000000000" in text
    assert "declare float @llvm.fma.f32(float, float, float)" in text
    assert "call reassoc float @llvm.vector.reduce.fadd.v4f32" in text
    assert "@w = internal constant [4 x float]" in text
    optimised = codegen.emit_llvm_ir(scalar_module, opt_level=2)
    assert "define float @poly" in optimised


def test_assembly_and_object_for_host(scalar_module):
    assert "poly" in codegen.emit_assembly(scalar_module)
    assert len(codegen.emit_object(scalar_module, opt_level=1)) > 0


def test_cross_compile_aarch64(parallel_module):
    target = codegen.Target.parse("llvm -mtriple=aarch64-unknown-linux-gnu -mcpu=cortex-a72")
    assert (target.triple, target.cpu) == ("aarch64-unknown-linux-gnu", "cortex-a72")
    obj = codegen.emit_object(parallel_module, target)
    assert obj[:4] == b"\x7fELF" and obj[18] == 183  # e_machine EM_AARCH64
    assert "descend_parallel_for" in codegen.emit_assembly(parallel_module, target)
    with pytest.raises(codegen.CodegenError, match="cannot link a shared library"):
        codegen.export_library(parallel_module, "/tmp/never.so", target)


def test_host_target_has_cpu_and_features():
    host = codegen.Target.parse("host")
    assert host.cpu and host.triple
    assert "+" in host.features  # the real feature set, not only the CPU name
    assert "features:" in host.describe()
    with pytest.raises(ValueError, match="must be 'host' or start with 'llvm'"):
        codegen.Target.parse("cuda")
    with pytest.raises(ValueError, match="unknown option"):
        codegen.Target.parse("llvm -mfoo=bar")
    with pytest.raises(ValueError, match="opt_level"):
        codegen.compile_module("", opt_level=5)


def test_untranslatable_op_is_reported():
    module = descend.parse("func.func @f() {\n  return\n}")
    with pytest.raises(descend.ir.DiagnosticError, match="cannot be translated to LLVM IR"):
        translate(module)


@needs_cc
def test_runtime_api_queries_through_jit():
    module = descend.parse("module {\n}")
    codegen.add_runtime_api(module, [("x", [1, 3, 224, 224], "float32")],
                            [("y", [1, 1000], "float32"), ("z", [], "int64")])
    engine = codegen.jit(module)
    assert engine.function("descend_num_inputs", ctypes.c_int32)() == 1
    assert engine.function("descend_num_outputs", ctypes.c_int32)() == 2
    name = engine.function("descend_output_name", ctypes.c_char_p, ctypes.c_int32)
    assert [name(0), name(1), name(2)] == [b"y", b"z", None]
    rank = engine.function("descend_input_rank", ctypes.c_int32, ctypes.c_int32)
    assert (rank(0), rank(5)) == (4, -1)
    shape = engine.function("descend_input_shape", ctypes.POINTER(ctypes.c_int64), ctypes.c_int32)
    assert shape(0)[:4] == [1, 3, 224, 224]
    dtype = engine.function("descend_output_dtype", ctypes.c_char_p, ctypes.c_int32)
    assert dtype(1) == b"int64"


MLIR_TRANSLATE = shutil.which("mlir-translate") or "/usr/lib/llvm-22/bin/mlir-translate"


@pytest.mark.skipif(shutil.which(MLIR_TRANSLATE) is None, reason="mlir-translate not installed")
def test_mlir_translate_reads_our_generic_form(scalar_module, parallel_module):
    """MLIR's own translator accepts descend's generic llvm dialect and gives equivalent IR."""
    from descend.ir import print_ir
    for module in (scalar_module, parallel_module):
        text = print_ir(module, generic=True)
        done = subprocess.run([MLIR_TRANSLATE, "--mlir-to-llvmir"], input=text,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "define" in done.stdout
