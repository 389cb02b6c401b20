"""testing: structural equality of IR trees, for round-trip and pass tests.

Two ops are structurally equal when they have the same names, the same operand wiring
(value i of one op is the value defined at the same position of the other tree), the same
types, properties, attributes, regions, blocks, successors and (optionally) locations.
SSA names, name hints and object identity do not matter. `ir_difference` says where the
first difference is, as a path like `op 'builtin.module' > region 0 > block 1 > op 3
('test.op') > operand 0`.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from descend.ir.attributes import DistinctAttr, FloatAttr
from descend.ir.dense import DenseResourceAttr, ResourceBlob
from descend.ir.interning import Immutable
from descend.ir.location import Location
from descend.ir.operation import Operation

__all__ = ["structurally_equal", "assert_structurally_equal", "ir_difference", "attr_equal"]


class _Mismatch(Exception):
    def __init__(self, path: list[str], message: str):
        super().__init__(message)
        self.path = list(path)
        self.message = message


def structurally_equal(a: Operation, b: Operation, locations: bool = True) -> bool:
    """True when `a` and `b` are the same IR up to SSA names (see module docstring)."""
    return ir_difference(a, b, locations=locations) is None


def assert_structurally_equal(a: Operation, b: Operation, locations: bool = True) -> None:
    """Raise AssertionError naming the first difference and showing both ops in generic form."""
    difference = ir_difference(a, b, locations=locations)
    if difference is None:
        return
    raise AssertionError(f"IR differs at {difference}\n--- left:\n{_show(a)}\n--- right:\n{_show(b)}")


def _show(op: Operation) -> str:
    try:
        return op.print(generic=True, debuginfo=True)
    except Exception as exc:  # a half-built tree may not print; the path still says where
        return f"<unprintable: {type(exc).__name__}: {exc}>"


def ir_difference(a: Operation, b: Operation, locations: bool = True) -> str | None:
    """Where `a` and `b` first differ ("path: message"), or None if they are equal."""
    comparer = _Comparer(locations)
    try:
        comparer.map_definitions(a, b, [])
        comparer.compare_op(a, b, [])
    except _Mismatch as exc:
        return " > ".join(exc.path) + ": " + exc.message
    return None


class _Comparer:
    def __init__(self, locations: bool):
        self.locations = locations
        self.values: dict = {}   # id(value in a) -> value in b
        self.blocks: dict = {}   # id(block in a) -> block in b
        self.distinct: dict = {}  # uid in a -> uid in b

    # First pass: pair every definition (results, block arguments, blocks) by position, so
    # forward references in graph regions and successors to later blocks can be checked.
    def map_definitions(self, a: Operation, b: Operation, path: list[str]) -> None:
        path = path + [_op_label(a)]
        if a.name != b.name:
            raise _Mismatch(path, f"op name '{a.name}' != '{b.name}'")
        if len(a.results) != len(b.results):
            raise _Mismatch(path, f"{len(a.results)} results != {len(b.results)}")
        for x, y in zip(a.results, b.results):
            self.values[id(x)] = y
        if len(a.regions) != len(b.regions):
            raise _Mismatch(path, f"{len(a.regions)} regions != {len(b.regions)}")
        for r, (ra, rb) in enumerate(zip(a.regions, b.regions)):
            rpath = path + [f"region {r}"]
            if len(ra.blocks) != len(rb.blocks):
                raise _Mismatch(rpath, f"{len(ra.blocks)} blocks != {len(rb.blocks)}")
            for i, (ba, bb) in enumerate(zip(ra.blocks, rb.blocks)):
                bpath = rpath + [f"block {i}"]
                self.blocks[id(ba)] = bb
                if len(ba.args) != len(bb.args):
                    raise _Mismatch(bpath, f"{len(ba.args)} arguments != {len(bb.args)}")
                for x, y in zip(ba.args, bb.args):
                    self.values[id(x)] = y
                ops_a, ops_b = list(ba.ops), list(bb.ops)
                if len(ops_a) != len(ops_b):
                    raise _Mismatch(bpath, f"{len(ops_a)} ops != {len(ops_b)}: "
                                           f"{[o.name for o in ops_a]} vs {[o.name for o in ops_b]}")
                for j, (oa, ob) in enumerate(zip(ops_a, ops_b)):
                    self.map_definitions(oa, ob, bpath + [f"op {j}"])

    def compare_op(self, a: Operation, b: Operation, path: list[str]) -> None:
        path = path + [_op_label(a)]
        if type(a) is not type(b):
            raise _Mismatch(path, f"op class {type(a).__name__} != {type(b).__name__}")
        if len(a.operands) != len(b.operands):
            raise _Mismatch(path, f"{len(a.operands)} operands != {len(b.operands)}")
        for i, (x, y) in enumerate(zip(a.operands, b.operands)):
            expected = self.values.get(id(x), x)  # a value from outside both trees: itself
            if expected is not y:
                raise _Mismatch(path + [f"operand {i}"],
                                f"wired to {_value_label(x)} vs {_value_label(y)}")
            if not attr_equal(x.type, y.type, self.distinct):
                raise _Mismatch(path + [f"operand {i}"], f"type {x.type} != {y.type}")
        for i, (x, y) in enumerate(zip(a.results, b.results)):
            if not attr_equal(x.type, y.type, self.distinct):
                raise _Mismatch(path + [f"result {i}"], f"type {x.type} != {y.type}")
        self._compare_dict(a.properties, b.properties, path, "property")
        self._compare_dict(a.attributes, b.attributes, path, "attribute")
        if len(a.successors) != len(b.successors):
            raise _Mismatch(path, f"{len(a.successors)} successors != {len(b.successors)}")
        for i, (x, y) in enumerate(zip(a.successors, b.successors)):
            if self.blocks.get(id(x), x) is not y:
                raise _Mismatch(path + [f"successor {i}"], "targets a different block")
        if self.locations and not attr_equal(a.location, b.location, self.distinct):
            raise _Mismatch(path, f"location {a.location} != {b.location}")
        for r, (ra, rb) in enumerate(zip(a.regions, b.regions)):
            for i, (ba, bb) in enumerate(zip(ra.blocks, rb.blocks)):
                bpath = path + [f"region {r}", f"block {i}"]
                for k, (x, y) in enumerate(zip(ba.args, bb.args)):
                    if not attr_equal(x.type, y.type, self.distinct):
                        raise _Mismatch(bpath + [f"argument {k}"], f"type {x.type} != {y.type}")
                    if self.locations and not attr_equal(x.location, y.location, self.distinct):
                        raise _Mismatch(bpath + [f"argument {k}"],
                                        f"location {x.location} != {y.location}")
                for j, (oa, ob) in enumerate(zip(ba.ops, bb.ops)):
                    self.compare_op(oa, ob, bpath + [f"op {j}"])

    def _compare_dict(self, a: dict, b: dict, path: list[str], what: str) -> None:
        if sorted(a) != sorted(b):
            raise _Mismatch(path, f"{what} names {sorted(a)} != {sorted(b)}")
        for key in sorted(a):
            if not attr_equal(a[key], b[key], self.distinct):
                raise _Mismatch(path + [f"{what} '{key}'"], f"{a[key]} != {b[key]}")


def _op_label(op: Operation) -> str:
    return f"'{op.name}'"


def _value_label(value) -> str:
    owner = getattr(value, "owner", None)
    if isinstance(owner, Operation):
        return f"result #{value.index} of '{owner.name}'"
    if owner is not None:
        return f"block argument #{value.index}"
    return repr(value)


def attr_equal(a: Any, b: Any, distinct: dict | None = None) -> bool:
    """Equality of types, attributes and locations by value: floats by bit pattern (so NaN
    equals the same NaN and -0.0 differs from 0.0), dense data by bytes, resources by name
    and data, and distinct attributes by a consistent renumbering (`distinct` holds it)."""
    if a is b:
        return True
    if distinct is None:
        distinct = {}
    if type(a) is not type(b):
        return False
    if isinstance(a, DistinctAttr):
        seen = distinct.setdefault(("a", a.uid), b.uid)
        back = distinct.setdefault(("b", b.uid), a.uid)
        return seen == b.uid and back == a.uid and attr_equal(a.referenced, b.referenced, distinct)
    if isinstance(a, FloatAttr):
        return _float_bits(a.value) == _float_bits(b.value) and attr_equal(a.type, b.type, distinct)
    if isinstance(a, DenseResourceAttr):
        return attr_equal(a.type, b.type, distinct) and _blob_equal(a.blob, b.blob)
    if isinstance(a, Immutable):
        return _params_equal(a._params, b._params, distinct)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(attr_equal(x, y, distinct) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return _float_bits(a) == _float_bits(b)
    if isinstance(a, ResourceBlob):
        return _blob_equal(a, b)
    if isinstance(a, Location) or hasattr(a, "_params"):
        return _params_equal(a._params, b._params, distinct)
    return a == b


def _params_equal(pa: tuple, pb: tuple, distinct: dict) -> bool:
    return len(pa) == len(pb) and all(attr_equal(x, y, distinct) for x, y in zip(pa, pb))


def _blob_equal(a: ResourceBlob, b: ResourceBlob) -> bool:
    return a.name == b.name and a.data == b.data


def _float_bits(value: float) -> bytes:
    return struct.pack("<d", value)
