"""graph: control flow — graph.if, graph.loop and graph.scan with regions."""

from __future__ import annotations
