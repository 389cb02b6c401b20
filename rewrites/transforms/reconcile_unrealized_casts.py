"""rewrites: the reconcile-unrealized-casts pass (see rewrites/reconcile_casts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.ir import Context, Operation

from ..passes import Pass, register_pass
from ..reconcile_casts import reconcile_unrealized_casts


@register_pass
@dataclass(frozen=True)
class ReconcileUnrealizedCasts(Pass):
    """Fold unrealized_conversion_cast chains that round-trip and erase unused casts."""

    name: ClassVar[str] = "reconcile-unrealized-casts"
    statistics: ClassVar[dict] = {"num-casts-removed": "Number of unrealized casts removed"}

    def run(self, op: Operation, ctx: Context) -> None:
        self.count("num-casts-removed", reconcile_unrealized_casts(op))
