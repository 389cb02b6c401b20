"""rewrites: pass plugins: a user's Python file that brings passes, dialects and rules.

`descend opt --load-pass-plugin my_pass.py` calls `load_plugin`: the file is imported
(once per process, shared with --load-dialect), every Pass subclass with a name and every
`@function_pass` defined in it is registered, and every Dialect in it is registered in
the context, and its rule sets (a `RULES` list or module-level RuleSets) go to
`apply-rules`; constraint and builder functions register themselves through their
decorators when the file is imported. The returned `Plugin` says what was found, so the CLI
can tell the user when a file brought nothing.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from descend.ir import Context, Dialect
from descend.ir.dialect import import_user_file

from .passes import Pass, register_pass


@dataclass
class Plugin:
    """What one plugin file provided."""

    path: Path
    module: ModuleType
    passes: list[type[Pass]] = field(default_factory=list)
    dialects: list[Dialect] = field(default_factory=list)
    rules: list = field(default_factory=list)
    functions: list[str] = field(default_factory=list)  # constraint/builder/type-class names

    @property
    def is_empty(self) -> bool:
        return not (self.passes or self.dialects or self.rules or self.functions)


def plugin_passes(module: ModuleType) -> list[type[Pass]]:
    """The pass classes a module defines (not ones it merely imports), in definition order."""
    found = []
    for value in vars(module).values():
        if (inspect.isclass(value) and issubclass(value, Pass) and value.__module__ == module.__name__
                and value.name and value not in found):
            found.append(value)
    return found


def load_plugin(path: str | Path, context: Context) -> Plugin:
    """Import `path` and register its passes and dialects. Exceptions from the user's code,
    and TypeError for a malformed pass class, propagate for the caller to report."""
    path = Path(path)
    module = import_user_file(path)
    plugin = Plugin(path, module)
    for cls in plugin_passes(module):
        register_pass(cls)
        plugin.passes.append(cls)
    plugin.dialects = context.register_dialects_in(module)
    plugin.rules = plugin_rule_sets(module)
    plugin.functions = plugin_functions(module)
    from .transforms.apply_rules import register_rules
    for rule_set in plugin.rules:
        register_rules(rule_set)
    return plugin


def plugin_rule_sets(module: ModuleType) -> list:
    """The rule sets a plugin brings: its `RULES` list (RuleSets, or Rules collected into
    one set), then every module-level RuleSet; `apply-rules` applies them."""
    from .declarative import Rule, RuleSet
    found: list = []
    listed = list(getattr(module, "RULES", []) or [])
    loose = [item for item in listed if isinstance(item, Rule)]
    found += [item for item in listed if isinstance(item, RuleSet)]
    if loose:
        found.append(RuleSet(Path(module.__file__ or "plugin").stem, loose))
    found += [v for v in vars(module).values() if isinstance(v, RuleSet) and v not in found]
    return found


def plugin_functions(module: ModuleType) -> list[str]:
    """The names under which the module's own functions registered themselves as
    constraints, builders or type classes (rule files name them)."""
    from .functions import BUILDERS, CONSTRAINTS, TYPE_CLASSES
    return [name for table in (CONSTRAINTS, BUILDERS, TYPE_CLASSES) for name, fn in table.items()
            if getattr(fn, "__module__", None) == module.__name__]
