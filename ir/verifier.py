"""ir: the verifier: structure (dominance, terminators, isolation, successors) plus each
registered op's declaration, traits and own verify(). Errors name the op and its location."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .diagnostics import DiagnosticError, error, note
from .opdef import verify_declaration
from .traits import GraphRegions, IsolatedFromAbove, IsTerminator, NoTerminator

if TYPE_CHECKING:
    from .block import Block, Region
    from .operation import Operation


def verify(op: "Operation") -> None:
    """Raise DiagnosticError describing the first problem found in `op`'s tree."""
    _verify_op(op, set())


def _verify_op(op: "Operation", visible: set) -> None:
    if op.definition is not None:
        try:
            verify_declaration(op)
        except DiagnosticError:
            raise
        except Exception as exc:  # a buggy verify() must still name the op
            raise op.error(f"verifier raised {type(exc).__name__}: {exc}") from exc
    if not op.regions:
        return
    registered = op.definition is not None
    isolated = registered and op.has_trait(IsolatedFromAbove)
    graph = (not registered) or op.has_trait(GraphRegions)
    needs_terminator = registered and not op.has_trait(NoTerminator)
    scope = set() if isolated else visible
    for index, region in enumerate(op.regions):
        _verify_region(op, index, region, scope, graph, needs_terminator)


def _verify_region(op, index, region: "Region", visible: set, graph: bool, needs_terminator: bool) -> None:
    blocks = region.blocks
    for block in blocks:
        if needs_terminator:
            last = block.last
            if last is None:
                raise op.error(f"empty block: expect at least a terminator (region #{index})")
            if last.definition is not None and not last.has_trait(IsTerminator):
                raise DiagnosticError([
                    error(last.location, "block with no terminator, has "
                          f"'{last.name}'").diagnostics[0]])
        for o in block.ops:
            for succ in o.successors:
                if succ.parent is not region:
                    raise o.error("reference to block defined in another region")
    if graph:
        added = []
        for block in blocks:
            for arg in block.args:
                visible.add(arg)
                added.append(arg)
            for o in block.ops:
                for r in o.results:
                    visible.add(r)
                    added.append(r)
        for block in blocks:
            for o in block.ops:
                _check_operands(o, visible)
                _verify_op(o, visible)
        visible.difference_update(added)
        return
    if not blocks:  # an empty region (e.g. a function declaration's body)
        return
    if len(blocks) == 1:
        _verify_block_scoped(blocks[0], visible)
        return
    # Several blocks: walk the dominator tree, values visible in dominated blocks only.
    idom = dominators(region)
    children: dict = {b: [] for b in blocks}
    for b in blocks:
        d = idom.get(b)
        if d is not None and d is not b:
            children[d].append(b)
    reachable = set(idom)

    def visit(block):
        added = _verify_block_scoped(block, visible, keep=True)
        for child in children[block]:
            visit(child)
        visible.difference_update(added)

    visit(blocks[0])
    for block in blocks:
        if block not in reachable:  # unreachable code: only check each op on its own
            for o in block.ops:
                _verify_op(o, set(visible))


def _verify_block_scoped(block: "Block", visible: set, keep: bool = False) -> list:
    added = list(block.args)
    visible.update(added)
    o = block.first
    while o is not None:
        for v in o._operands:
            if v not in visible:
                _check_operands(o, visible)  # raises, naming the operand
        _verify_op(o, visible)
        for r in o.results:
            visible.add(r)
            added.append(r)
        o = o.next
    if not keep:
        visible.difference_update(added)
    return added


def _check_operands(op: "Operation", visible: set) -> None:
    for i, v in enumerate(op._operands):
        if v not in visible:
            defining = v.defining_op
            notes = []
            if defining is not None:
                notes.append(note(defining.location, "operand defined here"))
            if _defined_inside_isolated_boundary(op, v):
                raise op.error(f"using value defined outside the region", notes=notes)
            raise op.error(f"operand #{i} does not dominate this use", notes=notes)


def _defined_inside_isolated_boundary(op: "Operation", value) -> bool:
    """True when `value` comes from outside an IsolatedFromAbove ancestor of `op`."""
    owner_block = value.owner_block
    ancestor = op.parent_op
    while ancestor is not None:
        if ancestor.definition is not None and ancestor.has_trait(IsolatedFromAbove):
            block = owner_block
            while block is not None:
                if block.parent_op is ancestor:
                    return False
                parent = block.parent_op
                block = parent.parent if parent is not None else None
            return True
        ancestor = ancestor.parent_op
    return False


def dominators(region: "Region") -> dict:
    """Immediate dominators of the reachable blocks (Cooper, Harvey & Kennedy)."""
    entry = region.blocks[0]
    order: list = []
    seen = set()
    stack = [(entry, iter(entry.successors))]
    seen.add(entry)
    while stack:
        block, it = stack[-1]
        for succ in it:
            if succ not in seen and succ.parent is region:
                seen.add(succ)
                stack.append((succ, iter(succ.successors)))
                break
        else:
            order.append(block)
            stack.pop()
    rpo = list(reversed(order))
    number = {b: i for i, b in enumerate(rpo)}
    preds: dict = {b: [] for b in rpo}
    for b in rpo:
        for s in b.successors:
            if s in preds:
                preds[s].append(b)
    idom = {entry: entry}
    changed = True
    while changed:
        changed = False
        for b in rpo[1:]:
            new = None
            for p in preds[b]:
                if p in idom:
                    new = p if new is None else _intersect(p, new, idom, number)
            if new is not None and idom.get(b) is not new:
                idom[b] = new
                changed = True
    return idom


def _intersect(a, b, idom, number):
    while a is not b:
        while number[a] > number[b]:
            a = idom[a]
        while number[b] > number[a]:
            b = idom[b]
    return a
