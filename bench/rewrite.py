"""Rewrite-driver throughput: descend's canonicalize + cse beside xDSL's on the same input.

Run by hand (not in CI):

    .venv/bin/python bench/rewrite.py                  # 10k, 100k and 1M ops (xDSL up to 100k)
    .venv/bin/python bench/rewrite.py --quick          # 10k and 100k, one repeat
    .venv/bin/python bench/rewrite.py --sizes 10000,100000 --xdsl-max 100000 --json out.json

Workload: one func.func holding groups of eight arith ops on i32, repeated to the size:
two constants (0 and 1, repeated in every group: folding dedupes them), `x + 0` and `x * 1`
(folds), two identical adds (cse merges them), a multiply that keeps the chain alive, and a
dead subtraction (dce). Both tools parse the same text; only the passes are timed.

Also measured: the pattern index. The same canonicalize run with 1,000 extra rules
registered (rooted at every arith op, none of which fire) should cost little more than
with none: patterns are found by root op name and by the producer of the first operand.

ops/s = ops in the input module / seconds for canonicalize then cse.
Requires xdsl for the comparison (`.venv/bin/pip install -e '.[bench]'`); skipped if absent.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import subprocess
import sys
import time


def gen_module(ops: int) -> str:
    groups = max(1, ops // 8)
    lines = ["func.func @f(%a: i32, %b: i32) -> i32 {", "  %p0 = arith.addi %a, %b : i32"]
    previous = "%p0"
    for g in range(groups):
        lines += [f"  %z{g} = arith.constant 0 : i32",
                  f"  %o{g} = arith.constant 1 : i32",
                  f"  %s{g} = arith.addi {previous}, %z{g} : i32",
                  f"  %m{g} = arith.muli %s{g}, %o{g} : i32",
                  f"  %x{g} = arith.addi %m{g}, %a : i32",
                  f"  %y{g} = arith.addi %m{g}, %a : i32",
                  f"  %r{g} = arith.muli %x{g}, %y{g} : i32",
                  f"  %d{g} = arith.subi %r{g}, %b : i32"]
        previous = f"%r{g}"
    lines += [f"  func.return {previous} : i32", "}"]
    return "\n".join(lines) + "\n"


def count_ops(module) -> int:
    return sum(1 for _ in module.walk()) - 1


def timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_descend(text: str, repeat: int, extra_patterns=None) -> dict:
    import descend
    from descend.rewrites import PassManager
    from descend.rewrites import canonicalization

    saved = {name: list(patterns) for name, patterns in canonicalization._REGISTERED.items()}
    if extra_patterns is not None:
        canonicalization.register_canonicalization("arith", extra_patterns)
    best = None
    try:
        for _ in range(repeat):
            module = descend.parse(text)
            ops = count_ops(module)
            pm = PassManager.parse("builtin.module(func.func(canonicalize,cse))")
            seconds = timed(lambda: pm.run(module))
            best = seconds if best is None else min(best, seconds)
        after = count_ops(module)
    finally:
        canonicalization._REGISTERED.clear()
        canonicalization._REGISTERED.update(saved)
        canonicalization._CACHE.clear()
    return {"ops": ops, "seconds": best, "ops_per_s": ops / best, "ops_after": after}


def bench_xdsl(text: str, repeat: int) -> dict:
    from xdsl.context import Context
    from xdsl.dialects.arith import Arith
    from xdsl.dialects.builtin import Builtin
    from xdsl.dialects.func import Func
    from xdsl.parser import Parser
    from xdsl.transforms.canonicalize import CanonicalizePass
    from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination

    best = None
    for _ in range(repeat):
        ctx = Context()
        for dialect in (Builtin, Func, Arith):
            ctx.load_dialect(dialect)
        module = Parser(ctx, text).parse_module()
        ops = sum(1 for _ in module.walk()) - 1

        def run():
            CanonicalizePass().apply(ctx, module)
            CommonSubexpressionElimination().apply(ctx, module)
        seconds = timed(run)
        best = seconds if best is None else min(best, seconds)
    after = sum(1 for _ in module.walk()) - 1
    return {"ops": ops, "seconds": best, "ops_per_s": ops / best, "ops_after": after}


def thousand_rules():
    """1,000 rules that never fire, spread over every arith op as root and as producer of
    the first operand, as a big rule library would be: many pass the index (their root and
    first operand are in the module: addi/muli of addi/muli) and fail deeper, at a second
    operand produced by arith.divsi, which the module lacks."""
    from descend.dialects.arith import OPS
    from descend.rewrites import Rule, op, var
    names = sorted(cls.name for cls in OPS if cls.name != "arith.constant")
    x, y = var("x"), var("y")
    rules = []
    for i in range(1000):
        root = names[i % len(names)]
        producer = names[(i * 7 + i // len(names)) % len(names)]
        rules.append(Rule(f"never-{i}", op(root, op(producer, x, y), op("arith.divsi", y, x)), x))
    return rules


def xdsl_version() -> str | None:
    try:
        from importlib.metadata import version
        import xdsl  # noqa: F401
        return version("xdsl")
    except ImportError:
        return None


def measure(tool: str, size: int, repeat: int, extra_rules: bool = False) -> dict:
    """One measurement in a fresh interpreter, so neither tool pays for the other's garbage
    or caches."""
    command = [sys.executable, __file__, "--worker", tool, str(size), str(repeat)]
    if extra_rules:
        command.append("--extra-rules")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout)


def worker(tool: str, size: int, repeat: int, extra_rules: bool) -> int:
    text = gen_module(size)
    if tool == "descend":
        warm = gen_module(80)  # load rule files and grammars before timing, as xDSL's imports are
        bench_descend(warm, 1)
        result = bench_descend(text, repeat, extra_patterns=thousand_rules() if extra_rules else None)
    else:
        result = bench_xdsl(text, repeat)
    print(json.dumps(result))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="module sizes in ops")
    ap.add_argument("--xdsl-max", type=int, default=100_000, help="largest size to run xDSL on")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="10k and 100k ops, one repeat")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--worker", nargs=3, metavar=("TOOL", "SIZE", "REPEAT"), help=argparse.SUPPRESS)
    ap.add_argument("--extra-rules", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        tool, size, repeat = args.worker
        return worker(tool, int(size), int(repeat), args.extra_rules)
    sizes = [10_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeat = 1 if args.quick else args.repeat
    have_xdsl = xdsl_version() is not None
    print(f"# canonicalize + cse, {platform.python_implementation()} {platform.python_version()}, "
          f"xdsl {xdsl_version() or 'not installed'}; best of {repeat} (1 above 100k ops)")
    print(f"{'ops':>9}  {'descend ops/s':>14}  {'xdsl ops/s':>11}  {'ratio':>6}  {'descend s':>9}  "
          f"{'xdsl s':>8}  {'ops after':>9}")
    rows = []
    for size in sizes:
        runs = repeat if size <= 100_000 else 1
        row = {"size": size, "descend": measure("descend", size, runs)}
        if have_xdsl and size <= args.xdsl_max:
            row["xdsl"] = measure("xdsl", size, runs)
        d, x = row["descend"], row.get("xdsl", {})
        if "error" in d:
            print(f"{size:>9}  descend failed: {d['error']}")
            continue
        xrate = x.get("ops_per_s")
        print(f"{d['ops']:>9}  {d['ops_per_s']:>14,.0f}  {xrate or 0:>11,.0f}  "
              f"{(d['ops_per_s'] / xrate) if xrate else float('nan'):>5.2f}x  {d['seconds']:>9.3f}  "
              f"{x.get('seconds', float('nan')):>8.3f}  {d['ops_after']:>9}")
        rows.append(row)
    size = 10_000 if args.quick else 100_000
    plain = measure("descend", size, repeat)
    with_rules = measure("descend", size, repeat, extra_rules=True)
    print(f"# pattern index, {plain['ops']} ops: no extra rules {plain['ops_per_s']:,.0f} ops/s, "
          f"1,000 extra rules {with_rules['ops_per_s']:,.0f} ops/s "
          f"({with_rules['seconds'] / plain['seconds']:.2f}x the time)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "pattern_index": {"plain": plain, "thousand_rules": with_rules}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
