"""graph -> te compute builders of reductions (lowering/compute/reduction.py): each lowered
op interpreted at te level gives what the graph op gives — axes, keepdims, noop and empty
reductions, f16 accumulation, unsigned extrema, argmax ties and NaN, running sums."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.rewrites import PassManager
from descend.testing.equivalence import assert_equivalent

RNG = np.random.default_rng(0)


def tensor_text(shape, element="f32") -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def ints(values) -> str:
    return "array<i64" + (": " + ", ".join(str(int(v)) for v in values) if len(values) else "") + ">"


def module_text(op: str, operands, result, attrs: str = "") -> str:
    """@main applying one graph op (generic form) to its arguments."""
    args = ", ".join(f"%a{k}: {t}" for k, t in enumerate(operands))
    names = ", ".join(f"%a{k}" for k in range(len(operands)))
    attrs = f" {{{attrs}}}" if attrs else ""
    return (f"func.func @main({args}) -> {result} {{\n"
            f"  %0 = \"{op}\"({names}){attrs} : ({', '.join(operands)}) -> {result}\n"
            f"  func.return %0 : {result}\n}}\n")


def lowered(text: str):
    """The graph module and its lower-graph-to-te form."""
    after = descend.parse(text)
    PassManager.parse("builtin.module(lower-graph-to-te)").run(after)
    assert "graph." not in descend.print_ir(after)
    return descend.parse(text), after


def check(op, inputs, operand_types, result_type, attrs="", rtol=0.0):
    """te == graph on `inputs`: bit for bit, or within rtol (NaN equal to NaN)."""
    before, after = lowered(module_text(op, operand_types, result_type, attrs))
    if "ui" not in result_type:
        assert assert_equivalent(before, after, inputs, rtol=rtol, atol=0.0)
        return after
    # te is signless: an unsigned result comes back as the signed integers of the same bits
    (want,) = descend.interpret(before, "main", inputs)
    (got,) = descend.interpret(after, "main", inputs)
    np.testing.assert_array_equal(np.asarray(got).view(want.dtype), want)
    return after


def reduced_shape(shape, axes, keepdims):
    axes = [a % len(shape) for a in axes] if axes else list(range(len(shape)))
    return [1 if k in axes else d for k, d in enumerate(shape) if keepdims or k not in axes]


REDUCTIONS = ["graph.reduce_sum", "graph.reduce_mean", "graph.reduce_max", "graph.reduce_min",
              "graph.reduce_prod", "graph.reduce_l1", "graph.reduce_l2", "graph.reduce_log_sum",
              "graph.reduce_log_sum_exp", "graph.reduce_sum_square"]
EXACT = {"graph.reduce_max", "graph.reduce_min"}


@pytest.mark.parametrize("op", REDUCTIONS)
@pytest.mark.parametrize("axes,keepdims", [((1,), 1), ((0, -1), 0), ((), 1), ((), 0), ((2,), 0)])
def test_reduction_f32(op, axes, keepdims):
    x = RNG.uniform(0.5, 2.0, (2, 3, 4)).astype(np.float32)
    out = reduced_shape(x.shape, axes, keepdims)
    check(op, [x], [tensor_text(x.shape)], tensor_text(out),
          f"axes = {ints(axes)}, keepdims = {keepdims}", rtol=0 if op in EXACT else 1e-6)


@pytest.mark.parametrize("op", REDUCTIONS)
def test_noop_with_empty_axes_applies_only_the_elementwise_part(op):
    x = RNG.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    after = check(op, [x], [tensor_text(x.shape)], tensor_text(x.shape),
                  "axes = array<i64>, noop_with_empty_axes = 1", rtol=1e-6)
    assert "combiner" not in descend.print_ir(after)


@pytest.mark.parametrize("op", REDUCTIONS)
def test_empty_reduction_gives_the_identity(op):
    x = np.zeros((2, 0, 3), np.float32)
    check(op, [x], [tensor_text(x.shape)], tensor_text((2, 1, 3)), "axes = array<i64: 1>")


@pytest.mark.parametrize("op", ["graph.reduce_sum", "graph.reduce_mean", "graph.reduce_prod",
                                "graph.reduce_sum_square", "graph.reduce_log_sum_exp"])
def test_f16_accumulates_in_f32(op):
    x = RNG.uniform(0.5, 1.5, (4, 64)).astype(np.float16)
    after = check(op, [x], [tensor_text(x.shape, "f16")], tensor_text((4, 1), "f16"),
                  "axes = array<i64: 1>", rtol=1e-3)
    assert "tensor<4x1xf32>" in descend.print_ir(after)


@pytest.mark.parametrize("op", ["graph.reduce_sum", "graph.reduce_mean", "graph.reduce_max",
                                "graph.reduce_min", "graph.reduce_prod", "graph.reduce_l1",
                                "graph.reduce_sum_square", "graph.reduce_l2"])
@pytest.mark.parametrize("element,dtype", [("i32", np.int32), ("ui8", np.uint8), ("si8", np.int8)])
def test_integer_reductions(op, element, dtype):
    info = np.iinfo(dtype)
    x = RNG.integers(max(info.min, -100), min(info.max, 200), (3, 5)).astype(dtype)
    check(op, [x], [tensor_text(x.shape, element)], tensor_text((3,), element),
          "axes = array<i64: 1>, keepdims = 0")


@pytest.mark.parametrize("op", ["graph.reduce_max", "graph.reduce_min"])
def test_unsigned_extremum_of_nothing(op):
    x = np.zeros((2, 0), np.uint8)
    check(op, [x], [tensor_text(x.shape, "ui8")], tensor_text((2, 1), "ui8"), "axes = array<i64: 1>")


def test_bool_max_is_any():
    x = RNG.integers(0, 2, (3, 4)).astype(bool)
    check("graph.reduce_max", [x], [tensor_text(x.shape, "i1")], tensor_text((3, 1), "i1"),
          "axes = array<i64: 1>")


# ---- argmax / argmin ---------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["graph.argmax", "graph.argmin"])
@pytest.mark.parametrize("axis,keepdims,last", [(0, 1, 0), (1, 0, 0), (-1, 1, 1), (1, 0, 1)])
def test_arg_extremum_with_ties(op, axis, keepdims, last):
    x = RNG.integers(0, 3, (3, 4, 5)).astype(np.float32)   # many ties
    out = reduced_shape(x.shape, [axis], keepdims)
    after = check(op, [x], [tensor_text(x.shape)], tensor_text(out, "i64"),
                  f"axis = {axis}, keepdims = {keepdims}, select_last_index = {last}")
    assert descend.print_ir(after).count("te.compute") == 2


@pytest.mark.parametrize("op", ["graph.argmax", "graph.argmin"])
@pytest.mark.parametrize("last", [0, 1])
def test_arg_extremum_picks_nan(op, last):
    x = RNG.normal(size=(4, 6)).astype(np.float32)
    x[1, 2] = x[1, 4] = x[3, 0] = np.nan
    check(op, [x], [tensor_text(x.shape)], tensor_text((4, 1), "i64"),
          f"axis = 1, select_last_index = {last}")


@pytest.mark.parametrize("op", ["graph.argmax", "graph.argmin"])
def test_arg_extremum_unsigned(op):
    x = RNG.integers(0, 256, (4, 7)).astype(np.uint8)
    check(op, [x], [tensor_text(x.shape, "ui8")], tensor_text((4,), "i64"), "axis = 1, keepdims = 0")


# ---- cumsum / cumprod ----------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["graph.cumsum", "graph.cumprod"])
@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
@pytest.mark.parametrize("axis", [0, -1])
def test_running(op, exclusive, reverse, axis):
    x = RNG.integers(-3, 4, (3, 5)).astype(np.int32)
    check(op, [x], [tensor_text(x.shape, "i32")], tensor_text(x.shape, "i32"),
          f"axis = {axis}, exclusive = {exclusive}, reverse = {reverse}")
    y = RNG.uniform(0.5, 1.5, (3, 5)).astype(np.float32)
    check(op, [y], [tensor_text(y.shape)], tensor_text(y.shape),
          f"axis = {axis}, exclusive = {exclusive}, reverse = {reverse}", rtol=1e-6)
