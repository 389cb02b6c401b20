"""ir: the printer: MLIR's generic form for any op, each registered op's custom form from its
assembly format, SSA numbering per isolated scope, optional locations, and the
`{-# dialect_resources #-}` section for dense_resource blobs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .attributes import (Attribute, DenseArrayAttr, DictionaryAttr, DistinctAttr, StringAttr,
                         UnitAttr, bare_or_quoted, escape_string, print_attr_entries)
from .dense import DenseElementsAttr, DenseResourceAttr, HEX_THRESHOLD
from .location import Location, UnknownLoc
from .traits import IsolatedFromAbove
from .types import FunctionType, Type, print_result_types

if TYPE_CHECKING:
    from .block import Block, Region
    from .operation import Operation
    from .value import Value

_VALID_HINT = re.compile(r"^[A-Za-z_$.\-][A-Za-z0-9_$.\-]*$")
_RESERVED_HINT = re.compile(r"^arg[0-9]+$")


class Printer:
    def __init__(self, generic: bool = False, debuginfo: bool = False,
                 hex_threshold: int = HEX_THRESHOLD, elide_constants: int | None = None,
                 indent: str = "  "):
        self.generic = generic
        self.debuginfo = debuginfo
        self.hex_threshold = hex_threshold
        self.elide_constants = elide_constants
        self.indent_unit = indent
        self.out: list[str] = []
        self.names: dict = {}        # Value -> name text ("%0", "%0#1", "%arg0", "%x")
        self.block_names: dict = {}  # Block -> "^bb0"
        self.resources: dict[str, object] = {}
        self.distinct_ids: dict[int, int] = {}
        self._sig_cache: dict = {}
        self._used_hints: set = set()

    # ---- entry points ------------------------------------------------------------------------

    def print_top(self, op: "Operation") -> str:
        self._number_scope([op], fresh=True)
        self.print_op(op, 0)
        self.out.append("\n")
        if self.resources:
            self._print_resources()
        return "".join(self.out)

    # ---- names ---------------------------------------------------------------------------------

    def _number_scope(self, ops, fresh: bool, counters=None) -> None:
        """Number results and block arguments in definition order (MLIR's SSANameState):
        numbering restarts inside IsolatedFromAbove ops and resumes after nested regions."""
        if counters is None:
            counters = [0, 0, 0]  # next value id, next arg id, next block id
        for op in ops:
            self._number_results(op, counters)
            for region in op.regions:
                isolated = op.definition is not None and op.has_trait(IsolatedFromAbove)
                inner = [0, 0, 0] if isolated else list(counters)
                if isolated:
                    saved_hints = self._used_hints
                    self._used_hints = set()
                inner[2] = 0
                for block in region.blocks:
                    self.block_names[block] = f"^bb{inner[2]}"
                    inner[2] += 1
                entry = region.blocks[0] if region.blocks else None
                for block in region.blocks:
                    for arg in block.args:
                        hint = self._hint(arg)
                        if hint is not None:
                            self.names[arg] = hint
                        elif block is entry:
                            self.names[arg] = f"%arg{inner[1]}"
                            inner[1] += 1
                        else:
                            self.names[arg] = f"%{inner[0]}"
                            inner[0] += 1
                    self._number_scope(block.ops, False, inner)
                if isolated:
                    self._used_hints = saved_hints

    def _number_results(self, op: "Operation", counters) -> None:
        results = op.results
        if not results:
            return
        hint = self._hint(results[0])
        if hint is None:
            base = f"%{counters[0]}"
            counters[0] += 1
        else:
            base = hint
        if len(results) == 1:
            self.names[results[0]] = base
        else:
            for r in results:
                self.names[r] = f"{base}#{r.index}"
        self.names[op] = base

    def _hint(self, value) -> str | None:
        hint = value.name_hint
        if not hint or not _VALID_HINT.match(hint) or hint[0].isdigit() or _RESERVED_HINT.match(hint):
            return None
        name = hint
        n = 1
        while name in self._used_hints:
            name = f"{hint}_{n}"
            n += 1
        self._used_hints.add(name)
        return "%" + name

    def value_name(self, value: "Value") -> str:
        name = self.names.get(value)
        if name is None:
            # A value from outside what is printed (printing a nested op alone).
            name = f"%<<UNKNOWN SSA VALUE>>"
        return name

    def block_name(self, block: "Block") -> str:
        return self.block_names.get(block, "^<<UNKNOWN BLOCK>>")

    # ---- ops -----------------------------------------------------------------------------------

    def print_op(self, op: "Operation", depth: int) -> None:
        out = self.out
        out.append(self.indent_unit * depth)
        if op.results:
            base = self.names[op]
            n = len(op.results)
            out.append(f"{base}:{n} = " if n > 1 else f"{base} = ")
        fmt = op.definition.format if op.definition is not None else None
        self._depth = depth
        if fmt is not None and not self.generic:
            from .assembly_format import FormatPrinter
            out.append(self._custom_name(op))
            fp = FormatPrinter(self, op)
            fp.print_elements(fmt.elements)
        else:
            self._print_generic(op, depth)
        if self.debuginfo:
            out.append(" " + self.location_text(op.location))

    def _custom_name(self, op: "Operation") -> str:
        """Drop the prefix of the default dialect of the nearest enclosing op that declares
        one (MLIR's OpAsmOpInterface::getDefaultDialect); "builtin" when none does."""
        name = op.name
        default = "builtin"
        parent = op.parent_op
        while parent is not None:
            declared = getattr(parent, "default_dialect", None)
            if declared:
                default = declared
                break
            parent = parent.parent_op
        if name.startswith(default + ".") and name.count(".") == 1:
            return name[len(default) + 1:]
        return name

    def _print_generic(self, op: "Operation", depth: int) -> None:
        out = self.out
        names = self.names
        out.append('"')
        out.append(op.name)
        out.append('"(')
        out.append(", ".join([names.get(v) or self.value_name(v) for v in op._operands]))
        out.append(")")
        if op.successors:
            out.append("[" + ", ".join(self.block_name(b) for b in op.successors) + "]")
        if op.properties:
            out.append(" <{" + self._entries_text(op.properties) + "}>")
        if op.regions:
            out.append(" (")
            for i, region in enumerate(op.regions):
                if i:
                    out.append(", ")
                # An empty entry block keeps its `^bb0:` (as MLIR's generic form): `{}` is no block.
                self.print_region(region, depth=depth, print_empty_block=True)
            out.append(")")
        if op.attributes:
            out.append(" {" + self._entries_text(op.attributes) + "}")
        out.append(" : ")
        out.append(self._signature(op))

    def _signature(self, op: "Operation") -> str:
        key = (tuple([v.type for v in op._operands]), tuple([r.type for r in op.results]))
        text = self._sig_cache.get(key)
        if text is None:
            ins, outs = key
            text = f"({', '.join(self.type_text(t) for t in ins)}) -> "
            if len(outs) == 1 and not isinstance(outs[0], FunctionType):
                text += self.type_text(outs[0])
            else:
                text += f"({', '.join(self.type_text(t) for t in outs)})"
            self._sig_cache[key] = text
        return text

    # ---- regions and blocks --------------------------------------------------------------

    def print_region(self, region: "Region", depth: int | None = None, print_entry_args: bool = True,
                     print_empty_block: bool = False) -> None:
        if depth is None:
            depth = self._depth
        out = self.out
        out.append("{\n")
        for i, block in enumerate(region.blocks):
            is_entry = i == 0
            show_header = not is_entry or (print_entry_args and block.args) or (
                print_empty_block and block.is_empty) or (is_entry and block.predecessors)
            if show_header:
                out.append(self.indent_unit * depth + self.block_name(block))
                if block.args and (print_entry_args or not is_entry):
                    out.append("(" + ", ".join(self._arg_text(a) for a in block.args) + ")")
                out.append(":\n")
            for op in block.ops:
                self.print_op(op, depth + 1)
                out.append("\n")
        out.append(self.indent_unit * depth + "}")
        self._depth = depth

    def _arg_text(self, arg) -> str:
        text = f"{self.value_name(arg)}: {self.type_text(arg.type)}"
        if self.debuginfo and arg.location is not None:
            text += " " + self.location_text(arg.location)
        return text

    # ---- types, attributes, locations --------------------------------------------------

    def type_text(self, t: Type) -> str:
        return str(t)

    def attr_text(self, attr: Attribute, elide_type: bool = False) -> str:
        if isinstance(attr, DenseElementsAttr):
            limit = self.elide_constants
            if limit is not None and attr.array.size > limit:
                return f"dense_resource<__elided__> : {attr.type}"
            if self.hex_threshold != HEX_THRESHOLD:
                return f"dense<{attr.body(self.hex_threshold)}> : {attr.type}"
            return str(attr)
        if isinstance(attr, DenseResourceAttr):
            self.resources[attr.blob.name] = attr.blob
            return str(attr)
        if isinstance(attr, DistinctAttr):
            uid = self.distinct_ids.setdefault(attr.uid, len(self.distinct_ids))
            return f"distinct[{uid}]<{self.attr_text(attr.referenced)}>"
        if _needs_walk(attr):
            return _rebuild_text(self, attr)
        return str(attr)

    def _entries_text(self, entries: dict) -> str:
        return ", ".join(bare_or_quoted(k) if isinstance(v, UnitAttr)
                         else f"{bare_or_quoted(k)} = {self.attr_text(v)}"
                         for k, v in sorted(entries.items()))

    def attr_dict_text(self, op: "Operation", elided: set, with_keyword: bool = False) -> str:
        entries = {k: v for k, v in op.properties.items() if k not in elided}
        entries.update({k: v for k, v in op.attributes.items() if k not in elided})
        if not entries:
            return ""
        text = "{" + self._entries_text(entries) + "}"
        return ("attributes " + text) if with_keyword else text

    def location_text(self, loc: Location) -> str:
        return str(loc)

    def _print_resources(self) -> None:
        out = self.out
        out.append("\n{-#\n  dialect_resources: {\n    builtin: {\n")
        entries = [f"      {bare_or_quoted(name)}: \"{blob.hex()}\""
                   for name, blob in self.resources.items() if blob.data is not None]
        out.append(",\n".join(entries))
        out.append("\n    }\n  }\n#-}\n")


def _needs_walk(attr: Attribute) -> bool:
    """Containers only need re-printing when they hold resource, distinct or dense attrs."""
    from .attributes import ArrayAttr
    if isinstance(attr, ArrayAttr):
        return any(_needs_walk(a) or isinstance(a, (DenseResourceAttr, DistinctAttr, DenseElementsAttr))
                   for a in attr.elements)
    if isinstance(attr, DictionaryAttr):
        return any(_needs_walk(v) or isinstance(v, (DenseResourceAttr, DistinctAttr, DenseElementsAttr))
                   for _, v in attr.entries)
    return False


def _rebuild_text(printer: Printer, attr: Attribute) -> str:
    from .attributes import ArrayAttr
    if isinstance(attr, ArrayAttr):
        return "[" + ", ".join(printer.attr_text(a) for a in attr.elements) + "]"
    return "{" + printer._entries_text(dict(attr.entries)) + "}"


def print_ir(op: "Operation", generic: bool = False, debuginfo: bool = False, **options) -> str:
    return Printer(generic=generic, debuginfo=debuginfo, **options).print_top(op)
