"""testing: `check_pass` searches for a program a pass changes the meaning of.

    from descend.testing import check_pass
    check_pass("canonicalize,cse", dialects=["arith"], max_examples=200)

It draws random programs (random_programs.py) and inputs, runs the pass on a copy, verifies the
copy and compares both with assert_equivalent. Hypothesis drives the search, so a failure
is shrunk to a small program before it is reported; the AssertionError then shows that
program as IR, the pass's output, and the inputs, as Python. It runs its own search:
call it from a plain test function (not under @given) or from a script."""

from __future__ import annotations

from typing import Callable, Sequence

from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings
from hypothesis import strategies as st

from descend.ir import Context, DiagnosticError, verify
from descend.ir.types import Type

from .equivalence import _ir, assert_equivalent
from .random_programs import inputs_for, programs

__all__ = ["check_pass", "as_transform"]


def as_transform(pass_or_pipeline) -> tuple[Callable, str]:
    """`(run(module), description)` for: pipeline text (`"canonicalize,cse"`), a pass
    object with `run(op, ctx)` (a descend Pass is nested on its anchor op, as a pass
    manager would), a pass manager, or any callable `f(module)` changing it in place."""
    if isinstance(pass_or_pipeline, str):
        from descend.rewrites import PassManager
        manager = PassManager.parse(pass_or_pipeline)
        return manager.run, f"pipeline '{pass_or_pipeline}'"
    if getattr(pass_or_pipeline, "run", None) is None:
        if not callable(pass_or_pipeline):
            raise TypeError(f"expected a pass, a pipeline string or a callable, got {pass_or_pipeline!r}")
        name = getattr(pass_or_pipeline, "__name__", repr(pass_or_pipeline))
        return pass_or_pipeline, f"transform {name}"
    from descend.rewrites.pass_manager import OpPassManager, PassManager
    from descend.rewrites.passes import Pass
    if isinstance(pass_or_pipeline, OpPassManager):
        return pass_or_pipeline.run, f"pipeline '{pass_or_pipeline}'"
    if isinstance(pass_or_pipeline, Pass):
        manager = PassManager()
        anchor = pass_or_pipeline.anchor
        (manager if anchor in (None, "builtin.module") else manager.nest(anchor)).add(pass_or_pipeline)
        return manager.run, f"pass '{pass_or_pipeline}'"
    name = getattr(pass_or_pipeline, "name", type(pass_or_pipeline).__name__)
    return (lambda module: pass_or_pipeline.run(module, Context())), f"pass '{name}'"


def check_pass(pass_or_pipeline, ops: Sequence | None = None,
               dialects: Sequence[str] = ("arith", "math"), max_examples: int = 100,
               seed: int | None = None, *, max_ops: int = 12, types: Sequence[Type] | None = None,
               rtol: float = 0.0, atol: float = 0.0, all_flags: bool = False,
               derandomize: bool = False, deadline=None, database=None,
               function: str = "main") -> None:
    """Raise AssertionError if the pass changes what some random program over `ops` (or
    `dialects`) computes, crashes on it, or leaves IR that does not verify. `seed` or
    `derandomize` make the search repeatable; `database` (a hypothesis database) replays
    earlier failures first. See programs() for `max_ops`, `types` and `all_flags`, and
    assert_equivalent for `rtol` and `atol`."""
    run, description = as_transform(pass_or_pipeline)
    strategy = programs(ops=ops, dialects=dialects, max_ops=max_ops, types=types,
                        all_flags=all_flags, function=function)

    @settings(max_examples=max_examples, deadline=deadline, derandomize=derandomize,
              database=database, report_multiple_bugs=False, print_blob=False,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])
    @given(st.data())
    def pass_preserves_results(data):
        before = data.draw(strategy, label="program")
        inputs = data.draw(inputs_for(before, function), label="inputs")
        after = before.clone()
        try:
            run(after)
        except Exception as exc:  # noqa: BLE001 - a crash is a finding; keep the program
            raise AssertionError(f"{description} failed: {type(exc).__name__}: {exc}\n\n"
                                 f"on this program:\n{_ir(before)}") from exc
        try:
            verify(after)
        except DiagnosticError as exc:
            raise AssertionError(f"{description} produced IR that does not verify:\n{exc}\n\n"
                                 f"before:\n{_ir(before)}\n\nafter:\n{_ir(after)}") from None
        assert_equivalent(before, after, inputs, function=function, rtol=rtol, atol=atol)

    if seed is not None:
        pass_preserves_results = hypothesis_seed(seed)(pass_preserves_results)
    pass_preserves_results()
