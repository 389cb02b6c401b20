"""nchwc-layout: random chains of convolutions (dense, depthwise, strided, 3-channel first
layers), pools, concatenations, elementwise ops and residual adds keep their results through the pass (the graph
interpreter before and after) and through the whole compiled descent; the transforms
between blocked convolutions cancel."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend
from descend.dialects.graph import GraphOp, Kind
from descend.rewrites import PassManager
from descend.testing import assert_equivalent

LAYOUT = "builtin.module(func.func(nchwc-layout,cse))"


def _t(shape) -> str:
    return f"tensor<{'x'.join(map(str, shape))}xf32>"


@st.composite
def chains(draw):
    """(IR text, inputs): a func @main(%x, weights...) of 1-5 layers."""
    channels = draw(st.sampled_from([3, 8, 16]))
    size = draw(st.integers(3, 9))
    shape = [1, channels, size, size]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    lines = ["%lo = graph.constant dense<0.0> : tensor<f32>",
             "%hi = graph.constant dense<6.0> : tensor<f32>"]
    args, weights = [], []
    value, earlier = "%x", {}   # earlier: shape -> a value of that shape (a residual)
    for k in range(draw(st.integers(1, 5))):
        c, h = shape[1], shape[2]
        kind = draw(st.sampled_from(["dense", "depthwise", "relu", "clip", "add", "sigmoid", "max_pool",
                                     "avg_pool", "global_avg_pool", "concat"]))
        if kind == "depthwise" and c % 8:
            kind = "dense"
        if kind == "add" and tuple(shape) not in earlier:
            kind = "relu"
        others = [s for s in earlier if s[2:] == tuple(shape[2:])]
        if kind == "concat" and not others:
            kind = "sigmoid"
        out = f"%v{k}"
        if kind in ("dense", "depthwise"):
            kernel = draw(st.sampled_from([1, 3]))
            stride = draw(st.sampled_from([1, 2]))
            pad = kernel // 2
            m = c if kind == "depthwise" else draw(st.sampled_from([8, 16, 12]))
            w_shape = [m, 1 if kind == "depthwise" else c, kernel, kernel]
            o = (h + 2 * pad - kernel) // stride + 1
            new = [1, m, o, o]
            args.append(f"%w{k}: {_t(w_shape)}")
            weights.append(rng.standard_normal(w_shape).astype(np.float32) / kernel)
            group = f"group = {c} : i64, " if kind == "depthwise" else ""
            lines.append(f"{out} = graph.conv {value}, %w{k} {{{group}pads = array<i64: {pad}, {pad}, {pad}, "
                         f"{pad}>, strides = array<i64: {stride}, {stride}>}} : ({_t(shape)}, {_t(w_shape)}) "
                         f"-> {_t(new)}")
            shape = new
        elif kind in ("max_pool", "avg_pool"):
            kernel, stride, pad = draw(st.sampled_from([w for w in [(2, 2, 0), (3, 1, 1), (3, 2, 1)]
                                                        if h + 2 * w[2] >= w[0]]))
            o = (h + 2 * pad - kernel) // stride + 1
            new = [1, c, o, o]
            lines.append(f"{out} = graph.{kind} {value} {{kernel = array<i64: {kernel}, {kernel}>, pads = array<i64: "
                         f"{pad}, {pad}, {pad}, {pad}>, strides = array<i64: {stride}, {stride}>}} : ({_t(shape)}) -> "
                         f"{_t(new)}")
            shape = new
        elif kind == "concat":
            other = others[draw(st.integers(0, len(others) - 1))]
            new = [1, c + other[1], h, h]
            lines.append(f"{out} = graph.concat {value}, {earlier[other]} {{axis = 1 : i64}} : ({_t(shape)}, "
                         f"{_t(other)}) -> {_t(new)}")
            shape = new
        elif kind == "global_avg_pool":
            new = [1, c, 1, 1]
            lines.append(f"{out} = graph.global_avg_pool {value} : ({_t(shape)}) -> {_t(new)}")
            shape = new
        elif kind == "clip":
            lines.append(f"{out} = graph.clip {value}, %lo, %hi : ({_t(shape)}, tensor<f32>, tensor<f32>) -> "
                         f"{_t(shape)}")
        elif kind == "add":
            lines.append(f"{out} = graph.add {value}, {earlier[tuple(shape)]} : ({_t(shape)}, {_t(shape)}) -> "
                         f"{_t(shape)}")
        else:
            lines.append(f"{out} = graph.{kind} {value} : ({_t(shape)}) -> {_t(shape)}")
        earlier.setdefault(tuple(shape), out)
        value = out
    head = ", ".join([f"%x: {_t([1, channels, size, size])}"] + args)
    body = "\n  ".join(lines)
    text = f"func.func @main({head}) -> {_t(shape)} {{\n  {body}\n  func.return {value} : {_t(shape)}\n}}"
    x = rng.standard_normal((1, channels, size, size)).astype(np.float32)
    return text, [x] + weights


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.sampled_from([8, 4, 16]))
def test_the_pass_keeps_results(chain, block):
    """(blocks of 4 and 16 too: NEON's and AVX-512's f32 lanes)"""
    text, inputs = chain
    before = descend.parse(text)
    after = before.clone()
    PassManager.parse(LAYOUT.replace("nchwc-layout", f"nchwc-layout{{block={block}}}")).run(after)
    assert_equivalent(before, after, inputs, rtol=1e-4, atol=1e-5)
    # the transforms are merged, and none out of a blocked layout feeds an elementwise op
    # (it would have moved after it)
    for op in after.walk():
        if op.name != "graph.layout_transform":
            continue
        producer = op.operands[0].defining_op
        assert producer is None or producer.name != "graph.layout_transform"
        if "c" in op.properties["src_layout"].value:
            for use in op.results[0].uses:
                assert not (isinstance(use.owner, GraphOp) and use.owner.kind in (Kind.ELEMWISE, Kind.BROADCAST))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_compiled_chains_match_the_interpreter(chain):
    text, inputs = chain
    module = descend.parse(text)
    want = descend.interpret(module, "main", inputs)
    got = descend.compile(module).run(inputs)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-4)


def test_mobilenet_keeps_one_transform_out():
    """MobileNetV2's 52 convolutions (first layer, 1x1 expand and project, 3x3 depthwise
    at strides 1 and 2, residual adds) and its global average pool all run blocked; one
    transform is left, out of the pool into the classifier."""
    from descend.lowering.driver import load_module
    from descend.testing.bench_models import mobilenet_v2
    module = load_module(mobilenet_v2(size=32, classes=10))
    PassManager.parse("builtin.module(func.func(simplify-inference,fold-constants,canonicalize,cse,"
                      "nchwc-layout))").run(module)
    names = [op.name for op in module.walk()]
    assert names.count("graph.conv_nchwc") == 52 and "graph.conv" not in names
    assert "graph.global_avg_pool" not in names and "graph.reduce_mean" in names
    transforms = [op for op in module.walk() if op.name == "graph.layout_transform"]
    assert [(op.properties["src_layout"].value, op.properties["dst_layout"].value) for op in transforms] == \
        [("NCHW8c", "NCHW")]
