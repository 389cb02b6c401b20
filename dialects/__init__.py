"""descend.dialects: the dialects that ship with descend, registered in every new Context."""

from .builtin import BUILTIN
from .func import FUNC
from .arith import ARITH
from .math import MATH
from .graph import GRAPH
from .te import TE
from .loop import LOOP
from .llvm import LLVM

ALL_DIALECTS: list = [BUILTIN, FUNC, ARITH, MATH, GRAPH, TE, LOOP, LLVM]
