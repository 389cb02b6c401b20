"""The model bench: its builders make valid ONNX models of the published shapes (checked
with onnx's checker and shape inference, nothing big is run), and bench/models.py writes
one record per model and thread count, keeping a model that descend cannot compile as a
row with its error instead of ending the run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from descend.testing.bench_models import (BENCH_MODELS, MOBILENET_V2_BLOCKS, matmul,  # noqa: E402
                                          mobilenet_v2, resnet18, transformer_encoder)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "models.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_models_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shape(value) -> list[int]:
    return [d.dim_value for d in value.type.tensor_type.shape.dim]


def _count(model, op_type: str) -> int:
    return sum(1 for n in model.graph.node if n.op_type == op_type)


def _trainable(model) -> int:
    """Parameters as torchvision counts them: not batch norm's running statistics."""
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer
               if not t.name.endswith((".bn.mean", ".bn.var")) and not t.name.startswith("relu6"))


def _inferred_shapes(model) -> dict[str, list[int]]:
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return {v.name: _shape(v) for v in [*inferred.graph.value_info, *inferred.graph.output]}


@pytest.mark.parametrize("name,shape", [
    ("mlp1", [1, 10]), ("mlp64", [64, 10]), ("small_cnn", [1, 10]), ("resnet18", [1, 1000]),
    ("resnet18_64", [1, 1000]), ("mobilenet_v2", [1, 1000]), ("transformer", [1, 128, 128]),
    ("matmul512", [512, 512]),
])
def test_registered_models_are_valid_with_their_output_shape(name, shape):
    model = BENCH_MODELS[name].model()
    onnx.checker.check_model(model, full_check=True)
    assert _shape(model.graph.output[0]) == shape
    assert all(t.data_type == onnx.TensorProto.FLOAT for t in model.graph.initializer
               if t.name not in ("heads_shape", "merged_shape"))


def test_resnet18_has_the_published_layers():
    model = resnet18()
    assert _trainable(model) == 11_689_512            # torchvision's resnet18
    assert _count(model, "Conv") == 20                # stem, 16 in blocks, 3 downsample shortcuts
    assert _count(model, "Add") == 8
    shapes = _inferred_shapes(model)
    assert shapes["maxpool"] == [1, 64, 56, 56]
    assert shapes["layer2.0.downsample"] == [1, 128, 28, 28]
    assert shapes["layer4.1.relu"] == [1, 512, 7, 7]


def test_mobilenet_v2_has_the_published_layers():
    model = mobilenet_v2()
    assert _trainable(model) == 3_504_872             # torchvision's mobilenet_v2
    blocks = sum(n for _, _, n, _ in MOBILENET_V2_BLOCKS)
    assert blocks == 17
    assert _count(model, "Add") == 10                 # the stride-1, same-channel blocks
    depthwise = [n for n in model.graph.node if n.name.endswith(".depthwise")]
    assert len(depthwise) == 17
    group = {a.name: a.i for a in depthwise[-1].attribute}["group"]
    assert group == 960
    shapes = _inferred_shapes(model)
    assert shapes["conv_last.relu6"] == [1, 1280, 7, 7]


def test_transformer_encoder_runs_and_matches_onnxruntime_shape():
    ort = pytest.importorskip("onnxruntime")
    model = transformer_encoder(layers=1, sequence=8, hidden=16, heads=2, ffn=32)
    assert _count(model, "LayerNormalization") == 2 and _count(model, "Erf") == 1
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 8, 16)).astype(np.float32)
    (y,) = session.run(None, {"x": x})
    assert y.shape == (1, 8, 16) and np.all(np.isfinite(y))
    assert _inferred_shapes(transformer_encoder())["layer1.ln2"] == [1, 128, 128]


def test_numpy_forward_matches_onnxruntime_on_the_mlp_and_matmul():
    ort = pytest.importorskip("onnxruntime")
    bench = _bench()
    for model in (BENCH_MODELS["mlp64"].model(), matmul(64, 32, 16)):
        assert bench.NumpyForward.supports(model)
        feed = bench.random_feed(model)
        forward = bench.NumpyForward(model)
        (got,) = forward(feed)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(got, session.run(None, feed)[0], rtol=1e-4, atol=1e-4)
    assert forward.flops == 2 * 64 * 32 * 16
    assert not bench.NumpyForward.supports(BENCH_MODELS["small_cnn"].model())


def test_measure_takes_at_least_the_minimum_repeats():
    timing = _bench().measure(lambda: None, budget=0.0)
    assert timing["repeats"] == 5 and timing["p10_ms"] <= timing["ms"] <= timing["p90_ms"]


def test_a_run_without_two_free_cores_is_flagged():
    bench = _bench()
    assert 0.5 < bench.free_cores(2, rounds=2) <= 2
    records = [{"model": "mm", "threads": 1, "descend_cores": None, "onnxruntime_cores": None},
               {"model": "mm", "threads": 2, "descend_cores": 1.04, "onnxruntime_cores": 1.9},
               {"model": "ok", "threads": 2, "descend_cores": 1.8, "onnxruntime_cores": 1.95}]
    (note,) = bench.contention_notes(records)
    assert note.startswith("note: mm at 2 threads: descend was timed while the process had 1.04 free cores")


def test_compare_flags_a_wrong_answer(tmp_path):
    bench = _bench()
    want = np.linspace(-1, 1, 10, dtype=np.float32)
    np.savez(tmp_path / "want.npz", want)
    np.savez(tmp_path / "close.npz", want + 1e-6)
    np.savez(tmp_path / "wrong.npz", want + 0.1)
    assert bench.compare(str(tmp_path / "close.npz"), str(tmp_path / "want.npz"), 1e-3)["check"] == "ok"
    wrong = bench.compare(str(tmp_path / "wrong.npz"), str(tmp_path / "want.npz"), 1e-3)
    assert wrong["check"] == "FAIL" and wrong["max_abs_err"] == pytest.approx(0.1, rel=1e-5)


def _unsupported_model(path: Path) -> Path:
    """Binarizer (ai.onnx.ml): onnxruntime runs it, descend has no converter for it."""
    from onnx import TensorProto, helper
    node = helper.make_node("Binarizer", ["x"], ["y"], domain="ai.onnx.ml", threshold=0.0)
    graph = helper.make_graph([node], "binarizer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.ml", 3)])
    onnx.save(model, str(path))
    return path


def test_a_tiny_run_writes_one_record_per_model_and_thread_count(tmp_path):
    pytest.importorskip("onnxruntime")
    bad = _unsupported_model(tmp_path / "binarizer.onnx")
    out = tmp_path / "out.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--models", f"small_cnn,{bad}", "--threads", "1",
                           "--budget", "0.02", "--json", str(out), "--no-write"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    records = json.loads(out.read_text())["records"]
    assert [(r["model"], r["threads"]) for r in records] == [("small_cnn", 1), ("binarizer", 1)]
    good, failed = records
    for key in ("model", "threads", "descend_ms", "onnxruntime_ms", "compile_s", "descend_p10_ms",
                "descend_p90_ms", "onnxruntime_p10_ms", "onnxruntime_p90_ms", "numpy_ms", "ratio",
                "arena_bytes", "intermediate_bytes", "descend_rss_mb", "onnxruntime_rss_mb",
                "max_abs_err", "check", "error"):
        assert key in good, key
    assert good["error"] is None and good["check"] == "ok"
    assert good["descend_ms"] > 0 and good["onnxruntime_ms"] > 0 and good["compile_s"] > 0
    assert good["ratio"] == pytest.approx(good["descend_ms"] / good["onnxruntime_ms"])
    assert 0 < good["arena_bytes"] <= good["intermediate_bytes"]
    assert good["descend_rss_mb"] > 0 and good["onnxruntime_rss_mb"] > 0
    assert failed["descend_ms"] is None and failed["onnxruntime_ms"] > 0
    assert "Binarizer" in failed["error"] and "\n" not in failed["error"]
    assert "binarizer" in done.stdout and "small_cnn" in done.stdout


def test_an_unknown_model_name_is_a_usage_error():
    done = subprocess.run([sys.executable, str(SCRIPT), "--models", "resnet1000"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "unknown model 'resnet1000'" in done.stderr
