"""testing: MLIR's `--split-input-file` and `--verify-diagnostics`, for `descend opt` and tests.

`split_input_file` cuts a file on `// -----` lines into chunks that remember where they
start, so diagnostics keep whole-file line numbers.

`DiagnosticVerifier` is MLIR's SourceMgrDiagnosticVerifierHandler: comments
`expected-error {{substring}}` (also `-warning`, `-note`, `-remark`), placed with `@+N`,
`@-N`, `@above`, `@below` or `@unknown`, and the `-re` form where `{{...}}` blocks inside the
message are regular expressions and the text around them is literal. Every emitted
diagnostic (and each of its notes) must match an expectation on its line, and every
expectation must be matched; the problems come back as error diagnostics at the emitted
diagnostic's location or at the `expected-` comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from descend.ir.diagnostics import Diagnostic
from descend.ir.location import UNKNOWN, FileLineColLoc, Location

SPLIT_MARKER = "// -----"

# MLIR's pattern, applied to each right-trimmed line.
_EXPECTED = re.compile(
    r"expected-(error|note|remark|warning)(-re)? *(@([+-][0-9]+|above|below|unknown))? *\{\{(.*)\}\}$")


@dataclass
class Chunk:
    """A piece of a split file: its text and how many lines of the file precede it."""

    text: str
    line_offset: int


def split_input_file(text: str, marker: str = SPLIT_MARKER) -> list[Chunk]:
    """Split `text` on lines that start with `marker` (after indentation)."""
    chunks: list[Chunk] = []
    current: list[str] = []
    start = 0
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line.strip().startswith(marker):
            chunks.append(Chunk("\n".join(current) + "\n", start))
            current, start = [], number + 1
        else:
            current.append(line)
    chunks.append(Chunk("\n".join(current), start))
    return chunks


def join_outputs(outputs: Iterable[str], marker: str = SPLIT_MARKER) -> str:
    """Join the printed chunks with marker lines, as mlir-opt does."""
    pieces = [o if o.endswith("\n") or not o else o + "\n" for o in outputs]
    return f"{marker}\n".join(pieces)


@dataclass
class ExpectedDiagnostic:
    severity: str
    line: int  # 0 for @unknown
    location: Location  # where the `expected-` comment is; UNKNOWN for @unknown
    substring: str
    regex: re.Pattern | None = None
    matched: bool = False

    def matches(self, message: str) -> bool:
        if self.regex is not None:
            return self.regex.search(message) is not None
        return self.substring in message


def _compile_expectation(substring: str) -> re.Pattern:
    """`-re` form: `{{...}}` blocks are regexes, text outside them is literal."""
    pattern = []
    rest = substring
    while rest:
        start = rest.find("{{")
        if start < 0:
            pattern.append(re.escape(rest))
            break
        pattern.append(re.escape(rest[:start]))
        rest = rest[start + 2:]
        end = rest.find("}}")
        if end < 0:
            raise ValueError("found start of regex with no end '}}'")
        block = rest[:end]
        try:
            re.compile(block)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        pattern.append(f"({block})")
        rest = rest[end + 2:]
    return re.compile("".join(pattern))


def parse_expectations(text: str, filename: str, line_offset: int = 0
                       ) -> tuple[list[ExpectedDiagnostic], list[Diagnostic]]:
    """Read the `expected-*` comments of `text` (a chunk starting after `line_offset`
    lines of `filename`). Returns the expectations and errors about malformed ones."""
    expectations: list[ExpectedDiagnostic] = []
    errors: list[Diagnostic] = []
    lines = text.split("\n")
    last_plain_line = 0  # index in `lines` of the last line without a designator
    waiting_for_next_line: list[ExpectedDiagnostic] = []
    for index, line in enumerate(lines):
        found = _EXPECTED.search(line.rstrip())
        if found is None:
            for expected in waiting_for_next_line:
                expected.line = line_offset + index + 1
            waiting_for_next_line.clear()
            last_plain_line = index
            continue
        severity, is_regex, placement, substring = (found.group(1), found.group(2),
                                                   found.group(4), found.group(5))
        location = FileLineColLoc(filename, line_offset + index + 1, found.start() + 1)
        expected = ExpectedDiagnostic(severity, line_offset + index + 1, location, substring)
        if is_regex:
            try:
                expected.regex = _compile_expectation(substring)
            except ValueError as exc:
                errors.append(Diagnostic("error", location, str(exc)))
                continue
        if placement is None:
            pass
        elif placement[0] in "+-":
            delta = int(placement[1:])
            expected.line += delta if placement[0] == "+" else -delta
        elif placement == "unknown":
            expected.line, expected.location = 0, UNKNOWN
        elif placement == "above":
            expected.line = line_offset + last_plain_line + 1
        else:  # below: the next line without a designator (the last line if none)
            expected.line = line_offset + len(lines)
            waiting_for_next_line.append(expected)
        expectations.append(expected)
    return expectations, errors


@dataclass
class DiagnosticVerifier:
    """Matches emitted diagnostics against the expectations of one file or chunk."""

    expectations: list[ExpectedDiagnostic]
    errors: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def for_text(cls, text: str, filename: str, line_offset: int = 0) -> "DiagnosticVerifier":
        expectations, errors = parse_expectations(text, filename, line_offset)
        return cls(expectations, errors)

    def process(self, diagnostic: Diagnostic) -> None:
        """Check one emitted diagnostic, then each of its notes."""
        self._process_one(diagnostic)
        for note in diagnostic.notes:
            self.process(note)

    def _process_one(self, diagnostic: Diagnostic) -> None:
        position = diagnostic.location.file_line_col() if diagnostic.location is not None else None
        near_miss = None
        for expected in self.expectations:
            if position is None:
                if expected.location is not UNKNOWN:
                    continue
            elif expected.location is UNKNOWN or expected.line != position.line:
                continue
            if expected.matches(diagnostic.message):
                if expected.severity == diagnostic.severity:
                    expected.matched = True
                    return
                near_miss = expected
        if near_miss is not None:
            self.errors.append(Diagnostic(
                "error", near_miss.location,
                f"'{diagnostic.severity}' diagnostic emitted when expecting a '{near_miss.severity}'"))
        else:
            self.errors.append(Diagnostic(
                "error", diagnostic.location or UNKNOWN,
                f"unexpected {diagnostic.severity}: {diagnostic.message}", width=diagnostic.width))

    def finish(self) -> list[Diagnostic]:
        """All problems: malformed expectations, unexpected diagnostics, unmatched ones."""
        errors = list(self.errors)
        for expected in self.expectations:
            if not expected.matched:
                errors.append(Diagnostic(
                    "error", expected.location,
                    f'expected {expected.severity} "{expected.substring}" was not produced',
                    width=len("expected-")))
        return errors
