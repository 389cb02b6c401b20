"""ONNX -> graph: converters of elementwise ops — unary math and activations, broadcast
binary arithmetic, comparisons and logic, Where, Clip, Cast/CastLike, Dropout at
inference, and the variadic Max/Min/Sum/Mean as chains of binary ops."""

from __future__ import annotations

from functools import reduce

import numpy as np

from descend.dialects import graph
from descend.ir import FloatType, numpy_dtype

from .importer import element_type
from .registry import Node, Unsupported, converter

# ONNX op type -> graph op, for ops that map one to one and whose attributes (if any) keep
# their ONNX names and defaults.
_UNARY = {
    "Neg": graph.NegOp, "Abs": graph.AbsOp, "Exp": graph.ExpOp, "Log": graph.LogOp,
    "Sqrt": graph.SqrtOp, "Reciprocal": graph.ReciprocalOp, "Relu": graph.ReluOp,
    "Sigmoid": graph.SigmoidOp, "Tanh": graph.TanhOp, "Erf": graph.ErfOp,
    "HardSwish": graph.HardSwishOp, "Softplus": graph.SoftplusOp, "Softsign": graph.SoftsignOp,
    "Mish": graph.MishOp, "Sin": graph.SinOp, "Cos": graph.CosOp, "Tan": graph.TanOp,
    "Asin": graph.AsinOp, "Acos": graph.AcosOp, "Atan": graph.AtanOp, "Sinh": graph.SinhOp,
    "Cosh": graph.CoshOp, "Asinh": graph.AsinhOp, "Acosh": graph.AcoshOp, "Atanh": graph.AtanhOp,
    "Floor": graph.FloorOp, "Ceil": graph.CeilOp, "Round": graph.RoundOp, "Sign": graph.SignOp,
    "Not": graph.NotOp, "IsNaN": graph.IsNanOp, "BitwiseNot": graph.BitwiseNotOp,
    "Identity": graph.IdentityOp,
}
_ATTRIBUTED = {  # op type -> (graph op, {attribute: ONNX default})
    "LeakyRelu": (graph.LeakyReluOp, {"alpha": 0.01}),
    "Elu": (graph.EluOp, {"alpha": 1.0}),
    "Selu": (graph.SeluOp, {"alpha": 1.67326319217681884765625, "gamma": 1.05070102214813232421875}),
    "Celu": (graph.CeluOp, {"alpha": 1.0}),
    "HardSigmoid": (graph.HardSigmoidOp, {"alpha": 0.2, "beta": 0.5}),
    "ThresholdedRelu": (graph.ThresholdedReluOp, {"alpha": 1.0}),
    "Shrink": (graph.ShrinkOp, {"bias": 0.0, "lambd": 0.5}),
    "Gelu": (graph.GeluOp, {"approximate": "none"}),
    "IsInf": (graph.IsInfOp, {"detect_positive": 1, "detect_negative": 1}),
    "Swish": (graph.SwishOp, {"alpha": 1.0}),
}
_BINARY = {
    "Add": graph.AddOp, "Sub": graph.SubOp, "Mul": graph.MulOp, "Div": graph.DivOp,
    "Pow": graph.PowOp, "BitwiseAnd": graph.BitwiseAndOp, "BitwiseOr": graph.BitwiseOrOp,
    "BitwiseXor": graph.BitwiseXorOp, "And": graph.AndOp, "Or": graph.OrOp, "Xor": graph.XorOp,
    "Equal": graph.EqualOp, "Less": graph.LessOp, "LessOrEqual": graph.LessOrEqualOp,
    "Greater": graph.GreaterOp, "GreaterOrEqual": graph.GreaterOrEqualOp, "PRelu": graph.PReluOp,
}
_VARIADIC = {"Max": graph.MaxOp, "Min": graph.MinOp, "Sum": graph.AddOp}


@converter(*_UNARY)
def unary(node: Node):
    return node.build(_UNARY[node.op_type], node.inputs[0])


@converter(*_ATTRIBUTED)
def attributed_unary(node: Node):
    op_class, defaults = _ATTRIBUTED[node.op_type]
    attrs = {name: node.attr(name, default) for name, default in defaults.items()}
    return node.build(op_class, node.inputs[0], **attrs)


@converter(*_BINARY)
def binary(node: Node):
    lhs, rhs = node.inputs[:2]
    return node.build(_BINARY[node.op_type], lhs, rhs)


@converter("SwiGLU")
def swiglu(node: Node):
    gate, value = node.inputs
    return node.build(graph.SwiGluOp, gate, value, alpha=node.attr("alpha", 1.0))


@converter("Mod")
def mod(node: Node):
    return node.build(graph.ModOp, *node.inputs[:2], fmod=node.attr("fmod", 0))


@converter("BitShift")
def bitshift(node: Node):
    direction = node.require_attr("direction")
    if direction not in ("LEFT", "RIGHT"):
        raise Unsupported(f"direction \"{direction}\" (expects LEFT or RIGHT)")
    return node.build(graph.BitShiftOp, *node.inputs[:2], direction=direction.lower())


@converter(*_VARIADIC)
def variadic(node: Node):
    """Max/Min/Sum of N broadcast inputs as a left-to-right chain of binary ops."""
    inputs = [v for v in node.inputs if v is not None]
    if not inputs:
        raise Unsupported(f"{node.op_type} of no inputs")
    op_class = _VARIADIC[node.op_type]
    return reduce(lambda acc, v: node.build(op_class, acc, v), inputs[1:], inputs[0])


@converter("Mean")
def mean(node: Node):
    """The sum of the inputs, then one division by their count."""
    inputs = [v for v in node.inputs if v is not None]
    if not inputs:
        raise Unsupported("Mean of no inputs")
    element = inputs[0].type.element_type
    if not isinstance(element, FloatType):
        raise Unsupported(f"Mean of {element} (ONNX defines it for floats)")
    total = reduce(lambda acc, v: node.build(graph.AddOp, acc, v), inputs[1:], inputs[0])
    if len(inputs) == 1:
        return total
    count = _scalar(node, len(inputs), element, len(total.type.shape))
    return node.build(graph.DivOp, total, count)


def _scalar(node: Node, value, element, rank: int):
    """A rank-0 constant: it broadcasts against any shape."""
    return node.constant(np.full((), value, numpy_dtype(element)), element)


@converter("Where")
def where(node: Node):
    return node.build(graph.WhereOp, *node.inputs[:3])


@converter("Clip")
def clip(node: Node):
    """Clip(x, min?, max?): a missing bound becomes -inf/+inf or the integer extremes."""
    x = node.inputs[0]
    element = x.type.element_type
    dtype = numpy_dtype(element)
    if isinstance(element, FloatType):
        lowest, highest = -np.inf, np.inf
    elif dtype.kind in "iu":
        lowest, highest = np.iinfo(dtype).min, np.iinfo(dtype).max
    else:
        raise Unsupported(f"Clip of {element}")
    bounds = []
    for index, default in ((1, lowest), (2, highest)):
        value = node.input(index)
        bounds.append(value if value is not None else _scalar(node, default, element, len(x.type.shape)))
    return node.build(graph.ClipOp, x, *bounds)


@converter("Cast")
def cast(node: Node):
    return _cast(node, element_type(node.require_attr("to")))


@converter("CastLike")
def cast_like(node: Node):
    return _cast(node, node.inputs[1].type.element_type)


def _cast(node: Node, to):
    """`saturate` only concerns 8- and 4-bit float targets; e8m0 (with its round_mode) has
    no cast here."""
    if isinstance(to, FloatType) and to.name == "f8E8M0FNU":
        raise Unsupported("casts to FLOAT8E8M0 (round_mode) are not supported")
    saturate = node.attr("saturate", 1)
    return node.build(graph.CastOp, node.inputs[0], to=to, saturate=None if saturate == 1 else saturate)


@converter("Dropout")
def dropout(node: Node):
    """Inference only: identity, with an all-true mask. Training mode (a constant true)
    is supported only with ratio 0, where it is the identity too."""
    x = node.inputs[0]
    ratio_value = node.const(1) if node.input(1) is not None else np.asarray(0.5)
    if node.input(2) is not None:
        training = node.const(2)
        if training is None:
            raise Unsupported("training_mode must be a constant")
        if bool(np.asarray(training).reshape(-1)[0]):
            if ratio_value is None or float(np.asarray(ratio_value).reshape(-1)[0]) != 0.0:
                raise Unsupported("training mode with a nonzero ratio (random masks)")
    ratio = 0.5 if ratio_value is None else float(np.asarray(ratio_value).reshape(-1)[0])
    y = node.build(graph.DropoutOp, x, ratio=ratio)
    outputs = node.proto.output
    if len(outputs) > 1 and outputs[1]:
        return [y, node.constant(np.ones(x.type.shape, np.bool_))]
    return y
