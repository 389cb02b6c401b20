"""Whole models, as a user runs them: built with onnx.helper, imported, optimised with the
graph passes, interpreted, and compared with onnxruntime on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

import descend  # noqa: E402
from descend.frontends.onnx import import_onnx  # noqa: E402
from descend.testing.onnx_models import MODELS, random_input  # noqa: E402

GRAPH_PIPELINE = "builtin.module(func.func(simplify-inference,fold-constants,canonicalize,cse,fuse-ops))"


def onnxruntime_outputs(model, inputs):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def run_descend(module, inputs):
    return descend.interpret(module, "main", list(inputs.values()))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_imported_model_matches_onnxruntime(name):
    model = MODELS[name]()
    inputs = random_input(model)
    module = import_onnx(model)
    expected = onnxruntime_outputs(model, inputs)
    got = run_descend(module, inputs)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)


def test_mlp_with_a_symbolic_batch_binds_it():
    model = MODELS["mlp"](batch="N")
    module = import_onnx(model, input_shapes={"x": (64, 784)})
    inputs = random_input(import_shapes(model, 64))
    (got,) = run_descend(module, inputs)
    (expected,) = onnxruntime_outputs(model, inputs)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def import_shapes(model, batch):
    import onnx
    fixed = onnx.ModelProto.FromString(model.SerializeToString())
    fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value = batch
    return fixed


@pytest.mark.parametrize("name", sorted(MODELS))
def test_optimised_model_matches_onnxruntime(name):
    from descend.rewrites import PassManager
    model = MODELS[name]()
    inputs = random_input(model, seed=1)
    module = import_onnx(model)
    try:
        pm = PassManager.parse(GRAPH_PIPELINE)
    except descend.DiagnosticError as exc:
        pytest.skip(f"graph passes not registered yet: {exc.message}")
    pm.run(module)
    text = str(module)
    assert "graph.batch_norm" not in text  # folded into the convolutions
    assert "graph.fused" in text
    (got,) = run_descend(module, inputs)
    (expected,) = onnxruntime_outputs(model, inputs)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert str(descend.parse(text)) == text  # the optimised IR round-trips
