"""runtime: a compiled model's shared library through ctypes: its input/output queries
(names, shapes, dtypes, as onnxruntime's get_inputs/get_outputs give them), input checks
with errors naming the input, and `run` returning numpy arrays."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np


def header_path() -> Path:
    """The C header of the API (descend_runtime.h)."""
    return Path(__file__).with_name("descend_runtime.h")


@dataclass(frozen=True)
class TensorInfo:
    """An input or output: `.name`, `.shape` (list of ints), `.dtype` (numpy dtype) and
    `.type` (onnxruntime's spelling, `tensor(float)`)."""

    name: str
    shape: list
    dtype: np.dtype

    @property
    def type(self) -> str:
        return f"tensor({_ONNX_NAMES.get(self.dtype.name, self.dtype.name)})"


_ONNX_NAMES = {"float32": "float", "float64": "double", "float16": "float16", "int8": "int8",
               "int16": "int16", "int32": "int32", "int64": "int64", "uint8": "uint8",
               "uint16": "uint16", "uint32": "uint32", "uint64": "uint64", "bool": "bool"}


class Library:
    """A loaded model library. `run(inputs)` takes a list (in input order) or a dict by name
    and returns the outputs as a list of new arrays."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no compiled model at {self.path}")
        self.lib = ctypes.CDLL(str(self.path.resolve()))
        missing = [name for name in _API if not hasattr(self.lib, name)]
        if missing:
            raise ValueError(f"{self.path} is not a descend model library: it does not export "
                             f"{', '.join(missing)}")
        for name, (restype, argtypes) in _API.items():
            fn = getattr(self.lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        self.inputs = self._infos("input")
        self.outputs = self._infos("output")
        self.model = self.lib.descend_create()
        if not self.model:
            raise MemoryError("descend_create failed")

    def _infos(self, kind: str) -> list:
        count = getattr(self.lib, f"descend_num_{kind}s")()
        infos = []
        for i in range(count):
            name = getattr(self.lib, f"descend_{kind}_name")(i).decode()
            rank = getattr(self.lib, f"descend_{kind}_rank")(i)
            shape_ptr = getattr(self.lib, f"descend_{kind}_shape")(i)
            shape = [int(shape_ptr[d]) for d in range(rank)]
            dtype = _dtype(getattr(self.lib, f"descend_{kind}_dtype")(i).decode())
            infos.append(TensorInfo(name, shape, dtype))
        return infos

    def get_inputs(self) -> list:
        return list(self.inputs)

    def get_outputs(self) -> list:
        return list(self.outputs)

    @property
    def num_threads(self) -> int:
        return self.lib.descend_get_num_threads(self.model)

    def set_num_threads(self, n: int) -> None:
        self.lib.descend_set_num_threads(self.model, int(n))

    def _arrays(self, inputs) -> list:
        if isinstance(inputs, Mapping):
            names = [info.name for info in self.inputs]
            unknown = sorted(set(inputs) - set(names))
            if unknown:
                raise ValueError(f"unknown input(s) {', '.join(map(repr, unknown))}; the model's "
                                 f"inputs are {', '.join(map(repr, names))}")
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"missing input(s) {', '.join(map(repr, missing))}")
            inputs = [inputs[n] for n in names]
        elif not isinstance(inputs, Sequence) or isinstance(inputs, (str, bytes)):
            inputs = [inputs]
        if len(inputs) != len(self.inputs):
            raise ValueError(f"the model takes {len(self.inputs)} input(s) "
                             f"({', '.join(i.name for i in self.inputs)}), got {len(inputs)}")
        arrays = []
        for info, value in zip(self.inputs, inputs):
            array = np.asarray(value)
            if list(array.shape) != info.shape:
                raise ValueError(f"input '{info.name}' has shape {list(array.shape)}, "
                                 f"expected {info.shape}")
            if array.dtype != info.dtype:
                raise TypeError(f"input '{info.name}' has dtype {array.dtype}, expected {info.dtype}")
            arrays.append(np.ascontiguousarray(array))
        return arrays

    def run(self, inputs, output_names=None) -> list:
        """Run on `inputs` (list or dict by name); returns every output, or those named."""
        arrays = self._arrays(inputs)
        outputs = [np.empty(info.shape, info.dtype) for info in self.outputs]
        in_ptrs = (ctypes.c_void_p * max(len(arrays), 1))(*[a.ctypes.data for a in arrays])
        out_ptrs = (ctypes.c_void_p * max(len(outputs), 1))(*[o.ctypes.data for o in outputs])
        status = self.lib.descend_run(self.model, in_ptrs, out_ptrs)
        if status != 0:
            raise RuntimeError(f"descend_run failed with status {status}")
        if output_names is not None:
            by_name = {info.name: o for info, o in zip(self.outputs, outputs)}
            return [by_name[name] for name in output_names]
        return outputs

    __call__ = run

    def close(self) -> None:
        if getattr(self, "model", None):
            self.lib.descend_destroy(self.model)
            self.model = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return (f"<descend.runtime.Library {self.path.name}: "
                f"{', '.join(f'{i.name}{i.shape}' for i in self.inputs)} -> "
                f"{', '.join(f'{o.name}{o.shape}' for o in self.outputs)}>")


_P, _I32 = ctypes.c_void_p, ctypes.c_int32
_API = {
    "descend_create": (_P, []),
    "descend_destroy": (None, [_P]),
    "descend_run": (_I32, [_P, ctypes.POINTER(_P), ctypes.POINTER(_P)]),
    "descend_set_num_threads": (None, [_P, _I32]),
    "descend_get_num_threads": (_I32, [_P]),
    "descend_num_inputs": (_I32, []),
    "descend_num_outputs": (_I32, []),
    "descend_input_name": (ctypes.c_char_p, [_I32]),
    "descend_input_rank": (_I32, [_I32]),
    "descend_input_shape": (ctypes.POINTER(ctypes.c_int64), [_I32]),
    "descend_input_dtype": (ctypes.c_char_p, [_I32]),
    "descend_output_name": (ctypes.c_char_p, [_I32]),
    "descend_output_rank": (_I32, [_I32]),
    "descend_output_shape": (ctypes.POINTER(ctypes.c_int64), [_I32]),
    "descend_output_dtype": (ctypes.c_char_p, [_I32]),
}


def _dtype(name: str) -> np.dtype:
    """numpy's dtype by name; bfloat16 is ml_dtypes' (imported only for models that use it)."""
    if name == "bfloat16":
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def load(path) -> Library:
    """Load a model library written by descend (`export_library`)."""
    return Library(path)
