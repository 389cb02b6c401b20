"""llvm -> machine code: translate an llvm-dialect module to LLVM IR (lowering/llvm_ir.py),
then with llvmlite parse, verify, optimise (O0-O3, the new pass manager) and either JIT it
(MCJIT) or emit LLVM IR, assembly, an object file, or a shared library linked with the
system `cc`, for the host or for another target triple.

Also here: linking descend's runtime support (`descend_parallel_for` and its thread pool, LLVM
IR in lowering/thread_pool.py) into what is compiled, and `add_runtime_api`, which adds the query
functions of the C API in runtime/descend_runtime.h to a module as llvm-dialect ops."""

from __future__ import annotations

import ctypes
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import llvmlite.binding as llvm

from ..ir.diagnostics import error
from .llvm_ir import translate
from .thread_pool import PARALLEL_FOR, PARALLEL_FOR_IR

_INITIALISED = False


def init_llvm() -> None:
    """Initialise the native target (and every target llvmlite has, for cross-compiling)."""
    global _INITIALISED
    if _INITIALISED:
        return
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    for name in ("initialize_all_targets", "initialize_all_asmprinters"):
        fn = getattr(llvm, name, None)
        if fn is not None:
            fn()
    _INITIALISED = True


# ---- targets -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """What to generate code for: a triple, a CPU name and a features string (`+avx2,-avx512f`).
    `Target.host()` detects all three; `Target.parse` reads "host" or a TVM-style string
    `"llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a72 -mattr=+neon"`."""

    triple: str
    cpu: str = ""
    features: str = ""
    options: dict = field(default_factory=dict, compare=False)

    @property
    def vector_bytes(self) -> int:
        """The widest vector register the features enable, in bytes: what the default
        schedule sizes its vector loops and register tiles by (64 with AVX-512, 32 with
        AVX/AVX2, 16 otherwise: SSE, NEON, or no features named)."""
        enabled = {f[1:] for f in self.features.split(",") if f.startswith("+")}
        if "avx512f" in enabled:
            return 64
        if enabled & {"avx2", "avx"}:
            return 32
        return 16

    @classmethod
    def host(cls) -> "Target":
        init_llvm()
        try:
            features = llvm.get_host_cpu_features().flatten()
        except RuntimeError:  # some hosts cannot report features; the CPU name still helps
            features = ""
        return cls(llvm.get_process_triple(), llvm.get_host_cpu_name(), features)

    @classmethod
    def parse(cls, spec: "str | Target | None") -> "Target":
        if spec is None or spec == "host":
            return cls.host()
        if isinstance(spec, Target):
            return spec
        words = shlex.split(spec)
        if not words or words[0] != "llvm":
            raise ValueError(f"target '{spec}' must be 'host' or start with 'llvm' "
                             "(e.g. 'llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a72')")
        options = {}
        for word in words[1:]:
            key, _, value = word.lstrip("-").partition("=")
            options[key] = value
        unknown = set(options) - {"mtriple", "mcpu", "mattr", "opt-level"}
        if unknown:
            raise ValueError(f"target '{spec}': unknown option(s) {', '.join(sorted(unknown))}; "
                             "expected -mtriple, -mcpu, -mattr")
        if "mtriple" not in options:
            host = cls.host()
            cpu = options.get("mcpu", host.cpu)
            features = options.get("mattr", host.features if cpu == host.cpu else "")
            return cls(host.triple, cpu, features, options)
        return cls(options["mtriple"], options.get("mcpu", ""), options.get("mattr", ""), options)

    @property
    def is_host(self) -> bool:
        init_llvm()
        return llvm.get_process_triple().split("-")[0] == self.triple.split("-")[0]

    def describe(self) -> str:
        """One line per field, as `descend compile --print-target` shows it."""
        return f"triple:   {self.triple}\ncpu:      {self.cpu or '(generic)'}\nfeatures: {self.features or '(none)'}"

    def target_machine(self, opt_level: int = 3, jit: bool = False):
        init_llvm()
        try:
            target = llvm.Target.from_triple(self.triple)
        except RuntimeError as exc:
            raise ValueError(f"LLVM has no target for triple '{self.triple}': {exc}") from None
        return target.create_target_machine(cpu=self.cpu, features=self.features, opt=opt_level,
                                            reloc="pic", codemodel="jitdefault" if jit else "default",
                                            jit=jit)


# ---- descend_parallel_for ------------------------------------------------------------------

BUILTINS = {PARALLEL_FOR: PARALLEL_FOR_IR}


def to_llvm_ir(module, link_runtime: bool = True) -> str:
    """LLVM IR text of an llvm-dialect module, with descend's runtime support linked in
    (an external `llvm.func @descend_parallel_for(...)` gets its definition); with
    link_runtime=False it stays a declaration (the JIT resolves it to jit_runtime's copy)."""
    return translate(module, builtins=BUILTINS if link_runtime else None)


_RUNTIME_LOCK = threading.Lock()
_RUNTIME_ENGINE = None


def jit_runtime():
    """The parallel runtime compiled once per process for every JIT-compiled module, which
    find `descend_parallel_for` through llvm.add_symbol. Its pool's idle threads run this
    code, so it must never be freed (a model's engine is, when the model is collected), and
    one copy means one pool for every JIT model of the process. Returns the MCJIT engine."""
    global _RUNTIME_ENGINE
    with _RUNTIME_LOCK:
        if _RUNTIME_ENGINE is None:
            mod, tm = compile_module(f"; ModuleID = 'descend_runtime'\n{PARALLEL_FOR_IR}",
                                     Target.host(), 3, jit=True)
            engine = llvm.create_mcjit_compiler(mod, tm)
            engine.finalize_object()
            llvm.add_symbol(PARALLEL_FOR, engine.get_function_address(PARALLEL_FOR))
            _RUNTIME_ENGINE = engine
        return _RUNTIME_ENGINE


def thread_pool() -> str:
    """What parallel loops of JIT-compiled code run on in this process: "pool" (descend's
    persistent threads) or "pthread" (threads created per call: DESCEND_THREAD_POOL=pthread,
    read at a process's first parallel call)."""
    address = jit_runtime().get_function_address("descend_thread_pool")
    return {1: "pool", 2: "pthread"}[ctypes.CFUNCTYPE(ctypes.c_int32)(address)()]


# ---- compile -------------------------------------------------------------------------------

class CodegenError(Exception):
    """LLVM rejected the IR, or linking failed; the message quotes LLVM or the linker."""


def _as_ir(source, link_runtime: bool = True) -> str:
    return source if isinstance(source, str) else to_llvm_ir(source, link_runtime)


def compile_module(source, target: "Target | str | None" = None, opt_level: int = 3, jit: bool = False,
                   link_runtime: bool = True):
    """Parse, verify and optimise; returns (llvmlite ModuleRef, TargetMachine)."""
    if opt_level not in (0, 1, 2, 3):
        raise ValueError(f"opt_level must be 0, 1, 2 or 3, got {opt_level}")
    target = Target.parse(target)
    text = _as_ir(source, link_runtime)
    init_llvm()
    try:
        mod = llvm.parse_assembly(text)
        mod.verify()
    except RuntimeError as exc:
        raise CodegenError(f"LLVM rejected the generated IR: {exc}") from None
    tm = target.target_machine(opt_level, jit=jit)
    mod.triple = target.triple
    mod.data_layout = str(tm.target_data)
    if opt_level > 0:
        optimize(mod, tm, opt_level)
    return mod, tm


def optimize(mod, tm, opt_level: int) -> None:
    """The new pass manager's default O<n> pipeline (vectorizers on from O2, as clang does)."""
    pto = llvm.create_pipeline_tuning_options(speed_level=opt_level)
    pto.loop_vectorization = opt_level >= 2
    pto.slp_vectorization = opt_level >= 2
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    mpm.run(mod, pb)


def emit_llvm_ir(source, target=None, opt_level: int = 3) -> str:
    """Optimised LLVM IR text."""
    mod, _ = compile_module(source, target, opt_level)
    return str(mod)


def emit_assembly(source, target=None, opt_level: int = 3) -> str:
    mod, tm = compile_module(source, target, opt_level)
    return tm.emit_assembly(mod)


def emit_object(source, target=None, opt_level: int = 3) -> bytes:
    mod, tm = compile_module(source, target, opt_level)
    return tm.emit_object(mod)


def find_cc() -> str | None:
    """The system C compiler driver used as the linker (`$CC`, else cc, gcc, clang)."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def export_library(source, path, target=None, opt_level: int = 3) -> Path:
    """Write a shared library (`cc -shared`, with -lpthread -lm) to `path`."""
    target = Target.parse(target)
    if not target.is_host:
        raise CodegenError(f"cannot link a shared library for {target.triple} on this host; "
                           "emit an object file instead")
    cc = find_cc()
    if cc is None:
        raise CodegenError("no C compiler (cc, gcc or clang) to link the shared library with")
    obj = emit_object(source, target, opt_level)
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        obj_path = Path(tmp) / "module.o"
        obj_path.write_bytes(obj)
        done = subprocess.run([cc, "-shared", "-o", str(path), str(obj_path), "-lpthread", "-lm"],
                              capture_output=True, text=True)
    if done.returncode != 0:
        raise CodegenError(f"linking {path} failed:\n{done.stderr.strip()}")
    return path


class JITModule:
    """Compiled code in this process (MCJIT): `address(name)` and `function(name, restype,
    *argtypes)` (a ctypes function). Keep the object alive while calling into it."""

    def __init__(self, source, target=None, opt_level: int = 3):
        target = Target.parse(target)
        jit_runtime()  # descend_parallel_for comes from the process's one copy
        self.module, self.target_machine = compile_module(source, target, opt_level, jit=True,
                                                          link_runtime=False)
        self.engine = llvm.create_mcjit_compiler(self.module, self.target_machine)
        self.engine.finalize_object()
        self.engine.run_static_constructors()

    def address(self, name: str) -> int:
        address = self.engine.get_function_address(name)
        if not address:
            address = self.engine.get_global_value_address(name)
        if not address:
            raise KeyError(f"no function or global named '{name}' in the compiled module")
        return address

    def function(self, name: str, restype=None, *argtypes):
        fn = ctypes.CFUNCTYPE(restype, *argtypes)(self.address(name))
        fn.jit_module = self  # the code lives as long as the engine does
        return fn


def jit(source, target=None, opt_level: int = 3) -> JITModule:
    return JITModule(source, target, opt_level)


# ---- the C API's query functions -----------------------------------------------------------

def _dense_i8(text: str) -> str:
    data = list(text.encode("utf-8")) + [0]
    return f"dense<[{', '.join(map(str, data))}]> : tensor<{len(data)}xi8>", len(data)


def runtime_api_ir(inputs, outputs, default_threads: int = 1) -> str:
    """The query functions of runtime/descend_runtime.h as llvm-dialect text, from lists of
    (name, shape, dtype) for the inputs and outputs: descend_num_inputs/outputs,
    descend_{input,output}_{name,rank,shape,dtype}, descend_create (a model handle whose
    first field is the i32 thread count), descend_destroy, descend_set/get_num_threads."""
    lines = ["llvm.func @malloc(i64) -> !llvm.ptr", "llvm.func @free(!llvm.ptr)"]
    for kind, items in (("input", inputs), ("output", outputs)):
        for k, (name, shape, dtype) in enumerate(items):
            text, n = _dense_i8(str(name))
            lines.append(f"llvm.mlir.global internal constant @descend_{kind}_name_{k}({text}) : "
                         f"!llvm.array<{n} x i8>")
            dims = list(shape) or [0]
            lines.append(f"llvm.mlir.global internal constant @descend_{kind}_shape_{k}(dense<"
                         f"[{', '.join(str(int(d)) for d in dims)}]> : tensor<{len(dims)}xi64>) : "
                         f"!llvm.array<{len(dims)} x i64>")
            text, n = _dense_i8(str(dtype))
            lines.append(f"llvm.mlir.global internal constant @descend_{kind}_dtype_{k}({text}) : "
                         f"!llvm.array<{n} x i8>")
        lines.append(f"llvm.func @descend_num_{kind}s() -> i32 {{\n"
                     f"  %n = llvm.mlir.constant({len(items)} : i32) : i32\n"
                     f"  llvm.return %n : i32\n}}")
        for what in ("name", "shape", "dtype"):
            lines.append(_switch(f"descend_{kind}_{what}", "!llvm.ptr",
                                 [f"llvm.mlir.addressof @descend_{kind}_{what}_{k} : !llvm.ptr"
                                  for k in range(len(items))], "llvm.mlir.zero : !llvm.ptr"))
        lines.append(_switch(f"descend_{kind}_rank", "i32",
                             [f"llvm.mlir.constant({len(shape)} : i32) : i32" for _, shape, _ in items],
                             "llvm.mlir.constant(-1 : i32) : i32"))
    lines.append(f"""llvm.func @descend_create() -> !llvm.ptr {{
  %size = llvm.mlir.constant(16 : i64) : i64
  %model = llvm.call @malloc(%size) : (i64) -> !llvm.ptr
  %threads = llvm.mlir.constant({int(default_threads)} : i32) : i32
  llvm.store %threads, %model : i32, !llvm.ptr
  llvm.return %model : !llvm.ptr
}}
llvm.func @descend_destroy(%model: !llvm.ptr) {{
  llvm.call @free(%model) : (!llvm.ptr) -> ()
  llvm.return
}}
llvm.func @descend_set_num_threads(%model: !llvm.ptr, %n: i32) {{
  %one = llvm.mlir.constant(1 : i32) : i32
  %small = llvm.icmp "slt" %n, %one : i32
  %threads = llvm.select %small, %one, %n : i1, i32
  llvm.store %threads, %model : i32, !llvm.ptr
  llvm.return
}}
llvm.func @descend_get_num_threads(%model: !llvm.ptr) -> i32 {{
  %threads = llvm.load %model : !llvm.ptr -> i32
  llvm.return %threads : i32
}}""")
    return "\n".join(lines)


def _switch(name: str, result_type: str, values: list, default: str) -> str:
    """`result_type name(i32 %i)` returning values[i], else the default, as a chain of blocks."""
    lines = [f"llvm.func @{name}(%i: i32) -> {result_type} {{"]
    for k, value in enumerate(values):
        lines += [f"  %k{k} = llvm.mlir.constant({k} : i32) : i32",
                  f"  %is{k} = llvm.icmp \"eq\" %i, %k{k} : i32",
                  f"  llvm.cond_br %is{k}, ^hit{k}, ^next{k}",
                  f"^hit{k}:",
                  f"  %v{k} = {value}",
                  f"  llvm.return %v{k} : {result_type}",
                  f"^next{k}:"]
    lines += [f"  %default = {default}", f"  llvm.return %default : {result_type}", "}"]
    return "\n".join(lines)


def add_runtime_api(module, inputs, outputs, default_threads: int = 1) -> None:
    """Append the C API's query functions (runtime_api_ir) to an llvm-dialect module, so a
    compiled model only has to define `i32 descend_run(ptr model, ptr inputs, ptr outputs)`."""
    from ..parser import parse
    text = "module {\n" + runtime_api_ir(inputs, outputs, default_threads) + "\n}"
    api = parse(text, filename="<descend runtime api>")
    block = module.regions[0].blocks[0]
    existing = {op.properties["sym_name"].value for op in block.ops if "sym_name" in op.properties}
    for op in list(api.regions[0].blocks[0].ops):
        name = op.properties["sym_name"].value
        if name in existing:
            if name in ("malloc", "free"):
                continue
            raise error(module.location, f"the module already defines @{name}, which the "
                                         "runtime API adds")
        op.detach()
        block.append(op)


def main(argv=None) -> int:
    """`python -m descend.lowering.codegen m.mlir --emit llvm-ir`: mlir-translate's job for
    descend's llvm dialect, plus optimised IR, assembly and the target description."""
    import argparse
    import sys

    from ..ir import DiagnosticError
    from ..parser import parse_file

    parser = argparse.ArgumentParser(prog="python -m descend.lowering.codegen")
    parser.add_argument("file")
    parser.add_argument("--emit", choices=["llvm-ir", "opt-ir", "asm"], default="llvm-ir")
    parser.add_argument("-O", dest="opt_level", type=int, default=3, choices=[0, 1, 2, 3])
    parser.add_argument("--target", default="host")
    parser.add_argument("--print-target", action="store_true")
    args = parser.parse_args(argv)
    try:
        target = Target.parse(args.target)
        if args.print_target:
            print(target.describe())
            return 0
        module = parse_file(args.file)
        if args.emit == "llvm-ir":
            sys.stdout.write(to_llvm_ir(module))
        elif args.emit == "opt-ir":
            sys.stdout.write(emit_llvm_ir(module, target, args.opt_level))
        else:
            sys.stdout.write(emit_assembly(module, target, args.opt_level))
    except (DiagnosticError, CodegenError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
