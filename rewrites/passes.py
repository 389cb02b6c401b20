"""rewrites: the pass base class, function passes, and the registry of passes by name.

A pass is a frozen dataclass, as in xDSL: its kebab-case `name` is how pipelines refer to
it, its fields are its options, the first line of its docstring is its summary, and
`run(op, ctx)` transforms `op` in place. Failure is a `DiagnosticError` located at the
offending op (`raise op.error(...)`); the pass manager adds which pass failed.

    @register_pass
    @dataclass(frozen=True)
    class Unroll(Pass):
        \"\"\"Unroll every loop whose trip count is at most `max-trip-count`.\"\"\"
        name: ClassVar[str] = "unroll"
        anchor: ClassVar[str | None] = "func.func"      # where it may run (None: anywhere)
        max_trip_count: int = option(8, help="largest loop to unroll")

        def run(self, op, ctx):
            ...

    @function_pass("scale-constants")
    def scale_constants(op, ctx, *, factor: int = 2):
        \"\"\"Multiply every integer constant by `factor`.\"\"\"

Instances print as pipeline text: `str(Unroll(max_trip_count=4)) == "unroll{max-trip-count=4}"`.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

from descend.ir import Context, Operation

from .pass_options import (OptionInfo, PipelineError, option, option_infos,  # noqa: F401
                           parse_option_text)


@dataclass(frozen=True)
class Pass:
    """Base of every pass. Subclasses are `@dataclass(frozen=True)` and set `name`."""

    name: ClassVar[str] = ""
    # The op name this pass must run on (e.g. "builtin.module"), or None for any op.
    anchor: ClassVar[str | None] = None
    # Dialects whose ops the pass may create: registered in the context before it runs.
    dependent_dialects: ClassVar[tuple[str, ...]] = ()
    # Counters shown by --pass-statistics: statistic name -> description.
    statistics: ClassVar[Mapping[str, str]] = {}

    def run(self, op: Operation, ctx: Context) -> None:
        raise NotImplementedError(f"pass '{self.name}' ({type(self).__name__}) does not define run()")

    # ---- declaration ------------------------------------------------------------------------

    @classmethod
    def summary(cls) -> str:
        """The docstring's first paragraph on one line (dataclass's generated signature,
        used when there is no docstring, does not count)."""
        doc = cls.__dict__.get("__doc__") or ""
        if doc.startswith(cls.__name__ + "("):
            return ""
        return " ".join(inspect.cleandoc(doc).split("\n\n", 1)[0].split())

    @classmethod
    def options(cls) -> tuple[OptionInfo, ...]:
        cached = cls.__dict__.get("_option_cache")
        if cached is None:
            cached = option_infos(cls, cls.name or cls.__name__)
            type.__setattr__(cls, "_option_cache", cached)
        return cached

    @classmethod
    def from_options(cls, text: str = "") -> "Pass":
        """An instance from MLIR option text: `"{max-iterations=10 top-down=false}"` (the
        braces are optional). Raises PipelineError naming the pass and the option; a
        ValueError from the pass's own `__post_init__` check becomes one too."""
        values = parse_option_text(text, cls.options(), cls.name)
        try:
            return cls(**values)
        except ValueError as exc:
            raise PipelineError(f"pass '{cls.name}': {exc}") from None

    # ---- instances -----------------------------------------------------------------------------

    def option_values(self, include_defaults: bool = False) -> dict[str, Any]:
        """{option name: value}: only those differing from the default unless asked."""
        values = {}
        for info in self.options():
            value = getattr(self, info.field)
            if include_defaults or value != info.default:
                values[info.name] = value
        return values

    def pipeline_text(self, include_defaults: bool = False) -> str:
        infos = {info.name: info for info in self.options()}
        entries = [f"{name}={infos[name].format(value)}"
                   for name, value in self.option_values(include_defaults).items()
                   if value is not None]
        return self.name + ("{" + " ".join(entries) + "}" if entries else "")

    def __str__(self) -> str:
        return self.pipeline_text()

    @property
    def display_name(self) -> str:
        """MLIR's dump header shape: `CSE (cse)`."""
        return f"{type(self).__name__} ({self.name})"

    def count(self, statistic: str, amount: int = 1) -> None:
        """Add to one of the declared `statistics` (cheap: one dict update)."""
        counters = self.__dict__.get("_statistic_values")
        if counters is None:
            counters = {}
            object.__setattr__(self, "_statistic_values", counters)
        counters[statistic] = counters.get(statistic, 0) + amount

    def statistic_values(self) -> dict[str, int]:
        """Every declared statistic with its value (0 when never counted), then any others."""
        counted = self.__dict__.get("_statistic_values") or {}
        values = {name: counted.get(name, 0) for name in self.statistics}
        values.update({k: v for k, v in counted.items() if k not in values})
        return values


class ModulePass(Pass):
    """A pass that runs on the whole `builtin.module` (xDSL's name)."""

    anchor: ClassVar[str | None] = "builtin.module"


# ---------------------------------------------------------------- the registry

_REGISTRY: dict[str, type[Pass]] = {}
_builtins_loaded = False


def register_pass(cls: type[Pass] | None = None, *, replace: bool = False):
    """Make a pass class known by its name (usable as `@register_pass`). Registering a
    different class under a taken name is an error unless `replace`; re-registering the
    same class (or a reload of the same module's class) is allowed."""
    if cls is None:
        return lambda c: register_pass(c, replace=replace)
    check_pass_class(cls)
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls and not replace and not _same_origin(existing, cls):
        raise ValueError(f"pass name '{cls.name}' is already registered by "
                         f"{existing.__module__}.{existing.__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def _same_origin(a: type, b: type) -> bool:
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def check_pass_class(cls: type) -> None:
    """Raise TypeError when `cls` cannot be used as a pass (what is wrong, and how to fix it)."""
    if not (isinstance(cls, type) and issubclass(cls, Pass)):
        raise TypeError(f"{cls!r} is not a Pass subclass")
    if not cls.name or cls.name != cls.name.strip() or any(c.isspace() or c in "{}(),=" for c in cls.name):
        raise TypeError(f"pass class {cls.__qualname__} needs a kebab-case `name`, got {cls.name!r}")
    if "__dataclass_fields__" not in cls.__dict__:
        own = cls.__dict__.get("__annotations__", {})
        if any(not _is_classvar(annotation) for annotation in own.values()):
            raise TypeError(f"pass class {cls.__qualname__} declares options but is not a "
                            "dataclass: decorate it with @dataclass(frozen=True)")
    cls.options()  # option types and defaults are checked here, at registration


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.replace("typing.", "").startswith("ClassVar")
    return annotation is ClassVar or typing.get_origin(annotation) is ClassVar


# Packages whose passes are built in. Named, not imported, here: the lowering layer sits
# above rewrites/ (DESIGN.md's table) and registers its conversions when loaded.
PASS_PROVIDERS = ["descend.rewrites.transforms", "descend.lowering"]


def _load_builtin_passes() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        import importlib
        for provider in PASS_PROVIDERS:  # each module registers its passes when imported
            importlib.import_module(provider)


def lookup_pass(name: str) -> type[Pass] | None:
    _load_builtin_passes()
    return _REGISTRY.get(name)


def registered_passes() -> dict[str, type[Pass]]:
    """Every registered pass by name, sorted by name."""
    _load_builtin_passes()
    return dict(sorted(_REGISTRY.items()))


def unknown_pass_error(name: str) -> PipelineError:
    """`unknown pass 'csee'` with close matches and where to see the full list."""
    known = list(registered_passes())
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    notes = []
    if close:
        notes.append("did you mean " + " or ".join(f"'{c}'" for c in close) + "?")
    notes.append("registered passes: " + ", ".join(known))
    return PipelineError(f"unknown pass '{name}'", notes=tuple(notes))


# ---------------------------------------------------------------- function passes


def function_pass(name: str, *, anchor: str | None = None, dependent_dialects: tuple[str, ...] = (),
                  statistics: Mapping[str, str] | None = None,
                  register: bool = True) -> Callable[[Callable], type[Pass]]:
    """Turn `def f(op, ctx, *, opt: int = 1)` into a registered pass class named `name`.
    Keyword-only parameters (with defaults and annotations) are the options; the
    docstring is the summary. The decorator returns the pass class, so `f(opt=3)` makes a
    pass instance to add to a PassManager."""

    def wrap(function: Callable) -> type[Pass]:
        signature = inspect.signature(function)
        positional = [p for p in signature.parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(positional) != 2:
            raise TypeError(f"function pass '{name}': {function.__qualname__} must take (op, ctx) "
                            "positionally, then options as keyword-only parameters")
        hints = typing.get_type_hints(function)
        fields = []
        for parameter in signature.parameters.values():
            if parameter.kind is not parameter.KEYWORD_ONLY:
                continue
            if parameter.default is parameter.empty:
                raise TypeError(f"option '{parameter.name}' of function pass '{name}' needs a "
                                "default value")
            annotation = hints.get(parameter.name, type(parameter.default))
            fields.append((parameter.name, annotation, dataclasses.field(default=parameter.default)))

        def run(self, op: Operation, ctx: Context) -> None:
            function(op, ctx, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

        class_name = "".join(part.capitalize() for part in function.__name__.split("_") if part)
        cls = dataclasses.make_dataclass(
            class_name or "FunctionPass", fields, bases=(Pass,), frozen=True,
            namespace={"name": name, "anchor": anchor, "dependent_dialects": tuple(dependent_dialects),
                       "statistics": dict(statistics or {}), "run": run,
                       "__doc__": function.__doc__ or "", "function": staticmethod(function)})
        cls.__module__ = function.__module__
        cls.__qualname__ = class_name
        if register:
            register_pass(cls)
        else:
            check_pass_class(cls)
        return cls

    return wrap


def describe_pass(cls: type[Pass]) -> list[str]:
    """`--list-passes` lines for one pass: name and summary, then one line per option."""
    lines = [f"  {cls.name:<24} {cls.summary()}".rstrip()]
    if cls.anchor is not None:
        lines.append(f"      (runs on '{cls.anchor}' ops)")
    options = [(f"    --{info.name}=<{info.type_text}>", info) for info in cls.options()]
    width = max((len(text) for text, _ in options), default=0)
    for text, info in options:
        if info.default is None:
            default = "unset"
        elif info.sequence is not None and not info.default:
            default = "empty"
        else:
            default = info.format(info.default) or '""'
        lines.append(f"{text:<{width}}  default {default}" + (f"; {info.help}" if info.help else ""))
    return lines
