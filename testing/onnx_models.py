"""Small real-shaped ONNX models built with onnx.helper (fixed seeds): what the tests
import, optimise, interpret and compare with onnxruntime, and what examples and benches
can reuse. Each returns a ModelProto with one input named "x"."""

from __future__ import annotations

import numpy as np

OPSET = 17


def _helpers():
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    return onnx, TensorProto, helper, numpy_helper


class _Graph:
    """Collects nodes and initializers with generated names."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0

    def weight(self, name: str, shape, scale: float | None = None, positive: bool = False) -> str:
        _, _, _, numpy_helper = _helpers()
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else int(shape[0])
        scale = scale if scale is not None else 1.0 / np.sqrt(max(fan_in, 1))
        value = self.rng.standard_normal(shape).astype(np.float32) * scale
        if positive:
            value = np.abs(value) + 0.5
        self.initializers.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def const(self, name: str, array) -> str:
        _, _, _, numpy_helper = _helpers()
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type: str, inputs, name: str | None = None, outputs: int = 1, **attrs):
        _, _, helper, _ = _helpers()
        self.count += 1
        name = name or f"{op_type.lower()}{self.count}"
        outs = [name] if outputs == 1 else [f"{name}_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs[0] if outputs == 1 else outs

    def model(self, name: str, x_shape, output: str, out_shape=None, x_dims=None):
        onnx, TensorProto, helper, _ = _helpers()
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_dims or x_shape))],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, out_shape)],
            self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="descend.testing")
        if out_shape is None:
            # the output's shape as onnx infers it, so the model is complete and checkable
            inferred = onnx.shape_inference.infer_shapes(model)
            known = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output]
                     if v.type.tensor_type.HasField("shape")}
            if output in known:
                model.graph.output[0].CopyFrom(known[output])
        onnx.checker.check_model(model)
        return model


def mlp(batch: int | str = 1, sizes=(784, 512, 512, 10), seed: int = 0):
    """Gemm -> Relu layers and a final Gemm (the MNIST-sized MLP)."""
    g = _Graph(seed)
    h = "x"
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        w = g.weight(f"w{i}", (n_out, n_in))
        b = g.weight(f"b{i}", (n_out,), scale=0.1)
        h = g.node("Gemm", [h, w, b], name=f"fc{i}", transB=1)
        if i < len(sizes) - 2:
            h = g.node("Relu", [h], name=f"relu{i}")
    return g.model("mlp", (batch, sizes[0]), h)


def _conv_bn_relu(g: _Graph, x: str, c_in: int, c_out: int, name: str, stride: int = 1, relu: bool = True) -> str:
    w = g.weight(f"{name}.w", (c_out, c_in, 3, 3))
    y = g.node("Conv", [x, w], name=name, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride])
    scale = g.weight(f"{name}.bn.scale", (c_out,), positive=True)
    bias = g.weight(f"{name}.bn.bias", (c_out,), scale=0.1)
    mean = g.weight(f"{name}.bn.mean", (c_out,), scale=0.1)
    var = g.weight(f"{name}.bn.var", (c_out,), positive=True)
    y = g.node("BatchNormalization", [y, scale, bias, mean, var], name=f"{name}.bn", epsilon=1e-5)
    return g.node("Relu", [y], name=f"{name}.relu") if relu else y


def small_cnn(batch: int = 1, seed: int = 1):
    """conv-bn-relu x2 with max pooling, global average pooling, flatten, dense: 1x3x32x32 -> 10."""
    g = _Graph(seed)
    h = _conv_bn_relu(g, "x", 3, 16, "conv1")
    h = g.node("MaxPool", [h], name="pool1", kernel_shape=[2, 2], strides=[2, 2])
    h = _conv_bn_relu(g, h, 16, 32, "conv2")
    h = g.node("GlobalAveragePool", [h], name="gap")
    h = g.node("Flatten", [h], name="flatten", axis=1)
    w = g.weight("fc.w", (10, 32))
    b = g.weight("fc.b", (10,), scale=0.1)
    h = g.node("Gemm", [h, w, b], name="fc", transB=1)
    return g.model("small_cnn", (batch, 3, 32, 32), h)


def residual_block(batch: int = 1, channels: int = 16, size: int = 16, seed: int = 2):
    """ResNet's basic block: two conv-bn (one relu between) plus the identity, then relu."""
    g = _Graph(seed)
    h = _conv_bn_relu(g, "x", channels, channels, "conv1")
    h = _conv_bn_relu(g, h, channels, channels, "conv2", relu=False)
    h = g.node("Add", [h, "x"], name="residual")
    h = g.node("Relu", [h], name="out")
    return g.model("residual_block", (batch, channels, size, size), h)


def attention_block(batch: int = 1, sequence: int = 16, hidden: int = 32, heads: int = 2, seed: int = 3):
    """Self-attention with a residual and LayerNorm: x[B,S,H] -> q,k,v projections, split into
    heads, softmax(q k^T / sqrt(d)) v, merge heads, output projection, add x, LayerNorm."""
    g = _Graph(seed)
    d = hidden // heads
    split = g.const("heads_shape", np.array([batch, sequence, heads, d], np.int64))
    merged = g.const("merged_shape", np.array([batch, sequence, hidden], np.int64))
    projections = []
    for p in "qkv":
        w = g.weight(f"w{p}", (hidden, hidden))
        b = g.weight(f"b{p}", (hidden,), scale=0.1)
        y = g.node("MatMul", ["x", w], name=f"{p}_proj")
        y = g.node("Add", [y, b], name=f"{p}_bias")
        y = g.node("Reshape", [y, split], name=f"{p}_split")
        perm = [0, 2, 3, 1] if p == "k" else [0, 2, 1, 3]
        projections.append(g.node("Transpose", [y], name=f"{p}_heads", perm=perm))
    q, k, v = projections
    scores = g.node("MatMul", [q, k], name="scores")
    scale = g.const("scale", np.array(1.0 / np.sqrt(d), np.float32))
    scores = g.node("Mul", [scores, scale], name="scaled")
    probs = g.node("Softmax", [scores], name="softmax", axis=-1)
    context = g.node("MatMul", [probs, v], name="context")
    context = g.node("Transpose", [context], name="merge_heads", perm=[0, 2, 1, 3])
    context = g.node("Reshape", [context, merged], name="merge")
    wo = g.weight("wo", (hidden, hidden))
    out = g.node("MatMul", [context, wo], name="out_proj")
    out = g.node("Add", [out, "x"], name="residual")
    gamma = g.weight("ln.scale", (hidden,), positive=True)
    beta = g.weight("ln.bias", (hidden,), scale=0.1)
    out = g.node("LayerNormalization", [out, gamma, beta], name="ln", axis=-1, epsilon=1e-5)
    return g.model("attention_block", (batch, sequence, hidden), out)


MODELS = {"mlp": mlp, "small_cnn": small_cnn, "residual_block": residual_block,
          "attention_block": attention_block}


def random_input(model, seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 inputs for every graph input of a static-shape model."""
    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    out = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
        out[value.name] = rng.standard_normal(shape).astype(np.float32)
    return out
