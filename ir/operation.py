"""ir: the Operation, MLIR's unit of IR: name, operands, results, properties, attributes,
regions, successors and a location. Registered ops are subclasses declared in ir.opdef."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from .attributes import Attribute
from .diagnostics import DiagnosticError, error
from .location import Location, UNKNOWN
from .types import Type
from .value import OpResult, Use, Value
from .block import Region

if TYPE_CHECKING:
    from .block import Block, Region


class Operation:
    """A generic operation. Registered ops subclass it and set the class attribute `name`."""

    __slots__ = ("name", "_operands", "_uses", "results", "properties", "attributes",
                 "regions", "successors", "location", "parent", "prev", "next", "_order",
                 "__dict__", "__weakref__")

    # Filled in for registered op classes by ir.opdef; None on the generic class.
    definition: Any = None
    traits: tuple = ()
    assembly: str | None = None

    def __init__(self, name: str | None = None, operands: Sequence[Value] = (),
                 result_types: Sequence[Type] = (), properties: Mapping[str, Attribute] | None = None,
                 attributes: Mapping[str, Attribute] | None = None,
                 regions: "int | Sequence[Region]" = 0, successors: Sequence["Block"] = (),
                 location: Location | None = None):
        if name is not None and type(self) is Operation:
            self.name = name
        elif type(self) is Operation:
            raise TypeError("a generic Operation needs a name")
        self._init(operands, result_types, properties, attributes, regions, successors, location)

    def _init(self, operands, result_types, properties, attributes, regions, successors, location):
        """The lean constructor the parser and builders share."""
        self._operands = operands = list(operands)
        self._uses = uses = []
        for i, value in enumerate(operands):
            use = Use(self, i)
            uses.append(use)
            value.uses[use] = None
        self.results = [OpResult(t, self, i) for i, t in enumerate(result_types)]
        self.properties = dict(properties) if properties else {}
        self.attributes = dict(attributes) if attributes else {}
        if not regions:
            self.regions = []
        elif isinstance(regions, int):
            self.regions = [Region() for _ in range(regions)]
        else:
            self.regions = list(regions)
        for region in self.regions:
            if region.parent is not None:
                raise ValueError("region already belongs to an operation")
            region.parent = self
        self.successors = list(successors)
        self.location = location if location is not None else UNKNOWN
        self.parent = None
        self.prev = None
        self.next = None
        self._order = -1

    @classmethod
    def create(cls, name: str, operands=(), result_types=(), properties=None, attributes=None,
               regions=0, successors=(), location=None, context=None) -> "Operation":
        """Make an op by name: an instance of its registered class if the context knows it."""
        op_class = context.lookup_op(name) if context is not None else None
        if op_class is None:
            op = Operation.__new__(Operation)
            op.name = name
        else:
            op = op_class.__new__(op_class)
        op._init(operands, result_types, properties, attributes, regions, successors, location)
        return op

    # ---- operands and results -------------------------------------------------------------

    @property
    def operands(self) -> tuple[Value, ...]:
        return tuple(self._operands)

    @property
    def num_operands(self) -> int:
        return len(self._operands)

    def operand(self, index: int) -> Value:
        return self._operands[index]

    def set_operand(self, index: int, value: Value) -> None:
        old = self._operands[index]
        use = self._uses[index]
        del old.uses[use]
        self._operands[index] = value
        value.uses[use] = None

    def set_operands(self, values: Sequence[Value]) -> None:
        """Replace every operand (the count may change)."""
        self.drop_operand_uses()
        self._operands = list(values)
        self._uses = [Use(self, i) for i in range(len(self._operands))]
        for value, use in zip(self._operands, self._uses):
            value.uses[use] = None

    def drop_operand_uses(self) -> None:
        for value, use in zip(self._operands, self._uses):
            value.uses.pop(use, None)
        self._operands = []
        self._uses = []

    @property
    def result(self) -> OpResult:
        if len(self.results) != 1:
            raise ValueError(f"'{self.name}' has {len(self.results)} results, not one")
        return self.results[0]

    @property
    def result_types(self) -> tuple[Type, ...]:
        return tuple(r.type for r in self.results)

    @property
    def operand_types(self) -> tuple[Type, ...]:
        return tuple(v.type for v in self._operands)

    def replace_all_uses_with(self, values: "Operation | Sequence[Value]") -> None:
        if isinstance(values, Operation):
            values = values.results
        if len(values) != len(self.results):
            raise ValueError(f"replacing {len(self.results)} results with {len(values)} values")
        for old, new in zip(self.results, values):
            old.replace_all_uses_with(new)

    @property
    def has_uses(self) -> bool:
        return any(r.uses for r in self.results)

    # ---- attributes -------------------------------------------------------------------------

    def get_attr(self, name: str, default=None):
        """An inherent attribute (property) or a discardable one, by name."""
        value = self.properties.get(name)
        if value is None:
            value = self.attributes.get(name, default)
        return value

    def set_attr(self, name: str, value: Attribute) -> None:
        defn = self.definition
        if defn is not None and name in defn.attribute_names:
            self.properties[name] = value
        else:
            self.attributes[name] = value

    # ---- structure --------------------------------------------------------------------------

    @property
    def is_registered(self) -> bool:
        return self.definition is not None

    @property
    def dialect_name(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def parent_region(self) -> "Region | None":
        return self.parent.parent if self.parent is not None else None

    @property
    def parent_op(self) -> "Operation | None":
        region = self.parent_region
        return region.parent if region is not None else None

    def ancestors(self) -> Iterator["Operation"]:
        op = self.parent_op
        while op is not None:
            yield op
            op = op.parent_op

    def is_ancestor_of(self, other: "Operation") -> bool:
        while other is not None:
            if other is self:
                return True
            other = other.parent_op
        return False

    @property
    def region(self) -> "Region":
        return self.regions[0]

    @property
    def body(self) -> "Block":
        """The single block of the first region (for single-block region ops)."""
        return self.regions[0].block

    @classmethod
    def has_trait(cls, trait: type) -> bool:
        cache = cls.__dict__.get("_trait_cache")
        if cache is None or cache[0] is not cls.traits:
            cache = (cls.traits, {})
            type.__setattr__(cls, "_trait_cache", cache)
        answer = cache[1].get(trait)
        if answer is None:
            answer = cache[1][trait] = any(isinstance(t, trait) for t in cls.traits)
        return answer

    @classmethod
    def get_trait(cls, trait: type):
        for t in cls.traits:
            if isinstance(t, trait):
                return t
        return None

    # ---- mutation ---------------------------------------------------------------------------

    def detach(self) -> "Operation":
        """Unlink from the parent block; the op keeps its operands and regions."""
        if self.parent is not None:
            self.parent._unlink(self)
        return self

    def erase(self, force: bool = False) -> None:
        """Detach and destroy. Refuses while results still have uses (unless force)."""
        if not force:
            for r in self.results:
                if r.uses:
                    user = next(iter(r.uses)).owner
                    raise ValueError(f"cannot erase '{self.name}': result #{r.index} is still "
                                     f"used by '{user.name}'")
        self.detach()
        self.drop_all_references()

    def drop_all_references(self) -> None:
        """Drop operand uses here and in every nested op (before erasing a whole subtree)."""
        self.drop_operand_uses()
        self.successors = []
        for region in self.regions:
            for block in region.blocks:
                for op in block.ops:
                    op.drop_all_references()

    def move_before(self, other: "Operation") -> None:
        self.detach()
        other.parent.insert_before(other, self)

    def move_after(self, other: "Operation") -> None:
        self.detach()
        other.parent.insert_after(other, self)

    def is_before_in_block(self, other: "Operation") -> bool:
        block = self.parent
        assert block is not None and block is other.parent
        block._ensure_order()
        return self._order < other._order

    # ---- traversal and copying ---------------------------------------------------------------

    def walk(self, order: str = "pre") -> Iterator["Operation"]:
        """Every op in this op's tree, itself included. Post-order is safe under erasure of the
        yielded op; in pre-order an op erased when yielded is not descended into."""
        if order == "post":
            for region in list(self.regions):
                for block in list(region.blocks):
                    op = block.first
                    while op is not None:
                        following = op.next
                        yield from op.walk("post")
                        op = following
            yield self
            return
        attached = self.parent is not None
        yield self
        if attached and self.parent is None:
            return  # erased (or detached) by the consumer: do not descend
        for region in list(self.regions):
            for block in list(region.blocks):
                op = block.first
                while op is not None:
                    following = op.next
                    yield from op.walk("pre")
                    op = following

    def clone(self, mapping: dict | None = None, clone_regions: bool = True) -> "Operation":
        """A deep copy; `mapping` (old value/block -> new) is read for operands and filled in."""
        if mapping is None:
            mapping = {}
        cls = type(self)
        new = cls.__new__(cls)
        if cls is Operation:
            new.name = self.name
        new._init([mapping.get(v, v) for v in self._operands], [r.type for r in self.results],
                  self.properties, self.attributes, len(self.regions) if clone_regions else 0,
                  [mapping.get(b, b) for b in self.successors], self.location)
        for old, fresh in zip(self.results, new.results):
            fresh.name_hint = old.name_hint
            mapping[old] = fresh
        if clone_regions:
            for old_region, new_region in zip(self.regions, new.regions):
                old_region.clone_into(new_region, mapping)
        return new

    # ---- verification and diagnostics ------------------------------------------------------

    def verify(self) -> None:
        """An op's own checks beyond its declaration; raise self.error(...) on failure."""

    def error(self, message: str, notes=()) -> DiagnosticError:
        return error(self.location, f"'{self.name}' op {message}", notes=notes)

    def emit_error(self, message: str) -> DiagnosticError:
        return self.error(message)

    # ---- printing ---------------------------------------------------------------------------

    def print(self, generic: bool = False, debuginfo: bool = False, **options) -> str:
        from .printer import Printer
        return Printer(generic=generic, debuginfo=debuginfo, **options).print_top(self)

    def __str__(self) -> str:
        return self.print()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}' at {id(self):#x}>"

    __hash__ = object.__hash__

    def __eq__(self, other) -> bool:
        return self is other
