"""The whole descent in one call: `descend.compile(model) -> CompiledModel`.

A model (ONNX path, bytes or ModelProto; IR text path; or a module at any stage) is
imported if needed, run through the graph optimisations of its opt level, lowered
graph -> te -> loop -> llvm, and compiled with llvmlite. Each opt level is a named pipeline
(`descend compile --print-pipeline` shows it), and `stop_after` returns the module at a
stage instead (`descend compile --emit te`)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

STAGES = ("graph", "te", "loop", "llvm")

GRAPH_PASSES = ("simplify-inference", "fold-constants", "canonicalize", "cse", "nchwc-layout", "fuse-ops")
TE_PASSES = ("te-pack-layouts", "te-fold-constants")
LOOP_PASSES = ("loop-unroll", "loop-simplify", "loop-vectorize", "math-polynomial-approximation", "loop-simplify",
               "cse", "loop-hoist-invariants", "loop-plan-memory")
GRAPH_PIPELINE = f"func.func({','.join(GRAPH_PASSES)})"
LOOP_PIPELINE = f"func.func({','.join(LOOP_PASSES)})"
# what `disabled_passes` may name: the optimisations of -O1 and up (lowerings are the descent)
OPTIONAL_PASSES = frozenset(GRAPH_PASSES + TE_PASSES + LOOP_PASSES + ("loop-flatten-buffers",))


def pipeline(opt_level: int = 3, stop_after: str = "llvm", vector_bytes: int | None = None,
             disabled_passes: Sequence[str] = ()) -> str:
    """The pass pipeline of an opt level, up to and including the lowering to `stop_after`.
    -O0 lowers the graph as imported; -O1 and up optimise the graph first and clean up loops.
    `vector_bytes` (the target's vector register width: `Target.vector_bytes`) sizes the
    default schedules' vector loops and register tiles and the channel blocks of
    nchwc-layout. `disabled_passes` leaves optimisations out wherever they occur (TVM's
    `PassContext(disabled_pass=...)`): `["nchwc-layout"]` keeps convolutions NCHW."""
    if stop_after not in STAGES:
        raise ValueError(f"unknown stage '{stop_after}' (stages: {', '.join(STAGES)})")
    disabled = set(disabled_passes)
    unknown = sorted(disabled - OPTIONAL_PASSES)
    if unknown:
        raise ValueError(f"cannot disable {', '.join(unknown)}: only the optimisations of -O1 and up can be "
                         f"(`{', '.join(sorted(OPTIONAL_PASSES))}`)")
    options = {}
    if vector_bytes is not None:
        options = {"nchwc-layout": f"{{block={max(vector_bytes // 4, 4)}}}",  # one f32 vector of channels
                   "te-pack-layouts": f"{{vector-bytes={vector_bytes}}}"}

    def nest(passes) -> str | None:
        kept = [p + options.get(p, "") for p in passes if p not in disabled]
        return f"func.func({','.join(kept)})" if kept else None
    steps: list[str] = []
    if opt_level >= 1:
        steps.append(nest(GRAPH_PASSES))
    if stop_after != "graph":
        steps.append("lower-graph-to-te")
        if opt_level >= 1:
            steps.append(nest(TE_PASSES))
    if stop_after not in ("graph", "te"):
        steps.append("lower-te-to-loop" if vector_bytes is None else f"lower-te-to-loop{{vector-bytes={vector_bytes}}}")
        if opt_level >= 1:
            steps.append(nest(LOOP_PASSES))
        if stop_after != "loop":
            if opt_level >= 1 and "loop-flatten-buffers" not in disabled:
                # one linear index per access, as loop IR (the loop stage keeps its shapes)
                steps.append("loop-flatten-buffers")
            steps.append("lower-loop-to-llvm")
    return f"builtin.module({','.join(s for s in steps if s)})"


def load_module(model, input_shapes: Mapping[str, Sequence[int]] | None = None, opset: int | None = None):
    """A builtin.module from an ONNX model, an IR file path, IR text, or a module (cloned)."""
    import descend
    from descend.ir import Operation
    if isinstance(model, Operation):
        return model.clone()
    if isinstance(model, (str, os.PathLike)) and str(model).lower().endswith((".mlir", ".ir")):
        return descend.parse_file(model)
    if isinstance(model, str) and not os.path.exists(model) and ("func.func" in model or "module" in model):
        return descend.parse(model)
    from descend.frontends.onnx import import_onnx
    return import_onnx(model, input_shapes=input_shapes, opset=opset)


@dataclass
class TensorSpec:
    """An input or output as onnxruntime's NodeArg shows it: name, shape, type."""

    name: str
    shape: tuple
    type: str          # "tensor(float)", as onnxruntime spells it
    dtype: np.dtype = field(repr=False, default=None)


@dataclass
class Timing:
    """What `benchmark` measured, in milliseconds per call."""

    mean: float
    median: float
    std: float
    min: float
    max: float
    results: list = field(repr=False, default_factory=list)

    def __str__(self) -> str:
        return (f"median {self.median:.3f} ms, mean {self.mean:.3f} ms, std {self.std:.3f} ms, "
                f"min {self.min:.3f} ms ({len(self.results)} measurements)")


class CompiledModel:
    """A compiled model: `run(inputs)` with numpy in and out, `export_library(path)` for a
    shared library that `descend.runtime.load` (or C) runs without Python's compiler."""

    def __init__(self, native, module, compile_seconds: float, target, memory_plan: dict | None = None):
        self._native = native
        self.module = module          # the llvm-level module that was compiled
        self.compile_seconds = compile_seconds
        self.target = target
        # loop-plan-memory's arenas: {"arena_bytes", "intermediate_bytes"} over all functions
        self.memory_plan = memory_plan or {"arena_bytes": 0, "intermediate_bytes": 0}

    # ---- running --------------------------------------------------------------------------------

    def run(self, inputs, feed: Mapping[str, np.ndarray] | None = None) -> list[np.ndarray]:
        """`run([x0, x1])` or `run({"x": x})`; also onnxruntime's `run(output_names, feed)`."""
        if feed is not None or (inputs is None and feed is not None):
            outputs = self._native.run(feed)
            if inputs is None:
                return outputs
            names = [o.name for o in self.get_outputs()]
            return [outputs[names.index(n)] for n in inputs]
        return self._native.run(inputs)

    __call__ = run

    def get_inputs(self) -> list[TensorSpec]:
        return self._native.get_inputs()

    def get_outputs(self) -> list[TensorSpec]:
        return self._native.get_outputs()

    def set_num_threads(self, threads: int) -> None:
        self._native.set_num_threads(threads)

    def benchmark(self, inputs=None, warmup: int = 3, number: int = 1, repeat: int = 20,
                  min_repeat_ms: float = 0.0, seed: int = 0) -> Timing:
        """Time `run` like TVM's time_evaluator: `repeat` measurements of `number` calls each
        (raised until one measurement takes `min_repeat_ms`), after `warmup` calls."""
        if inputs is None:
            inputs = random_inputs(self.get_inputs(), seed)
        for _ in range(warmup):
            self.run(inputs)
        while True:
            start = time.perf_counter()
            for _ in range(number):
                self.run(inputs)
            elapsed = (time.perf_counter() - start) * 1e3
            if elapsed >= min_repeat_ms or number >= 1 << 20:
                break
            number *= 2
        results = [elapsed / number]
        for _ in range(repeat - 1):
            start = time.perf_counter()
            for _ in range(number):
                self.run(inputs)
            results.append((time.perf_counter() - start) * 1e3 / number)
        values = np.asarray(results)
        return Timing(float(values.mean()), float(np.median(values)), float(values.std()),
                      float(values.min()), float(values.max()), results)

    # ---- deploying ------------------------------------------------------------------------------

    def export_library(self, path, cc: str | None = None) -> str:
        """A shared library with the weights inside and the C API of runtime/descend_runtime.h."""
        return str(self._native.export_library(path, cc=cc) if cc else self._native.export_library(path))

    export = export_library


def random_inputs(specs: Sequence[TensorSpec], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for spec in specs:
        dtype = np.dtype(spec.dtype) if spec.dtype is not None else np.dtype(np.float32)
        if dtype.kind == "f":
            out.append(rng.standard_normal(spec.shape).astype(dtype))
        elif dtype.kind == "b":
            out.append(rng.integers(0, 2, spec.shape).astype(bool))
        else:
            out.append(rng.integers(0, 10, spec.shape).astype(dtype))
    return out


def memory_plan(loop_module) -> dict:
    """The bytes loop-plan-memory's arenas take, and the intermediates they hold (what one
    allocation per buffer would take), summed over the module's functions."""
    plan = {"arena_bytes": 0, "intermediate_bytes": 0}
    for op in loop_module.walk():
        if op.name == "func.func":
            arena, buffers = op.attributes.get("loop.arena_bytes"), op.attributes.get("loop.buffer_bytes")
            plan["arena_bytes"] += arena.value if arena is not None else 0
            plan["intermediate_bytes"] += buffers.value if buffers is not None else 0
    return plan


def lower(model, opt_level: int = 3, stop_after: str = "llvm", input_shapes=None, opset=None,
          instruments: Sequence[Any] = (), target="host", disabled_passes: Sequence[str] = ()):
    """The module after the pipeline of `opt_level` up to `stop_after` (a fresh module),
    scheduled for `target` (a Target or its string), without `disabled_passes`."""
    from descend.rewrites import PassManager
    from .codegen import Target
    module = load_module(model, input_shapes, opset)
    target = target if isinstance(target, Target) else Target.parse(target)
    pm = PassManager.parse(pipeline(opt_level, stop_after, target.vector_bytes, disabled_passes))
    for instrument in instruments:
        pm.add_instrument(instrument)
    pm.run(module)
    return module


def compile(model, target: str = "host", opt_level: int = 3, input_shapes=None, opset=None,
            threads: int | None = None, instruments: Sequence[Any] = (),
            disabled_passes: Sequence[str] = ()) -> CompiledModel:
    """Import (if needed), optimise, lower and compile `model` for `target`. Parallel loops
    use `threads` threads (default: every core; `set_num_threads` changes it later).
    `disabled_passes` names optimisations to leave out (see `pipeline`)."""
    from .codegen import Target
    from .native import compile_loop_module
    start = time.perf_counter()
    target = target if isinstance(target, Target) else Target.parse(target)
    loop_module = lower(model, opt_level, "loop", input_shapes, opset, instruments, target, disabled_passes)
    native = compile_loop_module(loop_module, target=target, opt_level=opt_level, instruments=instruments,
                                 flatten=opt_level >= 1 and "loop-flatten-buffers" not in disabled_passes)
    compiled = CompiledModel(native, getattr(native, "module", loop_module), time.perf_counter() - start, target,
                             memory_plan(loop_module))
    # every core by default, as onnxruntime does; threads=1 for a single-threaded model
    compiled.set_num_threads(threads if threads is not None else (os.cpu_count() or 1))
    return compiled
