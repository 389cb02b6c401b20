"""rewrites: how types change during a dialect conversion (MLIR's TypeConverter).

A conversion function maps one type to its replacement: it returns the new type, None to
let an earlier-registered function try, or False to say the type cannot be converted.
Functions are tried most recent first, as in MLIR, so a general rule registered first is
the fallback of the specific ones registered after it. By default the converter keeps every
type it has no rule for (`keep_other_types=False` starts with no rule at all).

    converter = TypeConverter({index: i64})                # a plain mapping
    @converter.add_conversion
    def tensors(t):                                        # tensor<4xindex> -> tensor<4xi64>
        if isinstance(t, TensorType):
            e = converter.convert_type(t.element_type)
            return TensorType(t.shape, e) if e is not None else False

Materializations build the IR that bridges the two type systems where a conversion leaves
them meeting: a *target* materialization turns a value of an old type into the new type a
pattern expects, a *source* materialization turns a converted value back into the old type
for a user that was not converted. The driver first bridges with
`builtin.unrealized_conversion_cast`, then at the end asks these functions to replace the
casts still in use; where none is registered (or all return None) the cast stays, for a
later lowering or `reconcile_unrealized_casts` to remove."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from descend.ir import (Attribute, FloatAttr, FunctionType, IntegerAttr, Location, Operation,
                        Type, TypeAttr, Value)

Conversion = Callable[[Type], "Type | None | bool"]
# materialization(builder, type, inputs, location) -> Value | Operation | None
Materialization = Callable[[object, Type, Sequence[Value], Location], "Value | Operation | None"]

_MISSING = object()


def _keep(t: Type) -> Type:
    return t


class TypeConverter:
    """Type conversions, their cache, and the materializations that bridge old and new types."""

    def __init__(self, *conversions: "Conversion | Mapping[Type, Type]", keep_other_types: bool = True):
        self._conversions: list[Conversion] = [_keep] if keep_other_types else []
        self._source: list[Materialization] = []
        self._target: list[Materialization] = []
        self._cache: dict = {}
        for conversion in conversions:
            self.add_conversion(conversion)

    # ---- conversions ---------------------------------------------------------------------------

    def add_conversion(self, conversion: "Conversion | Mapping[Type, Type]"):
        """Register a function (or a {old: new} mapping); usable as a decorator."""
        if isinstance(conversion, Mapping):
            mapping = dict(conversion)
            function = mapping.get
        elif callable(conversion):
            function = conversion
        else:
            raise TypeError(f"a type conversion is a function or a mapping, got {conversion!r}")
        self._conversions.insert(0, function)
        self._cache.clear()
        return conversion

    def convert_type(self, t: Type) -> Type | None:
        """The type `t` becomes, or None when no function can convert it."""
        found = self._cache.get(t, _MISSING)
        if found is not _MISSING:
            return found
        found = None
        for conversion in self._conversions:
            answer = conversion(t)
            if answer is None:
                continue
            found = answer if answer is not False else None
            break
        self._cache[t] = found
        return found

    def convert_types(self, types: Sequence[Type]) -> list[Type] | None:
        converted = []
        for t in types:
            new = self.convert_type(t)
            if new is None:
                return None
            converted.append(new)
        return converted

    def convert_signature(self, signature: FunctionType) -> FunctionType | None:
        inputs = self.convert_types(signature.inputs)
        results = self.convert_types(signature.results)
        if inputs is None or results is None:
            return None
        return FunctionType(inputs, results)

    def convert_attribute(self, attr: Attribute) -> Attribute | None:
        """A typed attribute with its type converted (`3 : index` -> `3 : i64`, a TypeAttr,
        a function type), the attribute itself when it holds no convertible type, or None
        when its type cannot be converted."""
        if isinstance(attr, TypeAttr):
            inner = attr.type
            new = self.convert_signature(inner) if isinstance(inner, FunctionType) else self.convert_type(inner)
            return None if new is None else attr if new == inner else TypeAttr(new)
        if isinstance(attr, (IntegerAttr, FloatAttr)):
            new = self.convert_type(attr.type)
            return None if new is None else attr if new == attr.type else type(attr)(attr.value, new)
        return attr

    # ---- legality --------------------------------------------------------------------------------

    def is_legal(self, item: "Type | Operation") -> bool:
        """A type is legal when it converts to itself; an op when its operand and result
        types are (use as a dynamic-legality callback: `target.add_dynamically_legal_dialect(
        "arith", converter.is_legal)`)."""
        if isinstance(item, Type):
            return self.convert_type(item) == item
        convert = self.convert_type
        for value in item._operands:
            if convert(value.type) != value.type:
                return False
        for value in item.results:
            if convert(value.type) != value.type:
                return False
        return True

    def is_signature_legal(self, item: "FunctionType | Operation") -> bool:
        """A function type whose inputs and results are legal; for a function op, also its
        entry block's arguments."""
        if isinstance(item, FunctionType):
            return self.convert_signature(item) == item
        function_type = item.properties.get("function_type")
        if function_type is not None and not self.is_signature_legal(function_type.type):
            return False
        for region in item.regions:
            for block in region.blocks:
                for arg in block.args:
                    if self.convert_type(arg.type) != arg.type:
                        return False
        return True

    # ---- materializations -----------------------------------------------------------------------

    def add_source_materialization(self, materialization: Materialization) -> Materialization:
        """`fn(builder, old_type, [converted value], location)` builds the old-type value for a
        user that stayed unconverted. Tried most recent first; usable as a decorator."""
        self._source.insert(0, materialization)
        return materialization

    def add_target_materialization(self, materialization: Materialization) -> Materialization:
        """`fn(builder, new_type, [old value], location)` builds the new-type value a pattern
        expects from a value that was not converted."""
        self._target.insert(0, materialization)
        return materialization

    @property
    def has_materializations(self) -> bool:
        return bool(self._source or self._target)

    def materialize_source(self, builder, t: Type, inputs: Sequence[Value], location: Location) -> Value | None:
        return _materialize(self._source, builder, t, inputs, location)

    def materialize_target(self, builder, t: Type, inputs: Sequence[Value], location: Location) -> Value | None:
        return _materialize(self._target, builder, t, inputs, location)

    def __repr__(self) -> str:
        return f"<TypeConverter {len(self._conversions)} conversions>"


def _materialize(functions, builder, t: Type, inputs, location) -> Value | None:
    for function in functions:
        made = function(builder, t, list(inputs), location)
        if made is None:
            continue
        if isinstance(made, Operation):
            if made.parent is None:
                builder.insert(made)
            made = made.results[0]
        if made.type != t:
            raise TypeError(f"materialization {getattr(function, '__name__', function)} built a value of "
                            f"type {made.type}, expected {t}")
        return made
    return None
