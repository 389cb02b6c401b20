"""loop -> llvm: the machinery every op lowering shares. A ModuleLowering builds the new
module's top level (functions, globals, declarations); a FunctionLowering builds one
llvm.func, keeping the map from each loop-level value to its llvm-level value and the
block being filled. Op lowerings are functions registered by op name (`@lowers("loop.load")`)
that read their operands through `fl.value(v)` and bind their results with `fl.bind`."""

from __future__ import annotations

from typing import Callable

import numpy as np

from descend.dialects import llvm
from descend.ir import (Block, FloatAttr, FloatType, IndexType, IntegerAttr, IntegerType,
                        MemRefType, Type, VectorType, i1, i32, i64)
from descend.ir.diagnostics import error

PTR = llvm.LLVMPointerType()
LOWERINGS: dict[str, Callable] = {}


def lowers(*names: str):
    """Register `fn(fl, op)` as the lowering of the ops named."""
    def register(fn):
        for name in names:
            LOWERINGS[name] = fn
        return fn
    return register


def convert_type(t: Type, at=None) -> Type:
    """index -> i64, memref -> !llvm.ptr (a bare pointer to row-major data), unsigned
    integers -> signless; scalars and rank-1 vectors of them stay."""
    if isinstance(t, IndexType):
        return i64
    if isinstance(t, MemRefType):
        if not t.has_static_shape:
            raise error(getattr(at, "location", None), f"lower-loop-to-llvm: memref {t} has no static shape")
        return PTR
    if isinstance(t, IntegerType):
        return t if t.is_signless else IntegerType(t.width)
    if isinstance(t, FloatType):
        return t
    if isinstance(t, VectorType) and t.rank == 1:
        return VectorType(t.shape, convert_type(t.element_type, at))
    if llvm.is_llvm_type(t):
        return t
    raise error(getattr(at, "location", None), f"lower-loop-to-llvm: type {t} has no llvm-level equivalent")


def element_bytes(t: Type) -> int:
    """Bytes one element of a memref of element type `t` takes (i1 is stored in a byte)."""
    if isinstance(t, IndexType):
        return 8
    return max(1, (t.width + 7) // 8)


class ModuleLowering:
    """The llvm-level module being built: new top-level ops go to `block`; external
    declarations are made once each; symbol names are kept unique."""

    def __init__(self, module):
        self.module = module
        self.block = module.regions[0].blocks[0]
        self.symbols = {op.properties["sym_name"].value for op in self.block.ops
                        if "sym_name" in op.properties}
        self.new_ops: list = []
        self.declared: dict = {}
        self.functions: dict = {}  # name -> {"threads": takes the thread count}

    def add(self, op):
        self.new_ops.append(op)
        return op

    def fresh_symbol(self, base: str) -> str:
        name, k = base, 0
        while name in self.symbols:
            k += 1
            name = f"{base}_{k}"
        self.symbols.add(name)
        return name

    def declare(self, name: str, result: Type | None, params: list, location=None) -> str:
        """An external `llvm.func @name(params) -> result` (once)."""
        if name not in self.declared:
            ftype = llvm.LLVMFunctionType(result or llvm.LLVMVoidType(), params)
            self.declared[name] = self.add(llvm.LLVMFuncOp.build(
                sym_name=name, function_type=ftype, declaration=True, location=location))
            self.symbols.add(name)
        return name


class FunctionLowering:
    """Fills one llvm.func: `emit` appends an op to the current block at the location of the
    op being lowered; `value`/`bind` translate values; `threads` is the i32 thread count
    parallel loops hand to descend_parallel_for."""

    def __init__(self, ml: ModuleLowering, func, threads=None, in_parallel: bool = False):
        self.ml = ml
        self.func = func
        self.entry = func.regions[0].blocks[0]
        self.block = self.entry
        self.values: dict = {}
        self.threads = threads
        self.in_parallel = in_parallel
        self.location = func.location
        self.parallel_count = 0

    # ---- values ------------------------------------------------------------------------------

    def value(self, old):
        new = self.values.get(old)
        if new is None:
            raise error(self.location, f"lower-loop-to-llvm: a value of type {old.type} is used "
                                       "where it is not available (defined in another function?)")
        return new

    def values_of(self, olds) -> list:
        return [self.value(v) for v in olds]

    def bind(self, old, new) -> None:
        if new.name_hint is None and old.name_hint is not None:
            new.name_hint = old.name_hint
        self.values[old] = new

    def bind_all(self, olds, news) -> None:
        for old, new in zip(olds, news):
            self.bind(old, new)

    # ---- building ----------------------------------------------------------------------------

    def emit(self, cls, *args, **kwargs):
        op = cls.build(*args, location=self.location, **kwargs)
        self.block.append(op)
        return op

    def emit1(self, cls, *args, **kwargs):
        return self.emit(cls, *args, **kwargs).results[0]

    def constant(self, value, t: Type):
        """An llvm.mlir.constant of a scalar (int or float) or a splat vector."""
        if isinstance(t, VectorType):
            from descend.ir import DenseElementsAttr
            from descend.dialects.numeric import dtype_of
            data = np.full(tuple(t.shape), value, dtype=dtype_of(t))
            return self.emit1(llvm.ConstantOp, value=DenseElementsAttr(t, data))
        if isinstance(t, FloatType):
            return self.emit1(llvm.ConstantOp, value=FloatAttr(float(value), t))
        return self.emit1(llvm.ConstantOp, value=IntegerAttr(int(value), t))

    def i64(self, n: int):
        return self.constant(n, i64)

    def i32(self, n: int):
        return self.constant(n, i32)

    def new_block(self, arg_types=()) -> Block:
        """A block at the end of the function (the caller fills it later)."""
        block = Block(list(arg_types))
        self.func.regions[0].add_block(block)
        return block

    def br(self, dest: Block, operands=()):
        self.emit(llvm.BrOp, destOperands=list(operands), dest=dest)

    def cond_br(self, condition, true_dest: Block, false_dest: Block, true_operands=(), false_operands=()):
        self.emit(llvm.CondBrOp, condition, trueDestOperands=list(true_operands),
                  falseDestOperands=list(false_operands), trueDest=true_dest, falseDest=false_dest)

    def alloca_at_entry(self, t: Type, alignment: int = 8):
        """Stack space for one `t`, allocated once at the function's entry (not per iteration)."""
        one = llvm.ConstantOp.build(value=IntegerAttr(1, i64), location=self.location)
        alloca = llvm.AllocaOp.build(one.results[0], elem_type=_type_attr(t), alignment=IntegerAttr(alignment, i64),
                                     result_types=[PTR], location=self.location)
        self.entry.prepend(alloca)
        self.entry.prepend(one)
        return alloca.results[0]

    # ---- lowering ----------------------------------------------------------------------------

    def lower_op(self, op) -> None:
        lowering = LOWERINGS.get(op.name)
        if lowering is None:
            raise error(op.location, f"lower-loop-to-llvm: no lowering for '{op.name}'")
        saved = self.location
        self.location = op.location
        try:
            lowering(self, op)
        finally:
            self.location = saved

    def lower_block(self, block) -> list:
        """Lower the ops of a structured region's block; returns the lowered operands of
        its terminator (loop.yield / func.return), which the caller turns into a branch."""
        for op in block.ops:
            if op.name in ("loop.yield", "func.return"):
                return self.values_of(op.operands)
            self.lower_op(op)
        return []


def _type_attr(t: Type):
    from descend.ir import TypeAttr
    return TypeAttr(t)


# Ops without operands that an outlined function recomputes rather than receives.
REMATERIALIZE = {"arith.constant", "loop.get_global"}


def bool_type_of(t: Type) -> Type:
    return VectorType(t.shape, i1) if isinstance(t, VectorType) else i1
