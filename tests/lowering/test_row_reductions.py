"""Reductions along rows (softmax's max and sum, a norm's statistics): the default schedule
vectorises the innermost reduction axis when every read is contiguous or invariant along
it, and fuses a leading unit axis into the next so the rows can run in parallel. Values
agree with te's reference semantics (random shapes, hypothesis) and compiled models with
onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import descend
from descend.dialects.te import KernelOp
from descend.lowering import driver
from descend.lowering.default_schedule import default_schedule

from .test_micro_kernels import assert_same_as_te

ROWSUM = """
func.func @main(%x: tensor<RxKxf32>) -> tensor<Rxf32> {
  %y = te.kernel "rows"(%x) : (tensor<RxKxf32>) -> tensor<Rxf32> {
  ^bb0(%a: tensor<RxKxf32>):
    %m = te.compute(%a) {combiner = "COMBINER", reduce = array<i64: K>} : (tensor<RxKxf32>) -> tensor<Rxf32> {
    ^bb0(%i: index, %k: index):
      %0 = te.read %a[%i, %k] : tensor<RxKxf32>
      %1 = math.exp %0 : f32
      te.yield %1 : f32
    }
    te.return %m : tensor<Rxf32>
  }
  return %y : tensor<Rxf32>
}
"""


def rows(r: int, k: int, combiner: str):
    text = ROWSUM.replace("RxK", f"{r}x{k}").replace("Rx", f"{r}x").replace("COMBINER", combiner)
    return descend.parse(text.replace("array<i64: K>", f"array<i64: {k}>"))


def kernel_of(module) -> KernelOp:
    return next(op for op in module.walk() if isinstance(op, KernelOp))


def test_the_reduction_axis_is_split_into_vectors():
    schedule = default_schedule(kernel_of(rows(4, 64, "sum")), vector_bytes=32)
    assert ("split", "r0", 8) in [(r.op, getattr(r, "axis", None), getattr(r, "factor", None)) for r in schedule.records]
    assert any(r.op == "vectorize" and r.axis == "r0.v" for r in schedule.records)
    # too short to pay (fewer than two vectors): the scalar loop
    assert not any(r.op == "vectorize" for r in default_schedule(kernel_of(rows(4, 8, "sum")), vector_bytes=32).records)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r=st.integers(1, 5), vectors=st.integers(2, 6), combiner=st.sampled_from(["sum", "max", "min"]))
def test_vectorised_row_reductions_keep_te_semantics(r, vectors, combiner):
    k = vectors * 8
    x = np.random.default_rng(r * 7 + vectors).uniform(-3, 3, (r, k)).astype(np.float32)
    loop = assert_same_as_te(rows(r, k, combiner), [x])
    assert [op for op in loop.walk() if op.name == "loop.reduce_vector"]


def softmax_model(shape=(1, 2, 16, 64)):
    graph = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], "softmax",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_softmax_reduces_vectors_and_matches_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    model = softmax_model()
    loop = driver.lower(model, stop_after="loop")
    kinds = [op.properties["kind"].value for op in loop.walk() if op.name == "loop.reduce_vector"]
    assert sorted(set(kinds)) == ["max", "sum"]
    x = np.random.default_rng(0).standard_normal((1, 2, 16, 64)).astype(np.float32) * 4
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(descend.compile(model).run([x])[0], expected, rtol=1e-5, atol=1e-6)


def test_a_unit_batch_axis_is_fused_so_rows_run_in_parallel():
    kernel = kernel_of(driver.lower(softmax_model((1, 4, 64, 64)), stop_after="te"))
    schedule = default_schedule(kernel, parallel_threshold=1024, vector_bytes=32)
    fused = [r for r in schedule.records if r.op == "fuse" and r.outer == "i0"]
    parallel = [r for r in schedule.records if r.op == "parallel"]
    assert fused and {r.axis for r in parallel} >= {fused[-1].fused}
