"""rewrites: what a dialect conversion must leave behind (MLIR's ConversionTarget).

Each op is legal, illegal, dynamically legal (a callback decides per op), or unknown (the
target says nothing about it). An action set on an op name beats one set on its dialect,
which beats the policy for unknown ops. The difference between illegal and unknown is what
separates the two modes: a partial conversion must convert every illegal op but may leave
unknown ones, a full conversion must leave only legal ops.

    target = ConversionTarget(legal_dialects={"arith", "func", "builtin"}, illegal_dialects={"toy"})
    target.add_dynamically_legal_op("func.func", converter.is_signature_legal)
"""

from __future__ import annotations

import enum
from typing import Callable, Iterable

from descend.ir import Dialect, Operation

LegalityCallback = Callable[[Operation], "bool | None"]


class Legality(enum.Enum):
    LEGAL = "legal"
    ILLEGAL = "illegal"
    UNKNOWN = "unknown"


LEGAL, ILLEGAL, UNKNOWN = Legality.LEGAL, Legality.ILLEGAL, Legality.UNKNOWN
_DYNAMIC = "dynamic"


def _op_name(op) -> str:
    """An op given by name or by class."""
    if isinstance(op, str):
        return op
    name = getattr(op, "name", None)
    if isinstance(op, type) and isinstance(name, str):
        return name
    raise TypeError(f"expected an op name or an op class, got {op!r}")


def _dialect_name(dialect) -> str:
    if isinstance(dialect, str):
        return dialect
    if isinstance(dialect, Dialect):
        return dialect.name
    raise TypeError(f"expected a dialect name or a Dialect, got {dialect!r}")


class ConversionTarget:
    """Legality of ops for a conversion. Build it with keyword arguments, the `add_*`
    methods, or both; `legality(op)` answers in one dict lookup for ops whose action is
    static, plus the callback for dynamic ones.

    `unknown` is the policy for ops no rule mentions: "unknown" (MLIR's default), "legal",
    "illegal", or a callback (MLIR's markUnknownOpDynamicallyLegal)."""

    def __init__(self, *, legal_ops: Iterable = (), illegal_ops: Iterable = (),
                 legal_dialects: Iterable = (), illegal_dialects: Iterable = (),
                 dynamic_ops: dict | None = None, dynamic_dialects: dict | None = None,
                 unknown: "str | LegalityCallback" = "unknown"):
        self._ops: dict[str, tuple] = {}        # op name -> (action, callback)
        self._dialects: dict[str, tuple] = {}   # dialect name -> (action, callback)
        self._recursive: dict[str, LegalityCallback | None] = {}
        self._unknown: tuple | None = None
        self._cache: dict[str, tuple] = {}
        self.add_legal_op(*legal_ops)
        self.add_illegal_op(*illegal_ops)
        self.add_legal_dialect(*legal_dialects)
        self.add_illegal_dialect(*illegal_dialects)
        for op, callback in (dynamic_ops or {}).items():
            self.add_dynamically_legal_op(op, callback)
        for dialect, callback in (dynamic_dialects or {}).items():
            self.add_dynamically_legal_dialect(dialect, callback)
        self.mark_unknown_ops(unknown)

    # ---- declaring ---------------------------------------------------------------------------

    def add_legal_op(self, *ops) -> "ConversionTarget":
        return self._set_ops(ops, (LEGAL, None))

    def add_illegal_op(self, *ops) -> "ConversionTarget":
        return self._set_ops(ops, (ILLEGAL, None))

    def add_dynamically_legal_op(self, op, callback: LegalityCallback) -> "ConversionTarget":
        """`callback(op)` says whether this instance is legal; None defers to the op's
        dialect, then to the unknown-op policy. An instance the callback rejects is illegal."""
        return self._set_ops([op], (_DYNAMIC, callback))

    def add_legal_dialect(self, *dialects) -> "ConversionTarget":
        return self._set_dialects(dialects, (LEGAL, None))

    def add_illegal_dialect(self, *dialects) -> "ConversionTarget":
        return self._set_dialects(dialects, (ILLEGAL, None))

    def add_dynamically_legal_dialect(self, dialect, callback: LegalityCallback) -> "ConversionTarget":
        return self._set_dialects([dialect], (_DYNAMIC, callback))

    def mark_unknown_ops(self, policy: "str | LegalityCallback") -> "ConversionTarget":
        if callable(policy):
            self._unknown = (_DYNAMIC, policy)
        elif policy in ("legal", "illegal", "unknown"):
            self._unknown = None if policy == "unknown" else (Legality(policy), None)
        else:
            raise ValueError(f"unknown-op policy must be 'legal', 'illegal', 'unknown' or a callback, "
                             f"got {policy!r}")
        self._cache.clear()
        return self

    def mark_op_recursively_legal(self, *ops, callback: LegalityCallback | None = None) -> "ConversionTarget":
        """Ops nested in a legal instance of these ops are legal whatever they are, and the
        driver does not visit them (MLIR's markOpRecursivelyLegal)."""
        for op in ops:
            self._recursive[_op_name(op)] = callback
        return self

    def _set_ops(self, ops, action) -> "ConversionTarget":
        for op in ops:
            self._ops[_op_name(op)] = action
        self._cache.clear()
        return self

    def _set_dialects(self, dialects, action) -> "ConversionTarget":
        for dialect in dialects:
            self._dialects[_dialect_name(dialect)] = action
        self._cache.clear()
        return self

    # ---- asking --------------------------------------------------------------------------------

    def _levels(self, name: str) -> tuple:
        """The (action, callback, where) rules that apply to ops named `name`, most specific
        first."""
        levels = self._cache.get(name)
        if levels is None:
            dialect = name.split(".", 1)[0]
            found = [(self._ops.get(name), f"op '{name}'"),
                     (self._dialects.get(dialect), f"dialect '{dialect}'"),
                     (self._unknown, "the policy for unknown ops")]
            levels = self._cache[name] = tuple((*level, where) for level, where in found
                                               if level is not None)
        return levels

    def legality(self, op: Operation) -> Legality:
        for action, callback, _ in self._levels(op.name):
            if action is not _DYNAMIC:
                return action
            answer = callback(op)
            if answer is not None:
                return LEGAL if answer else ILLEGAL
        return UNKNOWN

    def is_legal(self, op: Operation) -> bool:
        return self.legality(op) is LEGAL

    def is_illegal(self, op: Operation) -> bool:
        """Explicitly illegal (or rejected by a dynamic callback): a partial conversion must
        convert it."""
        return self.legality(op) is ILLEGAL

    def is_recursively_legal(self, op: Operation) -> bool:
        if op.name not in self._recursive or not self.is_legal(op):
            return False
        callback = self._recursive[op.name]
        return callback is None or bool(callback(op))

    def describe(self, op: Operation) -> str:
        """Which rule decided `op`'s legality, for diagnostics."""
        for action, callback, where in self._levels(op.name):
            if action is not _DYNAMIC:
                return f"{where} is marked {action.value}"
            answer = callback(op)
            if answer is not None:
                verdict = "accepts" if answer else "rejects"
                return f"{where} is dynamically legal and its callback {verdict} this op"
        return "the target does not mention it"
