"""`descend opt` end to end: exit codes, what goes to stdout and stderr, atomic -o, reproducers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import descend
from descend import cli

GOOD = """\
func.func @add(%a: i32, %b: i32) -> i32 {
  %c = arith.addi %a, %b : i32
  return %c : i32
}
"""

# Line 3 has a syntax error at column 8.
BAD_SYNTAX = """\
func.func @f() {
  return
  %x = = arith.constant 1 : i32
}
"""

# Well-formed text, invalid IR: the function returns i32 but declares no result.
BAD_VERIFY = """\
func.func @f() {
  %c = arith.constant 1 : i32
  return %c : i32
}
"""

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "residual.mlir"


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def write(tmp_path):
    def write(text, name="input.mlir"):
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path
    return write


def test_prints_valid_ir(capsys, write):
    code, out, err = run(capsys, "opt", write(GOOD))
    assert (code, err) == (0, "")
    assert "func.func @add" in out and "arith.addi" in out


def test_generic_form_and_aliases(capsys, write):
    path = write(GOOD)
    outputs = {run(capsys, "opt", flag, path)[1]
               for flag in ("--generic", "--print-op-generic", "--mlir-print-op-generic")}
    assert len(outputs) == 1
    assert '"func.func"' in outputs.pop()


def test_debuginfo_prints_locations(capsys, write):
    code, out, _ = run(capsys, "opt", "--mlir-print-debuginfo", write(GOOD))
    assert code == 0 and "loc(" in out


def test_example_round_trips(capsys):
    code, custom, err = run(capsys, "opt", EXAMPLE)
    assert (code, err) == (0, "")
    code, generic, _ = run(capsys, "opt", "--generic", EXAMPLE)
    assert code == 0
    assert str(descend.parse(generic)) == custom  # generic -> parse -> custom is stable


def test_syntax_error_is_located_with_caret(capsys, write):
    path = write(BAD_SYNTAX)
    code, out, err = run(capsys, "opt", path)
    assert code == 1 and out == ""
    first, source, caret = err.splitlines()[:3]
    assert first.startswith(f"{path}:3:") and ": error: " in first
    assert source == "  %x = = arith.constant 1 : i32"
    assert caret.strip().startswith("^")
    assert "Traceback" not in err


def test_verifier_error(capsys, write):
    code, out, err = run(capsys, "opt", write(BAD_VERIFY))
    assert code == 1 and out == ""
    assert ": error: " in err and "Traceback" not in err


def test_undecodable_input_is_a_located_error(capsys, write):
    path = write(b"func.func @f() {\n  return \xff\xfe\n}\n")
    code, _, err = run(capsys, "opt", path)
    assert code == 1
    assert err.startswith(f"{path}:2:10: error:") and "UTF-8" in err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=80),
                 st.text(alphabet='%@^{}()<>[]:=,"!#-> \n0123456789abcfi.xtensor', max_size=80),
                 st.integers(0, len(GOOD)).map(lambda n: GOOD[:n])))
def test_no_traceback_whatever_the_bytes(tmp_path, capsys, data):
    path = tmp_path / "fuzz.mlir"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    code, _, err = run(capsys, "opt", path)
    assert code in (0, 1), err
    assert "Traceback" not in err and "internal error" not in err


def test_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", type("In", (), {"buffer": __import__("io").BytesIO(GOOD.encode())})())
    code, out, _ = run(capsys, "opt", "-")
    assert code == 0 and "func.func @add" in out


def test_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "opt", tmp_path / "nope.mlir")
    assert code == 1 and "cannot read" in err


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["opt", "--no-such-flag"])
    assert exit_info.value.code == 2


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"descend {descend.__version__}"


@pytest.mark.parametrize("pipeline", ["", "verify", "verify,verify", "builtin.module(verify)",
                                      "builtin.module()", " builtin.module( verify ) "])
def test_accepted_pipelines(capsys, write, pipeline):
    code, out, _ = run(capsys, "opt", write(GOOD), "-p", pipeline)
    assert code == 0 and "func.func" in out


def test_unknown_pass(capsys, write):
    code, out, err = run(capsys, "opt", write(GOOD), "-p", "builtin.module(canonicalise)")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == "descend opt: error: unknown pass 'canonicalise' (at column 16)"
    assert lines[1:3] == ["  builtin.module(canonicalise)", "                 ^"]
    assert "did you mean 'canonicalize'?" in err
    assert "registered passes: " in err and "cse" in err


@pytest.mark.parametrize("pipeline", ["builtin.module(verify", "verify)", "a,,b", "verify{x=1}"])
def test_malformed_pipelines(capsys, write, pipeline):
    code, _, err = run(capsys, "opt", write(GOOD), "-p", pipeline)
    assert code == 1 and err.startswith("descend opt: error:")


def test_output_file_written_atomically(capsys, write, tmp_path):
    target = tmp_path / "out.mlir"
    code, out, _ = run(capsys, "opt", write(GOOD), "-o", target)
    assert code == 0 and out == ""
    assert "func.func @add" in target.read_text()
    # A failing run leaves the previous output alone and no temporary file behind.
    before = sorted(os.listdir(tmp_path))
    code, _, _ = run(capsys, "opt", write(BAD_SYNTAX, "bad.mlir"), "-o", target)
    assert code == 1
    assert "func.func @add" in target.read_text()
    assert sorted(os.listdir(tmp_path)) == sorted(before + ["bad.mlir"])


def test_output_into_missing_directory(capsys, write, tmp_path):
    code, _, err = run(capsys, "opt", write(GOOD), "-o", tmp_path / "no" / "out.mlir")
    assert code == 1 and "cannot write" in err


def test_split_input_file_keeps_line_numbers(capsys, write):
    path = write(GOOD + "// -----\n" + BAD_SYNTAX + "// -----\n" + GOOD)
    code, out, err = run(capsys, "opt", "--split-input-file", path)
    assert code == 1
    assert err.startswith(f"{path}:8:")  # line 3 of the second chunk is line 8 of the file
    assert "  %x = = arith.constant 1 : i32" in err
    assert out.count("func.func @add") == 2 and out.count("// -----\n") == 2


def test_verify_diagnostics(capsys, write):
    text = ("func.func @f() {\n"
            "  %x = = arith.constant 1 : i32\n"
            "  // expected-error@-1 {{expected}}\n"
            "}\n")
    error_line = run(capsys, "opt", write(text, "plain.mlir"))[2].splitlines()[0]
    message = error_line.split(": error: ", 1)[1]
    matched = text.replace("{{expected}}", "{{" + message + "}}")
    code, _, err = run(capsys, "opt", "--verify-diagnostics", write(matched, "matched.mlir"))
    assert (code, err) == (0, "")
    unmatched = text.replace("{{expected}}", "{{something else}}")
    code, _, err = run(capsys, "opt", "--verify-diagnostics", write(unmatched, "unmatched.mlir"))
    assert code == 1
    assert f"unexpected error: {message}" in err
    assert 'expected error "something else" was not produced' in err


def test_verify_diagnostics_with_split_chunks(capsys, write):
    text = (GOOD + "// -----\n" + BAD_SYNTAX + "// expected-error@-2 {{found '='}}\n"
            + "// -----\n" + BAD_VERIFY.replace(": i32\n}", ": i32 // expected-error {{}}\n}"))
    # The verifier's message is not pinned here: an empty substring matches any message.
    code, out, err = run(capsys, "opt", "--split-input-file", "--verify-diagnostics", write(text))
    assert (code, err) == (0, ""), err
    assert "func.func @add" in out


def test_load_dialect_file(capsys, write, tmp_path):
    good = tmp_path / "mine.py"
    good.write_text("from descend.ir import Dialect\nMINE = Dialect('mine')\n")
    code, _, err = run(capsys, "opt", "--load-dialect", good, write(GOOD))
    assert (code, err) == (0, "")
    broken = tmp_path / "broken.py"
    broken.write_text("raise ValueError('nope')\n")
    code, _, err = run(capsys, "opt", "--load-dialect", broken, write(GOOD))
    assert code == 1 and "cannot load dialect file" in err and "nope" in err


def test_allow_unregistered_dialect(capsys, write):
    path = write('"foo.bar"() : () -> ()\n')
    assert run(capsys, "opt", path)[0] == 1
    code, out, _ = run(capsys, "opt", "--allow-unregistered-dialect", path)
    assert code == 0 and "foo.bar" in out


def crash(*args, **kwargs):
    raise RuntimeError("boom")


def test_internal_error_writes_reproducer(capsys, write, monkeypatch, tmp_path):
    monkeypatch.setattr(descend, "parse", crash)
    reproducer = tmp_path / "repro.mlir"
    path = write(GOOD)
    code, out, err = run(capsys, "opt", path, "--generic", "--crash-reproducer", reproducer)
    assert code == 3 and out == ""
    assert "descend: internal error: RuntimeError: boom" in err
    assert str(reproducer) in err and "Traceback" not in err
    text = reproducer.read_text()
    assert text.startswith(GOOD)
    assert f"descend opt {reproducer} --generic" in text


def test_internal_error_default_reproducer_and_debug(capsys, write, monkeypatch):
    monkeypatch.setattr(descend, "parse", crash)
    code, _, err = run(capsys, "opt", "--debug", write(GOOD))
    assert code == 3 and "Traceback" in err
    named = [word for word in err.split() if "descend-reproducer-" in word]
    assert named
    reproducer = Path(named[0].rstrip(";"))
    assert reproducer.read_text().startswith(GOOD)
    reproducer.unlink()


@pytest.mark.parametrize("command", [["descend"], [sys.executable, "-m", "descend"]])
def test_console_script_and_module(command, write):
    if command == ["descend"]:
        script = Path(sys.executable).with_name("descend")
        if not script.exists():
            pytest.skip("descend console script not installed next to this python")
        command = [str(script)]
    result = subprocess.run([*command, "opt", str(write(BAD_SYNTAX))], capture_output=True, text=True)
    assert result.returncode == 1
    assert ": error: " in result.stderr and "^" in result.stderr
