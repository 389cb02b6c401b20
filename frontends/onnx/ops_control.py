"""ONNX -> graph: converters of control flow (If, Loop, Scan)."""

from __future__ import annotations

from descend.dialects import graph

from .registry import Node, Unsupported, converter
