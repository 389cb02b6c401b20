"""lowering: the default schedule lower-te-to-loop applies to a te.kernel that carries none:
what a CPU expert would write by hand for each compute, in the spirit of TVM's default x86
schedules.

- A compute without reduction axes that other computes of the kernel read, and that the
  kernel does not return, is inlined (`compute_inline`): an elementwise chain becomes one
  loop nest and a padding compute costs no buffer. The exception: the producers a
  micro-kernel reads (below) stay materialised: inlined, they would be recomputed for every
  column panel, and a padding compute would test bounds at every reduction step. Except a
  depthwise window's padding when the copy would cost more memory traffic than the tests
  (`_inline_window_copy`).
- A reduction (matmul, dense, convolution, pooling) gets a register-blocked micro-kernel
  when an output axis `v` can be vectorised (every buffer it reads is contiguous or
  invariant along `v`, and the axis divides into whole vectors): `v` is split into
  `nv` vectors of `width` lanes (the target's vector register), a second output axis `b`
  (the one the vector loads are invariant along, so each load serves `mr` rows) into `mr`
  rows, the loops ordered `v.o <other axes> b.o <reduction axes> b.i v.o.i v.i`, the `mr x nv` vectors accumulated
  in a local tile (`cache_write`, registers after LLVM's SROA), `b.i` and the vector count
  unrolled, the lanes vectorised; the outer axes are fused into one parallel loop.
  When `v` is one vector long (a channel block of NCHWc, nchwc-layout), the tile's `nv`
  vectors step along another output axis instead (the channel blocks), one that the
  broadcast reads are invariant along, so one broadcast feeds `nv` fused multiply-adds.
  An elementwise tail is computed where the tile is written back (the kernel lowering's
  epilogue fusion).
- Other materialised computes vectorise their last axis when they can, and run their
  outermost loop in parallel from PARALLEL_THRESHOLD elements.
- Anything else keeps the default loop order (output axes, then reduction axes, the
  accumulator a scalar carried by the reduction loops).

Records name computes by their index in the kernel (name hints may repeat)."""

from __future__ import annotations

import math

from descend.dialects.te import ComputeOp, KernelOp
from descend.ir import FloatType, IntegerType

from .access import buffer_reads, classify, panels
from .schedule import Schedule

# Elements of output (not counting reduction work) from which the outermost loop runs in
# parallel. 4096 f32 elements is 16 KiB: below that a thread's start-up dominates.
PARALLEL_THRESHOLD = 4096
# Multiply-adds from which a reduction runs in parallel whatever its output size (a
# matrix-vector product of a 512x512 weight is worth two cores).
PARALLEL_WORK = 1 << 18

# The target's vector register in bytes when nobody says (AVX2's); lower-te-to-loop's
# `vector-bytes` option, set from the compile target, overrides it. A half-width vector is
# used when an axis only divides into those.
VECTOR_BYTES = 32
# Rows of a tile at most (each row is unrolled).
MAX_ROWS = 8
# Inner reduction axes up to this extent (a convolution window's taps) are unrolled.
MAX_TAPS = 3


def accumulators(vector_bytes: int) -> int:
    """Vector registers a micro-kernel's tile may take: AVX-512 has 32 registers, AVX2 and
    NEON-class targets 16; the rest hold the vector loads and the broadcast."""
    return 16 if vector_bytes >= 64 else 12


def default_schedule(kernel: KernelOp, parallel_threshold: int = PARALLEL_THRESHOLD,
                     vector_bytes: int = VECTOR_BYTES) -> Schedule:
    """The default schedule of `kernel` (see the module docstring)."""
    computes = kernel.computes()
    inlined = _inlined(kernel)
    plans = {}
    for compute in computes:
        if compute.is_reduction:
            plan = _micro_kernel(compute, inlined, vector_bytes)
            if plan is not None:
                plans[compute] = plan
                for producer in plan.materialise:
                    inlined.pop(producer.output, None)
    schedule = Schedule()
    for n, compute in enumerate(computes):
        if compute.output in inlined:
            schedule.compute_inline(n)
        elif compute in plans:
            plans[compute].apply(schedule, n, parallel_threshold)
        else:
            _plain(schedule, n, compute, inlined, parallel_threshold, vector_bytes)
    return schedule


def _inlined(kernel: KernelOp) -> dict:
    """{te value: compute} of the computes inlined before micro-kernels claim their producers."""
    computes = kernel.computes()
    returned = {id(v) for v in kernel.block.terminator.operands}
    readers: dict[int, list] = {}
    for compute in computes:
        for tensor in {id(v): v for v in compute.inputs}:
            readers.setdefault(tensor, []).append(compute)
    return {c.output: c for c in computes
            if not c.is_reduction and readers.get(id(c.output)) and id(c.output) not in returned}


# Rows (outputs sharing a panel) from which packing an operand that is not a constant pays
# for the copy it makes at every run.
RUNTIME_PACK_ROWS = 32


def layout_packs(kernel: KernelOp, vector_bytes: int = VECTOR_BYTES) -> list[tuple[ComputeOp, int, int, int]]:
    """(compute, operand, axis, panel width) for each operand the default schedule reads in
    panels (lowering/layout.py):
    - weights: an operand a micro-kernel's vectors read contiguously while its reduction
      walks across rows longer than a panel (a weight matrix [k, n] read 16 columns at a
      time), along its last axis. Constants are packed when the model compiles
      (te-fold-constants); others only when enough rows share each panel to pay for the copy;
    - activations: an operand the micro-kernel's vector axis indexes along another axis than
      its last (a depthwise convolution's channels), packed when that plan won even with
      the copy counted."""
    inlined = _inlined(kernel)
    constant = _constant_values(kernel)
    packs = []
    for compute in kernel.computes():
        if not compute.is_reduction:
            continue
        plan = _micro_kernel(compute, inlined, vector_bytes)
        if plan is None:
            continue
        panel = plan.width * plan.nv
        rows = math.prod(compute.shape[int(a[1:])] for a in plan.rows)
        reductions = {f"r{k}" for k in range(len(compute.reduce_extents))}
        reads = buffer_reads(compute, {})
        for n, tensor in enumerate(compute.inputs):
            mine = [r for r in reads if r.tensor is tensor]
            shape = tuple(tensor.type.shape)
            if (not mine or len(shape) < 2 or shape[-1] <= panel or shape[-1] % panel
                    or any(not _bare(r.indices[-1], plan.vector) or classify(r, plan.vector) != "contiguous"
                           for r in mine)
                    or not all(reductions & set().union(*(f.axes for f in r.indices)) for r in mine)):
                continue
            if tensor in constant or rows >= RUNTIME_PACK_ROWS:
                packs.append((compute, n, -1, panel))
        packs.extend((compute, n, axis, plan.width) for n, axis in plan.activations)
    return packs


# A padded copy larger than this (bytes) is read through instead (`_inline_window_copy`).
WINDOW_COPY_BYTES = 1 << 20

# Cycles an element of an activation costs to copy into panels (a strided, scalar copy),
# and the most elements copied per output (a stride-2 window reads a quarter of its input:
# copying all of it costs more than the scalar loops it would replace).
PACK_CYCLES = 1.0
MAX_PACK_COPIES = 2


def _activation_packs(compute: ComputeOp, gathers: list, v: str, width: int) -> list | None:
    """(operand, axis) for operands whose reads gather along `v` only because `v` indexes an
    axis other than their last (a depthwise convolution's channels in NCHW): packed in
    panels of `width` along that axis (NCHW8c), those reads become contiguous. None when
    some gather is not of that kind."""
    inputs = list(compute.inputs)
    packs: dict[int, int] = {}
    for read in gathers:
        at = [p for p, form in enumerate(read.indices) if v in form.axes]
        if (len(at) != 1 or at[0] == len(read.indices) - 1 or not _bare(read.indices[at[0]], v)
                or not any(read.tensor is t for t in inputs)
                or read.tensor.type.shape[at[0]] % width):
            return None
        n = next(k for k, t in enumerate(inputs) if t is read.tensor)
        if packs.setdefault(n, at[0]) != at[0]:
            return None
    copies = sum(math.prod(inputs[n].type.shape) for n in packs)
    if copies > MAX_PACK_COPIES * math.prod(compute.shape):
        return None  # a strided window reads a fraction of what would be copied
    return sorted(packs.items())


def _bare(form, axis: str) -> bool:
    """Is the index exactly `axis` (a column of a weight, not a window's `ow + kw`)?"""
    return form.offset == 0 and not form.other and not form.panel and \
        {a: c for a, c in form.coeffs.items() if c} == {axis: 1}


def _constant_values(kernel: KernelOp) -> set:
    """The kernel's te values known when the model compiles: operands bound to constants, and
    computes (not returned) reading only those (te-fold-constants evaluates them)."""
    known = {arg for arg, operand in zip(kernel.block.args, kernel.inputs)
             if operand.defining_op is not None and operand.defining_op.name == "arith.constant"}
    returned = set(kernel.block.terminator.operands)
    for compute in kernel.computes():
        if compute.inputs and all(v in known for v in compute.inputs) and compute.output not in returned:
            known.add(compute.output)
    return known


def _vector_width(compute: ComputeOp, extent: int, vector_bytes: int) -> int | None:
    t = compute.element_type
    if not isinstance(t, (FloatType, IntegerType)) or t.width not in (32, 64):
        return None  # (f16/bf16 vectors need native support; narrow ints, care with widening)
    lanes = vector_bytes * 8 // t.width
    for width in (lanes, lanes // 2):
        if width >= 4 and extent % width == 0:
            return width
    return None


def _vectorisable(compute: ComputeOp, inlined: dict, axis: str, width: int | None) -> bool:
    return all(classify(r, axis, width) != "gather" for r in buffer_reads(compute, inlined))


class _Plan:
    """A reduction's micro-kernel: vector axis and width, vectors per row, the row axes (one,
    or adjacent ones fused: a convolution's output positions) and rows per tile, and the
    producers to keep materialised."""

    def __init__(self, compute, vector, width, nv, rows, mr, materialise, activations=(), block=None):
        self.compute = compute
        self.vector, self.width, self.nv = vector, width, nv
        self.block = block  # the axis the tile's nv vectors step along, when not `vector` itself
        self.rows, self.mr = rows, mr
        self.materialise = materialise
        self.activations = list(activations)  # (operand, axis) to pack in panels of `width`
        self.kc, self.mc = _cache_blocks(compute, vector, width * nv, rows, mr)

    @property
    def score(self) -> float:
        """Minus the estimated cycles per output element: a reduction step issues nv*mr
        fused multiply-adds and nv + mr loads, two of either per cycle, for width*nv*mr
        outputs; writing an output back costs a vector store's share when the vector axis
        is the output's last (contiguous) axis, else a scalar store and its epilogue."""
        k = math.prod(self.compute.reduce_extents)
        step = max(self.nv * self.mr, self.nv + self.mr) / 2
        contiguous = self.vector == f"i{len(self.compute.shape) - 1}"
        inputs = list(self.compute.inputs)
        copies = sum(math.prod(inputs[n].type.shape) for n, _ in self.activations) / math.prod(self.compute.shape)
        return -(k * step / (self.width * self.nv * self.mr) + (1 / self.width if contiguous else 2.0)
                 + PACK_CYCLES * copies)

    def apply(self, s: Schedule, n: int, parallel_threshold: int) -> None:
        shape = self.compute.shape
        v, rows = self.vector, list(self.rows)
        b = rows[0] if rows else None
        for k, axis in enumerate(rows[1:]):
            b = s.fuse(n, b, axis, f"rows{k}")
        if self.block is not None:  # nv channel blocks of one vector each (NCHWc)
            vo, vio = s.split(n, self.block, self.nv, "v.o", "v.o.i")
            vii = v
        else:
            vo, vi = s.split(n, v, self.width * self.nv, "v.o", "v.i")
            vio, vii = s.split(n, vi, self.width, "v.o.i", "v.i.i")
        # the column panel outermost: its vector loads (a weight panel) stay in cache while
        # every row block streams past (GotoBLAS's order)
        outer = [vo] + [f"i{k}" for k in range(len(shape))
                        if f"i{k}" not in (v, self.block) and f"i{k}" not in rows]
        tile = [vio, vii]
        if b is not None:
            bo, bi = s.split(n, b, self.mr, "b.o", "b.i")
            outer += [bo]
            tile = [bi, *tile]
            if self.mr > 1:
                s.unroll(n, bi)
        reductions = [f"r{k}" for k in range(len(self.compute.reduce_extents))]
        if self.kc:
            # GotoBLAS's blocking: a kc-deep slice of mc rows stays in L2 while every column
            # panel (kc x vectors, in L1) passes over it; each tile is then a partial sum
            ko, ki = s.split(n, "r0", self.kc, "r0.o", "r0.i")
            boo, boi = s.split(n, bo, self.mc // self.mr, "b.o.o", "b.o.i")
            others = [a for a in outer if a not in (vo, bo)]
            s.reorder(n, *others, boo, ko, vo, boi, ki, *tile)
            outer = [*others, boo]
        else:
            s.reorder(n, *outer, *reductions, *tile)
        for k, extent in enumerate(self.compute.reduce_extents):
            if k > 0 and extent <= MAX_TAPS:  # a kernel window's taps: straight-line code
                s.unroll(n, f"r{k}")
        if self.nv > 1:
            s.unroll(n, vio)
        s.vectorize(n, vii)
        s.cache_write(n)
        fused = outer[0]
        for k, name in enumerate(outer[1:]):
            fused = s.fuse(n, fused, name, f"outer{k}")
        work = math.prod(shape) * math.prod(self.compute.reduce_extents)
        if math.prod(shape) >= parallel_threshold or work >= PARALLEL_WORK:
            s.parallel(n, fused)


def _micro_kernel(compute: ComputeOp, inlined: dict, vector_bytes: int) -> _Plan | None:
    """The best register tile over the output axes that can be vectorised (None: none can)."""
    shape = compute.shape
    if not shape or not compute.reduce_extents:
        return None
    producers = [inlined[v] for v in compute.inputs if v in inlined]
    best = None
    for axis_index in reversed(range(len(shape))):
        v = f"i{axis_index}"
        width = _vector_width(compute, shape[axis_index], vector_bytes)
        if width is None:
            continue
        # a micro-kernel reads buffers: a producer inlined into it would be recomputed for
        # every column panel, and a padding compute would test bounds at every step
        materialise = [p for p in producers if not _inline_window_copy(p, compute)]
        kept = {t: c for t, c in inlined.items() if c not in producers}
        gathers = [r for r in buffer_reads(compute, kept) if classify(r, v, width) == "gather"]
        activations = _activation_packs(compute, gathers, v, width) if gathers else []
        if activations is None:
            continue
        view = {t: c for t, c in inlined.items() if c not in materialise}
        rows = _rows_axes(compute, view, v, axis_index, width)
        extent = math.prod(shape[int(a[1:])] for a in rows)
        # a packed operand's panels: a tile's vectors along v fill whole panels
        panel = max(panels(buffer_reads(compute, view), v), default=width)
        nv, mr = _tile(shape[axis_index] // width, extent, accumulators(vector_bytes), panel // width)
        plans = [_Plan(compute, v, width, nv, rows, mr, materialise, activations)]
        block = _block_axis(compute, view, v, axis_index, width, rows) if nv == 1 else None
        if block is not None:
            nb, mr = _tile(shape[int(block[1:])], extent, accumulators(vector_bytes))
            if nb > 1:
                plans.append(_Plan(compute, v, width, nb, rows, mr, materialise, activations, block))
        for plan in plans:
            if best is None or plan.score > best.score:
                best = plan
    return best


def _block_axis(compute: ComputeOp, inlined: dict, v: str, v_index: int, width: int, rows: list) -> str | None:
    """When the vector axis is one vector long (a channel block of NCHWc), the output axis
    whose steps give the tile more vectors: one that the reads broadcast along `v` (the
    activations) are invariant along, so each broadcast serves every vector, and that the
    vector reads (the weights) depend on. None when there is none."""
    if compute.shape[v_index] != width:
        return None
    reads = buffer_reads(compute, inlined)
    broadcast = [r for r in reads if classify(r, v, width) == "invariant"]
    vectors = [r for r in reads if classify(r, v, width) == "contiguous"]
    for k, extent in enumerate(compute.shape):
        axis = f"i{k}"
        if k == v_index or axis in rows or extent < 2 or not broadcast or not vectors:
            continue
        if all(axis not in f.axes for r in broadcast for f in r.indices) and \
                all(any(axis in f.axes for f in r.indices) for r in vectors):
            return axis
    return None


def _inline_window_copy(producer: ComputeOp, compute: ComputeOp) -> bool:
    """Is `producer` (a zero padding) better read through, bounds tested, than copied? When
    the reduction is a window's few taps (a depthwise convolution) and the copy is more than
    MAX_PACK_COPIES times the output (a stride-2 window reads each input once) or larger
    than the caches keep (WINDOW_COPY_BYTES), the copy's memory traffic costs more than the
    tests. (Measured on MobileNetV2: its 112x112 stride-2 depthwise convolution went from
    0.68 to 0.29 ms, the 112x112 and 56x56 stride-1 ones by a quarter; at 14x14 and 7x7 the
    copy, in cache, wins.)"""
    if producer.is_reduction or math.prod(compute.reduce_extents) > MAX_TAPS * MAX_TAPS:
        return False
    copy = math.prod(producer.shape)
    return copy > MAX_PACK_COPIES * math.prod(compute.shape) or \
        copy * producer.element_type.width // 8 > WINDOW_COPY_BYTES


# Blocking a long reduction for the caches (GotoBLAS): rows x kc floats of the row operand
# should stay in L2 while the column panels pass.
L2_BYTES = 256 * 1024
KC_RANGE = (128, 512)
MC_ROWS = 96


def _cache_blocks(compute: ComputeOp, vector: str, panel: int, rows: list, mr: int) -> tuple[int, int]:
    """(kc, mc) for a 2-D product whose row operand overflows L2, else (0, 0)."""
    shape, extents = compute.shape, compute.reduce_extents
    if len(shape) != 2 or len(extents) != 1 or len(rows) != 1 or mr < 1:
        return 0, 0
    m, k = shape[int(rows[0][1:])], extents[0]
    panels = shape[int(vector[1:])] // panel
    if panels < 2 or m * k * 4 <= L2_BYTES:
        return 0, 0
    kcs = [d for d in range(KC_RANGE[0], KC_RANGE[1] + 1) if k % d == 0]
    blocks = [d for d in range(1, MC_ROWS // mr + 1) if (m // mr) % d == 0]
    if not kcs or not blocks or m % mr:
        return 0, 0
    kc = min(kcs, key=lambda d: abs(d - 256))
    return kc, max(blocks) * mr


def _tile(vectors: int, rows: int, budget: int, panel: int = 1) -> tuple[int, int]:
    """(vectors, rows) of a tile: the most accumulators within the budget, fewest loads;
    the vectors a multiple of `panel` (a packed operand's panel, in vectors)."""
    best, best_key = (panel, 1), None
    for nv in (1, 2, 3, 4):
        if vectors % nv or nv > budget or nv % panel:
            continue
        mr = max(d for d in range(1, min(MAX_ROWS, budget // nv) + 1) if rows % d == 0)
        key = (nv * mr, -(nv + mr))
        if best_key is None or key > best_key:
            best, best_key = (nv, mr), key
    return best


def _rows_axes(compute: ComputeOp, inlined: dict, v: str, v_index: int, width: int) -> list[str]:
    """The output axes whose rows share the vector loads: those most contiguous reads are
    invariant along; when several adjacent ones on one side of the vector axis qualify (a
    convolution's output height and width, after its channels in NCHW, before its channel
    lanes in NCHWc) all of them, to be fused; else the innermost."""
    reads = [r for r in buffer_reads(compute, inlined) if classify(r, v, width) == "contiguous"]
    shared = {}
    for k, extent in enumerate(compute.shape):
        if k != v_index and extent >= 2:
            axis = f"i{k}"
            shared[k] = sum(all(axis not in f.axes for f in r.indices) for r in reads)
    if not shared:
        return []
    top = max(shared.values())
    candidates = [k for k, count in shared.items() if count == top]
    for run in ([k for k in candidates if k > v_index], [k for k in candidates if k < v_index]):
        if len(run) >= 2 and run == list(range(run[0], run[0] + len(run))):
            return [f"i{k}" for k in run]
    return [f"i{candidates[-1]}"]


def _plain(s: Schedule, n: int, compute: ComputeOp, inlined: dict, parallel_threshold: int,
           vector_bytes: int) -> None:
    shape = compute.shape
    if not shape:
        return
    last = f"i{len(shape) - 1}"
    width = None if compute.is_reduction else _vector_width(compute, shape[-1], vector_bytes)
    vectorised = False
    if width is not None and _vectorisable(compute, inlined, last, width) and (len(shape) > 1 or shape[0] > width):
        s.split(n, last, width, f"{last}.o", f"{last}.v")
        s.vectorize(n, f"{last}.v")
        vectorised = True
    elif compute.is_reduction:
        _vectorise_reduction(s, n, compute, inlined, vector_bytes)
    # the outermost loop runs in parallel; leading axes of extent 1 (a batch of one) are
    # fused into the next so there is something to share
    outermost, extent, k = "i0", shape[0], 1
    if vectorised and len(shape) == 1:
        outermost, extent = f"{last}.o", shape[0] // width
    while extent == 1 and k < len(shape):
        inner = f"i{k}" if k < len(shape) - 1 or not vectorised else f"{last}.o"
        outermost = s.fuse(n, outermost, inner, f"i0_{k}")
        extent *= shape[k] if inner == f"i{k}" else shape[k] // width
        k += 1
    work = math.prod(shape) * math.prod(compute.reduce_extents)
    if extent > 1 and (math.prod(shape) >= parallel_threshold or compute.is_reduction and work >= PARALLEL_WORK):
        s.parallel(n, outermost)


def _vectorise_reduction(s: Schedule, n: int, compute: ComputeOp, inlined: dict, vector_bytes: int) -> None:
    """A reduction along rows (softmax's max and sum, a norm's mean): the innermost
    reduction axis as vector lanes, when every read is contiguous or invariant along it;
    each vector's lanes are reduced once (loop-vectorize)."""
    k = len(compute.reduce_extents) - 1
    axis, extent = f"r{k}", compute.reduce_extents[k]
    width = _vector_width(compute, extent, vector_bytes)
    if width is None or extent < 2 * width or not _vectorisable(compute, inlined, axis, width):
        return
    s.split(n, axis, width, f"{axis}.o", f"{axis}.v")
    s.vectorize(n, f"{axis}.v")
