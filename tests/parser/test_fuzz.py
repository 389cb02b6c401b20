"""parser: mutation fuzzing. Random byte edits and token deletions, duplications and swaps
of valid files either parse (and then print and parse again) or raise a DiagnosticError
rendered as `file:line:col: error: ...`; never another exception, never a hang."""

from __future__ import annotations

import random
import re
import signal
import time
from pathlib import Path

import pytest

import descend

ROOT = Path(__file__).parents[2]
CONTEXT = descend.Context(allow_unregistered=True)
RENDERED = re.compile(r"^fuzz\.mlir:\d+:\d+: error: ", re.M)
CASES_PER_SEED = 100
SECONDS_PER_CASE = 5

GENERIC = r'''
#map = affine_map<(d0, d1)[s0] -> (d0 * 4 + d1 floordiv 2, s0 mod 3)>
!t = tensor<?x4xf32, #tst.enc<"csr">>
"test.module"() ({
^bb0(%arg0: i32 loc("in":1:1), %arg1: !t):
  %0:2 = "test.pair"(%arg0) <{p = [1, 2.5, "s\0A"], q = @a::@b}> : (i32) -> (i32, f16)
  "test.graph"() ({
    %a = "test.add"(%b, %0#0) : (i32, i32) -> i32
    %b = "test.neg"(%a) {m = #map, u} : (i32) -> i32
  }) : () -> ()
  "test.br"(%0#1)[^bb1] : (f16) -> () loc(fused["a":1:2 to :5, callsite("x" at #site)])
^bb1:  // a comment
  %c = "test.c"() {d = dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>, e = array<i64: 1, -2>,
                   f = dense<0x7FC00000> : vector<4xf32>, g = 0x7FF0000000000000 : f64,
                   h = distinct[0]<unit>, i = affine_set<(d0) : (d0 - 1 >= 0)>} : () -> vector<[4]xi1>
  "test.cond_br"(%c)[^bb1, ^bb2] : (vector<[4]xi1>) -> ()
^bb2:
  "test.return"(%arg1) : (!t) -> ()
}) : () -> ()
#site = loc("site":9:9)
'''

REGISTERED = r'''
func.func @select(%x: i32, %y: i32) -> i32 {
  %zero = arith.constant 0 : i32
  %lt = arith.cmpi slt, %x, %zero : i32
  %s = arith.select %lt, %y, %x : i32
  %f = arith.constant dense<[1.0, -0.0]> : tensor<2xf32>
  %e = math.exp %f : tensor<2xf32>
  %r = func.call @select(%s, %y) : (i32, i32) -> i32
  return %r : i32
}
func.func private @decl(tensor<*xf32>) -> (i1, index)
'''

RESOURCES = r'''
"test.op"() {a = dense_resource<blob> : tensor<2xi32>, "quoted key" = "\E2\82\AC"} : () -> ()
{-#
  dialect_resources: {
    builtin: {
      blob: "0x040000000100000002000000"
    }
  }
#-}
'''


def sources() -> dict[str, str]:
    found = {"generic": GENERIC, "registered": REGISTERED, "resources": RESOURCES}
    residual = ROOT / "examples" / "residual.mlir"
    if residual.exists():
        found["residual"] = residual.read_text()
    return found


_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|%[\w$.\-]+(?:#\d+)?|\^[\w$.\-]+|[@#!]?[A-Za-z_][\w$.]*|'
                    r'-?0x[0-9a-fA-F]+|-?\d+(?:\.\d*)?(?:e[-+]?\d+)?|->|::|\{-#|#-\}|\s+|//[^\n]*|.',
                    re.S)
_INTERESTING_BYTES = b'{}()[]<>"\\%^#!@:,=-?x0\n\x00\xff\xc3'


def mutate(text: str, rng: random.Random) -> str | bytes:
    """One to three random edits of bytes or tokens."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["byte", "byte", "delete", "duplicate", "swap", "insert"])
        if kind == "byte":
            data = bytearray(text.encode("utf-8", "surrogateescape")) if isinstance(text, str) else bytearray(text)
            if not data:
                continue
            pos = rng.randrange(len(data))
            action = rng.choice(["replace", "insert", "delete"])
            byte = rng.choice(_INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
            if action == "replace":
                data[pos] = byte
            elif action == "insert":
                data.insert(pos, byte)
            else:
                del data[pos]
            try:
                text = bytes(data).decode("utf-8")
            except UnicodeDecodeError:
                return bytes(data)  # invalid UTF-8 is itself a case: stop mutating here
            continue
        tokens = [t for t in _TOKEN.findall(text)]
        significant = [i for i, t in enumerate(tokens) if not t.isspace()]
        if len(significant) < 2:
            continue
        i = rng.choice(significant)
        if kind == "delete":
            del tokens[i]
        elif kind == "duplicate":
            tokens.insert(i, tokens[i])
        elif kind == "swap":
            j = rng.choice(significant)
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens.insert(i, " " + tokens[rng.choice(significant)] + " ")
        text = "".join(tokens)
    return text


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def check_one(text: str | bytes) -> str:
    """Parse one input; return 'ok' or 'error', fail the test on anything else."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS_PER_CASE)
    try:
        try:
            module = descend.parse(text, filename="fuzz.mlir", context=CONTEXT)
        except descend.DiagnosticError as exc:
            rendered = str(exc)
            assert RENDERED.search(rendered), f"diagnostic without a position:\n{rendered}\n--- input:\n{text!r}"
            return "error"
        # What parses must print, and what prints must parse again to the same text.
        printed = module.print(generic=True, debuginfo=True)
        again = descend.parse(printed, filename="fuzz.mlir", context=CONTEXT)
        assert again.print(generic=True, debuginfo=True) == printed, f"unstable print of:\n{text!r}"
        return "ok"
    except Hang:
        pytest.fail(f"parser hung for {SECONDS_PER_CASE}s on:\n{text!r}")
    except descend.DiagnosticError as exc:
        pytest.fail(f"the printed form of a parsed input does not parse:\n{exc}\n--- input:\n{text!r}")
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 -- the point of the test
        import traceback
        pytest.fail(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}\n--- input:\n{text!r}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", sorted(sources()))
def test_sources_parse_unchanged(name):
    assert check_one(sources()[name]) == "ok"


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM for the hang guard")
@pytest.mark.parametrize("seed", range(8))
def test_mutations_never_crash_or_hang(seed):
    rng = random.Random(seed)
    texts = sources()
    names = sorted(texts)
    outcomes = {"ok": 0, "error": 0}
    started = time.monotonic()
    for _ in range(CASES_PER_SEED):
        name = rng.choice(names)
        outcomes[check_one(mutate(texts[name], rng))] += 1
    assert outcomes["error"] > 0  # the mutations do break things
    assert time.monotonic() - started < 60
