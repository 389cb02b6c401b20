"""te: the `#te.schedule<"...">` attribute, a kernel's schedule stored as JSON text.

The dialect only keeps the text (a JSON list of primitive records) and checks that it is
such a list; `descend.lowering.schedule.Schedule` gives the records their meaning and
validates them against the computes they name (the dialect knows nothing of lowering)."""

from __future__ import annotations

import json
import re

from ...ir import ParametrizedAttr
from ...ir.attributes import escape_string

_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{2})|(.))")


def unescape_string(body: str) -> str:
    """The value of an MLIR string literal written with its quotes (\\\\ \\" \\n \\t \\XX)."""
    if len(body) < 2 or body[0] != '"' or body[-1] != '"':
        raise ValueError(f"expected a string literal, found {body!r}")
    out = bytearray()
    pos, text = 0, body[1:-1]
    for m in _ESCAPE.finditer(text):
        out += text[pos:m.start()].encode("utf-8", "surrogateescape")
        hex_, ch = m.groups()
        if hex_:
            out.append(int(hex_, 16))
        elif ch in '"\\':
            out += ch.encode()
        elif ch in "nt":
            out += b"\n" if ch == "n" else b"\t"
        else:
            raise ValueError(f"unknown escape in string literal: '\\{ch}'")
        pos = m.end()
    out += text[pos:].encode("utf-8", "surrogateescape")
    return out.decode("utf-8", "surrogateescape")


def canonical_schedule_json(text: str) -> str:
    """The canonical JSON of a schedule: a list of objects each with a string "op"."""
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"#te.schedule: invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("#te.schedule: expected a JSON list of primitive records (objects)")
    for n, record in enumerate(records):
        if not isinstance(record.get("op"), str):
            raise ValueError(f"#te.schedule: record #{n} has no \"op\" naming its primitive")
    return json.dumps(records, separators=(", ", ": "))


class ScheduleAttr(ParametrizedAttr):
    """A schedule as data: `#te.schedule<"[{\\"op\\": \\"split\\", ...}]">`. Reading also
    accepts the JSON unquoted (`#te.schedule<[{"op": "split", ...}]>`), handy in tests."""

    name = "te.schedule"
    _fields = ("json",)
    _instances: dict = {}

    @classmethod
    def _normalize(cls, json_text: str = "[]") -> tuple:
        return (canonical_schedule_json(json_text),)

    @property
    def records(self) -> list[dict]:
        return json.loads(self.json)

    def _print(self) -> str:
        return f"#{self.name}<{escape_string(self.json)}>"

    @classmethod
    def parse_body(cls, body: str | None) -> "ScheduleAttr":
        body = (body or "").strip()
        if not body:
            return cls("[]")
        return cls(unescape_string(body) if body.startswith('"') else body)

    @classmethod
    def from_parameters(cls, params: list) -> "ScheduleAttr":
        if len(params) != 1:
            raise ValueError(f"#te.schedule expects one JSON string, got {len(params)} parameters")
        return cls(str(params[0]))
