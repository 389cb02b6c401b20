"""loop-plan-memory: random te programs (several kernels, intermediates of many sizes)
compute the same outputs with their buffers placed in one arena; buffers live at the same
time never share bytes; loop.view prints, parses and verifies; compiled models use one
arena smaller than the sum of their intermediates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import descend
from descend.dialects.loop import ViewOp
from descend.ir import verify

from .test_te_to_loop import assert_lowering_preserves, te_programs

PLAN = "builtin.module(lower-te-to-loop,func.func(loop-plan-memory))"


def lifetimes(func):
    """{view: (first, last) top-level position of its uses}, and the views' byte ranges."""
    block = func.regions[0].blocks[0]
    position = {id(op): n for n, op in enumerate(block.ops)}

    def top(op):
        while op.parent is not block:
            op = op.parent_op
        return position[id(op)]
    views = [op for op in block.ops if isinstance(op, ViewOp)]
    spans = {}
    for view in views:
        uses = [top(u.owner) for u in view.memref.uses] or [position[id(view)]]
        start = int(view.offset.value)
        size = int(np.prod(view.memref.type.shape)) * np.dtype(np.float32).itemsize
        spans[view] = (position[id(view)], max(uses), start, start + size)
    return spans


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(te_programs())
def test_planned_buffers_preserve_results_and_never_overlap_while_live(program):
    module, inputs = program
    lowered = assert_lowering_preserves(module, inputs, pipeline=PLAN)
    for func in (op for op in lowered.walk() if op.name == "func.func"):
        spans = list(lifetimes(func).values())
        for n, (s1, e1, a1, b1) in enumerate(spans):
            for s2, e2, a2, b2 in spans[n + 1:]:
                if not (e1 < s2 or e2 < s1):  # live together
                    assert b1 <= a2 or b2 <= a1, f"overlapping bytes:\n{func}"
    assert str(descend.parse(str(lowered))) == str(lowered)


def test_a_view_that_does_not_fit_is_refused():
    text = """
    func.func @f() {
      %a = loop.alloc : memref<64xi8>
      %v = loop.view %a[32 : i64] : memref<64xi8> to memref<16xf32>
      loop.dealloc %a : memref<64xi8>
      return
    }"""
    with pytest.raises(descend.DiagnosticError, match="does not fit, aligned"):
        verify(descend.parse(text))


def test_a_compiled_model_uses_one_arena_smaller_than_its_intermediates():
    from descend.lowering import driver
    from descend.testing import onnx_models
    loop = driver.lower(onnx_models.small_cnn(), stop_after="loop")
    main = next(op for op in loop.walk() if op.name == "func.func" and op.sym_name.value == "main")
    arena, total = main.attributes["loop.arena_bytes"].value, main.attributes["loop.buffer_bytes"].value
    assert 0 < arena < total
    assert [op.name for op in main.walk()].count("loop.alloc") == 1
