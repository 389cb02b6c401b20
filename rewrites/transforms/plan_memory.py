"""graph -> graph (annotations only): static memory planning of a function's intermediate
tensors into one arena, TFLite's "greedy by size" arena planner with in-place reuse.

The values planned are the results of the function body's top-level ops that are neither
function arguments, constants, nor returned (those live in caller-provided or read-only
memory); ops nested in regions (graph.fused bodies) are a kernel's business, not the
arena's. A value is live from the op defining it to its last user (a user nested in a
region counts at its top-level ancestor).

1. In place: an ELEMWISE op, or a BROADCAST op whose result type equals the operand's,
   writes its result over an intermediate operand whose last use it is and whose type is
   the result's; the two share one buffer whose lifetime is the union of theirs.
2. Buffers are sorted by size (largest first, then by first use) and each is placed at
   the lowest 64-byte aligned offset where it overlaps no placed buffer live at the same
   time (first fit in the gaps).

The plan is recorded as attributes: `graph.offset` (byte offset in the arena; an array
with -1 for unplanned results on multi-result ops) and `graph.inplace = N` (the operand
whose buffer the result reuses) on ops, `graph.arena_bytes` (the arena size) and
`graph.unplanned_bytes` (what the intermediates would take with no reuse) on the function.
Nothing about the computation changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from descend.ir import (Context, DenseArrayAttr, IntegerAttr, IntegerType, Operation, TensorType,
                        Value, i64, numpy_dtype)

from ..pass_options import option
from ..passes import Pass, register_pass
from .fold_constants import CONSTANT, functions, num_elements

OFFSET = "graph.offset"
INPLACE = "graph.inplace"
ARENA_BYTES = "graph.arena_bytes"
UNPLANNED_BYTES = "graph.unplanned_bytes"


def align_up(size: int, alignment: int) -> int:
    return (size + alignment - 1) // alignment * alignment


def byte_size(type) -> int:
    """Bytes of a tensor value (i1 takes a byte, as numpy's bool)."""
    element = type.element_type if isinstance(type, TensorType) else type
    if isinstance(element, IntegerType) and element.width == 1:
        itemsize = 1
    else:
        itemsize = numpy_dtype(element).itemsize
    return num_elements(type) * itemsize


@dataclass(eq=False)
class Buffer:
    values: list
    size: int
    start: int
    end: int
    offset: int = -1


@dataclass
class MemoryPlan:
    """The plan of one function: buffers with offsets, and the in-place reuses."""

    buffers: list = field(default_factory=list)
    buffer_of: dict = field(default_factory=dict)        # Value -> Buffer
    inplace: dict = field(default_factory=dict)          # Operation -> operand index
    arena_bytes: int = 0
    unplanned_bytes: int = 0
    peak_live_bytes: int = 0                             # a lower bound on any arena


def plan_function(func: Operation, alignment: int = 64, inplace: bool = True) -> MemoryPlan:
    """Liveness, in-place reuse and greedy-by-size offsets for the body of `func`."""
    plan = MemoryPlan()
    block = func.regions[0].blocks[0]
    ops = list(block.ops)
    index = {op: i for i, op in enumerate(ops)}
    terminator = block.terminator
    returned = set(terminator.operands) if terminator is not None else set()

    def top_level(user: Operation) -> Operation:
        while user.parent is not None and user.parent.parent_op is not func:
            user = user.parent.parent_op
        return user

    def last_use(value: Value, defined_at: int) -> int:
        return max([index.get(top_level(use.owner), defined_at) for use in value.uses] + [defined_at])

    planned = []
    for i, op in enumerate(ops):
        if op.name == CONSTANT or op is terminator:
            continue
        for result in op.results:
            if result in returned or not isinstance(result.type, TensorType):
                continue
            planned.append(result)
            size = align_up(byte_size(result.type), alignment)
            plan.unplanned_bytes += size
            end = last_use(result, i)
            reused = _inplace_operand(op, result, plan, index, i, last_use) if inplace else None
            if reused is not None:
                operand_index, buffer = reused
                buffer.values.append(result)
                buffer.end = max(buffer.end, end)
                plan.inplace[op] = operand_index
            else:
                buffer = Buffer([result], size, i, end)
                plan.buffers.append(buffer)
            plan.buffer_of[result] = buffer

    # Greedy by size: largest first, each at the lowest offset free during its lifetime.
    placed: list[Buffer] = []
    for buffer in sorted(plan.buffers, key=lambda b: (-b.size, b.start)):
        busy = sorted((b.offset, b.offset + b.size) for b in placed
                      if b.start <= buffer.end and buffer.start <= b.end)
        offset = 0
        for low, high in busy:
            if offset + buffer.size <= low:
                break
            offset = max(offset, align_up(high, alignment))
        buffer.offset = offset
        placed.append(buffer)
        plan.arena_bytes = max(plan.arena_bytes, offset + buffer.size)
    for step in range(len(ops)):
        live = sum(b.size for b in plan.buffers if b.start <= step <= b.end)
        plan.peak_live_bytes = max(plan.peak_live_bytes, live)
    return plan


def _inplace_operand(op, result, plan, index, at, last_use):
    """(operand index, buffer) when `op` may write `result` over a dying operand."""
    from descend.dialects.graph import Kind
    kind = getattr(type(op), "kind", Kind.OPAQUE)
    if op.dialect_name != "graph" or op.regions or len(op.results) != 1:
        return None
    if kind not in (Kind.ELEMWISE, Kind.BROADCAST):
        return None
    for operand_index, value in enumerate(op.operands):
        buffer = plan.buffer_of.get(value)
        if buffer is None or value.type != result.type or buffer.end != at:
            continue
        if last_use(value, at) != at:
            continue
        # The last value written into the buffer must be this operand (not an earlier tenant).
        if buffer.values[-1] is not value:
            continue
        return operand_index, buffer
    return None


@register_pass
@dataclass(frozen=True)
class PlanMemory(Pass):
    """Plan the intermediate tensors of each function into one arena (greedy by size, first fit).

    Liveness over the function body, in-place reuse for elementwise ops whose operand dies
    there with the result's type, offsets aligned to `alignment` bytes. Records
    `graph.offset` (and `graph.inplace`) on ops and `graph.arena_bytes` /
    `graph.unplanned_bytes` (the no-reuse total) on the function."""

    name: ClassVar[str] = "plan-memory"
    statistics: ClassVar[dict] = {
        "arena-bytes": "bytes of the planned arena (summed over functions)",
        "no-reuse-bytes": "bytes the intermediates take with one buffer each",
        "peak-live-bytes": "largest total of buffers live at one time (a lower bound)",
        "num-values": "intermediate values planned",
        "num-buffers": "buffers after in-place sharing",
        "num-inplace": "results written over a dying operand",
    }

    alignment: int = option(64, help="byte alignment of every offset")
    inplace: bool = option(True, help="let elementwise ops write over an operand that dies there")

    def __post_init__(self):
        if self.alignment < 1 or self.alignment & (self.alignment - 1):
            raise ValueError(f"alignment must be a power of two, got {self.alignment}")

    def run(self, op: Operation, ctx: Context) -> None:
        for func in functions(op):
            if not func.regions or not func.regions[0].blocks:
                continue
            plan = plan_function(func, self.alignment, self.inplace)
            self._record(func, plan)
            self.count("arena-bytes", plan.arena_bytes)
            self.count("no-reuse-bytes", plan.unplanned_bytes)
            self.count("peak-live-bytes", plan.peak_live_bytes)
            self.count("num-values", len(plan.buffer_of))
            self.count("num-buffers", len(plan.buffers))
            self.count("num-inplace", len(plan.inplace))

    def _record(self, func: Operation, plan: MemoryPlan) -> None:
        for nested in func.regions[0].blocks[0].ops:
            nested.attributes.pop(OFFSET, None)
            nested.attributes.pop(INPLACE, None)
            offsets = [plan.buffer_of[r].offset if r in plan.buffer_of else -1 for r in nested.results]
            if all(o < 0 for o in offsets):
                continue
            if len(offsets) == 1:
                nested.attributes[OFFSET] = IntegerAttr(offsets[0], i64)
            else:
                nested.attributes[OFFSET] = DenseArrayAttr(i64, offsets)
            if nested in plan.inplace:
                nested.attributes[INPLACE] = IntegerAttr(plan.inplace[nested], i64)
        func.attributes[ARENA_BYTES] = IntegerAttr(plan.arena_bytes, i64)
        func.attributes[UNPLANNED_BYTES] = IntegerAttr(plan.unplanned_bytes, i64)
