"""graph loss ops: reference semantics against onnxruntime, shape errors that name the
shapes, textual round trips, and the ONNX node tests of the losses (and their expansions)."""

from __future__ import annotations

import numpy as np
import pytest

import descend
from descend import DiagnosticError
from descend.dialects import graph
from descend.ir.printer import print_ir
from descend.testing.onnx_conformance import check_node_test, node_cases, run_onnx_node

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")   # the oracle of run_onnx_node

RNG = np.random.default_rng(0)



def close(got, want):
    got = np.asarray(got)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def problem(shape, classes=4, ignore=None):
    """Scores (N, C, *shape[1:]), targets (N, *shape[1:]) with some set to `ignore`, weights (C)."""
    scores = RNG.standard_normal((shape[0], classes) + tuple(shape[1:])).astype(np.float32)
    target = RNG.integers(0, classes, shape).astype(np.int64)
    if ignore is not None:
        target.reshape(-1)[::3] = ignore
    weight = RNG.random(classes).astype(np.float32) + 0.1
    return scores, target, weight


CASES = [(shape, reduction, weighted, ignore)
         for shape in [(5,), (2, 3), (2, 3, 2)]
         for reduction in ("none", "sum", "mean")
         for weighted in (False, True)
         for ignore in (None, 1, -1)]


@pytest.mark.parametrize("shape,reduction,weighted,ignore", CASES)
def test_nll_loss_matches_onnxruntime(shape, reduction, weighted, ignore):
    scores, target, weight = problem(shape, ignore=ignore)
    if ignore == -1:
        target = np.where(target == -1, 2, target)       # onnxruntime rejects out-of-range targets
    inputs = [scores, target] + ([weight] if weighted else [])
    attrs = {"reduction": reduction} | ({} if ignore is None else {"ignore_index": ignore})
    want = run_onnx_node("NegativeLogLikelihoodLoss", inputs, **attrs)[0]
    close(graph.NllLossOp.reference(*inputs, reduction=reduction, ignore_index=ignore), want)


@pytest.mark.parametrize("shape,reduction,weighted,ignore", CASES)
def test_softmax_cross_entropy_and_log_prob_match_onnxruntime(shape, reduction, weighted, ignore):
    scores, target, weight = problem(shape, ignore=ignore)
    inputs = [scores, target] + ([weight] if weighted else [])
    attrs = {"reduction": reduction} | ({} if ignore is None else {"ignore_index": ignore})
    loss, log_prob = run_onnx_node("SoftmaxCrossEntropyLoss", inputs, n_outputs=2, **attrs)
    got_loss, got_log_prob = graph.SoftmaxCrossEntropyOp.reference(*inputs, reduction=reduction,
                                                                   ignore_index=ignore)
    close(got_loss, loss)
    close(got_log_prob, log_prob)


def test_mean_over_all_ignored_targets_is_nan_as_onnx():
    scores, target, _ = problem((3,))
    target[:] = 2
    with np.errstate(invalid="ignore"):   # 0 / 0, as in onnx's reference
        loss = graph.NllLossOp.reference(scores, target, reduction="mean", ignore_index=2)
    assert np.isnan(loss)


def test_loss_types():
    f32, i64 = descend.ir.f32, descend.ir.i64
    types = [graph.tensor((2, 4, 3), f32), graph.tensor((2, 3), i64)]
    attrs = graph.Attrs(graph.SoftmaxCrossEntropyOp, {})
    assert graph.SoftmaxCrossEntropyOp.infer(types, attrs) == [graph.tensor((), f32), types[0]]
    attrs = graph.Attrs(graph.NllLossOp, {"reduction": graph.to_attribute("none")})
    assert graph.NllLossOp.infer(types, attrs) == [graph.tensor((2, 3), f32)]


# ---- shape errors and round trips ----------------------------------------------------------------

def _func(body: str, args: str) -> str:
    return f"func.func @f({args}) {{\n  {body}\n  func.return\n}}"


@pytest.mark.parametrize("body,args,message", [
    ('%y = "graph.nll_loss"(%x, %t) : (tensor<2x4x3xf32>, tensor<2x4xi64>) -> tensor<f32>',
     "%x: tensor<2x4x3xf32>, %t: tensor<2x4xi64>",
     r"target \[2x4\] should be \[2x3\] for scores \[2x4x3\] \(N, C, d1, ...\)"),
    ('%y = "graph.nll_loss"(%x, %t, %w) : (tensor<2x4xf32>, tensor<2xi64>, tensor<3xf32>) -> tensor<f32>',
     "%x: tensor<2x4xf32>, %t: tensor<2xi64>, %w: tensor<3xf32>",
     r"weight tensor<3xf32> should be tensor<4xf32>, one per class of scores \[2x4\]"),
    ('%y = "graph.nll_loss"(%x, %t) : (tensor<2x4xf32>, tensor<2xf32>) -> tensor<f32>',
     "%x: tensor<2x4xf32>, %t: tensor<2xf32>", r"expects i32 or i64 targets, got tensor<2xf32>"),
    ('%y = "graph.nll_loss"(%x, %t) {reduction = "max"} : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>',
     "%x: tensor<2x4xf32>, %t: tensor<2xi64>", r"reduction 'max' is not one of none, sum, mean"),
    ('%y, %p = "graph.softmax_cross_entropy"(%x, %t) : (tensor<4xf32>, tensor<i64>) -> (tensor<f32>, tensor<4xf32>)',
     "%x: tensor<4xf32>, %t: tensor<i64>", r"needs scores \(N, C, d1, ...\) of rank >= 2, got \[4\]"),
])
def test_shape_errors_name_the_shapes(body, args, message):
    with pytest.raises(DiagnosticError, match=message):
        descend.parse(_func(body, args))


ROUND_TRIP = _func(
    '%l = graph.nll_loss %x, %t, %w {ignore_index = -1 : i64, reduction = "sum"} : (tensor<2x4x3xf32>, '
    "tensor<2x3xi64>, tensor<4xf32>) -> tensor<f32>\n"
    '  %s, %p = graph.softmax_cross_entropy %x, %t {reduction = "none"} : (tensor<2x4x3xf32>, tensor<2x3xi64>) '
    "-> (tensor<2x3xf32>, tensor<2x4x3xf32>)",
    "%x: tensor<2x4x3xf32>, %t: tensor<2x3xi64>, %w: tensor<4xf32>")


def test_custom_round_trip():
    module = descend.parse(ROUND_TRIP)
    assert str(descend.parse(str(module))) == str(module)
    assert "ignore_index = -1" in str(module)


def test_generic_round_trip():
    generic = print_ir(descend.parse(ROUND_TRIP), generic=True)
    assert '"graph.softmax_cross_entropy"' in generic
    assert print_ir(descend.parse(generic), generic=True) == generic


# ---- ONNX node tests ----------------------------------------------------------------------------

def _node_tests():
    return sorted(n for n in node_cases() if n.startswith(("test_nllloss_", "test_sce_")))


@pytest.mark.parametrize("name", _node_tests())
def test_onnx_node(name):
    """Every NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss node test, with the
    `_expanded` ones (function bodies of gather_elements, where, reductions, ...)."""
    check_node_test(name)
