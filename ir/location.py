"""ir: source locations (MLIR's location attributes), attached to every op and block argument."""

from __future__ import annotations

from typing import Sequence

from .attributes import Attribute, escape_string


class Location(Attribute):
    """Base of locations; `file_line_col()` finds the first concrete position, if any."""

    _instances: dict = {}

    def file_line_col(self) -> "FileLineColLoc | None":
        return None

    def _print(self) -> str:
        return f"loc({self.body()})"

    def body(self) -> str:
        raise NotImplementedError


class UnknownLoc(Location):
    _instances: dict = {}

    def body(self) -> str:
        return "unknown"


class FileLineColLoc(Location):
    """`"file":line:col`, or a range `"file":line:col to end_line:end_col` (end_line 0 = same)."""

    _fields = ("filename", "line", "column", "end_line", "end_column")
    _instances: dict = {}
    _intern = False  # one per op: interning would only grow the cache

    def __eq__(self, other) -> bool:
        return self is other or (type(other) is FileLineColLoc and self._params == other._params)

    def __hash__(self) -> int:
        return hash(self._params)

    @classmethod
    def _normalize(cls, filename: str, line: int, column: int, end_line: int | None = None,
                   end_column: int | None = None) -> tuple:
        return (str(filename), int(line), int(column), end_line, end_column)

    def file_line_col(self) -> "FileLineColLoc":
        return self

    def body(self) -> str:
        text = f"{escape_string(self.filename)}:{self.line}:{self.column}"
        if self.end_column is not None:
            if self.end_line is not None and self.end_line != self.line:
                text += f" to {self.end_line}:{self.end_column}"
            else:
                text += f" to :{self.end_column}"
        return text


class NameLoc(Location):
    """`"name"` or `"name"(child)`."""

    _fields = ("name", "child")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, name: str, child: Location | None = None) -> tuple:
        return (str(name), child)

    def file_line_col(self):
        return self.child.file_line_col() if self.child is not None else None

    def body(self) -> str:
        child = f"({self.child.body()})" if self.child is not None else ""
        return escape_string(self.name) + child


class CallSiteLoc(Location):
    """`callsite(callee at caller)`."""

    _fields = ("callee", "caller")
    _instances: dict = {}

    def file_line_col(self):
        return self.callee.file_line_col() or self.caller.file_line_col()

    def body(self) -> str:
        return f"callsite({self.callee.body()} at {self.caller.body()})"


class FusedLoc(Location):
    """`fused[a, b]` or `fused<#metadata>[a, b]`."""

    _fields = ("locations", "metadata")
    _instances: dict = {}

    @classmethod
    def _normalize(cls, locations: Sequence[Location], metadata: Attribute | None = None) -> tuple:
        return (tuple(locations), metadata)

    def file_line_col(self):
        for loc in self.locations:
            found = loc.file_line_col()
            if found is not None:
                return found
        return None

    def body(self) -> str:
        meta = f"<{self.metadata}>" if self.metadata is not None else ""
        return f"fused{meta}[{', '.join(loc.body() for loc in self.locations)}]"


class OpaqueLoc(Location):
    """A location attribute of a dialect (`loc(#d.thing)`), kept as the attribute."""

    _fields = ("attr",)
    _instances: dict = {}

    def body(self) -> str:
        return str(self.attr)


UNKNOWN = UnknownLoc()
