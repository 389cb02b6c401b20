"""parser: the Lark callbacks that build IR while the LALR parser runs (no parse tree).

Name scoping follows MLIR: values and blocks defined in a region go out of scope at its
end; an IsolatedFromAbove op's regions start from an empty scope; uses before definitions
become forward references resolved when the definition arrives (graph regions)."""

from __future__ import annotations

import re

from lark import Token, Transformer

from ..ir import attributes as A
from ..ir import types as T
from ..ir.affine import AffineConstant, AffineDim, AffineMap, AffineSymbol, IntegerSet
from ..ir.block import Block, Region
from ..ir.dense import DenseArrayAttr, DenseElementsAttr, DenseResourceAttr, ResourceBlob
from ..ir.diagnostics import Diagnostic, DiagnosticError, error, note
from ..ir.location import (CallSiteLoc, FileLineColLoc, FusedLoc, Location, NameLoc, OpaqueLoc,
                           UNKNOWN)
from ..ir.operation import Operation
from ..ir.traits import IsolatedFromAbove, NoTerminator, SingleBlock
from ..ir.value import BlockArgument, Value

_SIG_SPLIT = re.compile(r"\s*,\s*")
_SIMPLE_TYPE = re.compile(r"^(?:(?P<int>[su]?i(?P<w>[0-9]+))|(?P<float>bf16|f16|f32|f64)|(?P<index>index)|"
                          r"(?P<none>none)|(?P<shaped>tensor|vector|memref)<(?P<dims>(?:(?:[0-9]+|\?)x)*)"
                          r"(?P<elem>[^>]+)>)$")


class ForwardValue(Value):
    """A use seen before its definition; replaced when the definition is parsed."""

    __slots__ = ("token",)

    def __init__(self, token):
        super().__init__(None)
        self.token = token


class EntryArg:
    """`%name: type {attrs} loc(...)` from a signature; becomes an entry block argument."""

    __slots__ = ("name", "type", "attrs", "location", "token", "value")

    def __init__(self, name, type, attrs, location, token):
        self.name, self.type, self.attrs, self.location, self.token = name, type, attrs, location, token
        self.value = None


class _Frame:
    __slots__ = ("region", "block", "defined", "forward", "saved_values", "blocks",
                 "forward_blocks", "labeled", "saved_blocks")

    def __init__(self, region, block):
        self.region = region
        self.block = block
        self.defined: list = []
        self.forward: dict = {}
        self.saved_values = None
        self.blocks: dict = {}
        self.forward_blocks: dict = {}
        self.labeled = False


class OpState:
    """What has been read of an op in custom form, before the op is built."""

    __slots__ = ("op_class", "operands", "operand_tokens", "types", "properties", "attributes",
                 "result_types", "regions", "successors", "attr_dict")

    def __init__(self, op_class):
        self.op_class = op_class
        self.operands: dict = {}
        self.operand_tokens: dict = {}
        self.types: dict = {}
        self.properties: dict = {}
        self.attributes: dict = {}
        self.result_types = None
        self.regions: dict = {}
        self.successors: dict = {}
        self.attr_dict = None


_INT_CACHE: dict = {}


def simple_type(text: str) -> T.Type:
    """Types written inside a SIMPLE_SIG token (cached by text)."""
    t = _INT_CACHE.get(text)
    if t is not None:
        return t
    m = _SIMPLE_TYPE.match(text)
    if m is None:
        raise ValueError(text)
    if m.group("int"):
        t = T.IntegerType(int(m.group("w")), text[0] if text[0] in "su" else "")
    elif m.group("float"):
        t = T.FloatType(text)
    elif m.group("index"):
        t = T.index
    elif m.group("none"):
        t = T.none
    else:
        dims = [T.DYNAMIC if d == "?" else int(d) for d in m.group("dims").split("x")[:-1]]
        elem = simple_type(m.group("elem"))
        kind = m.group("shaped")
        if kind == "vector" and (T.DYNAMIC in dims or not dims):
            raise ValueError("vector types must have static dimensions" if dims
                             else "vector types must have at least one dimension")
        t = (T.TensorType if kind == "tensor" else T.VectorType if kind == "vector"
             else T.MemRefType)(dims, elem)
    _INT_CACHE[text] = t
    return t


class IRBuilder(Transformer):
    """One instance per Lark parser; `reset()` before each parse."""

    def __init__(self, context):
        super().__init__(visit_tokens=False)
        self.context = context
        self._sig_cache: dict = {}

    # ---- per-parse state ------------------------------------------------------------------

    def reset(self, text: str, filename: str, line_offset: int = 0) -> None:
        self.text = text
        self.filename = filename
        self.line_offset = line_offset
        self.values: dict = {}
        self.type_aliases: dict = {}
        self.attr_aliases: dict = {}
        self.loc_fixups: list = []
        self.resources: dict = {}
        self.distinct: dict = {}
        self.pending_args: list = []
        self.op_stack: list = []
        self.affine_dims: dict = {}
        self.affine_symbols: dict = {}
        self.top_region = Region()
        self.top_block = self.top_region.add_block()
        self.frames = [_Frame(self.top_region, self.top_block)]
        self._loc_cache: dict = {}

    # ---- locations and errors ----------------------------------------------------------------

    def loc(self, token) -> FileLineColLoc:
        key = (token.line, token.column)
        loc = self._loc_cache.get(key)
        if loc is None:
            loc = FileLineColLoc(self.filename, token.line + self.line_offset, token.column)
            self._loc_cache[key] = loc
        return loc

    def fail(self, token, message: str, notes=()) -> DiagnosticError:
        width = len(token) if isinstance(token, Token) else 1
        return error(self.loc(token) if token is not None else UNKNOWN, message, width, notes)

    # ---- SSA names -------------------------------------------------------------------------

    def use(self, token) -> Value:
        name = str(token)
        hash_index = name.find("#")
        if hash_index > 0:
            base, index = name[:hash_index], int(name[hash_index + 1:])
        else:
            base, index = name, 0
        value = self.values.get(base)
        if value is None:
            frame = self.frames[-1]
            key = name
            value = frame.forward.get(key)
            if value is None:
                value = frame.forward[key] = ForwardValue(token)
            return value
        if type(value) is list:
            if index >= len(value):
                raise self.fail(token, f"result number {index} out of range: '{base}' has "
                                       f"{len(value)} results")
            return value[index]
        if index:
            raise self.fail(token, f"result number {index} out of range: '{base}' has 1 result")
        return value

    def define(self, name: str, value, token) -> None:
        if name in self.values:
            raise self.fail(token, f"redefinition of SSA value '{name}'")
        frame = self.frames[-1]
        if frame.forward:
            self._resolve_forward(frame, name, value, token)
        self.values[name] = value
        frame.defined.append(name)
        hint = name[1:]
        if not hint[0].isdigit():
            target = value[0] if type(value) is list else value
            target.name_hint = hint

    def _resolve_forward(self, frame, name, value, token) -> None:
        for key in [k for k in frame.forward if k == name or k.startswith(name + "#")]:
            placeholder = frame.forward.pop(key)
            index = int(key[len(name) + 1:]) if key != name else 0
            values = value if type(value) is list else [value]
            if index >= len(values):
                raise self.fail(placeholder.token, f"result number {index} out of range: '{name}' "
                                                   f"has {len(values)} results")
            real = values[index]
            if placeholder.type is not None and placeholder.type != real.type:
                raise self.fail(placeholder.token,
                                f"use of value '{key}' expects different type than prior uses: "
                                f"'{placeholder.type}' vs '{real.type}'",
                                [note(self.loc(token), "prior use here")])
            placeholder.replace_all_uses_with(real)

    def typed_operands(self, values, types, tokens_or_text, anchor) -> None:
        """Give forward references their type; check that known values have the stated one."""
        if len(types) != len(values):
            raise self.fail(anchor, f"{len(values)} operand{'s' if len(values) != 1 else ''} present, "
                                    f"but {len(types)} type{'s' if len(types) != 1 else ''} given")
        for i, v in enumerate(values):
            t = types[i]
            if v.type is t:
                continue
            if v.type is None:
                v.type = t
            elif v.type is not t and v.type != t:
                token = self._operand_token(tokens_or_text, i, anchor)
                raise self.fail(token, f"use of value '{token}' expects different type than prior "
                                       f"uses: '{t}' vs '{v.type}'")

    def _operand_token(self, tokens_or_text, index, anchor):
        if isinstance(tokens_or_text, list):
            return tokens_or_text[index]
        # Inside an OPERAND_LIST token: find the column of the index-th name.
        text = str(tokens_or_text)
        starts = [m.start() for m in re.finditer(r"%", text)]
        offset = starts[index] if index < len(starts) else 0
        names = re.findall(r"%[A-Za-z0-9_$.\-]+(?:#[0-9]+)?", text)
        tok = Token("VALUE_ID", names[index] if index < len(names) else text)
        tok.line, tok.column = tokens_or_text.line, tokens_or_text.column + offset
        return tok

    # ---- operations ------------------------------------------------------------------------

    def operation(self, c):
        results, op, loc = c
        if loc is not None:
            if isinstance(loc, str) or (type(loc) is not FileLineColLoc and _unresolved(loc)):
                self.loc_fixups.append((op, loc))
            else:
                op.location = loc
        if results is not None:
            self._define_results(results, op)
        self.frames[-1].block.append(op)
        return op

    def _define_results(self, token, op) -> None:
        text = str(token)[:-1].strip()
        results = op.results
        if "," not in text and ":" not in text:
            if len(results) != 1:
                raise self.fail(token, f"operation defines {len(results)} results but was provided "
                                       f"1 to bind")
            self.define(text, results[0], token)
            return
        groups = []
        for part in _SIG_SPLIT.split(text):
            name, _, count = part.partition(":")
            groups.append((name.strip(), int(count) if count else 1))
        total = sum(n for _, n in groups)
        if total != len(results):
            raise self.fail(token, f"operation defines {len(results)} results but was provided "
                                   f"{total} to bind")
        start = 0
        for name, count in groups:
            if count == 1:
                self.define(name, results[start], token)
            else:
                self.define(name, list(results[start:start + count]), token)
            start += count

    def op_name_generic(self, c, name=None):
        token = c[0]
        if name is None:
            name = token[1:-1]
        op_class = self.context.ops.get(name)
        if op_class is None and not self.context.allow_unregistered:
            dialect = name.split(".", 1)[0]
            if dialect in self.context.dialects:
                raise self.fail(token, f"unregistered operation '{name}' found in dialect "
                                       f"('{dialect}') that does not allow unknown operations")
            raise self.fail(token, f"operation '{name}' of unregistered dialect '{dialect}' "
                                   "(use --allow-unregistered-dialect, or --load-dialect to register it)")
        self.op_stack.append(op_class)
        return (token, name, op_class)

    def generic_head_fast(self, c):
        token = c[0]
        text = str(token)
        split = text.index("(", text.index('"', 1))
        head = self.op_name_generic([token], text[1:split - 1])
        inner = text[split + 1:-1].strip()
        operands = self._uses_in(token, _SIG_SPLIT.split(inner)) if inner else []
        return head + (operands, token)

    def generic_head(self, c):
        head, operand_part = c
        if type(operand_part) is list:
            return head + ([v for v, _ in operand_part], [t for _, t in operand_part])
        inner = operand_part[1:-1].strip()
        operands = self._uses_in(operand_part, _SIG_SPLIT.split(inner)) if inner else []
        return head + (operands, operand_part)

    def _uses_in(self, container, names) -> list:
        """Operands named inside one composite token (GENERIC_HEAD, OPERAND_LIST). A name
        that is not simply defined gets a token of its own, so that a forward reference or
        an error points at it (and never at a position-less string)."""
        values = self.values
        out = []
        for i, name in enumerate(names):
            if name not in values:
                name = self._operand_token(container, i, None)
            out.append(self.use(name))
        return out

    def signature_fast(self, c):
        token = c[0]
        sig = self._sig_cache.get(token)
        if sig is None:
            try:
                sig = self.simple_signature([token[1:].strip()])
            except ValueError as exc:  # a type the fast pattern admits but the rules reject
                raise self.fail(token, str(exc)) from None
            self._sig_cache[str(token)] = sig
        return sig

    def signature(self, c):
        return c[0]

    def op_generic(self, c):
        (token, name, op_class, operands, tokens), successors, props, regions, attrs, sig = c
        self.op_stack.pop()
        if self.pending_args:
            self._check_pending(token)
        if len(sig.inputs) != len(operands):
            raise self.fail(token, f"expected {len(operands)} operand type"
                                   f"{'s' if len(operands) != 1 else ''} but had {len(sig.inputs)}")
        self.typed_operands(operands, sig.inputs, tokens, token)
        properties = props or None
        attributes = attrs or None
        if op_class is not None:
            if attributes:
                names = op_class.definition.attribute_names
                moved = {k: v for k, v in attributes.items() if k in names}
                if moved:
                    properties = dict(properties or {}, **moved)
                    attributes = {k: v for k, v in attributes.items() if k not in names}
            if properties:
                properties = self._drop_defaults(op_class, properties)
            op = op_class.__new__(op_class)
            if regions:
                self._ensure_blocks(op_class, regions)
        else:
            op = Operation.__new__(Operation)
            op.name = name
        op._init(operands, sig.results, properties, attributes, regions or (), successors or (),
                 self.loc(token))
        return op

    def _drop_defaults(self, op_class, properties):
        attrs = op_class.definition.attributes
        return {k: v for k, v in properties.items()
                if not (k in attrs and attrs[k].default is not None and attrs[k].default == v)}

    def _ensure_blocks(self, op_class, regions) -> None:
        traits = op_class.traits
        if any(isinstance(t, NoTerminator) for t in traits) and any(isinstance(t, SingleBlock) for t in traits):
            for region in regions:
                if not region.blocks:
                    region.add_block()

    def _check_pending(self, token) -> None:
        if self.pending_args:
            arg = self.pending_args[0]
            self.pending_args = []
            raise self.fail(arg.token, "named arguments given but no region follows to define them")

    def operand_list_general(self, c):
        return c[0] if c[0] is not None else []

    def value_use_list(self, c):
        return c

    def value_use(self, c):
        token = c[0]
        return (self.use(token), token)

    def successor_list(self, c):
        return c

    def successor(self, c):
        token = c[0]
        name = str(token)
        frame = self.frames[-1]
        block = frame.blocks.get(name)
        if block is None:
            block = frame.forward_blocks.get(name)
            if block is None:
                block = frame.forward_blocks[name] = Block()
            frame.forward_blocks.setdefault(name + "\0tok", token)
        return block

    def properties(self, c):
        return dict(e for e in c if e is not None)

    def region_list(self, c):
        return c

    def trailing_loc(self, c):
        return c[0]

    # ---- regions and blocks ---------------------------------------------------------------

    def region_open(self, c):
        region = Region()
        block = region.add_block()
        frame = _Frame(region, block)
        op_class = self.op_stack[-1] if self.op_stack else None
        if op_class is not None and any(isinstance(t, IsolatedFromAbove) for t in op_class.traits):
            frame.saved_values = self.values
            self.values = {}
        self.frames.append(frame)
        if self.pending_args:
            for arg in self.pending_args:
                if arg.type is None:
                    raise self.fail(arg.token, f"no type given for region argument '{arg.name}'")
                value = block.add_argument(arg.type, arg.location)
                arg.value = value
                self.define(arg.name, value, arg.token)
            self.pending_args = []
        return frame

    def region(self, c):
        frame = self.frames.pop()
        region = frame.region
        for name in frame.defined:
            self.values.pop(name, None)
        if frame.saved_values is not None:
            self.values = frame.saved_values
        if frame.forward_blocks:
            for name, block in frame.forward_blocks.items():
                if "\0" in name:
                    continue
                if block.parent is None:
                    token = frame.forward_blocks[name + "\0tok"]
                    raise self.fail(token, f"reference to an undefined block '{name}'")
        entry = region.blocks[0]
        if not frame.labeled and entry.first is None and not entry.args and len(region.blocks) == 1:
            region.blocks.clear()
            entry.parent = None
        if frame.forward:
            if frame.saved_values is not None or len(self.frames) == 0:
                placeholder = next(iter(frame.forward.values()))
                raise self.fail(placeholder.token, f"use of undeclared SSA value name "
                                                   f"'{placeholder.token}'")
            parent = self.frames[-1]
            for key, placeholder in frame.forward.items():
                existing = parent.forward.get(key)
                if existing is None:
                    parent.forward[key] = placeholder
                else:
                    if existing.type is None:
                        existing.type = placeholder.type
                    placeholder.replace_all_uses_with(existing)
        return region

    def block(self, c):
        return c[0]

    def block_label(self, c):
        return c[0]

    def block_name(self, c):
        token = c[0]
        name = str(token)
        frame = self.frames[-1]
        if name in frame.blocks:
            raise self.fail(token, f"redefinition of block '{name}'")
        entry = frame.region.blocks[0]
        if not frame.labeled and entry.first is None and len(frame.region.blocks) == 1:
            if entry.args:
                raise self.fail(token, "invalid block name in region with named arguments")
            frame.labeled = True
            forward = frame.forward_blocks.pop(name, None)
            if forward is not None:
                # A branch to the entry block: not allowed, but report it through the verifier.
                frame.region.blocks.clear()
                entry.parent = None
                frame.region.add_block(forward)
                entry = forward
            frame.blocks[name] = entry
            frame.block = entry
            return entry
        block = frame.forward_blocks.pop(name, None) or Block()
        frame.region.add_block(block)
        frame.blocks[name] = block
        frame.block = block
        frame.labeled = True
        return block

    def block_arg(self, c):
        token, type_, loc = c
        block = self.frames[-1].block
        arg = block.add_argument(type_, loc if isinstance(loc, Location) else self.loc(token))
        if isinstance(loc, str) or (loc is not None and _unresolved(loc)):
            self.loc_fixups.append((arg, loc))
        self.define(str(token), arg, token)
        return arg

    def declare_region_argument(self, token, type_=None) -> EntryArg:
        """For custom directives' parse actions: `%name` (token) becomes an argument of the
        entry block of the next region parsed. Its type may be set on the returned object
        (`.type`) until that region opens; `.value` is the block argument afterwards."""
        arg = EntryArg(str(token), type_, None, self.loc(token), token)
        self.pending_args.append(arg)
        return arg

    def entry_arg(self, c):
        token, type_, attrs, loc = c
        arg = EntryArg(str(token), type_, attrs, loc if isinstance(loc, Location) else self.loc(token), token)
        if isinstance(loc, str) or (loc is not None and _unresolved(loc)):
            self.loc_fixups.append((arg, loc))
        self.pending_args.append(arg)
        return arg

    # ---- top level -------------------------------------------------------------------------

    def start(self, c):
        forward = self.frames[0].forward
        if forward:  # uses never defined: nothing later in the file can define them now
            placeholder = next(iter(forward.values()))
            raise self.fail(placeholder.token, f"use of undeclared SSA value name '{placeholder.token}'")
        return self.top_region

    def type_alias_def(self, c):
        token, type_ = c
        name = str(token)
        if name in self.type_aliases:
            raise self.fail(token, f"redefinition of type alias '{name}'")
        self.type_aliases[name] = type_
        return None

    def attr_alias_def(self, c):
        token, attr = c
        name = str(token)
        if name in self.attr_aliases:
            raise self.fail(token, f"redefinition of attribute alias '{name}'")
        self.attr_aliases[name] = attr
        return None

    def resource_section(self, c):
        return None

    def resource_group(self, c):
        return None

    def resource_dialect(self, c):
        name = str(c[0])
        if name == "builtin":
            for entry in c[1:]:
                if entry is None:
                    continue
                key, value = entry
                blob = self.resources.setdefault(key, ResourceBlob(key))
                text = str(value)
                if not (text.startswith('"0x') and text.endswith('"')):
                    raise self.fail(value, f"expected a hex string for resource '{key}'")
                try:
                    raw = bytes.fromhex(text[3:-1])
                except ValueError:
                    raise self.fail(value, f"malformed hex data for resource '{key}'") from None
                if len(raw) < 4:
                    raise self.fail(value, f"resource '{key}' is shorter than its 4-byte alignment header")
                blob.alignment = int.from_bytes(raw[:4], "little")
                blob.data = raw[4:]
        return None

    def resource_value(self, c):
        return c[0]

    def resource_entry(self, c):
        key = str(c[0])
        if key.startswith('"'):
            key = _unescape(key, self, c[0])
        return (key, c[1])

    # ---- types -----------------------------------------------------------------------------

    def int_type(self, c):
        text = str(c[0])
        t = _INT_CACHE.get(text)
        if t is None:
            t = simple_type(text)
        return t

    def float_type(self, c):
        return T.FloatType(str(c[0]))

    def index_type(self, c):
        return T.index

    def none_type(self, c):
        return T.none

    def _dims(self, token):
        if token is None:
            return [], []
        dims, scalable = [], []
        for d in str(token).split("x")[:-1]:
            if d == "?":
                dims.append(T.DYNAMIC)
                scalable.append(False)
            elif d.startswith("["):
                dims.append(int(d[1:-1]))
                scalable.append(True)
            else:
                dims.append(int(d))
                scalable.append(False)
        return dims, scalable

    def tensor_type(self, c):
        dims_tok, elem, encoding = c
        dims, scalable = self._dims(dims_tok)
        if any(scalable):
            raise self.fail(dims_tok, "scalable dimensions are only allowed in vector types")
        self._check_element(elem, dims_tok, "tensor")
        return T.TensorType(dims, elem, encoding)

    def unranked_tensor_type(self, c):
        return T.UnrankedTensorType(c[0])

    def memref_type(self, c):
        dims_tok, elem, layout, space = c
        dims, scalable = self._dims(dims_tok)
        if any(scalable):
            raise self.fail(dims_tok, "scalable dimensions are only allowed in vector types")
        self._check_element(elem, dims_tok, "memref")
        if space is None and layout is not None and not isinstance(layout, A.AffineMapAttr):
            # As MLIR: a lone attribute that is not a layout is the memory space.
            layout, space = None, layout
        return T.MemRefType(dims, elem, layout, space)

    def unranked_memref_type(self, c):
        return T.UnrankedMemRefType(c[0], c[1])

    def vector_type(self, c):
        dims_tok, elem = c
        dims, scalable = self._dims(dims_tok)
        if T.DYNAMIC in dims:
            raise self.fail(dims_tok, "vector types must have static dimensions")
        if not dims:
            raise self.fail(dims_tok, "vector types must have at least one dimension") if dims_tok else \
                error(UNKNOWN, "vector types must have at least one dimension")
        return T.VectorType(dims, elem, scalable)

    def _check_element(self, elem, token, kind):
        if isinstance(elem, (T.FunctionType, T.NoneType)) or (kind == "tensor" and isinstance(elem, T.TupleType)):
            raise error(self.loc(token) if token is not None else UNKNOWN,
                        f"invalid {kind} element type '{elem}'")

    def complex_type(self, c):
        return T.ComplexType(c[0])

    def tuple_type(self, c):
        return T.TupleType(c[0] or [])

    def type_list(self, c):
        return c

    def simple_signature(self, c):
        text = str(c[0])
        sig = self._sig_cache.get(text)
        if sig is None:
            ins, _, outs = text.partition("->")
            ins = ins.strip()[1:-1].strip()
            outs = outs.strip()
            if outs.startswith("("):
                outs = outs[1:-1].strip()
            try:
                in_types = [simple_type(t) for t in _SIG_SPLIT.split(ins)] if ins else []
                out_types = [simple_type(t) for t in _SIG_SPLIT.split(outs)] if outs else []
            except ValueError as exc:
                if isinstance(c[0], Token):
                    raise self.fail(c[0], str(exc)) from None
                raise
            sig = self._sig_cache[text] = T.FunctionType(in_types, out_types)
        return sig

    def function_type_general(self, c):
        return T.FunctionType(c[0] or [], c[1])

    def single_result(self, c):
        return [c[0]]

    def result_list(self, c):
        return c[0] or []

    def dialect_type(self, c):
        token, body = c
        name = str(token)
        if body is None and name in self.type_aliases:
            return self.type_aliases[name]
        dialect, _, mnemonic = name[1:].partition(".")
        cls = self.context.lookup_type(dialect, mnemonic)
        if cls is None:
            if body is None and not mnemonic:
                raise self.fail(token, f"undefined symbol alias id '{name[1:]}'")
            if dialect in self.context.dialects and not self.context.allow_unregistered:
                raise self.fail(token, f"dialect '{dialect}' provides no type '{mnemonic}'")
            return T.OpaqueType(dialect, mnemonic, body[1] if body else None)
        if hasattr(cls, "parse_body"):
            # A type with a syntax of its own (`!llvm.array<4 x f32>`): it reads the body
            # text and parses the types inside it through `parse_params`.
            def parse_params(text):
                params = parse_fragment(self, text, "dialect_params", token) if text.strip() else []
                return [p.type if isinstance(p, A.TypeAttr) else p for p in params]
            from .parser import parse_fragment
            try:
                return cls.parse_body(body[1] if body else None, parse_params)
            except (ValueError, TypeError) as exc:
                raise self.fail(token, str(exc)) from None
        params = self._dialect_params(body, token)
        try:
            return cls.from_parameters([p.type if isinstance(p, A.TypeAttr) else p for p in params])
        except (ValueError, TypeError) as exc:
            raise self.fail(token, str(exc)) from None

    def _dialect_params(self, body, token):
        if body is None:
            return []
        text, inner, start = body
        from .parser import parse_fragment
        return parse_fragment(self, inner, "dialect_params", start)

    def pretty_body(self, c):
        first, last = c[0], c[-1]
        text = self.text[first.start_pos:last.end_pos]
        return (text, text[1:-1], first)

    def pretty_item(self, c):
        return c[-1]

    def dialect_params(self, c):
        return [p for p in c if p is not None]

    # ---- attributes ------------------------------------------------------------------------

    def attr_dict(self, c):
        return dict(e for e in c if e is not None)

    def attr_entry(self, c):
        key, value = c
        name = str(key)
        if name.startswith('"'):
            name = _unescape(name, self, key)
        return (name, A.UnitAttr() if value is None else value)

    def integer_attr(self, c):
        token, type_ = c
        value = int(token)
        if type_ is None:
            return A.IntegerAttr(value, T.i64)
        if isinstance(type_, T.FloatType):
            return A.FloatAttr(float(value), type_)
        if not isinstance(type_, (T.IntegerType, T.IndexType)):
            raise self.fail(token, f"integer literal not valid for specified type '{type_}'")
        if isinstance(type_, T.IntegerType) and not _fits(value, type_):
            raise self.fail(token, f"integer constant out of range for attribute of type '{type_}'")
        return A.IntegerAttr(value, type_)

    def float_attr(self, c):
        token, type_ = c
        if type_ is None:
            type_ = T.f64
        if not isinstance(type_, T.FloatType):
            raise self.fail(token, f"floating point value not valid for specified type '{type_}'")
        return A.FloatAttr(float(token), type_)

    def hex_attr(self, c):
        token, type_ = c
        text = str(token)
        value = int(text, 16)
        if type_ is None:
            return A.IntegerAttr(value, T.i64)
        if isinstance(type_, T.FloatType):
            if text.startswith("-"):
                raise self.fail(token, "hexadecimal float literal should not have a leading minus")
            return A.FloatAttr(A.float_from_bits(value, type_), type_)
        if isinstance(type_, T.IntegerType) and not _fits(value, type_):
            raise self.fail(token, f"integer constant out of range for attribute of type '{type_}'")
        return A.IntegerAttr(value, type_)

    def true_attr(self, c):
        return A.IntegerAttr(1, T.i1)

    def false_attr(self, c):
        return A.IntegerAttr(0, T.i1)

    def unit_attr(self, c):
        return A.UnitAttr()

    def string_attr(self, c):
        token, type_ = c
        return A.StringAttr(_unescape(str(token), self, token), type_)

    def array_attr(self, c):
        return A.ArrayAttr([x for x in c if x is not None])

    def dictionary_attr(self, c):
        return A.DictionaryAttr([x for x in c if x is not None])

    def type_attr(self, c):
        return A.TypeAttr(c[0])

    def symbol_ref(self, c):
        names = [_symbol(str(t), self, t) for t in c]
        return A.SymbolRefAttr(names[0], names[1:])

    def symbol_name(self, c):
        return A.StringAttr(_symbol(str(c[0]), self, c[0]))

    def string_literal(self, c):
        return _unescape(str(c[0]), self, c[0])

    def integer_literal(self, c):
        return int(c[0])

    def dense_attr(self, c):
        # Rules that spell the keyword anonymously (arith.constant's value) drop its token.
        keyword, body, type_ = c if len(c) == 3 else (None, *c)
        anchor = body[1] if body else keyword
        if not isinstance(type_, T.ShapedType) or isinstance(type_, (T.MemRefType,)):
            raise self.fail(anchor,
                            f"elements literal type must be a ranked tensor or vector, got '{type_}'")
        if not type_.has_static_shape:
            raise self.fail(anchor, f"elements literal type must have static shape")
        try:
            if body is None:
                if type_.num_elements != 0:
                    raise ValueError(f"empty literal for {type_} with {type_.num_elements} elements")
                import numpy as np
                return DenseElementsAttr(type_, np.zeros(type_.shape))
            kind, token = body
            if kind == "hex":
                return DenseElementsAttr.from_hex(type_, str(token)[3:-1])
            if kind == "string":
                raise ValueError("string elements are not supported in dense<>")
            return DenseElementsAttr.from_literal(type_, str(token) if kind != "complex" else token)
        except (ValueError, OverflowError, TypeError) as exc:
            raise self.fail(anchor, f"invalid dense literal: {exc}") from None

    def dense_list(self, c):
        return ("list", c[0])

    def dense_string(self, c):
        token = c[0]
        if str(token).startswith('"0x'):
            return ("hex", token)
        return ("string", token)

    def dense_scalar(self, c):
        return ("scalar", c[0])

    def dense_true(self, c):
        return ("scalar", _tok("true", None))

    def dense_false(self, c):
        return ("scalar", _tok("false", None))

    def dense_complex(self, c):
        # A complex splat: one `(re, im)` element, broadcast like any other splat.
        return ("complex", Token.new_borrow_pos("DENSE_LIST", f"({c[0]}, {c[1]})", c[0]))

    def resource_name(self, c):
        return c[0]

    def dense_resource_attr(self, c):
        token, type_ = c
        name = str(token)
        if name.startswith('"'):
            name = _unescape(name, self, token)
        blob = self.resources.get(name)
        if blob is None:
            blob = self.resources[name] = ResourceBlob(name)
        return DenseResourceAttr(type_, blob)

    def dense_array_attr(self, c):
        keyword, type_, elements = c
        if not isinstance(type_, (T.IntegerType, T.FloatType)):
            raise self.fail(keyword, f"invalid element type '{type_}' for array<>")
        values = []
        for e in elements or []:
            if e == "true" or e == "false":
                values.append(e == "true")
            elif isinstance(type_, T.FloatType):
                text = str(e)
                values.append(A.float_from_bits(int(text, 16), type_) if "x" in text else float(text))
            else:
                if "." in str(e):
                    raise self.fail(e, f"expected integer elements for array<{type_}>")
                values.append(int(str(e), 0))
        return DenseArrayAttr(type_, values)

    def array_elements(self, c):
        return c

    def array_true(self, c):
        return "true"

    def array_false(self, c):
        return "false"

    def dialect_attr(self, c):
        token, body = c
        name = str(token)
        if body is None and name in self.attr_aliases:
            return self.attr_aliases[name]
        dialect, _, mnemonic = name[1:].partition(".")
        cls = self.context.lookup_attribute(dialect, mnemonic)
        if cls is None:
            if body is None and not mnemonic:
                raise self.fail(token, f"undefined symbol alias id '{name[1:]}'")
            if dialect in self.context.dialects and not self.context.allow_unregistered:
                raise self.fail(token, f"dialect '{dialect}' provides no attribute '{mnemonic}'")
            return A.OpaqueAttr(dialect, mnemonic, body[1] if body else None)
        if hasattr(cls, "parse_body"):
            try:
                return cls.parse_body(body[1] if body else None)
            except (ValueError, TypeError) as exc:
                raise self.fail(token, str(exc)) from None
        params = self._dialect_params(body, token)
        try:
            return cls.from_parameters(params)
        except (ValueError, TypeError) as exc:
            raise self.fail(token, str(exc)) from None

    def distinct_attr(self, c):
        token, attr = c
        if attr is None:  # `distinct[0]<>`: MLIR elides a unit referenced attribute
            attr = A.UnitAttr()
        key = int(token)
        existing = self.distinct.get(key)
        if existing is None:
            existing = self.distinct[key] = A.DistinctAttr(attr)
        elif existing.referenced is not attr:
            raise self.fail(token, f"referenced attribute does not match previous definition: "
                                   f"{existing.referenced}")
        return existing

    def location_attr(self, c):
        return c[0]

    # ---- affine ------------------------------------------------------------------------------

    def affine_dims(self, c):
        self.affine_dims = {str(t): i for i, t in enumerate(x for x in c if x is not None)}
        self.affine_symbols = {}
        return len(self.affine_dims)

    def affine_symbols(self, c):
        self.affine_symbols = {str(t): i for i, t in enumerate(x for x in c if x is not None)}
        return len(self.affine_symbols)

    def affine_map(self, c):
        dims, symbols, *results = c
        return AffineMap(dims, symbols or 0, [r for r in results if r is not None])

    def integer_set(self, c):
        dims, symbols, *constraints = c
        constraints = [x for x in constraints if x is not None]
        return IntegerSet(dims, symbols or 0, [e for e, _ in constraints], [eq for _, eq in constraints])

    def affine_map_attr(self, c):
        return A.AffineMapAttr(c[0])

    def integer_set_attr(self, c):
        return A.IntegerSetAttr(c[0])

    def affine_ge(self, c):
        return (_minus(c[0], c[1]), False)

    def affine_le(self, c):
        return (_minus(c[1], c[0]), False)

    def affine_eq(self, c):
        return (_minus(c[0], c[1]), True)

    def affine_add(self, c):
        return c[0] + c[1]

    def affine_sub(self, c):
        return c[0] - c[1]

    def affine_mul(self, c):
        return c[0] * c[1]

    def affine_floordiv(self, c):
        return c[0].floordiv(c[1])

    def affine_ceildiv(self, c):
        return c[0].ceildiv(c[1])

    def affine_mod(self, c):
        return c[0] % c[1]

    def affine_neg(self, c):
        return -c[0]

    def affine_id(self, c):
        token = c[0]
        name = str(token)
        if name in self.affine_dims:
            return AffineDim(self.affine_dims[name])
        if name in self.affine_symbols:
            return AffineSymbol(self.affine_symbols[name])
        raise self.fail(token, f"use of undeclared identifier '{name}' in affine expression")

    def affine_const(self, c):
        return AffineConstant(int(c[0]))

    # ---- locations ---------------------------------------------------------------------------

    def file_loc(self, c):
        filename, line, column, end = c
        end_line, end_col = end if end is not None else (None, None)
        return FileLineColLoc(_unescape(str(filename), self, filename), int(line), int(column),
                              end_line, end_col)

    def loc_range(self, c):
        end_line, end_col = c
        return (int(end_line) if end_line is not None else None, int(end_col))

    def name_loc(self, c):
        name, child = c
        return NameLoc(_unescape(str(name), self, name), child)

    def unknown_loc(self, c):
        return UNKNOWN

    def callsite_loc(self, c):
        return CallSiteLoc(c[0], c[1])

    def fused_loc(self, c):
        metadata, *locations = c
        return FusedLoc([x for x in locations if x is not None], metadata)

    def loc_alias(self, c):
        name = str(c[0])
        attr = self.attr_aliases.get(name)
        if attr is None:
            return name  # defined later in the file: patched at the end
        if not isinstance(attr, Location):
            return OpaqueLoc(attr)
        return attr

    # ---- custom forms ------------------------------------------------------------------------

    def build_custom(self, op_class, fmt, token, children):
        from .format_grammar import consume_elements, finish_custom
        self.op_stack.pop()
        self._check_pending(token)
        state = OpState(op_class)
        try:
            consume_elements(self, fmt.elements, iter(children), state, token)
            return finish_custom(self, state, token)
        except DiagnosticError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, StopIteration) as exc:
            # A custom directive that could not make sense of what it was given.
            raise self.fail(token, f"malformed custom form of '{op_class.name}': {exc}") from None


def _unresolved(loc) -> bool:
    """Whether a location mentions a `#alias` defined later in the file (kept as its name)."""
    if isinstance(loc, str):
        return True
    kind = type(loc)
    if kind is NameLoc:
        return loc.child is not None and _unresolved(loc.child)
    if kind is CallSiteLoc:
        return _unresolved(loc.callee) or _unresolved(loc.caller)
    if kind is FusedLoc:
        return any(_unresolved(inner) for inner in loc.locations)
    return False


def _minus(lhs, rhs):
    """`lhs - rhs` for a constraint `lhs >= rhs`; `e >= 0` stays `e` so sets print back the same."""
    if isinstance(rhs, AffineConstant) and rhs.value == 0:
        return lhs
    return lhs - rhs


def _tok(text, like):
    tok = Token("LITERAL", text)
    return tok


def _fits(value: int, type_: T.IntegerType) -> bool:
    width = type_.width
    if type_.signedness == "u":
        return 0 <= value < (1 << width)
    if type_.signedness == "s":
        return -(1 << (width - 1)) <= value < (1 << (width - 1))
    return -(1 << (width - 1)) <= value < (1 << width) if width else value == 0


_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{2})|(.))")


def _unescape(text: str, builder, token) -> str:
    """MLIR string escapes: \\\\ \\" \\n \\t and \\XX hex bytes."""
    body = text[1:-1]
    if "\\" not in body:
        return body
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(body):
        out += body[pos:m.start()].encode("utf-8", "surrogateescape")
        hex_, ch = m.groups()
        if hex_:
            out.append(int(hex_, 16))
        elif ch in '"\\':
            out += ch.encode()
        elif ch == "n":
            out += b"\n"
        elif ch == "t":
            out += b"\t"
        else:
            raise builder.fail(token, f"unknown escape in string literal: '\\{ch}'")
        pos = m.end()
    out += body[pos:].encode("utf-8", "surrogateescape")
    return out.decode("utf-8", "surrogateescape")


def _symbol(text: str, builder, token) -> str:
    name = text[1:]
    if name.startswith('"'):
        return _unescape(name, builder, token)
    return name
