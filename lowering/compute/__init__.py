"""graph -> te: compute builders, one per graph op (what TOPI is to TVM).

A builder gets a Builder positioned in a te.kernel body, the graph op (for its attributes
and types) and the te-level values of its operands (kernel arguments or earlier computes),
and builds te.compute ops with `descend.dialects.te.builder.compute`; it returns one value
per result of the op:

    @lowers("graph.relu")
    def relu(kb: Builder, op, inputs: list[Value]) -> list[Value]:
        (x,) = inputs
        return [elementwise(kb, [x], lambda b, v: b.max(v, 0.0), name=name_of(op))]

Builders never use the graph op's operands as values (they are not te values); everything
they need is in `inputs`, the op's properties and types. te computes on signless integers:
`out_type(op)` is the result type to build, `is_unsigned(op.operands[0])` says when to pick
unsigned arith ops. One module per family,
mirroring dialects/graph/."""

from __future__ import annotations

from typing import Callable

COMPUTES: dict[str, Callable] = {}


def lowers(*ops):
    """Register `fn` as the compute builder of graph ops (names or classes)."""
    def register(fn):
        for op in ops:
            COMPUTES[op if isinstance(op, str) else op.name] = fn
        return fn
    return register


def lookup(op_name: str) -> Callable | None:
    return COMPUTES.get(op_name)


def out_type(op, index: int = 0):
    """The te type of the op's result `index`: its tensor type with unsigned integers made
    signless (te's rule; see graph_to_te.signless_types). Builders use this, never the
    graph result type directly."""
    from descend.ir import IntegerType, TensorType
    t = op.results[index].type
    e = t.element_type
    if isinstance(e, IntegerType) and e.signedness:
        return TensorType(t.shape, IntegerType(e.width))
    return t


def is_unsigned(value) -> bool:
    """Whether a graph value (an operand or result of the graph op) holds unsigned integers:
    builders pick divui / cmpi ult / uitofp / maxui for them."""
    from descend.ir import IntegerType
    e = getattr(value.type, "element_type", value.type)
    return isinstance(e, IntegerType) and e.signedness == "u"


def name_of(op, index: int = 0) -> str | None:
    """The name hint the te value should carry: the graph result's (`%conv1.relu`)."""
    return op.results[index].name_hint if index < len(op.results) else None


def _load_families() -> None:
    import importlib
    import pkgutil
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_load_families()
