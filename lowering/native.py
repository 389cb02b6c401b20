"""loop -> machine code: a loop-level module lowered by lower-loop-to-llvm and compiled by
codegen, as an object that runs through the JIT (`run(inputs) -> outputs`) and exports the
same code as a shared library `descend.runtime.load` reads. `descend.compile` ends here.

Both paths call the one C entry point, `descend_run(model, inputs, outputs)`, with a model
handle from `descend_create`, so what the tests check through the JIT is what a deployed
library does."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from . import codegen
from .loop_to_llvm import io_specs, lower_loop_to_llvm


class NativeModule:
    """A compiled loop-level module: `run(inputs)` (a list in input order or a dict by name)
    returns new output arrays; `export_library(path)` writes a .so; `module` is the
    llvm-level module that was compiled."""

    def __init__(self, module, inputs, outputs, target, opt_level: int, num_threads: int):
        self.module = module
        self.target = codegen.Target.parse(target)
        self.opt_level = opt_level
        self.inputs = [_spec(*i) for i in inputs]
        self.outputs = [_spec(*o) for o in outputs]
        self.jit = codegen.jit(module, self.target, opt_level)
        self._run = self.jit.function("descend_run", ctypes.c_int32, ctypes.c_void_p,
                                      ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p))
        self._create = self.jit.function("descend_create", ctypes.c_void_p)
        self._destroy = self.jit.function("descend_destroy", None, ctypes.c_void_p)
        self._set_threads = self.jit.function("descend_set_num_threads", None, ctypes.c_void_p, ctypes.c_int32)
        self._get_threads = self.jit.function("descend_get_num_threads", ctypes.c_int32, ctypes.c_void_p)
        self.handle = self._create()
        if not self.handle:
            raise MemoryError("descend_create failed")
        self.set_num_threads(num_threads)

    # ---- the model's interface ----------------------------------------------------------------

    def get_inputs(self) -> list:
        return list(self.inputs)

    def get_outputs(self) -> list:
        return list(self.outputs)

    @property
    def num_threads(self) -> int:
        return self._get_threads(self.handle)

    def set_num_threads(self, n: int) -> None:
        self._set_threads(self.handle, int(n))

    def run(self, inputs) -> list:
        arrays = self._arrays(inputs)
        outputs = [np.empty(tuple(o.shape), o.dtype) for o in self.outputs]
        in_ptrs = (ctypes.c_void_p * max(len(arrays), 1))(*[a.ctypes.data for a in arrays])
        out_ptrs = (ctypes.c_void_p * max(len(outputs), 1))(*[o.ctypes.data for o in outputs])
        status = self._run(self.handle, in_ptrs, out_ptrs)
        if status != 0:
            raise RuntimeError(f"descend_run failed with status {status}")
        return outputs

    __call__ = run

    def _arrays(self, inputs) -> list:
        if isinstance(inputs, Mapping):
            names = [i.name for i in self.inputs]
            unknown = sorted(set(inputs) - set(names))
            missing = [n for n in names if n not in inputs]
            if unknown or missing:
                raise ValueError(f"inputs must be {names}; unknown {unknown}, missing {missing}")
            inputs = [inputs[n] for n in names]
        elif isinstance(inputs, np.ndarray) or not isinstance(inputs, Sequence):
            inputs = [inputs]
        if len(inputs) != len(self.inputs):
            raise ValueError(f"the model takes {len(self.inputs)} input(s) "
                             f"({', '.join(i.name for i in self.inputs)}), got {len(inputs)}")
        arrays = []
        for spec, value in zip(self.inputs, inputs):
            array = np.asarray(value)
            if tuple(array.shape) != tuple(spec.shape):
                raise ValueError(f"input '{spec.name}' has shape {list(array.shape)}, "
                                 f"expected {list(spec.shape)}")
            arrays.append(_as_dtype(array, spec))
        return arrays

    # ---- deployment ---------------------------------------------------------------------------

    def export_library(self, path, cc: str | None = None) -> Path:
        """A shared library holding the weights and the C API of runtime/descend_runtime.h."""
        saved = os.environ.get("CC")
        if cc is not None:
            os.environ["CC"] = cc
        try:
            return codegen.export_library(self.module, path, self.target, self.opt_level)
        finally:
            if cc is not None:
                if saved is None:
                    os.environ.pop("CC", None)
                else:
                    os.environ["CC"] = saved

    def close(self) -> None:
        if getattr(self, "handle", None):
            self._destroy(self.handle)
            self.handle = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _as_dtype(array: np.ndarray, spec) -> np.ndarray:
    """The input in the buffer's dtype: the same bits when only the integer signedness differs
    (loop-level integers are signless: a uint8 tensor is an i8 buffer), else an error."""
    dtype = spec.dtype
    if array.dtype == dtype:
        return np.ascontiguousarray(array)
    if array.dtype.kind in "iu" and dtype.kind in "iu" and array.dtype.itemsize == dtype.itemsize:
        return np.ascontiguousarray(array).view(dtype)
    raise TypeError(f"input '{spec.name}' has dtype {array.dtype}, expected {dtype}")


def _spec(name: str, shape, dtype: str):
    from descend.runtime.library import _dtype
    dtype = _dtype(dtype)
    try:
        from .driver import TensorSpec
    except ImportError:  # the driver is optional here: the runtime's TensorInfo says the same
        from descend.runtime import TensorInfo
        return TensorInfo(name, list(shape), np.dtype(dtype))
    from descend.runtime.library import TensorInfo
    return TensorSpec(name, tuple(shape), TensorInfo(name, list(shape), np.dtype(dtype)).type, np.dtype(dtype))


def lower_to_llvm(module, instruments: Sequence = (), flatten: bool = False):
    """A copy of a loop-level module lowered to the llvm dialect (with its C entry point
    and runtime API), and its (inputs, outputs) specs; nothing is compiled. `flatten` runs
    loop-flatten-buffers first (one linear index per access: what -O1 and up do)."""
    from descend.ir import SymbolTable
    main = SymbolTable(module).lookup("main")
    if main is None or main.name != "func.func":
        raise ValueError("compile_loop_module: the module has no func.func @main")
    inputs, outputs = io_specs(main)
    lowered = module.clone()
    if instruments or flatten:
        from descend.rewrites import PassManager
        pm = PassManager.parse("builtin.module(loop-flatten-buffers,lower-loop-to-llvm)" if flatten
                               else "builtin.module(lower-loop-to-llvm)")
        for instrument in instruments:
            pm.add_instrument(instrument)
        pm.run(lowered)
    else:
        lower_loop_to_llvm(lowered)
    return lowered, inputs, outputs


def compile_loop_module(module, target="host", opt_level: int = 3, instruments: Sequence = (),
                        num_threads: int = 1, flatten: bool | None = None) -> NativeModule:
    """Lower a loop-level module (its `func.func @main(%inputs..., %outputs...)`) to llvm
    and JIT it for the host; the module given is left as it was. Its buffers are
    flattened first (loop-flatten-buffers) from -O1, unless `flatten` says otherwise."""
    flatten = opt_level >= 1 if flatten is None else flatten
    lowered, inputs, outputs = lower_to_llvm(module, instruments, flatten)
    return NativeModule(lowered, inputs, outputs, target, opt_level, num_threads)
