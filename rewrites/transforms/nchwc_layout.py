"""graph -> graph: convolutions in channel blocks (ONNX Runtime's NCHWc transformer, TVM's
AlterOpLayout with `contrib_conv2d_NCHWc`).

Each 2-D float `graph.conv` whose output channels divide into blocks of `block` (the
target's f32 vector lanes) becomes a `graph.conv_nchwc` between layout transforms:

    conv(x, w, b)  ->  layout_transform(conv_nchwc(layout_transform(x, NCHW -> NCHW8c),
                                                   layout_transform(w, OIHW -> OIHW8o), b),
                                        NCHW8c -> NCHW)

A dense convolution takes plain NCHW input when its input channels do not divide into
blocks (a first layer of 3 channels); a depthwise one needs them to; other grouped
convolutions are left as they are. Then the transforms move to where the blocked chain
ends:

- an elementwise op (Kind ELEMWISE or BROADCAST, no axis attribute) with an operand that
  is a layout_transform out of a blocked layout runs blocked, and the transform moves after
  it (relu, clip, the residual add); its other operands are transforms alike, scalars (one
  element), or tensors of its shape, which get the opposite transform;
- a 2-D max or average pool runs blocked too, as the same pool over (H, W, lanes) with a
  window of 1 along the lanes; a global pool becomes a reduce over H and W; a
  concatenation along channels joins whole blocks;
- layout_transform(layout_transform(x, A -> B), B -> C) is one transform A -> C, and none
  when C is A: between two blocked convolutions nothing is left.

Constant weights are re-laid out by the pass itself, whatever their size (fold-constants
has a size limit), so they are re-laid out once, when the model compiles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from descend.ir import (Context, FloatType, InsertionPoint, IntegerAttr, Operation, StringAttr, TensorType, Value,
                        i64)

from ..debug import channel
from ..greedy import apply_greedily
from ..pass_options import option
from ..passes import Pass, register_pass
from ..pattern import RewritePattern
from .simplify_inference import _ints

TRANSFORM = "graph.layout_transform"


def _layouts(op: Operation) -> tuple[str, str]:
    return op.properties["src_layout"].value, op.properties["dst_layout"].value


def transform(rewriter, value: Value, src: str, dst: str, location) -> Value:
    """A layout_transform of `value` from `src` to `dst`, inserted at the rewriter's point."""
    from descend.dialects.graph import LayoutTransformOp
    op = LayoutTransformOp.build(value, src_layout=StringAttr(src), dst_layout=StringAttr(dst),
                                 location=location)
    return rewriter.insert(op).results[0]


class ConvToNCHWc(RewritePattern):
    """conv(x, w, b) -> transform(conv_nchwc(transform(x), transform(w), b))."""

    root = "graph.conv"
    name = "conv-to-nchwc"

    def __init__(self, block: int):
        super().__init__()
        self.block = block

    def match_and_rewrite(self, op, rewriter) -> bool:
        from descend.dialects.graph import ConvNCHWcOp
        from descend.dialects.graph.layout import nchwc
        x, w = op.operands[0], op.operands[1]
        y = op.results[0].type
        if y.rank != 4 or not isinstance(y.element_type, FloatType) or y.element_type.width != 32:
            return rewriter.no_match("not a 2-D f32 convolution")
        block, channels, outputs = self.block, x.type.shape[1], y.shape[1]
        group = int(op.properties["group"].value) if "group" in op.properties else 1
        if outputs % block:
            return rewriter.no_match(f"{outputs} output channels do not divide into blocks of {block}")
        depthwise = group > 1 and group == channels == outputs
        if group > 1 and not (depthwise and channels % block == 0):
            return rewriter.no_match("a grouped convolution that is not depthwise over whole blocks")
        layout = nchwc(block)
        attributes = {k: v for k, v in op.properties.items() if k in ("strides", "pads", "dilations", "group")}
        with rewriter.at(InsertionPoint.before(op)):
            xb = transform(rewriter, x, "NCHW", layout, op.location) if channels % block == 0 else x
            wb = _relaid_constant(rewriter, w, block) or transform(rewriter, w, "OIHW", f"OIHW{block}o", op.location)
            conv = rewriter.insert(ConvNCHWcOp.build(xb, wb, *op.operands[2:], location=op.location,
                                                     **attributes))
            conv.results[0].name_hint = op.results[0].name_hint
            out = transform(rewriter, conv.results[0], layout, "NCHW", op.location)
        rewriter.replace_op(op, [out])
        return True


def _relaid_constant(rewriter, w: Value, block: int) -> Value | None:
    """A constant weight re-laid out OIHW -> OIHWxo here, whatever its size (fold-constants
    stops at a size limit; a transform left for run time would copy the weight every run)."""
    from descend.dialects.graph import ConstantOp
    from descend.dialects.graph.layout import relayout
    from descend.ir import DenseElementsAttr
    from .fold_constants import constant_array
    array = constant_array(w)
    if array is None:
        return None
    relaid = np.ascontiguousarray(relayout(array, "OIHW", f"OIHW{block}o"))
    value = rewriter.insert(ConstantOp.build(
        value=DenseElementsAttr(TensorType(relaid.shape, w.type.element_type), relaid))).results[0]
    value.name_hint = w.name_hint
    return value


def _unblocking(value: Value) -> bool:
    """Is `value` a layout_transform out of a blocked layout into one without blocks?"""
    from descend.dialects.graph.layout import is_blocked
    producer = value.defining_op
    if producer is None or producer.name != TRANSFORM:
        return False
    src, dst = _layouts(producer)
    return is_blocked(src) and not is_blocked(dst)


def _scalar(value: Value) -> bool:
    return isinstance(value.type, TensorType) and all(d == 1 for d in value.type.shape)


class SinkTransform(RewritePattern):
    """op(transform(a, B -> A), ..., scalars) -> transform(op(a, ...), B -> A), B blocked, for
    elementwise ops: the other operands are transforms out of B alike, scalars, or plain
    tensors of the result's shape (they get a transform A -> B, which cancels or is shared
    when they have one already)."""

    name = "sink-layout-transform"

    def match_and_rewrite(self, op, rewriter) -> bool:
        from descend.dialects.graph import GraphOp, Kind
        if (not isinstance(op, GraphOp) or op.kind not in (Kind.ELEMWISE, Kind.BROADCAST)
                or op.regions or len(op.results) != 1 or {"axis", "axes"} & set(op.properties)):
            return rewriter.no_match("not a single-result elementwise graph op")
        shape = op.results[0].type.shape
        layouts = {(_layouts(v.defining_op), v.defining_op.operands[0].type.shape)
                   for v in op.operands if _unblocking(v) and v.type.shape == shape}
        if len(layouts) != 1:
            return rewriter.no_match("no operand, or operands from different layouts, is a layout_transform")
        ((src, dst), _), = layouts
        if not all(_scalar(v) and v.type.rank <= len(shape) or v.type.shape == shape for v in op.operands):
            return rewriter.no_match("an operand broadcasts against the result")
        attributes = {k: v for k, v in op.properties.items() if k in op.definition.attributes}
        with rewriter.at(InsertionPoint.before(op)):
            sources = []
            for value in op.operands:
                producer = value.defining_op
                if producer is not None and producer.name == TRANSFORM and _layouts(producer) == (src, dst):
                    sources.append(producer.operands[0])
                elif value.type.shape == shape and not _scalar(value):
                    sources.append(transform(rewriter, value, dst, src, op.location))
                else:
                    sources.append(value)
            inner = rewriter.insert(type(op).build(*sources, location=op.location, **attributes))
            inner.results[0].name_hint = op.results[0].name_hint
            out = transform(rewriter, inner.results[0], src, dst, op.location)
        rewriter.replace_op(op, [out])
        return True


class SinkTransformThroughPool(RewritePattern):
    """pool(transform(a, NCHWxc -> NCHW)) -> transform(pool'(a), NCHWxc -> NCHW): a 2-D
    max or average pool over blocked channels is the same pool over (H, W, lanes) with a
    window of 1 along the lanes; a global pool is a reduce over H and W."""

    name = "sink-layout-transform-through-pool"
    WINDOWED = ("graph.max_pool", "graph.avg_pool")
    GLOBAL = {"graph.global_avg_pool": "ReduceMeanOp", "graph.global_max_pool": "ReduceMaxOp"}

    def match_and_rewrite(self, op, rewriter) -> bool:
        from descend.dialects import graph
        if op.name not in self.WINDOWED and op.name not in self.GLOBAL:
            return rewriter.no_match("not a pool")
        x = op.operands[0]
        if not _unblocking(x) or x.type.rank != 4 or len(op.results) != 1:
            return rewriter.no_match("the operand is not a 2-D tensor out of a blocked layout")
        producer = x.defining_op
        src, dst = _layouts(producer)
        a = producer.operands[0]
        if a.type.rank != 5:
            return rewriter.no_match("the blocked layout is not NCHW with channel blocks")
        with rewriter.at(InsertionPoint.before(op)):
            if op.name in self.GLOBAL:
                new = getattr(graph, self.GLOBAL[op.name]).build(a, axes=_ints([2, 3]), location=op.location)
            else:
                p = op.properties
                attributes = {k: v for k, v in p.items() if k in op.definition.attributes}
                attributes["kernel"] = _ints([*p["kernel"].array.tolist(), 1])
                for name in ("strides", "dilations"):   # (absent: 1 along every axis)
                    if name in p:
                        attributes[name] = _ints([*p[name].array.tolist(), 1])
                if "pads" in p:
                    pads = p["pads"].array.tolist()
                    attributes["pads"] = _ints([pads[0], pads[1], 0, pads[2], pads[3], 0])
                new = type(op).build(a, location=op.location, **attributes)
            inner = rewriter.insert(new)
            inner.results[0].name_hint = op.results[0].name_hint
            out = transform(rewriter, inner.results[0], src, dst, op.location)
        rewriter.replace_op(op, [out])
        return True


class SinkTransformThroughConcat(RewritePattern):
    """concat(transform(a, NCHWxc -> NCHW), transform(b, ...), axis = 1) ->
    transform(concat(a, b, axis = 1)): whole blocks of channels join along the block axis."""

    root = "graph.concat"
    name = "sink-layout-transform-through-concat"

    def match_and_rewrite(self, op, rewriter) -> bool:
        from descend.dialects.graph import ConcatOp
        rank = op.results[0].type.rank
        if rank != 4 or int(op.properties["axis"].value) % rank != 1:
            return rewriter.no_match("not a concatenation of 2-D feature maps along channels")
        if not all(_unblocking(v) for v in op.operands):
            return rewriter.no_match("an operand is not a layout_transform out of a blocked layout")
        layouts = {_layouts(v.defining_op) for v in op.operands}
        if len(layouts) != 1 or any(v.defining_op.operands[0].type.rank != 5 for v in op.operands):
            return rewriter.no_match("the operands come out of different layouts")
        (src, dst), = layouts
        with rewriter.at(InsertionPoint.before(op)):
            inner = rewriter.insert(ConcatOp.build([v.defining_op.operands[0] for v in op.operands],
                                                   axis=IntegerAttr(1, i64), location=op.location))
            inner.results[0].name_hint = op.results[0].name_hint
            out = transform(rewriter, inner.results[0], src, dst, op.location)
        rewriter.replace_op(op, [out])
        return True


class MergeTransforms(RewritePattern):
    """transform(transform(x, A -> B), B -> C) -> transform(x, A -> C), or x when C is A."""

    root = TRANSFORM
    name = "merge-layout-transforms"

    def match_and_rewrite(self, op, rewriter) -> bool:
        inner = op.operands[0].defining_op
        if inner is None or inner.name != TRANSFORM:
            return rewriter.no_match("the operand is not a layout_transform")
        (a, _), (_, c) = _layouts(inner), _layouts(op)
        x = inner.operands[0]
        if a == c and x.type == op.results[0].type:
            rewriter.replace_op(op, [x])
            return True
        with rewriter.at(InsertionPoint.before(op)):
            out = transform(rewriter, x, a, c, op.location)
        rewriter.replace_op(op, [out])
        return True


@register_pass
@dataclass(frozen=True)
class NCHWcLayout(Pass):
    """Run 2-D f32 convolutions in channel blocks (NCHW8c) and keep the chains between them
    blocked: elementwise ops follow, layout transforms cancel (see the module docstring).
    `block` is the channels per block, the target's f32 vector lanes (8 for AVX2, 16 for
    AVX-512); 0 turns the pass off."""

    name: ClassVar[str] = "nchwc-layout"
    statistics: ClassVar[dict] = {
        "conv-to-nchwc": "convolutions made blocked",
        "sink-layout-transform": "elementwise ops run blocked",
        "sink-layout-transform-through-pool": "pools run blocked",
        "sink-layout-transform-through-concat": "concatenations along channels run blocked",
        "merge-layout-transforms": "layout transforms merged or cancelled",
    }

    block: int = option(8, help="channels per block (the f32 lanes of a vector register); 0: off")
    max_iterations: int = option(10, help="sweeps of the rewrite driver before giving up")

    def run(self, op: Operation, ctx: Context) -> None:
        if self.block <= 0:
            return
        patterns = [ConvToNCHWc(self.block), SinkTransform(), SinkTransformThroughPool(),
                    SinkTransformThroughConcat(), MergeTransforms()]
        result = apply_greedily(op, patterns, context=ctx, max_iterations=self.max_iterations,
                                debug=channel("greedy-rewriter"))
        for name, times in result.fired.items():
            self.count(name, times)
