"""rewrites: the rewriter of a dialect conversion, which can take back everything it did.

Changes apply to the IR at once (so a pattern sees the module as converted so far, and
use lists stay exact), and each one is also appended to an undo log. Rolling back to a
checkpoint undoes the entries after it in reverse order, which restores the IR exactly,
down to the identity of every op, block and value. The driver takes a checkpoint before
each pattern: a pattern that fails, or whose new ops cannot be legalized, is undone and
the next one is tried; a conversion that fails is undone entirely.

Erased ops are detached and their operand uses unregistered, but they keep their operand
lists, so putting them back is relinking them and re-registering those uses.

Types stay consistent at every step: where a pattern replaces a value with one of a new
type, the driver bridges the gap with a `builtin.unrealized_conversion_cast` (its own, kept
in `casts`), and adaptors look through those casts to hand patterns converted values. The
casts still in use when the conversion ends are the materializations the IR needs."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

from descend.dialects.builtin import UnrealizedConversionCastOp
from descend.ir import Block, InsertionPoint, OpResult, Operation, Region, Type, Value

from .rewriter import PatternRewriter

# undo-log entry kinds
_INSERT, _ERASE, _OPERAND, _STATE, _ARG_TYPE, _MOVE_BLOCKS, _MOVE_OP, _NAME = range(8)

SOURCE, TARGET = "source", "target"  # which way a driver cast bridges


class ConversionRewriter(PatternRewriter):
    """A PatternRewriter whose every change is logged for rollback (MLIR's
    ConversionPatternRewriter). Patterns use it as any rewriter; `replace_op` may replace a
    value with one of a different type, and `convert_region_types` converts block arguments."""

    def __init__(self, listener=None, context=None):
        super().__init__(listener, context=context, explain=True)
        self.log: list[tuple] = []
        self.erased: set[Operation] = set()
        # driver casts -> (SOURCE or TARGET, the type converter that wanted it)
        self.casts: dict[Operation, tuple] = {}
        self._target_casts: dict[tuple, Value] = {}   # (value, type) -> cast result
        self._cast_keys: dict[Operation, tuple] = {}
        self.type_converter = None  # of the pattern being applied

    # ---- checkpoints ------------------------------------------------------------------------

    def checkpoint(self) -> int:
        return len(self.log)

    def rollback(self, checkpoint: int = 0) -> None:
        """Undo every change made after `checkpoint`, newest first."""
        log = self.log
        while len(log) > checkpoint:
            entry = log.pop()
            kind = entry[0]
            if kind == _OPERAND:
                entry[1].set_operand(entry[2], entry[3])
            elif kind == _INSERT:
                self._undo_insert(entry[1])
            elif kind == _ERASE:
                _, op, block, prev, subtree = entry
                if prev is None:
                    block.prepend(op)
                else:
                    block.insert_after(prev, op)
                erased = self.erased
                for nested in subtree:
                    _register_uses(nested)
                    erased.discard(nested)
            elif kind == _STATE:
                _, op, properties, attributes, operands, result_types, successors = entry
                op.properties = properties
                op.attributes = attributes
                if list(op._operands) != operands:
                    op.set_operands(operands)
                for result, t in zip(op.results, result_types):
                    result.type = t
                op.successors = successors
            elif kind == _ARG_TYPE:
                entry[1].type = entry[2]
            elif kind == _NAME:
                entry[1].name_hint = None
            elif kind == _MOVE_BLOCKS:
                _, blocks, source, destination = entry
                for block in blocks:
                    destination.blocks.remove(block)
                    block.parent = None
                    source.add_block(block)
                    for op in block.ops:
                        for nested in op.walk():
                            _register_uses(nested)
            elif kind == _MOVE_OP:
                _, op, block, prev = entry
                op.detach()
                if prev is None:
                    block.prepend(op)
                else:
                    block.insert_after(prev, op)

    def _undo_insert(self, op: Operation) -> None:
        if op.parent is not None:
            op.detach()
        # Unregister uses without forgetting operands: ops moved into this one from the
        # original IR get their uses back when the move is undone.
        for nested in op.walk():
            for value, use in zip(nested._operands, nested._uses):
                value.uses.pop(use, None)
        if op in self.casts:
            del self.casts[op]
            key = self._cast_keys.pop(op, None)
            if key is not None:
                self._target_casts.pop(key, None)

    # ---- creating ops --------------------------------------------------------------------------

    def insert(self, op: Operation) -> Operation:
        super().insert(op)
        self.log.append((_INSERT, op))
        return op

    def insert_before(self, anchor: Operation, op: Operation) -> Operation:
        super().insert_before(anchor, op)
        self.log.append((_INSERT, op))
        return op

    def insert_after(self, anchor: Operation, op: Operation) -> Operation:
        super().insert_after(anchor, op)
        self.log.append((_INSERT, op))
        return op

    def move_op_before(self, op: Operation, anchor: Operation) -> None:
        self.log.append((_MOVE_OP, op, op.parent, op.prev))
        op.move_before(anchor)
        self.listener.notify_op_modified(op)

    def move_op_after(self, op: Operation, anchor: Operation) -> None:
        self.log.append((_MOVE_OP, op, op.parent, op.prev))
        op.move_after(anchor)
        self.listener.notify_op_modified(op)

    def move_region_body(self, source: Region, destination: Region) -> None:
        """Move every block of `source` to the end of `destination` (to give a new op the
        body of the op it replaces)."""
        blocks = list(source.blocks)
        destination.take_body(source)
        self.log.append((_MOVE_BLOCKS, blocks, source, destination))

    # ---- replacing and erasing -------------------------------------------------------------------

    def replace_op(self, op: Operation, values: "Operation | Value | Sequence[Value]") -> None:
        """Replace every result of `op` with `values`, then erase `op`. A value of another
        type than the result it replaces is bridged by a cast that adaptors see through."""
        if isinstance(values, Operation):
            values = values.results
        elif isinstance(values, Value):
            values = [values]
        values = list(values)
        if len(values) != len(op.results):
            raise ValueError(f"replacing '{op.name}' ({len(op.results)} results) with {len(values)} values")
        self.listener.notify_op_replaced(op, values)
        for old, new in zip(op.results, values):
            if old is new:
                continue
            if new.name_hint is None and old.name_hint is not None:
                # the lowered IR keeps the names of the values it computes (%sum, not %3)
                self.log.append((_NAME, new))
                new.name_hint = old.name_hint
            if not old.uses:
                continue
            if new.type != old.type:
                new = self._cast(new, old.type, InsertionPoint(op.parent, op), SOURCE, op.location)
            self._replace_uses(old, new)
        self.erase_op(op)

    replace = replace_op

    def replace_all_uses_with(self, old: Value, new: Value) -> None:
        self._replace_uses(old, new)

    def _replace_uses(self, old: Value, new: Value) -> None:
        append = self.log.append
        for use in list(old.uses):
            append((_OPERAND, use.owner, use.index, old))
            use.owner.set_operand(use.index, new)

    def erase_op(self, op: Operation) -> None:
        """Erase `op` and everything nested in it; its results must be unused."""
        for result in op.results:
            if result.uses:
                user = next(iter(result.uses)).owner
                raise ValueError(f"cannot erase '{op.name}': result #{result.index} is still used by "
                                 f"'{user.name}'")
        block, prev = op.parent, op.prev
        if block is None:
            raise ValueError(f"cannot erase '{op.name}': it is not in a block (erased twice?)")
        subtree = list(op.walk()) if op.regions else [op]
        self.listener.notify_op_erased(op)
        op.detach()
        erased = self.erased
        for nested in subtree:
            for value, use in zip(nested._operands, nested._uses):
                value.uses.pop(use, None)
            erased.add(nested)
        self.log.append((_ERASE, op, block, prev, subtree))

    # ---- in-place changes ----------------------------------------------------------------------

    def _snapshot(self, op: Operation) -> None:
        self.log.append((_STATE, op, dict(op.properties), dict(op.attributes), list(op._operands),
                         [r.type for r in op.results], list(op.successors)))

    @contextmanager
    def modify(self, op: Operation) -> Iterator[Operation]:
        self._snapshot(op)
        yield op
        self.listener.notify_op_modified(op)

    def modify_op_in_place(self, op: Operation, change) -> None:
        self._snapshot(op)
        change(op)
        self.listener.notify_op_modified(op)

    def set_operand(self, op: Operation, index: int, value: Value) -> None:
        self.log.append((_OPERAND, op, index, op._operands[index]))
        op.set_operand(index, value)
        self.listener.notify_op_modified(op)

    # ---- block signatures ------------------------------------------------------------------------

    def apply_signature_conversion(self, block: Block, types: Sequence[Type]) -> None:
        """Give the block's arguments new types (one each); existing uses keep seeing the
        old type through a cast, which adaptors see through."""
        if len(types) != len(block.args):
            raise ValueError(f"signature conversion gives {len(types)} types for {len(block.args)} "
                             "block arguments (1:N conversions are not supported)")
        for arg, t in zip(block.args, types):
            old = arg.type
            if t == old:
                continue
            uses = list(arg.uses)
            self.log.append((_ARG_TYPE, arg, old))
            arg.type = t
            if uses:
                location = arg.location if arg.location is not None else (
                    block.parent_op.location if block.parent_op is not None else None)
                bridge = self._cast(arg, old, InsertionPoint(block, block.first), SOURCE, location)
                append = self.log.append
                for use in uses:
                    append((_OPERAND, use.owner, use.index, arg))
                    use.owner.set_operand(use.index, bridge)

    def convert_region_types(self, region: Region, converter) -> bool:
        """Convert the argument types of every block of `region`; False (and no change)
        when some type has no conversion."""
        plans = []
        for block in region.blocks:
            types = converter.convert_types(block.arg_types)
            if types is None:
                return False
            plans.append((block, types))
        for block, types in plans:
            self.apply_signature_conversion(block, types)
        return True

    # ---- values of converted types ------------------------------------------------------------

    def _cast(self, value: Value, t: Type, point: InsertionPoint, kind: str, location) -> Value:
        cast = UnrealizedConversionCastOp.__new__(UnrealizedConversionCastOp)
        cast._init([value], [t], None, None, 0, (), location)
        point.insert(cast)
        self.log.append((_INSERT, cast))
        self.casts[cast] = (kind, self.type_converter)
        return cast.results[0]

    def remap(self, value: Value, desired: Type) -> Value:
        """`value` as a value of type `desired`: the newest replacement behind the driver's
        casts if one has that type, else a target materialization (one per value and type,
        placed right after the value's definition so every user can share it)."""
        casts = self.casts
        current = value
        while current.type != desired:
            if current.__class__ is not OpResult or current.owner not in casts:
                break
            current = current.owner._operands[0]
        else:
            return current
        key = (current, desired)
        found = self._target_casts.get(key)
        if found is not None:
            return found
        if current.__class__ is OpResult:
            owner = current.owner
            point = InsertionPoint(owner.parent, owner.next)
            location = owner.location
        else:
            block = current.owner
            point = InsertionPoint(block, block.first)
            location = current.location
        result = self._cast(current, desired, point, TARGET, location)
        self._target_casts[key] = result
        self._cast_keys[result.owner] = key
        return result

    def finalize_casts(self, default_converter=None) -> int:
        """Erase the driver's casts nobody uses, let type converters replace the others with
        real materializations, and return how many unrealized casts remain."""
        remaining = 0
        for cast in reversed(list(self.casts)):
            if cast.parent is None or cast in self.erased:
                continue
            result = cast.results[0]
            if not result.uses:
                self.erase_op(cast)
                continue
            kind, converter = self.casts[cast]
            converter = converter or default_converter
            if converter is not None and converter.has_materializations:
                self.insertion_point = InsertionPoint(cast.parent, cast)
                self.location = cast.location
                materialize = converter.materialize_source if kind == SOURCE else converter.materialize_target
                made = materialize(self, result.type, cast._operands, cast.location)
                if made is not None:
                    self._replace_uses(result, made)
                    self.erase_op(cast)
                    continue
            remaining += 1
        return remaining


def _register_uses(op: Operation) -> None:
    for value, use in zip(op._operands, op._uses):
        value.uses[use] = None
