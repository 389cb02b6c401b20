"""ONNX -> graph: converters of signal-processing ops. DFT's axis and length, STFT's frame
step and length, and every input of the window and mel-filter ops must be constants (they
decide shapes); the window and mel ops then become constants themselves."""

from __future__ import annotations

from descend.dialects import graph
from descend.dialects.graph import signal
from descend.ir import FloatType

from .importer import element_type
from .registry import Node, Unsupported, converter


def _scalar(node: Node, index: int, what: str):
    value = node.require_const(index, what).reshape(-1)
    if value.size != 1:
        raise Unsupported(f"{what} must be a scalar, got {value.size} values")
    return value[0].item()


def _float_signal(node: Node) -> None:
    t = node.inputs[0].type
    if not isinstance(t.element_type, FloatType):
        raise Unsupported(f"{node.op_type} of {t.element_type} (only float signals)")


@converter("DFT")
def dft(node: Node):
    _float_signal(node)
    x = node.inputs[0]
    if node.opset >= 20:
        axis = int(_scalar(node, 2, "axis")) if node.input(2) is not None else -2
    else:
        axis = int(node.attr("axis", 1))
    rank = x.type.rank
    if not (-rank <= axis <= -2 or 0 <= axis <= rank - 2):
        raise Unsupported(f"axis {axis} for a signal of rank {rank}")
    axis %= rank
    inverse, onesided = int(node.attr("inverse", 0)), int(node.attr("onesided", 0))
    if node.input(1) is not None:
        length = int(_scalar(node, 1, "dft_length"))
    elif inverse and onesided:
        length = 2 * (x.type.shape[axis] - 1)
    else:
        length = x.type.shape[axis]
    return node.build(graph.DftOp, x, axis=axis, length=length, inverse=inverse, onesided=onesided)


@converter("STFT")
def stft(node: Node):
    _float_signal(node)
    signal_, window = node.inputs[0], node.input(2)
    step = int(_scalar(node, 1, "frame_step"))
    if node.input(3) is not None:
        size = int(_scalar(node, 3, "frame_length"))
    elif window is not None:
        size = window.type.shape[0]
    else:
        raise Unsupported("STFT needs a window or a frame_length")
    return node.build(graph.StftOp, signal_, window, frame_step=step, frame_length=size,
                      onesided=int(node.attr("onesided", 1)))


_WINDOWS = {"HannWindow": signal.hann_window, "HammingWindow": signal.hamming_window,
            "BlackmanWindow": signal.blackman_window}


@converter(*_WINDOWS)
def window(node: Node):
    size = int(_scalar(node, 0, "size"))
    if size < 1:
        raise Unsupported(f"window size {size}")
    element = element_type(int(node.attr("output_datatype", 1)))
    dtype = graph.base.dtype_of(graph.tensor((), element))
    values = _WINDOWS[node.op_type](size, bool(node.attr("periodic", 1)), dtype)
    return node.constant(values, element)


@converter("MelWeightMatrix")
def mel_weight_matrix(node: Node):
    names = ("num_mel_bins", "dft_length", "sample_rate", "lower_edge_hertz", "upper_edge_hertz")
    values = [_scalar(node, i, what) for i, what in enumerate(names)]
    element = element_type(int(node.attr("output_datatype", 1)))
    dtype = graph.base.dtype_of(graph.tensor((), element))
    return node.constant(signal.mel_weight_matrix(*values, dtype), element)
