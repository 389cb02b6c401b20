"""parser: text -> IR. One Lark LALR parser per set of registered ops (the base grammar plus a
rule per custom op form), built once and reused; errors become located diagnostics."""

from __future__ import annotations

import gc
import hashlib
import os
import re
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..ir.diagnostics import DiagnosticError, error, register_source
from ..ir.dialect import Context
from ..ir.location import FileLineColLoc, Location, UNKNOWN
from ..ir.verifier import verify as verify_ir
from .builder import IRBuilder
from .format_grammar import ParseAction, op_grammar

_BASE = (Path(__file__).with_name("grammar.lark")).read_text()
_DEFAULT_CONTEXT: Context | None = None


def default_context() -> Context:
    global _DEFAULT_CONTEXT
    if _DEFAULT_CONTEXT is None:
        _DEFAULT_CONTEXT = Context()
    return _DEFAULT_CONTEXT


class _Parser:
    """A Lark parser bound to one IRBuilder (its callbacks run while parsing)."""

    def __init__(self, context: Context):
        self.builder = IRBuilder(context)
        grammar, callbacks = build_grammar(context)
        callbacks["__builder__"] = self.builder
        for name, fn in callbacks.items():
            if name != "__builder__":
                if isinstance(fn, ParseAction):
                    fn = fn.bind(self.builder)
                setattr(self.builder, name, fn)
        self.lark = Lark(grammar, parser="lalr", lexer="contextual", transformer=self.builder,
                         maybe_placeholders=True, start=["start", "dialect_params"],
                         propagate_positions=False, cache=grammar_cache_file(grammar))
        op_names = set(context.ops) | {n.split(".", 1)[1] for n in context.ops}
        self.op_keywords = {t.name for t in self.lark.terminals
                            if getattr(t.pattern, "value", None) in op_names}


def grammar_cache_file(grammar: str) -> str | bool:
    """Where Lark keeps the built tables of `grammar` (building LALR tables costs ~0.4 s;
    loading them ~0.05 s), or False when no cache folder can be made."""
    cache_dir = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "descend"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    digest = hashlib.sha256(grammar.encode()).hexdigest()[:20]
    return str(cache_dir / f"grammar-{digest}.lark.cache")


def build_grammar(context: Context) -> tuple[str, dict]:
    short = {"builtin"}
    for op_class in context.ops.values():
        default = getattr(op_class, "default_dialect", None)
        if default:
            short.add(default)
    rules, callbacks, alternatives, shared = [], {}, [], {}
    for index, op_class in enumerate(sorted(context.ops.values(), key=lambda c: c.name)):
        if op_class.definition.format is None:
            continue
        op_rules, op_callbacks, rule = op_grammar(op_class, index, short, shared)
        rules.extend(op_rules)
        callbacks.update(op_callbacks)
        fmt = op_class.definition.format
        callbacks[rule] = _custom_callback(op_class, fmt, callbacks)
        callbacks[f"kw{index}"] = _keyword_callback(op_class, callbacks)
        alternatives.append(rule)
    if not alternatives:
        alternatives.append('"\\0never"')
    grammar = _BASE + "\n?op_custom: " + " | ".join(alternatives) + "\n" + "\n".join(rules) + "\n"
    return grammar, callbacks


def _custom_callback(op_class, fmt, callbacks):
    def callback(children, _cls=op_class, _fmt=fmt):
        builder = callbacks["__builder__"]
        return builder.build_custom(_cls, _fmt, children[0], children[1:])
    return callback


def _keyword_callback(op_class, callbacks):
    def callback(children, _cls=op_class):
        callbacks["__builder__"].op_stack.append(_cls)
        return children[0]
    return callback


def get_parser(context: Context) -> _Parser:
    """The parser of `context` as its dialects stand. Kept on the context itself, so it
    lives exactly as long as the context: a global table keyed by id() grew with every
    Context made (one per `descend opt` run: megabytes each) and could hand a dead
    context's parser to a new one that reused its id."""
    entry = getattr(context, "_parser", None)
    if entry is None or entry[0] != context.generation:
        entry = (context.generation, _Parser(context))
        context._parser = entry
    return entry[1]


def parse(text: str, filename: str = "<input>", context: Context | None = None, verify: bool = True,
          line_offset: int = 0):
    """Parse IR text into a builtin.module (an implicit module wraps top-level ops unless the
    text is a single module). Raises DiagnosticError with located messages."""
    if isinstance(text, bytes):
        text = decode_source(text, filename)
    context = context or default_context()
    register_source(filename, text, line_offset)
    parser = get_parser(context)
    builder = parser.builder
    builder.reset(text, filename, line_offset)
    # A parse allocates many long-lived objects; generation-2 collections walking them all
    # cost ~20% of the parse (docs/performance.md), and nothing here forms garbage cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        region = _run(parser, text, filename, line_offset)
    finally:
        builder.text = ""
        if collecting:
            gc.enable()
    module = _wrap_module(region, builder, context, filename)
    _fix_locations(builder)
    if verify:
        verify_ir(module)
    return module


def _run(parser: _Parser, text: str, filename: str, line_offset: int):
    try:
        return parser.lark.parse(text, start="start")
    except UnexpectedInput as exc:
        raise describe_unexpected(exc, text, filename, line_offset, parser.op_keywords) from None
    except DiagnosticError:
        raise
    except RecursionError:
        raise error(FileLineColLoc(filename, 1 + line_offset, 1), "input nests too deeply") from None


def parse_attribute(text: str, filename: str = "<attribute>", context: Context | None = None,
                    line: int = 1, column: int = 1):
    """Parse one attribute in IR syntax (`0 : i64`, `#arith.fastmath<fast>`, `i32`, which is a
    type attribute). `line`/`column` place `text` in a larger file (a `.rules` file, say) so
    errors point into that file; register the file's text with `register_source` first to
    see the source line under the message. Raises DiagnosticError."""
    context = context or default_context()
    parser = get_parser(context)
    builder = parser.builder
    padded = " " * (column - 1) + text  # columns on the first line count from the real start
    builder.reset(padded, filename, line - 1)
    try:
        values = parser.lark.parse(padded, start="dialect_params")
    except UnexpectedInput as exc:
        raise describe_unexpected(exc, padded, filename, line - 1, parser.op_keywords) from None
    except RecursionError:
        raise error(FileLineColLoc(filename, line, column), "attribute nests too deeply") from None
    finally:
        builder.text = ""
    if len(values) != 1:
        raise error(FileLineColLoc(filename, line, column),
                    f"expected one attribute, found {len(values)}", max(1, len(text)))
    return values[0]


def parse_type(text: str, filename: str = "<type>", context: Context | None = None,
               line: int = 1, column: int = 1):
    """Parse one type in IR syntax (`i32`, `tensor<4x?xf32>`, `!dialect.t<...>`); located
    like parse_attribute. Raises DiagnosticError."""
    from ..ir.attributes import TypeAttr
    attr = parse_attribute(text, filename, context, line, column)
    if not isinstance(attr, TypeAttr):
        raise error(FileLineColLoc(filename, line, column), f"expected a type, found '{text.strip()}'",
                    max(1, len(text.strip())))
    return attr.type


def parse_fragment(builder: IRBuilder, text: str, start: str, anchor_token):
    """Re-parse part of the input (a dialect type's body) with the same callbacks."""
    parser = get_parser(builder.context)
    saved_text = builder.text
    builder.text = text
    try:
        return parser.lark.parse(text, start=start)
    except UnexpectedInput as exc:
        line = anchor_token.line + builder.line_offset
        col = anchor_token.column + 1 + (exc.column - 1 if getattr(exc, "column", -1) > 0 else 0)
        raise error(FileLineColLoc(builder.filename, line, col),
                    f"malformed parameters of '{anchor_token}': {_short_message(exc)}") from None
    finally:
        builder.text = saved_text


def parse_file(path, context: Context | None = None, **options):
    path = Path(path)
    data = path.read_bytes()
    return parse(decode_source(data, str(path)), filename=str(path), context=context, **options)


def decode_source(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        text = data.decode("utf-8", "replace")
        register_source(filename, text)
        raise error(FileLineColLoc(filename, line, column),
                    f"input is not valid UTF-8 (byte 0x{data[exc.start]:02x})") from None


def _wrap_module(region, builder, context, filename):
    from ..dialects.builtin import ModuleOp
    block = region.blocks[0]
    ops = list(block.ops)
    if len(ops) == 1 and ops[0].name == "builtin.module" and not ops[0].results:
        module = ops[0]
        module.detach()
        return module
    module = ModuleOp.build()
    if not module.regions[0].blocks:
        module.regions[0].add_block()
    body = module.regions[0].blocks[0]
    for op in ops:
        op.detach()
        body.append(op)
    module.location = FileLineColLoc(filename, 1 + builder.line_offset, 1)
    return module


def _fix_locations(builder) -> None:
    for target, pending in builder.loc_fixups:
        target.location = _resolve_location(pending, builder, target)


def _resolve_location(loc, builder, target):
    """Replace the `#alias` names left in a location (aliases defined after their use)."""
    from ..ir.location import CallSiteLoc, FusedLoc, NameLoc, OpaqueLoc
    if isinstance(loc, str):
        attr = builder.attr_aliases.get(loc)
        if attr is None:
            raise error(getattr(target, "location", UNKNOWN), f"undefined location alias '{loc}'")
        return attr if isinstance(attr, Location) else OpaqueLoc(attr)
    if isinstance(loc, NameLoc) and loc.child is not None:
        return NameLoc(loc.name, _resolve_location(loc.child, builder, target))
    if isinstance(loc, CallSiteLoc):
        return CallSiteLoc(_resolve_location(loc.callee, builder, target),
                           _resolve_location(loc.caller, builder, target))
    if isinstance(loc, FusedLoc):
        return FusedLoc([_resolve_location(inner, builder, target) for inner in loc.locations],
                        loc.metadata)
    return loc


# ---- error messages --------------------------------------------------------------------------

_FRIENDLY = {
    "VALUE_ID": "SSA value", "RESULTS_EQ": "SSA result list", "BLOCK_ID": "block name",
    "SYMBOL_NAME": "symbol name", "GENERIC_NAME": "operation name", "BANG_NAME": "dialect type",
    "HASH_NAME": "dialect attribute", "INT_TYPE": "integer type", "FLOAT_TYPE": "float type",
    "DIMS": "dimension list", "HEX_INTEGER": "integer", "FLOAT": "float", "INTEGER": "integer",
    "STRING": "string", "BARE_ID": "identifier", "DENSE_LIST": "dense literal",
    "OPERAND_LIST": "'('", "SIMPLE_SIG": "function type", "PRETTY_ATOM": "dialect body",
    "$END": "end of input", "COLON_SIG": "':'", "GENERIC_HEAD": "an operation",
}
_CUSTOM_OP = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z0-9_$.]+")


_OP_START = {"GENERIC_HEAD", "GENERIC_NAME", "RESULTS_EQ"}


def _expected_names(expected, op_keywords=frozenset()) -> list[str]:
    names = set()
    expected = set(expected)
    if expected & _OP_START:
        names.add("an operation")
        expected -= _OP_START | set(op_keywords)
    for name in expected:
        if name.startswith("__ANON") or name in op_keywords:
            continue
        names.add(_FRIENDLY.get(name, None) or _pattern_text(name))
    return sorted(n for n in names if n)


def _pattern_text(name: str) -> str:
    from lark.lexer import TerminalDef  # noqa: F401
    text = _LITERALS.get(name)
    if text is not None:
        return f"'{text}'"
    return name.lower()


_LITERALS = {
    "LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]", "LBRACE": "{", "RBRACE": "}",
    "LESSTHAN": "<", "MORETHAN": ">", "COMMA": ",", "COLON": ":", "EQUAL": "=", "STAR": "*",
    "PLUS": "+", "MINUS": "-", "__ANON_0": "->",
}


def _short_message(exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedToken):
        return f"unexpected '{exc.token}'"
    if isinstance(exc, UnexpectedCharacters):
        return f"unexpected character '{exc.char}'"
    return "unexpected end"


def _precise_expected(exc) -> set:
    """The terminals the parser would really accept here. LALR merges states of many custom
    forms, so `exc.expected` can list dozens; trying each on a copy of the parser (Lark's
    `accepts`) keeps only the true continuations (`','` or `')'` in an operand list)."""
    expected = set(exc.expected or ())
    parser = getattr(exc, "interactive_parser", None)
    if parser is not None and len(expected) > 8:
        try:
            expected = set(parser.accepts())
        except Exception:  # an error while probing must not hide the original one
            pass
    return expected


def describe_unexpected(exc: UnexpectedInput, text: str, filename: str, line_offset: int,
                        op_keywords=frozenset()) -> DiagnosticError:
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        lines = text.split("\n")
        while len(lines) > 1 and not lines[-1].strip():
            lines.pop()
        line = len(lines)
        column = len(lines[-1]) + 1
        expected = _expected_names(getattr(exc, "expected", ()) or (), op_keywords)
        message = "unexpected end of input"
        if expected:
            message += ", expected " + _join(expected)
        return error(FileLineColLoc(filename, line + line_offset, column), message)
    line, column = exc.line, exc.column
    loc = FileLineColLoc(filename, line + line_offset, column)
    if isinstance(exc, UnexpectedCharacters):
        rest = text[exc.pos_in_stream:exc.pos_in_stream + 80]
        m = _CUSTOM_OP.match(rest)
        if m and _at_op_start(exc):
            return error(loc, f"custom op '{m.group(0)}' is unknown: register its dialect "
                              f"(--load-dialect) or write it in the generic form \"{m.group(0)}\"(...)",
                         len(m.group(0)))
        char = exc.char
        shown = repr(char)[1:-1] if not char.isprintable() else char
        expected = _expected_names(exc.allowed or (), op_keywords)
        message = f"unexpected character '{shown}'"
        if expected and len(expected) <= 8:
            message += ", expected " + _join(expected)
        return error(loc, message)
    token = exc.token
    found = str(token)
    if token.type == "PRETTY_ATOM":  # only dialect bodies take it: elsewhere it is a stray character
        char = found[:1]
        shown = repr(char)[1:-1] if not char.isprintable() else char
        return error(loc, f"unexpected character '{shown}'")
    if (set(exc.expected or ()) & _OP_START) and _CUSTOM_OP.fullmatch(found):
        return error(loc, f"custom op '{found}' is unknown: register its dialect (--load-dialect) "
                          f"or write it in the generic form \"{found}\"(...)", len(found))
    expected = _expected_names(_precise_expected(exc), op_keywords)
    message = f"unexpected {_describe_token(token)}"
    if expected and len(expected) <= 8:
        message = f"expected {_join(expected)}, found '{found}'"
    elif token.type in ("OPERAND_LIST", "SIMPLE_SIG"):
        message = f"unexpected '{found[:40]}'"
    return error(loc, message, max(1, len(found.split("\n")[0])))


def _at_op_start(exc: UnexpectedCharacters) -> bool:
    allowed = exc.allowed or set()
    return "GENERIC_NAME" in allowed or "RESULTS_EQ" in allowed


def _describe_token(token: Token) -> str:
    kind = _FRIENDLY.get(token.type)
    text = str(token).split("\n")[0][:40]
    if kind and kind not in ("'('",):
        return f"{kind} '{text}'"
    return f"'{text}'"


def _join(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]
