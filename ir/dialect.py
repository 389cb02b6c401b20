"""ir: dialects (named collections of ops, types and attributes) and the context that
registers them. The parser, printer, verifier and interpreter work for any registered
dialect, including one loaded from a user's file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Iterable


class Dialect:
    """A namespace of ops, types and attributes. Types/attributes are ParametrizedType /
    ParametrizedAttr subclasses whose `name` is "dialect.mnemonic".

    `materialize_constant(attr, type, location) -> Operation | None` builds the constant op
    that holds a value one of the dialect's ops folded to (MLIR's hook of the same name)."""

    def __init__(self, name: str, ops: Iterable[type] = (), types: Iterable[type] = (),
                 attributes: Iterable[type] = (), description: str = "",
                 materialize_constant=None):
        self.name = name
        self.ops = {op.name: op for op in ops}
        self.types = {t.name.split(".", 1)[1]: t for t in types}
        self.attributes = {a.name.split(".", 1)[1]: a for a in attributes}
        self.description = description
        self.materialize_constant = materialize_constant
        for op in self.ops.values():
            if not op.name.startswith(name + "."):
                raise ValueError(f"op '{op.name}' is not in dialect '{name}'")

    def __repr__(self) -> str:
        return f"<Dialect {self.name}: {len(self.ops)} ops>"


class Context:
    """The registry in force while parsing and verifying. `allow_unregistered` lets ops of
    unknown dialects through (MLIR's --allow-unregistered-dialect)."""

    def __init__(self, dialects: Iterable[Dialect] | None = None, allow_unregistered: bool = False):
        self.dialects: dict[str, Dialect] = {}
        self.ops: dict[str, type] = {}
        self.allow_unregistered = allow_unregistered
        self.generation = 0  # bumped on registration: grammar caches key on it
        if dialects is None:
            from ..dialects import ALL_DIALECTS
            dialects = ALL_DIALECTS
        for d in dialects:
            self.register(d)

    def register(self, dialect: Dialect) -> None:
        self.dialects[dialect.name] = dialect
        self.ops.update(dialect.ops)
        self.generation += 1

    def lookup_op(self, name: str) -> type | None:
        return self.ops.get(name)

    def lookup_type(self, dialect: str, mnemonic: str):
        d = self.dialects.get(dialect)
        return d.types.get(mnemonic) if d is not None else None

    def lookup_attribute(self, dialect: str, mnemonic: str):
        d = self.dialects.get(dialect)
        return d.attributes.get(mnemonic) if d is not None else None

    def load_dialect_file(self, path: str | Path) -> list[Dialect]:
        """Import a user's Python file and register every Dialect object it defines
        (module-level values, or a `DIALECTS` list)."""
        found = self.register_dialects_in(import_user_file(path))
        if not found:
            raise ImportError(f"'{path}' defines no Dialect")
        return found

    def register_dialects_in(self, module) -> list[Dialect]:
        """Register the Dialects a Python module defines (its `DIALECTS` list, then any
        module-level Dialect value); returns them, possibly none."""
        found = list(getattr(module, "DIALECTS", []))
        found += [v for v in vars(module).values() if isinstance(v, Dialect) and v not in found]
        for dialect in found:
            self.register(dialect)
        return found


def import_user_file(path: str | Path):
    """Import a user's Python file as a module. The same file is imported once per process,
    so a file given both as a dialect and as a pass plugin defines its classes once."""
    path = Path(path)
    module_name = f"descend_user_dialect_{abs(hash(str(path.resolve())))}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load '{path}' as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]  # a failed import must not be found next time
        raise
    return module
