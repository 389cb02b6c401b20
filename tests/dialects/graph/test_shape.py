"""graph shape ops: reference semantics against numpy and onnx's reference evaluator,
verifier errors naming the shapes, the textual round trip, the ONNX converters that resolve
shape inputs (Reshape's 0/-1, Squeeze/Unsqueeze/Flatten) or become constants (Shape, Size,
Constant, ConstantOfShape, Range, EyeLike), and the ONNX node tests of these ops."""

from __future__ import annotations


import numpy as np
import pytest

import descend
from descend.ir import DiagnosticError
from descend.ir.printer import print_ir
from descend.testing.onnx_conformance import check_node_test

RNG = np.random.default_rng(1)


def tensor_text(shape, element="f32") -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def run(op: str, inputs, out_shapes, attrs: str = "", element="f32"):
    """Run one op in generic form on numpy inputs; out_shapes: one shape or a list of them."""
    many = isinstance(out_shapes, list)
    outs = out_shapes if many else [out_shapes]
    in_types = [tensor_text(x.shape, element if x.dtype != np.int64 else "i64") for x in inputs]
    out_types = [tensor_text(s, element) for s in outs]
    args = ", ".join(f"%a{i}: {t}" for i, t in enumerate(in_types))
    uses = ", ".join(f"%a{i}" for i in range(len(inputs)))
    results = f"%0:{len(outs)}" if len(outs) > 1 else "%0"
    returned = ", ".join(f"%0#{i}" for i in range(len(outs))) if len(outs) > 1 else "%0"
    attrs = f" {{{attrs}}}" if attrs else ""
    text = (f"func.func @f({args}) -> ({', '.join(out_types)}) {{\n"
            f"  {results} = \"{op}\"({uses}){attrs} : ({', '.join(in_types)}) -> ({', '.join(out_types)})\n"
            f"  func.return {returned} : {', '.join(out_types)}\n}}\n")
    got = descend.interpret(descend.parse(text), "f", list(inputs))
    return got if many else got[0]


def test_reshape_transpose_expand_tile():
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(run("graph.reshape", [x], (4, 6), "shape = array<i64: 4, 6>"), x.reshape(4, 6))
    np.testing.assert_array_equal(run("graph.transpose", [x], (4, 2, 3), "perm = array<i64: 2, 0, 1>"),
                                  x.transpose(2, 0, 1))
    np.testing.assert_array_equal(run("graph.transpose", [x], (4, 3, 2)), x.transpose())
    column = x[:1, :, :1]                                        # 1x3x1 broadcast both ways
    np.testing.assert_array_equal(run("graph.expand", [column], (2, 2, 3, 5), "shape = array<i64: 2, 2, 1, 5>"),
                                  np.broadcast_to(column, (2, 2, 3, 5)))
    np.testing.assert_array_equal(run("graph.tile", [x], (2, 6, 4), "repeats = array<i64: 1, 2, 1>"),
                                  np.tile(x, (1, 2, 1)))


def test_concat_and_split():
    a = RNG.standard_normal((2, 3)).astype(np.float32)
    b = RNG.standard_normal((2, 1)).astype(np.float32)
    np.testing.assert_array_equal(run("graph.concat", [a, b, a], (2, 7), "axis = -1"),
                                  np.concatenate([a, b, a], axis=1))
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    pieces = run("graph.split", [x], [(2, 1), (2, 0), (2, 5)], "axis = 1, sizes = array<i64: 1, 0, 5>")
    for got, want in zip(pieces, np.split(x, [1, 1], axis=1)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space_and_back_match_onnx(mode):
    from onnx import helper
    from onnx.reference import ReferenceEvaluator
    x = RNG.standard_normal((1, 8, 2, 3)).astype(np.float32)
    node = helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2, mode=mode)
    graph = helper.make_graph([node], "d2s", [helper.make_tensor_value_info("x", 1, None)],
                              [helper.make_tensor_value_info("y", 1, None)])
    (want,) = ReferenceEvaluator(helper.make_model(graph)).run(None, {"x": x})
    y = run("graph.depth_to_space", [x], (1, 2, 4, 6), f"blocksize = 2, mode = \"{mode}\"")
    np.testing.assert_array_equal(y, want)
    back = run("graph.space_to_depth", [y], (1, 8, 2, 3), f"blocksize = 2, mode = \"{mode}\"")
    np.testing.assert_array_equal(back, x)


@pytest.mark.parametrize("batch_axis,time_axis", [(0, 1), (1, 0)])
def test_reverse_sequence(batch_axis, time_axis):
    x = RNG.standard_normal((4, 4, 2)).astype(np.float32)
    lengths = np.array([1, 4, 0, 3], np.int64)
    want = x.copy()
    for b, n in enumerate(lengths):
        index = [slice(None)] * 3
        index[batch_axis] = b
        index[time_axis] = slice(0, n)
        want[tuple(index)] = x[tuple(index)][::-1]   # time is the first remaining axis either way
    got = run("graph.reverse_sequence", [x, lengths], (4, 4, 2), f"batch_axis = {batch_axis}, time_axis = {time_axis}")
    np.testing.assert_array_equal(got, want)


# ---- verifier ---------------------------------------------------------------------------------

def one_op(op, in_types, out_types, attrs):
    args = ", ".join(f"%a{i}: {t}" for i, t in enumerate(in_types))
    uses = ", ".join(f"%a{i}" for i in range(len(in_types)))
    return (f"func.func @f({args}) {{\n  \"{op}\"({uses}) {{{attrs}}} : ({', '.join(in_types)}) -> "
            f"({', '.join(out_types)})\n  func.return\n}}\n")


@pytest.mark.parametrize("text,message", [
    (one_op("graph.reshape", ["tensor<2x3xf32>"], ["tensor<5xf32>"], "shape = array<i64: 5>"),
     r"cannot reshape \[2x3\] \(6 elements\) to \[5\] \(5 elements\)"),
    (one_op("graph.transpose", ["tensor<2x3xf32>"], ["tensor<3x2xf32>"], "perm = array<i64: 0, 0>"),
     r"perm \[0, 0\] is not a permutation of the axes of \[2x3\]"),
    (one_op("graph.expand", ["tensor<2x3xf32>"], ["tensor<2x3xf32>"], "shape = array<i64: 4, 3>"),
     r"shapes \[2x3\], \[4x3\] do not broadcast"),
    (one_op("graph.concat", ["tensor<2x3xf32>", "tensor<3x3xf32>"], ["tensor<5x3xf32>"], "axis = 1"),
     r"shapes \[2x3\], \[3x3\] differ outside axis 1"),
    (one_op("graph.split", ["tensor<2x6xf32>"], ["tensor<2x2xf32>", "tensor<2x2xf32>"],
            "axis = 1, sizes = array<i64: 2, 2>"),
     r"sizes \[2, 2\] do not cut axis 1 of \[2x6\] \(size 6\)"),
    (one_op("graph.tile", ["tensor<2x3xf32>"], ["tensor<4x3xf32>"], "repeats = array<i64: 2>"),
     r"repeats \[2\] must give one count per axis of \[2x3\]"),
    (one_op("graph.depth_to_space", ["tensor<1x6x2x2xf32>"], ["tensor<1x1x4x4xf32>"], "blocksize = 2"),
     r"channels of \[1x6x2x2\] \(6\) are not a multiple of blocksize² \(4\)"),
    (one_op("graph.space_to_depth", ["tensor<1x1x3x4xf32>"], ["tensor<1x4x1x2xf32>"], "blocksize = 2"),
     r"spatial sizes of \[1x1x3x4\] are not multiples of blocksize 2"),
    (one_op("graph.reshape", ["tensor<2x3xf32>"], ["tensor<3x3xf32>"], "shape = array<i64: 3, 2>"),
     r"result #0 has type tensor<3x3xf32>, but operands \(tensor<2x3xf32>\) give tensor<3x2xf32>"),
])
def test_verifier_errors_name_the_shapes(text, message):
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


# ---- textual form -----------------------------------------------------------------------------

ROUND_TRIP = """
func.func @f(%x: tensor<2x3xf32>, %l: tensor<3xi64>) -> tensor<3x2xf32> {
  %0 = graph.transpose %x : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %1 = "graph.reshape"(%x) {shape = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>
  %2:2 = "graph.split"(%x) {axis = 1, sizes = array<i64: 1, 2>} : (tensor<2x3xf32>) -> (tensor<2x1xf32>, tensor<2x2xf32>)
  %3 = "graph.concat"(%2#1, %2#0) {axis = 1} : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  %4 = "graph.reverse_sequence"(%x, %l) {batch_axis = 1, time_axis = 0} : (tensor<2x3xf32>, tensor<3xi64>) -> tensor<2x3xf32>
  func.return %0 : tensor<3x2xf32>
}
"""


@pytest.mark.parametrize("generic", [False, True])
def test_round_trip(generic):
    text = print_ir(descend.parse(ROUND_TRIP), generic=generic)
    assert "graph.split" in text
    assert print_ir(descend.parse(text), generic=generic) == text


# ---- converters -----------------------------------------------------------------------------------

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from descend.frontends.onnx import ImportFailed, import_onnx  # noqa: E402


def model(nodes, inputs, outputs, initializers=(), opset=21):
    graph = helper.make_graph(nodes, "m", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def value(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)





@pytest.mark.parametrize("target,allowzero,want", [([0, -1], 0, (2, 12)), ([-1, 4], 0, (6, 4)),
                                                  ([4, 0, 2], 0, (4, 3, 2)), ([0, 4, 0], 1, (0, 4, 0))])
def test_reshape_resolves_zero_and_minus_one(target, allowzero, want):
    shape = (2, 3, 4) if not allowzero else (0, 4, 0)
    m = model([helper.make_node("Reshape", ["x", "s"], ["y"], allowzero=allowzero)], [value("x", list(shape))],
              [value("y", None)], [helper.make_tensor("s", TensorProto.INT64, [len(target)], target)])
    x = RNG.standard_normal(shape).astype(np.float32)
    (y,) = descend.interpret(import_onnx(m), "main", [x])
    np.testing.assert_array_equal(y, x.reshape(want))


def test_reshape_of_a_runtime_shape_is_unsupported():
    m = model([helper.make_node("Reshape", ["x", "s"], ["y"])], [value("x", [2, 3]), value("s", [2], TensorProto.INT64)],
              [value("y", None)])
    with pytest.raises(ImportFailed, match=r"input #1 \(shape\) must be a constant"):
        import_onnx(m)


def test_flatten_squeeze_unsqueeze_are_reshapes():
    m = model([helper.make_node("Flatten", ["x"], ["f"], axis=-1),
               helper.make_node("Squeeze", ["x"], ["s"])],
              [value("x", [2, 1, 3])], [value("f", None), value("s", None)], opset=11)
    text = str(import_onnx(m))
    assert text.count("graph.reshape") == 2 and "tensor<2x3xf32>" in text


def test_unsqueeze_and_split_with_constant_inputs():
    m = model([helper.make_node("Unsqueeze", ["x", "axes"], ["u"]),
               helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=1)],
              [value("x", [2, 3])], [value("u", None), value("a", None), value("b", None)],
              [helper.make_tensor("axes", TensorProto.INT64, [2], [-1, 0]),
               helper.make_tensor("sizes", TensorProto.INT64, [2], [2, 1])])
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    u, a, b = descend.interpret(import_onnx(m), "main", [x])
    assert u.shape == (1, 2, 3, 1)
    np.testing.assert_array_equal(a, x[:, :2])
    np.testing.assert_array_equal(b, x[:, 2:])


def test_shape_size_eyelike_become_constants():
    m = model([helper.make_node("Shape", ["x"], ["s"], start=-2),
               helper.make_node("Size", ["x"], ["n"]),
               helper.make_node("EyeLike", ["x2"], ["e"], k=1, dtype=TensorProto.INT32)],
              [value("x", [2, 3, 4]), value("x2", [2, 3])], [value("s", None), value("n", None), value("e", None)])
    module = import_onnx(m)
    assert "graph.constant" in str(module)
    s, n, e = descend.interpret(module, "main", [np.zeros((2, 3, 4), np.float32), np.zeros((2, 3), np.float32)])
    assert s.tolist() == [3, 4] and int(n) == 24
    assert e.dtype == np.int32 and e.tolist() == np.eye(2, 3, k=1).tolist()


@pytest.mark.parametrize("attr,value_,want", [
    ("value_float", 1.5, np.float32(1.5)), ("value_floats", [1.0, 2.0], np.array([1, 2], np.float32)),
    ("value_int", 7, np.int64(7)), ("value_ints", [3, 4], np.array([3, 4], np.int64)),
    ("value", helper.make_tensor("t", TensorProto.INT32, [2], [5, 6]), np.array([5, 6], np.int32)),
    ("sparse_value", helper.make_sparse_tensor(helper.make_tensor("v", TensorProto.FLOAT, [2], [1, 2]),
                                               helper.make_tensor("i", TensorProto.INT64, [2], [1, 3]), [4]),
     np.array([0, 1, 0, 2], np.float32)),
])
def test_constant_forms(attr, value_, want):
    m = model([helper.make_node("Constant", [], ["c"], **{attr: value_})], [], [value("c", None)])
    (c,) = descend.interpret(import_onnx(m), "main", [])
    assert np.asarray(c).dtype == want.dtype
    np.testing.assert_array_equal(c, want)


def test_range_and_constant_of_shape():
    m = model([helper.make_node("Range", ["a", "b", "d"], ["r"]),
               helper.make_node("ConstantOfShape", ["s"], ["z"],
                                value=helper.make_tensor("v", TensorProto.INT32, [1], [9]))],
              [], [value("r", None), value("z", None)],
              [helper.make_tensor("a", TensorProto.FLOAT, [], [1.0]), helper.make_tensor("b", TensorProto.FLOAT, [], [2.0]),
               helper.make_tensor("d", TensorProto.FLOAT, [], [0.25]), helper.make_tensor("s", TensorProto.INT64, [2], [2, 1])])
    r, z = descend.interpret(import_onnx(m), "main", [])
    np.testing.assert_array_equal(r, np.arange(1.0, 2.0, 0.25, dtype=np.float32))
    assert z.dtype == np.int32 and z.tolist() == [[9], [9]]


# ---- ONNX node tests ----------------------------------------------------------------------------

PASSING = [
    *[f"test_concat_{d}d_axis_{a}" for d, axes in ((1, ("0", "negative_1")), (2, ("0", "1", "negative_1", "negative_2")),
                                                   (3, ("0", "1", "2", "negative_1", "negative_2", "negative_3")))
      for a in axes],
    "test_constant", "test_depthtospace_crd_mode_example", "test_depthtospace_example",
    "test_eyelike_populate_off_main_diagonal", "test_eyelike_with_dtype", "test_eyelike_without_dtype",
    *[f"test_flatten_{a}" for a in ("axis0", "axis1", "axis2", "axis3", "default_axis", "negative_axis1",
                                    "negative_axis2", "negative_axis3", "negative_axis4")],
    "test_reversesequence_batch", "test_reversesequence_time",
    *[f"test_shape{s}" for s in ("", "_clip_end", "_clip_start", "_end_1", "_end_negative_1", "_example", "_start_1",
                                 "_start_1_end_2", "_start_1_end_negative_1", "_start_greater_than_end",
                                 "_start_negative_1")],
    "test_spacetodepth", "test_spacetodepth_crd_mode_example",
    "test_spacetodepth_dcr_mode_example", "test_spacetodepth_example",
    "test_split_1d_uneven_split_opset18", "test_split_2d_uneven_split_opset18", "test_split_equal_parts_1d_opset13",
    "test_split_equal_parts_1d_opset18", "test_split_equal_parts_2d", "test_split_equal_parts_2d_opset13",
    "test_split_equal_parts_default_axis_opset13", "test_split_equal_parts_default_axis_opset18",
    *[f"test_transpose_all_permutations_{i}" for i in range(6)], "test_transpose_default",
]
WITH_CONSTANT_INPUTS = [
    "test_constantofshape_float_ones", "test_constantofshape_int_shape_zero", "test_constantofshape_int_zeros",
    "test_expand_dim_changed", "test_expand_dim_unchanged",
    "test_range_float16_type_positive_delta", "test_range_float_type_positive_delta",
    "test_range_int32_type_negative_delta", "test_size", "test_size_example",   # a 0-d result
    *[f"test_reshape_{c}" for c in ("allowzero_reordered", "extended_dims", "negative_dim", "negative_extended_dims",
                                    "one_dim", "reduced_dims", "reordered_all_dims", "reordered_last_dims",
                                    "zero_and_negative_dim", "zero_dim")],
    *[f"test_split_variable_parts_{c}_opset{v}" for c in ("1d", "2d", "default_axis") for v in (13, 18)],
    "test_split_zero_size_splits_opset13", "test_split_zero_size_splits_opset18",
    "test_squeeze", "test_squeeze_negative_axes", "test_tile", "test_tile_precomputed",
    *[f"test_unsqueeze_{c}" for c in ("axis_0", "axis_1", "axis_2", "negative_axes", "three_axes", "two_axes",
                                      "unsorted_axes")],
]



@pytest.mark.parametrize("name", PASSING)
def test_onnx_node_tests(name):
    check_node_test(name)


@pytest.mark.parametrize("name", WITH_CONSTANT_INPUTS)
def test_onnx_node_tests_with_constant_shape_inputs(name):
    check_node_test(name)
