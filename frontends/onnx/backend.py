"""An ONNX backend (`onnx.backend.base.Backend`, shaped like `onnxruntime.backend`) over
descend, so onnx's conformance tests and any code written against that API run unchanged.

Shapes are static in descend, so a model with symbolic dimensions is imported again for
each new set of input shapes it is run with (and cached)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from onnx.backend.base import Backend, BackendRep

from .importer import import_model


class DescendRep(BackendRep):
    """A prepared model: `run(inputs)` gives the outputs as a tuple of numpy arrays."""

    def __init__(self, model, executor, input_shapes: dict | None = None):
        self.model = model
        self.executor = executor  # module -> callable(list of arrays) -> list of arrays
        initializers = {t.name for t in model.graph.initializer}
        for value in model.graph.input:
            if value.name not in initializers and not value.type.HasField("tensor_type"):
                from .importer import ModelError
                raise ModelError(model.graph.name or "<model>", f"input '{value.name}' is not a tensor "
                                 "(sequences, maps and optionals are not supported)")
        self.input_names = [i.name for i in model.graph.input if i.name not in initializers]
        self.output_names = [o.name for o in model.graph.output]
        # bf16 is stored as f32 inside descend; give it back as ml_dtypes.bfloat16, as onnx does
        self._bf16 = [o.type.tensor_type.elem_type == 16 for o in model.graph.output]
        self._prepared: dict = {}
        if input_shapes is not None:
            self._get(tuple(tuple(input_shapes[n]) for n in self.input_names))

    def _get(self, shapes: tuple):
        run = self._prepared.get(shapes)
        if run is None:
            module = import_model(self.model, input_shapes=dict(zip(self.input_names, shapes)))
            run = self._prepared[shapes] = self.executor(module)
        return run

    def run(self, inputs: Any, **kwargs) -> tuple:
        if isinstance(inputs, dict):
            inputs = [inputs[n] for n in self.input_names]
        elif isinstance(inputs, np.ndarray):
            inputs = [inputs]
        inputs = [np.asarray(x) for x in inputs]
        if len(inputs) != len(self.input_names):
            raise ValueError(f"the model takes {len(self.input_names)} inputs "
                             f"({', '.join(self.input_names)}), got {len(inputs)}")
        run = self._get(tuple(x.shape for x in inputs))
        outputs = list(run(inputs))
        if any(self._bf16):
            import ml_dtypes
            outputs = [np.asarray(y).astype(ml_dtypes.bfloat16) if bf16 else y
                       for y, bf16 in zip(outputs, self._bf16)]
        return tuple(outputs)


def interpreter_executor(module):
    from descend.ir.interpreter import interpret

    def run(inputs: Sequence[np.ndarray]):
        return interpret(module, "main", inputs)
    return run


class DescendBackend(Backend):
    """descend as an ONNX backend. `executor` turns an imported module into a callable;
    the interpreter until the compiled path exists."""

    executor = staticmethod(interpreter_executor)

    @classmethod
    def prepare(cls, model, device: str = "CPU", input_arrays: Sequence[np.ndarray] | None = None,
                **kwargs) -> DescendRep:
        super().prepare(model, device, **kwargs)
        shapes = None
        if input_arrays is not None:
            initializers = {t.name for t in model.graph.initializer}
            names = [i.name for i in model.graph.input if i.name not in initializers]
            # sequences and maps have no shape: the import refuses them with a clear error
            shapes = {n: np.shape(a) for n, a in zip(names, input_arrays) if isinstance(a, (np.ndarray, np.generic))}
            if len(shapes) != len(names):
                shapes = None
        return DescendRep(model, cls.executor, shapes)

    @classmethod
    def run_model(cls, model, inputs: Any, device: str = "CPU", **kwargs) -> tuple:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device.upper() == "CPU"


class InterpreterBackend(DescendBackend):
    """The reference interpreter as an ONNX backend: every op's numpy semantics."""

    executor = staticmethod(interpreter_executor)
