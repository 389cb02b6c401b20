"""ir: dense data attributes backed by numpy arrays: dense<...>, array<...>, dense_resource<...>."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from .attributes import Attribute, float_bits_hex, float_from_bits
from .types import ComplexType, FloatType, IndexType, IntegerType, ShapedType, Type

# Above this many elements, dense<> prints as a hex blob (MLIR's elide/hex threshold style).
HEX_THRESHOLD = 100


def numpy_dtype(element: Type) -> np.dtype:
    """The numpy storage type of an element type; bf16 is stored as float32."""
    if isinstance(element, IntegerType):
        if element.width == 1:
            return np.dtype(np.bool_)
        for width in (8, 16, 32, 64):
            if element.width <= width:
                kind = "u" if element.signedness == "u" else "i"
                return np.dtype(f"{kind}{width // 8}")
        return np.dtype(object)
    if isinstance(element, IndexType):
        return np.dtype(np.int64)
    if isinstance(element, FloatType):
        if element.name in _ML_DTYPES:
            return _ml_dtype(element.name)
        return np.dtype({"f16": np.float16, "bf16": np.float32, "f32": np.float32,
                         "f64": np.float64}.get(element.name, np.float64))
    if isinstance(element, ComplexType):
        inner = numpy_dtype(element.element_type)
        return np.dtype(np.complex128 if inner == np.float64 else np.complex64)
    raise ValueError(f"no numpy storage for element type {element}")


# 8-, 6- and 4-bit floats are stored in ml_dtypes' numpy types (one byte per element), which
# give them exact conversions and arithmetic; onnx uses the same types for its test data.
_ML_DTYPES = {"f8E5M2": "float8_e5m2", "f8E4M3": "float8_e4m3", "f8E4M3FN": "float8_e4m3fn",
              "f8E5M2FNUZ": "float8_e5m2fnuz", "f8E4M3FNUZ": "float8_e4m3fnuz",
              "f8E4M3B11FNUZ": "float8_e4m3b11fnuz", "f8E3M4": "float8_e3m4",
              "f8E8M0FNU": "float8_e8m0fnu", "f4E2M1FN": "float4_e2m1fn",
              "f6E2M3FN": "float6_e2m3fn", "f6E3M2FN": "float6_e3m2fn"}


def _ml_dtype(name: str) -> np.dtype:
    try:
        import ml_dtypes
    except ImportError:
        raise ValueError(f"element type {name} needs the ml_dtypes package") from None
    return np.dtype(getattr(ml_dtypes, _ML_DTYPES[name]))


def round_to_bf16(array) -> np.ndarray:
    """float32 values rounded to the nearest bf16 (ties to even), still stored as float32:
    what every bf16 result must hold so that a chain of ops rounds once per op, as LLVM and
    onnx's reference do. NaNs stay NaN."""
    x = np.asarray(array, np.float32)
    bits = x.view(np.uint32)
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))
               & np.uint32(0xFFFF0000)).view(np.float32)
    return np.where(np.isnan(x), x, rounded)


def _storage_bytes(array: np.ndarray, element: Type) -> bytes:
    """Raw little-endian bytes as MLIR lays them out for hex blobs."""
    if isinstance(element, FloatType) and element.name == "bf16":
        return (array.astype(np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    if array.dtype == np.bool_:
        return array.astype(np.uint8).tobytes()
    return array.astype(array.dtype.newbyteorder("<")).tobytes()


def _from_storage_bytes(data: bytes, element: Type, count: int) -> np.ndarray:
    dtype = numpy_dtype(element)
    if isinstance(element, FloatType) and element.name == "bf16":
        bits = np.frombuffer(data, "<u2").astype(np.uint32) << 16
        return bits.view(np.float32)
    if dtype == np.bool_:
        return np.frombuffer(data, np.uint8).astype(np.bool_)
    return np.frombuffer(data, dtype.newbyteorder("<")).astype(dtype)


def _element_text(value: Any, element: Type) -> str:
    if isinstance(element, IntegerType) and element.width == 1:
        return "true" if value else "false"
    if isinstance(element, FloatType):
        from .attributes import float_to_text
        if element.name in ("f16", "f32") and np.isnan(value):
            # the raw bits: a Python float (a double) would quiet a signalling NaN
            unsigned = np.uint16 if element.name == "f16" else np.uint32
            digits = 4 if element.name == "f16" else 8
            return f"0x{int(np.asarray(value, numpy_dtype(element)).view(unsigned)):0{digits}X}"
        return float_to_text(float(value), element)
    if isinstance(element, ComplexType):
        return f"({_element_text(value.real, element.element_type)}, {_element_text(value.imag, element.element_type)})"
    return str(int(value))


def _format_floats(flat: np.ndarray, element: FloatType) -> list[str]:
    """Vectorised float_to_text: '%e' where it round-trips, the slow path elsewhere."""
    with np.errstate(all="ignore"):
        texts = np.char.mod("%e", flat.astype(np.float64))
        back = texts.astype(np.float64).astype(flat.dtype)
        ok = (back == flat) & np.isfinite(flat)
    out = texts.tolist()
    if not ok.all():
        for i in np.flatnonzero(~ok):
            out[i] = _element_text(flat[i], element)
    return out


def _nested(texts: list[str], shape: tuple[int, ...]) -> str:
    if not shape:
        return texts[0]
    if len(shape) == 1:
        return "[" + ", ".join(texts) + "]"
    step = len(texts) // shape[0] if shape[0] else 0
    return "[" + ", ".join(_nested(texts[i * step:(i + 1) * step], shape[1:])
                           for i in range(shape[0])) + "]"


class DenseElementsAttr(Attribute):
    """A tensor or vector constant: a numpy array of the type's shape and element type."""

    _fields = ("type", "array")
    _instances: dict = {}
    _hashable = False

    @classmethod
    def _normalize(cls, type: ShapedType, array: Any) -> tuple:
        dtype = numpy_dtype(type.element_type)
        array = np.asarray(array)
        if array.dtype != dtype:
            array = array.astype(dtype)
        if array.shape != tuple(type.shape):
            if array.size == 1:
                array = np.broadcast_to(array.reshape(()), type.shape)
            else:
                raise ValueError(f"{array.size} elements do not fit {type}")
        # ascontiguousarray makes rank-0 arrays rank 1: keep the type's shape
        array = np.ascontiguousarray(array).reshape(tuple(type.shape))
        array.flags.writeable = False
        return (type, array)

    @classmethod
    def _hash_key(cls, params: tuple) -> Any:
        type, array = params
        return (type, array.tobytes())

    @property
    def is_splat(self) -> bool:
        flat = self.array.reshape(-1)
        if flat.size == 0 or (flat.dtype.kind in "fc" and np.isnan(flat[0])):
            return False
        if flat.dtype.kind in "fc":  # by bits: -0.0 == 0.0, yet [0.0, -0.0] is no splat
            bits = flat.view(f"u{flat.dtype.itemsize}") if flat.dtype.kind == "f" else \
                flat.view(np.uint8).reshape(flat.size, -1)
            return bool((bits == bits[0]).all())
        return bool((flat == flat[0]).all())

    def _print(self) -> str:
        return f"dense<{self.body()}> : {self.type}"

    def body(self, hex_threshold: int = HEX_THRESHOLD) -> str:
        element = self.type.element_type
        flat = self.array.reshape(-1)
        if not flat.size:
            return ""  # `dense<>` as MLIR prints it: `[]` would have the wrong rank for 0x0
        if self.is_splat:
            return _element_text(flat[0], element)
        if flat.size > hex_threshold >= 0 and not isinstance(element, ComplexType):
            return '"0x' + _storage_bytes(flat, element).hex().upper() + '"'
        if isinstance(element, FloatType) and flat.dtype != object:
            texts = _format_floats(flat, element)
        else:
            texts = [_element_text(v, element) for v in flat.tolist()]
        return _nested(texts, tuple(self.type.shape))

    @classmethod
    def from_hex(cls, type: ShapedType, hex_text: str) -> "DenseElementsAttr":
        data = bytes.fromhex(hex_text)
        element = type.element_type
        count = type.num_elements
        array = _from_storage_bytes(data, element, count)
        if array.size == 1 and count != 1:
            array = np.broadcast_to(array, (count,))
        if array.size != count:
            raise ValueError(f"hex data holds {array.size} elements, {type} needs {count}")
        return cls(type, array.reshape(type.shape))

    @classmethod
    def from_literal(cls, type: ShapedType, text: str) -> "DenseElementsAttr":
        """Parse a nested-list or scalar literal as written inside dense<...>."""
        element = type.element_type
        array = parse_element_literal(text, element)
        if array.ndim == 0:
            return cls(type, array)
        if array.shape != tuple(type.shape):
            raise ValueError(f"literal has shape {list(array.shape)} but {type} expects "
                             f"{list(type.shape)}")
        return cls(type, array)


_JSON_SAFE = re.compile(r"^[\s\[\],0-9eE.+\-]*$")
_TOKEN = re.compile(r"\s*(\[|\]|,|\((?:[^()]*)\)|[^\s\[\],()]+)")


def parse_scalar(token: str, element: Type) -> Any:
    if isinstance(element, ComplexType):
        real, imag = token.strip("()").split(",")
        return complex(parse_scalar(real.strip(), element.element_type),
                       parse_scalar(imag.strip(), element.element_type))
    if token in ("true", "false"):
        return token == "true"
    if token.startswith(("0x", "0X")) and isinstance(element, FloatType):
        if element.name in ("f16", "f32"):  # a numpy scalar keeps a signalling NaN's bits
            unsigned = np.uint16 if element.name == "f16" else np.uint32
            return np.asarray(int(token, 16), unsigned).view(numpy_dtype(element))[()]
        return float_from_bits(int(token, 16), element)
    if isinstance(element, FloatType):
        return float(token)
    if "." in token or "e" in token.lower() and not token.startswith(("0x", "0X")):
        raise ValueError(f"expected an integer element, found '{token}'")
    return int(token, 0)


def parse_element_literal(text: str, element: Type) -> np.ndarray:
    """Nested lists of numbers as an array. JSON (C speed) when the text allows, else tokens."""
    dtype = numpy_dtype(element)
    text = text.strip()
    if _JSON_SAFE.match(text) and not re.search(r"\d\.(?![0-9])|(?<![0-9])\.", text):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if data is not None:
            if isinstance(element, IntegerType) and element.width != 1 and "." in text:
                raise ValueError("expected integer elements, found a float")
            try:
                return np.array(data, dtype=dtype)
            except (ValueError, OverflowError) as exc:
                raise ValueError(f"dense literal is not rectangular or out of range: {exc}") from None
    try:
        nested = _parse_nested(text, element)
    except IndexError:
        raise ValueError("unexpected end of dense literal") from None
    return np.array(nested, dtype=dtype)


def _parse_nested(text: str, element: Type) -> Any:
    tokens = [t for t in _TOKEN.findall(text)]
    pos = 0

    def value():
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError("unexpected end of dense literal")
        tok = tokens[pos]
        pos += 1
        if tok == "[":
            items = []
            if tokens[pos] == "]":
                pos += 1
                return items
            while True:
                items.append(value())
                tok = tokens[pos]
                pos += 1
                if tok == "]":
                    return items
                if tok != ",":
                    raise ValueError(f"expected ',' or ']' in dense literal, found '{tok}'")
        if tok in ("]", ","):
            raise ValueError(f"unexpected '{tok}' in dense literal")
        return parse_scalar(tok, element)

    result = value()
    if pos != len(tokens):
        raise ValueError(f"unexpected '{tokens[pos]}' after dense literal")
    return result


class DenseArrayAttr(Attribute):
    """`array<i32: 1, 2, 3>`: a 1-D array of integers or floats."""

    _fields = ("element_type", "array")
    _instances: dict = {}
    _hashable = False

    @classmethod
    def _normalize(cls, element_type: Type, values: Any = ()) -> tuple:
        array = np.array(values, dtype=numpy_dtype(element_type)).reshape(-1)
        array.flags.writeable = False
        return (element_type, array)

    @classmethod
    def _hash_key(cls, params: tuple) -> Any:
        return (params[0], params[1].tobytes())

    def __len__(self) -> int:
        return len(self.array)

    def __iter__(self):
        return iter(self.array.tolist())

    def _print(self) -> str:
        if not len(self.array):
            return f"array<{self.element_type}>"
        if isinstance(self.element_type, FloatType):
            texts = _format_floats(self.array, self.element_type)
        else:
            texts = [_element_text(v, self.element_type) for v in self.array.tolist()]
        return f"array<{self.element_type}: {', '.join(texts)}>"


class ResourceBlob:
    """A named blob from the `{-# dialect_resources #-}` section; filled in when parsed."""

    __slots__ = ("name", "data", "alignment")

    def __init__(self, name: str, data: bytes | None = None, alignment: int = 4):
        self.name, self.data, self.alignment = name, data, alignment

    def hex(self) -> str:
        assert self.data is not None
        return "0x" + self.alignment.to_bytes(4, "little").hex().upper() + self.data.hex().upper()


class DenseResourceAttr(Attribute):
    """`dense_resource<name> : tensor<...>`: elements stored out of line in the resource section."""

    _fields = ("type", "blob")
    _instances: dict = {}
    _hashable = False

    @classmethod
    def _hash_key(cls, params: tuple) -> Any:
        return (params[0], id(params[1]))

    def _print(self) -> str:
        from .attributes import bare_or_quoted
        return f"dense_resource<{bare_or_quoted(self.blob.name)}> : {self.type}"

    @property
    def array(self) -> np.ndarray:
        if self.blob.data is None:
            raise ValueError(f"resource '{self.blob.name}' has no data")
        return _from_storage_bytes(self.blob.data, self.type.element_type,
                                   self.type.num_elements).reshape(self.type.shape)

    @classmethod
    def from_array(cls, name: str, type: ShapedType, array: np.ndarray) -> "DenseResourceAttr":
        data = _storage_bytes(np.asarray(array, numpy_dtype(type.element_type)).reshape(-1),
                              type.element_type)
        return cls(type, ResourceBlob(name, data))
