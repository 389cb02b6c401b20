"""rewrites: the inliner: replace `func.call`s by the body of their `func.func` callee.

What is inlined: a call whose callee resolves (in the caller's own symbol table, so the
copied body's references mean the same thing) to a func.func with a body of one block
ending in func.return, where neither the call nor the callee carries `no_inline` (MLIR's
spelling) or `noinline`. Never inlined: recursion. The call graph's strongly connected
components are computed first, and a callee in a cycle (or calling itself) is left
alone, so inlining always terminates. Callees are processed before their callers, so a
chain a -> b -> c collapses in one run, and the copies never hold a call that could still
be inlined; no iteration bound is needed.

A callee with several blocks is left alone (inlining it needs branches into and out of
the copied blocks, and descend has no cf dialect yet); `--debug-only=inline` says so for
every call not inlined, with the reason. Inlined ops get `callsite(callee at caller)`
locations. Afterwards, as MLIR's inliner does, private functions that nothing refers to
any more are erased (including ones no call referred to before).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.ir import CallSiteLoc, Context, Operation, UnknownLoc

from ..debug import channel
from ..passes import Pass, register_pass
from .symbol_dce import SymbolResolver, is_private, is_symbol_table, op_symbol_refs


def _nearest(op: Operation, predicate) -> Operation | None:
    op = op.parent_op
    while op is not None and not predicate(op):
        op = op.parent_op
    return op


def _is_func(op: Operation) -> bool:
    return op.name == "func.func"


def _forbids_inlining(op: Operation) -> bool:
    return any(key in op.properties or key in op.attributes for key in ("no_inline", "noinline"))


def _where(op: Operation) -> str:
    position = op.location.file_line_col()
    if position is not None:
        return f" at {position.filename}:{position.line}:{position.column}"
    return "" if isinstance(op.location, UnknownLoc) else f" at {op.location.body()}"


def _symbol(op: Operation) -> str:
    name = op.properties.get("sym_name")
    return f"@{name.value}" if name is not None else f"'{op.name}'"


def strongly_connected_components(nodes: list, edges: dict) -> list[list]:
    """Tarjan's algorithm, iterative; components come out callees-first (reverse
    topological order of the condensed graph)."""
    index: dict = {}
    low: dict = {}
    on_stack: set = set()
    stack: list = []
    components: list[list] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(edges.get(successor, ()))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member is node:
                        break
                components.append(component)
    return components


class _Inliner:
    def __init__(self):
        self.resolver = SymbolResolver()
        self.inlined = 0
        self.erased = 0

    def callee_of(self, call: Operation) -> Operation | None:
        ref = call.properties.get("callee")
        if ref is None:
            return None
        path = self.resolver.resolve(_nearest(call, is_symbol_table), ref)
        return path[-1] if len(path) == 1 + len(ref.nested) else None

    def run(self, module: Operation) -> None:
        functions: list[Operation] = []
        calls: dict[Operation, list[Operation]] = {}
        for op in module.walk():
            if _is_func(op):
                functions.append(op)
                calls[op] = []
            elif op.name == "func.call":
                caller = _nearest(op, _is_func)
                if caller is not None:
                    calls[caller].append(op)
        callees = {call: self.callee_of(call) for ops in calls.values() for call in ops}
        edges = {caller: [c for c in (callees[call] for call in ops) if c is not None and _is_func(c)]
                 for caller, ops in calls.items()}
        recursive = set()
        order = strongly_connected_components(functions, edges)
        for component in order:
            if len(component) > 1 or component[0] in edges[component[0]]:
                recursive.update(component)
        log = channel("inline")
        for component in order:
            for caller in component:
                for call in calls[caller]:
                    callee = callees[call]
                    reason = self.refusal(call, caller, callee, recursive)
                    if reason is None:
                        self.inline(call, callee)
                    elif log is not None:
                        log(f"not inlining the call to {call.properties['callee']} in "
                            f"{_symbol(caller)}{_where(call)}: {reason}")
        self.erase_dead_functions(module, functions)

    def refusal(self, call, caller, callee, recursive) -> str | None:
        """Why `call` is not inlined, or None when it is."""
        if callee is None or not _is_func(callee):
            return "the callee is not a func.func found from the caller's symbol table"
        if _forbids_inlining(call):
            return "the call is marked no_inline"
        if _forbids_inlining(callee):
            return "the callee is marked no_inline"
        blocks = callee.regions[0].blocks
        if not blocks:
            return "the callee is a declaration"
        if callee in recursive:
            return "the callee is recursive (it is in a call-graph cycle)"
        if len(blocks) > 1:
            return (f"the callee has {len(blocks)} blocks; inlining it needs branches, and "
                    "there is no cf dialect yet")
        if blocks[0].last is None or blocks[0].last.name != "func.return":
            return "the callee's block does not end in func.return"
        if _nearest(callee, is_symbol_table) is not _nearest(call, is_symbol_table):
            return "the callee is in another symbol table, where its references would change meaning"
        return None

    def inline(self, call: Operation, callee: Operation) -> None:
        block = callee.regions[0].blocks[0]
        mapping: dict = dict(zip(block.args, call._operands))
        target = call.parent
        call_location = call.location
        terminator = block.last
        for op in block.ops:
            if op is terminator:
                break
            clone = op.clone(mapping)
            for nested in clone.walk():
                nested.location = CallSiteLoc(nested.location, call_location)
            target.insert_before(call, clone)
        call.replace_all_uses_with([mapping.get(value, value) for value in terminator._operands])
        call.erase()
        self.inlined += 1

    def erase_dead_functions(self, module: Operation, functions: list[Operation]) -> None:
        """Erase private functions nothing refers to, then those only they referred to."""
        uses: dict[Operation, int] = {}
        made_by: dict[Operation, list[Operation]] = {}
        for op in module.walk():
            refs = list(op_symbol_refs(op))
            if not refs:
                continue
            owner = op if _is_func(op) else _nearest(op, _is_func)
            for ref in refs:
                path = self.resolver.resolve(_nearest(op, is_symbol_table), ref)
                for target in path:
                    uses[target] = uses.get(target, 0) + 1
                    made_by.setdefault(owner, []).append(target)
        worklist = [f for f in functions if f.regions[0].blocks and is_private(f)]
        while worklist:
            function = worklist.pop()
            if function.parent is None or uses.get(function, 0) > 0 or not is_private(function):
                continue
            if not function.regions[0].blocks:
                continue
            function.erase()
            self.erased += 1
            for target in made_by.pop(function, ()):
                uses[target] -= 1
                if uses[target] == 0 and _is_func(target):
                    worklist.append(target)


@register_pass
@dataclass(frozen=True)
class Inliner(Pass):
    """Inline calls to single-block functions (never recursive ones), then erase unused
    private functions.

    Calls or callees marked `no_inline` stay; multi-block callees stay (no cf dialect yet)
    and are reported under --debug-only=inline."""

    name: ClassVar[str] = "inline"
    anchor: ClassVar[str | None] = "builtin.module"
    statistics: ClassVar[dict] = {"num-inlined-calls": "Number of calls inlined",
                                  "num-erased-functions": "Number of dead private functions erased"}

    def run(self, op: Operation, ctx: Context) -> None:
        inliner = _Inliner()
        inliner.run(op)
        self.count("num-inlined-calls", inliner.inlined)
        self.count("num-erased-functions", inliner.erased)
