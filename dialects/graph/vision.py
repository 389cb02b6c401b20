"""graph: detection and vision ops — RoI align, affine grids, col2im, max-unpool, deformable
convolution, rotary position embedding, determinants — and non-max suppression, whose
result shape depends on the data and so is computed at import from constants.

Shapes are static: output sizes, image and block shapes are attributes (the ONNX
converters read them from constant inputs). Spatial ops take NCHW (channels first)."""

from __future__ import annotations

import numpy as np

from descend.ir import IntegerType, TensorType, operand, opt_operand, result

from .base import (GraphOp, Kind, ShapeError, float_, int_, ints, is_float, same_elements, shape_text,
                   string, tensor)


def _floats(t, what: str) -> None:
    if not is_float(t):
        raise ShapeError(f"{what} must be a float tensor, got {t}")


def _integers(t, what: str) -> None:
    e = t.element_type
    if not isinstance(e, IntegerType) or e.width == 1:
        raise ShapeError(f"{what} must be integers, got {t}")


def _work(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float64)


# ---- RoI align -----------------------------------------------------------------------------------

class RoiAlignOp(GraphOp):
    """Each region of interest [x1, y1, x2, y2] (times spatial_scale) of image
    batch_indices[r] cut into output_height x output_width bins, each the average (or max)
    of sampling_ratio^2 bilinear samples (adaptive ceil(size / bins) when 0); result
    [rois, channels, output_height, output_width]."""

    name = "graph.roi_align"
    x = operand(TensorType)
    rois = operand(TensorType)
    batch_indices = operand(TensorType)
    y = result(TensorType)
    mode = string("avg")
    output_height = int_(1)
    output_width = int_(1)
    sampling_ratio = int_(0)
    spatial_scale = float_(1.0)
    half_pixel = int_(1, doc="1: coordinates shift by -0.5 (half_pixel); 0: output_half_pixel")
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        x, rois, indices = types
        _floats(x, "x")
        same_elements([x, rois], "x and rois")
        _integers(indices, "batch_indices")
        if x.rank != 4:
            raise ShapeError(f"x must be [N, C, H, W], got [{shape_text(x.shape)}]")
        if rois.rank != 2 or rois.shape[1] != 4 or indices.shape != rois.shape[:1]:
            raise ShapeError(f"rois must be [R, 4] and batch_indices [R], got [{shape_text(rois.shape)}] "
                             f"and [{shape_text(indices.shape)}]")
        if attrs.mode not in ("avg", "max"):
            raise ShapeError(f"mode must be avg or max, got '{attrs.mode}'")
        if attrs.output_height < 1 or attrs.output_width < 1 or attrs.sampling_ratio < 0:
            raise ShapeError(f"output {attrs.output_height}x{attrs.output_width} and sampling_ratio "
                             f"{attrs.sampling_ratio} must be positive")
        return [tensor((rois.shape[0], x.shape[1], attrs.output_height, attrs.output_width), x.element_type)]

    @staticmethod
    def reference(x, rois, batch_indices, *, mode="avg", output_height=1, output_width=1, sampling_ratio=0,
                  spatial_scale=1.0, half_pixel=1):
        data = _work(x)
        _, channels, height, width = data.shape
        out = np.zeros((len(rois), channels, output_height, output_width))
        # sample positions in the rois' precision (f32 at least), as onnxruntime computes them:
        # a sample on the image's far edge is in or out by that rounding
        coords = np.float64 if rois.dtype == np.float64 else np.float32
        shift = coords(0.5 if half_pixel else 0.0)
        for r, (roi, b) in enumerate(zip(np.asarray(rois, coords), np.asarray(batch_indices))):
            x1, y1, x2, y2 = roi * coords(spatial_scale) - shift
            roi_w, roi_h = x2 - x1, y2 - y1
            if not half_pixel:
                roi_w, roi_h = max(roi_w, coords(1.0)), max(roi_h, coords(1.0))
            bin_h, bin_w = roi_h / coords(output_height), roi_w / coords(output_width)
            grid_h = sampling_ratio if sampling_ratio > 0 else int(np.ceil(roi_h / output_height))
            grid_w = sampling_ratio if sampling_ratio > 0 else int(np.ceil(roi_w / output_width))
            if grid_h * grid_w == 0:
                continue
            ys = (y1 + np.arange(output_height, dtype=coords)[:, None] * bin_h
                  + (np.arange(grid_h, dtype=coords)[None, :] + coords(0.5)) * bin_h / coords(grid_h))
            xs = (x1 + np.arange(output_width, dtype=coords)[:, None] * bin_w
                  + (np.arange(grid_w, dtype=coords)[None, :] + coords(0.5)) * bin_w / coords(grid_w))
            (y_lo, y_hi, wy_lo, wy_hi), (x_lo, x_hi, wx_lo, wx_hi) = (
                _bilinear_axis(ys.reshape(-1), height), _bilinear_axis(xs.reshape(-1), width))
            image = data[int(b)]
            corners = [image[:, ya[:, None], xa[None, :]] * (wya[:, None] * wxa[None, :])
                       for ya, wya in ((y_lo, wy_lo), (y_hi, wy_hi)) for xa, wxa in ((x_lo, wx_lo), (x_hi, wx_hi))]
            shape = (channels, output_height, grid_h, output_width, grid_w)
            if mode == "avg":
                out[r] = sum(corners).reshape(shape).sum(axis=(2, 4)) / (grid_h * grid_w)
            else:
                out[r] = np.max(corners, axis=0).reshape(shape).max(axis=(2, 4))
        return out.astype(x.dtype)


def _bilinear_axis(coords: np.ndarray, size: int):
    """Low and high neighbours and their weights along one axis, as onnx's RoiAlign reads
    them: a sample beyond [-1, size] weighs 0, one past the last pixel sits on it."""
    outside = (coords < -1.0) | (coords > size)
    c = np.maximum(coords, 0)
    low = np.floor(c).astype(np.int64)
    edge = low >= size - 1
    low = np.where(edge, size - 1, low)
    high = np.where(edge, size - 1, low + 1)
    c = np.where(edge, low, c)
    frac = c - low
    keep = ~outside
    return low, high, (1 - frac) * keep, frac * keep


# ---- non-max suppression (computed at import) -------------------------------------------------------

def non_max_suppression(boxes, scores, max_output_boxes_per_class: int, iou_threshold: float,
                        score_threshold: float | None, center_point_box: int) -> np.ndarray:
    """[selected, 3] int64 rows (batch, class, box): per batch and class, boxes by falling
    score (ties: lower index first) over score_threshold, each kept unless its IoU with a
    kept box exceeds iou_threshold, at most max_output_boxes_per_class; onnx's semantics."""
    boxes, scores = np.asarray(boxes, np.float64), np.asarray(scores, np.float64)
    if center_point_box:
        cx, cy, w, h = np.moveaxis(boxes, -1, 0)
        x_lo, x_hi, y_lo, y_hi = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    else:
        y1, x1, y2, x2 = np.moveaxis(boxes, -1, 0)
        x_lo, x_hi, y_lo, y_hi = np.minimum(x1, x2), np.maximum(x1, x2), np.minimum(y1, y2), np.maximum(y1, y2)
    selected = []
    for b in range(scores.shape[0]):
        inter_w = np.minimum(x_hi[b][:, None], x_hi[b][None, :]) - np.maximum(x_lo[b][:, None], x_lo[b][None, :])
        inter_h = np.minimum(y_hi[b][:, None], y_hi[b][None, :]) - np.maximum(y_lo[b][:, None], y_lo[b][None, :])
        inter = np.where((inter_w > 0) & (inter_h > 0), inter_w * inter_h, 0.0)
        area = (x_hi[b] - x_lo[b]) * (y_hi[b] - y_lo[b])
        union = area[:, None] + area[None, :] - inter
        with np.errstate(all="ignore"):
            iou = np.where((inter > 0) & (area[:, None] > 0) & (area[None, :] > 0) & (union > 0),
                           inter / union, 0.0)
        suppresses = iou > iou_threshold
        for c in range(scores.shape[1]):
            s = scores[b, c]
            order = np.lexsort((np.arange(len(s)), -s))
            if score_threshold is not None:
                order = order[s[order] > score_threshold]
            kept: list[int] = []
            for i in order:
                if len(kept) >= max_output_boxes_per_class:
                    break
                if not any(suppresses[i, k] for k in kept):
                    kept.append(int(i))
                    selected.append((b, c, int(i)))
    return np.array(selected, np.int64).reshape(-1, 3)


# ---- affine grid ---------------------------------------------------------------------------------

class AffineGridOp(GraphOp):
    """Sampling grids for grid_sample: theta [N, 2, 3] (or [N, 3, 4]) times the normalised
    [-1, 1] coordinates (x, y[, z], 1) of every pixel of an image of `size` [N, C, H, W]
    (or [N, C, D, H, W]); result [N, H, W, 2] (or [N, D, H, W, 3])."""

    name = "graph.affine_grid"
    theta = operand(TensorType)
    grid = result(TensorType)
    size = ints()
    align_corners = int_(0)
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        (theta,) = types
        _floats(theta, "theta")
        size = list(attrs.size or [])
        if len(size) not in (4, 5):
            raise ShapeError(f"size must be [N, C, H, W] or [N, C, D, H, W], got {size}")
        k = len(size) - 2
        if theta.shape != (size[0], k, k + 1):
            raise ShapeError(f"theta must be [{size[0]}x{k}x{k + 1}] for size {size}, got [{shape_text(theta.shape)}]")
        return [tensor((size[0], *size[2:], k), theta.element_type)]

    @staticmethod
    def reference(theta, *, size, align_corners=0):
        spatial = [int(s) for s in size[2:]]
        axes = [np.linspace(-1, 1, n) if align_corners else (2 * np.arange(n) + 1) / n - 1 for n in spatial]
        mesh = np.meshgrid(*axes, indexing="ij")                       # z, y, x order
        points = np.stack([*reversed(mesh), np.ones(spatial)], axis=-1)   # x, y, z, 1
        grid = np.einsum("...j,nij->n...i", points, _work(theta))
        return grid.astype(theta.dtype)


# ---- col2im and max-unpool -------------------------------------------------------------------------

class Col2ImOp(GraphOp):
    """The inverse of im2col: columns [N, C * prod(block_shape), L] of sliding blocks summed
    back into images [N, C, *image_shape] (overlaps add), blocks placed by strides, pads and
    dilations as a convolution's windows."""

    name = "graph.col2im"
    x = operand(TensorType)
    y = result(TensorType)
    image_shape = ints()
    block_shape = ints()
    dilations = ints()
    pads = ints()
    strides = ints()
    kind = Kind.OPAQUE

    @staticmethod
    def geometry(image, block, dilations, pads, strides):
        k = len(image)
        dilations = [1] * k if dilations is None else [int(v) for v in dilations]
        pads = [0] * (2 * k) if pads is None else [int(v) for v in pads]
        strides = [1] * k if strides is None else [int(v) for v in strides]
        if len(block) != k or len(dilations) != k or len(strides) != k or len(pads) != 2 * k:
            raise ShapeError(f"image_shape {list(image)}, block_shape {list(block)}, dilations {dilations}, "
                             f"pads {pads} and strides {strides} do not agree on {k} spatial axes")
        counts = [(image[i] + pads[i] + pads[k + i] - dilations[i] * (block[i] - 1) - 1) // strides[i] + 1
                  for i in range(k)]
        return dilations, pads, strides, counts

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        image, block = list(attrs.image_shape or []), list(attrs.block_shape or [])
        if not image:
            raise ShapeError("image_shape must not be empty")
        _, _, _, counts = cls.geometry(image, block, attrs.dilations, attrs.pads, attrs.strides)
        per_block = int(np.prod(block))
        if x.rank != 3 or x.shape[1] % per_block or x.shape[2] != int(np.prod(counts)) or min(counts) < 1:
            raise ShapeError(f"x must be [N, C*{per_block}, {int(np.prod(counts))}] for image {image} and "
                             f"block {block}, got [{shape_text(x.shape)}]")
        return [tensor((x.shape[0], x.shape[1] // per_block, *image), x.element_type)]

    @staticmethod
    def reference(x, *, image_shape, block_shape, dilations=None, pads=None, strides=None):
        image, block = [int(v) for v in image_shape], [int(v) for v in block_shape]
        dilations, pads, strides, counts = Col2ImOp.geometry(image, block, dilations, pads, strides)
        k = len(image)
        n, rows, _ = x.shape
        channels = rows // int(np.prod(block))
        cols = x.reshape((n, channels, *block, *counts))
        offsets = np.meshgrid(*[np.arange(b) for b in block], *[np.arange(c) for c in counts], indexing="ij")
        positions = [offsets[k + i] * strides[i] - pads[i] + offsets[i] * dilations[i] for i in range(k)]
        inside = np.ones(positions[0].shape, bool)
        for i in range(k):
            inside &= (positions[i] >= 0) & (positions[i] < image[i])
        out = np.zeros((n, channels, *image), x.dtype)
        flat = np.ravel_multi_index([p[inside] for p in positions], image)
        view = out.reshape(n, channels, -1)
        np.add.at(view, (slice(None), slice(None), flat), cols[..., inside])
        return out


class MaxUnpoolOp(GraphOp):
    """A zero tensor of `output_shape` with x's values written at `indices` (flat positions
    in that tensor, as MaxPool's indices output gives them)."""

    name = "graph.max_unpool"
    x = operand(TensorType)
    indices = operand(TensorType)
    y = result(TensorType)
    output_shape = ints()
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        x, indices = types
        _integers(indices, "indices")
        if indices.shape != x.shape:
            raise ShapeError(f"indices [{shape_text(indices.shape)}] must have x's shape [{shape_text(x.shape)}]")
        shape = list(attrs.output_shape or [])
        if len(shape) != x.rank or shape[:2] != list(x.shape[:2]):
            raise ShapeError(f"output_shape {shape} must keep x's batch and channels [{shape_text(x.shape)}]")
        return [tensor(shape, x.element_type)]

    @staticmethod
    def reference(x, indices, *, output_shape):
        out = np.zeros(int(np.prod(output_shape)), x.dtype)
        out[np.asarray(indices, np.int64).reshape(-1)] = x.reshape(-1)
        return out.reshape([int(d) for d in output_shape])


# ---- deformable convolution -------------------------------------------------------------------------

class DeformConvOp(GraphOp):
    """A 2-D convolution whose taps move: tap (i, j) of output pixel (h, w) reads x bilinearly
    (zero outside) at (h*stride - pad + i*dilation + offset_h, ... + offset_w), times
    mask (ones when absent); offsets [N, offset_group * kh * kw * 2, oh, ow] are per
    offset group of input channels, then + bias."""

    name = "graph.deform_conv"
    x = operand(TensorType)
    w = operand(TensorType)
    offset = operand(TensorType)
    b = operand(TensorType)
    mask = opt_operand(TensorType)
    y = result(TensorType)
    strides = ints([1, 1])
    pads = ints([0, 0, 0, 0])
    dilations = ints([1, 1])
    group = int_(1)
    offset_group = int_(1)
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        x, w, offset, b = types[:4]
        same_elements(types)
        _floats(x, "x")
        if x.rank != 4 or w.rank != 4:
            raise ShapeError(f"x and w must be rank 4 (2-D convolution), got [{shape_text(x.shape)}] "
                             f"and [{shape_text(w.shape)}]")
        n, channels, height, width = x.shape
        oc, icg, kh, kw = w.shape
        g, og = attrs.group, attrs.offset_group
        if g < 1 or og < 1 or channels != icg * g or oc % g or channels % og:
            raise ShapeError(f"x [{shape_text(x.shape)}] and w [{shape_text(w.shape)}] do not fit group {g} "
                             f"and offset_group {og}")
        (sh, sw), (dh, dw), pads = attrs.strides, attrs.dilations, attrs.pads
        oh = (height + pads[0] + pads[2] - (dh * (kh - 1) + 1)) // sh + 1
        ow = (width + pads[1] + pads[3] - (dw * (kw - 1) + 1)) // sw + 1
        want = {"offset": (offset, (n, og * kh * kw * 2, oh, ow)), "b": (b, (oc,))}
        if len(types) > 4:
            want["mask"] = (types[4], (n, og * kh * kw, oh, ow))
        for name, (t, shape) in want.items():
            if t.shape != shape:
                raise ShapeError(f"{name} must be [{shape_text(shape)}] for x [{shape_text(x.shape)}] and "
                                 f"w [{shape_text(w.shape)}], got [{shape_text(t.shape)}]")
        return [tensor((n, oc, oh, ow), x.element_type)]

    @staticmethod
    def reference(x, w, offset, b, mask=None, *, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
                  group=1, offset_group=1):
        data, weights = _work(x), _work(w)
        n, channels, height, width = data.shape
        oc, icg, kh, kw = weights.shape
        _, _, oh, ow = offset.shape
        og = offset_group
        offset = _work(offset).reshape(n, og, kh, kw, 2, oh, ow)
        mask = np.ones((n, og, kh, kw, oh, ow)) if mask is None else _work(mask).reshape(n, og, kh, kw, oh, ow)
        taps = np.arange(kh) * dilations[0], np.arange(kw) * dilations[1]
        origins = np.arange(oh) * strides[0] - pads[0], np.arange(ow) * strides[1] - pads[1]
        # sample coordinates [n, og, kh, kw, oh, ow]
        ys = taps[0][:, None, None, None] + origins[0][None, None, :, None] + offset[:, :, :, :, 0]
        xs = taps[1][None, :, None, None] + origins[1][None, None, None, :] + offset[:, :, :, :, 1]
        per_group = channels // og
        y0, x0 = np.floor(ys), np.floor(xs)
        # sampled[n, og, c, kh, kw, oh, ow]: bilinear, each of the four neighbours 0 outside x
        sampled = np.zeros((n, og, per_group, kh, kw, oh, ow))
        images = data.reshape(n, og, per_group, height, width)
        index_n = np.arange(n)[:, None, None, None, None, None, None]
        index_g = np.arange(og)[None, :, None, None, None, None, None]
        index_c = np.arange(per_group)[None, None, :, None, None, None, None]
        for yy in (y0, y0 + 1):
            for xx in (x0, x0 + 1):
                weight = (1 - np.abs(ys - yy)) * (1 - np.abs(xs - xx)) * mask
                weight = np.where((yy >= 0) & (yy < height) & (xx >= 0) & (xx < width), weight, 0.0)
                yi = np.clip(yy, 0, height - 1).astype(np.int64)[:, :, None]
                xi = np.clip(xx, 0, width - 1).astype(np.int64)[:, :, None]
                sampled += images[index_n, index_g, index_c, yi, xi] * weight[:, :, None]
        sampled = sampled.reshape(n, channels, kh, kw, oh, ow)
        ocg = oc // group
        out = np.empty((n, oc, oh, ow))
        for g in range(group):
            out[:, g * ocg:(g + 1) * ocg] = np.einsum("nckhxy,ockh->noxy",
                                                      sampled[:, g * icg:(g + 1) * icg],
                                                      weights[g * ocg:(g + 1) * ocg])
        return (out + _work(b)[None, :, None, None]).astype(x.dtype)


# ---- rotary embedding --------------------------------------------------------------------------------

class RotaryEmbeddingOp(GraphOp):
    """Rotates pairs of the first rotary_embedding_dim features of each head (halves, or
    even/odd features when `interleaved`) by angles whose cos and sin come from the caches,
    indexed by position_ids when given ([batch, seq] -> cache rows) else [batch, seq, dim/2]
    themselves. x is [batch, heads, seq, head] or [batch, seq, heads * head] (num_heads)."""

    name = "graph.rotary_embedding"
    x = operand(TensorType)
    cos_cache = operand(TensorType)
    sin_cache = operand(TensorType)
    position_ids = opt_operand(TensorType)
    y = result(TensorType)
    interleaved = int_(0)
    rotary_embedding_dim = int_(0)
    num_heads = int_(0)
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        x, cos, sin = types[:3]
        same_elements([x, cos, sin])
        _floats(x, "x")
        if x.rank == 4:
            batch, _, seq, head = x.shape
        elif x.rank == 3:
            if attrs.num_heads < 1 or x.shape[2] % attrs.num_heads:
                raise ShapeError(f"a rank-3 x [{shape_text(x.shape)}] needs num_heads dividing its last axis, "
                                 f"got {attrs.num_heads}")
            batch, seq, head = x.shape[0], x.shape[1], x.shape[2] // attrs.num_heads
        else:
            raise ShapeError(f"x must have rank 3 or 4, got [{shape_text(x.shape)}]")
        dim = attrs.rotary_embedding_dim or head
        if dim % 2 or dim > head:
            raise ShapeError(f"rotary_embedding_dim {dim} must be even and at most the head size {head}")
        if cos.shape != sin.shape:
            raise ShapeError(f"cos_cache [{shape_text(cos.shape)}] and sin_cache [{shape_text(sin.shape)}] differ")
        if len(types) > 3:
            _integers(types[3], "position_ids")
            if types[3].shape != (batch, seq) or cos.rank != 2 or cos.shape[1] != dim // 2:
                raise ShapeError(f"position_ids must be [{batch}x{seq}] and the caches [positions, {dim // 2}], "
                                 f"got [{shape_text(types[3].shape)}] and [{shape_text(cos.shape)}]")
        elif cos.shape != (batch, seq, dim // 2):
            raise ShapeError(f"without position_ids the caches must be [{batch}x{seq}x{dim // 2}], "
                             f"got [{shape_text(cos.shape)}]")
        return [x]

    @staticmethod
    def reference(x, cos_cache, sin_cache, position_ids=None, *, interleaved=0, rotary_embedding_dim=0,
                  num_heads=0):
        shape = x.shape
        heads = x.transpose(0, 2, 1, 3) if x.ndim == 4 else x.reshape(shape[0], shape[1], num_heads, -1)
        dim = rotary_embedding_dim or heads.shape[-1]
        if position_ids is not None:
            cos_cache, sin_cache = cos_cache[position_ids], sin_cache[position_ids]
        cos, sin = cos_cache[:, :, None, :], sin_cache[:, :, None, :]
        rotate, keep = heads[..., :dim], heads[..., dim:]
        if interleaved:
            x1, x2 = rotate[..., 0::2], rotate[..., 1::2]
        else:
            x1, x2 = rotate[..., :dim // 2], rotate[..., dim // 2:]
        real, imag = cos * x1 - sin * x2, sin * x1 + cos * x2
        if interleaved:
            rotated = np.stack([real, imag], axis=-1).reshape(rotate.shape)
        else:
            rotated = np.concatenate([real, imag], axis=-1)
        out = np.concatenate([rotated, keep], axis=-1).astype(x.dtype)
        return out.reshape(shape) if x.ndim == 3 else out.transpose(0, 2, 1, 3)


# ---- determinant ----------------------------------------------------------------------------------------

class DetOp(GraphOp):
    """The determinant of each square matrix in x's last two axes."""

    name = "graph.det"
    x = operand(TensorType)
    y = result(TensorType)
    kind = Kind.OPAQUE

    @classmethod
    def infer(cls, types, attrs):
        (x,) = types
        _floats(x, "x")
        if x.rank < 2 or x.shape[-1] != x.shape[-2]:
            raise ShapeError(f"x must be [..., M, M], got [{shape_text(x.shape)}]")
        return [tensor(x.shape[:-2], x.element_type)]

    @staticmethod
    def reference(x):
        return np.asarray(np.linalg.det(_work(x))).astype(x.dtype)
