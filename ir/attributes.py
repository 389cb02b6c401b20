"""ir: the builtin attributes, immutable and interned, each printing itself in MLIR's syntax."""

from __future__ import annotations

import itertools
import math
import struct
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .affine import AffineMap, IntegerSet
from .interning import Immutable
from .types import (ComplexType, FloatType, IndexType, IntegerType, ShapedType, Type, i1, i64,
                    f64)


class Attribute(Immutable):
    """Base of every attribute. Two equal attributes are the same object."""

    _instances: dict = {}

    @property
    def dialect(self) -> str:
        return "builtin"


class IntegerAttr(Attribute):
    """An integer value of an integer or index type; i1 prints as true/false."""

    _fields = ("value", "type")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, value: int, type: Type = i64) -> tuple:
        value = int(value)
        if isinstance(type, IntegerType):
            value = wrap_integer(value, type)
        return (value, type)

    def _print(self) -> str:
        if self.type is i1:
            return "true" if self.value else "false"
        return f"{self.value} : {self.type}"


def wrap_integer(value: int, type: IntegerType) -> int:
    """Bring `value` into the range of `type` (two's complement for signless)."""
    width = type.width
    if width == 0:
        return 0
    mask = (1 << width) - 1
    value &= mask
    if type.signedness == "u":
        return value
    if type.width == 1 and type.signedness == "":
        return value  # i1 is 0 or 1: true prints as true, not -1
    return value - (1 << width) if value >> (width - 1) else value


def BoolAttr(value: bool) -> IntegerAttr:
    return IntegerAttr(1 if value else 0, i1)


_NP_FLOAT = {"f16": np.float16, "f32": np.float32, "f64": np.float64}


def float_to_text(value: float, type: Type) -> str:
    """MLIR's float printing: short scientific when it round-trips, otherwise hex bits."""
    name = type.name if isinstance(type, FloatType) else "f64"
    if math.isfinite(value):
        np_type = _NP_FLOAT.get(name)
        for text in (f"{value:e}", repr(float(value))):
            if np_type is None or np_type(float(text)) == np_type(value):
                if np_type is not None or float(text) == value:
                    if "e" not in text and "." not in text and "n" not in text:
                        text += ".0"
                    return text
    return float_bits_hex(value, type)


def float_bits_hex(value: float, type: Type) -> str:
    name = type.name if isinstance(type, FloatType) else "f64"
    if name == "f16":
        bits = int(np.array(value, np.float16).view(np.uint16))
        return f"0x{bits:04X}"
    if name == "bf16":
        bits = int(np.array(value, np.float32).view(np.uint32)) >> 16
        return f"0x{bits:04X}"
    if name == "f32":
        return f"0x{struct.unpack('<I', struct.pack('<f', value))[0]:08X}"
    return f"0x{struct.unpack('<Q', struct.pack('<d', value))[0]:016X}"


def float_from_bits(bits: int, type: Type) -> float:
    name = type.name if isinstance(type, FloatType) else "f64"
    if name == "f16":
        return float(np.array(bits, np.uint16).view(np.float16))
    if name == "bf16":
        return float(np.array(bits << 16, np.uint32).view(np.float32))
    if name == "f32":
        return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]
    return struct.unpack("<d", struct.pack("<Q", bits & 0xFFFFFFFFFFFFFFFF))[0]


class FloatAttr(Attribute):
    """A float value of a float type. NaN payloads and -0.0 survive printing (hex form)."""

    _fields = ("value", "type")
    _instances: dict = {}
    _hashable = False

    @classmethod
    def _normalize(cls, value: float, type: Type = f64) -> tuple:
        value = float(value)
        np_type = _NP_FLOAT.get(getattr(type, "name", ""))
        if np_type is not None and np_type is not np.float64:
            with np.errstate(over="ignore"):
                value = float(np_type(value))
        return (value, type)

    @classmethod
    def _hash_key(cls, params: tuple) -> Any:
        # -0.0 == 0.0 and nan != nan in Python: key by bit pattern instead.
        return (struct.pack("<d", params[0]), params[1])

    def _print(self) -> str:
        return f"{float_to_text(self.value, self.type)} : {self.type}"


def escape_string(value: str) -> str:
    """MLIR's escaping: printable ASCII as is (but \\ and "), everything else as \\XX bytes."""
    out = []
    for byte in value.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:02X}")
    return '"' + "".join(out) + '"'


class StringAttr(Attribute):
    _fields = ("value", "type")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, value: str, type: Type | None = None) -> tuple:
        return (str(value), type)

    def _print(self) -> str:
        text = escape_string(self.value)
        return f"{text} : {self.type}" if self.type is not None else text


class UnitAttr(Attribute):
    _instances: dict = {}

    def _print(self) -> str:
        return "unit"


class ArrayAttr(Attribute):
    _fields = ("elements",)
    _instances: dict = {}

    @classmethod
    def _normalize(cls, elements: Iterable[Attribute] = ()) -> tuple:
        return (tuple(elements),)

    def __len__(self) -> int:
        return len(self.elements)

    def __iter__(self):
        return iter(self.elements)

    def __getitem__(self, i):
        return self.elements[i]

    def _print(self) -> str:
        return "[" + ", ".join(map(str, self.elements)) + "]"


def bare_or_quoted(name: str) -> str:
    """A dictionary key or symbol name: bare when it is an identifier, quoted otherwise."""
    if name and (name[0].isalpha() or name[0] == "_") and all(
            c.isalnum() or c in "_$." for c in name) and name.isascii():
        return name
    return escape_string(name)


def print_attr_entries(entries: Iterable[tuple[str, Attribute]]) -> str:
    return ", ".join(bare_or_quoted(k) if isinstance(v, UnitAttr)
                     else f"{bare_or_quoted(k)} = {v}" for k, v in entries)


class DictionaryAttr(Attribute):
    """Named attributes, kept sorted by name as MLIR does."""

    _fields = ("entries",)
    _instances: dict = {}

    @classmethod
    def _normalize(cls, entries: Mapping[str, Attribute] | Iterable[tuple[str, Attribute]] = ()) -> tuple:
        items = entries.items() if isinstance(entries, Mapping) else entries
        return (tuple(sorted(items, key=lambda kv: kv[0])),)

    def get(self, key: str, default=None):
        for k, v in self.entries:
            if k == key:
                return v
        return default

    def as_dict(self) -> dict[str, Attribute]:
        return dict(self.entries)

    def _print(self) -> str:
        return "{" + print_attr_entries(self.entries) + "}"


class TypeAttr(Attribute):
    _fields = ("type",)
    _instances: dict = {}

    def _print(self) -> str:
        return str(self.type)


class SymbolRefAttr(Attribute):
    """`@root::@nested::@leaf`."""

    _fields = ("root", "nested")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, root: str, nested: Sequence[str] = ()) -> tuple:
        return (str(root), tuple(nested))

    @property
    def leaf(self) -> str:
        return self.nested[-1] if self.nested else self.root

    def _print(self) -> str:
        return "::".join("@" + bare_or_quoted(n) for n in (self.root, *self.nested))


class AffineMapAttr(Attribute):
    _fields = ("map",)
    _instances: dict = {}

    def _print(self) -> str:
        return f"affine_map<{self.map}>"


class IntegerSetAttr(Attribute):
    _fields = ("set",)
    _instances: dict = {}

    def _print(self) -> str:
        return f"affine_set<{self.set}>"


class OpaqueAttr(Attribute):
    """A dialect attribute no registered class claims: `#dialect.name<body>` kept as text."""

    _fields = ("dialect_name", "attr_name", "body")
    _instances: dict = {}

    @property
    def dialect(self) -> str:
        return self.dialect_name

    def _print(self) -> str:
        name = f"{self.dialect_name}.{self.attr_name}" if self.attr_name else self.dialect_name
        return f"#{name}" + (f"<{self.body}>" if self.body is not None else "")


class ParametrizedAttr(Attribute):
    """Base for a dialect's own attributes, printed `#dialect.name<p0, p1>`; see ParametrizedType."""

    name: str = ""
    _instances: dict = {}

    @property
    def dialect(self) -> str:
        return self.name.split(".", 1)[0]

    def _print(self) -> str:
        if not self._fields:
            return f"#{self.name}"
        return f"#{self.name}<{', '.join(map(str, self._params))}>"

    @classmethod
    def from_parameters(cls, params: list) -> "ParametrizedAttr":
        if len(params) != len(cls._fields):
            raise ValueError(f"#{cls.name} expects {len(cls._fields)} parameters, got {len(params)}")
        return cls(*params)


_distinct_ids = itertools.count()


class DistinctAttr(Attribute):
    """`distinct[N]<#attr>`: unique by identity; N is only a printing name."""

    _fields = ("uid", "referenced")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, referenced: Attribute, uid: int | None = None) -> tuple:
        return (next(_distinct_ids) if uid is None else uid, referenced)

    def _print(self) -> str:
        return f"distinct[{self.uid}]<{self.referenced}>"


from .dense import DenseArrayAttr, DenseElementsAttr, DenseResourceAttr  # noqa: E402,F401
