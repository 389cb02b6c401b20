"""graph -> graph: inference-time simplifications (Relay's SimplifyInference and
FoldScaleAxis, ONNX Runtime's Conv+BatchNorm fusion).

- `graph.identity` and `graph.dropout` disappear (rules in rewrites/rules/graph.rules).
- reshape(reshape(x)) is one reshape; a reshape to x's own type is x.
- transpose(transpose(x, p), q) is x when q undoes p, else one transpose by the composed
  permutation (an absent perm is the reversed axes).
- batch_norm(conv(x, w, b)) becomes conv(x, w * s, (b - mean) * s + bias) with
  s = scale / sqrt(var + epsilon) per output channel, when the conv's weights and bias and
  the batch_norm's parameters are constants and the conv result has no other use; the
  same for gemm (scaling b's output columns and rewriting c) and for a rank-2 matmul with a
  constant rhs (then followed by one add of the shift).
- y * c, y / c, y + c and y - c with y from such a conv/gemm/matmul (single use) and c a
  constant that varies only along the output channels (axis 1) fold into the weights and
  bias in the same way.

The folds compute new weights in float64 and round once to the weight type, so results
agree with the original to rounding, not bit for bit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from descend.ir import Context, DenseElementsAttr, InsertionPoint, Operation, TensorType, Value

from ..debug import channel
from ..greedy import apply_greedily
from ..pass_options import option
from ..passes import Pass, register_pass
from ..pattern import RewritePattern
from .fold_constants import constant_array

ANCHORS = ("graph.conv", "graph.gemm", "graph.matmul")


# ---- small builders ----------------------------------------------------------------------------

def _constant(rewriter, array, type: TensorType, like: Value | None = None) -> Value:
    """A new graph.constant, named after the constant `like` it replaces."""
    from descend.dialects.graph import ConstantOp
    op = ConstantOp.build(value=DenseElementsAttr(type, np.asarray(array)))
    value = rewriter.insert(op).result
    if like is not None:
        value.name_hint = like.name_hint
    return value


def _float_tensor(value: Value) -> bool:
    from descend.ir import FloatType
    return isinstance(value.type, TensorType) and isinstance(value.type.element_type, FloatType)


def _rebuild(rewriter, op: Operation, operands, **changes) -> Operation:
    """A copy of `op` with new operands and some attributes changed (by name)."""
    attributes = {k: v for k, v in op.properties.items() if k in op.definition.attributes}
    for name, value in changes.items():
        from descend.dialects.graph import to_attribute
        attributes[name] = to_attribute(value)
    new = type(op).build(*operands, attributes=dict(op.attributes), location=op.location, **attributes)
    return rewriter.insert(new)


def _sole_use(value: Value) -> bool:
    return len(value.uses) == 1


# ---- the affine view of an anchor ----------------------------------------------------------------

class Affine:
    """An anchor op (conv, gemm, rank-2 matmul) whose output channels (axis 1) can absorb a
    per-channel scale and shift: `scaled(v)` and `shifted(v)` build the new op."""

    def __init__(self, op: Operation):
        self.op = op
        self.channels = op.results[0].type.shape[1]

    @staticmethod
    def of(value: Value) -> "Affine | None":
        op = value.defining_op
        if op is None or op.name not in ANCHORS or not _sole_use(value) or not _float_tensor(value):
            return None
        out = value.type
        if op.name == "graph.conv":
            if constant_array(op.operands[1]) is None:
                return None
            if len(op.operands) == 3 and constant_array(op.operands[2]) is None:
                return None
        elif op.name == "graph.gemm":
            if constant_array(op.operands[1]) is None:
                return None
            if len(op.operands) == 3 and constant_array(op.operands[2]) is None:
                return None
        else:  # matmul: a rank-2 product with a constant rank-2 rhs
            if out.rank != 2 or op.operands[1].type.rank != 2 or constant_array(op.operands[1]) is None:
                return None
        return Affine(op)

    @property
    def has_bias(self) -> bool:
        return self.op.name != "graph.matmul"

    def build(self, rewriter, scale: np.ndarray, shift: np.ndarray | None) -> Value:
        """The anchor computing y * scale + shift per channel (shift None: no shift)."""
        op = self.op
        operands = list(op.operands)
        weights = constant_array(operands[1]).astype(np.float64)
        w_type = operands[1].type
        if op.name == "graph.conv":
            new_w = weights * scale.reshape((-1,) + (1,) * (weights.ndim - 1))
            bias = (constant_array(operands[2]).astype(np.float64) if len(operands) == 3
                    else np.zeros(self.channels))
            new_b = bias * scale + (shift if shift is not None else 0.0)
            b_type = TensorType((self.channels,), w_type.element_type)
            new_operands = [operands[0], _constant(rewriter, new_w, w_type, operands[1]),
                            _constant(rewriter, new_b, b_type, operands[2] if len(operands) == 3 else None)]
            return _rebuild(rewriter, op, new_operands).results[0]
        if op.name == "graph.gemm":
            trans_b = int(op.properties["trans_b"].value) if "trans_b" in op.properties else 0
            beta = float(op.properties["beta"].value) if "beta" in op.properties else 1.0
            new_w = weights * (scale[:, None] if trans_b else scale[None, :])
            if len(operands) == 3:
                c = constant_array(operands[2]).astype(np.float64) * beta
            else:
                c = np.zeros((self.channels,))
            new_c = c * scale + (shift if shift is not None else 0.0)
            c_type = TensorType(new_c.shape, w_type.element_type)
            new_operands = [operands[0], _constant(rewriter, new_w, w_type, operands[1]),
                            _constant(rewriter, new_c, c_type, operands[2] if len(operands) == 3 else None)]
            return _rebuild(rewriter, op, new_operands, beta=1.0).results[0]
        # matmul: scale the rhs columns; a shift needs an add after it.
        new_w = weights * scale[None, :]
        product = _rebuild(rewriter, op, [operands[0], _constant(rewriter, new_w, w_type, operands[1])]).results[0]
        if shift is None:
            return product
        from descend.dialects.graph import AddOp
        s_type = TensorType((self.channels,), w_type.element_type)
        add = AddOp.build(product, _constant(rewriter, shift, s_type), location=op.location)
        return rewriter.insert(add).results[0]


def per_channel(constant: np.ndarray, out: TensorType) -> np.ndarray | None:
    """`constant` as a vector over axis 1 of `out`, if broadcasting it against `out` keeps
    out's shape and it varies along no other axis; else None."""
    c = np.asarray(constant)
    if c.ndim > out.rank:
        return None
    c = c.reshape((1,) * (out.rank - c.ndim) + c.shape)
    for axis, (size, full) in enumerate(zip(c.shape, out.shape)):
        if size not in (1, full) or (axis != 1 and size != 1):
            return None
    return np.broadcast_to(c.reshape(-1) if c.shape[1] != 1 else c.reshape(()), (out.shape[1],)).astype(np.float64)


# ---- patterns ------------------------------------------------------------------------------------

class FoldBatchNorm(RewritePattern):
    """batch_norm(anchor(...)) -> anchor with scaled weights and shifted bias."""

    root = "graph.batch_norm"
    name = "fold-batch-norm"
    benefit = 2

    def match_and_rewrite(self, op, rewriter) -> bool:
        affine = Affine.of(op.operands[0])
        if affine is None:
            return rewriter.no_match("operand is not a conv/gemm/rank-2 matmul with constant weights and one use")
        params = [constant_array(v) for v in op.operands[1:]]
        if any(p is None for p in params):
            return rewriter.no_match("scale, bias, mean and var are not all constants")
        scale, bias, mean, var = (p.astype(np.float64).reshape(-1) for p in params)
        epsilon = float(op.properties["epsilon"].value) if "epsilon" in op.properties else 1e-5
        factor = scale / np.sqrt(var + epsilon)
        with rewriter.at(InsertionPoint.before(op)):
            value = affine.build(rewriter, factor, bias - mean * factor)
        rewriter.replace_op(op, [value])
        rewriter.erase_op(affine.op)
        return True


class FoldChannelAffine(RewritePattern):
    """anchor(...) (*|/|+|-) per-channel constant -> anchor with new weights/bias."""

    name = "fold-channel-affine"

    def __init__(self, root: str):
        super().__init__(name=f"fold-{root.split('.')[1]}-into-weights")
        self.root = root

    def match_and_rewrite(self, op, rewriter) -> bool:
        sides = [(0, 1), (1, 0)] if op.name in ("graph.mul", "graph.add") else [(0, 1)]
        for anchor_index, constant_index in sides:
            affine = Affine.of(op.operands[anchor_index])
            constant = constant_array(op.operands[constant_index])
            if affine is None or constant is None:
                continue
            if op.results[0].type != op.operands[anchor_index].type:
                continue
            vector = per_channel(constant, op.results[0].type)
            if vector is None:
                return rewriter.no_match("the constant is not per output channel")
            if op.name in ("graph.add", "graph.sub") and not affine.has_bias:
                return rewriter.no_match("matmul has no bias to absorb an add")
            if op.name == "graph.mul":
                scale, shift = vector, None
            elif op.name == "graph.div":
                scale, shift = 1.0 / vector, None
            elif op.name == "graph.add":
                scale, shift = np.ones_like(vector), vector
            else:
                scale, shift = np.ones_like(vector), -vector
            with rewriter.at(InsertionPoint.before(op)):
                value = affine.build(rewriter, scale, shift)
            rewriter.replace_op(op, [value])
            rewriter.erase_op(affine.op)
            return True
        return rewriter.no_match("no operand is a foldable anchor next to a constant")


def _perm(op: Operation) -> list[int]:
    attr = op.properties.get("perm")
    rank = op.operands[0].type.rank
    return [int(p) for p in attr] if attr is not None else list(reversed(range(rank)))


class MergeTransposes(RewritePattern):
    """transpose(transpose(x, p), q) -> x when q undoes p, else transpose(x, p o q)."""

    root = "graph.transpose"
    name = "merge-transposes"

    def match_and_rewrite(self, op, rewriter) -> bool:
        inner = op.operands[0].defining_op
        if inner is None or inner.name != "graph.transpose":
            return rewriter.no_match("operand is not a transpose")
        p, q = _perm(inner), _perm(op)
        composed = [p[axis] for axis in q]
        x = inner.operands[0]
        if composed == list(range(len(composed))):
            rewriter.replace_op(op, [x])
            return True
        from descend.dialects.graph import TransposeOp
        with rewriter.at(InsertionPoint.before(op)):
            new = rewriter.insert(TransposeOp.build(x, perm=_ints(composed), location=op.location))
        rewriter.replace_op(op, new)
        return True


class MergeReshapes(RewritePattern):
    """reshape(reshape(x)) -> reshape(x); reshape(x) to x's own type -> x."""

    root = "graph.reshape"
    name = "merge-reshapes"

    def match_and_rewrite(self, op, rewriter) -> bool:
        x = op.operands[0]
        if x.type == op.results[0].type:
            rewriter.replace_op(op, [x])
            return True
        inner = x.defining_op
        if inner is None or inner.name != "graph.reshape":
            return rewriter.no_match("operand is not a reshape")
        source = inner.operands[0]
        if source.type == op.results[0].type:
            rewriter.replace_op(op, [source])
            return True
        rewriter.set_operand(op, 0, source)
        return True


def _ints(values):
    from descend.ir import DenseArrayAttr, i64
    return DenseArrayAttr(i64, list(values))


@register_pass
@dataclass(frozen=True)
class SimplifyInference(Pass):
    """Simplify a graph for inference: drop identity/dropout, fold batch_norm and per-channel
    mul/add into conv/gemm/matmul weights, merge reshape and transpose pairs.

    Folding needs the weights, bias and batch_norm parameters to be graph.constants and the
    anchor's result to have no other use. New weights are computed in float64 and rounded
    once, so results match the original to rounding."""

    name: ClassVar[str] = "simplify-inference"
    statistics: ClassVar[dict] = {
        "identity-elim": "graph.identity ops removed",
        "dropout-elim": "graph.dropout ops removed",
        "fold-batch-norm": "batch_norms folded into conv/gemm/matmul",
        "fold-mul-into-weights": "per-channel multiplications folded",
        "fold-div-into-weights": "per-channel divisions folded",
        "fold-add-into-weights": "per-channel additions folded",
        "fold-sub-into-weights": "per-channel subtractions folded",
        "merge-reshapes": "reshapes merged or removed",
        "merge-transposes": "transposes merged or removed",
    }

    max_iterations: int = option(10, help="sweeps of the rewrite driver before giving up")
    fold_batch_norm: bool = option(True, help="fold batch_norm into a preceding conv/gemm/matmul")
    fold_affine: bool = option(True, help="fold per-channel mul/div/add/sub into weights and bias")

    def run(self, op: Operation, ctx: Context) -> None:
        from ..rules import load_packaged
        patterns: list = list(load_packaged("graph"))
        patterns += [MergeReshapes(), MergeTransposes()]
        if self.fold_batch_norm:
            patterns.append(FoldBatchNorm())
        if self.fold_affine:
            patterns += [FoldChannelAffine(f"graph.{name}") for name in ("mul", "div", "add", "sub")]
        result = apply_greedily(op, patterns, context=ctx, max_iterations=self.max_iterations,
                                debug=channel("greedy-rewriter"))
        for name, times in result.fired.items():
            self.count(name, times)
