"""graph -> te compute builders of the recurrent ops (lowering/compute/recurrent.py): RNN,
GRU and LSTM unrolled over time, interpreted at te level, against the graph interpreter —
every direction, sequence lengths (reverse runs within each length), clip, per-direction
activations, linear_before_reset, input_forget and peepholes, f16; and the loop level
(the state computes stay materialised, no chain of steps is inlined)."""

from __future__ import annotations

import numpy as np
import pytest

from descend.dialects import graph
from descend.testing import assert_equivalent
from descend.testing.lowering_checks import lowered, one_op_module

RNG = np.random.default_rng(7)


def operands(gates, seq=4, batch=3, size=5, hidden=4, dirs=1, lengths=None, states=1, peepholes=False,
             dtype=np.float32):
    """x, w, r, b, sequence_lens and initial states (and peepholes) of a recurrent op."""
    def rand(*shape):
        return (RNG.standard_normal(shape) * 0.7).astype(dtype)
    arrays = [rand(seq, batch, size), rand(dirs, gates * hidden, size), rand(dirs, gates * hidden, hidden),
              rand(dirs, 2 * gates * hidden),
              np.array(lengths if lengths is not None else [seq] * batch, np.int32)]
    arrays += [rand(dirs, batch, hidden) for _ in range(states)]
    if peepholes:
        arrays.append(rand(dirs, 3 * hidden))
    return arrays


def check(op_class, arrays, rtol=1e-5, atol=1e-6, **attributes):
    before = one_op_module(op_class, arrays, **attributes)
    assert_equivalent(before, lowered(before), arrays, rtol=rtol, atol=atol)


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_rnn_directions_with_sequence_lengths(direction):
    dirs = 2 if direction == "bidirectional" else 1
    arrays = operands(1, dirs=dirs, lengths=[4, 2, 0])
    check(graph.RnnOp, arrays, direction=direction, activations=["tanh"] * dirs)


def test_rnn_per_direction_activations_and_clip():
    arrays = operands(1, dirs=2, lengths=[3, 4, 1])
    check(graph.RnnOp, arrays, direction="bidirectional", activations=["relu", "scaledtanh"],
          activation_alpha=[0.0, 0.8], activation_beta=[0.0, 1.5], clip=0.9)


@pytest.mark.parametrize("name,alpha,beta", [
    ("sigmoid", 0.0, 0.0), ("affine", 0.5, 0.2), ("leakyrelu", 0.1, 0.0), ("thresholdedrelu", 0.3, 0.0),
    ("hardsigmoid", 0.2, 0.5), ("elu", 0.7, 0.0), ("softsign", 0.0, 0.0), ("softplus", 0.0, 0.0)])
def test_rnn_every_activation(name, alpha, beta):
    check(graph.RnnOp, operands(1, seq=2), activations=[name], activation_alpha=[alpha],
          activation_beta=[beta])


@pytest.mark.parametrize("linear_before_reset", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_gru(direction, linear_before_reset):
    dirs = 2 if direction == "bidirectional" else 1
    arrays = operands(3, dirs=dirs, lengths=[2, 4, 3])
    check(graph.GruOp, arrays, direction=direction, activations=["sigmoid", "tanh"] * dirs,
          linear_before_reset=linear_before_reset, clip=2.0)


@pytest.mark.parametrize("input_forget", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_lstm_peepholes(direction, input_forget):
    dirs = 2 if direction == "bidirectional" else 1
    arrays = operands(4, dirs=dirs, lengths=[4, 1, 3], states=2, peepholes=True)
    activations = ["sigmoid", "tanh", "tanh"] + (["hardsigmoid", "softsign", "tanh"] if dirs == 2 else [])
    check(graph.LstmOp, arrays, direction=direction, activations=activations,
          activation_alpha=[0.0, 0.0, 0.0, 0.2, 0.0, 0.0][:3 * dirs],
          activation_beta=[0.0, 0.0, 0.0, 0.5, 0.0, 0.0][:3 * dirs], input_forget=input_forget)


def test_half_precision_computes_in_f32():
    arrays = operands(4, states=2, peepholes=True, dtype=np.float16)
    check(graph.LstmOp, arrays, rtol=1e-3, atol=1e-3)
    check(graph.RnnOp, operands(1, dtype=np.float16), rtol=1e-3, atol=1e-3)


def test_one_step_per_compute_and_states_materialised():
    """A recurrence and a state compute per step (two for an LSTM's c and h), and lowering
    to loops keeps each state in a buffer: no step's body is inlined into the next."""
    arrays = operands(4, seq=3, states=2, peepholes=True, lengths=[3, 1, 2])
    before = one_op_module(graph.LstmOp, arrays)
    after = lowered(before)
    computes = [op for op in after.walk() if op.name == "te.compute"]
    # the projection, 3 x (recurrence, c, h), Y, Y_h, Y_c
    assert len(computes) == 1 + 3 * 3 + 3
    loops = lowered(before, "builtin.module(lower-graph-to-te,lower-te-to-loop)")
    assert sum(op.name == "loop.alloc" for op in loops.walk()) >= 3 * 3 + 1
    from descend.lowering.te_to_loop import run_loop_function
    got = run_loop_function(loops, arrays)
    from descend.ir.interpreter import interpret
    want = interpret(before, "main", arrays)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
