"""rewrites: the vocabulary of declarative rules, shared by `.rules` files and Python.

A rule is a law written as data: a match tree rooted at one op, constraints, and a
replacement.

    x, c1, c2 = var("x"), var("c1"), var("c2")
    ARITH_ALGEBRA = RuleSet("arith-algebra", [
        Rule("muli-one", op("arith.muli", x, splat(1)), x),          # x * 1 -> x
        Rule("addi-addi-constants",                                  # (x + c1) + c2 -> x + (c1 + c2)
             op("arith.addi", op("arith.addi", x, const(c1)), const(c2)),
             op("arith.addi", x, op("arith.addi", c1, c2))),
    ])

In a match tree:
- `var("x")` matches any value and binds it; a name used twice must match the same value.
  `var("x", type=...)` also constrains its type: a Type, a type variable `tvar("t")`
  (bound on first use, compared after), a type-class name ("integer", "float", ...; see
  functions.TYPE_CLASSES) or a predicate.
- `op(name, *operands, attrs={...}, type=..., bind="v")` matches a value produced by op
  `name` whose operands match the sub-patterns; `attrs` values are vars (bind the attribute),
  Attributes (must be equal) or Python literals (compared with the attribute's value).
- `const(c)` matches a value produced by a constant op and binds it; `splat(k)` (or a bare
  number) matches a constant whose every element equals k.
In `where`: `call(name_or_function, *args)` must return True.
In a replacement: a var is the value it bound, `op(...)` builds an op (result types from
`type=`, else the op's inference, else the replaced op's), a number is a constant of the
surrounding type, and `call(...)` runs a registered builder function.

Rules compile to RewritePatterns (rule_pattern.py) and run in every driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from descend.ir import Attribute, Location, Type
from descend.ir.location import UNKNOWN


class RuleError(Exception):
    """A rule that cannot work as written (unknown function, unbound variable, ...)."""

    def __init__(self, message: str, location: Location | None = None):
        super().__init__(message)
        self.location = location or UNKNOWN


# ---- tree nodes ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Var:
    name: str
    type: Any = None  # None, Type, TypeVar, type-class name, or predicate

    def __repr__(self) -> str:
        return self.name if self.type is None else f"{self.name} : {_type_text(self.type)}"


@dataclass(frozen=True, eq=False)
class TypeVar:
    name: str

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class OpTree:
    name: str
    operands: tuple = ()
    attrs: tuple = ()  # ((name, pattern-or-value), ...)
    type: Any = None  # result type pattern / type to build (a list for several results)
    bind: str | None = None
    location: Location | None = None

    def __repr__(self) -> str:
        text = f"{self.name}({', '.join(map(repr, self.operands))})"
        if self.attrs:
            text += " {" + ", ".join(f"{k} = {_attr_text(v)}" for k, v in self.attrs) + "}"
        if self.type is not None:
            text += f" : {_type_text(self.type)}"
        return text + (f" as {self.bind}" if self.bind else "")


@dataclass(frozen=True, eq=False)
class Const:
    bind: str | None = None
    value: Any = None  # None: any constant; a number: every element equals it
    type: Any = None

    def __repr__(self) -> str:
        if self.value is not None and self.bind is None:
            return repr(self.value) + (f" : {_type_text(self.type)}" if self.type is not None else "")
        return f"const({self.bind or ''})" + (f" : {_type_text(self.type)}" if self.type is not None else "")


@dataclass(frozen=True, eq=False)
class Call:
    function: str | Callable
    args: tuple = ()
    location: Location | None = None

    @property
    def function_name(self) -> str:
        return self.function if isinstance(self.function, str) else self.function.__name__

    def __repr__(self) -> str:
        return f"{self.function_name}({', '.join(map(repr, self.args))})"


def _type_text(t) -> str:
    if isinstance(t, (list, tuple)):
        return "(" + ", ".join(_type_text(e) for e in t) + ")"
    return t if isinstance(t, str) else repr(t) if isinstance(t, TypeVar) else str(t)


def _attr_text(value) -> str:
    """An attribute pattern as rule-file text: IR syntax for attributes (`0 : i64`)."""
    return str(value) if isinstance(value, Attribute) else repr(value)


# ---- constructors (the Python vocabulary) -----------------------------------------------------------

def var(name: str, type: Any = None) -> Var:
    return Var(name, type)


def vars_(names: str) -> tuple[Var, ...]:
    """`x, y = vars_("x y")`."""
    return tuple(Var(n) for n in names.split())


def tvar(name: str) -> TypeVar:
    return TypeVar(name)


def op(name: str, *operands, attrs: dict | Sequence | None = None, type: Any = None,
       bind: str | None = None, location: Location | None = None) -> OpTree:
    items = tuple(attrs.items()) if isinstance(attrs, dict) else tuple(attrs or ())
    return OpTree(name, tuple(_node(o) for o in operands), items, type, bind, location)


def const(bind: "str | Var | None" = None, type: Any = None, value: Any = None) -> Const:
    if isinstance(bind, Var):
        bind = bind.name
    return Const(bind, value, type)


def splat(value, type: Any = None) -> Const:
    return Const(None, value, type)


def call(function: str | Callable, *args, location: Location | None = None) -> Call:
    return Call(function, tuple(_node(a) for a in args), location)


native = call


def _node(item):
    if isinstance(item, (Var, OpTree, Const, Call, TypeVar)):
        return item
    if isinstance(item, bool):
        raise RuleError(f"a bare boolean cannot be an operand pattern: {item}")
    if isinstance(item, (int, float)):
        return Const(None, item)
    if isinstance(item, (Attribute, Type, str)):
        return item
    if isinstance(item, (tuple, list)):
        return tuple(_node(i) for i in item)
    raise RuleError(f"not a pattern: {item!r}")


# ---- rules -----------------------------------------------------------------------------------------

@dataclass(eq=False)
class Rule:
    """`match` (an OpTree) rewritten to `replace` when every `where` call returns True."""

    name: str
    match: OpTree
    replace: Any
    where: Sequence[Call] = ()
    benefit: int | None = None  # default: the number of ops the match tree spans (as DRR)
    law: str = ""
    location: Location | None = None
    source: str | None = None  # the rule's text, when it came from a file

    def __post_init__(self):
        if not isinstance(self.match, OpTree):
            raise RuleError(f"rule '{self.name}': the match must be rooted at an op, got {self.match!r}",
                            self.location)
        self.replace = _node(self.replace)
        self.where = tuple(self.where)
        if self.benefit is None:
            self.benefit = count_ops(self.match)

    @property
    def root(self) -> str:
        return self.match.name

    def to_pattern(self):
        from .rule_pattern import DeclarativePattern
        return DeclarativePattern(self)

    def __str__(self) -> str:
        """The rule in `.rules` syntax, law comment included (parse_rules reads it back)."""
        law = "".join(f"# {line}".rstrip() + "\n" for line in self.law.split("\n")) if self.law else ""
        benefit = f" benefit {self.benefit}" if self.benefit != count_ops(self.match) else ""
        where = "".join(f"\n    where {c!r}" for c in self.where)
        return f"{law}rule {self.name}{benefit}:\n  {self.match!r}{where}\n    -> {self.replace!r}"


@dataclass(eq=False)
class RuleSet:
    """A named, ordered collection of rules (a `.rules` file, or a module-level constant)."""

    name: str
    rules: list[Rule] = field(default_factory=list)
    path: str | None = None

    def __post_init__(self):
        self.rules = list(self.rules)
        seen = {}
        for rule in self.rules:
            if rule.name in seen:
                raise RuleError(f"rule '{rule.name}' is defined twice in '{self.name}'", rule.location)
            seen[rule.name] = rule

    def to_patterns(self) -> list:
        return [rule.to_pattern() for rule in self.rules]

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)


def count_ops(tree) -> int:
    if isinstance(tree, OpTree):
        return 1 + sum(count_ops(o) for o in tree.operands)
    if isinstance(tree, Const):
        return 1
    return 0


def bound_names(tree, out: set | None = None) -> set:
    """Every name a match tree binds (values, attributes, types)."""
    out = set() if out is None else out
    if isinstance(tree, Var):
        out.add(tree.name)
        if isinstance(tree.type, TypeVar):
            out.add(tree.type.name)
    elif isinstance(tree, TypeVar):
        out.add(tree.name)
    elif isinstance(tree, Const):
        if tree.bind:
            out.add(tree.bind)
        if isinstance(tree.type, TypeVar):
            out.add(tree.type.name)
    elif isinstance(tree, OpTree):
        if tree.bind:
            out.add(tree.bind)
        for operand in tree.operands:
            bound_names(operand, out)
        for _, pattern in tree.attrs:
            bound_names(pattern, out)
        types = tree.type if isinstance(tree.type, (list, tuple)) else [tree.type]
        for t in types:
            bound_names(t, out)
    elif isinstance(tree, tuple):
        for item in tree:
            bound_names(item, out)
    return out


def iter_ops(tree) -> Iterable[OpTree]:
    if isinstance(tree, OpTree):
        yield tree
        for operand in tree.operands:
            yield from iter_ops(operand)
    elif isinstance(tree, tuple):
        for item in tree:
            yield from iter_ops(item)
