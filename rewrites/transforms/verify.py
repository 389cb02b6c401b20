"""rewrites: the `verify` pass: check the IR where it stands in a pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from descend.ir import Context, Operation, verify

from ..passes import Pass, register_pass


@register_pass
@dataclass(frozen=True)
class Verify(Pass):
    """Check every op against its declaration, traits and verifier (changes nothing).

    Useful with --no-verify-each to verify only at chosen points of a long pipeline."""

    name: ClassVar[str] = "verify"

    def run(self, op: Operation, ctx: Context) -> None:
        verify(op)
