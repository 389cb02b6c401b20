"""lowering.schedule: records and their JSON / #te.schedule round trips, each primitive's
precondition errors, the loop structure apply_to_axes gives (extents, kinds, index
expressions, tail guards), and the property that any sequence of split / reorder / fuse
visits exactly the unscheduled domain, each index tuple once."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descend
from descend.dialects.te import KernelOp
from descend.ir import DiagnosticError
from descend.ir.printer import print_ir
from descend.lowering.schedule import (ComputeInline, Fuse, Guard, Loop, Reorder, Schedule, ScheduleError,
                                       Split, Var, loop_nest, record_from_json)

KERNEL = """
func.func @main(%a: tensor<8x64xf32>, %w: tensor<16x64xf32>) -> tensor<8x16xf32> {
  %r = te.kernel "mm_relu" (%a, %w) {schedule = SCHEDULE}
       : (tensor<8x64xf32>, tensor<16x64xf32>) -> tensor<8x16xf32> {
  ^bb0(%x: tensor<8x64xf32>, %v: tensor<16x64xf32>):
    %y = te.compute (%x, %v) {reduce = array<i64: 64>, combiner = "sum"}
         : (tensor<8x64xf32>, tensor<16x64xf32>) -> tensor<8x16xf32> {
    ^bb0(%i: index, %j: index, %k: index):
      %0 = te.read %x[%i, %k] : tensor<8x64xf32>
      %1 = te.read %v[%j, %k] : tensor<16x64xf32>
      %p = arith.mulf %0, %1 : f32
      te.yield %p : f32
    }
    %z = te.compute (%y) : (tensor<8x16xf32>) -> tensor<8x16xf32> {
    ^bb0(%i: index, %j: index):
      %0 = te.read %y[%i, %j] : tensor<8x16xf32>
      %c = arith.constant 0.0 : f32
      %m = arith.maximumf %0, %c : f32
      te.yield %m : f32
    }
    te.return %z : tensor<8x16xf32>
  }
  func.return %r : tensor<8x16xf32>
}
"""


def parse_kernel(schedule: Schedule) -> KernelOp:
    module = descend.parse(KERNEL.replace("SCHEDULE", str(schedule.to_attr())))
    return next(op for op in module.walk() if isinstance(op, KernelOp))


def example() -> Schedule:
    s = Schedule()
    io, ii = s.split("y", "i0", 8 // 2, outer="io", inner="ii")
    s.reorder("y", io, "i1", "r0", ii)
    s.vectorize("y", ii)
    s.parallel("y", io)
    s.unroll("y", "r0")
    s.fuse(1, "i0", "i1", "ij")
    s.parallel(1, "ij")
    return s


# ---- data and text -------------------------------------------------------------------------

def test_json_round_trip():
    s = example()
    assert Schedule.from_json(s.to_json()) == s
    assert Schedule.from_attr(s.to_attr()) == s
    assert s.to_json().startswith('[{"op": "split", "compute": "y", "axis": "i0", "factor": 4, '
                                  '"outer": "io", "inner": "ii"}')


def test_schedule_attribute_round_trips_through_the_ir():
    s = example()
    kernel = parse_kernel(s)
    assert Schedule.of_kernel(kernel) == s
    module = kernel
    while module.parent_op is not None:
        module = module.parent_op
    again = descend.parse(print_ir(module))
    assert Schedule.of_kernel(next(op for op in again.walk() if isinstance(op, KernelOp))) == s


def test_default_names_and_tile():
    s = Schedule()
    assert s.split("y", "i0", 4) == ("i0.outer", "i0.inner")
    assert s.fuse("y", "i0.outer", "i0.inner") == "i0.outer.i0.inner.fused"
    t = Schedule()
    assert t.tile("y", "i0", "i1", 4, 8) == ("i0.outer", "i1.outer", "i0.inner", "i1.inner")
    assert [r.op for r in t] == ["split", "split", "reorder"]
    nest = loop_nest("y", (8, 16), (), t.records)
    assert [(l.name, l.extent) for l in nest.loops] == [("i0.outer", 2), ("i1.outer", 2),
                                                         ("i0.inner", 4), ("i1.inner", 8)]
    assert str(nest.axes["i1"]) == "i1.outer*8 + i1.inner"


def test_json_defaults_fill_split_and_fuse_names():
    assert record_from_json({"op": "split", "compute": "y", "axis": "i0", "factor": 2}) == \
        Split("y", "i0", 2, "i0.outer", "i0.inner")
    assert record_from_json({"op": "fuse", "compute": 0, "outer": "a", "inner": "b"}) == \
        Fuse(0, "a", "b", "a.b.fused")


@pytest.mark.parametrize("data,message", [
    ({"op": "spilt", "compute": "y"}, "record #0: unknown primitive 'spilt'"),
    ({"op": "split", "compute": "y", "axis": "i0"}, r"record #0 \(split\): missing field 'factor'"),
    ({"op": "split", "compute": "y", "axis": "i0", "factor": "8"}, "field 'factor' has the wrong type"),
    ({"op": "reorder", "compute": "y", "order": "i0"}, "field 'order' has the wrong type"),
    ({"op": "vectorize", "compute": "y", "axis": "i0", "lanes": 8}, r"unknown field\(s\) lanes"),
])
def test_record_json_errors(data, message):
    with pytest.raises(ScheduleError, match=message):
        Schedule.from_json([data])


# ---- loop structure ------------------------------------------------------------------------

def test_apply_to_axes_on_a_kernel():
    s = example()
    kernel = parse_kernel(s)
    nests = s.validate(kernel)
    y, z = kernel.computes()
    nest = nests[y]
    assert nest.loops == (Loop("io", 2, "parallel"), Loop("i1", 16), Loop("r0", 64, "unrolled", True),
                          Loop("ii", 4, "vectorized"))
    assert str(nest.axes["i0"]) == "io*4 + ii" and nest.axes["i1"] == Var("i1")
    assert nest.guards == () and nest.reduction_encloses_output
    fused = nests[z]
    assert fused.loops == (Loop("ij", 128, "parallel"),)
    assert str(fused.axes["i0"]) == "ij floordiv 16" and str(fused.axes["i1"]) == "ij mod 16"
    assert s.apply_to_axes(z) == fused


def test_split_tail_is_guarded():
    nest = loop_nest("y", (10,), (), [Split("y", "i0", 4, "o", "i")])
    assert [l.extent for l in nest.loops] == [3, 4]
    assert nest.guards == (Guard(nest.axes["i0"], 10),)
    assert str(nest.guards[0]) == "o*4 + i < 10"
    assert list(nest.iterate()) == [(n,) for n in range(10)]


def test_fusing_a_split_back_simplifies():
    nest = loop_nest("y", (8,), (), [Split("y", "i0", 4, "o", "i"), Fuse("y", "o", "i", "f")])
    assert nest.axes == {"i0": Var("f")} and nest.loops == (Loop("f", 8),)


def test_compute_inline():
    s = Schedule()
    s.compute_inline("z")
    kernel = parse_kernel(s)
    assert s.apply_to_axes(kernel.computes()[1]).inlined
    with pytest.raises(DiagnosticError, match="compute_inline: compute 'z' is a result of the te.kernel"):
        s.validate(kernel)


@pytest.mark.parametrize("records,message", [
    ([Split("y", "k", 8, "ko", "ki")], r"split: axis 'k' is not an axis of compute 'y' \(axes: i0, i1, r0\)"),
    ([Split("y", "i0", 0, "a", "b")], "split: factor must be a positive integer, got 0"),
    ([Split("y", "i0", 2, "r0", "b")], "split: axis name 'r0' is already used in compute 'y'"),
    ([Split("y", "i0", 2, "a", "a")], "split: outer and inner axes need different names"),
    ([Reorder("y", ("i1", "i1"))], r"reorder: axis 'i1' appears twice in \[i1, i1\]"),
    ([Reorder("y", ("i1", "x"))], "reorder: axis 'x' is not an axis of compute 'y'"),
    ([Fuse("y", "i1", "i0", "f")], "fuse: axes 'i1' and 'i0' of compute 'y' are not adjacent"),
    ([Fuse("y", "i1", "r0", "f")], "fuse: cannot fuse output and reduction axes"),
    ([Reorder("y", ("i1", "i0")), Fuse("y", "i1", "i0", "i1")], "fuse: axis name 'i1' is already used"),
    ([Split("y", "i1", 4, "a", "b"), record_from_json({"op": "vectorize", "compute": "y", "axis": "b"})],
     r"vectorize: axis 'b' must be the innermost loop of compute 'y' \(loop order: i0, a, b, r0\)"),
    ([record_from_json({"op": "vectorize", "compute": "y", "axis": "r0"}),
      record_from_json({"op": "cache_write", "compute": "y"})],
     "vectorize: axis 'r0' of compute 'y' is a reduction axis; with cache_write only the tile's output axes"),
    ([record_from_json({"op": "parallel", "compute": "y", "axis": "i1"})],
     "parallel: axis 'i1' must be the outermost loop of compute 'y'"),
    ([record_from_json({"op": "parallel", "compute": "y", "axis": "i0"}),
      record_from_json({"op": "unroll", "compute": "y", "axis": "i0"})],
     "unroll: axis 'i0' of compute 'y' is already parallel"),
    ([record_from_json({"op": "unroll", "compute": "y", "axis": "i0"}), Split("y", "i0", 2, "a", "b")],
     "split: axis 'i0' of compute 'y' is already unrolled; split before annotating"),
    ([ComputeInline("y")], "compute_inline: compute 'y' reduces over r0"),
    ([ComputeInline("y"), Split("y", "i0", 2, "a", "b")], "compute 'y' is inlined, so it has no loops to split"),
])
def test_primitive_errors(records, message):
    with pytest.raises(ScheduleError, match=message):
        loop_nest("y", (8, 16), (64,), records)


def test_validate_names_unknown_computes():
    s = Schedule()
    s.split("w", "i0", 2)
    with pytest.raises(DiagnosticError, match=r"schedule record #0 \(split\) names compute 'w', which is not "
                                              r'in te.kernel "mm_relu" \(computes: 0, 1, y, z\)'):
        s.validate(parse_kernel(s))


# ---- the property: a schedule reorders the domain, it never changes it ---------------------

@st.composite
def scheduled_nests(draw):
    shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    reduce = draw(st.lists(st.integers(1, 4), max_size=2))
    domain = {**{f"i{n}": d for n, d in enumerate(shape)}, **{f"r{n}": e for n, e in enumerate(reduce)}}
    records, order, extents = [], list(domain), dict(domain)
    reduction = {a: a.startswith("r") for a in domain}
    for step in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["split", "reorder", "fuse"]))
        if kind == "split":
            axis = draw(st.sampled_from(order))
            factor = draw(st.integers(1, 5))
            outer, inner = f"s{step}o", f"s{step}i"
            records.append(Split("y", axis, factor, outer, inner))
            at = order.index(axis)
            order[at:at + 1] = [outer, inner]
            extents[outer], extents[inner] = -(-extents[axis] // factor), factor
            reduction[outer] = reduction[inner] = reduction[axis]
        elif kind == "reorder":
            subset = draw(st.lists(st.sampled_from(order), unique=True, min_size=1))
            records.append(Reorder("y", tuple(subset)))
            positions = sorted(order.index(n) for n in subset)
            for p, n in zip(positions, subset):
                order[p] = n
        else:
            pairs = [(a, b) for a, b in zip(order, order[1:]) if reduction[a] == reduction[b]]
            if not pairs:
                continue
            outer, inner = draw(st.sampled_from(pairs))
            fused = f"f{step}"
            records.append(Fuse("y", outer, inner, fused))
            at = order.index(outer)
            order[at:at + 2] = [fused]
            extents[fused] = extents[outer] * extents[inner]
            reduction[fused] = reduction[outer]
    return shape, reduce, records


@settings(max_examples=150, deadline=None)
@given(scheduled_nests())
def test_schedules_visit_the_domain_exactly_once(case):
    shape, reduce, records = case
    nest = loop_nest("y", shape, reduce, records)
    visited = Counter(nest.iterate())
    unscheduled = Counter(loop_nest("y", shape, reduce, []).iterate())
    assert visited == unscheduled
    assert set(visited.values()) <= {1}
    assert len(unscheduled) == _product(shape) * _product(reduce)


def _product(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out
