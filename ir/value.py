"""ir: SSA values and their uses (the use-def chains)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from .types import Type

if TYPE_CHECKING:
    from .block import Block
    from .operation import Operation


class Use:
    """Operand `index` of `owner` uses a value."""

    __slots__ = ("owner", "index")

    def __init__(self, owner: "Operation", index: int):
        self.owner = owner
        self.index = index

    def __repr__(self) -> str:
        return f"Use({self.owner.name}, {self.index})"


class Value:
    """Something an operand can refer to. `uses` is insertion-ordered (a dict used as a set)."""

    __slots__ = ("type", "uses", "name_hint")

    # The op whose result this is (None for block arguments). A plain attribute, not a
    # property: folders and patterns ask it of nearly every operand they look at.
    defining_op: "Operation | None" = None

    def __init__(self, type: Type, name_hint: str | None = None):
        self.type = type
        self.uses: dict[Use, None] = {}
        self.name_hint = name_hint

    @property
    def has_uses(self) -> bool:
        return bool(self.uses)

    @property
    def has_one_use(self) -> bool:
        return len(self.uses) == 1

    def users(self) -> Iterator["Operation"]:
        seen = set()
        for use in list(self.uses):
            if id(use.owner) not in seen:
                seen.add(id(use.owner))
                yield use.owner

    def replace_all_uses_with(self, other: "Value") -> None:
        if other is self:
            return
        uses = self.uses
        moved = other.uses
        for use in uses:  # Operation.set_operand for each use, the use list moved in one go
            use.owner._operands[use.index] = other
            moved[use] = None
        uses.clear()

    def replace_uses_if(self, other: "Value", predicate) -> None:
        for use in list(self.uses):
            if predicate(use):
                use.owner.set_operand(use.index, other)

    @property
    def owner_block(self) -> "Block | None":
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} : {self.type}>"


class OpResult(Value):
    __slots__ = ("owner", "index", "defining_op")

    def __init__(self, type: Type, owner: "Operation", index: int):
        self.type = type
        self.uses = {}
        self.name_hint = None
        self.owner = owner
        self.index = index
        self.defining_op = owner

    @property
    def owner_block(self) -> "Block | None":
        return self.owner.parent

    def __repr__(self) -> str:
        return f"<OpResult #{self.index} of {self.owner.name} : {self.type}>"


class BlockArgument(Value):
    __slots__ = ("owner", "index", "location")

    def __init__(self, type: Type, owner: "Block", index: int, location=None):
        self.type = type
        self.uses = {}
        self.name_hint = None
        self.owner = owner
        self.index = index
        self.location = location

    @property
    def owner_block(self) -> "Block":
        return self.owner

    def __repr__(self) -> str:
        return f"<BlockArgument #{self.index} : {self.type}>"
