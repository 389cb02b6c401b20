"""graph -> te compute builders of the signal ops (lowering/compute/signal.py), interpreted at
te level against the graph interpreter: forward DFTs (real and complex signals, cut and
zero-padded, onesided, any axis), inverse ones bit for bit with numpy's single-precision
passes (radices 2, 3, 4, 5, 7, 11), irfft, and STFT with and without a window."""

from __future__ import annotations

import numpy as np
import pytest

from descend.dialects import graph
from descend.lowering.compute.signal import fft_factors, reproducible
from descend.testing import assert_equivalent

from descend.testing.lowering_checks import lowered, one_op_module as module_of

RNG = np.random.default_rng(5)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def check(op_class, arrays, rtol=1e-5, atol=1e-5, **attributes):
    before = module_of(op_class, arrays, **attributes)
    assert_equivalent(before, lowered(before), arrays, rtol=rtol, atol=atol)


def test_factorisation_is_the_references():
    assert fft_factors(10) == [2, 5]
    assert fft_factors(48) == [4, 4, 3] and fft_factors(24) == [2, 4, 3]
    assert fft_factors(77) == [7, 11]
    assert reproducible(44) and not reproducible(13) and not reproducible(26)


@pytest.mark.parametrize("length", [6, 10, 13])
@pytest.mark.parametrize("onesided", [0, 1])
def test_forward_dft(length, onesided):
    check(graph.DftOp, [rand(2, 10, 3, 1)], axis=1, length=length, onesided=onesided)
    check(graph.DftOp, [rand(2, 3, 10, 2)], axis=-2, length=length, onesided=onesided)


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 15, 20, 21, 22, 28, 30, 13, 16])
def test_inverse_dft_bit_for_bit(length):
    """The passes reproduce numpy's ifft exactly (lengths with an 8 or a factor above 11
    take the direct transform: close, not exact)."""
    exact = length % 8 != 0 and reproducible(length)
    x = rand(2, 9, 3, 2) * 100
    check(graph.DftOp, [x], axis=1, length=length, inverse=1, rtol=0 if exact else 1e-5,
          atol=0 if exact else 1e-3)


def test_inverse_dft_double_precision_and_irfft():
    check(graph.DftOp, [rand(3, 12, 2, dtype=np.float64)], axis=1, length=12, inverse=1, rtol=1e-12,
          atol=1e-12)
    check(graph.DftOp, [rand(2, 6, 2)], axis=1, length=10, inverse=1, onesided=1)
    check(graph.DftOp, [rand(2, 6, 2)], axis=1, length=9, inverse=1, onesided=1)


@pytest.mark.parametrize("with_window", [False, True])
@pytest.mark.parametrize("onesided", [0, 1])
def test_stft(with_window, onesided):
    arrays = [rand(2, 40, 1)] + ([rand(12)] if with_window else [])
    check(graph.StftOp, arrays, frame_step=7, frame_length=12, onesided=onesided)
    check(graph.StftOp, [rand(1, 30, 2)] + ([rand(8)] if with_window else []), frame_step=5,
          frame_length=8, onesided=onesided)
