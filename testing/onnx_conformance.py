"""The ONNX node tests as data: find them, run one through a backend, say what happened.

Since onnx 1.18 the wheel ships no `onnx/backend/test/data/node` folder; the cases are
built in memory by `onnx.backend.test.case.node.collect_testcases`, as onnx's own
BackendTest does. A case ends as one of

- passed: every output matches the expected one within the case's rtol/atol;
- unsupported: descend refused it at import, naming the op and what is missing;
- failed: a wrong answer, a crash, or a timeout — what must never happen.

Used by bench/onnx_conformance.py (the whole run, by hand) and by the fast subset in CI;
`check_node_test` is the one-line form the op tests use, `run_onnx_node` runs one node by
onnxruntime (or onnx's reference evaluator) as the independent oracle."""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

PASSED, FAILED, UNSUPPORTED = "passed", "failed", "unsupported"

# How a lowering says it does not handle something (a refusal, counted as unsupported);
# any other diagnostic from a lowering is a failure to fix.
REFUSALS = ("failed to legalize", "cannot be lowered", "no lowering for")


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


@lru_cache(maxsize=1)
def _schema_names() -> dict[str, str]:
    """snake_case -> op type for every ai.onnx op onnx knows."""
    import onnx.defs
    return {_snake(s.name): s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain == ""}


_ALIASES = {"sce_": "SoftmaxCrossEntropyLoss", "nllloss_": "NegativeLogLikelihoodLoss"}


def subject_op(case) -> str:
    """The op type a test is about: the longest ONNX op name (in snake case) that starts the
    test's name (`test_reduce_sum_keepdims` -> ReduceSum, `test_layer_normalization_2d_expanded`
    -> LayerNormalization), else the last non-Constant node."""
    name = case.name[len("test_"):] if case.name.startswith("test_") else case.name
    ops = [n.op_type for n in case.model.graph.node]
    for candidates in ({_snake(op): op for op in ops}, _schema_names()):
        # the model's own ops first (test_constant_pad is about Pad, not Constant), then
        # every ONNX op (an _expanded test holds the function's body, not the function)
        best = None
        for snake, op in candidates.items():
            if (name == snake or name.startswith(snake + "_")) and (best is None or len(snake) > len(best[0])):
                best = (snake, op)
        if best is not None:
            return best[1]
        if "_expanded" not in name:
            break
    for prefix, op in _ALIASES.items():
        if name.startswith(prefix):
            return op
    rest = [o for o in ops if o != "Constant"] or ops
    return rest[-1] if rest else "?"


def run_case(case, backend) -> Outcome:
    """Run every data set of `case` through `backend` (an onnx Backend class)."""
    from descend.frontends.onnx import ImportFailed, ModelError
    from descend.ir import DiagnosticError
    ops = list(dict.fromkeys(n.op_type for n in case.model.graph.node))
    outcome = Outcome(case.name, subject_op(case), PASSED, ops=ops)
    try:
        with np.errstate(all="ignore"):
            prepared = None
            for inputs, expected in case.data_sets:
                inputs, expected = _arrays(inputs), _arrays(expected)
                if prepared is None:
                    prepared = backend.prepare(case.model, "CPU", input_arrays=list(inputs))
                got = prepared.run(list(inputs))
                _compare(case, got, expected)
    except (ImportFailed, ModelError) as exc:
        outcome.status = UNSUPPORTED
        outcome.message = _first_problem(exc)
    except DiagnosticError as exc:
        text = exc.render()
        if any(refusal in text for refusal in REFUSALS):
            # a stage backend met an op its lowering does not handle yet: refused, not wrong
            outcome.status = UNSUPPORTED
            outcome.message = "lowering: " + exc.message
        else:
            outcome.status = FAILED
            outcome.message = " ".join(text.split())[:300]
    except AssertionError as exc:
        outcome.status = FAILED
        outcome.message = "wrong answer: " + " ".join(str(exc).split())[:300]
    except Exception as exc:  # a crash is a failure to fix, never a pass
        outcome.status = FAILED
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        outcome.message = (f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]} "
                           f"({frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})")
    return outcome


def _arrays(values) -> list:
    """Data sets hold numpy arrays, or TensorProtos where numpy has no dtype (cast tests)."""
    import onnx
    from onnx import numpy_helper
    return [numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else v for v in values]


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


def check_node_test(name: str, expect: str = PASSED, case=None) -> Outcome:
    """Runs node test `name` (or `case`, a variant of it) through descend's ONNX backend and
    asserts that it ends as `expect`; returns the outcome, for checks of its message."""
    from descend.frontends.onnx.backend import DescendBackend
    outcome = run_case(node_cases()[name] if case is None else case, DescendBackend)
    assert outcome.status == expect, outcome.message
    return outcome


def run_onnx_node(op_type: str, inputs, n_outputs: int = 1, output_types=None, opset: int = 22,
                  oracle: str = "onnxruntime", **attributes) -> list:
    """One ONNX node `op_type(inputs) -> n_outputs` run by onnxruntime, or by onnx's reference
    evaluator (`oracle="onnx"`) for what onnxruntime does not implement. Inputs are declared
    with their own dtypes; outputs with `output_types` (TensorProto enums) when given, else
    left for the oracle to infer."""
    import onnx
    from onnx import helper
    names = [f"in{i}" for i in range(len(inputs))]
    outs = [f"out{i}" for i in range(n_outputs)]
    node = helper.make_node(op_type, names, outs, **attributes)
    outputs = ([helper.make_tensor_value_info(o, t, None) for o, t in zip(outs, output_types)] if output_types
               else [helper.make_value_info(o, onnx.TypeProto()) for o in outs])
    graph = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                               for n, a in zip(names, inputs)], outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    feeds = dict(zip(names, inputs))
    if oracle == "onnx":
        from onnx.reference import ReferenceEvaluator
        return ReferenceEvaluator(model).run(None, feeds)
    import onnxruntime
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)
