"""bf16 arithmetic compiles on CPUs without bf16 instructions: each op is done in f32,
widened and rounded back on the bits (LLVM's own promotion calls __truncsfbf2, which nothing
links: the compiled code hung; its fpext from bf16 vectors crashed LLVM's x86 backend).
Results equal f32 arithmetic rounded to bf16 (ml_dtypes)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

import descend

ml_dtypes = pytest.importorskip("ml_dtypes")


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min"])
def test_bf16_binary_ops_round_like_f32_then_bf16(op):
    graph = helper.make_graph([helper.make_node(op, ["a", "b"], ["y"])], "g",
                              [helper.make_tensor_value_info(n, TensorProto.BFLOAT16, [64]) for n in "ab"],
                              [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [64])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(0.5, 4, 64).astype(ml_dtypes.bfloat16) for _ in range(2))
    fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
          "Max": np.maximum, "Min": np.minimum}[op]
    expected = fn(a.astype(np.float32), b.astype(np.float32)).astype(ml_dtypes.bfloat16)
    got = descend.compile(model).run([a, b])[0]
    np.testing.assert_array_equal(np.asarray(got).astype(np.float32), expected.astype(np.float32))
