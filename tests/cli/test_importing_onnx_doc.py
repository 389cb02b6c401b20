"""docs/importing-onnx.md, run as a user would: the documented commands give the
documented output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")

DOC = Path(__file__).resolve().parents[2] / "docs" / "importing-onnx.md"


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "descend", *args], capture_output=True, text=True, cwd=cwd)


def documented_output(command: str) -> list[str]:
    """The lines the doc shows after `$ <command>` (up to the closing fence)."""
    text = DOC.read_text()
    start = text.index(f"$ {command}\n") + len(command) + 3
    return text[start:text.index("```", start)].rstrip("\n").splitlines()


@pytest.fixture
def models(tmp_path):
    from onnx import helper
    from descend.testing.onnx_models import mlp, small_cnn
    onnx.save(small_cnn(), tmp_path / "cnn.onnx")
    onnx.save(mlp(batch="N"), tmp_path / "mlp.onnx")
    odd = mlp(batch="N")
    odd.graph.node.insert(1, helper.make_node("FusedGelu", ["fc0"], ["g"], name="gelu", domain="com.example"))
    odd.opset_import.append(helper.make_opsetid("com.example", 1))
    for name in ("norm0", "norm1"):  # strings: descend has no string tensors
        odd.graph.node.append(helper.make_node("StringNormalizer", ["fc2"], [name + "_out"], name=name))
    onnx.save(odd, tmp_path / "odd.onnx")
    return tmp_path


def test_symbolic_dimension_error_is_as_documented(models):
    done = run("import", "mlp.onnx", cwd=models)
    assert done.returncode == 1
    assert done.stderr.splitlines() == documented_output("descend import mlp.onnx")


def test_import_and_print_as_documented(models):
    command = "descend import mlp.onnx --input-shape x=64x784 --elide-constants-larger-than 4 --print-debuginfo"
    done = run(*command.split()[1:], cwd=models)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    for line in documented_output(command):
        if line.strip() != "..." and not line.startswith("$ "):
            assert line in printed, f"documented line not printed: {line}"
    assert run("import", "mlp.onnx", "--input-shape", "x=64x784", "-o", "mlp.mlir", cwd=models).returncode == 0
    assert run("opt", "mlp.mlir", cwd=models).returncode == 0


def test_check_lists_every_problem_as_documented(models):
    done = run("import", "odd.onnx", "--check", "--input-shape", "x=1x784", cwd=models)
    assert done.returncode == 1
    assert done.stderr.splitlines() == documented_output("descend import odd.onnx --check --input-shape x=1x784")


def test_ops_table_header_as_documented(models):
    done = run("ops", "--supported", cwd=models)
    shown = documented_output("descend ops --supported | head -5")
    assert done.stdout.splitlines()[0] == shown[0]
    for line in shown[1:]:
        name = line.split()[0]
        assert any(re.match(rf"{name}\s+yes\s", printed) for printed in done.stdout.splitlines())
        assert line in done.stdout.splitlines()  # the recorded counts, as the doc shows them
