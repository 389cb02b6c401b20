"""loop: loop nests over buffers (TIR's level, below te and above llvm). `loop.for` and
`loop.if` with structured regions ended by `loop.yield`; buffers are static `memref`s
(`loop.alloc`, `loop.global`), read and written a scalar (`loop.load`/`loop.store`) or a
contiguous innermost vector (`loop.vload`/`loop.vstore`) at a time. Scalar and vector math
is `arith` and `math`.

Reference semantics: a memref is a numpy array mutated in place. A function's memref
arguments are the caller's arrays (pass them in the argument's exact dtype: any other is
converted to a copy, and writes to the copy are lost), so outputs are written into arrays
the caller allocated and reads after the call. Out-of-bounds accesses raise a located
error naming the op, the indices and the shape."""

from __future__ import annotations

import numpy as np

from ..ir import (AnyType, CustomDirective, DenseElementsAttr, DenseResourceAttr, Dialect,
                  FloatType, HasParent, IndexType, IntegerAttr, IntegerType, IsTerminator, MemRefType,
                  Operation, Pure, Region, ReturnLike, SingleBlock, StringAttr, Symbol,
                  SymbolNameSyntax, SymbolRefAttr, TypeAttr, VectorType, attribute, i1, i8, index,
                  lookup_symbol, operand, region, result, var_operand, var_result)
from ..ir.interpreter import attribute_value
from ..ir.types import ShapedType
from .numeric import constant_of, dtype_of

LOOP_KINDS = ("serial", "parallel", "vectorized", "unrolled")
REDUCTIONS = ("sum", "max", "min", "prod")
SERIAL = StringAttr("serial")


def _is_static_memref(t) -> bool:
    return isinstance(t, MemRefType) and t.has_static_shape


StaticMemRef = (MemRefType,)


def _scalar_element(t) -> bool:
    return isinstance(t, (FloatType, IntegerType, IndexType))


def constant_trip_count(op: "ForOp") -> int | None:
    """The number of iterations of `op` when its bounds and step are constants, else None."""
    bounds = [constant_of(v) for v in (op.lower, op.upper, op.step)]
    if any(b is None for b in bounds):
        return None
    lower, upper, step = (int(b) for b in bounds)
    if step <= 0:
        return None
    return max(0, -(-(upper - lower) // step))


# ---- custom syntax of loop.for ---------------------------------------------------------------

def _declare_iv(builder, children):
    return builder.declare_region_argument(children[0], index)


def _declare_binding(builder, children):
    token, use = children
    return (builder.declare_region_argument(token), use, token)


def _type_iter_args(builder, children):
    *bindings, types = children
    types = list(types) if isinstance(types, list) else [types]
    types = [t for item in types for t in (item if isinstance(item, list) else [item])]
    if len(types) != len(bindings):
        raise builder.fail(bindings[-1][2], f"'loop.for' has {len(bindings)} iter_args but "
                                            f"{len(types)} result types")
    for (arg, _, _), t in zip(bindings, types):
        arg.type = t
    return (bindings, types)


class ForHeader(CustomDirective):
    """`%i = %lb to %ub step %s {kind = "parallel"} iter_args(%acc = %init) -> (f32) {...}`,
    as scf.for writes it; `%i` and `%acc` become the body's entry block arguments. The kind
    is printed only when it is not `serial`."""

    # The body is part of the rule: ending the header before an optional `{kind = ...}`
    # would be a shift/reduce conflict on `{` (LALR(1) resolves it as a shift).
    grammar = ('loop_for_iv value_use "to" value_use "step" value_use [loop_for_kind] '
               '[loop_for_iter_args] region')
    extra_rules = {
        "loop_for_iv": 'VALUE_ID "="',
        "loop_for_kind": '"{" "kind" "=" string_literal "}"',
        "loop_for_iter_args": '"iter_args" "(" loop_for_binding ("," loop_for_binding)* ")" "->" loop_for_types',
        "loop_for_binding": 'VALUE_ID "=" value_use',
        "loop_for_types": '"(" type_list ")" | non_function_type',
    }
    parse_actions = {"loop_for_iv": _declare_iv, "loop_for_binding": _declare_binding,
                     "loop_for_iter_args": _type_iter_args}
    provides = ("lower", "upper", "step", "inits", "body")
    provides_types = ("lower", "upper", "step", "inits", "results_")
    elides = ("kind",)

    def print(self, fp, op, args) -> None:
        p = fp.p
        block = op.body.blocks[0] if op.body.blocks else None
        iv = p.value_name(block.args[0]) if block is not None and block.args else "%_"
        fp.emit(f"{iv} = {p.value_name(op.lower)} to {p.value_name(op.upper)} "
                f"step {p.value_name(op.step)}")
        if op.kind != SERIAL:
            fp.emit(f"{{kind = {p.attr_text(op.kind)}}}")
        if op.inits:
            carried = block.args[1:] if block is not None else []
            pairs = ", ".join(f"{p.value_name(a)} = {p.value_name(v)}" for a, v in zip(carried, op.inits))
            types = ", ".join(p.type_text(r.type) for r in op.results)
            fp.emit(f"iter_args({pairs}) -> ({types})")
        fp.print_region(op.body, print_entry_args=False)

    def build(self, state, children, args) -> None:
        _, lower, upper, step, kind, carried, body = children
        state.regions["body"] = [body]
        for name, (value, token) in (("lower", lower), ("upper", upper), ("step", step)):
            state.operands[name] = [value]
            state.operand_tokens[name] = [token]
            state.types[name] = [index]
        bindings, types = carried if carried is not None else ([], [])
        state.operands["inits"] = [use[0] for _, use, _ in bindings]
        state.operand_tokens["inits"] = [use[1] for _, use, _ in bindings]
        state.types["inits"] = list(types)
        state.types["results_"] = list(types)
        if kind is not None:
            state.properties["kind"] = StringAttr(kind[0])


class ElseRegion(CustomDirective):
    """`else { ... }`, or nothing for an empty else region (which the op still has)."""

    grammar = '["else" region]'
    provides = ("else_region",)

    def print(self, fp, op, args) -> None:
        if op.else_region.blocks:
            fp.literal("else")
            fp.print_region(op.else_region)

    def build(self, state, children, args) -> None:
        regions = [c for c in children if isinstance(c, Region)]
        state.regions["else_region"] = regions or [Region()]


# ---- structured control flow ----------------------------------------------------------------

class ForOp(Operation):
    """Runs its body for i = lower, lower + step, ... while i < upper, passing the values it
    yields to the next iteration (`iter_args`); its results are the last values yielded
    (the initial values when it runs zero times)."""

    name = "loop.for"
    lower = operand(index, doc="first value of the induction variable")
    upper = operand(index, doc="exclusive upper bound")
    step = operand(index, doc="positive increment")
    inits = var_operand(AnyType, doc="initial values of the loop-carried variables")
    results_ = var_result(AnyType)
    kind = attribute(StringAttr, default=SERIAL,
                     doc="how later stages run it: serial, parallel, vectorized or unrolled")
    body = region(single_block=True)
    traits = (SingleBlock(),)
    custom_directives = {"ForHeader": ForHeader()}
    assembly = "custom<ForHeader>() attr-dict"

    @property
    def induction_variable(self):
        return self.body.blocks[0].args[0]

    @property
    def region_iter_args(self) -> list:
        return list(self.body.blocks[0].args[1:])

    @property
    def yield_op(self) -> "YieldOp":
        return self.body.blocks[0].terminator

    @classmethod
    def build(cls, *args, **kwargs) -> "ForOp":
        """`ForOp.build(lower, upper, step, inits=[...], kind="parallel")`: result types are the
        inits' types; the body gets its entry block (index, then the inits' types) and no ops."""
        if isinstance(kwargs.get("kind"), str):
            kwargs["kind"] = StringAttr(kwargs["kind"])
        inits = list(kwargs.get("inits", args[3] if len(args) > 3 else []))
        kwargs.setdefault("result_types", [v.type for v in inits])
        op = super().build(*args, **kwargs)
        if not op.body.blocks:
            from ..ir import Block
            op.body.add_block(Block([index] + [v.type for v in inits]))
        return op

    def verify(self) -> None:
        if self.kind.value not in LOOP_KINDS:
            raise self.error(f"kind must be one of {', '.join(LOOP_KINDS)}, got '{self.kind.value}'")
        step = constant_of(self.step)
        if step is not None and int(step) <= 0:
            raise self.error(f"step must be positive, got {int(step)}")
        inits = [v.type for v in self.inits]
        results = [r.type for r in self.results]
        if inits != results:
            raise self.error(f"result types ({_types(results)}) must match the iter_args' "
                             f"initial values ({_types(inits)})")
        if not self.body.blocks:
            raise self.error("needs a body block")
        block = self.body.blocks[0]
        expected = [index] + inits
        if [a.type for a in block.args] != expected:
            raise self.error(f"body block arguments must be ({_types(expected)}): the induction "
                             f"variable, then the iter_args; got ({_types(a.type for a in block.args)})")
        terminator = block.terminator
        if not isinstance(terminator, YieldOp):
            raise self.error("body must end with loop.yield")
        yielded = [v.type for v in terminator.values]
        if yielded != results:
            raise self.error(f"loop.yield gives ({_types(yielded)}) but the loop carries "
                             f"({_types(results)})")

    def interpret(self, interp, args):
        lower, upper, step, *values = args
        lower, upper, step = int(lower), int(upper), int(step)
        if step <= 0:
            raise self.error(f"step must be positive, got {step}")
        body = self.body
        for i in range(lower, upper, step):
            values = interp.run_region(body, [np.int64(i), *values])
        return values


class IfOp(Operation):
    """Runs the then region when the condition is true, else the else region (nothing when
    there is none); its results are what the region that ran yields."""

    name = "loop.if"
    condition = operand(i1)
    results_ = var_result(AnyType)
    then_region = region(single_block=True)
    else_region = region(single_block=True)
    traits = (SingleBlock(),)
    custom_directives = {"Else": ElseRegion()}
    assembly = "$condition (`->` `(` type($results_)^ `)`)? $then_region custom<Else>() attr-dict"

    @classmethod
    def build(cls, *args, **kwargs) -> "IfOp":
        """`IfOp.build(cond, result_types=[...], with_else=True)`: empty entry blocks."""
        with_else = kwargs.pop("with_else", bool(kwargs.get("result_types")))
        kwargs.setdefault("result_types", [])
        op = super().build(*args, **kwargs)
        from ..ir import Block
        if not op.then_region.blocks:
            op.then_region.add_block(Block())
        if with_else and not op.else_region.blocks:
            op.else_region.add_block(Block())
        return op

    def verify(self) -> None:
        results = [r.type for r in self.results]
        if self.results and not self.else_region.blocks:
            raise self.error(f"must have an else region when it has results ({_types(results)})")
        for which, reg in (("then", self.then_region), ("else", self.else_region)):
            if not reg.blocks:
                if which == "then":
                    raise self.error("needs a then block")
                continue
            block = reg.blocks[0]
            if block.args:
                raise self.error(f"{which} region must have no block arguments")
            terminator = block.terminator
            if not isinstance(terminator, YieldOp):
                raise self.error(f"{which} region must end with loop.yield")
            yielded = [v.type for v in terminator.values]
            if yielded != results:
                raise self.error(f"{which} region yields ({_types(yielded)}) but the results are "
                                 f"({_types(results)})")

    def interpret(self, interp, args):
        reg = self.then_region if bool(args[0]) else self.else_region
        if not reg.blocks:
            return []
        return interp.run_region(reg, [])


class YieldOp(Operation):
    """Ends a loop.for body (giving the next iteration's loop-carried values) or a loop.if
    region (giving its results)."""

    name = "loop.yield"
    values = var_operand(AnyType)
    traits = (Pure(), IsTerminator(), ReturnLike(), HasParent("loop.for", "loop.if"))
    assembly = "attr-dict ($values^ `:` type($values))?"


# ---- buffers ----------------------------------------------------------------------------------

class AllocOp(Operation):
    """A new buffer of the result's static shape, its contents undefined (the interpreter
    fills float buffers with NaN so that a read before a write shows)."""

    name = "loop.alloc"
    memref = result(MemRefType)
    assembly = "attr-dict `:` type($memref)"

    def verify(self) -> None:
        if not self.memref.type.has_static_shape:
            raise self.error(f"needs a static shape, got {self.memref.type}")

    def interpret(self, interp, args):
        t = self.memref.type
        dtype = dtype_of(t)
        fill = np.nan if dtype.kind == "f" else 0
        return [np.full(tuple(t.shape), fill, dtype=dtype)]


class AllocaOp(Operation):
    """A small buffer on the stack of the enclosing function, live until it returns (a
    register tile: LLVM promotes a stack buffer read and written at constant offsets to
    registers). Its contents start undefined, like loop.alloc's; it is never freed."""

    name = "loop.alloca"
    memref = result(MemRefType)
    assembly = "attr-dict `:` type($memref)"

    MAX_BYTES = 1 << 16

    def verify(self) -> None:
        t = self.memref.type
        if not t.has_static_shape:
            raise self.error(f"needs a static shape, got {t}")
        size = int(np.prod(t.shape, dtype=np.int64)) * max(1, dtype_of(t).itemsize)
        if size > self.MAX_BYTES:
            raise self.error(f"{t} is {size} bytes; a stack buffer holds at most {self.MAX_BYTES} "
                             "(use loop.alloc)")

    interpret = AllocOp.interpret


class ViewOp(Operation):
    """A buffer of the result's type that lives inside `arena` (a 1-D i8 buffer) from byte
    `offset` on: how loop-plan-memory places intermediates in one allocation. Writes through
    the view are writes to the arena."""

    name = "loop.view"
    arena = operand(MemRefType)
    offset = attribute(IntegerAttr, doc="byte offset into the arena")
    memref = result(MemRefType)
    traits = (Pure(),)
    assembly = "$arena `[` $offset `]` attr-dict `:` type($arena) `to` type($memref)"

    def _bytes(self) -> int:
        t = self.memref.type
        return int(np.prod(t.shape, dtype=np.int64)) * dtype_of(t).itemsize

    def verify(self) -> None:
        arena, t = self.arena.type, self.memref.type
        if arena.rank != 1 or arena.element_type != i8 or not arena.has_static_shape:
            raise self.error(f"the arena must be a static 1-D buffer of i8, got {arena}")
        if not t.has_static_shape:
            raise self.error(f"needs a static shape, got {t}")
        offset = int(self.offset.value)
        if offset < 0 or offset % max(1, dtype_of(t).itemsize) or offset + self._bytes() > arena.shape[0]:
            raise self.error(f"{t} at byte {offset} does not fit, aligned, in {arena}")

    def interpret(self, interp, args):
        (arena,) = args
        t = self.memref.type
        start = int(self.offset.value)
        return [arena[start:start + self._bytes()].view(dtype_of(t)).reshape(tuple(t.shape))]


class DeallocOp(Operation):
    """Frees a buffer made by loop.alloc; it must not be used afterwards."""

    name = "loop.dealloc"
    memref = operand(MemRefType)
    assembly = "$memref attr-dict `:` type($memref)"

    def verify(self) -> None:
        producer = self.memref.defining_op
        if producer is not None and not isinstance(producer, AllocOp):
            raise self.error(f"can only free a loop.alloc buffer, got one from '{producer.name}'")

    def interpret(self, interp, args):
        return []


class GlobalOp(Operation):
    """A module-level constant buffer (weights) holding `value`; loop.get_global reads it."""

    name = "loop.global"
    sym_name = attribute(StringAttr, syntax=SymbolNameSyntax())
    type = attribute(TypeAttr, doc="the buffer's memref type")
    value = attribute((DenseElementsAttr, DenseResourceAttr), doc="its contents")
    traits = (Symbol(),)
    assembly = "$sym_name `:` $type `=` $value attr-dict"

    @classmethod
    def build(cls, *args, **kwargs) -> "GlobalOp":
        """`GlobalOp.build(sym_name="w", value=array_or_attr, type=memref_type)`."""
        t = kwargs.get("type")
        if isinstance(t, MemRefType):
            kwargs["type"] = TypeAttr(t)
        if isinstance(kwargs.get("sym_name"), str):
            kwargs["sym_name"] = StringAttr(kwargs["sym_name"])
        value = kwargs.get("value")
        if isinstance(value, np.ndarray):
            from ..ir import TensorType
            mt = kwargs["type"].type
            kwargs["value"] = DenseElementsAttr(TensorType(mt.shape, mt.element_type), value)
        return super().build(*args, **kwargs)

    @property
    def memref_type(self) -> MemRefType:
        return self.type.type

    def verify(self) -> None:
        t = self.type.type
        if not _is_static_memref(t):
            raise self.error(f"type must be a memref of static shape, got {t}")
        vt = self.value.type
        if not isinstance(vt, ShapedType) or tuple(vt.shape) != tuple(t.shape) \
                or vt.element_type != t.element_type:
            raise self.error(f"value of type {vt} does not fit the buffer {t}")

    def array(self) -> np.ndarray:
        """The contents as a read-only numpy array (stores into it are errors)."""
        cached = getattr(self, "_array", None)
        if cached is None or cached[0] is not self.value:
            data = np.array(attribute_value(self.value), dtype=dtype_of(self.type.type))
            data = data.reshape(tuple(self.type.type.shape))
            data.flags.writeable = False
            self._array = cached = (self.value, data)
        return cached[1]


class SymbolReference(CustomDirective):
    """`@name`, read by the base grammar's `symbol_ref` rule rather than as any attribute (a
    general attribute followed by `:` perturbs the LALR tables' error reporting)."""

    grammar = "symbol_ref"

    def print(self, fp, op, args) -> None:
        fp.emit(str(args[0].field.__get__(op)))

    def build(self, state, children, args) -> None:
        state.properties[args[0].name] = children[0]


class GetGlobalOp(Operation):
    """The buffer of the loop.global named `global_name` (read-only)."""

    name = "loop.get_global"
    global_name = attribute(SymbolRefAttr)
    memref = result(MemRefType)
    traits = (Pure(),)
    custom_directives = {"Symbol": SymbolReference()}
    assembly = "custom<Symbol>($global_name) `:` type($memref) attr-dict"

    def target(self) -> GlobalOp | None:
        found = lookup_symbol(self, self.global_name)
        return found if isinstance(found, GlobalOp) else None

    def verify(self) -> None:
        target = self.target()
        if target is None:
            raise self.error(f"'{self.global_name}' does not name a loop.global")
        if target.type.type != self.memref.type:
            raise self.error(f"result type {self.memref.type} does not match the global's "
                             f"type {target.type.type}")

    def interpret(self, interp, args):
        target = self.target()
        if target is None:
            raise self.error(f"'{self.global_name}' does not name a loop.global")
        return [target.array()]


# ---- memory accesses ---------------------------------------------------------------------------

def _check_indices(op, memref_type, indices) -> None:
    if not _is_static_memref(memref_type):
        raise op.error(f"needs a memref of static shape, got {memref_type}")
    if len(indices) != memref_type.rank:
        raise op.error(f"expects {memref_type.rank} indices for {memref_type}, got {len(indices)}")


def _check_vector(op, memref_type, vector_type, indices) -> None:
    if not isinstance(vector_type, VectorType) or vector_type.rank != 1:
        raise op.error(f"expects a rank-1 vector, got {vector_type}")
    if vector_type.element_type != memref_type.element_type:
        raise op.error(f"vector element type {vector_type.element_type} does not match the "
                       f"memref's {memref_type.element_type}")
    width, last = vector_type.shape[0], memref_type.shape[-1]
    if width > last:
        raise op.error(f"vector of {width} elements is wider than the last dimension ({last}) "
                       f"of {memref_type}")
    start = constant_of(indices[-1])
    if start is not None and not 0 <= int(start) <= last - width:
        raise op.error(f"vector of {width} elements at index {int(start)} runs past the last "
                       f"dimension ({last}) of {memref_type}")


def _position(op, array: np.ndarray, indices, width: int = 1) -> tuple:
    """The numpy index of an access, bounds-checked (a located error names the access)."""
    position = tuple(int(i) for i in indices)
    shape = array.shape
    last = len(shape) - 1
    for axis, (i, n) in enumerate(zip(position, shape)):
        if not 0 <= i or i + (width if axis == last else 1) > n:
            what = f"{width} elements at index" if width > 1 else "index"
            raise op.error(f"{what} {list(position)} out of bounds for memref of shape {list(shape)}")
    if width == 1:
        return position
    return position[:-1] + (slice(position[-1], position[-1] + width),)


def _writable(op, array: np.ndarray) -> None:
    if not array.flags.writeable:
        raise op.error("writes into a constant buffer (a loop.global)")


class LoadOp(Operation):
    """The element of the buffer at the indices."""

    name = "loop.load"
    memref = operand(MemRefType)
    indices = var_operand(index)
    result = result(AnyType)
    assembly = "$memref `[` $indices `]` attr-dict `:` type($memref)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        t = operands[0].type
        if not isinstance(t, MemRefType):
            raise TypeError(f"expects a memref, got {t}")
        return [t.element_type]

    def verify(self) -> None:
        t = self.memref.type
        _check_indices(self, t, self.indices)
        if self.result.type != t.element_type:
            raise self.error(f"result type {self.result.type} must be the element type of {t}")

    def interpret(self, interp, args):
        array, *indices = args
        return [array[_position(self, array, indices)]]


class StoreOp(Operation):
    """Writes the value into the buffer at the indices."""

    name = "loop.store"
    value = operand(AnyType)
    memref = operand(MemRefType)
    indices = var_operand(index)
    assembly = "$value `,` $memref `[` $indices `]` attr-dict `:` type($memref)"

    def verify(self) -> None:
        t = self.memref.type
        _check_indices(self, t, self.indices)
        if self.value.type != t.element_type:
            raise self.error(f"stores a {self.value.type} into {t}")

    def interpret(self, interp, args):
        value, array, *indices = args
        position = _position(self, array, indices)
        _writable(self, array)
        array[position] = value
        return []


class VLoadOp(Operation):
    """The vector of consecutive elements of the buffer's last dimension that starts at the
    indices."""

    name = "loop.vload"
    memref = operand(MemRefType)
    indices = var_operand(index)
    result = result(VectorType)
    assembly = "$memref `[` $indices `]` attr-dict `:` type($memref) `,` type($result)"

    def verify(self) -> None:
        t = self.memref.type
        _check_indices(self, t, self.indices)
        _check_vector(self, t, self.result.type, self.indices)

    def interpret(self, interp, args):
        array, *indices = args
        width = self.result.type.shape[0]
        return [array[_position(self, array, indices, width)].copy()]


class VStoreOp(Operation):
    """Writes the vector into consecutive elements of the buffer's last dimension, starting at
    the indices."""

    name = "loop.vstore"
    value = operand(VectorType)
    memref = operand(MemRefType)
    indices = var_operand(index)
    assembly = "$value `,` $memref `[` $indices `]` attr-dict `:` type($memref) `,` type($value)"

    def verify(self) -> None:
        t = self.memref.type
        _check_indices(self, t, self.indices)
        _check_vector(self, t, self.value.type, self.indices)

    def interpret(self, interp, args):
        value, array, *indices = args
        position = _position(self, array, indices, self.value.type.shape[0])
        _writable(self, array)
        array[position] = value
        return []


# ---- vectors ------------------------------------------------------------------------------

class BroadcastOp(Operation):
    """A vector whose every element is the scalar."""

    name = "loop.broadcast"
    source = operand(AnyType)
    result = result(VectorType)
    traits = (Pure(),)
    assembly = "$source attr-dict `:` type($source) `to` type($result)"

    def verify(self) -> None:
        t = self.result.type
        if t.rank != 1 or t.element_type != self.source.type:
            raise self.error(f"cannot broadcast {self.source.type} to {t}: expects a rank-1 "
                             f"vector of {self.source.type}")

    @staticmethod
    def reference(source, *, result_type):
        return np.full(tuple(result_type.shape), source)


class ReduceVectorOp(Operation):
    """Combines the elements of a vector into one scalar with `kind` (sum, max, min or prod;
    a sum adds in index order)."""

    name = "loop.reduce_vector"
    kind = attribute(StringAttr, doc="sum, max, min or prod")
    vector = operand(VectorType)
    result = result(AnyType)
    traits = (Pure(),)
    assembly = "$kind $vector attr-dict `:` type($vector) `->` type($result)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [operands[0].type.element_type]

    def verify(self) -> None:
        if self.kind.value not in REDUCTIONS:
            raise self.error(f"kind must be one of {', '.join(REDUCTIONS)}, got '{self.kind.value}'")
        t = self.vector.type
        if t.rank != 1:
            raise self.error(f"expects a rank-1 vector, got {t}")
        if self.result.type != t.element_type:
            raise self.error(f"result type {self.result.type} must be the element type of {t}")

    @staticmethod
    def reference(vector, *, kind):
        vector = np.asarray(vector)
        if kind == "sum":
            total = vector.dtype.type(0)
            for x in vector:  # in order, as a scalar loop would (float sums are not associative)
                total = total + x
            return total
        return {"max": np.max, "min": np.min, "prod": np.prod}[kind](vector)


def _types(types) -> str:
    return ", ".join(str(t) for t in types)


LOOP = Dialect("loop", [ForOp, IfOp, YieldOp, AllocOp, AllocaOp, ViewOp, DeallocOp, GlobalOp, GetGlobalOp, LoadOp,
                        StoreOp, VLoadOp, VStoreOp, BroadcastOp, ReduceVectorOp],
               description="loop nests over buffers (TIR's level)")
