"""loop -> llvm: the C entry point of a compiled model. `descend_run(model, inputs, outputs)`
reads the thread count from the model handle (its first field, an i32), loads each input and
output data pointer from the two arrays and calls @main with them; the query functions of
runtime/descend_runtime.h come from codegen.add_runtime_api, fed with the names, shapes and
dtypes of @main's memref arguments (names from its onnx.inputs / onnx.outputs)."""

from __future__ import annotations

import numpy as np

from descend.dialects import llvm
from descend.ir import IntegerAttr, MemRefType, i32, i64, numpy_dtype
from descend.ir.diagnostics import error

from .core import PTR, FunctionLowering

ENTRY = "descend_run"


def _names(func, key: str) -> list | None:
    attr = func.attributes.get(key)
    if attr is None:
        return None
    return [a.value for a in attr.elements] if hasattr(attr, "elements") else [a.value for a in attr]


def io_specs(func) -> tuple[list, list]:
    """(inputs, outputs) of a loop-level @main as (name, shape, numpy dtype name) lists: its
    memref arguments, the last `onnx.num_outputs` of them outputs (else the first
    len(onnx.inputs) inputs, else all but the last one) and the rest inputs."""
    args = list(func.function_type.type.inputs)
    for t in args:
        if not isinstance(t, MemRefType):
            raise error(func.location, f"lower-loop-to-llvm: @main takes {t}; the entry point "
                                       "needs memref arguments only (inputs, then outputs)")
    if func.function_type.type.results:
        raise error(func.location, "lower-loop-to-llvm: @main returns values; at the loop level it "
                                   "writes its outputs into buffers the caller passes")
    in_names, out_names = _names(func, "onnx.inputs"), _names(func, "onnx.outputs")
    num_outputs = func.attributes.get("onnx.num_outputs")  # what lower-te-to-loop records
    if num_outputs is not None:
        n_in = len(args) - int(num_outputs.value)
    elif in_names is not None:
        n_in = len(in_names)
    elif out_names is not None:
        n_in = len(args) - len(out_names)
    else:
        n_in = len(args) - 1
    if not 0 <= n_in <= len(args):
        raise error(func.location, f"lower-loop-to-llvm: @main has {len(args)} arguments but "
                                   f"onnx.inputs names {n_in} inputs")
    in_names = in_names or [f"input{k}" for k in range(n_in)]
    out_names = out_names or [f"output{k}" for k in range(len(args) - n_in)]

    def spec(name, t):
        # bf16 buffers hold 2-byte bfloat in native code (ml_dtypes' bfloat16), not the f32
        # the interpreter stores it as
        e = t.element_type
        dtype = "bfloat16" if getattr(e, "name", None) == "bf16" else np.dtype(numpy_dtype(e)).name
        return (str(name), [int(d) for d in t.shape], dtype)
    return ([spec(n, t) for n, t in zip(in_names, args[:n_in])],
            [spec(n, t) for n, t in zip(out_names, args[n_in:])])


def add_entry(ml, main, n_args: int) -> None:
    """`i32 descend_run(ptr model, ptr inputs, ptr outputs)` calling @main."""
    ftype = llvm.LLVMFunctionType(i32, [PTR, PTR, PTR])
    run = ml.add(llvm.LLVMFuncOp.build(sym_name=ENTRY, function_type=ftype, location=main.location))
    fl = FunctionLowering(ml, run)
    model, inputs, outputs = run.entry_block.args
    model.name_hint, inputs.name_hint, outputs.name_hint = "model", "inputs", "outputs"
    threads = fl.emit1(llvm.LoadOp, model, alignment=IntegerAttr(4, i64), result_types=[i32])
    threads.name_hint = "threads"
    pointers = []
    n_in = n_args[0]
    for array, count in ((inputs, n_in), (outputs, n_args[1])):
        for k in range(count):
            slot = fl.emit1(llvm.GEPOp, array, [k], PTR, inbounds=True)
            pointers.append(fl.emit1(llvm.LoadOp, slot, alignment=IntegerAttr(8, i64), result_types=[PTR]))
    fl.emit(llvm.CallOp, callee=main.sym_name.value, callee_operands=[*pointers, threads])
    fl.emit(llvm.ReturnOp, arg=fl.i32(0))
