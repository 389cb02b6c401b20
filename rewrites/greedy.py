"""rewrites: the greedy worklist driver: fold, erase dead ops and apply patterns until
nothing changes (MLIR's GreedyPatternRewriteDriver).

Each iteration puts every op under the root on a worklist (producers first) and processes
it: an unused pure op is erased, an op that folds is replaced by the folded values (constants
are materialised once per isolated region), otherwise the best-benefit pattern rooted at the
op's name that matches rewrites it. Changed ops, their users and the producers of erased ops
go back on the worklist. The driver stops when an iteration changes nothing (converged), or
reports why it could not: a cycle of patterns that keep undoing each other, found as soon
as an op returns to a form it had before, or a rewrite budget that ran out."""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from descend.ir import ConstantLike, InsertionPoint, IsTerminator, Operation, Pure
from descend.ir.diagnostics import Diagnostic, DiagnosticError, note

from .folding import IN_PLACE, Folder
from .pattern import PatternSet, as_pattern_set
from .rewriter import PatternRewriter, RewriteListener


class RewriteNotConverged(DiagnosticError):
    """The driver did not reach a fixed point; the message names the patterns responsible."""

    def __init__(self, diagnostic: Diagnostic, result: "GreedyResult"):
        super().__init__(diagnostic)
        self.result = result


@dataclass
class GreedyResult:
    """What a greedy run did. `converged` is False only when raise_on_failure=False."""

    op: Operation
    converged: bool = True
    iterations: int = 0
    rewrites: int = 0
    folds: int = 0
    erased: int = 0
    fired: Counter = field(default_factory=Counter)  # pattern name -> applications

    @property
    def module(self) -> Operation:
        return self.op

    @property
    def changed(self) -> bool:
        return bool(self.rewrites or self.folds or self.erased)


def _describe(op: Operation) -> str:
    loc = op.location.file_line_col() if op.location is not None else None
    where = f" at {loc.filename}:{loc.line}:{loc.column}" if loc is not None else ""
    return f"'{op.name}'{where}"


def _quote_names(names) -> str:
    names = [f"'{n}'" for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class GreedyDriver(RewriteListener):
    """One run of the greedy algorithm over the regions of `root`."""

    def __init__(self, root: Operation, patterns: PatternSet, context=None, max_iterations: int = 10,
                 max_rewrites: int | None = None, fold: bool = True, remove_dead: bool = True,
                 debug: Callable[[str], None] | None = None):
        self.root = root
        self.patterns = patterns
        self.context = context
        self.max_iterations = max_iterations
        self.max_rewrites = max_rewrites
        self.fold = fold
        self.remove_dead = remove_dead
        self.debug = debug
        self.rewriter = PatternRewriter(self, context=context, explain=debug is not None)
        self.folder = Folder(context, self.rewriter)
        self.result = GreedyResult(root)
        self._stack: list[Operation] = []
        self._members: set[Operation] = set()
        self._kinds: dict[type, tuple[bool, bool, bool]] = {}  # see _classify
        self._lineage: dict[Operation, int] | None = None  # set while looking for cycles
        self._current_pattern = ""
        self._last_fired: Counter = Counter()
        self._first_fired_op: Operation | None = None
        self._changed = False

    # ---- the worklist ----------------------------------------------------------------------

    def _push(self, op: Operation) -> None:
        if op not in self._members and op is not self.root:
            self._members.add(op)
            self._stack.append(op)

    def _populate(self) -> int:
        ops: list[Operation] = []
        _collect(self.root.regions, ops)
        ops.reverse()  # a stack: the first op in program order is processed first
        self._stack = ops
        self._members = set(ops)
        return len(ops)

    # ---- listener ------------------------------------------------------------------------------

    def notify_op_inserted(self, op: Operation) -> None:
        if self._lineage is not None and self.rewriter.current_op is not None:
            # a replacement continues the history of the op it replaces
            root = self.rewriter.current_op
            self._lineage[op] = self._lineage.get(root, id(root))
        self._push(op)
        self._changed = True

    def notify_op_replaced(self, op: Operation, values) -> None:
        for result in op.results:
            for use in result.uses:
                self._push(use.owner)
        self._changed = True

    def notify_op_erased(self, op: Operation) -> None:
        members = self._members
        members.discard(op)
        if op.regions:  # ops nested in an erased op go with it: never visit them again
            for region in op.regions:
                for nested in region.walk():
                    members.discard(nested)
        for value in op._operands:
            producer = value.defining_op
            if producer is not None and producer not in members and producer is not self.root:
                members.add(producer)  # _push, inlined: erasing is what folding does most
                self._stack.append(producer)
        if op.results and "value" in op.properties:
            self.folder.forget(op)
        self.result.erased += 1
        self._changed = True

    def notify_op_modified(self, op: Operation) -> None:
        self._push(op)
        self._changed = True

    def notify_match_failure(self, op, reason: str) -> None:
        if self.debug is not None and op is not None:
            self.debug(f"  near miss: {self._current_pattern} on {_describe(op)}: {reason or 'no match'}")

    # ---- processing ----------------------------------------------------------------------------

    def _classify(self, cls: type) -> tuple[bool, bool, bool]:
        """(erased when unused, registered, constant-like): the trait questions the loop asks
        of every op, answered once per class."""
        registered = cls.definition is not None
        kind = (registered and cls.has_trait(Pure) and not cls.has_trait(IsTerminator),
                registered, registered and cls.has_trait(ConstantLike))
        self._kinds[cls] = kind
        return kind

    def run(self, raise_on_failure: bool = True) -> GreedyResult:
        # Folding frees most ops it visits and allocates new ones: the cyclic collector would
        # rescan the whole module again and again (as in the parser and conversion driver).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run(raise_on_failure)
        finally:
            if collecting:
                gc.enable()

    def _run(self, raise_on_failure: bool) -> GreedyResult:
        result = self.result
        converged = False
        while result.iterations < self.max_iterations:
            result.iterations += 1
            count = self._populate()
            budget = self.max_rewrites if self.max_rewrites is not None else 16 * count + 10_000
            self._changed = False
            failure = self._process(budget, track_after=4 * count + 256)
            if failure is not None:
                return self._fail(failure, raise_on_failure)
            if not self._changed:
                converged = True
                break
            self._last_fired = Counter(self._iteration_fired)
        result.converged = converged
        if not converged:
            names = [name for name, _ in self._last_fired.most_common(4)]
            first = self._first_fired_op
            what = (f"patterns that kept firing in the last iteration: {_quote_names(names)}" if names
                    else "folding and dead-code removal kept changing the IR")
            diagnostic = Diagnostic(
                "error", first.location if first is not None else self.root.location,
                f"rewrites did not converge after {self.max_iterations} iterations; {what}")
            return self._fail(diagnostic, raise_on_failure)
        return result

    def _fail(self, diagnostic: Diagnostic, raise_on_failure: bool) -> GreedyResult:
        self.result.converged = False
        if raise_on_failure:
            raise RewriteNotConverged(diagnostic, self.result)
        self.result.diagnostic = diagnostic
        return self.result

    def _process(self, budget: int, track_after: int) -> Diagnostic | None:
        stack, members, rewriter, result = self._stack, self._members, self.rewriter, self.result
        for_op = self.patterns.for_op
        fold, remove_dead, debug = self.fold, self.remove_dead, self.debug
        folder = self.folder
        kinds, classify = self._kinds, self._classify
        self._iteration_fired = fired_now = Counter()
        self._first_fired_op = None
        rewrites = 0
        seen: dict | None = None  # op signature -> index in `log`, once cycles are suspected
        log: list[str] = []
        while stack:
            op = stack.pop()
            if op not in members:
                continue
            members.discard(op)
            if op.parent is None:
                continue  # detached by a pattern
            removable, registered, constant = kinds.get(type(op)) or classify(type(op))
            if remove_dead and removable:
                for r in op.results:
                    if r.uses:
                        break
                else:  # no result is used
                    if debug is not None:
                        debug(f"erase dead {_describe(op)}")
                    rewriter.erase_op(op)
                    continue
            if fold and registered:
                if constant:
                    existing = folder.unique_constant(op)
                    if existing is not None:
                        rewriter.replace_op(op, [existing])
                        result.folds += 1
                    continue
                folded = folder.try_fold(op)
                if folded is not None:
                    result.folds += 1
                    if debug is not None:
                        debug(f"fold {_describe(op)}")
                    if folded is IN_PLACE:
                        self.notify_op_modified(op)
                    else:
                        rewriter.replace_op(op, folded)
                    continue
            patterns = for_op(op)
            if not patterns:
                continue
            signature = (self._lineage.get(op, id(op)), _signature(op)) if seen is not None else None
            rewriter.insertion_point = InsertionPoint(op.parent, op)
            rewriter.location = op.location
            rewriter.current_op = op
            for pattern in patterns:
                self._current_pattern = f"'{pattern.name}'"
                if pattern.match_and_rewrite(op, rewriter):
                    rewrites += 1
                    result.rewrites += 1
                    result.fired[pattern.name] += 1
                    fired_now[pattern.name] += 1
                    if self._first_fired_op is None:
                        self._first_fired_op = op
                    self._changed = True
                    if debug is not None:
                        debug(f"apply '{pattern.name}' to {_describe(op)}")
                    if seen is not None:
                        log.append(pattern.name)
                        earlier = seen.get(signature)
                        if earlier is not None:
                            names = list(dict.fromkeys(log[earlier:]))
                            return Diagnostic(
                                "error", op.location,
                                f"patterns {_quote_names(names)} undo each other on '{op.name}': "
                                f"it returned to a form it had {len(log) - 1 - earlier} rewrites earlier"
                                if len(names) > 1 else
                                f"pattern '{names[0]}' keeps rewriting '{op.name}' into a form it "
                                f"had before", [note(None, "rewrite rules must make progress "
                                                    "toward a fixed point; drop or restrict one")])
                        seen[signature] = len(log) - 1
                    elif rewrites > track_after:
                        seen, self._lineage = {}, {}
                    if rewrites > budget:
                        top = [f"'{name}' ({n} times)" for name, n in fired_now.most_common(3)]
                        return Diagnostic(
                            "error", op.location,
                            f"rewrites did not converge: gave up after {rewrites} rewrites in one "
                            f"iteration; most applied: {', '.join(top)}")
                    break
                rewriter.insertion_point = InsertionPoint(op.parent, op) if op.parent is not None else None
            rewriter.current_op = None
        self._lineage = None
        return None


def _collect(regions, ops: list) -> None:
    """Append every op nested in `regions` to `ops`, in pre-order."""
    for region in regions:
        for block in region.blocks:
            op = block.first
            while op is not None:
                ops.append(op)
                if op.regions:
                    _collect(op.regions, ops)
                op = op.next


def _signature(op: Operation) -> tuple:
    return (op.name, tuple(op._operands), tuple(op.properties.items()), tuple(op.attributes.items()),
            tuple(r.type for r in op.results))


def apply_greedily(op: Operation, patterns=None, *, context=None, max_iterations: int = 10,
                   max_rewrites: int | None = None, fold: bool = True, remove_dead: bool = True,
                   debug: Callable[[str], None] | None = None,
                   raise_on_failure: bool = True) -> GreedyResult:
    """Rewrite the regions of `op` with `patterns` (a PatternSet, RuleSet, or list of patterns
    and rules), folding and removing dead ops, to a fixed point. Raises RewriteNotConverged
    (a DiagnosticError) when it cannot reach one, unless raise_on_failure=False."""
    if context is None:
        from .context import default_context
        context = default_context()
    driver = GreedyDriver(op, as_pattern_set(patterns), context=context, max_iterations=max_iterations,
                          max_rewrites=max_rewrites, fold=fold, remove_dead=remove_dead, debug=debug)
    return driver.run(raise_on_failure=raise_on_failure)
