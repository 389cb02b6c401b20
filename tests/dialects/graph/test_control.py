"""graph control flow (graph.if, graph.loop, graph.scan): ONNX If/Loop/Scan models against
onnxruntime (captured outer values, nested subgraphs, early exit, scan axes and
directions), what import folds or unrolls, what it refuses, verifier errors, textual round
trips, and the node tests."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend import DiagnosticError
from descend.dialects import graph
from descend.ir.printer import print_ir
from descend.testing.onnx_conformance import check_node_test

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto as T, helper  # noqa: E402

from descend.frontends.onnx import ImportFailed, import_model  # noqa: E402
from descend.frontends.onnx.backend import DescendBackend  # noqa: E402

RNG = np.random.default_rng(0)
_ONNX = {np.dtype(np.float32): T.FLOAT, np.dtype(np.int64): T.INT64, np.dtype(np.bool_): T.BOOL}


def vi(name, elem, shape=None):
    return helper.make_tensor_value_info(name, elem, shape)


def model_of(nodes, inputs, outputs, initializers=(), opset=21):
    """A model whose graph inputs are (name, array) pairs and outputs names (shapes inferred)."""
    g = helper.make_graph(nodes, "g", [vi(n, _ONNX[a.dtype], a.shape) for n, a in inputs],
                          [helper.make_value_info(o, onnx.TypeProto()) for o in outputs], list(initializers))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def check_against_onnxruntime(model, inputs):
    """Runs `model` in onnxruntime and descend on the same inputs; returns descend's module."""
    feeds = {n: a for n, a in inputs}
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, feeds)
    # the outputs' shapes as onnxruntime gives them, so descend's import can check its own
    for out, w in zip(model.graph.output, want):
        out.CopyFrom(vi(out.name, _ONNX[w.dtype], w.shape))
    arrays = [a for _, a in inputs]
    got = DescendBackend.prepare(model, input_arrays=arrays).run(arrays)
    for g_, w_ in zip(got, want):
        assert g_.shape == w_.shape
        np.testing.assert_allclose(g_, w_, rtol=1e-5, atol=1e-6)
    return import_model(model)


def op_names(module) -> list[str]:
    return [op.name for op in module.walk()]


# ---- If ------------------------------------------------------------------------------------------

def branches():
    """then: x + y (two outer inputs); else: x - w (an outer initializer, copied into the region)."""
    then_g = helper.make_graph([helper.make_node("Add", ["x", "y"], ["t"])], "then", [], [vi("t", T.FLOAT, [2, 3])])
    else_g = helper.make_graph([helper.make_node("Sub", ["x", "w"], ["e"])], "else", [], [vi("e", T.FLOAT, [2, 3])])
    return then_g, else_g


@pytest.mark.parametrize("condition", [True, False])
def test_if_runs_the_branch_the_condition_picks(condition):
    then_g, else_g = branches()
    x, y = RNG.standard_normal((2, 3)).astype(np.float32), RNG.standard_normal((2, 3)).astype(np.float32)
    w = helper.make_tensor("w", T.FLOAT, [3], [1.0, 2.0, 3.0])
    model = model_of([helper.make_node("If", ["c"], ["out"], then_branch=then_g, else_branch=else_g)],
                     [("c", np.array(condition)), ("x", x), ("y", y)], ["out"], [w])
    module = check_against_onnxruntime(model, [("c", np.array(condition)), ("x", x), ("y", y)])
    (if_op,) = [op for op in module.walk() if op.name == "graph.if"]
    assert [v.name_hint for v in if_op.captured] == ["x", "y"]        # w is a constant: copied, not captured
    assert "graph.constant" in [op.name for op in if_op.else_region.blocks[0].ops]


def test_a_constant_condition_inlines_the_taken_branch():
    then_g, else_g = branches()
    x, y = np.ones((2, 3), np.float32), np.full((2, 3), 2, np.float32)
    cond = helper.make_tensor("c", T.BOOL, [], [False])
    w = helper.make_tensor("w", T.FLOAT, [3], [1.0, 2.0, 3.0])
    model = model_of([helper.make_node("If", ["c"], ["out"], then_branch=then_g, else_branch=else_g)],
                     [("x", x), ("y", y)], ["out"], [cond, w])
    module = check_against_onnxruntime(model, [("x", x), ("y", y)])
    assert "graph.if" not in op_names(module) and "graph.sub" in op_names(module)


def test_if_branches_of_different_shapes_are_unsupported():
    then_g = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "then", [], [vi("t", T.FLOAT, [2, 3])])
    else_g = helper.make_graph([helper.make_node("ReduceSum", ["x"], ["e"])], "else", [], [vi("e", T.FLOAT, None)])
    model = model_of([helper.make_node("If", ["c"], ["out"], then_branch=then_g, else_branch=else_g)],
                     [("c", np.array(True)), ("x", np.ones((2, 3), np.float32))], ["out"])
    with pytest.raises(ImportFailed, match=r"the branches give different types \(then: tensor<2x3xf32>; "
                                           r"else: tensor<1x1xf32>\): shapes are static"):
        import_model(model)


# ---- Loop ----------------------------------------------------------------------------------------

def doubling_body(with_scan: bool, stop_at_limit: bool = True):
    """carried x doubled each iteration while sum(x) < limit (an outer value), or with the
    condition passed through; scans sum(x)."""
    nodes = [helper.make_node("Add", ["x_in", "x_in"], ["x_out"]),
             helper.make_node("ReduceSum", ["x_out"], ["s"], keepdims=0),
             helper.make_node("Less", ["s", "limit"], ["cond_out"]) if stop_at_limit
             else helper.make_node("Identity", ["cond_in"], ["cond_out"])]
    outputs = [vi("cond_out", T.BOOL, []), vi("x_out", T.FLOAT, [3])] + ([vi("s", T.FLOAT, [])] if with_scan else [])
    return helper.make_graph(nodes, "body", [vi("i", T.INT64, []), vi("cond_in", T.BOOL, []), vi("x_in", T.FLOAT, [3])],
                             outputs)


def test_a_while_loop_ends_when_its_condition_does():
    x = np.float32([0.5, 1.0, 0.25])
    limit = np.array(100, np.float32)
    model = model_of([helper.make_node("Loop", ["", "c", "x"], ["y"], body=doubling_body(False))],
                     [("c", np.array(True)), ("x", x), ("limit", limit)], ["y"])
    module = check_against_onnxruntime(model, [("c", np.array(True)), ("x", x), ("limit", limit)])
    (loop,) = [op for op in module.walk() if op.name == "graph.loop"]
    assert loop.trip_count is None and [v.name_hint for v in loop.captured] == ["limit"]


def test_a_body_condition_without_a_condition_input_is_unsupported():
    # ONNX says the body's condition is then ignored; onnxruntime obeys it (and onnx's
    # reference runs no iteration): refused rather than answer as one of them
    model = model_of([helper.make_node("Loop", ["m", "", "x"], ["y"], body=doubling_body(False))],
                     [("m", np.array(4, np.int64)), ("x", np.ones(3, np.float32)),
                      ("limit", np.array(0, np.float32))], ["y"])
    with pytest.raises(ImportFailed, match="the body computes a condition but the loop has no condition input"):
        import_model(model)


def test_scan_outputs_of_a_loop_with_a_constant_trip_count_stack_in_a_region():
    x = np.float32([0.5, 1.0, 0.25])
    m = helper.make_tensor("m", T.INT64, [], [5])
    model = model_of([helper.make_node("Loop", ["m", "", "x"], ["y", "sums"], body=doubling_body(True, False))],
                     [("x", x)], ["y", "sums"], [m])
    module = check_against_onnxruntime(model, [("x", x)])
    (loop,) = [op for op in module.walk() if op.name == "graph.loop"]
    assert [str(r.type) for r in loop.results] == ["tensor<3xf32>", "tensor<5xf32>"]


def test_scan_outputs_and_an_early_exit_are_unsupported():
    model = model_of([helper.make_node("Loop", ["m", "c", "x"], ["y", "sums"], body=doubling_body(True))],
                     [("m", np.array(5, np.int64)), ("c", np.array(True)), ("x", np.ones(3, np.float32)),
                      ("limit", np.array(1, np.float32))], ["y", "sums"])
    with pytest.raises(ImportFailed, match="a condition that may end it early: their length is not static"):
        import_model(model)


def slicing_body():
    """y += x[i] (a Slice at the iteration number, whose shape needs it at import); scans y."""
    nodes = [helper.make_node("Constant", [], ["one"], value=helper.make_tensor("one_", T.INT64, [1], [1])),
             helper.make_node("Unsqueeze", ["i", "axes"], ["start"]),
             helper.make_node("Add", ["start", "one"], ["end"]),
             helper.make_node("Slice", ["x", "start", "end"], ["xi"]),
             helper.make_node("Add", ["y_in", "xi"], ["y_out"]),
             helper.make_node("Identity", ["cond_in"], ["cond_out"]),
             helper.make_node("Identity", ["y_out"], ["scan"])]
    return helper.make_graph(nodes, "body", [vi("i", T.INT64, []), vi("cond_in", T.BOOL, []), vi("y_in", T.FLOAT, [1])],
                             [vi("cond_out", T.BOOL, []), vi("y_out", T.FLOAT, [1]), vi("scan", T.FLOAT, [1])])


def test_a_body_that_needs_its_iteration_number_is_unrolled():
    x = np.float32([1, 2, 3, 4])
    axes = helper.make_tensor("axes", T.INT64, [1], [0])
    m, c = helper.make_tensor("m", T.INT64, [], [4]), helper.make_tensor("c", T.BOOL, [], [True])
    model = model_of([helper.make_node("Loop", ["m", "c", "y"], ["y_final", "ys"], body=slicing_body())],
                     [("x", x), ("y", np.zeros(1, np.float32))], ["y_final", "ys"], [axes, m, c])
    module = check_against_onnxruntime(model, [("x", x), ("y", np.zeros(1, np.float32))])
    assert "graph.loop" not in op_names(module) and "graph.concat" in op_names(module)


def test_a_loop_carried_value_must_keep_its_type():
    body = helper.make_graph([helper.make_node("Concat", ["y_in", "y_in"], ["y_out"], axis=0),
                              helper.make_node("Identity", ["cond_in"], ["cond_out"])], "body",
                             [vi("i", T.INT64, []), vi("cond_in", T.BOOL, []), vi("y_in", T.FLOAT, [1])],
                             [vi("cond_out", T.BOOL, []), vi("y_out", T.FLOAT, None)])
    model = model_of([helper.make_node("Loop", ["", "c", "y"], ["z"], body=body)],
                     [("c", np.array(True)), ("y", np.zeros(1, np.float32))], ["z"])
    with pytest.raises(ImportFailed, match="loop-carried 'y' is tensor<1xf32> before the loop but the body "
                                           "gives tensor<2xf32>: shapes are static"):
        import_model(model)


def test_an_if_inside_a_loop_reads_the_outer_graph_through_both_regions():
    then_g = helper.make_graph([helper.make_node("Mul", ["x_in", "k"], ["t"])], "then", [], [vi("t", T.FLOAT, [3])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x_in"], ["e"])], "else", [], [vi("e", T.FLOAT, [3])])
    body = helper.make_graph([helper.make_node("Less", ["i", "two"], ["small"]),
                              helper.make_node("If", ["small"], ["x_out"], then_branch=then_g, else_branch=else_g),
                              helper.make_node("Identity", ["cond_in"], ["cond_out"])], "body",
                             [vi("i", T.INT64, []), vi("cond_in", T.BOOL, []), vi("x_in", T.FLOAT, [3])],
                             [vi("cond_out", T.BOOL, []), vi("x_out", T.FLOAT, [3])])
    x, k, m = np.float32([1, -2, 3]), np.float32([2, 3, 4]), np.array(5, np.int64)
    two = helper.make_tensor("two", T.INT64, [], [2])
    model = model_of([helper.make_node("Loop", ["m", "", "x"], ["y"], body=body)],
                     [("m", m), ("x", x), ("k", k)], ["y"], [two])
    module = check_against_onnxruntime(model, [("m", m), ("x", x), ("k", k)])
    (loop,) = [op for op in module.walk() if op.name == "graph.loop"]
    (inner,) = [op for op in module.walk() if op.name == "graph.if"]
    assert [v.name_hint for v in loop.captured] == ["k"]
    assert inner.captured[1] is loop.body.blocks[0].args[3]           # k, as the loop body's argument


# ---- Scan ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("in_direction,out_axis,out_direction", [(0, 0, 0), (1, 1, 0), (0, -1, 1), (1, 0, 1)])
def test_scan_axes_and_directions_match_onnxruntime(in_direction, out_axis, out_direction):
    body = helper.make_graph([helper.make_node("Add", ["s_in", "row"], ["s_out"]),
                              helper.make_node("Mul", ["s_out", "scale"], ["out"])], "body",
                             [vi("s_in", T.FLOAT, [2]), vi("row", T.FLOAT, [2])],
                             [vi("s_out", T.FLOAT, [2]), vi("out", T.FLOAT, [2])])
    s, xs, scale = np.zeros(2, np.float32), RNG.standard_normal((2, 4)).astype(np.float32), np.float32([1, -1])
    node = helper.make_node("Scan", ["s", "xs"], ["s_final", "outs"], body=body, num_scan_inputs=1,
                            scan_input_axes=[1], scan_input_directions=[in_direction],
                            scan_output_axes=[out_axis], scan_output_directions=[out_direction])
    module = check_against_onnxruntime(model_of([node], [("s", s), ("xs", xs), ("scale", scale)],
                                                ["s_final", "outs"]), [("s", s), ("xs", xs), ("scale", scale)])
    assert "graph.scan" in op_names(module)


# ---- ops folded or expanded at import ---------------------------------------------------------------

@pytest.mark.parametrize("x,attrs", [
    (np.float32([2, 1, 1, 3, 4, 3]), {"sorted": 0}),
    (np.float32([2, 1, 1, 3, 4, 3]), {}),
    (np.int64([[1, 0, 0], [1, 0, 0], [2, 3, 4]]), {"axis": 0, "sorted": 0}),
    (np.int64([[1, 0, 0], [1, 0, 0], [2, 3, 4]]).T.copy(), {"axis": -1}),
])
def test_unique_of_a_constant_folds_as_onnxruntime_computes_it(x, attrs):
    outputs = ["y", "first", "inverse", "counts"]
    x_init = onnx.numpy_helper.from_array(x, "x")
    model = model_of([helper.make_node("Unique", ["x"], outputs, **attrs),
                      helper.make_node("Identity", ["z"], ["z_out"])],
                     [("z", np.zeros(1, np.float32))], outputs + ["z_out"], [x_init])
    module = check_against_onnxruntime(model, [("z", np.zeros(1, np.float32))])
    assert "graph.unique" not in op_names(module)


def test_unique_of_a_computed_value_is_unsupported():
    model = model_of([helper.make_node("Unique", ["x"], ["y"])], [("x", np.zeros(3, np.float32))], ["y"])
    with pytest.raises(ImportFailed, match="the input of Unique, whose result shape depends on its values"):
        import_model(model)


@pytest.mark.parametrize("mode,axis,starts", [("linear", -2, [0, 2]), ("circular", 1, [3, 4]), ("circular", 2, [1, 0])])
def test_tensor_scatter_writes_the_update_at_each_batch_position(mode, axis, starts):
    from onnx.reference import ReferenceEvaluator
    past = RNG.standard_normal((2, 5, 5, 3)).astype(np.float32)
    update_shape = [2, 5, 5, 3]
    update_shape[axis] = 2
    update = RNG.standard_normal(update_shape).astype(np.float32)
    starts_init = onnx.numpy_helper.from_array(np.int64(starts), "w")
    model = model_of([helper.make_node("TensorScatter", ["past", "update", "w"], ["present"], mode=mode, axis=axis)],
                     [("past", past), ("update", update)], ["present"], [starts_init], opset=24)
    model.graph.output[0].CopyFrom(vi("present", T.FLOAT, past.shape))
    (want,) = ReferenceEvaluator(model).run(None, {"past": past, "update": update})
    (got,) = DescendBackend.prepare(model, input_arrays=[past, update]).run([past, update])
    np.testing.assert_array_equal(got, want)


def test_tensor_scatter_past_the_end_of_a_linear_cache_is_unsupported():
    model = model_of([helper.make_node("TensorScatter", ["past", "update", "w"], ["present"])],
                     [("past", np.zeros((1, 4, 2), np.float32)), ("update", np.zeros((1, 2, 2), np.float32))],
                     ["present"], [onnx.numpy_helper.from_array(np.int64([3]), "w")], opset=24)
    with pytest.raises(ImportFailed, match=r"write indices \[3\] put 2 steps outside a cache of length 4"):
        import_model(model)


# ---- verifier and round trips --------------------------------------------------------------------

IF_TEXT = """func.func @f(%c: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = graph.if %c captures(%x) : (tensor<i1>, tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%a: tensor<2xf32>):
    %1 = graph.neg %a : (tensor<2xf32>) -> tensor<2xf32>
    graph.yield %1 : tensor<2xf32>
  } else {
  ^bb0(%a: tensor<2xf32>):
    graph.yield %a : tensor<2xf32>
  }
  return %0 : tensor<2xf32>
}
"""

LOOP_TEXT = """func.func @f(%m: tensor<i64>, %c: tensor<i1>, %x: tensor<2xf32>, %k: tensor<2xf32>) -> (tensor<2xf32>, tensor<3x2xf32>) {
  %0, %1 = graph.loop max %m while %c(%x) captures(%k) : (tensor<i64>, tensor<i1>, tensor<2xf32>, tensor<2xf32>) -> (tensor<2xf32>, tensor<3x2xf32>) {
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %a: tensor<2xf32>, %b: tensor<2xf32>):
    %2 = graph.add %a, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    graph.yield %cond, %2, %a : tensor<i1>, tensor<2xf32>, tensor<2xf32>
  }
  return %0, %1 : tensor<2xf32>, tensor<3x2xf32>
}
"""

SCAN_TEXT = """func.func @f(%s: tensor<2xf32>, %xs: tensor<2x4xf32>) -> (tensor<2xf32>, tensor<2x4xf32>) {
  %0, %1 = graph.scan(%s) over(%xs) {scan_input_axes = array<i64: 1>, scan_output_axes = array<i64: 1>} : (tensor<2xf32>, tensor<2x4xf32>) -> (tensor<2xf32>, tensor<2x4xf32>) {
  ^bb0(%a: tensor<2xf32>, %row: tensor<2xf32>):
    %2 = graph.add %a, %row : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    graph.yield %2, %2 : tensor<2xf32>, tensor<2xf32>
  }
  return %0, %1 : tensor<2xf32>, tensor<2x4xf32>
}
"""


def parse(text):
    return descend.parse(text)


def the_op(module, name):
    return next(op for op in module.walk() if op.name == name)


@pytest.mark.parametrize("text", [IF_TEXT, LOOP_TEXT, SCAN_TEXT], ids=["if", "loop", "scan"])
def test_round_trips(text):
    module = parse(text)
    for op in module.walk():
        if op.name in ("graph.if", "graph.loop", "graph.scan"):
            op.verify()
    custom = print_ir(module)
    assert print_ir(parse(custom)) == custom
    generic = print_ir(module, generic=True)
    assert print_ir(parse(generic), generic=True) == generic


def test_the_interpreter_runs_the_regions():
    from descend.ir.interpreter import interpret
    x, k = np.float32([1, 2]), np.float32([10, 20])
    (y,) = interpret(parse(IF_TEXT), "f", [np.array(True), x])
    np.testing.assert_array_equal(y, -x)
    last, seen = interpret(parse(LOOP_TEXT), "f", [np.array(3), np.array(True), x, k])
    np.testing.assert_array_equal(last, x + 3 * k)
    np.testing.assert_array_equal(seen, [x, x + k, x + 2 * k])
    xs = np.arange(8, dtype=np.float32).reshape(2, 4)
    total, partial = interpret(parse(SCAN_TEXT), "f", [np.zeros(2, np.float32), xs])
    np.testing.assert_array_equal(partial, np.cumsum(xs, axis=1))
    np.testing.assert_array_equal(total, xs.sum(axis=1))


@pytest.mark.parametrize("text,old,new,message", [
    (IF_TEXT, "graph.yield %a : tensor<2xf32>\n  }\n  return", "%z = graph.constant dense<0.0> : tensor<3xf32>\n"
     "    graph.yield %z : tensor<3xf32>\n  }\n  return",
     r"else region yields \(tensor<3xf32>\) but the results are \(tensor<2xf32>\)"),
    (IF_TEXT, "^bb0(%a: tensor<2xf32>):\n    %1", "^bb0(%q: tensor<3xf32>):\n"
     "    %a = graph.constant dense<0.0> : tensor<2xf32>\n    %1",
     r"then block arguments must be \(tensor<2xf32>\): the captured values; got \(tensor<3xf32>\)"),
    (LOOP_TEXT, "graph.yield %cond, %2, %a : tensor<i1>, tensor<2xf32>", "graph.yield %cond, %i, %a : tensor<i1>, tensor<i64>",
     r"body yields carried values \(tensor<i64>\) of other types than their initial values \(tensor<2xf32>\)"),
    (LOOP_TEXT, "%i: tensor<i64>, %cond: tensor<i1>", "%i: tensor<i32>, %cond: tensor<i1>",
     r"body block arguments must be \(tensor<i64>, tensor<i1>, tensor<2xf32>, tensor<2xf32>\): iteration, condition"),
    (SCAN_TEXT, "scan_output_axes = array<i64: 1>", "scan_output_axes = array<i64: 0>",
     r"scanned result tensor<2x4xf32> should be tensor<4x2xf32>: 4 values of type tensor<2xf32> stacked along axis 0"),
])
def test_verifier_errors_name_the_types(text, old, new, message):
    assert old in text
    with pytest.raises(DiagnosticError, match=message):
        parse(text.replace(old, new))


def test_result_types_come_from_the_regions():
    with pytest.raises(TypeError, match="takes its result types from its regions"):
        graph.IfOp.build(descend.ir.Block([graph.tensor((), descend.ir.i1)]).args[0], captured=[])


# ---- ONNX node tests -----------------------------------------------------------------------------

NODE_TESTS = """
test_if test_loop11 test_scan9_sum test_scan9_scalar test_scan9_multi_state
test_range_float_type_positive_delta_expanded test_range_int32_type_negative_delta_expanded
test_affine_grid_2d_expanded test_linear_attention_gated_delta_expanded
test_linear_attention_gated_delta_gqa test_linear_attention_prefill_with_past test_causal_conv_with_state_silu_with_past_state
test_causal_conv_with_state_with_bias test_unique_not_sorted_without_axis test_unique_sorted_with_negative_axis
test_tensorscatter test_tensorscatter_3d test_tensorscatter_circular
""".split()


@pytest.mark.parametrize("name", NODE_TESTS)
def test_onnx_node(name):
    check_node_test(name)
