"""descend_parallel_for's thread pool (docs/threads.md): every index of a parallel range runs
exactly once on 1, 2, 3 and 8 threads (more threads than this machine's cores, ranges shorter
than the thread count, empty ranges), through the raw runtime call, a hand-written loop module,
descend.compile and an exported library; the pool's threads persist between calls and run
as many chunks at once as asked; the same tests pass on the pthread fallback
(DESCEND_THREAD_POOL=pthread); concurrent callers, a forked child, unloading a library and
onnxruntime in the same process neither hang nor compute wrong results."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import descend
from descend.ir.interpreter import interpret
from descend.lowering import codegen
from descend.lowering.native import compile_loop_module
from descend.testing import onnx_models

needs_cc = pytest.mark.skipif(codegen.find_cc() is None, reason="no C compiler to link with")
THREADS = (1, 2, 3, 8)
ROOT = Path(__file__).resolve().parents[1]

# fill(count, owner, n, threads): for i in [0, n) in parallel, count[i] += 1 and
# owner[i] = pthread_self() of the thread that ran i
MARK = """
module {
  llvm.func @descend_parallel_for(!llvm.ptr, !llvm.ptr, i64, i32)
  llvm.func @pthread_self() -> i64
  llvm.func internal @body(%ctx: !llvm.ptr, %begin: i64, %end: i64) {
    %owners = llvm.getelementptr inbounds %ctx[1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
    %count = llvm.load %ctx : !llvm.ptr -> !llvm.ptr
    %owner = llvm.load %owners : !llvm.ptr -> !llvm.ptr
    %self = llvm.call @pthread_self() : () -> i64
    llvm.br ^head(%begin : i64)
  ^head(%i: i64):
    %more = llvm.icmp "slt" %i, %end : i64
    llvm.cond_br %more, ^loop, ^exit
  ^loop:
    %p = llvm.getelementptr inbounds %count[%i] : (!llvm.ptr, i64) -> !llvm.ptr, i32
    %v = llvm.load %p : !llvm.ptr -> i32
    %one = llvm.mlir.constant(1 : i32) : i32
    %v1 = llvm.add %v, %one : i32
    llvm.store %v1, %p : i32, !llvm.ptr
    %q = llvm.getelementptr inbounds %owner[%i] : (!llvm.ptr, i64) -> !llvm.ptr, i64
    llvm.store %self, %q : i64, !llvm.ptr
    %step = llvm.mlir.constant(1 : i64) : i64
    %next = llvm.add %i, %step : i64
    llvm.br ^head(%next : i64)
  ^exit:
    llvm.return
  }
  llvm.func @fill(%ctx: !llvm.ptr, %n: i64, %threads: i32) {
    %fn = llvm.mlir.addressof @body : !llvm.ptr
    llvm.call @descend_parallel_for(%fn, %ctx, %n, %threads) : (!llvm.ptr, !llvm.ptr, i64, i32) -> ()
    llvm.return
  }
}
"""

# parallel loops with 7 trips, 2 trips (fewer than most thread counts), 3 trips of step 2
# from 1, and none (lower == upper: its body must not run)
LOOPS = """
module {
  func.func @main(%x: memref<7x3xf32>, %y: memref<7x3xf32>, %z: memref<2xf32>, %w: memref<7xf32>) attributes {onnx.inputs = ["x"], onnx.outputs = ["y", "z", "w"]} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c7 = arith.constant 7 : index
    %k = arith.constant 2.5 : f32
    loop.for %i = %c0 to %c7 step %c1 {kind = "parallel"} {
      loop.for %j = %c0 to %c3 step %c1 {
        %v = loop.load %x[%i, %j] : memref<7x3xf32>
        %v2 = arith.mulf %v, %k : f32
        loop.store %v2, %y[%i, %j] : memref<7x3xf32>
        loop.yield
      }
      loop.store %k, %w[%i] : memref<7xf32>
      loop.yield
    }
    loop.for %i = %c0 to %c2 step %c1 {kind = "parallel"} {
      %a = loop.load %x[%i, %c0] : memref<7x3xf32>
      %b = loop.load %x[%i, %c1] : memref<7x3xf32>
      %s = arith.addf %a, %b : f32
      loop.store %s, %z[%i] : memref<2xf32>
      loop.yield
    }
    loop.for %i = %c1 to %c7 step %c2 {kind = "parallel"} {
      %a = loop.load %x[%i, %c2] : memref<7x3xf32>
      loop.store %a, %w[%i] : memref<7xf32>
      loop.yield
    }
    loop.for %i = %c3 to %c3 step %c1 {kind = "parallel"} {
      %big = arith.constant 1000.0 : f32
      loop.store %big, %z[%c0] : memref<2xf32>
      loop.yield
    }
    return
  }
}
"""


@pytest.fixture(scope="module")
def mark():
    engine = codegen.jit(descend.parse(MARK))
    return engine.function("fill", None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32)


def run_mark(fill, n: int, threads: int):
    """(count, owner) after one parallel call over [0, n), with one guard element past n."""
    count = np.zeros(n + 1, np.int32)
    owner = np.zeros(n + 1, np.int64)
    ctx = (ctypes.c_void_p * 2)(count.ctypes.data, owner.ctypes.data)
    fill(ctypes.addressof(ctx), n, threads)
    return count, owner


def threads_now() -> int:
    return len(os.listdir("/proc/self/task"))


# ---- correctness: what the fallback run repeats -----------------------------------------------

@pytest.mark.parametrize("threads", THREADS + (0, -2))
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 7, 8, 1000, 4099])
def test_correct_every_index_runs_once(mark, n, threads):
    count, owner = run_mark(mark, n, threads)
    np.testing.assert_array_equal(count[:n], 1)
    assert count[n] == 0 and owner[n] == 0  # nothing past the range
    used = len(set(owner[:n].tolist()))
    assert used <= max(1, min(threads, n))
    if codegen.thread_pool() == "pool" and n:
        assert used == max(1, min(threads, n))  # balanced chunks: every thread gets work


def test_correct_hand_written_loops():
    module = descend.parse(LOOPS)
    native = compile_loop_module(module)
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    expected = [np.zeros((7, 3), np.float32), np.zeros(2, np.float32), np.zeros(7, np.float32)]
    interpret(module, "main", [x, *expected])
    assert expected[1][0] != 1000.0
    for threads in THREADS:
        native.set_num_threads(threads)
        for got, want in zip(native.run([x]), expected):
            np.testing.assert_array_equal(got, want)


def _has_parallel_loops(compiled) -> bool:
    return any(op.name == "llvm.func" and op.sym_name.value == codegen.PARALLEL_FOR
               for op in compiled.module.walk())


@pytest.fixture(scope="module")
def models():
    """Models whose kernels get parallel loops (a batch axis > 1 with enough work)."""
    built = {"mlp": onnx_models.mlp(batch=8, sizes=(64, 512, 64, 10)),
             "small_cnn": onnx_models.small_cnn(batch=3)}
    return {name: (model, descend.compile(model, threads=1)) for name, model in built.items()}


@pytest.mark.parametrize("name", ["mlp", "small_cnn"])
def test_correct_compiled_models_on_any_thread_count(models, name):
    model, compiled = models[name]
    assert _has_parallel_loops(compiled)
    inputs = onnx_models.random_input(model, seed=5)
    compiled.set_num_threads(1)
    (expected,) = compiled.run(inputs)
    from onnx.reference import ReferenceEvaluator
    (reference,) = ReferenceEvaluator(model).run(None, inputs)
    np.testing.assert_allclose(expected, reference, rtol=1e-4, atol=1e-5)
    for threads in THREADS:
        compiled.set_num_threads(threads)
        for _ in range(3):  # the pool is reused between calls
            np.testing.assert_array_equal(compiled.run(inputs)[0], expected)


@needs_cc
def test_correct_exported_library_on_any_thread_count(models, tmp_path):
    model, compiled = models["mlp"]
    inputs = onnx_models.random_input(model, seed=6)
    compiled.set_num_threads(1)
    (expected,) = compiled.run(inputs)
    library = descend.runtime.load(compiled.export_library(tmp_path / "mlp.so"))
    for threads in THREADS:
        library.set_num_threads(threads)
        np.testing.assert_array_equal(library.run(inputs)[0], expected)


# ---- the pool itself --------------------------------------------------------------------------

needs_pool = pytest.mark.skipif(codegen.thread_pool() != "pool", reason="DESCEND_THREAD_POOL=pthread")


@needs_pool
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc")
def test_the_pool_is_persistent(mark):
    run_mark(mark, 1000, 3)
    before = threads_now()
    _, first = run_mark(mark, 1000, 3)
    for threads in (3, 2, 3) * 20:
        _, owner = run_mark(mark, 1000, threads)
        assert threads_now() == before  # no thread created or ended per call
    assert set(owner.tolist()[:1000]) <= set(first.tolist()[:1000])  # the same threads
    assert len(set(first.tolist()[:1000])) == 3


def test_concurrent_callers():
    """Two Python threads calling at once: one gets the pool, the other runs its range itself."""
    import threading
    module = descend.parse(MARK)
    fills = [codegen.jit(module).function("fill", None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32)
             for _ in range(2)]
    errors = []

    def call(fill):
        try:
            for _ in range(200):
                count, _ = run_mark(fill, 513, 2)
                assert (count[:513] == 1).all() and count[513] == 0
        except AssertionError as exc:  # noqa: PERF203
            errors.append(exc)
    workers = [threading.Thread(target=call, args=(f,)) for f in fills]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors and not any(w.is_alive() for w in workers)


def run_script(body: str, env=None, timeout: float = 120, preamble: bool = True) -> str:
    """Run Python code in a fresh interpreter, after PREAMBLE (a JIT-compiled MARK as `fill`);
    a hang fails the test by its timeout."""
    script = (PREAMBLE if preamble else "") + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


PREAMBLE = f"""
import ctypes, os, sys
import numpy as np
sys.path.insert(0, {str(Path(__file__).parent)!r})
import descend
from descend.lowering import codegen
from test_thread_pool import MARK, run_mark
fill = codegen.jit(descend.parse(MARK)).function("fill", None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32)
"""


def test_fallback_runs_the_same_tests():
    """DESCEND_THREAD_POOL=pthread: threads created and joined per call, same results."""
    done = subprocess.run([sys.executable, "-m", "pytest", __file__, "-q", "-x", "-k", "correct",
                           "-p", "no:cacheprovider"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DESCEND_THREAD_POOL": "pthread"}, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
    out = run_script("""
    print(codegen.thread_pool())
    before = len(os.listdir("/proc/self/task"))
    count, owner = run_mark(fill, 1000, 3)
    assert (count[:1000] == 1).all()
    print(len(os.listdir("/proc/self/task")) - before)
    """, env={"DESCEND_THREAD_POOL": "pthread"})
    assert out.split() == ["pthread", "0"]  # no thread outlives the call


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_starts_its_own_pool():
    """The pool's threads do not survive fork: the child notices the new pid and starts its
    own (a new JIT module shares it); the parent keeps its pool."""
    out = run_script("""
    count, owner = run_mark(fill, 1000, 2)
    parent = set(owner[:1000].tolist())
    pid = os.fork()
    if pid == 0:
        import signal
        signal.alarm(30)
        again = codegen.jit(descend.parse(MARK)).function("fill", None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32)
        for f in (fill, again, fill):
            count, owner = run_mark(f, 1000, 2)
            assert (count[:1000] == 1).all()
        print("child", codegen.thread_pool(), len(set(owner[:1000].tolist())), flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    count, owner = run_mark(fill, 1000, 2)
    assert (count[:1000] == 1).all()
    print("status", status, "parent", set(owner[:1000].tolist()) == parent)
    """, timeout=120)
    expected_threads = 2 if codegen.thread_pool() == "pool" else 1
    assert f"child {codegen.thread_pool()} " in out
    assert "status 0 parent True" in out or codegen.thread_pool() == "pthread"
    if codegen.thread_pool() == "pool":
        assert f"child pool {expected_threads}" in out


@needs_cc
def test_an_unloaded_library_stops_its_threads(models, tmp_path):
    """dlclose runs the library's destructor, which ends and joins its workers (left running,
    they would jump into unmapped code); a process that exits with the pool alive exits."""
    _, compiled = models["mlp"]
    path = compiled.export_library(tmp_path / "mlp.so")
    out = run_script(f"""
    import _ctypes, os, time
    import numpy as np
    import descend
    before = len(os.listdir("/proc/self/task"))
    library = descend.runtime.load({str(path)!r})
    library.set_num_threads(3)
    x = np.ones(library.get_inputs()[0].shape, np.float32)
    (y,) = library.run([x])
    during = len(os.listdir("/proc/self/task"))
    library.close()
    _ctypes.dlclose(library.lib._handle)
    time.sleep(0.2)
    print(during - before, len(os.listdir("/proc/self/task")) - before)
    library = descend.runtime.load({str(path)!r})  # exits with its pool alive
    library.set_num_threads(2)
    library.run([x])
    """, preamble=False)
    assert out.split() == (["2", "0"] if codegen.thread_pool() == "pool" else ["0", "0"])


def test_onnxruntime_in_the_same_process():
    pytest.importorskip("onnxruntime")
    out = run_script("""
    import numpy as np, onnxruntime as ort
    import descend
    from descend.testing import onnx_models
    model = onnx_models.mlp(batch=8, sizes=(64, 512, 64, 10))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    compiled = descend.compile(model, threads=2)
    inputs = onnx_models.random_input(model, seed=1)
    for _ in range(30):
        (a,) = session.run(None, inputs)
        (b,) = compiled.run(inputs)
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    print("ok")
    """, timeout=300, preamble=False)
    assert out.strip() == "ok"
