"""graph: indexing and data-movement ops — gather/scatter, slice, pad, resize, tile and friends."""

from __future__ import annotations
