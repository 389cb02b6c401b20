"""compute_at and cache_read: the records (JSON and #te.schedule round trips), the region
each stage holds (affine reads, split tails, windows), every refusal's message, and the
property that any placement of the producer or of a copy inside any split / reorder / fuse
of its consumer computes what te's reference semantics say (loop interpreter, random
shapes with hypothesis; a few through the JIT)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend
from descend.dialects.te import KernelOp
from descend.ir import DiagnosticError
from descend.ir.interpreter import interpret
from descend.lowering.schedule import (CacheRead, ComputeAt, Schedule, ScheduleError, loop_nest,
                                       record_from_json)
from descend.lowering.te_to_loop import run_loop_function
from descend.rewrites import PassManager
from descend.testing.equivalence import first_difference

# y[i, j] = sum over (k, c) of p[i + k, c] * w[k, c, j], plus p[i, c]: a window of p's rows
# (a 1-D convolution) and a second read at a constant offset. p is elementwise (x*2) or a
# box filter over x's columns (a reduction).
KERNEL = """
func.func @main(%a: tensor<HxXxf32>, %b: tensor<KxCxNxf32>) -> tensor<MxNxf32> {
  %r = te.kernel "conv"(%a, %b) : (tensor<HxXxf32>, tensor<KxCxNxf32>) -> tensor<MxNxf32> {
  ^bb0(%x: tensor<HxXxf32>, %w: tensor<KxCxNxf32>):
    PRODUCER
    %y = te.compute(%p, %w) {combiner = "sum", reduce = array<i64: K, C>} : (tensor<HxCxf32>, tensor<KxCxNxf32>) -> tensor<MxNxf32> {
    ^bb0(%i: index, %j: index, %k: index, %c: index):
      %at = arith.addi %i, %k : index
      %0 = te.read %p[%at, %c] : tensor<HxCxf32>
      %1 = te.read %w[%k, %c, %j] : tensor<KxCxNxf32>
      %2 = arith.mulf %0, %1 : f32
      %3 = te.read %p[%i, %c] : tensor<HxCxf32>
      %4 = arith.addf %2, %3 : f32
      te.yield %4 : f32
    }
    te.return %y : tensor<MxNxf32>
  }
  return %r : tensor<MxNxf32>
}
"""

ELEMENTWISE = """%p = te.compute(%x) : (tensor<HxXxf32>) -> tensor<HxCxf32> {
    ^bb0(%i: index, %c: index):
      %0 = te.read %x[%i, %c] : tensor<HxXxf32>
      %two = arith.constant 2.0 : f32
      %1 = arith.mulf %0, %two : f32
      te.yield %1 : f32
    }"""

BOX_FILTER = """%p = te.compute(%x) {combiner = "sum", reduce = array<i64: R>} : (tensor<HxXxf32>) -> tensor<HxCxf32> {
    ^bb0(%i: index, %c: index, %s: index):
      %at = arith.addi %c, %s : index
      %0 = te.read %x[%i, %at] : tensor<HxXxf32>
      te.yield %0 : f32
    }"""


def conv(m=3, n=4, k=2, c=3, r=1, reduction=False, schedule: Schedule | None = None, edit=None):
    """The kernel's module for output m x n, window k, c channels (x has c + r - 1 columns)."""
    text = KERNEL.replace("PRODUCER", BOX_FILTER if reduction else ELEMENTWISE)
    if edit is not None:
        text = edit(text)
    h, x = m + k - 1, c + r - 1
    text = (text.replace("HxX", f"{h}x{x}").replace("HxC", f"{h}x{c}").replace("KxCxN", f"{k}x{c}x{n}")
            .replace("MxN", f"{m}x{n}").replace("array<i64: K, C>", f"array<i64: {k}, {c}>")
            .replace("array<i64: R>", f"array<i64: {r}>"))
    module = descend.parse(text)
    if schedule is not None:
        kernel = next(op for op in module.walk() if isinstance(op, KernelOp))
        kernel.properties["schedule"] = schedule.to_attr()
    return module


def inputs_for(module, seed=0):
    main = next(op for op in module.walk() if op.name == "func.func" and op.sym_name.value == "main")
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, tuple(t.shape)).astype(np.float32) for t in main.function_type.type.inputs]


def lower(module, passes: str = ""):
    out = descend.parse(str(module))
    PassManager.parse("builtin.module(lower-te-to-loop" + (f",func.func({passes})" if passes else "") + ")").run(out)
    return out


def assert_same_as_te(module, seed=0, passes: str = ""):
    inputs = inputs_for(module, seed)
    expected = interpret(module, "main", inputs)
    loop = lower(module, passes)
    actual = run_loop_function(loop, inputs)
    problem = first_difference([np.asarray(e) for e in expected], actual, 1e-4, 1e-5)
    assert problem is None, f"{problem}\n--- loop ---\n{loop}"
    return loop


def ops_named(module, name):
    return [op for op in module.walk() if op.name == name]


def kernel_function(module):
    return next(op for op in module.walk() if op.name == "func.func" and op.sym_name.value == "conv")


# ---- records -------------------------------------------------------------------------------

def test_records_round_trip_through_json_and_the_attribute():
    s = Schedule()
    s.split("y", "i0", 2, "io", "ii")
    s.compute_at("p", "y", "io")
    s.cache_read("w", "y", "i1")
    s.cache_read(0, 1, "ii")
    assert s.records[1] == ComputeAt("p", "y", "io")
    assert s.records[2] == CacheRead("y", "w", "i1")
    assert Schedule.from_json(s.to_json()) == s
    assert Schedule.from_attr(s.to_attr()) == s
    assert '{"op": "compute_at", "compute": "p", "consumer": "y", "axis": "io"}' in s.to_json()
    assert '{"op": "cache_read", "compute": "y", "tensor": "w", "axis": "i1"}' in s.to_json()
    module = conv(schedule=Schedule(s.records[:3]))
    again = next(op for op in descend.parse(str(module)).walk() if isinstance(op, KernelOp))
    assert Schedule.of_kernel(again) == Schedule(s.records[:3])


@pytest.mark.parametrize("data, message", [
    ({"op": "compute_at", "compute": "p", "axis": "i0"}, "missing field 'consumer'"),
    ({"op": "compute_at", "compute": "p", "consumer": ["y"], "axis": "i0"}, "field 'consumer' has the wrong type"),
    ({"op": "cache_read", "compute": "y", "tensor": True, "axis": "i0"}, "field 'tensor' has the wrong type"),
    ({"op": "cache_read", "compute": "y", "tensor": "w", "axis": 3}, "field 'axis' has the wrong type"),
])
def test_malformed_records_are_refused(data, message):
    with pytest.raises(ScheduleError, match=message):
        record_from_json(data)


# ---- the loops they make -------------------------------------------------------------------

def test_compute_at_an_output_row_computes_the_window_of_rows_it_reads():
    s = Schedule()
    s.compute_at("p", "y", "i0")
    loop = assert_same_as_te(conv(m=4, n=3, k=3, c=2, schedule=s))
    fn = kernel_function(loop)
    allocas = ops_named(fn, "loop.alloca")
    assert [str(a.memref.type) for a in allocas] == ["memref<3x2xf32>"]  # rows i..i+2, both channels
    assert not ops_named(fn, "loop.alloc")  # p has no buffer of its own
    assert allocas[0].parent_op.name == "loop.for"


def test_the_nest_lists_its_stages_and_their_regions():
    s = Schedule()
    s.split("y", "i0", 2, "io", "ii")
    s.compute_at("p", "y", "io")
    s.cache_read("w", "y", "i1")
    kernel = next(op for op in conv(m=4, schedule=s).walk() if isinstance(op, KernelOp))
    nests = s.validate(kernel)
    y = next(nest for nest in nests.values() if nest.compute == "y")
    assert str(y).splitlines()[:5] == ["for io in 0..2", "  compute_at p[io*2 + 0..3, 0 + 0..3]",
                                       "  for ii in 0..2", "    for i1 in 0..4",
                                       "      cache_read w[0 + 0..2, 0 + 0..3, i1 + 0..1]"]


def test_cache_read_copies_the_weights_one_output_column_reads():
    s = Schedule()
    s.cache_read("w", "y", "i1")
    loop = assert_same_as_te(conv(m=3, n=4, k=2, c=3, schedule=s))
    allocas = ops_named(kernel_function(loop), "loop.alloca")
    assert [str(a.memref.type) for a in allocas] == ["memref<2x3x1xf32>"]


def test_a_split_tail_guards_the_region_at_the_tensors_end():
    s = Schedule()
    s.split("y", "i0", 3, "io", "ii")   # 5 rows: the last block has 2
    s.compute_at("p", "y", "io")
    s.cache_read("w", "y", "io")
    loop = assert_same_as_te(conv(m=5, n=2, k=2, c=2, schedule=s))
    fn = kernel_function(loop)
    assert sorted(str(a.memref.type) for a in ops_named(fn, "loop.alloca")) == ["memref<2x2x2xf32>",
                                                                                 "memref<4x2xf32>"]
    assert len(ops_named(fn, "loop.if")) == 2  # the stage's guard and the consumer's


def test_a_reduction_producer_carries_its_sum_inside_the_stage():
    s = Schedule()
    s.compute_at("p", "y", "i1")
    loop = assert_same_as_te(conv(m=3, n=3, k=2, c=2, r=3, reduction=True, schedule=s))
    fn = kernel_function(loop)
    assert sum(bool(op.results) for op in ops_named(fn, "loop.for")) == 3  # y's r0, r1 and p's r0


def test_cache_read_of_a_materialised_compute():
    s = Schedule()
    s.cache_read("p", "y", "i0")
    loop = assert_same_as_te(conv(m=3, n=2, k=2, c=2, schedule=s))
    assert [str(a.memref.type) for a in ops_named(kernel_function(loop), "loop.alloca")] == ["memref<2x2xf32>"]


def test_stages_inside_a_cache_write_nest_and_a_parallel_loop():
    s = Schedule()
    s.split("y", "i0", 2, "io", "ii")
    s.reorder("y", "io", "r0", "r1", "ii", "i1")
    s.cache_write("y")
    s.parallel("y", "io")
    s.compute_at("p", "y", "r0")
    s.cache_read("w", "y", "io")
    assert_same_as_te(conv(m=4, n=3, k=2, c=3, schedule=s))


def test_local_reads_index_by_the_inner_loops_so_a_copied_panel_vectorizes():
    # the copy's index is (j.outer*4 + j.inner) - j.outer*4, emitted as j.inner: loop-vectorize
    # sees the lanes contiguous in the copy as they were in %w
    s = Schedule()
    s.split("y", "i1", 4, "jo", "ji")
    s.reorder("y", "jo", "i0", "r0", "r1", "ji")
    s.vectorize("y", "ji")
    s.cache_write("y")
    s.cache_read("w", "y", "jo")
    s.compute_at("p", "y", "i0")
    loop = assert_same_as_te(conv(m=3, n=8, k=2, c=3, schedule=s),
                             passes="loop-unroll,loop-simplify,loop-vectorize,loop-simplify")
    fn = kernel_function(loop)
    cache = next(a.memref for a in ops_named(fn, "loop.alloca") if a.memref.name_hint == "w_cache")
    assert any(op.operands[0] is cache for op in ops_named(fn, "loop.vload"))
    assert not ops_named(fn, "arith.subi")


@pytest.mark.parametrize("axis, shape", [("outer1", (1, 8, 3, 8)), ("r0", (1, 1, 3, 8))])
def test_the_padding_of_a_default_scheduled_convolution_computed_at_its_row_blocks(axis, shape):
    """The default schedule's conv micro-kernel blocks its fused output rows and columns; the
    zero-padding compute it keeps materialised can be computed per block instead (its box:
    the block's one output row plus the window's two, all padded columns; one input channel
    at r0)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    from descend.lowering import driver
    from descend.lowering.default_schedule import default_schedule
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((8, 8, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1] * 4)], "conv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    te = driver.lower(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), stop_after="te",
                      disabled_passes=["nchwc-layout"])  # the NCHW convolution's schedule
    kernel = next(op for op in te.walk() if isinstance(op, KernelOp) and any(c.is_reduction for c in op.computes()))
    schedule = default_schedule(kernel)
    pad, conv_ = kernel.computes()[0], kernel.computes()[1]
    assert not pad.is_reduction and conv_.is_reduction
    assert axis in [loop.name for loop in schedule.validate(kernel)[conv_].loops]
    schedule.compute_at(0, 1, axis)
    kernel.properties["schedule"] = schedule.to_attr()
    x = rng.standard_normal((1, 8, 6, 6)).astype(np.float32)
    expected = interpret(te, "main", [x])
    loop = lower(te, "loop-unroll,loop-simplify,loop-vectorize,loop-simplify,loop-hoist-invariants")
    problem = first_difference([np.asarray(e) for e in expected], run_loop_function(loop, [x]), 1e-4, 1e-4)
    assert problem is None, problem
    local = [a for a in ops_named(loop, "loop.alloca") if a.memref.name_hint.endswith("_local")]
    assert [tuple(a.memref.type.shape) for a in local] == [shape]


# ---- refusals ------------------------------------------------------------------------------

def _refused(module, message):
    with pytest.raises(DiagnosticError, match=message):
        lower(module)


def at(axis="i0", consumer="y", producer="p", *more):
    s = Schedule(list(more))
    s.compute_at(producer, consumer, axis)
    return s


def test_compute_at_refuses_an_unknown_consumer_or_axis_or_itself():
    _refused(conv(schedule=at(consumer="q")), r"compute_at: compute 'p' is to be computed at 'q', which is "
                                              r"not a compute of te.kernel \"conv\"")
    _refused(conv(schedule=at(axis="jj")), r"compute_at: axis 'jj' is not a loop of compute 'y' "
                                           r"\(loops: i0, i1, r0, r1\)")
    _refused(conv(schedule=at(consumer="p")), "compute_at: compute 'p' cannot be computed at its own loops")


def test_the_producers_own_records_schedule_its_loops_over_the_region():
    s = Schedule()
    s.split("y", "i0", 3, "io", "ii")
    s.compute_at("p", "y", "io")       # p's region: 3 + 2 - 1 = 4 rows by 5 columns
    s.split("p", "i1", 2, "co", "ci")  # a tail: 5 columns in blocks of 2
    s.reorder("p", "co", "i0", "ci")
    s.unroll("p", "ci")
    loop = assert_same_as_te(conv(m=5, n=2, k=2, c=5, r=2, reduction=True, schedule=s), passes="loop-unroll")
    assert [str(a.memref.type) for a in ops_named(kernel_function(loop), "loop.alloca")] == ["memref<4x5xf32>"]
    s = Schedule()
    s.compute_at("p", "y", "i0")
    s.vectorize("p", "i1")
    loop = assert_same_as_te(conv(m=3, n=2, k=2, c=8, schedule=s), passes="loop-vectorize")
    assert ops_named(kernel_function(loop), "loop.vstore")
    s = Schedule()
    s.split("y", "i0", 2, "io", "ii")
    s.compute_at("p", "y", "io")
    s.reorder("p", "i0", "r0", "i1")
    s.cache_write("p")  # the box filter accumulates a row of the region in a tile
    loop = assert_same_as_te(conv(m=3, n=2, k=2, c=4, r=3, reduction=True, schedule=s))
    assert sorted(str(a.memref.type) for a in ops_named(kernel_function(loop), "loop.alloca")) == [
        "memref<3x4xf32>", "memref<4xf32>"]


def test_compute_at_refuses_producer_records_that_cannot_run_inside_the_consumer():
    s = at()
    s.parallel("p", "i0")
    _refused(conv(schedule=s), "compute_at: compute 'p' is computed at 'y', inside its loop 'i0'; its own "
                               "loops take no parallel")
    s = at()
    s.cache_read("x", "p", "i0")
    _refused(conv(schedule=s), "compute_at: compute 'p' is computed at 'y', inside its loop 'i0'; its own "
                               "loops take no cache_read")
    s = at()
    s.compute_at("p", "y", "i1")
    _refused(conv(schedule=s), "compute_at: compute 'p' is computed at 'y' and at 'y'; it can be computed at "
                               "one place")
    s = at()
    s.split("p", "i7", 2)
    _refused(conv(schedule=s), r"split: axis 'i7' is not an axis of compute 'p' \(axes: i0, i1\)")


def test_compute_at_refuses_a_vectorized_or_tile_axis():
    s = Schedule()
    s.reorder("y", "i0", "r0", "r1", "i1")
    s.vectorize("y", "i1")
    s.compute_at("p", "y", "i1")
    _refused(conv(schedule=s), "compute_at: axis 'i1' of compute 'y' is vectorized: its iterations are "
                               "vector lanes, so compute 'p' cannot be made inside it")
    s = Schedule()
    s.reorder("y", "r0", "r1", "i0", "i1")
    s.cache_write("y")
    s.cache_read("w", "y", "i0")
    _refused(conv(schedule=s), "cache_read: axis 'i0' of compute 'y' is a loop of its cache_write tile; the "
                               "copy of 'w' must be made outside the tile's loops")


TWO_READERS = """
func.func @main(%a: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %r:2 = te.kernel "two"(%a) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%x: tensor<4xf32>):
    %p = te.compute(%x) : (tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%i: index):
      %0 = te.read %x[%i] : tensor<4xf32>
      %1 = math.exp %0 : f32
      te.yield %1 : f32
    }
    %q = te.compute(%p) : (tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%i: index):
      %0 = te.read %p[%i] : tensor<4xf32>
      %1 = arith.addf %0, %0 : f32
      te.yield %1 : f32
    }
    %y = te.compute(%p, %q) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%i: index):
      %0 = te.read %p[%i] : tensor<4xf32>
      %1 = te.read %q[%i] : tensor<4xf32>
      %2 = arith.mulf %0, %1 : f32
      te.yield %2 : f32
    }
    %z = te.compute(%y) : (tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%i: index):
      %0 = te.read %y[%i] : tensor<4xf32>
      %1 = math.tanh %0 : f32
      te.yield %1 : f32
    }
    te.return %z, %p : tensor<4xf32>, tensor<4xf32>
  }
  return %r#0, %r#1 : tensor<4xf32>, tensor<4xf32>
}
"""


def two(schedule: Schedule):
    module = descend.parse(TWO_READERS)
    next(op for op in module.walk() if isinstance(op, KernelOp)).properties["schedule"] = schedule.to_attr()
    return module


def test_compute_at_refuses_a_returned_producer_two_consumers_an_inlined_consumer_and_chains():
    _refused(two(at(producer="p", consumer="y")), "compute_at: compute 'p' is a result of the te.kernel; "
                                                  "computed at 'y' it would have no buffer to return")
    _refused(two(at(producer="q", consumer="z")), "compute_at: compute 'q' is read by 'y'; it can be "
                                                  "computed at 'z' only when 'z' is its one consumer")
    s = at(producer="y", consumer="z")
    s.compute_at("q", "y", "i0")
    _refused(two(s), r"compute_at: compute 'y' is itself computed at 'z'; 'q' cannot be computed at it "
                     r"\(chains of compute_at are not supported\)")
    s = at(producer="q", consumer="y")
    s.compute_inline("y")
    _refused(two(s), "compute_at: compute 'y' is inlined, so it has no loop 'i0' to compute 'q' at")
    s = at(producer="q", consumer="y")
    assert_same_as_te(two(s))  # what is allowed here works
    s = Schedule()
    s.compute_inline("q")
    s.compute_at("q", "y", "i0")
    _refused(two(s), "compute_inline: compute 'q' is inlined, so it has no loops to compute_at")


def _index(lines):
    return lambda text: text.replace("      %at = arith.addi %i, %k : index\n", lines)


@pytest.mark.parametrize("lines, message", [
    ("      %c2 = arith.constant 2 : index\n      %at = arith.divui %i, %c2 : index\n",
     r"compute_at: compute 'y' reads 'p' at an index \(#0\) that is not an affine function of its axes, "
     r"so the region it reads inside loop 'i0' cannot be inferred"),
    ("      %h = arith.constant 1 : index\n      %at = arith.subi %h, %k : index\n",
     r"compute_at: compute 'y' reads 'p' at an index \(#0\) that goes down as axis r0 goes up; only "
     r"non-negative strides are supported"),
    ("      %m1 = arith.constant -1 : index\n      %at0 = arith.addi %i, %k : index\n"
     "      %at = arith.addi %at0, %m1 : index\n",
     r"compute_at: compute 'y' reads 'p' along dimension 0 at a negative offset \(-1\) from the loops' "
     r"base inside loop 'i0'"),
])
def test_compute_at_refuses_reads_it_cannot_bound(lines, message):
    s = Schedule()
    s.split("y", "i1", 2, "jo", "ji")
    s.reorder("y", "jo", "i0", "ji")
    s.compute_at("p", "y", "i0")
    _refused(conv(m=2, n=2, k=2, c=2, schedule=s, edit=_index(lines)), message)


def test_a_split_of_a_fused_loop_gets_a_box_holding_its_division():
    s = Schedule()
    f = s.fuse("y", "i0", "i1", "f")
    s.split("y", f, 3, "fo", "fi")
    s.compute_at("p", "y", "fo")
    # i0 = (fo*3 + fi) floordiv 4 spans at most 2 rows, the window 2 more: 3 rows of p
    loop = assert_same_as_te(conv(m=3, n=4, k=2, c=2, schedule=s))
    assert [str(a.memref.type) for a in ops_named(kernel_function(loop), "loop.alloca")] == ["memref<3x2xf32>"]
    s = Schedule()
    f = s.fuse("y", "i0", "i1", "f")
    s.split("y", f, 4, "fo", "fi")
    s.compute_at("p", "y", "fo")
    # blocks of whole rows: i0 = (fo*4 + fi) floordiv 4 is fo exactly, the window 1 more row
    loop = assert_same_as_te(conv(m=3, n=4, k=2, c=2, schedule=s))
    assert [str(a.memref.type) for a in ops_named(kernel_function(loop), "loop.alloca")] == ["memref<2x2xf32>"]
    s = Schedule()
    s.fuse("y", "i0", "i1", "f")
    s.compute_at("p", "y", "f")  # the fused loop itself: a division of an outer loop only
    assert_same_as_te(conv(m=3, n=4, schedule=s))


def test_a_region_too_large_for_the_stack_is_refused():
    s = Schedule()
    s.cache_read("w", "y", "i0")
    fits = lower(conv(m=2, n=128, k=2, c=64, schedule=s))  # 65536 bytes: just fits
    assert [str(a.memref.type) for a in ops_named(fits, "loop.alloca")] == ["memref<2x64x128xf32>"]
    _refused(conv(m=2, n=129, k=2, c=64, schedule=s),
             r"cache_read: the region of 'w' that compute 'y' reads inside loop 'i0' holds 16512 elements "
             r"\(66048 bytes\); a local buffer holds at most 65536 bytes \(choose an inner loop\)")


def test_cache_read_refusals():
    s = Schedule()
    s.cache_read("v", "y", "i0")
    _refused(conv(schedule=s), r"cache_read: compute 'y' has no tensor 'v' to cache \(kernel arguments and "
                               r"computes: x, w, 0, 1, p, y\)")
    s = Schedule()
    s.cache_read("x", "y", "i0")
    _refused(conv(schedule=s), "cache_read: compute 'y' does not read 'x'")
    s = Schedule()
    s.cache_read("w", "y", "i0")
    s.cache_read("w", "y", "i1")
    _refused(conv(schedule=s), "cache_read: tensor 'w' is already cached for compute 'y'")
    s = Schedule()
    s.compute_inline("p")
    s.cache_read("p", "y", "i0")
    _refused(conv(schedule=s), "cache_read: compute 'p' is inlined into its readers; it has no buffer for "
                               "compute 'y' to copy")
    s = Schedule()
    s.compute_at("p", "y", "i0")
    s.cache_read("p", "y", "i1")
    _refused(conv(schedule=s), "cache_read: compute 'p' is computed at 'y', already in a local buffer")
    s = Schedule()
    s.cache_read("x", "p", "c")
    _refused(conv(schedule=s), r"cache_read: axis 'c' is not a loop of compute 'p' \(loops: i0, i1\)")


# ---- the property --------------------------------------------------------------------------

@st.composite
def placements(draw):
    """A conv with random shapes, a random split / reorder / fuse of y, and the producer
    computed at (or a tensor cached at) random loops of it."""
    m, n, k, c, r = (draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 3)),
                     draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    reduction = draw(st.booleans())
    s = Schedule()
    nest = loop_nest("y", (m, n), (k, c), [])
    for step in range(draw(st.integers(0, 3))):
        names = [loop.name for loop in nest.loops]
        kind = draw(st.sampled_from(["split", "split", "reorder", "fuse"]))
        candidate = Schedule(list(s.records))
        if kind == "split":
            candidate.split("y", draw(st.sampled_from(names)), draw(st.integers(1, 4)), f"o{step}", f"n{step}")
        elif kind == "reorder":
            candidate.reorder("y", draw(st.permutations(names)))
        else:
            at_ = draw(st.integers(0, len(names) - 2))
            candidate.fuse("y", names[at_], names[at_ + 1], f"f{step}")
        try:
            nest = loop_nest("y", (m, n), (k, c), candidate.records)
        except ScheduleError:
            continue
        s = candidate
    names = [loop.name for loop in nest.loops]
    if draw(st.booleans()) and not nest.loops[0].reduction:
        s.parallel("y", names[0])
    what = draw(st.sampled_from(["compute_at", "cache_read w", "cache_read p", "both"]))
    if what in ("compute_at", "both"):
        s.compute_at("p", "y", draw(st.sampled_from(names)))
        own = draw(st.sampled_from(["none", "split", "reorder", "tile"]))
        if own == "split":
            s.split("p", "i1", draw(st.integers(1, 3)), "co", "ci")
        elif own == "reorder":
            s.reorder("p", "i1", "i0")
        elif own == "tile" and reduction:
            s.reorder("p", "i0", "r0", "i1")
            s.cache_write("p")
    if what in ("cache_read w", "both"):
        s.cache_read("w", "y", draw(st.sampled_from(names)))
    if what == "cache_read p":
        s.cache_read("p", "y", draw(st.sampled_from(names)))
    return conv(m, n, k, c, r, reduction, s)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(placements(), st.integers(0, 100))
def test_any_placement_computes_what_te_says(module, seed):
    assert_same_as_te(module, seed)


# ---- through the JIT -----------------------------------------------------------------------

@pytest.mark.parametrize("reduction", [False, True])
def test_compiled_stages_match_te(reduction):
    native_module = pytest.importorskip("descend.lowering.native")
    s = Schedule()
    s.split("y", "i0", 3, "io", "ii")
    s.reorder("y", "io", "i1", "ii", "r0", "r1")
    s.parallel("y", "io")
    s.compute_at("p", "y", "io")
    s.cache_read("w", "y", "i1")
    module = conv(m=7, n=5, k=3, c=4, r=2, reduction=reduction, schedule=s)
    inputs = inputs_for(module, 3)
    expected = interpret(module, "main", inputs)
    loop = lower(module, "loop-unroll,loop-simplify,loop-vectorize,loop-simplify,loop-hoist-invariants")
    native = native_module.compile_loop_module(loop)
    for threads in (1, 2):
        native.set_num_threads(threads)
        got = native.run(inputs)
        np.testing.assert_allclose(got[0], np.asarray(expected[0]), rtol=1e-5, atol=1e-5)
