"""lowering: the descent from graph to machine code — graph -> te -> loop -> llvm ->
llvmlite (see docs/lowering.md). Importing this package registers its passes
(lower-graph-to-te, ...), so `descend opt -p` finds them."""

import importlib as _importlib

for _module in ("graph_to_te", "layout", "te_fold_constants", "te_to_loop", "loop_to_llvm"):
    _importlib.import_module(f"{__name__}.{_module}")
