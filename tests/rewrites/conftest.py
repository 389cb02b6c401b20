"""Fixtures for the pass tests: a context with `scope`, a test-only dialect of region and
branch ops that the shipped dialects lack (no scf or cf yet), so dominance, region nesting
and isolation can be exercised."""

import pytest

from descend.ir import (Context, Dialect, IsolatedFromAbove, IsTerminator, NoTerminator, Operation,
                        Pure, SingleBlock, region, result, var_operand, var_successor)


class RegionOp(Operation):
    """Runs its region once; values from above are visible inside (not isolated)."""

    name = "scope.region"
    body = region()
    traits = (NoTerminator(), SingleBlock())


class IsolatedOp(Operation):
    """Runs its region once; nothing inside may use a value from outside."""

    name = "scope.isolated"
    body = region()
    traits = (NoTerminator(), SingleBlock(), IsolatedFromAbove())


class PureRegionOp(Operation):
    """A pure op with a region and a result (removable when unused, if its body is pure)."""

    name = "scope.pure_region"
    body = region()
    out = result()
    traits = (Pure(), NoTerminator(), SingleBlock())


class BranchOp(Operation):
    """Jumps to one of its successors (which one is not modelled)."""

    name = "scope.br"
    targets = var_successor()
    traits = (IsTerminator(),)


class EffectOp(Operation):
    """Has a side effect: never CSE'd, never removed."""

    name = "scope.effect"
    inputs = var_operand()
    out = result()


SCOPE = Dialect("scope", [RegionOp, IsolatedOp, PureRegionOp, BranchOp, EffectOp])


@pytest.fixture
def scope_context() -> Context:
    context = Context()
    context.register(SCOPE)
    return context
