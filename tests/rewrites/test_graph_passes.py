"""The graph-level optimisation passes: fold-constants, simplify-inference, fuse-ops and
plan-memory. Before/expected pairs, idempotence, and equivalence (interpreting before and
after on random inputs) on hand-written graphs, a residual block and a small CNN."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend.ir import numpy_dtype
from descend.rewrites import PassManager
from descend.rewrites.debug import debugging
from descend.testing import assert_equivalent, assert_structurally_equal


def parse(text: str):
    return descend.parse(text)


def run(pipeline: str, text: str):
    """(before, after, the pass manager's first pass) for `pipeline` applied to `text`."""
    before, after = parse(text), parse(text)
    pm = PassManager.parse(pipeline)
    pm.run(after)
    return before, after


def main_of(module):
    return next(op for op in module.walk() if op.name == "func.func")


def random_inputs(module, seed: int = 0):
    rng = np.random.default_rng(seed)
    block = main_of(module).regions[0].blocks[0]
    inputs = []
    for arg in block.args:
        dtype = numpy_dtype(arg.type.element_type)
        inputs.append(rng.standard_normal(arg.type.shape).astype(dtype))
    return inputs


def check_equivalent(before, after, seeds=(0, 1, 2), rtol=1e-4, atol=1e-5):
    for seed in seeds:
        assert_equivalent(before, after, random_inputs(before, seed), rtol=rtol, atol=atol)


def op_names(module) -> list[str]:
    return [op.name for op in main_of(module).regions[0].blocks[0].ops]


def statistics(pipeline: str, text: str) -> dict:
    pm = PassManager.parse(pipeline)
    module = parse(text)
    pm.run(module)
    passes = [p for p in _passes(pm)]
    return passes[0].statistic_values()


def _passes(pm):
    for entry in getattr(pm, "passes", []):
        if hasattr(entry, "statistic_values"):
            yield entry
        else:
            yield from _passes(entry)


def assert_idempotent(pipeline: str, text: str):
    once = parse(text)
    PassManager.parse(pipeline).run(once)
    twice = parse(text)
    PassManager.parse(pipeline).run(twice)
    PassManager.parse(pipeline).run(twice)
    assert str(once) == str(twice)


# ---- IR used by several tests ------------------------------------------------------------------

CONV_BN = """
func.func @main(%x: tensor<1x2x5x5xf32>) -> tensor<1x3x5x5xf32> {
  %w = graph.constant dense<[[[[0.5, -1.0, 0.25]], [[1.5, 2.0, -0.5]]], [[[0.1, 0.2, 0.3]], [[1.0, 0.0, -1.0]]], [[[2.0, 1.0, 0.5]], [[0.7, -0.3, 0.9]]]]> : tensor<3x2x1x3xf32>
  %b = graph.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %scale = graph.constant dense<[1.0, 2.0, 0.5]> : tensor<3xf32>
  %shift = graph.constant dense<[0.0, -1.0, 1.0]> : tensor<3xf32>
  %mean = graph.constant dense<[0.5, 0.25, -0.5]> : tensor<3xf32>
  %var = graph.constant dense<[1.0, 4.0, 0.25]> : tensor<3xf32>
  %k = graph.constant dense<[[[2.0]], [[3.0]], [[4.0]]]> : tensor<3x1x1xf32>
  %d = graph.constant dense<[[[0.5]], [[-1.0]], [[2.0]]]> : tensor<3x1x1xf32>
  %i = graph.identity %x : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %0 = "graph.conv"(%i, %w, %b) <{pads = array<i64: 0, 1, 0, 1>}> : (tensor<1x2x5x5xf32>, tensor<3x2x1x3xf32>, tensor<3xf32>) -> tensor<1x3x5x5xf32>
  %1 = "graph.batch_norm"(%0, %scale, %shift, %mean, %var) <{epsilon = 1.0e-3 : f32}> : (tensor<1x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x5x5xf32>
  %2 = graph.mul %1, %k : (tensor<1x3x5x5xf32>, tensor<3x1x1xf32>) -> tensor<1x3x5x5xf32>
  %3 = graph.sub %2, %d : (tensor<1x3x5x5xf32>, tensor<3x1x1xf32>) -> tensor<1x3x5x5xf32>
  %4 = graph.dropout %3 : (tensor<1x3x5x5xf32>) -> tensor<1x3x5x5xf32>
  %5 = graph.relu %4 : (tensor<1x3x5x5xf32>) -> tensor<1x3x5x5xf32>
  func.return %5 : tensor<1x3x5x5xf32>
}
"""

# A residual block: conv-bn-relu, conv-bn, add the input, relu (weights as splats and ramps).
RESIDUAL = """
func.func @main(%x: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %w1 = graph.constant dense<0.125> : tensor<4x4x3x3xf32>
  %w2 = graph.constant dense<-0.0625> : tensor<4x4x3x3xf32>
  %s = graph.constant dense<[1.0, 0.5, 2.0, 1.5]> : tensor<4xf32>
  %t = graph.constant dense<[0.1, -0.2, 0.3, 0.0]> : tensor<4xf32>
  %m = graph.constant dense<[0.0, 0.5, -0.5, 1.0]> : tensor<4xf32>
  %v = graph.constant dense<[1.0, 2.0, 0.5, 1.0]> : tensor<4xf32>
  %0 = "graph.conv"(%x, %w1) <{pads = array<i64: 1, 1, 1, 1>}> : (tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x6x6xf32>
  %1 = "graph.batch_norm"(%0, %s, %t, %m, %v) : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %2 = graph.relu %1 : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %3 = "graph.conv"(%2, %w2) <{pads = array<i64: 1, 1, 1, 1>}> : (tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x6x6xf32>
  %4 = "graph.batch_norm"(%3, %s, %t, %m, %v) : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %5 = graph.add %4, %x : (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %6 = graph.relu %5 : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  func.return %6 : tensor<1x4x6x6xf32>
}
"""

# A small CNN: conv-bn-relu, max pool, flatten (reshape), dropout, gemm, softmax-free head.
SMALL_CNN = """
func.func @main(%x: tensor<2x1x8x8xf32>) -> tensor<2x10xf32> {
  %w = graph.constant dense<0.25> : tensor<4x1x3x3xf32>
  %b = graph.constant dense<[0.0, 0.1, -0.1, 0.2]> : tensor<4xf32>
  %s = graph.constant dense<[1.0, 0.5, 2.0, 1.5]> : tensor<4xf32>
  %t = graph.constant dense<[0.1, -0.2, 0.3, 0.0]> : tensor<4xf32>
  %m = graph.constant dense<[0.0, 0.5, -0.5, 1.0]> : tensor<4xf32>
  %v = graph.constant dense<[1.0, 2.0, 0.5, 1.0]> : tensor<4xf32>
  %fw = graph.constant dense<0.01> : tensor<10x64xf32>
  %fb = graph.constant dense<0.5> : tensor<10xf32>
  %0 = "graph.conv"(%x, %w, %b) <{pads = array<i64: 1, 1, 1, 1>}> : (tensor<2x1x8x8xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<2x4x8x8xf32>
  %1 = "graph.batch_norm"(%0, %s, %t, %m, %v) : (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x8x8xf32>
  %2 = graph.relu %1 : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %3 = "graph.max_pool"(%2) <{kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}> : (tensor<2x4x8x8xf32>) -> tensor<2x4x4x4xf32>
  %4 = "graph.reshape"(%3) <{shape = array<i64: 2, 4, 16>}> : (tensor<2x4x4x4xf32>) -> tensor<2x4x16xf32>
  %5 = "graph.reshape"(%4) <{shape = array<i64: 2, 64>}> : (tensor<2x4x16xf32>) -> tensor<2x64xf32>
  %6 = graph.dropout %5 : (tensor<2x64xf32>) -> tensor<2x64xf32>
  %7 = "graph.gemm"(%6, %fw, %fb) <{trans_b = 1 : i64}> : (tensor<2x64xf32>, tensor<10x64xf32>, tensor<10xf32>) -> tensor<2x10xf32>
  %8 = graph.relu %7 : (tensor<2x10xf32>) -> tensor<2x10xf32>
  func.return %8 : tensor<2x10xf32>
}
"""

PIPELINE = "builtin.module(simplify-inference,fold-constants,fuse-ops,plan-memory)"


# ---- fold-constants ------------------------------------------------------------------------------

FOLDABLE = """
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %c = graph.constant dense<1.0> : tensor<2x3xf32>
  %d = graph.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %e = graph.add %c, %d : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %f = graph.relu %e : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %0 = graph.add %x, %f : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %0 : tensor<2x3xf32>
}
"""

FOLDED = """
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %f = graph.constant dense<[[2.0, 3.0, 4.0], [2.0, 3.0, 4.0]]> : tensor<2x3xf32>
  %0 = graph.add %x, %f : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %0 : tensor<2x3xf32>
}
"""


def test_fold_constants_folds_a_chain_and_erases_dead_constants():
    before, after = run("fold-constants", FOLDABLE)
    assert_structurally_equal(after, parse(FOLDED), locations=False)
    check_equivalent(before, after)


def test_fold_constants_respects_the_size_limit():
    _, after = run("fold-constants{max-elements=5}", FOLDABLE)
    assert op_names(after).count("graph.add") == 2
    stats = statistics("fold-constants{max-elements=5}", FOLDABLE)
    assert stats["num-folded"] == 0 and stats["num-too-large"] == 1


def test_fold_constants_is_idempotent_and_counts():
    assert_idempotent("fold-constants", FOLDABLE)
    stats = statistics("fold-constants", FOLDABLE)
    assert stats["num-folded"] == 2 and stats["num-constants-erased"] == 3


def test_fold_constants_leaves_undefined_behaviour_alone():
    text = """
func.func @main(%x: tensor<2xi32>) -> tensor<2xi32> {
  %a = graph.constant dense<[4, 5]> : tensor<2xi32>
  %z = graph.constant dense<[1, 0]> : tensor<2xi32>
  %q = graph.div %a, %z : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  %0 = graph.add %x, %q : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  func.return %0 : tensor<2xi32>
}
"""
    _, after = run("fold-constants", text)
    assert "graph.div" in op_names(after)


def test_fold_constants_rejects_a_bad_limit():
    from descend.rewrites import PipelineError
    with pytest.raises(PipelineError, match="max-elements"):
        PassManager.parse("fold-constants{max-elements=-2}")


# ---- simplify-inference ------------------------------------------------------------------------

def test_simplify_inference_folds_batch_norm_and_channel_affine_into_conv():
    before, after = run("simplify-inference", CONV_BN)
    assert op_names(after) == ["graph.constant", "graph.constant", "graph.conv", "graph.relu", "func.return"]
    check_equivalent(before, after)
    stats = statistics("simplify-inference", CONV_BN)
    assert stats["fold-batch-norm"] == 1 and stats["fold-mul-into-weights"] == 1
    assert stats["fold-sub-into-weights"] == 1
    assert stats["identity-elim"] == 1 and stats["dropout-elim"] == 1


def test_simplify_inference_is_idempotent():
    assert_idempotent("simplify-inference", CONV_BN)
    assert_idempotent("simplify-inference", SMALL_CNN)


def test_batch_norm_stays_when_the_conv_result_has_another_use():
    text = CONV_BN.replace("func.return %5 : tensor<1x3x5x5xf32>",
                           "%6 = graph.add %5, %0 : (tensor<1x3x5x5xf32>, tensor<1x3x5x5xf32>) -> tensor<1x3x5x5xf32>\n"
                           "  func.return %6 : tensor<1x3x5x5xf32>")
    before, after = run("simplify-inference", text)
    assert "graph.batch_norm" in op_names(after)
    check_equivalent(before, after)


def test_constants_that_are_not_per_channel_do_not_fold():
    text = """
func.func @main(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = graph.constant dense<0.5> : tensor<2x2x1x1xf32>
  %k = graph.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %0 = graph.conv %x, %w : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %1 = graph.mul %0, %k : (tensor<1x2x3x3xf32>, tensor<3xf32>) -> tensor<1x2x3x3xf32>
  func.return %1 : tensor<1x2x3x3xf32>
}
"""
    _, after = run("simplify-inference", text)
    assert "graph.mul" in op_names(after)


@pytest.mark.parametrize("trans_b", [0, 1])
def test_batch_norm_and_add_fold_into_gemm(trans_b):
    b_shape = "3x4" if trans_b else "4x3"
    text = f"""
func.func @main(%a: tensor<2x4xf32>) -> tensor<2x3xf32> {{
  %b = graph.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 2.0, -0.5, 1.0], [0.1, 0.2, 0.3, 0.4]]> : tensor<3x4xf32>
  %bt = "graph.transpose"(%b) : (tensor<3x4xf32>) -> tensor<4x3xf32>
  %c = graph.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %s = graph.constant dense<[1.0, 2.0, 0.5]> : tensor<3xf32>
  %t = graph.constant dense<[0.0, -1.0, 1.0]> : tensor<3xf32>
  %m = graph.constant dense<[0.5, 0.25, -0.5]> : tensor<3xf32>
  %v = graph.constant dense<[1.0, 4.0, 0.25]> : tensor<3xf32>
  %k = graph.constant dense<[[1.0, -2.0, 3.0]]> : tensor<1x3xf32>
  %0 = "graph.gemm"(%a, {'%b' if trans_b else '%bt'}, %c) <{{alpha = 0.5 : f32, beta = 2.0 : f32, trans_b = {trans_b} : i64}}> : (tensor<2x4xf32>, tensor<{b_shape}xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = "graph.batch_norm"(%0, %s, %t, %m, %v) : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %2 = graph.add %k, %1 : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}}
"""
    before, after = run("fold-constants,simplify-inference", text)
    assert [n for n in op_names(after) if n != "graph.constant"] == ["graph.gemm", "func.return"]
    check_equivalent(before, after)


def test_batch_norm_and_mul_fold_into_a_matmul_with_constant_weights():
    text = """
func.func @main(%a: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %b = graph.constant dense<[[0.5, -1.0, 0.25], [2.0, 1.5, 2.0], [-0.5, 1.0, 0.1], [0.2, 0.3, 0.4]]> : tensor<4x3xf32>
  %s = graph.constant dense<[1.0, 2.0, 0.5]> : tensor<3xf32>
  %t = graph.constant dense<[0.0, -1.0, 1.0]> : tensor<3xf32>
  %m = graph.constant dense<[0.5, 0.25, -0.5]> : tensor<3xf32>
  %v = graph.constant dense<[1.0, 4.0, 0.25]> : tensor<3xf32>
  %k = graph.constant dense<[4.0, 2.0, 0.5]> : tensor<3xf32>
  %0 = graph.matmul %a, %b : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = graph.div %0, %k : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %2 = "graph.batch_norm"(%1, %s, %t, %m, %v) : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %2 : tensor<2x3xf32>
}
"""
    before, after = run("simplify-inference", text)
    assert [n for n in op_names(after) if n != "graph.constant"] == ["graph.matmul", "graph.add", "func.return"]
    check_equivalent(before, after)


TRANSPOSES = """
func.func @main(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<3x4x2xf32>, tensor<4x3x2xf32>) {
  %0 = "graph.transpose"(%x) <{perm = array<i64: 1, 2, 0>}> : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  %1 = "graph.transpose"(%0) <{perm = array<i64: 2, 0, 1>}> : (tensor<3x4x2xf32>) -> tensor<2x3x4xf32>
  %2 = "graph.transpose"(%x) : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  %3 = "graph.transpose"(%2) <{perm = array<i64: 1, 0, 2>}> : (tensor<4x3x2xf32>) -> tensor<3x4x2xf32>
  %4 = "graph.transpose"(%3) <{perm = array<i64: 1, 0, 2>}> : (tensor<3x4x2xf32>) -> tensor<4x3x2xf32>
  func.return %1, %3, %4 : tensor<2x3x4xf32>, tensor<3x4x2xf32>, tensor<4x3x2xf32>
}
"""


def test_transpose_pairs_cancel_or_merge():
    before, after = run("simplify-inference", TRANSPOSES)
    block = main_of(after).regions[0].blocks[0]
    returned = block.terminator.operands
    assert returned[0] is block.args[0]
    assert returned[1].defining_op.operands[0] is block.args[0]
    assert [int(p) for p in returned[1].defining_op.properties["perm"]] == [1, 2, 0]
    assert returned[2].defining_op.operands[0] is block.args[0]
    check_equivalent(before, after, rtol=0, atol=0)


def test_reshape_pairs_merge_and_noop_reshapes_vanish():
    text = """
func.func @main(%x: tensor<2x6xf32>) -> (tensor<12xf32>, tensor<2x6xf32>) {
  %0 = "graph.reshape"(%x) <{shape = array<i64: 3, 4>}> : (tensor<2x6xf32>) -> tensor<3x4xf32>
  %1 = "graph.reshape"(%0) <{shape = array<i64: 12>}> : (tensor<3x4xf32>) -> tensor<12xf32>
  %2 = "graph.reshape"(%0) <{shape = array<i64: 2, 6>}> : (tensor<3x4xf32>) -> tensor<2x6xf32>
  func.return %1, %2 : tensor<12xf32>, tensor<2x6xf32>
}
"""
    before, after = run("simplify-inference", text)
    assert op_names(after) == ["graph.reshape", "func.return"]
    check_equivalent(before, after, rtol=0, atol=0)


# ---- fuse-ops --------------------------------------------------------------------------------------

ELEMENTWISE = """
func.func @main(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %c = graph.constant dense<1.0> : tensor<2x3xf32>
  %w = graph.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %0 = graph.add %x, %c : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = graph.relu %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = graph.add %1, %w : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %3 = graph.relu %y : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %4 = graph.add %2, %3 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %5 = graph.relu %4 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %6 = graph.add %5, %4 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %6, %2 : tensor<2x3xf32>, tensor<2x3xf32>
}
"""

# graph.fused in the generic form, which the parser reads as well.
ELEMENTWISE_FUSED = """
func.func @main(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %w = graph.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %0 = "graph.fused"(%x, %w) <{pattern = "broadcast"}> ({
  ^bb0(%a: tensor<2x3xf32>, %b: tensor<3xf32>):
    %c = graph.constant dense<1.0> : tensor<2x3xf32>
    %1 = graph.add %a, %c : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %2 = graph.relu %1 : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %3 = graph.add %2, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    graph.yield %3 : tensor<2x3xf32>
  }) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %4 = "graph.fused"(%y, %0) <{pattern = "broadcast"}> ({
  ^bb0(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>):
    %5 = graph.relu %a : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %6 = graph.add %b, %5 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %7 = graph.relu %6 : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %8 = graph.add %7, %6 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    graph.yield %8 : tensor<2x3xf32>
  }) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %4, %0 : tensor<2x3xf32>, tensor<2x3xf32>
}
"""


def test_fuse_ops_groups_an_elementwise_graph():
    before, after = run("fuse-ops", ELEMENTWISE)
    # %2 is returned as well as used by %4: its group ends there.
    assert_structurally_equal(after, parse(ELEMENTWISE_FUSED), locations=False)
    check_equivalent(before, after, rtol=0, atol=0)


def test_fuse_ops_is_idempotent_and_reports_groups():
    assert_idempotent("fuse-ops", ELEMENTWISE)
    assert_idempotent("fuse-ops", RESIDUAL)
    lines = []
    with debugging(["fuse-ops"], sink=lines.append):
        stats = statistics("fuse-ops", ELEMENTWISE)
    assert stats["num-groups"] == 2 and stats["num-fused-ops"] == 7
    assert stats["num-cloned-constants"] == 1 and stats["largest-group"] == 4
    assert lines == [
        '[fuse-ops] group 0 (broadcast, 3 ops) at loc("<input>":7:8): graph.add, graph.relu, graph.add',
        '[fuse-ops] group 1 (broadcast, 4 ops) at loc("<input>":11:8): graph.relu, graph.add, graph.relu, graph.add']


def test_conv_absorbs_its_elementwise_epilogue_but_not_its_producers():
    text = """
func.func @main(%x: tensor<1x2x4x4xf32>, %r: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = graph.constant dense<[[[[0.5]], [[1.0]]], [[[-1.0]], [[2.0]]], [[[0.25]], [[0.75]]]]> : tensor<3x2x1x1xf32>
  %b = graph.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %p = graph.relu %x : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %0 = graph.conv %p, %w, %b : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  %q = graph.relu %r : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %1 = graph.add %0, %q : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %2 = graph.relu %1 : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  func.return %2 : tensor<1x3x4x4xf32>
}
"""
    before, after = run("fuse-ops", text)
    names = op_names(after)
    assert names == ["graph.constant", "graph.constant", "graph.relu", "graph.fused", "func.return"]
    fused = next(op for op in main_of(after).walk() if op.name == "graph.fused")
    assert fused.properties["pattern"].value == "out_fusable"
    body = [op.name for op in fused.regions[0].blocks[0].ops]
    assert body == ["graph.conv", "graph.relu", "graph.add", "graph.relu", "graph.yield"]
    # weights are operands, not cloned into the body
    assert len(fused.operands) == 4
    check_equivalent(before, after, rtol=0, atol=0)


REDUCTION = """
func.func @main(%x: tensor<2x3xf32>) -> tensor<3x1xf32> {
  %0 = "graph.transpose"(%x) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %1 = "graph.reduce_sum"(%0) <{axes = array<i64: 1>}> : (tensor<3x2xf32>) -> tensor<3x1xf32>
  %2 = graph.relu %1 : (tensor<3x1xf32>) -> tensor<3x1xf32>
  func.return %2 : tensor<3x1xf32>
}
"""


def bodies(module) -> list[tuple[str, list[str]]]:
    return [(op.properties["pattern"].value, [o.name for o in op.regions[0].blocks[0].ops][:-1])
            for op in main_of(module).regions[0].blocks[0].ops if op.name == "graph.fused"]


def test_reduction_absorbs_injective_producers_and_elementwise_consumers():
    before, after = run("fuse-ops", REDUCTION)
    assert bodies(after) == [("reduction", ["graph.transpose", "graph.reduce_sum", "graph.relu"])]
    check_equivalent(before, after, rtol=0, atol=0)


def test_reduction_takes_no_injective_consumer():
    text = REDUCTION.replace("func.return %2 : tensor<3x1xf32>",
                             '%3 = "graph.reshape"(%2) <{shape = array<i64: 1, 3>}> : (tensor<3x1xf32>) -> tensor<1x3xf32>\n'
                             "  func.return %3 : tensor<1x3xf32>").replace("-> tensor<3x1xf32> {", "-> tensor<1x3xf32> {")
    before, after = run("fuse-ops", text)
    # bottom-up: the reshape's group takes the relu first, and then no longer takes the reduction
    assert bodies(after) == [("reduction", ["graph.transpose", "graph.reduce_sum"]),
                             ("injective", ["graph.relu", "graph.reshape"])]
    check_equivalent(before, after, rtol=0, atol=0)


def test_opaque_ops_are_never_fused():
    text = """
func.func @main(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32> {
  %0 = graph.relu %x : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %1 = "graph.max_pool_indices"(%0) <{kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}> : (tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xi64>
  %2 = "graph.cast"(%1) <{to = f32}> : (tensor<1x1x2x2xi64>) -> tensor<1x1x2x2xf32>
  %3 = graph.relu %2 : (tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
  func.return %3 : tensor<1x1x2x2xf32>
}
"""
    before, after = run("fuse-ops{min-group-size=1}", text)
    assert op_names(after) == ["graph.fused", "graph.max_pool_indices", "graph.fused", "func.return"]
    assert bodies(after) == [("elemwise", ["graph.relu"]), ("elemwise", ["graph.cast", "graph.relu"])]
    check_equivalent(before, after, rtol=0, atol=0)


# ---- plan-memory -----------------------------------------------------------------------------------

def plan_of(module):
    """{op: (offset, bytes)} and the function's arena size, checked for overlaps."""
    from descend.rewrites.transforms.plan_memory import align_up, byte_size
    func = main_of(module)
    block = func.regions[0].blocks[0]
    ops = list(block.ops)
    index = {op: i for i, op in enumerate(ops)}
    placed = []
    inplace_of = {}
    for i, op in enumerate(ops):
        if "graph.offset" not in op.attributes:
            continue
        offset = op.attributes["graph.offset"].value
        size = align_up(byte_size(op.results[0].type), 64)
        last = max([index[u.owner] for u in op.results[0].uses] + [i])
        placed.append((op, offset, size, i, last))
        if "graph.inplace" in op.attributes:
            inplace_of[op] = op.operands[op.attributes["graph.inplace"].value].defining_op
    return placed, inplace_of, func.attributes["graph.arena_bytes"].value


def assert_valid_plan(module):
    placed, inplace_of, arena = plan_of(module)
    for op, offset, size, start, end in placed:
        assert offset % 64 == 0 and offset + size <= arena
    for a in placed:
        for b in placed:
            if a is b or inplace_of.get(a[0]) is b[0] or inplace_of.get(b[0]) is a[0]:
                continue
            overlap_time = a[3] <= b[4] and b[3] <= a[4]
            overlap_space = a[1] < b[1] + b[2] and b[1] < a[1] + a[2]
            # in-place chains share a buffer: a value and its in-place successor are fine
            if overlap_time and overlap_space:
                chain = _chain(a[0], inplace_of) & _chain(b[0], inplace_of)
                assert chain, f"{a[0].name} and {b[0].name} overlap in time and space"


def _chain(op, inplace_of):
    seen = {op}
    while op in inplace_of:
        op = inplace_of[op]
        seen.add(op)
    return {min(seen, key=id)} if seen else set()


PLAN = """
func.func @main(%x: tensor<4x16xf32>, %y: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %c = graph.constant dense<1.0> : tensor<4x16xf32>
  %0 = graph.add %x, %c : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = graph.relu %0 : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %2 = graph.add %1, %y : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = graph.relu %y : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %4 = graph.add %2, %3 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %5 = graph.relu %4 : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %6 = graph.add %5, %4 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  func.return %6 : tensor<4x16xf32>
}
"""


def test_plan_memory_reuses_dead_buffers_and_works_in_place():
    before, after = run("plan-memory", PLAN)
    offsets = [op.attributes.get("graph.offset") for op in main_of(after).regions[0].blocks[0].ops]
    assert [o.value if o is not None else None for o in offsets] == [None, 0, 0, 0, 256, 0, 256, None, None]
    func = main_of(after)
    assert func.attributes["graph.arena_bytes"].value == 512
    assert func.attributes["graph.unplanned_bytes"].value == 6 * 256
    assert_valid_plan(after)
    check_equivalent(before, after, rtol=0, atol=0)
    stats = statistics("plan-memory", PLAN)
    assert stats["num-inplace"] == 3 and stats["num-buffers"] == 3
    assert stats["arena-bytes"] == stats["peak-live-bytes"] == 512


def test_plan_memory_without_inplace_still_reuses():
    _, after = run("plan-memory{inplace=false}", PLAN)
    assert_valid_plan(after)
    assert main_of(after).attributes["graph.arena_bytes"].value < 6 * 256
    assert not any("graph.inplace" in op.attributes for op in main_of(after).walk())


def test_plan_memory_is_idempotent_and_rejects_bad_alignment():
    assert_idempotent("plan-memory", PLAN)
    from descend.rewrites import PipelineError
    with pytest.raises(PipelineError, match="alignment"):
        PassManager.parse("plan-memory{alignment=48}")


# ---- whole pipelines -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [RESIDUAL, SMALL_CNN], ids=["residual", "small-cnn"])
def test_every_stage_of_the_pipeline_preserves_results(text):
    module = parse(text)
    before = parse(text)
    for stage in ["simplify-inference", "fold-constants", "fuse-ops", "plan-memory"]:
        PassManager.parse(stage).run(module)
        check_equivalent(before, module, seeds=(0, 1))
    assert_valid_plan(module)


def test_residual_block_becomes_two_kernels():
    _, after = run(PIPELINE, RESIDUAL)
    fused = [op for op in main_of(after).regions[0].blocks[0].ops if op.name == "graph.fused"]
    bodies = [[o.name for o in f.regions[0].blocks[0].ops] for f in fused]
    assert bodies == [["graph.conv", "graph.relu", "graph.yield"],
                      ["graph.conv", "graph.add", "graph.relu", "graph.yield"]]
    assert all(f.properties["pattern"].value == "out_fusable" for f in fused)
    assert "graph.batch_norm" not in str(after)


def test_small_cnn_pipeline():
    before, after = run(PIPELINE, SMALL_CNN)
    text = str(after)
    assert "graph.dropout" not in text and "graph.batch_norm" not in text
    assert text.count('"graph.reshape"') + text.count("graph.reshape ") == 1
    check_equivalent(before, after)
