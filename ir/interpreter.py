"""ir: the reference interpreter. Runs a func-like op with numpy by asking each op for its
semantics: an op's `interpret(self, interp, args) -> list` when it needs its attributes or
regions, else its `reference(*operand_arrays, **attribute_values)` staticmethod. Knows no
dialect: functions are found through the symbol table and entered through the callee's
`interpret_call(interp, args)` hook; block terminators are ReturnLike (leave the region
with their operands) or branch through `interpret_branch(interp, args) -> (block, args)`.

Undefined behaviour is not a value: where MLIR's semantics say an op is undefined or
produces poison (division by zero, too wide a shift, a broken nsw or nnan promise), the
op's `undefined_behavior(self, args, results) -> str | None` hook names the reason and the
interpreter raises UndefinedBehavior instead of returning whatever numpy computed."""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import numpy as np

from .attributes import (ArrayAttr, Attribute, FloatAttr, IntegerAttr, StringAttr, TypeAttr,
                         UnitAttr)
from .dense import DenseElementsAttr, numpy_dtype, round_to_bf16
from .diagnostics import DiagnosticError, error
from .symbols import SymbolTable
from .traits import ReturnLike
from .types import FloatType, IndexType, IntegerType, ShapedType, Type, element_type_of

MAX_CALL_DEPTH = 256


class Poison(str):
    """An `undefined_behavior` reason that names poison (a value that may be anything,
    LLVM's deferred UB) rather than immediate undefined behaviour such as x / 0."""


class UndefinedBehavior(DiagnosticError):
    """An op hit undefined behaviour or produced poison on the values it was given.

    Poison is treated as eagerly as immediate UB: the run stops at the op that made it,
    even if a later select would have discarded it. No result of such a run means
    anything, so a transformed program may do anything on those inputs (descend.testing
    skips them); the eager reading only skips a few more inputs than LLVM's would."""

    def __init__(self, op, reason: str):
        self.op = op
        self.reason = reason
        self.poison = isinstance(reason, Poison)
        what = "produces poison" if self.poison else "has undefined behavior"
        super().__init__(op.error(f"{what}: {reason}").diagnostics)


def as_value(x: Any, t: Type):
    """Store `x` as a runtime value of type `t`: integers wrap modulo 2^width (i1 keeps the
    low bit), scalars become numpy scalars of the type's dtype, shaped values arrays."""
    e = element_type_of(t)
    if isinstance(e, IndexType):
        dtype = np.dtype(np.int64)
    else:
        dtype = numpy_dtype(e)
    x = np.asarray(x)
    if dtype == np.bool_ and x.dtype != np.bool_:
        if x.dtype.kind in "iu":
            x = x.astype(np.int64) & 1
        x = x.astype(np.bool_)
    elif x.dtype != dtype:
        with np.errstate(all="ignore"):
            x = x.astype(dtype, casting="unsafe")
    if isinstance(e, FloatType) and e.name == "bf16":
        x = round_to_bf16(x)
    if isinstance(t, ShapedType):
        if x.shape != tuple(t.shape):
            x = np.broadcast_to(x, tuple(t.shape)).copy()
        return x
    if x.ndim:
        x = x.reshape(())
    return x[()]


def attribute_value(attr: Attribute) -> Any:
    """The Python/numpy value an attribute gives a reference function."""
    if isinstance(attr, UnitAttr):
        return True
    if isinstance(attr, (IntegerAttr, FloatAttr)):
        return attr.value
    if isinstance(attr, StringAttr):
        return attr.value
    if isinstance(attr, TypeAttr):
        return attr.type
    if isinstance(attr, ArrayAttr):
        return [attribute_value(a) for a in attr.elements]
    if hasattr(attr, "array"):
        return np.asarray(attr.array)
    return attr


_SIGNATURES: dict = {}


def _reference_parameters(fn) -> tuple[list[str], bool]:
    """Keyword parameters of a reference function (after its positional operands)."""
    cached = _SIGNATURES.get(fn)
    if cached is None:
        names, var_kw = [], False
        for p in inspect.signature(fn).parameters.values():
            if p.kind == p.KEYWORD_ONLY or (p.kind == p.POSITIONAL_OR_KEYWORD and p.default is not p.empty):
                names.append(p.name)
            elif p.kind == p.VAR_KEYWORD:
                var_kw = True
        cached = _SIGNATURES[fn] = (names, var_kw)
    return cached


def evaluate_reference(op, args: Sequence[Any], refine_poison: bool = False,
                       value_types: Sequence[Type] | None = None) -> list:
    """Apply `op`'s reference staticmethod to operand values; keyword parameters are filled
    from properties of the same name, or `result_type` / `result_types`. Raises
    UndefinedBehavior where the op's hook says so, except that with `refine_poison` (for
    folders: any value refines poison, as MLIR's folders assume) poison gives the values
    the reference computed. `value_types` stores the results as these types instead of the
    op's result types: te.compute evaluates a scalar body on whole index grids by passing
    tensor types of the grid's shape."""
    fn = type(op).reference
    names, var_kw = _reference_parameters(fn)
    kwargs = {}
    wanted = set(names) | (set(op.properties) if var_kw else set())
    for name in wanted:
        if name == "result_type":
            kwargs[name] = op.results[0].type
        elif name == "result_types":
            kwargs[name] = [r.type for r in op.results]
        else:
            attr = op.properties.get(name)
            if attr is None and op.definition is not None:
                d = op.definition.attributes.get(name)
                attr = d.default if d is not None else None
            if attr is not None:
                kwargs[name] = attribute_value(attr)
    with np.errstate(all="ignore"):
        out = fn(*args, **kwargs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if len(outs) != len(op.results):
        raise op.error(f"reference semantics gave {len(outs)} values for {len(op.results)} results")
    types = [r.type for r in op.results] if value_types is None else list(value_types)
    results = [as_value(v, t) for v, t in zip(outs, types)]
    check = getattr(op, "undefined_behavior", None)
    if check is not None:
        # After computing, so a hook may judge results too (nnan: a NaN result is poison);
        # folders share this path and so never fold an undefined operation.
        with np.errstate(all="ignore"):
            reason = check(args, results)
        if reason and not (refine_poison and isinstance(reason, Poison)):
            raise UndefinedBehavior(op, reason)
    return results


class Interpreter:
    """One run: a stack of frames (Value -> runtime value), one per function call, so a
    recursive call does not overwrite its caller's values."""

    def __init__(self, max_call_depth: int = MAX_CALL_DEPTH):
        self.frames: list[dict] = []
        self.max_call_depth = max_call_depth

    # ---- calls and regions ------------------------------------------------------------------

    def call(self, callee, args: Sequence[Any], caller=None) -> list:
        hook = getattr(callee, "interpret_call", None)
        if hook is None:
            where = caller if caller is not None else callee
            raise where.error(f"cannot call '{callee.name}': it defines no interpret_call")
        if len(self.frames) >= self.max_call_depth:
            where = caller if caller is not None else callee
            raise where.error(f"call depth exceeds {self.max_call_depth} (unbounded recursion?)")
        self.frames.append({})
        try:
            return hook(self, list(args))
        finally:
            self.frames.pop()

    def run_region(self, region, args: Sequence[Any]) -> list:
        """Run `region` from its entry block with `args`; returns the operands of the
        ReturnLike terminator that leaves it."""
        if not region.blocks:
            raise error(None, "cannot interpret an empty region")
        block, block_args = region.blocks[0], list(args)
        while True:
            if len(block_args) != len(block.args):
                raise error(None, f"block expects {len(block.args)} arguments, got {len(block_args)}")
            for arg, value in zip(block.args, block_args):
                self.set(arg, value)
            outcome = self.run_block(block)
            if outcome[0] == "return":
                return outcome[1]
            block, block_args = outcome[1], outcome[2]

    def run_block(self, block):
        for op in block.ops:
            args = [self.get(v, op) for v in op._operands]
            if op.definition is not None and op.has_trait(ReturnLike):
                return ("return", args)
            if op.successors:
                hook = getattr(op, "interpret_branch", None)
                if hook is None:
                    raise op.error("has no branch semantics for the interpreter")
                target, target_args = hook(self, args)
                return ("branch", target, list(target_args))
            results = self.evaluate(op, args)
            for r, value in zip(op.results, results):
                self.set(r, value)
        raise error(None, "block ended without a terminator while interpreting")

    # ---- single ops ---------------------------------------------------------------------------

    def evaluate(self, op, args: Sequence[Any]) -> list:
        hook = getattr(op, "interpret", None)
        if hook is not None:
            out = hook(self, list(args))
            out = list(out) if out is not None else []
            if len(out) != len(op.results):
                raise op.error(f"interpreter gave {len(out)} values for {len(op.results)} results")
            return [as_value(v, r.type) for v, r in zip(out, op.results)]
        if getattr(type(op), "reference", None) is not None:
            return evaluate_reference(op, args)
        raise op.error("has no reference semantics (define `reference` or `interpret` on its op class)")

    def get(self, value, user=None):
        frame = self.frames[-1]
        try:
            return frame[value]
        except KeyError:
            if user is not None:
                raise user.error("uses a value that has not been computed yet") from None
            raise

    def set(self, value, runtime_value) -> None:
        self.frames[-1][value] = runtime_value


def interpret(module, function_name: str, inputs: Sequence[Any]) -> list:
    """Run the function `function_name` of `module` on `inputs` (numpy arrays or scalars,
    converted to the argument types) and return its results."""
    name = function_name[1:] if function_name.startswith("@") else function_name
    func = SymbolTable(module).lookup(name)
    if func is None:
        raise error(module.location, f"no function named '@{name}' in the module")
    ftype = func.properties.get("function_type")
    ftype = ftype.type if isinstance(ftype, TypeAttr) else None
    inputs = list(inputs)
    if ftype is not None:
        if len(inputs) != len(ftype.inputs):
            raise func.error(f"expects {len(ftype.inputs)} inputs, got {len(inputs)}")
        converted = []
        for i, (x, t) in enumerate(zip(inputs, ftype.inputs)):
            shape = tuple(t.shape) if isinstance(t, ShapedType) else ()
            if np.shape(x) != shape:
                raise func.error(f"input #{i} has shape {list(np.shape(x))}, but the argument type is {t}")
            converted.append(as_value(x, t))
        inputs = converted
    return Interpreter().call(func, inputs)
