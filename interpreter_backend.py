"""descend.interpreter_backend: the reference interpreter as an ONNX backend — every op's
numpy semantics, no code generation. Same API as descend.backend."""

from descend.frontends.onnx.backend import DescendRep, InterpreterBackend

prepare = InterpreterBackend.prepare
run_model = InterpreterBackend.run_model
run_node = InterpreterBackend.run_node
supports_device = InterpreterBackend.supports_device

__all__ = ["InterpreterBackend", "DescendRep", "prepare", "run_model", "run_node", "supports_device"]
