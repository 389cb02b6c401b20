"""descend.testing: helpers for descend's tests and for users testing their own dialects:
hypothesis strategies for random IR (`strategies`), structural equality of IR trees
(`equality`), MLIR's split-input-file / verify-diagnostics (`diagnostics`), and semantic
equivalence: random well-typed programs over registered ops (`random_programs`, `sampling`,
`values`), `assert_equivalent` (`equivalence`), `check_pass` (`check`) and `check_rule`
(`rules`, on random instances of a rule's own match tree: `rule_instances`).

Names are loaded lazily so that `descend opt` (which uses `diagnostics`) does not need
hypothesis installed."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "structurally_equal": "equality", "assert_structurally_equal": "equality",
    "ir_difference": "equality", "attr_equal": "equality",
    "types": "strategies", "scalar_types": "strategies", "attributes": "strategies",
    "integer_attrs": "strategies", "float_attrs": "strategies", "string_attrs": "strategies",
    "dense_elements": "strategies", "dense_arrays": "strategies", "affine_maps": "strategies",
    "integer_sets": "strategies", "locations": "strategies", "symbol_refs": "strategies",
    "opaque_bodies": "strategies", "modules": "strategies",
    "find_mlir_opt": "peers",
    "programs": "random_programs", "inputs_for": "random_programs", "op_classes": "random_programs",
    "type_palettes": "random_programs",
    "sample_op": "sampling", "OpSampler": "sampling", "NoInstance": "sampling",
    "can_sample": "sampling", "SCALAR_TYPES": "sampling",
    "values_of": "values", "scalar_values": "values", "format_value": "values",
    "assert_equivalent": "equivalence", "UndefinedBehavior": "equivalence",
    "equivalence_report": "equivalence",
    "check_pass": "check", "as_transform": "check",
    "check_rule": "rules", "check_rules": "rules", "RuleCheck": "rules",
    "RuleCheckFailure": "rules", "RuleUnchecked": "rules",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'descend.testing' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
