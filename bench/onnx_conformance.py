"""ONNX conformance: every node test of the installed onnx package through descend.

Run by hand (minutes, not for CI; CI runs a fast subset in tests/frontends):

    .venv/bin/python bench/onnx_conformance.py                      # all node tests, 2 workers
    .venv/bin/python bench/onnx_conformance.py --filter 'conv|pool'  # a regex over test names
    .venv/bin/python bench/onnx_conformance.py --write               # also update the support matrix:
        frontends/onnx/support.json (read by `descend ops`) and docs/onnx-support.md

Each test runs in a worker process with a per-test timeout (SIGALRM), so a hang or a crash
costs one test, not the run. A test ends passed, failed (wrong answer, crash, timeout) or
unsupported (refused at import, naming the op and what is missing). Printed: per op type
passed / failed / unsupported, the totals, the pass rate over all tests and over the tests
of op types descend claims (has a converter for), and every failure with its reason."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = {"interpreter": "descend.frontends.onnx.backend:InterpreterBackend",
            "default": "descend.backend:DescendBackend",
            "te": "descend.testing.stage_backends:TeBackend",
            "fused-te": "descend.testing.stage_backends:FusedTeBackend",
            "loop": "descend.testing.stage_backends:LoopBackend",
            "fused-loop": "descend.testing.stage_backends:FusedLoopBackend",
            "native": "descend.testing.stage_backends:NativeBackend",
            "fused-native": "descend.testing.stage_backends:FusedNativeBackend"}


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _worker_init(backend_path: str, timeout: int) -> None:
    global _BACKEND, _TIMEOUT
    import importlib
    module, name = backend_path.split(":")
    _BACKEND = getattr(importlib.import_module(module), name)
    _TIMEOUT = timeout
    signal.signal(signal.SIGALRM, _alarm)


def _run_one(name: str) -> dict:
    from descend.testing.onnx_conformance import FAILED, node_cases, run_case, subject_op
    case = node_cases()[name]
    start = time.perf_counter()
    signal.alarm(_TIMEOUT)
    try:
        outcome = run_case(case, _BACKEND)
        result = {"name": name, "op": outcome.op, "status": outcome.status, "message": outcome.message}
    except _Timeout:
        result = {"name": name, "op": subject_op(case), "status": FAILED,
                  "message": f"timeout after {_TIMEOUT} s"}
    finally:
        signal.alarm(0)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def _run_all(names: list[str], args) -> list[dict]:
    """Every test in a pool of workers. Workers come from a fork server (forking this
    process after onnxruntime or OpenBLAS started threads can leave a lock held forever in
    the child), and a test that outlives its timeout even inside native code (where
    SIGALRM cannot interrupt it) costs its worker: the pool is replaced and the rest go on."""
    import multiprocessing.context
    context = multiprocessing.get_context("forkserver")
    pending = list(names)
    results: list[dict] = []
    while pending:
        pool = context.Pool(args.jobs, initializer=_worker_init, initargs=(BACKENDS[args.backend], args.timeout),
                            maxtasksperchild=200)
        jobs = [(name, pool.apply_async(_run_one, (name,))) for name in pending]
        pending = []
        hung = False
        for index, (name, job) in enumerate(jobs):
            if hung:  # what the other workers finished is kept; the rest runs again
                if job.ready():
                    results.append(job.get())
                else:
                    pending.append(name)
                continue
            try:
                results.append(job.get(timeout=args.timeout + 60))
            except multiprocessing.context.TimeoutError:
                results.append({"name": name, "op": "?", "status": "failed",
                                "message": f"hung for {args.timeout + 60} s (in native code)", "seconds": None})
                hung = True
            if sys.stderr.isatty():
                print(f"\r{len(results)}/{len(names)} {name[:60]:<60}", end="", file=sys.stderr)
        pool.terminate()
        pool.join()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    from descend.testing.onnx_conformance import node_cases, subject_op
    for r in results:
        if r["op"] == "?":
            r["op"] = subject_op(node_cases()[r["name"]])
    return results


def summarize(results: list[dict], claimed: set[str]) -> dict:
    per_op: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        per_op[r["op"]][r["status"]] += 1
    totals = Counter(r["status"] for r in results)
    claimed_results = [r for r in results if r["op"] in claimed]
    claimed_passed = sum(r["status"] == "passed" for r in claimed_results)
    return {
        "ops": {op: dict(c) for op, c in sorted(per_op.items())},
        "totals": {"total": len(results), "passed": totals["passed"], "failed": totals["failed"],
                   "unsupported": totals["unsupported"], "claimed_total": len(claimed_results),
                   "claimed_passed": claimed_passed},
    }


_LABELS = {"interpreter": "interpreter", "default": "compiled"}


def render_markdown(backends: dict, onnx_version: str) -> str:
    names = [b for b in ("interpreter", "default") if b in backends] + \
            [b for b in backends if b not in ("interpreter", "default")]
    lines = ["# ONNX support matrix", "",
             f"Generated by `bench/onnx_conformance.py --write` with onnx {onnx_version}: every node test of "
             "the installed onnx package, by the op type it tests, through each backend — `interpreter` is "
             "`descend.interpreter_backend` (the graph ops' reference semantics), `compiled` is "
             "`descend.backend` (the whole descent to native code at -O3). `descend ops` prints the same "
             "table. A test that is not passed is refused as unsupported (the op, or what is missing, is "
             "named); a failure is a wrong answer or a crash.", ""]
    for name in names:
        t = backends[name]["totals"]
        lines.append(f"- {_LABELS.get(name, name)}: **{t['passed']} / {t['total']} pass** "
                     f"({100 * t['passed'] / max(t['total'], 1):.1f}%), {t['failed']} fail, {t['unsupported']} "
                     f"unsupported; of the op types with a converter: {t['claimed_passed']} / {t['claimed_total']} "
                     f"({100 * t['claimed_passed'] / max(t['claimed_total'], 1):.1f}%)")
    lines += ["", "| op | " + " | ".join(f"{_LABELS.get(n, n)} passed" for n in names) + " | tests |",
              "| --- | " + " | ".join("---:" for _ in names) + " | ---: |"]
    ops = sorted({op for n in names for op in backends[n]["ops"]})
    for op in ops:
        counts = [backends[n]["ops"].get(op, {}) for n in names]
        total = max(sum(c.values()) for c in counts)
        lines.append(f"| {op} | " + " | ".join(str(c.get("passed", 0)) for c in counts) + f" | {total} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--filter", default="", help="regex: only tests whose name matches")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=60, help="seconds per test")
    ap.add_argument("--backend", choices=sorted(BACKENDS), default="default")
    ap.add_argument("--json", metavar="FILE", help="write every test's outcome")
    ap.add_argument("--write", action="store_true",
                    help="update frontends/onnx/support.json and docs/onnx-support.md")
    ap.add_argument("--show", type=int, default=200, help="failures to list")
    ap.add_argument("--from-json", metavar="FILE",
                    help="don't run: summarise (and --write) the outcomes a run saved with --json")
    args = ap.parse_args(argv)

    import onnx
    from descend.frontends.onnx import CONVERTERS
    from descend.testing.onnx_conformance import node_cases
    names = sorted(n for n in node_cases() if re.search(args.filter, n))
    start = time.perf_counter()
    results = []
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        results = [r for r in saved["results"] if r["name"] in set(names)]
        args.backend = saved["summary"].get("backend", args.backend)
    else:
        results = _run_all(names, args)
    results.sort(key=lambda r: r["name"])
    claimed = {op for (domain, op) in CONVERTERS if domain == ""}
    summary = summarize(results, claimed)
    summary["onnx"] = onnx.__version__
    summary["backend"] = args.backend

    print(f"{'op':<32} {'passed':>7} {'failed':>7} {'unsup.':>7}")
    for op, c in summary["ops"].items():
        print(f"{op:<32} {c.get('passed', 0):>7} {c.get('failed', 0):>7} {c.get('unsupported', 0):>7}")
    failures = [r for r in results if r["status"] == "failed"]
    if failures:
        print(f"\nfailures ({len(failures)}):")
        for r in failures[:args.show]:
            print(f"  {r['name']}: {r['message']}")
    t = summary["totals"]
    print(f"\nall node tests: {t['passed']}/{t['total']} passed ({100 * t['passed'] / max(t['total'], 1):.1f}%), "
          f"{t['failed']} failed, {t['unsupported']} unsupported")
    print(f"op types with a converter: {t['claimed_passed']}/{t['claimed_total']} passed "
          f"({100 * t['claimed_passed'] / max(t['claimed_total'], 1):.1f}%)")
    print(f"onnx {onnx.__version__}, backend {args.backend}, {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "results": results}, indent=1))
    if args.write:
        if args.filter:
            print("--write needs the whole run (no --filter)", file=sys.stderr)
            return 2
        # one record per backend, merged into the file: the interpreter's (graph semantics)
        # and the compiled path's counts sit side by side
        path = ROOT / "frontends" / "onnx" / "support.json"
        recorded = json.loads(path.read_text()) if path.exists() else {}
        backends = recorded.get("backends", {})
        backends[args.backend] = dict(summary, passed=[r["name"] for r in results if r["status"] == "passed"])
        path.write_text(json.dumps({"onnx": onnx.__version__, "backends": backends}, indent=1) + "\n")
        (ROOT / "docs" / "onnx-support.md").write_text(render_markdown(backends, onnx.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
