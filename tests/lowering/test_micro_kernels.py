"""Register-blocked micro-kernels: the cache_write record and its checks, the default
schedule's choice of vector and row axes (access analysis), loop-vectorize, weights packed
at compile time (te-fold-constants), the fused epilogue chain, and the target's vector
width. Results are checked against te's reference semantics through the loop interpreter
(random shapes and tiles, hypothesis) and against numpy through the JIT."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import descend
from descend.dialects.te import KernelOp
from descend.ir import f32
from descend.ir.interpreter import interpret
from descend.lowering.access import buffer_reads, classify
from descend.lowering import driver
from descend.lowering.codegen import Target
from descend.lowering.default_schedule import default_schedule
from descend.lowering.schedule import Schedule, ScheduleError, loop_nest
from descend.lowering.te_to_loop import run_loop_function
from descend.rewrites import PassManager
from descend.testing.equivalence import first_difference

LOOP_PASSES = "func.func(loop-unroll,loop-simplify,loop-vectorize,loop-simplify,loop-hoist-invariants)"

MATMUL = """
func.func @main(%a: tensor<MxKxf32>, %b: tensor<KxNxf32>) -> tensor<MxNxf32> {
  %y = te.kernel "mm"(%a, %b) : (tensor<MxKxf32>, tensor<KxNxf32>) -> tensor<MxNxf32> {
  ^bb0(%x: tensor<MxKxf32>, %w: tensor<KxNxf32>):
    %y = te.compute(%x, %w) {combiner = "sum", reduce = array<i64: K>} : (tensor<MxKxf32>, tensor<KxNxf32>) -> tensor<MxNxf32> {
    ^bb0(%i: index, %j: index, %k: index):
      %0 = te.read %x[%i, %k] : tensor<MxKxf32>
      %1 = te.read %w[%k, %j] : tensor<KxNxf32>
      %2 = arith.mulf %0, %1 : f32
      te.yield %2 : f32
    }
    %z = te.compute(%y) : (tensor<MxNxf32>) -> tensor<MxNxf32> {
    ^bb0(%i: index, %j: index):
      %0 = te.read %y[%i, %j] : tensor<MxNxf32>
      %c = arith.constant 0.0 : f32
      %1 = arith.maximumf %0, %c : f32
      te.yield %1 : f32
    }
    te.return %z : tensor<MxNxf32>
  }
  return %y : tensor<MxNxf32>
}
"""


def matmul(m: int, k: int, n: int, schedule: Schedule | None = None):
    text = MATMUL.replace("MxK", f"{m}x{k}").replace("KxN", f"{k}x{n}").replace("MxN", f"{m}x{n}")
    text = text.replace("reduce = array<i64: K>", f"reduce = array<i64: {k}>")
    module = descend.parse(text)
    if schedule is not None:
        kernel = next(op for op in module.walk() if isinstance(op, KernelOp))
        kernel.properties["schedule"] = schedule.to_attr()
    return module


def inputs_for(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (m, k)).astype(np.float32), rng.uniform(-1, 1, (k, n)).astype(np.float32)]


def lowered(module, vector_bytes: int = 32):
    out = descend.parse(str(module))
    PassManager.parse(f"builtin.module(lower-te-to-loop{{vector-bytes={vector_bytes}}},{LOOP_PASSES})").run(out)
    return out


def assert_same_as_te(module, inputs, vector_bytes=32):
    expected = interpret(module, "main", inputs)
    loop = lowered(module, vector_bytes)
    actual = run_loop_function(loop, inputs)
    problem = first_difference([np.asarray(e) for e in expected], actual, 1e-4, 1e-5)
    assert problem is None, f"{problem}\n--- loop ---\n{loop}"
    return loop


def names(module, name):
    return [op for op in module.walk() if op.name == name]


# ---- the cache_write record -----------------------------------------------------------------

def test_cache_write_makes_a_register_tile():
    s = Schedule()
    s.split("y", "i1", 8, "jo", "ji")
    s.reorder("y", "i0", "jo", "r0", "ji")
    s.vectorize("y", "ji")
    s.cache_write("y")
    loop = assert_same_as_te(matmul(3, 5, 16, s), inputs_for(3, 5, 16))
    assert [op.memref.type.shape for op in names(loop, "loop.alloca")] == [(8,)]
    assert names(loop, "math.fma") and names(loop, "loop.vload")
    assert len(names(loop, "loop.alloc")) == 1  # an explicit schedule keeps relu a nest of its own


@pytest.mark.parametrize("records, message", [
    ([{"op": "cache_write", "compute": "z"}], "compute 'z' has no reduction axes"),
    ([{"op": "cache_write", "compute": "y"}], "no output loop of compute 'y' is inside all of its reduction loops"),
    ([{"op": "reorder", "compute": "y", "order": ["i0", "r0", "i1"]},
      {"op": "parallel", "compute": "y", "axis": "i1"}, {"op": "cache_write", "compute": "y"}],
     "must be the outermost loop"),
    ([{"op": "split", "compute": "y", "axis": "r0", "factor": 2, "outer": "ro", "inner": "ri"},
      {"op": "reorder", "compute": "y", "order": ["ro", "i1", "ri"]}, {"op": "cache_write", "compute": "y"}],
     "no output loop of compute 'y' is inside all of its reduction loops"),
])
def test_cache_write_says_why_it_cannot_apply(records, message):
    module = matmul(3, 5, 16, Schedule.from_json(records))
    with pytest.raises(descend.DiagnosticError, match=message):
        lowered(module)


def test_a_blocked_reduction_makes_partial_tiles():
    s = Schedule()
    s.split("y", "r0", 2, "ko", "ki")
    s.split("y", "i1", 8, "jo", "ji")
    s.reorder("y", "i0", "ko", "jo", "ki", "ji")
    s.vectorize("y", "ji")
    s.cache_write("y")
    loop = assert_same_as_te(matmul(3, 5, 16, s), inputs_for(3, 5, 16, 4))
    mm = next(op for op in loop.walk() if op.name == "func.func" and op.sym_name.value == "mm")
    loads_of_y = [op for op in mm.walk() if op.name == "loop.vload" and op.memref.name_hint == "y"]
    assert loads_of_y  # each tile resumes the partial sum in the output


def test_a_tile_too_big_for_registers_is_refused():
    with pytest.raises(ScheduleError, match="at most 2048 fit in registers"):
        loop_nest("y", (64, 64), (8,), Schedule.from_json([
            {"op": "reorder", "compute": "y", "order": ["r0", "i0", "i1"]},
            {"op": "cache_write", "compute": "y"}]).records)


@st.composite
def tiles(draw):
    """A matmul and a hand-written register-tile schedule, tails (guards) included."""
    m, k, n = draw(st.integers(1, 7)), draw(st.integers(1, 6)), draw(st.integers(1, 20))
    s = Schedule()
    s.split("y", "i1", draw(st.integers(1, 8)), "jo", "ji")
    s.split("y", "i0", draw(st.integers(1, 4)), "io", "ii")
    if draw(st.booleans()):  # a blocked reduction: partial tiles
        s.split("y", "r0", draw(st.integers(1, 4)), "ko", "ki")
        s.reorder("y", "io", "ko", "jo", "ki", "ii", "ji")
    else:
        s.reorder("y", "io", "jo", "r0", "ii", "ji")
    if draw(st.booleans()):
        s.unroll("y", "ii")
    if draw(st.booleans()):
        s.vectorize("y", "ji")
    if draw(st.booleans()):
        s.parallel("y", "io")
    s.cache_write("y")
    return m, k, n, s


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiles(), st.integers(0, 100))
def test_any_register_tile_preserves_results(tile, seed):
    m, k, n, s = tile
    assert_same_as_te(matmul(m, k, n, s), inputs_for(m, k, n, seed))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 9), st.integers(1, 6), st.sampled_from([4, 8, 12, 16, 24, 32]),
       st.sampled_from([16, 32, 64]), st.integers(0, 100))
def test_default_micro_kernel_preserves_results(m, k, n, vector_bytes, seed):
    assert_same_as_te(matmul(m, k, n), inputs_for(m, k, n, seed), vector_bytes)


# ---- the default schedule's choices --------------------------------------------------------

def kernel_of(module):
    return next(op for op in module.walk() if isinstance(op, KernelOp))


def test_default_schedule_blocks_a_matmul_for_the_target():
    wide = default_schedule(kernel_of(matmul(12, 9, 64)), vector_bytes=32)
    ops = [r.op for r in wide.records]
    assert "cache_write" in ops and "vectorize" in ops
    vector = next(r for r in wide.records if r.op == "split" and r.inner == "v.i.i")
    assert vector.factor == 8  # AVX2: 8 floats
    avx512 = default_schedule(kernel_of(matmul(12, 9, 64)), vector_bytes=64)
    assert next(r for r in avx512.records if r.op == "split" and r.inner == "v.i.i").factor == 16
    # no output axis divides into vectors of 4 or more lanes: the plain default
    plain = default_schedule(kernel_of(matmul(5, 7, 6)), vector_bytes=32)
    assert "cache_write" not in [r.op for r in plain.records]


def test_access_analysis_sees_contiguous_invariant_and_gathered_reads():
    compute = kernel_of(matmul(4, 3, 8)).computes()[0]
    x, w = buffer_reads(compute, {})
    assert (classify(x, "i1"), classify(w, "i1")) == ("invariant", "contiguous")
    assert (classify(x, "i0"), classify(w, "i0")) == ("gather", "invariant")


def conv_model(channels=8, size=6, kernel=3, pads=1, group=1, seed=0):
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.standard_normal((channels, channels // group, kernel, kernel)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[pads] * 4, group=group),
             helper.make_node("Relu", ["y"], ["z"])]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_conv_packs_weights_once_and_fuses_bias_and_relu_into_its_tile():
    model = conv_model(channels=12)  # not whole blocks of 8: the convolution stays NCHW
    te = driver.lower(model, stop_after="te")
    kernel = kernel_of(te)
    packed = [v for v in kernel.inputs if v.name_hint and v.name_hint.endswith(".packed")]
    assert [v.type.shape for v in packed] == [(12, 3, 3, 12)]  # [c, kh, kw, m]: folded at compile time
    schedule = default_schedule(kernel, vector_bytes=32)
    assert any(r.op == "fuse" and r.fused.startswith("rows") for r in schedule.records)  # (oh, ow) rows
    loop = driver.lower(model, stop_after="loop")
    conv = [op for op in loop.walk() if op.name == "func.func" and op.sym_name.value != "main"][0]
    allocs = [op.memref.type.shape for op in conv.walk() if op.name == "loop.alloc"]
    assert allocs == [(1, 12, 8, 8)]  # the zero-padded input only: no buffer for the convolution


def test_blocked_conv_vectorises_output_channels_with_positions_as_rows():
    """8 channels: nchwc-layout blocks the convolution; its weights arrive re-laid out
    (OIHW8o, folded when the model compiles), the tile's vectors are the 8 output channels
    of a block and its rows the fused output positions."""
    model = conv_model(channels=8)
    te = driver.lower(model, stop_after="te")
    conv = next(k for k in te.walk() if k.name == "te.kernel"
                and any(c.output.name_hint == "y" for c in k.computes()))
    assert [v.type.shape for v in conv.inputs] == [(1, 1, 6, 6, 8), (1, 8, 3, 3, 8), (8,)]  # x, w, bias
    schedule = default_schedule(conv, vector_bytes=32)
    assert any(r.op == "fuse" and r.fused.startswith("rows") for r in schedule.records)
    assert any(r.op == "vectorize" for r in schedule.records)
    loop = driver.lower(model, stop_after="loop")
    func = next(op for op in loop.walk() if op.name == "func.func" and op.sym_name.value == "y")
    assert [op.memref.type.shape for op in func.walk() if op.name == "loop.alloc"] == [(1, 1, 8, 8, 8)]


def test_blocked_conv_tiles_several_channel_blocks():
    """16 output channels are two blocks of 8: the tile takes both (the activation broadcast
    once serves two weight vectors) and 6 output positions, 12 accumulators."""
    te = driver.lower(conv_model(channels=16), stop_after="te")
    conv = next(k for k in te.walk() if k.name == "te.kernel"
                and any(c.output.name_hint == "y" for c in k.computes()))
    n = next(k for k, c in enumerate(conv.computes()) if c.is_reduction)
    schedule = default_schedule(conv, vector_bytes=32)
    splits = [(r.axis, r.factor) for r in schedule.records if r.op == "split" and r.compute == n]
    assert ("i1", 2) in splits and ("rows0", 6) in splits
    model = conv_model(channels=16)
    x = np.random.default_rng(4).standard_normal((1, 16, 6, 6)).astype(np.float32)
    want = descend.interpret(driver.load_module(model), "main", [x])[0]
    np.testing.assert_allclose(descend.compile(model).run([x])[0], want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("group, pads, size", [(1, 1, 6), (1, 0, 8), (8, 1, 8), (2, 1, 5)])
def test_compiled_convolutions_match_onnxruntime(group, pads, size):
    ort = pytest.importorskip("onnxruntime")
    model = conv_model(size=size, pads=pads, group=group)
    x = np.random.default_rng(1).standard_normal((1, 8, size, size)).astype(np.float32)
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    compiled = descend.compile(model, threads=2)
    np.testing.assert_allclose(compiled.run([x])[0], expected, rtol=1e-4, atol=1e-4)


# ---- te-fold-constants -----------------------------------------------------------------------

FOLD = """
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %y = te.kernel "k"(%x, %w) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x2xf32> {
  ^bb0(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>):
    %t = te.compute(%b) : (tensor<2x3xf32>) -> tensor<3x2xf32> {
    ^bb0(%i: index, %j: index):
      %0 = te.read %b[%j, %i] : tensor<2x3xf32>
      te.yield %0 : f32
    }
    %big = te.compute(%b) : (tensor<2x3xf32>) -> tensor<4x3xf32> {
    ^bb0(%i: index, %j: index):
      %c0 = arith.constant 0 : index
      %0 = te.read %b[%c0, %j] : tensor<2x3xf32>
      te.yield %0 : f32
    }
    %y = te.compute(%a, %t, %big) {combiner = "sum", reduce = array<i64: 3>} : (tensor<2x3xf32>, tensor<3x2xf32>, tensor<4x3xf32>) -> tensor<2x2xf32> {
    ^bb0(%i: index, %j: index, %k: index):
      %0 = te.read %a[%i, %k] : tensor<2x3xf32>
      %1 = te.read %t[%k, %j] : tensor<3x2xf32>
      %2 = te.read %big[%i, %k] : tensor<4x3xf32>
      %3 = arith.mulf %0, %1 : f32
      %4 = arith.addf %3, %2 : f32
      te.yield %4 : f32
    }
    te.return %y : tensor<2x2xf32>
  }
  return %y : tensor<2x2xf32>
}
"""


def test_te_fold_constants_packs_a_constant_transpose_but_not_a_broadcast():
    module = descend.parse(FOLD)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    expected = interpret(module, "main", [x])
    PassManager.parse("builtin.module(func.func(te-fold-constants))").run(module)
    kernel = kernel_of(module)
    assert len(kernel.computes()) == 2  # %t folded; %big (larger than what it reads) kept
    assert [v.type.shape for v in kernel.inputs] == [(2, 3), (2, 3), (3, 2)]
    np.testing.assert_allclose(interpret(module, "main", [x])[0], expected[0])


# ---- the target -------------------------------------------------------------------------------

@pytest.mark.parametrize("features, expected", [("+avx512f,+avx2,+avx", 64), ("+avx2,-avx512f,+avx", 32),
                                                ("+sse4.2", 16), ("", 16), ("-avx2,+neon", 16)])
def test_target_vector_width_from_its_features(features, expected):
    assert Target("x86_64-unknown-linux-gnu", "x", features).vector_bytes == expected


def test_the_pipeline_names_the_vector_width():
    assert "lower-te-to-loop{vector-bytes=64}" in driver.pipeline(3, "loop", 64)
    assert "nchwc-layout{block=16}" in driver.pipeline(3, "loop", 64)  # 16 f32 lanes
    assert "nchwc-layout{block=8}" in driver.pipeline(3, "graph", 32)


def test_disabled_passes_leave_optimisations_out_and_refuse_lowerings():
    text = driver.pipeline(3, "llvm", 32, ["nchwc-layout", "loop-flatten-buffers", "te-pack-layouts",
                                           "te-fold-constants"])
    assert "nchwc-layout" not in text and "loop-flatten-buffers" not in text and "te-pack" not in text
    assert "lower-graph-to-te,lower-te-to-loop" in text and text.endswith("lower-loop-to-llvm)")
    with pytest.raises(ValueError, match="cannot disable lower-loop-to-llvm"):
        driver.pipeline(3, "llvm", 32, ["lower-loop-to-llvm"])


@pytest.mark.parametrize("stride, size, copied", [(2, 16, False), (1, 8, True)])
def test_a_depthwise_window_reads_its_padding_through_when_the_copy_costs_more(stride, size, copied):
    """A stride-2 depthwise convolution reads each input element about once: copying the
    padded input would be four times its output, so the default schedule reads through
    the padding (bounds tested) instead; a small stride-1 one keeps the copy (in cache)."""
    rng = np.random.default_rng(5)
    w = numpy_helper.from_array(rng.standard_normal((16, 1, 3, 3)).astype(np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1] * 4, group=16, strides=[stride] * 2)
    graph = helper.make_graph([node], "dw", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    loop = driver.lower(model, stop_after="loop")
    conv = next(op for op in loop.walk() if op.name == "func.func" and op.sym_name.value == "y")
    padded = [op.memref.type.shape for op in conv.walk() if op.name == "loop.alloc"]
    assert padded == ([(1, 2, size + 2, size + 2, 8)] if copied else [])
    assert [op for op in conv.walk() if op.name == "math.fma"]  # vectors of channels either way
    x = rng.standard_normal((1, 16, size, size)).astype(np.float32)
    want = descend.interpret(driver.load_module(model), "main", [x])[0]
    np.testing.assert_allclose(descend.compile(model).run([x])[0], want, rtol=1e-4, atol=1e-4)
