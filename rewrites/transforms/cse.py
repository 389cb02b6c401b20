"""rewrites: common subexpression elimination (MLIR's CSE): scoped value numbering over the
dominator tree.

Two ops are the same expression when they have the same name, operands (by identity),
properties, attributes and result types, and are Pure with no regions (terminators and
symbols never are). Walking each region in dominance order, an op equal to one already
seen in a dominating position (earlier in the block, a dominating block, or an enclosing
region) is replaced by it. The table of known ops is scoped: entries made inside a block
or region leave with it, and an op that is IsolatedFromAbove (or unregistered, which might
be) starts from an empty table, since its body cannot use values from outside. Pure ops
already dead when reached are erased too (MLIR does the same). In graph regions, where uses
may precede definitions, only the not-yet-visited users are redirected.

The table is one dict plus an undo log, so entering and leaving scopes costs nothing per
op, and the whole pass is linear in the number of ops.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import ClassVar

from descend.ir import (Context, GraphRegions, IsolatedFromAbove, IsTerminator, Operation, Pure,
                        Symbol)
from descend.ir.verifier import dominators

from ..passes import Pass, register_pass

# Per op class: may it be CSE'd? / does it start a fresh scope? (trait lookups, memoised)
_CANDIDATE: dict[type, bool] = {}
_ISOLATED: dict[type, bool] = {}


def _is_candidate(cls: type) -> bool:
    answer = _CANDIDATE.get(cls)
    if answer is None:
        answer = _CANDIDATE[cls] = (cls.definition is not None and cls.has_trait(Pure)
                                    and not cls.has_trait(IsTerminator) and not cls.has_trait(Symbol))
    return answer


def _is_isolated(cls: type) -> bool:
    answer = _ISOLATED.get(cls)
    if answer is None:
        answer = _ISOLATED[cls] = cls.definition is None or cls.has_trait(IsolatedFromAbove)
    return answer


def _key(op: Operation) -> tuple:
    """What makes two pure ops the same expression."""
    properties = op.properties
    attributes = op.attributes
    results = op.results
    return (op.name, tuple(op._operands),
            tuple(properties.items()) if properties else (),
            tuple(attributes.items()) if attributes else (),
            (results[0].type,) if len(results) == 1 else tuple([r.type for r in results]))


def _erase(op: Operation) -> None:
    """Erase an op known to be unused and without regions (cheaper than Operation.erase)."""
    op.detach()
    op.drop_operand_uses()


def _has_ssa_dominance(op: Operation) -> bool:
    return op.definition is not None and not op.has_trait(GraphRegions)


class _Driver:
    """One CSE run: the known-op table, its undo log, and the counts."""

    def __init__(self):
        self.known: dict = {}
        self.log: list = []
        self.replaced = 0
        self.erased = 0

    def region(self, region) -> None:
        blocks = region.blocks
        if not blocks:
            return
        ssa = _has_ssa_dominance(region.parent)
        log = self.log
        if len(blocks) == 1:
            mark = len(log)
            self.block(blocks[0], ssa)
            self._pop(mark)
            return
        # Several blocks: a block sees what its dominators defined (depth-first over the tree).
        idom = dominators(region)
        children: dict = {}
        for block, parent in idom.items():
            if parent is not block:
                children.setdefault(parent, []).append(block)
        stack: list = [blocks[0]]
        while stack:
            item = stack.pop()
            if isinstance(item, int):
                self._pop(item)
                continue
            stack.append(len(log))
            self.block(item, ssa)
            stack.extend(reversed(children.get(item, ())))

    def _pop(self, mark: int) -> None:
        log = self.log
        if len(log) > mark:
            pop = self.known.pop
            for key in log[mark:]:
                pop(key, None)  # erase_dead may have taken it out already
            del log[mark:]

    def erase_dead(self, op: Operation) -> None:
        """Erase a dead op, then the producers it kept alive that are already in the table
        (so one run reaches what a second would: cse is idempotent). Only table entries are
        followed: they precede the walk's position, so erasing them cannot disturb it."""
        known = self.known
        stack = [op]
        while stack:
            dead = stack.pop()
            operands = dead._operands
            _erase(dead)
            self.erased += 1
            for value in operands:
                producer = value.defining_op
                if (producer is None or producer.parent is None or producer.regions
                        or any(r.uses for r in producer.results) or not _is_candidate(type(producer))):
                    continue
                key = _key(producer)
                if known.get(key) is producer:
                    del known[key]
                    stack.append(producer)

    def block(self, block, ssa: bool) -> None:
        known = self.known
        log = self.log
        candidate = _CANDIDATE
        visited = None if ssa else set()
        op = block.first
        while op is not None:
            following = op.next
            cls = type(op)
            if op.regions:
                if _is_isolated(cls):
                    saved = self.known, self.log
                    self.known, self.log = {}, []
                    for region in op.regions:
                        self.region(region)
                    self.known, self.log = saved
                else:
                    for region in op.regions:
                        self.region(region)
                if visited is not None:
                    visited.add(op)
                op = following
                continue
            is_candidate = candidate.get(cls)
            if is_candidate is None:
                is_candidate = _is_candidate(cls)
            if not is_candidate:
                if visited is not None:
                    visited.add(op)
                op = following
                continue
            results = op.results
            if not (results[0].uses if len(results) == 1 else any(r.uses for r in results)):
                self.erase_dead(op)
                op = following
                continue
            key = _key(op)
            existing = known.get(key)
            if existing is None:
                known[key] = op
                log.append(key)
                if visited is not None:
                    visited.add(op)
            elif visited is None:
                for old, new in zip(results, existing.results):
                    old.replace_all_uses_with(new)
                _erase(op)
                self.replaced += 1
            else:
                # Graph region: a user seen already is keyed in the table; leave it alone.
                for old, new in zip(results, existing.results):
                    old.replace_uses_if(new, lambda use: use.owner not in visited)
                if not any(result.uses for result in results):
                    op.erase()
                    self.replaced += 1
                else:
                    visited.add(op)
            op = following


@register_pass
@dataclass(frozen=True)
class CSE(Pass):
    """Eliminate common subexpressions: reuse an identical pure op that dominates.

    Scoped by dominance and region nesting, never across an IsolatedFromAbove op; pure ops
    found dead on the way are erased too."""

    name: ClassVar[str] = "cse"
    statistics: ClassVar[dict] = {"num-cse'd": "Number of operations CSE'd",
                                  "num-dce'd": "Number of operations DCE'd"}

    def run(self, op: Operation, ctx: Context) -> None:
        driver = _Driver()
        # The table's keys are fresh tuples: the cyclic collector would rescan the module.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for region in op.regions:
                driver.region(region)
        finally:
            if collecting:
                gc.enable()
        self.count("num-cse'd", driver.replaced)
        self.count("num-dce'd", driver.erased)
