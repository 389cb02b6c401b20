"""rewrites: a parsed `.rules` tree -> Rule objects (declarative.py's vocabulary), checked.

The checks happen here, where every name still has its line and column: an op that no
registered dialect defines, a wrong operand count, an unknown attribute, constraint,
builder or type class, a name the match never binds, a name bound as an attribute but used
as a value. What remains is handed to DeclarativePattern, which compiles the one matcher
all rules share."""

from __future__ import annotations

import difflib
import re

from lark import Token, Tree

from descend.ir.diagnostics import DiagnosticError, error, note
from descend.ir.location import FileLineColLoc

from .declarative import Call, Const, OpTree, Rule, RuleError, TypeVar, Var
from .functions import BUILDERS, CONSTRAINTS, TYPE_CLASSES

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_ONLY = re.compile(r"[-+]?(?:0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)")

MATCH, WHERE, REPLACE = "match", "where", "replace"
VALUE, ATTRIBUTE, TYPE = "value", "attribute", "type"


def compile_rules(tree: Tree, text: str, filename: str, context) -> list[Rule]:
    rules: list[Rule] = []
    first_seen: dict[str, Token] = {}
    lines = text.split("\n")
    for rule_tree in tree.children:
        rule = _RuleCompiler(rule_tree, text, lines, filename, context).compile()
        name_token = rule_tree.children[1]
        if rule.name in first_seen:
            earlier = first_seen[rule.name]
            raise error(_loc(filename, name_token), f"rule '{rule.name}' is defined twice",
                        len(name_token),
                        [note(_loc(filename, earlier), f"'{rule.name}' was first defined here")])
        first_seen[rule.name] = name_token
        rules.append(rule)
    return rules


def _loc(filename: str, token: Token) -> FileLineColLoc:
    return FileLineColLoc(filename, token.line, token.column)


def _law(lines: list[str], line: int) -> str:
    """The comment lines right above line `line` (1-based), without their `#`."""
    law = []
    index = line - 2
    while index >= 0:
        stripped = lines[index].strip()
        if not stripped.startswith("#") or (len(stripped) > 1 and (stripped[1].isalpha() or stripped[1] == "_")):
            break
        law.append(stripped[1:].strip())
        index -= 1
    return "\n".join(reversed(law))


def _number(text: str):
    if re.fullmatch(r"[-+]?0x[0-9a-fA-F]+", text):
        return int(text, 16)
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text)
    return float(text)


def _tokens(tree: Tree, kind: str | None = None) -> list[Token]:
    return [c for c in tree.children if isinstance(c, Token) and (kind is None or c.type == kind)]


def _trees(tree: Tree) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree)]


class _RuleCompiler:
    """Compiles one `rule_def` tree, tracking what the match binds and where."""

    def __init__(self, tree: Tree, text: str, lines: list[str], filename: str, context):
        self.tree = tree
        self.text = text
        self.lines = lines
        self.filename = filename
        self.context = context
        self.bound: dict[str, tuple[str, Token]] = {}  # name -> (VALUE/ATTRIBUTE/TYPE, first token)
        self.type_uses: dict[str, list[Token]] = {}

    def fail(self, token: Token, message: str, width: int | None = None) -> DiagnosticError:
        return error(_loc(self.filename, token), message, width if width is not None else max(1, len(token)))

    # ---- the rule ---------------------------------------------------------------------------

    def compile(self) -> Rule:
        children = self.tree.children
        rule_token, name_token, _, benefit_token = children[:4]
        self.rule_name = str(name_token)
        match_tree = children[5]
        wheres = [c for c in children[6:] if isinstance(c, Tree) and c.data == "where_clause"]
        replacement = children[-1]
        match = self.expr(match_tree, MATCH)
        if not isinstance(match, OpTree):
            raise self.fail(self._first_token(match_tree),
                            "a rule must match an op at its root, like 'arith.addi(x, y)'")
        where = [self.call(call, WHERE) for clause in wheres for call in _trees(clause)]
        replace = self.replacement(replacement)
        self._check_type_variables()
        meta = self.tree.meta
        location = _loc(self.filename, name_token)
        rule = Rule(self.rule_name, match, replace, where,
                    benefit=int(benefit_token) if benefit_token is not None else None,
                    law=_law(self.lines, rule_token.line), location=location,
                    source=self.text[meta.start_pos:meta.end_pos])
        try:
            rule.to_pattern()  # whatever the pattern compiler still rejects, reject it here
        except RuleError as exc:
            raise self.fail(name_token, str(exc)) from None
        return rule

    def replacement(self, tree: Tree):
        if tree.data == "tuple":
            return tuple(self.expr(e, REPLACE) for e in _trees(tree))
        return self.expr(tree, REPLACE)

    # ---- expressions --------------------------------------------------------------------------

    def expr(self, tree: Tree, mode: str, allow=(VALUE,)):
        term, _, type_spec, as_token, bind_token = tree.children
        type_ = self.type_spec(type_spec, mode) if type_spec is not None else None
        if bind_token is not None:
            if mode != MATCH:
                raise self.fail(as_token, "'as' names a value of the match; it cannot appear "
                                          f"{'in a where clause' if mode == WHERE else 'in a replacement'}")
            if term.data != "op_tree":
                raise self.fail(as_token, "'as' names the value of an op; "
                                          f"'{self._first_token(term)}' is not an op")
        kind = term.data
        if kind == "op_tree":
            if mode == WHERE:
                raise self.fail(term.children[0], "an op cannot be a constraint's argument: "
                                                  "name it in the match with 'as' and pass the name")
            return self.op_tree(term, mode, type_, bind_token)
        if kind == "name":
            return self.name(term.children[0], mode, type_, type_spec, allow)
        if kind == "number":
            token = term.children[0]
            return Const(None, _number(str(token)), type_)
        if kind == "const_ref":
            return self.const_ref(term, mode, type_)
        if kind == "call":
            if mode == MATCH:
                raise self.fail(term.children[0], f"a function call cannot be matched: constraints "
                                                  f"go in a 'where' clause after the match")
            if type_spec is not None:
                raise self.fail(self._first_token(type_spec), "a builder call's type comes from "
                                                              "what the builder returns")
            return self.call(term, mode)
        raise AssertionError(kind)

    def name(self, token: Token, mode: str, type_, type_spec, allow):
        name = str(token)
        if mode == MATCH:
            self.bind(name, VALUE, token)
            return Var(name, type_)
        kind = self.use(token)
        if type_spec is not None:
            raise self.fail(self._first_token(type_spec),
                            f"'{name}' already has the type the match gave it; a type here means nothing")
        if kind not in allow:
            raise self.fail(token, f"'{name}' is bound to {_a(kind)} by the match, but {_a(allow[0])} "
                                   f"is needed here")
        return TypeVar(name) if kind == TYPE else Var(name)

    def const_ref(self, tree: Tree, mode: str, type_):
        const_token, _, name_token, _ = tree.children
        if mode != MATCH:
            shown = str(name_token) if name_token is not None else "c"
            raise self.fail(const_token, f"const(...) matches a constant; outside the match write the "
                                         f"name ('{shown}') or a number")
        if name_token is not None:
            self.bind(str(name_token), VALUE, name_token)
        return Const(str(name_token) if name_token is not None else None, None, type_)

    def op_tree(self, tree: Tree, mode: str, type_, bind_token):
        name_token = tree.children[0]
        name = str(name_token)
        operands = [self.expr(e, mode) for e in _trees(tree) if e.data == "expr"]
        attrs_tree = tree.children[-1]
        attrs = self.attrs(attrs_tree, mode) if attrs_tree is not None else ()
        self.check_op(name_token, len(operands), attrs, attrs_tree)
        bind = None
        if bind_token is not None:
            bind = str(bind_token)
            self.bind(bind, VALUE, bind_token)
        return OpTree(name, tuple(operands), attrs, type_, bind, _loc(self.filename, name_token))

    def attrs(self, tree: Tree, mode: str) -> tuple:
        items, seen = [], set()
        for attr in _trees(tree):
            key_token, _, value = attr.children
            key = str(key_token)
            if key in seen:
                raise self.fail(key_token, f"attribute '{key}' is given twice")
            seen.add(key)
            items.append((key, self.attr_value(value, mode)))
        return tuple(items)

    def attr_value(self, tree: Tree, mode: str):
        if tree.data == "attr_name":
            token = tree.children[0]
            if mode == MATCH:
                self.bind(str(token), ATTRIBUTE, token)
                return Var(str(token))
            kind = self.use(token)
            if kind != ATTRIBUTE:
                raise self.fail(token, f"'{token}' is bound to {_a(kind)} by the match, but an "
                                       f"attribute is needed here")
            return Var(str(token))
        if tree.data == "call":
            if mode == MATCH:
                raise self.fail(tree.children[0], "a function call cannot be matched: constraints go "
                                                  "in a 'where' clause after the match")
            return self.call(tree, mode)
        return self.attribute_literal(tree.children[0])

    def attribute_literal(self, token: Token):
        text = str(token).rstrip()
        if _NUMBER_ONLY.fullmatch(text):
            return _number(text)  # compared by value, so `{k = 1}` matches 1 of any integer type
        from descend.parser import parse_attribute
        return parse_attribute(text, self.filename, self.context, token.line, token.column)

    # ---- calls -------------------------------------------------------------------------------

    def call(self, tree: Tree, mode: str) -> Call:
        name_token = tree.children[0]
        name = str(name_token)
        table, kind = (CONSTRAINTS, "constraint") if mode == WHERE else (BUILDERS, "builder")
        if name not in table:
            decorator = "@constraint_function" if mode == WHERE else "@builder_function"
            raise error(_loc(self.filename, name_token), _unknown(kind + " function", name, table),
                        len(name_token), [note(None, f"register it in Python with {decorator}(\"{name}\") "
                                                     f"in a file loaded before the rules "
                                                     f"(--load-pass-plugin FILE.py)")])
        args = []
        for arg in (e for e in _trees(tree) if e.data == "expr"):
            args.append(self.expr(arg, mode, allow=(VALUE, ATTRIBUTE, TYPE)))
        return Call(name, tuple(args), _loc(self.filename, name_token))

    # ---- types ---------------------------------------------------------------------------------

    def type_spec(self, tree: Tree, mode: str):
        if tree.data == "type_list":
            return [self.type_(t, mode) for t in _tokens(tree, "TYPE")]
        return self.type_(tree.children[0], mode)

    def type_(self, token: Token, mode: str):
        text = str(token)
        if text in TYPE_CLASSES:
            if mode != MATCH:
                raise self.fail(token, f"'{text}' is a type class: it can constrain a match, but a "
                                       f"replacement needs a type or a type variable")
            return text
        if _PLAIN_NAME.fullmatch(text):
            ir_type = self._try_ir_type(text, token)
            if ir_type is not None:
                return ir_type
            self.type_uses.setdefault(text, []).append(token)
            if mode == MATCH:
                self.bind(text, TYPE, token)
            else:
                kind = self.use(token)
                if kind != TYPE:
                    raise self.fail(token, f"'{text}' is bound to {_a(kind)} by the match, not a type")
            return TypeVar(text)
        if not text.startswith("!") and "<" not in text:
            raise self.fail(token, _unknown("type class", text, TYPE_CLASSES))
        from descend.parser import parse_type
        return parse_type(text, self.filename, self.context, token.line, token.column)

    def _try_ir_type(self, text: str, token: Token):
        from descend.parser import parse_type
        try:
            return parse_type(text, self.filename, self.context, token.line, token.column)
        except DiagnosticError:
            return None

    def _check_type_variables(self) -> None:
        """A type variable used once constrains nothing: most likely a misspelt type class."""
        for name, uses in self.type_uses.items():
            if len(uses) == 1:
                close = difflib.get_close_matches(name, list(TYPE_CLASSES), n=1)
                if close:
                    raise self.fail(uses[0], f"unknown type class '{name}' (did you mean '{close[0]}'?); "
                                             f"a type variable used only once would constrain nothing")

    # ---- names -----------------------------------------------------------------------------------

    def bind(self, name: str, kind: str, token: Token) -> None:
        previous = self.bound.get(name)
        if previous is None:
            self.bound[name] = (kind, token)
        elif previous[0] != kind:
            raise self.fail(token, f"'{name}' is already bound to {_a(previous[0])} at line "
                                   f"{previous[1].line}, column {previous[1].column}")

    def use(self, token: Token) -> str:
        name = str(token)
        entry = self.bound.get(name)
        if entry is None:
            names = sorted(self.bound)
            hint = f" (it binds {', '.join(repr(n) for n in names)})" if names else ""
            raise self.fail(token, f"'{name}' is not bound by the match of rule '{self.rule_name}'{hint}")
        return entry[0]

    def check_op(self, token: Token, operand_count: int, attrs: tuple, attrs_tree) -> None:
        name = str(token)
        cls = self.context.lookup_op(name) if self.context is not None else None
        if cls is None:
            if self.context is not None and not self.context.allow_unregistered:
                known = sorted(self.context.ops)
                raise self.fail(token, _unknown("op", name, known, plural="ops")
                                if difflib.get_close_matches(name, known, n=1) else
                                f"unknown op '{name}': no registered dialect defines it (load the "
                                f"dialect first, e.g. with --load-pass-plugin)")
            return
        definition = cls.definition
        if all(d.kind == "single" for d in definition.operands) and operand_count != len(definition.operands):
            expected = len(definition.operands)
            raise self.fail(token, f"'{name}' takes {expected} operand{'s' if expected != 1 else ''}, "
                                   f"the rule gives {operand_count}")
        for key, _ in attrs:
            if key not in definition.attribute_names and "." not in key:
                declared = ", ".join(sorted(definition.attributes)) or "none"
                attr_token = next(t for a in _trees(attrs_tree) for t in a.children[:1] if str(t) == key)
                raise self.fail(attr_token, f"'{name}' has no attribute '{key}' (declared: {declared})")

    @staticmethod
    def _first_token(tree) -> Token:
        if isinstance(tree, Token):
            return tree
        for child in tree.children:
            if child is not None:
                return _RuleCompiler._first_token(child)
        raise AssertionError("empty tree")


def _a(kind: str) -> str:
    return {VALUE: "a value", ATTRIBUTE: "an attribute", TYPE: "a type"}[kind]


def _unknown(what: str, name: str, known, plural: str | None = None) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"unknown {what} '{name}' (did you mean '{close[0]}'?)"
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"unknown {what} '{name}' (registered: {shown or 'none'})"

