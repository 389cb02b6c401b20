"""runtime: loading and running compiled models with numpy and ctypes only (no LLVM, no
compiler): `descend.runtime.load("model.so").run(inputs)`. The C API the library exports
is documented in descend_runtime.h, next to this file."""

from .library import Library, TensorInfo, header_path, load

__all__ = ["Library", "TensorInfo", "header_path", "load"]
