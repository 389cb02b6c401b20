"""Parse/print throughput of descend against xDSL and mlir-opt, on the same files.

Run by hand (not in CI):

    .venv/bin/python bench/parse_print.py                 # 100k ops, 1M-element constant
    .venv/bin/python bench/parse_print.py --quick         # 10k ops, 100k elements, 1 repeat
    .venv/bin/python bench/parse_print.py --ops 50000 --elements 250000 --json out.json
    .venv/bin/python bench/parse_print.py --breakdown     # descend's stages, gc on and off

Workloads (written to a temporary folder, then read by every tool):
  arith-addi   a func.func in generic form holding a chain of N `"arith.addi"` ops
  arith-mixed  the same with arith.addi / arith.muli / arith.subi interleaved
  dense-hex    one arith.constant whose value is an N-element dense<"0x..."> f32 tensor
  dense-dec    the same tensor written as a nested list of decimals

Measured:
  parse   text -> verified IR (descend.parse with verify=True; xDSL parse_module + verify())
  print   IR -> generic-form text
  round trip (constants): parse + print, seconds
  mlir-opt: the whole subprocess (parse, verify, print generic to a file), with the time of
            an empty module subtracted as process start-up.
  lark-cython: the descend grammar built a second time with `_plugins=lark_cython.plugins`,
            measured (a) building a bare parse tree, (b) with descend's IR-building callbacks.

Optional tools (xdsl, lark_cython, mlir-opt) are skipped when not installed.
Install them with `.venv/bin/pip install -e '.[bench]' lark-cython`.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


# ---- workloads ----------------------------------------------------------------------------------

def gen_arith(n: int, mixed: bool) -> str:
    """A generic-form module: func.func @f(%a, %b) with a chain of n binary i32 ops."""
    names = ("arith.addi", "arith.muli", "arith.subi") if mixed else ("arith.addi",)
    lines = ['"builtin.module"() ({',
             '  "func.func"() <{function_type = (i32, i32) -> i32, sym_name = "f"}> ({',
             '  ^bb0(%a: i32, %b: i32):',
             '    %0 = "arith.addi"(%a, %b) : (i32, i32) -> i32']
    for i in range(1, n):
        name = names[i % len(names)]
        other = "%a" if i % 2 else "%b"
        lines.append(f'    %{i} = "{name}"(%{i - 1}, {other}) : (i32, i32) -> i32')
    lines.append(f'    "func.return"(%{n - 1}) : (i32) -> ()')
    lines.append('  }) : () -> ()')
    lines.append('}) : () -> ()')
    return "\n".join(lines) + "\n"


def _shape(elements: int) -> tuple[int, int]:
    rows = 1
    for r in range(int(elements ** 0.5), 0, -1):
        if elements % r == 0:
            rows = r
            break
    return rows, elements // rows


def gen_dense(elements: int, seed: int = 0) -> tuple[str, str, np.ndarray]:
    """(hex text, decimal text, the array): the same f32 tensor written both ways."""
    rows, cols = _shape(elements)
    rng = np.random.default_rng(seed)
    # Decimals as MLIR prints them ("%e"); the hex form holds exactly the parsed values.
    values = (rng.standard_normal((rows, cols)) * 10).astype(np.float32)
    decimal_rows = []
    for row in values:
        decimal_rows.append("[" + ", ".join(f"{v:e}" for v in row.tolist()) + "]")
    values = np.array([[float(s) for s in r[1:-1].split(", ")] for r in decimal_rows],
                      dtype=np.float32).reshape(rows, cols)
    ty = f"tensor<{rows}x{cols}xf32>"

    def module(body: str) -> str:
        return ('"builtin.module"() ({\n'
                f'  "func.func"() <{{function_type = () -> {ty}, sym_name = "c"}}> ({{\n'
                f'    %0 = "arith.constant"() <{{value = dense<{body}> : {ty}}}> : () -> {ty}\n'
                f'    "func.return"(%0) : ({ty}) -> ()\n'
                '  }) : () -> ()\n'
                '}) : () -> ()\n')

    hex_text = module('"0x' + values.astype("<f4").tobytes().hex().upper() + '"')
    dec_text = module("[" + ", ".join(decimal_rows) + "]")
    return hex_text, dec_text, values


# ---- timing -------------------------------------------------------------------------------------

GC_OFF = False  # --gc-off: disable the cyclic garbage collector while timing, as timeit does


def best_of(fn, repeat: int):
    """(best seconds, last result). The collector runs as in real use unless --gc-off."""
    best, result = float("inf"), None
    for _ in range(repeat):
        result = None
        gc.collect()
        if GC_OFF:
            gc.disable()
        try:
            t0 = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - t0
        finally:
            gc.enable()
        best = min(best, elapsed)
    return best, result


# ---- descend ----------------------------------------------------------------------------------

def descend_context():
    import descend
    import descend.dialects  # noqa: F401  registers builtin, func, arith, math
    ctx = descend.Context(allow_unregistered=True)
    return ctx


def bench_descend(text: str, filename: str, repeat: int) -> dict:
    import descend
    ctx = descend_context()
    descend.parse(gen_arith(3, True), context=ctx)  # build (or load the cached) parser first
    t_parse, module = best_of(lambda: descend.parse(text, filename=filename, context=ctx), repeat)
    t_print, out = best_of(lambda: module.print(generic=True), repeat)
    return {"parse_s": t_parse, "print_s": t_print, "output_chars": len(out)}


def breakdown(ops: int, repeat: int) -> None:
    """Where descend's time goes on arith-mixed: parse without verification, verification,
    generic and custom printing, with the garbage collector on and off."""
    import descend
    from descend.ir.verifier import verify
    global GC_OFF
    ctx = descend_context()
    text = gen_arith(ops, True)
    descend.parse(text, context=ctx)
    n = ops + 2
    print(f"descend stages on arith-mixed, {ops:,} ops, best of {repeat} (ops/s; seconds)")
    for gc_off in (False, True):
        GC_OFF = gc_off
        t_parse, module = best_of(lambda: descend.parse(text, context=ctx, verify=False), repeat)
        t_verify, _ = best_of(lambda: verify(module), repeat)
        t_generic, _ = best_of(lambda: module.print(generic=True), repeat)
        t_custom, _ = best_of(lambda: module.print(), repeat)
        print(f"  gc {'off' if gc_off else 'on '}: parse (no verify) {n / t_parse:>9,.0f} {t_parse:6.2f}s | "
              f"verify {n / t_verify:>9,.0f} {t_verify:6.2f}s | "
              f"print generic {n / t_generic:>9,.0f} {t_generic:6.2f}s | "
              f"print custom {n / t_custom:>9,.0f} {t_custom:6.2f}s")
        module = None
    GC_OFF = False


# ---- xDSL --------------------------------------------------------------------------------------

def xdsl_available() -> bool:
    try:
        import xdsl  # noqa: F401
        return True
    except ImportError:
        return False


def xdsl_version() -> str:
    from importlib.metadata import version
    return version("xdsl")


def xdsl_context():
    from xdsl.context import Context
    from xdsl.dialects.arith import Arith
    from xdsl.dialects.builtin import Builtin
    from xdsl.dialects.func import Func
    ctx = Context(allow_unregistered=True)
    for dialect in (Builtin, Func, Arith):
        ctx.load_dialect(dialect)
    return ctx


def bench_xdsl(text: str, filename: str, repeat: int) -> dict:
    from xdsl.parser import Parser
    from xdsl.printer import Printer
    ctx = xdsl_context()

    def parse():
        module = Parser(ctx, text, filename).parse_module()
        module.verify()
        return module

    def print_generic(module):
        stream = io.StringIO()
        Printer(stream=stream, print_generic_format=True).print_op(module)
        return stream.getvalue()

    t_parse, module = best_of(parse, repeat)
    t_print, out = best_of(lambda: print_generic(module), repeat)
    return {"parse_s": t_parse, "print_s": t_print, "output_chars": len(out)}


from descend.testing.peers import find_mlir_opt  # noqa: E402

# ---- mlir-opt ----------------------------------------------------------------------------------



def bench_mlir_opt(exe: str, path: Path, out: Path, repeat: int, startup: float) -> dict:
    cmd = [exe, "--allow-unregistered-dialect", "--mlir-print-op-generic", str(path), "-o", str(out)]

    def run():
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    t, _ = best_of(run, repeat)
    return {"total_s": t, "startup_s": startup, "work_s": max(t - startup, 1e-9)}


def mlir_opt_startup(exe: str, tmp: Path, repeat: int) -> float:
    empty = tmp / "empty.mlir"
    empty.write_text('"builtin.module"() ({\n^bb0:\n}) : () -> ()\n')
    cmd = [exe, "--allow-unregistered-dialect", "--mlir-print-op-generic", str(empty), "-o", os.devnull]
    t, _ = best_of(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL), max(repeat, 5))
    return t


# ---- lark-cython ---------------------------------------------------------------------------------

def bench_lark_cython(text: str, repeat: int) -> dict:
    """The descend grammar with and without lark_cython: bare parse tree, and with callbacks."""
    from lark import Lark
    from descend.parser.parser import build_grammar
    from descend.parser.builder import IRBuilder
    ctx = descend_context()
    grammar, callbacks = build_grammar(ctx)
    try:
        import lark_cython
    except ImportError:
        return {"skipped": "lark_cython is not installed"}
    result = {}
    common = dict(parser="lalr", lexer="contextual", start=["start", "dialect_params"],
                  maybe_placeholders=True, propagate_positions=False)
    for label, plugins in (("lark", None), ("lark_cython", lark_cython.plugins)):
        extra = {"_plugins": plugins} if plugins else {}
        tree_parser = Lark(grammar, **common, **extra)
        t_tree, _ = best_of(lambda: tree_parser.parse(text, start="start"), repeat)
        result[f"{label}_tree_s"] = t_tree
        # Lexing + LALR with callbacks that do nothing: the parser core's own cost.
        noop_parser = Lark(grammar, **common, **extra)
        for rule in list(noop_parser._callbacks):
            noop_parser._callbacks[rule] = _noop
        t_noop, _ = best_of(lambda: noop_parser.parse(text, start="start"), repeat)
        result[f"{label}_noop_s"] = t_noop
        # With the IR-building callbacks (what descend.parse runs, minus verification).
        builder = IRBuilder(ctx)
        callbacks = dict(callbacks)
        callbacks["__builder__"] = builder
        for name, fn in callbacks.items():
            if name != "__builder__":
                setattr(builder, name, fn)
        try:
            ir_parser = Lark(grammar, transformer=builder, **common, **extra)
            if plugins:
                # lark_cython's Token is not a str subclass and descend's callbacks index and
                # compare tokens as strings: convert each token child back to a lark Token.
                _adapt_callbacks(ir_parser)

            def run():
                builder.reset(text, "<bench>", 0)
                return ir_parser.parse(text, start="start")

            t_ir, _ = best_of(run, repeat)
            result[f"{label}_callbacks_s"] = t_ir
        except Exception as exc:  # lark_cython tokens are not str subclasses
            result[f"{label}_callbacks_error"] = f"{type(exc).__name__}: {str(exc)[:160]}"
    return result


def _noop(children):
    return None


def _adapt_callbacks(lark_parser) -> None:
    from lark import Token
    from lark_cython.lark_cython import Token as CToken

    def convert(child):
        if type(child) is CToken:
            return Token(child.type, child.value, child.start_pos, child.line, child.column,
                         child.end_line, child.end_column, child.end_pos)
        return child

    callbacks = lark_parser._callbacks  # the same dict the LALR parser holds
    for rule, fn in list(callbacks.items()):
        def wrapped(children, _fn=fn):
            return _fn([convert(c) for c in children])
        callbacks[rule] = wrapped


# ---- main -------------------------------------------------------------------------------------

def fmt_rate(ops: int, seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{ops / seconds:,.0f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "-"
    return f"{a / b:.2f}x"


def conditions() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "loadavg_at_start": load, "platform": platform.platform()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=100_000, help="ops per arith module (default 100000)")
    ap.add_argument("--elements", type=int, default=1_000_000, help="elements of the dense constant")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    ap.add_argument("--quick", action="store_true", help="defaults of 10k ops, 100k elements, 1 repeat")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--keep", metavar="DIR", help="write the generated .mlir files here and keep them")
    ap.add_argument("--gc-off", action="store_true", help="disable the garbage collector while timing")
    ap.add_argument("--breakdown", action="store_true",
                    help="only time descend's stages (parse, verify, print generic/custom), gc on and off")
    ap.add_argument("--no-xdsl", action="store_true")
    ap.add_argument("--no-mlir-opt", action="store_true")
    ap.add_argument("--no-lark-cython", action="store_true")
    args = ap.parse_args(argv)
    global GC_OFF
    GC_OFF = args.gc_off
    if args.quick:  # smaller defaults; an explicit --ops/--elements/--repeat still wins
        given = set(a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:]))
        if "--ops" not in given:
            args.ops = 10_000
        if "--elements" not in given:
            args.elements = 100_000
        if "--repeat" not in given:
            args.repeat = 1
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    if args.breakdown:
        breakdown(args.ops, args.repeat)
        return 0

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="descend-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    files = {"arith-addi": gen_arith(args.ops, False), "arith-mixed": gen_arith(args.ops, True)}
    hex_text, dec_text, _ = gen_dense(args.elements)
    files["dense-hex"], files["dense-dec"] = hex_text, dec_text
    paths = {}
    for name, text in files.items():
        paths[name] = tmp / f"{name}.mlir"
        paths[name].write_text(text)

    have_xdsl = xdsl_available() and not args.no_xdsl
    mlir_opt = None if args.no_mlir_opt else find_mlir_opt()
    startup = mlir_opt_startup(mlir_opt, tmp, args.repeat) if mlir_opt else None
    ops_total = args.ops + 2  # the chain, func.return and func.func (module not counted)
    results: dict = {"conditions": conditions(), "ops": args.ops, "elements": args.elements,
                     "repeat": args.repeat, "gc_off": args.gc_off, "xdsl": xdsl_version() if have_xdsl else None,
                     "mlir_opt": mlir_opt, "workloads": {}}

    for name, text in files.items():
        row = {"chars": len(text)}
        print(f"... {name} ({len(text) / 1e6:.1f} MB)", file=sys.stderr, flush=True)
        row["descend"] = bench_descend(text, str(paths[name]), args.repeat)
        if have_xdsl:
            try:
                row["xdsl"] = bench_xdsl(text, str(paths[name]), args.repeat)
            except Exception as exc:
                row["xdsl"] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        if mlir_opt:
            row["mlir_opt"] = bench_mlir_opt(mlir_opt, paths[name], tmp / f"{name}.out.mlir",
                                             args.repeat, startup)
        results["workloads"][name] = row
    if not args.no_lark_cython:
        print("... lark-cython (arith-mixed)", file=sys.stderr, flush=True)
        results["lark_cython"] = bench_lark_cython(files["arith-mixed"], args.repeat)

    report(results, ops_total)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def report(results: dict, ops_total: int) -> None:
    w = results["workloads"]
    cond = results["conditions"]
    print(f"descend parse/print benchmark — {results['ops']:,} ops, {results['elements']:,} elements, "
          f"best of {results['repeat']}, gc {'off' if results.get('gc_off') else 'on'}; python {cond['python']}, {cond['cpus']} CPUs, "
          f"load at start {cond['loadavg_at_start']}")
    print(f"xDSL {results['xdsl'] or 'not measured'}; mlir-opt {results['mlir_opt'] or 'not measured'}")
    print()
    print("ops/s (higher is better)")
    header = f"{'workload':<12} {'step':<6} {'descend':>12} {'xDSL':>12} {'speedup':>13} {'mlir-opt*':>12}"
    print(header)
    print("-" * len(header))
    for name in ("arith-addi", "arith-mixed"):
        row = w[name]
        d, x, m = row["descend"], row.get("xdsl", {}), row.get("mlir_opt")
        for step in ("parse", "print"):
            ds = d[f"{step}_s"]
            xs = x.get(f"{step}_s")
            mo = fmt_rate(ops_total, m["work_s"]) if (m and step == "parse") else "-"
            print(f"{name:<12} {step:<6} {fmt_rate(ops_total, ds):>12} {fmt_rate(ops_total, xs):>12} "
                  f"{ratio(xs, ds):>13} {mo:>12}")
    print("* mlir-opt: parse + verify + print generic, start-up subtracted")
    print()
    print("dense constant round trip, seconds (parse + print; lower is better)")
    header = f"{'workload':<12} {'descend':>10} {'(parse':>8} {'print)':>8} {'xDSL':>10} {'speedup':>13} {'mlir-opt*':>10}"
    print(header)
    print("-" * len(header))
    for name in ("dense-hex", "dense-dec"):
        row = w[name]
        d, x, m = row["descend"], row.get("xdsl", {}), row.get("mlir_opt")
        dt = d["parse_s"] + d["print_s"]
        xt = x["parse_s"] + x["print_s"] if "parse_s" in x else None
        xs = f"{xt:.3f}" if xt is not None else (x.get("error", "-")[:10] if x else "-")
        ms = f"{m['work_s']:.3f}" if m else "-"
        print(f"{name:<12} {dt:>10.3f} {d['parse_s']:>8.3f} {d['print_s']:>8.3f} {xs:>10} "
              f"{ratio(xt, dt) if xt else '-':>13} {ms:>10}")
    if "lark_cython" in results:
        lc = results["lark_cython"]
        print()
        print("lark vs lark-cython on arith-mixed (descend grammar), ops/s")
        if "skipped" in lc:
            print("  skipped:", lc["skipped"])
        else:
            for kind, label in (("noop", "no-op callbacks"), ("tree", "bare parse tree"),
                                ("callbacks", "descend IR callbacks")):
                a, b = lc.get(f"lark_{kind}_s"), lc.get(f"lark_cython_{kind}_s")
                err = lc.get(f"lark_cython_{kind}_error")
                tail = f"  lark_cython: {err}" if err else f"{fmt_rate(ops_total, b):>12}  speedup {ratio(a, b)}"
                print(f"  {label:<22} lark {fmt_rate(ops_total, a):>12}  {tail}")
            if "lark_cython_callbacks_s" in lc:
                print("  (lark_cython with callbacks converts each token back to a lark Token, as "
                      "descend's callbacks treat tokens as str)")
            if "lark_noop_s" in lc and "lark_callbacks_s" in lc and "lark_cython_noop_s" in lc:
                work = lc["lark_callbacks_s"] - lc["lark_noop_s"]
                best = lc["lark_cython_noop_s"] + work
                print(f"  parser core share of the callback run: {lc['lark_noop_s'] / lc['lark_callbacks_s']:.0%}; "
                      f"best case with lark_cython and str-free callbacks: "
                      f"{fmt_rate(ops_total, best)} ops/s ({ratio(lc['lark_callbacks_s'], best)})")
    print()
    print("speedup = descend's speed / xDSL's (ops/s ratio, or xDSL seconds / descend seconds)")
    print("targets: parse >= 3x xDSL, print >= 2x xDSL, 1M constant round trip < 0.2 s hex, < 3 s decimal")


if __name__ == "__main__":
    raise SystemExit(main())
