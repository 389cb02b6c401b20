"""descend.rewrites.rules: the rule files descend ships (`*.rules` in this folder, packaged
in the wheel), and where every rule set of the package can be found.

    from descend.rewrites.rules import ARITH_RULES          # arith.rules, parsed once
    load_packaged("arith")                                   # the same, by name

Importing this module registers the shipped sets with canonicalize (rules for dialect
`arith` run when canonicalize sees arith ops). `all_rule_sets()` lists every rule set the
package defines, shipped files and Python RuleSets alike, so the test suite can run
check_rule over each one (DESIGN.md: every registered rule is checked)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from importlib import resources

from ..declarative import RuleSet

# Shipped file stem -> the dialect whose canonicalization it extends.
PACKAGED = {"arith": "arith"}

# Subpackages whose modules may hold Python-declared RuleSets (module-level constants).
_PYTHON_RULE_PACKAGES = ("descend.dialects", "descend.rewrites", "descend.lowering")


def packaged_rule_files() -> list[str]:
    """Stems of the `.rules` files shipped in this package."""
    folder = resources.files(__name__)
    return sorted(entry.name[:-len(".rules")] for entry in folder.iterdir()
                  if entry.name.endswith(".rules"))


@lru_cache(maxsize=None)
def load_packaged(stem: str) -> RuleSet:
    """The shipped rule file `<stem>.rules`, parsed (once) against the default context."""
    from ..rules_parser import parse_rules
    entry = resources.files(__name__).joinpath(f"{stem}.rules")
    if not entry.is_file():
        raise ValueError(f"no packaged rule file '{stem}.rules' (have: {', '.join(packaged_rule_files())})")
    # The name shown in diagnostics and counterexamples: the file inside the package.
    return parse_rules(entry.read_text(encoding="utf-8"), f"descend/rewrites/rules/{stem}.rules", name=stem)


ARITH_RULES: RuleSet = load_packaged("arith")


def _register_canonicalization() -> None:
    from ..canonicalization import register_canonicalization
    for stem, dialect in PACKAGED.items():
        register_canonicalization(dialect, load_packaged(stem))


def python_rule_sets() -> list[RuleSet]:
    """Every RuleSet held as a module-level constant in descend's dialects, rewrites and
    lowering packages (their modules are imported to find them)."""
    found: dict[int, RuleSet] = {}
    for package_name in _PYTHON_RULE_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ImportError:
            continue
        modules = [package] + [importlib.import_module(info.name) for info in
                               pkgutil.walk_packages(package.__path__, package_name + ".")]
        for module in modules:
            for value in vars(module).values():
                if isinstance(value, RuleSet):
                    found.setdefault(id(value), value)
    packaged = {id(load_packaged(stem)) for stem in packaged_rule_files()}
    return [rule_set for key, rule_set in found.items() if key not in packaged]


def all_rule_sets() -> list[RuleSet]:
    """The shipped rule files, then every Python RuleSet of the package."""
    return [load_packaged(stem) for stem in packaged_rule_files()] + python_rule_sets()


_register_canonicalization()

__all__ = ["ARITH_RULES", "load_packaged", "packaged_rule_files", "python_rule_sets", "all_rule_sets"]
