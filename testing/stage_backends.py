"""ONNX backends that stop the descent at a stage and interpret there: the ONNX node tests
then check each lowering step against onnx's expected outputs, not only against the stage
above. `bench/onnx_conformance.py --backend te` runs them all through graph -> te."""

from __future__ import annotations

from descend.frontends.onnx.backend import DescendBackend
from descend.ir.interpreter import interpret


def _lowered(pipeline: str):
    def executor(module):
        from descend.rewrites import PassManager
        PassManager.parse(pipeline).run(module)

        def run(inputs):
            return interpret(module, "main", inputs)
        return run
    return staticmethod(executor)


class TeBackend(DescendBackend):
    """Import, lower-graph-to-te, interpret the te kernels."""

    executor = _lowered("builtin.module(lower-graph-to-te)")


class FusedTeBackend(DescendBackend):
    """Import, the graph pipeline (fusion included), lower-graph-to-te, interpret."""

    executor = _lowered("builtin.module(func.func(simplify-inference,fold-constants,fuse-ops),lower-graph-to-te)")


def _lowered_to_loop(pipeline: str):
    def executor(module):
        from descend.lowering.te_to_loop import run_loop_function
        from descend.rewrites import PassManager
        PassManager.parse(pipeline).run(module)

        def run(inputs):
            return run_loop_function(module, inputs)
        return run
    return staticmethod(executor)


class LoopBackend(DescendBackend):
    """Import, lower-graph-to-te, lower-te-to-loop (default schedules), interpret the loop
    nests; the outputs are the buffers @main writes."""

    executor = _lowered_to_loop("builtin.module(lower-graph-to-te,lower-te-to-loop)")


class FusedLoopBackend(DescendBackend):
    """The graph pipeline (fusion included), then down to loops: multi-compute kernels, so
    the default schedule's inlining is exercised."""

    executor = _lowered_to_loop("builtin.module(func.func(simplify-inference,fold-constants,fuse-ops),"
                                "lower-graph-to-te,lower-te-to-loop)")


def _compiled(pipeline: str):
    def executor(module):
        from descend.lowering.native import compile_loop_module
        from descend.rewrites import PassManager
        PassManager.parse(pipeline).run(module)
        return compile_loop_module(module).run
    return staticmethod(executor)


class NativeBackend(DescendBackend):
    """Import, lower-graph-to-te, lower-te-to-loop, lower-loop-to-llvm, run the JIT-compiled
    code: the whole descent to machine code, checked against onnx's expected outputs."""

    executor = _compiled("builtin.module(lower-graph-to-te,lower-te-to-loop)")


class FusedNativeBackend(DescendBackend):
    """The graph pipeline (fusion included), then down to machine code through the JIT."""

    executor = _compiled("builtin.module(func.func(simplify-inference,fold-constants,fuse-ops),"
                         "lower-graph-to-te,lower-te-to-loop)")


STAGES = {"te": TeBackend, "fused-te": FusedTeBackend, "loop": LoopBackend, "fused-loop": FusedLoopBackend,
          "native": NativeBackend, "fused-native": FusedNativeBackend}
