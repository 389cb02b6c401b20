"""lowering: the default schedule lower-te-to-loop applies to a te.kernel that carries none.

Three rules, in the spirit of TVM's default CPU schedules:
- a compute without reduction axes that other computes of the kernel read, and that the
  kernel does not return, is inlined (`compute_inline`): its body is substituted at each
  read, so an elementwise chain becomes one loop nest and a padding compute costs no buffer;
- a materialised compute of at least PARALLEL_THRESHOLD elements runs its outermost output
  loop in parallel (enough work per call to pay for threads);
- everything else stays serial, in the default loop order (output axes, then reduction
  axes, so a reduction accumulates in a scalar carried by its loops).

Records name computes by their index in the kernel (name hints may repeat)."""

from __future__ import annotations

import math

from descend.dialects.te import KernelOp

from .schedule import Schedule

# Elements of output (not counting reduction work) from which the outermost loop runs in
# parallel. 4096 f32 elements is 16 KiB: below that a thread's start-up dominates.
PARALLEL_THRESHOLD = 4096


def default_schedule(kernel: KernelOp, parallel_threshold: int = PARALLEL_THRESHOLD) -> Schedule:
    """The default schedule of `kernel` (see the module docstring)."""
    computes = kernel.computes()
    returned = {id(v) for v in kernel.block.terminator.operands}
    readers: dict[int, int] = {}
    for compute in computes:
        for tensor in {id(v) for v in compute.inputs}:
            readers[tensor] = readers.get(tensor, 0) + 1
    schedule = Schedule()
    for n, compute in enumerate(computes):
        value = id(compute.output)
        if not compute.is_reduction and readers.get(value) and value not in returned:
            schedule.compute_inline(n)
        elif compute.shape and math.prod(compute.shape) >= parallel_threshold and compute.shape[0] > 1:
            schedule.parallel(n, "i0")
    return schedule
