"""Hypothesis draws random graph programs (chains of elementwise, broadcasting, reducing,
transposing and matmul ops over random shapes) and checks every lowering step on them:
the graph interpreter, te (after lower-graph-to-te, with and without fusion), loop (after
lower-te-to-loop) and the JIT-compiled code all give the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import descend
from descend.lowering.te_to_loop import run_loop_function
from descend.rewrites import PassManager

UNARY = ["graph.relu", "graph.neg", "graph.abs", "graph.exp", "graph.sigmoid", "graph.tanh"]
BINARY = ["graph.add", "graph.sub", "graph.mul", "graph.max", "graph.min"]


def tensor(shape) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + "f32>"


@st.composite
def programs(draw):
    """(IR text, input shapes): a func @main over 1-2 inputs and 1-5 ops."""
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    inputs = [shape]
    if draw(st.booleans()):  # a second input that broadcasts against the first
        inputs.append(tuple(d if draw(st.booleans()) else 1 for d in shape)[draw(st.integers(0, rank - 1)):])
    values = [(f"%in{k}", s) for k, s in enumerate(inputs)]
    lines = []
    for n in range(draw(st.integers(1, 5))):
        name, s = draw(st.sampled_from(values))
        kind = draw(st.sampled_from(["unary", "binary", "reduce", "transpose", "matmul"]))
        out = f"%v{n}"
        if kind == "unary":
            op = draw(st.sampled_from(UNARY))
            lines.append(f"{out} = {op} {name} : ({tensor(s)}) -> {tensor(s)}")
            result = s
        elif kind == "binary":
            other, t = draw(st.sampled_from(values))
            try:
                result = np.broadcast_shapes(s, t)
            except ValueError:
                continue
            op = draw(st.sampled_from(BINARY))
            lines.append(f"{out} = {op} {name}, {other} : ({tensor(s)}, {tensor(t)}) -> {tensor(result)}")
        elif kind == "reduce":
            axis = draw(st.integers(0, len(s) - 1))
            keep = draw(st.booleans())
            result = tuple(1 if i == axis else d for i, d in enumerate(s)) if keep else \
                tuple(d for i, d in enumerate(s) if i != axis)
            if not result:
                continue
            op = draw(st.sampled_from(["graph.reduce_sum", "graph.reduce_max", "graph.reduce_mean"]))
            lines.append(f"{out} = {op} {name} {{axes = array<i64: {axis}>, keepdims = {int(keep)} : i64}} "
                         f": ({tensor(s)}) -> {tensor(result)}")
        elif kind == "transpose":
            perm = draw(st.permutations(range(len(s))))
            result = tuple(s[p] for p in perm)
            lines.append(f"{out} = graph.transpose {name} {{perm = array<i64: {', '.join(map(str, perm))}>}} "
                         f": ({tensor(s)}) -> {tensor(result)}")
        else:
            k = s[-1]
            m = draw(st.integers(1, 4))
            weight = f"%w{n}"
            lines.append(f"{weight} = graph.constant dense<{draw(st.sampled_from(['0.5', '-1.25', '2.0']))}> "
                         f": {tensor((k, m))}")
            result = (*s[:-1], m)
            lines.append(f"{out} = graph.matmul {name}, {weight} : ({tensor(s)}, {tensor((k, m))}) -> {tensor(result)}")
        values.append((out, tuple(result)))
    if not lines:
        lines.append(f"%v0 = graph.relu %in0 : ({tensor(shape)}) -> {tensor(shape)}")
        values.append(("%v0", shape))
    last, last_shape = values[-1]
    args = ", ".join(f"%in{k}: {tensor(s)}" for k, s in enumerate(inputs))
    body = "\n  ".join(lines)
    text = (f"func.func @main({args}) -> {tensor(last_shape)} {{\n  {body}\n"
            f"  return {last} : {tensor(last_shape)}\n}}\n")
    return text, inputs


def run_at(text, pipeline, inputs):
    module = descend.parse(text)
    PassManager.parse(pipeline).run(module)
    return module


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2**16))
def test_every_stage_computes_the_same(program, seed):
    text, shapes = program
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    (expected,) = descend.interpret(descend.parse(text), "main", inputs)
    for pipeline in ("builtin.module(lower-graph-to-te)",
                     "builtin.module(func.func(fuse-ops),lower-graph-to-te)"):
        (got,) = descend.interpret(run_at(text, pipeline, inputs), "main", inputs)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=f"{pipeline}\n{text}")
    loop = run_at(text, "builtin.module(func.func(fuse-ops),lower-graph-to-te,lower-te-to-loop)", inputs)
    (got,) = run_loop_function(loop, inputs)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=f"loop\n{text}")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2**16))
def test_compiled_code_computes_the_same(program, seed):
    text, shapes = program
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    (expected,) = descend.interpret(descend.parse(text), "main", inputs)
    (got,) = descend.compile(descend.parse(text), threads=2).run(inputs)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=text)
