"""rewrites: declarative rules compiled to RewritePatterns: one matcher for every rule.

A rule's match tree becomes nested closures, so matching costs a few attribute reads and
comparisons per node and allocates one binding dict per attempt. Each closure returns None
on success or a short reason (what did not match, where in the tree) for --debug-rewrites.
The replacement becomes a builder closure that creates ops through the rewriter."""

from __future__ import annotations

from typing import Callable

import numpy as np

from descend.ir import Attribute, ConstantLike, Operation, Type, Value

from .declarative import Call, Const, OpTree, Rule, RuleError, TypeVar, Var, bound_names
from .functions import BUILDERS, CONSTRAINTS, TYPE_CLASSES, splat_equals
from .pattern import CONSTANT, RewritePattern

Matcher = Callable[[Value, dict], "str | None"]


# ---- matching -------------------------------------------------------------------------------------

def _type_matcher(pattern, what: str):
    """A function (type, binding) -> reason|None for a type pattern."""
    if pattern is None:
        return None
    if isinstance(pattern, TypeVar):
        name = pattern.name

        def match_type_var(t, binding):
            bound = binding.get(name)
            if bound is None:
                binding[name] = t
                return None
            return None if bound == t else f"{what} has type {t}, but {name} is {bound}"
        return match_type_var
    if isinstance(pattern, Type):
        return lambda t, binding: None if t == pattern else f"{what} has type {t}, not {pattern}"
    if isinstance(pattern, str):
        predicate = TYPE_CLASSES.get(pattern)
        if predicate is None:
            raise RuleError(f"unknown type class '{pattern}' (known: {', '.join(sorted(TYPE_CLASSES))})")
        return lambda t, binding: None if predicate(t) else f"{what} has type {t}, not {pattern}"
    if callable(pattern):
        return lambda t, binding: None if pattern(t) else f"{what} has type {t}, rejected by {pattern.__name__}"
    raise RuleError(f"not a type pattern: {pattern!r}")


def _with_type(matcher: Matcher, type_pattern, what: str) -> Matcher:
    check = _type_matcher(type_pattern, what)
    if check is None:
        return matcher

    def typed(value, binding):
        reason = check(value.type, binding)
        return reason if reason is not None else matcher(value, binding)
    return typed


def _attr_matcher(name: str, pattern, where: str):
    what = f"attribute '{name}' of {where}"
    if isinstance(pattern, Var):
        bind = pattern.name

        def match_attr_var(attr, binding):
            bound = binding.get(bind)
            if bound is None:
                binding[bind] = attr
                return None
            return None if bound == attr else f"{what} is {attr}, but {bind} is {bound}"
        return match_attr_var
    if isinstance(pattern, Attribute):
        return lambda attr, binding: None if attr == pattern else f"{what} is {attr}, not {pattern}"
    if isinstance(pattern, (bool, int, float, str)):
        def match_literal(attr, binding):
            value = getattr(attr, "value", attr)
            if value == pattern or str(attr) == str(pattern):
                return None
            return f"{what} is {attr}, not {pattern}"
        return match_literal
    if isinstance(pattern, Const) and pattern.value is not None:
        return _attr_matcher(name, pattern.value, where)
    raise RuleError(f"not an attribute pattern for '{name}': {pattern!r}")


def compile_value(pattern, where: str) -> Matcher:
    """A matcher for one operand position."""
    if isinstance(pattern, Var):
        name = pattern.name

        def match_var(value, binding):
            bound = binding.get(name)
            if bound is None:
                binding[name] = value
                return None
            return None if bound is value else f"{where} is not the same value as {name}"
        return _with_type(match_var, pattern.type, where)
    if isinstance(pattern, Const):
        return _with_type(_const_matcher(pattern, where), pattern.type, where)
    if isinstance(pattern, OpTree):
        return compile_op(pattern, where)
    raise RuleError(f"not an operand pattern at {where}: {pattern!r}")


def _const_matcher(pattern: Const, where: str) -> Matcher:
    bind, expected = pattern.bind, pattern.value
    constant_classes: dict[type, bool] = {}

    def match_const(value, binding):
        producer = value.defining_op
        if producer is None:
            return f"{where} is a block argument, not a constant"
        cls = type(producer)
        known = constant_classes.get(cls)
        if known is None:
            known = constant_classes[cls] = cls.definition is not None and cls.has_trait(ConstantLike)
        if not known:
            return f"{where} is produced by '{producer.name}', not a constant"
        if expected is not None and not splat_equals(value, expected):
            return f"{where} is not a constant equal to {expected}"
        if bind is not None:
            bound = binding.get(bind)
            if bound is None:
                binding[bind] = value
            elif bound is not value and not _same_constant(bound, value):
                return f"{where} is not the same constant as {bind}"
        return None
    return match_const


def _same_constant(a: Value, b: Value) -> bool:
    pa, pb = a.defining_op, b.defining_op
    return (pa is not None and pb is not None and a.type == b.type
            and pa.properties.get("value") is pb.properties.get("value"))


def compile_op(tree: OpTree, where: str, is_root: bool = False) -> Matcher:
    """A matcher for a value produced by (or, at the root, for) an op of `tree.name`."""
    name = tree.name
    label = f"'{name}'" if is_root else f"{where} ('{name}')"
    operand_matchers = tuple(compile_value(o, f"operand #{i} of {label}")
                             for i, o in enumerate(tree.operands))
    count = len(operand_matchers)
    attr_matchers = tuple((attr, _attr_matcher(attr, p, label)) for attr, p in tree.attrs)
    types = tree.type if isinstance(tree.type, (list, tuple)) else ([tree.type] if tree.type is not None else [])
    result_checks = tuple(_type_matcher(t, f"result #{i} of {label}") for i, t in enumerate(types))
    bind = tree.bind

    def match_op(op: Operation, binding: dict):
        if op.name != name:
            return f"{where} is '{op.name}', not '{name}'"
        operands = op._operands
        if len(operands) != count:
            return f"{label} has {len(operands)} operands, the rule expects {count}"
        for attr, check in attr_matchers:
            value = op.get_attr(attr)
            if value is None:
                return f"{label} has no attribute '{attr}'"
            reason = check(value, binding)
            if reason is not None:
                return reason
        for check, r in zip(result_checks, op.results):
            if check is not None:
                reason = check(r.type, binding)
                if reason is not None:
                    return reason
        for check, operand in zip(operand_matchers, operands):
            reason = check(operand, binding)
            if reason is not None:
                return reason
        return None

    if is_root:
        if bind is None:
            return match_op

        def match_root_bound(op, binding):
            binding[bind] = op.results[0] if len(op.results) == 1 else op
            return match_op(op, binding)
        return match_root_bound

    def match_value_of_op(value, binding):
        producer = value.defining_op
        if producer is None:
            return f"{where} is a block argument, not '{name}'"
        reason = match_op(producer, binding)
        if reason is None and bind is not None:
            bound = binding.get(bind)
            if bound is None:
                binding[bind] = value
            elif bound is not value:
                return f"{where} is not the same value as {bind}"
        return reason
    return match_value_of_op


# ---- constraints ---------------------------------------------------------------------------------

def _function(call_: Call, table: dict, kind: str, rule: Rule):
    if callable(call_.function):
        return call_.function
    fn = table.get(call_.function)
    if fn is None:
        known = ", ".join(sorted(table)) or "none"
        raise RuleError(f"rule '{rule.name}': unknown {kind} function '{call_.function}' "
                        f"(registered: {known})", call_.location or rule.location)
    return fn


def _argument_getter(arg, rule: Rule):
    if isinstance(arg, Var):
        name = arg.name
        return lambda binding: binding[name]
    if isinstance(arg, TypeVar):
        name = arg.name
        return lambda binding: binding[name]
    if isinstance(arg, Const) and arg.bind:
        name = arg.bind
        return lambda binding: binding[name]
    if isinstance(arg, Const):
        return lambda binding: arg.value
    return lambda binding: arg


def compile_constraint(call_: Call, rule: Rule):
    fn = _function(call_, CONSTRAINTS, "constraint", rule)
    getters = tuple(_argument_getter(a, rule) for a in call_.args)
    text = repr(call_)

    def check(binding):
        try:
            ok = fn(*(g(binding) for g in getters))
        except Exception as exc:  # noqa: BLE001 - a constraint that cannot decide rejects
            return f"constraint {text} raised {type(exc).__name__}: {exc}"
        return None if ok else f"constraint {text} is false"
    return check


# ---- the pattern -----------------------------------------------------------------------------------

class DeclarativePattern(RewritePattern):
    """A Rule as a RewritePattern: match the tree, check `where`, build the replacement."""

    def __init__(self, rule: Rule):
        super().__init__(name=rule.name, benefit=rule.benefit)
        self.rule = rule
        self.root = rule.match.name
        first = rule.match.operands[0] if rule.match.operands else None
        if isinstance(first, OpTree):
            self.first_operand = first.name
        elif isinstance(first, Const):
            self.first_operand = CONSTANT
        bound = bound_names(rule.match)
        for name in _used_names(rule.replace) | {n for c in rule.where for n in _used_names(c)}:
            if name not in bound:
                raise RuleError(f"rule '{rule.name}': '{name}' is used but never bound by the match",
                                rule.location)
        try:
            self._match = compile_op(rule.match, "root", is_root=True)
            self._where = tuple(compile_constraint(c, rule) for c in rule.where)
        except RuleError as exc:
            if exc.location is None or exc.location.file_line_col() is None:
                exc.location = rule.location or exc.location
            if not str(exc).startswith("rule '"):
                exc.args = (f"rule '{rule.name}': {exc}",)
            raise
        from .rule_builder import compile_replacement
        self._build = compile_replacement(rule)

    def match(self, op: Operation) -> "tuple[dict | None, str | None]":
        """(binding, None) when the rule matches `op`, else (None, why not)."""
        binding: dict = {}
        reason = self._match(op, binding)
        if reason is None:
            for check in self._where:
                reason = check(binding)
                if reason is not None:
                    break
        return (None, reason) if reason is not None else (binding, None)

    def match_and_rewrite(self, op: Operation, rewriter) -> bool:
        binding: dict = {}
        reason = self._match(op, binding)
        if reason is None:
            for check in self._where:
                reason = check(binding)
                if reason is not None:
                    break
        if reason is not None:
            return rewriter.no_match(reason, op) if rewriter.explain else False
        # Build with insertions held back, so a replacement that fails halfway leaves no trace.
        listener = rewriter.listener
        held = _HoldInsertions(listener)
        rewriter.listener = held
        try:
            values = self._build(binding, rewriter, op)
        finally:
            rewriter.listener = listener
        if values is None:
            for new in reversed(held.inserted):
                new.erase(force=True)
            return rewriter.no_match("the replacement could not be built", op) if rewriter.explain else False
        for new in held.inserted:
            listener.notify_op_inserted(new)
        rewriter.replace_op(op, values)
        return True


class _HoldInsertions:
    """A listener that records insertions and forwards everything else."""

    def __init__(self, listener):
        self.listener = listener
        self.inserted: list[Operation] = []

    def notify_op_inserted(self, op):
        self.inserted.append(op)

    def __getattr__(self, name):
        return getattr(self.listener, name)


def _used_names(tree) -> set:
    out: set = set()

    def visit(node):
        if isinstance(node, Var):
            out.add(node.name)
        elif isinstance(node, TypeVar):
            out.add(node.name)
        elif isinstance(node, Const) and node.bind:
            out.add(node.bind)
        elif isinstance(node, OpTree):
            for o in node.operands:
                visit(o)
            for _, a in node.attrs:
                visit(a)
            for t in (node.type if isinstance(node.type, (list, tuple)) else [node.type]):
                visit(t)
        elif isinstance(node, Call):
            for a in node.args:
                visit(a)
        elif isinstance(node, tuple):
            for item in node:
                visit(item)
    visit(tree)
    return out


def constant_attr(value, type_) -> Attribute:
    """The attribute a literal in a replacement becomes, for a value of `type_`."""
    from descend.dialects.numeric import value_to_attr
    return value_to_attr(np.asarray(value), type_)
