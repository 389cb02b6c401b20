"""lowering: layout packing of a compute's operand (TVM's packed dense and conv2d_NCHWc
weights, GotoBLAS's packed B panels), as a rewrite of the te.kernel.

`pack_last_axis` splits an operand's last axis into panels of `factor` elements and moves
the panel index outermost: `T[x..., n]` becomes `P[n floordiv f, x..., n mod f]` with
`P = te.compute` over `[N/f, X..., f]`. A micro-kernel whose vectors run along `n` and whose
reduction runs along `x` then reads one contiguous stream per column panel (`f` floats a
reduction step, the next step's right after) instead of `f` floats out of every row of `T`
(rows kilobytes apart: every step a new cache line and page, and rows a power of two apart
alias in the same L1 set).

The pack is an ordinary compute: when the operand is a constant (a weight) te-fold-constants
evaluates it when the model compiles, so the packed layout costs nothing at run time;
otherwise it runs once per call, before the product (O(size) against the product's
O(size x rows)). The reads are rewritten with `floordiv`/`mod` by the panel width, which the
access analysis (lowering/access.py) and loop-vectorize understand as "invariant within a
panel" and "contiguous within a panel"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.dialects import arith
from descend.dialects.te import ComputeOp, KernelOp, ReadOp
from descend.dialects.te.builder import compute_op
from descend.ir import Builder, Context, IntegerAttr, Operation, index
from descend.rewrites import Pass, option, register_pass


class LayoutError(ValueError):
    """A pack that does not apply; the message names the compute and the operand."""


def pack_last_axis(compute: ComputeOp, operand: int, factor: int) -> ComputeOp:
    """Read `compute`'s operand `operand` through column panels of its last axis (see the
    module docstring); the packing compute is inserted right before `compute` and returned."""
    return pack_axis(compute, operand, -1, factor)


def pack_axis(compute: ComputeOp, operand: int, axis: int, factor: int) -> ComputeOp:
    """Read `compute`'s operand through panels of `factor` along `axis`: `T[.., a, ..]` becomes
    `P[a floordiv f, .., .., a mod f]` (the panel index outermost, the lane innermost), as
    TVM's NCHW[x]c layouts do for activations: a vector of channels is then one load."""
    inputs = list(compute.inputs)
    if not 0 <= operand < len(inputs):
        raise LayoutError(f"pack: compute has {len(inputs)} operands, no operand {operand}")
    tensor = inputs[operand]
    shape = tuple(tensor.type.shape)
    if not shape:
        raise LayoutError("pack: the operand is a scalar (rank 0): it has no axis to pack")
    if not -len(shape) <= axis < len(shape):
        raise LayoutError(f"pack: the operand has rank {len(shape)}, no axis {axis}")
    axis %= len(shape)
    if factor < 2 or shape[axis] % factor:
        raise LayoutError(f"pack: panels of {factor} do not divide the operand's axis {axis} ({shape[axis]})")
    rest = shape[:axis] + shape[axis + 1:]

    def body(b, i, r, reads):
        panel, *others, lane = i
        index = [*others[:axis], b.add(b.mul(panel, factor), lane), *others[axis:]]
        return reads[0][tuple(index)]
    packed = compute_op((shape[axis] // factor, *rest, factor), tensor.type.element_type, [tensor], body,
                        location=compute.location)
    hint = tensor.name_hint
    if hint is None and tensor.defining_op is None:  # a kernel argument: the caller's name
        kernel = compute.parent_op
        hint = kernel.operands[tensor.index].name_hint if tensor.index < len(kernel.operands) else None
    packed.output.name_hint = f"{hint}.panels" if hint else None
    compute.parent.insert_before(compute, packed)
    f = compute.block.prepend(arith.ConstantOp.build(value=IntegerAttr(factor, index),
                                                     location=compute.location)).result
    for read in [op for op in compute.block.ops if isinstance(op, ReadOp) and op.tensor is tensor]:
        b = Builder.before(read)
        indices = list(read.indices)
        panel = b.build(arith.FloorDivSIOp, indices[axis], f).result
        lane = b.build(arith.RemSIOp, indices[axis], f).result
        new = b.build(ReadOp, packed.output, [panel, *indices[:axis], *indices[axis + 1:], lane])
        read.value.replace_all_uses_with(new.value)
        read.erase()
    compute.set_operands([packed.output if v is tensor else v for v in inputs])
    return packed


@register_pass
@dataclass(frozen=True)
class TePackLayouts(Pass):
    """Apply kernels' pack records, and pack the operands the default schedule reads in
    panels (the weights of matmul, dense and convolution, a depthwise convolution's input)
    in kernels without a schedule; run before te-fold-constants, which packs constants once."""

    name: ClassVar[str] = "te-pack-layouts"
    statistics: ClassVar[dict] = {"packed": "operands read through column panels"}

    vector_bytes: int = option(32, help="the target's vector register width in bytes (16, 32, 64): "
                                        "panels are a micro-kernel's vectors")

    def __post_init__(self):
        if self.vector_bytes not in (16, 32, 64):
            raise ValueError(f"vector-bytes must be 16, 32 or 64, got {self.vector_bytes}")

    def run(self, op: Operation, ctx: Context) -> None:
        from .default_schedule import layout_packs
        from .te_to_loop import apply_layouts
        for kernel in [k for k in op.walk() if isinstance(k, KernelOp)]:
            if kernel.schedule is not None:  # its own pack records
                before = len(kernel.computes())
                apply_layouts(kernel)
                self.count("packed", len(kernel.computes()) - before)
                continue
            for compute, operand, axis, factor in layout_packs(kernel, self.vector_bytes):
                pack_axis(compute, operand, axis, factor)
                self.count("packed")
