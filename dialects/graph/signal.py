"""graph: signal-processing ops — DFT and STFT — and the window and mel-filter functions
whose ONNX ops have constant inputs and so become constants at import.

Complex tensors are real tensors with a last axis of 2 (real, imaginary), as in ONNX; a
real signal may also come with a last axis of 1. Everything that decides a shape (axis,
lengths, frame step) is an attribute."""

from __future__ import annotations

import numpy as np

from descend.ir import TensorType, operand, opt_operand, result

from .base import (GraphOp, Kind, ShapeError, int_, is_float, normalize_axis, same_elements, shape_text,
                   tensor)


def _complex(x: np.ndarray) -> np.ndarray:
    """[..., 1|2] reals as complex values [...], complex128 for f64 and complex64 otherwise
    (the transforms compute in single precision for f32, as onnx's reference does)."""
    x = np.asarray(x)
    ctype = np.complex128 if x.dtype == np.float64 else np.complex64
    if x.shape[-1] == 2:
        return (x[..., 0] + 1j * x[..., 1]).astype(ctype)
    return x[..., 0].astype(ctype)


def _pairs(z: np.ndarray, dtype) -> np.ndarray:
    return np.stack([z.real, z.imag], axis=-1).astype(dtype)


def _signal(t, what: str = "x") -> None:
    if not is_float(t):
        raise ShapeError(f"{what} must be a float tensor, got {t}")
    if t.rank < 2 or t.shape[-1] not in (1, 2):
        raise ShapeError(f"{what} must end in an axis of 1 (real) or 2 (complex), got [{shape_text(t.shape)}]")


class DftOp(GraphOp):
    """The discrete Fourier transform of x along `axis` over `length` points (x cut or
    zero-padded to that), inverse (1/n normalised) when `inverse`; `onesided` keeps the
    length // 2 + 1 non-redundant bins of a forward transform, and makes an inverse one
    read such bins and give the real signal (irfft)."""

    name = "graph.dft"
    x = operand(TensorType)
    y = result(TensorType)
    axis = int_()
    length = int_()
    inverse = int_(0)
    onesided = int_(0)
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        _signal(x)
        axis = normalize_axis(attrs.axis, x.rank)
        if axis == x.rank - 1:
            raise ShapeError(f"axis {attrs.axis} is the complex axis of [{shape_text(x.shape)}]")
        if attrs.length < 1:
            raise ShapeError(f"length must be positive, got {attrs.length}")
        shape = list(x.shape)
        if attrs.inverse and attrs.onesided:
            shape[axis], shape[-1] = attrs.length, 1
        else:
            shape[axis] = attrs.length // 2 + 1 if attrs.onesided else attrs.length
            shape[-1] = 2
        return [tensor(shape, x.element_type)]

    @staticmethod
    def reference(x, *, axis, length, inverse=0, onesided=0):
        axis = axis % x.ndim
        z = _complex(x)
        if inverse and onesided:
            return np.fft.irfft(z, n=length, axis=axis)[..., None].astype(x.dtype)
        z = np.fft.ifft(z, n=length, axis=axis) if inverse else np.fft.fft(z, n=length, axis=axis)
        if onesided:
            z = np.take(z, np.arange(length // 2 + 1), axis=axis)
        return _pairs(z, x.dtype)


class StftOp(GraphOp):
    """The short-time Fourier transform of signals [batch, length, 1|2]: frames of
    `frame_length` samples every `frame_step`, each times the window (ones when absent) and
    transformed; result [batch, frames, bins, 2] with length // 2 + 1 bins when `onesided`."""

    name = "graph.stft"
    signal = operand(TensorType)
    window = opt_operand(TensorType)
    y = result(TensorType)
    frame_step = int_()
    frame_length = int_()
    onesided = int_(1)
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        signal = types[0]
        _signal(signal, "signal")
        same_elements(types)
        if signal.rank != 3:
            raise ShapeError(f"signal must be [batch, length, 1|2], got [{shape_text(signal.shape)}]")
        step, size = attrs.frame_step, attrs.frame_length
        if step < 1 or not 1 <= size <= signal.shape[1]:
            raise ShapeError(f"frame_step {step} and frame_length {size} do not fit signal "
                             f"[{shape_text(signal.shape)}]")
        if len(types) > 1 and types[1].shape != (size,):
            raise ShapeError(f"window must be [{size}] (frame_length), got [{shape_text(types[1].shape)}]")
        frames = 1 + (signal.shape[1] - size) // step
        bins = size // 2 + 1 if attrs.onesided else size
        return [tensor((signal.shape[0], frames, bins, 2), signal.element_type)]

    @staticmethod
    def reference(signal, window=None, *, frame_step, frame_length, onesided=1):
        z = _complex(signal)                                           # [batch, length]
        frames = 1 + (z.shape[1] - frame_length) // frame_step
        index = np.arange(frames)[:, None] * frame_step + np.arange(frame_length)[None, :]
        framed = z[:, index]                                           # [batch, frames, frame_length]
        if window is not None:
            framed = framed * np.asarray(window, framed.real.dtype)
        spectrum = np.fft.fft(framed, axis=-1)
        if onesided:
            spectrum = spectrum[..., :frame_length // 2 + 1]
        return _pairs(spectrum, signal.dtype)


# ---- functions of constants: ONNX's window and mel-filter ops, computed at import ----------------

def hann_window(size: int, periodic: bool, dtype) -> np.ndarray:
    """sin^2(pi n / N), N = size (periodic) or size - 1 (symmetric); in dtype as onnx computes."""
    n = np.arange(size, dtype=dtype)
    return (np.sin(n * np.pi / (size if periodic else size - 1)) ** 2).astype(dtype)


def hamming_window(size: int, periodic: bool, dtype) -> np.ndarray:
    """25/46 - 21/46 cos(2 pi n / N)."""
    n = np.arange(size, dtype=dtype)
    alpha = 25.0 / 46.0
    return (alpha - np.cos(n * np.pi * 2 / (size if periodic else size - 1)) * (1 - alpha)).astype(dtype)


def blackman_window(size: int, periodic: bool, dtype) -> np.ndarray:
    """0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)."""
    n = np.arange(size)
    period = size if periodic else size - 1
    y = np.cos(n * (np.pi * 2) / period) * -0.5 + np.cos(n * (np.pi * 4) / period) * 0.08 + 0.42
    return y.astype(dtype)


def mel_weight_matrix(num_mel_bins: int, dft_length: int, sample_rate: int, lower_edge_hertz: float,
                      upper_edge_hertz: float, dtype) -> np.ndarray:
    """[dft_length // 2 + 1, num_mel_bins] triangular filters evenly spaced on the mel scale
    between the edges, onnx's reference: bin edges floor((dft_length + 1) * hz / sample_rate)."""
    points = np.arange(num_mel_bins + 2)
    low = 2595 * np.log1p(lower_edge_hertz / 700) / np.log(10)
    high = 2595 * np.log1p(upper_edge_hertz / 700) / np.log(10)
    hertz = 700 * np.expm1((points * ((high - low) / points.shape[0]) + low) / 2595 * np.log(10))
    edges = (((dft_length + 1) * hertz) // sample_rate).astype(int)
    out = np.zeros((dft_length // 2 + 1, num_mel_bins))
    for i in range(num_mel_bins):
        left, center, right = edges[i:i + 3]
        if center == left:
            out[center, i] = 1
        else:
            out[left:center + 1, i] = (np.arange(left, center + 1) - left) / (center - left)
        if right > center:
            out[center:right, i] = (right - np.arange(center, right)) / (right - center)
    return out.astype(dtype)
