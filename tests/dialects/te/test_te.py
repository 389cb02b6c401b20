"""te dialect: the textual round trip (custom and generic), verifier errors naming the op
and the types, the vectorised reference semantics of te.compute against numpy (matmul,
padded convolution, max reduction, transpose, a two-compute kernel, init, integers, grids
evaluated in boxes), and the builder API."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.dialects.builtin import ModuleOp
from descend.dialects.func import FuncOp, ReturnOp as FuncReturnOp
from descend.dialects.te import ComputeOp, KernelOp, ScheduleAttr
from descend.dialects.te import semantics
from descend.dialects.te.builder import compute, elementwise, kernel
from descend.ir import Builder, DiagnosticError, FunctionType, TensorType, f32, i32, verify
from descend.ir.printer import print_ir
from descend.testing.equality import assert_structurally_equal

RNG = np.random.default_rng(0)

MATMUL = """
func.func @main(%a: tensor<8x64xf32>, %w: tensor<16x64xf32>) -> tensor<8x16xf32> {
  %y = te.compute (%a, %w) {reduce = array<i64: 64>, combiner = "sum"}
       : (tensor<8x64xf32>, tensor<16x64xf32>) -> tensor<8x16xf32> {
  ^bb0(%i: index, %j: index, %k: index):
    %x = te.read %a[%i, %k] : tensor<8x64xf32>
    %v = te.read %w[%j, %k] : tensor<16x64xf32>
    %p = arith.mulf %x, %v : f32
    te.yield %p : f32
  }
  func.return %y : tensor<8x16xf32>
}
"""

KERNEL = """
func.func @main(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<3x4xf32> {
  %r = te.kernel "transpose_add_relu" (%a, %b) {schedule = #te.schedule<[{"op": "compute_inline", "compute": "t"}]>}
       : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<3x4xf32> {
  ^bb0(%x: tensor<4x3xf32>, %y: tensor<3xf32>):
    %t = te.compute (%x) : (tensor<4x3xf32>) -> tensor<3x4xf32> {
    ^bb0(%i: index, %j: index):
      %0 = te.read %x[%j, %i] : tensor<4x3xf32>
      te.yield %0 : f32
    }
    %z = te.compute (%t, %y) : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x4xf32> {
    ^bb0(%i: index, %j: index):
      %0 = te.read %t[%i, %j] : tensor<3x4xf32>
      %1 = te.read %y[%i] : tensor<3xf32>
      %2 = arith.addf %0, %1 : f32
      %c = arith.constant 0.0 : f32
      %3 = arith.maximumf %2, %c : f32
      te.yield %3 : f32
    }
    te.return %z : tensor<3x4xf32>
  }
  func.return %r : tensor<3x4xf32>
}
"""


# ---- textual form --------------------------------------------------------------------------

@pytest.mark.parametrize("text", [MATMUL, KERNEL], ids=["matmul", "kernel"])
def test_custom_and_generic_forms_round_trip(text):
    module = descend.parse(text)
    custom = print_ir(module)
    generic = print_ir(module, generic=True)
    assert_structurally_equal(descend.parse(custom), module, locations=False)
    assert_structurally_equal(descend.parse(generic), module, locations=False)
    assert print_ir(descend.parse(custom)) == custom
    assert print_ir(descend.parse(generic)) == custom
    assert "te.compute(" in custom and "te.read" in custom and '"te.compute"' in generic


def test_schedule_attribute_prints_quoted_json_and_reads_both_spellings():
    module = descend.parse(KERNEL)
    text = print_ir(module)
    assert '#te.schedule<"[{\\"op\\": \\"compute_inline\\", \\"compute\\": \\"t\\"}]">' in text
    kernel_op = next(op for op in module.walk() if isinstance(op, KernelOp))
    assert kernel_op.schedule == ScheduleAttr('[{"op":"compute_inline","compute":"t"}]')
    assert kernel_op.schedule.records == [{"op": "compute_inline", "compute": "t"}]


@pytest.mark.parametrize("body,message", [
    ('"nope"', "invalid JSON"),
    ('"{}"', "expected a JSON list"),
    ('"[{\\"compute\\": 0}]"', 'record #0 has no "op"'),
])
def test_schedule_attribute_errors(body, message):
    text = KERNEL.replace('#te.schedule<[{"op": "compute_inline", "compute": "t"}]>',
                          f"#te.schedule<{body}>")
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


# ---- verifier ------------------------------------------------------------------------------

def compute_text(body: str, attrs: str = "", result: str = "tensor<4x3xf32>",
                 args: str = "%i: index, %j: index", extra_arg: str = "") -> str:
    attrs = f" {{{attrs}}}" if attrs else ""
    return (f"func.func @f(%a: tensor<4x3xf32>, %s: f32{extra_arg}) -> {result} {{\n"
            f"  %y = te.compute (%a){attrs} : (tensor<4x3xf32>) -> {result} {{\n"
            f"  ^bb0({args}):\n{body}\n  }}\n"
            f"  func.return %y : {result}\n}}\n")


READ = "    %0 = te.read %a[%i, %j] : tensor<4x3xf32>\n"


@pytest.mark.parametrize("text,message", [
    (compute_text("    %0 = te.read %a[%i, %i] : tensor<4x3xf32>\n    te.yield %0 : f32", args="%i: index"),
     r"'te.compute' op body must have 2 index arguments \(2 output indices for tensor<4x3xf32>, "
     r"then 0 reduction indices\), got 1"),
    (compute_text("    %0 = te.read %a[%i, %i] : tensor<4x3xf32>\n    te.yield %0 : f32",
                  args="%i: index, %j: i32"),
     "body argument #1 must be index, got i32"),
    (compute_text(READ + "    te.yield %0 : f32", result="tensor<4x3xi32>"),
     r"yields f32, but the result tensor<4x3xi32> has elements of type i32"),
    (compute_text(READ + "    te.yield %0 : f32", attrs='combiner = "sum"'),
     'has combiner "sum" but no reduction axes'),
    (compute_text(READ + "    te.yield %0 : f32", attrs="reduce = array<i64: 2>",
                  args="%i: index, %j: index, %k: index"),
     r"reduces over \[2\] but has no 'combiner'"),
    (compute_text(READ + "    te.yield %0 : f32", attrs='reduce = array<i64: 2>, combiner = "mean"',
                  args="%i: index, %j: index, %k: index"),
     'combiner must be one of sum, max, min, prod, got "mean"'),
    (compute_text(READ + "    te.yield %0 : f32",
                  attrs='reduce = array<i64: 2>, combiner = "max", init = 0 : i32',
                  args="%i: index, %j: index, %k: index"),
     "init 0 : i32 must have the result's element type f32"),
    (compute_text(READ + "    %1 = arith.addf %0, %s : f32\n    te.yield %1 : f32"),
     "'arith.addf' op operand #1 is defined outside the te.compute body"),
    (compute_text("    %0 = te.read %a[%i] : tensor<4x3xf32>\n    te.yield %0 : f32"),
     r"'te.read' op reads tensor<4x3xf32> of rank 2 with 1 indices"),
    (compute_text("    %0 = te.read %b[%i, %j] : tensor<4x3xf32>\n    te.yield %0 : f32",
                  extra_arg=", %b: tensor<4x3xf32>"),
     r"'te.read' op reads a tensor of type tensor<4x3xf32> that is not an operand of the "
     r"enclosing te.compute \(tensor<4x3xf32>\)"),
    (compute_text(READ + '    %1 = "func.call"(%0) {callee = @g} : (f32) -> f32\n    te.yield %1 : f32'),
     "'func.call' op is not allowed in a te.compute body"),
    (compute_text(READ + "    %1 = arith.constant dense<1.0> : tensor<2xf32>\n    te.yield %0 : f32"),
     "a te.compute body computes scalars, got tensor<2xf32>"),
])
def test_compute_verifier_errors(text, message):
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


@pytest.mark.parametrize("old,new,message", [
    ("^bb0(%x: tensor<4x3xf32>, %y: tensor<3xf32>)", "^bb0(%x: tensor<4x3xf32>, %y: tensor<3xf32>, %e: f32)",
     r"block argument types \(tensor<4x3xf32>, tensor<3xf32>, f32\) must match the operand types "
     r"\(tensor<4x3xf32>, tensor<3xf32>\)"),
    ("    te.return %z", "    %k = arith.constant 1.0 : f32\n    te.return %z",
     "'arith.constant' op is not allowed in a te.kernel body"),
    # isolated from above: the parser does not even see the function's %b inside the kernel
    ("te.compute (%t, %y)", "te.compute (%t, %b)", "use of undeclared SSA value name '%b'"),
])
def test_kernel_verifier_errors(old, new, message):
    text = KERNEL.replace(old, new)
    assert text != KERNEL
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


def test_kernel_return_types_must_match_results():
    text = KERNEL.replace("te.return %z : tensor<3x4xf32>", "te.return %x : tensor<4x3xf32>")
    with pytest.raises(DiagnosticError, match=r"'te.return' op returns \(tensor<4x3xf32>\), but the "
                                              r'te.kernel "transpose_add_relu" has results \(tensor<3x4xf32>\)'):
        descend.parse(text)


# ---- reference semantics -------------------------------------------------------------------

def test_matmul():
    a = RNG.standard_normal((8, 64)).astype(np.float32)
    w = RNG.standard_normal((16, 64)).astype(np.float32)
    (y,) = descend.interpret(descend.parse(MATMUL), "main", [a, w])
    assert y.dtype == np.float32 and y.shape == (8, 16)
    np.testing.assert_allclose(y, a @ w.T, rtol=1e-5, atol=1e-5)


def test_kernel_with_two_computes():
    a = RNG.standard_normal((4, 3)).astype(np.float32)
    b = RNG.standard_normal(3).astype(np.float32)
    (y,) = descend.interpret(descend.parse(KERNEL), "main", [a, b])
    np.testing.assert_array_equal(y, np.maximum(a.T + b[:, None], 0))


def build_module(arg_types, result_types, body) -> ModuleOp:
    """A module with @main whose body `body(builder, args)` builds; returns what it returns."""
    func = FuncOp.build(sym_name="main", function_type=FunctionType(arg_types, result_types))
    builder = Builder.at_end(func.entry_block)
    results = body(builder, list(func.entry_block.args))
    builder.build(FuncReturnOp, list(results))
    module = ModuleOp.build()
    module.block.append(func)
    verify(module)
    return module


def conv2d_body(stride: int, pad: int):
    def body(b, i, r, reads):
        (n, co, y, x), (ci, ky, kx) = i, r
        data, weight = reads
        row = b.index_add(b.index_mul(y, stride), b.index_add(ky, -pad))
        col = b.index_add(b.index_mul(x, stride), b.index_add(kx, -pad))
        return b.mul(data.padded([n, ci, row, col], 0.0), weight[co, ci, ky, kx])
    return body


def numpy_conv2d(x, w, stride, pad):
    n, c, h, wd = x.shape
    co, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, co, oh, ow), np.float64)
    for y in range(oh):
        for x_ in range(ow):
            patch = xp[:, :, y * stride:y * stride + kh, x_ * stride:x_ * stride + kw]
            out[:, :, y, x_] = np.einsum("nchw,ochw->no", patch, w)
    return out


@pytest.mark.parametrize("stride,pad", [(1, 1), (2, 1), (1, 0), (2, 2)])
def test_conv_with_padding(stride, pad):
    x = RNG.standard_normal((2, 3, 7, 6)).astype(np.float32)
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    oh, ow = (7 + 2 * pad - 3) // stride + 1, (6 + 2 * pad - 3) // stride + 1
    out = TensorType((2, 4, oh, ow), f32)
    module = build_module([TensorType(x.shape, f32), TensorType(w.shape, f32)], [out],
                          lambda b, args: [compute(b, out.shape, f32, args, conv2d_body(stride, pad),
                                                   reduce=(3, 3, 3), combiner="sum", name="conv")])
    (y,) = descend.interpret(module, "main", [x, w])
    np.testing.assert_allclose(y, numpy_conv2d(x, w, stride, pad), rtol=1e-4, atol=1e-4)
    text = print_ir(module)
    assert ("arith.select" in text) == (pad > 0)
    assert_structurally_equal(descend.parse(text), module, locations=False)


def test_padded_read_tests_only_indices_that_can_leave_bounds():
    out = TensorType((1, 2, 4, 4), f32)
    module = build_module([TensorType((1, 3, 4, 4), f32), TensorType((2, 3, 3, 3), f32)], [out],
                          lambda b, args: [compute(b, out.shape, f32, args, conv2d_body(1, 1),
                                                   reduce=(3, 3, 3), combiner="sum")])
    # rows and columns can leave [0, 4): two tests each; batch and channel indices cannot
    assert print_ir(module).count("arith.cmpi") == 4


def test_max_reduction_and_init():
    x = RNG.standard_normal((5, 7)).astype(np.float32)
    t = TensorType((5, 7), f32)
    for init, want in [(None, x.max(axis=1)), (0.5, np.maximum(x.max(axis=1), 0.5))]:
        module = build_module([t], [TensorType((5,), f32)], lambda b, args: [
            compute(b, (5,), f32, args, lambda b, i, r, reads: reads[0][i[0], r[0]],
                    reduce=(7,), combiner="max", init=init)])
        (y,) = descend.interpret(module, "main", [x])
        np.testing.assert_array_equal(y, want.astype(np.float32))


@pytest.mark.parametrize("combiner,numpy_fn", [("sum", np.sum), ("prod", np.prod),
                                               ("max", np.max), ("min", np.min)])
def test_integer_reductions_wrap_and_compare_signed(combiner, numpy_fn):
    x = RNG.integers(-2**31, 2**31 - 1, (3, 4), dtype=np.int32)
    module = build_module([TensorType((3, 4), i32)], [TensorType((3,), i32)], lambda b, args: [
        compute(b, (3,), i32, args, lambda b, i, r, reads: reads[0][i[0], r[0]],
                reduce=(4,), combiner=combiner)])
    (y,) = descend.interpret(module, "main", [x])
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(y, numpy_fn(x, axis=1, dtype=np.int32) if combiner in ("sum", "prod")
                                      else numpy_fn(x, axis=1))


def test_empty_reduction_gives_init():
    module = build_module([TensorType((3, 0), f32)], [TensorType((3,), f32)], lambda b, args: [
        compute(b, (3,), f32, args, lambda b, i, r, reads: reads[0][i[0], r[0]],
                reduce=(0,), combiner="sum", init=2.0)])
    (y,) = descend.interpret(module, "main", [np.zeros((3, 0), np.float32)])
    np.testing.assert_array_equal(y, np.full(3, 2.0, np.float32))


def test_transpose_through_builder_and_elementwise():
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)

    def body(b, args):
        t = compute(b, (4, 2, 3), f32, args, lambda b, i, r, reads: reads[0][i[1], i[2], i[0]], name="t")
        return [elementwise(b, [t], lambda b, v: b.mul(b.tanh(v), 2.0), name="scaled")]

    module = build_module([TensorType(x.shape, f32)], [TensorType((4, 2, 3), f32)], body)
    (y,) = descend.interpret(module, "main", [x])
    np.testing.assert_allclose(y, 2 * np.tanh(x.transpose(2, 0, 1)), rtol=1e-6)
    assert "%t = te.compute" in print_ir(module) and "%scaled = te.compute" in print_ir(module)


def test_large_grids_are_evaluated_in_boxes(monkeypatch):
    a = RNG.standard_normal((8, 64)).astype(np.float32)
    w = RNG.standard_normal((16, 64)).astype(np.float32)
    module = descend.parse(MATMUL)
    monkeypatch.setattr(semantics, "GRID_LIMIT", 7)  # splits output rows, columns, then k
    (y,) = descend.interpret(module, "main", [a, w])
    np.testing.assert_allclose(y, a @ w.T, rtol=1e-5, atol=1e-5)


def test_kernel_builder_with_schedule():
    x = RNG.standard_normal((6, 5)).astype(np.float32)

    def body(kb, args):
        s = compute(kb, (6,), f32, args, lambda b, i, r, reads: reads[0][i[0], r[0]],
                    reduce=(5,), combiner="sum", name="rowsum")
        return [elementwise(kb, [s], lambda b, v: b.select(b.gt(v, 0.0), v, b.neg(v)), name="abs")]

    def main(b, args):
        return kernel(b, "rowsum_abs", args, body,
                      schedule='[{"op": "split", "compute": "rowsum", "axis": "i0", "factor": 4}]')

    module = build_module([TensorType((6, 5), f32)], [TensorType((6,), f32)], main)
    (y,) = descend.interpret(module, "main", [x])
    np.testing.assert_allclose(y, np.abs(x.sum(axis=1)), rtol=1e-5)
    kernel_op = next(op for op in module.walk() if isinstance(op, KernelOp))
    assert [c.output.name_hint for c in kernel_op.computes()] == ["rowsum", "abs"]
    assert isinstance(kernel_op.computes()[0], ComputeOp)
    assert_structurally_equal(descend.parse(print_ir(module)), module, locations=False)


def test_clamped_reads_keep_guarded_padding_defined():
    # A read whose indices are out of bounds but whose value a select discards.
    x = np.arange(4, dtype=np.float32)
    module = build_module([TensorType((4,), f32)], [TensorType((6,), f32)], lambda b, args: [
        compute(b, (6,), f32, args,
                lambda b, i, r, reads: reads[0].padded([b.index_add(i[0], -1)], -1.0))])
    (y,) = descend.interpret(module, "main", [x])
    np.testing.assert_array_equal(y, [-1, 0, 1, 2, 3, -1])
