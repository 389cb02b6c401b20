"""te -> loop: `lower-te-to-loop` turns te.kernels into loop nests over buffers, applying
each kernel's schedule (its `schedule` attribute, else lowering/default_schedule.py).

- bufferize.py: functions over tensors become functions over buffers in destination-passing
  style (outputs are trailing memref arguments), weights become loop.globals, kernels
  become private functions called from the caller, intermediates loop.alloc/dealloc;
- nest.py: a kernel's computes become loop nests (inlining, reductions, guards, kinds).

`run_loop_function(module, inputs)` runs a lowered function the way its callers do: it
allocates the output buffers, interprets, and returns them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np

from descend.dialects.numeric import dtype_of
from descend.dialects.te import KernelOp
from descend.ir import Context, IntegerAttr, Operation, SymbolTable
from descend.ir.interpreter import Interpreter, as_value
from descend.rewrites import ModulePass, option, register_pass

from ..default_schedule import PARALLEL_THRESHOLD, VECTOR_BYTES, default_schedule
from ..schedule import Schedule
from .bufferize import NUM_OUTPUTS, SymbolNames, bufferize_function, has_tensors
from .nest import KernelLowering, memref_of

__all__ = ["LowerTeToLoop", "kernel_nests", "run_loop_function", "NUM_OUTPUTS", "KernelLowering",
           "memref_of"]


def kernel_nests(kernel: KernelOp, parallel_threshold: int = PARALLEL_THRESHOLD,
                 vector_bytes: int = VECTOR_BYTES) -> dict:
    """{compute: LoopNest} for `kernel`: its own schedule when it has one, else the default
    schedule; either is validated against the kernel (errors located at the kernel)."""
    if kernel.schedule is not None:
        schedule = apply_layouts(kernel)
    else:
        schedule = default_schedule(kernel, parallel_threshold, vector_bytes)
    return schedule.validate(kernel)


def apply_layouts(kernel: KernelOp) -> Schedule:
    """Apply the pack records of `kernel`'s schedule to it (te-pack-layouts does this before
    te-fold-constants packs constants; lowering a kernel that still has them does it here)
    and keep the rest, renumbered, as its schedule."""
    schedule = Schedule.of_kernel(kernel)
    rest = schedule.apply_layouts(kernel)
    if len(rest) != len(schedule):
        kernel.properties["schedule"] = rest.to_attr()
    return rest


@register_pass
@dataclass(frozen=True)
class LowerTeToLoop(ModulePass):
    """Lower te.kernels to loop nests over buffers (destination-passing style), applying
    each kernel's schedule or the default one."""

    name: ClassVar[str] = "lower-te-to-loop"
    dependent_dialects: ClassVar[tuple] = ("loop", "func", "arith", "math")
    statistics: ClassVar[dict] = {"kernels": "te.kernels lowered to functions",
                                  "globals": "weights turned into loop.globals"}

    parallel_threshold: int = option(PARALLEL_THRESHOLD,
                                     help="default schedule: elements from which the outermost loop is parallel")

    vector_bytes: int = option(VECTOR_BYTES, help="default schedule: the target's vector register width "
                                                  "in bytes (16 SSE/NEON, 32 AVX2, 64 AVX-512)")

    def __post_init__(self):
        if self.parallel_threshold < 1:
            raise ValueError(f"parallel-threshold must be at least 1, got {self.parallel_threshold}")
        if self.vector_bytes not in (16, 32, 64):
            raise ValueError(f"vector-bytes must be 16, 32 or 64, got {self.vector_bytes}")

    def run(self, op: Operation, ctx: Context) -> None:
        names = SymbolNames(op)
        functions = [f for f in op.regions[0].blocks[0].ops if f.name == "func.func"
                     and not f.is_declaration and has_tensors(f)]

        def nests_of(kernel):
            self.count("kernels")
            return kernel_nests(kernel, self.parallel_threshold, self.vector_bytes)
        block = op.regions[0].blocks[0]
        globals_before = sum(o.name == "loop.global" for o in block.ops)
        for func in functions:
            bufferize_function(func, names, nests_of)
        self.count("globals", sum(o.name == "loop.global" for o in block.ops) - globals_before)


def run_loop_function(module: Operation, inputs: Sequence, function: str = "main") -> list[np.ndarray]:
    """Run a loop-level function in destination-passing style: allocate its output buffers
    (the last `onnx.num_outputs` arguments; floats filled with NaN so an unwritten element
    shows), interpret it on the inputs and those buffers, and return the buffers."""
    func = SymbolTable(module).lookup(function)
    if func is None:
        raise module.error(f"no function named '@{function}' in the module")
    types = func.function_type.type.inputs
    count = func.attributes.get(NUM_OUTPUTS)
    if not isinstance(count, IntegerAttr):
        raise func.error(f"has no '{NUM_OUTPUTS}' attribute: not a lowered function")
    n_inputs = len(types) - count.value
    if len(inputs) != n_inputs:
        raise func.error(f"expects {n_inputs} inputs, got {len(inputs)}")
    arrays = [as_value(x, t) for x, t in zip(inputs, types)]
    outputs = []
    for t in types[n_inputs:]:
        dtype = dtype_of(t)
        outputs.append(np.full(tuple(t.shape), np.nan if dtype.kind == "f" else 0, dtype=dtype))
    Interpreter().call(func, [*arrays, *outputs])
    return outputs
