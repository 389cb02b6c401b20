"""rewrites: `loop-flatten-buffers` (TVM's FlattenBuffer, MLIR's memref flattening): every
multi-dimensional static buffer the pass can follow becomes 1-D, and each loop.load,
loop.store, loop.vload and loop.vstore on it gets one row-major linear index,
`sum(index_d * stride_d)`, built from arith.muli / arith.addi on `index` values. Constant
indices fold into one constant offset, added last so accesses that differ only by a constant
share the rest; terms are summed outermost-defined first, so the partial sum of the indices
an inner loop does not change is one op that loop-hoist-invariants can move out. A product
or sum already made in the same block is reused (cse shares the rest). The address
arithmetic the llvm lowering used to emit per access, uncombined, is then ordinary IR.

Which buffers: a static memref of rank 2 or more with the identity layout is flattened when
every use is an access, a loop.dealloc, or (on a module) an operand of a func.call to a
function defined in the module. On a `func.func` the pass flattens the function's own
buffers (loop.alloc, loop.alloca and loop.view results) that never leave it. On a
`builtin.module` it also follows buffers across calls: a call operand and the callee's
argument must have the same type, so the pass groups every buffer with the arguments it is
passed to (union-find) and flattens a group only when all of it can be flattened:

- arguments of private functions (kernels called only by func.call) can; arguments of
  public functions cannot, since their callers (the C entry point, the runtime, a test
  passing numpy arrays by shape) keep the shape: a kernel argument fed by @main's own
  argument stays as it is;
- a loop.global whose every reference is a loop.get_global is flattened with them (its
  dense data reshaped, no copy of a dense_resource blob).

A memref of dynamic shape, or a non-identity layout, is left alone (counted as `dynamic`),
as is a buffer with any other use (yielded by a loop, returned, passed to a declaration),
counted as `kept`. Flattening drops the per-dimension bounds check of the interpreter (an
index past one dimension but inside the buffer is no longer an error); valid programs are
unchanged."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from descend.dialects.arith import AddIOp, ConstantOp, MulIOp
from descend.dialects.loop import (AllocaOp, AllocOp, DeallocOp, GetGlobalOp, GlobalOp, LoadOp, StoreOp,
                                   ViewOp, VLoadOp, VStoreOp)
from descend.dialects.numeric import constant_of
from descend.ir import (Context, DenseElementsAttr, DenseResourceAttr, FunctionType, IntegerAttr,
                        MemRefType, Operation, TensorType, TypeAttr, index)

from ..passes import Pass, register_pass
from .symbol_dce import op_symbol_refs

ACCESSES = (LoadOp, StoreOp, VLoadOp, VStoreOp)
LOCALS = (AllocOp, AllocaOp, ViewOp)


def is_multi_dimensional(t) -> bool:
    return isinstance(t, MemRefType) and len(t.shape) >= 2


def is_flattenable_type(t) -> bool:
    """A static, identity-layout memref of rank >= 2 (what the llvm lowering reads row-major)."""
    return is_multi_dimensional(t) and t.has_static_shape and t.layout is None


def flat_type(t: MemRefType) -> MemRefType:
    return MemRefType((int(np.prod(t.shape, dtype=np.int64)),), t.element_type, None, t.memory_space)


def row_major_strides(shape) -> list[int]:
    strides, stride = [], 1
    for extent in reversed(shape):
        strides.append(stride)
        stride *= extent
    return strides[::-1]


def _depth(value) -> int:
    """How many ops enclose the block defining `value` (loop nesting, roughly)."""
    block = value.owner_block
    op = block.parent_op if block is not None else None
    depth = 0
    while op is not None:
        depth += 1
        op = op.parent_op
    return depth


class _Groups:
    """Union-find over buffers (values, and loop.global ops by symbol name)."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, key):
        self.parent.setdefault(key, key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a, b) -> None:
        self.parent[self.find(a)] = self.find(b)


class _IndexArithmetic:
    """The ops one function's linear indices are made of: index constants, made once at
    the top of its entry block, and products and sums, made once per block (accesses are
    rewritten in program order, so one made earlier in the block comes before the access;
    cse shares the rest across blocks)."""

    def __init__(self, func):
        self.block = func.regions[0].blocks[0]
        self.constants: dict[int, object] = {}
        self.made: dict[tuple, object] = {}
        for op in self.block.ops:
            if isinstance(op, ConstantOp) and op.result.type == index:
                self.constants.setdefault(int(constant_of(op.result)), op.result)

    def constant(self, n: int, location):
        value = self.constants.get(n)
        if value is None:
            op = ConstantOp.build(value=IntegerAttr(n, index), location=location)
            first = next(iter(self.block.ops), None)
            if first is None:
                self.block.append(op)
            else:
                self.block.insert_before(first, op)
            value = self.constants[n] = op.result
        return value

    def binary(self, cls, lhs, rhs, before: Operation):
        key = (id(before.parent), cls, id(lhs), id(rhs))
        value = self.made.get(key)
        if value is None:
            op = cls.build(lhs, rhs, location=before.location)
            before.parent.insert_before(before, op)
            value = self.made[key] = op.result
        return value


def linear_index(access: Operation, shape, indices, arithmetic: _IndexArithmetic):
    """Insert before `access` the row-major linear index of `indices` into `shape`."""
    offset, terms = 0, []
    for position, (value, stride) in enumerate(zip(indices, row_major_strides(shape))):
        known = constant_of(value)
        if known is not None:
            offset += int(known) * stride
        else:
            terms.append((_depth(value), position, value, stride))
    location = access.location
    linear = None
    for _, _, value, stride in sorted(terms, key=lambda term: term[:2]):  # outermost first
        term = value if stride == 1 else \
            arithmetic.binary(MulIOp, value, arithmetic.constant(stride, location), access)
        linear = term if linear is None else arithmetic.binary(AddIOp, linear, term, access)
    if linear is None:
        return arithmetic.constant(offset, location)
    if offset:
        linear = arithmetic.binary(AddIOp, linear, arithmetic.constant(offset, location), access)
    return linear


@dataclass
class _Plan:
    """What one run decided: the values and globals to flatten, and why others stay."""

    values: list
    globals: list
    arguments: int = 0
    accesses: int = 0
    kept: int = 0
    dynamic: int = 0


def _function_of(op):
    while op is not None and op.name != "func.func":
        op = op.parent_op
    return op


def _candidate_values(func, arguments: bool, globals_: bool):
    """The buffers `func` makes (and, as asked, its arguments and the globals it reads)."""
    if arguments:
        yield from func.regions[0].blocks[0].args
    for op in func.walk():
        if isinstance(op, LOCALS) or (globals_ and isinstance(op, GetGlobalOp)):
            yield op.memref


def plan(root: Operation) -> _Plan:
    """Decide which buffers under `root` to flatten: on a module, across calls between its
    top-level functions; on anything else, per function."""
    module = root.name == "builtin.module"
    if module:
        top = list(root.regions[0].blocks[0].ops) if root.regions[0].blocks else []
        funcs = [op for op in top if op.name == "func.func"]
    else:
        top = []
        funcs = [root] if root.name == "func.func" else [op for op in root.walk() if op.name == "func.func"]
    funcs = [f for f in funcs if f.regions and f.regions[0].blocks]
    defined = {op.sym_name.value: op for op in funcs} if module else {}
    globals_ = {op.sym_name.value: op for op in top if isinstance(op, GlobalOp)}
    # symbols referred to other than as a call's callee or a get_global's name: not followed
    escaped = set()
    if module:
        for op in root.walk():
            for ref in op_symbol_refs(op):
                if not ((op.name == "func.call" and ref is op.callee) or
                        (isinstance(op, GetGlobalOp) and ref is op.global_name)):
                    escaped.add(ref.root)

    groups, refused, members = _Groups(), [], []
    result = _Plan([], [])
    for func in funcs:
        name = func.sym_name.value
        private = func.sym_visibility is not None and func.sym_visibility.value == "private"
        if module and not private:  # its callers keep their shapes: say so in the counts
            for arg in func.regions[0].blocks[0].args:
                if is_multi_dimensional(arg.type):
                    if is_flattenable_type(arg.type):
                        result.kept += 1
                    else:
                        result.dynamic += 1
        for value in _candidate_values(func, module and private and name not in escaped, module):
            if not is_multi_dimensional(value.type):
                continue
            if not is_flattenable_type(value.type):
                result.dynamic += 1
                continue
            members.append(value)
            groups.find(value)
            producer = value.defining_op
            if isinstance(producer, GetGlobalOp):
                target = globals_.get(producer.global_name.root)
                groups.union(value, ("global", producer.global_name.root))
                if target is None or target.sym_name.value in escaped or \
                        not isinstance(target.value, (DenseElementsAttr, DenseResourceAttr)):
                    refused.append(value)
            for use in value.uses:
                user = use.owner
                if isinstance(user, ACCESSES) and user.memref is value or isinstance(user, DeallocOp):
                    continue
                callee = defined.get(user.callee.root) if module and user.name == "func.call" else None
                if callee is None or callee.sym_name.value in escaped:
                    refused.append(value)
    # a call operand and the callee's argument must keep the same type: one group
    for func in funcs if module else ():
        for call in func.walk():
            callee = defined.get(call.callee.root) if call.name == "func.call" else None
            if callee is not None:
                for operand, arg in zip(call.operands, callee.regions[0].blocks[0].args):
                    if is_multi_dimensional(operand.type):
                        groups.union(operand, arg)
    member_set = set(members)
    # a group reaching an argument the pass did not take (a public function's) stays whole
    refused += [key for key in groups.parent if not isinstance(key, tuple) and key not in member_set]
    bad = {groups.find(key) for key in refused}
    for value in members:
        if groups.find(value) in bad:
            result.kept += 1
        else:
            result.values.append(value)
    names = {value.defining_op.global_name.root for value in result.values
             if isinstance(value.defining_op, GetGlobalOp)}
    result.globals = [globals_[name] for name in sorted(names)]
    return result


def flatten(root: Operation) -> _Plan:
    """Flatten what `plan(root)` allows, in place; returns the plan (with its counts)."""
    decided = plan(root)
    flat = {id(value): value.type for value in decided.values}
    arithmetic: dict[int, _IndexArithmetic] = {}
    # the cyclic collector would rescan the whole module for every few hundred new ops
    collecting = gc.isenabled()
    gc.disable()
    try:
        for access in [op for op in root.walk() if isinstance(op, ACCESSES) and id(op.memref) in flat]:
            func = _function_of(access)
            table = arithmetic.get(id(func))
            if table is None:
                table = arithmetic[id(func)] = _IndexArithmetic(func)
            linear = linear_index(access, flat[id(access.memref)].shape, list(access.indices), table)
            prefix = [access.value] if isinstance(access, (StoreOp, VStoreOp)) else []
            access.set_operands(prefix + [access.memref, linear])
            decided.accesses += 1
    finally:
        if collecting:
            gc.enable()
    for value in decided.values:
        value.type = flat_type(value.type)
    signatures = {}
    for value in decided.values:
        if value.defining_op is None and value.owner_block.parent_op.name == "func.func":
            func = value.owner_block.parent_op
            signatures[id(func)] = func
            decided.arguments += 1
    for func in signatures.values():  # signatures follow their (now flat) entry arguments
        ftype = func.function_type.type
        inputs = [a.type for a in func.regions[0].blocks[0].args]
        func.properties["function_type"] = TypeAttr(FunctionType(inputs, list(ftype.results)))
    for global_op in decided.globals:
        t = flat_type(global_op.memref_type)
        data = global_op.value
        tensor = TensorType(t.shape, t.element_type)
        if isinstance(data, DenseResourceAttr):
            global_op.properties["value"] = DenseResourceAttr(tensor, data.blob)
        else:
            global_op.properties["value"] = DenseElementsAttr(tensor, data.array.reshape(-1))
        global_op.properties["type"] = TypeAttr(t)
    return decided


@register_pass
@dataclass(frozen=True)
class LoopFlattenBuffers(Pass):
    """Make multi-dimensional static buffers 1-D, each access one row-major linear index
    built from arith ops (on a module, also private functions' arguments and loop.globals)."""

    name: ClassVar[str] = "loop-flatten-buffers"
    statistics: ClassVar[dict] = {
        "flattened": "buffers made 1-D (function-local ones, private arguments and get_globals)",
        "arguments": "of them, arguments of private functions",
        "globals": "loop.globals made 1-D",
        "accesses": "loads and stores given a linear index",
        "kept": "multi-dimensional buffers left (a public argument, or a use the pass cannot follow)",
        "dynamic": "multi-dimensional buffers left because their shape is dynamic (or their layout strided)",
    }

    def run(self, op: Operation, ctx: Context) -> None:
        decided = flatten(op)
        self.count("flattened", len(decided.values))
        self.count("arguments", decided.arguments)
        self.count("globals", len(decided.globals))
        self.count("accesses", decided.accesses)
        self.count("kept", decided.kept)
        self.count("dynamic", decided.dynamic)
