"""graph -> te: compute builders of the signal ops (dialects/graph/signal.py) — DFT and STFT.

Precision follows what numpy does for the references (the graph hands numpy complex64 for
f16/f32 signals, complex128 for f64):
- a forward transform (fft, and so STFT) runs numpy's double-precision loop and rounds:
  here a direct transform, each bin a sum over the signal axis in f64 of the samples times
  twiddles cos/sin(2 pi ((j k) mod n) / n) computed in the body, rounded once;
- an inverse one (ifft) runs in the signal's own precision: here numpy's (pocketfft's)
  mixed-radix passes with the same operations in the same order, so its rounding noise too
  (on bins that are exactly 0 it is all there is). Lengths whose plan uses a butterfly not
  reproduced here (radix 8, factors above 11, Bluestein) take the direct f64 transform;
- irfft (inverse onesided) is the direct transform in f64 (numpy rounds in single
  precision there; the difference is its rounding error)."""

from __future__ import annotations

import math

from descend.dialects.graph import Attrs
from descend.dialects.te.builder import compute
from descend.ir import f32, f64

from . import lowers, name_of, out_type
from .elementwise import convert


def _attrs(op) -> Attrs:
    return Attrs(type(op), op.properties)


def _single(element):
    """The real type of the reference's complex values: f64 for f64, else f32."""
    return f64 if element == f64 else f32


def _twiddle(b, j, k, n: int):
    """(cos, sin) of 2 pi (j k mod n) / n, in f64."""
    turn = b.mod(b.index_mul(j, k), n) if n > 1 else b.index(0)
    angle = b.mul(b.cast(turn, f64), 2 * math.pi / n)
    return b.math("cos", angle), b.math("sin", angle)


def _samples(b, reader, at, complex_axis: int, single):
    """(real, imaginary) of x at `at` (its last index replaced), in the reference's complex
    precision then widened to f64; a real signal's imaginary part is 0."""
    real = convert(b, convert(b, reader[(*at, 0)], single), f64)
    if complex_axis == 1:
        return real, b.const(0.0, f64)
    return real, convert(b, convert(b, reader[(*at, 1)], single), f64)


def _name(op, suffix: str) -> str | None:
    base = name_of(op)
    return f"{base}.{suffix}" if base else None


def _transform(kb, op, inputs, shape, count: int, sample, n: int, sign: float, scale: float):
    """out[..., j, c] = scale * sum_{k < count} (re, im)(sample(k)) * e^{sign 2 pi i j k / n}
    for c = 0 (real) and 1 (imaginary), in f64; `sample(b, i, k, reads)` gives (re, im)
    and the bin index j. Then rounded to the result type."""
    out = out_type(op)

    def body(b, i, r, reads):
        (re, im), j = sample(b, i, r[0], reads)
        c, s = _twiddle(b, j, r[0], n)
        s = b.neg(s) if sign < 0 else s
        real = b.sub(b.mul(re, c), b.mul(im, s))
        imag = b.add(b.mul(re, s), b.mul(im, c))
        return b.select(b.eq(i[-1], 0), real, imag)
    total = compute(kb, shape, f64, inputs, body, reduce=[count], combiner="sum", name=_name(op, "sum"))

    def rounded(b, i, r, reads):
        v = reads[0][tuple(i)]
        return convert(b, b.mul(v, scale) if scale != 1.0 else v, out.element_type)
    return compute(kb, out.shape, out.element_type, [total], rounded, name=name_of(op))


@lowers("graph.dft")
def dft(kb, op, inputs):
    """The forward or inverse transform of `length` points along the axis (the signal cut,
    or its missing points zero, which add nothing); an inverse onesided one is irfft:
    bins 1 .. ceil(n/2) - 1 count twice (their conjugates), the imaginary parts of bin 0 and
    of bin n/2 (even n) are ignored."""
    (x,) = inputs
    a = _attrs(op)
    out = out_type(op)
    shape = tuple(x.type.shape)
    rank = len(shape)
    axis = a.axis % rank
    n = a.length
    single = _single(x.type.element_type)
    complex_axis = shape[-1]

    if a.inverse and a.onesided:
        half = n // 2 + 1
        count = min(half, shape[axis])

        def body(b, i, r, reads):
            k = r[0]
            at = list(i[:-1])
            at[axis] = k
            re, im = _samples(b, reads[0], at, complex_axis, single)
            c, s = _twiddle(b, i[axis], k, n)
            edge = b.eq(k, 0)
            if n % 2 == 0:
                edge = b.or_(edge, b.eq(k, n // 2))
            term = b.sub(b.mul(re, c), b.select(edge, 0.0, b.mul(im, s)))
            return b.select(edge, term, b.mul(term, 2.0))
        total = compute(kb, out.shape, f64, [x], body, reduce=[count], combiner="sum", name=_name(op, "sum"))
        return [compute(kb, out.shape, out.element_type, [total],
                        lambda b, i, r, reads: convert(b, b.mul(reads[0][tuple(i)], 1.0 / n), out.element_type),
                        name=name_of(op))]

    if a.inverse and n % 8 and reproducible(n):
        return [_inverse_fft(kb, op, x, axis, n, single)]
    count = min(n, shape[axis])

    def sample(b, i, k, reads):
        at = list(i[:-1])
        at[axis] = k
        return _samples(b, reads[0], at, complex_axis, single), i[axis]
    sign = 1.0 if a.inverse else -1.0
    return [_transform(kb, op, [x], out.shape, count, sample, n, sign, 1.0 / n if a.inverse else 1.0)]


@lowers("graph.stft")
def stft(kb, op, inputs):
    """Frame f of batch entry t holds samples f * frame_step + k, times the window in the
    reference's complex precision, transformed over k."""
    signal = inputs[0]
    window = inputs[1] if len(inputs) > 1 else None
    a = _attrs(op)
    single = _single(signal.type.element_type)
    complex_axis = signal.type.shape[-1]

    def sample(b, i, k, reads):
        batch, frame, bin_ = i[0], i[1], i[2]
        at = [batch, b.index_add(b.index_mul(frame, a.frame_step), k)]
        re = convert(b, reads[0][(*at, 0)], single)
        im = convert(b, reads[0][(*at, 1)], single) if complex_axis == 2 else None
        if window is not None:
            w = convert(b, reads[1][k], single)
            re = b.mul(re, w)
            im = b.mul(im, w) if im is not None else None
        re = convert(b, re, f64)
        im = convert(b, im, f64) if im is not None else b.const(0.0, f64)
        return (re, im), bin_
    return [_transform(kb, op, inputs, out_type(op).shape, a.frame_length, sample, a.frame_length, -1.0, 1.0)]


# ---- the reference's FFT, pass by pass ------------------------------------------------------------
# numpy's FFT is pocketfft's mixed-radix complex transform: the length factored into 4s, one 2
# (first), then odd primes; one pass per factor, each a set of butterflies whose twiddles are
# cos/sin(2 pi m / n) rounded to the working type. Reproducing its passes with the same
# operations in the same order gives its results, rounding errors included (a direct sum is
# more accurate, but bins that are exactly 0 then differ from the reference by its noise).

# cos and sin of 2 pi k / p for the hard-coded radices, as the reference's constants
_ROOTS = {
    3: [(-0.5, 0.8660254037844386467637231707529362)],
    5: [(0.3090169943749474241022934171828191, 0.9510565162951535721164393333793821),
        (-0.8090169943749474241022934171828191, 0.5877852522924731291687059546390728)],
    7: [(0.6234898018587335305250048840042398, 0.7818314824680298087084445266740578),
        (-0.2225209339563144042889025644967948, 0.9749279121818236070181316829939312),
        (-0.9009688679024191262361023195074451, 0.433883739117558120475768332848359)],
    11: [(0.8412535328311811688618116489193677, 0.5406408174555975821076359543186917),
         (0.4154150130018864255292741492296232, 0.9096319953545183714117153830790285),
         (-0.1423148382732851404437926686163697, 0.9898214418809327323760920377767188),
         (-0.6548607339452850640569250724662936, 0.7557495743542582837740358439723444),
         (-0.9594929736144973898903680570663277, 0.2817325568414296977114179153466169)],
}
# For radices 7 and 11: output pair (u, p - u) combines t_1.. with these root indices and
# signs (the reference's PARTSTEP tables: root k+1 of x_k, sign of y_k).
_PAIRS = {
    7: [((1, 2, 3), (1, 1, 1)), ((2, 3, 1), (1, -1, -1)), ((3, 1, 2), (1, -1, 1))],
    11: [((1, 2, 3, 4, 5), (1, 1, 1, 1, 1)), ((2, 4, 5, 3, 1), (1, 1, -1, -1, -1)),
         ((3, 5, 2, 1, 4), (1, -1, -1, 1, 1)), ((4, 3, 1, 5, 2), (1, -1, 1, 1, -1)),
         ((5, 1, 4, 2, 3), (1, -1, 1, -1, 1))],
}


def fft_factors(n: int) -> list[int]:
    """The reference's factorisation: 4s, then a 2 moved to the front, then odd factors."""
    factors, rest = [], n
    while rest % 4 == 0:
        factors.append(4)
        rest //= 4
    if rest % 2 == 0:
        rest //= 2
        factors.append(2)
        factors[0], factors[-1] = factors[-1], factors[0]
    limit = int(math.sqrt(rest)) + 1
    divisor = 3
    while rest > 1 and divisor < limit:
        if rest % divisor == 0:
            while rest % divisor == 0:
                factors.append(divisor)
                rest //= divisor
            limit = int(math.sqrt(rest)) + 1
        divisor += 2
    if rest > 1:
        factors.append(rest)
    return factors


def _cost(n: int) -> float:
    result, rest = 0.0, n
    while rest % 2 == 0:
        result += 2
        rest //= 2
    limit = int(math.sqrt(rest + 0.01))
    x = 3
    while x <= limit:
        while rest % x == 0:
            result += x if x <= 5 else 1.1 * x
            rest //= x
            limit = int(math.sqrt(rest + 0.01))
        x += 2
    if rest > 1:
        result += rest if rest <= 5 else 1.1 * rest
    return result * n


def _good_size(n: int) -> int:
    if n <= 12:
        return n
    best = 2 * n
    f2 = 1
    while f2 < best:
        f23 = f2
        while f23 < best:
            f235 = f23
            while f235 < best:
                f2357 = f235
                while f2357 < best:
                    f = f2357
                    while f < best:
                        if f >= n:
                            best = f
                        f *= 11
                    f2357 *= 7
                f235 *= 5
            f23 *= 3
        f2 *= 2
    return best


def reproducible(n: int) -> bool:
    """Whether the reference transforms n points with passes reproduced here: its plan is
    the mixed-radix one (not Bluestein's) and every factor has a hard-coded butterfly."""
    factors = fft_factors(n)
    if any(f > 11 for f in factors):
        return False
    largest = max([f if f != 4 else 2 for f in factors], default=1)
    if n < 50 or largest * largest <= n:
        return True
    return 2 * _cost(_good_size(2 * n - 1)) * 1.5 >= _cost(n)


def butterfly(ops, p: int, backward: bool, t: list) -> list:
    """The p outputs (complex pairs) of one radix-p butterfly on inputs t, before twiddles,
    with the reference's operations in its order. `ops` has add, sub, mul, neg and const."""
    add, sub, mul = ops.add, ops.sub, ops.mul

    def pm(x, y):
        return (add(x[0], y[0]), add(x[1], y[1])), (sub(x[0], y[0]), sub(x[1], y[1]))
    sign = 1.0 if backward else -1.0
    if p == 2:
        return list(pm(t[0], t[1]))
    if p == 4:
        t2, t1 = pm(t[0], t[2])
        t3, t4 = pm(t[1], t[3])
        t4 = (ops.neg(t4[1]), t4[0]) if backward else (t4[1], ops.neg(t4[0]))
        out0, out2 = pm(t2, t3)
        out1, out3 = pm(t1, t4)
        return [out0, out1, out2, out3]
    if p == 3:
        twr, twi = ops.const(-0.5), ops.const(sign * _ROOTS[3][0][1])
        t0 = t[0]
        t1, t2 = pm(t[1], t[2])
        out0 = (add(t0[0], t1[0]), add(t0[1], t1[1]))
        ca = (add(t0[0], mul(t1[0], twr)), add(t0[1], mul(t1[1], twr)))
        cb = (ops.neg(mul(t2[1], twi)), mul(t2[0], twi))
        out1, out2 = pm(ca, cb)
        return [out0, out1, out2]
    # p = 5, 7, 11: pairs (u, p - u) of a symmetric and an antisymmetric part
    half = p // 2
    sums, diffs = [t[0]], []
    for u in range(1, half + 1):
        s, d = pm(t[u], t[p - u])
        sums.append(s)
        diffs.append(d)
    out = [None] * p
    first = sums[0]
    for s in sums[1:]:
        first = (add(first[0], s[0]), add(first[1], s[1]))
    out[0] = first
    roots = _ROOTS[p]
    pairs = _PAIRS.get(p) or [((1, 2), (1, 1)), ((2, 1), (1, -1))]
    for u, (which, signs) in enumerate(pairs, start=1):
        cos = [ops.const(roots[w - 1][0]) for w in which]
        sin = [ops.const(sign * roots[w - 1][1]) for w in which]
        ca = list(sums[0])
        for c, s in zip(cos, sums[1:]):
            for k in (0, 1):
                ca[k] = add(ca[k], mul(c, s[k]))
        # cb.i = y1 * d_last.r (+|-) y2 * d_.r ...; cb.r = -(same on .i)
        parts = []
        for k in (0, 1):
            acc = None
            for m, (sn, sg) in enumerate(zip(sin, signs)):
                term = mul(sn, diffs[m][k])
                acc = term if acc is None else (add(acc, term) if sg > 0 else sub(acc, term))
            parts.append(acc)
        cb = (ops.neg(parts[1]), parts[0])
        out[u], out[p - u] = pm(tuple(ca), cb)
    return out


def special_mul(ops, v, w, backward: bool):
    """v times the twiddle w (backward) or its conjugate (forward), as the reference."""
    add, sub, mul = ops.add, ops.sub, ops.mul
    if backward:
        return sub(mul(v[0], w[0]), mul(v[1], w[1])), add(mul(v[0], w[1]), mul(v[1], w[0]))
    return add(mul(v[0], w[0]), mul(v[1], w[1])), sub(mul(v[1], w[0]), mul(v[0], w[1]))


class _BodyOps:
    """The arithmetic `butterfly` and `special_mul` use, in a compute body of `element`."""

    def __init__(self, b, element):
        self.add, self.sub, self.mul, self.neg = b.add, b.sub, b.mul, b.neg
        self.b, self.element = b, element

    def const(self, value: float):
        return self.b.const(value, self.element)


def _root(b, m, n: int, element):
    """(cos, sin)(2 pi m / n) rounded to `element`, exact at multiples of a quarter turn (as
    the reference's table, which is built by symmetry)."""
    angle = b.mul(b.cast(m, f64), 2 * math.pi / n)
    cos, sin = convert(b, b.math("cos", angle), element), convert(b, b.math("sin", angle), element)
    quarter = b.eq(b.mod(b.index_mul(m, 4), n), 0)
    turn = b.floordiv(b.index_mul(m, 4), n)
    exact = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)]
    exact_cos, exact_sin = b.const(1.0, element), b.const(0.0, element)
    for q in (1, 2, 3):
        exact_cos = b.select(b.eq(turn, q), b.const(exact[q][0], element), exact_cos)
        exact_sin = b.select(b.eq(turn, q), b.const(exact[q][1], element), exact_sin)
    return b.select(quarter, exact_cos, cos), b.select(quarter, exact_sin, sin)


def fft_passes(kb, op, buffer, axis: int, n: int, backward: bool, element):
    """The reference's mixed-radix passes over `buffer` [..., n (at axis), ..., 2]: one
    compute per factor, each element one output of a butterfly (all p outputs are built and
    one selected) times its twiddle. Each pass is a one-element product (`reduce=(1,)`) so
    the default schedule keeps it in a buffer instead of inlining every earlier pass."""
    l1 = 1
    for step, p in enumerate(fft_factors(n)):
        ido = n // (l1 * p)

        def body(b, i, r, reads, p=p, ido=ido, l1=l1):
            ops = _BodyOps(b, element)
            q = i[axis]
            at = b.mod(q, ido) if ido > 1 else b.index(0)
            k = b.mod(b.floordiv(q, ido), l1) if l1 > 1 else b.index(0)
            j = b.floordiv(q, ido * l1) if ido * l1 > 1 else q
            inputs = []
            for m in range(p):
                where = list(i)
                where[axis] = b.index_add(at, b.index_mul(b.index_add(b.index_mul(k, p), m), ido))
                inputs.append(tuple(reads[0][(*where[:-1], c)] for c in (0, 1)))
            outputs = butterfly(ops, p, backward, inputs)
            value = outputs[0]
            for u in range(1, p):
                value = tuple(b.select(b.eq(j, u), outputs[u][c], value[c]) for c in (0, 1))
            if ido > 1:
                twiddled = special_mul(ops, value, _root(b, b.index_mul(b.index_mul(j, l1), at), n, element),
                                       backward)
                plain = b.or_(b.eq(at, 0), b.eq(j, 0))
                value = tuple(b.select(plain, value[c], twiddled[c]) for c in (0, 1))
            return b.select(b.eq(i[-1], 0), value[0], value[1])
        buffer = compute(kb, buffer.type.shape, element, [buffer], body, reduce=[1], combiner="prod",
                         name=_name(op, f"pass{step}"))
        l1 *= p
    return buffer


def _inverse_fft(kb, op, x, axis: int, n: int, single):
    """ifft as the reference computes it, in its complex precision: x cut or zero-padded
    to n points, the backward passes, then times 1/n (rounded to that precision)."""
    shape = tuple(x.type.shape)
    out = out_type(op)
    buffer_shape = list(shape)
    buffer_shape[axis], buffer_shape[-1] = n, 2

    def load(b, i, r, reads):
        k = i[axis]
        at = list(i[:-1])
        at[axis] = b.min(k, shape[axis] - 1) if n > shape[axis] else k
        real = convert(b, reads[0][(*at, 0)], single)
        imag = convert(b, reads[0][(*at, 1)], single) if shape[-1] == 2 else b.const(0.0, single)
        value = b.select(b.eq(i[-1], 0), real, imag)
        return b.select(b.lt(k, shape[axis]), value, 0.0) if n > shape[axis] else value
    buffer = compute(kb, buffer_shape, single, [x], load, name=_name(op, "input"))
    buffer = fft_passes(kb, op, buffer, axis, n, True, single)
    return compute(kb, out.shape, out.element_type, [buffer],
                   lambda b, i, r, reads: convert(b, b.mul(reads[0][tuple(i)], b.const(1.0 / n, single)),
                                                  out.element_type),
                   name=name_of(op))
