"""The ONNX importer as a user meets it: errors that name inputs, dimensions and nodes;
symbolic dimensions bound by the user; the CLI's import, --check, ops and opt on .onnx."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

import descend  # noqa: E402
from descend.frontends.onnx import ImportFailed, ModelError, check_onnx, import_onnx  # noqa: E402


def small_model(extra_nodes=(), x_dims=("N", 3), opset=17):
    nodes = [helper.make_node("Add", ["x", "b"], ["s"], name="add0"),
             helper.make_node("Relu", ["s"], ["y"], name="relu0"), *extra_nodes]
    graph = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_dims))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [helper.make_tensor("b", TensorProto.FLOAT, [3], [1, 2, 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_import_binds_symbolic_dims_and_interprets():
    module = import_onnx(small_model(), input_shapes={"x": (2, 3)})
    text = str(module)
    assert "func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32>" in text
    assert "%s = graph.add %x, %b" in text  # ONNX names become SSA names
    x = np.array([[-5, 0, 1], [1, -2, -9]], np.float32)
    (y,) = descend.interpret(module, "main", [x])
    np.testing.assert_array_equal(y, np.maximum(x + [1, 2, 3], 0))
    assert str(descend.parse(text)) == text  # the imported IR round-trips


def test_missing_binding_names_the_input_and_the_dimension():
    with pytest.raises(ModelError, match=r"input 'x' dimension 0 is symbolic \('N'\): give its size "
                                         r"with --input-shape x=Nx3"):
        import_onnx(small_model())


def test_bad_bindings_are_errors():
    with pytest.raises(ModelError, match="--input-shape names 'z', but the model's inputs are 'x'"):
        import_onnx(small_model(), input_shapes={"x": (2, 3), "z": (1,)})
    with pytest.raises(ModelError, match="input 'x' has rank 2, but --input-shape gives 3 sizes"):
        import_onnx(small_model(), input_shapes={"x": (2, 3, 4)})
    with pytest.raises(ModelError, match="input 'x' dimension 1 is 3, but --input-shape gives 4"):
        import_onnx(small_model(), input_shapes={"x": (2, 4)})


def test_every_unsupported_node_is_listed_with_its_name():
    extra = [helper.make_node("Foo", ["y"], ["z"], name="foo0"),
             helper.make_node("Bar", ["y"], ["w"], name="bar0"),
             helper.make_node("Foo", ["w"], ["q"], name="foo1"),   # fed by a failed node: still listed
             helper.make_node("Relu", ["w"], ["r"], name="after")]  # supported, fed by a failed node: skipped
    model = small_model(extra)
    with pytest.raises(ImportFailed) as info:
        import_onnx(model, input_shapes={"x": (2, 3)})
    message = str(info.value)
    assert message.splitlines()[0] == "small: error: 3 nodes of 2 op types cannot be imported:"
    assert "  Bar: no converter for this op (node 'bar0')" in message
    assert "  Foo: no converter for this op (nodes 'foo0', 'foo1')" in message
    assert "after" not in message
    report = check_onnx(model, input_shapes={"x": (2, 3)})
    assert sorted((p.op_type, p.node) for p in report.problems) == [("Bar", "bar0"), ("Foo", "foo0"), ("Foo", "foo1")]


def test_ops_carry_the_onnx_node_as_location():
    module = import_onnx(small_model(), input_shapes={"x": (2, 3)})
    located = {op.name: op.location for op in module.walk() if op.name.startswith("graph.")}
    assert str(located["graph.add"]) == 'loc("add0")'
    assert str(located["graph.relu"]) == 'loc("relu0")'


def test_old_opsets_are_upgraded():
    module = import_onnx(small_model(opset=9), input_shapes={"x": (1, 3)})
    assert "graph.relu" in str(module)


def test_unreadable_files(tmp_path):
    with pytest.raises(ModelError, match="no such file"):
        import_onnx(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        import_onnx(bad)


# ---- the command line ------------------------------------------------------------------------

def descend_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "descend", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_import_check_and_opt(tmp_path):
    path = tmp_path / "small.onnx"
    onnx.save(small_model(), path)
    done = descend_cli("import", str(path))
    assert done.returncode == 1 and "dimension 0 is symbolic" in done.stderr and "Traceback" not in done.stderr
    out = tmp_path / "small.mlir"
    done = descend_cli("import", str(path), "--input-shape", "x=4x3", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "tensor<4x3xf32>" in out.read_text()
    done = descend_cli("opt", str(out))  # the imported file is valid IR
    assert done.returncode == 0, done.stderr
    done = descend_cli("opt", str(path), "--input-shape", "x=4x3", "-p", "cse")
    assert done.returncode == 0 and "graph.relu" in done.stdout
    done = descend_cli("import", str(path), "--check", "--input-shape", "x=4x3")
    assert done.returncode == 0 and "every node can be imported" in done.stderr

    bad = tmp_path / "bad.onnx"
    onnx.save(small_model([helper.make_node("Foo", ["y"], ["z"], name="foo0")]), bad)
    target = tmp_path / "bad.mlir"
    done = descend_cli("import", str(bad), "--input-shape", "x=4x3", "-o", str(target))
    assert done.returncode == 1 and "Foo: no converter for this op (node 'foo0')" in done.stderr
    assert not target.exists()  # nothing half-written
    done = descend_cli("import", str(bad), "--check", "--input-shape", "x=4x3")
    assert done.returncode == 1 and "foo0" in done.stderr


def test_cli_bad_input_shape_is_a_usage_error(tmp_path):
    done = descend_cli("import", "m.onnx", "--input-shape", "x=3xz", cwd=tmp_path)
    assert done.returncode == 2 and "is not a shape like 1x3x224x224" in done.stderr


def test_cli_ops_lists_converters():
    done = descend_cli("ops", "--supported")
    assert done.returncode == 0
    assert any(line.split()[:2] == ["Add", "yes"] for line in done.stdout.splitlines())
