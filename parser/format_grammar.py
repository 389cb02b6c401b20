"""parser: an op's declarative assembly format becomes a Lark rule (and callbacks), so the
custom form is parsed by the same LALR parser as everything else.

Every non-literal format element yields exactly one child (None when an optional part is
absent, thanks to Lark's maybe_placeholders); `consume_elements` walks the directives and the
children side by side, and `finish_custom` builds the op."""

from __future__ import annotations

from ..ir.assembly_format import (AllOf, AttrDict, Custom, EnumSyntax, FunctionalType, Literal,
                                  Optional_, SymbolNameSyntax, TypeOf, Var)
from ..ir.attributes import DenseArrayAttr, UnitAttr
from ..ir.constraints import IsInstance
from ..ir.opdef import OPTIONAL, SINGLE, VARIADIC
from ..ir.operation import Operation
from ..ir.traits import SameOperandsAndResultType, SameTypeOperands
from ..ir.types import IntegerType


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_unit(var: Var) -> bool:
    if var.category != "attribute":
        return False
    c = var.field.constraint
    return isinstance(c, IsInstance) and c.classes == (UnitAttr,)


class ParseAction:
    """A custom directive's callback for one of its helper rules, run as the rule is reduced
    (while parsing, before later tokens): `action(builder, children)`. The parser binds the
    builder (parser/parser.py)."""

    __slots__ = ("action",)

    def __init__(self, action):
        self.action = action

    def bind(self, builder):
        action = self.action
        return lambda children: action(builder, children)


class RuleWriter:
    """Collects the Lark rules and the callbacks of one op's custom form."""

    def __init__(self, prefix: str, shared: dict | None = None):
        self.prefix = prefix
        self.shared = shared if shared is not None else {}
        self.rules: list[str] = []
        self.callbacks: dict = {}
        self.count = 0

    def fresh(self, tag: str) -> str:
        self.count += 1
        return f"{self.prefix}_{tag}{self.count}"

    def sequence(self, elements, in_group_anchor=None) -> str:
        parts = []
        for i, e in enumerate(elements):
            if (isinstance(e, Literal) and e.text == ":" and i + 1 < len(elements)
                    and isinstance(elements[i + 1], FunctionalType)):
                continue  # `:` functional-type(...) is the generic form's `signature` (below)
            if isinstance(e, FunctionalType) and i > 0 and isinstance(elements[i - 1], Literal) \
                    and elements[i - 1].text == ":":
                # After `}` of an attr-dict the lexer matches the whole `: (a) -> b` as one
                # COLON_SIG token (the generic form's fast path); `signature` takes both spellings.
                parts.append("signature")
                continue
            parts.append(self.element(e, anchor=(e is in_group_anchor)))
        return " ".join(p for p in parts if p)

    def element(self, e, anchor: bool = False) -> str:
        if isinstance(e, Literal):
            return _quote(e.text) if e.text else ""
        if isinstance(e, Var):
            return self.var(e, anchor)
        if isinstance(e, TypeOf):
            many = _is_many(e.target)
            if many:
                return "type_list" if anchor else "[type_list]"
            return "type"
        if isinstance(e, FunctionalType):
            return "function_type"
        if isinstance(e, AttrDict):
            return '["attributes" attr_dict]' if e.with_keyword else "[attr_dict]"
        if isinstance(e, AllOf):
            if e.category == "operands":
                return "value_use_list" if anchor else "[value_use_list]"
            if e.category == "regions":
                return self.comma_list("region", anchor)
            if e.category == "successors":
                return self.comma_list("successor", anchor)
            raise AssertionError(e.category)
        if isinstance(e, Custom):
            name = self.fresh("custom")
            self.rules.append(f"{name}: {e.directive.grammar}")
            self.callbacks[name] = list
            for rule, body in getattr(e.directive, "extra_rules", {}).items():
                bare = rule.lstrip("!?")
                if self.shared.get(bare) == body:
                    continue  # a helper rule shared by several ops is emitted once
                self.shared[bare] = body
                self.rules.append(f"{rule}: {body}")
                self.callbacks[bare] = list
            for rule, action in getattr(e.directive, "parse_actions", {}).items():
                self.callbacks[rule] = ParseAction(action)
            return name
        if isinstance(e, Optional_):
            name = self.fresh("opt")
            body = self.sequence(e.elements, in_group_anchor=e.anchor)
            self.rules.append(f"{name}: {body}" if body else f"{name}: ")
            self.callbacks[name] = list
            return f"[{name}]"
        raise AssertionError(e)

    def comma_list(self, item: str, anchor: bool) -> str:
        """A rule for `item ("," item)*`, optional unless it anchors its group."""
        name = self.fresh(item)
        self.rules.append(f"{name}: {item} (\",\" {item})*")
        self.callbacks[name] = list
        return name if anchor else f"[{name}]"

    def var(self, e: Var, anchor: bool) -> str:
        d = e.field
        if e.category == "operand":
            if d.kind == SINGLE:
                return "value_use"
            if d.kind == OPTIONAL:
                return "value_use" if anchor else "[value_use]"
            return "value_use_list" if anchor else "[value_use_list]"
        if e.category == "attribute":
            if _is_unit(e):
                return ""
            syntax = getattr(d, "syntax", None)
            if isinstance(syntax, EnumSyntax):
                name = self.fresh("enum")
                self.rules.append(f"!{name}: " + " | ".join(_quote(k) for k in syntax.keywords))
                self.callbacks[name] = lambda c: c[0]
                return name
            if isinstance(syntax, SymbolNameSyntax):
                text = "symbol_name"
            else:
                text = "plain_attribute"
            return text if (anchor or not d.optional) else f"[{text}]"
        if e.category == "region":
            if d.kind == VARIADIC:
                return self.comma_list("region", anchor)
            return "region"
        if e.category == "successor":
            if d.kind == VARIADIC:
                return self.comma_list("successor", anchor)
            return "successor"
        raise AssertionError(e.category)


def _is_many(target) -> bool:
    if isinstance(target, str):
        return True
    return target.field.kind != SINGLE


def op_grammar(op_class, index: int, short_names: set, shared: dict | None = None
               ) -> tuple[list[str], dict, str]:
    """Rules and callbacks for one op; returns (rules, callbacks, rule name). `shared` holds
    the custom directives' helper rules already emitted for other ops."""
    fmt = op_class.definition.format
    prefix = f"op{index}"
    writer = RuleWriter(prefix, shared)
    names = [op_class.name]
    short = op_class.name.split(".", 1)[1]
    if op_class.name.split(".", 1)[0] in short_names and "." not in short:
        names.append(short)
    keyword = f"kw{index}"
    writer.rules.append(f"!{keyword}: " + " | ".join(_quote(n) for n in names))
    body = writer.sequence(fmt.elements)
    writer.rules.append(f"{prefix}: {keyword} {body}")
    return writer.rules, writer.callbacks, prefix


# ---- building the op from children -------------------------------------------------------------

def consume_elements(builder, elements, children, state, token) -> None:
    for e in elements:
        if isinstance(e, Literal):
            continue
        if isinstance(e, Var) and _is_unit(e):
            continue
        child = next(children)
        _consume(builder, e, child, state, token)


def _consume(builder, e, child, state, token) -> None:
    if isinstance(e, Var):
        d = e.field
        if e.category == "operand":
            if child is None:
                pairs = []
            elif isinstance(child, tuple):
                pairs = [child]
            else:
                pairs = child
            state.operands[e.name] = [v for v, _ in pairs]
            state.operand_tokens[e.name] = [t for _, t in pairs]
        elif e.category == "attribute":
            if child is None:
                return
            syntax = getattr(d, "syntax", None)
            if isinstance(syntax, EnumSyntax):
                try:
                    child = syntax.from_keyword(str(child))
                except (KeyError, ValueError):
                    raise builder.fail(child, f"invalid value '{child}' for '{e.name}'") from None
            state.properties[e.name] = child
        elif e.category == "region":
            state.regions[e.name] = child if isinstance(child, list) else ([] if child is None else [child])
        elif e.category == "successor":
            state.successors[e.name] = child if isinstance(child, list) else ([] if child is None else [child])
        return
    if isinstance(e, TypeOf):
        key = e.target if isinstance(e.target, str) else e.target.name
        state.types[key] = ([] if child is None else child) if _is_many(e.target) else [child]
        return
    if isinstance(e, FunctionalType):
        for target, types in ((e.inputs, child.inputs), (e.results, child.results)):
            key = target if isinstance(target, str) else target.name
            state.types[key] = list(types)
        return
    if isinstance(e, AttrDict):
        if child:
            state.attr_dict = child
        return
    if isinstance(e, AllOf):
        if e.category == "operands":
            pairs = child or []
            state.operands["operands"] = [v for v, _ in pairs]
            state.operand_tokens["operands"] = [t for _, t in pairs]
        elif e.category == "regions":
            state.regions["regions"] = child or []
        elif e.category == "successors":
            state.successors["successors"] = child or []
        return
    if isinstance(e, Custom):
        e.directive.build(state, child, e.args)
        return
    if isinstance(e, Optional_):
        if child is None:
            return
        for inner in e.elements:
            if isinstance(inner, Var) and _is_unit(inner):
                state.properties[inner.name] = UnitAttr()
        consume_elements(builder, e.elements, iter(child), state, token)
        return
    raise AssertionError(e)


def finish_custom(builder, state, token) -> Operation:
    cls = state.op_class
    defn = cls.definition
    # Operands in declaration order, with the tokens for error messages.
    operands, tokens, groups = [], [], []
    if "operands" in state.operands:
        operands = state.operands["operands"]
        tokens = state.operand_tokens["operands"]
        groups = _split_groups(defn.operands, len(operands))
    else:
        for d in defn.operands:
            values = state.operands.get(d.name, [])
            operands.extend(values)
            tokens.extend(state.operand_tokens.get(d.name, []))
            groups.append(len(values))
    # Operand types: stated by the format, else already known from the values.
    stated = _stated_types(state, defn.operands, groups, "operands")
    properties = dict(state.properties)
    attributes = dict(state.attributes)
    if state.attr_dict:
        names = defn.attribute_names
        for k, v in state.attr_dict.items():
            (properties if k in names else attributes)[k] = v
    # Results.
    result_types = state.result_types
    if result_types is None:
        result_types = _stated_result_types(state, defn.results)
    if stated is not None:
        builder.typed_operands(operands, stated, tokens, token)
    pending = [v for v in operands if v.type is None]
    if result_types is None:
        if pending:
            known = next((v.type for v in operands if v.type is not None), None)
            if known is not None and (cls.has_trait(SameOperandsAndResultType) or cls.has_trait(SameTypeOperands)):
                for v in pending:
                    v.type = known
        try:
            result_types = cls.infer_result_types(operands, properties)
        except (TypeError, ValueError, AttributeError) as exc:
            raise builder.fail(token, f"cannot infer the result types of '{cls.name}': {exc}") from None
    if pending and any(v.type is None for v in operands):
        if cls.has_trait(SameOperandsAndResultType) and result_types:
            for v in operands:
                if v.type is None:
                    v.type = result_types[0]
        else:
            bad = next(i for i, v in enumerate(operands) if v.type is None)
            raise builder.fail(tokens[bad] if bad < len(tokens) else token,
                               f"cannot infer the type of forward reference '{tokens[bad]}'")
    if sum(d.kind != SINGLE for d in defn.operands) > 1:
        properties["operandSegmentSizes"] = DenseArrayAttr(IntegerType(32), groups)
    if sum(d.kind != SINGLE for d in defn.results) > 1:
        sizes = [len(state.types.get(d.name, [])) for d in defn.results]
        properties["resultSegmentSizes"] = DenseArrayAttr(IntegerType(32), sizes)
    properties = builder._drop_defaults(cls, properties)
    regions = []
    if "regions" in state.regions:
        regions = state.regions["regions"]
    else:
        for d in defn.regions:
            regions.extend(state.regions.get(d.name, []))
    builder._ensure_blocks(cls, regions)
    successors = []
    if "successors" in state.successors:
        successors = state.successors["successors"]
    else:
        for d in defn.successors:
            successors.extend(state.successors.get(d.name, []))
    op = cls.__new__(cls)
    op._init(operands, result_types, properties, attributes, regions, successors, builder.loc(token))
    return op


def _split_groups(defs, total: int) -> list[int]:
    variable = [d for d in defs if d.kind != SINGLE]
    fixed = len(defs) - len(variable)
    if len(variable) > 1:
        raise ValueError("'operands' directive with several variadic groups needs segment sizes")
    return [1 if d.kind == SINGLE else total - fixed for d in defs]


def _stated_types(state, defs, groups, all_key):
    if all_key in state.types:
        return state.types[all_key]
    types = []
    for d, n in zip(defs, groups):
        t = state.types.get(d.name)
        if t is None:
            if n:
                return None  # some groups unstated: each value keeps its own type
            continue
        types.extend(t)
    return types


def _stated_result_types(state, defs):
    if "results" in state.types:
        return state.types["results"]
    if not defs:
        return []
    types = []
    for d in defs:
        t = state.types.get(d.name)
        if t is None:
            if d.kind == SINGLE:
                return None
            continue
        types.extend(t)
    return types
