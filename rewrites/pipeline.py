"""rewrites: MLIR's textual pass pipelines, parsed with Lark and built into pass managers.

    builtin.module(func.func(canonicalize{max-iterations=10},cse),symbol-dce)

An element followed by `(...)` is an op anchor (a nested pass manager running on every op
of that name directly inside the parent's regions; `any(...)` matches every op); any other
element is a pass, with options in braces. A pipeline that is not wrapped in the root
anchor is xDSL's bare list and runs on the root: `canonicalize,cse` is
`builtin.module(canonicalize,cse)`, and `func.func(cse)` is `builtin.module(func.func(cse))`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Lark, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .pass_manager import OpPassManager, PassManager
from .pass_options import PipelineError
from .passes import lookup_pass, unknown_pass_error

GRAMMAR = r"""
start: [element ("," element)*]
element: NAME OPTIONS? nested?
nested: "(" [element ("," element)*] ")"

NAME: /[A-Za-z_][A-Za-z0-9_.$-]*/
// Braces nest up to three levels deep; quoted strings may hold anything but their quote.
OPTIONS: /\{(?:[^{}"']|"[^"]*"|'[^']*'|\{(?:[^{}"']|"[^"]*"|'[^']*'|\{(?:[^{}"']|"[^"]*"|'[^']*')*\})*\})*\}/

%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)

_TERMINAL_WORDS = {
    "NAME": "a pass or op name", "OPTIONS": "'{' options", "LPAR": "'('", "RPAR": "')'",
    "COMMA": "','", "$END": "the end of the pipeline",
}


@dataclass
class PipelineElement:
    """One element of the syntax tree: a pass (nested is None) or an op anchor."""

    name: str
    options: str | None        # the text between the braces, or None
    nested: list["PipelineElement"] | None
    column: int                # 1-based column of the name
    options_column: int | None = None

    def __str__(self) -> str:
        text = self.name + ("{" + self.options + "}" if self.options is not None else "")
        if self.nested is not None:
            text += "(" + ",".join(map(str, self.nested)) + ")"
        return text


class _ToElements(Transformer):
    def start(self, children):
        return list(children)

    def nested(self, children):
        return list(children)

    @v_args(meta=True)
    def element(self, meta, children):
        name_token = children[0]
        options = nested = None
        options_column = None
        for child in children[1:]:
            if isinstance(child, list):
                nested = child
            else:
                options, options_column = str(child)[1:-1], child.column
        return PipelineElement(str(name_token), options, nested, name_token.column, options_column)


def parse_pipeline_syntax(text: str) -> list[PipelineElement]:
    """The top-level elements of `text`; PipelineError (with the column) when malformed."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _describe(exc, text) from None
    return _ToElements().transform(tree)


def _describe(exc: UnexpectedInput, text: str) -> PipelineError:
    """`expected ')' , found the end of the pipeline` with the column."""
    prefix = "malformed pass pipeline: "
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        if char == "{":
            message = "unterminated pass options: this '{' is never closed"
        else:
            message = f"unexpected character '{char}'"
            expected = _expected_words(exc.allowed or ())
            if expected:
                message += f"; expected {expected}"
        return PipelineError(prefix + message, text, exc.column)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        found, column = "the end of the pipeline", len(text.rstrip()) + 1
    else:
        token = exc.token
        found, column = f"'{token.value}'", token.column
    expected = _expected_words(getattr(exc, "expected", ()) or ())
    return PipelineError(prefix + f"expected {expected}, found {found}", text, column)


def _expected_words(terminals) -> str:
    words = sorted({_TERMINAL_WORDS.get(t, t) for t in terminals})
    if not words:
        return "something else"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# ---------------------------------------------------------------- building pass managers


def parse_pipeline(text: str, anchor: str | None = "builtin.module", context=None) -> PassManager:
    """A PassManager running `text` on `anchor` ops: `root(...)` or a bare list."""
    elements = parse_pipeline_syntax(text)
    root_name = "any" if anchor is None else anchor
    if len(elements) == 1 and elements[0].nested is not None and elements[0].name == root_name:
        elements = elements[0].nested
    manager = PassManager(anchor, context=context)
    build_into(manager, elements, text)
    return manager


def build_into(manager: OpPassManager, elements: list[PipelineElement], text: str) -> None:
    """Add `elements` to `manager`: look passes up, parse their options, nest op anchors.
    Every error carries the column of the element it is about."""
    for element in elements:
        if element.nested is not None:
            if element.options is not None:
                raise PipelineError(f"op anchor '{element.name}' takes no options", text,
                                    element.options_column)
            if "." not in element.name and element.name != "any":
                hint = (f"'{element.name}' is a pass: passes take no '(...)'"
                        if lookup_pass(element.name) is not None else
                        "anchors are op names such as func.func, or 'any'")
                raise PipelineError(f"expected an operation name before '(', found '{element.name}'",
                                    text, element.column, notes=(hint,))
            build_into(manager.nest(element.name), element.nested, text)
            continue
        cls = lookup_pass(element.name)
        if cls is None:
            if "." in element.name:
                error = PipelineError(f"unknown pass '{element.name}'",
                                      notes=(f"to nest passes under '{element.name}' ops, write "
                                             f"{element.name}(pass,...)",))
            else:
                error = unknown_pass_error(element.name)
            raise _at(error, text, element.column)
        try:
            instance = cls.from_options(element.options or "")
        except PipelineError as error:
            raise _at(error, text, element.options_column or element.column) from None
        try:
            manager.add(instance)
        except PipelineError as error:
            raise _at(error, text, element.column) from None


def _at(error: PipelineError, text: str, column: int | None) -> PipelineError:
    if error.text is None:
        return PipelineError(error.message, text, column, error.notes)
    return error
