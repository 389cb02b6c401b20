"""rewrites: pass instrumentation in TVM's style: hooks around every pass, and the ready-made
instruments behind `descend opt`'s IR printing, IR dumps, timing and statistics.

Output imitates MLIR's so scripts written for mlir-opt keep working: dump headers read
`// -----// IR Dump After CSE (cse) //----- //` (class name, then the pass argument; a
nested pass adds `('func.func' operation: @f)`), and the timing report is MLIR's
"Execution time report".
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager

from descend.ir import DiagnosticError, Operation, verify

from .pass_manager import OpPassManager
from .passes import Pass


class PassInstrument:
    """Hooks the pass manager calls; override the ones you need (all default to nothing).
    `run_after_pass` comes after verify-each; a pass that raised or broke the IR gets
    `run_after_pass_failed` instead."""

    def run_before_pipeline(self, manager, op: Operation) -> None:
        """A (possibly nested) pass manager starts on `op`."""

    def run_after_pipeline(self, manager, op: Operation) -> None:
        """... and has finished with `op` (also when a pass failed)."""

    def run_before_pass(self, pass_: Pass, op: Operation) -> None:
        pass

    def run_after_pass(self, pass_: Pass, op: Operation) -> None:
        pass

    def run_after_pass_failed(self, pass_: Pass, op: Operation) -> None:
        pass

    def run_before_verify(self, pass_: Pass, op: Operation) -> None:
        """verify-each is about to check `op` after `pass_`."""

    def run_after_verify(self, pass_: Pass, op: Operation) -> None:
        pass


# ---------------------------------------------------------------- printing IR


def dump_header(when: str, pass_: Pass, op: Operation, failed: bool = False) -> str:
    """`// -----// IR Dump After CSE (cse) ('func.func' operation: @f) //----- //`."""
    text = f"// -----// IR Dump {when} {type(pass_).__name__}{' Failed' if failed else ''} ({pass_.name})"
    if op.parent is not None:
        text += f" ('{op.name}' operation"
        name = op.properties.get("sym_name") or op.attributes.get("sym_name")
        if hasattr(name, "value"):
            text += f": @{name.value}"
        text += ")"
    return text + " //----- //"


def print_for_dump(op: Operation, module_scope: bool = False, **print_options) -> str:
    """The op's text (or its top-level ancestor's), generic when it no longer verifies so
    broken IR can still be shown."""
    if module_scope:
        while op.parent_op is not None:
            op = op.parent_op
    try:
        verify(op)
    except DiagnosticError:
        print_options = {**print_options, "generic": True}
    text = op.print(**print_options)
    return text if text.endswith("\n") else text + "\n"


class PrintIR(PassInstrument):
    """Print IR to `stream` (stderr) before/after the passes named in `before`/`after`, or
    all of them. `after_change` prints an after-dump only when the printed IR changed (and
    alone means every pass); `after_failure` prints after failed passes and suppresses the
    other after-dumps, as MLIR's --mlir-print-ir-after-failure does."""

    def __init__(self, before=(), after=(), before_all: bool = False, after_all: bool = False,
                 after_change: bool = False, after_failure: bool = False,
                 module_scope: bool = False, stream=None, **print_options):
        self.before = set(before)
        self.after = set(after)
        self.before_all = before_all
        self.after_all = after_all or (after_change and not self.after)
        self.after_change = after_change
        self.after_failure = after_failure
        self.module_scope = module_scope
        self.stream = stream
        self.print_options = print_options
        self._before_text: dict[tuple[int, int], str] = {}

    def _print(self, pass_: Pass, op: Operation, when: str, failed: bool = False,
               text: str | None = None) -> None:
        if text is None:
            text = print_for_dump(op, self.module_scope, **self.print_options)
        stream = self.stream or sys.stderr
        stream.write(dump_header(when, pass_, op, failed) + "\n" + text + "\n")
        stream.flush()

    def _selected_after(self, pass_: Pass) -> bool:
        return self.after_all or pass_.name in self.after

    def run_before_pass(self, pass_: Pass, op: Operation) -> None:
        if self.before_all or pass_.name in self.before:
            self._print(pass_, op, "Before")
        if self.after_change and self._selected_after(pass_):
            self._before_text[(id(pass_), id(op))] = print_for_dump(
                op, self.module_scope, **self.print_options)

    def run_after_pass(self, pass_: Pass, op: Operation) -> None:
        before = self._before_text.pop((id(pass_), id(op)), None)
        if self.after_failure or not self._selected_after(pass_):
            return
        text = print_for_dump(op, self.module_scope, **self.print_options)
        if self.after_change and before == text:
            return
        self._print(pass_, op, "After", text=text)

    def run_after_pass_failed(self, pass_: Pass, op: Operation) -> None:
        self._before_text.pop((id(pass_), id(op)), None)
        if self.after_failure or self._selected_after(pass_):
            self._print(pass_, op, "After", failed=True)


def PrintAfterAll(stream=None, **print_options) -> PrintIR:
    """TVM's ready-made name: print the IR after every pass."""
    return PrintIR(after_all=True, stream=stream, **print_options)


class DumpIR(PassInstrument):
    """TVM's DumpIR: after every pass, write the whole IR to `directory/NNN_pass-name.mlir`
    (numbered in run order; a nested pass writes one file per op it ran on). Each file
    starts with the dump header and parses back with `descend opt`."""

    def __init__(self, directory: str | os.PathLike, **print_options):
        self.directory = os.fspath(directory)
        self.print_options = print_options
        self.count = 0
        self.paths: list[str] = []

    def _write(self, pass_: Pass, op: Operation, failed: bool) -> None:
        self.count += 1
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"{self.count:03d}_{pass_.name}.mlir")
        text = dump_header("After", pass_, op, failed) + "\n"
        text += print_for_dump(op, module_scope=True, **self.print_options)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        self.paths.append(path)

    def run_after_pass(self, pass_: Pass, op: Operation) -> None:
        self._write(pass_, op, failed=False)

    def run_after_pass_failed(self, pass_: Pass, op: Operation) -> None:
        self._write(pass_, op, failed=True)


# ---------------------------------------------------------------- reports


def report_banner(title: str) -> str:
    rule = "===" + "-" * 73 + "==="
    return f"{rule}\n{' ' * ((80 - len(title)) // 2)}{title}\n{rule}\n"


def _manager_label(manager) -> str:
    return f"'{manager.anchor_text}' Pipeline"


def statistics_report(manager) -> str:
    """MLIR's "Pass statistics report": every pass in pipeline order with its counters."""
    lines = [report_banner("... Pass statistics report ...")]

    def visit(item, depth: int) -> None:
        indent = "  " * depth
        if isinstance(item, OpPassManager):
            if depth >= 0:
                lines.append(f"{indent}{_manager_label(item)}\n")
            for child in item.passes:
                visit(child, depth + 1)
            return
        lines.append(f"{indent}{type(item).__name__}\n")
        values = item.statistic_values()
        width = max((len(str(v)) for v in values.values()), default=1)
        for name, value in values.items():
            description = item.statistics.get(name, "")
            lines.append(f"{indent}  (S) {value:>{width}} {name}"
                         + (f" - {description}" if description else "") + "\n")

    visit(manager, -1)
    return "".join(lines)


class Timing(PassInstrument):
    """Wall time per pass (verify-each shown as a `(V) Verifier` child of each pass) and per
    nested pipeline, plus named phases the caller times with `timing.time("Parser")`.
    `report()` is MLIR's Execution time report: `display` "list" merges entries by name and
    sorts by time; "tree" follows the pipeline; `format` "text" or "json"."""

    def __init__(self, display: str = "list", format: str = "text"):
        if display not in ("list", "tree"):
            raise ValueError(f"timing display must be 'list' or 'tree', got '{display}'")
        if format not in ("text", "json"):
            raise ValueError(f"timing format must be 'text' or 'json', got '{format}'")
        self.display = display
        self.format = format
        self.started = time.perf_counter()
        self.seconds: dict = {}          # id(pass or manager) or ("verify", id(pass)) -> seconds
        self.order: list = []            # top-level rows: phase names and root managers
        self._open: dict = {}
        self._depth = 0

    @contextmanager
    def time(self, name: str):
        """Time a phase outside the pipeline (parsing, printing) as a top-level row."""
        if name not in self.order:
            self.order.append(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def _start(self, key) -> None:
        self._open[key] = time.perf_counter()

    def _stop(self, key) -> None:
        start = self._open.pop(key, None)
        if start is not None:
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - start

    def run_before_pipeline(self, manager, op):
        if self._depth == 0 and not any(item is manager for item in self.order):
            self.order.append(manager)  # a root: its passes become top-level rows
        self._depth += 1
        self._start(id(manager))

    def run_after_pipeline(self, manager, op):
        self._depth -= 1
        self._stop(id(manager))

    def run_before_pass(self, pass_, op):
        self._start(id(pass_))

    def run_after_pass(self, pass_, op):
        self._stop(id(pass_))

    run_after_pass_failed = run_after_pass

    def run_before_verify(self, pass_, op):
        self._start(("verify", id(pass_)))

    def run_after_verify(self, pass_, op):
        self._stop(("verify", id(pass_)))

    # ---- the report ------------------------------------------------------------------------

    def rows(self) -> list[tuple[str, float, list]]:
        """(name, seconds, children) in pipeline order, without Rest and Total."""

        def pass_row(pass_) -> tuple:
            verify_seconds = self.seconds.get(("verify", id(pass_)))
            children = [("(V) Verifier", verify_seconds, [])] if verify_seconds is not None else []
            return (type(pass_).__name__, self.seconds.get(id(pass_), 0.0), children)

        def children_of(manager) -> list:
            out = []
            for item in manager.passes:
                if isinstance(item, Pass):
                    out.append(pass_row(item))
                else:
                    out.append((_manager_label(item), self.seconds.get(id(item), 0.0), children_of(item)))
            return out

        rows = []
        for entry in self.order:
            if isinstance(entry, str):
                rows.append((entry, self.seconds.get(entry, 0.0), []))
            else:
                rows.extend(children_of(entry))
        return rows

    def report(self) -> str:
        total = time.perf_counter() - self.started
        rows = self.rows()
        if self.display == "list":
            merged: dict[str, float] = {}

            def flatten(items):
                for name, seconds, children in items:
                    merged[name] = merged.get(name, 0.0) + seconds
                    flatten(children)

            flatten(rows)
            shown = [(name, seconds, []) for name, seconds in
                     sorted(merged.items(), key=lambda item: -item[1])]
        else:
            shown = rows
        rest = max(0.0, total - sum(seconds for _, seconds, _ in rows))
        shown = [*shown, ("Rest", rest, []), ("Total", total, [])]
        if self.format == "json":
            return self._json(shown, total)
        lines = [report_banner("... Execution time report ..."),
                 f"  Total Execution Time: {total:.4f} seconds\n\n",
                 "  ----Wall Time----  ----Name----\n"]

        def emit(items, depth):
            for name, seconds, children in items:
                percent = 100.0 * seconds / total if total else 0.0
                lines.append(f"  {seconds:8.4f} ({percent:5.1f}%)  {'  ' * depth}{name}\n")
                emit(children, depth + 1)

        emit(shown, 0)
        return "".join(lines)

    def _json(self, rows, total: float) -> str:
        def entry(name, seconds, children):
            data = {"wall": {"duration": round(seconds, 6),
                             "percentage": round(100.0 * seconds / total if total else 0.0, 1)},
                    "name": name}
            if children:
                data["passes"] = [entry(*child) for child in children]
            return data

        # One top-level entry per line, as MLIR's JSON report: diffable and greppable.
        return "[\n" + ",\n".join(json.dumps(entry(*row)) for row in rows) + "\n]\n"

    def __str__(self) -> str:
        return self.report()
