"""docs/schedules.md shows each schedule primitive with the loops it makes: every example's
records, applied to the page's kernel and lowered with the passes it names, print exactly
the loop IR the page shows."""

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


def examples():
    for name, body in SECTION.findall(TEXT):
        records = re.search(r"```json\n(.*?)```", body, re.S)
        if records is None:
            continue
        passes = re.search(r"^then `(.+?)`:", body, re.M)
        shown = re.search(r"```mlir\n(.*?)```", body, re.S).group(1)
        yield pytest.param(json.loads(records.group(1)), passes.group(1) if passes else "", shown, id=name)


def loop_function(records, passes: str) -> str:
    module = descend.parse(KERNEL)
    kernel = next(op for op in module.walk() if isinstance(op, KernelOp))
    kernel.properties["schedule"] = Schedule.from_json(records).to_attr()
    PassManager.parse("builtin.module(lower-te-to-loop" + (f",func.func({passes})" if passes else "") + ")").run(module)
    return str(next(op for op in module.walk() if op.name == "func.func" and op.sym_name.value == "mm"))


@pytest.mark.parametrize("records, passes, shown", list(examples()))
def test_each_example_prints_what_the_page_shows(records, passes, shown):
    assert loop_function(records, passes).strip() == shown.strip()


def test_every_primitive_has_an_example():
    used = {r["op"] for param in examples() for r in param.values[0]}
    from descend.lowering.schedule import PRIMITIVES
    assert set(PRIMITIVES) - used <= {"compute_inline"}  # shown by the default schedule's text
