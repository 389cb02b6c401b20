"""Model benchmarks: descend's compiled models against onnxruntime (and numpy where a numpy
forward pass is the natural baseline) on real-shaped models, at each thread count.

Run by hand (minutes, not for CI):

    .venv/bin/python bench/models.py                       # the full set; writes docs/benchmarks.md
    .venv/bin/python bench/models.py --quick               # a smaller set in a few minutes
    .venv/bin/python bench/models.py --models mlp1,resnet18 --threads 1,2 --json out.json
    .venv/bin/python bench/models.py --models path/to/model.onnx   # any static-shape model

Per model, in separate child processes run one after another (so each loads one runtime and
no two measurements share the cores): onnxruntime times the model at every thread count
(intra_op_num_threads = threads, inter_op_num_threads = 1, sequential execution) and keeps
its outputs; descend imports and compiles it with `descend.compile` (timed), times it at
every thread count (`set_num_threads`), keeps its outputs and exports the shared library;
numpy runs its forward pass when the graph is only Gemm/MatMul/Add/Relu (the MLPs and the
matmul), with OPENBLAS_NUM_THREADS = threads. Memory: descend's planned arena beside the sum of all
intermediate buffers (loop-plan-memory's arenas in the compiled code), and the peak
resident set (VmHWM) of a process that loads one runtime and runs the model: the
exported library through `descend.runtime` (numpy + ctypes), or an onnxruntime session.
Compile time is that of the model alone: the child first compiles a one-op model, so
descend's one-time start-up (imports, rule files, LLVM initialisation) is not in it.

Each timing is a warm-up, then repeats chosen to fill `--budget` seconds (at least 5),
each repeat timing enough calls to last ~1 ms; reported: the median and p10-p90 of the
per-call times. Outputs are checked against onnxruntime: max |descend - ort| over
max |ort| must be within `--rtol`, else the row says FAIL. A model that fails to compile or
run keeps its row, with the error in one line."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
FULL = ["mlp1", "mlp64", "small_cnn", "resnet18", "mobilenet_v2", "transformer", "matmul1024"]
QUICK = ["mlp1", "small_cnn", "transformer", "matmul512", "resnet18_64"]
BEGIN, END = "<!-- begin: bench/models.py -->", "<!-- end: bench/models.py -->"
NUMPY_OPS = {"Gemm", "MatMul", "Add", "Relu"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The error as one line (its lines joined), for a table cell."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def max_rss_mb() -> float:
    """This process's peak resident set in MB: VmHWM, the high-water mark of its own address
    space. (ru_maxrss would do, but Linux carries the parent's peak into it across the
    vfork + exec that starts a child, so every child would report at least the parent's.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # Linux: kilobytes


# ---------------------------------------------------------------- timing

def measure(fn, budget: float, min_repeats: int = 5, max_repeats: int = 1000,
            min_measurement: float = 1e-3) -> dict:
    """Warm up, estimate one call, then `repeats` measurements of `number` calls each, sized
    so the whole takes about `budget` seconds (never fewer than `min_repeats` measurements,
    which a slow model may overrun). Times are per call, in ms."""
    start = time.perf_counter()
    fn()                                           # the first call pays page faults and lazy set-up
    one = time.perf_counter() - start
    warm = [one]
    while len(warm) < 10 and sum(warm) + one < 0.1 * budget:
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    one = sorted(warm[1:])[len(warm[1:]) // 2] if len(warm) > 1 else one
    number = max(1, math.ceil(min_measurement / max(one, 1e-9)))
    repeats = min(max_repeats, max(min_repeats, int(budget / (one * number))))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number * 1e3)
    import numpy as np
    values = np.asarray(times)
    return {"ms": float(np.median(values)), "p10_ms": float(np.percentile(values, 10)),
            "p90_ms": float(np.percentile(values, 90)), "std_ms": float(values.std()),
            "repeats": repeats, "number": number}


# ---------------------------------------------------------------- numpy baseline

class NumpyForward:
    """A numpy forward pass of a graph made only of Gemm, MatMul, Add and Relu (the MLPs and
    the matmul): what a user would write by hand. `flops` counts 2*m*n*k per product."""

    def __init__(self, model):
        from onnx import helper, numpy_helper
        self.weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.nodes = [(n.op_type, list(n.input), n.output[0],
                       {a.name: helper.get_attribute_value(a) for a in n.attribute}) for n in model.graph.node]
        self.outputs = [o.name for o in model.graph.output]
        self.flops = 0

    @staticmethod
    def supports(model) -> bool:
        return all(n.op_type in NUMPY_OPS for n in model.graph.node)

    def __call__(self, feed: dict) -> list:
        import numpy as np
        env = {**self.weights, **feed}
        flops = 0
        for op, inputs, output, attrs in self.nodes:
            args = [env[name] for name in inputs]
            if op == "Gemm":
                a = args[0].T if attrs.get("transA") else args[0]
                b = args[1].T if attrs.get("transB") else args[1]
                y = np.matmul(a, b)
                if attrs.get("alpha", 1.0) != 1.0:
                    y *= np.float32(attrs["alpha"])
                if len(args) > 2:
                    y += args[2] * np.float32(attrs.get("beta", 1.0))
                flops += 2 * a.shape[0] * a.shape[1] * b.shape[1]
            elif op == "MatMul":
                y = np.matmul(args[0], args[1])
                flops += 2 * y.size * args[0].shape[-1]
            elif op == "Add":
                y = args[0] + args[1]
            else:
                y = np.maximum(args[0], np.float32(0))
            env[output] = y
        self.flops = flops
        return [env[name] for name in self.outputs]


# ---------------------------------------------------------------- child processes
# Each child gets a JSON spec (model path, inputs .npz, threads, budget, where to write) and
# writes a JSON result; progress goes to stderr. Errors become {"error": one line}.

def _load_inputs(spec) -> dict:
    import numpy as np
    with np.load(spec["inputs"]) as data:
        return {name: data[name] for name in data.files}


def _save_outputs(path: str, outputs) -> None:
    import numpy as np
    np.savez(path, *outputs)


def free_cores(threads: int = 2, rounds: int = 8) -> float:
    """How many cores this process gets right now, up to `threads`: `threads` Python threads
    each hashing 4 MiB `rounds` times (sha256 releases the GIL and is pure compute), against
    one thread doing one share. A machine that lends out a core for seconds at a time (a
    noisy neighbour) makes any multi-thread timing meaningless; this says when it did."""
    import hashlib
    import threading
    data = bytes(4 << 20)

    def work():
        for _ in range(rounds):
            hashlib.sha256(data).digest()
    work()
    start = time.perf_counter()
    work()
    one = time.perf_counter() - start
    team = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for t in team:
        t.start()
    for t in team:
        t.join()
    return min(threads, threads * one / (time.perf_counter() - start))


def _timed_with_cores(run: dict, threads: int, fn, budget: float) -> None:
    """run["timing"] = measure(fn); for threads > 1 also run["cores"], the fewest cores the
    process had just before and just after."""
    before = free_cores(threads) if threads > 1 else None
    run["timing"] = measure(fn, budget)
    if before is not None:
        run["cores"] = round(min(before, free_cores(threads)), 2)


def child_onnxruntime(spec) -> dict:
    import onnxruntime as ort
    feed = _load_inputs(spec)
    result = {"runs": {}}
    for threads in spec["threads"]:
        run = result["runs"].setdefault(str(threads), {})
        try:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            start = time.perf_counter()
            session = ort.InferenceSession(spec["model"], options, providers=["CPUExecutionProvider"])
            run["session_s"] = time.perf_counter() - start
            outputs = session.run(None, feed)
            run["outputs"] = f"{spec['out']}.t{threads}.npz"
            _save_outputs(run["outputs"], outputs)
            _timed_with_cores(run, threads, lambda: session.run(None, feed), spec["budget"])
            log(f"    onnxruntime  threads={threads}: {run['timing']['ms']:.3f} ms "
                f"({run['timing']['repeats']} x {run['timing']['number']} calls)")
        except Exception as exc:  # noqa: BLE001 - one model's failure is a row, not the end
            run["error"] = one_line(exc)
            log(f"    onnxruntime  threads={threads}: {run['error']}")
    return result


def _warm_up_compiler() -> float:
    """Compile a one-op model, so the model's compile time leaves out descend's start-up."""
    import descend
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "warm_up", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    start = time.perf_counter()
    descend.compile(model, threads=1)
    return time.perf_counter() - start


def child_descend(spec) -> dict:
    import descend
    inputs = _load_inputs(spec)
    result = {"runs": {}}
    try:
        # importing first fails fast on an unsupported op; it is part of the compile time
        start = time.perf_counter()
        module = descend.import_onnx(spec["model"])
        import_s = time.perf_counter() - start
        try:
            result["startup_s"] = _warm_up_compiler()
        except Exception as exc:  # noqa: BLE001 - then the model's compile below says what is wrong
            log(f"    descend: compiling a one-op model failed: {one_line(exc)}")
        compiled = descend.compile(module, threads=spec["threads"][0])
    except Exception as exc:  # noqa: BLE001
        log(f"    descend: compile failed: {one_line(exc)}")
        return {"error": one_line(exc), "compile_rss_mb": max_rss_mb()}
    result["compile_s"] = import_s + compiled.compile_seconds
    log(f"    descend: compiled in {result['compile_s']:.1f} s")
    for threads in spec["threads"]:
        run = result["runs"].setdefault(str(threads), {})
        try:
            compiled.set_num_threads(threads)
            outputs = compiled.run(inputs)
            run["outputs"] = f"{spec['out']}.t{threads}.npz"
            _save_outputs(run["outputs"], outputs)
            start = time.perf_counter()
            compiled.run(inputs)
            log(f"    descend      threads={threads}: one run {1e3 * (time.perf_counter() - start):.1f} ms, timing...")
            _timed_with_cores(run, threads, lambda: compiled.run(inputs), spec["budget"])
            log(f"    descend      threads={threads}: {run['timing']['ms']:.3f} ms "
                f"({run['timing']['repeats']} x {run['timing']['number']} calls)")
        except Exception as exc:  # noqa: BLE001
            run["error"] = one_line(exc)
            log(f"    descend      threads={threads}: {run['error']}")
    result["compile_rss_mb"] = max_rss_mb()
    try:
        result.update(compiled.memory_plan)  # loop-plan-memory's arenas, as compiled
        result.update({"graph_" + k: v for k, v in arena(spec["model"]).items()})
    except Exception as exc:  # noqa: BLE001
        result["arena_error"] = one_line(exc)
    if spec.get("library"):
        try:
            start = time.perf_counter()
            compiled.export_library(spec["library"])
            result["export_s"] = time.perf_counter() - start
            result["library"] = spec["library"]
        except Exception as exc:  # noqa: BLE001
            result["export_error"] = one_line(exc)
    return result


def arena(model_path: str) -> dict:
    """The graph-level memory plan of the optimised graph (plan-memory), kept beside the
    compiled one (`CompiledModel.memory_plan`, loop-plan-memory's arenas, which also hold
    kernel-local buffers such as padded inputs)."""
    from descend.lowering.driver import lower
    from descend.rewrites.transforms.plan_memory import plan_function
    module = lower(model_path, stop_after="graph")
    totals = {"arena_bytes": 0, "intermediate_bytes": 0, "peak_live_bytes": 0}
    for op in module.walk():
        if op.name == "func.func" and op.regions and op.regions[0].blocks:
            plan = plan_function(op)
            totals["arena_bytes"] += plan.arena_bytes
            totals["intermediate_bytes"] += plan.unplanned_bytes
            totals["peak_live_bytes"] += plan.peak_live_bytes
    return totals


def child_numpy(spec) -> dict:
    import onnx
    forward = NumpyForward(onnx.load(spec["model"]))
    feed = _load_inputs(spec)
    forward(feed)
    timing = measure(lambda: forward(feed), spec["budget"])
    log(f"    numpy        threads={spec['threads'][0]}: {timing['ms']:.3f} ms")
    return {"timing": timing, "flops": forward.flops}


def _rss_runs(run, feed) -> None:
    for _ in range(3):
        run(feed)


def child_rss_descend(spec) -> dict:
    feed = _load_inputs(spec)
    base = max_rss_mb()
    import descend.runtime
    library = descend.runtime.load(spec["library"])
    library.set_num_threads(1)
    _rss_runs(library.run, feed)
    return {"rss_mb": max_rss_mb(), "base_mb": base}


def child_rss_onnxruntime(spec) -> dict:
    feed = _load_inputs(spec)
    base = max_rss_mb()
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(spec["model"], options, providers=["CPUExecutionProvider"])
    _rss_runs(lambda f: session.run(None, f), feed)
    return {"rss_mb": max_rss_mb(), "base_mb": base}


CHILDREN = {"onnxruntime": child_onnxruntime, "descend": child_descend, "numpy": child_numpy,
            "rss-descend": child_rss_descend, "rss-onnxruntime": child_rss_onnxruntime}


def run_child(kind: str, spec: dict, workdir: Path, timeout: float, env: dict | None = None) -> dict:
    """Run one child to completion; a crash or a timeout is an error result, not an exception."""
    spec_path = workdir / f"{kind}.spec.json"
    result_path = workdir / f"{kind}.result.json"
    result_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps({**spec, "result": str(result_path)}))
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(spec_path)]
    try:
        done = subprocess.run(command, env={**os.environ, **(env or {})}, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"{kind} timed out after {timeout:.0f} s"}
    if done.returncode != 0 or not result_path.exists():
        return {"error": f"{kind} process exited with code {done.returncode}"}
    return json.loads(result_path.read_text())


def child_main(kind: str, spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    try:
        result = CHILDREN[kind](spec)
    except Exception as exc:  # noqa: BLE001
        result = {"error": one_line(exc)}
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------- one model

def resolve(name: str):
    """(name, description, ModelProto) for a registered model name or an .onnx path."""
    from descend.testing.bench_models import BENCH_MODELS
    if name in BENCH_MODELS:
        entry = BENCH_MODELS[name]
        return entry.name, entry.description, entry.model()
    import onnx
    return Path(name).stem, name, onnx.load(name)


def random_feed(model, seed: int = 0) -> dict:
    """Inputs for every graph input that is not an initializer: normal floats, small ints."""
    import numpy as np
    from onnx import helper
    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    feed = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else 1 for d in tensor.shape.dim]
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        if dtype.kind == "f":
            feed[value.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind == "b":
            feed[value.name] = rng.integers(0, 2, shape).astype(bool)
        else:
            feed[value.name] = rng.integers(0, 10, shape).astype(dtype)
    return feed


def compare(got_path: str, want_path: str, rtol: float) -> dict:
    """Max |descend - onnxruntime| and that over max |onnxruntime| (a scale-free error)."""
    import numpy as np
    with np.load(got_path) as got_file, np.load(want_path) as want_file:
        got = [got_file[k] for k in sorted(got_file.files, key=lambda k: int(k.split("_")[1]))]
        want = [want_file[k] for k in sorted(want_file.files, key=lambda k: int(k.split("_")[1]))]
    if len(got) != len(want) or any(g.shape != w.shape for g, w in zip(got, want)):
        return {"check": "FAIL", "error": f"outputs differ in number or shape: "
                f"{[g.shape for g in got]} vs {[w.shape for w in want]}"}
    abs_err, scale = 0.0, 0.0
    for g, w in zip(got, want):
        if g.size == 0:
            continue
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        if not np.all(np.isfinite(g64) == np.isfinite(w64)):
            return {"check": "FAIL", "max_abs_err": float("nan"), "max_rel_err": float("nan")}
        finite = np.isfinite(w64)
        abs_err = max(abs_err, float(np.max(np.abs(g64 - w64)[finite], initial=0.0)))
        scale = max(scale, float(np.max(np.abs(w64)[finite], initial=0.0)))
    rel_err = abs_err / scale if scale > 0 else abs_err
    return {"check": "ok" if rel_err <= rtol else "FAIL", "max_abs_err": abs_err, "max_rel_err": rel_err}


def bench_model(name: str, args, workdir: Path) -> list[dict]:
    import numpy as np
    import onnx
    from onnx import numpy_helper
    name, description, model = resolve(name)
    directory = workdir / name
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / f"{name}.onnx"
    onnx.save(model, str(model_path))
    feed = random_feed(model)
    np.savez(directory / "inputs.npz", **feed)
    base = {"model": str(model_path), "inputs": str(directory / "inputs.npz"),
            "threads": args.threads, "budget": args.budget}
    timeout = args.timeout

    log("  onnxruntime ...")
    ort = run_child("onnxruntime", {**base, "out": str(directory / "ort")}, directory, timeout)
    log("  descend ...")
    library = str(directory / f"{name}.so") if args.rss else None
    des = run_child("descend", {**base, "out": str(directory / "descend"), "library": library},
                    directory, timeout)
    numpy_runs = {}
    if NumpyForward.supports(model):
        for threads in args.threads:
            env = {v: str(threads) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
            numpy_runs[threads] = run_child("numpy", {**base, "threads": [threads]}, directory, timeout, env)
    rss_des, rss_ort = {}, {}
    if args.rss:
        log("  peak RSS ...")
        if des.get("library"):
            rss_des = run_child("rss-descend", {**base, "library": des["library"]}, directory, timeout)
        else:
            rss_des = {"error": des.get("export_error") or des.get("error") or "no library"}
        rss_ort = run_child("rss-onnxruntime", base, directory, timeout)

    weights = sum(numpy_helper.to_array(t).nbytes for t in model.graph.initializer)
    records = []
    for threads in args.threads:
        d_run = des.get("runs", {}).get(str(threads), {})
        o_run = ort.get("runs", {}).get(str(threads), {})
        n_run = numpy_runs.get(threads, {})
        record = {"model": name, "description": description, "threads": threads,
                  "compile_s": des.get("compile_s"), "startup_s": des.get("startup_s"), "export_s": des.get("export_s"),
                  "arena_bytes": des.get("arena_bytes"), "intermediate_bytes": des.get("intermediate_bytes"),
                  "peak_live_bytes": des.get("peak_live_bytes"), "weights_bytes": weights,
                  "descend_rss_mb": rss_des.get("rss_mb"), "descend_rss_base_mb": rss_des.get("base_mb"),
                  "descend_compile_rss_mb": des.get("compile_rss_mb"),
                  "onnxruntime_rss_mb": rss_ort.get("rss_mb"), "onnxruntime_rss_base_mb": rss_ort.get("base_mb"),
                  "onnxruntime_session_s": o_run.get("session_s"), "flops": n_run.get("flops"),
                  "descend_cores": d_run.get("cores"), "onnxruntime_cores": o_run.get("cores")}
        for key, run in (("descend", d_run), ("onnxruntime", o_run), ("numpy", n_run)):
            timing = run.get("timing") or {}
            record[f"{key}_ms"] = timing.get("ms")
            for stat in ("p10_ms", "p90_ms", "std_ms", "repeats"):
                record[f"{key}_{stat}"] = timing.get(stat)
        errors = [e for e in (des.get("error"), d_run.get("error"), ort.get("error"), o_run.get("error"),
                              n_run.get("error")) if e]
        record.update({"check": None, "max_abs_err": None, "max_rel_err": None})
        reference = ort.get("runs", {}).get(str(args.threads[0]), {}).get("outputs")
        if d_run.get("outputs") and reference:
            checked = compare(d_run["outputs"], reference, args.rtol)
            errors += [checked.pop("error")] if "error" in checked else []
            record.update(checked)
        record["error"] = errors[0] if errors else None
        d_ms, o_ms, n_ms, flops = record["descend_ms"], record["onnxruntime_ms"], record["numpy_ms"], record["flops"]
        record["ratio"] = d_ms / o_ms if d_ms and o_ms else None
        record["numpy_ratio"] = d_ms / n_ms if d_ms and n_ms else None
        record["descend_gflops"] = flops / d_ms / 1e6 if flops and d_ms else None
        record["numpy_gflops"] = flops / n_ms / 1e6 if flops and n_ms else None
        record["percent_of_numpy"] = 100 * n_ms / d_ms if d_ms and n_ms else None
        records.append(record)
    return records


# ---------------------------------------------------------------- tables

def _num(value, fmt: str = ".3g") -> str:
    return "" if value is None else format(value, fmt)


def _ms(record, key: str) -> str:
    if record.get(f"{key}_ms") is None:
        return ""
    return (f"{record[f'{key}_ms']:.3g} [{record[f'{key}_p10_ms']:.3g}-{record[f'{key}_p90_ms']:.3g}]")


def _mb(value) -> str:
    return "" if value is None else f"{value / 2**20:.1f}"


LATENCY_HEADER = ["model", "threads", "descend ms [p10-p90]", "onnxruntime ms [p10-p90]", "descend / ort",
                  "numpy ms", "GFLOPS descend", "GFLOPS numpy", "% of numpy", "max rel err", "check"]
MODEL_HEADER = ["model", "compile s", "arena MB", "intermediates MB", "weights MB",
                "peak RSS descend MB", "peak RSS ort MB", "error"]


def latency_rows(records) -> list[list[str]]:
    return [[r["model"], str(r["threads"]), _ms(r, "descend"), _ms(r, "onnxruntime"),
             _num(r["ratio"], ".2f") + ("x" if r["ratio"] is not None else ""), _num(r["numpy_ms"]),
             _num(r["descend_gflops"], ".1f"), _num(r["numpy_gflops"], ".1f"),
             _num(r["percent_of_numpy"], ".1f"), _num(r["max_rel_err"], ".1e"),
             r["check"] or ("ERROR" if r["error"] else "")] for r in records]


def model_rows(records) -> list[list[str]]:
    rows, seen = [], set()
    for r in records:
        if r["model"] in seen:
            continue
        seen.add(r["model"])
        errors = [x["error"] for x in records if x["model"] == r["model"] and x["error"]]
        rows.append([r["model"], _num(r["compile_s"], ".1f"), _mb(r["arena_bytes"]),
                     _mb(r["intermediate_bytes"]), _mb(r["weights_bytes"]),
                     _num(r["descend_rss_mb"], ".0f"), _num(r["onnxruntime_rss_mb"], ".0f"),
                     errors[0] if errors else ""])
    return rows


def text_table(header, rows) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def markdown_table(header, rows) -> str:
    right = {i for i, h in enumerate(header) if h not in ("model", "check", "error")}
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---:" if i in right else "---" for i in range(len(header))) + " |"]
    lines += ["| " + " | ".join(x.replace("|", "\\|") for x in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- the machine, the page

def machine() -> dict:
    from importlib import metadata
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("onnxruntime", "numpy", "onnx", "llvmlite"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip() or None
        if commit and subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode:
            commit += " (with uncommitted changes)"
    except OSError:
        commit = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "versions": versions,
            "commit": commit, "date": datetime.date.today().isoformat(), "load_average": os.getloadavg()[0]}


# Fewer free cores than this fraction of the threads around a multi-thread timing (see
# `free_cores`) gets a note under the table: the run says little about threads.
CORES_NOTE = 0.75


def contention_notes(records) -> list[str]:
    """One line per multi-thread timing taken while the process had fewer cores than threads."""
    notes = []
    for r in records:
        for runtime in ("descend", "onnxruntime"):
            cores = r.get(f"{runtime}_cores")
            if cores is not None and r["threads"] > 1 and cores < CORES_NOTE * r["threads"]:
                notes.append(f"note: {r['model']} at {r['threads']} threads: {runtime} was timed while the "
                             f"process had {cores:.2f} free cores (the machine lent the others out); "
                             "this timing says little about threads")
    return notes


def generated_section(records, meta, command: str) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    descriptions = {r["model"]: r["description"] for r in records}
    notes = contention_notes(records)
    return "\n".join([
        BEGIN,
        f"Run on {meta['date']} at commit {meta['commit']} with `{command}`: {meta['cpu']}, "
        f"{meta['cores']} cores, load average {meta['load_average']:.1f} at the start; Python "
        f"{meta['python']}, {versions}.",
        "",
        "Models:",
        "",
        *[f"- `{name}`: {text}" for name, text in descriptions.items()],
        "",
        "Latency per call (median, p10-p90 in brackets; descend / ort above 1 means descend is slower):",
        "",
        markdown_table(LATENCY_HEADER, latency_rows(records)),
        *(["", *notes] if notes else []),
        "",
        "Compile time and memory (arena: descend's plan of the intermediates; intermediates: "
        "their sum with no reuse; peak RSS: a process running the model at 1 thread):",
        "",
        markdown_table(MODEL_HEADER, model_rows(records)),
        END])


def write_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Model benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


# ---------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help=f"comma-separated model names or .onnx paths "
                        f"(default: {','.join(FULL)}; with --quick: {','.join(QUICK)})")
    parser.add_argument("--quick", action="store_true", help="the smaller set, in a few minutes")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--budget", type=float, default=2.0,
                        help="seconds of timing per model, runtime and thread count (default 2; "
                             "at least 5 measurements are taken whatever it says)")
    parser.add_argument("--rtol", type=float, default=1e-3,
                        help="largest max|descend - ort| / max|ort| that passes (default 1e-3)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before a child process is killed")
    parser.add_argument("--no-rss", dest="rss", action="store_false",
                        help="skip the peak-RSS processes (and exporting the library for them)")
    parser.add_argument("--json", metavar="FILE", help="write the records (one per model and thread count)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", default=None,
                       help=f"write the tables into {DOC.relative_to(ROOT)} (the default for the full set)")
    group.add_argument("--no-write", dest="write", action="store_false")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.threads = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        parser.error(f"--threads takes comma-separated integers, got '{args.threads}'")
    if not args.threads or min(args.threads) < 1:
        parser.error("--threads needs at least one thread count of 1 or more")
    if args.write is None:
        args.write = not args.quick and not args.models
    args.models = [m for m in (args.models or "").split(",") if m] or (QUICK if args.quick else FULL)
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.child:
        return child_main(*args.child)
    from descend.testing.bench_models import BENCH_MODELS
    for name in args.models:            # unknown names fail before anything runs
        if name not in BENCH_MODELS and not (name.endswith(".onnx") and Path(name).exists()):
            print(f"bench/models.py: error: unknown model '{name}' (known: {', '.join(BENCH_MODELS)}; "
                  "or a path to an .onnx file)", file=sys.stderr)
            return 2
    meta = machine()
    command = " ".join(["python bench/models.py", *argv])
    log(f"{meta['cpu']}, {meta['cores']} cores; threads {args.threads}; budget {args.budget} s")
    records = []
    with tempfile.TemporaryDirectory(prefix="descend-bench-") as tmp:
        for index, name in enumerate(args.models, 1):
            log(f"[{index}/{len(args.models)}] {name}")
            start = time.perf_counter()
            try:
                records += bench_model(name, args, Path(tmp))
            except Exception as exc:  # noqa: BLE001 - building or saving the model failed
                records += [{"model": name, "threads": t, "error": one_line(exc)} for t in args.threads]
            log(f"  ({time.perf_counter() - start:.0f} s)")
    records = [_complete(r) for r in records]
    print(text_table(LATENCY_HEADER, latency_rows(records)))
    for note in contention_notes(records):
        print(note)
    print()
    print(text_table(MODEL_HEADER, model_rows(records)))
    if args.json:
        Path(args.json).write_text(json.dumps({"command": command, "machine": meta, "records": records},
                                              indent=1))
    if args.write:
        write_doc(generated_section(records, meta, command))
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0


def _complete(record: dict) -> dict:
    """Every key the tables read, None where a failure left it unmeasured."""
    keys = ["description", "descend_ms", "onnxruntime_ms", "compile_s", "arena_bytes", "intermediate_bytes", "weights_bytes",
            "descend_rss_mb", "onnxruntime_rss_mb", "numpy_ms", "ratio", "descend_gflops",
            "numpy_gflops", "percent_of_numpy", "max_rel_err", "check", "error"]
    return {**{k: None for k in keys}, **record}


if __name__ == "__main__":
    sys.exit(main())
