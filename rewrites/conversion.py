"""rewrites: the dialect-conversion driver: legalize every op for a target, or change nothing.

    apply_full_conversion(module, target, patterns, type_converter)     # everything legal
    apply_partial_conversion(module, target, patterns)                  # illegal ops gone

The driver walks the ops pre-order (an op before the ops in its regions), once. Each op the
target does not call legal is offered the patterns rooted at its name, best benefit first.
When a pattern rewrites it, the ops that pattern created (and any op it updated in place)
are legalized in turn, recursively; if one of them cannot be, the pattern is undone and the
next one is tried. A pattern is not applied again to ops it produced itself (MLIR's rule),
unless it sets `bounded_recursion = True`; `max_depth` bounds the recursion either way.

A partial conversion fails when an op marked illegal is left; a full conversion fails when
any op is left that is not legal. Failure undoes every change (see conversion_rewriter) and
raises one ConversionError listing every such op at its location, why it is illegal, and
what each pattern tried on it said. Cost is linear in the module: every op is visited once,
and each change is logged once and undone at most once."""

from __future__ import annotations

import gc
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from descend.ir import InsertionPoint, Operation
from descend.ir.diagnostics import Diagnostic, DiagnosticError, note

from .conversion_pattern import ConversionPattern, OpAdaptor
from .conversion_rewriter import ConversionRewriter
from .conversion_target import ILLEGAL, LEGAL, ConversionTarget, Legality
from .debug import channel
from .pattern import as_pattern_set
from .rewriter import RewriteListener
from .type_converter import TypeConverter

DEFAULT_MAX_DEPTH = 32


@dataclass
class LegalizationFailure:
    """An op the conversion had to legalize and could not."""

    op: Operation
    why_illegal: str
    reasons: list[str]  # one per pattern tried, or why none was

    def diagnostic(self, partial: bool) -> Diagnostic:
        message = f"failed to legalize operation '{self.op.name}'"
        if partial:
            message += " that was explicitly marked illegal"
        notes = [note(None, f"'{self.op.name}' is not legal: {self.why_illegal}")]
        notes += [note(None, reason) for reason in self.reasons]
        return Diagnostic("error", self.op.location, message, notes)


@dataclass
class ConversionResult:
    """What a conversion did. `succeeded` is False only with raise_on_failure=False."""

    op: Operation
    succeeded: bool = True
    rewrites: int = 0
    fired: Counter = field(default_factory=Counter)       # pattern name -> applications
    unconverted: list = field(default_factory=list)       # partial: unknown ops left as they were
    unrealized_casts: int = 0                              # materializations left as casts
    failures: list = field(default_factory=list)          # LegalizationFailure, when it failed
    error: "ConversionError | None" = None

    @property
    def module(self) -> Operation:
        return self.op


class ConversionError(DiagnosticError):
    """A conversion left ops that had to be legalized; the IR is as it was before."""

    def __init__(self, diagnostics, result: ConversionResult):
        super().__init__(diagnostics)
        self.result = result
        self.failures = result.failures


def _where(op: Operation) -> str:
    pos = op.location.file_line_col() if op.location is not None else None
    return f" at {pos.filename}:{pos.line}:{pos.column}" if pos is not None else ""


class ConversionDriver(RewriteListener):
    """One run of a conversion over `root` and everything nested in it."""

    def __init__(self, root: Operation, target: ConversionTarget, patterns, *,
                 type_converter: TypeConverter | None = None, context=None, full: bool = False,
                 max_depth: int = DEFAULT_MAX_DEPTH, debug: Callable[[str], None] | None = None):
        self.root = root
        self.target = target
        self.patterns = as_pattern_set(patterns)
        self.type_converter = type_converter
        self.full = full
        self.max_depth = max_depth
        self.debug = debug
        self.rewriter = ConversionRewriter(self, context=context)
        self.result = ConversionResult(root)
        self._created: list = []
        self._modified: list = []
        self._reason: str | None = None
        self._active: list = []   # patterns being applied, outermost first
        self._fired: list = []    # names of applied patterns, truncated on rollback

    # ---- listener: what the pattern being applied did --------------------------------------

    def notify_op_inserted(self, op: Operation) -> None:
        self._created.append(op)

    def notify_op_modified(self, op: Operation) -> None:
        self._modified.append(op)

    def notify_match_failure(self, op, reason: str) -> None:
        self._reason = reason or None

    # ---- the walk --------------------------------------------------------------------------------

    def _collect(self) -> list[Operation]:
        """Pre-order list of the ops to legalize; the nested ops of a recursively legal op
        are left out."""
        ops: list[Operation] = []
        append = ops.append
        target = self.target
        check_recursive = bool(target._recursive)

        def visit(op: Operation) -> None:
            append(op)
            if not op.regions or (check_recursive and target.is_recursively_legal(op)):
                return
            for region in op.regions:
                for block in region.blocks:
                    child = block.first
                    while child is not None:
                        visit(child)
                        child = child.next

        visit(self.root)
        return ops

    def run(self, raise_on_failure: bool = True) -> ConversionResult:
        # Conversion allocates two ops per rewrite and frees them later: the cyclic
        # collector would rescan the whole module again and again (as in the parser).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run(raise_on_failure)
        finally:
            if collecting:
                gc.enable()

    def _run(self, raise_on_failure: bool) -> ConversionResult:
        rewriter, result, target = self.rewriter, self.result, self.target
        erased = rewriter.erased
        try:
            for op in self._collect():
                if op in erased:
                    continue
                legality = target.legality(op)
                if legality is LEGAL:
                    continue
                reasons = self._legalize(op, legality, 0)
                if reasons is None:
                    continue
                if self.full or legality is ILLEGAL:
                    result.failures.append(LegalizationFailure(op, target.describe(op), reasons))
                else:
                    result.unconverted.append(op)
            if not result.failures:
                result.unrealized_casts = rewriter.finalize_casts(self.type_converter)
        except BaseException:
            rewriter.rollback(0)  # a crashing pattern must not leave a half-converted module
            raise
        if result.failures:
            rewriter.rollback(0)
            return self._fail(raise_on_failure)
        result.fired = Counter(self._fired)
        result.rewrites = len(self._fired)
        return result

    def _fail(self, raise_on_failure: bool) -> ConversionResult:
        result = self.result
        result.succeeded = False
        result.unconverted = []
        diagnostics = [failure.diagnostic(not self.full) for failure in result.failures]
        if len(diagnostics) > 1:
            mode = "full" if self.full else "partial"
            diagnostics.append(Diagnostic("error", None, f"{mode} conversion failed: {len(diagnostics)} "
                                          "operations could not be legalized; the IR is unchanged"))
        error = ConversionError(diagnostics, result)
        result.error = error
        if raise_on_failure:
            raise error
        return result

    # ---- legalizing one op --------------------------------------------------------------------

    def _log(self, depth: int, text: str) -> None:
        self.debug("  " * depth + text)

    def _legalize(self, op: Operation, legality: Legality, depth: int) -> list[str] | None:
        """None when `op` (not legal) was rewritten; else one reason per pattern tried."""
        debug = self.debug
        if debug is not None:
            self._log(depth, f"legalize '{op.name}'{_where(op)} ({legality.value})")
        patterns = self.patterns.for_op_name(op.name)
        if not patterns:
            if debug is not None:
                self._log(depth + 1, "no pattern")
            return [f"no pattern is rooted at '{op.name}'"]
        if depth >= self.max_depth:
            return [f"gave up: patterns nest {depth} levels deep here (max_depth={self.max_depth})"]
        reasons = []
        for pattern in patterns:
            if pattern in self._active and not getattr(pattern, "bounded_recursion", False):
                reasons.append(f"pattern '{pattern.name}' was not applied: this op was produced by "
                               "its own rewrite (set bounded_recursion = True to allow it)")
                continue
            why_not = self._apply(pattern, op, depth)
            if why_not is None:
                return None
            reasons.append(f"pattern '{pattern.name}' failed: {why_not}")
        return reasons

    def _apply(self, pattern, op: Operation, depth: int) -> str | None:
        """Apply one pattern and legalize what it produced: None on success, else why not
        (and everything the attempt did is undone)."""
        rewriter, debug = self.rewriter, self.debug
        checkpoint, fired = rewriter.checkpoint(), len(self._fired)
        saved = self._created, self._modified, self._reason
        self._created, self._modified, self._reason = created, modified, _ = [], [], None
        self._active.append(pattern)
        why_not = None
        try:
            rewriter.insertion_point = InsertionPoint(op.parent, op)
            rewriter.location = op.location
            rewriter.current_op = op
            if isinstance(pattern, ConversionPattern):
                converter = pattern.type_converter or self.type_converter
                rewriter.type_converter = converter
                adaptor = self._adaptor(op, converter)
                if isinstance(adaptor, str):
                    why_not = adaptor
                elif pattern.match_and_rewrite(op, adaptor, rewriter) is False:
                    why_not = self._reason or "it did not match"
            else:
                rewriter.type_converter = None
                if not pattern.match_and_rewrite(op, rewriter):
                    why_not = self._reason or "it did not match"
            rewriter.current_op = None
            if why_not is None:
                self._fired.append(pattern.name)
                if debug is not None:
                    self._log(depth + 1, f"applied '{pattern.name}'")
                why_not = self._legalize_produced(op, created, modified, depth)
        finally:
            self._active.pop()
            self._created, self._modified, self._reason = saved
        if why_not is not None:
            if debug is not None:
                self._log(depth + 1, f"'{pattern.name}' failed: {why_not}")
            rewriter.rollback(checkpoint)
            del self._fired[fired:]
        return why_not

    def _adaptor(self, op: Operation, converter: TypeConverter | None) -> "OpAdaptor | str":
        operands = op._operands
        if converter is None:
            return OpAdaptor(operands, op)
        convert, remap = converter.convert_type, self.rewriter.remap
        values = []
        for i, value in enumerate(operands):
            desired = convert(value.type)
            if desired is None:
                return f"operand #{i} has type {value.type}, which the type converter cannot convert"
            values.append(value if value.type == desired else remap(value, desired))
        return OpAdaptor(values, op)

    def _legalize_produced(self, op: Operation, created: list, modified: list, depth: int) -> str | None:
        erased, target = self.rewriter.erased, self.target
        for new in created:
            if new in erased or new.parent is None:
                continue
            legality = target.legality(new)
            if legality is LEGAL:
                continue
            reasons = self._legalize(new, legality, depth + 1)
            if reasons is not None:
                return (f"it created '{new.name}', which is not legal ({target.describe(new)}) and "
                        f"could not be legalized: " + "; ".join(reasons))
        for changed in dict.fromkeys(modified):
            if changed in erased or changed.parent is None and changed is not self.root:
                continue
            legality = target.legality(changed)
            if legality is LEGAL:
                continue
            reasons = self._legalize(changed, legality, depth + 1)
            if reasons is not None:
                return (f"'{changed.name}' is still not legal after the pattern updated it "
                        f"({target.describe(changed)}): " + "; ".join(reasons))
        if op not in erased and op not in modified and target.legality(op) is not LEGAL:
            return "it reported success but neither replaced, erased nor updated the op"
        return None


def _run(op, target, patterns, type_converter, context, full, max_depth, debug, raise_on_failure):
    if context is None:
        from .context import default_context
        context = default_context()
    if debug is None:
        debug = channel("dialect-conversion")  # --debug-only=dialect-conversion
    driver = ConversionDriver(op, target, patterns, type_converter=type_converter, context=context,
                              full=full, max_depth=max_depth, debug=debug)
    return driver.run(raise_on_failure=raise_on_failure)


def apply_partial_conversion(op: Operation, target: ConversionTarget, patterns,
                             type_converter: TypeConverter | None = None, context=None, *,
                             max_depth: int = DEFAULT_MAX_DEPTH,
                             debug: Callable[[str], None] | None = None,
                             raise_on_failure: bool = True) -> ConversionResult:
    """Legalize what can be legalized in `op` (itself included); ops the target does not
    mention may stay as they are (`result.unconverted`), ops it marks illegal may not.
    `patterns`: ConversionPatterns, RewritePatterns, Rules or RuleSets, or a PatternSet;
    `type_converter` serves ConversionPatterns that have none of their own. On failure,
    raises ConversionError (or returns a failed result) with the IR unchanged."""
    return _run(op, target, patterns, type_converter, context, False, max_depth, debug, raise_on_failure)


def apply_full_conversion(op: Operation, target: ConversionTarget, patterns,
                          type_converter: TypeConverter | None = None, context=None, *,
                          max_depth: int = DEFAULT_MAX_DEPTH,
                          debug: Callable[[str], None] | None = None,
                          raise_on_failure: bool = True) -> ConversionResult:
    """Legalize every op in `op` (itself included) or change nothing: like
    apply_partial_conversion, but any op left that the target does not call legal fails it."""
    return _run(op, target, patterns, type_converter, context, True, max_depth, debug, raise_on_failure)


@dataclass
class Conversion:
    """A lowering as data: patterns, what must be legal afterwards, and the type converter.

        LOWER_TOY_TO_ARITH = Conversion("lower-toy-to-arith", [AbsDiffToArith()],
                                        legal_dialects={"arith", "func", "builtin"},
                                        illegal_dialects={"toy"})
        LOWER_TOY_TO_ARITH.apply(module)
    """

    name: str
    patterns: Sequence
    target: ConversionTarget | None = None
    type_converter: TypeConverter | None = None
    full: bool = False
    legal_dialects: Iterable = ()
    illegal_dialects: Iterable = ()
    legal_ops: Iterable = ()
    illegal_ops: Iterable = ()

    def __post_init__(self):
        if self.target is None:
            self.target = ConversionTarget()
        self.target.add_legal_dialect(*self.legal_dialects).add_illegal_dialect(*self.illegal_dialects)
        self.target.add_legal_op(*self.legal_ops).add_illegal_op(*self.illegal_ops)
        self.pattern_set = as_pattern_set(list(self.patterns))

    def apply(self, op: Operation, context=None, *, debug: Callable[[str], None] | None = None,
              raise_on_failure: bool = True) -> ConversionResult:
        return _run(op, self.target, self.pattern_set, self.type_converter, context, self.full,
                    DEFAULT_MAX_DEPTH, debug, raise_on_failure)

    def as_pass(self, summary: str = "", register: bool = True):
        """A pass class named after this conversion (`descend opt -p lower-toy-to-arith`),
        registered unless `register=False`; a failed conversion fails the pass."""
        from .passes import function_pass
        conversion = self

        def run(op, ctx):
            conversion.apply(op, ctx)
        run.__name__ = self.name.replace("-", "_")
        run.__doc__ = summary or f"Dialect conversion '{self.name}' ({'full' if self.full else 'partial'})."
        # The pass belongs to the module that asked for it, so `--load-pass-plugin` finds it there.
        run.__module__ = sys._getframe(1).f_globals.get("__name__", __name__)
        return function_pass(self.name, register=register)(run)
