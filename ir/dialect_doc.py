"""ir: a dialect's reference page, generated from its op declarations (MLIR's
`mlir-tblgen -gen-dialect-doc`), so the docs cannot drift from the code.

    python -m descend.ir.dialect_doc graph > docs/graph-dialect.md"""

from __future__ import annotations

import inspect
import sys

from .dialect import Context, Dialect
from .opdef import OPTIONAL, SINGLE, VARIADIC, AttributeDef

_ARITY = {SINGLE: "", OPTIONAL: " (optional)", VARIADIC: " (variadic)"}


def _first_paragraph(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


def _default_text(d) -> str:
    if d.default is None:
        return "optional" if d.optional else "required"
    from .printer import Printer
    try:
        return f"default `{Printer().attr_text(d.default)}`"
    except Exception:
        return f"default `{d.default}`"


def op_section(op_class: type) -> str:
    defn = op_class.definition
    lines = [f"### `{defn.name}`", "", _first_paragraph(op_class.__doc__) or "(no description)", ""]
    kind = getattr(op_class, "kind", None)
    if kind is not None and not isinstance(kind, AttributeDef):  # an op's own `kind` attribute is not a fusion kind
        lines += [f"Fusion kind: `{kind.name.lower()}`.", ""]
    if defn.operands:
        lines.append("Operands: " + ", ".join(f"`{d.name.rstrip('_')}`{_ARITY[d.kind]}" for d in defn.operands) + ".")
    if defn.results:
        lines.append("Results: " + ", ".join(f"`{d.name.rstrip('_')}`{_ARITY[d.kind]}" for d in defn.results) + ".")
    if defn.attributes:
        lines.append("")
        lines.append("| attribute | kind | |")
        lines.append("| --- | --- | --- |")
        for name, d in defn.attributes.items():
            doc = f" {d.doc}" if d.doc else ""
            lines.append(f"| `{name}` | {d.constraint.description} | {_default_text(d)}.{doc} |")
    if defn.regions:
        lines.append("")
        lines.append("Regions: " + ", ".join(f"`{d.name}`" for d in defn.regions) + ".")
    if op_class.assembly:
        lines += ["", f"Custom form: `` {op_class.assembly} ``"]
    return "\n".join(lines).rstrip() + "\n"


def dialect_doc(dialect: Dialect) -> str:
    ops = sorted(dialect.ops.values(), key=lambda c: c.definition.name)
    head = [f"# The `{dialect.name}` dialect", "",
            f"Generated from the op declarations by `python -m descend.ir.dialect_doc {dialect.name}`; "
            "do not edit by hand.", ""]
    if dialect.description:
        head += [dialect.description, ""]
    head += [f"{len(ops)} ops: " + ", ".join(f"`{c.definition.name}`" for c in ops) + ".", ""]
    return "\n".join(head) + "\n" + "\n".join(op_section(c) for c in ops)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m descend.ir.dialect_doc DIALECT", file=sys.stderr)
        return 2
    dialect = Context().dialects.get(argv[0])
    if dialect is None:
        print(f"error: no dialect named '{argv[0]}'", file=sys.stderr)
        return 1
    sys.stdout.write(dialect_doc(dialect))
    return 0


if __name__ == "__main__":
    sys.exit(main())
