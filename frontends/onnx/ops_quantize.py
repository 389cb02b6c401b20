"""ONNX -> graph: converters of quantization ops."""

from __future__ import annotations

from descend.dialects import graph

from .registry import Node, Unsupported, converter
