"""Write the example ONNX models (built with onnx.helper, fixed seeds) next to this file:

    python examples/make_models.py        # small_cnn.onnx, residual_block.onnx, attention_block.onnx

The checked-in copies are what `make demo` compiles; this script is how they were made."""

from __future__ import annotations

import sys
from pathlib import Path

import onnx

from descend.testing.onnx_models import MODELS


def main(argv=None) -> int:
    here = Path(__file__).resolve().parent
    for name, build in MODELS.items():
        if name == "mlp":  # 2.7 MB of weights: built by the tests and benches instead
            continue
        path = here / f"{name}.onnx"
        onnx.save(build(), path)
        print(f"wrote {path.relative_to(here.parent)} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
