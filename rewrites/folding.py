"""rewrites: folding ops and materialising the constants folds produce (MLIR's OperationFolder).

An op's `fold()` returns what its results are without building anything: None (no fold),
an existing Value, an Attribute (a constant), or a list of those, one per result; returning
the op's own result means "I changed myself in place". Traits fold too: an involution
applied twice is the identity, an idempotent op applied twice is applied once, and a
commutative op keeps its constant operand on the right so rules only need one spelling.

Constants the folder creates are uniqued per isolated-from-above region and placed at the
start of its entry block, where they dominate every use; constants already in the IR are
deduplicated the same way when the driver meets them."""

from __future__ import annotations

from typing import Sequence

from descend.ir import (Attribute, Commutative, ConstantLike, Idempotent, Involution,
                        IsolatedFromAbove, Operation, Value)

from .rewriter import PatternRewriter

IN_PLACE = "in-place"  # try_fold's answer when the op changed itself and keeps its results


def materializer_for(context, op: Operation):
    """The `materialize_constant(attr, type, location)` hook of the op's dialect, else arith's."""
    if context is None:
        return None
    for dialect_name in (op.name.split(".", 1)[0], "arith"):
        dialect = context.dialects.get(dialect_name)
        hook = getattr(dialect, "materialize_constant", None) if dialect is not None else None
        if hook is not None:
            return hook
    return None


def constant_scope(op: Operation):
    """The entry block of the nearest isolated-from-above ancestor's region holding `op`."""
    block = op.parent
    while block is not None:
        region = block.parent
        owner = region.parent if region is not None else None
        if owner is None or owner.has_trait(IsolatedFromAbove) or owner.parent is None:
            return region.blocks[0] if region is not None else block
        block = owner.parent
    return None


class Folder:
    """Folds ops for a driver and owns the constants it materialises."""

    def __init__(self, context, rewriter: PatternRewriter):
        self.context = context
        self.rewriter = rewriter
        self._constants: dict[tuple, Value] = {}
        self._keys: dict[Value, tuple] = {}

    # ---- folding -------------------------------------------------------------------------

    def try_fold(self, op: Operation):
        """The values that replace op's results, IN_PLACE, or None when nothing folds."""
        traits = _TRAIT_FLAGS.get(type(op))
        if traits is None:
            traits = _trait_flags(type(op))
        if traits:
            folded = self._trait_fold(op, *traits)
            if folded is not None:
                return folded
        fold = getattr(op, "fold", None)
        if fold is None:
            return None
        result = fold()
        if result is None:
            return None
        if not isinstance(result, (list, tuple)):  # the usual answer: one value or attribute
            if len(op.results) != 1:
                return None
            if result is op.results[0]:
                return IN_PLACE
            if isinstance(result, Attribute):
                result = self.materialize(result, op.results[0].type, op)
            return None if result is None else [result]
        results = list(result)
        if len(results) != len(op.results):
            return None
        if all(r is o for r, o in zip(results, op.results)):
            return IN_PLACE
        values = []
        for value, old in zip(results, op.results):
            if isinstance(value, Attribute):
                value = self.materialize(value, old.type, op)
                if value is None:
                    return None
            values.append(value)
        return values

    def _trait_fold(self, op: Operation, commutative: bool, unary: bool):
        operands = op._operands
        if commutative and len(operands) >= 2:
            if _is_constant(operands[0]) and not _is_constant(operands[1]):
                lhs, rhs = operands[0], operands[1]
                op.set_operand(0, rhs)
                op.set_operand(1, lhs)
                return IN_PLACE
        if unary and len(operands) == 1 and len(op.results) == 1:
            inner = operands[0].defining_op
            if inner is not None and inner.name == op.name and _same_attributes(inner, op):
                cls = type(op)
                if cls.has_trait(Involution):
                    return [inner._operands[0]]
                if cls.has_trait(Idempotent):
                    return [inner.results[0]]
        return None

    # ---- constants -------------------------------------------------------------------------

    def materialize(self, attr: Attribute, type_, op: Operation) -> Value | None:
        scope = constant_scope(op)
        if scope is None:
            return None
        key = (scope, attr, type_)
        existing = self._constants.get(key)
        if existing is not None and existing.defining_op.parent is scope:
            return existing
        hook = materializer_for(self.context, op)
        if hook is None:
            return None
        constant = hook(attr, type_, op.location)
        if constant is None:
            return None
        if scope.first is not None:
            self.rewriter.insert_before(scope.first, constant)
        else:
            scope.append(constant)
            self.rewriter.listener.notify_op_inserted(constant)
        self._remember(key, constant.results[0])
        return constant.results[0]

    def _remember(self, key: tuple, value: Value) -> None:
        self._constants[key] = value
        self._keys[value] = key

    def unique_constant(self, op: Operation) -> Value | None:
        """For a constant op met by the driver: an equal constant that dominates it (op is
        then redundant), else None after recording op (moved to its scope's entry block)."""
        attr = op.properties.get("value")
        if attr is None or len(op.results) != 1:
            return None
        scope = constant_scope(op)
        if scope is None:
            return None
        key = (scope, attr, op.results[0].type)
        existing = self._constants.get(key)
        if existing is not None and existing.defining_op is not op and existing.defining_op.parent is scope:
            return existing
        self._remember(key, op.results[0])
        # Constants gather at the top of the scope, as MLIR's folder keeps them: move this one
        # unless it already sits in that run of known constants.
        in_run = op.parent is scope and (op.prev is None or (op.prev.results and op.prev.results[0] in self._keys))
        if not in_run:
            op.move_before(scope.first)
            self.rewriter.listener.notify_op_modified(op)
        return None

    def forget(self, op: Operation) -> None:
        """Called when a constant op is erased."""
        if op.results:
            key = self._keys.pop(op.results[0], None)
            if key is not None and self._constants.get(key) is op.results[0]:
                del self._constants[key]


_TRAIT_FLAGS: dict[type, tuple | bool] = {}  # op class -> (commutative, unary), or False for neither


def _trait_flags(cls: type) -> tuple | bool:
    flags = False
    if cls.definition is not None:
        commutative = cls.has_trait(Commutative)
        unary = cls.has_trait(Involution) or cls.has_trait(Idempotent)
        if commutative or unary:
            flags = (commutative, unary)
    _TRAIT_FLAGS[cls] = flags
    return flags

_CONSTANT_CLASSES: dict[type, bool] = {}


def _is_constant(value: Value) -> bool:
    op = value.defining_op
    if op is None:
        return False
    known = _CONSTANT_CLASSES.get(type(op))
    if known is None:
        known = _CONSTANT_CLASSES[type(op)] = op.definition is not None and op.has_trait(ConstantLike)
    return known


def _same_attributes(a: Operation, b: Operation) -> bool:
    return a.properties == b.properties and a.attributes == b.attributes


def fold_values(op: Operation) -> Sequence | None:
    """`op.fold()` normalised to a list (or None): for callers outside a driver."""
    fold = getattr(op, "fold", None)
    result = fold() if fold is not None else None
    if result is None:
        return None
    return list(result) if isinstance(result, (list, tuple)) else [result]
