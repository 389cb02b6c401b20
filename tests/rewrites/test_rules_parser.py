"""`.rules` files: every syntax form, located errors, and the round trip through str(rule)."""

from __future__ import annotations

import pytest

from descend.ir import DiagnosticError, FloatType, IntegerAttr, TensorType, i32, i64
from descend.rewrites import (BUILDERS, CONSTRAINTS, Call, Const, OpTree, Rule, RuleSet, TypeVar,
                              Var, builder_function, constraint_function, load_rules, parse_rules)

FORMS = """\
# header comment: not a law (a blank line follows)

# x * 1 -> x
rule muli-one:
  arith.muli(x, 1) -> x

# transpose(transpose(x, p), q) -> x
#   when q undoes p
rule cmp-swap:
  arith.cmpi(x, y) {predicate = p}
    where same_type(x, y)
    -> arith.cmpi(x, y) {predicate = p}

rule addi-constants benefit 3:
  arith.addi(arith.addi(x, const(c1)), const(c2)) -> arith.addi(x, arith.addi(c1, c2))

rule typed-example:
  arith.addi(x : integer, y : t) : t -> arith.addi(y, x)

rule literals:
  arith.cmpi(x : tensor<4xi32>, y) {predicate = 0 : i64} as v
    where is_constant(y), has_one_use(v)
    where one_of(v, 1, 2)
    -> arith.cmpi(y, x) {predicate = 1 : i64}

rule dialect-attribute:
  arith.addf(x, y : f32) {fastmath = #arith.fastmath<fast>} -> arith.addf(y, x)

rule typed-constants:
  arith.muli(x, const(c) : i32) -> arith.muli(x, 2 : i32)

rule hyphenated-class:
  arith.subi(x : int-or-index, -1) -> x

rule float-literal:
  arith.mulf(x, 1.0) -> x
"""


@pytest.fixture
def forms() -> RuleSet:
    return parse_rules(FORMS, "forms.rules")


def test_every_form_compiles_to_the_vocabulary(forms):
    assert [r.name for r in forms] == ["muli-one", "cmp-swap", "addi-constants", "typed-example",
                                       "literals", "dialect-attribute", "typed-constants",
                                       "hyphenated-class", "float-literal"]
    assert forms.name == "forms"
    muli = forms["muli-one"]
    assert isinstance(muli.match, OpTree) and muli.match.name == "arith.muli"
    x, one = muli.match.operands
    assert isinstance(x, Var) and x.name == "x" and x.type is None
    assert isinstance(one, Const) and one.value == 1 and one.bind is None
    assert isinstance(muli.replace, Var) and muli.replace.name == "x"

    cmp = forms["cmp-swap"]
    assert cmp.match.attrs[0][0] == "predicate" and isinstance(cmp.match.attrs[0][1], Var)
    assert [c.function for c in cmp.where] == ["same_type"]

    constants = forms["addi-constants"]
    assert constants.benefit == 3
    inner = constants.match.operands[0]
    assert [o.bind for o in inner.operands[1:]] == ["c1"] and constants.match.operands[1].bind == "c2"

    typed = forms["typed-example"]
    x, y = typed.match.operands
    assert x.type == "integer" and isinstance(y.type, TypeVar) and y.type.name == "t"
    assert isinstance(typed.match.type, TypeVar)

    literals = forms["literals"]
    assert literals.match.operands[0].type == TensorType([4], i32)
    assert literals.match.attrs == (("predicate", IntegerAttr(0, i64)),)
    assert literals.match.bind == "v"
    assert [c.function for c in literals.where] == ["is_constant", "has_one_use", "one_of"]
    assert isinstance(literals.where[0], Call) and literals.where[2].args[1].value == 1
    assert literals.replace.attrs == (("predicate", IntegerAttr(1, i64)),)

    fastmath = forms["dialect-attribute"].match.attrs[0][1]
    assert str(fastmath) == "#arith.fastmath<fast>"
    assert forms["dialect-attribute"].match.operands[1].type == FloatType("f32")

    typed_constants = forms["typed-constants"]
    assert typed_constants.match.operands[1].type == i32
    assert typed_constants.replace.operands[1].value == 2 and typed_constants.replace.operands[1].type == i32
    assert forms["hyphenated-class"].match.operands[0].type == "int-or-index"
    assert forms["hyphenated-class"].match.operands[1].value == -1
    assert forms["float-literal"].match.operands[1].value == 1.0


def test_laws_locations_and_sources(forms):
    assert forms["muli-one"].law == "x * 1 -> x"
    assert forms["cmp-swap"].law == "transpose(transpose(x, p), q) -> x\nwhen q undoes p"
    assert forms["addi-constants"].law == ""
    location = forms["cmp-swap"].location
    assert (location.filename, location.line, location.column) == ("forms.rules", 9, 6)
    assert forms["muli-one"].source == "rule muli-one:\n  arith.muli(x, 1) -> x"


def test_tuple_replacement_for_several_results():
    rules = parse_rules("rule pair:\n  arith.addi(x, y) -> (x, y)\n")
    assert isinstance(rules["pair"].replace, tuple) and len(rules["pair"].replace) == 2


def test_str_round_trips_through_the_parser(forms):
    text = "\n\n".join(str(rule) for rule in forms)
    again = parse_rules(text, "again.rules")
    assert "\n\n".join(str(rule) for rule in again) == text
    for a, b in zip(forms, again):
        assert (a.name, a.law, a.benefit, repr(a.match), repr(a.replace)) == \
               (b.name, b.law, b.benefit, repr(b.match), repr(b.replace))
    assert str(forms["addi-constants"]) == (
        "rule addi-constants benefit 3:\n"
        "  arith.addi(arith.addi(x, const(c1)), const(c2))\n"
        "    -> arith.addi(x, arith.addi(c1, c2))")


def test_python_rules_print_as_rule_text():
    from descend.rewrites import op, var
    x = var("x")
    rule = Rule("muli-one", op("arith.muli", x, 1), x, law="x * 1 -> x")
    assert parse_rules(str(rule))["muli-one"].law == "x * 1 -> x"


def test_functions_registered_from_python_can_be_named(tmp_path):
    @constraint_function("test_is_even_constant")
    def is_even(c):
        return True

    @builder_function("test_double")
    def double(rewriter, c):
        return None

    try:
        path = tmp_path / "mine.rules"
        path.write_text("rule mine:\n  arith.muli(x, const(c)) where test_is_even_constant(c)\n"
                        "    -> arith.muli(x, test_double(c))\n")
        rules = load_rules(path)
        assert rules.path == str(path) and rules["mine"].where[0].function == "test_is_even_constant"
    finally:
        del CONSTRAINTS["test_is_even_constant"], BUILDERS["test_double"]


def test_a_plugin_file_registers_functions_the_rules_then_name(tmp_path):
    from descend.ir import Context
    from descend.rewrites.plugins import load_plugin
    plugin = tmp_path / "plugin_functions.py"
    plugin.write_text("from descend.rewrites import constraint_function\n"
                      "@constraint_function('test_plugin_constraint')\n"
                      "def f(x):\n    return True\n")
    rules = tmp_path / "p.rules"
    rules.write_text("rule p:\n  arith.addi(x, y) where test_plugin_constraint(x) -> arith.addi(y, x)\n")
    context = Context()
    with pytest.raises(DiagnosticError, match="unknown constraint function 'test_plugin_constraint'"):
        load_rules(rules, context)
    try:
        loaded = load_plugin(plugin, context)
        assert loaded.functions == ["test_plugin_constraint"] and not loaded.is_empty
        assert len(load_rules(rules, context)) == 1
    finally:
        CONSTRAINTS.pop("test_plugin_constraint", None)


# ---- errors: one per mistake, at an exact line and column --------------------------------------------

ERRORS = [
    # (text, line, column, message substring)
    ("rule a:\n  arith.muli(x, 1) -> y\n", 2, 23, "'y' is not bound by the match of rule 'a' (it binds 'x')"),
    ("rule a:\n  arith.muli(x, 1) where is_inverse(x) -> x\n", 2, 26, "unknown constraint function 'is_inverse'"),
    ("rule a:\n  arith.muli(x, 1) -> frob(x)\n", 2, 23, "unknown builder function 'frob'"),
    ("rule a:\n  arith.muli(x : integr, 1) -> x\n", 2, 18, "unknown type class 'integr' (did you mean 'integer'?)"),
    ("rule a:\n  arith.muli(x : int-or-indx, 1) -> x\n", 2, 18, "unknown type class 'int-or-indx'"),
    ("rule a:\n  arith.muli(x, 1) -> x\nrule a:\n  arith.muli(x, 2) -> x\n", 3, 6, "rule 'a' is defined twice"),
    ("rule a:\n  arith.muli(x, 1) -> \n", 2, 23, "unexpected end of input, expected"),
    ("rule a:\n  arith.muli(x 1) -> x\n", 2, 16, "expected '(', ')', ',', '->', ':', 'as', 'rule' or 'where', found '1'"),
    ("rule a:\n  arith.mul(x, 1) -> x\n", 2, 3, "unknown op 'arith.mul' (did you mean 'arith.muli'?)"),
    ("rule a:\n  arith.muli(x) -> x\n", 2, 3, "'arith.muli' takes 2 operands, the rule gives 1"),
    ("rule a:\n  arith.cmpi(x, y) {pred = 0} -> x\n", 2, 21, "'arith.cmpi' has no attribute 'pred' (declared: predicate)"),
    ("rule a:\n  arith.cmpi(x, y) {predicate = p} -> p\n", 2, 39, "'p' is bound to an attribute by the match, but a value is needed here"),
    ("rule a:\n  arith.cmpi(x, y) {predicate = p, predicate = q} -> x\n", 2, 36, "attribute 'predicate' is given twice"),
    ("rule a:\n  x -> x\n", 2, 3, "a rule must match an op at its root"),
    ("rule a:\n  arith.muli(x : tensor<4xf3>, 1) -> x\n", 2, 27, "unexpected identifier 'f3'"),
    ("rule a:\n  arith.muli(x, 1) -> x ;\n", 2, 25, "unexpected character ';'"),
    ("rule a:\n  arith.muli(x, y) -> arith.muli(y, x) : integer\n", 2, 42, "'integer' is a type class"),
    ("rule a:\n  arith.muli(x, const(c)) -> const(c)\n", 2, 30, "const(...) matches a constant"),
    ("rule a:\n  arith.muli(x, is_constant(x)) -> x\n", 2, 17, "a function call cannot be matched"),
    ("rule a:\n  arith.cmpi(x, y) {predicate = #arith.bogus<1>} -> x\n", 2, 33, "dialect 'arith' provides no attribute 'bogus'"),
    ("rule a\n  arith.muli(x, 1) -> x\n", 2, 3, "expected ':' or 'benefit', found 'arith.muli'"),
    ("rule a:\n  arith.muli(x, 1) -> x as y\n", 2, 25, "'as' names a value of the match"),
    ("rule a:\n  arith.muli(x as y, 1) -> x\n", 2, 16, "'as' names the value of an op"),
    ("rule a:\n  arith.muli(x, y) -> arith.muli(x, y) : u\n", 2, 42, "'u' is not bound by the match"),
    ("rule a:\n  arith.muli(x : t, y) -> x : t\n", 2, 31, "'x' already has the type the match gave it"),
    ("rule a:\n  arith.muli(x, y) where same_type(arith.addi(x, y)) -> x\n", 2, 36, "an op cannot be a constraint's argument"),
    ("rule a:\n  arith.muli(x, y) {overflowFlags = x} -> x\n", 2, 37, "'x' is already bound to a value"),
    ("rule a benefit x:\n  arith.muli(x, y) -> x\n", 1, 16, "expected an integer, found 'x'"),
    ("\n\nrule a:\n  arith.muli(x, y) where\n", 4, 25, "unexpected end of input, expected a name"),
]


@pytest.mark.parametrize("text, line, column, message", ERRORS, ids=[e[3][:40] for e in ERRORS])
def test_errors_are_located(text, line, column, message):
    with pytest.raises(DiagnosticError) as info:
        parse_rules(text, "bad.rules")
    diagnostic = info.value.diagnostics[0]
    position = diagnostic.location.file_line_col()
    assert message in diagnostic.message
    assert (position.filename, position.line, position.column) == ("bad.rules", line, column)


def test_rendered_errors_show_the_line_and_a_caret():
    with pytest.raises(DiagnosticError) as info:
        parse_rules("rule a:\n  arith.muli(x, 1) where is_inverse(x) -> x\n", "my.rules")
    assert str(info.value) == (
        "my.rules:2:26: error: unknown constraint function 'is_inverse' (registered: "
        + ", ".join(sorted(CONSTRAINTS)) + ")\n"
        "  arith.muli(x, 1) where is_inverse(x) -> x\n"
        "                         ^~~~~~~~~~\n"
        "note: register it in Python with @constraint_function(\"is_inverse\") in a file loaded "
        "before the rules (--load-pass-plugin FILE.py)")

    with pytest.raises(DiagnosticError) as info:
        parse_rules("rule a:\n  arith.muli(x, 1) -> x\n\nrule a:\n  arith.muli(x, 2) -> x\n", "my.rules")
    assert str(info.value) == (
        "my.rules:4:6: error: rule 'a' is defined twice\n"
        "rule a:\n"
        "     ^\n"
        "my.rules:1:6: note: 'a' was first defined here\n"
        "rule a:\n"
        "     ^")

    with pytest.raises(DiagnosticError) as info:
        parse_rules("rule a:\n  arith.addi(x : tensor<4xf3>, y) -> x\n", "my.rules")
    assert str(info.value) == (
        "my.rules:2:27: error: unexpected identifier 'f3'\n"
        "  arith.addi(x : tensor<4xf3>, y) -> x\n"
        "                          ^~")


def test_unreadable_file_is_a_diagnostic(tmp_path):
    with pytest.raises(DiagnosticError, match="cannot read rule file"):
        load_rules(tmp_path / "missing.rules")
    bad = tmp_path / "latin1.rules"
    bad.write_bytes(b"# caf\xe9\nrule a:\n  arith.addi(x, y) -> x\n")
    with pytest.raises(DiagnosticError, match="not valid UTF-8"):
        load_rules(bad)
