"""llvm: MLIR's LLVM dialect, 1:1 with LLVM IR (types in types.py, value ops in ops.py,
functions, control flow, globals and memory in structure.py). descend.lowering.codegen
translates it to LLVM IR text for llvmlite."""

from ...ir import Dialect, Operation
from . import ops, structure
from .ops import *  # noqa: F401,F403
from .structure import *  # noqa: F401,F403
from .structure import DYNAMIC_INDEX
from .types import (EXTERNAL, FASTMATH_NONE, OVERFLOW_NONE, FastMathFlagsAttr,
                    IntegerOverflowFlagsAttr, LinkageAttr, LLVMArrayType, LLVMFunctionType,
                    LLVMPointerType, LLVMStructType, LLVMVoidType, is_float_like, is_int_like,
                    is_llvm_type, is_ptr)

OPS = [v for m in (ops, structure) for v in vars(m).values()
       if isinstance(v, type) and issubclass(v, Operation) and isinstance(v.__dict__.get("name"), str)]

LLVM = Dialect("llvm", OPS,
               types=[LLVMPointerType, LLVMVoidType, LLVMArrayType, LLVMStructType, LLVMFunctionType],
               attributes=[LinkageAttr, FastMathFlagsAttr, IntegerOverflowFlagsAttr],
               description="MLIR's LLVM dialect: 1:1 with LLVM IR, translated by descend.lowering.codegen")
