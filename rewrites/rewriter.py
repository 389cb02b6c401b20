"""rewrites: the rewriter every pattern mutates IR through (MLIR's PatternRewriter).

Patterns never touch the IR behind the driver's back: each insertion, replacement, erasure
and in-place change goes through a `PatternRewriter`, which tells its listener (the greedy
driver's worklist, the conversion driver's bookkeeping, a debug log) what happened."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

from descend.ir import UNKNOWN, Builder, InsertionPoint, Operation, Value


class RewriteListener:
    """Hooks a driver implements to follow the changes a pattern makes. All optional."""

    def notify_op_inserted(self, op: Operation) -> None:
        pass

    def notify_op_replaced(self, op: Operation, values: Sequence[Value]) -> None:
        pass

    def notify_op_erased(self, op: Operation) -> None:
        pass

    def notify_op_modified(self, op: Operation) -> None:
        pass

    def notify_match_failure(self, op: Operation, reason: str) -> None:
        pass


class PatternRewriter(Builder):
    """A Builder whose every change is reported to a listener.

    Contract for patterns: decide first, then mutate; a pattern that returns False (or
    `rewriter.no_match(...)`) must not have changed anything."""

    def __init__(self, listener: RewriteListener | None = None, context=None, explain: bool = False):
        super().__init__()
        self.listener = listener or RewriteListener()
        self.context = context
        # True when someone reads match-failure reasons (--debug-rewrites): patterns may
        # skip formatting reasons otherwise.
        self.explain = explain
        self.current_op: Operation | None = None

    # ---- creating ops ------------------------------------------------------------------

    def insert(self, op: Operation) -> Operation:
        if self.insertion_point is None:
            raise ValueError("PatternRewriter has no insertion point")
        if self.location is not None and op.location is UNKNOWN:
            op.location = self.location  # as Builder.insert: new ops inherit the rewritten op's location
        self.insertion_point.insert(op)
        self.listener.notify_op_inserted(op)
        return op

    def create(self, name: str, *args, **kwargs) -> Operation:
        kwargs.setdefault("context", self.context)
        return super().create(name, *args, **kwargs)

    def insert_before(self, anchor: Operation, op: Operation) -> Operation:
        anchor.parent.insert_before(anchor, op)
        self.listener.notify_op_inserted(op)
        return op

    def insert_after(self, anchor: Operation, op: Operation) -> Operation:
        anchor.parent.insert_after(anchor, op)
        self.listener.notify_op_inserted(op)
        return op

    @contextmanager
    def at(self, point: InsertionPoint) -> Iterator["PatternRewriter"]:
        saved = self.insertion_point
        self.insertion_point = point
        try:
            yield self
        finally:
            self.insertion_point = saved

    # ---- replacing and erasing ---------------------------------------------------------

    def replace_op(self, op: Operation, values: "Operation | Value | Sequence[Value]") -> None:
        """Replace every result of `op` with `values` (an op's results, one value, or a
        list), then erase `op`."""
        if isinstance(values, Operation):
            values = values.results
        elif isinstance(values, Value):
            values = [values]
        values = list(values)
        if len(values) != len(op.results):
            raise ValueError(f"replacing '{op.name}' ({len(op.results)} results) with {len(values)} values")
        self.listener.notify_op_replaced(op, values)
        for old, new in zip(op.results, values):
            if old is not new:
                old.replace_all_uses_with(new)
        self.erase_op(op)

    def replace_with(self, op: Operation, new_op: Operation) -> Operation:
        """Insert `new_op` before `op` and replace `op` with its results."""
        self.insert_before(op, new_op)
        self.replace_op(op, new_op.results)
        return new_op

    def replace_all_uses_with(self, old: Value, new: Value) -> None:
        users = list(old.users())
        old.replace_all_uses_with(new)
        for user in users:
            self.listener.notify_op_modified(user)

    def erase_op(self, op: Operation) -> None:
        """Erase `op` and everything nested in it; its results must be unused."""
        if op.regions:
            for nested in op.walk(order="post"):
                if nested is not op:
                    self.listener.notify_op_erased(nested)
        self.listener.notify_op_erased(op)
        op.erase()

    # ---- in-place changes ----------------------------------------------------------------

    @contextmanager
    def modify(self, op: Operation) -> Iterator[Operation]:
        """`with rewriter.modify(op): op.set_attr(...)` reports the change when it ends."""
        yield op
        self.listener.notify_op_modified(op)

    def modify_op_in_place(self, op: Operation, change) -> None:
        change(op)
        self.listener.notify_op_modified(op)

    def set_operand(self, op: Operation, index: int, value: Value) -> None:
        op.set_operand(index, value)
        self.listener.notify_op_modified(op)

    # ---- saying why not ------------------------------------------------------------------

    def no_match(self, reason: str = "", op: Operation | None = None) -> bool:
        """Record why a pattern did not apply (shown by --debug-rewrites); returns False so
        a pattern can `return rewriter.no_match("perm is not a permutation")`."""
        self.listener.notify_match_failure(op if op is not None else self.current_op, reason)
        return False
