"""rewrites: the context drivers use when the caller gives none (every built-in dialect)."""

from __future__ import annotations

from descend.ir import Context

_DEFAULT: Context | None = None


def default_context() -> Context:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Context()
    return _DEFAULT
