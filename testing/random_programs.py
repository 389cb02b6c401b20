"""testing: random well-typed programs over registered ops, and inputs for them (the module is
not named programs.py so that `descend.testing.programs` stays the function).

    from descend.testing import programs, inputs_for
    @given(st.data())
    def test_my_pass(data):
        module = data.draw(programs(dialects=["arith"], max_ops=8))
        inputs = data.draw(inputs_for(module))
        ...

A program is a `builtin.module` holding `func.func @main`: arguments, a straight-line body
of ops drawn from the chosen ops (sample_op in sampling.py makes each one well typed),
constants with edge values where an op wants a value nothing computes yet, and a return
of some computed values, mostly the ones nothing else uses. Some results stay unused, so
dead code is there for a pass to remove. Every program verifies."""

from __future__ import annotations

from typing import Sequence

from hypothesis import strategies as st

from descend.dialects.arith import ConstantOp
from descend.dialects.builtin import ModuleOp
from descend.dialects.func import FuncOp, ReturnOp
from descend.dialects.numeric import value_to_attr
from descend.ir import Block, Context, FloatLike, IntegerOrIndexLike, Region, verify
from descend.ir.symbols import SymbolTable
from descend.ir.types import FunctionType, ShapedType, TensorType, Type, VectorType

from .sampling import SCALAR_TYPES, NoInstance, can_sample, sample_op
from .values import values_of

__all__ = ["programs", "inputs_for", "op_classes", "type_palettes"]

_ATTEMPTS_PER_OP = 5
_GO_ON = 6  # another op with probability 6/7: about six ops on average


def op_classes(ops: Sequence | None = None, dialects: Sequence[str] = ("arith", "math"),
               context: Context | None = None) -> list[type]:
    """The op classes to draw from: `ops` (classes or registered names) when given, else
    every op of `dialects` that can be sampled (see sampling.can_sample)."""
    context = context or Context()
    if ops is not None:
        classes = []
        for op in ops:
            cls = context.lookup_op(op) if isinstance(op, str) else op
            if cls is None:
                raise ValueError(f"no registered op named '{op}'")
            classes.append(cls)
    else:
        classes = []
        for name in dialects:
            dialect = context.dialects.get(name)
            if dialect is None:
                raise ValueError(f"no registered dialect named '{name}'")
            classes += [cls for cls in dialect.ops.values() if can_sample(cls)]
    if not classes:
        raise ValueError("no ops to draw programs from")
    return classes


@st.composite
def type_palettes(draw, elements: Sequence[Type] = SCALAR_TYPES) -> list[Type]:
    """The types one program works in: a few element types as scalars, and sometimes as
    one small vector shape and one small tensor shape (zero-sized ones included)."""
    chosen = draw(st.lists(st.sampled_from(list(elements)), min_size=1, max_size=5, unique=True))
    palette = list(chosen)
    if draw(st.integers(0, 2)) == 2:
        width = draw(st.integers(1, 4))
        palette += [VectorType([width], e) for e in chosen]
    if draw(st.integers(0, 3)) == 3:
        shape = draw(st.lists(st.integers(0, 3), min_size=1, max_size=2))
        palette += [TensorType(shape, e) for e in chosen]
    return palette


def programs(ops: Sequence | None = None, dialects: Sequence[str] = ("arith", "math"),
             max_ops: int = 12, types: Sequence[Type] | None = None, *, min_ops: int = 1,
             max_args: int = 6, all_flags: bool = False, function: str = "main",
             context: Context | None = None) -> st.SearchStrategy:
    """Modules with one function `@function` of `min_ops` to `max_ops` random ops from `ops`
    (names or classes) or else from `dialects`. `types` fixes the types values may have
    (default: a palette drawn per program, see type_palettes); results of ops may still
    have others (cmpi gives i1). `all_flags` also draws the fast-math flags the interpreter
    does not model (reassoc, contract, afn, ...): compare with tolerances then."""
    classes = op_classes(ops, dialects, context)
    return _programs(classes, max_ops, None if types is None else list(types), min_ops,
                     max_args, all_flags, function)


@st.composite
def _programs(draw, classes, max_ops, types, min_ops, max_args, all_flags, function):
    universe = types if types is not None else draw(type_palettes())
    # A drawn palette is a preference: an op none of its types fits may still use scalars.
    fallback = () if types is not None else SCALAR_TYPES
    block = Block()
    pool: list = []

    def new_value(t: Type):
        constant_ok = IntegerOrIndexLike.check(t) or FloatLike.check(t)
        if not constant_ok or (len(block.args) < max_args and draw(st.integers(0, 2)) < 2):
            value = block.add_argument(t)
        else:
            value = block.append(ConstantOp.build(value=value_to_attr(draw(values_of(t)), t))).result
        pool.append(value)
        return value

    reasons = []
    # One "go on?" draw per op, as st.lists does, so shrinking deletes ops one at a time
    # (a count drawn up front could only shrink by turning ops into simpler ones).
    made = 0
    while made < max_ops and (made < min_ops or draw(st.integers(0, _GO_ON)) > 0):
        made += 1
        for _ in range(_ATTEMPTS_PER_OP):
            cls = draw(st.sampled_from(classes))
            try:
                op = sample_op(draw, cls, available=pool, types=universe, new_value=new_value,
                               all_flags=all_flags, fallback_types=fallback)
            except NoInstance as exc:
                reasons.append(str(exc))
                continue
            block.append(op)
            pool.extend(op.results)
            break
    computed = [r for op in block.ops for r in op.results]
    if not computed and min_ops > 0:
        raise NoInstance("no op could be instantiated: " + "; ".join(sorted(set(reasons))[:5]))
    returned = _returned_values(draw, computed) or [pool[-1] if pool else new_value(universe[0])]
    block.append(ReturnOp.build(operands_=returned))
    signature = FunctionType(list(block.arg_types), [v.type for v in returned])
    module = ModuleOp.build()
    module.block.append(FuncOp.build(sym_name=function, function_type=signature, body=Region([block])))
    verify(module)
    return module


def _returned_values(draw, computed: list) -> list:
    """Mostly the values nothing uses, sometimes one that is used too; never none when
    something was computed. Leaving some unused values unreturned keeps dead code around."""
    unused = [v for v in computed if not v.has_uses]
    returned = [v for v in unused if draw(st.integers(0, 3)) > 0]
    if computed and (not returned or draw(st.integers(0, 3)) == 3):
        extra = draw(st.sampled_from(computed[::-1]))
        if extra not in returned:
            returned.append(extra)
    return returned


def _function(target, function: str):
    if target.name == "func.func":
        return target
    name = function[1:] if function.startswith("@") else function
    found = SymbolTable(target).lookup(name)
    if found is None:
        raise ValueError(f"no function named '@{name}' in the module")
    return found


def inputs_for(target, function: str = "main") -> st.SearchStrategy:
    """Lists of numpy values matching the arguments of `target` (a func.func, or a module
    holding `@function`), with edge values likely (see values.py)."""
    argument_types = _function(target, function).function_type.type.inputs
    for t in argument_types:
        if isinstance(t, ShapedType) and any(d < 0 for d in t.shape):
            raise ValueError(f"cannot draw values of the dynamically shaped type {t}")
    return st.tuples(*[values_of(t) for t in argument_types]).map(list)
