"""rewrites: the pattern model every driver applies, and the index that finds patterns fast.

A pattern has a root (the op name it can match, or None for any op), a benefit (higher is
tried first) and `match_and_rewrite(op, rewriter) -> bool`. Declarative rules (rule files,
Python-declared rules) compile to patterns of this same shape, so one matcher and one set of
drivers serve all three ways of writing a rewrite."""

from __future__ import annotations

from typing import ClassVar, Iterable, Sequence

from descend.ir import Operation

from .rewriter import PatternRewriter


class RewritePattern:
    """An imperative pattern, as MLIR's RewritePattern.

    Subclasses set `root` (an op name, or None to be offered every op), optionally `benefit`
    and `name`, and implement `match_and_rewrite`. Return True after changing the IR through
    the rewriter; return False (or `rewriter.no_match("why")`) without changing anything."""

    root: ClassVar[str | None] = None
    benefit: int = 1
    name: str = ""
    # What must produce operand #0 for the pattern to have a chance: an op name, CONSTANT,
    # or None (anything). Declarative rules set it from their match tree; the index uses it
    # to skip patterns whose first operand cannot match, as MLIR's PDL matcher tree does.
    first_operand: str | None = None

    def __init__(self, name: str | None = None, benefit: int | None = None):
        if name is not None:
            self.name = name
        elif not self.name:
            self.name = _kebab(type(self).__name__)
        if benefit is not None:
            self.benefit = benefit

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} root={self.root}>"


def _kebab(class_name: str) -> str:
    out = []
    for i, ch in enumerate(class_name):
        if ch.isupper() and i and not class_name[i - 1].isupper():
            out.append("-")
        out.append(ch.lower())
    return "".join(out).removesuffix("-pattern")


CONSTANT = "<constant>"


class PatternSet:
    """Patterns indexed by root op name, each list sorted by decreasing benefit, so a driver
    looks at only the patterns that can match an op: with 1,000 patterns over 100,000 ops the
    cost per op is one dict lookup plus the patterns rooted at that op's name."""

    def __init__(self, patterns: Iterable[RewritePattern] = ()):
        self.patterns: list[RewritePattern] = []
        self._by_root: dict[str, tuple[RewritePattern, ...]] = {}
        self._any: tuple[RewritePattern, ...] = ()
        self._cache: dict[str, tuple[RewritePattern, ...]] = {}
        self._by_producer: dict[str, dict] = {}  # root -> {first-operand key: patterns}
        self._producer_cache: dict[tuple, tuple[RewritePattern, ...]] = {}
        self.extend(patterns)

    def add(self, pattern: RewritePattern) -> "PatternSet":
        if not isinstance(pattern, RewritePattern):
            to_pattern = getattr(pattern, "to_pattern", None)
            if to_pattern is None:
                raise TypeError(f"not a pattern: {pattern!r}")
            pattern = to_pattern()
        self.patterns.append(pattern)
        self._reindex()
        return self

    def extend(self, patterns: Iterable) -> "PatternSet":
        for pattern in patterns:
            if isinstance(pattern, PatternSet):
                self.patterns.extend(pattern.patterns)
                continue
            if not isinstance(pattern, RewritePattern):
                to_patterns = getattr(pattern, "to_patterns", None)
                if to_patterns is not None:  # a RuleSet
                    self.patterns.extend(to_patterns())
                    continue
                to_pattern = getattr(pattern, "to_pattern", None)
                if to_pattern is None:
                    raise TypeError(f"not a pattern: {pattern!r}")
                pattern = to_pattern()
            self.patterns.append(pattern)
        self._reindex()
        return self

    def _reindex(self) -> None:
        by_root: dict[str, list[RewritePattern]] = {}
        anywhere = []
        for pattern in self.patterns:
            if pattern.root is None:
                anywhere.append(pattern)
            else:
                by_root.setdefault(pattern.root, []).append(pattern)
        # sorted() is stable: equal benefits keep their declaration order.
        self._by_root = {k: tuple(sorted(v, key=lambda p: -p.benefit)) for k, v in by_root.items()}
        self._any = tuple(sorted(anywhere, key=lambda p: -p.benefit))
        self._cache = {}
        self._producer_cache = {}
        self._by_producer = {root: {} for root, found in self._by_root.items()
                             if any(p.first_operand is not None for p in found)}

    def for_op(self, op) -> tuple[RewritePattern, ...]:
        """The patterns that can match `op`, best benefit first: those rooted at its name
        whose first-operand requirement the producer of its operand #0 meets."""
        name = op.name
        if name not in self._by_producer:
            found = self._cache.get(name)
            return found if found is not None else self.for_op_name(name)
        operands = op._operands
        producer = operands[0].defining_op if operands else None
        key = (name, producer.name if producer is not None else None)
        found = self._producer_cache.get(key)
        if found is None:
            constant = producer is not None and _is_constant_class(type(producer))
            found = tuple(p for p in self.for_op_name(name)
                          if p.first_operand is None or p.first_operand == key[1]
                          or (constant and p.first_operand == CONSTANT))
            self._producer_cache[key] = found
        return found

    def for_op_name(self, name: str) -> tuple[RewritePattern, ...]:
        """The patterns to try on an op named `name`, best benefit first."""
        found = self._cache.get(name)
        if found is None:
            rooted = self._by_root.get(name, ())
            if not self._any:
                found = rooted
            elif not rooted:
                found = self._any
            else:
                found = tuple(sorted(rooted + self._any, key=lambda p: -p.benefit))
            self._cache[name] = found
        return found

    def names(self) -> list[str]:
        return [p.name for p in self.patterns]

    def __len__(self) -> int:
        return len(self.patterns)

    def __iter__(self):
        return iter(self.patterns)

    def __repr__(self) -> str:
        return f"<PatternSet {len(self.patterns)} patterns>"


def _is_constant_class(cls) -> bool:
    from descend.ir import ConstantLike
    return cls.definition is not None and cls.has_trait(ConstantLike)


def as_pattern_set(patterns: "PatternSet | RewritePattern | Sequence | None") -> PatternSet:
    if patterns is None:
        return PatternSet()
    if isinstance(patterns, PatternSet):
        return patterns
    if isinstance(patterns, RewritePattern) or hasattr(patterns, "to_pattern") or hasattr(patterns, "to_patterns"):
        return PatternSet([patterns])
    return PatternSet(patterns)
