"""rewrites: `.rules` files -> RuleSet. The Lark grammar (rules.lark) reads the file; the
compiler (rules_compiler.py) turns each rule into the same Rule objects Python code
declares, so a rule file is only another way to write the vocabulary of declarative.py.

Every mistake a user can make in a rule file (bad syntax, unknown op, constraint, builder
or type class, unbound variable, duplicate rule) is a `file:line:col: error:` diagnostic
with the source line and a caret, raised as DiagnosticError, like an IR parse error."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from descend.ir.diagnostics import DiagnosticError, error, register_source
from descend.ir.location import FileLineColLoc

from .declarative import RuleSet


def _balanced(depth: int, opening: str = "<[({") -> str:
    """A regex for one bracketed group nested at most `depth` deep, where `->` and strings
    are atoms (so `affine_map<(d0) -> (d0)>` is one group)."""
    atom = r'->|"(?:[^"\\]|\\.)*"|[^{}\[\]()<>"]'
    inner = atom if depth <= 1 else atom + "|" + _balanced(depth - 1)
    pairs = {"<": (r"<", r">"), "[": (r"\[", r"\]"), "(": (r"\(", r"\)"), "{": (r"\{", r"\}")}
    return "(?:" + "|".join(f"{pairs[c][0]}(?:{inner})*{pairs[c][1]}" for c in opening) + ")"


@lru_cache(maxsize=None)
def _parser() -> Lark:
    grammar = resources.files("descend.rewrites").joinpath("rules.lark").read_text()
    grammar = grammar.replace("@BALANCED@", _balanced(4)).replace("@ANGLE@", _balanced(4, "<"))
    from descend.parser.parser import grammar_cache_file
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True, cache=grammar_cache_file(grammar))


def parse_rules(text: str, filename: str = "<rules>", context=None, name: str | None = None) -> RuleSet:
    """Parse rule-file text into a RuleSet (named `name`, else after the file). Constraint,
    builder and type-class names must be registered before this call. Raises
    DiagnosticError with located messages."""
    from .rules_compiler import compile_rules
    if context is None:
        from .context import default_context
        context = default_context()
    register_source(filename, text)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise describe_syntax_error(exc, text, filename) from None
    rules = compile_rules(tree, text, filename, context)
    return RuleSet(name or _set_name(filename), rules, path=None if filename.startswith("<") else filename)


def load_rules(path, context=None) -> RuleSet:
    """Read and parse a `.rules` file (see parse_rules)."""
    from descend.parser import decode_source
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(None, f"cannot read rule file '{path}': {exc.strerror or exc}") from None
    return parse_rules(decode_source(data, str(path)), str(path), context)


def _set_name(filename: str) -> str:
    stem = Path(filename.strip("<>")).stem
    return stem or "rules"


# ---- syntax errors ---------------------------------------------------------------------------

_NAMES = {
    "RULE": "'rule'", "WHERE": "'where'", "AS": "'as'", "CONST": "'const'", "BENEFIT": "'benefit'",
    "ARROW": "'->'", "COLON": "':'", "COMMA": "','", "EQUAL": "'='", "LPAR": "'('", "RPAR": "')'",
    "LBRACE": "'{'", "RBRACE": "'}'", "RULE_NAME": "a rule name", "OP_NAME": "an op name",
    "NAME": "a name", "NUMBER": "a number", "INTEGER": "an integer", "TYPE": "a type",
    "ATTR_LITERAL": "an attribute", "$END": "end of input",
}


def _expected(names) -> str:
    words = sorted({_NAMES.get(n, n.lower()) for n in names})
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def describe_syntax_error(exc: UnexpectedInput, text: str, filename: str) -> DiagnosticError:
    """A Lark exception as `expected ..., found ...` at the offending token."""
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        lines = text.split("\n")
        while len(lines) > 1 and not lines[-1].strip():
            lines.pop()
        loc = FileLineColLoc(filename, len(lines), len(lines[-1]) + 1)
        expected = getattr(exc, "expected", None) or ()
        message = "unexpected end of input"
        if expected:
            message += ", expected " + _expected(expected)
        return error(loc, message)
    loc = FileLineColLoc(filename, exc.line, exc.column)
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char
        shown = repr(char)[1:-1] if not char.isprintable() else char
        message = f"unexpected character '{shown}'"
        allowed = [a for a in (exc.allowed or ()) if a in _NAMES]
        if allowed and len(allowed) <= 6:
            message += ", expected " + _expected(allowed)
        return error(loc, message)
    token: Token = exc.token
    found = str(token).split("\n")[0].strip() or str(token)
    expected = [e for e in (exc.expected or ()) if e in _NAMES]
    if expected and len(expected) <= 8:
        message = f"expected {_expected(expected)}, found '{found}'"
    else:
        message = f"unexpected '{found}'"
    return error(loc, message, max(1, len(found)))
