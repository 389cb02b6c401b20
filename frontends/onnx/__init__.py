"""frontends.onnx: ONNX models as graph-dialect modules (`import_onnx`), and the list of
what cannot be imported (`check_onnx`)."""

from . import (ops_control, ops_elementwise, ops_indexing, ops_loss, ops_nn, ops_quantize,  # noqa: F401  (register converters)
               ops_recurrent, ops_reduction, ops_shape, ops_signal, ops_vision)
from .importer import (ImportFailed, ImportReport, ModelError, Problem, element_type, import_model,
                       onnx_dtype)
from .registry import CONVERTERS, Node, Unsupported, converter, lookup

import_onnx = import_model


def check_onnx(model_or_path, input_shapes=None, opset=None) -> ImportReport:
    """Every unsupported op, attribute or type of a model, without failing on the first."""
    try:
        import_model(model_or_path, input_shapes=input_shapes, opset=opset)
    except ImportFailed as exc:
        return exc.report
    return ImportReport()
