"""graph reductions: reference semantics against numpy (ONNX's empty-axes, noop and
empty-set rules included), verifier errors naming the shapes, the textual round trip, and
the ONNX node tests of Reduce*, ArgMax/ArgMin, CumSum/CumProd through the importer."""

from __future__ import annotations


import numpy as np
import pytest

import descend
from descend.ir import DiagnosticError
from descend.ir.printer import print_ir
from descend.testing.onnx_conformance import check_node_test

RNG = np.random.default_rng(0)


def generic_op(op: str, x_type: str, y_type: str, attrs: str = "") -> str:
    attrs = f" {{{attrs}}}" if attrs else ""
    return (f"func.func @f(%x: {x_type}) -> {y_type} {{\n"
            f"  %0 = \"{op}\"(%x){attrs} : ({x_type}) -> {y_type}\n"
            f"  func.return %0 : {y_type}\n}}\n")


def tensor_text(shape, element="f32") -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def run(op: str, x: np.ndarray, y_shape, attrs: str = "", element="f32", y_element=None):
    text = generic_op(op, tensor_text(x.shape, element), tensor_text(y_shape, y_element or element), attrs)
    (y,) = descend.interpret(descend.parse(text), "f", [x])
    return y


def axes_text(axes) -> str:
    return "array<i64" + (": " + ", ".join(map(str, axes)) if axes else "") + ">"


NUMPY = {
    "graph.reduce_sum": lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    "graph.reduce_mean": lambda x, a, k: np.mean(x, axis=a, keepdims=k),
    "graph.reduce_max": lambda x, a, k: np.max(x, axis=a, keepdims=k),
    "graph.reduce_min": lambda x, a, k: np.min(x, axis=a, keepdims=k),
    "graph.reduce_prod": lambda x, a, k: np.prod(x, axis=a, keepdims=k),
    "graph.reduce_l1": lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k),
    "graph.reduce_l2": lambda x, a, k: np.sqrt(np.sum(x * x, axis=a, keepdims=k)),
    "graph.reduce_log_sum": lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k)),
    "graph.reduce_log_sum_exp": lambda x, a, k: np.log(np.sum(np.exp(x), axis=a, keepdims=k)),
    "graph.reduce_sum_square": lambda x, a, k: np.sum(x * x, axis=a, keepdims=k),
}


@pytest.mark.parametrize("op", sorted(NUMPY))
@pytest.mark.parametrize("axes,keepdims", [((1,), 1), ((0, -1), 0), ((), 1), ((), 0)])
def test_reduction_matches_numpy(op, axes, keepdims):
    x = RNG.uniform(0.5, 2.0, (2, 3, 4)).astype(np.float32)
    want = NUMPY[op](x, tuple(axes) or None, bool(keepdims))
    got = run(op, x, want.shape, f"axes = {axes_text(axes)}, keepdims = {keepdims}")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_noop_with_empty_axes_keeps_the_elementwise_part():
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    got = run("graph.reduce_sum_square", x, (2, 3), "noop_with_empty_axes = 1")
    np.testing.assert_allclose(got, x * x, rtol=1e-6)
    np.testing.assert_array_equal(run("graph.reduce_sum", x, (2, 3), "noop_with_empty_axes = 1"), x)


@pytest.mark.parametrize("op,identity", [("graph.reduce_sum", 0.0), ("graph.reduce_prod", 1.0),
                                         ("graph.reduce_max", -np.inf), ("graph.reduce_min", np.inf),
                                         ("graph.reduce_log_sum", -np.inf),
                                         ("graph.reduce_log_sum_exp", -np.inf), ("graph.reduce_l2", 0.0)])
def test_reducing_no_elements_gives_the_identity(op, identity):
    x = np.zeros((2, 0, 4), np.float32)
    got = run(op, x, (2, 1, 4), f"axes = {axes_text([1])}")
    np.testing.assert_array_equal(got, np.full((2, 1, 4), identity, np.float32))


def test_reduce_max_of_booleans_and_integers():
    b = np.array([[True, False], [False, False]])
    np.testing.assert_array_equal(run("graph.reduce_max", b, (2,), f"axes = {axes_text([1])}, keepdims = 0",
                                      element="i1"), [True, False])
    empty = np.zeros((0, 3), np.int32)
    np.testing.assert_array_equal(run("graph.reduce_max", empty, (1, 3), f"axes = {axes_text([0])}", element="i32"),
                                  np.full((1, 3), np.iinfo(np.int32).min))


def test_log_sum_exp_is_stable():
    x = np.array([[1000.0, 1000.0], [-np.inf, -np.inf]], np.float32)
    got = run("graph.reduce_log_sum_exp", x, (2,), f"axes = {axes_text([1])}, keepdims = 0")
    np.testing.assert_allclose(got, [1000.0 + np.log(2.0), -np.inf], rtol=1e-6)


@pytest.mark.parametrize("op,pick", [("graph.argmax", np.argmax), ("graph.argmin", np.argmin)])
@pytest.mark.parametrize("last", [0, 1])
def test_arg_reductions(op, pick, last):
    x = np.array([[1, 3, 3, 0], [2, 2, 0, 0]], np.float32)
    got = run(op, x, (2,), f"axis = 1, keepdims = 0, select_last_index = {last}", y_element="i64")
    want = pick(x, axis=1) if not last else 3 - pick(x[:, ::-1], axis=1)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    kept = run(op, x, (1, 4), "axis = -2", y_element="i64")
    np.testing.assert_array_equal(kept, pick(x, axis=0)[None])


@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
def test_cumsum_and_cumprod(exclusive, reverse):
    x = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    attrs = f"axis = 1, exclusive = {exclusive}, reverse = {reverse}"
    for op, running, identity in (("graph.cumsum", np.cumsum, 0), ("graph.cumprod", np.cumprod, 1)):
        data = x[:, ::-1] if reverse else x
        want = running(data, axis=1)
        if exclusive:
            want = np.concatenate([np.full((2, 1), identity, np.float32), want[:, :-1]], axis=1)
        if reverse:
            want = want[:, ::-1]
        np.testing.assert_array_equal(run(op, x, (2, 3), attrs), want)


# ---- verifier ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text,message", [
    (generic_op("graph.reduce_sum", "tensor<2x3xf32>", "tensor<2x1xf32>", "axes = array<i64: 2>"),
     "axis 2 is out of range for rank 2"),
    (generic_op("graph.reduce_sum", "tensor<2x3xf32>", "tensor<2x1xf32>", "axes = array<i64: 1, -1>"),
     r"axes \[1, -1\] name an axis twice for shape \[2x3\]"),
    (generic_op("graph.reduce_mean", "tensor<2x3xf32>", "tensor<2xf32>", "axes = array<i64: 1>"),
     r"result #0 has type tensor<2xf32>, but operands \(tensor<2x3xf32>\) give tensor<2x1xf32>"),
    (generic_op("graph.argmax", "tensor<2x0xf32>", "tensor<2x1xi64>", "axis = 1"),
     r"axis 1 of tensor \[2x0\] is empty"),
    (generic_op("graph.argmin", "tensor<2x3xf32>", "tensor<2x1xf32>", "axis = 1"),
     "result #0 has type tensor<2x1xf32>, but operands .* give tensor<2x1xi64>"),
    (generic_op("graph.cumsum", "tensor<2x3xi1>", "tensor<2x3xi1>", "axis = 0"),
     "does not accumulate booleans"),
])
def test_verifier_errors_name_the_shapes(text, message):
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


# ---- textual form -----------------------------------------------------------------------------

ROUND_TRIP = """
func.func @f(%x: tensor<2x3x4xf32>) -> tensor<2x1x4xf32> {
  %0 = "graph.reduce_sum"(%x) {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %1 = "graph.reduce_log_sum_exp"(%x) {keepdims = 0} : (tensor<2x3x4xf32>) -> tensor<f32>
  %2 = "graph.argmax"(%x) {axis = 2, keepdims = 0, select_last_index = 1} : (tensor<2x3x4xf32>) -> tensor<2x3xi64>
  %3 = "graph.cumprod"(%x) {axis = -1, exclusive = 1} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %4 = graph.reduce_max %x : (tensor<2x3x4xf32>) -> tensor<1x1x1xf32>
  func.return %0 : tensor<2x1x4xf32>
}
"""


@pytest.mark.parametrize("generic", [False, True])
def test_round_trip(generic):
    module = descend.parse(ROUND_TRIP)
    text = print_ir(module, generic=generic)
    assert "graph.argmax" in text and "select_last_index = 1" in text
    assert print_ir(descend.parse(text), generic=generic) == text


# ---- ONNX node tests ----------------------------------------------------------------------------

onnx = pytest.importorskip("onnx")

PASSING = [
    # attribute-only: run as onnx wrote them
    *[f"test_{op}_{case}{last}" for op in ("argmax", "argmin")
      for case in ("default_axis_example", "default_axis_random", "keepdims_example", "keepdims_random",
                   "negative_axis_keepdims_example", "negative_axis_keepdims_random", "no_keepdims_example",
                   "no_keepdims_random")
      for last in ("", "_select_last_index")],
]
WITH_CONSTANT_INPUTS = [
    # axes (or CumSum's axis) is a graph input here: the backend specialises on its value
    *[f"test_reduce_{op}_{case}" for op in ("sum", "mean", "max", "min", "prod", "l1", "l2", "sum_square",
                                             "log_sum_exp")
      for case in ("do_not_keepdims_example", "do_not_keepdims_random", "keepdims_random",
                   "negative_axes_keepdims_example")
      # l1/l2 tests spell these keep_dims
      if not (op in ("l1", "l2") and case in ("keepdims_random", "negative_axes_keepdims_example"))],
    "test_reduce_l1_keep_dims_random", "test_reduce_l2_negative_axes_keep_dims_example",
    "test_reduce_sum_empty_axes_input_noop", "test_reduce_sum_empty_set", "test_reduce_sum_default_axes_keepdims_random",
    "test_reduce_sum_empty_set_non_reduced_axis_zero", "test_reduce_max_empty_set", "test_reduce_max_bool_inputs",
    "test_reduce_min_empty_set", "test_reduce_prod_empty_set", "test_reduce_log_sum_exp_empty_set",
    "test_reduce_log_sum_asc_axes", "test_reduce_log_sum_desc_axes", "test_reduce_log_sum_empty_set",
    "test_reduce_l2_empty_set", "test_reduce_l1_empty_set", "test_reduce_sum_square_empty_set",
    *[f"test_{op}_{case}" for op in ("cumsum", "cumprod")
      for case in ("1d", "1d_exclusive", "1d_int32_exclusive", "1d_reverse", "1d_reverse_exclusive",
                   "2d_axis_0", "2d_axis_1", "2d_int32", "2d_negative_axis")],
]



@pytest.mark.parametrize("name", PASSING)
def test_onnx_node_tests(name):
    check_node_test(name)


@pytest.mark.parametrize("name", WITH_CONSTANT_INPUTS)
def test_onnx_node_tests_with_constant_shape_inputs(name):
    check_node_test(name)
