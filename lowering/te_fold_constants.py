"""lowering: `te-fold-constants`: a te.compute whose every input is a constant (a weight
passed to the kernel as an `arith.constant` tensor, or another folded compute) is
evaluated at compile time with te's reference semantics and becomes a constant kernel
operand. This is how weights are packed once, when the model is compiled, rather than on
every run: a compute builder reads a weight through a layout-changing compute (conv's
`[c, kh, kw, m]` packing) and this pass turns that compute into the packed weight.

A compute is folded only when its result is no larger than the constants it reads (a
packing or a transposition, not a broadcast that would inflate the binary), and not when
the kernel returns it. Kernel operands left unused are dropped."""

from __future__ import annotations

import math

from descend.dialects import arith
from descend.dialects.te import KernelOp
from descend.dialects.te.semantics import evaluate_compute
from descend.ir import DenseElementsAttr, Operation
from descend.ir.interpreter import attribute_value
from descend.rewrites import function_pass


def _constant_array(value):
    op = value.defining_op
    if isinstance(op, arith.ConstantOp) and isinstance(op.value, DenseElementsAttr):
        return attribute_value(op.value)
    return None


def fold_kernel_constants(kernel: KernelOp) -> int:
    """Fold `kernel`'s constant computes in place; returns how many were folded."""
    block = kernel.block
    known = {}
    for arg, operand in zip(block.args, kernel.inputs):
        array = _constant_array(operand)
        if array is not None:
            known[arg] = array
    returned = set(block.terminator.operands)
    folded = []
    for compute in kernel.computes():
        inputs = list(compute.inputs)
        if not inputs or compute.output in returned or not all(v in known for v in inputs):
            continue
        if math.prod(compute.shape) > sum(known[v].size for v in set(inputs)):
            continue
        known[compute.output] = evaluate_compute(compute, [known[v] for v in inputs])
        folded.append(compute)
    if not folded:
        return 0
    for compute in folded:
        if not compute.output.uses or all(u.owner in folded for u in compute.output.uses):
            continue
        value = DenseElementsAttr(compute.output.type, known[compute.output])
        constant = arith.ConstantOp.build(value=value, location=compute.location)
        kernel.parent.insert_before(kernel, constant)
        constant.result.name_hint = f"{compute.output.name_hint or kernel.kernel_name.value}.packed"
        kernel.set_operands([*kernel.operands, constant.result])
        arg = block.add_argument(constant.result.type)
        compute.output.replace_all_uses_with(arg)
    if kernel.schedule is not None:  # records naming computes by number follow them
        from .schedule import Schedule
        computes = kernel.computes()
        gone = {id(c) for c in folded}
        mapping, kept = {}, 0
        for k, c in enumerate(computes):
            mapping[k] = None if id(c) in gone else kept
            kept += id(c) not in gone
        kernel.properties["schedule"] = Schedule.of_kernel(kernel).renumbered(mapping).to_attr()
    for compute in reversed(folded):
        compute.erase()
    _drop_unused_operands(kernel)
    return len(folded)


def _drop_unused_operands(kernel: KernelOp) -> None:
    block = kernel.block
    keep = [n for n, arg in enumerate(block.args) if arg.uses]
    if len(keep) == len(block.args):
        return
    operands = list(kernel.operands)
    kernel.set_operands([operands[n] for n in keep])
    for n in reversed(range(len(block.args))):
        if n not in keep:
            block.erase_argument(n)
    for operand in operands:
        producer = operand.defining_op
        if isinstance(producer, arith.ConstantOp) and not operand.uses:
            producer.erase()


@function_pass("te-fold-constants")
def TeFoldConstants(op: Operation, ctx) -> None:
    """Evaluate te.computes whose inputs are all constants at compile time (weight packing)."""
    for kernel in [k for k in op.walk() if isinstance(k, KernelOp)]:
        fold_kernel_constants(kernel)
