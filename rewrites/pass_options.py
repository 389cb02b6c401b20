"""rewrites: pass options: typed dataclass fields read from and printed as MLIR's option text.

A pass's options are the fields of its frozen dataclass. The field `max_iterations` is the
option `max-iterations`; its annotation gives the type: int, float, bool, str, a tuple or
list of int, float or str (written as a comma list: `names=a,b,c`), or any of these
`| None` (no value until given). Option text is MLIR's: space-separated `key=value`
entries, where a value may be quoted ("..." or '...') or braced ({...}) to hold spaces,
commas or braces; a bare `key` sets a bool option to true.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any

SCALARS = (bool, int, float, str)
_TYPE_WORDS = {bool: "bool", int: "int", float: "float", str: "string"}
_SPECIAL = set(" \t\n{}\"',=")


class PipelineError(ValueError):
    """A malformed pipeline or bad pass options: a user error, not located in the IR.
    `column` (1-based) points into `text` when known."""

    def __init__(self, message: str, text: str | None = None, column: int | None = None,
                 notes: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.text = text
        self.column = column
        self.notes = tuple(notes)

    def render_lines(self) -> list[str]:
        """The message, then the pipeline text with a caret under the column, then notes."""
        lines = [self.message if self.column is None or self.text is None
                 else f"{self.message} (at column {self.column})"]
        if self.text is not None and self.column is not None:
            lines += [f"  {self.text}", "  " + " " * (self.column - 1) + "^"]
        lines += [f"  {note}" for note in self.notes]
        return lines


@dataclass(frozen=True)
class OptionInfo:
    """One declared option: its spelling, the dataclass field behind it, type and default."""

    name: str                  # kebab-case, as written in pipelines
    field: str                 # the dataclass field
    scalar: type               # bool, int, float or str
    sequence: type | None      # tuple or list for comma-list options, else None
    optional: bool             # `| None`: absent until given
    default: Any
    help: str = ""

    @property
    def type_text(self) -> str:
        word = _TYPE_WORDS[self.scalar]
        return f"list<{word}>" if self.sequence is not None else word

    def parse(self, text: str, pass_name: str) -> Any:
        """The typed value of option text (possibly quoted or braced), or PipelineError
        naming the pass. A list is a comma list, optionally braced, of possibly quoted items."""
        if self.sequence is not None:
            if text.startswith("{") and text.endswith("}"):
                text = text[1:-1]
            items = [] if text.strip() == "" else split_top_level(text, ",")
            return self.sequence(self._parse_scalar(_unquote(item), pass_name) for item in items)
        return self._parse_scalar(_unquote(text), pass_name)

    def _parse_scalar(self, text: str, pass_name: str) -> Any:
        kind = self.scalar
        try:
            if kind is bool:
                lowered = text.lower()
                if lowered in ("true", "1", "on", "yes"):
                    return True
                if lowered in ("false", "0", "off", "no"):
                    return False
                raise ValueError
            if kind is int:
                return int(text, 0) if text.lower().startswith(("0x", "-0x", "0b", "0o")) else int(text)
            if kind is float:
                return float(text)
            return text
        except ValueError:
            expected = {bool: "true or false", int: "an integer", float: "a number"}[kind]
            raise PipelineError(f"option '{self.name}' of pass '{pass_name}' expects {expected}, "
                                f"got '{text}'") from None

    def format(self, value: Any) -> str:
        """The option value as pipeline text (inverse of `parse`)."""
        if self.sequence is not None:
            return ",".join(_format_scalar(item) for item in value)
        return _format_scalar(value)


def _format_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return quote(str(value))


def quote(text: str) -> str:
    """`text` as one option value: bare when it can be, else quoted or braced."""
    if text and not (set(text) & _SPECIAL):
        return text
    for opening, closing in (('"', '"'), ("'", "'")):
        if opening not in text:
            return f"{opening}{text}{closing}"
    if _balanced(text):
        return "{" + text + "}"
    raise ValueError(f"cannot write {text!r} as an option value: it holds both quote kinds "
                     "and unbalanced braces")


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += (char == "{") - (char == "}")
        if depth < 0:
            return False
    return depth == 0


def _unquote(text: str) -> str:
    if len(text) >= 2 and (text[0], text[-1]) in (('"', '"'), ("'", "'"), ("{", "}")):
        return text[1:-1]
    return text


def split_top_level(text: str, separator: str) -> list[str]:
    """Split on `separator` outside quotes and braces (`separator` " " splits on whitespace
    and drops empty pieces)."""
    pieces, start, depth, quote_char = [], 0, 0, None
    current: list[str] = []
    for char in text:
        if quote_char is not None:
            quote_char = None if char == quote_char else quote_char
        elif char in "\"'":
            quote_char = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0 and (char == separator or (separator == " " and char.isspace())):
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    if quote_char is not None:
        raise PipelineError(f"unterminated {quote_char} quote in option text '{text}'")
    if depth != 0:
        raise PipelineError(f"unbalanced braces in option text '{text}'")
    pieces.append("".join(current))
    if separator == " ":
        return [p for p in pieces if p]
    return [p.strip() for p in pieces]


def option_infos(cls: type, pass_name: str) -> tuple[OptionInfo, ...]:
    """The options declared by a pass dataclass's fields, in declaration order."""
    hints = typing.get_type_hints(cls)
    infos = []
    for field in dataclasses.fields(cls):
        if not field.init or field.name.startswith("_"):
            continue
        scalar, sequence, optional = _classify(hints.get(field.name, field.type), field.name,
                                               pass_name)
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            raise TypeError(f"option '{field.name}' of pass '{pass_name}' needs a default value")
        infos.append(OptionInfo(field.name.replace("_", "-"), field.name, scalar, sequence,
                                optional, default, field.metadata.get("help", "")))
    return tuple(infos)


def _classify(annotation: Any, field: str, pass_name: str) -> tuple[type, type | None, bool]:
    optional = False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            optional = True
            annotation = rest[0]
            origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in SCALARS:
        return annotation, None, optional
    if origin in (tuple, list):
        element = args[0] if args else None
        if origin is tuple and len(args) == 2 and args[1] is not Ellipsis:
            element = None
        if element in (int, float, str):
            return element, origin, optional
    raise TypeError(f"option '{field}' of pass '{pass_name}' has unsupported type {annotation!r}: "
                    "use int, float, bool, str, or a tuple[...]/list[...] of int, float or str")


def option(default: Any = dataclasses.MISSING, *, help: str = "", **kwargs) -> Any:
    """A dataclass field with help text for `--list-passes`:
    `max_iterations: int = option(10, help="stop after this many sweeps")`."""
    return dataclasses.field(default=default, metadata={"help": help}, **kwargs)


def parse_option_text(text: str, infos: tuple[OptionInfo, ...], pass_name: str) -> dict[str, Any]:
    """`{k=v k2=v2}` (braces optional) -> {field: typed value}."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}") and _balanced(text[1:-1]):
        text = text[1:-1]
    by_name = {info.name: info for info in infos}
    values: dict[str, Any] = {}
    for entry in split_top_level(text, " "):
        key, has_value, raw = entry.partition("=")
        key = key.strip()
        info = by_name.get(key) or by_name.get(key.replace("_", "-"))
        if info is None:
            raise unknown_option_error(key, infos, pass_name)
        if not has_value:
            if info.scalar is not bool or info.sequence is not None:
                raise PipelineError(f"option '{key}' of pass '{pass_name}' needs a value "
                                    f"({key}=<{info.type_text}>)")
            raw = "true"
        values[info.field] = info.parse(raw.strip(), pass_name)
    return values


def unknown_option_error(key: str, infos: tuple[OptionInfo, ...], pass_name: str) -> PipelineError:
    if not infos:
        return PipelineError(f"pass '{pass_name}' takes no options, got '{key}'")
    names = [info.name for info in infos]
    notes = []
    close = difflib.get_close_matches(key, names, n=3)
    if close:
        notes.append("did you mean " + " or ".join(f"'{c}'" for c in close) + "?")
    notes.append(f"options of '{pass_name}': " + ", ".join(
        f"{info.name}=<{info.type_text}>" for info in infos))
    return PipelineError(f"pass '{pass_name}' has no option '{key}'", notes=tuple(notes))
