"""ir: symbol tables: ops with the SymbolTable trait map `sym_name`s to the ops defining them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .attributes import StringAttr, SymbolRefAttr
from .traits import SymbolTable as SymbolTableTrait

if TYPE_CHECKING:
    from .operation import Operation


def symbol_name(op: "Operation") -> str | None:
    attr = op.properties.get("sym_name") or op.attributes.get("sym_name")
    return attr.value if isinstance(attr, StringAttr) else None


class SymbolTable:
    """A name -> op view of a symbol-table op's region, kept in step by insert/erase."""

    def __init__(self, op: "Operation"):
        self.op = op
        self.symbols: dict[str, "Operation"] = {}
        for region in op.regions:
            for block in region.blocks:
                for child in block.ops:
                    name = symbol_name(child)
                    if name is not None:
                        self.symbols.setdefault(name, child)

    def lookup(self, name: str) -> "Operation | None":
        return self.symbols.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.symbols

    def insert(self, op: "Operation") -> str:
        """Append `op` to the table's block, renaming it if its name is taken."""
        name = symbol_name(op)
        if name is None:
            raise ValueError(f"'{op.name}' has no sym_name")
        unique, n = name, 0
        while unique in self.symbols:
            n += 1
            unique = f"{name}_{n}"
        if unique != name:
            key = "sym_name" if "sym_name" in op.properties else None
            (op.properties if key else op.attributes)["sym_name"] = StringAttr(unique)
        self.op.regions[0].block.append(op)
        self.symbols[unique] = op
        return unique

    def erase(self, op: "Operation") -> None:
        name = symbol_name(op)
        if name is not None:
            self.symbols.pop(name, None)
        op.erase()


def nearest_symbol_table(op: "Operation") -> "Operation | None":
    while op is not None:
        if op.definition is not None and op.has_trait(SymbolTableTrait):
            return op
        op = op.parent_op
    return None


def lookup_symbol(from_op: "Operation", ref: SymbolRefAttr | str) -> "Operation | None":
    """Resolve a (possibly nested) symbol reference from the nearest enclosing symbol table."""
    if isinstance(ref, str):
        ref = SymbolRefAttr(ref)
    table_op = nearest_symbol_table(from_op)
    while table_op is not None:
        found = SymbolTable(table_op).lookup(ref.root)
        if found is not None:
            for name in ref.nested:
                found = SymbolTable(found).lookup(name) if found is not None else None
            return found
        parent = table_op.parent_op
        table_op = nearest_symbol_table(parent) if parent is not None else None
    return None
