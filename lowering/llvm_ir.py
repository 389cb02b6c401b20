"""llvm -> LLVM IR text: the llvm dialect's printer to LLVM IR (MLIR's
`mlir-translate --mlir-to-llvmir`). One op is one instruction; block arguments become phi
nodes; constants are written inline at their uses; weights in dense globals become byte
strings (`c"\\00\\00\\80\\3F..."`) so large models stay quick to parse."""

from __future__ import annotations

import re
import struct

import numpy as np

from ..dialects.llvm import (DYNAMIC_INDEX, LLVMArrayType, LLVMFunctionType, LLVMPointerType,
                             LLVMStructType, LLVMVoidType)
from ..dialects.llvm.structure import gep_flag_words
from ..dialects.numeric import dtype_of
from ..ir import (DenseElementsAttr, DiagnosticError, FloatAttr, FloatType, IntegerAttr,
                  IntegerType, StringAttr, Type, VectorType)
from ..ir.diagnostics import error

_FLOAT_NAMES = {"f16": "half", "bf16": "bfloat", "f32": "float", "f64": "double"}
_IDENT = re.compile(r"[-a-zA-Z$._][-a-zA-Z$._0-9]*\Z")


class TranslationError(DiagnosticError):
    """An op or type that has no LLVM IR translation."""


def _fail(op, message: str):
    return error(op.location if op is not None else None, message)


def symbol(name: str) -> str:
    return "@" + name if _IDENT.match(name) else '@"' + name.replace('"', '\\22') + '"'


def type_ir(t: Type) -> str:
    """LLVM IR spelling of a type of the llvm dialect."""
    if isinstance(t, IntegerType):
        return f"i{t.width}"
    if isinstance(t, FloatType) and t.name in _FLOAT_NAMES:
        return _FLOAT_NAMES[t.name]
    if isinstance(t, LLVMPointerType):
        return "ptr" if t.address_space == 0 else f"ptr addrspace({t.address_space})"
    if isinstance(t, VectorType):
        return f"<{t.shape[0]} x {type_ir(t.element_type)}>"
    if isinstance(t, LLVMArrayType):
        return f"[{t.size} x {type_ir(t.element_type)}]"
    if isinstance(t, LLVMStructType):
        body = ", ".join(type_ir(f) for f in t.body)
        return f"<{{ {body} }}>" if t.packed else f"{{ {body} }}"
    if isinstance(t, LLVMVoidType):
        return "void"
    if isinstance(t, LLVMFunctionType):
        params = [type_ir(p) for p in t.params] + (["..."] if t.vararg else [])
        return f"{type_ir(t.return_type)} ({', '.join(params)})"
    raise ValueError(f"type {t} has no LLVM IR spelling")


def scalar_ir(value, t: Type) -> str:
    """An integer or float constant as LLVM IR writes it (floats exactly, in hex)."""
    if isinstance(t, IntegerType):
        v = int(value)
        if t.width == 1:
            return "true" if v & 1 else "false"
        return str(v)
    name = t.name
    if name == "f16":
        return "0xH%04X" % np.float16(value).view(np.uint16)
    if name == "bf16":
        bits = int(np.float32(value).view(np.uint32))
        return "0xR%04X" % (((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF)
    if name == "f32":
        value = float(np.float32(value))
    return "0x%016X" % struct.unpack("<Q", struct.pack("<d", float(value)))[0]


def constant_ir(attr, t: Type) -> str:
    """A constant of type `t` from an attribute (scalar, splat or dense vector/array)."""
    if isinstance(attr, (IntegerAttr, FloatAttr)) and not isinstance(t, (VectorType, LLVMArrayType)):
        return scalar_ir(attr.value, t)
    if isinstance(attr, (IntegerAttr, FloatAttr)):
        values = np.full(_count(t), attr.value)
    elif isinstance(attr, DenseElementsAttr):
        values = np.asarray(attr.array).reshape(-1)
    else:
        raise ValueError(f"attribute {attr} has no LLVM IR constant of type {t}")
    if isinstance(t, VectorType):
        e = t.element_type
        if values.size == 1:
            values = np.full(t.shape[0], values[0])
        return "<" + ", ".join(f"{type_ir(e)} {scalar_ir(v, e)}" for v in values) + ">"
    if isinstance(t, LLVMArrayType):
        return _array_ir(values, t)
    raise ValueError(f"cannot write {attr} as a constant of type {t}")


def _count(t: Type) -> int:
    if isinstance(t, VectorType):
        return t.shape[0]
    if isinstance(t, LLVMArrayType):
        return t.size * _count(t.element_type)
    return 1


def _array_ir(values: np.ndarray, t: Type) -> str:
    if not isinstance(t, (LLVMArrayType, VectorType)):
        return scalar_ir(values[0], t)
    e = t.element_type
    n = _count(e)
    if values.size == 1 and _count(t) > 1:
        values = np.full(_count(t), values[0])
    items = [f"{type_ir(e)} {_array_ir(values[i * n:(i + 1) * n], e)}" for i in range(_count(t) // n)]
    open_, close = ("<", ">") if isinstance(t, VectorType) else ("[", "]")
    return open_ + ", ".join(items) + close


# "\XX" for every byte value: a weight's bytes become IR text by one table lookup each,
# done by numpy (megabytes of weights; a Python loop per byte took most of compile time).
_ESCAPES = np.array([f"\\{b:02X}".encode() for b in range(256)], dtype="S3")


def _bytes_ir(data: bytes) -> str:
    escaped = _ESCAPES[np.frombuffer(bytes(data), dtype=np.uint8)].tobytes()
    return 'c"' + escaped.decode("ascii") + '"'


def _storage(t: Type):
    """The numpy dtype an array of `t` is stored with, if it has one (for byte initialisers)."""
    while isinstance(t, (LLVMArrayType, VectorType)):
        t = t.element_type
    if isinstance(t, IntegerType) and t.width in (8, 16, 32, 64):
        return np.dtype(f"<i{t.width // 8}")
    if isinstance(t, FloatType) and t.name in ("f16", "f32", "f64"):
        return np.dtype(dtype_of(t)).newbyteorder("<")
    return None


_LINKAGE_IR = {"external": "", "private": "private ", "internal": "internal ",
               "available_externally": "available_externally ", "linkonce": "linkonce ",
               "weak": "weak ", "common": "common ", "appending": "appending ",
               "extern_weak": "extern_weak ", "linkonce_odr": "linkonce_odr ", "weak_odr": "weak_odr "}


def global_ir(op) -> str:
    t = op.type
    linkage = op.linkage.linkage
    kind = "constant" if op.constant is not None else "global"
    align = f", align {op.alignment.value}" if op.alignment is not None else ""
    value = op.value
    name = symbol(op.sym_name.value)
    if value is None:
        return f"{name} = {linkage if linkage != 'external' else 'external'} {kind} {type_ir(t)}{align}"
    if isinstance(value, StringAttr):
        data = value.value.encode("utf-8") if isinstance(value.value, str) else bytes(value.value)
        init_type, init = f"[{len(data)} x i8]", _bytes_ir(data)
    elif isinstance(value, DenseElementsAttr) and isinstance(t, LLVMArrayType):
        array = np.asarray(value.array)
        dtype = _storage(t)
        if not np.any(array):
            init_type, init = type_ir(t), "zeroinitializer"
        elif dtype is not None and array.size > 64:
            data = np.ascontiguousarray(array.astype(dtype)).tobytes()
            init_type, init = f"[{len(data)} x i8]", _bytes_ir(data)
        else:
            init_type, init = type_ir(t), constant_ir(value, t)
    else:
        init_type, init = type_ir(t), constant_ir(value, t)
    return f"{name} = {_LINKAGE_IR[linkage]}{kind} {init_type} {init}{align}"


# ---- functions -----------------------------------------------------------------------------

_INT_BINARY = {"llvm.add": "add", "llvm.sub": "sub", "llvm.mul": "mul", "llvm.sdiv": "sdiv",
               "llvm.udiv": "udiv", "llvm.srem": "srem", "llvm.urem": "urem", "llvm.and": "and",
               "llvm.or": "or", "llvm.xor": "xor", "llvm.shl": "shl", "llvm.lshr": "lshr",
               "llvm.ashr": "ashr"}
_FLOAT_BINARY = {"llvm.fadd": "fadd", "llvm.fsub": "fsub", "llvm.fmul": "fmul", "llvm.fdiv": "fdiv",
                 "llvm.frem": "frem"}
_CASTS = {"llvm.sext", "llvm.zext", "llvm.trunc", "llvm.sitofp", "llvm.uitofp", "llvm.fptosi",
          "llvm.fptoui", "llvm.fpext", "llvm.fptrunc", "llvm.bitcast", "llvm.ptrtoint",
          "llvm.inttoptr"}
_ICMP = ("eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge")
_FCMP = ("false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord", "ueq", "ugt", "uge", "ult",
         "ule", "une", "uno", "true")


def _mangle(t: Type) -> str:
    if isinstance(t, VectorType):
        return f"v{t.shape[0]}{_mangle(t.element_type)}"
    if isinstance(t, FloatType):
        return t.name
    if isinstance(t, IntegerType):
        return f"i{t.width}"
    if isinstance(t, LLVMPointerType):
        return f"p{t.address_space}"
    raise ValueError(f"cannot mangle {t}")


def _fmf(op) -> str:
    flags = op.properties.get("fastmathFlags")
    text = flags.llvm_ir() if flags is not None else ""
    return text + " " if text else ""


class FunctionWriter:
    """Writes one llvm.func: names values and blocks, then each block's phis and ops."""

    def __init__(self, func, declarations: dict):
        self.func = func
        self.names: dict = {}
        self.labels: dict = {}
        self.declarations = declarations
        self.lines: list[str] = []
        self.counter = 0

    def fresh(self) -> str:
        self.counter += 1
        return f"%v{self.counter - 1}"

    def value(self, v) -> str:
        text = self.names.get(v)
        if text is None:
            op = v.defining_op
            text = self.inline_constant(op) if op is not None else None
            if text is None:
                raise _fail(op, "uses a value that is not defined before it (no LLVM IR translation)")
            self.names[v] = text
        return text

    def typed(self, v) -> str:
        return f"{type_ir(v.type)} {self.value(v)}"

    def inline_constant(self, op) -> str | None:
        if op.name == "llvm.mlir.constant":
            return constant_ir(op.value, op.res.type)
        if op.name == "llvm.mlir.zero":
            t = op.res.type
            if isinstance(t, LLVMPointerType):
                return "null"
            if isinstance(t, IntegerType):
                return "0"
            if isinstance(t, FloatType):
                return scalar_ir(0.0, t)
            return "zeroinitializer"
        if op.name == "llvm.mlir.undef":
            return "undef"
        if op.name == "llvm.mlir.poison":
            return "poison"
        if op.name == "llvm.mlir.addressof":
            return symbol(op.global_name.root)
        return None

    def write(self) -> list[str]:
        func = self.func
        ftype = func.type
        blocks = list(func.regions[0].blocks)
        params = []
        for i, arg in enumerate(blocks[0].args):
            self.names[arg] = f"%arg{i}"
            params.append(f"{type_ir(arg.type)} %arg{i}")
        if ftype.vararg:
            params.append("...")
        for i, block in enumerate(blocks):
            self.labels[block] = f"bb{i}"
        incoming = self.predecessors(blocks)
        for block in blocks[1:]:
            for arg in block.args:
                self.names[arg] = self.fresh()
        for block in blocks:
            for op in block.ops:
                if op.results and self.inline_constant(op) is None:
                    for r in op.results:
                        if not isinstance(r.type, LLVMVoidType):
                            self.names[r] = self.fresh()
        linkage = _LINKAGE_IR[func.linkage.linkage]
        out = [f"define {linkage}{type_ir(ftype.return_type)} {symbol(func.sym_name.value)}"
               f"({', '.join(params)}) {{"]
        for block in blocks:
            out.append(f"{self.labels[block]}:")
            for i, arg in enumerate(block.args if block is not blocks[0] else ()):
                edges = incoming.get(block, [])
                if not edges:
                    raise _fail(func, f"block ^{self.labels[block]} has arguments but no predecessors")
                pairs = ", ".join(f"[ {self.value(values[i])}, %{self.labels[pred]} ]"
                                  for pred, values in edges)
                out.append(f"  {self.names[arg]} = phi {type_ir(arg.type)} {pairs}")
            for op in block.ops:
                text = self.op_ir(op)
                if text:
                    out.append("  " + text)
        out.append("}")
        return out

    def predecessors(self, blocks) -> dict:
        incoming: dict = {}
        if any(op.successors and blocks[0] in op.successors for b in blocks for op in b.ops):
            raise _fail(self.func, "the entry block of an llvm.func cannot be a branch target")
        for block in blocks:
            term = block.terminator
            if term is None:
                continue
            if term.name == "llvm.br":
                incoming.setdefault(term.dest, []).append((block, list(term.destOperands)))
            elif term.name == "llvm.cond_br":
                if term.trueDest is term.falseDest and term.trueDest.args:
                    raise _fail(term, "both targets are one block with arguments: split the edge")
                incoming.setdefault(term.trueDest, []).append((block, list(term.trueDestOperands)))
                incoming.setdefault(term.falseDest, []).append((block, list(term.falseDestOperands)))
        return incoming

    def result(self, op) -> str:
        return self.names[op.results[0]]

    def op_ir(self, op) -> str | None:
        name = op.name
        if self.inline_constant(op) is not None:
            return None
        if name in _INT_BINARY:
            flags = op.properties.get("overflowFlags")
            words = flags.keywords().replace(",", " ").split() if flags is not None and flags.flags else []
            words = " ".join(w for w in ("nuw", "nsw") if w in words)
            return (f"{self.result(op)} = {_INT_BINARY[name]} {words + ' ' if words else ''}"
                    f"{self.typed(op.lhs)}, {self.value(op.rhs)}")
        if name in _FLOAT_BINARY:
            return (f"{self.result(op)} = {_FLOAT_BINARY[name]} {_fmf(op)}{self.typed(op.lhs)}, "
                    f"{self.value(op.rhs)}")
        if name == "llvm.fneg":
            return f"{self.result(op)} = fneg {_fmf(op)}{self.typed(op.operand_)}"
        if name == "llvm.icmp":
            return (f"{self.result(op)} = icmp {_ICMP[op.predicate.value]} {self.typed(op.lhs)}, "
                    f"{self.value(op.rhs)}")
        if name == "llvm.fcmp":
            return (f"{self.result(op)} = fcmp {_fmf(op)}{_FCMP[op.predicate.value]} "
                    f"{self.typed(op.lhs)}, {self.value(op.rhs)}")
        if name == "llvm.select":
            return (f"{self.result(op)} = select {_fmf(op)}{self.typed(op.condition)}, "
                    f"{self.typed(op.true_value)}, {self.typed(op.false_value)}")
        if name in _CASTS:
            return f"{self.result(op)} = {name[5:]} {self.typed(op.arg)} to {type_ir(op.res.type)}"
        if name == "llvm.insertelement":
            return (f"{self.result(op)} = insertelement {self.typed(op.vector)}, "
                    f"{self.typed(op.value)}, {self.typed(op.position)}")
        if name == "llvm.extractelement":
            return f"{self.result(op)} = extractelement {self.typed(op.vector)}, {self.typed(op.position)}"
        if name == "llvm.shufflevector":
            mask = ", ".join("i32 poison" if m < 0 else f"i32 {m}" for m in op.mask)
            return (f"{self.result(op)} = shufflevector {self.typed(op.v1)}, {self.typed(op.v2)}, "
                    f"<{len(op.mask)} x i32> <{mask}>")
        if name == "llvm.alloca":
            align = f", align {op.alignment.value}" if op.alignment is not None else ""
            return (f"{self.result(op)} = alloca {type_ir(op.elem_type.type)}, "
                    f"{self.typed(op.arraySize)}{align}")
        if name == "llvm.load":
            align = f", align {op.alignment.value}" if op.alignment is not None else ""
            volatile = "volatile " if op.volatile_ is not None else ""
            return f"{self.result(op)} = load {volatile}{type_ir(op.res.type)}, {self.typed(op.addr)}{align}"
        if name == "llvm.store":
            align = f", align {op.alignment.value}" if op.alignment is not None else ""
            volatile = "volatile " if op.volatile_ is not None else ""
            return f"store {volatile}{self.typed(op.value)}, {self.typed(op.addr)}{align}"
        if name == "llvm.getelementptr":
            flags = gep_flag_words(op.noWrapFlags.value if op.noWrapFlags is not None else 0)
            indices = [f"i32 {i}" if isinstance(i, int) else self.typed(i) for i in op.indices()]
            return (f"{self.result(op)} = getelementptr {' '.join(flags) + ' ' if flags else ''}"
                    f"{type_ir(op.elem_type.type)}, {self.typed(op.base)}, {', '.join(indices)}")
        if name == "llvm.call":
            target = op.target()
            ftype = target.type
            args = ", ".join(self.typed(v) for v in op.callee_operands)
            callee_type = type_ir(ftype) if ftype.vararg else type_ir(ftype.return_type)
            call = f"call {callee_type} {symbol(op.callee.root)}({args})"
            return call if not op.results else f"{self.result(op)} = {call}"
        if name.startswith("llvm.intr."):
            return self.intrinsic(op)
        if name == "llvm.br":
            return f"br label %{self.labels[op.dest]}"
        if name == "llvm.cond_br":
            return (f"br {self.typed(op.condition)}, label %{self.labels[op.trueDest]}, "
                    f"label %{self.labels[op.falseDest]}")
        if name == "llvm.return":
            return "ret void" if op.arg is None else f"ret {self.typed(op.arg)}"
        if name == "llvm.unreachable":
            return "unreachable"
        raise _fail(op, f"'{name}' has no LLVM IR translation")

    def intrinsic(self, op) -> str:
        operands = list(op._operands)
        result_type = op.res.type
        if "vector.reduce" in op.name:
            mangled = f"{op.intrinsic}.{_mangle(operands[-1].type)}"
        else:
            mangled = f"{op.intrinsic}.{_mangle(result_type)}"
        params = ", ".join(type_ir(v.type) for v in operands)
        self.declarations[mangled] = f"declare {type_ir(result_type)} @{mangled}({params})"
        args = ", ".join(self.typed(v) for v in operands)
        return f"{self.result(op)} = call {_fmf(op)}{type_ir(result_type)} @{mangled}({args})"


def _take_declarations(text: str, declarations: dict) -> str:
    """Move a builtin's `declare` lines into the module's declarations (one per name)."""
    body = []
    for line in text.splitlines():
        m = re.match(r"declare .*? (@[-\w$.]+)\(", line)
        if m:
            declarations[m.group(1)[1:]] = line
        else:
            body.append(line)
    return "\n".join(body)


def translate(module, builtins: dict | None = None, module_name: str = "descend") -> str:
    """LLVM IR text of an llvm-dialect module. `builtins` maps names of external llvm.func
    declarations to LLVM IR that defines them (descend's runtime support, such as
    descend_parallel_for), written in place of the declaration."""
    builtins = builtins or {}
    globals_, functions, declarations, extra = [], [], {}, []
    for op in module.regions[0].blocks[0].ops:
        if op.name == "llvm.mlir.global":
            globals_.append(global_ir(op))
        elif op.name == "llvm.func":
            name = op.sym_name.value
            if op.is_declaration:
                if name in builtins:
                    extra.append(_take_declarations(builtins[name], declarations))
                    continue
                declarations.setdefault(name, None)
                declarations[name] = declarations[name] or (f"declare {type_ir(op.type.return_type)} {symbol(name)}("
                                      + ", ".join([type_ir(p) for p in op.type.params]
                                                  + (["..."] if op.type.vararg else [])) + ")")
            else:
                functions.append("\n".join(FunctionWriter(op, declarations).write()))
        else:
            raise _fail(op, f"'{op.name}' cannot be translated to LLVM IR: only llvm.func and "
                            "llvm.mlir.global may appear at the top level of the module")
    parts = [f"; ModuleID = '{module_name}'", f'source_filename = "{module_name}"', ""]
    parts += globals_ + ([""] if globals_ else [])
    parts += functions
    parts += extra
    parts += list(declarations.values())
    return "\n".join(parts) + "\n"
