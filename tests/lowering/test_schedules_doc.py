"""docs/schedules.md shows each schedule primitive with the loops it makes: every example's
records, applied to the page's kernel (or the section's own, a te.kernel shown before its
first records) and lowered with the passes it names, print exactly the loop IR the page
shows. A section may show several examples (before and after): each records block is
checked against the next loop IR block."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import descend
from descend.dialects.te import KernelOp
from descend.lowering.schedule import Schedule
from descend.rewrites import PassManager

DOC = Path(__file__).resolve().parents[2] / "docs" / "schedules.md"
TEXT = DOC.read_text()
KERNEL = re.search(r"## The kernel\n.*?```mlir\n(.*?)```", TEXT, re.S).group(1)
SECTION = re.compile(r"^## (.+?)\n(.*?)(?=^## |\Z)", re.S | re.M)
EXAMPLE = re.compile(r"```json\n(.*?)```(.*?)```mlir\n(.*?)```", re.S)


def examples():
    for name, body in SECTION.findall(TEXT):
        kernel = KERNEL
        first = body.find("```json")
        own = re.search(r"```mlir\n(.*?)```", body[:max(first, 0)], re.S)
        if own is not None and "te.kernel" in own.group(1):
            kernel = own.group(1)
        for n, example in enumerate(EXAMPLE.finditer(body)):
            records, between, shown = example.groups()
            passes = re.search(r"^then `(.+?)`:", between, re.M)
            yield pytest.param(kernel, json.loads(records), passes.group(1) if passes else "", shown,
                               id=name if n == 0 else f"{name} #{n + 1}")


def loop_function(kernel_text: str, records, passes: str) -> str:
    module = descend.parse(kernel_text)
    kernel = next(op for op in module.walk() if isinstance(op, KernelOp))
    name = kernel.kernel_name.value
    kernel.properties["schedule"] = Schedule.from_json(records).to_attr()
    PassManager.parse("builtin.module(lower-te-to-loop" + (f",func.func({passes})" if passes else "") + ")").run(module)
    return str(next(op for op in module.walk() if op.name == "func.func" and op.sym_name.value == name))


@pytest.mark.parametrize("kernel, records, passes, shown", list(examples()))
def test_each_example_prints_what_the_page_shows(kernel, records, passes, shown):
    assert loop_function(kernel, records, passes).strip() == shown.strip()


def test_every_primitive_has_an_example():
    used = {r["op"] for param in examples() for r in param.values[1]}
    from descend.lowering.schedule import PRIMITIVES
    assert set(PRIMITIVES) - used <= {"compute_inline"}  # shown by the default schedule's text
