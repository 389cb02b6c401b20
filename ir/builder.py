"""ir: building IR at an insertion point (MLIR's OpBuilder)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .block import Block
    from .operation import Operation


class InsertionPoint:
    """Before `anchor` in `block`, or at the end of `block` when anchor is None."""

    __slots__ = ("block", "anchor")

    def __init__(self, block: "Block", anchor: "Operation | None" = None):
        self.block = block
        self.anchor = anchor

    @classmethod
    def at_end(cls, block: "Block") -> "InsertionPoint":
        return cls(block)

    @classmethod
    def at_start(cls, block: "Block") -> "InsertionPoint":
        return cls(block, block.first)

    @classmethod
    def before(cls, op: "Operation") -> "InsertionPoint":
        return cls(op.parent, op)

    @classmethod
    def after(cls, op: "Operation") -> "InsertionPoint":
        return cls(op.parent, op.next)

    def insert(self, op: "Operation") -> "Operation":
        if self.anchor is None:
            return self.block.append(op)
        return self.block.insert_before(self.anchor, op)


class Builder:
    """Inserts ops at its insertion point; `build(OpClass, ...)` constructs and inserts."""

    def __init__(self, insertion_point: InsertionPoint | None = None, location=None):
        self.insertion_point = insertion_point
        self.location = location

    @classmethod
    def at_end(cls, block: "Block") -> "Builder":
        return cls(InsertionPoint.at_end(block))

    @classmethod
    def before(cls, op: "Operation") -> "Builder":
        return cls(InsertionPoint.before(op))

    @classmethod
    def after(cls, op: "Operation") -> "Builder":
        return cls(InsertionPoint.after(op))

    def set_insertion_point(self, point: InsertionPoint) -> None:
        self.insertion_point = point

    def insert(self, op: "Operation") -> "Operation":
        if self.insertion_point is None:
            raise ValueError("builder has no insertion point")
        if self.location is not None and op.location.__class__.__name__ == "UnknownLoc":
            op.location = self.location
        return self.insertion_point.insert(op)

    def build(self, op_class, *args, **kwargs) -> "Operation":
        if self.location is not None:
            kwargs.setdefault("location", self.location)
        return self.insert(op_class.build(*args, **kwargs))

    def create(self, name: str, *args, context=None, **kwargs) -> "Operation":
        from .operation import Operation
        return self.insert(Operation.create(name, *args, context=context, **kwargs))

    @contextmanager
    def at(self, point: InsertionPoint):
        """Temporarily move the insertion point."""
        saved = self.insertion_point
        self.insertion_point = point
        try:
            yield self
        finally:
            self.insertion_point = saved
