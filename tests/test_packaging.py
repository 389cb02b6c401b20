"""The wheel holds every package and data file: a subpackage missing from pyproject's
list works in the editable install and breaks for a user who installs the wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {"descend"}
    for init in ROOT.rglob("__init__.py"):
        relative = init.parent.relative_to(ROOT)
        if relative.parts and relative.parts[0] in ("tests", ".venv", "build", "examples", "bench"):
            continue
        if relative.parts:
            found.add("descend." + ".".join(relative.parts))
    assert found - listed == set(), f"packages missing from pyproject.toml: {sorted(found - listed)}"


def test_data_files_are_declared():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]
    assert "*.h" in data["descend.runtime"]
    assert "*.lark" in data["descend.parser"]
