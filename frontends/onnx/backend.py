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

    def __init__(self, model, executor, input_arrays: Sequence[np.ndarray] | None = None):
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
        # descend stores bf16 as f32 (and may widen other types): give outputs back in the
        # numpy type onnx uses for the declared element type (ml_dtypes.bfloat16, ...)
        self._dtypes = [_numpy_type(o.type.tensor_type.elem_type) for o in model.graph.output]
        self._prepared: dict = {}
        self._frozen: list[str] = []  # inputs specialised on their values (see _get)
        if input_arrays is not None:
            arrays = [np.asarray(a) for a in input_arrays]
            self._get(tuple(a.shape for a in arrays), arrays)

    def _get(self, shapes: tuple, inputs: Sequence[np.ndarray] | None = None):
        """The runner for these input shapes, and the indices of the inputs it takes.

        Shapes are static, so a model whose shapes depend on an input's value (a Reshape
        whose target is a graph input, as in many ONNX node tests) is specialised on that
        value: the input is frozen to a constant and the value becomes part of the key."""
        frozen_key = ()
        if self._frozen and inputs is not None:
            frozen_key = tuple((n, inputs[i].dtype.str, inputs[i].tobytes()) for n, i in self._frozen_indices())
        key = (shapes, frozen_key)
        entry = self._prepared.get(key)
        if entry is None:
            from .importer import ImportFailed
            bound = dict(zip(self.input_names, shapes))
            constants = {n: inputs[self.input_names.index(n)] for n in self._frozen} if self._frozen else None
            try:
                module = import_model(self.model, input_shapes={n: s for n, s in bound.items() if n not in self._frozen},
                                      constant_inputs=constants)
            except ImportFailed as exc:
                wanted = exc.needs_constant - set(self._frozen)
                if inputs is None or not wanted or not wanted <= set(self.input_names):
                    raise
                self._frozen = sorted(set(self._frozen) | wanted)
                return self._get(shapes, inputs)
            kept = [i for i, n in enumerate(self.input_names) if n not in self._frozen]
            entry = self._prepared[key] = (self.executor(module), kept)
        return entry

    def _frozen_indices(self):
        return [(n, self.input_names.index(n)) for n in self._frozen]

    def run(self, inputs: Any, **kwargs) -> tuple:
        if isinstance(inputs, dict):
            inputs = [inputs[n] for n in self.input_names]
        elif isinstance(inputs, np.ndarray):
            inputs = [inputs]
        inputs = [np.asarray(x) for x in inputs]
        if len(inputs) != len(self.input_names):
            raise ValueError(f"the model takes {len(self.input_names)} inputs "
                             f"({', '.join(self.input_names)}), got {len(inputs)}")
        run, kept = self._get(tuple(x.shape for x in inputs), inputs)
        outputs = list(run([inputs[i] for i in kept]))
        outputs = [np.asarray(y).astype(dtype) if dtype is not None and np.asarray(y).dtype != dtype else y
                   for y, dtype in zip(outputs, self._dtypes)]
        return tuple(outputs)


def _numpy_type(onnx_elem_type: int):
    from onnx import helper
    try:
        return np.dtype(helper.tensor_dtype_to_np_dtype(onnx_elem_type)) if onnx_elem_type else None
    except (KeyError, ValueError, TypeError):
        return None


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
        arrays = None
        if input_arrays is not None and all(isinstance(a, (np.ndarray, np.generic)) for a in input_arrays):
            arrays = list(input_arrays)  # import now; sequences and maps are refused at import
        return DescendRep(model, cls.executor, arrays)

    @classmethod
    def run_model(cls, model, inputs: Any, device: str = "CPU", **kwargs) -> tuple:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device.upper() == "CPU"


class InterpreterBackend(DescendBackend):
    """The reference interpreter as an ONNX backend: every op's numpy semantics."""

    executor = staticmethod(interpreter_executor)
