"""ONNX -> graph: converters of loss functions."""

from __future__ import annotations

from descend.dialects import graph

from .registry import Node, Unsupported, converter
