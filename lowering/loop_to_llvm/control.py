"""loop -> llvm: structured control flow becomes blocks. A loop.for is a header block whose
arguments are the induction variable and the iter_args (phis), a body, and an exit block
whose arguments are the loop's results; a loop.if branches to its regions and joins in a
block whose arguments are its results.

A parallel loop (the outermost one: parallel loops inside it, and parallel loops carrying
iter_args, run serially) is outlined into `llvm.func internal @<f>_parallel(ctx, begin, end)`
running iterations [begin, end); the values its body uses from outside travel in a struct on
the caller's stack, constants and globals are made again inside, and the caller hands it to
`descend_parallel_for(fn, ctx, trip_count, threads)`."""

from __future__ import annotations

from descend.dialects import llvm
from descend.ir import IntegerAttr, TypeAttr, i32, i64
from descend.ir.diagnostics import error

from .arith import icmp
from .core import PTR, REMATERIALIZE, FunctionLowering, convert_type, lowers

NSW = llvm.IntegerOverflowFlagsAttr("nsw")
PARALLEL_FOR = "descend_parallel_for"


def serial_loop(fl, lower, upper, step, inits, body_fn):
    """Emit `for i in [lower, upper) step step` carrying `inits`; `body_fn(i, carried)` fills
    the body (in fl.block) and returns the next carried values. Returns the results."""
    header = fl.new_block([i64] + [v.type for v in inits])
    body = fl.new_block()
    fl.br(header, [lower, *inits])
    fl.block = header
    iv, *carried = header.args
    more = icmp(fl, "slt", iv, upper)
    exit_block_types = [v.type for v in inits]
    exit_ = llvm_block_later(fl, exit_block_types)
    fl.cond_br(more, body, exit_, false_operands=carried)
    fl.block = body
    next_values = body_fn(iv, carried)
    step_next = fl.emit1(llvm.AddOp, iv, step, overflowFlags=NSW)
    fl.br(header, [step_next, *next_values])
    fl.func.regions[0].add_block(exit_)
    fl.block = exit_
    return list(exit_.args)


def llvm_block_later(fl, arg_types):
    """A block added to the function once its predecessors are in (keeps blocks in order)."""
    from descend.ir import Block
    return Block(list(arg_types))


@lowers("loop.for")
def for_op(fl, op):
    if op.kind.value == "parallel" and not fl.in_parallel and not op.inits:
        parallel_for(fl, op)
        return
    lower, upper, step = fl.values_of([op.lower, op.upper, op.step])
    inits = fl.values_of(op.inits)
    block = op.body.blocks[0]

    def body(iv, carried):
        fl.bind(block.args[0], iv)
        fl.bind_all(block.args[1:], carried)
        return fl.lower_block(block)
    fl.bind_all(op.results, serial_loop(fl, lower, upper, step, inits, body))


@lowers("loop.if")
def if_op(fl, op):
    condition = fl.value(op.condition)
    types = [convert_type(r.type, op) for r in op.results]
    then_block = fl.new_block()
    else_block = fl.new_block() if op.else_region.blocks else None
    merge = llvm_block_later(fl, types)
    fl.cond_br(condition, then_block, else_block or merge)
    for target, region in ((then_block, op.then_region), (else_block, op.else_region)):
        if target is None:
            continue
        fl.block = target
        fl.br(merge, fl.lower_block(region.blocks[0]))
    fl.func.regions[0].add_block(merge)
    fl.block = merge
    fl.bind_all(op.results, merge.args)


# ---- parallel loops ---------------------------------------------------------------------------

def free_values(op) -> list:
    """Values the loop's body uses but does not define, in first-use order."""
    defined, free = set(), {}
    for nested in op.walk():
        for region in nested.regions:
            for block in region.blocks:
                defined.update(block.args)
        defined.update(nested.results)
    for nested in op.body.walk():
        for v in nested.operands:
            if v not in defined and v not in free:
                free[v] = None
    return list(free)


def parallel_for(fl, op):
    ml = fl.ml
    free = free_values(op)
    remade = [v.defining_op for v in free if v.defining_op is not None and v.defining_op.name in REMATERIALIZE]
    captured = [v for v in free if v.defining_op is None or v.defining_op.name not in REMATERIALIZE]
    lower, upper, step = fl.values_of([op.lower, op.upper, op.step])
    # the bounds the body needs: constants are made again inside, others travel too
    bounds = [v for v in (op.lower, op.step) if v.defining_op is None
              or v.defining_op.name not in REMATERIALIZE]
    captured = list(dict.fromkeys(bounds + captured))
    fields = fl.values_of(captured)
    struct = llvm.LLVMStructType([v.type for v in fields])

    # the outlined body: for k in [begin, end): i = lower + k * step
    name = ml.fresh_symbol(f"{fl.func.sym_name.value}_parallel")
    ftype = llvm.LLVMFunctionType(llvm.LLVMVoidType(), [PTR, i64, i64])
    outlined = ml.add(llvm.LLVMFuncOp.build(sym_name=name, function_type=ftype, linkage="internal",
                                            location=op.location))
    child = FunctionLowering(ml, outlined, in_parallel=True)
    child.location = op.location
    child.threads = child.i32(1)  # calls inside a parallel body run serially
    ctx, begin, end = outlined.entry_block.args
    ctx.name_hint, begin.name_hint, end.name_hint = "ctx", "begin", "end"
    for constant in dict.fromkeys(remade + [v.defining_op for v in (op.lower, op.step) if v not in captured]):
        child.lower_op(constant)  # constants and globals are made again, not passed
    for k, v in enumerate(captured):
        slot = child.emit1(llvm.GEPOp, ctx, [0, k], struct, inbounds=True)
        child.bind(v, child.emit1(llvm.LoadOp, slot, result_types=[fields[k].type]))
    child_lower, child_step = child.values_of([op.lower, op.step])
    block = op.body.blocks[0]

    def body(k, carried):
        scaled = child.emit1(llvm.MulOp, k, child_step, overflowFlags=NSW)
        child.bind(block.args[0], child.emit1(llvm.AddOp, child_lower, scaled, overflowFlags=NSW))
        return child.lower_block(block)
    serial_loop(child, begin, end, child.i64(1), [], body)
    child.emit(llvm.ReturnOp)

    # the caller: pack the context, count the iterations, fork and join
    context = fl.alloca_at_entry(struct, 64) if fields else fl.emit1(llvm.ZeroOp, result_types=[PTR])
    for k, v in enumerate(fields):
        slot = fl.emit1(llvm.GEPOp, context, [0, k], struct, inbounds=True)
        fl.emit(llvm.StoreOp, v, slot)
    span = fl.emit1(llvm.SubOp, upper, lower)
    rounded = fl.emit1(llvm.AddOp, span, fl.emit1(llvm.SubOp, step, fl.i64(1)))
    trips = fl.emit1(llvm.SDivOp, rounded, step)
    ml.declare(PARALLEL_FOR, None, [PTR, PTR, i64, i32], op.location)
    function = fl.emit1(llvm.AddressOfOp, global_name=name)
    if fl.threads is None:
        raise error(op.location, "lower-loop-to-llvm: a parallel loop needs a thread count")
    fl.emit(llvm.CallOp, callee=PARALLEL_FOR, callee_operands=[function, context, trips, fl.threads])


# ---- calls ------------------------------------------------------------------------------------

@lowers("func.call")
def call(fl, op):
    callee = op.callee.root
    target = fl.ml.functions.get(callee)
    operands = fl.values_of(op.operands)
    if target is not None and target.get("threads"):
        operands.append(fl.threads)
    results = [convert_type(r.type, op) for r in op.results]
    if len(results) > 1:
        raise error(op.location, f"lower-loop-to-llvm: a call with {len(results)} results has no "
                                 "llvm equivalent (an llvm.func returns at most one value)")
    new = fl.emit(llvm.CallOp, callee=callee, callee_operands=operands, result_types=results)
    fl.bind_all(op.results, new.results)
