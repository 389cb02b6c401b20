"""Benchmark-sized ONNX models built with onnx.helper (fixed seeds, float32, weights as
initializers): the model set `bench/models.py` times descend on against onnxruntime and
numpy. The small models come from `descend.testing.onnx_models`; this module adds the
real-sized ones (ResNet-18, MobileNetV2, a transformer encoder, a plain matmul).

The shapes follow the published networks (torchvision's resnet18 and mobilenet_v2, a
BERT-style encoder layer), so a latency here is comparable with what users measure on the
real models; the weights are random (scaled by fan-in so activations stay in range), which
is all a latency and an agreement check need. `BENCH_MODELS` names every model the bench
knows, with its builder and the arguments it is built with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import onnx_models

OPSET = 17          # LayerNormalization is one op from opset 17; Gelu only from 20, so it is built from Erf


class _Builder:
    """Nodes and initializers with generated names, and the model around them (any number of
    graph inputs, the output's shape from onnx's shape inference, checked)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.initializers: list = []
        self.constants: set = set()
        self.count = 0

    def weight(self, name: str, shape, scale: float | None = None, positive: bool = False) -> str:
        from onnx import numpy_helper
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else int(shape[0])
        scale = scale if scale is not None else 1.0 / np.sqrt(max(fan_in, 1))
        value = self.rng.standard_normal(shape).astype(np.float32) * np.float32(scale)
        if positive:
            value = np.abs(value) + np.float32(0.5)
        self.initializers.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def const(self, name: str, array) -> str:
        from onnx import numpy_helper
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        self.constants.add(name)
        return name

    def shared_const(self, name: str, array) -> str:
        """One initializer for a constant many nodes read (relu6's bounds)."""
        return name if name in self.constants else self.const(name, array)

    def node(self, op_type: str, inputs, name: str | None = None, **attrs) -> str:
        from onnx import helper
        self.count += 1
        name = name or f"{op_type.lower()}{self.count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [name], name=name, **attrs))
        return name

    def model(self, name: str, inputs: dict, output: str):
        import onnx
        from onnx import TensorProto, helper
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs.items()],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
            self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="descend.testing.bench_models")
        # the output's shape as onnx infers it, so the model says what it returns
        inferred = onnx.shape_inference.infer_shapes(model)
        model.graph.output[0].CopyFrom(inferred.graph.output[0])
        onnx.checker.check_model(model)
        return model


def _conv_bn(g: _Builder, x: str, c_in: int, c_out: int, name: str, kernel: int = 3, stride: int = 1,
             groups: int = 1, activation: str | None = "relu") -> str:
    """Conv (no bias, padding keeps the size at stride 1) -> BatchNormalization -> activation
    (relu, relu6 as Clip(0, 6), or None), as the exported torchvision models are."""
    w = g.weight(f"{name}.w", (c_out, c_in // groups, kernel, kernel),
                 scale=np.sqrt(2.0 / (c_in // groups * kernel * kernel)))
    pad = kernel // 2
    y = g.node("Conv", [x, w], name=name, kernel_shape=[kernel, kernel], pads=[pad] * 4,
               strides=[stride, stride], group=groups)
    scale = g.weight(f"{name}.bn.scale", (c_out,), scale=0.2, positive=True)
    bias = g.weight(f"{name}.bn.bias", (c_out,), scale=0.1)
    mean = g.weight(f"{name}.bn.mean", (c_out,), scale=0.1)
    var = g.weight(f"{name}.bn.var", (c_out,), scale=0.5, positive=True)
    y = g.node("BatchNormalization", [y, scale, bias, mean, var], name=f"{name}.bn",
               epsilon=1e-5)
    if activation == "relu":
        return g.node("Relu", [y], name=f"{name}.relu")
    if activation == "relu6":
        low = g.shared_const("relu6.min", np.array(0.0, np.float32))
        high = g.shared_const("relu6.max", np.array(6.0, np.float32))
        return g.node("Clip", [y, low, high], name=f"{name}.relu6")
    return y


def _classifier(g: _Builder, x: str, channels: int, classes: int) -> str:
    """Global average pool, flatten, fully connected layer."""
    h = g.node("GlobalAveragePool", [x], name="gap")
    h = g.node("Flatten", [h], name="flatten", axis=1)
    w = g.weight("fc.w", (classes, channels))
    b = g.weight("fc.b", (classes,), scale=0.1)
    return g.node("Gemm", [h, w, b], name="fc", transB=1)


def resnet18(batch: int = 1, size: int = 224, classes: int = 1000, seed: int = 18):
    """ResNet-18: conv7x7/2-bn-relu, maxpool 3x3/2, four stages of two basic blocks
    (64, 128, 256, 512 channels; stages 2-4 start with stride 2 and a 1x1 conv-bn shortcut),
    global average pool, FC. Input x: batch x 3 x size x size."""
    g = _Builder(seed)
    h = _conv_bn(g, "x", 3, 64, "conv1", kernel=7, stride=2)
    h = g.node("MaxPool", [h], name="maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c_in = 64
    for stage, c_out in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            name = f"layer{stage}.{block}"
            y = _conv_bn(g, h, c_in, c_out, f"{name}.conv1", stride=stride)
            y = _conv_bn(g, y, c_out, c_out, f"{name}.conv2", activation=None)
            shortcut = h
            if stride != 1 or c_in != c_out:
                shortcut = _conv_bn(g, h, c_in, c_out, f"{name}.downsample", kernel=1, stride=stride,
                                    activation=None)
            y = g.node("Add", [y, shortcut], name=f"{name}.add")
            h = g.node("Relu", [y], name=f"{name}.relu")
            c_in = c_out
    h = _classifier(g, h, 512, classes)
    return g.model("resnet18", {"x": (batch, 3, size, size)}, h)


# MobileNetV2's inverted residual settings: expansion t, output channels c, repeats n, stride s
MOBILENET_V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(batch: int = 1, size: int = 224, classes: int = 1000, seed: int = 2):
    """MobileNetV2 at width 1.0: conv3x3/2 to 32 channels, the 17 inverted residual blocks of
    `MOBILENET_V2_BLOCKS` (1x1 expand + relu6, 3x3 depthwise + relu6, 1x1 project; the input
    added back when the stride is 1 and the channels match), 1x1 conv to 1280 + relu6,
    global average pool, FC. Input x: batch x 3 x size x size."""
    g = _Builder(seed)
    h = _conv_bn(g, "x", 3, 32, "conv0", stride=2, activation="relu6")
    c_in = 32
    index = 0
    for t, c, n, s in MOBILENET_V2_BLOCKS:
        for repeat in range(n):
            stride = s if repeat == 0 else 1
            name = f"block{index}"
            hidden = c_in * t
            y = h
            if t != 1:
                y = _conv_bn(g, y, c_in, hidden, f"{name}.expand", kernel=1, activation="relu6")
            y = _conv_bn(g, y, hidden, hidden, f"{name}.depthwise", stride=stride, groups=hidden,
                         activation="relu6")
            y = _conv_bn(g, y, hidden, c, f"{name}.project", kernel=1, activation=None)
            if stride == 1 and c_in == c:
                y = g.node("Add", [y, h], name=f"{name}.add")
            h, c_in = y, c
            index += 1
    h = _conv_bn(g, h, c_in, 1280, "conv_last", kernel=1, activation="relu6")
    h = _classifier(g, h, 1280, classes)
    return g.model("mobilenet_v2", {"x": (batch, 3, size, size)}, h)


def _gelu(g: _Builder, x: str, name: str) -> str:
    """x * 0.5 * (1 + erf(x / sqrt(2))): Gelu as exporters write it before opset 20."""
    root2 = g.const(f"{name}.sqrt2", np.array(np.sqrt(2.0), np.float32))
    one = g.const(f"{name}.one", np.array(1.0, np.float32))
    half = g.const(f"{name}.half", np.array(0.5, np.float32))
    y = g.node("Div", [x, root2], name=f"{name}.div")
    y = g.node("Erf", [y], name=f"{name}.erf")
    y = g.node("Add", [y, one], name=f"{name}.add")
    y = g.node("Mul", [x, y], name=f"{name}.mul")
    return g.node("Mul", [y, half], name=f"{name}.half_mul")


def _dense(g: _Builder, x: str, n_in: int, n_out: int, name: str) -> str:
    w = g.weight(f"{name}.w", (n_in, n_out), scale=1.0 / np.sqrt(n_in))
    b = g.weight(f"{name}.b", (n_out,), scale=0.1)
    y = g.node("MatMul", [x, w], name=name)
    return g.node("Add", [y, b], name=f"{name}.bias")


def _layer_norm(g: _Builder, x: str, hidden: int, name: str) -> str:
    gamma = g.weight(f"{name}.scale", (hidden,), scale=0.1, positive=True)
    beta = g.weight(f"{name}.bias", (hidden,), scale=0.1)
    return g.node("LayerNormalization", [x, gamma, beta], name=name, axis=-1, epsilon=1e-5)


def transformer_encoder(batch: int = 1, sequence: int = 128, hidden: int = 128, heads: int = 2,
                        ffn: int = 512, layers: int = 2, seed: int = 7):
    """A BERT-style encoder of `layers` post-norm layers: Q, K, V projections (MatMul + Add),
    split into heads (Reshape + Transpose), softmax(Q K^T / sqrt(d)) V, merge heads, output
    projection, residual + LayerNormalization, FFN (dense, Gelu, dense), residual +
    LayerNormalization. Input x: batch x sequence x hidden."""
    g = _Builder(seed)
    d = hidden // heads
    split = g.const("heads_shape", np.array([batch, sequence, heads, d], np.int64))
    merged = g.const("merged_shape", np.array([batch, sequence, hidden], np.int64))
    scale = g.const("scale", np.array(1.0 / np.sqrt(d), np.float32))
    h = "x"
    for layer in range(layers):
        name = f"layer{layer}"
        qkv = []
        for p in "qkv":
            y = _dense(g, h, hidden, hidden, f"{name}.{p}")
            y = g.node("Reshape", [y, split], name=f"{name}.{p}.split")
            perm = [0, 2, 3, 1] if p == "k" else [0, 2, 1, 3]      # K arrives transposed
            qkv.append(g.node("Transpose", [y], name=f"{name}.{p}.heads", perm=perm))
        q, k, v = qkv
        scores = g.node("MatMul", [q, k], name=f"{name}.scores")
        scores = g.node("Mul", [scores, scale], name=f"{name}.scaled")
        probs = g.node("Softmax", [scores], name=f"{name}.softmax", axis=-1)
        context = g.node("MatMul", [probs, v], name=f"{name}.context")
        context = g.node("Transpose", [context], name=f"{name}.merge_heads", perm=[0, 2, 1, 3])
        context = g.node("Reshape", [context, merged], name=f"{name}.merge")
        attn = _dense(g, context, hidden, hidden, f"{name}.out")
        h = _layer_norm(g, g.node("Add", [attn, h], name=f"{name}.residual1"), hidden, f"{name}.ln1")
        y = _dense(g, h, hidden, ffn, f"{name}.ffn1")
        y = _gelu(g, y, f"{name}.gelu")
        y = _dense(g, y, ffn, hidden, f"{name}.ffn2")
        h = _layer_norm(g, g.node("Add", [y, h], name=f"{name}.residual2"), hidden, f"{name}.ln2")
    return g.model("transformer_encoder", {"x": (batch, sequence, hidden)}, h)


def matmul(m: int = 1024, k: int | None = None, n: int | None = None):
    """One MatMul of two graph inputs: a (m x k) @ b (k x n) -> y; square by default."""
    k = m if k is None else k
    n = m if n is None else n
    g = _Builder(0)
    y = g.node("MatMul", ["a", "b"], name="y")
    return g.model(f"matmul{m}", {"a": (m, k), "b": (k, n)}, y)


@dataclass(frozen=True)
class BenchModel:
    """A named model of the bench: how to build it, and what it is."""

    name: str
    build: Callable
    kwargs: dict = field(default_factory=dict)
    description: str = ""

    def model(self):
        return self.build(**self.kwargs)


def _models(*entries: BenchModel) -> dict[str, BenchModel]:
    return {entry.name: entry for entry in entries}


BENCH_MODELS = _models(
    BenchModel("mlp1", onnx_models.mlp, {"batch": 1}, "MLP 784-512-512-10 (Gemm+Relu), batch 1"),
    BenchModel("mlp64", onnx_models.mlp, {"batch": 64}, "MLP 784-512-512-10 (Gemm+Relu), batch 64"),
    BenchModel("small_cnn", onnx_models.small_cnn, {}, "2x conv-bn-relu, maxpool, GAP, FC; 1x3x32x32"),
    BenchModel("resnet18", resnet18, {}, "ResNet-18, 1x3x224x224"),
    BenchModel("resnet18_64", resnet18, {"size": 64}, "ResNet-18 at reduced resolution, 1x3x64x64"),
    BenchModel("mobilenet_v2", mobilenet_v2, {}, "MobileNetV2 (width 1.0), 1x3x224x224"),
    BenchModel("mobilenet_v2_64", mobilenet_v2, {"size": 64},
               "MobileNetV2 (width 1.0) at reduced resolution, 1x3x64x64"),
    BenchModel("transformer", transformer_encoder, {},
               "2-layer encoder: hidden 128, 2 heads, FFN 512 (Gelu), sequence 128, batch 1"),
    BenchModel("matmul1024", matmul, {"m": 1024}, "one MatMul, 1024x1024 @ 1024x1024"),
    BenchModel("matmul512", matmul, {"m": 512}, "one MatMul, 512x512 @ 512x512"),
)
