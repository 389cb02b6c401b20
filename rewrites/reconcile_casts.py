"""rewrites: removing the `builtin.unrealized_conversion_cast`s that conversions leave behind
once both sides agree (MLIR's reconcile-unrealized-casts).

A chain of casts that ends at the type it started from (`A -> B -> A`, or `A -> B -> C ->
A`) is the identity: users of its last result get the first input instead. Casts nobody
uses are then erased, a chain at a time. Casts that still bridge two types stay: something
in the IR still needs them, and a later lowering (or a materialization) has to resolve
them."""

from __future__ import annotations

from descend.ir import Operation, Value

CAST = "builtin.unrealized_conversion_cast"


def _single_producer_cast(values: list[Value]) -> Operation | None:
    """The cast whose results are exactly `values`, in order, if there is one."""
    if not values:
        return None
    producer = values[0].defining_op
    if producer is None or producer.name != CAST or len(producer.results) != len(values):
        return None
    if any(value is not result for value, result in zip(values, producer.results)):
        return None
    return producer


def reconcile_unrealized_casts(op: Operation) -> int:
    """Fold cast chains that return to their starting types and erase unused casts under
    `op`; returns how many casts were removed. Casts still needed are left in place."""
    casts = [nested for nested in op.walk() if nested.name == CAST and nested is not op]
    for cast in casts:
        if not cast.has_uses:
            continue
        wanted = [r.type for r in cast.results]
        values = list(cast._operands)
        seen = 0
        while values and seen <= len(casts):
            if [v.type for v in values] == wanted:
                for result, value in zip(cast.results, values):
                    result.replace_all_uses_with(value)
                break
            producer = _single_producer_cast(values)
            if producer is None:
                break
            values = list(producer._operands)
            seen += 1
    removed = 0
    for cast in reversed(casts):  # users before producers, so whole chains go at once
        if cast.parent is not None and not cast.has_uses:
            cast.erase()
            removed += 1
    return removed
