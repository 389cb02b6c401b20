"""te -> loop: one te.kernel becomes one function over buffers, each materialised
te.compute a loop nest built from its schedule's LoopNest.

The kernel's function takes its input buffers, then one output buffer per result, and
returns nothing. Per compute (in order):
- inlined (compute_inline): no loops; its body is emitted again at each te.read of it, with
  the producer's indices bound to the read's indices;
- dead (neither returned nor read by a live compute): nothing;
- otherwise materialised into its output buffer (a result of the kernel) or a kernel-local
  loop.alloc (freed before the function returns), by a loop nest:
  * loops from LoopNest.loops (extent, kind), the original axes rebuilt as index
    arithmetic (`i0 = i0.outer*8 + i0.inner`: muli/addi, fuse's divui/remui), tail guards
    as a loop.if around what they guard;
  * a reduction whose reduction loops are innermost (the default) carries its accumulator
    through them as iter_args, starting from `init` or the combiner's identity, and stores
    once per output element; when a reduction loop encloses an output loop
    (`reduction_encloses_output`) a first nest fills the buffer with the start value and
    the main nest accumulates in memory (load, combine, store);
  * with cache_write, the output loops inside the reduction loops span a loop.alloca tile:
    filled with the start value, updated by each reduction step (a guarded step adds the
    combiner's identity, so out-of-range lanes never read out of bounds) and stored once
    to the output after the reduction, the fused epilogue applied there;
  * its Stages (compute_at producers, cache_read copies) open at the top of their loop's
    body, whichever path builds that loop: a loop.alloca of the region's shape, filled by
    the producer's own nest over the region (this same lowering, its axes offsets whose
    body reads at base + offset) or by a copy nest (`<name>.0`, `<name>.1`, ...) loading
    the tensor at base + t, guarded where base + offset may pass the tensor's end; from
    there on the consumer's reads of the tensor load the local buffer at their index minus
    the base (`_difference`: the part of the index the base does not share);
- computed at another compute's loop (compute_at): nothing here, no buffer; its consumer's
  nest computes it.
The body's arith/math ops are cloned (its constants once, at the top of the function);
te.read becomes loop.load of the buffer holding the tensor; te.yield's value is what is
stored or combined. `vectorized` loops keep a scalar body (LLVM's loop vectoriser widens
them later); `unrolled` loops are expanded by loop-unroll."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from descend.dialects import arith
from descend.dialects.func import FuncOp, ReturnOp as FuncReturnOp
from descend.dialects.loop import AllocaOp, AllocOp, DeallocOp, ForOp, IfOp, LoadOp, StoreOp, YieldOp
from descend.dialects.numeric import dtype_of
from descend.dialects.te import ComputeOp, KernelOp, ReadOp, YieldOp as TeYieldOp
from descend.dialects.te.semantics import identity
from descend.ir import (Block, Builder, FloatAttr, FloatType, FunctionType, IntegerAttr, IntegerType,
                        MemRefType, ShapedType, Value, f32, index)

from ..schedule import Add, Const, FloorDiv, Guard, IndexExpr, Loop, LoopNest, Mod, Mul, Stage, Var, add, variables


def memref_of(t: ShapedType) -> MemRefType:
    """The buffer type holding a tensor of type `t`."""
    return MemRefType(tuple(t.shape), t.element_type)


class Constants:
    """Scalar constants of one function, each made once at the top of its entry block (in
    the order first asked for), so loop bodies do not rebuild them every iteration."""

    def __init__(self, block: Block):
        self.block = block
        self.last = None
        self.cache: dict = {}

    def get(self, attr, hint: str | None = None) -> Value:
        key = (attr.type, attr)
        value = self.cache.get(key)
        if value is None:
            op = arith.ConstantOp.build(value=attr)
            if self.last is None:
                self.block.prepend(op)
            else:
                self.block.insert_after(self.last, op)
            self.last = op
            value = self.cache[key] = op.result
            value.name_hint = hint or "cst"
        return value

    def index(self, n: int) -> Value:
        return self.get(IntegerAttr(int(n), index), f"c{n}")


# ---- combiners ------------------------------------------------------------------------------

def start_value(compute: ComputeOp):
    """The reduction's start value as an attribute: `init`, else the combiner's identity."""
    if compute.init is not None:
        return compute.init
    t = compute.element_type
    value = identity(compute.combiner.value, dtype_of(t))
    return FloatAttr(float(value), t) if isinstance(t, FloatType) else IntegerAttr(int(value), t)


def accumulator_type(compute: ComputeOp):
    """The type a reduction carried in registers accumulates in: f32 for f16/bf16 sums and
    products (rounding every step to 11 or 8 bits of mantissa loses what numpy's pairwise
    summation keeps), else the element type."""
    t = compute.element_type
    if isinstance(t, FloatType) and t.width == 16 and compute.combiner.value in ("sum", "prod"):
        return f32
    return t


def combiner_op(combiner: str, t) -> type:
    """The arith op that combines two elements of type `t` (te's semantics: integer max/min
    are signed; on i1 sum is xor, prod and min are and, max is or)."""
    if isinstance(t, FloatType):
        return {"sum": arith.AddFOp, "prod": arith.MulFOp, "max": arith.MaximumFOp,
                "min": arith.MinimumFOp}[combiner]
    if isinstance(t, IntegerType) and t.width == 1:
        return {"sum": arith.XOrIOp, "prod": arith.AndIOp, "max": arith.OrIOp,
                "min": arith.AndIOp}[combiner]
    return {"sum": arith.AddIOp, "prod": arith.MulIOp, "max": arith.MaxSIOp,
            "min": arith.MinSIOp}[combiner]


# ---- loops ----------------------------------------------------------------------------------

def build_for(b: Builder, constants: Constants, extent: int, kind: str = "serial", name: str | None = None,
              inits: Sequence[Value] = ()) -> tuple[ForOp, Builder]:
    """`loop.for %name = 0 to extent step 1` at `b`; returns it and a builder in its body
    (the caller ends the body with loop.yield)."""
    op = b.build(ForOp, constants.index(0), constants.index(extent), constants.index(1),
                 inits=list(inits), kind=kind)
    if name is not None:
        op.induction_variable.name_hint = name
    body = Builder.at_end(op.body.blocks[0])
    body.location = b.location
    return op, body


def copy_buffer(b: Builder, constants: Constants, source: Value, dest: Value) -> None:
    """A loop nest copying `source` into `dest` (buffers of one shape)."""
    shape = tuple(source.type.shape)
    ivs, inner, closers = [], b, []
    for n, extent in enumerate(shape):
        _, body = build_for(inner, constants, extent, name=f"i{n}")
        closers.append(body)
        ivs.append(body.insertion_point.block.args[0])
        inner = body
    value = inner.build(LoadOp, source, ivs)
    inner.build(StoreOp, value.result, dest, ivs)
    for body in reversed(closers):
        body.build(YieldOp, [])


class ExprEmitter:
    """Index expressions of LoopNest as arith on index, each subexpression once per block."""

    def __init__(self, b: Builder, constants: Constants, env: dict):
        self.b = b
        self.constants = constants
        self.env = env          # loop name -> induction variable
        self.memo: dict = {}

    def __call__(self, e: IndexExpr) -> Value:
        value = self.memo.get(e)
        if value is not None:
            return value
        if isinstance(e, Var):
            value = self.env[e.name]
        elif isinstance(e, Const):
            value = self.constants.index(e.value)
        elif isinstance(e, Add):
            value = self.b.build(arith.AddIOp, self(e.lhs), self(e.rhs)).result
        elif isinstance(e, Mul):
            value = self.b.build(arith.MulIOp, self(e.lhs), self.constants.index(e.factor)).result
        elif isinstance(e, FloorDiv):  # operands are never negative: unsigned division is exact
            value = self.b.build(arith.DivUIOp, self(e.lhs), self.constants.index(e.divisor)).result
        elif isinstance(e, Mod):
            value = self.b.build(arith.RemUIOp, self(e.lhs), self.constants.index(e.divisor)).result
        else:
            raise TypeError(f"not an index expression: {e!r}")
        self.memo[e] = value
        return value

    def condition(self, guards: Sequence[Guard]) -> Value:
        """The conjunction of `expr < extent` over the guards."""
        result = None
        for guard in guards:
            test = self.b.build(arith.CmpIOp, self(guard.expr), self.constants.index(guard.extent),
                                predicate="ult").result
            result = test if result is None else self.b.build(arith.AndIOp, result, test).result
        return result


def _is_zero(value) -> bool:
    op = value.defining_op
    return isinstance(op, arith.ConstantOp) and getattr(op.value, "value", None) == 0


def _at_own_indices(read: ReadOp, consumer: ComputeOp) -> bool:
    """Does `read` (in `consumer`, of a tensor shaped like its output) read the element
    the consumer computes? An axis of extent 1 may be read at a constant 0 (broadcasting)."""
    shape = read.tensor.type.shape
    return all(i is a or (d == 1 and _is_zero(i))
               for i, a, d in zip(read.indices, consumer.block.args, shape))


def _same_element(at, axes, shape) -> bool:
    """Do index values `at` and `axes` name one element of a tensor of `shape` (on an axis of
    extent 1 every index is 0)?"""
    return len(at) == len(axes) and all(a is b or d == 1 for a, b, d in zip(at, axes, shape))


def _index_constant(value) -> int | None:
    op = value.defining_op
    v = getattr(op.value, "value", None) if isinstance(op, arith.ConstantOp) else None
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _linear_value(value, leaves: dict) -> tuple[dict, int]:
    """An index value as ({leaf key: coefficient}, constant) through addi, subi and muli by a
    constant; any other value is a leaf (`leaves` maps its key to it). A divui or remui is
    keyed by its operands' forms, so two computations of one expression are one leaf."""
    constant = _index_constant(value)
    if constant is not None:
        return {}, constant
    op = value.defining_op
    if isinstance(op, (arith.AddIOp, arith.SubIOp)):
        sign = 1 if isinstance(op, arith.AddIOp) else -1
        (terms, k), (other, k2) = _linear_value(op.operands[0], leaves), _linear_value(op.operands[1], leaves)
        for key, c in other.items():
            terms[key] = terms.get(key, 0) + sign * c
        return terms, k + sign * k2
    if isinstance(op, arith.MulIOp):
        for x, y in (op.operands, reversed(op.operands)):
            factor = _index_constant(y)
            if factor is not None:
                terms, k = _linear_value(x, leaves)
                return {key: c * factor for key, c in terms.items()}, k * factor
    key = value
    if isinstance(op, (arith.DivUIOp, arith.RemUIOp)):
        forms = [_linear_value(v, leaves) for v in op.operands]
        key = (op.name, *((frozenset(t.items()), k) for t, k in forms))
    leaves.setdefault(key, value)
    return {key: 1}, 0


# ---- one kernel -----------------------------------------------------------------------------

class KernelLowering:
    """Builds the function of one te.kernel from its computes and their loop nests."""

    def __init__(self, kernel: KernelOp, nests: dict, name: str):
        self.kernel = kernel
        self.nests = nests
        self.name = name
        self.buffers: dict = {}   # te value (kernel argument or compute result) -> buffer
        self.inlined: dict = {}   # te value -> the inlined ComputeOp defining it
        self.forwarded: dict = {}  # te value -> (indices, scalar): a fused epilogue's read of its anchor
        self.hooks: dict = {}      # loop name -> Stages to make at the top of its body
        self.shift: dict = {}      # ComputeOp -> index bases: a computed-at producer's region
        self.local: dict = {}      # te value -> (local buffer, bases): a Stage's reads redirected

    def build(self) -> FuncOp:
        kernel = self.kernel
        block = kernel.block
        returned = list(block.terminator.operands)
        in_types = [memref_of(a.type) for a in block.args]
        out_types = [memref_of(v.type) for v in returned]
        func = FuncOp.build(sym_name=self.name, function_type=FunctionType(in_types + out_types, []),
                            sym_visibility="private", location=kernel.location)
        entry = func.entry_block
        self.constants = Constants(entry)
        for arg, operand, new in zip(block.args, kernel.inputs, entry.args):
            new.name_hint = arg.name_hint or operand.name_hint
            self.buffers[arg] = new
        outs = entry.args[len(block.args):]
        for n, (value, out) in enumerate(zip(returned, outs)):
            out.name_hint = value.name_hint or f"out{n}"
        b = Builder.at_end(entry)
        b.location = kernel.location

        destinations, copies = {}, []
        for value, out in zip(returned, outs):
            if isinstance(value.defining_op, ComputeOp) and value not in destinations:
                destinations[value] = out
            else:
                copies.append((value, out))
        live = self._live_computes(returned)
        epilogues = self._epilogues(returned) if kernel.schedule is None else {}
        fused_into = {e: c for c, e in epilogues.items()}
        local = []
        self.inlined.update((c.output, c) for c in kernel.computes() if self.nests[c].inlined)
        for compute in kernel.computes():
            nest = self.nests[compute]
            if nest.inlined or nest.computed_at is not None:
                continue
            if compute not in live or compute in fused_into:
                continue
            epilogue = epilogues.get(compute)
            if epilogue is not None:
                # the elementwise tail is computed where the reduction's total is stored
                # (TVM's fusion of an elementwise tail into its anchor): no buffer for `compute`
                dest = destinations.get(epilogue.output)
                if dest is None:
                    alloc = b.build(AllocOp, result_types=[memref_of(epilogue.output.type)],
                                    location=epilogue.location)
                    alloc.memref.name_hint = epilogue.output.name_hint
                    dest = alloc.memref
                    local.append(dest)
                self.buffers[epilogue.output] = dest
                b.location = compute.location
                self.emit_compute(b, compute, nest, dest, epilogue)
                continue
            dest = destinations.get(compute.output)
            if dest is None:
                alloc = b.build(AllocOp, result_types=[memref_of(compute.output.type)],
                                location=compute.location)
                alloc.memref.name_hint = compute.output.name_hint
                dest = alloc.memref
                local.append(dest)
            self.buffers[compute.output] = dest
            b.location = compute.location
            self.emit_compute(b, compute, nest, dest)
        b.location = kernel.location
        for value, out in copies:
            copy_buffer(b, self.constants, self.buffers[value], out)
        for buffer in local:
            b.build(DeallocOp, buffer)
        b.build(FuncReturnOp, [])
        return func

    def _epilogues(self, returned) -> dict:
        """{reduction compute: the elementwise compute to fuse after it}: the materialised
        compute reading the reduction through its only reader, or a chain of inlined only
        readers (bias, then relu), all of one shape and reading at their own indices, with the
        reduction not returned and its total kept in registers (a scalar carried innermost, or
        a cache_write tile)."""
        readers: dict = {}
        for compute in self.kernel.computes():
            for op in compute.block.ops:
                if isinstance(op, ReadOp):
                    readers.setdefault(op.tensor, []).append((compute, op))
        order = {c.output: n for n, c in enumerate(self.kernel.computes())}
        fused = {}
        for compute in self.kernel.computes():
            nest = self.nests[compute]
            if (not compute.is_reduction or (nest.reduction_encloses_output and not nest.cache_write)
                    or nest.partial_tiles or compute.output in returned):
                continue
            consumer, chain = self._tail(compute.output, readers)
            if consumer is None or consumer.is_reduction or consumer in fused.values():
                continue
            # the tail runs inside the anchor's nest: whatever else it reads must exist by then
            inputs = {v for c in (*chain, consumer) for v in c.inputs} - {compute.output, *(c.output for c in chain)}
            if any(order.get(v, -1) > order[compute.output] for v in inputs):
                continue
            fused[compute] = consumer
        return fused

    def _tail(self, value, readers) -> tuple:
        """The materialised compute that reads `value` through a chain of inlined elementwise
        computes, each the only reader of the one before, all of one shape and reading at
        their own indices; and that chain. (None, ()) when there is no such compute."""
        chain = []
        while True:
            uses = readers.get(value, [])
            if len(uses) != 1:
                return None, ()
            consumer, read = uses[0]
            if (consumer.is_reduction or consumer.output.type.shape != value.type.shape
                    or not _at_own_indices(read, consumer)):
                return None, ()
            if not self.nests[consumer].inlined:
                return consumer, tuple(chain)
            chain.append(consumer)
            value = consumer.output

    def _live_computes(self, returned) -> set:
        live_values = set(returned)
        live = set()
        for compute in reversed(self.kernel.computes()):
            if compute.output in live_values:
                live.add(compute)
                live_values.update(compute.inputs)
        return live

    # ---- bodies ---------------------------------------------------------------------------

    def emit_body(self, b: Builder, compute: ComputeOp, indices: Sequence[Value]) -> Value:
        """Clone `compute`'s body at `b` with its block arguments bound to `indices`; returns
        the element it yields. Reads of inlined computes emit their bodies in turn."""
        shift = self.shift.get(compute)
        if shift is not None:  # a region of a computed-at producer: its axes are offsets
            indices = [i if base is None else b.build(arith.AddIOp, base, i).result
                       for i, base in zip(indices, shift)] + list(indices[len(shift):])
        mapping = dict(zip(compute.block.args, indices))
        for op in compute.block.ops:
            if isinstance(op, TeYieldOp):
                return mapping[op.value]
            if isinstance(op, ReadOp):
                at = [mapping[i] for i in op.indices]
                producer = self.inlined.get(op.tensor)
                forwarded = self.forwarded.get(op.tensor)
                if forwarded is not None and _same_element(at, forwarded[0], op.tensor.type.shape):
                    mapping[op.value] = forwarded[1]
                elif producer is not None:
                    mapping[op.value] = self.emit_body(b, producer, at)
                elif op.tensor in self.local:
                    buffer, bases = self.local[op.tensor]
                    at = [self.constants.index(0) if extent == 1 else i if base is None
                          else self._difference(b, i, base)
                          for i, base, extent in zip(at, bases, buffer.type.shape)]
                    mapping[op.value] = b.build(LoadOp, buffer, at, location=op.location).result
                else:
                    load = b.build(LoadOp, self.buffers[op.tensor], at, location=op.location)
                    mapping[op.value] = load.result
                continue
            if isinstance(op, arith.ConstantOp):
                mapping[op.result] = self.constants.get(op.value, op.result.name_hint)
                continue
            b.insert(op.clone(mapping))
        raise compute.error("body ended without te.yield")

    # ---- nests ----------------------------------------------------------------------------

    def emit_compute(self, b: Builder, compute: ComputeOp, nest: LoopNest, dest: Value,
                     epilogue: ComputeOp | None = None, env: dict | None = None) -> None:
        """`compute`'s loop nest at `b`, storing into `dest`; `env` binds names its index
        expressions and guards use besides its loops (a stage's bases)."""
        saved = self.hooks, self.local
        self.hooks, self.local = {}, {}
        for stage in nest.stages:
            self.hooks.setdefault(stage.axis, []).append(stage)
        try:
            self._emit_nests(b, compute, nest, dest, epilogue, dict(env or {}))
        finally:
            self.hooks, self.local = saved

    def _emit_nests(self, b: Builder, compute: ComputeOp, nest: LoopNest, dest: Value,
                    epilogue: ComputeOp | None, env: dict) -> None:
        if nest.cache_write:
            outer, reductions, tile = nest.tile_split()
            if nest.partial_tiles:
                self._fill(b, compute, nest, dest)
            self._nest(b, outer, env,
                       lambda inner, env: self._tile(inner, compute, nest, (*reductions, *tile), env, dest, epilogue))
            return
        if epilogue is not None:
            outer = [loop for loop in nest.loops if not loop.reduction]
            inner_loops = nest.loops[len(outer):]
            self._nest(b, outer, env, lambda inner, env: self._reduce(inner, compute, nest, inner_loops, env,
                                                                     dest, epilogue))
            return
        if not compute.is_reduction:
            self._nest(b, nest.loops, env, lambda inner, env: self._elementwise(inner, compute, nest, env, dest))
        elif nest.reduction_encloses_output:
            self._fill(b, compute, nest, dest)
            self._nest(b, nest.loops, env, lambda inner, env: self._accumulate_in_memory(inner, compute, nest, env, dest))
        else:
            outer = [loop for loop in nest.loops if not loop.reduction]
            inner_loops = nest.loops[len(outer):]
            self._nest(b, outer, env, lambda inner, env: self._reduce(inner, compute, nest, inner_loops, env, dest))

    def _nest(self, b: Builder, loops, env: dict, innermost: Callable) -> None:
        if not loops:
            innermost(b, env)
            return
        loop = loops[0]
        _, body = build_for(b, self.constants, loop.extent, loop.kind, loop.name)
        env = {**env, loop.name: body.insertion_point.block.args[0]}
        self._open(body, loop.name, env)
        self._nest(body, loops[1:], env, innermost)
        body.build(YieldOp, [])

    # ---- stages: compute_at and cache_read ----------------------------------------------

    def _open(self, b: Builder, name: str, env: dict) -> None:
        """The Stages placed just inside loop `name` (of the compute being emitted)."""
        for stage in self.hooks.get(name, ()):
            self._stage(b, stage, env)

    def _stage(self, b: Builder, stage: Stage, env: dict) -> None:
        """The stage's local buffer, filled at `b` (the loops outside bound in `env`); the
        compute's reads of the tensor are redirected to it from here on."""
        exprs = ExprEmitter(b, self.constants, env)
        bases = [None if d.base == Const(0) else exprs(d.base) for d in stage.region]
        element = stage.tensor.type.element_type
        local = b.build(AllocaOp, result_types=[MemRefType(stage.shape, element)]).memref
        local.name_hint = f"{stage.name}_{'cache' if stage.producer is None else 'local'}"
        hooks, visible = self.hooks, self.local
        self.hooks, self.local = {}, {}  # the stage reads the tensors themselves
        try:
            if stage.producer is None:
                self._copy(b, stage, env, bases, local)
            else:
                self._compute_region(b, stage, bases, local)
        finally:
            self.hooks, self.local = hooks, visible
        self.local[stage.tensor] = (local, bases)

    def _copy(self, b: Builder, stage: Stage, env: dict, bases, local) -> None:
        """cache_read: element t of `local` is the tensor's element at base + t."""
        loops = [Loop(f"{stage.name}.{n}", d.extent) for n, d in enumerate(stage.region)]
        spanned = [loop for loop in loops if loop.extent != 1]  # an extent-1 dimension is index 0

        def fill(inner: Builder, e: dict) -> None:
            ts = [self.constants.index(0) if loop.extent == 1 else e[loop.name] for loop in loops]
            at = [t if base is None else base if loop.extent == 1 else inner.build(arith.AddIOp, base, t).result
                  for t, base, loop in zip(ts, bases, loops)]
            condition = None
            for index_value, dim in zip(at, stage.region):
                if dim.guarded:
                    test = inner.build(arith.CmpIOp, index_value, self.constants.index(dim.limit),
                                       predicate="ult").result
                    condition = test if condition is None else inner.build(arith.AndIOp, condition, test).result

            def store(g: Builder) -> None:
                g.build(StoreOp, g.build(LoadOp, self.buffers[stage.tensor], at).result, local, ts)
            if condition is None:
                store(inner)
                return
            if_op = inner.build(IfOp, condition)
            then = Builder.at_end(if_op.then_region.blocks[0])
            then.location = inner.location
            store(then)
            then.build(YieldOp, [])
        self._nest(b, spanned, env, fill)

    def _compute_region(self, b: Builder, stage: Stage, bases, local) -> None:
        """compute_at: the producer's own nest over the region (its axes are offsets from
        the bases), storing into `local`; its body reads at base + offset, and offsets whose
        element would be past the tensor's end are guarded off."""
        names = {d: f"<base{d}>" for d, base in enumerate(bases) if base is not None}
        nest = stage.nest
        guards = tuple(Guard(add(Var(names[d]), nest.axes[f"i{d}"]) if d in names else nest.axes[f"i{d}"],
                             dim.limit)
                       for d, dim in enumerate(stage.region) if dim.guarded)
        nest = replace(nest, guards=nest.guards + guards)
        self.shift[stage.producer] = bases
        try:
            self.emit_compute(b, stage.producer, nest, local, env={names[d]: bases[d] for d in names})
        finally:
            del self.shift[stage.producer]

    def _difference(self, b: Builder, index: Value, base: Value) -> Value:
        """`index - base` as the sum of what they do not share (`(io*4 + ii) + r0` minus
        `io*4` is `ii + r0`), so loop-vectorize sees how the local index moves with the
        inner loops; a subtraction when some part of `base` is not in `index`."""
        leaves: dict = {}
        (terms, constant), (less, less_constant) = _linear_value(index, leaves), _linear_value(base, leaves)
        for key, c in less.items():
            terms[key] = terms.get(key, 0) - c
        constant -= less_constant
        if any(c < 0 for c in terms.values()) or constant < 0:
            return b.build(arith.SubIOp, index, base).result
        result = None
        for key, c in terms.items():
            if c == 0:
                continue
            term = leaves[key] if c == 1 else b.build(arith.MulIOp, leaves[key], self.constants.index(c)).result
            result = term if result is None else b.build(arith.AddIOp, result, term).result
        if result is None:
            return self.constants.index(constant)
        return result if constant == 0 else b.build(arith.AddIOp, result, self.constants.index(constant)).result

    def _guarded(self, b: Builder, exprs: ExprEmitter, guards, then: Callable) -> None:
        """Run `then(builder)` under the guards (directly when there are none)."""
        if not guards:
            then(b)
            return
        condition = exprs.condition(guards)
        if_op = b.build(IfOp, condition)
        inner = Builder.at_end(if_op.then_region.blocks[0])
        inner.location = b.location
        then(inner)
        inner.build(YieldOp, [])

    def _elementwise(self, b, compute, nest, env, dest) -> None:
        # Axis values are computed before the guard: index arithmetic cannot fault.
        exprs = ExprEmitter(b, self.constants, env)
        axes = [exprs(nest.axes[a]) for a in nest.output_axes]

        def store(inner: Builder) -> None:
            inner.build(StoreOp, self.emit_body(inner, compute, axes), dest, axes)
        self._guarded(b, exprs, nest.guards, store)

    def _reduce(self, b, compute, nest, loops, env, dest, epilogue=None) -> None:
        """The output loops are open at `b`: start the accumulator, carry it through the
        reduction loops, store it (all under the guards of the output axes)."""
        exprs = ExprEmitter(b, self.constants, env)
        axes = [exprs(nest.axes[a]) for a in nest.output_axes]
        reduction_names = {loop.name for loop in loops}
        output_guards = [g for g in nest.guards if not variables(g.expr) & reduction_names]
        inner_guards = [g for g in nest.guards if variables(g.expr) & reduction_names]
        element = compute.element_type
        wide = accumulator_type(compute)
        combine = combiner_op(compute.combiner.value, wide)

        def body(inner: Builder) -> None:
            start = start_value(compute)
            if wide != element:
                start = FloatAttr(start.value, wide)
            total = self._carry(inner, compute, nest, loops, env, axes, self.constants.get(start),
                                inner_guards, combine)
            self._store_total(inner, compute, epilogue, total, dest, axes)
        self._guarded(b, exprs, output_guards, body)

    def _store_total(self, b: Builder, compute, epilogue, total, dest, axes) -> None:
        """Store a reduction's total (rounded back from its accumulator type), through the
        fused epilogue when there is one."""
        if total.type != compute.element_type:
            total = b.build(arith.TruncFOp, total, result_types=[compute.element_type]).result
        if epilogue is not None:
            self.forwarded[compute.output] = (list(axes), total)
            total = self.emit_body(b, epilogue, axes)
            del self.forwarded[compute.output]
        b.build(StoreOp, total, dest, axes)

    def _carry(self, b, compute, nest, loops, env, axes, acc, guards, combine) -> Value:
        """The reduction loops from `loops[0]` inward, carrying `acc`; returns the total."""
        if loops:
            loop = loops[0]
            op, body = build_for(b, self.constants, loop.extent, loop.kind, loop.name, inits=[acc])
            iv, carried = op.body.blocks[0].args
            carried.name_hint = "acc"
            self._open(body, loop.name, {**env, loop.name: iv})
            new = self._carry(body, compute, nest, loops[1:], {**env, loop.name: iv}, axes, carried,
                              guards, combine)
            body.build(YieldOp, [new])
            return op.results[0]
        exprs = ExprEmitter(b, self.constants, env)
        indices = [*axes, *(exprs(nest.axes[a]) for a in nest.reduce_axes)]

        def step(inner: Builder) -> Value:
            value = self.emit_body(inner, compute, indices)
            if value.type != acc.type:
                value = inner.build(arith.ExtFOp, value, result_types=[acc.type]).result
            return inner.build(combine, acc, value).result
        if not guards:
            return step(b)
        if_op = b.build(IfOp, exprs.condition(guards), result_types=[acc.type])
        then = Builder.at_end(if_op.then_region.blocks[0])
        then.location = b.location
        then.build(YieldOp, [step(then)])
        Builder.at_end(if_op.else_region.blocks[0]).build(YieldOp, [acc])
        return if_op.results[0]

    def _tile(self, b, compute, nest, loops, env, dest, epilogue) -> None:
        """cache_write: the tile loops' local buffer, the reduction accumulating into it, then
        the write-back (with the epilogue) to `dest`."""
        tile_loops = [loop for loop in loops if not loop.reduction]
        reduction_loops = [loop for loop in loops if loop.reduction]
        element = compute.element_type
        wide = accumulator_type(compute)
        combine = combiner_op(compute.combiner.value, wide)
        tile = b.build(AllocaOp, result_types=[MemRefType(tuple(l.extent for l in tile_loops), wide)]).memref
        tile.name_hint = f"{compute.output.name_hint or 'acc'}_tile"
        start = start_value(compute)
        if wide != element:
            start = FloatAttr(start.value, wide)
        start = self.constants.get(start)
        t = compute.element_type
        zero = identity(compute.combiner.value, dtype_of(t))
        zero = self.constants.get(FloatAttr(float(zero), t) if isinstance(t, FloatType) else IntegerAttr(int(zero), t))

        def at(env):
            return [env[loop.name] for loop in tile_loops]

        reduction_names = {loop.name for loop in reduction_loops}
        output_guards = [g for g in nest.guards if not variables(g.expr) & reduction_names]
        if nest.partial_tiles:
            def resume(inner: Builder, e: dict) -> None:
                # a partial sum: the tile starts from what the output holds so far
                exprs = ExprEmitter(inner, self.constants, e)
                axes = [exprs(nest.axes[a]) for a in nest.output_axes]
                if output_guards:
                    if_op = inner.build(IfOp, exprs.condition(output_guards), result_types=[wide])
                    then = Builder.at_end(if_op.then_region.blocks[0])
                    then.build(YieldOp, [self._widen(then, then.build(LoadOp, dest, axes).result, wide)])
                    Builder.at_end(if_op.else_region.blocks[0]).build(YieldOp, [start])
                    value = if_op.results[0]
                else:
                    value = self._widen(inner, inner.build(LoadOp, dest, axes).result, wide)
                inner.build(StoreOp, value, tile, at(e))
            self._nest(b, tile_loops, env, resume)
        else:
            self._nest(b, tile_loops, env, lambda inner, e: inner.build(StoreOp, start, tile, at(e)))

        def step(inner: Builder, e: dict) -> None:
            exprs = ExprEmitter(inner, self.constants, e)
            indices = [exprs(nest.axes[a]) for a in (*nest.output_axes, *nest.reduce_axes)]
            if nest.guards:
                if_op = inner.build(IfOp, exprs.condition(nest.guards), result_types=[t])
                then = Builder.at_end(if_op.then_region.blocks[0])
                then.location = inner.location
                then.build(YieldOp, [self.emit_body(then, compute, indices)])
                Builder.at_end(if_op.else_region.blocks[0]).build(YieldOp, [zero])
                value = if_op.results[0]
            else:
                value = self.emit_body(inner, compute, indices)
            if value.type != wide:
                value = inner.build(arith.ExtFOp, value, result_types=[wide]).result
            old = inner.build(LoadOp, tile, at(e)).result
            inner.build(StoreOp, inner.build(combine, old, value).result, tile, at(e))
        self._nest(b, [*reduction_loops, *tile_loops], env, step)

        def write(inner: Builder, e: dict) -> None:
            exprs = ExprEmitter(inner, self.constants, e)
            axes = [exprs(nest.axes[a]) for a in nest.output_axes]

            def store(guarded: Builder) -> None:
                total = guarded.build(LoadOp, tile, at(e)).result
                self._store_total(guarded, compute, epilogue, total, dest, axes)
            self._guarded(inner, exprs, output_guards, store)
        self._nest(b, tile_loops, env, write)

    @staticmethod
    def _widen(b: Builder, value, wide):
        return value if value.type == wide else b.build(arith.ExtFOp, value, result_types=[wide]).result

    def _fill(self, b, compute, nest, dest) -> None:
        """The start value into every element of `dest`, before an in-memory reduction (in
        parallel over its first axis when the compute's nest is parallel)."""
        start = self.constants.get(start_value(compute))
        hooks, self.hooks = self.hooks, {}  # its loops are not the compute's: no stages here
        parallel = any(loop.kind == "parallel" for loop in nest.loops)
        loops = [Loop(f"i{n}", extent, "parallel" if parallel and n == 0 else "serial")
                 for n, extent in enumerate(dest.type.shape)]

        def fill(inner: Builder, env: dict) -> None:
            inner.build(StoreOp, start, dest, [env[loop.name] for loop in loops])
        self._nest(b, loops, {}, fill)
        self.hooks = hooks

    def _accumulate_in_memory(self, b, compute, nest, env, dest) -> None:
        exprs = ExprEmitter(b, self.constants, env)
        axes = [exprs(nest.axes[a]) for a in nest.output_axes]
        indices = [*axes, *(exprs(nest.axes[a]) for a in nest.reduce_axes)]
        combine = combiner_op(compute.combiner.value, compute.element_type)

        def step(inner: Builder) -> None:
            value = self.emit_body(inner, compute, indices)
            old = inner.build(LoadOp, dest, axes).result
            inner.build(StoreOp, inner.build(combine, old, value).result, dest, axes)
        self._guarded(b, exprs, nest.guards, step)
