"""graph: quantization ops — quantize/dequantize, integer matmul and conv, bit casts."""

from __future__ import annotations
