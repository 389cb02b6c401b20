"""ir: op traits, each a marker that may also verify what it promises."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .operation import Operation


class Trait:
    """A property of an op class. `verify(op)` raises op.error(...) when the op breaks it."""

    def verify(self, op: "Operation") -> None:
        pass

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class Pure(Trait):
    """No side effects: removable when unused, movable, CSE-able."""


class ConstantLike(Trait):
    """Produces a constant from its attributes alone (folding materialises these)."""


class Commutative(Trait):
    """The first two operands may be swapped."""


class Idempotent(Trait):
    """op(op(x)) == op(x)."""


class Involution(Trait):
    """op(op(x)) == x."""


class SameOperandsAndResultType(Trait):
    def verify(self, op):
        values = op._operands or op.results
        if not values:
            return
        first = values[0].type
        for value in op._operands:
            if value.type != first:
                raise op.error("requires the same type for all operands and results")
        for value in op.results:
            if value.type != first:
                raise op.error("requires the same type for all operands and results")


class SameTypeOperands(Trait):
    def verify(self, op):
        types = [v.type for v in op._operands]
        if types and any(t != types[0] for t in types):
            raise op.error("requires all operands to have the same type")


class SameOperandsAndResultShape(Trait):
    def verify(self, op):
        from .types import ShapedType
        shapes = {getattr(v.type, "shape", None) if isinstance(v.type, ShapedType) else ()
                  for v in [*op._operands, *op.results]}
        if len(shapes) > 1:
            raise op.error("requires the same shape for all operands and results")


class IsTerminator(Trait):
    def verify(self, op):
        if op.parent is not None and op.parent.last is not op:
            raise op.error("must be the last operation in its parent block")


class ReturnLike(Trait):
    """Returns control (and its operands) to the parent op."""


class NoTerminator(Trait):
    """Its regions' blocks need not end in a terminator."""


class SingleBlock(Trait):
    def verify(self, op):
        for i, region in enumerate(op.regions):
            if len(region.blocks) > 1:
                raise op.error(f"expects region #{i} to have 0 or 1 blocks")


class IsolatedFromAbove(Trait):
    """Nothing inside may use a value defined outside (checked by the structural verifier)."""


class GraphRegions(Trait):
    """Its regions are graph regions: no dominance, uses may precede definitions."""


class SymbolTable(Trait):
    """Its single region holds symbols whose names must be unique."""

    def verify(self, op):
        seen = {}
        for region in op.regions:
            for block in region.blocks:
                for child in block.ops:
                    name = child.properties.get("sym_name") or child.attributes.get("sym_name")
                    if name is None:
                        continue
                    key = getattr(name, "value", name)
                    if key in seen:
                        from .diagnostics import note
                        raise child.error(f"redefinition of symbol named '{key}'",
                                          notes=[note(seen[key].location, "see existing symbol definition here")])
                    seen[key] = child


class Symbol(Trait):
    """Defines a symbol through its `sym_name` string attribute."""

    def verify(self, op):
        from .attributes import StringAttr
        name = op.properties.get("sym_name") or op.attributes.get("sym_name")
        if not isinstance(name, StringAttr):
            raise op.error("requires string attribute 'sym_name'")


class HasParent(Trait):
    def __init__(self, *parent_names: str):
        self.parent_names = parent_names

    def verify(self, op):
        parent = op.parent_op
        if parent is None or parent.name not in self.parent_names:
            names = ", ".join(f"'{n}'" for n in self.parent_names)
            expects = f"expects parent op {'to be one of ' if len(self.parent_names) > 1 else ''}{names}"
            raise op.error(expects)

    def __repr__(self) -> str:
        return f"HasParent{self.parent_names}"


class AttrSizedOperandSegments(Trait):
    """Variadic operand groups are delimited by the `operandSegmentSizes` property."""


class AttrSizedResultSegments(Trait):
    """Variadic result groups are delimited by the `resultSegmentSizes` property."""
