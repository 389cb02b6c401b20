"""descend.backend: descend as an ONNX backend (`onnx.backend.base.Backend`), in the shape
of `onnxruntime.backend`: `prepare(model).run(inputs)`, `run_model`, `run_node`,
`supports_device`. Runs the interpreter until the compiled path lands."""

from descend.frontends.onnx.backend import DescendBackend, DescendRep

prepare = DescendBackend.prepare
run_model = DescendBackend.run_model
run_node = DescendBackend.run_node
supports_device = DescendBackend.supports_device

__all__ = ["DescendBackend", "DescendRep", "prepare", "run_model", "run_node", "supports_device"]
