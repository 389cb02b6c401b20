"""te -> loop: a function over tensors becomes a function over buffers in
destination-passing style.

`func.func @main(%x: tensor<...>) -> tensor<...>` becomes
`func.func @main(%x: memref<...>, %y: memref<...>)`: the results are written into buffers
the caller passes after the inputs (the loop dialect's interpreter convention), the function
returns nothing and carries `onnx.num_outputs` (how many trailing arguments are outputs);
argument names, `onnx.inputs` / `onnx.outputs` and argument attributes are kept (result
attributes move to the output arguments). In the body:
- a tensor `arith.constant` (a weight) becomes a `loop.global` symbol, read with
  `loop.get_global`;
- each `te.kernel` becomes a private function (nest.py) called with `func.call` on its
  input buffers, then its output buffers: the function's output buffer when the kernel
  result is returned (the first time it is), else a `loop.alloc` freed (`loop.dealloc`)
  right after its last use;
- a returned value that is not written in place (an input, a weight, a value returned twice)
  is copied into its output buffer by a loop nest before the function returns."""

from __future__ import annotations

from typing import Callable

from descend.dialects import arith
from descend.dialects.func import CallOp, FuncOp, ReturnOp
from descend.dialects.loop import AllocOp, DeallocOp, GetGlobalOp, GlobalOp
from descend.dialects.te import KernelOp
from descend.ir import (ArrayAttr, Builder, DictionaryAttr, FunctionType, IntegerAttr, Operation,
                        ShapedType, StringAttr, SymbolRefAttr, TensorType, i64)

from .nest import Constants, KernelLowering, copy_buffer, memref_of

NUM_OUTPUTS = "onnx.num_outputs"


class SymbolNames:
    """Fresh symbol names in a module: `name`, then `name_1`, `name_2`, ..."""

    def __init__(self, module: Operation):
        self.used = {op.properties["sym_name"].value for op in module.regions[0].blocks[0].ops
                     if isinstance(op.properties.get("sym_name"), StringAttr)}

    def fresh(self, hint: str) -> str:
        name, n = hint, 1
        while name in self.used:
            name = f"{hint}_{n}"
            n += 1
        self.used.add(name)
        return name


def has_tensors(func: FuncOp) -> bool:
    """Whether `func` is at the te level: tensors in its signature or te.kernels inside."""
    ftype = func.function_type.type
    if any(isinstance(t, TensorType) for t in (*ftype.inputs, *ftype.results)):
        return True
    return any(isinstance(op, KernelOp) for op in func.walk())


def bufferize_function(func: FuncOp, names: SymbolNames, nests_of: Callable) -> FuncOp:
    """Replace `func` (te level) by its loop-level form and insert the kernel functions and
    globals it needs before it; returns the new function. `nests_of(kernel)` gives
    {compute: LoopNest} (the kernel's schedule, validated)."""
    ftype = func.function_type.type
    for t in (*ftype.inputs, *ftype.results):
        if not isinstance(t, TensorType) or not t.has_static_shape:
            raise func.error(f"lower-te-to-loop: arguments and results must be tensors of static "
                             f"shape, got {t}")
    old_entry = func.entry_block
    returned = list(old_entry.terminator.operands)
    new_type = FunctionType([memref_of(t) for t in (*ftype.inputs, *ftype.results)], [])
    new = FuncOp.build(sym_name=func.sym_name.value, function_type=new_type, location=func.location)
    for key in ("sym_visibility", "no_inline"):
        if key in func.properties:
            new.properties[key] = func.properties[key]
    new.attributes.update(func.attributes)
    new.attributes[NUM_OUTPUTS] = IntegerAttr(len(returned), i64)
    _move_argument_attributes(func, new)
    entry = new.entry_block
    inputs, outputs = entry.args[:len(ftype.inputs)], entry.args[len(ftype.inputs):]
    buffers = {}
    for old, arg in zip(old_entry.args, inputs):
        arg.name_hint = old.name_hint
        buffers[old] = arg
    output_names = _output_names(func, returned)
    for name, arg in zip(output_names, outputs):
        arg.name_hint = name

    destinations, copies = {}, []
    for value, out in zip(returned, outputs):
        if isinstance(value.defining_op, KernelOp) and value not in destinations:
            destinations[value] = out
        else:
            copies.append((value, out))

    module_block = func.parent
    b = Builder.at_end(entry)
    constants = Constants(entry)
    allocs = []
    for op in old_entry.ops:
        b.location = op.location
        if isinstance(op, ReturnOp):
            break
        if isinstance(op, arith.ConstantOp) and isinstance(op.result.type, ShapedType):
            symbol = names.fresh(op.result.name_hint or "weight")
            module_block.insert_before(func, GlobalOp.build(
                sym_name=symbol, type=memref_of(op.result.type), value=op.value, location=op.location))
            get = b.build(GetGlobalOp, global_name=SymbolRefAttr(symbol),
                          result_types=[memref_of(op.result.type)])
            get.memref.name_hint = op.result.name_hint
            buffers[op.result] = get.memref
        elif isinstance(op, KernelOp):
            callee = KernelLowering(op, nests_of(op), names.fresh(op.kernel_name.value)).build()
            module_block.insert_before(func, callee)
            results = []
            for value in op.results:
                dest = destinations.get(value)
                if dest is None:
                    alloc = b.build(AllocOp, result_types=[memref_of(value.type)])
                    alloc.memref.name_hint = value.name_hint
                    dest = alloc.memref
                    allocs.append(alloc)
                buffers[value] = dest
                results.append(dest)
            b.build(CallOp, callee=callee, operands_=[buffers[v] for v in op.inputs] + results)
        elif any(isinstance(v.type, ShapedType) for v in (*op.operands, *op.results)) or op.regions:
            raise op.error(f"lower-te-to-loop: cannot lower '{op.name}' in a function over tensors "
                           f"(expected te.kernel and tensor arith.constant ops)")
        else:
            b.insert(op.clone(buffers))
    b.location = func.location
    for value, out in copies:
        copy_buffer(b, constants, buffers[value], out)
    terminator = b.build(ReturnOp, [])
    _free_after_last_use(allocs, terminator)
    func.parent.insert_before(func, new)
    func.erase()
    return new


def _output_names(func: FuncOp, returned) -> list[str]:
    """Names of the output buffers: the ONNX output names when the function has them, else
    the returned values' names."""
    onnx = func.attributes.get("onnx.outputs")
    if isinstance(onnx, ArrayAttr) and len(onnx) == len(returned) and \
            all(isinstance(a, StringAttr) for a in onnx):
        return [a.value for a in onnx]
    return [v.name_hint or f"out{n}" for n, v in enumerate(returned)]


def _move_argument_attributes(func: FuncOp, new: FuncOp) -> None:
    """arg_attrs stay on the inputs; res_attrs move to the output arguments."""
    ftype = func.function_type.type
    args = [_dict_at(func.properties.get("arg_attrs"), n) for n in range(len(ftype.inputs))]
    results = [_dict_at(func.properties.get("res_attrs"), n) for n in range(len(ftype.results))]
    dicts = args + results
    if any(dicts):
        new.properties["arg_attrs"] = ArrayAttr([DictionaryAttr(d) for d in dicts])


def _dict_at(array, n: int) -> dict:
    if array is None or n >= len(array):
        return {}
    return array[n].as_dict()


def _free_after_last_use(allocs, terminator) -> None:
    """A loop.dealloc after the last op of the function's block that uses each buffer."""
    for alloc in allocs:
        buffer = alloc.memref
        last = alloc
        for use in buffer.uses:
            user = use.owner
            while user.parent is not terminator.parent:
                user = user.parent_op
            if last.is_before_in_block(user):
                last = user
        terminator.parent.insert_after(last, DeallocOp.build(buffer, location=alloc.location))
