"""descend.testing check_pass: a wrong pass is caught and reported as a shrunk program with
its inputs; a pass that keeps results passes; passes come as callables, pass objects,
descend Passes or pipeline text; crashes and unverifiable output are findings too."""

import re

import pytest

from descend.ir import Context
from descend.testing import check_pass


def swap_subtractions(module):
    """Deliberately wrong: a - b becomes b - a."""
    for op in module.walk():
        if op.name in ("arith.subi", "arith.subf"):
            op.set_operands([op.operands[1], op.operands[0]])


def test_a_wrong_pass_is_caught_with_a_shrunk_program_and_its_inputs():
    # Every seed from 0 to 19 catches it (a median 1.6 s with search and shrinking, the
    # slowest ~30 s); this one is quick, to keep CI fast.
    with pytest.raises(AssertionError) as info:
        check_pass(swap_subtractions, max_examples=200, seed=2)
    text = str(info.value)
    assert "before and after are not equivalent" in text
    before, after = text.split("\nbefore:\n")[1].split("\nafter:\n")
    subtraction = re.search(r"= (arith\.sub[if]) (%\w+), (%\w+)", before)
    assert subtraction, before
    name, lhs, rhs = subtraction.groups()
    assert f"= {name} {rhs}, {lhs}" in after
    assert re.search(r"\ninputs = \[np\.\w+\(", text)
    # Shrunk: little more than the subtraction is left.
    assert len(before.split("after's results")[0].splitlines()) < 20, before


def test_a_pass_that_keeps_results_passes():
    check_pass(lambda module: None, max_examples=40, seed=0)


class Swapper:
    """A pass object as the pass manager calls it: run(op, ctx)."""

    name = "swap-subtractions"

    def __init__(self):
        self.contexts = []

    def run(self, op, ctx):
        self.contexts.append(ctx)
        swap_subtractions(op)


def test_pass_objects_get_the_op_and_a_context():
    swapper = Swapper()
    with pytest.raises(AssertionError, match="not equivalent"):
        check_pass(swapper, ops=["arith.subi"], max_examples=50, seed=0)
    assert swapper.contexts and isinstance(swapper.contexts[0], Context)


def test_descend_passes_and_pipelines_run_through_the_pass_manager():
    rewrites = pytest.importorskip("descend.rewrites.passes")
    dce = rewrites.registered_passes()["dce"]()
    check_pass(dce, dialects=["arith"], max_examples=10, seed=0)
    check_pass("canonicalize,cse", dialects=["arith"], max_examples=10, seed=0)


def test_a_crashing_pass_is_reported_with_the_program():
    def crash(module):
        if any(op.name == "arith.muli" for op in module.walk()):
            raise RuntimeError("boom")
    with pytest.raises(AssertionError, match=r"transform crash failed: RuntimeError: boom\n\non this program:\n"
                                             r"(.|\n)*arith\.muli"):
        check_pass(crash, ops=["arith.addi", "arith.muli"], max_examples=50, seed=0)


def test_output_that_does_not_verify_is_reported():
    def break_types(module):
        for op in list(module.walk()):
            if op.name == "arith.extsi":
                op.set_operands([op.results[0]])  # uses itself: dominance broken
    with pytest.raises(AssertionError, match="produced IR that does not verify"):
        check_pass(break_types, ops=["arith.extsi"], max_examples=30, seed=0)
