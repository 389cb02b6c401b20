"""graph: recurrent ops — RNN, GRU, LSTM, one op each with every ONNX output as a result.

The ops take ONNX's default layout (time first): x [seq, batch, input], weights per
direction [dirs, gates*hidden, input|hidden], biases [dirs, 2*gates*hidden] (input then
recurrence), sequence_lens [batch], initial states [dirs, batch, hidden]. Every operand is
present: the ONNX converter fills omitted ones (zero biases and states, full lengths), and
resolves the activation names with their alpha/beta, one entry per gate function and
direction, so the op's attributes are its whole meaning.

A batch entry with a shorter length stops early: its Y rows past the length are 0 and its
final states are those after its last step; a reverse direction runs each sequence from its
own last step back (onnxruntime's reading; onnx's reference ignores sequence_lens)."""

from __future__ import annotations

import numpy as np

from descend.ir import (ArrayAttr, FloatAttr, IntegerType, StringAttr, TensorType, attribute, bf16, f16,
                        f32, f64, operand, opt_attribute, result)

from .base import GraphOp, Kind, ShapeError, floats, int_, same_elements, shape_text, string, tensor

DIRECTIONS = ("forward", "reverse", "bidirectional")
_FLOATS = (f16, bf16, f32, f64)

# name -> f(x, alpha, beta); onnx's activation functions of recurrent ops
ACTIVATIONS = {
    "relu": lambda x, a, b: np.maximum(x, 0),
    "tanh": lambda x, a, b: np.tanh(x),
    "sigmoid": lambda x, a, b: 1 / (1 + np.exp(-x)),
    "affine": lambda x, a, b: a * x + b,
    "leakyrelu": lambda x, a, b: np.where(x >= 0, x, a * x),
    "thresholdedrelu": lambda x, a, b: np.where(x > a, x, 0),
    "scaledtanh": lambda x, a, b: a * np.tanh(b * x),
    "hardsigmoid": lambda x, a, b: np.clip(a * x + b, 0, 1),
    "elu": lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1)),
    "softsign": lambda x, a, b: x / (1 + np.abs(x)),
    "softplus": lambda x, a, b: np.logaddexp(x, 0),
}


def strings(default):
    """A list of strings, `["sigmoid", "tanh"]`."""
    return attribute(ArrayAttr, default=ArrayAttr([StringAttr(s) for s in default]))


class Recurrent(GraphOp):
    """Base of the recurrent ops: `gates` blocks of `hidden` rows per weight, `functions`
    activation functions per direction, `states` state results after Y."""

    x = operand(TensorType)
    w = operand(TensorType)
    r = operand(TensorType)
    b = operand(TensorType)
    sequence_lens = operand(TensorType)
    initial_h = operand(TensorType)
    kind = Kind.OPAQUE
    direction = string("forward")
    activation_alpha = floats([])
    activation_beta = floats([])
    clip = opt_attribute(FloatAttr, doc="gate pre-activations are clipped to [-clip, clip]")

    gates = 1
    functions = 1
    states = 1
    extra: tuple[tuple[str, int], ...] = ()   # further [dirs, n*hidden] operands (LSTM's peepholes)

    @classmethod
    def infer(cls, types, attrs):
        x, w, r, b, lengths = types[:5]
        states = types[5:5 + cls.states]
        same_elements([x, w, r, b, *states, *types[5 + cls.states:]])
        if x.element_type not in _FLOATS:
            raise ShapeError(f"expects float tensors, got {x}")
        if attrs.direction not in DIRECTIONS:
            raise ShapeError(f"direction must be one of {', '.join(DIRECTIONS)}, got '{attrs.direction}'")
        dirs = 2 if attrs.direction == "bidirectional" else 1
        if x.rank != 3:
            raise ShapeError(f"x must be [seq, batch, input], got [{shape_text(x.shape)}]")
        seq, batch, size = x.shape
        if r.rank != 3 or r.shape[1] % cls.gates or r.shape[0] != dirs:
            raise ShapeError(f"r must be [{dirs}, {cls.gates}*hidden, hidden], got [{shape_text(r.shape)}]")
        hidden = r.shape[2]
        want = {"w": (w, (dirs, cls.gates * hidden, size)), "r": (r, (dirs, cls.gates * hidden, hidden)),
                "b": (b, (dirs, 2 * cls.gates * hidden))}
        for name, t in zip(("initial_h", "initial_c"), states):
            want[name] = (t, (dirs, batch, hidden))
        for (name, rows), t in zip(cls.extra, types[5 + cls.states:]):
            want[name] = (t, (dirs, rows * hidden))
        for name, (t, shape) in want.items():
            if t.shape != shape:
                raise ShapeError(f"{name} must be [{shape_text(shape)}] for x [{shape_text(x.shape)}] and "
                                 f"hidden size {hidden} ({attrs.direction}), got [{shape_text(t.shape)}]")
        if lengths.shape != (batch,) or not isinstance(lengths.element_type, IntegerType):
            raise ShapeError(f"sequence_lens must be {batch} integers, got {lengths}")
        count = len(attrs.activations)
        if count != cls.functions * dirs:
            raise ShapeError(f"needs {cls.functions * dirs} activations ({attrs.direction}), got {count}")
        for name in attrs.activations:
            if name not in ACTIVATIONS:
                raise ShapeError(f"unknown activation '{name}' (known: {', '.join(ACTIVATIONS)})")
        for what in ("activation_alpha", "activation_beta"):
            if len(getattr(attrs, what)) not in (0, count):
                raise ShapeError(f"{what} must have one value per activation ({count}), "
                                 f"got {len(getattr(attrs, what))}")
        state = tensor((dirs, batch, hidden), x.element_type)
        return [tensor((seq, dirs, batch, hidden), x.element_type)] + [state] * cls.states

    @classmethod
    def _run(cls, x, w, r, b, lengths, states, extras, step, *, direction, activations,
             activation_alpha, activation_beta, clip):
        """Y and the final states; `step(gates_x, states, r, rb, extra, fns, clip)` gives the
        next states (h first) from x's projection at one time step."""
        dtype = x.dtype
        work = np.float32 if dtype == np.float16 else dtype
        x, w, r, b = (np.asarray(a, work) for a in (x, w, r, b))
        states = [np.asarray(s, work) for s in states]
        extras = [np.asarray(e, work) for e in extras]
        seq, batch, _ = x.shape
        dirs = w.shape[0]
        hidden = r.shape[2]
        names = list(activations)
        alphas = list(activation_alpha) or [0.0] * len(names)
        betas = list(activation_beta) or [0.0] * len(names)
        lengths = np.minimum(np.asarray(lengths, np.int64), seq)
        t = np.arange(seq)[:, None]
        active = t < lengths[None, :]                                          # [seq, batch]
        # reverse order within each sequence's own length; an involution on the time axis
        flip = np.where(active, lengths[None, :] - 1 - t, t)
        columns = np.arange(batch)[None, :]
        ys, finals = [], []
        for d in range(dirs):
            reverse = direction == "reverse" or d == 1
            fns = [_activation(names[k], alphas[k], betas[k])
                   for k in range(d * cls.functions, (d + 1) * cls.functions)]
            xs = x[flip, columns] if reverse else x
            projected = xs @ w[d].T + b[d, :cls.gates * hidden]
            rb = b[d, cls.gates * hidden:]
            current = [s[d] for s in states]
            y = np.zeros((seq, batch, hidden), work)
            for i in range(seq):
                new = step(projected[i], current, r[d], rb, [e[d] for e in extras], fns, clip)
                mask = active[i][:, None]
                current = [np.where(mask, n, c) for n, c in zip(new, current)]
                y[i] = np.where(mask, new[0], 0)
            ys.append(y[flip, columns] if reverse else y)
            finals.append(current)
        y = np.stack(ys, axis=1).astype(dtype)
        outs = [np.stack([f[k] for f in finals]).astype(dtype) for k in range(len(states))]
        return (y, *outs)


def _activation(name, alpha, beta):
    fn = ACTIVATIONS[name]
    return lambda v: fn(v, alpha, beta)


def _clipped(v, clip):
    return v if clip is None else np.clip(v, -clip, clip)


class RnnOp(Recurrent):
    """The simple recurrence h' = f(x W^T + h R^T + Wb + Rb) over time, per direction;
    results Y [seq, dirs, batch, hidden] and the last h."""

    name = "graph.rnn"
    y = result(TensorType)
    y_h = result(TensorType)
    activations = strings(["tanh"])

    gates, functions, states = 1, 1, 1

    @staticmethod
    def reference(x, w, r, b, sequence_lens, initial_h, *, direction="forward", activations=("tanh",),
                  activation_alpha=(), activation_beta=(), clip=None):
        def step(gx, current, r, rb, extras, fns, clip):
            (h,) = current
            return [fns[0](_clipped(gx + h @ r.T + rb, clip))]
        return RnnOp._run(x, w, r, b, sequence_lens, [initial_h], [], step, direction=direction,
                          activations=activations, activation_alpha=activation_alpha,
                          activation_beta=activation_beta, clip=clip)


class GruOp(Recurrent):
    """The gated recurrent unit (gates z, r, h in that order along the weight rows):
    z = f(x Wz + h Rz + b), r = f(x Wr + h Rr + b), n = g(x Wn + (r * h) Rn + b) — or
    g(x Wn + r * (h Rn + Rbn) + Wbn) when `linear_before_reset` — and h' = (1 - z) n + z h."""

    name = "graph.gru"
    y = result(TensorType)
    y_h = result(TensorType)
    activations = strings(["sigmoid", "tanh"])
    linear_before_reset = int_(0)

    gates, functions, states = 3, 2, 1

    @staticmethod
    def reference(x, w, r, b, sequence_lens, initial_h, *, direction="forward",
                  activations=("sigmoid", "tanh"), activation_alpha=(), activation_beta=(), clip=None,
                  linear_before_reset=0):
        def step(gx, current, r, rb, extras, fns, clip):
            (h,) = current
            f, g = fns
            xz, xr, xn = np.split(gx, 3, axis=-1)
            rz, rr, rn = np.split(r, 3, axis=0)
            bz, br, bn = np.split(rb, 3)
            z = f(_clipped(xz + h @ rz.T + bz, clip))
            reset = f(_clipped(xr + h @ rr.T + br, clip))
            if linear_before_reset:
                n = g(_clipped(xn + reset * (h @ rn.T + bn), clip))
            else:
                n = g(_clipped(xn + (reset * h) @ rn.T + bn, clip))
            return [(1 - z) * n + z * h]
        return GruOp._run(x, w, r, b, sequence_lens, [initial_h], [], step, direction=direction,
                          activations=activations, activation_alpha=activation_alpha,
                          activation_beta=activation_beta, clip=clip)


class LstmOp(Recurrent):
    """The long short-term memory (gates i, o, f, c along the weight rows, peepholes p of
    i, o, f): i = f(x Wi + h Ri + pi * c + b), f' = f(x Wf + h Rf + pf * c + b) (1 - i when
    `input_forget`), c' = f' * c + i * g(x Wc + h Rc + b), o = f(x Wo + h Ro + po * c' + b),
    h' = o * h(c'); results Y, the last h and the last c."""

    name = "graph.lstm"
    initial_c = operand(TensorType)
    p = operand(TensorType)
    y = result(TensorType)
    y_h = result(TensorType)
    y_c = result(TensorType)
    activations = strings(["sigmoid", "tanh", "tanh"])
    input_forget = int_(0)

    gates, functions, states = 4, 3, 2
    extra = (("p", 3),)

    @staticmethod
    def reference(x, w, r, b, sequence_lens, initial_h, initial_c, p, *, direction="forward",
                  activations=("sigmoid", "tanh", "tanh"), activation_alpha=(), activation_beta=(),
                  clip=None, input_forget=0):
        def step(gx, current, r, rb, extras, fns, clip):
            h, c = current
            f, g, act_h = fns
            pi, po, pf = np.split(extras[0], 3)
            gi, go, gf, gc = np.split(gx + h @ r.T + rb, 4, axis=-1)
            i = f(_clipped(gi + pi * c, clip))
            forget = 1 - i if input_forget else f(_clipped(gf + pf * c, clip))
            c_next = forget * c + i * g(_clipped(gc, clip))
            o = f(_clipped(go + po * c_next, clip))
            return [o * act_h(c_next), c_next]
        return LstmOp._run(x, w, r, b, sequence_lens, [initial_h, initial_c], [p], step,
                           direction=direction, activations=activations,
                           activation_alpha=activation_alpha, activation_beta=activation_beta, clip=clip)
