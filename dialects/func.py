"""func: functions, calls and returns (MLIR's func dialect), with MLIR's custom syntax
`func.func @f(%arg0: i32) -> i32 { ... }` and `func.func private @decl(i32) -> i32`."""

from __future__ import annotations

from ..ir import (ArrayAttr, CustomDirective, Dialect, DictionaryAttr, FunctionType, HasParent,
                  IsolatedFromAbove, IsTerminator, Operation, Pure, Region, ReturnLike, StringAttr,
                  Symbol, SymbolRefAttr, TypeAttr, UnitAttr, attribute, lookup_symbol,
                  opt_attribute, region, var_operand, var_result)
from ..ir.attributes import bare_or_quoted

_VISIBILITIES = ("private", "public", "nested")


def _dict_attr(entries) -> DictionaryAttr:
    return DictionaryAttr(entries or {})


def _attrs_array(dicts) -> ArrayAttr | None:
    """MLIR stores arg/result attributes only when at least one is non-empty."""
    dicts = [d or {} for d in dicts]
    if not any(dicts):
        return None
    return ArrayAttr([DictionaryAttr(d) for d in dicts])


def _attrs_at(array: ArrayAttr | None, index: int) -> dict:
    if array is None or index >= len(array):
        return {}
    return array[index].as_dict()


def _flatten_tokens(item) -> list:
    if isinstance(item, (list, tuple)):
        return [x for child in item for x in _flatten_tokens(child)]
    return [item]


class FunctionSignature(CustomDirective):
    """`private @name(%arg0: i32 {attrs}, ...) -> (i32 {attrs})`, or with bare types for a
    declaration. Entry arguments become the body's block arguments (parser contract)."""

    grammar = 'func_sig_visibility? symbol_ref "(" func_sig_inputs? ")" func_sig_results?'
    # `!` rules keep their keyword tokens as children (Lark drops anonymous tokens otherwise).
    extra_rules = {
        "!func_sig_visibility": '"private" | "public" | "nested"',
        "func_sig_inputs": "func_sig_args | func_sig_types",
        "func_sig_args": 'entry_arg ("," entry_arg)*',
        "func_sig_types": 'func_sig_typed ("," func_sig_typed)*',
        "func_sig_typed": "type attr_dict?",
        # non_function_type: `-> (` must open a result list, not a function type.
        "!func_sig_results": '"->" (non_function_type | "(" func_sig_result_list? ")")',
        "func_sig_result_list": 'func_sig_typed ("," func_sig_typed)*',
    }
    provides_types = ()
    elides = ("sym_name", "function_type", "sym_visibility", "arg_attrs", "res_attrs")

    def print(self, fp, op, args) -> None:
        p = fp.p
        visibility = op.properties.get("sym_visibility")
        if visibility is not None:
            fp.emit(visibility.value)
        fp.emit("@" + bare_or_quoted(op.sym_name.value))
        ftype = op.function_type.type
        arg_attrs = op.properties.get("arg_attrs")
        res_attrs = op.properties.get("res_attrs")
        parts = []
        body = op.regions[0] if op.regions else None
        if body is not None and body.blocks:
            for i, arg in enumerate(body.blocks[0].args):
                text = f"{p.value_name(arg)}: {p.type_text(arg.type)}"
                text += _attr_suffix(p, _attrs_at(arg_attrs, i))
                if p.debuginfo and arg.location is not None:
                    text += " " + p.location_text(arg.location)
                parts.append(text)
        else:
            for i, t in enumerate(ftype.inputs):
                parts.append(p.type_text(t) + _attr_suffix(p, _attrs_at(arg_attrs, i)))
        p.out.append("(" + ", ".join(parts) + ")")
        results = ftype.results
        if results:
            texts = [p.type_text(t) + _attr_suffix(p, _attrs_at(res_attrs, i))
                     for i, t in enumerate(results)]
            if len(results) == 1 and not isinstance(results[0], FunctionType) and not _attrs_at(res_attrs, 0):
                p.out.append(" -> " + texts[0])
            else:
                p.out.append(" -> (" + ", ".join(texts) + ")")
        fp.should_space = True
        fp.last_was_punct = False

    def build(self, state, children, args) -> None:
        inputs, input_attrs, results, result_attrs = [], [], [], []
        for child in children:
            if isinstance(child, SymbolRefAttr):
                state.properties["sym_name"] = StringAttr(child.root)
            elif isinstance(child, list) and child and isinstance(child[0], str) and child[0] in _VISIBILITIES:
                state.properties["sym_visibility"] = StringAttr(str(child[0]))
            elif isinstance(child, list) and child and isinstance(child[0], str) and child[0] == "->":
                for t, attrs in _typed_items(child[1:]):
                    results.append(t)
                    result_attrs.append(attrs)
            elif isinstance(child, list):
                for item in _flatten_inputs(child):
                    if hasattr(item, "name") and hasattr(item, "type") and not isinstance(item, list):
                        inputs.append(item.type)
                        input_attrs.append(item.attrs or {})
                    else:
                        t, attrs = item
                        inputs.append(t)
                        input_attrs.append(attrs)
        state.properties["function_type"] = TypeAttr(FunctionType(inputs, results))
        for key, dicts in (("arg_attrs", input_attrs), ("res_attrs", result_attrs)):
            array = _attrs_array(dicts)
            if array is not None:
                state.properties[key] = array



def _attr_suffix(p, attrs: dict) -> str:
    if not attrs:
        return ""
    return " {" + p._entries_text(attrs) + "}"


def _typed_items(items) -> list:
    """(type, attrs) pairs from a `-> type` or `-> (type {attrs}, ...)` result clause."""
    out = []
    for item in items:
        if isinstance(item, str):  # "(" / ")" tokens kept by the `!` rule
            continue
        if isinstance(item, list):
            out.extend(_typed_items_list(item))
        else:
            out.append((item, {}))
    return out


def _typed_items_list(items) -> list:
    # A func_sig_typed is [type] or [type, dict]; a func_sig_result_list is a list of those.
    if items and not isinstance(items[0], list) and not isinstance(items[0], str):
        attrs = items[1] if len(items) > 1 and isinstance(items[1], dict) else {}
        return [(items[0], attrs or {})]
    out = []
    for item in items:
        if isinstance(item, list):
            out.extend(_typed_items_list(item))
    return out


def _flatten_inputs(child) -> list:
    """Entry-arg objects, or (type, attrs) pairs, from the parenthesised input list."""
    out = []
    for item in child:
        if isinstance(item, list):
            if item and not isinstance(item[0], list) and not hasattr(item[0], "attrs") and (
                    len(item) == 1 or isinstance(item[1], dict)) and not isinstance(item[0], str):
                out.append((item[0], item[1] if len(item) > 1 and item[1] else {}))
            else:
                out.extend(_flatten_inputs(item))
        elif item is not None and not isinstance(item, str):
            out.append(item)
    return out


class FunctionBody(CustomDirective):
    """The body region, printed without its entry block header (the signature names the
    arguments); absent for a declaration."""

    grammar = "region?"
    provides = ("body",)
    elides = ()

    def print(self, fp, op, args) -> None:
        body = op.regions[0]
        if body.blocks:
            fp.print_region(body, print_entry_args=False)

    def build(self, state, children, args) -> None:
        regions = [c for c in children if isinstance(c, Region)]
        state.regions["body"] = regions or [Region()]


class FuncOp(Operation):
    """A named function: calling it runs its body with the arguments bound to the entry
    block's arguments; a declaration (empty body) has no semantics of its own."""

    name = "func.func"
    sym_name = attribute(StringAttr)
    function_type = attribute(TypeAttr)
    sym_visibility = opt_attribute(StringAttr)
    arg_attrs = opt_attribute(ArrayAttr)
    res_attrs = opt_attribute(ArrayAttr)
    no_inline = opt_attribute(UnitAttr)
    body = region()
    traits = (IsolatedFromAbove(), Symbol())
    default_dialect = "func"
    custom_directives = {"FunctionSignature": FunctionSignature(), "FunctionBody": FunctionBody()}
    assembly = "custom<FunctionSignature>() attr-dict-with-keyword custom<FunctionBody>($body)"

    @classmethod
    def build(cls, *args, **kwargs) -> "FuncOp":
        """`FuncOp.build(sym_name="f", function_type=FunctionType(...))` also accepts plain
        str / FunctionType, and gives the body an entry block with the argument types unless
        `declaration=True`."""
        declaration = kwargs.pop("declaration", False)
        if isinstance(kwargs.get("sym_name"), str):
            kwargs["sym_name"] = StringAttr(kwargs["sym_name"])
        if isinstance(kwargs.get("function_type"), FunctionType):
            kwargs["function_type"] = TypeAttr(kwargs["function_type"])
        if isinstance(kwargs.get("sym_visibility"), str):
            kwargs["sym_visibility"] = StringAttr(kwargs["sym_visibility"])
        op = super().build(*args, **kwargs)
        if not declaration and not op.regions[0].blocks:
            from ..ir import Block
            op.regions[0].add_block(Block(op.function_type.type.inputs))
        return op

    @property
    def entry_block(self):
        return self.regions[0].blocks[0]

    @property
    def type(self) -> FunctionType:
        return self.function_type.type

    @property
    def is_declaration(self) -> bool:
        return not self.regions[0].blocks

    def verify(self) -> None:
        ftype = self.function_type.type
        if not isinstance(ftype, FunctionType):
            raise self.error(f"requires a function type, got {ftype}")
        if self.sym_visibility is not None and self.sym_visibility.value not in _VISIBILITIES:
            raise self.error(f"visibility must be one of {', '.join(_VISIBILITIES)}, "
                             f"got '{self.sym_visibility.value}'")
        for key, count in (("arg_attrs", len(ftype.inputs)), ("res_attrs", len(ftype.results))):
            array = self.properties.get(key)
            if array is not None and (len(array) != count or
                                      not all(isinstance(a, DictionaryAttr) for a in array)):
                raise self.error(f"expects '{key}' to hold {count} dictionaries, got {array}")
        if self.is_declaration:
            if self.sym_visibility is None or self.sym_visibility.value == "public":
                raise self.error("symbol declaration cannot have public visibility")
            return
        entry = self.regions[0].blocks[0]
        if len(entry.args) != len(ftype.inputs):
            raise self.error(f"entry block must have {len(ftype.inputs)} arguments to match "
                             f"function signature, but has {len(entry.args)}")
        for i, (arg, t) in enumerate(zip(entry.args, ftype.inputs)):
            if arg.type != t:
                raise self.error(f"type of entry block argument #{i}({arg.type}) must match the "
                                 f"type of the corresponding argument in function signature({t})")

    def interpret_call(self, interp, args):
        """Run the body on `args`; the interpreter calls this for func.call and for entry."""
        if self.is_declaration:
            raise self.error("cannot interpret a call to a declaration (it has no body)")
        return interp.run_region(self.regions[0], list(args))


class ReturnOp(Operation):
    """Returns its operands as the results of the enclosing function."""

    name = "func.return"
    operands_ = var_operand()
    traits = (Pure(), HasParent("func.func"), IsTerminator(), ReturnLike())
    assembly = "attr-dict ($operands_^ `:` type($operands_))?"

    def verify(self) -> None:
        func = self.parent_op
        if func is None or not isinstance(func.properties.get("function_type"), TypeAttr):
            return
        expected = func.function_type.type.results
        got = [v.type for v in self._operands]
        if len(got) != len(expected):
            raise self.error(f"has {len(got)} operands, but enclosing function (@{func.sym_name.value}) "
                             f"returns {len(expected)}")
        for i, (t, e) in enumerate(zip(got, expected)):
            if t != e:
                raise self.error(f"type of return operand {i} ({t}) doesn't match function result "
                                 f"type ({e}) in function @{func.sym_name.value}")


class CallOp(Operation):
    """Calls the function named by `callee` with the operands and yields its results."""

    name = "func.call"
    callee = attribute(SymbolRefAttr)
    arg_attrs = opt_attribute(ArrayAttr)
    res_attrs = opt_attribute(ArrayAttr)
    no_inline = opt_attribute(UnitAttr)
    operands_ = var_operand()
    results_ = var_result()
    assembly = "$callee `(` $operands_ `)` attr-dict `:` functional-type($operands_, $results_)"

    @classmethod
    def build(cls, *args, **kwargs) -> "CallOp":
        """`CallOp.build(callee=func_op_or_name, operands_=[...])`; result types come from the
        callee when it is given as a FuncOp."""
        callee = kwargs.get("callee")
        if isinstance(callee, FuncOp):
            kwargs["callee"] = SymbolRefAttr(callee.sym_name.value)
            if "result_types" not in kwargs and "results_" not in kwargs:
                kwargs["result_types"] = list(callee.function_type.type.results)
        elif isinstance(callee, str):
            kwargs["callee"] = SymbolRefAttr(callee)
        return super().build(*args, **kwargs)

    def verify(self) -> None:
        target = lookup_symbol(self, self.callee)
        if target is None:
            raise self.error(f"'{self.callee}' does not reference a valid function")
        if target.name != "func.func":
            raise self.error(f"'{self.callee}' does not reference a valid function")
        ftype = target.function_type.type
        ins = [v.type for v in self._operands]
        if len(ins) != len(ftype.inputs):
            raise self.error("incorrect number of operands for callee")
        for i, (t, e) in enumerate(zip(ins, ftype.inputs)):
            if t != e:
                raise self.error(f"operand type mismatch: expected operand type {e}, but provided "
                                 f"{t} for operand number {i}")
        outs = [r.type for r in self.results]
        if len(outs) != len(ftype.results):
            raise self.error("incorrect number of results for callee")
        for i, (t, e) in enumerate(zip(outs, ftype.results)):
            if t != e:
                raise self.error(f"result type mismatch at index {i}")
                
    def interpret(self, interp, args):
        target = lookup_symbol(self, self.callee)
        if target is None:
            raise self.error(f"'{self.callee}' does not reference a valid function")
        return interp.call(target, args, caller=self)


FUNC = Dialect("func", [FuncOp, ReturnOp, CallOp], description="functions, calls and returns")
