"""testing: locating the peer tools descend is compared with (mlir-opt), so tests and
benchmarks skip or include them the same way."""

from __future__ import annotations

import shutil
from pathlib import Path


def find_mlir_opt() -> str | None:
    """mlir-opt on PATH, else the newest Debian `mlir-NN-tools` install, else None."""
    found = shutil.which("mlir-opt")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib").glob("llvm-*/bin/mlir-opt"), reverse=True):
        return str(candidate)
    return None
