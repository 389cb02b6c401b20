"""loop -> llvm: buffers and vectors. A static memref is a bare `!llvm.ptr` to row-major
data: an access is a getelementptr over the linearised index, then a load or store aligned
to the element (a vector access too, since its start need not be aligned). loop.alloc is
`aligned_alloc(64, size)`, loop.dealloc `free`; loop.alloca a stack array at the function's
entry; a loop.global is an internal constant
llvm.mlir.global of its dense data, read through llvm.mlir.addressof."""

from __future__ import annotations

import numpy as np

from descend.dialects import llvm
from descend.dialects.numeric import dtype_of
from descend.ir import (DenseElementsAttr, IntegerAttr, TensorType, TypeAttr, VectorType, i8, i32, i64)
from descend.ir.diagnostics import error
from descend.ir.interpreter import attribute_value

from .arith import icmp, select
from .core import PTR, convert_type, element_bytes, lowers

ALIGNMENT = 64
NSW = llvm.IntegerOverflowFlagsAttr("nsw")


def linear_index(fl, memref_type, indices):
    """i0 * (d1 * d2 ...) + ... as Horner's rule over the lowered indices (nsw: in-bounds
    indices of a buffer that fits in memory cannot overflow)."""
    shape = list(memref_type.shape)
    if not indices:
        return fl.i64(0)
    linear = indices[0]
    for extent, index in zip(shape[1:], indices[1:]):
        scaled = fl.emit1(llvm.MulOp, linear, fl.i64(extent), overflowFlags=NSW)
        linear = fl.emit1(llvm.AddOp, scaled, index, overflowFlags=NSW)
    return linear


def address(fl, op, memref, indices):
    t = memref.type
    element = convert_type(t.element_type, op)
    linear = linear_index(fl, t, fl.values_of(indices))
    return fl.emit1(llvm.GEPOp, fl.value(memref), [linear], element, inbounds=True), element_bytes(t.element_type)


@lowers("loop.load")
def load(fl, op):
    pointer, align = address(fl, op, op.memref, op.indices)
    fl.bind(op.result, fl.emit1(llvm.LoadOp, pointer, alignment=IntegerAttr(align, i64),
                                result_types=[convert_type(op.result.type, op)]))


@lowers("loop.store")
def store(fl, op):
    pointer, align = address(fl, op, op.memref, op.indices)
    fl.emit(llvm.StoreOp, fl.value(op.value), pointer, alignment=IntegerAttr(align, i64))


@lowers("loop.vload")
def vload(fl, op):
    pointer, align = address(fl, op, op.memref, op.indices)
    fl.bind(op.result, fl.emit1(llvm.LoadOp, pointer, alignment=IntegerAttr(align, i64),
                                result_types=[convert_type(op.result.type, op)]))


@lowers("loop.vstore")
def vstore(fl, op):
    pointer, align = address(fl, op, op.memref, op.indices)
    fl.emit(llvm.StoreOp, fl.value(op.value), pointer, alignment=IntegerAttr(align, i64))


# ---- buffers --------------------------------------------------------------------------------

def buffer_bytes(memref_type) -> int:
    count = int(np.prod(memref_type.shape, dtype=np.int64))
    return count * element_bytes(memref_type.element_type)


@lowers("loop.alloc")
def alloc(fl, op):
    # aligned_alloc wants a size that is a multiple of the alignment
    size = -(-max(buffer_bytes(op.memref.type), 1) // ALIGNMENT) * ALIGNMENT
    fl.ml.declare("aligned_alloc", PTR, [i64, i64], op.location)
    fl.bind(op.memref, fl.emit1(llvm.CallOp, callee="aligned_alloc",
                                callee_operands=[fl.i64(ALIGNMENT), fl.i64(size)], result_types=[PTR]))


@lowers("loop.alloca")
def alloca(fl, op):
    # at the entry of the (outlined) function, so LLVM can promote it to registers
    t = op.memref.type
    count = int(np.prod(t.shape, dtype=np.int64))
    array = llvm.LLVMArrayType(max(count, 1), convert_type(t.element_type, op))
    fl.bind(op.memref, fl.alloca_at_entry(array, ALIGNMENT))


@lowers("loop.view")
def view(fl, op):
    offset = int(op.offset.value)
    pointer = fl.value(op.arena)
    if offset:
        pointer = fl.emit1(llvm.GEPOp, pointer, [fl.i64(offset)], i8, inbounds=True)
    fl.bind(op.memref, pointer)


@lowers("loop.dealloc")
def dealloc(fl, op):
    fl.ml.declare("free", None, [PTR], op.location)
    fl.emit(llvm.CallOp, callee="free", callee_operands=[fl.value(op.memref)])


def lower_global(ml, op):
    """loop.global -> `llvm.mlir.global internal constant` of the flattened data."""
    t = op.memref_type
    element = convert_type(t.element_type, op)
    count = int(np.prod(t.shape, dtype=np.int64))
    data = np.asarray(attribute_value(op.value), dtype=dtype_of(t)).reshape(-1)
    value = DenseElementsAttr(TensorType([count], element), data)
    ml.add(llvm.GlobalOp.build(sym_name=op.sym_name.value, linkage="internal", constant=True,
                               value=value, global_type=llvm.LLVMArrayType(count, element),
                               alignment=ALIGNMENT, location=op.location))


@lowers("loop.get_global")
def get_global(fl, op):
    fl.bind(op.memref, fl.emit1(llvm.AddressOfOp, global_name=op.global_name.root))


# ---- vectors --------------------------------------------------------------------------------

@lowers("loop.broadcast")
def broadcast(fl, op):
    t = convert_type(op.result.type, op)
    undef = fl.emit1(llvm.UndefOp, result_types=[t])
    first = fl.emit1(llvm.InsertElementOp, undef, fl.value(op.source), fl.constant(0, i32))
    fl.bind(op.result, fl.emit1(llvm.ShuffleVectorOp, first, undef, mask=[0] * t.shape[0]))


def _combiner(fl, kind: str, is_float: bool):
    if is_float:
        if kind == "max":
            return lambda a, b: fl.emit1(llvm.MaximumOp, args=[a, b])  # NaN propagates, as np.max
        if kind == "min":
            return lambda a, b: fl.emit1(llvm.MinimumOp, args=[a, b])
        return lambda a, b: fl.emit1(llvm.FAddOp if kind == "sum" else llvm.FMulOp, a, b)
    if kind in ("max", "min"):
        predicate = "sgt" if kind == "max" else "slt"
        return lambda a, b: select(fl, icmp(fl, predicate, a, b), a, b)
    return lambda a, b: fl.emit1(llvm.AddOp if kind == "sum" else llvm.MulOp, a, b)


@lowers("loop.reduce_vector")
def reduce_vector(fl, op):
    kind = op.kind.value
    v = fl.value(op.vector)
    t = v.type
    scalar = t.element_type
    is_float = llvm.is_float_like(t)
    reassoc = llvm.FastMathFlagsAttr("reassoc")
    if is_float and kind in ("sum", "prod"):
        cls = llvm.VectorReduceFAddOp if kind == "sum" else llvm.VectorReduceFMulOp
        start = fl.constant(-0.0 if kind == "sum" else 1.0, scalar)
        fl.bind(op.result, fl.emit1(cls, start, v, fastmathFlags=reassoc))
        return
    if not (is_float or llvm.is_int_like(t)):
        raise error(op.location, f"lower-loop-to-llvm: cannot reduce {op.vector.type}")
    combine = _combiner(fl, kind, is_float)
    width = t.shape[0]
    while width > 1 and width % 2 == 0:  # halve: combine the low and the high half
        half = width // 2
        low = fl.emit1(llvm.ShuffleVectorOp, v, v, mask=list(range(half)))
        high = fl.emit1(llvm.ShuffleVectorOp, v, v, mask=list(range(half, width)))
        v, width = combine(low, high), half
    acc = fl.emit1(llvm.ExtractElementOp, v, fl.constant(0, i32))
    for k in range(1, width):
        acc = combine(acc, fl.emit1(llvm.ExtractElementOp, v, fl.constant(k, i32)))
    fl.bind(op.result, acc)
