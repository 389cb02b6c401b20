"""rewrites.transforms: the generic passes, one module each. Importing this package imports
every module in it, so each pass registers itself (`descend.rewrites.lookup_pass` does
that on first use); a new pass here needs no other edit."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from .cse import CSE  # noqa: E402
from .dce import DCE  # noqa: E402
from .inline import Inliner  # noqa: E402
from .symbol_dce import SymbolDCE  # noqa: E402
from .verify import Verify  # noqa: E402
