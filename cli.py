"""descend's command line. `descend opt` is mlir-opt's job: parse, verify, run passes, print.

Exit codes (all subcommands): 0 success, 1 diagnostics about the user's input,
2 bad command-line usage (argparse), 3 internal error (a reproducer file is written).
IR goes to stdout or `-o` (written atomically); diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import traceback
from dataclasses import dataclass

import descend
from descend.ir.diagnostics import Diagnostic, DiagnosticError, register_source
from descend.parser import decode_source
from descend.testing.diagnostics import (Chunk, DiagnosticVerifier, join_outputs,
                                         split_input_file)

EXIT_OK, EXIT_DIAGNOSTICS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

# Passes `descend opt -p` accepts until the pass manager exists: name -> (summary, function).
AVAILABLE_PASSES = {
    "verify": ("check every op against its declaration and verifier", descend.verify),
}


class UserError(Exception):
    """A problem with the command's inputs that is not located in the IR text."""

    def __init__(self, message: str, *notes: str):
        super().__init__(message)
        self.notes = notes


# ---------------------------------------------------------------- pass pipelines


@dataclass
class PipelineElement:
    name: str
    options: str | None
    nested: list["PipelineElement"] | None  # None: a pass; a list: an op anchor

    def passes(self) -> list["PipelineElement"]:
        if self.nested is None:
            return [self]
        return [p for element in self.nested for p in element.passes()]


def parse_pipeline(text: str) -> list[PipelineElement]:
    """MLIR's textual pipeline (`builtin.module(func.func(a,b),c{k=v})`) or a bare list
    (`a,b`). Returns the top-level elements; raises UserError on malformed text."""
    position = 0

    def fail(message: str):
        raise UserError(f"malformed pass pipeline '{text}': {message} at column {position + 1}")

    def skip_space():
        nonlocal position
        while position < len(text) and text[position].isspace():
            position += 1

    def element() -> PipelineElement:
        nonlocal position
        skip_space()
        start = position
        while position < len(text) and (text[position].isalnum() or text[position] in "_-."):
            position += 1
        name = text[start:position]
        if not name:
            fail("expected a pass or op name")
        options = nested = None
        skip_space()
        if position < len(text) and text[position] == "{":
            end = text.find("}", position)
            if end < 0:
                fail("expected '}'")
            options, position = text[position + 1:end], end + 1
            skip_space()
        if position < len(text) and text[position] == "(":
            position += 1
            skip_space()
            nested = [] if position < len(text) and text[position] == ")" else sequence()
            skip_space()
            if position >= len(text) or text[position] != ")":
                fail("expected ')'")
            position += 1
        return PipelineElement(name, options, nested)

    def sequence() -> list[PipelineElement]:
        nonlocal position
        elements = [element()]
        skip_space()
        while position < len(text) and text[position] == ",":
            position += 1
            elements.append(element())
            skip_space()
        return elements

    skip_space()
    if position == len(text):
        return []
    elements = sequence()
    skip_space()
    if position != len(text):
        fail(f"unexpected '{text[position]}'")
    return elements


def resolve_pipeline(text: str | None) -> list:
    """The functions to run on each module, in order."""
    functions = []
    for element in parse_pipeline(text or ""):
        for pass_ in element.passes():
            if pass_.name not in AVAILABLE_PASSES:
                raise UserError(f"unknown pass '{pass_.name}'",
                                "available passes: " + ", ".join(sorted(AVAILABLE_PASSES)))
            if pass_.options:
                raise UserError(f"pass '{pass_.name}' has no options (got '{{{pass_.options}}}')")
            functions.append(AVAILABLE_PASSES[pass_.name][1])
    return functions


# ---------------------------------------------------------------- input and output


def read_input(path: str) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise UserError(f"cannot read '{path}': {exc.strerror or exc}") from None


def write_output(path: str, text: str) -> None:
    """Write to stdout for `-`, else atomically: a temporary file beside `path`, then rename."""
    data = text.encode("utf-8")
    if path == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                                 suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write '{path}': {exc.strerror or exc}") from None
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write '{path}': {exc.strerror or exc}") from None
        raise


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        print(diagnostic.render(), file=sys.stderr)


# ---------------------------------------------------------------- descend opt


def make_context(args) -> "descend.Context":
    context = descend.Context(allow_unregistered=args.allow_unregistered_dialect)
    for path in args.load_dialect:
        try:
            context.load_dialect_file(path)
        except Exception as exc:  # the user's own Python code failed
            if args.debug:
                traceback.print_exc()
            raise UserError(f"cannot load dialect file '{path}': {type(exc).__name__}: {exc}") from None
    return context


def process_chunk(chunk: Chunk, filename: str, split: bool, context, passes, args
                  ) -> tuple[str | None, list[Diagnostic]]:
    """Parse, verify, run passes and print one chunk: (output or None, diagnostics)."""
    options = {"line_offset": chunk.line_offset} if split else {}
    try:
        module = descend.parse(chunk.text, filename=filename, context=context, **options)
        for function in passes:
            function(module)
    except DiagnosticError as exc:
        return None, exc.diagnostics
    text = module.print(generic=args.generic, debuginfo=args.print_debuginfo)
    return (text if text.endswith("\n") else text + "\n"), []


def run_opt(args) -> int:
    filename = "<stdin>" if args.input == "-" else args.input
    passes = resolve_pipeline(args.pass_pipeline)
    data = read_input(args.input)
    args.raw_input = data
    try:
        text = decode_source(data, filename)
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics)
        return EXIT_DIAGNOSTICS
    context = make_context(args)
    chunks = split_input_file(text) if args.split_input_file else [Chunk(text, 0)]
    outputs, failed = [], False
    for chunk in chunks:
        output, diagnostics = process_chunk(chunk, filename, args.split_input_file, context,
                                            passes, args)
        # Diagnostics use whole-file line numbers: render them against the whole file.
        register_source(filename, text)
        if args.verify_diagnostics:
            verifier = DiagnosticVerifier.for_text(chunk.text, filename, chunk.line_offset)
            for diagnostic in diagnostics:
                verifier.process(diagnostic)
            diagnostics = verifier.finish()
        print_diagnostics(diagnostics)
        failed = failed or bool(diagnostics)
        outputs.append(output or "")
    if failed and args.output != "-":
        return EXIT_DIAGNOSTICS  # never leave a partial file behind
    write_output(args.output, join_outputs(outputs) if args.split_input_file else outputs[0])
    return EXIT_DIAGNOSTICS if failed else EXIT_OK


def add_opt_parser(subparsers) -> None:
    opt = subparsers.add_parser(
        "opt", allow_abbrev=False,
        help="parse, verify, transform and print IR (like mlir-opt)",
        description="Parse IR text, verify it, run a pass pipeline and print the result. "
                    "With no pipeline this is a well-formedness check that prints the IR back.")
    opt.add_argument("input", nargs="?", default="-", metavar="FILE",
                     help="input IR file ('-' or nothing: stdin)")
    opt.add_argument("-o", "--output", default="-", metavar="OUT",
                     help="output file, written atomically (default: stdout)")
    opt.add_argument("-p", "--pass-pipeline", metavar="PIPELINE",
                     help="passes to run: 'builtin.module(verify)' or a bare list 'verify'")
    printing = opt.add_argument_group("printing")
    printing.add_argument("--generic", "--print-op-generic", "--mlir-print-op-generic",
                          dest="generic", action="store_true",
                          help="print every op in the generic form")
    printing.add_argument("--print-debuginfo", "--mlir-print-debuginfo", dest="print_debuginfo",
                          action="store_true", help="print op locations (loc(...))")
    testing = opt.add_argument_group("testing")
    testing.add_argument("--split-input-file", action="store_true",
                         help="process each '// -----' separated chunk on its own")
    testing.add_argument("--verify-diagnostics", action="store_true",
                         help="check diagnostics against 'expected-error {{...}}' comments")
    dialects = opt.add_argument_group("dialects")
    dialects.add_argument("--allow-unregistered-dialect", action="store_true",
                          help="accept ops of dialects that are not registered")
    dialects.add_argument("--load-dialect", action="append", default=[], metavar="FILE.py",
                          help="register the dialects a Python file defines (repeatable)")
    opt.add_argument("--crash-reproducer", metavar="FILE",
                     help="where to write the reproducer on an internal error "
                          "(default: a new descend-reproducer-*.mlir in the temp directory)")
    opt.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    opt.set_defaults(handler=run_opt, raw_input=None)


# ---------------------------------------------------------------- errors and main


def reproducer_command(argv: list[str], args, path: str) -> str:
    """The command line that reruns this invocation on the reproducer file."""
    words, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in ("-o", "--output", "--crash-reproducer"):
            skip = True
        elif word.startswith(("--output=", "--crash-reproducer=")) or (word.startswith("-o") and word != "-o"):
            pass
        elif word == getattr(args, "input", None):
            words.append(path)
        else:
            words.append(word)
    if getattr(args, "input", None) == "-" and path not in words:
        words.append(path)
    return shlex.join(["descend", *words])


def report_internal_error(exc: BaseException, argv: list[str], args) -> int:
    print(f"descend: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    debug = getattr(args, "debug", False)
    if debug:
        traceback.print_exc()
    try:
        if getattr(args, "crash_reproducer", None):
            path = args.crash_reproducer
        else:
            descriptor, path = tempfile.mkstemp(prefix="descend-reproducer-", suffix=".mlir")
            os.close(descriptor)
        command = reproducer_command(argv, args, path)
        data = getattr(args, "raw_input", None) or b""
        if data and not data.endswith(b"\n"):
            data += b"\n"
        trailer = (f"// descend internal error reproducer: {type(exc).__name__}: {exc}\n"
                   f"// original command: {shlex.join(['descend', *argv])}\n"
                   f"// reproduce with: {command}\n")
        with open(path, "wb") as stream:
            stream.write(data + trailer.encode("utf-8", errors="backslashreplace"))
        print(f"descend: a reproducer was written to {path}; rerun it with: {command}",
              file=sys.stderr)
    except OSError as write_error:
        print(f"descend: could not write a reproducer: {write_error}", file=sys.stderr)
    if not debug:
        print("descend: run with --debug to see the traceback; please report this bug",
              file=sys.stderr)
    return EXIT_INTERNAL


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="descend", allow_abbrev=False,
        description="descend: an ML compiler built the MLIR way.")
    parser.add_argument("--version", action="version", version=f"descend {descend.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_opt_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(args)
    except UserError as exc:
        print(f"descend {args.command}: error: {exc}", file=sys.stderr)
        for note in exc.notes:
            print(f"  {note}", file=sys.stderr)
        return EXIT_DIAGNOSTICS
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return report_internal_error(exc, argv, args)
