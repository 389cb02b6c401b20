"""The whole descent as a user meets it: models compiled to native code match onnxruntime,
the exported library runs through descend.runtime.load and from C, and `descend compile` /
`descend run` behave on good and bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

import descend  # noqa: E402
from descend.testing.onnx_models import MODELS, random_input  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def onnxruntime_outputs(model, inputs):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


@pytest.fixture(scope="module")
def compiled():
    """Each model compiled once (compiling costs seconds)."""
    return {name: (build(), descend.compile(build())) for name, build in MODELS.items()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_compiled_model_matches_onnxruntime(compiled, name):
    model, native = compiled[name]
    inputs = random_input(model, seed=3)
    expected = onnxruntime_outputs(model, inputs)
    for threads in (1, 2):
        native.set_num_threads(threads)
        got = native.run(inputs)  # by name
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)
    assert [i.name for i in native.get_inputs()] == ["x"]
    assert native.run(list(inputs.values()))[0].shape == expected[0].shape  # by position


def test_onnxruntime_style_run_and_benchmark(compiled):
    model, native = compiled["small_cnn"]
    inputs = random_input(model)
    (out,) = native.run(["fc"], inputs)
    assert out.shape == (1, 10)
    timing = native.benchmark(inputs=list(inputs.values()), warmup=1, repeat=3)
    assert timing.median > 0 and len(timing.results) == 3


def test_bad_inputs_name_the_input(compiled):
    model, native = compiled["small_cnn"]
    with pytest.raises(Exception, match="x") as info:
        native.run([np.zeros((1, 3, 31, 32), np.float32)])
    assert "31" in str(info.value)


def test_exported_library_runs_without_the_compiler(compiled, tmp_path):
    model, native = compiled["residual_block"]
    path = native.export_library(tmp_path / "residual.so")
    library = descend.runtime.load(path)
    inputs = random_input(model, seed=4)
    np.testing.assert_allclose(library.run(inputs)[0], native.run(inputs)[0], rtol=0, atol=0)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_the_c_example_runs_a_compiled_model(compiled, tmp_path):
    model, native = compiled["small_cnn"]
    library = native.export_library(tmp_path / "model.so")
    program = tmp_path / "run_model"
    subprocess.run(["cc", "-I", str(ROOT / "runtime"), str(ROOT / "examples" / "deploy" / "run_model.c"),
                    str(library), "-o", str(program), f"-Wl,-rpath,{tmp_path}"], check=True)
    done = subprocess.run([str(program)], capture_output=True, text=True, check=True)
    printed = [float(v) for v in done.stdout.split("output fc:")[1].split()[:5]]
    expected = onnxruntime_outputs(model, {"x": np.full((1, 3, 32, 32), 0.5, np.float32)})[0]
    np.testing.assert_allclose(printed, expected.reshape(-1)[:5], rtol=1e-4, atol=1e-5)


# ---- the command line -------------------------------------------------------------------------

def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "descend", *args], capture_output=True, text=True, cwd=cwd)


def test_run_checks_against_onnxruntime_and_times():
    done = cli("run", str(ROOT / "examples" / "small_cnn.onnx"), "--check", "--repeat", "3")
    assert done.returncode == 0, done.stderr
    assert "check fc: matches onnxruntime" in done.stderr
    assert "descend / onnxruntime =" in done.stderr


def test_compile_emits_every_stage_and_a_library(tmp_path):
    model = str(ROOT / "examples" / "small_cnn.onnx")
    for emit, marker in (("graph", "graph.fused"), ("te", "te.kernel"), ("loop", "loop.for"),
                         ("llvm", "llvm.func"), ("llvm-ir", "define"), ("asm", ".text")):
        done = cli("compile", model, "--emit", emit, "--elide-constants-larger-than", "8")
        assert done.returncode == 0, (emit, done.stderr)
        assert marker in done.stdout, emit
    library = tmp_path / "cnn.so"
    assert cli("compile", model, "-o", str(library)).returncode == 0
    done = cli("run", str(library), "--input", f"x=@{_npy(tmp_path)}")
    assert done.returncode == 0 and done.stdout.startswith("fc: float32[1, 10]"), done.stderr


def test_disable_pass_leaves_an_optimisation_out(tmp_path):
    model = str(ROOT / "examples" / "small_cnn.onnx")
    done = cli("compile", model, "--emit", "graph", "--print-pipeline", "--disable-pass", "nchwc-layout")
    assert done.returncode == 0, done.stderr
    assert "nchwc-layout" not in done.stderr and "fuse-ops" in done.stderr
    assert "graph.conv " in done.stdout and "conv_nchwc" not in done.stdout
    blocked = cli("compile", model, "--emit", "graph")
    assert "graph.conv_nchwc" in blocked.stdout
    done = cli("run", model, "--disable-pass", "nchwc-layout", "--disable-pass", "loop-vectorize", "--check")
    assert done.returncode == 0 and "matches onnxruntime" in done.stderr, done.stderr
    for command in (["compile", "-o", str(tmp_path / "x.so")], ["run"]):
        done = cli(*command, model, "--disable-pass", "lower-te-to-loop")
        assert done.returncode == 1 and "cannot disable lower-te-to-loop" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.so").exists()


def _npy(tmp_path) -> Path:
    path = tmp_path / "x.npy"
    np.save(path, np.full((1, 3, 32, 32), 0.25, np.float32))
    return path


def test_compile_errors_are_diagnostics_not_tracebacks(tmp_path):
    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
                   "  %y = graph.nonexistent %x : (tensor<2xf32>) -> tensor<2xf32>\n  return %y : tensor<2xf32>\n}\n")
    done = cli("compile", str(bad), "-o", str(tmp_path / "out.so"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "bad.mlir:2:8: error" in done.stderr
    assert not (tmp_path / "out.so").exists()
    done = cli("compile", str(ROOT / "examples" / "small_cnn.onnx"), "--target", "arm")
    assert done.returncode == 1 and "must be 'host' or start with 'llvm'" in done.stderr


def test_run_input_and_library_errors_are_diagnostics(tmp_path):
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((2, 2), np.float32))
    done = cli("run", str(ROOT / "examples" / "small_cnn.onnx"), "--input", f"x=@{wrong}")
    assert done.returncode == 1 and "input 'x' has shape [2, 2], expected [1, 3, 32, 32]" in done.stderr
    assert "internal error" not in done.stderr
    fake = tmp_path / "fake.so"
    fake.write_text("not a library")
    done = cli("run", str(fake))
    assert done.returncode == 1 and f"cannot load '{fake}'" in done.stderr and "internal error" not in done.stderr
