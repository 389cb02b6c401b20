"""loop-flatten-buffers: random loop programs (loop orders unlike the dimension order, constant
and mixed indices, vector accesses, a stack tile, a view of an arena, a weight, private
kernels called with buffers and public arguments) and random te programs through the loop
pipeline give the same results in the interpreter after the pass, on a module and per
function; every buffer the module makes is 1-D afterwards; public signatures keep their
shapes; dynamic memrefs are left and counted; compiled models give the same outputs with
the pass in the loop pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend
from descend.dialects.loop import AllocaOp, AllocOp, GlobalOp, ViewOp
from descend.ir import MemRefType, f32, verify
from descend.lowering.te_to_loop import run_loop_function
from descend.rewrites import PassManager
from descend.rewrites.transforms.loop_flatten_buffers import LoopFlattenBuffers, row_major_strides
from descend.testing.equivalence import first_difference

from .test_te_to_loop import lower, te_programs

MODULE = "builtin.module(loop-flatten-buffers)"
PER_FUNCTION = "builtin.module(func.func(loop-flatten-buffers))"


def flattened(module, pipeline: str = MODULE):
    """A flattened copy of `module` (verified; the module itself is left as it is)."""
    copy = descend.parse(str(module))
    PassManager.parse(pipeline).run(copy)
    verify(copy)
    return copy


def assert_same_results(module, inputs, pipeline: str = MODULE):
    expected = run_loop_function(module, inputs)
    after = flattened(module, pipeline)
    problem = first_difference(expected, run_loop_function(after, inputs))
    assert problem is None, f"{problem}\n--- before ---\n{module}\n--- after ---\n{after}"
    return after


def local_buffers(module):
    return [op.memref.type for op in module.walk() if isinstance(op, (AllocOp, AllocaOp, ViewOp))]


# ---- random loop programs -----------------------------------------------------------------

def _memref(shape) -> str:
    return "memref<" + "x".join(str(d) for d in shape) + "xf32>"


@st.composite
def loop_programs(draw):
    """(module text, inputs): @main(%x, %y) calls @fill (t = x * g + x[mixed]; a constant
    poke) and @copy (y = 2 t, loops in another order), then moves a vector of t through a
    stack tile into y. t is a loop.alloc or a view of an arena."""
    rank = draw(st.integers(2, 4))
    # the last dimension holds a vector of 2 or more (the interpreter's loop.vstore cannot
    # write a vector<1xf32> yet)
    shape = draw(st.lists(st.integers(1, 4), min_size=rank - 1, max_size=rank - 1)) + [draw(st.integers(2, 4))]
    fill_order = draw(st.permutations(range(rank)))
    copy_order = draw(st.permutations(range(rank)))
    mixed = {d: draw(st.integers(0, shape[d] - 1)) for d in draw(st.sets(st.integers(0, rank - 1)))}
    poke = [draw(st.integers(0, n - 1)) for n in shape]
    width = draw(st.integers(2, shape[-1]))
    start = draw(st.integers(0, shape[-1] - width))
    rows = [[draw(st.integers(0, n - 1)) for n in shape[:-1]] for _ in range(2)]
    use_view = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    weight = np.round(rng.uniform(-2, 2, shape) * 4) / 4
    mt = _memref(shape)
    size = int(np.prod(shape))
    consts = sorted({0, 1, *shape, *poke, *mixed.values(), start, *[r for row in rows for r in row]})
    cdecl = "\n".join(f"  %c{n} = arith.constant {n} : index" for n in consts)

    def nest(order, body_lines, indent="  "):
        lines, close = [], []
        for d in order:
            lines.append(f"{indent}loop.for %i{d} = %c0 to %c{shape[d]} step %c1 {{")
            close.insert(0, f"{indent}  loop.yield\n{indent}}}")
            indent += "  "
        return "\n".join(lines + [indent + b for b in body_lines] + close)

    ivs = ", ".join(f"%i{d}" for d in range(rank))
    mixed_ivs = ", ".join(f"%c{mixed[d]}" if d in mixed else f"%i{d}" for d in range(rank))
    fill = nest(fill_order, [
        f"%v = loop.load %x[{ivs}] : {mt}",
        f"%w = loop.load %g[{ivs}] : {mt}",
        f"%m = loop.load %x[{mixed_ivs}] : {mt}",
        "%p = arith.mulf %v, %w : f32",
        "%s = arith.addf %p, %m : f32",
        f"loop.store %s, %t[{ivs}] : {mt}"])
    copy = nest(copy_order, [
        f"%v = loop.load %t[{ivs}] : {mt}",
        "%s = arith.addf %v, %v : f32",
        f"loop.store %s, %y[{ivs}] : {mt}"])
    vector = f"vector<{width}xf32>"
    tile = _memref([2, shape[-1]])
    src = ", ".join(f"%c{r}" for r in rows[0] + [start])
    dst = ", ".join(f"%c{r}" for r in rows[1] + [start])
    if use_view:
        arena = f"memref<{size * 4 + 64}xi8>"
        make_t = (f"  %arena = loop.alloc : {arena}\n"
                  f"  %t = loop.view %arena[64 : i64] : {arena} to {mt}")
        free_t = f"  loop.dealloc %arena : {arena}"
    else:
        make_t, free_t = f"  %t = loop.alloc : {mt}", f"  loop.dealloc %t : {mt}"
    literal = str(weight.tolist())
    text = f"""
loop.global @g : {mt} = dense<{literal}> : tensor<{mt[7:-1]}>
func.func private @fill(%x: {mt}, %t: {mt}) {{
{cdecl}
  %g = loop.get_global @g : {mt}
{fill}
  %poke = arith.constant 7.5 : f32
  loop.store %poke, %t[{", ".join(f"%c{p}" for p in poke)}] : {mt}
  return
}}
func.func private @copy(%t: {mt}, %y: {mt}) {{
{cdecl}
{copy}
  return
}}
func.func @main(%x: {mt}, %y: {mt}) attributes {{onnx.num_outputs = 1 : i64}} {{
{cdecl}
{make_t}
  call @fill(%x, %t) : ({mt}, {mt}) -> ()
  call @copy(%t, %y) : ({mt}, {mt}) -> ()
  %tile = loop.alloca : {tile}
  %v = loop.vload %t[{src}] : {mt}, {vector}
  loop.vstore %v, %tile[%c1, %c{start}] : {tile}, {vector}
  %u = loop.vload %tile[%c1, %c{start}] : {tile}, {vector}
  loop.vstore %u, %y[{dst}] : {mt}, {vector}
{free_t}
  return
}}
"""
    x = (np.round(rng.uniform(-2, 2, shape) * 4) / 4).astype(np.float32)
    return text, [x]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loop_programs())
def test_random_loop_programs_keep_their_results(program):
    text, inputs = program
    module = descend.parse(text)
    verify(module)
    after = assert_same_results(module, inputs)
    assert all(t.rank == 1 for t in local_buffers(after)), str(after)
    functions = {op.sym_name.value: op for op in after.walk() if op.name == "func.func"}
    assert functions["copy"].function_type.type.inputs[0].rank == 1   # t, passed between kernels
    assert functions["fill"].function_type.type.inputs[0].rank >= 2   # x, @main's own argument
    public = next(op for op in module.walk() if op.name == "func.func" and op.sym_name.value == "main")
    assert functions["main"].function_type.type == public.function_type.type
    assert all(op.memref_type.rank == 1 for op in after.walk() if isinstance(op, GlobalOp))
    # per function: the stack tile is flattened, t (passed to the kernels) is not
    per_function = assert_same_results(module, inputs, PER_FUNCTION)
    kinds = {op.name: op.memref.type.rank for op in per_function.walk() if isinstance(op, (AllocOp, AllocaOp, ViewOp))
             and op.memref.type.element_type == f32}
    assert kinds == {"loop.alloca": 1, "loop.view" if "loop.view" in text else "loop.alloc": len(inputs[0].shape)}
    # idempotent: nothing left to flatten
    assert str(flattened(after)) == str(after)


# ---- random te programs through the loop pipeline --------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(te_programs())
def test_te_programs_through_the_loop_pipeline_keep_their_results(program):
    from descend.lowering.driver import LOOP_PIPELINE
    module, inputs = program
    loop = lower(module, f"builtin.module(lower-te-to-loop,{LOOP_PIPELINE})")
    after = assert_same_results(loop, inputs)
    assert all(t.rank <= 1 for t in local_buffers(after)), str(after)
    assert_same_results(loop, inputs, PER_FUNCTION)
    # the lowering to llvm accepts what the pass leaves
    PassManager.parse("builtin.module(lower-loop-to-llvm)").run(after)


# ---- details ----------------------------------------------------------------------------------

def test_row_major_strides():
    assert row_major_strides((2, 3, 4)) == [12, 4, 1]
    assert row_major_strides((5,)) == [1]


def test_constant_indices_fold_into_one_constant():
    module = descend.parse("""
    func.func @f(%y: memref<4xf32>) {
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %a = loop.alloca : memref<3x4x5xf32>
      %v = loop.load %a[%c2, %c1, %c2] : memref<3x4x5xf32>
      return
    }""")
    PassManager.parse(MODULE).run(module)
    load = next(op for op in module.walk() if op.name == "loop.load")
    assert [int(i.defining_op.value.value) for i in load.indices] == [2 * 20 + 1 * 5 + 2]
    assert sum(op.name.startswith("arith.") for op in module.walk()) == 3  # c1, c2 and 47


def test_public_signatures_and_dynamic_memrefs_are_left_and_counted():
    module = descend.parse("""
    func.func private @k(%m: memref<?x4xf32>, %a: memref<2x4xf32>) {
      return
    }
    func.func @main(%m: memref<?x4xf32>, %a: memref<2x4xf32>) {
      call @k(%m, %a) : (memref<?x4xf32>, memref<2x4xf32>) -> ()
      return
    }""")
    before = str(module)
    flatten = LoopFlattenBuffers()
    flatten.run(module, None)
    verify(module)
    assert str(module) == before
    stats = flatten.statistic_values()
    assert stats["dynamic"] == 2 and stats["kept"] == 2 and stats["flattened"] == 0


def test_a_buffer_escaping_through_a_loop_is_kept():
    module = descend.parse("""
    func.func @f(%y: memref<2x2xf32>) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %a = loop.alloc : memref<2x2xf32>
      %b = loop.for %i = %c0 to %c1 step %c1 iter_args(%m = %a) -> (memref<2x2xf32>) {
        loop.yield %m : memref<2x2xf32>
      }
      %v = loop.load %b[%c0, %c1] : memref<2x2xf32>
      loop.store %v, %y[%c0, %c0] : memref<2x2xf32>
      return
    }""")
    flatten = LoopFlattenBuffers()
    flatten.run(module, None)
    verify(module)
    assert local_buffers(module) == [MemRefType((2, 2), f32)]
    assert flatten.statistic_values()["kept"] == 2  # %a, and the public argument


# ---- compiled models ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["small_cnn", "residual_block"])
def test_compiled_models_give_the_same_outputs_with_the_pass(name):
    """descend.compile flattens from -O1 (on the way to llvm); without the pass the same."""
    from descend.lowering import driver
    from descend.testing import onnx_models
    model = onnx_models.MODELS[name]()
    inputs = onnx_models.random_input(model)
    expected = descend.compile(model, disabled_passes=["loop-flatten-buffers"]).run(inputs)
    compiled = descend.compile(model)
    actual = compiled.run(inputs)
    for e, a in zip(expected, actual):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
    loop = driver.lower(model, stop_after="loop")
    assert any(t.rank > 1 for t in local_buffers(loop))  # the loop stage keeps its shapes
    PassManager.parse("builtin.module(loop-flatten-buffers)").run(loop)
    assert local_buffers(loop) and all(t.rank == 1 for t in local_buffers(loop))
