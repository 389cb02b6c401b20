"""testing: hypothesis strategies for random IR: types, attributes, locations and whole
modules of unregistered generic ops.

Everything generated is well formed and in the form the printer produces, so
`parse(print(x))` must give `x` back structurally: affine expressions are built with the
parser's own operators, integers fit their types, bf16 values are exactly representable,
and file ranges use MLIR's canonical spelling. Dialect types and attributes use the
dialect `tst`, which no context registers (mlir-opt registers a `test` dialect, so
generated IR stays readable by it too).

    from descend.testing import modules, structurally_equal
    @given(modules())
    def test_roundtrip(module):
        assert structurally_equal(parse(module.print(generic=True, debuginfo=True), ...), module)
"""

from __future__ import annotations

import string
from typing import Sequence

import numpy as np
from hypothesis import strategies as st

from descend.ir import attributes as A
from descend.ir import types as T
from descend.ir.affine import AffineBinary, AffineConstant, AffineDim, AffineExpr, AffineMap, AffineSymbol, IntegerSet
from descend.ir.block import Block, Region
from descend.ir.dense import DenseArrayAttr, DenseElementsAttr, numpy_dtype
from descend.ir.location import CallSiteLoc, FileLineColLoc, FusedLoc, NameLoc, UNKNOWN
from descend.ir.operation import Operation

__all__ = ["types", "scalar_types", "attributes", "integer_attrs", "float_attrs", "string_attrs",
           "dense_elements", "dense_arrays", "affine_maps", "integer_sets", "locations",
           "symbol_refs", "opaque_bodies", "modules", "FLOAT_TYPES", "INTEGER_WIDTHS"]

DIALECT = "tst"
INTEGER_WIDTHS = (1, 2, 8, 16, 32, 64, 128)
FLOAT_TYPES = ("f16", "bf16", "f32", "f64", "f80", "f128")

# Names that are keywords somewhere in the grammar: good stress for keys and symbols.
_KEYWORDS = ["loc", "true", "false", "unit", "dense", "array", "tensor", "index", "none", "i32",
             "f32", "to", "at", "fused", "callsite", "unknown", "affine_map", "distinct", "x"]

_ident_start = st.sampled_from(string.ascii_letters + "_")
_ident_rest = st.text(string.ascii_letters + string.digits + "_$.", max_size=8)


@st.composite
def identifiers(draw) -> str:
    """A bare identifier (`[A-Za-z_][A-Za-z0-9_$.]*`), sometimes a grammar keyword."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(_KEYWORDS))
    return draw(_ident_start) + draw(_ident_rest)


# Strings: printable ASCII, escapes, control characters and non-ASCII (no surrogates).
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.text(
    '\\"\n\t\x00\x7f é€😀 ab', max_size=8)
_names = identifiers() | _text.filter(bool)


# ---- types ------------------------------------------------------------------------------

def integer_types() -> st.SearchStrategy[T.IntegerType]:
    width = st.sampled_from(INTEGER_WIDTHS) | st.integers(1, 100)
    return st.builds(T.IntegerType, width, st.sampled_from(["", "s", "u"]))


def scalar_types() -> st.SearchStrategy[T.Type]:
    """Integers of any width and signedness, index and the floats."""
    return st.one_of(integer_types(), st.just(T.index), st.sampled_from(FLOAT_TYPES).map(T.FloatType))


@st.composite
def opaque_bodies(draw, depth: int = 2) -> str:
    """Balanced text as a dialect type or attribute body: `4, f32, "s", <a [b]>`."""
    atoms = st.sampled_from(["4", "-1", "f32", "i8", "a", "x.y", "->", "?", "#tst.z", "!tst.w",
                             "0x1F", "@sym", "%v", "=", "1.5", ":"]) | _text.map(A.escape_string)
    def item(level):
        if level <= 0:
            return atoms
        inner = st.lists(item(level - 1), max_size=3).map(" ".join)
        return atoms | st.tuples(st.sampled_from(["<>", "()", "[]", "{}"]), inner).map(
            lambda pair: pair[0][0] + pair[1] + pair[0][1])
    return ", ".join(draw(st.lists(item(depth), max_size=3)))


def opaque_types() -> st.SearchStrategy[T.OpaqueType]:
    return st.builds(T.OpaqueType, st.just(DIALECT),
                     st.sampled_from(["t", "type", "a.b", "x_1"]),
                     st.none() | opaque_bodies())


_dim = st.integers(0, 8) | st.just(T.DYNAMIC)
_shape = st.lists(_dim, max_size=3)
_static_shape = st.lists(st.integers(0, 6), max_size=3)


def _vector_types(element: st.SearchStrategy) -> st.SearchStrategy[T.VectorType]:
    @st.composite
    def vector(draw):
        shape = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
        scalable = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
        return T.VectorType(shape, draw(element), scalable)
    return vector()


@st.composite
def _memref(draw, element):
    shape = draw(_shape)
    layout = None
    if draw(st.booleans()):
        layout = A.AffineMapAttr(draw(affine_maps(num_dims=st.just(len(shape)))))
    space = draw(st.none() | st.builds(A.IntegerAttr, st.integers(0, 7), st.just(T.i64))
                 | st.builds(A.StringAttr, st.sampled_from(["global", "shared"])))
    return T.MemRefType(shape, draw(element), layout, space)


@st.composite
def types(draw, depth: int = 2) -> T.Type:
    """Every builtin type (nested up to `depth`), and dialect types of the unregistered
    dialect `tst`."""
    scalar = scalar_types()
    kind = draw(st.integers(0, 11)) if depth > 0 else draw(st.integers(0, 2))
    if kind == 0:
        return draw(scalar)
    if kind == 1:
        return draw(st.just(T.none) | opaque_types())
    if kind == 2:
        return draw(scalar)
    element = scalar | _vector_types(scalar) | st.builds(T.ComplexType, scalar) | opaque_types()
    if kind == 3:
        encoding = st.none() | st.builds(A.StringAttr, st.sampled_from(["enc", "csr"])) | st.builds(
            A.OpaqueAttr, st.just(DIALECT), st.just("enc"), st.none() | opaque_bodies(1))
        return T.TensorType(draw(_shape), draw(element), draw(encoding))
    if kind == 4:
        return T.UnrankedTensorType(draw(element))
    if kind == 5:
        return draw(_memref(scalar | _vector_types(scalar) | st.builds(T.ComplexType, scalar)))
    if kind == 6:
        space = st.none() | st.builds(A.IntegerAttr, st.integers(1, 3), st.just(T.i64))
        return T.UnrankedMemRefType(draw(scalar), draw(space))
    if kind in (7, 8):
        return draw(_vector_types(scalar))
    if kind == 9:
        return T.ComplexType(draw(scalar))
    if kind == 10:
        return T.TupleType(draw(st.lists(types(depth - 1), max_size=3)))
    return T.FunctionType(draw(st.lists(types(depth - 1), max_size=3)),
                          draw(st.lists(types(depth - 1), max_size=2)))


# ---- attributes ----------------------------------------------------------------------------

def _int_range(t: T.Type) -> tuple[int, int]:
    if isinstance(t, T.IndexType):
        return -(1 << 63), (1 << 63) - 1
    width = t.width
    if t.signedness == "u":
        return 0, (1 << width) - 1
    if width == 1 and t.signedness == "":
        return 0, 1
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


@st.composite
def integer_attrs(draw, type_strategy=None) -> A.IntegerAttr:
    """Integers of various widths and signedness (i1 prints true/false), index too."""
    t = draw(type_strategy if type_strategy is not None else (integer_types() | st.just(T.index)))
    low, high = _int_range(t)
    value = draw(st.integers(low, high) | st.sampled_from([low, high, 0]))
    return A.IntegerAttr(value, t)


def _float_value(draw, name: str) -> float:
    """A value of the float type `name`, exactly representable in it (so printing is exact)."""
    if name in ("f16", "f32", "f64"):
        width = {"f16": 16, "f32": 32, "f64": 64}[name]
        special = st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 0.0])
        value = draw(st.floats(width=width) | special)
        if draw(st.integers(0, 9)) == 0:  # a NaN with a payload or sign
            bits = draw(st.integers(0, (1 << width) - 1))
            value = A.float_from_bits(bits, T.FloatType(name))
        return value
    if name == "bf16":
        return A.float_from_bits(draw(st.integers(0, 0xFFFF)), T.FloatType("bf16"))
    # f80/f128 have no numpy semantics here: finite doubles only.
    return draw(st.floats(allow_nan=False, allow_infinity=False, width=64))


@st.composite
def float_attrs(draw, names: Sequence[str] = FLOAT_TYPES) -> A.FloatAttr:
    """Floats including nan (with payloads), ±inf and -0.0, in f16/bf16/f32/f64/f80/f128."""
    name = draw(st.sampled_from(list(names)))
    return A.FloatAttr(_float_value(draw, name), T.FloatType(name))


def string_attrs() -> st.SearchStrategy[A.StringAttr]:
    """Strings with escapes, control characters and non-ASCII; sometimes typed."""
    return st.builds(A.StringAttr, _text, st.none() | st.sampled_from([T.i32, T.none]))


def symbol_refs() -> st.SearchStrategy[A.SymbolRefAttr]:
    """`@a`, `@"quoted name"`, `@a::@b::@c`."""
    return st.builds(A.SymbolRefAttr, _names, st.lists(_names, max_size=3))


_DENSE_ELEMENTS = [T.i1, T.i8, T.i16, T.i32, T.i64, T.IntegerType(8, "u"), T.IntegerType(32, "s"),
                   T.index, T.f16, T.bf16, T.f32, T.f64, T.ComplexType(T.f32), T.ComplexType(T.f64)]


def _element_values(draw, element: T.Type, count: int) -> list:
    if isinstance(element, T.ComplexType):
        reals = [_float_value(draw, element.element_type.name) for _ in range(2 * count)]
        return [complex(reals[2 * i], reals[2 * i + 1]) for i in range(count)]
    if isinstance(element, T.FloatType):
        return [_float_value(draw, element.name) for _ in range(count)]
    low, high = _int_range(element)
    return draw(st.lists(st.integers(low, high), min_size=count, max_size=count))


@st.composite
def dense_elements(draw, big: bool | None = None) -> DenseElementsAttr:
    """dense<> of tensors and vectors: splats, nested lists, and >100 elements (hex)."""
    element = draw(st.sampled_from(_DENSE_ELEMENTS))
    if big if big is not None else draw(st.integers(0, 5)) == 0:
        shape = draw(st.sampled_from([[101], [11, 10], [2, 3, 20], [128]]))
    else:
        shape = draw(_static_shape)
    vector = draw(st.booleans()) and shape and all(shape) and not isinstance(element, T.ComplexType)
    shaped = T.VectorType(shape, element) if vector else T.TensorType(shape, element)
    count = int(np.prod(shape)) if shape else 1
    kind = draw(st.sampled_from(["splat", "list", "list", "sparse"]))
    if count == 0:
        values = []
    elif kind == "splat":
        values = _element_values(draw, element, 1) * count
    elif kind == "sparse" and count > 1:  # few distinct values: long runs, near-splats
        pool = _element_values(draw, element, 2)
        values = [pool[draw(st.integers(0, 1))] for _ in range(count)] if count <= 16 else \
            [pool[i % 3 == 0] for i in range(count)]
    else:
        if count > 16:  # drawing hundreds of values is slow: vary a base pattern instead
            base = _element_values(draw, element, 8)
            values = [base[(i * 5 + i // 7) % 8] for i in range(count)]
        else:
            values = _element_values(draw, element, count)
    array = np.array(values, dtype=numpy_dtype(element)).reshape(shape)
    return DenseElementsAttr(shaped, array)


@st.composite
def dense_arrays(draw) -> DenseArrayAttr:
    """array<i32: 1, 2>, array<f64: ...>, array<i1: true>, and empty `array<i8>`."""
    element = draw(st.sampled_from([T.i1, T.i8, T.i16, T.i32, T.i64, T.f32, T.f64]))
    count = draw(st.integers(0, 6))
    return DenseArrayAttr(element, _element_values(draw, element, count))


@st.composite
def affine_exprs(draw, num_dims: int, num_symbols: int, depth: int = 3) -> AffineExpr:
    """Affine expressions built with the parser's operators (so they print back the same);
    multiplications, divisions and mods have a constant or symbolic side, as MLIR requires."""
    leaves = [AffineDim(i) for i in range(num_dims)] + [AffineSymbol(i) for i in range(num_symbols)]
    if depth <= 0 or draw(st.integers(0, 2)) == 0:
        if leaves and draw(st.booleans()):
            return draw(st.sampled_from(leaves))
        return AffineConstant(draw(st.integers(0, 64)))
    kind = draw(st.sampled_from(["+", "-", "*", "floordiv", "ceildiv", "mod", "neg"]))
    lhs = draw(affine_exprs(num_dims, num_symbols, depth - 1))
    if kind in ("+", "-"):
        rhs = draw(affine_exprs(num_dims, num_symbols, depth - 1))
        if kind == "-" and isinstance(rhs, AffineConstant):
            return lhs + rhs  # `a - 3` parses as `a + 3 * -1`: keep constants added
        if isinstance(rhs, AffineBinary) and rhs.kind == "+":
            rhs, lhs = lhs, rhs  # `a + (b + c)` prints as `a + b + c`: keep sums left-nested
            if isinstance(rhs, AffineBinary) and rhs.kind == "+":
                return lhs
        return lhs + rhs if kind == "+" else lhs - rhs
    if kind == "neg":
        return lhs if isinstance(lhs, AffineConstant) else -lhs
    symbolic = [AffineSymbol(i) for i in range(num_symbols)]
    rhs = draw(st.sampled_from(symbolic) | st.integers(1, 16).map(AffineConstant)) if symbolic \
        else AffineConstant(draw(st.integers(1, 16)))
    if kind == "*":
        return lhs * rhs
    return {"floordiv": lhs.floordiv, "ceildiv": lhs.ceildiv, "mod": lhs.__mod__}[kind](rhs)


@st.composite
def affine_maps(draw, num_dims=None, num_symbols=None) -> AffineMap:
    dims = draw(num_dims if num_dims is not None else st.integers(0, 3))
    symbols = draw(num_symbols if num_symbols is not None else st.integers(0, 2))
    results = draw(st.lists(affine_exprs(dims, symbols), max_size=3))
    return AffineMap(dims, symbols, results)


@st.composite
def integer_sets(draw) -> IntegerSet:
    dims = draw(st.integers(1, 3))
    symbols = draw(st.integers(0, 2))
    constraints = draw(st.lists(affine_exprs(dims, symbols), min_size=1, max_size=3))
    equalities = draw(st.lists(st.booleans(), min_size=len(constraints), max_size=len(constraints)))
    return IntegerSet(dims, symbols, constraints, equalities)


_filenames = st.sampled_from(["a.mlir", "dir/b.py", "", "with space.mlir"]) | _text


@st.composite
def file_locs(draw) -> FileLineColLoc:
    line, column = draw(st.integers(0, 10000)), draw(st.integers(0, 200))
    kind = draw(st.integers(0, 3))
    if kind == 0:  # `to :col` (same line)
        return FileLineColLoc(draw(_filenames), line, column, None, draw(st.integers(0, 300)))
    if kind == 1:  # `to line:col` on a later line
        return FileLineColLoc(draw(_filenames), line, column, line + draw(st.integers(1, 9)),
                              draw(st.integers(0, 300)))
    return FileLineColLoc(draw(_filenames), line, column)


@st.composite
def locations(draw, depth: int = 2):
    """unknown, file:line:col (and ranges), names, callsites and fused locations."""
    kind = draw(st.integers(0, 5)) if depth > 0 else draw(st.integers(0, 2))
    if kind == 0:
        return UNKNOWN
    if kind == 1:
        return draw(file_locs())
    if kind == 2:
        return NameLoc(draw(_text))
    if kind == 3:
        return NameLoc(draw(_text), draw(locations(depth - 1)))
    if kind == 4:
        return CallSiteLoc(draw(locations(depth - 1)), draw(locations(depth - 1)))
    metadata = st.none() | st.builds(A.StringAttr, _text) | st.builds(
        A.OpaqueAttr, st.just(DIALECT), st.just("meta"), st.none())
    return FusedLoc(draw(st.lists(locations(depth - 1), max_size=3)), draw(metadata))


@st.composite
def attributes(draw, depth: int = 2, distinct: bool = True) -> A.Attribute:
    """Every builtin attribute kind, nested in arrays and dictionaries up to `depth`, plus
    dialect attributes `#tst.x<...>` of an unregistered dialect."""
    kind = draw(st.integers(0, 16)) if depth > 0 else draw(st.integers(0, 12))
    if kind == 0:
        return draw(integer_attrs())
    if kind == 1:
        return draw(float_attrs())
    if kind == 2:
        return draw(string_attrs())
    if kind == 3:
        return A.UnitAttr()
    if kind == 4:
        return A.TypeAttr(draw(types(depth=1)))
    if kind == 5:
        return draw(symbol_refs())
    if kind == 6:
        return draw(dense_elements())
    if kind == 7:
        return draw(dense_arrays())
    if kind == 8:
        return A.AffineMapAttr(draw(affine_maps()))
    if kind == 9:
        return A.IntegerSetAttr(draw(integer_sets()))
    if kind == 10:
        return A.OpaqueAttr(DIALECT, draw(st.sampled_from(["a", "attr", "x.y"])),
                            draw(st.none() | opaque_bodies()))
    if kind == 11:
        return draw(locations(depth=1))
    if kind == 12:
        return draw(integer_attrs(st.sampled_from([T.i1, T.i64])))
    if kind in (13, 14):
        return A.ArrayAttr(draw(st.lists(attributes(depth - 1, distinct), max_size=4)))
    if kind == 15 or not distinct:
        return A.DictionaryAttr(draw(st.dictionaries(_names, attributes(depth - 1, distinct), max_size=4)))
    return A.DistinctAttr(draw(attributes(depth - 1, distinct)))


# ---- modules -------------------------------------------------------------------------------

_OP_NAMES = ["test.op", "test.foo", "test.bar.baz", "other.op_1", "test.$x"]


class _Gen:
    """State while drawing one module: how many ops are left to make."""

    def __init__(self, draw, budget: int, op_names, allow_forward: bool, with_attributes: bool):
        self.draw = draw
        self.budget = budget
        self.op_names = op_names
        self.allow_forward = allow_forward
        self.with_attributes = with_attributes

    def value_type(self):
        return self.draw(st.sampled_from([T.i32, T.i1, T.f32, T.index, T.IntegerType(7, "u"),
                                          T.TensorType([T.DYNAMIC, 4], T.f32), T.none])
                         | types(depth=1))

    def entries(self):
        if not self.with_attributes or self.draw(st.integers(0, 2)):
            return {}
        return self.draw(st.dictionaries(_names, attributes(depth=1), max_size=3))

    def op(self, visible: list, forward: list | None, successors: Sequence[Block], nested: int,
           allow_regions: bool = True) -> Operation:
        draw = self.draw
        self.budget -= 1
        pool = visible + (forward or [])
        operands = draw(st.lists(st.sampled_from(pool), max_size=4)) if pool else []
        num_results = draw(st.sampled_from([0, 1, 1, 1, 2, 3]))
        regions = []
        if allow_regions and not successors and nested > 0 and self.budget > 0 and draw(st.integers(0, 3)) == 0:
            for _ in range(draw(st.integers(1, 2))):
                regions.append(self.region(list(visible), nested - 1))
        op = Operation(draw(st.sampled_from(self.op_names)), operands,
                       [self.value_type() for _ in range(num_results)],
                       properties=self.entries(), attributes=self.entries(), regions=regions,
                       successors=list(successors), location=draw(locations(depth=1)))
        return op

    def region(self, visible: list, nested: int) -> Region:
        draw = self.draw
        region = Region()
        if draw(st.integers(0, 5)) == 0:
            return region  # empty
        count = draw(st.integers(1, 3))
        blocks = [Block() for _ in range(count)]
        for index, block in enumerate(blocks):
            region.add_block(block)
            for _ in range(draw(st.integers(0 if index else 0, 2))):
                block.add_argument(self.value_type(), draw(locations(depth=1)))
        entry_values = list(blocks[0].args)
        for index, block in enumerate(blocks):
            # The entry block dominates every other block, so its values are usable there.
            scope = visible + (entry_values if index else []) + list(block.args)
            self.fill_block(block, scope, nested, blocks[1:])
            if index == 0:
                entry_values = [r for op in block.ops for r in op.results] + entry_values
        # An empty entry block without arguments has no header in the printed form (a
        # region `{}` has no blocks), so give it something.
        if blocks[0].is_empty and not blocks[0].args:
            blocks[0].append(Operation(draw(st.sampled_from(self.op_names)), location=UNKNOWN))
        return region

    def fill_block(self, block: Block, scope: list, nested: int, targets: Sequence[Block]) -> None:
        draw = self.draw
        count = draw(st.integers(0, 4)) if self.budget > 0 else 0
        ops = []
        defined = list(scope)
        later: list = []
        if self.allow_forward and count and draw(st.integers(0, 3)) == 0:
            # Graph region: a use before the definition (results of this block's ops).
            later = ["forward"]
        for _ in range(count):
            op = self.op(defined, None, (), nested)
            ops.append(op)
            defined.extend(op.results)
        if later:
            results = [r for op in ops for r in op.results]
            if results and ops:
                user = ops[0]
                user.set_operands(list(user.operands) + [draw(st.sampled_from(results))])
        for op in ops:
            block.append(op)
        if targets and draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(list(targets)), min_size=1, max_size=2))
            terminator = self.op(defined, None, chosen, 0, allow_regions=False)
            block.append(terminator)


@st.composite
def modules(draw, max_ops: int = 12, max_depth: int = 2, op_names: Sequence[str] = tuple(_OP_NAMES),
            forward_references: bool = True, with_attributes: bool = True) -> Operation:
    """A builtin.module of unregistered generic ops: nested regions, blocks with arguments,
    successors, multi-result ops, values used across blocks where the entry dominates,
    and (with `forward_references`) uses before definitions, as graph regions allow."""
    from descend.dialects.builtin import ModuleOp
    gen = _Gen(draw, max_ops, list(op_names), forward_references, with_attributes)
    module = ModuleOp.build()
    body = module.regions[0].blocks[0]
    defined: list = []
    while gen.budget > 0 and draw(st.integers(0, 4)):
        op = gen.op(defined, None, (), max_depth)
        body.append(op)
        defined.extend(op.results)
    if draw(st.booleans()):
        module.location = draw(locations(depth=1))
    return module
