"""Every ONNX node test of the installed onnx, through the interpreter backend (seconds),
and a cross-section of them through the compiled backend. No test may give a wrong answer or crash — a case descend
cannot handle must be refused at import as unsupported — and every test the recorded
support matrix (frontends/onnx/support.json, written by bench/onnx_conformance.py --write)
lists as passing must still pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("onnx")

from descend.frontends.onnx.backend import InterpreterBackend  # noqa: E402
from descend.testing.onnx_conformance import FAILED, PASSED, node_cases, run_case  # noqa: E402

SUPPORT = Path(__file__).resolve().parents[2] / "frontends" / "onnx" / "support.json"


@pytest.fixture(scope="module")
def outcomes():
    return {name: run_case(case, InterpreterBackend) for name, case in sorted(node_cases().items())}


def test_no_node_test_gives_a_wrong_answer_or_crashes(outcomes):
    failed = [f"{o.name}: {o.message}" for o in outcomes.values() if o.status == FAILED]
    assert not failed, f"{len(failed)} node tests failed:\n" + "\n".join(failed)


def test_recorded_passes_still_pass(outcomes):
    if not SUPPORT.exists():
        pytest.skip("no recorded support matrix")
    recorded = json.loads(SUPPORT.read_text()).get("backends", {}).get("interpreter", {})
    lost = [f"{name}: {outcomes[name].status} {outcomes[name].message}"
            for name in recorded.get("passed", []) if name in outcomes and outcomes[name].status != PASSED]
    assert not lost, f"{len(lost)} node tests that passed no longer do:\n" + "\n".join(lost)


# A cross-section of the node tests through the compiled path (each compiles in a fraction
# of a second; all of them through bench/onnx_conformance.py --backend default by hand).
COMPILED = ["test_add_bcast", "test_relu", "test_sigmoid", "test_div_uint8", "test_pow", "test_where_example",
            "test_cast_FLOAT_to_BFLOAT16", "test_clip_default_int8_inbounds", "test_conv_with_strides_padding",
            "test_convtranspose", "test_maxpool_2d_pads", "test_averagepool_2d_pads_count_include_pad",
            "test_globalaveragepool", "test_gemm_all_attributes", "test_matmul_3d", "test_einsum_batch_matmul",
            "test_batchnorm_example", "test_layer_normalization_3d_axis1_epsilon", "test_softmax_axis_1",
            "test_reduce_sum_keepdims_random", "test_argmax_keepdims_example_select_last_index", "test_cumsum_1d_reverse",
            "test_transpose_all_permutations_3", "test_concat_3d_axis_negative_2", "test_reshape_reordered_all_dims",
            "test_slice_neg_steps", "test_gather_negative_indices", "test_scatter_elements_with_reduction_max",
            "test_edge_pad", "test_resize_upsample_scales_linear", "test_lstm_defaults", "test_gru_seq_length",
            "test_dequantizelinear", "test_qlinearmatmul_2D_uint8_float32", "test_sce_mean_weight",
            "test_dft", "test_roialign_aligned_true", "test_attention_4d_causal"]


@pytest.mark.parametrize("name", COMPILED)
def test_a_cross_section_passes_compiled(name):
    from descend.backend import DescendBackend as CompiledBackend
    outcome = run_case(node_cases()[name], CompiledBackend)
    assert outcome.status == PASSED, outcome.message
