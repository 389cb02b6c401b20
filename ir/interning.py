"""ir: interning of immutable IR values (types and attributes), so equality is identity.

A class whose metaclass is `Interned` normalises its constructor arguments into a
hashable key (`_key`), and constructing the same key twice returns the same object.
Fields are set once by `_init` and are read-only afterwards.
"""

from __future__ import annotations

from typing import Any


class Interned(type):
    """Metaclass: `Cls(*args)` returns the one instance for `Cls._key(*args)`."""

    def __call__(cls, *args: Any, **kwargs: Any):
        params = cls._normalize(*args, **kwargs)
        if not cls._intern:
            obj = cls.__new__(cls)
            object.__setattr__(obj, "_params", params)
            obj._init(*params)
            return obj
        key = (cls, params) if cls._hashable else (cls, cls._hash_key(params))
        cache = cls._instances
        obj = cache.get(key)
        if obj is None:
            obj = cls.__new__(cls)
            object.__setattr__(obj, "_params", params)
            obj._init(*params)
            cache[key] = obj
        return obj


class Immutable(metaclass=Interned):
    """Base of interned values: subclasses declare `_fields`, set them in `_init`."""

    __slots__ = ("_params", "_str")
    _fields: tuple[str, ...] = ()
    _instances: dict = {}
    _hashable = True
    _intern = True  # False: equal by value (__eq__/__hash__ of the class), not by identity

    @classmethod
    def _normalize(cls, *args: Any, **kwargs: Any) -> tuple:
        """Return the canonical parameter tuple; defaults and conversions live here."""
        if kwargs:
            names = cls._fields
            args = args + tuple(kwargs[name] for name in names[len(args):] if name in kwargs)
        return args

    @classmethod
    def _hash_key(cls, params: tuple) -> Any:
        raise NotImplementedError

    def _init(self, *params: Any) -> None:
        for name, value in zip(self._fields, params):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_str":
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self):
        return (type(self), self._params)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __str__(self) -> str:
        try:
            return self._str
        except AttributeError:
            text = self._print()
            object.__setattr__(self, "_str", text)
            return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def _print(self) -> str:
        raise NotImplementedError
