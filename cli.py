"""descend's command line. `descend opt` is mlir-opt's job: parse, verify, run passes, print.

Exit codes (all subcommands): 0 success, 1 diagnostics about the user's input,
2 bad command-line usage (argparse), 3 internal error (a reproducer file is written).
IR goes to stdout or `-o` (written atomically); diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
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

class UserError(Exception):
    """A problem with the command's inputs that is not located in the IR text."""

    def __init__(self, message: str, *notes: str):
        super().__init__(message)
        self.notes = notes


# ---------------------------------------------------------------- pass pipelines


def pipeline_error(exc) -> UserError:
    """A PipelineError as a user error: message, the pipeline with a caret, notes."""
    first, *rest = exc.render_lines()
    return UserError(first, *(line[2:] if line.startswith("  ") else line for line in rest))


def load_pass_plugins(args, context) -> None:
    from descend.rewrites.plugins import load_plugin
    for path in args.load_pass_plugin:
        try:
            plugin = load_plugin(path, context)
        except OSError as exc:
            raise UserError(f"cannot read pass plugin '{path}': {exc.strerror or exc}") from None
        except Exception as exc:  # the user's own Python code failed
            if args.debug:
                traceback.print_exc()
            raise UserError(f"cannot load pass plugin '{path}': {type(exc).__name__}: {exc}") from None
        if plugin.is_empty:
            raise UserError(f"pass plugin '{path}' defines no pass, dialect or rules",
                            "a pass is a Pass subclass with a `name`, or a function decorated "
                            "with @function_pass(\"name\")")


def list_passes() -> str:
    from descend.rewrites.passes import describe_pass, registered_passes
    lines = ["Passes:"]
    for cls in registered_passes().values():
        lines.extend(describe_pass(cls))
    return "\n".join(lines) + "\n"


def pass_names(text: str | None, flag: str) -> list[str]:
    """The names of `--print-ir-after=a,b`, each checked against the registry."""
    from descend.rewrites.passes import lookup_pass, unknown_pass_error
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    for name in names:
        if lookup_pass(name) is None:
            exc = unknown_pass_error(name)
            raise UserError(f"{flag}: {exc.message}", *exc.notes)
    return names


def add_pass_arguments(opt) -> None:
    """The pass-pipeline, IR-printing, timing and plugin flags of `descend opt`."""
    passes = opt.add_argument_group("passes")
    passes.add_argument("-p", "--pass-pipeline", metavar="PIPELINE",
                        help="passes to run: 'builtin.module(func.func(cse),symbol-dce)' or a "
                             "bare list 'canonicalize,cse'")
    passes.add_argument("--load-pass-plugin", action="append", default=[], metavar="FILE.py",
                        help="register the passes and dialects a Python file defines (repeatable)")
    passes.add_argument("--rules", action="append", default=[], metavar="FILE.rules",
                        help="load a rule file; `apply-rules` applies every loaded file (repeatable)")
    passes.add_argument("--list-passes", action="store_true",
                        help="list every registered pass with its options, then exit")
    passes.add_argument("--print-pipeline", "--dump-pass-pipeline", dest="print_pipeline",
                        action="store_true", help="print the parsed pipeline to stderr")
    passes.add_argument("--verify-each", action=argparse.BooleanOptionalAction, default=True,
                        help="verify the IR after every pass (default: on)")
    dump = opt.add_argument_group("IR printing around passes (to stderr)")
    for flag, help_text in (("before", "before the named passes"), ("after", "after the named passes")):
        dump.add_argument(f"--print-ir-{flag}", f"--mlir-print-ir-{flag}", dest=f"print_ir_{flag}",
                          metavar="PASS[,PASS]", help=f"print the IR {help_text}")
    for flag, help_text in (("before-all", "before every pass"), ("after-all", "after every pass"),
                            ("after-change", "after a pass only if it changed the IR (alone: "
                                             "after every pass that changed it)"),
                            ("after-failure", "after a failing pass only (suppresses the other "
                                              "after-dumps)"),
                            ("module-scope", "print the whole module, not just the op the pass "
                                             "ran on")):
        dump.add_argument(f"--print-ir-{flag}", f"--mlir-print-ir-{flag}",
                          dest="print_ir_" + flag.replace("-", "_"), action="store_true",
                          help=f"print the IR {help_text}" if flag != "module-scope" else help_text)
    dump.add_argument("--ir-dump-dir", metavar="DIR",
                      help="write the IR after every pass to DIR/NNN_pass-name.mlir")
    timing = opt.add_argument_group("timing and statistics (to stderr)")
    timing.add_argument("--timing", "--mlir-timing", dest="timing", action="store_true",
                        help="report the wall time of every pass (MLIR's execution time report)")
    timing.add_argument("--timing-display", "--mlir-timing-display", dest="timing_display",
                        choices=("list", "tree"), default="list",
                        help="list: merged by pass and sorted by time; tree: in pipeline order")
    timing.add_argument("--timing-format", "--mlir-output-format", dest="timing_format",
                        choices=("text", "json"), default="text", help="timing report format")
    timing.add_argument("--pass-statistics", "--mlir-pass-statistics", dest="pass_statistics",
                        action="store_true", help="report each pass's counters")


def build_pass_manager(args, context):
    """The PassManager of `-p` with the instruments the flags ask for; returns (pm, timing)."""
    from descend.rewrites import DumpIR, PassManager, PipelineError, PrintIR, Timing
    try:
        pm = PassManager.parse(args.pass_pipeline or "", context=context)
    except PipelineError as exc:
        raise pipeline_error(exc) from None
    pm.verify_each = args.verify_each
    printing = {"generic": args.generic, "debuginfo": args.print_debuginfo,
                "elide_constants": args.elide_constants}
    before = pass_names(args.print_ir_before, "--print-ir-before")
    after = pass_names(args.print_ir_after, "--print-ir-after")
    if (before or after or args.print_ir_before_all or args.print_ir_after_all
            or args.print_ir_after_change or args.print_ir_after_failure):
        pm.add_instrument(PrintIR(before=before, after=after, before_all=args.print_ir_before_all,
                                  after_all=args.print_ir_after_all,
                                  after_change=args.print_ir_after_change,
                                  after_failure=args.print_ir_after_failure,
                                  module_scope=args.print_ir_module_scope, **printing))
    if args.ir_dump_dir:
        pm.add_instrument(DumpIR(args.ir_dump_dir, **printing))
    timing = None
    if args.timing:
        timing = pm.add_instrument(Timing(display=args.timing_display, format=args.timing_format))
    return pm, timing


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
    load_pass_plugins(args, context)
    load_rule_files(args, context)
    return context


def load_rule_files(args, context) -> None:
    """`--rules FILE`: parse each file (after plugins, whose functions rules may name) and
    hand it to `apply-rules`. Rule-file errors are located diagnostics (DiagnosticError)."""
    from descend.rewrites import load_rules
    from descend.rewrites.transforms.apply_rules import register_rules
    for path in getattr(args, "rules", None) or []:
        try:
            register_rules(load_rules(path, context=context))
        except OSError as exc:
            raise UserError(f"cannot read rule file '{path}': {exc.strerror or exc}") from None


def phase(timing, name: str):
    """Time a phase of `descend opt` (Parser, Output) when --timing is on."""
    return timing.time(name) if timing is not None else contextlib.nullcontext()


def process_chunk(chunk: Chunk, filename: str, split: bool, context, pm, timing, args
                  ) -> tuple[str | None, list[Diagnostic]]:
    """Parse, verify, run passes and print one chunk: (output or None, diagnostics)."""
    from descend.rewrites import PassFailure
    options = {"line_offset": chunk.line_offset} if split else {}
    try:
        with phase(timing, "Parser"):
            module = descend.parse(chunk.text, filename=filename, context=context, **options)
        pm.run(module, context)
    except PassFailure as exc:
        # expected-error comments match what the pass said, without the note naming it.
        return None, exc.original if args.verify_diagnostics and exc.original else exc.diagnostics
    except DiagnosticError as exc:
        return None, exc.diagnostics
    with phase(timing, "Output"):
        text = module.print(generic=args.generic, debuginfo=args.print_debuginfo,
                                elide_constants=args.elide_constants)
    return (text if text.endswith("\n") else text + "\n"), []


def run_opt(args) -> int:
    if not (args.debug or args.debug_only or args.debug_rewrites):
        return opt(args)
    from descend.rewrites import debug
    channels = (args.debug_only.split(",") if args.debug_only
                else debug.REWRITE_CHANNELS if not args.debug
                else [*debug.REWRITE_CHANNELS, "inline"])
    with debug.debugging(channels):  # for this run only, also when main() is called in-process
        return opt(args)


def opt(args) -> int:
    filename = "<stdin>" if args.input == "-" else args.input
    try:
        context = make_context(args)
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics)
        return EXIT_DIAGNOSTICS
    if args.list_passes:
        sys.stdout.write(list_passes())
        return EXIT_OK
    pm, timing = build_pass_manager(args, context)
    if args.print_pipeline:
        print(pm, file=sys.stderr)
    from descend.frontends.onnx.commands import is_onnx_path
    if is_onnx_path(args.input):
        return opt_onnx(args, context, pm, timing)
    data = read_input(args.input)
    args.raw_input = data
    try:
        text = decode_source(data, filename)
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics)
        return EXIT_DIAGNOSTICS
    chunks = split_input_file(text) if args.split_input_file else [Chunk(text, 0)]
    outputs, failed = [], False
    for chunk in chunks:
        output, diagnostics = process_chunk(chunk, filename, args.split_input_file, context,
                                            pm, timing, args)
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
    if not (failed and args.output != "-"):  # never leave a partial file behind
        with phase(timing, "Output"):
            write_output(args.output, join_outputs(outputs) if args.split_input_file else outputs[0])
    if args.pass_statistics:
        sys.stderr.write(pm.statistics_report())
    if timing is not None:
        sys.stderr.write(timing.report())
    return EXIT_DIAGNOSTICS if failed else EXIT_OK


def opt_onnx(args, context, pm, timing) -> int:
    """`descend opt model.onnx`: import the model, then run the pipeline on its graph IR."""
    from descend.frontends.onnx.commands import load_module
    from descend.rewrites import PassFailure
    try:
        with phase(timing, "Import"):
            module = load_module(args.input, args)
        pm.run(module, context)
    except (PassFailure, DiagnosticError) as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_DIAGNOSTICS
    with phase(timing, "Output"):
        text = module.print(generic=args.generic, debuginfo=args.print_debuginfo,
                                elide_constants=args.elide_constants)
    write_output(args.output, text if text.endswith("\n") else text + "\n")
    if args.pass_statistics:
        sys.stderr.write(pm.statistics_report())
    if timing is not None:
        sys.stderr.write(timing.report())
    return EXIT_OK


def add_opt_parser(subparsers) -> None:
    opt = subparsers.add_parser(
        "opt", allow_abbrev=False,
        help="parse, verify, transform and print IR (like mlir-opt)",
        description="Parse IR text, verify it, run a pass pipeline and print the result. "
                    "With no pipeline this is a well-formedness check that prints the IR back.")
    opt.add_argument("input", nargs="?", default="-", metavar="FILE",
                     help="input IR file ('-' or nothing: stdin), or an .onnx model")
    opt.add_argument("-o", "--output", default="-", metavar="OUT",
                     help="output file, written atomically (default: stdout)")
    add_pass_arguments(opt)
    printing = opt.add_argument_group("printing")
    printing.add_argument("--generic", "--print-op-generic", "--mlir-print-op-generic",
                          dest="generic", action="store_true",
                          help="print every op in the generic form")
    printing.add_argument("--print-debuginfo", "--mlir-print-debuginfo", dest="print_debuginfo",
                          action="store_true", help="print op locations (loc(...))")
    printing.add_argument("--elide-constants-larger-than", "--mlir-elide-elementsattrs-if-larger",
                          dest="elide_constants", type=int, metavar="N",
                          help="print constants of more than N elements as dense_resource<__elided__> "
                               "(for reading; the output no longer holds their values)")
    testing = opt.add_argument_group("testing")
    testing.add_argument("--split-input-file", action="store_true",
                         help="process each '// -----' separated chunk on its own")
    testing.add_argument("--verify-diagnostics", action="store_true",
                         help="check diagnostics against 'expected-error {{...}}' comments")
    from descend.frontends.onnx.commands import add_model_arguments
    add_model_arguments(opt.add_argument_group("ONNX input"))
    dialects = opt.add_argument_group("dialects")
    dialects.add_argument("--allow-unregistered-dialect", action="store_true",
                          help="accept ops of dialects that are not registered")
    dialects.add_argument("--load-dialect", action="append", default=[], metavar="FILE.py",
                          help="register the dialects a Python file defines (repeatable)")
    opt.add_argument("--crash-reproducer", metavar="FILE",
                     help="where to write the reproducer on an internal error "
                          "(default: a new descend-reproducer-*.mlir in the temp directory)")
    opt.add_argument("--debug", action="store_true",
                     help="show tracebacks of internal errors and every debug channel's log")
    opt.add_argument("--debug-rewrites", action="store_true",
                     help="log every fold, rewrite and near miss of the rewrite drivers to stderr")
    opt.add_argument("--debug-only", metavar="CHANNEL[,CHANNEL]", default="",
                     help="log only these debug channels (greedy-rewriter, inline, ...)")
    opt.set_defaults(handler=run_opt, raw_input=None)


# ---------------------------------------------------------------- descend check-rules


def run_check_rules(args) -> int:
    """Check every rule of a `.rules` file on random instances (descend.testing.check_rule);
    stop at the first rule that changes results, printing its shrunk counterexample."""
    import random
    try:
        from descend.testing.rules import RuleCheckFailure, RuleUnchecked, check_rule
    except ImportError as exc:
        raise UserError(f"check-rules needs hypothesis ({exc.name} is missing)",
                        "install descend with its test extra: pip install 'descend[test]'") from None
    from descend.rewrites import load_rules
    from descend.rewrites.plugins import load_plugin
    context = descend.Context()
    for path in args.load_pass_plugin:  # before the rules: they may name its functions
        try:
            load_plugin(path, context)
        except OSError as exc:
            raise UserError(f"cannot read pass plugin '{path}': {exc.strerror or exc}") from None
        except Exception as exc:  # the user's own Python code failed
            if args.debug:
                traceback.print_exc()
            raise UserError(f"cannot load pass plugin '{path}': {type(exc).__name__}: {exc}") from None
    try:
        rules = load_rules(args.rules, context=context)
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics)
        return EXIT_DIAGNOSTICS
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    selected = [rule for rule in rules if not args.rule or rule.name in args.rule]
    for name in set(args.rule) - {rule.name for rule in rules}:
        raise UserError(f"no rule named '{name}' in '{args.rules}'")
    for rule in selected:
        try:
            result = check_rule(rule, examples=args.examples, seed=seed, context=context,
                                allow_unchecked=args.allow_unchecked)
        except RuleCheckFailure as exc:
            print(f"FAIL {rule.name}", flush=True)
            print(exc.report)
            print(f"(found with --seed {seed})", flush=True)  # before the diagnostic on stderr
            print_diagnostics([Diagnostic("error", rule.location, f"rule '{rule.name}' changes results: "
                                          f"{exc.report.split(chr(10), 1)[0]}", width=len(rule.name))])
            return EXIT_DIAGNOSTICS
        except RuleUnchecked as exc:
            print(f"FAIL {rule.name} (could not be checked)", flush=True)
            notes = [Diagnostic("note", None, f"rejected: {reason}") for reason in exc.reasons]
            notes.append(Diagnostic("note", None, exc.advice))
            print_diagnostics([Diagnostic("error", rule.location, f"rule '{rule.name}' {exc.summary}",
                                          notes, width=len(rule.name))])
            return EXIT_DIAGNOSTICS
        if result.checked:
            print(f"ok   {rule.name} ({result.examples} example{'s' if result.examples != 1 else ''})",
                  flush=True)
        else:
            print(f"skip {rule.name} (no instance could be made; --allow-unchecked)", flush=True)
    return EXIT_OK


def add_check_rules_parser(subparsers) -> None:
    check = subparsers.add_parser(
        "check-rules", allow_abbrev=False,
        help="check that every rule of a .rules file preserves results on random instances",
        description="For each rule, build random well-typed instances of its match pattern, "
                    "apply the rule, and compare the interpreted results before and after on "
                    "random inputs. Exits 1 at the first rule that changes results, printing "
                    "the shrunk counterexample as IR with the inputs that expose it.")
    check.add_argument("rules", metavar="FILE.rules", help="the rule file to check")
    check.add_argument("--examples", type=int, default=100, metavar="N",
                       help="instances to check per rule (default: 100)")
    check.add_argument("--seed", type=int, metavar="S",
                       help="make the search repeatable (default: a random seed, printed on failure)")
    check.add_argument("--rule", action="append", default=[], metavar="NAME",
                       help="check only this rule (repeatable)")
    check.add_argument("--load-pass-plugin", action="append", default=[], metavar="FILE.py",
                       help="import a Python file first: its constraint and builder functions, "
                            "type classes and dialects (repeatable)")
    check.add_argument("--allow-unchecked", action="store_true",
                       help="do not fail on a rule no random instance satisfies")
    check.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    check.set_defaults(handler=run_check_rules)


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
    else:
        for note in getattr(exc, "__notes__", ()):  # e.g. the pass that raised
            print(f"descend: {note}", file=sys.stderr)
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
    add_check_rules_parser(subparsers)
    from descend.frontends.onnx.commands import add_import_parser, add_ops_parser
    add_import_parser(subparsers)
    add_ops_parser(subparsers)
    from descend.lowering.commands import add_compile_parser, add_run_parser
    add_compile_parser(subparsers)
    add_run_parser(subparsers)
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
