"""graph -> graph: constant folding (Relay's FoldConstant). An op of the graph dialect whose
operands are all `graph.constant`s is evaluated with its reference semantics (the same
numpy code the interpreter runs, so folding cannot disagree with execution) and replaced
by constants of its results, as long as they are small enough to be worth storing.

Also the shared helpers of the graph passes: reading constants, making them, and finding
the functions a pass anchored anywhere should work on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator

import numpy as np

from descend.ir import Builder, Context, DenseElementsAttr, Operation, TensorType, Value
from descend.ir.interpreter import UndefinedBehavior, evaluate_reference

from ..pass_options import option
from ..passes import Pass, register_pass

CONSTANT = "graph.constant"
# Ops never folded: structure rather than computation.
_NOT_FOLDABLE = {CONSTANT, "graph.fused", "graph.yield"}


# ---- helpers shared by the graph passes ----------------------------------------------------------

def functions(op: Operation) -> Iterator[Operation]:
    """The func.func ops at or under `op` (a pass may be anchored on a module or a function)."""
    if op.name == "func.func":
        yield op
        return
    for nested in op.walk():
        if nested.name == "func.func":
            yield nested


def constant_array(value: Value) -> np.ndarray | None:
    """The numpy value of a result of graph.constant, else None."""
    producer = value.defining_op
    if producer is None or producer.name != CONSTANT:
        return None
    return np.asarray(producer.properties["value"].array)


def build_constant(builder: Builder, array, type: TensorType, location=None) -> Value:
    """A graph.constant of `type` holding `array` (cast to the element type)."""
    from descend.dialects.graph import ConstantOp
    attr = DenseElementsAttr(type, np.asarray(array))
    return builder.build(ConstantOp, value=attr, location=location).result


def num_elements(type) -> int:
    if not isinstance(type, TensorType):
        return 1
    n = 1
    for d in type.shape:
        n *= int(d)
    return n


def erase_if_dead(values) -> int:
    """Erase the graph.constant producers of `values` that are left without uses."""
    erased = 0
    for value in values:
        producer = value.defining_op
        if (producer is not None and producer.parent is not None and producer.name == CONSTANT
                and not any(r.uses for r in producer.results)):
            producer.erase()
            erased += 1
    return erased


# ---- the pass ------------------------------------------------------------------------------------

@register_pass
@dataclass(frozen=True)
class FoldConstants(Pass):
    """Evaluate graph ops whose operands are all constants and replace them with constants.

    Each foldable op runs its reference semantics on the constant operands, top-down, so a
    chain of ops over constants folds in one run. Results with more than `max-elements`
    elements in total are left alone (-1: no limit), as are ops with undefined behaviour on
    those operands. Constants that lose their last use are erased."""

    name: ClassVar[str] = "fold-constants"
    statistics: ClassVar[dict] = {
        "num-folded": "ops replaced by constants",
        "num-too-large": "ops over constants left alone: results above max-elements",
        "num-constants-erased": "constants erased after losing their last use",
    }

    max_elements: int = option(1 << 20, help="largest folded result, in elements (-1: no limit)")

    def __post_init__(self):
        if self.max_elements < -1:
            raise ValueError(f"max-elements must be -1 (no limit) or at least 0, got {self.max_elements}")

    def run(self, op: Operation, ctx: Context) -> None:
        # Collected first: folding inserts constants the walk must not revisit.
        candidates = [o for o in op.walk() if self._foldable(o)]
        for candidate in candidates:
            if candidate.parent is not None:
                self._fold(candidate)

    def _foldable(self, op: Operation) -> bool:
        return (op.dialect_name == "graph" and op.name not in _NOT_FOLDABLE and not op.regions
                and bool(op.operands) and getattr(type(op), "reference", None) is not None)

    def _fold(self, op: Operation) -> None:
        arrays = [constant_array(v) for v in op.operands]
        if any(a is None for a in arrays):
            return
        if not all(isinstance(r.type, TensorType) for r in op.results):
            return
        if self.max_elements >= 0 and sum(num_elements(r.type) for r in op.results) > self.max_elements:
            self.count("num-too-large")
            return
        try:
            values = evaluate_reference(op, arrays)
        except UndefinedBehavior:
            return
        builder = Builder.before(op)
        replacements = [build_constant(builder, v, r.type, op.location) for r, v in zip(op.results, values)]
        for result, replacement in zip(op.results, replacements):
            replacement.name_hint = result.name_hint
        operands = list(op.operands)
        op.replace_all_uses_with(replacements)
        op.erase()
        self.count("num-folded")
        self.count("num-constants-erased", erase_if_dead(operands))
