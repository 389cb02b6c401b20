"""ONNX -> graph: converters of nn ops — MatMul, Gemm, Einsum, Conv, ConvTranspose, the
pools, the normalisations, the softmaxes and Attention.

Window converters resolve auto_pad and fill default strides, dilations and kernel shapes,
so the graph ops always carry explicit geometry."""

from __future__ import annotations

import math

import numpy as np

from descend.dialects import graph
from descend.ir import FloatType, f32

from .registry import Node, Unsupported, converter


def _wants(node: Node, index: int) -> bool:
    """Whether ONNX output `index` of the node is used (named)."""
    outputs = node.proto.output
    return index < len(outputs) and bool(outputs[index])


def _float_input(node: Node, index: int = 0) -> None:
    t = node.inputs[index].type
    if not isinstance(t.element_type, FloatType):
        raise Unsupported(f"{node.op_type} of {t.element_type} (only float tensors)")


# ---- matrix products --------------------------------------------------------------------------

@converter("MatMul")
def matmul(node: Node):
    return node.build(graph.MatmulOp, *node.inputs[:2])


@converter("Gemm")
def gemm(node: Node):
    a, b = node.inputs[:2]
    c = node.input(2)
    return node.build(graph.GemmOp, a, b, c, alpha=float(node.attr("alpha", 1.0)),
                      beta=float(node.attr("beta", 1.0)), trans_a=int(node.attr("transA", 0)),
                      trans_b=int(node.attr("transB", 0)))


@converter("Einsum")
def einsum(node: Node):
    return node.build(graph.EinsumOp, list(node.inputs), equation=node.require_attr("equation"))


# ---- window geometry ----------------------------------------------------------------------------

def _geometry(node: Node, spatial, kernel, ceil_mode: int = 0):
    """(strides, pads, dilations) with auto_pad resolved to explicit pads."""
    rank = len(spatial)
    strides = list(node.attr("strides", None) or [1] * rank)
    dilations = list(node.attr("dilations", None) or [1] * rank)
    pads = list(node.attr("pads", None) or [0] * (2 * rank))
    if len(strides) != rank or len(dilations) != rank or len(pads) != 2 * rank:
        raise Unsupported(f"strides {strides}, dilations {dilations} or pads {pads} do not fit "
                          f"{rank} spatial axes")
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        pads = [0] * (2 * rank)
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i in range(rank):
            out = -(-spatial[i] // strides[i])
            total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i], 0)
            small, large = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else large)
            ends.append(large if auto_pad == "SAME_UPPER" else small)
        pads = begins + ends
    elif auto_pad not in ("NOTSET", ""):
        raise Unsupported(f"auto_pad '{auto_pad}'")
    return strides, pads, dilations


def _spatial(node: Node) -> tuple[int, ...]:
    t = node.inputs[0].type
    if t.rank < 3:
        raise Unsupported(f"{node.op_type} needs an input (N, C, *spatial), got {t}")
    return t.shape[2:]


# ---- convolutions -----------------------------------------------------------------------------

@converter("Conv")
def conv(node: Node):
    x, w = node.inputs[:2]
    spatial = _spatial(node)
    kernel = list(node.attr("kernel_shape", None) or w.type.shape[2:])
    if tuple(kernel) != tuple(w.type.shape[2:]):
        raise Unsupported(f"kernel_shape {kernel} differs from the weight's {list(w.type.shape[2:])}")
    strides, pads, dilations = _geometry(node, spatial, kernel)
    return node.build(graph.ConvOp, x, w, node.input(2), strides=strides, pads=pads,
                      dilations=dilations, group=int(node.attr("group", 1)))


@converter("ConvTranspose")
def conv_transpose(node: Node):
    x, w = node.inputs[:2]
    spatial = _spatial(node)
    rank = len(spatial)
    kernel = list(node.attr("kernel_shape", None) or w.type.shape[2:])
    if tuple(kernel) != tuple(w.type.shape[2:]):
        raise Unsupported(f"kernel_shape {kernel} differs from the weight's {list(w.type.shape[2:])}")
    strides = list(node.attr("strides", None) or [1] * rank)
    dilations = list(node.attr("dilations", None) or [1] * rank)
    output_padding = list(node.attr("output_padding", None) or [0] * rank)
    pads = list(node.attr("pads", None) or [0] * (2 * rank))
    output_shape = node.attr("output_shape", None)
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise Unsupported(f"auto_pad '{auto_pad}'")
    if auto_pad == "VALID":
        pads = [0] * (2 * rank)
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        output_shape = list(output_shape)[-rank:] if output_shape is not None else \
            [spatial[i] * strides[i] for i in range(rank)]
        total = [strides[i] * (spatial[i] - 1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1
                 - output_shape[i] for i in range(rank)]
        if auto_pad == "SAME_UPPER":
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        else:
            pads = [t - t // 2 for t in total] + [t // 2 for t in total]
    return node.build(graph.ConvTransposeOp, x, w, node.input(2), strides=strides, pads=pads,
                      dilations=dilations, group=int(node.attr("group", 1)), output_padding=output_padding)


# ---- pooling ----------------------------------------------------------------------------------

def _pool_attrs(node: Node) -> dict:
    spatial = _spatial(node)
    kernel = list(node.require_attr("kernel_shape"))
    if len(kernel) != len(spatial):
        raise Unsupported(f"kernel_shape {kernel} does not fit {len(spatial)} spatial axes")
    ceil_mode = int(node.attr("ceil_mode", 0))
    strides, pads, dilations = _geometry(node, spatial, kernel, ceil_mode)
    return dict(kernel=kernel, strides=strides, pads=pads, dilations=dilations, ceil_mode=ceil_mode)


@converter("MaxPool")
def max_pool(node: Node):
    attrs = _pool_attrs(node)
    x = node.inputs[0]
    y = node.build(graph.MaxPoolOp, x, **attrs)
    if not _wants(node, 1):
        return y
    indices = node.build(graph.MaxPoolIndicesOp, x, storage_order=int(node.attr("storage_order", 0)), **attrs)
    return [y, indices]


@converter("AveragePool")
def average_pool(node: Node):
    _float_input(node)
    return node.build(graph.AvgPoolOp, node.inputs[0], count_include_pad=int(node.attr("count_include_pad", 0)),
                      **_pool_attrs(node))


@converter("LpPool")
def lp_pool(node: Node):
    _float_input(node)
    return node.build(graph.LpPoolOp, node.inputs[0], p=int(node.attr("p", 2)), **_pool_attrs(node))


@converter("GlobalAveragePool")
def global_average_pool(node: Node):
    _float_input(node)
    return node.build(graph.GlobalAvgPoolOp, node.inputs[0])


@converter("GlobalMaxPool")
def global_max_pool(node: Node):
    return node.build(graph.GlobalMaxPoolOp, node.inputs[0])


@converter("GlobalLpPool")
def global_lp_pool(node: Node):
    _float_input(node)
    spatial = _spatial(node)
    return node.build(graph.LpPoolOp, node.inputs[0], kernel=list(spatial), p=int(node.attr("p", 2)))


# ---- normalisations -------------------------------------------------------------------------

@converter("BatchNormalization")
def batch_norm(node: Node):
    if node.attr("training_mode", 0) or _wants(node, 1) or _wants(node, 2):
        raise Unsupported("training mode (running mean and variance outputs)")
    x, scale, bias, mean, var = node.inputs[:5]
    element = x.type.element_type
    if any(v.type.element_type != element for v in (scale, bias, mean, var)):
        raise Unsupported("parameters of another element type than the input")
    return node.build(graph.BatchNormOp, x, scale, bias, mean, var, epsilon=float(node.attr("epsilon", 1e-5)))


@converter("InstanceNormalization")
def instance_norm(node: Node):
    x, scale, bias = node.inputs[:3]
    return node.build(graph.InstanceNormOp, x, scale, bias, epsilon=float(node.attr("epsilon", 1e-5)))


@converter("LayerNormalization")
def layer_norm(node: Node):
    x, scale = node.inputs[:2]
    axis = int(node.attr("axis", -1))
    epsilon = float(node.attr("epsilon", 1e-5))
    if int(node.attr("stash_type", 1)) != 1 and x.type.element_type != f32:
        raise Unsupported(f"stash_type {node.attr('stash_type')}")
    y = node.build(graph.LayerNormOp, x, scale, node.input(2), axis=axis, epsilon=epsilon)
    if not (_wants(node, 1) or _wants(node, 2)):
        return y
    stats = node.build(graph.LayerNormStatsOp, x, axis=axis, epsilon=epsilon)
    for i, r in enumerate(stats.results):
        want = node.output_types[1 + i] if 1 + i < len(node.output_types) else None
        if want is not None and want != r.type:
            raise Unsupported(f"statistics of type {want} for an input of {x.type}")
    return [y, stats.results[0], stats.results[1]]


@converter("GroupNormalization")
def group_norm(node: Node):
    x, scale, bias = node.inputs[:3]
    num_groups = int(node.require_attr("num_groups"))
    epsilon = float(node.attr("epsilon", 1e-5))
    channels = x.type.shape[1] if x.type.rank >= 2 else None
    if node.opset < 21 and channels is not None and scale.type.shape == (num_groups,) and num_groups != channels:
        # opset 18 scales and shifts per group: repeat each over its channels
        per = channels // max(num_groups, 1)
        values = [node.const(1), node.const(2)]
        if any(v is None for v in values):
            raise Unsupported("per-group scale and bias (opset 18) that are not constants")
        scale, bias = (node.constant(np.repeat(v, per), v_in.type.element_type)
                       for v, v_in in zip(values, (scale, bias)))
    return node.build(graph.GroupNormOp, x, scale, bias, num_groups=num_groups, epsilon=epsilon)


@converter("RMSNormalization")
def rms_norm(node: Node):
    x, scale = node.inputs[:2]
    if int(node.attr("stash_type", 1)) != 1:
        raise Unsupported(f"stash_type {node.attr('stash_type')}")
    return node.build(graph.RmsNormOp, x, scale, axis=int(node.attr("axis", -1)),
                      epsilon=float(node.attr("epsilon", 1e-5)))


@converter("LRN")
def lrn(node: Node):
    return node.build(graph.LrnOp, node.inputs[0], size=int(node.require_attr("size")),
                      alpha=float(node.attr("alpha", 1e-4)), beta=float(node.attr("beta", 0.75)),
                      bias=float(node.attr("bias", 1.0)))


@converter("MeanVarianceNormalization")
def mean_variance_normalization(node: Node):
    return node.build(graph.MeanVarianceNormOp, node.inputs[0],
                      axes=list(node.attr("axes", None) or [0, 2, 3]))


@converter("LpNormalization")
def lp_normalization(node: Node):
    p = int(node.attr("p", 2))
    if p not in (1, 2):
        raise Unsupported(f"p = {p} (ONNX defines p = 1 or 2)")
    return node.build(graph.LpNormOp, node.inputs[0], axis=int(node.attr("axis", -1)), p=p)


# ---- softmaxes ----------------------------------------------------------------------------------

def _axis_op(op_class):
    def convert(node: Node):
        # opset >= 13 semantics: one axis (older models are upgraded to 13 by the importer)
        return node.build(op_class, node.inputs[0], axis=int(node.attr("axis", -1)))
    return convert


converter("Softmax")(_axis_op(graph.SoftmaxOp))
converter("LogSoftmax")(_axis_op(graph.LogSoftmaxOp))
converter("Hardmax")(_axis_op(graph.HardmaxOp))


# ---- attention ----------------------------------------------------------------------------------

@converter("Attention")
def attention(node: Node):
    """ONNX Attention (opsets 23-25) decomposed into graph ops: heads split, KV cache
    concatenated, grouped KV heads repeated, softmax(q k^T * scale + bias) v, with the
    causal / window / padding masks as an additive 0 / -inf bias (a constant when shapes
    decide it) and fully masked rows giving 0."""
    q, k, v = node.inputs[:3]
    mask, past_key, past_value, nonpad = (node.input(i) for i in (3, 4, 5, 6))
    element = q.type.element_type
    if not isinstance(element, FloatType):
        raise Unsupported(f"Attention of {element} (only float tensors)")
    if (past_key is None) != (past_value is None):
        raise Unsupported("past_key without past_value (or the reverse)")
    rank = q.type.rank
    if rank == 3:
        q = _split_heads(node, q, int(node.require_attr("q_num_heads")))
        k = _split_heads(node, k, int(node.require_attr("kv_num_heads")))
        v = _split_heads(node, v, int(node.require_attr("kv_num_heads")))
    elif rank != 4 or k.type.rank != 4 or v.type.rank != 4:
        raise Unsupported(f"Attention of q {q.type}, k {k.type}, v {v.type} (rank 3 or 4 each)")
    if past_key is not None:
        k = node.build(graph.ConcatOp, [past_key, k], axis=2)
        v = node.build(graph.ConcatOp, [past_value, v], axis=2)
    present_key, present_value = k, v
    batch, q_heads, q_len, head = q.type.shape
    kv_heads, kv_len = k.type.shape[1], k.type.shape[2]
    dtype = graph.base.dtype_of(q.type)

    def scalar(value, like=element):
        return _scalar(node, value, dtype, like)

    scale = node.attr("scale", None)
    root = np.sqrt(1.0 / np.sqrt(head) if scale is None else float(scale))
    q = node.build(graph.MulOp, q, scalar(root))
    k = node.build(graph.MulOp, k, scalar(root))
    if q_heads != kv_heads:
        if q_heads % kv_heads:
            raise Unsupported(f"{q_heads} query heads over {kv_heads} key/value heads")
        k, v = (_repeat_heads(node, t, q_heads // kv_heads) for t in (k, v))
    scores = node.build(graph.MatmulOp, q, node.build(graph.TransposeOp, k, perm=[0, 1, 3, 2]))
    softcap = float(node.attr("softcap", 0.0) or 0.0)
    if softcap > 0:
        cap = scalar(softcap)
        scores = node.build(graph.MulOp, node.build(graph.TanhOp, node.build(graph.DivOp, scores, cap)), cap)

    bias, may_mask_rows = _attention_bias(node, mask, past_key, nonpad, q_len, kv_len, dtype, element)
    biased = scores if bias is None else node.build(graph.AddOp, scores, bias)
    precision = node.attr("softmax_precision", None)
    logits = biased
    if precision is not None:
        from .importer import element_type
        wide = element_type(int(precision))
        if wide != element:
            logits = node.build(graph.CastOp, biased, to=wide)
    probs = node.build(graph.SoftmaxOp, logits, axis=-1)
    if may_mask_rows:
        # a row with no attendable key gives 0 (its softmax would be NaN)
        top = node.build(graph.ReduceMaxOp, bias, axes=[-1], keepdims=1)
        empty = node.build(graph.EqualOp, top, scalar(-np.inf))
        zero = _scalar(node, 0, graph.base.dtype_of(probs.type), probs.type.element_type)
        probs = node.build(graph.WhereOp, empty, zero, probs)
    if probs.type.element_type != element:
        probs = node.build(graph.CastOp, probs, to=element)

    mode = int(node.attr("qk_matmul_output_mode", 0))
    qk_output = {0: scores, 1: scores, 2: biased, 3: probs}.get(mode)
    if qk_output is None:
        raise Unsupported(f"qk_matmul_output_mode {mode}")
    if qk_output.type.element_type != element:
        qk_output = node.build(graph.CastOp, qk_output, to=element)

    y = node.build(graph.MatmulOp, probs, v)
    if rank == 3:
        y = node.build(graph.TransposeOp, y, perm=[0, 2, 1, 3])
        y = node.build(graph.ReshapeOp, y, shape=[batch, q_len, q_heads * v.type.shape[3]])
    return [y, present_key, present_value, qk_output]


def _scalar(node: Node, value, dtype, element):
    return node.constant(np.asarray(value, dtype), element)


def _split_heads(node: Node, x, heads: int):
    """(B, S, H*D) -> (B, H, S, D)."""
    batch, length, hidden = x.type.shape
    if heads < 1 or hidden % heads:
        raise Unsupported(f"hidden size {hidden} of {x.type} is not a multiple of {heads} heads")
    x = node.build(graph.ReshapeOp, x, shape=[batch, length, heads, hidden // heads])
    return node.build(graph.TransposeOp, x, perm=[0, 2, 1, 3])


def _repeat_heads(node: Node, x, times: int):
    """(B, H, S, D) -> (B, H*times, S, D), each head repeated in place: h0, h0, h1, h1, ..."""
    batch, heads, length, head = x.type.shape
    x = node.build(graph.ReshapeOp, x, shape=[batch, heads, 1, length, head])
    x = node.build(graph.ExpandOp, x, shape=[batch, heads, times, length, head])
    return node.build(graph.ReshapeOp, x, shape=[batch, heads * times, length, head])


def _attention_bias(node: Node, mask, past_key, nonpad, q_len: int, kv_len: int, dtype, element):
    """The additive bias (0 where a key may be attended, -inf elsewhere) as a Value
    broadcasting to (B, H, q_len, kv_len), or None; and whether a row may be fully masked."""
    causal = bool(node.attr("is_causal", 0))
    left = int(node.attr("left_window_size", -1))
    right = int(node.attr("right_window_size", -1))
    windowed = left >= 0 or right >= 0
    if nonpad is not None and past_key is not None:
        raise Unsupported("nonpad_kv_seqlen together with a past key/value cache")

    def fill(allowed):
        return node.build(graph.WhereOp, allowed, _scalar(node, 0, dtype, element),
                          _scalar(node, -np.inf, dtype, element))

    terms = []
    if mask is not None:
        is_bool = mask.type.element_type == graph.base.BOOL
        missing = kv_len - mask.type.shape[-1]
        if missing > 0:
            pad_value = np.zeros(mask.type.shape[:-1] + (missing,), bool if is_bool else dtype)
            if not is_bool:
                pad_value[...] = -np.inf
            mask = node.build(graph.ConcatOp, [mask, node.constant(pad_value, mask.type.element_type)], axis=-1)
        if is_bool:
            mask = fill(mask)
        elif mask.type.element_type != element:
            raise Unsupported(f"attn_mask of {mask.type.element_type} for {element} queries")
        terms.append(mask)
    i = np.arange(q_len).reshape(q_len, 1)
    j = np.arange(kv_len).reshape(1, kv_len)
    if nonpad is None:
        offset = past_key.type.shape[2] if past_key is not None else 0
        allowed = np.ones((q_len, kv_len), bool)
        if causal:
            allowed &= j <= i + offset
        if left >= 0:
            allowed &= (i + offset) - j <= left
        if right >= 0:
            allowed &= j - (i + offset) <= right
        if causal or windowed:
            terms.append(node.constant(np.where(allowed, 0, -np.inf).astype(dtype), element))
    else:
        # offset[b] = nonpad[b] - q_len is known only at run time: compare constants with it
        seqlen = node.build(graph.ReshapeOp, nonpad, shape=[nonpad.type.shape[0], 1, 1, 1])
        if seqlen.type.element_type != graph.base.i64:
            seqlen = node.build(graph.CastOp, seqlen, to=graph.base.i64)
        conditions = [node.build(graph.LessOp, node.constant(j.astype(np.int64)), seqlen)]   # padding
        if causal:
            conditions.append(node.build(graph.LessOrEqualOp, node.constant((j - i + q_len).astype(np.int64)), seqlen))
        if left >= 0:
            conditions.append(node.build(graph.LessOrEqualOp, seqlen, node.constant((left + j - i + q_len).astype(np.int64))))
        if right >= 0:
            conditions.append(node.build(graph.LessOrEqualOp, node.constant((j - i + q_len - right).astype(np.int64)), seqlen))
        allowed = conditions[0]
        for c in conditions[1:]:
            allowed = node.build(graph.AndOp, allowed, c)
        terms.append(fill(allowed))
    if not terms:
        return None, False
    bias = terms[0]
    for t in terms[1:]:
        bias = node.build(graph.AddOp, bias, t)
    from .registry import constant_value
    known = constant_value(bias)
    may_mask_rows = known is None or bool(np.isneginf(known.max(axis=-1)).any())
    return bias, may_mask_rows
