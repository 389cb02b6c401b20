"""graph -> te compute builders of indexing ops (lowering/compute/indexing.py): each lowered
op interpreted at te level gives what the graph op gives — slices with any steps, gathers
with negative and unsigned indices, scatters with run-time indices (duplicates, every
reduction), pad in every mode, one_hot, trilu, and resize in every mode bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.rewrites import PassManager
from descend.testing.equivalence import assert_equivalent

RNG = np.random.default_rng(1)


def tensor_text(shape, element="f32") -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def ints(values) -> str:
    return "array<i64" + (": " + ", ".join(str(int(v)) for v in values) if len(values) else "") + ">"


def floats(values) -> str:
    return "array<f32: " + ", ".join(repr(float(v)) for v in values) + ">"


ELEMENTS = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16", np.dtype(np.int64): "i64",
            np.dtype(np.int32): "i32", np.dtype(np.uint8): "ui8", np.dtype(np.int8): "i8",
            np.dtype(bool): "i1"}


def type_of(x: np.ndarray) -> str:
    return tensor_text(x.shape, ELEMENTS[x.dtype])


def check(op, inputs, result_shape, attrs="", result_element=None):
    """Lower a one-op @main to te and compare te with graph on `inputs`, bit for bit."""
    operands = [type_of(x) for x in inputs]
    result = tensor_text(result_shape, result_element or ELEMENTS[inputs[0].dtype])
    names = ", ".join(f"%a{k}" for k in range(len(inputs)))
    args = ", ".join(f"%a{k}: {t}" for k, t in enumerate(operands))
    attrs = f" {{{attrs}}}" if attrs else ""
    text = (f"func.func @main({args}) -> {result} {{\n"
            f"  %0 = \"{op}\"({names}){attrs} : ({', '.join(operands)}) -> {result}\n"
            f"  func.return %0 : {result}\n}}\n")
    before, after = descend.parse(text), descend.parse(text)
    PassManager.parse("builtin.module(lower-graph-to-te)").run(after)
    assert "graph." not in descend.print_ir(after)
    if "ui" in result:   # te is signless: compare the bits
        (want,) = descend.interpret(before, "main", inputs)
        (got,) = descend.interpret(after, "main", inputs)
        np.testing.assert_array_equal(np.asarray(got).view(want.dtype), want)
    else:
        assert assert_equivalent(before, after, inputs)
    return after


def data(shape, dtype=np.float32):
    return RNG.normal(size=shape).astype(dtype)


# ---- slice and gathers ----------------------------------------------------------------------------

@pytest.mark.parametrize("starts,ends,axes,steps", [
    ([1, 0], [3, 5], [0, 1], [1, 2]),
    ([-1], [-100], [1], [-2]),
    ([0, -3], [100, 1000], [-2, 2], [1, 1]),
    ([4], [0], [2], [-1]),
])
def test_slice(starts, ends, axes, steps):
    x = data((4, 6, 5))
    slices = [slice(None)] * 3
    for s, e, a, st in zip(starts, ends, axes, steps):
        slices[a] = slice(s, e, st)
    want = x[tuple(slices)]
    check("graph.slice", [x], want.shape,
          f"starts = {ints(starts)}, ends = {ints(ends)}, axes = {ints(axes)}, steps = {ints(steps)}")


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("index_shape", [(), (3,), (2, 2)])
def test_gather_wraps_negative_indices(axis, index_shape):
    x = data((4, 5, 3))
    size = x.shape[axis]
    indices = RNG.integers(-size, size, index_shape).astype(np.int64)
    a = axis % 3
    shape = x.shape[:a] + indices.shape + x.shape[a + 1:]
    check("graph.gather", [x, indices], shape, f"axis = {axis}")


def test_gather_unsigned_indices():
    x = data((300, 2))
    indices = np.array([0, 255, 129, 7], np.uint8)
    check("graph.gather", [x, indices], (4, 2), "axis = 0")


@pytest.mark.parametrize("axis", [0, 1])
def test_gather_elements(axis):
    x = data((4, 5))
    indices = RNG.integers(-x.shape[axis], x.shape[axis], (3, 4)).astype(np.int32)
    check("graph.gather_elements", [x, indices], indices.shape, f"axis = {axis}")


@pytest.mark.parametrize("batch_dims,shape,index_shape", [
    (0, (4, 5, 3), (2, 2)), (0, (4, 5), (3, 2)), (1, (2, 5, 3), (2, 4, 1)), (1, (2, 4, 5, 3), (2, 1, 2)),
])
def test_gather_nd(batch_dims, shape, index_shape):
    x = data(shape)
    k = index_shape[-1]
    bounds = np.array(shape[batch_dims:batch_dims + k])
    indices = (RNG.integers(0, 1 << 20, index_shape) % (2 * bounds) - bounds).astype(np.int64)
    out = index_shape[:-1] + shape[batch_dims + k:]
    check("graph.gather_nd", [x, indices], out, f"batch_dims = {batch_dims}")


# ---- scatters ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("axis", [0, 1])
def test_scatter_elements_with_duplicates(reduction, axis):
    x = data((4, 5))
    shape = (3, 5) if axis == 1 else (6, 3)   # off-axis smaller than data, duplicates on axis
    indices = RNG.integers(-x.shape[axis], x.shape[axis], shape).astype(np.int64)
    updates = data(shape)
    check("graph.scatter_elements", [x, indices, updates], x.shape,
          f"axis = {axis}, reduction = \"{reduction}\"")


@pytest.mark.parametrize("reduction", ["none", "add", "max"])
def test_scatter_elements_integers(reduction):
    x = RNG.integers(0, 256, (5, 3)).astype(np.uint8)
    indices = RNG.integers(0, 5, (4, 3)).astype(np.int64)
    updates = RNG.integers(0, 256, (4, 3)).astype(np.uint8)
    check("graph.scatter_elements", [x, indices, updates], x.shape, f"axis = 0, reduction = \"{reduction}\"")


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("shape,index_shape", [((4, 4, 3), (2, 3, 1)), ((4, 5), (6, 2)), ((3, 4), (2, 1))])
def test_scatter_nd(reduction, shape, index_shape):
    x = data(shape)
    k = index_shape[-1]
    bounds = np.array(shape[:k])
    indices = (RNG.integers(0, 1 << 20, index_shape) % (2 * bounds) - bounds).astype(np.int64)
    updates = data(index_shape[:-1] + shape[k:])
    check("graph.scatter_nd", [x, indices, updates], shape, f"reduction = \"{reduction}\"")


# ---- pad, one_hot, trilu -----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
@pytest.mark.parametrize("pads", [[1, 2, 0, 3], [0, 7, 2, 9], [-1, 2, 3, -2], [0, 0, 0, 0]])
def test_pad(mode, pads):
    x = data((3, 4))
    shape = [d + pads[k] + pads[2 + k] for k, d in enumerate(x.shape)]
    check("graph.pad", [x], shape, f"pads = {ints(pads)}, mode = \"{mode}\"")


def test_pad_with_value_operand():
    x = RNG.integers(-5, 5, (2, 3)).astype(np.int32)
    value = np.array([7], np.int32)
    check("graph.pad", [x, value], (4, 4), "pads = array<i64: 1, 0, 1, 1>")


def test_reflect_pad_of_one_element():
    x = data((1, 3))
    check("graph.pad", [x], (5, 3), "pads = array<i64: 2, 0, 2, 0>, mode = \"reflect\"")


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_one_hot(axis, dtype):
    indices = RNG.integers(-6, 9, (2, 3)).astype(dtype)   # negative and out of range
    values = np.array([-1.5, 2.5], np.float32)
    a = axis % 3
    shape = indices.shape[:a] + (5,) + indices.shape[a:]
    check("graph.one_hot", [indices, values], shape, f"depth = 5, axis = {axis}", result_element="f32")


@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("k", [-2, 0, 3])
def test_trilu(upper, k):
    x = data((2, 4, 5))
    check("graph.trilu", [x], x.shape, f"upper = {upper}, k = {k}")


def test_trilu_with_offset_operand():
    x = RNG.integers(-9, 9, (5, 3)).astype(np.int64)
    offset = np.array(-1, np.int64)
    check("graph.trilu", [x, offset], x.shape, "upper = 1, k = 1")


# ---- resize --------------------------------------------------------------------------------------

TRANSFORMS = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
              "asymmetric", "tf_crop_and_resize"]


def resize_attrs(sizes, mode, transform, **extra):
    attrs = [f"sizes = {ints(sizes)}", f"mode = \"{mode}\"", f"coordinate_transformation_mode = \"{transform}\""]
    if transform == "tf_crop_and_resize":
        attrs.append(f"roi = {floats([0, 0, 0.2, 0.1, 1, 1, 0.9, 1.3])}, extrapolation_value = 10.0")
    for key, value in extra.items():
        attrs.append(f"{key} = {floats(value) if isinstance(value, list) else repr(value) if isinstance(value, str) else value}"
                     .replace("'", '"'))
    return ", ".join(attrs)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("nearest_mode", ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"])
@pytest.mark.parametrize("sizes", [(1, 2, 7, 9), (1, 2, 3, 2)])
def test_resize_nearest(transform, nearest_mode, sizes):
    x = data((1, 2, 4, 5))
    check("graph.resize", [x], sizes, resize_attrs(sizes, "nearest", transform, nearest_mode=nearest_mode))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("sizes", [(1, 2, 7, 9), (1, 2, 3, 2), (1, 2, 1, 5)])
def test_resize_interpolating(transform, mode, sizes):
    x = data((1, 2, 4, 5))
    check("graph.resize", [x], sizes, resize_attrs(sizes, mode, transform))


@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("sizes", [(1, 1, 2, 3), (1, 1, 3, 7)])
def test_resize_antialias_and_exclude_outside(mode, sizes):
    x = data((1, 1, 8, 9))
    check("graph.resize", [x], sizes, resize_attrs(sizes, mode, "half_pixel", antialias=1))
    check("graph.resize", [x], sizes, resize_attrs(sizes, mode, "half_pixel", exclude_outside=1,
                                                   cubic_coeff_a=-0.5))


def test_resize_with_scales_and_untouched_axes():
    x = data((2, 3, 4, 4))
    check("graph.resize", [x], (2, 3, 8, 2),
          resize_attrs((2, 3, 8, 2), "linear", "asymmetric", scales=[1.0, 1.0, 2.0, 0.6]))


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_resize_integers_round_and_saturate(mode):
    x = RNG.integers(0, 256, (1, 1, 4, 4)).astype(np.uint8)
    check("graph.resize", [x], (1, 1, 7, 6), resize_attrs((1, 1, 7, 6), mode, "tf_crop_and_resize"))


# ---- grid_sample ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [0, 1])
def test_grid_sample_2d(mode, padding_mode, align_corners):
    x = data((2, 3, 4, 5))
    grid = RNG.uniform(-1.7, 1.7, (2, 6, 3, 2)).astype(np.float32)   # some beyond [-1, 1]
    check("graph.grid_sample", [x, grid], (2, 3, 6, 3),
          f"mode = \"{mode}\", padding_mode = \"{padding_mode}\", align_corners = {align_corners}")


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_grid_sample_volumetric(mode):
    x = data((1, 2, 3, 4, 2))
    grid = RNG.uniform(-1.2, 1.2, (1, 2, 3, 2, 3)).astype(np.float32)
    check("graph.grid_sample", [x, grid], (1, 2, 2, 3, 2), f"mode = \"{mode}\", padding_mode = \"reflection\"")


# ---- top_k ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("largest", [0, 1])
@pytest.mark.parametrize("axis,k", [(-1, 3), (0, 4), (1, 0)])
def test_top_k_ties_and_nan(largest, axis, k):
    x = RNG.integers(0, 4, (4, 6)).astype(np.float32)   # many ties
    x[1, 2] = x[1, 5] = x[3, 3] = np.nan
    shape = list(x.shape)
    shape[axis] = k
    operands = type_of(x)
    results = f"{tensor_text(shape)}, {tensor_text(shape, 'i64')}"
    text = (f"func.func @main(%a0: {operands}) -> ({results}) {{\n"
            f"  %0:2 = \"graph.top_k\"(%a0) {{k = {k}, axis = {axis}, largest = {largest}}} : ({operands}) -> ({results})\n"
            f"  func.return %0#0, %0#1 : {results}\n}}\n")
    before, after = descend.parse(text), descend.parse(text)
    PassManager.parse("builtin.module(lower-graph-to-te)").run(after)
    assert assert_equivalent(before, after, [x])


@pytest.mark.parametrize("largest", [0, 1])
def test_top_k_unsigned(largest):
    x = np.array([[3, 200, 7, 129, 200, 0]], np.uint8)
    operands = type_of(x)
    results = f"{tensor_text((1, 3), 'ui8')}, {tensor_text((1, 3), 'i64')}"
    text = (f"func.func @main(%a0: {operands}) -> ({results}) {{\n"
            f"  %0:2 = \"graph.top_k\"(%a0) {{k = 3, largest = {largest}}} : ({operands}) -> ({results})\n"
            f"  func.return %0#0, %0#1 : {results}\n}}\n")
    before, after = descend.parse(text), descend.parse(text)
    PassManager.parse("builtin.module(lower-graph-to-te)").run(after)
    want = descend.interpret(before, "main", [x])
    got = descend.interpret(after, "main", [x])
    np.testing.assert_array_equal(np.asarray(got[0]).view(np.uint8), want[0])
    np.testing.assert_array_equal(got[1], want[1])
