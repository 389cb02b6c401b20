"""The ONNX node tests as data: find them, run one through a backend, say what happened.

Since onnx 1.18 the wheel ships no `onnx/backend/test/data/node` folder; the cases are
built in memory by `onnx.backend.test.case.node.collect_testcases`, as onnx's own
BackendTest does. A case ends as one of

- passed: every output matches the expected one within the case's rtol/atol;
- unsupported: descend refused it at import, naming the op and what is missing;
- failed: a wrong answer, a crash, or a timeout — what must never happen.

Used by bench/onnx_conformance.py (the whole run, by hand) and by the fast subset in CI."""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

PASSED, FAILED, UNSUPPORTED = "passed", "failed", "unsupported"


@dataclass
class Outcome:
    name: str
    op: str                    # the op type the test is about
    status: str
    message: str = ""
    ops: list[str] = field(default_factory=list)  # every op type in the test's model


@lru_cache(maxsize=1)
def node_cases() -> dict:
    """name -> onnx TestCase, for every node test of the installed onnx."""
    import warnings
    from onnx.backend.test.case import node
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    return {case.name: case for case in cases}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def subject_op(case) -> str:
    """The op type a test is about: the node whose snake-case name starts the test's name
    (`test_reduce_sum_keepdims` -> ReduceSum), else the last non-Constant node."""
    ops = [n.op_type for n in case.model.graph.node]
    name = case.name[len("test_"):] if case.name.startswith("test_") else case.name
    best = None
    for op in dict.fromkeys(ops):
        snake = _snake(op)
        if name.startswith(snake) and (best is None or len(snake) > len(_snake(best))):
            best = op
    if best is None:
        # function tests are named after the function (test_layer_normalization_..._expanded)
        for op in dict.fromkeys(ops):
            if _snake(op).replace("_", "") in name.replace("_", ""):
                best = op
    if best is None:
        rest = [o for o in ops if o != "Constant"] or ops
        best = rest[-1] if rest else "?"
    return best


def run_case(case, backend) -> Outcome:
    """Run every data set of `case` through `backend` (an onnx Backend class)."""
    from descend.frontends.onnx import ImportFailed, ModelError
    ops = list(dict.fromkeys(n.op_type for n in case.model.graph.node))
    outcome = Outcome(case.name, subject_op(case), PASSED, ops=ops)
    try:
        with np.errstate(all="ignore"):
            prepared = None
            for inputs, expected in case.data_sets:
                if prepared is None:
                    prepared = backend.prepare(case.model, "CPU", input_arrays=list(inputs))
                got = prepared.run(list(inputs))
                _compare(case, got, expected)
    except (ImportFailed, ModelError) as exc:
        outcome.status = UNSUPPORTED
        outcome.message = _first_problem(exc)
    except AssertionError as exc:
        outcome.status = FAILED
        outcome.message = "wrong answer: " + " ".join(str(exc).split())[:300]
    except Exception as exc:  # a crash is a failure to fix, never a pass
        outcome.status = FAILED
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        outcome.message = (f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]} "
                           f"({frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})")
    return outcome


def _first_problem(exc) -> str:
    report = getattr(exc, "report", None)
    if report is not None and report.problems:
        p = report.problems[0]
        return f"{p.op_type}: {p.reason}"
    return exc.message


def _compare(case, got, expected) -> None:
    expected = list(expected)
    got = list(got)
    assert len(got) == len(expected), f"{len(got)} outputs, expected {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected)):
        e = np.asarray(e)
        g = np.asarray(g)
        assert g.shape == e.shape, f"output #{i} has shape {g.shape}, expected {e.shape}"
        if e.dtype.kind in "OSU":
            assert g.tolist() == e.tolist(), f"output #{i} differs"
            continue
        assert g.dtype == e.dtype, f"output #{i} has dtype {g.dtype}, expected {e.dtype}"
        np.testing.assert_allclose(g, e, rtol=case.rtol, atol=case.atol, err_msg=f"output #{i}")
