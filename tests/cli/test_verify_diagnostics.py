"""--split-input-file and --verify-diagnostics matching (descend.testing.diagnostics), with
hand-made diagnostics so the matching rules are tested apart from the parser."""

from descend.ir.diagnostics import Diagnostic
from descend.ir.location import UNKNOWN, FileLineColLoc
from descend.testing.diagnostics import (DiagnosticVerifier, join_outputs, parse_expectations,
                                         split_input_file)


def at(line, column=1):
    return FileLineColLoc("f.mlir", line, column)


def verify(text, *diagnostics, line_offset=0):
    verifier = DiagnosticVerifier.for_text(text, "f.mlir", line_offset)
    for diagnostic in diagnostics:
        verifier.process(diagnostic)
    return [d.message for d in verifier.finish()]


def test_split_keeps_whole_file_line_numbers():
    text = "a\nb\n// -----\nc\n  // -----  \nd\ne"
    chunks = split_input_file(text)
    assert [(c.text, c.line_offset) for c in chunks] == [("a\nb\n", 0), ("c\n", 3), ("d\ne", 5)]


def test_join_outputs_uses_marker_lines():
    assert join_outputs(["x\n", "y"]) == "x\n// -----\ny\n"


def test_same_line_and_relative_placements():
    text = ("op  // expected-error {{bad op}}\n"
            "// expected-warning@+1 {{careful}}\n"
            "op2\n"
            "// expected-note@-3 {{see}}\n")
    expectations, errors = parse_expectations(text, "f.mlir")
    assert not errors
    assert [(e.severity, e.line, e.substring) for e in expectations] == [
        ("error", 1, "bad op"), ("warning", 3, "careful"), ("note", 1, "see")]
    assert expectations[0].location == at(1, 8)  # the `expected-` comment


def test_above_and_below_skip_designator_lines():
    text = ("// expected-error@below {{one}}\n"
            "// expected-error@below {{two}}\n"
            "op\n"
            "// expected-remark@above {{three}}\n"
            "// expected-remark@above {{four}}\n")
    expectations, _ = parse_expectations(text, "f.mlir", line_offset=10)
    assert [e.line for e in expectations] == [13, 13, 13, 13]


def test_all_matched():
    text = "op // expected-error {{bad}}\n"
    error = Diagnostic("error", at(1), "a bad thing", [Diagnostic("note", at(1), "bad note")])
    assert verify(text + "// expected-note@-1 {{note}}\n", error) == []


def test_substring_not_produced_and_unexpected():
    text = "op // expected-error {{missing}}\n"
    assert verify(text, Diagnostic("error", at(1), "other")) == [
        "unexpected error: other", 'expected error "missing" was not produced']


def test_line_must_match():
    text = "op // expected-error {{bad}}\nop\n"
    assert verify(text, Diagnostic("error", at(2), "bad")) == [
        "unexpected error: bad", 'expected error "bad" was not produced']


def test_near_miss_on_severity():
    messages = verify("op // expected-error {{bad}}\n", Diagnostic("warning", at(1), "bad"))
    assert messages == ["'warning' diagnostic emitted when expecting a 'error'",
                        'expected error "bad" was not produced']


def test_regex_form():
    text = "op // expected-error-re {{type {{i[0-9]+}} is wrong}}\n"
    assert verify(text, Diagnostic("error", at(1), "the type i32 is wrong here")) == []
    assert verify(text, Diagnostic("error", at(1), "the type f32 is wrong")) != []
    # Text outside {{...}} is literal, not a pattern.
    literal = "op // expected-error-re {{a.b {{.*}}}}\n"
    assert verify(literal, Diagnostic("error", at(1), "axb c")) != []


def test_malformed_regex_is_reported():
    _, errors = parse_expectations("op // expected-error-re {{{{[}}}}\n", "f.mlir")
    assert errors and errors[0].message.startswith("invalid regex")
    _, errors = parse_expectations("op // expected-error-re {{a {{b}}\n", "f.mlir")
    assert errors and "no end" in errors[0].message


def test_unknown_location():
    text = "// expected-error@unknown {{lost}}\nop\n"
    assert verify(text, Diagnostic("error", UNKNOWN, "lost somewhere")) == []
    assert verify(text, Diagnostic("error", at(2), "lost")) == [
        "unexpected error: lost", 'expected error "lost" was not produced']


def test_no_expectations_no_diagnostics():
    assert verify("op\n") == []
