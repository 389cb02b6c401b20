"""graph -> te: compute builders of the recurrent ops (dialects/graph/recurrent.py) — RNN,
GRU and LSTM, unrolled over time (shapes are static).

One compute projects x on W for every step and direction at once (a sum over the input
axis); then each time step has its own computes, all over [dirs, batch, ...]: the
recurrence h @ R^T (a sum over the hidden axis, reading the previous step's state), and the
new state, `select(step < length, gates..., previous)`. A last compute gathers Y from the
per-step states. Directions share those computes: a reverse direction reads x and writes Y
at each sequence's flipped time `length - 1 - t` (t past the length stays, as in the
reference), and where the two directions' activations differ a select on d picks.

Numerics are the reference's: f16 in f32 (the state tensors are f32, the results round
once), every sum in the order ((x W^T + Wb) + h R^T) + Rb, the activations by their numpy
formulas. A state compute is a one-element product (`reduce=(1,)`, times 1 is exact): the
default schedule inlines every compute without a reduction into its readers, which through
a chain of states would rebuild all earlier steps inside each later one."""

from __future__ import annotations

from descend.dialects.graph import Attrs
from descend.dialects.te.builder import compute
from descend.ir import f16, f32, bf16

from . import is_unsigned, lowers, name_of, out_type
from .elementwise import convert, softplus_of
from .indexing import index_value


def _attrs(op) -> Attrs:
    return Attrs(type(op), op.properties)


def _offset(b, i, n: int):
    """i + n on indices, i itself when n is 0."""
    return b.index_add(i, n) if n else i


def _work_type(element):
    """Where the reference computes: f32 for f16 (and bf16, which the graph holds as f32)."""
    return f32 if element in (f16, bf16) else element


# name -> fn(b, v, alpha, beta), the numpy formulas of recurrent.ACTIVATIONS
ACTIVATIONS = {
    "relu": lambda b, v, a, c: b.max(v, 0.0),
    "tanh": lambda b, v, a, c: b.tanh(v),
    "sigmoid": lambda b, v, a, c: b.div(1.0, b.add(1.0, b.exp(b.neg(v)))),
    "affine": lambda b, v, a, c: b.add(b.mul(a, v), c),
    "leakyrelu": lambda b, v, a, c: b.select(b.ge(v, 0.0), v, b.mul(a, v)),
    "thresholdedrelu": lambda b, v, a, c: b.select(b.gt(v, a), v, 0.0),
    "scaledtanh": lambda b, v, a, c: b.mul(a, b.tanh(b.mul(c, v))),
    "hardsigmoid": lambda b, v, a, c: b.min(b.max(b.add(b.mul(a, v), c), 0.0), 1.0),
    "elu": lambda b, v, a, c: b.select(b.ge(v, 0.0), v, b.mul(a, b.sub(b.exp(v), 1.0))),
    "softsign": lambda b, v, a, c: b.div(v, b.add(1.0, b.abs(v))),
    "softplus": lambda b, v, a, c: softplus_of(b, v),
}


class _Unrolled:
    """What the recurrent builders share: the geometry, the per-direction activations, the
    time flip of reverse directions and the computes around the steps. Step computes take
    the inputs [projection, bias, lengths, ...] so their bodies find those at reads[0:3]."""

    def __init__(self, kb, op, inputs, gates: int, functions: int):
        self.kb, self.op, self.gates, self.functions = kb, op, gates, functions
        self.a = a = _attrs(op)
        self.x, self.w, self.r, self.bias, self.lengths = inputs[:5]
        self.element = out_type(op).element_type
        self.work = _work_type(self.element)
        self.seq, self.batch, self.size = self.x.type.shape
        self.dirs, _, self.hidden = self.r.type.shape
        if self.seq < 1:
            raise op.error("cannot be lowered to te with an empty sequence")
        self.unsigned_lengths = is_unsigned(op.operands[4])
        names = list(a.activations)
        alphas = list(a.activation_alpha) or [0.0] * len(names)
        betas = list(a.activation_beta) or [0.0] * len(names)
        self.fns = list(zip(names, alphas, betas))
        self.projected = self.projection()

    # ---- body helpers --------------------------------------------------------------------------

    def length(self, b, lengths, bt):
        """min(sequence_lens[bt], seq) as an index."""
        return b.min(index_value(b, lengths[bt], self.unsigned_lengths), self.seq)

    def time(self, b, t, d, length):
        """The time x is read (and Y written) at step t of direction d: flipped within the
        sequence's own length for a reverse direction."""
        if self.a.direction == "forward":
            return t
        flipped = b.select(b.lt(t, length), b.sub(b.index_add(length, -1), t), t)
        if self.a.direction == "reverse":
            return flipped
        return b.select(b.eq(d, 1), flipped, t)

    def activation(self, b, k: int, d, v):
        """Activation function k of direction d at v (a select on d when the directions'
        functions differ)."""
        def apply(spec):
            name, alpha, beta = spec
            return ACTIVATIONS[name](b, v, alpha, beta)
        first = self.fns[k]
        if self.dirs == 1 or self.fns[self.functions + k] == first:
            return apply(first)
        return b.select(b.eq(d, 1), apply(self.fns[self.functions + k]), apply(first))

    def clipped(self, b, v):
        clip = self.a.clip
        return v if clip is None else b.min(b.max(v, -clip), clip)

    def load(self, b, reader, at):
        return convert(b, reader[tuple(at)], self.work)

    def pre(self, b, reads, step: int, d, bt, gate: int, g, recurrence):
        """((x W^T + Wb) + recurrence) + Rb for row g of gate `gate`."""
        projected, bias = reads[0], reads[1]
        row = _offset(b, g, gate * self.hidden)
        gx = b.add(projected[step, d, bt, row], self.load(b, bias, [d, row]))
        rb = self.load(b, bias, [d, b.index_add(row, self.gates * self.hidden)])
        return b.add(b.add(gx, recurrence), rb)

    def gate(self, b, reads, step: int, d, bt, gate: int, g, recurrence, k: int = 0, extra=None):
        """activation k (clip(pre + extra)) of a gate."""
        v = self.pre(b, reads, step, d, bt, gate, g, recurrence)
        if extra is not None:
            v = b.add(v, extra)
        return self.activation(b, k, d, self.clipped(b, v))

    def masked(self, b, reads, step: int, bt, new, previous):
        """new while the step is inside the sequence, else the previous state."""
        return b.select(b.lt(b.index(step), self.length(b, reads[2], bt)), new, previous)

    # ---- computes -----------------------------------------------------------------------------

    def name(self, suffix: str) -> str | None:
        base = name_of(self.op)
        return f"{base}.{suffix}" if base else None

    def projection(self):
        """P[t, d, b, g] = sum_k x[time(t), b, k] * W[d, g, k], for every step at once."""
        def body(b, i, r, reads):
            t, d, bt, g = i
            x, w, lengths = reads
            at = t if self.a.direction == "forward" else self.time(b, t, d, self.length(b, lengths, bt))
            return b.mul(self.load(b, x, [at, bt, r[0]]), self.load(b, w, [d, g, r[0]]))
        shape = (self.seq, self.dirs, self.batch, self.gates * self.hidden)
        return compute(self.kb, shape, self.work, [self.x, self.w, self.lengths], body,
                       reduce=[self.size], combiner="sum", name=self.name("xw"))

    def recurrence(self, state, step: int, first_row: int, rows: int, suffix: str = "hr"):
        """sum_j state[d, b, j] * R[d, first_row + g, j] for g < rows."""
        def body(b, i, r, reads):
            d, bt, g = i
            return b.mul(self.load(b, reads[0], [d, bt, r[0]]),
                         self.load(b, reads[1], [d, _offset(b, g, first_row), r[0]]))
        return compute(self.kb, (self.dirs, self.batch, rows), self.work, [state, self.r], body,
                       reduce=[self.hidden], combiner="sum", name=self.name(f"{suffix}{step}"))

    def state(self, inputs, fn, suffix: str):
        """A [dirs, batch, hidden] state in the work type, fn(b, d, bt, g, reads) over the
        inputs [projection, bias, lengths, *inputs]; materialised (module docstring)."""
        def body(b, i, r, reads):
            d, bt, g = i
            return fn(b, d, bt, g, reads)
        return compute(self.kb, (self.dirs, self.batch, self.hidden), self.work,
                       [self.projected, self.bias, self.lengths, *inputs], body,
                       reduce=[1], combiner="prod", name=self.name(suffix))

    def outputs(self, states: list, finals: list) -> list:
        """Y [seq, dirs, batch, hidden] gathered from the per-step h states (the step that
        wrote time t; 0 past the length), then the final states, in the result type."""
        element = self.element

        def y_body(b, i, r, reads):
            t, d, bt, g = i
            length = self.length(b, reads[0], bt)
            step = self.time(b, t, d, length)
            value = reads[1][d, bt, g]
            for s in range(1, len(states)):
                value = b.select(b.eq(step, s), reads[1 + s][d, bt, g], value)
            return convert(b, b.select(b.lt(t, length), value, 0.0), element)
        y = compute(self.kb, (self.seq, self.dirs, self.batch, self.hidden), element,
                    [self.lengths, *states], y_body, name=name_of(self.op))
        results = [y]
        for k, final in enumerate(finals):
            results.append(compute(self.kb, final.type.shape, element, [final],
                                   lambda b, i, r, reads: convert(b, reads[0][tuple(i)], element),
                                   name=name_of(self.op, k + 1)))
        return results


@lowers("graph.rnn")
def rnn(kb, op, inputs):
    """h' = f(clip(x W^T + Wb + h R^T + Rb)): a recurrence and a state compute per step."""
    u = _Unrolled(kb, op, inputs, gates=1, functions=1)
    h, states = inputs[5], []
    for step in range(u.seq):
        hr = u.recurrence(h, step, 0, u.hidden)

        def fn(b, d, bt, g, reads, step=step):
            new = u.gate(b, reads, step, d, bt, 0, g, reads[3][d, bt, g])
            return u.masked(b, reads, step, bt, new, u.load(b, reads[4], [d, bt, g]))
        h = u.state([hr, h], fn, f"h{step}")
        states.append(h)
    return u.outputs(states, [h])


@lowers("graph.gru")
def gru(kb, op, inputs):
    """z and r from one recurrence over their rows; n from r * (h Rn^T + Rbn) when
    linear_before_reset, else from (r * h) Rn^T (r * h a compute, then its own
    recurrence); h' = (1 - z) n + z h."""
    u = _Unrolled(kb, op, inputs, gates=3, functions=2)
    linear = bool(u.a.linear_before_reset)
    hid = u.hidden
    h, states = inputs[5], []
    for step in range(u.seq):
        zr = u.recurrence(h, step, 0, (3 if linear else 2) * hid)
        if linear:
            extra = []
        else:
            def reset_h(b, d, bt, g, reads, step=step):
                reset = u.gate(b, reads, step, d, bt, 1, g, reads[3][d, bt, b.index_add(g, hid)])
                return b.mul(reset, u.load(b, reads[4], [d, bt, g]))
            rh = u.state([zr, h], reset_h, f"rh{step}")
            extra = [u.recurrence(rh, step, 2 * hid, hid, suffix="rhr")]

        def fn(b, d, bt, g, reads, step=step):
            recurrent, h_prev = reads[3], u.load(b, reads[4], [d, bt, g])
            z = u.gate(b, reads, step, d, bt, 0, g, recurrent[d, bt, g])
            if linear:
                reset = u.gate(b, reads, step, d, bt, 1, g, recurrent[d, bt, b.index_add(g, hid)])
                projected, bias = reads[0], reads[1]
                row = b.index_add(g, 2 * hid)
                gx = b.add(projected[step, d, bt, row], u.load(b, bias, [d, row]))
                rn = b.add(recurrent[d, bt, row], u.load(b, bias, [d, b.index_add(row, 3 * hid)]))
                n = u.activation(b, 1, d, u.clipped(b, b.add(gx, b.mul(reset, rn))))
            else:
                n = u.gate(b, reads, step, d, bt, 2, g, reads[5][d, bt, g], k=1)
            new = b.add(b.mul(b.sub(1.0, z), n), b.mul(z, h_prev))
            return u.masked(b, reads, step, bt, new, h_prev)
        h = u.state([zr, h, *extra], fn, f"h{step}")
        states.append(h)
    return u.outputs(states, [h])


@lowers("graph.lstm")
def lstm(kb, op, inputs):
    """Per step: the recurrence over all four gates, c' = f' c + i g(c gate) (peepholes on
    c), then h' = o h(c') with o's peephole on c'."""
    u = _Unrolled(kb, op, inputs, gates=4, functions=3)
    hid = u.hidden
    h, c, peephole = inputs[5], inputs[6], inputs[7]
    states = []
    for step in range(u.seq):
        hr = u.recurrence(h, step, 0, 4 * hid)

        def c_fn(b, d, bt, g, reads, step=step):
            recurrent, c_prev, p = reads[3], u.load(b, reads[4], [d, bt, g]), reads[5]

            def gate(k, extra=None, fn=0):
                return u.gate(b, reads, step, d, bt, k, g, recurrent[d, bt, _offset(b, g, k * hid)],
                              k=fn, extra=extra)
            i = gate(0, b.mul(u.load(b, p, [d, g]), c_prev))
            if u.a.input_forget:
                forget = b.sub(1.0, i)
            else:
                forget = gate(2, b.mul(u.load(b, p, [d, b.index_add(g, 2 * hid)]), c_prev))
            new = b.add(b.mul(forget, c_prev), b.mul(i, gate(3, fn=1)))
            return u.masked(b, reads, step, bt, new, c_prev)
        c_next = u.state([hr, c, peephole], c_fn, f"c{step}")

        def h_fn(b, d, bt, g, reads, step=step):
            recurrent, c_new, p = reads[3], reads[4][d, bt, g], reads[5]
            h_prev = u.load(b, reads[6], [d, bt, g])
            o = u.gate(b, reads, step, d, bt, 1, g, recurrent[d, bt, b.index_add(g, hid)],
                       extra=b.mul(u.load(b, p, [d, b.index_add(g, hid)]), c_new))
            new = b.mul(o, u.activation(b, 2, d, c_new))
            return u.masked(b, reads, step, bt, new, h_prev)
        h = u.state([hr, c_next, peephole, h], h_fn, f"h{step}")
        c = c_next
        states.append(h)
    return u.outputs(states, [h, c])
