"""testing: random well-typed instances of registered ops, derived from their declarations,
with hooks on op and attribute classes for what a declaration cannot say.

`sample_op(draw, op, operands=None, available=(), ...)` is the one entry point; programs
(random_programs.py) and rule checkers build on it. An instance is found this way:

1. If the op class defines `sample_operation(cls, s) -> Operation`, that hook decides
   everything (for ops whose operand types relate in ways no trait states: broadcasting,
   contraction sizes, reshapes). It asks `s` (an OpSampler) for operands with
   `s.operand(type_or_constraint)` and returns the op built with `cls.build(...)`.
2. Otherwise the instance is derived from the declaration:
   - operand types: a "primary" type the first operand's constraint accepts; every other
     operand takes it when its constraint accepts it, else the same shape with an element
     type that fits (select's i1 condition, fpowi's integer exponent);
   - attributes: the class's `sample_attributes(cls, s, operand_types) -> dict` hook
     first, then the keywords of an enum attribute (cmpi predicates), the attribute
     class's `sample_attribute(cls, s)` hook (fast-math and overflow flags), else the
     default or nothing when the attribute is optional;
   - result types: `infer_result_types`, else every candidate type the op's verifier
     accepts (casts), one of which is drawn.
   Every candidate is verified on placeholder operands first, so the values (existing ones,
   or new arguments and constants) are only chosen once the types are settled.

Hooks receive an OpSampler, never hypothesis itself, so dialects need no test dependency.
"""

from __future__ import annotations

from typing import Callable, Sequence

from hypothesis import strategies as st

from descend.ir import Context, DiagnosticError, verify_declaration
from descend.ir.assembly_format import EnumSyntax
from descend.ir.block import Block
from descend.ir.constraints import Constraint, IsInstance, constraint
from descend.ir.opdef import OPTIONAL, SINGLE, VARIADIC
from descend.ir.traits import IsTerminator
from descend.ir.types import (TensorType, Type, VectorType, element_type_of, f16, f32, f64, i1, i8,
                              i16, i32, i64, index)

from .values import values_of

__all__ = ["sample_op", "OpSampler", "NoInstance", "can_sample", "SCALAR_TYPES"]

# The element types programs draw from by default; bf16 is left out because the reference
# semantics compute it in f32 (see dialects/numeric.py), so its results are not bf16's.
SCALAR_TYPES = (i1, i8, i16, i32, i64, index, f16, f32, f64)
_MAX_PRIMARY_ATTEMPTS = 8


class NoInstance(Exception):
    """No well-typed instance of the op fits the given operands, values and types. Programs
    try another op; a rule checker rejects the example (hypothesis.assume)."""


def can_sample(op_class: type) -> bool:
    """Ops that programs pick by dialect: those with a sampling hook, or with reference
    semantics and neither regions, successors nor a terminator's role."""
    if getattr(op_class, "sample_operation", None) is not None:
        return True
    defn = op_class.definition
    return (getattr(op_class, "reference", None) is not None and not defn.regions
            and not defn.successors and not op_class.has_trait(IsTerminator))


def _accepts(spec, t: Type) -> bool:
    if spec is None:
        return True
    if isinstance(spec, Type):
        return t == spec
    if not isinstance(spec, Constraint):
        spec = constraint(spec)
    return spec.check_type(t)


def with_element(t: Type, element: Type) -> Type:
    """`t`'s container (scalar, vector or tensor of the same shape) holding `element`."""
    if isinstance(t, VectorType):
        return VectorType(t.shape, element, t.scalable)
    if isinstance(t, TensorType):
        return TensorType(t.shape, element)
    return element


def _unique(items) -> list:
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


class OpSampler:
    """What a sampling hook works with: draws (which shrink), the types on offer, and the
    values an op may take as operands.

    `available` values may be used as operands; `new_value(type) -> Value` makes a value
    nothing available has (a new argument or constant; None: never). With `operands`
    fixed, `operand()` hands those out in order instead (rule checkers fix the operand
    structure of a match tree this way) and refuses one that does not fit."""

    def __init__(self, draw, available: Sequence = (), operands: Sequence | None = None,
                 types: Sequence[Type] | None = None,
                 new_value: Callable[[Type], object] | None = None, all_flags: bool = False,
                 fallback_types: Sequence[Type] = ()):
        self._draw = draw
        self.available = list(available)
        self.fixed = None if operands is None else list(operands)
        self._next_fixed = 0
        self.taken: list = []  # the values this instance uses so far
        own = list(types) if types is not None else list(SCALAR_TYPES)
        self.universe = _unique(own + [v.type for v in self.available] +
                                [v.type for v in self.fixed or ()])
        self.fallback = list(fallback_types)
        self.new_value = new_value
        # Fast-math flags other than nnan/ninf license different values, which a bit-exact
        # comparison would report: they are only drawn on request (with tolerances).
        self.all_flags = all_flags

    # ---- draws ----------------------------------------------------------------------------

    def draw(self, strategy):
        """Any hypothesis strategy, for what the helpers below do not cover."""
        return self._draw(strategy)

    def choice(self, options: Sequence):
        options = list(options)
        if not options:
            raise NoInstance("nothing to choose from")
        return options[0] if len(options) == 1 else self._draw(st.sampled_from(options))

    def integer(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))

    def boolean(self, probability: float = 0.5) -> bool:
        """True with `probability`; shrinks to False."""
        return self._draw(st.integers(0, 99)) >= round(100 * (1 - probability))

    def constant(self, t: Type):
        """A numpy value of type `t`, edge cases likely (see values.py)."""
        return self._draw(values_of(t))

    # ---- types ----------------------------------------------------------------------------

    def elements(self) -> list[Type]:
        return _unique(element_type_of(t) for t in self.universe + self.fallback)

    def types(self, spec=None) -> list[Type]:
        """The operand types on offer that `spec` (a type, constraint or class) accepts;
        the fallback types only when none of those does. Without `new_value`, only the
        types of available values can be had."""
        if self.new_value is None and self.fixed is None:
            return _unique(v.type for v in self.available if _accepts(spec, v.type))
        found = [t for t in self.universe if _accepts(spec, t)]
        return found or [t for t in self.fallback if _accepts(spec, t)]

    def type(self, spec=None) -> Type:
        """One type `spec` accepts, usually one some available value already has."""
        candidates = self.types(spec)
        held = {v.type for v in self.available}
        used = [t for t in candidates if t in held]
        if used and (len(used) == len(candidates) or not self.boolean(0.25)):
            return self.choice(used)
        return self.choice(candidates)

    def fit(self, primary: Type, spec) -> Type | None:
        """`primary` if `spec` accepts it, else a type of the same shape that it accepts."""
        if _accepts(spec, primary):
            return primary
        options = [with_element(primary, e) for e in self.elements()]
        options = [t for t in options if _accepts(spec, t)]
        return self.choice(options) if options else None

    # ---- operands -------------------------------------------------------------------------

    def operand(self, spec=None):
        """A value for the next operand that `spec` accepts: the next fixed operand, an
        available value, or a new one (NoInstance when none can be had)."""
        if self.fixed is not None:
            if self._next_fixed >= len(self.fixed):
                raise NoInstance("more operands asked for than were given")
            value = self.fixed[self._next_fixed]
            self._next_fixed += 1
            if not _accepts(spec, value.type):
                raise NoInstance(f"operand of type {value.type} is not {spec}")
            return value
        value = self._existing(spec)
        if value is None:
            if self.new_value is None:
                raise NoInstance(f"no available value is {spec}")
            candidates = [spec] if isinstance(spec, Type) else self.types(spec)
            if not candidates:
                raise NoInstance(f"no type on offer is {spec}")
            value = self.new_value(self.choice(candidates))
            self.available.append(value)
        self.taken.append(value)
        return value

    def _existing(self, spec):
        """An available value for `spec`, or None for "make a new one". Both shapes a
        folder cares about come up: `x - x` (a value this op already uses, one time in
        four) and `x - y` (where `x - x` would hide a swap of the operands)."""
        matching = [v for v in self.available if _accepts(spec, v.type)]
        same = [v for v in matching if v in self.taken]
        if same and self.boolean(0.25):
            return self.choice(same)
        fresh = [v for v in matching if v not in self.taken]
        if fresh and (self.new_value is None or not self.boolean(0.2)):
            return self.choice(fresh[::-1])  # recent first: deeper chains, shrinking to them
        if matching and self.new_value is None:
            return self.choice(matching[::-1])
        return None


# ---- the entry point ---------------------------------------------------------------------

def sample_op(draw, op, operands: Sequence | None = None, available: Sequence = (), *,
              types: Sequence[Type] | None = None, new_value: Callable[[Type], object] | None = None,
              all_flags: bool = False, fallback_types: Sequence[Type] = (),
              context: Context | None = None):
    """A random well-typed instance of `op` (an op class or a registered name), built and
    verified but not inserted anywhere.

    `draw` is hypothesis's (from `@st.composite` or `st.data().draw`). With `operands`
    given, the instance has exactly those values as its operands, in order (its variadic
    group, if any, takes the rest), and only attributes and result types are drawn: a rule
    checker fixes a match tree's structure this way. Otherwise operands come from
    `available`, or from `new_value(type)` for types no available value has. `types` are
    the types on offer (default: SCALAR_TYPES plus those of the values); `fallback_types`
    are offered when none of those fits an operand. Raises NoInstance when no instance
    fits."""
    cls = _resolve(op, context)
    s = OpSampler(draw, available, operands, types, new_value, all_flags, fallback_types)
    hook = getattr(cls, "sample_operation", None)
    if hook is not None:
        instance = hook(s)
        if instance is None:
            raise NoInstance(f"{cls.name}.sample_operation found no instance")
        if s.fixed is not None and list(instance.operands) != s.fixed:
            raise NoInstance(f"{cls.name}.sample_operation did not take the given operands")
        try:
            verify_declaration(instance)
        except DiagnosticError as exc:
            raise AssertionError(f"{cls.name}.sample_operation built an op that does not "
                                 f"verify:\n{exc}") from None
        return instance
    return _derive(cls, s)


def _resolve(op, context: Context | None) -> type:
    if isinstance(op, str):
        cls = (context or _default_context()).lookup_op(op)
        if cls is None:
            raise ValueError(f"no registered op named '{op}'")
        return cls
    return op


_CONTEXT: list = []


def _default_context() -> Context:
    if not _CONTEXT:
        _CONTEXT.append(Context())
    return _CONTEXT[0]


# ---- derivation from the declaration -----------------------------------------------------

def _derive(cls, s: OpSampler):
    defn = cls.definition
    if defn.regions or defn.successors:
        raise NoInstance(f"'{cls.name}' has regions or successors: give it a sample_operation hook")
    for types in _operand_type_plans(cls, s):
        instance = _typed_instance(cls, s, types)
        if instance is not None:
            break
    else:
        raise NoInstance(f"no well-typed instance of '{cls.name}' with the types on offer")
    flat = [t for group in types for t in group]
    values = s.fixed if s.fixed is not None else [s.operand(t) for t in flat]
    instance.set_operands(values)
    return instance


def _operand_type_plans(cls, s: OpSampler):
    """Operand types grouped per declared operand, most promising first."""
    defs = cls.definition.operands
    if s.fixed is not None:
        yield _group_fixed(cls, [v.type for v in s.fixed])
        return
    counts = [1 if d.kind == SINGLE else (s.integer(0, 1) if d.kind == OPTIONAL else s.integer(1, 3))
              for d in defs]
    leading = next((d for d, n in zip(defs, counts) if n), None)
    if leading is None:
        yield [[] for _ in defs]
        return
    candidates = s.types(leading.constraint)
    if not candidates:
        return
    held = {v.type for v in s.available}
    preferred = [t for t in candidates if t in held]
    start = s.integer(0, len(candidates) - 1)
    order = candidates[start:] + candidates[:start]
    if preferred and not s.boolean(0.25):
        first = s.integer(0, len(preferred) - 1)
        order = _unique(preferred[first:] + preferred[:first] + order)
    for primary in order[:_MAX_PRIMARY_ATTEMPTS]:
        groups = []
        for d, n in zip(defs, counts):
            t = s.fit(primary, d.constraint) if n else None
            if n and t is None:
                break
            groups.append([t] * n)
        else:
            yield groups


def _group_fixed(cls, types: list) -> list:
    defs = cls.definition.operands
    variable = [d for d in defs if d.kind != SINGLE]
    if len(variable) > 1:
        raise NoInstance(f"'{cls.name}' has several variadic operand groups: give it a "
                         "sample_operation hook to take fixed operands")
    rest = len(types) - (len(defs) - len(variable))
    if rest < 0 or (variable and variable[0].kind == OPTIONAL and rest > 1) or (not variable and rest):
        raise NoInstance(f"'{cls.name}' cannot take {len(types)} operands")
    groups, position = [], 0
    for d in defs:
        n = 1 if d.kind == SINGLE else rest
        groups.append(types[position:position + n])
        position += n
    return groups


def _typed_instance(cls, s: OpSampler, groups: list):
    """An instance on placeholder operands of the given types, or None if none verifies."""
    defn = cls.definition
    placeholders = iter(Block([t for group in groups for t in group]).args)
    fields = {}
    for d, group in zip(defn.operands, groups):
        values = [next(placeholders) for _ in group]
        fields[d.name] = values if d.kind == VARIADIC else (values[0] if values else None)
    attributes = _attributes(cls, s, [t for group in groups for t in group])
    try:
        instance = cls.build(**fields, **attributes)
    except TypeError:  # the op cannot infer its result types: try the candidates
        instance = None
    else:
        return instance if _verifies(instance) else None
    results = defn.results
    if any(d.kind != SINGLE for d in results):
        return None
    operand_types = [t for group in groups for t in group]
    candidates = _unique(s.universe + [with_element(t, e) for t in operand_types for e in s.elements()])
    if len(results) == 1:
        valid = [op for op in (_build(cls, fields, attributes, [t]) for t in candidates) if op is not None]
        return s.choice(valid) if valid else None
    for _ in range(10):
        instance = _build(cls, fields, attributes, [s.choice(candidates) for _ in results])
        if instance is not None:
            return instance
    return None


def _build(cls, fields, attributes, result_types):
    try:
        instance = cls.build(**fields, **attributes, result_types=result_types)
    except (TypeError, ValueError):
        return None
    return instance if _verifies(instance) else None


def _verifies(instance) -> bool:
    try:
        verify_declaration(instance)
    except Exception:  # noqa: BLE001 - a verify() that chokes on a candidate rejects it
        return False
    return True


def _attributes(cls, s: OpSampler, operand_types: list) -> dict:
    hook = getattr(cls, "sample_attributes", None)
    chosen = dict(hook(s, operand_types)) if hook is not None else {}
    for name, d in cls.definition.attributes.items():
        if name not in chosen:
            value = _derive_attribute(cls, name, d, s)
            if value is not None:
                chosen[name] = value
    return chosen


def _derive_attribute(cls, name: str, d, s: OpSampler):
    if d.optional and d.default is None and not s.boolean(0.5):
        return None
    if isinstance(d.syntax, EnumSyntax) and d.syntax.keywords:
        return d.syntax.from_keyword(s.choice(d.syntax.keywords))
    c = d.constraint
    klass = c.classes[0] if isinstance(c, IsInstance) and len(c.classes) == 1 else None
    hook = getattr(klass, "sample_attribute", None)
    if hook is not None:
        value = hook(s)
        return None if value == d.default else value
    if d.optional:
        return None
    raise NoInstance(f"cannot derive attribute '{name}' of '{cls.name}': give the op a "
                     "sample_attributes hook (or the attribute class a sample_attribute hook)")
