"""rewrites: symbol DCE (MLIR's): erase private symbols that nothing live refers to.

Live to start with: every op of a symbol table that is not a symbol, and every symbol that
is not private (public and nested ones can be used from outside the IR we see). A live
op makes live every symbol it refers to: any SymbolRefAttr in its attributes or those of
the ops nested in it, resolved from the enclosing symbol table (and, as descend's lookup
does, the tables around it); `@a::@b` makes both `@a` and `@b` live. A nested symbol table
gets the same treatment when it is live. Finally every symbol not found live is erased,
in every nested table. (MLIR lets a symbol widen what is discardable through
`canDiscardOnUseEmpty`; descend's symbols are discardable exactly when private.)

An unregistered op with one region might be a symbol table whose uses we cannot see; as in
MLIR, that is an error rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator

from descend.ir import (ArrayAttr, Context, DictionaryAttr, Operation, StringAttr, Symbol,
                        SymbolRefAttr, SymbolTable, SymbolTableTrait)

from ..passes import Pass, register_pass


def is_symbol(op: Operation) -> bool:
    """A registered op that defines a symbol: the Symbol trait, or a `sym_name` on an op
    whose name is optional (a named builtin.module, MLIR's OptionalSymbol)."""
    if op.definition is None:
        return False
    return op.has_trait(Symbol) or isinstance(op.properties.get("sym_name"), StringAttr)


def is_symbol_table(op: Operation) -> bool:
    return op.definition is not None and op.has_trait(SymbolTableTrait)


def is_private(op: Operation) -> bool:
    visibility = op.properties.get("sym_visibility") or op.attributes.get("sym_visibility")
    return isinstance(visibility, StringAttr) and visibility.value == "private"


def attribute_symbol_refs(attribute) -> Iterator[SymbolRefAttr]:
    """Every SymbolRefAttr inside `attribute` (arrays and dictionaries are searched)."""
    if isinstance(attribute, SymbolRefAttr):
        yield attribute
    elif isinstance(attribute, ArrayAttr):
        for element in attribute:
            yield from attribute_symbol_refs(element)
    elif isinstance(attribute, DictionaryAttr):
        for _, element in attribute.entries:
            yield from attribute_symbol_refs(element)


def op_symbol_refs(op: Operation) -> Iterator[SymbolRefAttr]:
    for attributes in (op.properties, op.attributes):
        for attribute in attributes.values():
            if isinstance(attribute, (SymbolRefAttr, ArrayAttr, DictionaryAttr)):
                yield from attribute_symbol_refs(attribute)


class SymbolResolver:
    """Resolves references from a symbol table op outwards, caching each table's map."""

    def __init__(self):
        self.tables: dict[Operation, SymbolTable] = {}

    def table(self, op: Operation) -> SymbolTable:
        table = self.tables.get(op)
        if table is None:
            table = self.tables[op] = SymbolTable(op)
        return table

    def resolve(self, table_op: Operation | None, ref: SymbolRefAttr) -> list[Operation]:
        """The ops along `ref`'s path (`@a::@b` gives [a, b]), or [] when unresolved."""
        while table_op is not None:
            if is_symbol_table(table_op):
                found = self.table(table_op).lookup(ref.root)
                if found is not None:
                    path = [found]
                    for name in ref.nested:
                        if not is_symbol_table(path[-1]):
                            return path
                        nested = self.table(path[-1]).lookup(name)
                        if nested is None:
                            return path
                        path.append(nested)
                    return path
            table_op = table_op.parent_op
        return []


class _Liveness:
    def __init__(self, context: Context):
        self.context = context
        self.live: set[Operation] = set()
        self.resolver = SymbolResolver()

    def compute(self, table_op: Operation) -> None:
        live = self.live
        worklist: list[Operation] = []
        for block in table_op.regions[0].blocks:
            for op in block.ops:
                if not is_symbol(op):
                    worklist.append(op)
                elif not is_private(op) and op not in live:
                    live.add(op)
                    worklist.append(op)
        while worklist:
            op = worklist.pop()
            if is_symbol_table(op):
                self.compute(op)
            for ref in self.uses(op):
                for resolved in self.resolver.resolve(op.parent_op, ref):
                    if resolved not in live:
                        live.add(resolved)
                        worklist.append(resolved)

    def uses(self, op: Operation) -> list[SymbolRefAttr]:
        """References held by `op` and the ops nested in it, not looking inside nested
        symbol tables (they are a scope of their own)."""
        refs: list[SymbolRefAttr] = []
        stack = [op]
        while stack:
            current = stack.pop()
            if (current.definition is None and len(current.regions) == 1
                    and current.dialect_name not in self.context.dialects):
                raise current.error("contains a potentially unknown symbol table, so its symbol "
                                    "uses cannot be computed reliably")
            refs.extend(op_symbol_refs(current))
            if not is_symbol_table(current):
                for region in current.regions:
                    for block in region.blocks:
                        stack.extend(block.ops)
        return refs


@register_pass
@dataclass(frozen=True)
class SymbolDCE(Pass):
    """Erase private symbols that no public symbol or other live op refers to.

    Follows references through nested symbol tables (`@mod::@f`); MLIR's symbol-dce."""

    name: ClassVar[str] = "symbol-dce"
    anchor: ClassVar[str | None] = "builtin.module"
    statistics: ClassVar[dict] = {"num-dce'd": "Number of symbols DCE'd"}

    def run(self, op: Operation, ctx: Context) -> None:
        liveness = _Liveness(ctx)
        liveness.compute(op)
        live = liveness.live
        erased = 0
        for table in op.walk():
            if not is_symbol_table(table):
                continue
            for block in table.regions[0].blocks:
                for child in list(block.ops):
                    if is_symbol(child) and child not in live and not child.has_uses:
                        child.erase()
                        erased += 1
        self.count("num-dce'd", erased)
