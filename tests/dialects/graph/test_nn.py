"""graph nn ops: reference semantics against onnxruntime, shape errors that name the
shapes, textual round trips, and the ONNX node tests of the nn ops."""

from __future__ import annotations

import time

import numpy as np
import pytest

import descend
from descend import DiagnosticError
from descend.dialects import graph
from descend.ir.printer import print_ir
from descend.testing.onnx_conformance import UNSUPPORTED, check_node_test, run_onnx_node

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")   # the oracle of run_onnx_node
from onnx import TensorProto  # noqa: E402

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)



def close(got, want, atol=1e-5):
    got = np.asarray(got)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=atol)


# ---- reference semantics --------------------------------------------------------------------

def test_matmul_follows_numpy_with_vectors_and_batch_broadcasting():
    for a, b in [((3,), (3,)), ((3,), (2, 3, 4)), ((2, 1, 3, 4), (5, 4, 2)), ((2, 3, 4), (4,))]:
        x, y = rand(*a), rand(*b)
        close(graph.MatmulOp.reference(x, y), np.matmul(x, y))
        (t,) = graph.MatmulOp.infer([graph.tensor(a, descend.ir.f32), graph.tensor(b, descend.ir.f32)], None)
        assert t.shape == np.matmul(x, y).shape


def test_gemm_transposes_scales_and_broadcasts_c():
    a, b, c = rand(4, 3), rand(5, 4), rand(5)
    want = run_onnx_node("Gemm", [a, b, c], alpha=0.5, beta=2.0, transA=1, transB=1)[0]
    close(graph.GemmOp.reference(a, b, c, alpha=0.5, beta=2.0, trans_a=1, trans_b=1), want)


@pytest.mark.parametrize("rank,group,strides,dilations,pads", [
    (1, 1, [2], [1], [1, 0]),
    (2, 2, [1, 2], [2, 1], [0, 1, 2, 1]),
    (3, 1, [1, 1, 2], [1, 1, 1], [1, 0, 0, 0, 1, 1]),
])
def test_conv_matches_onnxruntime(rank, group, strides, dilations, pads):
    x, w, b = rand(2, 4, *[7] * rank), rand(6, 4 // group, *[3] * rank), rand(6)
    want = run_onnx_node("Conv", [x, w, b], strides=strides, dilations=dilations, pads=pads, group=group)[0]
    close(graph.ConvOp.reference(x, w, b, strides=strides, pads=pads, dilations=dilations, group=group),
          want, atol=1e-4)


def test_conv_transpose_matches_onnxruntime():
    x, w, b = rand(1, 4, 5, 4), rand(4, 3, 3, 2), rand(6)
    attrs = dict(strides=[2, 3], dilations=[1, 2], pads=[1, 0, 2, 1], group=2, output_padding=[1, 0])
    want = run_onnx_node("ConvTranspose", [x, w, b], **attrs)[0]
    close(graph.ConvTransposeOp.reference(x, w, b, **attrs), want, atol=1e-4)


@pytest.mark.parametrize("ceil_mode", [0, 1])
def test_pools_match_onnxruntime(ceil_mode):
    x = rand(2, 3, 8, 7)
    geometry = dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1], ceil_mode=ceil_mode)
    ours = dict(kernel=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1], ceil_mode=ceil_mode)
    y, indices = run_onnx_node("MaxPool", [x], 2, [TensorProto.FLOAT, TensorProto.INT64], **geometry)
    close(graph.MaxPoolOp.reference(x, **ours), y)
    np.testing.assert_array_equal(graph.MaxPoolIndicesOp.reference(x, **ours), indices)
    for include in (0, 1):
        want = run_onnx_node("AveragePool", [x], count_include_pad=include, **geometry)[0]
        close(graph.AvgPoolOp.reference(x, count_include_pad=include, **ours), want)
    want = run_onnx_node("LpPool", [x], p=3, **geometry)[0]
    close(graph.LpPoolOp.reference(x, p=3, **ours), want, atol=1e-4)
    close(graph.GlobalAvgPoolOp.reference(x), run_onnx_node("GlobalAveragePool", [x])[0])
    close(graph.GlobalMaxPoolOp.reference(x), run_onnx_node("GlobalMaxPool", [x])[0])


def test_normalizations_match_onnxruntime():
    x, c = rand(2, 4, 3, 5), rand(4)
    mean, var = rand(4), np.abs(rand(4)) + 0.1
    close(graph.BatchNormOp.reference(x, c, c, mean, var, epsilon=1e-3),
          run_onnx_node("BatchNormalization", [x, c, c, mean, var], epsilon=1e-3)[0])
    close(graph.InstanceNormOp.reference(x, c, mean), run_onnx_node("InstanceNormalization", [x, c, mean])[0], atol=1e-4)
    scale, bias = rand(3, 5), rand(5)
    y, m, inv = run_onnx_node("LayerNormalization", [x, scale, bias], 3, axis=2)
    close(graph.LayerNormOp.reference(x, scale, bias, axis=2), y, atol=1e-4)
    got_m, got_inv = graph.LayerNormStatsOp.reference(x, axis=2)
    close(got_m, m)
    close(got_inv, inv, atol=1e-4)
    close(graph.GroupNormOp.reference(x, c, mean, num_groups=2),
          run_onnx_node("GroupNormalization", [x, c, mean], num_groups=2, opset=21)[0], atol=1e-4)
    close(graph.RmsNormOp.reference(x, scale, axis=2), run_onnx_node("RMSNormalization", [x, scale], axis=2, opset=23)[0])
    close(graph.LrnOp.reference(x, size=3, alpha=0.01), run_onnx_node("LRN", [x], size=3, alpha=0.01)[0])
    close(graph.MeanVarianceNormOp.reference(x), run_onnx_node("MeanVarianceNormalization", [x])[0], atol=1e-4)


def test_softmaxes_match_onnxruntime():
    x = rand(2, 3, 4)
    for op_type, op in [("Softmax", graph.SoftmaxOp), ("LogSoftmax", graph.LogSoftmaxOp),
                        ("Hardmax", graph.HardmaxOp)]:
        for axis in (0, 1, -1):
            close(op.reference(x, axis=axis), run_onnx_node(op_type, [x], axis=axis)[0])


def test_lp_normalization_matches_onnxruntime_with_zero_norms():
    x = rand(3, 4, 2)
    x[1, :, 0] = 0          # a zero norm along axis 1: the output is 0 there, not NaN
    for p in (1, 2):
        for axis in (0, 1, -1):
            want = run_onnx_node("LpNormalization", [x], p=p, axis=axis)[0]
            close(graph.LpNormOp.reference(x, p=p, axis=axis), want)


def test_einsum_shapes_and_values():
    a, b = rand(2, 3, 4), rand(2, 4, 5)
    for equation, operands in [("bij,bjk->bik", [a, b]), ("...ij,...jk", [a, b]), ("ii", [rand(3, 3)]),
                               ("bij->", [a])]:
        want = np.einsum(equation, *operands)
        close(graph.EinsumOp.reference(*operands, equation=equation), want, atol=1e-4)
        types = [graph.tensor(o.shape, descend.ir.f32) for o in operands]
        assert graph.EinsumOp.infer(types, _Attrs(equation=equation))[0].shape == want.shape


class _Attrs:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_resnet_layer_runs_fast():
    x, w = rand(1, 64, 56, 56), rand(64, 64, 3, 3)
    start = time.perf_counter()
    y = graph.ConvOp.reference(x, w, None, strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=1)
    graph.MaxPoolOp.reference(y, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    assert time.perf_counter() - start < 1.0


# ---- shape errors and round trips ----------------------------------------------------------------

def _func(body: str, args: str) -> str:
    return f"func.func @f({args}) {{\n  {body}\n  func.return\n}}"


@pytest.mark.parametrize("body,args,message", [
    ('%y = "graph.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>',
     "%a: tensor<2x3xf32>, %b: tensor<4x2xf32>", r"contraction sizes differ: lhs \[2x3\] has 3 columns, rhs \[4x2\] has 4 rows"),
    ('%y = "graph.conv"(%a, %b) : (tensor<1x3x5x5xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32>',
     "%a: tensor<1x3x5x5xf32>, %b: tensor<4x2x3x3xf32>", r"x \[1x3x5x5\] has 3 channels but w \[4x2x3x3\]"),
    ('%y = "graph.max_pool"(%a) {kernel = array<i64: 7, 7>} : (tensor<1x3x5x5xf32>) -> tensor<1x3x1x1xf32>',
     "%a: tensor<1x3x5x5xf32>", r"kernel \[7x7\] .* does not fit spatial shape \[5x5\]"),
    ('%y = "graph.batch_norm"(%a, %b, %b, %b, %b) : (tensor<1x3x5xf32>, tensor<4xf32>, tensor<4xf32>, '
     'tensor<4xf32>, tensor<4xf32>) -> tensor<1x3x5xf32>',
     "%a: tensor<1x3x5xf32>, %b: tensor<4xf32>", r"scale \[4\] should be \[3\], the channels of x \[1x3x5\]"),
    ('%y = "graph.softmax"(%a) {axis = 2} : (tensor<2x3xf32>) -> tensor<2x3xf32>',
     "%a: tensor<2x3xf32>", "axis 2 is out of range for rank 2"),
    ('%y = "graph.gemm"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>',
     "%a: tensor<2x3xf32>, %b: tensor<2x3xf32>", r"a \[2x3\] \(trans_a=0\) gives 3, b \[2x3\]"),
    ('%y = "graph.group_norm"(%a, %b, %b) {num_groups = 2} : (tensor<1x3x5xf32>, tensor<3xf32>, tensor<3xf32>) '
     '-> tensor<1x3x5xf32>', "%a: tensor<1x3x5xf32>, %b: tensor<3xf32>", "num_groups 2 must divide the 3 channels"),
    ('%y = "graph.lp_normalization"(%a) {p = 3} : (tensor<2x3xf32>) -> tensor<2x3xf32>',
     "%a: tensor<2x3xf32>", "p must be 1 or 2, got 3"),
    ('%y = "graph.lp_normalization"(%a) {axis = 2} : (tensor<2x3xf32>) -> tensor<2x3xf32>',
     "%a: tensor<2x3xf32>", "axis 2 is out of range for rank 2"),
])
def test_shape_errors_name_the_shapes(body, args, message):
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(_func(body, args))


ROUND_TRIP = _func(
    "%c = graph.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, "
    "strides = array<i64: 2, 2>} : (tensor<1x4x6x6xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>\n"
    "  %p = graph.max_pool %c {kernel = array<i64: 2, 2>} : (tensor<1x4x3x3xf32>) -> tensor<1x4x2x2xf32>\n"
    "  %g = graph.global_avg_pool %p : (tensor<1x4x2x2xf32>) -> tensor<1x4x1x1xf32>\n"
    "  %s = graph.softmax %x {axis = 1 : i64} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>\n"
    "  %l = graph.lp_normalization %x {axis = 1 : i64, p = 1 : i64} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>\n"
    "  %m, %v = graph.layer_norm_stats %x {axis = 2 : i64} : (tensor<1x4x6x6xf32>) -> "
    "(tensor<1x4x1x1xf32>, tensor<1x4x1x1xf32>)",
    "%x: tensor<1x4x6x6xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>")


def test_generic_round_trip():
    module = descend.parse(ROUND_TRIP.replace("graph.conv %x, %w, %b {", '"graph.conv"(%x, %w, %b) {')
                           .replace("graph.max_pool %c {", '"graph.max_pool"(%c) {')
                           .replace("graph.softmax %x {", '"graph.softmax"(%x) {')
                           .replace("graph.lp_normalization %x {", '"graph.lp_normalization"(%x) {')
                           .replace("graph.layer_norm_stats %x {", '"graph.layer_norm_stats"(%x) {'))
    generic = print_ir(module, generic=True)
    assert print_ir(descend.parse(generic), generic=True) == generic
    assert "graph.conv" in str(module) and "group = 2" in str(module)


def test_custom_round_trip():
    module = descend.parse(ROUND_TRIP)
    assert str(descend.parse(str(module))) == str(module)


# ---- ONNX node tests ----------------------------------------------------------------------------

NODE_TESTS = """
test_matmul_1d_1d test_matmul_1d_3d test_matmul_2d test_matmul_3d test_matmul_4d test_matmul_4d_1d test_matmul_bcast
test_gemm_all_attributes test_gemm_alpha test_gemm_beta test_gemm_default_matrix_bias test_gemm_default_no_bias
test_gemm_default_scalar_bias test_gemm_default_single_elem_vector_bias test_gemm_default_vector_bias
test_gemm_default_zero_bias test_gemm_transposeA test_gemm_transposeB
test_basic_conv_with_padding test_basic_conv_without_padding test_conv_with_autopad_same
test_conv_with_strides_and_asymmetric_padding test_conv_with_strides_no_padding test_conv_with_strides_padding
test_convtranspose test_convtranspose_1d test_convtranspose_3d test_convtranspose_autopad_same
test_convtranspose_dilations test_convtranspose_group_2 test_convtranspose_group_2_image_3
test_convtranspose_kernel_shape test_convtranspose_output_shape test_convtranspose_pad test_convtranspose_pads
test_maxpool_1d_default test_maxpool_2d_ceil test_maxpool_2d_ceil_output_size_reduce_by_one test_maxpool_2d_default
test_maxpool_2d_dilations test_maxpool_2d_pads test_maxpool_2d_precomputed_pads test_maxpool_2d_precomputed_same_upper
test_maxpool_2d_precomputed_strides test_maxpool_2d_same_lower test_maxpool_2d_same_upper test_maxpool_2d_strides
test_maxpool_2d_uint8 test_maxpool_3d_default test_maxpool_3d_dilations test_maxpool_3d_dilations_use_ref_impl
test_maxpool_3d_dilations_use_ref_impl_large test_maxpool_with_argmax_2d_precomputed_pads
test_maxpool_with_argmax_2d_precomputed_strides
test_averagepool_1d_default test_averagepool_2d_ceil test_averagepool_2d_ceil_last_window_starts_on_pad
test_averagepool_2d_default test_averagepool_2d_dilations test_averagepool_2d_pads
test_averagepool_2d_pads_count_include_pad test_averagepool_2d_precomputed_pads
test_averagepool_2d_precomputed_pads_count_include_pad test_averagepool_2d_precomputed_same_upper
test_averagepool_2d_precomputed_strides test_averagepool_2d_same_lower test_averagepool_2d_same_upper
test_averagepool_2d_strides test_averagepool_3d_default test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False
test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True
test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False
test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True test_averagepool_3d_dilations_small
test_lppool_1d_default test_lppool_2d_default test_lppool_2d_dilations test_lppool_2d_pads test_lppool_2d_same_lower
test_lppool_2d_same_upper test_lppool_2d_strides test_lppool_3d_default
test_globalaveragepool test_globalaveragepool_precomputed test_globalmaxpool test_globalmaxpool_precomputed
test_batchnorm_epsilon test_batchnorm_example test_instancenorm_epsilon test_instancenorm_example
test_layer_normalization_2d_axis0 test_layer_normalization_3d_axis_negative_2_epsilon
test_layer_normalization_4d_axis1 test_layer_normalization_default_axis
test_group_normalization_epsilon test_group_normalization_example
test_rms_normalization_2d_axis0 test_rms_normalization_3d_axis1_epsilon test_rms_normalization_default_axis
test_lrn test_lrn_default test_mvn
test_softmax_axis_0 test_softmax_default_axis test_softmax_large_number test_softmax_negative_axis
test_logsoftmax_axis_1 test_logsoftmax_example_1 test_logsoftmax_large_number
test_hardmax_axis_0 test_hardmax_example test_hardmax_one_hot
test_l1normalization_axis_0 test_l1normalization_axis_1 test_l1normalization_axis_last test_l2normalization_axis_0
test_l2normalization_axis_1 test_lpnormalization_default
test_einsum_batch_diagonal test_einsum_batch_matmul test_einsum_inner_prod test_einsum_sum test_einsum_transpose
test_einsum_batch_matmul_bfloat16
test_attention_3d test_attention_4d_gqa_causal test_attention_4d_attn_mask_bool
test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal test_attention_3d_gqa_softcap
test_attention_4d_causal_nonpad_batch_prefill test_attention_local_window_with_past
test_attention_23_fullymasked_qk_matmul_output_mode3_zero test_attention_4d_causal_fp16 test_attention_4d_causal_bf16
test_attention_24_qk_matmul_output_mode3_softmax_precision
""".split()


@pytest.mark.parametrize("name", NODE_TESTS)
def test_onnx_node(name):
    check_node_test(name)


@pytest.mark.parametrize("name", ["test_batchnorm_example_training_mode"])
def test_onnx_node_explicitly_unsupported(name):
    assert "training mode" in check_node_test(name, UNSUPPORTED).message
