"""testing: random instances of a rule's match tree, for check_rule (rules.py).

An instance is a `func.func @main` built from the tree itself: its leaves become function
arguments (a variable used twice is one argument; now and then a constant instead, so
`is_constant` constraints can hold), `const(c)` leaves become `arith.constant`s with edge
values, literal leaves constants of exactly that value, and every op of the tree a
well-typed op from sampling.sample_op on those operands, with the tree's literal
attributes set as written. The function returns the root's results.

Types are chosen bottom-up, the way sample_op derives them: an op's operands that are
already fixed (subtrees, variables seen before, type literals, bound type variables) give
the "primary" type; free leaves take it when the op's operand constraint and the leaf's
own type pattern (`x : integer`) accept it, else the same shape with an element type that
fits. The types on offer are a small palette per example, always holding the rule's type
literals and a type for each type class it names. An instance the rule does not match
(types, constraints) raises NoInstance with the rule's own reason; check_rule retries."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from descend.dialects.arith import ConstantOp
from descend.dialects.builtin import ModuleOp
from descend.dialects.func import FuncOp, ReturnOp
from descend.dialects.numeric import dtype_of, value_to_attr
from descend.ir import (ANY, Attribute, Block, FloatLike, IntegerAttr, IntegerOrIndexLike, Region,
                        verify_declaration)
from descend.ir.types import (FunctionType, ShapedType, TensorType, Type, VectorType,
                              element_type_of)
from descend.rewrites.declarative import Const, OpTree, Rule, TypeVar, Var, iter_ops
from descend.rewrites.functions import TYPE_CLASSES

from .sampling import SCALAR_TYPES, NoInstance, sample_op, with_element
from .values import values_of

__all__ = ["Instance", "build_instance", "rule_palettes"]


@dataclass
class Instance:
    """A module holding `@main` whose last op before the return is the match root."""

    module: ModuleOp
    root: object
    arguments: list = field(default_factory=list)


# ---- the types on offer -----------------------------------------------------------------------

def _type_patterns(rule: Rule) -> list:
    """Every type pattern of the match tree (leaves' and ops')."""
    found = []

    def visit(node):
        if isinstance(node, (Var, Const)) and node.type is not None:
            found.append(node.type)
        elif isinstance(node, OpTree):
            types = node.type if isinstance(node.type, (list, tuple)) else [node.type]
            found.extend(t for t in types if t is not None)
            for operand in node.operands:
                visit(operand)
    visit(rule.match)
    return found


def _with_shapes(elements: list[Type]) -> list[Type]:
    return list(elements) + [VectorType([2], e) for e in elements] + [TensorType([3], e) for e in elements]


@st.composite
def rule_palettes(draw, rule: Rule, context=None) -> list[Type]:
    """The types one instance of `rule` may use (see the module docstring)."""
    elements = draw(st.lists(st.sampled_from(SCALAR_TYPES), min_size=1, max_size=4, unique=True))
    palette = list(elements)
    if draw(st.integers(0, 3)) == 0:
        shape = draw(st.sampled_from([[1], [2], [3], [2, 2], [0]]))
        container = draw(st.sampled_from([VectorType, TensorType])) if shape[-1] else TensorType
        palette += [container(shape, e) for e in elements]
    for tree in iter_ops(rule.match):  # something each op of the tree accepts
        cls = context.lookup_op(tree.name) if context is not None else None
        operands = cls.definition.operands if cls is not None else ()
        if operands and not any(operands[0].constraint.check_type(t) for t in palette):
            options = [t for t in _with_shapes(list(SCALAR_TYPES)) if operands[0].constraint.check_type(t)]
            if options:
                palette.append(draw(st.sampled_from(options)))
    for pattern in _type_patterns(rule):
        if isinstance(pattern, Type):
            palette += [pattern, element_type_of(pattern)]
        elif isinstance(pattern, str) and pattern in TYPE_CLASSES:
            predicate = TYPE_CLASSES[pattern]
            if not any(predicate(t) for t in palette):
                options = [t for t in _with_shapes(list(SCALAR_TYPES)) if predicate(t)]
                if options:
                    palette.append(draw(st.sampled_from(options)))
    return list(dict.fromkeys(palette))


# ---- building ----------------------------------------------------------------------------------

class _Builder:
    def __init__(self, draw, rule: Rule, palette: list[Type], context):
        self.draw = draw
        self.rule = rule
        self.palette = palette
        self.context = context
        self.block = Block()
        self.values: dict[str, object] = {}      # variable or const name -> Value
        self.types: dict[str, Type] = {}         # type variable -> Type
        self.attributes: dict[str, Attribute] = {}
        # Result types an op may pick (casts): the palette first, then any scalar type.
        self.result_types = palette + [t for t in SCALAR_TYPES if t not in palette]

    # ---- leaves -------------------------------------------------------------------------

    def accepts(self, pattern, t: Type) -> bool:
        if pattern is None:
            return True
        if isinstance(pattern, Type):
            return t == pattern
        if isinstance(pattern, TypeVar):
            bound = self.types.get(pattern.name)
            return bound is None or bound == t
        if isinstance(pattern, str):
            return bool(TYPE_CLASSES[pattern](t))
        return bool(pattern(t))

    def fixed_type(self, pattern) -> Type | None:
        if isinstance(pattern, Type):
            return pattern
        if isinstance(pattern, TypeVar):
            return self.types.get(pattern.name)
        return None

    def bind_type(self, pattern, t: Type) -> None:
        if isinstance(pattern, TypeVar):
            self.types.setdefault(pattern.name, t)

    def choose(self, options: list):
        if not options:
            raise NoInstance("no type on offer fits")
        return options[0] if len(options) == 1 else self.draw(st.sampled_from(options))

    def leaf_type(self, leaf, constraint, primary: Type | None) -> Type:
        def fits(t):
            return constraint.check_type(t) and self.accepts(leaf.type, t)
        fixed = self.fixed_type(leaf.type)
        if fixed is not None:
            return fixed
        if primary is not None:
            if fits(primary):
                return primary
            same_shape = [with_element(primary, element_type_of(e)) for e in self.palette]
            options = [t for t in dict.fromkeys(same_shape) if fits(t)]
            if options:
                return self.choose(options)
        return self.choose([t for t in self.palette if fits(t)])

    def constant(self, t: Type, value) -> object:
        if not (IntegerOrIndexLike.check(t) or FloatLike.check(t)):
            raise NoInstance(f"cannot make a constant of type {t}")
        if isinstance(t, ShapedType) and any(d < 0 for d in t.shape):
            raise NoInstance(f"cannot make a constant of the dynamically shaped type {t}")
        op = ConstantOp.build(value=value_to_attr(value, t))
        self.block.append(op)
        return op.results[0]

    def make_leaf(self, leaf, t: Type):
        self.bind_type(leaf.type, t)
        if isinstance(leaf, Const):
            if leaf.value is not None:
                shape = tuple(t.shape) if isinstance(t, ShapedType) else ()
                with np.errstate(all="ignore"):
                    value = np.full(shape, leaf.value).astype(dtype_of(t))
            else:
                value = self.draw(values_of(t))
            result = self.constant(t, value)
            if leaf.bind:
                self.values[leaf.bind] = result
            return result
        constant_ok = IntegerOrIndexLike.check(t) or FloatLike.check(t)
        if constant_ok and self.draw(st.integers(0, 5)) == 5:  # shrinks to an argument
            value = self.constant(t, self.draw(values_of(t)))
        else:
            if isinstance(t, ShapedType) and any(d < 0 for d in t.shape):
                raise NoInstance(f"cannot draw inputs of the dynamically shaped type {t}")
            value = self.block.add_argument(t)
        self.values[leaf.name] = value
        return value

    # ---- ops --------------------------------------------------------------------------------

    def op(self, tree: OpTree):
        cls = self.context.lookup_op(tree.name)
        if cls is None:
            raise NoInstance(f"'{tree.name}' is not registered, so it cannot be sampled")
        operands: list = [None] * len(tree.operands)
        for i, pattern in enumerate(tree.operands):  # subtrees first: they bind names too
            if isinstance(pattern, OpTree):
                operands[i] = self.op(pattern).results[0]
        for i, pattern in enumerate(tree.operands):
            name = pattern.name if isinstance(pattern, Var) else getattr(pattern, "bind", None)
            if operands[i] is None and name in self.values:
                operands[i] = self.values[name]
        free = [i for i, v in enumerate(operands) if v is None]
        defs = cls.definition.operands
        single = all(d.kind == "single" for d in defs) and len(defs) == len(operands)
        reason = None
        for _ in range(4):  # a cast may want another primary type than the first drawn
            primary = next((v.type for v in operands if v is not None), None)
            types: dict[int, Type] = {}
            try:
                for i in free:
                    t = self.leaf_type(tree.operands[i], defs[i].constraint if single else ANY, primary)
                    primary = primary or t
                    types[i] = t
                placeholders = iter(Block([types[i] for i in free]).args)
                trial = [v if v is not None else next(placeholders) for v in operands]
                instance = sample_op(self.draw, cls, operands=trial, types=self.result_types,
                                     context=self.context)
                break
            except NoInstance as exc:
                reason = exc
        else:
            raise reason
        for i in free:
            pattern = tree.operands[i]
            name = pattern.name if isinstance(pattern, Var) else pattern.bind
            operands[i] = self.values[name] if name in self.values else self.make_leaf(pattern, types[i])
        instance.set_operands(operands)
        self.set_attributes(instance, tree)
        self.block.append(instance)
        return instance

    def set_attributes(self, instance, tree: OpTree) -> None:
        declared = instance.definition.attributes
        for name, pattern in tree.attrs:
            if isinstance(pattern, Var):
                value = self.attributes.get(pattern.name)
                if value is None:
                    current = instance.get_attr(name)
                    if current is None:
                        raise NoInstance(f"'{tree.name}' was sampled without attribute '{name}'")
                    self.attributes[pattern.name] = current
                    continue
            elif isinstance(pattern, Attribute):
                value = pattern
            elif isinstance(pattern, (bool, int, float)):
                current = instance.get_attr(name)
                attr_type = getattr(current, "type", None)
                value = IntegerAttr(int(pattern), attr_type) if attr_type is not None and isinstance(
                    pattern, int) else None
                if value is None:
                    raise NoInstance(f"cannot write {pattern!r} as attribute '{name}' of '{tree.name}'")
            else:
                raise NoInstance(f"attribute pattern {pattern!r} cannot be instantiated")
            if name in declared:
                instance.properties[name] = value
            else:
                instance.attributes[name] = value
        try:
            verify_declaration(instance)
        except Exception as exc:  # noqa: BLE001 - an attribute the op rejects: another instance
            raise NoInstance(f"'{tree.name}' with the rule's attributes does not verify: {exc}") from None


def build_instance(draw, rule: Rule, pattern, palette: list[Type], context) -> Instance:
    """One instance of `rule`'s match tree that `pattern` (the rule's DeclarativePattern)
    matches; raises NoInstance when this draw gives none."""
    builder = _Builder(draw, rule, palette, context)
    root = builder.op(rule.match)
    block = builder.block
    block.append(ReturnOp.build(operands_=list(root.results)))
    signature = FunctionType(list(block.arg_types), [r.type for r in root.results])
    module = ModuleOp.build()
    module.block.append(FuncOp.build(sym_name="main", function_type=signature, body=Region([block])))
    binding, reason = pattern.match(root)
    if binding is None:
        raise NoInstance(f"not matched: {reason}")
    return Instance(module, root, list(block.arg_types))
