"""graph -> te compute builders of elementwise ops (lowering/compute/elementwise.py): each
lowered op interpreted at te level gives what the graph op gives, bit for bit — f16 through
f32 where the reference widens, bf16 rounding in casts, integer division and remainders of
both signs, unsigned orderings and shifts past the width."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.rewrites import PassManager
from descend.testing.equivalence import assert_equivalent

RNG = np.random.default_rng(7)

ELEMENTS = {"f16": np.float16, "bf16": np.float32, "f32": np.float32, "f64": np.float64,
            "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
            "ui8": np.uint8, "ui16": np.uint16, "ui32": np.uint32, "ui64": np.uint64, "i1": np.bool_}


def tensor_text(shape, element) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def lower(text: str):
    module = descend.parse(text)
    PassManager.parse("builtin.module(lower-graph-to-te)").run(module)
    assert "graph." not in descend.print_ir(module)
    return module


def check(op, inputs, attrs="", result=None, rtol=0.0):
    """Lower a one-op @main to te and compare te with graph on `inputs` (pairs of element
    type and array). The result element defaults to the first input's; its shape to the
    broadcast of the inputs'."""
    types = [tensor_text(x.shape, e) for e, x in inputs]
    arrays = [x for _, x in inputs]
    shape = np.broadcast_shapes(*[x.shape for x in arrays])
    result = tensor_text(shape, result or inputs[0][0])
    names = ", ".join(f"%a{k}" for k in range(len(inputs)))
    args = ", ".join(f"%a{k}: {t}" for k, t in enumerate(types))
    attrs = f" {{{attrs}}}" if attrs else ""
    text = (f"func.func @main({args}) -> {result} {{\n"
            f"  %0 = \"{op}\"({names}){attrs} : ({', '.join(types)}) -> {result}\n"
            f"  func.return %0 : {result}\n}}\n")
    before, after = descend.parse(text), lower(text)
    if "ui" in text:  # te is signless: compare the bits
        (want,) = descend.interpret(before, "main", arrays)
        (got,) = descend.interpret(after, "main", arrays)
        np.testing.assert_array_equal(np.asarray(got).view(np.asarray(want).dtype), want)
    else:
        assert assert_equivalent(before, after, arrays, rtol=rtol)
    return after


def floats(shape, element="f32", low=-4.0, high=4.0):
    return element, RNG.uniform(low, high, size=shape).astype(ELEMENTS[element])


def ints(shape, element="i32", low=-50, high=50):
    return element, RNG.integers(low, high, size=shape).astype(ELEMENTS[element])


def bools(shape):
    return "i1", RNG.random(size=shape) < 0.5


def with_specials(pair):
    """Some NaN, +-inf and +-0 among the values."""
    element, x = pair
    flat = x.reshape(-1).copy()
    flat[:5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    return element, flat.reshape(x.shape)


# ---- unary ----------------------------------------------------------------------------------------

DOMAINS = {"graph.log": (0.1, 8), "graph.sqrt": (0, 8), "graph.asin": (-1, 1), "graph.acos": (-1, 1),
           "graph.atanh": (-0.99, 0.99), "graph.acosh": (1, 8)}


@pytest.mark.parametrize("element", ["f32", "f16", "f64"])
@pytest.mark.parametrize("op", ["graph.exp", "graph.log", "graph.sqrt", "graph.tanh", "graph.erf",
                                "graph.sin", "graph.cos", "graph.tan", "graph.asin", "graph.acos",
                                "graph.atan", "graph.sinh", "graph.cosh", "graph.asinh", "graph.acosh",
                                "graph.atanh", "graph.floor", "graph.ceil", "graph.round",
                                "graph.reciprocal", "graph.neg", "graph.abs", "graph.sign",
                                "graph.identity", "graph.dropout", "graph.relu", "graph.is_nan"])
def test_float_unary(op, element):
    low, high = DOMAINS.get(op, (-4, 4))
    x = floats((3, 5), element, low, high)
    if op in ("graph.round", "graph.sign", "graph.abs", "graph.neg", "graph.relu", "graph.is_nan"):
        x = with_specials((x[0], np.round(x[1] * 2) / 2))  # halves: round's ties to even
    check(op, [x], result="i1" if op == "graph.is_nan" else None)


@pytest.mark.parametrize("element", ["i8", "i32", "i64", "ui8"])
@pytest.mark.parametrize("op", ["graph.abs", "graph.sign", "graph.neg", "graph.relu", "graph.bitwise_not"])
def test_integer_unary(op, element):
    if element.startswith("ui") and op in ("graph.neg", "graph.relu"):
        pytest.skip("signed only")
    low = 0 if element.startswith("ui") else -100
    x = ints((4, 6), element, low, 100)
    x[1].reshape(-1)[:3] = 0
    check(op, [x])


def test_not():
    check("graph.not", [bools((3, 4))])


@pytest.mark.parametrize("detect", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_is_inf(detect):
    check("graph.is_inf", [with_specials(floats((2, 6)))],
          f"detect_positive = {detect[0]}, detect_negative = {detect[1]}", result="i1")


ACTIVATIONS = [
    ("graph.sigmoid", ""), ("graph.leaky_relu", "alpha = 0.1 : f32"), ("graph.elu", "alpha = 0.7 : f32"),
    ("graph.selu", ""), ("graph.celu", "alpha = 2.0 : f32"), ("graph.hard_sigmoid", "alpha = 0.3 : f32"),
    ("graph.hard_swish", ""), ("graph.softsign", ""), ("graph.swish", "alpha = 1.5 : f32"),
    ("graph.thresholded_relu", "alpha = 0.5 : f32"), ("graph.gelu", ""),
    ("graph.gelu", "approximate = \"tanh\""), ("graph.softplus", ""), ("graph.mish", ""),
    ("graph.shrink", "bias = 0.25 : f32, lambd = 0.75 : f32"),
]


@pytest.mark.parametrize("element", ["f32", "f16", "bf16", "f64"])
@pytest.mark.parametrize("op,attrs", ACTIVATIONS)
def test_activation(op, attrs, element):
    # np.logaddexp (softplus, mish) uses libm's exp/log1p where math.exp is numpy's own
    rtol = 1e-6 if op in ("graph.softplus", "graph.mish") else 0.0
    x = floats((4, 8), element, -6, 6)
    if element != "bf16":
        x = with_specials(x)
    check(op, [x], attrs, rtol=rtol)


@pytest.mark.parametrize("element", ["i32", "ui8"])
def test_shrink_integers(element):
    check("graph.shrink", [ints((3, 7), element, 0 if element == "ui8" else -9, 9)],
          "bias = 1.5 : f32, lambd = 2.0 : f32")


# ---- casts -----------------------------------------------------------------------------------------

CAST_TYPES = ["f16", "bf16", "f32", "f64", "i8", "i32", "i64", "ui8", "ui32", "i1"]


def cast_input(element, to):
    if element == "i1":
        return bools((3, 5))
    if element in ("f16", "bf16", "f32", "f64"):
        low, high = (0, 250) if to.startswith("ui") else (-120, 120)
        pair = floats((3, 5), element, low, high)
        if to in ("f16", "bf16", "f32", "f64", "i1"):  # NaN and inf convert to these only
            pair = with_specials(pair)
        return pair
    low = 0 if element.startswith("ui") else -120
    return ints((3, 5), element, low, 120)


@pytest.mark.parametrize("to", CAST_TYPES)
@pytest.mark.parametrize("source", CAST_TYPES)
def test_cast(source, to):
    check("graph.cast", [cast_input(source, to)], f"to = {to}", result=to)


def test_cast_to_bf16_rounds_to_nearest_even():
    bits = np.array([0x3F808000, 0x3F818000, 0x3F807FFF, 0x7F7FFFFF, 0xFF800000, 0x7FC00001],
                    np.uint32)
    check("graph.cast", [("f32", bits.view(np.float32))], "to = bf16", result="bf16")


def test_cast_to_narrow_float_is_a_located_error():
    text = ("func.func @main(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {\n"
            "  %y = \"graph.cast\"(%x) {to = f8E4M3FN} : (tensor<4xf32>) -> tensor<4xf8E4M3FN>\n"
            "  func.return %y : tensor<4xf8E4M3FN>\n}\n")
    with pytest.raises(descend.ir.DiagnosticError, match="te has no 8- or 4-bit float"):
        lower(text)


# ---- binary -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("element", ["f32", "f16", "i32", "ui8", "i64"])
@pytest.mark.parametrize("op", ["graph.add", "graph.sub", "graph.mul", "graph.max", "graph.min",
                                "graph.equal", "graph.less", "graph.less_or_equal", "graph.greater",
                                "graph.greater_or_equal"])
def test_binary_broadcast(op, element):
    make = floats if element.startswith("f") else ints
    low = 0 if element.startswith("ui") else -100
    lhs, rhs = make((2, 3, 4), element, low, 200), make((3, 1), element, low, 200)
    if element.startswith("f"):
        lhs = with_specials(lhs)
    result = "i1" if op in ("graph.equal", "graph.less", "graph.less_or_equal", "graph.greater",
                            "graph.greater_or_equal") else None
    check(op, [lhs, rhs], result=result)


@pytest.mark.parametrize("element", ["i8", "i32", "ui8", "ui32"])
@pytest.mark.parametrize("op", ["graph.bitwise_and", "graph.bitwise_or", "graph.bitwise_xor"])
def test_bitwise(op, element):
    low = 0 if element.startswith("ui") else -100
    check(op, [ints((3, 4), element, low, 100), ints((4,), element, low, 100)])


@pytest.mark.parametrize("op", ["graph.and", "graph.or", "graph.xor", "graph.equal"])
def test_logic(op):
    check(op, [bools((3, 4)), bools((1, 4))], result="i1")


@pytest.mark.parametrize("element", ["f32", "f16", "f64", "i8", "i32", "ui8", "ui32"])
def test_div(element):
    if element.startswith("f"):
        lhs, rhs = with_specials(floats((4, 5), element)), floats((5,), element, 0.5, 3)
    else:
        low = 0 if element.startswith("ui") else -100
        lhs, rhs = ints((4, 5), element, low, 100), ints((5,), element, 1, 9)
        if not element.startswith("ui"):
            rhs[1][::2] *= -1
    check("graph.div", [lhs, rhs])


@pytest.mark.parametrize("fmod", [0, 1])
@pytest.mark.parametrize("element", ["f32", "f16", "f64", "i8", "i32", "i64", "ui8"])
def test_mod(element, fmod):
    if element.startswith("f"):
        lhs = with_specials(floats((4, 6), element, -20, 20))
        rhs = floats((6,), element, 1, 7)
        rhs[1][::2] *= -1
        lhs[1][0, 5] = -2 * rhs[1][5]  # an exact multiple: the zero takes the divisor's sign
    else:
        low = 0 if element.startswith("ui") else -50
        lhs, rhs = ints((4, 6), element, low, 50), ints((6,), element, 1, 7)
        if not element.startswith("ui"):
            rhs[1][::2] *= -1
    check("graph.mod", [lhs, rhs], f"fmod = {fmod}")


@pytest.mark.parametrize("base,exponent", [("f32", "f32"), ("f16", "f16"), ("f64", "f64"),
                                           ("f32", "i64"), ("f32", "i8"), ("f16", "i32"),
                                           ("i64", "f32"), ("i32", "i32"), ("i64", "i64"),
                                           ("i32", "i64"), ("bf16", "bf16")])
def test_pow(base, exponent):
    if base.startswith(("f", "bf")):
        x = floats((3, 4), base, 0.1, 3)
    else:
        x = ints((3, 4), base, -6, 6)
    if exponent.startswith(("f", "bf")):
        e = floats((4,), exponent, -2, 3)
    else:
        e = ints((4,), exponent, 0 if base.startswith("i") else -3, 5)
    if base.startswith("i") and exponent.startswith("f"):
        x = ints((3, 4), base, 1, 6)
    check("graph.pow", [x, e])


def test_pow_negative_integer_exponents():
    x = ("i32", np.array([[1, -1, 2, -3], [-1, 1, 5, 7]], np.int32))
    e = ("i32", np.array([-3, -2, -1, -4], np.int32))
    check("graph.pow", [x, e])


@pytest.mark.parametrize("direction", ["left", "right"])
@pytest.mark.parametrize("element", ["ui8", "ui32", "ui64", "i8", "i32"])
def test_bitshift(direction, element):
    width = int(element.lstrip("ui")) if element.startswith("ui") else int(element[1:])
    low = 0 if element.startswith("ui") else -100
    x = ints((3, 5), element, low, 100)
    amount = (element, np.array([0, 1, width - 1, width, width + 3], ELEMENTS[element]))
    check("graph.bitshift", [x, amount], f"direction = \"{direction}\"")


@pytest.mark.parametrize("element", ["f32", "f16", "i32"])
def test_prelu(element):
    make = floats if element.startswith("f") else ints
    check("graph.prelu", [make((2, 3, 4), element), make((3, 1), element)])


@pytest.mark.parametrize("element", ["f32", "f16", "bf16"])
def test_swiglu(element):
    check("graph.swiglu", [floats((3, 4), element, -6, 6), floats((3, 4), element)], "alpha = 1.702 : f32")


@pytest.mark.parametrize("element", ["f32", "f16", "i32", "ui8"])
def test_clip(element):
    make = floats if element.startswith("f") else ints
    low = 0 if element.startswith("ui") else -50
    x = make((3, 4), element, low, 50)
    lo = make((4,), element, low, 20)
    hi = make((3, 1), element, low + 10, 50)
    lo[1][0] = hi[1].max()  # low > high: the element is high
    check("graph.clip", [x, lo, hi])


@pytest.mark.parametrize("element", ["f32", "i64", "ui8", "i1"])
def test_where(element):
    make = {"f32": floats, "i64": ints, "ui8": lambda s, e: ints(s, e, 0, 100)}.get(element)
    x, y = (bools((3, 1)), bools((4,))) if element == "i1" else (make((3, 1), element), make((4,), element))
    check("graph.where", [bools((2, 3, 4)), x, y], result=element)
