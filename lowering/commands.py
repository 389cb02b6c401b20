"""The compiling commands of the `descend` CLI: `compile` (a model or IR to a shared library,
object, assembly, LLVM IR, or IR at any stage) and `run` (execute a model, IR file or
compiled library on given or random inputs, check it against onnxruntime, time it)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

EMITS = ("graph", "te", "loop", "llvm", "llvm-ir", "asm", "obj", "so")
_BY_SUFFIX = {".so": "so", ".o": "obj", ".s": "asm", ".ll": "llvm-ir", ".mlir": "llvm"}


def add_compile_arguments(parser) -> None:
    from descend.frontends.onnx.commands import add_model_arguments
    parser.add_argument("--target", default="host",
                        help="'host' (default) or 'llvm -mtriple=... -mcpu=... -mattr=...'")
    parser.add_argument("-O", dest="opt_level", type=int, choices=range(4), default=3, metavar="N",
                        help="optimisation level 0-3 (default 3); --print-pipeline shows its passes")
    parser.add_argument("--disable-pass", dest="disabled_passes", action="append", default=[], metavar="NAME",
                        help="leave an optimisation out of the pipeline (repeatable): "
                             "--disable-pass nchwc-layout keeps convolutions NCHW")
    add_model_arguments(parser)


def _emit_of(args) -> str:
    if args.emit:
        return args.emit
    suffix = Path(args.output).suffix if args.output != "-" else ""
    return _BY_SUFFIX.get(suffix, "so")


def run_compile(args) -> int:
    from descend.cli import EXIT_DIAGNOSTICS, EXIT_OK, UserError, write_output
    from descend.ir import DiagnosticError
    from . import driver
    from .codegen import Target
    emit = _emit_of(args)
    try:
        target = Target.parse(args.target)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.print_target:
        print(target.describe(), file=sys.stderr)
    stage = emit if emit in driver.STAGES else "llvm"
    try:
        passes = driver.pipeline(args.opt_level, stage, target.vector_bytes, args.disabled_passes)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.print_pipeline:
        print(passes, file=sys.stderr)
    if emit == "so" and args.output == "-":
        raise UserError("--emit so needs an output file (-o model.so)")
    instruments = []
    if args.print_ir_after_all:
        from descend.rewrites import PrintIR
        instruments.append(PrintIR(after_all=True, module_scope=True,
                                   elide_constants=args.elide_constants))
    start = time.perf_counter()
    try:
        module = driver.lower(args.input, args.opt_level, "loop" if stage == "llvm" else stage,
                              input_shapes=dict(args.input_shape or []), opset=args.opset,
                              instruments=instruments, target=target, disabled_passes=args.disabled_passes)
        if emit in ("graph", "te", "loop"):
            text = module.print(elide_constants=args.elide_constants)
            write_output(args.output, text if text.endswith("\n") else text + "\n")
            return EXIT_OK
        from .native import lower_to_llvm
        lowered, _, _ = lower_to_llvm(module, instruments, flatten=args.opt_level >= 1
                                      and "loop-flatten-buffers" not in args.disabled_passes)
    except DiagnosticError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_DIAGNOSTICS
    from . import codegen
    if emit == "llvm":
        text = lowered.print(elide_constants=args.elide_constants)
        write_output(args.output, text if text.endswith("\n") else text + "\n")
    elif emit == "llvm-ir":
        write_output(args.output, codegen.emit_llvm_ir(lowered, target, args.opt_level))
    elif emit == "asm":
        write_output(args.output, codegen.emit_assembly(lowered, target, args.opt_level))
    elif emit == "obj":
        _write_bytes(args.output, codegen.emit_object(lowered, target, args.opt_level))
    else:
        if not target.is_host:
            raise UserError(f"--emit so links for the host only; for {target.triple} use --emit obj "
                            "and link it with your cross toolchain")
        _export_atomically(lowered, args.output, target, args.opt_level)
    print(f"descend compile: {emit} for {target.triple} ({target.cpu or 'generic'}) at -O{args.opt_level} "
          f"in {time.perf_counter() - start:.2f} s", file=sys.stderr)
    return EXIT_OK


def _export_atomically(module, path: str, target, opt_level: int) -> None:
    """Link the shared library beside `path`, then rename it into place."""
    import tempfile
    from . import codegen
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".so")
    os.close(descriptor)
    try:
        codegen.export_library(module, temporary, target, opt_level)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _write_bytes(path: str, data: bytes) -> None:
    import tempfile
    from descend.cli import UserError
    if path == "-":
        sys.stdout.buffer.write(data)
        return
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise UserError(f"cannot write '{path}': {exc.strerror or exc}") from None


def add_compile_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compile", allow_abbrev=False, help="compile a model or IR to native code (or IR at any stage)",
        description="Compile an ONNX model or IR file through graph -> te -> loop -> llvm to a shared "
                    "library (default), an object file, assembly, LLVM IR, or stop at a stage's IR.")
    parser.add_argument("input", help="model.onnx or an IR file (.mlir) at the graph level")
    parser.add_argument("-o", "--output", default="-", help="output file (written atomically)")
    parser.add_argument("--emit", choices=EMITS,
                        help="what to write (default: from -o's suffix: .so, .o, .s, .ll, .mlir; else so)")
    add_compile_arguments(parser)
    parser.add_argument("--print-pipeline", action="store_true", help="print the pass pipeline to stderr")
    parser.add_argument("--print-target", action="store_true", help="print the target triple, CPU and features")
    parser.add_argument("--print-ir-after-all", "--mlir-print-ir-after-all", action="store_true",
                        help="print the module after every pass of the descent (stderr)")
    parser.add_argument("--elide-constants-larger-than", dest="elide_constants", type=int, metavar="N",
                        help="print constants of more than N elements elided")
    parser.set_defaults(handler=run_compile)


# ---- descend run -------------------------------------------------------------------------------

def parse_input_arg(text: str):
    """`name=@x.npy`, `name=1x3xf32=@x.bin` (IREE's raw form), or `@x.npy` for the next input."""
    name, sep, rest = text.partition("=")
    if not sep:
        name, rest = "", text
    if not rest.startswith("@") and "=@" in rest:
        spec, _, path = rest.partition("=@")
        return name, ("raw", spec, path)
    if not rest.startswith("@"):
        raise argparse.ArgumentTypeError(f"expected NAME=@FILE.npy or NAME=SHAPExTYPE=@FILE.bin, got '{text}'")
    return name, ("npy", None, rest[1:])


_RAW_TYPES = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i8": np.int8, "i16": np.int16,
              "i32": np.int32, "i64": np.int64, "ui8": np.uint8, "i1": np.bool_}


def load_input(kind_spec_path) -> np.ndarray:
    from descend.cli import UserError
    kind, spec, path = kind_spec_path
    try:
        if kind == "npy":
            return np.load(path, allow_pickle=False)
        *dims, element = spec.split("x")
        dtype = _RAW_TYPES.get(element)
        if dtype is None:
            raise UserError(f"unknown element type '{element}' in '{spec}' (use one of {', '.join(_RAW_TYPES)})")
        return np.fromfile(path, dtype).reshape([int(d) for d in dims])
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read input '{path}': {exc}") from None


def run_run(args) -> int:
    from descend.cli import EXIT_DIAGNOSTICS, EXIT_OK, UserError
    from descend.ir import DiagnosticError
    from . import driver
    path = args.model
    is_onnx = path.lower().endswith(".onnx")
    try:
        runner, specs, label = _runner(args, path)
    except DiagnosticError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_DIAGNOSTICS
    except OSError as exc:  # not a loadable library (descend.runtime.load)
        raise UserError(f"cannot load '{path}': {exc}") from None
    inputs = _inputs(args, specs)
    try:
        outputs = runner(inputs)
    except (ValueError, TypeError) as exc:  # the input checks: name, expected and given shape/dtype
        raise UserError(str(exc)) from None
    names = [s.name for s in specs[1]]
    for name, value in zip(names, outputs):
        value = np.asarray(value)
        flat = value.reshape(-1)
        preview = np.array2string(flat[:6], precision=5, separator=", ")
        print(f"{name}: {value.dtype}{list(value.shape)} {preview}{' ...' if flat.size > 6 else ''}")
        if args.output_dir:
            os.makedirs(args.output_dir, exist_ok=True)
            np.save(os.path.join(args.output_dir, f"{_safe(name)}.npy"), value)
    failed = False
    session = None
    if args.check:
        if not is_onnx:
            raise UserError("--check compares with onnxruntime and needs the .onnx model as input")
        session = _onnxruntime_session(path, args.threads or os.cpu_count() or 1)
        expected = session.run(None, {s.name: x for s, x in zip(specs[0], inputs)})
        failed = not _compare(names, outputs, expected, args.rtol, args.atol)
    if args.repeat:
        stats = _time(runner, inputs, args)
        print(f"descend ({label}): median {stats['median']:.3f} ms, mean {stats['mean']:.3f} ms, "
              f"std {stats['std']:.3f} ms over {args.repeat} x {args.number} runs", file=sys.stderr)
        if session is not None:
            feed = {s.name: x for s, x in zip(specs[0], inputs)}
            ort = _time(lambda xs: session.run(None, feed), inputs, args)
            print(f"onnxruntime: median {ort['median']:.3f} ms, mean {ort['mean']:.3f} ms, std {ort['std']:.3f} ms "
                  f"-> descend / onnxruntime = {stats['median'] / ort['median']:.2f}x", file=sys.stderr)
    return EXIT_DIAGNOSTICS if failed else EXIT_OK


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def _runner(args, path):
    """(callable inputs -> outputs, (input specs, output specs), label)."""
    from descend.cli import UserError
    from . import driver
    if path.lower().endswith(".so"):
        from descend.runtime import load
        library = load(path)
        if args.threads:
            library.set_num_threads(args.threads)
        return library.run, (library.get_inputs(), library.get_outputs()), "shared library"
    shapes = dict(args.input_shape or [])
    if args.interpret:
        from descend.ir.interpreter import interpret
        module = driver.load_module(path, shapes, args.opset)
        specs = _module_specs(module)
        return (lambda xs: interpret(module, "main", xs)), specs, "interpreter"
    try:
        driver.pipeline(args.opt_level, "llvm", None, args.disabled_passes)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    compiled = driver.compile(path, opt_level=args.opt_level, input_shapes=shapes, opset=args.opset,
                              threads=args.threads, target=args.target, disabled_passes=args.disabled_passes)
    print(f"descend run: compiled in {compiled.compile_seconds:.2f} s", file=sys.stderr)
    return compiled.run, (compiled.get_inputs(), compiled.get_outputs()), f"-O{args.opt_level}"


def _module_specs(module):
    from descend.ir import SymbolTable, numpy_dtype
    func = SymbolTable(module).lookup("main")
    names = [a.value for a in func.attributes["onnx.inputs"].elements] if "onnx.inputs" in func.attributes else \
        [f"arg{i}" for i in range(len(func.type.inputs))]
    outs = [a.value for a in func.attributes["onnx.outputs"].elements] if "onnx.outputs" in func.attributes else \
        [f"result{i}" for i in range(len(func.type.results))]
    spec = driver_spec()
    return ([spec(n, t.shape, numpy_dtype(t.element_type)) for n, t in zip(names, func.type.inputs)],
            [spec(n, t.shape, numpy_dtype(t.element_type)) for n, t in zip(outs, func.type.results)])


def driver_spec():
    from .driver import TensorSpec
    return lambda name, shape, dtype: TensorSpec(name, tuple(shape), f"tensor({np.dtype(dtype).name})", np.dtype(dtype))


def _inputs(args, specs) -> list[np.ndarray]:
    from descend.cli import UserError
    from .driver import random_inputs
    given = [parse for parse in (args.input or [])]
    inputs = random_inputs(specs[0], args.seed)
    names = [s.name for s in specs[0]]
    for position, (name, source) in enumerate(given):
        if name and name not in names:
            raise UserError(f"--input names '{name}', but the model's inputs are {', '.join(repr(n) for n in names)}")
        index = names.index(name) if name else position
        if index >= len(names):
            raise UserError(f"{len(given)} --input values for {len(names)} inputs")
        inputs[index] = load_input(source)
    return inputs


def _onnxruntime_session(path, threads):
    from descend.cli import UserError
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError("--check needs onnxruntime (pip install onnxruntime)") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _compare(names, got, expected, rtol, atol) -> bool:
    """numpy's assert_allclose report per output; True when all match."""
    ok = True
    for name, g, e in zip(names, got, expected):
        g, e = np.asarray(g), np.asarray(e)
        r = rtol if rtol is not None else (1e-3 if e.dtype == np.float16 else 1e-4)
        a = atol if atol is not None else (1e-3 if e.dtype == np.float16 else 1e-5)
        try:
            np.testing.assert_allclose(g, e, rtol=r, atol=a, err_msg=f"output '{name}'")
            error = float(np.max(np.abs(g.astype(np.float64) - e.astype(np.float64)))) if e.size else 0.0
            print(f"check {name}: matches onnxruntime (max abs error {error:.3g}, rtol={r}, atol={a})", file=sys.stderr)
        except AssertionError as exc:
            ok = False
            print(f"check {name}: MISMATCH with onnxruntime\n{str(exc).strip()}", file=sys.stderr)
    return ok


def _time(fn, inputs, args) -> dict:
    for _ in range(args.warmup):
        fn(inputs)
    samples = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for _ in range(args.number):
            fn(inputs)
        samples.append((time.perf_counter() - start) * 1e3 / args.number)
    values = np.asarray(samples)
    return {"median": float(np.median(values)), "mean": float(values.mean()), "std": float(values.std())}


def add_run_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run", allow_abbrev=False, help="run a model, IR file or compiled library",
        description="Run model.onnx, an IR file or a compiled model.so on given or random inputs; "
                    "print the outputs, optionally compare them with onnxruntime and time the run.")
    parser.add_argument("model", help="model.onnx, model.mlir or model.so")
    parser.add_argument("--input", action="append", type=parse_input_arg, metavar="NAME=@FILE",
                        help="an input from a .npy file (NAME=@x.npy) or raw bytes (NAME=1x3xf32=@x.bin); "
                             "repeatable; inputs not given are random (--seed)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    add_compile_arguments(parser)
    parser.add_argument("--interpret", action="store_true", help="run the reference interpreter, not compiled code")
    parser.add_argument("--threads", type=int,
                        help="threads of parallel loops and of onnxruntime with --check (default: every core)")
    parser.add_argument("--check", action="store_true", help="compare the outputs with onnxruntime's (exit 1 on mismatch)")
    parser.add_argument("--rtol", type=float, help="relative tolerance of --check (default per dtype)")
    parser.add_argument("--atol", type=float, help="absolute tolerance of --check (default per dtype)")
    parser.add_argument("--repeat", type=int, default=0, help="time the run: this many measurements")
    parser.add_argument("--number", type=int, default=1, help="calls per measurement (default 1)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first (default 3)")
    parser.add_argument("--output-dir", help="also save every output as NAME.npy there")
    parser.set_defaults(handler=run_run)
