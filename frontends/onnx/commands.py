"""The ONNX commands of the `descend` CLI: `import` (a model as graph IR, or with --check
the list of what cannot be imported) and `ops` (the support matrix)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

SUPPORT_MATRIX = Path(__file__).with_name("support.json")


def parse_shape(text: str) -> tuple[int, ...]:
    """`1x3x224x224` (or `1,3,224,224`; `scalar` or empty for rank 0)."""
    text = text.strip()
    if text in ("", "scalar"):
        return ()
    parts = text.replace(",", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape like 1x3x224x224") from None
    if any(d < 0 for d in shape):
        raise argparse.ArgumentTypeError(f"'{text}' has a negative size")
    return shape


def input_shape_arg(text: str) -> tuple[str, tuple[int, ...]]:
    name, sep, shape = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=SHAPE (e.g. data=1x3x224x224), got '{text}'")
    return name, parse_shape(shape)


def add_model_arguments(parser) -> None:
    """Flags every command that reads an .onnx model shares."""
    parser.add_argument("--input-shape", action="append", default=[], type=input_shape_arg,
                        metavar="NAME=SHAPE",
                        help="bind an input's shape, symbolic dimensions included (repeatable): "
                             "--input-shape data=1x3x224x224")
    parser.add_argument("--opset", type=int, metavar="N",
                        help="upgrade the model to this opset first (onnx's version converter)")


def input_shapes(args) -> dict:
    return dict(args.input_shape or [])


def is_onnx_path(path: str) -> bool:
    return path.lower().endswith(".onnx")


def load_module(path: str, args):
    """The graph module of an .onnx file (DiagnosticError on failure)."""
    from . import import_onnx
    return import_onnx(path, input_shapes=input_shapes(args), opset=getattr(args, "opset", None))


def run_import(args) -> int:
    from descend.cli import EXIT_DIAGNOSTICS, EXIT_OK, write_output
    from descend.ir import DiagnosticError
    from . import ImportFailed, check_onnx
    if args.check:
        try:
            report = check_onnx(args.model, input_shapes=input_shapes(args), opset=args.opset)
        except DiagnosticError as exc:
            print(exc.render(), file=sys.stderr)
            return EXIT_DIAGNOSTICS
        if report.problems:
            print(report.render(os.path.basename(args.model)), file=sys.stderr)
            return EXIT_DIAGNOSTICS
        print(f"{os.path.basename(args.model)}: every node can be imported", file=sys.stderr)
        return EXIT_OK
    try:
        module = load_module(args.model, args)
    except DiagnosticError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_DIAGNOSTICS
    text = module.print(generic=args.generic, debuginfo=args.print_debuginfo,
                        elide_constants=args.elide_constants_larger_than)
    write_output(args.output, text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def add_import_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "import", allow_abbrev=False,
        help="import an ONNX model as graph-dialect IR",
        description="Import an ONNX model as graph-dialect IR text. With --check, only list every "
                    "op, attribute or type that cannot be imported (with node names) and exit 1 if any.")
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("-o", "--output", default="-", help="output file (written atomically; default stdout)")
    add_model_arguments(parser)
    parser.add_argument("--check", action="store_true", help="only report what cannot be imported")
    parser.add_argument("--print-op-generic", "--generic", dest="generic", action="store_true",
                        help="print every op in the generic form")
    parser.add_argument("--print-debuginfo", action="store_true",
                        help="print locations (each op's names its ONNX node)")
    parser.add_argument("--elide-constants-larger-than", type=int, metavar="N",
                        help="print constants with more than N elements as dense_resource "
                             "placeholders (the output no longer holds the weights)")
    parser.set_defaults(handler=run_import)


def support_matrix() -> dict:
    """What bench/onnx_conformance.py measured (support.json), else the converter registry."""
    if SUPPORT_MATRIX.exists():
        return json.loads(SUPPORT_MATRIX.read_text())
    return {}


def run_ops(args) -> int:
    from descend.cli import EXIT_OK
    from . import CONVERTERS
    measured = support_matrix().get("backends", {})
    columns = [b for b in ("interpreter", "default") if b in measured]
    labels = {"interpreter": "interpreter", "default": "compiled"}
    names = sorted({op for (domain, op) in CONVERTERS if domain == ""} |
                   {op for b in columns for op in measured[b]["ops"]})
    if args.json:
        json.dump({"ops": {n: {"converter": ("", n) in CONVERTERS,
                               **{labels[b]: measured[b]["ops"].get(n, {}) for b in columns}} for n in names},
                   "totals": {labels[b]: measured[b]["totals"] for b in columns}}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return EXIT_OK
    header = f"{'op':<34} {'converter':>9}" + "".join(f" {labels[b] + ' passed':>18}" for b in columns)
    print(header)
    for name in names:
        supported = ("", name) in CONVERTERS
        if args.supported and not supported:
            continue
        cells = ""
        for b in columns:
            counts = measured[b]["ops"].get(name, {})
            total = sum(counts.get(k, 0) for k in ("passed", "failed", "unsupported"))
            cells += f" {(str(counts.get('passed', 0)) + '/' + str(total)) if total else '-':>18}"
        print(f"{name:<34} {'yes' if supported else 'no':>9}{cells}")
    for b in columns:
        t = measured[b]["totals"]
        print(f"{labels[b]}: {t['passed']}/{t['total']} ONNX node tests pass "
              f"({100 * t['passed'] / max(t['total'], 1):.1f}%)")
    if columns:
        print("measured by bench/onnx_conformance.py --write (docs/onnx-support.md)")
    return EXIT_OK


def add_ops_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "ops", allow_abbrev=False, help="the ONNX support matrix",
        description="List the ONNX op types descend imports, with the node tests each passes "
                    "(as measured by bench/onnx_conformance.py).")
    parser.add_argument("--supported", action="store_true", help="only ops with a converter")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run_ops)
