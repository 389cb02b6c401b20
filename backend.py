"""descend.backend: descend as an ONNX backend (`onnx.backend.base.Backend`), in the shape
of `onnxruntime.backend`: `prepare(model).run(inputs)`, `run_model`, `run_node`,
`supports_device`. It compiles: each model (per set of input shapes) goes through the
whole descent at -O3 and runs as native code. `descend.interpreter_backend` runs the
reference interpreter instead."""

from descend.frontends.onnx.backend import DescendBackend as _ImportingBackend
from descend.frontends.onnx.backend import DescendRep


def _compiled_executor(module, opt_level: int = 3):
    """An imported graph module -> a callable running its compiled code."""
    from descend.lowering.driver import pipeline
    from descend.lowering.native import compile_loop_module
    from descend.rewrites import PassManager
    PassManager.parse(pipeline(opt_level, "loop")).run(module)
    return compile_loop_module(module, opt_level=opt_level).run


class DescendBackend(_ImportingBackend):
    """Compiles every model it prepares (graph optimisations, te, loop, llvm, llvmlite)."""

    executor = staticmethod(_compiled_executor)


prepare = DescendBackend.prepare
run_model = DescendBackend.run_model
run_node = DescendBackend.run_node
supports_device = DescendBackend.supports_device

__all__ = ["DescendBackend", "DescendRep", "prepare", "run_model", "run_node", "supports_device"]
