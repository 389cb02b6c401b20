"""rewrites: `loop-plan-memory`: the buffers a function allocates at its top level
(`loop.alloc`, each freed by a `loop.dealloc` in the same block, or live to the end) are
placed in one arena: one allocation per call instead of one per buffer, and buffers whose
lifetimes do not overlap share bytes (TFLite's greedy-by-size arena planner: largest
first, each at the lowest 64-byte-aligned offset clear of every placed buffer it is live
with). Each buffer becomes a `loop.view` of the arena at its offset; the arena is freed
before the function returns.

A buffer is live from its `loop.alloc` to its `loop.dealloc` (positions in the function's
block; an op nested in a loop counts at its top-level ancestor). Buffers allocated inside
loops, or used outside the function's block structure, are left alone. The function records
`loop.arena_bytes` and `loop.buffer_bytes` (the sum of the planned buffers): what the plan
saved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from descend.dialects.loop import AllocOp, DeallocOp, ViewOp
from descend.dialects.numeric import dtype_of
from descend.ir import Context, IntegerAttr, MemRefType, Operation, i8, i64

from ..passes import Pass, register_pass

ALIGNMENT = 64
ARENA_BYTES = "loop.arena_bytes"
BUFFER_BYTES = "loop.buffer_bytes"


def _bytes(t) -> int:
    return int(np.prod(t.shape, dtype=np.int64)) * dtype_of(t).itemsize


def _top_level(op, block):
    while op is not None and op.parent is not block:
        op = op.parent_op
    return op


def plan_function(func) -> tuple[int, int]:
    """Place `func`'s top-level buffers in one arena; returns (arena bytes, buffer bytes)."""
    block = func.regions[0].blocks[0]
    ops = list(block.ops)
    position = {id(op): n for n, op in enumerate(ops)}
    buffers = []
    for op in ops:
        if not isinstance(op, AllocOp) or not op.memref.type.has_static_shape:
            continue
        frees = [u.owner for u in op.memref.uses if isinstance(u.owner, DeallocOp)]
        users = [_top_level(u.owner, block) for u in op.memref.uses]
        if any(user is None for user in users) or len(frees) > 1 or (frees and frees[0].parent is not block):
            continue
        end = position[id(frees[0])] if frees else len(ops)
        if any(position[id(user)] > end for user in users):
            continue
        buffers.append((op, frees[0] if frees else None, position[id(op)], end))
    if len(buffers) < 2:
        return 0, 0
    placed: list[tuple[int, int, int, int]] = []   # (offset, size, start, end)
    offsets = {}
    for op, _, start, end in sorted(buffers, key=lambda b: -_bytes(b[0].memref.type)):
        size = -(-max(_bytes(op.memref.type), 1) // ALIGNMENT) * ALIGNMENT
        offset = 0
        for other_offset, other_size, other_start, other_end in sorted(placed):
            if other_end < start or end < other_start:
                continue  # never live together
            if offset + size <= other_offset:
                break
            offset = max(offset, other_offset + other_size)
        placed.append((offset, size, start, end))
        offsets[id(op)] = offset
    arena_bytes = max(o + s for o, s, _, _ in placed)
    first = min(buffers, key=lambda b: b[2])[0]
    arena = AllocOp.build(result_types=[MemRefType((arena_bytes,), i8)], location=func.location)
    arena.memref.name_hint = "arena"
    block.insert_before(first, arena)
    for op, free, _, _ in buffers:
        view = ViewOp.build(arena.memref, offset=IntegerAttr(offsets[id(op)], i64),
                            result_types=[op.memref.type], location=op.location)
        view.memref.name_hint = op.memref.name_hint
        block.insert_before(op, view)
        op.memref.replace_all_uses_with(view.memref)
        if free is not None:
            free.erase()
        op.erase()
    block.insert_before(block.terminator, DeallocOp.build(arena.memref, location=func.location))
    total = sum(_bytes(b[0].memref.type) for b in buffers)
    func.attributes[ARENA_BYTES] = IntegerAttr(arena_bytes, i64)
    func.attributes[BUFFER_BYTES] = IntegerAttr(total, i64)
    return arena_bytes, total


@register_pass
@dataclass(frozen=True)
class LoopPlanMemory(Pass):
    """Place each function's top-level buffers in one arena, sharing bytes between buffers
    that are never live together."""

    name: ClassVar[str] = "loop-plan-memory"
    statistics: ClassVar[dict] = {"functions": "functions given an arena",
                                  "arena-bytes": "bytes of arenas", "buffer-bytes": "bytes of the buffers placed in them"}

    def run(self, op: Operation, ctx: Context) -> None:
        funcs = [op] if op.name == "func.func" else [f for f in op.walk() if f.name == "func.func"]
        for func in funcs:
            if not func.regions or not func.regions[0].blocks:
                continue
            arena, total = plan_function(func)
            if arena:
                self.count("functions")
                self.count("arena-bytes", arena)
                self.count("buffer-bytes", total)
