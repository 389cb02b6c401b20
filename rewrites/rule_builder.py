"""rewrites: building a rule's replacement: templates become ops, vars become the values they
bound, literals become constants of the surrounding type, calls run builder functions.

Result types of a built op come from the template's `type`, else the op class's inference,
else (at the top of the replacement) the type of the result being replaced, else the type of
the op's first operand: the types an algebraic law preserves."""

from __future__ import annotations

from typing import Callable, Sequence

from descend.ir import (ArrayAttr, Attribute, BoolAttr, FloatAttr, IntegerAttr, Operation,
                        StringAttr, Type, Value, f64, i64)

from .declarative import Call, Const, OpTree, Rule, RuleError, TypeVar, Var
from .folding import materializer_for
from .functions import BUILDERS
from .rule_pattern import constant_attr

# builder(binding, rewriter, root, expected_type) -> Value
ValueBuilder = Callable[[dict, object, Operation, "Type | None"], Value]


class ReplacementFailed(Exception):
    """A builder function declined (returned None): the rule does not apply here."""


def _literal_attribute(value) -> Attribute:
    if isinstance(value, Attribute):
        return value
    if isinstance(value, bool):
        return BoolAttr(value)
    if isinstance(value, int):
        return IntegerAttr(value, i64)
    if isinstance(value, float):
        return FloatAttr(value, f64)
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, (list, tuple)):
        return ArrayAttr([_literal_attribute(v) for v in value])
    raise RuleError(f"cannot make an attribute of {value!r}")


def _call_builder(call_: Call, rule: Rule):
    fn = call_.function if callable(call_.function) else BUILDERS.get(call_.function)
    if fn is None:
        raise RuleError(f"rule '{rule.name}': unknown builder function '{call_.function}' "
                        f"(registered: {', '.join(sorted(BUILDERS)) or 'none'})",
                        call_.location or rule.location)
    getters = []
    for arg in call_.args:
        if isinstance(arg, (Var, TypeVar)) or (isinstance(arg, Const) and arg.bind):
            name = arg.bind if isinstance(arg, Const) else arg.name
            getters.append(lambda binding, rw, root, n=name: binding[n])
        elif isinstance(arg, (OpTree, Call)):
            build = _value_builder(arg, rule)
            getters.append(lambda binding, rw, root, b=build: b(binding, rw, root, None))
        elif isinstance(arg, Const):
            getters.append(lambda binding, rw, root, v=arg.value: v)
        else:
            getters.append(lambda binding, rw, root, v=arg: v)

    def run(binding, rewriter, root):
        result = fn(rewriter, *(g(binding, rewriter, root) for g in getters))
        if result is None:
            raise ReplacementFailed(f"builder '{call_.function_name}' returned None")
        return result
    return run


def _as_value(result, rewriter, root: Operation, expected: Type | None) -> Value:
    if isinstance(result, Value):
        return result
    if isinstance(result, Operation):
        if result.parent is None:
            rewriter.insert(result)
        return result.results[0]
    if isinstance(result, Attribute):
        return _materialize(result, rewriter, root, expected)
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        if expected is None:
            raise ReplacementFailed("a literal constant needs a type")
        return _materialize(constant_attr(result, expected), rewriter, root, expected)
    raise ReplacementFailed(f"a builder returned {result!r}, not a value")


def _materialize(attr: Attribute, rewriter, root: Operation, expected: Type | None) -> Value:
    type_ = getattr(attr, "type", None) or expected
    hook = materializer_for(rewriter.context, root)
    constant = hook(attr, type_, root.location) if hook is not None else None
    if constant is None:
        raise ReplacementFailed(f"no dialect can materialise the constant {attr}")
    rewriter.insert(constant)
    return constant.results[0]


def _value_builder(node, rule: Rule) -> ValueBuilder:
    if isinstance(node, Var) or (isinstance(node, Const) and node.bind):
        name = node.name if isinstance(node, Var) else node.bind

        def bound_value(binding, rewriter, root, expected):
            value = binding[name]
            if not isinstance(value, Value):
                raise RuleError(f"rule '{rule.name}': '{name}' is not a value here", rule.location)
            return value
        return bound_value
    if isinstance(node, Const):
        literal = node.value

        def literal_value(binding, rewriter, root, expected):
            t = node.type if isinstance(node.type, Type) else (
                binding[node.type.name] if isinstance(node.type, TypeVar) else expected)
            if t is None:
                raise ReplacementFailed(f"the type of constant {literal} is unknown")
            return _materialize(constant_attr(literal, t), rewriter, root, t)
        return literal_value
    if isinstance(node, OpTree):
        build = _op_builder(node, rule)
        return lambda binding, rewriter, root, expected: build(binding, rewriter, root, expected)[0]
    if isinstance(node, Call):
        run = _call_builder(node, rule)
        return lambda binding, rewriter, root, expected: _as_value(run(binding, rewriter, root), rewriter,
                                                                   root, expected)
    raise RuleError(f"rule '{rule.name}': cannot build {node!r}", rule.location)


def _type_getter(pattern, rule: Rule):
    if pattern is None:
        return None
    if isinstance(pattern, (list, tuple)):
        getters = [_type_getter(p, rule) for p in pattern]
        return lambda binding, rw, root: [g(binding, rw, root) for g in getters]
    if isinstance(pattern, TypeVar):
        return lambda binding, rw, root: binding[pattern.name]
    if isinstance(pattern, Type):
        return lambda binding, rw, root: pattern
    if isinstance(pattern, Call):
        run = _call_builder(pattern, rule)
        return lambda binding, rw, root: run(binding, rw, root)
    raise RuleError(f"rule '{rule.name}': '{pattern}' is not a type a replacement can build with",
                    rule.location)


def _op_builder(tree: OpTree, rule: Rule):
    operand_builders = [(isinstance(o, Const) and o.bind is None, _value_builder(o, rule))
                        for o in tree.operands]
    attr_getters = []
    for name, pattern in tree.attrs:
        if isinstance(pattern, (Var, TypeVar)):
            attr_getters.append((name, lambda binding, rw, root, n=pattern.name: binding[n]))
        elif isinstance(pattern, Call):
            attr_getters.append((name, lambda binding, rw, root, run=_call_builder(pattern, rule):
                                 run(binding, rw, root)))
        else:
            literal = _literal_attribute(pattern.value if isinstance(pattern, Const) else pattern)
            attr_getters.append((name, lambda binding, rw, root, a=literal: a))
    type_getter = _type_getter(tree.type, rule)
    name = tree.name
    classes: dict = {}

    def build(binding, rewriter, root, expected) -> Sequence[Value]:
        context = rewriter.context
        cls = classes.get(id(context))
        if cls is None:
            cls = classes[id(context)] = (context.lookup_op(name) if context is not None else None) or False
        operands: list = [None] * len(operand_builders)
        sibling_type = None
        for i, (is_literal, b) in enumerate(operand_builders):  # values first, then literals
            if not is_literal:
                operands[i] = b(binding, rewriter, root, None)
                sibling_type = sibling_type or operands[i].type
        for i, (is_literal, b) in enumerate(operand_builders):
            if is_literal:
                operands[i] = b(binding, rewriter, root, sibling_type or expected)
        properties, attributes = {}, {}
        declared = cls.definition.attributes if cls else {}
        for attr_name, get in attr_getters:
            (properties if attr_name in declared else attributes)[attr_name] = get(binding, rewriter, root)
        if type_getter is not None:
            types = type_getter(binding, rewriter, root)
            result_types = list(types) if isinstance(types, (list, tuple)) else [types]
        else:
            result_types = None
            if cls:
                try:
                    result_types = list(cls.infer_result_types(operands, properties))
                except (TypeError, ValueError, KeyError, AttributeError):
                    result_types = None
            if result_types is None:
                if expected is not None:
                    result_types = list(expected) if isinstance(expected, list) else [expected]
                elif operands:
                    result_types = [operands[0].type]
                else:
                    raise ReplacementFailed(f"cannot tell the result type of '{name}'")
        op = Operation.create(name, operands, result_types, properties or None, attributes or None,
                              location=root.location, context=context)
        rewriter.insert(op)
        return op.results
    return build


def compile_replacement(rule: Rule):
    """fn(binding, rewriter, root) -> list of values replacing root's results, or None."""
    replace = rule.replace
    if isinstance(replace, tuple):
        builders = [_value_builder(item, rule) for item in replace]

        def build_many(binding, rewriter, root):
            if len(builders) != len(root.results):
                raise RuleError(f"rule '{rule.name}' gives {len(builders)} values for "
                                f"'{root.name}' with {len(root.results)} results", rule.location)
            try:
                return [b(binding, rewriter, root, r.type) for b, r in zip(builders, root.results)]
            except ReplacementFailed:
                return None
        return build_many
    if isinstance(replace, OpTree):
        build_op = _op_builder(replace, rule)

        def build_tree(binding, rewriter, root):
            expected = [r.type for r in root.results]
            try:
                return list(build_op(binding, rewriter, root, expected if len(expected) != 1 else expected[0]))
            except ReplacementFailed:
                return None
        return build_tree
    single = _value_builder(replace, rule)

    def build_one(binding, rewriter, root):
        try:
            return [single(binding, rewriter, root, root.results[0].type if root.results else None)]
        except ReplacementFailed:
            return None
    return build_one
