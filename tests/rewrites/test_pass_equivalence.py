"""Every registered pass that claims to keep semantics is checked on random programs
(descend.testing.check_pass): results before and after must be equal for every input."""

from __future__ import annotations

import pytest

from descend.rewrites.passes import registered_passes
from descend.testing import check_pass

# Passes whose effect is whatever their input says, so there is nothing general to check.
NOT_CHECKED = {
    "apply-rules": "applies the user's rules: each rule is checked by check_rule instead",
    # Lowerings change the level and the calling convention (tensors to out-param buffers
    # to pointers), so results are compared across levels instead: the stage backends run
    # the ONNX node tests through each one, and tests/lowering compares interpretations.
    "lower-graph-to-te": "checked across levels in tests/lowering",
    "lower-te-to-loop": "checked across levels in tests/lowering",
    "lower-loop-to-llvm": "checked across levels in tests/lowering",
}


def pipeline_for(cls) -> str:
    if cls.anchor == "func.func":
        return f"builtin.module(func.func({cls.name}))"
    return f"builtin.module({cls.name})"


BUILT_IN = sorted(name for name, cls in registered_passes().items()
                  if cls.__module__.startswith("descend.") and name not in NOT_CHECKED)


@pytest.mark.parametrize("name", BUILT_IN)
def test_pass_keeps_results_on_random_programs(name):
    cls = registered_passes()[name]
    check_pass(pipeline_for(cls), max_examples=25, seed=1)


def test_a_pipeline_of_them_keeps_results():
    check_pass("builtin.module(inline,canonicalize,func.func(cse),dce,symbol-dce)", max_examples=40, seed=2)
