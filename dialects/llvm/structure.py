"""llvm: functions, control flow, calls, globals and memory of MLIR's LLVM dialect:
`llvm.func` (a body of blocks; block arguments stand for phi nodes), `llvm.return`, `llvm.br`,
`llvm.cond_br`, `llvm.call`, `llvm.mlir.constant/global/addressof/zero/undef/poison`,
`llvm.alloca`, `llvm.load`, `llvm.store`, `llvm.getelementptr`.

The interpreter runs functions, branches, calls and constants; ops touching memory have no
reference semantics (pointers are addresses), so functions using them are tested through
the JIT (descend.lowering.codegen) instead."""

from __future__ import annotations

from ...ir import (ArrayAttr, ConstantLike, Region, CustomDirective, DenseArrayAttr,
                   EnumSyntax, IntegerAttr, IsolatedFromAbove, IsTerminator, Operation, Pure,
                   ReturnLike, StringAttr, Symbol, SymbolNameSyntax, SymbolRefAttr, TypeAttr,
                   UnitAttr, VectorType, attribute, i32, i64, lookup_symbol, operand, opt_attribute,
                   opt_operand, opt_result, region, result, successor, var_operand)
from ..func import FunctionBody, FunctionSignature
from ..numeric import attr_to_value
from .ops import IntLike, LLVMType
from .types import (EXTERNAL, LINKAGES, LinkageAttr, LLVMFunctionType, LLVMPointerType,
                    LLVMVoidType, is_llvm_type, is_ptr)

PtrType = LLVMPointerType
DYNAMIC_INDEX = -2147483648  # MLIR's marker in rawConstantIndices for a dynamic index

LINKAGE_SYNTAX = EnumSyntax(LINKAGES, lambda attr: attr.linkage, lambda text: LinkageAttr(str(text)))


def _flatten(item) -> list:
    if isinstance(item, (list, tuple)):
        return [x for child in item for x in _flatten(child)]
    return [] if item is None else [item]


# ---- functions -----------------------------------------------------------------------------

class LLVMFunctionSignature(FunctionSignature):
    """`internal @f(%arg0: f32) -> f32` (func.func's signature with a linkage keyword in front
    of the name instead of a visibility); the type is stored as `!llvm.func<f32 (f32)>`."""

    grammar = 'llvm_func_linkage? symbol_ref "(" func_sig_inputs? ")" func_sig_results?'
    extra_rules = {**FunctionSignature.extra_rules,
                   "!llvm_func_linkage": " | ".join(f'"{w}"' for w in LINKAGES)}
    elides = ("sym_name", "function_type", "linkage", "arg_attrs", "res_attrs")

    def print(self, fp, op, args) -> None:
        if op.linkage != EXTERNAL:
            fp.emit(op.linkage.linkage)
        super().print(fp, op, args)

    def build(self, state, children, args) -> None:
        rest = []
        for child in children:
            words = _flatten(child) if isinstance(child, list) else []
            if len(words) == 1 and str(words[0]) in LINKAGES:
                state.properties["linkage"] = LinkageAttr(str(words[0]))
            else:
                rest.append(child)
        super().build(state, rest, args)
        ftype = state.properties["function_type"].type
        if len(ftype.results) > 1:
            raise ValueError("an llvm.func returns at most one value")
        ret = ftype.results[0] if ftype.results else LLVMVoidType()
        state.properties["function_type"] = TypeAttr(LLVMFunctionType(ret, ftype.inputs))


class LLVMFuncOp(Operation):
    """A function: calling it runs its body (a CFG of blocks) with the arguments bound to the
    entry block's; without a body it is an external declaration."""

    name = "llvm.func"
    sym_name = attribute(StringAttr)
    function_type = attribute(TypeAttr)
    linkage = attribute(LinkageAttr, default=EXTERNAL)
    arg_attrs = opt_attribute(ArrayAttr)
    res_attrs = opt_attribute(ArrayAttr)
    body = region()
    traits = (IsolatedFromAbove(), Symbol())
    custom_directives = {"Signature": LLVMFunctionSignature(), "FunctionBody": FunctionBody()}
    assembly = "custom<Signature>() attr-dict-with-keyword custom<FunctionBody>($body)"

    @classmethod
    def build(cls, *args, **kwargs) -> "LLVMFuncOp":
        """`LLVMFuncOp.build(sym_name="f", function_type=LLVMFunctionType(...), linkage="internal")`
        takes plain values too; a body gets an entry block unless `declaration=True`."""
        declaration = kwargs.pop("declaration", False)
        if isinstance(kwargs.get("sym_name"), str):
            kwargs["sym_name"] = StringAttr(kwargs["sym_name"])
        if isinstance(kwargs.get("function_type"), LLVMFunctionType):
            kwargs["function_type"] = TypeAttr(kwargs["function_type"])
        if isinstance(kwargs.get("linkage"), str):
            kwargs["linkage"] = LinkageAttr(kwargs["linkage"])
        op = super().build(*args, **kwargs)
        if not declaration and not op.regions[0].blocks:
            from ...ir import Block
            op.regions[0].add_block(Block(op.type.inputs))
        return op

    @property
    def type(self) -> LLVMFunctionType:
        return self.function_type.type

    @property
    def entry_block(self):
        return self.regions[0].blocks[0]

    @property
    def is_declaration(self) -> bool:
        return not self.regions[0].blocks

    def verify(self) -> None:
        ftype = self.function_type.type
        if not isinstance(ftype, LLVMFunctionType):
            raise self.error(f"requires an !llvm.func type, got {ftype}")
        for t in (*ftype.params, *ftype.results):
            if not is_llvm_type(t):
                raise self.error(f"signature holds {t}, which is not an LLVM-compatible type")
        if self.is_declaration:
            if self.linkage.linkage not in ("external", "extern_weak"):
                raise self.error(f"external functions must have 'external' or 'extern_weak' "
                                 f"linkage, got '{self.linkage.linkage}'")
            return
        entry = self.entry_block
        if [a.type for a in entry.args] != list(ftype.params):
            raise self.error(f"entry block arguments ({', '.join(str(a.type) for a in entry.args)}) "
                             f"must match the signature {ftype}")

    def interpret_call(self, interp, args):
        if self.is_declaration:
            raise self.error("cannot interpret a call to an external declaration")
        return interp.run_region(self.regions[0], list(args))


class ReturnOp(Operation):
    """Returns from the enclosing llvm.func, with its one value unless the function is void."""

    name = "llvm.return"
    arg = opt_operand(LLVMType)
    traits = (Pure(), IsTerminator(), ReturnLike())
    assembly = "attr-dict ($arg^ `:` type($arg))?"

    def verify(self) -> None:
        func = self.parent_op
        while func is not None and func.name != "llvm.func":
            func = func.parent_op
        if func is None:
            raise self.error("must be nested in an llvm.func")
        expected = func.type.results
        got = [] if self.arg is None else [self.arg.type]
        if list(expected) != got:
            raise self.error(f"returns ({', '.join(map(str, got))}) but @{func.sym_name.value} "
                             f"returns ({', '.join(map(str, expected))})")


def _check_successor(op, block, values, what: str) -> None:
    types = [v.type for v in values]
    expected = [a.type for a in block.args]
    if types != expected:
        raise op.error(f"{what} passes ({', '.join(map(str, types))}) to a block taking "
                       f"({', '.join(map(str, expected))})")


class BrOp(Operation):
    """Jumps to `dest`, binding its arguments to `destOperands` (LLVM `br` + phis)."""

    name = "llvm.br"
    destOperands = var_operand(LLVMType)
    dest = successor()
    traits = (Pure(), IsTerminator())
    assembly = "$dest (`(` $destOperands^ `:` type($destOperands) `)`)? attr-dict"

    def verify(self) -> None:
        _check_successor(self, self.dest, self.destOperands, "branch")

    def interpret_branch(self, interp, args):
        return self.dest, args


class CondBrOp(Operation):
    """Jumps to `trueDest` if `condition` (i1) holds, else to `falseDest`, each with its
    own block arguments (LLVM conditional `br` + phis)."""

    name = "llvm.cond_br"
    condition = operand(IntLike)
    trueDestOperands = var_operand(LLVMType)
    falseDestOperands = var_operand(LLVMType)
    trueDest = successor()
    falseDest = successor()
    traits = (Pure(), IsTerminator())
    assembly = ("$condition `,` $trueDest (`(` $trueDestOperands^ `:` type($trueDestOperands) `)`)? "
                "`,` $falseDest (`(` $falseDestOperands^ `:` type($falseDestOperands) `)`)? attr-dict")

    def verify(self) -> None:
        if str(self.condition.type) != "i1":
            raise self.error(f"condition must be i1, got {self.condition.type}")
        _check_successor(self, self.trueDest, self.trueDestOperands, "true branch")
        _check_successor(self, self.falseDest, self.falseDestOperands, "false branch")

    def interpret_branch(self, interp, args):
        n = len(self.trueDestOperands)
        if bool(args[0]):
            return self.trueDest, args[1:1 + n]
        return self.falseDest, args[1 + n:]


class UnreachableOp(Operation):
    """Control never reaches here; reaching it is undefined behaviour (LLVM `unreachable`)."""

    name = "llvm.unreachable"
    traits = (IsTerminator(),)
    assembly = "attr-dict"

    def interpret_branch(self, interp, args):
        raise self.error("reached llvm.unreachable")


class NoBundles(CustomDirective):
    """Prints nothing; gives llvm.call MLIR's empty operand-bundle group and sizes."""

    grammar = ""
    elides = ("op_bundle_sizes",)

    def print(self, fp, op, args) -> None:
        pass

    def build(self, state, children, args) -> None:
        state.operands["op_bundle_operands"] = []
        state.operand_tokens["op_bundle_operands"] = []
        state.properties["op_bundle_sizes"] = DenseArrayAttr(i32, [])

    def present(self, op, args) -> bool:
        return False


class CallOp(Operation):
    """Calls the llvm.func named `callee` with the operands; gives its result unless void."""

    name = "llvm.call"
    callee = attribute(SymbolRefAttr)
    callee_operands = var_operand(LLVMType)
    op_bundle_operands = var_operand(doc="MLIR's operand bundles; always empty in descend")
    op_bundle_sizes = opt_attribute(DenseArrayAttr)
    res = opt_result(LLVMType)
    custom_directives = {"NoBundles": NoBundles()}
    assembly = ("$callee `(` $callee_operands `)` custom<NoBundles>($op_bundle_operands) attr-dict "
                "`:` functional-type($callee_operands, results)")

    @classmethod
    def build(cls, *args, **kwargs) -> "CallOp":
        """`CallOp.build(callee=func_op_or_name, callee_operands=[...])`; the result type comes
        from the callee when it is given as an LLVMFuncOp."""
        callee = kwargs.get("callee")
        if isinstance(callee, LLVMFuncOp):
            kwargs["callee"] = SymbolRefAttr(callee.sym_name.value)
            kwargs.setdefault("result_types", list(callee.type.results))
        elif isinstance(callee, str):
            kwargs["callee"] = SymbolRefAttr(callee)
        kwargs.setdefault("result_types", [])
        kwargs.setdefault("op_bundle_sizes", DenseArrayAttr(i32, []))
        return super().build(*args, **kwargs)

    def target(self):
        return lookup_symbol(self, self.callee)

    def verify(self) -> None:
        if self.op_bundle_operands:
            raise self.error("operand bundles are not supported")
        target = self.target()
        if target is None or target.name != "llvm.func":
            raise self.error(f"'{self.callee}' does not reference a valid LLVM function")
        ftype = target.type
        got = [v.type for v in self.callee_operands]
        if len(got) < len(ftype.params) or (len(got) != len(ftype.params) and not ftype.vararg):
            raise self.error(f"calls {self.callee} with {len(got)} operands, but it takes "
                             f"{len(ftype.params)}")
        for i, (t, e) in enumerate(zip(got, ftype.params)):
            if t != e:
                raise self.error(f"operand #{i} has type {t}, but {self.callee} takes {e}")
        results = [r.type for r in self.results]
        if results != list(ftype.results):
            raise self.error(f"result types ({', '.join(map(str, results))}) do not match "
                             f"{self.callee}'s ({', '.join(map(str, ftype.results))})")

    def interpret(self, interp, args):
        return interp.call(self.target(), args, caller=self)


# ---- constants and globals -----------------------------------------------------------------

class ConstantOp(Operation):
    """The constant `value` (an integer, float or dense vector attribute)."""

    name = "llvm.mlir.constant"
    value = attribute()
    res = result(LLVMType)
    traits = (Pure(), ConstantLike())
    assembly = "`(` $value `)` attr-dict `:` type($res)"

    @classmethod
    def infer_result_types(cls, operands, properties):
        return [properties["value"].type]

    def verify(self) -> None:
        t = getattr(self.value, "type", None)
        if t is None:
            raise self.error(f"value must be a typed attribute, got {self.value}")
        if t != self.res.type and not (isinstance(self.res.type, VectorType)
                                       and getattr(t, "shape", None) == self.res.type.shape):
            raise self.error(f"value type {t} does not match result type {self.res.type}")

    def fold(self):
        return self.value

    def interpret(self, interp, args):
        return [attr_to_value(self.value, self.res.type)]


class Initializer(CustomDirective):
    """llvm.mlir.global's initializer region: printed only when it has a block, always
    present (empty) in the op, as MLIR has it."""

    grammar = "region?"
    provides = ("initializer",)

    def print(self, fp, op, args) -> None:
        if op.regions[0].blocks:
            fp.print_region(op.regions[0])

    def build(self, state, children, args) -> None:
        regions = [c for c in _flatten(children) if isinstance(c, Region)]
        state.regions["initializer"] = regions or [Region()]


class GlobalOp(Operation):
    """A global variable of `global_type`, initialised from `value` (a scalar, a dense array
    for weights, or a string); `constant` makes it read-only; no value means external."""

    name = "llvm.mlir.global"
    linkage = attribute(LinkageAttr, syntax=LINKAGE_SYNTAX)
    constant = opt_attribute(UnitAttr)
    sym_name = attribute(StringAttr, syntax=SymbolNameSyntax())
    value = opt_attribute()
    global_type = attribute(TypeAttr)
    alignment = opt_attribute(IntegerAttr)
    initializer = region(single_block=True, doc="empty here: descend initialises from `value`")
    traits = (Symbol(),)
    assembly = ("$linkage (`constant` $constant^)? $sym_name `(` ($value^)? `)` attr-dict "
                "`:` $global_type custom<Initializer>($initializer)")
    custom_directives = {"Initializer": Initializer()}

    @classmethod
    def build(cls, *args, **kwargs) -> "GlobalOp":
        if isinstance(kwargs.get("sym_name"), str):
            kwargs["sym_name"] = StringAttr(kwargs["sym_name"])
        kwargs["linkage"] = LinkageAttr(kwargs.get("linkage") or "external") if not isinstance(
            kwargs.get("linkage"), LinkageAttr) else kwargs["linkage"]
        if kwargs.get("constant") is True:
            kwargs["constant"] = UnitAttr()
        elif kwargs.get("constant") is False:
            kwargs.pop("constant")
        if kwargs.get("global_type") is not None and not isinstance(kwargs["global_type"], TypeAttr):
            kwargs["global_type"] = TypeAttr(kwargs["global_type"])
        if isinstance(kwargs.get("alignment"), int):
            kwargs["alignment"] = IntegerAttr(kwargs["alignment"], i64)
        return super().build(*args, **kwargs)

    @property
    def type(self):
        return self.global_type.type

    def verify(self) -> None:
        if not is_llvm_type(self.type):
            raise self.error(f"global type {self.type} is not an LLVM-compatible type")
        if self.initializer.blocks:
            raise self.error("initializer regions are not supported; give the value as an attribute")
        if self.value is None and self.linkage.linkage not in ("external", "extern_weak"):
            raise self.error(f"a global without a value must have external linkage, "
                             f"got '{self.linkage.linkage}'")
        if self.alignment is not None:
            a = self.alignment.value
            if a <= 0 or a & (a - 1):
                raise self.error(f"alignment must be a power of two, got {a}")


class AddressOfOp(Operation):
    """The address of the global or function named `global_name`."""

    name = "llvm.mlir.addressof"
    global_name = attribute(SymbolRefAttr)
    res = result(LLVMType)
    traits = (Pure(),)
    assembly = "$global_name attr-dict `:` type($res)"

    @classmethod
    def build(cls, *args, **kwargs) -> "AddressOfOp":
        if isinstance(kwargs.get("global_name"), str):
            kwargs["global_name"] = SymbolRefAttr(kwargs["global_name"])
        kwargs.setdefault("result_types", [LLVMPointerType()])
        return super().build(*args, **kwargs)

    def verify(self) -> None:
        target = lookup_symbol(self, self.global_name)
        if target is None or target.name not in ("llvm.mlir.global", "llvm.func"):
            raise self.error(f"'{self.global_name}' does not reference a global or an llvm.func")
        if not is_ptr(self.res.type):
            raise self.error(f"result must be !llvm.ptr, got {self.res.type}")


class ZeroOp(Operation):
    """The all-zero value of its type: a null pointer, 0, 0.0 or zeroinitializer."""

    name = "llvm.mlir.zero"
    res = result(LLVMType)
    traits = (Pure(),)
    assembly = "attr-dict `:` type($res)"

    def interpret(self, interp, args):
        import numpy as np
        if is_ptr(self.res.type):
            raise self.error("pointers have no reference semantics (run it through the JIT)")
        return [np.zeros(getattr(self.res.type, "shape", ()))]


class UndefOp(Operation):
    """An unspecified value of its type (LLVM `undef`); zero in the reference semantics."""

    name = "llvm.mlir.undef"
    res = result(LLVMType)
    traits = (Pure(),)
    assembly = "attr-dict `:` type($res)"

    def interpret(self, interp, args):
        import numpy as np
        return [np.zeros(getattr(self.res.type, "shape", ()))]


class PoisonOp(Operation):
    """A poison value of its type (LLVM `poison`); zero in the reference semantics."""

    name = "llvm.mlir.poison"
    res = result(LLVMType)
    traits = (Pure(),)
    assembly = "attr-dict `:` type($res)"

    def interpret(self, interp, args):
        import numpy as np
        return [np.zeros(getattr(self.res.type, "shape", ()))]


# ---- memory --------------------------------------------------------------------------------

class AllocaOp(Operation):
    """A pointer to stack space for `arraySize` values of `elem_type`, live until the
    function returns (LLVM `alloca`)."""

    name = "llvm.alloca"
    arraySize = operand(IntLike)
    elem_type = attribute(TypeAttr)
    alignment = opt_attribute(IntegerAttr)
    res = result(LLVMType)
    assembly = "$arraySize `x` $elem_type attr-dict `:` functional-type($arraySize, results)"

    def verify(self) -> None:
        if not is_ptr(self.res.type):
            raise self.error(f"result must be !llvm.ptr, got {self.res.type}")
        if not is_llvm_type(self.elem_type.type):
            raise self.error(f"element type {self.elem_type.type} is not LLVM-compatible")


class LoadOp(Operation):
    """The value of the result type stored at `addr` (LLVM `load`)."""

    name = "llvm.load"
    addr = operand(LLVMType)
    volatile_ = opt_attribute(UnitAttr)
    alignment = opt_attribute(IntegerAttr)
    res = result(LLVMType)
    assembly = "(`volatile` $volatile_^)? $addr attr-dict `:` type($addr) `->` type($res)"

    def verify(self) -> None:
        if not is_ptr(self.addr.type):
            raise self.error(f"address must be !llvm.ptr, got {self.addr.type}")


class StoreOp(Operation):
    """Writes `value` to memory at `addr` (LLVM `store`)."""

    name = "llvm.store"
    value = operand(LLVMType)
    addr = operand(LLVMType)
    volatile_ = opt_attribute(UnitAttr)
    alignment = opt_attribute(IntegerAttr)
    assembly = "(`volatile` $volatile_^)? $value `,` $addr attr-dict `:` type($value) `,` type($addr)"

    def verify(self) -> None:
        if not is_ptr(self.addr.type):
            raise self.error(f"address must be !llvm.ptr, got {self.addr.type}")


GEP_FLAGS = {"inbounds": 3, "nusw": 2, "nuw": 4}  # LLVM's GEPNoWrapFlags (inbounds implies nusw)


class GEPFlags(CustomDirective):
    """`inbounds`, `nuw`, `inbounds|nuw`: MLIR's noWrapFlags, stored as an i32 bit set."""

    grammar = '(llvm_gep_flag ("|" llvm_gep_flag)*)?'
    extra_rules = {"!llvm_gep_flag": '"inbounds" | "nusw" | "nuw"'}
    elides = ("noWrapFlags",)

    def print(self, fp, op, args) -> None:
        words = gep_flag_words(op.noWrapFlags.value if op.noWrapFlags is not None else 0)
        if words:
            fp.emit("|".join(words))

    def build(self, state, children, args) -> None:
        value = 0
        for word in _flatten(children):
            if str(word) in GEP_FLAGS:
                value |= GEP_FLAGS[str(word)]
        if value:
            state.properties["noWrapFlags"] = IntegerAttr(value, i32)


def gep_flag_words(value: int) -> list:
    words = []
    if value & 3 == 3:
        words.append("inbounds")
    elif value & 2:
        words.append("nusw")
    if value & 4:
        words.append("nuw")
    return words


class GEPIndices(CustomDirective):
    """`[%i, 0, %j]`: constant indices are kept in `rawConstantIndices`, dynamic ones are
    operands and marked there by INT32_MIN, as MLIR does."""

    grammar = '(llvm_gep_index ("," llvm_gep_index)*)?'
    extra_rules = {"llvm_gep_index": "value_use | INTEGER"}

    def print(self, fp, op, args) -> None:
        dynamic = iter(op.dynamicIndices)
        parts = [fp.p.value_name(next(dynamic)) if i == DYNAMIC_INDEX else str(i)
                 for i in op.rawConstantIndices]
        fp.emit(", ".join(parts)) if parts else fp.literal("")

    def build(self, state, children, args) -> None:
        raw, values, tokens = [], [], []
        for item in _flatten_pairs(children):
            if isinstance(item, tuple):
                values.append(item[0])
                tokens.append(item[1])
                raw.append(DYNAMIC_INDEX)
            else:
                raw.append(int(item))
        state.operands["dynamicIndices"] = values
        state.operand_tokens["dynamicIndices"] = tokens
        state.properties["rawConstantIndices"] = DenseArrayAttr(i32, raw)


def _flatten_pairs(item) -> list:
    if isinstance(item, tuple):
        return [item]
    if isinstance(item, list):
        return [x for child in item for x in _flatten_pairs(child)]
    return [] if item is None else [item]


class GEPOp(Operation):
    """The address of an element of `elem_type` reached from `base` by the indices: the first
    steps over whole elements, later ones into arrays, vectors and struct fields (struct
    field indices must be constants). `inbounds` promises the address stays in the object."""

    name = "llvm.getelementptr"
    base = operand(LLVMType)
    dynamicIndices = var_operand(IntLike)
    rawConstantIndices = attribute(DenseArrayAttr)
    elem_type = attribute(TypeAttr)
    noWrapFlags = opt_attribute(IntegerAttr)
    res = result(LLVMType)
    traits = (Pure(),)
    custom_directives = {"GEPIndices": GEPIndices(), "GEPFlags": GEPFlags()}
    assembly = ("custom<GEPFlags>($noWrapFlags) $base `[` custom<GEPIndices>($dynamicIndices, "
                "$rawConstantIndices) `]` attr-dict `:` functional-type(operands, results) `,` $elem_type")

    @property
    def inbounds(self) -> bool:
        return self.noWrapFlags is not None and self.noWrapFlags.value & 1 == 1

    @classmethod
    def build(cls, base, indices, elem_type, inbounds: bool = False, **kwargs) -> "GEPOp":
        """`GEPOp.build(base, [value_or_int, ...], elem_type)`."""
        raw, dynamic = [], []
        for index in indices:
            if isinstance(index, int):
                raw.append(index)
            else:
                raw.append(DYNAMIC_INDEX)
                dynamic.append(index)
        kwargs.setdefault("result_types", [base.type])
        return super().build(base, dynamicIndices=dynamic,
                             rawConstantIndices=DenseArrayAttr(i32, raw),
                             elem_type=elem_type if isinstance(elem_type, TypeAttr) else TypeAttr(elem_type),
                             noWrapFlags=IntegerAttr(3, i32) if inbounds else None, **kwargs)

    def indices(self) -> list:
        """The indices in order: ints for constants, Values for dynamic ones."""
        dynamic = iter(self.dynamicIndices)
        return [next(dynamic) if i == DYNAMIC_INDEX else i for i in self.rawConstantIndices]

    def verify(self) -> None:
        if not is_ptr(self.base.type) or not is_ptr(self.res.type):
            raise self.error(f"base and result must be !llvm.ptr, got {self.base.type} and {self.res.type}")
        raw = list(self.rawConstantIndices)
        if sum(i == DYNAMIC_INDEX for i in raw) != len(self.dynamicIndices):
            raise self.error(f"{len(self.dynamicIndices)} dynamic indices, but rawConstantIndices "
                             f"marks {sum(i == DYNAMIC_INDEX for i in raw)}")
        if not raw:
            raise self.error("expects at least one index")
        from .types import LLVMArrayType, LLVMStructType
        t = self.elem_type.type
        for index in self.indices()[1:]:
            if isinstance(t, LLVMStructType):
                if not isinstance(index, int):
                    raise self.error("indices into a struct must be constants")
                if not 0 <= index < len(t.body):
                    raise self.error(f"index {index} is out of range for {t}")
                t = t.body[index]
            elif isinstance(t, (LLVMArrayType, VectorType)):
                t = t.element_type
            else:
                raise self.error(f"type {t} cannot be indexed (indices {raw})")

