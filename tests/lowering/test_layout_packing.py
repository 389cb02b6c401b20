"""Layout packing (lowering/layout.py, te-pack-layouts): an operand read through column
panels keeps te's semantics (random shapes and panel widths, hypothesis), the access
analysis sees a panel's floordiv/mod as invariant/contiguous for aligned vectors, the
default schedule packs a constant weight once at compile time and a run-time operand only
when enough rows share each panel, a window's reads are never packed, and compiled models
still agree with numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import descend
from descend.dialects.te import KernelOp
from descend.ir.interpreter import interpret
from descend.lowering import driver
from descend.lowering.access import buffer_reads, classify
from descend.lowering.default_schedule import layout_packs
from descend.lowering.layout import LayoutError, pack_axis, pack_last_axis
from descend.rewrites import PassManager

from descend.lowering.te_to_loop import run_loop_function

from .test_micro_kernels import assert_same_as_te, conv_model, inputs_for, lowered, matmul


def kernel_of(module) -> KernelOp:
    return next(op for op in module.walk() if isinstance(op, KernelOp))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.integers(1, 6), k=st.integers(1, 7), panels=st.integers(1, 4), factor=st.sampled_from([2, 4, 8, 16]))
def test_packed_operand_keeps_te_semantics_and_lowers_to_the_same_values(m, k, panels, factor):
    n = panels * factor
    module = matmul(m, k, n)
    inputs = inputs_for(m, k, n, seed=m * 31 + k)
    expected = interpret(module, "main", inputs)
    product = kernel_of(module).computes()[0]
    packed = pack_last_axis(product, 1, factor)
    assert packed.shape == (panels, k, factor)
    assert product.inputs[1] is packed.output
    module.verify()
    np.testing.assert_allclose(interpret(module, "main", inputs)[0], expected[0], rtol=1e-6)
    assert_same_as_te(module, inputs)  # the default schedule over the packed kernel


def test_pack_says_why_it_does_not_apply():
    product = kernel_of(matmul(4, 3, 24)).computes()[0]
    with pytest.raises(LayoutError, match="panels of 16 do not divide the operand's axis 1 \\(24\\)"):
        pack_last_axis(product, 1, 16)
    with pytest.raises(LayoutError, match="no operand 2"):
        pack_last_axis(product, 2, 8)
    with pytest.raises(LayoutError, match="rank 2, no axis 2"):
        pack_axis(product, 1, 2, 8)


def test_panel_indices_are_invariant_and_contiguous_for_aligned_vectors():
    module = matmul(4, 3, 32)
    product = kernel_of(module).computes()[0]
    pack_last_axis(product, 1, 16)
    x, w = buffer_reads(product, {})
    assert classify(w, "i1", 8) == "contiguous" and classify(w, "i1", 16) == "contiguous"
    assert classify(w, "i1") == "gather"  # without a vector width: a division is a gather
    assert classify(x, "i1", 8) == "invariant"
    module = matmul(4, 3, 32)
    product = kernel_of(module).computes()[0]
    pack_last_axis(product, 1, 4)
    assert classify(buffer_reads(product, {})[1], "i1", 8) == "gather"  # 8 lanes cross a panel of 4


def mlp_model(batch: int, k: int = 64, n: int = 64, constant: bool = True):
    rng = np.random.default_rng(0)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, k])]
    initializers = []
    if constant:
        initializers.append(numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "w"))
    else:
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [k, n]))
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "mlp", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_a_constant_weight_is_packed_once_when_the_model_compiles():
    model = mlp_model(batch=6)
    te = driver.lower(model, stop_after="te")
    kernel = kernel_of(te)
    (shape,) = [tuple(v.type.shape) for v in kernel.inputs if (v.name_hint or "").endswith("w.panels.packed")]
    panel = shape[-1]  # the tile's vectors: 2, 3 or 4 of AVX2's 8 floats
    assert panel in (16, 24, 32) and shape == (64 // panel, 64, panel)  # [n / panel, k, panel]
    assert len(kernel.computes()) == 1  # the pack itself was folded away
    loop = driver.lower(model, stop_after="loop")
    product = next(op for op in loop.walk() if op.name == "func.func" and op.sym_name.value != "main")
    loads = [op for op in product.walk() if op.name == "loop.vload" and op.memref.type.shape == shape]
    assert loads and not [op for op in product.walk() if op.name == "loop.load"
                          and op.memref.type.shape == shape]
    x = np.random.default_rng(1).standard_normal((6, 64)).astype(np.float32)
    w = np.asarray(numpy_helper.to_array(model.graph.initializer[0]))
    np.testing.assert_allclose(descend.compile(model).run([x])[0], x @ w, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("batch, packed", [(64, True), (4, False)])
def test_a_run_time_operand_is_packed_only_when_enough_rows_share_a_panel(batch, packed):
    model = mlp_model(batch=batch, constant=False)
    te = driver.lower(model, stop_after="te")
    shapes = [c.shape for c in kernel_of(te).computes()]
    assert any(len(s) == 3 and s[1] == 64 for s in shapes) is packed
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((batch, 64)).astype(np.float32), rng.standard_normal((64, 64)).astype(np.float32)
    np.testing.assert_allclose(descend.compile(model).run([x, w])[0], x @ w, rtol=1e-4, atol=1e-4)


# the NCHW convolution path (nchwc-layout off; it blocks channels at the graph level instead)
NCHW = ["nchwc-layout"]


def test_a_convolution_packs_its_weights_but_not_its_window_reads():
    te = driver.lower(conv_model(channels=64, size=6), stop_after="te", disabled_passes=NCHW)
    kernel = kernel_of(te)
    (shape,) = [tuple(v.type.shape) for v in kernel.inputs if (v.name_hint or "").endswith(".packed")]
    assert shape == (64 // shape[-1], 64, 3, 3, shape[-1])  # [m / panel, c, kh, kw, panel]
    assert layout_packs(kernel, 32) == []  # already packed: nothing more


def test_te_pack_layouts_sizes_panels_for_the_target():
    module = driver.load_module(mlp_model(batch=8, n=256))
    PassManager.parse("builtin.module(lower-graph-to-te)").run(module)
    PassManager.parse("builtin.module(func.func(te-pack-layouts{vector-bytes=64}))").run(module)
    (packed,) = [c for c in kernel_of(module).computes() if len(c.shape) == 3]
    assert packed.shape[-1] % 16 == 0  # whole AVX-512 vectors
    with pytest.raises(ValueError, match="vector-bytes must be 16, 32 or 64"):
        PassManager.parse("builtin.module(func.func(te-pack-layouts{vector-bytes=24}))")


@pytest.mark.parametrize("size", [14, 7])
def test_a_depthwise_convolution_vectorises_its_channels_through_packed_activations(size):
    ort = pytest.importorskip("onnxruntime")
    model = conv_model(channels=16, size=size, group=16)
    te = driver.lower(model, stop_after="te", disabled_passes=NCHW)
    shapes = [c.shape for c in kernel_of(te).computes()]
    assert (2, 1, size + 2, size + 2, 8) in shapes  # the padded input in NCHW8c panels
    loop = driver.lower(model, stop_after="loop", disabled_passes=NCHW)
    conv = next(op for op in loop.walk() if op.name == "func.func" and op.sym_name.value != "main")
    assert [op for op in conv.walk() if op.name == "math.fma"]  # vectors of channels, not scalar taps
    x = np.random.default_rng(3).standard_normal((1, 16, size, size)).astype(np.float32)
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(descend.compile(model, disabled_passes=NCHW).run([x])[0], expected,
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(descend.compile(model).run([x])[0], expected, rtol=1e-4, atol=1e-4)


# ---- the pack record --------------------------------------------------------------------------

from descend.lowering.schedule import Schedule  # noqa: E402


def test_the_pack_record_round_trips_and_renumbers_the_records_after_it():
    s = Schedule()
    s.pack(0, 1, -1, 8)
    s.split(0, "i1", 8, "jo", "ji")
    s.vectorize(0, "ji")
    assert Schedule.from_json(s.to_json()) == s
    module = matmul(4, 5, 16, s)
    kernel = kernel_of(module)
    rest = s.apply_layouts(kernel)
    assert [r.op for r in rest.records] == ["split", "vectorize"] and {r.compute for r in rest.records} == {1}
    assert kernel.computes()[0].shape == (2, 5, 8)  # the packing compute, before the product


def test_a_scheduled_kernel_is_packed_when_lowered_and_keeps_its_values():
    s = Schedule()
    s.pack("y", 1, -1, 8)
    s.split("y", "i1", 8, "jo", "ji")
    s.reorder("y", "i0", "jo", "r0", "ji")
    s.vectorize("y", "ji")
    module = matmul(3, 6, 24, s)
    x = inputs_for(3, 6, 24, seed=5)
    loop = assert_same_as_te(module, x)
    shapes = [op.memref.type.shape for op in loop.walk() if op.name == "loop.alloc"]
    assert (3, 6, 8) in shapes  # the panels, packed at run time (the weight is an argument)
    assert [op for op in loop.walk() if op.name == "loop.vload"]


def test_pack_record_errors_name_the_record():
    s = Schedule()
    s.pack("y", 1, -1, 5)
    module = matmul(3, 6, 24, s)
    with pytest.raises(Exception, match=r"pack: panels of 5 do not divide the operand's axis 1 \(24\) "
                                        r"\(compute 'y', schedule record #0\)"):
        PassManager.parse("builtin.module(lower-te-to-loop)").run(module)
    with pytest.raises(Exception, match=r"field 'operand' has the wrong type"):
        Schedule.from_json('[{"op": "pack", "compute": "y", "operand": "w", "axis": 0, "factor": 8}]')


CONSTANT_WEIGHT = """
func.func @main(%x: tensor<2x4xf32>) -> tensor<2x16xf32> {
  %w = arith.constant dense<WEIGHTS> : tensor<4x16xf32>
  %y = te.kernel "k"(%x, %w) : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32> {
  ^bb0(%a: tensor<2x4xf32>, %b: tensor<4x16xf32>):
    %y = te.compute(%a, %b) {combiner = "sum", reduce = array<i64: 4>} : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32> {
    ^bb0(%i: index, %j: index, %k: index):
      %0 = te.read %a[%i, %k] : tensor<2x4xf32>
      %1 = te.read %b[%k, %j] : tensor<4x16xf32>
      %2 = arith.mulf %0, %1 : f32
      te.yield %2 : f32
    }
    te.return %y : tensor<2x16xf32>
  }
  return %y : tensor<2x16xf32>
}
"""


def test_a_pack_record_on_a_constant_is_folded_at_compile_time_and_the_schedule_follows():
    w = np.arange(64, dtype=np.float32).reshape(4, 16) / 10
    module = descend.parse(CONSTANT_WEIGHT.replace("WEIGHTS", str(w.tolist())))
    s = Schedule()
    s.pack(0, 1, -1, 8)
    s.split(0, "i1", 8, "jo", "ji")
    s.reorder(0, "i0", "jo", "r0", "ji")
    s.vectorize(0, "ji")
    kernel_of(module).properties["schedule"] = s.to_attr()
    PassManager.parse("builtin.module(func.func(te-pack-layouts,te-fold-constants))").run(module)
    kernel = kernel_of(module)
    assert len(kernel.computes()) == 1 and [tuple(v.type.shape) for v in kernel.inputs][-1] == (2, 4, 8)
    assert {r.compute for r in Schedule.of_kernel(kernel).records} == {0}  # renumbered twice: +1, -1
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    out = run_loop_function(lowered(module), [x])[0]
    np.testing.assert_allclose(out, x @ w, rtol=1e-5, atol=1e-5)
