"""rewrites: patterns written for dialect conversion, which receive the op's converted operands.

A ConversionPattern names the op it lowers (`source`, an op class or name) and implements
`rewrite(op, operands, rewriter)`: `operands` are the values the op's operands have become
so far (with its type converter, converted to the new types, bridged by casts where needed),
readable as a tuple or by operand name (`operands.lhs`); `op.operands` still has the old
ones. Return nothing (or True) after replacing or updating the op, False or
`rewriter.no_match("why")` to decline. `match_and_rewrite(op, adaptor, rewriter)` is the
same hook under MLIR's name; override either.

Ready-made patterns for type conversion: `TypeConversionPattern` rebuilds any op with its
types converted, and `function_type_conversion_patterns` converts function signatures,
returns and calls (MLIR's populateFunctionOpInterfaceTypeConversionPattern and friends)."""

from __future__ import annotations

from typing import ClassVar

from descend.ir import Operation, TypeAttr
from descend.ir.opdef import OPTIONAL, SINGLE, OperandDef

from .conversion_target import _op_name
from .pattern import RewritePattern
from .type_converter import TypeConverter


class OpAdaptor(tuple):
    """An op's converted operands: a tuple, and a view by the op's operand names."""

    def __new__(cls, values, op: Operation):
        self = tuple.__new__(cls, values)
        self.op = op
        return self

    def __getattr__(self, name: str):
        op = self.__dict__.get("op")
        definition = type(op).definition if op is not None else None
        field = definition.field(name) if definition is not None else None
        if not isinstance(field, OperandDef):
            raise AttributeError(f"'{getattr(op, 'name', '?')}' has no operand named '{name}'")
        start, size = field.span(op)
        if field.kind == SINGLE:
            return self[start]
        if field.kind == OPTIONAL:
            return self[start] if size else None
        return list(self[start:start + size])


class ConversionPattern(RewritePattern):
    """A pattern that sees converted operands (MLIR's ConversionPattern / OpConversionPattern).

    `type_converter` (per pattern, else the driver's) decides the types of the operands it
    receives; without one they keep the types the op's operands have."""

    source: ClassVar = None
    type_converter: TypeConverter | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        source = cls.__dict__.get("source")
        if source is not None:
            cls.root = _op_name(source)

    def __init__(self, type_converter: TypeConverter | None = None, name: str | None = None,
                 benefit: int | None = None):
        super().__init__(name=name, benefit=benefit)
        if type_converter is not None:
            self.type_converter = type_converter

    def match_and_rewrite(self, op: Operation, adaptor, rewriter=None) -> bool:
        if rewriter is None:  # called by a driver that maps no values (greedy, walk)
            rewriter, adaptor = adaptor, OpAdaptor(op._operands, op)
        return self.rewrite(op, adaptor, rewriter) is not False

    def rewrite(self, op: Operation, operands: OpAdaptor, rewriter) -> "bool | None":
        raise NotImplementedError(f"{type(self).__name__} implements neither rewrite() nor "
                                  "match_and_rewrite(op, adaptor, rewriter)")

    def converter(self, rewriter) -> TypeConverter | None:
        """The type converter in force: the pattern's own, else the driver's."""
        return self.type_converter or rewriter.type_converter


def _new_op_like(op: Operation, operands, result_types, properties, attributes) -> Operation:
    """An op of the same class (or the same generic name) as `op`, with empty regions."""
    cls = type(op)
    new = cls.__new__(cls)
    if cls is Operation:
        new.name = op.name
    new._init(operands, result_types, properties, attributes, len(op.regions), op.successors, op.location)
    return new


def _convert_attributes(converter: TypeConverter, attributes: dict):
    """(converted dict, changed) or (None, why) when an attribute's type cannot convert."""
    if not attributes:
        return attributes, False
    converted, changed = {}, False
    for key, attr in attributes.items():
        new = converter.convert_attribute(attr)
        if new is None:
            return None, f"attribute '{key}' ({attr}) has a type the type converter cannot convert"
        converted[key] = new
        changed = changed or new is not attr
    return converted, changed


class TypeConversionPattern(ConversionPattern):
    """Rebuild an op with converted operand, result, block-argument and attribute types
    (`arith.addi %a, %b : index` -> `arith.addi %a', %b' : i64`); regions move to the new op.
    With `root=None` it is offered every illegal op."""

    def __init__(self, type_converter: TypeConverter | None = None, root: "str | type | None" = None,
                 name: str | None = None, benefit: int | None = None):
        super().__init__(type_converter, name=name or "convert-types", benefit=benefit)
        self.root = _op_name(root) if root is not None else None

    def rewrite(self, op, operands, rewriter):
        converter = self.converter(rewriter)
        if converter is None:
            return rewriter.no_match("needs a type converter")
        convert = converter.convert_type
        result_types = []
        changed = False
        for result in op.results:
            t = convert(result.type)
            if t is None:
                return rewriter.no_match(f"result #{result.index} has type {result.type}, which has no conversion")
            result_types.append(t)
            changed = changed or t != result.type
        properties, changed_props = _convert_attributes(converter, op.properties)
        if properties is None:
            return rewriter.no_match(changed_props)
        attributes, changed_attrs = _convert_attributes(converter, op.attributes)
        if attributes is None:
            return rewriter.no_match(changed_attrs)
        for region in op.regions:
            for block in region.blocks:
                types = converter.convert_types(block.arg_types)
                if types is None:
                    return rewriter.no_match("a block argument has a type with no conversion")
                changed = changed or types != list(block.arg_types)
        if not (changed or changed_props or changed_attrs
                or any(a is not b for a, b in zip(operands, op._operands))):
            return rewriter.no_match("its types are already legal")
        new = rewriter.insert(_new_op_like(op, list(operands), result_types, properties, attributes))
        for old_region, new_region in zip(op.regions, new.regions):
            rewriter.move_region_body(old_region, new_region)
            rewriter.convert_region_types(new_region, converter)
        rewriter.replace_op(op, new.results)
        return True


class FunctionSignatureConversion(ConversionPattern):
    """Convert a function op's `function_type` and its body's block arguments in place."""

    benefit = 2

    def __init__(self, type_converter: TypeConverter | None = None, root: "str | type" = "func.func",
                 name: str | None = None, benefit: int | None = None):
        super().__init__(type_converter, name=name or "convert-function-signature", benefit=benefit)
        self.root = _op_name(root)

    def rewrite(self, op, operands, rewriter):
        converter = self.converter(rewriter)
        attr = op.properties.get("function_type")
        if converter is None or not isinstance(attr, TypeAttr):
            return rewriter.no_match("needs a type converter and a 'function_type' attribute")
        signature = attr.type
        converted = converter.convert_signature(signature)
        if converted is None:
            return rewriter.no_match(f"signature {signature} has a type with no conversion")
        if converted == signature and converter.is_signature_legal(op):
            return rewriter.no_match("its signature is already legal")
        for region in op.regions:
            for block in region.blocks:
                if converter.convert_types(block.arg_types) is None:
                    return rewriter.no_match("a block argument has a type with no conversion")
        with rewriter.modify(op):
            op.properties["function_type"] = TypeAttr(converted)
        for region in op.regions:
            rewriter.convert_region_types(region, converter)
        return True


class OperandConversion(ConversionPattern):
    """Give an op (a return, a yield) its converted operands in place."""

    def __init__(self, type_converter: TypeConverter | None = None, root: "str | type" = "func.return",
                 name: str | None = None, benefit: int | None = None):
        super().__init__(type_converter, name=name or f"convert-{_op_name(root).replace('.', '-')}-operands",
                         benefit=benefit)
        self.root = _op_name(root)

    def rewrite(self, op, operands, rewriter):
        if all(a is b for a, b in zip(operands, op._operands)):
            return rewriter.no_match("its operands are already converted")
        with rewriter.modify(op):
            op.set_operands(list(operands))
        return True


class CallConversion(ConversionPattern):
    """Rebuild a call with converted operands and result types."""

    source = "func.call"

    def __init__(self, type_converter: TypeConverter | None = None, name: str | None = None,
                 benefit: int | None = None):
        super().__init__(type_converter, name=name or "convert-func-call", benefit=benefit)

    def rewrite(self, op, operands, rewriter):
        converter = self.converter(rewriter)
        if converter is None:
            return rewriter.no_match("needs a type converter")
        result_types = converter.convert_types([r.type for r in op.results])
        if result_types is None:
            return rewriter.no_match("a result type has no conversion")
        new = rewriter.insert(_new_op_like(op, list(operands), result_types, op.properties, op.attributes))
        rewriter.replace_op(op, new.results)
        return True


def function_type_conversion_patterns(type_converter: TypeConverter | None = None) -> list[ConversionPattern]:
    """Patterns converting `func.func` signatures, `func.return` operands and `func.call`s.
    Pair them with a target where these ops are legal once their types are:

        target.add_dynamically_legal_op("func.func", converter.is_signature_legal)
        target.add_dynamically_legal_op("func.return", converter.is_legal)
        target.add_dynamically_legal_op("func.call", converter.is_legal)
    """
    return [FunctionSignatureConversion(type_converter), OperandConversion(type_converter, "func.return"),
            CallConversion(type_converter)]
