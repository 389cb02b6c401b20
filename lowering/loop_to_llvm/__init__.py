"""loop -> llvm: `lower-loop-to-llvm` turns a loop-level module into an llvm-dialect module
that codegen compiles (docs/lowering.md, "loop -> llvm").

- static memrefs become bare `!llvm.ptr`s to row-major data (memory.py);
- loop.for / loop.if become blocks with arguments for phis, parallel loops are outlined and
  run by descend_parallel_for (control.py);
- arith and math become llvm instructions, intrinsics or libm calls (arith.py);
- every defined func.func becomes an llvm.func taking one more argument, the i32 thread
  count, which calls pass on; @main also gets the C entry point `descend_run` and the query
  functions of runtime/descend_runtime.h (entry.py).

Not a pattern-driven dialect conversion: structured control flow becomes a CFG by splitting
blocks, which the conversion driver's rollback log does not model. The pass builds the new
module op by op instead (as MLIR's translation does), and fails with a located error naming
the op it cannot lower; every loop, arith, math and func op is gone afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.dialects import llvm
from descend.ir import Context, Operation, i32
from descend.ir.diagnostics import error
from descend.rewrites import Pass, option, register_pass

from . import arith, control, memory  # noqa: F401 - they register their lowerings
from .core import LOWERINGS, FunctionLowering, ModuleLowering, convert_type
from .entry import ENTRY, add_entry, io_specs


def _refuse_storage_types(module: Operation) -> None:
    """8-, 6- and 4-bit floats and 2/4-bit integers have interpreter semantics (one byte per
    element) but no LLVM type here yet: refuse them where they appear, before lowering
    anything, so a model using them is unsupported rather than miscompiled."""
    from descend.ir import FloatType, IntegerType, MemRefType, ShapedType
    for op in module.walk():
        for value in (*op.results, *(a for r in op.regions for b in r.blocks for a in b.args)):
            t = value.type
            e = t.element_type if isinstance(t, ShapedType) else t
            narrow = (isinstance(e, FloatType) and e.name not in ("f16", "bf16", "f32", "f64")) or \
                     (isinstance(e, IntegerType) and e.width in (2, 4))
            if narrow:
                raise error(op.location, f"lower-loop-to-llvm: element type {e} cannot be lowered "
                                         f"(no LLVM storage for it yet) in {t}")


def lower_loop_to_llvm(module: Operation, entry: bool = True, default_threads: int = 1) -> None:
    """Lower `module` in place (see the module docstring). With `entry`, a module holding a
    `func.func @main` also gets descend_run and the runtime API."""
    _refuse_storage_types(module)
    ml = ModuleLowering(module)
    block = module.regions[0].blocks[0]
    old_ops = list(block.ops)
    functions = []
    for op in old_ops:
        if op.name == "loop.global":
            memory.lower_global(ml, op)
        elif op.name == "func.func":
            functions.append(op)
        else:
            raise error(op.location, f"lower-loop-to-llvm: '{op.name}' cannot appear at the top level "
                                     "of a loop-level module (only func.func and loop.global)")
    main = next((f for f in functions if f.sym_name.value == "main" and not f.is_declaration), None)
    with_entry = entry and main is not None
    if with_entry and ENTRY in ml.symbols:
        raise error(module.location, f"lower-loop-to-llvm: the module already defines @{ENTRY}")

    new_functions = {}
    for func in functions:
        ftype = func.function_type.type
        params = [convert_type(t, func) for t in ftype.inputs]
        if len(ftype.results) > 1:
            raise error(func.location, f"lower-loop-to-llvm: @{func.sym_name.value} returns "
                                       f"{len(ftype.results)} values; an llvm.func returns at most one")
        result = convert_type(ftype.results[0], func) if ftype.results else llvm.LLVMVoidType()
        defined = not func.is_declaration
        if defined:
            params.append(i32)  # the thread count, passed down to parallel loops
        private = func.sym_visibility is not None and func.sym_visibility.value == "private"
        linkage = "internal" if defined and (private or (with_entry and func is main)) else "external"
        new = ml.add(llvm.LLVMFuncOp.build(sym_name=func.sym_name.value, function_type=llvm.LLVMFunctionType(
            result, params), linkage=linkage, declaration=not defined, location=func.location))
        ml.functions[func.sym_name.value] = {"threads": defined}
        new_functions[func] = new

    for func, new in new_functions.items():
        if func.is_declaration:
            continue
        entry_block = new.entry_block
        entry_block.args[-1].name_hint = "threads"
        fl = FunctionLowering(ml, new, threads=entry_block.args[-1])
        fl.bind_all(func.entry_block.args, entry_block.args[:-1])
        if len(func.regions[0].blocks) != 1:
            raise error(func.location, f"lower-loop-to-llvm: @{func.sym_name.value} has "
                                       f"{len(func.regions[0].blocks)} blocks; loop-level functions have one")
        returned = fl.lower_block(func.entry_block)
        fl.location = func.entry_block.terminator.location
        fl.emit(llvm.ReturnOp, arg=returned[0] if returned else None)

    if with_entry:
        inputs, outputs = io_specs(main)
        add_entry(ml, main, (len(inputs), len(outputs)))
    for op in old_ops:
        op.erase(force=True)
    for op in ml.new_ops:
        block.append(op)
    if with_entry:
        from ..codegen import add_runtime_api
        add_runtime_api(module, inputs, outputs, default_threads)


@register_pass
@dataclass(frozen=True)
class LowerLoopToLlvm(Pass):
    """Lower a loop-level module (loop, arith, math, func) to the llvm dialect."""

    name: ClassVar[str] = "lower-loop-to-llvm"
    anchor: ClassVar = "builtin.module"
    dependent_dialects: ClassVar[tuple] = ("llvm",)

    entry: bool = option(True, help="add descend_run and the runtime API for @main")
    default_threads: int = option(1, help="the thread count a new model handle starts with")

    def run(self, op: Operation, ctx: Context) -> None:
        lower_loop_to_llvm(op, entry=self.entry, default_threads=self.default_threads)


__all__ = ["LOWERINGS", "LowerLoopToLlvm", "io_specs", "lower_loop_to_llvm"]
