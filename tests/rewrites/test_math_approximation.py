"""math-polynomial-approximation: exp and erf on f32 vectors become polynomials. Checked
against float64 references over the f32 range (compiled, a million points), at the special
values (NaN, infinities, overflow, underflow into denormals), through the interpreter on
random vectors (hypothesis), and scalars are left to libm."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import descend
from descend.ir.interpreter import interpret
from descend.rewrites import PassManager

VECTOR = """
func.func @f(%x: vector<8xf32>, %s: f32) -> (vector<8xf32>, vector<8xf32>, f32) {
  %e = math.exp %x : vector<8xf32>
  %r = math.erf %x : vector<8xf32>
  %t = math.exp %s : f32
  return %e, %r, %t : vector<8xf32>, vector<8xf32>, f32
}
"""


def expanded(text: str, options: str = ""):
    module = descend.parse(text)
    PassManager.parse(f"builtin.module(func.func(math-polynomial-approximation{options}))").run(module)
    return module


def test_vectors_are_expanded_and_scalars_keep_libm():
    module = expanded(VECTOR)
    names = [op.name for op in module.walk()]
    assert names.count("math.exp") == 1 and "math.erf" not in names  # the scalar exp stays
    assert "math.fma" in names
    assert "math.exp" not in [op.name for op in expanded(VECTOR, "{scalars=true}").walk()]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-120, 100, width=32), min_size=8, max_size=8), st.floats(-5, 5, width=32))
def test_expansions_agree_with_the_reference_semantics(values, scalar):
    x = np.array(values, dtype=np.float32)
    before = interpret(descend.parse(VECTOR), "f", [x, np.float32(scalar)])
    after = interpret(expanded(VECTOR), "f", [x, np.float32(scalar)])
    np.testing.assert_allclose(after[0], before[0], rtol=4e-7, atol=1e-44)
    np.testing.assert_allclose(after[1], before[1], rtol=1e-6, atol=5e-7)
    assert after[2] == before[2]


def unary(op: str, n: int):
    graph = helper.make_graph([helper.make_node(op, ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 88.72, 88.73, -87.4, -100.0, -104.0, 1e-30, -3.99, 4.5]


@pytest.mark.parametrize("op, reference, rtol, atol", [
    ("Exp", np.exp, 2.5e-7, 0.0),
    ("Erf", np.vectorize(math.erf, otypes=[np.float64]), 5e-7, 5e-7),
])
def test_compiled_accuracy_over_the_f32_range(op, reference, rtol, atol):
    n = 1 << 18
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-110, 95, n // 2), rng.uniform(-6, 6, n // 2 - len(SPECIAL)), SPECIAL])
    x = x.astype(np.float32)
    y = descend.compile(unary(op, n)).run([x])[0]
    with np.errstate(over="ignore"):
        expected = reference(x.astype(np.float64)).astype(np.float32)  # f32 rounding of the exact value
    normal = np.isfinite(expected) & (np.abs(expected) >= np.finfo(np.float32).tiny)
    np.testing.assert_allclose(y[normal], expected[normal], rtol=rtol, atol=atol)
    special = ~normal
    np.testing.assert_allclose(y[special], expected[special], rtol=0, atol=1e-44)  # nan, inf, 0, denormals
    assert np.all(np.abs(y[np.isfinite(y)]) <= (np.inf if op == "Exp" else 1.0))
