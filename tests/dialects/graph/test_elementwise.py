"""graph elementwise ops: reference semantics, shape/type errors, textual round trips, and
the ONNX converters (against onnxruntime and onnx's node tests)."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.dialects import graph
from descend.ir import DiagnosticError
from descend.ir.interpreter import UndefinedBehavior, interpret
from descend.ir.printer import print_ir

# ---- helpers ------------------------------------------------------------------------------------

_ELEMENT = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32", np.dtype(np.float64): "f64",
            np.dtype(np.bool_): "i1", np.dtype(np.int8): "i8", np.dtype(np.int16): "i16",
            np.dtype(np.int32): "i32", np.dtype(np.int64): "i64", np.dtype(np.uint8): "ui8",
            np.dtype(np.uint16): "ui16", np.dtype(np.uint32): "ui32", np.dtype(np.uint64): "ui64"}


def tensor_text(shape, element: str) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def type_of(array) -> str:
    array = np.asarray(array)
    return tensor_text(array.shape, _ELEMENT[array.dtype])


def module_text(op: str, inputs, result: str, properties: str = "") -> str:
    """One function applying `op` (generic form) to arguments of the inputs' types."""
    types = [type_of(a) for a in inputs]
    args = ", ".join(f"%a{i}: {t}" for i, t in enumerate(types))
    uses = ", ".join(f"%a{i}" for i in range(len(types)))
    props = f" <{{{properties}}}>" if properties else ""
    return (f"func.func @f({args}) -> {result} {{\n"
            f"  %0 = \"{op}\"({uses}){props} : ({', '.join(types)}) -> {result}\n"
            f"  return %0 : {result}\n}}\n")


def run(op: str, inputs, result: str, properties: str = ""):
    module = descend.parse(module_text(op, inputs, result, properties))
    (out,) = interpret(module, "f", [np.asarray(a) for a in inputs])
    return out


F32 = np.array([[-2.5, -1.0, -0.25, 0.0], [0.5, 1.5, 2.5, 4.0]], np.float32)
UNIT = np.array([-0.9, -0.5, 0.0, 0.3, 0.99], np.float32)
I8 = np.array([-128, -7, -1, 0, 1, 7, 127], np.int8)


def _erf(x):
    import math
    return np.vectorize(math.erf)(x)


# ---- reference semantics --------------------------------------------------------------------------

UNARY_FLOAT = [
    ("graph.neg", "", F32, -F32),
    ("graph.abs", "", F32, np.abs(F32)),
    ("graph.exp", "", F32, np.exp(F32)),
    ("graph.log", "", np.abs(F32) + 1, np.log(np.abs(F32) + 1)),
    ("graph.sqrt", "", np.abs(F32), np.sqrt(np.abs(F32))),
    ("graph.reciprocal", "", F32 + 5, 1 / (F32 + 5)),
    ("graph.relu", "", F32, np.maximum(F32, 0)),
    ("graph.leaky_relu", "alpha = 0.1 : f32", F32, np.where(F32 < 0, 0.1 * F32, F32)),
    ("graph.sigmoid", "", F32, 1 / (1 + np.exp(-F32))),
    ("graph.tanh", "", F32, np.tanh(F32)),
    ("graph.erf", "", F32, _erf(F32)),
    ("graph.gelu", "", F32, 0.5 * F32 * (1 + _erf(F32 / np.sqrt(2)))),
    ("graph.gelu", "approximate = \"tanh\"", F32,
     0.5 * F32 * (1 + np.tanh(np.sqrt(2 / np.pi) * (F32 + 0.044715 * F32 ** 3)))),
    ("graph.elu", "alpha = 2.0 : f32", F32, np.where(F32 < 0, 2 * (np.exp(F32) - 1), F32)),
    ("graph.selu", "", F32, 1.0507009873554805 * np.where(F32 > 0, F32, 1.6732632423543772 * (np.exp(F32) - 1))),
    ("graph.hard_sigmoid", "", F32, np.clip(0.2 * F32 + 0.5, 0, 1)),
    ("graph.hard_swish", "", F32, F32 * np.clip(F32 / 6 + 0.5, 0, 1)),
    ("graph.softplus", "", F32, np.log(np.exp(F32) + 1)),
    ("graph.softsign", "", F32, F32 / (1 + np.abs(F32))),
    ("graph.mish", "", F32, F32 * np.tanh(np.log(np.exp(F32) + 1))),
    ("graph.swish", "", F32, F32 / (1 + np.exp(-F32))),
    ("graph.swish", "alpha = 1.5 : f32", F32, F32 / (1 + np.exp(-1.5 * F32))),
    ("graph.celu", "alpha = 2.0 : f32", F32, np.maximum(F32, 0) + np.minimum(0, 2 * (np.exp(F32 / 2) - 1))),
    ("graph.thresholded_relu", "alpha = 1.0 : f32", F32, np.where(F32 > 1, F32, 0)),
    ("graph.shrink", "bias = 1.0 : f32, lambd = 1.5 : f32", F32,
     np.where(F32 < -1.5, F32 + 1, np.where(F32 > 1.5, F32 - 1, 0))),
    ("graph.sin", "", F32, np.sin(F32)),
    ("graph.cos", "", F32, np.cos(F32)),
    ("graph.tan", "", F32, np.tan(F32)),
    ("graph.asin", "", UNIT, np.arcsin(UNIT)),
    ("graph.acos", "", UNIT, np.arccos(UNIT)),
    ("graph.atan", "", F32, np.arctan(F32)),
    ("graph.sinh", "", F32, np.sinh(F32)),
    ("graph.cosh", "", F32, np.cosh(F32)),
    ("graph.asinh", "", F32, np.arcsinh(F32)),
    ("graph.acosh", "", np.abs(F32) + 1, np.arccosh(np.abs(F32) + 1)),
    ("graph.atanh", "", UNIT, np.arctanh(UNIT)),
    ("graph.floor", "", F32, np.floor(F32)),
    ("graph.ceil", "", F32, np.ceil(F32)),
    ("graph.round", "", F32, np.array([[-2, -1, 0, 0], [0, 2, 2, 4]], np.float32)),  # ties to even
    ("graph.sign", "", F32, np.sign(F32)),
    ("graph.identity", "", F32, F32),
    ("graph.dropout", "ratio = 0.3 : f32", F32, F32),
]


@pytest.mark.parametrize("op, properties, x, expected", UNARY_FLOAT,
                         ids=[f"{c[0]}{'{' + c[1] + '}' if c[1] else ''}" for c in UNARY_FLOAT])
def test_unary_reference(op, properties, x, expected):
    got = run(op, [x], type_of(x), properties)
    assert got.dtype == x.dtype
    np.testing.assert_allclose(got, expected.astype(x.dtype), rtol=1e-6, atol=1e-7)


def test_f16_composites_round_once():
    x = np.linspace(-4, 4, 33).astype(np.float16)
    got = run("graph.mish", [x], type_of(x))
    wide = x.astype(np.float32)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, (wide * np.tanh(np.log1p(np.exp(wide)))).astype(np.float16))


def test_swiglu_gates_the_value_with_swish():
    gate, value = F32, F32[::-1] + 1
    got = run("graph.swiglu", [gate, value], type_of(gate), "alpha = 1.702 : f32")
    np.testing.assert_allclose(got, gate / (1 + np.exp(-1.702 * gate)) * value, rtol=1e-6)
    huge = np.array([-1e4, 1e4], np.float32)   # neither exponential overflows
    np.testing.assert_array_equal(run("graph.swish", [huge], type_of(huge)), [0, 1e4])


def test_predicates_give_i1():
    x = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    assert run("graph.is_nan", [x], "tensor<4xi1>").tolist() == [True, False, False, False]
    assert run("graph.is_inf", [x], "tensor<4xi1>").tolist() == [False, True, True, False]
    assert run("graph.is_inf", [x], "tensor<4xi1>", "detect_negative = 0").tolist() == [False, True, False, False]
    b = np.array([True, False])
    assert run("graph.not", [b], "tensor<2xi1>").tolist() == [False, True]


def test_integer_unary_ops_wrap():
    assert run("graph.neg", [I8], type_of(I8)).tolist() == [-128, 7, 1, 0, -1, -7, -127]
    assert run("graph.abs", [I8], type_of(I8)).tolist() == [-128, 7, 1, 0, 1, 7, 127]
    assert run("graph.bitwise_not", [I8], type_of(I8)).tolist() == (~I8).tolist()
    assert run("graph.shrink", [I8], type_of(I8), "bias = 1.5 : f32, lambd = 1.0 : f32").tolist() == \
        [-126, -5, 0, 0, 0, 5, 125]  # computed in f64, truncated back


BINARY = [
    ("graph.add", np.int8([120, -120]), np.int8([10, -10]), np.int8([-126, 126])),
    ("graph.sub", np.uint8([1, 5]), np.uint8([2, 1]), np.uint8([255, 4])),
    ("graph.mul", np.int16([300, -2]), np.int16([300, 3]), np.int16([24464, -6])),
    ("graph.div", np.int32([7, -7, 7, -7]), np.int32([2, 2, -2, -2]), np.int32([3, -3, -3, 3])),
    ("graph.div", np.float32([1, -3]), np.float32([4, 2]), np.float32([0.25, -1.5])),
    ("graph.max", np.float32([1, np.nan]), np.float32([2, 0]), np.float32([2, np.nan])),
    ("graph.min", np.uint32([1, 9]), np.uint32([2, 3]), np.uint32([1, 3])),
    ("graph.pow", np.int64([2, 3, -2, 2]), np.int64([10, 0, 3, -1]), np.int64([1024, 1, -8, 0])),
    ("graph.pow", np.int8([3]), np.int8([5]), np.int8([-13])),  # 243 wraps
    ("graph.pow", np.float32([4, 2]), np.int64([2, -1]), np.float32([16, 0.5])),
    ("graph.pow", np.int32([4, 2]), np.float32([0.5, 1.5]), np.int32([2, 2])),
    ("graph.bitwise_and", np.uint8([12]), np.uint8([10]), np.uint8([8])),
    ("graph.bitwise_or", np.int32([12]), np.int32([10]), np.int32([14])),
    ("graph.bitwise_xor", np.int32([12]), np.int32([10]), np.int32([6])),
    ("graph.and", np.array([True, True]), np.array([True, False]), np.array([True, False])),
    ("graph.or", np.array([False, False]), np.array([True, False]), np.array([True, False])),
    ("graph.xor", np.array([True, True]), np.array([True, False]), np.array([False, True])),
    ("graph.equal", np.int32([1, 2]), np.int32([1, 3]), np.array([True, False])),
    ("graph.less", np.float32([1, 2]), np.float32([2, 2]), np.array([True, False])),
    ("graph.less_or_equal", np.float32([1, 2]), np.float32([2, 2]), np.array([True, True])),
    ("graph.greater", np.uint64([3, 2]), np.uint64([2, 2]), np.array([True, False])),
    ("graph.greater_or_equal", np.int8([1, 2]), np.int8([2, 2]), np.array([False, True])),
    ("graph.prelu", np.float32([[-2, 3], [-4, 5]]), np.float32([0.5, 0.25]), np.float32([[-1, 3], [-2, 5]])),
]


@pytest.mark.parametrize("op, lhs, rhs, expected", BINARY, ids=[f"{c[0]}-{c[1].dtype}" for c in BINARY])
def test_binary_reference(op, lhs, rhs, expected):
    got = run(op, [lhs, rhs], type_of(expected))
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_broadcasting_follows_numpy():
    a, b = np.ones((2, 1, 3), np.float32), np.arange(4, dtype=np.float32).reshape(4, 1)
    got = run("graph.add", [a, b], "tensor<2x4x3xf32>")
    np.testing.assert_array_equal(got, a + b)


def test_mod_follows_the_divisor_or_the_dividend():
    a, b = np.int32([7, -7, 7, -7]), np.int32([3, 3, -3, -3])
    assert run("graph.mod", [a, b], type_of(a)).tolist() == [1, 2, -2, -1]
    assert run("graph.mod", [a, b], type_of(a), "fmod = 1").tolist() == [1, -1, 1, -1]


def test_bitshift_shifts_every_bit_out_past_the_width():
    a, b = np.int8([-128, 64, -8, 5]), np.int8([1, 8, 2, -1])
    assert run("graph.bitshift", [a, b], type_of(a), "direction = \"left\"").tolist() == [0, 0, -32, 0]
    assert run("graph.bitshift", [a, b], type_of(a), "direction = \"right\"").tolist() == [-64, 0, -2, 0]


def test_clip_where_and_cast():
    x = np.float32([-3, 0.5, 7])
    lo, hi = np.float32(0), np.float32(6)
    assert run("graph.clip", [x, lo, hi], type_of(x)).tolist() == [0, 0.5, 6]
    assert run("graph.clip", [x, hi, lo], type_of(x)).tolist() == [0, 0, 0]  # low > high: all high
    c = np.array([True, False, True])
    assert run("graph.where", [c, x, np.float32(9)], type_of(x)).tolist() == [-3, 9, 7]
    f = np.float32([-2.7, 2.7, 0.0, 300.0])
    assert run("graph.cast", [f], "tensor<4xi32>", "to = i32").tolist() == [-2, 2, 0, 300]
    assert run("graph.cast", [f], "tensor<4xi1>", "to = i1").tolist() == [True, True, False, True]
    assert run("graph.cast", [np.int32([300, -1])], "tensor<2xui8>", "to = ui8").tolist() == [44, 255]
    bf = run("graph.cast", [np.float32([1.00390625, 1.01171875])], "tensor<2xbf16>", "to = bf16")
    assert bf.tolist() == [1.0, 1.015625]  # ties to even


@pytest.mark.parametrize("op, inputs, result, properties, reason", [
    ("graph.div", [np.int32([1]), np.int32([0])], "tensor<1xi32>", "", "division by zero"),
    ("graph.div", [np.int8([-128]), np.int8([-1])], "tensor<1xi8>", "", "signed division overflow"),
    ("graph.mod", [np.int32([1]), np.int32([0])], "tensor<1xi32>", "", "division by zero"),
    ("graph.cast", [np.float32([np.nan])], "tensor<1xi32>", "to = i32", "out of range"),
    ("graph.cast", [np.float32([300])], "tensor<1xi8>", "to = i8", "out of range"),
])
def test_undefined_behaviour_is_reported(op, inputs, result, properties, reason):
    with pytest.raises(UndefinedBehavior, match=reason):
        run(op, inputs, result, properties)


# ---- verifier -------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, message", [
    ('"graph.add"(%a, %c) : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>',
     r"shapes \[2x3\], \[4x3\] do not broadcast"),
    ('"graph.add"(%a, %i) : (tensor<2x3xf32>, tensor<2x3xi32>) -> tensor<2x3xf32>',
     "must have one element type, got tensor<2x3xf32>, tensor<2x3xi32>"),
    ('"graph.sigmoid"(%i) : (tensor<2x3xi32>) -> tensor<2x3xi32>',
     "expects float elements for the operand, got tensor<2x3xi32>"),
    ('"graph.less"(%a, %a) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>',
     r"result #0 has type tensor<2x3xf32>, but operands \(.*\) give tensor<2x3xi1>"),
    ('"graph.and"(%a, %a) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>',
     "expects i1 elements"),
    ('"graph.where"(%a, %a, %a) : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>',
     "expects i1 elements for the condition, got tensor<2x3xf32>"),
    ('"graph.prelu"(%s, %a) : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<3xf32>',
     r"slope \[2x3\] does not broadcast to x \[3\]"),
    ('"graph.clip"(%s, %a, %a) : (tensor<3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<3xf32>',
     r"low \[2x3\] does not broadcast to x \[3\]"),
    ('"graph.bitshift"(%i, %i) <{direction = "up"}> : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>',
     'direction must be "left" or "right", got "up"'),
    ('"graph.gelu"(%a) <{approximate = "erf"}> : (tensor<2x3xf32>) -> tensor<2x3xf32>',
     'approximate must be "none" or "tanh"'),
    ('"graph.cast"(%a) <{to = index}> : (tensor<2x3xf32>) -> tensor<2x3xindex>',
     "cannot cast to index"),
    ('"graph.bitwise_and"(%a, %a) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>',
     "expects signed integer or unsigned integer elements"),
    ('"graph.swiglu"(%a, %s) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>',
     r"gate tensor<2x3xf32> and value tensor<3xf32> must have one type \(no broadcasting\)"),
    ('"graph.swish"(%i) : (tensor<2x3xi32>) -> tensor<2x3xi32>', "expects float elements"),
])
def test_verifier_errors_name_the_types(line, message):
    text = ("func.func @f(%a: tensor<2x3xf32>, %c: tensor<4x3xf32>, %i: tensor<2x3xi32>, %s: tensor<3xf32>) {\n"
            f"  %0 = {line}\n  return\n}}\n")
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(text)


# ---- textual round trips ----------------------------------------------------------------------------

def _elementwise_ops():
    return sorted((op for op in graph.OPS if op.__module__ == graph.elementwise.__name__), key=lambda o: o.name)


def _sample(op_class) -> str:
    """A function applying op_class to operands it accepts, with non-default attributes."""
    f, i, b = "tensor<2x3xf32>", "tensor<2x3xi32>", "tensor<2x3xi1>"
    special = {
        "graph.cast": ([f], "tensor<2x3xf16>", "to = f16"),
        "graph.where": ([b, f, "tensor<3xf32>"], f, ""),
        "graph.clip": ([f, "tensor<f32>", "tensor<f32>"], f, ""),
        "graph.prelu": ([f, "tensor<3xf32>"], f, ""),
        "graph.bitshift": ([i, i], i, "direction = \"right\""),
        "graph.gelu": ([f], f, "approximate = \"tanh\""),
        "graph.is_inf": ([f], b, "detect_positive = 0"),
        "graph.leaky_relu": ([f], f, "alpha = 2.000000e-01 : f32"),
        "graph.mod": ([i, i], i, "fmod = 1"),
        "graph.swish": ([f], f, "alpha = 5.000000e-01 : f32"),
        "graph.swiglu": ([f, f], f, "alpha = 1.702000e+00 : f32"),
    }
    if op_class.name in special:
        operands, result, props = special[op_class.name]
    else:
        binary = issubclass(op_class, graph.elementwise.Binary)
        accepts = op_class.accepts
        element = f if "float" in accepts else i if "signed" in accepts else b
        operands = [element, element] if binary else [element]
        result = b if op_class.result_bool else element
        props = ""
    args = ", ".join(f"%a{k}: {t}" for k, t in enumerate(operands))
    uses = ", ".join(f"%a{k}" for k in range(len(operands)))
    props = f" <{{{props}}}>" if props else ""
    return (f"func.func @f({args}) -> {result} {{\n  %0 = \"{op_class.name}\"({uses}){props} : "
            f"({', '.join(operands)}) -> {result}\n  return %0 : {result}\n}}\n")


ALL_OPS = _elementwise_ops()
WITH_ATTRIBUTES = {"graph.cast", "graph.bitshift", "graph.gelu", "graph.is_inf", "graph.leaky_relu", "graph.mod",
                   "graph.swish", "graph.swiglu"}


@pytest.mark.parametrize("op_class", ALL_OPS, ids=[o.name for o in ALL_OPS])
def test_generic_round_trip(op_class):
    module = descend.parse(_sample(op_class))
    text = print_ir(module, generic=True)
    assert print_ir(descend.parse(text), generic=True) == text


@pytest.mark.parametrize("op_class", [o for o in ALL_OPS if o.name not in WITH_ATTRIBUTES],
                         ids=[o.name for o in ALL_OPS if o.name not in WITH_ATTRIBUTES])
def test_custom_round_trip(op_class):
    module = descend.parse(_sample(op_class))
    text = print_ir(module)
    assert f"{op_class.name} %a0" in text
    assert print_ir(descend.parse(text)) == text


@pytest.mark.parametrize("name", sorted(WITH_ATTRIBUTES))
def test_custom_round_trip_with_attributes(name):
    op_class = next(o for o in ALL_OPS if o.name == name)
    text = print_ir(descend.parse(_sample(op_class)))
    assert print_ir(descend.parse(text)) == text


# ---- ONNX -----------------------------------------------------------------------------------------

def _onnx_model(op_type, inputs, output_dtype, output_shape, **attrs):
    from onnx import helper
    from descend.frontends.onnx import onnx_dtype
    from descend.dialects.graph.elementwise import _element_of_dtype
    names = [f"x{k}" for k in range(len(inputs))]
    node = helper.make_node(op_type, names, ["y"], **attrs)
    infos = [helper.make_tensor_value_info(n, onnx_dtype(_element_of_dtype(a.dtype)), a.shape)
             for n, a in zip(names, inputs)]
    out = helper.make_tensor_value_info("y", onnx_dtype(_element_of_dtype(np.dtype(output_dtype))), output_shape)
    g = helper.make_graph([node], "g", infos, [out])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)


@pytest.mark.parametrize("op_type, inputs, attrs", [
    ("Div", [np.int32([7, -7, 7, -7, 0]), np.int32([2, 2, -2, -2, 5])], {}),
    ("Mod", [np.int32([7, -7, 7, -7]), np.int32([3, 3, -3, -3])], {}),
    ("Mod", [np.float32([7.5, -7.5]), np.float32([2, 2])], {"fmod": 1}),
    ("Pow", [np.float32([2, 3]), np.int64([3, 2])], {}),
    ("Clip", [np.int8([-100, 5, 100]), np.array(-10, np.int8), np.array(10, np.int8)], {}),
    ("PRelu", [np.float32([[-1, 2], [-3, 4]]), np.float32([0.5, 0.1])], {}),
    ("Max", [np.float32([1, 5]), np.float32([[3], [4]]), np.array(2, np.float32)], {}),
    ("Mean", [np.float32([1, 5]), np.float32([3, 4]), np.float32([2, 0])], {}),
    ("Where", [np.array([True, False]), np.float32([1, 2]), np.float32([[3], [4]])], {}),
    ("Cast", [np.float32([-1.7, 2.9, 0])], {"to": 6}),
    ("HardSigmoid", [np.float32([-4, 0, 1, 4])], {"alpha": 0.3, "beta": 0.4}),
    ("BitShift", [np.uint8([1, 128]), np.uint8([3, 1])], {"direction": "RIGHT"}),
])
def test_onnx_matches_onnxruntime(op_type, inputs, attrs):
    ort = pytest.importorskip("onnxruntime")
    from descend.frontends.onnx.backend import DescendBackend
    expected_dtype = {"Cast": np.int32, "Where": np.float32}.get(op_type, inputs[0].dtype)
    shape = np.broadcast_shapes(*(a.shape for a in inputs))
    model = _onnx_model(op_type, inputs, expected_dtype, shape, **attrs)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {f"x{k}": a for k, a in enumerate(inputs)})
    (got,) = DescendBackend.prepare(model, input_arrays=inputs).run(inputs)
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_swish_matches_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper
    from descend.frontends.onnx.backend import DescendBackend
    x = np.float32([-30, -1, 0, 2, 30])
    g = helper.make_graph([helper.make_node("Swish", ["x"], ["y"], alpha=0.7)], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 24)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    (got,) = DescendBackend.prepare(model, input_arrays=[x]).run([x])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)  # onnxruntime flushes -30 * 7.6e-10


def test_dropout_in_training_mode_is_unsupported():
    from onnx import helper, TensorProto
    from descend.frontends.onnx import ImportFailed, import_model
    node = helper.make_node("Dropout", ["x", "r", "t"], ["y"])
    ratio = helper.make_tensor("r", TensorProto.FLOAT, [], [0.5])
    training = helper.make_tensor("t", TensorProto.BOOL, [], [True])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])], [ratio, training])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ImportFailed, match="training mode with a nonzero ratio"):
        import_model(model)


# ONNX node tests of these ops that pass (a fast, representative subset of each family).
NODE_TESTS = """
abs acos asin atanh ceil cos cosh erf exp floor log neg reciprocal relu round sign sin sqrt tan tanh
leakyrelu elu selu celu celu_float16 hardsigmoid hardswish softplus softsign mish thresholdedrelu
shrink_hard shrink_soft gelu_default_1 gelu_tanh_2 sigmoid isinf_negative isnan_float16 not_3d
bitwise_not_2d identity dropout_default_mask
add_uint8 sub_int8 mul_uint16 div_int32_trunc div_uint8 pow_types_int32_float32 pow_types_int64_int64
pow_bcast_array max_int8 min_uint64 mod_mixed_sign_int8 mod_mixed_sign_float16 mod_int64_fmod
bitshift_left_int8_overflow bitshift_right_int32_negative_input bitshift_left_int32_shift_ge_width
bitwise_and_ui8_bcast_4v3d bitwise_xor_i32_2d and_bcast4v3d or3d xor_bcast3v1d equal_uint32
less_equal_bcast greater_int16 prelu_broadcast where_long_example sum_two_inputs mean_example max_one_input
cast_FLOAT_to_DOUBLE cast_FLOAT16_to_FLOAT cast_DOUBLE_to_FLOAT16
swish swish_expanded swiglu swiglu_alpha swiglu_float16
""".split()


@pytest.fixture(scope="module")
def node_cases():
    from descend.testing.onnx_conformance import node_cases
    return node_cases()


@pytest.mark.parametrize("name", NODE_TESTS)
def test_onnx_node_test_passes(node_cases, name):
    from descend.frontends.onnx.backend import DescendBackend
    from descend.testing.onnx_conformance import PASSED, run_case
    case = node_cases[f"test_{name}"]
    if any(not isinstance(a, np.ndarray) for inputs, _ in case.data_sets for a in inputs):
        pytest.skip("inputs given as TensorProto (the harness does not convert them yet)")
    outcome = run_case(case, DescendBackend)
    assert outcome.status == PASSED, outcome.message
