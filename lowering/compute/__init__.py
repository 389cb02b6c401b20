"""graph -> te: compute builders, one per graph op (what TOPI is to TVM).

A builder gets a Builder positioned in a te.kernel body, the graph op (for its attributes
and types) and the te-level values of its operands (kernel arguments or earlier computes),
and builds te.compute ops with `descend.dialects.te.builder.compute`; it returns one value
per result of the op:

    @lowers("graph.relu")
    def relu(kb: Builder, op, inputs: list[Value]) -> list[Value]:
        (x,) = inputs
        return [elementwise(kb, [x], lambda b, v: b.max(v, 0.0), name=name_of(op))]

Builders never look at the graph op's operands (they are not te values); everything they
need is in `inputs`, the op's properties and its result types. One module per family,
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


def name_of(op, index: int = 0) -> str | None:
    """The name hint the te value should carry: the graph result's (`%conv1.relu`)."""
    return op.results[index].name_hint if index < len(op.results) else None


def _load_families() -> None:
    import importlib
    import pkgutil
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_load_families()
