"""ir: the builtin types, immutable and interned, each printing itself in MLIR's syntax."""

from __future__ import annotations

from typing import Any, Sequence

from .interning import Immutable

DYNAMIC = -1  # a `?` dimension


class Type(Immutable):
    """Base of every type. Two equal types are the same object."""

    _instances: dict = {}

    @property
    def dialect(self) -> str:
        return "builtin"


class IntegerType(Type):
    """An integer of any width; signedness is "" (signless), "s" or "u"."""

    _fields = ("width", "signedness")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, width: int, signedness: str = "") -> tuple:
        if signedness not in ("", "s", "u"):
            raise ValueError(f"bad signedness {signedness!r}")
        if not 0 <= int(width) <= 16777215:
            raise ValueError(f"integer width {width} out of range")
        return (int(width), signedness)

    def _print(self) -> str:
        return f"{self.signedness}i{self.width}"

    @property
    def is_signless(self) -> bool:
        return self.signedness == ""


class IndexType(Type):
    """The target's pointer-sized integer used for sizes and indices."""

    _instances: dict = {}

    def _print(self) -> str:
        return "index"


FLOAT_NAMES = ("f16", "bf16", "f32", "f64", "f80", "f128", "tf32",
               "f8E5M2", "f8E4M3", "f8E4M3FN", "f8E5M2FNUZ", "f8E4M3FNUZ", "f8E4M3B11FNUZ",
               "f8E3M4", "f8E8M0FNU", "f4E2M1FN", "f6E2M3FN", "f6E3M2FN")
FLOAT_WIDTHS = {"f16": 16, "bf16": 16, "f32": 32, "f64": 64, "f80": 80, "f128": 128, "tf32": 19}


class FloatType(Type):
    """A floating-point type by its MLIR name. f80 and f128 have no numpy semantics here."""

    _fields = ("name",)
    _instances: dict = {}

    @classmethod
    def _normalize(cls, name: str) -> tuple:
        if name not in FLOAT_NAMES:
            raise ValueError(f"unknown float type {name!r}")
        return (name,)

    def _print(self) -> str:
        return self.name

    @property
    def width(self) -> int:
        return FLOAT_WIDTHS.get(self.name, 8)


class NoneType(Type):
    """The unit type `none`."""

    _instances: dict = {}

    def _print(self) -> str:
        return "none"


class ComplexType(Type):
    _fields = ("element_type",)
    _instances: dict = {}

    def _print(self) -> str:
        return f"complex<{self.element_type}>"


class TupleType(Type):
    _fields = ("types",)
    _instances: dict = {}

    @classmethod
    def _normalize(cls, types: Sequence[Type]) -> tuple:
        return (tuple(types),)

    def _print(self) -> str:
        return f"tuple<{', '.join(map(str, self.types))}>"


class FunctionType(Type):
    """`(inputs) -> results`; a single non-function result prints without parentheses."""

    _fields = ("inputs", "results")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, inputs: Sequence[Type], results: Sequence[Type]) -> tuple:
        return (tuple(inputs), tuple(results))

    def _print(self) -> str:
        return f"({', '.join(map(str, self.inputs))}) -> {print_result_types(self.results)}"


def print_result_types(results: Sequence[Type]) -> str:
    """Result types after `->`: bare when there is one and it is not a function type."""
    if len(results) == 1 and not isinstance(results[0], FunctionType):
        return str(results[0])
    return f"({', '.join(map(str, results))})"


def _dims(shape: Sequence[int]) -> str:
    return "".join(("?" if d == DYNAMIC else str(d)) + "x" for d in shape)


class ShapedType(Type):
    """Common queries of tensors, memrefs and vectors."""

    shape: tuple[int, ...]
    element_type: Type

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def has_static_shape(self) -> bool:
        return DYNAMIC not in self.shape

    @property
    def num_elements(self) -> int:
        n = 1
        for d in self.shape:
            if d == DYNAMIC:
                raise ValueError(f"{self} has a dynamic shape")
            n *= d
        return n


def _shape(shape: Sequence[int]) -> tuple[int, ...]:
    out = tuple(int(d) for d in shape)
    for d in out:
        if d < 0 and d != DYNAMIC:
            raise ValueError(f"negative dimension {d}")
    return out


class TensorType(ShapedType):
    """`tensor<4x?xf32>`, with an optional encoding attribute."""

    _fields = ("shape", "element_type", "encoding")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, shape: Sequence[int], element_type: Type, encoding: Any = None) -> tuple:
        return (_shape(shape), element_type, encoding)

    def _print(self) -> str:
        enc = f", {self.encoding}" if self.encoding is not None else ""
        return f"tensor<{_dims(self.shape)}{self.element_type}{enc}>"


class UnrankedTensorType(ShapedType):
    _fields = ("element_type",)
    _instances: dict = {}

    def _print(self) -> str:
        return f"tensor<*x{self.element_type}>"

    @property
    def rank(self) -> int:
        raise ValueError("unranked tensor has no rank")


class MemRefType(ShapedType):
    """`memref<4x8xf32, layout, memory_space>`; layout and memory space are attributes or None."""

    _fields = ("shape", "element_type", "layout", "memory_space")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, shape: Sequence[int], element_type: Type, layout: Any = None,
                   memory_space: Any = None) -> tuple:
        return (_shape(shape), element_type, layout, memory_space)

    def _print(self) -> str:
        extra = "".join(f", {a}" for a in (self.layout, self.memory_space) if a is not None)
        if self.layout is None and self.memory_space is not None:
            extra = f", {self.memory_space}"
        return f"memref<{_dims(self.shape)}{self.element_type}{extra}>"


class UnrankedMemRefType(ShapedType):
    _fields = ("element_type", "memory_space")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, element_type: Type, memory_space: Any = None) -> tuple:
        return (element_type, memory_space)

    def _print(self) -> str:
        ms = f", {self.memory_space}" if self.memory_space is not None else ""
        return f"memref<*x{self.element_type}{ms}>"


class VectorType(ShapedType):
    """`vector<[4]x8xf32>`: `scalable` flags the dims written in brackets."""

    _fields = ("shape", "element_type", "scalable")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, shape: Sequence[int], element_type: Type,
                   scalable: Sequence[bool] | None = None) -> tuple:
        shape = _shape(shape)
        scalable = tuple(bool(s) for s in scalable) if scalable else (False,) * len(shape)
        if len(scalable) != len(shape):
            raise ValueError("scalable flags must match the shape")
        return (shape, element_type, scalable)

    def _print(self) -> str:
        dims = "".join((f"[{d}]" if s else str(d)) + "x" for d, s in zip(self.shape, self.scalable))
        return f"vector<{dims}{self.element_type}>"


class OpaqueType(Type):
    """A dialect type no registered class claims: `!dialect.name<body>` kept as text."""

    _fields = ("dialect_name", "type_name", "body")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, dialect_name: str, type_name: str, body: str | None = None) -> tuple:
        return (dialect_name, type_name, body)

    @property
    def dialect(self) -> str:
        return self.dialect_name

    def _print(self) -> str:
        name = f"{self.dialect_name}.{self.type_name}" if self.type_name else self.dialect_name
        return f"!{name}" + (f"<{self.body}>" if self.body is not None else "")


class ParametrizedType(Type):
    """Base for a dialect's own types: `!dialect.name<p0, p1>` where each parameter is a
    type, an attribute, or an integer. Subclasses set `name` ("dialect.name") and `_fields`."""

    name: str = ""
    _instances: dict = {}

    @property
    def dialect(self) -> str:
        return self.name.split(".", 1)[0]

    def _print(self) -> str:
        if not self._fields:
            return f"!{self.name}"
        return f"!{self.name}<{', '.join(map(str, self._params))}>"

    @classmethod
    def from_parameters(cls, params: list) -> "ParametrizedType":
        """Build from parsed parameters; override to convert or check them."""
        if len(params) != len(cls._fields):
            raise ValueError(f"!{cls.name} expects {len(cls._fields)} parameters, got {len(params)}")
        return cls(*params)


# Frequently used instances.
i1, i8, i16, i32, i64 = (IntegerType(w) for w in (1, 8, 16, 32, 64))
index = IndexType()
f16, bf16, f32, f64 = (FloatType(n) for n in ("f16", "bf16", "f32", "f64"))
none = NoneType()


def is_int_or_index(t: Type) -> bool:
    return isinstance(t, (IntegerType, IndexType))


def element_type_of(t: Type) -> Type:
    """The scalar type of a shaped type, or the type itself."""
    return t.element_type if isinstance(t, ShapedType) else t
