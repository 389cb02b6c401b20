"""ir: diagnostics a user sees: `file:line:col: error: message`, the source line, a caret.

Sources are registered by filename when parsed so any later diagnostic (verifier, pass)
can show the line it points at. A `DiagnosticError` carries one or more diagnostics and
renders them exactly as the CLI prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .location import FileLineColLoc, Location, UNKNOWN

SEVERITIES = ("error", "warning", "note", "remark")

# filename -> (text, first line number of the text in the real file)
_SOURCES: dict[str, tuple[str, int]] = {}


def register_source(filename: str, text: str, line_offset: int = 0) -> None:
    """Remember `text` so diagnostics in `filename` can print their source line."""
    _SOURCES[filename] = (text, line_offset)


def source_line(filename: str, line: int) -> str | None:
    entry = _SOURCES.get(filename)
    if entry is None:
        return None
    text, offset = entry
    lines = text.split("\n")
    index = line - 1 - offset
    if 0 <= index < len(lines):
        return lines[index].rstrip("\r")
    return None


@dataclass
class Diagnostic:
    severity: str
    location: Location
    message: str
    notes: list["Diagnostic"] = field(default_factory=list)
    width: int = 1  # length of the underline

    def render(self) -> str:
        pos = self.location.file_line_col() if self.location is not None else None
        if pos is None:
            head = f"{self._loc_prefix()}{self.severity}: {self.message}"
            out = [head]
        else:
            out = [f"{pos.filename}:{pos.line}:{pos.column}: {self.severity}: {self.message}"]
            text = source_line(pos.filename, pos.line)
            if text is not None:
                expanded = text.replace("\t", " ")
                out.append(expanded)
                width = self.width
                if pos.end_column is not None and (pos.end_line in (None, pos.line)):
                    width = max(1, pos.end_column - pos.column)
                out.append(" " * max(0, pos.column - 1) + "^" + "~" * max(0, width - 1))
        for note in self.notes:
            out.append(note.render())
        return "\n".join(out)

    def _loc_prefix(self) -> str:
        if self.location is None or self.location is UNKNOWN:
            return ""
        return f"{self.location.body()}: "

    def __str__(self) -> str:
        return self.render()


class DiagnosticError(Exception):
    """Raised for any user-caused problem: bad text, invalid IR, a failing pass."""

    def __init__(self, diagnostics: Diagnostic | Iterable[Diagnostic]):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)

    def __str__(self) -> str:
        return self.render()

    @property
    def message(self) -> str:
        return self.diagnostics[0].message if self.diagnostics else ""


def error(location: Location | None, message: str, width: int = 1,
          notes: Iterable[Diagnostic] = ()) -> DiagnosticError:
    return DiagnosticError(Diagnostic("error", location or UNKNOWN, message, list(notes), width))


def note(location: Location | None, message: str) -> Diagnostic:
    return Diagnostic("note", location or UNKNOWN, message)


def at(filename: str, line: int, column: int) -> FileLineColLoc:
    return FileLineColLoc(filename, line, column)
