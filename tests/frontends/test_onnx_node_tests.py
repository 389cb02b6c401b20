"""Every ONNX node test of the installed onnx, through descend's ONNX backend (seconds:
the interpreter runs them). No test may give a wrong answer or crash — a case descend
cannot handle must be refused at import as unsupported — and every test the recorded
support matrix (frontends/onnx/support.json, written by bench/onnx_conformance.py --write)
lists as passing must still pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("onnx")

from descend.frontends.onnx.backend import DescendBackend  # noqa: E402
from descend.testing.onnx_conformance import FAILED, PASSED, node_cases, run_case  # noqa: E402

SUPPORT = Path(__file__).resolve().parents[2] / "frontends" / "onnx" / "support.json"


@pytest.fixture(scope="module")
def outcomes():
    return {name: run_case(case, DescendBackend) for name, case in sorted(node_cases().items())}


def test_no_node_test_gives_a_wrong_answer_or_crashes(outcomes):
    failed = [f"{o.name}: {o.message}" for o in outcomes.values() if o.status == FAILED]
    assert not failed, f"{len(failed)} node tests failed:\n" + "\n".join(failed)


def test_recorded_passes_still_pass(outcomes):
    if not SUPPORT.exists():
        pytest.skip("no recorded support matrix")
    recorded = json.loads(SUPPORT.read_text())
    lost = [f"{name}: {outcomes[name].status} {outcomes[name].message}"
            for name in recorded.get("passed", []) if name in outcomes and outcomes[name].status != PASSED]
    assert not lost, f"{len(lost)} node tests that passed no longer do:\n" + "\n".join(lost)
