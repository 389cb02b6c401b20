"""llvm: the dialect's types (`!llvm.ptr`, `!llvm.array<4 x f32>`, `!llvm.struct<(i32, f32)>`,
`!llvm.void`, `!llvm.func<f32 (i32, ...)>`) and attributes (`#llvm.linkage<internal>`,
`#llvm.fastmath<fast>`, `#llvm.overflow<nsw>`), spelled as MLIR's LLVM dialect spells them.
Scalars and vectors are the builtin `i1..i64`, `f16/f32/f64` and `vector<4xf32>`."""

from __future__ import annotations

import re

from ...ir import (FloatType, IntegerType, ParametrizedAttr, ParametrizedType, Type, VectorType)
from ..arith.attrs import FlagsDirectives, _BitEnumAttr


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside brackets (the body of a struct or function type)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


class LLVMPointerType(ParametrizedType):
    """An opaque pointer, optionally in an address space: `!llvm.ptr`, `!llvm.ptr<1>`."""

    name = "llvm.ptr"
    _fields = ("address_space",)
    _instances: dict = {}

    @classmethod
    def _normalize(cls, address_space: int = 0) -> tuple:
        return (int(address_space),)

    def _print(self) -> str:
        return "!llvm.ptr" if self.address_space == 0 else f"!llvm.ptr<{self.address_space}>"

    @classmethod
    def parse_body(cls, body, parse_params) -> "LLVMPointerType":
        if body is None or not body.strip():
            return cls(0)
        if not body.strip().isdigit():
            raise ValueError(f"!llvm.ptr takes an address space (an integer), got '{body}'")
        return cls(int(body))


class LLVMVoidType(ParametrizedType):
    """The result type of a function that returns nothing."""

    name = "llvm.void"
    _fields = ()
    _instances: dict = {}

    def _print(self) -> str:
        return "!llvm.void"

    @classmethod
    def parse_body(cls, body, parse_params) -> "LLVMVoidType":
        if body is not None:
            raise ValueError("!llvm.void takes no parameters")
        return cls()


class LLVMArrayType(ParametrizedType):
    """A fixed-size array: `!llvm.array<4 x f32>`."""

    name = "llvm.array"
    _fields = ("size", "element_type")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, size: int, element_type: Type) -> tuple:
        if int(size) < 0:
            raise ValueError(f"!llvm.array size must be non-negative, got {size}")
        return (int(size), element_type)

    def _print(self) -> str:
        return f"!llvm.array<{self.size} x {_short(self.element_type)}>"

    @classmethod
    def parse_body(cls, body, parse_params) -> "LLVMArrayType":
        m = re.fullmatch(r"\s*(\d+)\s*x\s*(.+?)\s*", body or "", re.S)
        if m is None:
            raise ValueError(f"expected '!llvm.array<N x type>', got '!llvm.array<{body}>'")
        (element,) = parse_params(_long(m.group(2)))
        return cls(int(m.group(1)), element)


class LLVMStructType(ParametrizedType):
    """A literal struct of fields laid out in order: `!llvm.struct<(i32, f32)>`,
    `!llvm.struct<packed (i8, i32)>`."""

    name = "llvm.struct"
    _fields = ("body", "packed")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, body, packed: bool = False) -> tuple:
        return (tuple(body), bool(packed))

    def _print(self) -> str:
        packed = "packed " if self.packed else ""
        return f"!llvm.struct<{packed}({', '.join(_short(t) for t in self.body)})>"

    @classmethod
    def parse_body(cls, body, parse_params) -> "LLVMStructType":
        m = re.fullmatch(r"\s*(packed\s*)?\((.*)\)\s*", body or "", re.S)
        if m is None:
            raise ValueError(f"expected '!llvm.struct<(types)>', got '!llvm.struct<{body}>'")
        return cls(parse_params(", ".join(_long(p) for p in _split_top(m.group(2)))), bool(m.group(1)))


class LLVMFunctionType(ParametrizedType):
    """A function signature: `!llvm.func<f32 (i32, ptr)>`, `!llvm.func<void (ptr, ...)>`.
    `inputs` / `results` read it like a builtin FunctionType (void has no results)."""

    name = "llvm.func"
    _fields = ("return_type", "params", "vararg")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, return_type: Type, params=(), vararg: bool = False) -> tuple:
        return (return_type, tuple(params), bool(vararg))

    @property
    def inputs(self) -> tuple:
        return self.params

    @property
    def results(self) -> tuple:
        return () if isinstance(self.return_type, LLVMVoidType) else (self.return_type,)

    def _print(self) -> str:
        params = [_short(t) for t in self.params] + (["..."] if self.vararg else [])
        return f"!llvm.func<{_short(self.return_type)} ({', '.join(params)})>"

    @classmethod
    def parse_body(cls, body, parse_params) -> "LLVMFunctionType":
        m = re.fullmatch(r"\s*(.+?)\s*\((.*)\)\s*", body or "", re.S)
        if m is None:
            raise ValueError(f"expected '!llvm.func<result (params)>', got '!llvm.func<{body}>'")
        parts = _split_top(m.group(2))
        vararg = bool(parts) and parts[-1] == "..."
        if vararg:
            parts = parts[:-1]
        (ret,) = parse_params(_long(m.group(1)))
        params = parse_params(", ".join(_long(p) for p in parts))
        return cls(ret, params, vararg)


# Inside the dialect's own types MLIR writes them without their prefix: `!llvm.struct<(ptr)>`.
def _short(t: Type) -> str:
    text = str(t)
    return text[len("!llvm."):] if text.startswith("!llvm.") else text


def _long(text: str) -> str:
    text = text.strip()
    if text in ("ptr", "void"):
        return f"!llvm.{text}"
    if re.fullmatch(r"(array|struct|ptr|func)<.*>", text, re.S):
        return f"!llvm.{text}"
    return text


# ---- attributes ----------------------------------------------------------------------------

LINKAGES = ("private", "internal", "available_externally", "linkonce", "weak", "common",
            "appending", "extern_weak", "linkonce_odr", "weak_odr", "external")


class LinkageAttr(ParametrizedAttr):
    """How a symbol is linked: `#llvm.linkage<internal>` (LLVM's linkage types)."""

    name = "llvm.linkage"
    _fields = ("linkage",)
    _instances: dict = {}

    @classmethod
    def _normalize(cls, linkage: str = "external") -> tuple:
        linkage = str(linkage)
        if linkage not in LINKAGES:
            raise ValueError(f"unknown linkage '{linkage}'; expected one of {', '.join(LINKAGES)}")
        return (linkage,)

    def _print(self) -> str:
        return f"#llvm.linkage<{self.linkage}>"

    @classmethod
    def parse_body(cls, body) -> "LinkageAttr":
        return cls((body or "").strip())


EXTERNAL = LinkageAttr("external")


class FastMathFlagsAttr(_BitEnumAttr):
    """LLVM's fast-math flags (`#llvm.fastmath<nnan, contract>`); they license rewrites and
    the code generator, while the reference semantics ignore all but nnan/ninf."""

    name = "llvm.fastmath"
    _instances: dict = {}
    BITS = {"nnan": 1, "ninf": 2, "nsz": 4, "arcp": 8, "contract": 16, "afn": 32, "reassoc": 64}
    GROUPS = {"fast": 127}
    SEPARATOR = ", "
    MODELED = ("nnan", "ninf")

    def llvm_ir(self) -> str:
        """The flags as LLVM IR writes them before the operands (`fast`, `nnan ninf`)."""
        if self.flags == 0:
            return ""
        return " ".join(w for w in self.keywords().replace(",", " ").split())


class IntegerOverflowFlagsAttr(_BitEnumAttr):
    """No-signed/unsigned-wrap promises (`#llvm.overflow<nsw, nuw>`); a broken one is poison."""

    name = "llvm.overflow"
    _instances: dict = {}
    BITS = {"nsw": 1, "nuw": 2}
    GROUPS: dict = {}
    SEPARATOR = ", "
    MODELED = ("nsw", "nuw")


FASTMATH_NONE = FastMathFlagsAttr(0)
OVERFLOW_NONE = IntegerOverflowFlagsAttr(0)
OVERFLOW = FlagsDirectives("Overflow", "overflow", IntegerOverflowFlagsAttr)


# ---- type predicates -----------------------------------------------------------------------

def is_int(t: Type) -> bool:
    return isinstance(t, IntegerType) and t.is_signless


def is_float(t: Type) -> bool:
    return isinstance(t, FloatType) and t.name in ("f16", "bf16", "f32", "f64")


def scalar_of(t: Type) -> Type:
    return t.element_type if isinstance(t, VectorType) else t


def is_int_like(t: Type) -> bool:
    """A signless integer or a vector of them."""
    return is_int(scalar_of(t)) and (not isinstance(t, VectorType) or t.rank == 1)


def is_float_like(t: Type) -> bool:
    return is_float(scalar_of(t)) and (not isinstance(t, VectorType) or t.rank == 1)


def is_ptr(t: Type) -> bool:
    return isinstance(t, LLVMPointerType)


def is_llvm_type(t: Type) -> bool:
    """Types the dialect (and LLVM IR) can hold in a value."""
    if isinstance(t, (IntegerType, LLVMPointerType)):
        return not isinstance(t, IntegerType) or t.is_signless
    if isinstance(t, FloatType):
        return is_float(t)
    if isinstance(t, VectorType):
        return t.rank == 1 and (is_int(t.element_type) or is_float(t.element_type)
                                or is_ptr(t.element_type))
    if isinstance(t, LLVMArrayType):
        return is_llvm_type(t.element_type)
    if isinstance(t, LLVMStructType):
        return all(is_llvm_type(f) for f in t.body)
    return False
