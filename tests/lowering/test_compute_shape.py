"""graph -> te compute builders of data movement ops (lowering/compute/shape.py): reshape,
transpose, expand, concat, split, tile, depth_to_space / space_to_depth and
reverse_sequence interpreted at te level give what the graph ops give, including
zero-size pieces, and reshape passes the axes it does not regroup straight through."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.rewrites import PassManager
from descend.testing.equivalence import assert_equivalent

RNG = np.random.default_rng(3)


def tensor_text(shape, element="f32") -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def ints(values) -> str:
    return "array<i64" + (": " + ", ".join(str(int(v)) for v in values) if len(values) else "") + ">"


def lower(text: str):
    module = descend.parse(text)
    PassManager.parse("builtin.module(lower-graph-to-te)").run(module)
    assert "graph." not in descend.print_ir(module)
    return module


def check(op, inputs, results, attrs="", elements=None):
    """Lower a one-op @main (results: their shapes) to te and compare with graph."""
    elements = elements or ["f32"] * len(inputs)
    types = [tensor_text(x.shape, e) for x, e in zip(inputs, elements)]
    result_types = [tensor_text(s, elements[0]) for s in results]
    names = ", ".join(f"%a{k}" for k in range(len(inputs)))
    args = ", ".join(f"%a{k}: {t}" for k, t in enumerate(types))
    values = ", ".join(f"%0#{k}" for k in range(len(results))) if len(results) > 1 else "%0"
    attrs = f" {{{attrs}}}" if attrs else ""
    outs = ", ".join(result_types)
    text = (f"func.func @main({args}) -> ({outs}) {{\n"
            f"  %0{':' + str(len(results)) if len(results) > 1 else ''} = \"{op}\"({names}){attrs} "
            f": ({', '.join(types)}) -> ({outs})\n"
            f"  func.return {values} : {outs}\n}}\n")
    before, after = descend.parse(text), lower(text)
    assert assert_equivalent(before, after, inputs)
    return after


def data(shape):
    return RNG.normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("source,target", [
    ((2, 3, 4), (6, 4)), ((2, 3, 4), (2, 12)), ((2, 3, 4), (4, 3, 2)), ((24,), (2, 3, 4)),
    ((2, 3, 4), (24,)), ((1, 6, 1), (2, 3)), ((2, 3), (1, 6, 1, 1)), ((3, 4, 5), (3, 2, 2, 5)),
    ((2, 6, 5), (4, 3, 5)), ((2, 3), (2, 3)), ((), (1, 1)), ((1,), ()), ((0, 3), (3, 0)),
])
def test_reshape(source, target):
    check("graph.reshape", [data(source)], [target], f"shape = {ints(target)}")


def test_reshape_passes_untouched_axes_through():
    """(N, C, H, W) -> (N, C, H*W): only the last two axes need index arithmetic."""
    after = check("graph.reshape", [data((2, 3, 4, 5))], [(2, 3, 20)], f"shape = {ints((2, 3, 20))}")
    text = descend.print_ir(after)
    assert "te.read %arg0[%i0, %i1, " in text
    assert text.count("arith.floordivsi") == 1 and text.count("arith.remsi") == 1


@pytest.mark.parametrize("perm", [(1, 0, 2), (2, 0, 1), (0, 2, 1), None])
def test_transpose(perm):
    x = data((2, 3, 4))
    shape = np.transpose(x, perm).shape
    check("graph.transpose", [x], [shape], "" if perm is None else f"perm = {ints(perm)}")


@pytest.mark.parametrize("source,shape", [((3, 1), (2, 3, 4)), ((1, 4), (3, 1)), ((4,), (1,)),
                                          ((2, 1, 3), (2, 5, 3))])
def test_expand(source, shape):
    x = data(source)
    check("graph.expand", [x], [np.broadcast_shapes(source, shape)], f"shape = {ints(shape)}")


@pytest.mark.parametrize("axis,sizes", [(0, (2, 3)), (1, (1, 4, 2)), (-1, (3, 0, 2)), (2, (5,))])
def test_concat(axis, sizes):
    shapes = [[2, 3, 4] for _ in sizes]
    for s, n in zip(shapes, sizes):
        s[axis] = n
    inputs = [data(s) for s in shapes]
    check("graph.concat", inputs, [np.concatenate(inputs, axis=axis).shape], f"axis = {axis}")


def test_concat_integers():
    inputs = [RNG.integers(-9, 9, size=(2, n)).astype(np.int64) for n in (1, 3)]
    check("graph.concat", inputs, [(2, 4)], "axis = 1", elements=["i64", "i64"])


@pytest.mark.parametrize("axis,sizes", [(0, (1, 3)), (1, (2, 2, 1)), (-1, (3, 0, 1))])
def test_split(axis, sizes):
    x = data((4, 5, 4))
    pieces = np.split(x, np.cumsum(sizes)[:-1], axis=axis)
    check("graph.split", [x], [p.shape for p in pieces], f"axis = {axis}, sizes = {ints(sizes)}")


@pytest.mark.parametrize("shape,repeats", [((2, 3), (2, 1)), ((1, 3, 2), (3, 2, 2)), ((4,), (0,))])
def test_tile(shape, repeats):
    x = data(shape)
    check("graph.tile", [x], [np.tile(x, repeats).shape], f"repeats = {ints(repeats)}")


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
@pytest.mark.parametrize("blocksize", [2, 3])
def test_depth_to_space(mode, blocksize):
    x = data((2, 2 * blocksize * blocksize, 3, 2))
    shape = (2, 2, 3 * blocksize, 2 * blocksize)
    check("graph.depth_to_space", [x], [shape], f"blocksize = {blocksize}, mode = \"{mode}\"")


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
@pytest.mark.parametrize("blocksize", [2, 3])
def test_space_to_depth(mode, blocksize):
    x = data((2, 3, 2 * blocksize, 3 * blocksize))
    shape = (2, 3 * blocksize * blocksize, 2, 3)
    check("graph.space_to_depth", [x], [shape], f"blocksize = {blocksize}, mode = \"{mode}\"")


@pytest.mark.parametrize("batch_axis,time_axis", [(1, 0), (0, 1)])
@pytest.mark.parametrize("element", ["i64", "i32"])
def test_reverse_sequence(batch_axis, time_axis, element):
    shape = [0, 0, 3]
    shape[batch_axis], shape[time_axis] = 4, 5
    x = data(shape)
    lengths = np.array([5, 0, 2, 9], np.int64 if element == "i64" else np.int32)  # 9: past the end
    check("graph.reverse_sequence", [x, lengths], [tuple(shape)],
          f"batch_axis = {batch_axis}, time_axis = {time_axis}", elements=["f32", element])
