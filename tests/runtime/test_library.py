"""runtime: a hand-written llvm-dialect model (descend_run adds two float arrays) exported
to a shared library, loaded with descend.runtime.load and called from a C program."""

import shutil
import subprocess

import numpy as np
import pytest

import descend
from descend import runtime
from descend.ir import verify
from descend.lowering import codegen

pytestmark = pytest.mark.skipif(codegen.find_cc() is None, reason="no C compiler to link with")

N = 6

ADD_MODEL = f"""
module {{
  llvm.func @descend_run(%model: !llvm.ptr, %inputs: !llvm.ptr, %outputs: !llvm.ptr) -> i32 {{
    %a = llvm.load %inputs : !llvm.ptr -> !llvm.ptr
    %bp = llvm.getelementptr %inputs[1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
    %b = llvm.load %bp : !llvm.ptr -> !llvm.ptr
    %out = llvm.load %outputs : !llvm.ptr -> !llvm.ptr
    %zero = llvm.mlir.constant(0 : i64) : i64
    %n = llvm.mlir.constant({2 * 3} : i64) : i64
    llvm.br ^head(%zero : i64)
  ^head(%i: i64):
    %more = llvm.icmp "slt" %i, %n : i64
    llvm.cond_br %more, ^body, ^exit
  ^body:
    %pa = llvm.getelementptr inbounds %a[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %pb = llvm.getelementptr inbounds %b[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %po = llvm.getelementptr inbounds %out[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    %x = llvm.load %pa : !llvm.ptr -> f32
    %y = llvm.load %pb : !llvm.ptr -> f32
    %s = llvm.fadd %x, %y : f32
    llvm.store %s, %po : f32, !llvm.ptr
    %one = llvm.mlir.constant(1 : i64) : i64
    %next = llvm.add %i, %one : i64
    llvm.br ^head(%next : i64)
  ^exit:
    %ok = llvm.mlir.constant(0 : i32) : i32
    llvm.return %ok : i32
  }}
}}
"""

INPUTS = [("a", [2, 3], "float32"), ("b", [2, 3], "float32")]
OUTPUTS = [("sum", [2, 3], "float32")]


@pytest.fixture(scope="module")
def library_path(tmp_path_factory):
    module = descend.parse(ADD_MODEL)
    codegen.add_runtime_api(module, INPUTS, OUTPUTS, default_threads=2)
    verify(module)
    path = tmp_path_factory.mktemp("lib") / "add.so"
    codegen.export_library(module, path)
    return path


def test_load_and_run(library_path):
    model = runtime.load(library_path)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.full((2, 3), 0.5, np.float32)
    (out,) = model.run([a, b])
    np.testing.assert_array_equal(out, a + b)
    (out,) = model.run({"b": b, "a": a})
    np.testing.assert_array_equal(out, a + b)


def test_queries_like_onnxruntime(library_path):
    model = runtime.load(library_path)
    assert [(i.name, i.shape, i.type) for i in model.get_inputs()] == [
        ("a", [2, 3], "tensor(float)"), ("b", [2, 3], "tensor(float)")]
    assert [(o.name, o.shape, o.dtype) for o in model.get_outputs()] == [
        ("sum", [2, 3], np.dtype("float32"))]
    assert model.num_threads == 2
    model.set_num_threads(4)
    assert model.num_threads == 4
    model.set_num_threads(0)
    assert model.num_threads == 1


def test_input_errors_name_the_input(library_path):
    model = runtime.load(library_path)
    a = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"input 'b' has shape \[3, 2\], expected \[2, 3\]"):
        model.run([a, np.zeros((3, 2), np.float32)])
    with pytest.raises(TypeError, match="input 'a' has dtype float64, expected float32"):
        model.run([a.astype(np.float64), a])
    with pytest.raises(ValueError, match="missing input"):
        model.run({"a": a})
    with pytest.raises(ValueError, match="unknown input"):
        model.run({"a": a, "b": a, "c": a})
    with pytest.raises(ValueError, match="takes 2 input"):
        model.run([a])


def test_not_a_model_library(tmp_path):
    module = descend.parse("module {\n  llvm.func @f() {\n    llvm.return\n  }\n}")
    path = codegen.export_library(module, tmp_path / "other.so")
    with pytest.raises(ValueError, match="not a descend model library"):
        runtime.load(path)


C_PROGRAM = r"""
#include <stdio.h>
#include "descend_runtime.h"

int main(void) {
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {10, 20, 30, 40, 50, 60}, out[6];
  const void *inputs[2] = {a, b};
  void *outputs[1] = {out};
  descend_model *model = descend_create();
  printf("%d %d %s %s rank=%d shape=%lldx%lld\n", descend_num_inputs(), descend_num_outputs(),
         descend_input_name(1), descend_output_dtype(0), descend_output_rank(0),
         (long long)descend_output_shape(0)[0], (long long)descend_output_shape(0)[1]);
  if (descend_run(model, inputs, outputs) != 0) return 1;
  for (int i = 0; i < 6; i++) printf("%g ", out[i]);
  printf("\n");
  descend_destroy(model);
  return 0;
}
"""


def test_called_from_c(library_path, tmp_path):
    cc = codegen.find_cc()
    source = tmp_path / "app.c"
    source.write_text(C_PROGRAM)
    exe = tmp_path / "app"
    lib = tmp_path / "libmodel.so"
    shutil.copy(library_path, lib)
    build = subprocess.run([cc, str(source), "-I", str(runtime.header_path().parent), "-L",
                            str(tmp_path), "-lmodel", f"-Wl,-rpath,{tmp_path}", "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["2 1 b float32 rank=2 shape=2x3", "11 22 33 44 55 66 "]
