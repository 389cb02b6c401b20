"""ir: declarative assembly formats (MLIR's `assemblyFormat`), parsed once per op class into
directives. The printer walks the directives here; parser/format_grammar.py turns the same
directives into Lark rules, so an op's custom syntax is declared once and never written twice.

Grammar of a format (MLIR's subset):
    element   := literal | `$name` | directive | group
    literal   := '`' text '`'          (`` `` `` is "no space")
    directive := attr-dict | attr-dict-with-keyword | type(x) | functional-type(x, y)
               | operands | results | regions | successors | custom<Name>(args)
    group     := '(' element+ ')' '?'  with one element marked `^` as its anchor
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .opdef import OpDefinition


class FormatError(Exception):
    """A malformed assembly format: a bug in the op declaration, raised at class creation."""


@dataclass
class Literal:
    text: str


@dataclass
class Var:
    """`$name`: an operand, attribute, region or successor field."""
    name: str
    field: Any
    category: str  # "operand" | "attribute" | "region" | "successor" | "result"
    anchor: bool = False


@dataclass
class TypeOf:
    """`type($x)` / `type(operands)` / `type(results)`."""
    target: Any  # Var, or the strings "operands" / "results"
    anchor: bool = False


@dataclass
class FunctionalType:
    inputs: Any
    results: Any
    anchor: bool = False


@dataclass
class AttrDict:
    with_keyword: bool = False


@dataclass
class AllOf:
    """`operands`, `regions` or `successors` directive."""
    category: str
    anchor: bool = False


@dataclass
class Custom:
    """`custom<Name>(args)`: the op class provides a CustomDirective named Name."""
    name: str
    args: list
    directive: Any = None
    anchor: bool = False


@dataclass
class Optional_:
    elements: list
    anchor: Any = None


@dataclass
class Format:
    elements: list
    text: str
    # Field names whose types the format does not give: inferred by the op.
    inferred_result_types: bool = False
    operand_types_from: dict = field(default_factory=dict)


_TOKEN = re.compile(r"\s*(`[^`]*`|\$[A-Za-z_][A-Za-z0-9_]*\^?|attr-dict-with-keyword|attr-dict|"
                    r"functional-type|type|operands|results|regions|successors|custom<[A-Za-z0-9_]+>|"
                    r"\(|\)\?|\)|,|\^)")


def parse_format(text: str, definition: "OpDefinition") -> Format:
    tokens = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise FormatError(f"{definition.name}: cannot read assembly format at '{text[pos:]}'")
        tokens.append(m.group(1))
        pos = m.end()
    reader = _Reader(tokens, definition)
    elements = reader.elements(top=True)
    fmt = Format(elements, text)
    _check_complete(fmt, definition)
    return fmt


class _Reader:
    def __init__(self, tokens: list[str], definition: "OpDefinition"):
        self.tokens = tokens
        self.pos = 0
        self.defn = definition

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise FormatError(f"{self.defn.name}: assembly format ends early")
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok != text:
            raise FormatError(f"{self.defn.name}: expected '{text}' in assembly format, found '{tok}'")

    def elements(self, top: bool) -> list:
        out = []
        while True:
            tok = self.peek()
            if tok is None or tok in (")", ")?"):
                if top and tok is not None:
                    raise FormatError(f"{self.defn.name}: unbalanced ')' in assembly format")
                return out
            out.append(self.element())

    def element(self):
        tok = self.take()
        if tok.startswith("`"):
            return Literal(tok[1:-1])
        if tok.startswith("$"):
            anchor = tok.endswith("^")
            return self.var(tok[1:].rstrip("^"), anchor)
        if tok in ("attr-dict", "attr-dict-with-keyword"):
            return AttrDict(tok == "attr-dict-with-keyword")
        if tok == "type":
            self.expect("(")
            target = self.target()
            self.expect(")")
            return TypeOf(target, self.anchor())
        if tok == "functional-type":
            self.expect("(")
            inputs = self.target()
            self.expect(",")
            results = self.target()
            self.expect(")")
            return FunctionalType(inputs, results, self.anchor())
        if tok in ("operands", "results", "regions", "successors"):
            return AllOf(tok, self.anchor())
        if tok.startswith("custom<"):
            name = tok[len("custom<"):-1]
            self.expect("(")
            args = []
            while self.peek() != ")":
                arg = self.take()
                if arg == ",":
                    continue
                if arg == "type":
                    self.expect("(")
                    args.append(TypeOf(self.target()))
                    self.expect(")")
                elif arg.startswith("$"):
                    args.append(self.var(arg[1:].rstrip("^"), False))
                elif arg == "attr-dict":
                    args.append(AttrDict())
                else:
                    raise FormatError(f"{self.defn.name}: bad custom directive argument '{arg}'")
            self.expect(")")
            directive = getattr(self.defn.op_class, "custom_directives", {}).get(name)
            if directive is None:
                raise FormatError(f"{self.defn.name}: no custom directive '{name}' in "
                                  f"{self.defn.op_class.__name__}.custom_directives")
            return Custom(name, args, directive, self.anchor())
        if tok == "(":
            elements = self.elements(top=False)
            end = self.take()
            if end != ")?":
                raise FormatError(f"{self.defn.name}: optional group must end with ')?'")
            anchors = [e for e in elements if getattr(e, "anchor", False)]
            if len(anchors) != 1:
                raise FormatError(f"{self.defn.name}: optional group needs exactly one '^' anchor")
            if isinstance(elements[0], Literal) is False and not _can_start_group(elements[0]):
                raise FormatError(f"{self.defn.name}: optional group must start with a literal, "
                                  "an operand, a region or an attribute")
            return Optional_(elements, anchors[0])
        raise FormatError(f"{self.defn.name}: unexpected '{tok}' in assembly format")

    def anchor(self) -> bool:
        if self.peek() == "^":
            self.pos += 1
            return True
        return False

    def target(self):
        tok = self.take()
        if tok in ("operands", "results"):
            return tok
        if tok.startswith("$"):
            return self.var(tok[1:], False)
        raise FormatError(f"{self.defn.name}: expected $name, operands or results, found '{tok}'")

    def var(self, name: str, anchor: bool) -> Var:
        from .opdef import AttributeDef, OperandDef, RegionDef, ResultDef, SuccessorDef
        fld = getattr(self.defn.op_class, name, None)
        kinds = {OperandDef: "operand", AttributeDef: "attribute", RegionDef: "region",
                 SuccessorDef: "successor", ResultDef: "result"}
        for cls, category in kinds.items():
            if isinstance(fld, cls):
                return Var(name, fld, category, anchor)
        raise FormatError(f"{self.defn.name}: assembly format names '${name}', which is not a field")


def _can_start_group(element) -> bool:
    return isinstance(element, (Var, AttrDict, AllOf, Custom, TypeOf))


def _walk(elements):
    for e in elements:
        yield e
        if isinstance(e, Optional_):
            yield from _walk(e.elements)


def _check_complete(fmt: Format, defn: "OpDefinition") -> None:
    """Every operand, region and successor must appear; result types must appear or be
    inferable (SameOperandsAndResultType, or an op-provided infer_result_types)."""
    seen = set()
    typed = set()
    for e in _walk(fmt.elements):
        if isinstance(e, Var):
            seen.add(e.name)
        elif isinstance(e, AllOf):
            seen.add(e.category)
        elif isinstance(e, TypeOf):
            typed.add(e.target if isinstance(e.target, str) else e.target.name)
        elif isinstance(e, FunctionalType):
            for t in (e.inputs, e.results):
                typed.add(t if isinstance(t, str) else t.name)
        elif isinstance(e, Custom):
            for a in e.args:
                if isinstance(a, Var):
                    seen.add(a.name)
                elif isinstance(a, TypeOf):
                    typed.add(a.target if isinstance(a.target, str) else a.target.name)
            seen.update(getattr(e.directive, "provides", ()))
            typed.update(getattr(e.directive, "provides_types", ()))
    if not any(isinstance(e, AttrDict) for e in fmt.elements):
        raise FormatError(f"{defn.name}: assembly format needs 'attr-dict'")
    for d in defn.operands:
        if d.name not in seen and "operands" not in seen:
            raise FormatError(f"{defn.name}: assembly format does not mention operand '${d.name}'")
    for d in defn.regions:
        if d.name not in seen and "regions" not in seen:
            raise FormatError(f"{defn.name}: assembly format does not mention region '${d.name}'")
    for d in defn.successors:
        if d.name not in seen and "successors" not in seen:
            raise FormatError(f"{defn.name}: assembly format does not mention successor '${d.name}'")
    fmt.typed = typed


# ---- printing --------------------------------------------------------------------------------

def _space_before_literal(text: str, last_was_punct: bool) -> bool:
    """MLIR's rule for spacing around punctuation literals."""
    if len(text) != 1 and text != "->":
        return True
    if last_was_punct:
        return text[0] not in ">)}],"
    return text[0] not in "<>(){}[],"


class FormatPrinter:
    """Prints one op's custom form from its directives into the Printer's output list."""

    def __init__(self, printer, op):
        self.p = printer
        self.op = op
        self.should_space = True
        self.last_was_punct = False

    def emit(self, text: str) -> None:
        """Emit a non-literal element, with a space unless just after an opening bracket."""
        if self.should_space:
            self.p.out.append(" ")
        self.p.out.append(text)
        self.should_space = True
        self.last_was_punct = False

    def literal(self, text: str) -> None:
        if text == "":
            self.should_space = False
            return
        if self.should_space and _space_before_literal(text, self.last_was_punct):
            self.p.out.append(" ")
        self.p.out.append(text)
        self.last_was_punct = not (text[0] == "_" or text[0].isalpha())
        self.should_space = text not in ("(", "[", "{", "<")

    def print_elements(self, elements) -> None:
        for e in elements:
            self.print_element(e)

    def print_element(self, e) -> None:
        p, op = self.p, self.op
        if isinstance(e, Literal):
            self.literal(e.text)
        elif isinstance(e, Var):
            self.print_var(e)
        elif isinstance(e, TypeOf):
            types = self.types_of(e.target)
            if types:
                self.emit(", ".join(p.type_text(t) for t in types))
        elif isinstance(e, FunctionalType):
            ins = self.types_of(e.inputs)
            outs = self.types_of(e.results)
            from .types import print_result_types
            self.emit(f"({', '.join(p.type_text(t) for t in ins)}) -> "
                      + (print_result_types(outs) if len(outs) == 1 else
                         f"({', '.join(p.type_text(t) for t in outs)})"))
        elif isinstance(e, AttrDict):
            elided = self.elided_attributes()
            text = p.attr_dict_text(op, elided, with_keyword=e.with_keyword)
            if text:
                self.p.out.append(" " + text)
                self.should_space = True
                self.last_was_punct = False
        elif isinstance(e, AllOf):
            if e.category == "operands":
                self.emit(", ".join(p.value_name(v) for v in op._operands)) if op._operands else None
            elif e.category == "regions":
                for i, r in enumerate(op.regions):
                    if i:
                        self.literal(",")
                    self.print_region(r)
            elif e.category == "successors":
                if op.successors:
                    self.emit(", ".join(p.block_name(b) for b in op.successors))
        elif isinstance(e, Custom):
            e.directive.print(self, op, e.args)
        elif isinstance(e, Optional_):
            if self.group_present(e):
                self.print_elements(e.elements)
        else:
            raise AssertionError(e)

    def print_region(self, region, **kw) -> None:
        self.p.out.append(" ")
        self.p.print_region(region, **kw)
        self.should_space = True
        self.last_was_punct = False

    def print_var(self, e: Var) -> None:
        p, op = self.p, self.op
        value = e.field.__get__(op)
        if e.category == "operand":
            if isinstance(value, list):
                if value:
                    self.emit(", ".join(p.value_name(v) for v in value))
            elif value is not None:
                self.emit(p.value_name(value))
        elif e.category == "attribute":
            if value is None:
                return
            from .attributes import UnitAttr
            if isinstance(value, UnitAttr):
                return  # a unit attribute is written by its group's literal (`inbounds`)
            syntax = getattr(e.field, "syntax", None)
            self.emit(syntax.print(value) if syntax is not None else p.attr_text(value, elide_type=False))
        elif e.category == "region":
            regions = value if isinstance(value, list) else [value]
            for i, r in enumerate(regions):
                if i:
                    self.literal(",")
                self.print_region(r)
        elif e.category == "successor":
            blocks = value if isinstance(value, list) else [value]
            if blocks and blocks[0] is not None:
                self.emit(", ".join(p.block_name(b) for b in blocks))

    def types_of(self, target) -> list:
        op = self.op
        if target == "operands":
            return [v.type for v in op._operands]
        if target == "results":
            return [r.type for r in op.results]
        value = target.field.__get__(op)
        if value is None:
            return []
        if isinstance(value, list):
            return [v.type for v in value]
        return [value.type]

    def group_present(self, group: Optional_) -> bool:
        anchor = group.anchor
        op = self.op
        if isinstance(anchor, Var):
            value = anchor.field.__get__(op)
            if anchor.category == "attribute":
                d = anchor.field
                if value is None:
                    return False
                from .attributes import UnitAttr
                if isinstance(value, UnitAttr):
                    return op.properties.get(d.name) is not None
                return op.properties.get(d.name) is not None and value != d.default
            if isinstance(value, list):
                if anchor.category == "region":
                    return any(r.blocks for r in value)
                return bool(value)
            if anchor.category == "region":
                return value is not None and bool(value.blocks)
            return value is not None
        if isinstance(anchor, TypeOf):
            return bool(self.types_of(anchor.target))
        if isinstance(anchor, FunctionalType):
            return bool(self.types_of(anchor.inputs) or self.types_of(anchor.results))
        if isinstance(anchor, AllOf):
            return bool({"operands": op._operands, "regions": op.regions,
                         "successors": op.successors, "results": op.results}[anchor.category])
        if isinstance(anchor, Custom):
            return anchor.directive.present(op, anchor.args)
        raise AssertionError(anchor)

    def elided_attributes(self) -> set:
        names = set()
        for e in _walk(self.op.definition.format.elements):
            if isinstance(e, Var) and e.category == "attribute":
                names.add(e.name)
            elif isinstance(e, Custom):
                names.update(getattr(e.directive, "elides", ()))
                for a in e.args:
                    if isinstance(a, Var) and a.category == "attribute":
                        names.add(a.name)
        defn = self.op.definition
        if sum(d.kind != "single" for d in defn.operands) > 1:
            names.add("operandSegmentSizes")
        if sum(d.kind != "single" for d in defn.results) > 1:
            names.add("resultSegmentSizes")
        for name, d in defn.attributes.items():
            if d.default is not None and self.op.properties.get(name) == d.default:
                names.add(name)
        return names


class CustomDirective:
    """Base of `custom<Name>(...)` directives: a Lark fragment to parse, and print/build code.

    grammar: Lark EBNF over the base grammar's rules (type, value_use, attribute_value, ...);
    its children reach `build(state, children, args)` which fills the op state.
    provides / provides_types: field names the directive fills (for the completeness check);
    elides: attribute names the directive prints itself (not repeated in attr-dict).
    parse_actions: helper rule name -> `action(builder, children)`, run while parsing as
    that rule is reduced (its return value is the rule's child); e.g. to bind `%i` as an
    argument of the region that follows with `builder.declare_region_argument(token, type)`."""

    grammar = ""
    parse_actions: dict = {}
    provides: tuple = ()
    provides_types: tuple = ()
    elides: tuple = ()

    def print(self, fp: FormatPrinter, op, args) -> None:
        raise NotImplementedError

    def build(self, state, children, args) -> None:
        raise NotImplementedError

    def present(self, op, args) -> bool:
        return True


class EnumSyntax:
    """An attribute printed as a bare keyword in custom form (MLIR's enum attributes).

    `to_keyword(attr)` and `from_keyword(text)` convert; `keywords` is the full list."""

    def __init__(self, keywords, to_keyword, from_keyword):
        self.keywords = tuple(keywords)
        self.to_keyword = to_keyword
        self.from_keyword = from_keyword

    def print(self, value) -> str:
        return self.to_keyword(value)


class SymbolNameSyntax:
    """A StringAttr printed as `@name` (MLIR's SymbolNameAttr)."""

    keywords = ()

    def print(self, value) -> str:
        from .attributes import bare_or_quoted
        return "@" + bare_or_quoted(value.value)
