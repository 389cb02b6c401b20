"""rewrites: where canonicalize finds its patterns.

MLIR asks each registered op for its canonicalization patterns. Here an op class may carry
`canonicalization_patterns` (an iterable, or a classmethod returning one, of patterns or
rules: dialects sit below rewrites/ and can hold imperative patterns without importing
it), and anyone may register patterns for a dialect or an op name with
`register_canonicalization("arith", ARITH_RULES)` (the built-in rule files register here,
and so can a plugin for its own dialect). The set for a context is cached per context
generation, since registering a dialect changes it."""

from __future__ import annotations

from typing import Iterable

from descend.ir import Context

from .pattern import PatternSet

_REGISTERED: dict[str, list] = {}  # dialect or op name -> patterns and rule sets
_CACHE: dict[tuple, PatternSet] = {}
_builtins_loaded = False


def register_canonicalization(name: str, patterns: Iterable) -> None:
    """Add canonicalization patterns (RewritePatterns, Rules or RuleSets) for every op of
    dialect `name`, or for the op `name` (`"arith.addi"`)."""
    if isinstance(patterns, (str, bytes)):
        raise TypeError("register_canonicalization takes patterns, not text")
    if hasattr(patterns, "to_patterns") or hasattr(patterns, "to_pattern") or hasattr(patterns, "match_and_rewrite"):
        patterns = [patterns]
    _REGISTERED.setdefault(name, []).extend(patterns)
    _CACHE.clear()


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    try:
        from . import rules  # noqa: F401  (the shipped rule files register themselves)
    except ImportError:
        pass


def _op_patterns(op_class) -> list:
    found = op_class.__dict__.get("canonicalization_patterns")
    if found is None:
        return []
    if callable(found) and not isinstance(found, (list, tuple)):
        found = found()
    elif hasattr(found, "__get__") and not isinstance(found, (list, tuple)):
        found = found.__get__(None, op_class)()
    return list(found)


def canonicalization_patterns(context: Context, disabled: Iterable[str] = (),
                              enabled: Iterable[str] = ()) -> PatternSet:
    """Every canonicalization pattern of the ops and dialects registered in `context`,
    minus `disabled` names, or only `enabled` names when given."""
    _load_builtins()
    disabled, enabled = tuple(sorted(disabled)), tuple(sorted(enabled))
    key = (id(context), context.generation, len(_REGISTERED), sum(map(len, _REGISTERED.values())),
           disabled, enabled)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    collected = []
    for dialect_name, dialect in context.dialects.items():
        collected.extend(_REGISTERED.get(dialect_name, ()))
        for op_name, op_class in dialect.ops.items():
            collected.extend(_REGISTERED.get(op_name, ()))
            collected.extend(_op_patterns(op_class))
    patterns = PatternSet(collected)
    if disabled or enabled:
        keep = [p for p in patterns if p.name not in disabled and (not enabled or p.name in enabled)]
        patterns = PatternSet(keep)
    _CACHE[key] = patterns
    return patterns
