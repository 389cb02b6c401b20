"""ONNX -> graph: converters of recurrent ops — RNN, GRU, LSTM.

The graph ops take every operand and the time-first layout: omitted ONNX inputs become
zero constants (full-length sequence_lens), layout 1 becomes transposes around the op, and
activation names are resolved with their alpha/beta as onnxruntime reads them (each
function that has an alpha or beta takes the next value of the list, or its default)."""

from __future__ import annotations

import numpy as np

from descend.dialects import graph
from descend.ir import FloatType, IntegerType

from .registry import Node, Unsupported, converter

# onnx name (lower case) -> (takes alpha, takes beta, default alpha, default beta)
_PARAMETERS = {
    "relu": (False, False, 0.0, 0.0), "tanh": (False, False, 0.0, 0.0),
    "sigmoid": (False, False, 0.0, 0.0), "affine": (True, True, 1.0, 0.0),
    "leakyrelu": (True, False, 0.01, 0.0), "thresholdedrelu": (True, False, 1.0, 0.0),
    "scaledtanh": (True, True, 1.0, 1.0), "hardsigmoid": (True, True, 0.2, 0.5),
    "elu": (True, False, 1.0, 0.0), "softsign": (False, False, 0.0, 0.0),
    "softplus": (False, False, 0.0, 0.0),
}

_DEFAULTS = {"RNN": ["tanh"], "GRU": ["sigmoid", "tanh"], "LSTM": ["sigmoid", "tanh", "tanh"]}
_OPS = {"RNN": (graph.RnnOp, 1), "GRU": (graph.GruOp, 3), "LSTM": (graph.LstmOp, 4)}


def _activations(node: Node, dirs: int) -> tuple[list[str], list[float], list[float]]:
    defaults = _DEFAULTS[node.op_type]
    names = [n.lower() for n in (node.attr("activations", None) or defaults * dirs)]
    if len(names) == len(defaults) and dirs == 2:
        names = names * 2
    if len(names) != len(defaults) * dirs:
        raise Unsupported(f"{len(names)} activations for {dirs} direction(s) of {node.op_type}")
    alphas = iter(node.attr("activation_alpha", None) or [])
    betas = iter(node.attr("activation_beta", None) or [])
    out_alpha, out_beta = [], []
    for name in names:
        if name not in _PARAMETERS:
            raise Unsupported(f"activation '{name}'")
        has_alpha, has_beta, alpha, beta = _PARAMETERS[name]
        out_alpha.append(float(next(alphas, alpha)) if has_alpha else alpha)
        out_beta.append(float(next(betas, beta)) if has_beta else beta)
    return names, out_alpha, out_beta


@converter("RNN", "GRU", "LSTM")
def recurrent(node: Node):
    op_class, gates = _OPS[node.op_type]
    x, w, r = node.inputs[:3]
    element = x.type.element_type
    if not isinstance(element, FloatType):
        raise Unsupported(f"{node.op_type} of {element} (only float tensors)")
    direction = node.attr("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise Unsupported(f"direction '{direction}'")
    dirs = 2 if direction == "bidirectional" else 1
    layout = int(node.attr("layout", 0))
    if x.type.rank != 3 or r.type.rank != 3:
        raise Unsupported(f"X {x.type} and R {r.type} must have rank 3")
    hidden = r.type.shape[2]
    if node.has_attr("hidden_size") and int(node.attr("hidden_size")) != hidden:
        raise Unsupported(f"hidden_size {node.attr('hidden_size')} differs from R's {r.type}")
    if layout:
        x = node.build(graph.TransposeOp, x, perm=[1, 0, 2])
    seq, batch, _ = x.type.shape
    dtype = graph.base.dtype_of(x.type)

    def state(index: int):
        value = node.input(index)
        if value is None:
            return node.constant(np.zeros((dirs, batch, hidden), dtype), element)
        return node.build(graph.TransposeOp, value, perm=[1, 0, 2]) if layout else value

    b = node.input(3)
    if b is None:
        b = node.constant(np.zeros((dirs, 2 * gates * hidden), dtype), element)
    lengths = node.input(4)
    if lengths is None:
        lengths = node.constant(np.full((batch,), seq, np.int32), IntegerType(32))
    operands = [x, w, r, b, lengths, state(5)]
    attrs = {}
    if node.op_type == "LSTM":
        p = node.input(7)
        if p is None:
            p = node.constant(np.zeros((dirs, 3 * hidden), dtype), element)
        operands += [state(6), p]
        attrs["input_forget"] = int(node.attr("input_forget", 0))
    if node.op_type == "GRU":
        attrs["linear_before_reset"] = int(node.attr("linear_before_reset", 0))
    names, alphas, betas = _activations(node, dirs)
    clip = node.attr("clip", None)
    op = node.build(op_class, *operands, direction=direction, activations=names,
                    activation_alpha=alphas, activation_beta=betas,
                    clip=None if clip is None else float(clip), **attrs)
    y, *states = op.results
    if layout:
        y = node.build(graph.TransposeOp, y, perm=[2, 0, 1, 3])
        states = [node.build(graph.TransposeOp, s, perm=[1, 0, 2]) for s in states]
    return [y, *states]
