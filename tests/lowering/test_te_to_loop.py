"""lower-te-to-loop: random te kernels (elementwise chains, reductions, transposes, several
kernels, weights, returned inputs) compute the same outputs after lowering; schedules
(split with a tail guard, reorder, fuse, parallel, vectorize, unroll, reductions outside
output loops) preserve results and show in the loops; the default schedule's choices; the
destination-passing signature; round trips; located errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend
from descend.dialects import arith
from descend.dialects.func import FuncOp, ReturnOp
from descend.dialects.loop import ForOp, GlobalOp
from descend.dialects.te import KernelOp
from descend.dialects.te.builder import compute, kernel
from descend.dialects.builtin import ModuleOp
from descend.ir import (Builder, DenseElementsAttr, DiagnosticError, FunctionType, TensorType, TypeAttr,
                        f32, i32, verify)
from descend.ir.interpreter import interpret
from descend.lowering.default_schedule import default_schedule
from descend.lowering.schedule import Schedule, ScheduleError, loop_nest
from descend.lowering.te_to_loop import run_loop_function
from descend.rewrites import PassManager
from descend.testing.equivalence import first_difference

LOWER = "builtin.module(lower-te-to-loop)"


def lower(module, pipeline: str = LOWER):
    """A lowered copy of `module` (which is left as it is)."""
    lowered = descend.parse(str(module))
    PassManager.parse(pipeline).run(lowered)
    return lowered


def assert_lowering_preserves(module, inputs, rtol: float = 1e-5, atol: float = 1e-6, pipeline: str = LOWER):
    """Interpret `module` (te level) and its lowering on `inputs`; the lowered @main's outputs
    are the buffers it writes. Returns the lowered module."""
    expected = interpret(module, "main", inputs)
    lowered = lower(module, pipeline)
    verify(lowered)
    actual = run_loop_function(lowered, inputs)
    problem = first_difference([np.asarray(e) for e in expected], actual, rtol, atol)
    assert problem is None, f"{problem}\n--- te ---\n{module}\n--- loop ---\n{lowered}"
    return lowered


def main_function(input_types, build_body):
    """A module whose @main takes `input_types` (arguments %in0, ...) and returns what
    `build_body(builder, args)` gives."""
    func = FuncOp.build(sym_name="main", function_type=FunctionType(list(input_types), []))
    for n, arg in enumerate(func.entry_block.args):
        arg.name_hint = f"in{n}"
    b = Builder.at_end(func.entry_block)
    values = build_body(b, list(func.entry_block.args))
    b.build(ReturnOp, values)
    func.properties["function_type"] = TypeAttr(FunctionType(list(input_types), [v.type for v in values]))
    module = ModuleOp.build()
    module.block.append(func)
    verify(module)
    return module


def ops_named(module, name):
    return [op for op in module.walk() if op.name == name]


# ---- random te programs -------------------------------------------------------------------

FLOAT_UNARY = ("exp", "neg", "relu")
BINARY = ("add", "mul", "sub", "max")
COMBINERS = ("sum", "max", "min", "prod")


def _unary(b, kind, x):
    if kind == "exp":
        return b.math("exp", b.min(x, 4.0))
    if kind == "neg":
        return b.neg(x)
    return b.max(x, 0)


@st.composite
def te_programs(draw):
    """(module, inputs): @main with one or two te.kernels over small tensors (f32 or i32),
    some computes reading others (inlined), a reduction, a transpose, a weight, and
    returned values that include, sometimes, an input and a duplicate."""
    element = draw(st.sampled_from([f32, i32]))
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    steps = draw(st.lists(st.sampled_from(["unary", "binary", "transpose", "reduce"]), min_size=1, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    weight = rng.uniform(-1, 1, shape) if element == f32 else rng.integers(-3, 4, shape)
    weight = weight.astype(np.float32 if element == f32 else np.int32)
    picks = draw(st.lists(st.integers(0, 1000), min_size=20, max_size=20))
    second_kernel = draw(st.booleans())
    return_input = draw(st.booleans())
    return_twice = draw(st.booleans())
    init = draw(st.sampled_from([None, 2]))
    tensor = TensorType(shape, element)

    def pick(n, pool):
        return pool[picks[n % len(picks)] % len(pool)]

    def kernel_body(kb, args):
        values = list(args)
        for n, step in enumerate(steps):
            x = values[-1] if picks[n] % 3 else pick(n + 13, values)  # mostly a chain
            xs = tuple(x.type.shape)
            if step == "unary":
                kinds = FLOAT_UNARY if element == f32 else ("neg", "relu")
                kind = pick(n + 7, list(kinds))
                y = compute(kb, xs, element, [x], lambda b, i, r, reads, kind=kind: _unary(b, kind, reads[0][tuple(i)]),
                            name=f"u{n}")
            elif step == "binary":
                same = [v for v in values if tuple(v.type.shape) == xs]
                other = pick(n + 3, same)
                op = pick(n + 5, list(BINARY))
                y = compute(kb, xs, element, [x, other],
                            lambda b, i, r, reads, op=op: getattr(b, op)(reads[0][tuple(i)], reads[1][tuple(i)]),
                            name=f"b{n}")
            elif step == "transpose":
                y = compute(kb, xs[::-1], element, [x],
                            lambda b, i, r, reads: reads[0][tuple(i[::-1])], name=f"t{n}")
            else:
                if not xs:
                    continue
                combiner = pick(n + 11, list(COMBINERS))
                y = compute(kb, xs[:-1], element, [x],
                            lambda b, i, r, reads: reads[0][(*i, *r)], reduce=(xs[-1],),
                            combiner=combiner, init=init, name=f"r{n}")
            values.append(y)
        return [values[-1], pick(19, values[len(args):] or values)]

    def body(b, args):
        w = b.build(arith.ConstantOp, value=DenseElementsAttr(tensor, weight)).result
        w.name_hint = "w"
        first = kernel(b, "k", [args[0], w], kernel_body)
        results = [first[0]]
        if second_kernel:
            out = first[1]
            results += kernel(b, "k", [out], lambda kb, a: [compute(
                kb, tuple(out.type.shape), element, a,
                lambda bb, i, r, reads: bb.add(reads[0][tuple(i)], reads[0][tuple(i)]), name="twice")])
        if return_input:
            results.append(args[0])
        if return_twice:
            results.append(results[0])
        return results

    module = main_function([tensor], body)
    x = rng.uniform(-1, 1, shape) if element == f32 else rng.integers(-3, 4, shape)
    return module, [x.astype(np.float32 if element == f32 else np.int32)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(te_programs())
def test_lowering_preserves_results(program):
    module, inputs = program
    lowered = assert_lowering_preserves(module, inputs)
    assert not ops_named(lowered, "te.kernel") and not ops_named(lowered, "te.compute")
    assert str(descend.parse(str(lowered))) == str(lowered)


# ---- schedules ----------------------------------------------------------------------------

MATMUL = """
func.func @main(%a: tensor<5x7xf32>, %w: tensor<6x7xf32>) -> tensor<5x6xf32> attributes {onnx.inputs = ["a", "w"], onnx.outputs = ["y"]} {
  %r = te.kernel "mm"(%a, %w) SCHEDULE : (tensor<5x7xf32>, tensor<6x7xf32>) -> tensor<5x6xf32> {
  ^bb0(%x: tensor<5x7xf32>, %v: tensor<6x7xf32>):
    %y = te.compute(%x, %v) {reduce = array<i64: 7>, combiner = "sum", init = 0.5 : f32}
         : (tensor<5x7xf32>, tensor<6x7xf32>) -> tensor<5x6xf32> {
    ^bb0(%i: index, %j: index, %k: index):
      %0 = te.read %x[%i, %k] : tensor<5x7xf32>
      %1 = te.read %v[%j, %k] : tensor<6x7xf32>
      %p = arith.mulf %0, %1 : f32
      te.yield %p : f32
    }
    %z = te.compute(%y) : (tensor<5x6xf32>) -> tensor<5x6xf32> {
    ^bb0(%i: index, %j: index):
      %0 = te.read %y[%i, %j] : tensor<5x6xf32>
      %c = arith.constant 0.0 : f32
      %m = arith.maximumf %0, %c : f32
      te.yield %m : f32
    }
    te.return %z : tensor<5x6xf32>
  }
  func.return %r : tensor<5x6xf32>
}
"""


def matmul(schedule: Schedule | None):
    text = MATMUL.replace("SCHEDULE", "" if schedule is None else f"{{schedule = {schedule.to_attr()}}}")
    return descend.parse(text)


def matmul_inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (5, 7)).astype(np.float32), rng.uniform(-1, 1, (6, 7)).astype(np.float32)]


def kinds(module) -> list[str]:
    return [op.kind.value for op in module.walk() if isinstance(op, ForOp)]


def test_split_with_tail_guard():
    s = Schedule()
    s.split("y", "i0", 2)
    s.split("y", "r0", 3)
    lowered = assert_lowering_preserves(matmul(s), matmul_inputs())
    ifs = ops_named(lowered, "loop.if")
    assert len(ifs) == 2  # one around the output element, one in the reduction (with a result)
    assert sum(len(op.results) for op in ifs) == 1


def test_reorder_fuse_parallel_vectorize_unroll():
    s = Schedule()
    fused = s.fuse("y", "i0", "i1")
    outer, inner = s.split("y", fused, 4)
    s.unroll("y", "r0")
    s.parallel("y", outer)
    s.vectorize("z", "i1")
    lowered = assert_lowering_preserves(matmul(s), matmul_inputs(1))
    assert "parallel" in kinds(lowered) and "vectorized" in kinds(lowered) and "unrolled" in kinds(lowered)
    ops = {op.name for op in lowered.walk()}
    assert {"arith.divui", "arith.remui", "arith.muli", "arith.addi"} <= ops


def test_reduction_outside_an_output_loop_accumulates_in_memory():
    s = Schedule()
    s.reorder("y", "r0", "i1")
    lowered = assert_lowering_preserves(matmul(s), matmul_inputs(2))
    mm = next(op for op in lowered.walk() if isinstance(op, FuncOp) and op.sym_name.value == "mm")
    assert not any(op.results for op in mm.walk() if isinstance(op, ForOp))  # no iter_args
    assert len(ops_named(mm, "loop.alloc")) == 1 and len(ops_named(mm, "loop.dealloc")) == 1


def test_unroll_then_loop_unroll_pass():
    s = Schedule()
    s.split("y", "r0", 4, "ro", "ri")
    s.unroll("y", "ri")
    assert_lowering_preserves(matmul(s), matmul_inputs(3), pipeline="builtin.module(lower-te-to-loop,loop-unroll)")


@st.composite
def schedules(draw):
    """Random valid split / reorder / fuse sequences on the matmul's `y`, then annotations."""
    s = Schedule()
    nest = loop_nest("y", (5, 6), (7,), [])
    for n in range(draw(st.integers(0, 4))):
        names = [loop.name for loop in nest.loops]
        kind = draw(st.sampled_from(["split", "reorder", "fuse"]))
        candidate = Schedule(list(s.records))
        if kind == "split":
            candidate.split("y", draw(st.sampled_from(names)), draw(st.integers(1, 4)), f"o{n}", f"n{n}")
        elif kind == "reorder":
            candidate.reorder("y", draw(st.permutations(names)))
        else:
            at = draw(st.integers(0, max(len(names) - 2, 0)))
            if at + 1 >= len(names):
                continue
            candidate.fuse("y", names[at], names[at + 1], f"f{n}")
        try:
            nest = loop_nest("y", (5, 6), (7,), candidate.records)
        except ScheduleError:
            continue
        s = candidate
    names = [loop.name for loop in nest.loops]
    if draw(st.booleans()) and not nest.loops[0].reduction:
        s.parallel("y", names.pop(0))
    if draw(st.booleans()) and names:
        s.unroll("y", draw(st.sampled_from(names)))
    return s


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(), st.integers(0, 100))
def test_any_schedule_preserves_results(schedule, seed):
    assert_lowering_preserves(matmul(schedule), matmul_inputs(seed), rtol=1e-4, atol=1e-5)


def test_compute_inline_record_and_default_schedule():
    module = matmul(None)
    k = next(op for op in module.walk() if isinstance(op, KernelOp))
    assert default_schedule(k).records == []  # y is a reduction, z is returned
    s = Schedule()
    s.compute_inline("z")
    with pytest.raises(DiagnosticError, match="result of the te.kernel and cannot be inlined"):
        lower(matmul(s))


def test_default_schedule_inlines_producers_and_parallelises_large_outputs():
    big = TensorType((64, 64), f32)

    def body(b, args):
        def chain(kb, a):
            e = compute(kb, (64, 64), f32, a, lambda bb, i, r, reads: bb.math("exp", reads[0][tuple(i)]), name="e")
            return [compute(kb, (64, 64), f32, [e], lambda bb, i, r, reads: bb.add(reads[0][tuple(i)], 1.0), name="o")]
        return kernel(b, "chain", args, chain)
    module = main_function([big], body)
    k = next(op for op in module.walk() if isinstance(op, KernelOp))
    assert Schedule(default_schedule(k).records).to_json() == (
        '[{"op": "compute_inline", "compute": 0}, {"op": "split", "compute": 1, "axis": "i1", "factor": 8, '
        '"outer": "i1.o", "inner": "i1.v"}, {"op": "vectorize", "compute": 1, "axis": "i1.v"}, '
        '{"op": "parallel", "compute": 1, "axis": "i0"}]')
    lowered = lower(module)
    chain = next(op for op in lowered.walk() if isinstance(op, FuncOp) and op.sym_name.value == "chain")
    assert kinds(chain) == ["parallel", "serial", "vectorized"]
    assert not ops_named(chain, "loop.alloc")
    lowered = lower(module, "builtin.module(lower-te-to-loop{parallel-threshold=100000})")
    assert "parallel" not in kinds(lowered)


# ---- the calling convention ---------------------------------------------------------------

def test_destination_passing_signature_and_buffers():
    text = MATMUL.replace("SCHEDULE", "")
    module = descend.parse(text)
    lowered = lower(module)
    main = next(op for op in lowered.walk() if isinstance(op, FuncOp) and op.sym_name.value == "main")
    assert [str(t) for t in main.function_type.type.inputs] == ["memref<5x7xf32>", "memref<6x7xf32>", "memref<5x6xf32>"]
    assert main.function_type.type.results == ()
    assert [a.name_hint for a in main.entry_block.args] == ["a", "w", "y"]
    assert main.attributes["onnx.num_outputs"].value == 1
    assert [a.value for a in main.attributes["onnx.outputs"]] == ["y"]
    mm = next(op for op in lowered.walk() if isinstance(op, FuncOp) and op.sym_name.value == "mm")
    assert mm.sym_visibility.value == "private"
    # the returned compute writes straight into the output: no buffer in @main
    assert not ops_named(main, "loop.alloc")


def test_intermediates_are_freed_after_their_last_use_and_weights_are_globals():
    t = TensorType((3,), f32)

    def body(b, args):
        w = b.build(arith.ConstantOp, value=DenseElementsAttr(t, np.arange(3, dtype=np.float32))).result
        w.name_hint = "w"

        def add(kb, a):
            return [compute(kb, (3,), f32, a, lambda bb, i, r, reads: bb.add(reads[0][tuple(i)], reads[1][tuple(i)]))]
        (s,) = kernel(b, "add", [args[0], w], add)
        (u,) = kernel(b, "add", [s, s], add)
        (v,) = kernel(b, "add", [u, args[0]], add)
        return [v, w]
    module = main_function([t], body)
    lowered = assert_lowering_preserves(module, [np.array([1, 2, 3], np.float32)])
    main = next(op for op in lowered.walk() if isinstance(op, FuncOp) and op.sym_name.value == "main")
    names = [op.name for op in main.entry_block.ops]
    assert names.count("loop.alloc") == 2 and names.count("loop.dealloc") == 2
    calls = [n for n, name in enumerate(names) if name == "func.call"]
    frees = [n for n, name in enumerate(names) if name == "loop.dealloc"]
    assert frees == [calls[1] + 1, calls[2] + 1]
    assert [op.sym_name.value for op in lowered.walk() if isinstance(op, GlobalOp)] == ["w"]
    assert sorted(op.sym_name.value for op in lowered.walk() if isinstance(op, FuncOp)) == \
        ["add", "add_1", "add_2", "main"]


def test_zero_size_and_rank_zero_tensors():
    def body(b, args):
        def total(kb, a):
            return [compute(kb, (), f32, a, lambda bb, i, r, reads: reads[0][(*r,)], reduce=(4,), combiner="max")]
        return kernel(b, "total", args[:1], total) + [args[1]]
    module = main_function([TensorType((4,), f32), TensorType((0, 3), f32)], body)
    assert_lowering_preserves(module, [np.array([1, 5, -2, 3], np.float32), np.zeros((0, 3), np.float32)])


def test_pass_is_idempotent_and_round_trips_generic():
    lowered = lower(matmul(None))
    again = lower(lowered)
    assert str(again) == str(lowered)
    generic = lowered.print(generic=True)
    assert str(descend.parse(generic)) == str(lowered)


# ---- errors -------------------------------------------------------------------------------

def test_bad_schedule_is_a_located_error():
    s = Schedule()
    s.split("y", "i9", 2)
    with pytest.raises(DiagnosticError, match=r"split: axis 'i9' is not an axis of compute 'y'") as info:
        lower(matmul(s))
    assert ":3:" in str(info.value)


def test_unsupported_op_in_a_tensor_function():
    module = descend.parse("""
func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = arith.addf %a, %a : tensor<2xf32>
  func.return %0 : tensor<2xf32>
}""")
    with pytest.raises(DiagnosticError, match="lower-te-to-loop: cannot lower 'arith.addf'"):
        lower(module)


# ---- the whole descent to loops, as an ONNX backend ----------------------------------------

@pytest.mark.parametrize("stage", ["loop", "fused-loop"])
def test_stage_backend_runs_an_onnx_model(stage):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from descend.testing.stage_backends import STAGES
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Relu", ["m"], ["r"]),
         helper.make_node("Add", ["r", "x2"], ["y"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
              helper.make_tensor_value_info("x2", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x, x2 = rng.uniform(-1, 1, (2, 3)).astype(np.float32), rng.uniform(-1, 1, (2, 4)).astype(np.float32)
    (y,) = STAGES[stage].run_model(model, [x, x2])
    np.testing.assert_allclose(y, np.maximum(x @ w, 0) + x2, rtol=1e-5, atol=1e-6)
    assert onnx is not None


def test_half_precision_sums_accumulate_in_f32():
    module = descend.parse(MATMUL.replace("SCHEDULE", "").replace("f32", "f16"))
    lowered = lower(module)
    mm = next(op for op in lowered.walk() if isinstance(op, FuncOp) and op.sym_name.value == "mm")
    assert [op.name for op in mm.walk() if op.name in ("arith.extf", "arith.truncf")] == ["arith.extf", "arith.truncf"]
    x, w = (a.astype(np.float16) for a in matmul_inputs(4))
    (y,) = run_loop_function(lowered, [x, w])
    exact = np.maximum(x.astype(np.float64) @ w.astype(np.float64).T + 0.5, 0)
    np.testing.assert_allclose(y, exact, rtol=2e-3, atol=2e-3)
