"""testing: do two modules compute the same results? `assert_equivalent` interprets both on
the same inputs and compares what they return.

Integers and booleans must match exactly; floats bit for bit (so -0.0 is not 0.0) except
that any NaN equals any NaN, unless tolerances are given. Dtypes and shapes must match.
Inputs on which `before` has undefined behaviour or makes poison are skipped: any result
of `after` refines an undefined one (ir/interpreter.py's UndefinedBehavior). When `after`
is undefined where `before` is not, that is a difference like any other.

A failure is an AssertionError whose message is a bug report: what differs, the inputs as
Python, both modules as IR, and both outputs."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from descend.ir.interpreter import UndefinedBehavior, interpret
from descend.ir.symbols import SymbolTable

from .values import format_value

__all__ = ["assert_equivalent", "UndefinedBehavior", "equivalence_report"]


def assert_equivalent(before, after, inputs: Sequence[Any], function: str = "main",
                      rtol: float = 0.0, atol: float = 0.0) -> bool:
    """Raise AssertionError (with a full report) unless `after` computes what `before` does
    on `inputs`. Returns True when compared, False when skipped because `before` is
    undefined on these inputs; inside a hypothesis test the skip is `assume(False)`, so
    hypothesis draws other inputs instead. With `rtol`/`atol`, floats compare with
    numpy.isclose (NaN equal to NaN); without, bit for bit."""
    inputs = list(inputs)
    try:
        expected = interpret(before, function, inputs)
    except UndefinedBehavior:
        _skip()
        return False
    try:
        actual = interpret(after, function, inputs)
    except UndefinedBehavior as exc:
        raise AssertionError(equivalence_report(
            f"after has undefined behavior where before is defined:\n{exc}",
            before, after, inputs, function, expected, None)) from None
    except Exception as exc:  # noqa: BLE001 - any failure of after is the finding to report
        raise AssertionError(equivalence_report(
            f"interpreting after failed: {type(exc).__name__}: {exc}",
            before, after, inputs, function, expected, None)) from exc
    problem = first_difference(expected, actual, rtol, atol)
    if problem is not None:
        raise AssertionError(equivalence_report(problem, before, after, inputs, function,
                                                expected, actual))
    return True


def _skip() -> None:
    from hypothesis import assume
    from hypothesis.control import currently_in_test_context
    if currently_in_test_context():
        assume(False)


def first_difference(expected: list, actual: list, rtol: float = 0.0, atol: float = 0.0) -> str | None:
    """What first differs between two result lists, in words, or None."""
    if len(expected) != len(actual):
        return f"before returned {len(expected)} results, after {len(actual)}"
    for index, (a, b) in enumerate(zip(expected, actual)):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype != b.dtype:
            return f"result #{index}: before has dtype {a.dtype}, after {b.dtype}"
        if a.shape != b.shape:
            return f"result #{index}: before has shape {list(a.shape)}, after {list(b.shape)}"
        same = _same_elements(a, b, rtol, atol)
        if not same.all():
            where = tuple(int(i) for i in np.argwhere(~same)[0]) if a.ndim else ()
            at = f" at index {list(where)}" if a.ndim else ""
            count = f" ({int((~same).sum())} of {same.size} elements)" if a.ndim else ""
            return (f"result #{index} differs{at}{count}: before gave {format_value(a[where])}, "
                    f"after gave {format_value(b[where])}")
    return None


def _same_elements(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    if a.dtype.kind not in "fc":
        return np.asarray(a == b)
    if rtol or atol:
        return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    both_nan = np.isnan(a) & np.isnan(b)
    if a.dtype.kind == "c":
        return both_nan | (a.view(np.uint8).reshape(a.shape + (-1,)) ==
                           b.view(np.uint8).reshape(b.shape + (-1,))).all(axis=-1)
    unsigned = f"u{a.dtype.itemsize}"
    return both_nan | (a.view(unsigned) == b.view(unsigned))


def _ir(module) -> str:
    try:
        return module.print().rstrip("\n")
    except Exception:  # noqa: BLE001 - broken IR still prints generically
        try:
            return module.print(generic=True).rstrip("\n")
        except Exception as exc:  # noqa: BLE001
            return f"<unprintable: {type(exc).__name__}: {exc}>"


def _argument_types(module, function: str) -> list:
    name = function[1:] if function.startswith("@") else function
    func = SymbolTable(module).lookup(name) if module.name != "func.func" else module
    ftype = func.properties.get("function_type") if func is not None else None
    return list(ftype.type.inputs) if ftype is not None else []


def equivalence_report(problem: str, before, after, inputs: Sequence[Any], function: str,
                       expected: list | None, actual: list | None) -> str:
    """The text of a failed equivalence: paste it into a bug report as it is."""
    types = _argument_types(before, function)
    lines = [f"before and after are not equivalent: {problem}", "",
             f"inputs to @{function.lstrip('@')}:"]
    for index, value in enumerate(inputs):
        t = f" ({types[index]})" if index < len(types) else ""
        lines.append(f"  #{index}{t}: {format_value(value)}")
    if not inputs:
        lines.append("  (none)")
    lines.append("inputs = [" + ", ".join(format_value(v) for v in inputs) + "]")
    lines += ["", "before:", _ir(before), "", "after:", _ir(after), ""]
    for title, results in (("before's results", expected), ("after's results", actual)):
        if results is None:
            continue
        lines.append(f"{title}:")
        lines += [f"  #{i}: {format_value(r)}" for i, r in enumerate(results)]
    return "\n".join(lines)
