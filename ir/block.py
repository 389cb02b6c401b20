"""ir: blocks (a linked list of ops with arguments) and regions (a list of blocks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Sequence

from .location import Location
from .types import Type
from .value import BlockArgument

if TYPE_CHECKING:
    from .operation import Operation


class Block:
    """Ops are doubly linked (O(1) insert and erase anywhere); order numbers for dominance
    queries are computed lazily and invalidated by insertion."""

    __slots__ = ("args", "first", "last", "parent", "_count", "_order_valid", "__weakref__")

    def __init__(self, arg_types: Sequence[Type] = (), arg_locations: Sequence[Location] | None = None):
        self.args: list[BlockArgument] = []
        self.first: Operation | None = None
        self.last: Operation | None = None
        self.parent: Region | None = None
        self._count = 0
        self._order_valid = True
        locations = arg_locations or [None] * len(arg_types)
        for t, loc in zip(arg_types, locations):
            self.add_argument(t, loc)

    # ---- arguments ---------------------------------------------------------------------------

    def add_argument(self, type: Type, location: Location | None = None) -> BlockArgument:
        arg = BlockArgument(type, self, len(self.args), location)
        self.args.append(arg)
        return arg

    def insert_argument(self, index: int, type: Type, location: Location | None = None) -> BlockArgument:
        arg = BlockArgument(type, self, index, location)
        self.args.insert(index, arg)
        for i, a in enumerate(self.args):
            a.index = i
        return arg

    def erase_argument(self, index: int) -> None:
        arg = self.args[index]
        if arg.uses:
            raise ValueError(f"cannot erase block argument #{index}: it still has uses")
        del self.args[index]
        for i, a in enumerate(self.args):
            a.index = i

    @property
    def arg_types(self) -> tuple[Type, ...]:
        return tuple(a.type for a in self.args)

    # ---- ops ---------------------------------------------------------------------------------

    @property
    def ops(self) -> Iterator["Operation"]:
        """Iterate the ops; safe when the current op is erased or moved."""
        op = self.first
        while op is not None:
            following = op.next
            yield op
            op = following

    def __iter__(self):
        return self.ops

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return True  # an empty block is still a block (len() counts its ops)

    @property
    def is_empty(self) -> bool:
        return self.first is None

    def append(self, op: "Operation") -> "Operation":
        self._link(op, self.last, None)
        return op

    def prepend(self, op: "Operation") -> "Operation":
        self._link(op, None, self.first)
        return op

    def insert_before(self, anchor: "Operation", op: "Operation") -> "Operation":
        assert anchor.parent is self
        self._link(op, anchor.prev, anchor)
        return op

    def insert_after(self, anchor: "Operation", op: "Operation") -> "Operation":
        assert anchor.parent is self
        self._link(op, anchor, anchor.next)
        return op

    def _link(self, op: "Operation", prev, next) -> None:
        if op.parent is not None:
            raise ValueError(f"'{op.name}' is already in a block; detach it first")
        op.parent = self
        op.prev = prev
        op.next = next
        if prev is None:
            self.first = op
        else:
            prev.next = op
        if next is None:
            self.last = op
            if self._order_valid:
                op._order = prev._order + 1 if prev is not None else 0
        else:
            next.prev = op
            self._order_valid = False
        self._count += 1

    def _unlink(self, op: "Operation") -> None:
        if op.prev is None:
            self.first = op.next
        else:
            op.prev.next = op.next
        if op.next is None:
            self.last = op.prev
        else:
            op.next.prev = op.prev
        op.parent = op.prev = op.next = None
        self._count -= 1

    def _ensure_order(self) -> None:
        if not self._order_valid:
            for i, op in enumerate(self.ops):
                op._order = i
            self._order_valid = True

    @property
    def terminator(self) -> "Operation | None":
        return self.last

    # ---- structure ---------------------------------------------------------------------------

    @property
    def parent_op(self) -> "Operation | None":
        return self.parent.parent if self.parent is not None else None

    @property
    def successors(self) -> list["Block"]:
        last = self.last
        return list(last.successors) if last is not None else []

    @property
    def predecessors(self) -> list["Block"]:
        region = self.parent
        if region is None:
            return []
        return [b for b in region.blocks if b.last is not None and self in b.last.successors]

    def erase(self) -> None:
        """Remove from the parent region and drop every nested reference."""
        for op in list(self.ops):
            op.drop_all_references()
        if self.parent is not None:
            self.parent.blocks.remove(self)
            self.parent = None

    def __repr__(self) -> str:
        return f"<Block with {len(self.args)} args, {self._count} ops>"

    __hash__ = object.__hash__


class Region:
    """An ordered list of blocks owned by an operation."""

    __slots__ = ("blocks", "parent", "__weakref__")

    def __init__(self, blocks: Sequence[Block] = ()):
        self.blocks: list[Block] = []
        self.parent: Operation | None = None
        for block in blocks:
            self.add_block(block)

    def add_block(self, block: Block | None = None, index: int | None = None) -> Block:
        block = block if block is not None else Block()
        if block.parent is not None:
            raise ValueError("block already belongs to a region")
        block.parent = self
        if index is None:
            self.blocks.append(block)
        else:
            self.blocks.insert(index, block)
        return block

    @property
    def block(self) -> Block:
        """The only block (creating it if the region is empty)."""
        if not self.blocks:
            return self.add_block()
        if len(self.blocks) != 1:
            raise ValueError(f"region has {len(self.blocks)} blocks, not one")
        return self.blocks[0]

    @property
    def entry(self) -> Block | None:
        return self.blocks[0] if self.blocks else None

    @property
    def is_empty(self) -> bool:
        return not self.blocks

    @property
    def ops(self) -> Iterator["Operation"]:
        for block in list(self.blocks):
            yield from block.ops

    def walk(self, order: str = "pre") -> Iterator["Operation"]:
        for block in list(self.blocks):
            for op in block.ops:
                yield from op.walk(order)

    def take_body(self, other: "Region") -> None:
        """Move every block of `other` to the end of this region."""
        for block in list(other.blocks):
            other.blocks.remove(block)
            block.parent = None
            self.add_block(block)

    def clone_into(self, target: "Region", mapping: dict) -> None:
        new_blocks = []
        for block in self.blocks:
            fresh = Block()
            for arg in block.args:
                new_arg = fresh.add_argument(arg.type, arg.location)
                new_arg.name_hint = arg.name_hint
                mapping[arg] = new_arg
            mapping[block] = fresh
            new_blocks.append(fresh)
            target.add_block(fresh)
        for block, fresh in zip(self.blocks, new_blocks):
            for op in block.ops:
                fresh.append(op.clone(mapping))
        # Successors and forward (graph-region) uses may refer to later blocks and values.
        for fresh in new_blocks:
            for op in fresh.ops:
                _remap(op, mapping)

    def __repr__(self) -> str:
        return f"<Region with {len(self.blocks)} blocks>"

    __hash__ = object.__hash__


def _remap(op: "Operation", mapping: dict) -> None:
    for i, v in enumerate(op._operands):
        new = mapping.get(v)
        if new is not None and new is not v:
            op.set_operand(i, new)
    op.successors = [mapping.get(b, b) for b in op.successors]
    for region in op.regions:
        for block in region.blocks:
            for inner in block.ops:
                _remap(inner, mapping)
