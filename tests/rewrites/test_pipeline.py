"""Textual pipelines: MLIR's syntax and xDSL's bare lists, printing back, and errors that
say what was found, what was expected and where."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from descend.rewrites import PassManager, PipelineError, parse_pipeline
from descend.rewrites.pipeline import parse_pipeline_syntax


@pytest.mark.parametrize("text, printed", [
    ("", "builtin.module()"),
    ("builtin.module()", "builtin.module()"),
    ("cse", "builtin.module(cse)"),
    ("canonicalize,cse", "builtin.module(canonicalize,cse)"),
    ("builtin.module(canonicalize,cse)", "builtin.module(canonicalize,cse)"),
    ("builtin.module(func.func(canonicalize,cse),symbol-dce)",
     "builtin.module(func.func(canonicalize,cse),symbol-dce)"),
    ("func.func(cse),symbol-dce", "builtin.module(func.func(cse),symbol-dce)"),
    ("func.func(cse)", "builtin.module(func.func(cse))"),
    (" builtin.module ( func.func ( cse , dce ) , inline ) ",
     "builtin.module(func.func(cse,dce),inline)"),
    ("builtin.module(canonicalize{max-iterations=3 disable-patterns=a,b})",
     "builtin.module(canonicalize{max-iterations=3 disable-patterns=a,b})"),
    ("canonicalize{max-iterations=10}", "builtin.module(canonicalize)"),  # the default is not printed
    ("builtin.module(any(cse),builtin.module(dce))", "builtin.module(any(cse),builtin.module(dce))"),
    ("builtin.module(func.func())", "builtin.module(func.func())"),
])
def test_parse_and_print(text, printed):
    pm = PassManager.parse(text)
    assert str(pm) == printed
    assert str(PassManager.parse(printed)) == printed  # printing is a fixed point


def test_structure_of_a_parsed_pipeline():
    pm = parse_pipeline("builtin.module(func.func(canonicalize{max-iterations=3},cse),symbol-dce)")
    nested, symbol_dce = pm.passes
    assert nested.anchor == "func.func"
    assert [p.name for p in nested.passes] == ["canonicalize", "cse"]
    assert nested.passes[0].max_iterations == 3
    assert symbol_dce.name == "symbol-dce"
    assert [p.name for p in pm.all_passes()] == ["canonicalize", "cse", "symbol-dce"]


def test_a_manager_for_another_root_anchor():
    pm = PassManager.parse("func.func(cse)", anchor="func.func")
    assert str(pm) == "func.func(cse)" and pm.anchor == "func.func"
    assert str(PassManager.parse("cse", anchor=None)) == "any(cse)"


def test_built_programmatically_prints_the_same():
    from descend.rewrites.transforms import CSE, DCE, SymbolDCE
    pm = PassManager()
    pm.nest("func.func").add(CSE()).add(DCE())
    pm.add(SymbolDCE())
    assert str(pm) == "builtin.module(func.func(cse,dce),symbol-dce)"
    assert str(PassManager.parse(str(pm))) == str(pm)


def error(text: str) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        PassManager.parse(text)
    return caught.value


@pytest.mark.parametrize("text, message, column", [
    ("builtin.module(cse", "expected ')' or ',', found the end of the pipeline", 19),
    ("cse)", "expected ',' or the end of the pipeline, found ')'", 4),
    ("cse,,dce", "expected a pass or op name, found ','", 5),
    ("cse;dce", "unexpected character ';'", 4),
    ("cse{a=1", "unterminated pass options: this '{' is never closed", 4),
    ("builtin.module(cse dce)", "found 'dce'", 20),
])
def test_syntax_errors_say_what_was_found_expected_and_where(text, message, column):
    exc = error(text)
    assert message in exc.message and exc.column == column
    assert exc.render_lines()[1:3] == [f"  {text}", "  " + " " * (column - 1) + "^"]


def test_unknown_pass_points_at_it_and_suggests():
    exc = error("builtin.module(func.func(csee))")
    assert (exc.message, exc.column) == ("unknown pass 'csee'", 26)
    assert exc.notes[0] == "did you mean 'cse'?"
    assert exc.notes[1].startswith("registered passes: ")


def test_option_errors_point_at_the_options():
    exc = error("builtin.module(canonicalize{max-iterations=many})")
    assert exc.column == 28
    assert exc.message == "option 'max-iterations' of pass 'canonicalize' expects an integer, got 'many'"


def test_anchor_mismatch_is_refused_at_construction():
    exc = error("builtin.module(func.func(symbol-dce))")
    assert exc.message == "pass 'symbol-dce' runs on 'builtin.module' ops only, but is nested under 'func.func'"
    assert exc.column == 26
    assert "runs on 'builtin.module' ops only" in error("builtin.module(any(inline))").message


def test_parentheses_after_a_pass_name_or_options_on_an_anchor():
    exc = error("builtin.module(cse())")
    assert exc.message == "expected an operation name before '(', found 'cse'"
    assert exc.notes == ("'cse' is a pass: passes take no '(...)'",)
    assert error("func.func{x=1}(cse)").message == "op anchor 'func.func' takes no options"


def test_an_op_name_used_as_a_pass():
    exc = error("builtin.module(func.func)")
    assert exc.message == "unknown pass 'func.func'"
    assert "func.func(pass,...)" in exc.notes[0]


def test_an_unknown_nested_anchor_fails_when_the_pipeline_runs():
    import descend
    pm = PassManager.parse("builtin.module(func.fun(cse))")
    with pytest.raises(PipelineError, match="nests passes under 'func.fun', which is not a registered"):
        pm.run(descend.parse("func.func @f() { return }"))


def test_running_on_the_wrong_root_op():
    import descend
    module = descend.parse("func.func @f() { return }")
    with pytest.raises(PipelineError, match="anchored on 'func.func' cannot run on a 'builtin.module'"):
        PassManager.parse("cse", anchor="func.func").run(module)


_names = st.sampled_from(["cse", "dce", "canonicalize", "verify", "canonicalize{max-iterations=3}"])


@st.composite
def _pipelines(draw, depth: int = 2) -> str:
    items = []
    for _ in range(draw(st.integers(0, 3))):
        if depth and draw(st.booleans()):
            items.append(f"{draw(st.sampled_from(['func.func', 'any']))}({draw(_pipelines(depth - 1))})")
        else:
            items.append(draw(_names))
    return ",".join(items)


@given(_pipelines())
def test_printing_a_parsed_pipeline_is_stable(text):
    printed = str(PassManager.parse(f"builtin.module({text})"))
    assert str(PassManager.parse(printed)) == printed
    assert parse_pipeline_syntax(printed)[0].name == "builtin.module"
