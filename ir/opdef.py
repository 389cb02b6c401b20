"""ir: declaring ops. One class declares operands, results, attributes (stored as properties,
as MLIR's inherent attributes are), regions, successors, traits, an assembly format, a
verifier and reference semantics; construction, accessors, verification, printing and
parsing are derived from it.

    class AddIOp(Operation):
        name = "arith.addi"
        lhs = operand(SignlessIntegerLike)
        rhs = operand(SignlessIntegerLike)
        result = result(SignlessIntegerLike)
        traits = (Pure(), Commutative(), SameOperandsAndResultType())
        assembly = "$lhs `,` $rhs attr-dict `:` type($result)"
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .attributes import Attribute, DenseArrayAttr
from .constraints import ANY, Constraint, constraint
from .operation import Operation
from .traits import AttrSizedOperandSegments, AttrSizedResultSegments, SameOperandsAndResultType, Trait
from .types import IntegerType, Type

SINGLE, VARIADIC, OPTIONAL = "single", "variadic", "optional"


class FieldDef:
    """A declared field; also the descriptor that reads it from an op instance."""

    kind = SINGLE
    name = ""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name


class _ValueGroupDef(FieldDef):
    segment_property = ""

    def __init__(self, spec: Any = None, kind: str = SINGLE, doc: str = ""):
        self.constraint: Constraint = constraint(spec)
        self.kind = kind
        self.doc = doc
        self._static: dict = {}  # per op class: this single field's fixed index, or None

    def _values(self, op) -> list:
        raise NotImplementedError

    def _static_index(self, op) -> int | None:
        if self.kind != SINGLE:
            return None
        index = 0
        for d in self._defs(op):
            if d is self:
                return index
            if d.kind != SINGLE:
                return None
            index += 1
        return None

    def __get__(self, op, owner=None):
        if op is None:
            return self
        index = self._static.get(type(op), self)
        if index is self:
            index = self._static[type(op)] = self._static_index(op)
        if index is not None:
            return self._values(op)[index]
        values = self._values(op)
        defs = self._defs(op)
        start, size = _segment(op, defs, self, len(values), self.segment_property)
        group = values[start:start + size]
        if self.kind == SINGLE:
            return group[0] if group else None
        if self.kind == OPTIONAL:
            return group[0] if group else None
        return group

    def span(self, op) -> tuple[int, int]:
        """(start, size) of this field's values among the op's operands (or results): what
        a conversion's adaptor needs to read a field from a list of replacement values."""
        index = self._static_index(op)
        if index is not None:
            return index, 1
        return _segment(op, self._defs(op), self, len(self._values(op)), self.segment_property)


class OperandDef(_ValueGroupDef):
    segment_property = "operandSegmentSizes"

    def __get__(self, op, owner=None):
        index = self._static.get(type(op))  # the common case, a single field at a fixed index
        if index is not None:
            return op._operands[index]
        return _ValueGroupDef.__get__(self, op, owner)

    def _values(self, op):
        return op._operands

    def _defs(self, op):
        return op.definition.operands


class ResultDef(_ValueGroupDef):
    segment_property = "resultSegmentSizes"

    def __get__(self, op, owner=None):
        index = self._static.get(type(op))  # as OperandDef.__get__
        if index is not None:
            return op.results[index]
        return _ValueGroupDef.__get__(self, op, owner)

    def _values(self, op):
        return op.results

    def _defs(self, op):
        return op.definition.results


def _segment(op, defs, target, total: int, segment_property: str) -> tuple[int, int]:
    """(start, size) of `target`'s group among `total` values."""
    variable = [d for d in defs if d.kind != SINGLE]
    if len(variable) <= 1:
        start = 0
        fixed = len(defs) - len(variable)
        for d in defs:
            size = 1 if d.kind == SINGLE else total - fixed
            if d is target:
                return start, max(size, 0)
            start += size
        raise AssertionError("field not declared")
    sizes = op.properties.get(segment_property)
    if sizes is None:
        raise op.error(f"requires the '{segment_property}' property")
    start = 0
    for d, size in zip(defs, sizes.array.tolist()):
        if d is target:
            return start, size
        start += size
    raise AssertionError("field not declared")


class AttributeDef(FieldDef):
    """An inherent attribute (stored in op.properties). Reading gives the default when absent."""

    def __init__(self, spec: Any = None, default: Attribute | None = None, optional: bool = False,
                 doc: str = "", syntax: Any = None):
        self.constraint = constraint(spec)
        self.syntax = syntax  # custom-form spelling: EnumSyntax, SymbolNameSyntax, or None
        self.default = default
        self.optional = optional or default is not None
        self.doc = doc

    def __get__(self, op, owner=None):
        if op is None:
            return self
        value = op.properties.get(self.name)
        return self.default if value is None else value


class RegionDef(FieldDef):
    def __init__(self, kind: str = SINGLE, single_block: bool = False, doc: str = ""):
        self.kind = kind
        self.single_block = single_block
        self.doc = doc

    def __get__(self, op, owner=None):
        if op is None:
            return self
        defs = op.definition.regions
        i = defs.index(self)
        if self.kind == VARIADIC:
            return op.regions[i:len(op.regions) - (len(defs) - 1 - i)]
        return op.regions[i] if i < len(op.regions) else None


class SuccessorDef(FieldDef):
    def __init__(self, kind: str = SINGLE, doc: str = ""):
        self.kind = kind
        self.doc = doc

    def __get__(self, op, owner=None):
        if op is None:
            return self
        defs = op.definition.successors
        i = defs.index(self)
        if self.kind == VARIADIC:
            return op.successors[i:len(op.successors) - (len(defs) - 1 - i)]
        return op.successors[i] if i < len(op.successors) else None


def operand(spec: Any = None, doc: str = "") -> OperandDef:
    return OperandDef(spec, SINGLE, doc)


def var_operand(spec: Any = None, doc: str = "") -> OperandDef:
    return OperandDef(spec, VARIADIC, doc)


def opt_operand(spec: Any = None, doc: str = "") -> OperandDef:
    return OperandDef(spec, OPTIONAL, doc)


def result(spec: Any = None, doc: str = "") -> ResultDef:
    return ResultDef(spec, SINGLE, doc)


def var_result(spec: Any = None, doc: str = "") -> ResultDef:
    return ResultDef(spec, VARIADIC, doc)


def opt_result(spec: Any = None, doc: str = "") -> ResultDef:
    return ResultDef(spec, OPTIONAL, doc)


def attribute(spec: Any = None, default: Attribute | None = None, optional: bool = False,
              doc: str = "", syntax: Any = None) -> AttributeDef:
    return AttributeDef(spec, default, optional, doc, syntax)


def opt_attribute(spec: Any = None, doc: str = "", syntax: Any = None) -> AttributeDef:
    return AttributeDef(spec, None, True, doc, syntax)


def region(single_block: bool = False, doc: str = "") -> RegionDef:
    return RegionDef(SINGLE, single_block, doc)


def var_region(doc: str = "") -> RegionDef:
    return RegionDef(VARIADIC, False, doc)


def successor(doc: str = "") -> SuccessorDef:
    return SuccessorDef(SINGLE, doc)


def var_successor(doc: str = "") -> SuccessorDef:
    return SuccessorDef(VARIADIC, doc)


class OpDefinition:
    """Everything declared on an op class, in declaration order."""

    def __init__(self, op_class: type):
        self.op_class = op_class
        self.name: str = op_class.name
        self.operands: list[OperandDef] = []
        self.results: list[ResultDef] = []
        self.attributes: dict[str, AttributeDef] = {}
        self.regions: list[RegionDef] = []
        self.successors: list[SuccessorDef] = []
        for klass in reversed(op_class.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, OperandDef):
                    _replace(self.operands, value)
                elif isinstance(value, ResultDef):
                    _replace(self.results, value)
                elif isinstance(value, AttributeDef):
                    self.attributes[key] = value
                elif isinstance(value, RegionDef):
                    _replace(self.regions, value)
                elif isinstance(value, SuccessorDef):
                    _replace(self.successors, value)
        self.attribute_names = frozenset(self.attributes)
        extra = []
        if sum(d.kind != SINGLE for d in self.operands) > 1:
            extra.append(AttrSizedOperandSegments())
            self.attribute_names |= {"operandSegmentSizes"}
        if sum(d.kind != SINGLE for d in self.results) > 1:
            extra.append(AttrSizedResultSegments())
            self.attribute_names |= {"resultSegmentSizes"}
        if extra:
            op_class.traits = tuple(op_class.traits) + tuple(
                t for t in extra if not op_class.has_trait(type(t)))
        self.format = None
        if op_class.__dict__.get("assembly") or op_class.assembly:
            from .assembly_format import parse_format
            self.format = parse_format(op_class.assembly, self)

    def field(self, name: str) -> FieldDef | None:
        return getattr(self.op_class, name, None) if isinstance(
            getattr(self.op_class, name, None), FieldDef) else None

    def default_properties(self) -> dict[str, Attribute]:
        return {k: d.default for k, d in self.attributes.items() if d.default is not None}


def _replace(fields: list, value) -> None:
    for i, existing in enumerate(fields):
        if existing.name == value.name:
            fields[i] = value
            return
    fields.append(value)


def define_op(cls: type) -> type:
    """Build the OpDefinition of a class with a `name` (called by Operation.__init_subclass__)."""
    cls.definition = OpDefinition(cls)
    return cls


def op_def(name: str) -> Callable[[type], type]:
    """Decorator form: `@op_def("graph.matmul") class MatmulOp(Operation): ...`."""
    def wrap(cls):
        cls.name = name
        return define_op(cls)
    return wrap


def _op_init_subclass(cls, **kwargs):
    super(Operation, cls).__init_subclass__(**kwargs)
    if isinstance(cls.__dict__.get("name"), str):
        define_op(cls)


Operation.__init_subclass__ = classmethod(_op_init_subclass)


# ---- construction of registered ops ---------------------------------------------------------

def build(cls, *args, result_types: Sequence[Type] | None = None,
          attributes: dict | None = None, location=None, **fields) -> Operation:
    """Generic keyword construction: operand and attribute fields by name (positional args
    fill operands in order), result types given or inferred, regions created empty."""
    defn: OpDefinition = cls.definition
    positional = list(args)
    operand_groups = []
    for d in defn.operands:
        value = fields.pop(d.name) if d.name in fields else (positional.pop(0) if positional else None)
        if d.kind == SINGLE:
            if value is None:
                raise TypeError(f"{defn.name}: missing operand '{d.name}'")
            operand_groups.append([value])
        elif d.kind == OPTIONAL:
            operand_groups.append([] if value is None else [value])
        else:
            operand_groups.append(list(value or []))
    if positional:
        raise TypeError(f"{defn.name}: too many positional operands")
    properties = {}
    for name, d in defn.attributes.items():
        if name in fields:
            value = fields.pop(name)
            if value is not None:
                properties[name] = value
    if sum(d.kind != SINGLE for d in defn.operands) > 1:
        properties["operandSegmentSizes"] = DenseArrayAttr(IntegerType(32), [len(g) for g in operand_groups])
    operands = [v for g in operand_groups for v in g]
    regions = []
    for d in defn.regions:
        value = fields.pop(d.name, None)
        if d.kind == VARIADIC:
            regions.extend(value or [])
        else:
            from .block import Region
            regions.append(value if value is not None else Region())
    successors = []
    for d in defn.successors:
        value = fields.pop(d.name, None)
        if d.kind == VARIADIC:
            successors.extend(value or [])
        elif value is not None:
            successors.append(value)
    if result_types is None:
        result_types = []
        for d in defn.results:
            if d.name in fields:
                value = fields.pop(d.name)
                result_types.extend(value if isinstance(value, (list, tuple)) else [value])
            else:
                result_types = None
                break
        if result_types is None:
            result_types = cls.infer_result_types(operands, properties)
    if fields:
        raise TypeError(f"{defn.name}: unknown fields {sorted(fields)}")
    op = cls.__new__(cls)
    op._init(operands, result_types, properties, attributes, regions, successors, location)
    return op


def infer_result_types(cls, operands, properties) -> list[Type]:
    """Default inference: SameOperandsAndResultType gives every result the first operand's type."""
    if cls.has_trait(SameOperandsAndResultType) and operands:
        return [operands[0].type] * sum(1 for d in cls.definition.results if d.kind == SINGLE)
    if not cls.definition.results:
        return []
    raise TypeError(f"{cls.name}: cannot infer result types; pass result_types=")


Operation.build = classmethod(build)
Operation.infer_result_types = classmethod(infer_result_types)


class _DeclarationChecks:
    """What verify_declaration asks of every op of one class, worked out once: for operands
    and results declared one value per field, the count and the fields whose constraint is
    not ANY (None when a field is optional or variadic); the required attributes."""

    def __init__(self, defn: OpDefinition):
        self.operands = _single_fields(defn.operands)
        self.results = _single_fields(defn.results)
        self.required = tuple(name for name, d in defn.attributes.items() if not d.optional)
        self.declares_structure = bool(defn.regions or defn.successors)
        self.traits: tuple = ()
        self.verifying_traits: tuple = ()  # those of `traits` that check something

    def traits_to_verify(self, traits: tuple) -> tuple:
        if traits is not self.traits:
            self.traits = traits
            self.verifying_traits = tuple(t for t in traits if type(t).verify is not Trait.verify)
        return self.verifying_traits


def _single_fields(defs) -> tuple | None:
    if any(d.kind != SINGLE for d in defs):
        return None
    return len(defs), tuple((index, d) for index, d in enumerate(defs) if d.constraint is not ANY)


def _declaration_checks(defn: OpDefinition) -> _DeclarationChecks:
    checks = defn.__dict__.get("_checks")
    if checks is None:
        checks = defn._checks = _DeclarationChecks(defn)
    return checks


def verify_declaration(op: Operation) -> None:
    """Check an op of a registered class against its declaration, then traits and verify()."""
    defn: OpDefinition = op.definition
    checks = _declaration_checks(defn)
    if checks.operands is not None:
        _check_singles(op, checks.operands, op._operands, "operand")
    else:
        _check_group(op, defn.operands, op._operands, "operand", "operandSegmentSizes")
    if checks.results is not None:
        _check_singles(op, checks.results, op.results, "result")
    else:
        _check_group(op, defn.results, op.results, "result", "resultSegmentSizes")
    for name, value in op.properties.items():
        d = defn.attributes.get(name)
        if d is None:
            if name in defn.attribute_names:
                continue
            raise op.error(f"has unknown property '{name}'")
        if not d.constraint.check(value):
            raise op.error(f"attribute '{name}' failed to satisfy constraint: {d.constraint.description}"
                           f" (got {value})")
    for name in checks.required:
        if name not in op.properties:
            raise op.error(f"requires attribute '{name}'")
    if op.regions or op.successors or checks.declares_structure:
        _check_counts(op, defn.regions, len(op.regions), "region")
        _check_counts(op, defn.successors, len(op.successors), "successor")
        for i, d in enumerate(defn.regions):
            if d.single_block and i < len(op.regions) and len(op.regions[i].blocks) > 1:
                raise op.error(f"region #{i} ('{d.name}') failed to verify constraint: region with "
                               "at most 1 blocks")
    for trait in checks.traits_to_verify(type(op).traits):
        trait.verify(op)
    op.verify()


def _check_singles(op, fields: tuple, values, what: str) -> None:
    """_check_group's common case: one value per declared field."""
    count, constrained = fields
    if len(values) != count:
        raise op.error(f"expected {count} {what}{'s' if count != 1 else ''}, but found {len(values)}")
    for index, d in constrained:
        t = values[index].type
        if not d.constraint.check_type(t):
            raise op.error(f"{what} #{index} ('{d.name}') must be {d.constraint.description}, "
                           f"but got {t}")


def _check_group(op, defs, values, what: str, segment_property: str) -> None:
    if all(d.kind == SINGLE for d in defs):
        # The common case: one value per declared field, checked in place.
        if len(values) != len(defs):
            fixed = len(defs)
            raise op.error(f"expected {fixed} {what}{'s' if fixed != 1 else ''}, but found {len(values)}")
        for index, (d, v) in enumerate(zip(defs, values)):
            if d.constraint is not ANY and not d.constraint.check_type(v.type):
                raise op.error(f"{what} #{index} ('{d.name}') must be {d.constraint.description}, "
                               f"but got {v.type}")
        return
    variable = [d for d in defs if d.kind != SINGLE]
    fixed = len(defs) - len(variable)
    if len(variable) > 1:
        sizes = op.properties.get(segment_property)
        if sizes is None:
            raise op.error(f"requires attribute '{segment_property}'")
        sizes = list(sizes)
        if len(sizes) != len(defs):
            raise op.error(f"'{segment_property}' attribute for specifying {what} segments must "
                           f"have {len(defs)} elements, but got {len(sizes)}")
        if sum(sizes) != len(values):
            raise op.error(f"{what} count ({len(values)}) does not match with the total size "
                           f"({sum(sizes)}) specified in attribute '{segment_property}'")
        for d, size in zip(defs, sizes):
            if (d.kind == SINGLE and size != 1) or (d.kind == OPTIONAL and size > 1) or size < 0:
                raise op.error(f"{what} group '{d.name}' has {size} values")
    elif variable:
        if len(values) < fixed or (variable[0].kind == OPTIONAL and len(values) > fixed + 1):
            bound = f"{fixed}" if variable[0].kind == VARIADIC else f"{fixed} or {fixed + 1}"
            raise op.error(f"expected {'at least ' if variable[0].kind == VARIADIC else ''}"
                           f"{bound} {what}s, but found {len(values)}")
    elif len(values) != fixed:
        raise op.error(f"expected {fixed} {what}{'s' if fixed != 1 else ''}, but found {len(values)}")
    for d in defs:
        if d.constraint is ANY:
            continue
        group = d.__get__(op)
        group = [group] if d.kind == SINGLE or d.kind == OPTIONAL else group
        for v in group:
            if v is not None and not d.constraint.check(v.type):
                index = values.index(v)
                raise op.error(f"{what} #{index} ('{d.name}') must be {d.constraint.description}, "
                               f"but got {v.type}")


def _check_counts(op, defs, count: int, what: str) -> None:
    if any(d.kind == VARIADIC for d in defs):
        minimum = sum(d.kind == SINGLE for d in defs)
        if count < minimum:
            raise op.error(f"expected at least {minimum} {what}s, but found {count}")
    elif count != len(defs):
        raise op.error(f"requires {len(defs)} {what}{'s' if len(defs) != 1 else ''} "
                       f"but found {count}")
